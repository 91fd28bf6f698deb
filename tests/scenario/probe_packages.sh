#!/bin/bash
# probe_packages.sh - rv-probe --packages in a real runc container: the
# package databases it collects through /proc/1/root catalogue to the same
# packages as `runtime-verifier sbom` of the container's rootfs; an
# oversized database is a warning naming it, a volume is "not descended",
# a symlinked /var/lib/dpkg is not followed, a package the target
# installs into /dev/shm (a tmpfs every uid can write) is found. Also times the package walk
# of this host's own (Debian) root.
# Needs root, runc, jq, busybox-static.
set -u
here=$(dirname "$0")
source "$here/../lib/tap.sh"
source "$here/../lib/runc.sh"

t=$(mktemp -d /tmp/rv-probe-pkgs.XXXXXX)
cleanup() {
	rv_runc_cleanup
	rm -rf --one-file-system "$t"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
chmod 0755 "$t"
rv_runc_init "$t"
BUSYBOX=${BUSYBOX:-/bin/busybox}
FIX=$RV_TOP/tests/fixtures/apk

check "rv-probe is built" [ -x "$RV_PROBE" ]
check "this host has a dpkg database" [ -s /var/lib/dpkg/status ]

# --- the target: a rootfs with every kind of database ------------------------
TB=$t/target
R=$TB/rootfs
# the target itself installs a package into /dev/shm (pip install --target
# /dev/shm/x), then sleeps
rv_runc_bundle "$TB" 1000 1000 /bin/busybox sh -c '
	/bin/busybox mkdir -p /dev/shm/x/shmpkg-6.6.6.dist-info &&
	printf "Metadata-Version: 2.1\nName: shmpkg\nVersion: 6.6.6\n" \
		>/dev/shm/x/shmpkg-6.6.6.dist-info/METADATA &&
	exec /bin/busybox sleep 600'
mkdir -p "$R/bin" "$R/etc" "$R/var/lib/dpkg" "$R/lib/apk/db" "$R/data" \
	"$R/usr/lib/python3/dist-packages/six-1.16.0.dist-info" \
	"$R/app/node_modules/left-pad" "$R/app/node_modules/@types/node" \
	"$R/app/node_modules/huge" "$R/opt/elsewhere/apk/db" "$R/usr/lib"
cp "$BUSYBOX" "$R/bin/busybox"
cp /var/lib/dpkg/status "$R/var/lib/dpkg/status"
cp -L /etc/os-release "$R/etc/os-release"
cp "$FIX/lib/apk/db/installed" "$R/lib/apk/db/installed"
printf 'Metadata-Version: 2.1\nName: six\nVersion: 1.16.0\n' \
	>"$R/usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA"
printf '{"name": "left-pad", "version": "1.3.0"}\n' >"$R/app/node_modules/left-pad/package.json"
printf '{"name": "@types/node", "version": "20.11.5"}\n' >"$R/app/node_modules/@types/node/package.json"
# over the npm cap of 4 MiB
{ printf '{"name": "huge", "version": "9.9.9", "x": "'; head -c $((4 << 20)) /dev/zero | tr '\0' x; printf '"}\n'; } \
	>"$R/app/node_modules/huge/package.json"
# a symlinked database directory: /usr/lib/apk -> /opt/elsewhere/apk
printf 'P:evil-apk\nV:6.6.6\nA:x86_64\n\n' >"$R/opt/elsewhere/apk/db/installed"
ln -s /opt/elsewhere/apk "$R/usr/lib/apk"
chmod -R a+rX "$R"
# a volume holding a package: mounted in the container, never searched
mkdir -p "$t/vol/node_modules/hidden"
printf '{"name": "hidden", "version": "1.0.0"}\n' >"$t/vol/node_modules/hidden/package.json"
chmod -R a+rX "$t/vol"
rv_runc_bind "$TB" "$t/vol" /data ro
rv_runc_detach target "$TB"
TPID=$RV_RUNC_PID
check "target container runs" bash -c '[ -n "$1" ] && kill -0 "$1"' _ "$TPID"
for i in $(seq 50); do
	[ -s "/proc/$TPID/root/dev/shm/x/shmpkg-6.6.6.dist-info/METADATA" ] && break
	sleep 0.1
done
check "…and wrote its package into its /dev/shm" \
	[ -s "/proc/$TPID/root/dev/shm/x/shmpkg-6.6.6.dist-info/METADATA" ]

# probe NAME TARGET-PID ARGS...: rv-probe as uid 1000 in a container that
# joins the target's PID namespace; $t/NAME.{out,err,log,rc,secs}
probe() {
	local name=$1 tpid=$2 b=$t/probe-$1 s e
	shift 2
	echo setup-failed >"$t/$name.rc"
	: >"$t/$name.log"
	rm -rf "$b"
	rv_runc_bundle "$b" 1000 1000 /rv-probe "$@" \
		--termination-log /dev/termination-log || return 1
	cp "$RV_PROBE" "$b/rootfs/rv-probe" && chmod 0755 "$b/rootfs/rv-probe"
	chown 1000:1000 "$t/$name.log"
	rv_runc_bind "$b" "$t/$name.log" /dev/termination-log rw
	rv_runc_join_pidns "$b" "$tpid"
	s=$(date +%s.%N)
	rv_runc_run "$name" "$b" >"$t/$name.out" 2>"$t/$name.err"
	echo $? >"$t/$name.rc"
	e=$(date +%s.%N)
	echo "$e - $s" | bc >"$t/$name.secs"
	sed 's/^/# probe stderr: /' "$t/$name.err" | head -5
}

probe p "$TPID" --root /proc/1/root --path /app --packages
is "$(cat "$t/p.rc")" 0 "rv-probe --packages: exit 0 (the manifest of /app is complete)"
like "$(cat "$t/p.log")" \
	' status=complete dbset=[0-9a-f]{64} dbfiles=[0-9]+ dbfailed=[0-9]+$' \
	"the summary ends in dbset=, dbfiles=, dbfailed="
check "the summary fits a termination message" [ "$(wc -c <"$t/p.log")" -le 4096 ]
echo "# probe in a container: $(cat "$t/p.secs") s; stdout $(wc -c <"$t/p.out") bytes"

# the manifest frame still decodes, and the dbs frame after it
"$RV" decode "$t/p.out" --summary "$t/p.log" >"$t/p.man" 2>"$t/p.man.err"
is "$?" 0 "decode: the manifest frame decodes with the dbs frame after it"
"$RV" decode --packages "$t/p.out" --summary "$t/p.log" --format dbset >"$t/p.dbset" 2>"$t/p.err2"
is "$?" 1 "decode --packages: exit 1 (some databases could not be read)"
sed 's/^/# decode: /' "$t/p.err2" | head -3
is "$(head -1 "$t/p.dbset" | cut -d' ' -f1-2)" "rv-dbset 1" "decode --packages --format dbset: the canonical set"
# the comparable digest: the canonical set less its mount-point records,
# recomputed here from the decoded bytes with python (headers' counts too)
cmp_digest=$(python3 - "$t/p.dbset" <<'PY'
import hashlib, re, sys
data = open(sys.argv[1], "rb").read()
head, rest = data.split(b"\n", 1)
out, n, failed, i = [], 0, 0, 0
while i < len(rest):
    j = rest.index(b"\n", i)
    line = rest[i:j + 1]
    if line.startswith(b"file "):
        size = int(line.split(b" ")[1])
        out.append(rest[i:j + 1 + size + 1]); n += 1; i = j + 1 + size + 1
    else:
        if b" mount point" not in line:
            out.append(line); n += 1; failed += 1
        i = j + 1
m = re.match(rb"rv-dbset 1 files=\d+ failed=\d+ bytes=(\d+)$", head)
body = b"rv-dbset 1 files=%d failed=%d bytes=%s\n" % (n, failed, m.group(1)) + b"".join(out)
print(hashlib.sha256(body).hexdigest())
PY
)
like "$(cat "$t/p.log")" "dbset=$cmp_digest " \
	"the summary's dbset= is the sha256 of the decoded set less its mount-point records"
check "(the set has a mount record, so the two digests differ)" \
	test "$cmp_digest" != "$(sha256sum <"$t/p.dbset" | cut -d' ' -f1)"
grep -a '^fail ' "$t/p.dbset" | sed 's/^/# /'
is "$(grep -a '^fail ' "$t/p.dbset")" \
"fail /app/node_modules/huge/package.json larger than the limit of 4194304 bytes
fail /data mount point, not descended" \
	"fail records: the oversized file and the volume, nothing else (proc, sys, dev are not recorded)"
is "$(grep -a "^file [0-9]* [0-9a-f]* /var/lib/dpkg/status\$" "$t/p.dbset" | cut -d' ' -f2-3)" \
	"$(stat -c %s /var/lib/dpkg/status) $(sha256sum </var/lib/dpkg/status | cut -d' ' -f1)" \
	"the dpkg status is whole, its size and sha256 as the host's"
check_fails "the symlinked /usr/lib/apk is not followed" grep -aq 'apk/db/installed.*usr/lib\|^file .* /usr/lib/apk/' "$t/p.dbset"
check_fails "nothing from the volume" grep -aq " /data/" "$t/p.dbset"
check "the package in /dev/shm is in the set (/dev/shm is searched)" \
	grep -aq '^file [0-9]* [0-9a-f]* /dev/shm/x/shmpkg-6.6.6.dist-info/METADATA$' "$t/p.dbset"
is "$(grep -aE '^(file [0-9]+ [0-9a-f]{64}|fail) /(proc|sys|dev)(/| |$)' "$t/p.dbset" |
	grep -av '^file [0-9]* [0-9a-f]* /dev/shm/')" "" \
	"no record of anything else in /dev, /proc, /sys"

