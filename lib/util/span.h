/* span.h - a borrowed run of bytes, for parsers of untrusted text */
#ifndef RV_SPAN_H
#define RV_SPAN_H

#include <stddef.h>

/* Bytes p[0..n) of a buffer someone else owns. */
typedef struct rv_span {
	const char *p;
	size_t n;
} rv_span;

/* A NUL-terminated copy of v (free() it), or NULL when out of memory. */
char *rv_span_dup(rv_span v);

/* p[0..n) without leading spaces and tabs, nor trailing spaces, tabs and
 * carriage returns. */
rv_span rv_span_trim(const char *p, size_t n);

#endif
