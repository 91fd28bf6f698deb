/* verdict.c - is this drift? Findings, drift group and verdict from a comparison (pure) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/manifest.h"
#include "pipeline/verdict.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/sha256.h"
#include "util/banned.h"

static const char *const names[RV_VERDICT_COUNT] = {
	[RV_VERDICT_CLEAN] = "clean",
	[RV_VERDICT_DRIFT] = "drift",
	[RV_VERDICT_INCOMPLETE] = "incomplete",
	[RV_VERDICT_UNVERIFIABLE] = "unverifiable",
	[RV_VERDICT_SKIPPED] = "skipped",
};

const char *rv_verdict_name(rv_verdict v)
{
	return (unsigned)v < RV_VERDICT_COUNT ? names[v] : NULL;
}

int rv_verdict_parse(rv_verdict *out, const char *s)
{
	int v;

	for (v = 0; s && v < RV_VERDICT_COUNT; v++)
		if (!strcmp(s, names[v])) {
			*out = (rv_verdict)v;
			return RV_OK;
		}
	return rv_error_set(RV_EINVAL, "unknown verdict '%.40s'", s ? s : "(none)");
}

/* One file change into the drift group's hash: what, the path, and the
 * runtime side's digest, mode, owner and type. */
static void group_change(rv_sha256 *h, const rv_diff_change *c, const rv_buf *path)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "%u|", c->what);

	rv_sha256_update(h, line, (size_t)n);
	rv_sha256_update(h, path->ptr ? path->ptr : "", path->len + 1);
	if (c->b && c->b->has_digest)
		rv_sha256_update(h, c->b->digest, RV_SHA256_LEN);
	n = snprintf(line, sizeof(line), "%o|%u|%u|%d\n", c->b ? c->b->mode : 0,
		c->b ? c->b->uid : 0, c->b ? c->b->gid : 0, c->b ? (int)c->b->type : -1);
	rv_sha256_update(h, line, (size_t)n);
}

static json_t *file_finding(const rv_diff_change *c, const rv_buf *path, const rv_buf *det)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:b}",
		"kind", rv_diff_kind_name(c), "path", path->ptr ? path->ptr : "",
		"severity", rv_severity_name(c->severity),
		"details", det->ptr ? det->ptr : "", "executable", c->executable,
		"elf", c->elf, "setidGained", c->setid_gained);
}

int rv_verdict_findings(rv_cresult *cr, const rv_diff *d, const rv_pkgcheck *pc,
	const char *pkg_not_checked)
{
	rv_tally *t = &cr->tally;
	json_t *list = json_array();
	rv_buf det = RV_BUF_INIT(4096), path = RV_BUF_INIT(1 << 16);
	unsigned char g[RV_SHA256_LEN];
	size_t i, nd = d ? d->count : 0, np = pc ? json_array_size(pc->findings) : 0;
	const char *digest = cr->image_digest ? cr->image_digest : "";
	rv_sha256 h;
	int hash_ok = rv_sha256_init(&h) == RV_OK, rc = RV_OK;

	if (!list) {
		rc = rv_error_set(RV_ENOMEM, "out of memory");
		goto cleanup;
	}
	if (hash_ok)
		rv_sha256_update(&h, digest, strlen(digest) + 1);
	for (i = 0; i < nd; i++) {
		const rv_diff_change *c = &d->changes[i];
		const rv_manifest_entry *e = rv_diff_entry(c);

		rv_buf_reset(&path);
		rv_buf_reset(&det);
		rv_manifest_escape(&path, e->path, e->path_len);
		rv_diff_describe(&det, c);
		if (hash_ok)
			group_change(&h, c, &path);
		if (i < RV_RESULT_MAX_FINDINGS)
			json_array_append_new(list, file_finding(c, &path, &det));
	}
	for (i = 0; i < np && nd + i < RV_RESULT_MAX_FINDINGS; i++)
		json_array_append(list, json_array_get(pc->findings, i));
	if (pc && hash_ok && pc->changes_text.len) {
		rv_sha256_update(&h, "packages\n", 9);
		rv_sha256_update(&h, pc->changes_text.ptr, pc->changes_text.len);
	}

	t->findings = nd + np;
	for (i = 0; i < RV_SEV_COUNT; i++)
		t->by_severity[i] = (d ? d->by_severity[i] : 0) + (pc ? pc->by_severity[i] : 0);
	t->allowed = d ? d->allowed : 0;
	t->masked = (d ? d->masked : 0) + (pc ? pc->masked : 0);
	t->unknown = d ? d->unknown : 0;
	t->file_changes = nd;
	t->file_errors = d ? d->errors_a + d->errors_b : 0;
	t->pkg_checked = pc != NULL;
	t->pkg_changes = pc ? pc->added + pc->removed + pc->changed + pc->db_changed : 0;
	t->pkg_complete = pc && rv_pkgcheck_complete(pc);
	cr->pkg_not_checked = pkg_not_checked;
	json_decref(cr->findings);
	cr->findings = list;
	list = NULL;
	json_decref(cr->pkg_summary);
	cr->pkg_summary = pc ? json_incref(pc->summary) : NULL;
	cr->group[0] = '\0';
	if (hash_ok && rv_sha256_final(&h, g) == RV_OK)
		rv_sha256_to_hex(cr->group, g);
	cr->compared = 1;
cleanup:
	json_decref(list);
	rv_buf_dispose(&det);
	rv_buf_dispose(&path);
	return rc;
}

int rv_verdict_decide(rv_cresult *cr)
{
	const rv_tally *t = &cr->tally;
	int file_drift = t->file_changes > t->file_errors;
	int file_open = !t->files_complete || t->file_errors || t->unknown;
	int pkg_drift = t->pkg_checked && t->pkg_changes > 0;
	int pkg_open = t->packages && (!t->pkg_checked || !t->pkg_complete);
	char reason[1024];

	cr->cause = RV_CAUSE_NONE;
	cr->incomplete = 0;
	free(cr->reason);
	cr->reason = NULL;
	if (file_drift || pkg_drift) {
		cr->verdict = RV_VERDICT_DRIFT;
		cr->incomplete = file_open || pkg_open;
		return RV_OK;
	}
	cr->group[0] = '\0';
	if (!file_open && !pkg_open) {
		cr->verdict = RV_VERDICT_CLEAN;
		return RV_OK;
	}
	cr->verdict = RV_VERDICT_INCOMPLETE;
	snprintf(reason, sizeof(reason), "%s%s%s",
		file_open ? "some entries could not be read; see the findings" : "",
		file_open && pkg_open ? "; " : "",
		!pkg_open ? "" : cr->pkg_not_checked ? cr->pkg_not_checked :
		"some package databases could not be read; see the findings");
	return rv_result_set_str(&cr->reason, reason);
}
