//! Live push over the WebSocket API (Bayeux on /v2/me/chats): who is pushed what.

use std::time::Duration;

use integration_tests::{pushed_texts, Socket, TestApp};
use serde_json::{json, Value};

async fn accept(t: &TestApp, chat: &str, agent: &str) {
    let (status, body) =
        t.call("PATCH", &format!("/chats/{chat}"), Some(agent), Some(json!({"status": "active"}))).await;
    assert_eq!(status, 200, "{body}");
}

async fn post(t: &TestApp, chat: &str, token: &str, body: Value) {
    let (status, reply) = t.call("POST", &format!("/chats/{chat}/messages"), Some(token), Some(body)).await;
    assert_eq!(status, 201, "{reply}");
}

#[tokio::test]
async fn a_chat_tokens_socket_is_pushed_its_chat_in_the_customer_view_and_nothing_else() {
    let (t, port) = TestApp::with_push().await;
    let (chat, customer) = t.start_chat("sales").await;
    // An empty map (userData {} as the widget sends it) must not stop the stream readers:
    // DynamoDB Local's stream cannot carry one, so none is written.
    let body = json!({"channelId": "sales", "nickname": "Eve", "userData": {"empty": {}, "list": [{}]}});
    let (status, started) = t.call("POST", "/chats", None, Some(body)).await;
    assert_eq!(status, 201, "{started}");
    let other = started["chat"]["chatId"].as_str().unwrap().to_string();
    let other_customer = started["token"].as_str().unwrap().to_string();
    let ann = t.agent_token("ann");
    accept(&t, &chat, &ann).await;
    accept(&t, &other, &ann).await;
    let mut socket = Socket::subscribed(port, &customer).await;
    post(&t, &chat, &ann, json!({"text": "internal note", "internal": true})).await;
    post(&t, &other, &other_customer, json!({"text": "another chat"})).await;
    post(&t, &chat, &ann, json!({"text": "How may I help you?"})).await;
    post(&t, &chat, &customer, json!({"text": "my own"})).await;
    let pushed = socket.pushes_until(|p| pushed_texts(p).contains(&"my own".to_string())).await;
    assert_eq!(pushed_texts(&pushed), vec!["How may I help you?", "my own"], "in order, only its chat's, no note");
    let message = pushed.iter().find(|d| d["messageType"] == "MessageLogUpdated").unwrap();
    assert_eq!(message["notificationType"], "NewMessages");
    assert_eq!(message["messages"][0]["from"]["type"], "Agent");
    assert_eq!(message["messages"][0]["visibility"], "All");
    assert!(message["chatUri"].as_str().unwrap().ends_with(&format!("/chats/{chat}")));
    // Typing, both ways: the customer's socket hears the agent's, never its own.
    let path = format!("/chats/{chat}/typing");
    for token in [&customer, &ann] {
        assert!(t.call("POST", &path, Some(token), Some(json!({"typing": true}))).await.0 < 300);
    }
    let kinds = |p: &[Value]| -> Vec<(String, String)> {
        p.iter()
            .flat_map(|d| d["messages"].as_array().cloned().unwrap_or_default())
            .filter(|m| m["type"].as_str().unwrap_or_default().starts_with("Typing"))
            .map(|m| (m["type"].as_str().unwrap().to_string(), m["from"]["type"].as_str().unwrap().to_string()))
            .collect()
    };
    let pushed = socket.pushes_until(|p| !kinds(p).is_empty()).await;
    assert_eq!(kinds(&pushed), vec![("TypingStarted".to_string(), "Agent".to_string())]);
    // The agent closes the chat: a StatusChange in the customer's view.
    let (status, _) = t.call("PATCH", &format!("/chats/{chat}"), Some(&ann), Some(json!({"status": "closed"}))).await;
    assert_eq!(status, 200);
    let pushed = socket.pushes_until(|p| p.iter().any(|d| d["chat"]["state"] == "Disconnected")).await;
    let closed = pushed.iter().find(|d| d["chat"]["state"] == "Disconnected").expect("the close is pushed");
    assert_eq!(closed["messageType"], "ChatStateChangeMessage");
    assert_eq!(closed["chat"]["capabilities"], json!([]));
    assert!(pushed.iter().all(|d| d["chat"]["id"].as_str().is_none_or(|id| id == chat)), "{pushed:?}");
}

