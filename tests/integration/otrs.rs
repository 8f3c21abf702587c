//! The OTRS chat backend (`../shared/seeds/000_*.txt`), call by call: each test is named
//! after the seed call it pins.

use integration_tests::TestApp;
use serde_json::json;

#[tokio::test]
async fn chat_delete_of_a_request_nobody_accepted_is_open_to_agents() {
    let t = TestApp::new().await;
    let (chat, customer) = t.start_chat("sales").await;
    let p = format!("/chats/{chat}");
    assert_eq!(t.call("DELETE", &p, Some(&customer), None).await.0, 403, "customers do not delete");
    assert_eq!(t.call("DELETE", &p, Some(&t.agent_token("bob")), None).await.0, 204);
    assert_eq!(t.call("GET", &p, Some(&t.agent_token("bob")), None).await.0, 404);
    // Once accepted, only its Owner deletes it.
    let (chat, _) = t.start_chat("sales").await;
    let p = format!("/chats/{chat}");
    assert_eq!(t.call("PATCH", &p, Some(&t.agent_token("ann")), Some(json!({"status": "active"}))).await.0, 200);
    assert_eq!(t.call("DELETE", &p, Some(&t.agent_token("bob")), None).await.0, 403);
    assert_eq!(t.call("DELETE", &p, Some(&t.agent_token("ann")), None).await.0, 204);
}

#[tokio::test]
async fn chat_update_active_to_request_returns_the_chat_to_the_queue() {
    let t = TestApp::new().await;
    let (ann, bob) = (t.agent_token("ann"), t.agent_token("bob"));
    let (chat, customer) = t.start_chat("sales").await;
    let p = format!("/chats/{chat}");
    assert_eq!(t.call("PATCH", &p, Some(&ann), Some(json!({"status": "active"}))).await.0, 200);
    assert_eq!(t.call("PATCH", &p, Some(&bob), Some(json!({"status": "request"}))).await.0, 403, "not the Owner");
    let (status, back) = t.call("PATCH", &p, Some(&ann), Some(json!({"status": "request"}))).await;
    assert_eq!(status, 200, "{back}");
    assert_eq!(
        (back["chat"]["status"].as_str(), back["chat"]["previousStatus"].as_str()),
        (Some("request"), Some("active"))
    );
    let (_, queue) = t.call("GET", "/chats?status=request", Some(&bob), None).await;
    assert!(queue["chats"].as_array().unwrap().iter().any(|c| c["chatId"] == chat.as_str()), "{queue}");
    // The customer is told, and keeps chatting; the next agent to accept owns the chat.
    let (_, seen) = t.call("GET", &format!("{p}/messages"), Some(&customer), None).await;
    let last = seen["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["event"], "requeued", "{last}");
    assert_eq!(t.call("POST", &format!("{p}/messages"), Some(&customer), Some(json!({"text": "hello?"}))).await.0, 201);
    assert_eq!(t.call("PATCH", &p, Some(&bob), Some(json!({"status": "active"}))).await.0, 200);
    let (_, people) = t.call("GET", &format!("{p}/participants"), Some(&bob), None).await;
    let level = |id: &str| {
        people["participants"].as_array().unwrap().iter().find(|x| x["chatterId"] == id).unwrap()["permissionLevel"]
            .clone()
    };
    assert_eq!((level("bob"), level("ann")), (json!("Owner"), json!("Participant")));
    // Nothing leaves closed.
    assert_eq!(t.call("PATCH", &p, Some(&bob), Some(json!({"status": "closed"}))).await.0, 200);
    assert_eq!(t.call("PATCH", &p, Some(&bob), Some(json!({"status": "request"}))).await.0, 409);
}
