/* dbpath.c - which paths of a filesystem are package databases, and their size caps */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dbpath.h"
#include "core/manifest.h"
#include "util/error.h"
#include "util/banned.h"

static const size_t kind_max[RV_DBPATH_KIND_COUNT] = {
	[RV_DBPATH_OS_RELEASE] = RV_DBPATH_MAX_OS_RELEASE,
	[RV_DBPATH_DPKG] = RV_DBPATH_MAX_DPKG,
	[RV_DBPATH_DPKG_D] = RV_DBPATH_MAX_DPKG_D,
	[RV_DBPATH_APK] = RV_DBPATH_MAX_APK,
	[RV_DBPATH_RPM] = RV_DBPATH_MAX_RPM,
	[RV_DBPATH_PYTHON] = RV_DBPATH_MAX_PYTHON,
	[RV_DBPATH_NPM] = RV_DBPATH_MAX_NPM,
};

static const struct {
	const char *path;
	rv_dbpath_kind kind;
} exact[] = {
	{ "/etc/os-release", RV_DBPATH_OS_RELEASE },
	{ "/usr/lib/os-release", RV_DBPATH_OS_RELEASE },
	{ "/var/lib/dpkg/status", RV_DBPATH_DPKG },
	{ "/lib/apk/db/installed", RV_DBPATH_APK },
	{ "/usr/lib/apk/db/installed", RV_DBPATH_APK },
	{ "/var/lib/rpm/rpmdb.sqlite", RV_DBPATH_RPM },
	{ "/usr/lib/sysimage/rpm/rpmdb.sqlite", RV_DBPATH_RPM },
};

static const char *const db_globs[] = {
	"/etc/os-release",
	"/usr/lib/os-release",
	"/var/lib/dpkg/status",
	"/var/lib/dpkg/status.d/*",
	"/lib/apk/db/installed",
	"/usr/lib/apk/db/installed",
	"/var/lib/rpm/rpmdb.sqlite",
	"/usr/lib/sysimage/rpm/rpmdb.sqlite",
	"**/*.dist-info/METADATA",
	"**/*.egg-info/PKG-INFO",
	"**/*.egg-info",
	"**/node_modules/*/package.json",
	"**/node_modules/@*/*/package.json",
};

const char *const *rv_dbpath_globs(size_t *n)
{
	*n = sizeof(db_globs) / sizeof(db_globs[0]);
	return db_globs;
}

size_t rv_dbpath_max(rv_dbpath_kind kind)
{
	if ((int)kind <= RV_DBPATH_NONE || kind >= RV_DBPATH_KIND_COUNT)
		return 0;
	return kind_max[kind];
}

static int ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

static int equals(const char *s, size_t len, const char *lit)
{
	return strlen(lit) == len && memcmp(s, lit, len) == 0;
}

/* Split path into its last up to `want` components, last first: comp[0]
 * is the basename. Returns how many were found. */
static int last_components(const char *path, size_t len, const char **comp,
	size_t *clen, int want)
{
	size_t end = len, i;
	int n = 0;

	while (n < want && end > 0) {
		i = end;
		while (i > 0 && path[i - 1] != '/')
			i--;
		if (i == 0)
			break; /* not absolute: the first component has no '/' */
		comp[n] = path + i;
		clen[n] = end - i;
		n++;
		end = i - 1;
	}
	return n;
}

