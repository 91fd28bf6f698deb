/* sbom.h - catalogue installed packages from their databases, fed by any file source */
#ifndef RV_SBOM_H
#define RV_SBOM_H

#include <stddef.h>
#include <stdint.h>

#include "core/dbpath.h"
#include "core/dbset.h"
#include "util/buf.h"
#include "util/span.h"

/*
 * A catalogue (rv_sbom) is filled by a *source* that reads files of one
 * filesystem (a directory tree, an image's layer stream, a probe's output)
 * and hands over the package databases it meets:
 *
 *   rv_sbom_new(&s);
 *   for each regular file PATH (absolute inside the filesystem):
 *       if ((kind = rv_sbom_wants(PATH, len, &max)) > 0)
 *           read at most max bytes, then
 *           rv_sbom_feed(s, PATH, len, bytes, n)          (whole contents)
 *           or rv_sbom_feed_failed(s, PATH, len, "why")    (unreadable,
 *                                                         larger than max)
 *   rv_sbom_finish(s);     purls, sorting; call once, after the last feed
 *
 * Files may come in any order (a tar stream lists /var/lib/dpkg/status
 * before or after /etc/os-release); everything that depends on another
 * file is resolved by rv_sbom_finish. Only regular files are fed: a
 * symlink (Debian's /etc/os-release) is never followed; the source feeds
 * its target's path if that is wanted too (/usr/lib/os-release).
 * A source that must know the set beforehand (the probe) uses the globs of
 * rv_sbom_db_globs() and checks candidates with rv_sbom_wants().
 *
 * Malformed or oversized databases never fail the catalogue: they become
 * warnings naming the file, and the rest is still catalogued. Functions
 * fail only for RV_ENOMEM and RV_EINVAL (a bad call).
 */

/* What a wanted path is (rv_sbom_wants): the kinds of core/dbpath.h,
 * under their older names. */
typedef rv_dbpath_kind rv_sbom_kind;
#define RV_SBOM_NONE        RV_DBPATH_NONE
#define RV_SBOM_OS_RELEASE  RV_DBPATH_OS_RELEASE
#define RV_SBOM_DPKG        RV_DBPATH_DPKG
#define RV_SBOM_DPKG_D      RV_DBPATH_DPKG_D
#define RV_SBOM_APK         RV_DBPATH_APK
#define RV_SBOM_RPM         RV_DBPATH_RPM
#define RV_SBOM_PYTHON      RV_DBPATH_PYTHON
#define RV_SBOM_NPM         RV_DBPATH_NPM
#define RV_SBOM_KIND_COUNT  RV_DBPATH_KIND_COUNT

/* The size caps per kind are core/dbpath.h's RV_DBPATH_MAX_*. */
/* Cap on the packages of one catalogue and on its warnings. */
#define RV_SBOM_MAX_PKGS       1000000u
#define RV_SBOM_MAX_WARNINGS   10000u

/* One package. All strings are owned by the catalogue (NUL-terminated,
 * may hold any byte but NUL). */
typedef struct rv_sbom_pkg {
	char *type;      /* purl type: "deb", "apk", "rpm", "pypi", "npm" */
	char *ns;        /* purl namespace, unencoded: "debian", "alpine",
	                  * "@types"; NULL for none. Distribution packages
	                  * get theirs from os-release in rv_sbom_finish. */
	char *name;      /* as the database spells it */
	char *version;   /* full version (deb: with epoch; rpm: version-release) */
	char *arch;      /* or NULL */
	char *upstream;  /* deb Source, apk origin; or NULL */
	char *epoch;     /* rpm epoch; or NULL */
	char *location;  /* the database it came from, absolute inside the
	                  * filesystem ("/var/lib/dpkg/status",
	                  * "/usr/lib/python3/dist-packages/yaml-6.0.dist-info") */
	char *purl;      /* set by rv_sbom_finish (or read from a BOM) */
} rv_sbom_pkg;

/* A database that could not be (fully) read. */
typedef struct rv_sbom_warning {
	char *path;      /* the file, absolute inside the filesystem */
	char *message;   /* lowercase, no full stop, without the path */
} rv_sbom_warning;

/* What /etc/os-release (or /usr/lib/os-release) says; NULLs if absent. */
typedef struct rv_sbom_os {
	char *id;         /* "debian" */
	char *version_id; /* "12" */
	char *pretty_name;
	char *codename;   /* VERSION_CODENAME */
} rv_sbom_os;

