/* respond.h - after verify: spooled reports, quarantine, PolicyReports, webhooks */
#ifndef RV_RESPOND_H
#define RV_RESPOND_H

#include <jansson.h>

#include "pipeline/config.h"
#include "sources/kube/kube.h"

/* Where respond's messages go (lib/ never prints): one line each, no
 * newline. */
typedef void (*rv_respond_say_fn)(void *ctx, const char *msg);

typedef struct rv_respond_opts {
	const rv_config *cfg;       /* webhooks, spool, quarantine, policyReports */
	const char *webhook_ca;     /* extra CA for the receivers, or NULL */
	int events;                 /* quarantine posts Events */
	rv_respond_say_fn say;      /* may be NULL */
	void *say_ctx;
} rv_respond_opts;

/* Before the run: deliver the reports earlier runs spooled, oldest first.
 * Failures are said, never fatal: the reports stay for the next run. */
void rv_respond_flush(const rv_respond_opts *o);

/*
 * After the run, on its report: the quarantine step (when
 * cfg->quarantine.after > 0; its result goes into the report), the
 * PolicyReports (when cfg->policy_reports; a failure is one of the
 * report's errors), and delivery to every webhook, spooling a report
 * that could not be delivered when a spool is configured. Returns RV_OK,
 * or RV_ERROR when a configured control did not act: the quarantine
 * failed, or the report was neither delivered nor spooled (said, too).
 */
int rv_respond_run(json_t *report, rv_kube *k, const rv_respond_opts *o);

#endif
