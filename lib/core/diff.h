/* diff.h - compare two manifests: what was added, removed or changed */
#ifndef RV_DIFF_H
#define RV_DIFF_H

#include <stddef.h>

#include "core/manifest.h"
#include "util/buf.h"

/* What changed at one path (a bit set for modified paths). */
enum {
	RV_DIFF_ADDED = 1 << 0,    /* only in b */
	RV_DIFF_REMOVED = 1 << 1,  /* only in a */
	RV_DIFF_CONTENT = 1 << 2,  /* digest or size differ */
	RV_DIFF_MODE = 1 << 3,     /* permission bits differ */
	RV_DIFF_OWNER = 1 << 4,    /* uid or gid differ */
	RV_DIFF_TYPE = 1 << 5,     /* file type differs */
	RV_DIFF_UNREADABLE = 1 << 6 /* one side could not read it */
};

typedef enum rv_severity {
	RV_SEV_INFO = 0,
	RV_SEV_LOW,
	RV_SEV_MEDIUM,
	RV_SEV_HIGH
} rv_severity;

#define RV_SEV_COUNT 4

typedef struct rv_diff_change {
	const rv_manifest_entry *a; /* NULL when added; points into manifest a */
	const rv_manifest_entry *b; /* NULL when removed; points into manifest b */
	unsigned what;              /* RV_DIFF_* bits */
	int executable;             /* b (or a, when removed) is a regular file
	                             * with an x bit */
	int elf;                    /* b (or a, when removed) is an ELF file */
	int setid_gained;           /* b is a regular file with a setuid or
	                             * setgid bit that a did not have (or b
	                             * was added with one) */
	rv_severity severity;
} rv_diff_change;

typedef struct rv_diff {
	rv_diff_change *changes;    /* in path order */
	size_t count;
	size_t allowed;             /* changes dropped by the allowlist */
	size_t masked;              /* entries hidden under a mount on the
	                             * other side (see rv_diff_compute) */
	size_t unknown;             /* entries present on one side only, below
	                             * a directory the other side could not
	                             * read: neither added nor removed */
	size_t errors_a, errors_b;  /* unreadable entries on each side among
	                             * the listed changes */
	size_t by_severity[RV_SEV_COUNT]; /* listed changes per severity */
} rv_diff;

/*
 * Compare sorted manifests a (the reference, e.g. the image) and b (e.g.
 * the running container); *out gets the result, free it with
 * rv_diff_free. RV_EINVAL if either manifest is not sorted by path bytes
 * or has a duplicate path; RV_ENOMEM.
 *
 * Masking. A mount entry hides what the other manifest has at and below
 * its path: a ConfigMap mounted over /app/config in b is not drift, and
 * neither is a's regular file at a path where b has a single-file mount.
 * Hidden entries are counted in `masked`. Mount entries themselves never
 * make a change (a mount is not drift), whether or not the other side has
 * one at the same path.
 *
 * Unreadable entries (err != 0 on either side) always make a change with
 * RV_DIFF_UNREADABLE, so that a caller never calls such a diff clean: its
 * verdict is "incomplete". Metadata that both sides know (type, mode,
 * owner when lstat worked) is still compared; content is not. An entry
 * present on one side only, below a directory (or an entry of unknown
 * type) that the other side could not read, is counted in `unknown`, not
 * listed: its absence there proves nothing. errors_a + errors_b > 0 if
 * and only if some listed change has RV_DIFF_UNREADABLE.
 *
 * Allowlist. A change whose path matches one of the nallow globs in allow
 * (core/glob.h; a glob on a directory covers what is below it) is counted
 * in `allowed` and not listed, unreadable ones included: an allowed path
 * is expected to differ.
 *
 * Severity:
 *   high    an added file, a content or type change, that leaves an
 *           executable (any x bit) or ELF regular file in b; a setuid or
 *           setgid bit gained by a regular file
 *   medium  other added entries (files, symlinks, devices...), other
 *           content and type changes; anything unreadable (its content is
 *           unknown)
 *   low     removals, mode and owner changes
 *   info    directories added or removed, a directory's mode or owner
 * A change gets the highest severity any of its parts has.
 *
 * The diff borrows a and b: they must outlive it.
 */
int rv_diff_compute(rv_diff **out, const rv_manifest *a, const rv_manifest *b,
	const char *const *allow, size_t nallow);

/* Free d. NULL-safe. */
void rv_diff_free(rv_diff *d);

/* The entry a change is about: b's, or a's when removed. */
const rv_manifest_entry *rv_diff_entry(const rv_diff_change *c);

/* The change's main kind, the first of: "added", "removed",
 * "unreadable", "type", "modified" (content), "mode", "owner". */
const char *rv_diff_kind_name(const rv_diff_change *c);

/* "info", "low", "medium", "high" ("?" out of range). */
const char *rv_severity_name(rv_severity s);

/*
 * Append a one-line human description of c's details, without the path,
 * e.g. "mode 0644->0755, uid 0->1000, sha256 0a1b2c3d..->4e5f6a7b.., exec,
 * elf, setid", or for an added or removed entry "file, mode 0755, owner
 * 0:0, size 4096, sha256 0a1b2c3d.., exec". Pure ASCII, no newline; the
 * caller prints the path (escaped). Errors: RV_ENOMEM, RV_ETOOBIG.
 */
int rv_diff_describe(rv_buf *out, const rv_diff_change *c);

#endif
