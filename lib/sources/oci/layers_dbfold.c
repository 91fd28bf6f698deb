/* layers_dbfold.c - change lists folded into the image's package database set */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sources/oci/layers.h"
#include "sources/oci/layers_impl.h"
#include "core/dbpath.h"
#include "util/bitset.h"
#include "util/error.h"
#include "util/banned.h"

/* --- folding package databases ----------------------------------------- */

/*
 * Every path a record can ever be at (a database, a captured hardlink
 * target, a hardlink at a database path) is known before the fold: the
 * fold sorts them once into keys, and a record lives in its key's slot.
 * The live slots are a bit set with summary levels, so the next live
 * slot from any point is found in a few word reads. Everything strictly below a
 * directory D is one run of keys (those starting with "D/"): found by
 * binary search and walked through its live slots only, so a whiteout or
 * a replaced directory costs the records it removes plus a search, never
 * a scan of all records (a hostile layer of N such entries would be
 * quadratic).
 */
struct key {
	const char *p;        /* borrowed from an op */
	size_t len;
};

struct rec {
	const unsigned char *data; /* borrowed from an op */
	uint64_t size;
	char *why;            /* owned, NULL: data */
	unsigned char hidden; /* a hardlink target's contents: not a database */
};

struct dbfold {
	struct key *keys;
	struct rec *recs;
	size_t n, live;
	rv_bitset live_bits;
	/* rv_layers_db_link_targets: hardlinks to uncaptured files */
	int collect;
	rv_layers_target *tg;
	size_t ntg, tgcap;
};

static void dbfold_dispose(struct dbfold *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		free(f->recs[i].why);
	rv_bitset_dispose(&f->live_bits);
	for (i = 0; i < f->ntg; i++)
		free(f->tg[i].path);
	free(f->tg);
	free(f->keys);
	free(f->recs);
}

static int key_cmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	int c = memcmp(x->p, y->p, x->len < y->len ? x->len : y->len);

	return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Does the op put a record at its path (or look one up, for a link)? */
static int op_keyed(const struct op *o)
{
	return o->kind == OP_DB || o->kind == OP_XDB ||
		(o->kind == OP_LINK && rv_dbpath_classify(o->e.path, o->e.path_len, NULL) != RV_DBPATH_NONE);
}

static int dbfold_init(struct dbfold *f, rv_layers_list *const *layers, size_t n)
{
	size_t i, j, k = 0, total = 0;

	for (i = 0; i < n; i++)
		for (j = 0; j < layers[i]->n; j++)
			total += op_keyed(&layers[i]->ops[j]);
	if (total && (!(f->keys = malloc(total * sizeof(*f->keys))) ||
	    !(f->recs = calloc(total, sizeof(*f->recs)))))
		return rv_error_set(RV_ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		for (j = 0; j < layers[i]->n; j++) {
			const struct op *o = &layers[i]->ops[j];

			if (op_keyed(o)) {
				f->keys[k].p = o->e.path;
				f->keys[k++].len = o->e.path_len;
			}
		}
	}
	if (k)
		qsort(f->keys, k, sizeof(*f->keys), key_cmp);
	for (i = j = 0; i < k; i++)
		if (!j || key_cmp(&f->keys[j - 1], &f->keys[i]))
			f->keys[j++] = f->keys[i];
	f->n = j;
	return rv_bitset_init(&f->live_bits, f->n);
}

static int bit_get(const struct dbfold *f, size_t i)
{
	return rv_bitset_get(&f->live_bits, i);
}

static long bit_next(const struct dbfold *f, size_t i)
{
	return rv_bitset_next(&f->live_bits, i);
}

