/* probe.h - the ephemeral probe: its spec, and one call from patch to checked output */
#ifndef RV_PROBE_H
#define RV_PROBE_H

#include <stddef.h>

#include <jansson.h>

#include "core/dbset.h"
#include "core/manifest.h"
#include "pipeline/config.h"
#include "pipeline/result.h"
#include "sources/oci/image.h"
#include "sources/kube/kube.h"

/* Ephemeral containers verify adds are named RV_PROBE_PREFIX + run + index. */
#define RV_PROBE_PREFIX "rv-"

/*
 * The ephemeral container that probes container c of pod. With the
 * "mirror" profile it runs as the target's uid and gid with the target's
 * capabilities (the kernel lets a process read /proc/PID/root of a
 * same-uid, same-gid, dumpable target whose permitted capabilities are a
 * subset of its own), and adds only restrictions, so it passes the
 * namespace's Pod Security level whenever the target does. "sysadmin" is
 * root with SYS_PTRACE. img (may be NULL) supplies the image's USER.
 * *out is a new reference. RV_EINVAL when no probe can mirror the target
 * (a user name in the image), RV_ENOMEM.
 */
int rv_probe_spec(json_t **out, const rv_config *cfg, const char *name,
	const char *probe_image, json_t *pod, json_t *c, const rv_image *img);

/* How many verifier containers (RV_PROBE_PREFIX) pod carries already. */
size_t rv_probe_count(json_t *pod);

typedef struct rv_probe_job {
	rv_kube *k;
	const char *ns, *pod;
	json_t *spec;                    /* rv_probe_spec's, borrowed */
	long timeout_ms;
	const unsigned char *image_root; /* the image's manifest root hash */
	const unsigned char *image_dbs;  /* the image's comparable dbset digest,
	                                  * or NULL: packages are not compared */
} rv_probe_job;

typedef struct rv_probe_out {
	rv_manifest *manifest;  /* the runtime manifest, decoded and checked
	                         * when the roots differ or the walk was
	                         * incomplete; NULL when equal */
	rv_dbset *dbs;          /* the runtime package databases, decoded and
	                         * checked when their digest differs; NULL
	                         * when equal or not compared */
	char *psa_refusal;      /* Pod Security's refusal of the probe, to be
	                         * remembered on the pod; NULL otherwise */
} rv_probe_out;

/*
 * Run one probe: add the ephemeral container (PATCH), wait for it to
 * terminate, parse its termination summary, and read and decode its log
 * only when a side differs from the image (job->image_root,
 * job->image_dbs); the decoded output must hash to what the termination
 * message says. Records the probe's name, exit code, summary and time in
 * cr as it goes. On failure cr is unverifiable with the cause and reason
 * (RV_CAUSE_PROBE_*) and RV_ERROR is returned. *out is the caller's
 * (rv_probe_out_dispose) either way.
 */
int rv_probe_run(rv_probe_out *out, rv_cresult *cr, const rv_probe_job *job);

void rv_probe_out_dispose(rv_probe_out *out);

#endif
