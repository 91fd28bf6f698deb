#!/bin/bash
# sbom_runc.sh - packages installed inside a running container (runc exec) show up as package drift against its image
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/../lib/runc.sh"
t=$(mktemp -d)
trap 'rv_runc_cleanup; rm -rf "$t"' EXIT
rv_runc_init "$t"

# The "image": a static busybox, the host's dpkg database, os-release and
# one Python distribution. The container runs it with a writable root,
# as uid 0 without any capability.
b=$t/target
r=$b/rootfs
rv_runc_bundle "$b" 0 0 /bin/busybox sleep 600
rv_runc_edit "$b" '.root.readonly = false'
mkdir -p "$r/bin" "$r/etc" "$r/var/lib/dpkg" "$r/usr/lib/python3/dist-packages/six-1.16.0.dist-info"
cp /bin/busybox "$r/bin/busybox"
cp /var/lib/dpkg/status "$r/var/lib/dpkg/status"
cp -L /etc/os-release "$r/etc/os-release"
printf 'Metadata-Version: 2.1\nName: six\nVersion: 1.16.0\n' \
	>"$r/usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA"
"$RV" sbom --name image "$r" >"$t/image.json"
is "$?" 0 "the image's BOM"

rv_runc_detach target "$b"
check "the container runs" test -d "/proc/$RV_RUNC_PID/root/bin"
# What a runtime install leaves: a dist-info dropped into site-packages
# (pip install) and a stanza added to dpkg's status file (dpkg -i)
rv_runc exec "$(rv_runc_id target)" /bin/busybox sh -c '
	set -e
	d=/usr/lib/python3/dist-packages/evil_pkg-6.6.6.dist-info
	/bin/busybox mkdir -p "$d"
	printf "Metadata-Version: 2.1\nName: evil_pkg\nVersion: 6.6.6\n" >"$d/METADATA"
	printf "\nPackage: backdoor\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0-1\n" \
		>>/var/lib/dpkg/status' >"$t/exec.out" 2>&1
is "$?" 0 "runc exec installed two packages inside the container"

# The running container's filesystem as the host sees it: /proc/PID/root
# (the probe will read the same files through its own /proc/1/root)
"$RV" sbom --name running "/proc/$RV_RUNC_PID/root" >"$t/running.json" 2>"$t/err"
is "$?" 0 "the running container's BOM, read through /proc/PID/root"
is "$(cat "$t/err")" "" "with no warning (proc, sys, dev mounts are not descended)"
"$RV" sbom --diff "$t/image.json" "$t/running.json" >"$t/diff"
is "$?" 1 "sbom --diff reports package drift"
. /etc/os-release
cat >"$t/want" <<EOT
high    added   pkg:deb/$ID/backdoor@1.0-1?arch=amd64&distro=$ID-$VERSION_ID
high    added   pkg:pypi/evil-pkg@6.6.6
EOT
same_file "$t/diff" "$t/want" "both runtime installs, as high"
done_testing
