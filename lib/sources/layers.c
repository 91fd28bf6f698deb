/* layers.c - image layers (tar, gzip, zstd) streamed into change lists, folded into a manifest */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>
#include <isa-l/igzip_lib.h>
#include <zlib.h>
#include <zstd.h>

#include "sources/layers.h"
#include "sources/sbom.h"
#include "util/error.h"
#include "util/sha256.h"
#include "util/banned.h"

#define IN_SIZE (256u * 1024)
#define OUT_SIZE (256u * 1024)
#define PATH_MAX_BYTES 4096u
/* Version 2 added the package database capture (OP_PLACE, OP_DB); a
 * version 1 entry in a cache no longer parses and is fetched again. */
#define LIST_MAGIC "rv-layer-changes 2\n"

/*
 * OP_ENTRY    an entry under the requested paths (or a non-directory
 *             above them), with its metadata
 * OP_LINK     a hardlink: e.path -> link
 * OP_WHITEOUT e.path and all below it go; OP_OPAQUE: all below e.path go
 * OP_PLACE    (packages) any other entry, path and e.type only: what can
 *             replace a package database or a directory holding one
 * OP_DB       (packages) a package database at e.path: data (e.size
 *             bytes) or, when link is set, why it was not captured
 *             (e.size is then the size the header gave)
 * OP_XDB      (packages, opts->db_targets) like OP_DB, for a file that is
 *             no database but the target of a hardlink at one: folded
 *             like a database, never in the set itself
 */
enum op_kind { OP_ENTRY = 1, OP_LINK, OP_WHITEOUT, OP_OPAQUE, OP_PLACE, OP_DB, OP_XDB };

/* The largest cap of any database kind: what an OP_XDB may hold. */
#define XDB_MAX ((uint64_t)RV_SBOM_MAX_RPM)

struct op {
	unsigned char kind;
	rv_manifest_entry e;  /* e.path owned */
	char *link;           /* OP_LINK: target path; OP_DB: fail message; owned */
	size_t link_len;
	unsigned char *data;  /* OP_DB: captured contents, owned (NULL if empty) */
};

struct rv_layers_list {
	struct op *ops;
	size_t n, cap;
	uint64_t tar_bytes;
	int packages;         /* read with opts->packages */
	uint64_t db_bytes;    /* sum of captured contents */
	size_t max_ops;       /* 0: no cap */
};

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

void rv_layers_list_free(rv_layers_list *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++) {
		free(l->ops[i].e.path);
		free(l->ops[i].link);
		free(l->ops[i].data);
	}
	free(l->ops);
	free(l);
}

uint64_t rv_layers_list_tar_bytes(const rv_layers_list *l)
{
	return l->tar_bytes;
}

size_t rv_layers_list_count(const rv_layers_list *l)
{
	return l->n;
}

uint64_t rv_layers_list_db_bytes(const rv_layers_list *l)
{
	return l->db_bytes;
}

static char *memdup0(const char *p, size_t n)
{
	char *d = malloc(n + 1);

	if (d) {
		memcpy(d, p, n);
		d[n] = '\0';
	}
	return d;
}

int rv_layers_list_drop_db(rv_layers_list *l, const char *why)
{
	size_t i, n = strlen(why);

	for (i = 0; i < l->n; i++) {
		struct op *o = &l->ops[i];
		char *m;

		if ((o->kind != OP_DB && o->kind != OP_XDB) || o->link)
			continue;
		if (!(m = memdup0(why, n)))
			return rv_error_set(RV_ENOMEM, "out of memory");
		free(o->data);
		o->data = NULL;
		o->link = m;
		o->link_len = n;
	}
	l->db_bytes = 0;
	return RV_OK;
}

/* Append an op; takes ownership of path and link (freed on failure). */
static int list_push(rv_layers_list *l, unsigned char kind, const rv_manifest_entry *e,
	char *path, size_t path_len, char *link, size_t link_len)
{
	struct op *o;

	if (l->max_ops && l->n >= l->max_ops) {
		free(path);
		free(link);
		return rv_error_set(RV_ETOOBIG, "layer has more than %zu entries to keep "
			"(the limit; a hostile layer?)", l->max_ops);
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		void *p = realloc(l->ops, cap * sizeof(*l->ops));
		if (!p) {
			free(path);
			free(link);
			return rv_error_set(RV_ENOMEM, "out of memory");
		}
		l->ops = p;
		l->cap = cap;
	}
	o = &l->ops[l->n++];
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	if (e)
		o->e = *e;
	o->e.path = path;
	o->e.path_len = path_len;
	o->link = link;
	o->link_len = link_len;
	o->data = NULL;
	return RV_OK;
}

/* Append an OP_DB or OP_XDB (kind) for path (copied): data (owned, size
 * bytes) or, with why set (copied), a fail record for a file of that size. */
