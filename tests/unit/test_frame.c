/* test_frame.c - the probe's frame codec and summary line */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <cmocka.h>

#include "core/dbset.h"
#include "core/frame.h"
#include "core/summary.h"
#include "core/manifest.h"
#include "util/error.h"
#include "util/sha256.h"
#include "util/banned.h"

/* --- building manifests ------------------------------------------------- */

static void fake_digest(unsigned char d[RV_SHA256_LEN], unsigned seed)
{
	assert_int_equal(rv_sha256_buf(d, &seed, sizeof(seed)), 0);
}

static void add(rv_manifest *m, const char *path, size_t plen, rv_ftype type,
	uint32_t mode, uint64_t size, int err, unsigned seed)
{
	rv_manifest_entry e;

	memset(&e, 0, sizeof(e));
	e.path = (char *)path;
	e.path_len = plen;
	e.type = type;
	e.mode = mode;
	e.uid = seed % 3 ? 1000 : 0;
	e.gid = e.uid;
	e.err = err;
	if (type == RV_FT_FILE || type == RV_FT_SYMLINK)
		e.size = size;
	if ((type == RV_FT_FILE || type == RV_FT_SYMLINK) && !err) {
		e.has_digest = 1;
		fake_digest(e.digest, seed);
	}
	if (type == RV_FT_UNKNOWN)
		e.mode = e.uid = e.gid = 0;
	assert_int_equal(rv_manifest_add(m, &e), 0);
}

#define ADD(m, lit, ...) add(m, lit, sizeof(lit) - 1, __VA_ARGS__)

static rv_manifest *m_empty(void)
{
	rv_manifest *m;

	assert_int_equal(rv_manifest_new(&m), 0);
	return m;
}

static rv_manifest *m_odd(void)
{
	rv_manifest *m = m_empty();

	ADD(m, "/app", RV_FT_DIR, 0755, 0, 0, 1);
	ADD(m, "/app/a b", RV_FT_FILE, 0644, 3, 0, 2);
	ADD(m, "/app/new\nline", RV_FT_FILE, 0600, 0, 0, 3);
	ADD(m, "/app/back\\slash", RV_FT_SYMLINK, 0777, 9, 0, 4);
	ADD(m, "/app/\xff\xfe\x01", RV_FT_FILE, 04755, 12345678901ull, 0, 5);
	ADD(m, "/app/p\xc3\xa9", RV_FT_FIFO, 0644, 0, 0, 6);
	ADD(m, "/app/tab\there", RV_FT_SOCKET, 0, 0, 0, 7);
	assert_int_equal(rv_manifest_sort(m), 0);
	return m;
}

static rv_manifest *m_errors(void)
{
	rv_manifest *m = m_empty();

	ADD(m, "/app", RV_FT_DIR, 0755, 0, 0, 1);
	ADD(m, "/app/secret", RV_FT_FILE, 0600, 4096, EACCES, 2);
	ADD(m, "/app/locked", RV_FT_DIR, 0700, 0, EACCES, 3);
	ADD(m, "/app/config", RV_FT_MOUNT, 0755, 0, 0, 4);
	ADD(m, "/opt", RV_FT_UNKNOWN, 0, 0, ENOENT, 5);
	assert_int_equal(rv_manifest_sort(m), 0);
	return m;
}

/* Enough entries with incompressible digests for a frame of many lines. */
static rv_manifest *m_big(unsigned n)
{
	rv_manifest *m = m_empty();
	char path[64];
	unsigned i;

	ADD(m, "/app", RV_FT_DIR, 0755, 0, 0, 1);
	for (i = 0; i < n; i++) {
		int len = snprintf(path, sizeof(path), "/app/f%05u", i);

		add(m, path, (size_t)len, RV_FT_FILE, 0644, i * 7, 0, i + 100);
	}
	assert_int_equal(rv_manifest_sort(m), 0);
	return m;
}

static void encode(rv_buf *out, const rv_manifest *m)
{
	rv_buf_init(out, 1 << 28);
	assert_int_equal(rv_frame_encode(out, m), 0);
}

/* --- editing frames line by line ---------------------------------------- */

typedef struct lines {
	char *v[4096];
	size_t n;
} lines;

static void split(lines *l, const char *s, size_t len)
{
	const char *end = s + len;

	l->n = 0;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = nl ? (size_t)(nl - s) + 1 : (size_t)(end - s);

		assert_true(l->n < 4096);
		l->v[l->n] = malloc(n + 1);
		assert_non_null(l->v[l->n]);
		memcpy(l->v[l->n], s, n);
		l->v[l->n][n] = '\0';
		l->n++;
		s += n;
	}
}

static void join(rv_buf *out, const lines *l)
{
	size_t i;

	rv_buf_init(out, 1 << 28);
	for (i = 0; i < l->n; i++)
		assert_int_equal(rv_buf_puts(out, l->v[i]), 0);
}

static void drop(lines *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	l->n = 0;
}

static void remove_line(lines *l, size_t i)
{
	free(l->v[i]);
	memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof(char *));
	l->n--;
}

static void insert_line(lines *l, size_t i, const char *s)
{
	memmove(&l->v[i + 1], &l->v[i], (l->n - i) * sizeof(char *));
	l->v[i] = strdup(s);
	assert_non_null(l->v[i]);
	l->n++;
}

static void set_line(lines *l, size_t i, const char *s)
{
	free(l->v[i]);
	l->v[i] = strdup(s);
	assert_non_null(l->v[i]);
}

/* Decode text; return the code and keep the message. */
static int try_decode(const char *s, size_t len, size_t max_raw)
{
	rv_manifest *m = (rv_manifest *)1;
	int rc;

	rv_error_clear();
	rc = rv_frame_decode(&m, NULL, s, len, max_raw);
	if (rc == 0)
		rv_manifest_free(m);
	else
		assert_null(m);
	return rc;
}

static int decode_lines(const lines *l)
{
	rv_buf b;
	int rc;

	join(&b, l);
	rc = try_decode(b.ptr ? b.ptr : "", b.len, 0);
	rv_buf_dispose(&b);
	return rc;
}

static void expect_error(int rc, int code, const char *needle)
{
	if (rc != code || !strstr(rv_error_last(), needle))
		fail_msg("got %d '%s', expected %d with '%s'", rc,
			rv_error_last(), code, needle);
}

/* An independent frame writer from the format in docs/probe.md, for
 * frames the encoder never makes. */
static void hand_frame(rv_buf *out, const char *raw, size_t rawlen,
	const unsigned char *z, size_t zlen, size_t entries, size_t errors)
{
	unsigned char root[RV_SHA256_LEN], sum[RV_SHA256_LEN];
	char rhex[RV_SHA256_HEX], shex[RV_SHA256_HEX];
	unsigned char b64[80];
	size_t lines_n = (zlen + 47) / 48, i;

	rv_sha256_buf(root, raw, rawlen);
	rv_sha256_buf(sum, z, zlen);
	rv_sha256_to_hex(rhex, root);
	rv_sha256_to_hex(shex, sum);
	rv_buf_init(out, 1 << 28);
	assert_int_equal(rv_buf_printf(out, "rv-frame 1 begin entries=%zu "
		"errors=%zu raw=%zu zlen=%zu lines=%zu root=%s\n", entries,
		errors, rawlen, zlen, lines_n, rhex), 0);
	for (i = 0; i < lines_n; i++) {
		size_t n = zlen - i * 48 < 48 ? zlen - i * 48 : 48;
		static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		const unsigned char *p = z + i * 48;
		size_t j, o = 0;

		for (j = 0; j < n; j += 3) {
			uint32_t v = (uint32_t)p[j] << 16 |
				(j + 1 < n ? (uint32_t)p[j + 1] << 8 : 0) |
				(j + 2 < n ? p[j + 2] : 0);

			b64[o++] = (unsigned char)a[v >> 18];
			b64[o++] = (unsigned char)a[(v >> 12) & 63];
			b64[o++] = j + 1 < n ? (unsigned char)a[(v >> 6) & 63] : '=';
			b64[o++] = j + 2 < n ? (unsigned char)a[v & 63] : '=';
		}
		assert_int_equal(rv_buf_printf(out, "p %zu %.*s\n", i + 1,
			(int)o, b64), 0);
	}
	assert_int_equal(rv_buf_printf(out, "rv-frame 1 end sha256=%s lines=%zu\n",
		shex, lines_n), 0);
}

