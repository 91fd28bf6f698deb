/* layers_fold.c - change lists folded into one manifest: whiteouts, opaque dirs, hardlinks */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sources/oci/layers.h"
#include "sources/oci/layers_impl.h"
#include "util/bitset.h"
#include "util/error.h"
#include "util/banned.h"

/* --- folding ------------------------------------------------------------ */

/* The folded tree: nodes in an array, found through an open-addressing
 * hash of their paths, and linked to their parent and siblings, so that
 * removing everything below a path costs what is removed, never a scan
 * of all that was folded (a hostile layer of N whiteouts would make that
 * quadratic). A node's parent is the node at its directory when that is
 * in scope, which ensure_parents creates first; nodes without one (roots
 * whose directory is outside the paths) are on the top list, and marked
 * live in a bit set over the sorted roots, so removing what is below an
 * ancestor of roots costs a binary search and the roots it removes. Dead
 * nodes are unreachable from live ones and compacted away on rehash. */
struct node {
	rv_manifest_entry e;
	long parent, child, next, prev; /* -1: none */
	unsigned char dead;
};

struct tree {
	struct node *nodes;
	size_t n, cap, live;
	long top;      /* first node without a parent, -1 if none */
	long *slots;   /* -1 empty, -2 tombstone, else index */
	size_t nslots, used;
	const struct scope *sc;
	rv_bitset roots; /* sc->r[i] is a live parentless node */
	uint64_t implied, max_implied; /* see ensure_parents */
};

/* The index of path among the (reduced) roots, or -1. */
static long root_index(const struct scope *s, const char *path, size_t len)
{
	size_t i = s->all ? 0 : layers_scope_upper(s, path, len);

	if (!i || s->r[i - 1].len != len || memcmp(s->r[i - 1].p, path, len))
		return -1;
	return (long)(i - 1);
}

/* A parentless node at path is born (live) or dies. */
static void root_mark(struct tree *t, const char *path, size_t len, int live)
{
	long i = root_index(t->sc, path, len);

	if (i < 0)
		return;
	if (live)
		rv_bitset_set(&t->roots, (size_t)i);
	else
		rv_bitset_clear(&t->roots, (size_t)i);
}

static uint64_t hash_path(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	while (n--) {
		h ^= (unsigned char)*p++;
		h *= 1099511628211ull;
	}
	return h;
}

static long tree_find(const struct tree *t, const char *p, size_t n, size_t *slot_out)
{
	size_t i, mask = t->nslots - 1, first_tomb = (size_t)-1;
	long s;

	if (!t->nslots) {
		if (slot_out)
			*slot_out = (size_t)-1;
		return -1;
	}
	for (i = hash_path(p, n) & mask;; i = (i + 1) & mask) {
		s = t->slots[i];
		if (s == -1) {
			if (slot_out)
				*slot_out = first_tomb != (size_t)-1 ? first_tomb : i;
			return -1;
		}
		if (s == -2) {
			if (first_tomb == (size_t)-1)
				first_tomb = i;
			continue;
		}
		if (t->nodes[s].e.path_len == n && !memcmp(t->nodes[s].e.path, p, n)) {
			if (slot_out)
				*slot_out = i;
			return s;
		}
	}
}

/* Drop the dead nodes (renumbering the links of the live ones, which only
 * point at live ones), make room for one more node, and rebuild the hash
 * with at least 4 slots per live node, so the next rebuild is at least
 * live + 1 changes away: amortized constant cost. */
