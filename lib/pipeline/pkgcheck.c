/* pkgcheck.c - the package side of one container's verification: both dbsets, one verdict */
#include <stdlib.h>
#include <string.h>

#include "core/manifest.h"
#include "pipeline/pkgcheck.h"
#include "util/error.h"
#include "util/sha256.h"
#include "util/banned.h"

static const char *const sev_names[] = { "info", "low", "medium", "high" };

int rv_pkgcheck_catalogue(rv_sbom **out, const rv_dbset *set)
{
	rv_sbom *s = NULL;
	int rc;

	*out = NULL;
	if ((rc = rv_sbom_new(&s)) < 0 ||
	    (rc = rv_sbom_feed_dbset(s, set)) < 0 ||
	    (rc = rv_sbom_finish(s)) < 0) {
		rv_sbom_free(s);
		return rc;
	}
	*out = s;
	return RV_OK;
}

void rv_pkgcheck_free(rv_pkgcheck *pc)
{
	if (!pc)
		return;
	json_decref(pc->findings);
	json_decref(pc->summary);
	rv_buf_dispose(&pc->changes_text);
	free(pc);
}

/* Append one finding; path unescaped (escaped here as in the manifest). */
static int finding(rv_pkgcheck *pc, const char *kind, const char *path,
	rv_severity sev, const char *details)
{
	rv_buf esc = RV_BUF_INIT(1u << 16);
	json_t *f;
	int rc;

	if ((rc = rv_manifest_escape(&esc, path, strlen(path))) < 0)
		goto cleanup;
	f = json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:b}", "kind", kind,
		"path", esc.ptr ? esc.ptr : "", "severity", sev_names[sev & 3],
		"details", details, "executable", 0, "elf", 0, "setidGained", 0);
	if (!f || json_array_append_new(pc->findings, f) < 0) {
		rc = rv_error_set(RV_ENOMEM, "out of memory");
		goto cleanup;
	}
	pc->by_severity[sev]++;
	rc = RV_OK;
cleanup:
	rv_buf_dispose(&esc);
	return rc;
}

/*
 * What a fail record of set says about a package whose database is at
 * location (a file: /var/lib/dpkg/status; or a package directory:
 * .../yaml-6.0.dist-info, .../node_modules/x): COVER_MOUNT when it lies
 * under a mount point, COVER_FAILED when its database (or a directory
 * above it) could not be read, so its absence means nothing; else 0.
 */
enum { COVER_NONE = 0, COVER_MOUNT, COVER_FAILED };

static int covered(const rv_dbset *set, const char *location)
{
	size_t i, n = strlen(location);

	for (i = 0; set && i < set->n; i++) {
		const rv_dbset_file *f = &set->files[i];

		if (!f->error)
			continue;
		if (rv_manifest_path_within(location, n, f->path, f->path_len))
			return rv_dbset_is_mount(f) ? COVER_MOUNT : COVER_FAILED;
		if (!rv_dbset_is_mount(f) &&
		    rv_manifest_path_within(f->path, f->path_len, location, n))
			return COVER_FAILED;
	}
	return COVER_NONE;
}

/* The unreadable records of one side, then its catalogue's warnings that
 * are not about those records. */
static int side_problems(rv_pkgcheck *pc, const char *side, const rv_dbset *set,
	const rv_sbom *cat)
{
	rv_buf d = RV_BUF_INIT(4096);
	size_t i;
	int rc = RV_OK;

	for (i = 0; i < set->n && rc == RV_OK; i++) {
		const rv_dbset_file *f = &set->files[i];

		if (!f->error || rv_dbset_is_mount(f))
			continue;
		rv_buf_reset(&d);
		pc->unreadable++;
		if ((rc = rv_buf_printf(&d, "%s: %s", side, f->error)) == RV_OK)
			rc = finding(pc, "package-unreadable", f->path, RV_SEV_MEDIUM, d.ptr);
	}
	for (i = 0; cat && i < cat->nwarnings && rc == RV_OK; i++) {
		const rv_sbom_warning *w = &cat->warnings[i];
		const rv_dbset_file *f = rv_dbset_find(set, w->path, strlen(w->path));

		if (f && f->error)
			continue;  /* reported above */
		rv_buf_reset(&d);
		pc->warnings++;
		if ((rc = rv_buf_printf(&d, "%s: %s", side, w->message)) == RV_OK)
			rc = finding(pc, "package-warning", w->path, RV_SEV_LOW, d.ptr);
	}
	rv_buf_dispose(&d);
	return rc;
}

