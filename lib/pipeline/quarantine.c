/* quarantine.c - repeated drift -> quarantine label, counts kept in a ConfigMap */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline/quarantine.h"
#include "pipeline/verdict.h"
#include "sources/kube/pods.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/json.h"
#include "util/sha256.h"
#include "util/banned.h"

#define PATH_CAP 2048
#define PARSE_MAX (4u << 20)       /* a ConfigMap answer we are willing to read */
#define DATA_MAX (2u << 20)        /* its data: a real ConfigMap holds <= 1 MiB */
#define PROBLEMS_MAX 20            /* messages about bad entries, then a count */

/* --- names, keys, times --------------------------------------------------- */

static int alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* A DNS label (namespaces) or DNS subdomain (object names), RFC 1123. */
static int k8s_name(const char *s, int subdomain)
{
	size_t n = s ? strlen(s) : 0, i;

	if (!n || n > (subdomain ? 253u : 63u) || !alnum(s[0]) || !alnum(s[n - 1]))
		return 0;
	for (i = 0; i < n; i++)
		if (!alnum(s[i]) && s[i] != '-' && !(subdomain && s[i] == '.'))
			return 0;
	return 1;
}

/* A Kubernetes kind as the key holds it: an upper-case letter, then letters,
 * digits and '-' (a CRD's kind lowercased is a DNS-1035 label), at most 63
 * bytes, no '.'. */
static int kind_ok(const char *kind)
{
	size_t n = kind ? strlen(kind) : 0, i;

	if (!n || n > 63 || kind[0] < 'A' || kind[0] > 'Z' || kind[n - 1] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!alnum(kind[i]) && !(kind[i] >= 'A' && kind[i] <= 'Z') && kind[i] != '-')
			return 0;
	return 1;
}

/* The kind words of the keys before the workload's kind was kept: such an
 * entry is read (validated as then) only to be dropped. */
static int legacy_kind(const char *kind)
{
	return kind && (!strcmp(kind, "workload") || !strcmp(kind, "pod"));
}

/* NS.KIND.NAME, or the hashed form; the caller has validated the parts. */
static int make_key(char *out, size_t size, const char *ns, const char *kind,
	const char *name)
{
	unsigned char d[RV_SHA256_LEN];
	char hex[RV_SHA256_HEX];
	rv_buf id = RV_BUF_INIT(1024);
	int n, rc;

	n = snprintf(out, size, "%s.%s.%s", ns, kind, name);
	if (n >= 0 && (size_t)n < size && n <= 253)
		return RV_OK;
	/* too long for a ConfigMap key: the namespace and kind, then a hash */
	if ((rc = rv_buf_printf(&id, "%s/%s/%s", ns, kind, name)) < 0 ||
	    (rc = rv_sha256_buf(d, id.ptr, id.len)) < 0)
		goto cleanup;
	rv_sha256_to_hex(hex, d);
	n = snprintf(out, size, "%s.%s._%.32s", ns, kind, hex);
	rc = n >= 0 && (size_t)n < size ? RV_OK : rv_error_set(RV_ETOOBIG, "key buffer too small");
cleanup:
	rv_buf_dispose(&id);
	return rc;
}

int rv_quarantine_key(char *out, size_t size, const char *ns, const char *kind,
	const char *name)
{
	if (!k8s_name(ns, 0) || !kind_ok(kind) || !k8s_name(name, 1))
		return rv_error_set(RV_EINVAL, "'%.80s/%.80s/%.300s' is not a valid namespace, kind and name",
			ns ? ns : "", kind ? kind : "", name ? name : "");
	return make_key(out, size, ns, kind, name);
}

