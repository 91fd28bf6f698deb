/* json.c - typed getters for JSON objects from outside (jansson) */
#include "util/json.h"
#include "util/banned.h"

const char *rv_json_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

const char *rv_json_text(const json_t *o, const char *key)
{
	const char *s = rv_json_str(o, key);

	return s ? s : "";
}

const char *rv_json_meta(const json_t *o, const char *key)
{
	return rv_json_str(json_object_get(o, "metadata"), key);
}

json_int_t rv_json_num(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}