/* The slot of path p, or -1. */
static long key_find(const struct dbfold *f, const char *p, size_t n)
{
	struct key k = { p, n };
	size_t lo = 0, hi = f->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = key_cmp(&f->keys[mid], &k);

		if (!c)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* The first slot whose key is at or after "p/" (every key, for "/"). */
static size_t key_lower_below(const struct dbfold *f, const char *p, size_t n)
{
	size_t lo = 0, hi = f->n;

	if (n == 1 && p[0] == '/')
		return 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct key *k = &f->keys[mid];
		int c = memcmp(k->p, p, k->len < n ? k->len : n);

		/* equal so far: a key no longer than p is before "p/";
		 * a longer one compares its next byte with the "/" */
		if (!c)
			c = k->len <= n ? -1 : (unsigned char)k->p[n] < '/' ? -1 : 0;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void slot_kill(struct dbfold *f, size_t i)
{
	if (!bit_get(f, i))
		return;
	rv_bitset_clear(&f->live_bits, i);
	f->live--;
}

static int kill_at(struct dbfold *f, const char *p, size_t n)
{
	long i = key_find(f, p, n);

	if (i >= 0)
		slot_kill(f, (size_t)i);
	return RV_OK;
}

static int kill_below(struct dbfold *f, const char *p, size_t n)
{
	long i;

	if (!f->live)
		return RV_OK;
	for (i = bit_next(f, key_lower_below(f, p, n)); i >= 0; i = bit_next(f, (size_t)i + 1)) {
		if (!layers_strictly_under(f->keys[i].p, f->keys[i].len, p, n))
			break; /* past the run of keys below p */
		slot_kill(f, (size_t)i);
	}
	return RV_OK;
}

/* The record at p is now data (size bytes), or failed with why (copied). */
static int rec_set(struct dbfold *f, const char *p, size_t n, const unsigned char *data,
	uint64_t size, const char *why, int hidden)
{
	long i = key_find(f, p, n);
	struct rec *r;
	char *w = NULL;

	if (i < 0) /* every keyed op's path is a key */
		return rv_error_set(RV_ERROR, "package database fold: no slot for '%.300s'", p);
	if (why && !(w = layers_memdup0(why, strlen(why))))
		return rv_error_set(RV_ENOMEM, "out of memory");
	r = &f->recs[i];
	free(r->why);
	r->why = w;
	r->data = data;
	r->size = size;
	r->hidden = (unsigned char)hidden;
	if (!bit_get(f, (size_t)i)) {
		rv_bitset_set(&f->live_bits, (size_t)i);
		f->live++;
	}
	return RV_OK;
}

/* Note t as a target to capture, for links of cap max. */
static int collect_target(struct dbfold *f, const char *t, size_t tl, size_t max)
{
	char *p;

	if (f->ntg == f->tgcap) {
		size_t cap = f->tgcap ? f->tgcap * 2 : 16;
		void *np = realloc(f->tg, cap * sizeof(*f->tg));

		if (!np)
			return rv_error_set(RV_ENOMEM, "out of memory");
		f->tg = np;
		f->tgcap = cap;
	}
	if (!(p = layers_memdup0(t, tl)))
		return rv_error_set(RV_ENOMEM, "out of memory");
	f->tg[f->ntg].path = p;
	f->tg[f->ntg++].max = max;
	return RV_OK;
}

/* A hardlink at p (a wanted path, cap max) to target t. */
static int link_db(struct dbfold *f, const char *p, size_t n, size_t max, const char *t, size_t tl)
{
	long i = key_find(f, t, tl);
	const struct rec *r = i >= 0 && bit_get(f, (size_t)i) ? &f->recs[i] : NULL;
	char why[RV_DBSET_MAX_MESSAGE];
	int rc;

	if (r && r->size > max) {
		snprintf(why, sizeof(why), "larger than the limit of %zu bytes", max);
		return rec_set(f, p, n, NULL, r->size, why, 0);
	}
	if (r && !r->why)
		return rec_set(f, p, n, r->data, r->size, NULL, 0);
	if (!r && f->collect && (rc = collect_target(f, t, tl, max)) < 0)
		return rc;
	snprintf(why, sizeof(why), "hardlink to '%.300s', whose contents were not captured", t);
	return rec_set(f, p, n, NULL, r ? r->size : 0, why, 0);
}

/* Fold the lists into f (see rv_layers_fold_dbset). */
static int dbfold_run(struct dbfold *f, rv_layers_list *const *layers, size_t n)
{
	size_t i, j, max;
	int rc = RV_OK;

	for (i = 0; i < n; i++)
		if (!layers[i]->packages)
			return rv_error_set(RV_EINVAL, "layer %zu was read without package capture", i + 1);
	if ((rc = dbfold_init(f, layers, n)) < 0)
		return rc;
	for (i = 0; i < n; i++) {
		const rv_layers_list *l = layers[i];

		for (j = 0; j < l->n && rc >= 0; j++) {
			const struct op *op = &l->ops[j];

			if (op->kind == OP_WHITEOUT) {
				if ((rc = kill_at(f, op->e.path, op->e.path_len)) >= 0)
					rc = kill_below(f, op->e.path, op->e.path_len);
			} else if (op->kind == OP_OPAQUE) {
				rc = kill_below(f, op->e.path, op->e.path_len);
			}
		}
		for (j = 0; j < l->n && rc >= 0; j++) {
			const struct op *op = &l->ops[j];
			const char *p = op->e.path;
			size_t pl = op->e.path_len;

			switch (op->kind) {
			case OP_ENTRY:
			case OP_PLACE:
				if (op->e.type != RV_FT_DIR && (rc = kill_below(f, p, pl)) < 0)
					break;
				/* a captured regular file: its OP_DB or OP_XDB
				 * follows, and replaces the record */
				rc = kill_at(f, p, pl);
				break;
			case OP_DB:
			case OP_XDB:
				if ((rc = kill_below(f, p, pl)) >= 0)
					rc = rec_set(f, p, pl, op->data, op->e.size, op->link,
						op->kind == OP_XDB);
				break;
			case OP_LINK:
				if ((rc = kill_below(f, p, pl)) < 0)
					break;
				if (rv_dbpath_classify(p, pl, &max) != RV_DBPATH_NONE)
					rc = link_db(f, p, pl, max, op->link, op->link_len);
				else
					rc = kill_at(f, p, pl);
				break;
			default:
				break;
			}
		}
		if (rc < 0)
			return rc;
	}
	return RV_OK;
}

int rv_layers_fold_dbset(rv_dbset **out, rv_layers_list *const *layers, size_t n,
	const rv_layers_opts *opts)
{
	uint64_t cap = opts && opts->max_db_image ? opts->max_db_image : RV_LAYERS_MAX_DB_IMAGE;
	uint64_t total = 0;
	struct dbfold f;
	rv_dbset *set = NULL;
	char why[128];
	long i;
	int rc = RV_OK;

	*out = NULL;
	memset(&f, 0, sizeof(f));
	if ((rc = dbfold_run(&f, layers, n)) < 0)
		goto cleanup;
	if ((rc = rv_dbset_new(&set)) < 0)
		goto cleanup;
	snprintf(why, sizeof(why), "package databases of the image over the limit of %llu bytes",
		(unsigned long long)cap);
	/* the keys are sorted: the live slots come in path order */
	for (i = bit_next(&f, 0); i >= 0; i = bit_next(&f, (size_t)i + 1)) {
		const struct rec *r = &f.recs[i];
		const struct key *k = &f.keys[i];

		if (r->hidden)
			continue;
		if (r->why)
			rc = rv_dbset_add_failed(set, k->p, k->len, r->why);
		else if (r->size > cap - total || r->size > SIZE_MAX)
			rc = rv_dbset_add_failed(set, k->p, k->len, why);
		else {
			total += r->size;
			rc = rv_dbset_add(set, k->p, k->len, r->data, (size_t)r->size);
		}
		if (rc < 0)
			goto cleanup;
	}
	if ((rc = rv_dbset_sort(set)) < 0)
		goto cleanup;
	*out = set;
	set = NULL;
cleanup:
	rv_dbset_free(set);
	dbfold_dispose(&f);
	return rc;
}

static int target_cmp(const void *a, const void *b)
{
	const rv_layers_target *x = a, *y = b;

	return strcmp(x->path, y->path);
}

void rv_layers_targets_free(rv_layers_target *t, size_t n)
{
	size_t i;

	for (i = 0; t && i < n; i++)
		free(t[i].path);
	free(t);
}

int rv_layers_db_link_targets(rv_layers_target **out, size_t *nout, unsigned char *need,
	rv_layers_list *const *layers, size_t n)
{
	struct dbfold f;
	size_t i, j;
	int rc;

	*out = NULL;
	*nout = 0;
	memset(need, 0, n);
	memset(&f, 0, sizeof(f));
	f.collect = 1;
	if ((rc = dbfold_run(&f, layers, n)) < 0)
		goto cleanup;
	/* sorted, one per path, with the largest cap asked for */
	if (f.ntg)
		qsort(f.tg, f.ntg, sizeof(*f.tg), target_cmp);
	for (i = j = 0; i < f.ntg; i++) {
		if (j && !strcmp(f.tg[j - 1].path, f.tg[i].path)) {
			if (f.tg[i].max > f.tg[j - 1].max)
				f.tg[j - 1].max = f.tg[i].max;
			free(f.tg[i].path);
			continue;
		}
		f.tg[j++] = f.tg[i];
	}
	f.ntg = j;
	/* the layers with a regular file at a target: to be read again */
	for (i = 0; f.ntg && i < n; i++) {
		for (j = 0; j < layers[i]->n && !need[i]; j++) {
			const struct op *o = &layers[i]->ops[j];
			rv_layers_target k;

			if ((o->kind != OP_ENTRY && o->kind != OP_PLACE) || o->e.type != RV_FT_FILE)
				continue;
			k.path = o->e.path;
			if (bsearch(&k, f.tg, f.ntg, sizeof(*f.tg), target_cmp))
				need[i] = 1;
		}
	}
	*out = f.tg;
	*nout = f.ntg;
	f.tg = NULL;
	f.ntg = 0;
cleanup:
	dbfold_dispose(&f);
	return rc;
}

