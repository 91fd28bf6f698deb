/* frame.c - the probe's output: a framed, compressed, checksummed manifest */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/dbpath.h"
#include "core/frame.h"
#include "util/base64.h"
#include "util/cursor.h"
#include "util/error.h"
#include "util/sha256.h"
#include "util/banned.h"

/*
 * The format is described byte by byte in docs/probe.md. In short:
 *
 *   rv-frame 1 begin entries=N errors=E raw=R zlen=Z lines=L root=HEX
 *   p 1 <64 base64 characters: 48 payload bytes>
 *   ...
 *   p L <base64 of the last 1..48 payload bytes, padded>
 *   rv-frame 1 end sha256=HEX lines=L
 *
 * payload = zlib (RFC 1950) of the canonical manifest, Z bytes;
 * R = length of the canonical manifest, root = its sha256;
 * sha256 = sha256 of the Z payload bytes.
 */

#define FRAME_TAG "rv-frame "
#define FRAME_TAG_LEN (sizeof(FRAME_TAG) - 1)
/* Payload bytes per full line: 64 base64 characters, so a line with its
 * "p N " prefix stays within 80 characters up to 9,999,999 lines. */
#define LINE_BYTES 48
#define LINE_B64 64
/* The decoder keeps zlib's 32-bit counters in range. */
#define FRAME_RAW_HARD_MAX ((size_t)1 << 30)

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* --- base64 (RFC 4648, standard alphabet; decoded by util/base64) ------- */

static void b64_encode(char *out, const unsigned char *in, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = b64_alphabet[v >> 18];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = b64_alphabet[(v >> 6) & 63];
		out[o++] = b64_alphabet[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;

		out[o++] = b64_alphabet[v >> 18];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

		out[o++] = b64_alphabet[v >> 18];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = b64_alphabet[(v >> 6) & 63];
		out[o++] = '=';
	}
}

/* --- the two kinds of frame ------------------------------------------- */

/*
 * Both frames share everything but their tag, the names of their two
 * counts and of their content hash, and what the inflated payload is:
 *
 *   TAG 1 begin C1=N C2=M raw=R zlen=Z lines=L HASH=HEX
 *   p 1 ... p L
 *   TAG 1 end sha256=HEX lines=L
 */
typedef struct frame_kind {
	const char *tag;     /* "rv-frame " */
	size_t tag_len;
	const char *what;    /* names the frame in messages */
	const char *content; /* names its inflated payload in messages */
	const char *c1, *c2; /* the two counts; c2 <= c1 */
	const char *hash;    /* the content's sha256 */
} frame_kind;

static const frame_kind manifest_kind = {
	FRAME_TAG, FRAME_TAG_LEN, "frame", "manifest", "entries", "errors", "root"
};

#define DBS_TAG "rv-dbs "
static const frame_kind dbs_kind = {
	DBS_TAG, sizeof(DBS_TAG) - 1, "dbs frame", "package database set",
	"files", "failed", "digest"
};

/* --- encoding ----------------------------------------------------------- */

