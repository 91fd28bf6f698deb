/* cmd_sbom.c - `runtime-verifier sbom DIR | --image REF`: catalogue packages, CycloneDX out; `sbom --diff A B` */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "commands.h"
#include "core/dbset.h"
#include "core/walk.h"
#include "sources/oci/image.h"
#include "sources/oci/registry.h"
#include "sources/sbom/sbom.h"
#include "sources/sbom/sbom_cdx.h"
#include "sources/sbom/sbom_diff.h"
#include "sources/sbom/sbom_dir.h"
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

enum { FMT_CDX, FMT_TEXT, FMT_DBSET };
static const char *const formats[] = { "cyclonedx-json", "text", "dbset", NULL };

static void usage(FILE *f)
{
	fputs(
"usage: runtime-verifier sbom DIR [options]\n"
"       runtime-verifier sbom --image REF [options] [image options]\n"
"       runtime-verifier sbom --diff A.json B.json\n"
"\n"
"Catalogue the packages installed in the tree under DIR, which stands for\n"
"\"/\", or in a registry image (read from its layers as they stream, no\n"
"unpacking): dpkg (/var/lib/dpkg/status, status.d/), apk\n"
"(/lib/apk/db/installed), rpm (rpmdb.sqlite), Python (*.dist-info,\n"
"*.egg-info) and npm (node_modules/*/package.json). /etc/os-release names\n"
"the distribution.\n"
"\n"
"  --image REF       catalogue the image REF (NAME@sha256:DIGEST or\n"
"                    NAME[:TAG]) instead of a directory\n"
"  --format F        cyclonedx-json (default: CycloneDX 1.5 JSON), text, or\n"
"                    dbset (the package database files themselves, in the\n"
"                    canonical form whose sha256 verify compares)\n"
"  -o, --output FILE write there instead of standard output\n"
"  --name NAME       what metadata.component names (default: DIR or REF)\n"
"  --cross-mounts    descend into mount points below DIR\n"
"  --stats           print what was read and how long it took on stderr\n"
"  --diff A B        compare two CycloneDX BOMs by purl: one line per\n"
"                    added, removed or version-changed package\n"
"  -h, --help        show this help\n"
"\n"
"Image options (as for `runtime-verifier image`):\n", f);
	fputs(cli_image_usage, f);
	fputs(
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

/* Percent-encode a purl component: unreserved bytes stay, and so do
 * those in keep; everything else is %XX. */
static int purl_enc(rv_buf *out, const char *s, const char *keep)
{
	static const char hex[] = "0123456789ABCDEF";
	int rc = RV_OK;

	for (; *s && rc >= 0; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '-' || c == '_' || c == '~' || (keep && strchr(keep, c)))
			rc = rv_buf_putc(out, (char)c);
		else if ((rc = rv_buf_putc(out, '%')) >= 0 && (rc = rv_buf_putc(out, hex[c >> 4])) >= 0)
			rc = rv_buf_putc(out, hex[c & 15]);
	}
	return rc;
}

/*
 * The image's purl, per the purl spec's oci type:
 * pkg:oci/NAME@sha256%3AHEX?arch=A&repository_url=REGISTRY/REPOSITORY&tag=T
 * NAME is the repository's last component, lower-cased; the version the
 * digest the reference resolved to; qualifiers sorted by key.
 */
static int image_purl(rv_buf *out, const rv_image *img)
{
	rv_registry_ref ref;
	const char *name, *reg, *arch;
	char *lower = NULL, *p;
	int rc;

	if ((rc = rv_registry_ref_parse(&ref, img->reference)) < 0)
		return rc;
	name = strrchr(ref.repository, '/');
	name = name ? name + 1 : ref.repository;
	if (!(lower = strdup(name))) {
		rc = rv_error_set(RV_ENOMEM, "out of memory");
		goto cleanup;
	}
	for (p = lower; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	reg = strcmp(ref.registry, "registry-1.docker.io") ? ref.registry : "docker.io";
	arch = img->platform ? strchr(img->platform, '/') : NULL;
	if ((rc = rv_buf_puts(out, "pkg:oci/")) < 0 || (rc = purl_enc(out, lower, NULL)) < 0 ||
	    (rc = rv_buf_putc(out, '@')) < 0 || (rc = purl_enc(out, img->digest, NULL)) < 0 ||
	    (rc = rv_buf_putc(out, '?')) < 0)
		goto cleanup;
	if (arch && arch[1]) {
		char a[64];

		snprintf(a, sizeof(a), "%.*s", (int)strcspn(arch + 1, "/"), arch + 1);
		if ((rc = rv_buf_puts(out, "arch=")) < 0 || (rc = purl_enc(out, a, NULL)) < 0 ||
		    (rc = rv_buf_putc(out, '&')) < 0)
			goto cleanup;
	}
	if ((rc = rv_buf_puts(out, "repository_url=")) < 0 || (rc = purl_enc(out, reg, ":")) < 0 ||
	    (rc = rv_buf_putc(out, '/')) < 0 || (rc = purl_enc(out, ref.repository, "/")) < 0)
		goto cleanup;
	if (ref.tag && ((rc = rv_buf_puts(out, "&tag=")) < 0 || (rc = purl_enc(out, ref.tag, NULL)) < 0))
		goto cleanup;
cleanup:
	free(lower);
	rv_registry_ref_dispose(&ref);
	return rc;
}

int cmd_sbom(int argc, char **argv)
{
	enum { OPT_FORMAT = 256, OPT_NAME, OPT_CROSS, OPT_DIFF, OPT_STATS, OPT_IMAGE };
	static const struct option opts[] = {
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "output", required_argument, NULL, 'o' },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "cross-mounts", no_argument, NULL, OPT_CROSS },
		{ "diff", no_argument, NULL, OPT_DIFF },
		{ "stats", no_argument, NULL, OPT_STATS },
		{ "image", required_argument, NULL, OPT_IMAGE },
		{ "help", no_argument, NULL, 'h' },
		CLI_IMAGE_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	rv_sbom_dir_opts dopts = { 0, 0 };
	rv_sbom_cdx_meta meta;
	rv_buf out = RV_BUF_INIT(OUT_MAX), purl = RV_BUF_INIT(1 << 16);
	const char *output = NULL, *name = NULL, *image = NULL;
	cli_image_args ia;
	rv_registry *reg = NULL;
	rv_image *img = NULL;
	rv_dbset *set = NULL;
	rv_sbom *s = NULL;
	int c, format = FMT_CDX, diff = 0, stats = 0, ret = RV_EXIT_FAIL, rc, image_opts = 0;
	double t0, t1, t2;

	cli_image_args_init(&ia);
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
		switch (c) {
		case OPT_FORMAT:
			if (cli_parse_format(CMD, optarg, formats, &format) != 0) {
				ret = RV_EXIT_USAGE;
				goto cleanup;
			}
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
		case OPT_IMAGE:
			image = optarg;
			break;
		case 'h':
			usage(stdout);
			ret = RV_EXIT_OK;
			goto cleanup;
		case ':':
		case '?':
			ret = cli_getopt_error(CMD, c, argv, optind);
			goto cleanup;
		default:
			if ((ret = cli_image_args_option(&ia, CMD, c, optarg)) != 0)
				goto cleanup;
			image_opts = 1;
			break;
		}
	}
	if (diff) {
		if (image || argc - optind != 2) {
			ret = cli_usage_error(CMD, "--diff takes two BOM files");
			goto cleanup;
		}
		ret = do_diff(argv[optind], argv[optind + 1], output);
		goto cleanup;
	}
	if (image && argc != optind) {
		ret = cli_usage_error(CMD, "--image takes no DIR ('%s')", argv[optind]);
		goto cleanup;
	}
	if (image && dopts.cross_mounts) {
		ret = cli_usage_error(CMD, "--cross-mounts is for a DIR, not --image");
		goto cleanup;
	}
	if (!image && image_opts) {
		ret = cli_usage_error(CMD, "registry and cache options need --image");
		goto cleanup;
	}
	if (!image && argc - optind != 1) {
		ret = cli_usage_error(CMD, argc == optind ? "missing DIR" :
			"too many arguments");
		goto cleanup;
	}
	t0 = now_ms();
	if (image) {
		/* the whole image ("/"): its manifest comes with the read and
		 * is cached with the package databases */
		ia.io.packages = 1;
		if ((ret = cli_image_fetch(&reg, &img, &ia, CMD, image)) != RV_EXIT_OK)
			goto cleanup;
		ret = RV_EXIT_FAIL;
		set = img->dbset;
	} else if (format == FMT_DBSET) {
		/* the probe's own collector (core/walk.h), run on DIR */
		rv_walk_dbs_opts wo;

		memset(&wo, 0, sizeof(wo));
		wo.root = argv[optind];
		if ((rc = rv_walk_dbs(&set, &wo)) < 0) {
			ret = cli_fail(CMD);
			goto cleanup;
		}
	}
	if (format == FMT_DBSET) {
		t1 = now_ms();
		if (rv_dbset_serialize(&out, set) < 0) {
			ret = cli_fail(CMD);
			goto cleanup;
		}
		ret = write_out(output, &out);
		if (stats)
			cli_msg(CMD, "%zu package database files (%zu failed), %llu bytes; %.1f ms",
				set->n, set->failed, (unsigned long long)set->bytes, t1 - t0);
		if (stats && img)
			cli_image_stats(CMD, reg, img);
		goto cleanup;
	}
	if ((rc = rv_sbom_new(&s)) < 0 ||
	    (image ? rv_sbom_feed_dbset(s, img->dbset) : rv_sbom_dir_scan(s, argv[optind], &dopts)) < 0 ||
	    (rc = rv_sbom_finish(s)) < 0) {
		ret = cli_fail(CMD);
		goto cleanup;
	}
	t1 = now_ms();
	memset(&meta, 0, sizeof(meta));
	meta.type = image ? "container" : "file";
	meta.name = name ? name : image ? image : argv[optind];
	meta.version = image ? img->digest : NULL;
	meta.tool_version = RV_VERSION;
	rc = image && format == FMT_CDX ? image_purl(&purl, img) : RV_OK;
	meta.purl = purl.ptr;
	if (rc >= 0)
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
	if (stats && img)
		cli_image_stats(CMD, reg, img);
cleanup:
	if (!img)
		rv_dbset_free(set);
	rv_buf_dispose(&out);
	rv_buf_dispose(&purl);
	rv_sbom_free(s);
	rv_image_free(img);
	rv_registry_free(reg);
	cli_image_args_dispose(&ia);
	return ret;
}
