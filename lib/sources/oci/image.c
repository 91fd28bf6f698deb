/* image.c - a registry image reference to a verified manifest and its config */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sources/oci/cache.h"
#include "sources/oci/image.h"
#include "sources/oci/layers.h"
#include "sources/oci/registry.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/sha256.h"
#include "util/banned.h"

#define CONFIG_MAX (16u << 20)
#define MAX_LAYERS 1000
#define JOBS_DEFAULT 2
#define JOBS_MAX 16
#define IMAGE_CACHE_MAX ((size_t)RV_CACHE_ENTRY_MAX)

#define desc rv_image_desc

/* --- manifests ---------------------------------------------------------- */

static int parse_desc(struct desc *d, json_t *j, const char *what)
{
	const char *mt, *dg;
	json_t *sz;
	int rc;

	if (!json_is_object(j))
		return rv_error_set(RV_EFORMAT, "%s is not a descriptor object", what);
	mt = json_string_value(json_object_get(j, "mediaType"));
	dg = json_string_value(json_object_get(j, "digest"));
	sz = json_object_get(j, "size");
	if (!dg)
		return rv_error_set(RV_EFORMAT, "%s has no digest", what);
	if ((rc = rv_registry_digest_check(dg, strlen(dg))) < 0)
		return rv_error_prefix(rc, "%s", what);
	if (!json_is_integer(sz) || json_integer_value(sz) < 0)
		return rv_error_set(RV_EFORMAT, "%s '%s' has no valid size", what, dg);
	if (mt && strlen(mt) >= sizeof(d->media_type))
		return rv_error_set(RV_EFORMAT, "%s '%s' has an overlong media type", what, dg);
	snprintf(d->media_type, sizeof(d->media_type), "%s", mt ? mt : "");
	snprintf(d->digest, sizeof(d->digest), "%s", dg);
	d->size = (uint64_t)json_integer_value(sz);
	return RV_OK;
}

static int split_platform(const char *p, char os[64], char arch[64], char variant[64])
{
	const char *s1, *s2;

	os[0] = arch[0] = variant[0] = '\0';
	if (!p)
		p = RV_IMAGE_DEFAULT_PLATFORM;
	s1 = strchr(p, '/');
	if (!s1 || s1 == p || (size_t)(s1 - p) >= 64)
		goto bad;
	s2 = strchr(s1 + 1, '/');
	if ((s2 ? (size_t)(s2 - s1 - 1) : strlen(s1 + 1)) == 0 ||
	    (s2 ? (size_t)(s2 - s1 - 1) : strlen(s1 + 1)) >= 64 ||
	    (s2 && (!s2[1] || strlen(s2 + 1) >= 64 || strchr(s2 + 1, '/'))))
		goto bad;
	memcpy(os, p, (size_t)(s1 - p));
	os[s1 - p] = '\0';
	if (s2) {
		memcpy(arch, s1 + 1, (size_t)(s2 - s1 - 1));
		arch[s2 - s1 - 1] = '\0';
		snprintf(variant, 64, "%s", s2 + 1);
	} else {
		snprintf(arch, 64, "%s", s1 + 1);
	}
	return RV_OK;
bad:
	return rv_error_set(RV_EINVAL, "bad platform '%.100s' (want os/arch or os/arch/variant)", p);
}

int rv_image_pick_platform(char digest[RV_REGISTRY_DIGEST_MAX], uint64_t *size,
	const char *index, size_t len, const char *platform)
{
	char os[64], arch[64], variant[64];
	rv_buf seen = RV_BUF_INIT(4096);
	json_t *j = NULL, *list, *m;
	json_error_t jerr;
	struct desc d;
	size_t i;
	int rc, found = 0;

	if ((rc = split_platform(platform, os, arch, variant)) < 0)
		return rc;
	j = json_loadb(index, len, 0, &jerr);
	list = json_object_get(j, "manifests");
	if (!json_is_array(list)) {
		rc = rv_error_set(RV_EFORMAT, "index has no 'manifests' array");
		goto cleanup;
	}
	json_array_foreach(list, i, m) {
		json_t *pf = json_object_get(m, "platform");
		const char *o = json_string_value(json_object_get(pf, "os"));
		const char *a = json_string_value(json_object_get(pf, "architecture"));
		const char *v = json_string_value(json_object_get(pf, "variant"));

		if ((rc = parse_desc(&d, m, "index entry")) < 0)
			goto cleanup;
		if (!o || !a)
			continue;
		(void)rv_buf_printf(&seen, "%s%s/%s%s%s", seen.len ? ", " : "", o, a,
			v ? "/" : "", v ? v : "");
		if (strcmp(o, os) || strcmp(a, arch))
			continue;
		if (variant[0] && (!v || strcmp(v, variant)))
			continue;
		if (!found || (!variant[0] && !v)) {
			snprintf(digest, RV_REGISTRY_DIGEST_MAX, "%s", d.digest);
			*size = d.size;
			if (found)
				break;
			found = 1;
		}
	}
	if (!found)
		rc = rv_error_set(RV_ENOTFOUND, "no manifest for platform '%s/%s%s%s' in the index (it has: %s)",
			os, arch, variant[0] ? "/" : "", variant, seen.len ? seen.ptr : "nothing");
	else
		rc = RV_OK;
cleanup:
	json_decref(j);
	rv_buf_dispose(&seen);
	return rc;
}

