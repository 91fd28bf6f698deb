/* registry.h - OCI distribution client: references, auth, manifests, blobs */
#ifndef RV_REGISTRY_H
#define RV_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/*
 * A client for the OCI distribution API (and Docker's v2 registry API)
 * on libcurl. It pulls only: ping, manifests by tag or digest, blobs by
 * digest. Every manifest and blob is checked against its digest (and a
 * blob against its descriptor's size): bytes that do not match are an
 * RV_EVERIFY error, never a result.
 *
 * Auth: anonymous; Basic; the Bearer token flow (401 + WWW-Authenticate
 * Bearer realm/service/scope -> GET realm -> `token` or `access_token`,
 * expiry respected). Credentials come from a docker config.json (see
 * sources/dockercfg.h) or the content of a kubernetes.io/dockerconfigjson
 * secret. Credentials are sent only to the registry host (and, for a
 * token, to the realm): never to a host a redirect leads to.
 *
 * One client may be shared by several threads (tokens are locked); each
 * transfer uses its own curl handle.
 */

#define RV_REGISTRY_MANIFEST_MAX (4u << 20)   /* cap on a manifest body */
#define RV_REGISTRY_DIGEST_MAX 72             /* "sha256:" + 64 hex + NUL */

/* Media types. */
#define RV_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define RV_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define RV_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define RV_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define RV_MT_DOCKER_V1 "application/vnd.docker.distribution.manifest.v1+json"
#define RV_MT_DOCKER_V1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"

/* A parsed image reference: [REGISTRY/]REPOSITORY[:TAG][@DIGEST]. */
typedef struct rv_registry_ref {
	char *registry;   /* "host[:port]"; "registry-1.docker.io" for Docker Hub */
	char *repository; /* "library/debian" */
	char *tag;        /* NULL when the reference has none */
	char *digest;     /* "sha256:<64 hex>" or NULL */
} rv_registry_ref;

/* Parse s into out (caller-owned struct; strings owned by it, release
 * with rv_registry_ref_dispose). "debian" is docker.io/library/debian:latest
 * as in Docker. RV_EINVAL naming s for anything malformed, including a
 * digest that is not "sha256:" + 64 lower-case hex digits. */
int rv_registry_ref_parse(rv_registry_ref *out, const char *s);
void rv_registry_ref_dispose(rv_registry_ref *ref);

/* Check a digest string: "sha256:" + 64 lower-case hex digits. RV_EFORMAT
 * naming it otherwise (other algorithms are RV_EUNSUPPORTED). */
int rv_registry_digest_check(const char *digest, size_t len);

typedef struct rv_registry_opts {
	/* Hosts ("host" or "host:port") spoken to over plain HTTP. Every
	 * other host gets HTTPS with verification always on. Borrowed. */
	const char *const *insecure;
	size_t ninsecure;
	/* PEM file with extra CA certificates (a private CA), or NULL. */
	const char *ca_file;
	/* A docker config.json to read credentials from; NULL means
	 * $DOCKER_CONFIG/config.json, then ~/.docker/config.json (a missing
	 * default file is not an error). */
	const char *docker_config;
	/* The content of a kubernetes.io/dockerconfigjson secret (or a
	 * config.json), tried before the file; NULL for none. */
	const char *docker_config_json;
	/* Retries after a 5xx, a 429 or a connection error (default 5 when
	 * 0; -1 for none) and the first backoff in ms (default 200). */
	int retries;
	int backoff_ms;
	/* Seconds: connect timeout (default 15) and how long a transfer may
	 * stall below 1 byte/s before it is abandoned (default 30). */
	long connect_timeout;
	long stall_timeout;
} rv_registry_opts;

typedef struct rv_registry rv_registry;

/* Counters, for tests and the benchmark. */
typedef struct rv_registry_stats {
	unsigned long requests, manifest_requests, blob_requests, token_requests;
	unsigned long retries, resumes;
	uint64_t blob_bytes;
} rv_registry_stats;

/* Create a client. opts is copied (its strings are borrowed and must
 * outlive the client). The docker config is read here: an unreadable or
 * malformed file is an error naming it. */
int rv_registry_new(rv_registry **out, const rv_registry_opts *opts);
void rv_registry_free(rv_registry *r);

void rv_registry_stats_get(rv_registry_stats *out, rv_registry *r);

/* GET /v2/ on ref's registry: 0 when it answers as a registry (200, or a
 * 401 with a challenge we can answer), otherwise an error saying why. */
int rv_registry_ping(rv_registry *r, const rv_registry_ref *ref);

/*
 * Fetch the manifest `reference` (a tag or a digest) of ref's repository.
 * body receives the bytes exactly as received (capped at
 * RV_REGISTRY_MANIFEST_MAX); media_type (256 bytes) the media type from
 * the body's "mediaType", or else from Content-Type; digest_out the
 * sha256 of the bytes. When reference is a digest the bytes
 * must hash to it (RV_EVERIFY otherwise). 404 is RV_ENOTFOUND, 401/403
 * RV_EAUTH, each naming the image, the registry and what was tried.
 */
int rv_registry_get_manifest(rv_buf *body, char media_type[256],
	char digest_out[RV_REGISTRY_DIGEST_MAX], rv_registry *r,
	const rv_registry_ref *ref, const char *reference);

/* Resolve ref's tag (or "latest") to the digest of the manifest it
 * points to now (a GET; the bytes are hashed, not the header trusted). */
int rv_registry_resolve_tag(char digest_out[RV_REGISTRY_DIGEST_MAX],
	rv_registry *r, const rv_registry_ref *ref);

/* Fetch a whole small blob (the config) into body, verified against
 * digest and size; size above max is RV_ETOOBIG. */
int rv_registry_get_blob(rv_buf *body, rv_registry *r,
	const rv_registry_ref *ref, const char *digest, uint64_t size,
	size_t max);

/*
 * Stream a blob. rv_registry_blob_read fills up to len bytes into buf and
 * sets *got; *got == 0 means the end, and is reported only after the
 * bytes matched digest and size. Broken transfers are resumed with a Range
 * request (or the re-sent prefix is skipped when the server ignores
 * Range). A blob longer or shorter than size, or whose digest differs, is
 * RV_EVERIFY. The stream is owned by the caller: rv_registry_blob_free.
 */
typedef struct rv_registry_blob rv_registry_blob;

int rv_registry_blob_open(rv_registry_blob **out, rv_registry *r,
	const rv_registry_ref *ref, const char *digest, uint64_t size);
int rv_registry_blob_read(rv_registry_blob *b, void *buf, size_t len,
	size_t *got);
void rv_registry_blob_free(rv_registry_blob *b);

/* Set a flag checked between reads: when *cancel becomes non-zero the
 * stream fails with RV_ERROR ("cancelled"). NULL to clear. */
void rv_registry_blob_set_cancel(rv_registry_blob *b, const volatile int *cancel);

#endif
