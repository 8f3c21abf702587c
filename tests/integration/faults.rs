//! Faults survived: DynamoDB unreachable, DynamoDB throttling.

use std::time::{Duration, Instant};

use integration_tests::{dynamodb_endpoint, FaultProxy, Proxy, TestApp};
use serde_json::json;

#[tokio::test]
async fn dynamodb_unreachable_is_a_quick_503_and_recovers_without_restart() {
    let proxy = Proxy::start(&dynamodb_endpoint()).await;
    let t = TestApp::through(&proxy.endpoint()).await;
    let (chat, customer) = t.start_chat("sales").await;
    let ann = t.agent_token("ann");
    assert_eq!(t.call("PATCH", &format!("/chats/{chat}"), Some(&ann), Some(json!({"status": "active"}))).await.0, 200);

    proxy.set_down(true);
    for (method, path, body) in [
        ("GET", format!("/chats/{chat}"), None),
        ("POST", format!("/chats/{chat}/messages"), Some(json!({"text": "lost?", "clientMessageId": "m1"}))),
        ("POST", "/chats".to_string(), Some(json!({"channelId": "sales"}))),
    ] {
        let started = Instant::now();
        let response = t.respond(method, &path, Some(&customer), body).await;
        let took = started.elapsed();
        assert_eq!(response.status, 503, "{method} {path}: {}", String::from_utf8_lossy(&response.body));
        assert!(response.headers.iter().any(|(h, v)| *h == "retry-after" && v == "1"), "Retry-After on 503");
        assert_eq!(response.body_json()["error"]["code"], "unavailable");
        assert!(took < Duration::from_secs(8), "answered within the function's timeout: {took:?}");
    }
    proxy.set_down(false);

    // Back: everything works, and the write that was refused did not half-happen.
    let (status, _) = t.call("GET", &format!("/chats/{chat}"), Some(&customer), None).await;
    assert_eq!(status, 200);
    let (status, sent) = t
        .call(
            "POST",
            &format!("/chats/{chat}/messages"),
            Some(&customer),
            Some(json!({"text": "lost?", "clientMessageId": "m1"})),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    let (_, all) = t.call("GET", &format!("/chats/{chat}/messages"), Some(&ann), None).await;
    let copies = all["messages"].as_array().unwrap().iter().filter(|m| m["text"] == "lost?").count();
    assert_eq!(copies, 1);
}

#[tokio::test]
async fn throttling_is_retried_by_the_sdk_then_a_503() {
    let proxy = FaultProxy::start(&dynamodb_endpoint()).await;
    let t = TestApp::through(&proxy.endpoint()).await;
    let (chat, _) = t.start_chat("sales").await;
    // An agent's read of a waiting chat is one Query (a customer's counts its place too).
    let ann = t.agent_token("ann");

    // Two throttled attempts, then the SDK's third gets through.
    proxy.throttle(2);
    t.meter.take();
    assert_eq!(t.call("GET", &format!("/chats/{chat}"), Some(&ann), None).await.0, 200);
    let usage = t.meter.take();
    assert_eq!(usage.round_trips, 3, "retried with backoff: {usage:?}");

    // Throttled beyond the SDK's attempts: a 503 that says to retry.
    proxy.throttle(100);
    let response = t.respond("GET", &format!("/chats/{chat}"), Some(&ann), None).await;
    assert_eq!(response.status, 503);
    assert!(response.headers.iter().any(|(h, _)| *h == "retry-after"));
    proxy.throttle(0);
    assert_eq!(t.call("GET", &format!("/chats/{chat}"), Some(&ann), None).await.0, 200);
}
