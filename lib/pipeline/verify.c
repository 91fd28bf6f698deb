/* verify.c - the CronJob's job: the run, its workers, and the stages per pod and container */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/diff.h"
#include "pipeline/aggregate.h"
#include "pipeline/claims.h"
#include "pipeline/pkgcheck.h"
#include "pipeline/probe.h"
#include "pipeline/runcache.h"
#include "pipeline/verdict.h"
#include "pipeline/verify.h"
#include "sources/kube/pods.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/json.h"
#include "util/banned.h"

#define MAX_WORKERS 64

typedef struct run {
	const rv_verify_opts *o;
	rv_kube *k;
	char run_id[16];
	const char *probe_image;
	rv_runcache *cache;
	json_t *pods;           /* input: the pods to verify */
	rv_presult *results;    /* output: one per pod, same order */
	size_t next;            /* next pod index to take, under lock */
	pthread_mutex_t lock;
} run;

static const char *annotation(json_t *pod, const char *k)
{
	return rv_json_str(json_object_get(json_object_get(pod, "metadata"), "annotations"), k);
}

/* --- one container ------------------------------------------------------------- */

/* The probe may be added: under the pod's cap, and not refused before. */
static int probe_allowed(run *r, rv_cresult *cr, json_t *pod, size_t index)
{
	size_t have = rv_probe_count(pod);
	const char *refused = annotation(pod, RV_ANN_REJECTED);

	if (have + index >= (size_t)r->o->cfg->max_ephemeral)
		return rv_cresult_fail(cr, RV_CAUSE_PROBE_CAP,
			"the pod carries %zu verifier containers (cap %d): it needs a restart to be verifiable again",
			have, r->o->cfg->max_ephemeral);
	if (refused)
		return rv_cresult_fail(cr, RV_CAUSE_PROBE_REJECTED,
			"an earlier verifier container was refused (%.1500s); not retried until the pod's '%s' annotation is removed",
			refused, RV_ANN_REJECTED);
	return RV_OK;
}

/* Both sides are in: the file diff and the package check, then the
 * verdict. */
static int compare(run *r, rv_cresult *cr, json_t *pod, const rv_runcache_image *e,
	const rv_probe_out *po)
{
	const rv_config *cfg = r->o->cfg;
	const char *pkg_reason = NULL, **allow = NULL;
	rv_diff *d = NULL;
	rv_pkgcheck *pc = NULL;
	size_t nallow = 0;
	char wl[256];
	int rc = RV_OK;

	if (po->manifest && (rv_config_allow_for(&allow, &nallow, cfg, rv_json_meta(pod, "namespace"),
			rv_pods_workload(pod, wl, sizeof(wl))) < 0 ||
	    rv_diff_compute(&d, e->img->manifest, po->manifest, allow, nallow) < 0)) {
		rc = rv_cresult_fail(cr, RV_CAUSE_COMPARE, "%s", rv_error_last());
		goto cleanup;
	}
	if (cfg->packages && !cr->summary.has_dbset)
		pkg_reason = "the probe reported no package databases (an rv-probe without --packages?)";
	else if (cfg->packages && !e->img->dbset)
		pkg_reason = "the image side collected no package databases";
	if (cfg->packages && !pkg_reason &&
	    rv_pkgcheck_run(&pc, e->img->dbset, e->dbs_digest,
			po->dbs ? rv_runcache_sbom(r->cache, e) : NULL, po->dbs,
			cr->summary.dbset) < 0) {
		rc = rv_cresult_fail(cr, RV_CAUSE_COMPARE,
			"cannot compare the package databases: %.1800s", rv_error_last());
		goto cleanup;
	}
	cr->tally.files_complete = cr->summary.complete;
	cr->tally.packages = cfg->packages;
	if ((rc = rv_verdict_findings(cr, d, pc, pkg_reason)) < 0 ||
	    (rc = rv_verdict_decide(cr)) < 0)
		rc = rv_cresult_fail(cr, RV_CAUSE_COMPARE, "%s", rv_error_last());
cleanup:
	free(allow);
	rv_diff_free(d);
	rv_pkgcheck_free(pc);
	return rc;
}

/*
 * One container through the stages: what it runs (claims), the image
 * side (once per run per image), the probe, the comparison and the
 * verdict. Every stage that fails leaves cr unverifiable with its cause;
 * a Pod Security refusal of the probe is remembered in ann.
 */
