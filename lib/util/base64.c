/* base64.c - decode standard base64 from configuration and API objects */
#include "util/base64.h"
#include "util/error.h"
#include "util/banned.h"

static int value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int rv_base64_decode(rv_buf *out, const char *s, size_t len)
{
	size_t start = out->len, i, pad = 0, chars = 0;
	unsigned acc = 0;
	int bits = 0, v, rc;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad || (v = value(c)) < 0) {
			rc = rv_error_set(RV_EFORMAT, "not valid base64 (byte %zu)", i);
			goto fail;
		}
		chars++;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if ((rc = rv_buf_putc(out, (char)((acc >> bits) & 0xff))) < 0)
				goto fail;
		}
	}
	if (pad > 2 || chars % 4 == 1 || (pad && (chars + pad) % 4)) {
		rc = rv_error_set(RV_EFORMAT, "not valid base64 (length)");
		goto fail;
	}
	return RV_OK;
fail:
	out->len = start;
	if (out->ptr)
		out->ptr[start] = '\0';
	return rc;
}
