/* layers_read.c - one layer stream (tar, gzip via igzip or zlib, zstd) read into a change list */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>
#include <isa-l/igzip_lib.h>
#include <zlib.h>
#include <zstd.h>

#include "sources/oci/layers.h"
#include "sources/oci/layers_impl.h"
#include "util/error.h"
#include "util/sha256.h"
#include "util/banned.h"

#define IN_SIZE (256u * 1024)
#define OUT_SIZE (256u * 1024)

int rv_layers_compression_of(rv_layers_compression *out, const char *mt)
{
	static const struct { const char *mt; rv_layers_compression c; } map[] = {
		{ "application/vnd.oci.image.layer.v1.tar", RV_LAYERS_TAR },
		{ "application/vnd.oci.image.layer.v1.tar+gzip", RV_LAYERS_GZIP },
		{ "application/vnd.oci.image.layer.v1.tar+zstd", RV_LAYERS_ZSTD },
		{ "application/vnd.docker.image.rootfs.diff.tar", RV_LAYERS_TAR },
		{ "application/vnd.docker.image.rootfs.diff.tar.gzip", RV_LAYERS_GZIP },
		{ "application/vnd.docker.image.rootfs.diff.tar.zstd", RV_LAYERS_ZSTD },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (!strcmp(mt, map[i].mt)) {
			*out = map[i].c;
			return RV_OK;
		}
	}
	return rv_error_set(RV_EUNSUPPORTED, "unsupported layer media type '%.200s'", mt);
}

/* --- paths -------------------------------------------------------------- */

/* Normalize a tar path into "/a/b" form (allocated). */
static int norm_path(char **out, size_t *out_len, const char *raw, const char *what)
{
	rv_buf b = RV_BUF_INIT(PATH_MAX_BYTES + 2);
	const char *p = raw, *c;
	size_t n;
	int rc;

	*out = NULL;
	if (!raw)
		return rv_error_set(RV_EFORMAT, "tar %s without a name", what);
	if (raw[0] == '/')
		return rv_error_set(RV_EFORMAT, "tar %s '%.300s' is an absolute path", what, raw);
	while (*p) {
		c = strchr(p, '/');
		n = c ? (size_t)(c - p) : strlen(p);
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			rv_buf_dispose(&b);
			return rv_error_set(RV_EFORMAT, "tar %s '%.300s' has a '..' component", what, raw);
		}
		if (n && !(n == 1 && p[0] == '.')) {
			if ((rc = rv_buf_putc(&b, '/')) < 0 || (rc = rv_buf_add(&b, p, n)) < 0) {
				rv_buf_dispose(&b);
				return rc == RV_ETOOBIG ? rv_error_set(RV_EFORMAT, "tar %s '%.300s...' is too long", what, raw) : rc;
			}
		}
		p += n;
		if (*p == '/')
			p++;
	}
	if (!b.len && (rc = rv_buf_putc(&b, '/')) < 0) {
		rv_buf_dispose(&b);
		return rc;
	}
	*out = rv_buf_detach(&b, out_len);
	if (!*out)
		return rv_error_set(RV_ENOMEM, "out of memory");
	return RV_OK;
}

/* --- decompression ------------------------------------------------------ */

struct reader {
	rv_layers_compression c;
	int use_zlib;
	rv_layers_read_fn fn;
	void *ctx;
	const volatile int *cancel;
	unsigned char *in, *out;
	size_t in_len, in_pos;
	int src_eof;
	int stream_end;       /* the compressed stream ended cleanly */
	uint64_t total_out, max_out;
	struct inflate_state *isal;
	z_stream z;
	int z_init;
	ZSTD_DStream *zs;
	int err;              /* an rv error happened inside a callback */
};

static int fill_in(struct reader *r)
{
	size_t got = 0;
	int rc;

	if (r->cancel && *r->cancel)
		return rv_error_set(RV_ERROR, "cancelled");
	if ((rc = r->fn(r->ctx, r->in, IN_SIZE, &got)) < 0)
		return rc;
	r->in_len = got;
	r->in_pos = 0;
	if (!got)
		r->src_eof = 1;
	return RV_OK;
}

