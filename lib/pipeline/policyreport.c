/* policyreport.c - a verify report as wgpolicyk8s.io/v1alpha2 PolicyReports */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline/policyreport.h"
#include "pipeline/verdict.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/json.h"
#include "util/banned.h"

#define PATH_CAP 4096
#define MSG_MAX 1024          /* a result's message, bytes */
#define PROP_MAX 512          /* a property's value, bytes */
#define PUT_ROUNDS 5
#define SOURCE "runtime-verifier"
#define CATEGORY "Runtime Integrity"
#define MANAGED_BY "app.kubernetes.io/managed-by"

/* s cut to at most max bytes on a UTF-8 character boundary, "..." added
 * when cut. Strings from jansson are valid UTF-8, so the result is too. A
 * new reference, NULL when out of memory. */
static json_t *bounded(const char *s, size_t max)
{
	size_t n = strlen(s);
	char *tmp;
	json_t *j;

	if (n <= max)
		return json_stringn(s, n);
	n = max > 3 ? max - 3 : 0;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	tmp = malloc(n + 4);
	if (!tmp)
		return NULL;
	memcpy(tmp, s, n);
	memcpy(tmp + n, "...", 4);
	j = json_stringn(tmp, n + 3);
	free(tmp);
	return j;
}

/* properties[key] = s (bounded), when s is a non-empty string. */
static int prop(json_t *props, const char *key, const char *s)
{
	json_t *v;

	if (!s || !*s)
		return RV_OK;
	v = bounded(s, PROP_MAX);
	if (!v || json_object_set_new(props, key, v) < 0)
		return rv_error_set(RV_ENOMEM, "out of memory");
	return RV_OK;
}

static int prop_int(json_t *props, const char *key, json_t *n)
{
	char num[32];

	if (!json_is_integer(n))
		return RV_OK;
	snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(n));
	return prop(props, key, num);
}

/* "2026-01-02T03:04:05Z" -> seconds since the epoch; 0 if malformed. */
static json_int_t parse_time(const char *s)
{
	struct tm tm;
	int y, mo, d, h, mi, se;
	char z = 0;
	time_t t;

	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &se, &z) != 7 || z != 'Z')
		return 0;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	t = timegm(&tm);
	return t < 0 ? 0 : (json_int_t)t;
}

/* The verdict of a report container. A missing or unknown one counts as
 * unverifiable: nothing says the container was checked. */
static rv_verdict verdict_of(json_t *c)
{
	rv_verdict v;

	return rv_verdict_parse(&v, rv_json_str(c, "verdict")) == RV_OK ? v : RV_VERDICT_UNVERIFIABLE;
}

/* The PolicyReport result of a verdict, and its rank when a report must be
 * cut (lower is kept first). */
static const char *result_of(rv_verdict v, int *rank)
{
	switch (v) {
	case RV_VERDICT_DRIFT: *rank = 0; return "fail";
	case RV_VERDICT_UNVERIFIABLE: *rank = 1; return "error";
	case RV_VERDICT_INCOMPLETE: *rank = 2; return "warn";
	case RV_VERDICT_SKIPPED: *rank = 3; return "skip";
	case RV_VERDICT_CLEAN: *rank = 3; return "pass";
	}
	*rank = 1;
	return "error";
}

/* The highest severity among a drifted container's findings. */
static const char *drift_severity(json_t *c)
{
	static const char *const sev[] = { "high", "medium", "low", "info" };
	json_t *counts = json_object_get(c, "counts"), *f;
	size_t i;

	for (i = 0; i < 4; i++)
		if (json_integer_value(json_object_get(counts, sev[i])) > 0)
			return sev[i];
	for (i = 0; i < 4; i++) {
		size_t j;

		json_array_foreach(json_object_get(c, "findings"), j, f)
			if (rv_json_str(f, "severity") && !strcmp(rv_json_str(f, "severity"), sev[i]))
				return sev[i];
	}
	return "medium";
}

