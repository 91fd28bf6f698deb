/* layers_changes.c - the change list's versioned binary form for the cache, and its strict parser */
#include <stdlib.h>
#include <string.h>

#include "sources/oci/layers.h"
#include "sources/oci/layers_impl.h"
#include "util/error.h"
#include "util/banned.h"

/* Version 2 added the package database capture (OP_PLACE, OP_DB); a
 * version 1 entry in a cache no longer parses and is fetched again. */
#define LIST_MAGIC "rv-layer-changes 2\n"

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
	if (!(*out = layers_memdup0((const char *)c->p, n)))
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
	else if (rv_dbpath_classify(path, pl, &max) == RV_DBPATH_NONE) {
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
	rc = layers_push_db(l, kind, path, pl, data, size, msg);
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
			    (rc = layers_list_push(l, OP_PLACE, &e, path, pl, NULL, 0)) < 0)
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
		if ((rc = layers_list_push(l, fl[0], &e, path, pl, link, ll)) < 0)
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

