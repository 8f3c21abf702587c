//! Flags (the seed's five ChatFlagGet examples) and ChatCleanup.

use std::time::{Duration, Instant};

use integration_tests::TestApp;
use serde_json::{json, Value};

fn flags(body: &Value) -> Vec<(String, String, String, String)> {
    let mut all: Vec<_> = body["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap().to_string();
            (s("chatId"), s("userId"), s("key"), s("value"))
        })
        .collect();
    all.sort();
    all
}

#[tokio::test]
async fn the_seeds_five_flag_queries() {
    let t = TestApp::new().await;
    let (c1, _) = t.start_chat("sales").await;
    let (c2, _) = t.start_chat("sales").await;
    let (ann, bob) = (t.agent_token("ann"), t.agent_token("bob"));
    let set = |chat: String, token: String, key: &'static str, value: &'static str| {
        let t = &t;
        async move {
            let (status, body) =
                t.call("PUT", &format!("/chats/{chat}/flags/{key}"), Some(&token), Some(json!({"value": value}))).await;
            assert_eq!(status, 200, "{body}");
        }
    };
    set(c1.clone(), ann.clone(), "Seen", "1").await;
    set(c1.clone(), ann.clone(), "NotificationChatUpdateSeen", "0").await;
    set(c1.clone(), ann.clone(), "NotificationNewChatSeen", "1").await;
    set(c1.clone(), bob.clone(), "NotificationChatUpdateSeen", "1").await;
    set(c1.clone(), bob.clone(), "NotificationNewChatSeen", "0").await;
    set(c2.clone(), ann.clone(), "NotificationChatUpdateSeen", "0").await;
    set(c2.clone(), bob.clone(), "Seen", "1").await;

    let get = |q: String| {
        let (t, ann) = (&t, ann.clone());
        async move {
            let (status, body) = t.call("GET", &format!("/flags?{q}"), Some(&ann), None).await;
            assert_eq!(status, 200, "{q}: {body}");
            flags(&body)
        }
    };
    let f = |c: &str, u: &str, k: &str, v: &str| (c.to_string(), u.to_string(), k.to_string(), v.to_string());
    // 1. All flags of one user in one chat.
    assert_eq!(
        get(format!("chatId={c1}&userId=ann")).await,
        vec![
            f(&c1, "ann", "NotificationChatUpdateSeen", "0"),
            f(&c1, "ann", "NotificationNewChatSeen", "1"),
            f(&c1, "ann", "Seen", "1")
        ]
    );
    // 2. Unseen update flags of one chat, all users.
    assert_eq!(
        get(format!("chatId={c1}&key=NotificationChatUpdateSeen&valueNot=1")).await,
        vec![f(&c1, "ann", "NotificationChatUpdateSeen", "0")]
    );
    // 3. Seen new-chat flags of one chat.
    assert_eq!(
        get(format!("chatId={c1}&key=NotificationNewChatSeen&value=1")).await,
        vec![f(&c1, "ann", "NotificationNewChatSeen", "1")]
    );
    // 4. All unseen update flags of one user across chats (GSI1, not the table).
    let mut want =
        vec![f(&c1, "ann", "NotificationChatUpdateSeen", "0"), f(&c2, "ann", "NotificationChatUpdateSeen", "0")];
    want.sort();
    t.meter.take();
    assert_eq!(get("userId=ann&key=NotificationChatUpdateSeen&valueNot=1".into()).await, want);
    assert_eq!(t.meter.take().operations, vec!["Query"], "one key-conditioned Query");
    // 5. All flags of a chat except one key.
    assert_eq!(get(format!("chatId={c1}&keyNot=NotificationNewChatSeen")).await.len(), 3);

    // Rules: at least one filter; own flags only; the chat must exist.
    assert_eq!(t.call("GET", "/flags", Some(&ann), None).await.0, 400);
    assert_eq!(t.call("GET", "/flags?userId=bob", Some(&ann), None).await.0, 403);
    assert_eq!(
        t.call("PUT", &format!("/chats/{c1}/flags/Seen"), Some(&ann), Some(json!({"value": "1", "userId": "bob"})))
            .await
            .0,
        403
    );
    assert_eq!(t.call("PUT", "/chats/nope/flags/Seen", Some(&ann), Some(json!({"value": "1"}))).await.0, 404);
    let (_, customer) = t.start_chat("sales").await;
    assert_eq!(t.call("GET", "/flags?key=Seen", Some(&customer), None).await.0, 403);

    // Delete one user's flag, then a key for all users.
    assert_eq!(t.call("DELETE", &format!("/chats/{c1}/flags/Seen"), Some(&ann), None).await.0, 204);
    assert_eq!(get(format!("chatId={c1}&key=Seen")).await.len(), 0);
    assert_eq!(
        t.call("DELETE", &format!("/chats/{c1}/flags/NotificationChatUpdateSeen?allUsers=1"), Some(&ann), None).await.0,
        204
    );
    assert_eq!(get(format!("chatId={c1}&key=NotificationChatUpdateSeen")).await.len(), 0);
    assert_eq!(get(format!("chatId={c2}")).await.len(), 2, "other chats untouched");
}

