/* pkgcheck.h - the package side of one container's verification: both dbsets, one verdict */
#ifndef RV_PKGCHECK_H
#define RV_PKGCHECK_H

#include <stddef.h>

#include <jansson.h>

#include "core/dbset.h"
#include "core/diff.h"
#include "sources/sbom/sbom.h"
#include "sources/sbom/sbom_diff.h"

/*
 * The image side and the probe each collect the package databases of
 * their filesystem into a dbset (core/dbset.h). Equal digests mean equal
 * databases; otherwise both are catalogued and diffed by purl
 * (sources/sbom/sbom_diff.h) and every difference becomes a report finding:
 *
 *   package-added      a package installed at runtime (high)
 *   package-changed    another version at runtime (medium)
 *   package-removed    a package of the image gone at runtime (low)
 *   package-database-changed  a database whose bytes differ with no package
 *                      change to explain it: a second copy of an installed
 *                      package, METADATA rewritten with the same version, a
 *                      database the parsers cannot read (medium; drift)
 *   package-unreadable a database one side could not read: larger than
 *                      its limit, unreadable, dropped from the probe's log
 *                      (medium; the package check is then incomplete)
 *   package-warning    a database read but malformed in part (low; the
 *                      rest of it is catalogued)
 *
 * A runtime fail record for a mount point (RV_DBSET_MOUNT_PREFIX) is
 * neither: what lies under a mount is not the image's, so the image's
 * packages below it are "masked", as files under a mount are.
 * Likewise a package whose database one side could not read is neither
 * added nor removed but "unknown": its absence there means nothing.
 * A failed record present on both sides is still unreadable: equal
 * digests then say nothing about that file's bytes.
 */

typedef struct rv_pkgcheck {
	int equal;            /* the two dbsets have the same digest */
	size_t added, removed, changed; /* package changes (drift) */
	size_t db_changed;    /* databases changed beyond those (drift) */
	size_t masked;        /* image packages under a runtime mount point */
	size_t unknown;       /* changes in a database one side could not read:
	                       * not findings (the unreadable finding covers them) */
	size_t unreadable;    /* fail records (not mount points), both sides */
	size_t warnings;      /* malformed databases, both sides */
	size_t by_severity[RV_SEV_COUNT]; /* over every finding below */
	json_t *findings;     /* report finding objects, sorted by kind order above
	                       * then path; owned */
	json_t *summary;      /* the container's "packages" object; owned */
	rv_buf changes_text;  /* one line per change (rv_sbom_diff_text): what
	                       * the drift group hashes */
} rv_pkgcheck;

/*
 * Compare the image's dbset with the runtime's, given their comparable
 * digests (rv_dbset_digest_comparable: the caller has them already, the
 * image's once per image and the runtime's from the probe's summary).
 * When the digests differ, runtime_set and the image's finished catalogue
 * image_cat are needed; when they are equal both may be NULL. Sets
 * sorted. On success *out is the caller's (rv_pkgcheck_free). RV_ENOMEM,
 * RV_EINVAL (runtime_set or image_cat missing or not finished when needed).
 */
int rv_pkgcheck_run(rv_pkgcheck **out, const rv_dbset *image_set,
	const unsigned char image_digest[RV_SHA256_LEN], const rv_sbom *image_cat,
	const rv_dbset *runtime_set, const unsigned char runtime_digest[RV_SHA256_LEN]);

/* Catalogue a dbset into a finished catalogue (*out, rv_sbom_free). */
int rv_pkgcheck_catalogue(rv_sbom **out, const rv_dbset *set);

void rv_pkgcheck_free(rv_pkgcheck *pc);

/* Whether the package check is complete: no unreadable database. */
static inline int rv_pkgcheck_complete(const rv_pkgcheck *pc)
{
	return pc->unreadable == 0;
}

#endif
