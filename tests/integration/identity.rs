//! Identity and access (issue 17): who may claim to be whom, and object-level rules.

use integration_tests::TestApp;
use serde_json::json;

#[tokio::test]
async fn a_private_request_is_read_and_accepted_only_by_the_agents_it_targets() {
    let t = TestApp::new().await;
    let (ann, bob, eve) = (t.agent_token("ann"), t.agent_token("bob"), t.agent_token("eve"));
    let private = json!({"channelId": "sales", "targetType": "User"});
    let (status, body) = t.call("POST", "/chats", Some(&ann), Some(private)).await;
    assert_eq!(status, 201, "{body}");
    let chat = body["chat"]["chatId"].as_str().unwrap().to_string();
    let p = format!("/chats/{chat}");
    assert_eq!(
        t.call("POST", &format!("{p}/invitations"), Some(&ann), Some(json!({"inviteUserId": "bob"}))).await.0,
        201
    );
    // Eve, not invited: cannot read it, accept it, or see it in the queue.
    assert_eq!(t.call("GET", &p, Some(&eve), None).await.0, 403);
    assert_eq!(t.call("PATCH", &p, Some(&eve), Some(json!({"status": "active"}))).await.0, 403);
    let (_, queue) = t.call("GET", "/chats?status=request", Some(&eve), None).await;
    assert!(!queue.to_string().contains(&chat), "{queue}");
    // Bob, invited: reads it, sees it among his own chats, and accepts it.
    assert_eq!(t.call("GET", &p, Some(&bob), None).await.0, 200);
    let (_, mine) = t.call("GET", "/chats?chatterId=bob&chatterType=User", Some(&bob), None).await;
    assert!(mine.to_string().contains(&chat), "{mine}");
    let (_, requester_queue) = t.call("GET", "/chats?status=request", Some(&ann), None).await;
    assert!(requester_queue.to_string().contains(&chat), "its requester lists it");
    assert_eq!(t.call("PATCH", &p, Some(&bob), Some(json!({"status": "active"}))).await.0, 200);
    // A customer's request stays open to every agent.
    let (open, _) = t.start_chat("sales").await;
    assert_eq!(t.call("GET", &format!("/chats/{open}"), Some(&eve), None).await.0, 200);
}

#[tokio::test]
async fn a_flag_is_set_only_by_an_agent_who_may_read_its_chat() {
    let t = TestApp::new().await;
    let (ann, eve) = (t.agent_token("ann"), t.agent_token("eve"));
    let (chat, _) = t.start_chat("sales").await;
    let flag = format!("/chats/{chat}/flags/Seen");
    // A request in the queue: any agent reads it, so any agent flags it.
    assert_eq!(t.call("PUT", &flag, Some(&eve), Some(json!({"value": "1"}))).await.0, 200);
    assert_eq!(t.call("PATCH", &format!("/chats/{chat}"), Some(&ann), Some(json!({"status": "active"}))).await.0, 200);
    // Taken by Ann: Eve may no longer read it, so may not flag it.
    assert_eq!(t.call("PUT", &flag, Some(&eve), Some(json!({"value": "2"}))).await.0, 403);
    assert_eq!(t.call("GET", &format!("/flags?chatId={chat}"), Some(&eve), None).await.0, 403);
    assert_eq!(t.call("PUT", &flag, Some(&ann), Some(json!({"value": "1"}))).await.0, 200);
    let (_, flags) = t.call("GET", &format!("/flags?chatId={chat}&userId=ann"), Some(&ann), None).await;
    assert_eq!(flags["flags"][0]["value"], "1", "read back by chat id: {flags}");
}

