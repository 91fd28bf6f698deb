/* registry.c - OCI distribution client: references, auth, manifests, blobs */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "sources/oci/dockercfg.h"
#include "sources/oci/registry.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/sha256.h"
#include "util/banned.h"

#define HDR_MAX (64u * 1024)        /* response headers kept per response */
#define ERRBODY_MAX 2048u           /* error body kept for messages */
#define TOKEN_BODY_MAX (1u << 20)
#define STREAM_MAX (8u << 20)       /* bytes a blob stream may buffer */
#define STREAM_PAUSE (1u << 20)     /* pause the transfer past this much unread */
#define RETRY_AFTER_MAX 60          /* seconds we wait for a 429 at most */
#define CONFIG_FILE_MAX (1u << 20)

static const char accept_manifests[] =
	"Accept: " RV_MT_OCI_MANIFEST ", " RV_MT_OCI_INDEX ", "
	RV_MT_DOCKER_MANIFEST ", " RV_MT_DOCKER_LIST ", "
	RV_MT_DOCKER_V1_SIGNED ", " RV_MT_DOCKER_V1;

enum auth_scheme { AUTH_NONE = 0, AUTH_BASIC, AUTH_BEARER };

struct token {
	char *host;
	char *repo;
	char *token;
	time_t expires;
};

struct rv_registry {
	rv_registry_opts opts;
	pthread_mutex_t lock;
	/* Credentials by host, loaded lazily from the docker config. */
	char *cfg_text;       /* docker config file content, or NULL */
	char *cfg_name;
	struct token *tokens;
	size_t ntokens;
	struct { char *host; int scheme; } *schemes;
	size_t nschemes;
	rv_registry_stats stats;
};

/* --- references --------------------------------------------------------- */

int rv_registry_digest_check(const char *digest, size_t len)
{
	size_t i;

	if (len > 7 && !memcmp(digest, "sha256:", 7)) {
		if (len != 7 + 64)
			goto bad;
		for (i = 7; i < len; i++)
			if (!((digest[i] >= '0' && digest[i] <= '9') ||
			      (digest[i] >= 'a' && digest[i] <= 'f')))
				goto bad;
		return RV_OK;
	}
	if (len && memchr(digest, ':', len)) {
		for (i = 0; i < len && digest[i] != ':'; i++)
			if (!islower((unsigned char)digest[i]) && !isdigit((unsigned char)digest[i]))
				goto bad;
		return rv_error_set(RV_EUNSUPPORTED, "digest algorithm of '%.*s' is not supported (only sha256)",
			(int)(len > 80 ? 80 : len), digest);
	}
bad:
	return rv_error_set(RV_EFORMAT, "bad digest '%.*s'", (int)(len > 80 ? 80 : len), digest);
}

void rv_registry_ref_dispose(rv_registry_ref *ref)
{
	free(ref->registry);
	free(ref->repository);
	free(ref->tag);
	free(ref->digest);
	memset(ref, 0, sizeof(*ref));
}

static int repo_char_ok(const char *s, size_t n)
{
	size_t i;

	if (!n)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!(islower(c) || isdigit(c) || c == '.' || c == '_' || c == '-' || c == '/'))
			return 0;
	}
	if (s[0] == '/' || s[n - 1] == '/' || strstr(s, "//"))
		return 0;
	return 1;
}

int rv_registry_ref_parse(rv_registry_ref *out, const char *s)
{
	const char *at, *name_end, *slash, *colon, *p;
	rv_buf repo = RV_BUF_INIT(4096);
	size_t n;
	int rc = RV_OK;

	memset(out, 0, sizeof(*out));
	n = strlen(s);
	if (!n || n > 4096)
		return rv_error_set(RV_EINVAL, "bad image reference '%.100s'", s);
	at = strchr(s, '@');
	name_end = at ? at : s + n;
	if (at) {
		if ((rc = rv_registry_digest_check(at + 1, strlen(at + 1))) < 0) {
			rv_error_prefix(RV_EINVAL, "image reference '%s'", s);
			return RV_EINVAL;
		}
		if (!(out->digest = strdup(at + 1)))
			goto nomem;
	}
	/* registry: first component when it has '.', ':' or is localhost */
	slash = memchr(s, '/', (size_t)(name_end - s));
	p = s;
	if (slash && (memchr(s, '.', (size_t)(slash - s)) || memchr(s, ':', (size_t)(slash - s)) ||
	    ((size_t)(slash - s) == 9 && !memcmp(s, "localhost", 9)))) {
		if (slash == s)
			goto bad;
		if (!(out->registry = strndup(s, (size_t)(slash - s))))
			goto nomem;
		p = slash + 1;
	} else if (!(out->registry = strdup("registry-1.docker.io"))) {
		goto nomem;
	}
	if (!strcmp(out->registry, "docker.io") || !strcmp(out->registry, "index.docker.io")) {
		free(out->registry);
		if (!(out->registry = strdup("registry-1.docker.io")))
			goto nomem;
	}
	/* tag: after the last ':' of the last component */
	slash = NULL;
	for (const char *q = p; q < name_end; q++)
		if (*q == '/')
			slash = q;
	colon = memchr(slash ? slash : p, ':', (size_t)(name_end - (slash ? slash : p)));
	if (colon) {
		size_t tl = (size_t)(name_end - colon - 1);

		if (!tl || tl > 128)
			goto bad;
		for (size_t i = 0; i < tl; i++) {
			unsigned char c = (unsigned char)colon[1 + i];
			if (!(isalnum(c) || c == '_' || c == '.' || c == '-') || (i == 0 && (c == '.' || c == '-')))
				goto bad;
		}
		if (!(out->tag = strndup(colon + 1, tl)))
			goto nomem;
		name_end = colon;
	}
	if (!strcmp(out->registry, "registry-1.docker.io") && !memchr(p, '/', (size_t)(name_end - p)))
		rc = rv_buf_puts(&repo, "library/");
	if (rc < 0 || (rc = rv_buf_add(&repo, p, (size_t)(name_end - p))) < 0)
		goto nomem;
	if (!repo_char_ok(repo.ptr, repo.len))
		goto bad;
	out->repository = rv_buf_detach(&repo, &n);
	if (!out->repository)
		goto nomem;
	if (!out->tag && !out->digest && !(out->tag = strdup("latest")))
		goto nomem;
	return RV_OK;
bad:
	rv_buf_dispose(&repo);
	rv_registry_ref_dispose(out);
	return rv_error_set(RV_EINVAL, "bad image reference '%.200s'", s);
nomem:
	rv_buf_dispose(&repo);
	rv_registry_ref_dispose(out);
	return rv_error_set(RV_ENOMEM, "out of memory");
}

