/* verify.c - the CronJob's job: every matching pod, both fingerprints, a verdict */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/dbpath.h"
#include "core/diff.h"
#include "core/frame.h"
#include "core/walk.h"
#include "core/manifest.h"
#include "pipeline/pkgcheck.h"
#include "pipeline/report.h"
#include "pipeline/verify.h"
#include "sources/image.h"
#include "sources/pods.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/sha256.h"
#include "util/banned.h"

#define PROBE_COMMAND "/usr/bin/rv-probe"
#define PROBE_LOG_MAX (16u << 20)   /* limitBytes when reading a probe log */
#define MAX_FINDINGS 200            /* listed per container; the rest counted */
#define MAX_WORKERS 64

/* One image fingerprint, shared by every container that runs it. */
typedef struct img_entry {
	char *key;              /* "registry/repository@sha256:..." */
	int done;
	rv_image *img;          /* NULL on failure */
	char *error;
	json_t *provenance;     /* per image, computed once */
	unsigned char dbs_digest[RV_SHA256_LEN]; /* img->dbset's comparable digest */
	rv_sbom *sbom;          /* its packages, catalogued on first need */
	int sbom_tried;
	struct img_entry *next;
} img_entry;

/* What a tag resolved to, once per run per registry client: every pod of a
 * Deployment names the same tag, and a manifest GET per container is what
 * registries count as a pull. */
typedef struct tag_entry {
	const rv_registry *reg; /* the client (credentials) it was resolved with */
	char *image;            /* the spec image, as written */
	char digest[RV_REGISTRY_DIGEST_MAX];
	struct tag_entry *next;
} tag_entry;

typedef struct run {
	const rv_verify_opts *o;
	rv_kube *k;
	char run_id[16];
	const char *probe_image;
	json_t *pods;           /* input: the pods to verify */
	json_t *results;        /* output: one object per pod, same order */
	size_t next;            /* next pod index to take */
	pthread_mutex_t lock;   /* next, images, registries, git */
	pthread_cond_t cond;
	img_entry *images;
	tag_entry *tags;        /* resolved tags, under lock */
	rv_registry *registry;  /* for pods without pull secrets */
	rv_registry **extra;    /* per-pod clients with pull secrets, freed at the end */
	char **extra_cfg;       /* their docker configs, which they borrow; wiped at the end */
	size_t nextra, capextra;
	pthread_mutex_t git_lock;
} run;

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static const char *meta(json_t *o, const char *k)
{
	return str(json_object_get(o, "metadata"), k);
}

/* --- image side ------------------------------------------------------------ */

/* The repository and digest a container runs, from status.imageID
 * ("docker-pullable://repo@sha256:..." or "repo@sha256:..."). */
static int image_of(char **out, const char *image_id)
{
	const char *p = image_id, *at;

	*out = NULL;
	if (!p || !*p)
		return rv_error_set(RV_EINVAL, "the container status has no imageID");
	if (!strncmp(p, "docker-pullable://", 18))
		p += 18;
	at = strrchr(p, '@');
	if (!at || at == p)
		return rv_error_set(RV_EINVAL,
			"imageID '%.200s' names no repository and digest, so the image cannot be fetched by digest",
			image_id);
	if (rv_registry_digest_check(at + 1, strlen(at + 1)) < 0)
		return rv_error_prefix(RV_EINVAL, "imageID '%.200s'", image_id);
	*out = strdup(p);
	return *out ? RV_OK : rv_error_set(RV_ENOMEM, "out of memory");
}

/* Get (fetch once per run) the fingerprint of ref through reg. Returns the
 * entry (borrowed, valid for the run); its img is NULL on failure. */
static img_entry *image_get(run *r, rv_registry *reg, const char *ref)
{
	img_entry *e;
	rv_image_opts io;
	rv_image *img = NULL;
	int rc;

	pthread_mutex_lock(&r->lock);
	for (e = r->images; e; e = e->next)
		if (!strcmp(e->key, ref))
			break;
	if (e) {
		while (!e->done)
			pthread_cond_wait(&r->cond, &r->lock);
		pthread_mutex_unlock(&r->lock);
		return e;
	}
	e = calloc(1, sizeof(*e));
	if (!e || !(e->key = strdup(ref))) {
		free(e);
		pthread_mutex_unlock(&r->lock);
		return NULL;
	}
	e->next = r->images;
	r->images = e;
	pthread_mutex_unlock(&r->lock);

	memset(&io, 0, sizeof(io));
	io.paths = (const char *const *)r->o->cfg->paths;
	io.npaths = r->o->cfg->npaths;
	io.cache_dir = r->o->cache_dir;
	io.packages = r->o->cfg->packages;
	rc = rv_image_fetch(&img, reg, ref, &io);
	/* the probe's cap on all package databases, applied the same way, so
	 * that an image over it still gives the probe's set; its digest once
	 * for every container of the image */
	if (rc == RV_OK && img->dbset && ((rc = rv_dbpath_cap_total(img->dbset,
			RV_WALK_DBS_MAX_BYTES)) < 0 ||
	    (rc = rv_dbset_digest_comparable(e->dbs_digest, img->dbset)) < 0)) {
		rv_image_free(img);
		img = NULL;
	}
	if (rc < 0)
		e->error = strdup(rv_error_last());
	if (img && r->o->nrepos) {
		rv_git_result *g = NULL;

		pthread_mutex_lock(&r->git_lock);
		if (rv_git_describe_image(&g, r->o->repos, r->o->nrepos, img->revision,
				img->source, r->o->git) == RV_OK)
			e->provenance = rv_report_provenance(g);
		rv_git_result_free(g);
		pthread_mutex_unlock(&r->git_lock);
	}
	pthread_mutex_lock(&r->lock);
	e->img = img;
	e->done = 1;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	return e;
}

/* The registry client for a pod: with its imagePullSecrets, or the shared
 * one. A new client is kept until the end of the run. */
