/* kube.h - a small Kubernetes API client on libcurl and jansson */
#ifndef RV_KUBE_H
#define RV_KUBE_H

#include <stddef.h>

#include <jansson.h>

#include "util/buf.h"

/*
 * Configuration comes from, in order: opts.kubeconfig; the first file in
 * $KUBECONFIG; ~/.kube/config; the in-cluster service account (token,
 * ca.crt and namespace under /var/run/secrets/kubernetes.io/serviceaccount,
 * server from KUBERNETES_SERVICE_HOST/PORT). A kubeconfig context gives the
 * cluster (server, certificate-authority[-data], insecure-skip-tls-verify)
 * and the user (token, tokenFile, client-certificate[-data] and
 * client-key[-data], or an exec credential plugin speaking
 * client.authentication.k8s.io/v1 or v1beta1).
 *
 * Tokens read from files (tokenFile, the service account) are re-read
 * every minute, as bound tokens rotate; exec credentials are refreshed when
 * they expire or the server answers 401.
 *
 * Requests are rate limited (QPS and burst, shared by all threads), retried
 * with exponential backoff and jitter on 429 (honouring Retry-After), on 5xx
 * and on connection errors (writes only where the server cannot have acted
 * on them), and capped in size. An error answer becomes a message saying
 * what was refused and why, from the API server's Status object.
 *
 * A client may be used from several threads at once.
 */

typedef struct rv_kube rv_kube;

typedef struct rv_kube_opts {
	const char *kubeconfig;  /* NULL: $KUBECONFIG, ~/.kube/config, in-cluster */
	const char *context;     /* NULL: the kubeconfig's current-context */
	int in_cluster;          /* use the service account even if a kubeconfig exists */
	const char *sa_dir;      /* NULL: /var/run/secrets/kubernetes.io/serviceaccount */
	double qps;              /* 0: 20 requests per second */
	int burst;               /* 0: 40 */
	long timeout_ms;         /* per request; 0: 30 s */
	int max_retries;         /* 0: 5; -1: none */
	size_t max_body;         /* cap on a response body; 0: 64 MiB */
} rv_kube_opts;

/* Load the configuration and make a client. Errors name the file and the
 * missing field ("kubeconfig '/x': context 'prod' has no cluster"). */
int rv_kube_new(rv_kube **out, const rv_kube_opts *opts);

/* Free the client and wipe the credentials it held. NULL-safe. */
void rv_kube_free(rv_kube *k);

/* The API server's base URL, and the namespace of the context (or of the
 * service account; "default" when none is set). Owned by k. */
const char *rv_kube_server(const rv_kube *k);
const char *rv_kube_namespace(const rv_kube *k);

/* 1 when the configuration turned TLS verification off. */
int rv_kube_insecure(const rv_kube *k);

/* Requests made so far (all threads, retries included). */
unsigned long rv_kube_request_count(const rv_kube *k);

/*
 * Send METHOD to path (which starts with "/", query included, already
 * URL-encoded) with an optional body of the given content type. On a 2xx
 * answer, *out (if out is not NULL) holds the parsed JSON body (a new
 * reference). Otherwise the error code says what happened: RV_EAUTH
 * (401/403), RV_ENOTFOUND (404), RV_ECONFLICT (409), RV_EGONE (410),
 * RV_EINVAL (400/422), RV_ENET (connection), RV_ETIMEOUT, RV_ERROR (other),
 * with the Status message. status_out (if not NULL) gets the HTTP status,
 * 0 when no answer came.
 */
int rv_kube_request(rv_kube *k, json_t **out, long *status_out,
	const char *method, const char *path, const char *content_type,
	const char *body, size_t body_len);

/* GET path and return the raw body (for pod logs) in out, at most
 * out->max bytes: a larger answer is RV_ETOOBIG. */
int rv_kube_get_raw(rv_kube *k, rv_buf *out, long *status_out, const char *path);

/*
 * GET a watch stream (path must carry watch=1) and call fn for each event
 * object ({"type":..., "object":...}, borrowed for the call). Returns when
 * the server ends the stream (0), fn returns non-zero (that value), or on
 * error. A line longer than max_body is an error.
 */
typedef int (*rv_kube_event_fn)(void *ctx, json_t *event);
int rv_kube_watch(rv_kube *k, const char *path, rv_kube_event_fn fn, void *ctx);

/* Append s to b, percent-encoded for a URL query value or path segment. */
int rv_kube_escape(rv_buf *b, const char *s);

#endif