typedef struct rv_sbom {
	rv_sbom_pkg *pkgs;     /* sorted by purl, then location, after finish */
	size_t npkgs, pkgs_cap;
	rv_sbom_warning *warnings; /* in the order they were found */
	size_t nwarnings, warnings_cap;
	size_t warnings_dropped;   /* past RV_SBOM_MAX_WARNINGS */
	rv_sbom_os os;
	size_t dbs_read[RV_SBOM_KIND_COUNT]; /* files fed, per kind */
	uint64_t bytes_read;
	int finished;
	/* os-release seen at each place, until finish picks one */
	char *os_etc, *os_usr;
	size_t os_etc_len, os_usr_len;
} rv_sbom;

/* Allocate an empty catalogue; free it with rv_sbom_free. */
int rv_sbom_new(rv_sbom **out);

/* Free s and everything it owns. NULL-safe. */
void rv_sbom_free(rv_sbom *s);

/*
 * Whether a regular file at path (absolute inside the filesystem, len
 * bytes) is a package database: its kind, or RV_SBOM_NONE. *max_out (may
 * be NULL) gets the size cap for that kind. Pure: no I/O. The same as
 * rv_dbpath_classify (core/dbpath.h), which the probe uses too.
 */
rv_sbom_kind rv_sbom_wants(const char *path, size_t len, size_t *max_out);

/*
 * Globs (core/glob.h syntax) that cover every path rv_sbom_wants accepts,
 * for a source that must choose its files first; *n gets their count.
 * They are wider than rv_sbom_wants: check each candidate with it.
 * The same as rv_dbpath_globs.
 */
const char *const *rv_sbom_db_globs(size_t *n);

/*
 * Catalogue the whole contents of one database file (data, size bytes,
 * borrowed). The kind comes from rv_sbom_wants(path); a path it does not
 * want is RV_EINVAL, as is a feed after rv_sbom_finish. Content larger
 * than the kind's cap, or malformed, becomes a warning; the call still
 * returns 0. RV_ENOMEM.
 */
int rv_sbom_feed(rv_sbom *s, const char *path, size_t len,
	const void *data, size_t size);

/* Record that the database at path could not be read ("larger than the
 * limit of N bytes", "cannot open: Permission denied"): a warning. */
int rv_sbom_feed_failed(rv_sbom *s, const char *path, size_t len,
	const char *why);

/*
 * Feed every record of a package database set (core/dbset.h: what a probe
 * or an image's layers collected): contents through rv_sbom_feed, failed
 * records through rv_sbom_feed_failed, and a record whose path is not a
 * package database as a warning. Does not call rv_sbom_finish. RV_ENOMEM,
 * RV_EINVAL (finished catalogue).
 */
int rv_sbom_feed_dbset(rv_sbom *s, const rv_dbset *set);

/*
 * Resolve what depends on several files (os-release: namespaces and the
 * distro qualifier), compute every purl, sort. Call once; RV_EINVAL if
 * called again.
 */
int rv_sbom_finish(rv_sbom *s);

/*
 * Append a warning about path (borrowed; copied). Used by the parsers and
 * sources. Past RV_SBOM_MAX_WARNINGS warnings are only counted.
 */
int rv_sbom_warn(rv_sbom *s, const char *path, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * Append a package; the strings are copied (NULL allowed except type,
 * name, version, location). name and version must be non-empty. Past
 * RV_SBOM_MAX_PKGS packages, a warning naming location instead.
 */
int rv_sbom_add(rv_sbom *s, const rv_sbom_pkg *p);

/* rv_sbom_add for a package whose fields are spans of a database's bytes
 * (borrowed; copied here). An empty arch or upstream means none. */
int rv_sbom_add_spans(rv_sbom *s, const char *type, rv_span location,
	rv_span name, rv_span version, rv_span arch, rv_span upstream);

/*
 * The purl of p (per the purl spec: lowercase type, percent-encoded
 * namespace, name, version and qualifier values; qualifiers sorted by key;
 * pypi names normalised per PEP 503) appended to out. distro may be
 * NULL. ns/arch/upstream/epoch NULL are left out.
 */
int rv_sbom_purl(rv_buf *out, const rv_sbom_pkg *p, const char *distro);

/* Percent-encode len bytes of s for a purl component: everything but
 * A-Z a-z 0-9 . - _ ~ and ':' becomes %XX (upper-case hex). */
int rv_sbom_purl_encode(rv_buf *out, const char *s, size_t len);

/* The purl types a catalogue can hold, in a fixed order; *n their count. */
const char *const *rv_sbom_types(size_t *n);

/* Count a catalogue's packages per type, in rv_sbom_types() order (counts
 * has room for *n of them). */
void rv_sbom_count_types(const rv_sbom *s, size_t *counts);

#endif
