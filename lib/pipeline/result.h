/* result.h - one container's and one pod's verification as typed values, and their JSON */
#ifndef RV_RESULT_H
#define RV_RESULT_H

#include <stddef.h>

#include <jansson.h>

#include "core/diff.h"
#include "core/summary.h"
#include "util/sha256.h"

/* The answer for one container (docs/report.schema.json, "verdict").
 * Adding one makes -Wswitch name every place that must handle it. */
typedef enum rv_verdict {
	RV_VERDICT_CLEAN = 0,     /* the running bytes are the image's */
	RV_VERDICT_DRIFT,         /* something differs (maybe incomplete too) */
	RV_VERDICT_INCOMPLETE,    /* nothing differs in what could be read,
	                           * but not everything could be read */
	RV_VERDICT_UNVERIFIABLE,  /* no comparison was possible: see rv_cause */
	RV_VERDICT_SKIPPED        /* verified clean recently (minInterval) */
} rv_verdict;
#define RV_VERDICT_COUNT 5

/*
 * Why a container was not compared: the whole list, in the order the
 * stages meet them. The reason text (cr->reason) says the details.
 */
typedef enum rv_cause {
	RV_CAUSE_NONE = 0,
	RV_CAUSE_NOT_RUNNING,      /* the container status is not running */
	RV_CAUSE_IMAGE_ID,         /* status.imageID names no repo@digest (claims.c) */
	RV_CAUSE_IMAGE,            /* the image could not be fetched or
	                            * fingerprinted (runcache.c) */
	RV_CAUSE_PROBE_CAP,        /* the pod carries maxEphemeralContainers
	                            * verifier containers already */
	RV_CAUSE_PROBE_REJECTED,   /* Pod Security refused an earlier probe
	                            * (the pod's probe-rejected annotation) */
	RV_CAUSE_PROBE_SPEC,       /* no probe can mirror the target (probe.c) */
	RV_CAUSE_PROBE_REFUSED,    /* the API server refused the probe */
	RV_CAUSE_PROBE_UNFINISHED, /* the probe did not terminate in time */
	RV_CAUSE_PROBE_NOT_STARTED,/* the probe container never ran */
	RV_CAUSE_PROBE_NO_RESULT,  /* its termination message is no summary */
	RV_CAUSE_PROBE_LOG,        /* its log could not be read */
	RV_CAUSE_PROBE_OUTPUT,     /* its log failed the frame's checks */
	RV_CAUSE_PROBE_FORGED,     /* log and termination message disagree */
	RV_CAUSE_COMPARE           /* the comparison itself failed (memory,
	                            * allowlist, package catalogue) */
} rv_cause;

/* A claim about the image reference (claims.c): the spec's tag or digest
 * against what the container runs. */
typedef struct rv_claim {
	const char *kind;      /* static: "mutable-tag", "tag-moved", ... */
	rv_severity severity;
	char *message;
} rv_claim;

/* What the comparison counted: the report's "counts" and everything the
 * verdict is decided from (verdict.c). */
typedef struct rv_tally {
	size_t findings;                  /* file and package findings */
	size_t by_severity[RV_SEV_COUNT];
	size_t allowed;                   /* file changes the allowlist took */
	size_t masked;                    /* entries and packages under mounts */
	size_t unknown;                   /* entries below an unreadable directory */
	int files_complete;               /* the probe read every entry */
	size_t file_changes;              /* listed file changes, unreadable ones too */
	size_t file_errors;               /* of those, unreadable on either side */
	int packages;                     /* the package check was asked for */
	int pkg_checked;                  /* and ran (else pkg_not_checked says why) */
	size_t pkg_changes;               /* added + removed + changed + db_changed */
	int pkg_complete;                 /* no package database was unreadable */
} rv_tally;

/*
 * One container of one pod. Every string is owned (rv_cresult_dispose
 * frees it) and NULL when unknown; JSON members are owned references.
 * The stages fill it in order: identity and claims, the image side, the
 * probe, the comparison, the verdict. A stage that fails sets the
 * verdict (rv_cresult_fail) and the later ones do not run.
 */