static void hand_frame_raw(rv_buf *out, const char *raw, size_t rawlen,
	size_t entries, size_t errors)
{
	uLongf zlen = compressBound(rawlen);
	unsigned char *z = malloc(zlen);

	assert_non_null(z);
	assert_int_equal(compress2(z, &zlen, (const Bytef *)raw, rawlen, 9), Z_OK);
	hand_frame(out, raw, rawlen, z, zlen, entries, errors);
	free(z);
}

/* --- round trips -------------------------------------------------------- */

static void round_trip(rv_manifest *m)
{
	rv_buf frame, a = RV_BUF_INIT(1 << 28), b = RV_BUF_INIT(1 << 28);
	rv_manifest *back = NULL;
	unsigned char root[RV_SHA256_LEN], want[RV_SHA256_LEN];
	rv_manifest_stats st;
	const char *p, *nl;
	char head[128];

	encode(&frame, m);
	/* Every line is short, printable ASCII, and ends in '\n'. */
	for (p = frame.ptr; p < frame.ptr + frame.len; p = nl + 1) {
		const char *q;

		nl = memchr(p, '\n', (size_t)(frame.ptr + frame.len - p));
		assert_non_null(nl);
		assert_true(nl - p <= 160);
		if (p[0] == 'p')
			assert_true(nl - p <= 80);
		for (q = p; q < nl; q++)
			assert_true(*q >= 0x20 && *q < 0x7f);
	}
	rv_manifest_stats_get(&st, m);
	snprintf(head, sizeof(head), "rv-frame 1 begin entries=%zu errors=%zu ",
		st.entries, st.errors);
	assert_memory_equal(frame.ptr, head, strlen(head));

	assert_int_equal(rv_frame_decode(&back, root, frame.ptr, frame.len, 0), 0);
	assert_int_equal(rv_manifest_root_hash(want, m), 0);
	assert_memory_equal(root, want, RV_SHA256_LEN);
	assert_int_equal(rv_manifest_serialize(&a, m), 0);
	assert_int_equal(rv_manifest_serialize(&b, back), 0);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.ptr, b.ptr, a.len);
	/* root_out may be NULL. */
	rv_manifest_free(back);
	assert_int_equal(rv_frame_decode(&back, NULL, frame.ptr, frame.len, 0), 0);
	rv_manifest_free(back);
	rv_buf_dispose(&frame);
	rv_buf_dispose(&a);
	rv_buf_dispose(&b);
	rv_manifest_free(m);
}

static void test_round_trip_empty(void **state)
{
	round_trip(m_empty());
}

static void test_round_trip_odd_names(void **state)
{
	round_trip(m_odd());
}

static void test_round_trip_errors(void **state)
{
	round_trip(m_errors());
}

static void test_round_trip_big(void **state)
{
	round_trip(m_big(300));
	round_trip(m_big(1));
}

/* The encoder writes exactly the documented format. */
static void test_encoder_matches_format(void **state)
{
	rv_manifest *m = m_errors();
	rv_buf frame, raw = RV_BUF_INIT(1 << 20), hand;

	encode(&frame, m);
	assert_int_equal(rv_manifest_serialize(&raw, m), 0);
	hand_frame_raw(&hand, raw.ptr, raw.len, 5, 3);
	assert_int_equal(frame.len, hand.len);
	assert_memory_equal(frame.ptr, hand.ptr, frame.len);
	rv_buf_dispose(&frame);
	rv_buf_dispose(&hand);
	rv_buf_dispose(&raw);
	rv_manifest_free(m);
}

static void test_encode_unsorted_fails_cleanly(void **state)
{
	rv_manifest *m = m_empty();
	rv_buf out = RV_BUF_INIT(1 << 20);

	ADD(m, "/b", RV_FT_DIR, 0755, 0, 0, 1);
	ADD(m, "/a", RV_FT_DIR, 0755, 0, 0, 2);
	assert_int_equal(rv_buf_puts(&out, "keep"), 0);
	assert_true(rv_frame_encode(&out, m) < 0);
	assert_string_equal(out.ptr, "keep");
	rv_buf_dispose(&out);
	rv_manifest_free(m);
}

static void test_encode_respects_out_max(void **state)
{
	rv_manifest *m = m_big(50);
	rv_buf out = RV_BUF_INIT(100);

	assert_int_equal(rv_frame_encode(&out, m), RV_ETOOBIG);
	assert_int_equal(out.len, 0);
	rv_buf_dispose(&out);
	rv_manifest_free(m);
}

/* --- noise around the frame --------------------------------------------- */

static void test_noise_around_frame(void **state)
{
	rv_manifest *m = m_odd();
	rv_buf frame, log = RV_BUF_INIT(1 << 20);
	rv_manifest *back = NULL;
	static const char bin[] = "\x00\x01\xff binary \r noise";

	encode(&frame, m);
	assert_int_equal(rv_buf_puts(&log, "container starting\n"), 0);
	assert_int_equal(rv_buf_add(&log, bin, sizeof(bin)), 0);
	assert_int_equal(rv_buf_puts(&log, "\nrv-frame-ish but not a frame\n\n"), 0);
	assert_int_equal(rv_buf_add(&log, frame.ptr, frame.len), 0);
	assert_int_equal(rv_buf_puts(&log, "\nshutting down\nno newline at end"), 0);
	assert_int_equal(rv_frame_decode(&back, NULL, log.ptr, log.len, 0), 0);
	assert_int_equal(back->count, m->count);
	rv_manifest_free(back);
	rv_buf_dispose(&frame);
	rv_buf_dispose(&log);
	rv_manifest_free(m);
}

static void test_no_frame(void **state)
{
	expect_error(try_decode("", 0, 0), RV_EFORMAT, "no frame");
	expect_error(try_decode("hello\nworld\n", 12, 0), RV_EFORMAT, "no frame");
}

/* --- corruption ---------------------------------------------------------- */

typedef struct fixture {
	rv_buf frame;
	lines l;
	rv_manifest *m;
} fixture;

static int setup_big(void **state)
{
	fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->m = m_big(200);
	encode(&f->frame, f->m);
	split(&f->l, f->frame.ptr, f->frame.len);
	assert_true(f->l.n > 10);
	*state = f;
	return 0;
}

static int teardown_big(void **state)
{
	fixture *f = *state;

	drop(&f->l);
	rv_buf_dispose(&f->frame);
	rv_manifest_free(f->m);
	free(f);
	return 0;
}

static void test_intact_fixture_decodes(void **state)
{
	fixture *f = *state;

	assert_int_equal(decode_lines(&f->l), 0);
}

static void test_truncated(void **state)
{
	fixture *f = *state;
	size_t cuts[] = { 0, 1, 40, 0, 0, 0 };
	size_t i, endpos = f->frame.len - strlen(f->l.v[f->l.n - 1]);

	/* cut inside the header, after it, in the middle, inside the end
	 * line, and just before the end line's newline */
	cuts[3] = f->frame.len / 2;
	cuts[4] = endpos + 10;
	cuts[5] = f->frame.len - 1;
	cuts[0] = strlen(f->l.v[0]);
	cuts[1] = strlen(f->l.v[0]) - 5;
	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		int rc = try_decode(f->frame.ptr, cuts[i], 0);

		if (rc != RV_EFORMAT || !strstr(rv_error_last(), "truncated"))
			fail_msg("cut at %zu: %d '%s'", cuts[i], rc, rv_error_last());
	}
	/* the end line dropped, noise after it */
	remove_line(&f->l, f->l.n - 1);
	expect_error(decode_lines(&f->l), RV_EFORMAT, "truncated: no 'rv-frame 1 end' line");
	insert_line(&f->l, f->l.n, "some noise\n");
	expect_error(decode_lines(&f->l), RV_EFORMAT, "not a frame line");
}

static void test_line_removed(void **state)
{
	fixture *f = *state;

	remove_line(&f->l, 6); /* "p 6" */
	expect_error(decode_lines(&f->l), RV_EFORMAT,
		"frame line 7 out of order (expected 6): line 6 is missing");
}

static void test_last_payload_line_removed(void **state)
{
	fixture *f = *state;

	remove_line(&f->l, f->l.n - 2);
	expect_error(decode_lines(&f->l), RV_EFORMAT, "frame has");
}

static void test_lines_swapped(void **state)
{
	fixture *f = *state;
	char *t = f->l.v[6];

	f->l.v[6] = f->l.v[7];
	f->l.v[7] = t;
	expect_error(decode_lines(&f->l), RV_EFORMAT,
		"frame line 7 out of order (expected 6, which comes later at log line 8)");
}

