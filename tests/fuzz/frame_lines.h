/* frame_lines.h - the payload lines of a probe frame, for fuzzers that wrap arbitrary payloads */
#ifndef RV_FUZZ_FRAME_LINES_H
#define RV_FUZZ_FRAME_LINES_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* "p K B64" lines for zlen payload bytes, 48 a line, as docs/probe.md
 * has them; the fuzzers write the begin and end lines around them. */
static inline void frame_payload_lines(rv_buf *out, const uint8_t *z, size_t zlen)
{
	static const char a[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t lines = (zlen + 47) / 48, i, j;

	for (i = 0; i < lines; i++) {
		const uint8_t *p = z + i * 48;
		size_t n = zlen - i * 48 < 48 ? zlen - i * 48 : 48;

		rv_buf_printf(out, "p %zu ", i + 1);
		for (j = 0; j < n; j += 3) {
			uint32_t v = (uint32_t)p[j] << 16 |
				(j + 1 < n ? (uint32_t)p[j + 1] << 8 : 0) |
				(j + 2 < n ? p[j + 2] : 0);

			rv_buf_putc(out, a[v >> 18]);
			rv_buf_putc(out, a[(v >> 12) & 63]);
			rv_buf_putc(out, j + 1 < n ? a[(v >> 6) & 63] : '=');
			rv_buf_putc(out, j + 2 < n ? a[v & 63] : '=');
		}
		rv_buf_putc(out, '\n');
	}
}

#endif
