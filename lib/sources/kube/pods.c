/* pods.c - the pod operations verify needs, over sources/kube */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sources/kube/pods.h"
#include "util/base64.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/json.h"
#include "util/banned.h"

#define PATH_CAP 8192

/* Append "/api/v1[/namespaces/<ns>]/pods" to b. */
static int pods_path(rv_buf *b, const char *ns)
{
	int rc = rv_buf_puts(b, "/api/v1");

	if (rc == RV_OK && ns) {
		rc = rv_buf_puts(b, "/namespaces/");
		if (rc == RV_OK)
			rc = rv_kube_escape(b, ns);
	}
	return rc == RV_OK ? rv_buf_puts(b, "/pods") : rc;
}

static int pod_path(rv_buf *b, const char *ns, const char *pod, const char *sub)
{
	int rc = pods_path(b, ns);

	if (rc == RV_OK)
		rc = rv_buf_putc(b, '/');
	if (rc == RV_OK)
		rc = rv_kube_escape(b, pod);
	if (rc == RV_OK && sub)
		rc = rv_buf_printf(b, "/%s", sub);
	return rc;
}

int rv_pods_list(json_t **out, rv_kube *k, const char *namespace,
	const char *selector, unsigned page_size)
{
	rv_buf path = RV_BUF_INIT(PATH_CAP);
	json_t *all = NULL, *page = NULL, *items;
	char *cont = NULL;
	int rc, restarts = 0;

	*out = NULL;
	all = json_array();
	if (!all)
		return rv_error_set(RV_ENOMEM, "out of memory");
	for (;;) {
		rv_buf_reset(&path);
		if ((rc = pods_path(&path, namespace)) < 0 ||
		    (rc = rv_buf_printf(&path, "?limit=%u", page_size ? page_size : 500)) < 0)
			goto cleanup;
		if (selector && *selector) {
			if ((rc = rv_buf_puts(&path, "&labelSelector=")) < 0 ||
			    (rc = rv_kube_escape(&path, selector)) < 0)
				goto cleanup;
		}
		if (cont && ((rc = rv_buf_puts(&path, "&continue=")) < 0 ||
			     (rc = rv_kube_escape(&path, cont)) < 0))
			goto cleanup;
		rc = rv_kube_request(k, &page, NULL, "GET", path.ptr, NULL, NULL, 0);
		if (rc == RV_EGONE && cont && restarts < 3) {
			/* the continue token expired: the list starts over */
			restarts++;
			free(cont);
			cont = NULL;
			json_array_clear(all);
			continue;
		}
		if (rc < 0)
			goto cleanup;
		items = json_object_get(page, "items");
		if (!json_is_array(items) && !json_is_null(items) && items) {
			rc = rv_error_set(RV_EFORMAT, "GET %s: answer has no items list", path.ptr);
			goto cleanup;
		}
		if (items && json_array_extend(all, items) < 0) {
			rc = rv_error_set(RV_ENOMEM, "out of memory");
			goto cleanup;
		}
		free(cont);
		cont = NULL;
		if (rv_json_meta(page, "continue") && *rv_json_meta(page, "continue") &&
		    !(cont = strdup(rv_json_meta(page, "continue")))) {
			rc = rv_error_set(RV_ENOMEM, "out of memory");
			goto cleanup;
		}
		json_decref(page);
		page = NULL;
		if (!cont)
			break;
	}
	*out = all;
	all = NULL;
	rc = RV_OK;
cleanup:
	free(cont);
	json_decref(page);
	json_decref(all);
	rv_buf_dispose(&path);
	return rc;
}

int rv_pods_get(json_t **out, rv_kube *k, const char *ns, const char *name)
{
	rv_buf path = RV_BUF_INIT(PATH_CAP);
	int rc = pod_path(&path, ns, name, NULL);

	*out = NULL;
	if (rc == RV_OK)
		rc = rv_kube_request(k, out, NULL, "GET", path.ptr, NULL, NULL, 0);
	rv_buf_dispose(&path);
	return rc;
}

/* 1 when pod's spec lists an ephemeral container called name. */
static int has_ephemeral(json_t *pod, const char *name)
{
	json_t *list = json_object_get(json_object_get(pod, "spec"), "ephemeralContainers");
	json_t *e;
	size_t i;

	json_array_foreach(list, i, e)
		if (rv_json_str(e, "name") && !strcmp(rv_json_str(e, "name"), name))
			return 1;
	return 0;
}