static void test_line_duplicated(void **state)
{
	fixture *f = *state;

	insert_line(&f->l, 4, f->l.v[3]);
	expect_error(decode_lines(&f->l), RV_EFORMAT,
		"frame line 3 out of order (expected 4, which comes later");
}

static void test_noise_inside_frame(void **state)
{
	fixture *f = *state;

	insert_line(&f->l, 4, "W1122 kubelet says hi\n");
	expect_error(decode_lines(&f->l), RV_EFORMAT,
		"log line 5 inside the frame is not a frame line");
}

static void test_crlf_inside_frame(void **state)
{
	fixture *f = *state;
	char line[128];

	snprintf(line, sizeof(line), "%.*s\r\n", (int)strlen(f->l.v[2]) - 1,
		f->l.v[2]);
	set_line(&f->l, 2, line);
	expect_error(decode_lines(&f->l), RV_EFORMAT, "frame line 2: bad base64");
}

/* Any change to any character of a payload line is caught. */
static void test_every_flipped_base64_char(void **state)
{
	fixture *f = *state;
	static const char subst[] = "A/+9z=";
	size_t li[] = { 1, 5, 0 };
	size_t k, col, s;

	li[2] = f->l.n - 2; /* the last payload line, with its padding */
	for (k = 0; k < 3; k++) {
		char *orig = strdup(f->l.v[li[k]]);
		size_t start = strchr(orig + 2, ' ') - orig + 1;

		assert_non_null(orig);
		for (col = start; orig[col] != '\n'; col++) {
			for (s = 0; s < sizeof(subst) - 1; s++) {
				int rc;

				if (subst[s] == orig[col])
					continue;
				f->l.v[li[k]][col] = subst[s];
				rc = decode_lines(&f->l);
				if (rc == 0)
					fail_msg("line %zu col %zu '%c' accepted",
						li[k], col, subst[s]);
				assert_true(rc == RV_EFORMAT || rc == RV_EVERIFY);
			}
			f->l.v[li[k]][col] = orig[col];
		}
		assert_int_equal(decode_lines(&f->l), 0);
		free(orig);
	}
}

static void test_bad_base64_named(void **state)
{
	fixture *f = *state;

	f->l.v[3][10] = '*';
	expect_error(decode_lines(&f->l), RV_EFORMAT, "frame line 3: bad base64 at column 11");
}

static void test_wrong_sha(void **state)
{
	fixture *f = *state;
	char *e = f->l.v[f->l.n - 1];
	char *h = strstr(e, "sha256=") + 7;

	*h = *h == '0' ? '1' : '0';
	expect_error(decode_lines(&f->l), RV_EVERIFY, "does not match its sha256");
	*h = 'G';
	expect_error(decode_lines(&f->l), RV_EFORMAT, "malformed frame end");
}

static void test_wrong_root(void **state)
{
	fixture *f = *state;
	char *h = strstr(f->l.v[0], "root=") + 5;

	*h = *h == '0' ? '1' : '0';
	expect_error(decode_lines(&f->l), RV_EVERIFY, "root hash");
}

/* Replace "key=<number>" in a line by "key=<v>". */
static void set_field(lines *l, size_t i, const char *key, const char *v)
{
	char line[512], *p = strstr(l->v[i], key), *q;

	assert_non_null(p);
	p += strlen(key);
	q = p + strspn(p, "0123456789");
	snprintf(line, sizeof(line), "%.*s%s%s", (int)(p - l->v[i]), l->v[i], v, q);
	set_line(l, i, line);
}

static void test_wrong_counts(void **state)
{
	fixture *f = *state;
	char *orig = strdup(f->l.v[0]), *end = strdup(f->l.v[f->l.n - 1]);
	char buf[32];
	size_t zlen, raw, n;

	assert_non_null(orig);
	assert_non_null(end);
	sscanf(strstr(orig, "zlen="), "zlen=%zu", &zlen);
	sscanf(strstr(orig, "raw="), "raw=%zu", &raw);
	n = (zlen + 47) / 48;

	set_field(&f->l, 0, "entries=", "202");
	expect_error(decode_lines(&f->l), RV_EFORMAT, "header says entries=202");
	set_line(&f->l, 0, orig);
	set_field(&f->l, 0, "errors=", "1");
	expect_error(decode_lines(&f->l), RV_EFORMAT, "errors=1, the manifest has");
	set_line(&f->l, 0, orig);
	set_field(&f->l, 0, "errors=", "300");
	expect_error(decode_lines(&f->l), RV_EFORMAT, "more than entries");
	set_line(&f->l, 0, orig);

	snprintf(buf, sizeof(buf), "%zu", raw - 1);
	set_field(&f->l, 0, "raw=", buf);
	expect_error(decode_lines(&f->l), RV_EFORMAT, "inflates to more than raw=");
	set_line(&f->l, 0, orig);
	snprintf(buf, sizeof(buf), "%zu", raw + 1);
	set_field(&f->l, 0, "raw=", buf);
	expect_error(decode_lines(&f->l), RV_EFORMAT, "bytes, header says raw=");
	set_line(&f->l, 0, orig);

	snprintf(buf, sizeof(buf), "%zu", zlen - 1);
	set_field(&f->l, 0, "zlen=", buf);
	expect_error(decode_lines(&f->l), RV_EFORMAT, "bad base64");
	set_line(&f->l, 0, orig);
	snprintf(buf, sizeof(buf), "%zu", n * 48 + 1);
	set_field(&f->l, 0, "zlen=", buf);
	expect_error(decode_lines(&f->l), RV_EFORMAT, "lines=");
	set_line(&f->l, 0, orig);

	snprintf(buf, sizeof(buf), "%zu", n + 1);
	set_field(&f->l, 0, "lines=", buf);
	expect_error(decode_lines(&f->l), RV_EFORMAT, "does not match zlen");
	set_line(&f->l, 0, orig);
	set_field(&f->l, f->l.n - 1, "lines=", buf);
	expect_error(decode_lines(&f->l), RV_EFORMAT, "end says lines=");
	set_line(&f->l, f->l.n - 1, end);

	set_field(&f->l, 0, "entries=", "0201");
	expect_error(decode_lines(&f->l), RV_EFORMAT, "malformed frame header");
	set_line(&f->l, 0, orig);
	set_field(&f->l, 0, "entries=", "99999999999999999999999");
	expect_error(decode_lines(&f->l), RV_EFORMAT, "malformed frame header");
	set_line(&f->l, 0, orig);

	assert_int_equal(decode_lines(&f->l), 0);
	free(orig);
	free(end);
}

static void test_malformed_header(void **state)
{
	fixture *f = *state;
	char line[512];

	snprintf(line, sizeof(line), "%.*s \n", (int)strlen(f->l.v[0]) - 1, f->l.v[0]);
	set_line(&f->l, 0, line);
	expect_error(decode_lines(&f->l), RV_EFORMAT, "malformed frame header at log line 1");
	set_line(&f->l, 0, "rv-frame 1 begin\n");
	expect_error(decode_lines(&f->l), RV_EFORMAT, "malformed frame header");
}

static void test_oversize_raw(void **state)
{
	fixture *f = *state;
	size_t raw;

	sscanf(strstr(f->l.v[0], "raw="), "raw=%zu", &raw);
	expect_error(try_decode(f->frame.ptr, f->frame.len, raw - 1), RV_ETOOBIG,
		"over the limit");
	assert_int_equal(try_decode(f->frame.ptr, f->frame.len, raw), 0);
	/* A huge announced size is refused before anything is allocated. */
	set_field(&f->l, 0, "raw=", "18446744073709551615");
	expect_error(decode_lines(&f->l), RV_ETOOBIG, "over the limit");
}

static void test_zlen_larger_than_log(void **state)
{
	fixture *f = *state;

	/* raw and zlen grown together, lines consistent: the log is too short */
	set_field(&f->l, 0, "raw=", "200000000");
	set_field(&f->l, 0, "zlen=", "48000000");
	set_field(&f->l, 0, "lines=", "1000000");
	expect_error(decode_lines(&f->l), RV_EFORMAT, "the log holds only");
}

static void test_version_2(void **state)
{
	fixture *f = *state;

	f->l.v[0][9] = '2';
	expect_error(decode_lines(&f->l), RV_EUNSUPPORTED, "frame version 2");
	set_line(&f->l, 0, "rv-frame 17 begin whatever\n");
	expect_error(decode_lines(&f->l), RV_EUNSUPPORTED, "frame version 17");
}

