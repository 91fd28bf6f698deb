/* aggregate.h - over a run's results: the summary, and how many pods show the same drift */
#ifndef RV_AGGREGATE_H
#define RV_AGGREGATE_H

#include <stddef.h>

#include <jansson.h>

#include "pipeline/result.h"

/* The report's "summary": pods, containers, one count per verdict, and
 * the containers whose build an agent touched. New reference or NULL. */
json_t *rv_aggregate_summary(const rv_presult *pods, size_t n);

/*
 * The report's "aggregation": drifted containers grouped by drift group
 * (same image digest and the same changes), most widespread first, each
 * with its count, the containers ("ns/pod/container") and up to five
 * example findings. New reference or NULL.
 */
json_t *rv_aggregate_groups(const rv_presult *pods, size_t n);

#endif
