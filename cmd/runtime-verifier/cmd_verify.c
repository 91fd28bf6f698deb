/* cmd_verify.c - runtime-verifier verify: the CronJob's job */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "commands.h"
#include "pipeline/config.h"
#include "pipeline/quarantine.h"
#include "pipeline/report.h"
#include "pipeline/respond.h"
#include "pipeline/verify.h"
#include "sources/git/git.h"
#include "sources/kube/kube.h"
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

/* A copy of sv's strings, NULL-terminated; NULL when out of memory
 * (nothing is left allocated). */
static char **dup_strv(const cli_strv *sv)
{
	char **v = calloc(sv->n + 1, sizeof(char *));
	size_t i;

	for (i = 0; v && i < sv->n; i++)
		if (!(v[i] = strdup(sv->v[i]))) {
			while (i--)
				free(v[i]);
			free(v);
			return NULL;
		}
	return v;
}

static void say(void *ctx, const char *msg)
{
	cli_msg("verify", "%s", msg);
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

/* What the command line says; strings borrowed from argv. */
struct args {
	cli_strv namespaces, paths, reports, insecure, repos;
	const char *config, *kubeconfig, *context, *probe_image, *selector;
	const char *secret_file, *spool, *ca, *cache, *docker, *run_id;
	const char *min_interval, *probe_timeout, *hook_ca;
	int all, fail_on_drift, json_out, concurrency, events, annotate;
	long lookback;
	int q_after, q_dry, q_evict;
	int policy_reports;   /* -1: the config's policyReports */
	int packages;         /* -1: the config's packages */
};

static void args_dispose(struct args *a)
{
	cli_strv_dispose(&a->namespaces);
	cli_strv_dispose(&a->paths);
	cli_strv_dispose(&a->reports);
	cli_strv_dispose(&a->insecure);
	cli_strv_dispose(&a->repos);
}

/* Parse argv into a. -1 when the run goes on, else the exit code (usage
 * error or --help). */
static int parse_args(struct args *a, int argc, char **argv)
{
	int c;

	a->events = a->annotate = 1;
	a->q_after = a->policy_reports = a->packages = -1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "n:Al:o:h", longopts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 'n': cli_strv_push(&a->namespaces, optarg); break;
		case 'A': a->all = 1; break;
		case 'l': a->selector = optarg; break;
		case O_PATH: cli_strv_push(&a->paths, optarg); break;
		case O_CONFIG: a->config = optarg; break;
		case O_FAIL:
			if (parse_bool(optarg, &a->fail_on_drift) < 0)
				return cli_usage_error("verify", "--fail-on-drift takes true or false, not '%s'", optarg);
			break;
		case O_REPORT: cli_strv_push(&a->reports, optarg); break;
		case O_SECRET: a->secret_file = optarg; break;
		case O_HOOKCA: a->hook_ca = optarg; break;
		case O_SPOOL: a->spool = optarg; break;
		case 'o':
			if (!strcmp(optarg, "json"))
				a->json_out = 1;
			else if (strcmp(optarg, "text"))
				return cli_usage_error("verify", "unknown output '%s' (text or json)", optarg);
			break;
		case O_CONC:
			a->concurrency = (int)strtol(optarg, &end, 10);
			if (*end || a->concurrency < 1 || a->concurrency > 64)
				return cli_usage_error("verify", "--concurrency takes 1 to 64, not '%s'", optarg);
			break;
		case O_PROBE: a->probe_image = optarg; break;
		case O_MIN: a->min_interval = optarg; break;
		case O_PTIMEOUT: a->probe_timeout = optarg; break;
		case O_REPO: cli_strv_push(&a->repos, optarg); break;
		case O_LOOKBACK:
			a->lookback = strtol(optarg, &end, 10);
			if (*end || a->lookback < 1 || a->lookback > RV_GIT_MAX_LOOKBACK)
				return cli_usage_error("verify", "--lookback takes 1 to %d, not '%s'",
					RV_GIT_MAX_LOOKBACK, optarg);
			break;
		case O_KUBECONFIG: a->kubeconfig = optarg; break;
		case O_CONTEXT: a->context = optarg; break;
		case O_INSECURE: cli_strv_push(&a->insecure, optarg); break;
		case O_CA: a->ca = optarg; break;
		case O_CACHE: a->cache = optarg; break;
		case O_DOCKER: a->docker = optarg; break;
		case O_NOEVENTS: a->events = 0; break;
		case O_NOANNOTATE: a->annotate = 0; break;
		case O_RUNID: a->run_id = optarg; break;
		case O_QAFTER:
			a->q_after = (int)strtol(optarg, &end, 10);
			if (!*optarg || *end || a->q_after < 0 || a->q_after > 1000)
				return cli_usage_error("verify", "--quarantine-after takes 0 to 1000, not '%s'", optarg);
			break;
		case O_QDRY: a->q_dry = 1; break;
		case O_EVICT: a->q_evict = 1; break;
		case O_POLR:
			if (parse_bool(optarg, &a->policy_reports) < 0)
				return cli_usage_error("verify", "--policy-reports takes true or false, not '%s'", optarg);
			break;
		case O_PKGS:
			if (parse_bool(optarg, &a->packages) < 0)
				return cli_usage_error("verify", "--packages takes true or false, not '%s'", optarg);
			break;
		case 'h':
			fputs(usage_text, stdout);
			return RV_EXIT_OK;
		default:
			return cli_usage_error("verify", "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage_error("verify", "unexpected argument '%s'", argv[optind]);
	if (a->all && a->namespaces.n)
		return cli_usage_error("verify", "--namespace and --all-namespaces exclude each other");
	if (a->run_id && (strlen(a->run_id) > 15 ||
	    strspn(a->run_id, "abcdefghijklmnopqrstuvwxyz0123456789") != strlen(a->run_id)))
		return cli_usage_error("verify", "--run-id takes up to 15 lower-case letters and digits");
	return -1;
}

/* Replace *dst with a copy of s. RV_ENOMEM. */
static int set_copy(char **dst, const char *s)
{
	char *c = strdup(s);

	if (!c)
		return rv_error_set(RV_ENOMEM, "out of memory");
	free(*dst);
	*dst = c;
	return RV_OK;
}

/* The command line over the configuration file. -1 when the run goes
 * on, else the exit code of a usage error; RV_EXIT_FAIL with the error
 * set for anything else. */
static int merge_args(rv_config *cfg, const struct args *a)
{
	size_t i;

	if (a->paths.n) {
		char **v;

		for (i = 0; i < a->paths.n; i++)
			if (rv_manifest_check_path(a->paths.v[i], strlen(a->paths.v[i])) < 0)
				return cli_usage_error("verify", "--path: %s", rv_error_last());
		if (!(v = dup_strv(&a->paths))) {
			rv_error_set(RV_ENOMEM, "out of memory");
			return RV_EXIT_FAIL;
		}
		for (i = 0; i < cfg->npaths; i++)
			free(cfg->paths[i]);
		free(cfg->paths);
		cfg->paths = v;
		cfg->npaths = a->paths.n;
	}
	if (a->concurrency)
		cfg->concurrency = a->concurrency;
	if (a->q_after >= 0)
		cfg->quarantine.after = a->q_after;
	cfg->quarantine.dry_run |= a->q_dry;
	cfg->quarantine.evict |= a->q_evict;
	if (a->policy_reports >= 0)
		cfg->policy_reports = a->policy_reports;
	if (a->packages >= 0)
		cfg->packages = a->packages;
	if (a->min_interval && rv_config_duration(&cfg->min_interval_ms, a->min_interval) < 0)
		return cli_usage_error("verify", "--min-interval: %s", rv_error_last());
	if (a->probe_timeout && rv_config_duration(&cfg->probe_timeout_ms, a->probe_timeout) < 0)
		return cli_usage_error("verify", "--probe-timeout: %s", rv_error_last());
	if (a->reports.n) {
		rv_webhook_cfg *w = realloc(cfg->webhooks, (cfg->nwebhooks + a->reports.n) * sizeof(*w));

		if (!w) {
			rv_error_set(RV_ENOMEM, "out of memory");
			return RV_EXIT_FAIL;
		}
		cfg->webhooks = w;
		for (i = 0; i < a->reports.n; i++) {
			rv_webhook_cfg *h = &cfg->webhooks[cfg->nwebhooks++];

			rv_config_webhook_init(h);
			if (set_copy(&h->url, a->reports.v[i]) < 0 ||
			    (a->secret_file && set_copy(&h->secret_file, a->secret_file) < 0) ||
			    (!a->secret_file && getenv("RV_WEBHOOK_SECRET") &&
			     set_copy(&h->secret_env, "RV_WEBHOOK_SECRET") < 0))
				return RV_EXIT_FAIL;
		}
	}
	if (a->spool && set_copy(&cfg->spool_dir, a->spool) < 0)
		return RV_EXIT_FAIL;
	return -1;
}

/* The report to stdout (JSON or text), its errors and refusals to stderr. */
static int print_report(json_t *report, int json_out)
{
	json_t *qerr = json_object_get(json_object_get(report, "quarantine"), "errors");
	rv_buf text = RV_BUF_INIT(64u << 20);
	char *body = NULL;
	size_t i;
	int rc = RV_OK;

	if (json_out) {
		body = json_dumps(report, JSON_INDENT(2) | JSON_SORT_KEYS);
		if (!body || cli_write_all(1, body, strlen(body)) < 0 || cli_write_all(1, "\n", 1) < 0)
			rc = RV_ERROR;
	} else if (rv_report_text(&text, report) < 0 || rv_quarantine_text(&text, report) < 0 ||
		   cli_write_all(1, text.ptr, text.len) < 0) {
		rc = RV_ERROR;
	}
	for (i = 0; i < json_array_size(json_object_get(report, "errors")); i++)
		cli_msg("verify", "%s", json_string_value(json_array_get(json_object_get(report, "errors"), i)));
	print_refusals(report);
	for (i = 0; i < json_array_size(qerr); i++)
		cli_msg("verify", "quarantine: %s", json_string_value(json_array_get(qerr, i)));
	free(body);
	rv_buf_dispose(&text);
	return rc;
}

int cmd_verify(int argc, char **argv)
{
	struct args a;
	rv_config cfg;
	rv_kube *k = NULL;
	rv_kube_opts ko;
	rv_verify_opts vo;
	rv_respond_opts ro;
	rv_git_options go;
	rv_git_repo **git = NULL;
	json_t *report = NULL;
	int rc, cfg_ok = 0, responded;
	size_t i;

	memset(&a, 0, sizeof(a));
	if ((rc = parse_args(&a, argc, argv)) >= 0)
		goto cleanup;
	if (rv_config_init(&cfg) < 0)
		goto fail;
	cfg_ok = 1;
	if (a.config && rv_config_load(&cfg, a.config) < 0)
		goto fail;
	if ((rc = merge_args(&cfg, &a)) == RV_EXIT_FAIL)
		goto fail;
	if (rc >= 0)
		goto cleanup;

	memset(&ko, 0, sizeof(ko));
	ko.kubeconfig = a.kubeconfig;
	ko.context = a.context;
	ko.timeout_ms = cfg.api_timeout_ms;
	if (rv_kube_new(&k, &ko) < 0)
		goto fail;
	memset(&go, 0, sizeof(go));
	go.lookback = (unsigned)a.lookback;
	if (a.repos.n && !(git = calloc(a.repos.n, sizeof(*git))))
		goto fail;
	for (i = 0; i < a.repos.n; i++)
		if (rv_git_new(&git[i], a.repos.v[i], NULL) < 0)
			goto fail;

	memset(&ro, 0, sizeof(ro));
	ro.cfg = &cfg;
	ro.webhook_ca = a.hook_ca;
	ro.events = a.events;
	ro.say = say;
	rv_respond_flush(&ro);   /* reports earlier runs could not deliver go first */

	memset(&vo, 0, sizeof(vo));
	vo.cfg = &cfg;
	vo.namespaces = a.namespaces.v;
	vo.nnamespaces = a.namespaces.n;
	vo.all_namespaces = a.all;
	vo.selector = a.selector;
	vo.probe_image = a.probe_image;
	vo.run_id = a.run_id;
	vo.registry.insecure = (const char *const *)(a.insecure.n ? a.insecure.v : (const char **)cfg.insecure_registries);
	vo.registry.ninsecure = a.insecure.n ? a.insecure.n : cfg.ninsecure;
	vo.registry.ca_file = a.ca ? a.ca : cfg.registry_ca;
	vo.registry.docker_config = a.docker ? a.docker : cfg.docker_config;
	vo.cache_dir = a.cache ? a.cache : cfg.cache_dir;
	vo.repos = git;
	vo.nrepos = a.repos.n;
	vo.git = &go;
	vo.events = a.events;
	vo.annotate = a.annotate;
	if (rv_verify_run(&report, k, &vo) < 0 && !report)
		goto fail;
	if (!report)
		goto fail;
	responded = rv_respond_run(report, k, &ro) == RV_OK;
	if (print_report(report, a.json_out) < 0)
		goto fail;
	rc = rv_report_exit_code(report, a.fail_on_drift);
	if (!responded)
		rc = RV_EXIT_FAIL;   /* a configured control that did not act */
	goto cleanup;
fail:
	rc = cli_fail("verify");
cleanup:
	json_decref(report);
	for (i = 0; git && i < a.repos.n; i++)
		rv_git_free(git[i]);
	free(git);
	rv_kube_free(k);
	if (cfg_ok)
		rv_config_dispose(&cfg);
	args_dispose(&a);
	return rc;
}
