/* walk.h - build a manifest from a live directory tree */
#ifndef RV_WALK_H
#define RV_WALK_H

#include <stddef.h>
#include <stdint.h>

#include "core/dbset.h"
#include "core/manifest.h"

typedef struct rv_walk_opts {
	/* Host directory that stands for "/" of the described filesystem:
	 * "/proc/1/root" in the probe, an unpacked image or any tree on the
	 * host. Paths below are resolved inside it (openat2 RESOLVE_IN_ROOT,
	 * or a careful component-by-component fallback), so an absolute
	 * symlink in the tree never leads out of it. */
	const char *root;
	/* Absolute paths inside root to walk; none means "/". Symlinks in
	 * their leading components resolve inside root; the last component
	 * and everything below it are never followed. */
	const char *const *paths;
	size_t npaths;
	/* Globs (core/glob.h) on manifest paths; a match is left out, and a
	 * matching directory is not descended. */
	const char *const *excludes;
	size_t nexcludes;
	/* Descend into mount points instead of recording them as mounts. */
	int cross_mounts;
	/* Hashing threads; 0 means one per online CPU. */
	int threads;
	/* Tests only: pretend the kernel has no openat2. */
	int no_openat2;
	/* Tests only: pretend the kernel has no statx (fstatat, so no
	 * STATX_ATTR_MOUNT_ROOT: mount points by device alone). */
	int no_statx;
} rv_walk_opts;

/*
 * Walk opts->paths under opts->root and return a sorted manifest in *out
 * (the caller's: free it with rv_manifest_free). opts and everything it
 * points to stay the caller's and are only read. Design: docs/walker.md.
 *
 * Unreadable entries are recorded with their errno (entry.err), never
 * skipped, and the walk goes on; callers check rv_manifest_stats.errors.
 * A configured path that does not exist is recorded as an RV_FT_UNKNOWN
 * entry with err ENOENT (ELOOP, ENOTDIR, EACCES likewise). Besides the
 * errnos of failed calls, err is EAGAIN for a file or directory that
 * changed while we looked at it (replaced, resized or written to while
 * hashed) and ESTALE for a directory whose listing was abandoned because
 * the tree moved under the walk.
 *
 * Fatal errors return a negative code, *out NULL: RV_EINVAL (root option
 * missing, root not a directory, a path that is not absolute or has empty,
 * "." or ".." components or a trailing '/', a bad exclude glob, threads out
 * of 0..64), RV_ENOTFOUND (root does not exist), RV_EIO (root cannot be
 * opened), RV_ENOMEM, RV_ERROR (OpenSSL or thread creation failed). The
 * message names the root, path or glob.
 */
int rv_walk(rv_manifest **out, const rv_walk_opts *opts);

/* Defaults of rv_walk_dbs_opts (docs/probe.md, "--packages"). */
#define RV_WALK_DBS_MAX_BYTES   (32ull << 20) /* contents, all files */
#define RV_WALK_DBS_MAX_ENTRIES 2000000u      /* directory entries read */
#define RV_WALK_DBS_MAX_DEPTH   128u          /* levels below "/" searched */
#define RV_WALK_DBS_MAX_RECORDS 100000u       /* records of the set */

/* Tests only: the moments of rv_walk_dbs at which the tree may change
 * under it (rv_walk_dbs_opts.race). */
typedef enum rv_walk_race {
	RV_WALK_RACE_LISTED, /* a batch of names of the directory path was
	                      * read, none of them looked at yet */
	RV_WALK_RACE_ENTER,  /* the listed directory path is about to be opened */
	RV_WALK_RACE_READ,   /* the wanted file path, stat'ed, is about to be opened */
} rv_walk_race;

typedef struct rv_walk_dbs_opts {
	/* As rv_walk_opts.root: the whole filesystem below it is searched. */
	const char *root;
	/* Limits; 0 means the default above. */
	uint64_t max_bytes;
	size_t max_entries;
	size_t max_depth;
	size_t max_records;
	/* Tests only: pretend the kernel has no openat2, no statx. */
	int no_openat2;
	int no_statx;
	/* Tests only: called at each rv_walk_race moment with the path
	 * (inside root, len bytes), to change the tree there. */
	void (*race)(void *arg, rv_walk_race at, const char *path, size_t len);
	void *race_arg;
} rv_walk_dbs_opts;

/*
 * Collect every package database (core/dbpath.h) of the filesystem under
 * opts->root into a new sorted set *out (free it with rv_dbset_free), with
 * the walker's machinery: the whole tree below "/", every entry opened
 * relative to its parent's fd with O_NOFOLLOW (symlinks never followed),
 * the same fd window and ".." checks, mount points not descended (but
 * /dev/shm, rv_dbpath_dir_rule). An entry that is gone when looked at
 * (ENOENT from statx or open: deleted since it was listed) is no record:
 * it no longer exists. Nothing else is left out silently; these become
 * fail records (core/dbset.h):
 *   - a regular file over its kind's cap: "larger than the limit of N bytes"
 *   - contents over max_bytes in all: the largest first (deterministic,
 *     rv_dbpath_drop_largest), "dropped: over the probe's limit of N bytes
 *     for all package databases"; memory stays within a few max_bytes
 *   - a file that cannot be read: "cannot read: EACCES" (EAGAIN when it
 *     changed while read); a name that cannot be stat'ed: "cannot stat: E"
 *   - a directory that cannot be opened or listed: "directory not
 *     searched: EACCES" (ESTALE when the tree moved under the walk)
 *   - a mount point outside /proc, /sys, /dev (but inside /dev/shm):
 *     "mount point, not descended" (a file: "mount point, not read")
 *   - a directory max_depth levels down: "directory not searched: deeper
 *     than N levels"
 *   - max_entries entries read or max_records records made: the walk
 *     stops, and each directory it was inside gets "directory not searched
 *     to the end: the probe's limit of N directory entries" (or records).
 * Fatal errors as rv_walk's (root missing or not a directory, RV_ENOMEM),
 * RV_EINVAL for limits over the set's caps; *out is then NULL.
 */
int rv_walk_dbs(rv_dbset **out, const rv_walk_dbs_opts *opts);

#endif
