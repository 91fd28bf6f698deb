/* manifest.c - the fingerprint: one entry per path, canonical bytes, root hash */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/manifest.h"
#include "util/error.h"
#include "util/banned.h"

/* The canonical form (docs/manifest.md):
 *
 *   rv-manifest 1\n
 *   <type> <mode> <uid>:<gid> <size> <digest> <path>\n    one per entry
 *
 * type: file elf dir symlink fifo socket chardev blockdev mount unknown
 * mode: exactly four octal digits; uid, gid, size: decimal, no leading zeros
 * digest: 64 lower-case hex digits, "-" (none), or "!ENAME" (not read)
 * path: escaped (bytes outside 0x21..0x7e as \xHH, backslash as \\)
 * Entries sorted by raw path bytes, no duplicates. Every manifest has
 * exactly one serialization, so equal root hashes mean equal manifests.
 */

static const char *const type_names[] = {
	[RV_FT_UNKNOWN] = "unknown",
	[RV_FT_FILE] = "file",
	[RV_FT_DIR] = "dir",
	[RV_FT_SYMLINK] = "symlink",
	[RV_FT_FIFO] = "fifo",
	[RV_FT_SOCKET] = "socket",
	[RV_FT_CHAR] = "chardev",
	[RV_FT_BLOCK] = "blockdev",
	[RV_FT_MOUNT] = "mount",
};
#define NTYPES (sizeof(type_names) / sizeof(type_names[0]))

/* Set an error whose message quotes bytes from outside: they are escaped
 * (as in the canonical form, at most 200 of them) so that a crafted name
 * cannot put control bytes on a terminal. */
static int error_quoting(int code, const char *fmt_before, const char *bytes,
	size_t len, const char *fmt_after)
{
	rv_buf q = RV_BUF_INIT(1024);
	int r;

	if (rv_manifest_escape(&q, bytes, len > 200 ? 200 : len) < 0)
		rv_buf_reset(&q);
	r = rv_error_set(code, "%s'%s%s'%s", fmt_before, q.ptr ? q.ptr : "",
		len > 200 ? "..." : "", fmt_after);
	rv_buf_dispose(&q);
	return r;
}

int rv_manifest_new(rv_manifest **out)
{
	rv_manifest *m = calloc(1, sizeof(*m));

	*out = NULL;
	if (!m)
		return rv_error_set(RV_ENOMEM, "out of memory for a manifest");
	m->sorted = 1;
	*out = m;
	return RV_OK;
}

void rv_manifest_free(rv_manifest *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->count; i++)
		free(m->entries[i].path);
	free(m->entries);
	free(m);
}

int rv_manifest_path_within(const char *path, size_t len, const char *root, size_t rlen)
{
	if (rlen == 1 && root[0] == '/')
		return 1;
	return len >= rlen && !memcmp(path, root, rlen) && (len == rlen || path[rlen] == '/');
}

int rv_manifest_check_path(const char *path, size_t len)
{
	size_t i, start;

	if (len == 0 || path[0] != '/')
		return error_quoting(RV_EINVAL, "path ", path, len, " is not absolute");
	if (len == 1)
		return RV_OK;
	if (path[len - 1] == '/')
		return error_quoting(RV_EINVAL, "path ", path, len, " ends in '/'");
	if (memchr(path, '\0', len))
		return rv_error_set(RV_EINVAL, "path holds a NUL byte");
	for (start = 1, i = 1; i <= len; i++) {
		if (i < len && path[i] != '/')
			continue;
		if (i == start ||
		    (i - start == 1 && path[start] == '.') ||
		    (i - start == 2 && path[start] == '.' && path[start + 1] == '.'))
			return error_quoting(RV_EINVAL, "path ", path, len,
				" has an empty, '.' or '..' component");
		start = i + 1;
	}
	return RV_OK;
}

