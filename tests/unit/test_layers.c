/* test_layers.c - layer streams to change lists, folding, whiteouts, hardlinks, codecs */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>
#include <zstd.h>

#include "core/dbset.h"
#include "core/manifest.h"
#include "sources/oci/cache.h"
#include "sources/oci/layers.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/sha256.h"

/* --- building tars in memory ------------------------------------------ */

struct tb {
	struct archive *a;
	rv_buf out;
};

static la_ssize_t tb_write(struct archive *a, void *ctx, const void *buf, size_t len)
{
	struct tb *t = ctx;

	(void)a;
	assert_int_equal(rv_buf_add(&t->out, buf, len), 0);
	return (la_ssize_t)len;
}

static void tb_start(struct tb *t)
{
	rv_buf_init(&t->out, (size_t)1 << 30);
	t->a = archive_write_new();
	assert_non_null(t->a);
	assert_int_equal(archive_write_set_format_pax_restricted(t->a), ARCHIVE_OK);
	assert_int_equal(archive_write_set_bytes_in_last_block(t->a, 1), ARCHIVE_OK);
	assert_int_equal(archive_write_open(t->a, t, NULL, tb_write, NULL), ARCHIVE_OK);
}

/* type: 'f' file, 'd' dir, 'l' symlink, 'h' hardlink, 'p' fifo */
static void tb_add(struct tb *t, char type, const char *path, unsigned mode,
	unsigned uid, const char *data_or_target)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, path);
	archive_entry_set_uid(e, uid);
	archive_entry_set_gid(e, uid);
	switch (type) {
	case 'f':
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_size(e, data_or_target ? (la_int64_t)strlen(data_or_target) : 0);
		break;
	case 'd':
		archive_entry_set_filetype(e, AE_IFDIR);
		break;
	case 'l':
		archive_entry_set_filetype(e, AE_IFLNK);
		archive_entry_set_symlink(e, data_or_target);
		break;
	case 'h':
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_hardlink(e, data_or_target);
		archive_entry_set_size(e, 0);
		break;
	case 'p':
		archive_entry_set_filetype(e, AE_IFIFO);
		break;
	}
	archive_entry_set_perm(e, mode);
	assert_int_equal(archive_write_header(t->a, e), ARCHIVE_OK);
	if (type == 'f' && data_or_target)
		assert_int_equal(archive_write_data(t->a, data_or_target, strlen(data_or_target)),
			(la_ssize_t)strlen(data_or_target));
	archive_entry_free(e);
}

