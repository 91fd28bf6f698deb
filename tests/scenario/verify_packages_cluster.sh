#!/bin/bash
# verify_packages_cluster.sh - package drift in verify, end to end on the
# real test cluster (tests/cluster): the probe's package databases (rv-probe
# --packages through the pod's /proc/1/root) against those read from the
# image's layers, for pods the real kubelet runs under containerd and runc,
# changed the way an intruder would (runc exec into the container): busybox
# dpkg -i of a real .deb, a dist-info dropped into site-packages, an npm
# package upgraded in place. The port of verify_packages.sh: every
# assertion kept; real-cluster differences are TAP TODOs.
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/../cluster/testlib.sh"
set -u

work=$(mktemp -d "${TMPDIR:-/tmp}/rv-verify-pkgs.XXXXXX")
cleanup() {
	cluster_stop
	rm -rf "$work"
}
trap cleanup EXIT

T0=$(date +%s)
cluster_start
"$SCN" load "$RV_TOP/tests/sandbox/scenarios/packages.json" > "$work/loaded.json" ||
	{ not_ok "scenarioctl load packages.json"; exit 1; }
"$SCN" wait -n shop --timeout 120 >/dev/null || not_ok "the shop pods run"
PROBE="$CLUSTER_REGISTRY/rv/probe:dev"
cat > "$work/config.yaml" <<CFG
probe:
  maxEphemeralContainers: 100
timeouts:
  probe: 60s
CFG
verify() {
	"$RV" verify --kubeconfig "$KUBECONFIG" --probe-image "$PROBE" -n shop \
		--insecure-registry "$CLUSTER_REGISTRY" --config "$work/config.yaml" --no-annotate \
		-o json "$@" > "$work/r.json" 2> "$work/err"
}
jqr() { jq -r "$@" "$work/r.json"; }
c0() { jqr --arg p "$1" '.pods[] | select(.name==$p) | .containers[0] | '"$2"; }
dump() { jqr --arg p "$1" '.pods[] | select(.name==$p)' | sed 's/^/# /'; }
validate() {
	python3 - "$RV_TOP/docs/report.schema.json" "$work/r.json" <<'PY'
import json, sys, jsonschema
jsonschema.validate(json.load(open(sys.argv[2])), json.load(open(sys.argv[1])))
PY
}

# --- 1. unchanged pods: equal package sets, no log read -------------------------
verify -l app=pkgs
is "$?" 0 "four unchanged pods: exit 0"
is "$(jqr '.summary.clean')" 4 "all four are clean"
is "$(jqr '[.pods[].containers[0].packages.equal] | all')" true \
	"each pod's package databases equal the image's (comparable digests)"
is "$(jqr '[.pods[].containers[0].packages.databases] | unique | join(",")')" 4 \
	"four databases on each side: os-release, dpkg status, a dist-info, a package.json"
is "$(jqr '.stats.apiRequests')" 9 \
	"API requests: one list, then a patch and a watch per pod (1 + 2 x 4): no probe log was read"
check "the report validates against docs/report.schema.json" validate

# --- 2. changes made inside the running containers ------------------------------
mkdir -p "$work/deb/DEBIAN" "$work/deb/usr/bin"
printf 'Package: rv-evil\nVersion: 1.0-1\nArchitecture: all\nMaintainer: Mallory <m@example.invalid>\nDescription: installed at runtime\n' \
	> "$work/deb/DEBIAN/control"
printf '#!/bin/sh\necho evil\n' > "$work/deb/usr/bin/evil"
chmod 755 "$work/deb/usr/bin/evil"
dpkg-deb --root-owner-group -Zgzip --build "$work/deb" "$work/evil.deb" >/dev/null
"$SCN" drift shop pkg-0 app put /tmp/evil.deb "$work/evil.deb"
"$SCN" drift shop pkg-0 app exec /bin/dpkg -i /tmp/evil.deb > "$work/dpkg.out" 2>&1
is "$?" 0 "busybox dpkg -i installs a real .deb inside pod pkg-0"
"$SCN" drift shop pkg-1 app write /usr/local/lib/python3.11/site-packages/requests2-2.31.0.dist-info/METADATA \
	"$(printf 'Metadata-Version: 2.1\nName: requests2\nVersion: 2.31.0\n')"
