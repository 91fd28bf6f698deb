/* runcache.c - what one verify run fetches once: images, tags, registry clients */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dbpath.h"
#include "core/walk.h"
#include "pipeline/pkgcheck.h"
#include "pipeline/report.h"
#include "pipeline/runcache.h"
#include "sources/kube/pods.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/banned.h"

typedef struct img_entry {
	rv_runcache_image pub;  /* what callers read, once done */
	char *key;              /* "registry/repository@sha256:..." */
	int done;
	rv_image *img;          /* owned; pub.img */
	char *error;            /* owned; pub.error */
	rv_sbom *sbom;          /* its packages, catalogued on first need */
	int sbom_tried;
	struct img_entry *next;
} img_entry;

typedef struct tag_entry {
	const rv_registry *reg; /* the client (credentials) it was resolved with */
	char *image;            /* the spec image, as written */
	char digest[RV_REGISTRY_DIGEST_MAX];
	struct tag_entry *next;
} tag_entry;

struct rv_runcache {
	rv_runcache_opts o;
	pthread_mutex_t lock;   /* images, tags, extra */
	pthread_cond_t cond;    /* an image entry became done */
	pthread_mutex_t git_lock; /* libgit2 repositories are not shared across threads */
	img_entry *images;
	tag_entry *tags;
	rv_registry *registry;  /* for pods without pull secrets */
	rv_registry **extra;    /* per-pod clients with pull secrets */
	char **extra_cfg;       /* their docker configs, which they borrow */
	size_t nextra, capextra;
};

int rv_runcache_new(rv_runcache **out, const rv_runcache_opts *o)
{
	rv_runcache *c = calloc(1, sizeof(*c));
	int rc;

	*out = NULL;
	if (!c)
		return rv_error_set(RV_ENOMEM, "out of memory");
	c->o = *o;
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->git_lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	if ((rc = rv_registry_new(&c->registry, &o->registry)) < 0) {
		rv_runcache_free(c);
		return rc;
	}
	*out = c;
	return RV_OK;
}

void rv_runcache_free(rv_runcache *c)
{
	img_entry *e, *next;
	size_t i;

	if (!c)
		return;
	for (e = c->images; e; e = next) {
		next = e->next;
		free(e->key);
		free(e->error);
		rv_image_free(e->img);
		rv_sbom_free(e->sbom);
		json_decref(e->pub.provenance);
		free(e);
	}
	while (c->tags) {
		tag_entry *t = c->tags;

		c->tags = t->next;
		free(t->image);
		free(t);
	}
	for (i = 0; i < c->nextra; i++) {
		rv_registry_free(c->extra[i]);
		if (c->extra_cfg[i])
			explicit_bzero(c->extra_cfg[i], strlen(c->extra_cfg[i]));
		free(c->extra_cfg[i]);
	}
	free(c->extra);
	free(c->extra_cfg);
	rv_registry_free(c->registry);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->git_lock);
	pthread_cond_destroy(&c->cond);
	free(c);
}

rv_registry *rv_runcache_registry(rv_runcache *c)
{
	return c->registry;
}

/* --- images ---------------------------------------------------------------- */

/* Fetch and prepare one image into e (not yet visible as done). */
static void image_fetch(rv_runcache *c, img_entry *e, rv_registry *reg)
{
	rv_image_opts io;
	rv_image *img = NULL;
	int rc;

	memset(&io, 0, sizeof(io));
	io.paths = c->o.paths;
	io.npaths = c->o.npaths;
	io.cache_dir = c->o.cache_dir;
	io.packages = c->o.packages;
	rc = rv_image_fetch(&img, reg, e->key, &io);
	/* the probe's cap on all package databases, applied the same way, so
	 * that an image over it still gives the probe's set; its digest once
	 * for every container of the image */
	if (rc == RV_OK && img->dbset && ((rc = rv_dbpath_cap_total(img->dbset,
			RV_WALK_DBS_MAX_BYTES)) < 0 ||
	    (rc = rv_dbset_digest_comparable(e->pub.dbs_digest, img->dbset)) < 0)) {
		rv_image_free(img);
		img = NULL;
	}
	if (rc < 0)
		e->error = strdup(rv_error_last());
	if (img && c->o.nrepos) {
		rv_git_result *g = NULL;

		pthread_mutex_lock(&c->git_lock);
		if (rv_git_describe_image(&g, c->o.repos, c->o.nrepos, img->revision,
				img->source, c->o.git) == RV_OK)
			e->pub.provenance = rv_report_provenance(g);
		rv_git_result_free(g);
		pthread_mutex_unlock(&c->git_lock);
	}
	e->img = img;
	e->pub.img = img;
	e->pub.error = e->error ? e->error : (img ? NULL : "out of memory");
}

