/* json.h - typed getters for JSON objects from outside (jansson) */
#ifndef RV_JSON_H
#define RV_JSON_H

#include <jansson.h>

/* o[key] when it is a string, else NULL (o may be NULL or not an object). */
const char *rv_json_str(const json_t *o, const char *key);

/* o[key] when it is a string, else "": for printing. */
const char *rv_json_text(const json_t *o, const char *key);

/* o["metadata"][key] when it is a string, else NULL: a Kubernetes
 * object's name, namespace, uid. */
const char *rv_json_meta(const json_t *o, const char *key);

/* o[key] when it is an integer, else 0. */
json_int_t rv_json_num(const json_t *o, const char *key);

#endif
