/* dockercfg.c - registry credentials from a docker config.json or a dockerconfigjson secret */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sources/oci/dockercfg.h"
#include "util/base64.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/banned.h"

/* Reduce a config key ("https://host:5000/v1/") to its host part. */
static int key_matches(const char *key, const char *host)
{
	const char *k = key, *end;
	size_t hl = strlen(host);

	if (!strncmp(k, "https://", 8))
		k += 8;
	else if (!strncmp(k, "http://", 7))
		k += 7;
	end = strchr(k, '/');
	if (!end)
		end = k + strlen(k);
	if ((size_t)(end - k) == hl && !memcmp(k, host, hl))
		return 1;
	/* Docker Hub is filed under index.docker.io. */
	if (!strcmp(host, "registry-1.docker.io") &&
	    (size_t)(end - k) == strlen("index.docker.io") &&
	    !memcmp(k, "index.docker.io", (size_t)(end - k)))
		return 1;
	return 0;
}

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

int rv_dockercfg_lookup(char **user, char **pass, const char *json,
	size_t len, const char *host, const char *what)
{
	json_t *root = NULL, *auths, *entry = NULL, *v;
	json_error_t jerr;
	rv_buf dec = RV_BUF_INIT(64 * 1024);
	const char *key, *s;
	char *colon;
	int rc = RV_OK;

	*user = *pass = NULL;
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root || !json_is_object(root)) {
		rc = rv_error_set(RV_EFORMAT, "'%s' is not a docker config: %s",
			what, root ? "not an object" : jerr.text);
		goto cleanup;
	}
	v = json_object_get(root, "credHelpers");
	if (json_is_object(v)) {
		json_object_foreach(v, key, entry) {
			if (key_matches(key, host)) {
				rc = rv_error_set(RV_EUNSUPPORTED,
					"'%s' names a credential helper for '%s': credential helpers are not supported",
					what, host);
				goto cleanup;
			}
		}
	}
	entry = NULL;
	auths = json_object_get(root, "auths");
	if (!auths && !json_object_get(root, "credsStore"))
		auths = root; /* legacy .dockercfg */
	if (auths && !json_is_object(auths)) {
		rc = rv_error_set(RV_EFORMAT, "'%s': 'auths' is not an object", what);
		goto cleanup;
	}
	if (auths) {
		json_object_foreach(auths, key, v) {
			if (key_matches(key, host)) {
				entry = v;
				break;
			}
		}
	}
	if (!entry) {
		if (json_is_string(json_object_get(root, "credsStore")))
			rc = rv_error_set(RV_EUNSUPPORTED,
				"'%s' uses the credential store '%s' and has no entry for '%s': credential stores are not supported",
				what, json_string_value(json_object_get(root, "credsStore")), host);
		goto cleanup;
	}
	if (!json_is_object(entry)) {
		rc = rv_error_set(RV_EFORMAT, "'%s': the entry for '%s' is not an object", what, host);
		goto cleanup;
	}
	if (json_is_string(json_object_get(entry, "identitytoken")) &&
	    json_string_length(json_object_get(entry, "identitytoken"))) {
		rc = rv_error_set(RV_EUNSUPPORTED,
			"'%s': the entry for '%s' holds an identity token: not supported", what, host);
		goto cleanup;
	}
	s = json_string_value(json_object_get(entry, "auth"));
	if (s && *s) {
		/* docker writes base64.StdEncoding of user:password */
		if (rv_base64_decode(&dec, s, strlen(s), RV_BASE64_STRICT) < 0 || !dec.ptr ||
		    !(colon = memchr(dec.ptr, ':', dec.len)) ||
		    strlen(dec.ptr) != dec.len) {
			rc = rv_error_set(RV_EFORMAT,
				"'%s': the 'auth' of '%s' is not base64 of user:password", what, host);
			goto cleanup;
		}
		*colon = '\0';
		*user = strdup(dec.ptr);
		*pass = strdup(colon + 1);
	} else {
		const char *u = json_string_value(json_object_get(entry, "username"));
		const char *p = json_string_value(json_object_get(entry, "password"));

		if (!u || !p) {
			rc = rv_error_set(RV_EFORMAT,
				"'%s': the entry for '%s' has neither 'auth' nor 'username' and 'password'",
				what, host);
			goto cleanup;
		}
		*user = strdup(u);
		*pass = strdup(p);
	}
	if (!*user || !*pass) {
		wipe_free(*user);
		wipe_free(*pass);
		*user = *pass = NULL;
		rc = rv_error_set(RV_ENOMEM, "out of memory");
	}
cleanup:
	if (dec.ptr)
		explicit_bzero(dec.ptr, dec.cap);
	rv_buf_dispose(&dec);
	json_decref(root);
	return rc;
}

char *rv_dockercfg_default_path(void)
{
	rv_buf b = RV_BUF_INIT(8192);
	const char *d = getenv("DOCKER_CONFIG"), *home = getenv("HOME");
	size_t n;

	if (d && *d) {
		if (rv_buf_printf(&b, "%s/config.json", d) < 0)
			goto fail;
	} else if (home && *home) {
		if (rv_buf_printf(&b, "%s/.docker/config.json", home) < 0)
			goto fail;
	} else {
		return NULL;
	}
	return rv_buf_detach(&b, &n);
fail:
	rv_buf_dispose(&b);
	return NULL;
}