/* "2026-11-22T13:00:00Z" -> seconds; -1 when malformed. */
static int64_t parse_time(const char *s)
{
	static const char pat[] = "dddd-dd-ddTdd:dd:ddZ";
	struct tm tm;
	int v[6], i, j;
	const char *p = s;
	time_t t;

	if (!s || strlen(s) != sizeof(pat) - 1)
		return -1;
	for (i = 0; pat[i]; i++)
		if (pat[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pat[i])
			return -1;
	for (i = 0; i < 6; i++) {
		int w = i ? 2 : 4;

		v[i] = 0;
		for (j = 0; j < w; j++)
			v[i] = v[i] * 10 + (*p++ - '0');
		p++;
	}
	if (v[0] < 1970 || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 ||
	    v[3] > 23 || v[4] > 59 || v[5] > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = v[0] - 1900;
	tm.tm_mon = v[1] - 1;
	tm.tm_mday = v[2];
	tm.tm_hour = v[3];
	tm.tm_min = v[4];
	tm.tm_sec = v[5];
	t = timegm(&tm);
	return t < 0 ? -1 : (int64_t)t;
}

static int hex16(const char *s)
{
	size_t i;

	if (!s || strlen(s) != 16)
		return 0;
	for (i = 0; i < 16; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int run_id_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n >= 1 && n <= 15 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789") == n;
}

/* --- the state: read and validate ----------------------------------------- */

/* "<subject>: <why>" into problems (subject printable ASCII already). */
static void problem(json_t *problems, const char *subject, const char *why)
{
	char msg[600];

	if (!problems || json_array_size(problems) >= PROBLEMS_MAX)
		return;
	snprintf(msg, sizeof(msg), "%s: %s", subject, why);
	json_array_append_new(problems, json_string(msg));
}

/* Printable ASCII of an untrusted string, shortened, for messages. */
static void safe_copy(char *out, size_t size, const char *s)
{
	size_t i, n = 0;

	for (i = 0; s && s[i] && n + 1 < size; i++)
		out[n++] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\'') ? s[i] : '?';
	out[n] = '\0';
}

/* One entry (key and parsed value, untrusted) into a new validated object,
 * or NULL with why set. */
static json_t *valid_entry(const char *key, json_t *v, const char **why)
{
	const char *ns = rv_json_str(v, "namespace"), *wl = rv_json_str(v, "workload"), *kind = rv_json_str(v, "kind");
	const char *since = rv_json_str(v, "since"), *last = rv_json_str(v, "lastRun"), *rid = rv_json_str(v, "lastRunId");
	const char *group = rv_json_str(v, "driftGroup");
	json_t *d = json_object_get(v, "drifted"), *c = json_object_get(v, "clean");
	json_t *q = json_object_get(v, "quarantined"), *pods = json_object_get(v, "pods");
	json_t *e = NULL, *plist = NULL, *p;
	char want[300];
	size_t i, j;

	*why = NULL;
	if (!json_is_object(v))
		return *why = "not a JSON object", NULL;
	if (!k8s_name(ns, 0) || !k8s_name(wl, 1) || !(kind_ok(kind) || legacy_kind(kind)))
		return *why = "no valid namespace, workload and kind", NULL;
	if (make_key(want, sizeof(want), ns, kind, wl) < 0 || strcmp(want, key))
		return *why = "its key is not the key of its namespace, kind and workload", NULL;
	if (!json_is_integer(d) || !json_is_integer(c) ||
	    json_integer_value(d) < 0 || json_integer_value(d) > RV_QUARANTINE_MAX_COUNT ||
	    json_integer_value(c) < 0 || json_integer_value(c) > RV_QUARANTINE_MAX_COUNT)
		return *why = "drifted and clean must be counts", NULL;
	if (!json_is_boolean(q))
		return *why = "quarantined must be true or false", NULL;
	if (parse_time(last) < 0 || (since && parse_time(since) < 0) ||
	    (json_object_get(v, "since") && !since && !json_is_null(json_object_get(v, "since"))))
		return *why = "lastRun and since must be times (2006-01-02T15:04:05Z)", NULL;
	if ((rid && !run_id_ok(rid)) || (json_object_get(v, "lastRunId") && !rid))
		return *why = "lastRunId must be a run id", NULL;
	if ((group && !hex16(group)) || (json_object_get(v, "driftGroup") && !group))
		return *why = "driftGroup must be 16 hex digits", NULL;
	if (pods && (!json_is_array(pods) || json_array_size(pods) > RV_QUARANTINE_MAX_PODS))
		return *why = "pods must be a list of at most 64 pod names", NULL;
	plist = json_array();
	if (!plist)
		return *why = "out of memory", NULL;
	json_array_foreach(pods, i, p) {
		if (!k8s_name(json_string_value(p), 1)) {
			json_decref(plist);
			return *why = "pods must be a list of pod names", NULL;
		}
		for (j = 0; j < i; j++)
			if (!strcmp(json_string_value(json_array_get(pods, j)), json_string_value(p)))
				break;
		if (j == i)
			json_array_append_new(plist, json_string(json_string_value(p)));
	}
	e = json_pack("{s:s, s:s, s:s, s:I, s:I, s:b, s:s, s:o}",
		"namespace", ns, "workload", wl, "kind", kind,
		"drifted", json_integer_value(d), "clean", json_integer_value(c),
		"quarantined", json_is_true(q), "lastRun", last, "pods", plist);
	if (!e)
		return *why = "out of memory", NULL;
	if ((since && json_object_set_new(e, "since", json_string(since)) < 0) ||
	    (rid && json_object_set_new(e, "lastRunId", json_string(rid)) < 0) ||
	    (group && json_object_set_new(e, "driftGroup", json_string(group)) < 0)) {
		json_decref(e);
		return *why = "out of memory", NULL;
	}
	return e;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int rv_quarantine_state_load(json_t **out, json_t *problems, json_t *cm)
{
	json_t *data, *entries = NULL, *v;
	const char **keys = NULL;
	const char *key, *kind = rv_json_str(cm, "kind");
	size_t n = 0, i, total = 0, bad = 0;
	int rc;

	*out = NULL;
	if (!json_is_object(cm) || (json_object_get(cm, "kind") && (!kind || strcmp(kind, "ConfigMap"))))
		return rv_error_set(RV_EFORMAT, "the state is not a ConfigMap");
	data = json_object_get(cm, "data");
	if (data && !json_is_null(data) && !json_is_object(data))
		return rv_error_set(RV_EFORMAT, "the state ConfigMap's data is not a mapping");
	entries = json_object();
	keys = calloc(json_object_size(data) + 1, sizeof(*keys));
	if (!entries || !keys) {
		rc = rv_error_set(RV_ENOMEM, "out of memory");
		goto cleanup;
	}
	json_object_foreach(data, key, v) {
		const char *s = json_string_value(v);

		total += strlen(key) + (s ? strlen(s) : 0);
		if (total > DATA_MAX) {
			rc = rv_error_set(RV_ETOOBIG, "the state ConfigMap holds more than %u bytes",
				DATA_MAX);
			goto cleanup;
		}
		keys[n++] = key;
	}
	qsort(keys, n, sizeof(*keys), cmp_str);   /* the same result in any order */
	for (i = 0; i < n; i++) {
		const char *s = json_string_value(json_object_get(data, keys[i]));
		const char *why = NULL;
		char k[120];
		json_t *parsed = NULL, *e = NULL;
		json_error_t jerr;

		snprintf(k, sizeof(k), "state entry '");
		safe_copy(k + strlen(k), sizeof(k) - strlen(k) - 10, keys[i]);
		snprintf(k + strlen(k), sizeof(k) - strlen(k), "' dropped");
		if (json_object_size(entries) >= RV_QUARANTINE_MAX_ENTRIES)
			why = "more than 4000 entries";
		else if (!s || strlen(s) > RV_QUARANTINE_MAX_VALUE)
			why = "not a string of at most 20480 bytes";
		else if (!(parsed = json_loads(s, JSON_REJECT_DUPLICATES, &jerr)))
			why = "not JSON";
		else
			e = valid_entry(keys[i], parsed, &why);
		json_decref(parsed);
		if (!e) {
			bad++;
			problem(problems, k, why ? why : "invalid");
			continue;
		}
		if (json_object_set_new(entries, keys[i], e) < 0) {
			rc = rv_error_set(RV_ENOMEM, "out of memory");
			goto cleanup;
		}
	}
	if (bad > PROBLEMS_MAX && problems) {
		char msg[80];

		snprintf(msg, sizeof(msg), "%zu more invalid state entries dropped", bad - PROBLEMS_MAX);
		json_array_append_new(problems, json_string(msg));
	}
	*out = entries;
	entries = NULL;
	rc = RV_OK;
cleanup:
	free(keys);
	json_decref(entries);
	return rc;
}

int rv_quarantine_state_parse(json_t **out, json_t *problems, const char *data, size_t len)
{
	json_error_t jerr;
	json_t *cm;
	int rc;

	*out = NULL;
	if (len > PARSE_MAX)
		return rv_error_set(RV_ETOOBIG, "the state ConfigMap is larger than %u bytes", PARSE_MAX);
	cm = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!cm)
		return rv_error_set(RV_EFORMAT, "the state ConfigMap is not JSON: %s", jerr.text);
	rc = rv_quarantine_state_load(out, problems, cm);
	json_decref(cm);
	return rc;
}

int rv_quarantine_state_data(json_t **out, json_t *entries)
{
	json_t *data = json_object(), *e;
	const char *key;

	*out = NULL;
	if (!data)
		return rv_error_set(RV_ENOMEM, "out of memory");
	json_object_foreach(entries, key, e) {
		char *s = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS);

		if (!s || json_object_set_new(data, key, json_string(s)) < 0) {
			free(s);
			json_decref(data);
			return rv_error_set(RV_ENOMEM, "out of memory");
		}
		free(s);
	}
	*out = data;
	return RV_OK;
}

/* --- this run, per workload ------------------------------------------------ */

int rv_quarantine_observe(json_t **out, json_t *problems, json_t *report)
{
	json_t *runs = json_object(), *pod, *c, *r;
	const char *key;
	size_t i, j;

	*out = NULL;
	if (!runs)
		return rv_error_set(RV_ENOMEM, "out of memory");
	json_array_foreach(json_object_get(report, "pods"), i, pod) {
		const char *ns = rv_json_str(pod, "namespace"), *name = rv_json_str(pod, "name");
		const char *uid = rv_json_str(pod, "uid"), *group = NULL;
		json_t *wref = json_object_get(pod, "workloadRef");
		const char *wl = rv_json_str(wref, "name"), *kind = rv_json_str(wref, "kind");
		char k[300], who[300];
		int drift = 0;
		json_t *ref;

		if (rv_quarantine_key(k, sizeof(k), ns, kind, wl) < 0 || !k8s_name(name, 1)) {
			snprintf(who, sizeof(who), "pod '");
			safe_copy(who + 5, sizeof(who) - 20, name);
			snprintf(who + strlen(who), sizeof(who) - strlen(who), "' left out");
			problem(problems, who, "invalid namespace, name or workloadRef (kind and name)");
			continue;
		}
		r = json_object_get(runs, k);
		if (!r) {
			r = json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:[], s:[]}", "namespace", ns,
				"workload", wl, "kind", kind, "nclean", 0, "nskipped", 0,
				"nother", 0, "drifted", "pods");
			if (!r || json_object_set_new(runs, k, r) < 0)
				goto oom;
		}
		json_array_foreach(json_object_get(pod, "containers"), j, c) {
			const char *field = "nother";
			rv_verdict v;

			/* a missing or unknown verdict is "other": it never
			 * counts towards a clean run */
			if (rv_verdict_parse(&v, rv_json_str(c, "verdict")) < 0)
				v = RV_VERDICT_UNVERIFIABLE;
			switch (v) {
			case RV_VERDICT_DRIFT:
				drift = 1;
				if (!group && hex16(rv_json_str(c, "driftGroup")))
					group = rv_json_str(c, "driftGroup");
				continue;
			case RV_VERDICT_CLEAN:
				field = "nclean";
				break;
			case RV_VERDICT_SKIPPED:
				field = "nskipped";
				break;
			case RV_VERDICT_INCOMPLETE:
			case RV_VERDICT_UNVERIFIABLE:
				break;
			}
			json_object_set_new(r, field, json_integer(rv_json_num(r, field) + 1));
		}
		ref = json_pack("{s:s}", "name", name);
		if (!ref || (uid && json_object_set_new(ref, "uid", json_string(uid)) < 0) ||
		    json_array_append(json_object_get(r, "pods"), ref) < 0 ||
		    (drift && json_array_append(json_object_get(r, "drifted"), ref) < 0)) {
			json_decref(ref);
			goto oom;
		}
		json_decref(ref);
		if (group && !json_object_get(r, "driftGroup"))
			json_object_set_new(r, "driftGroup", json_string(group));
	}
	json_object_foreach(runs, key, r) {
		const char *run = "unchanged";

		if (json_array_size(json_object_get(r, "drifted")))
			run = "drifted";
		else if (rv_json_num(r, "nother") == 0 && rv_json_num(r, "nclean") > 0)
			run = "clean";
		json_object_set_new(r, "run", json_string(run));
		json_object_del(r, "nclean");
		json_object_del(r, "nskipped");
		json_object_del(r, "nother");
	}
	*out = runs;
	return RV_OK;
