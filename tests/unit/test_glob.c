/* test_glob.c - path globs: every feature, odd bytes, hostile patterns */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "core/glob.h"
#include "util/error.h"

#define M(pat, path) rv_glob_match((pat), (path), strlen(path))
#define YES(pat, path) assert_int_equal(M(pat, path), 1)
#define NO(pat, path) assert_int_equal(M(pat, path), 0)

static void test_literal_anchored(void **state)
{
	(void)state;
	YES("/app/x", "/app/x");
	NO("/app/x", "/app/xy");
	NO("/app/x", "/app");
	NO("/app/x", "/ap");
	NO("/app/x", "/other/app/x");
	YES("/", "/");
}

static void test_directory_covers_below(void **state)
{
	(void)state;
	YES("/app", "/app/x");
	YES("/app", "/app/x/y/z");
	NO("/app", "/apple");
	NO("/app", "/apple/x");
	YES("/app/*.d", "/app/x.d/conf");
	NO("/app/*.log", "/app/d/a.log");
	/* A trailing '/' is ignored. */
	YES("/app/", "/app");
	YES("/app/", "/app/x");
	NO("/app/", "/apple");
	YES("/", "/anything/at/all");
}

static void test_star(void **state)
{
	(void)state;
	YES("/app/*.log", "/app/a.log");
	YES("/app/*.log", "/app/.log");
	NO("/app/*.log", "/app/a.log.1");
	NO("/a*c", "/ab/c");
	YES("/a*c", "/abbbc");
	YES("/a*c", "/ac");
	YES("/*", "/x");
	YES("/*/b", "/a/b");
	NO("/*/b", "/a/x/b");
	YES("/a*b*c", "/axxbyyc");
	NO("/a*b*c", "/axxbyy");
	/* "**" inside a component is a plain star. */
	YES("/a**b", "/axxb");
	NO("/a**b", "/ax/b");
}

static void test_globstar(void **state)
{
	(void)state;
	YES("/app/**", "/app/a");
	YES("/app/**", "/app/a/b/c");
	NO("/app/**", "/app");
	NO("/app/**", "/apple/a");
	YES("/app/**/x", "/app/x");
	YES("/app/**/x", "/app/a/x");
	YES("/app/**/x", "/app/a/b/c/x");
	NO("/app/**/x", "/app/ax");
	NO("/app/**/x", "/app/a/bx");
	YES("**/x", "/x");
	YES("**/x", "/a/b/x");
	NO("**/x", "/a/bx");
	YES("/**", "/a/b");
	YES("**", "/a/b");
	YES("/a/**/b/**/c", "/a/b/c");
	YES("/a/**/b/**/c", "/a/x/b/y/z/c");
	NO("/a/**/b/**/c", "/a/x/y/c");
	YES("/**/*.so", "/usr/lib/x.so");
	YES("/**/*.so", "/x.so");
}

static void test_unanchored(void **state)
{
	(void)state;
	YES("*.log", "/a.log");
	YES("*.log", "/d/e/a.log");
	NO("*.log", "/d/e/a.log1");
	YES("x", "/x");
	YES("x", "/a/x");
	YES("x", "/a/x/y");
	NO("x", "/ax");
	NO("x", "/xa/b");
	YES("a/b", "/a/b");
	YES("a/b", "/z/a/b");
	YES("a/b", "/z/a/b/c");
	NO("a/b", "/za/b");
	YES("node_modules", "/app/node_modules/x/y");
	YES("__pycache__", "/usr/lib/python3/__pycache__/a.pyc");
}

static void test_question(void **state)
{
	(void)state;
	YES("/a?c", "/abc");
	NO("/a?c", "/a/c");
	NO("/a?c", "/ac");
	NO("/a?c", "/abbc");
	YES("/???", "/abc");
}

static void test_sets(void **state)
{
	(void)state;
	YES("/[abc]", "/b");
	NO("/[abc]", "/d");
	YES("/[a-c]x", "/bx");
	NO("/[a-c]x", "/dx");
	YES("/[!a]", "/b");
	NO("/[!a]", "/a");
	YES("/[^a]", "/b");
	NO("/[^a]", "/a");
	YES("/[]]", "/]");
	NO("/[]]", "/a");
	YES("/[!]]", "/a");
	NO("/[!]]", "/]");
	YES("/[a-]", "/-");
	YES("/[a-]", "/a");
	NO("/[a-]", "/b");
	YES("/[\\]]", "/]");
	YES("/[\\-a]", "/-");
	YES("/x[0-9][0-9]", "/x42");
	NO("/x[0-9][0-9]", "/x4a");
	/* A set never matches '/'. */
	NO("/a[/]b", "/a/b");
	NO("/a[!x]b", "/a/b");
	/* An unclosed '[' is literal in match (rv_glob_check rejects it). */
	YES("/a[b", "/a[b");
	NO("/a[b", "/ab");
}

static void test_escapes(void **state)
{
	(void)state;
	YES("/a\\*", "/a*");
	NO("/a\\*", "/ab");
	YES("/a\\?", "/a?");
	NO("/a\\?", "/ab");
	YES("/a\\[b]", "/a[b]");
	NO("/a\\[b]", "/ab");
	YES("/a\\\\b", "/a\\b");
	YES("/\\a", "/a");
}

