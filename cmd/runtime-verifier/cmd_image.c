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
#include "sources/image.h"
#include "sources/registry.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/sha256.h"
#include "util/banned.h"

static const char *const formats[] = { "manifest", "sha256sum", "json", NULL };

#define CACHE_MAX_DEFAULT (10ull << 30)

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
"  --platform OS/ARCH[/V] the platform to pick from an index (default\n"
"                         linux/amd64)\n"
"  --format F             manifest (default), sha256sum (what `find . -type\n"
"                         f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum`\n"
"                         prints inside the unpacked path), or json\n"
"  --insecure-registry H  speak plain HTTP to H (host or host:port;\n"
"                         repeatable). TLS is verified for every other host\n"
"  --registry-ca FILE     trust the CA certificates in FILE (PEM) as well\n"
"  --docker-config FILE   credentials (default $DOCKER_CONFIG/config.json,\n"
"                         then ~/.docker/config.json)\n"
"  --cache-dir DIR        cache directory (default\n"
"                         $XDG_CACHE_HOME/runtime-verifier or\n"
"                         ~/.cache/runtime-verifier)\n"
"  --cache-max BYTES      evict least recently used entries past this size\n"
"                         (default 10G; suffixes K M G)\n"
"  --no-cache             neither read nor write the cache\n"
"  --jobs N               layers fetched and hashed at once (default 2)\n"
"  --max-layer-size BYTES refuse a layer that inflates past this (default\n"
"                         64G)\n"
"  --zlib                 inflate gzip with zlib instead of ISA-L igzip\n"
"  --retries N            retries after 5xx, 429 or a broken connection\n"
"                         (default 5)\n"
"  --timeout S            abandon (and retry) a transfer that stalls below\n"
"                         1 byte/s for S seconds (default 30)\n"
"  --stats                print transfer and cache counters on stderr\n"
"  -h, --help             show this help\n"
"\n"
"Exit status: 0 done, 1 a requested path does not exist in the image\n"
"(output still written), 2 error, 64 bad command line.\n", f);
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -1;
	if (*end == 'K' || *end == 'k')
		shift = 10;
	else if (*end == 'M' || *end == 'm')
		shift = 20;
	else if (*end == 'G' || *end == 'g')
		shift = 30;
	else if (*end)
		return -1;
	if (shift && end[1])
		return -1;
	if (v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

static int check_path_arg(char *p)
{
	size_t len = strlen(p);

	while (len > 1 && p[len - 1] == '/')
		p[--len] = '\0';
	return rv_manifest_check_path(p, len);
}

static char *default_cache_dir(void)
{
	rv_buf b = RV_BUF_INIT(8192);
	const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	int rc;

	if (x && *x)
		rc = rv_buf_printf(&b, "%s/runtime-verifier", x);
	else if (home && *home)
		rc = rv_buf_printf(&b, "%s/.cache/runtime-verifier", home);
	else
		return NULL;
	if (rc < 0) {
		rv_buf_dispose(&b);
		return NULL;
	}
	return rv_buf_detach(&b, NULL);
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
	rc = cli_manifest_json(out, img->manifest, extra);
	json_decref(extra);
	return rc;
}

int cmd_image(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "path", required_argument, NULL, 'p' },
		{ "platform", required_argument, NULL, 'P' },
		{ "format", required_argument, NULL, 'f' },
		{ "insecure-registry", required_argument, NULL, 'i' },
		{ "registry-ca", required_argument, NULL, 'C' },
		{ "docker-config", required_argument, NULL, 'd' },
		{ "cache-dir", required_argument, NULL, 'c' },
		{ "cache-max", required_argument, NULL, 'M' },
		{ "no-cache", no_argument, NULL, 'n' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "max-layer-size", required_argument, NULL, 'L' },
		{ "zlib", no_argument, NULL, 'z' },
		{ "retries", required_argument, NULL, 'r' },
		{ "stats", no_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *cmd = "image", *base = "/";
	cli_strv paths = { 0 }, insecure = { 0 };
	rv_registry_opts ro;
	rv_image_opts io;
	rv_registry *reg = NULL;
	rv_image *img = NULL;
	const rv_manifest_entry *e;
	rv_buf out = RV_BUF_INIT(SIZE_MAX);
	char *cache_dir = NULL;
	int format = CLI_OUT_MANIFEST, no_cache = 0, stats = 0, c, rc, retries = 0, timeout = 0;
	size_t unreadable;

	memset(&ro, 0, sizeof(ro));
	memset(&io, 0, sizeof(io));
	io.cache_max_bytes = CACHE_MAX_DEFAULT;
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
		case 'P':
			io.platform = optarg;
			break;
		case 'f':
			if ((rc = cli_parse_format(cmd, optarg, formats, &format)) != 0)
				goto cleanup;
			break;
		case 'i':
			cli_strv_push(&insecure, optarg);
			break;
		case 'C':
			ro.ca_file = optarg;
			break;
		case 'd':
			ro.docker_config = optarg;
			break;
		case 'c':
			free(cache_dir);
			if (!(cache_dir = strdup(optarg))) {
				rc = cli_usage_error(cmd, "out of memory");
				goto cleanup;
			}
			break;
		case 'M':
			if (parse_size(optarg, &io.cache_max_bytes) < 0) {
				rc = cli_usage_error(cmd, "--cache-max '%s' is not a size", optarg);
				goto cleanup;
			}
			break;
		case 'n':
			no_cache = 1;
			break;
		case 'j':
			if (parse_int(optarg, 1, 16, &io.jobs) < 0) {
				rc = cli_usage_error(cmd, "--jobs '%s' is not a number from 1 to 16", optarg);
				goto cleanup;
			}
			break;
		case 'L':
			if (parse_size(optarg, &io.max_inflated) < 0 || !io.max_inflated) {
				rc = cli_usage_error(cmd, "--max-layer-size '%s' is not a size", optarg);
				goto cleanup;
			}
			break;
		case 'z':
			io.use_zlib = 1;
			break;
		case 'r':
			if (parse_int(optarg, 0, 100, &retries) < 0) {
				rc = cli_usage_error(cmd, "--retries '%s' is not a number from 0 to 100", optarg);
				goto cleanup;
			}
			ro.retries = retries ? retries : -1;
			break;
		case 's':
			stats = 1;
			break;
		case 'T':
			if (parse_int(optarg, 1, 3600, &timeout) < 0) {
				rc = cli_usage_error(cmd, "--timeout '%s' is not a number of seconds from 1 to 3600", optarg);
				goto cleanup;
			}
			ro.stall_timeout = timeout;
			ro.connect_timeout = timeout < 15 ? timeout : 15;
			break;
		case 'h':
			usage(stdout);
			rc = RV_EXIT_OK;
			goto cleanup;
		case ':':
			rc = cli_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
			goto cleanup;
		default:
			rc = cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
			goto cleanup;
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
	if (!no_cache && !cache_dir)
		cache_dir = default_cache_dir();
	io.cache_dir = no_cache ? NULL : cache_dir;
	io.paths = paths.v;
	io.npaths = paths.n;
	ro.insecure = insecure.v;
	ro.ninsecure = insecure.n;
	if (rv_registry_new(&reg, &ro) < 0 || rv_image_fetch(&img, reg, argv[optind], &io) < 0) {
		rc = cli_fail(cmd);
		goto cleanup;
	}
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
	if (stats) {
		rv_registry_stats rs;

		rv_registry_stats_get(&rs, reg);
		fprintf(stderr, "runtime-verifier image: stats: requests=%lu manifest_requests=%lu "
			"blob_requests=%lu token_requests=%lu retries=%lu resumes=%lu blob_bytes=%llu "
			"layers=%zu layers_cached=%zu image_cached=%d cache_corrupt=%lu "
			"compressed_bytes=%llu tar_bytes=%llu\n",
			rs.requests, rs.manifest_requests, rs.blob_requests, rs.token_requests,
			rs.retries, rs.resumes, (unsigned long long)rs.blob_bytes,
			img->info.layers, img->info.layers_cached, img->info.image_cached,
			img->info.cache_corrupt, (unsigned long long)img->info.compressed_bytes,
			(unsigned long long)img->info.tar_bytes);
	}
	unreadable = cli_report_unreadable(cmd, img->manifest);
	rc = unreadable ? RV_EXIT_DRIFT : RV_EXIT_OK;
cleanup:
	rv_buf_dispose(&out);
	rv_image_free(img);
	rv_registry_free(reg);
	free(cache_dir);
	cli_strv_dispose(&paths);
	cli_strv_dispose(&insecure);
	return rc;
}