static int is_index(const char *mt)
{
	return !strcmp(mt, RV_MT_OCI_INDEX) || !strcmp(mt, RV_MT_DOCKER_LIST);
}

static int is_image_manifest(const char *mt)
{
	return !strcmp(mt, RV_MT_OCI_MANIFEST) || !strcmp(mt, RV_MT_DOCKER_MANIFEST);
}

static int check_media_type(const char *mt, const char *where)
{
	if (is_index(mt) || is_image_manifest(mt))
		return RV_OK;
	if (!strcmp(mt, RV_MT_DOCKER_V1) || !strcmp(mt, RV_MT_DOCKER_V1_SIGNED))
		return rv_error_set(RV_EUNSUPPORTED,
			"%s is a Docker schema 1 manifest: not supported (push it again with a current tool)", where);
	return rv_error_set(RV_EUNSUPPORTED, "%s has an unknown media type '%.200s'",
		where, mt[0] ? mt : "(none)");
}

static int parse_image_manifest(struct desc *config, struct desc **layers, size_t *nlayers,
	const char *body, size_t len, const char *where);

int rv_image_manifest_parse(rv_image_desc *config, rv_image_desc **layers,
	size_t *nlayers, const char *body, size_t len)
{
	return parse_image_manifest(config, layers, nlayers, body, len, "the manifest");
}

/* Parse an image manifest: config and layer descriptors. */
static int parse_image_manifest(struct desc *config, struct desc **layers, size_t *nlayers,
	const char *body, size_t len, const char *where)
{
	json_t *j, *ls, *l;
	json_error_t jerr;
	size_t i;
	int rc = RV_OK;

	*layers = NULL;
	*nlayers = 0;
	j = json_loadb(body, len, 0, &jerr);
	if (!json_is_object(j)) {
		rc = rv_error_set(RV_EFORMAT, "%s is not a JSON object%s%s", where,
			j ? "" : ": ", j ? "" : jerr.text);
		goto cleanup;
	}
	if (json_integer_value(json_object_get(j, "schemaVersion")) != 2) {
		rc = rv_error_set(RV_EFORMAT, "%s: schemaVersion is not 2", where);
		goto cleanup;
	}
	if ((rc = parse_desc(config, json_object_get(j, "config"), "config descriptor")) < 0) {
		rv_error_prefix(rc, "%s", where);
		goto cleanup;
	}
	ls = json_object_get(j, "layers");
	if (!json_is_array(ls) || json_array_size(ls) > MAX_LAYERS) {
		rc = rv_error_set(RV_EFORMAT, "%s: 'layers' is not an array of at most %d", where, MAX_LAYERS);
		goto cleanup;
	}
	*nlayers = json_array_size(ls);
	if (*nlayers && !(*layers = calloc(*nlayers, sizeof(**layers)))) {
		rc = rv_error_set(RV_ENOMEM, "out of memory");
		goto cleanup;
	}
	json_array_foreach(ls, i, l) {
		rv_layers_compression c;

		if ((rc = parse_desc(&(*layers)[i], l, "layer descriptor")) < 0 ||
		    (rc = rv_layers_compression_of(&c, (*layers)[i].media_type)) < 0) {
			rv_error_prefix(rc, "%s, layer %zu", where, i + 1);
			goto cleanup;
		}
	}
cleanup:
	if (rc < 0) {
		free(*layers);
		*layers = NULL;
		*nlayers = 0;
	}
	json_decref(j);
	return rc;
}

/* --- layer workers ------------------------------------------------------ */

struct job {
	rv_registry *r;
	const rv_registry_ref *ref;
	rv_cache *cache;
	const struct desc *layers;
	size_t n;
	rv_layers_list **lists;
	rv_layers_opts lopts;
	const char *filter_key;
	const unsigned char *only; /* NULL, or read only the layers i with only[i] */
	pthread_mutex_t lock;
	size_t next;
	volatile int cancel;
	int err;
	char errmsg[1024];
	size_t cached;
	uint64_t tar_bytes;
	/* package databases captured by the finished layers, in all; past
	 * db_cap every layer's are dropped (fail records), so memory stays
	 * bounded and the outcome does not depend on the order */
	uint64_t db_total, db_cap;
	int db_over;
};

