#!/bin/bash
# probe_runc.sh - rv-probe in real runc containers: proves the kernel rule
# for /proc/1/root in docs (DESIGN.md, "The probe").
#
# A target container runs `sleep` as uid 1000 in its own PID namespace,
# with no capabilities. Probe containers join that PID namespace with
# nothing in their rootfs but /rv-probe, read-only, no capabilities,
# noNewPrivileges:
#   - as uid 1000 gid 1000 they read /proc/1/root/app, and absolute
#     symlinks resolve inside the target's root, not the probe's (which has
#     no /etc at all) nor the host's;
#   - as uid 1001, as gid 1001, against a target that holds a capability
#     the probe lacks, or against a non-dumpable target, the kernel says
#     EACCES and the result is never "complete".
# The target's rootfs is an overlay of two "image layers" and a container
# layer, as containerd makes it, with a volume (a bind-mounted dir) and a
# bind-mounted file (like /etc/hosts) below /app: the probe must record
# those two as `mount` and see everything else as the host does.
# Needs root, runc, jq, busybox-static.
set -u
here=$(dirname "$0")
source "$here/../lib/tap.sh"
source "$here/../lib/runc.sh"

# same A B DESC: same_file, and A must not be empty (two empty outputs of
# a broken run are not a pass).
same() {
	if [ ! -s "$1" ]; then
		not_ok "$3"
		echo "# $1 is empty"
	else
		same_file "$@"
	fi
}

t=$(mktemp -d /tmp/rv-probe-runc.XXXXXX)
holder=
overlay=
cleanup() {
	rv_runc_cleanup
	[ -n "$holder" ] && kill "$holder" 2>/dev/null
	[ -n "$overlay" ] && umount "$overlay" 2>/dev/null
	rm -rf --one-file-system "$t"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
chmod 0755 "$t"
rv_runc_init "$t"
BUSYBOX=${BUSYBOX:-/bin/busybox}
sha_of() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
file_sha() { sha256sum <"$1" | cut -d' ' -f1; }

check "rv-probe is built" [ -x "$RV_PROBE" ]
check "rv-probe is static (no program interpreter)" \
	bash -c '! readelf -lW "$1" | grep -q "INTERP"' _ "$RV_PROBE"
check "busybox is static" bash -c '! readelf -lW "$1" | grep -q "INTERP"' _ "$BUSYBOX"
check_fails "the host has no /etc/only-in-target" [ -e /etc/only-in-target ]

# --- the target: /app as an image would ship it ------------------------------
# target_bundle DIR UID GID [CAP]: busybox sleep 600, optionally holding CAP.
target_bundle() {
	local b=$1 r=$1/rootfs
	rv_runc_bundle "$b" "$2" "$3" /bin/busybox sleep 600 || return 1
	if [ -n "${4:-}" ]; then
		rv_runc_edit "$b" '.process.capabilities = {bounding: [$c],
			effective: [$c], inheritable: [$c], permitted: [$c],
			ambient: [$c]}' --arg c "$4" || return 1
	fi
	mkdir -p "$r/bin" "$r/etc" "$r/app/bin" "$r/app/private" "$r/app/data"
	cp "$BUSYBOX" "$r/bin/busybox"
	echo 'this file exists only in the target' >"$r/etc/only-in-target"
	echo 'public' >"$r/app/public.txt"
	echo 'for uid 1000 only' >"$r/app/secret-1000"
	chown 1000:1000 "$r/app/secret-1000"
	chmod 0600 "$r/app/secret-1000"
	echo 'inside a 0700 dir' >"$r/app/private/key"
	chown -R 1000:1000 "$r/app/private"
	chmod 0700 "$r/app/private"
	cp "$BUSYBOX" "$r/app/bin/tool"
	head -c 1000000 /dev/urandom >"$r/app/data/blob"
	printf 'name with\nnewline' >"$r/app/data/$(printf 'odd\nname')"
	ln -s /etc/only-in-target "$r/app/link"
	ln -s /etc "$r/app/etcdir"
	ln -s ../../../../../../etc "$r/app/escape"
	chmod 4755 "$r/app/bin/tool"
}

