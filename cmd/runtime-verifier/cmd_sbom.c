/* cmd_sbom.c - `runtime-verifier sbom DIR`: catalogue packages, CycloneDX out; `sbom --diff A B` */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "sources/sbom.h"
#include "sources/sbom_cdx.h"
#include "sources/sbom_diff.h"
#include "sources/sbom_dir.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/banned.h"

#ifndef RV_VERSION
#define RV_VERSION "0.1.0-dev"
#endif

#define CMD "sbom"
/* Largest output we build in memory. */
#define OUT_MAX ((size_t)1 << 30)
/* Warnings named one per line on stderr, at most this many. */
#define WARNING_LINES 20

enum { FMT_CDX, FMT_TEXT };
static const char *const formats[] = { "cyclonedx-json", "text", NULL };

static void usage(FILE *f)
{
	fputs(
"usage: runtime-verifier sbom DIR [options]\n"
"       runtime-verifier sbom --diff A.json B.json\n"
"\n"
"Catalogue the packages installed in the tree under DIR, which stands for\n"
"\"/\": dpkg (/var/lib/dpkg/status, status.d/), apk (/lib/apk/db/installed),\n"
"rpm (rpmdb.sqlite), Python (*.dist-info, *.egg-info) and npm\n"
"(node_modules/*/package.json). /etc/os-release names the distribution.\n"
"\n"
"  --format F        cyclonedx-json (default: CycloneDX 1.5 JSON) or text\n"
"  -o, --output FILE write there instead of standard output\n"
"  --name NAME       what metadata.component names (default: DIR)\n"
"  --cross-mounts    descend into mount points below DIR\n"
"  --stats           print what was read and how long it took on stderr\n"
"  --diff A B        compare two CycloneDX BOMs by purl: one line per\n"
"                    added, removed or version-changed package\n"
"  -h, --help        show this help\n"
"\n"
"A database that cannot be read or parsed is a warning (on standard error,\n"
"and in the BOM's metadata.properties); the rest is still catalogued.\n"
"\n"
"Exit status: 0 done (--diff: no difference), 1 --diff found differences,\n"
"2 error, 64 bad command line.\n", f);
}

static int write_out(const char *path, const rv_buf *out)
{
	int fd, rc;

	if (!path || strcmp(path, "-") == 0)
		fd = STDOUT_FILENO;
	else if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		cli_msg(CMD, "cannot open '%s': %s", path, strerror(errno));
		return RV_EXIT_FAIL;
	}
	rc = cli_write_all(fd, out->ptr ? out->ptr : "", out->len);
	if (rc < 0)
		cli_msg(CMD, "cannot write '%s': %s", path ? path : "-",
			strerror(errno));
	if (fd != STDOUT_FILENO && close(fd) < 0 && rc == 0) {
		cli_msg(CMD, "cannot write '%s': %s", path, strerror(errno));
		rc = -1;
	}
	return rc < 0 ? RV_EXIT_FAIL : RV_EXIT_OK;
}