/* --- client ----------------------------------------------------------- */

static void global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int rv_registry_new(rv_registry **out, const rv_registry_opts *opts)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	rv_registry *r;
	rv_buf b = RV_BUF_INIT(CONFIG_FILE_MAX);
	char chunk[8192], *path = NULL;
	int fd = -1, rc = RV_OK, explicit_path;
	ssize_t n;

	*out = NULL;
	pthread_once(&once, global_init);
	if (!(r = calloc(1, sizeof(*r))))
		return rv_error_set(RV_ENOMEM, "out of memory");
	if (opts)
		r->opts = *opts;
	if (!r->opts.retries)
		r->opts.retries = 5;
	if (r->opts.retries < 0)
		r->opts.retries = 0;
	if (!r->opts.backoff_ms)
		r->opts.backoff_ms = 200;
	if (!r->opts.connect_timeout)
		r->opts.connect_timeout = 15;
	if (!r->opts.stall_timeout)
		r->opts.stall_timeout = 30;
	pthread_mutex_init(&r->lock, NULL);

	explicit_path = r->opts.docker_config != NULL;
	path = explicit_path ? strdup(r->opts.docker_config) : rv_dockercfg_default_path();
	if (path && *path) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			if (explicit_path || errno != ENOENT) {
				rc = rv_error_setsys(RV_EIO, errno, "cannot open docker config '%s'", path);
				goto cleanup;
			}
		} else {
			for (;;) {
				n = read(fd, chunk, sizeof(chunk));
				if (n < 0 && errno == EINTR)
					continue;
				if (n < 0) {
					rc = rv_error_setsys(RV_EIO, errno, "cannot read docker config '%s'", path);
					goto cleanup;
				}
				if (!n)
					break;
				if ((rc = rv_buf_add(&b, chunk, (size_t)n)) < 0) {
					rv_error_prefix(rc, "docker config '%s'", path);
					goto cleanup;
				}
			}
			r->cfg_text = rv_buf_detach(&b, NULL);
			r->cfg_name = path;
			path = NULL;
			if (!r->cfg_text) {
				rc = rv_error_set(RV_ENOMEM, "out of memory");
				goto cleanup;
			}
		}
	}
	*out = r;
	r = NULL;
cleanup:
	if (fd >= 0)
		close(fd);
	explicit_bzero(chunk, sizeof(chunk));
	if (b.ptr)
		explicit_bzero(b.ptr, b.cap);
	rv_buf_dispose(&b);
	free(path);
	rv_registry_free(r);
	return rc;
}

void rv_registry_free(rv_registry *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->ntokens; i++) {
		free(r->tokens[i].host);
		free(r->tokens[i].repo);
		if (r->tokens[i].token) {
			explicit_bzero(r->tokens[i].token, strlen(r->tokens[i].token));
			free(r->tokens[i].token);
		}
	}
	free(r->tokens);
	for (i = 0; i < r->nschemes; i++)
		free(r->schemes[i].host);
	free(r->schemes);
	if (r->cfg_text) {
		explicit_bzero(r->cfg_text, strlen(r->cfg_text));
		free(r->cfg_text);
	}
	free(r->cfg_name);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

void rv_registry_stats_get(rv_registry_stats *out, rv_registry *r)
{
	pthread_mutex_lock(&r->lock);
	*out = r->stats;
	pthread_mutex_unlock(&r->lock);
}

static void stat_add(rv_registry *r, unsigned long *field, unsigned long n)
{
	pthread_mutex_lock(&r->lock);
	*field += n;
	pthread_mutex_unlock(&r->lock);
}

/* Credentials for host: the secret text first, then the file. */
static int creds_for(rv_registry *r, const char *host, char **user, char **pass)
{
	int rc;

	*user = *pass = NULL;
	if (r->opts.docker_config_json) {
		rc = rv_dockercfg_lookup(user, pass, r->opts.docker_config_json,
			strlen(r->opts.docker_config_json), host, "secret");
		if (rc < 0 || *user)
			return rc;
	}
	if (r->cfg_text)
		return rv_dockercfg_lookup(user, pass, r->cfg_text, strlen(r->cfg_text),
			host, r->cfg_name);
	return RV_OK;
}

static void secret_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static int is_insecure(rv_registry *r, const char *host)
{
	size_t i;

	for (i = 0; i < r->opts.ninsecure; i++)
		if (!strcmp(r->opts.insecure[i], host))
			return 1;
	return 0;
}

static int scheme_get(rv_registry *r, const char *host)
{
	int s = AUTH_NONE;
	size_t i;

	pthread_mutex_lock(&r->lock);
	for (i = 0; i < r->nschemes; i++)
		if (!strcmp(r->schemes[i].host, host))
			s = r->schemes[i].scheme;
	pthread_mutex_unlock(&r->lock);
	return s;
}

static void scheme_set(rv_registry *r, const char *host, int scheme)
{
	size_t i;
	void *p;
	char *h;

	pthread_mutex_lock(&r->lock);
	for (i = 0; i < r->nschemes; i++) {
		if (!strcmp(r->schemes[i].host, host)) {
			r->schemes[i].scheme = scheme;
			goto out;
		}
	}
	if ((h = strdup(host)) && (p = realloc(r->schemes, (r->nschemes + 1) * sizeof(*r->schemes)))) {
		r->schemes = p;
		r->schemes[r->nschemes].host = h;
		r->schemes[r->nschemes++].scheme = scheme;
	} else {
		free(h);
	}
out:
	pthread_mutex_unlock(&r->lock);
}

