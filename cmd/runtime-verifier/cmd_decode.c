/* cmd_decode.c - `runtime-verifier decode LOG`: a probe log back to a manifest */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "core/frame.h"
#include "core/manifest.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/sha256.h"
#include "util/banned.h"

/* A probe log is base64 of a compressed manifest plus other log lines. */
#define LOG_MAX ((size_t)RV_FRAME_MAX_RAW * 2)

static const char *const formats[] = { "manifest", "sha256sum", "json", NULL };

static void usage(FILE *f)
{
	fputs(
"usage: runtime-verifier decode [LOGFILE|-] [options]\n"
"\n"
"Decode the manifest that rv-probe wrote to its log (standard input when\n"
"LOGFILE is \"-\" or absent). Every check of the frame must pass (header,\n"
"line sequence, base64, lengths, sha256): nothing is printed otherwise.\n"
"\n"
"  --summary FILE    the probe's termination message: fail unless its\n"
"                    root hash equals the decoded manifest's\n"
"  --format F        manifest (default: the canonical manifest),\n"
"                    sha256sum (paths as \"./app/x\"), or json\n"
"  -h, --help        show this help\n"
"\n"
"Exit status: 0 decoded, 1 decoded but the probe could not read some\n"
"entries (incomplete), 2 error (bad or truncated log, summary mismatch),\n"
"64 bad command line.\n", f);
}

/* Check the termination message against the decoded root hash. */
static int check_summary(const char *cmd, const char *file,
	const unsigned char root[RV_SHA256_LEN])
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
	if (memcmp(sum.root, root, RV_SHA256_LEN) != 0) {
		rv_sha256_to_hex(want, sum.root);
		rv_sha256_to_hex(got, root);
		cli_msg(cmd, "root hash mismatch: summary '%s' says %s, the log "
			"decodes to %s", file, want, got);
		goto cleanup;
	}
	rc = RV_EXIT_OK;
cleanup:
	free(text);
	return rc;
}

int cmd_decode(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "summary", required_argument, NULL, 's' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *cmd = "decode", *file = "-", *summary = NULL;
	unsigned char root[RV_SHA256_LEN];
	rv_buf out = RV_BUF_INIT(SIZE_MAX);
	rv_manifest *m = NULL;
	char *log = NULL;
	size_t len = 0;
	int format = CLI_OUT_MANIFEST, c, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			summary = optarg;
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
			rc = cli_usage_error(cmd, "option '%s' needs a value",
				argv[optind - 1]);
			goto cleanup;
		default:
			rc = cli_usage_error(cmd, "unknown option '%s'",
				argv[optind - 1]);
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
	if (summary && !strcmp(summary, "-") && !strcmp(file, "-")) {
		rc = cli_usage_error(cmd, "the log and --summary cannot both "
			"be standard input");
		goto cleanup;
	}

	if (cli_read_file(&log, &len, file, LOG_MAX) < 0) {
		rc = cli_fail(cmd);
		goto cleanup;
	}
	if (rv_frame_decode(&m, root, log, len, 0) < 0) {
		rv_error_prefix(RV_EFORMAT, "'%s'", file);
		rc = cli_fail(cmd);
		goto cleanup;
	}
	if (summary && (rc = check_summary(cmd, summary, root)) != RV_EXIT_OK)
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
	free(log);
	return rc;
}
