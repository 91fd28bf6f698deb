/* manifest.h - the fingerprint: one entry per path, canonical bytes, root hash */
#ifndef RV_MANIFEST_H
#define RV_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/sha256.h"

/*
 * A manifest lists every path under the configured roots of a filesystem
 * (an image, a running container, a local tree) with what the image
 * controls: type, permission bits, owner, size and a content digest. Never
 * timestamps or inode numbers. The format is in docs/manifest.md.
 *
 * Paths are absolute inside the filesystem being described ("/app/bin/x"),
 * with no trailing slash (except "/" itself), no "." or ".." components and
 * no empty components. They may hold any byte but NUL.
 */

#define RV_MANIFEST_VERSION 1
#define RV_MANIFEST_MAGIC "rv-manifest"

typedef enum rv_ftype {
	RV_FT_UNKNOWN = 0, /* lstat itself failed; err says why */
	RV_FT_FILE,
	RV_FT_DIR,
	RV_FT_SYMLINK,
	RV_FT_FIFO,
	RV_FT_SOCKET,
	RV_FT_CHAR,
	RV_FT_BLOCK,
	RV_FT_MOUNT  /* a mount point below a root, not descended */
} rv_ftype;

typedef struct rv_manifest_entry {
	char *path;          /* owned by the manifest */
	size_t path_len;
	rv_ftype type;
	int elf;             /* files only: content starts with \x7fELF */
	int has_digest;      /* files: content digest; symlinks: target digest */
	int err;             /* 0, or the errno that kept us from reading it */
	uint32_t mode;       /* permission bits, 07777 */
	uint32_t uid, gid;
	uint64_t size;       /* files: bytes; symlinks: target length; else 0 */
	unsigned char digest[RV_SHA256_LEN];
} rv_manifest_entry;

typedef struct rv_manifest_stats {
	size_t entries, files, dirs, symlinks, others, mounts, errors, elves;
	uint64_t bytes;      /* sum of file sizes */
} rv_manifest_stats;

typedef struct rv_manifest {
	rv_manifest_entry *entries; /* sorted by path bytes after rv_manifest_sort */
	size_t count;
	size_t cap;
	int sorted;
} rv_manifest;

/* Allocate an empty manifest; free with rv_manifest_free. */
int rv_manifest_new(rv_manifest **out);

/* Free m and everything it owns. NULL-safe. */
void rv_manifest_free(rv_manifest *m);

/* Append a copy of e (its path is copied; e stays the caller's). The path
 * is validated (absolute, canonical, no NUL): RV_EINVAL names it if not.
 * Marks the manifest unsorted. */
int rv_manifest_add(rv_manifest *m, const rv_manifest_entry *e);

/* Sort entries by path bytes (memcmp order, as LC_ALL=C sort). Fails with
 * RV_EINVAL naming the path if two entries have the same path. */
int rv_manifest_sort(rv_manifest *m);

/* Find the entry for path in a sorted manifest, or NULL. */
const rv_manifest_entry *rv_manifest_find(const rv_manifest *m,
	const char *path, size_t path_len);

/* Append the canonical serialization of a sorted manifest to out. */
int rv_manifest_serialize(rv_buf *out, const rv_manifest *m);

/* Parse canonical bytes. Exact inverse of rv_manifest_serialize: anything
 * else (bad header, unknown version, malformed line, unsorted or duplicate
 * paths, missing final newline) is RV_EFORMAT naming the line. */
int rv_manifest_parse(rv_manifest **out, const char *data, size_t len);

/* sha256 of the canonical bytes. */
int rv_manifest_root_hash(unsigned char out[RV_SHA256_LEN], const rv_manifest *m);

/* Counts over the entries. */
void rv_manifest_stats_get(rv_manifest_stats *out, const rv_manifest *m);

/*
 * The sha256sum view: exactly what
 *   cd BASE && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
 * prints, for the regular files of a sorted manifest under base (an
 * absolute path in the manifest; "/" for everything). Names are "./" plus
 * the path relative to base, with GNU's escaping (a leading backslash on
 * the line and \\, \n, \r in the name). Files whose content could not be
 * read are left out, as sha256sum leaves them out of stdout. With no file
 * at all the view is the one line the pipeline prints then, because xargs
 * runs sha256sum once on its empty input: "e3b0c442...b855  -".
 */
int rv_manifest_sha256sum(rv_buf *out, const rv_manifest *m, const char *base);

/* Escape a path for the canonical form (bytes outside 0x21..0x7e and the
 * backslash become \xHH and \\). */
int rv_manifest_escape(rv_buf *out, const char *path, size_t len);

/* Inverse of rv_manifest_escape into out (reset first); RV_EFORMAT on a
 * bad escape, an escaped NUL or a byte that should have been escaped. */
int rv_manifest_unescape(rv_buf *out, const char *s, size_t len);

/* "file", "elf", "dir", ... as in the canonical form. */
const char *rv_manifest_type_name(const rv_manifest_entry *e);

/* Check a path is absolute and canonical; RV_EINVAL naming it if not. */
int rv_manifest_check_path(const char *path, size_t len);

/* Whether path (len bytes) is root (rlen bytes) or lies below it, by
 * whole components ("/a/b" is within "/a", "/ab" is not); the root "/"
 * holds every path. */
int rv_manifest_path_within(const char *path, size_t len, const char *root, size_t rlen);

#endif