/* A copy of a valid cached token for host/repo, or NULL. */
static char *token_get(rv_registry *r, const char *host, const char *repo)
{
	char *t = NULL;
	size_t i;
	time_t now = time(NULL);

	pthread_mutex_lock(&r->lock);
	for (i = 0; i < r->ntokens; i++)
		if (!strcmp(r->tokens[i].host, host) && !strcmp(r->tokens[i].repo, repo) &&
		    r->tokens[i].expires > now + 5)
			t = strdup(r->tokens[i].token);
	pthread_mutex_unlock(&r->lock);
	return t;
}

static void token_put(rv_registry *r, const char *host, const char *repo,
	const char *token, time_t expires)
{
	size_t i;
	char *t = strdup(token), *h = NULL, *rp = NULL;
	void *p;

	if (!t)
		return;
	pthread_mutex_lock(&r->lock);
	for (i = 0; i < r->ntokens; i++) {
		if (!strcmp(r->tokens[i].host, host) && !strcmp(r->tokens[i].repo, repo)) {
			secret_free(r->tokens[i].token);
			r->tokens[i].token = t;
			r->tokens[i].expires = expires;
			t = NULL;
			goto out;
		}
	}
	h = strdup(host);
	rp = strdup(repo);
	if (h && rp && (p = realloc(r->tokens, (r->ntokens + 1) * sizeof(*r->tokens)))) {
		r->tokens = p;
		r->tokens[r->ntokens].host = h;
		r->tokens[r->ntokens].repo = rp;
		r->tokens[r->ntokens].token = t;
		r->tokens[r->ntokens++].expires = expires;
		h = rp = t = NULL;
	}
out:
	pthread_mutex_unlock(&r->lock);
	free(h);
	free(rp);
	secret_free(t);
}

/* --- transfers ---------------------------------------------------------- */

/*
 * One HTTP exchange, driven through a multi handle so a blob can be read
 * as a pull stream (the reader calls step() when it wants more bytes).
 */
struct xfer {
	rv_registry *r;
	CURL *easy;
	CURLM *multi;
	struct curl_slist *hdrs;
	char errbuf[CURL_ERROR_SIZE];
	long status;
	rv_buf hdr;       /* headers of the current response */
	rv_buf data;      /* body bytes of a 2xx answer not yet consumed */
	size_t data_pos;
	rv_buf errbody;   /* body of a non-2xx answer, capped */
	uint64_t skip;    /* bytes to drop at the start of a 200 answer */
	uint64_t range_from; /* the Range we asked for, 0 for none */
	int body_seen;
	uint64_t received;/* body bytes of this response passed on */
	int stream;       /* a pull stream: pause instead of buffering much */
	int paused;
	int running;
	int done;
	CURLcode result;
	int overflow;
};

static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
	struct xfer *x = ctx;
	size_t len = size * n;

	if (len >= 5 && !memcmp(p, "HTTP/", 5)) {
		rv_buf_reset(&x->hdr);
		x->status = 0;
	}
	(void)rv_buf_add(&x->hdr, p, len); /* past the cap: headers dropped */
	return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
	struct xfer *x = ctx;
	size_t len = size * n;
	long code = 0;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
	x->status = code;
	if (code < 200 || code >= 300) {
		size_t room = ERRBODY_MAX - x->errbody.len;
		(void)rv_buf_add(&x->errbody, p, len < room ? len : room);
		return len;
	}
	if (x->stream && x->data.len - x->data_pos + len > STREAM_PAUSE &&
	    x->data.len > x->data_pos) {
		/* the reader is behind: curl keeps this chunk until we resume */
		x->paused = 1;
		return CURL_WRITEFUNC_PAUSE;
	}
	if (!x->body_seen) {
		/* A server that ignores Range sends everything again with
		 * 200: drop the prefix we already hold. */
		x->body_seen = 1;
		if (code == 200 && x->range_from)
			x->skip = x->range_from;
	}
	if (x->skip) {
		size_t k = x->skip < len ? (size_t)x->skip : len;
		x->skip -= k;
		p += k;
		len -= k;
		if (!len)
			return size * n;
	}
	if (x->data_pos && x->data_pos == x->data.len) {
		rv_buf_reset(&x->data);
		x->data_pos = 0;
	}
	if (rv_buf_add(&x->data, p, len) < 0) {
		x->overflow = 1;
		return 0;
	}
	x->received += len;
	return size * n;
}

static void xfer_dispose(struct xfer *x)
{
	if (x->multi && x->easy)
		curl_multi_remove_handle(x->multi, x->easy);
	if (x->easy)
		curl_easy_cleanup(x->easy);
	if (x->multi)
		curl_multi_cleanup(x->multi);
	curl_slist_free_all(x->hdrs);
	rv_buf_dispose(&x->hdr);
	rv_buf_dispose(&x->data);
	rv_buf_dispose(&x->errbody);
	x->easy = NULL;
	x->multi = NULL;
	x->hdrs = NULL;
}

/* Find a response header (case-insensitive name); copies the value,
 * trimmed, into out. Returns 1 if found. */
static int header_value(const rv_buf *h, const char *name, char *out, size_t outlen)
{
	const char *p = h->ptr, *end, *v;
	size_t nl = strlen(name);

	if (!p)
		return 0;
	while (*p) {
		end = strchr(p, '\n');
		if (!end)
			end = p + strlen(p);
		if ((size_t)(end - p) > nl && !strncasecmp(p, name, nl) && p[nl] == ':') {
			const char *e = end;
			v = p + nl + 1;
			while (v < e && (*v == ' ' || *v == '\t'))
				v++;
			while (e > v && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
				e--;
			if ((size_t)(e - v) >= outlen)
				return 0;
			memcpy(out, v, (size_t)(e - v));
			out[e - v] = '\0';
			return 1;
		}
		p = *end ? end + 1 : end;
	}
	return 0;
}

/* What the registry said about an error, from a distribution error body
 * ({"errors":[{"code":..,"message":..}]}): ", CODE: message" with only
 * printable ASCII, or "" when there is nothing usable. */
static const char *err_detail(const struct xfer *x, char *out, size_t n)
{
	json_t *j, *e;
	const char *code, *msg;
	size_t i;

	out[0] = '\0';
	if (!x->errbody.len)
		return out;
	j = json_loadb(x->errbody.ptr, x->errbody.len, 0, NULL);
	e = json_array_get(json_object_get(j, "errors"), 0);
	code = json_string_value(json_object_get(e, "code"));
	msg = json_string_value(json_object_get(e, "message"));
	if (code || msg)
		snprintf(out, n, ", %.40s%s%.120s", code ? code : "", code && msg ? ": " : "",
			msg ? msg : "");
	json_decref(j);
	for (i = 0; out[i]; i++)
		if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] > 0x7e)
			out[i] = '?';
	return out;
}

