/* dbpath.h - which paths of a filesystem are package databases, and their size caps */
#ifndef RV_DBPATH_H
#define RV_DBPATH_H

#include <stddef.h>
#include <stdint.h>

#include "core/dbset.h"

/*
 * Pure path classification shared by every side that collects package
 * databases: the probe (core/walk.h, rv_walk_dbs), an image's layer stream
 * and a directory tree (sources/sbom/sbom.h, whose rv_sbom_wants is this). No
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

/* What the package search (rv_walk_dbs) does with a directory. */
typedef enum rv_dbpath_dir {
	/* Searched; a mount point is not descended but recorded
	 * ("mount point, not descended"). Everything not below. */
	RV_DBPATH_DIR_SEARCH = 0,
	/* A kernel pseudo filesystem: /proc, /sys, and /dev/NAME for every
	 * NAME but shm, and below them. A mount point there is skipped
	 * without a record (devpts, mqueue, cgroup: in every container, and
	 * no package database can be in them). */
	RV_DBPATH_DIR_PSEUDO,
	/* /dev: entered even when it is a mount point (the runtime's tmpfs),
	 * but of its entries only "shm" is looked at. */
	RV_DBPATH_DIR_DEV,
	/* /dev/shm: searched even when it is a mount point. It is a tmpfs
	 * that every uid of the pod can write (pip install --target
	 * /dev/shm/x) and no image content can be in it. Mount points below
	 * it are recorded as anywhere else. */
	RV_DBPATH_DIR_SHM,
} rv_dbpath_dir;

/* The rule above for the directory at path (absolute, len bytes). */
rv_dbpath_dir rv_dbpath_dir_rule(const char *path, size_t len);

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
 * NULL) gets how many were dropped by this call. O(n + k log n) for n
 * records and k drops (a heap, rv_dbpath_dropper); RV_ENOMEM.
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

/*
 * rv_dbpath_drop_largest for a set that grows one record at a time, in
 * O(log n) per record: a max-heap, in drop order, of the records that
 * have contents. Caller-owned: rv_dbpath_dropper_init, then
 * rv_dbpath_dropper_add after each record added to the set, then
 * rv_dbpath_dropper_dispose. The set is the caller's and must outlive
 * the dropper; its records must keep their places meanwhile (no
 * rv_dbset_sort until the dropper is disposed). Records that fail for any
 * other reason meanwhile are skipped when they come up.
 */
typedef struct rv_dbpath_dropper {
	rv_dbset *set;        /* not owned */
	uint64_t max_bytes;
	char *why;            /* the drop message (owned) */
	size_t *heap;         /* record indices; heap[0] drops first */
	size_t n, cap;
	uint64_t compares;    /* record comparisons made (tests: complexity) */
} rv_dbpath_dropper;

/*
 * Start a dropper for s with the cap max_bytes and the message why
 * (copied; NULL: the probe's words, as rv_dbpath_cap_total). Every
 * record of s with contents goes into the heap (O(n)); nothing is dropped
 * yet. RV_ENOMEM (d is then disposed).
 */
int rv_dbpath_dropper_init(rv_dbpath_dropper *d, rv_dbset *s,
	uint64_t max_bytes, const char *why);

/*
 * Record i of the set was just added: take it into the heap (if it has
 * contents), then drop as rv_dbpath_drop_largest until the set fits.
 * *dropped (may be NULL) gets how many this call dropped. RV_EINVAL for
 * i out of range, RV_ENOMEM.
 */
int rv_dbpath_dropper_add(rv_dbpath_dropper *d, size_t i, size_t *dropped);

/* Drop until the set fits, as rv_dbpath_dropper_add without a record. */
int rv_dbpath_dropper_fit(rv_dbpath_dropper *d, size_t *dropped);

/* Free the heap (not the set). NULL-safe; d may be disposed twice. */
void rv_dbpath_dropper_dispose(rv_dbpath_dropper *d);

#endif
