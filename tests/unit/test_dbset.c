/* test_dbset.c - the package database set: canonical form, digest, strict parse */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/dbset.h"
#include "util/error.h"
#include "util/banned.h"

#define ADD(s, p, d) rv_dbset_add((s), (p), strlen(p), (d), strlen(d))

static rv_dbset *sample(void)
{
	rv_dbset *s;

	assert_int_equal(rv_dbset_new(&s), 0);
	assert_int_equal(ADD(s, "/var/lib/dpkg/status", "Package: a\nVersion: 1\n\n"), 0);
	assert_int_equal(ADD(s, "/etc/os-release", "ID=debian\n"), 0);
	assert_int_equal(rv_dbset_add_failed(s, "/app/node_modules/x y/package.json", 34,
		"larger than the limit of 4194304 bytes"), 0);
	assert_int_equal(rv_dbset_add(s, "/empty", 6, NULL, 0), 0);
	assert_int_equal(rv_dbset_sort(s), 0);
	return s;
}

static void test_canonical_literal(void **state)
{
	static const char want[] =
		"rv-dbset 1 files=4 failed=1 bytes=33\n"
		"fail /app/node_modules/x\\x20y/package.json larger than the limit of 4194304 bytes\n"
		"file 0 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 /empty\n\n"
		"file 10 374b6b0ce4fc9819fd0d5616c7d371cc2d45a5a9b759af0e84315bf26a12c4f5 /etc/os-release\n"
		"ID=debian\n\n"
		"file 23 ";
	rv_dbset *s = sample(), *back = NULL;
	rv_buf b = RV_BUF_INIT(1 << 20), b2 = RV_BUF_INIT(1 << 20);
	unsigned char d1[RV_SHA256_LEN], d2[RV_SHA256_LEN];

	(void)state;
	assert_int_equal(rv_dbset_serialize(&b, s), 0);
	assert_true(b.len > sizeof(want) - 1);
	assert_memory_equal(b.ptr, want, sizeof(want) - 1);
	/* the digest is the sha256 of exactly these bytes */
	assert_int_equal(rv_dbset_digest(d1, s), 0);
	assert_int_equal(rv_sha256_buf(d2, b.ptr, b.len), 0);
	assert_memory_equal(d1, d2, RV_SHA256_LEN);
	/* parse is the inverse */
	assert_int_equal(rv_dbset_parse(&back, b.ptr, b.len), 0);
	assert_int_equal(back->n, 4);
	assert_int_equal(back->failed, 1);
	assert_int_equal(rv_dbset_serialize(&b2, back), 0);
	assert_int_equal(b.len, b2.len);
	assert_memory_equal(b.ptr, b2.ptr, b.len);
	assert_non_null(rv_dbset_find(back, "/etc/os-release", 15));
	assert_null(rv_dbset_find(back, "/etc/os", 7));
	assert_string_equal(rv_dbset_find(back, "/app/node_modules/x y/package.json", 34)->error,
		"larger than the limit of 4194304 bytes");
	rv_buf_dispose(&b);
	rv_buf_dispose(&b2);
	rv_dbset_free(back);
	rv_dbset_free(s);
}

static void test_order_does_not_matter(void **state)
{
	rv_dbset *a, *b;
	unsigned char da[RV_SHA256_LEN], db[RV_SHA256_LEN];

	(void)state;
	assert_int_equal(rv_dbset_new(&a), 0);
	assert_int_equal(rv_dbset_new(&b), 0);
	assert_int_equal(ADD(a, "/a", "1"), 0);
	assert_int_equal(ADD(a, "/b", "2"), 0);
	assert_int_equal(ADD(b, "/b", "2"), 0);
	assert_int_equal(ADD(b, "/a", "1"), 0);
	/* not sorted yet: refused rather than a wrong digest */
	assert_int_equal(rv_dbset_digest(da, b), RV_EINVAL);
	assert_int_equal(rv_dbset_sort(a), 0);
	assert_int_equal(rv_dbset_sort(b), 0);
	assert_int_equal(rv_dbset_digest(da, a), 0);
	assert_int_equal(rv_dbset_digest(db, b), 0);
	assert_memory_equal(da, db, RV_SHA256_LEN);
	/* one byte changes the digest */
	rv_dbset_free(b);
	assert_int_equal(rv_dbset_new(&b), 0);
	assert_int_equal(ADD(b, "/a", "1"), 0);
	assert_int_equal(ADD(b, "/b", "3"), 0);
	assert_int_equal(rv_dbset_sort(b), 0);
	assert_int_equal(rv_dbset_digest(db, b), 0);
	assert_memory_not_equal(da, db, RV_SHA256_LEN);
	rv_dbset_free(a);
	rv_dbset_free(b);
}