static int registry_for(rv_registry **out, run *r, json_t *pod, json_t *why)
{
	json_t *secrets = json_object_get(json_object_get(pod, "spec"), "imagePullSecrets");
	rv_buf merged = RV_BUF_INIT(32u << 20);
	rv_registry_opts ro;
	rv_registry *reg = NULL;
	json_t *s, *all = NULL;
	size_t i;
	int rc = RV_OK;

	*out = r->registry;
	if (!json_array_size(secrets))
		return RV_OK;
	/* merge the auths of every pull secret into one config, first wins */
	all = json_object();
	json_array_foreach(secrets, i, s) {
		const char *name = str(s, "name");
		char *text = NULL;
		size_t len = 0;
		json_t *cfg, *auths;

		if (!name)
			continue;
		if (rv_pods_pull_secret(&text, &len, r->k, meta(pod, "namespace"), name) < 0) {
			/* the kubelet goes on without a missing secret; so do we, and say so */
			json_array_append_new(why, json_string(rv_error_last()));
			continue;
		}
		cfg = json_loadb(text, len, 0, NULL);
		explicit_bzero(text, len);
		free(text);
		auths = json_object_get(cfg, "auths");
		if (!auths && json_is_object(cfg))
			auths = cfg; /* legacy .dockercfg */
		if (json_is_object(auths))
			json_object_update_missing(all, auths);
		json_decref(cfg);
	}
	if (json_object_size(all) == 0)
		goto cleanup;
	{
		json_t *wrap = json_pack("{s:O}", "auths", all);
		char *text = wrap ? json_dumps(wrap, JSON_COMPACT) : NULL;

		json_decref(wrap);
		if (!text) {
			rc = rv_error_set(RV_ENOMEM, "out of memory");
			goto cleanup;
		}
		rc = rv_buf_puts(&merged, text);
		explicit_bzero(text, strlen(text));
		free(text);
		if (rc < 0)
			goto cleanup;
	}
	/* the client borrows the config text: it lives as long as the client */
	pthread_mutex_lock(&r->lock);
	if (r->nextra == r->capextra) {
		size_t cap = r->capextra ? r->capextra * 2 : 8;
		rv_registry **v = realloc(r->extra, cap * sizeof(*v));
		char **c = v ? realloc(r->extra_cfg, cap * sizeof(*c)) : NULL;

		if (v)
			r->extra = v;
		if (c)
			r->extra_cfg = c;
		if (!v || !c) {
			pthread_mutex_unlock(&r->lock);
			rc = rv_error_set(RV_ENOMEM, "out of memory");
			goto cleanup;
		}
		r->capextra = cap;
	}
	pthread_mutex_unlock(&r->lock);
	ro = r->o->registry;
	ro.docker_config_json = merged.ptr;
	if ((rc = rv_registry_new(&reg, &ro)) < 0)
		goto cleanup;
	pthread_mutex_lock(&r->lock);
	r->extra_cfg[r->nextra] = rv_buf_detach(&merged, NULL);
	r->extra[r->nextra++] = reg;
	pthread_mutex_unlock(&r->lock);
	*out = reg;
cleanup:
	json_decref(all);
	if (merged.ptr)
		explicit_bzero(merged.ptr, merged.cap);
	rv_buf_dispose(&merged);
	return rc;
}

/* --- the probe ---------------------------------------------------------------- */

/* A numeric id from an image config's User ("1000", "1000:1000"); -1 when
 * absent or a name (which only the image's /etc/passwd could resolve). */
static long image_id_part(const rv_image *img, int group)
{
	const char *u = str(json_object_get(img ? img->config : NULL, "config"), "User");
	const char *p;
	char *end;
	long v;

	if (!u || !*u)
		return group ? -1 : 0; /* no USER: root */
	p = u;
	if (group) {
		p = strchr(u, ':');
		if (!p)
			return -1;
		p++;
	}
	errno = 0;
	v = strtol(p, &end, 10);
	if (errno || end == p || (*end != '\0' && *end != ':') || v < 0)
		return -1;
	return v;
}

static json_t *sc_get(json_t *c, json_t *psc, const char *key)
{
	json_t *v = json_object_get(json_object_get(c, "securityContext"), key);

	return v ? v : json_object_get(psc, key);
}

/*
 * The ephemeral container for one target. With the "mirror" profile it runs
 * as the target's uid and gid with the target's capabilities (the kernel
 * lets a process read /proc/PID/root of a same-uid, same-gid, dumpable
 * target whose permitted capabilities are a subset of its own), and adds
 * only restrictions, so it passes the namespace's Pod Security level
 * whenever the target does. "sysadmin" is root with SYS_PTRACE.
 */
static json_t *probe_spec(run *r, const char *name, json_t *pod, json_t *c,
	const rv_image *img, json_t *why)
{
	const rv_config *cfg = r->o->cfg;
	json_t *psc = json_object_get(json_object_get(pod, "spec"), "securityContext");
	json_t *spec = NULL, *args = NULL, *sc = NULL, *caps, *v;
	int sysadmin = cfg->probe_profile && !strcmp(cfg->probe_profile, "sysadmin");
	long uid, gid;
	size_t i;

	v = sc_get(c, psc, "runAsUser");
	uid = json_is_integer(v) ? (long)json_integer_value(v) : image_id_part(img, 0);
	v = sc_get(c, psc, "runAsGroup");
	gid = json_is_integer(v) ? (long)json_integer_value(v) : image_id_part(img, 1);
	if (!sysadmin && uid < 0) {
		json_array_append_new(why, json_string(
			"the target's user is a name in the image; set runAsUser so the probe can mirror it"));
		return NULL;
	}
	if (gid < 0)
		gid = uid == 0 ? 0 : uid; /* a guess; a mismatch shows as EACCES */
	args = json_pack("[s,s]", "--root", "/proc/1/root");
	for (i = 0; args && i < cfg->npaths; i++)
		json_array_append_new(args, json_string("--path")),
		json_array_append_new(args, json_string(cfg->paths[i]));
	for (i = 0; args && i < cfg->nexcludes; i++)
		json_array_append_new(args, json_string("--exclude")),
		json_array_append_new(args, json_string(cfg->excludes[i]));
	if (args && cfg->packages)
		json_array_append_new(args, json_string("--packages"));
	if (args) {
		json_array_append_new(args, json_string("--termination-log"));
		json_array_append_new(args, json_string("/dev/termination-log"));
	}
	if (sysadmin) {
		sc = json_pack("{s:i, s:b, s:{s:[s]}}", "runAsUser", 0,
			"allowPrivilegeEscalation", 0, "capabilities", "add", "SYS_PTRACE");
	} else {
		sc = json_pack("{s:I, s:I, s:b, s:b, s:b, s:b, s:{s:s}}",
			"runAsUser", (json_int_t)uid, "runAsGroup", (json_int_t)gid,
			"runAsNonRoot", uid != 0, "allowPrivilegeEscalation", 0,
			"readOnlyRootFilesystem", 1, "privileged", 0,
			"seccompProfile", "type", "RuntimeDefault");
		caps = json_object_get(json_object_get(c, "securityContext"), "capabilities");
		if (sc && json_is_object(caps)) {
			json_t *m = json_object();

			if (json_is_array(json_object_get(caps, "add")))
				json_object_set(m, "add", json_object_get(caps, "add"));
			if (json_is_array(json_object_get(caps, "drop")))
				json_object_set(m, "drop", json_object_get(caps, "drop"));
			json_object_set_new(sc, "capabilities", m);
		}
	}
	spec = json_pack("{s:s, s:s, s:[s], s:o, s:s, s:s, s:s, s:s, s:o}",
		"name", name, "image", r->probe_image, "command", PROBE_COMMAND,
		"args", args, "targetContainerName", str(c, "name"),
		"imagePullPolicy", "IfNotPresent",
		"terminationMessagePath", "/dev/termination-log",
		"terminationMessagePolicy", "File", "securityContext", sc);
	if (!spec)
		json_array_append_new(why, json_string("out of memory"));
	return spec;
}

