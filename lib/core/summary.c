/* summary.c - the probe's one-line summary on its termination message */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/summary.h"
#include "util/cursor.h"
#include "util/error.h"
#include "util/sha256.h"
#include "util/banned.h"

#define SUMMARY_TAG "rv-probe "
#define SUMMARY_ERROR_MAX 1024

int rv_summary_format_dbset(rv_buf *out, const rv_manifest *m,
	const rv_dbset *set)
{
	unsigned char root[RV_SHA256_LEN], dig[RV_SHA256_LEN];
	char hex[RV_SHA256_HEX], dhex[RV_SHA256_HEX];
	rv_manifest_stats st;
	size_t start = out->len;
	int rc;

	if ((rc = rv_manifest_root_hash(root, m)) < 0)
		return rc;
	if (set && (rc = rv_dbset_digest_comparable(dig, set)) < 0)
		return rc;
	rv_sha256_to_hex(hex, root);
	rv_manifest_stats_get(&st, m);
	rc = rv_buf_printf(out, SUMMARY_TAG "%d root=%s entries=%zu files=%zu "
		"dirs=%zu symlinks=%zu others=%zu mounts=%zu errors=%zu "
		"bytes=%llu status=%s", RV_FRAME_VERSION, hex, st.entries,
		st.files, st.dirs, st.symlinks, st.others, st.mounts, st.errors,
		(unsigned long long)st.bytes,
		st.errors ? "incomplete" : "complete");
	if (rc >= 0 && set) {
		rv_sha256_to_hex(dhex, dig);
		rc = rv_buf_printf(out, " dbset=%s dbfiles=%zu dbfailed=%zu",
			dhex, set->n, set->failed);
	}
	if (rc >= 0)
		rc = rv_buf_putc(out, '\n');
	if (rc < 0 && out->ptr) {
		out->len = start;
		out->ptr[start] = '\0';
	}
	return rc;
}

int rv_summary_format(rv_buf *out, const rv_manifest *m)
{
	return rv_summary_format_dbset(out, m, NULL);
}

int rv_summary_format_error(rv_buf *out, const char *msg)
{
	size_t i, n = strlen(msg);
	int rc;

	if (n > SUMMARY_ERROR_MAX)
		n = SUMMARY_ERROR_MAX;
	if ((rc = rv_buf_printf(out, SUMMARY_TAG "%d error=", RV_FRAME_VERSION)) < 0)
		return rc;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)msg[i];

		if ((rc = rv_buf_putc(out, ch >= 0x20 && ch < 0x7f ?
			(char)ch : '?')) < 0)
			return rc;
	}
	return rv_buf_putc(out, '\n');
}

int rv_summary_parse(rv_summary *out, const char *text, size_t len)
{
	rv_summary s;
	rv_cursor c;
	uint64_t v;
	size_t i;

	memset(&s, 0, sizeof(s));
	if (len > 0 && text[len - 1] == '\n')
		len--;
	if (len + 1 > RV_SUMMARY_MAX)
		return rv_error_set(RV_EFORMAT, "summary longer than %d bytes",
			RV_SUMMARY_MAX - 1);
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)text[i];

		if (ch < 0x20 || ch >= 0x7f)
			return rv_error_set(RV_EFORMAT, "summary holds a control "
				"or non-ASCII byte at offset %zu", i);
	}
	c.p = text;
	c.end = text + len;
	if (!rv_cursor_lit(&c, SUMMARY_TAG) || !rv_cursor_u64(&c, &v) || !rv_cursor_lit(&c, " "))
		return rv_error_set(RV_EFORMAT, "not an rv-probe summary line");
	if (v != RV_FRAME_VERSION)
		return rv_error_set(RV_EUNSUPPORTED, "summary version %llu not "
			"supported (this build reads version %d)",
			(unsigned long long)v, RV_FRAME_VERSION);
	s.version = (int)v;
	if (rv_cursor_lit(&c, "error=")) {
		if (rv_cursor_done(&c))
			return rv_error_set(RV_EFORMAT, "summary: empty error "
				"message");
		return rv_error_set(RV_ERROR, "probe failed: %.*s",
			(int)(c.end - c.p), c.p);
	}
	if (!(rv_cursor_lit(&c, "root=") && rv_cursor_hex(&c, s.root) &&
	      rv_cursor_lit(&c, " entries=") && rv_cursor_size(&c, &s.stats.entries) &&
	      rv_cursor_lit(&c, " files=") && rv_cursor_size(&c, &s.stats.files) &&
	      rv_cursor_lit(&c, " dirs=") && rv_cursor_size(&c, &s.stats.dirs) &&
	      rv_cursor_lit(&c, " symlinks=") && rv_cursor_size(&c, &s.stats.symlinks) &&
	      rv_cursor_lit(&c, " others=") && rv_cursor_size(&c, &s.stats.others) &&
	      rv_cursor_lit(&c, " mounts=") && rv_cursor_size(&c, &s.stats.mounts) &&
	      rv_cursor_lit(&c, " errors=") && rv_cursor_size(&c, &s.stats.errors) &&
	      rv_cursor_lit(&c, " bytes=") && rv_cursor_u64(&c, &s.stats.bytes) &&
	      rv_cursor_lit(&c, " status=")))
		return rv_error_set(RV_EFORMAT, "malformed summary near offset "
			"%zu", (size_t)(c.p - text));
	if (rv_cursor_lit(&c, "complete"))
		s.complete = 1;
	else if (rv_cursor_lit(&c, "incomplete"))
		s.complete = 0;
	else
		return rv_error_set(RV_EFORMAT, "summary: unknown status");
	/* --packages: the package database set's digest and counts. */
	if (rv_cursor_lit(&c, " dbset=")) {
		if (!(rv_cursor_hex(&c, s.dbset) &&
		      rv_cursor_lit(&c, " dbfiles=") && rv_cursor_size(&c, &s.dbfiles) &&
		      rv_cursor_lit(&c, " dbfailed=") && rv_cursor_size(&c, &s.dbfailed)))
			return rv_error_set(RV_EFORMAT, "malformed summary near "
				"offset %zu", (size_t)(c.p - text));
		if (s.dbfailed > s.dbfiles)
			return rv_error_set(RV_EFORMAT, "summary: dbfailed=%zu is "
				"more than dbfiles=%zu", s.dbfailed, s.dbfiles);
		s.has_dbset = 1;
	}
	if (!rv_cursor_done(&c))
		return rv_error_set(RV_EFORMAT, "summary: trailing bytes after "
			"status");
	/* The counts must add up the way rv_manifest_stats_get counts. */
	if (s.stats.files > s.stats.entries ||
	    s.stats.dirs > s.stats.entries - s.stats.files ||
	    s.stats.symlinks > s.stats.entries - s.stats.files - s.stats.dirs ||
	    s.stats.others > s.stats.entries - s.stats.files - s.stats.dirs -
		s.stats.symlinks ||
	    s.stats.mounts != s.stats.entries - s.stats.files - s.stats.dirs -
		s.stats.symlinks - s.stats.others)
		return rv_error_set(RV_EFORMAT, "summary: files, dirs, symlinks, "
			"others and mounts do not add up to entries");
	if (s.stats.errors > s.stats.entries)
		return rv_error_set(RV_EFORMAT, "summary: more errors than "
			"entries");
	if (s.complete != (s.stats.errors == 0))
		return rv_error_set(RV_EFORMAT, "summary: status=%s contradicts "
			"errors=%zu", s.complete ? "complete" : "incomplete",
			s.stats.errors);
	*out = s;
	return RV_OK;
}
