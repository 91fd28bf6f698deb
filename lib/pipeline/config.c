/* config.c - verify's configuration file (YAML), see docs/config.md */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/glob.h"
#include "core/manifest.h"
#include "pipeline/config.h"
#include "sources/yaml/yaml.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/banned.h"

#define CONFIG_MAX (4u << 20)

static void strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int rv_config_init(rv_config *c)
{
	memset(c, 0, sizeof(*c));
	c->paths = calloc(1, sizeof(char *));
	if (!c->paths || !(c->paths[0] = strdup("/app"))) {
		free(c->paths);
		c->paths = NULL;
		return rv_error_set(RV_ENOMEM, "out of memory");
	}
	c->npaths = 1;
	c->max_ephemeral = 20;
	c->probe_timeout_ms = 120000;
	c->api_timeout_ms = 30000;
	c->registry_timeout_ms = 60000;
	c->concurrency = 4;
	c->packages = 1;
	c->quarantine.release_after = 3;
	c->quarantine.stale_ms = 7L * 24 * 3600 * 1000;
	return RV_OK;
}

void rv_config_dispose(rv_config *c)
{
	size_t i;

	strv_free(c->paths, c->npaths);
	strv_free(c->excludes, c->nexcludes);
	for (i = 0; i < c->nallow; i++) {
		free(c->allow[i].namespace);
		free(c->allow[i].workload);
		strv_free(c->allow[i].paths, c->allow[i].npaths);
	}
	free(c->allow);
	free(c->probe_image);
	free(c->probe_profile);
	for (i = 0; i < c->nwebhooks; i++) {
		free(c->webhooks[i].url);
		free(c->webhooks[i].secret_file);
		free(c->webhooks[i].secret_env);
		free(c->webhooks[i].bearer_token_file);
	}
	free(c->webhooks);
	free(c->spool_dir);
	strv_free(c->insecure_registries, c->ninsecure);
	free(c->registry_ca);
	free(c->cache_dir);
	free(c->docker_config);
	free(c->quarantine.state_namespace);
	free(c->quarantine.state_name);
	memset(c, 0, sizeof(*c));
}

int rv_config_duration(long *out_ms, const char *s)
{
	const char *p = s;
	long total = 0;

	if (!*s)
		return rv_error_set(RV_EINVAL, "empty duration");
	while (*p) {
		char *end;
		long v, mul;

		errno = 0;
		if (*p < '0' || *p > '9')
			goto bad;
		v = strtol(p, &end, 10);
		if (errno || end == p)
			goto bad;
		p = end;
		if (!strncmp(p, "ms", 2)) {
			mul = 1;
			p += 2;
		} else if (*p == 's' || *p == '\0') {
			mul = 1000;
			p += *p == 's';
		} else if (*p == 'm') {
			mul = 60000;
			p++;
		} else if (*p == 'h') {
			mul = 3600000;
			p++;
		} else {
			goto bad;
		}
		if (v > (LONG_MAX - total) / mul)
			goto bad;
		total += v * mul;
	}
	*out_ms = total;
	return RV_OK;
bad:
	return rv_error_set(RV_EINVAL, "bad duration '%s' (use e.g. 90s, 15m, 1h30m)", s);
}

struct ctx {
	const char *file;
	char key[256];  /* the key being read, for messages */
};

static int bad(struct ctx *x, const char *what)
{
	return rv_error_set(RV_EINVAL, "config '%s': '%s' %s", x->file, x->key, what);
}

static int get_string(struct ctx *x, char **out, json_t *v)
{
	if (!json_is_string(v))
		return bad(x, "must be a string");
	free(*out);
	*out = strdup(json_string_value(v));
	return *out ? RV_OK : rv_error_set(RV_ENOMEM, "out of memory");
}

static int get_int(struct ctx *x, int *out, json_t *v, int min, int max)
{
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return rv_error_set(RV_EINVAL, "config '%s': '%s' must be a whole number from %d to %d",
			x->file, x->key, min, max);
	*out = (int)json_integer_value(v);
	return RV_OK;
}

static int get_flag(struct ctx *x, int *out, json_t *v)
{
	if (!json_is_boolean(v))
		return bad(x, "must be true or false");
	*out = json_is_true(v);
	return RV_OK;
}

/* A Kubernetes name: a DNS label (max 63) or, with subdomain, a DNS
 * subdomain (max 253). */