/* Produce up to OUT_SIZE inflated bytes into r->out; *n = 0 at the end. */
static int produce(struct reader *r, size_t *n)
{
	int rc;

	*n = 0;
	for (;;) {
		if (r->in_pos == r->in_len && !r->src_eof && (rc = fill_in(r)) < 0)
			return rc;
		if (r->c == RV_LAYERS_TAR) {
			size_t k = r->in_len - r->in_pos;
			if (!k)
				return RV_OK;
			memcpy(r->out, r->in + r->in_pos, k);
			r->in_pos += k;
			*n = k;
		} else if (r->c == RV_LAYERS_GZIP && !r->use_zlib) {
			struct inflate_state *s = r->isal;
			int ret;

			if (r->in_pos == r->in_len && r->src_eof) {
				if (s->block_state != ISAL_BLOCK_FINISH)
					return rv_error_set(RV_EFORMAT, "gzip stream is truncated");
				r->stream_end = 1;
				return RV_OK;
			}
			if (s->block_state == ISAL_BLOCK_FINISH) {
				/* another gzip member follows */
				isal_inflate_reset(s);
				s->crc_flag = ISAL_GZIP;
			}
			s->next_in = r->in + r->in_pos;
			s->avail_in = (uint32_t)(r->in_len - r->in_pos);
			s->next_out = r->out;
			s->avail_out = OUT_SIZE;
			ret = isal_inflate(s);
			if (ret < 0)
				return rv_error_set(RV_EFORMAT, "gzip stream is corrupt (igzip error %d)", ret);
			r->in_pos = r->in_len - s->avail_in;
			*n = OUT_SIZE - s->avail_out;
		} else if (r->c == RV_LAYERS_GZIP) {
			int ret;

			if (r->in_pos == r->in_len && r->src_eof) {
				if (!r->stream_end)
					return rv_error_set(RV_EFORMAT, "gzip stream is truncated");
				return RV_OK;
			}
			if (r->stream_end) {
				inflateReset(&r->z);
				r->stream_end = 0;
			}
			r->z.next_in = r->in + r->in_pos;
			r->z.avail_in = (uInt)(r->in_len - r->in_pos);
			r->z.next_out = r->out;
			r->z.avail_out = OUT_SIZE;
			ret = inflate(&r->z, Z_NO_FLUSH);
			if (ret == Z_STREAM_END)
				r->stream_end = 1;
			else if (ret != Z_OK && ret != Z_BUF_ERROR)
				return rv_error_set(RV_EFORMAT, "gzip stream is corrupt (%s)",
					r->z.msg ? r->z.msg : "zlib error");
			r->in_pos = r->in_len - r->z.avail_in;
			*n = OUT_SIZE - r->z.avail_out;
		} else {
			ZSTD_inBuffer ib = { r->in + r->in_pos, r->in_len - r->in_pos, 0 };
			ZSTD_outBuffer ob = { r->out, OUT_SIZE, 0 };
			size_t ret;

			if (r->in_pos == r->in_len && r->src_eof) {
				if (!r->stream_end)
					return rv_error_set(RV_EFORMAT, "zstd stream is truncated");
				return RV_OK;
			}
			ret = ZSTD_decompressStream(r->zs, &ob, &ib);
			if (ZSTD_isError(ret))
				return rv_error_set(RV_EFORMAT, "zstd stream is corrupt (%s)",
					ZSTD_getErrorName(ret));
			r->stream_end = ret == 0;
			r->in_pos += ib.pos;
			*n = ob.pos;
		}
		if (*n) {
			r->total_out += *n;
			if (r->total_out > r->max_out)
				return rv_error_set(RV_ETOOBIG,
					"layer inflates to more than %llu bytes (a compression bomb?)",
					(unsigned long long)r->max_out);
			return RV_OK;
		}
	}
}

static la_ssize_t ar_read(struct archive *a, void *ctx, const void **buf)
{
	struct reader *r = ctx;
	size_t n;
	int rc;

	if ((rc = produce(r, &n)) < 0) {
		r->err = rc;
		archive_set_error(a, EIO, "%s", rv_error_last());
		return -1;
	}
	*buf = r->out;
	return (la_ssize_t)n;
}