# a second copy of an image package, same name and version (a trojaned
# build shadowing the real one): no purl changes, the bytes do
"$SCN" drift shop pkg-1 app write /root/.local/lib/python3.11/site-packages/PyYAML-6.0.dist-info/METADATA \
	"$(printf 'Metadata-Version: 2.1\nName: PyYAML\nVersion: 6.0\n')"
"$SCN" drift shop pkg-2 app write /app/node_modules/left-pad/package.json \
	'{"name": "left-pad", "version": "1.3.1"}'
"$SCN" drift shop pkg-3 app chmod 0600 /var/lib/dpkg/status

verify -l app=pkgs
is "$?" 2 "exit 2: pkg-3 could not be verified completely (drift alone would be 0 without --fail-on-drift)"
check "the report validates against docs/report.schema.json" validate
is "$(c0 pkg-0 .verdict)" drift "dpkg -i at runtime: drift"
is "$(c0 pkg-0 .runtimeRoot)" "$(c0 pkg-0 .imageRoot)" \
	"... although /app is unchanged (same root hash): the package side found it"
is "$(c0 pkg-0 '.findings[] | select(.kind=="package-added") | [.severity, .path, .details] | join(" ")')" \
	"high /var/lib/dpkg/status pkg:deb/debian/rv-evil@1.0-1?arch=all&distro=debian-12" \
	"... a package-added finding: high, the dpkg database, the purl"
is "$(c0 pkg-0 '.packages | [.added, .removed, .changed] | join(",")')" "1,0,0" "... one package added, nothing else"
is "$(c0 pkg-1 '.findings[] | select(.kind=="package-added") | .details')" "pkg:pypi/requests2@2.31.0" \
	"a dist-info dropped into site-packages: package-added pkg:pypi/requests2@2.31.0"
is "$(c0 pkg-1 '.findings[] | select(.kind=="package-added") | .path')" \
	"/usr/local/lib/python3.11/site-packages/requests2-2.31.0.dist-info" "... located at its dist-info"
is "$(c0 pkg-1 '[.findings[] | select(.kind=="package-database-changed") | .severity, .path, .details] | join(" ")')" \
	"medium /root/.local/lib/python3.11/site-packages/PyYAML-6.0.dist-info/METADATA added at runtime" \
	"a second copy of PyYAML 6.0 (same purl, new bytes): package-database-changed, not clean"
is "$(c0 pkg-1 '.packages | [.added, .databasesChanged] | join(",")')" "1,1" \
	"... beside the one package added"
is "$(c0 pkg-2 '[.findings[] | select(.kind=="package-changed") | .severity, .details] | join(" ")')" \
	"medium pkg:npm/left-pad@1.3.0 -> 1.3.1" "an npm package upgraded in place: package-changed, medium"
is "$(c0 pkg-2 '[.findings[] | select(.kind=="modified") | .path] | join(" ")')" \
	"/app/node_modules/left-pad/package.json" "... and its file is a modified finding as well"
is "$(c0 pkg-2 '.incomplete // false')" false "... everything was read: the drift is not marked incomplete"
is "$(c0 pkg-3 .verdict)" incomplete "an unreadable dpkg database: incomplete, never clean"
is "$(c0 pkg-3 '[.findings[] | .kind, .details] | join(" ")')" \
	"package-unreadable runtime: cannot read: EACCES" \
	"... one package-unreadable finding, and no package reported removed"
is "$(c0 pkg-3 .packages.unknown)" 2 "... the image's two debs are unknown, not removed"
like "$(c0 pkg-3 .reason)" "package databases could not be read" "... and the reason says so"
is "$(jqr '[.aggregation[]? | .count] | add // 0')" "$(jqr '.summary.drift')" \
	"every drifted container is in one drift group"

# --- 3. a volume over node_modules masks, it is not removal ----------------------
verify -l app=pkgvol
is "$(c0 pkg-vol .verdict)" clean "node_modules under an emptyDir: clean"
is "$(c0 pkg-vol .packages.masked)" 1 "... left-pad is masked by the mount, not removed"

# --- 4. --packages=false: the old file-only check --------------------------------
verify -l app=pkgs --packages=false
is "$(c0 pkg-0 .verdict)" clean "--packages=false: pod pkg-0 is clean again (only /app compared)"
is "$(c0 pkg-0 '.packages // "none"')" none "... and has no packages object"

cluster_stop
echo "# verify_packages_cluster.sh: $(($(date +%s) - T0))s (cluster up ${CLUSTER_UP_SECONDS}s, down ${CLUSTER_DOWN_SECONDS}s)"
done_testing
