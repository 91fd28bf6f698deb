/* image.h - a registry image reference to a verified manifest and its config */
#ifndef RV_IMAGE_H
#define RV_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/dbset.h"
#include "core/manifest.h"
#include "sources/oci/registry.h"

/*
 * rv_image_fetch resolves REF (name@sha256:..., or name:tag) on its
 * registry, picks the platform's manifest from an index or manifest list,
 * fetches the config and the layers (concurrently, each verified against
 * its descriptor), reduces each layer to a change list and folds them in
 * order into the manifest of the requested paths (sources/layers.h has the
 * rules). With a cache, a layer already seen (same digest and paths) is not
 * fetched again, and an image already seen by digest (same platform and
 * paths) needs no request at all.
 *
 * With opts->packages the same single read of each layer also collects
 * the image's package databases (sources/layers.h): img->dbset, the set a
 * container started from the image has, cached with the rest.
 */

/* The platform an index is resolved for when none is given: the one this
 * binary was built for, which is the machine it runs on. In a cluster of
 * one architecture that is also the nodes'; give the platform otherwise. */
#if defined(__x86_64__)
#define RV_IMAGE_DEFAULT_PLATFORM "linux/amd64"
#elif defined(__aarch64__)
#define RV_IMAGE_DEFAULT_PLATFORM "linux/arm64"
#elif defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
#define RV_IMAGE_DEFAULT_PLATFORM "linux/ppc64le"
#elif defined(__s390x__)
#define RV_IMAGE_DEFAULT_PLATFORM "linux/s390x"
#elif defined(__riscv) && __riscv_xlen == 64
#define RV_IMAGE_DEFAULT_PLATFORM "linux/riscv64"
#elif defined(__arm__) && defined(__ARM_ARCH_7A__)
#define RV_IMAGE_DEFAULT_PLATFORM "linux/arm/v7"
#elif defined(__i386__)
#define RV_IMAGE_DEFAULT_PLATFORM "linux/386"
#else
#define RV_IMAGE_DEFAULT_PLATFORM "linux/amd64"
#endif

typedef struct rv_image_opts {
	/* Absolute paths to describe (none: "/"). Borrowed. */
	const char *const *paths;
	size_t npaths;
	/* "os/arch" or "os/arch/variant"; NULL: RV_IMAGE_DEFAULT_PLATFORM for an index,
	 * whatever a single manifest has. */
	const char *platform;
	/* Cache directory, or NULL for none; limit in bytes (0: none). */
	const char *cache_dir;
	uint64_t cache_max_bytes;
	/* Layers fetched and hashed at once (0: 2). */
	int jobs;
	/* Per-layer cap on inflated bytes (0: RV_LAYERS_MAX_INFLATED). */
	uint64_t max_inflated;
	/* Inflate gzip with zlib rather than igzip. */
	int use_zlib;
	/* Also collect the package databases into img->dbset. */
	int packages;
} rv_image_opts;

typedef struct rv_image_info {
	uint64_t compressed_bytes, tar_bytes;
	size_t layers, layers_cached;
	int image_cached;  /* the whole result came from the image cache */
	unsigned long cache_corrupt;
} rv_image_info;

typedef struct rv_image {
	char *reference;        /* as given */
	char *digest;           /* what the reference resolves to (maybe an index) */
	char *manifest_digest;  /* the platform's image manifest */
	char *config_digest;
	char *platform;         /* "os/arch[/variant]" of the config */
	json_t *config;         /* the config blob, parsed (owned): .config.Env,
	                         * .User, .Entrypoint, .Cmd, .Labels as the
	                         * OCI image spec has them */
	/* From config.Labels, NULL when absent (point into config). */
	const char *revision, *source, *created;
	rv_manifest *manifest;  /* sorted, owned */
	rv_dbset *dbset;        /* sorted, owned; NULL unless opts->packages */
	rv_image_info info;
} rv_image;

/* Fetch and fingerprint ref through r. *out is the caller's
 * (rv_image_free). Verification failures are RV_EVERIFY; nothing is
 * returned on any error. */
int rv_image_fetch(rv_image **out, rv_registry *r, const char *ref,
	const rv_image_opts *opts);

void rv_image_free(rv_image *img);

/*
 * Choose the descriptor for a platform in an index or manifest list
 * (JSON text, already verified); writes its digest and size. platform
 * as in rv_image_opts (NULL: RV_IMAGE_DEFAULT_PLATFORM). RV_ENOTFOUND lists what the
 * index has; RV_EFORMAT for a malformed index.
 */
int rv_image_pick_platform(char digest[RV_REGISTRY_DIGEST_MAX], uint64_t *size,
	const char *index, size_t len, const char *platform);

/* A descriptor from a manifest, validated: a sha256 digest, a size. */
typedef struct rv_image_desc {
	char media_type[256];
	char digest[RV_REGISTRY_DIGEST_MAX];
	uint64_t size;
} rv_image_desc;

/* Parse an image manifest (OCI or Docker v2 JSON): its config descriptor
 * and layer descriptors (*layers allocated, free() it; NULL when none).
 * Every descriptor must have a valid digest and size, and every layer a
 * media type rv_layers_compression_of knows: RV_EFORMAT or
 * RV_EUNSUPPORTED naming what is wrong otherwise. */
int rv_image_manifest_parse(rv_image_desc *config, rv_image_desc **layers,
	size_t *nlayers, const char *body, size_t len);

#endif
