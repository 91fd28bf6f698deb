/* sbom_diff.h - compare two package catalogues by purl: added, removed, version changed */
#ifndef RV_SBOM_DIFF_H
#define RV_SBOM_DIFF_H

#include <stddef.h>

#include "core/diff.h"
#include "sources/sbom/sbom.h"
#include "util/buf.h"

typedef enum rv_sbom_change_kind {
	RV_SBOM_ADDED,    /* only in b */
	RV_SBOM_REMOVED,  /* only in a */
	RV_SBOM_CHANGED   /* the same package, another version */
} rv_sbom_change_kind;

typedef struct rv_sbom_change {
	rv_sbom_change_kind kind;
	const rv_sbom_pkg *a;   /* NULL when added; points into catalogue a */
	const rv_sbom_pkg *b;   /* NULL when removed; points into catalogue b */
	rv_severity severity;
} rv_sbom_change;

typedef struct rv_sbom_diff {
	rv_sbom_change *changes;  /* by package key, then kind */
	size_t count;
	size_t by_kind[3];
	size_t by_severity[RV_SEV_COUNT];
} rv_sbom_diff;

/*
 * Compare finished catalogues a (the reference: the image) and b (the
 * running container). Packages are matched on their purl less the version
 * and every qualifier but arch ("pkg:deb/debian/libc6?arch=amd64"), so a
 * new distro qualifier or upstream name does not turn a version change
 * into a removal and an addition. Per key, the versions present on both
 * sides are not changes; if what is left is one version on each side,
 * that is a version change; otherwise each leftover version is added or
 * removed (two copies of an npm package in different node_modules count
 * as two). Identical purls at several locations count once.
 *
 * Severity: added high (a package installed at runtime), changed medium,
 * removed low. The diff borrows a and b: they must outlive it. RV_EINVAL
 * if either is not finished; RV_ENOMEM.
 */
int rv_sbom_diff_compute(rv_sbom_diff **out, const rv_sbom *a, const rv_sbom *b);

/* Free d. NULL-safe. */
void rv_sbom_diff_free(rv_sbom_diff *d);

/* "added", "removed", "changed". */
const char *rv_sbom_change_name(rv_sbom_change_kind k);

/* The key a purl is matched on, appended to out (see rv_sbom_diff_compute). */
int rv_sbom_purl_key(rv_buf *out, const char *purl);

/*
 * Append one line per change, "added   PURL", "removed PURL",
 * "changed PURL_A -> VERSION_B" with the severity, e.g.
 * "high    added   pkg:deb/debian/curl@7.88.1-10?arch=amd64".
 */
int rv_sbom_diff_text(rv_buf *out, const rv_sbom_diff *d);

#endif