/* Read the source to its end, so a verifying source checks its digest. */
static int drain(struct reader *r)
{
	int rc;

	while (!r->src_eof)
		if ((rc = fill_in(r)) < 0)
			return rc;
	return RV_OK;
}

static void reader_dispose(struct reader *r)
{
	free(r->in);
	free(r->out);
	free(r->isal);
	if (r->z_init)
		inflateEnd(&r->z);
	ZSTD_freeDStream(r->zs);
}

static int reader_init(struct reader *r, rv_layers_compression c,
	rv_layers_read_fn fn, void *ctx, const rv_layers_opts *opts)
{
	memset(r, 0, sizeof(*r));
	r->c = c;
	r->fn = fn;
	r->ctx = ctx;
	r->use_zlib = opts && opts->use_zlib;
	r->cancel = opts ? opts->cancel : NULL;
	r->max_out = opts && opts->max_inflated ? opts->max_inflated : RV_LAYERS_MAX_INFLATED;
	r->in = malloc(IN_SIZE);
	r->out = malloc(OUT_SIZE);
	if (!r->in || !r->out)
		return rv_error_set(RV_ENOMEM, "out of memory");
	if (c == RV_LAYERS_GZIP && !r->use_zlib) {
		if (!(r->isal = calloc(1, sizeof(*r->isal))))
			return rv_error_set(RV_ENOMEM, "out of memory");
		isal_inflate_init(r->isal);
		r->isal->crc_flag = ISAL_GZIP;
	} else if (c == RV_LAYERS_GZIP) {
		if (inflateInit2(&r->z, 16 + MAX_WBITS) != Z_OK)
			return rv_error_set(RV_ENOMEM, "cannot start zlib");
		r->z_init = 1;
	} else if (c == RV_LAYERS_ZSTD) {
		if (!(r->zs = ZSTD_createDStream()))
			return rv_error_set(RV_ENOMEM, "cannot start zstd");
		ZSTD_initDStream(r->zs);
	}
	return RV_OK;
}

/* --- reading a layer ---------------------------------------------------- */

/* Hash the current entry's data (size bytes from the header) into e;
 * with cap (size bytes, zeroed), copy the contents there too. */
static int hash_data(struct archive *a, struct reader *r, rv_manifest_entry *e, uint64_t size,
	unsigned char *cap)
{
	rv_sha256 h = { NULL };
	static const unsigned char zeros[4096];
	unsigned char head[4];
	size_t headn = 0;
	const void *buf;
	size_t len;
	la_int64_t off;
	uint64_t pos = 0;
	int ret, rc;

	if ((rc = rv_sha256_init(&h)) < 0)
		return rc;
	for (;;) {
		ret = archive_read_data_block(a, &buf, &len, &off);
		if (ret == ARCHIVE_EOF)
			break;
		if (ret < ARCHIVE_WARN) {
			rc = r->err ? r->err : rv_error_set(RV_EFORMAT, "tar data of '%.300s': %s",
				e->path, archive_error_string(a));
			goto cleanup;
		}
		if (off < 0 || (uint64_t)off < pos || (uint64_t)off + len > size) {
			rc = rv_error_set(RV_EFORMAT, "tar data of '%.300s' lies about its size", e->path);
			goto cleanup;
		}
		while (pos < (uint64_t)off) { /* a sparse hole */
			size_t k = (uint64_t)off - pos > sizeof(zeros) ? sizeof(zeros) : (size_t)((uint64_t)off - pos);
			if ((rc = rv_sha256_update(&h, zeros, k)) < 0)
				goto cleanup;
			if (headn < 4) {
				size_t t = 4 - headn < k ? 4 - headn : k;
				memset(head + headn, 0, t);
				headn += t;
			}
			pos += k;
		}
		if (headn < 4) {
			size_t t = 4 - headn < len ? 4 - headn : len;
			memcpy(head + headn, buf, t);
			headn += t;
		}
		if ((rc = rv_sha256_update(&h, buf, len)) < 0)
			goto cleanup;
		if (cap && len)
			memcpy(cap + off, buf, len); /* off + len <= size: checked above */
		pos += len;
	}
	while (pos < size) {
		size_t k = size - pos > sizeof(zeros) ? sizeof(zeros) : (size_t)(size - pos);
		if ((rc = rv_sha256_update(&h, zeros, k)) < 0)
			goto cleanup;
		if (headn < 4) {
			size_t t = 4 - headn < k ? 4 - headn : k;
			memset(head + headn, 0, t);
			headn += t;
		}
		pos += k;
	}
	e->elf = headn == 4 && !memcmp(head, "\x7f" "ELF", 4);
	e->has_digest = 1;
	rc = rv_sha256_final(&h, e->digest);
cleanup:
	rv_sha256_dispose(&h);
	return rc;
}