const rv_runcache_image *rv_runcache_image_get(rv_runcache *c, rv_registry *reg, const char *ref)
{
	img_entry *e;

	pthread_mutex_lock(&c->lock);
	for (e = c->images; e; e = e->next)
		if (!strcmp(e->key, ref))
			break;
	if (e) {
		while (!e->done)
			pthread_cond_wait(&c->cond, &c->lock);
		pthread_mutex_unlock(&c->lock);
		return &e->pub;
	}
	e = calloc(1, sizeof(*e));
	if (!e || !(e->key = strdup(ref))) {
		free(e);
		pthread_mutex_unlock(&c->lock);
		return NULL;
	}
	e->next = c->images;
	c->images = e;
	pthread_mutex_unlock(&c->lock);

	image_fetch(c, e, reg);

	pthread_mutex_lock(&c->lock);
	e->done = 1;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	return &e->pub;
}

const rv_sbom *rv_runcache_sbom(rv_runcache *c, const rv_runcache_image *pub)
{
	img_entry *e = (img_entry *)((char *)pub - offsetof(img_entry, pub));
	const rv_sbom *s;

	pthread_mutex_lock(&c->lock);
	if (!e->sbom_tried) {
		e->sbom_tried = 1;
		if (rv_pkgcheck_catalogue(&e->sbom, e->img->dbset) < 0)
			e->sbom = NULL;
	}
	s = e->sbom;
	pthread_mutex_unlock(&c->lock);
	return s;
}

/* --- tags ------------------------------------------------------------------ */

int rv_runcache_resolve_tag(char digest[RV_REGISTRY_DIGEST_MAX], rv_runcache *c,
	rv_registry *reg, const rv_registry_ref *spec, const char *spec_image)
{
	tag_entry *t;
	int rc;

	pthread_mutex_lock(&c->lock);
	for (t = c->tags; t; t = t->next)
		if (t->reg == reg && !strcmp(t->image, spec_image))
			break;
	if (t)
		snprintf(digest, RV_REGISTRY_DIGEST_MAX, "%s", t->digest);
	pthread_mutex_unlock(&c->lock);
	if (t)
		return RV_OK;
	/* two workers may resolve the same tag at once: one more request,
	 * not a wrong answer */
	if ((rc = rv_registry_resolve_tag(digest, reg, spec)) < 0)
		return rc;
	t = calloc(1, sizeof(*t));
	if (t && !(t->image = strdup(spec_image))) {
		free(t);
		t = NULL;
	}
	if (t) { /* out of memory only costs the cache */
		t->reg = reg;
		snprintf(t->digest, sizeof(t->digest), "%s", digest);
		pthread_mutex_lock(&c->lock);
		t->next = c->tags;
		c->tags = t;
		pthread_mutex_unlock(&c->lock);
	}
	return rc;
}

/* --- registry clients for pull secrets ----------------------------------------- */

/* Merge the auths of every pull secret of pod into one docker config
 * text in *merged, first wins; an empty buffer when none had any. */