static int tree_rehash(struct tree *t)
{
	size_t ns = 64, i, j, slot;
	long *map = NULL, *slots;

	if (t->n && !(map = malloc(t->n * sizeof(*map))))
		return rv_error_set(RV_ENOMEM, "out of memory");
	for (i = j = 0; i < t->n; i++) {
		if (t->nodes[i].dead) {
			free(t->nodes[i].e.path);
			map[i] = -1;
			continue;
		}
		map[i] = (long)j;
		t->nodes[j++] = t->nodes[i];
	}
	for (i = 0; i < j; i++) {
		struct node *x = &t->nodes[i];

		x->parent = x->parent >= 0 ? map[x->parent] : -1;
		x->child = x->child >= 0 ? map[x->child] : -1;
		x->next = x->next >= 0 ? map[x->next] : -1;
		x->prev = x->prev >= 0 ? map[x->prev] : -1;
	}
	t->top = t->top >= 0 ? map[t->top] : -1;
	free(map);
	t->n = j;
	if (t->n + 1 > t->cap / 2 || !t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		void *a = realloc(t->nodes, cap * sizeof(*t->nodes));

		if (!a)
			return rv_error_set(RV_ENOMEM, "out of memory");
		t->nodes = a;
		t->cap = cap;
	}
	while (ns < (t->n + 1) * 4)
		ns *= 2;
	if (!(slots = malloc(ns * sizeof(*slots))))
		return rv_error_set(RV_ENOMEM, "out of memory");
	for (i = 0; i < ns; i++)
		slots[i] = -1;
	free(t->slots);
	t->slots = slots;
	t->nslots = ns;
	t->used = t->n;
	for (i = 0; i < t->n; i++) {
		tree_find(t, t->nodes[i].e.path, t->nodes[i].e.path_len, &slot);
		t->slots[slot] = (long)i;
	}
	return RV_OK;
}

static void tree_unlink(struct tree *t, long i)
{
	struct node *x = &t->nodes[i];

	if (x->prev >= 0)
		t->nodes[x->prev].next = x->next;
	else if (x->parent >= 0)
		t->nodes[x->parent].child = x->next;
	else
		t->top = x->next;
	if (x->next >= 0)
		t->nodes[x->next].prev = x->prev;
	x->next = x->prev = -1;
}

/* Remove the node idx and everything below it. */
static void tree_kill(struct tree *t, long idx)
{
	long cur = idx;
	size_t slot;

	if (t->nodes[idx].dead)
		return;
	if (t->nodes[idx].parent < 0)
		root_mark(t, t->nodes[idx].e.path, t->nodes[idx].e.path_len, 0);
	tree_unlink(t, idx);
	for (;;) {
		struct node *x = &t->nodes[cur];

		if (tree_find(t, x->e.path, x->e.path_len, &slot) == cur)
			t->slots[slot] = -2;
		x->dead = 1;
		t->live--;
		if (x->child >= 0) {
			cur = x->child;
			continue;
		}
		while (cur != idx && t->nodes[cur].next < 0)
			cur = t->nodes[cur].parent;
		if (cur == idx)
			break;
		cur = t->nodes[cur].next;
	}
}

/* The directory part of path ("/" for "/x"); 0 for "/" itself. */
static size_t dir_len(const char *path, size_t n)
{
	while (n > 0 && path[n - 1] != '/')
		n--;
	if (n <= 1)
		return n; /* "/" (or none) */
	return n - 1;
}

