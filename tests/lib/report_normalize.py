#!/usr/bin/env python3
"""report_normalize.py - one verify run's outcome, without what legitimately
differs between two runs against the same pods, for tests/compare-reports.

    report_normalize.py REPORT.json EXITCODE > NORMALIZED.json

Prints {"exitCode": N, "report": ...} as sorted, indented JSON so that two
runs can be compared with diff -u. A report that is not JSON (a crash, a
usage error) is kept as {"unparsed": TEXT} so that the diff shows it.

Removed or replaced, and only these (everything else is compared: verdicts,
reasons, findings, counts, claims, provenance, aggregation groups, packages,
notes, errors, stats, the exit code):

- runId: random per run (or --run-id). Replaced by "<run>", and so is the
  run id inside every probe container name rv-<runId>-<n> in any string
  (container[].probe.container, a reason quoting it). The <n> (the
  container's index in the pod) is kept.
- startedAt, finishedAt: wall-clock times of the run.
- every "timings" object, at any depth (the report's listMs/totalMs, each
  container's imageMs/probeMs/totalMs): durations.

Not removed: "stats" (apiRequests, registryRequests, registryBytes,
images). Without --cache-dir, and with the pods in the same state, two runs
of one binary make the same requests (checked by running one binary twice,
see docs/sandbox.md); with --cache-dir each binary gets its own empty cache
dir, so the cache starts equal too. If a refactor changes them, that is a
change of behaviour worth seeing (e.g. the image fetched twice).
"""
import json
import sys

DROP_KEYS = {"startedAt", "finishedAt", "timings"}


def scrub(value, run_id):
    if isinstance(value, dict):
        return {k: scrub(v, run_id) for k, v in value.items() if k not in DROP_KEYS}
    if isinstance(value, list):
        return [scrub(v, run_id) for v in value]
    if isinstance(value, str) and run_id:
        # only as a probe container name, so that a digest that happens to
        # contain the 8 hex digits is never touched
        return value.replace("rv-" + run_id + "-", "rv-<run>-")
    return value


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: report_normalize.py REPORT.json EXITCODE\n")
        return 64
    with open(sys.argv[1], encoding="utf-8", errors="replace") as f:
        text = f.read()
    try:
        report = json.loads(text)
    except ValueError:
        report = {"unparsed": text}
    if isinstance(report, dict) and isinstance(report.get("runId"), str):
        run_id = report["runId"]
        report = scrub(report, run_id)
        report["runId"] = "<run>"
    out = {"exitCode": int(sys.argv[2]), "report": report}
    json.dump(out, sys.stdout, indent=2, sort_keys=True, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