static int merge_pull_secrets(rv_buf *merged, rv_runcache *c, json_t *pod, json_t *secrets,
	rv_presult *p)
{
	const char *ns = json_string_value(json_object_get(json_object_get(pod, "metadata"),
		"namespace"));
	json_t *s, *all = json_object(), *wrap = NULL;
	char *text = NULL;
	size_t i;
	int rc = RV_OK;

	if (!all)
		return rv_error_set(RV_ENOMEM, "out of memory");
	json_array_foreach(secrets, i, s) {
		const char *name = json_string_value(json_object_get(s, "name"));
		size_t len = 0;
		json_t *cfg, *auths;

		if (!name)
			continue;
		if (rv_pods_pull_secret(&text, &len, c->o.k, ns, name) < 0) {
			/* the kubelet goes on without a missing secret; so do we, and say so */
			rv_presult_note(p, rv_error_last());
			continue;
		}
		cfg = json_loadb(text, len, 0, NULL);
		explicit_bzero(text, len);
		free(text);
		text = NULL;
		auths = json_object_get(cfg, "auths");
		if (!auths && json_is_object(cfg))
			auths = cfg; /* legacy .dockercfg */
		if (json_is_object(auths))
			json_object_update_missing(all, auths);
		json_decref(cfg);
	}
	if (json_object_size(all) == 0)
		goto cleanup;
	wrap = json_pack("{s:O}", "auths", all);
	text = wrap ? json_dumps(wrap, JSON_COMPACT) : NULL;
	if (!text) {
		rc = rv_error_set(RV_ENOMEM, "out of memory");
		goto cleanup;
	}
	rc = rv_buf_puts(merged, text);
	explicit_bzero(text, strlen(text));
cleanup:
	free(text);
	json_decref(wrap);
	json_decref(all);
	return rc;
}

/* Room for one more kept client. */
static int extra_reserve(rv_runcache *c)
{
	size_t cap;
	rv_registry **v;
	char **cf;

	if (c->nextra < c->capextra)
		return RV_OK;
	cap = c->capextra ? c->capextra * 2 : 8;
	v = realloc(c->extra, cap * sizeof(*v));
	if (v)
		c->extra = v;
	cf = v ? realloc(c->extra_cfg, cap * sizeof(*cf)) : NULL;
	if (cf)
		c->extra_cfg = cf;
	if (!v || !cf)
		return rv_error_set(RV_ENOMEM, "out of memory");
	c->capextra = cap;
	return RV_OK;
}

int rv_runcache_pod_registry(rv_registry **out, rv_runcache *c, json_t *pod, rv_presult *p)
{
	json_t *secrets = json_object_get(json_object_get(pod, "spec"), "imagePullSecrets");
	rv_buf merged = RV_BUF_INIT(32u << 20);
	rv_registry_opts ro;
	rv_registry *reg = NULL;
	int rc;

	*out = c->registry;
	if (!json_array_size(secrets))
		return RV_OK;
	if ((rc = merge_pull_secrets(&merged, c, pod, secrets, p)) < 0 || !merged.len)
		goto cleanup;
	pthread_mutex_lock(&c->lock);
	rc = extra_reserve(c);
	pthread_mutex_unlock(&c->lock);
	if (rc < 0)
		goto cleanup;
	/* the client borrows the config text: it lives as long as the client */
	ro = c->o.registry;
	ro.docker_config_json = merged.ptr;
	if ((rc = rv_registry_new(&reg, &ro)) < 0)
		goto cleanup;
	pthread_mutex_lock(&c->lock);
	c->extra_cfg[c->nextra] = rv_buf_detach(&merged, NULL);
	c->extra[c->nextra++] = reg;
	pthread_mutex_unlock(&c->lock);
	*out = reg;
cleanup:
	if (merged.ptr)
		explicit_bzero(merged.ptr, merged.cap);
	rv_buf_dispose(&merged);
	return rc;
}

void rv_runcache_stats(rv_runcache *c, unsigned long *requests, uint64_t *bytes,
	size_t *images)
{
	rv_registry_stats rs;
	img_entry *e;
	size_t i;

	*requests = 0;
	*bytes = 0;
	*images = 0;
	if (!c)
		return;
	rv_registry_stats_get(&rs, c->registry);
	*requests += rs.requests;
	*bytes += rs.blob_bytes;
	for (i = 0; i < c->nextra; i++) {
		rv_registry_stats_get(&rs, c->extra[i]);
		*requests += rs.requests;
		*bytes += rs.blob_bytes;
	}
	for (e = c->images; e; e = e->next)
		(*images)++;
}