static void verify_container(run *r, rv_cresult *cr, json_t *pod, json_t *c,
	size_t index, rv_registry *reg, json_t *ann)
{
	json_t *st = rv_pods_container_status(pod, rv_json_str(c, "name"), 0), *spec = NULL;
	const rv_runcache_image *e;
	rv_probe_out po = { 0 };
	rv_probe_job job;
	char probe_name[64];
	long t0 = rv_clock_ms();

	if (rv_result_set_str(&cr->name, rv_json_str(c, "name")) < 0 ||
	    rv_result_set_str(&cr->image, rv_json_str(c, "image")) < 0) {
		rv_cresult_fail(cr, RV_CAUSE_COMPARE, "%s", rv_error_last());
		goto cleanup;
	}
	if (!st || !json_object_get(json_object_get(st, "state"), "running")) {
		rv_cresult_fail(cr, RV_CAUSE_NOT_RUNNING, "the container is not running");
		goto cleanup;
	}
	(void)rv_result_set_str(&cr->container_id, rv_json_str(st, "containerID"));
	if (rv_claims_image_ref(cr, rv_json_str(st, "imageID")) < 0)
		goto cleanup;
	(void)rv_claims_check(cr, r->cache, reg);

	e = rv_runcache_image_get(r->cache, reg, cr->image_ref);
	cr->image_ms = rv_clock_ms() - t0;
	if (!e || !e->img) {
		rv_cresult_fail(cr, RV_CAUSE_IMAGE, "cannot fingerprint the image '%.300s': %.1200s",
			cr->image_ref, e ? e->error : "out of memory");
		goto cleanup;
	}
	cr->provenance = json_incref(e->provenance);
	(void)rv_result_set_str(&cr->revision, e->img->revision);
	if (rv_manifest_root_hash(cr->image_root, e->img->manifest) < 0) {
		rv_cresult_fail(cr, RV_CAUSE_IMAGE, "%s", rv_error_last());
		goto cleanup;
	}
	cr->has_image_root = 1;

	if (probe_allowed(r, cr, pod, index) < 0)
		goto cleanup;
	snprintf(probe_name, sizeof(probe_name), RV_PROBE_PREFIX "%s-%zu", r->run_id, index);
	if (rv_probe_spec(&spec, r->o->cfg, probe_name, r->probe_image, pod, c, e->img) < 0) {
		rv_cresult_fail(cr, RV_CAUSE_PROBE_SPEC, "cannot build the probe container: %s",
			rv_error_last());
		goto cleanup;
	}
	job = (rv_probe_job){ r->k, rv_json_meta(pod, "namespace"), rv_json_meta(pod, "name"), spec,
		r->o->cfg->probe_timeout_ms, cr->image_root,
		r->o->cfg->packages && e->img->dbset ? e->dbs_digest : NULL };
	if (rv_probe_run(&po, cr, &job) < 0) {
		if (po.psa_refusal)
			json_object_set_new(ann, RV_ANN_REJECTED, json_string(po.psa_refusal));
		goto cleanup;
	}
	(void)compare(r, cr, pod, e, &po);
cleanup:
	cr->total_ms = rv_clock_ms() - t0;
	rv_probe_out_dispose(&po);
	json_decref(spec);
}

/* --- one pod --------------------------------------------------------------------- */

/* 1 when the pod was verified clean within minInterval with the same
 * containers, so it need not be probed again. */
static int recently_clean(run *r, json_t *pod, char when[RV_TIME_ISO_LEN])
{
	const char *ann = annotation(pod, RV_ANN_VERIFIED);
	json_t *v, *ids, *c;
	json_int_t at;
	size_t i;
	int same = 1;

	if (r->o->cfg->min_interval_ms <= 0 || !ann)
		return 0;
	v = json_loads(ann, 0, NULL);
	at = json_integer_value(json_object_get(v, "at"));
	ids = json_object_get(v, "containers");
	if (!json_is_object(ids) || at <= 0 ||
	    (time(NULL) - at) * 1000 >= r->o->cfg->min_interval_ms)
		same = 0;
	json_array_foreach(json_object_get(json_object_get(pod, "spec"), "containers"), i, c) {
		json_t *st = rv_pods_container_status(pod, rv_json_str(c, "name"), 0);
		const char *want = rv_json_str(ids, rv_json_str(c, "name") ? rv_json_str(c, "name") : "");

		if (!st || !want || !rv_json_str(st, "containerID") || strcmp(want, rv_json_str(st, "containerID")))
			same = 0;
	}
	if (same)
		rv_clock_iso(when, (int64_t)at);
	json_decref(v);
	return same;
}

