#!/bin/bash
# sbom_image.sh - `runtime-verifier sbom --image REF` catalogues an image
# from its layer stream and agrees with `sbom DIR` on the same image
# unpacked by umoci (the reference), through a real docker-registry:
#
# - the package database set (`--format dbset`) equals, byte for byte, the
#   one the probe's own collector (rv_walk_dbs) reads from the unpacked
#   rootfs, so the two dbset digests are equal;
# - the CycloneDX BOMs list the same purls, and both validate against the
#   official CycloneDX 1.5 schema (as sbom_cyclonedx.sh does);
# - `image --packages` reads each blob once (a counting proxy), a second
#   run none, and the cache keeps package capture apart from plain runs;
# - an image laid out as pnpm lays out node_modules (each package.json a
#   hardlink into a content-addressed store outside node_modules, in an
#   earlier layer and in the same one) gives the probe's set too: the
#   layers holding the store are read a second time, and only those.
#
# The image: this host's dpkg status, os-release (/etc/os-release a
# symlink, as in Debian) and Debian's Python dist-infos as the base layer,
# plus node_modules; a layer like a `pip install` (a new dist-info) that
# also adds a dpkg stanza; a layer that whiteouts one dist-info, makes
# node_modules opaque, hardlinks a METADATA and symlinks another.
set -u
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/tap.sh"
source "$here/../lib/registry.sh"

registry_test_dir sbom-image
umask 022

# --- the image ---------------------------------------------------------------
python3 - "$t/spec.json" <<'EOF'
import json, os, sys
entries = []
def add_file(path, data, mode="0644"):
    entries.append({"path": path, "data_hex": data.hex(), "mode": mode})
def add_tree(src, dst):
    for root, dirs, files in os.walk(src):
        dirs.sort()
        rel = os.path.relpath(root, src)
        d = dst if rel == "." else dst + "/" + rel
        entries.append({"path": d + "/", "type": "dir"})
        for f in sorted(files):
            p = os.path.join(root, f)
            if os.path.islink(p):
                entries.append({"path": d + "/" + f, "type": "symlink", "target": os.readlink(p)})
            else:
                add_file(d + "/" + f, open(p, "rb").read())
add_file("usr/lib/os-release", open("/usr/lib/os-release", "rb").read())
entries.append({"path": "etc/os-release", "type": "symlink", "target": "../usr/lib/os-release"})
status = open("/var/lib/dpkg/status", "rb").read()
add_file("var/lib/dpkg/status", status)
sp = "/usr/lib/python3/dist-packages"
infos = sorted(n for n in os.listdir(sp) if n.endswith((".dist-info", ".egg-info")))
for n in infos:
    if os.path.isdir(os.path.join(sp, n)):
        add_tree(os.path.join(sp, n), "usr/lib/python3/dist-packages/" + n)
    else:
        add_file("usr/lib/python3/dist-packages/" + n, open(os.path.join(sp, n), "rb").read())
for name, ver in (("left-pad", "1.3.0"), ("@scope/pkg", "2.0.0")):
    add_file("app/node_modules/%s/package.json" % name,
             json.dumps({"name": name, "version": ver}).encode())
add_file("app/server.js", b"console.log('hi')\n")
base = {"entries": entries}
# like `pip install requests` into /usr/local, and a package dpkg installed
pip = {"entries": [
    {"path": "usr/local/lib/python3.11/dist-packages/requests-2.31.0.dist-info/METADATA",
     "data": "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\n\nbody\n"},
    {"path": "usr/local/lib/python3.11/dist-packages/requests-2.31.0.dist-info/RECORD", "data": "x\n"},
    {"path": "usr/local/lib/python3.11/dist-packages/requests/__init__.py", "data": "\n"},
    {"path": "var/lib/dpkg/status", "data_hex": (status.rstrip(b"\n") +
     b"\n\nPackage: rv-added\nStatus: install ok installed\nVersion: 9.9-1\nArchitecture: all\n").hex()}]}