int rv_manifest_add(rv_manifest *m, const rv_manifest_entry *e)
{
	rv_manifest_entry *n;
	char *p;
	int rc;

	if ((rc = rv_manifest_check_path(e->path, e->path_len)) < 0)
		return rc;
	if ((unsigned)e->type >= NTYPES)
		return error_quoting(RV_EINVAL, "entry ", e->path, e->path_len,
			" has an unknown type");
	if (m->count == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 256;

		n = realloc(m->entries, cap * sizeof(*n));
		if (!n)
			return rv_error_set(RV_ENOMEM, "out of memory for %zu manifest entries", cap);
		m->entries = n;
		m->cap = cap;
	}
	p = malloc(e->path_len + 1);
	if (!p)
		return rv_error_set(RV_ENOMEM, "out of memory for a path");
	memcpy(p, e->path, e->path_len);
	p[e->path_len] = '\0';
	n = &m->entries[m->count];
	*n = *e;
	n->path = p;
	if (n->type != RV_FT_FILE)
		n->elf = 0;
	n->mode &= 07777;
	if (m->count > 0 && m->sorted) {
		const rv_manifest_entry *prev = &m->entries[m->count - 1];
		size_t l = prev->path_len < n->path_len ? prev->path_len : n->path_len;
		int c = memcmp(prev->path, n->path, l);

		if (c > 0 || (c == 0 && prev->path_len >= n->path_len))
			m->sorted = 0;
	}
	m->count++;
	return RV_OK;
}

static int path_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t l = alen < blen ? alen : blen;
	int c = memcmp(a, b, l);

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static int entry_cmp(const void *x, const void *y)
{
	const rv_manifest_entry *a = x, *b = y;

	return path_cmp(a->path, a->path_len, b->path, b->path_len);
}

int rv_manifest_sort(rv_manifest *m)
{
	size_t i;

	if (!m->sorted)
		qsort(m->entries, m->count, sizeof(*m->entries), entry_cmp);
	for (i = 1; i < m->count; i++) {
		const rv_manifest_entry *a = &m->entries[i - 1], *b = &m->entries[i];

		if (entry_cmp(a, b) == 0)
			return error_quoting(RV_EINVAL, "path ", a->path,
				a->path_len, " appears twice");
	}
	m->sorted = 1;
	return RV_OK;
}