/* Append at most max bytes of s, cut on a UTF-8 character boundary. */
static int put_utf8(rv_buf *b, const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	return rv_buf_add(b, s, n);
}

static int message(rv_buf *b, json_t *c, rv_verdict verdict)
{
	const char *name = rv_json_str(c, "name") ? rv_json_str(c, "name") : "?";
	const char *digest = rv_json_str(c, "imageDigest") ? rv_json_str(c, "imageDigest") : "(unknown digest)";
	const char *reason = rv_json_str(c, "reason");
	json_t *counts = json_object_get(c, "counts"), *f;
	int rc = RV_OK;

	switch (verdict) {
	case RV_VERDICT_CLEAN:
		return rv_buf_printf(b, "container %s runs the files of its image %.19s: the runtime fingerprint equals the image's", name, digest);
	case RV_VERDICT_DRIFT:
		rc = rv_buf_printf(b, "container %s drifted from its image %.19s: %lld findings (%lld high, %lld medium, %lld low, %lld info)",
			name, digest,
			(long long)json_integer_value(json_object_get(counts, "findings")),
			(long long)json_integer_value(json_object_get(counts, "high")),
			(long long)json_integer_value(json_object_get(counts, "medium")),
			(long long)json_integer_value(json_object_get(counts, "low")),
			(long long)json_integer_value(json_object_get(counts, "info")));

		f = json_array_get(json_object_get(c, "findings"), 0);
		if (rc == RV_OK && f && rv_json_str(f, "kind") && rv_json_str(f, "path"))
			rc = rv_buf_printf(b, ", first: %s %.300s", rv_json_str(f, "kind"), rv_json_str(f, "path"));
		return rc;
	case RV_VERDICT_INCOMPLETE:
		rc = rv_buf_printf(b, "container %s was not verified completely: ", name);
		break;
	case RV_VERDICT_SKIPPED:
		rc = rv_buf_printf(b, "container %s was not probed this run: ", name);
		break;
	case RV_VERDICT_UNVERIFIABLE:
		rc = rv_buf_printf(b, "container %s could not be verified: ", name);
		break;
	}
	return rc < 0 ? rc : put_utf8(b, reason ? reason : "no reason given", MSG_MAX);
}

static json_t *claims_list(json_t *claims)
{
	rv_buf b = RV_BUF_INIT(PROP_MAX * 4);
	json_t *cl, *out;
	size_t i;

	json_array_foreach(claims, i, cl) {
		if (!rv_json_str(cl, "kind"))
			continue;
		if ((b.len && rv_buf_putc(&b, ',') < 0) || rv_buf_puts(&b, rv_json_str(cl, "kind")) < 0)
			break;
	}
	out = b.len ? json_string(b.ptr) : NULL;
	rv_buf_dispose(&b);
	return out;
}

/* One result for container c of pod. A new reference, NULL when out of
 * memory (the message is set). */
