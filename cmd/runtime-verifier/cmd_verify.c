/* cmd_verify.c - runtime-verifier verify: the CronJob's job */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "commands.h"
#include "pipeline/config.h"
#include "pipeline/policyreport.h"
#include "pipeline/quarantine.h"
#include "pipeline/report.h"
#include "pipeline/verify.h"
#include "pipeline/spool.h"
#include "pipeline/webhook.h"
#include "sources/git.h"
#include "sources/kube.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/banned.h"

static const char usage_text[] =
"usage: runtime-verifier verify (--namespace NS... | --all-namespaces)\n"
"                               [--label-selector SEL] [options]\n"
"\n"
"Verify every Running pod that matches: fingerprint each container from\n"
"inside (an ephemeral container running rv-probe) and its image by digest,\n"
"diff the two, and report. Docs: docs/commands/verify.md.\n"
"\n"
"  -n, --namespace NS         namespace to verify (repeatable)\n"
"  -A, --all-namespaces       every namespace\n"
"  -l, --label-selector SEL   only pods matching SEL\n"
"      --path P               path to fingerprint (repeatable; default /app)\n"
"      --config FILE          YAML configuration (docs/config.md)\n"
"      --fail-on-drift[=BOOL] exit 1 when a container drifted\n"
"      --report-to URL        POST the JSON report to URL (repeatable)\n"
"      --webhook-secret-file F  HMAC secret for --report-to (or env RV_WEBHOOK_SECRET)\n"
"      --webhook-ca FILE      extra CA for the webhook receivers\n"
"      --spool-dir DIR        keep undeliverable reports here for the next run\n"
"  -o, --output text|json     what to print (default text)\n"
"      --concurrency N        pods verified at once (default 4)\n"
"      --probe-image REF      image of the probe container, pinned by digest\n"
"      --min-interval DUR     skip pods verified clean this recently (e.g. 1h)\n"
"      --probe-timeout DUR    how long a probe may take (default 120s)\n"
"      --repo PATH|URL        git repository for provenance (repeatable)\n"
"      --lookback N           commits scanned for build changes (default 50)\n"
"      --kubeconfig FILE      kubeconfig (default $KUBECONFIG, ~/.kube/config, in-cluster)\n"
"      --context NAME         kubeconfig context\n"
"      --insecure-registry H  plain HTTP for registry H[:PORT] (repeatable)\n"
"      --registry-ca FILE     extra CA for registries\n"
"      --cache-dir DIR        image fingerprint cache\n"
"      --docker-config FILE   registry credentials (config.json)\n"
"      --no-events            do not post Kubernetes Events\n"
"      --no-annotate          do not record verification state on pods\n"
"      --run-id ID            name the run (default random)\n"
"      --quarantine-after N   label pods after N drifted runs in a row (0: off)\n"
"      --quarantine-dry-run   compute and report the quarantine, write nothing\n"
"      --evict                also evict quarantined pods (Eviction API)\n"
"      --policy-reports[=BOOL] write one PolicyReport per namespace (wgpolicyk8s.io)\n"
"      --packages[=BOOL]      compare package databases too (default true)\n"
"  -h, --help                 this text\n"
"\n"
"Exit: 0 clean, 1 drift (with --fail-on-drift), 2 some pods could not be\n"
"verified or the run failed, 64 usage.\n";

enum {
	O_PATH = 256, O_CONFIG, O_FAIL, O_REPORT, O_SECRET, O_SPOOL, O_CONC, O_PROBE,
	O_MIN, O_PTIMEOUT, O_REPO, O_LOOKBACK, O_KUBECONFIG, O_CONTEXT, O_INSECURE,
	O_CA, O_CACHE, O_DOCKER, O_NOEVENTS, O_NOANNOTATE, O_RUNID, O_HOOKCA, O_POLR, O_PKGS
};

/* quarantine (pipeline/quarantine.h) */
enum { O_QAFTER = 512, O_QDRY, O_EVICT };