rv_dbpath_kind rv_dbpath_classify(const char *path, size_t len, size_t *max_out)
{
	const char *c[4];
	size_t cl[4], i;
	rv_dbpath_kind kind = RV_DBPATH_NONE;
	int n;

	if (len < 2 || path[0] != '/' || memchr(path, '\0', len))
		goto done;
	for (i = 0; i < sizeof(exact) / sizeof(exact[0]); i++) {
		if (equals(path, len, exact[i].path)) {
			kind = exact[i].kind;
			goto done;
		}
	}
	n = last_components(path, len, c, cl, 4);
	if (n < 1 || cl[0] == 0)
		goto done;
	if (len > 23 && memcmp(path, "/var/lib/dpkg/status.d/", 23) == 0 &&
	    n >= 2 && c[0] == path + 23 && c[0][0] != '.' &&
	    !ends_with(c[0], cl[0], ".md5sums")) {
		kind = RV_DBPATH_DPKG_D;
		goto done;
	}
	if (n >= 2 && equals(c[0], cl[0], "METADATA") && cl[1] > 10 &&
	    ends_with(c[1], cl[1], ".dist-info")) {
		kind = RV_DBPATH_PYTHON;
		goto done;
	}
	if (n >= 2 && equals(c[0], cl[0], "PKG-INFO") && cl[1] > 9 &&
	    ends_with(c[1], cl[1], ".egg-info")) {
		kind = RV_DBPATH_PYTHON;
		goto done;
	}
	if (cl[0] > 9 && ends_with(c[0], cl[0], ".egg-info")) {
		kind = RV_DBPATH_PYTHON;
		goto done;
	}
	if (equals(c[0], cl[0], "package.json") && n >= 3 && cl[1] > 0 &&
	    c[1][0] != '.' && c[1][0] != '@') {
		if (equals(c[2], cl[2], "node_modules"))
			kind = RV_DBPATH_NPM;
		else if (n >= 4 && cl[2] > 1 && c[2][0] == '@' &&
		    equals(c[3], cl[3], "node_modules"))
			kind = RV_DBPATH_NPM;
	}
done:
	if (max_out)
		*max_out = kind == RV_DBPATH_NONE ? 0 : kind_max[kind];
	return kind;
}

/* Whether path is root or below it. */
static int at_or_below(const char *path, size_t len, const char *root)
{
	return rv_manifest_path_within(path, len, root, strlen(root));
}

rv_dbpath_dir rv_dbpath_dir_rule(const char *path, size_t len)
{
	if (at_or_below(path, len, "/proc") || at_or_below(path, len, "/sys"))
		return RV_DBPATH_DIR_PSEUDO;
	if (equals(path, len, "/dev"))
		return RV_DBPATH_DIR_DEV;
	if (equals(path, len, "/dev/shm"))
		return RV_DBPATH_DIR_SHM;
	if (at_or_below(path, len, "/dev/shm"))
		return RV_DBPATH_DIR_SEARCH;
	if (at_or_below(path, len, "/dev"))
		return RV_DBPATH_DIR_PSEUDO;
	return RV_DBPATH_DIR_SEARCH;
}

int rv_dbpath_drop(rv_dbset *s, size_t i, const char *why)
{
	rv_dbset *tmp = NULL;
	rv_dbset_file *f;
	int rc;

	if (i >= s->n)
		return rv_error_set(RV_EINVAL, "no package database record %zu", i);
	f = &s->files[i];
	if (f->error)
		return RV_OK;
	/* The message exactly as rv_dbset_add_failed words a fail record. */
	if ((rc = rv_dbset_new(&tmp)) < 0 ||
	    (rc = rv_dbset_add_failed(tmp, "/", 1, why)) < 0)
		goto cleanup;
	f->error = tmp->files[0].error;
	tmp->files[0].error = NULL;
	s->bytes -= f->size;
	s->failed++;
	free(f->data);
	f->data = NULL;
	f->size = 0;
	memset(f->sha256, 0, sizeof(f->sha256));
cleanup:
	rv_dbset_free(tmp);
	return rc;
}

/* Is a ranked before b in the drop order: larger first, then the greater
 * path (bytewise) first. A strict total order on distinct paths. */
static int drops_before(const rv_dbset_file *a, const rv_dbset_file *b)
{
	size_t n = a->path_len < b->path_len ? a->path_len : b->path_len;
	int c;

	if (a->size != b->size)
		return a->size > b->size;
	c = memcmp(a->path, b->path, n);
	if (c)
		return c > 0;
	return a->path_len > b->path_len;
}

/* --- the dropper: a binary max-heap of record indices in drop order ------ */

static int heap_before(rv_dbpath_dropper *d, size_t x, size_t y)
{
	d->compares++;
	return drops_before(&d->set->files[d->heap[x]], &d->set->files[d->heap[y]]);
}

static void heap_swap(rv_dbpath_dropper *d, size_t x, size_t y)
{
	size_t t = d->heap[x];

	d->heap[x] = d->heap[y];
	d->heap[y] = t;
}

static void sift_down(rv_dbpath_dropper *d, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, top = i;

		if (l < d->n && heap_before(d, l, top))
			top = l;
		if (r < d->n && heap_before(d, r, top))
			top = r;
		if (top == i)
			return;
		heap_swap(d, i, top);
		i = top;
	}
}

