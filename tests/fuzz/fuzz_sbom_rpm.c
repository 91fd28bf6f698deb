/* fuzz_sbom_rpm.c - libFuzzer target: rpm headers (the blobs of an rpmdb's Packages table) */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef RV_HAVE_SQLITE3
#include <sqlite3.h>
#endif

#include "sources/sbom/sbom.h"
#include "sources/sbom/sbom_cdx.h"
#include "util/buf.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void feed(const void *db, size_t len)
{
	rv_buf out = RV_BUF_INIT((size_t)1 << 28);
	rv_sbom_cdx_meta meta = {
		.serial = "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79", .timestamp = "" };
	rv_sbom *s = NULL;

	if (rv_sbom_new(&s) < 0)
		return;
	if (rv_sbom_feed(s, "/var/lib/rpm/rpmdb.sqlite", 25, db, len) < 0 ||
	    rv_sbom_finish(s) < 0 || rv_sbom_cdx_write(&out, s, &meta) < 0)
		abort();
	rv_buf_dispose(&out);
	rv_sbom_free(s);
}

/*
 * With sqlite (the Makefile defines RV_HAVE_SQLITE3 when it links it):
 * the input is the blob of one row of a real sqlite Packages table, made
 * in memory and serialized, so the fuzzer works on the header parser
 * rather than on sqlite's file format. The seeds are headers rpm 4.18
 * wrote (tests/scenario/sbom_rpm.sh makes the same). Without sqlite, the
 * bytes are fed as the database file itself.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
#ifdef RV_HAVE_SQLITE3
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	unsigned char *img = NULL;
	sqlite3_int64 len = 0;

	if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
	    sqlite3_exec(db, "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)",
	    NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO Packages (blob) VALUES (?)", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 1, data, (int)size, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE)
		abort();
	sqlite3_finalize(st);
	img = sqlite3_serialize(db, "main", &len, 0);
	if (!img)
		abort();
	feed(img, (size_t)len);
	sqlite3_free(img);
	sqlite3_close(db);
#else
	feed(data, size);
#endif
	return 0;
}
