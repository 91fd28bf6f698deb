#!/bin/bash
# sbom_dpkg.sh - the dpkg cataloger on this host's real database, as dpkg-query sees it
source "$(dirname "$0")/../lib/tap.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A root holding a copy of the host's dpkg database and os-release (a
# regular file: the catalogue never follows symlinks such as Debian's
# /etc/os-release -> ../usr/lib/os-release).
root=$tmp/root
mkdir -p "$root/var/lib/dpkg" "$root/etc"
cp /var/lib/dpkg/status "$root/var/lib/dpkg/status"
cp -L /etc/os-release "$root/etc/os-release"
. /etc/os-release

# name version arch of every package whose files are on disk
dpkg-query --admindir="$root/var/lib/dpkg" -W \
	-f='${db:Status-Status} ${Package} ${Version} ${Architecture}\n' |
	awk '$1 != "not-installed" && $1 != "config-files" { print $2, $3, $4 }' |
	LC_ALL=C sort >"$tmp/want"

# name version arch from the BOM's components (arch from the purl)
bom_fields() {
	/usr/bin/python3 -c '
import json, sys, urllib.parse
bom = json.load(open(sys.argv[1]))
for c in bom["components"]:
    if "purl" not in c:
        continue
    q = urllib.parse.parse_qs(c["purl"].partition("?")[2])
    print(c["name"], c["version"], q.get("arch", ["-"])[0])' "$1" | LC_ALL=C sort
}

"$RV" sbom "$root" >"$tmp/bom.json" 2>"$tmp/err"
is "$?" 0 "sbom exits 0 on the host's dpkg database"
is "$(cat "$tmp/err")" "" "no warning on a well-formed database"
bom_fields "$tmp/bom.json" >"$tmp/got"
is "$(wc -l <"$tmp/got")" "$(wc -l <"$tmp/want")" \
	"as many packages as dpkg-query -W lists installed ($(wc -l <"$tmp/want"))"
same_file "$tmp/got" "$tmp/want" "the same names, versions and architectures as dpkg-query"

purl=$(/usr/bin/python3 -c '
import json, sys
for c in json.load(open(sys.argv[1]))["components"]:
    if c.get("name") == "dpkg":
        print(c["purl"])' "$tmp/bom.json")
arch=$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Architecture}' dpkg)
like "$purl" "^pkg:deb/$ID/dpkg@[^?]+\?arch=$arch&distro=$ID-$VERSION_ID\$" \
	"dpkg's own purl has the namespace and distro from os-release"
# a version with a '+', which the purl spec percent-encodes
read -r pkg ver _ < <(grep -m1 -E '^[^ ]+ [^ ]*[+][^ ]* ' "$tmp/want")
enc=$(/usr/bin/python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=":~"))' "$ver")
got=$(/usr/bin/python3 -c '
import json, sys
for c in json.load(open(sys.argv[1]))["components"]:
    if c.get("name") == sys.argv[2]:
        print(c["purl"])' "$tmp/bom.json" "$pkg" | head -1)
like "$got" "^pkg:deb/$ID/$pkg@$enc\\?" "$pkg's version $ver is percent-encoded per the purl spec"

# The same packages as a distroless status.d/ (one stanza per file, no
# Status field) are the same set.
mkdir -p "$tmp/dl/var/lib/dpkg/status.d" "$tmp/dl/etc"
cp "$root/etc/os-release" "$tmp/dl/etc/os-release"
awk -v dir="$tmp/dl/var/lib/dpkg/status.d" '
	BEGIN { RS = ""; ORS = "\n" }
	/\nStatus: [^\n]* (not-installed|config-files)\n/ { next }
	{ n++; f = dir "/pkg" n; gsub(/\nStatus: [^\n]*/, ""); print > f; close(f) }
	' "$root/var/lib/dpkg/status"
for f in "$tmp"/dl/var/lib/dpkg/status.d/pkg1 "$tmp"/dl/var/lib/dpkg/status.d/pkg2; do
	: >"$f.md5sums" # md5sums files beside them are not databases
done
"$RV" sbom "$tmp/dl" >"$tmp/dl.json" 2>"$tmp/err"
is "$?" 0 "sbom exits 0 on a distroless status.d"
bom_fields "$tmp/dl.json" >"$tmp/dl.got"
same_file "$tmp/dl.got" "$tmp/want" "status.d/ gives the same packages as the status file"

# text format: a summary line, then one purl and location per package
"$RV" sbom --format text "$root" >"$tmp/text"
like "$(head -1 "$tmp/text")" "^$(wc -l <"$tmp/want") packages: deb $(wc -l <"$tmp/want") " \
	"text summary counts the packages"
is "$(grep -c '  /var/lib/dpkg/status$' "$tmp/text")" "$(wc -l <"$tmp/want")" \
	"text lists each package with its database"
done_testing
