/* test_quarantine.c - the pure part of the quarantine: keys, state, counters, actions */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include "pipeline/quarantine.h"
#include "util/error.h"

#define T0 1767225600 /* 2026-01-01T00:00:00Z */

/* A report's pod of a workload of the given kind (as verify writes it:
 * "workload" and "workloadRef"); kind "Pod" is a bare pod. */
static json_t *podk(const char *ns, const char *name, const char *kind, const char *workload,
	const char *verdict, const char *group)
{
	json_t *c = json_pack("{s:s, s:s}", "name", "app", "verdict", verdict);
	json_t *p;

	if (group)
		json_object_set_new(c, "driftGroup", json_string(group));
	p = json_pack("{s:s, s:s, s:s, s:[o], s:{s:s, s:s}}", "namespace", ns, "name", name,
		"uid", name, "containers", c, "workloadRef", "kind", kind, "name", workload);
	if (strcmp(kind, "Pod"))
		json_object_set_new(p, "workload", json_string(workload));
	return p;
}

/* A pod of Deployment `workload`, or a bare pod (workload NULL). */
static json_t *pod(const char *ns, const char *name, const char *workload, const char *verdict,
	const char *group)
{
	return podk(ns, name, workload ? "Deployment" : "Pod", workload ? workload : name,
		verdict, group);
}

static json_t *report(json_t *p1, json_t *p2, json_t *p3)
{
	json_t *r = json_pack("{s:s, s:[]}", "runId", "r1", "pods");

	if (p1)
		json_array_append_new(json_object_get(r, "pods"), p1);
	if (p2)
		json_array_append_new(json_object_get(r, "pods"), p2);
	if (p3)
		json_array_append_new(json_object_get(r, "pods"), p3);
	return r;
}

static json_t *runs_of(json_t *rep)
{
	json_t *runs = NULL;

	assert_int_equal(rv_quarantine_observe(&runs, NULL, rep), 0);
	json_decref(rep);
	return runs;
}

static const char *run_of(json_t *runs, const char *key)
{
	return json_string_value(json_object_get(json_object_get(runs, key), "run"));
}

static rv_quarantine_cfg cfg(int after, int release, int evict)
{
	rv_quarantine_cfg c;

	memset(&c, 0, sizeof(c));
	c.after = after;
	c.release_after = release;
	c.evict = evict;
	c.stale_ms = 7L * 24 * 3600 * 1000;
	return c;
}

static json_int_t field(json_t *entries, const char *key, const char *f)
{
	return json_integer_value(json_object_get(json_object_get(entries, key), f));
}

/* the actions of one kind, as "pod pod ..." */
static void actions_of(char *out, size_t size, json_t *res, const char *what)
{
	json_t *a;
	size_t i;

	out[0] = '\0';
	json_array_foreach(json_object_get(res, "actions"), i, a)
		if (!strcmp(json_string_value(json_object_get(a, "action")), what))
			snprintf(out + strlen(out), size - strlen(out), "%s%s", out[0] ? " " : "",
				json_string_value(json_object_get(a, "pod")));
}