#[tokio::test]
async fn an_agents_socket_gets_the_agent_view_of_its_own_chats_only() {
    let (t, port) = TestApp::with_push().await;
    let (chat, customer) = t.start_chat("sales").await;
    let (ann, bob) = (t.agent_token("ann"), t.agent_token("bob"));
    let mut anns = Socket::subscribed(port, &ann).await;
    let mut bobs = Socket::subscribed(port, &bob).await;
    accept(&t, &chat, &ann).await;
    post(&t, &chat, &customer, json!({"text": "hello"})).await;
    post(&t, &chat, &ann, json!({"text": "a note for agents", "internal": true})).await;
    // The messages come at once (the writer's fast path; under load, one may run out of
    // time and come from the stream after the other); the accept's state change from the
    // stream: wait for all three.
    let pushed = anns
        .pushes_until(|p| {
            ["hello", "a note for agents"].iter().all(|t| pushed_texts(p).contains(&t.to_string()))
                && p.iter().any(|d| d["messageType"] == "ChatStateChangeMessage")
        })
        .await;
    let texts = pushed_texts(&pushed);
    assert!(["hello", "a note for agents"].iter().all(|t| texts.contains(&t.to_string())), "{texts:?}");
    let note = pushed.iter().flat_map(|d| d["messages"].as_array().cloned().unwrap_or_default());
    let note = note.into_iter().find(|m| m["text"] == "a note for agents").unwrap();
    assert_eq!(note["visibility"], "Agents");
    // The owner's capabilities, as the seed's agent view lists them.
    let state = pushed.iter().rev().find(|d| d["messageType"] == "ChatStateChangeMessage").expect("a state change");
    let capabilities: Vec<&str> =
        state["chat"]["capabilities"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    for c in ["SendMessage", "Leave", "Transfer", "Invite", "Complete", "SendStartTypingNotification"] {
        assert!(capabilities.contains(&c), "{c} in {capabilities:?}");
    }
    // The typing preview (sendTyping with the text so far): the agent sees it, pushed and
    // polled; an agent's preview never reaches the customer.
    let path = format!("/chats/{chat}/typing");
    let preview = json!({"typing": true, "text": "my order num"});
    assert_eq!(t.call("POST", &path, Some(&customer), Some(preview.clone())).await.0, 204);
    let previews = |p: &[Value]| -> Vec<String> {
        p.iter()
            .flat_map(|d| d["messages"].as_array().cloned().unwrap_or_default())
            .filter(|m| m["type"] == "TypingStarted")
            .map(|m| m["text"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    let pushed = anns.pushes_until(|p| !previews(p).is_empty()).await;
    assert_eq!(previews(&pushed), vec!["my order num"]);
    let (_, page) = t.call("GET", &format!("/chats/{chat}/messages?after=99"), Some(&ann), None).await;
    assert_eq!(page["typing"][0]["text"], "my order num", "{page}");
    assert_eq!(t.call("POST", &path, Some(&ann), Some(preview)).await.0, 204);
    let (_, page) = t.call("GET", &format!("/chats/{chat}/messages?after=99"), Some(&customer), None).await;
    assert_eq!(page["typing"].as_array().map(Vec::len), Some(1), "{page}");
    assert!(page["typing"][0].get("text").is_none(), "{page}");

    // Bob is in no chat: nothing of ann's chat reaches him (a witness message to his own
    // chat shows his socket works and is pushed after the others).
    let (own, _) = t.start_chat("sales").await;
    accept(&t, &own, &bob).await;
    post(&t, &own, &bob, json!({"text": "bob's witness"})).await;
    let bobs_pushes = bobs.pushes_until(|p| pushed_texts(p).contains(&"bob's witness".to_string())).await;
    assert_eq!(pushed_texts(&bobs_pushes), vec!["bob's witness"]);
    assert!(bobs_pushes.iter().all(|d| d["chat"]["id"].as_str().is_none_or(|id| id == own)), "{bobs_pushes:?}");
}

#[tokio::test]
async fn a_socket_needs_a_valid_token_and_its_chatter_in_the_chat() {
    let (t, port) = TestApp::with_push().await;
    assert_eq!(Socket::open(port, "not-a-token").await.err(), Some(401));
    let (chat, customer) = t.start_chat("sales").await;
    let (status, _) = t.call("POST", &format!("/chats/{chat}/leave"), Some(&customer), None).await;
    assert!(status == 200 || status == 204, "{status}");
    assert_eq!(Socket::open(port, &customer).await.err(), Some(403), "a chatter who left");
    let (gone, gone_token) = t.start_chat("sales").await;
    let (status, body) = t.call("DELETE", &format!("/chats/{gone}"), Some(&t.agent_token("ann")), None).await;
    assert!(status < 300, "{status} {body}");
    assert_eq!(Socket::open(port, &gone_token).await.err(), Some(403), "a deleted chat");
    // A subscription from another client id is refused; the socket's own goes through.
    let mut socket = Socket::open(port, &t.agent_token("ann")).await.expect("opens");
    let reply = socket
        .call(json!([{"channel": "/meta/subscribe", "clientId": "someone-else", "subscription": "/v2/me/chats"}]))
        .await;
    assert_eq!(reply[0]["error"], "402::Unknown client");
}

#[tokio::test]
async fn a_socket_that_is_gone_is_forgotten_and_a_closed_one_removed() {
    let (t, port) = TestApp::with_push().await;
    let (chat, customer) = t.start_chat("sales").await;
    let socket = Socket::subscribed(port, &customer).await;
    let id = socket.client_id.clone();
    let watched = shared::domain::connections::Watched::Chat(chat.clone());
    assert_eq!(t.app.db.watchers(&watched).await.unwrap().len(), 1);
    // The local @connections API answers as API Gateway's does: a socket it has, and 410 for one it has not.
    let mut http = integration_tests::HttpClient::new(port);
    assert_eq!(http.call("GET", &format!("/_ws/@connections/{id}"), None, None).await.0, 200);
    assert_eq!(http.call("GET", "/_ws/@connections/ghost", None, None).await.0, 410);
    assert_eq!(http.call("POST", "/_ws/@connections/ghost", None, Some(&json!([]))).await.0, 410);
    // A connection API Gateway no longer has (its $disconnect was missed): 410 on the next push.
    let (_, session) = t.call("GET", "/session", Some(&customer), None).await;
    let ghost = shared::domain::connections::Connection {
        connection_id: "ghost".into(),
        viewer: shared::domain::connections::Viewer::Chatter {
            chat_id: chat.clone(),
            chatter_type: shared::domain::model::ChatterType::Public,
            chatter_id: session["participantId"].as_str().unwrap().into(),
        },
        connected_at: t.app.clock.stamp(),
        subscribed: false,
    };
    t.app.db.put_connection(&ghost, t.app.clock.epoch_secs() + 60).await.unwrap();
    t.app.db.set_subscribed("ghost", true).await.unwrap();
    assert_eq!(t.app.db.watchers(&watched).await.unwrap().len(), 2);
    post(&t, &chat, &customer, json!({"text": "anyone?"})).await;
    let left = watchers_until(&t, &watched, 1).await;
    assert_eq!(left, vec![id.clone()], "the gone socket is forgotten, the open one kept");
    // A client that closes its socket: $disconnect removes it.
    socket.close().await;
    assert!(watchers_until(&t, &watched, 0).await.is_empty(), "the closed socket's item is removed");
}

/// The ids of what `watched` names's subscribed sockets, once there are `n` of them (or after 10 s).
async fn watchers_until(t: &TestApp, watched: &shared::domain::connections::Watched, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for _ in 0..100 {
        ids = t.app.db.watchers(watched).await.unwrap().into_iter().map(|c| c.connection_id).collect();
        if ids.len() == n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    ids
}

/// OTRS's Monitoring, in effect: an agent who monitors without taking part (chatterActive 0)
/// is told of the customer's activity (1) or of all activity (2), on its socket.
#[tokio::test]
async fn chat_participant_add_monitoring_tells_the_monitoring_agent_of_the_chats_activity() {
    let (t, port) = TestApp::with_push().await;
    let (chat, customer) = t.start_chat("sales").await;
    let ann = t.agent_token("ann");
    accept(&t, &chat, &ann).await;
    for (user, monitoring) in [("cus", 1), ("all", 2), ("none", 0)] {
        let add = json!({"chatterId": user, "chatterType": "User", "permissionLevel": "Observer",
            "chatterActive": 0, "monitoring": monitoring});
        let (status, body) = t.call("POST", &format!("/chats/{chat}/participants"), Some(&ann), Some(add)).await;
        assert_eq!(status, 201, "{body}");
    }
    let mut sockets = Vec::new();
    for user in ["cus", "all", "none"] {
        sockets.push(Socket::subscribed(port, &t.agent_token(user)).await);
    }
    post(&t, &chat, &ann, json!({"text": "from the agent"})).await;
    post(&t, &chat, &customer, json!({"text": "from the customer"})).await;
    // A witness in a chat of "none"'s own, so its silence about the other is shown.
    let (own, _) = t.start_chat("sales").await;
    let none = t.agent_token("none");
    accept(&t, &own, &none).await;
    post(&t, &own, &none, json!({"text": "witness"})).await;
    let done = |text: &'static str| move |p: &[Value]| pushed_texts(p).contains(&text.to_string());
    let cus = sockets[0].pushes_until(done("from the customer")).await;
    // Both, whichever comes first: under load the writer's fast push can run out of time
    // for one, and the stream's push brings it a moment later.
    let all = sockets[1]
        .pushes_until(|p| {
            ["from the agent", "from the customer"].iter().all(|t| pushed_texts(p).contains(&t.to_string()))
        })
        .await;
    let quiet = sockets[2].pushes_until(done("witness")).await;
    assert_eq!(pushed_texts(&cus), vec!["from the customer"], "monitoring 1: the customer's activity");
    let mut all = pushed_texts(&all);
    all.sort();
    assert_eq!(all, vec!["from the agent", "from the customer"], "monitoring 2: all of it");
    assert_eq!(pushed_texts(&quiet), vec!["witness"], "monitoring 0: nothing of that chat");
}

/// CustomerAvailabilityGet: a known customer in an open chat is away (2) until a widget of
/// theirs is connected live to it (3), away again once it closes, off-line (0) once they leave.
#[tokio::test]
async fn customer_availability_get_is_away_until_a_widget_of_theirs_is_connected() {
    let (t, port) = TestApp::with_push().await;
    let ann = t.agent_token("ann");
    let body = json!({"channelId": "sales", "requesterType": "Customer", "identityToken": t.identity_token("kim"), "nickname": "Kim"});
    let (status, started) = t.call("POST", "/chats", None, Some(body)).await;
    assert_eq!(status, 201, "{started}");
    let chat = started["chat"]["chatId"].as_str().unwrap().to_string();
    let kim = started["token"].as_str().unwrap().to_string();
    accept(&t, &chat, &ann).await;
    let availability =
        || async { t.call("GET", "/customers/kim/availability", Some(&ann), None).await.1["availability"].clone() };
    assert_eq!(availability().await, 2);
    // The agent's own socket on the chat does not make the customer on-line.
    let agent_socket = Socket::subscribed(port, &ann).await;
    assert_eq!(availability().await, 2);
    let socket = Socket::subscribed(port, &kim).await;
    assert_eq!(availability().await, 3);
    socket.close().await;
    watchers_until(&t, &shared::domain::connections::Watched::Chat(chat.clone()), 0).await;
    assert_eq!(availability().await, 2);
    let leave = t.call("POST", &format!("/chats/{chat}/leave"), Some(&kim), None).await;
    assert_eq!(leave.0, 200);
    assert_eq!(availability().await, 0);
    agent_socket.close().await;
}

/// Read receipts: any party marks how far it has read; the mark never moves back, shows on
/// its participant, and is pushed to the chat's sockets as MessagesRead.
#[tokio::test]
async fn a_read_mark_moves_only_forward_shows_per_participant_and_is_pushed() {
    let (t, port) = TestApp::with_push().await;
    let (chat, customer) = t.start_chat("sales").await;
    let ann = t.agent_token("ann");
    accept(&t, &chat, &ann).await;
    post(&t, &chat, &ann, json!({"text": "one"})).await;
    post(&t, &chat, &ann, json!({"text": "two"})).await;
    let mut agent_socket = Socket::subscribed(port, &ann).await;
    let mut customer_socket = Socket::subscribed(port, &customer).await;
    let (_, session) = t.call("GET", "/session", Some(&customer), None).await;
    let last = session["lastIndex"].as_u64().unwrap();
    let read = format!("/chats/{chat}/read");
    let mark = |token: &str, body: Value| {
        let (t, read, token) = (t.clone(), read.clone(), token.to_string());
        async move { t.call("POST", &read, Some(&token), Some(body)).await }
    };
    let (status, body) = mark(&customer, json!({"index": last})).await;
    assert_eq!((status, body["lastReadIndex"].as_u64()), (200, Some(last)), "{body}");
    let (status, body) = mark(&customer, json!({"index": last - 1})).await;
    assert_eq!((status, body["lastReadIndex"].as_u64()), (200, Some(last)), "never backwards: {body}");
    for bad in [json!({"index": last + 1}), json!({"index": -1}), json!({}), json!({"index": "2"})] {
        let (status, body) = mark(&customer, bad.clone()).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body["error"]["message"].is_string(), "a JSON error: {body}");
    }
    assert_eq!(mark(&t.agent_token("bob"), json!({"index": 1})).await.0, 403, "no party of the chat");
    let (_, list) = t.call("GET", &format!("/chats/{chat}/participants"), Some(&ann), None).await;
    let rows = list["participants"].as_array().unwrap();
    let row = |id: &str| rows.iter().find(|p| p["chatterId"] == id).unwrap().clone();
    let customer_id = rows.iter().find(|p| p["chatterType"] != "User").unwrap()["chatterId"].as_str().unwrap();
    assert_eq!(row(customer_id)["lastReadIndex"], last);
    assert!(row("ann").get("lastReadIndex").is_none(), "Ann has marked nothing: {}", row("ann"));
    let reads = |p: &[Value]| -> Vec<(String, u64)> {
        p.iter()
            .flat_map(|d| d["messages"].as_array().cloned().unwrap_or_default())
            .filter(|m| m["type"] == "MessagesRead")
            .map(|m| (m["from"]["type"].as_str().unwrap().to_string(), m["lastReadIndex"].as_u64().unwrap()))
            .collect()
    };
    let pushed = agent_socket.pushes_until(|p| !reads(p).is_empty()).await;
    assert_eq!(reads(&pushed), vec![("Customer".to_string(), last)], "once: the lower mark wrote nothing");
    assert_eq!(mark(&ann, json!({"index": last})).await.0, 200);
    let pushed = customer_socket.pushes_until(|p| reads(p).iter().any(|r| r.0 == "Agent")).await;
    assert!(reads(&pushed).contains(&("Agent".to_string(), last)), "{pushed:?}");
}

/// Before a chat: a channel's queue, its length and the wait to expect, with no token.
#[tokio::test]
async fn a_visitor_sees_a_channels_queue_before_starting_a_chat() {
    let t = TestApp::new().await;
    let channel = format!("outlook-{}", uuid::Uuid::new_v4());
    let path = format!("/channels/{channel}/queue");
    let (status, empty) = t.call("GET", &path, None, None).await;
    assert_eq!(status, 200, "{empty}");
    assert_eq!(empty, json!({"channelId": channel, "waiting": 0, "estimatedWaitSeconds": null}));
    let (first, _) = t.start_chat(&channel).await;
    t.start_chat(&channel).await;
    assert_eq!(t.call("GET", &path, None, None).await.1["waiting"], 2);
    accept(&t, &first, &t.agent_token("ann")).await;
    let (_, after) = t.call("GET", &path, None, None).await;
    assert_eq!(after["waiting"], 1, "{after}");
    assert!(after["estimatedWaitSeconds"].is_u64(), "one accept: an estimate: {after}");
    let (status, body) = t.call("GET", "/channels/%20/queue", None, None).await;
    assert_eq!(status, 400, "{body}");
}

/// Queue position: a waiting customer reads its place and the wait to expect, and is
/// pushed its new place when a request ahead of it is accepted.
#[tokio::test]
async fn a_waiting_customer_knows_its_place_and_is_pushed_when_it_moves_up() {
    let (t, port) = TestApp::with_push().await;
    // A channel of this test's own, so no other test's requests stand in its queue.
    let channel = format!("queue-{}", uuid::Uuid::new_v4());
    let (first, _) = t.start_chat(&channel).await;
    let (second, second_customer) = t.start_chat(&channel).await;
    let (third, third_customer) = t.start_chat(&channel).await;
    let place = |token: String| {
        let t = t.clone();
        async move {
            let (status, session) = t.call("GET", "/session", Some(&token), None).await;
            assert_eq!(status, 200, "{session}");
            (session["queuePosition"].clone(), session["estimatedWaitSeconds"].clone())
        }
    };
    assert_eq!(place(second_customer.clone()).await, (json!(2), Value::Null), "nothing accepted yet: no estimate");
    let (_, view) = t.call("GET", &format!("/chats/{third}"), Some(&third_customer), None).await;
    assert_eq!(view["chat"]["queuePosition"], 3, "{view}");
    let mut socket = Socket::subscribed(port, &third_customer).await;
    let ann = t.agent_token("ann");
    accept(&t, &first, &ann).await;
    let places = |p: &[Value]| -> Vec<u64> {
        p.iter()
            .filter(|d| d["messageType"] == "QueuePositionUpdated")
            .map(|d| d["queuePosition"].as_u64().unwrap())
            .collect()
    };
    let pushed = socket.pushes_until(|p| places(p).contains(&2)).await;
    assert_eq!(places(&pushed).last(), Some(&2), "moved up one place: {pushed:?}");
    let note = pushed.iter().rfind(|d| d["messageType"] == "QueuePositionUpdated").unwrap();
    assert!(note["estimatedWaitSeconds"].is_u64(), "one accept: an estimate: {note}");
    assert!(note["chatUri"].as_str().unwrap().ends_with(&format!("/chats/{third}")));
    assert_eq!(place(second_customer).await.0, json!(1), "next");
    accept(&t, &second, &ann).await;
    let (_, view) = t.call("GET", &format!("/chats/{second}"), Some(&ann), None).await;
    assert!(view["chat"].get("queuePosition").is_none(), "accepted: no place in a queue: {view}");
    let pushed = socket.pushes_until(|p| places(p).contains(&1)).await;
    // A push may come twice (a stream batch retried): the places, in order, without repeats.
    let mut moves = places(&pushed);
    moves.dedup();
    assert_eq!(moves, vec![2, 1], "moved up, in order");
}

/// Edit and delete: the author edits in time, the Owner withdraws; others see the new text
/// marked edited or a tombstone at the same index, pushed; agents read the versions.
#[tokio::test]
async fn a_message_is_edited_by_its_author_withdrawn_by_the_owner_and_agents_keep_its_history() {
    let (t, port) = TestApp::with_push().await;
    let (chat, customer) = t.start_chat("sales").await;
    let ann = t.agent_token("ann");
    accept(&t, &chat, &ann).await;
    let mut anns = Socket::subscribed(port, &ann).await;
    let (status, sent) =
        t.call("POST", &format!("/chats/{chat}/messages"), Some(&customer), Some(json!({"text": "my ordr"}))).await;
    assert_eq!(status, 201, "{sent}");
    let id = sent["message"]["messageId"].as_str().unwrap().to_string();
    let index = sent["message"]["index"].as_u64().unwrap();
    let path = format!("/chats/{chat}/messages/{id}");
    // A widget that polls learns of a change to a message it has from the poll's revision.
    let poll = format!("/chats/{chat}/messages?after={index}");
    async fn revision(t: &TestApp, poll: &str, token: String) -> Value {
        t.call("GET", poll, Some(&token), None).await.1["revision"].clone()
    }
    assert_eq!(revision(&t, &poll, customer.clone()).await, json!(0));
    let (status, edited) = t.call("PATCH", &path, Some(&customer), Some(json!({"text": "my order"}))).await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(
        (edited["message"]["text"].clone(), edited["message"]["edited"].clone()),
        (json!("my order"), json!(true))
    );
    assert!(edited["message"].get("versions").is_none(), "the customer never sees versions");
    assert_eq!(t.call("PATCH", &path, Some(&ann), Some(json!({"text": "x"}))).await.0, 403, "not Ann's to edit");
    assert_eq!(t.call("PATCH", &path, Some(&customer), Some(json!({"text": ""}))).await.0, 400);
    assert_eq!(t.call("PATCH", &path, Some(&customer), Some(json!({}))).await.0, 400);
    assert_eq!(t.call("GET", &format!("{path}?history=1"), Some(&customer), None).await.0, 403);
    let edits = |p: &[Value], kind: &str| -> Vec<Value> {
        p.iter()
            .flat_map(|d| d["messages"].as_array().cloned().unwrap_or_default())
            .filter(|m| m["type"] == kind)
            .collect()
    };
    assert_eq!(revision(&t, &poll, customer.clone()).await, json!(1), "one change, refused ones not counted");
    let pushed = anns.pushes_until(|p| !edits(p, "MessageEdited").is_empty()).await;
    let edit = &edits(&pushed, "MessageEdited")[0];
    assert_eq!((edit["messageIndex"].as_u64(), edit["text"].clone()), (Some(index), json!("my order")));

    // The Owner withdraws it (moderation): a tombstone at the same index, for everyone.
    assert_eq!(t.call("DELETE", &path, Some(&ann), None).await.0, 204);
    let (_, gone) = t.call("GET", &path, Some(&customer), None).await;
    assert_eq!((gone["message"]["deleted"].clone(), gone["message"]["text"].clone()), (json!(true), json!("")));
    let (_, list) = t.call("GET", &format!("/chats/{chat}/messages"), Some(&customer), None).await;
    let at = list["messages"].as_array().unwrap().iter().find(|m| m["index"] == index).unwrap().clone();
    assert_eq!(at["deleted"], true, "the tombstone keeps its place: {at}");
    assert_eq!(t.call("PATCH", &path, Some(&customer), Some(json!({"text": "again"}))).await.0, 409, "deleted");
    assert_eq!(revision(&t, &poll, ann.clone()).await, json!(2));
    let (_, history) = t.call("GET", &format!("{path}?history=1"), Some(&ann), None).await;
    let versions: Vec<(&str, &str)> = history["message"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["text"].as_str().unwrap(), v["by"].as_str().unwrap()))
        .collect();
    let customer_id = sent["message"]["chatterId"].as_str().unwrap();
    assert_eq!(versions, vec![("my ordr", customer_id), ("my order", "ann")], "the audit trail");
    let pushed = anns.pushes_until(|p| !edits(p, "MessageDeleted").is_empty()).await;
    assert!(edits(&pushed, "MessageDeleted")[0].get("text").is_none());

    // Past the window, its author may no longer change a message.
    let (_, late) =
        t.call("POST", &format!("/chats/{chat}/messages"), Some(&customer), Some(json!({"text": "late"}))).await;
    t.app.clock.advance(std::time::Duration::from_secs(15 * 60 + 1));
    let late = format!("/chats/{chat}/messages/{}", late["message"]["messageId"].as_str().unwrap());
    assert_eq!(t.call("PATCH", &late, Some(&customer), Some(json!({"text": "later"}))).await.0, 409);
}
