/* layers.c - a layer's change list (ops, caps, accessors) and the scope of requested paths */
#include <stdlib.h>
#include <string.h>

#include "sources/oci/layers.h"
#include "sources/oci/layers_impl.h"
#include "util/error.h"
#include "util/banned.h"

void rv_layers_list_free(rv_layers_list *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++) {
		free(l->ops[i].e.path);
		free(l->ops[i].link);
		free(l->ops[i].data);
	}
	free(l->ops);
	free(l);
}

uint64_t rv_layers_list_tar_bytes(const rv_layers_list *l)
{
	return l->tar_bytes;
}

size_t rv_layers_list_count(const rv_layers_list *l)
{
	return l->n;
}

uint64_t rv_layers_list_db_bytes(const rv_layers_list *l)
{
	return l->db_bytes;
}

char *layers_memdup0(const char *p, size_t n)
{
	char *d = malloc(n + 1);

	if (d) {
		memcpy(d, p, n);
		d[n] = '\0';
	}
	return d;
}

int rv_layers_list_drop_db(rv_layers_list *l, const char *why)
{
	size_t i, n = strlen(why);

	for (i = 0; i < l->n; i++) {
		struct op *o = &l->ops[i];
		char *m;

		if ((o->kind != OP_DB && o->kind != OP_XDB) || o->link)
			continue;
		if (!(m = layers_memdup0(why, n)))
			return rv_error_set(RV_ENOMEM, "out of memory");
		free(o->data);
		o->data = NULL;
		o->link = m;
		o->link_len = n;
	}
	l->db_bytes = 0;
	return RV_OK;
}

/* Append an op; takes ownership of path and link (freed on failure). */
int layers_list_push(rv_layers_list *l, unsigned char kind, const rv_manifest_entry *e,
	char *path, size_t path_len, char *link, size_t link_len)
{
	struct op *o;

	if (l->max_ops && l->n >= l->max_ops) {
		free(path);
		free(link);
		return rv_error_set(RV_ETOOBIG, "layer has more than %zu entries to keep "
			"(the limit; a hostile layer?)", l->max_ops);
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		void *p = realloc(l->ops, cap * sizeof(*l->ops));
		if (!p) {
			free(path);
			free(link);
			return rv_error_set(RV_ENOMEM, "out of memory");
		}
		l->ops = p;
		l->cap = cap;
	}
	o = &l->ops[l->n++];
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	if (e)
		o->e = *e;
	o->e.path = path;
	o->e.path_len = path_len;
	o->link = link;
	o->link_len = link_len;
	o->data = NULL;
	return RV_OK;
}

/* Append an OP_DB or OP_XDB (kind) for path (copied): data (owned, size
 * bytes) or, with why set (copied), a fail record for a file of that size. */
int layers_push_db(rv_layers_list *l, unsigned char kind, const char *path, size_t len,
	unsigned char *data, uint64_t size, const char *why)
{
	rv_manifest_entry e;
	char *p = layers_memdup0(path, len), *w = NULL;
	int rc;

	if (!p || (why && !(w = layers_memdup0(why, strlen(why))))) {
		free(p);
		free(data);
		return rv_error_set(RV_ENOMEM, "out of memory");
	}
	memset(&e, 0, sizeof(e));
	e.type = RV_FT_FILE;
	e.size = size;
	if ((rc = layers_list_push(l, kind, &e, p, len, w, w ? strlen(w) : 0)) < 0) {
		free(data);
		return rc;
	}
	l->ops[l->n - 1].data = data;
	if (!why)
		l->db_bytes += size;
	return RV_OK;
}

/* --- the scope of requested paths -------------------------------------- */

/* Is path at or below root? */
static int under(const char *path, size_t len, const char *root)
{
	return rv_manifest_path_within(path, len, root, strlen(root));
}

/* Is path strictly below prefix? */
int layers_strictly_under(const char *path, size_t len, const char *prefix, size_t pl)
{
	if (pl == 1 && prefix[0] == '/')
		return len > 1;
	return len > pl && !memcmp(path, prefix, pl) && path[pl] == '/';
}

/* Compare in tree order. Paths hold no NUL byte. */
static int tree_cmp(const char *a, size_t al, const char *b, size_t bl)
{
	size_t i, m = al < bl ? al : bl;
	int x, y;

	for (i = 0; i < m && a[i] == b[i]; i++)
		;
	if (i == m)
		return (al > bl) - (al < bl);
	x = a[i] == '/' ? 0 : (unsigned char)a[i] + 1;
	y = b[i] == '/' ? 0 : (unsigned char)b[i] + 1;
	return x - y;
}

static int root_cmp(const void *a, const void *b)
{
	const struct root *x = a, *y = b;

	return tree_cmp(x->p, x->len, y->p, y->len);
}

void layers_scope_dispose(struct scope *s)
{
	free(s->r);
	memset(s, 0, sizeof(*s));
}

int layers_scope_init(struct scope *s, const rv_layers_opts *o)
{
	size_t i, j;

	memset(s, 0, sizeof(*s));
	if (!o || !o->npaths) {
		s->all = 1;
		return RV_OK;
	}
	if (!(s->r = malloc(o->npaths * sizeof(*s->r))))
		return rv_error_set(RV_ENOMEM, "out of memory");
	for (i = 0; i < o->npaths; i++) {
		s->r[i].p = o->paths[i];
		s->r[i].len = strlen(o->paths[i]);
		if (s->r[i].len == 1 && s->r[i].p[0] == '/')
			s->all = 1;
	}
	qsort(s->r, o->npaths, sizeof(*s->r), root_cmp);
	/* what is below a kept root comes right after it */
	for (i = j = 0; i < o->npaths; i++)
		if (!j || !under(s->r[i].p, s->r[i].len, s->r[j - 1].p))
			s->r[j++] = s->r[i];
	s->n = j;
	return RV_OK;
}

/* The number of roots at or before path in tree order. */
size_t layers_scope_upper(const struct scope *s, const char *path, size_t len)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (tree_cmp(s->r[mid].p, s->r[mid].len, path, len) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int layers_in_scope(const struct scope *s, const char *path, size_t len)
{
	size_t i;

	if (s->all)
		return 1;
	i = layers_scope_upper(s, path, len);
	return i > 0 && under(path, len, s->r[i - 1].p);
}

/* Is path a proper ancestor of a requested root? (Asked of a path out of
 * scope: one in scope may be above a root that the reduction dropped.) */
int layers_above_scope(const struct scope *s, const char *path, size_t len)
{
	size_t i;

	if (s->all)
		return 0;
	i = layers_scope_upper(s, path, len);
	return i < s->n && layers_strictly_under(s->r[i].p, s->r[i].len, path, len);
}
