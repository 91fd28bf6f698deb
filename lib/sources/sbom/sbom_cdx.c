/* sbom_cdx.c - CycloneDX 1.5 JSON and a text listing of a catalogue, and reading a BOM back */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <jansson.h>

#include "sources/sbom/sbom_cdx.h"
#include "util/error.h"
#include "util/banned.h"

/* A JSON string for s; bytes that are not valid UTF-8 (a database may hold
 * Latin-1) become '?', since JSON text must be UTF-8. NULL on ENOMEM. */
static json_t *jstr(const char *s)
{
	json_t *j = json_string(s);
	char *c;
	size_t i;

	if (j || !s)
		return j;
	if (!(c = strdup(s)))
		return NULL;
	for (i = 0; c[i]; i++)
		if ((unsigned char)c[i] >= 0x80)
			c[i] = '?';
	j = json_string(c);
	free(c);
	return j;
}

/* Set key to a new string value; 0 or -1 (ENOMEM). */
static int set_str(json_t *o, const char *key, const char *v)
{
	return json_object_set_new(o, key, jstr(v));
}

static int property(json_t *arr, const char *name, const char *value)
{
	json_t *p = json_object();

	if (!p)
		return -1;
	if (set_str(p, "name", name) < 0 || set_str(p, "value", value) < 0) {
		json_decref(p);
		return -1;
	}
	return json_array_append_new(arr, p);
}

static int random_serial(char out[46])
{
	unsigned char r[16];
	size_t got = 0;
	ssize_t n;

	while (got < sizeof(r)) {
		n = getrandom(r + got, sizeof(r) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return rv_error_setsys(RV_EIO, errno, "getrandom");
		got += (size_t)n;
	}
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40); /* version 4 */
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, 46, "urn:uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		"%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5],
		r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
	return RV_OK;
}

static int dump_cb(const char *buf, size_t size, void *data)
{
	return rv_buf_add(data, buf, size) < 0 ? -1 : 0;
}