/* Capture the data of the regular file at path (a package database, or
 * a hardlink target, of at most max bytes) into an OP_DB or OP_XDB
 * (kind), hashing it into e when hash is set. Too large for its cap or
 * for the layer's: a fail record (and the data is hashed or skipped as
 * without capture). */
static int capture(rv_layers_list *l, unsigned char kind, struct archive *a, struct reader *r,
	rv_manifest_entry *e, const char *path, size_t path_len, size_t max,
	const rv_layers_opts *opts, int hash)
{
	uint64_t layer_cap = opts->max_db_layer ? opts->max_db_layer : RV_LAYERS_MAX_DB_LAYER;
	unsigned char *data = NULL;
	char why[128];
	int rc;

	if (e->size > max || l->db_bytes + e->size > layer_cap) {
		if (e->size > max)
			snprintf(why, sizeof(why), "larger than the limit of %zu bytes", max);
		else
			snprintf(why, sizeof(why), "package databases of the layer over the limit "
				"of %llu bytes", (unsigned long long)layer_cap);
		if (hash && (rc = hash_data(a, r, e, e->size, NULL)) < 0)
			return rc;
		return layers_push_db(l, kind, path, path_len, NULL, e->size, why);
	}
	if (e->size && !(data = calloc(1, (size_t)e->size)))
		return rv_error_set(RV_ENOMEM, "out of memory");
	e->path = (char *)path;
	rc = hash_data(a, r, e, e->size, data);
	e->path = NULL;
	if (rc < 0) {
		free(data);
		return rc;
	}
	return layers_push_db(l, kind, path, path_len, data, e->size, NULL);
}

static int target_find_cmp(const void *k, const void *t)
{
	return strcmp(k, ((const rv_layers_target *)t)->path);
}

/* Is path one of opts->db_targets (sorted)? Its cap, or 0. */
static size_t db_target(const rv_layers_opts *o, const char *path)
{
	const rv_layers_target *t;

	if (!o->ndb_targets)
		return 0;
	t = bsearch(path, o->db_targets, o->ndb_targets, sizeof(*o->db_targets), target_find_cmp);
	return t ? (t->max ? t->max : 1) : 0;
}