static int blob_src(void *ctx, void *buf, size_t len, size_t *got)
{
	return rv_registry_blob_read(ctx, buf, len, got);
}

static int layer_key(rv_buf *k, const struct desc *d, const char *filter_key)
{
	return rv_buf_printf(k, "layer %s\n%s", d->digest, filter_key);
}

static int do_layer(struct job *jb, size_t i)
{
	const struct desc *d = &jb->layers[i];
	rv_registry_blob *b = NULL;
	rv_buf key = RV_BUF_INIT(1 << 20), data = RV_BUF_INIT(RV_CACHE_ENTRY_MAX);
	rv_layers_compression c;
	int rc, found = 0;

	if ((rc = rv_layers_compression_of(&c, d->media_type)) < 0)
		goto cleanup;
	if (jb->cache) {
		if ((rc = layer_key(&key, d, jb->filter_key)) < 0 ||
		    (rc = rv_cache_get(jb->cache, "layers", key.ptr, &data, &found)) < 0)
			goto cleanup;
		if (found && rv_layers_list_parse(&jb->lists[i], data.ptr, data.len) == 0) {
			pthread_mutex_lock(&jb->lock);
			jb->cached++;
			pthread_mutex_unlock(&jb->lock);
			goto cleanup;
		}
	}
	if ((rc = rv_registry_blob_open(&b, jb->r, jb->ref, d->digest, d->size)) < 0)
		goto cleanup;
	rv_registry_blob_set_cancel(b, &jb->cancel);
	if ((rc = rv_layers_read(&jb->lists[i], c, blob_src, b, &jb->lopts)) < 0) {
		rv_error_prefix(rc, "layer %zu (%s) of '%s/%s'", i + 1, d->digest,
			jb->ref->registry, jb->ref->repository);
		goto cleanup;
	}
	if (jb->cache) {
		rv_buf_reset(&data);
		if ((rc = rv_layers_list_serialize(&data, jb->lists[i])) < 0 ||
		    (rc = rv_cache_put(jb->cache, "layers", key.ptr, data.ptr, data.len)) < 0)
			goto cleanup;
	}
cleanup:
	rv_registry_blob_free(b);
	rv_buf_dispose(&key);
	rv_buf_dispose(&data);
	return rc;
}

static int drop_db(rv_layers_list *l, uint64_t cap)
{
	char why[128];

	snprintf(why, sizeof(why), "package databases of the image over the limit of %llu bytes",
		(unsigned long long)cap);
	return rv_layers_list_drop_db(l, why);
}

static void *worker(void *arg)
{
	struct job *jb = arg;
	size_t i;
	int rc;

	for (;;) {
		pthread_mutex_lock(&jb->lock);
		i = jb->next++;
		pthread_mutex_unlock(&jb->lock);
		if (i >= jb->n || jb->cancel)
			break;
		if (jb->only && !jb->only[i])
			continue;
		if ((rc = do_layer(jb, i)) == 0 && jb->lopts.packages) {
			pthread_mutex_lock(&jb->lock);
			jb->db_total += rv_layers_list_db_bytes(jb->lists[i]);
			if (jb->db_total > jb->db_cap)
				jb->db_over = 1;
			if (jb->db_over)
				rc = drop_db(jb->lists[i], jb->db_cap);
			pthread_mutex_unlock(&jb->lock);
		}
		if (rc < 0) {
			pthread_mutex_lock(&jb->lock);
			if (!jb->err) {
				jb->err = rc;
				snprintf(jb->errmsg, sizeof(jb->errmsg), "%s", rv_error_last());
			}
			jb->cancel = 1;
			pthread_mutex_unlock(&jb->lock);
			break;
		}
	}
	return NULL;
}

static int run_layers(struct job *jb, int jobs)
{
	pthread_t th[JOBS_MAX];
	int started = 0, i;

	if (jobs < 1)
		jobs = JOBS_DEFAULT;
	if (jobs > JOBS_MAX)
		jobs = JOBS_MAX;
	if ((size_t)jobs > jb->n)
		jobs = (int)jb->n;
	if (jobs <= 1) {
		worker(jb);
	} else {
		for (i = 0; i < jobs; i++) {
			if (pthread_create(&th[i], NULL, worker, jb) != 0)
				break;
			started++;
		}
		if (!started)
			worker(jb);
		for (i = 0; i < started; i++)
			pthread_join(th[i], NULL);
	}
	if (jb->err)
		return rv_error_set(jb->err, "%s", jb->errmsg);
	return RV_OK;
}

/*
 * The second pass of the package capture: hardlinks at database paths
 * whose target is a plain file the stream had passed (pnpm's store, an
 * image deduplicated with hardlinks) would be fail records, though the
 * probe reads them. Read the layers that hold those targets once more,
 * capturing the targets under the caps of the links' kinds, in place of
 * their first lists; the layer cache keeps them under a key of their own
 * (the targets' digest). Costs one more pull of those layers on a cold
 * cache, none on a warm one. Past the image cap afterwards, every
 * layer's captures are dropped, as in the first pass.
 */
