/* sbom.c - catalogue installed packages from their databases, fed by any file source */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sources/sbom/sbom.h"
#include "sources/sbom/pkgdb_apk.h"
#include "sources/sbom/pkgdb_dpkg.h"
#include "sources/sbom/pkgdb_npm.h"
#include "sources/sbom/pkgdb_python.h"
#include "sources/sbom/pkgdb_rpm.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/banned.h"

static const char *const types[] = { "deb", "apk", "rpm", "pypi", "npm" };

const char *const *rv_sbom_db_globs(size_t *n)
{
	return rv_dbpath_globs(n);
}

const char *const *rv_sbom_types(size_t *n)
{
	*n = sizeof(types) / sizeof(types[0]);
	return types;
}

void rv_sbom_count_types(const rv_sbom *s, size_t *counts)
{
	size_t i, t, nt = sizeof(types) / sizeof(types[0]);

	for (t = 0; t < nt; t++)
		counts[t] = 0;
	for (i = 0; i < s->npkgs; i++)
		for (t = 0; t < nt; t++)
			if (strcmp(s->pkgs[i].type, types[t]) == 0)
				counts[t]++;
}

rv_sbom_kind rv_sbom_wants(const char *path, size_t len, size_t *max_out)
{
	return rv_dbpath_classify(path, len, max_out);
}

int rv_sbom_new(rv_sbom **out)
{
	rv_sbom *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s)
		return rv_error_set(RV_ENOMEM, "out of memory");
	*out = s;
	return RV_OK;
}

static void pkg_dispose(rv_sbom_pkg *p)
{
	free(p->type);
	free(p->ns);
	free(p->name);
	free(p->version);
	free(p->arch);
	free(p->upstream);
	free(p->epoch);
	free(p->location);
	free(p->purl);
}

void rv_sbom_free(rv_sbom *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->npkgs; i++)
		pkg_dispose(&s->pkgs[i]);
	free(s->pkgs);
	for (i = 0; i < s->nwarnings; i++) {
		free(s->warnings[i].path);
		free(s->warnings[i].message);
	}
	free(s->warnings);
	free(s->os.id);
	free(s->os.version_id);
	free(s->os.pretty_name);
	free(s->os.codename);
	free(s->os_etc);
	free(s->os_usr);
	free(s);
}

static char *dupn(const char *p, size_t n)
{
	char *d = malloc(n + 1);

	if (d) {
		memcpy(d, p, n);
		d[n] = '\0';
	}
	return d;
}

static int dup_opt(char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return RV_OK;
	if (!(*dst = dupn(src, strlen(src))))
		return rv_error_set(RV_ENOMEM, "out of memory");
	return RV_OK;
}

int rv_sbom_warn(rv_sbom *s, const char *path, size_t len, const char *fmt, ...)
{
	rv_buf msg = RV_BUF_INIT(4096);
	rv_sbom_warning *w;
	va_list ap;
	int rc;

	if (s->nwarnings >= RV_SBOM_MAX_WARNINGS) {
		s->warnings_dropped++;
		return RV_OK;
	}
	va_start(ap, fmt);
	rc = rv_buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	if (rc == RV_ETOOBIG) {
		rv_buf_reset(&msg);
		rc = rv_buf_puts(&msg, "malformed (message too long)");
	}
	if (rc < 0)
		goto cleanup;
	if (s->nwarnings == s->warnings_cap) {
		size_t cap = s->warnings_cap ? s->warnings_cap * 2 : 16;

		w = realloc(s->warnings, cap * sizeof(*w));
		if (!w) {
			rc = rv_error_set(RV_ENOMEM, "out of memory");
			goto cleanup;
		}
		s->warnings = w;
		s->warnings_cap = cap;
	}
	w = &s->warnings[s->nwarnings];
	w->path = dupn(path, len);
	w->message = rv_buf_detach(&msg, NULL);
	if (!w->path || !w->message) {
		free(w->path);
		free(w->message);
		rc = rv_error_set(RV_ENOMEM, "out of memory");
		goto cleanup;
	}
	s->nwarnings++;
cleanup:
	rv_buf_dispose(&msg);
	return rc;
}

