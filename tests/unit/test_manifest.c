/* test_manifest.c - canonical form, escaping, parse/serialize, sha256sum view */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/manifest.h"
#include "util/error.h"

static void add(rv_manifest *m, const char *path, size_t plen, rv_ftype type,
	unsigned mode, const char *content)
{
	rv_manifest_entry e;

	memset(&e, 0, sizeof(e));
	e.path = (char *)path;
	e.path_len = plen;
	e.type = type;
	e.mode = mode;
	if (content) {
		e.size = strlen(content);
		e.has_digest = 1;
		assert_int_equal(rv_sha256_buf(e.digest, content, strlen(content)), 0);
	}
	assert_int_equal(rv_manifest_add(m, &e), 0);
}

static rv_manifest *sample(void)
{
	rv_manifest *m;

	assert_int_equal(rv_manifest_new(&m), 0);
	/* added out of order on purpose */
	add(m, "/app/b", 6, RV_FT_FILE, 0644, "b");
	add(m, "/app", 4, RV_FT_DIR, 0755, NULL);
	add(m, "/app/a b", 8, RV_FT_FILE, 04755, "a");
	add(m, "/app/n\nl", 8, RV_FT_FILE, 0600, "n");
	add(m, "/app/bs\\x", 9, RV_FT_FILE, 0600, "x");
	add(m, "/app/l", 6, RV_FT_SYMLINK, 0777, "/etc/passwd");
	add(m, "/app/\xff\xfe", 7, RV_FT_FILE, 0644, "");
	add(m, "/app/cfg", 8, RV_FT_MOUNT, 01777, NULL);
	assert_int_equal(rv_manifest_sort(m), 0);
	return m;
}

static void test_escape_roundtrip_all_bytes(void **state)
{
	rv_buf esc = RV_BUF_INIT(1 << 20), back = RV_BUF_INIT(1 << 20);
	char all[255];
	int i;

	(void)state;
	for (i = 1; i < 256; i++)
		all[i - 1] = (char)i;
	assert_int_equal(rv_manifest_escape(&esc, all, sizeof(all)), 0);
	assert_null(memchr(esc.ptr, ' ', esc.len));
	assert_null(memchr(esc.ptr, '\n', esc.len));
	assert_int_equal(rv_manifest_unescape(&back, esc.ptr, esc.len), 0);
	assert_int_equal(back.len, sizeof(all));
	assert_memory_equal(back.ptr, all, sizeof(all));
	rv_buf_dispose(&esc);
	rv_buf_dispose(&back);
}

static void test_unescape_rejects_noncanonical(void **state)
{
	rv_buf b = RV_BUF_INIT(1024);
	static const char *bad[] = {
		"a\\x41",   /* 'A' must be literal */
		"a\\x00",   /* NUL */
		"a\\x5c",   /* backslash must be \\\\ */
		"a\\xFF",   /* upper-case hex */
		"a\\x4",    /* short */
		"a\\q",     /* unknown escape */
		"a b",      /* raw space */
		"a\\",      /* trailing backslash */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(rv_manifest_unescape(&b, bad[i], strlen(bad[i])), RV_EFORMAT);
	rv_buf_dispose(&b);
}

static void test_serialize_parse_inverse(void **state)
{
	rv_manifest *m = sample(), *m2 = NULL;
	rv_buf a = RV_BUF_INIT(1 << 20), b = RV_BUF_INIT(1 << 20);
	unsigned char h1[32], h2[32], h3[32];

	(void)state;
	assert_int_equal(rv_manifest_serialize(&a, m), 0);
	assert_int_equal(rv_manifest_parse(&m2, a.ptr, a.len), 0);
	assert_int_equal(m2->count, m->count);
	assert_int_equal(rv_manifest_serialize(&b, m2), 0);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.ptr, b.ptr, a.len);
	assert_int_equal(rv_manifest_root_hash(h1, m), 0);
	assert_int_equal(rv_manifest_root_hash(h2, m2), 0);
	assert_int_equal(rv_sha256_buf(h3, a.ptr, a.len), 0);
	assert_memory_equal(h1, h2, 32);
	assert_memory_equal(h1, h3, 32);
	/* the first entry after the header is /app, mode and owner printed */
	assert_non_null(strstr(a.ptr, "rv-manifest 1\ndir 0755 0:0 0 - /app\n"));
	assert_non_null(strstr(a.ptr, "file 4755 0:0 1 "));
	assert_non_null(strstr(a.ptr, " /app/a\\x20b\n"));
	assert_non_null(strstr(a.ptr, " /app/n\\x0al\n"));
	assert_non_null(strstr(a.ptr, " /app/bs\\\\x\n"));
	assert_non_null(strstr(a.ptr, " /app/\\xff\\xfe\n"));
	assert_non_null(strstr(a.ptr, "mount 1777 0:0 0 - /app/cfg\n"));
	rv_manifest_free(m);
	rv_manifest_free(m2);
	rv_buf_dispose(&a);
	rv_buf_dispose(&b);
}