/* A regular file of n bytes of c. */
static void tb_add_big(struct tb *t, const char *path, size_t n, char c)
{
	struct archive_entry *e = archive_entry_new();
	char *data = malloc(n);

	assert_non_null(data);
	memset(data, c, n);
	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_size(e, (la_int64_t)n);
	archive_entry_set_perm(e, 0644);
	assert_int_equal(archive_write_header(t->a, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(t->a, data, n), (la_ssize_t)n);
	archive_entry_free(e);
	free(data);
}

static void tb_finish(struct tb *t)
{
	assert_int_equal(archive_write_close(t->a), ARCHIVE_OK);
	archive_write_free(t->a);
}

/* --- a memory source with small, odd-sized reads -------------------- */

struct src {
	const unsigned char *p;
	size_t len, pos, step;
};

static int src_read(void *ctx, void *buf, size_t len, size_t *got)
{
	struct src *s = ctx;
	size_t n = s->len - s->pos;

	if (n > len)
		n = len;
	if (s->step && n > s->step)
		n = s->step;
	memcpy(buf, s->p + s->pos, n);
	s->pos += n;
	*got = n;
	return 0;
}

static int read_layer(rv_layers_list **out, rv_layers_compression c, const void *data,
	size_t len, const rv_layers_opts *o)
{
	struct src s = { data, len, 0, 777 };
	int rc = rv_layers_read(out, c, src_read, &s, o);

	if (rc == 0)
		assert_int_equal(s.pos, s.len); /* read to the end */
	return rc;
}

static void gzip_buf(rv_buf *out, const void *data, size_t len)
{
	z_stream z;
	unsigned char chunk[65536];
	int ret;

	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (unsigned char *)data;
	z.avail_in = (uInt)len;
	do {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		ret = deflate(&z, Z_FINISH);
		assert_int_equal(rv_buf_add(out, chunk, sizeof(chunk) - z.avail_out), 0);
	} while (ret != Z_STREAM_END);
	deflateEnd(&z);
}

static const rv_manifest_entry *find(const rv_manifest *m, const char *path)
{
	return rv_manifest_find(m, path, strlen(path));
}

static void hex_of(char out[RV_SHA256_HEX], const char *s)
{
	unsigned char d[RV_SHA256_LEN];

	assert_int_equal(rv_sha256_buf(d, s, strlen(s)), 0);
	rv_sha256_to_hex(out, d);
}

static int digest_is(const rv_manifest_entry *e, const char *content)
{
	char a[RV_SHA256_HEX], b[RV_SHA256_HEX];

	hex_of(a, content);
	rv_sha256_to_hex(b, e->digest);
	return e->has_digest && !strcmp(a, b);
}

/* --- tests ------------------------------------------------------------- */

static void test_entries_and_types(void **state)
{
	struct tb t;
	rv_layers_list *l;
	rv_manifest *m;
	const rv_manifest_entry *e;

	(void)state;
	tb_start(&t);
	tb_add(&t, 'd', "./", 0755, 0, NULL);
	tb_add(&t, 'd', "./app/", 0750, 10, NULL);
	tb_add(&t, 'f', "./app/a", 0644, 1000, "hello");
	tb_add(&t, 'f', "app//./bin/x", 04755, 0, "\x7f" "ELFrest");
	tb_add(&t, 'l', "app/link", 0777, 0, "/etc/passwd");
	tb_add(&t, 'p', "app/fifo", 0600, 0, NULL);
	tb_finish(&t);
	assert_int_equal(read_layer(&l, RV_LAYERS_TAR, t.out.ptr, t.out.len, NULL), 0);
	assert_int_equal(rv_layers_fold(&m, &l, 1, NULL), 0);
	assert_int_equal(m->count, 7);
	e = find(m, "/");
	assert_non_null(e);
	assert_int_equal(e->type, RV_FT_DIR);
	e = find(m, "/app");
	assert_int_equal(e->mode, 0750);
	assert_int_equal(e->uid, 10);
	e = find(m, "/app/a");
	assert_int_equal(e->type, RV_FT_FILE);
	assert_int_equal(e->size, 5);
	assert_int_equal(e->uid, 1000);
	assert_true(digest_is(e, "hello"));
	assert_false(e->elf);
	e = find(m, "/app/bin/x");
	assert_true(e->elf);
	assert_int_equal(e->mode, 04755);
	e = find(m, "/app/bin"); /* implied parent */
	assert_non_null(e);
	assert_int_equal(e->type, RV_FT_DIR);
	assert_int_equal(e->mode, 0755);
	e = find(m, "/app/link");
	assert_int_equal(e->type, RV_FT_SYMLINK);
	assert_int_equal(e->size, strlen("/etc/passwd"));
	assert_true(digest_is(e, "/etc/passwd"));
	assert_int_equal(find(m, "/app/fifo")->type, RV_FT_FIFO);
	rv_manifest_free(m);
	rv_layers_list_free(l);
	rv_buf_dispose(&t.out);
}

static void test_whiteouts_and_opaque(void **state)
{
	struct tb t1, t2;
	rv_layers_list *l[2];
	rv_manifest *m;

	(void)state;
	tb_start(&t1);
	tb_add(&t1, 'f', "a/keep", 0644, 0, "k");
	tb_add(&t1, 'f', "a/gone", 0644, 0, "g");
	tb_add(&t1, 'f', "a/dir/deep", 0644, 0, "d");
	tb_add(&t1, 'f', "o/old1", 0644, 0, "1");
	tb_add(&t1, 'f', "o/sub/old2", 0644, 0, "2");
	tb_add(&t1, 'f', "r/child", 0644, 0, "c");
	tb_finish(&t1);
	tb_start(&t2);
	tb_add(&t2, 'f', "a/.wh.gone", 0644, 0, NULL);
	tb_add(&t2, 'f', "a/.wh.dir", 0644, 0, NULL);
	tb_add(&t2, 'f', "o/new", 0644, 0, "n");      /* before the marker: still kept */
	tb_add(&t2, 'f', "o/.wh..wh..opq", 0644, 0, NULL);
	tb_add(&t2, 'f', "r", 0644, 0, "now a file");  /* replaces a directory */
	tb_add(&t2, 'f', "a/.wh..wh.plnk", 0644, 0, NULL); /* other .wh..wh. names: ignored */
	tb_finish(&t2);
	assert_int_equal(read_layer(&l[0], RV_LAYERS_TAR, t1.out.ptr, t1.out.len, NULL), 0);
	assert_int_equal(read_layer(&l[1], RV_LAYERS_TAR, t2.out.ptr, t2.out.len, NULL), 0);
	assert_int_equal(rv_layers_fold(&m, l, 2, NULL), 0);
	assert_non_null(find(m, "/a/keep"));
	assert_null(find(m, "/a/gone"));
	assert_null(find(m, "/a/dir"));
	assert_null(find(m, "/a/dir/deep"));
	assert_null(find(m, "/o/old1"));
	assert_null(find(m, "/o/sub"));
	assert_null(find(m, "/o/sub/old2"));
	assert_non_null(find(m, "/o/new"));
	assert_int_equal(find(m, "/r")->type, RV_FT_FILE);
	assert_null(find(m, "/r/child"));
	assert_null(find(m, "/a/.wh..wh.plnk"));
	rv_manifest_free(m);
	rv_layers_list_free(l[0]);
	rv_layers_list_free(l[1]);
	rv_buf_dispose(&t1.out);
	rv_buf_dispose(&t2.out);
}

static void test_hardlinks(void **state)
{
	struct tb t1, t2;
	rv_layers_list *l[2];
	rv_manifest *m;
	const rv_manifest_entry *e;
	const char *paths[] = { "/app" };
	rv_layers_opts o;
	char **targets;
	size_t nt;

	(void)state;
	tb_start(&t1);
	tb_add(&t1, 'f', "usr/bin/tool", 04711, 5, "tool bytes");
	tb_add(&t1, 'f', "app/orig", 0600, 7, "orig");
	tb_add(&t1, 'h', "app/same", 0644, 0, "app/orig");
	tb_finish(&t1);
	tb_start(&t2);
	tb_add(&t2, 'h', "app/tool", 0644, 0, "usr/bin/tool"); /* across layers */
	tb_add(&t2, 'f', "app/orig", 0644, 0, "replaced");     /* the link keeps the old */
	tb_finish(&t2);
	assert_int_equal(read_layer(&l[0], RV_LAYERS_TAR, t1.out.ptr, t1.out.len, NULL), 0);
	assert_int_equal(read_layer(&l[1], RV_LAYERS_TAR, t2.out.ptr, t2.out.len, NULL), 0);
	assert_int_equal(rv_layers_fold(&m, l, 2, NULL), 0);
	e = find(m, "/app/same");
	assert_true(digest_is(e, "orig"));
	assert_int_equal(e->mode, 0600);
	assert_int_equal(e->uid, 7);
	e = find(m, "/app/tool");
	assert_true(digest_is(e, "tool bytes"));
	assert_int_equal(e->mode, 04711);
	assert_true(digest_is(find(m, "/app/orig"), "replaced"));
	rv_manifest_free(m);
	rv_layers_list_free(l[0]);
	rv_layers_list_free(l[1]);

	/* With --path /app the target /usr/bin/tool is not kept: the fold
	 * says so, and link_targets names it for a second pass. */
	memset(&o, 0, sizeof(o));
	o.paths = paths;
	o.npaths = 1;
	assert_int_equal(read_layer(&l[0], RV_LAYERS_TAR, t1.out.ptr, t1.out.len, &o), 0);
	assert_int_equal(read_layer(&l[1], RV_LAYERS_TAR, t2.out.ptr, t2.out.len, &o), 0);
	assert_int_equal(rv_layers_fold(&m, l, 2, &o), RV_ENOTFOUND);
	assert_non_null(strstr(rv_error_last(), "outside the requested paths"));
	assert_int_equal(rv_layers_link_targets(&targets, &nt, l, 2, &o), 0);
	assert_int_equal(nt, 1);
	assert_string_equal(targets[0], "/usr/bin/tool");
	free(targets[0]);
	free(targets);
	rv_layers_list_free(l[0]);
	rv_layers_list_free(l[1]);
	rv_buf_dispose(&t1.out);
	rv_buf_dispose(&t2.out);
}

static void test_paths_filter_and_roots(void **state)
{
	struct tb t1, t2;
	rv_layers_list *l[2];
	rv_manifest *m;
	const char *paths[] = { "/opt/app", "/missing" };
	rv_layers_opts o;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.paths = paths;
	o.npaths = 2;
	tb_start(&t1);
	tb_add(&t1, 'f', "opt/app/x", 0644, 0, "x");
	tb_add(&t1, 'f', "opt/other", 0644, 0, "o");
	tb_finish(&t1);
	assert_int_equal(read_layer(&l[0], RV_LAYERS_TAR, t1.out.ptr, t1.out.len, &o), 0);
	assert_int_equal(rv_layers_fold(&m, l, 1, &o), 0);
	assert_int_equal(m->count, 3);
	assert_int_equal(find(m, "/opt/app")->type, RV_FT_DIR); /* implied */
	assert_non_null(find(m, "/opt/app/x"));
	assert_int_equal(find(m, "/missing")->type, RV_FT_UNKNOWN);
	assert_int_equal(find(m, "/missing")->err, ENOENT);
	rv_manifest_free(m);

	/* an ancestor of a root replaced by a symlink hides the root */
	tb_start(&t2);
	tb_add(&t2, 'l', "opt", 0777, 0, "/srv");
	tb_finish(&t2);
	assert_int_equal(read_layer(&l[1], RV_LAYERS_TAR, t2.out.ptr, t2.out.len, &o), 0);
	assert_int_equal(rv_layers_fold(&m, l, 2, &o), 0);
	assert_int_equal(find(m, "/opt/app")->type, RV_FT_UNKNOWN);
	assert_null(find(m, "/opt/app/x"));
	rv_manifest_free(m);
	rv_layers_list_free(l[0]);
	rv_layers_list_free(l[1]);
	rv_buf_dispose(&t1.out);
	rv_buf_dispose(&t2.out);
}

static void test_bad_paths(void **state)
{
	static const char *bad[] = { "/abs/x", "a/../../x", "..", "a/.wh.." };
	rv_layers_list *l;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct tb t;

		tb_start(&t);
		tb_add(&t, 'f', bad[i], 0644, 0, "x");
		tb_finish(&t);
		assert_int_equal(read_layer(&l, RV_LAYERS_TAR, t.out.ptr, t.out.len, NULL), RV_EFORMAT);
		assert_non_null(strstr(rv_error_last(), bad[i]));
		rv_buf_dispose(&t.out);
	}
}

/* A tar with a larger body, for the codecs. */
static void big_tar(struct tb *t)
{
	char *data = malloc(300001);
	size_t i;

	assert_non_null(data);
	for (i = 0; i < 300000; i++)
		data[i] = (char)('a' + (i * 7919) % 23);
	data[300000] = '\0';
	tb_start(t);
	tb_add(t, 'f', "big", 0644, 0, data);
	tb_add(t, 'f', "small", 0644, 0, "s");
	tb_finish(t);
	free(data);
}

