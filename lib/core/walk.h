/* walk.h - build a manifest from a live directory tree */
#ifndef RV_WALK_H
#define RV_WALK_H

#include <stddef.h>

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

#endif
