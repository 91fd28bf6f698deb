/* policyreport.h - a verify report as wgpolicyk8s.io/v1alpha2 PolicyReports */
#ifndef RV_POLICYREPORT_H
#define RV_POLICYREPORT_H

#include <stddef.h>

#include <jansson.h>

#include "sources/kube/kube.h"

#define RV_POLR_API_VERSION "wgpolicyk8s.io/v1alpha2"
#define RV_POLR_NAME "runtime-verifier"          /* one report per namespace */
#define RV_POLR_POLICY "runtime-verifier"
#define RV_POLR_RULE "image-integrity"
#define RV_POLR_MAX_RESULTS 500                  /* per report, see below */
#define RV_POLR_MAX_BYTES (1024u * 1024u)        /* results' JSON, per report */

typedef struct rv_policyreport_opts {
	size_t max_results;   /* 0: RV_POLR_MAX_RESULTS */
	size_t max_bytes;     /* 0: RV_POLR_MAX_BYTES */
} rv_policyreport_opts;

/*
 * Build one PolicyReport (wgpolicyk8s.io/v1alpha2, the schema of the CRD
 * Kyverno ships) per namespace of a verify report (rv_verify_run; borrowed,
 * not changed). Pure: no I/O, no clock (timestamps are the report's
 * finishedAt), the same report always gives the same objects.
 *
 * Namespaces: every one the run was asked to verify (selector.namespaces,
 * "*" excepted), then every one a verified pod is in; a namespace without
 * pods gets a report with no results, so that stale results go away.
 * One result per container: clean -> pass, drift -> fail (severity the
 * highest finding's), incomplete -> warn, unverifiable -> error,
 * skipped -> skip. summary counts the results.
 *
 * An object in etcd is limited to about 1.5 MiB: a report holds at most
 * max_results container results and max_bytes of them. Past that, the
 * most severe results are kept (fail, error, warn, then skip and pass, in
 * report order within each) and one more result, rule "report-truncated",
 * result warn, says how many of each were left out; the annotation
 * runtime-verifier.io/results-omitted says the same number.
 *
 * *out is a new JSON array of PolicyReport objects (no resourceVersion).
 */
int rv_policyreport_build(json_t **out, json_t *report, const rv_policyreport_opts *o);

/*
 * Create or replace one PolicyReport (as built above; borrowed) in its
 * namespace: GET; 404 -> POST (409 AlreadyExists -> read again); else PUT
 * with the current metadata.resourceVersion (409 Conflict -> read again),
 * at most 5 rounds, then RV_ECONFLICT ("still conflicting after 5
 * attempts", then the server's last answer). An existing report of that
 * name that does not carry the label
 * app.kubernetes.io/managed-by=runtime-verifier is not overwritten
 * (RV_ECONFLICT). Errors name the namespace, the report and the refused
 * request ("cannot get resource \"policyreports\" ...").
 */
int rv_policyreport_put(rv_kube *k, json_t *polr);

/*
 * Build and write the PolicyReports of a verify report. A run that failed
 * (report "errors" not empty before this call) writes nothing: its
 * namespaces keep their previous reports. Each namespace that could not be
 * written adds a message to the report's "errors" (so the run exits 2, as
 * docs/commands/verify.md says). Returns RV_OK, or the first failure's
 * code (the messages are in the report).
 */
int rv_policyreport_write(rv_kube *k, json_t *report, const rv_policyreport_opts *o);

#endif