static int read_entries(rv_layers_list *l, struct archive *a, struct reader *r,
	const rv_layers_opts *opts, const struct scope *sc)
{
	struct archive_entry *ae;
	rv_manifest_entry e;
	char *path = NULL, *link = NULL;
	size_t path_len, link_len, max;
	const char *name, *base;
	int pk = opts && opts->packages;
	int ret, rc = RV_OK, scoped, kept, captured;
	rv_dbpath_kind want;

	for (;;) {
		ret = archive_read_next_header(a, &ae);
		if (ret == ARCHIVE_EOF)
			break;
		if (ret < ARCHIVE_WARN) {
			rc = r->err ? r->err : rv_error_set(RV_EFORMAT, "tar: %s", archive_error_string(a));
			goto cleanup;
		}
		memset(&e, 0, sizeof(e));
		name = archive_entry_pathname(ae);
		if ((rc = norm_path(&path, &path_len, name, "entry")) < 0)
			goto cleanup;
		base = strrchr(path, '/') + 1;
		if (!strncmp(base, ".wh.", 4)) {
			size_t dl = (size_t)(base - path) - 1; /* parent without slash */
			char *t;

			if (!dl)
				dl = 1; /* parent is "/" */
			if (!strcmp(base, ".wh..wh..opq")) {
				path[dl] = '\0';
				/* with packages, every marker: a database can be anywhere */
				if (pk || layers_in_scope(sc, path, dl) || layers_above_scope(sc, path, dl)) {
					rc = layers_list_push(l, OP_OPAQUE, NULL, path, dl, NULL, 0);
					path = NULL;
					if (rc < 0)
						goto cleanup;
				}
			} else if (strncmp(base, ".wh..wh.", 8) && base[4]) {
				/* ".wh.NAME" hides NAME */
				size_t tl = (size_t)(base - path) + strlen(base + 4);

				if (!(t = malloc(tl + 1))) {
					rc = rv_error_set(RV_ENOMEM, "out of memory");
					goto cleanup;
				}
				memcpy(t, path, (size_t)(base - path));
				memcpy(t + (base - path), base + 4, strlen(base + 4) + 1);
				if (!strcmp(base + 4, ".") || !strcmp(base + 4, "..")) {
					free(t);
					rc = rv_error_set(RV_EFORMAT, "tar whiteout '%.300s' names '.' or '..'", name);
					goto cleanup;
				}
				if (pk || layers_in_scope(sc, t, tl) || layers_above_scope(sc, t, tl)) {
					rc = layers_list_push(l, OP_WHITEOUT, NULL, t, tl, NULL, 0);
					if (rc < 0)
						goto cleanup;
				} else {
					free(t);
				}
			}
			free(path);
			path = NULL;
			continue;
		}
		scoped = layers_in_scope(sc, path, path_len);
		kept = scoped || layers_above_scope(sc, path, path_len);
		if (!kept && !pk) {
			free(path);
			path = NULL;
			continue;
		}
		want = pk ? rv_dbpath_classify(path, path_len, &max) : RV_DBPATH_NONE;
		captured = 0;
		e.mode = (uint32_t)archive_entry_mode(ae) & 07777;
		if (archive_entry_uid(ae) < 0 || archive_entry_uid(ae) > 0xffffffffLL ||
		    archive_entry_gid(ae) < 0 || archive_entry_gid(ae) > 0xffffffffLL) {
			rc = rv_error_set(RV_EFORMAT, "tar entry '%.300s' has an out-of-range owner", name);
			goto cleanup;
		}
		e.uid = (uint32_t)archive_entry_uid(ae);
		e.gid = (uint32_t)archive_entry_gid(ae);
		if (archive_entry_hardlink(ae)) {
			/* kept out of the paths too with packages: the fold
			 * resolves a hardlink to a database like any other */
			if ((rc = norm_path(&link, &link_len, archive_entry_hardlink(ae), "hardlink target")) < 0)
				goto cleanup;
			rc = layers_list_push(l, OP_LINK, &e, path, path_len, link, link_len);
			path = link = NULL;
			if (rc < 0)
				goto cleanup;
			continue;
		}
		switch (archive_entry_filetype(ae)) {
		case AE_IFREG:
			e.type = RV_FT_FILE;
			if (archive_entry_size(ae) < 0) {
				rc = rv_error_set(RV_EFORMAT, "tar entry '%.300s' has a negative size", name);
				goto cleanup;
			}
			e.size = (uint64_t)archive_entry_size(ae);
			if (want == RV_DBPATH_NONE && pk && (max = db_target(opts, path)) > 0)
				captured = OP_XDB; /* a database's hardlink target */
			else if (want != RV_DBPATH_NONE)
				captured = OP_DB;
			if (captured) {
				/* the record goes right after the entry: moved below */
				if ((rc = capture(l, (unsigned char)captured, a, r, &e, path, path_len,
				    max, opts, scoped)) < 0)
					goto cleanup;
			} else if (scoped) {
				e.path = path;
				rc = hash_data(a, r, &e, e.size, NULL);
				e.path = NULL;
				if (rc < 0)
					goto cleanup;
			}
			break;
		case AE_IFDIR:
			e.type = RV_FT_DIR;
			break;
		case AE_IFLNK: {
			const char *target = archive_entry_symlink(ae);

			e.type = RV_FT_SYMLINK;
			e.mode = 0777; /* Linux symlinks have no mode of their own */
			if (!target) {
				rc = rv_error_set(RV_EFORMAT, "tar symlink '%.300s' has no target", name);
				goto cleanup;
			}
			e.size = strlen(target);
			e.has_digest = 1;
			if ((rc = rv_sha256_buf(e.digest, target, e.size)) < 0)
				goto cleanup;
			break;
		}
		case AE_IFCHR:
			e.type = RV_FT_CHAR;
			break;
		case AE_IFBLK:
			e.type = RV_FT_BLOCK;
			break;
		case AE_IFIFO:
			e.type = RV_FT_FIFO;
			break;
		case AE_IFSOCK:
			e.type = RV_FT_SOCKET;
			break;
		default:
			rc = rv_error_set(RV_EFORMAT, "tar entry '%.300s' has an unknown type", name);
			goto cleanup;
		}
		if (kept) {
			rc = layers_list_push(l, OP_ENTRY, &e, path, path_len, NULL, 0);
			path = NULL;
			if (rc < 0)
				goto cleanup;
		} else if (e.type != RV_FT_FILE || want == RV_DBPATH_NONE) {
			/* packages, outside the paths: where it is and what it
			 * is, all a non-directory needs to hide what was below
			 * it (and a directory, to replace a database file) */
			if (e.type != RV_FT_DIR || want != RV_DBPATH_NONE) {
				rv_manifest_entry pe;

				memset(&pe, 0, sizeof(pe));
				pe.type = e.type;
				rc = layers_list_push(l, OP_PLACE, &pe, path, path_len, NULL, 0);
				path = NULL;
				if (rc < 0)
					goto cleanup;
			}
		}
		if (captured && l->ops[l->n - 1].kind != captured) {
			/* capture() appended its record before the entry (or
			 * place): swap them, so the entry comes first and the
			 * fold's replacement of the path does not undo it */
			struct op tmp = l->ops[l->n - 1];

			l->ops[l->n - 1] = l->ops[l->n - 2];
			l->ops[l->n - 2] = tmp;
		}
		free(path); /* a database outside the paths: its OP_DB says it */
		path = NULL;
	}
cleanup:
	free(path);
	free(link);
	return rc;
}

