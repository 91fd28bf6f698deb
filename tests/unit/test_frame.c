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

#include "core/frame.h"
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
