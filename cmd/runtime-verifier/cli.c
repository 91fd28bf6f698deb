/* cli.c - helpers shared by runtime-verifier's subcommands */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "cli.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/sha256.h"
#include "util/banned.h"

void cli_strv_push(cli_strv *sv, const char *s)
{
	if (sv->n == sv->cap) {
		size_t cap = sv->cap ? sv->cap * 2 : 8;
		const char **v = realloc(sv->v, cap * sizeof(*v));

		if (!v) {
			fputs("runtime-verifier: out of memory\n", stderr);
			exit(RV_EXIT_FAIL);
		}
		sv->v = v;
		sv->cap = cap;
	}
	sv->v[sv->n++] = s;
}

void cli_strv_dispose(cli_strv *sv)
{
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->cap = 0;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "runtime-verifier %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'runtime-verifier %s --help'.\n", cmd);
	return RV_EXIT_USAGE;
}

int cli_getopt_error(const char *cmd, int c, char **argv, int optind)
{
	if (c == ':')
		return cli_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
	return cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
}

int cli_fail(const char *cmd)
{
	fprintf(stderr, "runtime-verifier %s: %s\n", cmd, rv_error_last());
	return RV_EXIT_FAIL;
}

void cli_msg(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "runtime-verifier %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int cli_read_file(char **out, size_t *len_out, const char *path, size_t max)
{
	rv_buf b = RV_BUF_INIT(max);
	char chunk[65536];
	int fd, rc = RV_OK;
	ssize_t n;

	*out = NULL;
	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return rv_error_setsys(RV_EIO, errno, "cannot open '%s'", path);
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = rv_error_setsys(RV_EIO, errno, "cannot read '%s'", path);
			goto cleanup;
		}
		if (n == 0)
			break;
		if ((rc = rv_buf_add(&b, chunk, (size_t)n)) < 0) {
			rv_error_prefix(rc, "'%s'", path);
			goto cleanup;
		}
	}
	*out = rv_buf_detach(&b, len_out);
	if (!*out)
		rc = rv_error_set(RV_ENOMEM, "out of memory");
cleanup:
	if (fd != STDIN_FILENO)
		close(fd);
	rv_buf_dispose(&b);
	return rc;
}

