/* fuzz_quarantine_state.c - the quarantine state read back from a ConfigMap */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "pipeline/quarantine.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Write entries as a ConfigMap and read them back: must be the same. */
static void roundtrip(json_t *entries)
{
	json_t *d = NULL, *cm, *back = NULL, *problems = json_array();
	char *text;

	if (rv_quarantine_state_data(&d, entries) != 0)
		abort();
	cm = json_pack("{s:s, s:o}", "kind", "ConfigMap", "data", d);
	text = cm ? json_dumps(cm, JSON_COMPACT) : NULL;
	if (!text || rv_quarantine_state_parse(&back, problems, text, strlen(text)) != 0 ||
	    json_array_size(problems) != 0 || !json_equal(back, entries))
		abort();
	free(text);
	json_decref(back);
	json_decref(cm);
	json_decref(problems);
}

/*
 * Arbitrary bytes as the API server's answer for the state ConfigMap.
 * Whatever is accepted must be valid: it survives a write and a read
 * unchanged, and a step of a run over it (drifted, then clean) gives a
 * state that does too.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rv_quarantine_cfg cfg = { 1, 1, 0, 1, NULL, NULL, 3600000L };
	json_t *entries = NULL, *problems = json_array(), *res = NULL, *runs = NULL, *report;

	if (rv_quarantine_state_parse(&entries, problems, (const char *)data, size) != 0) {
		if (entries)
			abort();
		json_decref(problems);
		return 0;
	}
	roundtrip(entries);
	report = json_pack("{s:s, s:[{s:s, s:s, s:s, s:{s:s, s:s}, s:[{s:s, s:s}]}]}", "runId",
		"fuzz", "pods", "namespace", "prod", "name", "api-1", "workload", "api", "workloadRef",
		"kind", "Deployment", "name", "api", "containers", "name", "app", "verdict", "drift");
	if (rv_quarantine_observe(&runs, NULL, report) != 0 ||
	    rv_quarantine_step(&res, entries, runs, &cfg, "fuzz", 1767225600) != 0)
		abort();
	roundtrip(entries);
	json_decref(res);
	json_decref(runs);
	json_decref(report);
	json_decref(entries);
	json_decref(problems);
	return 0;
}
