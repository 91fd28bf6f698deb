/* diff.h - compare two manifests: what was added, removed or changed */
#ifndef RV_DIFF_H
#define RV_DIFF_H

#include <stddef.h>

#include "core/manifest.h"

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

typedef struct rv_diff_change {
	const rv_manifest_entry *a; /* NULL when added; points into manifest a */
	const rv_manifest_entry *b; /* NULL when removed; points into manifest b */
	unsigned what;              /* RV_DIFF_* bits */
	int executable;             /* b (or a, when removed) has an x bit */
	int elf;                    /* b (or a, when removed) is an ELF file */
	int setid_gained;           /* setuid or setgid appeared */
	rv_severity severity;
} rv_diff_change;

typedef struct rv_diff {
	rv_diff_change *changes;    /* in path order */
	size_t count;
	size_t allowed;             /* changes dropped by the allowlist */
	size_t masked;              /* a entries hidden under a mount in b */
	size_t errors_a, errors_b;  /* unreadable entries on each side */
} rv_diff;

/*
 * Compare sorted manifests a (the reference, e.g. the image) and b (e.g.
 * the running container). Changes whose path matches a glob in allow are
 * counted in `allowed`, not listed. A mount entry in b hides what a has at
 * and below that path (a ConfigMap mounted over /app/config is not drift).
 * Severity: high for an added or changed executable or ELF file and for a
 * gained setuid/setgid bit; medium for other content changes and added
 * files; low for removals and mode/owner changes; info for directories.
 * The diff borrows a and b: they must outlive it.
 */
int rv_diff_compute(rv_diff **out, const rv_manifest *a, const rv_manifest *b,
	const char *const *allow, size_t nallow);

/* Free d. NULL-safe. */
void rv_diff_free(rv_diff *d);

/* The path a change is about. */
const rv_manifest_entry *rv_diff_entry(const rv_diff_change *c);

/* "added", "removed", "modified", ... for a change's main kind. */
const char *rv_diff_kind_name(const rv_diff_change *c);

/* "info", "low", "medium", "high". */
const char *rv_severity_name(rv_severity s);

#endif
