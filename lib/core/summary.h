/* summary.h - the probe's one-line summary on its termination message */
#ifndef RV_SUMMARY_H
#define RV_SUMMARY_H

#include <stddef.h>

#include "core/dbset.h"
#include "core/frame.h"
#include "core/summary.h"
#include "core/manifest.h"
#include "util/buf.h"

/*
 * The probe ends with one line on its termination message (the kubelet
 * keeps at most RV_SUMMARY_MAX bytes of it): the manifest's root hash and
 * counts, and with --packages the package set's digest. It carries the
 * frame's format version (RV_FRAME_VERSION): both are one format. verify
 * reads the log only when this line says a side differs.
 */

/* Largest termination message the kubelet keeps. */
#define RV_SUMMARY_MAX 4096

typedef struct rv_summary {
	int version;
	unsigned char root[RV_SHA256_LEN];
	rv_manifest_stats stats;
	int complete;        /* 1 when stats.errors == 0 */
	/* The package database set (rv-probe --packages), when has_dbset. */
	int has_dbset;
	unsigned char dbset[RV_SHA256_LEN]; /* rv_dbset_digest */
	size_t dbfiles, dbfailed;           /* its records, fail records */
} rv_summary;

/*
 * Append the one-line summary of a sorted manifest (< RV_SUMMARY_MAX
 * bytes, ends in '\n'):
 *   rv-probe 1 root=HEX entries=N files=F dirs=D symlinks=S others=O
 *   mounts=M errors=E bytes=B status=complete|incomplete
 * Errors: those of rv_manifest_root_hash, RV_ETOOBIG, RV_ENOMEM.
 */
int rv_summary_format(rv_buf *out, const rv_manifest *m);

/*
 * The same summary with the package database set's fields after status
 * (set NULL: exactly rv_summary_format):
 *   ... status=S dbset=HEX dbfiles=N dbfailed=F
 * dbset is rv_dbset_digest_comparable of the sorted set (its digest less
 * mount-point records: what the image side can match), dbfiles its records,
 * dbfailed its fail records. Errors: also those of rv_dbset_digest.
 */
int rv_summary_format_dbset(rv_buf *out, const rv_manifest *m,
	const rv_dbset *set);

/*
 * Append the line a probe that failed leaves instead of a summary:
 * "rv-probe 1 error=MSG\n", with MSG cut to 1024 bytes and every byte
 * outside printable ASCII replaced by '?'. Errors: RV_ETOOBIG, RV_ENOMEM.
 */
int rv_summary_format_error(rv_buf *out, const char *msg);

/*
 * Parse a summary line (trailing newline optional) into *out, strictly:
 * fields in the order above, canonical decimals, counts that add up,
 * status consistent with errors; the three dbset fields either all
 * present, in that order, with dbfailed <= dbfiles (has_dbset = 1), or
 * none. RV_EFORMAT otherwise, RV_EUNSUPPORTED for
 * another version, and RV_ERROR with the message "probe failed: MSG" for
 * an error line. *out is only written on success.
 */
int rv_summary_parse(rv_summary *out, const char *text, size_t len);

#endif