oom:
	json_decref(runs);
	return rv_error_set(RV_ENOMEM, "out of memory");
}

/* --- the step --------------------------------------------------------------- */

static int has_name(json_t *list, const char *name)
{
	json_t *p;
	size_t i;

	json_array_foreach(list, i, p)
		if (json_string_value(p) && !strcmp(json_string_value(p), name))
			return 1;
	return 0;
}

static int add_action(json_t *actions, const char *action, const char *key, json_t *e,
	json_t *podref, int event, const char *reason)
{
	json_t *a = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s}", "action", action,
		"namespace", rv_json_str(e, "namespace"), "pod", rv_json_str(podref, "name"),
		"workload", rv_json_str(e, "workload"), "workloadKind", rv_json_str(e, "kind"), "key", key,
		"event", event, "reason", reason);

	if (!a || (rv_json_str(podref, "uid") && json_object_set_new(a, "uid", json_string(rv_json_str(podref, "uid"))) < 0) ||
	    json_array_append_new(actions, a) < 0)
		return rv_error_set(RV_ENOMEM, "out of memory");
	return RV_OK;
}

struct victim {
	const char *key;
	int quarantined;
	int64_t last;
	size_t bytes;
};

static int cmp_victim(const void *pa, const void *pb)
{
	const struct victim *a = pa, *b = pb;

	if (a->quarantined != b->quarantined)
		return a->quarantined - b->quarantined;   /* not quarantined first */
	if (a->last != b->last)
		return a->last < b->last ? -1 : 1;          /* least recently seen first */
	return strcmp(a->key, b->key);
}