static void test_keys(void **state)
{
	char k[300], long_name[254], long_ns[64], long_kind[64];

	(void)state;
	assert_int_equal(rv_quarantine_key(k, sizeof(k), "prod", "Deployment", "payment-api"), 0);
	assert_string_equal(k, "prod.Deployment.payment-api");
	assert_int_equal(rv_quarantine_key(k, sizeof(k), "prod", "StatefulSet", "payment-api"), 0);
	assert_string_equal(k, "prod.StatefulSet.payment-api");
	assert_int_equal(rv_quarantine_key(k, sizeof(k), "prod", "Pod", "debug.x"), 0);
	assert_string_equal(k, "prod.Pod.debug.x");
	assert_int_equal(rv_quarantine_key(k, sizeof(k), "prod", "My-Thing2", "x"), 0);
	assert_string_equal(k, "prod.My-Thing2.x");
	/* 253 bytes of name do not fit with the prefix: hashed, still valid */
	memset(long_name, 'a', 253);
	long_name[253] = '\0';
	assert_int_equal(rv_quarantine_key(k, sizeof(k), "prod", "Deployment", long_name), 0);
	assert_int_equal(strlen(k), strlen("prod.Deployment._") + 32);
	assert_int_equal(strncmp(k, "prod.Deployment._", 17), 0);
	/* another long name, or the same one of another kind: another key */
	{
		char k2[300], k3[300];

		assert_int_equal(rv_quarantine_key(k3, sizeof(k3), "prod", "StatefulSet", long_name), 0);
		assert_string_not_equal(k + strlen("prod.Deployment."), k3 + strlen("prod.StatefulSet."));
		long_name[252] = 'b';
		assert_int_equal(rv_quarantine_key(k2, sizeof(k2), "prod", "Deployment", long_name), 0);
		assert_string_not_equal(k, k2);
	}
	/* the longest parts: within 253 bytes, ConfigMap-key characters only */
	memset(long_ns, 'n', 63);
	long_ns[63] = '\0';
	memset(long_kind, 'K', 63);
	long_kind[63] = '\0';
	assert_int_equal(rv_quarantine_key(k, sizeof(k), long_ns, long_kind, long_name), 0);
	assert_true(strlen(k) <= 253);
	assert_int_equal(strspn(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._"),
		strlen(k));
	long_name[100] = '\0';
	assert_int_equal(rv_quarantine_key(k, sizeof(k), long_ns, long_kind, long_name), 0);
	assert_int_equal(strlen(k), 63 + 1 + 63 + 1 + 100);   /* fits: not hashed */

	assert_int_equal(rv_quarantine_key(k, sizeof(k), "Prod", "Deployment", "x"), RV_EINVAL);
	assert_int_equal(rv_quarantine_key(k, sizeof(k), "prod", "Deployment", "a/b"), RV_EINVAL);
	assert_int_equal(rv_quarantine_key(k, sizeof(k), "pr.od", "Deployment", "x"), RV_EINVAL);
	assert_int_equal(rv_quarantine_key(k, sizeof(k), "prod", "Deployment", ""), RV_EINVAL);
	/* not kinds: the old key words, lower case, dots, '_', too long, none */
	assert_int_equal(rv_quarantine_key(k, sizeof(k), "prod", "workload", "x"), RV_EINVAL);
	assert_int_equal(rv_quarantine_key(k, sizeof(k), "prod", "pod", "x"), RV_EINVAL);
	assert_int_equal(rv_quarantine_key(k, sizeof(k), "prod", "deployment", "x"), RV_EINVAL);
	assert_int_equal(rv_quarantine_key(k, sizeof(k), "prod", "apps.Deployment", "x"), RV_EINVAL);
	assert_int_equal(rv_quarantine_key(k, sizeof(k), "prod", "Dep_loyment", "x"), RV_EINVAL);
	assert_int_equal(rv_quarantine_key(k, sizeof(k), "prod", "Deployment-", "x"), RV_EINVAL);
	assert_int_equal(rv_quarantine_key(k, sizeof(k), "prod", "", "x"), RV_EINVAL);
	assert_int_equal(rv_quarantine_key(k, sizeof(k), "prod", NULL, "x"), RV_EINVAL);
	{
		char k65[66];

		memset(k65, 'K', 64);
		k65[64] = '\0';
		assert_int_equal(rv_quarantine_key(k, sizeof(k), "prod", k65, "x"), RV_EINVAL);
	}
}

static void test_observe(void **state)
{
	json_t *runs;

	(void)state;
	runs = runs_of(report(pod("prod", "api-1", "api", "drift", "0123456789abcdef"),
		pod("prod", "api-2", "api", "clean", NULL), pod("prod", "bare", NULL, "clean", NULL)));
	assert_string_equal(run_of(runs, "prod.Deployment.api"), "drifted");
	assert_int_equal(json_array_size(json_object_get(json_object_get(runs, "prod.Deployment.api"), "drifted")), 1);
	assert_int_equal(json_array_size(json_object_get(json_object_get(runs, "prod.Deployment.api"), "pods")), 2);
	assert_string_equal(json_string_value(json_object_get(json_object_get(runs, "prod.Deployment.api"), "driftGroup")),
		"0123456789abcdef");
	assert_string_equal(run_of(runs, "prod.Pod.bare"), "clean");
	json_decref(runs);

	/* unverifiable, incomplete, skipped only: counters unchanged */
	runs = runs_of(report(pod("prod", "a-1", "a", "clean", NULL), pod("prod", "a-2", "a", "unverifiable", NULL),
		pod("prod", "b-1", "b", "skipped", NULL)));
	assert_string_equal(run_of(runs, "prod.Deployment.a"), "unchanged");
	assert_string_equal(run_of(runs, "prod.Deployment.b"), "unchanged");
	json_decref(runs);
	runs = runs_of(report(pod("prod", "a-1", "a", "incomplete", NULL), pod("prod", "c-1", "c", "clean", NULL),
		pod("prod", "c-2", "c", "skipped", NULL)));
	assert_string_equal(run_of(runs, "prod.Deployment.a"), "unchanged");
	assert_string_equal(run_of(runs, "prod.Deployment.c"), "clean");
	json_decref(runs);

	/* a pod with names the API server would never send is left out, said;
	 * so is one without a workloadRef (its kind unknown) or with a kind
	 * that is not one */
	{
		json_t *problems = json_array(), *nokind = pod("prod", "y", "a", "drift", NULL);
		json_t *rep;

		json_object_del(nokind, "workloadRef");
		rep = report(pod("Prod", "x", "a", "drift", NULL), nokind,
			podk("prod", "z", "workload", "a", "drift", NULL));
		assert_int_equal(rv_quarantine_observe(&runs, problems, rep), 0);
		assert_int_equal(json_object_size(runs), 0);
		assert_int_equal(json_array_size(problems), 3);
		json_decref(runs);
		json_decref(problems);
		json_decref(rep);
	}
}

/* A Deployment and a StatefulSet named alike in one namespace are two
 * workloads: two keys, two counts; only the one that drifted twice is
 * quarantined, only its pods are labelled. */
static void test_same_name_other_kind(void **state)
{
	rv_quarantine_cfg c = cfg(2, 2, 1);
	json_t *entries = json_object(), *res = NULL, *runs;
	const char *dk = "prod.Deployment.api", *sk = "prod.StatefulSet.api";
	char list[512];

	(void)state;
	runs = runs_of(report(pod("prod", "api-7d4f9c8b5-x2x4z", "api", "drift", NULL),
		podk("prod", "api-0", "StatefulSet", "api", "clean", NULL), NULL));
	assert_int_equal(json_object_size(runs), 2);
	assert_string_equal(run_of(runs, dk), "drifted");
	assert_string_equal(run_of(runs, sk), "clean");
	assert_string_equal(json_string_value(json_object_get(json_object_get(runs, sk), "kind")),
		"StatefulSet");
	assert_int_equal(rv_quarantine_step(&res, entries, runs, &c, "r1", T0), 0);
	json_decref(res);
	json_decref(runs);
	assert_int_equal(field(entries, dk, "drifted"), 1);
	assert_int_equal(field(entries, sk, "drifted"), 0);
	assert_int_equal(field(entries, sk, "clean"), 1);

	runs = runs_of(report(pod("prod", "api-7d4f9c8b5-x2x4z", "api", "drift", NULL),
		podk("prod", "api-0", "StatefulSet", "api", "drift", NULL), NULL));
	assert_int_equal(rv_quarantine_step(&res, entries, runs, &c, "r2", T0 + 900), 0);
	assert_int_equal(field(entries, dk, "drifted"), 2);
	assert_int_equal(field(entries, sk, "drifted"), 1);
	assert_true(json_is_true(json_object_get(json_object_get(entries, dk), "quarantined")));
	assert_false(json_is_true(json_object_get(json_object_get(entries, sk), "quarantined")));
	actions_of(list, sizeof(list), res, "label");
	assert_string_equal(list, "api-7d4f9c8b5-x2x4z");
	actions_of(list, sizeof(list), res, "evict");
	assert_string_equal(list, "api-7d4f9c8b5-x2x4z");
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(res, "actions"), 0),
		"workloadKind")), "Deployment");
	json_decref(res);

	/* the third run quarantines the StatefulSet too; its pod is evicted
	 * (a controller owns it), a bare pod of the same name never is */
	json_decref(runs);
	runs = runs_of(report(podk("prod", "api-0", "StatefulSet", "api", "drift", NULL),
		podk("prod", "api", "Pod", "api", "drift", NULL), NULL));
	assert_int_equal(rv_quarantine_step(&res, entries, runs, &c, "r3", T0 + 1800), 0);
	assert_int_equal(field(entries, sk, "drifted"), 2);
	assert_int_equal(field(entries, "prod.Pod.api", "drifted"), 1);
	assert_int_equal(field(entries, dk, "drifted"), 2);   /* not in this run: unchanged */
	actions_of(list, sizeof(list), res, "label");
	assert_string_equal(list, "api-0");
	actions_of(list, sizeof(list), res, "evict");
	assert_string_equal(list, "api-0");
	json_decref(res);
	json_decref(runs);
	json_decref(entries);
}

