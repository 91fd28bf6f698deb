/* base64.h - decode standard base64 from configuration and API objects */
#ifndef RV_BASE64_H
#define RV_BASE64_H

#include <stddef.h>

#include "util/buf.h"

/*
 * Append the bytes of the standard base64 (RFC 4648, '+' and '/') in
 * s[0..len) to out. ASCII whitespace is ignored (PEM data in a kubeconfig
 * may be wrapped); '=' padding is optional but only at the end. Anything
 * else is RV_EFORMAT; out->max caps the result (RV_ETOOBIG). Nothing is
 * appended on error. Callers holding secrets wipe out themselves.
 */
int rv_base64_decode(rv_buf *out, const char *s, size_t len);

#endif
