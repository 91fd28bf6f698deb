/* result.c - one container's and one pod's verification as typed values, and their JSON */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/result.h"
#include "pipeline/verdict.h"
#include "util/error.h"
#include "util/banned.h"

#define REASON_MAX 2048

void rv_cresult_init(rv_cresult *cr)
{
	memset(cr, 0, sizeof(*cr));
	cr->verdict = RV_VERDICT_UNVERIFIABLE;
	cr->image_ms = cr->probe_ms = cr->total_ms = -1;
}

void rv_cresult_dispose(rv_cresult *cr)
{
	size_t i;

	if (!cr)
		return;
	free(cr->name);
	free(cr->image);
	free(cr->container_id);
	free(cr->image_id);
	free(cr->image_ref);
	for (i = 0; i < cr->nclaims; i++)
		free(cr->claims[i].message);
	free(cr->claims);
	free(cr->revision);
	json_decref(cr->provenance);
	free(cr->probe);
	free(cr->exit_reason);
	json_decref(cr->findings);
	json_decref(cr->pkg_summary);
	free(cr->reason);
	free(cr->event_error);
	rv_cresult_init(cr);
}

int rv_result_set_str(char **field, const char *s)
{
	char *copy = NULL;

	if (s && !(copy = strdup(s)))
		return rv_error_set(RV_ENOMEM, "out of memory");
	free(*field);
	*field = copy;
	return RV_OK;
}

int rv_cresult_fail(rv_cresult *cr, rv_cause why, const char *fmt, ...)
{
	char reason[REASON_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	cr->verdict = RV_VERDICT_UNVERIFIABLE;
	cr->cause = why;
	cr->incomplete = 0;
	cr->group[0] = '\0';
	/* out of memory leaves the reason NULL; the verdict stands */
	(void)rv_result_set_str(&cr->reason, reason);
	return RV_ERROR;
}

int rv_cresult_claim(rv_cresult *cr, const char *kind, rv_severity sev,
	const char *message)
{
	rv_claim *v = realloc(cr->claims, (cr->nclaims + 1) * sizeof(*v));
	char *m = strdup(message);

	if (v)
		cr->claims = v;
	if (!v || !m) {
		free(m);
		return rv_error_set(RV_ENOMEM, "out of memory");
	}
	v[cr->nclaims].kind = kind;
	v[cr->nclaims].severity = sev;
	v[cr->nclaims].message = m;
	cr->nclaims++;
	return RV_OK;
}

/* obj[key] = s, when s is known. */
static void put_str(json_t *obj, const char *key, const char *s)
{
	if (obj && s)
		json_object_set_new(obj, key, json_string(s));
}

static void put_hex(json_t *obj, const char *key, const unsigned char d[RV_SHA256_LEN])
{
	char hex[RV_SHA256_HEX];

	rv_sha256_to_hex(hex, d);
	json_object_set_new(obj, key, json_string(hex));
}

static json_t *claims_json(const rv_cresult *cr)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < cr->nclaims; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:s}",
			"kind", cr->claims[i].kind,
			"severity", rv_severity_name(cr->claims[i].severity),
			"message", cr->claims[i].message));
	return a;
}

static json_t *timings_json(const rv_cresult *cr)
{
	json_t *t = json_object();

	if (t && cr->image_ms >= 0)
		json_object_set_new(t, "imageMs", json_integer(cr->image_ms));
	if (t && cr->probe_ms >= 0)
		json_object_set_new(t, "probeMs", json_integer(cr->probe_ms));
	if (t && cr->total_ms >= 0)
		json_object_set_new(t, "totalMs", json_integer(cr->total_ms));
	return t;
}

static json_t *probe_json(const rv_cresult *cr)
{
	json_t *p = json_pack("{s:s}", "container", cr->probe);

	if (p && cr->has_exit) {
		json_object_set_new(p, "exitCode", json_integer((json_int_t)cr->exit_code));
		put_str(p, "reason", cr->exit_reason);
	}
	if (p && cr->has_summary) {
		json_object_set_new(p, "entries", json_integer((json_int_t)cr->summary.stats.entries));
		json_object_set_new(p, "errors", json_integer((json_int_t)cr->summary.stats.errors));
		json_object_set_new(p, "complete", json_boolean(cr->summary.complete));
	}
	return p;
}

static json_t *counts_json(const rv_tally *t)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		"findings", (json_int_t)t->findings,
		"high", (json_int_t)t->by_severity[RV_SEV_HIGH],
		"medium", (json_int_t)t->by_severity[RV_SEV_MEDIUM],
		"low", (json_int_t)t->by_severity[RV_SEV_LOW],
		"info", (json_int_t)t->by_severity[RV_SEV_INFO],
		"allowed", (json_int_t)t->allowed, "masked", (json_int_t)t->masked,
		"unknown", (json_int_t)t->unknown);
}

