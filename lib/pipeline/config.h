/* config.h - verify's configuration file (YAML), see docs/config.md */
#ifndef RV_CONFIG_H
#define RV_CONFIG_H

#include <stddef.h>

/* One allowlist rule: paths that may change after start, for pods of a
 * namespace and/or workload (either may be NULL: any). */
typedef struct rv_allow_rule {
	char *namespace;
	char *workload;
	char **paths;      /* globs (core/glob.h) */
	size_t npaths;
} rv_allow_rule;

typedef struct rv_webhook_cfg {
	char *url;
	char *secret_file;     /* HMAC secret, read at send time */
	char *secret_env;      /* or the name of an env var holding it */
	char *bearer_token_file;
	long timeout_ms;
	int retries;
} rv_webhook_cfg;

/* An empty webhook with the defaults: 10 s timeout, 4 retries. */
void rv_config_webhook_init(rv_webhook_cfg *w);

/* Repeated drift -> quarantine (pipeline/quarantine.h, docs/config.md). */
typedef struct rv_quarantine_cfg {
	int after;             /* consecutive drifted runs before the label; 0: off (default) */
	int release_after;     /* consecutive clean runs before it goes; default 3 */
	int dry_run;           /* compute and report, write nothing */
	int evict;             /* also evict quarantined pods (Eviction API) */
	char *state_namespace; /* NULL: the service account's namespace, else runtime-verifier */
	char *state_name;      /* NULL: runtime-verifier-state */
	long stale_ms;         /* entries not seen this long are dropped; default 7 days */
} rv_quarantine_cfg;

typedef struct rv_config {
	char **paths;          /* default {"/app"} */
	size_t npaths;
	char **excludes;
	size_t nexcludes;
	rv_allow_rule *allow;
	size_t nallow;
	char *probe_image;     /* NULL: must come from --probe-image */
	int max_ephemeral;     /* per pod, default 20 */
	char *probe_profile;   /* "mirror" (default) or "sysadmin" */
	long probe_timeout_ms; /* default 120 s */
	long api_timeout_ms;   /* default 30 s */
	long registry_timeout_ms; /* default 60 s */
	long min_interval_ms;  /* default 0: probe every run */
	int concurrency;       /* default 4 */
	rv_webhook_cfg *webhooks;
	size_t nwebhooks;
	char *spool_dir;       /* undeliverable reports; NULL: no spool */
	char **insecure_registries;
	size_t ninsecure;
	char *registry_ca;
	char *cache_dir;
	char *docker_config;
	int policy_reports;    /* write PolicyReports (pipeline/policyreport.h); default 0 */
	int packages;          /* catalogue and diff package databases on both sides; default 1 */
	rv_quarantine_cfg quarantine;
} rv_config;

/* Fill c with the defaults. Dispose with rv_config_dispose. */
int rv_config_init(rv_config *c);

/* Read a YAML file into c (on top of the defaults set by rv_config_init).
 * Unknown keys, wrong types and bad values are errors naming the file and
 * the key ("config '/etc/rv.yaml': unknown key 'pahts'"). */
int rv_config_load(rv_config *c, const char *path);

/* Free what c holds; c can be initialised again. */
void rv_config_dispose(rv_config *c);

/* Parse a duration ("90s", "15m", "1h30m", "500ms"; a bare number is
 * seconds) into milliseconds. RV_EINVAL naming it if malformed. */
int rv_config_duration(long *out_ms, const char *s);

/* The allowlist globs that apply to a pod: collected into *out (borrowed
 * strings; free the array only). */
int rv_config_allow_for(const char ***out, size_t *n, const rv_config *c,
	const char *namespace, const char *workload);

#endif
