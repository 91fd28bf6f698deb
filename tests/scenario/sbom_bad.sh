#!/bin/bash
# sbom_bad.sh - bad input: malformed, oversized and out-of-tree databases are warnings naming the file; bad command lines
source "$(dirname "$0")/../lib/tap.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

r=$tmp/root
mkdir -p "$r/var/lib/dpkg" "$r/etc" "$r/app/node_modules/ok" "$r/app/node_modules/nj" \
	"$r/site/good-1.dist-info" "$r/site/trunc-1.dist-info"
printf 'ID=debian\nVERSION_ID=12\n' >"$r/etc/os-release"
# a status file with a malformed line, a stanza without Version, a stanza
# without Package, around good ones
printf 'Package: good\nStatus: install ok installed\nVersion: 1.0\nArchitecture: all\n\nno colon here\nPackage: nover\nStatus: install ok installed\n\nVersion: 2\n\nPackage: good2\nVersion: 2.0\nArchitecture: amd64\n' \
	>"$r/var/lib/dpkg/status"
echo '{"name":"ok","version":"1.0.0"}' >"$r/app/node_modules/ok/package.json"
printf '\x00\xff{{' >"$r/app/node_modules/nj/package.json"
printf 'Name: good\nVersion: 1\n' >"$r/site/good-1.dist-info/METADATA"
printf 'Metadata-Ver' >"$r/site/trunc-1.dist-info/METADATA"

"$RV" sbom --format text "$r" >"$tmp/out" 2>"$tmp/err"
is "$?" 0 "malformed databases do not fail the catalogue"
is "$(grep -c '^pkg:' "$tmp/out")" 4 "the four good packages are catalogued"
like "$(cat "$tmp/err")" "warning: '/var/lib/dpkg/status': package 'nover' at line 7 has no Version field" "dpkg: the stanza without Version, named"
like "$(cat "$tmp/err")" "warning: '/var/lib/dpkg/status': stanza at line 10 has no Package field" "dpkg: the stanza without Package, named"
like "$(cat "$tmp/err")" "warning: '/var/lib/dpkg/status': 1 malformed line \(the first at line 6\)" "dpkg: the malformed line, named"
like "$(cat "$tmp/err")" "warning: '/app/node_modules/nj/package.json': not JSON" "npm: the file that is not JSON, named"
like "$(cat "$tmp/err")" "warning: '/site/trunc-1.dist-info/METADATA': no Name header" "python: the truncated METADATA, named"
check "the warnings are in the text output too" grep -q '^warning: /var/lib/dpkg/status: ' "$tmp/out"

# an oversized database (a sparse file: its size is checked before any read)
o=$tmp/over
mkdir -p "$o/var/lib/dpkg" "$o/app/node_modules/x"
truncate -s 65M "$o/var/lib/dpkg/status"
echo '{"name":"x","version":"1"}' >"$o/app/node_modules/x/package.json"
"$RV" sbom --format text "$o" >"$tmp/out" 2>"$tmp/err"
is "$?" 0 "an oversized database does not fail the catalogue"
like "$(cat "$tmp/err")" "warning: '/var/lib/dpkg/status': larger than the limit of 67108864 bytes" "and is a warning naming the file"
check "the rest is still catalogued" grep -q '^pkg:npm/x@1  ' "$tmp/out"

# symlinks are never followed: a status file, or a directory on the way
# to it, that points out of the tree is not read
s=$tmp/sym
mkdir -p "$s/var/lib" "$tmp/outside/dpkg" "$s/app"
printf 'Package: secret\nVersion: 1\n' >"$tmp/outside/dpkg/status"
ln -s "$tmp/outside/dpkg" "$s/var/lib/dpkg"
mkdir -p "$s/app/node_modules/evil"
echo '{"name":"evil","version":"1"}' >"$tmp/outside/package.json"
ln -s "$tmp/outside/package.json" "$s/app/node_modules/evil/package.json"
"$RV" sbom --format text "$s" >"$tmp/out" 2>"$tmp/err"
is "$?" 0 "a tree with symlinks out of it is catalogued"
is "$(head -1 "$tmp/out")" "0 packages" "nothing outside the tree is read"

# command line
"$RV" sbom >/dev/null 2>"$tmp/err"
is "$?" 64 "no DIR is a usage error"
"$RV" sbom --format xml "$r" >/dev/null 2>"$tmp/err"
is "$?" 64 "an unknown format is a usage error"
like "$(cat "$tmp/err")" "unknown format 'xml'" "naming the format"
"$RV" sbom --bogus "$r" >/dev/null 2>&1
is "$?" 64 "an unknown option is a usage error"
"$RV" sbom "$tmp/nonexistent" >/dev/null 2>"$tmp/err"
is "$?" 2 "a missing DIR fails with 2"
like "$(cat "$tmp/err")" "runtime-verifier sbom: cannot open directory '$tmp/nonexistent': No such file or directory" "naming it"
"$RV" sbom --help >"$tmp/help"
is "$?" 0 "--help exits 0"
check "--help describes --format" grep -q -- '--format F' "$tmp/help"
"$RV" sbom -o "$tmp/o.json" "$r" 2>/dev/null
is "$?" 0 "-o writes to a file"
check "the file holds the BOM" grep -q '"bomFormat": "CycloneDX"' "$tmp/o.json"
"$RV" sbom --stats "$r" -o /dev/null 2>"$tmp/err"
like "$(cat "$tmp/err")" "runtime-verifier sbom: 6 database files, [0-9]+ bytes read, 4 packages, 5 warnings; catalogue [0-9.]+ ms, output [0-9.]+ ms" \
	"--stats says what was read and how long it took"
"$RV" --help | grep -q '^  sbom '
is "$?" 0 "runtime-verifier --help lists sbom"
done_testing
