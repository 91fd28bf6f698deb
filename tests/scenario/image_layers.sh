#!/bin/bash
# image_layers.sh - `runtime-verifier image` against a real registry gives
# the same manifest (same root hash) as `runtime-verifier fingerprint` of
# the `umoci unpack` of the same image, and the same sha256sum view as the
# GNU pipeline run in the unpacked tree.
#
# Covered: file replacement, whiteouts of files and directories, opaque
# directories, a directory replaced by a file and back, hardlinks within
# and across layers (one to a target outside --path), symlinks, non-ASCII
# and non-UTF-8 names, names with a newline and a backslash, setuid and
# sticky bits, owners, a fifo, implied parent directories, an empty layer,
# an uncompressed layer, a zstd layer (umoci cannot unpack zstd: compared
# with the same tars gzipped), Docker v2 media types, a multi-arch index
# with --platform, digest and tag references, JSON output with labels.
set -u
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/tap.sh"
source "$here/../lib/registry.sh"

t=$(mktemp -d /tmp/rv-image-layers.XXXXXX)
trap 'registry_stop; rm -rf "$t"' EXIT
trap 'exit 1' INT TERM
umask 022

cat > "$t/spec.json" <<'EOF'
{"images": [{"tag": "multi", "labels": {"org.opencontainers.image.revision": "0123abc",
  "org.opencontainers.image.source": "https://example.invalid/app.git"},
 "layers": [
  {"entries": [
    {"path": "./", "type": "dir", "mode": "0755"},
    {"path": "app/", "type": "dir", "mode": "0750", "uid": 10, "gid": 20},
    {"path": "app/a", "data": "one"},
    {"path": "app/bin/tool", "data_hex": "7f454c4602010100", "mode": "4755", "uid": 1000, "gid": 1000},
    {"path": "app/old/x", "data": "x"},
    {"path": "app/old/sub/y", "data": "y"},
    {"path": "app/opq/keep", "data": "k"},
    {"path": "app/opq/d/e", "data": "e"},
    {"path": "app/dir2file/z", "data": "z"},
    {"path": "app/file2dir", "data": "f"},
    {"path": "app/tmp/", "type": "dir", "mode": "1777"},
    {"path": "app/fifo", "type": "fifo", "mode": "0600"},
    {"path": "etc/passwd", "data": "root:x:0:0::/root:/bin/sh\n"},
    {"path": "etc/gone", "data": "bye"}]},
  {"compression": "none", "entries": [
    {"path": "app/a", "data": "two", "mode": "0600"},
    {"path": "app/.wh.old", "type": "file"},
    {"path": "app/opq/", "type": "dir", "mode": "0700"},
    {"path": "app/opq/.wh..wh..opq", "type": "file"},
    {"path": "app/opq/new", "data": "n"},
    {"path": "app/dir2file", "data": "now a file"},
    {"path": "app/file2dir/", "type": "dir"},
    {"path": "app/file2dir/in", "data": "inside"},
    {"path": "app/link", "type": "symlink", "target": "/etc/passwd"},
    {"path": "app/rel", "type": "symlink", "target": "bin/tool", "mode": "0755"},
    {"path": "app/hl", "type": "hardlink", "target": "app/bin/tool"},
    {"path": "app/caf\u00e9 \u2603", "data": "snow"},
    {"path": "app/line\nbreak\\back", "data": "odd"},
    {"path": "etc/.wh.gone", "type": "file"}]},
  {"entries": []},
  {"compression": "zstd", "entries": [
    {"path": "app/deep/er/file", "data": "implied parents"},
    {"path": "app/hl2", "type": "hardlink", "target": "etc/passwd"},
    {"path": "app/big", "random": 3000000, "mode": "0640", "uid": 7, "gid": 8},
    {"path": "app/same/hl3", "type": "hardlink", "target": "app/big"}]},
  {"format": "gnu", "entries": [
    {"path_hex": "6170702f6c6174696ee92d31", "data": "latin-1 name"}]}
 ]},
 {"tag": "noroot", "layers": [
  {"entries": [{"path": "app/only", "data": "no ./ entry, no app/ entry"}]}]}
],
 "index": {"tag": "multiarch", "images": [
  {"platform": "linux/amd64", "layers": [{"entries": [{"path": "app/arch", "data": "amd64"}]}]},
  {"platform": "linux/arm64", "layers": [{"entries": [{"path": "app/arch", "data": "arm64"}]}]}]}
}
EOF
# The same image with gzip for umoci (it cannot unpack zstd layers).
sed 's/"compression": "zstd", //' "$t/spec.json" > "$t/spec-gz.json"
check "mkimage builds the layout" python3 "$RV_TOP/tests/lib/mkimage.py" "$t/spec.json" "$t/oci"
check "mkimage builds the gzip twin" python3 "$RV_TOP/tests/lib/mkimage.py" "$t/spec-gz.json" "$t/oci-gz"
check "registry starts" registry_start "$t/reg"
check "push multi (OCI, zstd layer)" registry_push "$t/oci:multi" test/layers:multi
check "push multi as Docker v2 (gzip twin)" registry_push "$t/oci-gz:multi" test/docker:multi --format v2s2
check "push noroot" registry_push "$t/oci:noroot" test/layers:noroot
check "push the index" registry_push "$t/oci:multiarch" test/index:multiarch --all

IMG=("$RV" image --no-cache --insecure-registry "$REG_HOST")

# unpack NAME TAG: umoci unpack of the gzip twin into $t/NAME.
unpack() {
	umoci unpack --image "$t/oci-gz:$2" "$t/$1" >/dev/null 2>&1
}

