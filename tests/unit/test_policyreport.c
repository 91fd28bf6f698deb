/* test_policyreport.c - verify reports as wgpolicyk8s.io/v1alpha2 PolicyReports */
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

#include "pipeline/config.h"
#include "pipeline/policyreport.h"
#include "util/error.h"

#define DIGEST "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define ROOT_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ROOT_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

/* A verify report: prod holds a clean and a drifted pod, dev an
 * incomplete, an unverifiable and a skipped container; "empty" was asked
 * for and has no pods. */
static json_t *sample(void)
{
	json_error_t err;
	json_t *r = json_pack_ex(&err, 0,
		"{s:s, s:s, s:s, s:s, s:{s:[s,s,s], s:s}, s:[], s:["
		"{s:s, s:s, s:s, s:s, s:[{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i}}]},"
		"{s:s, s:s, s:s, s:[{s:s, s:s, s:s, s:s, s:s, s:s, s:[{s:s, s:s, s:s}],"
		"  s:{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i}, s:[{s:s, s:s, s:s}], s:{s:s, s:b}}]},"
		"{s:s, s:s, s:[{s:s, s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s, s:s}]}"
		"]}",
		"apiVersion", "runtime-verifier.io/v1", "kind", "VerificationReport",
		"runId", "abc123", "finishedAt", "2026-01-02T03:04:05Z",
		"selector", "namespaces", "prod", "dev", "empty", "labelSelector", "tier=critical",
		"errors",
		"pods",
		"namespace", "prod", "name", "web-0", "uid", "u-0", "workload", "web",
		"containers", "name", "app", "verdict", "clean", "imageDigest", DIGEST,
		"imageRoot", ROOT_A, "runtimeRoot", ROOT_A, "image", "reg/app:v1",
		"counts", "findings", 0, "high", 0, "medium", 0, "low", 0, "info", 0,
		"allowed", 0, "masked", 0, "unknown", 0,
		"namespace", "prod", "name", "web-1", "uid", "u-1",
		"containers", "name", "app", "verdict", "drift", "imageDigest", DIGEST,
		"imageRoot", ROOT_A, "runtimeRoot", ROOT_B, "driftGroup", "0123456789abcdef",
		"claims", "kind", "mutable-tag", "severity", "low", "message", "tag",
		"counts", "findings", 3, "high", 0, "medium", 1, "low", 2, "info", 0,
		"allowed", 1, "masked", 0, "unknown", 0,
		"findings", "kind", "modified", "path", "/app/index.html", "severity", "medium",
		"provenance", "status", "ok", "agentTouchedBuild", 1,
		"namespace", "dev", "name", "odd",
		"containers",
		"name", "a", "verdict", "incomplete", "reason", "2 entries could not be read",
		"name", "b", "verdict", "unverifiable", "reason", "the registry refused",
		"name", "c", "verdict", "skipped", "reason", "verified clean at ...");

	if (!r)
		fail_msg("sample: %s", err.text);
	return r;
}

static json_t *find_report(json_t *all, const char *ns)
{
	json_t *p;
	size_t i;

	json_array_foreach(all, i, p)
		if (!strcmp(json_string_value(json_object_get(json_object_get(p, "metadata"), "namespace")), ns))
			return p;
	fail_msg("no report for namespace %s", ns);
	return NULL;
}

static const char *res_str(json_t *polr, size_t i, const char *k)
{
	return json_string_value(json_object_get(json_array_get(json_object_get(polr, "results"), i), k));
}

static const char *res_prop(json_t *polr, size_t i, const char *k)
{
	json_t *r = json_array_get(json_object_get(polr, "results"), i);

	return json_string_value(json_object_get(json_object_get(r, "properties"), k));
}

static json_int_t summary(json_t *polr, const char *k)
{
	return json_integer_value(json_object_get(json_object_get(polr, "summary"), k));
}

