//! Offline messages: a visitor's form when nobody is online, listed to agents and
//! announced to integrators as native OfflineMessageAdd.

use integration_tests::{eventually, Proxy, Receiver, TestApp};
use serde_json::{json, Value};

use crate::events::{confirmed, json_events, subscribe};

#[tokio::test]
async fn an_offline_message_is_stored_listed_to_agents_paged_and_announced() {
    let proxy = Proxy::start(&integration_tests::sns_endpoint()).await;
    let t = TestApp::with_events(&proxy).await;
    let rx = Receiver::start().await;
    subscribe(&t, rx.url("/native"), "native", &["OfflineMessageAdd"]).await;
    assert!(confirmed(&t, 1).await, "subscription confirmed");
    let post = |body: Value| {
        let t = t.clone();
        async move { t.call("POST", "/channels/sales/offline-messages", None, Some(body)).await }
    };
    let mut ids = Vec::new();
    for text in ["Please call me back", "About order A1"] {
        let (status, body) =
            post(json!({"name": "Jo", "email": "jo@example.com", "text": text, "userData": {"page": "/pricing"}}))
                .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["offlineMessage"]["channelId"], "sales");
        ids.push(body["offlineMessage"]["offlineMessageId"].as_str().unwrap().to_string());
    }
    // Bad input: a clear 400, nothing stored.
    for bad in [
        json!({"name": "Jo", "email": "not an address", "text": "x"}),
        json!({"name": "", "email": "jo@example.com", "text": "x"}),
        json!({"name": "Jo", "email": "jo@example.com"}),
        json!({"name": "Jo", "email": "jo@example.com", "text": "x", "extra": 1}),
        json!({"name": "Jo", "email": "jo@example.com", "text": "x".repeat(3801)}),
    ] {
        let (status, body) = post(bad.clone()).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body["error"]["message"].is_string(), "{body}");
    }
    // Agents list them, newest first, a page at a time; nobody else may.
    let bob = t.agent_token("bob");
    let (status, page) = t.call("GET", "/offline-messages?channelId=sales&limit=1", Some(&bob), None).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["offlineMessages"][0]["offlineMessageId"], ids[1].as_str(), "newest first");
    let cursor = page["nextCursor"].as_str().unwrap();
    let (_, next) =
        t.call("GET", &format!("/offline-messages?channelId=sales&limit=1&cursor={cursor}"), Some(&bob), None).await;
    assert_eq!(next["offlineMessages"][0]["offlineMessageId"], ids[0].as_str());
    assert_eq!(next["offlineMessages"][0]["userData"]["page"], "/pricing");
    assert_eq!(t.call("GET", "/offline-messages", Some(&bob), None).await.0, 400, "channelId is required");
    assert_eq!(t.call("GET", "/offline-messages?channelId=sales", None, None).await.0, 401);
    let (_, customer) = t.start_chat("sales").await;
    assert_eq!(t.call("GET", "/offline-messages?channelId=sales", Some(&customer), None).await.0, 403);

    // Announced once each, for a ticket system.
    let announced = || -> Vec<String> {
        json_events(&rx.bodies("/native"))
            .iter()
            .filter(|e| e["event"] == "OfflineMessageAdd")
            .map(|e| e["data"]["offlineMessage"]["offlineMessageId"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(eventually(60, || announced().len() >= 2).await, "{:?}", rx.bodies("/native"));
    let mut got = announced();
    got.sort();
    got.dedup();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(got, want);
}

#[tokio::test]
async fn offline_messages_are_counted_per_address() {
    let t = TestApp::with(|c| c.chats_per_minute_per_address = 2).await;
    let leave = |address: &str| {
        let mut request = shared::http::Request::new("POST", "/channels/sales/offline-messages");
        request.source_ip = Some(address.to_string());
        request.body = serde_json::to_vec(&json!({"name": "Jo", "email": "jo@example.com", "text": "hello"})).unwrap();
        request
    };
    t.fresh_minute();
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(t.send(leave("203.0.113.7")).await.0);
    }
    assert_eq!(statuses, vec![201, 201, 429], "two a minute from one address");
    assert_eq!(t.send(leave("198.51.100.9")).await.0, 201, "another address is not affected");
}
