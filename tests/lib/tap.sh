# tap.sh - TAP output for shell tests. Source it; end with done_testing.
# Every test script prints "ok N - what" or "not ok N - what" per check;
# tests/run counts them.
#
# todo REASON CHECK ARGS...: run one check (is, like, check, ...) as a known
# failure, TAP's TODO directive: "not ok N - what # TODO REASON". It is
# printed and counted as todo by tests/run, neither passed nor failed, and
# does not fail the script. If it passes, "ok N - what # TODO REASON" says
# the known failure is gone (tests/run counts it as todo too, and says so).

T_N=0
T_FAIL=0
T_TODO_REASON=

ok() {
	T_N=$((T_N + 1))
	echo "ok $T_N - $*${T_TODO_REASON:+ # TODO $T_TODO_REASON}"
}

not_ok() {
	T_N=$((T_N + 1))
	if [ -n "$T_TODO_REASON" ]; then
		echo "not ok $T_N - $* # TODO $T_TODO_REASON"
		return 0
	fi
	T_FAIL=$((T_FAIL + 1))
	echo "not ok $T_N - $*"
}

# todo REASON CHECK ARGS...: CHECK (one of the functions here) as a TODO.
todo() {
	local T_TODO_REASON=$1
	shift
	"$@"
}

# check DESC CMD...: pass when CMD succeeds.
check() {
	desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# check_fails DESC CMD...: pass when CMD fails.
check_fails() {
	desc=$1
	shift
	if "$@"; then not_ok "$desc"; else ok "$desc"; fi
}

# is GOT EXPECTED DESC: pass when the two strings are equal.
is() {
	if [ "$1" = "$2" ]; then
		ok "$3"
	else
		not_ok "$3"
		printf '# got:      %s\n# expected: %s\n' "$1" "$2"
	fi
}

# like GOT REGEX DESC: pass when GOT matches the extended regex.
like() {
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		ok "$3"
	else
		not_ok "$3"
		printf '# got:      %s\n# expected: /%s/\n' "$1" "$2"
	fi
}

# same_file A B DESC: pass when two files are byte for byte equal.
same_file() {
	if cmp -s "$1" "$2"; then
		ok "$3"
	else
		not_ok "$3"
		diff <(od -c "$1" | head -20) <(od -c "$2" | head -20) | sed 's/^/# /' | head -20
	fi
}

done_testing() {
	echo "1..$T_N"
	[ "$T_FAIL" -eq 0 ]
	exit $?
}

RV_TOP=${RV_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
RV=${RV:-$RV_TOP/build/runtime-verifier}
RV_PROBE=${RV_PROBE:-$RV_TOP/build/rv-probe}
