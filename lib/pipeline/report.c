/* report.c - the verify report for people, and its exit code */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/manifest.h"
#include "pipeline/report.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/banned.h"

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

static json_int_t num(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

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

int rv_report_text(rv_buf *out, json_t *report)
{
	json_t *sum = json_object_get(report, "summary"), *pod, *c, *f, *g, *e;
	json_t *seen = json_object();
	size_t i, j, k;
	int rc = RV_OK;

	line(out, "runtime-verifier run %s on %s\n", str(report, "runId"), str(report, "cluster"));
	line(out, "%lld pods, %lld containers: %lld clean, %lld drift, %lld incomplete, %lld unverifiable, %lld skipped\n\n",
		(long long)num(sum, "pods"), (long long)num(sum, "containers"),
		(long long)num(sum, "clean"), (long long)num(sum, "drift"),
		(long long)num(sum, "incomplete"), (long long)num(sum, "unverifiable"),
		(long long)num(sum, "skipped"));
	json_array_foreach(json_object_get(report, "errors"), i, e) {
		rv_buf_puts(out, "error: ");
		put_safe(out, json_string_value(e) ? json_string_value(e) : "", 2000);
		rv_buf_putc(out, '\n');
	}
	if (json_array_size(json_object_get(report, "errors")))
		rv_buf_putc(out, '\n');

	/* 1. is each pod running what CI built? */
	line(out, "%-40s %-14s %-13s %-9s %s\n", "POD/CONTAINER", "VERDICT", "IMAGE", "FINDINGS", "AGENT");
	json_array_foreach(json_object_get(report, "pods"), i, pod) {
		json_array_foreach(json_object_get(pod, "containers"), j, c) {
			json_t *prov = json_object_get(c, "provenance");
			char who[512], img[16] = "-", agent[32] = "-", nf[32] = "-";
			const char *d = str(c, "imageDigest");

			snprintf(who, sizeof(who), "%s/%s/%s", str(pod, "namespace"), str(pod, "name"), str(c, "name"));
			if (strlen(d) > 19)
				snprintf(img, sizeof(img), "%.12s", d + 7);
			if (json_object_get(c, "counts"))
				snprintf(nf, sizeof(nf), "%lld", (long long)num(json_object_get(c, "counts"), "findings"));
			if (prov && !strcmp(str(prov, "status"), "ok"))
				snprintf(agent, sizeof(agent), "%s",
					json_is_true(json_object_get(prov, "agentTouchedBuild")) ? "yes" : "no");
			else if (prov)
				snprintf(agent, sizeof(agent), "%s", str(prov, "status"));
			put_safe(out, who, 40);
			for (k = strlen(who) > 40 ? 43 : strlen(who); k < 41; k++)
				rv_buf_putc(out, ' ');
			line(out, "%-14s %-13s %-9s %s\n", str(c, "verdict"), img, nf, agent);
		}
	}

	/* 2. what changed, and why a container could not be verified */
	json_array_foreach(json_object_get(report, "pods"), i, pod) {
		json_array_foreach(json_object_get(pod, "containers"), j, c) {
			const char *v = str(c, "verdict");
			json_t *claims = json_object_get(c, "claims");

			if (!strcmp(v, "clean") && !json_array_size(claims))
				continue;
			if (!strcmp(v, "skipped"))
				continue;
			line(out, "\n%s/%s/%s: %s", str(pod, "namespace"), str(pod, "name"), str(c, "name"), v);
			if (*str(c, "reason")) {
				rv_buf_puts(out, ": ");
				put_safe(out, str(c, "reason"), 600);
			}
			rv_buf_putc(out, '\n');
			json_array_foreach(claims, k, f) {
				line(out, "  claim  %-6s %s: ", str(f, "severity"), str(f, "kind"));
				put_safe(out, str(f, "message"), 400);
				rv_buf_putc(out, '\n');
			}
			json_array_foreach(json_object_get(c, "findings"), k, f) {
				if (k >= 15) {
					line(out, "  ... %zu more findings in the JSON report\n",
						json_array_size(json_object_get(c, "findings")) - k +
						(size_t)num(c, "findingsTruncated"));
					break;
				}
				line(out, "  %-6s %-10s %s  ", str(f, "severity"), str(f, "kind"), str(f, "path"));
				put_safe(out, str(f, "details"), 300);
				rv_buf_putc(out, '\n');
			}
		}
	}

	/* 3. did an agent touch the build? once per revision */
	json_array_foreach(json_object_get(report, "pods"), i, pod) {
		json_array_foreach(json_object_get(pod, "containers"), j, c) {
			json_t *prov = json_object_get(c, "provenance"), *rc2;

			if (!prov || !json_is_true(json_object_get(prov, "agentTouchedBuild")) ||
			    json_object_get(seen, str(prov, "revision")))
				continue;
			json_object_set_new(seen, str(prov, "revision"), json_true());
			line(out, "\nagent in the build of %s/%s/%s (revision %.12s):\n",
				str(pod, "namespace"), str(pod, "name"), str(c, "name"), str(prov, "revision"));
			json_array_foreach(json_object_get(json_object_get(prov, "lookback"), "commits"), k, rc2) {
				json_t *t;
				size_t m;

				if (!json_is_true(json_object_get(rc2, "agent")))
					continue;
				line(out, "  %.12s ", str(rc2, "id"));
				put_safe(out, str(rc2, "summary"), 80);
				rv_buf_putc(out, '\n');
				json_array_foreach(json_object_get(rc2, "trailers"), m, t) {
					if (!*str(t, "agent"))
						continue;
					rv_buf_puts(out, "      ");
					put_safe(out, str(t, "key"), 40);
					rv_buf_puts(out, ": ");
					put_safe(out, str(t, "name"), 80);
					line(out, " (%s)\n", str(t, "agent"));
				}
			}
		}
	}

	/* 4. how many pods show the same drift? */
	if (json_array_size(json_object_get(report, "aggregation")))
		rv_buf_puts(out, "\nsame drift across pods:\n");
	json_array_foreach(json_object_get(report, "aggregation"), i, g) {
		line(out, "  group %s: %lld containers, %lld findings each, image %.19s\n",
			str(g, "id"), (long long)num(g, "count"), (long long)num(g, "findings"),
			str(g, "imageDigest"));
	}
	json_decref(seen);
	if (out->len == 0)
		rc = rv_error_set(RV_ENOMEM, "out of memory");
	return rc;
}

int rv_report_exit_code(json_t *report, int fail_on_drift)
{
	json_t *sum = json_object_get(report, "summary");

	if (!report || json_array_size(json_object_get(report, "errors")) ||
	    num(sum, "unverifiable") || num(sum, "incomplete"))
		return 2;
	if (fail_on_drift && num(sum, "drift"))
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