const rv_manifest_entry *rv_manifest_find(const rv_manifest *m,
	const char *path, size_t path_len)
{
	size_t lo = 0, hi = m->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const rv_manifest_entry *e = &m->entries[mid];
		int c = path_cmp(e->path, e->path_len, path, path_len);

		if (c == 0)
			return e;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const char *rv_manifest_type_name(const rv_manifest_entry *e)
{
	if (e->type == RV_FT_FILE && e->elf)
		return "elf";
	if ((unsigned)e->type < NTYPES)
		return type_names[e->type];
	return "unknown";
}

static int literal_byte(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '\\';
}

int rv_manifest_escape(rv_buf *out, const char *path, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run;
	int rc;

	for (i = 0; i < len; i += run) {
		unsigned char c = (unsigned char)path[i];
		char esc[4];

		for (run = 0; i + run < len && literal_byte((unsigned char)path[i + run]); run++)
			;
		if (run) {
			if ((rc = rv_buf_add(out, path + i, run)) < 0)
				return rc;
			continue;
		}
		if (c == '\\') {
			rc = rv_buf_add(out, "\\\\", 2);
		} else {
			esc[0] = '\\';
			esc[1] = 'x';
			esc[2] = hex[c >> 4];
			esc[3] = hex[c & 15];
			rc = rv_buf_add(out, esc, 4);
		}
		if (rc < 0)
			return rc;
		run = 1;
	}
	return RV_OK;
}

static int hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int rv_manifest_unescape(rv_buf *out, const char *s, size_t len)
{
	size_t i;
	int rc, hi, lo;
	char c;

	rv_buf_reset(out);
	for (i = 0; i < len; i++) {
		c = s[i];
		if (c != '\\') {
			if (!literal_byte((unsigned char)c))
				return rv_error_set(RV_EFORMAT,
					"byte 0x%02x at offset %zu must be escaped",
					(unsigned char)c, i);
			if ((rc = rv_buf_putc(out, c)) < 0)
				return rc;
			continue;
		}
		if (i + 1 < len && s[i + 1] == '\\') {
			if ((rc = rv_buf_putc(out, '\\')) < 0)
				return rc;
			i++;
			continue;
		}
		if (i + 3 >= len || s[i + 1] != 'x' ||
		    (hi = hexdigit(s[i + 2])) < 0 || (lo = hexdigit(s[i + 3])) < 0)
			return rv_error_set(RV_EFORMAT, "bad escape at offset %zu", i);
		c = (char)(hi << 4 | lo);
		if (c == '\0' || literal_byte((unsigned char)c) || c == '\\')
			return rv_error_set(RV_EFORMAT,
				"escape at offset %zu is not canonical", i);
		if ((rc = rv_buf_putc(out, c)) < 0)
			return rc;
		i += 3;
	}
	return RV_OK;
}

/* Append one entry's canonical line. */
static int format_entry(rv_buf *line, const rv_manifest_entry *e)
{
	char hex[RV_SHA256_HEX];
	const char *name;
	int rc;

	if ((rc = rv_buf_printf(line, "%s %04o %" PRIu32 ":%" PRIu32 " %" PRIu64 " ",
			rv_manifest_type_name(e), (unsigned)(e->mode & 07777),
			e->uid, e->gid, e->size)) < 0)
		return rc;
	if (e->err) {
		name = rv_errno_name(e->err);
		rc = name ? rv_buf_printf(line, "!%s ", name)
			  : rv_buf_printf(line, "!E%d ", e->err);
	} else if (e->has_digest) {
		rv_sha256_to_hex(hex, e->digest);
		rc = rv_buf_printf(line, "%s ", hex);
	} else {
		rc = rv_buf_puts(line, "- ");
	}
	if (rc < 0)
		return rc;
	if ((rc = rv_manifest_escape(line, e->path, e->path_len)) < 0)
		return rc;
	return rv_buf_putc(line, '\n');
}

typedef int (*sink_fn)(void *ctx, const char *data, size_t len);

/* Emit the canonical bytes to sink, a line at a time. */
static int emit(const rv_manifest *m, sink_fn sink, void *ctx)
{
	rv_buf line = RV_BUF_INIT(64 * 1024 * 1024);
	char head[64];
	size_t i;
	int rc, n;

	if (!m->sorted)
		return rv_error_set(RV_EINVAL, "manifest is not sorted");
	n = snprintf(head, sizeof(head), "%s %d\n", RV_MANIFEST_MAGIC,
		RV_MANIFEST_VERSION);
	if ((rc = sink(ctx, head, (size_t)n)) < 0)
		return rc;
	for (i = 0; i < m->count; i++) {
		rv_buf_reset(&line);
		if ((rc = format_entry(&line, &m->entries[i])) < 0)
			goto cleanup;
		if ((rc = sink(ctx, line.ptr, line.len)) < 0)
			goto cleanup;
	}
	rc = RV_OK;
cleanup:
	rv_buf_dispose(&line);
	return rc;
}

static int buf_sink(void *ctx, const char *data, size_t len)
{
	return rv_buf_add(ctx, data, len);
}

static int hash_sink(void *ctx, const char *data, size_t len)
{
	return rv_sha256_update(ctx, data, len);
}

int rv_manifest_serialize(rv_buf *out, const rv_manifest *m)
{
	return emit(m, buf_sink, out);
}

int rv_manifest_root_hash(unsigned char out[RV_SHA256_LEN], const rv_manifest *m)
{
	rv_sha256 h;
	int rc;

	if ((rc = rv_sha256_init(&h)) < 0)
		return rc;
	if ((rc = emit(m, hash_sink, &h)) < 0) {
		rv_sha256_dispose(&h);
		return rc;
	}
	return rv_sha256_final(&h, out);
}

void rv_manifest_stats_get(rv_manifest_stats *out, const rv_manifest *m)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	out->entries = m->count;
	for (i = 0; i < m->count; i++) {
		const rv_manifest_entry *e = &m->entries[i];

		switch (e->type) {
		case RV_FT_FILE:
			out->files++;
			out->bytes += e->size;
			if (e->elf)
				out->elves++;
			break;
		case RV_FT_DIR:
			out->dirs++;
			break;
		case RV_FT_SYMLINK:
			out->symlinks++;
			break;
		case RV_FT_MOUNT:
			out->mounts++;
			break;
		default:
			out->others++;
			break;
		}
		if (e->err)
			out->errors++;
	}
}

/* --- parsing ------------------------------------------------------------ */