/*
 * Start a GET of url. auth: NULL, or user+pass (Basic) or bearer. curl
 * drops both on a redirect to another host, port or scheme
 * (CURLOPT_UNRESTRICTED_AUTH stays off), so blob storage never sees them.
 */
static int xfer_start(struct xfer *x, rv_registry *r, const char *url,
	const char *accept, uint64_t range_from, const char *user,
	const char *pass, const char *bearer, size_t body_max)
{
	char range[64];
	CURLMcode mc;

	memset(x, 0, sizeof(*x));
	x->r = r;
	rv_buf_init(&x->hdr, HDR_MAX);
	rv_buf_init(&x->data, body_max);
	rv_buf_init(&x->errbody, ERRBODY_MAX);
	if (!(x->easy = curl_easy_init()) || !(x->multi = curl_multi_init()))
		return rv_error_set(RV_ENOMEM, "cannot start a curl transfer");
	if (accept && !(x->hdrs = curl_slist_append(x->hdrs, accept)))
		return rv_error_set(RV_ENOMEM, "out of memory");
	curl_easy_setopt(x->easy, CURLOPT_URL, url);
	curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->hdrs);
	curl_easy_setopt(x->easy, CURLOPT_USERAGENT, "runtime-verifier");
	curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->easy, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(x->easy, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(x->easy, CURLOPT_UNRESTRICTED_AUTH, 0L);
	curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(x->easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(x->easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(x->easy, CURLOPT_SSL_VERIFYHOST, 2L);
	if (r->opts.ca_file)
		curl_easy_setopt(x->easy, CURLOPT_CAINFO, r->opts.ca_file);
	curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT, r->opts.connect_timeout);
	curl_easy_setopt(x->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(x->easy, CURLOPT_LOW_SPEED_TIME, r->opts.stall_timeout);
	curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_BUFFERSIZE, 256L * 1024);
	if (range_from) {
		snprintf(range, sizeof(range), "%llu-", (unsigned long long)range_from);
		curl_easy_setopt(x->easy, CURLOPT_RANGE, range);
	}
	if (bearer) {
		curl_easy_setopt(x->easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
		curl_easy_setopt(x->easy, CURLOPT_XOAUTH2_BEARER, bearer);
	} else if (user) {
		curl_easy_setopt(x->easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(x->easy, CURLOPT_USERNAME, user);
		curl_easy_setopt(x->easy, CURLOPT_PASSWORD, pass);
	}
	if ((mc = curl_multi_add_handle(x->multi, x->easy)) != CURLM_OK)
		return rv_error_set(RV_ERROR, "curl: %s", curl_multi_strerror(mc));
	x->running = 1;
	stat_add(r, &r->stats.requests, 1);
	return RV_OK;
}

/* Drive the transfer until new body bytes arrive or it ends. */
static int xfer_step(struct xfer *x)
{
	CURLMcode mc;
	CURLMsg *m;
	int left, before = (int)(x->data.len - x->data_pos);

	if (x->paused && x->data_pos == x->data.len) {
		x->paused = 0;
		curl_easy_pause(x->easy, CURLPAUSE_CONT); /* may deliver at once */
		if ((int)(x->data.len - x->data_pos) > before)
			return RV_OK;
	}
	while (!x->done) {
		mc = curl_multi_perform(x->multi, &x->running);
		if (mc != CURLM_OK)
			return rv_error_set(RV_ERROR, "curl: %s", curl_multi_strerror(mc));
		while ((m = curl_multi_info_read(x->multi, &left))) {
			if (m->msg == CURLMSG_DONE) {
				x->done = 1;
				x->result = m->data.result;
				curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
			}
		}
		if (x->done || (int)(x->data.len - x->data_pos) > before)
			break;
		mc = curl_multi_poll(x->multi, NULL, 0, 1000, NULL);
		if (mc != CURLM_OK)
			return rv_error_set(RV_ERROR, "curl: %s", curl_multi_strerror(mc));
	}
	return RV_OK;
}

static int retryable_curl(CURLcode c)
{
	switch (c) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
		return 1;
	default:
		return 0;
	}
}

/* Sleep before retry attempt (1-based): exponential with full jitter, or
 * what Retry-After asked (capped). */
static void backoff(rv_registry *r, int attempt, long retry_after)
{
	struct timespec ts;
	long ms;
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)&ts ^ (unsigned)attempt;

	if (retry_after >= 0) {
		ms = (retry_after > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : retry_after) * 1000;
	} else {
		long base = (long)r->opts.backoff_ms << (attempt > 10 ? 10 : attempt - 1);
		if (base > 30000)
			base = 30000;
		ms = base / 2 + (long)(rand_r(&seed) % (unsigned)(base / 2 + 1));
	}
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static long retry_after_of(const struct xfer *x)
{
	char v[64];
	char *end;
	long s;

	if (!header_value(&x->hdr, "Retry-After", v, sizeof(v)))
		return -1;
	s = strtol(v, &end, 10);
	if (end == v || *end || s < 0)
		return -1; /* HTTP dates: fall back to our backoff */
	return s;
}

/* --- auth ------------------------------------------------------------- */

/* Get a param="value" from a challenge (quoted or bare). */
static int challenge_param(const char *ch, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name), i;
	const char *p = ch;

	while ((p = strcasestr(p, name))) {
		if ((p == ch || p[-1] == ' ' || p[-1] == ',') && p[nl] == '=') {
			p += nl + 1;
			i = 0;
			if (*p == '"') {
				p++;
				while (*p && *p != '"' && i + 1 < outlen)
					out[i++] = *p++;
				if (*p != '"')
					return 0;
			} else {
				while (*p && *p != ',' && *p != ' ' && i + 1 < outlen)
					out[i++] = *p++;
			}
			out[i] = '\0';
			return 1;
		}
		p += nl;
	}
	return 0;
}

static void url_escape_into(rv_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
			(void)rv_buf_putc(b, (char)c);
		else
			(void)rv_buf_printf(b, "%%%c%c", hex[c >> 4], hex[c & 15]);
	}
}