static void test_two_begins(void **state)
{
	fixture *f = *state;

	insert_line(&f->l, 5, f->l.v[0]);
	expect_error(decode_lines(&f->l), RV_EFORMAT,
		"second frame begins at log line 6 inside the frame that begins at log line 1");
	remove_line(&f->l, 5);
	insert_line(&f->l, 1, f->l.v[0]);
	expect_error(decode_lines(&f->l), RV_EFORMAT, "second frame begins at log line 2");
}

static void test_second_frame_after_end(void **state)
{
	fixture *f = *state;
	rv_buf log = RV_BUF_INIT(1 << 24);

	assert_int_equal(rv_buf_add(&log, f->frame.ptr, f->frame.len), 0);
	assert_int_equal(rv_buf_puts(&log, "noise\n"), 0);
	assert_int_equal(rv_buf_add(&log, f->frame.ptr, f->frame.len), 0);
	expect_error(try_decode(log.ptr, log.len, 0), RV_EFORMAT,
		"after the frame's end");
	rv_buf_dispose(&log);
}

static void test_end_before_begin(void **state)
{
	fixture *f = *state;

	insert_line(&f->l, 0, f->l.v[f->l.n - 1]);
	expect_error(decode_lines(&f->l), RV_EFORMAT, "malformed frame header at log line 1");
}

static void test_extra_line_after_last(void **state)
{
	fixture *f = *state;
	char line[128];

	snprintf(line, sizeof(line), "p %zu AAAA\n", f->l.n - 1);
	insert_line(&f->l, f->l.n - 1, line);
	expect_error(decode_lines(&f->l), RV_EFORMAT, "after the last line");
}

/* --- payloads only a forger would write --------------------------------- */

static void test_payload_not_a_manifest(void **state)
{
	rv_buf fr;
	static const char junk[] = "hello world\n";

	hand_frame_raw(&fr, junk, strlen(junk), 0, 0);
	expect_error(try_decode(fr.ptr, fr.len, 0), RV_EFORMAT, "frame manifest");
	rv_buf_dispose(&fr);
	/* a sound manifest, but the header miscounts it */
	hand_frame_raw(&fr, "rv-manifest 1\n", 14, 1, 0);
	expect_error(try_decode(fr.ptr, fr.len, 0), RV_EFORMAT, "header says entries=1");
	rv_buf_dispose(&fr);
	hand_frame_raw(&fr, "rv-manifest 1\n", 14, 0, 0);
	assert_int_equal(try_decode(fr.ptr, fr.len, 0), 0);
	rv_buf_dispose(&fr);
}

static void test_trailing_data_after_stream(void **state)
{
	static const char raw[] = "rv-manifest 1\n";
	unsigned char z[256];
	uLongf zlen = sizeof(z) - 4;
	rv_buf fr;

	assert_int_equal(compress2(z, &zlen, (const Bytef *)raw, 14, 9), Z_OK);
	memcpy(z + zlen, "JUNK", 4);
	hand_frame(&fr, raw, 14, z, zlen + 4, 0, 0);
	expect_error(try_decode(fr.ptr, fr.len, 0), RV_EFORMAT, "after the end of the compressed stream");
	rv_buf_dispose(&fr);
	/* cut the stream short: the adler32 trailer is missing */
	hand_frame(&fr, raw, 14, z, zlen - 4, 0, 0);
	expect_error(try_decode(fr.ptr, fr.len, 0), RV_EFORMAT, "truncated");
	rv_buf_dispose(&fr);
	/* a corrupt stream with a matching sha256 */
	z[5] ^= 0x55;
	hand_frame(&fr, raw, 14, z, zlen, 0, 0);
	expect_error(try_decode(fr.ptr, fr.len, 0), RV_EFORMAT, "");
	rv_buf_dispose(&fr);
}

/* A small frame that inflates to far more than it announces stops at
 * raw= bytes. */
static void test_zip_bomb(void **state)
{
	size_t big = 64 << 20;
	char *zeros = calloc(1, big);
	uLongf zlen = compressBound(big);
	unsigned char *z = malloc(zlen);
	rv_buf fr;

	assert_non_null(zeros);
	assert_non_null(z);
	assert_int_equal(compress2(z, &zlen, (const Bytef *)zeros, big, 9), Z_OK);
	assert_true(zlen < 100000);
	/* raw must stay within zlib's bound for zlen: announce 1 MiB */
	hand_frame(&fr, zeros, 1 << 20, z, zlen, 0, 0);
	expect_error(try_decode(fr.ptr, fr.len, 0), RV_EFORMAT, "inflates to more than raw=1048576");
	rv_buf_dispose(&fr);
	free(z);
	free(zeros);
}

/* --- summary ------------------------------------------------------------ */

static void summary_round_trip(rv_manifest *m, int complete)
{
	rv_buf s = RV_BUF_INIT(RV_SUMMARY_MAX);
	rv_summary sum;
	rv_manifest_stats st;
	unsigned char root[RV_SHA256_LEN];

	assert_int_equal(rv_summary_format(&s, m), 0);
	assert_true(s.len < RV_SUMMARY_MAX);
	assert_int_equal(s.ptr[s.len - 1], '\n');
	assert_null(memchr(s.ptr, '\n', s.len - 1));
	assert_int_equal(rv_summary_parse(&sum, s.ptr, s.len), 0);
	assert_int_equal(rv_summary_parse(&sum, s.ptr, s.len - 1), 0);
	rv_manifest_stats_get(&st, m);
	assert_int_equal(rv_manifest_root_hash(root, m), 0);
	assert_int_equal(sum.version, 1);
	assert_memory_equal(sum.root, root, RV_SHA256_LEN);
	assert_int_equal(sum.complete, complete);
	assert_int_equal(sum.stats.entries, st.entries);
	assert_int_equal(sum.stats.files, st.files);
	assert_int_equal(sum.stats.dirs, st.dirs);
	assert_int_equal(sum.stats.symlinks, st.symlinks);
	assert_int_equal(sum.stats.others, st.others);
	assert_int_equal(sum.stats.mounts, st.mounts);
	assert_int_equal(sum.stats.errors, st.errors);
	assert_int_equal(sum.stats.bytes, st.bytes);
	assert_non_null(strstr(s.ptr, complete ? " status=complete\n" : " status=incomplete\n"));
	rv_buf_dispose(&s);
	rv_manifest_free(m);
}

static void test_summary_round_trip(void **state)
{
	summary_round_trip(m_empty(), 1);
	summary_round_trip(m_odd(), 1);
	summary_round_trip(m_errors(), 0);
	summary_round_trip(m_big(10), 1);
}

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define GOOD "rv-probe 1 root=" H64 " entries=6 files=2 dirs=1 symlinks=1 " \
	"others=1 mounts=1 errors=1 bytes=77 status=incomplete"

static int parse_str(const char *s)
{
	rv_summary sum;

	rv_error_clear();
	return rv_summary_parse(&sum, s, strlen(s));
}

static void test_summary_good_literal(void **state)
{
	rv_summary sum;

	assert_int_equal(rv_summary_parse(&sum, GOOD "\n", strlen(GOOD) + 1), 0);
	assert_int_equal(sum.stats.entries, 6);
	assert_int_equal(sum.stats.bytes, 77);
	assert_int_equal(sum.complete, 0);
	assert_int_equal(sum.root[0], 0x01);
}