int rv_sbom_cdx_write(rv_buf *out, const rv_sbom *s, const rv_sbom_cdx_meta *meta)
{
	json_t *bom = NULL, *md, *tools, *tool, *tc, *comp, *comps, *c, *props;
	rv_buf ref = RV_BUF_INIT(1u << 20), w = RV_BUF_INIT(1u << 20);
	char serial[46], ts[32];
	const char *type, *name;
	struct tm tm;
	time_t now;
	size_t i, dup = 1;
	int rc = RV_ENOMEM;

	if (!s->finished)
		return rv_error_set(RV_EINVAL, "catalogue not finished");
	if (meta && meta->serial) {
		snprintf(serial, sizeof(serial), "%s", meta->serial);
	} else if ((rc = random_serial(serial)) < 0) {
		return rc;
	}
	rc = RV_ENOMEM;
	if (!(bom = json_object()) ||
	    set_str(bom, "bomFormat", "CycloneDX") < 0 ||
	    set_str(bom, "specVersion", "1.5") < 0 ||
	    set_str(bom, "serialNumber", meta && meta->serial ? meta->serial : serial) < 0 ||
	    json_object_set_new(bom, "version", json_integer(1)) < 0 ||
	    json_object_set_new(bom, "metadata", md = json_object()) < 0)
		goto oom;
	if (!meta || !meta->timestamp) {
		now = time(NULL);
		gmtime_r(&now, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
		if (set_str(md, "timestamp", ts) < 0)
			goto oom;
	} else if (meta->timestamp[0] && set_str(md, "timestamp", meta->timestamp) < 0) {
		goto oom;
	}
	if (json_object_set_new(md, "tools", tools = json_object()) < 0 ||
	    json_object_set_new(tools, "components", tc = json_array()) < 0 ||
	    !(tool = json_object()) || json_array_append_new(tc, tool) < 0 ||
	    set_str(tool, "type", "application") < 0 ||
	    set_str(tool, "name", "runtime-verifier") < 0 ||
	    (meta && meta->tool_version &&
	     set_str(tool, "version", meta->tool_version) < 0))
		goto oom;
	type = meta && meta->type ? meta->type : "file";
	name = meta && meta->name ? meta->name : "/";
	if (json_object_set_new(md, "component", comp = json_object()) < 0 ||
	    set_str(comp, "type", type) < 0 ||
	    set_str(comp, "bom-ref", "subject") < 0 ||
	    set_str(comp, "name", name) < 0 ||
	    (meta && meta->version && set_str(comp, "version", meta->version) < 0) ||
	    (meta && meta->purl && set_str(comp, "purl", meta->purl) < 0))
		goto oom;
	if (s->nwarnings || s->warnings_dropped) {
		if (json_object_set_new(md, "properties", props = json_array()) < 0)
			goto oom;
		for (i = 0; i < s->nwarnings; i++) {
			rv_buf_reset(&w);
			if (rv_buf_printf(&w, "%s: %s", s->warnings[i].path,
			    s->warnings[i].message) < 0 ||
			    property(props, "runtime-verifier:warning", w.ptr) < 0)
				goto oom;
		}
		if (s->warnings_dropped) {
			rv_buf_reset(&w);
			if (rv_buf_printf(&w, "%zu more warnings left out",
			    s->warnings_dropped) < 0 ||
			    property(props, "runtime-verifier:warning", w.ptr) < 0)
				goto oom;
		}
	}
	if (json_object_set_new(bom, "components", comps = json_array()) < 0)
		goto oom;
	for (i = 0; i < s->npkgs; i++) {
		const rv_sbom_pkg *p = &s->pkgs[i];

		rv_buf_reset(&ref);
		dup = i > 0 && strcmp(p->purl, s->pkgs[i - 1].purl) == 0 ? dup + 1 : 1;
		if (rv_buf_puts(&ref, p->purl) < 0 ||
		    (dup > 1 && rv_buf_printf(&ref, "#%zu", dup) < 0))
			goto oom;
		if (!(c = json_object()) || json_array_append_new(comps, c) < 0 ||
		    set_str(c, "type", "library") < 0 ||
		    set_str(c, "bom-ref", ref.ptr) < 0 ||
		    set_str(c, "name", p->name) < 0 ||
		    set_str(c, "version", p->version) < 0 ||
		    set_str(c, "purl", p->purl) < 0 ||
		    json_object_set_new(c, "properties", props = json_array()) < 0 ||
		    property(props, "runtime-verifier:location", p->location) < 0)
			goto oom;
		if (p->ns && p->ns[0] && set_str(c, "group", p->ns) < 0)
			goto oom;
	}
	if (s->os.id) {
		rv_buf_reset(&ref);
		if (rv_buf_printf(&ref, "os:%s", s->os.id) < 0 ||
		    !(c = json_object()) || json_array_append_new(comps, c) < 0 ||
		    set_str(c, "type", "operating-system") < 0 ||
		    set_str(c, "bom-ref", ref.ptr) < 0 ||
		    set_str(c, "name", s->os.id) < 0 ||
		    (s->os.version_id && set_str(c, "version", s->os.version_id) < 0) ||
		    (s->os.pretty_name &&
		     set_str(c, "description", s->os.pretty_name) < 0))
			goto oom;
	}
	if (json_dump_callback(bom, dump_cb, out, JSON_INDENT(2)) < 0 ||
	    rv_buf_putc(out, '\n') < 0) {
		rc = out->len >= out->max ? rv_error_set(RV_ETOOBIG,
			"bom larger than the limit of %zu bytes", out->max) :
			rv_error_set(RV_ENOMEM, "out of memory");
		goto cleanup;
	}
	rc = RV_OK;
	goto cleanup;
oom:
	rc = rv_error_set(RV_ENOMEM, "out of memory");
cleanup:
	json_decref(bom);
	rv_buf_dispose(&ref);
	rv_buf_dispose(&w);
	return rc;
}

/* --- reading a BOM back ---------------------------------------------------- */

/* The value of the first property called name, or NULL. */
static const char *prop_get(json_t *props, const char *name)
{
	size_t i;
	json_t *p;

	if (!json_is_array(props))
		return NULL;
	json_array_foreach(props, i, p) {
		if (json_is_string(json_object_get(p, "name")) &&
		    strcmp(json_string_value(json_object_get(p, "name")), name) == 0 &&
		    json_is_string(json_object_get(p, "value")))
			return json_string_value(json_object_get(p, "value"));
	}
	return NULL;
}

static const char *str_or(json_t *o, const char *key, const char *def)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) && json_string_length(v) ? json_string_value(v) : def;
}

