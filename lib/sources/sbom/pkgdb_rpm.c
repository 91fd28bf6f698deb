/* pkgdb_rpm.c - catalogue the sqlite rpmdb (rpm >= 4.16: rpmdb.sqlite), read through libsqlite3 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef RV_HAVE_SQLITE3
#include <sqlite3.h>
#endif

#include "sources/sbom/pkgdb_rpm.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/banned.h"

/* Built without libsqlite3 (the Makefile defines RV_HAVE_SQLITE3 when it
 * links it): an rpmdb is a warning, never a silent gap. */
#ifndef RV_HAVE_SQLITE3
int rv_pkgdb_rpm_parse(rv_sbom *s, const char *path, const char *data,
	size_t size)
{
	(void)data;
	(void)size;
	return rv_sbom_warn(s, path, strlen(path),
		"rpm database not read: built without sqlite3");
}
#else

/*
 * rpm 4.16 and later keep their database in sqlite: table Packages(hnum
 * INTEGER PRIMARY KEY, blob BLOB), one row per installed package, the blob
 * an rpm header in its exported form (rpm's headerExport):
 *
 *   be32 il        number of index entries
 *   be32 dl        bytes in the data store
 *   il x { be32 tag, be32 type, be32 offset, be32 count }
 *   dl bytes       data store; offsets are relative to it
 *
 * We want NAME (1000, string), VERSION (1001), RELEASE (1002), EPOCH (1003,
 * int32) and ARCH (1022). Every length and offset is checked against the
 * blob before use. The older Berkeley DB (Packages) and ndb (Packages.db)
 * formats are not read.
 *
 * The bytes are opened in memory (sqlite3_deserialize), read-only and in
 * defensive mode, so no file is touched and a hostile database can not
 * make sqlite write anything. A database in WAL mode is read as if it
 * were not (we have only the main file: what is still in rpmdb.sqlite-wal
 * after rpm closed it is not seen; rpm checkpoints on close).
 */

#define TAG_NAME 1000
#define TAG_VERSION 1001
#define TAG_RELEASE 1002
#define TAG_EPOCH 1003
#define TAG_ARCH 1022
#define TYPE_INT32 4
#define TYPE_STRING 6
#define TYPE_STRING_ARRAY 8
#define TYPE_I18NSTRING 9
#define HEADER_TAGS_MAX 0xffffu
#define HEADER_DATA_MAX 0x0fffffffu

