/* test_verdict.c - is this drift? The verdict from a comparison, every way to each verdict */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/diff.h"
#include "core/manifest.h"
#include "pipeline/aggregate.h"
#include "pipeline/pkgcheck.h"
#include "pipeline/result.h"
#include "pipeline/verdict.h"
#include "util/error.h"

#define DIGEST "sha256:1111111111111111111111111111111111111111111111111111111111111111"

/* --- names ------------------------------------------------------------- */

static void test_names_round_trip(void **state)
{
	rv_verdict v, back;

	(void)state;
	for (v = RV_VERDICT_CLEAN; v < RV_VERDICT_COUNT; v++) {
		assert_non_null(rv_verdict_name(v));
		assert_int_equal(rv_verdict_parse(&back, rv_verdict_name(v)), RV_OK);
		assert_int_equal(back, v);
	}
	assert_string_equal(rv_verdict_name(RV_VERDICT_DRIFT), "drift");
	assert_null(rv_verdict_name((rv_verdict)RV_VERDICT_COUNT));
}

static void test_parse_refuses_unknown(void **state)
{
	rv_verdict v = RV_VERDICT_CLEAN;

	(void)state;
	assert_int_equal(rv_verdict_parse(&v, NULL), RV_EINVAL);
	assert_int_equal(rv_verdict_parse(&v, ""), RV_EINVAL);
	assert_int_equal(rv_verdict_parse(&v, "Clean"), RV_EINVAL);
	assert_int_equal(rv_verdict_parse(&v, "cleanly"), RV_EINVAL);
	assert_non_null(strstr(rv_error_last(), "cleanly"));
	assert_int_equal(v, RV_VERDICT_CLEAN); /* untouched */
}

/* --- the decision, from a tally ------------------------------------------ */

struct row {
	const char *name;
	rv_tally t;
	const char *not_checked;
	rv_verdict want;
	int incomplete;
	const char *reason;   /* a part of the reason, or NULL: none */
};

#define DONE .files_complete = 1
#define PKGS .packages = 1, .pkg_checked = 1, .pkg_complete = 1

static const struct row rows[] = {
	/* clean */
	{ "equal, no packages asked", { DONE }, NULL, RV_VERDICT_CLEAN, 0, NULL },
	{ "equal, packages equal", { DONE, PKGS }, NULL, RV_VERDICT_CLEAN, 0, NULL },
	{ "only allowed and masked changes", { DONE, .allowed = 3, .masked = 7 }, NULL,
	  RV_VERDICT_CLEAN, 0, NULL },
	/* drift: files */
	{ "a file change", { DONE, .file_changes = 1 }, NULL, RV_VERDICT_DRIFT, 0, NULL },
	{ "a change beside an unreadable entry (runtime side)",
	  { DONE, .file_changes = 2, .file_errors = 1 }, NULL, RV_VERDICT_DRIFT, 1, NULL },
	{ "a change and an incomplete walk", { .file_changes = 1 }, NULL, RV_VERDICT_DRIFT, 1, NULL },
	{ "a change and entries below an unreadable dir",
	  { DONE, .file_changes = 1, .unknown = 4 }, NULL, RV_VERDICT_DRIFT, 1, NULL },
	{ "a file change, packages not checked",
	  { DONE, .file_changes = 1, .packages = 1 }, "the image side collected no package databases",
	  RV_VERDICT_DRIFT, 1, NULL },
	/* drift: packages only */
	{ "packages only", { DONE, PKGS, .pkg_changes = 2 }, NULL, RV_VERDICT_DRIFT, 0, NULL },
	{ "packages only, a database unreadable",
	  { DONE, .packages = 1, .pkg_checked = 1, .pkg_changes = 1 }, NULL,
	  RV_VERDICT_DRIFT, 1, NULL },
	/* incomplete */
	{ "only unreadable entries (one side)", { DONE, .file_changes = 1, .file_errors = 1 }, NULL,
	  RV_VERDICT_INCOMPLETE, 0, "some entries could not be read" },
	{ "only unreadable entries (both sides)", { DONE, .file_changes = 2, .file_errors = 2 }, NULL,
	  RV_VERDICT_INCOMPLETE, 0, "some entries could not be read" },
	{ "the probe missed entries", { 0 }, NULL, RV_VERDICT_INCOMPLETE, 0,
	  "some entries could not be read" },
	{ "entries below an unreadable dir", { DONE, .unknown = 1 }, NULL, RV_VERDICT_INCOMPLETE, 0,
	  "some entries could not be read" },
	{ "packages asked, not checked", { DONE, .packages = 1 },
	  "the probe reported no package databases (an rv-probe without --packages?)",
	  RV_VERDICT_INCOMPLETE, 0, "the probe reported no package databases" },
	{ "a package database unreadable", { DONE, .packages = 1, .pkg_checked = 1 }, NULL,
	  RV_VERDICT_INCOMPLETE, 0, "some package databases could not be read" },
	{ "files and packages both open", { .packages = 1, .pkg_checked = 1 }, NULL,
	  RV_VERDICT_INCOMPLETE, 0,
	  "some entries could not be read; see the findings; some package databases" },
	/* a package check that did not run is not drift, even with "changes" */
	{ "package counts without a check", { DONE, .pkg_changes = 3 }, NULL, RV_VERDICT_CLEAN, 0, NULL },
};