static json_t *container_result(json_t *pod, json_t *c, json_int_t secs,
	const char *run_id, int *rank)
{
	const char *verdict = rv_json_str(c, "verdict") ? rv_json_str(c, "verdict") : "";
	rv_verdict verdict_v = verdict_of(c);
	const char *result = result_of(verdict_v, rank);
	json_t *res = NULL, *props = NULL, *ref = NULL, *prov, *v;
	rv_buf msg = RV_BUF_INIT(64u << 10);
	int rc = RV_OK;

	/* names and reasons are capped by the report; a cap hit here only
	 * shortens the message further (bounded below) */
	if ((rc = message(&msg, c, verdict_v)) < 0 && rc != RV_ETOOBIG)
		goto cleanup;
	rc = RV_OK;
	props = json_object();
	ref = json_pack("{s:s, s:s}", "apiVersion", "v1", "kind", "Pod");
	res = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:{s:I, s:i}}",
		"source", SOURCE, "policy", RV_POLR_POLICY, "rule", RV_POLR_RULE,
		"category", CATEGORY, "result", result, "scored", 1,
		"timestamp", "seconds", secs, "nanos", 0);
	if (!props || !ref || !res) {
		rc = rv_error_set(RV_ENOMEM, "out of memory");
		goto cleanup;
	}
	if (!strcmp(result, "fail") &&
	    json_object_set_new(res, "severity", json_string(drift_severity(c))) < 0) {
		rc = rv_error_set(RV_ENOMEM, "out of memory");
		goto cleanup;
	}
	v = bounded(msg.ptr ? msg.ptr : "", MSG_MAX);
	if (!v || json_object_set_new(res, "message", v) < 0) {
		rc = rv_error_set(RV_ENOMEM, "out of memory");
		goto cleanup;
	}

	/* the Pod the result is about */
	if ((rc = prop(ref, "name", rv_json_str(pod, "name"))) < 0 ||
	    (rc = prop(ref, "namespace", rv_json_str(pod, "namespace"))) < 0 ||
	    (rc = prop(ref, "uid", rv_json_str(pod, "uid"))) < 0)
		goto cleanup;
	if (json_object_set_new(res, "resources", json_pack("[O]", ref)) < 0) {
		rc = rv_error_set(RV_ENOMEM, "out of memory");
		goto cleanup;
	}

	/* properties: strings only, each bounded */
	prov = json_object_get(c, "provenance");
	if ((rc = prop(props, "container", rv_json_str(c, "name"))) < 0 ||
	    (rc = prop(props, "verdict", verdict)) < 0 ||
	    (rc = prop(props, "image", rv_json_str(c, "image"))) < 0 ||
	    (rc = prop(props, "imageDigest", rv_json_str(c, "imageDigest"))) < 0 ||
	    (rc = prop(props, "imageRoot", rv_json_str(c, "imageRoot"))) < 0 ||
	    (rc = prop(props, "runtimeRoot", rv_json_str(c, "runtimeRoot"))) < 0 ||
	    (rc = prop(props, "driftGroup", rv_json_str(c, "driftGroup"))) < 0 ||
	    (rc = prop(props, "reason", rv_json_str(c, "reason"))) < 0 ||
	    (rc = prop(props, "workload", rv_json_str(pod, "workload"))) < 0 ||
	    (rc = prop(props, "node", rv_json_str(pod, "node"))) < 0 ||
	    (rc = prop(props, "probeContainer", rv_json_str(json_object_get(c, "probe"), "container"))) < 0 ||
	    (rc = prop(props, "revision", rv_json_str(c, "revision"))) < 0 ||
	    (rc = prop(props, "runId", run_id)) < 0)
		goto cleanup;
	v = json_object_get(c, "counts");
	if ((rc = prop_int(props, "findings", json_object_get(v, "findings"))) < 0 ||
	    (rc = prop_int(props, "findingsHigh", json_object_get(v, "high"))) < 0 ||
	    (rc = prop_int(props, "findingsMedium", json_object_get(v, "medium"))) < 0 ||
	    (rc = prop_int(props, "findingsLow", json_object_get(v, "low"))) < 0 ||
	    (rc = prop_int(props, "findingsInfo", json_object_get(v, "info"))) < 0 ||
	    (rc = prop_int(props, "allowed", json_object_get(v, "allowed"))) < 0 ||
	    (rc = prop_int(props, "findingsTruncated", json_object_get(c, "findingsTruncated"))) < 0)
		goto cleanup;
	if (prov && rv_json_str(prov, "status") && !strcmp(rv_json_str(prov, "status"), "ok"))
		rc = prop(props, "agentTouchedBuild",
			json_is_true(json_object_get(prov, "agentTouchedBuild")) ? "true" : "false");
	if (rc == RV_OK && (v = claims_list(json_object_get(c, "claims")))) {
		rc = prop(props, "claims", json_string_value(v));
		json_decref(v);
	}
	if (rc < 0)
		goto cleanup;
	if (json_object_set(res, "properties", props) < 0)
		rc = rv_error_set(RV_ENOMEM, "out of memory");
cleanup:
	rv_buf_dispose(&msg);
	json_decref(props);
	json_decref(ref);
	if (rc < 0) {
		json_decref(res);
		return NULL;
	}
	return res;
}

