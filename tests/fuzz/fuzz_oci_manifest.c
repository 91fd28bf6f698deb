/* fuzz_oci_manifest.c - image manifests, indexes and docker configs from outside */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sources/oci/dockercfg.h"
#include "sources/oci/image.h"
#include "sources/oci/layers.h"
#include "sources/oci/registry.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The same bytes as an image manifest, an index and a docker config.
 * Whatever they hold: no crash, no leak, and an accepted manifest has only
 * valid digests and known layer media types.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rv_image_desc cfg, *layers = NULL;
	char digest[RV_REGISTRY_DIGEST_MAX];
	char *u = NULL, *p = NULL;
	uint64_t dsize;
	size_t n = 0, i;

	if (rv_image_manifest_parse(&cfg, &layers, &n, (const char *)data, size) == 0) {
		if (rv_registry_digest_check(cfg.digest, strlen(cfg.digest)) != 0)
			abort();
		for (i = 0; i < n; i++) {
			rv_layers_compression c;

			if (rv_registry_digest_check(layers[i].digest, strlen(layers[i].digest)) != 0 ||
			    rv_layers_compression_of(&c, layers[i].media_type) != 0)
				abort();
		}
		free(layers);
	} else if (layers) {
		abort();
	}
	if (rv_image_pick_platform(digest, &dsize, (const char *)data, size, NULL) == 0 &&
	    rv_registry_digest_check(digest, strlen(digest)) != 0)
		abort();
	(void)rv_image_pick_platform(digest, &dsize, (const char *)data, size, "linux/arm/v7");
	if (rv_dockercfg_lookup(&u, &p, (const char *)data, size, "reg.example:5000", "fuzz") == 0 &&
	    (!u) != (!p))
		abort();
	free(u);
	free(p);
	return 0;
}