int rv_sbom_add(rv_sbom *s, const rv_sbom_pkg *p)
{
	rv_sbom_pkg *n;
	int rc;

	if (!p->type || !p->name || !p->version || !p->location ||
	    !p->name[0] || !p->version[0])
		return rv_error_set(RV_EINVAL, "package without a type, name, "
			"version or location");
	if (s->npkgs >= RV_SBOM_MAX_PKGS)
		return rv_sbom_warn(s, p->location, strlen(p->location),
			"more than %u packages: '%s' left out",
			RV_SBOM_MAX_PKGS, p->name);
	if (s->npkgs == s->pkgs_cap) {
		size_t cap = s->pkgs_cap ? s->pkgs_cap * 2 : 64;

		n = realloc(s->pkgs, cap * sizeof(*n));
		if (!n)
			return rv_error_set(RV_ENOMEM, "out of memory");
		s->pkgs = n;
		s->pkgs_cap = cap;
	}
	n = &s->pkgs[s->npkgs];
	memset(n, 0, sizeof(*n));
	if ((rc = dup_opt(&n->type, p->type)) < 0 ||
	    (rc = dup_opt(&n->ns, p->ns)) < 0 ||
	    (rc = dup_opt(&n->name, p->name)) < 0 ||
	    (rc = dup_opt(&n->version, p->version)) < 0 ||
	    (rc = dup_opt(&n->arch, p->arch)) < 0 ||
	    (rc = dup_opt(&n->upstream, p->upstream)) < 0 ||
	    (rc = dup_opt(&n->epoch, p->epoch)) < 0 ||
	    (rc = dup_opt(&n->location, p->location)) < 0 ||
	    (rc = dup_opt(&n->purl, p->purl)) < 0) {
		pkg_dispose(n);
		return rc;
	}
	s->npkgs++;
	return RV_OK;
}

static int keep_copy(char **dst, size_t *dst_len, const void *data, size_t size)
{
	char *c = dupn(data, size);

	if (!c)
		return rv_error_set(RV_ENOMEM, "out of memory");
	free(*dst);
	*dst = c;
	*dst_len = size;
	return RV_OK;
}

int rv_sbom_feed(rv_sbom *s, const char *path, size_t len,
	const void *data, size_t size)
{
	size_t max;
	rv_sbom_kind kind = rv_sbom_wants(path, len, &max);
	char *p = NULL;
	int rc = RV_OK;

	if (s->finished)
		return rv_error_set(RV_EINVAL, "catalogue already finished");
	if (kind == RV_SBOM_NONE)
		return rv_error_set(RV_EINVAL, "not a package database: '%.*s'",
			(int)(len > 256 ? 256 : len), path);
	if (size > max)
		return rv_sbom_warn(s, path, len,
			"larger than the limit of %zu bytes", max);
	/* the parsers want a NUL-terminated path */
	if (!(p = dupn(path, len)))
		return rv_error_set(RV_ENOMEM, "out of memory");
	s->dbs_read[kind]++;
	s->bytes_read += size;
	switch (kind) {
	case RV_SBOM_OS_RELEASE:
		if (p[1] == 'e')
			rc = keep_copy(&s->os_etc, &s->os_etc_len, data, size);
		else
			rc = keep_copy(&s->os_usr, &s->os_usr_len, data, size);
		break;
	case RV_SBOM_DPKG:
	case RV_SBOM_DPKG_D:
		rc = rv_pkgdb_dpkg_parse(s, p, data, size);
		break;
	case RV_SBOM_APK:
		rc = rv_pkgdb_apk_parse(s, p, data, size);
		break;
	case RV_SBOM_RPM:
		rc = rv_pkgdb_rpm_parse(s, p, data, size);
		break;
	case RV_SBOM_PYTHON:
		rc = rv_pkgdb_python_parse(s, p, data, size);
		break;
	case RV_SBOM_NPM:
		rc = rv_pkgdb_npm_parse(s, p, data, size);
		break;
	default:
		break;
	}
	free(p);
	return rc;
}

int rv_sbom_feed_failed(rv_sbom *s, const char *path, size_t len,
	const char *why)
{
	if (s->finished)
		return rv_error_set(RV_EINVAL, "catalogue already finished");
	return rv_sbom_warn(s, path, len, "%s", why);
}

int rv_sbom_feed_dbset(rv_sbom *s, const rv_dbset *set)
{
	size_t i;
	int rc;

	for (i = 0; i < set->n; i++) {
		const rv_dbset_file *f = &set->files[i];

		if (f->error)
			rc = rv_sbom_feed_failed(s, f->path, f->path_len, f->error);
		else if (rv_sbom_wants(f->path, f->path_len, NULL) == RV_SBOM_NONE)
			rc = s->finished ? rv_error_set(RV_EINVAL, "catalogue already finished") :
				rv_sbom_warn(s, f->path, f->path_len, "not a package database");
		else
			rc = rv_sbom_feed(s, f->path, f->path_len, f->data ? (const void *)f->data : "",
				f->size);
		if (rc < 0)
			return rc;
	}
	return RV_OK;
}