/* Parse a decimal number with no sign and no leading zeros. */
static int parse_u64(uint64_t *out, const char *s, size_t len, uint64_t max)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || (len > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < len; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (d > 9 || v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int parse_type(rv_manifest_entry *e, const char *s, size_t len)
{
	size_t t;

	if (len == 3 && !memcmp(s, "elf", 3)) {
		e->type = RV_FT_FILE;
		e->elf = 1;
		return 0;
	}
	for (t = 0; t < NTYPES; t++) {
		if (strlen(type_names[t]) == len && !memcmp(type_names[t], s, len)) {
			e->type = (rv_ftype)t;
			return 0;
		}
	}
	return -1;
}

static int parse_digest(rv_manifest_entry *e, const char *s, size_t len)
{
	char name[32];
	uint64_t num;

	if (len == 1 && s[0] == '-')
		return 0;
	if (len == 64) {
		if (rv_sha256_from_hex(e->digest, s, len) < 0)
			return -1;
		e->has_digest = 1;
		return 0;
	}
	if (len < 2 || len >= sizeof(name) || s[0] != '!' || memchr(s, '\0', len))
		return -1;
	memcpy(name, s + 1, len - 1);
	name[len - 1] = '\0';
	e->err = rv_errno_from_name(name);
	if (e->err)
		return 0;
	/* "!E<n>" only for numbers that have no name */
	if (name[0] != 'E' || parse_u64(&num, name + 1, len - 2, 4095) < 0 ||
	    num == 0 || rv_errno_name((int)num))
		return -1;
	e->err = (int)num;
	return 0;
}

/* Field consistency, so that every manifest has one serialization. */
static int check_entry(const rv_manifest_entry *e)
{
	int content = e->type == RV_FT_FILE || e->type == RV_FT_SYMLINK;

	if (e->has_digest && !content)
		return -1;
	if (content && !e->err && !e->has_digest)
		return -1;
	if (!content && e->size != 0)
		return -1;
	if (e->type == RV_FT_UNKNOWN &&
	    (!e->err || e->mode || e->uid || e->gid))
		return -1;
	return 0;
}

int rv_manifest_parse(rv_manifest **out, const char *data, size_t len)
{
	rv_manifest *m = NULL;
	rv_buf path = RV_BUF_INIT(1 << 20);
	const char *p = data, *end = data + len, *nl, *f[6];
	size_t flen[6], lineno = 1, nf;
	char head[64];
	uint64_t v, v2;
	int rc, n;

	*out = NULL;
	n = snprintf(head, sizeof(head), "%s %d\n", RV_MANIFEST_MAGIC,
		RV_MANIFEST_VERSION);
	if (len < (size_t)n || memcmp(data, head, (size_t)n) != 0) {
		if (len > strlen(RV_MANIFEST_MAGIC) &&
		    !memcmp(data, RV_MANIFEST_MAGIC " ", strlen(RV_MANIFEST_MAGIC) + 1))
			return rv_error_set(RV_EFORMAT,
				"unknown manifest format version (this build reads version %d)",
				RV_MANIFEST_VERSION);
		return rv_error_set(RV_EFORMAT, "not a manifest: first line is not '%s %d'",
			RV_MANIFEST_MAGIC, RV_MANIFEST_VERSION);
	}
	p += n;
	if ((rc = rv_manifest_new(&m)) < 0)
		return rc;
	while (p < end) {
		rv_manifest_entry e;
		const char *q, *colon;

		lineno++;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl) {
			rc = rv_error_set(RV_EFORMAT, "line %zu: no final newline", lineno);
			goto cleanup;
		}
		/* split into exactly 6 space-separated fields */
		for (nf = 0, q = p; nf < 6; nf++) {
			const char *sp = nf < 5 ? memchr(q, ' ', (size_t)(nl - q)) : nl;

			if (!sp)
				break;
			f[nf] = q;
			flen[nf] = (size_t)(sp - q);
			q = sp + 1;
		}
		if (nf != 6 || memchr(f[5], ' ', flen[5])) {
			rc = rv_error_set(RV_EFORMAT, "line %zu: expected 6 fields", lineno);
			goto cleanup;
		}
		memset(&e, 0, sizeof(e));
		if (parse_type(&e, f[0], flen[0]) < 0) {
			char pre[48];

			snprintf(pre, sizeof(pre), "line %zu: unknown type ", lineno);
			rc = error_quoting(RV_EFORMAT, pre, f[0], flen[0] > 16 ? 16 : flen[0], "");
			goto cleanup;
		}
		if (flen[1] != 4 || f[1][0] < '0' || f[1][0] > '7' ||
		    f[1][1] < '0' || f[1][1] > '7' || f[1][2] < '0' || f[1][2] > '7' ||
		    f[1][3] < '0' || f[1][3] > '7') {
			rc = rv_error_set(RV_EFORMAT, "line %zu: bad mode", lineno);
			goto cleanup;
		}
		e.mode = (uint32_t)((f[1][0] - '0') << 9 | (f[1][1] - '0') << 6 |
			(f[1][2] - '0') << 3 | (f[1][3] - '0'));
		colon = memchr(f[2], ':', flen[2]);
		if (!colon ||
		    parse_u64(&v, f[2], (size_t)(colon - f[2]), UINT32_MAX) < 0 ||
		    parse_u64(&v2, colon + 1, (size_t)(f[2] + flen[2] - colon - 1), UINT32_MAX) < 0) {
			rc = rv_error_set(RV_EFORMAT, "line %zu: bad owner", lineno);
			goto cleanup;
		}
		e.uid = (uint32_t)v;
		e.gid = (uint32_t)v2;
		if (parse_u64(&e.size, f[3], flen[3], UINT64_MAX) < 0) {
			rc = rv_error_set(RV_EFORMAT, "line %zu: bad size", lineno);
			goto cleanup;
		}
		if (parse_digest(&e, f[4], flen[4]) < 0) {
			rc = rv_error_set(RV_EFORMAT, "line %zu: bad digest", lineno);
			goto cleanup;
		}
		if (check_entry(&e) < 0) {
			rc = rv_error_set(RV_EFORMAT,
				"line %zu: fields do not fit type '%s'", lineno,
				rv_manifest_type_name(&e));
			goto cleanup;
		}
		if ((rc = rv_manifest_unescape(&path, f[5], flen[5])) < 0) {
			rv_error_prefix(rc, "line %zu: bad path", lineno);
			goto cleanup;
		}
		e.path = path.ptr ? path.ptr : (char *)"";
		e.path_len = path.len;
		if ((rc = rv_manifest_check_path(e.path, e.path_len)) < 0) {
			rv_error_prefix(rc, "line %zu", lineno);
			rc = RV_EFORMAT;
			goto cleanup;
		}
		if (m->count > 0) {
			const rv_manifest_entry *prev = &m->entries[m->count - 1];

			if (path_cmp(prev->path, prev->path_len, e.path, e.path_len) >= 0) {
				rc = rv_error_set(RV_EFORMAT,
					"line %zu: path not in sorted order or repeated", lineno);
				goto cleanup;
			}
		}
		if ((rc = rv_manifest_add(m, &e)) < 0)
			goto cleanup;
		p = nl + 1;
	}
	*out = m;
	m = NULL;
	rc = RV_OK;
cleanup:
	rv_buf_dispose(&path);
	rv_manifest_free(m);
	return rc;
}

/* --- the sha256sum view --------------------------------------------------- */

int rv_manifest_sha256sum(rv_buf *out, const rv_manifest *m, const char *base)
{
	size_t blen = strlen(base), i, j, skip, start;
	char hex[RV_SHA256_HEX];
	int rc;

	if ((rc = rv_manifest_check_path(base, blen)) < 0)
		return rc;
	skip = blen == 1 ? 1 : blen + 1; /* bytes of "<base>/" before the name */
	start = out->len;
	for (i = 0; i < m->count; i++) {
		const rv_manifest_entry *e = &m->entries[i];
		const char *name;
		size_t nlen;
		int odd = 0;

		if (e->type != RV_FT_FILE || e->err || !e->has_digest)
			continue;
		if (blen > 1 && (e->path_len <= blen + 1 ||
		    memcmp(e->path, base, blen) != 0 || e->path[blen] != '/'))
			continue;
		name = e->path + skip;
		nlen = e->path_len - skip;
		for (j = 0; j < nlen; j++)
			if (name[j] == '\\' || name[j] == '\n' || name[j] == '\r')
				odd = 1;
		rv_sha256_to_hex(hex, e->digest);
		if ((rc = rv_buf_printf(out, "%s%s  ./", odd ? "\\" : "", hex)) < 0)
			return rc;
		for (j = 0; j < nlen; j++) {
			switch (name[j]) {
			case '\\': rc = rv_buf_add(out, "\\\\", 2); break;
			case '\n': rc = rv_buf_add(out, "\\n", 2); break;
			case '\r': rc = rv_buf_add(out, "\\r", 2); break;
			default: rc = rv_buf_putc(out, name[j]); break;
			}
			if (rc < 0)
				return rc;
		}
		if ((rc = rv_buf_putc(out, '\n')) < 0)
			return rc;
	}
	/* With no file names, xargs (without -r) still runs sha256sum once,
	 * which hashes its empty standard input: the pipeline prints that. */
	if (out->len == start)
		return rv_buf_puts(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  -\n");
	return RV_OK;
}