/* The state of the version before the kind was kept: NS.workload.NAME and
 * NS.pod.NAME. Valid such entries are not errors and are never counted or
 * matched: the first step drops them (listed once in "dropped", a
 * quarantined one flagged), the workload counts again from this run. */
static void test_old_format_keys(void **state)
{
	rv_quarantine_cfg c = cfg(2, 2, 0);
	json_t *cm, *entries = NULL, *problems = json_array(), *res = NULL, *runs, *d;
	char *text;
	size_t i;
	int seen_w = 0, seen_p = 0;

	(void)state;
	cm = json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:s}}", "kind", "ConfigMap", "data",
		"prod.workload.api",
		"{\"namespace\":\"prod\",\"workload\":\"api\",\"kind\":\"workload\",\"drifted\":5,"
		"\"clean\":0,\"quarantined\":true,\"since\":\"2026-01-01T00:00:00Z\","
		"\"lastRun\":\"2026-01-01T00:00:00Z\",\"lastRunId\":\"old1\",\"pods\":[\"api-1\"]}",
		"dev.pod.bare",
		"{\"namespace\":\"dev\",\"workload\":\"bare\",\"kind\":\"pod\",\"drifted\":0,"
		"\"clean\":1,\"quarantined\":false,\"lastRun\":\"2026-01-01T00:00:00Z\"}",
		/* an old value under a new key, a new value under an old key: tampered */
		"prod.Deployment.web",
		"{\"namespace\":\"prod\",\"workload\":\"web\",\"kind\":\"workload\",\"drifted\":1,"
		"\"clean\":0,\"quarantined\":false,\"lastRun\":\"2026-01-01T00:00:00Z\"}",
		"prod.workload.db",
		"{\"namespace\":\"prod\",\"workload\":\"db\",\"kind\":\"StatefulSet\",\"drifted\":1,"
		"\"clean\":0,\"quarantined\":false,\"lastRun\":\"2026-01-01T00:00:00Z\"}",
		/* an old key with a broken value: an error as ever */
		"prod.workload.x", "{\"namespace\":\"prod\",\"workload\":\"x\",\"kind\":\"workload\"}");
	text = json_dumps(cm, JSON_COMPACT);
	assert_int_equal(rv_quarantine_state_parse(&entries, problems, text, strlen(text)), 0);
	assert_int_equal(json_array_size(problems), 3);
	assert_int_equal(json_object_size(entries), 2);
	assert_non_null(json_object_get(entries, "prod.workload.api"));
	assert_non_null(json_object_get(entries, "dev.pod.bare"));

	/* Deployment api drifts: a new entry from 1, the old count (5) unused */
	runs = runs_of(report(pod("prod", "api-1", "api", "drift", NULL), NULL, NULL));
	assert_int_equal(rv_quarantine_step(&res, entries, runs, &c, "new1", T0), 0);
	assert_int_equal(field(entries, "prod.Deployment.api", "drifted"), 1);
	assert_false(json_is_true(json_object_get(json_object_get(entries, "prod.Deployment.api"), "quarantined")));
	assert_int_equal(json_array_size(json_object_get(res, "actions")), 0);
	assert_null(json_object_get(entries, "prod.workload.api"));
	assert_null(json_object_get(entries, "dev.pod.bare"));
	assert_int_equal(json_object_size(entries), 1);
	assert_int_equal(json_array_size(json_object_get(res, "dropped")), 2);
	json_array_foreach(json_object_get(res, "dropped"), i, d) {
		const char *key = json_string_value(json_object_get(d, "key"));

		assert_non_null(strstr(json_string_value(json_object_get(d, "reason")), "older version"));
		assert_null(json_object_get(d, "workloadKind"));
		if (!strcmp(key, "prod.workload.api")) {
			seen_w = 1;
			assert_true(json_is_true(json_object_get(d, "quarantined")));
		} else if (!strcmp(key, "dev.pod.bare")) {
			seen_p = 1;
			assert_false(json_is_true(json_object_get(d, "quarantined")));
		}
	}
	assert_true(seen_w && seen_p);
	json_decref(res);
	/* reported once: the next step drops nothing */
	assert_int_equal(rv_quarantine_step(&res, entries, runs, &c, "new2", T0 + 900), 0);
	assert_int_equal(json_array_size(json_object_get(res, "dropped")), 0);
	assert_int_equal(field(entries, "prod.Deployment.api", "drifted"), 2);
	json_decref(res);
	/* even with staleAfter off, an old entry goes */
	c.stale_ms = 0;
	json_object_set_new(entries, "prod.workload.old", json_pack("{s:s, s:s, s:s, s:i, s:i, s:b, s:s, s:[]}",
		"namespace", "prod", "workload", "old", "kind", "workload", "drifted", 1, "clean", 0,
		"quarantined", 0, "lastRun", "2026-01-01T00:00:00Z", "pods"));
	assert_int_equal(rv_quarantine_step(&res, entries, runs, &c, "new3", T0 + 1800), 0);
	assert_int_equal(json_array_size(json_object_get(res, "dropped")), 1);
	assert_null(json_object_get(entries, "prod.workload.old"));
	json_decref(res);

	json_decref(runs);
	free(text);
	json_decref(cm);
	json_decref(entries);
	json_decref(problems);
}