typedef struct ranked {
	size_t index;
	int rank;
} ranked;

static int by_rank(const void *a, const void *b)
{
	const ranked *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * Keep at most max results and max_bytes of them, the lowest ranks first;
 * *kept_out is a new array in the original order. omitted[] counts the
 * left-out results by result (pass, fail, warn, error, skip).
 */
static const char *const RESULTS[] = { "pass", "fail", "warn", "error", "skip" };

static int result_index(const char *r)
{
	int i;

	for (i = 0; i < 5; i++)
		if (r && !strcmp(r, RESULTS[i]))
			return i;
	return 3;
}

static int cut(json_t **kept_out, size_t omitted[5], json_t *all, const int *ranks,
	size_t max, size_t max_bytes)
{
	size_t n = json_array_size(all), i, count = 0, bytes = 0;
	ranked *order = NULL;
	char *keep = NULL;
	json_t *kept = NULL;
	int full = 0, rc = RV_OK;

	*kept_out = NULL;
	order = calloc(n + 1, sizeof(*order));
	keep = calloc(n + 1, 1);
	kept = json_array();
	if (!order || !keep || !kept) {
		rc = rv_error_set(RV_ENOMEM, "out of memory");
		goto cleanup;
	}
	for (i = 0; i < n; i++) {
		order[i].index = i;
		order[i].rank = ranks[i];
	}
	qsort(order, n, sizeof(*order), by_rank);
	for (i = 0; i < n; i++) {
		json_t *r = json_array_get(all, order[i].index);
		char *text = full ? NULL : json_dumps(r, JSON_COMPACT);
		size_t len = text ? strlen(text) : 0;

		free(text);
		if (!full && (count >= max || bytes + len > max_bytes))
			full = 1;
		if (full) {
			omitted[result_index(rv_json_str(r, "result"))]++;
			continue;
		}
		keep[order[i].index] = 1;
		count++;
		bytes += len;
	}
	for (i = 0; i < n; i++)
		if (keep[i] && json_array_append(kept, json_array_get(all, i)) < 0) {
			rc = rv_error_set(RV_ENOMEM, "out of memory");
			goto cleanup;
		}
	*kept_out = kept;
	kept = NULL;
cleanup:
	free(order);
	free(keep);
	json_decref(kept);
	return rc;
}

/* The result that says a report was cut. */
static json_t *truncation_result(const size_t omitted[5], size_t max, json_int_t secs,
	const char *run_id)
{
	char msg[512], total[32], m[32], each[5][32];
	size_t i, sum = 0;

	for (i = 0; i < 5; i++) {
		sum += omitted[i];
		snprintf(each[i], sizeof(each[i]), "%zu", omitted[i]);
	}
	snprintf(total, sizeof(total), "%zu", sum);
	snprintf(m, sizeof(m), "%zu", max);
	snprintf(msg, sizeof(msg),
		"%zu container results are not in this report, which holds at most %zu (an object in etcd is limited to about 1.5 MiB): "
		"%zu fail, %zu error, %zu warn, %zu skip, %zu pass left out; the JSON report of run %s has them all",
		sum, max, omitted[1], omitted[3], omitted[2], omitted[4], omitted[0], run_id ? run_id : "?");
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:{s:I, s:i}, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s*}}",
		"source", SOURCE, "policy", RV_POLR_POLICY, "rule", "report-truncated",
		"category", CATEGORY, "result", "warn", "scored", 0,
		"timestamp", "seconds", secs, "nanos", 0,
		"message", msg,
		"properties", "omitted", total, "omittedPass", each[0], "omittedFail", each[1],
		"omittedWarn", each[2], "omittedError", each[3], "omittedSkip", each[4],
		"maxResults", m, "runId", run_id);
}

