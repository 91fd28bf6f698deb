/* cmd_diff.c - `runtime-verifier diff A B`: what changed between two manifests */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "commands.h"
#include "core/diff.h"
#include "core/frame.h"
#include "core/glob.h"
#include "core/manifest.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/sha256.h"
#include "util/banned.h"

/* A manifest, or a probe log: base64 of a compressed one. */
#define INPUT_MAX ((size_t)RV_FRAME_MAX_RAW * 2)

enum { FMT_TEXT, FMT_JSON };
static const char *const formats[] = { "text", "json", NULL };

static const char *const cmd = "diff";

static void usage(FILE *f)
{
	fputs(
"usage: runtime-verifier diff A B [options]\n"
"\n"
"Compare manifest A (the reference, e.g. the image) with manifest B (e.g.\n"
"the running container). Each of A and B is a canonical manifest\n"
"(`runtime-verifier fingerprint` output) or a probe log (the frame is\n"
"found and decoded); \"-\" reads one of them from standard input.\n"
"\n"
"  --allow GLOB      do not report changes at paths matching GLOB, or\n"
"                    below them (repeatable)\n"
"  --format F        text (default: one line per change and a summary)\n"
"                    or json\n"
"  -h, --help        show this help\n"
"\n"
"Exit status: 0 no change, 1 changes found or entries that could not be\n"
"read (incomplete), 2 error, 64 bad command line.\n", f);
}

typedef struct input {
	const char *file;
	rv_manifest *m;
	unsigned char root[RV_SHA256_LEN];
	int is_log;
} input;

static int has_prefix(const char *data, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && memcmp(data, prefix, n) == 0;
}

/* Read in->file as a manifest or a probe log; lib error set on failure. */
static int load(input *in)
{
	char *data = NULL;
	size_t len = 0;
	int rc;

	if ((rc = cli_read_file(&data, &len, in->file, INPUT_MAX)) < 0)
		goto cleanup;
	if (has_prefix(data, len, RV_MANIFEST_MAGIC " ")) {
		if ((rc = rv_manifest_parse(&in->m, data, len)) < 0) {
			rv_error_prefix(rc, "'%s'", in->file);
			goto cleanup;
		}
		rc = rv_manifest_root_hash(in->root, in->m);
	} else if (memmem(data, len, "rv-frame ", 9)) {
		in->is_log = 1;
		if ((rc = rv_frame_decode(&in->m, in->root, data, len, 0)) < 0)
			rv_error_prefix(rc, "'%s'", in->file);
	} else {
		rc = rv_error_set(RV_EFORMAT, "'%s' is neither a manifest (no "
			"'%s' header) nor a probe log (no frame)", in->file,
			RV_MANIFEST_MAGIC);
	}
cleanup:
	free(data);
	return rc;
}

static int summary_line(rv_buf *out, const rv_diff *d)
{
	int rc;

	if (d->count == 0)
		rc = rv_buf_puts(out, "no changes");
	else
		rc = rv_buf_printf(out, "%zu %s: %zu high, %zu medium, %zu low, "
			"%zu info", d->count, d->count == 1 ? "change" : "changes",
			d->by_severity[RV_SEV_HIGH], d->by_severity[RV_SEV_MEDIUM],
			d->by_severity[RV_SEV_LOW], d->by_severity[RV_SEV_INFO]);
	if (rc >= 0 && d->allowed)
		rc = rv_buf_printf(out, "; %zu allowed", d->allowed);
	if (rc >= 0 && d->masked)
		rc = rv_buf_printf(out, "; %zu under mounts", d->masked);
	if (rc >= 0 && d->unknown)
		rc = rv_buf_printf(out, "; %zu not comparable (unreadable "
			"directory)", d->unknown);
	if (rc >= 0 && (d->errors_a || d->errors_b))
		rc = rv_buf_printf(out, "; incomplete: %zu unreadable in A, "
			"%zu in B", d->errors_a, d->errors_b);
	if (rc >= 0)
		rc = rv_buf_putc(out, '\n');
	return rc;
}