TB=$t/target
target_bundle "$TB" 1000 1000
R=$TB/rootfs
# Turn the rootfs into an overlay: layer 1 = everything but /app, layer 2
# = /app, upper = the container's changes (one file changed, one deleted).
mkdir -p "$TB/l1" "$TB/l2" "$TB/upper/app" "$TB/work"
mv "$R/app" "$TB/l2/app"
mv "$R"/* "$TB/l1/"
echo 'removed by the container' >"$TB/l2/app/removed"
mkdir "$TB/l2/app/config"
echo 'hidden under the volume' >"$TB/l2/app/config/shadowed"
: >"$TB/l2/app/hosts"
echo 'changed in the container layer' >"$TB/upper/app/public.txt"
mknod "$TB/upper/app/removed" c 0 0      # an overlay whiteout
mount -t overlay rv-probe-runc -o "lowerdir=$TB/l2:$TB/l1,upperdir=$TB/upper,workdir=$TB/work" "$R" &&
	overlay=$R
check "the target rootfs is an overlay" mountpoint -q "$R"
# the volumes
mkdir -p "$t/vol-config"
echo 'key: value' >"$t/vol-config/app.yaml"
chown 0:1000 "$t/vol-config"
chmod 0750 "$t/vol-config"
printf '127.0.0.1 localhost\n' >"$t/vol-hosts"
chmod 0644 "$t/vol-hosts"
rv_runc_bind "$TB" "$t/vol-config" /app/config ro
rv_runc_bind "$TB" "$t/vol-hosts" /app/hosts ro
rv_runc_detach target "$TB"
TPID=$RV_RUNC_PID
check "target container runs (detached)" bash -c '[ -n "$1" ] && kill -0 "$1"' _ "$TPID"
like "$(grep -E '^Uid:' /proc/"$TPID"/status 2>/dev/null | tr -s '\t ' ' ')" \
	'^Uid: 1000 1000 1000 1000$' "target runs as uid 1000 (real, effective, saved)"
like "$(grep -E '^CapPrm:' /proc/"$TPID"/status 2>/dev/null | tr -s '\t ' ' ')" \
	'^CapPrm: 0+$' "target has no permitted capabilities"
check "target has its own PID namespace" \
	[ "$(readlink /proc/"$TPID"/ns/pid)" != "$(readlink /proc/self/ns/pid)" ]

# --- probe containers -----------------------------------------------------------
# probe NAME UID GID TARGET-PID ARGS...: run rv-probe in a container that
# joins the target's PID namespace. Output in $t/NAME.{out,err,log,rc}.
probe() {
	local name=$1 uid=$2 gid=$3 tpid=$4 b=$t/probe-$1
	shift 4
	echo setup-failed >"$t/$name.rc"
	: >"$t/$name.log"
	: >"$t/$name.out"
	: >"$t/$name.err"
	rm -rf "$b"
	rv_runc_bundle "$b" "$uid" "$gid" /rv-probe "$@" \
		--termination-log /dev/termination-log || return 1
	cp "$RV_PROBE" "$b/rootfs/rv-probe" || return 1
	chmod 0755 "$b/rootfs/rv-probe"
	chown "$uid:$gid" "$t/$name.log"
	rv_runc_bind "$b" "$t/$name.log" /dev/termination-log rw
	rv_runc_join_pidns "$b" "$tpid"
	if [ -n "${PROBE_ENOSYS:-}" ]; then
		# a seccomp profile that makes these syscalls fail with ENOSYS,
		# as on an old kernel or under a strict runtime profile
		rv_runc_edit "$b" '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW",
			architectures: ["SCMP_ARCH_X86_64"], syscalls: [{names: $n,
			action: "SCMP_ACT_ERRNO", errnoRet: 38}]}' \
			--argjson n "$(printf '%s\n' $PROBE_ENOSYS | jq -R . | jq -s -c .)"
	fi
	rv_runc_run "$name" "$b" >"$t/$name.out" 2>"$t/$name.err"
	echo $? >"$t/$name.rc"
	sed 's/^/# probe stderr: /' "$t/$name.err" | head -5
	sed 's/^/# termination log: /' "$t/$name.log" | head -2
}
rc_of() { cat "$t/$1.rc"; }
summary_of() { head -n1 "$t/$1.log"; }

# decode NAME: the probe's log through runtime-verifier decode into $t/NAME.man
decode() {
	"$RV" decode "$t/$1.out" --summary "$t/$1.log" >"$t/$1.man" 2>"$t/$1.decode.err"
}

# has_line FILE LINE DESC
has_line() {
	if grep -qxF -- "$2" "$1"; then
		ok "$3"
	else
		not_ok "$3"
		echo "# wanted: $2"
		grep -F -- "${2##* }" "$1" | sed 's/^/# got:    /' | head -3
	fi
}

# 1. same uid, gid and capabilities: allowed.
probe u1000 1000 1000 "$TPID" --root /proc/1/root --path /app
is "$(rc_of u1000)" 0 "uid 1000 probe: exit 0"
like "$(summary_of u1000)" \
	'^rv-probe 1 root=[0-9a-f]{64} entries=[0-9]+ .*errors=0 .*status=complete$' \
	"uid 1000 probe: summary says errors=0 status=complete"
check "uid 1000 probe: summary fits a termination message (<= 4096 bytes)" \
	[ "$(wc -c <"$t/u1000.log")" -le 4096 ]
check "the probe's own rootfs has no /etc and no /app" \
	[ ! -e "$t/probe-u1000/rootfs/etc" -a ! -e "$t/probe-u1000/rootfs/app" ]
decode u1000
is "$?" 0 "runtime-verifier decode accepts the probe's log and summary"
sed 's/^/# decode: /' "$t/u1000.decode.err" | head -3
has_line "$t/u1000.man" \
	"symlink 0777 0:0 19 $(sha_of /etc/only-in-target) /app/link" \
	"/app/link is a symlink whose digest is sha256('/etc/only-in-target')"
has_line "$t/u1000.man" \
	"file 0600 1000:1000 18 $(file_sha "$R/app/secret-1000") /app/secret-1000" \
	"the 0600 uid-1000 file is read through /proc/1/root and its hash = host's"
has_line "$t/u1000.man" \
	"file 0644 1000:1000 18 $(file_sha "$R/app/private/key") /app/private/key" \
	"a file in a 0700 uid-1000 dir is read"
has_line "$t/u1000.man" \
	"elf 4755 0:0 $(stat -c %s "$R/app/bin/tool") $(file_sha "$R/app/bin/tool") /app/bin/tool" \
	"a setuid ELF is recorded as elf 4755 with the host's hash"
has_line "$t/u1000.man" "mount 0750 0:1000 0 - /app/config" \
	"a volume (bind-mounted dir) in the target is a mount, not descended"
has_line "$t/u1000.man" "mount 0644 0:0 0 - /app/hosts" \
	"a bind-mounted file in the target is a mount"
has_line "$t/u1000.man" \
	"file 0644 0:0 31 $(file_sha "$TB/upper/app/public.txt") /app/public.txt" \
	"a file changed in the container layer has its new hash"
check_fails "a file deleted in the container layer is not listed" grep -q ' /app/removed$' "$t/u1000.man"
# The host sees the same overlay, without the container's volumes: its
# manifest with those two entries turned into mounts is the probe's.
"$RV" fingerprint "$R" --path /app 2>"$t/host.err" |
	awk '$NF == "/app/config" { print "mount 0750 0:1000 0 - /app/config"; next }
	     $NF ~ /^\/app\/config\// { next }
	     $NF == "/app/hosts" { print "mount 0644 0:0 0 - /app/hosts"; next }
	     { print }' >"$t/host.man"
check "the host-side manifest lists the shadowed image file" \
	grep -q ' /app/config/shadowed$' <("$RV" fingerprint "$R" --path /app 2>/dev/null)
same "$t/u1000.man" "$t/host.man" \
	"the probe's manifest = the host's fingerprint of the target rootfs (volumes as mounts)"
like "$(summary_of u1000)" "root=$(sha256sum <"$t/host.man" | cut -d' ' -f1) " \
	"summary root hash = sha256 of that manifest"
like "$(summary_of u1000)" "entries=$(($(wc -l <"$t/host.man") - 1)) .*mounts=2 " \
	"summary counts: every entry, two mounts"

# 2. absolute and escaping symlinks resolve inside the target's root.
target_sha=$(file_sha "$R/etc/only-in-target")
probe etc 1000 1000 "$TPID" --root /proc/1/root --path /etc
is "$(rc_of etc)" 0 "--path /etc: exit 0"
decode etc
has_line "$t/etc.man" "file 0644 0:0 36 $target_sha /etc/only-in-target" \
	"--path /etc is the target's /etc (the probe has none, the host's lacks the file)"
for via in /app/etcdir/only-in-target /app/escape/only-in-target; do
	probe via 1000 1000 "$TPID" --root /proc/1/root --path "$via"
	decode via
	like "$(grep -F " $via" "$t/via.man")" "^file 0644 0:0 36 $target_sha $via\$" \
		"--path $via: a symlink in a leading component resolves in the target's root"
done
probe linklast 1000 1000 "$TPID" --root /proc/1/root --path /app/link
decode linklast
has_line "$t/linklast.man" "symlink 0777 0:0 19 $(sha_of /etc/only-in-target) /app/link" \
	"--path /app/link records the link itself, never follows it"

# 2b. the same where the kernel (here: seccomp) refuses openat2 and statx:
# the careful fallback must give the same bytes and resolve the same way.
PROBE_ENOSYS="openat2 statx readlinkat readlink" probe control 1000 1000 "$TPID" --root /proc/1/root --path /app
is "$(rc_of control)" 1 "control: the seccomp profile applies to rv-probe (without readlinkat: exit 1)"
like "$(cat "$t/control.log")" 'symlinks=3 .*errors=3 .*status=incomplete$' \
	"control: without readlinkat the 3 symlinks are errors"
PROBE_ENOSYS="openat2 statx" probe fallback 1000 1000 "$TPID" --root /proc/1/root --path /app
is "$(rc_of fallback)" 0 "without openat2 and statx: exit 0"
decode fallback
same "$t/fallback.man" "$t/u1000.man" "without openat2 and statx: the same manifest (mounts included)"
for via in /app/etcdir/only-in-target /app/escape/only-in-target; do
	PROBE_ENOSYS="openat2 statx" probe fallback 1000 1000 "$TPID" --root /proc/1/root --path "$via"
	decode fallback
	like "$(grep -F " $via" "$t/fallback.man")" "^file 0644 0:0 36 $target_sha $via\$" \
		"without openat2: --path $via still resolves in the target's root"
done

# 3. path tricks are refused, never half-done.
for bad in /app/link/.. /app/../etc /app/./link app; do
	probe trick 1000 1000 "$TPID" --root /proc/1/root --path "$bad"
	check "--path '$bad' is refused (non-zero exit)" [ "$(rc_of trick)" != 0 ]
	check_fails "--path '$bad' never says status=complete" grep -q 'status=complete' "$t/trick.log"
	check_fails "--path '$bad' leaves no decodable manifest" \
		bash -c '"$1" decode "$2" >/dev/null 2>&1' _ "$RV" "$t/trick.out"
done

# 4. another uid, another gid, or fewer capabilities: the kernel says no.
probe u1001 1001 1001 "$TPID" --root /proc/1/root --path /app
like "$(rc_of u1001)" '^[12]$' "uid 1001 probe: exit 1 or 2"
like "$(cat "$t/u1001.err" "$t/u1001.log" | tr '\n' ' ')" 'EACCES|[Pp]ermission denied' \
	"uid 1001 probe: says permission denied"
check_fails "uid 1001 probe: never status=complete" grep -q 'status=complete' "$t/u1001.log"
probe g1001 1000 1001 "$TPID" --root /proc/1/root --path /app
like "$(rc_of g1001)" '^[12]$' "uid 1000 gid 1001 probe: refused (exit 1 or 2)"
check_fails "uid 1000 gid 1001 probe: never status=complete" grep -q 'status=complete' "$t/g1001.log"

TB2=$t/target-cap
target_bundle "$TB2" 1000 1000 CAP_NET_BIND_SERVICE
rv_runc_detach target-cap "$TB2"
TPID2=$RV_RUNC_PID
like "$(grep -E '^CapPrm:' /proc/"$TPID2"/status 2>/dev/null | tr -s '\t ' ' ')" \
	'^CapPrm: 0+400$' "second target holds CAP_NET_BIND_SERVICE"
probe capless 1000 1000 "$TPID2" --root /proc/1/root --path /app
like "$(rc_of capless)" '^[12]$' "probe without the target's capability: refused (exit 1 or 2)"
like "$(cat "$t/capless.err" "$t/capless.log" | tr '\n' ' ')" 'EACCES|[Pp]ermission denied' \
	"probe without the target's capability: says permission denied"
check_fails "probe without the target's capability: never status=complete" \
	grep -q 'status=complete' "$t/capless.log"

# A target that is not dumpable: its binary is execute-only for its uid
# (mode 0711), so the kernel marks the process non-dumpable at exec.
TB3=$t/target-nodump
target_bundle "$TB3" 1000 1000
chmod 0711 "$TB3/rootfs/bin/busybox"
rv_runc_detach target-nodump "$TB3"
TPID3=$RV_RUNC_PID
is "$(stat -c %u /proc/"$TPID3"/status 2>/dev/null)" 0 \
	"third target is not dumpable (its /proc entry belongs to root)"
probe nodump 1000 1000 "$TPID3" --root /proc/1/root --path /app
like "$(rc_of nodump)" '^[12]$' "probe of a non-dumpable target: refused (exit 1 or 2)"
like "$(cat "$t/nodump.err" "$t/nodump.log" | tr '\n' ' ')" 'EACCES|[Pp]ermission denied' \
	"probe of a non-dumpable target: says permission denied"
check_fails "probe of a non-dumpable target: never status=complete" \
	grep -q 'status=complete' "$t/nodump.log"

# --- the probe makes itself non-dumpable before anything else -----------------
# A non-dumpable process's /proc/PID files belong to root. Block rv-probe
# (as uid 1000) on a full stdout pipe and look at its /proc entry.
mkdir -p "$t/many/app"
(cd "$t/many/app" && for i in $(seq 3000); do echo "$i" >"f$i"; done)
mkfifo "$t/hold"
setpriv --reuid=1000 --regid=1000 --clear-groups -- "$RV_PROBE" --root "$t/many" \
	--path /app --termination-log /dev/null >"$t/hold" 2>/dev/null &
ppid=$!
exec 9<"$t/hold"    # open the reader, but read nothing: the pipe fills up
holder=$ppid
# wait until setpriv has exec'd rv-probe and it sleeps (on the full pipe)
for _ in $(seq 100); do
	[ "$(cat /proc/$ppid/comm 2>/dev/null)" = rv-probe ] &&
		[ "$(awk '/^State:/ {print $2}' /proc/$ppid/status 2>/dev/null)" = S ] && break
	sleep 0.05
done
is "$(cat /proc/$ppid/comm 2>/dev/null)" rv-probe "rv-probe is running (asleep: its stdout pipe is full)"
is "$(awk '/^Uid:/ {print $2}' /proc/$ppid/status 2>/dev/null)" 1000 "blocked rv-probe runs as uid 1000"
is "$(stat -c %u /proc/$ppid/status 2>/dev/null)" 0 \
	"rv-probe is not dumpable (its /proc entry belongs to root, not uid 1000)"
cat <&9 >/dev/null
exec 9<&-
wait "$ppid"
is "$?" 0 "the blocked rv-probe finishes once read"
holder=

done_testing