gone = infos[0]
fix = {"compression": "none", "entries": [
    {"path": "usr/lib/python3/dist-packages/.wh." + gone, "type": "file"},
    {"path": "app/node_modules/.wh..wh..opq", "type": "file"},
    {"path": "app/node_modules/kept/package.json", "data": '{"name":"kept","version":"0.1.0"}'},
    {"path": "opt/venv/lib/python3.11/site-packages/requests-2.31.0.dist-info/METADATA",
     "type": "hardlink", "target": "usr/local/lib/python3.11/dist-packages/requests-2.31.0.dist-info/METADATA"},
    {"path": "opt/sym/lib/python3.11/site-packages/sym-1.0.dist-info/", "type": "dir"},
    {"path": "opt/sym/lib/python3.11/site-packages/sym-1.0.dist-info/METADATA",
     "type": "symlink", "target": "/usr/local/lib/python3.11/dist-packages/requests-2.31.0.dist-info/METADATA"}]}
# pnpm: node_modules/.pnpm/NAME@V/node_modules/NAME/package.json are
# hardlinks into the store, which the tar writer met first
def pj(name, ver):
    return json.dumps({"name": name, "version": ver}).encode().hex()
gstore = "root/.local/share/pnpm/store/v3/files/"
pbase = {"entries": [
    {"path": "usr/lib/os-release", "data_hex": open("/usr/lib/os-release", "rb").read().hex()},
    {"path": gstore + "3a/1b2c4d-index.json", "data": "{}"},
    {"path": gstore + "3a/1b2c4d", "data_hex": pj("left-pad", "1.3.0")},
    {"path": gstore + "7f/00ee11", "data_hex": pj("is-even", "1.0.0")}]}
pmid = {"entries": [{"path": "app/server.js", "data": "require('is-odd')\n"}]}
lstore = "app/.pnpm-store/v3/files/"
pnm = "app/node_modules/.pnpm/"
ptop = {"entries": [
    {"path": lstore + "00/aa11", "data_hex": pj("is-odd", "3.0.1")},
    {"path": pnm + "is-odd@3.0.1/node_modules/is-odd/package.json", "type": "hardlink",
     "target": lstore + "00/aa11"},
    {"path": pnm + "left-pad@1.3.0/node_modules/left-pad/package.json", "type": "hardlink",
     "target": gstore + "3a/1b2c4d"},
    {"path": pnm + "is-even@1.0.0/node_modules/is-even/package.json", "type": "hardlink",
     "target": gstore + "7f/00ee11"},
    {"path": pnm + "is-odd@3.0.1/node_modules/is-even/package.json", "type": "hardlink",
     "target": gstore + "7f/00ee11"},
    {"path": "app/node_modules/is-odd", "type": "symlink", "target": ".pnpm/is-odd@3.0.1/node_modules/is-odd"}]}
json.dump({"images": [{"tag": "pkgs", "layers": [base, pip, fix]},
                      {"tag": "pnpm", "layers": [pbase, pmid, ptop]}]}, open(sys.argv[1], "w"))
open(sys.argv[1] + ".gone", "w").write(gone)
EOF
gone=$(cat "$t/spec.json.gone")
check "mkimage builds the layout" python3 "$RV_TOP/tests/lib/mkimage.py" "$t/spec.json" "$t/oci"
check "registry starts" registry_start "$t/reg"
check "push the image" registry_push "$t/oci:pkgs" test/pkgs:v1
check "counting proxy starts" proxy_start "$t/p" "$REG_URL"
pids+=("$PROXY_PID")
P=$PROXY_HOST
REF=$P/test/pkgs:v1
check "umoci unpacks the image (the reference)" umoci unpack --image "$t/oci:pkgs" "$t/unpacked"
ROOT=$t/unpacked/rootfs
blobs() { grep -c '/blobs/' "$t/p/proxy.log"; }
reset_log() { : > "$t/p/proxy.log"; }
IMGOPT=(--insecure-registry "$P" --cache-dir "$t/cache")