static void sift_up(rv_dbpath_dropper *d, size_t i)
{
	while (i > 0 && heap_before(d, i, (i - 1) / 2)) {
		heap_swap(d, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static int heap_reserve(rv_dbpath_dropper *d, size_t want)
{
	size_t cap = d->cap ? d->cap : 64, *n;

	if (want <= d->cap)
		return RV_OK;
	while (cap < want)
		cap *= 2;
	if (!(n = realloc(d->heap, cap * sizeof(*n))))
		return rv_error_set(RV_ENOMEM, "out of memory for the package "
			"database drop order");
	d->heap = n;
	d->cap = cap;
	return RV_OK;
}

static void cap_words(char *out, size_t n, uint64_t max_bytes)
{
	snprintf(out, n, "dropped: over the probe's limit of %llu bytes for "
		"all package databases", (unsigned long long)max_bytes);
}

int rv_dbpath_dropper_init(rv_dbpath_dropper *d, rv_dbset *s,
	uint64_t max_bytes, const char *why)
{
	size_t i, len, live = 0;
	char words[128];
	int rc;

	memset(d, 0, sizeof(*d));
	d->set = s;
	d->max_bytes = max_bytes;
	if (!why) {
		cap_words(words, sizeof(words), max_bytes);
		why = words;
	}
	len = strlen(why);
	if (!(d->why = malloc(len + 1)))
		return rv_error_set(RV_ENOMEM, "out of memory");
	memcpy(d->why, why, len + 1);
	for (i = 0; i < s->n; i++)
		live += !s->files[i].error && s->files[i].size > 0;
	if ((rc = heap_reserve(d, live)) < 0) {
		rv_dbpath_dropper_dispose(d);
		return rc;
	}
	for (i = 0; i < s->n; i++)
		if (!s->files[i].error && s->files[i].size > 0)
			d->heap[d->n++] = i;
	/* Floyd's heap construction: O(n) comparisons. */
	for (i = d->n / 2; i > 0; i--)
		sift_down(d, i - 1);
	return RV_OK;
}

int rv_dbpath_dropper_fit(rv_dbpath_dropper *d, size_t *dropped)
{
	rv_dbset *s = d->set;
	size_t count = 0, top;
	int rc = RV_OK;

	/* Only records with contents count towards s->bytes, and each is in
	 * the heap until dropped: the top is what a scan would pick. */
	while (s->bytes > d->max_bytes && d->n > 0) {
		top = d->heap[0];
		d->heap[0] = d->heap[--d->n];
		if (d->n > 0)
			sift_down(d, 0);
		if (s->files[top].error)
			continue; /* failed some other way meanwhile */
		if ((rc = rv_dbpath_drop(s, top, d->why)) < 0)
			break;
		count++;
	}
	if (dropped)
		*dropped = count;
	return rc;
}

int rv_dbpath_dropper_add(rv_dbpath_dropper *d, size_t i, size_t *dropped)
{
	const rv_dbset_file *f;
	int rc;

	if (dropped)
		*dropped = 0;
	if (i >= d->set->n)
		return rv_error_set(RV_EINVAL, "no package database record %zu", i);
	f = &d->set->files[i];
	if (!f->error && f->size > 0) {
		if ((rc = heap_reserve(d, d->n + 1)) < 0)
			return rc;
		d->heap[d->n++] = i;
		sift_up(d, d->n - 1);
	}
	return rv_dbpath_dropper_fit(d, dropped);
}

void rv_dbpath_dropper_dispose(rv_dbpath_dropper *d)
{
	if (!d)
		return;
	free(d->heap);
	free(d->why);
	d->heap = NULL;
	d->why = NULL;
	d->n = d->cap = 0;
}

int rv_dbpath_drop_largest(rv_dbset *s, uint64_t max_bytes, const char *why,
	size_t *dropped)
{
	rv_dbpath_dropper d;
	int rc;

	if (dropped)
		*dropped = 0;
	if (s->bytes <= max_bytes)
		return RV_OK;
	if ((rc = rv_dbpath_dropper_init(&d, s, max_bytes, why)) == RV_OK)
		rc = rv_dbpath_dropper_fit(&d, dropped);
	rv_dbpath_dropper_dispose(&d);
	return rc;
}

int rv_dbpath_cap_total(rv_dbset *s, uint64_t max_bytes)
{
	char why[128];

	if (s->bytes <= max_bytes)
		return RV_OK;
	cap_words(why, sizeof(why), max_bytes);
	return rv_dbpath_drop_largest(s, max_bytes, why, NULL);
}
