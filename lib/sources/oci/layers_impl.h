/* layers_impl.h - what the layers_*.c files of sources/oci share: the change list's ops and the scope of paths */
#ifndef RV_LAYERS_IMPL_H
#define RV_LAYERS_IMPL_H

/*
 * Internal to lib/sources/oci/layers*.c; nothing else includes it. The
 * module's interface is sources/oci/layers.h:
 *
 *   layers.c          the change list: ops, accessors, the scope of paths
 *   layers_read.c     a layer stream: decompression, tar entries -> ops
 *   layers_changes.c  the change list's cache format (serialize, parse)
 *   layers_fold.c     change lists -> manifest: whiteouts, opaque dirs,
 *                     hardlinks; hardlink targets outside the paths
 *   layers_dbfold.c   change lists -> package database set
 */

#include <stddef.h>
#include <stdint.h>

#include "core/dbpath.h"
#include "sources/oci/layers.h"

#define PATH_MAX_BYTES 4096u

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
#define XDB_MAX ((uint64_t)RV_DBPATH_MAX_RPM)

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

/* A NUL-terminated copy of p[0..n) (malloc; NULL when out of memory). */
char *layers_memdup0(const char *p, size_t n);

/* Append an op; takes ownership of path and link (freed on failure). */
int layers_list_push(rv_layers_list *l, unsigned char kind, const rv_manifest_entry *e,
	char *path, size_t path_len, char *link, size_t link_len);

/* Append an OP_DB or OP_XDB (kind) for path (copied): data (owned, size
 * bytes) or, with why set (copied), a fail record for a file of that size. */
int layers_push_db(rv_layers_list *l, unsigned char kind, const char *path, size_t len,
	unsigned char *data, uint64_t size, const char *why);

/* Is path strictly below prefix? */
int layers_strictly_under(const char *path, size_t len, const char *prefix, size_t pl);

void layers_scope_dispose(struct scope *s);

/* The scope of o->paths (o may be NULL: everything); RV_ENOMEM. */
int layers_scope_init(struct scope *s, const rv_layers_opts *o);

/* The number of roots at or before path in tree order. */
size_t layers_scope_upper(const struct scope *s, const char *path, size_t len);

/* Is path at or below a requested root? */
int layers_in_scope(const struct scope *s, const char *path, size_t len);

/* Is path a proper ancestor of a requested root? (Asked of a path out of
 * scope: one in scope may be above a root that the reduction dropped.) */
int layers_above_scope(const struct scope *s, const char *path, size_t len);

#endif
