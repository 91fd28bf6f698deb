/* cmd_image.c - `runtime-verifier image REF`: fingerprint a registry image */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "commands.h"
#include "core/manifest.h"
#include "sources/oci/image.h"
#include "sources/oci/registry.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/sha256.h"
#include "util/banned.h"

static const char *const formats[] = { "manifest", "sha256sum", "json", NULL };

static void usage(FILE *f)
{
	fputs(
"usage: runtime-verifier image REF [options]\n"
"\n"
"Fingerprint a registry image without a daemon and without extracting it:\n"
"the manifest of its filesystem, as `runtime-verifier fingerprint` gives\n"
"for the same tree unpacked. REF is NAME@sha256:DIGEST or NAME[:TAG].\n"
"Every manifest and blob is checked against its digest.\n"
"\n"
"  --path P               describe only P, an absolute path in the image\n"
"                         (repeatable; default \"/\")\n"
"  --format F             manifest (default), sha256sum (what `find . -type\n"
"                         f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum`\n"
"                         prints inside the unpacked path), or json\n"
"  --packages             also collect the package databases in the same\n"
"                         read (json: \"dbset\"; --stats: dbset_*)\n", f);
	fputs(cli_image_usage, f);
	fputs(
"  --stats                print transfer and cache counters on stderr\n"
"  -h, --help             show this help\n"
"\n"
"Exit status: 0 done, 1 a requested path does not exist in the image\n"
"(output still written), 2 error, 64 bad command line.\n", f);
}

static int check_path_arg(char *p)
{
	size_t len = strlen(p);

	while (len > 1 && p[len - 1] == '/')
		p[--len] = '\0';
	return rv_manifest_check_path(p, len);
}

static int image_json(rv_buf *out, const rv_image *img)
{
	json_t *labels = json_object_get(json_object_get(img->config, "config"), "Labels");
	json_t *extra = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:O}",
		"format", "rv-image", "reference", img->reference, "digest", img->digest,
		"manifest_digest", img->manifest_digest,
		"config_digest", img->config_digest, "platform", img->platform,
		"labels", json_is_object(labels) ? labels : json_null());
	int rc;

	if (!extra)
		return rv_error_set(RV_ENOMEM, "out of memory for the JSON output");
	if (img->dbset) {
		unsigned char d[RV_SHA256_LEN];
		char hex[RV_SHA256_HEX];
		json_t *db;

		if ((rc = rv_dbset_digest(d, img->dbset)) < 0) {
			json_decref(extra);
			return rc;
		}
		rv_sha256_to_hex(hex, d);
		db = json_pack("{s:s,s:I,s:I,s:I}", "digest", hex,
			"files", (json_int_t)img->dbset->n, "failed", (json_int_t)img->dbset->failed,
			"bytes", (json_int_t)img->dbset->bytes);
		if (!db || json_object_set_new(extra, "dbset", db) < 0) {
			json_decref(extra);
			return rv_error_set(RV_ENOMEM, "out of memory for the JSON output");
		}
	}
	rc = cli_manifest_json(out, img->manifest, extra);
	json_decref(extra);
	return rc;
}

int cmd_image(int argc, char **argv)
{
	enum { OPT_PACKAGES = 256 };
	static const struct option longopts[] = {
		{ "path", required_argument, NULL, 'p' },
		{ "format", required_argument, NULL, 'f' },
		{ "packages", no_argument, NULL, OPT_PACKAGES },
		{ "stats", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		CLI_IMAGE_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	const char *cmd = "image", *base = "/";
	cli_strv paths = { 0 };
	cli_image_args ia;
	rv_registry *reg = NULL;
	rv_image *img = NULL;
	const rv_manifest_entry *e;
	rv_buf out = RV_BUF_INIT(SIZE_MAX);
	int format = CLI_OUT_MANIFEST, stats = 0, c, rc;
	size_t unreadable;

	cli_image_args_init(&ia);
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (check_path_arg(optarg) < 0) {
				rc = cli_usage_error(cmd, "--path '%s' is not an absolute path "
					"(no '.' or '..' components)", optarg);
				goto cleanup;
			}
			cli_strv_push(&paths, optarg);
			break;
		case 'f':
			if ((rc = cli_parse_format(cmd, optarg, formats, &format)) != 0)
				goto cleanup;
			break;
		case OPT_PACKAGES:
			ia.io.packages = 1;
			break;
		case 's':
			stats = 1;
			break;
		case 'h':
			usage(stdout);
			rc = RV_EXIT_OK;
			goto cleanup;
		case ':':
		case '?':
			rc = cli_getopt_error(cmd, c, argv, optind);
			goto cleanup;
		default:
			if ((rc = cli_image_args_option(&ia, cmd, c, optarg)) != 0)
				goto cleanup;
			break;
		}
	}
	if (optind >= argc) {
		rc = cli_usage_error(cmd, "missing REF");
		goto cleanup;
	}
	if (optind + 1 < argc) {
		rc = cli_usage_error(cmd, "unexpected argument '%s'", argv[optind + 1]);
		goto cleanup;
	}
	ia.io.paths = paths.v;
	ia.io.npaths = paths.n;
	if ((rc = cli_image_fetch(&reg, &img, &ia, cmd, argv[optind])) != RV_EXIT_OK)
		goto cleanup;
	if (paths.n == 1 && (e = rv_manifest_find(img->manifest, paths.v[0],
			strlen(paths.v[0]))) && e->type == RV_FT_DIR)
		base = paths.v[0];
	if ((format == CLI_OUT_JSON ? image_json(&out, img) :
	     cli_manifest_output(&out, img->manifest, format, base)) < 0) {
		rc = cli_fail(cmd);
		goto cleanup;
	}
	if ((rc = cli_write_out(cmd, &out)) != RV_EXIT_OK)
		goto cleanup;
	if (stats)
		cli_image_stats(cmd, reg, img);
	unreadable = cli_report_unreadable(cmd, img->manifest);
	rc = unreadable ? RV_EXIT_DRIFT : RV_EXIT_OK;
cleanup:
	rv_buf_dispose(&out);
	rv_image_free(img);
	rv_registry_free(reg);
	cli_image_args_dispose(&ia);
	cli_strv_dispose(&paths);
	return rc;
}