/* Fetch a bearer token from the challenge's realm. */
static int fetch_token(rv_registry *r, const rv_registry_ref *ref,
	const char *challenge, const char *user, const char *pass, char **token_out)
{
	char realm[1024], service[512], scope[1024];
	rv_buf url = RV_BUF_INIT(8192);
	struct xfer x;
	json_t *j = NULL;
	json_error_t jerr;
	const char *tok;
	time_t expires;
	json_int_t expires_in = 60;
	int rc = RV_OK, attempt = 0;

	*token_out = NULL;
	memset(&x, 0, sizeof(x));
	if (!challenge_param(challenge, "realm", realm, sizeof(realm)) ||
	    (strncmp(realm, "https://", 8) && strncmp(realm, "http://", 7)))
		return rv_error_set(RV_EAUTH, "registry '%s' sent a bearer challenge without a usable realm",
			ref->registry);
	(void)rv_buf_puts(&url, realm);
	(void)rv_buf_putc(&url, strchr(realm, '?') ? '&' : '?');
	if (challenge_param(challenge, "service", service, sizeof(service))) {
		(void)rv_buf_puts(&url, "service=");
		url_escape_into(&url, service);
		(void)rv_buf_putc(&url, '&');
	}
	if (!challenge_param(challenge, "scope", scope, sizeof(scope)) ||
	    !strstr(scope, ref->repository))
		snprintf(scope, sizeof(scope), "repository:%s:pull", ref->repository);
	(void)rv_buf_puts(&url, "scope=");
	url_escape_into(&url, scope);
	if (!url.ptr || url.len >= url.max - 1) {
		rc = rv_error_set(RV_ETOOBIG, "token realm url too long");
		goto cleanup;
	}
	for (;;) {
		xfer_dispose(&x);
		if ((rc = xfer_start(&x, r, url.ptr, NULL, 0, user, pass, NULL, TOKEN_BODY_MAX)) < 0)
			goto cleanup;
		stat_add(r, &r->stats.token_requests, 1);
		while (!x.done)
			if ((rc = xfer_step(&x)) < 0)
				goto cleanup;
		if (x.overflow) {
			rc = rv_error_set(RV_ETOOBIG, "token answer from '%s' is too big", realm);
			goto cleanup;
		}
		if ((x.result != CURLE_OK && retryable_curl(x.result)) ||
		    (x.result == CURLE_OK && (x.status >= 500 || x.status == 429))) {
			if (attempt++ < r->opts.retries) {
				stat_add(r, &r->stats.retries, 1);
				backoff(r, attempt, x.status == 429 ? retry_after_of(&x) : -1);
				continue;
			}
		}
		break;
	}
	if (x.result != CURLE_OK) {
		rc = rv_error_set(RV_ENET, "token server '%s': %s", realm,
			x.errbuf[0] ? x.errbuf : curl_easy_strerror(x.result));
		goto cleanup;
	}
	if (x.status == 401 || x.status == 403) {
		rc = rv_error_set(RV_EAUTH, "token server '%s' refused %s for '%s' (HTTP %ld)",
			realm, user ? "the credentials" : "anonymous access", ref->repository, x.status);
		goto cleanup;
	}
	if (x.status != 200) {
		rc = rv_error_set(RV_EAUTH, "token server '%s' answered HTTP %ld", realm, x.status);
		goto cleanup;
	}
	j = json_loadb(x.data.ptr ? x.data.ptr : "", x.data.len, 0, &jerr);
	tok = json_string_value(json_object_get(j, "token"));
	if (!tok || !*tok)
		tok = json_string_value(json_object_get(j, "access_token"));
	if (!tok || !*tok || strlen(tok) > 16384) {
		rc = rv_error_set(RV_EFORMAT, "token server '%s' sent no token", realm);
		goto cleanup;
	}
	for (const char *c = tok; *c; c++)
		if ((unsigned char)*c < 0x21 || (unsigned char)*c > 0x7e) {
			rc = rv_error_set(RV_EFORMAT, "token server '%s' sent a malformed token", realm);
			goto cleanup;
		}
	if (json_is_integer(json_object_get(j, "expires_in")))
		expires_in = json_integer_value(json_object_get(j, "expires_in"));
	if (expires_in < 1)
		expires_in = 60;
	if (expires_in > 86400)
		expires_in = 86400;
	expires = time(NULL) + (time_t)expires_in;
	token_put(r, ref->registry, ref->repository, tok, expires);
	if (!(*token_out = strdup(tok)))
		rc = rv_error_set(RV_ENOMEM, "out of memory");
cleanup:
	if (x.data.ptr)
		explicit_bzero(x.data.ptr, x.data.cap);
	xfer_dispose(&x);
	json_decref(j);
	rv_buf_dispose(&url);
	return rc;
}

/* Credentials in force for one request sequence. */
struct auth {
	char *user, *pass, *bearer;
	int tried_basic, tried_bearer;
	int loaded;
};

static void auth_dispose(struct auth *a)
{
	secret_free(a->user);
	secret_free(a->pass);
	secret_free(a->bearer);
	memset(a, 0, sizeof(*a));
}

static int auth_prepare(rv_registry *r, const rv_registry_ref *ref, struct auth *a)
{
	int rc, s;

	if (!a->loaded) {
		if ((rc = creds_for(r, ref->registry, &a->user, &a->pass)) < 0)
			return rc;
		a->loaded = 1;
	}
	s = scheme_get(r, ref->registry);
	if (s == AUTH_BEARER && !a->bearer)
		a->bearer = token_get(r, ref->registry, ref->repository);
	return RV_OK;
}

