/* frame.h - the probe's output: a framed, compressed, checksummed manifest */
#ifndef RV_FRAME_H
#define RV_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "core/manifest.h"
#include "util/buf.h"

/*
 * The probe writes the canonical manifest to stdout as a frame of short
 * text lines (it travels through the kubelet's container log), and a
 * one-line summary to its termination message. Format in docs/manifest.md
 * ("Probe output").
 */

#define RV_FRAME_VERSION 1
/* Largest canonical manifest a decoder accepts by default. */
#define RV_FRAME_MAX_RAW (256u << 20)
/* Largest termination message the kubelet keeps. */
#define RV_SUMMARY_MAX 4096

typedef struct rv_summary {
	int version;
	unsigned char root[RV_SHA256_LEN];
	rv_manifest_stats stats;
	int complete;        /* 1 when stats.errors == 0 */
} rv_summary;

/* Append the frame for a sorted manifest to out. */
int rv_frame_encode(rv_buf *out, const rv_manifest *m);

/*
 * Find the frame in log (len bytes: a container log, possibly with lines
 * before and after it) and decode it. Every check must pass: header and
 * version, line sequence (a missing or reordered line is named), base64,
 * payload length and sha256, inflated length, and the manifest's own
 * parse. max_raw caps the inflated manifest (0: RV_FRAME_MAX_RAW).
 * On success *out is the manifest and root_out (if not NULL) its root hash.
 */
int rv_frame_decode(rv_manifest **out, unsigned char root_out[RV_SHA256_LEN],
	const char *log, size_t len, size_t max_raw);

/* Append the one-line summary (< RV_SUMMARY_MAX bytes, ends in '\n'). */
int rv_summary_format(rv_buf *out, const rv_manifest *m);

/* Parse a summary line (trailing newline optional). RV_EFORMAT otherwise. */
int rv_summary_parse(rv_summary *out, const char *text, size_t len);

#endif