static void test_codecs_agree(void **state)
{
	struct tb t;
	rv_buf gz = RV_BUF_INIT((size_t)1 << 30), multi = RV_BUF_INIT((size_t)1 << 30);
	rv_buf zs = RV_BUF_INIT((size_t)1 << 30), a = RV_BUF_INIT((size_t)1 << 30);
	rv_buf b = RV_BUF_INIT((size_t)1 << 30);
	rv_layers_list *l;
	rv_layers_opts o;
	size_t half, n;
	void *z;

	(void)state;
	big_tar(&t);
	gzip_buf(&gz, t.out.ptr, t.out.len);
	/* two gzip members, as `cat a.gz b.gz` makes */
	half = t.out.len / 2;
	gzip_buf(&multi, t.out.ptr, half);
	gzip_buf(&multi, t.out.ptr + half, t.out.len - half);
	z = malloc(ZSTD_compressBound(t.out.len));
	n = ZSTD_compress(z, ZSTD_compressBound(t.out.len), t.out.ptr, t.out.len, 3);
	assert_false(ZSTD_isError(n));
	assert_int_equal(rv_buf_add(&zs, z, n), 0);
	free(z);

	memset(&o, 0, sizeof(o));
	assert_int_equal(read_layer(&l, RV_LAYERS_TAR, t.out.ptr, t.out.len, &o), 0);
	assert_int_equal(rv_layers_list_serialize(&a, l), 0);
	assert_int_equal(rv_layers_list_tar_bytes(l), t.out.len);
	rv_layers_list_free(l);
	for (int round = 0; round < 5; round++) {
		const rv_buf *in = round == 0 || round == 1 ? &gz : round == 2 || round == 3 ? &multi : &zs;
		rv_layers_compression c = round == 4 ? RV_LAYERS_ZSTD : RV_LAYERS_GZIP;

		o.use_zlib = round == 1 || round == 3;
		assert_int_equal(read_layer(&l, c, in->ptr, in->len, &o), 0);
		rv_buf_reset(&b);
		assert_int_equal(rv_layers_list_serialize(&b, l), 0);
		assert_int_equal(b.len, a.len);
		assert_memory_equal(b.ptr, a.ptr, a.len);
		rv_layers_list_free(l);
	}
	/* truncated and corrupt streams */
	for (int zl = 0; zl < 2; zl++) {
		o.use_zlib = zl;
		assert_int_equal(read_layer(&l, RV_LAYERS_GZIP, gz.ptr, gz.len - 5, &o), RV_EFORMAT);
		gz.ptr[gz.len / 2] ^= 0x55;
		assert_true(read_layer(&l, RV_LAYERS_GZIP, gz.ptr, gz.len, &o) < 0);
		gz.ptr[gz.len / 2] ^= 0x55;
		o.max_inflated = 1000;
		assert_int_equal(read_layer(&l, RV_LAYERS_GZIP, gz.ptr, gz.len, &o), RV_ETOOBIG);
		assert_non_null(strstr(rv_error_last(), "more than 1000 bytes"));
		o.max_inflated = 0;
	}
	assert_int_equal(read_layer(&l, RV_LAYERS_ZSTD, zs.ptr, zs.len - 3, &o), RV_EFORMAT);
	assert_true(read_layer(&l, RV_LAYERS_TAR, gz.ptr, gz.len, &o) < 0); /* not a tar */
	rv_buf_dispose(&gz);
	rv_buf_dispose(&multi);
	rv_buf_dispose(&zs);
	rv_buf_dispose(&a);
	rv_buf_dispose(&b);
	rv_buf_dispose(&t.out);
}

static void test_serialize_round_trip(void **state)
{
	struct tb t;
	rv_layers_list *l, *l2;
	rv_buf a = RV_BUF_INIT((size_t)1 << 30), b = RV_BUF_INIT((size_t)1 << 30);
	size_t cut;

	(void)state;
	tb_start(&t);
	tb_add(&t, 'f', "x/a", 0644, 3, "a");
	tb_add(&t, 'h', "x/b", 0644, 0, "x/a");
	tb_add(&t, 'f', "x/.wh.c", 0644, 0, NULL);
	tb_add(&t, 'f', "y/.wh..wh..opq", 0644, 0, NULL);
	tb_add(&t, 'l', "x/s", 0777, 0, "a");
	tb_finish(&t);
	assert_int_equal(read_layer(&l, RV_LAYERS_TAR, t.out.ptr, t.out.len, NULL), 0);
	assert_int_equal(rv_layers_list_count(l), 5);
	assert_int_equal(rv_layers_list_serialize(&a, l), 0);
	assert_int_equal(rv_layers_list_parse(&l2, a.ptr, a.len), 0);
	assert_int_equal(rv_layers_list_serialize(&b, l2), 0);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.ptr, b.ptr, a.len);
	rv_layers_list_free(l2);
	for (cut = 0; cut < a.len; cut += 7)
		assert_int_equal(rv_layers_list_parse(&l2, a.ptr, cut), RV_EFORMAT);
	a.ptr[a.len - 5] = '\0'; /* a NUL inside the last path ("/x/s", then a 0 link length) */
	assert_int_equal(rv_layers_list_parse(&l2, a.ptr, a.len), RV_EFORMAT);
	rv_layers_list_free(l);
	rv_buf_dispose(&a);
	rv_buf_dispose(&b);
	rv_buf_dispose(&t.out);
}

/* --- package databases ---------------------------------------------- */

/* Three layers exercising every rule a database can meet (see below). */
static void db_layers(struct tb t[3])
{
	rv_buf gz;

	tb_start(&t[0]);
	tb_add(&t[0], 'l', "etc/os-release", 0777, 0, "../usr/lib/os-release"); /* not followed */
	tb_add(&t[0], 'f', "usr/lib/os-release", 0644, 0, "ID=debian\nVERSION_ID=12\n");
	tb_add(&t[0], 'f', "var/lib/dpkg/status", 0644, 0, "Package: a\nVersion: 1\n");
	tb_add(&t[0], 'f', "var/lib/dpkg/status-old", 0644, 0, "not a database");
	tb_add(&t[0], 'f', "usr/lib/python3/dist-packages/foo-1.dist-info/METADATA", 0644, 0,
		"Name: foo\nVersion: 1\n");
	tb_add(&t[0], 'f', "usr/lib/python3/dist-packages/bar-2.dist-info/METADATA", 0644, 0,
		"Name: bar\nVersion: 2\n");
	tb_add(&t[0], 'f', "app/node_modules/x/package.json", 0644, 0, "{\"name\":\"x\",\"version\":\"1.0.0\"}");
	tb_add(&t[0], 'f', "srv/www/node_modules/w/package.json", 0644, 0, "{\"name\":\"w\",\"version\":\"1.0.0\"}");
	tb_add(&t[0], 'f', "srv/data/file", 0644, 0, "plain data");
	tb_add(&t[0], 'f', "app/main.js", 0644, 0, "code");
	tb_add_big(&t[0], "opt/huge.egg-info", (4u << 20) + 1, 'h'); /* over the python cap */
	tb_finish(&t[0]);
	tb_start(&t[1]);
	tb_add(&t[1], 'f', "var/lib/dpkg/status", 0644, 0, "Package: a\nVersion: 2\n"); /* replaces */
	tb_add(&t[1], 'f', "usr/lib/python3/dist-packages/.wh.bar-2.dist-info", 0644, 0, NULL);
	tb_add(&t[1], 'f', "app/node_modules/z/package.json", 0644, 0, "{\"name\":\"z\",\"version\":\"3.0.0\"}");
	tb_add(&t[1], 'f', "app/node_modules/.wh..wh..opq", 0644, 0, NULL); /* hides x, not z */
	tb_add(&t[1], 'h', "var/lib/dpkg/status.d/pkg", 0644, 0, "var/lib/dpkg/status");
	tb_add(&t[1], 'h', "usr/lib/python3/dist-packages/q-1.dist-info/METADATA", 0644, 0, "srv/data/file");
	tb_add(&t[1], 'l', "srv/sym.dist-info/METADATA", 0777, 0, "/usr/lib/os-release");
	tb_finish(&t[1]);
	rv_buf_init(&gz, (size_t)1 << 30);
	gzip_buf(&gz, t[1].out.ptr, t[1].out.len); /* layer 2 travels gzipped */
	rv_buf_dispose(&t[1].out);
	t[1].out = gz;
	tb_start(&t[2]);
	tb_add(&t[2], 'f', "srv/www", 0644, 0, "a file now"); /* hides w */
	tb_add(&t[2], 'f', "app/late.txt", 0644, 0, "late");
	tb_finish(&t[2]);
}

static void db_read(rv_layers_list *l[3], struct tb t[3], const rv_layers_opts *o)
{
	int i;

	for (i = 0; i < 3; i++)
		assert_int_equal(read_layer(&l[i], i == 1 ? RV_LAYERS_GZIP : RV_LAYERS_TAR,
			t[i].out.ptr, t[i].out.len, o), 0);
}

static void db_free(rv_layers_list *l[3])
{
	int i;

	for (i = 0; i < 3; i++)
		rv_layers_list_free(l[i]);
}

static const rv_dbset_file *dbf(const rv_dbset *s, const char *path)
{
	return rv_dbset_find(s, path, strlen(path));
}

static int dbf_is(const rv_dbset *s, const char *path, const char *content)
{
	const rv_dbset_file *f = dbf(s, path);

	return f && !f->error && f->size == strlen(content) && (!f->size || !memcmp(f->data, content, f->size));
}