int rv_pods_add_ephemeral(json_t **out, rv_kube *k, const char *ns,
	const char *pod, json_t *container)
{
	rv_buf path = RV_BUF_INIT(PATH_CAP);
	const char *name = rv_json_str(container, "name");
	json_t *patch = NULL;
	char *body = NULL;
	int rc, attempt;

	if (out)
		*out = NULL;
	patch = json_pack("{s:{s:[O]}}", "spec", "ephemeralContainers", container);
	body = patch ? json_dumps(patch, JSON_COMPACT) : NULL;
	if (!body) {
		rc = rv_error_set(RV_ENOMEM, "out of memory");
		goto cleanup;
	}
	if ((rc = pod_path(&path, ns, pod, "ephemeralcontainers")) < 0)
		goto cleanup;
	for (attempt = 0;; attempt++) {
		json_t *p = NULL;
		long status = 0;

		rc = rv_kube_request(k, out, &status, "PATCH", path.ptr,
			"application/strategic-merge-patch+json", body, strlen(body));
		if (rc == RV_OK || attempt >= 3 ||
		    !(status >= 500 || rc == RV_ENET || rc == RV_ETIMEOUT))
			break;
		/* The server may or may not have added it: look before trying
		 * again, since the write is not idempotent. */
		if (rv_pods_get(&p, k, ns, pod) == RV_OK && has_ephemeral(p, name)) {
			if (out)
				*out = p;
			else
				json_decref(p);
			rc = RV_OK;
			break;
		}
		json_decref(p);
	}
cleanup:
	free(body);
	json_decref(patch);
	rv_buf_dispose(&path);
	return rc;
}

json_t *rv_pods_container_status(json_t *pod, const char *name, int ephemeral)
{
	json_t *list = json_object_get(json_object_get(pod, "status"),
		ephemeral ? "ephemeralContainerStatuses" : "containerStatuses");
	json_t *st;
	size_t i;

	json_array_foreach(list, i, st) {
		const char *n = rv_json_str(st, "name");

		if (n && !strcmp(n, name))
			return st;
	}
	return NULL;
}

/* Reasons a waiting container will not get past without help. */
static int stuck(const char *reason)
{
	static const char *const r[] = {
		"ErrImagePull", "ImagePullBackOff", "InvalidImageName",
		"CreateContainerError", "CreateContainerConfigError",
		"RunContainerError", "ErrImageNeverPull", NULL
	};
	int i;

	for (i = 0; reason && r[i]; i++)
		if (!strcmp(reason, r[i]))
			return 1;
	return 0;
}

/* 1 when the named ephemeral container is done (terminated or stuck). */
static int settled(json_t *pod, const char *name)
{
	json_t *st = rv_pods_container_status(pod, name, 1);
	json_t *state = json_object_get(st, "state");

	if (!st)
		return 0;
	if (json_object_get(state, "terminated"))
		return 1;
	return stuck(rv_json_str(json_object_get(state, "waiting"), "reason"));
}

struct waiter {
	const char *name;
	json_t *last;  /* last pod seen */
};

static int on_event(void *ctx, json_t *ev)
{
	struct waiter *w = ctx;
	const char *type = rv_json_str(ev, "type");
	json_t *obj = json_object_get(ev, "object");

	if (!type || !json_is_object(obj))
		return 0;
	if (!strcmp(type, "ERROR"))
		return 2; /* the watch failed: poll instead */
	if (strcmp(type, "ADDED") && strcmp(type, "MODIFIED"))
		return 0;
	json_decref(w->last);
	w->last = json_incref(obj);
	return settled(obj, w->name) ? 1 : 0;
}

