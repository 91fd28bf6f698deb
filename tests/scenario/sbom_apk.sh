#!/bin/bash
# sbom_apk.sh - the apk cataloger on the Alpine fixture (tests/fixtures/apk, format in its README)
source "$(dirname "$0")/../lib/tap.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fx=$RV_TOP/tests/fixtures/apk

"$RV" sbom --format text "$fx" >"$tmp/text" 2>"$tmp/err"
is "$?" 0 "sbom exits 0 on the apk fixture"
is "$(cat "$tmp/err")" "" "no warning"
cat >"$tmp/want" <<'PURLS'
5 packages: apk 5 (Alpine Linux v3.19)
pkg:apk/alpine/alpine-baselayout-data@3.4.3-r2?arch=x86_64&distro=alpine-3.19.1&upstream=alpine-baselayout  /lib/apk/db/installed
pkg:apk/alpine/busybox@1.36.1-r15?arch=x86_64&distro=alpine-3.19.1&upstream=busybox  /lib/apk/db/installed
pkg:apk/alpine/ca-certificates-bundle@20230506-r0?arch=x86_64&distro=alpine-3.19.1&upstream=ca-certificates  /lib/apk/db/installed
pkg:apk/alpine/musl@1.2.4_git20230717-r4?arch=x86_64&distro=alpine-3.19.1&upstream=musl  /lib/apk/db/installed
pkg:apk/alpine/zlib@1.3.1-r0?arch=x86_64&distro=alpine-3.19.1&upstream=zlib  /lib/apk/db/installed
PURLS
same_file "$tmp/text" "$tmp/want" "the five packages with their purls, sorted"
# the count the format itself gives: one P: line per record
is "$(grep -c '^P:' "$fx/lib/apk/db/installed")" 5 "the fixture has five records"

# A record cut short and a line that is not "K:value": warnings, and the
# other records are still catalogued
mkdir -p "$tmp/root/lib/apk/db" "$tmp/root/etc"
cp "$fx/etc/os-release" "$tmp/root/etc/"
{ cat "$fx/lib/apk/db/installed"; printf 'garbage line\n\nC:Q1x=\nP:cut\n'; } \
	>"$tmp/root/lib/apk/db/installed"
"$RV" sbom --format text "$tmp/root" >"$tmp/t2" 2>"$tmp/err"
is "$?" 0 "a malformed apk database does not fail the catalogue"
is "$(grep -c '^pkg:apk/' "$tmp/t2")" 5 "the well-formed records are still catalogued"
like "$(cat "$tmp/err")" "warning: '/lib/apk/db/installed': record at line [0-9]+ has no V: line" \
	"the cut record is a warning naming the file"
like "$(cat "$tmp/err")" "warning: '/lib/apk/db/installed': 1 malformed line" \
	"the malformed line is a warning naming the file"
done_testing
