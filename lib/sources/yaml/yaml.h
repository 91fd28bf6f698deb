/* yaml.h - YAML documents into jansson values, with size and depth caps */
#ifndef RV_YAML_H
#define RV_YAML_H

#include <stddef.h>

#include <jansson.h>

/*
 * Load the first document of a YAML stream (len bytes of data) into a
 * jansson value: mappings become objects (keys must be scalars), sequences
 * arrays, scalars strings, except that plain (unquoted) scalars that YAML
 * 1.1/1.2 core schema would read as null, booleans or integers become
 * those JSON types (null/~/empty, true/false, decimal integers).
 *
 * Untrusted input: documents with anchors/aliases are refused (no billion
 * laughs), nesting deeper than 64 and more than 1,000,000 nodes are
 * refused, a duplicate mapping key is refused. `what` names the input in
 * error messages ("kubeconfig '/root/.kube/config'").
 *
 * On success *out holds a new reference (json_decref it).
 */
int rv_yaml_load(json_t **out, const char *data, size_t len, const char *what);

#endif