/* Verifier containers a pod carries already, and whether one of them was
 * refused or never started. */
static size_t probes_in(json_t *pod)
{
	json_t *list = json_object_get(json_object_get(pod, "spec"), "ephemeralContainers");
	json_t *e;
	size_t i, n = 0;

	json_array_foreach(list, i, e) {
		const char *nm = str(e, "name");

		if (nm && !strncmp(nm, RV_PROBE_PREFIX, strlen(RV_PROBE_PREFIX)))
			n++;
	}
	return n;
}

/* --- one container ------------------------------------------------------------- */

typedef struct cresult {
	json_t *obj;          /* the container's report object */
	const char *verdict;  /* static */
	char group[65];       /* drift group id, "" when not drifted */
} cresult;

static void set_verdict(cresult *cr, const char *verdict, const char *reason)
{
	cr->verdict = verdict;
	json_object_set_new(cr->obj, "verdict", json_string(verdict));
	if (reason)
		json_object_set_new(cr->obj, "reason", json_string(reason));
}

static void add_claim(json_t *claims, const char *kind, const char *severity,
	const char *message)
{
	json_array_append_new(claims, json_pack("{s:s, s:s, s:s}", "kind", kind,
		"severity", severity, "message", message));
}

/* rv_registry_resolve_tag, once per run per (client, spec image): every
 * pod of a Deployment names the same tag. Only answers are kept (a failure
 * is tried again by the next container); two workers may resolve the same
 * tag at once, which costs one more request, not a wrong answer. */
static int resolve_tag_once(run *r, char digest[RV_REGISTRY_DIGEST_MAX], rv_registry *reg,
	const rv_registry_ref *spec, const char *spec_image)
{
	tag_entry *t;
	int rc;

	pthread_mutex_lock(&r->lock);
	for (t = r->tags; t; t = t->next)
		if (t->reg == reg && !strcmp(t->image, spec_image))
			break;
	if (t)
		snprintf(digest, RV_REGISTRY_DIGEST_MAX, "%s", t->digest);
	pthread_mutex_unlock(&r->lock);
	if (t)
		return RV_OK;
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
		pthread_mutex_lock(&r->lock);
		t->next = r->tags;
		r->tags = t;
		pthread_mutex_unlock(&r->lock);
	}
	return rc;
}

/* Spec image vs status.imageID vs what the tag resolves to now. */
static void check_claims(run *r, rv_registry *reg, json_t *claims,
	const char *spec_image, const char *running)
{
	rv_registry_ref spec;
	const char *run_digest = strrchr(running, '@') + 1;
	char digest[RV_REGISTRY_DIGEST_MAX], msg[1024];

	memset(&spec, 0, sizeof(spec));
	if (!spec_image || rv_registry_ref_parse(&spec, spec_image) < 0) {
		snprintf(msg, sizeof(msg), "spec image '%.300s' cannot be parsed: %.300s",
			spec_image ? spec_image : "", rv_error_last());
		add_claim(claims, "unparsable-image", "medium", msg);
		return;
	}
	if (spec.digest) {
		if (strcmp(spec.digest, run_digest)) {
			snprintf(msg, sizeof(msg),
				"the spec pins %.80s but the container runs %.80s", spec.digest, run_digest);
			add_claim(claims, "digest-mismatch", "high", msg);
		}
		goto cleanup;
	}
	snprintf(msg, sizeof(msg), "the spec names the mutable tag '%.300s', not a digest", spec_image);
	add_claim(claims, "mutable-tag", "low", msg);
	if (resolve_tag_once(r, digest, reg, &spec, spec_image) < 0) {
		snprintf(msg, sizeof(msg), "cannot resolve the tag '%.300s': %.400s", spec_image,
			rv_error_last());
		add_claim(claims, "tag-unresolved", "low", msg);
	} else if (strcmp(digest, run_digest)) {
		snprintf(msg, sizeof(msg), "the tag '%.300s' now points to %.80s; the container runs %.80s",
			spec_image, digest, run_digest);
		add_claim(claims, "tag-moved", "medium", msg);
	}
cleanup:
	rv_registry_ref_dispose(&spec);
}

static void hex(char out[RV_SHA256_HEX], const unsigned char d[RV_SHA256_LEN])
{
	rv_sha256_to_hex(out, d);
}

/* Findings from a diff, and the drift group: a hash of image digest and
 * every listed change, so identical drift in other pods groups together. */
/* The findings, counts and drift group of a container: the file changes
 * (d, or NULL when the manifests were equal) first, then the package ones
 * (pc, or NULL when packages are not checked). */