/* Append the frame of raw (rawlen bytes, the content) with counts c1, c2. */
static int encode_frame(rv_buf *out, const frame_kind *k, size_t c1, size_t c2,
	const char *raw, size_t rawlen)
{
	unsigned char *z = NULL;
	unsigned char root[RV_SHA256_LEN], psum[RV_SHA256_LEN];
	char roothex[RV_SHA256_HEX], psumhex[RV_SHA256_HEX];
	char line[LINE_B64 + 1];
	size_t start = out->len, lines, i;
	uLongf zlen;
	int rc, zrc;

	if (!raw)
		raw = "";
	if (rawlen > FRAME_RAW_HARD_MAX) {
		rc = rv_error_set(RV_ETOOBIG, "%s %s of %zu bytes is too large",
			k->what, k->content, rawlen);
		goto cleanup;
	}
	if ((rc = rv_sha256_buf(root, raw, rawlen)) < 0)
		goto cleanup;
	zlen = compressBound((uLong)rawlen);
	if (!(z = malloc(zlen))) {
		rc = rv_error_set(RV_ENOMEM, "out of memory (%lu bytes)",
			(unsigned long)zlen);
		goto cleanup;
	}
	zrc = compress2(z, &zlen, (const Bytef *)raw, (uLong)rawlen,
		Z_BEST_COMPRESSION);
	if (zrc != Z_OK) {
		rc = rv_error_set(zrc == Z_MEM_ERROR ? RV_ENOMEM : RV_ERROR,
			"zlib compress failed (%d)", zrc);
		goto cleanup;
	}
	if ((rc = rv_sha256_buf(psum, z, zlen)) < 0)
		goto cleanup;
	rv_sha256_to_hex(roothex, root);
	rv_sha256_to_hex(psumhex, psum);
	lines = ((size_t)zlen + LINE_BYTES - 1) / LINE_BYTES;

	rc = rv_buf_printf(out, "%s%d begin %s=%zu %s=%zu raw=%zu zlen=%lu "
		"lines=%zu %s=%s\n", k->tag, RV_FRAME_VERSION, k->c1, c1, k->c2,
		c2, rawlen, (unsigned long)zlen, lines, k->hash, roothex);
	if (rc < 0)
		goto cleanup;
	/* Reserve the payload lines at once ("p N " + base64 + '\n' is at
	 * most LINE_B64 + 24 bytes) when that fits; past out->max the
	 * appends below fail at the right place anyway. */
	if (lines * (LINE_B64 + 24) + 128 <= out->max - out->len &&
	    (rc = rv_buf_grow(out, lines * (LINE_B64 + 24) + 128)) < 0)
		goto cleanup;
	for (i = 0; i < lines; i++) {
		size_t off = i * LINE_BYTES;
		size_t n = (size_t)zlen - off < LINE_BYTES ?
			(size_t)zlen - off : LINE_BYTES;
		size_t blen = 4 * ((n + 2) / 3);

		b64_encode(line, z + off, n);
		if ((rc = rv_buf_printf(out, "p %zu ", i + 1)) < 0 ||
		    (rc = rv_buf_add(out, line, blen)) < 0 ||
		    (rc = rv_buf_putc(out, '\n')) < 0)
			goto cleanup;
	}
	rc = rv_buf_printf(out, "%s%d end sha256=%s lines=%zu\n", k->tag,
		RV_FRAME_VERSION, psumhex, lines);

cleanup:
	if (rc < 0 && out->ptr) {
		/* Leave out as it was. */
		out->len = start;
		out->ptr[start] = '\0';
	}
	free(z);
	return rc;
}

int rv_frame_encode(rv_buf *out, const rv_manifest *m)
{
	rv_buf raw = RV_BUF_INIT(RV_FRAME_MAX_RAW);
	rv_manifest_stats st;
	int rc;

	if ((rc = rv_manifest_serialize(&raw, m)) >= 0) {
		rv_manifest_stats_get(&st, m);
		rc = encode_frame(out, &manifest_kind, st.entries, st.errors,
			raw.ptr, raw.len);
	}
	rv_buf_dispose(&raw);
	return rc;
}

int rv_frame_encode_dbset(rv_buf *out, const rv_dbset *set)
{
	rv_buf raw = RV_BUF_INIT(RV_FRAME_MAX_RAW);
	int rc;

	if ((rc = rv_dbset_serialize(&raw, set)) >= 0)
		rc = encode_frame(out, &dbs_kind, set->n, set->failed, raw.ptr,
			raw.len);
	rv_buf_dispose(&raw);
	return rc;
}