static const struct option longopts[] = {
	{ "namespace", required_argument, NULL, 'n' },
	{ "all-namespaces", no_argument, NULL, 'A' },
	{ "label-selector", required_argument, NULL, 'l' },
	{ "selector", required_argument, NULL, 'l' },
	{ "path", required_argument, NULL, O_PATH },
	{ "config", required_argument, NULL, O_CONFIG },
	{ "fail-on-drift", optional_argument, NULL, O_FAIL },
	{ "report-to", required_argument, NULL, O_REPORT },
	{ "webhook-secret-file", required_argument, NULL, O_SECRET },
	{ "webhook-ca", required_argument, NULL, O_HOOKCA },
	{ "spool-dir", required_argument, NULL, O_SPOOL },
	{ "output", required_argument, NULL, 'o' },
	{ "concurrency", required_argument, NULL, O_CONC },
	{ "probe-image", required_argument, NULL, O_PROBE },
	{ "min-interval", required_argument, NULL, O_MIN },
	{ "probe-timeout", required_argument, NULL, O_PTIMEOUT },
	{ "repo", required_argument, NULL, O_REPO },
	{ "lookback", required_argument, NULL, O_LOOKBACK },
	{ "kubeconfig", required_argument, NULL, O_KUBECONFIG },
	{ "context", required_argument, NULL, O_CONTEXT },
	{ "insecure-registry", required_argument, NULL, O_INSECURE },
	{ "registry-ca", required_argument, NULL, O_CA },
	{ "cache-dir", required_argument, NULL, O_CACHE },
	{ "docker-config", required_argument, NULL, O_DOCKER },
	{ "no-events", no_argument, NULL, O_NOEVENTS },
	{ "no-annotate", no_argument, NULL, O_NOANNOTATE },
	{ "run-id", required_argument, NULL, O_RUNID },
	{ "quarantine-after", required_argument, NULL, O_QAFTER },
	{ "quarantine-dry-run", no_argument, NULL, O_QDRY },
	{ "evict", no_argument, NULL, O_EVICT },
	{ "policy-reports", optional_argument, NULL, O_POLR },
	{ "packages", optional_argument, NULL, O_PKGS },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static int parse_bool(const char *s, int *out)
{
	if (!s || !strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "yes"))
		*out = 1;
	else if (!strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "no"))
		*out = 0;
	else
		return -1;
	return 0;
}

static char **dup_strv(const cli_strv *sv)
{
	char **v = calloc(sv->n + 1, sizeof(char *));
	size_t i;

	for (i = 0; v && i < sv->n; i++)
		if (!(v[i] = strdup(sv->v[i])))
			return NULL;
	return v;
}

struct deliver {
	const rv_config *cfg;
	const char *ca;
	int failed;
};

/* Deliver one report to every webhook; RV_OK only if all took it. */
static int deliver_all(void *p, const char *key, const char *body, size_t len)
{
	struct deliver *d = p;
	size_t i;
	int rc = RV_OK;

	for (i = 0; i < d->cfg->nwebhooks; i++)
		if (rv_webhook_post(&d->cfg->webhooks[i], body, len, key, d->ca) < 0) {
			cli_msg("verify", "%s", rv_error_last());
			rc = RV_ERROR;
		}
	return rc;
}

/* Refusals that do not change a verdict (the annotation patch, Events,
 * pull secrets) are otherwise only in the JSON report: say them on
 * stderr, where the Job's log shows them. */
static void print_refusals(json_t *report)
{
	json_t *p, *ct, *n;
	size_t j, m;

	json_array_foreach(json_object_get(report, "pods"), j, p) {
		const char *pns = json_string_value(json_object_get(p, "namespace"));
		const char *pn = json_string_value(json_object_get(p, "name"));

		json_array_foreach(json_object_get(p, "notes"), m, n)
			cli_msg("verify", "%s/%s: %s", pns ? pns : "", pn ? pn : "",
				json_string_value(n) ? json_string_value(n) : "");
		json_array_foreach(json_object_get(p, "containers"), m, ct)
			if (json_string_value(json_object_get(ct, "eventError")))
				cli_msg("verify", "%s/%s/%s: event not posted: %s", pns ? pns : "",
					pn ? pn : "", json_string_value(json_object_get(ct, "name")),
					json_string_value(json_object_get(ct, "eventError")));
	}
}

