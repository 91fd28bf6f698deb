/* pkgdb_apk.c - catalogue Alpine's apk database (/lib/apk/db/installed) */
#include <stdlib.h>
#include <string.h>

#include "sources/sbom/pkgdb_apk.h"
#include "util/error.h"
#include "util/span.h"
#include "util/banned.h"

/*
 * The format (apk-tools' "installed database", the same as APKINDEX):
 * one record per package, records separated by a blank line, one field
 * per line as a single-letter key, a colon and the value:
 *
 *   C:Q1...=       checksum of the package's control data
 *   P:musl         name
 *   V:1.2.4-r2     version
 *   A:x86_64       architecture
 *   o:musl         origin (source package)
 *   F:lib          a directory, followed by its R: (file) and a/Z: lines
 *
 * We read P, V, A and o; other keys are skipped. A non-empty line that is
 * not "<one byte>:" is malformed. tests/fixtures/apk/README documents the
 * fixture this is tested on.
 */

typedef struct record {
	rv_span name, version, arch, origin;
	size_t line;
	int fields;
} record;

static int flush(rv_sbom *s, const char *path, record *r)
{
	rv_span loc;

	if (!r->fields)
		return RV_OK;
	if (!r->name.n || !r->version.n)
		return rv_sbom_warn(s, path, strlen(path),
			"record at line %zu has no %s", r->line,
			r->name.n ? "V: line" : "P: line");
	if (memchr(r->name.p, '\0', r->name.n) ||
	    memchr(r->version.p, '\0', r->version.n) ||
	    memchr(r->arch.p ? r->arch.p : "", '\0', r->arch.n) ||
	    memchr(r->origin.p ? r->origin.p : "", '\0', r->origin.n))
		return rv_sbom_warn(s, path, strlen(path),
			"NUL byte in the record at line %zu", r->line);
	loc.p = path;
	loc.n = strlen(path);
	return rv_sbom_add_spans(s, "apk", loc, r->name, r->version, r->arch, r->origin);
}

int rv_pkgdb_apk_parse(rv_sbom *s, const char *path, const char *data,
	size_t size)
{
	size_t pos = 0, end, n, lineno = 0, bad = 0, first_bad = 0;
	const char *line;
	rv_span v;
	record r;
	int rc;

	memset(&r, 0, sizeof(r));
	while (pos < size) {
		end = pos;
		while (end < size && data[end] != '\n')
			end++;
		lineno++;
		line = data + pos;
		n = end - pos;
		pos = end + 1;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (n == 0) {
			if ((rc = flush(s, path, &r)) < 0)
				return rc;
			memset(&r, 0, sizeof(r));
			continue;
		}
		if (n < 2 || line[1] != ':') {
			if (!bad++)
				first_bad = lineno;
			continue;
		}
		if (!r.fields)
			r.line = lineno;
		r.fields++;
		v.p = line + 2;
		v.n = n - 2;
		switch (line[0]) {
		case 'P': r.name = v; break;
		case 'V': r.version = v; break;
		case 'A': r.arch = v; break;
		case 'o': r.origin = v; break;
		default: break;
		}
	}
	if ((rc = flush(s, path, &r)) < 0)
		return rc;
	if (bad)
		return rv_sbom_warn(s, path, strlen(path),
			"%zu malformed line%s (the first at line %zu)", bad,
			bad == 1 ? "" : "s", first_bad);
	return RV_OK;
}