static void test_summary_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"\n",
		"rv-probe",
		"rv-probe 1",
		"rv-probe 1 ",
		GOOD " ",
		" " GOOD,
		GOOD "\n\n",
		GOOD "\r\n",
		GOOD " extra=1",
		"rv-probe 01 root=" H64 " entries=6 files=2 dirs=1 symlinks=1 others=1 mounts=1 errors=1 bytes=77 status=incomplete",
		"rv-probe 1 root=" H64 " entries=06 files=2 dirs=1 symlinks=1 others=1 mounts=1 errors=1 bytes=77 status=incomplete",
		"rv-probe 1 root=" H64 " entries=6 files=2 dirs=1 symlinks=1 others=1 mounts=1 errors=1 bytes=77 status=complete",
		"rv-probe 1 root=" H64 " entries=6 files=2 dirs=1 symlinks=1 others=1 mounts=1 errors=0 bytes=77 status=incomplete",
		"rv-probe 1 root=" H64 " entries=7 files=2 dirs=1 symlinks=1 others=1 mounts=1 errors=1 bytes=77 status=incomplete",
		"rv-probe 1 root=" H64 " entries=6 files=2 dirs=1 symlinks=1 others=1 mounts=1 errors=7 bytes=77 status=incomplete",
		"rv-probe 1 root=" H64 " entries=6 files=2 dirs=1 symlinks=1 others=1 mounts=1 errors=1 bytes=77 status=done",
		"rv-probe 1 root=" H64 " entries=6 files=2 dirs=1 symlinks=1 others=1 mounts=1 errors=1 bytes=-77 status=incomplete",
		"rv-probe 1 root=" H64 " entries=6 files=2 dirs=1 symlinks=1 others=1 mounts=1 errors=1 bytes=18446744073709551616 status=incomplete",
		"rv-probe 1 root=" H64 " files=2 entries=6 dirs=1 symlinks=1 others=1 mounts=1 errors=1 bytes=77 status=incomplete",
		"rv-probe 1 root=0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef entries=6 files=2 dirs=1 symlinks=1 others=1 mounts=1 errors=1 bytes=77 status=incomplete",
		"rv-probe 1 root=0123 entries=6 files=2 dirs=1 symlinks=1 others=1 mounts=1 errors=1 bytes=77 status=incomplete",
		"rv-probe 1 root=" H64 " entries=6  files=2 dirs=1 symlinks=1 others=1 mounts=1 errors=1 bytes=77 status=incomplete",
		"rv-probe 1 error=",
		"rv-frame 1 begin",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse_str(bad[i]);

		if (rc != RV_EFORMAT)
			fail_msg("'%s' gave %d (%s)", bad[i], rc, rv_error_last());
	}
	/* a NUL in the middle */
	{
		char s[512];
		size_t n = strlen(GOOD);
		rv_summary sum;

		memcpy(s, GOOD, n);
		s[20] = '\0';
		assert_int_equal(rv_summary_parse(&sum, s, n), RV_EFORMAT);
	}
}

static void test_summary_too_long(void **state)
{
	char *s = malloc(RV_SUMMARY_MAX + 10);
	rv_summary sum;

	assert_non_null(s);
	memset(s, ' ', RV_SUMMARY_MAX + 10);
	memcpy(s, GOOD, strlen(GOOD));
	assert_int_equal(rv_summary_parse(&sum, s, RV_SUMMARY_MAX), RV_EFORMAT);
	assert_non_null(strstr(rv_error_last(), "longer than"));
	free(s);
}

static void test_summary_version_2(void **state)
{
	expect_error(parse_str("rv-probe 2 root=" H64 " whatever"), RV_EUNSUPPORTED,
		"summary version 2");
}

static void test_summary_error_line(void **state)
{
	rv_buf s = RV_BUF_INIT(RV_SUMMARY_MAX);
	char *long_msg = malloc(5000);
	rv_summary sum;

	assert_non_null(long_msg);
	assert_int_equal(rv_summary_format_error(&s, "root '/x\ny': No such file\x01"), 0);
	assert_string_equal(s.ptr, "rv-probe 1 error=root '/x?y': No such file?\n");
	expect_error(rv_summary_parse(&sum, s.ptr, s.len), RV_ERROR,
		"probe failed: root '/x?y': No such file?");
	rv_buf_reset(&s);
	memset(long_msg, 'x', 4999);
	long_msg[4999] = '\0';
	assert_int_equal(rv_summary_format_error(&s, long_msg), 0);
	assert_true(s.len < RV_SUMMARY_MAX);
	assert_int_equal(rv_summary_parse(&sum, s.ptr, s.len), RV_ERROR);
	rv_buf_dispose(&s);
	free(long_msg);
}


/* --- the dbs frame (rv-probe --packages) --------------------------------- */

/* A set with text, binary and empty contents, odd names, fail records,
 * and (with big) enough incompressible bytes for many lines. */
static rv_dbset *dbs_sample(int big)
{
	static const char status[] = "Package: libc6\nStatus: install ok installed\n"
		"Version: 2.36-9\nArchitecture: amd64\n\n";
	static const char bin[] = "\x00\x01\n\xff rv-dbs 1 end \nrv-frame 1 begin\n";
	rv_dbset *s;
	unsigned char *rnd;
	size_t i;

	assert_int_equal(rv_dbset_new(&s), 0);
	assert_int_equal(rv_dbset_add(s, "/var/lib/dpkg/status", 20, status,
		sizeof(status) - 1), 0);
	assert_int_equal(rv_dbset_add(s, "/app/node_modules/a b/package.json", 34,
		bin, sizeof(bin) - 1), 0);
	assert_int_equal(rv_dbset_add(s, "/x/\n\xff.dist-info/METADATA", 24, "", 0), 0);
	assert_int_equal(rv_dbset_add_failed(s, "/srv", 4,
		"mount point, not descended"), 0);
	assert_int_equal(rv_dbset_add_failed(s, "/lib/apk/db/installed", 21,
		"cannot read: EACCES"), 0);
	if (big) {
		rnd = malloc(20000);
		assert_non_null(rnd);
		for (i = 0; i < 20000; i++)
			rnd[i] = (unsigned char)(i * 2654435761u >> 13);
		assert_int_equal(rv_sha256_buf(rnd, rnd, 20000), 0); /* less regular */
		assert_int_equal(rv_dbset_add(s, "/usr/lib/sysimage/rpm/rpmdb.sqlite",
			34, rnd, 20000), 0);
		free(rnd);
	}
	assert_int_equal(rv_dbset_sort(s), 0);
	return s;
}

static void encode_dbs(rv_buf *out, const rv_dbset *s)
{
	rv_buf_init(out, 1 << 28);
	assert_int_equal(rv_frame_encode_dbset(out, s), 0);
}

static int try_decode_dbs(const char *s, size_t len, size_t max_raw)
{
	rv_dbset *set = (rv_dbset *)1;
	int rc;

	rv_error_clear();
	rc = rv_frame_decode_dbset(&set, NULL, s, len, max_raw);
	if (rc == 0)
		rv_dbset_free(set);
	else
		assert_null(set);
	return rc;
}

static int decode_dbs_lines(const lines *l)
{
	rv_buf b;
	int rc;

	join(&b, l);
	rc = try_decode_dbs(b.ptr ? b.ptr : "", b.len, 0);
	rv_buf_dispose(&b);
	return rc;
}

static void dbs_equal(const rv_dbset *a, const rv_dbset *b)
{
	rv_buf x = RV_BUF_INIT(1 << 28), y = RV_BUF_INIT(1 << 28);

	assert_int_equal(rv_dbset_serialize(&x, a), 0);
	assert_int_equal(rv_dbset_serialize(&y, b), 0);
	assert_int_equal(x.len, y.len);
	assert_memory_equal(x.ptr, y.ptr, x.len);
	rv_buf_dispose(&x);
	rv_buf_dispose(&y);
}

static void test_dbs_round_trip(void **state)
{
	int big;

	for (big = 0; big < 2; big++) {
		rv_dbset *s = dbs_sample(big), *back = NULL, *empty;
		unsigned char dig[RV_SHA256_LEN], want[RV_SHA256_LEN];
		char head[160], hex[RV_SHA256_HEX];
		rv_buf frame, raw = RV_BUF_INIT(1 << 28);
		const char *p, *nl;

		encode_dbs(&frame, s);
		assert_int_equal(rv_dbset_serialize(&raw, s), 0);
		assert_int_equal(rv_dbset_digest(want, s), 0);
		rv_sha256_to_hex(hex, want);
		snprintf(head, sizeof(head), "rv-dbs 1 begin files=%zu failed=2 raw=%zu zlen=",
			s->n, raw.len);
		assert_memory_equal(frame.ptr, head, strlen(head));
		assert_non_null(strstr(frame.ptr, hex));
		for (p = frame.ptr; p < frame.ptr + frame.len; p = nl + 1) {
			const char *q;

			nl = memchr(p, '\n', (size_t)(frame.ptr + frame.len - p));
			assert_non_null(nl);
			assert_true(nl - p <= 160);
			for (q = p; q < nl; q++)
				assert_true(*q >= 0x20 && *q < 0x7f);
		}
		assert_int_equal(rv_frame_decode_dbset(&back, dig, frame.ptr, frame.len, 0), 0);
		assert_memory_equal(dig, want, RV_SHA256_LEN);
		dbs_equal(s, back);
		rv_dbset_free(back);
		/* the empty set has a frame too */
		assert_int_equal(rv_dbset_new(&empty), 0);
		rv_buf_reset(&frame);
		assert_int_equal(rv_frame_encode_dbset(&frame, empty), 0);
		assert_int_equal(rv_frame_decode_dbset(&back, NULL, frame.ptr, frame.len, 0), 0);
		assert_int_equal(back->n, 0);
		rv_dbset_free(back);
		rv_dbset_free(empty);
		rv_buf_dispose(&raw);
		rv_buf_dispose(&frame);
		rv_dbset_free(s);
	}
}