static void test_odd_bytes(void **state)
{
	static const char nul_path[] = "/a\0b";

	(void)state;
	YES("/a\nb", "/a\nb");
	YES("/a?b", "/a\nb");
	YES("/a*", "/a\n\r\t\x01\x7f");
	YES("/*", "/\xff\xfe");
	YES("/?", "/\xff");
	YES("/[\x80-\xff]", "/\xc3");
	NO("/[\x80-\xff]", "/a");
	YES("/[!\x80-\xff]", "/a");
	YES("*.txt", "/caf\xc3\xa9/\xff\xfe.txt");
	YES("/back\\\\slash", "/back\\slash");
	YES("\xff", "/x/\xff/y");
	/* Paths are byte strings with a length: a NUL is just a byte. */
	assert_int_equal(rv_glob_match("/a?b", nul_path, sizeof(nul_path) - 1), 1);
	assert_int_equal(rv_glob_match("/a", nul_path, sizeof(nul_path) - 1), 0);
	assert_int_equal(rv_glob_match("/a*", nul_path, sizeof(nul_path) - 1), 1);
	/* Only path_len bytes count. */
	assert_int_equal(rv_glob_match("/ab", "/abc", 3), 1);
	assert_int_equal(rv_glob_match("/abc", "/abc", 3), 0);
}

static void test_match_any(void **state)
{
	const char *pats[] = { "/x", "*.log" };

	(void)state;
	assert_int_equal(rv_glob_match_any(pats, 2, "/a/b.log", 8), 1);
	assert_int_equal(rv_glob_match_any(pats, 2, "/x/y", 4), 1);
	assert_int_equal(rv_glob_match_any(pats, 2, "/y", 2), 0);
	assert_int_equal(rv_glob_match_any(pats, 0, "/x", 2), 0);
	assert_int_equal(rv_glob_match(NULL, "/x", 2), 0);
	assert_int_equal(rv_glob_match("", "/x", 2), 0);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Patterns that make naive backtracking exponential stay linear here. */
static void test_hostile(void **state)
{
	size_t n = 20000, i;
	char *path = malloc(n + 2), *pat = malloc(RV_GLOB_MAX_LEN + 2);
	double t0 = now();

	(void)state;
	assert_non_null(path);
	assert_non_null(pat);
	path[0] = '/';
	memset(path + 1, 'a', n);
	path[n + 1] = '\0';
	assert_int_equal(M("/*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", path), 0);
	assert_int_equal(M("/*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a", path), 1);
	/* A deep path with many globstars. */
	for (i = 0; i < n; i += 2)
		path[i] = '/';
	assert_int_equal(M("/**/a/**/a/**/a/**/a/**/a/**/a/**/a/**/b", path), 0);
	assert_int_equal(M("**/a/**/a/**/a/**/a/**/a/**/a/**/a/**/a", path), 1);
	/* The longest pattern allowed: all stars. */
	pat[0] = '/';
	for (i = 1; i < RV_GLOB_MAX_LEN; i += 2) {
		pat[i] = '*';
		pat[i + 1] = 'a';
	}
	pat[RV_GLOB_MAX_LEN] = '\0';
	pat[RV_GLOB_MAX_LEN - 1] = 'b';
	assert_int_equal(rv_glob_check(pat), 0);
	memset(path + 1, 'a', n);
	assert_int_equal(rv_glob_match(pat, path, 2000), 0);
	assert_true(now() - t0 < 20.0);
	/* One byte more is rejected, and matches nothing. */
	pat[RV_GLOB_MAX_LEN] = 'a';
	pat[RV_GLOB_MAX_LEN + 1] = '\0';
	assert_int_equal(rv_glob_check(pat), RV_EINVAL);
	assert_int_equal(rv_glob_match(pat, path, 2000), 0);
	free(path);
	free(pat);
}

static void check_bad(const char *pat, const char *what)
{
	assert_int_equal(rv_glob_check(pat), RV_EINVAL);
	assert_non_null(strstr(rv_error_last(), what));
}

static void test_check(void **state)
{
	(void)state;
	assert_int_equal(rv_glob_check("/app/**/*.log"), 0);
	assert_int_equal(rv_glob_check("[]]"), 0);
	assert_int_equal(rv_glob_check("[!]]"), 0);
	assert_int_equal(rv_glob_check("\\["), 0);
	assert_int_equal(rv_glob_check("a\\\\"), 0);
	assert_int_equal(rv_glob_check("[\\]]"), 0);
	check_bad("/a[bc", "glob '/a[bc' has an unclosed '['");
	check_bad("[]", "unclosed");
	check_bad("[!]", "unclosed");
	check_bad("/a\\", "glob '/a\\' ends in a lone '\\'");
	check_bad("", "empty");
	check_bad(NULL, "missing");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literal_anchored),
		cmocka_unit_test(test_directory_covers_below),
		cmocka_unit_test(test_star),
		cmocka_unit_test(test_globstar),
		cmocka_unit_test(test_unanchored),
		cmocka_unit_test(test_question),
		cmocka_unit_test(test_sets),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_odd_bytes),
		cmocka_unit_test(test_match_any),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
