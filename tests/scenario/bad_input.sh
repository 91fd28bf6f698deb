#!/bin/bash
# bad_input.sh - every kind of bad input gives a one-line error naming the
# thing, a non-zero exit and an empty stdout: never a partial output that
# looks complete.
#
# Covered: a missing root, a root that is a file, a --path outside the root
# (fingerprint and rv-probe), malformed manifest lines and an unknown
# manifest version (diff), and truncated, reordered, corrupted,
# wrong-version and missing frames in a probe log (decode).
set -u
here=$(dirname "$0")
source "$here/../lib/tap.sh"

# same A B DESC: same_file, and A must not be empty (two empty outputs of
# a broken run are not a pass).
same() {
	if [ ! -s "$1" ]; then
		not_ok "$3"
		echo "# $1 is empty"
	else
		same_file "$@"
	fi
}

t=$(mktemp -d /tmp/rv-bad.XXXXXX)
trap 'rm -rf "$t"' EXIT
trap 'exit 1' INT TERM

# The file name for a check's output.
key() { printf '%s' "$1" | tr -c 'A-Za-z0-9' '_'; }

# bad NAME WANT-EXIT NEEDLE CMD...: CMD must exit WANT-EXIT ("nz": any
# non-zero; "2|64": either), print nothing on stdout, and one line on
# stderr (plus, for usage errors, one pointer to --help) that contains
# NEEDLE (a fixed string: the thing it is about).
bad() {
	local name=$1 want=$2 needle=$3 rc lines first k
	shift 3
	k=$(key "$name")
	"$@" >"$t/$k.out" 2>"$t/$k.err" </dev/null
	rc=$?
	lines=$(grep -vc -- '--help' "$t/$k.err")
	first=$(head -n1 "$t/$k.err")
	case "$want" in
	nz) [ "$rc" -ne 0 ] ;;
	*) [[ "|$want|" == *"|$rc|"* ]] ;;
	esac
	if [ $? -eq 0 ] && [ ! -s "$t/$k.out" ] && [ "$lines" -eq 1 ] &&
	   grep -qF -- "$needle" "$t/$k.err"; then
		ok "$name: exit $rc, one line naming '$needle'"
		echo "#   $first"
	else
		not_ok "$name: want exit $want, empty stdout, one line naming '$needle'"
		echo "#   got exit $rc, $(wc -c <"$t/$k.out") bytes on stdout, $lines lines on stderr:"
		head -n3 "$t/$k.err" | sed 's/^/#   stderr: /'
	fi
}

mkdir -p "$t/tree/app/sub"
echo hello >"$t/tree/app/hello"
echo world >"$t/tree/app/sub/world"
echo notadir >"$t/afile"

# --- fingerprint -----------------------------------------------------------------
bad "fingerprint: missing root" 2 "$t/missing" "$RV" fingerprint "$t/missing"
bad "fingerprint: root is a file" 2 "$t/afile" "$RV" fingerprint "$t/afile"
bad "fingerprint: root is a file (sha256sum view)" 2 "$t/afile" \
	"$RV" fingerprint "$t/afile" --format sha256sum
bad "fingerprint: --path with '..' escaping the root" "2|64" "/../etc" \
	"$RV" fingerprint "$t/tree" --path /../etc
bad "fingerprint: --path /app/../../etc" "2|64" "/app/../../etc" \
	"$RV" fingerprint "$t/tree" --path /app/../../etc
bad "fingerprint: relative --path" "2|64" "app/sub" "$RV" fingerprint "$t/tree" --path app/sub
bad "fingerprint: unknown --format" 64 "yaml" "$RV" fingerprint "$t/tree" --format yaml
bad "fingerprint: malformed --exclude glob" "2|64" "[abc" "$RV" fingerprint "$t/tree" --exclude '[abc'
bad "fingerprint: unknown option" 64 "--bogus" "$RV" fingerprint "$t/tree" --bogus
bad "fingerprint: no DIR" 64 "fingerprint" "$RV" fingerprint