static int drop(json_t *dropped, json_t *entries, const char *key, const char *reason)
{
	json_t *e = json_object_get(entries, key);
	json_t *d = json_pack("{s:s, s:s, s:s, s:b, s:s}", "key", key,
		"namespace", rv_json_str(e, "namespace"), "workload", rv_json_str(e, "workload"),
		"quarantined", json_is_true(json_object_get(e, "quarantined")), "reason", reason);

	if (d && !legacy_kind(rv_json_str(e, "kind")) &&
	    json_object_set_new(d, "workloadKind", json_string(rv_json_str(e, "kind"))) < 0) {
		json_decref(d);
		d = NULL;
	}
	if (!d || json_array_append_new(dropped, d) < 0)
		return rv_error_set(RV_ENOMEM, "out of memory");
	json_object_del(entries, key);
	return RV_OK;
}

/* Stale entries, then the caps. */
static int trim(json_t *dropped, json_t *entries, json_t *runs, const rv_quarantine_cfg *cfg,
	int64_t now)
{
	struct victim *v = NULL;
	size_t n = 0, i, total = 0, count;
	const char *key;
	json_t *e;
	int rc = RV_OK;

	v = calloc(json_object_size(entries) + 1, sizeof(*v));
	if (!v)
		return rv_error_set(RV_ENOMEM, "out of memory");
	json_object_foreach(entries, key, e) {
		char *s = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS);

		if (!s) {
			rc = rv_error_set(RV_ENOMEM, "out of memory");
			goto cleanup;
		}
		v[n].key = key;
		v[n].quarantined = json_is_true(json_object_get(e, "quarantined"));
		v[n].last = parse_time(rv_json_str(e, "lastRun"));
		v[n].bytes = strlen(key) + strlen(s);
		free(s);
		n++;
	}
	qsort(v, n, sizeof(*v), cmp_victim);
	for (i = 0; i < n; i++)
		total += v[i].bytes;
	count = n;
	for (i = 0; i < n; i++) {
		const char *why = NULL;

		if (json_object_get(runs, v[i].key))
			continue;  /* seen in this run: never dropped */
		if (legacy_kind(rv_json_str(json_object_get(entries, v[i].key), "kind")))
			why = "written by an older version, keyed without the workload's kind: "
				"counting starts again under the new key";
		else if (cfg->stale_ms > 0 && now - v[i].last > cfg->stale_ms / 1000)
			why = "not seen within staleAfter";
		else if (count > RV_QUARANTINE_MAX_ENTRIES || total > RV_QUARANTINE_MAX_BYTES)
			why = "the state is full: least recently seen first";
		if (!why)
			continue;
		count--;
		total -= v[i].bytes;
		/* the key string belongs to entries: keep a copy for the report */
		{
			char *k = strdup(v[i].key);

			if (!k || (rc = drop(dropped, entries, k, why)) < 0) {
				free(k);
				rc = rc < 0 ? rc : rv_error_set(RV_ENOMEM, "out of memory");
				goto cleanup;
			}
			free(k);
		}
	}
	if (count > RV_QUARANTINE_MAX_ENTRIES || total > RV_QUARANTINE_MAX_BYTES)
		rc = rv_error_set(RV_ETOOBIG,
			"the quarantine state would hold %zu workloads, %zu bytes (caps %d, %u) with only this run's",
			count, total, RV_QUARANTINE_MAX_ENTRIES, RV_QUARANTINE_MAX_BYTES);
cleanup:
	free(v);
	return rc;
}