/* N=2, M=2: two drifted runs label the drifted pod only; the same run id
 * never counts twice; two clean runs remove the label. */
static void test_cycle(void **state)
{
	rv_quarantine_cfg c = cfg(2, 2, 0);
	json_t *entries = json_object(), *res = NULL;
	const char *key = "prod.Deployment.api";
	char list[512];

	(void)state;
	{
		json_t *runs = runs_of(report(pod("prod", "api-1", "api", "drift", "0123456789abcdef"),
			pod("prod", "api-2", "api", "clean", NULL), NULL));

		assert_int_equal(rv_quarantine_step(&res, entries, runs, &c, "run1", T0), 0);
		json_decref(runs);
	}
	assert_int_equal(field(entries, key, "drifted"), 1);
	assert_int_equal(json_array_size(json_object_get(res, "actions")), 0);
	assert_false(json_is_true(json_object_get(json_object_get(entries, key), "quarantined")));
	json_decref(res);

	{
		json_t *runs = runs_of(report(pod("prod", "api-1", "api", "drift", "0123456789abcdef"),
			pod("prod", "api-2", "api", "clean", NULL), NULL));

		assert_int_equal(rv_quarantine_step(&res, entries, runs, &c, "run2", T0 + 900), 0);
		assert_int_equal(field(entries, key, "drifted"), 2);
		actions_of(list, sizeof(list), res, "label");
		assert_string_equal(list, "api-1");
		actions_of(list, sizeof(list), res, "evict");
		assert_string_equal(list, "");
		assert_true(json_is_true(json_object_get(json_object_get(entries, key), "quarantined")));
		assert_string_equal(json_string_value(json_object_get(json_object_get(entries, key), "since")),
			"2026-01-01T00:15:00Z");
		assert_true(json_is_true(json_object_get(json_array_get(json_object_get(res, "actions"), 0), "event")));
		json_decref(res);
		/* the same run applied again (re-read after a lost answer) */
		assert_int_equal(rv_quarantine_step(&res, entries, runs, &c, "run2", T0 + 900), 0);
		assert_int_equal(field(entries, key, "drifted"), 2);
		actions_of(list, sizeof(list), res, "label");
		assert_string_equal(list, "api-1");
		/* labelled again (a removed label comes back), without a new Event */
		assert_false(json_is_true(json_object_get(json_array_get(json_object_get(res, "actions"), 0), "event")));
		json_decref(res);
		json_decref(runs);
	}
	{
		json_t *clean = runs_of(report(pod("prod", "api-1", "api", "clean", NULL),
			pod("prod", "api-3", "api", "clean", NULL), NULL));
		json_t *unv = runs_of(report(pod("prod", "api-1", "api", "unverifiable", NULL), NULL, NULL));

		assert_int_equal(rv_quarantine_step(&res, entries, clean, &c, "run3", T0 + 1800), 0);
		assert_int_equal(field(entries, key, "clean"), 1);
		assert_int_equal(field(entries, key, "drifted"), 0);
		assert_int_equal(json_array_size(json_object_get(res, "actions")), 0);
		json_decref(res);
		/* an unverifiable run changes nothing */
		assert_int_equal(rv_quarantine_step(&res, entries, unv, &c, "run4", T0 + 2700), 0);
		assert_int_equal(field(entries, key, "clean"), 1);
		assert_true(json_is_true(json_object_get(json_object_get(entries, key), "quarantined")));
		json_decref(res);
		assert_int_equal(rv_quarantine_step(&res, entries, clean, &c, "run5", T0 + 3600), 0);
		assert_int_equal(field(entries, key, "clean"), 2);
		actions_of(list, sizeof(list), res, "unlabel");
		assert_string_equal(list, "api-1 api-3");
		assert_false(json_is_true(json_object_get(json_object_get(entries, key), "quarantined")));
		assert_null(json_object_get(json_object_get(entries, key), "since"));
		json_decref(res);
		/* released: a further clean run does nothing */
		assert_int_equal(rv_quarantine_step(&res, entries, clean, &c, "run6", T0 + 4500), 0);
		assert_int_equal(json_array_size(json_object_get(res, "actions")), 0);
		json_decref(res);
		json_decref(clean);
		json_decref(unv);
	}
	json_decref(entries);
}