static void add_findings(cresult *cr, const rv_diff *d, const rv_pkgcheck *pc,
	const char *image_digest)
{
	json_t *list = json_array();
	rv_buf det = RV_BUF_INIT(4096), path = RV_BUF_INIT(1 << 16);
	unsigned char g[RV_SHA256_LEN];
	rv_sha256 h;
	size_t i, nd = d ? d->count : 0, np = pc ? json_array_size(pc->findings) : 0;
	size_t sev[RV_SEV_COUNT] = { 0 };
	int hash_ok = rv_sha256_init(&h) == RV_OK;
	static const char *const sev_names[] = { "info", "low", "medium", "high" };

	if (hash_ok)
		rv_sha256_update(&h, image_digest, strlen(image_digest) + 1);
	for (i = 0; i < nd; i++) {
		const rv_diff_change *c = &d->changes[i];
		const rv_manifest_entry *e = rv_diff_entry(c);
		char line[64];

		rv_buf_reset(&path);
		rv_buf_reset(&det);
		rv_manifest_escape(&path, e->path, e->path_len);
		rv_diff_describe(&det, c);
		if (hash_ok) {
			int n = snprintf(line, sizeof(line), "%u|", c->what);

			rv_sha256_update(&h, line, (size_t)n);
			rv_sha256_update(&h, path.ptr ? path.ptr : "", path.len + 1);
			if (c->b && c->b->has_digest)
				rv_sha256_update(&h, c->b->digest, RV_SHA256_LEN);
			n = snprintf(line, sizeof(line), "%o|%u|%u|%d\n", c->b ? c->b->mode : 0,
				c->b ? c->b->uid : 0, c->b ? c->b->gid : 0, c->b ? (int)c->b->type : -1);
			rv_sha256_update(&h, line, (size_t)n);
		}
		if (i < MAX_FINDINGS)
			json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:b}",
				"kind", rv_diff_kind_name(c), "path", path.ptr ? path.ptr : "",
				"severity", sev_names[c->severity & 3],
				"details", det.ptr ? det.ptr : "", "executable", c->executable,
				"elf", c->elf, "setidGained", c->setid_gained));
	}
	for (i = 0; i < np; i++)
		if (nd + i < MAX_FINDINGS)
			json_array_append(list, json_array_get(pc->findings, i));
	if (pc && hash_ok && pc->changes_text.len) {
		rv_sha256_update(&h, "packages\n", 9);
		rv_sha256_update(&h, pc->changes_text.ptr, pc->changes_text.len);
	}
	for (i = 0; i < RV_SEV_COUNT; i++)
		sev[i] = (d ? d->by_severity[i] : 0) + (pc ? pc->by_severity[i] : 0);
	json_object_set_new(cr->obj, "findings", list);
	if (nd + np > MAX_FINDINGS)
		json_object_set_new(cr->obj, "findingsTruncated",
			json_integer((json_int_t)(nd + np - MAX_FINDINGS)));
	json_object_set_new(cr->obj, "counts", json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		"findings", (json_int_t)(nd + np), "high", (json_int_t)sev[RV_SEV_HIGH],
		"medium", (json_int_t)sev[RV_SEV_MEDIUM],
		"low", (json_int_t)sev[RV_SEV_LOW],
		"info", (json_int_t)sev[RV_SEV_INFO],
		"allowed", (json_int_t)(d ? d->allowed : 0),
		"masked", (json_int_t)((d ? d->masked : 0) + (pc ? pc->masked : 0)),
		"unknown", (json_int_t)(d ? d->unknown : 0)));
	if (pc)
		json_object_set(cr->obj, "packages", pc->summary);
	if (hash_ok && rv_sha256_final(&h, g) == RV_OK)
		hex(cr->group, g);
	rv_buf_dispose(&det);
	rv_buf_dispose(&path);
}

/* The image's package catalogue, made once per run on first need (only
 * when some container's databases differ from the image's). */
static const rv_sbom *image_sbom(run *r, img_entry *e)
{
	const rv_sbom *s;

	pthread_mutex_lock(&r->lock);
	if (!e->sbom_tried) {
		e->sbom_tried = 1;
		if (rv_pkgcheck_catalogue(&e->sbom, e->img->dbset) < 0)
			e->sbom = NULL;
	}
	s = e->sbom;
	pthread_mutex_unlock(&r->lock);
	return s;
}

static void why_reason(char *buf, size_t size, const char *prefix, json_t *why)
{
	const char *w = json_string_value(json_array_get(why, json_array_size(why) - 1));

	snprintf(buf, size, "%s%s", prefix, w ? w : rv_error_last());
}