int rv_quarantine_step(json_t **out, json_t *entries, json_t *runs,
	const rv_quarantine_cfg *cfg, const char *run_id, int64_t now)
{
	json_t *res = json_pack("{s:[], s:[]}", "actions", "dropped");
	json_t *actions = json_object_get(res, "actions"), *run, *e, *p;
	char stamp[RV_TIME_ISO_LEN], reason[160];
	const char *key;
	size_t i;
	int rc;

	*out = NULL;
	if (!res)
		return rv_error_set(RV_ENOMEM, "out of memory");
	rv_clock_iso(stamp, now);
	json_object_foreach(runs, key, run) {
		const char *what = rv_json_str(run, "run");
		int drifted = what && !strcmp(what, "drifted");
		int clean = what && !strcmp(what, "clean");
		json_int_t d, c;

		e = json_object_get(entries, key);
		if (!e) {
			e = json_pack("{s:s, s:s, s:s, s:i, s:i, s:b, s:s, s:[]}",
				"namespace", rv_json_str(run, "namespace"), "workload", rv_json_str(run, "workload"),
				"kind", rv_json_str(run, "kind"), "drifted", 0, "clean", 0, "quarantined", 0,
				"lastRun", stamp, "pods");
			if (!e || json_object_set_new(entries, key, e) < 0)
				goto oom;
		}
		d = rv_json_num(e, "drifted");
		c = rv_json_num(e, "clean");
		/* a run that already counted (our own write, read back after a
		 * lost answer, or the same --run-id twice) is not counted again */
		if (!rv_json_str(e, "lastRunId") || strcmp(rv_json_str(e, "lastRunId"), run_id)) {
			if (drifted) {
				d = d < RV_QUARANTINE_MAX_COUNT ? d + 1 : d;
				c = 0;
				if (rv_json_str(run, "driftGroup"))
					json_object_set_new(e, "driftGroup", json_string(rv_json_str(run, "driftGroup")));
			} else if (clean) {
				c = c < RV_QUARANTINE_MAX_COUNT ? c + 1 : c;
				d = 0;
			}
			json_object_set_new(e, "drifted", json_integer(d));
			json_object_set_new(e, "clean", json_integer(c));
			json_object_set_new(e, "lastRun", json_string(stamp));
			json_object_set_new(e, "lastRunId", json_string(run_id));
		}
		if (drifted && cfg->after > 0 &&
		    (json_is_true(json_object_get(e, "quarantined")) || d >= cfg->after)) {
			json_t *pods = json_object_get(e, "pods");

			if (!json_is_true(json_object_get(e, "quarantined"))) {
				json_object_set_new(e, "quarantined", json_true());
				json_object_set_new(e, "since", json_string(stamp));
			}
			snprintf(reason, sizeof(reason), "%lld consecutive drifted runs (quarantine after %d)",
				(long long)d, cfg->after);
			json_array_foreach(json_object_get(run, "drifted"), i, p) {
				const char *pn = rv_json_str(p, "name");
				int known = has_name(pods, pn);

				if ((rc = add_action(actions, "label", key, e, p, !known, reason)) < 0)
					goto fail;
				if (!known) {
					/* remember it for the release; the oldest goes first */
					if (json_array_size(pods) >= RV_QUARANTINE_MAX_PODS)
						json_array_remove(pods, 0);
					json_array_append_new(pods, json_string(pn));
				}
				/* only a pod a controller owns: something replaces it */
				if (cfg->evict && strcmp(rv_json_str(e, "kind"), "Pod") &&
				    (rc = add_action(actions, "evict", key, e, p, 0, reason)) < 0)
					goto fail;
			}
		} else if (clean && json_is_true(json_object_get(e, "quarantined")) &&
			   c >= cfg->release_after) {
			json_t *pods = json_object_get(e, "pods");

			snprintf(reason, sizeof(reason), "%lld consecutive clean runs (release after %d)",
				(long long)c, cfg->release_after);
			/* the pods we labelled, and every pod of the workload seen now
			 * (one labelled beyond the 64 remembered is among them) */
			json_array_foreach(pods, i, p) {
				json_t *ref = json_pack("{s:s}", "name", json_string_value(p));

				if (!ref)
					goto oom;
				rc = add_action(actions, "unlabel", key, e, ref, 1, reason);
				json_decref(ref);
				if (rc < 0)
					goto fail;
			}
			json_array_foreach(json_object_get(run, "pods"), i, p)
				if (!has_name(pods, rv_json_str(p, "name")) &&
				    (rc = add_action(actions, "unlabel", key, e, p, 0, reason)) < 0)
					goto fail;
			json_object_set_new(e, "quarantined", json_false());
			json_object_del(e, "since");
			json_array_clear(pods);
		}
	}
	if ((rc = trim(json_object_get(res, "dropped"), entries, runs, cfg, now)) < 0)
		goto fail;
	*out = res;
	return RV_OK;
oom:
	rc = rv_error_set(RV_ENOMEM, "out of memory");
fail:
	json_decref(res);
	return rc;
}

/* --- the network part -------------------------------------------------------- */

/* The state's namespace: configured, else the service account's, else
 * runtime-verifier. The file is untrusted: capped and checked. */
static void state_namespace(char out[64], const rv_quarantine_opts *o)
{
	const char *path = o->sa_ns_file ? o->sa_ns_file : RV_QUARANTINE_SA_NS_FILE;
	char buf[80];
	size_t n = 0;
	FILE *f;

	snprintf(out, 64, "%s", RV_QUARANTINE_STATE_NS);
	if (o->cfg->state_namespace) {
		snprintf(out, 64, "%s", o->cfg->state_namespace);
		return;
	}
	f = fopen(path, "re");
	if (!f)
		return;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	if (k8s_name(buf, 0))   /* at most 63 bytes */
		snprintf(out, 64, "%.63s", buf);
}

