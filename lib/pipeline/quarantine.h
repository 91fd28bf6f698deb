/* quarantine.h - repeated drift -> quarantine label, counts kept in a ConfigMap */
#ifndef RV_QUARANTINE_H
#define RV_QUARANTINE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "pipeline/config.h"
#include "sources/kube/kube.h"

/*
 * Per workload, across runs, the number of consecutive drifted and clean
 * runs, kept in a ConfigMap in the verifier's own namespace (default
 * runtime-verifier-state). After cfg->after consecutive drifted runs the
 * workload's drifted pods get the label below (which the shipped Kyverno
 * policy turns into a deny-all NetworkPolicy); after cfg->release_after
 * consecutive clean runs it is removed. docs/operations.md, "Quarantine".
 *
 * The state's format, one ConfigMap key per workload:
 *   key    NS.KIND.NAME: the namespace, the workload's Kubernetes kind and
 *          its name, as the report's pods[].workloadRef gives them
 *          (rv_pods_workload_ref: "prod.Deployment.api",
 *          "prod.StatefulSet.api"; a bare pod "prod.Pod.debug"). A
 *          namespace and a kind hold no '.', so the first two dots split
 *          the key. When longer than 253 bytes: NS.KIND._<32 hex of
 *          sha256("NS/KIND/NAME")>; '_' never occurs in Kubernetes names, so
 *          the two forms cannot collide.
 *   value  compact JSON: {"namespace","workload","kind","drifted","clean",
 *          "quarantined","since"?,"lastRun","lastRunId","driftGroup"?,"pods"}
 * Everything read back is validated; an entry that fails (or whose key is
 * not the key of its own namespace/kind/workload) is dropped and reported
 * as an error. An entry of the format before the kind was kept (key
 * NS.workload.NAME or NS.pod.NAME, value kind "workload" or "pod": a
 * lower-case word, never a Kubernetes kind) is valid but stale: the next
 * step drops it and lists it in "dropped" (not an error); it is never
 * counted or matched to a workload of this run.
 */

#define RV_QUARANTINE_LABEL "runtime-verifier.io/quarantine"
#define RV_QUARANTINE_STATE_NAME "runtime-verifier-state"
#define RV_QUARANTINE_STATE_NS "runtime-verifier"
#define RV_QUARANTINE_SA_NS_FILE "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

#define RV_QUARANTINE_MAX_ENTRIES 4000      /* workloads in the state */
#define RV_QUARANTINE_MAX_BYTES (768u << 10) /* keys + values; a ConfigMap holds <= 1 MiB */
#define RV_QUARANTINE_MAX_VALUE 20480       /* one entry's JSON */
#define RV_QUARANTINE_MAX_PODS 64           /* labelled pods remembered per workload */
#define RV_QUARANTINE_MAX_COUNT 1000000     /* counters saturate here */
#define RV_QUARANTINE_RETRIES 5             /* re-reads after a 409 */

typedef struct rv_quarantine_opts {
	const rv_quarantine_cfg *cfg; /* after (> 0), release_after, dry run, evict, state */
	const char *run_id;           /* NULL: the report's runId */
	int events;                   /* post Quarantined / QuarantineReleased Events */
	int64_t now;                  /* seconds since the epoch; 0: time(NULL) */
	const char *sa_ns_file;       /* NULL: RV_QUARANTINE_SA_NS_FILE */
} rv_quarantine_opts;

/*
 * The whole step, after verify: read the state (GET), apply this run's
 * verdicts (rv_quarantine_step), write it back (PUT with the
 * resourceVersion read, or POST when there is none; on 409 read again and
 * apply again, at most RV_QUARANTINE_RETRIES times), then label, unlabel
 * and evict as decided. Labels are written only once the state that
 * remembers them is stored. Dry run: read, compute, report; write nothing.
 *
 * Adds report["quarantine"] (docs/report.schema.json) in every case.
 * Returns RV_OK, or the first error (the state could not be read or
 * written, a label or an eviction failed; a PodDisruptionBudget's 429 is
 * not an error) with a message naming what failed; all of them are in
 * report.quarantine.errors.
 */
int rv_quarantine_run(json_t *report, rv_kube *k, const rv_quarantine_opts *opts);

/* --- the pure part (no network), for tests and the fuzzer ------------------ */

/* The state key of a workload of a Kubernetes kind ("Deployment",
 * "StatefulSet"...; "Pod" for a bare pod) into out (at least 254 bytes).
 * RV_EINVAL when ns is not a DNS label, kind not a kind (an upper-case
 * letter, then letters, digits, '-'; at most 63) or name not a DNS
 * subdomain. */
int rv_quarantine_key(char *out, size_t size, const char *ns, const char *kind,
	const char *name);

/*
 * A ConfigMap (the API server's JSON answer, untrusted bytes) into a new
 * object of validated entries (key -> entry object) in *out. Entries that
 * fail validation are left out and a message per entry is appended to
 * problems (a JSON array, may be NULL). RV_EFORMAT when the bytes are not a
 * ConfigMap at all, RV_ETOOBIG past the caps.
 */
int rv_quarantine_state_parse(json_t **out, json_t *problems, const char *data,
	size_t len);

/* The same from an already parsed ConfigMap object (borrowed). */
int rv_quarantine_state_load(json_t **out, json_t *problems, json_t *configmap);

/* Entries back into ConfigMap data (key -> compact JSON string), new
 * object in *out. */
int rv_quarantine_state_data(json_t **out, json_t *entries);

/*
 * This run, per workload, from a report: a new object key -> {"namespace",
 * "workload", "kind", "run": "drifted" | "clean" | "unchanged",
 * "driftGroup"?, "drifted": [{name, uid}], "pods": [{name, uid}]}.
 * Pods are grouped by namespace and their "workloadRef" (kind and name).
 * drifted: some container of the workload drifted; clean: every container
 * clean or skipped and at least one clean; anything else: unchanged.
 * Pods with an invalid namespace, name or workloadRef (or none) are left
 * out, with a message in problems (may be NULL).
 */
int rv_quarantine_observe(json_t **out, json_t *problems, json_t *report);

/*
 * Apply this run (runs, from rv_quarantine_observe) to entries (changed in
 * place) and decide. *out is a new object {"actions": [...], "dropped":
 * [...]}: actions {"action": "label" | "unlabel" | "evict", "namespace",
 * "pod", "uid"?, "workload", "workloadKind", "key", "event", "reason"};
 * dropped {"key", "namespace", "workload", "workloadKind"?,
 * "quarantined", "reason"}. An entry whose lastRunId is run_id already
 * counted this run and is not counted again. Only pods of a workload of
 * another kind than "Pod" (a controller owns them) are evicted. Entries of
 * the old key format and stale entries (not seen for cfg->stale_ms) are
 * dropped, then the least recently seen ones (not quarantined first) until
 * the caps hold.
 */
int rv_quarantine_step(json_t **out, json_t *entries, json_t *runs,
	const rv_quarantine_cfg *cfg, const char *run_id, int64_t now);

/* The quarantine part of the text summary (nothing when the report has
 * none), appended to out. */
int rv_quarantine_text(rv_buf *out, json_t *report);

#endif