/* --- os-release ----------------------------------------------------------- */

/* Unquote an os-release value ("..." or '...' with backslash escapes in
 * double quotes) into a new string. */
static char *os_value(const char *v, size_t n)
{
	rv_buf b = RV_BUF_INIT(RV_DBPATH_MAX_OS_RELEASE);
	size_t i;
	char q = 0;

	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r'))
		n--;
	if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
		q = v[0];
		v++;
		n -= 2;
	}
	for (i = 0; i < n; i++) {
		if (q == '"' && v[i] == '\\' && i + 1 < n)
			i++;
		if (rv_buf_putc(&b, v[i]) < 0) {
			rv_buf_dispose(&b);
			return NULL;
		}
	}
	return rv_buf_detach(&b, NULL);
}

static int parse_os_release(rv_sbom *s, const char *path, const char *d, size_t n)
{
	size_t pos = 0, end, eq;
	const char *line;
	char **slot;
	size_t klen;

	while (pos < n) {
		line = d + pos;
		end = pos;
		while (end < n && d[end] != '\n')
			end++;
		klen = 0;
		for (eq = pos; eq < end && d[eq] != '='; eq++)
			klen++;
		pos = end + 1;
		if (eq >= end || line[0] == '#')
			continue;
		slot = NULL;
		if (klen == 2 && memcmp(line, "ID", 2) == 0)
			slot = &s->os.id;
		else if (klen == 10 && memcmp(line, "VERSION_ID", 10) == 0)
			slot = &s->os.version_id;
		else if (klen == 11 && memcmp(line, "PRETTY_NAME", 11) == 0)
			slot = &s->os.pretty_name;
		else if (klen == 16 && memcmp(line, "VERSION_CODENAME", 16) == 0)
			slot = &s->os.codename;
		if (!slot)
			continue;
		free(*slot);
		if (!(*slot = os_value(d + eq + 1, end - eq - 1)))
			return rv_error_set(RV_ENOMEM, "out of memory");
		if (!**slot) {
			free(*slot);
			*slot = NULL;
		}
	}
	if (!s->os.id)
		return rv_sbom_warn(s, path, strlen(path), "no ID line");
	return RV_OK;
}

/* --- purls ---------------------------------------------------------------- */

int rv_sbom_purl_encode(rv_buf *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char c;
	size_t i;
	int rc;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		    c == '_' || c == '~' || c == ':')
			rc = rv_buf_putc(out, (char)c);
		else
			rc = rv_buf_printf(out, "%%%c%c", hex[c >> 4], hex[c & 15]);
		if (rc < 0)
			return rc;
	}
	return RV_OK;
}

static int enc(rv_buf *out, const char *s)
{
	return rv_sbom_purl_encode(out, s, strlen(s));
}

/* PEP 503: lowercase, runs of - _ . become one '-'. */
static int pypi_name(rv_buf *out, const char *name)
{
	rv_buf n = RV_BUF_INIT(out->max);
	const char *p;
	int rc = RV_OK, sep = 0;

	for (p = name; *p && rc == 0; p++) {
		if (*p == '-' || *p == '_' || *p == '.') {
			sep = 1;
			continue;
		}
		if (sep && n.len)
			rc = rv_buf_putc(&n, '-');
		sep = 0;
		if (rc == 0)
			rc = rv_buf_putc(&n, (char)(*p >= 'A' && *p <= 'Z' ?
				*p - 'A' + 'a' : *p));
	}
	if (rc == 0)
		rc = rv_sbom_purl_encode(out, n.ptr ? n.ptr : "", n.len);
	rv_buf_dispose(&n);
	return rc;
}