# --- rv-probe ------------------------------------------------------------------------
: >"$t/term1"; : >"$t/term3"
bad "rv-probe: missing root" 2 "$t/missing" \
	"$RV_PROBE" --root "$t/missing" --path /app --termination-log "$t/term1"
check_fails "rv-probe: missing root: the termination log does not say complete" \
	grep -q 'status=complete' "$t/term1"
bad "rv-probe: root is a file" 2 "$t/afile" \
	"$RV_PROBE" --root "$t/afile" --path /app --termination-log "$t/term2"
bad "rv-probe: --path outside the root" "2|64" "/../../etc" \
	"$RV_PROBE" --root "$t/tree" --path /../../etc --termination-log "$t/term3"
check_fails "rv-probe: --path outside the root: the termination log does not say complete" \
	grep -q 'status=complete' "$t/term3"
bad "rv-probe: unknown option" 64 "--bogus" "$RV_PROBE" --root "$t/tree" --bogus --termination-log "$t/term4"
"$RV_PROBE" --root "$t/tree" --path /no/such --termination-log "$t/term5" >"$t/nosuch.out" 2>/dev/null
is "$?" 1 "rv-probe: a --path that does not exist: exit 1 (incomplete)"
like "$(cat "$t/term5")" 'errors=1 .*status=incomplete$' \
	"rv-probe: a --path that does not exist: the summary says incomplete"

# --- diff: malformed manifests ------------------------------------------------------
"$RV" fingerprint "$t/tree" --path /app >"$t/good.man"
check "fingerprint of the small tree works" grep -q '^file .* /app/hello$' "$t/good.man"
cp "$t/good.man" "$t/good2.man"
"$RV" diff "$t/good.man" "$t/good2.man" >"$t/same.out" 2>&1
is "$?" 0 "diff of two equal manifests exits 0"

# broken NAME NEEDLE SED-SCRIPT: a copy of good.man edited by sed; diff
# against it must fail naming the file (and NEEDLE, e.g. the line).
broken() {
	local name=$1 needle=$2
	sed "$3" "$t/good.man" >"$t/$name.man"
	if cmp -s "$t/$name.man" "$t/good.man"; then
		not_ok "diff: $name: the sed script changed nothing"
		return
	fi
	bad "diff: $name" 2 "$t/$name.man" "$RV" diff "$t/good.man" "$t/$name.man"
	if grep -qF -- "$needle" "$t/$(key "diff: $name").err"; then
		ok "diff: $name: the error says '$needle'"
	else
		not_ok "diff: $name: the error says '$needle'"
		head -n1 "$t/$(key "diff: $name").err" | sed 's/^/#   /'
	fi
}
broken "unknown version" "version" '1s/^rv-manifest 1$/rv-manifest 2/'
broken "bad header" "manifest" '1s/^.*$/rv-manifest/'
broken "missing field" "line 3" '3s/ [^ ]* / /'
broken "three-digit mode" "line 3" '3s/^\([a-z]*\) 0\([0-7][0-7][0-7]\) /\1 \2 /'
broken "upper-case digest" "line 3" '3s/ \([0-9a-f]\{64\}\) / \U\1 /'
broken "unknown type" "line 3" '3s/^[a-z]* /thing /'
broken "space in a path" "line 3" '3s/\(\/[^ ]*\)$/\1 x/'
broken "unsorted lines" "line 3" '2{h;d};3{G}'
broken "duplicate line" "line 4" '3p'
broken "leading zero in size" "line 3" '3s/^\([a-z]* [0-7]* [0-9:]*\) \([0-9]*\) /\1 0\2 /'
broken "relative path" "line 3" '3s/ \/app/ app/'
broken "empty file" "manifest" 'd'
printf '%s' "$(cat "$t/good.man")" >"$t/nonl.man"
bad "diff: no final newline" 2 "$t/nonl.man" "$RV" diff "$t/good.man" "$t/nonl.man"
bad "diff: missing manifest" 2 "$t/nope.man" "$RV" diff "$t/good.man" "$t/nope.man"
bad "diff: a directory as manifest" 2 "$t/tree" "$RV" diff "$t/good.man" "$t/tree"
bad "diff: unknown --format" 64 "xml" "$RV" diff "$t/good.man" "$t/good2.man" --format xml