#[tokio::test]
async fn a_known_customer_proves_it_with_an_identity_token_and_nobody_else_can_claim_it() {
    let t = TestApp::new().await;
    let ann = t.agent_token("ann");
    // Claiming to be a known customer without proof: a Public visitor, whatever the id.
    let claim = json!({"channelId": "sales", "requesterType": "Customer", "requesterId": "jdoe"});
    let (status, body) = t.call("POST", "/chats", None, Some(claim)).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["chat"]["requesterType"], "Public");
    assert_ne!(body["chat"]["requesterId"], "jdoe");
    // A forged or foreign token is refused; a token for someone else cannot be used as jdoe.
    let forged = shared::auth::issue_identity_token(
        "not-the-site-secret-0123456789",
        "jdoe",
        None,
        chrono::Utc::now().timestamp(),
        600,
    )
    .unwrap();
    let (status, _) =
        t.call("POST", "/chats", None, Some(json!({"channelId": "sales", "identityToken": forged}))).await;
    assert_eq!(status, 401);
    let mallory = json!({"channelId": "sales", "requesterId": "jdoe", "identityToken": t.identity_token("mallory")});
    assert_eq!(t.call("POST", "/chats", None, Some(mallory)).await.0, 403);
    // The site's backend vouches for jdoe, with a name.
    let now = chrono::Utc::now().timestamp();
    let signed =
        shared::auth::issue_identity_token(integration_tests::IDENTITY_SECRET, "jdoe", Some("John Doe"), now, 600)
            .unwrap();
    let (status, body) =
        t.call("POST", "/chats", None, Some(json!({"channelId": "sales", "identityToken": signed}))).await;
    assert_eq!(status, 201, "{body}");
    let chat = &body["chat"];
    assert_eq!(
        (chat["requesterType"].as_str(), chat["requesterId"].as_str(), chat["requesterName"].as_str()),
        (Some("Customer"), Some("jdoe"), Some("John Doe"))
    );
    let id = chat["chatId"].as_str().unwrap().to_string();
    assert_eq!(t.call("PATCH", &format!("/chats/{id}"), Some(&ann), Some(json!({"status": "active"}))).await.0, 200);
    let (_, online) = t.call("GET", "/users/online?userType=Customer", Some(&ann), None).await;
    let ids: Vec<&str> = online["users"].as_array().unwrap().iter().filter_map(|u| u["userId"].as_str()).collect();
    assert_eq!(ids, ["jdoe"], "only the verified customer is online as jdoe");
}

