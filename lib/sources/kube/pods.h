/* pods.h - the pod operations verify needs, over sources/kube */
#ifndef RV_PODS_H
#define RV_PODS_H

#include <stddef.h>

#include <jansson.h>

#include "sources/kube/kube.h"
#include "util/buf.h"

/*
 * List the pods of a namespace (NULL: all namespaces) matching a label
 * selector (NULL: all), page by page (limit/continue). When the server
 * says the continue token expired (410), the list starts again from the
 * beginning, at most 3 times. *out is a new JSON array of pod objects.
 */
int rv_pods_list(json_t **out, rv_kube *k, const char *namespace,
	const char *selector, unsigned page_size);

/* GET one pod; *out is a new reference. */
int rv_pods_get(json_t **out, rv_kube *k, const char *ns, const char *name);

/* Add one ephemeral container (a JSON object with a name, borrowed) to a
 * pod with a strategic-merge patch on the ephemeralcontainers subresource.
 * After a 5xx or a broken connection the pod is read back, and the patch
 * is sent again only if the container is not there (at most 3 times).
 * *out (if not NULL) is the pod the server answered with. */
int rv_pods_add_ephemeral(json_t **out, rv_kube *k, const char *ns,
	const char *pod, json_t *container);

/* The status object of a named (ephemeral) container in a pod, borrowed
 * from pod, or NULL. */
json_t *rv_pods_container_status(json_t *pod, const char *name, int ephemeral);

/*
 * Wait until the ephemeral container `name` of pod ns/pod has terminated,
 * or it cannot start (waiting with a reason such as ErrImagePull,
 * ImagePullBackOff, CreateContainerError), for at most timeout_ms. Uses a
 * watch on the pod from the resourceVersion of `known` (the pod as the
 * caller last saw it, e.g. the patch's answer; borrowed, may be NULL, then
 * a GET) and falls back to polling when the watch fails. On success *out
 * is the last pod object seen (new reference): the caller reads the status
 * with rv_pods_container_status. RV_ETIMEOUT when the time runs out.
 */
int rv_pods_wait_ephemeral(json_t **out, rv_kube *k, const char *ns,
	const char *pod, const char *name, long timeout_ms, json_t *known);

/* A container's log, at most limit_bytes (sent as limitBytes), into out
 * (reset first; out->max must be >= limit_bytes). */
int rv_pods_log(rv_buf *out, rv_kube *k, const char *ns, const char *pod,
	const char *container, size_t limit_bytes);

/* Post an Event about a pod (type "Normal" or "Warning"). */
int rv_pods_event(rv_kube *k, json_t *pod, const char *type,
	const char *reason, const char *message);

/* Merge-patch metadata of a pod: annotations and labels (JSON objects,
 * borrowed; either may be NULL; a JSON null value removes a key). */
int rv_pods_patch_meta(rv_kube *k, const char *ns, const char *pod,
	json_t *annotations, json_t *labels);

/* The decoded .dockerconfigjson of a kubernetes.io/dockerconfigjson (or
 * .dockercfg of a kubernetes.io/dockercfg) secret, allocated into *out. */
int rv_pods_pull_secret(char **out, size_t *len, rv_kube *k, const char *ns,
	const char *name);

/* The name of the workload that owns a pod (Deployment through its
 * ReplicaSet's name, StatefulSet, DaemonSet, Job...), from ownerReferences
 * alone, without requests: "payment-api" for a pod of ReplicaSet
 * "payment-api-7d4f9c8b5". NULL for a bare pod. Borrowed from pod, or
 * written into buf. */
const char *rv_pods_workload(json_t *pod, char *buf, size_t size);

/* The same with the workload's kind in *kind: "Deployment" for a pod of a
 * ReplicaSet resolved as above, else the controller's kind ("StatefulSet",
 * "DaemonSet", "Job", "ReplicaSet" without the hash, a custom kind...). A
 * pod no controller owns is its own workload: *kind "Pod" and the pod's
 * name. Both borrowed from pod (or the name written into buf; *kind may
 * be a static string). NULL (and *kind set) when the pod has no name. */
const char *rv_pods_workload_ref(const char **kind, json_t *pod, char *buf, size_t size);

#endif