static void test_errors_and_elf_roundtrip(void **state)
{
	static const char text[] =
		"rv-manifest 1\n"
		"dir 0700 0:0 0 !EACCES /a\n"
		"elf 0755 1000:1000 4 3c9f2d8d8f2e0bc6f2e0b2ffd1b1d30e1dd5f6c3a0b2c4d6e8f0a1b2c3d4e5f6 /b\n"
		"file 0600 0:0 10 !EACCES /c\n"
		"unknown 0000 0:0 0 !ENOENT /d\n"
		"file 0600 0:0 10 !E200 /e\n";
	rv_manifest *m = NULL;
	rv_buf out = RV_BUF_INIT(4096);
	rv_manifest_stats st;

	(void)state;
	assert_int_equal(rv_manifest_parse(&m, text, strlen(text)), 0);
	assert_int_equal(m->count, 5);
	assert_int_equal(m->entries[0].err, 13);
	assert_int_equal(m->entries[1].elf, 1);
	assert_int_equal(m->entries[1].uid, 1000);
	rv_manifest_stats_get(&st, m);
	assert_int_equal(st.errors, 4);
	assert_int_equal(st.elves, 1);
	assert_int_equal(rv_manifest_serialize(&out, m), 0);
	assert_string_equal(out.ptr, text);
	rv_manifest_free(m);
	rv_buf_dispose(&out);
}

static void test_parse_rejects(void **state)
{
	static const char *bad[] = {
		"",
		"rv-manifest 2\n",
		"rv-manifest 1",                       /* ok header, but no newline */
		"rv-manifest 1\nfile 0644 0:0 0 - /a\n", /* file without digest */
		"rv-manifest 1\ndir 0755 0:0 0 - /b\ndir 0755 0:0 0 - /a\n", /* order */
		"rv-manifest 1\ndir 0755 0:0 0 - /a\ndir 0755 0:0 0 - /a\n", /* dup */
		"rv-manifest 1\ndir 755 0:0 0 - /a\n",
		"rv-manifest 1\ndir 0855 0:0 0 - /a\n",
		"rv-manifest 1\ndir 0755 00:0 0 - /a\n",
		"rv-manifest 1\ndir 0755 0:0 01 - /a\n",
		"rv-manifest 1\ndir 0755 0:0 1 - /a\n",  /* dir with a size */
		"rv-manifest 1\ndir 0755 4294967296:0 0 - /a\n",
		"rv-manifest 1\ndir 0755 0:0 0 - a\n",   /* relative */
		"rv-manifest 1\ndir 0755 0:0 0 - /a/\n",
		"rv-manifest 1\ndir 0755 0:0 0 - /a/../b\n",
		"rv-manifest 1\ndir 0755 0:0 0 - /a//b\n",
		"rv-manifest 1\ndir 0755 0:0 0 - /a\n\n",
		"rv-manifest 1\ndir 0755 0:0 0 - /a b\n",
		"rv-manifest 1\ndir 0755 0:0 0 -  /a\n",
		"rv-manifest 1\nfolder 0755 0:0 0 - /a\n",
		"rv-manifest 1\ndir 0755 0:0 0 !E13 /a\n",  /* has a name: EACCES */
		"rv-manifest 1\ndir 0755 0:0 0 !ENOPE /a\n",
		"rv-manifest 1\nunknown 0644 0:0 0 !ENOENT /a\n",
		"rv-manifest 1\nunknown 0000 0:0 0 - /a\n",
		"rv-manifest 1\nfile 0644 0:0 0 E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855 /a\n",
		"rv-manifest 1\ndir 0755 0:0 0 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 /a\n",
	};
	rv_manifest *m = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = rv_manifest_parse(&m, bad[i], strlen(bad[i]));

		if (rc != RV_EFORMAT)
			fail_msg("case %zu parsed (rc %d): %s", i, rc, bad[i]);
		assert_null(m);
		assert_true(strlen(rv_error_last()) > 0);
	}
}

static void test_error_names_line(void **state)
{
	static const char text[] =
		"rv-manifest 1\ndir 0755 0:0 0 - /a\ndir 0755 0:0 x - /b\n";
	rv_manifest *m = NULL;

	(void)state;
	assert_int_equal(rv_manifest_parse(&m, text, strlen(text)), RV_EFORMAT);
	assert_string_equal(rv_error_last(), "line 3: bad size");
}