static int get_k8s_name(struct ctx *x, char **out, json_t *v, int subdomain)
{
	const char *s = json_string_value(v);
	size_t n = s ? strlen(s) : 0, i;

	if (!s)
		return bad(x, "must be a string");
	if (!n || n > (subdomain ? 253u : 63u) || s[0] == '-' || s[0] == '.' ||
	    s[n - 1] == '-' || s[n - 1] == '.')
		goto invalid;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '-' || (subdomain && s[i] == '.')))
			goto invalid;
	return get_string(x, out, v);
invalid:
	return bad(x, subdomain ? "must be a Kubernetes object name (lower case, digits, '-', '.')" :
		"must be a Kubernetes namespace name (lower case, digits, '-', at most 63)");
}

static int get_duration(struct ctx *x, long *out, json_t *v)
{
	char num[32];
	int rc;

	if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		rc = rv_config_duration(out, num);
	} else if (json_is_string(v)) {
		rc = rv_config_duration(out, json_string_value(v));
	} else {
		return bad(x, "must be a duration such as 90s or 15m");
	}
	if (rc < 0)
		rv_error_prefix(rc, "config '%s': '%s'", x->file, x->key);
	return rc;
}

/* A list of strings; check: 1 for absolute manifest paths, 2 for globs. */
static int get_strv(struct ctx *x, char ***out, size_t *n, json_t *v, int check)
{
	char **list = NULL;
	size_t i, len;
	json_t *item;
	int rc;

	if (!json_is_array(v))
		return bad(x, "must be a list");
	len = json_array_size(v);
	list = calloc(len + 1, sizeof(char *));
	if (!list)
		return rv_error_set(RV_ENOMEM, "out of memory");
	json_array_foreach(v, i, item) {
		const char *s = json_string_value(item);

		if (!s) {
			rc = bad(x, "must be a list of strings");
			goto fail;
		}
		if (check == 1 && (rc = rv_manifest_check_path(s, strlen(s))) < 0) {
			rv_error_prefix(rc, "config '%s': '%s'", x->file, x->key);
			goto fail;
		}
		if (check == 2 && (rc = rv_glob_check(s)) < 0) {
			rv_error_prefix(rc, "config '%s': '%s'", x->file, x->key);
			goto fail;
		}
		if (!(list[i] = strdup(s))) {
			rc = rv_error_set(RV_ENOMEM, "out of memory");
			goto fail;
		}
	}
	strv_free(*out, *n);
	*out = list;
	*n = len;
	return RV_OK;
fail:
	strv_free(list, len);
	return rc;
}

static int unknown(struct ctx *x, const char *prefix, const char *key)
{
	return rv_error_set(RV_EINVAL, "config '%s': unknown key '%s%s'", x->file, prefix, key);
}

static void setkey(struct ctx *x, const char *prefix, const char *key)
{
	snprintf(x->key, sizeof(x->key), "%s%s", prefix, key);
}

static int load_allow(struct ctx *x, rv_config *c, json_t *v)
{
	size_t i;
	json_t *rule;
	int rc;

	if (!json_is_array(v))
		return bad(x, "must be a list of rules");
	c->allow = calloc(json_array_size(v) + 1, sizeof(*c->allow));
	if (!c->allow)
		return rv_error_set(RV_ENOMEM, "out of memory");
	json_array_foreach(v, i, rule) {
		rv_allow_rule *r = &c->allow[c->nallow++];
		const char *key;
		json_t *val;

		if (!json_is_object(rule))
			return bad(x, "entries must be mappings");
		json_object_foreach(rule, key, val) {
			setkey(x, "allowlist[].", key);
			if (!strcmp(key, "namespace"))
				rc = get_string(x, &r->namespace, val);
			else if (!strcmp(key, "workload"))
				rc = get_string(x, &r->workload, val);
			else if (!strcmp(key, "paths"))
				rc = get_strv(x, &r->paths, &r->npaths, val, 2);
			else
				rc = unknown(x, "allowlist[].", key);
			if (rc < 0)
				return rc;
		}
		if (!r->npaths) {
			setkey(x, "allowlist[].", "paths");
			return bad(x, "is required in every allowlist rule");
		}
	}
	return RV_OK;
}

void rv_config_webhook_init(rv_webhook_cfg *w)
{
	memset(w, 0, sizeof(*w));
	w->timeout_ms = 10000;
	w->retries = 4;
}

