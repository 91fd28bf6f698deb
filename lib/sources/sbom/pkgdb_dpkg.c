/* pkgdb_dpkg.c - catalogue dpkg's status file and distroless status.d/ files */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sources/sbom/pkgdb_dpkg.h"
#include "util/error.h"
#include "util/span.h"
#include "util/banned.h"

/*
 * The format (deb-status(5)): stanzas of "Field: value" lines separated by
 * blank lines; a line starting with a space or tab continues the previous
 * field. We read Package, Version, Architecture, Source and Status, and
 * keep the packages whose files are on disk: every state but
 * "not-installed" and "config-files" (what dpkg-query -W lists with a
 * version, less those two). A stanza without Status (distroless writes
 * some) counts as installed.
 */

typedef struct stanza {
	rv_span package, version, arch, source, status;
	size_t line;      /* first line of the stanza, 1-based */
	int fields;
} stanza;

static int word_is(rv_span w, const char *lit)
{
	return strlen(lit) == w.n && memcmp(w.p, lit, w.n) == 0;
}

/* The third word of "want flag state"; the whole value if it has fewer. */
static rv_span status_state(rv_span st)
{
	size_t i = 0, words = 0, start;
	rv_span w = { NULL, 0 };

	while (i < st.n && words < 3) {
		while (i < st.n && st.p[i] == ' ')
			i++;
		start = i;
		while (i < st.n && st.p[i] != ' ')
			i++;
		if (i > start) {
			w.p = st.p + start;
			w.n = i - start;
			words++;
		}
	}
	return words == 3 ? w : st;
}

static int flush(rv_sbom *s, const char *path, stanza *st)
{
	rv_span src, state, loc;
	size_t i;

	if (!st->fields)
		return RV_OK;
	if (!st->package.n)
		return rv_sbom_warn(s, path, strlen(path),
			"stanza at line %zu has no Package field", st->line);
	if (st->status.p) {
		state = status_state(st->status);
		if (word_is(state, "not-installed") || word_is(state, "config-files"))
			return RV_OK;
	}
	if (!st->version.n)
		return rv_sbom_warn(s, path, strlen(path),
			"package '%.*s' at line %zu has no Version field",
			(int)(st->package.n > 200 ? 200 : st->package.n),
			st->package.p, st->line);
	/* "Source: gcc-12 (12.2.0-14)": the source package's name */
	if (memchr(st->package.p, '\0', st->package.n) ||
	    memchr(st->version.p, '\0', st->version.n) ||
	    memchr(st->arch.p ? st->arch.p : "", '\0', st->arch.n) ||
	    memchr(st->source.p ? st->source.p : "", '\0', st->source.n))
		return rv_sbom_warn(s, path, strlen(path),
			"NUL byte in the stanza at line %zu", st->line);
	src = st->source;
	for (i = 0; i < src.n; i++)
		if (src.p[i] == ' ' || src.p[i] == '(')
			break;
	src.n = i;
	loc.p = path;
	loc.n = strlen(path);
	return rv_sbom_add_spans(s, "deb", loc, st->package, st->version, st->arch, src);
}

int rv_pkgdb_dpkg_parse(rv_sbom *s, const char *path, const char *data,
	size_t size)
{
	size_t pos = 0, end, colon, lineno = 0, bad = 0, first_bad = 0;
	stanza st;
	rv_span name, value, line;
	int rc = RV_OK, in_field = 0;

	memset(&st, 0, sizeof(st));
	while (pos < size) {
		end = pos;
		while (end < size && data[end] != '\n')
			end++;
		lineno++;
		line.p = data + pos;
		line.n = end - pos;
		pos = end + 1;
		if (rv_span_trim(line.p, line.n).n == 0) {
			if ((rc = flush(s, path, &st)) < 0)
				return rc;
			memset(&st, 0, sizeof(st));
			in_field = 0;
			continue;
		}
		if (line.p[0] == ' ' || line.p[0] == '\t') {
			if (!in_field && !bad++)
				first_bad = lineno;
			continue;
		}
		for (colon = 0; colon < line.n && line.p[colon] != ':'; colon++)
			;
		if (colon == line.n || colon == 0) {
			if (!bad++)
				first_bad = lineno;
			in_field = 0;
			continue;
		}
		if (!st.fields)
			st.line = lineno;
		st.fields++;
		in_field = 1;
		name = rv_span_trim(line.p, colon);
		value = rv_span_trim(line.p + colon + 1, line.n - colon - 1);
#define FIELD(lit, slot) \
	(name.n == sizeof(lit) - 1 && strncasecmp(name.p, lit, name.n) == 0) \
		st.slot = value
		if FIELD("Package", package);
		else if FIELD("Version", version);
		else if FIELD("Architecture", arch);
		else if FIELD("Source", source);
		else if FIELD("Status", status);
#undef FIELD
	}
	if ((rc = flush(s, path, &st)) < 0)
		return rc;
	if (bad)
		rc = rv_sbom_warn(s, path, strlen(path),
			"%zu malformed line%s (the first at line %zu)", bad,
			bad == 1 ? "" : "s", first_bad);
	return rc;
}