# --- the package database set ---------------------------------------------------
reset_log
"$RV" sbom --image "$REF" "${IMGOPT[@]}" --format dbset -o "$t/img.dbset" 2>"$t/err"
is "$?" 0 "sbom --image --format dbset exits 0"
"$RV" sbom "$ROOT" --format dbset -o "$t/dir.dbset" 2>"$t/err2"
is "$?" 0 "sbom DIR --format dbset (the probe's collector) exits 0"
same_file "$t/img.dbset" "$t/dir.dbset" "the image's dbset equals the unpacked rootfs's, byte for byte"
img_digest=$(sha256sum < "$t/img.dbset" | cut -d' ' -f1)
is "$img_digest" "$(sha256sum < "$t/dir.dbset" | cut -d' ' -f1)" "same dbset digest both ways"
head -1 "$t/img.dbset" | grep -q '^rv-dbset 1 files=[1-9]' && ok "the set has files" || not_ok "the set has files"
# what the layers did, seen in the set (grep the record lines only)
recs() { grep -a -E '^(file|fail) ' "$1"; }
recs "$t/img.dbset" > "$t/recs"
check "later layer's status replaced the base's" grep -q "rv-added" "$t/img.dbset"
check "the pip layer's dist-info is there" grep -q ' /usr/local/lib/python3.11/dist-packages/requests-2.31.0.dist-info/METADATA$' "$t/recs"
check "the hardlinked METADATA is there" grep -q ' /opt/venv/lib/python3.11/site-packages/requests-2.31.0.dist-info/METADATA$' "$t/recs"
check_fails "the whited-out dist-info is gone" grep -q " /usr/lib/python3/dist-packages/$gone" "$t/recs"
check_fails "the opaque node_modules hid left-pad" grep -q 'left-pad' "$t/recs"
check "a package added in the opaque dir's layer stays" grep -q ' /app/node_modules/kept/package.json$' "$t/recs"
check_fails "a symlinked METADATA is not followed" grep -q 'sym-1.0.dist-info' "$t/recs"
check_fails "/etc/os-release (a symlink) is not in the set" grep -q ' /etc/os-release$' "$t/recs"
check "/usr/lib/os-release is" grep -q ' /usr/lib/os-release$' "$t/recs"

# --- CycloneDX and text ----------------------------------------------------------
"$RV" sbom --image "$REF" "${IMGOPT[@]}" -o "$t/img.json" 2>"$t/err"
is "$?" 0 "sbom --image (CycloneDX) exits 0"
"$RV" sbom "$ROOT" -o "$t/dir.json" 2>/dev/null
is "$?" 0 "sbom DIR (CycloneDX) exits 0"
purls() { python3 -c 'import json,sys; [print(c["purl"] + "  " + [p["value"] for p in c.get("properties", []) if p["name"] == "runtime-verifier:location"][0]) for c in json.load(open(sys.argv[1]))["components"] if "purl" in c]' "$1"; }
purls "$t/img.json" > "$t/img.purls"
purls "$t/dir.json" > "$t/dir.purls"
same_file "$t/img.purls" "$t/dir.purls" "same purls and locations as sbom DIR on the unpacked image"
check "the BOM has the pip-installed package" grep -q '^pkg:pypi/requests@2.31.0  /usr/local/' "$t/img.purls"
check "and the dpkg stanza the second layer added" grep -q '^pkg:deb/.*/rv-added@9.9-1' "$t/img.purls"
dg=$(skopeo inspect --tls-verify=false --raw "docker://$REG_HOST/test/pkgs:v1" | sha256sum | cut -d' ' -f1)
meta=$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["metadata"]["component"]; print(c["type"], c["name"], c["version"], c["purl"])' "$t/img.json")
is "$meta" "container $REF sha256:$dg pkg:oci/pkgs@sha256%3A$dg?arch=amd64&repository_url=$P/test/pkgs&tag=v1" \
	"metadata.component names the image: type, name, digest, oci purl"
"$RV" sbom --image "$REF" "${IMGOPT[@]}" --format text > "$t/img.txt" 2>/dev/null
"$RV" sbom "$ROOT" --format text > "$t/dir.txt" 2>/dev/null
same_file "$t/img.txt" "$t/dir.txt" "text output equals sbom DIR's"

# the CycloneDX 1.5 schema, set up as sbom_cyclonedx.sh does
npmdir=${RV_SBOM_AJV_DIR:-/var/tmp/rv-npm}
want_pkgs="ajv-cli@5.0.0 ajv-formats@3.0.1 @cyclonedx/cyclonedx-library@10.3.0"
if [ "$(cat "$npmdir/.rv-installed" 2>/dev/null)" != "$want_pkgs" ]; then
	rm -rf "$npmdir"
	mkdir -p "$npmdir"
	npm install --no-audit --no-fund --prefix "$npmdir" $want_pkgs >"$t/npm.log" 2>&1 &&
		echo "$want_pkgs" >"$npmdir/.rv-installed"
fi
check "npm installed $want_pkgs" test -f "$npmdir/.rv-installed"
src=$npmdir/node_modules/@cyclonedx/cyclonedx-library/res/schema
sed -e 's/jsf-0\.82\.SNAPSHOT\.schema\.json/jsf-0.82.schema.json/' \
	-e 's/spdx\.SNAPSHOT\.schema\.json/spdx.schema.json/' \
	"$src/bom-1.5.SNAPSHOT.schema.json" >"$t/bom-1.5.schema.json"