# the catalogue: the same purls as `runtime-verifier sbom` of the rootfs
"$RV" decode --packages "$t/p.out" --format text >"$t/p.txt" 2>/dev/null
"$RV" sbom --format text "$R" >"$t/dir.txt" 2>"$t/dir.err"
is "$?" 0 "runtime-verifier sbom of the target's rootfs"
grep '^pkg:' "$t/p.txt" | cut -d' ' -f1 >"$t/p.all"
check "the catalogue has the /dev/shm package" grep -q '^pkg:pypi/shmpkg@6.6.6$' "$t/p.all"
# the rootfs has everything else (the /dev/shm package was made at run time)
grep -v '^pkg:pypi/shmpkg@' "$t/p.all" >"$t/p.purls"
grep '^pkg:' "$t/dir.txt" | cut -d' ' -f1 >"$t/dir.purls"
check "the probe found over 100 packages" [ "$(wc -l <"$t/p.purls")" -gt 100 ]
dpkgs=$(grep -c '^Package: ' /var/lib/dpkg/status)
echo "# $(wc -l <"$t/p.purls") purls from the probe, $(wc -l <"$t/dir.purls") from sbom DIR; the host has $dpkgs dpkg stanzas"
same_file "$t/p.purls" "$t/dir.purls" "the probe's packages = runtime-verifier sbom DIR's (equal purls)"
for p in 'pkg:npm/left-pad@1.3.0' 'pkg:npm/%40types/node@20.11.5' 'pkg:pypi/six@1.16.0' 'pkg:apk/.*/musl@'; do
	check "the catalogue has $p" grep -q "^$p" "$t/p.purls"