static int load_webhooks(struct ctx *x, rv_config *c, json_t *v)
{
	size_t i;
	json_t *hook;
	int rc;

	if (!json_is_array(v))
		return bad(x, "must be a list");
	c->webhooks = calloc(json_array_size(v) + 1, sizeof(*c->webhooks));
	if (!c->webhooks)
		return rv_error_set(RV_ENOMEM, "out of memory");
	json_array_foreach(v, i, hook) {
		rv_webhook_cfg *w = &c->webhooks[c->nwebhooks++];
		const char *key;
		json_t *val;

		rv_config_webhook_init(w);
		if (!json_is_object(hook))
			return bad(x, "entries must be mappings");
		json_object_foreach(hook, key, val) {
			setkey(x, "webhooks[].", key);
			if (!strcmp(key, "url"))
				rc = get_string(x, &w->url, val);
			else if (!strcmp(key, "secretFile"))
				rc = get_string(x, &w->secret_file, val);
			else if (!strcmp(key, "secretEnv"))
				rc = get_string(x, &w->secret_env, val);
			else if (!strcmp(key, "bearerTokenFile"))
				rc = get_string(x, &w->bearer_token_file, val);
			else if (!strcmp(key, "timeout"))
				rc = get_duration(x, &w->timeout_ms, val);
			else if (!strcmp(key, "retries"))
				rc = get_int(x, &w->retries, val, 0, 20);
			else
				rc = unknown(x, "webhooks[].", key);
			if (rc < 0)
				return rc;
		}
		if (!w->url || (strncmp(w->url, "https://", 8) && strncmp(w->url, "http://", 7))) {
			setkey(x, "webhooks[].", "url");
			return bad(x, "must be an http(s) URL");
		}
	}
	return RV_OK;
}

static int load_section(struct ctx *x, rv_config *c, const char *section, json_t *obj)
{
	const char *key;
	json_t *v;
	int rc;
	char prefix[64];

	snprintf(prefix, sizeof(prefix), "%s.", section);
	if (!json_is_object(obj)) {
		setkey(x, "", section);
		return bad(x, "must be a mapping");
	}
	json_object_foreach(obj, key, v) {
		setkey(x, prefix, key);
		if (!strcmp(section, "probe") && !strcmp(key, "image"))
			rc = get_string(x, &c->probe_image, v);
		else if (!strcmp(section, "probe") && !strcmp(key, "maxEphemeralContainers"))
			rc = get_int(x, &c->max_ephemeral, v, 1, 1000);
		else if (!strcmp(section, "probe") && !strcmp(key, "profile")) {
			rc = get_string(x, &c->probe_profile, v);
			if (rc == RV_OK && strcmp(c->probe_profile, "mirror") &&
			    strcmp(c->probe_profile, "sysadmin"))
				rc = bad(x, "must be 'mirror' or 'sysadmin'");
		} else if (!strcmp(section, "timeouts") && !strcmp(key, "probe"))
			rc = get_duration(x, &c->probe_timeout_ms, v);
		else if (!strcmp(section, "timeouts") && !strcmp(key, "api"))
			rc = get_duration(x, &c->api_timeout_ms, v);
		else if (!strcmp(section, "timeouts") && !strcmp(key, "registry"))
			rc = get_duration(x, &c->registry_timeout_ms, v);
		else if (!strcmp(section, "registry") && !strcmp(key, "insecure"))
			rc = get_strv(x, &c->insecure_registries, &c->ninsecure, v, 0);
		else if (!strcmp(section, "registry") && !strcmp(key, "ca"))
			rc = get_string(x, &c->registry_ca, v);
		else if (!strcmp(section, "registry") && !strcmp(key, "cacheDir"))
			rc = get_string(x, &c->cache_dir, v);
		else if (!strcmp(section, "registry") && !strcmp(key, "dockerConfig"))
			rc = get_string(x, &c->docker_config, v);
		else if (!strcmp(section, "spool") && !strcmp(key, "dir"))
			rc = get_string(x, &c->spool_dir, v);
		else if (!strcmp(section, "quarantine") && !strcmp(key, "after"))
			rc = get_int(x, &c->quarantine.after, v, 0, 1000);
		else if (!strcmp(section, "quarantine") && !strcmp(key, "releaseAfter"))
			rc = get_int(x, &c->quarantine.release_after, v, 1, 1000);
		else if (!strcmp(section, "quarantine") && !strcmp(key, "dryRun"))
			rc = get_flag(x, &c->quarantine.dry_run, v);
		else if (!strcmp(section, "quarantine") && !strcmp(key, "evict"))
			rc = get_flag(x, &c->quarantine.evict, v);
		else if (!strcmp(section, "quarantine") && !strcmp(key, "stateNamespace"))
			rc = get_k8s_name(x, &c->quarantine.state_namespace, v, 0);
		else if (!strcmp(section, "quarantine") && !strcmp(key, "stateConfigMap"))
			rc = get_k8s_name(x, &c->quarantine.state_name, v, 1);
		else if (!strcmp(section, "quarantine") && !strcmp(key, "staleAfter")) {
			rc = get_duration(x, &c->quarantine.stale_ms, v);
			if (rc == RV_OK && c->quarantine.stale_ms < 3600000)
				rc = bad(x, "must be at least 1h");
		}
		else
			rc = unknown(x, prefix, key);
		if (rc < 0)
			return rc;
	}
	return RV_OK;
}

