/* span.c - a borrowed run of bytes, for parsers of untrusted text */
#include <stdlib.h>
#include <string.h>

#include "util/span.h"
#include "util/banned.h"

char *rv_span_dup(rv_span v)
{
	char *d = malloc(v.n + 1);

	if (d) {
		if (v.n)
			memcpy(d, v.p, v.n);
		d[v.n] = '\0';
	}
	return d;
}

rv_span rv_span_trim(const char *p, size_t n)
{
	rv_span v;

	while (n > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r'))
		n--;
	v.p = p;
	v.n = n;
	return v;
}