int rv_layers_read(rv_layers_list **out, rv_layers_compression c,
	rv_layers_read_fn fn, void *ctx, const rv_layers_opts *opts)
{
	struct reader r;
	struct scope sc = { NULL, 0, 0 };
	struct archive *a = NULL;
	rv_layers_list *l = NULL;
	int rc;

	*out = NULL;
	if ((rc = reader_init(&r, c, fn, ctx, opts)) < 0 || (rc = layers_scope_init(&sc, opts)) < 0)
		goto cleanup;
	if (!(l = calloc(1, sizeof(*l))) || !(a = archive_read_new())) {
		rc = rv_error_set(RV_ENOMEM, "out of memory");
		goto cleanup;
	}
	archive_read_support_format_tar(a);
	archive_read_support_format_empty(a); /* a zero-byte layer: no entries */
	/* Names are bytes: no charset conversion. */
	(void)archive_read_set_format_option(a, "tar", "hdrcharset", "BINARY");
	if (archive_read_open(a, &r, NULL, ar_read, NULL) != ARCHIVE_OK) {
		rc = r.err ? r.err : rv_error_set(RV_EFORMAT, "tar: %s", archive_error_string(a));
		goto cleanup;
	}
	l->max_ops = opts && opts->max_ops ? opts->max_ops : RV_LAYERS_MAX_OPS;
	if ((rc = read_entries(l, a, &r, opts, &sc)) < 0)
		goto cleanup;
	/* Inflate what follows the end marker too, so a truncated or
	 * corrupt compressed stream is caught, then read the source out. */
	for (;;) {
		size_t n;
		if ((rc = produce(&r, &n)) < 0)
			goto cleanup;
		if (!n)
			break;
	}
	if ((rc = drain(&r)) < 0)
		goto cleanup;
	l->tar_bytes = r.total_out;
	l->packages = opts && opts->packages;
	*out = l;
	l = NULL;
cleanup:
	if (a)
		archive_read_free(a);
	reader_dispose(&r);
	layers_scope_dispose(&sc);
	rv_layers_list_free(l);
	return rc;
}

