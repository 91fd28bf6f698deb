/* dbpath.h - which paths of a filesystem are package databases, and their size caps */
#ifndef RV_DBPATH_H
#define RV_DBPATH_H

#include <stddef.h>
#include <stdint.h>

#include "core/dbset.h"

/*
 * Pure path classification shared by every side that collects package
 * databases: the probe (core/walk.h, rv_walk_dbs), an image's layer stream
 * and a directory tree (sources/sbom.h, whose rv_sbom_wants is this). No
 * I/O. Only regular files are ever classified: a symlink at a wanted path
 * is never followed (its target is classified at its own path).
 */

/* What a wanted path is. */
typedef enum rv_dbpath_kind {
	RV_DBPATH_NONE = 0,
	RV_DBPATH_OS_RELEASE, /* /etc/os-release, /usr/lib/os-release */
	RV_DBPATH_DPKG,       /* /var/lib/dpkg/status */
	RV_DBPATH_DPKG_D,     /* /var/lib/dpkg/status.d/NAME (distroless) */
	RV_DBPATH_APK,        /* /lib/apk/db/installed, /usr/lib/apk/db/installed */
	RV_DBPATH_RPM,        /* /var/lib/rpm/rpmdb.sqlite,
	                       * /usr/lib/sysimage/rpm/rpmdb.sqlite */
	RV_DBPATH_PYTHON,     /* .../X.dist-info/METADATA, .../X.egg-info/PKG-INFO,
	                       * .../X.egg-info (a file) */
	RV_DBPATH_NPM,        /* .../node_modules/NAME/package.json,
	                       * .../node_modules/@SCOPE/NAME/package.json */
	RV_DBPATH_KIND_COUNT
} rv_dbpath_kind;

/* Size caps per kind, in bytes: a larger file is recorded as failed
 * ("larger than the limit of N bytes"), never read. */
#define RV_DBPATH_MAX_OS_RELEASE (64u << 10)
#define RV_DBPATH_MAX_DPKG       (64u << 20)
#define RV_DBPATH_MAX_DPKG_D     (4u << 20)
#define RV_DBPATH_MAX_APK        (64u << 20)
#define RV_DBPATH_MAX_RPM        (256u << 20)
#define RV_DBPATH_MAX_PYTHON     (4u << 20)
#define RV_DBPATH_MAX_NPM        (4u << 20)

/*
 * Whether a regular file at path (absolute inside the filesystem, len
 * bytes, any byte but NUL) is a package database: its kind, or
 * RV_DBPATH_NONE. *max_out (may be NULL) gets the kind's size cap (0 for
 * RV_DBPATH_NONE).
 */
rv_dbpath_kind rv_dbpath_classify(const char *path, size_t len, size_t *max_out);

/* The size cap of a kind (0 for RV_DBPATH_NONE or out of range). */
size_t rv_dbpath_max(rv_dbpath_kind kind);

/*
 * Globs (core/glob.h syntax) that cover every path rv_dbpath_classify
 * accepts, for a source that must choose its files first; *n gets their
 * count. They are wider than the classifier: check each candidate with it.
 */
const char *const *rv_dbpath_globs(size_t *n);

/*
 * Whether path is /proc, /sys or /dev or below: where a container has the
 * kernel's pseudo filesystems mounted. Mount points there are skipped
 * without a record; other mount points are recorded (rv_walk_dbs).
 */
int rv_dbpath_is_pseudo(const char *path, size_t len);

/*
 * Turn record i of s (which keeps its place and path) into a fail record
 * saying why (as rv_dbset_add_failed words it), freeing its contents and
 * keeping s's counts right. A record that already failed is left alone.
 * RV_EINVAL for i out of range, RV_ENOMEM.
 * (A dbset operation: it lives here until core/dbset.h has one.)
 */
int rv_dbpath_drop(rv_dbset *s, size_t i, const char *why);

/*
 * While the contents of s add up to more than max_bytes, drop (as
 * rv_dbpath_drop, with why) the largest record, the greatest path first
 * among equal sizes. The result depends only on the set, never on the
 * order records were added: dropping as files come in, after each add,
 * ends with the same set as dropping once at the end. *dropped (may be
 * NULL) gets how many were dropped by this call.
 */
int rv_dbpath_drop_largest(rv_dbset *s, uint64_t max_bytes, const char *why,
	size_t *dropped);

/*
 * rv_dbpath_drop_largest with the probe's words, "dropped: over the
 * probe's limit of MAX bytes for all package databases": what a probe
 * with --packages-max MAX does, so that the image side, given the same
 * cap, ends with the same set.
 */
int rv_dbpath_cap_total(rv_dbset *s, uint64_t max_bytes);

#endif