int rv_sbom_cdx_read(rv_sbom **out, const char *data, size_t len)
{
	json_t *root = NULL, *comps, *c, *props, *p;
	json_error_t jerr;
	rv_sbom *s = NULL;
	rv_sbom_pkg pkg;
	char type[32];
	const char *purl, *slash, *w, *colon;
	size_t i, tl;
	int rc;

	*out = NULL;
	if (len > RV_SBOM_CDX_MAX)
		return rv_error_set(RV_ETOOBIG, "bom larger than the limit of %u bytes",
			RV_SBOM_CDX_MAX);
	if (!(root = json_loadb(data, len, 0, &jerr))) {
		rc = rv_error_set(RV_EFORMAT, "not JSON: line %d: %s", jerr.line,
			jerr.text);
		goto cleanup;
	}
	if (!json_is_object(root) ||
	    strcmp(str_or(root, "bomFormat", ""), "CycloneDX") != 0) {
		rc = rv_error_set(RV_EFORMAT, "not a CycloneDX bom");
		goto cleanup;
	}
	if ((rc = rv_sbom_new(&s)) < 0)
		goto cleanup;
	props = json_object_get(json_object_get(root, "metadata"), "properties");
	if (json_is_array(props)) {
		json_array_foreach(props, i, p) {
			if (strcmp(str_or(p, "name", ""), "runtime-verifier:warning"))
				continue;
			w = str_or(p, "value", "");
			colon = strstr(w, ": ");
			if (colon)
				rc = rv_sbom_warn(s, w, (size_t)(colon - w), "%s", colon + 2);
			else
				rc = rv_sbom_warn(s, "-", 1, "%s", w);
			if (rc < 0)
				goto cleanup;
		}
	}
	comps = json_object_get(root, "components");
	if (comps && !json_is_array(comps)) {
		rc = rv_error_set(RV_EFORMAT, "\"components\" is not an array");
		goto cleanup;
	}
	json_array_foreach(comps, i, c) {
		purl = str_or(c, "purl", NULL);
		if (!purl)
			continue;
		slash = strchr(purl, '/');
		if (strncmp(purl, "pkg:", 4) != 0 || !slash ||
		    (tl = (size_t)(slash - purl - 4)) == 0 || tl >= sizeof(type)) {
			rc = rv_error_set(RV_EFORMAT, "component %zu: bad purl '%.200s'",
				i, purl);
			goto cleanup;
		}
		memcpy(type, purl + 4, tl);
		type[tl] = '\0';
		memset(&pkg, 0, sizeof(pkg));
		pkg.type = type;
		pkg.ns = (char *)str_or(c, "group", NULL);
		pkg.name = (char *)str_or(c, "name", purl);
		pkg.version = (char *)str_or(c, "version", purl);
		pkg.purl = (char *)purl;
		pkg.location = (char *)prop_get(json_object_get(c, "properties"),
			"runtime-verifier:location");
		if (!pkg.location || !pkg.location[0])
			pkg.location = "-";
		if ((rc = rv_sbom_add(s, &pkg)) < 0)
			goto cleanup;
	}
	/* purls are set: finish only sorts */
	if ((rc = rv_sbom_finish(s)) < 0)
		goto cleanup;
	*out = s;
	s = NULL;
cleanup:
	rv_sbom_free(s);
	json_decref(root);
	return rc;
}

/* --- text ----------------------------------------------------------------- */

static int put_printable(rv_buf *out, const char *s)
{
	int rc = RV_OK;

	for (; *s && rc == 0; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c >= 0x7f || c == '\\')
			rc = rv_buf_printf(out, "\\x%02x", c);
		else
			rc = rv_buf_putc(out, (char)c);
	}
	return rc;
}

int rv_sbom_text_write(rv_buf *out, const rv_sbom *s)
{
	size_t counts[16], nt, t, i;
	const char *const *types = rv_sbom_types(&nt);
	int rc, first = 1;

	rv_sbom_count_types(s, counts);
	if ((rc = rv_buf_printf(out, "%zu package%s", s->npkgs,
	    s->npkgs == 1 ? "" : "s")) < 0)
		return rc;
	for (t = 0; t < nt; t++) {
		if (!counts[t])
			continue;
		if ((rc = rv_buf_printf(out, "%s %s %zu", first ? ":" : ",",
		    types[t], counts[t])) < 0)
			return rc;
		first = 0;
	}
	if (s->os.pretty_name || s->os.id) {
		if ((rc = rv_buf_puts(out, " (")) < 0 ||
		    (rc = put_printable(out, s->os.pretty_name ? s->os.pretty_name :
		    s->os.id)) < 0 || (rc = rv_buf_putc(out, ')')) < 0)
			return rc;
	}
	if ((rc = rv_buf_putc(out, '\n')) < 0)
		return rc;
	for (i = 0; i < s->npkgs; i++) {
		if ((rc = put_printable(out, s->pkgs[i].purl)) < 0 ||
		    (rc = rv_buf_puts(out, "  ")) < 0 ||
		    (rc = put_printable(out, s->pkgs[i].location)) < 0 ||
		    (rc = rv_buf_putc(out, '\n')) < 0)
			return rc;
	}
	for (i = 0; i < s->nwarnings; i++) {
		if ((rc = rv_buf_puts(out, "warning: ")) < 0 ||
		    (rc = put_printable(out, s->warnings[i].path)) < 0 ||
		    (rc = rv_buf_puts(out, ": ")) < 0 ||
		    (rc = put_printable(out, s->warnings[i].message)) < 0 ||
		    (rc = rv_buf_putc(out, '\n')) < 0)
			return rc;
	}
	if (s->warnings_dropped)
		rc = rv_buf_printf(out, "warning: %zu more warnings left out\n",
			s->warnings_dropped);
	return rc;
}