static int db_link_pass(struct job *jb, int jobs)
{
	rv_layers_target *tg = NULL;
	unsigned char *need = NULL;
	rv_buf key = RV_BUF_INIT(1 << 20);
	rv_sha256 h = { NULL };
	unsigned char d[RV_SHA256_LEN];
	char hex[RV_SHA256_HEX];
	const char *saved_key = jb->filter_key;
	rv_layers_opts saved = jb->lopts;
	size_t nt = 0, i, cached = jb->cached;
	uint64_t total = 0;
	int rc;

	if (!jb->n)
		return RV_OK;
	if (!(need = calloc(jb->n, 1))) {
		rc = rv_error_set(RV_ENOMEM, "out of memory");
		goto cleanup;
	}
	if ((rc = rv_layers_db_link_targets(&tg, &nt, need, jb->lists, jb->n)) < 0 || !nt)
		goto cleanup;
	for (i = 0; i < jb->n && !need[i]; i++)
		;
	if (i == jb->n) /* no layer has them: the fail records stand */
		goto cleanup;
	if ((rc = rv_sha256_init(&h)) < 0)
		goto cleanup;
	for (i = 0; i < nt; i++) {
		char cap[32];

		snprintf(cap, sizeof(cap), "\t%zu\n", tg[i].max);
		if ((rc = rv_sha256_update(&h, tg[i].path, strlen(tg[i].path))) < 0 ||
		    (rc = rv_sha256_update(&h, cap, strlen(cap))) < 0)
			goto cleanup;
	}
	if ((rc = rv_sha256_final(&h, d)) < 0)
		goto cleanup;
	rv_sha256_to_hex(hex, d);
	if ((rc = rv_buf_printf(&key, "%sdb-targets %zu %s\n", saved_key, nt, hex)) < 0)
		goto cleanup;
	for (i = 0; i < jb->n; i++) {
		if (need[i]) {
			rv_layers_list_free(jb->lists[i]);
			jb->lists[i] = NULL;
		}
	}
	jb->only = need;
	jb->next = 0;
	jb->filter_key = key.ptr;
	jb->lopts.db_targets = tg;
	jb->lopts.ndb_targets = nt;
	jb->db_total = 0;
	jb->db_over = 0;
	rc = run_layers(jb, jobs);
	jb->only = NULL;
	jb->filter_key = saved_key;
	jb->lopts = saved;
	jb->cached = cached;
	if (rc < 0)
		goto cleanup;
	for (i = 0; i < jb->n; i++)
		total += rv_layers_list_db_bytes(jb->lists[i]);
	if (jb->db_over || total > jb->db_cap) {
		jb->db_over = 1;
		for (i = 0; i < jb->n && rc >= 0; i++)
			rc = drop_db(jb->lists[i], jb->db_cap);
	}
cleanup:
	rv_sha256_dispose(&h);
	rv_buf_dispose(&key);
	rv_layers_targets_free(tg, nt);
	free(need);
	return rc;
}

/* --- image cache -------------------------------------------------------- */

/* Payload: "manifest-digest D\nconfig-digest D\nplatform P\n"
 * "layers N\ncompressed N\ntar N\nconfig LEN\n"
 * "dbset LEN SHA256HEX\n" (or "dbset - -\n" without packages)
 * <config> <canonical dbset> <canonical manifest> */
static int image_store(rv_cache *cache, const char *key, const rv_image *img, const rv_buf *cfg)
{
	rv_buf p = RV_BUF_INIT(IMAGE_CACHE_MAX), db = RV_BUF_INIT(IMAGE_CACHE_MAX);
	unsigned char d[RV_SHA256_LEN];
	char hex[RV_SHA256_HEX] = "-";
	int rc;

	if (img->dbset) {
		if ((rc = rv_dbset_serialize(&db, img->dbset)) < 0 ||
		    (rc = rv_sha256_buf(d, db.ptr ? db.ptr : "", db.len)) < 0)
			goto cleanup;
		rv_sha256_to_hex(hex, d);
	}
	if ((rc = rv_buf_printf(&p, "manifest-digest %s\nconfig-digest %s\nplatform %s\n"
	    "layers %zu\ncompressed %llu\ntar %llu\nconfig %zu\n",
	    img->manifest_digest, img->config_digest, img->platform, img->info.layers,
	    (unsigned long long)img->info.compressed_bytes,
	    (unsigned long long)img->info.tar_bytes, cfg->len)) < 0 ||
	    (rc = img->dbset ? rv_buf_printf(&p, "dbset %zu %s\n", db.len, hex) :
	     rv_buf_puts(&p, "dbset - -\n")) < 0 ||
	    (rc = rv_buf_add(&p, cfg->ptr, cfg->len)) < 0 ||
	    (rc = rv_buf_add(&p, db.ptr, db.len)) < 0 ||
	    (rc = rv_manifest_serialize(&p, img->manifest)) < 0)
		goto cleanup;
	rc = rv_cache_put(cache, "images", key, p.ptr, p.len);
cleanup:
	rv_buf_dispose(&p);
	rv_buf_dispose(&db);
	return rc;
}