/* A Warning Event on the pod for each container that is not clean. */
static void post_events(run *r, json_t *pod, rv_presult *p)
{
	size_t i;

	for (i = 0; i < p->ncontainers; i++) {
		rv_cresult *c = &p->containers[i];
		char msg[1024];

		if (c->verdict == RV_VERDICT_CLEAN || c->verdict == RV_VERDICT_SKIPPED)
			continue;
		if (c->verdict == RV_VERDICT_DRIFT)
			snprintf(msg, sizeof(msg),
				"container %.100s drifted from image %.80s: %zu findings (%zu high), run %s",
				c->name ? c->name : "(null)", c->image_digest ? c->image_digest : "?",
				c->tally.findings, c->tally.by_severity[RV_SEV_HIGH], r->run_id);
		else
			snprintf(msg, sizeof(msg), "container %.100s is %s: %.700s (run %s)",
				c->name ? c->name : "(null)", rv_verdict_name(c->verdict),
				c->reason ? c->reason : "", r->run_id);
		if (rv_pods_event(r->k, pod, "Warning", c->verdict == RV_VERDICT_DRIFT ?
				"DriftDetected" : "VerificationFailed", msg) < 0)
			(void)rv_result_set_str(&c->event_error, rv_error_last());
	}
}

/* The pod's state annotations: last-verified when every container is
 * clean, removed when not (an older "clean" must not let --min-interval
 * skip it), and the probe-rejected note; patched when any changed. */