/* After a 401: answer the challenge. Returns 1 to retry, or an error. */
static int auth_challenge(rv_registry *r, const rv_registry_ref *ref,
	struct auth *a, const struct xfer *x, const char *what)
{
	char ch[4096];
	int rc;

	if (!header_value(&x->hdr, "WWW-Authenticate", ch, sizeof(ch)))
		return rv_error_set(RV_EAUTH, "registry '%s' refused %s of '%s' (HTTP 401, no challenge)",
			ref->registry, what, ref->repository);
	if (!strncasecmp(ch, "Bearer", 6)) {
		scheme_set(r, ref->registry, AUTH_BEARER);
		if (a->tried_bearer)
			return rv_error_set(RV_EAUTH,
				"registry '%s' refused %s of '%s' with a bearer token obtained %s",
				ref->registry, what, ref->repository,
				a->user ? "with the configured credentials" : "anonymously");
		a->tried_bearer = 1;
		secret_free(a->bearer);
		a->bearer = NULL;
		if ((rc = fetch_token(r, ref, ch, a->user, a->pass, &a->bearer)) < 0)
			return rv_error_prefix(rc, "%s of '%s/%s'", what, ref->registry, ref->repository);
		return 1;
	}
	if (!strncasecmp(ch, "Basic", 5)) {
		scheme_set(r, ref->registry, AUTH_BASIC);
		if (!a->user)
			return rv_error_set(RV_EAUTH,
				"registry '%s' wants basic auth for %s of '%s' and no credentials are configured for it",
				ref->registry, what, ref->repository);
		if (a->tried_basic)
			return rv_error_set(RV_EAUTH,
				"registry '%s' refused the credentials of user '%s' for %s of '%s'",
				ref->registry, a->user, what, ref->repository);
		a->tried_basic = 1;
		return 1;
	}
	return rv_error_set(RV_EUNSUPPORTED, "registry '%s' asks for an unsupported auth scheme",
		ref->registry);
}

static int build_url(rv_buf *url, rv_registry *r, const rv_registry_ref *ref,
	const char *kind, const char *reference)
{
	rv_buf_reset(url);
	return rv_buf_printf(url, "%s://%s/v2/%s/%s/%s",
		is_insecure(r, ref->registry) ? "http" : "https", ref->registry,
		ref->repository, kind, reference);
}

/*
 * GET a small resource with auth and retries. On success *x holds the
 * finished 2xx transfer (caller disposes).
 */
static int get_small(struct xfer *x, rv_registry *r, const rv_registry_ref *ref,
	const char *url, const char *accept, size_t max, const char *what)
{
	struct auth a;
	char detail[200];
	int rc, attempt = 0, auth_rounds = 0;

	memset(&a, 0, sizeof(a));
	memset(x, 0, sizeof(*x));
	for (;;) {
		if ((rc = auth_prepare(r, ref, &a)) < 0)
			goto cleanup;
		xfer_dispose(x);
		if ((rc = xfer_start(x, r, url, accept, 0,
		    a.bearer ? NULL : (a.tried_basic || scheme_get(r, ref->registry) == AUTH_BASIC) ? a.user : NULL,
		    a.pass, a.bearer, max)) < 0)
			goto cleanup;
		while (!x->done)
			if ((rc = xfer_step(x)) < 0)
				goto cleanup;
		if (x->overflow) {
			rc = rv_error_set(RV_ETOOBIG, "%s of '%s/%s' is larger than %zu bytes",
				what, ref->registry, ref->repository, max);
			goto cleanup;
		}
		if (x->result != CURLE_OK) {
			if (retryable_curl(x->result) && attempt++ < r->opts.retries) {
				stat_add(r, &r->stats.retries, 1);
				backoff(r, attempt, -1);
				continue;
			}
			rc = rv_error_set(RV_ENET, "%s of '%s/%s': %s", what, ref->registry,
				ref->repository, x->errbuf[0] ? x->errbuf : curl_easy_strerror(x->result));
			goto cleanup;
		}
		if (x->status == 401 && auth_rounds++ < 3) {
			if ((rc = auth_challenge(r, ref, &a, x, what)) < 0)
				goto cleanup;
			continue;
		}
		if ((x->status >= 500 || x->status == 429) && attempt++ < r->opts.retries) {
			stat_add(r, &r->stats.retries, 1);
			backoff(r, attempt, x->status == 429 ? retry_after_of(x) : -1);
			continue;
		}
		break;
	}
	if (x->status >= 200 && x->status < 300) {
		rc = RV_OK;
	} else if (x->status == 401 || x->status == 403) {
		rc = rv_error_set(RV_EAUTH, "registry '%s' refused %s of '%s' (HTTP %ld%s; tried %s)",
			ref->registry, what, ref->repository, x->status,
			err_detail(x, detail, sizeof(detail)),
			a.bearer ? "a bearer token" : a.user ? "basic auth" : "anonymous access");
	} else if (x->status == 404) {
		rc = rv_error_set(RV_ENOTFOUND, "%s of '%s/%s' not found (HTTP 404%s)",
			what, ref->registry, ref->repository, err_detail(x, detail, sizeof(detail)));
	} else {
		rc = rv_error_set(RV_ENET, "%s of '%s/%s': HTTP %ld%s", what, ref->registry,
			ref->repository, x->status, err_detail(x, detail, sizeof(detail)));
	}
cleanup:
	auth_dispose(&a);
	return rc;
}

int rv_registry_ping(rv_registry *r, const rv_registry_ref *ref)
{
	rv_buf url = RV_BUF_INIT(8192);
	struct xfer x;
	int rc;

	if ((rc = rv_buf_printf(&url, "%s://%s/v2/",
	    is_insecure(r, ref->registry) ? "http" : "https", ref->registry)) < 0)
		goto cleanup;
	rc = get_small(&x, r, ref, url.ptr, NULL, 64 * 1024, "ping");
	xfer_dispose(&x);
cleanup:
	rv_buf_dispose(&url);
	return rc;
}

