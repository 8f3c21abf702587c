"""schemathesis hooks for `make fuzz` (scripts/fuzz.sh loads them with SCHEMATHESIS_HOOKS).

Without them the fuzzer's cases stop at the door: made-up chat ids and one token for every
route are answered 401 or 403 before a handler reads its input. Here each case is pointed
at real objects (a chat with its customer, an invited customer, an Owner and an invited
agent; a message, a file, a webhook) and carries a token its route lets through, chosen
from the route's `x-access` in docs/openapi.json; every other input stays as generated.
Callers rotate through the identities each route admits: a Public visitor, a verified
customer (an identity token, as a site's backend signs it), a customer invited by an
agent, an agent with the admin role, an invited agent. Routes that change or remove what
they act on get fresh objects for every case, so one case's effect does not decide the
next one's answer. Each answer is counted per operation into FUZZ_REPORT: a case that got
a status other than 401 or 403 reached its handler.
"""

import atexit
import base64
import collections
import hashlib
import hmac
import itertools
import json
import os
import time

import requests
import schemathesis

API = os.environ["FUZZ_API"]
REPORT = os.environ["FUZZ_REPORT"]
# The local server's development secret for customer identity tokens (local/src/main.rs).
IDENTITY_SECRET = os.environ.get("CUSTOMER_IDENTITY_SECRET", "local-development-identity-secret-0123456789")
CHANNEL = "fuzz"
OWNER = "fuzz-owner"
INVITEE = "fuzz-invitee"
PARTICIPANT = "fuzz-part"
KNOWN = "fuzz-known"

session = requests.Session()
counts = collections.defaultdict(collections.Counter)
stopped = collections.defaultdict(list)  # a few cases per operation that stopped at the door
refused = collections.defaultdict(list)  # a few cases per operation the handler refused (400)


def call(method, path, token=None, body=None, expect=(200, 201, 204)):
    headers = {"authorization": f"Bearer {token}"} if token else {}
    r = session.request(method, API + path, json=body, headers=headers, timeout=10)
    if r.status_code not in expect:
        raise RuntimeError(f"fuzz seed: {method} {path} answered {r.status_code} {r.text}")
    return r.json() if r.content else None


def agent_token(user_id, roles=()):
    return call("POST", "/dev/tokens", body={"userId": user_id, "name": user_id, "roles": list(roles)})["token"]


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def identity_token(customer_id):
    """HS256, as a site's backend signs it for a logged-in customer (identity verification)."""
    now = int(time.time())
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = {"sub": customer_id, "name": "Verified Fuzz", "aud": "livechat-identity", "iat": now, "exp": now + 3600}
    signing_input = f"{head}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(IDENTITY_SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


owner = agent_token(OWNER, ["admin"])
invitee = agent_token(INVITEE)
chats_made = itertools.count()