# compare DESC IMAGE-REF UNPACKED-ROOTFS [--path P]
compare() {
	local desc=$1 ref=$2 root=$3
	shift 3
	"${IMG[@]}" "$ref" "$@" > "$t/img.txt" 2>"$t/img.err"
	local rc=$?
	is "$rc" 0 "$desc: image exits 0"
	[ $rc -eq 0 ] || sed 's/^/# /' "$t/img.err"
	"$RV" fingerprint "$root" "$@" > "$t/fp.txt" 2>"$t/fp.err"
	is "$?" 0 "$desc: fingerprint of the unpacked tree exits 0"
	same_file "$t/img.txt" "$t/fp.txt" "$desc: same manifest as fingerprint of umoci unpack"
	is "$(sha256sum < "$t/img.txt")" "$(sha256sum < "$t/fp.txt")" "$desc: same root hash"
}

# gnu_view DIR: the seed pipeline.
gnu_view() {
	(cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
}

check "umoci unpacks multi" unpack multi multi
check "umoci unpacks noroot" unpack noroot noroot
compare "multi, whole image" "$REG_HOST/test/layers:multi" "$t/multi/rootfs"
compare "multi, --path /app" "$REG_HOST/test/layers:multi" "$t/multi/rootfs" --path /app
compare "multi, --path /etc --path /app/deep" "$REG_HOST/test/layers:multi" "$t/multi/rootfs" --path /etc --path /app/deep
compare "Docker v2 media types" "$REG_HOST/test/docker:multi" "$t/multi/rootfs"
compare "no ./ entry: implied / and parents" "$REG_HOST/test/layers:noroot" "$t/noroot/rootfs"

"${IMG[@]}" "$REG_HOST/test/layers:multi" --path /app --format sha256sum > "$t/view.txt"
gnu_view "$t/multi/rootfs/app" > "$t/gnu.txt"
same_file "$t/view.txt" "$t/gnu.txt" "sha256sum view equals the GNU pipeline in the unpacked /app"
"${IMG[@]}" "$REG_HOST/test/layers:multi" --format sha256sum > "$t/view.txt"
gnu_view "$t/multi/rootfs" > "$t/gnu.txt"
same_file "$t/view.txt" "$t/gnu.txt" "sha256sum view equals the GNU pipeline in the unpacked rootfs"

# Manifest facts that the comparison alone would not show.
"${IMG[@]}" "$REG_HOST/test/layers:multi" > "$t/m.txt"
like "$(grep ' /app/hl$' "$t/m.txt")" '^elf 4755 1000:1000 8 ' "cross-layer hardlink takes the target's content and metadata"
like "$(grep ' /app/hl2$' "$t/m.txt")" '^file 0644 0:0 26 ' "hardlink to a file of an earlier layer"
check_fails "whiteout removed /app/old" grep -q ' /app/old' "$t/m.txt"
check_fails "opaque dir hid /app/opq/keep" grep -q ' /app/opq/keep$' "$t/m.txt"
like "$(grep ' /app/dir2file$' "$t/m.txt")" '^file ' "a file replaced a directory"
check_fails "the replaced directory's children are gone" grep -q ' /app/dir2file/' "$t/m.txt"
like "$(grep ' /app/tmp$' "$t/m.txt")" '^dir 1777 ' "sticky bit kept"
like "$(grep ' /app/rel$' "$t/m.txt")" '^symlink 0777 ' "a symlink is 0777 whatever its tar header says"
like "$(grep ' /app/latin' "$t/m.txt")" 'latin\\xe9-1$' "a non-UTF-8 name is kept byte for byte"

# Digest references and the tag's digest.
dg=$(skopeo inspect --tls-verify=false --raw "docker://$REG_HOST/test/layers:multi" | sha256sum | cut -d' ' -f1)
"${IMG[@]}" "$REG_HOST/test/layers@sha256:$dg" > "$t/bydigest.txt"
same_file "$t/bydigest.txt" "$t/m.txt" "by digest equals by tag"
json=$("${IMG[@]}" "$REG_HOST/test/layers:multi" --path /app --format json)
is "$(printf '%s' "$json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["digest"])')" "sha256:$dg" "json names the digest the tag resolved to"
is "$(printf '%s' "$json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["labels"]["org.opencontainers.image.revision"])')" "0123abc" "json carries the revision label"
is "$(printf '%s' "$json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["root"])')" \
	"$("${IMG[@]}" "$REG_HOST/test/layers:multi" --path /app | sha256sum | cut -d' ' -f1)" "json root is the root hash"

# A multi-arch index: the platform picks the manifest.
amd=$("${IMG[@]}" "$REG_HOST/test/index:multiarch" --path /app/arch --format sha256sum)
arm=$("${IMG[@]}" "$REG_HOST/test/index:multiarch" --path /app/arch --platform linux/arm64 --format sha256sum)
like "$amd" "^$(printf amd64 | sha256sum | cut -d' ' -f1)  " "index: default platform content"
like "$arm" "^$(printf arm64 | sha256sum | cut -d' ' -f1)  " "index: --platform linux/arm64 content"
err=$("${IMG[@]}" "$REG_HOST/test/index:multiarch" --platform linux/s390x 2>&1 >/dev/null)
like "$err" "no manifest for platform 'linux/s390x'.*linux/amd64, linux/arm64" "index: an absent platform is named with what there is"

# A --path that is not in the image: recorded missing, exit 1.
"${IMG[@]}" "$REG_HOST/test/layers:multi" --path /nope > "$t/nope.txt" 2>/dev/null
is "$?" 1 "a missing --path exits 1"
like "$(tail -1 "$t/nope.txt")" '^unknown .* !ENOENT /nope$' "a missing --path is an ENOENT entry, as fingerprint records it"

done_testing
