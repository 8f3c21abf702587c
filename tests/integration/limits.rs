//! The local stack is as strict as AWS where the product meets AWS's limits and cadences
//! (docs/performance.md, "AWS's limits on the local stack"): each test goes to a limit.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::{pushed_texts, Socket, TestApp};
use serde_json::json;

/// A record its consumer keeps failing is retried as the template's mapping says
/// (socket-push: 3 retries, no bisection) and then skipped: it no longer holds up every
/// later record of its shard, as it did locally before.
#[tokio::test]
async fn a_record_its_consumer_keeps_failing_is_given_up_after_its_retries() {
    let (t, port) = TestApp::with_push().await;
    let (chat, customer) = t.start_chat("sales").await;
    let ann = t.agent_token("ann");
    assert_eq!(t.call("PATCH", &format!("/chats/{chat}"), Some(&ann), Some(json!({"status": "active"}))).await.0, 200);
    let mut socket = Socket::subscribed(port, &customer).await;
    // A participant item (of another chat) no consumer can read: every push of it fails.
    t.bulk
        .put_item()
        .table_name(t.app.db.table())
        .item("PK", AttributeValue::S(shared::keys::chat_pk("poisoned")))
        .item("SK", AttributeValue::S("P#User#poison".into()))
        .item("entityType", AttributeValue::S("Participant".into()))
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let posted = json!({"text": "after the poison"});
    assert_eq!(t.call("POST", &format!("/chats/{chat}/messages"), Some(&ann), Some(posted)).await.0, 201);
    let seen = socket.pushes_until(|p| pushed_texts(p).contains(&"after the poison".to_string())).await;
    assert!(
        pushed_texts(&seen).contains(&"after the poison".to_string()),
        "held up behind the failing record: {seen:?}"
    );
}

/// API Gateway's WebSocket limits, on the local endpoint: a PostToConnection over 128 KB is
/// refused (413), an idle connection is closed, and every connection at the end of its
/// lifetime (10 minutes and 2 hours in AWS; seconds here).
#[tokio::test]
async fn the_local_socket_endpoint_keeps_api_gateways_limits() {
    use local_server::socket::{Limits, MAX_POST_BYTES};
    let limits = Limits { idle: Duration::from_secs(2), lifetime: Duration::from_secs(6) };
    let (t, port) = TestApp::with_push_limits(limits).await;
    let (_, customer) = t.start_chat("sales").await;
    let mut quiet = Socket::subscribed(port, &customer).await;
    let mut busy = Socket::subscribed(port, &customer).await;
    let mut http = integration_tests::HttpClient::new(port);
    let at = format!("/_ws/@connections/{}", busy.client_id);
    let fits = json!("x".repeat(MAX_POST_BYTES - 2));
    assert_eq!(http.call("POST", &at, None, Some(&fits)).await.0, 200, "128 KB is allowed");
    let over = json!("x".repeat(MAX_POST_BYTES));
    assert_eq!(http.call("POST", &at, None, Some(&over)).await.0, 413, "over 128 KB is not");
    // The quiet socket is closed for idleness; the busy one, heartbeating, lives on to its end.
    let started = std::time::Instant::now();
    assert!(quiet.closed_by_server(Duration::from_secs(4)).await, "idle: closed");
    // Heartbeats every half second keep idleness away: only the lifetime ends it.
    let heartbeat = json!([{"channel": "/meta/connect", "clientId": busy.client_id, "connectionType": "websocket"}]);
    let mut closed_at = None;
    while started.elapsed() < Duration::from_secs(10) {
        busy.send(heartbeat.clone()).await;
        if busy.closed_by_server(Duration::from_millis(500)).await {
            closed_at = Some(started.elapsed());
            break;
        }
    }
    let closed_at = closed_at.expect("closed at the end of its lifetime");
    assert!(closed_at >= Duration::from_secs(4), "not before its lifetime: {closed_at:?}");
}

/// An event SNS will not take (over its 256 KB) is set aside on the failure queue with its
/// content, and the events beside it are published: nothing waits behind it.
#[tokio::test]
async fn an_event_sns_refuses_is_kept_on_the_failure_queue_and_holds_up_nothing() {
    use shared::domain::events::Outgoing;
    use shared::domain::model::Format;
    let proxy = integration_tests::Proxy::start(&integration_tests::sns_endpoint()).await;
    let t = TestApp::with_events(&proxy).await;
    let event = |id: &str, bytes: usize| Outgoing {
        event_id: id.into(),
        event: "ChatAdd",
        format: Format::Native,
        chat_id: Some("c1".into()),
        channel_id: Some("sales".into()),
        time: t.app.clock.stamp(),
        body: json!({"pad": "x".repeat(bytes)}).to_string(),
    };
    let (huge, small) = (event("too-big", 300 * 1024), event("fits", 100));
    shared::publisher::publish(&t.app, &[&huge, &small]).await.expect("published, the huge one set aside");
    let queue = t.app.config.events.failure_queue_url.clone().unwrap();
    let got = t.app.sqs.receive_message().queue_url(&queue).wait_time_seconds(2).send().await.unwrap();
    let kept: Vec<serde_json::Value> =
        got.messages().iter().map(|m| serde_json::from_str(m.body().unwrap_or_default()).unwrap()).collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(kept[0]["eventId"], "too-big");
    assert_eq!(kept[0]["body"].as_str().map(str::len), Some(huge.body.len()), "with its content");
}