typedef struct hdr {
	const unsigned char *index;
	const unsigned char *store;
	uint32_t il, dl;
} hdr;

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		(uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* 0 and the header's parts, or -1 if the blob is not a header. */
static int hdr_open(hdr *h, const unsigned char *blob, size_t len)
{
	if (len < 8)
		return -1;
	h->il = be32(blob);
	h->dl = be32(blob + 4);
	if (h->il == 0 || h->il > HEADER_TAGS_MAX || h->dl > HEADER_DATA_MAX)
		return -1;
	if ((uint64_t)8 + (uint64_t)h->il * 16 + h->dl > len)
		return -1;
	h->index = blob + 8;
	h->store = h->index + (size_t)h->il * 16;
	return 0;
}

/* Find tag; its type, offset and count through the out-params. */
static int hdr_find(const hdr *h, uint32_t tag, uint32_t *type,
	uint32_t *off, uint32_t *count)
{
	uint32_t i;

	for (i = 0; i < h->il; i++) {
		const unsigned char *e = h->index + (size_t)i * 16;

		if (be32(e) == tag) {
			*type = be32(e + 4);
			*off = be32(e + 8);
			*count = be32(e + 12);
			return 0;
		}
	}
	return -1;
}

/* The string value of tag (the first of an array), NULL if absent or
 * malformed; points into the blob (NUL-terminated inside the store). */
static const char *hdr_string(const hdr *h, uint32_t tag)
{
	uint32_t type, off, count;

	if (hdr_find(h, tag, &type, &off, &count) < 0)
		return NULL;
	if (type != TYPE_STRING && type != TYPE_STRING_ARRAY &&
	    type != TYPE_I18NSTRING)
		return NULL;
	if (count < 1 || off >= h->dl ||
	    !memchr(h->store + off, '\0', h->dl - off))
		return NULL;
	return (const char *)h->store + off;
}

/* 1 and the int32 value of tag in *v, 0 if absent or malformed. */
static int hdr_int32(const hdr *h, uint32_t tag, uint32_t *v)
{
	uint32_t type, off, count;

	if (hdr_find(h, tag, &type, &off, &count) < 0 || type != TYPE_INT32 ||
	    count < 1 || off > h->dl || h->dl - off < 4)
		return 0;
	*v = be32(h->store + off);
	return 1;
}

static int add_header(rv_sbom *s, const char *path, const unsigned char *blob,
	size_t len, sqlite3_int64 hnum)
{
	rv_buf ver = RV_BUF_INIT(1u << 20);
	char epoch[16];
	const char *name, *version, *release, *arch;
	rv_sbom_pkg pkg;
	uint32_t e;
	hdr h;
	int rc;

	if (hdr_open(&h, blob, len) < 0)
		return rv_sbom_warn(s, path, strlen(path),
			"package %lld: malformed header", (long long)hnum);
	name = hdr_string(&h, TAG_NAME);
	version = hdr_string(&h, TAG_VERSION);
	release = hdr_string(&h, TAG_RELEASE);
	arch = hdr_string(&h, TAG_ARCH);
	if (!name || !name[0] || !version || !version[0])
		return rv_sbom_warn(s, path, strlen(path),
			"package %lld: no name or version", (long long)hnum);
	if ((rc = rv_buf_puts(&ver, version)) < 0 ||
	    (release && release[0] && ((rc = rv_buf_putc(&ver, '-')) < 0 ||
	    (rc = rv_buf_puts(&ver, release)) < 0))) {
		if (rc == RV_ETOOBIG)
			rc = rv_sbom_warn(s, path, strlen(path),
				"package %lld: version too long", (long long)hnum);
		goto cleanup;
	}
	memset(&pkg, 0, sizeof(pkg));
	pkg.type = "rpm";
	pkg.name = (char *)name;
	pkg.version = ver.ptr;
	pkg.arch = arch && arch[0] ? (char *)arch : NULL;
	pkg.location = (char *)path;
	if (hdr_int32(&h, TAG_EPOCH, &e)) {
		snprintf(epoch, sizeof(epoch), "%u", (unsigned)e);
		pkg.epoch = epoch;
	}
	rc = rv_sbom_add(s, &pkg);
cleanup:
	rv_buf_dispose(&ver);
	return rc;
}

int rv_pkgdb_rpm_parse(rv_sbom *s, const char *path, const char *data,
	size_t size)
{
	size_t plen = strlen(path);
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	unsigned char *copy = NULL;
	int rc = RV_OK, src;

	if (size < 100 || memcmp(data, "SQLite format 3", 16) != 0)
		return rv_sbom_warn(s, path, plen, "not an sqlite database");
	if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_MEMORY, NULL) != SQLITE_OK) {
		rc = db ? rv_error_set(RV_ENOMEM, "sqlite: %s", sqlite3_errmsg(db))
			: rv_error_set(RV_ENOMEM, "out of memory");
		goto cleanup;
	}
	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, (int *)NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_VIEW, 0, (int *)NULL);
	if (!(copy = sqlite3_malloc64(size))) {
		rc = rv_error_set(RV_ENOMEM, "out of memory");
		goto cleanup;
	}
	memcpy(copy, data, size);
	/* file format write/read versions 2 mean WAL; the in-memory copy
	 * has no -wal file, so read it as a rollback-journal database */
	if (copy[18] == 2)
		copy[18] = 1;
	if (copy[19] == 2)
		copy[19] = 1;
	src = sqlite3_deserialize(db, "main", copy, (sqlite3_int64)size,
		(sqlite3_int64)size, SQLITE_DESERIALIZE_FREEONCLOSE |
		SQLITE_DESERIALIZE_READONLY);
	copy = NULL; /* sqlite owns it now, even on failure */
	if (src != SQLITE_OK) {
		rc = rv_sbom_warn(s, path, plen, "sqlite: %s", sqlite3_errmsg(db));
		goto cleanup;
	}
	if (sqlite3_prepare_v2(db, "SELECT hnum, blob FROM Packages ORDER BY hnum",
	    -1, &st, NULL) != SQLITE_OK) {
		rc = rv_sbom_warn(s, path, plen, "not an rpmdb: %s",
			sqlite3_errmsg(db));
		goto cleanup;
	}
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const void *blob = sqlite3_column_blob(st, 1);
		int blen = sqlite3_column_bytes(st, 1);

		if (!blob || blen <= 0) {
			rc = rv_sbom_warn(s, path, plen, "package %lld: empty header",
				(long long)sqlite3_column_int64(st, 0));
		} else {
			rc = add_header(s, path, blob, (size_t)blen,
				sqlite3_column_int64(st, 0));
		}
		if (rc < 0)
			goto cleanup;
	}
	if (src != SQLITE_DONE)
		rc = rv_sbom_warn(s, path, plen, "sqlite: %s", sqlite3_errmsg(db));
cleanup:
	sqlite3_free(copy);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}
#endif
