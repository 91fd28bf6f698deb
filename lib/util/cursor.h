/* cursor.h - a strict reader of one line of text: literals, canonical decimals, hex digests */
#ifndef RV_CURSOR_H
#define RV_CURSOR_H

#include <stddef.h>
#include <stdint.h>

#include "util/sha256.h"

/* A read cursor over one line (no newline): p moves towards end. */
typedef struct rv_cursor {
	const char *p;
	const char *end;
} rv_cursor;

/* Consume the literal lit; 1 if it was there, 0 (cursor unchanged) if not. */
int rv_cursor_lit(rv_cursor *c, const char *lit);

/* Consume a canonical decimal number: digits only, no sign, no leading
 * zero (except "0" itself), at most UINT64_MAX. 1 on success, 0 (cursor
 * unchanged) otherwise. */
int rv_cursor_u64(rv_cursor *c, uint64_t *out);

/* Like rv_cursor_u64 for a size_t field. */
int rv_cursor_size(rv_cursor *c, size_t *out);

/* Consume 64 lower-case hex digits into out. 1 on success. */
int rv_cursor_hex(rv_cursor *c, unsigned char out[RV_SHA256_LEN]);

/* 1 when nothing is left. */
int rv_cursor_done(const rv_cursor *c);

#endif
