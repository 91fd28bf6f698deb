/* pkgdb_python.c - catalogue Python distributions: *.dist-info/METADATA, *.egg-info/PKG-INFO and *.egg-info files */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sources/pkgdb_python.h"
#include "util/error.h"
#include "util/banned.h"

/*
 * Core metadata (packaging.python.org, "Core metadata specifications"):
 * RFC 822 style headers, "Name: PyYAML", "Version: 6.0", ending at the
 * first blank line (the description may follow). Continuation lines start
 * with whitespace. A distribution is one *.dist-info or *.egg-info
 * directory (or a *.egg-info file holding the same headers), as
 * importlib.metadata counts them; its location is that directory or file.
 */

typedef struct span {
	const char *p;
	size_t n;
} span;

static char *span_dup(span v)
{
	char *d = malloc(v.n + 1);

	if (d) {
		if (v.n)
			memcpy(d, v.p, v.n);
		d[v.n] = '\0';
	}
	return d;
}

static span trim(const char *p, size_t n)
{
	span v;

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

int rv_pkgdb_python_parse(rv_sbom *s, const char *path, const char *data,
	size_t size)
{
	size_t pos = 0, end, colon, plen = strlen(path);
	span line, key, name = { NULL, 0 }, version = { NULL, 0 };
	rv_sbom_pkg pkg;
	int rc;

	memset(&pkg, 0, sizeof(pkg));
	while (pos < size) {
		end = pos;
		while (end < size && data[end] != '\n')
			end++;
		line.p = data + pos;
		line.n = end - pos;
		pos = end + 1;
		if (trim(line.p, line.n).n == 0)
			break; /* end of the headers */
		if (line.p[0] == ' ' || line.p[0] == '\t')
			continue;
		for (colon = 0; colon < line.n && line.p[colon] != ':'; colon++)
			;
		if (colon == line.n)
			continue;
		key = trim(line.p, colon);
		if (key.n == 4 && strncasecmp(key.p, "Name", 4) == 0 && !name.p)
			name = trim(line.p + colon + 1, line.n - colon - 1);
		else if (key.n == 7 && strncasecmp(key.p, "Version", 7) == 0 &&
		    !version.p)
			version = trim(line.p + colon + 1, line.n - colon - 1);
	}
	if (!name.n || !version.n)
		return rv_sbom_warn(s, path, plen, "no %s header%s",
			name.n ? "Version" : "Name",
			size == 0 ? " (empty file)" : "");
	if (memchr(name.p, '\0', name.n) || memchr(version.p, '\0', version.n))
		return rv_sbom_warn(s, path, plen, "NUL byte in Name or Version");
	pkg.type = "pypi";
	/* the distribution is the directory holding METADATA or PKG-INFO */
	if (plen > 9 && (strcmp(path + plen - 9, "/METADATA") == 0 ||
	    strcmp(path + plen - 9, "/PKG-INFO") == 0)) {
		span dir = { path, plen - 9 };

		pkg.location = span_dup(dir);
	} else {
		span all = { path, plen };

		pkg.location = span_dup(all);
	}
	if (!pkg.location || !(pkg.name = span_dup(name)) ||
	    !(pkg.version = span_dup(version))) {
		rc = rv_error_set(RV_ENOMEM, "out of memory");
		goto cleanup;
	}
	rc = rv_sbom_add(s, &pkg);
cleanup:
	free(pkg.location);
	free(pkg.name);
	free(pkg.version);
	return rc;
}