static void test_dbset_capture(void **state)
{
	struct tb t[3];
	rv_layers_list *l[3];
	rv_layers_opts o;
	rv_dbset *s, *s2;
	rv_manifest *m1, *m2;
	rv_buf a = RV_BUF_INIT((size_t)1 << 30), b = RV_BUF_INIT((size_t)1 << 30);
	const char *app[] = { "/app" };
	const rv_dbset_file *f;
	int pass;

	(void)state;
	db_layers(t);
	memset(&o, 0, sizeof(o));
	o.packages = 1;
	db_read(l, t, &o);
	assert_int_equal(rv_layers_fold_dbset(&s, l, 3, &o), 0);
	assert_int_equal(s->n, 7);
	assert_true(dbf_is(s, "/usr/lib/os-release", "ID=debian\nVERSION_ID=12\n"));
	assert_null(dbf(s, "/etc/os-release"));                          /* a symlink */
	assert_true(dbf_is(s, "/var/lib/dpkg/status", "Package: a\nVersion: 2\n")); /* the later layer */
	assert_null(dbf(s, "/var/lib/dpkg/status-old"));
	assert_true(dbf_is(s, "/var/lib/dpkg/status.d/pkg", "Package: a\nVersion: 2\n")); /* hardlink */
	assert_true(dbf_is(s, "/usr/lib/python3/dist-packages/foo-1.dist-info/METADATA",
		"Name: foo\nVersion: 1\n"));
	assert_null(dbf(s, "/usr/lib/python3/dist-packages/bar-2.dist-info/METADATA")); /* whiteout */
	assert_null(dbf(s, "/app/node_modules/x/package.json"));         /* opaque */
	assert_true(dbf_is(s, "/app/node_modules/z/package.json", "{\"name\":\"z\",\"version\":\"3.0.0\"}"));
	assert_null(dbf(s, "/srv/www/node_modules/w/package.json"));     /* dir became a file */
	assert_null(dbf(s, "/srv/sym.dist-info/METADATA"));              /* a symlink */
	f = dbf(s, "/opt/huge.egg-info");
	assert_non_null(f);
	assert_string_equal(f->error, "larger than the limit of 4194304 bytes");
	f = dbf(s, "/usr/lib/python3/dist-packages/q-1.dist-info/METADATA");
	assert_non_null(f);
	assert_non_null(strstr(f->error, "hardlink to '/srv/data/file'"));
	assert_int_equal(s->failed, 2);

	/* The set is image-wide: --path /app does not change it; and the
	 * manifest is the same with the capture on or off. */
	for (pass = 0; pass < 2; pass++) {
		rv_layers_opts p = o;
		rv_layers_list *l2[3];

		if (pass) {
			p.paths = app;
			p.npaths = 1;
		}
		db_free(l);
		db_read(l, t, &p);
		assert_int_equal(rv_layers_fold_dbset(&s2, l, 3, &p), 0);
		rv_buf_reset(&a);
		rv_buf_reset(&b);
		assert_int_equal(rv_dbset_serialize(&a, s), 0);
		assert_int_equal(rv_dbset_serialize(&b, s2), 0);
		assert_int_equal(a.len, b.len);
		assert_memory_equal(a.ptr, b.ptr, a.len);
		rv_dbset_free(s2);
		p.packages = 0;
		db_read(l2, t, &p);
		assert_int_equal(rv_layers_fold_dbset(&s2, l2, 3, &p), RV_EINVAL); /* no capture */
		assert_int_equal(rv_layers_fold(&m1, l, 3, &p), 0);
		assert_int_equal(rv_layers_fold(&m2, l2, 3, &p), 0);
		rv_buf_reset(&a);
		rv_buf_reset(&b);
		assert_int_equal(rv_manifest_serialize(&a, m1), 0);
		assert_int_equal(rv_manifest_serialize(&b, m2), 0);
		assert_int_equal(a.len, b.len);
		assert_memory_equal(a.ptr, b.ptr, a.len);
		if (pass) /* only the app layer's entries, fewer ops than the capture kept */
			assert_true(rv_layers_list_count(l2[0]) < rv_layers_list_count(l[0]));
		rv_manifest_free(m1);
		rv_manifest_free(m2);
		db_free(l2);
	}
	rv_dbset_free(s);
	db_free(l);
	rv_buf_dispose(&a);
	rv_buf_dispose(&b);
	for (pass = 0; pass < 3; pass++)
		rv_buf_dispose(&t[pass].out);
}

static void test_dbset_caps(void **state)
{
	struct tb t;
	rv_layers_list *l;
	rv_layers_opts o;
	rv_dbset *s;
	const rv_dbset_file *f;

	(void)state;
	tb_start(&t);
	tb_add(&t, 'f', "a/node_modules/p/package.json", 0644, 0, "0123456789");   /* 10 */
	tb_add(&t, 'f', "b/node_modules/p/package.json", 0644, 0, "0123456789");   /* 20 */
	tb_add(&t, 'f', "c/node_modules/p/package.json", 0644, 0, "0123456789");   /* 30: over */
	tb_add(&t, 'f', "d/node_modules/p/package.json", 0644, 0, "");             /* empty fits */
	tb_finish(&t);
	memset(&o, 0, sizeof(o));
	o.packages = 1;
	o.max_db_layer = 25;
	assert_int_equal(read_layer(&l, RV_LAYERS_TAR, t.out.ptr, t.out.len, &o), 0);
	assert_int_equal(rv_layers_list_db_bytes(l), 20);
	assert_int_equal(rv_layers_fold_dbset(&s, &l, 1, &o), 0);
	assert_int_equal(s->n, 4);
	assert_int_equal(s->failed, 1);
	f = dbf(s, "/c/node_modules/p/package.json");
	assert_string_equal(f->error, "package databases of the layer over the limit of 25 bytes");
	assert_true(dbf_is(s, "/d/node_modules/p/package.json", ""));
	rv_dbset_free(s);
	/* the image cap goes in path order */
	o.max_db_image = 15;
	assert_int_equal(rv_layers_fold_dbset(&s, &l, 1, &o), 0);
	assert_true(dbf_is(s, "/a/node_modules/p/package.json", "0123456789"));
	assert_string_equal(dbf(s, "/b/node_modules/p/package.json")->error,
		"package databases of the image over the limit of 15 bytes");
	assert_int_equal(s->failed, 2);
	rv_dbset_free(s);
	/* dropping turns every capture into a fail record */
	assert_int_equal(rv_layers_list_drop_db(l, "dropped for a test"), 0);
	assert_int_equal(rv_layers_list_db_bytes(l), 0);
	assert_int_equal(rv_layers_fold_dbset(&s, &l, 1, &o), 0);
	assert_int_equal(s->failed, 4);
	assert_string_equal(dbf(s, "/a/node_modules/p/package.json")->error, "dropped for a test");
	rv_dbset_free(s);
	rv_layers_list_free(l);
	rv_buf_dispose(&t.out);
}

/* Offset of the first occurrence of needle in b, which must exist. */
static size_t find_bytes(const rv_buf *b, const char *needle)
{
	size_t n = strlen(needle), i;

	for (i = 0; i + n <= b->len; i++)
		if (!memcmp(b->ptr + i, needle, n))
			return i;
	fail_msg("'%s' not in the serialized list", needle);
	return 0;
}