static int changes(rv_pkgcheck *pc, const rv_sbom_diff *diff, const rv_dbset *image_set,
	const rv_dbset *runtime_set)
{
	rv_buf d = RV_BUF_INIT(1u << 16);
	size_t i;
	int rc = RV_OK;

	for (i = 0; i < diff->count && rc == RV_OK; i++) {
		const rv_sbom_change *c = &diff->changes[i];
		const rv_sbom_pkg *p = c->b ? c->b : c->a;

		rv_buf_reset(&d);
		switch (c->kind) {
		case RV_SBOM_ADDED:
			/* the image's database could not be read: not known to be new */
			if (covered(image_set, c->b->location)) {
				pc->unknown++;
				continue;
			}
			pc->added++;
			rc = rv_buf_puts(&d, c->b->purl);
			if (rc == RV_OK)
				rc = finding(pc, "package-added", p->location, c->severity, d.ptr);
			break;
		case RV_SBOM_REMOVED:
			switch (covered(runtime_set, c->a->location)) {
			case COVER_MOUNT:
				pc->masked++;
				continue;
			case COVER_FAILED:
				pc->unknown++;
				continue;
			}
			pc->removed++;
			rc = rv_buf_puts(&d, c->a->purl);
			if (rc == RV_OK)
				rc = finding(pc, "package-removed", p->location, c->severity, d.ptr);
			break;
		case RV_SBOM_CHANGED:
			pc->changed++;
			rc = rv_buf_printf(&d, "%s -> %s", c->a->purl, c->b->version);
			if (rc == RV_OK)
				rc = finding(pc, "package-changed", p->location, c->severity, d.ptr);
			break;
		}
		if (rc == RV_OK)
			rc = rv_buf_printf(&pc->changes_text, "%s %s\n",
				rv_sbom_change_name(c->kind), d.ptr);
	}
	rv_buf_dispose(&d);
	return rc;
}

/* Whether a changed database at path is explained by a package change
 * already reported: the change's location is that database (dpkg, apk,
 * rpm) or the package directory it lies in (dist-info, node_modules/x). */
static int explained(const rv_sbom_diff *diff, const char *path, size_t n)
{
	size_t i;

	for (i = 0; diff && i < diff->count; i++) {
		const rv_sbom_change *c = &diff->changes[i];
		const char *loc = (c->b ? c->b : c->a)->location;

		if (rv_manifest_path_within(path, n, loc, strlen(loc)))
			return 1;
	}
	return 0;
}

/*
 * Every database whose bytes differ between the two sides must be
 * accounted for: by a package change, by a fail record (unreadable,
 * reported above), by a mount (masked), or else it is a change of its own
 * ("package-database-changed"): a second copy of an installed package,
 * a METADATA rewritten in place with the same version, a database the
 * parsers cannot read, a dpkg stanza that is not "installed". Equal
 * purls alone never make different bytes clean.
 */
static int databases(rv_pkgcheck *pc, const rv_sbom_diff *diff, const rv_dbset *img,
	const rv_dbset *rt)
{
	rv_buf d = RV_BUF_INIT(4096);
	size_t i = 0, j = 0;
	int rc = RV_OK;

	while (rc == RV_OK && (i < img->n || j < rt->n)) {
		const rv_dbset_file *a = i < img->n ? &img->files[i] : NULL;
		const rv_dbset_file *b = j < rt->n ? &rt->files[j] : NULL;
		const rv_dbset_file *f;
		char ha[RV_SHA256_HEX], hb[RV_SHA256_HEX];
		int c = !a ? 1 : !b ? -1 : rv_dbset_file_cmp(a, b);

		rv_buf_reset(&d);
		if (c == 0) {
			i++, j++;
			if (a->error || b->error)
				continue;  /* unreadable somewhere: reported as such */
			if (a->size == b->size && !memcmp(a->sha256, b->sha256, RV_SHA256_LEN))
				continue;
			f = b;
			rv_sha256_to_hex(ha, a->sha256);
			rv_sha256_to_hex(hb, b->sha256);
			rc = rv_buf_printf(&d, "contents changed: size %zu->%zu, sha256 %.8s..->%.8s..",
				a->size, b->size, ha, hb);
		} else if (c < 0) {
			i++;
			if (a->error || covered(rt, a->path))
				continue;
			f = a;
			rc = rv_buf_puts(&d, "removed at runtime");
		} else {
			j++;
			if (b->error || covered(img, b->path))
				continue;
			f = b;
			rc = rv_buf_puts(&d, "added at runtime");
		}
		if (rc < 0 || explained(diff, f->path, f->path_len))
			continue;
		pc->db_changed++;
		if ((rc = finding(pc, "package-database-changed", f->path, RV_SEV_MEDIUM, d.ptr)) == RV_OK)
			rc = rv_buf_printf(&pc->changes_text, "database %s %s\n", f->path, d.ptr);
	}
	rv_buf_dispose(&d);
	return rc;
}