int rv_pods_wait_ephemeral(json_t **out, rv_kube *k, const char *ns,
	const char *pod, const char *name, long timeout_ms, json_t *known)
{
	struct waiter w = { name, NULL };
	rv_buf path = RV_BUF_INIT(PATH_CAP);
	long deadline = rv_clock_ms() + timeout_ms, left;
	int rc, watch_ok = 1;

	*out = NULL;
	while ((left = deadline - rv_clock_ms()) > 0) {
		json_t *p = NULL;

		/* the pod as known (the patch's answer) the first time, else a
		 * GET: the container may have finished already, and either gives
		 * the resourceVersion to watch from */
		if (known && rv_json_meta(known, "resourceVersion")) {
			p = json_incref(known);
			known = NULL;
		} else if ((rc = rv_pods_get(&p, k, ns, pod)) < 0) {
			goto cleanup;
		}
		json_decref(w.last);
		w.last = p;
		if (settled(p, name)) {
			rc = RV_OK;
			goto cleanup;
		}
		if (watch_ok) {
			rv_buf_reset(&path);
			if ((rc = pods_path(&path, ns)) < 0 ||
			    (rc = rv_buf_puts(&path, "?watch=1&fieldSelector=metadata.name%3D")) < 0 ||
			    (rc = rv_kube_escape(&path, pod)) < 0 ||
			    (rc = rv_buf_printf(&path, "&timeoutSeconds=%ld",
				    left / 1000 > 0 ? left / 1000 : 1)) < 0)
				goto cleanup;
			if (rv_json_meta(p, "resourceVersion") &&
			    ((rc = rv_buf_puts(&path, "&resourceVersion=")) < 0 ||
			     (rc = rv_kube_escape(&path, rv_json_meta(p, "resourceVersion"))) < 0))
				goto cleanup;
			rc = rv_kube_watch(k, path.ptr, on_event, &w);
			if (rc == 1) {
				rc = RV_OK;
				goto cleanup;
			}
			if (rc != RV_OK)
				watch_ok = 0; /* fall back to polling from now on */
			continue;
		}
		{
			struct timespec ts = { 1, 0 };

			nanosleep(&ts, NULL);
		}
	}
	rc = rv_error_set(RV_ETIMEOUT,
		"ephemeral container '%s' of pod '%s/%s' did not finish within %ld s",
		name, ns, pod, timeout_ms / 1000);
cleanup:
	if (rc == RV_OK) {
		*out = w.last;
		w.last = NULL;
	}
	json_decref(w.last);
	rv_buf_dispose(&path);
	return rc;
}

int rv_pods_log(rv_buf *out, rv_kube *k, const char *ns, const char *pod,
	const char *container, size_t limit_bytes)
{
	rv_buf path = RV_BUF_INIT(PATH_CAP);
	int rc;

	rv_buf_reset(out);
	if ((rc = pod_path(&path, ns, pod, "log?container=")) < 0 ||
	    (rc = rv_kube_escape(&path, container)) < 0 ||
	    (rc = rv_buf_printf(&path, "&limitBytes=%zu", limit_bytes)) < 0)
		goto cleanup;
	rc = rv_kube_get_raw(k, out, NULL, path.ptr);
cleanup:
	rv_buf_dispose(&path);
	return rc;
}

int rv_pods_event(rv_kube *k, json_t *pod, const char *type,
	const char *reason, const char *message)
{
	const char *ns = rv_json_meta(pod, "namespace"), *name = rv_json_meta(pod, "name");
	rv_buf path = RV_BUF_INIT(PATH_CAP);
	json_t *ev = NULL;
	char stamp[RV_TIME_ISO_LEN], evname[300], *body = NULL;
	struct timespec ts;
	int rc;

	if (!ns || !name)
		return rv_error_set(RV_EINVAL, "pod has no name or namespace");
	rv_clock_iso(stamp, (int64_t)time(NULL));
	clock_gettime(CLOCK_REALTIME, &ts);
	/* unique per pod and moment, as kubectl and client-go name events */
	snprintf(evname, sizeof(evname), "%.200s.%llx", name,
		(unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec);
	ev = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s, s:s, s:s?, s:s?}, s:s, s:s, s:s, s:{s:s}, s:s, s:s, s:i}",
		"apiVersion", "v1", "kind", "Event",
		"metadata", "name", evname, "namespace", ns,
		"involvedObject", "apiVersion", "v1", "kind", "Pod", "name", name,
		"namespace", ns, "uid", rv_json_meta(pod, "uid"),
		"resourceVersion", rv_json_meta(pod, "resourceVersion"),
		"type", type, "reason", reason, "message", message,
		"source", "component", "runtime-verifier",
		"firstTimestamp", stamp, "lastTimestamp", stamp, "count", 1);
	body = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
	if (!body) {
		rc = rv_error_set(RV_ENOMEM, "out of memory (or a message that is not UTF-8)");
		goto cleanup;
	}
	if ((rc = rv_buf_puts(&path, "/api/v1/namespaces/")) < 0 ||
	    (rc = rv_kube_escape(&path, ns)) < 0 ||
	    (rc = rv_buf_puts(&path, "/events")) < 0)
		goto cleanup;
	rc = rv_kube_request(k, NULL, NULL, "POST", path.ptr, "application/json",
		body, strlen(body));
cleanup:
	free(body);
	json_decref(ev);
	rv_buf_dispose(&path);
	return rc;
}