/* A drifted run between clean ones starts the count again; evict only
 * pods owned by a controller. */
static void test_reset_and_evict(void **state)
{
	rv_quarantine_cfg c = cfg(1, 3, 1);
	json_t *entries = json_object(), *res = NULL;
	json_t *drift = runs_of(report(pod("prod", "api-1", "api", "drift", NULL),
		pod("prod", "bare", NULL, "drift", NULL), NULL));
	json_t *clean = runs_of(report(pod("prod", "api-1", "api", "clean", NULL),
		pod("prod", "bare", NULL, "clean", NULL), NULL));
	char list[512];

	(void)state;
	assert_int_equal(rv_quarantine_step(&res, entries, drift, &c, "a", T0), 0);
	actions_of(list, sizeof(list), res, "label");
	assert_string_equal(list, "api-1 bare");
	actions_of(list, sizeof(list), res, "evict");
	assert_string_equal(list, "api-1");   /* never the bare pod */
	json_decref(res);
	assert_int_equal(rv_quarantine_step(&res, entries, clean, &c, "b", T0 + 1), 0);
	json_decref(res);
	assert_int_equal(rv_quarantine_step(&res, entries, clean, &c, "c", T0 + 2), 0);
	json_decref(res);
	assert_int_equal(field(entries, "prod.Deployment.api", "clean"), 2);
	assert_true(json_is_true(json_object_get(json_object_get(entries, "prod.Deployment.api"), "quarantined")));
	assert_int_equal(rv_quarantine_step(&res, entries, drift, &c, "d", T0 + 3), 0);
	assert_int_equal(field(entries, "prod.Deployment.api", "clean"), 0);
	assert_int_equal(field(entries, "prod.Deployment.api", "drifted"), 1);
	/* still quarantined (2 clean runs < 3): its drifted pods are labelled again */
	actions_of(list, sizeof(list), res, "label");
	assert_string_equal(list, "api-1 bare");
	json_decref(res);
	json_decref(drift);
	json_decref(clean);
	json_decref(entries);
}

