/* base64.h - decode standard base64 (RFC 4648): strict, canonical, or lenient for hand-written files */
#ifndef RV_BASE64_H
#define RV_BASE64_H

#include <stddef.h>

#include "util/buf.h"

/* How rv_base64_decode reads its input. Every mode takes only the
 * standard alphabet ('+' and '/'): '-' and '_' (URL-safe) are refused. */
enum {
	/*
	 * What tools and API servers write (Go's base64.StdEncoding, the
	 * Kubernetes API's []byte, docker's config.json "auth"): the length
	 * a multiple of 4, '=' padding exactly where the encoder puts it,
	 * no whitespace, and the unused low bits of the last character zero,
	 * so each byte string has exactly one accepted text.
	 */
	RV_BASE64_STRICT = 0,
	/*
	 * For files people edit (a kubeconfig's *-data, PEM that may be
	 * wrapped): ASCII whitespace (space, tab, CR, LF) is ignored and '='
	 * padding is optional, but only at the end.
	 */
	RV_BASE64_LENIENT = 1,
};

/*
 * Append the bytes of the base64 in s[0..len) to out, read as mode says
 * (RV_BASE64_STRICT or RV_BASE64_LENIENT). Anything else is RV_EFORMAT
 * naming the byte offset (never the text: it may be a secret); out->max
 * caps the result (RV_ETOOBIG). Nothing is appended on error. Callers
 * holding secrets wipe out themselves.
 */
int rv_base64_decode(rv_buf *out, const char *s, size_t len, int mode);

/*
 * Decode exactly the strict (canonical) base64 of `want` bytes from s
 * (len characters) into out, which has room for want bytes: the length
 * must be 4 * ceil(want / 3). Returns 0, or the 1-based column of the
 * first bad character (the length itself being wrong is reported as
 * column len + 1). For a caller that knows the size in advance (the
 * probe's frame lines, core/frame.h).
 */
size_t rv_base64_decode_exact(unsigned char *out, const char *s, size_t len,
	size_t want);

#endif