static void test_decide_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		rv_cresult cr;

		rv_cresult_init(&cr);
		cr.tally = r->t;
		cr.pkg_not_checked = r->not_checked;
		snprintf(cr.group, sizeof(cr.group), "%064d", 7);
		print_message("# %s\n", r->name);
		assert_int_equal(rv_verdict_decide(&cr), RV_OK);
		assert_int_equal(cr.verdict, r->want);
		assert_int_equal(cr.incomplete, r->incomplete);
		assert_int_equal(cr.cause, RV_CAUSE_NONE);
		if (r->reason) {
			assert_non_null(cr.reason);
			assert_non_null(strstr(cr.reason, r->reason));
		} else {
			assert_null(cr.reason);
		}
		/* the drift group stays only with drift */
		assert_int_equal(cr.group[0] != '\0', r->want == RV_VERDICT_DRIFT);
		rv_cresult_dispose(&cr);
	}
}

/* Every verdict a comparison can give is in the table. */
static void test_decide_table_covers_verdicts(void **state)
{
	int seen[RV_VERDICT_COUNT] = { 0 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		seen[rows[i].want] = 1;
	assert_true(seen[RV_VERDICT_CLEAN]);
	assert_true(seen[RV_VERDICT_DRIFT]);
	assert_true(seen[RV_VERDICT_INCOMPLETE]);
}

/* --- through real diffs ------------------------------------------------------ */

static rv_manifest_entry E(const char *path, rv_ftype type, unsigned mode, int c, int err)
{
	rv_manifest_entry e;

	memset(&e, 0, sizeof(e));
	e.path = (char *)path;
	e.path_len = strlen(path);
	e.type = type;
	e.mode = mode;
	e.err = err;
	if (c) {
		e.has_digest = 1;
		e.size = 10;
		memset(e.digest, c, sizeof(e.digest));
	}
	return e;
}

static void put(rv_manifest *m, rv_manifest_entry e)
{
	assert_int_equal(rv_manifest_add(m, &e), 0);
}

/* The image with a change applied: what the runtime side saw. */
enum change { SAME, ADD_ELF_DIR, MODIFY_PAGE, UNREADABLE_PAGE, MOUNT_CONFIG, UNREADABLE_DIR,
	IMAGE_UNREADABLE_PAGE, BOTH_UNREADABLE_PAGE };

/* The image: /app with a binary, a config dir and a page (which the
 * image side could not read in the *IMAGE_UNREADABLE* and *BOTH* cases). */
static rv_manifest *image(enum change ch)
{
	int bad = ch == IMAGE_UNREADABLE_PAGE || ch == BOTH_UNREADABLE_PAGE;

	rv_manifest *m;

	assert_int_equal(rv_manifest_new(&m), 0);
	put(m, E("/app", RV_FT_DIR, 0755, 0, 0));
	put(m, E("/app/bin", RV_FT_DIR, 0755, 0, 0));
	put(m, E("/app/bin/server", RV_FT_FILE, 0755, 1, 0));
	put(m, E("/app/config", RV_FT_DIR, 0755, 0, 0));
	put(m, E("/app/config/app.yaml", RV_FT_FILE, 0644, 2, 0));
	put(m, E("/app/index.html", RV_FT_FILE, 0644, bad ? 0 : 3, bad ? EIO : 0));
	assert_int_equal(rv_manifest_sort(m), 0);
	return m;
}

static rv_manifest *runtime(enum change ch)
{
	rv_manifest *m;

	assert_int_equal(rv_manifest_new(&m), 0);
	put(m, E("/app", RV_FT_DIR, 0755, 0, 0));
	if (ch == UNREADABLE_DIR) {
		put(m, E("/app/bin", RV_FT_DIR, 0755, 0, EACCES));
	} else {
		put(m, E("/app/bin", RV_FT_DIR, 0755, 0, 0));
		put(m, E("/app/bin/server", RV_FT_FILE, 0755, 1, 0));
	}
	if (ch == MOUNT_CONFIG) {
		put(m, E("/app/config", RV_FT_MOUNT, 0755, 0, 0));
	} else {
		put(m, E("/app/config", RV_FT_DIR, 0755, 0, 0));
		put(m, E("/app/config/app.yaml", RV_FT_FILE, 0644, 2, 0));
	}
	if (ch == UNREADABLE_PAGE || ch == BOTH_UNREADABLE_PAGE)
		put(m, E("/app/index.html", RV_FT_FILE, 0644, 0, EACCES));
	else
		put(m, E("/app/index.html", RV_FT_FILE, 0644, ch == MODIFY_PAGE ? 9 : 3, 0));
	if (ch == ADD_ELF_DIR) {
		put(m, E("/app/.cache", RV_FT_DIR, 0755, 0, 0));
		put(m, E("/app/.cache/kworker", RV_FT_FILE, 0755, 5, 0));
	}
	assert_int_equal(rv_manifest_sort(m), 0);
	return m;
}

/* Compare image() with runtime(ch) as verify does, and decide. */
static void compare(rv_cresult *cr, enum change ch, int complete, const rv_pkgcheck *pc,
	int packages, const char *not_checked)
{
	rv_manifest *a = image(ch), *b = runtime(ch);
	rv_diff *d = NULL;

	rv_cresult_init(cr);
	assert_int_equal(rv_result_set_str(&cr->image_ref, "reg/app@" DIGEST), 0);
	cr->image_digest = strrchr(cr->image_ref, '@') + 1;
	assert_int_equal(rv_diff_compute(&d, a, b, NULL, 0), 0);
	cr->tally.files_complete = complete;
	cr->tally.packages = packages;
	assert_int_equal(rv_verdict_findings(cr, ch == SAME ? NULL : d, pc, not_checked), 0);
	assert_int_equal(rv_verdict_decide(cr), 0);
	rv_diff_free(d);
	rv_manifest_free(a);
	rv_manifest_free(b);
}

static const char *finding(const rv_cresult *cr, size_t i, const char *key)
{
	return json_string_value(json_object_get(json_array_get(cr->findings, i), key));
}

static void test_diff_clean(void **state)
{
	rv_cresult cr;

	(void)state;
	compare(&cr, SAME, 1, NULL, 0, NULL);
	assert_int_equal(cr.verdict, RV_VERDICT_CLEAN);
	assert_true(cr.compared);
	assert_int_equal(json_array_size(cr.findings), 0);
	assert_string_equal(cr.group, "");
	rv_cresult_dispose(&cr);
}

static void test_diff_drift_lists_findings(void **state)
{
	rv_cresult cr;

	(void)state;
	compare(&cr, ADD_ELF_DIR, 1, NULL, 0, NULL);
	assert_int_equal(cr.verdict, RV_VERDICT_DRIFT);
	assert_false(cr.incomplete);
	assert_int_equal(cr.tally.findings, 2);
	assert_int_equal(cr.tally.by_severity[RV_SEV_HIGH], 1);
	assert_string_equal(finding(&cr, 1, "path"), "/app/.cache/kworker");
	assert_string_equal(finding(&cr, 1, "severity"), "high");
	assert_true(json_is_true(json_object_get(json_array_get(cr.findings, 1), "executable")));
	assert_int_equal(strlen(cr.group), 64);
	rv_cresult_dispose(&cr);
}

/* The same changes give the same group; other changes another. */
static void test_diff_group_is_the_changes(void **state)
{
	rv_cresult a, b, c;

	(void)state;
	compare(&a, ADD_ELF_DIR, 1, NULL, 0, NULL);
	compare(&b, ADD_ELF_DIR, 1, NULL, 0, NULL);
	compare(&c, MODIFY_PAGE, 1, NULL, 0, NULL);
	assert_string_equal(a.group, b.group);
	assert_string_not_equal(a.group, c.group);
	rv_cresult_dispose(&a);
	rv_cresult_dispose(&b);
	rv_cresult_dispose(&c);
}

static void test_diff_unreadable_runtime_side_is_incomplete(void **state)
{
	rv_cresult cr;

	(void)state;
	compare(&cr, UNREADABLE_PAGE, 0, NULL, 0, NULL);
	assert_int_equal(cr.verdict, RV_VERDICT_INCOMPLETE);
	assert_int_equal(cr.tally.file_errors, 1);
	assert_string_equal(finding(&cr, 0, "kind"), "unreadable");
	assert_string_equal(cr.group, "");
	rv_cresult_dispose(&cr);
}

static void test_diff_unreadable_image_side_is_incomplete(void **state)
{
	rv_cresult cr;

	(void)state;
	compare(&cr, IMAGE_UNREADABLE_PAGE, 1, NULL, 0, NULL);
	assert_int_equal(cr.verdict, RV_VERDICT_INCOMPLETE);
	assert_int_equal(cr.tally.file_errors, 1);
	rv_cresult_dispose(&cr);
}

/* The same entry unreadable on both sides: nobody read those bytes, so
 * equal errors are no proof of equal content. */
static void test_diff_unreadable_both_sides_is_incomplete(void **state)
{
	rv_cresult cr;

	(void)state;
	compare(&cr, BOTH_UNREADABLE_PAGE, 0, NULL, 0, NULL);
	assert_int_equal(cr.verdict, RV_VERDICT_INCOMPLETE);
	assert_true(cr.tally.file_errors >= 1);
	assert_non_null(strstr(cr.reason, "could not be read"));
	rv_cresult_dispose(&cr);
}

static void test_diff_unreadable_dir_hides_nothing(void **state)
{
	rv_cresult cr;

	(void)state;
	compare(&cr, UNREADABLE_DIR, 0, NULL, 0, NULL);
	/* /app/bin/server is below a directory the probe could not read: not
	 * "removed", and never clean */
	assert_int_equal(cr.verdict, RV_VERDICT_INCOMPLETE);
	assert_true(cr.tally.unknown >= 1);
	rv_cresult_dispose(&cr);
}

static void test_diff_mount_is_not_drift(void **state)
{
	rv_cresult cr;

	(void)state;
	compare(&cr, MOUNT_CONFIG, 1, NULL, 0, NULL);
	assert_int_equal(cr.verdict, RV_VERDICT_CLEAN);
	assert_true(cr.tally.masked >= 1);
	rv_cresult_dispose(&cr);
}

static void test_packages_not_checked_is_incomplete(void **state)
{
	rv_cresult cr;
	json_t *o;

	(void)state;
	compare(&cr, SAME, 1, NULL, 1, "the image side collected no package databases");
	assert_int_equal(cr.verdict, RV_VERDICT_INCOMPLETE);
	assert_string_equal(cr.reason, "the image side collected no package databases");
	o = rv_cresult_json(&cr);
	assert_string_equal(json_string_value(json_object_get(json_object_get(o, "packages"),
		"notChecked")), "the image side collected no package databases");
	json_decref(o);
	rv_cresult_dispose(&cr);
}

/* A package added at runtime, files equal: drift from packages alone. */
static void test_packages_only_drift(void **state)
{
	static const char st1[] = "Package: libc6\nStatus: install ok installed\n"
		"Architecture: amd64\nVersion: 2.36-9\n\n";
	static const char st2[] = "Package: libc6\nStatus: install ok installed\n"
		"Architecture: amd64\nVersion: 2.36-9\n\nPackage: nmap\nStatus: install ok installed\n"
		"Architecture: amd64\nVersion: 7.93\n\n";
	rv_dbset *img, *rt;
	rv_sbom *cat = NULL;
	rv_pkgcheck *pc = NULL;
	unsigned char di[RV_SHA256_LEN], dr[RV_SHA256_LEN];
	rv_cresult cr;

	(void)state;
	assert_int_equal(rv_dbset_new(&img), 0);
	assert_int_equal(rv_dbset_new(&rt), 0);
	assert_int_equal(rv_dbset_add(img, "/var/lib/dpkg/status", 20, st1, strlen(st1)), 0);
	assert_int_equal(rv_dbset_add(rt, "/var/lib/dpkg/status", 20, st2, strlen(st2)), 0);
	assert_int_equal(rv_dbset_sort(img), 0);
	assert_int_equal(rv_dbset_sort(rt), 0);
	assert_int_equal(rv_dbset_digest_comparable(di, img), 0);
	assert_int_equal(rv_dbset_digest_comparable(dr, rt), 0);
	assert_int_equal(rv_pkgcheck_catalogue(&cat, img), 0);
	assert_int_equal(rv_pkgcheck_run(&pc, img, di, cat, rt, dr), 0);
	compare(&cr, SAME, 1, pc, 1, NULL);
	assert_int_equal(cr.verdict, RV_VERDICT_DRIFT);
	assert_int_equal(cr.tally.pkg_changes, 1);
	assert_string_equal(finding(&cr, 0, "kind"), "package-added");
	assert_int_equal(strlen(cr.group), 64);
	rv_cresult_dispose(&cr);
	rv_pkgcheck_free(pc);
	rv_sbom_free(cat);
	rv_dbset_free(img);
	rv_dbset_free(rt);
}

/* --- results that never reach a comparison ----------------------------------- */

static void test_fail_sets_cause_and_reason(void **state)
{
	rv_cresult cr;
	json_t *o;

	(void)state;
	rv_cresult_init(&cr);
	assert_int_equal(rv_cresult_fail(&cr, RV_CAUSE_PROBE_REFUSED,
		"the API server refused the probe container: %s", "forbidden"), RV_ERROR);
	assert_int_equal(cr.verdict, RV_VERDICT_UNVERIFIABLE);
	assert_int_equal(cr.cause, RV_CAUSE_PROBE_REFUSED);
	o = rv_cresult_json(&cr);
	assert_string_equal(json_string_value(json_object_get(o, "verdict")), "unverifiable");
	assert_string_equal(json_string_value(json_object_get(o, "reason")),
		"the API server refused the probe container: forbidden");
	/* not compared: no findings, no counts, no group */
	assert_null(json_object_get(o, "findings"));
	assert_null(json_object_get(o, "counts"));
	assert_null(json_object_get(o, "driftGroup"));
	assert_non_null(json_object_get(o, "claims"));
	assert_non_null(json_object_get(o, "timings"));
	json_decref(o);
	rv_cresult_dispose(&cr);
}

static void test_skipped_json_is_short(void **state)
{
	rv_cresult cr;
	json_t *o;

	(void)state;
	rv_cresult_init(&cr);
	cr.verdict = RV_VERDICT_SKIPPED;
	assert_int_equal(rv_result_set_str(&cr.name, "app"), 0);
	assert_int_equal(rv_result_set_str(&cr.reason, "verified clean at ..."), 0);
	o = rv_cresult_json(&cr);
	assert_int_equal(json_object_size(o), 3); /* name, verdict, reason */
	json_decref(o);
	rv_cresult_dispose(&cr);
}

/* --- aggregation over typed results ------------------------------------------- */

static void test_aggregate_groups_and_summary(void **state)
{
	rv_presult pods[3];
	json_t *g, *s;
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		rv_presult_init(&pods[i]);
		assert_int_equal(rv_presult_containers(&pods[i], 1), 0);
		assert_int_equal(rv_result_set_str(&pods[i].namespace, "prod"), 0);
		assert_int_equal(rv_result_set_str(&pods[i].name, i == 0 ? "a" : i == 1 ? "b" : "c"), 0);
		rv_cresult_dispose(&pods[i].containers[0]);
		compare(&pods[i].containers[0], i < 2 ? ADD_ELF_DIR : MODIFY_PAGE, 1, NULL, 0, NULL);
		assert_int_equal(rv_result_set_str(&pods[i].containers[0].name, "app"), 0);
	}
	g = rv_aggregate_groups(pods, 3);
	assert_int_equal(json_array_size(g), 2);
	/* the most widespread first */
	assert_int_equal(json_integer_value(json_object_get(json_array_get(g, 0), "count")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(json_array_get(g, 0),
		"containers"), 1)), "prod/b/app");
	assert_int_equal(strlen(json_string_value(json_object_get(json_array_get(g, 0), "id"))), 16);
	s = rv_aggregate_summary(pods, 3);
	assert_int_equal(json_integer_value(json_object_get(s, "drift")), 3);
	assert_int_equal(json_integer_value(json_object_get(s, "containers")), 3);
	json_decref(g);
	json_decref(s);
	for (i = 0; i < 3; i++)
		rv_presult_dispose(&pods[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_round_trip),
		cmocka_unit_test(test_parse_refuses_unknown),
		cmocka_unit_test(test_decide_table),
		cmocka_unit_test(test_decide_table_covers_verdicts),
		cmocka_unit_test(test_diff_clean),
		cmocka_unit_test(test_diff_drift_lists_findings),
		cmocka_unit_test(test_diff_group_is_the_changes),
		cmocka_unit_test(test_diff_unreadable_runtime_side_is_incomplete),
		cmocka_unit_test(test_diff_unreadable_image_side_is_incomplete),
		cmocka_unit_test(test_diff_unreadable_both_sides_is_incomplete),
		cmocka_unit_test(test_diff_unreadable_dir_hides_nothing),
		cmocka_unit_test(test_diff_mount_is_not_drift),
		cmocka_unit_test(test_packages_not_checked_is_incomplete),
		cmocka_unit_test(test_packages_only_drift),
		cmocka_unit_test(test_fail_sets_cause_and_reason),
		cmocka_unit_test(test_skipped_json_is_short),
		cmocka_unit_test(test_aggregate_groups_and_summary),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