static int digest_hex(char out[RV_REGISTRY_DIGEST_MAX], const void *data, size_t len)
{
	unsigned char d[RV_SHA256_LEN];
	char hex[RV_SHA256_HEX];
	int rc;

	if ((rc = rv_sha256_buf(d, data, len)) < 0)
		return rc;
	rv_sha256_to_hex(hex, d);
	snprintf(out, RV_REGISTRY_DIGEST_MAX, "sha256:%s", hex);
	return RV_OK;
}

int rv_registry_get_manifest(rv_buf *body, char media_type[256],
	char digest_out[RV_REGISTRY_DIGEST_MAX], rv_registry *r,
	const rv_registry_ref *ref, const char *reference)
{
	rv_buf url = RV_BUF_INIT(8192);
	struct xfer x;
	json_t *j = NULL;
	const char *mt;
	char ct[256];
	int rc, by_digest = !strncmp(reference, "sha256:", 7);

	memset(&x, 0, sizeof(x));
	media_type[0] = '\0';
	if (by_digest && (rc = rv_registry_digest_check(reference, strlen(reference))) < 0)
		return rc;
	if ((rc = build_url(&url, r, ref, "manifests", reference)) < 0)
		goto cleanup;
	stat_add(r, &r->stats.manifest_requests, 1);
	if ((rc = get_small(&x, r, ref, url.ptr, accept_manifests, RV_REGISTRY_MANIFEST_MAX,
	    "manifest")) < 0) {
		rv_error_prefix(rc, "image '%s/%s%s%s'", ref->registry, ref->repository,
			by_digest ? "@" : ":", reference);
		goto cleanup;
	}
	if ((rc = digest_hex(digest_out, x.data.ptr ? x.data.ptr : "", x.data.len)) < 0)
		goto cleanup;
	if (by_digest && strcmp(digest_out, reference)) {
		rc = rv_error_set(RV_EVERIFY,
			"manifest of '%s/%s@%s' does not match its digest (got %s)",
			ref->registry, ref->repository, reference, digest_out);
		goto cleanup;
	}
	j = json_loadb(x.data.ptr ? x.data.ptr : "", x.data.len, 0, NULL);
	mt = json_string_value(json_object_get(j, "mediaType"));
	if (mt && strlen(mt) < 256) {
		snprintf(media_type, 256, "%s", mt);
	} else if (header_value(&x.hdr, "Content-Type", ct, sizeof(ct))) {
		char *semi = strchr(ct, ';');
		if (semi)
			*semi = '\0';
		snprintf(media_type, 256, "%s", ct);
	}
	/* An OCI manifest may leave out mediaType, and a registry may call it
	 * application/json: then its shape says what it is. */
	if (!mt && json_is_object(j) && (!media_type[0] || !strcmp(media_type, "application/json")) &&
	    json_integer_value(json_object_get(j, "schemaVersion")) == 2) {
		if (json_is_array(json_object_get(j, "manifests")))
			snprintf(media_type, 256, "%s", RV_MT_OCI_INDEX);
		else if (json_is_object(json_object_get(j, "config")) &&
			 json_is_array(json_object_get(j, "layers")))
			snprintf(media_type, 256, "%s", RV_MT_OCI_MANIFEST);
	}
	rv_buf_reset(body);
	if ((rc = rv_buf_add(body, x.data.ptr ? x.data.ptr : "", x.data.len)) < 0)
		goto cleanup;
cleanup:
	json_decref(j);
	xfer_dispose(&x);
	rv_buf_dispose(&url);
	return rc;
}

int rv_registry_resolve_tag(char digest_out[RV_REGISTRY_DIGEST_MAX],
	rv_registry *r, const rv_registry_ref *ref)
{
	rv_buf body = RV_BUF_INIT(RV_REGISTRY_MANIFEST_MAX);
	char mt[256];
	int rc;

	rc = rv_registry_get_manifest(&body, mt, digest_out, r, ref,
		ref->tag ? ref->tag : "latest");
	rv_buf_dispose(&body);
	return rc;
}

/* --- blob streams ------------------------------------------------------- */

struct rv_registry_blob {
	rv_registry *r;
	const rv_registry_ref *ref;
	char digest[RV_REGISTRY_DIGEST_MAX];
	uint64_t size;
	uint64_t offset;       /* verified-in-order bytes handed out so far */
	rv_sha256 h;
	struct xfer x;
	struct auth a;
	rv_buf url;
	int started;
	int attempt;
	int auth_rounds;
	int finished;
	const volatile int *cancel;
};

void rv_registry_blob_set_cancel(rv_registry_blob *b, const volatile int *cancel)
{
	b->cancel = cancel;
}

int rv_registry_blob_open(rv_registry_blob **out, rv_registry *r,
	const rv_registry_ref *ref, const char *digest, uint64_t size)
{
	rv_registry_blob *b;
	int rc;

	*out = NULL;
	if ((rc = rv_registry_digest_check(digest, strlen(digest))) < 0)
		return rc;
	if (!(b = calloc(1, sizeof(*b))))
		return rv_error_set(RV_ENOMEM, "out of memory");
	b->r = r;
	b->ref = ref;
	b->size = size;
	snprintf(b->digest, sizeof(b->digest), "%s", digest);
	rv_buf_init(&b->url, 8192);
	if ((rc = rv_sha256_init(&b->h)) < 0 ||
	    (rc = build_url(&b->url, r, ref, "blobs", digest)) < 0) {
		rv_registry_blob_free(b);
		return rc;
	}
	stat_add(r, &r->stats.blob_requests, 1);
	*out = b;
	return RV_OK;
}

void rv_registry_blob_free(rv_registry_blob *b)
{
	if (!b)
		return;
	xfer_dispose(&b->x);
	auth_dispose(&b->a);
	rv_sha256_dispose(&b->h);
	rv_buf_dispose(&b->url);
	free(b);
}

static int blob_start(rv_registry_blob *b)
{
	rv_registry *r = b->r;
	int rc;

	if ((rc = auth_prepare(r, b->ref, &b->a)) < 0)
		return rc;
	xfer_dispose(&b->x);
	if ((rc = xfer_start(&b->x, r, b->url.ptr, NULL, b->offset,
	    b->a.bearer ? NULL : (b->a.tried_basic || scheme_get(r, b->ref->registry) == AUTH_BASIC) ? b->a.user : NULL,
	    b->a.pass, b->a.bearer, STREAM_MAX)) < 0)
		return rc;
	b->x.stream = 1;
	if (b->offset) {
		stat_add(r, &r->stats.resumes, 1);
		b->x.range_from = b->offset;
	}
	b->started = 1;
	return RV_OK;
}

