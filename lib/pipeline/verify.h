/* verify.h - the CronJob's job: the run, its workers, and the stages per pod and container */
#ifndef RV_VERIFY_H
#define RV_VERIFY_H

#include <stddef.h>

#include <jansson.h>

#include "pipeline/config.h"
#include "sources/git/git.h"
#include "sources/kube/kube.h"
#include "sources/oci/registry.h"

#define RV_REPORT_API_VERSION "runtime-verifier.io/v1"
#define RV_REPORT_KIND "VerificationReport"

/* Annotations and labels verify reads and writes on pods. */
#define RV_ANN_VERIFIED "runtime-verifier.io/last-verified"
#define RV_ANN_REJECTED "runtime-verifier.io/probe-rejected"

typedef struct rv_verify_opts {
	const rv_config *cfg;              /* paths, excludes, allowlist, probe... */
	const char *const *namespaces;     /* where to look; none: the client's */
	size_t nnamespaces;
	int all_namespaces;
	const char *selector;              /* label selector, may be NULL */
	const char *probe_image;           /* overrides cfg->probe_image */
	const char *run_id;                /* NULL: generated */
	const char *cluster;               /* name for the report; NULL: server URL */
	rv_registry_opts registry;         /* insecure hosts, CA, docker config */
	const char *cache_dir;             /* image fingerprint cache, or NULL */
	rv_git_repo *const *repos;         /* provenance; may be none */
	size_t nrepos;
	const rv_git_options *git;         /* may be NULL */
	int events;                        /* post Events for drift and failures */
	int annotate;                      /* keep last-verified state on pods */
} rv_verify_opts;

/*
 * Verify every Running pod that matches and build the report (a JSON
 * object, schema in docs/report.schema.json) into *out. One pod's failure
 * never stops the run: it becomes that pod's "unverifiable" verdict with
 * the reason. Only a failure to list pods at all (API unreachable, bad
 * selector, refused) is an error of the run: then *out still holds a
 * report, with the error in "errors", and the code is returned.
 */
int rv_verify_run(json_t **out, rv_kube *k, const rv_verify_opts *opts);

#endif
