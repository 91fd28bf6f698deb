#!/bin/bash
# sbom_npm.sh - the npm cataloger on node_modules installed from the npm registry, against npm's own view
source "$(dirname "$0")/../lib/tap.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# node_modules from the registry, pinned, into a cache outside the repo
# (reused; made again when incomplete). express brings nested and
# deduplicated dependencies, @types/node a scoped package.
app=${RV_SBOM_NPM_DIR:-/var/tmp/rv-sbom-npm}
want_pkgs="express@4.21.2 @types/node@20.11.5"
if [ "$(cat "$app/.rv-installed" 2>/dev/null)" != "$want_pkgs" ]; then
	rm -rf "$app"
	mkdir -p "$app"
	npm install --no-audit --no-fund --prefix "$app" $want_pkgs >"$tmp/npm.log" 2>&1 &&
		echo "$want_pkgs" >"$app/.rv-installed"
fi
check "npm installed $want_pkgs into $app" test -f "$app/.rv-installed"

# npm's own list: every installed package node with its location
(cd "$app" && npm query '*' 2>/dev/null) | node -e '
let s = ""
process.stdin.on("data", d => s += d).on("end", () => {
	for (const n of JSON.parse(s))
		if (n.location) console.log("/" + n.location, n.name, n.version)
})' | LC_ALL=C sort >"$tmp/want"
"$RV" sbom "$app" >"$tmp/bom.json" 2>"$tmp/err"
is "$?" 0 "sbom exits 0 on node_modules"
is "$(cat "$tmp/err")" "" "no warning"
node -e '
const bom = JSON.parse(require("fs").readFileSync(process.argv[1]))
for (const c of bom.components) {
	if (!c.purl || !c.purl.startsWith("pkg:npm/")) continue
	const loc = c.properties.find(p => p.name === "runtime-verifier:location").value
	console.log(loc, (c.group ? c.group + "/" : "") + c.name, c.version)
}' "$tmp/bom.json" | LC_ALL=C sort >"$tmp/got"
is "$(wc -l <"$tmp/got")" "$(wc -l <"$tmp/want")" "as many packages as npm query '*' ($(wc -l <"$tmp/want"))"
same_file "$tmp/got" "$tmp/want" "the same locations, names and versions as npm query"
# the same count as a plain find over the rule (node_modules/NAME or
# node_modules/@SCOPE/NAME holding a package.json)
n=$(find "$app" -type f -name package.json -regextype posix-extended \
	-regex '.*/node_modules/(@[^/]+/)?[^/.@][^/]*/package\.json' | wc -l)
is "$(wc -l <"$tmp/got")" "$n" "the same count as find over node_modules/*/package.json"
check "the scoped package's purl encodes the @" grep -q '"purl": "pkg:npm/%40types/node@20.11.5"' "$tmp/bom.json"

# A package dropped into node_modules at runtime, and a package.json that
# is not JSON: the first is catalogued, the second is a warning naming it
cp -r "$app" "$tmp/app"
mkdir -p "$tmp/app/node_modules/evil" "$tmp/app/node_modules/broken"
echo '{"name":"evil","version":"6.6.6"}' >"$tmp/app/node_modules/evil/package.json"
echo '{"name":"broken",' >"$tmp/app/node_modules/broken/package.json"
"$RV" sbom --format text "$tmp/app" >"$tmp/t2" 2>"$tmp/err"
is "$?" 0 "a package.json that is not JSON does not fail the catalogue"
check "the dropped package is catalogued" grep -q '^pkg:npm/evil@6.6.6  /node_modules/evil$' "$tmp/t2"
like "$(cat "$tmp/err")" "warning: '/node_modules/broken/package.json': not JSON" \
	"the broken package.json is a warning naming the file"
is "$(grep -c '^pkg:npm/' "$tmp/t2")" "$(( $(wc -l <"$tmp/want") + 1 ))" "the rest is still catalogued"
done_testing
