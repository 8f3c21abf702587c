//! MaskAgentName: no real agent name reaches a customer by any path (API views, system
//! texts, NewMessages notifications, the RPC CHAT transcript), an agent's number never
//! changes or passes to another agent, and masking touches no other word.

use integration_tests::{eventually, Proxy, Receiver, TestApp};
use serde_json::{json, Value};

use crate::events::{confirmed, form, json_events, subscribe};

fn token(t: &TestApp, user: &str, name: &str) -> String {
    shared::auth::issue_agent_token(&t.app.config.auth, user, name, &[], chrono::Utc::now().timestamp(), 3600).unwrap()
}

/// Every string in a JSON value.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|v| strings(v, out)),
        Value::Object(o) => o.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

/// No real agent name or user id in `text`; "Annie Smithson" is a customer, and stays.
fn assert_masked(text: &str, path: &str) {
    let without_customer = text.replace("Annie Smithson", "");
    for real in ["Annie Smith", "Bob Jones", "Carl Berg"] {
        assert!(!without_customer.contains(real), "{path}: a real agent name ({real}) in {text:?}");
    }
    assert!(!["ann", "bob", "carl"].contains(&text), "{path}: a real agent id: {text:?}");
}

#[tokio::test]
async fn with_mask_agent_name_no_real_agent_name_reaches_a_customer() {
    let proxy = Proxy::start(&integration_tests::sns_endpoint()).await;
    let t = TestApp::with_events_through(&proxy, None, |c| c.mask_agent_names = true).await;
    let rx = Receiver::start().await;
    let ann = token(&t, "ann", "Annie Smith");
    subscribe(&t, rx.url("/n"), "notification", &["NewMessages", "ParticipantsUpdated", "StatusChange"]).await;
    subscribe(&t, rx.url("/rpc"), "rpc", &["OPERATOR_STOPED_CHAT"]).await;
    assert!(confirmed(&t, 2).await);

    let (chat, customer) = t.start_chat("sales").await;
    let p = format!("/chats/{chat}");
    let call = |method: &'static str, path: String, who: String, body: Option<Value>| {
        let t = t.clone();
        async move { t.call(method, &path, Some(&who), body).await }
    };
    assert_eq!(call("PATCH", p.clone(), ann.clone(), Some(json!({"status": "active"}))).await.0, 200);
    let add = |id: &str, name: &str, kind: &str| {
        let level = (kind == "User").then_some("Participant");
        json!({"chatterId": id, "chatterType": kind, "chatterName": name, "chatterActive": 1, "permissionLevel": level})
    };
    assert_eq!(
        call("POST", format!("{p}/participants"), ann.clone(), Some(add("bob", "Bob Jones", "User"))).await.0,
        201
    );
    let bob = token(&t, "bob", "Bob Jones");
    assert_eq!(call("POST", format!("{p}/messages"), bob, Some(json!({"text": "hello there"}))).await.0, 201);
    // A customer whose name contains an agent's: masking must leave it whole.
    let extra = add("annie-smithson", "Annie Smithson", "Customer");
    assert_eq!(call("POST", format!("{p}/participants"), ann.clone(), Some(extra)).await.0, 201);
    assert_eq!(call("DELETE", format!("{p}/participants/Customer/annie-smithson"), ann.clone(), None).await.0, 204);
    // Bob is removed; Carl joins after him and must not get Bob's number.
    assert_eq!(call("DELETE", format!("{p}/participants/User/bob"), ann.clone(), None).await.0, 204);
    assert_eq!(
        call("POST", format!("{p}/participants"), ann.clone(), Some(add("carl", "Carl Berg", "User"))).await.0,
        201
    );
    assert_eq!(call("POST", format!("{p}/messages"), customer.clone(), Some(json!({"text": "thanks"}))).await.0, 201);

    // What the customer reads.
    let (_, messages) = call("GET", format!("{p}/messages"), customer.clone(), None).await;
    let shown: Vec<(String, String)> = messages["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["chatterName"].as_str().unwrap().to_string(), m["text"].as_str().unwrap().to_string()))
        .collect();
    let texts: Vec<&str> = shown.iter().map(|(_, text)| text.as_str()).collect();
    assert!(texts.contains(&"Support Agent 1 joined the chat."), "{texts:?}");
    assert!(texts.contains(&"Support Agent 2 joined the chat."), "{texts:?}");
    assert!(texts.contains(&"Support Agent 1 removed Annie Smithson."), "{texts:?}");
    assert!(texts.contains(&"Support Agent 1 removed Support Agent 2."), "{texts:?}");
    assert!(texts.contains(&"Support Agent 3 joined the chat."), "a removed agent's number is not reused: {texts:?}");
    assert!(shown.contains(&("Support Agent 2".to_string(), "hello there".to_string())), "{shown:?}");
    for path in
        [format!("{p}/messages"), format!("{p}/participants"), format!("{p}/agents"), p.clone(), "/session".into()]
    {
        let (status, body) = call("GET", path.clone(), customer.clone(), None).await;
        assert_eq!(status, 200, "{path}: {body}");
        let mut all = Vec::new();
        strings(&body, &mut all);
        all.iter().for_each(|s| assert_masked(s, &path));
    }
    // Agents see everyone as they are.
    let (_, agents_view) = call("GET", format!("{p}/messages"), ann.clone(), None).await;
    assert!(agents_view.to_string().contains("Annie Smith removed Bob Jones."), "{agents_view}");

    // The customer-facing events.
    assert_eq!(call("PATCH", p.clone(), ann.clone(), Some(json!({"status": "closed"}))).await.0, 200);
    assert!(eventually(60, || !rx.bodies("/rpc").is_empty()).await, "OPERATOR_STOPED_CHAT");
    let stopped = form(&rx.bodies("/rpc")[0]);
    let transcript = stopped.iter().find(|(k, _)| k == "CHAT").map(|(_, v)| v.clone()).unwrap();
    assert!(transcript.contains("Support Agent 2: hello there"), "{transcript}");
    assert_masked(&transcript, "rpc CHAT");
    assert!(
        eventually(60, || json_events(&rx.bodies("/n")).iter().any(|n| n.to_string().contains("thanks"))).await,
        "notifications"
    );
    for n in json_events(&rx.bodies("/n")) {
        let mut all = Vec::new();
        strings(&n["data"], &mut all);
        all.iter().for_each(|s| assert_masked(s, "notification"));
    }
}
