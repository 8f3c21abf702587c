//! Events end to end: committed changes → the table's stream → the publisher → SNS
//! (the emulator) → webhook subscribers, in three vocabularies, at least once.

use std::collections::BTreeSet;

use integration_tests::{eventually, Proxy, Receiver, TestApp};
use serde_json::{json, Value};

/// Subscribes `url` through SNS (as an admin: webhooks export every event).
pub async fn subscribe(t: &TestApp, url: String, format: &str, events: &[&str]) -> String {
    let admin = t.admin_token("admin");
    let hook = json!({"url": url, "format": format, "events": events, "mode": "sns"});
    let (status, body) = t.call("POST", "/webhooks", Some(&admin), Some(hook)).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "pendingConfirmation");
    body["webhookId"].as_str().unwrap().to_string()
}

/// Whether `n` subscriptions are confirmed, within ten seconds.
pub async fn confirmed(t: &TestApp, n: usize) -> bool {
    let admin = t.admin_token("admin");
    for _ in 0..100 {
        let (_, list) = t.call("GET", "/webhooks", Some(&admin), None).await;
        if list["webhooks"].as_array().unwrap().iter().filter(|w| w["status"] == "confirmed").count() == n {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    false
}

pub fn json_events(bodies: &[String]) -> Vec<Value> {
    bodies.iter().map(|b| serde_json::from_str(b).unwrap()).collect()
}

pub fn form(body: &str) -> Vec<(String, String)> {
    body.split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = shared::routes::percent_decode(&v.replace('+', " ")).unwrap();
            (k.to_string(), v)
        })
        .collect()
}

