/* aggregate.c - over a run's results: the summary, and how many pods show the same drift */
#include <stdio.h>
#include <string.h>

#include "pipeline/aggregate.h"
#include "util/banned.h"

#define MAX_EXAMPLES 5

json_t *rv_aggregate_summary(const rv_presult *pods, size_t n)
{
	json_int_t count[RV_VERDICT_COUNT] = { 0 }, containers = 0, agent = 0;
	size_t i, j;

	for (i = 0; i < n; i++)
		for (j = 0; j < pods[i].ncontainers; j++) {
			const rv_cresult *c = &pods[i].containers[j];

			containers++;
			if ((unsigned)c->verdict < RV_VERDICT_COUNT)
				count[c->verdict]++;
			if (json_is_true(json_object_get(c->provenance, "agentTouchedBuild")))
				agent++;
		}
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		"pods", (json_int_t)n, "containers", containers,
		"clean", count[RV_VERDICT_CLEAN], "drift", count[RV_VERDICT_DRIFT],
		"incomplete", count[RV_VERDICT_INCOMPLETE],
		"unverifiable", count[RV_VERDICT_UNVERIFIABLE],
		"skipped", count[RV_VERDICT_SKIPPED], "agentTouchedBuild", agent);
}

/* A new group for drifted container c. */
static json_t *group_new(const rv_cresult *c)
{
	json_t *examples = json_array(), *f;
	size_t k;

	json_array_foreach(c->findings, k, f) {
		if (k >= MAX_EXAMPLES)
			break;
		json_array_append(examples, f);
	}
	return json_pack("{s:s%, s:s, s:I, s:i, s:[], s:o}", "id", c->group, (size_t)16,
		"imageDigest", c->image_digest ? c->image_digest : "",
		"findings", (json_int_t)c->tally.findings,
		"count", 0, "containers", "examples", examples);
}

json_t *rv_aggregate_groups(const rv_presult *pods, size_t n)
{
	json_t *groups = json_object(), *out = json_array(), *g;
	const char *key;
	size_t i, j;

	if (!groups || !out)
		goto cleanup;
	for (i = 0; i < n; i++)
		for (j = 0; j < pods[i].ncontainers; j++) {
			const rv_cresult *c = &pods[i].containers[j];
			char who[600];

			if (c->verdict != RV_VERDICT_DRIFT || !c->group[0])
				continue;
			g = json_object_get(groups, c->group);
			if (!g && (g = group_new(c)))
				json_object_set_new(groups, c->group, g);
			if (!g)
				continue;
			snprintf(who, sizeof(who), "%s/%s/%s", pods[i].namespace ? pods[i].namespace : "",
				pods[i].name ? pods[i].name : "", c->name ? c->name : "");
			json_array_append_new(json_object_get(g, "containers"), json_string(who));
			json_object_set_new(g, "count",
				json_integer(json_integer_value(json_object_get(g, "count")) + 1));
		}
	json_object_foreach(groups, key, g)
		json_array_append(out, g);
	/* most widespread first; a stable sort keeps first-seen order */
	for (i = 1; i < json_array_size(out); i++)
		for (j = i; j > 0 && json_integer_value(json_object_get(json_array_get(out, j), "count")) >
				json_integer_value(json_object_get(json_array_get(out, j - 1), "count")); j--) {
			json_t *a = json_incref(json_array_get(out, j - 1));

			json_array_set(out, j - 1, json_array_get(out, j));
			json_array_set_new(out, j, a);
		}
cleanup:
	json_decref(groups);
	return out;
}
