/* sbom_diff.c - compare two package catalogues by purl: added, removed, version changed */
#include <stdlib.h>
#include <string.h>

#include "sources/sbom/sbom_diff.h"
#include "util/error.h"
#include "util/banned.h"

typedef struct ent {
	char *key;
	const char *ver;   /* into the purl */
	size_t vlen;
	const rv_sbom_pkg *p;
} ent;

/* The version part of a purl: after the first '@', up to '?' or '#'. */
static void purl_version(const char *purl, const char **v, size_t *n)
{
	const char *at = strchr(purl, '@'), *end;

	if (!at) {
		*v = "";
		*n = 0;
		return;
	}
	end = at + 1 + strcspn(at + 1, "?#");
	*v = at + 1;
	*n = (size_t)(end - at - 1);
}

int rv_sbom_purl_key(rv_buf *out, const char *purl)
{
	size_t base = strcspn(purl, "@?#"), n;
	const char *q = strchr(purl, '?'), *a;
	int rc;

	if ((rc = rv_buf_add(out, purl, base)) < 0)
		return rc;
	if (!q)
		return RV_OK;
	/* the arch qualifier, if any */
	for (a = q; a; a = strchr(a + 1, '&')) {
		if (strncmp(a + 1, "arch=", 5) == 0) {
			n = strcspn(a + 1, "&#");
			if ((rc = rv_buf_putc(out, '?')) < 0 ||
			    (rc = rv_buf_add(out, a + 1, n)) < 0)
				return rc;
			break;
		}
	}
	return RV_OK;
}

static int cmp_ent(const void *x, const void *y)
{
	const ent *a = x, *b = y;
	int c = strcmp(a->key, b->key);
	size_t n = a->vlen < b->vlen ? a->vlen : b->vlen;

	if (c)
		return c;
	if ((c = memcmp(a->ver, b->ver, n)))
		return c;
	return a->vlen < b->vlen ? -1 : a->vlen > b->vlen;
}

static void free_ents(ent *e, size_t n)
{
	size_t i;

	for (i = 0; e && i < n; i++)
		free(e[i].key);
	free(e);
}

/* Keys of s's packages, sorted and without duplicate (key, version). */
static int make_ents(ent **out, size_t *nout, const rv_sbom *s)
{
	rv_buf k = RV_BUF_INIT(1u << 20);
	ent *e;
	size_t i, m, n = 0;
	int rc = RV_OK;

	*out = NULL;
	*nout = 0;
	if (!(e = calloc(s->npkgs ? s->npkgs : 1, sizeof(*e))))
		return rv_error_set(RV_ENOMEM, "out of memory");
	for (i = 0; i < s->npkgs; i++) {
		rv_buf_reset(&k);
		if ((rc = rv_sbom_purl_key(&k, s->pkgs[i].purl)) < 0)
			goto fail;
		if (!(e[n].key = rv_buf_detach(&k, NULL))) {
			rc = rv_error_set(RV_ENOMEM, "out of memory");
			goto fail;
		}
		purl_version(s->pkgs[i].purl, &e[n].ver, &e[n].vlen);
		e[n].p = &s->pkgs[i];
		n++;
	}
	if (n > 1)
		qsort(e, n, sizeof(*e), cmp_ent);
	/* drop repeated (key, version): one package at several locations */
	for (i = 1, m = 0; i < n; i++) {
		if (cmp_ent(&e[m], &e[i]) == 0) {
			free(e[i].key);
			continue;
		}
		e[++m] = e[i];
	}
	*nout = n ? m + 1 : 0;
	*out = e;
	rv_buf_dispose(&k);
	return RV_OK;
fail:
	rv_buf_dispose(&k);
	free_ents(e, n);
	return rc;
}

static int push(rv_sbom_diff *d, size_t *cap, rv_sbom_change_kind kind,
	const rv_sbom_pkg *a, const rv_sbom_pkg *b)
{
	rv_sbom_change *c;

	if (d->count == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;

		if (!(c = realloc(d->changes, nc * sizeof(*c))))
			return rv_error_set(RV_ENOMEM, "out of memory");
		d->changes = c;
		*cap = nc;
	}
	c = &d->changes[d->count++];
	c->kind = kind;
	c->a = a;
	c->b = b;
	c->severity = kind == RV_SBOM_ADDED ? RV_SEV_HIGH :
		kind == RV_SBOM_CHANGED ? RV_SEV_MEDIUM : RV_SEV_LOW;
	d->by_kind[kind]++;
	d->by_severity[c->severity]++;
	return RV_OK;
}