async fn run(t: &TestApp) -> shared::cleanup::Summary {
    shared::cleanup::run(&t.app, Instant::now() + Duration::from_secs(60)).await.unwrap()
}

/// Items left anywhere that belong to `chat`: its partition, and its index entries.
async fn leftovers(t: &TestApp, chat: &str, users: &[&str]) -> usize {
    let mut n = t.partition_size(chat).await;
    for user in users {
        let flags: Vec<shared::domain::model::Flag> = t
            .app
            .db
            .query_all(&shared::store::IndexQuery {
                index: "GSI1",
                pk: shared::keys::flag_user_pk(user),
                sk: shared::store::SortKey::Any,
            })
            .await
            .unwrap();
        n += flags.iter().filter(|f| f.chat_id == chat).count();
        let parts: Vec<shared::domain::model::Participant> = t
            .app
            .db
            .query_all(&shared::store::IndexQuery {
                index: "GSI1",
                pk: shared::keys::chatter_pk(shared::domain::model::ChatterType::User, user),
                sk: shared::store::SortKey::Any,
            })
            .await
            .unwrap();
        n += parts.iter().filter(|p| p.chat_id == chat).count();
    }
    n
}

#[tokio::test]
async fn cleanup_removes_closed_old_and_unanswered_chats_and_nothing_else() {
    let t = TestApp::with(|c| {
        // Wide margins against real time: a slow setup (seconds, under load) must not
        // age a chat past a limit before the test moves the clock.
        c.request_decay_secs = 10;
        c.cleanup.request_close_secs = 40;
        c.cleanup.chat_retention_secs = 20;
        c.cleanup.closed_retention_secs = 0;
    })
    .await;
    let ann = t.agent_token("ann");
    // A closed chat with messages, participants and flags.
    let (closed, customer) = t.start_chat("sales").await;
    assert_eq!(
        t.call("PATCH", &format!("/chats/{closed}"), Some(&ann), Some(json!({"status": "active"}))).await.0,
        200
    );
    assert_eq!(
        t.call(
            "POST",
            &format!("/chats/{closed}/messages"),
            Some(&customer),
            Some(json!({"text": "hi", "clientMessageId": "x"}))
        )
        .await
        .0,
        201
    );
    assert_eq!(
        t.call("PUT", &format!("/chats/{closed}/flags/Seen"), Some(&ann), Some(json!({"value": "1"}))).await.0,
        200
    );
    assert_eq!(
        t.call("POST", &format!("/chats/{closed}/typing"), Some(&ann), Some(json!({"typing": true}))).await.0,
        204
    );
    assert_eq!(
        t.call("PATCH", &format!("/chats/{closed}"), Some(&ann), Some(json!({"status": "closed"}))).await.0,
        200
    );
    // An active chat that will go quiet, and one that stays busy.
    let (quiet, _) = t.start_chat("sales").await;
    assert_eq!(t.call("PATCH", &format!("/chats/{quiet}"), Some(&ann), Some(json!({"status": "active"}))).await.0, 200);
    let (busy, busy_customer) = t.start_chat("sales").await;
    assert_eq!(t.call("PATCH", &format!("/chats/{busy}"), Some(&ann), Some(json!({"status": "active"}))).await.0, 200);
    // A request nobody answers.
    let (unanswered, _) = t.start_chat("sales").await;

    // First run: the closed chat goes at once; the request is only outdated.
    t.app.clock.advance(Duration::from_secs(12));
    let first = run(&t).await;
    assert_eq!((first.removed, first.outdated, first.closed), (1, 1, 0), "{first:?}");
    assert_eq!(leftovers(&t, &closed, &["ann"]).await, 0, "nothing of the closed chat is left");
    let (_, got) = t.call("GET", &format!("/chats/{unanswered}"), Some(&ann), None).await;
    assert_eq!(got["chat"]["outdated"], true);
    let (_, listed) = t.call("GET", "/chats?outdated=1", Some(&ann), None).await;
    assert_eq!(listed["chats"][0]["chatId"], unanswered.as_str());

    // Idempotent: right after, nothing to do.
    let again = run(&t).await;
    assert_eq!((again.removed, again.outdated, again.closed), (0, 0, 0), "{again:?}");

    // Later: the quiet chat is old, the busy one is not; the request is closed, then removed.
    t.app.clock.advance(Duration::from_secs(15));
    assert_eq!(
        t.call("POST", &format!("/chats/{busy}/messages"), Some(&busy_customer), Some(json!({"text": "still here"})))
            .await
            .0,
        201
    );
    t.app.clock.advance(Duration::from_secs(15));
    assert_eq!(
        t.call("POST", &format!("/chats/{busy}/messages"), Some(&busy_customer), Some(json!({"text": "still here"})))
            .await
            .0,
        201
    );
    let later = run(&t).await;
    assert_eq!(later.closed, 1, "{later:?}");
    assert!(later.removed >= 1, "{later:?}");
    // The quiet chat is closed and deleted at once; its items go with the publisher, or
    // (no publisher here) with the next run past the retention.
    assert_eq!(t.call("GET", &format!("/chats/{quiet}"), Some(&ann), None).await.0, 404, "an old chat is gone");
    assert_eq!(t.call("GET", &format!("/chats/{busy}"), Some(&ann), None).await.0, 200, "a busy chat stays");
    let last = run(&t).await;
    assert_eq!(leftovers(&t, &quiet, &["ann"]).await, 0, "{last:?}");
    assert_eq!(t.call("GET", &format!("/chats/{unanswered}"), Some(&ann), None).await.0, 404, "{last:?}");
    let done = run(&t).await;
    assert_eq!((done.removed, done.closed, done.outdated), (0, 0, 0));
}

