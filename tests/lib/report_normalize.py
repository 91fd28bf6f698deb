#!/usr/bin/env python3
"""report_normalize.py - one verify run's outcome, without what legitimately
differs between two runs against the same pods, for tests/compare-reports.

    report_normalize.py REPORT.json EXITCODE [--drop stats.KEY]... > NORMALIZED.json
    report_normalize.py --summary REPORT.json   # one line per container
    report_normalize.py --paths OLD.norm NEW.norm   # where two normalized reports differ

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

- stats.registryRequests: depends on thread timing. Each worker resolves
  the spec's tag for the claims through a per-run cache that is filled
  after the request (rv_runcache_resolve_tag in lib/pipeline/runcache.c: "two
  workers may resolve the same tag at once, which costs one more request,
  not a wrong answer"), so two pods of one image give 5 or 6 requests from
  one binary on one state. registryBytes (blob bytes only: an image is
  fetched once per run, the other workers wait for it) and images are kept.
- with --drop stats.KEY (given by a case, with its reason there): another
  stat that is timing-dependent in that case only, e.g. apiRequests when
  the probe times out (the wait loop re-watches or polls as time allows).

Kept: stats.apiRequests (the list, the probe patches, the watches, the
logs read, events and annotation writes: a refactor that reads a log it
need not read changes it), stats.registryBytes, stats.images. Two runs of
one binary against pods in the same state make the same API requests when
the probes finish; the cases run with --no-annotate unless they test the
annotations, because an annotation written or removed by OLD's run changes
what NEW has to write.
"""
import json
import sys

DROP_KEYS = {"startedAt", "finishedAt", "timings"}
DROP_STATS = {"registryRequests"}


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


def summary(path):
    """verdict and reason of each container, for the log of a case"""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            report = json.load(f)
    except (OSError, ValueError) as e:
        print("(no JSON report: %s)" % e)
        return 0
    for pod in report.get("pods") or []:
        for c in pod.get("containers") or []:
            kinds = sorted({f.get("kind", "?") for f in c.get("findings") or []})
            claims = [cl.get("kind", "?") for cl in c.get("claims") or []]
            prov = (c.get("provenance") or {})
            line = "%s/%s/%s: %s" % (pod.get("namespace"), pod.get("name"), c.get("name"), c.get("verdict"))
            if c.get("reason"):
                line += " (%s)" % c["reason"][:160]
            if kinds:
                line += " findings=" + ",".join(kinds)
            if claims:
                line += " claims=" + ",".join(claims)
            if prov.get("agentTouchedBuild"):
                line += " agentTouchedBuild"
            print(line)
    groups = [g.get("count") for g in report.get("aggregation") or []]
    if groups:
        print("aggregation: %d group(s) of %s" % (len(groups), ",".join(map(str, groups))))
    for e in report.get("errors") or []:
        print("error: %s" % e)
    return 0


def differences(a, b, path, out):
    """JSON paths where a and b differ; a pod is named by namespace/name"""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append("%s.%s %s" % (path, k, "added" if k not in a else "removed"))
            else:
                differences(a[k], b[k], "%s.%s" % (path, k), out)
    elif isinstance(a, list) and isinstance(b, list):
        for i in range(max(len(a), len(b))):
            label = "%s[%d]" % (path, i)
            item = a[i] if i < len(a) else b[i]
            if isinstance(item, dict) and "namespace" in item and "name" in item:
                label += "(%s/%s)" % (item["namespace"], item["name"])
            if i >= len(a) or i >= len(b):
                out.append("%s %s" % (label, "added" if i >= len(a) else "removed"))
            else:
                differences(a[i], b[i], label, out)
    elif a != b:
        out.append("%s: %s -> %s" % (path, json.dumps(a)[:80], json.dumps(b)[:80]))


def paths(old, new):
    with open(old) as f:
        a = json.load(f)
    with open(new) as f:
        b = json.load(f)
    out = []
    differences(a, b, "", out)
    for line in out[:20]:
        print(line)
    if len(out) > 20:
        print("... and %d more" % (len(out) - 20))
    return 0


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--summary":
        return summary(sys.argv[2])
    if len(sys.argv) == 4 and sys.argv[1] == "--paths":
        return paths(sys.argv[2], sys.argv[3])
    args = sys.argv[1:]
    drop_stats = set(DROP_STATS)
    while len(args) > 2 and args[-2] == "--drop" and args[-1].startswith("stats."):
        drop_stats.add(args[-1][len("stats."):])
        args = args[:-2]
    if len(args) != 2:
        sys.stderr.write("usage: report_normalize.py REPORT.json EXITCODE [--drop stats.KEY]...\n")
        return 64
    with open(args[0], encoding="utf-8", errors="replace") as f:
        text = f.read()
    try:
        report = json.loads(text)
    except ValueError:
        report = {"unparsed": text}
    if isinstance(report, dict) and isinstance(report.get("runId"), str):
        run_id = report["runId"]
        report = scrub(report, run_id)
        report["runId"] = "<run>"
        if isinstance(report.get("stats"), dict):
            for k in drop_stats:
                report["stats"].pop(k, None)
    out = {"exitCode": int(args[1]), "report": report}
    json.dump(out, sys.stdout, indent=2, sort_keys=True, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