/* The PolicyReport of one namespace from its results (borrowed). */
static json_t *one_report(const char *ns, json_t *results, const int *ranks,
	json_t *report, const rv_policyreport_opts *o, json_int_t secs)
{
	size_t max = o && o->max_results ? o->max_results : RV_POLR_MAX_RESULTS;
	size_t max_bytes = o && o->max_bytes ? o->max_bytes : RV_POLR_MAX_BYTES;
	size_t omitted[5] = { 0 }, sum = 0, i, counts[5] = { 0 };
	const char *run_id = rv_json_str(report, "runId");
	const char *sel = rv_json_str(json_object_get(report, "selector"), "labelSelector");
	json_t *kept = NULL, *polr = NULL, *ann, *r, *v;

	if (cut(&kept, omitted, results, ranks, max, max_bytes) < 0)
		return NULL;
	for (i = 0; i < 5; i++)
		sum += omitted[i];
	polr = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}, s:{}}}",
		"apiVersion", RV_POLR_API_VERSION, "kind", "PolicyReport",
		"metadata", "name", RV_POLR_NAME, "namespace", ns,
		"labels", MANAGED_BY, "runtime-verifier", "annotations");
	ann = json_object_get(json_object_get(polr, "metadata"), "annotations");
	if (!polr || prop(ann, "runtime-verifier.io/run-id", run_id) < 0 ||
	    prop(ann, "runtime-verifier.io/finished-at", rv_json_str(report, "finishedAt")) < 0 ||
	    prop(ann, "runtime-verifier.io/label-selector", sel) < 0)
		goto fail;
	if (sum) {
		char n[32];

		snprintf(n, sizeof(n), "%zu", sum);
		if (prop(ann, "runtime-verifier.io/results-omitted", n) < 0 ||
		    !(v = truncation_result(omitted, max, secs, run_id)) ||
		    json_array_append_new(kept, v) < 0)
			goto fail;
	}
	json_array_foreach(kept, i, r)
		counts[result_index(rv_json_str(r, "result"))]++;
	if (json_object_set_new(polr, "summary", json_pack("{s:I, s:I, s:I, s:I, s:I}",
		"pass", (json_int_t)counts[0], "fail", (json_int_t)counts[1],
		"warn", (json_int_t)counts[2], "error", (json_int_t)counts[3],
		"skip", (json_int_t)counts[4])) < 0 ||
	    json_object_set(polr, "results", kept) < 0)
		goto fail;
	json_decref(kept);
	return polr;
fail:
	rv_error_set(RV_ENOMEM, "out of memory");
	json_decref(kept);
	json_decref(polr);
	return NULL;
}

/* Add namespace ns to the ordered set (names, index). */
static int ns_add(json_t *names, json_t *index, const char *ns)
{
	if (!ns || !*ns || !strcmp(ns, "*") || json_object_get(index, ns))
		return RV_OK;
	if (json_object_set_new(index, ns, json_integer((json_int_t)json_array_size(names))) < 0 ||
	    json_array_append_new(names, json_string(ns)) < 0)
		return rv_error_set(RV_ENOMEM, "out of memory");
	return RV_OK;
}