static int add_error(json_t *errors, int *first, int rc, const char *msg)
{
	json_array_append_new(errors, json_string(msg) ? json_string(msg) :
		json_string("(a message that is not UTF-8)"));
	if (*first == RV_OK)
		*first = rc;
	return rc;
}

struct state_io {
	rv_kube *k;
	const char *ns, *name;
	rv_buf path;      /* .../configmaps/NAME */
	rv_buf coll;      /* .../configmaps */
};

/* GET the state: *cm a new reference, or NULL when there is none. */
static int state_get(json_t **cm, struct state_io *s)
{
	long status = 0;
	int rc = rv_kube_request(s->k, cm, &status, "GET", s->path.ptr, NULL, NULL, 0);

	if (rc == RV_ENOTFOUND && status == 404) {
		*cm = NULL;
		return RV_OK;
	}
	if (rc < 0)
		return rv_error_prefix(rc, "cannot get the quarantine state ConfigMap '%s/%s'",
			s->ns, s->name);
	return RV_OK;
}

/* PUT (with the resourceVersion of cm) or POST (cm NULL) the entries.
 * RV_ECONFLICT when someone else wrote first. */
static int state_put(struct state_io *s, json_t *cm, json_t *entries)
{
	json_t *obj = NULL, *data = NULL, *md;
	char *body = NULL;
	int rc;

	if ((rc = rv_quarantine_state_data(&data, entries)) < 0)
		return rc;
	if (cm) {
		/* the object as read (labels, annotations, resourceVersion),
		 * with our data */
		obj = json_deep_copy(cm);
		if (obj) {
			json_object_del(obj, "binaryData");
			md = json_object_get(obj, "metadata");
			if (md)
				json_object_del(md, "managedFields");
		}
	} else {
		obj = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}}", "apiVersion", "v1",
			"kind", "ConfigMap", "metadata", "name", s->name, "namespace", s->ns,
			"labels", "app.kubernetes.io/managed-by", "runtime-verifier");
	}
	if (!obj || json_object_set(obj, "data", data) < 0 ||
	    !(body = json_dumps(obj, JSON_COMPACT))) {
		rc = rv_error_set(RV_ENOMEM, "out of memory");
		goto cleanup;
	}
	if (strlen(body) > (1u << 20)) {
		rc = rv_error_set(RV_ETOOBIG, "the quarantine state would exceed 1 MiB");
		goto cleanup;
	}
	if (cm)
		rc = rv_kube_request(s->k, NULL, NULL, "PUT", s->path.ptr, "application/json",
			body, strlen(body));
	else
		rc = rv_kube_request(s->k, NULL, NULL, "POST", s->coll.ptr, "application/json",
			body, strlen(body));
	if (rc < 0 && rc != RV_ECONFLICT)
		rv_error_prefix(rc, "cannot %s the quarantine state ConfigMap '%s/%s'",
			cm ? "update" : "create", s->ns, s->name);
cleanup:
	free(body);
	json_decref(obj);
	json_decref(data);
	return rc;
}

static int pod_req(rv_buf *b, const char *ns, const char *pod, const char *sub)
{
	int rc;

	rv_buf_reset(b);
	if ((rc = rv_buf_puts(b, "/api/v1/namespaces/")) < 0 ||
	    (rc = rv_kube_escape(b, ns)) < 0 || (rc = rv_buf_puts(b, "/pods/")) < 0 ||
	    (rc = rv_kube_escape(b, pod)) < 0)
		return rc;
	return sub ? rv_buf_printf(b, "/%s", sub) : RV_OK;
}

/* POST a policy/v1 Eviction for the pod, with its uid as a precondition
 * (a pod of the same name created since is not evicted). */
static int evict(rv_kube *k, json_t *a, long *status)
{
	rv_buf path = RV_BUF_INIT(PATH_CAP);
	json_t *ev = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "policy/v1",
		"kind", "Eviction", "metadata", "name", rv_json_str(a, "pod"), "namespace", rv_json_str(a, "namespace"));
	char *body = NULL;
	int rc;

	if (!ev || (rv_json_str(a, "uid") && json_object_set_new(ev, "deleteOptions",
			json_pack("{s:{s:s}}", "preconditions", "uid", rv_json_str(a, "uid"))) < 0) ||
	    !(body = json_dumps(ev, JSON_COMPACT))) {
		rc = rv_error_set(RV_ENOMEM, "out of memory");
		goto cleanup;
	}
	if ((rc = pod_req(&path, rv_json_str(a, "namespace"), rv_json_str(a, "pod"), "eviction")) < 0)
		goto cleanup;
	rc = rv_kube_request(k, NULL, status, "POST", path.ptr, "application/json",
		body, strlen(body));
cleanup:
	free(body);
	json_decref(ev);
	rv_buf_dispose(&path);
	return rc;
}