static void annotate(run *r, json_t *pod, rv_presult *p, json_t *ann)
{
	json_t *ids = json_object(), *c;
	size_t i;
	int all_clean = p->ncontainers > 0;

	json_array_foreach(json_object_get(json_object_get(pod, "spec"), "containers"), i, c) {
		json_t *st = rv_pods_container_status(pod, rv_json_str(c, "name") ? rv_json_str(c, "name") : "", 0);

		if (st && rv_json_str(st, "containerID") && rv_json_str(c, "name"))
			json_object_set(ids, rv_json_str(c, "name"), json_object_get(st, "containerID"));
	}
	for (i = 0; i < p->ncontainers; i++)
		if (p->containers[i].verdict != RV_VERDICT_CLEAN)
			all_clean = 0;
	if (all_clean) {
		json_t *state = json_pack("{s:I, s:s, s:O}", "at", (json_int_t)time(NULL),
			"run", r->run_id, "containers", ids);
		char *text = state ? json_dumps(state, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

		if (text)
			json_object_set_new(ann, RV_ANN_VERIFIED, json_string(text));
		free(text);
		json_decref(state);
	} else if (annotation(pod, RV_ANN_VERIFIED)) {
		json_object_set_new(ann, RV_ANN_VERIFIED, json_null());
	}
	if (json_object_size(ann) &&
	    rv_pods_patch_meta(r->k, rv_json_meta(pod, "namespace"), rv_json_meta(pod, "name"), ann, NULL) < 0)
		rv_presult_note(p, rv_error_last());
	json_decref(ids);
}

static int pod_identity(rv_presult *p, json_t *pod)
{
	const char *wkind = NULL, *wname;
	char wl[256], ref[256];

	wname = rv_pods_workload_ref(&wkind, pod, ref, sizeof(ref));
	if (rv_result_set_str(&p->namespace, rv_json_meta(pod, "namespace")) < 0 ||
	    rv_result_set_str(&p->name, rv_json_meta(pod, "name")) < 0 ||
	    rv_result_set_str(&p->uid, rv_json_meta(pod, "uid")) < 0 ||
	    rv_result_set_str(&p->node, rv_json_str(json_object_get(pod, "spec"), "nodeName")) < 0 ||
	    rv_result_set_str(&p->workload, rv_pods_workload(pod, wl, sizeof(wl))) < 0 ||
	    rv_result_set_str(&p->workload_kind, wname ? wkind : NULL) < 0 ||
	    rv_result_set_str(&p->workload_name, wname) < 0)
		return RV_ENOMEM;
	return RV_OK;
}

static void verify_pod(run *r, rv_presult *p, json_t *pod)
{
	json_t *spec_containers = json_object_get(json_object_get(pod, "spec"), "containers");
	json_t *ann = json_object(), *c;
	rv_registry *reg = NULL;
	char when[RV_TIME_ISO_LEN], reason[128];
	size_t i;

	if (pod_identity(p, pod) < 0 ||
	    rv_presult_containers(p, json_array_size(spec_containers)) < 0)
		goto cleanup;
	if (recently_clean(r, pod, when)) {
		snprintf(reason, sizeof(reason),
			"verified clean at %s with the same container IDs, within minInterval", when);
		json_array_foreach(spec_containers, i, c) {
			rv_cresult *cr = &p->containers[i];

			cr->verdict = RV_VERDICT_SKIPPED;
			(void)(rv_result_set_str(&cr->name, rv_json_str(c, "name")) < 0 ||
			       rv_result_set_str(&cr->image, rv_json_str(c, "image")) < 0 ||
			       rv_result_set_str(&cr->reason, reason) < 0);
		}
		goto cleanup;
	}
	if (rv_runcache_pod_registry(&reg, r->cache, pod, p) < 0)
		rv_presult_note(p, rv_error_last());
	json_array_foreach(spec_containers, i, c)
		verify_container(r, &p->containers[i], pod, c, i, reg, ann);
	if (r->o->events)
		post_events(r, pod, p);
	if (r->o->annotate)
		annotate(r, pod, p, ann);
cleanup:
	json_decref(ann);
}

static void *worker(void *arg)
{
	run *r = arg;
	size_t i;

	for (;;) {
		pthread_mutex_lock(&r->lock);
		i = r->next++;
		pthread_mutex_unlock(&r->lock);
		if (i >= json_array_size(r->pods))
			return NULL;
		verify_pod(r, &r->results[i], json_array_get(r->pods, i));
	}
}

/* --- the run ------------------------------------------------------------------------ */

static int running(json_t *pod)
{
	const char *phase = rv_json_str(json_object_get(pod, "status"), "phase");

	return phase && !strcmp(phase, "Running") &&
		!json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp");
}

/* Every namespace's Running pods that match into r->pods; the namespaces
 * into names. A failure here is the run's. */
static int list_pods(run *r, json_t *names, json_t *errors)
{
	const rv_verify_opts *o = r->o;
	size_t i, j, n = o->all_namespaces ? 1 : (o->nnamespaces ? o->nnamespaces : 1);
	json_t *list = NULL, *p;
	int rc;

	for (i = 0; i < n; i++) {
		const char *ns = o->all_namespaces ? NULL
			: o->nnamespaces ? o->namespaces[i] : rv_kube_namespace(r->k);
		char msg[2048];

		json_array_append_new(names, json_string(ns ? ns : "*"));
		if ((rc = rv_pods_list(&list, r->k, ns, o->selector, 500)) < 0) {
			snprintf(msg, sizeof(msg), "cannot list pods in namespace '%s': %s",
				ns ? ns : "*", rv_error_last());
			rv_error_set(rc, "%s", msg);
			json_array_append_new(errors, json_string(msg));
			return rc;
		}
		json_array_foreach(list, j, p)
			if (running(p))
				json_array_append(r->pods, p);
		json_decref(list);
	}
	return RV_OK;
}

/* Verify the listed pods on cfg->concurrency threads. */
static int verify_all(run *r)
{
	size_t i, n = json_array_size(r->pods), nthreads = 0, workers;
	pthread_t threads[MAX_WORKERS];

	if (n && !(r->results = calloc(n, sizeof(*r->results))))
		return rv_error_set(RV_ENOMEM, "out of memory");
	for (i = 0; i < n; i++)
		rv_presult_init(&r->results[i]);
	workers = r->o->cfg->concurrency > 0 ? (size_t)r->o->cfg->concurrency : 1;
	if (workers > n)
		workers = n;
	if (workers > MAX_WORKERS)
		workers = MAX_WORKERS;
	for (i = 0; i < workers; i++) {
		if (pthread_create(&threads[i], NULL, worker, r) != 0)
			break;
		nthreads++;
	}
	if (nthreads == 0 && n)
		worker(r);
	for (i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	return RV_OK;
}

static json_t *pods_json(const run *r)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && r->results && i < json_array_size(r->pods); i++) {
		json_t *p = rv_presult_json(&r->results[i]);

		json_array_append_new(a, p ? p : json_null());
	}
	return a;
}

