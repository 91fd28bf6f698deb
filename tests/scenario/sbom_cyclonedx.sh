#!/bin/bash
# sbom_cyclonedx.sh - every kind of BOM we write validates against the official CycloneDX 1.5 JSON schema (ajv-cli)
source "$(dirname "$0")/../lib/tap.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The validator and the schema come from the npm registry, into a cache
# outside the repo: ajv-cli (ajv 8, draft-07), ajv-formats, and the
# CycloneDX project's own library, which ships the official schemas
# (res/schema/bom-1.5.SNAPSHOT.schema.json with spdx and jsf beside it).
npmdir=${RV_SBOM_AJV_DIR:-/var/tmp/rv-npm}
want_pkgs="ajv-cli@5.0.0 ajv-formats@3.0.1 @cyclonedx/cyclonedx-library@10.3.0"
if [ "$(cat "$npmdir/.rv-installed" 2>/dev/null)" != "$want_pkgs" ]; then
	rm -rf "$npmdir"
	mkdir -p "$npmdir"
	npm install --no-audit --no-fund --prefix "$npmdir" $want_pkgs >"$tmp/npm.log" 2>&1 &&
		echo "$want_pkgs" >"$npmdir/.rv-installed"
fi
check "npm installed $want_pkgs" test -f "$npmdir/.rv-installed"
src=$npmdir/node_modules/@cyclonedx/cyclonedx-library/res/schema
# The files are named *.SNAPSHOT.schema.json in the library; their $ids
# are the official cyclonedx.org/schema/{bom-1.5,spdx,jsf-0.82}.schema.json.
# The bom schema's two relative $refs use the SNAPSHOT names, which would
# not resolve against those $ids: point them at the official names.
sed -e 's/jsf-0\.82\.SNAPSHOT\.schema\.json/jsf-0.82.schema.json/' \
	-e 's/spdx\.SNAPSHOT\.schema\.json/spdx.schema.json/' \
	"$src/bom-1.5.SNAPSHOT.schema.json" >"$tmp/bom-1.5.schema.json"
cp "$src/spdx.SNAPSHOT.schema.json" "$tmp/spdx.schema.json"
cp "$src/jsf-0.82.SNAPSHOT.schema.json" "$tmp/jsf-0.82.schema.json"
check "the schema is CycloneDX 1.5's" grep -q '"$id": "http://cyclonedx.org/schema/bom-1.5.schema.json"' "$tmp/bom-1.5.schema.json"

validate() {
	"$npmdir/node_modules/.bin/ajv" validate --spec=draft7 --strict=false \
		-c ajv-formats -s "$tmp/bom-1.5.schema.json" \
		-r "$tmp/spdx.schema.json" -r "$tmp/jsf-0.82.schema.json" \
		-d "$1" >"$tmp/ajv.log" 2>&1
	local rc=$?
	[ $rc -eq 0 ] || grep -v '^unknown format' "$tmp/ajv.log" | head -20 | sed 's/^/# /'
	return $rc
}

# The validator must be able to say no
printf '{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"type":"lib","name":"x"}]}' >"$tmp/bad.json"
check_fails "ajv rejects a component of an unknown type" validate "$tmp/bad.json"
printf '{"bomFormat":"CycloneDX","specVersion":"1.5","serialNumber":"nope"}' >"$tmp/bad2.json"
check_fails "ajv rejects a malformed serialNumber" validate "$tmp/bad2.json"

# One tree with every kind of database, some of them broken (warnings go
# into metadata.properties), odd bytes in names
r=$tmp/root
mkdir -p "$r/var/lib/dpkg" "$r/etc" "$r/lib/apk/db" "$r/app/node_modules/@s/p" \
	"$r/app/node_modules/bad" "$r/usr/lib/python3/dist-packages/Caf-1.dist-info"
cp /var/lib/dpkg/status "$r/var/lib/dpkg/status"
cp -L /etc/os-release "$r/etc/os-release"
cp "$RV_TOP/tests/fixtures/apk/lib/apk/db/installed" "$r/lib/apk/db/installed"
echo '{"name":"@s/p","version":"1.0.0-beta+x"}' >"$r/app/node_modules/@s/p/package.json"
echo 'nope' >"$r/app/node_modules/bad/package.json"
printf 'Name: Caf\xe9 \x01\nVersion: 1\n' >"$r/usr/lib/python3/dist-packages/Caf-1.dist-info/METADATA"
"$RV" sbom --name 'registry.example/app@sha256:0123' "$r" >"$tmp/all.json" 2>/dev/null
is "$?" 0 "sbom writes a BOM for a tree with every kind of database"
check "that BOM validates against the CycloneDX 1.5 schema" validate "$tmp/all.json"
check "it has a urn:uuid serialNumber" grep -qE '"serialNumber": "urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"' "$tmp/all.json"
check "it names the subject in metadata.component" grep -q '"name": "registry.example/app@sha256:0123"' "$tmp/all.json"
check "it carries the warning for the broken package.json" \
	grep -q '"value": "/app/node_modules/bad/package.json: not JSON' "$tmp/all.json"

# BOMs of the real trees the other scenarios use
"$RV" sbom /usr/lib/python3/dist-packages >"$tmp/py.json" 2>/dev/null
check "the BOM of Debian's dist-packages validates" validate "$tmp/py.json"
"$RV" sbom "$RV_TOP/tests/fixtures/apk" >"$tmp/apk.json" 2>/dev/null
check "the BOM of the apk fixture validates" validate "$tmp/apk.json"
mkdir -p "$tmp/empty"
"$RV" sbom "$tmp/empty" >"$tmp/empty.json" 2>/dev/null
check "the BOM of a tree without packages validates" validate "$tmp/empty.json"
done_testing