#[tokio::test]
async fn an_invited_customer_gets_a_token_for_that_chat_only_and_joins_with_it() {
    let t = TestApp::new().await;
    let ann = t.agent_token("ann");
    // An agent starts a chat for a customer (targetType Customer) and invites jdoe into it.
    let (status, body) = t
        .call(
            "POST",
            "/chats",
            Some(&ann),
            Some(json!({"channelId": "sales", "status": "active", "targetType": "Customer"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let chat = body["chat"]["chatId"].as_str().unwrap().to_string();
    let p = format!("/chats/{chat}");
    let invite = json!({"chatterId": "jdoe", "chatterType": "Customer", "chatterName": "John", "invitation": true});
    let (status, added) = t.call("POST", &format!("{p}/participants"), Some(&ann), Some(invite)).await;
    assert_eq!(status, 201, "{added}");
    let token = added["token"].as_str().expect("a join token for the customer").to_string();
    // The token opens this chat, as jdoe: it confirms, then chats.
    assert_eq!(t.call("GET", &p, Some(&token), None).await.0, 200);
    let join = json!({"chatterActive": 1});
    assert_eq!(t.call("PATCH", &format!("{p}/participants/Customer/jdoe"), Some(&token), Some(join)).await.0, 200);
    let (status, sent) =
        t.call("POST", &format!("{p}/messages"), Some(&token), Some(json!({"text": "hi, John here"}))).await;
    assert_eq!((status, sent["message"]["chatterId"].as_str()), (201, Some("jdoe")));
    // And no other chat.
    let (other, _) = t.start_chat("sales").await;
    assert_eq!(t.call("GET", &format!("/chats/{other}"), Some(&token), None).await.0, 403);
    // An agent added gets no token: agents have their own.
    let agent = json!({"chatterId": "bob", "chatterType": "User", "permissionLevel": "Participant"});
    let (_, added) = t.call("POST", &format!("{p}/participants"), Some(&ann), Some(agent)).await;
    assert!(added["token"].is_null(), "{added}");
}

#[tokio::test]
async fn a_customer_is_rate_limited_per_chat_token_and_chat_starts_per_address() {
    let t = TestApp::with(|c| {
        c.customer_messages_per_minute = 3;
        c.chats_per_minute_per_address = 2;
    })
    .await;
    let ann = t.agent_token("ann");
    let start = |address: &str| {
        let mut request = shared::http::Request::new("POST", "/chats");
        request.source_ip = Some(address.to_string());
        request.body = serde_json::to_vec(&json!({"channelId": "sales", "nickname": "Vic"})).unwrap();
        request
    };
    // Two chats a minute from one address; the third waits, with Retry-After; another address
    // is not affected.
    t.fresh_minute();
    let (_, first) = t.send(start("203.0.113.7")).await;
    assert_eq!(t.send(start("203.0.113.7")).await.0, 201);
    let refused = local_server::call(&t.app, start("203.0.113.7"), "test", std::time::Instant::now()).await;
    assert_eq!(refused.status, 429);
    let wait: i64 = refused.headers.iter().find(|(n, _)| *n == "retry-after").map(|(_, v)| v.parse().unwrap()).unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(t.send(start("198.51.100.9")).await.0, 201);
    // Three messages a minute per chat token; agents are not limited.
    let chat = first["chat"]["chatId"].as_str().unwrap().to_string();
    let token = first["token"].as_str().unwrap().to_string();
    assert_eq!(t.call("PATCH", &format!("/chats/{chat}"), Some(&ann), Some(json!({"status": "active"}))).await.0, 200);
    let post = |who: String, n: usize| {
        let t = &t;
        let chat = chat.clone();
        async move {
            t.call("POST", &format!("/chats/{chat}/messages"), Some(&who), Some(json!({"text": format!("m{n}")})))
                .await
                .0
        }
    };
    t.fresh_minute();
    for n in 0..3 {
        assert_eq!(post(token.clone(), n).await, 201);
    }
    assert_eq!(post(token.clone(), 3).await, 429, "the fourth in the minute");
    for n in 0..5 {
        assert_eq!(post(ann.clone(), n).await, 201, "agents are not limited");
    }
    let (_, transcript) = t.call("GET", &format!("/chats/{chat}/messages"), Some(&ann), None).await;
    let from_customer =
        transcript["messages"].as_array().unwrap().iter().filter(|m| m["chatterType"] == "Public").count();
    assert_eq!(from_customer, 3, "a refused message is not stored: {transcript}");
    // The next minute, the customer may post again.
    t.app.clock.advance(std::time::Duration::from_secs(61));
    assert_eq!(post(token.clone(), 4).await, 201);
}

/// Token keys come from Secrets Manager (the emulator's) at cold start: a token signed with
/// the stored key is admitted, and one signed with the environment's old key no longer is.
#[tokio::test]
async fn token_keys_are_read_from_secrets_manager_at_cold_start() {
    use shared::secrets::{self, TokenKey};
    let t = TestApp::new().await;
    let sdk = integration_tests::sdk_config().await;
    let client = secrets::client(&sdk, Some(integration_tests::sns_endpoint()));
    let id = format!("agent-key-{}", uuid::Uuid::new_v4().simple());
    let stored = "stored-in-secrets-manager-0123456789-abcdef";
    client.create_secret().name(&id).secret_string(stored).send().await.unwrap();
    let now = chrono::Utc::now().timestamp();
    let before = shared::auth::issue_agent_token(&t.app.config.auth, "ann", "Ann", &[], now, 600).unwrap();
    let mut app = t.same_app();
    secrets::load(&client, &[(TokenKey::Agent, id.clone())], &mut app.config.auth).await.unwrap();
    assert_eq!(app.config.auth.agent_secrets, [stored]);
    let after = shared::auth::issue_agent_token(&app.config.auth, "ann", "Ann", &[], now, 600).unwrap();
    let call = |token: String| {
        let mut request = shared::http::Request::new("GET", "/chats");
        request.headers.insert("authorization".into(), format!("Bearer {token}"));
        request
    };
    let answer = |request| async { shared::routes::dispatch(&app, "chat-list", request).await };
    assert_eq!(answer(call(after)).await.map(|r| r.status).unwrap_or_else(|e| e.status), 200);
    assert_eq!(answer(call(before)).await.map(|r| r.status).unwrap_or_else(|e| e.status), 401);
    // A secret that does not exist stops the cold start, with its name.
    let missing = secrets::load(&client, &[(TokenKey::Chat, "no-such-secret".into())], &mut app.config.auth).await;
    assert!(missing.unwrap_err().to_string().contains("no-such-secret"));
}

/// Agents from an identity provider: RS256 and ES256 tokens verified with the keys of its
/// JWKS URL, read by the first agent token and again when it names a new key (a rotation), but
/// not for every made-up key id; issuer, audience and expiry checked; a public key never
/// serves as an HMAC secret; Cognito's groups are roles and its user name a name.
#[tokio::test]
async fn agents_sign_in_with_rs256_and_es256_tokens_of_an_identity_providers_jwks() {
    use jsonwebtoken::Algorithm::{ES256, RS256};
    use shared::agent_keys::AgentKeys;
    let full = local_server::idp::issuer().unwrap().jwks().clone();
    let only_ec = json!({"keys": [full["keys"][0].clone()]});
    assert_eq!(only_ec["keys"][0]["kty"], "EC");
    let provider = integration_tests::JwksServer::start(only_ec).await;
    let url = provider.url.clone();
    let t = TestApp::with(|c| c.auth.agent_keys = std::sync::Arc::new(AgentKeys::new(Some(url)))).await;
    // Nothing is read until an agent's token arrives: not for a customer's request.
    let (chat, customer) = t.start_chat("sales").await;
    assert_eq!(t.call("GET", &format!("/chats/{chat}"), Some(&customer), None).await.0, 200);
    assert_eq!(provider.reads(), 0);
    let es = t.provider_token(ES256, json!({"sub": "ann", "name": "Ann"}));
    assert_eq!(t.call("GET", "/chats", Some(&es), None).await.0, 200);
    assert_eq!(provider.reads(), 1);
    // The provider rotates in a new key: the first token signed with it makes one read.
    provider.publish(full.clone());
    let rs = t.provider_token(RS256, json!({"sub": "bob", "name": "Bob"}));
    assert_eq!(t.call("GET", "/chats", Some(&rs), None).await.0, 200);
    assert_eq!(provider.reads(), 2);
    assert_eq!(t.call("GET", "/chats", Some(&rs), None).await.0, 200);
    assert_eq!(provider.reads(), 2, "a known key is not read again");
    // A key id nobody published: refused, and no read within the cool-down.
    let mut parts: Vec<String> = es.split('.').map(str::to_string).collect();
    parts[0] = base64_url(&json!({"alg": "ES256", "typ": "JWT", "kid": "made-up"}).to_string());
    let made_up = parts.join(".");
    assert_eq!(t.call("GET", "/chats", Some(&made_up), None).await.0, 401);
    assert_eq!(provider.reads(), 2);
    // Another issuer, another audience, expired: refused.
    for claims in [
        json!({"sub": "ann", "iss": "https://elsewhere.example"}),
        json!({"sub": "ann", "aud": "another-app"}),
        json!({"sub": "ann", "exp": chrono::Utc::now().timestamp() - 600}),
    ] {
        let token = t.provider_token(ES256, claims.clone());
        assert_eq!(t.call("GET", "/chats", Some(&token), None).await.0, 401, "{claims}");
    }
    // The RSA key's public modulus as an HMAC secret, under the RSA key's id: refused.
    let n = full["keys"][1]["n"].as_str().unwrap().to_string();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some(local_server::idp::RS256_KID.into());
    let now = chrono::Utc::now().timestamp();
    let claims = json!({"sub": "eve", "iss": "livechat-agents", "aud": "livechat", "exp": now + 600});
    let confused =
        jsonwebtoken::encode(&header, &claims, &jsonwebtoken::EncodingKey::from_secret(n.as_bytes())).unwrap();
    assert_eq!(t.call("GET", "/chats", Some(&confused), None).await.0, 401);
    // Cognito: `cognito:groups` are roles, `cognito:username` the agent's name.
    let webhook = json!({"url": "https://hooks.example.com/x", "format": "native", "events": ["ChatAdd"]});
    let cognito = |groups: serde_json::Value| {
        t.provider_token(RS256, json!({"sub": "u-1", "cognito:username": "carol", "cognito:groups": groups}))
    };
    assert_eq!(t.call("POST", "/webhooks", Some(&cognito(json!([]))), Some(webhook.clone())).await.0, 403);
    let admin = cognito(json!(["admin"]));
    // Let through (this app has no topic to subscribe to: 503, not 403).
    let (status, _) = t.call("POST", "/webhooks", Some(&admin), Some(webhook)).await;
    assert!(status != 401 && status != 403, "{status}");
    let (chat, _) = t.start_chat("sales").await;
    assert_eq!(
        t.call("PATCH", &format!("/chats/{chat}"), Some(&admin), Some(json!({"status": "active"}))).await.0,
        200
    );
    let (_, people) = t.call("GET", &format!("/chats/{chat}/participants"), Some(&admin), None).await;
    assert!(people.to_string().contains("\"carol\""), "{people}");
}

fn base64_url(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

/// The local provider's sign-in (the paths of Cognito's hosted pages): a code is issued
/// only for this deployment's client with a S256 challenge, redeemed once, with the
/// verifier whose SHA-256 is the challenge, for an ID token the API accepts.
#[tokio::test]
async fn the_local_sign_in_is_the_authorization_code_flow_with_pkce() {
    use base64::Engine;
    let t = std::sync::Arc::new(TestApp::new().await);
    let base = format!("http://127.0.0.1:{}", t.serve().await);
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let verifier = "a-verifier-of-forty-three-characters-or-more-0123";
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()));
    let redirect = "http://127.0.0.1:9/agent";
    let form = |extra: &[(&str, &str)]| {
        let mut f = vec![
            ("client_id", "livechat"),
            ("redirect_uri", redirect),
            ("response_type", "code"),
            ("code_challenge_method", "S256"),
            ("code_challenge", challenge.as_str()),
            ("state", "s 1"),
            ("user_id", "ann"),
            ("name", "Ann"),
        ];
        for (k, v) in extra {
            f.retain(|(key, _)| key != k);
            f.push((k, v));
        }
        serde_urlencoded(&f)
    };
    let post = |path: &str, body: String| {
        http.post(format!("{base}{path}")).header("content-type", "application/x-www-form-urlencoded").body(body).send()
    };
    // Without PKCE, or for another client: no code.
    for refused in
        [[("code_challenge_method", "plain")], [("client_id", "other")], [("redirect_uri", "https://evil.example/")]]
    {
        assert_eq!(post("/oauth2/authorize", form(&refused)).await.unwrap().status(), 400, "{refused:?}");
    }
    // A code for Ann, back to the redirect with the state.
    let answer = post("/oauth2/authorize", form(&[])).await.unwrap();
    assert_eq!(answer.status(), 302);
    let location = answer.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with(&format!("{redirect}?code=")) && location.ends_with("&state=s%201"), "{location}");
    let code = location.split("code=").nth(1).unwrap().split('&').next().unwrap().to_string();
    let redeem = |code: &str, verifier: &str| {
        serde_urlencoded(&[
            ("grant_type", "authorization_code"),
            ("client_id", "livechat"),
            ("redirect_uri", redirect),
            ("code", code),
            ("code_verifier", verifier),
        ])
    };
    // The wrong verifier spends the code: a stolen code is worth one guess.
    let wrong = post("/oauth2/token", redeem(&code, "another-verifier-of-forty-three-characters-000")).await.unwrap();
    assert_eq!(wrong.status(), 400);
    let refusal: serde_json::Value = serde_json::from_slice(&wrong.bytes().await.unwrap()).unwrap();
    assert_eq!(refusal["error"], "invalid_grant");
    assert_eq!(post("/oauth2/token", redeem(&code, verifier)).await.unwrap().status(), 400, "used");
    // A new code, the right verifier: an ID token that signs Ann in.
    let location =
        post("/oauth2/authorize", form(&[])).await.unwrap().headers()["location"].to_str().unwrap().to_string();
    let code = location.split("code=").nth(1).unwrap().split('&').next().unwrap().to_string();
    let body = redeem(&code, verifier);
    let tokens: serde_json::Value =
        serde_json::from_slice(&post("/oauth2/token", body).await.unwrap().bytes().await.unwrap()).unwrap();
    let id_token = tokens["id_token"].as_str().unwrap();
    let (status, me) = t.call("GET", "/agents/ann/availability", Some(id_token), None).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(t.call("GET", "/webhooks", Some(id_token), None).await.0, 403, "not an administrator");
    // Signed in as an administrator: the token carries Cognito's `admin` group.
    let location = post("/oauth2/authorize", form(&[("admin", "1")])).await.unwrap().headers()["location"]
        .to_str()
        .unwrap()
        .to_string();
    let code = location.split("code=").nth(1).unwrap().split('&').next().unwrap().to_string();
    let tokens: serde_json::Value =
        serde_json::from_slice(&post("/oauth2/token", redeem(&code, verifier)).await.unwrap().bytes().await.unwrap())
            .unwrap();
    let (status, hooks) = t.call("GET", "/webhooks", tokens["id_token"].as_str(), None).await;
    assert_eq!(status, 200, "{hooks}");
}

fn serde_urlencoded(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string();
    pairs.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}