int rv_policyreport_build(json_t **out, json_t *report, const rv_policyreport_opts *o)
{
	json_t *names = json_array(), *index = json_object(), *all = NULL, *rank_of = NULL;
	json_t *pods = json_object_get(report, "pods"), *pod, *c, *e;
	json_int_t secs = parse_time(rv_json_str(report, "finishedAt"));
	size_t i, j;
	int rc = RV_OK;
	int *ranks = NULL;

	*out = NULL;
	all = json_array();      /* per namespace index: array of results */
	rank_of = json_array();  /* per namespace index: array of ranks */
	if (!names || !index || !all || !rank_of) {
		rc = rv_error_set(RV_ENOMEM, "out of memory");
		goto cleanup;
	}
	if (!json_is_object(report) || !json_is_array(pods)) {
		rc = rv_error_set(RV_EINVAL, "not a verify report: no pods");
		goto cleanup;
	}
	json_array_foreach(json_object_get(json_object_get(report, "selector"), "namespaces"), i, e)
		if ((rc = ns_add(names, index, json_string_value(e))) < 0)
			goto cleanup;
	json_array_foreach(pods, i, pod)
		if ((rc = ns_add(names, index, rv_json_str(pod, "namespace"))) < 0)
			goto cleanup;
	for (i = 0; i < json_array_size(names); i++)
		if (json_array_append_new(all, json_array()) < 0 ||
		    json_array_append_new(rank_of, json_array()) < 0) {
			rc = rv_error_set(RV_ENOMEM, "out of memory");
			goto cleanup;
		}
	json_array_foreach(pods, i, pod) {
		json_t *nsi = json_object_get(index, rv_json_str(pod, "namespace") ? rv_json_str(pod, "namespace") : "");

		if (!nsi)
			continue;
		json_array_foreach(json_object_get(pod, "containers"), j, c) {
			size_t k = (size_t)json_integer_value(nsi);
			int rank;
			json_t *res = container_result(pod, c, secs, rv_json_str(report, "runId"), &rank);

			if (!res) {
				rc = RV_ENOMEM;
				goto cleanup;
			}
			if (json_array_append_new(json_array_get(all, k), res) < 0 ||
			    json_array_append_new(json_array_get(rank_of, k), json_integer(rank)) < 0) {
				rc = rv_error_set(RV_ENOMEM, "out of memory");
				goto cleanup;
			}
		}
	}
	*out = json_array();
	if (!*out) {
		rc = rv_error_set(RV_ENOMEM, "out of memory");
		goto cleanup;
	}
	for (i = 0; i < json_array_size(names); i++) {
		json_t *rk = json_array_get(rank_of, i), *polr;
		size_t n = json_array_size(rk);

		free(ranks);
		ranks = calloc(n + 1, sizeof(int));
		if (!ranks) {
			rc = rv_error_set(RV_ENOMEM, "out of memory");
			goto cleanup;
		}
		for (j = 0; j < n; j++)
			ranks[j] = (int)json_integer_value(json_array_get(rk, j));
		polr = one_report(json_string_value(json_array_get(names, i)),
			json_array_get(all, i), ranks, report, o, secs);
		if (!polr || json_array_append_new(*out, polr) < 0) {
			rc = RV_ENOMEM;
			goto cleanup;
		}
	}
cleanup:
	if (rc < 0) {
		json_decref(*out);
		*out = NULL;
	}
	free(ranks);
	json_decref(names);
	json_decref(index);
	json_decref(all);
	json_decref(rank_of);
	return rc;
}

/* --- writing ---------------------------------------------------------------- */

static int polr_path(rv_buf *b, const char *ns, const char *name)
{
	int rc = rv_buf_puts(b, "/apis/" RV_POLR_API_VERSION "/namespaces/");

	if (rc == RV_OK)
		rc = rv_kube_escape(b, ns);
	if (rc == RV_OK)
		rc = rv_buf_puts(b, "/policyreports");
	if (rc == RV_OK && name) {
		rc = rv_buf_putc(b, '/');
		if (rc == RV_OK)
			rc = rv_kube_escape(b, name);
	}
	return rc;
}

/* Send polr (with resourceVersion rv, or none) by method to path. */
static int send_report(rv_kube *k, const char *method, const char *path, json_t *polr, const char *rv)
{
	json_t *copy = json_deep_copy(polr), *md;
	rv_buf url = RV_BUF_INIT(PATH_CAP + 32);
	char *body = NULL;
	int rc;

	md = json_object_get(copy, "metadata");
	if (md && !rv)
		json_object_del(md, "resourceVersion");
	if (!md || (rv && json_object_set_new(md, "resourceVersion", json_string(rv)) < 0) ||
	    !(body = json_dumps(copy, JSON_COMPACT))) {
		json_decref(copy);
		return rv_error_set(RV_ENOMEM, "out of memory");
	}
	/* Strict: a field the CRD does not declare is an error (400), never
	 * silently pruned (servers before 1.25 ignore the parameter) */
	rc = rv_buf_printf(&url, "%s?fieldValidation=Strict", path);
	if (rc == RV_OK)
		rc = rv_kube_request(k, NULL, NULL, method, url.ptr, "application/json", body, strlen(body));
	rv_buf_dispose(&url);
	free(body);
	json_decref(copy);
	return rc;
}

