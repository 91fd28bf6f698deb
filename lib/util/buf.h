/* buf.h - growable byte buffers with a hard size cap */
#ifndef RV_BUF_H
#define RV_BUF_H

#include <stdarg.h>
#include <stddef.h>

/*
 * A caller-owned buffer (after curl's dynbuf). The contents are always
 * NUL-terminated, so text can be read as a C string, but may hold any byte.
 * `max` caps len: an append that would pass it fails with RV_ETOOBIG and
 * leaves the buffer unchanged. Everything read from outside goes through
 * one of these.
 */
typedef struct rv_buf {
	char *ptr;   /* NULL until the first append */
	size_t len;  /* bytes used, not counting the terminating NUL */
	size_t cap;  /* bytes allocated */
	size_t max;  /* cap on len */
} rv_buf;

#define RV_BUF_INIT(max) { NULL, 0, 0, (max) }

/* Start an empty buffer that may hold at most max bytes. */
void rv_buf_init(rv_buf *b, size_t max);

/* Free the contents; the buffer is empty and reusable afterwards. */
void rv_buf_dispose(rv_buf *b);

/* Empty the buffer, keeping its allocation. */
void rv_buf_reset(rv_buf *b);

/* Append len bytes. RV_ETOOBIG past max, RV_ENOMEM on allocation failure. */
int rv_buf_add(rv_buf *b, const void *data, size_t len);

/* Append a C string. */
int rv_buf_puts(rv_buf *b, const char *s);

/* Append one byte. */
int rv_buf_putc(rv_buf *b, char c);

/* Append printf-formatted text. */
int rv_buf_printf(rv_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int rv_buf_vprintf(rv_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Make room for `extra` more bytes without changing len. */
int rv_buf_grow(rv_buf *b, size_t extra);

/* Hand the contents to the caller (free() them); the buffer is left empty.
 * Returns an allocated empty string when nothing was appended, or NULL if
 * that allocation fails. */
char *rv_buf_detach(rv_buf *b, size_t *len_out);

#endif
