"""`make deploy-local`'s smoke suite, against the deployed stack's own API URL: a chat
started, accepted, messages both ways, a direct webhook's signed event arriving (the
table's stream through its filtered mapping, the publisher, SNS, the queue and the
dispatcher), an SNS-mode webhook's (the topic's own HTTP subscription), and the scheduled
cleanup removing the closed chat. Standard library only.

Usage: deploy_smoke.py <deploy-output.json>
"""

import base64
import hashlib
import hmac
import http.server
import json
import sys
import threading
import time
import urllib.error
import urllib.request


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def agent_token(key, user_id, roles):
    """An HS256 development agent token, as an operator's own tooling would sign it."""
    header = b64url(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
    now = int(time.time())
    claims = {"sub": user_id, "name": user_id.title(), "iss": "livechat-agents", "aud": "livechat",
              "iat": now, "exp": now + 3600, "roles": roles}
    body = f"{header}.{b64url(json.dumps(claims).encode())}"
    signature = hmac.new(key.encode(), body.encode(), hashlib.sha256).digest()
    return f"{body}.{b64url(signature)}"


class Api:
    def __init__(self, base):
        self.base = base

    def call(self, method, path, token=None, body=None, expect=200):
        request = urllib.request.Request(self.base + path, method=method,
                                         data=None if body is None else json.dumps(body).encode())
        request.add_header("content-type", "application/json")
        if token:
            request.add_header("authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode()
        if status != expect:
            raise AssertionError(f"{method} {path}: expected {expect}, got {status} {text}")
        return json.loads(text) if text else None


class Receiver(http.server.BaseHTTPRequestHandler):
    """A webhook receiver on loopback: keeps what it is sent."""
    received = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        Receiver.received.append((self.path, dict(self.headers), body))
        # An SNS subscription delivers once its receiver fetches the SubscribeURL.
        if self.headers.get("x-amz-sns-message-type") == "SubscriptionConfirmation":
            urllib.request.urlopen(json.loads(body)["SubscribeURL"], timeout=30).read()
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def verified(secret, headers, body):
    """Standard Webhooks: base64 HMAC-SHA256 of `id.timestamp.body` under the secret."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(s.split(",", 1)[-1] == expected for s in headers["webhook-signature"].split())


def wait_for(what, check, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {seconds} s")


def step(name):
    print(f"  ok  {name}", flush=True)


def main():
    out = json.load(open(sys.argv[1]))
    api = Api(out["api"])
    admin = agent_token(out["keys"]["AgentTokenSecretName"], "ann", ["admin"])

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    hook = api.call("POST", "/webhooks", admin, {"url": url, "format": "native", "mode": "direct",
                                                 "events": ["ChatAdd", "ChatMessageAdd"]}, expect=201)
    secret = hook["secret"]
    step("an admin agent subscribes a direct webhook")
    api.call("POST", "/webhooks", admin, {"url": url.replace("/hook", "/sns"), "format": "native", "mode": "sns",
                                          "events": ["ChatAdd"]}, expect=201)
    step("and an SNS-mode webhook (the topic's HTTP subscription, confirmed by the receiver)")

    started = api.call("POST", "/chats", body={"channelId": "sales", "nickname": "Vic", "subject": "Pricing"},
                       expect=201)
    chat, visitor = started["chat"]["chatId"], started["token"]
    assert started["chat"]["status"] == "request", started
    step("a visitor starts a chat")

    queue = api.call("GET", "/chats?status=request", admin)
    assert chat in [c["chatId"] for c in queue["chats"]], queue
    accepted = api.call("PATCH", f"/chats/{chat}", admin, {"status": "active"})
    assert accepted["chat"]["status"] == "active", accepted
    step("an agent finds it in the queue and accepts it")

    api.call("POST", f"/chats/{chat}/messages", visitor, {"text": "Hello, how much is it?"}, expect=201)
    api.call("POST", f"/chats/{chat}/messages", admin, {"text": "Ten euros."}, expect=201)
    texts = [m.get("text") for m in api.call("GET", f"/chats/{chat}/messages", visitor)["messages"]]
    assert "Hello, how much is it?" in texts and "Ten euros." in texts, texts
    step("messages both ways, each side reads both")

    def delivered():
        names = set()
        for path, headers, body in Receiver.received:
            headers = {k.lower(): v for k, v in headers.items()}
            if path == "/hook" and chat in body.decode():
                assert verified(secret, headers, body), "a delivery whose signature does not verify"
                names.add(json.loads(body)["event"])
        return names if len(names) >= 2 else None

    names = wait_for("the webhook's ChatAdd and ChatMessageAdd", delivered, 90)
    step(f"the webhook receives the chat's events, signed ({', '.join(sorted(names))})")

    def through_sns():
        return any(path == "/sns" and chat in body.decode() for path, _, body in Receiver.received)

    wait_for("the SNS-mode webhook's ChatAdd", through_sns, 90)
    step("the SNS-mode webhook receives the chat's ChatAdd from the topic")

    api.call("PATCH", f"/chats/{chat}", admin, {"status": "closed"})
    wait_for("the scheduled cleanup removing the closed chat",
             lambda: gone(api, chat, admin), 150)
    step("the scheduled cleanup removes the closed chat")
    server.shutdown()
    print("smoke: passed")


def gone(api, chat, token):
    try:
        api.call("GET", f"/chats/{chat}", token, expect=404)
        return True
    except AssertionError:
        return False


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"smoke: FAILED: {e}", file=sys.stderr)
        sys.exit(1)
