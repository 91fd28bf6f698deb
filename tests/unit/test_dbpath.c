/* test_dbpath.c - which paths are package databases; dropping records deterministically */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/dbpath.h"
#include "core/dbset.h"
#include "core/glob.h"
#include "util/buf.h"
#include "util/error.h"

static void test_classify(void **state)
{
	static const struct {
		const char *path;
		rv_dbpath_kind kind;
		size_t max;
	} cases[] = {
		{ "/var/lib/dpkg/status", RV_DBPATH_DPKG, 64u << 20 },
		{ "/var/lib/dpkg/status-old", RV_DBPATH_NONE, 0 },
		{ "/var/lib/dpkg/status.d/base", RV_DBPATH_DPKG_D, 4u << 20 },
		{ "/var/lib/dpkg/status.d/.hidden", RV_DBPATH_NONE, 0 },
		{ "/var/lib/dpkg/status.d/base.md5sums", RV_DBPATH_NONE, 0 },
		{ "/var/lib/dpkg/status.d/sub/x", RV_DBPATH_NONE, 0 },
		{ "/lib/apk/db/installed", RV_DBPATH_APK, 64u << 20 },
		{ "/usr/lib/apk/db/installed", RV_DBPATH_APK, 64u << 20 },
		{ "/x/lib/apk/db/installed", RV_DBPATH_NONE, 0 },
		{ "/var/lib/rpm/rpmdb.sqlite", RV_DBPATH_RPM, 256u << 20 },
		{ "/usr/lib/sysimage/rpm/rpmdb.sqlite", RV_DBPATH_RPM, 256u << 20 },
		{ "/var/lib/rpm/Packages", RV_DBPATH_NONE, 0 },
		{ "/etc/os-release", RV_DBPATH_OS_RELEASE, 64u << 10 },
		{ "/usr/lib/os-release", RV_DBPATH_OS_RELEASE, 64u << 10 },
		{ "/x/etc/os-release", RV_DBPATH_NONE, 0 },
		{ "/usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA", RV_DBPATH_PYTHON, 4u << 20 },
		{ "/v/lib/python3.11/site-packages/a.egg-info/PKG-INFO", RV_DBPATH_PYTHON, 4u << 20 },
		{ "/usr/lib/python3/dist-packages/crit-3.17.1-py3.11.egg-info", RV_DBPATH_PYTHON, 4u << 20 },
		{ "/.dist-info/METADATA", RV_DBPATH_NONE, 0 },
		{ "/.egg-info", RV_DBPATH_NONE, 0 },
		{ "/a.dist-info/RECORD", RV_DBPATH_NONE, 0 },
		{ "/app/node_modules/express/package.json", RV_DBPATH_NPM, 4u << 20 },
		{ "/app/node_modules/@types/node/package.json", RV_DBPATH_NPM, 4u << 20 },
		{ "/app/node_modules/a/node_modules/b/package.json", RV_DBPATH_NPM, 4u << 20 },
		{ "/node_modules/a/package.json", RV_DBPATH_NPM, 4u << 20 },
		{ "/app/node_modules/express/lib/package.json", RV_DBPATH_NONE, 0 },
		{ "/app/node_modules/.bin/package.json", RV_DBPATH_NONE, 0 },
		{ "/app/node_modules/@types/package.json", RV_DBPATH_NONE, 0 },
		{ "/app/node_modules/@/x/package.json", RV_DBPATH_NONE, 0 },
		{ "/app/package.json", RV_DBPATH_NONE, 0 },
		{ "var/lib/dpkg/status", RV_DBPATH_NONE, 0 },
		{ "node_modules/a/package.json", RV_DBPATH_NONE, 0 },
		{ "/", RV_DBPATH_NONE, 0 },
		{ "", RV_DBPATH_NONE, 0 },
	};
	size_t i, max, nglobs;
	const char *const *globs = rv_dbpath_globs(&nglobs);

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rv_dbpath_kind k = rv_dbpath_classify(cases[i].path,
			strlen(cases[i].path), &max);

		if (k != cases[i].kind || max != cases[i].max)
			fail_msg("%s: kind %d max %zu, expected %d %zu", cases[i].path,
				k, max, cases[i].kind, cases[i].max);
		assert_int_equal(rv_dbpath_max(k), max);
		if (k != RV_DBPATH_NONE &&
		    !rv_glob_match_any(globs, nglobs, cases[i].path, strlen(cases[i].path)))
			fail_msg("%s: no glob of rv_dbpath_globs() matches", cases[i].path);
		assert_int_equal(rv_dbpath_classify(cases[i].path,
			strlen(cases[i].path), NULL), k);
	}
	/* a NUL inside never matches, nor does a prefix of a wanted path */
	assert_int_equal(rv_dbpath_classify("/var/lib/dpkg/status\0x", 22, NULL),
		RV_DBPATH_NONE);
	assert_int_equal(rv_dbpath_classify("/var/lib/dpkg/status", 19, NULL),
		RV_DBPATH_NONE);
	assert_int_equal(rv_dbpath_max(RV_DBPATH_NONE), 0);
	assert_int_equal(rv_dbpath_max(RV_DBPATH_KIND_COUNT), 0);
}