static char *take_line(const char **p, const char *end, const char *name)
{
	size_t nl = strlen(name);
	const char *e = memchr(*p, '\n', (size_t)(end - *p));
	char *v;

	if (!e || (size_t)(e - *p) <= nl + 1 || memcmp(*p, name, nl) || (*p)[nl] != ' ')
		return NULL;
	v = strndup(*p + nl + 1, (size_t)(e - *p - (ptrdiff_t)nl - 1));
	*p = e + 1;
	return v;
}

static int set_labels(rv_image *img)
{
	json_t *labels = json_object_get(json_object_get(img->config, "config"), "Labels");

	img->revision = json_string_value(json_object_get(labels, "org.opencontainers.image.revision"));
	img->source = json_string_value(json_object_get(labels, "org.opencontainers.image.source"));
	img->created = json_string_value(json_object_get(labels, "org.opencontainers.image.created"));
	return RV_OK;
}

/* 1 on a usable hit (img filled), 0 on a miss. */
static int image_load(rv_image *img, rv_cache *cache, const char *key, int want_dbset)
{
	rv_buf p = RV_BUF_INIT(IMAGE_CACHE_MAX);
	const char *s, *end;
	char *v[8] = { NULL };
	static const char *const names[] = { "manifest-digest", "config-digest", "platform",
		"layers", "compressed", "tar", "config", "dbset" };
	unsigned long long num[5];
	unsigned char want[RV_SHA256_LEN], got[RV_SHA256_LEN];
	const char *sp;
	char *e;
	int found = 0, rc, i;

	if ((rc = rv_cache_get(cache, "images", key, &p, &found)) < 0 || !found)
		goto cleanup;
	found = 0;
	s = p.ptr;
	end = p.ptr + p.len;
	for (i = 0; i < 8; i++)
		if (!(v[i] = take_line(&s, end, names[i])))
			goto cleanup;
	for (i = 0; i < 4; i++) {
		if (v[3 + i][0] < '0' || v[3 + i][0] > '9')
			goto cleanup;
		num[i] = strtoull(v[3 + i], &e, 10);
		if (*e)
			goto cleanup;
	}
	/* "dbset LEN HEX" or "dbset - -"; it must be what was asked for */
	num[4] = 0;
	if (!strcmp(v[7], "- -")) {
		if (want_dbset)
			goto cleanup;
	} else {
		if (!want_dbset || v[7][0] < '0' || v[7][0] > '9')
			goto cleanup;
		num[4] = strtoull(v[7], &e, 10);
		sp = e;
		if (*sp != ' ' || strlen(sp + 1) != 64 || rv_sha256_from_hex(want, sp + 1, 64) < 0)
			goto cleanup;
	}
	if (num[3] > (unsigned long long)(end - s) ||
	    num[4] > (unsigned long long)(end - s) - num[3])
		goto cleanup;
	if (!(img->config = json_loadb(s, (size_t)num[3], 0, NULL)))
		goto cleanup;
	s += num[3];
	if (want_dbset) {
		/* checked twice: the digest the entry names, then every
		 * record's own sha256 as rv_dbset_parse reads it */
		if (rv_sha256_buf(got, s, (size_t)num[4]) < 0 || memcmp(got, want, sizeof(got)) ||
		    rv_dbset_parse(&img->dbset, s, (size_t)num[4]) < 0)
			goto bad;
		s += num[4];
	}
	if (rv_manifest_parse(&img->manifest, s, (size_t)(end - s)) < 0)
		goto bad;
	img->manifest_digest = v[0];
	img->config_digest = v[1];
	img->platform = v[2];
	v[0] = v[1] = v[2] = NULL;
	img->info.layers = (size_t)num[0];
	img->info.compressed_bytes = num[1];
	img->info.tar_bytes = num[2];
	img->info.image_cached = 1;
	set_labels(img);
	found = 1;
	goto cleanup;
bad:
	json_decref(img->config);
	img->config = NULL;
	rv_dbset_free(img->dbset);
	img->dbset = NULL;
cleanup:
	for (i = 0; i < 8; i++)
		free(v[i]);
	rv_buf_dispose(&p);
	return rc < 0 ? rc : found;
}

/* --- the top ------------------------------------------------------------ */

