/* fuzz_frame.c - rv_frame_decode and rv_summary_parse on arbitrary logs */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/frame.h"
#include "core/summary.h"
#include "core/manifest.h"
#include "util/buf.h"
#include "util/sha256.h"
#include "frame_lines.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Random logs almost never get past the payload's sha256, so inputs that
 * start with "Z" are wrapped instead: the next two bytes are raw= (little
 * endian), the rest is the payload, framed with a correct sha256=. That
 * drives inflate and everything after it with arbitrary zlib streams.
 */
static void wrap_payload(rv_buf *out, const uint8_t *z, size_t zlen, size_t raw)
{
	unsigned char sum[RV_SHA256_LEN];
	char hex[RV_SHA256_HEX];
	size_t lines = (zlen + 47) / 48;

	rv_sha256_buf(sum, z, zlen);
	rv_sha256_to_hex(hex, sum);
	rv_buf_printf(out, "rv-frame 1 begin entries=0 errors=0 raw=%zu zlen=%zu "
		"lines=%zu root=%064d\n", raw, zlen, lines, 0);
	frame_payload_lines(out, z, zlen);
	rv_buf_printf(out, "rv-frame 1 end sha256=%s lines=%zu\n", hex, lines);
}

/*
 * Whatever the log holds, decoding must not crash, leak or read out of
 * bounds. A frame that decodes must describe a manifest that encodes to a
 * frame which decodes to the same root hash. The summary parser sees the
 * same bytes; a summary it accepts must be self-consistent.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rv_manifest *m = NULL, *again = NULL;
	rv_buf frame = RV_BUF_INIT(64u << 20);
	unsigned char root[RV_SHA256_LEN], root2[RV_SHA256_LEN];
	rv_summary sum;

	if (size > 3 && data[0] == 'Z') {
		rv_buf w = RV_BUF_INIT(1u << 20);

		wrap_payload(&w, data + 3, size - 3, data[1] | (size_t)data[2] << 8);
		if (rv_frame_decode(&m, root, w.ptr, w.len, 0) == 0)
			abort(); /* root= is zeros: never matches */
		rv_buf_dispose(&w);
	}
	if (rv_frame_decode(&m, root, (const char *)data, size, 1u << 20) == 0) {
		if (rv_frame_encode(&frame, m) != 0)
			abort();
		if (rv_frame_decode(&again, root2, frame.ptr, frame.len, 0) != 0)
			abort();
		if (memcmp(root, root2, RV_SHA256_LEN) != 0)
			abort();
	} else if (m) {
		abort(); /* no manifest on failure */
	}
	if (rv_summary_parse(&sum, (const char *)data, size) == 0) {
		if (sum.complete != (sum.stats.errors == 0) ||
		    sum.stats.errors > sum.stats.entries ||
		    (sum.has_dbset && sum.dbfailed > sum.dbfiles))
			abort();
	}
	rv_manifest_free(m);
	rv_manifest_free(again);
	rv_buf_dispose(&frame);
	return 0;
}
