#!/bin/bash
# image_bad.sh - bad input from a registry gets a one-line error naming
# the thing, exit 2, no output and no crash: an unknown media type, a
# schema 1 manifest, a manifest that is not JSON, a descriptor with a bad
# digest, an unknown layer media type, tar entries with absolute or ".."
# paths, sizes that lie (descriptor and tar header), a gzip bomb, and a
# malformed reference or platform.
set -u
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/tap.sh"
source "$here/../lib/registry.sh"

registry_test_dir image-bad

cat > "$t/spec.json" <<'EOF'
{"images": [
 {"tag": "good", "layers": [{"entries": [{"path": "app/a", "data": "a\n"}]}]},
 {"tag": "abs", "layers": [{"entries": [{"path": "/etc/evil", "data": "x"}]}]},
 {"tag": "dotdot", "layers": [{"entries": [{"path": "app/../../evil", "data": "x"}]}]},
 {"tag": "wh-dotdot", "layers": [{"entries": [{"path": "app/.wh..", "data": ""}]}]},
 {"tag": "trunc", "layers": [{"compression": "none", "truncate": 1300,
   "entries": [{"path": "app/big", "random": 5000}]}]},
 {"tag": "bomb", "layers": [{"zeros": 60000000}]}
]}
EOF
python3 "$RV_TOP/tests/lib/mkimage.py" "$t/spec.json" "$t/oci"
check "registry starts" registry_start "$t/reg"
for tag in good abs dotdot wh-dotdot trunc bomb; do
	check "push $tag" registry_push "$t/oci:$tag" bad/img:$tag
done
check "proxy starts" proxy_start "$t/p" "$REG_URL"
pids+=("$PROXY_PID")
P=$PROXY_HOST

# bad NAME NEEDLE ARGS...: exit 2, nothing on stdout, one line on stderr
# holding NEEDLE (an extended regex).
bad() {
	local name=$1 needle=$2 rc
	shift 2
	"$RV" image --no-cache --insecure-registry "$P" "$@" >"$t/out" 2>"$t/err" </dev/null
	rc=$?
	is "$rc" 2 "$name: exit 2"
	is "$(wc -c < "$t/out")" 0 "$name: no output"
	is "$(wc -l < "$t/err")" 1 "$name: one line of error"
	like "$(cat "$t/err")" "$needle" "$name: the error names it"
}

good=$(skopeo inspect --tls-verify=false --raw "docker://$REG_HOST/bad/img:good")
cfg=$(printf '%s' "$good" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["config"]))')

# serve TEXT [CONTENT-TYPE]: the manifest of bad/img:evil is TEXT.
serve() {
	printf '%s' "$1" > "$t/manifest"
	printf '[{"match": "/manifests/evil", "action": "status", "status": 200, "headers": {"Content-Type": "%s"}, "body_file": "%s"}]\n' \
		"${2:-application/vnd.oci.image.manifest.v1+json}" "$t/manifest" > "$t/p/rules.json"
}

