# k8s_validator.sh - validate Kubernetes objects against the Kubernetes
# OpenAPI schema with the npm package kubernetes-models, installed once into
# build/k8s-validator (or $RV_K8S_VALIDATOR_DIR). Source it after tap.sh.
# Used by tests/scenario/k8s_manifests_cluster.sh and tests/scenario/chart_render_cluster.sh.
#
#   k8s_validator_setup        install if needed; 0 when the validator can run
#   k8s_validate FILE.json     {"items": [...]}: prints valid/invalid/noschema
#                              KIND/NAME per object; status 1 if one is invalid
#   k8s_valid FILE.json        the same, silent

K8S_VALIDATOR_DIR=${RV_K8S_VALIDATOR_DIR:-$RV_TOP/build/k8s-validator}

k8s_validator_setup() {
	local vdir=$K8S_VALIDATOR_DIR
	mkdir -p "$vdir" || return 1
	(
		# one installer at a time (two test scripts may start together)
		flock 9
		if [ ! -d "$vdir/node_modules/kubernetes-models" ] && command -v npm >/dev/null; then
			npm install --prefix "$vdir" --no-audit --no-fund --loglevel=error \
				kubernetes-models@5.1.0 >/dev/null 2>&1
		fi
		cp "$RV_TOP/tests/lib/k8s_validate.mjs" "$vdir/validate.mjs.tmp.$$" &&
			mv -f "$vdir/validate.mjs.tmp.$$" "$vdir/validate.mjs"
	) 9>"$vdir/.lock"
	[ -d "$vdir/node_modules/kubernetes-models" ] &&
		(cd "$vdir" && node --input-type=module -e 'await import("kubernetes-models/v1/Namespace")') >/dev/null 2>&1
}

k8s_validate() {
	node "$K8S_VALIDATOR_DIR/validate.mjs" "$1"
}

k8s_valid() {
	node "$K8S_VALIDATOR_DIR/validate.mjs" "$1" >/dev/null 2>&1
}
