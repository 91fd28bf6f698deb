/* sha256.h - SHA-256 through OpenSSL's EVP interface, and hex helpers */
#ifndef RV_SHA256_H
#define RV_SHA256_H

#include <stddef.h>

#define RV_SHA256_LEN 32
#define RV_SHA256_HEX 65 /* 64 hex digits and a NUL */

typedef struct rv_sha256 {
	void *ctx; /* EVP_MD_CTX, owned */
} rv_sha256;

/* Start a digest. RV_ENOMEM or RV_ERROR (OpenSSL's message) on failure. */
int rv_sha256_init(rv_sha256 *h);
int rv_sha256_update(rv_sha256 *h, const void *data, size_t len);
/* Finish into out and free the context. */
int rv_sha256_final(rv_sha256 *h, unsigned char out[RV_SHA256_LEN]);
/* Free the context without finishing; NULL-safe and idempotent. */
void rv_sha256_dispose(rv_sha256 *h);

/* One-shot digest of a buffer. */
int rv_sha256_buf(unsigned char out[RV_SHA256_LEN], const void *data, size_t len);

/* Lower-case hex of a digest into out (RV_SHA256_HEX bytes). */
void rv_sha256_to_hex(char out[RV_SHA256_HEX], const unsigned char d[RV_SHA256_LEN]);

/* Parse exactly 64 lower-case hex digits; RV_EFORMAT otherwise. */
int rv_sha256_from_hex(unsigned char out[RV_SHA256_LEN], const char *hex, size_t len);

#endif
