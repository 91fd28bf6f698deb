#!/bin/bash
# image_cache.sh - the image cache, seen from the registry's side through
# a counting proxy: a second run makes no blob request (by tag: only the
# manifest; by digest: no request at all), a corrupted entry is detected
# and rebuilt, two processes can fill one cache at once, and the size
# limit evicts the least recently used entries.
set -u
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/tap.sh"
source "$here/../lib/registry.sh"

registry_test_dir image-cache

cat > "$t/spec.json" <<'EOF'
{"images": [
 {"tag": "x", "layers": [
  {"entries": [{"path": "app/a", "data": "a\n"}, {"path": "etc/os", "data": "x\n"}]},
  {"entries": [{"path": "app/b", "random": 200000}]}]},
 {"tag": "y", "layers": [
  {"entries": [{"path": "app/c", "random": 300000}]}]}]}
EOF
python3 "$RV_TOP/tests/lib/mkimage.py" "$t/spec.json" "$t/oci"
check "registry starts" registry_start "$t/reg"
check "push x" registry_push "$t/oci:x" app/c:x
check "push y" registry_push "$t/oci:y" app/c:y
check "counting proxy starts" proxy_start "$t/p" "$REG_URL"
pids+=("$PROXY_PID")
P=$PROXY_HOST
C=$t/cache

img() { "$RV" image --insecure-registry "$P" --cache-dir "$C" --stats "$@"; }
blobs() { grep -c '/blobs/' "$t/p/proxy.log"; }
reqs() { grep -c . "$t/p/proxy.log"; }
reset_log() { : > "$t/p/proxy.log"; }

reset_log
img "$P/app/c:x" > "$t/first.txt" 2>"$t/err"
is "$?" 0 "first run fills the cache"
is "$(blobs)" 3 "first run: config + 2 layer blobs"
reset_log
img "$P/app/c:x" > "$t/second.txt" 2>"$t/err"
same_file "$t/second.txt" "$t/first.txt" "second run: same manifest"
is "$(blobs)" 0 "second run by tag: no blob request"
is "$(reqs)" 1 "second run by tag: only the manifest request"
like "$(cat "$t/err")" "image_cached=1" "second run: the image cache answered"

dg=$(skopeo inspect --tls-verify=false --raw "docker://$REG_HOST/app/c:x" | sha256sum | cut -d' ' -f1)
reset_log
img "$P/app/c@sha256:$dg" > "$t/digest.txt" 2>"$t/err"
is "$?" 0 "by digest: exit 0"
is "$(reqs)" 0 "by digest: answered by the entry the tag run filed under the digest, no request"
reset_log
img "$P/app/c@sha256:$dg" > "$t/digest.txt" 2>"$t/err"
same_file "$t/digest.txt" "$t/first.txt" "by digest: same manifest"
is "$(reqs)" 0 "by digest, second time: no request at all"

reset_log
img "$P/app/c:x" --path /app > "$t/app.txt" 2>"$t/err"
is "$(blobs)" 3 "another --path: layers are read again (the filter is part of the key)"
reset_log
img "$P/app/c:x" --path /app > "$t/app2.txt" 2>"$t/err"
same_file "$t/app2.txt" "$t/app.txt" "another --path: cached too"
is "$(blobs)" 0 "another --path, second run: no blob request"

# Corrupt every entry: each is detected, the result is still right, and
# the cache is rebuilt.
for f in "$C"/layers/* "$C"/images/*; do
	python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[len(b)//2]^=1; open(p,"wb").write(b)' "$f"
done
reset_log
img "$P/app/c:x" > "$t/corrupt.txt" 2>"$t/err"
is "$?" 0 "corrupt cache: exit 0"
same_file "$t/corrupt.txt" "$t/first.txt" "corrupt cache: same manifest"
like "$(cat "$t/err")" "cache_corrupt=[1-9]" "corrupt cache: detected"
is "$(blobs)" 3 "corrupt cache: blobs fetched again"
reset_log
img "$P/app/c:x" > "$t/rebuilt.txt" 2>"$t/err"
is "$(blobs)" 0 "rebuilt cache: no blob request"
like "$(cat "$t/err")" "cache_corrupt=0" "rebuilt cache: no corrupt entry left"
check_fails "no temporary files left in the cache" bash -c "ls -A '$C'/*/ | grep -q '^\\.tmp'"

# Truncated entry (a crash mid-write cannot leave one, a disk error can).
for f in "$C"/images/*; do head -c 20 "$f" > "$f.t" && mv "$f.t" "$f"; done
img "$P/app/c:x" > "$t/trunc.txt" 2>"$t/err"
same_file "$t/trunc.txt" "$t/first.txt" "truncated entry: same manifest"

# Two processes fill an empty cache at once.
rm -rf "$C"
img "$P/app/c:x" > "$t/p1.txt" 2>"$t/e1" &
a=$!
img "$P/app/c:x" > "$t/p2.txt" 2>"$t/e2" &
b=$!
wait $a; ra=$?
wait $b; rb=$?
is "$ra $rb" "0 0" "two processes at once: both succeed"
same_file "$t/p1.txt" "$t/first.txt" "two processes: first result right"
same_file "$t/p2.txt" "$t/first.txt" "two processes: second result right"
reset_log
img "$P/app/c:x" > /dev/null 2>"$t/err"
is "$(blobs)" 0 "two processes: the cache they left is whole"

# LRU: fill with x then y, use y, then limit the size to about y's
# entries: x's go, y's stay.
cache_bytes() { find "$C" -type f ! -name .lock -printf '%s\n' | awk '{s+=$1} END {print s+0}'; }
rm -rf "$C"
img "$P/app/c:x" > /dev/null 2>&1
size_x=$(cache_bytes)
img "$P/app/c:y" > /dev/null 2>&1
size_xy=$(cache_bytes)
limit=$((size_xy - size_x + 16))
sleep 0.1
img "$P/app/c:y" --cache-max $limit > /dev/null 2>"$t/err"
total=$(cache_bytes)
check "after eviction the cache is within the limit ($total <= $limit)" test "$total" -le $limit
reset_log
img "$P/app/c:y" > /dev/null 2>&1
is "$(blobs)" 0 "LRU: the recently used image stayed"
reset_log
img "$P/app/c:x" > /dev/null 2>&1
is "$(blobs)" 3 "LRU: the least recently used image was evicted"

reset_log
"$RV" image --insecure-registry "$P" --no-cache "$P/app/c:x" > "$t/nocache.txt" 2>/dev/null
is "$(blobs)" 3 "--no-cache: reads the blobs"
same_file "$t/nocache.txt" "$t/first.txt" "--no-cache: same manifest"

done_testing
