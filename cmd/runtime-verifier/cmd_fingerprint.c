/* cmd_fingerprint.c - `runtime-verifier fingerprint DIR`: manifest of a local tree */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "core/glob.h"
#include "core/manifest.h"
#include "core/walk.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/sha256.h"
#include "util/banned.h"

static const char *const formats[] = { "manifest", "sha256sum", "json", NULL };

static void usage(FILE *f)
{
	fputs(
"usage: runtime-verifier fingerprint DIR [options]\n"
"\n"
"Fingerprint the tree under DIR, which stands for \"/\": paths are printed\n"
"as absolute paths inside it (DIR/app/x is \"/app/x\").\n"
"\n"
"  --path P          walk only P, an absolute path inside DIR (repeatable;\n"
"                    default \"/\")\n"
"  --exclude GLOB    leave out paths matching GLOB, and do not descend\n"
"                    into matching directories (repeatable)\n"
"  --cross-mounts    descend into mount points below DIR instead of\n"
"                    recording them as \"mount\"\n"
"  --threads N       hashing threads, 0 to 64 (default 0: one per CPU)\n"
"  --format F        manifest (default: the canonical manifest),\n"
"                    sha256sum (what `find . -type f -print0 | LC_ALL=C\n"
"                    sort -z | xargs -0 sha256sum` prints in DIR, or in\n"
"                    DIR/P with a single --path P), or json\n"
"  -h, --help        show this help\n"
"\n"
"Exit status: 0 complete, 1 some entries could not be read (output still\n"
"written, marked incomplete), 2 error, 64 bad command line.\n", f);
}

/* --- the command --------------------------------------------------------- */

/* Strip trailing slashes ("/app/" -> "/app"), then check the path. */
static int check_path_arg(char *p)
{
	size_t len = strlen(p);

	while (len > 1 && p[len - 1] == '/')
		p[--len] = '\0';
	return rv_manifest_check_path(p, len);
}

static int parse_threads(const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > 64)
		return -1;
	*out = (int)v;
	return 0;
}

int cmd_fingerprint(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "path", required_argument, NULL, 'p' },
		{ "exclude", required_argument, NULL, 'x' },
		{ "cross-mounts", no_argument, NULL, 'm' },
		{ "threads", required_argument, NULL, 't' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *cmd = "fingerprint", *dir, *base = "/";
	cli_strv paths = { 0 }, excludes = { 0 };
	rv_walk_opts opts;
	rv_manifest *m = NULL;
	const rv_manifest_entry *e;
	rv_buf out = RV_BUF_INIT(SIZE_MAX);
	struct stat st;
	int format = CLI_OUT_MANIFEST, threads = 0, cross = 0, c, rc;
	size_t unreadable;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (check_path_arg(optarg) < 0) {
				rc = cli_usage_error(cmd, "--path '%s' is not an "
					"absolute path inside DIR (no '.' or "
					"'..' components)", optarg);
				goto cleanup;
			}
			cli_strv_push(&paths, optarg);
			break;
		case 'x':
			if (rv_glob_check(optarg) < 0) {
				rc = cli_usage_error(cmd, "--exclude: %s",
					rv_error_last());
				goto cleanup;
			}
			cli_strv_push(&excludes, optarg);
			break;
		case 'm':
			cross = 1;
			break;
		case 't':
			if (parse_threads(optarg, &threads) < 0) {
				rc = cli_usage_error(cmd, "--threads '%s' is not "
					"a number from 0 to 64", optarg);
				goto cleanup;
			}
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
	if (optind >= argc) {
		rc = cli_usage_error(cmd, "missing DIR");
		goto cleanup;
	}
	if (optind + 1 < argc) {
		rc = cli_usage_error(cmd, "unexpected argument '%s'",
			argv[optind + 1]);
		goto cleanup;
	}
	dir = argv[optind];
	if (stat(dir, &st) < 0) {
		cli_msg(cmd, "cannot open '%s': %s", dir, strerror(errno));
		rc = RV_EXIT_FAIL;
		goto cleanup;
	}
	if (!S_ISDIR(st.st_mode)) {
		cli_msg(cmd, "'%s' is not a directory", dir);
		rc = RV_EXIT_FAIL;
		goto cleanup;
	}

	memset(&opts, 0, sizeof(opts));
	opts.root = dir;
	opts.paths = paths.v;
	opts.npaths = paths.n;
	opts.excludes = excludes.v;
	opts.nexcludes = excludes.n;
	opts.cross_mounts = cross;
	opts.threads = threads;
	if (rv_walk(&m, &opts) < 0) {
		rc = cli_fail(cmd);
		goto cleanup;
	}
	/* sha256sum of DIR/P with one --path P that is a directory */
	if (paths.n == 1 && (e = rv_manifest_find(m, paths.v[0],
			strlen(paths.v[0]))) && e->type == RV_FT_DIR)
		base = paths.v[0];
	if (cli_manifest_output(&out, m, format, base) < 0) {
		rc = cli_fail(cmd);
		goto cleanup;
	}
	if ((rc = cli_write_out(cmd, &out)) != RV_EXIT_OK)
		goto cleanup;
	unreadable = cli_report_unreadable(cmd, m);
	rc = unreadable ? RV_EXIT_DRIFT : RV_EXIT_OK;
cleanup:
	rv_buf_dispose(&out);
	rv_manifest_free(m);
	cli_strv_dispose(&paths);
	cli_strv_dispose(&excludes);
	return rc;
}
