/* frame.h - the probe's output: a framed, compressed, checksummed manifest */
#ifndef RV_FRAME_H
#define RV_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "core/dbset.h"
#include "core/manifest.h"
#include "util/buf.h"

/*
 * The probe writes the canonical manifest to stdout as a frame of short
 * text lines (it travels through the kubelet's container log), and a
 * one-line summary to its termination message. With --packages a second
 * frame follows, the "dbs frame", carrying the canonical form of the
 * package database set (core/dbset.h) the same way. Format, byte by byte,
 * in docs/probe.md. Each decoder skips the other frame as noise.
 */

#define RV_FRAME_VERSION 1
/* Largest canonical manifest a decoder accepts by default. */
#define RV_FRAME_MAX_RAW (256u << 20)

/*
 * Append the frame for a sorted manifest to out: a begin line, the zlib
 * of the canonical bytes in base64 lines of at most 80 characters, an end
 * line. Everything ends in '\n'. On failure out is left as it was.
 * Errors: those of rv_manifest_serialize (unsorted manifest), RV_ETOOBIG
 * past RV_FRAME_MAX_RAW or out->max, RV_ENOMEM.
 */
int rv_frame_encode(rv_buf *out, const rv_manifest *m);

/*
 * Find the frame in log (len bytes: a container log, possibly with lines
 * before and after it) and decode it. Every check must pass: header and
 * version, line sequence (a missing or reordered line is named), base64,
 * payload length and sha256, inflated length, and the manifest's own
 * parse. max_raw caps the inflated manifest (0: RV_FRAME_MAX_RAW; never
 * more than 1 GiB); the compressed size is capped by zlib's bound for it
 * and by len, all before anything is allocated.
 * On success *out is the manifest (the caller frees it) and root_out (if
 * not NULL) its root hash; on failure *out is NULL.
 * Errors: RV_EFORMAT (no frame, truncated, a line missing, out of order or
 * malformed, bad base64, counts or lengths that disagree, a second frame,
 * the manifest's own parse), RV_EUNSUPPORTED (frame version other than
 * RV_FRAME_VERSION), RV_ETOOBIG (raw over max_raw), RV_EVERIFY (payload
 * sha256 or root hash mismatch), RV_ENOMEM. The message names the line.
 */
int rv_frame_decode(rv_manifest **out, unsigned char root_out[RV_SHA256_LEN],
	const char *log, size_t len, size_t max_raw);

/*
 * Append the dbs frame of a sorted package database set to out: the same
 * lines as rv_frame_encode with the tag "rv-dbs " and the fields
 *   rv-dbs 1 begin files=N failed=F raw=R zlen=Z lines=L digest=HEX
 *   p 1 ... p L
 *   rv-dbs 1 end sha256=HEX lines=L
 * where raw is the length of the set's canonical form and digest its
 * sha256 (rv_dbset_digest). On failure out is left as it was. Errors:
 * those of rv_dbset_serialize (RV_EINVAL for an unsorted set), RV_ETOOBIG
 * past RV_FRAME_MAX_RAW or out->max, RV_ENOMEM.
 */
int rv_frame_encode_dbset(rv_buf *out, const rv_dbset *set);

/*
 * rv_frame_encode_dbset, but the frame must be at most budget bytes: while
 * it is larger, the largest contents of set are replaced by fail records
 * "dropped: the probe's log budget of BUDGET bytes" (rv_dbpath_drop_largest:
 * deterministic, largest first) and the frame is encoded again. set is
 * changed accordingly; *dropped (may be NULL) gets how many records were
 * dropped. RV_ETOOBIG when even a set without contents does not fit.
 */
int rv_frame_encode_dbset_fit(rv_buf *out, rv_dbset *set, size_t budget,
	size_t *dropped);

/*
 * Find the dbs frame in log and decode it, as strictly as rv_frame_decode
 * (every check above, messages naming the "dbs frame" and the log line);
 * lines of a manifest frame before or after it are noise, a second dbs
 * frame is refused. The payload must parse with rv_dbset_parse, its sha256
 * equal digest= and its counts files= and failed=. max_raw caps the
 * canonical form (0: RV_FRAME_MAX_RAW). On success *out is the set (the
 * caller frees it with rv_dbset_free) and digest_out (if not NULL) its
 * digest; on failure *out is NULL. Errors as rv_frame_decode.
 */
int rv_frame_decode_dbset(rv_dbset **out, unsigned char digest_out[RV_SHA256_LEN],
	const char *log, size_t len, size_t max_raw);

#endif
