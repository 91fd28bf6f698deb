/* claims.c - what a container runs, against what its spec names */
#include <stdio.h>
#include <string.h>

#include "pipeline/claims.h"
#include "util/error.h"
#include "util/banned.h"

int rv_claims_image_ref(rv_cresult *cr, const char *image_id)
{
	const char *p = image_id, *at;

	if (rv_result_set_str(&cr->image_id, image_id) < 0)
		return rv_cresult_fail(cr, RV_CAUSE_IMAGE_ID, "%s", rv_error_last());
	if (!p || !*p)
		return rv_cresult_fail(cr, RV_CAUSE_IMAGE_ID, "the container status has no imageID");
	if (!strncmp(p, "docker-pullable://", 18))
		p += 18;
	at = strrchr(p, '@');
	if (!at || at == p)
		return rv_cresult_fail(cr, RV_CAUSE_IMAGE_ID,
			"imageID '%.200s' names no repository and digest, so the image cannot be fetched by digest",
			image_id);
	if (rv_registry_digest_check(at + 1, strlen(at + 1)) < 0) {
		rv_error_prefix(RV_EINVAL, "imageID '%.200s'", image_id);
		return rv_cresult_fail(cr, RV_CAUSE_IMAGE_ID, "%s", rv_error_last());
	}
	if (rv_result_set_str(&cr->image_ref, p) < 0)
		return rv_cresult_fail(cr, RV_CAUSE_IMAGE_ID, "%s", rv_error_last());
	cr->image_digest = strrchr(cr->image_ref, '@') + 1;
	return RV_OK;
}

int rv_claims_check(rv_cresult *cr, rv_runcache *cache, rv_registry *reg)
{
	const char *spec_image = cr->image;
	const char *run_digest = cr->image_digest;
	rv_registry_ref spec;
	char digest[RV_REGISTRY_DIGEST_MAX], msg[1024];
	int rc = RV_OK;

	memset(&spec, 0, sizeof(spec));
	if (!spec_image || rv_registry_ref_parse(&spec, spec_image) < 0) {
		snprintf(msg, sizeof(msg), "spec image '%.300s' cannot be parsed: %.300s",
			spec_image ? spec_image : "", rv_error_last());
		rc = rv_cresult_claim(cr, "unparsable-image", RV_SEV_MEDIUM, msg);
		goto cleanup;
	}
	if (spec.digest) {
		if (strcmp(spec.digest, run_digest)) {
			snprintf(msg, sizeof(msg),
				"the spec pins %.80s but the container runs %.80s", spec.digest, run_digest);
			rc = rv_cresult_claim(cr, "digest-mismatch", RV_SEV_HIGH, msg);
		}
		goto cleanup;
	}
	snprintf(msg, sizeof(msg), "the spec names the mutable tag '%.300s', not a digest", spec_image);
	if ((rc = rv_cresult_claim(cr, "mutable-tag", RV_SEV_LOW, msg)) < 0)
		goto cleanup;
	if (rv_runcache_resolve_tag(digest, cache, reg, &spec, spec_image) < 0) {
		snprintf(msg, sizeof(msg), "cannot resolve the tag '%.300s': %.400s", spec_image,
			rv_error_last());
		rc = rv_cresult_claim(cr, "tag-unresolved", RV_SEV_LOW, msg);
	} else if (strcmp(digest, run_digest)) {
		snprintf(msg, sizeof(msg), "the tag '%.300s' now points to %.80s; the container runs %.80s",
			spec_image, digest, run_digest);
		rc = rv_cresult_claim(cr, "tag-moved", RV_SEV_MEDIUM, msg);
	}
cleanup:
	rv_registry_ref_dispose(&spec);
	return rc;
}
