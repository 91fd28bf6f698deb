/* cursor.c - a strict reader of one line of text: literals, canonical decimals, hex digests */
#include <stdint.h>
#include <string.h>

#include "util/cursor.h"
#include "util/banned.h"

int rv_cursor_lit(rv_cursor *c, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
		return 0;
	c->p += n;
	return 1;
}

int rv_cursor_u64(rv_cursor *c, uint64_t *out)
{
	const char *s = c->p;
	uint64_t v = 0;

	while (s < c->end && *s >= '0' && *s <= '9') {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return 0;
		v = v * 10 + d;
		s++;
	}
	if (s == c->p || (c->p[0] == '0' && s - c->p > 1))
		return 0;
	c->p = s;
	*out = v;
	return 1;
}

int rv_cursor_size(rv_cursor *c, size_t *out)
{
	uint64_t v;

	if (!rv_cursor_u64(c, &v) || v > SIZE_MAX)
		return 0;
	*out = (size_t)v;
	return 1;
}

int rv_cursor_hex(rv_cursor *c, unsigned char out[RV_SHA256_LEN])
{
	if (c->end - c->p < 64 || rv_sha256_from_hex(out, c->p, 64) < 0)
		return 0;
	c->p += 64;
	return 1;
}

int rv_cursor_done(const rv_cursor *c)
{
	return c->p == c->end;
}