/* Insert or replace path with e (e.path ignored; path copied). */
static int tree_put(struct tree *t, const rv_manifest_entry *e, const char *path, size_t n)
{
	struct node *x;
	size_t slot, dl;
	long idx, parent;
	char *p;
	int rc;

	idx = tree_find(t, path, n, &slot);
	if (idx >= 0) {
		p = t->nodes[idx].e.path;
		t->nodes[idx].e = *e;
		t->nodes[idx].e.path = p;
		t->nodes[idx].e.path_len = n;
		return RV_OK;
	}
	if (t->n == t->cap || (t->used + 1) * 2 > t->nslots) {
		if ((rc = tree_rehash(t)) < 0)
			return rc;
		tree_find(t, path, n, &slot);
	}
	dl = dir_len(path, n);
	parent = dl && !(n == 1 && path[0] == '/') ? tree_find(t, path, dl, NULL) : -1;
	if (!(p = malloc(n + 1)))
		return rv_error_set(RV_ENOMEM, "out of memory");
	memcpy(p, path, n);
	p[n] = '\0';
	x = &t->nodes[t->n];
	memset(x, 0, sizeof(*x));
	x->e = *e;
	x->e.path = p;
	x->e.path_len = n;
	x->parent = parent;
	x->child = x->prev = -1;
	x->next = parent >= 0 ? t->nodes[parent].child : t->top;
	if (x->next >= 0)
		t->nodes[x->next].prev = (long)t->n;
	if (parent >= 0)
		t->nodes[parent].child = (long)t->n;
	else
		t->top = (long)t->n;
	if (parent < 0)
		root_mark(t, p, n, 1);
	if (t->slots[slot] == -1)
		t->used++;
	t->slots[slot] = (long)t->n;
	t->n++;
	t->live++;
	return RV_OK;
}

/* Remove everything strictly below p: the children of its node, or, when
 * p is not in the tree (outside the paths, or absent), the parentless
 * nodes below it (anything else below p hangs from one of those). Those
 * are roots, so p is above the scope, and they are the live ones of the
 * run of roots right after p in tree order. */
static void tree_remove_below(struct tree *t, const char *p, size_t n)
{
	long idx = tree_find(t, p, n, NULL), i;
	const struct scope *s = t->sc;

	if (idx >= 0) {
		while (t->nodes[idx].child >= 0)
			tree_kill(t, t->nodes[idx].child);
		return;
	}
	if (!layers_above_scope(s, p, n))
		return;
	for (i = rv_bitset_next(&t->roots, layers_scope_upper(s, p, n)); i >= 0;
	     i = rv_bitset_next(&t->roots, (size_t)i + 1)) {
		const struct root *r = &s->r[i];

		if (!layers_strictly_under(r->p, r->len, p, n))
			break; /* past the run of roots below p */
		if ((idx = tree_find(t, r->p, r->len, NULL)) >= 0)
			tree_kill(t, idx); /* clears the bit */
		else
			rv_bitset_clear(&t->roots, (size_t)i);
	}
}

static void tree_dispose(struct tree *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->nodes[i].e.path);
	free(t->nodes);
	free(t->slots);
	rv_bitset_dispose(&t->roots);
}

/*
 * Make sure the in-scope ancestors of path exist as directories, "/"
 * first (a node's parent must be there before it). The ancestors of a
 * node in the tree are all there (a node is put after its parents, and a
 * removal takes whole subtrees), and those of a path out of scope are out
 * of scope too; so the walk goes up from the directory of path only to
 * the first one that is there or out of scope, then creates the missing
 * ones going down. Cost: a lookup, plus the directories created (a check
 * of every ancestor was (path length)^2 per entry: 4 MB of hashing for a
 * 4 KB path of 2000 components).
 *
 * Creating them still costs their paths, up to 4 MB for one such entry,
 * and a later entry can remove them to have the next one create them
 * again (1000 pairs, 5.6 MB of tar, took 20 s). So what the fold spends on
 * directories no layer lists (path bytes plus the node, created ones
 * counted even once removed) is capped at t->max_implied: past it,
 * RV_ETOOBIG naming the entry. Images list their directories, or imply
 * a few hundred; the cap is far above what a real one implies.
 */
