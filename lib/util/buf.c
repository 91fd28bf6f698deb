/* buf.c - growable byte buffers with a hard size cap */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "banned.h"

void rv_buf_init(rv_buf *b, size_t max)
{
	b->ptr = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void rv_buf_dispose(rv_buf *b)
{
	free(b->ptr);
	b->ptr = NULL;
	b->len = 0;
	b->cap = 0;
}

void rv_buf_reset(rv_buf *b)
{
	b->len = 0;
	if (b->ptr)
		b->ptr[0] = '\0';
}

int rv_buf_grow(rv_buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (extra > b->max || b->len > b->max - extra)
		return rv_error_set(RV_ETOOBIG,
			"data larger than the limit of %zu bytes", b->max);
	need = b->len + extra + 1;
	if (need <= b->cap)
		return RV_OK;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > ((size_t)-1) / 2 ? need : cap * 2;
	p = realloc(b->ptr, cap);
	if (!p)
		return rv_error_set(RV_ENOMEM, "out of memory (%zu bytes)", cap);
	b->ptr = p;
	b->cap = cap;
	return RV_OK;
}

int rv_buf_add(rv_buf *b, const void *data, size_t len)
{
	int rc;

	if ((rc = rv_buf_grow(b, len)) < 0)
		return rc;
	if (len)
		memcpy(b->ptr + b->len, data, len);
	b->len += len;
	b->ptr[b->len] = '\0';
	return RV_OK;
}

int rv_buf_puts(rv_buf *b, const char *s)
{
	return rv_buf_add(b, s, strlen(s));
}

int rv_buf_putc(rv_buf *b, char c)
{
	return rv_buf_add(b, &c, 1);
}

int rv_buf_vprintf(rv_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n, rc;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return rv_error_set(RV_EINVAL, "bad format string");
	if ((rc = rv_buf_grow(b, (size_t)n)) < 0)
		return rc;
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return RV_OK;
}

int rv_buf_printf(rv_buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = rv_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

char *rv_buf_detach(rv_buf *b, size_t *len_out)
{
	char *p = b->ptr;

	if (len_out)
		*len_out = b->len;
	if (!p)
		p = calloc(1, 1);
	b->ptr = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}