serve '{"schemaVersion": 2, "mediaType": "application/x-whatever"}' application/x-whatever
bad "unknown manifest media type" "unknown media type 'application/x-whatever'" "$P/bad/img:evil"
serve '{"schemaVersion": 1, "name": "x", "tag": "y", "fsLayers": []}' application/vnd.docker.distribution.manifest.v1+prettyjws
bad "schema 1 manifest" "schema 1 manifest: not supported" "$P/bad/img:evil"
serve 'this is not json {' application/vnd.oci.image.manifest.v1+json
bad "manifest that is not JSON" "manifest is not a JSON object" "$P/bad/img:evil"
serve '{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:NOTHEX", "size": 10}, "layers": []}'
bad "descriptor with a bad digest" "bad digest 'sha256:NOTHEX'" "$P/bad/img:evil"
serve '{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": '"$cfg"', "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+bzip2", "digest": "sha256:'"$(printf x | sha256sum | cut -d' ' -f1)"'", "size": 1}]}'
bad "unknown layer media type" "unsupported layer media type 'application/vnd.oci.image.layer.v1.tar\+bzip2'" "$P/bad/img:evil"
lie=$(printf '%s' "$good" | python3 -c 'import json,sys; m=json.load(sys.stdin); m["layers"][0]["size"]-=7; print(json.dumps(m))')
serve "$lie"
bad "layer descriptor size smaller than the blob" "larger than its descriptor says" "$P/bad/img:evil"
lie=$(printf '%s' "$good" | python3 -c 'import json,sys; m=json.load(sys.stdin); m["layers"][0]["size"]+=7; print(json.dumps(m))')
serve "$lie"
bad "layer descriptor size larger than the blob" "is [0-9]+ bytes, its descriptor says [0-9]+" "$P/bad/img:evil"
lie=$(printf '%s' "$good" | python3 -c 'import json,sys; m=json.load(sys.stdin); m["config"]["size"]+=1; print(json.dumps(m))')
serve "$lie"
bad "config descriptor size that lies" "config of .* bytes, its descriptor says" "$P/bad/img:evil"
lie=$(printf '%s' "$good" | python3 -c 'import json,sys; m=json.load(sys.stdin); m["layers"][0]["digest"]="sha256:"+"0"*64; print(json.dumps(m))')
serve "$lie"
bad "layer descriptor with a digest the registry does not have" "not found \(HTTP 404, (BLOB|MANIFEST)_UNKNOWN" "$P/bad/img:evil"
# An OCI manifest without mediaType, served as application/json: its
# shape says what it is (not bad input, but the same machinery).
nomt=$(printf '%s' "$good" | python3 -c 'import json,sys; m=json.load(sys.stdin); m.pop("mediaType", None); print(json.dumps(m))')
serve "$nomt" application/json
"$RV" image --no-cache --insecure-registry "$P" "$P/bad/img:evil" >"$t/out" 2>"$t/err"
is "$?" 0 "an OCI manifest without mediaType, as application/json: understood"
echo '[]' > "$t/p/rules.json"

bad "tar entry with an absolute path" "tar entry '/etc/evil' is an absolute path" "$P/bad/img:abs"
bad "tar entry with a '..' path" "tar entry 'app/../../evil' has a '\.\.' component" "$P/bad/img:dotdot"
bad "whiteout of '..'" "'\.\.'" "$P/bad/img:wh-dotdot"
bad "tar header size that lies (truncated data)" "layer 1 .*(runcated|tar)" "$P/bad/img:trunc"
bad "gzip bomb past --max-layer-size" "inflates to more than 10485760 bytes" --max-layer-size 10M "$P/bad/img:bomb"
"$RV" image --no-cache --insecure-registry "$P" --zlib --max-layer-size 10M "$P/bad/img:bomb" >"$t/out" 2>"$t/err"
like "$(cat "$t/err")" "inflates to more than" "gzip bomb with zlib: refused too"

bad "bad reference" "bad image reference 'UPPER/Case'" "UPPER/Case"
bad "reference with a bad digest" "bad digest 'sha256:1234'" "$P/bad/img@sha256:1234"
bad "bad platform" "bad platform 'linux'" --platform linux "$P/bad/img:good"
bad "missing image" "not found \(HTTP 404, (BLOB|MANIFEST)_UNKNOWN" "$P/bad/nothere:v1"
"$RV" image --no-cache "$P/bad/img:good" >"$t/out" 2>"$t/err"
is "$?" 2 "a plain-HTTP registry not listed with --insecure-registry: refused"
like "$(cat "$t/err")" "SSL|TLS|wrong version" "a plain-HTTP registry not listed: a TLS error, no silent downgrade"
"$RV" image --no-cache --insecure-registry "$P" --platform linux/arm64 "$P/bad/img:good" >"$t/out" 2>"$t/err"
like "$(cat "$t/err")" "is for 'linux/amd64', not 'linux/arm64'" "single-platform image and another --platform: refused"
"$RV" image --no-cache --insecure-registry "$P" "$P/bad/img:good" >"$t/out" 2>"$t/err"
is "$?" 0 "the good image still works through the proxy"

done_testing
