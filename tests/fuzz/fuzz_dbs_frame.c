/* fuzz_dbs_frame.c - rv_frame_decode_dbset (and the summary's dbset fields) on arbitrary logs */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/dbset.h"
#include "core/frame.h"
#include "core/summary.h"
#include "core/manifest.h"
#include "util/buf.h"
#include "util/sha256.h"
#include "frame_lines.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Random logs almost never get past the payload's sha256 and the digest,
 * so an input that starts with "D" is taken as a canonical set's bytes
 * (what rv_dbset_parse must judge): it is compressed and framed with
 * correct sha256=, digest= and raw=, and counts from the next two bytes.
 * That drives the set parser and the count checks through the decoder.
 */
static void wrap_set(rv_buf *out, const uint8_t *raw, size_t rawlen,
	size_t files, size_t failed)
{
	unsigned char sum[RV_SHA256_LEN], dig[RV_SHA256_LEN];
	char hex[RV_SHA256_HEX], dhex[RV_SHA256_HEX];
	uLongf zlen = compressBound(rawlen);
	unsigned char *z = malloc(zlen);
	size_t lines;

	if (!z || compress2(z, &zlen, raw, rawlen, 6) != Z_OK) {
		free(z);
		return;
	}
	lines = (zlen + 47) / 48;
	rv_sha256_buf(sum, z, zlen);
	rv_sha256_buf(dig, raw, rawlen);
	rv_sha256_to_hex(hex, sum);
	rv_sha256_to_hex(dhex, dig);
	rv_buf_printf(out, "rv-dbs 1 begin files=%zu failed=%zu raw=%zu zlen=%lu "
		"lines=%zu digest=%s\n", files, failed, rawlen, (unsigned long)zlen,
		lines, dhex);
	frame_payload_lines(out, z, zlen);
	rv_buf_printf(out, "rv-dbs 1 end sha256=%s lines=%zu\n", hex, lines);
	free(z);
}

/* A decoded set must re-encode to a frame that decodes to the same
 * digest, and its digest must be rv_dbset_digest of it. */
static void check(const char *log, size_t len)
{
	rv_dbset *s = NULL, *again = NULL;
	rv_buf frame = RV_BUF_INIT(64u << 20);
	unsigned char d1[RV_SHA256_LEN], d2[RV_SHA256_LEN], d3[RV_SHA256_LEN];

	if (rv_frame_decode_dbset(&s, d1, log, len, 1u << 20) == 0) {
		if (rv_dbset_digest(d3, s) != 0 || memcmp(d1, d3, RV_SHA256_LEN))
			abort();
		if (rv_frame_encode_dbset(&frame, s) != 0)
			abort();
		if (rv_frame_decode_dbset(&again, d2, frame.ptr, frame.len, 0) != 0)
			abort();
		if (memcmp(d1, d2, RV_SHA256_LEN) != 0 || again->n != s->n ||
		    again->failed != s->failed)
			abort();
	} else if (s) {
		abort(); /* no set on failure */
	}
	rv_dbset_free(s);
	rv_dbset_free(again);
	rv_buf_dispose(&frame);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rv_summary sum;

	if (size > 3 && data[0] == 'D') {
		rv_buf w = RV_BUF_INIT(4u << 20);

		wrap_set(&w, data + 3, size - 3, data[1], data[2]);
		if (w.len)
			check(w.ptr, w.len);
		rv_buf_dispose(&w);
	}
	check((const char *)data, size);
	if (rv_summary_parse(&sum, (const char *)data, size) == 0) {
		if (sum.has_dbset && sum.dbfailed > sum.dbfiles)
			abort();
		if (!sum.has_dbset && (sum.dbfiles || sum.dbfailed))
			abort();
	}
	return 0;
}
