/* cmd_decode.c - `runtime-verifier decode LOG`: a probe log back to a manifest (or its package databases) */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "core/dbset.h"
#include "core/frame.h"
#include "core/summary.h"
#include "core/manifest.h"
#include "sources/sbom/sbom.h"
#include "sources/sbom/sbom_cdx.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/sha256.h"
#include "util/banned.h"

/* A probe log is base64 of a compressed manifest plus other log lines. */
#define LOG_MAX ((size_t)RV_FRAME_MAX_RAW * 2)

#ifndef RV_VERSION
#define RV_VERSION "0.1.0-dev"
#endif

static const char *const formats[] = { "manifest", "sha256sum", "json", NULL };
/* --packages: the formats of `runtime-verifier sbom`, and the set itself */
enum { PKG_CDX, PKG_TEXT, PKG_DBSET };
static const char *const pkg_formats[] = { "cyclonedx-json", "text", "dbset", NULL };

static void usage(FILE *f)
{
	fputs(
"usage: runtime-verifier decode [LOGFILE|-] [options]\n"
"       runtime-verifier decode --packages [LOGFILE|-] [options]\n"
"\n"
"Decode the manifest that rv-probe wrote to its log (standard input when\n"
"LOGFILE is \"-\" or absent). Every check of the frame must pass (header,\n"
"line sequence, base64, lengths, sha256): nothing is printed otherwise.\n"
"With --packages, decode the package database frame of `rv-probe\n"
"--packages` instead and catalogue its packages as `runtime-verifier sbom`\n"
"does.\n"
"\n"
"  --summary FILE    the probe's termination message: fail unless its\n"
"                    root hash (--packages: its dbset digest) equals the\n"
"                    decoded one\n"
"  --format F        manifest (default: the canonical manifest),\n"
"                    sha256sum (paths as \"./app/x\"), or json;\n"
"                    --packages: cyclonedx-json (default), text, or\n"
"                    dbset (the set's canonical bytes)\n"
"  --packages        the package databases, not the manifest\n"
"  -h, --help        show this help\n"
"\n"
"Exit status: 0 decoded, 1 decoded but the probe could not read some\n"
"entries (incomplete; --packages: some databases), 2 error (bad or\n"
"truncated log, summary mismatch), 64 bad command line.\n", f);
}

/* Check the termination message against the decoded root hash (or,
 * for packages, the decoded set's digest). */
static int check_summary(const char *cmd, const char *file,
	const unsigned char root[RV_SHA256_LEN], int packages)
{
	char want[RV_SHA256_HEX], got[RV_SHA256_HEX];
	char *text = NULL;
	size_t len = 0;
	rv_summary sum;
	int rc = RV_EXIT_FAIL;

	if (cli_read_file(&text, &len, file, RV_SUMMARY_MAX * 2) < 0) {
		cli_fail(cmd);
		goto cleanup;
	}
	if (rv_summary_parse(&sum, text, len) < 0) {
		rv_error_prefix(RV_EFORMAT, "summary '%s'", file);
		cli_fail(cmd);
		goto cleanup;
	}
	if (packages && !sum.has_dbset) {
		cli_msg(cmd, "summary '%s' has no dbset digest (the probe ran "
			"without --packages)", file);
		goto cleanup;
	}
	if (memcmp(packages ? sum.dbset : sum.root, root, RV_SHA256_LEN) != 0) {
		rv_sha256_to_hex(want, packages ? sum.dbset : sum.root);
		rv_sha256_to_hex(got, root);
		cli_msg(cmd, "%s mismatch: summary '%s' says %s, the log "
			"decodes to %s", packages ? "dbset digest" : "root hash",
			file, want, got);
		goto cleanup;
	}
	rc = RV_EXIT_OK;
cleanup:
	free(text);
	return rc;
}

/* decode --packages: the set as a catalogue (the writers of `sbom`) or
 * as its canonical bytes, to out. */