static void test_dbs_encode_unsorted(void **state)
{
	rv_dbset *s;
	rv_buf out = RV_BUF_INIT(1 << 20);

	assert_int_equal(rv_dbset_new(&s), 0);
	assert_int_equal(rv_dbset_add(s, "/b", 2, "x", 1), 0);
	assert_int_equal(rv_dbset_add(s, "/a", 2, "y", 1), 0);
	assert_int_equal(rv_buf_puts(&out, "keep"), 0);
	assert_int_equal(rv_frame_encode_dbset(&out, s), RV_EINVAL);
	assert_string_equal(out.ptr, "keep");
	rv_buf_dispose(&out);
	rv_dbset_free(s);
}

/* Manifest and dbs frames in one log, in either order, with noise around
 * and between: each decoder finds its own and skips the other. */
static void test_dbs_with_manifest(void **state)
{
	rv_manifest *m = m_odd(), *mback;
	rv_dbset *s = dbs_sample(1), *sback;
	rv_buf mf, df, log = RV_BUF_INIT(1 << 26);
	unsigned char root[RV_SHA256_LEN], want[RV_SHA256_LEN];
	int order;

	encode(&mf, m);
	encode_dbs(&df, s);
	assert_int_equal(rv_manifest_root_hash(want, m), 0);
	for (order = 0; order < 2; order++) {
		rv_buf_reset(&log);
		assert_int_equal(rv_buf_puts(&log, "noise\np 1 AAAA\nrv-dbs-ish\n"), 0);
		assert_int_equal(rv_buf_add(&log, order ? df.ptr : mf.ptr,
			order ? df.len : mf.len), 0);
		assert_int_equal(rv_buf_puts(&log, "between\n"), 0);
		assert_int_equal(rv_buf_add(&log, order ? mf.ptr : df.ptr,
			order ? mf.len : df.len), 0);
		assert_int_equal(rv_buf_puts(&log, "after\nno newline"), 0);
		assert_int_equal(rv_frame_decode(&mback, root, log.ptr, log.len, 0), 0);
		assert_memory_equal(root, want, RV_SHA256_LEN);
		assert_int_equal(mback->count, m->count);
		rv_manifest_free(mback);
		assert_int_equal(rv_frame_decode_dbset(&sback, NULL, log.ptr, log.len, 0), 0);
		dbs_equal(s, sback);
		rv_dbset_free(sback);
	}
	/* each alone: the other decoder finds nothing */
	expect_error(try_decode(df.ptr, df.len, 0), RV_EFORMAT, "no frame in the log");
	expect_error(try_decode_dbs(mf.ptr, mf.len, 0), RV_EFORMAT,
		"no dbs frame in the log (no 'rv-dbs 1 begin' line)");
	/* one inside the other: the outer one's strictness names the line */
	{
		lines l;
		rv_buf b;

		split(&l, mf.ptr, mf.len);
		insert_line(&l, 2, "rv-dbs 1 begin files=0 failed=0 raw=1 zlen=1 lines=1 digest=x\n");
		join(&b, &l);
		expect_error(try_decode(b.ptr, b.len, 0), RV_EFORMAT,
			"log line 3 inside the frame is not a frame line");
		rv_buf_dispose(&b);
		drop(&l);
		split(&l, df.ptr, df.len);
		insert_line(&l, 2, "rv-frame 1 end sha256=00 lines=1\n");
		join(&b, &l);
		expect_error(try_decode_dbs(b.ptr, b.len, 0), RV_EFORMAT,
			"log line 3 inside the dbs frame is not a dbs frame line");
		rv_buf_dispose(&b);
		drop(&l);
	}
	rv_buf_dispose(&mf);
	rv_buf_dispose(&df);
	rv_buf_dispose(&log);
	rv_manifest_free(m);
	rv_dbset_free(s);
}

/* Every strictness case of the manifest frame, on the dbs frame. */
static void test_dbs_strict(void **state)
{
	rv_dbset *s = dbs_sample(1);
	rv_buf frame, log = RV_BUF_INIT(1 << 24);
	lines l;
	char *orig, line[512], *h;
	size_t i, n, raw, zlen;

	encode_dbs(&frame, s);
	split(&l, frame.ptr, frame.len);
	n = l.n;
	assert_true(n > 10);
	assert_int_equal(decode_dbs_lines(&l), 0);
	expect_error(try_decode_dbs("", 0, 0), RV_EFORMAT, "no dbs frame");

	/* truncated anywhere */
	for (i = 8; i < frame.len; i += frame.len / 37 + 1) {
		int rc = try_decode_dbs(frame.ptr, i, 0);

		if (rc != RV_EFORMAT || !strstr(rv_error_last(), "truncated"))
			fail_msg("cut at %zu: %d '%s'", i, rc, rv_error_last());
	}
	/* a line removed, swapped, duplicated; noise inside */
	orig = strdup(l.v[4]);
	remove_line(&l, 4);
	expect_error(decode_dbs_lines(&l), RV_EFORMAT,
		"dbs frame line 5 out of order (expected 4): line 4 is missing");
	insert_line(&l, 4, orig);
	insert_line(&l, 6, orig);
	remove_line(&l, 4);
	expect_error(decode_dbs_lines(&l), RV_EFORMAT,
		"dbs frame line 5 out of order (expected 4, which comes later at log line 6)");
	remove_line(&l, 5);
	insert_line(&l, 4, orig);
	assert_int_equal(decode_dbs_lines(&l), 0);
	insert_line(&l, 4, orig);
	expect_error(decode_dbs_lines(&l), RV_EFORMAT, "dbs frame line 4 out of order (expected 5");
	remove_line(&l, 4);
	insert_line(&l, 3, "hello\n");
	expect_error(decode_dbs_lines(&l), RV_EFORMAT,
		"log line 4 inside the dbs frame is not a dbs frame line");
	remove_line(&l, 3);
	assert_int_equal(decode_dbs_lines(&l), 0);
	free(orig);
	/* base64 */
	orig = strdup(l.v[2]);
	l.v[2][10] = '*';
	expect_error(decode_dbs_lines(&l), RV_EFORMAT, "dbs frame line 2: bad base64 at column 11");
	set_line(&l, 2, orig);
	free(orig);
	/* the payload's sha256, the digest */
	orig = strdup(l.v[n - 1]);
	h = strstr(l.v[n - 1], "sha256=") + 7;
	h[0] = h[0] == '0' ? '1' : '0';
	expect_error(decode_dbs_lines(&l), RV_EVERIFY, "dbs frame payload does not match its sha256");
	set_line(&l, n - 1, orig);
	free(orig);
	orig = strdup(l.v[0]);
	h = strstr(l.v[0], "digest=") + 7;
	h[5] = h[5] == '0' ? '1' : '0';
	expect_error(decode_dbs_lines(&l), RV_EVERIFY, "does not match the digest hash");
	set_line(&l, 0, orig);
	/* counts and sizes in the header */
	sscanf(strstr(orig, "raw="), "raw=%zu", &raw);
	sscanf(strstr(orig, "zlen="), "zlen=%zu", &zlen);
#define HDR(files, failed, r, z, ln, dig) do { \
		snprintf(line, sizeof(line), "rv-dbs 1 begin files=%s failed=%s raw=%s " \
			"zlen=%s lines=%s digest=%s\n", files, failed, r, z, ln, dig); \
		set_line(&l, 0, line); } while (0)
	{
		char sraw[32], szlen[32], slines[32], dig[65], sraw1[32];

		snprintf(sraw, sizeof(sraw), "%zu", raw);
		snprintf(sraw1, sizeof(sraw1), "%zu", raw + 1);
		snprintf(szlen, sizeof(szlen), "%zu", zlen);
		snprintf(slines, sizeof(slines), "%zu", (zlen + 47) / 48);
		memcpy(dig, strstr(orig, "digest=") + 7, 64);
		dig[64] = '\0';
		HDR("6", "2", sraw, szlen, slines, dig);
		assert_int_equal(decode_dbs_lines(&l), 0);
		HDR("7", "2", sraw, szlen, slines, dig);
		expect_error(decode_dbs_lines(&l), RV_EFORMAT, "dbs frame header says files=7 failed=2, the set has 6 and 2");
		HDR("6", "1", sraw, szlen, slines, dig);
		expect_error(decode_dbs_lines(&l), RV_EFORMAT, "the set has 6 and 2");
		HDR("6", "7", sraw, szlen, slines, dig);
		expect_error(decode_dbs_lines(&l), RV_EFORMAT, "dbs frame header: failed=7 is more than files=6");
		HDR("6", "2", sraw1, szlen, slines, dig);
		expect_error(decode_dbs_lines(&l), RV_EFORMAT, "dbs frame payload inflates to");
		HDR("6", "2", sraw, szlen, "1", dig);
		expect_error(decode_dbs_lines(&l), RV_EFORMAT, "dbs frame header: lines=1 does not match");
		HDR("6", "2", sraw, "0", "0", dig);
		expect_error(decode_dbs_lines(&l), RV_EFORMAT, "zlen=0 is impossible");
		HDR("06", "2", sraw, szlen, slines, dig);
		expect_error(decode_dbs_lines(&l), RV_EFORMAT, "malformed dbs frame header at log line 1");
		HDR("6", "2", sraw, szlen, slines, "ABC");
		expect_error(decode_dbs_lines(&l), RV_EFORMAT, "malformed dbs frame header");
		set_line(&l, 0, orig);
		/* the manifest frame's field names are not the dbs frame's */
		snprintf(line, sizeof(line), "rv-dbs 1 begin entries=6 errors=2 raw=%s "
			"zlen=%s lines=%s root=%s\n", sraw, szlen, slines, dig);
		set_line(&l, 0, line);
		expect_error(decode_dbs_lines(&l), RV_EFORMAT, "malformed dbs frame header");
		set_line(&l, 0, orig);
	}