int rv_pods_patch_meta(rv_kube *k, const char *ns, const char *pod,
	json_t *annotations, json_t *labels)
{
	rv_buf path = RV_BUF_INIT(PATH_CAP);
	json_t *patch = json_pack("{s:{}}", "metadata"), *m;
	char *body = NULL;
	int rc;

	m = json_object_get(patch, "metadata");
	if (!m || (annotations && json_object_set(m, "annotations", annotations) < 0) ||
	    (labels && json_object_set(m, "labels", labels) < 0) ||
	    !(body = json_dumps(patch, JSON_COMPACT))) {
		rc = rv_error_set(RV_ENOMEM, "out of memory");
		goto cleanup;
	}
	if ((rc = pod_path(&path, ns, pod, NULL)) < 0)
		goto cleanup;
	rc = rv_kube_request(k, NULL, NULL, "PATCH", path.ptr,
		"application/merge-patch+json", body, strlen(body));
cleanup:
	free(body);
	json_decref(patch);
	rv_buf_dispose(&path);
	return rc;
}

int rv_pods_pull_secret(char **out, size_t *len, rv_kube *k, const char *ns,
	const char *name)
{
	rv_buf path = RV_BUF_INIT(PATH_CAP);
	json_t *secret = NULL, *data;
	rv_buf dec = RV_BUF_INIT(16u << 20);
	const char *b64, *type;
	int rc;

	*out = NULL;
	if ((rc = rv_buf_puts(&path, "/api/v1/namespaces/")) < 0 ||
	    (rc = rv_kube_escape(&path, ns)) < 0 ||
	    (rc = rv_buf_puts(&path, "/secrets/")) < 0 ||
	    (rc = rv_kube_escape(&path, name)) < 0)
		goto cleanup;
	if ((rc = rv_kube_request(k, &secret, NULL, "GET", path.ptr, NULL, NULL, 0)) < 0)
		goto cleanup;
	type = rv_json_str(secret, "type");
	data = json_object_get(secret, "data");
	b64 = rv_json_str(data, ".dockerconfigjson");
	if (!b64)
		b64 = rv_json_str(data, ".dockercfg");
	if (!b64) {
		rc = rv_error_set(RV_EFORMAT,
			"pull secret '%s/%s' (type '%s') has no .dockerconfigjson", ns, name,
			type ? type : "");
		goto cleanup;
	}
	if (strlen(b64) > (16u << 20)) {
		rc = rv_error_set(RV_ETOOBIG, "pull secret '%s/%s' is larger than 16 MiB", ns, name);
		goto cleanup;
	}
	/* the API server writes []byte as padded standard base64 */
	if (rv_base64_decode(&dec, b64, strlen(b64), RV_BASE64_STRICT) < 0) {
		rc = rv_error_set(RV_EFORMAT, "pull secret '%s/%s' is not valid base64", ns, name);
		goto cleanup;
	}
	*len = dec.len;
	*out = rv_buf_detach(&dec, NULL);
	if (!*out) {
		rc = rv_error_set(RV_ENOMEM, "out of memory");
		goto cleanup;
	}
	rc = RV_OK;
cleanup:
	if (dec.ptr)
		explicit_bzero(dec.ptr, dec.cap);
	rv_buf_dispose(&dec);
	json_decref(secret);
	rv_buf_dispose(&path);
	return rc;
}

/* The controller owner of a pod as the workload: kind and name (borrowed
 * from pod, or written into buf); NULL when no controller owns it. */
static const char *controller(const char **kind, json_t *pod, char *buf, size_t size)
{
	json_t *owners = json_object_get(json_object_get(pod, "metadata"), "ownerReferences");
	json_t *o;
	size_t i;

	json_array_foreach(owners, i, o) {
		const char *k = rv_json_str(o, "kind"), *name = rv_json_str(o, "name");
		const char *hash = rv_json_str(json_object_get(json_object_get(pod, "metadata"), "labels"),
			"pod-template-hash");
		size_t nl, hl;

		if (!k || !name || !json_is_true(json_object_get(o, "controller")))
			continue;
		*kind = k;
		if (!strcmp(k, "ReplicaSet") && hash) {
			nl = strlen(name);
			hl = strlen(hash);
			if (nl > hl + 1 && name[nl - hl - 1] == '-' && !strcmp(name + nl - hl, hash) &&
			    nl - hl - 1 < size) {
				memcpy(buf, name, nl - hl - 1);
				buf[nl - hl - 1] = '\0';
				*kind = "Deployment";
				return buf;
			}
		}
		return name;
	}
	return NULL;
}

const char *rv_pods_workload(json_t *pod, char *buf, size_t size)
{
	const char *kind = NULL;

	return controller(&kind, pod, buf, size);
}

const char *rv_pods_workload_ref(const char **kind, json_t *pod, char *buf, size_t size)
{
	const char *name = controller(kind, pod, buf, size);

	if (name)
		return name;
	*kind = "Pod";
	return rv_json_str(json_object_get(pod, "metadata"), "name");
}