/* Stable order: by kind in the order of packages.h, then path. */
static int kind_rank(const char *k)
{
	static const char *const order[] = { "package-added", "package-changed",
		"package-removed", "package-database-changed", "package-unreadable",
		"package-warning" };
	size_t i;

	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (!strcmp(k, order[i]))
			return (int)i;
	return (int)i;
}

static int finding_cmp(const void *x, const void *y)
{
	json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
	int ra = kind_rank(json_string_value(json_object_get(a, "kind")));
	int rb = kind_rank(json_string_value(json_object_get(b, "kind")));

	if (ra != rb)
		return ra < rb ? -1 : 1;
	return strcmp(json_string_value(json_object_get(a, "path")),
		json_string_value(json_object_get(b, "path")));
}

static int sort_findings(rv_pkgcheck *pc)
{
	size_t n = json_array_size(pc->findings), i;
	json_t **v, *sorted;

	if (n < 2)
		return RV_OK;
	if (!(v = malloc(n * sizeof(*v))))
		return rv_error_set(RV_ENOMEM, "out of memory");
	for (i = 0; i < n; i++)
		v[i] = json_array_get(pc->findings, i);
	qsort(v, n, sizeof(*v), finding_cmp);
	if (!(sorted = json_array())) {
		free(v);
		return rv_error_set(RV_ENOMEM, "out of memory");
	}
	for (i = 0; i < n; i++)
		json_array_append(sorted, v[i]);
	free(v);
	json_decref(pc->findings);
	pc->findings = sorted;
	return RV_OK;
}

int rv_pkgcheck_run(rv_pkgcheck **out, const rv_dbset *image_set,
	const unsigned char image_digest[RV_SHA256_LEN], const rv_sbom *image_cat,
	const rv_dbset *runtime_set, const unsigned char runtime_digest[RV_SHA256_LEN])
{
	char hi[RV_SHA256_HEX], hr[RV_SHA256_HEX];
	rv_pkgcheck *pc = calloc(1, sizeof(*pc));
	rv_sbom *rt_cat = NULL;
	rv_sbom_diff *diff = NULL;
	int rc;

	*out = NULL;
	if (!pc)
		return rv_error_set(RV_ENOMEM, "out of memory");
	rv_buf_init(&pc->changes_text, 64u << 20);
	if (!(pc->findings = json_array())) {
		rc = rv_error_set(RV_ENOMEM, "out of memory");
		goto cleanup;
	}
	pc->equal = !memcmp(image_digest, runtime_digest, RV_SHA256_LEN);
	if (pc->equal) {
		/* the same bytes: only what neither side could read is open */
		if ((rc = side_problems(pc, "both", image_set, NULL)) < 0)
			goto cleanup;
	} else {
		if (!image_cat || !image_cat->finished || !runtime_set) {
			rc = rv_error_set(RV_EINVAL, "the image's package catalogue or the "
				"runtime's set is missing");
			goto cleanup;
		}
		if ((rc = rv_pkgcheck_catalogue(&rt_cat, runtime_set)) < 0 ||
		    (rc = rv_sbom_diff_compute(&diff, image_cat, rt_cat)) < 0 ||
		    (rc = changes(pc, diff, image_set, runtime_set)) < 0 ||
		    (rc = databases(pc, diff, image_set, runtime_set)) < 0 ||
		    (rc = side_problems(pc, "image", image_set, image_cat)) < 0 ||
		    (rc = side_problems(pc, "runtime", runtime_set, rt_cat)) < 0 ||
		    (rc = sort_findings(pc)) < 0)
			goto cleanup;
	}
	rv_sha256_to_hex(hi, image_digest);
	rv_sha256_to_hex(hr, runtime_digest);
	pc->summary = json_pack("{s:b, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		"equal", pc->equal, "imageSet", hi, "runtimeSet", hr,
		"databases", (json_int_t)(runtime_set ? runtime_set : image_set)->n,
		"added", (json_int_t)pc->added, "removed", (json_int_t)pc->removed,
		"changed", (json_int_t)pc->changed,
		"databasesChanged", (json_int_t)pc->db_changed, "masked", (json_int_t)pc->masked,
		"unknown", (json_int_t)pc->unknown,
		"unreadable", (json_int_t)pc->unreadable, "warnings", (json_int_t)pc->warnings);
	if (!pc->summary) {
		rc = rv_error_set(RV_ENOMEM, "out of memory");
		goto cleanup;
	}
	if (!pc->equal) {
		json_object_set_new(pc->summary, "imagePackages", json_integer((json_int_t)image_cat->npkgs));
		json_object_set_new(pc->summary, "runtimePackages", json_integer((json_int_t)rt_cat->npkgs));
	}
	*out = pc;
	pc = NULL;
	rc = RV_OK;
cleanup:
	rv_sbom_diff_free(diff);
	rv_sbom_free(rt_cat);
	rv_pkgcheck_free(pc);
	return rc;
}