static int push_db(rv_layers_list *l, unsigned char kind, const char *path, size_t len,
	unsigned char *data, uint64_t size, const char *why)
{
	rv_manifest_entry e;
	char *p = memdup0(path, len), *w = NULL;
	int rc;

	if (!p || (why && !(w = memdup0(why, strlen(why))))) {
		free(p);
		free(data);
		return rv_error_set(RV_ENOMEM, "out of memory");
	}
	memset(&e, 0, sizeof(e));
	e.type = RV_FT_FILE;
	e.size = size;
	if ((rc = list_push(l, kind, &e, p, len, w, w ? strlen(w) : 0)) < 0) {
		free(data);
		return rc;
	}
	l->ops[l->n - 1].data = data;
	if (!why)
		l->db_bytes += size;
	return RV_OK;
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

/* Is path at or below root? */
static int under(const char *path, size_t len, const char *root)
{
	return rv_manifest_path_within(path, len, root, strlen(root));
}

/* Is path strictly below prefix? */
static int strictly_under(const char *path, size_t len, const char *prefix, size_t pl)
{
	if (pl == 1 && prefix[0] == '/')
		return len > 1;
	return len > pl && !memcmp(path, prefix, pl) && path[pl] == '/';
}

/*
 * The requested paths, as a scope: sorted in tree order (bytes, but '/'
 * before every other byte, so everything below a path comes right after
 * it: "/a", "/a/x", "/a-b") and reduced to those below no other. Then a
 * path is in scope iff the last root at or before it is the path or an
 * ancestor of it, and it is above the scope iff the first root after it is
 * below it: a binary search each, however many paths the second pass of
 * hardlinks out of the paths adds (a scan of all of them per entry was
 * entries x targets).
 */
struct root {
	const char *p;        /* borrowed from opts->paths */
	size_t len;
};

struct scope {
	struct root *r;
	size_t n;
	int all;              /* no paths, or "/": everything */
};

/* Compare in tree order. Paths hold no NUL byte. */
static int tree_cmp(const char *a, size_t al, const char *b, size_t bl)
{
	size_t i, m = al < bl ? al : bl;
	int x, y;

	for (i = 0; i < m && a[i] == b[i]; i++)
		;
	if (i == m)
		return (al > bl) - (al < bl);
	x = a[i] == '/' ? 0 : (unsigned char)a[i] + 1;
	y = b[i] == '/' ? 0 : (unsigned char)b[i] + 1;
	return x - y;
}

static int root_cmp(const void *a, const void *b)
{
	const struct root *x = a, *y = b;

	return tree_cmp(x->p, x->len, y->p, y->len);
}

static void scope_dispose(struct scope *s)
{
	free(s->r);
	memset(s, 0, sizeof(*s));
}

static int scope_init(struct scope *s, const rv_layers_opts *o)
{
	size_t i, j;

	memset(s, 0, sizeof(*s));
	if (!o || !o->npaths) {
		s->all = 1;
		return RV_OK;
	}
	if (!(s->r = malloc(o->npaths * sizeof(*s->r))))
		return rv_error_set(RV_ENOMEM, "out of memory");
	for (i = 0; i < o->npaths; i++) {
		s->r[i].p = o->paths[i];
		s->r[i].len = strlen(o->paths[i]);
		if (s->r[i].len == 1 && s->r[i].p[0] == '/')
			s->all = 1;
	}
	qsort(s->r, o->npaths, sizeof(*s->r), root_cmp);
	/* what is below a kept root comes right after it */
	for (i = j = 0; i < o->npaths; i++)
		if (!j || !under(s->r[i].p, s->r[i].len, s->r[j - 1].p))
			s->r[j++] = s->r[i];
	s->n = j;
	return RV_OK;
}

/* The number of roots at or before path in tree order. */
static size_t scope_upper(const struct scope *s, const char *path, size_t len)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (tree_cmp(s->r[mid].p, s->r[mid].len, path, len) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int in_scope(const struct scope *s, const char *path, size_t len)
{
	size_t i;

	if (s->all)
		return 1;
	i = scope_upper(s, path, len);
	return i > 0 && under(path, len, s->r[i - 1].p);
}

/* Is path a proper ancestor of a requested root? (Asked of a path out of
 * scope: one in scope may be above a root that the reduction dropped.) */
static int above_scope(const struct scope *s, const char *path, size_t len)
{
	size_t i;

	if (s->all)
		return 0;
	i = scope_upper(s, path, len);
	return i < s->n && strictly_under(s->r[i].p, s->r[i].len, path, len);
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
		return push_db(l, kind, path, path_len, NULL, e->size, why);
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
	return push_db(l, kind, path, path_len, data, e->size, NULL);
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
	rv_sbom_kind want;

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
				if (pk || in_scope(sc, path, dl) || above_scope(sc, path, dl)) {
					rc = list_push(l, OP_OPAQUE, NULL, path, dl, NULL, 0);
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
				if (pk || in_scope(sc, t, tl) || above_scope(sc, t, tl)) {
					rc = list_push(l, OP_WHITEOUT, NULL, t, tl, NULL, 0);
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
		scoped = in_scope(sc, path, path_len);
		kept = scoped || above_scope(sc, path, path_len);
		if (!kept && !pk) {
			free(path);
			path = NULL;
			continue;
		}
		want = pk ? rv_sbom_wants(path, path_len, &max) : RV_SBOM_NONE;
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
			rc = list_push(l, OP_LINK, &e, path, path_len, link, link_len);
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
			if (want == RV_SBOM_NONE && pk && (max = db_target(opts, path)) > 0)
				captured = OP_XDB; /* a database's hardlink target */
			else if (want != RV_SBOM_NONE)
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
			rc = list_push(l, OP_ENTRY, &e, path, path_len, NULL, 0);
			path = NULL;
			if (rc < 0)
				goto cleanup;
		} else if (e.type != RV_FT_FILE || want == RV_SBOM_NONE) {
			/* packages, outside the paths: where it is and what it
			 * is, all a non-directory needs to hide what was below
			 * it (and a directory, to replace a database file) */
			if (e.type != RV_FT_DIR || want != RV_SBOM_NONE) {
				rv_manifest_entry pe;

				memset(&pe, 0, sizeof(pe));
				pe.type = e.type;
				rc = list_push(l, OP_PLACE, &pe, path, path_len, NULL, 0);
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
	if ((rc = reader_init(&r, c, fn, ctx, opts)) < 0 || (rc = scope_init(&sc, opts)) < 0)
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
	scope_dispose(&sc);
	rv_layers_list_free(l);
	return rc;
}

/* --- serialization ------------------------------------------------------ */

static int put_u32(rv_buf *b, uint32_t v)
{
	unsigned char x[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16),
		(unsigned char)(v >> 8), (unsigned char)v };
	return rv_buf_add(b, x, 4);
}

static int put_u64(rv_buf *b, uint64_t v)
{
	int rc = put_u32(b, (uint32_t)(v >> 32));
	return rc < 0 ? rc : put_u32(b, (uint32_t)v);
}

static int put_path(rv_buf *b, const char *p, size_t n)
{
	int rc = put_u32(b, (uint32_t)n);

	return rc < 0 || !n ? rc : rv_buf_add(b, p, n);
}

/*
 * LIST_MAGIC, u64 tar bytes, u32 flags (1: packages), u64 op count, then
 * per op (big-endian numbers; a path is u32 length + bytes):
 *   ENTRY, LINK, WHITEOUT, OPAQUE: kind, type, elf, has_digest (bytes),
 *     u32 mode, uid, gid, u64 size, 32-byte digest, path, link path
 *     (length 0 but for LINK)
 *   PLACE: kind, type, path
 *   DB, XDB: kind, failed (0/1), u64 size, path, then the size bytes of
 *          contents, or (failed) u32 length + the message
 */
int rv_layers_list_serialize(rv_buf *out, const rv_layers_list *l)
{
	size_t i;
	int rc;

	if ((rc = rv_buf_puts(out, LIST_MAGIC)) < 0 || (rc = put_u64(out, l->tar_bytes)) < 0 ||
	    (rc = put_u32(out, l->packages ? 1 : 0)) < 0 || (rc = put_u64(out, l->n)) < 0)
		return rc;
	for (i = 0; i < l->n; i++) {
		const struct op *o = &l->ops[i];
		unsigned char fl[4] = { o->kind, (unsigned char)o->e.type,
			(unsigned char)(o->e.elf ? 1 : 0), (unsigned char)(o->e.has_digest ? 1 : 0) };

		if (o->kind == OP_PLACE) {
			if ((rc = rv_buf_add(out, fl, 2)) < 0 ||
			    (rc = put_path(out, o->e.path, o->e.path_len)) < 0)
				return rc;
			continue;
		}
		if (o->kind == OP_DB || o->kind == OP_XDB) {
			fl[1] = o->link ? 1 : 0;
			if ((rc = rv_buf_add(out, fl, 2)) < 0 || (rc = put_u64(out, o->e.size)) < 0 ||
			    (rc = put_path(out, o->e.path, o->e.path_len)) < 0)
				return rc;
			if (o->link)
				rc = put_path(out, o->link, o->link_len);
			else if (o->e.size)
				rc = rv_buf_add(out, o->data, (size_t)o->e.size);
			if (rc < 0)
				return rc;
			continue;
		}
		if ((rc = rv_buf_add(out, fl, 4)) < 0 || (rc = put_u32(out, o->e.mode)) < 0 ||
		    (rc = put_u32(out, o->e.uid)) < 0 || (rc = put_u32(out, o->e.gid)) < 0 ||
		    (rc = put_u64(out, o->e.size)) < 0 ||
		    (rc = rv_buf_add(out, o->e.digest, RV_SHA256_LEN)) < 0 ||
		    (rc = put_path(out, o->e.path, o->e.path_len)) < 0 ||
		    (rc = put_path(out, o->link, o->link_len)) < 0)
			return rc;
	}
	return RV_OK;
}

struct cursor {
	const unsigned char *p;
	size_t left;
};

static int get_bytes(struct cursor *c, void *out, size_t n)
{
	if (c->left < n)
		return RV_EFORMAT;
	memcpy(out, c->p, n);
	c->p += n;
	c->left -= n;
	return RV_OK;
}

static int get_u32(struct cursor *c, uint32_t *v)
{
	unsigned char x[4];

	if (get_bytes(c, x, 4) < 0)
		return RV_EFORMAT;
	*v = (uint32_t)x[0] << 24 | (uint32_t)x[1] << 16 | (uint32_t)x[2] << 8 | x[3];
	return RV_OK;
}

static int get_u64(struct cursor *c, uint64_t *v)
{
	uint32_t hi, lo;

	if (get_u32(c, &hi) < 0 || get_u32(c, &lo) < 0)
		return RV_EFORMAT;
	*v = (uint64_t)hi << 32 | lo;
	return RV_OK;
}

static int get_path(struct cursor *c, char **out, size_t *len, int allow_empty)
{
	uint32_t n;

	*out = NULL;
	if (get_u32(c, &n) < 0 || n > PATH_MAX_BYTES + 1 || c->left < n)
		return RV_EFORMAT;
	*len = n;
	if (!n) {
		if (!allow_empty)
			return RV_EFORMAT;
		return RV_OK;
	}
	if (memchr(c->p, '\0', n) || rv_manifest_check_path((const char *)c->p, n) < 0)
		return RV_EFORMAT;
	if (!(*out = malloc(n + 1)))
		return RV_ENOMEM;
	memcpy(*out, c->p, n);
	(*out)[n] = '\0';
	c->p += n;
	c->left -= n;
	return RV_OK;
}

/* A fail message as core/dbset.h allows it: 1 to RV_DBSET_MAX_MESSAGE
 * printable ASCII bytes, no space at either end. */
static int get_message(struct cursor *c, char **out, size_t *len)
{
	uint32_t n, i;

	*out = NULL;
	if (get_u32(c, &n) < 0 || !n || n > RV_DBSET_MAX_MESSAGE || c->left < n ||
	    c->p[0] == ' ' || c->p[n - 1] == ' ')
		return RV_EFORMAT;
	for (i = 0; i < n; i++)
		if (c->p[i] < 0x20 || c->p[i] > 0x7e)
			return RV_EFORMAT;
	if (!(*out = memdup0((const char *)c->p, n)))
		return RV_ENOMEM;
	*len = n;
	c->p += n;
	c->left -= n;
	return RV_OK;
}

/* One OP_DB or OP_XDB (kind) after its kind byte. */
static int parse_db(rv_layers_list *l, struct cursor *c, unsigned char kind)
{
	unsigned char failed;
	uint64_t size;
	size_t pl = 0, ml = 0, max;
	char *path = NULL, *msg = NULL;
	unsigned char *data = NULL;
	int rc;

	if (get_bytes(c, &failed, 1) < 0 || failed > 1 || get_u64(c, &size) < 0)
		return RV_EFORMAT;
	if ((rc = get_path(c, &path, &pl, 0)) < 0)
		return rc;
	if (kind == OP_XDB)
		max = (size_t)XDB_MAX;
	else if (rv_sbom_wants(path, pl, &max) == RV_SBOM_NONE) {
		rc = RV_EFORMAT;
		goto fail;
	}
	if (failed) {
		if ((rc = get_message(c, &msg, &ml)) < 0)
			goto fail;
	} else {
		if (size > max || size > c->left) {
			rc = RV_EFORMAT;
			goto fail;
		}
		if (size && !(data = malloc((size_t)size))) {
			rc = RV_ENOMEM;
			goto fail;
		}
		if (size)
			memcpy(data, c->p, (size_t)size);
		c->p += size;
		c->left -= (size_t)size;
	}
	rc = push_db(l, kind, path, pl, data, size, msg);
	free(path);
	free(msg);
	return rc < 0 ? (rc == RV_ENOMEM ? RV_ENOMEM : RV_EFORMAT) : RV_OK;
fail:
	free(path);
	free(msg);
	free(data);
	return rc;
}

int rv_layers_list_parse(rv_layers_list **out, const void *data, size_t len)
{
	struct cursor c = { data, len };
	rv_layers_list *l = NULL;
	uint64_t count, i;
	uint32_t flags;
	char magic[sizeof(LIST_MAGIC) - 1];
	int rc = RV_OK;

	*out = NULL;
	if (get_bytes(&c, magic, sizeof(magic)) < 0 || memcmp(magic, LIST_MAGIC, sizeof(magic)))
		return rv_error_set(RV_EFORMAT, "not a layer change list (version 2)");
	if (!(l = calloc(1, sizeof(*l))))
		return rv_error_set(RV_ENOMEM, "out of memory");
	/* the smallest op (PLACE of "/") takes 7 bytes */
	if (get_u64(&c, &l->tar_bytes) < 0 || get_u32(&c, &flags) < 0 || flags > 1 ||
	    get_u64(&c, &count) < 0 || count > len / 7 || count > RV_LAYERS_MAX_OPS) {
		rc = RV_EFORMAT;
		goto cleanup;
	}
	l->packages = (int)flags;
	l->max_ops = RV_LAYERS_MAX_OPS;
	for (i = 0; i < count; i++) {
		unsigned char fl[4];
		rv_manifest_entry e;
		char *path = NULL, *link = NULL;
		size_t pl = 0, ll = 0;

		memset(&e, 0, sizeof(e));
		if (get_bytes(&c, fl, 1) < 0) {
			rc = RV_EFORMAT;
			goto cleanup;
		}
		if ((fl[0] == OP_PLACE || fl[0] == OP_DB || fl[0] == OP_XDB) && !l->packages) {
			rc = RV_EFORMAT;
			goto cleanup;
		}
		if (fl[0] == OP_DB || fl[0] == OP_XDB) {
			if ((rc = parse_db(l, &c, fl[0])) < 0)
				goto cleanup;
			continue;
		}
		if (fl[0] == OP_PLACE) {
			if (get_bytes(&c, fl + 1, 1) < 0 || fl[1] > RV_FT_MOUNT) {
				rc = RV_EFORMAT;
				goto cleanup;
			}
			e.type = (rv_ftype)fl[1];
			if ((rc = get_path(&c, &path, &pl, 0)) < 0 ||
			    (rc = list_push(l, OP_PLACE, &e, path, pl, NULL, 0)) < 0)
				goto cleanup;
			continue;
		}
		if (get_bytes(&c, fl + 1, 3) < 0 || get_u32(&c, &e.mode) < 0 || get_u32(&c, &e.uid) < 0 ||
		    get_u32(&c, &e.gid) < 0 || get_u64(&c, &e.size) < 0 ||
		    get_bytes(&c, e.digest, RV_SHA256_LEN) < 0) {
			rc = RV_EFORMAT;
			goto cleanup;
		}
		if (fl[0] < OP_ENTRY || fl[0] > OP_OPAQUE || fl[1] > RV_FT_MOUNT || fl[2] > 1 ||
		    fl[3] > 1 || e.mode > 07777) {
			rc = RV_EFORMAT;
			goto cleanup;
		}
		e.type = (rv_ftype)fl[1];
		e.elf = fl[2];
		e.has_digest = fl[3];
		if ((rc = get_path(&c, &path, &pl, 0)) < 0 ||
		    (rc = get_path(&c, &link, &ll, fl[0] != OP_LINK)) < 0) {
			free(path);
			goto cleanup;
		}
		if ((rc = list_push(l, fl[0], &e, path, pl, link, ll)) < 0)
			goto cleanup;
	}
	if (c.left)
		rc = RV_EFORMAT;
cleanup:
	if (rc < 0) {
		rv_layers_list_free(l);
		if (rc == RV_EFORMAT)
			return rv_error_set(RV_EFORMAT, "malformed layer change list");
		return rc == RV_ENOMEM ? rv_error_set(RV_ENOMEM, "out of memory") : rc;
	}
	*out = l;
	return RV_OK;
}

/* --- a bit set with summary levels -------------------------------------- */

/* A bit of level k+1 says its word of level k is not zero, so the next
 * set bit from any point is found in a few word reads. */
#define BIT_LEVELS 8

struct bits {
	uint64_t *w[BIT_LEVELS];
	size_t nwords[BIT_LEVELS];
	int levels;
	size_t n;
};

static void bits_dispose(struct bits *b)
{
	int lv;

	for (lv = 0; lv < b->levels; lv++)
		free(b->w[lv]);
	memset(b, 0, sizeof(*b));
}

/* n bits, all clear; the levels down to one word. */
static int bits_init(struct bits *b, size_t n)
{
	size_t w = n;
	int lv;

	memset(b, 0, sizeof(*b));
	b->n = n;
	for (lv = 0; lv < BIT_LEVELS; lv++) {
		w = (w + 63) / 64;
		if (!w)
			w = 1;
		b->nwords[lv] = w;
		if (!(b->w[lv] = calloc(w, sizeof(uint64_t))))
			return rv_error_set(RV_ENOMEM, "out of memory");
		b->levels = lv + 1;
		if (w == 1)
			break;
	}
	return RV_OK;
}

static int bits_get(const struct bits *b, size_t i)
{
	return (int)((b->w[0][i >> 6] >> (i & 63)) & 1);
}

static void bits_set(struct bits *b, size_t i)
{
	int lv;

	for (lv = 0; lv < b->levels; lv++) {
		uint64_t was = b->w[lv][i >> 6];

		b->w[lv][i >> 6] = was | (1ull << (i & 63));
		if (was)
			break;
		i >>= 6;
	}
}

static void bits_clear(struct bits *b, size_t i)
{
	int lv;

	for (lv = 0; lv < b->levels; lv++) {
		b->w[lv][i >> 6] &= ~(1ull << (i & 63));
		if (b->w[lv][i >> 6])
			break;
		i >>= 6;
	}
}

/* The first set bit at or after i, or -1. */
static long bits_next(const struct bits *b, size_t i)
{
	size_t pos = i, w;
	uint64_t m;
	int lv = 0;

	if (i >= b->n)
		return -1;
	for (;;) {
		w = pos >> 6;
		if (w >= b->nwords[lv])
			return -1;
		m = b->w[lv][w] & (~0ull << (pos & 63));
		if (m) {
			pos = (w << 6) + (size_t)__builtin_ctzll(m);
			break;
		}
		if (lv + 1 == b->levels)
			return -1;
		lv++;
		pos = w + 1;
	}
	while (lv > 0) {
		lv--;
		pos = (pos << 6) + (size_t)__builtin_ctzll(b->w[lv][pos]);
	}
	return (long)pos;
}

/* --- folding ------------------------------------------------------------ */

/* The folded tree: nodes in an array, found through an open-addressing
 * hash of their paths, and linked to their parent and siblings, so that
 * removing everything below a path costs what is removed, never a scan
 * of all that was folded (a hostile layer of N whiteouts would make that
 * quadratic). A node's parent is the node at its directory when that is
 * in scope, which ensure_parents creates first; nodes without one (roots
 * whose directory is outside the paths) are on the top list, and marked
 * live in a bit set over the sorted roots, so removing what is below an
 * ancestor of roots costs a binary search and the roots it removes. Dead
 * nodes are unreachable from live ones and compacted away on rehash. */
struct node {
	rv_manifest_entry e;
	long parent, child, next, prev; /* -1: none */
	unsigned char dead;
};

struct tree {
	struct node *nodes;
	size_t n, cap, live;
	long top;      /* first node without a parent, -1 if none */
	long *slots;   /* -1 empty, -2 tombstone, else index */
	size_t nslots, used;
	const struct scope *sc;
	struct bits roots; /* sc->r[i] is a live parentless node */
	uint64_t implied, max_implied; /* see ensure_parents */
};

/* The index of path among the (reduced) roots, or -1. */
static long root_index(const struct scope *s, const char *path, size_t len)
{
	size_t i = s->all ? 0 : scope_upper(s, path, len);

	if (!i || s->r[i - 1].len != len || memcmp(s->r[i - 1].p, path, len))
		return -1;
	return (long)(i - 1);
}

/* A parentless node at path is born (live) or dies. */
static void root_mark(struct tree *t, const char *path, size_t len, int live)
{
	long i = root_index(t->sc, path, len);

	if (i < 0)
		return;
	if (live)
		bits_set(&t->roots, (size_t)i);
	else
		bits_clear(&t->roots, (size_t)i);
}

static uint64_t hash_path(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	while (n--) {
		h ^= (unsigned char)*p++;
		h *= 1099511628211ull;
	}
	return h;
}

static long tree_find(const struct tree *t, const char *p, size_t n, size_t *slot_out)
{
	size_t i, mask = t->nslots - 1, first_tomb = (size_t)-1;
	long s;

	if (!t->nslots) {
		if (slot_out)
			*slot_out = (size_t)-1;
		return -1;
	}
	for (i = hash_path(p, n) & mask;; i = (i + 1) & mask) {
		s = t->slots[i];
		if (s == -1) {
			if (slot_out)
				*slot_out = first_tomb != (size_t)-1 ? first_tomb : i;
			return -1;
		}
		if (s == -2) {
			if (first_tomb == (size_t)-1)
				first_tomb = i;
			continue;
		}
		if (t->nodes[s].e.path_len == n && !memcmp(t->nodes[s].e.path, p, n)) {
			if (slot_out)
				*slot_out = i;
			return s;
		}
	}
}

/* Drop the dead nodes (renumbering the links of the live ones, which only
 * point at live ones), make room for one more node, and rebuild the hash
 * with at least 4 slots per live node, so the next rebuild is at least
 * live + 1 changes away: amortized constant cost. */
static int tree_rehash(struct tree *t)
{
	size_t ns = 64, i, j, slot;
	long *map = NULL, *slots;

	if (t->n && !(map = malloc(t->n * sizeof(*map))))
		return rv_error_set(RV_ENOMEM, "out of memory");
	for (i = j = 0; i < t->n; i++) {
		if (t->nodes[i].dead) {
			free(t->nodes[i].e.path);
			map[i] = -1;
			continue;
		}
		map[i] = (long)j;
		t->nodes[j++] = t->nodes[i];
	}
	for (i = 0; i < j; i++) {
		struct node *x = &t->nodes[i];

		x->parent = x->parent >= 0 ? map[x->parent] : -1;
		x->child = x->child >= 0 ? map[x->child] : -1;
		x->next = x->next >= 0 ? map[x->next] : -1;
		x->prev = x->prev >= 0 ? map[x->prev] : -1;
	}
	t->top = t->top >= 0 ? map[t->top] : -1;
	free(map);
	t->n = j;
	if (t->n + 1 > t->cap / 2 || !t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		void *a = realloc(t->nodes, cap * sizeof(*t->nodes));

		if (!a)
			return rv_error_set(RV_ENOMEM, "out of memory");
		t->nodes = a;
		t->cap = cap;
	}
	while (ns < (t->n + 1) * 4)
		ns *= 2;
	if (!(slots = malloc(ns * sizeof(*slots))))
		return rv_error_set(RV_ENOMEM, "out of memory");
	for (i = 0; i < ns; i++)
		slots[i] = -1;
	free(t->slots);
	t->slots = slots;
	t->nslots = ns;
	t->used = t->n;
	for (i = 0; i < t->n; i++) {
		tree_find(t, t->nodes[i].e.path, t->nodes[i].e.path_len, &slot);
		t->slots[slot] = (long)i;
	}
	return RV_OK;
}

static void tree_unlink(struct tree *t, long i)
{
	struct node *x = &t->nodes[i];

	if (x->prev >= 0)
		t->nodes[x->prev].next = x->next;
	else if (x->parent >= 0)
		t->nodes[x->parent].child = x->next;
	else
		t->top = x->next;
	if (x->next >= 0)
		t->nodes[x->next].prev = x->prev;
	x->next = x->prev = -1;
}

/* Remove the node idx and everything below it. */
static void tree_kill(struct tree *t, long idx)
{
	long cur = idx;
	size_t slot;

	if (t->nodes[idx].dead)
		return;
	if (t->nodes[idx].parent < 0)
		root_mark(t, t->nodes[idx].e.path, t->nodes[idx].e.path_len, 0);
	tree_unlink(t, idx);
	for (;;) {
		struct node *x = &t->nodes[cur];

		if (tree_find(t, x->e.path, x->e.path_len, &slot) == cur)
			t->slots[slot] = -2;
		x->dead = 1;
		t->live--;
		if (x->child >= 0) {
			cur = x->child;
			continue;
		}
		while (cur != idx && t->nodes[cur].next < 0)
			cur = t->nodes[cur].parent;
		if (cur == idx)
			break;
		cur = t->nodes[cur].next;
	}
}

/* The directory part of path ("/" for "/x"); 0 for "/" itself. */
static size_t dir_len(const char *path, size_t n)
{
	while (n > 0 && path[n - 1] != '/')
		n--;
	if (n <= 1)
		return n; /* "/" (or none) */
	return n - 1;
}

/* Insert or replace path with e (e.path ignored; path copied). */
static int tree_put(struct tree *t, const rv_manifest_entry *e, const char *path, size_t n)
{
	struct node *x;
	size_t slot, dl;
	long idx, parent;
	char *p;
	int rc;

	idx = tree_find(t, path, n, &slot);
	if (idx >= 0) {
		p = t->nodes[idx].e.path;
		t->nodes[idx].e = *e;
		t->nodes[idx].e.path = p;
		t->nodes[idx].e.path_len = n;
		return RV_OK;
	}
	if (t->n == t->cap || (t->used + 1) * 2 > t->nslots) {
		if ((rc = tree_rehash(t)) < 0)
			return rc;
		tree_find(t, path, n, &slot);
	}
	dl = dir_len(path, n);
	parent = dl && !(n == 1 && path[0] == '/') ? tree_find(t, path, dl, NULL) : -1;
	if (!(p = malloc(n + 1)))
		return rv_error_set(RV_ENOMEM, "out of memory");
	memcpy(p, path, n);
	p[n] = '\0';
	x = &t->nodes[t->n];
	memset(x, 0, sizeof(*x));
	x->e = *e;
	x->e.path = p;
	x->e.path_len = n;
	x->parent = parent;
	x->child = x->prev = -1;
	x->next = parent >= 0 ? t->nodes[parent].child : t->top;
	if (x->next >= 0)
		t->nodes[x->next].prev = (long)t->n;
	if (parent >= 0)
		t->nodes[parent].child = (long)t->n;
	else
		t->top = (long)t->n;
	if (parent < 0)
		root_mark(t, p, n, 1);
	if (t->slots[slot] == -1)
		t->used++;
	t->slots[slot] = (long)t->n;
	t->n++;
	t->live++;
	return RV_OK;
}

/* Remove everything strictly below p: the children of its node, or, when
 * p is not in the tree (outside the paths, or absent), the parentless
 * nodes below it (anything else below p hangs from one of those). Those
 * are roots, so p is above the scope, and they are the live ones of the
 * run of roots right after p in tree order. */
static void tree_remove_below(struct tree *t, const char *p, size_t n)
{
	long idx = tree_find(t, p, n, NULL), i;
	const struct scope *s = t->sc;

	if (idx >= 0) {
		while (t->nodes[idx].child >= 0)
			tree_kill(t, t->nodes[idx].child);
		return;
	}
	if (!above_scope(s, p, n))
		return;
	for (i = bits_next(&t->roots, scope_upper(s, p, n)); i >= 0;
	     i = bits_next(&t->roots, (size_t)i + 1)) {
		const struct root *r = &s->r[i];

		if (!strictly_under(r->p, r->len, p, n))
			break; /* past the run of roots below p */
		if ((idx = tree_find(t, r->p, r->len, NULL)) >= 0)
			tree_kill(t, idx); /* clears the bit */
		else
			bits_clear(&t->roots, (size_t)i);
	}
}

static void tree_dispose(struct tree *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->nodes[i].e.path);
	free(t->nodes);
	free(t->slots);
	bits_dispose(&t->roots);
}

/*
 * Make sure the in-scope ancestors of path exist as directories, "/"
 * first (a node's parent must be there before it). The ancestors of a
 * node in the tree are all there (a node is put after its parents, and a
 * removal takes whole subtrees), and those of a path out of scope are out
 * of scope too; so the walk goes up from the directory of path only to
 * the first one that is there or out of scope, then creates the missing
 * ones going down. Cost: a lookup, plus the directories created (a check
 * of every ancestor was (path length)^2 per entry: 4 MB of hashing for a
 * 4 KB path of 2000 components).
 *
 * Creating them still costs their paths, up to 4 MB for one such entry,
 * and a later entry can remove them to have the next one create them
 * again (1000 pairs, 5.6 MB of tar, took 20 s). So what the fold spends on
 * directories no layer lists (path bytes plus the node, created ones
 * counted even once removed) is capped at t->max_implied: past it,
 * RV_ETOOBIG naming the entry. Images list their directories, or imply
 * a few hundred; the cap is far above what a real one implies.
 */
static int ensure_parents(struct tree *t, const char *path, size_t n)
{
	rv_manifest_entry d;
	size_t done = n, k;
	long idx;
	int rc;

	memset(&d, 0, sizeof(d));
	d.type = RV_FT_DIR;
	d.mode = 0755;
	if (n <= 1)
		return RV_OK; /* "/" has no parent */
	/* done: the length of the deepest ancestor needing no work; 0 when
	 * even "/" is to be created */
	for (;;) {
		done = dir_len(path, done);
		if (!in_scope(t->sc, path, done))
			break;
		idx = tree_find(t, path, done, NULL);
		if (idx >= 0) {
			if (t->nodes[idx].e.type != RV_FT_DIR) {
				/* a non-directory has nothing below it */
				tree_remove_below(t, path, done);
				if ((rc = tree_put(t, &d, path, done)) < 0)
					return rc;
			}
			break;
		}
		if (done == 1) {
			if ((rc = tree_put(t, &d, "/", 1)) < 0)
				return rc;
			break;
		}
	}
	for (k = done + 1; k < n; k++) {
		if (path[k] != '/')
			continue;
		t->implied += k + sizeof(struct node);
		if (t->implied > t->max_implied)
			return rv_error_set(RV_ETOOBIG, "tar entry '%.300s' implies directories past "
				"the limit of %llu bytes for directories no layer lists (a hostile layer?)",
				path, (unsigned long long)t->max_implied);
		if ((rc = tree_put(t, &d, path, k)) < 0)
			return rc;
	}
	return RV_OK;
}

static int apply_entry(struct tree *t, const rv_manifest_entry *e, const char *path, size_t n)
{
	long idx;
	int rc;

	if (!in_scope(t->sc, path, n)) {
		/* an ancestor of a root: a non-directory hides the root
		 * (below any other path outside them, nothing is kept) */
		if (e->type != RV_FT_DIR && above_scope(t->sc, path, n))
			tree_remove_below(t, path, n);
		return RV_OK;
	}
	idx = tree_find(t, path, n, NULL);
	if (idx >= 0 && t->nodes[idx].e.type == RV_FT_DIR && e->type != RV_FT_DIR)
		tree_remove_below(t, path, n);
	if ((rc = ensure_parents(t, path, n)) < 0)
		return rc;
	return tree_put(t, e, path, n);
}

int rv_layers_fold(rv_manifest **out, rv_layers_list *const *layers, size_t n,
	const rv_layers_opts *opts)
{
	static const char *const slash[] = { "/" };
	rv_layers_opts o;
	struct scope sc = { NULL, 0, 0 };
	struct tree t;
	rv_manifest *m = NULL;
	size_t i, j;
	long idx;
	int rc = RV_OK;

	*out = NULL;
	memset(&t, 0, sizeof(t));
	t.top = -1;
	t.sc = &sc;
	t.max_implied = opts && opts->max_implied ? opts->max_implied : RV_LAYERS_MAX_IMPLIED;
	memset(&o, 0, sizeof(o));
	if (opts)
		o = *opts;
	if (!o.npaths) {
		o.paths = slash;
		o.npaths = 1;
	}
	if ((rc = scope_init(&sc, &o)) < 0 || (rc = bits_init(&t.roots, sc.n)) < 0)
		goto cleanup;
	for (i = 0; i < n; i++) {
		const rv_layers_list *l = layers[i];

		/* whiteouts and opaque markers hide the lower layers first */
		for (j = 0; j < l->n; j++) {
			const struct op *op = &l->ops[j];

			if (op->kind == OP_WHITEOUT) {
				if ((idx = tree_find(&t, op->e.path, op->e.path_len, NULL)) >= 0)
					tree_kill(&t, idx); /* and all below it */
				else
					tree_remove_below(&t, op->e.path, op->e.path_len);
			} else if (op->kind == OP_OPAQUE) {
				tree_remove_below(&t, op->e.path, op->e.path_len);
			}
		}
		for (j = 0; j < l->n; j++) {
			const struct op *op = &l->ops[j];

			if (op->kind == OP_ENTRY) {
				rc = apply_entry(&t, &op->e, op->e.path, op->e.path_len);
			} else if (op->kind == OP_LINK) {
				rv_manifest_entry e;

				if (!in_scope(&sc, op->e.path, op->e.path_len)) {
					memset(&e, 0, sizeof(e));
					e.type = RV_FT_FILE;
					rc = apply_entry(&t, &e, op->e.path, op->e.path_len);
					if (rc < 0)
						goto cleanup;
					continue;
				}
				idx = tree_find(&t, op->link, op->link_len, NULL);
				if (idx < 0 || t.nodes[idx].e.type == RV_FT_DIR) {
					rc = rv_error_set(RV_ENOTFOUND,
						"hardlink '%.300s' in layer %zu: target '%.300s' %s",
						op->e.path, i + 1, op->link,
						idx < 0 ? (in_scope(&sc, op->link, op->link_len) ?
							"does not exist" : "is outside the requested paths") :
							"is a directory");
					goto cleanup;
				}
				e = t.nodes[idx].e;
				rc = apply_entry(&t, &e, op->e.path, op->e.path_len);
			}
			if (rc < 0) {
				if (rc == RV_ETOOBIG)
					rv_error_prefix(rc, "layer %zu", i + 1);
				goto cleanup;
			}
		}
	}
	/* roots: "/" defaults to the directory umoci creates; other roots
	 * that no layer made are recorded missing, as rv_walk does */
	for (i = 0; i < o.npaths; i++) {
		const char *root = o.paths[i];
		rv_manifest_entry e;

		if (tree_find(&t, root, strlen(root), NULL) >= 0)
			continue;
		memset(&e, 0, sizeof(e));
		if (!strcmp(root, "/")) {
			e.type = RV_FT_DIR;
			e.mode = 0755;
		} else {
			e.type = RV_FT_UNKNOWN;
			e.err = ENOENT;
		}
		if ((rc = tree_put(&t, &e, root, strlen(root))) < 0)
			goto cleanup;
	}
	if ((rc = rv_manifest_new(&m)) < 0)
		goto cleanup;
	for (i = 0; i < t.n; i++) {
		if (t.nodes[i].dead)
			continue;
		if ((rc = rv_manifest_add(m, &t.nodes[i].e)) < 0)
			goto cleanup;
	}
	if ((rc = rv_manifest_sort(m)) < 0)
		goto cleanup;
	*out = m;
	m = NULL;
cleanup:
	rv_manifest_free(m);
	tree_dispose(&t);
	scope_dispose(&sc);
	return rc;
}

/* --- folding package databases ----------------------------------------- */

/*
 * Every path a record can ever be at (a database, a captured hardlink
 * target, a hardlink at a database path) is known before the fold: the
 * fold sorts them once into keys, and a record lives in its key's slot.
 * The live slots are a bit set with summary levels, so the next live
 * slot from any point is found in a few word reads. Everything strictly below a
 * directory D is one run of keys (those starting with "D/"): found by
 * binary search and walked through its live slots only, so a whiteout or
 * a replaced directory costs the records it removes plus a search, never
 * a scan of all records (a hostile layer of N such entries would be
 * quadratic).
 */
struct key {
	const char *p;        /* borrowed from an op */
	size_t len;
};

struct rec {
	const unsigned char *data; /* borrowed from an op */
	uint64_t size;
	char *why;            /* owned, NULL: data */
	unsigned char hidden; /* a hardlink target's contents: not a database */
};

struct dbfold {
	struct key *keys;
	struct rec *recs;
	size_t n, live;
	struct bits live_bits;
	/* rv_layers_db_link_targets: hardlinks to uncaptured files */
	int collect;
	rv_layers_target *tg;
	size_t ntg, tgcap;
};

static void dbfold_dispose(struct dbfold *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		free(f->recs[i].why);
	bits_dispose(&f->live_bits);
	for (i = 0; i < f->ntg; i++)
		free(f->tg[i].path);
	free(f->tg);
	free(f->keys);
	free(f->recs);
}

static int key_cmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	int c = memcmp(x->p, y->p, x->len < y->len ? x->len : y->len);

	return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Does the op put a record at its path (or look one up, for a link)? */
static int op_keyed(const struct op *o)
{
	return o->kind == OP_DB || o->kind == OP_XDB ||
		(o->kind == OP_LINK && rv_sbom_wants(o->e.path, o->e.path_len, NULL) != RV_SBOM_NONE);
}

static int dbfold_init(struct dbfold *f, rv_layers_list *const *layers, size_t n)
{
	size_t i, j, k = 0, total = 0;

	for (i = 0; i < n; i++)
		for (j = 0; j < layers[i]->n; j++)
			total += op_keyed(&layers[i]->ops[j]);
	if (total && (!(f->keys = malloc(total * sizeof(*f->keys))) ||
	    !(f->recs = calloc(total, sizeof(*f->recs)))))
		return rv_error_set(RV_ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		for (j = 0; j < layers[i]->n; j++) {
			const struct op *o = &layers[i]->ops[j];

			if (op_keyed(o)) {
				f->keys[k].p = o->e.path;
				f->keys[k++].len = o->e.path_len;
			}
		}
	}
	if (k)
		qsort(f->keys, k, sizeof(*f->keys), key_cmp);
	for (i = j = 0; i < k; i++)
		if (!j || key_cmp(&f->keys[j - 1], &f->keys[i]))
			f->keys[j++] = f->keys[i];
	f->n = j;
	return bits_init(&f->live_bits, f->n);
}

static int bit_get(const struct dbfold *f, size_t i)
{
	return bits_get(&f->live_bits, i);
}

static long bit_next(const struct dbfold *f, size_t i)
{
	return bits_next(&f->live_bits, i);
}

/* The slot of path p, or -1. */
static long key_find(const struct dbfold *f, const char *p, size_t n)
{
	struct key k = { p, n };
	size_t lo = 0, hi = f->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = key_cmp(&f->keys[mid], &k);

		if (!c)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* The first slot whose key is at or after "p/" (every key, for "/"). */
static size_t key_lower_below(const struct dbfold *f, const char *p, size_t n)
{
	size_t lo = 0, hi = f->n;

	if (n == 1 && p[0] == '/')
		return 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct key *k = &f->keys[mid];
		int c = memcmp(k->p, p, k->len < n ? k->len : n);

		/* equal so far: a key no longer than p is before "p/";
		 * a longer one compares its next byte with the "/" */
		if (!c)
			c = k->len <= n ? -1 : (unsigned char)k->p[n] < '/' ? -1 : 0;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void slot_kill(struct dbfold *f, size_t i)
{
	if (!bit_get(f, i))
		return;
	bits_clear(&f->live_bits, i);
	f->live--;
}

static int kill_at(struct dbfold *f, const char *p, size_t n)
{
	long i = key_find(f, p, n);

	if (i >= 0)
		slot_kill(f, (size_t)i);
	return RV_OK;
}

static int kill_below(struct dbfold *f, const char *p, size_t n)
{
	long i;

	if (!f->live)
		return RV_OK;
	for (i = bit_next(f, key_lower_below(f, p, n)); i >= 0; i = bit_next(f, (size_t)i + 1)) {
		if (!strictly_under(f->keys[i].p, f->keys[i].len, p, n))
			break; /* past the run of keys below p */
		slot_kill(f, (size_t)i);
	}
	return RV_OK;
}

/* The record at p is now data (size bytes), or failed with why (copied). */
static int rec_set(struct dbfold *f, const char *p, size_t n, const unsigned char *data,
	uint64_t size, const char *why, int hidden)
{
	long i = key_find(f, p, n);
	struct rec *r;
	char *w = NULL;

	if (i < 0) /* every keyed op's path is a key */
		return rv_error_set(RV_ERROR, "package database fold: no slot for '%.300s'", p);
	if (why && !(w = memdup0(why, strlen(why))))
		return rv_error_set(RV_ENOMEM, "out of memory");
	r = &f->recs[i];
	free(r->why);
	r->why = w;
	r->data = data;
	r->size = size;
	r->hidden = (unsigned char)hidden;
	if (!bit_get(f, (size_t)i)) {
		bits_set(&f->live_bits, (size_t)i);
		f->live++;
	}
	return RV_OK;
}

/* Note t as a target to capture, for links of cap max. */
static int collect_target(struct dbfold *f, const char *t, size_t tl, size_t max)
{
	char *p;

	if (f->ntg == f->tgcap) {
		size_t cap = f->tgcap ? f->tgcap * 2 : 16;
		void *np = realloc(f->tg, cap * sizeof(*f->tg));

		if (!np)
			return rv_error_set(RV_ENOMEM, "out of memory");
		f->tg = np;
		f->tgcap = cap;
	}
	if (!(p = memdup0(t, tl)))
		return rv_error_set(RV_ENOMEM, "out of memory");
	f->tg[f->ntg].path = p;
	f->tg[f->ntg++].max = max;
	return RV_OK;
}

/* A hardlink at p (a wanted path, cap max) to target t. */
static int link_db(struct dbfold *f, const char *p, size_t n, size_t max, const char *t, size_t tl)
{
	long i = key_find(f, t, tl);
	const struct rec *r = i >= 0 && bit_get(f, (size_t)i) ? &f->recs[i] : NULL;
	char why[RV_DBSET_MAX_MESSAGE];
	int rc;

	if (r && r->size > max) {
		snprintf(why, sizeof(why), "larger than the limit of %zu bytes", max);
		return rec_set(f, p, n, NULL, r->size, why, 0);
	}
	if (r && !r->why)
		return rec_set(f, p, n, r->data, r->size, NULL, 0);
	if (!r && f->collect && (rc = collect_target(f, t, tl, max)) < 0)
		return rc;
	snprintf(why, sizeof(why), "hardlink to '%.300s', whose contents were not captured", t);
	return rec_set(f, p, n, NULL, r ? r->size : 0, why, 0);
}

/* Fold the lists into f (see rv_layers_fold_dbset). */
static int dbfold_run(struct dbfold *f, rv_layers_list *const *layers, size_t n)
{
	size_t i, j, max;
	int rc = RV_OK;

	for (i = 0; i < n; i++)
		if (!layers[i]->packages)
			return rv_error_set(RV_EINVAL, "layer %zu was read without package capture", i + 1);
	if ((rc = dbfold_init(f, layers, n)) < 0)
		return rc;
	for (i = 0; i < n; i++) {
		const rv_layers_list *l = layers[i];

		for (j = 0; j < l->n && rc >= 0; j++) {
			const struct op *op = &l->ops[j];

			if (op->kind == OP_WHITEOUT) {
				if ((rc = kill_at(f, op->e.path, op->e.path_len)) >= 0)
					rc = kill_below(f, op->e.path, op->e.path_len);
			} else if (op->kind == OP_OPAQUE) {
				rc = kill_below(f, op->e.path, op->e.path_len);
			}
		}
		for (j = 0; j < l->n && rc >= 0; j++) {
			const struct op *op = &l->ops[j];
			const char *p = op->e.path;
			size_t pl = op->e.path_len;

			switch (op->kind) {
			case OP_ENTRY:
			case OP_PLACE:
				if (op->e.type != RV_FT_DIR && (rc = kill_below(f, p, pl)) < 0)
					break;
				/* a captured regular file: its OP_DB or OP_XDB
				 * follows, and replaces the record */
				rc = kill_at(f, p, pl);
				break;
			case OP_DB:
			case OP_XDB:
				if ((rc = kill_below(f, p, pl)) >= 0)
					rc = rec_set(f, p, pl, op->data, op->e.size, op->link,
						op->kind == OP_XDB);
				break;
			case OP_LINK:
				if ((rc = kill_below(f, p, pl)) < 0)
					break;
				if (rv_sbom_wants(p, pl, &max) != RV_SBOM_NONE)
					rc = link_db(f, p, pl, max, op->link, op->link_len);
				else
					rc = kill_at(f, p, pl);
				break;
			default:
				break;
			}
		}
		if (rc < 0)
			return rc;
	}
	return RV_OK;
}

int rv_layers_fold_dbset(rv_dbset **out, rv_layers_list *const *layers, size_t n,
	const rv_layers_opts *opts)
{
	uint64_t cap = opts && opts->max_db_image ? opts->max_db_image : RV_LAYERS_MAX_DB_IMAGE;
	uint64_t total = 0;
	struct dbfold f;
	rv_dbset *set = NULL;
	char why[128];
	long i;
	int rc = RV_OK;

	*out = NULL;
	memset(&f, 0, sizeof(f));
	if ((rc = dbfold_run(&f, layers, n)) < 0)
		goto cleanup;
	if ((rc = rv_dbset_new(&set)) < 0)
		goto cleanup;
	snprintf(why, sizeof(why), "package databases of the image over the limit of %llu bytes",
		(unsigned long long)cap);
	/* the keys are sorted: the live slots come in path order */
	for (i = bit_next(&f, 0); i >= 0; i = bit_next(&f, (size_t)i + 1)) {
		const struct rec *r = &f.recs[i];
		const struct key *k = &f.keys[i];

		if (r->hidden)
			continue;
		if (r->why)
			rc = rv_dbset_add_failed(set, k->p, k->len, r->why);
		else if (r->size > cap - total || r->size > SIZE_MAX)
			rc = rv_dbset_add_failed(set, k->p, k->len, why);
		else {
			total += r->size;
			rc = rv_dbset_add(set, k->p, k->len, r->data, (size_t)r->size);
		}
		if (rc < 0)
			goto cleanup;
	}
	if ((rc = rv_dbset_sort(set)) < 0)
		goto cleanup;
	*out = set;
	set = NULL;
cleanup:
	rv_dbset_free(set);
	dbfold_dispose(&f);
	return rc;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int target_cmp(const void *a, const void *b)
{
	const rv_layers_target *x = a, *y = b;

	return strcmp(x->path, y->path);
}

void rv_layers_targets_free(rv_layers_target *t, size_t n)
{
	size_t i;

	for (i = 0; t && i < n; i++)
		free(t[i].path);
	free(t);
}

int rv_layers_db_link_targets(rv_layers_target **out, size_t *nout, unsigned char *need,
	rv_layers_list *const *layers, size_t n)
{
	struct dbfold f;
	size_t i, j;
	int rc;

	*out = NULL;
	*nout = 0;
	memset(need, 0, n);
	memset(&f, 0, sizeof(f));
	f.collect = 1;
	if ((rc = dbfold_run(&f, layers, n)) < 0)
		goto cleanup;
	/* sorted, one per path, with the largest cap asked for */
	if (f.ntg)
		qsort(f.tg, f.ntg, sizeof(*f.tg), target_cmp);
	for (i = j = 0; i < f.ntg; i++) {
		if (j && !strcmp(f.tg[j - 1].path, f.tg[i].path)) {
			if (f.tg[i].max > f.tg[j - 1].max)
				f.tg[j - 1].max = f.tg[i].max;
			free(f.tg[i].path);
			continue;
		}
		f.tg[j++] = f.tg[i];
	}
	f.ntg = j;
	/* the layers with a regular file at a target: to be read again */
	for (i = 0; f.ntg && i < n; i++) {
		for (j = 0; j < layers[i]->n && !need[i]; j++) {
			const struct op *o = &layers[i]->ops[j];
			rv_layers_target k;

			if ((o->kind != OP_ENTRY && o->kind != OP_PLACE) || o->e.type != RV_FT_FILE)
				continue;
			k.path = o->e.path;
			if (bsearch(&k, f.tg, f.ntg, sizeof(*f.tg), target_cmp))
				need[i] = 1;
		}
	}
	*out = f.tg;
	*nout = f.ntg;
	f.tg = NULL;
	f.ntg = 0;
cleanup:
	dbfold_dispose(&f);
	return rc;
}

int rv_layers_link_targets(char ***out, size_t *n, rv_layers_list *const *layers,
	size_t nlayers, const rv_layers_opts *opts)
{
	struct scope sc;
	char **v = NULL;
	size_t nv = 0, cap = 0, i, j, k;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = scope_init(&sc, opts)) < 0)
		return rc;
	for (i = 0; i < nlayers; i++) {
		for (j = 0; j < layers[i]->n; j++) {
			const struct op *o = &layers[i]->ops[j];

			if (o->kind != OP_LINK || !in_scope(&sc, o->e.path, o->e.path_len) ||
			    in_scope(&sc, o->link, o->link_len))
				continue;
			if (nv == cap) {
				size_t nc = cap ? cap * 2 : 16;
				void *p = realloc(v, nc * sizeof(*v));

				if (!p)
					goto nomem;
				v = p;
				cap = nc;
			}
			if (!(v[nv] = strdup(o->link)))
				goto nomem;
			nv++;
		}
	}
	/* deduplicated by sorting (a pairwise check is quadratic) */
	if (nv)
		qsort(v, nv, sizeof(*v), str_cmp);
	for (i = j = 0; i < nv; i++) {
		if (j && !strcmp(v[j - 1], v[i])) {
			free(v[i]);
			continue;
		}
		v[j++] = v[i];
	}
	scope_dispose(&sc);
	*out = v;
	*n = j;
	return RV_OK;
nomem:
	scope_dispose(&sc);
	for (k = 0; k < nv; k++)
		free(v[k]);
	free(v);
	return rv_error_set(RV_ENOMEM, "out of memory");
}