static json_t *report_json(run *r, const char *started, json_t *namespaces, json_t *errors,
	long t0, long tlist)
{
	const rv_verify_opts *o = r->o;
	size_t npods = r->results ? json_array_size(r->pods) : 0, images;
	char finished[RV_TIME_ISO_LEN];
	unsigned long requests;
	uint64_t bytes;

	rv_clock_iso(finished, (int64_t)time(NULL));
	rv_runcache_stats(r->cache, &requests, &bytes, &images);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:O, s:s*}, s:o, s:o, s:o, s:O, s:{s:I, s:I}, s:{s:I, s:I, s:I, s:I}}",
		"apiVersion", RV_REPORT_API_VERSION, "kind", RV_REPORT_KIND,
		"runId", r->run_id, "cluster", o->cluster ? o->cluster : rv_kube_server(r->k),
		"startedAt", started, "finishedAt", finished,
		"selector", "namespaces", namespaces, "labelSelector", o->selector,
		"summary", rv_aggregate_summary(r->results, npods),
		"aggregation", rv_aggregate_groups(r->results, npods),
		"pods", pods_json(r), "errors", errors,
		"timings", "totalMs", (json_int_t)(rv_clock_ms() - t0),
		"listMs", (json_int_t)(tlist ? tlist - t0 : 0),
		"stats", "apiRequests", (json_int_t)rv_kube_request_count(r->k),
		"registryRequests", (json_int_t)requests,
		"registryBytes", (json_int_t)bytes,
		"images", (json_int_t)images);
}

int rv_verify_run(json_t **out, rv_kube *k, const rv_verify_opts *o)
{
	run r;
	json_t *errors = json_array(), *namespaces = json_array();
	char started[RV_TIME_ISO_LEN];
	long t0 = rv_clock_ms(), tlist = 0;
	rv_runcache_opts co;
	size_t i;
	int rc = RV_OK;

	memset(&r, 0, sizeof(r));
	*out = NULL;
	r.o = o;
	r.k = k;
	pthread_mutex_init(&r.lock, NULL);
	rv_clock_iso(started, (int64_t)time(NULL));
	if (o->run_id)
		snprintf(r.run_id, sizeof(r.run_id), "%.15s", o->run_id);
	else
		snprintf(r.run_id, sizeof(r.run_id), "%08x", arc4random());
	r.probe_image = o->probe_image ? o->probe_image : o->cfg->probe_image;
	r.pods = json_array();
	memset(&co, 0, sizeof(co));
	co.paths = (const char *const *)o->cfg->paths;
	co.npaths = o->cfg->npaths;
	co.cache_dir = o->cache_dir;
	co.packages = o->cfg->packages;
	co.registry = o->registry;
	co.repos = o->repos;
	co.nrepos = o->nrepos;
	co.git = o->git;
	co.k = k;
	if (!r.probe_image)
		rc = rv_error_set(RV_EINVAL, "no probe image: give --probe-image or probe.image in the config");
	else if ((rc = rv_runcache_new(&r.cache, &co)) == RV_OK &&
	    (rc = list_pods(&r, namespaces, errors)) == RV_OK) {
		tlist = rv_clock_ms();
		rc = verify_all(&r);
	}
	if (rc < 0 && !json_array_size(errors))
		json_array_append_new(errors, json_string(rv_error_last()));

	*out = report_json(&r, started, namespaces, errors, t0, tlist);
	if (!*out && rc == RV_OK)
		rc = rv_error_set(RV_ENOMEM, "out of memory for the report");
	for (i = 0; r.results && i < json_array_size(r.pods); i++)
		rv_presult_dispose(&r.results[i]);
	free(r.results);
	rv_runcache_free(r.cache);
	json_decref(r.pods);
	json_decref(namespaces);
	json_decref(errors);
	pthread_mutex_destroy(&r.lock);
	return rc;
}