int cli_parse_format(const char *cmd, const char *value,
	const char *const *allowed, int *out)
{
	int i;

	for (i = 0; allowed[i]; i++) {
		if (strcmp(value, allowed[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	return cli_usage_error(cmd, "unknown format '%s'", value);
}

/* --- manifest output (fingerprint, decode, image, diff) ------------------- */

/* Unreadable entries named one per line on stderr, at most this many. */
#define UNREADABLE_LINES 20

/* A path as printable ASCII for a terminal or a one-line message (valid
 * until tmp's next use). */
const char *cli_esc(rv_buf *tmp, const char *path, size_t len)
{
	rv_buf_reset(tmp);
	if (rv_manifest_escape(tmp, path, len) < 0 || !tmp->ptr)
		return "?";
	return tmp->ptr;
}

/* "path" as a JSON string when it is valid UTF-8; otherwise "path" is the
 * escaped form (ASCII) and "path_b64" the exact bytes in base64. */
int cli_json_set_path(json_t *obj, const char *path, size_t len)
{
	rv_buf esc = RV_BUF_INIT((size_t)1 << 20);
	json_t *s = json_stringn(path, len);
	unsigned char *b64 = NULL;
	int rc = -1;

	if (s)
		return json_object_set_new(obj, "path", s);
	if (len > INT_MAX / 2 || rv_manifest_escape(&esc, path, len) < 0)
		goto cleanup;
	if (!(b64 = malloc(4 * ((len + 2) / 3) + 1)))
		goto cleanup;
	EVP_EncodeBlock(b64, (const unsigned char *)path, (int)len);
	if (json_object_set_new(obj, "path", json_string(esc.ptr ? esc.ptr : "")) < 0 ||
	    json_object_set_new(obj, "path_b64", json_string((char *)b64)) < 0)
		goto cleanup;
	rc = 0;
cleanup:
	free(b64);
	rv_buf_dispose(&esc);
	return rc;
}

/* One manifest entry as a new JSON object (NULL when out of memory). */
json_t *cli_json_entry(const rv_manifest_entry *e)
{
	json_t *o = json_object();
	char buf[RV_SHA256_HEX];
	const char *name;
	int bad = !o;

	if (bad)
		return NULL;
	bad |= cli_json_set_path(o, e->path, e->path_len) < 0;
	bad |= json_object_set_new(o, "type",
		json_string(rv_manifest_type_name(e))) < 0;
	snprintf(buf, sizeof(buf), "%04o", (unsigned)(e->mode & 07777));
	bad |= json_object_set_new(o, "mode", json_string(buf)) < 0;
	bad |= json_object_set_new(o, "uid", json_integer(e->uid)) < 0;
	bad |= json_object_set_new(o, "gid", json_integer(e->gid)) < 0;
	bad |= json_object_set_new(o, "size",
		json_integer((json_int_t)e->size)) < 0;
	if (e->has_digest && !e->err) {
		rv_sha256_to_hex(buf, e->digest);
		bad |= json_object_set_new(o, "sha256", json_string(buf)) < 0;
	}
	if (e->err) {
		name = rv_errno_name(e->err);
		bad |= json_object_set_new(o, "error",
			json_string(name ? name : "EUNKNOWN")) < 0;
		bad |= json_object_set_new(o, "error_message",
			json_string(strerror(e->err))) < 0;
	}
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *json_stats(const rv_manifest_stats *st)
{
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
		"entries", (json_int_t)st->entries,
		"files", (json_int_t)st->files,
		"dirs", (json_int_t)st->dirs,
		"symlinks", (json_int_t)st->symlinks,
		"others", (json_int_t)st->others,
		"mounts", (json_int_t)st->mounts,
		"errors", (json_int_t)st->errors,
		"elves", (json_int_t)st->elves,
		"bytes", (json_int_t)st->bytes);
}

int cli_manifest_json(rv_buf *out, const rv_manifest *m, json_t *extra)
{
	unsigned char root[RV_SHA256_LEN];
	char hex[RV_SHA256_HEX];
	rv_manifest_stats st;
	json_t *doc = NULL, *list = NULL, *e;
	char *text = NULL;
	size_t i;
	int rc;

	if ((rc = rv_manifest_root_hash(root, m)) < 0)
		return rc;
	rv_sha256_to_hex(hex, root);
	rv_manifest_stats_get(&st, m);
	rc = rv_error_set(RV_ENOMEM, "out of memory for the JSON output");
	if (!(list = json_array()))
		goto cleanup;
	for (i = 0; i < m->count; i++)
		if (!(e = cli_json_entry(&m->entries[i])) ||
		    json_array_append_new(list, e) < 0)
			goto cleanup;
	doc = json_pack("{s:s,s:i}", "format", "rv-fingerprint", "version", RV_MANIFEST_VERSION);
	if (!doc || (extra && json_object_update(doc, extra) < 0) ||
	    json_object_set_new(doc, "root", json_string(hex)) < 0 ||
	    json_object_set_new(doc, "complete", json_boolean(st.errors == 0)) < 0 ||
	    json_object_set_new(doc, "stats", json_stats(&st)) < 0 ||
	    json_object_set(doc, "entries", list) < 0 ||
	    !(text = json_dumps(doc, JSON_INDENT(2))))
		goto cleanup;
	if ((rc = rv_buf_puts(out, text)) >= 0)
		rc = rv_buf_putc(out, '\n');
cleanup:
	free(text);
	json_decref(doc);
	json_decref(list);
	return rc;
}

/* Append m in one of the CLI_OUT_* formats; base is the sha256sum view's
 * base directory ("/" for everything). */
int cli_manifest_output(rv_buf *out, const rv_manifest *m, int format,
	const char *base)
{
	switch (format) {
	case CLI_OUT_SHA256SUM:
		return rv_manifest_sha256sum(out, m, base);
	case CLI_OUT_JSON:
		return cli_manifest_json(out, m, NULL);
	default:
		return rv_manifest_serialize(out, m);
	}
}

/* Name unreadable entries on stderr (the first UNREADABLE_LINES, then a
 * count) and say the result is incomplete. Returns how many there are. */
size_t cli_report_unreadable(const char *cmd, const rv_manifest *m)
{
	rv_buf esc = RV_BUF_INIT((size_t)1 << 20);
	const rv_manifest_entry *e;
	size_t i, n = 0;

	for (i = 0; i < m->count; i++) {
		e = &m->entries[i];
		if (!e->err)
			continue;
		if (n++ < UNREADABLE_LINES)
			cli_msg(cmd, "cannot read '%s': %s",
				cli_esc(&esc, e->path, e->path_len),
				strerror(e->err));
	}
	if (n > UNREADABLE_LINES)
		cli_msg(cmd, "... and %zu more unreadable entries",
			n - UNREADABLE_LINES);
	if (n)
		cli_msg(cmd, "incomplete: %zu %s could not be read", n,
			n == 1 ? "entry" : "entries");
	rv_buf_dispose(&esc);
	return n;
}

/* Write out to stdout; RV_EXIT_FAIL with a message if that fails. */
int cli_write_out(const char *cmd, const rv_buf *out)
{
	if (out->len && cli_write_all(STDOUT_FILENO, out->ptr, out->len) < 0) {
		cli_msg(cmd, "cannot write the output: %s", strerror(errno));
		return RV_EXIT_FAIL;
	}
	return RV_EXIT_OK;
}

/* --- fetching an image ------------------------------------------------------ */

#define CACHE_MAX_DEFAULT (10ull << 30)

const char cli_image_usage[] =
"  --platform OS/ARCH[/V] the platform to pick from an index (default\n"
"                         this machine's, " RV_IMAGE_DEFAULT_PLATFORM ")\n"
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
"                         1 byte/s for S seconds (default 30)\n";

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

void cli_image_args_init(cli_image_args *a)
{
	memset(a, 0, sizeof(*a));
	a->io.cache_max_bytes = CACHE_MAX_DEFAULT;
}

void cli_image_args_dispose(cli_image_args *a)
{
	cli_strv_dispose(&a->insecure);
	free(a->cache_dir);
	a->cache_dir = NULL;
}

int cli_image_args_option(cli_image_args *a, const char *cmd, int c, const char *arg)
{
	int v;

	switch (c) {
	case CLI_IMG_PLATFORM:
		a->io.platform = arg;
		break;
	case CLI_IMG_INSECURE:
		cli_strv_push(&a->insecure, arg);
		break;
	case CLI_IMG_CA:
		a->ro.ca_file = arg;
		break;
	case CLI_IMG_DOCKERCFG:
		a->ro.docker_config = arg;
		break;
	case CLI_IMG_CACHE_DIR:
		free(a->cache_dir);
		if (!(a->cache_dir = strdup(arg)))
			return cli_usage_error(cmd, "out of memory");
		break;
	case CLI_IMG_CACHE_MAX:
		if (parse_size(arg, &a->io.cache_max_bytes) < 0)
			return cli_usage_error(cmd, "--cache-max '%s' is not a size", arg);
		break;
	case CLI_IMG_NO_CACHE:
		a->no_cache = 1;
		break;
	case CLI_IMG_JOBS:
		if (parse_int(arg, 1, 16, &a->io.jobs) < 0)
			return cli_usage_error(cmd, "--jobs '%s' is not a number from 1 to 16", arg);
		break;
	case CLI_IMG_MAX_LAYER:
		if (parse_size(arg, &a->io.max_inflated) < 0 || !a->io.max_inflated)
			return cli_usage_error(cmd, "--max-layer-size '%s' is not a size", arg);
		break;
	case CLI_IMG_ZLIB:
		a->io.use_zlib = 1;
		break;
	case CLI_IMG_RETRIES:
		if (parse_int(arg, 0, 100, &v) < 0)
			return cli_usage_error(cmd, "--retries '%s' is not a number from 0 to 100", arg);
		a->ro.retries = v ? v : -1;
		break;
	case CLI_IMG_TIMEOUT:
		if (parse_int(arg, 1, 3600, &v) < 0)
			return cli_usage_error(cmd, "--timeout '%s' is not a number of seconds from 1 to 3600", arg);
		a->ro.stall_timeout = v;
		a->ro.connect_timeout = v < 15 ? v : 15;
		break;
	default:
		return cli_usage_error(cmd, "unknown option");
	}
	return 0;
}

int cli_image_fetch(rv_registry **reg, rv_image **img, cli_image_args *a,
	const char *cmd, const char *ref)
{
	*reg = NULL;
	*img = NULL;
	if (!a->no_cache && !a->cache_dir)
		a->cache_dir = default_cache_dir();
	a->io.cache_dir = a->no_cache ? NULL : a->cache_dir;
	a->ro.insecure = a->insecure.v;
	a->ro.ninsecure = a->insecure.n;
	if (rv_registry_new(reg, &a->ro) < 0 || rv_image_fetch(img, *reg, ref, &a->io) < 0)
		return cli_fail(cmd);
	return RV_EXIT_OK;
}

void cli_image_stats(const char *cmd, rv_registry *reg, const rv_image *img)
{
	rv_registry_stats rs;

	rv_registry_stats_get(&rs, reg);
	fprintf(stderr, "runtime-verifier %s: stats: requests=%lu manifest_requests=%lu "
		"blob_requests=%lu token_requests=%lu retries=%lu resumes=%lu blob_bytes=%llu "
		"layers=%zu layers_cached=%zu image_cached=%d cache_corrupt=%lu "
		"compressed_bytes=%llu tar_bytes=%llu", cmd,
		rs.requests, rs.manifest_requests, rs.blob_requests, rs.token_requests,
		rs.retries, rs.resumes, (unsigned long long)rs.blob_bytes,
		img->info.layers, img->info.layers_cached, img->info.image_cached,
		img->info.cache_corrupt, (unsigned long long)img->info.compressed_bytes,
		(unsigned long long)img->info.tar_bytes);
	if (img->dbset)
		fprintf(stderr, " dbset_files=%zu dbset_failed=%zu dbset_bytes=%llu",
			img->dbset->n, img->dbset->failed, (unsigned long long)img->dbset->bytes);
	fputc('\n', stderr);
}
