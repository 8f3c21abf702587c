"""Prints how many of each operation's fuzz cases reached its handler (a status other than
401/403) and what share of the cases meant to fit the schema (schemathesis's positive ones,
past the door, with the route's own method) the handler accepted (2xx), from scripts/fuzz_hooks.py's report; fails when an operation
with a body or parameters reached its handler in under the given percentage of cases, or
was not fuzzed at all. `FUZZ_SHOW=1` prints what the handlers refused (400) that the
schema allowed. Operations whose 2xx share is under a third are listed: the schema allows
more than the handler takes.
usage: fuzz_reach.py OPENAPI REPORT PERCENT"""
import json
import os
import sys

spec, report, floor = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), float(sys.argv[3])
stopped, refused, report = report["stopped"], report.get("refused", {}), report["counts"]
failed, loose = [], []
print(f"{'operation':<22} {'cases':>6} {'reached':>8} {'2xx':>5}  statuses")
for path, methods in spec["paths"].items():
    for method, op in methods.items():
        name = op["operationId"]
        got = report.get(name, {})
        reached, door = got.get("reached", 0), got.get("door", 0)
        total = reached + door
        share = 100.0 * reached / total if total else 0.0
        statuses = " ".join(f"{k}:{v}" for k, v in sorted(got.items()) if k.isdigit())
        answered, ok = got.get("positive", 0), got.get("positive2xx", 0)
        accepted = 100.0 * ok / answered if answered else 0.0
        print(f"{name:<22} {total:>6} {share:>7.0f}% {accepted:>4.0f}%  {statuses}")
        if (op.get("parameters") or "requestBody" in op) and accepted < 100 / 3:
            loose.append(f"{name} ({accepted:.0f}%)")
        if os.environ.get("FUZZ_SHOW"):
            for example in refused.get(name, []):
                print(f"    refused: {example}")
        if (op.get("parameters") or "requestBody" in op) and share < floor:
            failed.append(f"{name} ({share:.0f}% of {total})")
            for example in stopped.get(name, []):
                print(f"    stopped: {example}")
print(f"{len(loose)} operations accept under a third of the cases their schema allows: " + (", ".join(loose) or "none"))
if failed:
    print(f"under {floor:.0f}% of cases past the door: " + ", ".join(failed))
    sys.exit(1)