#[tokio::test]
async fn a_chat_fans_out_to_subscribers_in_each_vocabulary() {
    let proxy = Proxy::start(&integration_tests::sns_endpoint()).await;
    let t = TestApp::with_events(&proxy).await;
    let rx = Receiver::start().await;
    let ann = t.agent_token("ann");
    let native = ["ChatAdd", "ChatUpdate", "ChatRequestUpdate", "ChatChannelUpdate", "ChatMessageAdd"];
    let rpc = ["CHAT_STARTED", "OPERATOR_TRANSFER", "OPERATOR_STOPED_CHAT"];
    let notification = ["StatusChange", "NewMessages"];
    subscribe(&t, rx.url("/native"), "native", &native).await;
    subscribe(&t, rx.url("/rpc"), "rpc", &rpc).await;
    subscribe(&t, rx.url("/notification"), "notification", &notification).await;
    assert!(confirmed(&t, 3).await, "subscriptions confirmed");
    assert_eq!(rx.confirmations(), 3);
    // Bad subscriptions are 400s.
    for bad in [
        json!({"url": "ftp://x", "format": "rpc", "events": ["CHAT_STARTED"]}),
        json!({"url": rx.url("/x"), "format": "rpc", "events": ["ChatAdd"]}),
    ] {
        assert_eq!(t.call("POST", "/webhooks", Some(&t.admin_token("admin")), Some(bad)).await.0, 400);
    }

    // A chat: start, accept, messages both ways (and an internal note), transfer, close.
    let (chat, customer) = t.start_chat("sales").await;
    let p = format!("/chats/{chat}");
    assert_eq!(t.call("PATCH", &p, Some(&ann), Some(json!({"status": "active"}))).await.0, 200);
    let hello = json!({"text": "hello", "referenceId": "83"});
    assert_eq!(t.call("POST", &format!("{p}/messages"), Some(&customer), Some(hello)).await.0, 201);
    assert_eq!(
        t.call("POST", &format!("{p}/messages"), Some(&ann), Some(json!({"text": "how can I help?"}))).await.0,
        201
    );
    assert_eq!(
        t.call("POST", &format!("{p}/messages"), Some(&ann), Some(json!({"text": "secret note", "internal": true})))
            .await
            .0,
        201
    );
    assert_eq!(t.call("PATCH", &p, Some(&ann), Some(json!({"channelId": "support"}))).await.0, 200);
    assert_eq!(t.call("PATCH", &p, Some(&ann), Some(json!({"status": "closed"}))).await.0, 200);

    let all_native = || json_events(&rx.bodies("/native"));
    assert!(
        eventually(60, || {
            let got: BTreeSet<String> = all_native().iter().map(|e| e["event"].as_str().unwrap().to_string()).collect();
            native.iter().all(|e| got.contains(*e))
                && rx.bodies("/rpc").len() >= 2
                && rx.bodies("/notification").len() >= 5
                // SNS delivers in no set order: wait for the last change's notification too.
                && rx.bodies("/notification").iter().any(|b| b.contains("\"Disconnected\""))
        })
        .await,
        "native {:?}\nrpc {:?}\nnotification {:?}",
        rx.bodies("/native"),
        rx.bodies("/rpc"),
        rx.bodies("/notification")
    );
    // Native: the envelope, only subscribed events, each once after dropping duplicates.
    let natives = all_native();
    for e in &natives {
        assert!(native.contains(&e["event"].as_str().unwrap()), "filtered on event: {e}");
        for field in ["eventId", "event", "occurredAt", "chatId", "channelId", "actor", "data"] {
            assert!(e.get(field).is_some(), "{field} in {e}");
        }
    }
    let messages = natives
        .iter()
        .filter(|e| e["event"] == "ChatMessageAdd")
        .map(|e| e["eventId"].as_str().unwrap())
        .collect::<BTreeSet<_>>();
    assert!(messages.len() >= 4, "joined, two texts and the note: {messages:?}");
    let transfer = natives.iter().find(|e| e["event"] == "ChatChannelUpdate").unwrap();
    assert_eq!(transfer["data"]["previousChannelId"], "sales");
    assert_eq!(transfer["channelId"], "support");

    // RPC: exact parameter names, LICENCE, the transcript on OPERATOR_STOPED_CHAT.
    let rpcs: Vec<Vec<(String, String)>> = rx.bodies("/rpc").iter().map(|b| form(b)).collect();
    let param = |e: &Vec<(String, String)>, k: &str| e.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let started = rpcs.iter().find(|e| param(e, "EVENT").as_deref() == Some("CHAT_STARTED")).expect("CHAT_STARTED");
    assert_eq!(param(started, "LICENCE").as_deref(), Some("1234"));
    assert_eq!(param(started, "OPERATOR_ID").as_deref(), Some("ann"));
    assert!(param(started, "CLIENT_ID").unwrap().starts_with("visitor-"));
    let stopped = rpcs
        .iter()
        .find(|e| param(e, "EVENT").as_deref() == Some("OPERATOR_STOPED_CHAT"))
        .expect("OPERATOR_STOPED_CHAT");
    let transcript = param(stopped, "CHAT").unwrap();
    assert!(transcript.contains("hello") && transcript.contains("how can I help?"), "{transcript}");
    assert!(!transcript.contains("secret note"), "internal notes stay inside");
    assert_eq!(param(stopped, "CHANNEL").as_deref(), Some("support"));
    assert_eq!(param(stopped, "GROUP").as_deref(), Some(chat.as_str()), "GROUP is the conference: the chat");
    // The move to "support" hands the client to no agent: no OPERATOR_TRANSFER.
    assert!(!rpcs.iter().any(|e| param(e, "EVENT").as_deref() == Some("OPERATOR_TRANSFER")));

    // Notification: Genesys shapes; never the internal note.
    let notes = json_events(&rx.bodies("/notification"));
    for n in &notes {
        assert_eq!(n["channel"], "/v2/me/chats");
        assert!(!n.to_string().contains("secret note"), "internal message in a customer vocabulary: {n}");
    }
    let states: Vec<&str> = notes
        .iter()
        .filter(|n| n["data"]["notificationType"] == "StatusChange")
        .map(|n| n["data"]["chat"]["state"].as_str().unwrap())
        .collect();
    assert!(states.contains(&"Chatting") && states.contains(&"Disconnected"), "{states:?}");
    let texts: Vec<&str> = notes
        .iter()
        .filter(|n| n["data"]["messageType"] == "MessageLogUpdated")
        .flat_map(|n| n["data"]["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()))
        .collect();
    assert!(texts.contains(&"hello") && texts.contains(&"how can I help?"), "{texts:?}");
    // The seed's shapes: an absolute chatUri, its timestamp format, the client's referenceId.
    let hello = notes
        .iter()
        .find(|n| n["data"]["messages"][0]["text"] == "hello")
        .map(|n| n["data"].clone())
        .expect("hello's NewMessages");
    assert_eq!(hello["chatUri"], format!("http://127.0.0.1:3000/chats/{chat}"));
    assert_eq!(hello["referenceId"], "83");
    let stamp = hello["messages"][0]["timestamp"].as_str().unwrap().to_string();
    assert!(stamp.len() == 28 && stamp.as_bytes()[10] == b' ' && stamp.ends_with("+0000"), "{stamp}");
    let uri = notes.iter().find_map(|n| n["data"]["chat"]["uri"].as_str()).unwrap();
    assert_eq!(uri, format!("http://127.0.0.1:3000/chats/{chat}"));

    // Unsubscribing stops deliveries to that URL.
    let admin = t.admin_token("admin");
    let (_, list) = t.call("GET", "/webhooks", Some(&admin), None).await;
    let id = list["webhooks"][0]["webhookId"].as_str().unwrap().to_string();
    assert_eq!(t.call("DELETE", &format!("/webhooks/{id}"), Some(&ann), None).await.0, 403, "admins only");
    assert_eq!(t.call("DELETE", &format!("/webhooks/{id}"), Some(&admin), None).await.0, 204);
    assert_eq!(t.call("DELETE", &format!("/webhooks/{id}"), Some(&admin), None).await.0, 404);
}

#[tokio::test]
async fn events_committed_while_sns_is_down_arrive_when_it_is_back() {
    let proxy = Proxy::start(&integration_tests::sns_endpoint()).await;
    let t = TestApp::with_events(&proxy).await;
    let rx = Receiver::start().await;
    subscribe(&t, rx.url("/adds"), "native", &["ChatAdd"]).await;
    assert!(confirmed(&t, 1).await);

    proxy.set_down(true);
    let mut chats = BTreeSet::new();
    for _ in 0..5 {
        // Requests never wait on SNS: they succeed while it is down.
        chats.insert(t.start_chat("sales").await.0);
    }
    // The publisher has tried (and failed) to reach SNS: nothing could have arrived.
    assert!(eventually(60, || proxy.refused() > 0).await, "the publisher tried SNS while it was down");
    assert!(rx.bodies("/adds").is_empty(), "nothing can arrive while SNS is down");
    proxy.set_down(false);

    let arrived = || {
        json_events(&rx.bodies("/adds"))
            .iter()
            .map(|e| e["chatId"].as_str().unwrap().to_string())
            .collect::<BTreeSet<_>>()
    };
    assert!(eventually(60, || arrived() == chats).await, "every event arrives once SNS is back: {:?}", arrived());
    // At least once: a subscriber that drops repeated eventIds sees each event exactly once.
    let ids: Vec<String> =
        json_events(&rx.bodies("/adds")).iter().map(|e| e["eventId"].as_str().unwrap().to_string()).collect();
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), chats.len(), "one eventId per chat: {ids:?}");
}