int rv_config_load(rv_config *c, const char *path)
{
	rv_buf data = RV_BUF_INIT(CONFIG_MAX);
	struct ctx x = { path, "" };
	char what[PATH_MAX + 16], chunk[8192];
	json_t *root = NULL, *v;
	const char *key;
	FILE *f = NULL;
	size_t n;
	int rc;

	f = fopen(path, "re");
	if (!f)
		return rv_error_setsys(RV_ENOTFOUND, errno, "cannot open config '%s'", path);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if ((rc = rv_buf_add(&data, chunk, n)) < 0) {
			rv_error_prefix(rc, "config '%s'", path);
			goto cleanup;
		}
	}
	if (ferror(f)) {
		rc = rv_error_setsys(RV_EIO, errno, "cannot read config '%s'", path);
		goto cleanup;
	}
	snprintf(what, sizeof(what), "config '%s'", path);
	if ((rc = rv_yaml_load(&root, data.ptr ? data.ptr : "", data.len, what)) < 0)
		goto cleanup;
	if (json_is_null(root))
		goto done;
	if (!json_is_object(root)) {
		rc = rv_error_set(RV_EINVAL, "config '%s' must be a mapping", path);
		goto cleanup;
	}
	json_object_foreach(root, key, v) {
		setkey(&x, "", key);
		if (!strcmp(key, "paths")) {
			rc = get_strv(&x, &c->paths, &c->npaths, v, 1);
			if (rc == RV_OK && c->npaths == 0)
				rc = bad(&x, "must list at least one path");
		} else if (!strcmp(key, "excludes"))
			rc = get_strv(&x, &c->excludes, &c->nexcludes, v, 2);
		else if (!strcmp(key, "allowlist"))
			rc = load_allow(&x, c, v);
		else if (!strcmp(key, "webhooks"))
			rc = load_webhooks(&x, c, v);
		else if (!strcmp(key, "minInterval"))
			rc = get_duration(&x, &c->min_interval_ms, v);
		else if (!strcmp(key, "concurrency"))
			rc = get_int(&x, &c->concurrency, v, 1, 64);
		else if (!strcmp(key, "policyReports"))
			rc = get_flag(&x, &c->policy_reports, v);
		else if (!strcmp(key, "packages"))
			rc = get_flag(&x, &c->packages, v);
		else if (!strcmp(key, "probe") || !strcmp(key, "timeouts") ||
			 !strcmp(key, "registry") || !strcmp(key, "spool") ||
			 !strcmp(key, "quarantine"))
			rc = load_section(&x, c, key, v);
		else
			rc = unknown(&x, "", key);
		if (rc < 0)
			goto cleanup;
	}
done:
	rc = RV_OK;
cleanup:
	if (f)
		fclose(f);
	json_decref(root);
	rv_buf_dispose(&data);
	return rc;
}

int rv_config_allow_for(const char ***out, size_t *n, const rv_config *c,
	const char *namespace, const char *workload)
{
	const char **list;
	size_t i, j, total = 0;

	*out = NULL;
	*n = 0;
	for (i = 0; i < c->nallow; i++)
		total += c->allow[i].npaths;
	list = calloc(total + 1, sizeof(char *));
	if (!list)
		return rv_error_set(RV_ENOMEM, "out of memory");
	for (i = 0; i < c->nallow; i++) {
		const rv_allow_rule *r = &c->allow[i];

		if (r->namespace && (!namespace || strcmp(r->namespace, namespace)))
			continue;
		if (r->workload && (!workload || strcmp(r->workload, workload)))
			continue;
		for (j = 0; j < r->npaths; j++)
			list[(*n)++] = r->paths[j];
	}
	*out = list;
	return RV_OK;
}
