/* cli.h - helpers shared by runtime-verifier's subcommands */
#ifndef RV_CLI_H
#define RV_CLI_H

#include <stddef.h>

#include "core/manifest.h"
#include "sources/oci/image.h"
#include "sources/oci/registry.h"
#include "util/buf.h"

struct json_t;

/* Exit codes, the same for every subcommand (docs/commands/). */
#define RV_EXIT_OK 0        /* clean / success */
#define RV_EXIT_DRIFT 1     /* drift found (verify, diff) or incomplete walk */
#define RV_EXIT_FAIL 2      /* could not do what was asked */
#define RV_EXIT_USAGE 64    /* bad command line (sysexits EX_USAGE) */

/* A growable list of strings borrowed from argv or literals. */
typedef struct cli_strv {
	const char **v;
	size_t n;
	size_t cap;
} cli_strv;

/* Append s (borrowed, not copied); exits 2 on allocation failure, as
 * nothing in cmd/ can go on without memory. */
void cli_strv_push(cli_strv *sv, const char *s);
void cli_strv_dispose(cli_strv *sv);

/* Print "runtime-verifier CMD: MESSAGE" and a pointer to --help on stderr;
 * returns RV_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The usage error for what getopt_long (with ':' leading its option
 * string) returned as c: ':' is an option without its value, anything
 * else an unknown option; argv[optind - 1] names it. RV_EXIT_USAGE. */
int cli_getopt_error(const char *cmd, int c, char **argv, int optind);

/* Print "runtime-verifier CMD: <last lib error>" on stderr; returns
 * RV_EXIT_FAIL. */
int cli_fail(const char *cmd);

/* Print "runtime-verifier CMD: MESSAGE" on stderr (a warning or an error
 * the caller words itself). */
void cli_msg(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Write all len bytes to fd, retrying short writes; 0 or -1 (errno set). */
int cli_write_all(int fd, const void *data, size_t len);

/* Read a whole file ("-" for stdin) into *out (NUL-terminated, free()
 * it), at most max bytes; lib error set on failure. */
int cli_read_file(char **out, size_t *len_out, const char *path, size_t max);

/* Parse "NAME=VALUE"-free option values. */
int cli_parse_format(const char *cmd, const char *value,
	const char *const *allowed, int *out);

/* Output formats of a manifest, in the order of their names
 * { "manifest", "sha256sum", "json" } for cli_parse_format. */
enum { CLI_OUT_MANIFEST, CLI_OUT_SHA256SUM, CLI_OUT_JSON };

/* Append m in one of the CLI_OUT_* formats to out; base is the sha256sum
 * view's base directory ("/" for everything). Lib error set on failure. */
int cli_manifest_output(rv_buf *out, const rv_manifest *m, int format,
	const char *base);

/* m as a JSON document (format "rv-fingerprint", version, root,
 * complete, stats, entries) appended to out; the fields of extra (a JSON
 * object, borrowed, may be NULL) are added after version and may replace
 * "format". Lib error set on failure. */
int cli_manifest_json(rv_buf *out, const rv_manifest *m, struct json_t *extra);
/* Set "path" on a JSON object: the path as a string when it is valid
 * UTF-8; otherwise its escaped form, plus "path_b64" with the exact bytes.
 * -1 when out of memory. */
int cli_json_set_path(struct json_t *obj, const char *path, size_t len);

/* One manifest entry as a new JSON object (the caller owns the
 * reference), NULL when out of memory. */
struct json_t *cli_json_entry(const rv_manifest_entry *e);

/* path escaped as in the manifest (printable ASCII, no newline), for a
 * terminal; the pointer is valid until tmp's next use. */
const char *cli_esc(rv_buf *tmp, const char *path, size_t len);

/* Name m's unreadable entries on stderr (the first 20, then a count) and
 * say the result is incomplete; returns how many there are. */
size_t cli_report_unreadable(const char *cmd, const rv_manifest *m);

/* Write out to stdout: RV_EXIT_OK, or RV_EXIT_FAIL with a message. */
int cli_write_out(const char *cmd, const rv_buf *out);

/* --- fetching an image (image, sbom --image) ------------------------------ */

/* The registry, cache and transfer options of every command that fetches
 * an image (docs/commands/image.md). Strings are borrowed from argv but
 * cache_dir (owned). */
typedef struct cli_image_args {
	rv_registry_opts ro;
	rv_image_opts io;
	cli_strv insecure;
	char *cache_dir;
	int no_cache;
} cli_image_args;

/* getopt_long values of those options, out of the way of the commands' own. */
enum {
	CLI_IMG_PLATFORM = 0x1000, CLI_IMG_INSECURE, CLI_IMG_CA, CLI_IMG_DOCKERCFG,
	CLI_IMG_CACHE_DIR, CLI_IMG_CACHE_MAX, CLI_IMG_NO_CACHE, CLI_IMG_JOBS,
	CLI_IMG_MAX_LAYER, CLI_IMG_ZLIB, CLI_IMG_RETRIES, CLI_IMG_TIMEOUT
};

/* Their struct option entries, to put in a command's table. */
#define CLI_IMAGE_LONGOPTS \
	{ "platform", required_argument, NULL, CLI_IMG_PLATFORM }, \
	{ "insecure-registry", required_argument, NULL, CLI_IMG_INSECURE }, \
	{ "registry-ca", required_argument, NULL, CLI_IMG_CA }, \
	{ "docker-config", required_argument, NULL, CLI_IMG_DOCKERCFG }, \
	{ "cache-dir", required_argument, NULL, CLI_IMG_CACHE_DIR }, \
	{ "cache-max", required_argument, NULL, CLI_IMG_CACHE_MAX }, \
	{ "no-cache", no_argument, NULL, CLI_IMG_NO_CACHE }, \
	{ "jobs", required_argument, NULL, CLI_IMG_JOBS }, \
	{ "max-layer-size", required_argument, NULL, CLI_IMG_MAX_LAYER }, \
	{ "zlib", no_argument, NULL, CLI_IMG_ZLIB }, \
	{ "retries", required_argument, NULL, CLI_IMG_RETRIES }, \
	{ "timeout", required_argument, NULL, CLI_IMG_TIMEOUT }

/* Their lines for a command's --help. */
extern const char cli_image_usage[];

/* Defaults: cache limit 10G, everything else the library's. */
void cli_image_args_init(cli_image_args *a);

/* Take option c (a CLI_IMG_* value) with its argument: 0; a bad value is
 * RV_EXIT_USAGE after a message naming it. */
int cli_image_args_option(cli_image_args *a, const char *cmd, int c, const char *arg);

/* Create the registry client (*reg) and fetch ref (*img) with a's
 * options (the default cache directory unless --no-cache); the caller
 * sets a->io.paths and a->io.packages first. RV_EXIT_OK, or RV_EXIT_FAIL
 * after the message. The caller frees both. */
int cli_image_fetch(rv_registry **reg, rv_image **img, cli_image_args *a,
	const char *cmd, const char *ref);

/* The --stats line of a fetch on stderr. */
void cli_image_stats(const char *cmd, rv_registry *reg, const rv_image *img);

void cli_image_args_dispose(cli_image_args *a);

#endif