static int ensure_parents(struct tree *t, const char *path, size_t n)
{
	rv_manifest_entry d;
	size_t done = n, k;
	long idx;
	int rc;

	memset(&d, 0, sizeof(d));
	d.type = RV_FT_DIR;
	d.mode = 0755;
	if (n <= 1)
		return RV_OK; /* "/" has no parent */
	/* done: the length of the deepest ancestor needing no work; 0 when
	 * even "/" is to be created */
	for (;;) {
		done = dir_len(path, done);
		if (!layers_in_scope(t->sc, path, done))
			break;
		idx = tree_find(t, path, done, NULL);
		if (idx >= 0) {
			if (t->nodes[idx].e.type != RV_FT_DIR) {
				/* a non-directory has nothing below it */
				tree_remove_below(t, path, done);
				if ((rc = tree_put(t, &d, path, done)) < 0)
					return rc;
			}
			break;
		}
		if (done == 1) {
			if ((rc = tree_put(t, &d, "/", 1)) < 0)
				return rc;
			break;
		}
	}
	for (k = done + 1; k < n; k++) {
		if (path[k] != '/')
			continue;
		t->implied += k + sizeof(struct node);
		if (t->implied > t->max_implied)
			return rv_error_set(RV_ETOOBIG, "tar entry '%.300s' implies directories past "
				"the limit of %llu bytes for directories no layer lists (a hostile layer?)",
				path, (unsigned long long)t->max_implied);
		if ((rc = tree_put(t, &d, path, k)) < 0)
			return rc;
	}
	return RV_OK;
}

static int apply_entry(struct tree *t, const rv_manifest_entry *e, const char *path, size_t n)
{
	long idx;
	int rc;

	if (!layers_in_scope(t->sc, path, n)) {
		/* an ancestor of a root: a non-directory hides the root
		 * (below any other path outside them, nothing is kept) */
		if (e->type != RV_FT_DIR && layers_above_scope(t->sc, path, n))
			tree_remove_below(t, path, n);
		return RV_OK;
	}
	idx = tree_find(t, path, n, NULL);
	if (idx >= 0 && t->nodes[idx].e.type == RV_FT_DIR && e->type != RV_FT_DIR)
		tree_remove_below(t, path, n);
	if ((rc = ensure_parents(t, path, n)) < 0)
		return rc;
	return tree_put(t, e, path, n);
}