int cmd_verify(int argc, char **argv)
{
	cli_strv namespaces = { 0 }, paths = { 0 }, reports = { 0 }, insecure = { 0 }, repos = { 0 };
	const char *config = NULL, *kubeconfig = NULL, *context = NULL, *probe_image = NULL;
	const char *selector = NULL, *secret_file = NULL, *spool = NULL, *ca = NULL;
	const char *cache = NULL, *docker = NULL, *run_id = NULL, *min_interval = NULL;
	const char *probe_timeout = NULL, *hook_ca = NULL;
	int all = 0, fail_on_drift = 0, json_out = 0, concurrency = 0, events = 1, annotate = 1;
	long lookback = 0;
	int q_after = -1, q_dry = 0, q_evict = 0, q_failed = 0;
	int policy_reports = -1;   /* -1: the config's policyReports */
	int packages = -1;         /* -1: the config's packages */
	rv_config cfg;
	rv_kube *k = NULL;
	rv_kube_opts ko;
	rv_verify_opts vo;
	rv_git_options go;
	rv_git_repo **git = NULL;
	json_t *report = NULL;
	rv_buf text = RV_BUF_INIT(64u << 20);
	char *body = NULL;
	int c, rc = RV_EXIT_FAIL, cfg_ok = 0;
	size_t i;

	optind = 1;
	while ((c = getopt_long(argc, argv, "n:Al:o:h", longopts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 'n': cli_strv_push(&namespaces, optarg); break;
		case 'A': all = 1; break;
		case 'l': selector = optarg; break;
		case O_PATH: cli_strv_push(&paths, optarg); break;
		case O_CONFIG: config = optarg; break;
		case O_FAIL:
			if (parse_bool(optarg, &fail_on_drift) < 0) {
				rc = cli_usage_error("verify", "--fail-on-drift takes true or false, not '%s'", optarg);
				goto cleanup;
			}
			break;
		case O_REPORT: cli_strv_push(&reports, optarg); break;
		case O_SECRET: secret_file = optarg; break;
		case O_HOOKCA: hook_ca = optarg; break;
		case O_SPOOL: spool = optarg; break;
		case 'o':
			if (!strcmp(optarg, "json"))
				json_out = 1;
			else if (strcmp(optarg, "text")) {
				rc = cli_usage_error("verify", "unknown output '%s' (text or json)", optarg);
				goto cleanup;
			}
			break;
		case O_CONC:
			concurrency = (int)strtol(optarg, &end, 10);
			if (*end || concurrency < 1 || concurrency > 64) {
				rc = cli_usage_error("verify", "--concurrency takes 1 to 64, not '%s'", optarg);
				goto cleanup;
			}
			break;
		case O_PROBE: probe_image = optarg; break;
		case O_MIN: min_interval = optarg; break;
		case O_PTIMEOUT: probe_timeout = optarg; break;
		case O_REPO: cli_strv_push(&repos, optarg); break;
		case O_LOOKBACK:
			lookback = strtol(optarg, &end, 10);
			if (*end || lookback < 1 || lookback > RV_GIT_MAX_LOOKBACK) {
				rc = cli_usage_error("verify", "--lookback takes 1 to %d, not '%s'",
					RV_GIT_MAX_LOOKBACK, optarg);
				goto cleanup;
			}
			break;
		case O_KUBECONFIG: kubeconfig = optarg; break;
		case O_CONTEXT: context = optarg; break;
		case O_INSECURE: cli_strv_push(&insecure, optarg); break;
		case O_CA: ca = optarg; break;
		case O_CACHE: cache = optarg; break;
		case O_DOCKER: docker = optarg; break;
		case O_NOEVENTS: events = 0; break;
		case O_NOANNOTATE: annotate = 0; break;
		case O_RUNID: run_id = optarg; break;
		case O_QAFTER:
			q_after = (int)strtol(optarg, &end, 10);
			if (!*optarg || *end || q_after < 0 || q_after > 1000) {
				rc = cli_usage_error("verify", "--quarantine-after takes 0 to 1000, not '%s'", optarg);
				goto cleanup;
			}
			break;
		case O_QDRY: q_dry = 1; break;
		case O_EVICT: q_evict = 1; break;
		case O_POLR:
			if (parse_bool(optarg, &policy_reports) < 0) {
				rc = cli_usage_error("verify", "--policy-reports takes true or false, not '%s'", optarg);
				goto cleanup;
			}
			break;
		case O_PKGS:
			if (parse_bool(optarg, &packages) < 0) {
				rc = cli_usage_error("verify", "--packages takes true or false, not '%s'", optarg);
				goto cleanup;
			}
			break;
		case 'h':
			fputs(usage_text, stdout);
			rc = RV_EXIT_OK;
			goto cleanup;
		default:
			rc = cli_usage_error("verify", "unknown option");
			goto cleanup;
		}
	}
	if (optind < argc) {
		rc = cli_usage_error("verify", "unexpected argument '%s'", argv[optind]);
		goto cleanup;
	}
	if (all && namespaces.n) {
		rc = cli_usage_error("verify", "--namespace and --all-namespaces exclude each other");
		goto cleanup;
	}
	if (run_id && (strlen(run_id) > 15 || strspn(run_id, "abcdefghijklmnopqrstuvwxyz0123456789") != strlen(run_id))) {
		rc = cli_usage_error("verify", "--run-id takes up to 15 lower-case letters and digits");
		goto cleanup;
	}

	if (rv_config_init(&cfg) < 0)
		goto fail;
	cfg_ok = 1;
	if (config && rv_config_load(&cfg, config) < 0)
		goto fail;
	if (paths.n) {
		for (i = 0; i < paths.n; i++)
			if (rv_manifest_check_path(paths.v[i], strlen(paths.v[i])) < 0) {
				rc = cli_usage_error("verify", "--path: %s", rv_error_last());
				goto cleanup;
			}
		for (i = 0; i < cfg.npaths; i++)
			free(cfg.paths[i]);
		free(cfg.paths);
		cfg.paths = dup_strv(&paths);
		cfg.npaths = paths.n;
	}
	if (concurrency)
		cfg.concurrency = concurrency;
	if (q_after >= 0)
		cfg.quarantine.after = q_after;
	cfg.quarantine.dry_run |= q_dry;
	cfg.quarantine.evict |= q_evict;
	if (policy_reports >= 0)
		cfg.policy_reports = policy_reports;
	if (packages >= 0)
		cfg.packages = packages;
	if (min_interval && rv_config_duration(&cfg.min_interval_ms, min_interval) < 0) {
		rc = cli_usage_error("verify", "--min-interval: %s", rv_error_last());
		goto cleanup;
	}
	if (probe_timeout && rv_config_duration(&cfg.probe_timeout_ms, probe_timeout) < 0) {
		rc = cli_usage_error("verify", "--probe-timeout: %s", rv_error_last());
		goto cleanup;
	}
	if (reports.n) {
		rv_webhook_cfg *w = realloc(cfg.webhooks, (cfg.nwebhooks + reports.n) * sizeof(*w));

		if (!w)
			goto fail;
		cfg.webhooks = w;
		for (i = 0; i < reports.n; i++) {
			rv_webhook_cfg *h = &cfg.webhooks[cfg.nwebhooks++];

			rv_config_webhook_init(h);
			h->url = strdup(reports.v[i]);
			if (secret_file)
				h->secret_file = strdup(secret_file);
			else if (getenv("RV_WEBHOOK_SECRET"))
				h->secret_env = strdup("RV_WEBHOOK_SECRET");
		}
	}
	if (spool) {
		free(cfg.spool_dir);
		cfg.spool_dir = strdup(spool);
	}

	memset(&ko, 0, sizeof(ko));
	ko.kubeconfig = kubeconfig;
	ko.context = context;
	ko.timeout_ms = cfg.api_timeout_ms;
	if (rv_kube_new(&k, &ko) < 0)
		goto fail;

	memset(&go, 0, sizeof(go));
	go.lookback = (unsigned)lookback;
	if (repos.n) {
		git = calloc(repos.n, sizeof(*git));
		if (!git)
			goto fail;
		for (i = 0; i < repos.n; i++)
			if (rv_git_new(&git[i], repos.v[i], NULL) < 0)
				goto fail;
	}

	/* reports that could not be delivered last time go first */
	if (cfg.spool_dir && cfg.nwebhooks) {
		struct deliver d = { &cfg, hook_ca, 0 };
		size_t sent, left;

		if (rv_spool_flush(cfg.spool_dir, deliver_all, &d, &sent, &left) < 0)
			cli_msg("verify", "%s", rv_error_last());
		else if (sent || left)
			cli_msg("verify", "spool: %zu earlier reports delivered, %zu still waiting", sent, left);
	}

	memset(&vo, 0, sizeof(vo));
	vo.cfg = &cfg;
	vo.namespaces = namespaces.v;
	vo.nnamespaces = namespaces.n;
	vo.all_namespaces = all;
	vo.selector = selector;
	vo.probe_image = probe_image;
	vo.run_id = run_id;
	vo.registry.insecure = (const char *const *)(insecure.n ? insecure.v : (const char **)cfg.insecure_registries);
	vo.registry.ninsecure = insecure.n ? insecure.n : cfg.ninsecure;
	vo.registry.ca_file = ca ? ca : cfg.registry_ca;
	vo.registry.docker_config = docker ? docker : cfg.docker_config;
	vo.cache_dir = cache ? cache : cfg.cache_dir;
	vo.repos = git;
	vo.nrepos = repos.n;
	vo.git = &go;
	vo.events = events;
	vo.annotate = annotate;
	if (rv_verify_run(&report, k, &vo) < 0 && !report)
		goto fail;
	if (!report)
		goto fail;
	if (cfg.quarantine.after > 0) {
		rv_quarantine_opts qo = { &cfg.quarantine, NULL, events, 0, NULL };

		q_failed = rv_quarantine_run(report, k, &qo) < 0;
	}
	/* a PolicyReport not written is one of the run's errors: printed
	 * below with them, and the exit code is 2 */
	if (cfg.policy_reports)
		(void)rv_policyreport_write(k, report, NULL);

	if (json_out) {
		body = json_dumps(report, JSON_INDENT(2) | JSON_SORT_KEYS);
		if (!body || cli_write_all(1, body, strlen(body)) < 0 || cli_write_all(1, "\n", 1) < 0)
			goto fail;
		free(body);
		body = NULL;
	} else {
		if (rv_report_text(&text, report) < 0 || rv_quarantine_text(&text, report) < 0 ||
		    cli_write_all(1, text.ptr, text.len) < 0)
			goto fail;
	}
	for (i = 0; i < json_array_size(json_object_get(report, "errors")); i++)
		cli_msg("verify", "%s", json_string_value(json_array_get(json_object_get(report, "errors"), i)));
	print_refusals(report);
	rc = rv_report_exit_code(report, fail_on_drift);
	for (i = 0; i < json_array_size(json_object_get(json_object_get(report, "quarantine"), "errors")); i++)
		cli_msg("verify", "quarantine: %s", json_string_value(json_array_get(
			json_object_get(json_object_get(report, "quarantine"), "errors"), i)));
	if (q_failed)
		rc = RV_EXIT_FAIL;   /* a configured control that did not act */

	if (cfg.nwebhooks) {
		struct deliver d = { &cfg, hook_ca, 0 };
		const char *key = json_string_value(json_object_get(report, "runId"));

		body = json_dumps(report, JSON_COMPACT | JSON_SORT_KEYS);
		if (!body)
			goto fail;
		if (deliver_all(&d, key, body, strlen(body)) < 0) {
			if (cfg.spool_dir && rv_spool_put(cfg.spool_dir, key, body, strlen(body)) == RV_OK) {
				cli_msg("verify", "report %s spooled in '%s' for the next run", key, cfg.spool_dir);
			} else {
				if (cfg.spool_dir)
					cli_msg("verify", "%s", rv_error_last());
				cli_msg("verify", "report %s was not delivered", key);
				rc = RV_EXIT_FAIL;
			}
		}
	}
	goto cleanup;
fail:
	rc = cli_fail("verify");
cleanup:
	free(body);
	rv_buf_dispose(&text);
	json_decref(report);
	for (i = 0; git && i < repos.n; i++)
		rv_git_free(git[i]);
	free(git);
	rv_kube_free(k);
	if (cfg_ok)
		rv_config_dispose(&cfg);
	cli_strv_dispose(&namespaces);
	cli_strv_dispose(&paths);
	cli_strv_dispose(&reports);
	cli_strv_dispose(&insecure);
	cli_strv_dispose(&repos);
	return rc;
}
