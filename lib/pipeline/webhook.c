/* webhook.c - deliver reports: signed POSTs with retries */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "pipeline/webhook.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/banned.h"

#define SECRET_MAX 4096

int rv_webhook_sign(char out[68], const unsigned char *secret, size_t secret_len,
	time_t timestamp, const char *body, size_t body_len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0, i;
	char ts[32];
	EVP_MAC *m = NULL;
	EVP_MAC_CTX *mc = NULL;
	OSSL_PARAM params[2];
	size_t outl = 0;
	int rc = RV_ERROR, n;

	n = snprintf(ts, sizeof(ts), "%lld.", (long long)timestamp);
	m = EVP_MAC_fetch(NULL, "HMAC", NULL);
	mc = m ? EVP_MAC_CTX_new(m) : NULL;
	params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!mc || EVP_MAC_init(mc, secret, secret_len, params) != 1 ||
	    EVP_MAC_update(mc, (const unsigned char *)ts, (size_t)n) != 1 ||
	    EVP_MAC_update(mc, (const unsigned char *)body, body_len) != 1 ||
	    EVP_MAC_final(mc, mac, &outl, sizeof(mac)) != 1 || outl != 32) {
		rc = rv_error_set(RV_ERROR, "cannot compute the HMAC-SHA256 signature");
		goto cleanup;
	}
	maclen = (unsigned int)outl;
	out[0] = 'v';
	out[1] = '1';
	out[2] = '=';
	for (i = 0; i < maclen; i++) {
		out[3 + 2 * i] = hex[mac[i] >> 4];
		out[4 + 2 * i] = hex[mac[i] & 15];
	}
	out[3 + 2 * maclen] = '\0';
	rc = RV_OK;
cleanup:
	explicit_bzero(mac, sizeof(mac));
	EVP_MAC_CTX_free(mc);
	EVP_MAC_free(m);
	return rc;
}

/* Read a small secret file, trailing newline removed. */
static int read_secret(rv_buf *out, const char *path, const char *what)
{
	char chunk[SECRET_MAX];
	ssize_t n;
	int fd, rc = RV_OK;

	rv_buf_reset(out);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return rv_error_setsys(RV_EIO, errno, "cannot open %s '%s'", what, path);
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = rv_error_setsys(RV_EIO, errno, "cannot read %s '%s'", what, path);
			break;
		}
		if ((rc = rv_buf_add(out, chunk, (size_t)n)) < 0) {
			rv_error_prefix(rc, "%s '%s'", what, path);
			break;
		}
	}
	close(fd);
	explicit_bzero(chunk, sizeof(chunk));
	while (rc == RV_OK && out->len &&
	       (out->ptr[out->len - 1] == '\n' || out->ptr[out->len - 1] == '\r'))
		out->ptr[--out->len] = '\0';
	if (rc == RV_OK && out->len == 0)
		rc = rv_error_set(RV_EINVAL, "%s '%s' is empty", what, path);
	return rc;
}

static void wipe(rv_buf *b)
{
	if (b->ptr)
		explicit_bzero(b->ptr, b->cap);
	rv_buf_dispose(b);
}

static size_t discard(char *d, size_t s, size_t n, void *p)
{
	rv_buf *b = p;

	(void)d;
	if (b->len < 512)
		rv_buf_add(b, d, s * n > 512 - b->len ? 512 - b->len : s * n);
	return s * n;
}

struct retry_hdr {
	long retry_after;
};