/* summary equals a count of the results */
static void assert_summary_matches(json_t *polr)
{
	static const char *const kinds[] = { "pass", "fail", "warn", "error", "skip" };
	size_t i, j, n;
	json_t *r;

	for (i = 0; i < 5; i++) {
		n = 0;
		json_array_foreach(json_object_get(polr, "results"), j, r)
			n += !strcmp(json_string_value(json_object_get(r, "result")), kinds[i]);
		assert_int_equal(summary(polr, kinds[i]), n);
	}
}

static void test_mapping(void **state)
{
	json_t *rep = sample(), *all = NULL, *prod, *dev, *r, *res;
	const char *k;
	size_t i;

	(void)state;
	if (rv_policyreport_build(&all, rep, NULL) < 0)
		fail_msg("%s", rv_error_last());
	assert_int_equal(json_array_size(all), 3);
	/* the namespaces asked for, in order */
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(all, 0), "metadata"), "namespace")), "prod");
	prod = find_report(all, "prod");
	dev = find_report(all, "dev");
	assert_string_equal(json_string_value(json_object_get(prod, "apiVersion")), "wgpolicyk8s.io/v1alpha2");
	assert_string_equal(json_string_value(json_object_get(prod, "kind")), "PolicyReport");
	assert_string_equal(json_string_value(json_object_get(json_object_get(prod, "metadata"), "name")), "runtime-verifier");
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(prod, "metadata"), "labels"),
		"app.kubernetes.io/managed-by")), "runtime-verifier");
	assert_null(json_object_get(json_object_get(prod, "metadata"), "resourceVersion"));

	/* one result per container, verdicts mapped */
	assert_int_equal(json_array_size(json_object_get(prod, "results")), 2);
	assert_string_equal(res_str(prod, 0, "result"), "pass");
	assert_string_equal(res_str(prod, 1, "result"), "fail");
	assert_string_equal(res_str(prod, 1, "severity"), "medium");   /* highest finding */
	assert_null(res_str(prod, 0, "severity"));
	assert_string_equal(res_str(prod, 0, "policy"), "runtime-verifier");
	assert_string_equal(res_str(prod, 0, "source"), "runtime-verifier");
	assert_string_equal(res_str(prod, 0, "rule"), "image-integrity");
	assert_non_null(strstr(res_str(prod, 1, "message"), "3 findings (0 high, 1 medium, 2 low, 0 info)"));
	assert_non_null(strstr(res_str(prod, 1, "message"), "first: modified /app/index.html"));
	assert_string_equal(res_prop(prod, 1, "imageDigest"), DIGEST);
	assert_string_equal(res_prop(prod, 1, "runtimeRoot"), ROOT_B);
	assert_string_equal(res_prop(prod, 1, "imageRoot"), ROOT_A);
	assert_string_equal(res_prop(prod, 1, "driftGroup"), "0123456789abcdef");
	assert_string_equal(res_prop(prod, 1, "findings"), "3");
	assert_string_equal(res_prop(prod, 1, "findingsLow"), "2");
	assert_string_equal(res_prop(prod, 1, "allowed"), "1");
	assert_string_equal(res_prop(prod, 1, "runId"), "abc123");
	assert_string_equal(res_prop(prod, 1, "claims"), "mutable-tag");
	assert_string_equal(res_prop(prod, 1, "agentTouchedBuild"), "true");
	assert_string_equal(res_prop(prod, 0, "workload"), "web");
	/* properties are strings only */
	json_array_foreach(json_object_get(prod, "results"), i, r) {
		json_object_foreach(json_object_get(r, "properties"), k, res)
			assert_true(json_is_string(res));
	}
	/* the Pod, as an ObjectReference */
	res = json_array_get(json_object_get(json_array_get(json_object_get(prod, "results"), 1), "resources"), 0);
	assert_string_equal(json_string_value(json_object_get(res, "apiVersion")), "v1");
	assert_string_equal(json_string_value(json_object_get(res, "kind")), "Pod");
	assert_string_equal(json_string_value(json_object_get(res, "name")), "web-1");
	assert_string_equal(json_string_value(json_object_get(res, "namespace")), "prod");
	assert_string_equal(json_string_value(json_object_get(res, "uid")), "u-1");
	/* the run's end as the timestamp: 2026-01-02T03:04:05Z */
	r = json_object_get(json_array_get(json_object_get(prod, "results"), 0), "timestamp");
	assert_int_equal(json_integer_value(json_object_get(r, "seconds")), 1767323045);
	assert_int_equal(json_integer_value(json_object_get(r, "nanos")), 0);

	assert_string_equal(res_str(dev, 0, "result"), "warn");
	assert_string_equal(res_str(dev, 1, "result"), "error");
	assert_string_equal(res_str(dev, 2, "result"), "skip");
	assert_non_null(strstr(res_str(dev, 1, "message"), "the registry refused"));
	assert_null(json_object_get(json_array_get(json_object_get(dev, "results"), 1), "severity"));
	/* a pod without a uid: no uid in the reference */
	res = json_array_get(json_object_get(json_array_get(json_object_get(dev, "results"), 0), "resources"), 0);
	assert_null(json_object_get(res, "uid"));

	assert_int_equal(summary(prod, "pass"), 1);
	assert_int_equal(summary(prod, "fail"), 1);
	assert_int_equal(summary(dev, "warn"), 1);
	assert_int_equal(summary(dev, "error"), 1);
	assert_int_equal(summary(dev, "skip"), 1);
	assert_summary_matches(prod);
	assert_summary_matches(dev);

	/* a namespace asked for without pods: an empty report replaces stale results */
	r = find_report(all, "empty");
	assert_int_equal(json_array_size(json_object_get(r, "results")), 0);
	assert_int_equal(summary(r, "pass") + summary(r, "fail"), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(r, "metadata"), "annotations"),
		"runtime-verifier.io/label-selector")), "tier=critical");
	json_decref(all);
	json_decref(rep);
}