static int render_text(rv_buf *out, const rv_diff *d)
{
	rv_buf esc = RV_BUF_INIT((size_t)1 << 20);
	const rv_diff_change *c;
	const rv_manifest_entry *e;
	size_t i;
	int rc = RV_OK;

	for (i = 0; i < d->count && rc >= 0; i++) {
		c = &d->changes[i];
		e = rv_diff_entry(c);
		if ((rc = rv_buf_printf(out, "%s %s %s (",
				rv_severity_name(c->severity),
				rv_diff_kind_name(c),
				cli_esc(&esc, e->path, e->path_len))) < 0 ||
		    (rc = rv_diff_describe(out, c)) < 0)
			break;
		rc = rv_buf_puts(out, ")\n");
	}
	if (rc >= 0)
		rc = summary_line(out, d);
	rv_buf_dispose(&esc);
	return rc;
}

/* A file name as a JSON string, escaped when it is not UTF-8. */
static json_t *json_name(const char *s)
{
	rv_buf esc = RV_BUF_INIT((size_t)1 << 20);
	json_t *j = json_string(s);

	if (!j && rv_manifest_escape(&esc, s, strlen(s)) >= 0)
		j = json_string(esc.ptr ? esc.ptr : "");
	rv_buf_dispose(&esc);
	return j;
}

static json_t *json_side(const input *in)
{
	char hex[RV_SHA256_HEX];

	rv_sha256_to_hex(hex, in->root);
	return json_pack("{s:o,s:s,s:s,s:I}", "file", json_name(in->file),
		"kind", in->is_log ? "probe-log" : "manifest", "root", hex,
		"entries", (json_int_t)in->m->count);
}