void rv_image_free(rv_image *img)
{
	if (!img)
		return;
	free(img->reference);
	free(img->digest);
	free(img->manifest_digest);
	free(img->config_digest);
	free(img->platform);
	json_decref(img->config);
	rv_manifest_free(img->manifest);
	rv_dbset_free(img->dbset);
	free(img);
}

/* Package capture changes the change lists and adds a dbset: a key part
 * of its own, with the caps that shape it. */
static int packages_key(rv_buf *k)
{
	return rv_buf_printf(k, "packages 1 layer-cap %llu image-cap %llu\n",
		(unsigned long long)RV_LAYERS_MAX_DB_LAYER, (unsigned long long)RV_LAYERS_MAX_DB_IMAGE);
}

/*
 * What a layer's change list depends on besides its digest: the paths
 * kept (few, or thousands once hardlink targets are added: so they go in
 * as a count and a sha256, and the key stays small) and package capture.
 */
static int build_filter_key(rv_buf *k, const char *const *paths, size_t npaths,
	int packages)
{
	unsigned char d[RV_SHA256_LEN];
	char hex[RV_SHA256_HEX];
	rv_sha256 h;
	size_t i;
	int rc;

	if (!npaths)
		rc = rv_buf_puts(k, "paths /\n");
	else {
		if ((rc = rv_sha256_init(&h)) < 0)
			return rc;
		for (i = 0; i < npaths && rc >= 0; i++)
			rc = rv_sha256_update(&h, paths[i], strlen(paths[i]) + 1);
		if (rc >= 0)
			rc = rv_sha256_final(&h, d);
		rv_sha256_dispose(&h);
		if (rc < 0)
			return rc;
		rv_sha256_to_hex(hex, d);
		rc = rv_buf_printf(k, "paths %zu sha256 %s\n", npaths, hex);
	}
	if (rc >= 0 && packages)
		rc = packages_key(k);
	return rc;
}

static int config_platform(char **out, json_t *cfg)
{
	const char *os = json_string_value(json_object_get(cfg, "os"));
	const char *arch = json_string_value(json_object_get(cfg, "architecture"));
	const char *var = json_string_value(json_object_get(cfg, "variant"));
	rv_buf b = RV_BUF_INIT(512);
	int rc;

	if ((rc = rv_buf_printf(&b, "%s/%s%s%s", os ? os : "unknown", arch ? arch : "unknown",
	    var ? "/" : "", var ? var : "")) < 0) {
		rv_buf_dispose(&b);
		return rc;
	}
	*out = rv_buf_detach(&b, NULL);
	return *out ? RV_OK : rv_error_set(RV_ENOMEM, "out of memory");
}

/* Keep only the entries of m under the requested roots. */
static int restrict_to(rv_manifest **m, const rv_image_opts *o)
{
	rv_manifest *n = NULL;
	size_t i, j;
	int rc;

	if ((rc = rv_manifest_new(&n)) < 0)
		return rc;
	for (i = 0; i < (*m)->count; i++) {
		const rv_manifest_entry *e = &(*m)->entries[i];
		for (j = 0; j < o->npaths; j++) {
			if (rv_manifest_path_within(e->path, e->path_len, o->paths[j],
					strlen(o->paths[j]))) {
				if ((rc = rv_manifest_add(n, e)) < 0)
					goto fail;
				break;
			}
		}
	}
	if ((rc = rv_manifest_sort(n)) < 0)
		goto fail;
	rv_manifest_free(*m);
	*m = n;
	return RV_OK;
fail:
	rv_manifest_free(n);
	return rc;
}

