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

static void test_base64_valid(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "", "" },
		{ "Zg==", "f" },
		{ "Zg", "f" },               /* padding optional */
		{ "Zm8=", "fo" },
		{ "Zm9v", "foo" },
		{ "Zm9vYmFy", "foobar" },
		{ "Zm9v\nYmFy\r\n", "foobar" }, /* wrapped PEM-style */
		{ " Zm9vYg == ", "foob" },
	};
	rv_buf b = RV_BUF_INIT(1024);
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rv_buf_reset(&b);
		if (rv_base64_decode(&b, cases[i].in, strlen(cases[i].in)) < 0)
			fail_msg("case %zu: %s", i, rv_error_last());
		assert_int_equal(b.len, strlen(cases[i].out));
		assert_memory_equal(b.len ? b.ptr : "", cases[i].out, b.len);
	}
	rv_buf_dispose(&b);
}

static void test_base64_invalid(void **state)
{
	static const char *bad[] = {
		"Zm9v!", "Zg=v", "Z", "Zm9vY", "Zg===", "Zm9-", "Zm9_", "Zm\x01v",
	};
	rv_buf b = RV_BUF_INIT(1024);
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(rv_buf_puts(&b, "keep"), 0);
		if (rv_base64_decode(&b, bad[i], strlen(bad[i])) != RV_EFORMAT)
			fail_msg("case %zu accepted: %s", i, bad[i]);
		/* nothing appended on error */
		assert_string_equal(b.ptr, "keep");
		rv_buf_reset(&b);
	}
	rv_buf_dispose(&b);
}

static void test_base64_cap(void **state)
{
	rv_buf b = RV_BUF_INIT(2);

	(void)state;
	assert_int_equal(rv_base64_decode(&b, "Zm9v", 4), RV_ETOOBIG);
	assert_int_equal(b.len, 0);
	rv_buf_dispose(&b);
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
		cmocka_unit_test(test_base64_valid),
		cmocka_unit_test(test_base64_invalid),
		cmocka_unit_test(test_base64_cap),
		cmocka_unit_test(test_span_trim_dup),
		cmocka_unit_test(test_clock),
		cmocka_unit_test(test_buf_cap_and_error_prefix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