static void verify_container(run *r, cresult *cr, json_t *pod, json_t *c,
	size_t index, rv_registry *reg, json_t *pod_notes)
{
	const char *ns = meta(pod, "namespace"), *pname = meta(pod, "name");
	const char *cname = str(c, "name"), *image = str(c, "image");
	json_t *st = rv_pods_container_status(pod, cname, 0), *claims = json_array();
	json_t *latest = NULL, *patched = NULL, *spec = NULL, *why = json_array(), *pst, *state, *term;
	char *ref = NULL, probe_name[64], reason[2048], roothex[RV_SHA256_HEX];
	unsigned char img_root[RV_SHA256_LEN], log_root[RV_SHA256_LEN];
	unsigned char log_dbs[RV_SHA256_LEN];
	rv_manifest *rt = NULL;
	rv_diff *d = NULL;
	rv_dbset *rt_dbs = NULL;
	rv_pkgcheck *pc = NULL;
	const char *pkg_reason = NULL;
	int files_equal, pkgs_equal = 0, file_drift, file_open, pkg_drift, pkg_open;
	rv_buf log = RV_BUF_INIT(PROBE_LOG_MAX + 1);
	const char **allow = NULL;
	size_t nallow = 0;
	const char *msg;
	rv_summary sum;
	img_entry *e;
	long t0 = rv_clock_ms(), t1;
	char wl[256];
	int rc;

	cr->obj = json_pack("{s:s*, s:s*, s:o, s:{}}", "name", cname, "image", image,
		"claims", claims, "timings");
	cr->verdict = "unverifiable";
	cr->group[0] = '\0';
	if (!st || !json_object_get(json_object_get(st, "state"), "running")) {
		set_verdict(cr, "unverifiable", "the container is not running");
		goto cleanup;
	}
	json_object_set(cr->obj, "containerID", json_object_get(st, "containerID"));
	json_object_set(cr->obj, "imageID", json_object_get(st, "imageID"));
	if (image_of(&ref, str(st, "imageID")) < 0) {
		set_verdict(cr, "unverifiable", rv_error_last());
		goto cleanup;
	}
	json_object_set_new(cr->obj, "imageDigest", json_string(strrchr(ref, '@') + 1));
	check_claims(r, reg, claims, image, ref);

	/* (b) the image side, once per run per image */
	e = image_get(r, reg, ref);
	t1 = rv_clock_ms();
	json_object_set_new(json_object_get(cr->obj, "timings"), "imageMs", json_integer(t1 - t0));
	if (!e || !e->img) {
		snprintf(reason, sizeof(reason), "cannot fingerprint the image '%.300s': %.1200s",
			ref, e && e->error ? e->error : "out of memory");
		set_verdict(cr, "unverifiable", reason);
		goto cleanup;
	}
	if (e->provenance) {
		pthread_mutex_lock(&r->lock);
		json_object_set_new(cr->obj, "provenance", json_deep_copy(e->provenance));
		pthread_mutex_unlock(&r->lock);
	}
	if (e->img->revision)
		json_object_set_new(cr->obj, "revision", json_string(e->img->revision));
	if (rv_manifest_root_hash(img_root, e->img->manifest) < 0) {
		set_verdict(cr, "unverifiable", rv_error_last());
		goto cleanup;
	}
	hex(roothex, img_root);
	json_object_set_new(cr->obj, "imageRoot", json_string(roothex));

	/* (c) the runtime side */
	if (probes_in(pod) + index >= (size_t)r->o->cfg->max_ephemeral) {
		snprintf(reason, sizeof(reason),
			"the pod carries %zu verifier containers (cap %d): it needs a restart to be verifiable again",
			probes_in(pod), r->o->cfg->max_ephemeral);
		set_verdict(cr, "unverifiable", reason);
		goto cleanup;
	}
	msg = str(json_object_get(json_object_get(pod, "metadata"), "annotations"), RV_ANN_REJECTED);
	if (msg) {
		snprintf(reason, sizeof(reason),
			"an earlier verifier container was refused (%.1500s); not retried until the pod's '%s' annotation is removed",
			msg, RV_ANN_REJECTED);
		set_verdict(cr, "unverifiable", reason);
		goto cleanup;
	}
	snprintf(probe_name, sizeof(probe_name), RV_PROBE_PREFIX "%s-%zu", r->run_id, index);
	spec = probe_spec(r, probe_name, pod, c, e->img, why);
	if (!spec) {
		why_reason(reason, sizeof(reason), "cannot build the probe container: ", why);
		set_verdict(cr, "unverifiable", reason);
		goto cleanup;
	}
	json_object_set_new(cr->obj, "probe", json_pack("{s:s}", "container", probe_name));
	rc = rv_pods_add_ephemeral(&patched, r->k, ns, pname, spec);
	if (rc < 0) {
		snprintf(reason, sizeof(reason), "the API server refused the probe container: %.1800s",
			rv_error_last());
		if (rc == RV_EAUTH && strstr(rv_error_last(), "PodSecurity"))
			json_object_set_new(pod_notes, RV_ANN_REJECTED, json_string(rv_error_last()));
		set_verdict(cr, "unverifiable", reason);
		goto cleanup;
	}
	rc = rv_pods_wait_ephemeral(&latest, r->k, ns, pname, probe_name, r->o->cfg->probe_timeout_ms,
		patched);
	json_object_set_new(json_object_get(cr->obj, "timings"), "probeMs",
		json_integer(rv_clock_ms() - t1));
	if (rc < 0) {
		snprintf(reason, sizeof(reason), "the probe did not finish: %.1800s", rv_error_last());
		set_verdict(cr, "unverifiable", reason);
		goto cleanup;
	}
	pst = rv_pods_container_status(latest, probe_name, 1);
	state = json_object_get(pst, "state");
	term = json_object_get(state, "terminated");
	if (!term) {
		json_t *w = json_object_get(state, "waiting");

		snprintf(reason, sizeof(reason), "the probe container could not start: %.200s: %.1500s",
			str(w, "reason") ? str(w, "reason") : "waiting",
			str(w, "message") ? str(w, "message") : "");
		set_verdict(cr, "unverifiable", reason);
		goto cleanup;
	}
	msg = str(term, "message") ? str(term, "message") : "";
	json_object_update(json_object_get(cr->obj, "probe"), json_pack("{s:O, s:s*}",
		"exitCode", json_object_get(term, "exitCode"), "reason", str(term, "reason")));
	if (rv_summary_parse(&sum, msg, strlen(msg)) < 0) {
		snprintf(reason, sizeof(reason), "the probe reported no result (exit code %lld): %.1500s",
			(long long)json_integer_value(json_object_get(term, "exitCode")), rv_error_last());
		set_verdict(cr, "unverifiable", reason);
		goto cleanup;
	}
	hex(roothex, sum.root);
	json_object_set_new(cr->obj, "runtimeRoot", json_string(roothex));
	json_object_update(json_object_get(cr->obj, "probe"), json_pack("{s:I, s:I, s:b}",
		"entries", (json_int_t)sum.stats.entries, "errors", (json_int_t)sum.stats.errors,
		"complete", sum.complete));
	files_equal = sum.complete && !memcmp(sum.root, img_root, RV_SHA256_LEN);

	/* (d) the package databases: equal comparable digests mean the same
	 * bytes on both sides; otherwise the probe's set comes from its log */
	if (r->o->cfg->packages) {
		if (!sum.has_dbset || !e->img->dbset) {
			pkg_reason = !sum.has_dbset ?
				"the probe reported no package databases (an rv-probe without --packages?)" :
				"the image side collected no package databases";
		} else {
			pkgs_equal = !memcmp(e->dbs_digest, sum.dbset, RV_SHA256_LEN);
		}
	}
	if (!files_equal || (r->o->cfg->packages && !pkg_reason && !pkgs_equal)) {
		if ((rc = rv_pods_log(&log, r->k, ns, pname, probe_name, PROBE_LOG_MAX)) < 0) {
			snprintf(reason, sizeof(reason), "the probe's log could not be read: %.1800s",
				rv_error_last());
			set_verdict(cr, "unverifiable", reason);
			goto cleanup;
		}
	}
	if (!files_equal) {
		if ((rc = rv_frame_decode(&rt, log_root, log.ptr ? log.ptr : "", log.len, 0)) < 0) {
			snprintf(reason, sizeof(reason), "the probe's output failed its checks: %.1800s",
				rv_error_last());
			set_verdict(cr, "unverifiable", reason);
			goto cleanup;
		}
		if (memcmp(log_root, sum.root, RV_SHA256_LEN)) {
			set_verdict(cr, "unverifiable",
				"the probe's log does not match its termination message (forged or mixed output)");
			goto cleanup;
		}
		if (rv_config_allow_for(&allow, &nallow, r->o->cfg, ns,
				rv_pods_workload(pod, wl, sizeof(wl))) < 0 ||
		    rv_diff_compute(&d, e->img->manifest, rt, allow, nallow) < 0) {
			set_verdict(cr, "unverifiable", rv_error_last());
			goto cleanup;
		}
	}
	if (r->o->cfg->packages && !pkg_reason) {
		const rv_sbom *icat = NULL;

		if (!pkgs_equal) {
			if (rv_frame_decode_dbset(&rt_dbs, NULL, log.ptr ? log.ptr : "", log.len, 0) < 0) {
				snprintf(reason, sizeof(reason),
					"the probe's package databases failed their checks: %.1800s",
					rv_error_last());
				set_verdict(cr, "unverifiable", reason);
				goto cleanup;
			}
			if (rv_dbset_digest_comparable(log_dbs, rt_dbs) < 0 ||
			    memcmp(log_dbs, sum.dbset, RV_SHA256_LEN)) {
				set_verdict(cr, "unverifiable",
					"the probe's package databases in its log do not match its termination message (forged or mixed output)");
				goto cleanup;
			}
			icat = image_sbom(r, e);
		}
		if (rv_pkgcheck_run(&pc, e->img->dbset, e->dbs_digest, icat, rt_dbs,
				sum.dbset) < 0) {
			snprintf(reason, sizeof(reason), "cannot compare the package databases: %.1800s",
				rv_error_last());
			set_verdict(cr, "unverifiable", reason);
			goto cleanup;
		}
	}
	add_findings(cr, d, pc, strrchr(ref, '@') + 1);
	if (pkg_reason)
		json_object_set_new(cr->obj, "packages", json_pack("{s:s}", "notChecked", pkg_reason));
	file_drift = d && d->count > d->errors_a + d->errors_b;
	file_open = !sum.complete || (d && (d->errors_a + d->errors_b || d->unknown));
	pkg_drift = pc && pc->added + pc->removed + pc->changed + pc->db_changed > 0;
	pkg_open = r->o->cfg->packages && (!pc || !rv_pkgcheck_complete(pc));
	if (file_drift || pkg_drift) {
		set_verdict(cr, "drift", NULL);
		if (file_open || pkg_open)
			json_object_set_new(cr->obj, "incomplete", json_true());
	} else if (file_open || pkg_open) {
		snprintf(reason, sizeof(reason), "%s%s%s",
			file_open ? "some entries could not be read; see the findings" : "",
			file_open && pkg_open ? "; " : "",
			!pkg_open ? "" : pkg_reason ? pkg_reason :
			"some package databases could not be read; see the findings");
		set_verdict(cr, "incomplete", reason);
		cr->group[0] = '\0';
	} else {
		set_verdict(cr, "clean", NULL);
		cr->group[0] = '\0';
	}
	if (!strcmp(cr->verdict, "drift"))
		json_object_set_new(cr->obj, "driftGroup", json_stringn(cr->group, 16));
cleanup:
	if (strcmp(cr->verdict, "drift"))
		cr->group[0] = '\0';
	json_object_set_new(json_object_get(cr->obj, "timings"), "totalMs",
		json_integer(rv_clock_ms() - t0));
	free(allow);
	rv_diff_free(d);
	rv_manifest_free(rt);
	rv_pkgcheck_free(pc);
	rv_dbset_free(rt_dbs);
	rv_buf_dispose(&log);
	json_decref(latest);
	json_decref(patched);
	json_decref(spec);
	json_decref(why);
	free(ref);
}