int rv_frame_encode_dbset_fit(rv_buf *out, rv_dbset *set, size_t budget,
	size_t *dropped)
{
	char why[128];
	size_t start = out->len, n, total = 0, round;
	uint64_t target;
	int rc;

	snprintf(why, sizeof(why), "dropped: the probe's log budget of %zu bytes",
		budget);
	for (round = 0; ; round++) {
		size_t len;

		rc = rv_frame_encode_dbset(out, set);
		if (rc == RV_ETOOBIG && set->bytes > 0) {
			/* The canonical form is over RV_FRAME_MAX_RAW (or out's
			 * cap): far over any budget. Drop as for a frame
			 * four times the budget, and try again. */
			len = budget * 4 + 1;
		} else if (rc < 0) {
			goto cleanup;
		} else {
			len = out->len - start;
			if (len <= budget)
				break;
		}
		if (set->bytes == 0) {
			rc = rv_error_set(RV_ETOOBIG, "the package database set "
				"does not fit the log budget of %zu bytes even "
				"without contents (%zu records)", budget, set->n);
			goto cleanup;
		}
		/* Shrink the contents in proportion, 10% more each round
		 * (compression is not linear); the last rounds drop all. */
		target = round >= 8 ? 0 : (uint64_t)((double)set->bytes *
			(double)budget / (double)len * (0.9 - 0.1 * (double)round));
		if (target >= set->bytes)
			target = set->bytes - 1;
		if (out->ptr) {
			out->len = start;
			out->ptr[start] = '\0';
		}
		if ((rc = rv_dbpath_drop_largest(set, target, why, &n)) < 0)
			goto cleanup;
		total += n;
	}
cleanup:
	if (rc < 0 && out->ptr) {
		out->len = start;
		out->ptr[start] = '\0';
	}
	if (dropped)
		*dropped = total;
	return rc;
}

/* --- decoding ----------------------------------------------------------- */

/* One line of the log, without its newline. */
typedef struct logline {
	const char *p;
	size_t len;
	size_t no;       /* 1-based line number in the log */
	int terminated;  /* ended in '\n' (not cut off by the end of the log) */
} logline;

/* Read the line at *pos; 0 when the log is exhausted. */
static int next_line(logline *l, const char *log, size_t len, size_t *pos,
	size_t *lineno)
{
	const char *nl;

	if (*pos >= len)
		return 0;
	l->p = log + *pos;
	nl = memchr(l->p, '\n', len - *pos);
	l->len = nl ? (size_t)(nl - l->p) : len - *pos;
	l->terminated = nl != NULL;
	l->no = ++*lineno;
	*pos += l->len + (nl ? 1 : 0);
	return 1;
}

/* Is this one of the kind's control lines ("rv-frame ...")? */
static int is_control(const frame_kind *k, const logline *l)
{
	return l->len >= k->tag_len && memcmp(l->p, k->tag, k->tag_len) == 0;
}

/* The version number of a control line ("rv-frame V ..."), or -1. */
static int64_t control_version(const frame_kind *k, const logline *l)
{
	rv_cursor c = { l->p + k->tag_len, l->p + l->len };
	uint64_t v;

	if (!rv_cursor_u64(&c, &v) || c.p == c.end || *c.p != ' ' || v > INT32_MAX)
		return -1;
	return (int64_t)v;
}

/* Consume "TAG 1 " of the kind's control line. */
static int cur_tag(rv_cursor *c, const frame_kind *k)
{
	return rv_cursor_lit(c, k->tag) && rv_cursor_lit(c, "1 ");
}

/* Consume " NAME=" (lead: whether the space comes first). */
static int cur_name(rv_cursor *c, const char *name, int lead)
{
	return (!lead || rv_cursor_lit(c, " ")) && rv_cursor_lit(c, name) && rv_cursor_lit(c, "=");
}

typedef struct frame_header {
	size_t c1, c2, raw, zlen, lines;
	unsigned char hash[RV_SHA256_LEN];
} frame_header;