class World:
    """One chat with everyone a route may be called by, and the objects routes name."""

    def __init__(self, operation_id):
        verified = next(chats_made) % 2 == 1
        body = {"channelId": CHANNEL, "nickname": "Fuzz"}
        if verified:
            self.customer_id = f"fuzz-verified-{next(chats_made)}"
            body["identityToken"] = identity_token(self.customer_id)
        started = call("POST", "/chats", body=body)
        self.chat = started["chat"]["chatId"]
        self.customer_id = started["chat"]["requesterId"]
        self.customer_type = started["chat"]["requesterType"]
        self.customer = started["token"]
        chat = f"/chats/{self.chat}"
        call("PATCH", chat, owner, {"status": "active"})
        added = call("POST", f"{chat}/participants", owner,
                     {"chatterId": KNOWN, "chatterType": "Customer", "chatterName": "Known", "chatterActive": 1})
        self.invited = added["token"]
        call("POST", f"{chat}/participants", owner,
             {"chatterId": PARTICIPANT, "chatterType": "User", "permissionLevel": "Participant", "chatterActive": 1})
        # Through this chat: invitations-remove finds it by invitationChatId.
        call("POST", f"{chat}/invitations", owner, {"inviteUserId": INVITEE, "invitationChatId": self.chat})
        self.message = call("POST", f"{chat}/messages", self.customer, {"text": "fuzz"})["message"]["messageId"]
        self.file = None
        if operation_id in ("file-post", "file-download"):
            self.file = self.upload(posted=operation_id == "file-download")
        if operation_id == "customer-erase":  # a customer is erased once its chats are closed
            call("PATCH", chat, owner, {"status": "closed"})
        if operation_id == "chat-decline":  # only an agent-to-agent chat is declined
            self.chat = call("POST", "/chats", owner, {"channelId": "internal"})["chat"]["chatId"]
            call("POST", f"/chats/{self.chat}/invitations", owner, {"inviteUserId": INVITEE})
        self.webhook = None
        if operation_id.startswith("webhook-"):
            hook = {"url": "https://hooks.example.com/fuzz", "format": "native", "events": ["ChatAdd"]}
            self.webhook = call("POST", "/webhooks", owner, hook)["webhookId"]

    def upload(self, posted):
        data = b"fuzz"
        answer = call("POST", f"/chats/{self.chat}/files", self.customer,
                      {"name": "fuzz.txt", "size": len(data), "type": "text/plain"})
        up = answer["upload"]
        r = session.request(up["method"], up["url"], data=data, headers=up["headers"], timeout=10)
        if r.status_code >= 300:
            raise RuntimeError(f"fuzz seed: upload answered {r.status_code} {r.text}")
        file_id = answer["file"]["fileId"]
        if posted:
            call("POST", f"/chats/{self.chat}/files/{file_id}", self.customer)
        return file_id

    def callers(self, operation_id, access):
        """(token, chatterType, chatterId) of each identity the route admits."""
        agent = (owner, "User", OWNER)
        customers = [(self.customer, self.customer_type, self.customer_id), (self.invited, "Customer", KNOWN)]
        if operation_id in INVITEE_OPERATIONS:
            return [(invitee, "User", INVITEE)]
        if operation_id == "file-post":  # only the uploader posts its file
            return customers[:1]
        if operation_id in ("message-update", "message-delete"):  # only its author changes a message
            return customers[:1]
        return {
            "Open": [(None, None, None)],
            "ChatToken": customers,
            "ChatRead": [agent, *customers],
            "ChatPost": [agent, *customers],
            "ChatSelf": [agent, *customers],
        }.get(access, [agent])


# An invited agent's own invitations, and its declining one.
INVITEE_OPERATIONS = ("invitation-list", "invitations-remove", "invitation-remove", "chat-decline")


# Operations whose cases change or remove the objects they act on get a world each.
def destructive(operation):
    method = operation.method.upper()
    # file-upload too: a chat takes FILES_MAX_PER_CHAT uploads, then refuses more (409); a
    # file is posted once; a customer is erased once; an agent is invited or added once.
    return method in ("PATCH", "DELETE") or operation.definition.raw.get("operationId") in (
        "chat-leave", "chat-decline", "invitations-remove", "file-upload", "file-post", "customer-erase",
        "invitation-add", "participant-add")


worlds = {}
turns = collections.Counter()