int rv_layers_fold(rv_manifest **out, rv_layers_list *const *layers, size_t n,
	const rv_layers_opts *opts)
{
	static const char *const slash[] = { "/" };
	rv_layers_opts o;
	struct scope sc = { NULL, 0, 0 };
	struct tree t;
	rv_manifest *m = NULL;
	size_t i, j;
	long idx;
	int rc = RV_OK;

	*out = NULL;
	memset(&t, 0, sizeof(t));
	t.top = -1;
	t.sc = &sc;
	t.max_implied = opts && opts->max_implied ? opts->max_implied : RV_LAYERS_MAX_IMPLIED;
	memset(&o, 0, sizeof(o));
	if (opts)
		o = *opts;
	if (!o.npaths) {
		o.paths = slash;
		o.npaths = 1;
	}
	if ((rc = layers_scope_init(&sc, &o)) < 0 || (rc = rv_bitset_init(&t.roots, sc.n)) < 0)
		goto cleanup;
	for (i = 0; i < n; i++) {
		const rv_layers_list *l = layers[i];

		/* whiteouts and opaque markers hide the lower layers first */
		for (j = 0; j < l->n; j++) {
			const struct op *op = &l->ops[j];

			if (op->kind == OP_WHITEOUT) {
				if ((idx = tree_find(&t, op->e.path, op->e.path_len, NULL)) >= 0)
					tree_kill(&t, idx); /* and all below it */
				else
					tree_remove_below(&t, op->e.path, op->e.path_len);
			} else if (op->kind == OP_OPAQUE) {
				tree_remove_below(&t, op->e.path, op->e.path_len);
			}
		}
		for (j = 0; j < l->n; j++) {
			const struct op *op = &l->ops[j];

			if (op->kind == OP_ENTRY) {
				rc = apply_entry(&t, &op->e, op->e.path, op->e.path_len);
			} else if (op->kind == OP_LINK) {
				rv_manifest_entry e;

				if (!layers_in_scope(&sc, op->e.path, op->e.path_len)) {
					memset(&e, 0, sizeof(e));
					e.type = RV_FT_FILE;
					rc = apply_entry(&t, &e, op->e.path, op->e.path_len);
					if (rc < 0)
						goto cleanup;
					continue;
				}
				idx = tree_find(&t, op->link, op->link_len, NULL);
				if (idx < 0 || t.nodes[idx].e.type == RV_FT_DIR) {
					rc = rv_error_set(RV_ENOTFOUND,
						"hardlink '%.300s' in layer %zu: target '%.300s' %s",
						op->e.path, i + 1, op->link,
						idx < 0 ? (layers_in_scope(&sc, op->link, op->link_len) ?
							"does not exist" : "is outside the requested paths") :
							"is a directory");
					goto cleanup;
				}
				e = t.nodes[idx].e;
				rc = apply_entry(&t, &e, op->e.path, op->e.path_len);
			}
			if (rc < 0) {
				if (rc == RV_ETOOBIG)
					rv_error_prefix(rc, "layer %zu", i + 1);
				goto cleanup;
			}
		}
	}
	/* roots: "/" defaults to the directory umoci creates; other roots
	 * that no layer made are recorded missing, as rv_walk does */
	for (i = 0; i < o.npaths; i++) {
		const char *root = o.paths[i];
		rv_manifest_entry e;

		if (tree_find(&t, root, strlen(root), NULL) >= 0)
			continue;
		memset(&e, 0, sizeof(e));
		if (!strcmp(root, "/")) {
			e.type = RV_FT_DIR;
			e.mode = 0755;
		} else {
			e.type = RV_FT_UNKNOWN;
			e.err = ENOENT;
		}
		if ((rc = tree_put(&t, &e, root, strlen(root))) < 0)
			goto cleanup;
	}
	if ((rc = rv_manifest_new(&m)) < 0)
		goto cleanup;
	for (i = 0; i < t.n; i++) {
		if (t.nodes[i].dead)
			continue;
		if ((rc = rv_manifest_add(m, &t.nodes[i].e)) < 0)
			goto cleanup;
	}
	if ((rc = rv_manifest_sort(m)) < 0)
		goto cleanup;
	*out = m;
	m = NULL;
cleanup:
	rv_manifest_free(m);
	tree_dispose(&t);
	layers_scope_dispose(&sc);
	return rc;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int rv_layers_link_targets(char ***out, size_t *n, rv_layers_list *const *layers,
	size_t nlayers, const rv_layers_opts *opts)
{
	struct scope sc;
	char **v = NULL;
	size_t nv = 0, cap = 0, i, j, k;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = layers_scope_init(&sc, opts)) < 0)
		return rc;
	for (i = 0; i < nlayers; i++) {
		for (j = 0; j < layers[i]->n; j++) {
			const struct op *o = &layers[i]->ops[j];

			if (o->kind != OP_LINK || !layers_in_scope(&sc, o->e.path, o->e.path_len) ||
			    layers_in_scope(&sc, o->link, o->link_len))
				continue;
			if (nv == cap) {
				size_t nc = cap ? cap * 2 : 16;
				void *p = realloc(v, nc * sizeof(*v));

				if (!p)
					goto nomem;
				v = p;
				cap = nc;
			}
			if (!(v[nv] = strdup(o->link)))
				goto nomem;
			nv++;
		}
	}
	/* deduplicated by sorting (a pairwise check is quadratic) */
	if (nv)
		qsort(v, nv, sizeof(*v), str_cmp);
	for (i = j = 0; i < nv; i++) {
		if (j && !strcmp(v[j - 1], v[i])) {
			free(v[i]);
			continue;
		}
		v[j++] = v[i];
	}
	layers_scope_dispose(&sc);
	*out = v;
	*n = j;
	return RV_OK;
nomem:
	layers_scope_dispose(&sc);
	for (k = 0; k < nv; k++)
		free(v[k]);
	free(v);
	return rv_error_set(RV_ENOMEM, "out of memory");
}

