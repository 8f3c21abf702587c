"""A webhook receiver written as a LIVECHAT RPC script's owner would write one: Python's
standard library only (http.server, urllib.parse.parse_qs for the form fields), plus the
independent `standardwebhooks` package to verify each delivery's signature. It knows
nothing of SNS. It prints "PORT <n>", then one JSON line per request it answers.

Usage: webhook_receiver.py SECRET_FILE FAIL_FIRST FAIL_STATUS [LOCATION]
  SECRET_FILE  read at each request (the test writes it once the webhook exists)
  FAIL_FIRST   how many requests to answer FAIL_STATUS before answering 200
  LOCATION     a Location header for those answers (a redirect)
"""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from standardwebhooks import Webhook

SECRET_FILE, FAIL_FIRST, FAIL_STATUS = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
LOCATION = sys.argv[4] if len(sys.argv) > 4 else None
seen = 0
lock = threading.Lock()


def secret():
    try:
        with open(SECRET_FILE) as f:
            return f.read().strip() or None
    except OSError:
        return None


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        global seen
        body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
        with lock:
            seen += 1
            status = FAIL_STATUS if seen <= FAIL_FIRST else 200
        key = secret()
        try:
            Webhook(key).verify(body, dict(self.headers.items()), json_parse=False)
            verified = True
        except Exception:
            verified = False
        content_type = self.headers.get("content-type", "")
        fields = None
        if content_type.startswith("application/x-www-form-urlencoded"):
            fields = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
        line = json.dumps({
            "path": self.path,
            "id": self.headers.get("webhook-id"),
            "contentType": content_type,
            "snsMessageType": self.headers.get("x-amz-sns-message-type"),
            "verified": verified,
            "fields": fields,
            "body": body,
            "status": status,
        })
        # One write per line, under the lock: print() writes the text and its newline
        # separately, so two deliveries answered at once could merge into one unreadable
        # line, and the test would miss both (the replay test's rare failure).
        with lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        self.send_response(status)
        if LOCATION and status != 200:
            self.send_header("location", LOCATION)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"PORT {server.server_address[1]}", flush=True)
server.serve_forever()