done
check_fails "no evil-apk (behind the symlink)" grep -q evil "$t/p.purls"
check_fails "no package from the volume" grep -q hidden "$t/p.purls"
check "the oversized file is a warning naming it" grep -qxF \
	"warning: /app/node_modules/huge/package.json: larger than the limit of 4194304 bytes" "$t/p.txt"
"$RV" decode --packages "$t/p.out" --summary "$t/p.log" >"$t/p.cdx" 2>/dev/null
is "$(jq -r '.bomFormat + " " + (.components | map(select(.purl)) | length | tostring)' "$t/p.cdx")" \
	"CycloneDX $(($(wc -l <"$t/p.all") + 0))" "decode --packages (default cyclonedx-json): one component per purl"

# --packages-max: the total cap drops the largest (the dpkg status) first
probe small "$TPID" --root /proc/1/root --path /app --packages --packages-max 100000
"$RV" decode --packages "$t/small.out" --format dbset >"$t/small.dbset" 2>/dev/null
like "$(grep -a '^fail /var/lib/dpkg/status ' "$t/small.dbset")" \
	"dropped: over the probe's limit of 100000 bytes" "--packages-max 100000: the dpkg status is dropped, named"
check "--packages-max 100000: the small ones stay" grep -aq '^file .* /app/node_modules/left-pad/package.json$' "$t/small.dbset"

# --- a symlinked /var/lib/dpkg in another target: not followed -------------------
TB2=$t/target2
R2=$TB2/rootfs
rv_runc_bundle "$TB2" 1000 1000 /bin/busybox sleep 600
mkdir -p "$R2/bin" "$R2/var/lib" "$R2/srv/dpkg"
cp "$BUSYBOX" "$R2/bin/busybox"
printf 'Package: evil\nStatus: install ok installed\nVersion: 6.6.6\nArchitecture: amd64\n\n' \
	>"$R2/srv/dpkg/status"
ln -s /srv/dpkg "$R2/var/lib/dpkg"
chmod -R a+rX "$R2"
rv_runc_detach target2 "$TB2"
probe link "$RV_RUNC_PID" --root /proc/1/root --path /srv --packages
is "$(cat "$t/link.rc")" 0 "symlinked /var/lib/dpkg: exit 0"
"$RV" decode --packages "$t/link.out" --summary "$t/link.log" --format dbset >"$t/link.dbset" 2>/dev/null
is "$(cat "$t/link.dbset")" "rv-dbset 1 files=0 failed=0 bytes=0" \
	"symlinked /var/lib/dpkg -> /srv/dpkg: not followed, the set is empty"
"$RV" decode "$t/link.out" >"$t/link.man" 2>/dev/null
check "…while the manifest of /srv has the status file" grep -q ' /srv/dpkg/status$' "$t/link.man"

# --- a Debian-sized root: this host's own -----------------------------------------
s=$(date +%s.%N)
timeout 120 "$RV_PROBE" --root / --path /etc/os-release --packages --termination-log "$t/host.log" >"$t/host.out" 2>"$t/host.err"
rc=$?
e=$(date +%s.%N)
like "$rc" '^[01]$' "the package walk of this host's root finishes"
"$RV" decode --packages "$t/host.out" --format dbset 2>/dev/null | grep -a '^file [0-9]* [0-9a-f]* /var/lib/dpkg/status$' |
	cut -d' ' -f3 >"$t/host.sum"
is "$(cat "$t/host.sum")" "$(sha256sum </var/lib/dpkg/status | cut -d' ' -f1)" \
	"…and has this host's dpkg status"
echo "# this host's root: $(echo "$e - $s" | bc) s wall for --packages ($(sed 's/.*dbfiles=\([0-9]*\) dbfailed=\([0-9]*\)/\1 records, \2 failed/' "$t/host.log"), $dpkgs dpkg packages); stdout $(wc -c <"$t/host.out") bytes"
done_testing