/* Carry out one action; its status and any error go into a. */
static int act(rv_kube *k, json_t *a, const rv_quarantine_opts *o, json_t *errors, int *first)
{
	const char *what = rv_json_str(a, "action"), *ns = rv_json_str(a, "namespace"), *pod = rv_json_str(a, "pod");
	const char *status = "done";
	char msg[1200];
	long http = 0;
	int rc;

	if (!strcmp(what, "evict")) {
		rc = evict(k, a, &http);
		if (rc < 0 && http == 429) {
			/* a PodDisruptionBudget says not now: the next run asks again */
			status = "blocked";
			json_object_set_new(a, "error", json_string(rv_error_last()));
			rc = RV_OK;
		} else if (rc < 0 && (http == 404 || http == 409)) {
			status = "gone";   /* deleted, or replaced by a pod of the same name */
			rc = RV_OK;
		}
	} else {
		json_t *labels = json_pack("{s:o}", RV_QUARANTINE_LABEL,
			strcmp(what, "label") ? json_null() : json_string("true"));

		rc = labels ? rv_pods_patch_meta(k, ns, pod, NULL, labels) :
			rv_error_set(RV_ENOMEM, "out of memory");
		json_decref(labels);
		if (rc == RV_ENOTFOUND) {
			status = "gone";
			rc = RV_OK;
		}
	}
	if (rc < 0) {
		snprintf(msg, sizeof(msg), "cannot %s pod '%s/%s': %s", what, ns, pod, rv_error_last());
		json_object_set_new(a, "error", json_string(msg));
		add_error(errors, first, rc, msg);
		status = "failed";
	}
	json_object_set_new(a, "status", json_string(status));
	if (rc == RV_OK && !strcmp(status, "done") && o->events &&
	    json_is_true(json_object_get(a, "event")) && strcmp(what, "evict")) {
		json_t *p = json_pack("{s:{s:s, s:s}}", "metadata", "namespace", ns, "name", pod);
		int label = !strcmp(what, "label");

		if (p && rv_json_str(a, "uid"))
			json_object_set_new(json_object_get(p, "metadata"), "uid", json_string(rv_json_str(a, "uid")));
		snprintf(msg, sizeof(msg), "%s %s=true: %s '%s/%s', %s",
			label ? "labelled" : "removed", RV_QUARANTINE_LABEL, rv_json_str(a, "workloadKind"), ns,
			rv_json_str(a, "workload"), rv_json_str(a, "reason"));
		if (!p || rv_pods_event(k, p, label ? "Warning" : "Normal",
				label ? "Quarantined" : "QuarantineReleased", msg) < 0)
			json_object_set_new(a, "eventError", json_string(rv_error_last()));
		json_decref(p);
	}
	return rc;
}

/* The report's per-workload view: this run and the counters after it. */
static json_t *workloads_json(json_t *runs, json_t *entries)
{
	json_t *list = json_array(), *run, *e, *w;
	const char *key;

	json_object_foreach(runs, key, run) {
		e = json_object_get(entries, key);
		w = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:b}", "key", key,
			"namespace", rv_json_str(run, "namespace"), "workload", rv_json_str(run, "workload"),
			"workloadKind", rv_json_str(run, "kind"),
			"kind", strcmp(rv_json_str(run, "kind"), "Pod") ? "workload" : "pod", "run", rv_json_str(run, "run"),
			"drifted", rv_json_num(e, "drifted"), "clean", rv_json_num(e, "clean"),
			"quarantined", json_is_true(json_object_get(e, "quarantined")));
		if (!w)
			continue;
		if (rv_json_str(e, "since"))
			json_object_set_new(w, "since", json_string(rv_json_str(e, "since")));
		if (rv_json_str(e, "driftGroup"))
			json_object_set_new(w, "driftGroup", json_string(rv_json_str(e, "driftGroup")));
		json_array_append_new(list, w);
	}
	return list;
}

/* Carry out every action (or mark it dry-run), then drop the fields
 * only the actions needed. */
static void act_all(rv_kube *k, json_t *actions, const rv_quarantine_opts *o, json_t *errors,
	int *first)
{
	json_t *a;
	size_t i;

	json_array_foreach(actions, i, a) {
		if (o->cfg->dry_run) {
			json_object_set_new(a, "status", json_string("dry-run"));
			continue;
		}
		act(k, a, o, errors, first);
	}
	json_array_foreach(actions, i, a) {
		json_object_del(a, "event");
		json_object_del(a, "key");
		json_object_del(a, "uid");
	}
}