static int packages_output(const char *cmd, rv_buf *out, const rv_dbset *set,
	int format, const char *file)
{
	rv_sbom_cdx_meta meta;
	rv_sbom *s = NULL;
	int rc;

	if (format == PKG_DBSET) {
		if (rv_dbset_serialize(out, set) < 0)
			return cli_fail(cmd);
		return RV_EXIT_OK;
	}
	if ((rc = rv_sbom_new(&s)) < 0 || (rc = rv_sbom_feed_dbset(s, set)) < 0 ||
	    (rc = rv_sbom_finish(s)) < 0)
		goto cleanup;
	memset(&meta, 0, sizeof(meta));
	meta.type = "container";
	meta.name = file;
	meta.tool_version = RV_VERSION;
	rc = format == PKG_TEXT ? rv_sbom_text_write(out, s) :
		rv_sbom_cdx_write(out, s, &meta);
	/* The warnings are in the output (text lines, BOM properties). */
	if (rc >= 0 && s->nwarnings + s->warnings_dropped)
		cli_msg(cmd, "%zu package database%s could not be read or parsed "
			"(listed as warnings)", s->nwarnings + s->warnings_dropped,
			s->nwarnings + s->warnings_dropped == 1 ? "" : "s");
cleanup:
	rv_sbom_free(s);
	return rc < 0 ? cli_fail(cmd) : RV_EXIT_OK;
}

int cmd_decode(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "summary", required_argument, NULL, 's' },
		{ "format", required_argument, NULL, 'f' },
		{ "packages", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *cmd = "decode", *file = "-", *summary = NULL, *fmt = NULL;
	unsigned char root[RV_SHA256_LEN];
	rv_buf out = RV_BUF_INIT(SIZE_MAX);
	rv_manifest *m = NULL;
	rv_dbset *set = NULL;
	char *log = NULL;
	size_t len = 0;
	int format = CLI_OUT_MANIFEST, packages = 0, c, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			summary = optarg;
			break;
		case 'f':
			fmt = optarg;
			break;
		case 'P':
			packages = 1;
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
	if (optind < argc)
		file = argv[optind];
	if (optind + 1 < argc) {
		rc = cli_usage_error(cmd, "unexpected argument '%s'",
			argv[optind + 1]);
		goto cleanup;
	}
	if (packages)
		format = PKG_CDX;
	if (fmt && (rc = cli_parse_format(cmd, fmt, packages ? pkg_formats :
			formats, &format)) != 0)
		goto cleanup;
	if (summary && !strcmp(summary, "-") && !strcmp(file, "-")) {
		rc = cli_usage_error(cmd, "the log and --summary cannot both "
			"be standard input");
		goto cleanup;
	}

	if (cli_read_file(&log, &len, file, LOG_MAX) < 0) {
		rc = cli_fail(cmd);
		goto cleanup;
	}
	if (packages) {
		/* the summary carries the comparable digest (less mount points) */
		if (rv_frame_decode_dbset(&set, NULL, log, len, 0) < 0 ||
		    rv_dbset_digest_comparable(root, set) < 0) {
			rv_error_prefix(RV_EFORMAT, "'%s'", file);
			rc = cli_fail(cmd);
			goto cleanup;
		}
		if (summary && (rc = check_summary(cmd, summary, root, 1)) != RV_EXIT_OK)
			goto cleanup;
		if ((rc = packages_output(cmd, &out, set, format, file)) != RV_EXIT_OK ||
		    (rc = cli_write_out(cmd, &out)) != RV_EXIT_OK)
			goto cleanup;
		rc = set->failed ? RV_EXIT_DRIFT : RV_EXIT_OK;
		goto cleanup;
	}
	if (rv_frame_decode(&m, root, log, len, 0) < 0) {
		rv_error_prefix(RV_EFORMAT, "'%s'", file);
		rc = cli_fail(cmd);
		goto cleanup;
	}
	if (summary && (rc = check_summary(cmd, summary, root, 0)) != RV_EXIT_OK)
		goto cleanup;
	if (cli_manifest_output(&out, m, format, "/") < 0) {
		rc = cli_fail(cmd);
		goto cleanup;
	}
	if ((rc = cli_write_out(cmd, &out)) != RV_EXIT_OK)
		goto cleanup;
	rc = cli_report_unreadable(cmd, m) ? RV_EXIT_DRIFT : RV_EXIT_OK;
cleanup:
	rv_buf_dispose(&out);
	rv_manifest_free(m);
	rv_dbset_free(set);
	free(log);
	return rc;
}
