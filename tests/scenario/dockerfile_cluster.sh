#!/bin/bash
# dockerfile_cluster.sh - the port of dockerfile.sh to the real test cluster
# (tests/cluster; every assertion kept: the kubelet pulls this image by
# digest as the probe, containerd and runc run it). The image the Dockerfile
# makes: built twice with
# tests/image-build (buildah, vfs, a Debian 12 base made with debootstrap
# and pinned by digest), then unpacked and inspected (no shell, no package
# manager, only the two binaries, their libraries, CA certificates and a
# non-root user; labels from the build arguments), both binaries run from
# it in runc, the two builds compared byte for byte, and one verify on the
# cluster whose probe image and verifier are this image.
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/../lib/registry.sh"
source "$(dirname "$0")/../lib/runc.sh"
source "$(dirname "$0")/../cluster/testlib.sh"
set -u

t=$(mktemp -d "${TMPDIR:-/tmp}/rv-dockerfile.XXXXXX")
cleanup() {
	rv_runc_cleanup
	registry_stop
	cluster_stop
	rm -rf "$t"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
rv_runc_init "$t"
registry_start "$t/reg" >/dev/null || { echo "Bail out! no registry"; exit 1; }
reg=$REG_HOST

# Build arguments nobody could guess: the labels must carry exactly these.
REVISION=$(head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n')
export REVISION
export SOURCE="https://example.invalid/rv-test/$REVISION.git"
export SOURCE_DATE_EPOCH=$((1700000000 + RANDOM))

# --- 1. two cold builds: fresh storage and apt cache each --------------------------
# Both from one snapshot of the build context, so that edits to the tree
# while the test runs cannot make the two builds differ.
mkdir -p "$t/src"
cp -a "$RV_TOP/Dockerfile" "$RV_TOP/.dockerignore" "$RV_TOP/Makefile" "$RV_TOP/lib" "$RV_TOP/cmd" "$t/src/"
build() {
	local n=$1
	"$RV_TOP/tests/image-build" --no-cache --context "$t/src" --registry "$reg" --name "rv/runtime-verifier:$n" \
		--archive "$t/$n.oci.tar" --out "$t/$n.env" > "$t/$n.log" 2>&1
}
if ! build a; then
	sed 's/^/# /' "$t/a.log" | tail -40
	echo "Bail out! the image did not build"
	exit 1
fi
ok "the image builds (tests/image-build, buildah bud, vfs)"
source "$t/a.env"
A_REF=$IMAGE_REF A_DIGEST=$IMAGE_DIGEST A_CONFIG=$IMAGE_CONFIG
grep '^time:' "$t/a.log" | sed 's/^/# build a: /'
echo "# compressed size: $IMAGE_SIZE bytes"
like "$IMAGE_REF" "^$reg/rv/runtime-verifier@sha256:[0-9a-f]{64}$" "the image is pushed to the registry and named by digest"
like "$BUILDER_IMAGE" "^$reg/rv-build/debian@sha256:[0-9a-f]{64}$" "the base it was built from was passed by digest"
is "$(skopeo inspect --tls-verify=false --raw "docker://$BUILDER_IMAGE" | sha256sum | cut -d' ' -f1)" \
	"${BUILDER_IMAGE##*sha256:}" "and that digest is the base manifest's sha256"

if build b; then
	source "$t/b.env"
	grep '^time:' "$t/b.log" | sed 's/^/# build b: /'
	is "$IMAGE_DIGEST" "$A_DIGEST" "two cold builds with the same SOURCE_DATE_EPOCH and arguments: the same image digest"
	is "$IMAGE_CONFIG" "$A_CONFIG" "and the same config digest (so the same layer diff IDs)"
	if [ "$IMAGE_CONFIG" != "$A_CONFIG" ]; then
		# say what differs: the layer (which files) or only the config
		for n in a b; do
			skopeo --insecure-policy copy -q --src-tls-verify=false "docker://$(. "$t/$n.env"; echo "$IMAGE_REF")" "oci:$t/cmp-$n:x"
			skopeo inspect --config "oci:$t/cmp-$n:x" | jq -S . > "$t/cmp-$n.json"
			umoci raw unpack --image "$t/cmp-$n:x" "$t/cmp-$n-root" >/dev/null 2>&1
		done
		diff "$t/cmp-a.json" "$t/cmp-b.json" | sed 's/^/# config: /' | head -20
		diff -r "$t/cmp-a-root" "$t/cmp-b-root" 2>&1 | sed 's/^/# files: /' | head -20
	fi
else
	sed 's/^/# /' "$t/b.log" | tail -20
	not_ok "the second build"
fi

# a tag instead of a digest is refused, by the Dockerfile itself (buildah directly)
skopeo --insecure-policy copy -q --src-tls-verify=false --dest-tls-verify=false "docker://$BUILDER_IMAGE" "docker://$reg/rv-build/debian:tagged"
out=$(TMPDIR=$t buildah --storage-driver vfs --root "$t/st-tag" --runroot "$t/st-tag/run" bud --tls-verify=false \
	--build-arg "BUILDER_IMAGE=$reg/rv-build/debian:tagged" --build-arg "REVISION=$REVISION" \
	-f "$t/src/Dockerfile" "$t/src" 2>&1)
rc=$?
check "a base named by tag: the build fails" test "$rc" -ne 0
like "$out" "BUILDER_IMAGE must be NAME@sha256:<digest>" "and says the base must be pinned by digest"
out=$(TMPDIR=$t buildah --storage-driver vfs --root "$t/st-tag" --runroot "$t/st-tag/run" bud --tls-verify=false \
	-f "$t/src/Dockerfile" "$t/src" 2>&1)
check "no base at all: the build fails (the Dockerfile has no default digest)" test $? -ne 0
buildah --storage-driver vfs --root "$t/st-tag" --runroot "$t/st-tag/run" rmi -a -f >/dev/null 2>&1
rm -rf "$t/st-tag"

# --- 2. what is in it ---------------------------------------------------------------
skopeo --insecure-policy copy -q --src-tls-verify=false "docker://$A_REF" "oci:$t/oci:img"
skopeo inspect --config "oci:$t/oci:img" > "$t/config.json"
umoci raw unpack --image "$t/oci:img" "$t/rootfs" >/dev/null 2>&1
R=$t/rootfs
jc() { jq -r "$@" "$t/config.json"; }

is "$(jc '.config.Labels["org.opencontainers.image.revision"]')" "$REVISION" "label org.opencontainers.image.revision = the REVISION argument"
is "$(jc '.config.Labels["org.opencontainers.image.source"]')" "$SOURCE" "label org.opencontainers.image.source = the SOURCE argument"
user=$(jc '.config.User')
is "$user" "65532:65532" "USER 65532:65532"
uid=${user%%:*} gid=${user##*:}
check "the user is not root" test "$uid" -ne 0 -a "$gid" -ne 0
is "$(awk -F: -v u="$uid" '$3 == u { print $1 }' "$R/etc/passwd")" nonroot "/etc/passwd names uid $uid (nonroot)"
is "$(awk -F: -v g="$gid" '$3 == g { print $1 }' "$R/etc/group")" nonroot "/etc/group names gid $gid"
is "$(stat -c %u:%g "$R/home/nonroot")" "$uid:$gid" "the user's HOME /home/nonroot is its own"
is "$(ls -A "$R" | tr '\n' ' ')" "etc home lib lib64 tmp usr " "top level: etc home lib lib64 tmp usr, nothing else (no /var, no /bin)"

( cd "$R" && find . \( -type f -o -type l \) | sed 's|^\.||' | sort ) > "$t/files"
shells=$(grep -E '/(sh|bash|dash|ash|busybox|zsh|ksh|mksh|csh|tcsh|fish|toybox)$' "$t/files")
is "$shells" "" "no shell anywhere (sh, bash, dash, busybox, ...)"
check "no /bin/sh, no /usr/bin/sh" test ! -e "$R/bin/sh" -a ! -L "$R/bin/sh" -a ! -e "$R/usr/bin/sh" -a ! -L "$R/usr/bin/sh"
pm=$(grep -E '(^|/)(apt|apt-get|dpkg|dpkg-deb|rpm|apk|yum|dnf)(/|$)|/var/lib/dpkg|/etc/apt' "$t/files")
is "$pm" "" "no package manager, database or apt config (apt, dpkg, ...)"
check "no apt or dpkg state, caches or logs (no /var at all)" test ! -e "$R/var"
# every executable or ELF file is one of the binaries, the loader or a library
odd=""
while IFS= read -r f; do
	[ -L "$R$f" ] && continue
	case $f in
	/usr/bin/runtime-verifier|/usr/bin/rv-probe) ;;
	/usr/lib/*-linux-gnu*/*.so*|/usr/lib/*-linux-gnu*/ld-linux*) ;;
	*) if [ -x "$R$f" ] || head -c 4 "$R$f" | grep -q 'ELF'; then odd="$odd $f"; fi ;;
	esac
