#!/bin/bash
# sbom_diff.sh - `sbom --diff A B`: packages added, removed and version-changed, keyed on purl
source "$(dirname "$0")/../lib/tap.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# "image": the host's dpkg database and a Python distribution
a=$tmp/a
mkdir -p "$a/var/lib/dpkg" "$a/etc" "$a/usr/lib/python3/dist-packages/six-1.16.0.dist-info"
cp /var/lib/dpkg/status "$a/var/lib/dpkg/status"
cp -L /etc/os-release "$a/etc/os-release"
printf 'Name: six\nVersion: 1.16.0\n' >"$a/usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA"
# "container": the same, then what happens at runtime: a pip install
# dropped a dist-info, dpkg upgraded coreutils (its version in the status
# file), a package was purged (its stanza gone)
cp -r "$a" "$tmp/b"
b=$tmp/b
mkdir -p "$b/usr/lib/python3/dist-packages/requests-2.31.0.dist-info"
printf 'Name: requests\nVersion: 2.31.0\n' >"$b/usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA"
old=$(dpkg-query --admindir="$a/var/lib/dpkg" -W -f='${Version}' coreutils)
/usr/bin/python3 - "$b/var/lib/dpkg/status" <<'PY'
import sys
p = sys.argv[1]
stanzas = open(p, encoding="utf-8", errors="surrogateescape").read().split("\n\n")
out = []
for s in stanzas:
    if s.startswith("Package: coreutils\n"):
        s = "\n".join("Version: 99.0-1" if l.startswith("Version: ") else l
                      for l in s.split("\n"))
    if s.startswith("Package: hostname\n"):
        continue
    out.append(s)
open(p, "w", encoding="utf-8", errors="surrogateescape").write("\n\n".join(out))
PY
arch=$(dpkg-query --admindir="$a/var/lib/dpkg" -W -f='${Architecture}' coreutils)
harch=$(dpkg-query --admindir="$a/var/lib/dpkg" -W -f='${Architecture}' hostname)
hver=$(dpkg-query --admindir="$a/var/lib/dpkg" -W -f='${Version}' hostname)
. /etc/os-release

"$RV" sbom "$a" >"$tmp/a.json" && "$RV" sbom "$b" >"$tmp/b.json"
is "$?" 0 "both BOMs written"
"$RV" sbom --diff "$tmp/a.json" "$tmp/b.json" >"$tmp/out"
is "$?" 1 "--diff exits 1 when packages differ"
enc() { /usr/bin/python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=":~"))' "$1"; }
cat >"$tmp/want" <<EOT
medium  changed pkg:deb/$ID/coreutils@$(enc "$old")?arch=$arch&distro=$ID-$VERSION_ID -> 99.0-1
low     removed pkg:deb/$ID/hostname@$(enc "$hver")?arch=$harch&distro=$ID-$VERSION_ID
high    added   pkg:pypi/requests@2.31.0
EOT
same_file "$tmp/out" "$tmp/want" "one line each: the upgrade, the removal, the runtime pip install (high)"
"$RV" sbom --diff "$tmp/a.json" "$tmp/a.json" >"$tmp/out"
is "$?" 0 "--diff exits 0 for the same packages"
is "$(cat "$tmp/out")" "" "and prints nothing"
# a fresh BOM of the same tree (new serialNumber, timestamp): no difference
"$RV" sbom "$a" >"$tmp/a2.json"
"$RV" sbom --diff "$tmp/a.json" "$tmp/a2.json" >/dev/null
is "$?" 0 "two BOMs of the same tree do not differ"

# errors
echo 'not json' >"$tmp/bad.json"
"$RV" sbom --diff "$tmp/a.json" "$tmp/bad.json" >/dev/null 2>"$tmp/err"
is "$?" 2 "--diff exits 2 when a BOM is not JSON"
like "$(cat "$tmp/err")" "runtime-verifier sbom: '$tmp/bad.json': not JSON" "naming the file"
"$RV" sbom --diff "$tmp/a.json" >/dev/null 2>&1
is "$?" 64 "--diff with one file is a usage error"
done_testing