cp "$src/spdx.SNAPSHOT.schema.json" "$t/spdx.schema.json"
cp "$src/jsf-0.82.SNAPSHOT.schema.json" "$t/jsf-0.82.schema.json"
validate() {
	"$npmdir/node_modules/.bin/ajv" validate --spec=draft7 --strict=false \
		-c ajv-formats -s "$t/bom-1.5.schema.json" \
		-r "$t/spdx.schema.json" -r "$t/jsf-0.82.schema.json" \
		-d "$1" >"$t/ajv.log" 2>&1
	local rc=$?
	[ $rc -eq 0 ] || grep -v '^unknown format' "$t/ajv.log" | head -20 | sed 's/^/# /'
	return $rc
}
printf '{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"type":"lib","name":"x"}]}' >"$t/bad.json"
check_fails "ajv rejects a component of an unknown type" validate "$t/bad.json"
check "the image's BOM validates against CycloneDX 1.5" validate "$t/img.json"
check "the unpacked rootfs's BOM validates" validate "$t/dir.json"

# --- one read of each blob; the cache --------------------------------------------------
nblobs=$(skopeo inspect --tls-verify=false --raw "docker://$REG_HOST/test/pkgs:v1" |
	python3 -c 'import json,sys; print(1 + len(json.load(sys.stdin)["layers"]))')
is "$nblobs" 4 "the image has a config and 3 layers"
rm -rf "$t/cache"
reset_log
"$RV" image "$REF" "${IMGOPT[@]}" --packages --format json --stats > "$t/image.json" 2>"$t/err"
is "$?" 0 "image --packages exits 0"
is "$(blobs)" "$nblobs" "image --packages: each blob once (config + $((nblobs - 1)) layers)"
is "$(python3 -c 'import json,collections,sys; c=collections.Counter(json.loads(l)["path"] for l in open(sys.argv[1]) if "/blobs/" in json.loads(l)["path"]); print(max(c.values()))' "$t/p/proxy.log")" 1 \
	"no blob requested twice"
is "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["dbset"]["digest"])' "$t/image.json")" \
	"$img_digest" "image --packages: its dbset digest is the unpacked rootfs's"
like "$(cat "$t/err")" "dbset_files=[1-9][0-9]* dbset_failed=0" "--stats counts the set"
"$RV" image "$REF" "${IMGOPT[@]}" > "$t/plain.txt" 2>/dev/null
"$RV" fingerprint "$ROOT" > "$t/fp.txt" 2>/dev/null
same_file "$t/plain.txt" "$t/fp.txt" "the manifest is still fingerprint's of the unpacked tree"
reset_log
"$RV" image "$REF" "${IMGOPT[@]}" --packages --format json > "$t/image2.json" 2>/dev/null
is "$(blobs)" 0 "image --packages, second run: no blob request"
same_file "$t/image2.json" "$t/image.json" "second run (image cache): same JSON, same dbset"
reset_log
"$RV" sbom --image "$REF" "${IMGOPT[@]}" --format dbset -o "$t/img2.dbset" 2>/dev/null
is "$(blobs)" 0 "sbom --image after image --packages: answered by the cache"
same_file "$t/img2.dbset" "$t/img.dbset" "the cached dbset is the same"

# the plain and the package runs have entries of their own
rm -rf "$t/cache"
reset_log
"$RV" image "$REF" "${IMGOPT[@]}" > /dev/null 2>&1
is "$(blobs)" "$nblobs" "plain image run fills the cache"
reset_log
"$RV" image "$REF" "${IMGOPT[@]}" --packages --format json > "$t/image3.json" 2>/dev/null
is "$(blobs)" "$nblobs" "a package run does not take the plain run's entries"
same_file "$t/image3.json" "$t/image.json" "and gives the same result"
reset_log
"$RV" image "$REF" "${IMGOPT[@]}" --path /app --packages --format json > "$t/app.json" 2>/dev/null
is "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["dbset"]["digest"])' "$t/app.json")" \
	"$img_digest" "with --path /app the set is still the whole image's"

