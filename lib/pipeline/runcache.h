/* runcache.h - what one verify run fetches once: images, tags, registry clients */
#ifndef RV_RUNCACHE_H
#define RV_RUNCACHE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "pipeline/result.h"
#include "sources/git/git.h"
#include "sources/oci/image.h"
#include "sources/kube/kube.h"
#include "sources/oci/registry.h"
#include "sources/sbom/sbom.h"

typedef struct rv_runcache_opts {
	const char *const *paths;     /* roots fingerprinted in images */
	size_t npaths;
	const char *cache_dir;        /* on-disk image cache, or NULL */
	int packages;                 /* collect package databases too */
	rv_registry_opts registry;    /* the shared client's options */
	rv_git_repo *const *repos;    /* provenance; may be none */
	size_t nrepos;
	const rv_git_options *git;    /* may be NULL */
	rv_kube *k;                   /* reads pods' imagePullSecrets */
} rv_runcache_opts;

/* One image fingerprint, shared by every container that runs it; valid
 * until rv_runcache_free. img is NULL (and error says why) on failure. */
typedef struct rv_runcache_image {
	const rv_image *img;
	const char *error;
	json_t *provenance;          /* per image, computed once, or NULL */
	unsigned char dbs_digest[RV_SHA256_LEN]; /* img->dbset's comparable digest */
} rv_runcache_image;

typedef struct rv_runcache rv_runcache;

/* A cache for one run; borrows o's pointers for its life. RV_ENOMEM, or
 * the registry client's error. */
int rv_runcache_new(rv_runcache **out, const rv_runcache_opts *o);

/* Free c and everything it fetched; the pull-secret configs it kept are
 * wiped first. NULL-safe. */
void rv_runcache_free(rv_runcache *c);

/* The client for pods without imagePullSecrets (borrowed). */
rv_registry *rv_runcache_registry(rv_runcache *c);

/*
 * The registry client for a pod: with its imagePullSecrets merged (the
 * first secret naming a registry wins, as the kubelet's), or the shared
 * one when it has none. A missing or unreadable secret becomes a note
 * of p and is skipped, as the kubelet does. The client is kept until the
 * end of the run. RV_ENOMEM, or the client's error (then *out is the
 * shared client).
 */
int rv_runcache_pod_registry(rv_registry **out, rv_runcache *c, json_t *pod, rv_presult *p);

/*
 * The fingerprint of ref ("registry/repository@sha256:...") through reg,
 * fetched once per run: other threads asking for it wait. The image's
 * package set is capped as the probe caps its own, and its provenance
 * resolved with the configured repositories. NULL only when out of
 * memory; otherwise the entry (borrowed, thread-safe to read once
 * returned).
 */
const rv_runcache_image *rv_runcache_image_get(rv_runcache *c, rv_registry *reg, const char *ref);

/* The image's package catalogue, made on first need. NULL if it failed. */
const rv_sbom *rv_runcache_sbom(rv_runcache *c, const rv_runcache_image *e);

/*
 * What a tag resolves to, once per run per (client, spec image): every
 * pod of a Deployment names the same tag, and a manifest GET is what
 * registries count as a pull. Only answers are kept: a failure is tried
 * again by the next container. The registry's error otherwise.
 */
int rv_runcache_resolve_tag(char digest[RV_REGISTRY_DIGEST_MAX], rv_runcache *c,
	rv_registry *reg, const rv_registry_ref *spec, const char *spec_image);

/* Registry traffic of every client of the run, and the images fetched. */
void rv_runcache_stats(rv_runcache *c, unsigned long *requests, uint64_t *bytes,
	size_t *images);

#endif
