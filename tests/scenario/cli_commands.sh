#!/bin/bash
# cli_commands.sh - fingerprint, diff and decode end to end on temp trees:
# formats, each kind of change, exit codes, --help, usage errors, bad input.
set -u
. "$(dirname "$0")/../lib/tap.sh"

T=$(mktemp -d)
trap 'umount "$T/mnt/app/config" 2>/dev/null; rm -rf "$T"' EXIT
export LC_ALL=C
umask 022

# run NAME CMD...: stdout to $T/NAME.out, stderr to $T/NAME.err, status in RC
run() {
	local name=$1
	shift
	"$@" >"$T/$name.out" 2>"$T/$name.err"
	RC=$?
}
out() { cat "$T/$1.out"; }
err() { cat "$T/$1.err"; }
lines() { wc -l <"$T/$1" | tr -d ' '; }

# gnu DIR: the reference pipeline the sha256sum view must equal
gnu() {
	(cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
}

# mkframe: a probe log (some lines, a frame, some lines) for the manifest
# on stdin, as docs/probe.md describes the frame
mkframe() {
	python3 -c '
import sys, zlib, base64, hashlib
raw = sys.stdin.buffer.read()
ents = raw.split(b"\n")[1:-1]
errs = sum(1 for l in ents if l.split(b" ")[4].startswith(b"!"))
z = zlib.compress(raw, 9)
n = (len(z) + 47) // 48
o = sys.stdout.buffer
o.write(b"2026-01-01T00:00:00Z probe starting\n")
o.write(b"rv-frame 1 begin entries=%d errors=%d raw=%d zlen=%d lines=%d root=%s\n"
    % (len(ents), errs, len(raw), len(z), n, hashlib.sha256(raw).hexdigest().encode()))
for i in range(n):
    o.write(b"p %d %s\n" % (i + 1, base64.b64encode(z[i * 48:(i + 1) * 48])))
o.write(b"rv-frame 1 end sha256=%s lines=%d\n" % (hashlib.sha256(z).hexdigest().encode(), n))
o.write(b"probe done\n")'
}

# mksummary: the termination message for a fingerprint --format json
mksummary() {
	python3 -c '
import sys, json
d = json.load(sys.stdin)
s = d["stats"]
print("rv-probe 1 root=%s entries=%d files=%d dirs=%d symlinks=%d others=%d "
      "mounts=%d errors=%d bytes=%d status=%s" % (d["root"], s["entries"],
      s["files"], s["dirs"], s["symlinks"], s["others"], s["mounts"],
      s["errors"], s["bytes"], "complete" if s["errors"] == 0 else "incomplete"))'
}

# --- a reference tree and a drifted copy ---------------------------------
A=$T/a
mkdir -p "$A/app/bin" "$A/app/config" "$A/app/logs" "$A/app/lib"
echo 'hello' >"$A/app/data.txt"
echo 'key: 1' >"$A/app/config/app.yaml"
echo 'keep' >"$A/app/gone.txt"
echo 'mode' >"$A/app/mode.txt"
echo 'owner' >"$A/app/owner.txt"
echo 'was a file' >"$A/app/shape"
printf '#!/bin/sh\necho hi\n' >"$A/app/bin/run"
chmod 0755 "$A/app/bin/run"
echo 'old log' >"$A/app/logs/app.log"

B=$T/b
cp -a "$A" "$B"
echo 'changed' >"$B/app/data.txt"                 # modified
echo 'new' >"$B/app/new.txt"                      # added
rm "$B/app/gone.txt"                              # removed
chmod 0600 "$B/app/mode.txt"                      # chmod
chown 1234:1234 "$B/app/owner.txt"                # chown
rm "$B/app/shape" && ln -s /etc/passwd "$B/app/shape"   # type change
printf '#!/bin/sh\nid\n' >"$B/app/bin/dropper"    # added executable
chmod 0755 "$B/app/bin/dropper"
cp /bin/true "$B/app/lib/libx.so"                 # added ELF, no x bit
chmod 0644 "$B/app/lib/libx.so"
echo 'new log' >"$B/app/logs/other.log"           # allowlisted

# --- fingerprint ---------------------------------------------------------
run fa "$RV" fingerprint "$A"
is "$RC" 0 "fingerprint: exit 0 on a readable tree"
is "$(head -n 1 "$T/fa.out")" "rv-manifest 1" "fingerprint: manifest format by default"
like "$(out fa)" '^file 0644 0:0 6 [0-9a-f]{64} /app/data.txt$' \
	"fingerprint: a file line in the canonical form"
like "$(out fa)" '^file 0755 0:0 [0-9]+ [0-9a-f]{64} /app/bin/run$' \
	"fingerprint: paths are absolute inside DIR"
is "$(err fa)" "" "fingerprint: nothing on stderr"
cp "$T/fa.out" "$T/a.m"

run fa2 "$RV" fingerprint --format manifest "$A"
same_file "$T/fa2.out" "$T/a.m" "fingerprint: same bytes twice, option before DIR"

run fb "$RV" fingerprint "$B"
cp "$T/fb.out" "$T/b.m"

run fj "$RV" fingerprint "$A" --format json
is "$RC" 0 "fingerprint --format json: exit 0"
is "$(python3 -c '
import json, sys, hashlib
d = json.load(open(sys.argv[1]))
m = open(sys.argv[2], "rb").read()
ok = (d["root"] == hashlib.sha256(m).hexdigest() and d["complete"] is True
      and d["stats"]["entries"] == len(d["entries"]) == m.count(b"\n") - 1
      and d["stats"]["errors"] == 0 and d["format"] == "rv-fingerprint")
e = [x for x in d["entries"] if x["path"] == "/app/data.txt"][0]
ok = ok and e["type"] == "file" and e["mode"] == "0644" and e["size"] == 6 \
     and e["sha256"] == hashlib.sha256(b"hello\n").hexdigest()
print("yes" if ok else "no")' "$T/fj.out" "$T/a.m")" yes \
	"fingerprint --format json: root is the manifest's sha256, stats and entries agree"

run fs "$RV" fingerprint "$A" --format sha256sum
gnu "$A" >"$T/gnu-a"
same_file "$T/fs.out" "$T/gnu-a" "fingerprint --format sha256sum equals the GNU pipeline"

run fsp "$RV" fingerprint "$A" --path /app/ --format sha256sum
gnu "$A/app" >"$T/gnu-app"
same_file "$T/fsp.out" "$T/gnu-app" "fingerprint --path P --format sha256sum equals the pipeline in DIR/P"

run fpp "$RV" fingerprint "$A" --path /app/bin --path /app/config --format sha256sum
is "$(out fpp | sed 's/^[0-9a-f]*  //')" "$(printf './app/bin/run\n./app/config/app.yaml')" \
	"fingerprint: several --path give ./app/... names"
run fpm "$RV" fingerprint "$A" --path /app/bin
like "$(out fpm)" '/app/bin/run' "fingerprint --path: the path is walked"
check_fails "fingerprint --path: other paths are not" grep -q 'data.txt' "$T/fpm.out"

run fx "$RV" fingerprint "$A" --exclude '*.log' --exclude /app/config
check_fails "fingerprint --exclude: excluded paths are left out" \
	grep -Eq 'app\.log$|/app/config' "$T/fx.out"
like "$(out fx)" '/app/data.txt' "fingerprint --exclude: the rest stays"

run ft "$RV" fingerprint "$A" --threads 1 --cross-mounts
same_file "$T/ft.out" "$T/a.m" "fingerprint --threads 1 --cross-mounts: same manifest"

# odd names: the sha256sum view byte for byte against the real pipeline
O=$T/odd
mkdir -p "$O/d"
printf 1 >"$O/with space"
printf 2 >"$O/new"$'\n'"line"
printf 3 >"$O/back\\slash"
printf 4 >"$O/cr"$'\r'"x"
printf 5 >"$O/"$'\xff\xfe'"bad-utf8"
printf 6 >"$O/-"
printf 7 >"$O/d/"$'\e[31m'"esc"
printf 8 >"$O/d/tab"$'\t'"x"
ln -s "with space" "$O/link"
run fo "$RV" fingerprint "$O" --format sha256sum
gnu "$O" >"$T/gnu-odd"
same_file "$T/fo.out" "$T/gnu-odd" "fingerprint --format sha256sum: odd names equal the GNU pipeline"
is "$(lines fo.out)" 8 "fingerprint --format sha256sum: one line per regular file"
run fom "$RV" fingerprint "$O"
like "$(out fom)" '/new\\x0aline$' "fingerprint: a newline in a name is escaped in the manifest"
like "$(out fom)" '/\\xff\\xfebad-utf8$' "fingerprint: invalid UTF-8 is escaped in the manifest"
run foj "$RV" fingerprint "$O" --format json
is "$(python3 -c '
import json, sys, base64
d = json.load(open(sys.argv[1]))
e = [x for x in d["entries"] if "path_b64" in x]
ok = len(e) == 1 and base64.b64decode(e[0]["path_b64"]) == b"/\xff\xfebad-utf8" \
     and e[0]["path"] == "/\\xff\\xfebad-utf8"
ok = ok and any(x["path"] == "/new\nline" for x in d["entries"])
print("yes" if ok else "no")' "$T/foj.out")" yes \
	"fingerprint --format json: path_b64 only for invalid UTF-8, exact bytes"

# unreadable entries: exit 1, named on stderr (escaped), output still written
run fu "$RV" fingerprint "$A" --path /app/bin --path "/app/nope"$'\e'"[2J"
is "$RC" 1 "fingerprint: a missing --path makes the result incomplete (exit 1)"
like "$(out fu)" '/app/bin/run' "fingerprint: the output is still written"
like "$(out fu)" 'unknown .* !ENOENT /app/nope\\x1b\[2J' "fingerprint: the error is recorded in the manifest"
like "$(err fu)" "^runtime-verifier fingerprint: cannot read '/app/nope\\\\x1b\\[2J': No such file or directory" \
	"fingerprint: the unreadable path is named on stderr, escaped"
like "$(err fu)" 'incomplete: 1 entry could not be read' "fingerprint: stderr says incomplete"
check_fails "fingerprint: no raw escape byte reaches stderr" grep -q $'\e' "$T/fu.err"

if id nobody >/dev/null 2>&1 && setpriv --help >/dev/null 2>&1; then
	U=$T/unreadable
	mkdir -p "$U/app"
	for i in $(seq 1 25); do echo "$i" >"$U/app/secret$i"; chmod 0600 "$U/app/secret$i"; done
	echo ok >"$U/app/public"
	chmod 0755 "$T" "$U" "$U/app"
	run fnu setpriv --reuid=65534 --regid=65534 --clear-groups "$RV" fingerprint "$U"
	is "$RC" 1 "fingerprint as another user: unreadable files give exit 1"
	like "$(err fnu)" "cannot read '/app/secret1': Permission denied" \
		"fingerprint: Permission denied named"
	is "$(grep -c 'cannot read' "$T/fnu.err")" 20 "fingerprint: at most 20 unreadable entries named"
	like "$(err fnu)" '\.\.\. and 5 more unreadable entries' "fingerprint: then a count"
	like "$(err fnu)" 'incomplete: 25 entries could not be read' "fingerprint: and the total"
	like "$(out fnu)" 'file 0600 0:0 [0-9]+ !EACCES /app/secret1' "fingerprint: EACCES in the manifest"
	chmod 0700 "$T"
else
	not_ok "setpriv and user nobody are needed for the unreadable-file test"
fi

# bad input: one line on stderr, nothing on stdout
run bad1 "$RV" fingerprint "$T/does-not-exist"
is "$RC" 2 "fingerprint: a missing DIR exits 2"
like "$(err bad1)" "^runtime-verifier fingerprint: cannot open '.*does-not-exist': No such file or directory$" \
	"fingerprint: a missing DIR is named"
is "$(out bad1)" "" "fingerprint: no output for a missing DIR"
run bad2 "$RV" fingerprint "$A/app/data.txt"
is "$RC" 2 "fingerprint: DIR that is a file exits 2"
like "$(err bad2)" "'.*data.txt' is not a directory" "fingerprint: DIR that is a file is named"
is "$(out bad2)" "" "fingerprint: no output for DIR that is a file"
for p in ../x app /app/../etc /app/./x; do
	run bad3 "$RV" fingerprint "$A" --path "$p"
	is "$RC" 64 "fingerprint: --path '$p' is a usage error"
	like "$(err bad3)" "--path '$p' is not an absolute path inside DIR" "fingerprint: --path '$p' is named"
	is "$(out bad3)" "" "fingerprint: no output for --path '$p'"
done
run bad4 "$RV" fingerprint
is "$RC" 64 "fingerprint: no DIR is a usage error"
like "$(err bad4)" "missing DIR" "fingerprint: no DIR is explained"
run bad5 "$RV" fingerprint "$A" --exclude '[abc'
is "$RC" 64 "fingerprint: a malformed --exclude glob is a usage error"
run bad6 "$RV" fingerprint "$A" --threads many
is "$RC" 64 "fingerprint: --threads must be a number"
run bad7 "$RV" fingerprint "$A" "$B"
is "$RC" 64 "fingerprint: a second DIR is a usage error"

# --- diff -----------------------------------------------------------------
run d0 "$RV" diff "$T/a.m" "$T/a.m"
is "$RC" 0 "diff: identical manifests exit 0"
is "$(out d0)" "no changes" "diff: identical manifests say so"

run d1 "$RV" diff "$T/a.m" "$T/b.m" --allow /app/logs
is "$RC" 1 "diff: changes exit 1"
expect() { # expect DESC REGEX: one line of d1's output matches
	if grep -Eq -- "$2" "$T/d1.out"; then ok "diff: $1"; else not_ok "diff: $1"; sed 's/^/# /' "$T/d1.out"; fi
}
expect "file modified (medium)" '^medium modified /app/data.txt \(size 6->8, sha256 [0-9a-f]{8}\.\.->[0-9a-f]{8}\.\.\)$'
expect "file added (medium)" '^medium added /app/new.txt \(file, mode 0644, owner 0:0, size 4, sha256 [0-9a-f]{8}\.\.\)$'
expect "file removed (low)" '^low removed /app/gone.txt \(file, '
expect "chmod (low)" '^low mode /app/mode.txt \(mode 0644->0600\)$'
expect "chown (low)" '^low owner /app/owner.txt \(uid 0->1234, gid 0->1234\)$'
expect "type change" '^medium type /app/shape \(type file->symlink\)$'
expect "added executable is high" '^high added /app/bin/dropper \(file, mode 0755, .*, exec\)$'
expect "added ELF (no x bit) is high" '^high added /app/lib/libx.so \(elf, mode 0644, .*, elf\)$'
check_fails "diff: the allowlisted path is not reported" grep -q '/app/logs' "$T/d1.out"
is "$(tail -n 1 "$T/d1.out")" "8 changes: 2 high, 3 medium, 3 low, 0 info; 1 allowed" "diff: summary line"
is "$(lines d1.out)" 9 "diff: one line per change and the summary"

run d2 "$RV" diff "$T/a.m" "$T/b.m"
like "$(out d2)" '^medium added /app/logs/other.log' "diff: without --allow the log shows"

run dj "$RV" diff "$T/a.m" "$T/b.m" --allow '/app/logs/**' --format json
is "$RC" 1 "diff --format json: changes exit 1"
is "$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
c = {x["path"]: x for x in d["changes"]}
ok = (d["format"] == "rv-diff" and d["identical"] is False and d["complete"] is True
      and d["counts"]["changes"] == len(d["changes"]) == 8
      and d["counts"]["high"] == 2 and d["counts"]["allowed"] == 1
      and c["/app/lib/libx.so"]["severity"] == "high" and c["/app/lib/libx.so"]["elf"] is True
      and c["/app/bin/dropper"]["executable"] is True and c["/app/bin/dropper"]["a"] is None
      and c["/app/gone.txt"]["b"] is None and c["/app/gone.txt"]["kind"] == "removed"
      and c["/app/mode.txt"]["what"] == ["mode"] and c["/app/mode.txt"]["b"]["mode"] == "0600")
print("yes" if ok else "no")' "$T/dj.out")" yes "diff --format json: changes and counts"

# setuid gained, and a changed executable
cp -a "$A" "$T/c"
chmod 4755 "$T/c/app/bin/run"
"$RV" fingerprint "$T/c" >"$T/c.m"
run ds "$RV" diff "$T/a.m" "$T/c.m"
is "$(out ds | head -n 1)" "high mode /app/bin/run (mode 0755->4755, exec, setid)" "diff: setuid gained is high"
printf '#!/bin/sh\nrm -rf /\n' >"$T/c/app/bin/run"
"$RV" fingerprint "$T/c" >"$T/c.m"
run dx "$RV" diff "$T/a.m" "$T/c.m"
like "$(out dx | head -n 1)" '^high modified /app/bin/run \(mode 0755->4755, size 18->19, sha256 .*, exec, setid\)$' \
	"diff: a changed executable is high"

# names that would drive a terminal are escaped in the text output
cp -a "$A" "$T/e"
printf x >"$T/e/app/evil"$'\e]0;pwned\a\n'"high added fake"
"$RV" fingerprint "$T/e" >"$T/e.m"
run de "$RV" diff "$T/a.m" "$T/e.m"
is "$(lines de.out)" 2 "diff: a newline in a name cannot forge an output line"
like "$(out de)" '^medium added /app/evil\\x1b\]0;pwned\\x07\\x0ahigh\\x20added\\x20fake \(' \
	"diff: control bytes in names are escaped"
check_fails "diff: no raw escape byte in the output" grep -q $'\e' "$T/de.out"

# unreadable entries: incomplete, never clean
sed 's|^\(file 0644 0:0 6 \)[0-9a-f]* /app/data.txt$|\1!EACCES /app/data.txt|' "$T/a.m" >"$T/u.m"
run du "$RV" diff "$T/a.m" "$T/u.m"
is "$RC" 1 "diff: an unreadable entry exits 1"
like "$(out du)" '^medium unreadable /app/data.txt \(unreadable in b: EACCES\)$' "diff: the unreadable entry is listed"
like "$(out du | tail -n 1)" 'incomplete: 0 unreadable in A, 1 in B' "diff: the summary says incomplete"
like "$(err du)" 'incomplete' "diff: stderr says incomplete"
run du2 "$RV" diff "$T/u.m" "$T/u.m"
is "$RC" 1 "diff: unreadable on both sides is still not clean"

# mounts: a mount in B hides A's tree there
sed -e '/ \/app\/config\/app.yaml$/d' \
    -e 's|^dir \(0755 0:0 0 - /app/config\)$|mount \1|' "$T/a.m" >"$T/m.m"
run dm "$RV" diff "$T/a.m" "$T/m.m"
is "$RC" 0 "diff: a mount over a directory is not drift"
is "$(out dm)" "no changes; 2 under mounts" "diff: masked entries are counted"

# a real mount (tmpfs, as a ConfigMap would be) in the tree
mkdir -p "$T/mnt/app/config"
echo 'from the image' >"$T/mnt/app/config/app.yaml"
echo 'x' >"$T/mnt/app/main"
"$RV" fingerprint "$T/mnt" >"$T/mnt-image.m"
if mount -t tmpfs -o mode=0755 rv-test "$T/mnt/app/config"; then
	echo 'from the configmap' >"$T/mnt/app/config/app.yaml"
	run rm1 "$RV" fingerprint "$T/mnt"
	is "$RC" 0 "fingerprint: a tree with a mount point is complete"
	like "$(out rm1)" '^mount 0755 0:0 0 - /app/config$' "fingerprint: the mount point is recorded as a mount"
	check_fails "fingerprint: the mount is not descended" grep -q '/app/config/' "$T/rm1.out"
	run rm2 "$RV" fingerprint "$T/mnt" --cross-mounts
	like "$(out rm2)" '^file 0644 0:0 19 [0-9a-f]{64} /app/config/app.yaml$' "fingerprint --cross-mounts: the mount is descended"
	cp "$T/rm1.out" "$T/mnt-pod.m"
	run rm3 "$RV" diff "$T/mnt-image.m" "$T/mnt-pod.m"
	is "$RC" 0 "diff: the mounted directory is not drift"
	is "$(out rm3)" "no changes; 2 under mounts" "diff: what the mount hides is counted"
	umount "$T/mnt/app/config"
else
	not_ok "mount a tmpfs for the mount test (needs root)"
fi

# malformed input names the file and the line
{ head -n 3 "$T/a.m"; echo "file 0644 0:0 3 nothex /app/zzz"; } >"$T/bad.m"
run dbad "$RV" diff "$T/a.m" "$T/bad.m"
is "$RC" 2 "diff: a malformed manifest exits 2"
like "$(err dbad)" "^runtime-verifier diff: '.*bad.m': line 4" "diff: the error names the file and the line"
is "$(lines dbad.err)" 1 "diff: the error is one line"
is "$(out dbad)" "" "diff: no output on error"
echo "just some text" >"$T/text"
run dtxt "$RV" diff "$T/text" "$T/a.m"
is "$RC" 2 "diff: a file that is neither manifest nor log exits 2"
like "$(err dtxt)" "'.*text' is neither a manifest" "diff: and says so"
run dmiss "$RV" diff "$T/a.m" "$T/nope.m"
is "$RC" 2 "diff: a missing file exits 2"
like "$(err dmiss)" "cannot open '.*nope.m'" "diff: the missing file is named"

# standard input, probe logs
run dstdin "$RV" diff - "$T/b.m" --allow /app/logs <"$T/a.m"
same_file "$T/dstdin.out" "$T/d1.out" "diff: A from standard input"
mkframe <"$T/b.m" >"$T/b.log"
run dlog "$RV" diff "$T/a.m" "$T/b.log" --allow /app/logs
same_file "$T/dlog.out" "$T/d1.out" "diff: B as a probe log gives the same diff"

run du1 "$RV" diff "$T/a.m"
is "$RC" 64 "diff: one argument is a usage error"
run du3 "$RV" diff "$T/a.m" "$T/b.m" "$T/c.m"
is "$RC" 64 "diff: three arguments are a usage error"
run du4 "$RV" diff - - 
is "$RC" 64 "diff: both from standard input is a usage error"
run du5 "$RV" diff "$T/a.m" "$T/b.m" --format xml
is "$RC" 64 "diff: an unknown format is a usage error"

# --- decode ---------------------------------------------------------------
run dc "$RV" decode "$T/b.log"
is "$RC" 0 "decode: exit 0"
same_file "$T/dc.out" "$T/b.m" "decode: the log decodes to the manifest"
run dc2 "$RV" decode --format sha256sum <"$T/b.log"
gnu "$B" >"$T/gnu-b"
same_file "$T/dc2.out" "$T/gnu-b" "decode - --format sha256sum equals the GNU pipeline on the tree"
run dc3 "$RV" decode "$T/b.log" --format json
"$RV" fingerprint "$B" --format json >"$T/b.json"
same_file "$T/dc3.out" "$T/b.json" "decode --format json equals fingerprint --format json"

mksummary <"$T/b.json" >"$T/b.summary"
run dcs "$RV" decode "$T/b.log" --summary "$T/b.summary"
is "$RC" 0 "decode --summary: a matching summary passes"
same_file "$T/dcs.out" "$T/b.m" "decode --summary: output written"
mksummary <"$T/fj.out" >"$T/a.summary"
run dcs2 "$RV" decode "$T/b.log" --summary "$T/a.summary"
is "$RC" 2 "decode --summary: a different root hash exits 2"
like "$(err dcs2)" 'root hash mismatch' "decode --summary: the mismatch is named"
is "$(out dcs2)" "" "decode --summary: no output on mismatch"
echo "rv-probe 1 error=cannot open /proc/1/root: Permission denied" >"$T/err.summary"
run dcs3 "$RV" decode "$T/b.log" --summary "$T/err.summary"
is "$RC" 2 "decode --summary: a probe error summary exits 2"
like "$(err dcs3)" 'probe failed' "decode --summary: the probe's error is shown"

head -c 400 "$T/b.log" >"$T/trunc.log"
run dct "$RV" decode "$T/trunc.log"
is "$RC" 2 "decode: a truncated log exits 2"
is "$(out dct)" "" "decode: no partial output"
is "$(lines dct.err)" 1 "decode: one line of error"
like "$(err dct)" "^runtime-verifier decode: '.*trunc.log': frame truncated" "decode: the error names the log"
awk '/^p 2 /{ c = substr($3, 1, 1); $3 = (c == "A" ? "B" : "A") substr($3, 2) } { print }' "$T/b.log" >"$T/corrupt.log"
run dcc "$RV" decode "$T/corrupt.log"
is "$RC" 2 "decode: a corrupted log exits 2"
is "$(out dcc)" "" "decode: no output for a corrupted log"
grep -v '^p 3 ' "$T/b.log" >"$T/gap.log"
run dcg "$RV" decode "$T/gap.log"
is "$RC" 2 "decode: a missing line exits 2"
run dcn "$RV" decode "$T/text"
is "$RC" 2 "decode: a log without a frame exits 2"

mkframe <"$T/fu.out" >"$T/u.log"
run dcu "$RV" decode "$T/u.log"
is "$RC" 1 "decode: a manifest with unreadable entries exits 1"
like "$(err dcu)" "incomplete: 1 entry could not be read" "decode: and says incomplete"
run dcx "$RV" decode "$T/b.log" "$T/b.log"
is "$RC" 64 "decode: two logs are a usage error"

# --- --help and usage errors ---------------------------------------------
for c in "fingerprint --path --exclude --cross-mounts --threads --format --help" \
	 "diff --allow --format --help" \
	 "decode --summary --format --help"; do
	set -- $c
	name=$1
	shift
	run help "$RV" "$name" --help
	is "$RC" 0 "$name --help exits 0"
	like "$(out help)" "^usage: runtime-verifier $name" "$name --help prints the usage"
	missing=
	for o in "$@"; do grep -q -- "$o" "$T/help.out" || missing="$missing $o"; done
	is "$missing" "" "$name --help lists every option"
	run uerr "$RV" "$name" --no-such-option
	is "$RC" 64 "$name: an unknown option exits 64"
	is "$(err uerr)" "runtime-verifier $name: unknown option '--no-such-option'
Try 'runtime-verifier $name --help'." "$name: one line and a pointer to --help"
	is "$(out uerr)" "" "$name: nothing on stdout for a usage error"
	run uval "$RV" "$name" --format
	is "$RC" 64 "$name: an option without its value exits 64"
	like "$(err uval)" "option '--format' needs a value" "$name: the option is named"
done

done_testing
