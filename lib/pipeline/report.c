/* report.c - the verify report for people, and its exit code */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/manifest.h"
#include "pipeline/report.h"
#include "pipeline/verdict.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/json.h"
#include "util/banned.h"

/* Append s with anything that is not printable ASCII escaped. */
static int put_safe(rv_buf *out, const char *s, size_t max)
{
	size_t n = strlen(s);
	rv_buf tmp = RV_BUF_INIT(4 * 4096 + 16);
	int rc;

	if (n > max)
		n = max;
	rc = rv_manifest_escape(&tmp, s, n);
	if (rc == RV_OK && tmp.ptr) {
		/* spaces read better as spaces in prose */
		const char *p = tmp.ptr;
		const char *sp;

		while (rc == RV_OK && (sp = strstr(p, "\\x20"))) {
			rc = rv_buf_add(out, p, (size_t)(sp - p));
			if (rc == RV_OK)
				rc = rv_buf_putc(out, ' ');
			p = sp + 4;
		}
		if (rc == RV_OK)
			rc = rv_buf_puts(out, p);
	}
	if (rc == RV_OK && strlen(s) > max)
		rc = rv_buf_puts(out, "...");
	rv_buf_dispose(&tmp);
	return rc;
}

static int line(rv_buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int line(rv_buf *out, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = rv_buf_vprintf(out, fmt, ap);
	va_end(ap);
	return rc;
}

/* 1. Is each pod running what CI built? One line a container. */
static void text_verdicts(rv_buf *out, json_t *report)
{
	json_t *pod, *c;
	size_t i, j, k;

	line(out, "%-40s %-14s %-13s %-9s %s\n", "POD/CONTAINER", "VERDICT", "IMAGE", "FINDINGS", "AGENT");
	json_array_foreach(json_object_get(report, "pods"), i, pod) {
		json_array_foreach(json_object_get(pod, "containers"), j, c) {
			json_t *prov = json_object_get(c, "provenance");
			char who[512], img[16] = "-", agent[32] = "-", nf[32] = "-";
			const char *d = rv_json_text(c, "imageDigest");

			snprintf(who, sizeof(who), "%s/%s/%s", rv_json_text(pod, "namespace"), rv_json_text(pod, "name"), rv_json_text(c, "name"));
			if (strlen(d) > 19)
				snprintf(img, sizeof(img), "%.12s", d + 7);
			if (json_object_get(c, "counts"))
				snprintf(nf, sizeof(nf), "%lld", (long long)rv_json_num(json_object_get(c, "counts"), "findings"));
			if (prov && !strcmp(rv_json_text(prov, "status"), "ok"))
				snprintf(agent, sizeof(agent), "%s",
					json_is_true(json_object_get(prov, "agentTouchedBuild")) ? "yes" : "no");
			else if (prov)
				snprintf(agent, sizeof(agent), "%s", rv_json_text(prov, "status"));
			put_safe(out, who, 40);
			for (k = strlen(who) > 40 ? 43 : strlen(who); k < 41; k++)
				rv_buf_putc(out, ' ');
			line(out, "%-14s %-13s %-9s %s\n", rv_json_text(c, "verdict"), img, nf, agent);
		}
	}
}

/* 2. What changed, and why a container could not be verified. */
static void text_changes(rv_buf *out, json_t *report)
{
	json_t *pod, *c, *f;
	size_t i, j, k;

	json_array_foreach(json_object_get(report, "pods"), i, pod) {
		json_array_foreach(json_object_get(pod, "containers"), j, c) {
			const char *v = rv_json_text(c, "verdict");
			json_t *claims = json_object_get(c, "claims");
			rv_verdict verdict;

			/* an unknown verdict is shown as it is, with its reason */
			if (rv_verdict_parse(&verdict, v) < 0)
				verdict = RV_VERDICT_UNVERIFIABLE;
			switch (verdict) {
			case RV_VERDICT_CLEAN:
				if (!json_array_size(claims))
					continue;
				break;
			case RV_VERDICT_SKIPPED:
				continue;
			case RV_VERDICT_DRIFT:
			case RV_VERDICT_INCOMPLETE:
			case RV_VERDICT_UNVERIFIABLE:
				break;
			}
			line(out, "\n%s/%s/%s: %s", rv_json_text(pod, "namespace"), rv_json_text(pod, "name"), rv_json_text(c, "name"), v);
			if (*rv_json_text(c, "reason")) {
				rv_buf_puts(out, ": ");
				put_safe(out, rv_json_text(c, "reason"), 600);
			}
			rv_buf_putc(out, '\n');
			json_array_foreach(claims, k, f) {
				line(out, "  claim  %-6s %s: ", rv_json_text(f, "severity"), rv_json_text(f, "kind"));
				put_safe(out, rv_json_text(f, "message"), 400);
				rv_buf_putc(out, '\n');
			}
			json_array_foreach(json_object_get(c, "findings"), k, f) {
				if (k >= 15) {
					line(out, "  ... %zu more findings in the JSON report\n",
						json_array_size(json_object_get(c, "findings")) - k +
						(size_t)rv_json_num(c, "findingsTruncated"));
					break;
				}
				line(out, "  %-6s %-10s %s  ", rv_json_text(f, "severity"), rv_json_text(f, "kind"), rv_json_text(f, "path"));
				put_safe(out, rv_json_text(f, "details"), 300);
				rv_buf_putc(out, '\n');
			}
		}
	}
}

/* 3. Did an agent touch the build? Once per revision. */
static void text_agents(rv_buf *out, json_t *report)
{
	json_t *pod, *c, *seen = json_object();
	size_t i, j, k;

	json_array_foreach(json_object_get(report, "pods"), i, pod) {
		json_array_foreach(json_object_get(pod, "containers"), j, c) {
			json_t *prov = json_object_get(c, "provenance"), *rc2;

			if (!prov || !json_is_true(json_object_get(prov, "agentTouchedBuild")) ||
			    json_object_get(seen, rv_json_text(prov, "revision")))
				continue;
			json_object_set_new(seen, rv_json_text(prov, "revision"), json_true());
			line(out, "\nagent in the build of %s/%s/%s (revision %.12s):\n",
				rv_json_text(pod, "namespace"), rv_json_text(pod, "name"), rv_json_text(c, "name"), rv_json_text(prov, "revision"));
			json_array_foreach(json_object_get(json_object_get(prov, "lookback"), "commits"), k, rc2) {
				json_t *t;
				size_t m;

				if (!json_is_true(json_object_get(rc2, "agent")))
					continue;
				line(out, "  %.12s ", rv_json_text(rc2, "id"));
				put_safe(out, rv_json_text(rc2, "summary"), 80);
				rv_buf_putc(out, '\n');
				json_array_foreach(json_object_get(rc2, "trailers"), m, t) {
					if (!*rv_json_text(t, "agent"))
						continue;
					rv_buf_puts(out, "      ");
					put_safe(out, rv_json_text(t, "key"), 40);
					rv_buf_puts(out, ": ");
					put_safe(out, rv_json_text(t, "name"), 80);
					line(out, " (%s)\n", rv_json_text(t, "agent"));
				}
			}
		}
	}
	json_decref(seen);
}

/* 4. How many pods show the same drift? */
static void text_groups(rv_buf *out, json_t *report)
{
	json_t *g;
	size_t i;

	if (json_array_size(json_object_get(report, "aggregation")))
		rv_buf_puts(out, "\nsame drift across pods:\n");
	json_array_foreach(json_object_get(report, "aggregation"), i, g) {
		line(out, "  group %s: %lld containers, %lld findings each, image %.19s\n",
			rv_json_text(g, "id"), (long long)rv_json_num(g, "count"), (long long)rv_json_num(g, "findings"),
			rv_json_text(g, "imageDigest"));
	}
}

int rv_report_text(rv_buf *out, json_t *report)
{
	json_t *sum = json_object_get(report, "summary"), *e;
	size_t i;

	line(out, "runtime-verifier run %s on %s\n", rv_json_text(report, "runId"), rv_json_text(report, "cluster"));
	line(out, "%lld pods, %lld containers: %lld clean, %lld drift, %lld incomplete, %lld unverifiable, %lld skipped\n\n",
		(long long)rv_json_num(sum, "pods"), (long long)rv_json_num(sum, "containers"),
		(long long)rv_json_num(sum, "clean"), (long long)rv_json_num(sum, "drift"),
		(long long)rv_json_num(sum, "incomplete"), (long long)rv_json_num(sum, "unverifiable"),
		(long long)rv_json_num(sum, "skipped"));
	json_array_foreach(json_object_get(report, "errors"), i, e) {
		rv_buf_puts(out, "error: ");
		put_safe(out, json_string_value(e) ? json_string_value(e) : "", 2000);
		rv_buf_putc(out, '\n');
	}
	if (json_array_size(json_object_get(report, "errors")))
		rv_buf_putc(out, '\n');
	text_verdicts(out, report);
	text_changes(out, report);
	text_agents(out, report);
	text_groups(out, report);
	if (out->len == 0)
		return rv_error_set(RV_ENOMEM, "out of memory");
	return RV_OK;
}

int rv_report_exit_code(json_t *report, int fail_on_drift)
{
	json_t *sum = json_object_get(report, "summary");

	if (!report || json_array_size(json_object_get(report, "errors")) ||
	    rv_json_num(sum, "unverifiable") || rv_json_num(sum, "incomplete"))
		return 2;
	if (fail_on_drift && rv_json_num(sum, "drift"))
		return 1;
	return 0;
}

/* --- provenance ------------------------------------------------------------ */

/* Strings from sources/git are valid UTF-8 (rv_agent_clean), so
 * json_string never fails on content; NULL becomes null. */
static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *ident_json(const rv_git_ident *id)
{
	char t[RV_TIME_ISO_LEN];

	rv_clock_iso(t, id->time);
	return json_pack("{s:s, s:s, s:s, s:I, s:o}", "name", id->name,
		"email", id->email, "time", t, "offsetMinutes", (json_int_t)id->offset,
		"agent", str_or_null(id->agent));
}

/* The distinct agents of a commit, author first. */
static json_t *agents_json(const rv_git_commit *c)
{
	const char *names[2 + RV_AGENT_MAX_TRAILERS];
	size_t i, n = rv_git_commit_agents(names, sizeof(names) / sizeof(names[0]), c);
	json_t *a = json_array();

	for (i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(names[i]));
	return a;
}

static json_t *commit_json(const rv_git_commit *c)
{
	json_t *tr = json_array(), *files = json_array();
	size_t i;

	for (i = 0; i < c->trailers.n; i++) {
		const rv_agent_trailer *t = &c->trailers.v[i];

		json_array_append_new(tr, json_pack("{s:s, s:s, s:s, s:s, s:o}",
			"key", t->key, "kind", t->kind, "name", t->name,
			"email", t->email, "agent", str_or_null(t->agent)));
	}
	for (i = 0; i < c->n_files; i++) {
		char st[2] = { c->files[i].status, '\0' };

		json_array_append_new(files, json_pack("{s:s, s:s, s:o}",
			"status", st, "path", c->files[i].path,
			"oldPath", str_or_null(c->files[i].old_path)));
	}
	return json_pack("{s:s, s:s, s:i, s:o, s:o, s:o, s:b, s:b, s:b, s:o, s:b, s:o, s:b, s:o, s:o, s:b}",
		"id", c->id, "summary", c->summary, "parents", (int)c->parents,
		"author", ident_json(&c->author),
		"committer", ident_json(&c->committer),
		"trailers", tr,
		"trailersTruncated", c->trailers.truncated,
		"messageTruncated", c->trailers.message_truncated,
		"signed", c->is_signed,
		"signature", str_or_null(c->signature_kind),
		"agent", c->agent,
		"agents", agents_json(c),
		"buildFilesTruncated", c->files_truncated,
		"buildFiles", files,
		"buildFilesError", str_or_null(c->files_error),
		"touchedBuild", c->n_files > 0);
}

json_t *rv_report_provenance(const rv_git_result *res)
{
	json_t *recent;
	size_t i;

	if (res->status == RV_GIT_NO_REVISION)
		return json_pack("{s:s, s:s*}", "status", "no-revision", "message", res->message);
	if (res->status == RV_GIT_FAILED)
		return json_pack("{s:s, s:s*, s:s*}", "status", "error",
			"message", res->message, "repository", res->repository);
	recent = json_array();
	for (i = 0; recent && i < res->n_recent; i++)
		json_array_append_new(recent, commit_json(&res->recent[i]));
	return json_pack("{s:s, s:s, s:s, s:o, s:b, s:b, s:b, s:{s:i, s:i, s:i, s:s, s:b, s:o}}",
		"status", "ok",
		"repository", res->repository, "revision", res->revision,
		"commit", commit_json(&res->commit),
		"touchedBuild", res->commit.n_files > 0,
		"agentTouchedBuild", res->agent_touched_build,
		"signaturesVerified", 0,
		"lookback",
		"limit", (int)res->lookback_limit,
		"scanned", (int)res->lookback_scanned,
		"skipped", (int)res->lookback_skipped,
		"history", "full",
		"shallow", res->lookback_shallow,
		"commits", recent);
}