static void test_dbset_serialize_and_cache(void **state)
{
	struct tb t[3];
	rv_layers_list *l[3], *p[3], *bad;
	rv_layers_opts o;
	rv_dbset *s1, *s2;
	unsigned char d1[RV_SHA256_LEN], d2[RV_SHA256_LEN];
	rv_buf a = RV_BUF_INIT((size_t)1 << 30), b = RV_BUF_INIT((size_t)1 << 30);
	const char *app[] = { "/app" };
	char dir[] = "/tmp/rv-test-layers.XXXXXX", cmd[128];
	rv_cache *c;
	size_t cut, off;
	int i, found;

	(void)state;
	db_layers(t);
	memset(&o, 0, sizeof(o));
	o.packages = 1;
	o.paths = app;    /* databases outside the paths travel as OP_DB only */
	o.npaths = 1;
	db_read(l, t, &o);
	assert_int_equal(rv_layers_fold_dbset(&s1, l, 3, &o), 0);
	assert_int_equal(rv_dbset_digest(d1, s1), 0);

	/* through the on-disk cache and back: the same set */
	assert_non_null(mkdtemp(dir));
	assert_int_equal(rv_cache_open(&c, dir, 0), 0);
	for (i = 0; i < 3; i++) {
		char key[32];

		snprintf(key, sizeof(key), "layer %d", i);
		rv_buf_reset(&a);
		assert_int_equal(rv_layers_list_serialize(&a, l[i]), 0);
		assert_int_equal(rv_cache_put(c, "layers", key, a.ptr, a.len), 0);
		assert_int_equal(rv_cache_get(c, "layers", key, &b, &found), 0);
		assert_int_equal(found, 1);
		assert_int_equal(rv_layers_list_parse(&p[i], b.ptr, b.len), 0);
		rv_buf_reset(&b);
		assert_int_equal(rv_layers_list_serialize(&b, p[i]), 0);
		assert_int_equal(a.len, b.len);
		assert_memory_equal(a.ptr, b.ptr, a.len);
	}
	rv_cache_close(c);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(rv_layers_fold_dbset(&s2, p, 3, &o), 0);
	assert_int_equal(rv_dbset_digest(d2, s2), 0);
	assert_memory_equal(d1, d2, sizeof(d1));
	rv_dbset_free(s2);
	db_free(p);

	/* the parser refuses every truncation and each garbled field */
	rv_buf_reset(&a);
	assert_int_equal(rv_layers_list_serialize(&a, l[0]), 0);
	for (cut = 0; cut < a.len; cut += (cut < 4096 ? 1 : 4099))
		assert_int_equal(rv_layers_list_parse(&bad, a.ptr, cut), RV_EFORMAT);
	rv_buf_reset(&b);
	assert_int_equal(rv_buf_add(&b, a.ptr, a.len), 0);
	assert_int_equal(rv_buf_putc(&b, 0), 0); /* a byte too many */
	assert_int_equal(rv_layers_list_parse(&bad, b.ptr, b.len), RV_EFORMAT);
	/* version 1, as an old cache holds it */
	rv_buf_reset(&b);
	assert_int_equal(rv_buf_add(&b, a.ptr, a.len), 0);
	off = find_bytes(&b, "rv-layer-changes 2\n");
	b.ptr[off + 17] = '1';
	assert_int_equal(rv_layers_list_parse(&bad, b.ptr, b.len), RV_EFORMAT);
	/* a database path that is not one */
	rv_buf_reset(&b);
	assert_int_equal(rv_buf_add(&b, a.ptr, a.len), 0);
	off = find_bytes(&b, "/var/lib/dpkg/statusPackage"); /* the path, then the contents */
	b.ptr[off + 19] = 'x';
	assert_int_equal(rv_layers_list_parse(&bad, b.ptr, b.len), RV_EFORMAT);
	/* a size over the kind's cap (the u64 before the path's length) */
	rv_buf_reset(&b);
	assert_int_equal(rv_buf_add(&b, a.ptr, a.len), 0);
	off = find_bytes(&b, "/var/lib/dpkg/statusPackage");
	b.ptr[off - 4 - 8] = 1;
	assert_int_equal(rv_layers_list_parse(&bad, b.ptr, b.len), RV_EFORMAT);
	/* a fail message with a control byte */
	rv_buf_reset(&b);
	assert_int_equal(rv_buf_add(&b, a.ptr, a.len), 0);
	off = find_bytes(&b, "larger than the limit");
	b.ptr[off + 6] = '\n';
	assert_int_equal(rv_layers_list_parse(&bad, b.ptr, b.len), RV_EFORMAT);
	/* the packages flag off, with OP_DB records */
	rv_buf_reset(&b);
	assert_int_equal(rv_buf_add(&b, a.ptr, a.len), 0);
	b.ptr[19 + 8 + 3] = 0;
	assert_int_equal(rv_layers_list_parse(&bad, b.ptr, b.len), RV_EFORMAT);
	b.ptr[19 + 8 + 3] = 2;
	assert_int_equal(rv_layers_list_parse(&bad, b.ptr, b.len), RV_EFORMAT);

	rv_dbset_free(s1);
	db_free(l);
	rv_buf_dispose(&a);
	rv_buf_dispose(&b);
	for (i = 0; i < 3; i++)
		rv_buf_dispose(&t[i].out);
}


/* --- a synthesized layer: many entries, no memory ------------------- */

/* A ustar stream made on the fly, entry k of n (no data) named by
 * name(k), then the end marker. A name of 100 bytes or more goes in a pax
 * header ('x') before the entry, as tar writers put long paths. */
#define GEN_NAME_MAX 8192

struct gen {
	size_t n, k, off, have;  /* have: bytes of entry k in blk; off: sent */
	void (*name)(char *out, size_t len, size_t k, char *type, char *link);
	unsigned char blk[GEN_NAME_MAX + 3 * 512];
};

static void ustar_header(unsigned char *h, const char *name, char type, const char *link,
	size_t size)
{
	unsigned sum = 0;
	size_t i;

	memset(h, 0, 512);
	memcpy(h, name, strlen(name) < 100 ? strlen(name) : 99);
	memcpy(h + 100, "0000644", 7);
	memcpy(h + 108, "0000000", 7);
	memcpy(h + 116, "0000000", 7);
	snprintf((char *)h + 124, 12, "%011zo", size);
	memcpy(h + 136, "00000000000", 11);
	h[156] = (unsigned char)type;
	memcpy(h + 157, link, strlen(link));
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8);
	for (i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
}

/* Fill blk with entry k (or a block of the end marker); its length. */
static size_t gen_entry(struct gen *g)
{
	char name[GEN_NAME_MAX], type = '0', link[100] = "";
	size_t nl, rl, d, pad;

	if (g->k >= g->n) {
		memset(g->blk, 0, 512); /* the end marker: zeros */
		return 512;
	}
	g->name(name, sizeof(name), g->k, &type, link);
	nl = strlen(name);
	if (nl < 100) {
		ustar_header(g->blk, name, type, link, 0);
		return 512;
	}
	/* "LEN path=NAME\n", LEN counting its own digits */
	for (d = 1, rl = nl + 7 + d; snprintf(NULL, 0, "%zu", rl) != (int)d; rl = nl + 7 + d)
		d++;
	ustar_header(g->blk, "PaxHeader", 'x', "", rl);
	snprintf((char *)g->blk + 512, rl + 1, "%zu path=%s\n", rl, name);
	pad = (rl + 511) / 512 * 512;
	memset(g->blk + 512 + rl, 0, pad - rl);
	ustar_header(g->blk + 512 + pad, name, type, link, 0);
	return 512 + pad + 512;
}

static int gen_read(void *ctx, void *buf, size_t len, size_t *got)
{
	struct gen *g = ctx;
	size_t done = 0;

	while (done < len && g->k < g->n + 2) { /* + two zero blocks */
		size_t t;

		if (!g->have) {
			g->have = gen_entry(g);
			g->off = 0;
		}
		t = g->have - g->off < len - done ? g->have - g->off : len - done;
		memcpy((char *)buf + done, g->blk + g->off, t);
		g->off += t;
		done += t;
		if (g->off == g->have) {
			g->have = 0;
			g->k++;
		}
	}
	*got = done;
	return 0;
}

static int gen_layer(rv_layers_list **out, size_t n,
	void (*name)(char *, size_t, size_t, char *, char *), const rv_layers_opts *o)
{
	struct gen *g = calloc(1, sizeof(*g));
	int rc;

	assert_non_null(g);
	g->n = n;
	g->name = name;
	rc = rv_layers_read(out, RV_LAYERS_TAR, gen_read, g, o);
	free(g);
	return rc;
}

static size_t hostile_n;

/* N databases dK/node_modules/x/package.json, then N files dK replacing
 * their directories. */
static void name_replace(char *out, size_t len, size_t k, char *type, char *link)
{
	(void)type;
	(void)link;
	if (k < hostile_n)
		snprintf(out, len, "d%07zu/node_modules/x/package.json", k);
	else
		snprintf(out, len, "d%07zu", k - hostile_n);
}

/* N databases (the lower layer) ... */
static void name_dbs(char *out, size_t len, size_t k, char *type, char *link)
{
	(void)type;
	(void)link;
	snprintf(out, len, "d%07zu/node_modules/x/package.json", k);
}

