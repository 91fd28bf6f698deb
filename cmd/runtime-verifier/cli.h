/* cli.h - helpers shared by runtime-verifier's subcommands */
#ifndef RV_CLI_H
#define RV_CLI_H

#include <stddef.h>

#include "core/manifest.h"
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

#endif