#undef HDR
	/* over max_raw, version 2, two begins, a second frame after the end,
	 * the end before the begin, the end's line count */
	expect_error(try_decode_dbs(frame.ptr, frame.len, raw - 1), RV_ETOOBIG, "over the limit");
	l.v[0][7] = '2';
	expect_error(decode_dbs_lines(&l), RV_EUNSUPPORTED, "dbs frame version 2 at log line 1");
	set_line(&l, 0, orig);
	insert_line(&l, 5, orig);
	expect_error(decode_dbs_lines(&l), RV_EFORMAT,
		"second dbs frame begins at log line 6 inside the dbs frame that begins at log line 1");
	remove_line(&l, 5);
	assert_int_equal(rv_buf_add(&log, frame.ptr, frame.len), 0);
	assert_int_equal(rv_buf_puts(&log, "noise\n"), 0);
	assert_int_equal(rv_buf_add(&log, frame.ptr, frame.len), 0);
	expect_error(try_decode_dbs(log.ptr, log.len, 0), RV_EFORMAT, "after the dbs frame's end");
	insert_line(&l, 0, l.v[n - 1]);
	expect_error(decode_dbs_lines(&l), RV_EFORMAT, "malformed dbs frame header at log line 1");
	remove_line(&l, 0);
	free(orig);
	orig = strdup(l.v[n - 1]);
	h = strstr(l.v[n - 1], "lines=") + 6;
	snprintf(line, sizeof(line), "%.*s%zu\n", (int)(h - l.v[n - 1]), l.v[n - 1],
		(size_t)strtoul(h, NULL, 10) + 1);
	set_line(&l, n - 1, line);
	expect_error(decode_dbs_lines(&l), RV_EFORMAT, "end says lines=");
	set_line(&l, n - 1, orig);
	free(orig);
	assert_int_equal(decode_dbs_lines(&l), 0);
	drop(&l);
	rv_buf_dispose(&log);
	rv_buf_dispose(&frame);
	rv_dbset_free(s);
}

/* A frame whose payload is well framed but not a canonical set. */
static void test_dbs_payload_not_a_set(void **state)
{
	static const char *const bad[] = {
		"rv-manifest 1\n",
		"rv-dbset 1 files=1 failed=0 bytes=1\nfile 1 " "0000000000000000000000000000000000000000000000000000000000000000 /a\nx\n",
		"rv-dbset 2 files=0 failed=0 bytes=0\n",
		"rv-dbset 1 files=2 failed=0 bytes=0\n",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rv_buf fr, z = RV_BUF_INIT(1 << 20);
		uLongf zlen = compressBound(strlen(bad[i]));
		unsigned char *zb = malloc(zlen);
		int rc;

		assert_non_null(zb);
		assert_int_equal(compress2(zb, &zlen, (const Bytef *)bad[i], strlen(bad[i]), 9), Z_OK);
		hand_frame(&fr, bad[i], strlen(bad[i]), zb, zlen, 0, 0);
		/* the manifest frame's writer, retagged */
		assert_int_equal(rv_buf_puts(&z, ""), 0);
		{
			const char *p = fr.ptr;
			const char *nl;

			while ((nl = strchr(p, '\n'))) {
				if (!strncmp(p, "rv-frame 1 begin entries=0 errors=0 ", 36)) {
					const char *root = strstr(p, " root=");

					assert_int_equal(rv_buf_printf(&z, "rv-dbs 1 begin files=0 failed=0 %.*s digest=%.*s\n",
						(int)(root - p - 36), p + 36, 64, root + 6), 0);
				} else if (!strncmp(p, "rv-frame ", 9)) {
					assert_int_equal(rv_buf_printf(&z, "rv-dbs %.*s\n", (int)(nl - p - 9), p + 9), 0);
				} else {
					assert_int_equal(rv_buf_add(&z, p, (size_t)(nl - p + 1)), 0);
				}
				p = nl + 1;
			}
		}
		rc = try_decode_dbs(z.ptr, z.len, 0);
		if (rc >= 0 || !strstr(rv_error_last(), "dbs frame"))
			fail_msg("case %zu: %d '%s'", i, rc, rv_error_last());
		rv_buf_dispose(&fr);
		rv_buf_dispose(&z);
		free(zb);
	}
}

/* The log budget: the largest contents go first, deterministically,
 * until the frame fits; what is left decodes. */
static void test_dbs_fit(void **state)
{
	rv_dbset *a, *b, *back;
	rv_buf fa = RV_BUF_INIT(1 << 26), fb = RV_BUF_INIT(1 << 26);
	unsigned char *rnd = malloc(60000);
	size_t dropped = 0, i, k;
	char path[64];
	const rv_dbset_file *f;

	assert_non_null(rnd);
	for (i = 0; i < 60000; i += 32)
		assert_int_equal(rv_sha256_buf(rnd + i, &i, sizeof(i)), 0);
	assert_int_equal(rv_dbset_new(&a), 0);
	for (k = 0; k < 6; k++) {
		snprintf(path, sizeof(path), "/n/node_modules/p%zu/package.json", k);
		/* incompressible: 1, 2, ... 6 x 9000 bytes */
		assert_int_equal(rv_dbset_add(a, path, strlen(path), rnd + k, (k + 1) * 9000), 0);
	}
	assert_int_equal(rv_dbset_sort(a), 0);
	assert_int_equal(rv_dbset_parse(&b, "rv-dbset 1 files=0 failed=0 bytes=0\n", 36), 0);
	rv_dbset_free(b);
	/* a roomy budget changes nothing */
	assert_int_equal(rv_frame_encode_dbset_fit(&fa, a, 1u << 20, &dropped), 0);
	assert_int_equal(dropped, 0);
	assert_int_equal(a->failed, 0);
	rv_buf_reset(&fa);
	/* 50,000 bytes of log hold about 36,000 incompressible bytes */
	assert_int_equal(rv_frame_encode_dbset_fit(&fa, a, 50000, &dropped), 0);
	assert_true(fa.len <= 50000);
	assert_true(dropped >= 3);
	assert_int_equal(a->failed, dropped);
	/* the largest went: p5, p4, p3 ... */
	for (k = 0; k < 6; k++) {
		snprintf(path, sizeof(path), "/n/node_modules/p%zu/package.json", k);
		f = rv_dbset_find(a, path, strlen(path));
		assert_non_null(f);
		if (k >= 6 - dropped)
			assert_string_equal(f->error, "dropped: the probe's log budget of 50000 bytes");
		else
			assert_null(f->error);
	}
	assert_int_equal(rv_frame_decode_dbset(&back, NULL, fa.ptr, fa.len, 0), 0);
	dbs_equal(a, back);
	rv_dbset_free(back);
	/* the same again: the same bytes */
	assert_int_equal(rv_dbset_new(&b), 0);
	for (k = 6; k-- > 0; ) {
		snprintf(path, sizeof(path), "/n/node_modules/p%zu/package.json", k);
		assert_int_equal(rv_dbset_add(b, path, strlen(path), rnd + k, (k + 1) * 9000), 0);
	}
	assert_int_equal(rv_dbset_sort(b), 0);
	assert_int_equal(rv_frame_encode_dbset_fit(&fb, b, 50000, NULL), 0);
	assert_int_equal(fa.len, fb.len);
	assert_memory_equal(fa.ptr, fb.ptr, fa.len);
	/* too small for the records alone */
	rv_buf_reset(&fb);
	assert_int_equal(rv_buf_puts(&fb, "keep"), 0);
	assert_int_equal(rv_frame_encode_dbset_fit(&fb, b, 100, &dropped), RV_ETOOBIG);
	assert_string_equal(fb.ptr, "keep");
	rv_buf_dispose(&fa);
	rv_buf_dispose(&fb);
	rv_dbset_free(a);
	rv_dbset_free(b);
	free(rnd);
}