@schemathesis.hook
def before_call(context, case, kwargs):
    raw = case.operation.definition.raw
    op = raw["operationId"]
    if destructive(case.operation) or op not in worlds:
        worlds[op] = World(op)
    world = worlds[op]
    callers = world.callers(op, raw.get("x-access", "Agent"))
    token, chatter_type, chatter_id = callers[turns[op] % len(callers)]
    turns[op] += 1
    # A message's earlier versions are for agents: a case that asks for them is an agent's.
    if op == "message-get" and (case.query or {}).get("history") in ("1", "true"):
        token, chatter_type, chatter_id = callers[0]

    params = case.path_parameters or {}
    real = {
        "chatId": world.chat,
        "messageId": world.message,
        "fileId": world.file,
        "webhookId": world.webhook,
        "customerId": world.customer_id,
        # Acting on a participation: the caller's own; on another's: the Participant agent.
        "chatterType": chatter_type if raw.get("x-access") == "ChatSelf" else "User",
        "chatterId": chatter_id if raw.get("x-access") == "ChatSelf" else PARTICIPANT,
        "userId": INVITEE if op in INVITEE_OPERATIONS else OWNER,
    }
    for name in params:
        if real.get(name) is not None:
            params[name] = real[name]
    # Query parameters that name a chat point at the world's, when the case has them; a
    # flag's user is the caller (agents set and delete only their own flags).
    if case.query:
        for name in ("chatId", "invitationChatId"):
            if name in case.query:
                case.query[name] = world.chat
        if op.startswith("flag") and "userId" in case.query:
            case.query["userId"] = OWNER
    if op.startswith("flag") and isinstance(case.body, dict) and "userId" in case.body:
        case.body["userId"] = OWNER
    # An identity token is the site's signature, which no schema can generate: a case that
    # carries one carries a real one, for a customer that may use it (the caller itself when
    # it confirms its own participation; an agent has none to give).
    if isinstance(case.body, dict) and "identityToken" in case.body:
        if op == "chat-add":
            named = case.body.get("requesterId")
            who = named if isinstance(named, str) and named.strip() else f"fuzz-customer-{next(chats_made)}"
            case.body["identityToken"] = identity_token(who)
        elif op == "participant-update" and chatter_type == "Customer":
            case.body["identityToken"] = identity_token(chatter_id)
        else:
            del case.body["identityToken"]
    # A receiver must be at an address the service may reach, which no schema can say: a
    # case meant to fit the schema names one (loopback, which the local stack allows).
    meta = getattr(case, "meta", None)
    if op == "webhook-add" and meta is not None and str(meta.generation.mode) == "positive" and isinstance(case.body, dict):
        case.body["url"] = f"http://127.0.0.1:9/fuzz/{next(chats_made)}"
    # Monitoring and permissions are agents' to set: a customer's case changes its own state.
    if op == "participant-update" and chatter_type != "User" and isinstance(case.body, dict):
        for field in ("monitoring", "permissionLevel"):
            case.body.pop(field, None)
    if case.headers is None:
        case.headers = {}
    if token:
        case.headers["Authorization"] = f"Bearer {token}"
    else:
        case.headers.pop("Authorization", None)


@schemathesis.hook
def after_call(context, case, response):
    op = case.operation.definition.raw["operationId"]
    at_door = response.status_code in (401, 403)
    counts[op]["door" if at_door else "reached"] += 1
    counts[op][str(response.status_code)] += 1
    if at_door and len(stopped[op]) < 3:
        stopped[op].append(f"{case.method} {case.formatted_path} {case.query} {case.body!r:.200}: {response.text[:200]}")
    # Cases meant to fit the schema (not its negative ones), past the door: how many the
    # handler accepted, and a few it refused (the schema's gaps, or the world's, for `FUZZ_SHOW=1`).
    meta = getattr(case, "meta", None)
    positive = meta is not None and str(meta.generation.mode) == "positive"
    # A 429 is the rate limit's answer (a replay's five a minute), not the handler's to the input.
    if positive and not at_door and response.status_code not in (405, 429):
        counts[op]["positive"] += 1
        counts[op]["positive2xx"] += 200 <= response.status_code < 300
        if 400 <= response.status_code < 500 and len(refused[op]) < 5:
            refused[op].append(f"{case.query} {case.body!r:.160}: {response.text[:160]}")


@atexit.register
def write_report():
    with open(REPORT, "w") as f:
        json.dump({"counts": counts, "stopped": stopped, "refused": refused}, f, indent=1, sort_keys=True)