json_t *rv_cresult_json(const rv_cresult *cr)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	put_str(o, "name", cr->name);
	put_str(o, "image", cr->image);
	json_object_set_new(o, "verdict", json_string(rv_verdict_name(cr->verdict)));
	put_str(o, "reason", cr->reason);
	if (cr->verdict == RV_VERDICT_SKIPPED)
		return o;
	json_object_set_new(o, "claims", claims_json(cr));
	json_object_set_new(o, "timings", timings_json(cr));
	put_str(o, "containerID", cr->container_id);
	put_str(o, "imageID", cr->image_id);
	put_str(o, "imageDigest", cr->image_digest);
	if (cr->provenance)
		json_object_set_new(o, "provenance", json_deep_copy(cr->provenance));
	put_str(o, "revision", cr->revision);
	if (cr->has_image_root)
		put_hex(o, "imageRoot", cr->image_root);
	if (cr->probe)
		json_object_set_new(o, "probe", probe_json(cr));
	if (cr->has_summary)
		put_hex(o, "runtimeRoot", cr->summary.root);
	if (cr->compared) {
		json_object_set(o, "findings", cr->findings);
		if (cr->tally.findings > RV_RESULT_MAX_FINDINGS)
			json_object_set_new(o, "findingsTruncated",
				json_integer((json_int_t)(cr->tally.findings - RV_RESULT_MAX_FINDINGS)));
		json_object_set_new(o, "counts", counts_json(&cr->tally));
		if (cr->pkg_not_checked)
			json_object_set_new(o, "packages",
				json_pack("{s:s}", "notChecked", cr->pkg_not_checked));
		else if (cr->pkg_summary)
			json_object_set(o, "packages", cr->pkg_summary);
	}
	if (cr->verdict == RV_VERDICT_DRIFT) {
		if (cr->incomplete)
			json_object_set_new(o, "incomplete", json_true());
		json_object_set_new(o, "driftGroup", json_stringn(cr->group, 16));
	}
	put_str(o, "eventError", cr->event_error);
	return o;
}

/* --- one pod ----------------------------------------------------------- */

void rv_presult_init(rv_presult *p)
{
	memset(p, 0, sizeof(*p));
}

void rv_presult_dispose(rv_presult *p)
{
	size_t i;

	if (!p)
		return;
	free(p->namespace);
	free(p->name);
	free(p->uid);
	free(p->node);
	free(p->workload);
	free(p->workload_kind);
	free(p->workload_name);
	for (i = 0; i < p->ncontainers; i++)
		rv_cresult_dispose(&p->containers[i]);
	free(p->containers);
	for (i = 0; i < p->nnotes; i++)
		free(p->notes[i]);
	free(p->notes);
	rv_presult_init(p);
}

int rv_presult_containers(rv_presult *p, size_t n)
{
	size_t i;

	if (n && !(p->containers = calloc(n, sizeof(*p->containers))))
		return rv_error_set(RV_ENOMEM, "out of memory");
	p->ncontainers = n;
	for (i = 0; i < n; i++)
		rv_cresult_init(&p->containers[i]);
	return RV_OK;
}

int rv_presult_note(rv_presult *p, const char *msg)
{
	char **v = realloc(p->notes, (p->nnotes + 1) * sizeof(*v));
	char *m = strdup(msg);

	if (v)
		p->notes = v;
	if (!v || !m) {
		free(m);
		return rv_error_set(RV_ENOMEM, "out of memory");
	}
	v[p->nnotes++] = m;
	return RV_OK;
}

json_t *rv_presult_json(const rv_presult *p)
{
	json_t *o = json_object(), *cs = json_array();
	size_t i;

	if (!o || !cs) {
		json_decref(o);
		json_decref(cs);
		return NULL;
	}
	put_str(o, "namespace", p->namespace);
	put_str(o, "name", p->name);
	put_str(o, "uid", p->uid);
	put_str(o, "node", p->node);
	put_str(o, "workload", p->workload);
	if (p->workload_kind && p->workload_name)
		json_object_set_new(o, "workloadRef", json_pack("{s:s, s:s}",
			"kind", p->workload_kind, "name", p->workload_name));
	for (i = 0; i < p->ncontainers; i++)
		json_array_append_new(cs, rv_cresult_json(&p->containers[i]));
	json_object_set_new(o, "containers", cs);
	if (p->nnotes) {
		json_t *n = json_array();

		for (i = 0; n && i < p->nnotes; i++)
			json_array_append_new(n, json_string(p->notes[i]));
		json_object_set_new(o, "notes", n);
	}
	return o;
}