/* One key: a[0..na) and b[0..nb), sorted by version. */
static int diff_key(rv_sbom_diff *d, size_t *cap, const ent *a, size_t na,
	const ent *b, size_t nb)
{
	const ent *ra[2] = { NULL, NULL }, *rb[2] = { NULL, NULL };
	size_t i = 0, j = 0, nra = 0, nrb = 0;
	int c, rc;

	/* first pass: count the leftovers (keep the first two of each) */
	while (i < na || j < nb) {
		c = i == na ? 1 : j == nb ? -1 : cmp_ent(&a[i], &b[j]);
		if (c == 0) {
			i++;
			j++;
		} else if (c < 0) {
			if (nra < 2)
				ra[nra] = &a[i];
			nra++;
			i++;
		} else {
			if (nrb < 2)
				rb[nrb] = &b[j];
			nrb++;
			j++;
		}
	}
	if (nra == 1 && nrb == 1)
		return push(d, cap, RV_SBOM_CHANGED, ra[0]->p, rb[0]->p);
	for (i = 0, j = 0; i < na || j < nb;) {
		c = i == na ? 1 : j == nb ? -1 : cmp_ent(&a[i], &b[j]);
		if (c == 0) {
			i++;
			j++;
			continue;
		}
		if (c < 0)
			rc = push(d, cap, RV_SBOM_REMOVED, a[i++].p, NULL);
		else
			rc = push(d, cap, RV_SBOM_ADDED, NULL, b[j++].p);
		if (rc < 0)
			return rc;
	}
	return RV_OK;
}

int rv_sbom_diff_compute(rv_sbom_diff **out, const rv_sbom *a, const rv_sbom *b)
{
	ent *ea = NULL, *eb = NULL;
	size_t na = 0, nb = 0, i = 0, j = 0, i2, j2, cap = 0;
	rv_sbom_diff *d = NULL;
	int rc, c;

	*out = NULL;
	if (!a->finished || !b->finished)
		return rv_error_set(RV_EINVAL, "catalogue not finished");
	if (!(d = calloc(1, sizeof(*d))))
		return rv_error_set(RV_ENOMEM, "out of memory");
	if ((rc = make_ents(&ea, &na, a)) < 0 || (rc = make_ents(&eb, &nb, b)) < 0)
		goto cleanup;
	while (i < na || j < nb) {
		c = i == na ? 1 : j == nb ? -1 : strcmp(ea[i].key, eb[j].key);
		i2 = i;
		j2 = j;
		if (c <= 0)
			while (i2 < na && strcmp(ea[i2].key, ea[i].key) == 0)
				i2++;
		if (c >= 0)
			while (j2 < nb && strcmp(eb[j2].key, eb[j].key) == 0)
				j2++;
		if ((rc = diff_key(d, &cap, ea + i, i2 - i, eb + j, j2 - j)) < 0)
			goto cleanup;
		i = i2;
		j = j2;
	}
	*out = d;
	d = NULL;
cleanup:
	free_ents(ea, na);
	free_ents(eb, nb);
	rv_sbom_diff_free(d);
	return rc;
}

void rv_sbom_diff_free(rv_sbom_diff *d)
{
	if (!d)
		return;
	free(d->changes);
	free(d);
}

const char *rv_sbom_change_name(rv_sbom_change_kind k)
{
	switch (k) {
	case RV_SBOM_ADDED: return "added";
	case RV_SBOM_REMOVED: return "removed";
	case RV_SBOM_CHANGED: return "changed";
	}
	return "?";
}

int rv_sbom_diff_text(rv_buf *out, const rv_sbom_diff *d)
{
	const rv_sbom_change *c;
	const char *v;
	size_t i, vn;
	int rc;

	for (i = 0; i < d->count; i++) {
		c = &d->changes[i];
		rc = rv_buf_printf(out, "%-7s %-7s %s", rv_severity_name(c->severity),
			rv_sbom_change_name(c->kind), c->a ? c->a->purl : c->b->purl);
		if (rc == 0 && c->kind == RV_SBOM_CHANGED) {
			purl_version(c->b->purl, &v, &vn);
			rc = rv_buf_printf(out, " -> %.*s", (int)vn, v);
		}
		if (rc < 0 || (rc = rv_buf_putc(out, '\n')) < 0)
			return rc;
	}
	return RV_OK;
}