#[tokio::test]
async fn a_run_cut_off_midway_is_finished_by_the_next() {
    let t = TestApp::new().await;
    let ann = t.agent_token("ann");
    let mut chats = Vec::new();
    for _ in 0..3 {
        let (chat, _) = t.start_chat("sales").await;
        assert_eq!(
            t.call("PATCH", &format!("/chats/{chat}"), Some(&ann), Some(json!({"status": "active"}))).await.0,
            200
        );
        assert_eq!(
            t.call("PATCH", &format!("/chats/{chat}"), Some(&ann), Some(json!({"status": "closed"}))).await.0,
            200
        );
        chats.push(chat);
    }
    // Cut off: half of one chat's items deleted, its record still there.
    let keys: Vec<_> = t
        .app
        .db
        .sdk()
        .query()
        .table_name(t.app.db.table())
        .key_condition_expression("PK = :pk AND SK < :r")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S(shared::keys::chat_pk(&chats[0])),
        )
        .expression_attribute_values(":r", aws_sdk_dynamodb::types::AttributeValue::S("R".into()))
        .projection_expression("PK, SK")
        .send()
        .await
        .unwrap()
        .items
        .unwrap();
    let cut = aws_sdk_dynamodb::types::DeleteRequest::builder().set_key(Some(keys[0].clone())).build().unwrap();
    let cut = aws_sdk_dynamodb::types::WriteRequest::builder().delete_request(cut).build();
    t.app.db.sdk().batch_write_item().request_items(t.app.db.table(), vec![cut]).send().await.unwrap();
    // A run with no time left does nothing, and says so.
    let stopped = shared::cleanup::run(&t.app, Instant::now()).await.unwrap();
    assert!(stopped.incomplete);
    let finished = run(&t).await;
    assert_eq!(finished.removed, 3);
    for chat in &chats {
        assert_eq!(t.partition_size(chat).await, 0);
    }
}

#[tokio::test]
async fn a_cleanup_run_reads_the_same_with_10000_unrelated_chats() {
    let t = TestApp::new().await;
    t.meter.take();
    let empty = run(&t).await;
    let before = t.meter.take();
    t.seed_chats(10_000, shared::domain::model::ChatStatus::Active).await;
    t.seed_chats(100, shared::domain::model::ChatStatus::Request).await;
    t.meter.take();
    let full = run(&t).await;
    let after = t.meter.take();
    println!("cleanup run, empty table: {before:?}\ncleanup run, 10,100 unrelated chats: {after:?}");
    assert_eq!(empty, full);
    assert_eq!(before.read_units, after.read_units);
    assert_eq!(before.round_trips, after.round_trips);
}

/// A cleanup setting that cannot be read stops the cleanup, which would otherwise close and
/// remove chats on a wrong schedule, and nothing else.
#[tokio::test]
async fn a_bad_cleanup_setting_stops_only_the_cleanup() {
    let t = TestApp::with(|c| c.cleanup.problem = Some("REQUEST_CLOSE_SECONDS must be a whole number".into())).await;
    let (chat, customer) = t.start_chat("sales").await;
    let refused = shared::cleanup::handle(&t.app, serde_json::Value::Null).await.unwrap_err();
    assert!(matches!(refused, shared::cleanup::CleanupError::Settings(_)), "{refused}");
    assert!(refused.to_string().contains("REQUEST_CLOSE_SECONDS"), "{refused}");
    assert_eq!(t.call("GET", &format!("/chats/{chat}"), Some(&customer), None).await.0, 200);
}