done < "$t/files"
is "$odd" "" "the only executables: /usr/bin/runtime-verifier, /usr/bin/rv-probe (libraries and the loader aside)"
is "$(grep -vE '^/usr/lib/[^/]+-linux-gnu[^/]*/[^/]+$|^/(lib|lib64)$|^/usr/lib64/ld-linux' "$t/files" | tr '\n' ' ')" \
	"/etc/group /etc/passwd /etc/ssl/certs/ca-certificates.crt /usr/bin/runtime-verifier /usr/bin/rv-probe " \
	"beside the libraries: the two binaries, passwd, group and the CA bundle"
check "the CA bundle holds certificates (libcurl and libgit2 https)" \
	test "$(grep -c 'BEGIN CERTIFICATE' "$R/etc/ssl/certs/ca-certificates.crt")" -gt 50
interp=$(readelf -l "$R/usr/bin/runtime-verifier" | sed -n 's/.*program interpreter: \(.*\)]$/\1/p')
check "runtime-verifier's interpreter $interp resolves inside the image" test -f "$(readlink -f "$R$interp" | sed "s|^$R||; s|^|$R|")"
missing=""
for lib in $(readelf -d "$R/usr/bin/runtime-verifier" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
	ls "$R"/usr/lib/*/"$lib" >/dev/null 2>&1 || missing="$missing $lib"
done
is "$missing" "" "every library runtime-verifier names (NEEDED) is in the image"
is "$(readelf -l "$R/usr/bin/rv-probe" | grep -c 'program interpreter')" 0 "rv-probe is static (no interpreter)"
is "$(jc '.created')" "$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)" "created = SOURCE_DATE_EPOCH"
layer=$(jq -r '.layers[0].digest' "$t/oci/blobs/sha256/$(jq -r '.manifests[0].digest' "$t/oci/index.json" | cut -d: -f2)" | cut -d: -f2)
mtimes=$(tar --full-time -tvzf "$t/oci/blobs/sha256/$layer" | awk '{ print $4 " " $5 }' | sort -u)
is "$mtimes" "$(date -u -d "@$SOURCE_DATE_EPOCH" '+%Y-%m-%d %H:%M:%S')" "every file's mtime in the layer is SOURCE_DATE_EPOCH"

# --- 3. both binaries run from the image, as its user, with its libraries only --------
run_img() {
	local id=$1
	shift
	rm -rf "$t/b-$id"
	rv_runc_bundle "$t/b-$id" "$uid" "$gid" "$@" || return 1
	rv_runc_edit "$t/b-$id" '.process.env = $env | .root.path = $r' --argjson env "$(jc '.config.Env')" --arg r "$R"
	rv_runc_run "$id" "$t/b-$id"
}
out=$(run_img help1 /usr/bin/runtime-verifier --help 2>&1)
is "$?" 0 "runtime-verifier --help runs in the image (runc, uid $uid, read-only root)"
like "$out" "usage: runtime-verifier <command>" "and prints its usage"
out=$(run_img help2 /usr/bin/rv-probe --help 2>&1)
is "$?" 0 "rv-probe --help runs in the image"
like "$out" "usage: rv-probe" "and prints its usage"
out=$(run_img fp /usr/bin/runtime-verifier fingerprint /etc --format sha256sum 2>&1)
like "$out" "ca-certificates.crt" "runtime-verifier fingerprint works inside the image (libcrypto, the walker)"
started=""
for sh in /bin/sh /usr/bin/sh /bin/bash /usr/bin/bash /bin/busybox /usr/bin/busybox; do
	run_img "sh-${sh//\//-}" "$sh" -c true >/dev/null 2>&1 && started="$started $sh"
done
is "$started" "" "no shell can be started in the image (/bin/sh, /usr/bin/sh, bash, busybox)"

# --- 4. verify on the cluster: this image is the probe image and the verifier --------
T0=$(date +%s)
cluster_start
skopeo --insecure-policy copy -q --src-tls-verify=false --dest-tls-verify=false \
	"docker://$A_REF" "docker://$CLUSTER_REGISTRY/rv/runtime-verifier:test"
PROBE=$CLUSTER_REGISTRY/rv/runtime-verifier@$A_DIGEST
is "$(skopeo inspect --tls-verify=false --raw "docker://$PROBE" | sha256sum | cut -d' ' -f1)" "${A_DIGEST#sha256:}" \
	"the image keeps its digest in the cluster's registry"
cat > "$t/scenario.json" <<'JSON'
{"images": [{"name": "demo/app", "tag": "v1",
             "files": [{"path": "/app", "dir": true, "mode": "0755", "uid": 1000, "gid": 1000},
                       {"path": "/app/index.html", "content": "<h1>hello</h1>\n", "mode": "0644", "uid": 1000, "gid": 1000},
                       {"path": "/app/run.sh", "content": "#!/bin/sh\nexec sleep 3600\n", "mode": "0755", "uid": 1000, "gid": 1000}],
             "user": "1000:1000", "cmd": ["/bin/sleep", "3600"]}],
 "namespaces": [{"name": "prod", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}],
 "pods": [{"namespace": "prod", "name": "web-{i}", "count": 2, "labels": {"app": "web"},
           "spec": {"securityContext": {"runAsUser": 1000, "runAsGroup": 1000, "runAsNonRoot": true,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{"name": "app", "image": "${REGISTRY}/demo/app:v1",
                                    "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]}}]}
JSON
"$SCN" load "$t/scenario.json" > /dev/null
"$SCN" wait -n prod --timeout 90 > /dev/null
"$SCN" drift prod web-1 app write /app/index.html '<h1>owned</h1>' --user 1000:1000
# the verifier runs from the image too, as the CronJob would: its command,
# its user, its libraries and CA bundle; the host's network (loopback)
cp "$KUBECONFIG" "$t/kubeconfig"
chmod 0644 "$t/kubeconfig"
vb=$t/b-verify
rv_runc_bundle "$vb" "$uid" "$gid" /usr/bin/runtime-verifier verify --kubeconfig /etc/rv/kubeconfig \
	--probe-image "$PROBE" --insecure-registry "$CLUSTER_REGISTRY" -n prod -l app=web \
	--no-annotate --fail-on-drift=true -o json
rv_runc_edit "$vb" '.process.env = $env | .root.path = $r | .linux.namespaces |= map(select(.type != "network"))
	| .mounts += [{destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=1777"]}]' \
	--argjson env "$(jc '.config.Env')" --arg r "$R"
rv_runc_bind "$vb" "$t/kubeconfig" /etc/rv/kubeconfig ro
rv_runc_run verify "$vb" > "$t/r.json" 2> "$t/verify.err"
rc=$?
sed 's/^/# verify: /' "$t/verify.err" | head -10
is "$rc" 1 "verify from the image: exit 1 (--fail-on-drift=true, one pod drifted)"
verdict() { jq -r --arg p "$1" '.pods[] | select(.name==$p) | .containers[0].verdict' "$t/r.json"; }
is "$(verdict web-0)" clean "the untouched pod is clean"
is "$(verdict web-1)" drift "the drifted pod is drift"
is "$(jq -r '.pods[] | select(.name=="web-1") | .containers[0].findings[] | "\(.kind) \(.path)"' "$t/r.json")" \
	"modified /app/index.html" "the finding is the modified file"
kubectl get pod web-0 -n prod -o json > "$t/pod.json"
is "$(jq -r '.spec.ephemeralContainers[0] | "\(.image) \(.command | join(" "))"' "$t/pod.json")" \
	"$PROBE /usr/bin/rv-probe" "the probe container ran this image, pinned by digest, with /usr/bin/rv-probe"
is "$(jq -r '.status.ephemeralContainerStatuses[0].state.terminated.exitCode' "$t/pod.json")" 0 "and rv-probe exited 0"
is "$(sed -n 's|^ *command: \["\(.*\)"\]$|\1|p' "$RV_TOP/k8s/cronjob.yaml")" /usr/bin/runtime-verifier \
	"the CronJob's command is the image's /usr/bin/runtime-verifier"

cluster_stop
echo "# dockerfile_cluster.sh: cluster part $(($(date +%s) - T0))s (cluster up ${CLUSTER_UP_SECONDS}s, down ${CLUSTER_DOWN_SECONDS}s)"
done_testing
