/* webhook.h - deliver reports: signed POSTs with retries */
#ifndef RV_WEBHOOK_H
#define RV_WEBHOOK_H

#include <stddef.h>
#include <time.h>

#include "pipeline/config.h"

/*
 * A report is POSTed as application/json with these headers (how a
 * receiver checks them is in docs/webhooks.md):
 *
 *   X-RV-Timestamp: <unix seconds>
 *   X-RV-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>." + body)>
 *   Idempotency-Key: <key>           the same on every retry and re-send
 *   Authorization: Bearer <token>    when bearerTokenFile is set
 *
 * The signature is sent only when a secret is configured; the secret comes
 * from secretFile or the environment variable secretEnv, read at each
 * delivery (so it can rotate) and wiped after use.
 */

/* HMAC-SHA256 signature header value ("v1=<64 hex>") into out. */
int rv_webhook_sign(char out[68], const unsigned char *secret, size_t secret_len,
	time_t timestamp, const char *body, size_t body_len);

/* POST body to w->url, retrying 5xx, 429 (Retry-After honoured) and
 * connection errors up to w->retries times with backoff. ca_file (may be
 * NULL) is an extra CA for the receiver. RV_OK once a 2xx answer came. */
int rv_webhook_post(const rv_webhook_cfg *w, const char *body, size_t body_len,
	const char *idempotency_key, const char *ca_file);

#endif