# --- decode: probe logs -------------------------------------------------------------
"$RV_PROBE" --root "$t/tree" --path /app --termination-log "$t/term.ok" >"$t/probe.log" 2>"$t/probe.err"
is "$?" 0 "rv-probe on the small tree exits 0"
"$RV" decode "$t/probe.log" >"$t/decoded.man" 2>"$t/decode.err"
is "$?" 0 "decode of the whole log exits 0"
same "$t/decoded.man" "$t/good.man" "decoded manifest = fingerprint of the same tree"
n=$(wc -l <"$t/probe.log")
check "the probe log has a header, payload lines and a trailer" [ "$n" -ge 3 ]

# A real kubelet log may have lines around the frame; they are fine.
{ echo "some noise"; cat "$t/probe.log"; echo "more noise"; } >"$t/noisy.log"
"$RV" decode "$t/noisy.log" >"$t/noisy.man" 2>/dev/null
same "$t/noisy.man" "$t/good.man" "decode ignores lines around the frame"

badlog() {
	local name=$1 needle=$2
	bad "decode: $name" 2 "$needle" "$RV" decode "$t/$name.log"
}
mklog() { sed "$2" "$t/probe.log" >"$t/$1.log"; }
head -n $((n - 1)) "$t/probe.log" >"$t/truncated-end.log"
badlog truncated-end "truncated"
head -n 1 "$t/probe.log" >"$t/header-only.log"
badlog header-only "truncated"
head -c $(($(wc -c <"$t/probe.log") / 2)) "$t/probe.log" >"$t/cut-mid-line.log"
badlog cut-mid-line "frame"
mklog dropped-line '2d'
badlog dropped-line "line"
if [ "$n" -ge 4 ]; then
	mklog reordered '2{h;d};3{G}'
	badlog reordered "line"
else
	# one payload line: reorder trailer and payload instead
	mklog reordered '2{h;d};3{G}'
	badlog reordered "frame"
fi
# one base64 character of the first payload line changed to another
mklog corrupted-byte '2s/^\(p [0-9]* ..........\)A/\1B/;t;2s/^\(p [0-9]* ..........\)./\1A/'
badlog corrupted-byte "frame"
mklog bad-trailer-sha '$s/sha256=0/sha256=1/;t;$s/sha256=./sha256=0/'
badlog bad-trailer-sha "frame"
mklog version-2 's/^rv-frame 1 /rv-frame 2 /'
badlog version-2 "version"
mklog not-base64 '2s/^\(p [0-9]* \)./\1*/'
badlog not-base64 "base64"
: >"$t/empty.log"
badlog empty "no frame"
printf 'just a container log\nwith no frame in it\n' >"$t/no-frame.log"
badlog no-frame "no frame"
{ cat "$t/probe.log" "$t/probe.log"; } >"$t/two-frames.log"
badlog two-frames "frame"
bad "decode: missing log file" 2 "$t/nope.log" "$RV" decode "$t/nope.log"
bad "decode: truncated log on stdin" 2 "truncated" \
	bash -c '"$1" decode - <"$2"' _ "$RV" "$t/truncated-end.log"

# summary mismatches: a summary for another manifest, a malformed one
echo "rv-probe 1 root=$(printf '0%.0s' $(seq 64)) entries=1 files=1 dirs=0 symlinks=0 others=0 mounts=0 errors=0 bytes=1 status=complete" \
	>"$t/wrong.summary"
bad "decode: summary root hash differs from the frame's" 2 "root" \
	"$RV" decode "$t/probe.log" --summary "$t/wrong.summary"
echo "rv-probe 7 root=abc" >"$t/v7.summary"
bad "decode: summary of an unknown version" 2 "version" \
	"$RV" decode "$t/probe.log" --summary "$t/v7.summary"
echo "rv-probe 1 error=cannot open /proc/1/root: EACCES" >"$t/err.summary"
bad "decode: a summary that reports a probe failure" 2 "EACCES" \
	"$RV" decode "$t/probe.log" --summary "$t/err.summary"

done_testing