int rv_quarantine_run(json_t *report, rv_kube *k, const rv_quarantine_opts *o)
{
	const rv_quarantine_cfg *cfg = o->cfg;
	struct state_io s = { k, NULL, NULL, RV_BUF_INIT(PATH_CAP), RV_BUF_INIT(PATH_CAP) };
	json_t *q = NULL, *errors = NULL, *runs = NULL, *cm = NULL, *entries = NULL, *res = NULL;
	json_t *problems = json_array(), *a;
	const char *run_id = o->run_id ? o->run_id : rv_json_str(report, "runId");
	const char *name = cfg->state_name ? cfg->state_name : RV_QUARANTINE_STATE_NAME;
	char ns[64], msg[1200];
	int64_t now = o->now ? o->now : (int64_t)time(NULL);
	int rc, first = RV_OK, attempt, written = 0;
	size_t i;

	state_namespace(ns, o);
	s.ns = ns;
	s.name = name;
	q = json_pack("{s:i, s:i, s:b, s:b, s:{s:s, s:s, s:b, s:i}, s:[], s:[], s:[], s:[]}",
		"after", cfg->after, "releaseAfter", cfg->release_after,
		"dryRun", cfg->dry_run, "evict", cfg->evict,
		"state", "namespace", ns, "name", name, "written", 0, "conflicts", 0,
		"workloads", "actions", "dropped", "errors");
	if (!q || !problems || json_object_set(report, "quarantine", q) < 0) {
		rc = rv_error_set(RV_ENOMEM, "out of memory");
		goto cleanup;
	}
	errors = json_object_get(q, "errors");
	if (!run_id_ok(run_id)) {
		rc = add_error(errors, &first, rv_error_set(RV_EINVAL, "the report has no valid runId"),
			rv_error_last());
		goto cleanup;
	}
	if ((rc = rv_quarantine_observe(&runs, problems, report)) < 0) {
		add_error(errors, &first, rc, rv_error_last());
		goto cleanup;
	}
	json_array_foreach(problems, i, a)
		add_error(errors, &first, RV_EFORMAT, json_string_value(a));
	if ((rc = rv_buf_puts(&s.coll, "/api/v1/namespaces/")) < 0 ||
	    (rc = rv_kube_escape(&s.coll, ns)) < 0 || (rc = rv_buf_puts(&s.coll, "/configmaps")) < 0 ||
	    (rc = rv_buf_printf(&s.path, "%s/", s.coll.ptr)) < 0 || (rc = rv_kube_escape(&s.path, name)) < 0)
		goto cleanup;

	for (attempt = 0;; attempt++) {
		json_array_clear(problems);
		json_decref(cm);
		json_decref(entries);
		json_decref(res);
		cm = entries = res = NULL;
		if ((rc = state_get(&cm, &s)) < 0) {
			add_error(errors, &first, rc, rv_error_last());
			goto cleanup;
		}
		if (cm)
			rc = rv_quarantine_state_load(&entries, problems, cm);
		else if (!(entries = json_object()))
			rc = rv_error_set(RV_ENOMEM, "out of memory");
		if (rc < 0) {
			rv_error_prefix(rc, "quarantine state ConfigMap '%s/%s'", ns, name);
			add_error(errors, &first, rc, rv_error_last());
			goto cleanup;
		}
		if ((rc = rv_quarantine_step(&res, entries, runs, cfg, run_id, now)) < 0) {
			add_error(errors, &first, rc, rv_error_last());
			goto cleanup;
		}
		if (cfg->dry_run)
			break;
		rc = state_put(&s, cm, entries);
		if (rc == RV_OK) {
			written = 1;
			break;
		}
		if (rc != RV_ECONFLICT) {
			add_error(errors, &first, rc, rv_error_last());
			goto cleanup;
		}
		json_object_set_new(json_object_get(q, "state"), "conflicts", json_integer(attempt + 1));
		if (attempt >= RV_QUARANTINE_RETRIES) {
			snprintf(msg, sizeof(msg),
				"cannot %s the quarantine state ConfigMap '%s/%s': still changing after %d conflicts (409); nothing labelled this run",
				cm ? "update" : "create", ns, name, attempt + 1);
			rc = add_error(errors, &first, rv_error_set(RV_ECONFLICT, "%s", msg), msg);
			goto cleanup;
		}
	}
	json_object_set_new(json_object_get(q, "state"), "written", json_boolean(written));
	json_object_set_new(json_object_get(q, "state"), "entries",
		json_integer((json_int_t)json_object_size(entries)));
	json_array_foreach(problems, i, a)
		add_error(errors, &first, RV_EFORMAT, json_string_value(a));
	json_object_set_new(q, "workloads", workloads_json(runs, entries));
	json_object_set(q, "dropped", json_object_get(res, "dropped"));
	json_object_set(q, "actions", json_object_get(res, "actions"));
	/* labels only once the state that remembers them is stored */
	act_all(k, json_object_get(res, "actions"), o, errors, &first);
	rc = RV_OK;
cleanup:
	if (first != RV_OK) {
		size_t n = json_array_size(errors);

		rc = rv_error_set(first, "quarantine: %s%s",
			json_string_value(json_array_get(errors, 0)) ? json_string_value(json_array_get(errors, 0)) : "failed",
			n > 1 ? " (and more in the report)" : "");
	}
	rv_buf_dispose(&s.path);
	rv_buf_dispose(&s.coll);
	json_decref(problems);
	json_decref(runs);
	json_decref(cm);
	json_decref(entries);
	json_decref(res);
	json_decref(q);
	return rc;
}

/* --- text ------------------------------------------------------------------- */

int rv_quarantine_text(rv_buf *out, json_t *report)
{
	json_t *q = json_object_get(report, "quarantine"), *w, *a, *e;
	size_t i;
	int rc = RV_OK;

	if (!q)
		return RV_OK;
	rc = rv_buf_printf(out, "\nquarantine: after %lld drifted runs, released after %lld clean%s; state %s/%s%s\n",
		(long long)rv_json_num(q, "after"), (long long)rv_json_num(q, "releaseAfter"),
		json_is_true(json_object_get(q, "evict")) ? ", evict" : "",
		rv_json_str(json_object_get(q, "state"), "namespace"), rv_json_str(json_object_get(q, "state"), "name"),
		json_is_true(json_object_get(q, "dryRun")) ? " (dry run: nothing written)" : "");
	json_array_foreach(json_object_get(q, "workloads"), i, w) {
		if (!strcmp(rv_json_str(w, "run") ? rv_json_str(w, "run") : "", "clean") && !json_is_true(json_object_get(w, "quarantined")))
			continue;  /* the quiet majority */
		rv_buf_printf(out, "  %s/%s (%s): %s run; %lld drifted, %lld clean in a row%s\n",
			rv_json_str(w, "namespace"), rv_json_str(w, "workload"), rv_json_str(w, "workloadKind"), rv_json_str(w, "run"),
			(long long)rv_json_num(w, "drifted"), (long long)rv_json_num(w, "clean"),
			json_is_true(json_object_get(w, "quarantined")) ? "; QUARANTINED" : "");
	}
	json_array_foreach(json_object_get(q, "actions"), i, a)
		rv_buf_printf(out, "  %s %s/%s: %s%s%s\n", rv_json_str(a, "action"), rv_json_str(a, "namespace"),
			rv_json_str(a, "pod"), rv_json_str(a, "status"), rv_json_str(a, "error") ? ": " : "",
			rv_json_str(a, "error") ? rv_json_str(a, "error") : "");
	json_array_foreach(json_object_get(q, "errors"), i, e)
		rc = rv_buf_printf(out, "  error: %s\n", json_string_value(e) ? json_string_value(e) : "");
	return rc;
}
