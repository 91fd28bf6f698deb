/* test_util.c - the small util modules: base64, span, clock, buf caps */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/base64.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/span.h"

/* An input and the bytes it decodes to. */
struct b64_case {
	const char *in, *out;
};

/* Each case decodes, in mode, to its bytes, appended to what was there. */
static void all_decode(const struct b64_case *cases, size_t n, int mode)
{
	rv_buf b = RV_BUF_INIT(1024);
	size_t i;

	for (i = 0; i < n; i++) {
		rv_buf_reset(&b);
		assert_int_equal(rv_buf_puts(&b, "keep"), 0);
		if (rv_base64_decode(&b, cases[i].in, strlen(cases[i].in), mode) < 0)
			fail_msg("mode %d, case %zu: %s", mode, i, rv_error_last());
		assert_int_equal(b.len, 4 + strlen(cases[i].out));
		assert_memory_equal(b.ptr + 4, cases[i].out, b.len - 4);
		assert_int_equal(b.ptr[b.len], '\0');
	}
	rv_buf_dispose(&b);
}

static void test_base64_lenient_valid(void **state)
{
	static const struct b64_case cases[] = {
		{ "", "" },
		{ "Zg==", "f" },
		{ "Zg", "f" },               /* padding optional */
		{ "Zm8=", "fo" },
		{ "Zm9v", "foo" },
		{ "Zm9vYmFy", "foobar" },
		{ "Zm9v\nYmFy\r\n", "foobar" }, /* wrapped PEM-style */
		{ " Zm9vYg == ", "foob" },
	};

	(void)state;
	all_decode(cases, sizeof(cases) / sizeof(cases[0]), RV_BASE64_LENIENT);
}

/* Each of bad[0..n) is RV_EFORMAT in mode: nothing appended, and the
 * text (a secret, perhaps) not in the message. */
static void all_refused(const char *const *bad, size_t n, int mode)
{
	rv_buf b = RV_BUF_INIT(1024);
	size_t i;

	for (i = 0; i < n; i++) {
		assert_int_equal(rv_buf_puts(&b, "keep"), 0);
		if (rv_base64_decode(&b, bad[i], strlen(bad[i]), mode) != RV_EFORMAT)
			fail_msg("mode %d, case %zu accepted: %s", mode, i, bad[i]);
		assert_string_equal(b.ptr, "keep");
		assert_int_equal(b.len, 4);
		assert_null(strstr(rv_error_last(), bad[i]));
		rv_buf_reset(&b);
	}
	rv_buf_dispose(&b);
}

static void test_base64_lenient_invalid(void **state)
{
	static const char *bad[] = {
		"Zm9v!", "Zg=v", "Z", "Zm9vY", "Zg===", "Zm9-", "Zm9_", "Zm\x01v", /* URL-safe: no */
	};

	(void)state;
	all_refused(bad, sizeof(bad) / sizeof(bad[0]), RV_BASE64_LENIENT);
}

static void test_base64_cap(void **state)
{
	rv_buf b = RV_BUF_INIT(2);

	(void)state;
	assert_int_equal(rv_base64_decode(&b, "Zm9v", 4, RV_BASE64_LENIENT), RV_ETOOBIG);
	assert_int_equal(b.len, 0);
	assert_int_equal(rv_base64_decode(&b, "Zm9v", 4, RV_BASE64_STRICT), RV_ETOOBIG);
	assert_int_equal(b.len, 0);
	assert_int_equal(rv_base64_decode(&b, "Zm8=", 4, RV_BASE64_STRICT), 0);
	assert_int_equal(b.len, 2);
	assert_int_equal(rv_base64_decode(&b, "Zm9v", 4, 7), RV_EINVAL);
	rv_buf_dispose(&b);
}

static void test_base64_strict_valid(void **state)
{
	static const struct b64_case cases[] = {
		{ "", "" },
		{ "Zg==", "f" },
		{ "Zm8=", "fo" },
		{ "Zm9v", "foo" },
		{ "Zm9vYmFy", "foobar" },
		{ "YWxpY2U6cHc6d2l0aDpjb2xvbnM=", "alice:pw:with:colons" },
		{ "+/+/", "\xfb\xff\xbf" },
	};

	(void)state;
	all_decode(cases, sizeof(cases) / sizeof(cases[0]), RV_BASE64_STRICT);
}

