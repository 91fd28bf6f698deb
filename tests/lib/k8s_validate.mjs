// k8s_validate.mjs FILE.json: each object of {"items": [...]} against the
// Kubernetes OpenAPI schema compiled into the npm package kubernetes-models
// (types, enums, required fields, formats; unknown fields pass, as they pass
// the OpenAPI schema). Prints "valid", "invalid" or "noschema" KIND/NAME per
// object; exits 1 when one is invalid. tests/lib/k8s_validator.sh copies it
// next to its node_modules, where the imports resolve.
import { readFileSync } from "node:fs";
const items = JSON.parse(readFileSync(process.argv[2], "utf8")).items;
let bad = 0;
for (const o of items) {
	const [g, v] = o.apiVersion.includes("/") ? o.apiVersion.split("/") : [null, o.apiVersion];
	const mod = `kubernetes-models/${g ? g + "/" : ""}${v}/${o.kind}`;
	let Cls;
	try { Cls = (await import(mod))[o.kind]; } catch (e) { Cls = null; }
	if (!Cls) { console.log(`noschema ${o.kind}/${o.metadata.name}`); continue; }
	try { new Cls(o).validate(); console.log(`valid ${o.kind}/${o.metadata.name}`); }
	catch (e) { bad++; console.log(`invalid ${o.kind}/${o.metadata.name}: ${e.message}`); }
}
process.exit(bad ? 1 : 0);