#[tokio::test]
async fn the_stream_reader_outlasts_dynamodb_being_unreachable() {
    // The reader starts while DynamoDB is unreachable to it: like Lambda's event source
    // mapping, it keeps trying, and carries every record once DynamoDB answers.
    let dynamodb = Proxy::start(&integration_tests::dynamodb_endpoint()).await;
    dynamodb.set_down(true);
    let sns = Proxy::start(&integration_tests::sns_endpoint()).await;
    let t = TestApp::with_events_through(&sns, Some(&dynamodb), |_| {}).await;
    let rx = Receiver::start().await;
    subscribe(&t, rx.url("/adds"), "native", &["ChatAdd"]).await;
    assert!(confirmed(&t, 1).await);
    // More refusals than the SDK's three attempts of one call: a call failed for good and
    // the reader tried again.
    assert!(eventually(60, || dynamodb.refused() > 3).await, "the reader keeps trying DynamoDB while it is down");
    let mut chats = BTreeSet::new();
    for _ in 0..3 {
        chats.insert(t.start_chat("sales").await.0);
    }
    dynamodb.set_down(false);
    let arrived = || {
        json_events(&rx.bodies("/adds"))
            .iter()
            .map(|e| e["chatId"].as_str().unwrap().to_string())
            .collect::<BTreeSet<_>>()
    };
    assert!(eventually(60, || arrived() == chats).await, "every event arrives once DynamoDB answers: {:?}", arrived());
}

/// The rpc events named `event` received at `path`, as parameter lists, once per EVENT_ID.
fn rpc_events(rx: &Receiver, path: &str, event: &str) -> Vec<Vec<(String, String)>> {
    let mut seen = BTreeSet::new();
    rx.bodies(path)
        .iter()
        .map(|b| form(b))
        .filter(|e| e.iter().any(|(k, v)| k == "EVENT" && v == event))
        .filter(|e| seen.insert(e.iter().find(|(k, _)| k == "EVENT_ID").map(|(_, v)| v.clone())))
        .collect()
}

