#!/bin/bash
# sbom_rpm.sh - the rpm cataloger on a real sqlite rpmdb made by rpm 4.18 (rpmbuild, rpm -i --justdb)
source "$(dirname "$0")/../lib/tap.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Three noarch packages: one with an epoch, one with a release that
# needs no encoding, one whose version has a '+'
mkspec() { # name version release epoch
	cat <<SPEC
Name: $1
Version: $2
Release: $3
$([ "$4" != 0 ] && echo "Epoch: $4")
Summary: test package $1
License: MIT
BuildArch: noarch
%description
A test package for the rpm cataloger.
%install
mkdir -p %{buildroot}/usr/share/$1
echo $1 > %{buildroot}/usr/share/$1/README
%files
/usr/share/$1/README
SPEC
}
built=0
while read -r n v r e; do
	mkspec "$n" "$v" "$r" "$e" >"$tmp/$n.spec"
	rpmbuild -bb --define "_topdir $tmp/top" "$tmp/$n.spec" >"$tmp/build.log" 2>&1 &&
		built=$((built + 1))
done <<'PKGS'
hello 1.0 3.fc39 0
tool 2.5.1 1.fc39 2
plus 1.2+git5 0.1 0
PKGS
is "$built" 3 "rpmbuild made three packages"
db=$tmp/root/var/lib/rpm
mkdir -p "$db" "$tmp/root/etc"
printf 'NAME="Fedora Linux"\nID=fedora\nVERSION_ID=39\nPRETTY_NAME="Fedora Linux 39"\n' \
	>"$tmp/root/etc/os-release"
rpm --initdb --dbpath "$db"
rpm -i --justdb --nodeps --ignorearch --ignoreos --dbpath "$db" \
	"$tmp"/top/RPMS/noarch/*.rpm >"$tmp/install.log" 2>&1
is "$?" 0 "rpm installed them into a fresh rpmdb"
check "rpm 4.18 keeps its database in sqlite" test -s "$db/rpmdb.sqlite"

rpm -qa --dbpath "$db" --qf '%{NAME} %|EPOCH?{%{EPOCH}}:{-}| %{VERSION}-%{RELEASE} %{ARCH}\n' |
	LC_ALL=C sort >"$tmp/want"
"$RV" sbom --format text "$tmp/root" >"$tmp/text" 2>"$tmp/err"
is "$?" 0 "sbom exits 0 on the rpmdb"
is "$(cat "$tmp/err")" "" "no warning (built with sqlite3)"
grep '^pkg:rpm/' "$tmp/text" | /usr/bin/python3 -c '
import sys, urllib.parse
for line in sys.stdin:
    purl = line.split()[0]
    path, _, q = purl.partition("?")
    name, _, ver = path.rpartition("/")[2].partition("@")
    q = urllib.parse.parse_qs(q)
    print(name, q.get("epoch", ["-"])[0], urllib.parse.unquote(ver), q["arch"][0])' |
	LC_ALL=C sort >"$tmp/got"
is "$(wc -l <"$tmp/got")" "$(wc -l <"$tmp/want")" "as many packages as rpm -qa ($(wc -l <"$tmp/want"))"
same_file "$tmp/got" "$tmp/want" "the same names, epochs, versions and arches as rpm -qa"
check "purl with namespace, distro and epoch" \
	grep -qx 'pkg:rpm/fedora/tool@2.5.1-1.fc39?arch=noarch&distro=fedora-39&epoch=2  /var/lib/rpm/rpmdb.sqlite' "$tmp/text"
check "a '+' in the version is encoded" grep -q '^pkg:rpm/fedora/plus@1.2%2Bgit5-0.1?' "$tmp/text"

# Not an sqlite file, and a truncated one: warnings naming the file
mkdir -p "$tmp/bad/var/lib/rpm" "$tmp/cut/var/lib/rpm"
echo 'not a database' >"$tmp/bad/var/lib/rpm/rpmdb.sqlite"
head -c 20000 "$db/rpmdb.sqlite" >"$tmp/cut/var/lib/rpm/rpmdb.sqlite"
"$RV" sbom --format text "$tmp/bad" >/dev/null 2>"$tmp/err"
is "$?" 0 "a file that is not sqlite does not fail the catalogue"
like "$(cat "$tmp/err")" "warning: '/var/lib/rpm/rpmdb.sqlite': not an sqlite database" \
	"and is a warning naming the file"
"$RV" sbom --format text "$tmp/cut" >/dev/null 2>"$tmp/err"
is "$?" 0 "a truncated rpmdb does not fail the catalogue"
like "$(cat "$tmp/err")" "warning: '/var/lib/rpm/rpmdb.sqlite': " "and is a warning naming the file"
done_testing
