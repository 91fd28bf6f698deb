/* cache.h - a content-addressed, checksummed, size-limited on-disk cache */
#ifndef RV_CACHE_H
#define RV_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/*
 * Entries live in DIR/<kind>/<sha256 of key>, one file each:
 *
 *   "rv-cache 1\n" <kind> "\n" <key> "\n" <payload> <sha256 of all before>
 *
 * Keys name immutable things (a layer digest + path filter, an image
 * digest + platform + paths), so an entry never changes once written.
 * Writers write a temporary file in the same directory and rename it into
 * place, so a reader sees a whole entry or none, and two processes may
 * share the directory. A reader checks the kind, the key and the checksum:
 * a corrupt entry is removed and reported as a miss (the caller rebuilds
 * it). A hit refreshes the entry's mtime; rv_cache_evict removes the least
 * recently used entries until the total size is under the limit, holding
 * an exclusive flock on DIR/.lock so two evictions do not race.
 *
 * A cache is used by several threads at once (no shared mutable state but
 * the counters, which are atomic).
 */

typedef struct rv_cache rv_cache;

typedef struct rv_cache_stats {
	unsigned long hits, misses, corrupt, writes, evicted;
} rv_cache_stats;

#define RV_CACHE_ENTRY_MAX (1ull << 30)

/* Open (creating with mode 0700) the cache directory dir. max_bytes is the
 * size limit for rv_cache_evict (0: no limit). */
int rv_cache_open(rv_cache **out, const char *dir, uint64_t max_bytes);
void rv_cache_close(rv_cache *c);

/* Look up kind/key. On a hit *found = 1 and out holds the payload (reset
 * first); a miss or a corrupt entry (removed) is *found = 0. Errors other
 * than "not there" are returned. */
int rv_cache_get(rv_cache *c, const char *kind, const char *key, rv_buf *out,
	int *found);

/* Store a payload under kind/key (atomic replace). */
int rv_cache_put(rv_cache *c, const char *kind, const char *key,
	const void *data, size_t len);

/* Remove least recently used entries until the total is <= the limit. */
int rv_cache_evict(rv_cache *c);

void rv_cache_stats_get(rv_cache_stats *out, const rv_cache *c);

#endif
