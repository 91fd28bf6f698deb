/* yaml.c - YAML documents into jansson values, with size and depth caps */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "sources/yaml/yaml.h"
#include "util/error.h"
#include "util/banned.h"

#define YAML_MAX_DEPTH 64
#define YAML_MAX_NODES 1000000

struct loader {
	yaml_parser_t parser;
	const char *what;
	size_t nodes;
};

static int parse_error(struct loader *l)
{
	return rv_error_set(RV_EFORMAT, "%s: %s at line %zu column %zu", l->what,
		l->parser.problem ? l->parser.problem : "malformed YAML",
		l->parser.problem_mark.line + 1, l->parser.problem_mark.column + 1);
}

static int next(struct loader *l, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&l->parser, ev))
		return parse_error(l);
	if (ev->type == YAML_ALIAS_EVENT ||
	    ((ev->type == YAML_SCALAR_EVENT && ev->data.scalar.anchor) ||
	     (ev->type == YAML_SEQUENCE_START_EVENT && ev->data.sequence_start.anchor) ||
	     (ev->type == YAML_MAPPING_START_EVENT && ev->data.mapping_start.anchor))) {
		size_t line = ev->start_mark.line + 1;

		yaml_event_delete(ev);
		return rv_error_set(RV_EFORMAT,
			"%s: anchors and aliases are not accepted (line %zu)", l->what, line);
	}
	if (++l->nodes > YAML_MAX_NODES) {
		yaml_event_delete(ev);
		return rv_error_set(RV_ETOOBIG, "%s: more than %d YAML nodes",
			l->what, YAML_MAX_NODES);
	}
	return RV_OK;
}

/* A plain scalar as the core schema reads it. */
static json_t *scalar_value(const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	char *end;
	long long n;

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || ev->data.scalar.tag)
		return json_stringn(v, len);
	if (len == 0 || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	    !strcmp(v, "NULL"))
		return json_null();
	if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE"))
		return json_true();
	if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE"))
		return json_false();
	if ((v[0] >= '0' && v[0] <= '9') || ((v[0] == '-' || v[0] == '+') && len > 1)) {
		errno = 0;
		n = strtoll(v, &end, 10);
		if (errno == 0 && *end == '\0' && end == v + len &&
		    !(len > 1 && v[0] == '0') && !(len > 2 && v[1] == '0' && (v[0] == '-' || v[0] == '+')))
			return json_integer(n);
	}
	return json_stringn(v, len);
}

static int load_node(struct loader *l, yaml_event_t *ev, json_t **out, int depth);

static int load_sequence(struct loader *l, json_t **out, int depth)
{
	json_t *arr = json_array(), *item = NULL;
	yaml_event_t ev;
	int rc;

	if (!arr)
		return rv_error_set(RV_ENOMEM, "out of memory");
	for (;;) {
		if ((rc = next(l, &ev)) < 0)
			goto cleanup;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		rc = load_node(l, &ev, &item, depth + 1);
		yaml_event_delete(&ev);
		if (rc < 0)
			goto cleanup;
		if (json_array_append_new(arr, item) < 0) {
			rc = rv_error_set(RV_ENOMEM, "out of memory");
			goto cleanup;
		}
	}
	*out = arr;
	return RV_OK;
cleanup:
	json_decref(arr);
	return rc;
}

static int load_mapping(struct loader *l, json_t **out, int depth)
{
	json_t *obj = json_object(), *val = NULL;
	yaml_event_t ev;
	char *key = NULL;
	int rc;

	if (!obj)
		return rv_error_set(RV_ENOMEM, "out of memory");
	for (;;) {
		if ((rc = next(l, &ev)) < 0)
			goto cleanup;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (ev.type != YAML_SCALAR_EVENT) {
			size_t line = ev.start_mark.line + 1;

			yaml_event_delete(&ev);
			rc = rv_error_set(RV_EFORMAT, "%s: mapping key at line %zu is not a scalar",
				l->what, line);
			goto cleanup;
		}
		key = strndup((const char *)ev.data.scalar.value, ev.data.scalar.length);
		if (!key || strlen(key) != ev.data.scalar.length) {
			yaml_event_delete(&ev);
			rc = key ? rv_error_set(RV_EFORMAT, "%s: mapping key holds a NUL byte", l->what)
				 : rv_error_set(RV_ENOMEM, "out of memory");
			goto cleanup;
		}
		if (json_object_get(obj, key)) {
			size_t line = ev.start_mark.line + 1;

			yaml_event_delete(&ev);
			rc = rv_error_set(RV_EFORMAT, "%s: duplicate key '%s' at line %zu",
				l->what, key, line);
			goto cleanup;
		}
		yaml_event_delete(&ev);
		if ((rc = next(l, &ev)) < 0)
			goto cleanup;
		rc = load_node(l, &ev, &val, depth + 1);
		yaml_event_delete(&ev);
		if (rc < 0)
			goto cleanup;
		if (json_object_set_new(obj, key, val) < 0) {
			rc = rv_error_set(RV_EFORMAT, "%s: key '%s' is not valid UTF-8", l->what, key);
			goto cleanup;
		}
		free(key);
		key = NULL;
	}
	*out = obj;
	return RV_OK;
cleanup:
	free(key);
	json_decref(obj);
	return rc;
}

/* Build the value that starts with ev (owned by the caller). */
static int load_node(struct loader *l, yaml_event_t *ev, json_t **out, int depth)
{
	if (depth > YAML_MAX_DEPTH)
		return rv_error_set(RV_ETOOBIG, "%s: nested deeper than %d levels",
			l->what, YAML_MAX_DEPTH);
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		*out = scalar_value(ev);
		if (!*out)
			return rv_error_set(RV_EFORMAT,
				"%s: value at line %zu is not valid UTF-8", l->what,
				ev->start_mark.line + 1);
		return RV_OK;
	case YAML_SEQUENCE_START_EVENT:
		return load_sequence(l, out, depth);
	case YAML_MAPPING_START_EVENT:
		return load_mapping(l, out, depth);
	default:
		return rv_error_set(RV_EFORMAT, "%s: unexpected YAML event at line %zu",
			l->what, ev->start_mark.line + 1);
	}
}

int rv_yaml_load(json_t **out, const char *data, size_t len, const char *what)
{
	struct loader l;
	yaml_event_t ev;
	json_t *root = NULL;
	int rc;

	*out = NULL;
	memset(&l, 0, sizeof(l));
	l.what = what;
	if (!yaml_parser_initialize(&l.parser))
		return rv_error_set(RV_ENOMEM, "out of memory for a YAML parser");
	yaml_parser_set_input_string(&l.parser, (const unsigned char *)data, len);
	for (;;) {
		if ((rc = next(&l, &ev)) < 0)
			goto cleanup;
		if (ev.type == YAML_STREAM_END_EVENT || ev.type == YAML_DOCUMENT_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (ev.type == YAML_STREAM_START_EVENT || ev.type == YAML_DOCUMENT_START_EVENT) {
			yaml_event_delete(&ev);
			continue;
		}
		rc = load_node(&l, &ev, &root, 0);
		yaml_event_delete(&ev);
		if (rc < 0)
			goto cleanup;
	}
	if (!root)
		root = json_null();
	*out = root;
	root = NULL;
	rc = RV_OK;
cleanup:
	json_decref(root);
	yaml_parser_delete(&l.parser);
	return rc;
}