static int parse_header(const frame_kind *k, frame_header *h, const logline *l)
{
	rv_cursor c = { l->p, l->p + l->len };

	if (cur_tag(&c, k) && rv_cursor_lit(&c, "begin") &&
	    cur_name(&c, k->c1, 1) && rv_cursor_size(&c, &h->c1) &&
	    cur_name(&c, k->c2, 1) && rv_cursor_size(&c, &h->c2) &&
	    rv_cursor_lit(&c, " raw=") && rv_cursor_size(&c, &h->raw) &&
	    rv_cursor_lit(&c, " zlen=") && rv_cursor_size(&c, &h->zlen) &&
	    rv_cursor_lit(&c, " lines=") && rv_cursor_size(&c, &h->lines) &&
	    cur_name(&c, k->hash, 1) && rv_cursor_hex(&c, h->hash) && rv_cursor_done(&c))
		return RV_OK;
	return rv_error_set(RV_EFORMAT, "malformed %s header at log line %zu",
		k->what, l->no);
}

/* Look ahead from *pos for frame line `seq` before the frame's end; its
 * log line number, or 0. */
static size_t find_seq(const frame_kind *k, const char *log, size_t len,
	size_t pos, size_t lineno, size_t seq)
{
	char want[32];
	int n = snprintf(want, sizeof(want), "p %zu ", seq);
	logline l;

	while (next_line(&l, log, len, &pos, &lineno)) {
		if (is_control(k, &l))
			break;
		if (l.len >= (size_t)n && memcmp(l.p, want, (size_t)n) == 0)
			return l.no;
	}
	return 0;
}

/* Inflate the payload z into raw, which must come out at exactly `want`
 * bytes: more is refused as soon as it appears (a zip bomb stops there),
 * less or trailing bytes after the stream are refused too. */
static int inflate_exact(const frame_kind *k, rv_buf *raw, const rv_buf *z,
	size_t want)
{
	z_stream zs;
	unsigned char scratch;
	int zrc, rc, too_much = 0;

	memset(&zs, 0, sizeof(zs));
	if ((rc = rv_buf_grow(raw, want)) < 0)
		return rc;
	if ((zrc = inflateInit(&zs)) != Z_OK)
		return rv_error_set(zrc == Z_MEM_ERROR ? RV_ENOMEM : RV_ERROR,
			"zlib inflateInit failed (%d)", zrc);
	zs.next_in = (Bytef *)z->ptr;
	zs.avail_in = (uInt)z->len;
	zs.next_out = (Bytef *)raw->ptr;
	zs.avail_out = (uInt)want;
	zrc = inflate(&zs, Z_FINISH);
	if (zrc == Z_BUF_ERROR && zs.avail_out == 0) {
		/* Output full before the stream's end: one byte of room
		 * tells "more data" from "cut short". */
		zs.next_out = &scratch;
		zs.avail_out = 1;
		zrc = inflate(&zs, Z_FINISH);
		too_much = zs.avail_out == 0;
	}
	if (too_much)
		rc = rv_error_set(RV_EFORMAT, "%s payload inflates to more "
			"than raw=%zu bytes", k->what, want);
	else if (zrc == Z_STREAM_END && zs.avail_in != 0)
		rc = rv_error_set(RV_EFORMAT, "%s payload has %u bytes after "
			"the end of the compressed stream", k->what, zs.avail_in);
	else if (zrc == Z_STREAM_END && zs.total_out != want)
		rc = rv_error_set(RV_EFORMAT, "%s payload inflates to %lu "
			"bytes, header says raw=%zu", k->what,
			(unsigned long)zs.total_out, want);
	else if (zrc == Z_STREAM_END)
		rc = RV_OK;
	else if (zrc == Z_BUF_ERROR)
		rc = rv_error_set(RV_EFORMAT, "%s payload: compressed stream "
			"is truncated", k->what);
	else if (zrc == Z_MEM_ERROR)
		rc = rv_error_set(RV_ENOMEM, "zlib inflate: out of memory");
	else
		rc = rv_error_set(RV_EFORMAT, "%s payload: corrupt compressed "
			"stream (%s)", k->what, zs.msg ? zs.msg : "unknown zlib error");
	inflateEnd(&zs);
	if (rc == RV_OK) {
		raw->len = want;
		raw->ptr[want] = '\0';
	}
	return rc;
}