static void test_state_roundtrip_and_validation(void **state)
{
	rv_quarantine_cfg c = cfg(2, 2, 0);
	json_t *entries = json_object(), *res = NULL, *data = NULL, *cm, *back = NULL, *problems;
	json_t *runs = runs_of(report(pod("prod", "api-1", "api", "drift", "0123456789abcdef"),
		pod("dev", "bare", NULL, "clean", NULL), NULL));
	char *text;

	(void)state;
	assert_int_equal(rv_quarantine_step(&res, entries, runs, &c, "r1", T0), 0);
	json_decref(res);
	assert_int_equal(rv_quarantine_state_data(&data, entries), 0);
	assert_true(json_is_string(json_object_get(data, "prod.Deployment.api")));
	cm = json_pack("{s:s, s:s, s:{s:s}, s:O}", "apiVersion", "v1", "kind", "ConfigMap",
		"metadata", "name", "runtime-verifier-state", "data", data);
	text = json_dumps(cm, JSON_COMPACT);
	problems = json_array();
	assert_int_equal(rv_quarantine_state_parse(&back, problems, text, strlen(text)), 0);
	assert_int_equal(json_array_size(problems), 0);
	assert_true(json_equal(back, entries));
	json_decref(back);
	free(text);

	/* tampered entries are dropped, each with a message */
	json_object_set_new(data, "prod.Deployment.other", json_string(
		json_string_value(json_object_get(data, "prod.Deployment.api"))));         /* key mismatch */
	json_object_set_new(data, "dev.Deployment.x", json_string(
		"{\"namespace\":\"dev\",\"workload\":\"x\",\"kind\":\"Deployment\",\"drifted\":-1,\"clean\":0,"
		"\"quarantined\":false,\"lastRun\":\"2026-01-01T00:00:00Z\"}"));           /* negative */
	json_object_set_new(data, "dev.Deployment.y", json_string(
		"{\"namespace\":\"dev\",\"workload\":\"y\",\"kind\":\"Deployment\",\"drifted\":1,\"clean\":0,"
		"\"quarantined\":false,\"lastRun\":\"2026-13-01T00:00:00Z\"}"));           /* bad month */
	json_object_set_new(data, "dev.Deployment.z", json_string("{\"a\":1,\"a\":2}"));  /* duplicates */
	json_object_set_new(data, "bad key/", json_string("x"));
	json_object_set_new(data, "dev.Deployment.ok", json_string(
		"{\"namespace\":\"dev\",\"workload\":\"ok\",\"kind\":\"Deployment\",\"drifted\":1,\"clean\":0,"
		"\"quarantined\":true,\"lastRun\":\"2026-01-01T00:00:00Z\",\"future\":1}"));
	json_object_set(cm, "data", data);
	json_array_clear(problems);
	assert_int_equal(rv_quarantine_state_load(&back, problems, cm), 0);
	assert_int_equal(json_object_size(back), 3);
	assert_non_null(json_object_get(back, "dev.Deployment.ok"));
	assert_null(json_object_get(json_object_get(back, "dev.Deployment.ok"), "future"));
	assert_int_equal(json_array_size(problems), 5);
	json_decref(back);

	/* not a ConfigMap at all */
	assert_int_equal(rv_quarantine_state_parse(&back, NULL, "[1]", 3), RV_EFORMAT);
	assert_int_equal(rv_quarantine_state_parse(&back, NULL, "{\"kind\":\"Secret\"}", 17), RV_EFORMAT);
	assert_int_equal(rv_quarantine_state_parse(&back, NULL, "{\"data\":[]}", 11), RV_EFORMAT);
	assert_int_equal(rv_quarantine_state_parse(&back, NULL, "{", 1), RV_EFORMAT);
	assert_int_equal(rv_quarantine_state_parse(&back, NULL, "{}", 2), 0);
	assert_int_equal(json_object_size(back), 0);
	json_decref(back);

	json_decref(problems);
	json_decref(cm);
	json_decref(data);
	json_decref(runs);
	json_decref(entries);
}

