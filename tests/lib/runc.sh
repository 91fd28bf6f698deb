# runc.sh - make OCI bundles and run real runc containers in tests.
#
# Source it after tap.sh. Every container lives in a private state dir
# (`runc --root`), so tests never see or touch anyone else's containers,
# and rv_runc_cleanup (call it from your EXIT trap) kills and deletes
# every container this script started, then unmounts nothing it did not
# mount. Needs: runc, jq, root.
#
#   rv_runc_init DIR            state under DIR/runc-state (DIR: your temp dir)
#   rv_runc_bundle B UID GID ARG...
#                               B/config.json from `runc spec`, edited: no
#                               terminal, user UID:GID, no capabilities at
#                               all, noNewPrivileges, read-only root, args
#                               ARG...; B/rootfs is created empty
#   rv_runc_edit B JQ [JQ-ARGS...]
#                               apply a jq filter to B/config.json
#   rv_runc_bind B SRC DEST [ro|rw]
#                               add a bind mount of host SRC at DEST
#   rv_runc_join_pidns B PID    the container joins PID's PID namespace
#   rv_runc_detach ID B         start a detached container; sets RV_RUNC_PID
#                               (its init's host pid); output to B/out, B/err
#   rv_runc_run ID B            run in the foreground; stdout/stderr pass
#                               through, the status is the container's exit
#   rv_runc_cleanup             kill -9 and delete every container started
#
# Container ids carry the shell's pid, so parallel test runs do not clash.

RV_RUNC_STATE=
RV_RUNC_IDS=()

rv_runc_init() {
	RV_RUNC_STATE=$1/runc-state
	mkdir -p "$RV_RUNC_STATE"
	chmod 0700 "$RV_RUNC_STATE"
}

rv_runc() {
	runc --root "$RV_RUNC_STATE" "$@"
}

# The id the test names ("target") made unique to this run.
rv_runc_id() {
	printf 'rvt-%s-%s' "$$" "$1"
}

rv_runc_edit() {
	local b=$1 filter=$2
	shift 2
	jq "$@" "$filter" "$b/config.json" >"$b/config.json.new" &&
		mv "$b/config.json.new" "$b/config.json"
}

rv_runc_bundle() {
	local b=$1 uid=$2 gid=$3 args
	shift 3
	# one JSON string per argument (jq's --args would take "--root" as its
	# own option)
	args=$(for a in "$@"; do jq -n --arg a "$a" '$a'; done | jq -s -c .) ||
		return 1
	mkdir -p "$b/rootfs" || return 1
	rm -f "$b/config.json"
	runc spec --bundle "$b" || return 1
	rv_runc_edit "$b" '
		.process.terminal = false
		| .process.user = {uid: $uid, gid: $gid}
		| .process.args = $args
		| .process.env = ["PATH=/bin"]
		| .process.capabilities = {bounding: [], effective: [],
			inheritable: [], permitted: [], ambient: []}
		| .process.noNewPrivileges = true
		| .root = {path: "rootfs", readonly: true}
		| .hostname = "rv-test"' \
		--argjson uid "$uid" --argjson gid "$gid" --argjson args "$args"
}

rv_runc_bind() {
	local b=$1 src=$2 dest=$3 mode=${4:-ro}
	rv_runc_edit "$b" '.mounts += [{destination: $dest, type: "bind",
		source: $src, options: ["bind", $mode, "nosuid", "nodev"]}]' \
		--arg src "$src" --arg dest "$dest" --arg mode "$mode"
}

rv_runc_join_pidns() {
	rv_runc_edit "$1" '.linux.namespaces |= map(if .type == "pid"
		then {type: "pid", path: $p} else . end)' \
		--arg p "/proc/$2/ns/pid"
}

rv_runc_detach() {
	local id b=$2
	id=$(rv_runc_id "$1")
	RV_RUNC_IDS+=("$id")
	RV_RUNC_PID=
	rv_runc run -d --bundle "$b" --pid-file "$b/pid" "$id" \
		</dev/null >"$b/out" 2>"$b/err" || return 1
	RV_RUNC_PID=$(cat "$b/pid") || return 1
	[ -n "$RV_RUNC_PID" ]
}

rv_runc_run() {
	local id b=$2
	id=$(rv_runc_id "$1")
	RV_RUNC_IDS+=("$id")
	rv_runc run --bundle "$b" "$id" </dev/null
}

rv_runc_cleanup() {
	local id
	[ -n "$RV_RUNC_STATE" ] || return 0
	for id in "${RV_RUNC_IDS[@]}"; do
		rv_runc kill "$id" KILL >/dev/null 2>&1
	done
	for id in "${RV_RUNC_IDS[@]}"; do
		rv_runc delete -f "$id" >/dev/null 2>&1
	done
	RV_RUNC_IDS=()
}