/*
 * Find the kind's frame in log and check everything up to the content: the
 * header, every line, the payload's sha256, the inflated length and the
 * content's sha256 against the header's hash. On success raw holds the
 * content and *h the header; the caller parses the content and checks its
 * counts against h->c1, h->c2.
 */
static int decode_frame(rv_buf *raw, frame_header *h, const frame_kind *k,
	const char *log, size_t len, size_t max_raw)
{
	rv_buf payload = RV_BUF_INIT(0);
	unsigned char end_sum[RV_SHA256_LEN], sum[RV_SHA256_LEN];
	size_t pos = 0, lineno = 0, begin_no = 0, expected = 1, end_lines = 0;
	size_t last_bytes, zmax;
	logline l;
	int rc = RV_OK, found = 0;

	if (max_raw == 0)
		max_raw = RV_FRAME_MAX_RAW;
	if (max_raw > FRAME_RAW_HARD_MAX)
		max_raw = FRAME_RAW_HARD_MAX;

	/* Before the frame: skip noise, stop at the begin line. */
	while (next_line(&l, log, len, &pos, &lineno)) {
		int64_t v;

		if (!is_control(k, &l))
			continue;
		v = control_version(k, &l);
		if (v >= 0 && v != RV_FRAME_VERSION) {
			rc = rv_error_set(RV_EUNSUPPORTED, "%s version %lld at "
				"log line %zu not supported (this build reads "
				"version %d)", k->what, (long long)v, l.no,
				RV_FRAME_VERSION);
			goto cleanup;
		}
		if (!l.terminated) {
			rc = rv_error_set(RV_EFORMAT, "%s truncated: log ends "
				"inside line %zu", k->what, l.no);
			goto cleanup;
		}
		if ((rc = parse_header(k, h, &l)) < 0)
			goto cleanup;
		begin_no = l.no;
		found = 1;
		break;
	}
	if (!found) {
		rc = rv_error_set(RV_EFORMAT, "no %s in the log (no '%s%d begin' "
			"line)", k->what, k->tag, RV_FRAME_VERSION);
		goto cleanup;
	}

	/* Check the header before allocating anything it sizes. */
	if (h->raw > max_raw) {
		rc = rv_error_set(RV_ETOOBIG, "%s %s of %zu bytes is over the "
			"limit of %zu bytes", k->what, k->content, h->raw, max_raw);
		goto cleanup;
	}
	zmax = (size_t)compressBound((uLong)h->raw);
	if (h->zlen == 0 || h->zlen > zmax) {
		rc = rv_error_set(RV_EFORMAT, "%s header: zlen=%zu is "
			"impossible for raw=%zu", k->what, h->zlen, h->raw);
		goto cleanup;
	}
	if (h->lines != (h->zlen + LINE_BYTES - 1) / LINE_BYTES) {
		rc = rv_error_set(RV_EFORMAT, "%s header: lines=%zu does not "
			"match zlen=%zu (expected %zu)", k->what, h->lines, h->zlen,
			(h->zlen + LINE_BYTES - 1) / LINE_BYTES);
		goto cleanup;
	}
	if (h->c2 > h->c1) {
		rc = rv_error_set(RV_EFORMAT, "%s header: %s=%zu is more "
			"than %s=%zu", k->what, k->c2, h->c2, k->c1, h->c1);
		goto cleanup;
	}
	if ((h->zlen / 3) * 4 > len - pos) {
		rc = rv_error_set(RV_EFORMAT, "%s truncated: header announces "
			"%zu payload bytes, the log holds only %zu more bytes",
			k->what, h->zlen, len - pos);
		goto cleanup;
	}
	rv_buf_init(&payload, h->zlen);
	if ((rc = rv_buf_grow(&payload, h->zlen)) < 0)
		goto cleanup;
	last_bytes = h->zlen - (h->lines - 1) * LINE_BYTES;

	/* Inside the frame: every line is a payload line or the end line. */
	for (;;) {
		rv_cursor c;
		size_t seq, want, col;

		if (!next_line(&l, log, len, &pos, &lineno) ||
		    (!l.terminated)) {
			rc = rv_error_set(RV_EFORMAT, "%s truncated: no '%s%d "
				"end' line (%s begins at log line %zu, %zu of "
				"%zu lines present)", k->what, k->tag,
				RV_FRAME_VERSION, k->what, begin_no,
				expected - 1, h->lines);
			goto cleanup;
		}
		if (is_control(k, &l)) {
			c.p = l.p;
			c.end = l.p + l.len;
			if (cur_tag(&c, k) && rv_cursor_lit(&c, "end sha256=") &&
			    rv_cursor_hex(&c, end_sum) && rv_cursor_lit(&c, " lines=") &&
			    rv_cursor_size(&c, &end_lines) && rv_cursor_done(&c))
				break;
			c.p = l.p;
			if (control_version(k, &l) >= 0 && rv_cursor_lit(&c, k->tag) &&
			    rv_cursor_u64(&c, &(uint64_t){ 0 }) && rv_cursor_lit(&c, " begin")) {
				rc = rv_error_set(RV_EFORMAT, "second %s begins "
					"at log line %zu inside the %s that "
					"begins at log line %zu", k->what, l.no,
					k->what, begin_no);
				goto cleanup;
			}
			rc = rv_error_set(RV_EFORMAT, "malformed %s end at log "
				"line %zu", k->what, l.no);
			goto cleanup;
		}
		c.p = l.p;
		c.end = l.p + l.len;
		if (!rv_cursor_lit(&c, "p ") || !rv_cursor_size(&c, &seq) ||
		    !rv_cursor_lit(&c, " ")) {
			rc = rv_error_set(RV_EFORMAT, "log line %zu inside the "
				"%s is not a %s line", l.no, k->what, k->what);
			goto cleanup;
		}
		if (seq != expected) {
			size_t at = find_seq(k, log, len, pos, lineno, expected);

			if (at)
				rc = rv_error_set(RV_EFORMAT, "%s line %zu out "
					"of order (expected %zu, which comes "
					"later at log line %zu)", k->what, seq,
					expected, at);
			else if (expected > h->lines)
				rc = rv_error_set(RV_EFORMAT, "%s line %zu "
					"after the last line %zu the header "
					"announces", k->what, seq, h->lines);
			else
				rc = rv_error_set(RV_EFORMAT, "%s line %zu out "
					"of order (expected %zu): line %zu is "
					"missing", k->what, seq, expected, expected);
			goto cleanup;
		}
		if (seq > h->lines) {
			rc = rv_error_set(RV_EFORMAT, "%s line %zu after the "
				"last line %zu the header announces", k->what,
				seq, h->lines);
			goto cleanup;
		}
		want = seq == h->lines ? last_bytes : LINE_BYTES;
		col = rv_base64_decode_exact((unsigned char *)payload.ptr + payload.len,
			c.p, (size_t)(c.end - c.p), want);
		if (col) {
			rc = rv_error_set(RV_EFORMAT, "%s line %zu: bad base64 "
				"at column %zu", k->what, seq,
				col + (size_t)(c.p - l.p));
			goto cleanup;
		}
		payload.len += want;
		expected++;
	}

	payload.ptr[payload.len] = '\0';
	/* The end line. */
	if (expected - 1 != h->lines || end_lines != h->lines) {
		rc = rv_error_set(RV_EFORMAT, "%s has %zu lines, header says "
			"lines=%zu and end says lines=%zu", k->what, expected - 1,
			h->lines, end_lines);
		goto cleanup;
	}
	/* After the frame: noise is ignored, another frame of this kind
	 * is not. */
	while (next_line(&l, log, len, &pos, &lineno)) {
		if (is_control(k, &l)) {
			rc = rv_error_set(RV_EFORMAT, "second %s line at log "
				"line %zu after the %s's end", k->what, l.no,
				k->what);
			goto cleanup;
		}
	}

	if ((rc = rv_sha256_buf(sum, payload.ptr, payload.len)) < 0)
		goto cleanup;
	if (memcmp(sum, end_sum, RV_SHA256_LEN) != 0) {
		rc = rv_error_set(RV_EVERIFY, "%s payload does not match "
			"its sha256", k->what);
		goto cleanup;
	}
	rv_buf_init(raw, h->raw);
	if ((rc = inflate_exact(k, raw, &payload, h->raw)) < 0)
		goto cleanup;
	if ((rc = rv_sha256_buf(sum, raw->ptr, raw->len)) < 0)
		goto cleanup;
	if (memcmp(sum, h->hash, RV_SHA256_LEN) != 0) {
		rc = rv_error_set(RV_EVERIFY, "%s %s does not match the %s "
			"hash in its header", k->what, k->content,
			k == &manifest_kind ? "root" : "digest");
		goto cleanup;
	}
cleanup:
	rv_buf_dispose(&payload);
	if (rc < 0)
		rv_buf_dispose(raw);
	return rc;
}