/* --- one pod --------------------------------------------------------------------- */

/* 1 when the pod was verified clean within minInterval with the same
 * containers, so it need not be probed again. */
static int recently_clean(run *r, json_t *pod, char when[RV_TIME_ISO_LEN])
{
	const char *ann = str(json_object_get(json_object_get(pod, "metadata"), "annotations"),
		RV_ANN_VERIFIED);
	json_t *v, *ids, *c;
	json_int_t at;
	size_t i;
	int same = 1;

	if (r->o->cfg->min_interval_ms <= 0 || !ann)
		return 0;
	v = json_loads(ann, 0, NULL);
	at = json_integer_value(json_object_get(v, "at"));
	ids = json_object_get(v, "containers");
	if (!json_is_object(ids) || at <= 0 ||
	    (time(NULL) - at) * 1000 >= r->o->cfg->min_interval_ms)
		same = 0;
	json_array_foreach(json_object_get(json_object_get(pod, "spec"), "containers"), i, c) {
		json_t *st = rv_pods_container_status(pod, str(c, "name"), 0);
		const char *want = str(ids, str(c, "name") ? str(c, "name") : "");

		if (!st || !want || !str(st, "containerID") || strcmp(want, str(st, "containerID")))
			same = 0;
	}
	if (same)
		rv_clock_iso(when, (int64_t)at);
	json_decref(v);
	return same;
}

static void post_events(run *r, json_t *pod, json_t *containers)
{
	json_t *c;
	size_t i;

	json_array_foreach(containers, i, c) {
		const char *v = str(c, "verdict");
		json_t *counts = json_object_get(c, "counts");
		char msg[1024];

		if (!v || !strcmp(v, "clean") || !strcmp(v, "skipped"))
			continue;
		if (!strcmp(v, "drift"))
			snprintf(msg, sizeof(msg),
				"container %.100s drifted from image %.80s: %lld findings (%lld high), run %s",
				str(c, "name"), str(c, "imageDigest") ? str(c, "imageDigest") : "?",
				(long long)json_integer_value(json_object_get(counts, "findings")),
				(long long)json_integer_value(json_object_get(counts, "high")), r->run_id);
		else
			snprintf(msg, sizeof(msg), "container %.100s is %s: %.700s (run %s)",
				str(c, "name"), v, str(c, "reason") ? str(c, "reason") : "", r->run_id);
		if (rv_pods_event(r->k, pod, "Warning",
				strcmp(v, "drift") ? "VerificationFailed" : "DriftDetected", msg) < 0)
			json_object_set_new(c, "eventError", json_string(rv_error_last()));
	}
}

