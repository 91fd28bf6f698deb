/* claims.h - what a container runs, against what its spec names */
#ifndef RV_CLAIMS_H
#define RV_CLAIMS_H

#include "pipeline/result.h"
#include "pipeline/runcache.h"
#include "sources/oci/registry.h"

/*
 * The image a container runs, from its status.imageID
 * ("docker-pullable://repo@sha256:..." or "repo@sha256:..."), never from
 * the tag: sets cr->image_id, cr->image_ref and cr->image_digest. A
 * missing or digest-less imageID makes cr unverifiable
 * (RV_CAUSE_IMAGE_ID) and returns RV_ERROR.
 */
int rv_claims_image_ref(rv_cresult *cr, const char *image_id);

/*
 * Claims about the spec's image reference (cr->image) against what runs
 * (cr->image_ref): "unparsable-image" (medium), "digest-mismatch" (high:
 * the spec pins another digest), "mutable-tag" (low), "tag-unresolved"
 * (low), "tag-moved" (medium: the tag now names another digest). Tags
 * are resolved through the run's cache with reg. Claims never decide the
 * verdict. RV_ENOMEM.
 */
int rv_claims_check(rv_cresult *cr, rv_runcache *cache, rv_registry *reg);

#endif