/* Entries not seen for staleAfter go; the caps drop the least recently
 * seen, not quarantined first; this run's workloads are never dropped. */
static void test_stale_and_caps(void **state)
{
	rv_quarantine_cfg c = cfg(2, 2, 0);
	json_t *entries = json_object(), *res = NULL, *runs;
	char key[64], name[32];
	int i;

	(void)state;
	runs = runs_of(report(pod("old", "gone", "gone", "drift", NULL), NULL, NULL));
	assert_int_equal(rv_quarantine_step(&res, entries, runs, &c, "a", T0), 0);
	json_decref(res);
	json_decref(runs);
	runs = runs_of(report(pod("prod", "api-1", "api", "clean", NULL), NULL, NULL));
	assert_int_equal(rv_quarantine_step(&res, entries, runs, &c, "b", T0 + 6 * 86400), 0);
	assert_int_equal(json_array_size(json_object_get(res, "dropped")), 0);
	json_decref(res);
	assert_int_equal(rv_quarantine_step(&res, entries, runs, &c, "c", T0 + 8 * 86400), 0);
	assert_int_equal(json_array_size(json_object_get(res, "dropped")), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(res, "dropped"), 0), "key")),
		"old.Deployment.gone");
	assert_null(json_object_get(entries, "old.Deployment.gone"));
	assert_non_null(json_object_get(entries, "prod.Deployment.api"));
	json_decref(res);
	json_decref(runs);

	/* over the entry cap: the oldest unquarantined go first */
	for (i = 0; i < RV_QUARANTINE_MAX_ENTRIES + 5; i++) {
		json_t *r;

		snprintf(name, sizeof(name), "w%d", i);
		r = runs_of(report(pod("many", name, name, i == 0 ? "drift" : "clean", NULL), NULL, NULL));
		c.after = 1;
		assert_int_equal(rv_quarantine_key(key, sizeof(key), "many", "Deployment", name), 0);
		/* build entries directly, cheaper than a step per entry */
		json_object_set_new(entries, key, json_pack("{s:s, s:s, s:s, s:i, s:i, s:b, s:s, s:[]}",
			"namespace", "many", "workload", name, "kind", "Deployment", "drifted", i == 0, "clean", 0,
			"quarantined", i == 0, "lastRun", "2026-01-09T00:00:00Z", "pods"));
		json_decref(r);
	}
	runs = runs_of(report(pod("prod", "api-1", "api", "clean", NULL), NULL, NULL));
	assert_int_equal(rv_quarantine_step(&res, entries, runs, &c, "d", T0 + 8 * 86400), 0);
	assert_int_equal(json_object_size(entries), RV_QUARANTINE_MAX_ENTRIES);
	assert_non_null(json_object_get(entries, "many.Deployment.w0"));     /* quarantined: kept */
	assert_non_null(json_object_get(entries, "prod.Deployment.api"));    /* seen now: kept */
	assert_int_equal(json_array_size(json_object_get(res, "dropped")), 6);
	json_decref(res);
	json_decref(runs);
	json_decref(entries);
}