typedef struct rv_cresult {
	/* identity: the spec's container and what its status says it runs */
	char *name, *image;            /* spec name and image reference */
	char *container_id, *image_id; /* from the container status */
	char *image_ref;               /* "repository@sha256:..." from imageID */
	const char *image_digest;      /* "sha256:...", inside image_ref */
	rv_claim *claims;
	size_t nclaims;
	/* the image side */
	char *revision;                /* org.opencontainers.image.revision */
	json_t *provenance;            /* rv_report_provenance(), shared copy */
	int has_image_root;
	unsigned char image_root[RV_SHA256_LEN];
	/* the probe */
	char *probe;                   /* its container name, once built */
	int has_exit;                  /* terminated with an exit code */
	long long exit_code;
	char *exit_reason;             /* terminated.reason */
	int has_summary;               /* its termination message parsed */
	rv_summary summary;
	/* the comparison */
	int compared;                  /* tally, findings, packages are set */
	rv_tally tally;
	json_t *findings;              /* array of finding objects, capped */
	json_t *pkg_summary;           /* the package check's summary object */
	const char *pkg_not_checked;   /* static: why packages were not compared */
	/* the verdict */
	rv_verdict verdict;
	rv_cause cause;                /* for RV_VERDICT_UNVERIFIABLE */
	char *reason;                  /* for unverifiable, incomplete, skipped */
	int incomplete;                /* a drift verdict that could not read all */
	char group[RV_SHA256_HEX];     /* drift group (hex), "" unless drift */
	/* timings in ms, -1 when the stage was not reached */
	long image_ms, probe_ms, total_ms;
	char *event_error;             /* the Event for it could not be posted */
} rv_cresult;

/* Most findings listed per container; the rest are counted. */
#define RV_RESULT_MAX_FINDINGS 200

/* An empty result: unverifiable, nothing known, timings -1. */
void rv_cresult_init(rv_cresult *cr);

/* Free what cr owns (not cr). */
void rv_cresult_dispose(rv_cresult *cr);

/* Copy s into *field (freeing what was there); NULL stays NULL.
 * RV_ENOMEM. */
int rv_result_set_str(char **field, const char *s);

/*
 * The container is unverifiable because of why: the verdict, the cause
 * and the reason (printf format, at most 2047 bytes) are set. Returns
 * RV_ERROR, so a stage can end with `return rv_cresult_fail(...)`.
 */
int rv_cresult_fail(rv_cresult *cr, rv_cause why, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Add a claim (kind is static, message copied). RV_ENOMEM. */
int rv_cresult_claim(rv_cresult *cr, const char *kind, rv_severity sev,
	const char *message);

/*
 * The container's report object (docs/report.schema.json): the only
 * place its keys are spelled. A skipped container has name, image,
 * verdict and reason only. Returns a new reference, NULL when out of
 * memory.
 */
json_t *rv_cresult_json(const rv_cresult *cr);

/* One pod: its identity, notes (refusals that do not change a verdict)
 * and containers. Owned like rv_cresult. */
typedef struct rv_presult {
	char *namespace, *name, *uid, *node;
	char *workload;                  /* "Deployment/name" or similar */
	char *workload_kind, *workload_name; /* what quarantine counts by */
	rv_cresult *containers;
	size_t ncontainers;
	char **notes;
	size_t nnotes;
} rv_presult;

void rv_presult_init(rv_presult *p);
void rv_presult_dispose(rv_presult *p);

/* Room for n containers, each rv_cresult_init'ed. RV_ENOMEM. */
int rv_presult_containers(rv_presult *p, size_t n);

/* Add a note (copied). RV_ENOMEM. */
int rv_presult_note(rv_presult *p, const char *msg);

/* The pod's report object with its containers. New reference or NULL. */
json_t *rv_presult_json(const rv_presult *p);

#endif
