#!/bin/bash
# probe_btrfs.sh - a btrfs subvolume is not a mount point. Any uid that
# can write a directory on btrfs can make a subvolume there (its own
# st_dev, no mount); if the walk took "another device" for a mount it
# would record "mount point, not descended" and never look inside, and a
# package database hidden there would be left out of the comparable digest.
# The kernel's STATX_ATTR_MOUNT_ROOT is what says "mount" (docs/walker.md,
# "Mount points"). On a loop-mounted btrfs image: rv-probe --root on the
# host, and the same rootfs as a real runc container probed through
# /proc/1/root; a real mount (tmpfs) beside the subvolumes stays a mount.
# Needs root, btrfs-progs, a loop device, runc, jq, busybox-static.
set -u
here=$(dirname "$0")
source "$here/../lib/tap.sh"
source "$here/../lib/runc.sh"

t=$(mktemp -d /tmp/rv-probe-btrfs.XXXXXX)
fs=$t/fs
cleanup() {
	rv_runc_cleanup
	umount -l "$fs/rootfs/app/mnt" 2>/dev/null
	umount -l "$fs" 2>/dev/null
	rm -rf --one-file-system "$t"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
chmod 0755 "$t"
rv_runc_init "$t"
BUSYBOX=${BUSYBOX:-/bin/busybox}

check "rv-probe is built" [ -x "$RV_PROBE" ]
mkdir -p "$fs"
truncate -s 160M "$t/btrfs.img"
check "mkfs.btrfs" bash -c 'mkfs.btrfs -q "$1" >/dev/null 2>&1' _ "$t/btrfs.img"
check "loop-mount the btrfs image" mount -o loop "$t/btrfs.img" "$fs"

# --- the tree: an image-like rootfs on btrfs ----------------------------------
R=$fs/rootfs
mkdir -p "$R/bin" "$R/app" "$R/app/mnt" "$R/opt"
cp "$BUSYBOX" "$R/bin/busybox"
printf 'main\n' >"$R/app/main.txt"
chmod -R a+rX "$R"
chown 1000:1000 "$R/app" "$R/opt"
# uid 1000 makes the subvolumes itself: no privilege needed
as1000() { setpriv --reuid=1000 --regid=1000 --clear-groups -- "$@"; }
check "uid 1000 creates a subvolume in /app" as1000 btrfs -q subvolume create "$R/app/sub"
check "uid 1000 creates a subvolume in /opt" as1000 btrfs -q subvolume create "$R/opt/hide"
as1000 sh -c 'printf "hidden\n" >"$1/app/sub/hidden.txt" &&
	mkdir -p "$1/opt/hide/site/evil-6.6.6.dist-info" &&
	printf "Metadata-Version: 2.1\nName: evil\nVersion: 6.6.6\n" \
		>"$1/opt/hide/site/evil-6.6.6.dist-info/METADATA"' _ "$R"
is "$(stat -c %d "$R/app/sub")" "$(stat -c %d "$R/app/sub/hidden.txt")" "(the subvolume's files are on its device)"
check "(a subvolume has its own st_dev)" [ "$(stat -c %d "$R/app")" != "$(stat -c %d "$R/app/sub")" ]
check_fails "(and is no mount point)" mountpoint -q "$R/app/sub"
# a real mount beside them
mount -t tmpfs -o mode=0755 tmpfs "$R/app/mnt"
printf 'volume\n' >"$R/app/mnt/vol.txt"

# --- rv-probe --root on the host ----------------------------------------------
"$RV_PROBE" --root "$R" --path /app --packages --termination-log "$t/host.log" \
	>"$t/host.out" 2>"$t/host.err"
is "$?" 0 "rv-probe --root on btrfs: exit 0"
"$RV" decode "$t/host.out" --summary "$t/host.log" >"$t/host.man" 2>"$t/host.derr"
is "$?" 0 "the manifest frame decodes"
like "$(grep ' /app/sub$' "$t/host.man")" '^dir ' "/app/sub (a subvolume) is a dir, not a mount"
check "…and was descended: /app/sub/hidden.txt is in the manifest" grep -q '^file .* /app/sub/hidden.txt$' "$t/host.man"
like "$(grep ' /app/mnt$' "$t/host.man")" '^mount ' "/app/mnt (a tmpfs) is still a mount"
check_fails "…and was not descended" grep -q ' /app/mnt/vol.txt$' "$t/host.man"
"$RV" decode --packages "$t/host.out" --summary "$t/host.log" --format dbset \
	>"$t/host.dbset" 2>/dev/null
check "the package search read the database in the subvolume /opt/hide" \
	grep -aq '^file [0-9]* [0-9a-f]* /opt/hide/site/evil-6.6.6.dist-info/METADATA$' "$t/host.dbset"
check_fails "no 'mount point' record for a subvolume" grep -aq '^fail /opt/hide\|^fail /app/sub' "$t/host.dbset"
is "$(grep -a '^fail ' "$t/host.dbset")" "fail /app/mnt mount point, not descended" \
	"the one fail record is the real mount"

# --- the same rootfs as a runc container, probed through /proc/1/root ------------
umount "$R/app/mnt"
TB=$fs/target
mkdir -p "$TB"
rv_runc_bundle "$TB" 1000 1000 /bin/busybox sleep 600
rmdir "$TB/rootfs" && mv "$R" "$TB/rootfs"
R=$TB/rootfs
rv_runc_detach target "$TB"
TPID=$RV_RUNC_PID
check "target container runs" bash -c '[ -n "$1" ] && kill -0 "$1"' _ "$TPID"
PB=$t/probe
rv_runc_bundle "$PB" 1000 1000 /rv-probe --root /proc/1/root --path /app --packages \
	--termination-log /dev/termination-log
cp "$RV_PROBE" "$PB/rootfs/rv-probe" && chmod 0755 "$PB/rootfs/rv-probe"
: >"$t/c.log"
chown 1000:1000 "$t/c.log"
rv_runc_bind "$PB" "$t/c.log" /dev/termination-log rw
rv_runc_join_pidns "$PB" "$TPID"
rv_runc_run probe "$PB" >"$t/c.out" 2>"$t/c.err"
is "$?" 0 "rv-probe in a container: exit 0"
sed 's/^/# probe stderr: /' "$t/c.err" | head -3
"$RV" decode "$t/c.out" --summary "$t/c.log" >"$t/c.man" 2>/dev/null
check "in the container: /app/sub/hidden.txt is in the manifest" grep -q '^file .* /app/sub/hidden.txt$' "$t/c.man"
"$RV" decode --packages "$t/c.out" --summary "$t/c.log" --format dbset >"$t/c.dbset" 2>/dev/null
check "in the container: the database in the subvolume is in the set" \
	grep -aq '^file [0-9]* [0-9a-f]* /opt/hide/site/evil-6.6.6.dist-info/METADATA$' "$t/c.dbset"
check_fails "in the container: no 'mount point' record for a subvolume" \
	grep -aq '^fail /opt/hide\|^fail /app/sub' "$t/c.dbset"
"$RV" decode --packages "$t/c.out" --format text >"$t/c.txt" 2>/dev/null
check "the catalogue has pkg:pypi/evil@6.6.6" grep -q '^pkg:pypi/evil@6.6.6' "$t/c.txt"
done_testing
