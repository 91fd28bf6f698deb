#!/bin/bash
# probe_cli.sh - rv-probe on the host, against temp trees given with --root:
# the command line, exit codes, the summary line, the frame on stdout
# (decoded twice: by `runtime-verifier decode`, and independently with
# base64, sha256sum and Python's zlib from docs/probe.md), failures,
# what the probe opens and writes, and that it is static and not dumpable.
# The same probe inside real containers is tests/scenario/probe_runc.sh.
# Needs root (chown, setpriv), strace, python3.
set -u
here=$(dirname "$0")
source "$here/../lib/tap.sh"
source "$here/../lib/trees.sh"

t=$(mktemp -d /tmp/rv-probe-cli.XXXXXX)
holder=
cleanup() {
	[ -n "$holder" ] && kill "$holder" 2>/dev/null
	rm -rf "$t"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
chmod 0755 "$t"
mkdir "$t/bin" "$t/out"
chmod 0777 "$t/out"
O=$t/out

check "rv-probe is built" [ -x "$RV_PROBE" ]
cp "$RV_PROBE" "$t/bin/rv-probe" && chmod 0755 "$t/bin/rv-probe"
P=$t/bin/rv-probe

# --- static --------------------------------------------------------------------
is "$(ldd "$P" 2>&1 | sed 's/^[[:space:]]*//')" "not a dynamic executable" \
	"ldd: rv-probe is not a dynamic executable"
check_fails "rv-probe has no program interpreter" bash -c 'readelf -lW "$1" | grep -q INTERP' _ "$P"

# probe NAME [nobody|root] ARGS...: run rv-probe, stdout in $O/NAME.out,
# stderr in $O/NAME.err, status in $O/NAME.rc. The termination log is
# $O/NAME.log unless ARGS name one.
probe() {
	local name=$1 who=$2
	shift 2
	rm -f "$O/$name.log"
	if [ "$who" = nobody ]; then
		: >"$O/$name.log"
		chown 65534:65534 "$O/$name.log"
		rv_as_nobody "$P" --termination-log "$O/$name.log" "$@" \
			>"$O/$name.out" 2>"$O/$name.err"
	else
		"$P" --termination-log "$O/$name.log" "$@" >"$O/$name.out" 2>"$O/$name.err"
	fi
	echo $? >"$O/$name.rc"
	sed 's/^/# stderr: /' "$O/$name.err" | head -3
}
rc_of() { cat "$O/$1.rc"; }
sum_of() { cat "$O/$1.log" 2>/dev/null; }
field() { sum_of "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# frame_decode NAME: decode $O/NAME.out by the documented format with
# standard tools only, into $O/NAME.fman; prints what failed.
frame_decode() {
	local f=$O/$1.out d=$O/$1.fd head end n zlen raw root sha
	mkdir -p "$d"
	head=$(grep -n '^rv-frame ' "$f" | head -1)
	end=$(grep -n '^rv-frame ' "$f" | sed -n 2p)
	[ "$(grep -c '^rv-frame ' "$f")" = 2 ] || { echo "not exactly 2 rv-frame lines"; return 1; }
	[[ $head =~ ^([0-9]+):rv-frame\ 1\ begin\ entries=[0-9]+\ errors=[0-9]+\ raw=([0-9]+)\ zlen=([0-9]+)\ lines=([0-9]+)\ root=([0-9a-f]{64})$ ]] ||
		{ echo "bad begin line: $head"; return 1; }
	local hl=${BASH_REMATCH[1]}
	raw=${BASH_REMATCH[2]} zlen=${BASH_REMATCH[3]} n=${BASH_REMATCH[4]} root=${BASH_REMATCH[5]}
	[[ $end =~ ^([0-9]+):rv-frame\ 1\ end\ sha256=([0-9a-f]{64})\ lines=([0-9]+)$ ]] ||
		{ echo "bad end line: $end"; return 1; }
	local el=${BASH_REMATCH[1]}
	sha=${BASH_REMATCH[2]}
	[ "${BASH_REMATCH[3]}" = "$n" ] || { echo "end lines != begin lines"; return 1; }
	[ $((el - hl - 1)) = "$n" ] || { echo "$((el - hl - 1)) payload lines, header says $n"; return 1; }
	[ "$n" = $(((zlen + 47) / 48)) ] || { echo "lines != ceil(zlen/48)"; return 1; }
	sed -n "$((hl + 1)),$((el - 1))p" "$f" >"$d/lines"
	awk -v n="$n" '$1 != "p" || $2 != NR || NF != 3 || length($0) > 80 ||
		(NR < n && length($3) != 64) { bad = 1; exit } END { exit bad }' "$d/lines" ||
		{ echo "payload lines malformed or out of sequence"; return 1; }
	cut -d' ' -f3 "$d/lines" | base64 -d >"$d/z" 2>/dev/null || { echo "bad base64"; return 1; }
	[ "$(stat -c %s "$d/z")" = "$zlen" ] || { echo "payload is not zlen bytes"; return 1; }
	[ "$(sha256sum <"$d/z" | cut -d' ' -f1)" = "$sha" ] || { echo "payload sha256 mismatch"; return 1; }
	"$RV_PY" -c 'import sys, zlib; sys.stdout.buffer.write(zlib.decompress(sys.stdin.buffer.read()))' \
		<"$d/z" >"$O/$1.fman" || { echo "not zlib"; return 1; }
	[ "$(stat -c %s "$O/$1.fman")" = "$raw" ] || { echo "inflated size != raw"; return 1; }
	[ "$(sha256sum <"$O/$1.fman" | cut -d' ' -f1)" = "$root" ] || { echo "root mismatch"; return 1; }
	return 0
}

# rv_decode NAME: runtime-verifier decode of $O/NAME.out with its summary
rv_decode() {
	"$RV" decode "$O/$1.out" --summary "$O/$1.log" >"$O/$1.dman" 2>"$O/$1.derr"
}

# --- usage --------------------------------------------------------------------
"$P" --help >"$O/help.out" 2>"$O/help.err"
is "$?" 0 "--help: exit 0"
like "$(head -1 "$O/help.out")" '^usage: rv-probe ' "--help: usage on stdout"
check "--help: nothing on stderr" [ ! -s "$O/help.err" ]

usage_case() {
	local desc=$1 want=$2
	shift 2
	rm -f "$O/u.log"
	"$P" "$@" >"$O/u.out" 2>"$O/u.err"
	local rc=$?
	# the termination log says what stderr says (the kubelet shows it)
	if [ "$rc" = 64 ] && [ ! -s "$O/u.out" ] &&
	   [ "$(cat "$O/u.log" 2>/dev/null)" = "rv-probe 1 error=$(head -1 "$O/u.err" | sed 's/^rv-probe: //')" ] &&
	   [ "$(wc -l <"$O/u.err")" = 2 ] &&
	   head -1 "$O/u.err" | grep -qF -- "rv-probe: $want" &&
	   [ "$(tail -1 "$O/u.err")" = "Try 'rv-probe --help'." ]; then
		ok "usage error, exit 64: $desc"
	else
		not_ok "usage error, exit 64: $desc (exit $rc)"
		sed 's/^/# stderr: /' "$O/u.err"
	fi
}
mkdir -p "$t/tiny/app"
TL="--termination-log $O/u.log"
# shellcheck disable=SC2086
{
usage_case "unknown option" "unknown option '--bogus'" --root "$t/tiny" $TL --bogus
usage_case "option without its value" "option '--path' needs a value" --root "$t/tiny" $TL --path
usage_case "relative --path" "--path: path 'app' is not absolute" --root "$t/tiny" $TL --path app
usage_case "--path with '..'" "--path: path '/app/../etc'" --root "$t/tiny" $TL --path /app/../etc
usage_case "--path with a trailing slash" "--path: path '/app/' ends in '/'" --root "$t/tiny" $TL --path /app/
usage_case "--threads not a number" "--threads 'x' is not a number" --root "$t/tiny" $TL --threads x
usage_case "--threads too big" "--threads '100000'" --root "$t/tiny" $TL --threads 100000
usage_case "--threads with a sign" "--threads '-1'" --root "$t/tiny" $TL --threads=-1
usage_case "a bad --exclude glob" "--exclude: glob '[abc' " --root "$t/tiny" $TL --exclude '[abc'
usage_case "a stray argument" "unexpected argument 'extra'" --root "$t/tiny" $TL extra
usage_case "--root twice" "--root given twice" --root "$t/tiny" --root "$t/tiny" $TL
usage_case "--root empty" "--root is empty" --root= $TL
usage_case "--packages-max without --packages" "--packages-max needs --packages" --root "$t/tiny" $TL --packages-max 10
usage_case "--packages-max not a number" "--packages-max '1k' is not a number" --root "$t/tiny" $TL --packages --packages-max 1k
usage_case "--packages-max 0" "--packages-max '0' is not a number" --root "$t/tiny" $TL --packages --packages-max=0
usage_case "--packages-max twice" "--packages-max given twice" --root "$t/tiny" $TL --packages --packages-max 1 --packages-max 2
usage_case "--packages-max over what a frame can carry" \
	"--packages-max '268435457' is not a number of bytes from 1 to 268435456 (what a frame can carry)" \
	--root "$t/tiny" $TL --packages --packages-max 268435457
usage_case "an error before --termination-log" "unknown option '--bogus'" --bogus --root "$t/tiny" $TL
}
# an option's value is never taken for --termination-log
rm -f "$O/u.log" "$O/tl-value"
"$P" --path --termination-log "$O/tl-value" >/dev/null 2>&1
is "$?" 64 "--path '--termination-log': exit 64"
check "…and no termination log is written at the value after it" [ ! -e "$O/tl-value" ]
# without --termination-log the default is written only if it exists
if [ ! -e /dev/termination-log ]; then
	"$P" --bogus >/dev/null 2>&1
	check "a usage error does not create /dev/termination-log" [ ! -e /dev/termination-log ]
fi

# --- a complete walk of an awkward tree ------------------------------------------
R=$t/root
rv_tree_odd "$R/app" >/dev/null 2>&1
check "the odd tree was built" [ -f "$R/app/names/big.bin" ]
mkdir -p "$R/etc" "$R/srv"
echo 'the target root only' >"$R/etc/only-here"
echo other >"$R/srv/x"
probe odd root --root "$R" --path /app --threads 2
is "$(rc_of odd)" 0 "odd tree: exit 0"
check "odd tree: nothing on stderr" [ ! -s "$O/odd.err" ]
like "$(sum_of odd)" '^rv-probe 1 root=[0-9a-f]{64} entries=[0-9]+ files=[0-9]+ dirs=[0-9]+ symlinks=[0-9]+ others=[0-9]+ mounts=0 errors=0 bytes=[0-9]+ status=complete$' \
	"odd tree: the summary line has every field, status=complete"
is "$(wc -l <"$O/odd.log")" 1 "odd tree: the summary is one line ending in a newline"
check "odd tree: the summary fits a termination message" [ "$(wc -c <"$O/odd.log")" -le 4096 ]
msg=$(frame_decode odd)
is "$?" 0 "odd tree: the frame decodes by the documented format with standard tools${msg:+ ($msg)}"
rv_ref_manifest "$R" --path /app >"$O/odd.ref"
same_file "$O/odd.fman" "$O/odd.ref" "odd tree: the probe's manifest = the independent reference manifest"
is "$(field odd root)" "$(sha256sum <"$O/odd.ref" | cut -d' ' -f1)" \
	"odd tree: summary root= is the sha256 of the reference manifest"
is "$(field odd entries)" "$(($(wc -l <"$O/odd.ref") - 1))" "odd tree: summary entries= counts the manifest's lines"
is "$(field odd files)" "$(grep -cE '^(file|elf) ' "$O/odd.ref")" "odd tree: files= counts file and elf entries"
is "$(field odd dirs)" "$(grep -c '^dir ' "$O/odd.ref")" "odd tree: dirs= counts dir entries"
is "$(field odd symlinks)" "$(grep -c '^symlink ' "$O/odd.ref")" "odd tree: symlinks= counts symlink entries"
is "$(field odd others)" "$(grep -cE '^(fifo|socket|chardev|blockdev|unknown) ' "$O/odd.ref")" \
	"odd tree: others= counts fifos, sockets and devices"
is "$(field odd bytes)" "$(awk '$1 == "file" || $1 == "elf" { s += $4 } END { print s + 0 }' "$O/odd.ref")" \
	"odd tree: bytes= is the sum of file sizes"
like "$(head -1 "$O/odd.out")" "root=$(field odd root)\$" "odd tree: frame header root= equals the summary's"
check "odd tree: every payload line is at most 80 bytes" \
	awk '/^p / && length($0) > 80 { exit 1 }' "$O/odd.out"
grep -q '/etc/only-here' "$O/odd.fman"
is "$?" 1 "odd tree: only --path /app is walked"
grep -E '^symlink .* /app/links/abs$' "$O/odd.fman" | grep -q "$(printf /etc/passwd | sha256sum | cut -d' ' -f1)"
is "$?" 0 "odd tree: an absolute symlink is recorded, not followed"
rv_decode odd
is "$?" 0 "odd tree: runtime-verifier decode accepts the frame and the summary"
sed 's/^/# decode: /' "$O/odd.derr" | head -3
same_file "$O/odd.dman" "$O/odd.ref" "odd tree: runtime-verifier decode gives the reference manifest"

# A payload line removed: both decoders refuse.
awk '!/^p 3 /' "$O/odd.out" >"$O/cut.out"
cp "$O/odd.log" "$O/cut.log"
msg=$(frame_decode cut)
is "$?" 1 "a frame with a line removed fails the documented checks ($msg)"
rv_decode cut
check "runtime-verifier decode refuses a frame with a line removed" [ $? -ne 0 ]
like "$(cat "$O/cut.derr")" 'frame line 4 out of order \(expected 3\)' \
	"and names the missing line"

# --- defaults, several paths, excludes -------------------------------------------
mkdir -p "$t/def/app/sub" "$t/def/opt"
echo a >"$t/def/app/a"
echo b >"$t/def/app/sub/b"
echo c >"$t/def/opt/c"
probe def root --root "$t/def"
probe defp root --root "$t/def" --path /app
is "$(rc_of def)" 0 "no --path: exit 0"
same_file "$O/def.out" "$O/defp.out" "no --path walks /app"
is "$(field def entries)" 4 "no --path: /app, a, sub, sub/b"
probe two root --root "$t/def" --path /opt --path /app
is "$(field two entries)" 6 "two --path options: both walked"
probe excl root --root "$t/def" --path /app --exclude '/app/sub'
is "$(field excl entries)" 2 "--exclude /app/sub leaves out the directory and what is below"
probe gone root --root "$t/def" --path /app --path /nonexistent
is "$(rc_of gone)" 1 "a --path that does not exist: exit 1"
like "$(sum_of gone)" 'errors=1 .*status=incomplete$' "a --path that does not exist: errors=1 status=incomplete"
frame_decode gone >/dev/null
grep -qxF 'unknown 0000 0:0 0 !ENOENT /nonexistent' "$O/gone.fman"
is "$?" 0 "a --path that does not exist is an unknown !ENOENT entry"

# --- unreadable entries (uid 65534) ------------------------------------------------
L=$t/locked
mkdir -p "$L"
chmod 0755 "$L"
rv_tree_locked "$L/app"
probe locked nobody --root "$L" --path /app
is "$(rc_of locked)" 1 "unreadable entries as uid 65534: exit 1"
check "unreadable entries: nothing on stderr" [ ! -s "$O/locked.err" ]
like "$(sum_of locked)" ' errors=4 bytes=[0-9]+ status=incomplete$' \
	"unreadable entries: errors=4 status=incomplete"
frame_decode locked >/dev/null
rv_as_nobody bash -c "$(declare -f rv_ref_manifest); RV_PY=$RV_PY; rv_ref_manifest \"\$@\"" \
	_ "$L" --path /app >"$O/locked.ref"
same_file "$O/locked.fman" "$O/locked.ref" "unreadable entries: the manifest = the reference run as uid 65534"
grep -qxF "file 0600 0:0 7 !EACCES /app/secret" "$O/locked.fman"
is "$?" 0 "the 0600 root file is file ... !EACCES"

# --- fatal errors -----------------------------------------------------------------
probe noroot root --root "$t/does-not-exist" --path /app
is "$(rc_of noroot)" 2 "missing --root: exit 2"
like "$(cat "$O/noroot.err")" "^rv-probe: cannot open root '$t/does-not-exist': No such file or directory" \
	"missing --root: stderr names the directory"
like "$(sum_of noroot)" "^rv-probe 1 error=cannot open root '$t/does-not-exist': No such file or directory\$" \
	"missing --root: the termination log says error=..."
check "missing --root: nothing on stdout" [ ! -s "$O/noroot.out" ]

probe fileroot root --root "$t/def/app/a" --path /app
is "$(rc_of fileroot)" 2 "--root that is a file: exit 2"
like "$(cat "$O/fileroot.err")" "'$t/def/app/a'" "--root that is a file: named in the message"

mkdir -p "$t/closed/inner/app"
chmod 0700 "$t/closed"
probe denied nobody --root "$t/closed/inner" --path /app
is "$(rc_of denied)" 2 "--root the probe may not enter: exit 2"
like "$(sum_of denied)" "error=cannot open root .*Permission denied.*uid, gid and capabilities" \
	"--root the probe may not enter: the termination log explains the kernel rule"

# The termination log cannot be written: the frame still goes out.
"$P" --root "$t/def" --path /app --termination-log "$t/no/such/dir/log" >"$O/nolog.out" 2>"$O/nolog.err"
is "$?" 2 "unwritable termination log: exit 2"
like "$(cat "$O/nolog.err")" "^rv-probe: cannot write termination log '$t/no/such/dir/log': No such file or directory\$" \
	"unwritable termination log: stderr says so"
same_file "$O/nolog.out" "$O/defp.out" "unwritable termination log: the frame is still written"

# stdout closed, or a reader that goes away.
"$P" --root "$t/def" --path /app --termination-log "$O/closed.log" >&- 2>"$O/closed.err"
is "$?" 2 "closed stdout: exit 2"
like "$(sum_of closed)" '^rv-probe 1 error=stdout is closed$' "closed stdout: the termination log says so"
mkdir -p "$t/many/app"
(cd "$t/many/app" && for i in $(seq 3000); do echo "$i" >"f$i"; done)
"$P" --root "$t/many" --path /app --termination-log "$O/pipe.log" 2>"$O/pipe.err" | head -c 100 >/dev/null
is "${PIPESTATUS[0]}" 2 "stdout reader goes away: exit 2"
like "$(sum_of pipe)" '^rv-probe 1 error=cannot write the frame to stdout: Broken pipe$' \
	"stdout reader goes away: the termination log says so"

# --- a big frame: short writes through a slow pipe --------------------------------
probe many root --root "$t/many" --path /app
"$P" --root "$t/many" --path /app --termination-log "$O/slow.log" 2>"$O/slow.err" |
	(sleep 1; cat) >"$O/slow.out"
is "${PIPESTATUS[0]}" 0 "a frame bigger than a pipe buffer: exit 0"
same_file "$O/slow.out" "$O/many.out" "a frame written through a slow pipe arrives whole"
check "the big frame is many lines" [ "$(wc -l <"$O/many.out")" -gt 500 ]
frame_decode many >/dev/null
is "$?" 0 "the big frame decodes with standard tools"

# --- a hostile package tree cannot take the file verdict -----------------------------
# 40,000 unsearchable directories with 255-byte random names: their fail
# records alone do not fit the dbs frame's log budget (6 MiB) even without
# contents. The manifest frame and its verdict stand; the package set is
# the one record "fail / package search abandoned: WHY".
mkdir -p "$t/hostile/app" "$t/hostile/h"
printf 'app\n' >"$t/hostile/app/main.txt"
python3 - "$t/hostile/h" <<'PY'
import os, random, string, sys
r = random.Random(7)
for i in range(40000):
    os.mkdir(os.path.join(sys.argv[1], "%05d" % i + "".join(r.choice(string.ascii_letters + string.digits) for _ in range(250))), 0o700)
PY
chmod -R a+rX "$t/hostile/app"
chmod 0755 "$t/hostile" "$t/hostile/h"
probe hostile nobody --root "$t/hostile" --path /app --packages
is "$(rc_of hostile)" 0 "hostile package tree: exit 0 (the manifest of /app is complete)"
is "$(field hostile status)" complete "…status=complete"
"$RV" decode "$O/hostile.out" --summary "$O/hostile.log" >"$O/hostile.man" 2>"$O/hostile.derr"
is "$?" 0 "…the manifest frame decodes and matches the summary's root"
check "…with /app/main.txt" grep -q ' /app/main.txt$' "$O/hostile.man"
"$RV" decode --packages "$O/hostile.out" --summary "$O/hostile.log" --format dbset \
	>"$O/hostile.dbset" 2>/dev/null
like "$(cat "$O/hostile.dbset")" \
	"^rv-dbset 1 files=1 failed=1 bytes=0
fail / package search abandoned: the package database set does not fit the log budget of [0-9]+ bytes even without contents \\(40000 records\\)\$" \
	"…the dbs frame holds one record: package search abandoned, and why"
is "$(field hostile dbfiles) $(field hostile dbfailed)" "1 1" "…the summary's dbfiles=1 dbfailed=1"
check "…and the frames fit the log" [ "$(wc -c <"$O/hostile.out")" -lt $((9 << 20)) ]

# --- what the probe opens and writes ----------------------------------------------
strace -f -qq -e trace=open,openat,openat2,creat,execve -o "$O/strace" \
	"$P" --root "$t/def" --path /app --termination-log "$O/st.log" >/dev/null 2>&1
is "$?" 0 "under strace: exit 0"
writes=$(grep -E 'O_WRONLY|O_RDWR|O_CREAT|creat\(' "$O/strace" | grep -vF "\"$O/st.log\"")
is "$writes" "" "the probe opens nothing for writing but the termination log"
outside=$(grep -oE '(open|openat|openat2)\((AT_FDCWD, )?"[^"]*"' "$O/strace" |
	sed 's/.*"\(.*\)"/\1/' | grep -vxF -e "$t/def" -e "$O/st.log" -e /sys/devices/system/cpu/online)
is "$outside" "" "the probe opens no file by absolute path but --root, the termination log and the CPU count (no config)"
check "strace saw the root opened" grep -qF "\"$t/def\"" "$O/strace"

# --- not dumpable: a same-uid process cannot ptrace it or read its memory ------------
# The control: a dumpable process of the same uid is open to it.
setpriv --reuid=65534 --regid=65534 --clear-groups -- sleep 30 &
spid=$!
sleep 0.2
is "$(stat -c %u /proc/$spid/mem 2>/dev/null)" 65534 "control: a dumpable uid-65534 process owns its /proc/PID/mem"
rv_as_nobody cat /proc/$spid/environ >/dev/null 2>&1
is "$?" 0 "control: uid 65534 reads a dumpable uid-65534 process's /proc/PID/environ"
kill "$spid"
wait "$spid" 2>/dev/null
mkfifo "$t/hold"
setpriv --reuid=65534 --regid=65534 --clear-groups -- "$P" --root "$t/many" --path /app --termination-log /dev/null >"$t/hold" 2>/dev/null &
ppid=$!
holder=$ppid
exec 9<"$t/hold"
for _ in $(seq 100); do
	[ "$(awk '/^State:/ {print $2}' /proc/$ppid/status 2>/dev/null)" = S ] && break
	sleep 0.1
done
is "$(awk '/^Uid:/ {print $2}' /proc/$ppid/status 2>/dev/null)" 65534 "a blocked rv-probe runs as uid 65534"
is "$(stat -c %u /proc/$ppid/mem 2>/dev/null)" 0 \
	"rv-probe is not dumpable: its /proc/PID/mem belongs to root, not to its uid"
rv_as_nobody cat /proc/$ppid/environ >/dev/null 2>&1
is "$?" 1 "a process with the probe's uid cannot read the probe's /proc/PID/environ"
cat <&9 >/dev/null
exec 9<&-
wait "$ppid"
is "$?" 0 "the blocked rv-probe finishes once read"
holder=

done_testing
