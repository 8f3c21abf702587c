"""Prints how many of each operation's fuzz cases reached its handler (a status other than
401/403), from scripts/fuzz_hooks.py's report; fails when an operation with a body or
parameters is under the given percentage, or was not fuzzed at all.
usage: fuzz_reach.py OPENAPI REPORT PERCENT"""
import json
import sys

spec, report, floor = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), float(sys.argv[3])
stopped, report = report["stopped"], report["counts"]
failed = []
print(f"{'operation':<22} {'cases':>6} {'reached':>8}  statuses")
for path, methods in spec["paths"].items():
    for method, op in methods.items():
        name = op["operationId"]
        got = report.get(name, {})
        reached, door = got.get("reached", 0), got.get("door", 0)
        total = reached + door
        share = 100.0 * reached / total if total else 0.0
        statuses = " ".join(f"{k}:{v}" for k, v in sorted(got.items()) if k.isdigit())
        print(f"{name:<22} {total:>6} {share:>7.0f}%  {statuses}")
        if (op.get("parameters") or "requestBody" in op) and share < floor:
            failed.append(f"{name} ({share:.0f}% of {total})")
            for example in stopped.get(name, []):
                print(f"    stopped: {example}")
if failed:
    print(f"under {floor:.0f}% of cases past the door: " + ", ".join(failed))
    sys.exit(1)
