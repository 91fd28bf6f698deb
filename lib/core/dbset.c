/* dbset.c - the package database files of one filesystem, as one canonical, hashable set */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dbset.h"
#include "core/manifest.h"
#include "util/error.h"
#include "util/banned.h"

int rv_dbset_new(rv_dbset **out)
{
	rv_dbset *s = calloc(1, sizeof(*s));

	*out = s;
	if (!s)
		return rv_error_set(RV_ENOMEM, "out of memory");
	s->sorted = 1;
	return RV_OK;
}

void rv_dbset_free(rv_dbset *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++) {
		free(s->files[i].path);
		free(s->files[i].data);
		free(s->files[i].error);
	}
	free(s->files);
	free(s);
}

/* A new record for path at the end of s, zeroed but for the path. */
static int push(rv_dbset_file **out, rv_dbset *s, const char *path, size_t len)
{
	rv_dbset_file *f;
	int rc;

	*out = NULL;
	if ((rc = rv_manifest_check_path(path, len)) < 0)
		return rc;
	if (s->n >= RV_DBSET_MAX_FILES)
		return rv_error_set(RV_ETOOBIG, "more than %u package database files",
			RV_DBSET_MAX_FILES);
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		rv_dbset_file *nf = realloc(s->files, cap * sizeof(*nf));

		if (!nf)
			return rv_error_set(RV_ENOMEM, "out of memory");
		s->files = nf;
		s->cap = cap;
	}
	f = &s->files[s->n];
	memset(f, 0, sizeof(*f));
	if (!(f->path = malloc(len + 1)))
		return rv_error_set(RV_ENOMEM, "out of memory");
	memcpy(f->path, path, len);
	f->path[len] = '\0';
	f->path_len = len;
	*out = f;
	return RV_OK;
}

int rv_dbset_add(rv_dbset *s, const char *path, size_t len,
	const void *data, size_t size)
{
	rv_dbset_file *f;
	int rc;

	if (size > RV_DBSET_MAX_BYTES || s->bytes + size > RV_DBSET_MAX_BYTES)
		return rv_error_set(RV_ETOOBIG, "package databases larger than %llu bytes in all "
			"(at %.*s)", (unsigned long long)RV_DBSET_MAX_BYTES, (int)len, path);
	if ((rc = push(&f, s, path, len)) < 0)
		goto fail;
	if (size && !(f->data = malloc(size))) {
		rc = rv_error_set(RV_ENOMEM, "out of memory");
		goto fail;
	}
	if (size)
		memcpy(f->data, data, size);
	f->size = size;
	if ((rc = rv_sha256_buf(f->sha256, data ? data : "", size)) < 0)
		goto fail;
	s->bytes += size;
	s->n++;
	s->sorted = 0;
	return RV_OK;
fail:
	if (f) {
		free(f->path);
		free(f->data);
	}
	return rc;
}

int rv_dbset_add_failed(rv_dbset *s, const char *path, size_t len, const char *why)
{
	rv_dbset_file *f;
	size_t n, i, start = 0;
	int rc;

	if ((rc = push(&f, s, path, len)) < 0)
		return rc;
	if (!why)
		why = "";
	n = strlen(why);
	while (start < n && why[start] == ' ')
		start++;
	while (n > start && why[n - 1] == ' ')
		n--;
	if (n - start > RV_DBSET_MAX_MESSAGE)
		n = start + RV_DBSET_MAX_MESSAGE;
	if (n == start) {
		why = "unreadable";
		start = 0;
		n = strlen(why);
	}
	if (!(f->error = malloc(n - start + 1))) {
		free(f->path);
		return rv_error_set(RV_ENOMEM, "out of memory");
	}
	for (i = start; i < n; i++)
		f->error[i - start] = why[i] >= 0x20 && why[i] <= 0x7e ? why[i] : '?';
	f->error[n - start] = '\0';
	/* cutting may have left a trailing space */
	while (n - start > 1 && f->error[n - start - 1] == ' ')
		f->error[--n - start] = '\0';
	s->n++;
	s->failed++;
	s->sorted = 0;
	return RV_OK;
}