static json_t *verify_pod(run *r, json_t *pod)
{
	json_t *spec_containers = json_object_get(json_object_get(pod, "spec"), "containers");
	json_t *obj, *containers = json_array(), *notes = json_array(), *ann = json_object();
	json_t *c, *ids = json_object();
	rv_registry *reg = NULL;
	char wl[256], when[RV_TIME_ISO_LEN];
	int all_clean = 1;
	size_t i;

	obj = json_pack("{s:s*, s:s*, s:s*, s:s*, s:s*, s:o}", "namespace", meta(pod, "namespace"),
		"name", meta(pod, "name"), "uid", meta(pod, "uid"),
		"node", str(json_object_get(pod, "spec"), "nodeName"),
		"workload", rv_pods_workload(pod, wl, sizeof(wl)), "containers", containers);
	if (obj) {   /* kind and name: what the quarantine counts by */
		const char *wkind = NULL, *wname = rv_pods_workload_ref(&wkind, pod, wl, sizeof(wl));

		if (wname)
			json_object_set_new(obj, "workloadRef",
				json_pack("{s:s, s:s}", "kind", wkind, "name", wname));
	}
	if (recently_clean(r, pod, when)) {
		json_array_foreach(spec_containers, i, c) {
			char reason[128];

			snprintf(reason, sizeof(reason),
				"verified clean at %s with the same container IDs, within minInterval", when);
			json_array_append_new(containers, json_pack("{s:s*, s:s*, s:s, s:s}",
				"name", str(c, "name"), "image", str(c, "image"),
				"verdict", "skipped", "reason", reason));
		}
		goto cleanup;
	}
	if (registry_for(&reg, r, pod, notes) < 0) {
		json_array_append_new(notes, json_string(rv_error_last()));
		reg = r->registry;
	}
	json_array_foreach(spec_containers, i, c) {
		cresult cr;
		json_t *st = rv_pods_container_status(pod, str(c, "name") ? str(c, "name") : "", 0);

		verify_container(r, &cr, pod, c, i, reg, ann);
		if (cr.group[0])
			json_object_set_new(cr.obj, "_group", json_string(cr.group));
		json_array_append_new(containers, cr.obj);
		if (strcmp(cr.verdict, "clean"))
			all_clean = 0;
		if (st && str(st, "containerID") && str(c, "name"))
			json_object_set(ids, str(c, "name"), json_object_get(st, "containerID"));
	}
	if (r->o->events)
		post_events(r, pod, containers);
	if (r->o->annotate) {
		if (all_clean && json_array_size(containers)) {
			json_t *state = json_pack("{s:I, s:s, s:O}", "at", (json_int_t)time(NULL),
				"run", r->run_id, "containers", ids);
			char *text = state ? json_dumps(state, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

			if (text)
				json_object_set_new(ann, RV_ANN_VERIFIED, json_string(text));
			free(text);
			json_decref(state);
		} else if (str(json_object_get(json_object_get(pod, "metadata"), "annotations"),
				RV_ANN_VERIFIED)) {
			/* not clean now: an older "verified clean" must not let
			 * --min-interval skip this pod next time */
			json_object_set_new(ann, RV_ANN_VERIFIED, json_null());
		}
		if (json_object_size(ann) &&
		    rv_pods_patch_meta(r->k, meta(pod, "namespace"), meta(pod, "name"), ann, NULL) < 0)
			json_array_append_new(notes, json_string(rv_error_last()));
	}
cleanup:
	if (json_array_size(notes))
		json_object_set(obj, "notes", notes);
	json_decref(notes);
	json_decref(ann);
	json_decref(ids);
	return obj;
}

static void *worker(void *p)
{
	run *r = p;

	for (;;) {
		size_t i;
		json_t *res;

		pthread_mutex_lock(&r->lock);
		i = r->next++;
		pthread_mutex_unlock(&r->lock);
		if (i >= json_array_size(r->pods))
			return NULL;
		res = verify_pod(r, json_array_get(r->pods, i));
		pthread_mutex_lock(&r->lock);
		json_array_set_new(r->results, i, res ? res : json_null());
		pthread_mutex_unlock(&r->lock);
	}
}

/* --- the run ------------------------------------------------------------------------ */

/* Group drifted containers by drift group: how many pods show the same
 * drift of the same image. */
static json_t *aggregate(json_t *results)
{
	json_t *groups = json_object(), *out = json_array(), *pod, *c, *g;
	const char *key;
	size_t i, j;

	json_array_foreach(results, i, pod) {
		json_array_foreach(json_object_get(pod, "containers"), j, c) {
			const char *id = str(c, "_group");
			char who[600];

			if (!id)
				continue;
			g = json_object_get(groups, id);
			if (!g) {
				json_t *examples = json_array(), *f;
				size_t k;

				json_array_foreach(json_object_get(c, "findings"), k, f) {
					if (k >= 5)
						break;
					json_array_append(examples, f);
				}
				g = json_pack("{s:s%, s:O, s:O, s:i, s:[], s:o}", "id", id, (size_t)16,
					"imageDigest", json_object_get(c, "imageDigest"),
					"findings", json_object_get(json_object_get(c, "counts"), "findings"),
					"count", 0, "containers", "examples", examples);
				json_object_set_new(groups, id, g);
			}
			snprintf(who, sizeof(who), "%s/%s/%s", str(pod, "namespace"), str(pod, "name"),
				str(c, "name"));
			json_array_append_new(json_object_get(g, "containers"), json_string(who));
			json_object_set_new(g, "count",
				json_integer(json_integer_value(json_object_get(g, "count")) + 1));
			json_object_del(c, "_group");
		}
	}
	json_object_foreach(groups, key, g)
		json_array_append(out, g);
	/* most widespread first */
	for (i = 1; i < json_array_size(out); i++)
		for (j = i; j > 0 && json_integer_value(json_object_get(json_array_get(out, j), "count")) >
				json_integer_value(json_object_get(json_array_get(out, j - 1), "count")); j--) {
			json_t *a = json_incref(json_array_get(out, j - 1));

			json_array_set(out, j - 1, json_array_get(out, j));
			json_array_set_new(out, j, a);
		}
	json_decref(groups);
	return out;
}

static json_t *summarize(json_t *results)
{
	static const char *const verdicts[] = { "clean", "drift", "incomplete", "unverifiable", "skipped" };
	json_int_t n[5] = { 0 }, containers = 0, agent = 0;
	json_t *pod, *c;
	size_t i, j, v;

	json_array_foreach(results, i, pod)
		json_array_foreach(json_object_get(pod, "containers"), j, c) {
			containers++;
			for (v = 0; v < 5; v++)
				if (str(c, "verdict") && !strcmp(str(c, "verdict"), verdicts[v]))
					n[v]++;
			if (json_is_true(json_object_get(json_object_get(c, "provenance"), "agentTouchedBuild")))
				agent++;
		}
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		"pods", (json_int_t)json_array_size(results), "containers", containers,
		"clean", n[0], "drift", n[1], "incomplete", n[2], "unverifiable", n[3],
		"skipped", n[4], "agentTouchedBuild", agent);
}

