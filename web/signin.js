// The console's sign-in: the authorization code flow with PKCE (RFC 7636, S256) for a
// public client (no secret can live in a page), at the paths of Cognito's hosted pages:
// `<authority>/oauth2/authorize` and `<authority>/oauth2/token`. Locally the local server
// is the authority.

const b64url = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const KEY = "livechat.signin";

// Where to sign in: the deployment's own settings (`console-config.json`, served beside
// this script: `{"authority", "clientId"}`), else this origin's own provider with the local
// audience. Never the address or storage: a link must not choose where the code and its
// verifier are sent (a stale choice from an older console is wiped).
export async function signInSettings(location, { fetch = globalThis.fetch, storage = globalThis.localStorage, configUrl = new URL("console-config.json", import.meta.url) } = {}) {
  storage?.removeItem("livechat.authority");
  let config = null;
  try {
    const response = await fetch(configUrl, { cache: "no-store" });
    if (response.ok) config = await response.json();
  } catch {
    // No deployment settings: this origin's provider.
  }
  const https = (url) => { try { const u = new URL(url); return u.protocol === "https:" || u.origin === location.origin; } catch { return false; } };
  const authority = typeof config?.authority === "string" && https(config.authority) ? config.authority.replace(/\/+$/, "") : location.origin;
  return {
    authority,
    clientId: typeof config?.clientId === "string" && config.clientId ? config.clientId : "livechat",
    redirectUri: `${location.origin}${location.pathname}`,
  };
}

// The authorization URL to go to; the verifier and state wait in `storage` for the return.
export async function beginSignIn({ authority, clientId, redirectUri }, { crypto = globalThis.crypto, storage = globalThis.sessionStorage } = {}) {
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const state = b64url(crypto.getRandomValues(new Uint8Array(16)));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  storage.setItem(KEY, JSON.stringify({ verifier, state }));
  const query = new URLSearchParams({
    response_type: "code",
    client_id: clientId,
    redirect_uri: redirectUri,
    scope: "openid profile email",
    state,
    code_challenge: b64url(digest),
    code_challenge_method: "S256",
  });
  return `${authority}/oauth2/authorize?${query}`;
}

// Back from the provider with `?code=&state=`: the code redeemed with the verifier for an
// ID token ({token, userId, name, admin}); null when the page was not opened by a sign-in.
export async function finishSignIn({ authority, clientId, redirectUri }, search, { fetch = globalThis.fetch, storage = globalThis.sessionStorage } = {}) {
  const query = new URLSearchParams(search);
  const code = query.get("code");
  if (!code) return null;
  const pending = JSON.parse(storage.getItem(KEY) ?? "null");
  storage.removeItem(KEY);
  if (!pending || pending.state !== query.get("state")) throw new Error("This sign-in was not started here.");
  const response = await fetch(`${authority}/oauth2/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", client_id: clientId, code, redirect_uri: redirectUri, code_verifier: pending.verifier }).toString(),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error_description ?? answer.error ?? `HTTP ${response.status}`);
  const payload = answer.id_token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(payload), (c) => c.charCodeAt(0))));
  // Whether to offer what only administrators may do (the API decides; this only hides
  // buttons that would be refused): Cognito's groups, or a `roles` claim.
  const admin = [...(claims["cognito:groups"] ?? []), ...(claims.roles ?? [])].includes("admin");
  return { token: answer.id_token, userId: claims.sub, name: claims.name ?? claims["cognito:username"] ?? claims.sub, admin };
}
