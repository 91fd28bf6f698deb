/* sbom_dir.h - feed a catalogue from a directory tree on this host */
#ifndef RV_SBOM_DIR_H
#define RV_SBOM_DIR_H

#include "sources/sbom/sbom.h"

typedef struct rv_sbom_dir_opts {
	/* Descend into directories on other filesystems (mount points)
	 * instead of skipping them. */
	int cross_mounts;
	/* Deepest directory level descended (0: RV_SBOM_DIR_MAX_DEPTH).
	 * Deeper directories are reported in one warning. */
	int max_depth;
} rv_sbom_dir_opts;

#define RV_SBOM_DIR_MAX_DEPTH 128

/*
 * Walk the tree at root (a host directory that stands for "/" of the
 * filesystem described: an unpacked image, a rootfs, a venv) and feed s
 * every regular file rv_sbom_wants, read through a size-capped buffer.
 * Paths fed are absolute inside root ("/var/lib/dpkg/status").
 *
 * Symlinks are never followed, neither for directories nor for files;
 * every open is relative to its parent's descriptor with O_NOFOLLOW, so
 * nothing outside root is read. Mount points are skipped unless
 * opts->cross_mounts. A database that cannot be opened or read, or is
 * larger than its cap, becomes a warning in s; a directory that cannot be
 * read is a warning too. opts may be NULL.
 *
 * Fails (RV_EIO naming root) only when root itself cannot be opened as a
 * directory, and for RV_ENOMEM. Does not call rv_sbom_finish.
 */
int rv_sbom_dir_scan(rv_sbom *s, const char *root, const rv_sbom_dir_opts *opts);

#endif