static void test_base64_strict_invalid(void **state)
{
	static const char *bad[] = {
		"Zm9-",          /* URL-safe alphabet */
		"Zm9_",
		"-_-_",
		"Zg",            /* padding required */
		"Zm8",
		"Zm9vY",
		"Zm9v\n",        /* no whitespace */
		" Zm9v",
		"Zm 9v",
		"Zg==\r\n",
		"Zg=v",          /* padding only at the end */
		"Zg==Zg==",
		"====",
		"Z===",
		"Zh==",          /* unused low bits not zero */
		"Zm9=",
		"Zm9v!!!!",
		"Zm\x01v",
	};

	(void)state;
	all_refused(bad, sizeof(bad) / sizeof(bad[0]), RV_BASE64_STRICT);
}

/* decode_exact: the column of the first bad character. */
static void test_base64_exact_columns(void **state)
{
	unsigned char out[8];

	(void)state;
	assert_int_equal(rv_base64_decode_exact(out, "Zm9vYg==", 8, 4), 0);
	assert_memory_equal(out, "foob", 4);
	assert_int_equal(rv_base64_decode_exact(out, "Zm9vYg==", 8, 7), 9);  /* length */
	assert_int_equal(rv_base64_decode_exact(out, "Zm9vYg==", 8, 5), 7);  /* "=" as data */
	assert_int_equal(rv_base64_decode_exact(out, "Zm9-Yg==", 8, 4), 4);
	assert_int_equal(rv_base64_decode_exact(out, "Zm9vYh==", 8, 4), 6);  /* low bits */
	assert_int_equal(rv_base64_decode_exact(out, "Zm9vYg=x", 8, 4), 8);
	assert_int_equal(rv_base64_decode_exact(out, "", 0, 0), 0);
}

static void test_span_trim_dup(void **state)
{
	rv_span s = rv_span_trim(" \tvalue x \r", 11);
	char *d = rv_span_dup(s);

	(void)state;
	assert_string_equal(d, "value x");
	free(d);
	s = rv_span_trim("   ", 3);
	assert_int_equal(s.n, 0);
	d = rv_span_dup(s);
	assert_string_equal(d, "");
	free(d);
}

static void test_clock(void **state)
{
	char t[RV_TIME_ISO_LEN];
	long a = rv_clock_ms(), b;

	(void)state;
	rv_clock_iso(t, 0);
	assert_string_equal(t, "1970-01-01T00:00:00Z");
	rv_clock_iso(t, 1763816400);
	assert_string_equal(t, "2025-11-22T13:00:00Z");
	b = rv_clock_ms();
	assert_true(b >= a);
}

static void test_buf_cap_and_error_prefix(void **state)
{
	rv_buf b = RV_BUF_INIT(4);

	(void)state;
	assert_int_equal(rv_buf_puts(&b, "1234"), 0);
	assert_int_equal(rv_buf_putc(&b, '5'), RV_ETOOBIG);
	assert_string_equal(b.ptr, "1234");
	rv_buf_dispose(&b);
	rv_error_set(RV_EIO, "cannot read '%s'", "/x");
	assert_int_equal(rv_error_prefix(RV_EIO, "config '%s'", "/c"), RV_EIO);
	assert_string_equal(rv_error_last(), "config '/c': cannot read '/x'");
	assert_string_equal(rv_errno_name(13), "EACCES");
	assert_int_equal(rv_errno_from_name("ENOENT"), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_lenient_valid),
		cmocka_unit_test(test_base64_lenient_invalid),
		cmocka_unit_test(test_base64_strict_valid),
		cmocka_unit_test(test_base64_strict_invalid),
		cmocka_unit_test(test_base64_exact_columns),
		cmocka_unit_test(test_base64_cap),
		cmocka_unit_test(test_span_trim_dup),
		cmocka_unit_test(test_clock),
		cmocka_unit_test(test_buf_cap_and_error_prefix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
