# tests/sandbox/sandbox.mk - included by the top Makefile.
#   make sandbox-up      start the sandbox cluster (state dir printed; kept in $TMPDIR/rv-sandbox.current)
#   make sandbox-down    stop it and remove every container, mount, process and file it made
#   make sandbox-kubeconfig   print a kubeconfig for the admin user
#   make sandbox-demo    sandbox-up + load tests/sandbox/scenarios/basic.json
# SANDBOX_DIR=... picks the state dir for all of them.
SANDBOXCTL := tests/sandbox/sandboxctl

.PHONY: sandbox-up sandbox-down sandbox-kubeconfig sandbox-demo sandbox-check

sandbox-up:
	@$(SANDBOXCTL) up

sandbox-down:
	@$(SANDBOXCTL) down

sandbox-kubeconfig:
	@$(SANDBOXCTL) kubeconfig

sandbox-demo: sandbox-up
	@$(SANDBOXCTL) load tests/sandbox/scenarios/basic.json >/dev/null
	@$(SANDBOXCTL) wait -n prod --timeout 60

sandbox-check:
	@bash tests/run sandbox_
