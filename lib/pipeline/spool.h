/* spool.h - reports that could not be delivered, kept for the next run */
#ifndef RV_SPOOL_H
#define RV_SPOOL_H

#include <stddef.h>

/* Keep an undelivered report in dir as <key>.json (0600, written to a
 * temporary file and renamed, so a reader never sees half a report). */
int rv_spool_put(const char *dir, const char *key, const char *body, size_t len);

/* Try to deliver every spooled report, oldest first, with deliver(ctx,
 * key, body, len); a delivered report is removed. *sent and *left count
 * them. A report that fails stays for the next run. */
typedef int (*rv_spool_deliver_fn)(void *ctx, const char *key, const char *body,
	size_t len);
int rv_spool_flush(const char *dir, rv_spool_deliver_fn deliver, void *ctx,
	size_t *sent, size_t *left);

#endif