static void test_add_refuses(void **state)
{
	rv_dbset *s;

	(void)state;
	assert_int_equal(rv_dbset_new(&s), 0);
	assert_int_equal(ADD(s, "relative", "x"), RV_EINVAL);
	assert_int_equal(ADD(s, "/a/../b", "x"), RV_EINVAL);
	assert_int_equal(ADD(s, "/a/", "x"), RV_EINVAL);
	assert_int_equal(ADD(s, "/a", "x"), 0);
	assert_int_equal(rv_dbset_add_failed(s, "/a", 2, "again"), 0);
	assert_int_equal(rv_dbset_sort(s), RV_EINVAL);
	assert_non_null(strstr(rv_error_last(), "'/a' added twice"));
	rv_dbset_free(s);
}

static void test_failed_message_sanitised(void **state)
{
	rv_dbset *s, *back;
	rv_buf b = RV_BUF_INIT(1 << 20);
	char big[2000];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[RV_DBSET_MAX_MESSAGE - 1] = ' ';  /* the cut leaves a trailing space */
	assert_int_equal(rv_dbset_new(&s), 0);
	assert_int_equal(rv_dbset_add_failed(s, "/a", 2, "  bad\nline\x01\x80  "), 0);
	assert_int_equal(rv_dbset_add_failed(s, "/b", 2, "   "), 0);
	assert_int_equal(rv_dbset_add_failed(s, "/c", 2, big), 0);
	assert_string_equal(s->files[0].error, "bad?line??");
	assert_string_equal(s->files[1].error, "unreadable");
	assert_int_equal(strlen(s->files[2].error), RV_DBSET_MAX_MESSAGE - 1);
	assert_int_equal(rv_dbset_sort(s), 0);
	assert_int_equal(rv_dbset_serialize(&b, s), 0);
	assert_int_equal(rv_dbset_parse(&back, b.ptr, b.len), 0);
	assert_string_equal(back->files[2].error, s->files[2].error);
	rv_dbset_free(back);
	rv_dbset_free(s);
	rv_buf_dispose(&b);
}

