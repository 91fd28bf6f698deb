/* report.h - the verify report for people, and its exit code */
#ifndef RV_REPORT_H
#define RV_REPORT_H

#include <jansson.h>

#include "sources/git/git.h"
#include "util/buf.h"

/*
 * A one-screen text summary of a report (rv_verify_run) that answers the
 * four questions: is each pod running what CI built, what changed, did an
 * agent touch the build, how many pods show the same drift. Paths are
 * already escaped in the report, so the text holds no control bytes from
 * outside; other strings from outside are escaped here too.
 */
int rv_report_text(rv_buf *out, json_t *report);

/*
 * The JSON form of a provenance result (sources/git/git.h), the same in the
 * verify report and in `provenance --format json`: status ("ok",
 * "no-revision", "error"), the commit, the look-back, and the answer in
 * agentTouchedBuild. Fields are documented in docs/commands/provenance.md.
 * Returns a new reference, NULL when out of memory.
 */
json_t *rv_report_provenance(const rv_git_result *res);

/* The exit code for a report: 2 when the run failed or some container is
 * unverifiable or incomplete, else 1 when fail_on_drift and some container
 * drifted, else 0. */
int rv_report_exit_code(json_t *report, int fail_on_drift);

#endif