fn param(e: &[(String, String)], name: &str) -> String {
    e.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default()
}

/// Native events named `event` at `path`, once per eventId.
fn natives(rx: &Receiver, path: &str, event: &str) -> Vec<Value> {
    let mut seen = BTreeSet::new();
    json_events(&rx.bodies(path))
        .into_iter()
        .filter(|e| e["event"] == event && seen.insert(e["eventId"].as_str().unwrap_or_default().to_string()))
        .collect()
}

#[tokio::test]
async fn each_change_in_one_batch_names_its_own_actor() {
    let proxy = Proxy::start(&integration_tests::sns_endpoint()).await;
    let t = TestApp::with_events(&proxy).await;
    let rx = Receiver::start().await;
    let (ann, bob) = (t.agent_token("ann"), t.agent_token("bob"));
    subscribe(&t, rx.url("/native"), "native", &["ChatChannelUpdate"]).await;
    assert!(confirmed(&t, 1).await);
    let (chat, _) = t.start_chat("sales").await;
    // Both moves wait in the stream together: the publisher is held back by SNS being down.
    proxy.set_down(true);
    let p = format!("/chats/{chat}");
    assert_eq!(t.call("PATCH", &p, Some(&ann), Some(json!({"channelId": "support"}))).await.0, 200);
    assert_eq!(t.call("PATCH", &p, Some(&bob), Some(json!({"channelId": "billing"}))).await.0, 200);
    let refused = proxy.refused();
    assert!(eventually(60, || proxy.refused() > refused).await, "the publisher tried with both moves written");
    proxy.set_down(false);
    let want: BTreeSet<(String, String)> =
        [("support", "ann"), ("billing", "bob")].iter().map(|(g, o)| (g.to_string(), o.to_string())).collect();
    assert!(eventually(60, || natives(&rx, "/native", "ChatChannelUpdate").len() == 2).await);
    let actors: BTreeSet<(String, String)> = natives(&rx, "/native", "ChatChannelUpdate")
        .iter()
        .map(|e| (e["channelId"].as_str().unwrap().to_string(), e["actor"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(actors, want);
}

#[tokio::test]
async fn an_accepted_invitation_is_no_longer_pending() {
    let proxy = Proxy::start(&integration_tests::sns_endpoint()).await;
    let t = TestApp::with_events(&proxy).await;
    let rx = Receiver::start().await;
    let (ann, bob) = (t.agent_token("ann"), t.agent_token("bob"));
    subscribe(&t, rx.url("/native"), "native", &["ChatRequestUser", "ChatInvite", "ChatParticipantUpdate"]).await;
    assert!(confirmed(&t, 1).await);
    let (chat, _) = t.start_chat("sales").await;
    let p = format!("/chats/{chat}");
    assert_eq!(t.call("PATCH", &p, Some(&ann), Some(json!({"status": "active"}))).await.0, 200);
    assert_eq!(
        t.call("POST", &format!("{p}/invitations"), Some(&ann), Some(json!({"inviteUserId": "bob"}))).await.0,
        201
    );
    let me = format!("{p}/participants/User/bob");
    assert_eq!(t.call("PATCH", &me, Some(&bob), Some(json!({"chatterActive": 1}))).await.0, 200);
    let (_, pending) = t.call("GET", "/users/bob/invitations", Some(&bob), None).await;
    assert_eq!(pending["invitations"], json!([]), "accepted: not pending");
    // Later Bob goes inactive: that is no new invitation.
    assert_eq!(t.call("PATCH", &me, Some(&bob), Some(json!({"chatterActive": 0}))).await.0, 200);
    let (_, pending) = t.call("GET", "/users/bob/invitations", Some(&bob), None).await;
    assert_eq!(pending["invitations"], json!([]), "inactive: still not pending");
    let last_seen = || {
        natives(&rx, "/native", "ChatParticipantUpdate")
            .iter()
            .any(|e| e["data"]["participant"]["chatterId"] == "bob" && e["data"]["participant"]["chatterActive"] == 0)
    };
    assert!(eventually(60, last_seen).await, "the inactive change was announced");
    assert_eq!(natives(&rx, "/native", "ChatInvite").len(), 1, "one invitation");
    assert_eq!(natives(&rx, "/native", "ChatRequestUser").len(), 1, "one request to Bob");
}

#[tokio::test]
async fn private_chat_status_stop_names_the_agent_who_declined() {
    let proxy = Proxy::start(&integration_tests::sns_endpoint()).await;
    let t = TestApp::with_events(&proxy).await;
    let rx = Receiver::start().await;
    let (ann, bob) = (t.agent_token("ann"), t.agent_token("bob"));
    subscribe(&t, rx.url("/rpc"), "rpc", &["PRIVATE_CHAT_STATUS"]).await;
    assert!(confirmed(&t, 1).await);
    let body = json!({"channelId": "internal", "requesterType": "User", "targetType": "User"});
    let (status, created) = t.call("POST", "/chats", Some(&ann), Some(body)).await;
    assert_eq!(status, 201, "{created}");
    let p = format!("/chats/{}", created["chat"]["chatId"].as_str().unwrap());
    assert_eq!(
        t.call("POST", &format!("{p}/invitations"), Some(&ann), Some(json!({"inviteUserId": "bob"}))).await.0,
        201
    );
    assert_eq!(t.call("POST", &format!("{p}/decline"), Some(&bob), Some(json!({}))).await.0, 204);
    let stops = || {
        rpc_events(&rx, "/rpc", "PRIVATE_CHAT_STATUS")
            .into_iter()
            .filter(|e| param(e, "STATUS") == "stop")
            .collect::<Vec<_>>()
    };
    assert!(eventually(60, || stops().len() == 1).await, "{:?}", rx.bodies("/rpc"));
    assert_eq!(param(&stops()[0], "OPERATOR_ID"), "bob", "the agent who declined");
}

#[tokio::test]
async fn a_cleanup_close_is_not_an_agent_stop() {
    let proxy = Proxy::start(&integration_tests::sns_endpoint()).await;
    let t = TestApp::with_events_through(&proxy, None, |c| {
        c.request_decay_secs = 10;
        c.cleanup.request_close_secs = 20;
        c.cleanup.closed_retention_secs = 3600;
    })
    .await;
    let rx = Receiver::start().await;
    subscribe(&t, rx.url("/rpc"), "rpc", &["OPERATOR_STOPED_CHAT"]).await;
    subscribe(&t, rx.url("/native"), "native", &["ChatUpdate"]).await;
    assert!(confirmed(&t, 2).await);
    let (chat, customer) = t.start_chat("sales").await;
    t.app.clock.advance(std::time::Duration::from_secs(30));
    let summary =
        shared::cleanup::run(&t.app, std::time::Instant::now() + std::time::Duration::from_secs(60)).await.unwrap();
    assert_eq!(summary.closed, 1, "{summary:?}");
    // The close's ChatUpdate is announced from the same record; the rpc vocabulary, had it
    // anything to say, would be published with it.
    assert!(eventually(60, || !natives(&rx, "/native", "ChatUpdate").is_empty()).await);
    let update = &natives(&rx, "/native", "ChatUpdate")[0];
    assert_eq!((update["chatId"].as_str(), update["actor"].as_str()), (Some(chat.as_str()), Some("system")));
    assert!(rpc_events(&rx, "/rpc", "OPERATOR_STOPED_CHAT").is_empty(), "{:?}", rx.bodies("/rpc"));
    let (_, transcript) = t.call("GET", &format!("/chats/{chat}/messages"), Some(&customer), None).await;
    let last = transcript["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["event"].as_str(), last["chatterType"].as_str()), (Some("closed"), Some("System")), "{last}");
}

#[tokio::test]
async fn deleting_an_open_chat_announces_its_close_and_its_deletion() {
    let proxy = Proxy::start(&integration_tests::sns_endpoint()).await;
    let t = TestApp::with_events(&proxy).await;
    let rx = Receiver::start().await;
    let ann = t.agent_token("ann");
    subscribe(&t, rx.url("/rpc"), "rpc", &["OPERATOR_STOPED_CHAT"]).await;
    subscribe(&t, rx.url("/native"), "native", &["ChatDelete"]).await;
    assert!(confirmed(&t, 2).await);
    let (chat, customer) = t.start_chat("sales").await;
    let p = format!("/chats/{chat}");
    assert_eq!(t.call("PATCH", &p, Some(&ann), Some(json!({"status": "active"}))).await.0, 200);
    assert_eq!(t.call("POST", &format!("{p}/messages"), Some(&customer), Some(json!({"text": "hello"}))).await.0, 201);
    assert_eq!(t.call("POST", &format!("{p}/messages"), Some(&ann), Some(json!({"text": "hi there"}))).await.0, 201);
    // The publisher is held back (SNS down) until well after the deletion.
    proxy.set_down(true);
    assert_eq!(t.call("DELETE", &p, Some(&ann), None).await.0, 204);
    assert_eq!(t.call("GET", &p, Some(&ann), None).await.0, 404, "gone for the API at once");
    let refused = proxy.refused();
    assert!(eventually(60, || proxy.refused() > refused).await, "the publisher tried after the deletion");
    proxy.set_down(false);
    assert!(eventually(60, || !rpc_events(&rx, "/rpc", "OPERATOR_STOPED_CHAT").is_empty()).await);
    let stopped = &rpc_events(&rx, "/rpc", "OPERATOR_STOPED_CHAT")[0];
    assert_eq!(param(stopped, "OPERATOR_ID"), "ann");
    let transcript = param(stopped, "CHAT");
    assert!(transcript.contains("hello") && transcript.contains("hi there"), "{transcript}");
    assert!(eventually(60, || natives(&rx, "/native", "ChatDelete").len() == 1).await);
    assert_eq!(natives(&rx, "/native", "ChatDelete")[0]["actor"], "ann");
    // Announced, then purged by the publisher.
    let mut empty = false;
    for _ in 0..300 {
        if t.partition_size(&chat).await == 0 {
            empty = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(empty, "the publisher purged the chat after announcing it");
}

#[tokio::test]
async fn button_status_once_per_transition_with_ten_agents_at_once() {
    let proxy = Proxy::start(&integration_tests::sns_endpoint()).await;
    let t = TestApp::with_events(&proxy).await;
    let rx = Receiver::start().await;
    subscribe(&t, rx.url("/rpc"), "rpc", &["BUTTON_STATUS"]).await;
    assert!(confirmed(&t, 1).await);
    let set = |user: String, body: Value| {
        let t = t.clone();
        async move {
            let token = t.agent_token(&user);
            t.call("PUT", &format!("/agents/{user}/availability"), Some(&token), Some(body)).await.0
        }
    };
    let statuses = |group: &str| -> Vec<String> {
        rpc_events(&rx, "/rpc", "BUTTON_STATUS")
            .iter()
            .filter(|e| param(e, "CHANNEL") == group)
            .map(|e| param(e, "STATUS"))
            .collect()
    };
    // An agent for internal chats only makes no channel available to customers.
    assert_eq!(
        set("internal".into(), json!({"availability": "online", "channels": ["sales"], "external": false})).await,
        200
    );
    // Ten agents arrive at once, then leave at once.
    for availability in ["online", "offline"] {
        let mut all = tokio::task::JoinSet::new();
        for n in 0..10 {
            all.spawn(set(format!("agent-{n}"), json!({"availability": availability, "channels": ["sales"]})));
        }
        while let Some(status) = all.join_next().await {
            let status = status.unwrap();
            assert_eq!(status, 200);
        }
    }
    // One comes back and lets its presence lapse: the cleanup takes it offline.
    assert_eq!(set("agent-0".into(), json!({"availability": "online", "channels": ["sales"]})).await, 200);
    t.app.clock.advance(std::time::Duration::from_secs(t.app.config.presence_ttl_secs as u64 + 1));
    let summary =
        shared::cleanup::run(&t.app, std::time::Instant::now() + std::time::Duration::from_secs(60)).await.unwrap();
    assert_eq!(summary.lapsed, 2, "agent-0 and the internal agent: {summary:?}");
    // A last transition in another channel: everything before it has been published.
    assert_eq!(set("marker".into(), json!({"availability": "online", "channels": ["marker"]})).await, 200);
    assert!(eventually(60, || statuses("marker") == ["online"]).await, "{:?}", rx.bodies("/rpc"));
    // The marker's chat is on another stream shard, which may be read first: the sales
    // events are awaited themselves (a repeat would still make more than four).
    assert!(eventually(60, || statuses("sales").len() >= 4).await, "{:?}", rx.bodies("/rpc"));
    let mut sales = statuses("sales");
    sales.sort();
    assert_eq!(sales, ["offline", "offline", "online", "online"], "exactly once per transition");
}

#[tokio::test]
async fn a_retention_purge_announces_one_chat_delete_and_no_participant_removal() {
    let proxy = Proxy::start(&integration_tests::sns_endpoint()).await;
    let t = TestApp::with_events_through(&proxy, None, |c| c.cleanup.closed_retention_secs = 0).await;
    let rx = Receiver::start().await;
    let ann = t.agent_token("ann");
    subscribe(&t, rx.url("/native"), "native", &["ChatDelete", "ChatParticipantRemove", "ChatAdd"]).await;
    assert!(confirmed(&t, 1).await);
    let (chat, _) = t.start_chat("sales").await;
    let p = format!("/chats/{chat}");
    assert_eq!(t.call("PATCH", &p, Some(&ann), Some(json!({"status": "active"}))).await.0, 200);
    assert_eq!(t.call("PATCH", &p, Some(&ann), Some(json!({"status": "closed"}))).await.0, 200);
    t.app.clock.advance(std::time::Duration::from_secs(2));
    let summary =
        shared::cleanup::run(&t.app, std::time::Instant::now() + std::time::Duration::from_secs(60)).await.unwrap();
    assert_eq!(summary.removed, 1, "{summary:?}");
    // A chat started after the purge: once its ChatAdd is out, the purge's records (read
    // from the stream before it) have been through the publisher too.
    let (after, _) = t.start_chat("sales").await;
    assert!(eventually(60, || natives(&rx, "/native", "ChatAdd").iter().any(|e| e["chatId"] == after.as_str())).await);
    let deletes = natives(&rx, "/native", "ChatDelete");
    assert_eq!(deletes.len(), 1, "{deletes:?}");
    assert_eq!((deletes[0]["chatId"].as_str(), deletes[0]["actor"].as_str()), (Some(chat.as_str()), Some("system")));
    let removals = natives(&rx, "/native", "ChatParticipantRemove");
    assert!(removals.is_empty(), "a purge is no participant removal: {removals:?}");
}

#[tokio::test]
async fn chat_started_and_operator_transfer_carry_the_agents_real_status_and_who_invited() {
    let proxy = Proxy::start(&integration_tests::sns_endpoint()).await;
    let t = TestApp::with_events(&proxy).await;
    let rx = Receiver::start().await;
    let (ann, bob) = (t.agent_token("ann"), t.agent_token("bob"));
    subscribe(&t, rx.url("/rpc"), "rpc", &["CHAT_STARTED", "OPERATOR_TRANSFER", "CLIENT_INVITED"]).await;
    assert!(confirmed(&t, 1).await);
    let away = json!({"availability": "away", "channels": ["sales"]});
    assert_eq!(t.call("PUT", "/agents/ann/availability", Some(&ann), Some(away)).await.0, 200);
    // Ann (away) takes a chat and invites Bob, who may decline: no transfer yet. She hands
    // the chat back to the queue, and Bob takes it: the transfer, and no second start.
    let (chat, _) = t.start_chat("sales").await;
    let p = format!("/chats/{chat}");
    assert_eq!(t.call("PATCH", &p, Some(&ann), Some(json!({"status": "active"}))).await.0, 200);
    assert_eq!(
        t.call("POST", &format!("{p}/invitations"), Some(&ann), Some(json!({"inviteUserId": "bob"}))).await.0,
        201
    );
    assert_eq!(t.call("PATCH", &p, Some(&ann), Some(json!({"status": "request"}))).await.0, 200);
    assert_eq!(t.call("PATCH", &p, Some(&bob), Some(json!({"status": "active"}))).await.0, 200);
    // Ann also invites a known customer into a chat of hers, who joins: that chat starts.
    let (other, _) = t.start_chat("sales").await;
    let q = format!("/chats/{other}");
    assert_eq!(t.call("PATCH", &q, Some(&ann), Some(json!({"status": "active"}))).await.0, 200);
    let invite = json!({"chatterId": "jdoe", "chatterType": "Customer", "chatterName": "John", "invitation": true});
    let (status, added) = t.call("POST", &format!("{q}/participants"), Some(&ann), Some(invite)).await;
    assert_eq!(status, 201);
    // The customer comes in with the chat token the invitation carried.
    let jdoe = added["token"].as_str().expect("the invited customer's token").to_string();
    let joins = json!({"chatterActive": 1});
    assert_eq!(t.call("PATCH", &format!("{q}/participants/Customer/jdoe"), Some(&jdoe), Some(joins)).await.0, 200);

    assert!(eventually(60, || rpc_events(&rx, "/rpc", "OPERATOR_TRANSFER").len() == 1).await);
    assert!(eventually(60, || rpc_events(&rx, "/rpc", "CHAT_STARTED").len() == 3).await);
    let transfer = &rpc_events(&rx, "/rpc", "OPERATOR_TRANSFER")[0];
    assert_eq!(
        (param(transfer, "OPERATOR_ID"), param(transfer, "NEW_OPERATOR_ID"), param(transfer, "STATUS")),
        ("ann".into(), "bob".into(), "1".into()),
        "performed by Ann (away: STATUS_AWAY), to Bob"
    );
    let started = rpc_events(&rx, "/rpc", "CHAT_STARTED");
    let in_first: Vec<_> = started.iter().filter(|e| param(e, "CLIENT_ID").starts_with("visitor-")).collect();
    assert_eq!(in_first.len(), 2, "one start per visitor's chat: {started:?}");
    assert!(in_first.iter().all(|e| param(e, "OPERATOR_ID") == "ann" && param(e, "INVITING_OP").is_empty()));
    let invited = started.iter().find(|e| param(e, "CLIENT_ID") == "jdoe").expect("the invited client's start");
    assert_eq!((param(invited, "INVITING_OP"), param(invited, "OPERATOR_ID")), ("ann".into(), "ann".into()));
}

#[tokio::test]
async fn chat_state_change_message_echoes_the_reference_id_of_its_request() {
    let proxy = Proxy::start(&integration_tests::sns_endpoint()).await;
    let t = TestApp::with_events(&proxy).await;
    let rx = Receiver::start().await;
    let ann = t.agent_token("ann");
    subscribe(&t, rx.url("/n"), "notification", &["StatusChange", "PropertiesUpdated", "ParticipantsUpdated"]).await;
    assert!(confirmed(&t, 1).await);
    let (chat, customer) = t.start_chat("sales").await;
    let with_reference = |method: &str, path: String, token: &str, body: Value, reference: Option<&str>| {
        let mut request = shared::http::Request::new(method, &path);
        request.headers.insert("authorization".into(), format!("Bearer {token}"));
        if let Some(r) = reference {
            request.headers.insert("x-reference-id".into(), r.into());
        }
        request.body = serde_json::to_vec(&body).unwrap();
        request
    };
    let accept = with_reference("PATCH", format!("/chats/{chat}"), &ann, json!({"status": "active"}), Some("83"));
    assert_eq!(t.send(accept).await.0, 200);
    let data = with_reference("PATCH", format!("/chats/{chat}/user-data"), &customer, json!({"k": "v"}), None);
    assert_eq!(t.send(data).await.0, 200);
    let invite = json!({"inviteUserId": "bob"});
    let invite = with_reference("POST", format!("/chats/{chat}/invitations"), &ann, invite, Some("84"));
    assert_eq!(t.send(invite).await.0, 201);
    let bob = t.agent_token("bob");
    let join = json!({"chatterActive": 1});
    let join = with_reference("PATCH", format!("/chats/{chat}/participants/User/bob"), &bob, join, None);
    assert_eq!(t.send(join).await.0, 200);
    let leave = with_reference("POST", format!("/chats/{chat}/leave"), &bob, json!({}), Some("85"));
    assert_eq!(t.send(leave).await.0, 200);
    let participants_updated = |n: &Value| n["data"]["notificationType"] == "ParticipantsUpdated";
    // SNS delivers in no set order: wait for each kind.
    let arrived = || {
        let notes = json_events(&rx.bodies("/n"));
        let count = |kind: &str| notes.iter().filter(|n| n["data"]["notificationType"] == kind).count();
        count("ParticipantsUpdated") >= 5 && count("StatusChange") >= 2 && count("PropertiesUpdated") >= 1
    };
    assert!(eventually(60, arrived).await);
    let notes = json_events(&rx.bodies("/n"));
    let find = |kind: &str, state: &str| {
        notes
            .iter()
            .find(|n| n["data"]["notificationType"] == kind && n["data"]["chat"]["state"] == state)
            .map(|n| n["data"].clone())
            .unwrap_or_else(|| panic!("no {kind} {state}: {notes:?}"))
    };
    assert_eq!(find("StatusChange", "Chatting")["referenceId"], "83");
    assert!(find("PropertiesUpdated", "Chatting").get("referenceId").is_none(), "a later change without one clears it");
    // ParticipantsUpdated: the start (no reference), the accept (83), the invitation (84),
    // bob joining (none: it cleared the invitation's), bob leaving (85). SNS does not
    // keep their order.
    let mut references: Vec<String> =
        notes.iter().filter(|n| participants_updated(n)).map(|n| n["data"]["referenceId"].to_string()).collect();
    references.sort();
    assert_eq!(references, ["\"83\"", "\"84\"", "\"85\"", "null", "null"]);
}
