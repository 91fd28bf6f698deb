/* pkgdb_python.c - catalogue Python distributions: *.dist-info/METADATA, *.egg-info/PKG-INFO and *.egg-info files */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sources/sbom/pkgdb_python.h"
#include "util/error.h"
#include "util/span.h"
#include "util/banned.h"

/*
 * Core metadata (packaging.python.org, "Core metadata specifications"):
 * RFC 822 style headers, "Name: PyYAML", "Version: 6.0", ending at the
 * first blank line (the description may follow). Continuation lines start
 * with whitespace. A distribution is one *.dist-info or *.egg-info
 * directory (or a *.egg-info file holding the same headers), as
 * importlib.metadata counts them; its location is that directory or file.
 */

int rv_pkgdb_python_parse(rv_sbom *s, const char *path, const char *data,
	size_t size)
{
	size_t pos = 0, end, colon, plen = strlen(path);
	rv_span line, key, name = { NULL, 0 }, version = { NULL, 0 };
	rv_span loc, none = { NULL, 0 };

	while (pos < size) {
		end = pos;
		while (end < size && data[end] != '\n')
			end++;
		line.p = data + pos;
		line.n = end - pos;
		pos = end + 1;
		if (rv_span_trim(line.p, line.n).n == 0)
			break; /* end of the headers */
		if (line.p[0] == ' ' || line.p[0] == '\t')
			continue;
		for (colon = 0; colon < line.n && line.p[colon] != ':'; colon++)
			;
		if (colon == line.n)
			continue;
		key = rv_span_trim(line.p, colon);
		if (key.n == 4 && strncasecmp(key.p, "Name", 4) == 0 && !name.p)
			name = rv_span_trim(line.p + colon + 1, line.n - colon - 1);
		else if (key.n == 7 && strncasecmp(key.p, "Version", 7) == 0 &&
		    !version.p)
			version = rv_span_trim(line.p + colon + 1, line.n - colon - 1);
	}
	if (!name.n || !version.n)
		return rv_sbom_warn(s, path, plen, "no %s header%s",
			name.n ? "Version" : "Name",
			size == 0 ? " (empty file)" : "");
	if (memchr(name.p, '\0', name.n) || memchr(version.p, '\0', version.n))
		return rv_sbom_warn(s, path, plen, "NUL byte in Name or Version");
	/* the distribution is the directory holding METADATA or PKG-INFO */
	loc.p = path;
	loc.n = plen;
	if (plen > 9 && (strcmp(path + plen - 9, "/METADATA") == 0 ||
	    strcmp(path + plen - 9, "/PKG-INFO") == 0))
		loc.n = plen - 9;
	return rv_sbom_add_spans(s, "pypi", loc, name, version, none, none);
}