/* Every way of breaking a good serialization is refused with its code. */
static void test_parse_refuses(void **state)
{
	static const struct { const char *text; int rc; const char *msg; } bad[] = {
		{ "", RV_EFORMAT, "no 'rv-dbset' header" },
		{ "rv-dbset 2 files=0 failed=0 bytes=0\n", RV_EUNSUPPORTED, "version 2" },
		{ "rv-dbset 1 files=0 failed=0 bytes=0", RV_EFORMAT, "malformed header" },
		{ "rv-dbset 1 files=00 failed=0 bytes=0\n", RV_EFORMAT, "malformed header" },
		{ "rv-dbset 1 files=1 failed=2 bytes=0\n", RV_ETOOBIG, "over the limits" },
		{ "rv-dbset 1 files=0 failed=0 bytes=0\nx", RV_EFORMAT, "neither" },
		{ "rv-dbset 1 files=1 failed=0 bytes=1\nfile 1 "
		  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 /a\nx\n",
		  RV_EVERIFY, "/a: contents do not match" },
		{ "rv-dbset 1 files=1 failed=0 bytes=2\nfile 2 "
		  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 /a\nx\n",
		  RV_EFORMAT, "truncated" },
		{ "rv-dbset 1 files=1 failed=0 bytes=0\nfile 0 "
		  "E3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 /a\n\n",
		  RV_EFORMAT, "record 1: malformed" },
		{ "rv-dbset 1 files=1 failed=1 bytes=0\nfail /a \n", RV_EFORMAT, "bad message" },
		{ "rv-dbset 1 files=1 failed=1 bytes=0\nfail a why\n", RV_EFORMAT, "record 1: malformed" },
		{ "rv-dbset 1 files=2 failed=2 bytes=0\nfail /b why\nfail /a why\n",
		  RV_EFORMAT, "out of order" },
		{ "rv-dbset 1 files=2 failed=2 bytes=0\nfail /a why\nfail /a why\n",
		  RV_EFORMAT, "out of order or repeated" },
		{ "rv-dbset 1 files=2 failed=1 bytes=0\nfail /a why\n", RV_EFORMAT,
		  "where the header says" },
		{ "rv-dbset 1 files=1 failed=1 bytes=0\nfail /a why\nfail /b why\n", RV_EFORMAT,
		  "more records" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rv_dbset *s = (rv_dbset *)1;
		int rc = rv_dbset_parse(&s, bad[i].text, strlen(bad[i].text));

		if (rc != bad[i].rc || !strstr(rv_error_last(), bad[i].msg))
			fail_msg("case %zu: rc %d (want %d), message '%s' (want '%s')", i, rc,
				bad[i].rc, rv_error_last(), bad[i].msg);
		assert_null(s);
	}
}

/* Every prefix of a good serialization is refused: nothing is lost silently. */
static void test_parse_prefixes(void **state)
{
	rv_dbset *s = sample(), *back;
	rv_buf b = RV_BUF_INIT(1 << 20);
	size_t i;

	(void)state;
	assert_int_equal(rv_dbset_serialize(&b, s), 0);
	for (i = 0; i < b.len; i++) {
		assert_true(rv_dbset_parse(&back, b.ptr, i) < 0);
		assert_null(back);
	}
	assert_int_equal(rv_dbset_parse(&back, b.ptr, b.len), 0);
	rv_dbset_free(back);
	rv_dbset_free(s);
	rv_buf_dispose(&b);
}

/* The comparable digest is the digest of the set without its mount records. */
static void test_comparable_digest(void **state)
{
	rv_dbset *a, *b;
	unsigned char da[RV_SHA256_LEN], db[RV_SHA256_LEN], full[RV_SHA256_LEN];

	(void)state;
	assert_int_equal(rv_dbset_new(&a), 0);
	assert_int_equal(rv_dbset_new(&b), 0);
	assert_int_equal(ADD(a, "/var/lib/dpkg/status", "Package: a\n"), 0);
	assert_int_equal(rv_dbset_add_failed(a, "/var/run/secrets/kubernetes.io/serviceaccount", 45,
		RV_DBSET_MOUNT_PREFIX ", not descended"), 0);
	assert_int_equal(rv_dbset_add_failed(a, "/big", 4, "larger than the limit of 1 bytes"), 0);
	assert_int_equal(ADD(b, "/var/lib/dpkg/status", "Package: a\n"), 0);
	assert_int_equal(rv_dbset_add_failed(b, "/big", 4, "larger than the limit of 1 bytes"), 0);
	assert_int_equal(rv_dbset_sort(a), 0);
	assert_int_equal(rv_dbset_sort(b), 0);
	assert_true(rv_dbset_is_mount(&a->files[2]));
	assert_false(rv_dbset_is_mount(&a->files[0]));
	assert_int_equal(rv_dbset_digest_comparable(da, a), 0);
	assert_int_equal(rv_dbset_digest(db, b), 0);
	assert_memory_equal(da, db, RV_SHA256_LEN);
	assert_int_equal(rv_dbset_digest_comparable(db, b), 0);
	assert_memory_equal(da, db, RV_SHA256_LEN);
	assert_int_equal(rv_dbset_digest(full, a), 0);
	assert_memory_not_equal(full, da, RV_SHA256_LEN);
	rv_dbset_free(a);
	rv_dbset_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canonical_literal),
		cmocka_unit_test(test_order_does_not_matter),
		cmocka_unit_test(test_add_refuses),
		cmocka_unit_test(test_failed_message_sanitised),
		cmocka_unit_test(test_parse_refuses),
		cmocka_unit_test(test_parse_prefixes),
		cmocka_unit_test(test_comparable_digest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