static void test_dir_rule(void **state)
{
	static const struct {
		const char *path;
		rv_dbpath_dir rule;
	} cases[] = {
		{ "/proc", RV_DBPATH_DIR_PSEUDO }, { "/proc/1/root", RV_DBPATH_DIR_PSEUDO },
		{ "/sys", RV_DBPATH_DIR_PSEUDO }, { "/sys/fs/cgroup", RV_DBPATH_DIR_PSEUDO },
		{ "/dev", RV_DBPATH_DIR_DEV }, { "/dev/shm", RV_DBPATH_DIR_SHM },
		{ "/dev/shm/x", RV_DBPATH_DIR_SEARCH },
		{ "/dev/shm/x/y.dist-info", RV_DBPATH_DIR_SEARCH },
		{ "/dev/pts", RV_DBPATH_DIR_PSEUDO }, { "/dev/mqueue", RV_DBPATH_DIR_PSEUDO },
		{ "/dev/shmx", RV_DBPATH_DIR_PSEUDO }, { "/dev/sh", RV_DBPATH_DIR_PSEUDO },
		{ "/dev/x/shm", RV_DBPATH_DIR_PSEUDO },
		{ "/devices", RV_DBPATH_DIR_SEARCH }, { "/proc2", RV_DBPATH_DIR_SEARCH },
		{ "/system", RV_DBPATH_DIR_SEARCH }, { "/var/proc", RV_DBPATH_DIR_SEARCH },
		{ "/x/dev/shm", RV_DBPATH_DIR_SEARCH }, { "/", RV_DBPATH_DIR_SEARCH },
		{ "/data", RV_DBPATH_DIR_SEARCH }, { "/pro", RV_DBPATH_DIR_SEARCH },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (rv_dbpath_dir_rule(cases[i].path, strlen(cases[i].path)) !=
		    cases[i].rule)
			fail_msg("%s: expected %d", cases[i].path, cases[i].rule);
	/* only len bytes count */
	assert_int_equal(rv_dbpath_dir_rule("/dev/shm", 4), RV_DBPATH_DIR_DEV);
}

static void add(rv_dbset *s, const char *path, size_t size, unsigned char fill)
{
	unsigned char *d = malloc(size ? size : 1);

	assert_non_null(d);
	memset(d, fill, size);
	assert_int_equal(rv_dbset_add(s, path, strlen(path), d, size), 0);
	free(d);
}

static void canon(rv_buf *out, rv_dbset *s)
{
	rv_buf_init(out, 1u << 26);
	assert_int_equal(rv_dbset_sort(s), 0);
	assert_int_equal(rv_dbset_serialize(out, s), 0);
}

static void test_drop(void **state)
{
	rv_dbset *s, *back;
	rv_buf b;
	const rv_dbset_file *f;

	(void)state;
	assert_int_equal(rv_dbset_new(&s), 0);
	add(s, "/a", 10, 'a');
	add(s, "/b", 20, 'b');
	assert_int_equal(rv_dbset_add_failed(s, "/c", 2, "cannot read: EACCES"), 0);
	assert_int_equal(rv_dbpath_drop(s, 1, " dropped:\x01 why "), 0);
	assert_int_equal(s->bytes, 10);
	assert_int_equal(s->failed, 2);
	assert_string_equal(s->files[1].error, "dropped:? why");
	assert_null(s->files[1].data);
	assert_int_equal(s->files[1].size, 0);
	/* a failed record stays as it was */
	assert_int_equal(rv_dbpath_drop(s, 2, "other"), 0);
	assert_string_equal(s->files[2].error, "cannot read: EACCES");
	assert_int_equal(s->failed, 2);
	assert_int_equal(rv_dbpath_drop(s, 3, "x"), RV_EINVAL);
	/* the result is a set like any other: its canonical form parses */
	canon(&b, s);
	assert_int_equal(rv_dbset_parse(&back, b.ptr, b.len), 0);
	f = rv_dbset_find(back, "/b", 2);
	assert_non_null(f);
	assert_string_equal(f->error, "dropped:? why");
	assert_int_equal(back->bytes, 10);
	rv_dbset_free(back);
	rv_buf_dispose(&b);
	rv_dbset_free(s);
}

static void test_drop_largest_order(void **state)
{
	rv_dbset *s;
	size_t n;

	(void)state;
	assert_int_equal(rv_dbset_new(&s), 0);
	add(s, "/w", 10, 'w');
	add(s, "/x", 40, 'x');
	add(s, "/y", 50, 'y');
	add(s, "/z", 50, 'z');
	add(s, "/v", 60, 'v');
	assert_int_equal(rv_dbpath_drop_largest(s, 210, "why", &n), 0);
	assert_int_equal(n, 0);
	/* 210 in all: /v (60) goes, then of the two 50s the greater path */
	assert_int_equal(rv_dbpath_drop_largest(s, 100, "why", &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(s->bytes, 100);
	assert_non_null(s->files[4].error); /* /v */
	assert_non_null(s->files[3].error); /* /z */
	assert_null(s->files[2].error);     /* /y */
	assert_int_equal(rv_dbpath_drop_largest(s, 0, "why", &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(s->bytes, 0);
	assert_int_equal(s->failed, 5);
	rv_dbset_free(s);
}

/* Dropping after every add, in any order, ends where dropping once at the
 * end does (rv_walk_dbs relies on it: the probe's result must not depend
 * on the order of directory entries). */
static void test_drop_streaming_is_order_free(void **state)
{
	unsigned seed = 12345, round;
	char path[32];

	(void)state;
	for (round = 0; round < 300; round++) {
		size_t n = 1 + (size_t)(rand_r(&seed) % 12), i, sizes[12], perm[12];
		uint64_t max = (uint64_t)(rand_r(&seed) % 400);
		rv_dbset *once, *stream;
		rv_buf a, b;

		for (i = 0; i < n; i++) {
			/* small sizes: many ties */
			sizes[i] = (size_t)(rand_r(&seed) % 6) * 20;
			perm[i] = i;
		}
		for (i = n - 1; i > 0; i--) {
			size_t j = (size_t)rand_r(&seed) % (i + 1), t = perm[i];

			perm[i] = perm[j];
			perm[j] = t;
		}
		assert_int_equal(rv_dbset_new(&once), 0);
		assert_int_equal(rv_dbset_new(&stream), 0);
		for (i = 0; i < n; i++) {
			snprintf(path, sizeof(path), "/p%zu", i);
			add(once, path, sizes[i], (unsigned char)i);
			snprintf(path, sizeof(path), "/p%zu", perm[i]);
			add(stream, path, sizes[perm[i]], (unsigned char)perm[i]);
			assert_int_equal(rv_dbpath_drop_largest(stream, max, "over", NULL), 0);
			assert_true(stream->bytes <= max);
		}
		assert_int_equal(rv_dbpath_drop_largest(once, max, "over", NULL), 0);
		canon(&a, once);
		canon(&b, stream);
		if (a.len != b.len || memcmp(a.ptr, b.ptr, a.len))
			fail_msg("round %u: streaming differs from once", round);
		rv_buf_dispose(&a);
		rv_buf_dispose(&b);
		rv_dbset_free(once);
		rv_dbset_free(stream);
	}
}

/* The dropper (what rv_walk_dbs uses, one record at a time) ends where
 * dropping once at the end does, in any order of adds. */
static void test_dropper_is_order_free(void **state)
{
	unsigned seed = 777, round;
	char path[32];

	(void)state;
	for (round = 0; round < 300; round++) {
		size_t n = 1 + (size_t)(rand_r(&seed) % 20), i, sizes[20], perm[20];
		uint64_t max = (uint64_t)(rand_r(&seed) % 600);
		rv_dbpath_dropper d;
		rv_dbset *once, *stream;
		rv_buf a, b;

		for (i = 0; i < n; i++) {
			sizes[i] = (size_t)(rand_r(&seed) % 6) * 20;
			perm[i] = i;
		}
		for (i = n - 1; i > 0; i--) {
			size_t j = (size_t)rand_r(&seed) % (i + 1), t = perm[i];

			perm[i] = perm[j];
			perm[j] = t;
		}
		assert_int_equal(rv_dbset_new(&once), 0);
		assert_int_equal(rv_dbset_new(&stream), 0);
		assert_int_equal(rv_dbpath_dropper_init(&d, stream, max, "over"), 0);
		for (i = 0; i < n; i++) {
			snprintf(path, sizeof(path), "/p%zu", i);
			add(once, path, sizes[i], (unsigned char)i);
			snprintf(path, sizeof(path), "/p%zu", perm[i]);
			add(stream, path, sizes[perm[i]], (unsigned char)perm[i]);
			/* now and then a record that failed otherwise */
			if (rand_r(&seed) % 7 == 0) {
				snprintf(path, sizeof(path), "/q%zu", i);
				assert_int_equal(rv_dbset_add_failed(stream, path,
					strlen(path), "over"), 0);
				assert_int_equal(rv_dbset_add_failed(once, path,
					strlen(path), "over"), 0);
				assert_int_equal(rv_dbpath_dropper_add(&d,
					stream->n - 2, NULL), 0);
				assert_int_equal(rv_dbpath_dropper_add(&d,
					stream->n - 1, NULL), 0);
			} else {
				assert_int_equal(rv_dbpath_dropper_add(&d,
					stream->n - 1, NULL), 0);
			}
			assert_true(stream->bytes <= max);
		}
		assert_int_equal(rv_dbpath_dropper_add(&d, stream->n, NULL), RV_EINVAL);
		rv_dbpath_dropper_dispose(&d);
		rv_dbpath_dropper_dispose(&d);
		assert_int_equal(rv_dbpath_drop_largest(once, max, "over", NULL), 0);
		canon(&a, once);
		canon(&b, stream);
		if (a.len != b.len || memcmp(a.ptr, b.ptr, a.len))
			fail_msg("round %u: the dropper differs from once", round);
		rv_buf_dispose(&a);
		rv_buf_dispose(&b);
		rv_dbset_free(once);
		rv_dbset_free(stream);
	}
}

/* 200,000 records: dropping is O(n log n) in record comparisons, one
 * record at a time (the walker) and all at once (rv_dbpath_drop_largest,
 * which before took a scan of every record per drop: 2e10 comparisons
 * here, minutes instead of a fraction of a second). */
#define MANY 200000u

static void test_drop_complexity(void **state)
{
	rv_dbpath_dropper d;
	rv_dbset *s, *t;
	uint64_t bound, total;
	char path[32];
	size_t i, n;
	unsigned seed = 4242;
	unsigned char data[64];

	(void)state;
	memset(data, 'x', sizeof(data));
	/* log2(200000) < 18: a heap costs at most ~2 log n per push/pop */
	bound = (uint64_t)MANY * 2 * 18 * 2;
	assert_int_equal(rv_dbset_new(&s), 0);
	assert_int_equal(rv_dbset_new(&t), 0);
	/* streaming: the cap is half of what comes, so about every other
	 * add drops one */
	total = (uint64_t)MANY * 32 / 2;
	assert_int_equal(rv_dbpath_dropper_init(&d, s, total, NULL), 0);
	for (i = 0; i < MANY; i++) {
		size_t size = 1 + (size_t)(rand_r(&seed) % 63);

		snprintf(path, sizeof(path), "/n%07zu", i);
		assert_int_equal(rv_dbset_add(s, path, strlen(path), data, size), 0);
		assert_int_equal(rv_dbset_add(t, path, strlen(path), data, size), 0);
		assert_int_equal(rv_dbpath_dropper_add(&d, s->n - 1, NULL), 0);
	}
	assert_true(s->bytes <= total);
	assert_true(s->failed > MANY / 4);
	if (d.compares > bound)
		fail_msg("streaming: %llu comparisons for %u records",
			(unsigned long long)d.compares, MANY);
	rv_dbpath_dropper_dispose(&d);
	/* all at once: the same set */
	assert_int_equal(rv_dbpath_dropper_init(&d, t, total, "dropped: over the "
		"probe's limit of 3200000 bytes for all package databases"), 0);
	assert_int_equal(rv_dbpath_dropper_fit(&d, &n), 0);
	assert_int_equal(n, s->failed);
	if (d.compares > bound)
		fail_msg("once: %llu comparisons for %u records",
			(unsigned long long)d.compares, MANY);
	rv_dbpath_dropper_dispose(&d);
	for (i = 0; i < MANY; i++)
		assert_int_equal(!!s->files[i].error, !!t->files[i].error);
	rv_dbset_free(t);
	/* rv_dbpath_drop_largest itself: half of 200,000 records dropped in
	 * one call (the quadratic scan would not end within the test's time) */
	assert_int_equal(rv_dbset_new(&t), 0);
	for (i = 0; i < MANY; i++) {
		snprintf(path, sizeof(path), "/m%07zu", i);
		assert_int_equal(rv_dbset_add(t, path, strlen(path), data, 32), 0);
	}
	assert_int_equal(rv_dbpath_drop_largest(t, (uint64_t)MANY * 16, "why", &n), 0);
	assert_int_equal(n, MANY / 2);
	/* equal sizes: the greater paths went first */
	assert_null(t->files[MANY / 2 - 1].error);
	assert_non_null(t->files[MANY / 2].error);
	rv_dbset_free(t);
	rv_dbset_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_dir_rule),
		cmocka_unit_test(test_drop),
		cmocka_unit_test(test_drop_largest_order),
		cmocka_unit_test(test_drop_streaming_is_order_free),
		cmocka_unit_test(test_dropper_is_order_free),
		cmocka_unit_test(test_drop_complexity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