static void report_warnings(const rv_sbom *s)
{
	size_t i;

	for (i = 0; i < s->nwarnings && i < WARNING_LINES; i++)
		cli_msg(CMD, "warning: '%s': %s", s->warnings[i].path,
			s->warnings[i].message);
	if (s->nwarnings + s->warnings_dropped > WARNING_LINES)
		cli_msg(CMD, "%zu more warnings", s->nwarnings +
			s->warnings_dropped - WARNING_LINES);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void report_stats(const rv_sbom *s, double t_scan, double t_out)
{
	size_t k, dbs = 0;

	for (k = 0; k < RV_SBOM_KIND_COUNT; k++)
		dbs += s->dbs_read[k];
	cli_msg(CMD, "%zu database file%s, %llu bytes read, %zu packages, "
		"%zu warnings; catalogue %.1f ms, output %.1f ms", dbs,
		dbs == 1 ? "" : "s", (unsigned long long)s->bytes_read, s->npkgs,
		s->nwarnings + s->warnings_dropped, t_scan, t_out);
}

static int load_bom(rv_sbom **out, const char *path)
{
	char *data = NULL;
	size_t len = 0;
	int rc;

	if ((rc = cli_read_file(&data, &len, path, RV_SBOM_CDX_MAX)) < 0)
		return rc;
	if ((rc = rv_sbom_cdx_read(out, data, len)) < 0)
		rv_error_prefix(rc, "'%s'", path);
	free(data);
	return rc;
}

static int do_diff(const char *a_path, const char *b_path, const char *output)
{
	rv_sbom *a = NULL, *b = NULL;
	rv_sbom_diff *d = NULL;
	rv_buf out = RV_BUF_INIT(OUT_MAX);
	int rc, ret = RV_EXIT_FAIL;

	if ((rc = load_bom(&a, a_path)) < 0 || (rc = load_bom(&b, b_path)) < 0 ||
	    (rc = rv_sbom_diff_compute(&d, a, b)) < 0 ||
	    (rc = rv_sbom_diff_text(&out, d)) < 0) {
		ret = cli_fail(CMD);
		goto cleanup;
	}
	ret = write_out(output, &out);
	if (ret == RV_EXIT_OK && d->count)
		ret = RV_EXIT_DRIFT;
cleanup:
	rv_buf_dispose(&out);
	rv_sbom_diff_free(d);
	rv_sbom_free(a);
	rv_sbom_free(b);
	return ret;
}

int cmd_sbom(int argc, char **argv)
{
	enum { OPT_FORMAT = 256, OPT_NAME, OPT_CROSS, OPT_DIFF, OPT_STATS };
	static const struct option opts[] = {
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "output", required_argument, NULL, 'o' },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "cross-mounts", no_argument, NULL, OPT_CROSS },
		{ "diff", no_argument, NULL, OPT_DIFF },
		{ "stats", no_argument, NULL, OPT_STATS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	rv_sbom_dir_opts dopts = { 0, 0 };
	rv_sbom_cdx_meta meta;
	rv_buf out = RV_BUF_INIT(OUT_MAX);
	const char *output = NULL, *name = NULL;
	rv_sbom *s = NULL;
	int c, format = FMT_CDX, diff = 0, stats = 0, ret = RV_EXIT_FAIL, rc;
	double t0, t1, t2;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		switch (c) {
		case OPT_FORMAT:
			if (cli_parse_format(CMD, optarg, formats, &format) != 0)
				return RV_EXIT_USAGE;
			break;
		case 'o':
			output = optarg;
			break;
		case OPT_NAME:
			name = optarg;
			break;
		case OPT_CROSS:
			dopts.cross_mounts = 1;
			break;
		case OPT_DIFF:
			diff = 1;
			break;
		case OPT_STATS:
			stats = 1;
			break;
		case 'h':
			usage(stdout);
			return RV_EXIT_OK;
		default:
			return cli_usage_error(CMD, "unknown option '%s'",
				argv[optind - 1]);
		}
	}
	if (diff) {
		if (argc - optind != 2)
			return cli_usage_error(CMD, "--diff takes two BOM files");
		return do_diff(argv[optind], argv[optind + 1], output);
	}
	if (argc - optind != 1)
		return cli_usage_error(CMD, argc == optind ? "missing DIR" :
			"too many arguments");
	t0 = now_ms();
	if ((rc = rv_sbom_new(&s)) < 0 ||
	    (rc = rv_sbom_dir_scan(s, argv[optind], &dopts)) < 0 ||
	    (rc = rv_sbom_finish(s)) < 0) {
		ret = cli_fail(CMD);
		goto cleanup;
	}
	t1 = now_ms();
	memset(&meta, 0, sizeof(meta));
	meta.type = "file";
	meta.name = name ? name : argv[optind];
	meta.tool_version = RV_VERSION;
	rc = format == FMT_TEXT ? rv_sbom_text_write(&out, s) :
		rv_sbom_cdx_write(&out, s, &meta);
	if (rc < 0) {
		ret = cli_fail(CMD);
		goto cleanup;
	}
	report_warnings(s);
	ret = write_out(output, &out);
	t2 = now_ms();
	if (stats)
		report_stats(s, t1 - t0, t2 - t1);
cleanup:
	rv_buf_dispose(&out);
	rv_sbom_free(s);
	return ret;
}