static json_t *json_what(unsigned what)
{
	static const struct { unsigned bit; const char *name; } bits[] = {
		{ RV_DIFF_ADDED, "added" }, { RV_DIFF_REMOVED, "removed" },
		{ RV_DIFF_UNREADABLE, "unreadable" }, { RV_DIFF_TYPE, "type" },
		{ RV_DIFF_CONTENT, "content" }, { RV_DIFF_MODE, "mode" },
		{ RV_DIFF_OWNER, "owner" },
	};
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < sizeof(bits) / sizeof(bits[0]); i++)
		if ((what & bits[i].bit) &&
		    json_array_append_new(a, json_string(bits[i].name)) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *json_change(const rv_diff_change *c)
{
	rv_buf details = RV_BUF_INIT((size_t)1 << 16);
	const rv_manifest_entry *e = rv_diff_entry(c);
	json_t *o = NULL;

	if (rv_diff_describe(&details, c) < 0 || !(o = json_object()))
		goto cleanup;
	if (cli_json_set_path(o, e->path, e->path_len) < 0 ||
	    json_object_update_new(o, json_pack(
		"{s:s,s:o,s:s,s:b,s:b,s:b,s:s,s:o,s:o}",
		"kind", rv_diff_kind_name(c), "what", json_what(c->what),
		"severity", rv_severity_name(c->severity),
		"executable", c->executable, "elf", c->elf,
		"setid_gained", c->setid_gained,
		"details", details.ptr ? details.ptr : "",
		"a", c->a ? cli_json_entry(c->a) : json_null(),
		"b", c->b ? cli_json_entry(c->b) : json_null())) < 0) {
		json_decref(o);
		o = NULL;
	}
cleanup:
	rv_buf_dispose(&details);
	return o;
}

static int render_json(rv_buf *out, const rv_diff *d, const input *a,
	const input *b)
{
	json_t *doc = NULL, *list, *c;
	char *text = NULL;
	size_t i;
	int rc = rv_error_set(RV_ENOMEM, "out of memory for the JSON output");

	if (!(list = json_array()))
		goto cleanup;
	for (i = 0; i < d->count; i++)
		if (!(c = json_change(&d->changes[i])) ||
		    json_array_append_new(list, c) < 0) {
			json_decref(list);
			goto cleanup;
		}
	doc = json_pack("{s:s,s:i,s:o,s:o,s:b,s:b,s:o,s:{s:I,s:I,s:I,s:I,"
		"s:I,s:I,s:I,s:I,s:I,s:I}}",
		"format", "rv-diff", "version", 1,
		"a", json_side(a), "b", json_side(b),
		"identical", memcmp(a->root, b->root, RV_SHA256_LEN) == 0,
		"complete", d->errors_a == 0 && d->errors_b == 0,
		"changes", list,
		"counts",
		"changes", (json_int_t)d->count,
		"high", (json_int_t)d->by_severity[RV_SEV_HIGH],
		"medium", (json_int_t)d->by_severity[RV_SEV_MEDIUM],
		"low", (json_int_t)d->by_severity[RV_SEV_LOW],
		"info", (json_int_t)d->by_severity[RV_SEV_INFO],
		"allowed", (json_int_t)d->allowed,
		"masked", (json_int_t)d->masked,
		"unknown", (json_int_t)d->unknown,
		"errors_a", (json_int_t)d->errors_a,
		"errors_b", (json_int_t)d->errors_b);
	if (!doc || !(text = json_dumps(doc, JSON_INDENT(2))))
		goto cleanup;
	if ((rc = rv_buf_puts(out, text)) >= 0)
		rc = rv_buf_putc(out, '\n');
cleanup:
	free(text);
	json_decref(doc);
	return rc;
}

int cmd_diff(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "allow", required_argument, NULL, 'a' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	cli_strv allow = { 0 };
	input a = { 0 }, b = { 0 };
	rv_buf out = RV_BUF_INIT(SIZE_MAX);
	rv_diff *d = NULL;
	int format = FMT_TEXT, c, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			if (rv_glob_check(optarg) < 0) {
				rc = cli_usage_error(cmd, "--allow: %s",
					rv_error_last());
				goto cleanup;
			}
			cli_strv_push(&allow, optarg);
			break;
		case 'f':
			if ((rc = cli_parse_format(cmd, optarg, formats,
					&format)) != 0)
				goto cleanup;
			break;
		case 'h':
			usage(stdout);
			rc = RV_EXIT_OK;
			goto cleanup;
		case ':':
		default:
			rc = cli_getopt_error(cmd, c, argv, optind);
			goto cleanup;
		}
	}
	if (argc - optind < 2) {
		rc = cli_usage_error(cmd, "need two manifests, A and B");
		goto cleanup;
	}
	if (argc - optind > 2) {
		rc = cli_usage_error(cmd, "unexpected argument '%s'",
			argv[optind + 2]);
		goto cleanup;
	}
	a.file = argv[optind];
	b.file = argv[optind + 1];
	if (!strcmp(a.file, "-") && !strcmp(b.file, "-")) {
		rc = cli_usage_error(cmd, "A and B cannot both be standard input");
		goto cleanup;
	}
	if (load(&a) < 0 || load(&b) < 0 ||
	    rv_diff_compute(&d, a.m, b.m, allow.v, allow.n) < 0 ||
	    (format == FMT_JSON ? render_json(&out, d, &a, &b) :
		render_text(&out, d)) < 0) {
		rc = cli_fail(cmd);
		goto cleanup;
	}
	if ((rc = cli_write_out(cmd, &out)) != RV_EXIT_OK)
		goto cleanup;
	if (d->errors_a || d->errors_b)
		cli_msg(cmd, "incomplete: %zu entries of '%s' and %zu of '%s' "
			"could not be read", d->errors_a, a.file, d->errors_b,
			b.file);
	rc = d->count ? RV_EXIT_DRIFT : RV_EXIT_OK;
cleanup:
	rv_buf_dispose(&out);
	rv_diff_free(d);
	rv_manifest_free(a.m);
	rv_manifest_free(b.m);
	cli_strv_dispose(&allow);
	return rc;
}