/* The same report gives the same objects (no clock, no randomness). */
static void test_deterministic(void **state)
{
	json_t *rep = sample(), *a = NULL, *b = NULL;

	(void)state;
	assert_int_equal(rv_policyreport_build(&a, rep, NULL), 0);
	assert_int_equal(rv_policyreport_build(&b, rep, NULL), 0);
	assert_true(json_equal(a, b));
	json_decref(a);
	json_decref(b);
	json_decref(rep);
}

/* All namespaces ("*"): only the namespaces with pods get a report. */
static void test_all_namespaces(void **state)
{
	json_t *rep = sample(), *all = NULL;

	(void)state;
	json_object_set_new(json_object_get(rep, "selector"), "namespaces", json_pack("[s]", "*"));
	assert_int_equal(rv_policyreport_build(&all, rep, NULL), 0);
	assert_int_equal(json_array_size(all), 2);
	find_report(all, "prod");
	find_report(all, "dev");
	json_decref(all);
	json_decref(rep);
}

/* Past the cap: the most severe results stay, one more result says what
 * was left out, and the summary still counts the results. */
static void test_truncation(void **state)
{
	json_t *rep = sample(), *all = NULL, *dev, *last;
	rv_policyreport_opts o = { 2, 0 };
	size_t n;

	(void)state;
	assert_int_equal(rv_policyreport_build(&all, rep, &o), 0);
	dev = find_report(all, "dev");
	n = json_array_size(json_object_get(dev, "results"));
	assert_int_equal(n, 3);   /* 2 kept + the note */
	/* error and warn outrank skip; report order kept */
	assert_string_equal(res_str(dev, 0, "result"), "warn");
	assert_string_equal(res_str(dev, 1, "result"), "error");
	last = json_array_get(json_object_get(dev, "results"), 2);
	assert_string_equal(json_string_value(json_object_get(last, "rule")), "report-truncated");
	assert_string_equal(json_string_value(json_object_get(last, "result")), "warn");
	assert_string_equal(res_prop(dev, 2, "omitted"), "1");
	assert_string_equal(res_prop(dev, 2, "omittedSkip"), "1");
	assert_string_equal(res_prop(dev, 2, "maxResults"), "2");
	assert_non_null(strstr(res_str(dev, 2, "message"), "1 container results are not in this report"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(dev, "metadata"), "annotations"),
		"runtime-verifier.io/results-omitted")), "1");
	assert_int_equal(summary(dev, "warn"), 2);
	assert_int_equal(summary(dev, "skip"), 0);
	assert_summary_matches(dev);
	/* prod fits: no note */
	assert_int_equal(json_array_size(json_object_get(find_report(all, "prod"), "results")), 2);
	json_decref(all);

	/* a byte budget cuts too: fail outranks pass */
	o.max_results = 0;
	o.max_bytes = 1500;
	assert_int_equal(rv_policyreport_build(&all, rep, &o), 0);
	dev = find_report(all, "prod");
	assert_string_equal(res_str(dev, 0, "result"), "fail");
	assert_string_equal(res_str(dev, 1, "rule"), "report-truncated");
	assert_string_equal(res_prop(dev, 1, "omittedPass"), "1");
	json_decref(all);
	json_decref(rep);
}

