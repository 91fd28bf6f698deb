#!/bin/bash
# sandbox_perf.sh - a scenario with 50 pods comes up in under a minute on
# this machine (2 shared cores), and goes down cleanly. The figures are
# printed as TAP comments; docs/sandbox.md records them.
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/../sandbox/lib.sh"

sandbox_start
t0=$(date +%s%N)
"$SBX" load "$SBX_HOME/scenarios/fifty.json" >/dev/null
t1=$(date +%s%N)
"$SBX" wait -n load --timeout 120 >/dev/null
t2=$(date +%s%N)
ms=$(((t2 - t0) / 1000000))
echo "# build+push+create: $(((t1 - t0) / 1000000)) ms; 50 pods Running and Ready: $ms ms (load average $(cut -d' ' -f1 /proc/loadavg))"
check "50 pods Running in under 60 s ($ms ms)" test "$ms" -lt 60000
pods=$(sbx_json GET /api/v1/namespaces/load/pods)
is "$(jq '[.items[] | select(.status.phase=="Running")] | length' <<<"$pods")" 50 "all 50 are Running"
is "$(jq -r '[.items[].status.containerStatuses[0].containerID] | unique | length' <<<"$pods")" 50 "as 50 distinct containers"
is "$("${RUNC[@]:-runc}" --root "$SANDBOX_DIR/runc" list -q | wc -l)" 50 "runc lists 50 containers"
is "$(jq -r '[.items[].status.containerStatuses[0].imageID] | unique | length' <<<"$pods")" 1 "with one imageID"
t3=$(date +%s%N)
"$SBX" down
t4=$(date +%s%N)
echo "# sandboxctl down with 50 pods: $(((t4 - t3) / 1000000)) ms"
check_fails "down removed everything" test -e "$SANDBOX_DIR"
done_testing
