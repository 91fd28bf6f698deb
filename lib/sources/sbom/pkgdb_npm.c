/* pkgdb_npm.c - catalogue npm packages: node_modules/NAME/package.json */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sources/sbom/pkgdb_npm.h"
#include "util/error.h"
#include "util/banned.h"

/*
 * One installed package is one node_modules/NAME or node_modules/@SCOPE/NAME
 * directory with a package.json (rv_sbom_wants picks them); its "name"
 * and "version" strings say what it is. The application's own package.json
 * (not under node_modules) is not a dependency and is not fed. The size cap
 * was checked by rv_sbom_feed; jansson parses the bytes (no NUL escapes,
 * its own depth limit).
 */

int rv_pkgdb_npm_parse(rv_sbom *s, const char *path, const char *data,
	size_t size)
{
	size_t plen = strlen(path), dlen;
	json_error_t jerr;
	json_t *root = NULL, *jn, *jv;
	const char *name, *slash;
	rv_sbom_pkg pkg;
	char *ns = NULL, *nm = NULL, *loc = NULL;
	int rc = RV_OK;

	memset(&pkg, 0, sizeof(pkg));
	root = json_loadb(data, size, 0, &jerr);
	if (!root) {
		rc = rv_sbom_warn(s, path, plen, "not JSON: line %d: %s",
			jerr.line, jerr.text);
		goto cleanup;
	}
	if (!json_is_object(root)) {
		rc = rv_sbom_warn(s, path, plen, "not a JSON object");
		goto cleanup;
	}
	jn = json_object_get(root, "name");
	jv = json_object_get(root, "version");
	if (!json_is_string(jn) || !json_string_length(jn) ||
	    !json_is_string(jv) || !json_string_length(jv)) {
		rc = rv_sbom_warn(s, path, plen, "no \"%s\" string",
			json_is_string(jn) && json_string_length(jn) ?
			"version" : "name");
		goto cleanup;
	}
	name = json_string_value(jn);
	if (name[0] == '@' && (slash = strchr(name, '/')) && slash[1]) {
		if (!(ns = strndup(name, (size_t)(slash - name))) ||
		    !(nm = strdup(slash + 1))) {
			rc = rv_error_set(RV_ENOMEM, "out of memory");
			goto cleanup;
		}
	} else if (!(nm = strdup(name))) {
		rc = rv_error_set(RV_ENOMEM, "out of memory");
		goto cleanup;
	}
	/* the package directory: path less "/package.json" */
	dlen = plen > 13 ? plen - 13 : plen;
	if (!(loc = strndup(path, dlen))) {
		rc = rv_error_set(RV_ENOMEM, "out of memory");
		goto cleanup;
	}
	pkg.type = "npm";
	pkg.ns = ns;
	pkg.name = nm;
	pkg.version = (char *)json_string_value(jv);
	pkg.location = loc;
	rc = rv_sbom_add(s, &pkg);
cleanup:
	free(ns);
	free(nm);
	free(loc);
	json_decref(root);
	return rc;
}
