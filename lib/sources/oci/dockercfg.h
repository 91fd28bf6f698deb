/* dockercfg.h - registry credentials from a docker config.json or a dockerconfigjson secret */
#ifndef RV_DOCKERCFG_H
#define RV_DOCKERCFG_H

#include <stddef.h>

/*
 * Look up the credentials for a registry host ("host" or "host:port") in
 * the text of a docker config.json, a kubernetes.io/dockerconfigjson
 * secret (the same {"auths": {...}} shape) or a legacy .dockercfg (the
 * auths map at the top level). Keys match the host with or without a
 * scheme and a path ("https://host/v1/"); Docker Hub's
 * "https://index.docker.io/v1/" stands for registry-1.docker.io.
 *
 * An entry gives "auth" (base64 of user:password) or "username" and
 * "password". On success *user and *pass are allocated (free() them;
 * wipe the password first) or both NULL when the file has no entry for the
 * host. A credHelpers entry for the host, or a credsStore with no auths
 * entry for it, is RV_EUNSUPPORTED; an "identitytoken" as well. Malformed
 * JSON or a malformed entry is RV_EFORMAT naming `what` (the file name or
 * "secret"); the message never holds a secret.
 */
int rv_dockercfg_lookup(char **user, char **pass, const char *json,
	size_t len, const char *host, const char *what);

/* The default config path: $DOCKER_CONFIG/config.json, else
 * $HOME/.docker/config.json; allocated (free() it) or NULL when neither
 * variable is set. */
char *rv_dockercfg_default_path(void);

#endif
