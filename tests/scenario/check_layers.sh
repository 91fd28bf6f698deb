#!/bin/bash
# check_layers.sh - tests/check-layers on a copy of lib/ and cmd/: the real
# tree passes; a wrong-layer include inside a subfolder (sources/oci), in
# core, or in rv-probe fails and names the file that has it.
set -u
here=$(dirname "$0")
source "$here/../lib/tap.sh"

LAYERS="util core sources pipeline"
t=$(mktemp -d /tmp/rv-check-layers.XXXXXX)
trap 'rm -rf "$t"' EXIT
trap 'exit 1' INT TERM

# fresh: a clean copy of the tree's lib/ and cmd/ in $t/tree
fresh() {
	rm -rf "$t/tree"
	mkdir "$t/tree"
	cp -R "$RV_TOP/lib" "$RV_TOP/cmd" "$t/tree/"
}

# layers: run the check on $t/tree; its messages in $t/err
layers() {
	sh "$RV_TOP/tests/check-layers" -C "$t/tree" $LAYERS 2>"$t/err"
}

# add_include FILE HEADER: put #include "HEADER" on top of FILE
add_include() {
	printf '#include "%s"\n' "$2" | cat - "$t/tree/$1" >"$t/tmp" &&
		mv "$t/tmp" "$t/tree/$1"
}

fresh
check "the tree as it is passes" layers

# case: DESC FILE HEADER WORDS - the include makes the check fail, and the
# message names FILE and says WORDS
case_() {
	fresh
	add_include "$2" "$3"
	check_fails "$1: the check fails" layers
	like "$(cat "$t/err")" "$4: .*$2" "$1: the message names $2"
}

oci=$(cd "$RV_TOP" && ls lib/sources/oci/*.c | head -1)
case_ "sources/oci includes pipeline" "$oci" pipeline/verify.h \
	"sources includes pipeline"
case_ "core includes sources/oci" lib/core/frame.c sources/oci/registry.h \
	"core includes sources"
probe=$(cd "$RV_TOP" && ls cmd/rv-probe/*.c | head -1)
case_ "rv-probe includes sources/kube" "$probe" sources/kube/kube.h \
	"rv-probe includes sources or pipeline"

# a header deep in a subfolder counts as well
fresh
mkdir -p "$t/tree/lib/sources/oci/deeper"
printf '#include "pipeline/report.h"\n' >"$t/tree/lib/sources/oci/deeper/x.h"
check_fails "a header two folders down is checked too" layers
like "$(cat "$t/err")" "lib/sources/oci/deeper/x.h" "and named"

done_testing
