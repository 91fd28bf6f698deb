/* sha256.c - SHA-256 through OpenSSL's EVP interface, and hex helpers */
#include <openssl/err.h>
#include <openssl/evp.h>

#include "error.h"
#include "sha256.h"
#include "banned.h"

static int openssl_error(const char *what)
{
	unsigned long e = ERR_get_error();
	char msg[256];

	ERR_error_string_n(e, msg, sizeof(msg));
	ERR_clear_error();
	return rv_error_set(RV_ERROR, "%s: %s", what, e ? msg : "unknown OpenSSL error");
}

int rv_sha256_init(rv_sha256 *h)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	h->ctx = NULL;
	if (!ctx)
		return rv_error_set(RV_ENOMEM, "out of memory for a SHA-256 context");
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return openssl_error("sha256 init");
	}
	h->ctx = ctx;
	return RV_OK;
}

int rv_sha256_update(rv_sha256 *h, const void *data, size_t len)
{
	if (len && EVP_DigestUpdate(h->ctx, data, len) != 1)
		return openssl_error("sha256 update");
	return RV_OK;
}

int rv_sha256_final(rv_sha256 *h, unsigned char out[RV_SHA256_LEN])
{
	unsigned int n = 0;
	int rc = RV_OK;

	if (EVP_DigestFinal_ex(h->ctx, out, &n) != 1 || n != RV_SHA256_LEN)
		rc = openssl_error("sha256 final");
	rv_sha256_dispose(h);
	return rc;
}

void rv_sha256_dispose(rv_sha256 *h)
{
	if (h->ctx)
		EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

int rv_sha256_buf(unsigned char out[RV_SHA256_LEN], const void *data, size_t len)
{
	unsigned int n = 0;

	if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 ||
	    n != RV_SHA256_LEN)
		return openssl_error("sha256");
	return RV_OK;
}

void rv_sha256_to_hex(char out[RV_SHA256_HEX], const unsigned char d[RV_SHA256_LEN])
{
	static const char hex[] = "0123456789abcdef";
	int i;

	for (i = 0; i < RV_SHA256_LEN; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[64] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int rv_sha256_from_hex(unsigned char out[RV_SHA256_LEN], const char *hex, size_t len)
{
	int i, hi, lo;

	if (len != 64)
		return rv_error_set(RV_EFORMAT, "sha256 digest must be 64 hex digits, got %zu characters", len);
	for (i = 0; i < RV_SHA256_LEN; i++) {
		hi = hexval(hex[2 * i]);
		lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return rv_error_set(RV_EFORMAT, "sha256 digest has a character that is not lower-case hex");
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return RV_OK;
}
