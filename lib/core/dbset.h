/* dbset.h - the package database files of one filesystem, as one canonical, hashable set */
#ifndef RV_DBSET_H
#define RV_DBSET_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/sha256.h"

/*
 * Both sides of a verification collect the package databases of their
 * filesystem (dpkg status, apk installed, the rpmdb, dist-info METADATA,
 * node_modules package.json: sources/sbom/sbom.h says which paths) into a
 * dbset: each file's whole contents, or why it could not be read. The
 * probe collects it through /proc/1/root, the image side from the layer
 * stream. Equal digests mean equal sets, so the packages need to be
 * catalogued and compared only when the digests differ; the set travels
 * in the probe's log in its canonical form (core/frame.h).
 *
 * The canonical form, byte by byte (docs/probe.md):
 *
 *   rv-dbset 1 files=N failed=F bytes=B\n
 *   then for each file, sorted by path (bytewise, unescaped):
 *     file SIZE SHA256HEX PATH\n  followed by SIZE bytes and one \n
 *   or
 *     fail PATH MESSAGE\n
 *
 * PATH is absolute and canonical (rv_manifest_check_path) and escaped as
 * in the manifest (rv_manifest_escape: no space in it). MESSAGE is 1 to
 * RV_DBSET_MAX_MESSAGE bytes of printable ASCII (0x20..0x7e) that neither
 * starts nor ends with a space. N counts every record, F the fail records,
 * B the sum of SIZE. Numbers are decimal without sign or leading zero.
 */

#define RV_DBSET_VERSION 1
#define RV_DBSET_MAGIC "rv-dbset"
/* Caps: records of one set, the sum of their contents, a message. */
#define RV_DBSET_MAX_FILES 1000000u
#define RV_DBSET_MAX_BYTES (512ull << 20)
#define RV_DBSET_MAX_MESSAGE 512u
/* How the message of a fail record for a mount point begins: what lies
 * under it is not the image's, so it was not looked at ("mount point, not
 * descended"); readers tell "not looked" from "absent" by it. */
#define RV_DBSET_MOUNT_PREFIX "mount point"

typedef struct rv_dbset_file {
	char *path;           /* NUL-terminated, no NUL inside */
	size_t path_len;
	unsigned char *data;  /* contents (NULL when size is 0 or failed) */
	size_t size;
	unsigned char sha256[RV_SHA256_LEN]; /* of data; zero when failed */
	char *error;          /* NULL when read, else why not */
} rv_dbset_file;

typedef struct rv_dbset {
	rv_dbset_file *files; /* sorted by path after rv_dbset_sort/parse */
	size_t n, cap;
	size_t failed;
	uint64_t bytes;       /* sum of sizes */
	int sorted;
} rv_dbset;

/* An empty set; free it with rv_dbset_free. */
int rv_dbset_new(rv_dbset **out);

/* Free s and everything it owns. NULL-safe. */
void rv_dbset_free(rv_dbset *s);

/* Add a file's whole contents (copied). RV_EINVAL for a path that is not
 * absolute and canonical; RV_ETOOBIG past the caps; RV_ENOMEM. */
int rv_dbset_add(rv_dbset *s, const char *path, size_t len,
	const void *data, size_t size);

/* Add a file that could not be read, with why (copied; bytes outside
 * printable ASCII become '?', cut to RV_DBSET_MAX_MESSAGE; empty: "unreadable"). */
int rv_dbset_add_failed(rv_dbset *s, const char *path, size_t len,
	const char *why);

/* Sort by path; a path added twice is RV_EINVAL naming it. */
int rv_dbset_sort(rv_dbset *s);

/* The order of records in a sorted set: bytewise by path, shorter first
 * on a tie (<0, 0, >0). */
int rv_dbset_file_cmp(const rv_dbset_file *a, const rv_dbset_file *b);

/* The record for path in a sorted set, or NULL. */
const rv_dbset_file *rv_dbset_find(const rv_dbset *s, const char *path, size_t len);

/* Append the canonical form of a sorted set to out (RV_EINVAL if not
 * sorted; RV_ETOOBIG past out->max; on failure out is as it was). */
int rv_dbset_serialize(rv_buf *out, const rv_dbset *s);

/* The SHA-256 of the canonical form, computed without building it. */
int rv_dbset_digest(unsigned char out[RV_SHA256_LEN], const rv_dbset *s);

/*
 * The digest the two sides of a verification compare: rv_dbset_digest of
 * s less its mount-point fail records (RV_DBSET_MOUNT_PREFIX). Those
 * describe the pod's volumes (the service account token, /etc/hosts),
 * which no image has; with them every pod would differ from its image.
 */
int rv_dbset_digest_comparable(unsigned char out[RV_SHA256_LEN], const rv_dbset *s);

/* Whether f is a mount-point fail record. */
int rv_dbset_is_mount(const rv_dbset_file *f);

/*
 * Parse the canonical form strictly: the header, every record's syntax,
 * path, size and checksum, the order, the counts, and nothing after the
 * last record. Anything else is RV_EFORMAT naming the record (or
 * RV_EUNSUPPORTED for another version, RV_EVERIFY for a checksum,
 * RV_ETOOBIG past the caps). *out is NULL on failure.
 */
int rv_dbset_parse(rv_dbset **out, const void *data, size_t len);

#endif
