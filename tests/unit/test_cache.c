/* test_cache.c - the on-disk cache: round trip, corruption, kinds, LRU eviction */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "sources/oci/cache.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/sha256.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/rv-test-cache.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* The file of kind/key, as cache.h documents it. */
static void entry_file(char *out, size_t n, const char *kind, const char *key)
{
	unsigned char d[RV_SHA256_LEN];
	char hex[RV_SHA256_HEX];

	assert_int_equal(rv_sha256_buf(d, key, strlen(key)), 0);
	rv_sha256_to_hex(hex, d);
	snprintf(out, n, "%s/%s/%s", dir, kind, hex);
}

static void test_round_trip(void **state)
{
	rv_cache *c;
	rv_buf b = RV_BUF_INIT(1 << 20);
	rv_cache_stats st;
	int found;

	(void)state;
	assert_int_equal(rv_cache_open(&c, dir, 0), 0);
	assert_int_equal(rv_cache_get(c, "layers", "k1", &b, &found), 0);
	assert_int_equal(found, 0);
	assert_int_equal(rv_cache_put(c, "layers", "k1", "hello\0world", 11), 0);
	assert_int_equal(rv_cache_get(c, "layers", "k1", &b, &found), 0);
	assert_int_equal(found, 1);
	assert_int_equal(b.len, 11);
	assert_memory_equal(b.ptr, "hello\0world", 11);
	/* same key, other kind: a miss */
	assert_int_equal(rv_cache_get(c, "images", "k1", &b, &found), 0);
	assert_int_equal(found, 0);
	/* replace */
	assert_int_equal(rv_cache_put(c, "layers", "k1", "", 0), 0);
	assert_int_equal(rv_cache_get(c, "layers", "k1", &b, &found), 0);
	assert_int_equal(found, 1);
	assert_int_equal(b.len, 0);
	assert_int_equal(rv_cache_put(c, "../x", "k", "x", 1), RV_EINVAL);
	assert_int_equal(rv_cache_put(c, "", "k", "x", 1), RV_EINVAL);
	rv_cache_stats_get(&st, c);
	assert_int_equal(st.hits, 2);
	assert_int_equal(st.misses, 2);
	assert_int_equal(st.writes, 2);
	rv_cache_close(c);
	rv_buf_dispose(&b);
}

static void test_corruption(void **state)
{
	rv_cache *c;
	rv_buf b = RV_BUF_INIT(1 << 20);
	rv_cache_stats st;
	char path[256];
	FILE *f;
	long size;
	int found, i;

	(void)state;
	assert_int_equal(rv_cache_open(&c, dir, 0), 0);
	entry_file(path, sizeof(path), "layers", "k2");
	for (i = 0; i < 3; i++) {
		assert_int_equal(rv_cache_put(c, "layers", "k2", "payload bytes", 13), 0);
		f = fopen(path, "r+b");
		assert_non_null(f);
		fseek(f, 0, SEEK_END);
		size = ftell(f);
		if (i == 0) {        /* flip a payload byte */
			fseek(f, size - 40, SEEK_SET);
			fputc('X', f);
		} else if (i == 1) { /* truncate */
			assert_int_equal(ftruncate(fileno(f), size / 2), 0);
		} else {             /* another key's header */
			fseek(f, 12, SEEK_SET);
			fputc('#', f);
		}
		fclose(f);
		assert_int_equal(rv_cache_get(c, "layers", "k2", &b, &found), 0);
		assert_int_equal(found, 0);
		assert_int_equal(access(path, F_OK), -1); /* removed */
	}
	rv_cache_stats_get(&st, c);
	assert_int_equal(st.corrupt, 3);
	rv_cache_close(c);
	rv_buf_dispose(&b);
}

static void test_evict_lru(void **state)
{
	rv_cache *c;
	rv_buf b = RV_BUF_INIT(1 << 20);
	char payload[1000], path[256], key[16];
	struct timespec ts[2];
	rv_cache_stats st;
	int found, i;

	(void)state;
	memset(payload, 'p', sizeof(payload));
	assert_int_equal(rv_cache_open(&c, dir, 3500), 0);
	for (i = 0; i < 5; i++) {
		snprintf(key, sizeof(key), "e%d", i);
		assert_int_equal(rv_cache_put(c, "layers", key, payload, sizeof(payload)), 0);
		/* make the ages distinct: e0 oldest */
		entry_file(path, sizeof(path), "layers", key);
		ts[0].tv_sec = ts[1].tv_sec = 1000000 + i * 10;
		ts[0].tv_nsec = ts[1].tv_nsec = 0;
		assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
	}
	/* use e0: it becomes the newest */
	assert_int_equal(rv_cache_get(c, "layers", "e0", &b, &found), 0);
	assert_int_equal(found, 1);
	assert_int_equal(rv_cache_evict(c), 0);
	rv_cache_stats_get(&st, c);
	assert_int_equal(st.evicted, 2);
	for (i = 0; i < 5; i++) {
		snprintf(key, sizeof(key), "e%d", i);
		assert_int_equal(rv_cache_get(c, "layers", key, &b, &found), 0);
		assert_int_equal(found, i == 1 || i == 2 ? 0 : 1);
	}
	rv_cache_close(c);
	rv_buf_dispose(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corruption, setup, teardown),
		cmocka_unit_test_setup_teardown(test_evict_lru, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
