/* respond.c - after verify: spooled reports, quarantine, PolicyReports, webhooks */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/policyreport.h"
#include "pipeline/quarantine.h"
#include "pipeline/respond.h"
#include "pipeline/spool.h"
#include "pipeline/webhook.h"
#include "util/error.h"
#include "util/banned.h"

static void say(const rv_respond_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void say(const rv_respond_opts *o, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	if (!o->say)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o->say(o->say_ctx, msg);
}

/* Deliver one report to every webhook; RV_OK only if all took it. */
static int deliver_all(void *p, const char *key, const char *body, size_t len)
{
	const rv_respond_opts *o = p;
	size_t i;
	int rc = RV_OK;

	for (i = 0; i < o->cfg->nwebhooks; i++)
		if (rv_webhook_post(&o->cfg->webhooks[i], body, len, key, o->webhook_ca) < 0) {
			say(o, "%s", rv_error_last());
			rc = RV_ERROR;
		}
	return rc;
}

void rv_respond_flush(const rv_respond_opts *o)
{
	size_t sent, left;

	if (!o->cfg->spool_dir || !o->cfg->nwebhooks)
		return;
	if (rv_spool_flush(o->cfg->spool_dir, deliver_all, (void *)o, &sent, &left) < 0)
		say(o, "%s", rv_error_last());
	else if (sent || left)
		say(o, "spool: %zu earlier reports delivered, %zu still waiting", sent, left);
}

/* POST the report; spool it when that fails and a spool is configured. */
static int deliver(json_t *report, const rv_respond_opts *o)
{
	const char *key = json_string_value(json_object_get(report, "runId"));
	const char *dir = o->cfg->spool_dir;
	char *body = json_dumps(report, JSON_COMPACT | JSON_SORT_KEYS);
	int rc = RV_OK;

	if (!body || !key) {
		say(o, "the report could not be serialized: out of memory");
		rc = RV_ERROR;
		goto cleanup;
	}
	if (deliver_all((void *)o, key, body, strlen(body)) == RV_OK)
		goto cleanup;
	if (dir && rv_spool_put(dir, key, body, strlen(body)) == RV_OK) {
		say(o, "report %s spooled in '%s' for the next run", key, dir);
		goto cleanup;
	}
	if (dir)
		say(o, "%s", rv_error_last());
	say(o, "report %s was not delivered", key);
	rc = RV_ERROR;
cleanup:
	free(body);
	return rc;
}

int rv_respond_run(json_t *report, rv_kube *k, const rv_respond_opts *o)
{
	int rc = RV_OK;

	if (o->cfg->quarantine.after > 0) {
		rv_quarantine_opts qo = { &o->cfg->quarantine, NULL, o->events, 0, NULL };

		if (rv_quarantine_run(report, k, &qo) < 0)
			rc = RV_ERROR;
	}
	/* a PolicyReport not written is one of the run's errors, in the
	 * report: the caller's exit code says it */
	if (o->cfg->policy_reports)
		(void)rv_policyreport_write(k, report, NULL);
	if (o->cfg->nwebhooks && deliver(report, o) < 0)
		rc = RV_ERROR;
	return rc;
}