static int running(json_t *pod)
{
	const char *phase = str(json_object_get(pod, "status"), "phase");

	return phase && !strcmp(phase, "Running") &&
		!json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp");
}

int rv_verify_run(json_t **out, rv_kube *k, const rv_verify_opts *o)
{
	run r;
	json_t *report = NULL, *errors = json_array(), *list = NULL, *p, *namespaces = json_array();
	pthread_t threads[MAX_WORKERS];
	char started[RV_TIME_ISO_LEN], finished[RV_TIME_ISO_LEN];
	size_t i, nthreads = 0, n;
	long t0 = rv_clock_ms(), tlist = 0;
	int rc = RV_OK, workers;
	img_entry *e, *next;
	rv_registry_stats rs;
	uint64_t registry_bytes = 0;
	unsigned long registry_requests = 0;

	memset(&r, 0, sizeof(r));
	*out = NULL;
	r.o = o;
	r.k = k;
	pthread_mutex_init(&r.lock, NULL);
	pthread_mutex_init(&r.git_lock, NULL);
	pthread_cond_init(&r.cond, NULL);
	rv_clock_iso(started, (int64_t)time(NULL));
	if (o->run_id)
		snprintf(r.run_id, sizeof(r.run_id), "%.15s", o->run_id);
	else
		snprintf(r.run_id, sizeof(r.run_id), "%08x", arc4random());
	r.probe_image = o->probe_image ? o->probe_image : o->cfg->probe_image;
	r.pods = json_array();
	r.results = json_array();
	if (!r.probe_image) {
		rc = rv_error_set(RV_EINVAL, "no probe image: give --probe-image or probe.image in the config");
		json_array_append_new(errors, json_string(rv_error_last()));
		goto report;
	}
	if ((rc = rv_registry_new(&r.registry, &o->registry)) < 0) {
		json_array_append_new(errors, json_string(rv_error_last()));
		goto report;
	}

	/* list every namespace's pods; a failure here is the run's */
	n = o->all_namespaces ? 1 : (o->nnamespaces ? o->nnamespaces : 1);
	for (i = 0; i < n; i++) {
		const char *ns = o->all_namespaces ? NULL
			: o->nnamespaces ? o->namespaces[i] : rv_kube_namespace(k);
		size_t j;

		json_array_append_new(namespaces, ns ? json_string(ns) : json_string("*"));
		if ((rc = rv_pods_list(&list, k, ns, o->selector, 500)) < 0) {
			char msg[2048];

			snprintf(msg, sizeof(msg), "cannot list pods in namespace '%s': %s",
				ns ? ns : "*", rv_error_last());
			rv_error_set(rc, "%s", msg);
			json_array_append_new(errors, json_string(msg));
			goto report;
		}
		json_array_foreach(list, j, p)
			if (running(p))
				json_array_append(r.pods, p);
		json_decref(list);
		list = NULL;
	}
	tlist = rv_clock_ms();

	for (i = 0; i < json_array_size(r.pods); i++)
		json_array_append_new(r.results, json_null());
	workers = o->cfg->concurrency > 0 ? o->cfg->concurrency : 1;
	if ((size_t)workers > json_array_size(r.pods))
		workers = (int)json_array_size(r.pods);
	if (workers > MAX_WORKERS)
		workers = MAX_WORKERS;
	for (i = 0; i < (size_t)workers; i++) {
		if (pthread_create(&threads[i], NULL, worker, &r) != 0)
			break;
		nthreads++;
	}
	if (nthreads == 0 && json_array_size(r.pods))
		worker(&r);
	for (i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	rc = RV_OK;

report:
	rv_clock_iso(finished, (int64_t)time(NULL));
	if (r.registry) {
		rv_registry_stats_get(&rs, r.registry);
		registry_bytes += rs.blob_bytes;
		registry_requests += rs.requests;
	}
	for (i = 0; i < r.nextra; i++) {
		rv_registry_stats_get(&rs, r.extra[i]);
		registry_bytes += rs.blob_bytes;
		registry_requests += rs.requests;
	}
	report = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:o, s:s*}, s:o, s:o, s:o, s:o, s:{s:I, s:I}, s:{s:I, s:I, s:I, s:I}}",
		"apiVersion", RV_REPORT_API_VERSION, "kind", RV_REPORT_KIND,
		"runId", r.run_id, "cluster", o->cluster ? o->cluster : rv_kube_server(k),
		"startedAt", started, "finishedAt", finished,
		"selector", "namespaces", namespaces, "labelSelector", o->selector,
		"summary", summarize(r.results), "aggregation", aggregate(r.results),
		"pods", r.results, "errors", errors,
		"timings", "totalMs", (json_int_t)(rv_clock_ms() - t0),
		"listMs", (json_int_t)(tlist ? tlist - t0 : 0),
		"stats", "apiRequests", (json_int_t)rv_kube_request_count(k),
		"registryRequests", (json_int_t)registry_requests,
		"registryBytes", (json_int_t)registry_bytes,
		"images", (json_int_t)0);
	namespaces = errors = NULL;
	r.results = NULL;
	if (report) {
		json_int_t nimg = 0;

		for (e = r.images; e; e = e->next)
			nimg++;
		json_object_set_new(json_object_get(report, "stats"), "images", json_integer(nimg));
	}
	*out = report;
	if (!report && rc == RV_OK)
		rc = rv_error_set(RV_ENOMEM, "out of memory for the report");
	for (e = r.images; e; e = next) {
		next = e->next;
		free(e->key);
		free(e->error);
		rv_image_free(e->img);
		rv_sbom_free(e->sbom);
		json_decref(e->provenance);
		free(e);
	}
	while (r.tags) {
		tag_entry *t = r.tags;

		r.tags = t->next;
		free(t->image);
		free(t);
	}
	for (i = 0; i < r.nextra; i++) {
		rv_registry_free(r.extra[i]);
		if (r.extra_cfg[i])
			explicit_bzero(r.extra_cfg[i], strlen(r.extra_cfg[i]));
		free(r.extra_cfg[i]);
	}
	free(r.extra);
	free(r.extra_cfg);
	rv_registry_free(r.registry);
	json_decref(r.pods);
	json_decref(r.results);
	json_decref(namespaces);
	json_decref(errors);
	json_decref(list);
	pthread_mutex_destroy(&r.lock);
	pthread_mutex_destroy(&r.git_lock);
	pthread_cond_destroy(&r.cond);
	return rc;
}
