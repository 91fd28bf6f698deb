/* pkgdb_dpkg.h - catalogue dpkg's status file (/var/lib/dpkg/status) and distroless status.d/ files */
#ifndef RV_PKGDB_DPKG_H
#define RV_PKGDB_DPKG_H

#include <stddef.h>

#include "sources/sbom/sbom.h"

/*
 * Add the packages of one database file (path: NUL-terminated, absolute
 * inside the filesystem; data: size bytes, borrowed, need not be
 * NUL-terminated) to s. Malformed content becomes warnings naming path;
 * what can be read is still added. Returns 0, or RV_ENOMEM. Called by
 * rv_sbom_feed, which has checked the size cap.
 */
int rv_pkgdb_dpkg_parse(rv_sbom *s, const char *path, const char *data,
	size_t size);

#endif