int rv_policyreport_put(rv_kube *k, json_t *polr)
{
	const char *ns = rv_json_meta(polr, "namespace"), *name = rv_json_meta(polr, "name");
	rv_buf coll = RV_BUF_INIT(PATH_CAP), one = RV_BUF_INIT(PATH_CAP);
	json_t *cur = NULL;
	int rc = RV_OK, round;

	if (!ns || !name)
		return rv_error_set(RV_EINVAL, "policy report has no name or namespace");
	if ((rc = polr_path(&coll, ns, NULL)) < 0 || (rc = polr_path(&one, ns, name)) < 0)
		goto cleanup;
	for (round = 0; round < PUT_ROUNDS; round++) {
		const char *owner;

		json_decref(cur);
		cur = NULL;
		rc = rv_kube_request(k, &cur, NULL, "GET", one.ptr, NULL, NULL, 0);
		if (rc == RV_ENOTFOUND) {
			rc = send_report(k, "POST", coll.ptr, polr, NULL);
			if (rc == RV_ECONFLICT)
				continue;   /* AlreadyExists: another writer was first */
			if (rc == RV_ENOTFOUND)
				rv_error_prefix(rc, "is the PolicyReport CRD (policyreports.wgpolicyk8s.io, %s) installed?",
					RV_POLR_API_VERSION);
			goto cleanup;
		}
		if (rc < 0)
			goto cleanup;
		owner = rv_json_str(json_object_get(json_object_get(cur, "metadata"), "labels"), MANAGED_BY);
		if (!owner || strcmp(owner, "runtime-verifier")) {
			rc = rv_error_set(RV_ECONFLICT,
				"it exists and is not labelled %s=runtime-verifier: not overwritten", MANAGED_BY);
			goto cleanup;
		}
		if (!rv_json_meta(cur, "resourceVersion")) {
			rc = rv_error_set(RV_EFORMAT, "the API server's copy has no resourceVersion");
			goto cleanup;
		}
		rc = send_report(k, "PUT", one.ptr, polr, rv_json_meta(cur, "resourceVersion"));
		if (rc != RV_ECONFLICT)
			goto cleanup;
		/* Conflict: changed since our GET; read it again */
	}
	/* the server's last answer (409 Conflict or AlreadyExists) follows */
	rc = rv_error_prefix(RV_ECONFLICT, "still conflicting after %d attempts", PUT_ROUNDS);
cleanup:
	if (rc < 0)
		rv_error_prefix(rc, "policy report '%s/%s'", ns, name);
	json_decref(cur);
	rv_buf_dispose(&coll);
	rv_buf_dispose(&one);
	return rc;
}

int rv_policyreport_write(rv_kube *k, json_t *report, const rv_policyreport_opts *o)
{
	json_t *errors = json_object_get(report, "errors"), *all = NULL, *polr;
	size_t i;
	int rc, first = RV_OK;

	if (!json_is_array(errors))
		return rv_error_set(RV_EINVAL, "not a verify report: no errors list");
	if (json_array_size(errors))
		return RV_OK;   /* the run failed: keep the previous reports */
	if ((rc = rv_policyreport_build(&all, report, o)) < 0) {
		json_array_append_new(errors, json_string("cannot build the policy reports: out of memory"));
		return rc;
	}
	json_array_foreach(all, i, polr) {
		if ((rc = rv_policyreport_put(k, polr)) == RV_OK)
			continue;
		if (first == RV_OK)
			first = rc;
		/* a message that is not UTF-8 (bytes from a server) is replaced */
		if (json_array_append_new(errors, json_string(rv_error_last())) < 0)
			json_array_append_new(errors, json_pack("s+", "policy report not written in namespace ",
				rv_json_meta(polr, "namespace")));
	}
	json_decref(all);
	return first;
}