# A layer cache entry of the old format (version 1) is a miss, not an error.
for f in "$t"/cache/layers/*; do
	python3 - "$f" <<'EOF'
import hashlib, sys
p = sys.argv[1]
b = open(p, "rb").read()[:-32]
b = b.replace(b"rv-layer-changes 2\n", b"rv-layer-changes 1\n", 1)
open(p, "wb").write(b + hashlib.sha256(b).digest())
EOF
done
rm -rf "$t"/cache/images
reset_log
"$RV" image "$REF" "${IMGOPT[@]}" --packages --format json > "$t/old.json" 2>"$t/err"
is "$?" 0 "version 1 layer entries: exit 0"
is "$(blobs)" "$nblobs" "version 1 layer entries: read again from the registry"
same_file "$t/old.json" "$t/image.json" "version 1 layer entries: same result"

# --- pnpm: hardlinks into a store that is no database ---------------------------
check "push the pnpm image" registry_push "$t/oci:pnpm" test/pnpm:v1
check "umoci unpacks the pnpm image" umoci unpack --image "$t/oci:pnpm" "$t/pnpm"
PREF=$P/test/pnpm:v1
player() { skopeo inspect --tls-verify=false --raw "docker://$REG_HOST/test/pnpm:v1" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][int(sys.argv[1])]["digest"])' "$1"; }
reqs() { grep -c "/blobs/$1" "$t/p/proxy.log"; }
rm -rf "$t/cache"
reset_log
"$RV" sbom --image "$PREF" "${IMGOPT[@]}" --format dbset -o "$t/pnpm-img.dbset" 2>"$t/err"
is "$?" 0 "pnpm image: sbom --image --format dbset exits 0"
"$RV" sbom "$t/pnpm/rootfs" --format dbset -o "$t/pnpm-dir.dbset" 2>/dev/null
is "$?" 0 "pnpm image: sbom DIR --format dbset exits 0"
same_file "$t/pnpm-img.dbset" "$t/pnpm-dir.dbset" "pnpm image: the dbset equals the unpacked rootfs's, byte for byte"
recs "$t/pnpm-img.dbset" > "$t/pnpm-recs"
check_fails "pnpm image: no record says 'not captured'" grep -q 'not captured' "$t/pnpm-img.dbset"
check "pnpm image: a link into an earlier layer's store has its contents" \
	grep -q '^file .* /app/node_modules/.pnpm/left-pad@1.3.0/node_modules/left-pad/package.json$' "$t/pnpm-recs"
check "pnpm image: a link into the same layer's store has its contents" \
	grep -q '^file .* /app/node_modules/.pnpm/is-odd@3.0.1/node_modules/is-odd/package.json$' "$t/pnpm-recs"
check_fails "pnpm image: the store files are not in the set" grep -q 'pnpm/store\|pnpm-store' "$t/pnpm-recs"
is "$(grep -c '^file ' "$t/pnpm-recs")" 5 "pnpm image: os-release and 4 package.json"
is "$(reqs "$(player 0)")" 2 "pnpm image: the layer holding the global store is read twice"
is "$(reqs "$(player 2)")" 2 "pnpm image: the layer holding the local store is read twice"
is "$(reqs "$(player 1)")" 1 "pnpm image: a layer without targets is read once"
reset_log
rm -rf "$t"/cache/images
"$RV" sbom --image "$PREF" "${IMGOPT[@]}" --format dbset -o "$t/pnpm-img2.dbset" 2>/dev/null
pcfg=$(skopeo inspect --tls-verify=false --raw "docker://$REG_HOST/test/pnpm:v1" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["config"]["digest"])')
is "$(blobs) $(reqs "$pcfg")" "1 1" "pnpm image, layer cache warm (both passes cached): the config is the only blob request"
same_file "$t/pnpm-img2.dbset" "$t/pnpm-dir.dbset" "pnpm image, from the layer cache: the same set"
reset_log
"$RV" image "$PREF" "${IMGOPT[@]}" > "$t/pnpm-plain.txt" 2>/dev/null
"$RV" fingerprint "$t/pnpm/rootfs" > "$t/pnpm-fp.txt" 2>/dev/null
same_file "$t/pnpm-plain.txt" "$t/pnpm-fp.txt" "pnpm image: the manifest is fingerprint's of the unpacked tree"

# Command line
"$RV" sbom --image "$REF" "$ROOT" > /dev/null 2>&1
is "$?" 64 "--image with a DIR is a usage error"
"$RV" sbom "$ROOT" --insecure-registry x > /dev/null 2>&1
is "$?" 64 "registry options without --image are a usage error"

done_testing
