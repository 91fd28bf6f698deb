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