int rv_frame_decode(rv_manifest **out, unsigned char root_out[RV_SHA256_LEN],
	const char *log, size_t len, size_t max_raw)
{
	rv_buf raw = RV_BUF_INIT(0);
	rv_manifest *m = NULL;
	frame_header h;
	rv_manifest_stats st;
	int rc;

	*out = NULL;
	if ((rc = decode_frame(&raw, &h, &manifest_kind, log, len, max_raw)) < 0)
		goto cleanup;
	if ((rc = rv_manifest_parse(&m, raw.ptr, raw.len)) < 0) {
		rc = rv_error_prefix(rc, "frame manifest");
		goto cleanup;
	}
	rv_manifest_stats_get(&st, m);
	if (st.entries != h.c1 || st.errors != h.c2) {
		rc = rv_error_set(RV_EFORMAT, "frame header says entries=%zu "
			"errors=%zu, the manifest has %zu and %zu", h.c1,
			h.c2, st.entries, st.errors);
		goto cleanup;
	}
	if (root_out)
		memcpy(root_out, h.hash, RV_SHA256_LEN);
	*out = m;
	m = NULL;

cleanup:
	rv_manifest_free(m);
	rv_buf_dispose(&raw);
	return rc;
}

int rv_frame_decode_dbset(rv_dbset **out, unsigned char digest_out[RV_SHA256_LEN],
	const char *log, size_t len, size_t max_raw)
{
	rv_buf raw = RV_BUF_INIT(0);
	rv_dbset *set = NULL;
	frame_header h;
	int rc;

	*out = NULL;
	if ((rc = decode_frame(&raw, &h, &dbs_kind, log, len, max_raw)) < 0)
		goto cleanup;
	if ((rc = rv_dbset_parse(&set, raw.ptr, raw.len)) < 0) {
		rc = rv_error_prefix(rc, "dbs frame");
		goto cleanup;
	}
	if (set->n != h.c1 || set->failed != h.c2) {
		rc = rv_error_set(RV_EFORMAT, "dbs frame header says files=%zu "
			"failed=%zu, the set has %zu and %zu", h.c1, h.c2,
			set->n, set->failed);
		goto cleanup;
	}
	if (digest_out)
		memcpy(digest_out, h.hash, RV_SHA256_LEN);
	*out = set;
	set = NULL;

cleanup:
	rv_dbset_free(set);
	rv_buf_dispose(&raw);
	return rc;
}
