/* base64.c - decode standard base64 (RFC 4648): strict, canonical, or lenient for hand-written files */
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

size_t rv_base64_decode_exact(unsigned char *out, const char *s, size_t len,
	size_t want)
{
	size_t full = want / 3, rest = want % 3, i, o = 0;
	int v[4];

	if (len != 4 * (full + (rest ? 1 : 0)))
		return len + 1;
	for (i = 0; i < full; i++) {
		const unsigned char *q = (const unsigned char *)s + 4 * i;
		int k;

		for (k = 0; k < 4; k++)
			if ((v[k] = value(q[k])) < 0)
				return 4 * i + (size_t)k + 1;
		out[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		out[o++] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
		out[o++] = (unsigned char)((v[2] & 3) << 6 | v[3]);
	}
	if (rest) {
		const unsigned char *q = (const unsigned char *)s + 4 * full;
		size_t col = 4 * full;

		if ((v[0] = value(q[0])) < 0)
			return col + 1;
		if ((v[1] = value(q[1])) < 0)
			return col + 2;
		if (rest == 1) {
			if (v[1] & 15)
				return col + 2;
			if (q[2] != '=')
				return col + 3;
			if (q[3] != '=')
				return col + 4;
			out[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		} else {
			if ((v[2] = value(q[2])) < 0 || (v[2] & 3))
				return col + 3;
			if (q[3] != '=')
				return col + 4;
			out[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
			out[o++] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
		}
	}
	return 0;
}

/* RV_BASE64_STRICT: the padding says how many bytes; decode_exact the rest. */
static int decode_strict(rv_buf *out, const char *s, size_t len)
{
	size_t want, col;
	int rc;

	if (len % 4)
		return rv_error_set(RV_EFORMAT, "not valid base64 (length)");
	want = len / 4 * 3;
	if (len && s[len - 1] == '=')
		want -= len >= 2 && s[len - 2] == '=' ? 2 : 1;
	if ((rc = rv_buf_grow(out, want)) < 0)
		return rc;
	if ((col = rv_base64_decode_exact((unsigned char *)out->ptr + out->len,
	    s, len, want)) != 0) {
		out->ptr[out->len] = '\0';
		return rv_error_set(RV_EFORMAT, "not valid base64 (byte %zu)", col - 1);
	}
	out->len += want;
	out->ptr[out->len] = '\0';
	return RV_OK;
}

static int decode_lenient(rv_buf *out, const char *s, size_t len)
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

int rv_base64_decode(rv_buf *out, const char *s, size_t len, int mode)
{
	if (mode == RV_BASE64_STRICT)
		return decode_strict(out, s, len);
	if (mode == RV_BASE64_LENIENT)
		return decode_lenient(out, s, len);
	return rv_error_set(RV_EINVAL, "unknown base64 mode %d", mode);
}