/* Strings from outside are bounded, and cut on a UTF-8 boundary. */
static void test_bounded(void **state)
{
	json_t *rep = sample(), *all = NULL, *dev, *c;
	char big[8192];
	const char *msg, *reason;
	size_t i;

	(void)state;
	/* "é" is two bytes: a cut at an odd offset would split one */
	for (i = 0; i + 2 < sizeof(big); i += 2)
		memcpy(big + i, "\xc3\xa9", 2);
	big[i] = '\0';
	c = json_array_get(json_object_get(json_array_get(json_object_get(rep, "pods"), 2), "containers"), 1);
	json_object_set_new(c, "reason", json_string(big));
	assert_int_equal(rv_policyreport_build(&all, rep, NULL), 0);
	dev = find_report(all, "dev");
	msg = res_str(dev, 1, "message");
	reason = res_prop(dev, 1, "reason");
	assert_non_null(msg);      /* jansson refuses invalid UTF-8: non-NULL means valid */
	assert_non_null(reason);
	assert_true(strlen(msg) <= 1024);
	assert_true(strlen(reason) <= 512);
	assert_string_equal(msg + strlen(msg) - 3, "...");
	assert_string_equal(reason + strlen(reason) - 3, "...");
	json_decref(all);
	json_decref(rep);
}

static void test_not_a_report(void **state)
{
	json_t *all = NULL, *bad = json_pack("{s:s}", "kind", "Other");

	(void)state;
	assert_int_equal(rv_policyreport_build(&all, bad, NULL), RV_EINVAL);
	assert_null(all);
	assert_non_null(strstr(rv_error_last(), "not a verify report"));
	json_decref(bad);
}

/* The config key that turns them on: a boolean, default false. */
static void test_config_key(void **state)
{
	char path[] = "/tmp/rv-test-polr-XXXXXX";
	int fd = mkstemp(path);
	FILE *f;
	rv_config c;

	(void)state;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(rv_config_init(&c), 0);
	assert_int_equal(c.policy_reports, 0);
	fputs("policyReports: true\n", f);
	fclose(f);
	if (rv_config_load(&c, path) < 0)
		fail_msg("%s", rv_error_last());
	assert_int_equal(c.policy_reports, 1);
	rv_config_dispose(&c);
	f = fopen(path, "w");
	fputs("policyReports: 1\n", f);
	fclose(f);
	assert_int_equal(rv_config_init(&c), 0);
	assert_int_equal(rv_config_load(&c, path), RV_EINVAL);
	assert_non_null(strstr(rv_error_last(), "'policyReports' must be true or false"));
	rv_config_dispose(&c);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mapping),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_all_namespaces),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_not_a_report),
		cmocka_unit_test(test_config_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