static size_t on_header(char *data, size_t size, size_t nmemb, void *p)
{
	struct retry_hdr *h = p;
	size_t len = size * nmemb;
	char tmp[32];

	if (len > 12 && len - 12 < sizeof(tmp) && !strncasecmp(data, "retry-after:", 12)) {
		memcpy(tmp, data + 12, len - 12);
		tmp[len - 12] = '\0';
		h->retry_after = strtol(tmp, NULL, 10);
		if (h->retry_after > 60)
			h->retry_after = 60;
	}
	return len;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int rv_webhook_post(const rv_webhook_cfg *w, const char *body, size_t body_len,
	const char *idempotency_key, const char *ca_file)
{
	rv_buf secret = RV_BUF_INIT(SECRET_MAX), token = RV_BUF_INIT(SECRET_MAX);
	rv_buf hdr = RV_BUF_INIT(SECRET_MAX + 64), answer = RV_BUF_INIT(1024);
	char sig[68], errbuf[CURL_ERROR_SIZE];
	const char *env;
	int attempt, rc = RV_OK;

	if (w->secret_file)
		rc = read_secret(&secret, w->secret_file, "webhook secret file");
	else if (w->secret_env) {
		env = getenv(w->secret_env);
		if (!env || !*env)
			rc = rv_error_set(RV_EINVAL, "webhook secret variable '%s' is not set",
				w->secret_env);
		else
			rc = rv_buf_puts(&secret, env);
	}
	if (rc == RV_OK && w->bearer_token_file)
		rc = read_secret(&token, w->bearer_token_file, "webhook token file");
	if (rc < 0)
		goto cleanup;
	for (attempt = 0;; attempt++) {
		struct curl_slist *hl = NULL;
		struct retry_hdr rh = { -1 };
		time_t now = time(NULL);
		long status = 0, wait;
		CURLcode cc;
		CURL *c = curl_easy_init();

		if (!c) {
			rc = rv_error_set(RV_ENOMEM, "out of memory for a curl handle");
			goto cleanup;
		}
		rv_buf_reset(&answer);
		rv_buf_reset(&hdr);
		rv_buf_printf(&hdr, "X-RV-Timestamp: %lld", (long long)now);
		hl = curl_slist_append(hl, hdr.ptr);
		hl = curl_slist_append(hl, "Content-Type: application/json");
		if (secret.len) {
			if ((rc = rv_webhook_sign(sig, (unsigned char *)secret.ptr, secret.len,
					now, body, body_len)) < 0) {
				curl_slist_free_all(hl);
				curl_easy_cleanup(c);
				goto cleanup;
			}
			rv_buf_reset(&hdr);
			rv_buf_printf(&hdr, "X-RV-Signature: %s", sig);
			hl = curl_slist_append(hl, hdr.ptr);
		}
		if (idempotency_key) {
			rv_buf_reset(&hdr);
			rv_buf_printf(&hdr, "Idempotency-Key: %s", idempotency_key);
			hl = curl_slist_append(hl, hdr.ptr);
		}
		if (token.len) {
			rv_buf_reset(&hdr);
			rv_buf_printf(&hdr, "Authorization: Bearer %s", token.ptr);
			hl = curl_slist_append(hl, hdr.ptr);
		}
		errbuf[0] = '\0';
		curl_easy_setopt(c, CURLOPT_URL, w->url);
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, w->timeout_ms > 0 ? w->timeout_ms : 10000L);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer);
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, &rh);
		curl_easy_setopt(c, CURLOPT_USERAGENT, "runtime-verifier");
		if (ca_file)
			curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
		cc = curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_cleanup(c);
		curl_slist_free_all(hl);
		wipe(&hdr);
		rv_buf_init(&hdr, SECRET_MAX + 64);
		if (cc == CURLE_OK && status >= 200 && status < 300) {
			rc = RV_OK;
			goto cleanup;
		}
		if (cc != CURLE_OK)
			rc = rv_error_set(RV_ENET, "webhook '%s': %s", w->url,
				errbuf[0] ? errbuf : curl_easy_strerror(cc));
		else
			rc = rv_error_set(status == 401 || status == 403 ? RV_EAUTH : RV_ERROR,
				"webhook '%s' answered %ld: %.200s", w->url, status,
				answer.len ? answer.ptr : "");
		if (attempt >= w->retries ||
		    (cc == CURLE_OK && status != 429 && status < 500))
			goto cleanup;
		wait = rh.retry_after >= 0 ? rh.retry_after * 1000
			: (500L << (attempt > 5 ? 5 : attempt));
		wait = wait / 2 + (long)arc4random_uniform((uint32_t)(wait / 2 + 1));
		sleep_ms(wait);
	}
cleanup:
	wipe(&secret);
	wipe(&token);
	wipe(&hdr);
	rv_buf_dispose(&answer);
	return rc;
}