/* The transfer ended: decide between done, retry, resume and error. */
static int blob_after(rv_registry_blob *b)
{
	rv_registry *r = b->r;
	const rv_registry_ref *ref = b->ref;
	struct xfer *x = &b->x;
	char detail[200];
	int rc;

	if (x->overflow)
		return rv_error_set(RV_ETOOBIG, "blob '%s' of '%s/%s': stream buffer overflow",
			b->digest, ref->registry, ref->repository);
	if (x->result == CURLE_OK && x->status >= 200 && x->status < 300)
		return 0; /* complete */
	if (x->result == CURLE_OK && x->status == 401 && b->auth_rounds++ < 3) {
		if ((rc = auth_challenge(r, ref, &b->a, x, "blob")) < 0)
			return rc;
		return 1;
	}
	if (((x->result != CURLE_OK && retryable_curl(x->result)) ||
	     (x->result == CURLE_OK && (x->status >= 500 || x->status == 429 || x->status == 416))) &&
	    b->attempt++ < r->opts.retries) {
		stat_add(r, &r->stats.retries, 1);
		backoff(r, b->attempt, x->status == 429 ? retry_after_of(x) : -1);
		return 1;
	}
	if (x->result != CURLE_OK)
		return rv_error_set(RV_ENET, "blob '%s' of '%s/%s' after %d retries: %s", b->digest,
			ref->registry, ref->repository, b->attempt - 1 < 0 ? 0 : b->attempt - 1,
			x->errbuf[0] ? x->errbuf : curl_easy_strerror(x->result));
	if (x->status == 401 || x->status == 403)
		return rv_error_set(RV_EAUTH, "registry '%s' refused blob '%s' of '%s' (HTTP %ld%s; tried %s)",
			ref->registry, b->digest, ref->repository, x->status,
			err_detail(x, detail, sizeof(detail)),
			b->a.bearer ? "a bearer token" : b->a.user ? "basic auth" : "anonymous access");
	if (x->status == 404)
		return rv_error_set(RV_ENOTFOUND, "blob '%s' of '%s/%s' not found (HTTP 404%s)",
			b->digest, ref->registry, ref->repository, err_detail(x, detail, sizeof(detail)));
	return rv_error_set(RV_ENET, "blob '%s' of '%s/%s': HTTP %ld%s", b->digest,
		ref->registry, ref->repository, x->status, err_detail(x, detail, sizeof(detail)));
}

static int blob_verify(rv_registry_blob *b)
{
	unsigned char d[RV_SHA256_LEN];
	char hex[RV_SHA256_HEX];
	int rc;

	if (b->offset != b->size)
		return rv_error_set(RV_EVERIFY, "blob '%s' of '%s/%s' is %llu bytes, its descriptor says %llu",
			b->digest, b->ref->registry, b->ref->repository,
			(unsigned long long)b->offset, (unsigned long long)b->size);
	if ((rc = rv_sha256_final(&b->h, d)) < 0)
		return rc;
	rv_sha256_to_hex(hex, d);
	if (strcmp(hex, b->digest + 7))
		return rv_error_set(RV_EVERIFY, "blob '%s' of '%s/%s' does not match its digest (got sha256:%s)",
			b->digest, b->ref->registry, b->ref->repository, hex);
	b->finished = 1;
	return RV_OK;
}

int rv_registry_blob_read(rv_registry_blob *b, void *buf, size_t len, size_t *got)
{
	struct xfer *x = &b->x;
	size_t avail, n;
	int rc;

	*got = 0;
	if (b->finished || !len)
		return RV_OK;
	for (;;) {
		if (b->cancel && *b->cancel)
			return rv_error_set(RV_ERROR, "cancelled");
		if (!b->started && (rc = blob_start(b)) < 0)
			return rc;
		avail = x->data.len - x->data_pos;
		if (avail) {
			n = avail < len ? avail : len;
			if (b->offset + n > b->size)
				return rv_error_set(RV_EVERIFY,
					"blob '%s' of '%s/%s' is larger than its descriptor says (%llu bytes)",
					b->digest, b->ref->registry, b->ref->repository,
					(unsigned long long)b->size);
			memcpy(buf, x->data.ptr + x->data_pos, n);
			x->data_pos += n;
			if ((rc = rv_sha256_update(&b->h, buf, n)) < 0)
				return rc;
			b->offset += n;
			pthread_mutex_lock(&b->r->lock);
			b->r->stats.blob_bytes += n;
			pthread_mutex_unlock(&b->r->lock);
			*got = n;
			return RV_OK;
		}
		if (x->done) {
			if ((rc = blob_after(b)) < 0)
				return rc;
			if (rc == 0) {
				if ((rc = blob_verify(b)) < 0)
					return rc;
				return RV_OK;
			}
			b->started = 0;
			continue;
		}
		if ((rc = xfer_step(x)) < 0)
			return rc;
	}
}

int rv_registry_get_blob(rv_buf *body, rv_registry *r,
	const rv_registry_ref *ref, const char *digest, uint64_t size, size_t max)
{
	rv_registry_blob *b = NULL;
	char chunk[65536];
	size_t got;
	int rc;

	if (size > max)
		return rv_error_set(RV_ETOOBIG, "blob '%s' of '%s/%s' is %llu bytes, more than %zu",
			digest, ref->registry, ref->repository, (unsigned long long)size, max);
	if ((rc = rv_registry_blob_open(&b, r, ref, digest, size)) < 0)
		return rc;
	rv_buf_reset(body);
	for (;;) {
		if ((rc = rv_registry_blob_read(b, chunk, sizeof(chunk), &got)) < 0)
			goto cleanup;
		if (!got)
			break;
		if ((rc = rv_buf_add(body, chunk, got)) < 0)
			goto cleanup;
	}
cleanup:
	rv_registry_blob_free(b);
	return rc;
}