/* A set whose frame is over what can be framed at all (the canonical form
 * over RV_FRAME_MAX_RAW, or here out's cap) is shrunk like one over the
 * budget, not refused: what is left fits and decodes. */
static void test_dbs_fit_over_cap(void **state)
{
	rv_dbset *a, *back;
	rv_buf fa = RV_BUF_INIT(40000);
	unsigned char *rnd = malloc(60000);
	size_t dropped = 0, i, k;
	char path[64];

	(void)state;
	assert_non_null(rnd);
	for (i = 0; i < 60000; i += 32)
		assert_int_equal(rv_sha256_buf(rnd + i, &i, sizeof(i)), 0);
	assert_int_equal(rv_dbset_new(&a), 0);
	for (k = 0; k < 6; k++) {
		snprintf(path, sizeof(path), "/n/node_modules/p%zu/package.json", k);
		assert_int_equal(rv_dbset_add(a, path, strlen(path), rnd + k, (k + 1) * 9000), 0);
	}
	assert_int_equal(rv_dbset_sort(a), 0);
	assert_int_equal(rv_frame_encode_dbset(&fa, a), RV_ETOOBIG);
	/* the budget is roomy; out's cap of 40,000 bytes is not */
	assert_int_equal(rv_frame_encode_dbset_fit(&fa, a, 1u << 20, &dropped), 0);
	assert_true(fa.len <= 40000);
	assert_true(dropped >= 1);
	assert_int_equal(a->failed, dropped);
	assert_int_equal(rv_frame_decode_dbset(&back, NULL, fa.ptr, fa.len, 0), 0);
	dbs_equal(a, back);
	rv_dbset_free(back);
	rv_buf_dispose(&fa);
	rv_dbset_free(a);
	free(rnd);
}

static void test_summary_dbset(void **state)
{
	rv_manifest *m = m_errors();
	rv_dbset *s = dbs_sample(0);
	rv_buf line = RV_BUF_INIT(RV_SUMMARY_MAX), plain = RV_BUF_INIT(RV_SUMMARY_MAX);
	unsigned char dig[RV_SHA256_LEN];
	char hex[RV_SHA256_HEX], want[200];
	rv_summary sum;

	assert_int_equal(rv_summary_format(&plain, m), 0);
	assert_int_equal(rv_summary_parse(&sum, plain.ptr, plain.len), 0);
	assert_int_equal(sum.has_dbset, 0);
	assert_int_equal(rv_summary_format_dbset(&line, m, NULL), 0);
	assert_string_equal(line.ptr, plain.ptr);
	rv_buf_reset(&line);
	assert_int_equal(rv_summary_format_dbset(&line, m, s), 0);
	assert_int_equal(rv_dbset_digest_comparable(dig, s), 0);
	rv_sha256_to_hex(hex, dig);
	snprintf(want, sizeof(want), " status=incomplete dbset=%s dbfiles=5 dbfailed=2\n", hex);
	assert_true(line.len > strlen(want));
	assert_string_equal(line.ptr + line.len - strlen(want), want);
	assert_memory_equal(line.ptr, plain.ptr, plain.len - 1);
	assert_true(line.len < RV_SUMMARY_MAX);
	assert_int_equal(rv_summary_parse(&sum, line.ptr, line.len), 0);
	assert_int_equal(sum.has_dbset, 1);
	assert_memory_equal(sum.dbset, dig, RV_SHA256_LEN);
	assert_int_equal(sum.dbfiles, 5);
	assert_int_equal(sum.dbfailed, 2);
	assert_int_equal(sum.complete, 0);
	rv_buf_dispose(&line);
	rv_buf_dispose(&plain);
	rv_manifest_free(m);
	rv_dbset_free(s);
}

#define GOOD_DBS GOOD " dbset=" H64 " dbfiles=3 dbfailed=1"

static void test_summary_dbset_bad(void **state)
{
	static const char *const bad[] = {
		GOOD " dbset=",
		GOOD " dbset=" H64,
		GOOD " dbset=" H64 " dbfiles=3",
		GOOD " dbset=" H64 " dbfailed=1 dbfiles=3",
		GOOD " dbfiles=3 dbfailed=1",
		GOOD " dbset=" H64 " dbfiles=3 dbfailed=4",
		GOOD " dbset=" H64 " dbfiles=03 dbfailed=1",
		GOOD " dbset=" H64 " dbfiles=3 dbfailed=1 ",
		GOOD " dbset=" H64 " dbfiles=3 dbfailed=1 extra=1",
		GOOD " dbset=" H64 " dbfiles=3  dbfailed=1",
		GOOD " dbset=0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef dbfiles=3 dbfailed=1",
		GOOD "  dbset=" H64 " dbfiles=3 dbfailed=1",
		GOOD_DBS " dbset=" H64 " dbfiles=3 dbfailed=1",
		GOOD_DBS "\n\n",
	};
	rv_summary sum;
	size_t i;

	assert_int_equal(rv_summary_parse(&sum, GOOD_DBS "\n", strlen(GOOD_DBS) + 1), 0);
	assert_int_equal(sum.has_dbset, 1);
	assert_int_equal(sum.dbfiles, 3);
	assert_int_equal(sum.dbfailed, 1);
	assert_int_equal(sum.dbset[31], 0xef);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse_str(bad[i]);

		if (rc != RV_EFORMAT)
			fail_msg("'%s' gave %d (%s)", bad[i], rc, rv_error_last());
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_empty),
		cmocka_unit_test(test_round_trip_odd_names),
		cmocka_unit_test(test_round_trip_errors),
		cmocka_unit_test(test_round_trip_big),
		cmocka_unit_test(test_encoder_matches_format),
		cmocka_unit_test(test_encode_unsorted_fails_cleanly),
		cmocka_unit_test(test_encode_respects_out_max),
		cmocka_unit_test(test_noise_around_frame),
		cmocka_unit_test(test_no_frame),
#define F(t) cmocka_unit_test_setup_teardown(t, setup_big, teardown_big)
		F(test_intact_fixture_decodes),
		F(test_truncated),
		F(test_line_removed),
		F(test_last_payload_line_removed),
		F(test_lines_swapped),
		F(test_line_duplicated),
		F(test_noise_inside_frame),
		F(test_crlf_inside_frame),
		F(test_every_flipped_base64_char),
		F(test_bad_base64_named),
		F(test_wrong_sha),
		F(test_wrong_root),
		F(test_wrong_counts),
		F(test_malformed_header),
		F(test_oversize_raw),
		F(test_zlen_larger_than_log),
		F(test_version_2),
		F(test_two_begins),
		F(test_second_frame_after_end),
		F(test_end_before_begin),
		F(test_extra_line_after_last),
#undef F
		cmocka_unit_test(test_payload_not_a_manifest),
		cmocka_unit_test(test_trailing_data_after_stream),
		cmocka_unit_test(test_zip_bomb),
		cmocka_unit_test(test_summary_round_trip),
		cmocka_unit_test(test_summary_good_literal),
		cmocka_unit_test(test_summary_bad),
		cmocka_unit_test(test_summary_too_long),
		cmocka_unit_test(test_summary_version_2),
		cmocka_unit_test(test_summary_error_line),
		cmocka_unit_test(test_dbs_round_trip),
		cmocka_unit_test(test_dbs_encode_unsorted),
		cmocka_unit_test(test_dbs_with_manifest),
		cmocka_unit_test(test_dbs_strict),
		cmocka_unit_test(test_dbs_payload_not_a_set),
		cmocka_unit_test(test_dbs_fit),
		cmocka_unit_test(test_dbs_fit_over_cap),
		cmocka_unit_test(test_summary_dbset),
		cmocka_unit_test(test_summary_dbset_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