int rv_sbom_purl(rv_buf *out, const rv_sbom_pkg *p, const char *distro)
{
	const char *keys[4], *vals[4];
	int rc, nq = 0, i, distro_type;

	distro_type = !strcmp(p->type, "deb") || !strcmp(p->type, "apk") ||
		!strcmp(p->type, "rpm");
	if ((rc = rv_buf_puts(out, "pkg:")) < 0 ||
	    (rc = rv_buf_puts(out, p->type)) < 0 ||
	    (rc = rv_buf_putc(out, '/')) < 0)
		return rc;
	if (p->ns && p->ns[0]) {
		if ((rc = enc(out, p->ns)) < 0 || (rc = rv_buf_putc(out, '/')) < 0)
			return rc;
	}
	if (!strcmp(p->type, "pypi"))
		rc = pypi_name(out, p->name);
	else
		rc = enc(out, p->name);
	if (rc < 0 || (rc = rv_buf_putc(out, '@')) < 0 ||
	    (rc = enc(out, p->version)) < 0)
		return rc;
	/* qualifiers, sorted by key */
	if (p->arch && p->arch[0]) {
		keys[nq] = "arch";
		vals[nq++] = p->arch;
	}
	if (distro_type && distro && distro[0]) {
		keys[nq] = "distro";
		vals[nq++] = distro;
	}
	if (p->epoch && p->epoch[0]) {
		keys[nq] = "epoch";
		vals[nq++] = p->epoch;
	}
	if (p->upstream && p->upstream[0]) {
		keys[nq] = "upstream";
		vals[nq++] = p->upstream;
	}
	for (i = 0; i < nq; i++) {
		if ((rc = rv_buf_putc(out, i ? '&' : '?')) < 0 ||
		    (rc = rv_buf_puts(out, keys[i])) < 0 ||
		    (rc = rv_buf_putc(out, '=')) < 0 ||
		    (rc = enc(out, vals[i])) < 0)
			return rc;
	}
	return RV_OK;
}

static int cmp_pkg(const void *x, const void *y)
{
	const rv_sbom_pkg *a = x, *b = y;
	int c = strcmp(a->purl, b->purl);

	return c ? c : strcmp(a->location, b->location);
}

int rv_sbom_finish(rv_sbom *s)
{
	rv_buf b = RV_BUF_INIT(1u << 20);
	char *distro = NULL;
	const char *def;
	size_t i;
	int rc = RV_OK;

	if (s->finished)
		return rv_error_set(RV_EINVAL, "catalogue already finished");
	s->finished = 1;
	if (s->os_etc)
		rc = parse_os_release(s, "/etc/os-release", s->os_etc, s->os_etc_len);
	else if (s->os_usr)
		rc = parse_os_release(s, "/usr/lib/os-release", s->os_usr,
			s->os_usr_len);
	if (rc < 0)
		goto cleanup;
	if (s->os.id && (s->os.version_id || s->os.codename)) {
		if ((rc = rv_buf_printf(&b, "%s-%s", s->os.id, s->os.version_id ?
		    s->os.version_id : s->os.codename)) < 0)
			goto cleanup;
		distro = rv_buf_detach(&b, NULL);
		if (!distro) {
			rc = rv_error_set(RV_ENOMEM, "out of memory");
			goto cleanup;
		}
	}
	for (i = 0; i < s->npkgs; i++) {
		rv_sbom_pkg *p = &s->pkgs[i];

		if (p->purl)
			continue;
		def = NULL;
		if (!strcmp(p->type, "deb"))
			def = "debian";
		else if (!strcmp(p->type, "apk"))
			def = "alpine";
		else if (!strcmp(p->type, "rpm"))
			def = "";
		if (def && !p->ns) {
			if ((rc = dup_opt(&p->ns, s->os.id ? s->os.id : def)) < 0)
				goto cleanup;
		}
		rv_buf_reset(&b);
		if ((rc = rv_sbom_purl(&b, p, distro)) < 0)
			goto cleanup;
		if (!(p->purl = rv_buf_detach(&b, NULL))) {
			rc = rv_error_set(RV_ENOMEM, "out of memory");
			goto cleanup;
		}
	}
	if (s->npkgs > 1)
		qsort(s->pkgs, s->npkgs, sizeof(*s->pkgs), cmp_pkg);
cleanup:
	free(distro);
	rv_buf_dispose(&b);
	return rc;
}

int rv_sbom_add_spans(rv_sbom *s, const char *type, rv_span location,
	rv_span name, rv_span version, rv_span arch, rv_span upstream)
{
	rv_sbom_pkg pkg;
	int rc;

	memset(&pkg, 0, sizeof(pkg));
	pkg.type = (char *)type;
	if (!(pkg.location = rv_span_dup(location)) ||
	    !(pkg.name = rv_span_dup(name)) ||
	    !(pkg.version = rv_span_dup(version)) ||
	    (arch.n && !(pkg.arch = rv_span_dup(arch))) ||
	    (upstream.n && !(pkg.upstream = rv_span_dup(upstream)))) {
		rc = rv_error_set(RV_ENOMEM, "out of memory");
		goto cleanup;
	}
	rc = rv_sbom_add(s, &pkg);
cleanup:
	free(pkg.location);
	free(pkg.name);
	free(pkg.version);
	free(pkg.arch);
	free(pkg.upstream);
	return rc;
}
