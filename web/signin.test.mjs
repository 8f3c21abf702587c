// The console's PKCE sign-in against a fake provider; the challenge is checked with
// Node's own SHA-256 (node:crypto), not the page's WebCrypto call.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, webcrypto } from "node:crypto";
import { beginSignIn, finishSignIn, signInSettings } from "./signin.js";

class Store {
  constructor() { this.map = new Map(); }
  getItem(k) { return this.map.has(k) ? this.map.get(k) : null; }
  setItem(k, v) { this.map.set(k, String(v)); }
  removeItem(k) { this.map.delete(k); }
}

const settings = { authority: "https://agents.auth.eu-west-1.amazoncognito.com", clientId: "client-1", redirectUri: "http://localhost:3000/agent" };
const b64url = (json) => Buffer.from(JSON.stringify(json)).toString("base64url");

test("signing in sends a S256 challenge and redeems the code with its verifier once", async () => {
  const storage = new Store();
  const url = new URL(await beginSignIn(settings, { crypto: webcrypto, storage }));
  assert.equal(`${url.origin}${url.pathname}`, `${settings.authority}/oauth2/authorize`);
  const q = url.searchParams;
  assert.equal(q.get("response_type"), "code");
  assert.equal(q.get("client_id"), "client-1");
  assert.equal(q.get("redirect_uri"), settings.redirectUri);
  assert.equal(q.get("code_challenge_method"), "S256");
  const { verifier } = JSON.parse(storage.getItem("livechat.signin"));
  assert.match(verifier, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(q.get("code_challenge"), createHash("sha256").update(verifier).digest("base64url"));

  const sent = [];
  const idToken = `${b64url({ alg: "RS256" })}.${b64url({ sub: "u-1", "cognito:username": "Zoë", "cognito:groups": ["support", "admin"] })}.sig`;
  const fetch = async (url, init) => {
    sent.push({ url, form: new URLSearchParams(init.body), type: init.headers["content-type"] });
    return { ok: true, json: async () => ({ id_token: idToken }) };
  };
  const session = await finishSignIn(settings, `?code=c1&state=${q.get("state")}`, { fetch, storage });
  assert.deepEqual(session, { token: idToken, userId: "u-1", name: "Zoë", admin: true });
  assert.equal(sent[0].url, `${settings.authority}/oauth2/token`);
  assert.equal(sent[0].type, "application/x-www-form-urlencoded");
  assert.deepEqual(Object.fromEntries(sent[0].form), {
    grant_type: "authorization_code", client_id: "client-1", code: "c1", redirect_uri: settings.redirectUri, code_verifier: verifier,
  });
  // The verifier is gone: the same answer replayed is not a sign-in.
  await assert.rejects(finishSignIn(settings, `?code=c1&state=${q.get("state")}`, { fetch, storage }), /not started here/);
});

test("a return that was not started here, or a refused code, is an error; no code is no sign-in", async () => {
  const storage = new Store();
  await beginSignIn(settings, { crypto: webcrypto, storage });
  const fetch = async () => { throw new Error("not called"); };
  await assert.rejects(finishSignIn(settings, "?code=c1&state=forged", { fetch, storage }), /not started here/);
  assert.equal(await finishSignIn(settings, "", { fetch, storage }), null);
  const url = new URL(await beginSignIn(settings, { crypto: webcrypto, storage }));
  const refused = async () => ({ ok: false, status: 400, json: async () => ({ error: "invalid_grant", error_description: "unknown, used or expired code" }) });
  await assert.rejects(finishSignIn(settings, `?code=c2&state=${url.searchParams.get("state")}`, { fetch: refused, storage }), /expired code/);
});

test("the provider comes from the deployment's console-config.json, never from the address or storage", async () => {
  const storage = new Store();
  const at = (search) => ({ search, origin: "http://127.0.0.1:3000", pathname: "/agent" });
  const none = async () => ({ ok: false, status: 404, json: async () => ({}) });
  const hostile = `?authority=${encodeURIComponent("https://evil.example")}&clientId=stolen`;
  // A link's parameters, and what an older console remembered, choose nothing.
  storage.setItem("livechat.authority", JSON.stringify({ authority: "https://evil.example", clientId: "stolen" }));
  const local = await signInSettings(at(hostile), { fetch: none, storage, configUrl: "http://127.0.0.1:3000/web/console-config.json" });
  assert.deepEqual(local, { authority: "http://127.0.0.1:3000", clientId: "livechat", redirectUri: "http://127.0.0.1:3000/agent" });
  assert.equal(storage.getItem("livechat.authority"), null, "the stale choice is wiped");
  // The deployment's settings: Cognito's hosted pages.
  const asked = [];
  const deployed = async (url) => { asked.push(String(url)); return { ok: true, json: async () => ({ authority: settings.authority + "/", clientId: "client-1" }) }; };
  const signIn = await signInSettings({ ...at(hostile), origin: "http://localhost:3000" }, { fetch: deployed, storage, configUrl: "http://localhost:3000/web/console-config.json" });
  assert.deepEqual(signIn, settings);
  assert.deepEqual(asked, ["http://localhost:3000/web/console-config.json"]);
  // A configured authority over plain http on another origin is not taken.
  const plain = async () => ({ ok: true, json: async () => ({ authority: "http://evil.example", clientId: "x" }) });
  assert.equal((await signInSettings(at(""), { fetch: plain, storage, configUrl: "x" })).authority, "http://127.0.0.1:3000");
});
