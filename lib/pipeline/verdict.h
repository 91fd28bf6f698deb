/* verdict.h - is this drift? Findings, drift group and verdict from a comparison (pure) */
#ifndef RV_VERDICT_H
#define RV_VERDICT_H

#include "core/diff.h"
#include "pipeline/pkgcheck.h"
#include "pipeline/result.h"

/* "clean", "drift", "incomplete", "unverifiable", "skipped"; NULL for a
 * value outside the enum. */
const char *rv_verdict_name(rv_verdict v);

/* The verdict named s. RV_EINVAL (message names s) for NULL or an unknown
 * name: a caller decides what an unknown verdict means, explicitly. */
int rv_verdict_parse(rv_verdict *out, const char *s);

/*
 * Fill cr's comparison from the file diff d (NULL: the manifests were
 * equal) and the package check pc (NULL: not run; pkg_not_checked, a
 * static string, says why when packages were asked for, cr->tally.packages):
 * the tally, the findings (file changes first, then package findings,
 * at most RV_RESULT_MAX_FINDINGS listed), the packages summary and the
 * drift group, a hash of the image digest (cr->image_digest) and every
 * change, so identical drift in other pods groups together. Borrows d
 * and pc. cr->tally.files_complete and .packages are the caller's.
 * RV_ENOMEM.
 */
int rv_verdict_findings(rv_cresult *cr, const rv_diff *d, const rv_pkgcheck *pc,
	const char *pkg_not_checked);

/*
 * Decide cr's verdict from its tally (pure: nothing but cr->tally and
 * cr->pkg_not_checked is read):
 *
 *   drift         a file change that is not only unreadable entries, or a
 *                 package change; "incomplete" is set too when something
 *                 could not be read
 *   incomplete    no such change, but the probe missed entries, a listed
 *                 change is an unreadable entry, entries lie below an
 *                 unreadable directory, or the package check was asked for
 *                 and did not run or met an unreadable database
 *   clean         none of these
 *
 * The drift group is kept only for drift. RV_ENOMEM (the reason).
 */
int rv_verdict_decide(rv_cresult *cr);

#endif