int rv_image_fetch(rv_image **out, rv_registry *r, const char *refstr,
	const rv_image_opts *opts_in)
{
	rv_image_opts opts;
	rv_registry_ref ref;
	rv_image *img = NULL;
	rv_cache *cache = NULL;
	rv_buf body = RV_BUF_INIT(RV_REGISTRY_MANIFEST_MAX), cfg = RV_BUF_INIT(CONFIG_MAX);
	rv_buf fkey = RV_BUF_INIT(1 << 20), ikey = RV_BUF_INIT(1 << 20);
	char mt[256], digest[RV_REGISTRY_DIGEST_MAX], child[RV_REGISTRY_DIGEST_MAX];
	struct desc config, *layers = NULL;
	size_t nlayers = 0, i;
	uint64_t child_size;
	struct job jb;
	const char **ext = NULL;
	int rc, hit, pass;

	*out = NULL;
	memset(&jb, 0, sizeof(jb));
	memset(&opts, 0, sizeof(opts));
	if (opts_in)
		opts = *opts_in;
	if ((rc = rv_registry_ref_parse(&ref, refstr)) < 0)
		return rc;
	if (!(img = calloc(1, sizeof(*img))) || !(img->reference = strdup(refstr))) {
		rc = rv_error_set(RV_ENOMEM, "out of memory");
		goto cleanup;
	}
	if (opts.platform && (rc = split_platform(opts.platform, mt, digest, child)) < 0)
		goto cleanup;
	if ((rc = build_filter_key(&fkey, opts.paths, opts.npaths, opts.packages)) < 0)
		goto cleanup;
	if (opts.cache_dir && (rc = rv_cache_open(&cache, opts.cache_dir, opts.cache_max_bytes)) < 0)
		goto cleanup;

	/* A digest reference names immutable bytes: the cache may answer. */
	if (ref.digest && cache) {
		if ((rc = rv_buf_printf(&ikey, "image %s\nplatform %s\n%s", ref.digest,
		    opts.platform ? opts.platform : "-", fkey.ptr)) < 0)
			goto cleanup;
		if ((hit = image_load(img, cache, ikey.ptr, opts.packages)) < 0) {
			rc = hit;
			goto cleanup;
		}
		if (hit) {
			if (!(img->digest = strdup(ref.digest)))
				rc = rv_error_set(RV_ENOMEM, "out of memory");
			goto done;
		}
	}

	if ((rc = rv_registry_get_manifest(&body, mt, digest, r, &ref,
	    ref.digest ? ref.digest : ref.tag)) < 0)
		goto cleanup;
	if (!(img->digest = strdup(digest))) {
		rc = rv_error_set(RV_ENOMEM, "out of memory");
		goto cleanup;
	}
	if ((rc = check_media_type(mt, "the manifest")) < 0) {
		rv_error_prefix(rc, "image '%s'", refstr);
		goto cleanup;
	}
	if (!ref.digest && cache) {
		if ((rc = rv_buf_printf(&ikey, "image %s\nplatform %s\n%s", digest,
		    opts.platform ? opts.platform : "-", fkey.ptr)) < 0)
			goto cleanup;
		if ((hit = image_load(img, cache, ikey.ptr, opts.packages)) < 0) {
			rc = hit;
			goto cleanup;
		}
		if (hit)
			goto done;
	}
	if (is_index(mt)) {
		if ((rc = rv_image_pick_platform(child, &child_size, body.ptr, body.len,
		    opts.platform)) < 0) {
			rv_error_prefix(rc, "image '%s'", refstr);
			goto cleanup;
		}
		if ((rc = rv_registry_get_manifest(&body, mt, digest, r, &ref, child)) < 0)
			goto cleanup;
		if (body.len != child_size) {
			rc = rv_error_set(RV_EVERIFY, "image '%s': manifest '%s' is %zu bytes, the index says %llu",
				refstr, child, body.len, (unsigned long long)child_size);
			goto cleanup;
		}
		if (!is_image_manifest(mt)) {
			rc = check_media_type(mt, "the platform's manifest");
			if (rc == 0)
				rc = rv_error_set(RV_EUNSUPPORTED, "the platform's manifest is itself an index");
			rv_error_prefix(rc, "image '%s'", refstr);
			goto cleanup;
		}
	}
	if (!(img->manifest_digest = strdup(digest))) {
		rc = rv_error_set(RV_ENOMEM, "out of memory");
		goto cleanup;
	}
	if ((rc = parse_image_manifest(&config, &layers, &nlayers, body.ptr, body.len,
	    "the manifest")) < 0) {
		rv_error_prefix(rc, "image '%s'", refstr);
		goto cleanup;
	}
	if (!(img->config_digest = strdup(config.digest))) {
		rc = rv_error_set(RV_ENOMEM, "out of memory");
		goto cleanup;
	}
	if ((rc = rv_registry_get_blob(&cfg, r, &ref, config.digest, config.size, CONFIG_MAX)) < 0) {
		rv_error_prefix(rc, "config of '%s'", refstr);
		goto cleanup;
	}
	if (!(img->config = json_loadb(cfg.ptr ? cfg.ptr : "", cfg.len, 0, NULL)) ||
	    !json_is_object(img->config)) {
		rc = rv_error_set(RV_EFORMAT, "config '%s' of '%s' is not a JSON object", config.digest, refstr);
		goto cleanup;
	}
	if ((rc = config_platform(&img->platform, img->config)) < 0)
		goto cleanup;
	if (opts.platform && !is_index(mt)) {
		char os[64], arch[64], var[64];
		const char *cos = json_string_value(json_object_get(img->config, "os"));
		const char *carch = json_string_value(json_object_get(img->config, "architecture"));

		split_platform(opts.platform, os, arch, var);
		if (!cos || !carch || strcmp(cos, os) || strcmp(carch, arch)) {
			rc = rv_error_set(RV_ENOTFOUND, "image '%s' is for '%s', not '%s'",
				refstr, img->platform, opts.platform);
			goto cleanup;
		}
	}
	set_labels(img);

	/* Layers: fetch and reduce concurrently, fold in order. A hardlink
	 * whose target lies outside the requested paths needs a second pass
	 * with the target added. */
	for (pass = 0; pass < 2; pass++) {
		rv_layers_opts lo;

		memset(&lo, 0, sizeof(lo));
		lo.paths = opts.paths;
		lo.npaths = opts.npaths;
		if (ext) {
			lo.paths = ext;
			for (lo.npaths = 0; ext[lo.npaths]; lo.npaths++)
				;
		}
		lo.max_inflated = opts.max_inflated;
		lo.use_zlib = opts.use_zlib;
		lo.packages = opts.packages;
		for (i = 0; jb.lists && i < nlayers; i++)
			rv_layers_list_free(jb.lists[i]);
		free(jb.lists);
		if (jb.filter_key)
			pthread_mutex_destroy(&jb.lock);
		memset(&jb, 0, sizeof(jb));
		jb.r = r;
		jb.ref = &ref;
		jb.cache = cache;
		jb.layers = layers;
		jb.n = nlayers;
		jb.lopts = lo;
		jb.lopts.cancel = &jb.cancel;
		jb.db_cap = RV_LAYERS_MAX_DB_IMAGE;
		rv_buf_reset(&fkey);
		if ((rc = build_filter_key(&fkey, lo.paths, lo.npaths, opts.packages)) < 0)
			goto cleanup;
		jb.filter_key = fkey.ptr;
		pthread_mutex_init(&jb.lock, NULL);
		if (nlayers && !(jb.lists = calloc(nlayers, sizeof(*jb.lists)))) {
			rc = rv_error_set(RV_ENOMEM, "out of memory");
			goto cleanup;
		}
		if (nlayers && (rc = run_layers(&jb, opts.jobs)) < 0)
			goto cleanup;
		rc = rv_layers_fold(&img->manifest, jb.lists, nlayers, &lo);
		if (rc == 0)
			break;
		if (pass == 0 && rc == RV_ENOTFOUND && opts.npaths) {
			char **t = NULL;
			size_t nt = 0, k;

			if (rv_layers_link_targets(&t, &nt, jb.lists, nlayers, &lo) < 0 || !nt) {
				free(t);
				goto cleanup;
			}
			if (!(ext = calloc(opts.npaths + nt + 1, sizeof(*ext)))) {
				for (k = 0; k < nt; k++)
					free(t[k]);
				free(t);
				rc = rv_error_set(RV_ENOMEM, "out of memory");
				goto cleanup;
			}
			for (k = 0; k < opts.npaths; k++)
				ext[k] = opts.paths[k];
			for (k = 0; k < nt; k++)
				ext[opts.npaths + k] = t[k];
			free(t);
			continue;
		}
		goto cleanup;
	}
	if (ext && (rc = restrict_to(&img->manifest, &opts)) < 0)
		goto cleanup;
	if (opts.packages) {
		/* a layer that finished before the total went over the cap
		 * still has its contents */
		for (i = 0; jb.db_over && i < nlayers; i++)
			if ((rc = drop_db(jb.lists[i], jb.db_cap)) < 0)
				goto cleanup;
		/* all dropped already: reading targets would change nothing */
		if (!jb.db_over && (rc = db_link_pass(&jb, opts.jobs)) < 0) {
			rv_error_prefix(rc, "package databases of '%s'", refstr);
			goto cleanup;
		}
		if ((rc = rv_layers_fold_dbset(&img->dbset, jb.lists, nlayers, &jb.lopts)) < 0) {
			rv_error_prefix(rc, "package databases of '%s'", refstr);
			goto cleanup;
		}
	}
	img->info.layers = nlayers;
	img->info.layers_cached = jb.cached;
	for (i = 0; i < nlayers; i++) {
		img->info.compressed_bytes += layers[i].size;
		img->info.tar_bytes += rv_layers_list_tar_bytes(jb.lists[i]);
	}
	if (cache && (rc = image_store(cache, ikey.ptr, img, &cfg)) < 0)
		goto cleanup;
done:
	if (cache) {
		rv_cache_stats st;

		if ((rc = rv_cache_evict(cache)) < 0)
			goto cleanup;
		rv_cache_stats_get(&st, cache);
		img->info.cache_corrupt = st.corrupt;
	}
	*out = img;
	img = NULL;
	rc = RV_OK;
cleanup:
	if (ext) {
		for (i = opts.npaths; ext[i]; i++)
			free((char *)ext[i]);
		free(ext);
	}
	for (i = 0; jb.lists && i < nlayers; i++)
		rv_layers_list_free(jb.lists[i]);
	free(jb.lists);
	if (jb.filter_key)
		pthread_mutex_destroy(&jb.lock);
	free(layers);
	rv_cache_close(cache);
	rv_buf_dispose(&body);
	rv_buf_dispose(&cfg);
	rv_buf_dispose(&fkey);
	rv_buf_dispose(&ikey);
	rv_image_free(img);
	rv_registry_ref_dispose(&ref);
	return rc;
}