static int path_cmp(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);

	if (c)
		return c;
	return al < bl ? -1 : al > bl;
}

int rv_dbset_file_cmp(const rv_dbset_file *a, const rv_dbset_file *b)
{
	return path_cmp(a->path, a->path_len, b->path, b->path_len);
}

static int file_cmp(const void *x, const void *y)
{
	return rv_dbset_file_cmp(x, y);
}

int rv_dbset_sort(rv_dbset *s)
{
	size_t i;

	if (s->n > 1)
		qsort(s->files, s->n, sizeof(*s->files), file_cmp);
	for (i = 1; i < s->n; i++)
		if (!file_cmp(&s->files[i - 1], &s->files[i]))
			return rv_error_set(RV_EINVAL, "package database '%s' added twice",
				s->files[i].path);
	s->sorted = 1;
	return RV_OK;
}

const rv_dbset_file *rv_dbset_find(const rv_dbset *s, const char *path, size_t len)
{
	size_t lo = 0, hi = s->n;

	if (!s->sorted)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = path_cmp(path, len, s->files[mid].path, s->files[mid].path_len);

		if (!c)
			return &s->files[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* The record's header line (and nothing of its contents) into line. */
static int record_line(rv_buf *line, const rv_dbset_file *f)
{
	char hex[RV_SHA256_HEX];
	int rc;

	rv_buf_reset(line);
	if (f->error) {
		if ((rc = rv_buf_puts(line, "fail ")) < 0 ||
		    (rc = rv_manifest_escape(line, f->path, f->path_len)) < 0 ||
		    (rc = rv_buf_printf(line, " %s\n", f->error)) < 0)
			return rc;
		return RV_OK;
	}
	rv_sha256_to_hex(hex, f->sha256);
	if ((rc = rv_buf_printf(line, "file %zu %s ", f->size, hex)) < 0 ||
	    (rc = rv_manifest_escape(line, f->path, f->path_len)) < 0 ||
	    (rc = rv_buf_putc(line, '\n')) < 0)
		return rc;
	return RV_OK;
}

/* Feed the canonical form, piece by piece, to fn. */
typedef int (*sink_fn)(void *ctx, const void *data, size_t len);

int rv_dbset_is_mount(const rv_dbset_file *f)
{
	return f->error && !strncmp(f->error, RV_DBSET_MOUNT_PREFIX,
		sizeof(RV_DBSET_MOUNT_PREFIX) - 1);
}

/* The canonical form, or with no_mounts that of s less its mount records. */
static int emit(const rv_dbset *s, int no_mounts, sink_fn fn, void *ctx)
{
	rv_buf line = RV_BUF_INIT(RV_DBSET_MAX_MESSAGE + 4 * 4096 + 256);
	size_t i, mounts = 0;
	int rc;

	if (!s->sorted)
		return rv_error_set(RV_EINVAL, "package database set not sorted");
	for (i = 0; no_mounts && i < s->n; i++)
		mounts += rv_dbset_is_mount(&s->files[i]);
	if ((rc = rv_buf_printf(&line, RV_DBSET_MAGIC " %d files=%zu failed=%zu bytes=%" PRIu64 "\n",
			RV_DBSET_VERSION, s->n - mounts, s->failed - mounts, s->bytes)) < 0 ||
	    (rc = fn(ctx, line.ptr, line.len)) < 0)
		goto cleanup;
	for (i = 0; i < s->n; i++) {
		const rv_dbset_file *f = &s->files[i];

		if (no_mounts && rv_dbset_is_mount(f))
			continue;
		if ((rc = record_line(&line, f)) < 0 ||
		    (rc = fn(ctx, line.ptr, line.len)) < 0)
			goto cleanup;
		if (!f->error && ((f->size && (rc = fn(ctx, f->data, f->size)) < 0) ||
		    (rc = fn(ctx, "\n", 1)) < 0))
			goto cleanup;
	}
	rc = RV_OK;
cleanup:
	rv_buf_dispose(&line);
	return rc;
}

static int sink_buf(void *ctx, const void *data, size_t len)
{
	return rv_buf_add(ctx, data, len);
}

static int sink_sha(void *ctx, const void *data, size_t len)
{
	return rv_sha256_update(ctx, data, len);
}

int rv_dbset_serialize(rv_buf *out, const rv_dbset *s)
{
	size_t old = out->len;
	int rc = emit(s, 0, sink_buf, out);

	if (rc < 0)
		out->len = old;
	return rc;
}

static int digest(unsigned char out[RV_SHA256_LEN], const rv_dbset *s, int no_mounts)
{
	rv_sha256 h;
	int rc;

	if ((rc = rv_sha256_init(&h)) < 0)
		return rc;
	if ((rc = emit(s, no_mounts, sink_sha, &h)) >= 0)
		rc = rv_sha256_final(&h, out);
	rv_sha256_dispose(&h);
	return rc;
}

int rv_dbset_digest(unsigned char out[RV_SHA256_LEN], const rv_dbset *s)
{
	return digest(out, s, 0);
}

int rv_dbset_digest_comparable(unsigned char out[RV_SHA256_LEN], const rv_dbset *s)
{
	return digest(out, s, 1);
}

/* ---- parse ------------------------------------------------------------- */

/* A canonical decimal at *p (up to end), ending at the byte term. */
static int number(uint64_t *out, const char **p, const char *end, char term)
{
	const char *s = *p;
	uint64_t v = 0;

	if (s >= end || *s < '0' || *s > '9' || (*s == '0' && s + 1 < end && s[1] != term))
		return -1;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (s >= end || *s != term)
		return -1;
	*out = v;
	*p = s + 1;
	return 0;
}

/* Expect the literal lit at *p. */
static int literal(const char **p, const char *end, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(end - *p) < n || memcmp(*p, lit, n))
		return -1;
	*p += n;
	return 0;
}

/* The escaped path from *p to the byte term, unescaped into path. */
static int parse_path(rv_buf *path, const char **p, const char *end, char term)
{
	const char *s = *p, *e = memchr(s, term, (size_t)(end - s));

	if (!e || e == s || rv_manifest_unescape(path, s, (size_t)(e - s)) < 0 ||
	    rv_manifest_check_path(path->ptr, path->len) < 0)
		return -1;
	*p = e + 1;
	return 0;
}

int rv_dbset_parse(rv_dbset **out, const void *data, size_t len)
{
	const char *p = data, *end = p + len, *nl;
	rv_buf path = RV_BUF_INIT(1u << 20);
	rv_dbset *s = NULL;
	uint64_t nfiles, nfailed, nbytes, version;
	size_t rec = 0;
	int rc;

	*out = NULL;
	if ((rc = rv_dbset_new(&s)) < 0)
		return rc;
	if (literal(&p, end, RV_DBSET_MAGIC " ") < 0) {
		rc = rv_error_set(RV_EFORMAT, "not a package database set (no '" RV_DBSET_MAGIC "' header)");
		goto cleanup;
	}
	if (number(&version, &p, end, ' ') < 0) {
		rc = rv_error_set(RV_EFORMAT, "package database set: malformed header");
		goto cleanup;
	}
	if (version != RV_DBSET_VERSION) {
		rc = rv_error_set(RV_EUNSUPPORTED, "package database set version %" PRIu64
			" not supported", version);
		goto cleanup;
	}
	if (literal(&p, end, "files=") < 0 || number(&nfiles, &p, end, ' ') < 0 ||
	    literal(&p, end, "failed=") < 0 || number(&nfailed, &p, end, ' ') < 0 ||
	    literal(&p, end, "bytes=") < 0 || number(&nbytes, &p, end, '\n') < 0) {
		rc = rv_error_set(RV_EFORMAT, "package database set: malformed header");
		goto cleanup;
	}
	if (nfiles > RV_DBSET_MAX_FILES || nbytes > RV_DBSET_MAX_BYTES || nfailed > nfiles) {
		rc = rv_error_set(RV_ETOOBIG, "package database set of %" PRIu64 " files, %"
			PRIu64 " bytes: over the limits", nfiles, nbytes);
		goto cleanup;
	}
	while (p < end) {
		rv_dbset_file *f;
		uint64_t size;
		unsigned char sum[RV_SHA256_LEN];

		rec++;
		if (literal(&p, end, "file ") == 0) {
			if (number(&size, &p, end, ' ') < 0 || end - p < 65 ||
			    rv_sha256_from_hex(sum, p, 64) < 0 || p[64] != ' ') {
				rc = rv_error_set(RV_EFORMAT, "package database set: record %zu: malformed", rec);
				goto cleanup;
			}
			p += 65;
			if (parse_path(&path, &p, end, '\n') < 0) {
				rc = rv_error_set(RV_EFORMAT, "package database set: record %zu: bad path", rec);
				goto cleanup;
			}
			if (size > (uint64_t)(end - p) || (uint64_t)(end - p) - size < 1 || p[size] != '\n') {
				rc = rv_error_set(RV_EFORMAT, "package database set: record %zu (%s): "
					"truncated contents", rec, path.ptr);
				goto cleanup;
			}
			if (s->bytes + size > nbytes) {
				rc = rv_error_set(RV_EFORMAT, "package database set: more bytes than the "
					"header's %" PRIu64, nbytes);
				goto cleanup;
			}
			if ((rc = rv_dbset_add(s, path.ptr, path.len, p, (size_t)size)) < 0)
				goto cleanup;
			f = &s->files[s->n - 1];
			if (memcmp(f->sha256, sum, RV_SHA256_LEN)) {
				rc = rv_error_set(RV_EVERIFY, "package database set: %s: contents do not "
					"match their sha256", f->path);
				goto cleanup;
			}
			p += size + 1;
		} else if (literal(&p, end, "fail ") == 0) {
			const char *m;

			if (parse_path(&path, &p, end, ' ') < 0 || !(nl = memchr(p, '\n', (size_t)(end - p)))) {
				rc = rv_error_set(RV_EFORMAT, "package database set: record %zu: malformed", rec);
				goto cleanup;
			}
			if (nl == p || (size_t)(nl - p) > RV_DBSET_MAX_MESSAGE || *p == ' ' || nl[-1] == ' ') {
				rc = rv_error_set(RV_EFORMAT, "package database set: record %zu (%s): "
					"bad message", rec, path.ptr);
				goto cleanup;
			}
			for (m = p; m < nl; m++)
				if (*m < 0x20 || *m > 0x7e) {
					rc = rv_error_set(RV_EFORMAT, "package database set: record %zu (%s): "
						"bad message", rec, path.ptr);
					goto cleanup;
				}
			{
				char msg[RV_DBSET_MAX_MESSAGE + 1];

				memcpy(msg, p, (size_t)(nl - p));
				msg[nl - p] = '\0';
				if ((rc = rv_dbset_add_failed(s, path.ptr, path.len, msg)) < 0)
					goto cleanup;
			}
			p = nl + 1;
		} else {
			rc = rv_error_set(RV_EFORMAT, "package database set: record %zu: "
				"neither 'file' nor 'fail'", rec);
			goto cleanup;
		}
		if (s->n > nfiles) {
			rc = rv_error_set(RV_EFORMAT, "package database set: more records than the "
				"header's %" PRIu64, nfiles);
			goto cleanup;
		}
		f = &s->files[s->n - 1];
		if (s->n > 1 && file_cmp(&s->files[s->n - 2], f) >= 0) {
			rc = rv_error_set(RV_EFORMAT, "package database set: record %zu (%s) out of "
				"order or repeated", rec, f->path);
			goto cleanup;
		}
	}
	if (s->n != nfiles || s->failed != nfailed || s->bytes != nbytes) {
		rc = rv_error_set(RV_EFORMAT, "package database set: %zu records (%zu failed, %"
			PRIu64 " bytes) where the header says %" PRIu64 " (%" PRIu64 ", %" PRIu64 ")",
			s->n, s->failed, s->bytes, nfiles, nfailed, nbytes);
		goto cleanup;
	}
	s->sorted = 1;
	*out = s;
	s = NULL;
	rc = RV_OK;
cleanup:
	rv_buf_dispose(&path);
	rv_dbset_free(s);
	return rc;
}