/* ... and N whiteouts of their directories (the upper one). */
static void name_whiteouts(char *out, size_t len, size_t k, char *type, char *link)
{
	(void)type;
	(void)link;
	snprintf(out, len, ".wh.d%07zu", k);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * A hostile layer must fold in time linear in its size: each whiteout or
 * non-directory that replaces a directory holding a database removes
 * what is below it without scanning everything folded so far (it used to:
 * 800k ops took minutes). 200k of each, both folds, under a generous
 * bound that holds under ASan on a loaded machine; RV_TEST_HOSTILE_N
 * changes N to measure.
 */
static void test_hostile_fold_is_linear(void **state)
{
	rv_layers_list *l[2];
	rv_layers_opts o;
	rv_manifest *m;
	rv_dbset *s;
	const char *env = getenv("RV_TEST_HOSTILE_N");
	double t0, t1, t2, t3, t4;

	(void)state;
	hostile_n = env ? (size_t)strtoul(env, NULL, 10) : 200000;
	memset(&o, 0, sizeof(o));
	o.packages = 1;

	/* one layer: databases, then files replacing their directories */
	t0 = now_s();
	assert_int_equal(gen_layer(&l[0], 2 * hostile_n, name_replace, &o), 0);
	assert_int_equal(rv_layers_list_count(l[0]), 3 * hostile_n); /* PLACE + DB, PLACE */
	t1 = now_s();
	assert_int_equal(rv_layers_fold_dbset(&s, l, 1, &o), 0);
	t2 = now_s();
	assert_int_equal(s->n, 0);
	rv_dbset_free(s);
	assert_int_equal(rv_layers_fold(&m, l, 1, &o), 0);
	t3 = now_s();
	assert_int_equal(m->count, hostile_n + 1);
	assert_int_equal(find(m, "/d0000000")->type, RV_FT_FILE);
	rv_manifest_free(m);
	rv_layers_list_free(l[0]);
	print_message("hostile replace, N=%zu: read %.2f s, dbset fold %.2f s, manifest fold %.2f s\n",
		hostile_n, t1 - t0, t2 - t1, t3 - t2);
	assert_true(t2 - t1 < 10.0);
	assert_true(t3 - t2 < 10.0);

	/* two layers: databases, then whiteouts of their directories */
	assert_int_equal(gen_layer(&l[0], hostile_n, name_dbs, &o), 0);
	assert_int_equal(gen_layer(&l[1], hostile_n, name_whiteouts, &o), 0);
	t0 = now_s();
	assert_int_equal(rv_layers_fold_dbset(&s, l, 2, &o), 0);
	t1 = now_s();
	assert_int_equal(s->n, 0);
	rv_dbset_free(s);
	assert_int_equal(rv_layers_fold(&m, l, 2, &o), 0);
	t4 = now_s();
	assert_int_equal(m->count, 1); /* "/" */
	rv_manifest_free(m);
	rv_layers_list_free(l[0]);
	rv_layers_list_free(l[1]);
	print_message("hostile whiteouts, N=%zu: dbset fold %.2f s, manifest fold %.2f s\n",
		hostile_n, t1 - t0, t4 - t1);
	assert_true(t1 - t0 < 10.0);
	assert_true(t4 - t1 < 10.0);
}

static size_t deep_depth;

/* Entry k: the file a/a/.../a/fK, deep_depth directories down, all of
 * them shared (one chain of implied parents, 20k distinct paths). */
static void name_deep(char *out, size_t len, size_t k, char *type, char *link)
{
	size_t i;

	(void)type;
	(void)link;
	assert_true(2 * deep_depth + 9 <= len);
	for (i = 0; i < deep_depth; i++)
		memcpy(out + 2 * i, "a/", 2);
	snprintf(out + 2 * deep_depth, len - 2 * deep_depth, "f%07zu", k);
}

/*
 * Deep paths must not cost (path length)^2 per entry: the fold used to
 * hash every ancestor of every entry to make sure it existed, 4 MB of
 * hashing for a 2000-component path, minutes for 20k of them. Now it
 * walks up from the entry's directory only as far as the first one that
 * exists. RV_TEST_DEEP_N changes N to measure.
 */
static void test_hostile_deep_paths(void **state)
{
	rv_layers_list *l;
	rv_layers_opts o;
	rv_manifest *m;
	const char *env = getenv("RV_TEST_DEEP_N");
	char want[2 * 1999 + 16];
	size_t n = env ? (size_t)strtoul(env, NULL, 10) : 20000, i;
	double t0, t1, t2;

	(void)state;
	deep_depth = 1999; /* + the file: 2000 components, 4007 bytes */
	memset(&o, 0, sizeof(o));
	t0 = now_s();
	assert_int_equal(gen_layer(&l, n, name_deep, &o), 0);
	assert_int_equal(rv_layers_list_count(l), n);
	t1 = now_s();
	assert_int_equal(rv_layers_fold(&m, &l, 1, &o), 0);
	t2 = now_s();
	assert_int_equal(m->count, 1 + deep_depth + n); /* "/", the chain, the files */
	for (i = 0; i < deep_depth; i++)
		memcpy(want + 2 * i, "/a", 2);
	snprintf(want + 2 * deep_depth, sizeof(want) - 2 * deep_depth, "/f%07zu", n - 1);
	assert_int_equal(find(m, want)->type, RV_FT_FILE);
	want[2 * deep_depth] = '\0';
	assert_int_equal(find(m, want)->type, RV_FT_DIR);
	assert_int_equal(find(m, want)->mode, 0755);
	rv_manifest_free(m);
	rv_layers_list_free(l);
	print_message("hostile deep paths, N=%zu x %zu components: read %.2f s, manifest fold %.2f s\n",
		n, deep_depth + 1, t1 - t0, t2 - t1);
	assert_true(t2 - t1 < 10.0);
}

/* Pairs: x/a/.../a/f, deep_depth directories down, then x, a file
 * replacing x, which removes them, so the next pair implies them again. */
static void name_recreate(char *out, size_t len, size_t k, char *type, char *link)
{
	size_t i;

	(void)type;
	(void)link;
	if (k % 2) {
		snprintf(out, len, "x");
		return;
	}
	assert_true(2 * deep_depth + 4 <= len);
	memcpy(out, "x/", 2);
	for (i = 0; i < deep_depth; i++)
		memcpy(out + 2 + 2 * i, "a/", 2);
	snprintf(out + 2 + 2 * deep_depth, len - 2 - 2 * deep_depth, "f");
}

/*
 * Implied directories cost their paths to create: a 4 KB path implies
 * 4 MB of them, and the next entry can remove them for the one after to
 * imply them again (1000 pairs: 5.6 MB of tar, 20 s of fold). The fold
 * caps what it spends on them: RV_ETOOBIG naming the layer and entry,
 * soon, never hours; below the cap, the same manifest.
 */
static void test_implied_cap(void **state)
{
	rv_layers_list *l;
	rv_layers_opts o;
	rv_manifest *m;
	double t0, t1;

	(void)state;
	memset(&o, 0, sizeof(o));
	deep_depth = 1999;
	assert_int_equal(gen_layer(&l, 2 * 2000, name_recreate, &o), 0);
	t0 = now_s();
	assert_int_equal(rv_layers_fold(&m, &l, 1, &o), RV_ETOOBIG);
	t1 = now_s();
	assert_non_null(strstr(rv_error_last(), "layer 1: tar entry '/x/a/a/"));
	assert_non_null(strstr(rv_error_last(), "implies directories past the limit of 268435456 bytes"));
	rv_layers_list_free(l);
	print_message("implied directories again and again: cap reached in %.2f s\n", t1 - t0);
	assert_true(t1 - t0 < 10.0);

	/* 3 times 11 implied directories (/x and 10 below), the last stay */
	deep_depth = 10;
	assert_int_equal(gen_layer(&l, 5, name_recreate, &o), 0);
	assert_int_equal(rv_layers_fold(&m, &l, 1, &o), 0);
	assert_int_equal(m->count, 1 + 1 + 10 + 1); /* "/", /x, its 10, f */
	rv_manifest_free(m);
	/* 3 x ("/x" (2 bytes) .. "/x/a/.../a" (22), 11 paths) and 33 nodes */
	o.max_implied = 3 * (2 + 22) / 2 * 11 + 33 * 256;
	assert_int_equal(rv_layers_fold(&m, &l, 1, &o), 0);
	rv_manifest_free(m);
	o.max_implied = 2 + 4;
	assert_int_equal(rv_layers_fold(&m, &l, 1, &o), RV_ETOOBIG);
	assert_non_null(strstr(rv_error_last(), "limit of 6 bytes"));
	rv_layers_list_free(l);
}

/* N files t/fK, then N hardlinks app/lK to them. */
static void name_links_out(char *out, size_t len, size_t k, char *type, char *link)
{
	if (k < hostile_n) {
		snprintf(out, len, "t/f%07zu", k);
		return;
	}
	snprintf(out, len, "app/l%07zu", k - hostile_n);
	*type = '1';
	snprintf(link, 100, "t/f%07zu", k - hostile_n);
}

/*
 * The second pass of hardlinks out of --path: every target becomes a
 * requested path, and the scope test of each entry used to compare it
 * with every one (50k links: 50k x 100k compares in the read and again
 * in the fold). Now the paths are sorted once and each test is a binary
 * search. RV_TEST_LINKS_N changes N to measure.
 */
static void test_hostile_link_targets(void **state)
{
	static const char *app[] = { "/app" };
	const char *env = getenv("RV_TEST_LINKS_N");
	const char **ext;
	rv_layers_list *l;
	rv_layers_opts o;
	rv_manifest *m;
	char **tg;
	size_t ntg, i;
	double t0, t1, t2, t3;

	(void)state;
	hostile_n = env ? (size_t)strtoul(env, NULL, 10) : 50000;
	memset(&o, 0, sizeof(o));
	o.paths = app;
	o.npaths = 1;
	/* the first pass: the fold misses the targets, which are listed */
	t0 = now_s();
	assert_int_equal(gen_layer(&l, 2 * hostile_n, name_links_out, &o), 0);
	assert_int_equal(rv_layers_fold(&m, &l, 1, &o), RV_ENOTFOUND);
	assert_non_null(strstr(rv_error_last(), "is outside the requested paths"));
	assert_int_equal(rv_layers_link_targets(&tg, &ntg, &l, 1, &o), 0);
	assert_int_equal(ntg, hostile_n);
	rv_layers_list_free(l);
	/* the second, with every target added */
	assert_non_null(ext = calloc(ntg + 1, sizeof(*ext)));
	ext[0] = "/app";
	for (i = 0; i < ntg; i++)
		ext[i + 1] = tg[i];
	o.paths = ext;
	o.npaths = ntg + 1;
	t1 = now_s();
	assert_int_equal(gen_layer(&l, 2 * hostile_n, name_links_out, &o), 0);
	assert_int_equal(rv_layers_list_count(l), 2 * hostile_n);
	t2 = now_s();
	assert_int_equal(rv_layers_fold(&m, &l, 1, &o), 0);
	t3 = now_s();
	assert_int_equal(m->count, 1 + 2 * hostile_n); /* /app, links, targets */
	assert_int_equal(find(m, "/app")->type, RV_FT_DIR);
	assert_true(digest_is(find(m, "/app/l0000000"), ""));
	assert_non_null(find(m, "/t/f0000000"));
	assert_null(find(m, "/t"));
	rv_manifest_free(m);
	rv_layers_list_free(l);
	for (i = 0; i < ntg; i++)
		free(tg[i]);
	free(tg);
	free(ext);
	print_message("hostile link targets, N=%zu: first pass %.2f s, second read %.2f s, "
		"manifest fold %.2f s\n", hostile_n, t1 - t0, t2 - t1, t3 - t2);
	assert_true(t2 - t1 < 10.0);
	assert_true(t3 - t2 < 10.0);
}

/*
 * Requested paths whose byte order is not their tree order ('-' and '.'
 * sort before '/'): a path is in scope by the nearest requested path
 * before it, which must be its ancestor when it has one.
 */
static void test_paths_sorted_lookup(void **state)
{
	static const char *p1[] = { "/a-b", "/a" };
	static const char *p2[] = { "/a/b-c", "/a/b", "/a-b" };
	static const char *p3[] = { "/a", "/a/b-c", "/a/b.c" };
	struct tb t1, t2;
	rv_layers_list *l[2];
	rv_layers_opts o;
	rv_manifest *m;

	(void)state;
	tb_start(&t1);
	tb_add(&t1, 'f', "a/x", 0644, 0, "x");
	tb_add(&t1, 'f', "a-b/y", 0644, 0, "y");
	tb_add(&t1, 'f', "a.c/z", 0644, 0, "z");
	tb_add(&t1, 'f', "a/b/x", 0644, 0, "x");
	tb_add(&t1, 'f', "a/b-c/y", 0644, 0, "y");
	tb_add(&t1, 'f', "ab", 0644, 0, "w");
	tb_finish(&t1);
	tb_start(&t2);
	tb_add(&t2, 'l', "a", 0777, 0, "/srv");
	tb_finish(&t2);
	memset(&o, 0, sizeof(o));

	o.paths = p1;
	o.npaths = 2;
	assert_int_equal(read_layer(&l[0], RV_LAYERS_TAR, t1.out.ptr, t1.out.len, &o), 0);
	assert_int_equal(rv_layers_fold(&m, l, 1, &o), 0);
	assert_int_equal(m->count, 8);
	assert_int_equal(find(m, "/a")->type, RV_FT_DIR);
	assert_non_null(find(m, "/a/x"));
	assert_non_null(find(m, "/a/b/x"));
	assert_non_null(find(m, "/a/b-c/y"));
	assert_non_null(find(m, "/a-b/y"));
	assert_null(find(m, "/a.c/z"));
	assert_null(find(m, "/ab"));
	rv_manifest_free(m);
	rv_layers_list_free(l[0]);

	o.paths = p2;
	o.npaths = 3;
	assert_int_equal(read_layer(&l[0], RV_LAYERS_TAR, t1.out.ptr, t1.out.len, &o), 0);
	assert_int_equal(read_layer(&l[1], RV_LAYERS_TAR, t2.out.ptr, t2.out.len, &o), 0);
	assert_int_equal(rv_layers_list_count(l[1]), 1); /* above the paths: kept */
	assert_int_equal(rv_layers_fold(&m, l, 1, &o), 0);
	assert_int_equal(m->count, 6);
	assert_null(find(m, "/a"));
	assert_null(find(m, "/a/x"));
	assert_non_null(find(m, "/a/b/x"));
	assert_non_null(find(m, "/a/b-c/y"));
	assert_non_null(find(m, "/a-b/y"));
	rv_manifest_free(m);
	/* the symlink at /a hides both roots below it, not /a-b */
	assert_int_equal(rv_layers_fold(&m, l, 2, &o), 0);
	assert_int_equal(m->count, 4);
	assert_int_equal(find(m, "/a/b")->type, RV_FT_UNKNOWN);
	assert_int_equal(find(m, "/a/b-c")->type, RV_FT_UNKNOWN);
	assert_non_null(find(m, "/a-b/y"));
	rv_manifest_free(m);
	rv_layers_list_free(l[0]);
	rv_layers_list_free(l[1]);

	/* nested paths: those below another add nothing */
	o.paths = p3;
	o.npaths = 3;
	assert_int_equal(read_layer(&l[0], RV_LAYERS_TAR, t1.out.ptr, t1.out.len, &o), 0);
	assert_int_equal(rv_layers_fold(&m, l, 1, &o), 0);
	assert_int_equal(m->count, 7); /* /a, x, b, b/x, b-c, b-c/y, b.c missing */
	assert_non_null(find(m, "/a/b/x"));
	assert_int_equal(find(m, "/a/b.c")->type, RV_FT_UNKNOWN);
	rv_manifest_free(m);
	rv_layers_list_free(l[0]);
	rv_buf_dispose(&t1.out);
	rv_buf_dispose(&t2.out);
}

/*
 * Hardlinks at database paths to files that are no database (pnpm's
 * store, deduplicated images): the first fold cannot give their
 * contents; rv_layers_db_link_targets names the targets and the layers
 * holding them, and those layers read again with opts->db_targets give
 * the contents the probe reads, at the link's cap, the targets
 * themselves staying out of the set.
 */
static void test_dbset_link_targets(void **state)
{
	struct tb t[2];
	rv_layers_list *l[2], *p;
	rv_layers_opts o;
	rv_layers_target *tg;
	rv_dbset *s;
	rv_buf a = RV_BUF_INIT((size_t)1 << 30);
	unsigned char need[2];
	size_t nt;
	int i;

	(void)state;
	tb_start(&t[0]);
	tb_add(&t[0], 'f', "store/aa", 0644, 0, "{\"name\":\"q\",\"version\":\"1.0.0\"}");
	tb_add(&t[0], 'f', "store/zz", 0644, 0, "replaced below");
	tb_add(&t[0], 'f', "other/file", 0644, 0, "x");
	tb_finish(&t[0]);
	tb_start(&t[1]);
	tb_add(&t[1], 'f', "store/bb", 0644, 0, "{\"name\":\"p\",\"version\":\"2.0.0\"}");
	tb_add_big(&t[1], "store/cc", (4u << 20) + 1, 'c');                           /* over npm's cap */
	tb_add(&t[1], 'f', "store/zz", 0644, 0, "{\"name\":\"z\"}");                  /* the later one */
	tb_add(&t[1], 'h', "app/node_modules/p/package.json", 0644, 0, "store/bb");  /* same layer */
	tb_add(&t[1], 'h', "app/node_modules/q/package.json", 0644, 0, "store/aa");  /* earlier layer */
	tb_add(&t[1], 'h', "app/node_modules/c/package.json", 0644, 0, "store/cc");
	tb_add(&t[1], 'h', "app/node_modules/z/package.json", 0644, 0, "store/zz");
	tb_add(&t[1], 'h', "app/node_modules/n/package.json", 0644, 0, "store/none"); /* no such file */
	tb_add(&t[1], 'h', "app/node_modules/q2/package.json", 0644, 0, "store/aa");
	tb_finish(&t[1]);
	memset(&o, 0, sizeof(o));
	o.packages = 1;
	for (i = 0; i < 2; i++)
		assert_int_equal(read_layer(&l[i], RV_LAYERS_TAR, t[i].out.ptr, t[i].out.len, &o), 0);
	assert_int_equal(rv_layers_fold_dbset(&s, l, 2, &o), 0);
	assert_int_equal(s->failed, 6);
	assert_non_null(strstr(dbf(s, "/app/node_modules/p/package.json")->error,
		"hardlink to '/store/bb', whose contents were not captured"));
	rv_dbset_free(s);

	assert_int_equal(rv_layers_db_link_targets(&tg, &nt, need, l, 2), 0);
	assert_int_equal(nt, 5);
	assert_string_equal(tg[0].path, "/store/aa"); /* sorted, one each */
	assert_string_equal(tg[1].path, "/store/bb");
	assert_string_equal(tg[2].path, "/store/cc");
	assert_string_equal(tg[3].path, "/store/none");
	assert_string_equal(tg[4].path, "/store/zz");
	assert_int_equal(tg[0].max, 4u << 20);
	assert_int_equal(need[0], 1);
	assert_int_equal(need[1], 1);

	/* the second pass */
	o.db_targets = tg;
	o.ndb_targets = nt;
	for (i = 0; i < 2; i++) {
		rv_layers_list_free(l[i]);
		assert_int_equal(read_layer(&l[i], RV_LAYERS_TAR, t[i].out.ptr, t[i].out.len, &o), 0);
	}
	assert_int_equal(rv_layers_fold_dbset(&s, l, 2, &o), 0);
	assert_int_equal(s->n, 6);
	assert_true(dbf_is(s, "/app/node_modules/p/package.json", "{\"name\":\"p\",\"version\":\"2.0.0\"}"));
	assert_true(dbf_is(s, "/app/node_modules/q/package.json", "{\"name\":\"q\",\"version\":\"1.0.0\"}"));
	assert_true(dbf_is(s, "/app/node_modules/q2/package.json", "{\"name\":\"q\",\"version\":\"1.0.0\"}"));
	assert_true(dbf_is(s, "/app/node_modules/z/package.json", "{\"name\":\"z\"}"));
	assert_string_equal(dbf(s, "/app/node_modules/c/package.json")->error,
		"larger than the limit of 4194304 bytes");
	assert_non_null(strstr(dbf(s, "/app/node_modules/n/package.json")->error,
		"hardlink to '/store/none', whose contents were not captured"));
	assert_null(dbf(s, "/store/aa")); /* not a database */
	assert_int_equal(s->failed, 2);
	/* through the cache form and back: the same set */
	assert_int_equal(rv_layers_list_serialize(&a, l[1]), 0);
	assert_int_equal(rv_layers_list_parse(&p, a.ptr, a.len), 0);
	rv_layers_list_free(l[1]);
	l[1] = p;
	{
		rv_dbset *s2;
		unsigned char d1[RV_SHA256_LEN], d2[RV_SHA256_LEN];

		assert_int_equal(rv_layers_fold_dbset(&s2, l, 2, &o), 0);
		assert_int_equal(rv_dbset_digest(d1, s), 0);
		assert_int_equal(rv_dbset_digest(d2, s2), 0);
		assert_memory_equal(d1, d2, sizeof(d1));
		rv_dbset_free(s2);
	}
	/* an image-cap drop reaches the targets too: no contents kept */
	assert_int_equal(rv_layers_list_drop_db(l[0], "dropped for a test"), 0);
	assert_int_equal(rv_layers_list_db_bytes(l[0]), 0);
	rv_dbset_free(s);
	assert_int_equal(rv_layers_fold_dbset(&s, l, 2, &o), 0);
	assert_non_null(strstr(dbf(s, "/app/node_modules/q/package.json")->error, "not captured"));
	assert_true(dbf_is(s, "/app/node_modules/p/package.json", "{\"name\":\"p\",\"version\":\"2.0.0\"}"));
	rv_dbset_free(s);
	rv_layers_targets_free(tg, nt);
	for (i = 0; i < 2; i++) {
		rv_layers_list_free(l[i]);
		rv_buf_dispose(&t[i].out);
	}
	rv_buf_dispose(&a);
}

/* Past opts->max_ops a layer is an error naming the cap, not a loss. */
static void test_ops_cap(void **state)
{
	rv_layers_list *l;
	rv_layers_opts o;

	(void)state;
	hostile_n = 10;
	memset(&o, 0, sizeof(o));
	o.max_ops = 20;
	assert_int_equal(gen_layer(&l, 20, name_replace, &o), 0);
	assert_int_equal(rv_layers_list_count(l), 20);
	rv_layers_list_free(l);
	o.max_ops = 19;
	assert_int_equal(gen_layer(&l, 20, name_replace, &o), RV_ETOOBIG);
	assert_null(l);
	assert_non_null(strstr(rv_error_last(), "more than 19 entries"));
	o.packages = 1; /* 30 ops */
	o.max_ops = 29;
	assert_int_equal(gen_layer(&l, 20, name_replace, &o), RV_ETOOBIG);
}

static void test_media_types(void **state)
{
	rv_layers_compression c;

	(void)state;
	assert_int_equal(rv_layers_compression_of(&c, "application/vnd.oci.image.layer.v1.tar+gzip"), 0);
	assert_int_equal(c, RV_LAYERS_GZIP);
	assert_int_equal(rv_layers_compression_of(&c, "application/vnd.oci.image.layer.v1.tar+zstd"), 0);
	assert_int_equal(c, RV_LAYERS_ZSTD);
	assert_int_equal(rv_layers_compression_of(&c, "application/vnd.docker.image.rootfs.diff.tar.gzip"), 0);
	assert_int_equal(c, RV_LAYERS_GZIP);
	assert_int_equal(rv_layers_compression_of(&c, "application/vnd.oci.image.layer.v1.tar"), 0);
	assert_int_equal(c, RV_LAYERS_TAR);
	assert_int_equal(rv_layers_compression_of(&c,
		"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"), RV_EUNSUPPORTED);
	assert_int_equal(rv_layers_compression_of(&c, ""), RV_EUNSUPPORTED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entries_and_types),
		cmocka_unit_test(test_whiteouts_and_opaque),
		cmocka_unit_test(test_hardlinks),
		cmocka_unit_test(test_paths_filter_and_roots),
		cmocka_unit_test(test_bad_paths),
		cmocka_unit_test(test_codecs_agree),
		cmocka_unit_test(test_serialize_round_trip),
		cmocka_unit_test(test_media_types),
		cmocka_unit_test(test_dbset_capture),
		cmocka_unit_test(test_dbset_caps),
		cmocka_unit_test(test_dbset_serialize_and_cache),
		cmocka_unit_test(test_hostile_fold_is_linear),
		cmocka_unit_test(test_hostile_deep_paths),
		cmocka_unit_test(test_implied_cap),
		cmocka_unit_test(test_hostile_link_targets),
		cmocka_unit_test(test_paths_sorted_lookup),
		cmocka_unit_test(test_dbset_link_targets),
		cmocka_unit_test(test_ops_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
