#!/usr/bin/env python3
"""Turns a LIVECHAT lc_serv.cfg (EVENT_<NAME> <URL> lines) into webhook subscriptions.

Usage: import-lc-serv-cfg.py API_URL AGENT_TOKEN lc_serv.cfg

Each URL becomes one `direct` webhook in the `rpc` format (form fields, no handshake),
for every event named for it; its signing secret is printed once. Licence
events (NEW_LICENCE, NEW_OPERATOR, LICENCE_INFO, NEW_OPERATOR_SUBSCRIPTION) have no
counterpart in this product and are skipped with a warning (see docs/events.md).
"""
import json
import sys
import urllib.request

NO_COUNTERPART = {"NEW_LICENCE", "NEW_OPERATOR", "LICENCE_INFO", "NEW_OPERATOR_SUBSCRIPTION"}


def parse(text):
    by_url = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[0].startswith("EVENT_"):
            print(f"line {number}: not an EVENT_<NAME> <URL> line, skipped", file=sys.stderr)
            continue
        name, url = parts[0][len("EVENT_"):], parts[1]
        if name in NO_COUNTERPART:
            print(f"line {number}: {name} has no counterpart here, skipped", file=sys.stderr)
            continue
        by_url.setdefault(url, []).append(name)
    return by_url


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    api, token, path = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
    with open(path, encoding="utf-8") as f:
        by_url = parse(f.read())
    failed = False
    for url, events in by_url.items():
        body = json.dumps({"url": url, "format": "rpc", "events": events}).encode()
        request = urllib.request.Request(f"{api}/webhooks", data=body, method="POST",
                                         headers={"authorization": f"Bearer {token}", "content-type": "application/json"})
        try:
            with urllib.request.urlopen(request) as answer:
                created = json.load(answer)
                print(f"{url}: {', '.join(events)} -> {created['webhookId']} (secret {created.get('secret', '-')})")
        except urllib.error.HTTPError as e:
            failed = True
            print(f"{url}: {e.code} {e.read().decode()}", file=sys.stderr)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