/* The quarantine keys of verify's configuration file. */
static int load(rv_config *c, const char *text)
{
	char path[] = "/tmp/rv-test-qcfg-XXXXXX";
	int fd = mkstemp(path), rc;
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(rv_config_init(c), 0);
	rc = rv_config_load(c, path);
	unlink(path);
	return rc;
}

static void test_config_keys(void **state)
{
	rv_config c;

	(void)state;
	assert_int_equal(rv_config_init(&c), 0);
	assert_int_equal(c.quarantine.after, 0);            /* off by default */
	assert_int_equal(c.quarantine.release_after, 3);
	assert_int_equal(c.quarantine.stale_ms, 7L * 24 * 3600 * 1000);
	rv_config_dispose(&c);
	assert_int_equal(load(&c, "quarantine:\n  after: 2\n  releaseAfter: 5\n  dryRun: true\n"
		"  evict: true\n  stateNamespace: rv\n  stateConfigMap: my.state\n  staleAfter: 48h\n"), 0);
	assert_int_equal(c.quarantine.after, 2);
	assert_int_equal(c.quarantine.release_after, 5);
	assert_true(c.quarantine.dry_run && c.quarantine.evict);
	assert_string_equal(c.quarantine.state_namespace, "rv");
	assert_string_equal(c.quarantine.state_name, "my.state");
	assert_int_equal(c.quarantine.stale_ms, 48L * 3600 * 1000);
	rv_config_dispose(&c);
	assert_int_equal(load(&c, "quarantine:\n  aftr: 2\n"), RV_EINVAL);
	assert_non_null(strstr(rv_error_last(), "unknown key 'quarantine.aftr'"));
	rv_config_dispose(&c);
	assert_int_equal(load(&c, "quarantine:\n  dryRun: maybe\n"), RV_EINVAL);
	assert_non_null(strstr(rv_error_last(), "'quarantine.dryRun' must be true or false"));
	rv_config_dispose(&c);
	assert_int_equal(load(&c, "quarantine:\n  stateNamespace: Bad_NS\n"), RV_EINVAL);
	rv_config_dispose(&c);
	assert_int_equal(load(&c, "quarantine:\n  releaseAfter: 0\n"), RV_EINVAL);
	rv_config_dispose(&c);
	assert_int_equal(load(&c, "quarantine:\n  staleAfter: 5m\n"), RV_EINVAL);
	rv_config_dispose(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_observe),
		cmocka_unit_test(test_same_name_other_kind),
		cmocka_unit_test(test_old_format_keys),
		cmocka_unit_test(test_cycle),
		cmocka_unit_test(test_reset_and_evict),
		cmocka_unit_test(test_state_roundtrip_and_validation),
		cmocka_unit_test(test_stale_and_caps),
		cmocka_unit_test(test_config_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