static void test_sha256sum_view_gnu_escaping(void **state)
{
	rv_manifest *m;
	rv_buf out = RV_BUF_INIT(1 << 20);

	(void)state;
	assert_int_equal(rv_manifest_new(&m), 0);
	/* the contents and names of a tree checked by hand with GNU sha256sum 9.1 */
	add(m, "/t/a\\b", 6, RV_FT_FILE, 0644, "a");
	add(m, "/t/c\rr", 6, RV_FT_FILE, 0644, "c");
	add(m, "/t/n\nl", 6, RV_FT_FILE, 0644, "b");
	add(m, "/t/sp ace", 9, RV_FT_FILE, 0644, "d");
	add(m, "/t/x\xffy", 6, RV_FT_FILE, 0644, "e");
	add(m, "/t", 2, RV_FT_DIR, 0755, NULL);
	add(m, "/t/link", 7, RV_FT_SYMLINK, 0777, "a");
	add(m, "/tt", 3, RV_FT_FILE, 0644, "outside");
	assert_int_equal(rv_manifest_sort(m), 0);
	assert_int_equal(rv_manifest_sha256sum(&out, m, "/t"), 0);
	assert_string_equal(out.ptr,
		"\\ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb  ./a\\\\b\n"
		"\\2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6  ./c\\rr\n"
		"\\3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d  ./n\\nl\n"
		"18ac3e7343f016890c510e93f935261169d9e3f565436429830faf0934f4f8e4  ./sp ace\n"
		"3f79bb7b435b05321651daefd374cdc681dc06faa65e374e38337b88ca046dea  ./x\xffy\n");
	rv_buf_reset(&out);
	assert_int_equal(rv_manifest_sha256sum(&out, m, "/"), 0);
	assert_non_null(strstr(out.ptr, "  ./t/sp ace\n"));
	assert_non_null(strstr(out.ptr, "  ./tt\n"));
	/* no file below a base: the line xargs+sha256sum print for empty input */
	rv_buf_reset(&out);
	assert_int_equal(rv_manifest_sha256sum(&out, m, "/t/link"), 0);
	assert_string_equal(out.ptr,
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  -\n");
	rv_manifest_free(m);
	rv_buf_dispose(&out);
}

static void test_sort_rejects_duplicates_and_find(void **state)
{
	rv_manifest *m = sample();
	rv_manifest_entry e;

	(void)state;
	assert_non_null(rv_manifest_find(m, "/app/l", 6));
	assert_null(rv_manifest_find(m, "/app/zz", 7));
	memset(&e, 0, sizeof(e));
	e.path = "/app/l";
	e.path_len = 6;
	e.type = RV_FT_DIR;
	assert_int_equal(rv_manifest_add(m, &e), 0);
	assert_int_equal(rv_manifest_sort(m), RV_EINVAL);
	assert_non_null(strstr(rv_error_last(), "'/app/l' appears twice"));
	rv_manifest_free(m);
}

static void test_add_rejects_bad_paths(void **state)
{
	rv_manifest *m;
	rv_manifest_entry e;
	static const char *bad[] = { "", "a", "/a/", "//", "/a/./b", "/..", "/a/.." };
	size_t i;

	(void)state;
	assert_int_equal(rv_manifest_new(&m), 0);
	memset(&e, 0, sizeof(e));
	e.type = RV_FT_DIR;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e.path = (char *)bad[i];
		e.path_len = strlen(bad[i]);
		assert_int_equal(rv_manifest_add(m, &e), RV_EINVAL);
	}
	/* a control byte from outside is quoted escaped, never raw */
	e.path = "/a\x1b[2J/";
	e.path_len = strlen(e.path);
	assert_int_equal(rv_manifest_add(m, &e), RV_EINVAL);
	assert_string_equal(rv_error_last(), "path '/a\\x1b[2J/' ends in '/'");
	e.path = "/a\0b";
	e.path_len = 4;
	assert_int_equal(rv_manifest_add(m, &e), RV_EINVAL);
	e.path = "/";
	e.path_len = 1;
	assert_int_equal(rv_manifest_add(m, &e), 0);
	rv_manifest_free(m);
	rv_manifest_free(NULL);
}

/* Within by whole components; "/" holds everything. */
static void test_path_within(void **state)
{
#define W(p, r) rv_manifest_path_within(p, strlen(p), r, strlen(r))
	(void)state;
	assert_true(W("/a", "/a"));
	assert_true(W("/a/b", "/a"));
	assert_true(W("/a/b/c", "/a/b"));
	assert_false(W("/ab", "/a"));
	assert_false(W("/a", "/a/b"));
	assert_false(W("/b/a", "/a"));
	assert_true(W("/", "/"));
	assert_true(W("/anything/below", "/"));
#undef W
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_roundtrip_all_bytes),
		cmocka_unit_test(test_unescape_rejects_noncanonical),
		cmocka_unit_test(test_serialize_parse_inverse),
		cmocka_unit_test(test_errors_and_elf_roundtrip),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_error_names_line),
		cmocka_unit_test(test_sha256sum_view_gnu_escaping),
		cmocka_unit_test(test_sort_rejects_duplicates_and_find),
		cmocka_unit_test(test_add_rejects_bad_paths),
		cmocka_unit_test(test_path_within),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
