//! Messages and the widget session: ordering, idempotency, visibility, limits, polling,
//! history, typing, and the poll's cost.

use integration_tests::TestApp;
use serde_json::{json, Value};

/// A customer's chat accepted by agent "ann": (chat id, customer token, agent token).
async fn accepted_chat(t: &TestApp) -> (String, String, String) {
    let (chat, customer) = t.start_chat("sales").await;
    let ann = t.agent_token("ann");
    assert_eq!(t.call("PATCH", &format!("/chats/{chat}"), Some(&ann), Some(json!({"status": "active"}))).await.0, 200);
    (chat, customer, ann)
}

async fn post(t: &TestApp, chat: &str, token: &str, body: Value) -> (u16, Value) {
    t.call("POST", &format!("/chats/{chat}/messages"), Some(token), Some(body)).await
}

fn texts(body: &Value) -> Vec<String> {
    body["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap_or_default().to_string()).collect()
}

fn indexes(body: &Value) -> Vec<u64> {
    body["messages"].as_array().unwrap().iter().map(|m| m["index"].as_u64().unwrap()).collect()
}

#[tokio::test]
async fn fifty_concurrent_posts_get_gapless_unique_indexes() {
    let t = TestApp::new().await;
    let (chat, customer, ann) = accepted_chat(&t).await;
    let posts = (0..50).map(|i| {
        let token = if i % 2 == 0 { customer.clone() } else { ann.clone() };
        let chat = chat.clone();
        let t = &t;
        async move { post(t, &chat, &token, json!({"text": format!("m{i}")})).await }
    });
    let results = futures_join_all(posts).await;
    let mut acked: Vec<u64> = results
        .iter()
        .map(|(status, body)| {
            assert_eq!(*status, 201, "{body}");
            body["message"]["index"].as_u64().unwrap()
        })
        .collect();
    acked.sort();
    acked.dedup();
    assert_eq!(acked.len(), 50, "every post got its own index");
    let (_, all) = t.call("GET", &format!("/chats/{chat}/messages?after=0"), Some(&ann), None).await;
    let idx = indexes(&all);
    // The transcript: a system message (ann joined) and the 50 posts, 1..=51 without gaps.
    assert_eq!(idx, (1..=51).collect::<Vec<u64>>());
    let mut posted: Vec<String> = texts(&all).into_iter().filter(|t| t.starts_with('m')).collect();
    posted.sort();
    let mut want: Vec<String> = (0..50).map(|i| format!("m{i}")).collect();
    want.sort();
    assert_eq!(posted, want, "each acknowledged message exactly once");
}

/// Runs futures concurrently on this task (no extra dependency).
async fn futures_join_all<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut set = Vec::new();
    for f in futures {
        set.push(Box::pin(f));
    }
    let mut out: Vec<Option<F::Output>> = (0..set.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(|o| o.expect("ready")).collect()
}

#[tokio::test]
async fn a_retried_client_message_id_returns_the_first_message() {
    let t = TestApp::new().await;
    let (chat, customer, _) = accepted_chat(&t).await;
    let body = json!({"text": "hello", "clientMessageId": "c-1"});
    let (s1, first) = post(&t, &chat, &customer, body.clone()).await;
    let (s2, again) = post(&t, &chat, &customer, body.clone()).await;
    assert_eq!((s1, s2), (201, 201));
    assert_eq!(first["message"]["messageId"], again["message"]["messageId"]);
    // Concurrent retries too.
    let body2 = json!({"text": "again", "clientMessageId": "c-2"});
    let (a, b) = tokio::join!(post(&t, &chat, &customer, body2.clone()), post(&t, &chat, &customer, body2.clone()));
    assert_eq!(a.1["message"]["messageId"], b.1["message"]["messageId"], "{a:?} {b:?}");
    let (_, all) = t.call("GET", &format!("/chats/{chat}/messages"), Some(&customer), None).await;
    assert_eq!(texts(&all).iter().filter(|t| *t == "hello" || *t == "again").count(), 2);
}

#[tokio::test]
async fn what_each_side_sees_is_decided_by_who_it_is() {
    let t = TestApp::with(|c| c.mask_agent_names = true).await;
    let (chat, customer, ann) = accepted_chat(&t).await;
    assert_eq!(post(&t, &chat, &ann, json!({"text": "public answer"})).await.0, 201);
    assert_eq!(post(&t, &chat, &ann, json!({"text": "internal note", "internal": true})).await.0, 201);
    // Each author is answered with what it posted, though its own side is not shown it.
    let (status, only) = post(&t, &chat, &ann, json!({"text": "customer only", "customer": true})).await;
    assert_eq!((status, only["message"]["text"].as_str()), (201, Some("customer only")), "{only}");
    let (status, hidden) = post(&t, &chat, &customer, json!({"text": "my code is 1234", "filter": "[0-9]{4}"})).await;
    assert_eq!((status, hidden["message"]["text"].as_str()), (201, Some("my code is 1234")), "{hidden}");
    assert!(hidden["message"].get("filter").is_none(), "the filter is for agents: {hidden}");
    assert_eq!(post(&t, &chat, &customer, json!({"text": "sneaky", "internal": true})).await.0, 403);
    // For nobody: refused, and nothing is written.
    let nobody = json!({"text": "for nobody", "internal": true, "customer": true});
    assert_eq!(post(&t, &chat, &ann, nobody).await.0, 400);

    // The customer: no internal note, whatever it asks for; agent names masked; the filtered
    // message not at all (sendFilteredMessage: "hide it from the client").
    for query in ["", "?excludeInternal=0", "?after=0&limit=100"] {
        let (status, seen) = t.call("GET", &format!("/chats/{chat}/messages{query}"), Some(&customer), None).await;
        assert_eq!(status, 200);
        let body = seen.to_string();
        assert!(!body.contains("internal note"), "{body}");
        assert!(body.contains("customer only") && body.contains("public answer"));
        assert!(!body.contains("Agent ann"), "agent's real name leaked: {body}");
        assert!(body.contains("Support Agent 1"));
        assert!(!body.contains("my code"), "filtered message shown: {body}");
    }
    // The agent: the internal note and the filtered text, never the customer-only message.
    let (_, seen) = t.call("GET", &format!("/chats/{chat}/messages"), Some(&ann), None).await;
    let body = seen.to_string();
    assert!(body.contains("internal note") && body.contains("my code is 1234") && body.contains("Agent ann"));
    assert!(!body.contains("customer only"));
    let (_, seen) = t.call("GET", &format!("/chats/{chat}/messages?excludeInternal=1"), Some(&ann), None).await;
    assert!(!seen.to_string().contains("internal note"));

    // One message by id follows the same rules.
    let internal_id = format!("{chat}-3");
    assert_eq!(t.call("GET", &format!("/chats/{chat}/messages/{internal_id}"), Some(&ann), None).await.0, 200);
    assert_eq!(t.call("GET", &format!("/chats/{chat}/messages/{internal_id}"), Some(&customer), None).await.0, 404);
    assert_eq!(t.call("GET", &format!("/chats/{chat}/messages/other-3"), Some(&ann), None).await.0, 404);

    // First and last text messages, as each side may see them.
    let (_, first) = t.call("GET", &format!("/chats/{chat}/messages?first=1"), Some(&customer), None).await;
    assert_eq!(texts(&first), vec!["public answer"]);
    let (_, last) = t.call("GET", &format!("/chats/{chat}/messages?last=1"), Some(&ann), None).await;
    assert_eq!(texts(&last), vec!["my code is 1234"]);
}

#[tokio::test]
async fn text_is_limited_to_3800_characters() {
    let t = TestApp::new().await;
    let (chat, customer, _) = accepted_chat(&t).await;
    assert_eq!(post(&t, &chat, &customer, json!({"text": "é".repeat(3800)})).await.0, 201);
    let (status, body) = post(&t, &chat, &customer, json!({"text": "😀".repeat(3801)})).await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"].as_str().unwrap().contains("3800"));
    assert_eq!(
        post(&t, &chat, &customer, json!({"text": "  "})).await.1["error"]["message"],
        "No message text provided."
    );
    let (_, all) = t.call("GET", &format!("/chats/{chat}/messages"), Some(&customer), None).await;
    assert_eq!(all["messages"].as_array().unwrap().iter().filter(|m| m["type"] == "Text").count(), 1, "nothing stored");
}

#[tokio::test]
async fn who_may_post_and_when() {
    let t = TestApp::new().await;
    let (chat, customer, ann) = accepted_chat(&t).await;
    let add = json!({"chatterId": "obs", "chatterType": "User", "permissionLevel": "Observer", "chatterActive": 1});
    assert_eq!(t.call("POST", &format!("/chats/{chat}/participants"), Some(&ann), Some(add)).await.0, 201);
    let (_, other_customer) = t.start_chat("sales").await;
    let hi = json!({"text": "hi"});
    assert_eq!(post(&t, &chat, &t.agent_token("obs"), hi.clone()).await.0, 403);
    assert_eq!(post(&t, &chat, &t.agent_token("stranger"), hi.clone()).await.0, 403);
    assert_eq!(post(&t, &chat, &other_customer, hi.clone()).await.0, 403);
    assert_eq!(t.call("POST", &format!("/chats/{chat}/messages"), None, Some(hi.clone())).await.0, 401);
    assert_eq!(post(&t, &chat, &ann, hi.clone()).await.0, 201);
    assert_eq!(t.call("PATCH", &format!("/chats/{chat}"), Some(&ann), Some(json!({"status": "closed"}))).await.0, 200);
    assert_eq!(post(&t, &chat, &customer, hi.clone()).await.0, 409, "never into a closed chat");
}

#[tokio::test]
async fn polling_with_after_and_paging_back_with_before() {
    let t = TestApp::new().await;
    let (chat, customer, ann) = accepted_chat(&t).await;
    for i in 1..=30 {
        assert_eq!(post(&t, &chat, &ann, json!({"text": format!("n{i}")})).await.0, 201);
    }
    // Index 1 is "ann joined"; n1..n30 are 2..=31.
    let (_, poll) = t.call("GET", &format!("/chats/{chat}/messages?after=29"), Some(&customer), None).await;
    assert_eq!(indexes(&poll), vec![30, 31]);
    assert_eq!(poll["lastIndex"], 31);
    assert_eq!(poll["nextCursor"], Value::Null);
    let (_, nothing) = t.call("GET", &format!("/chats/{chat}/messages?after=31"), Some(&customer), None).await;
    assert_eq!((indexes(&nothing), nothing["lastIndex"].clone()), (vec![], json!(31)));

    // A catch-up larger than a page comes in pages, and the state still comes with it.
    let (_, page) = t.call("GET", &format!("/chats/{chat}/messages?after=0&limit=10"), Some(&customer), None).await;
    assert_eq!(indexes(&page), (1..=10).collect::<Vec<u64>>());
    assert_eq!(page["nextCursor"], "10");
    assert_eq!(page["chatStatus"], "active");

    // History: newest page first, each older page via `before`.
    let mut seen = Vec::new();
    let mut before = "32".to_string();
    loop {
        let (status, page) =
            t.call("GET", &format!("/chats/{chat}/messages?before={before}&limit=7"), Some(&customer), None).await;
        assert_eq!(status, 200);
        let idx = indexes(&page);
        assert!(idx.windows(2).all(|w| w[0] < w[1]), "each page in order: {idx:?}");
        seen.splice(0..0, idx);
        match page["nextCursor"].as_str() {
            Some(c) => before = c.to_string(),
            None => break,
        }
    }
    assert_eq!(seen, (1..=31).collect::<Vec<u64>>());
    // `after` with `before`: the messages between them; first or last does not go with before.
    let (_, between) = t.call("GET", &format!("/chats/{chat}/messages?after=3&before=7"), Some(&customer), None).await;
    assert_eq!(indexes(&between), vec![4, 5, 6]);
    let both = format!("/chats/{chat}/messages?first=1&before=7");
    assert_eq!(t.call("GET", &both, Some(&customer), None).await.0, 400);

    // The transcript, in pages.
    let (_, tr) = t.call("GET", &format!("/chats/{chat}/transcript?pageSize=20"), Some(&customer), None).await;
    assert_eq!(indexes(&tr).len(), 20);
    let (_, tr2) = t
        .call(
            "GET",
            &format!("/chats/{chat}/transcript?pageSize=20&cursor={}", tr["nextCursor"].as_str().unwrap()),
            Some(&customer),
            None,
        )
        .await;
    assert_eq!(indexes(&tr2), (21..=31).collect::<Vec<u64>>());
    assert_eq!(t.call("GET", &format!("/chats/{chat}/transcript?pageSize=1001"), Some(&customer), None).await.0, 400);
    assert_eq!(t.call("GET", &format!("/chats/{chat}/messages?after=x"), Some(&customer), None).await.0, 400);
}

#[tokio::test]
async fn a_poll_costs_the_same_whatever_the_transcript_length() {
    let t = TestApp::new().await;
    let (chat, customer, ann) = accepted_chat(&t).await;
    let mut last = 1;
    let poll_cost = |n: u64| {
        let (t, chat, customer) = (&t, chat.clone(), customer.clone());
        async move {
            t.meter.take();
            let (status, body) =
                t.call("GET", &format!("/chats/{chat}/messages?after={n}"), Some(&customer), None).await;
            assert_eq!(status, 200);
            assert_eq!(indexes(&body).len(), 0);
            t.meter.take()
        }
    };
    for i in 0..10 {
        last = post(&t, &chat, &ann, json!({"text": format!("x{i}")})).await.1["message"]["index"].as_u64().unwrap();
    }
    let short = poll_cost(last).await;
    // Fill to 5,000 earlier messages (written directly: the handler path is not under test here).
    let filler: Vec<_> = (last + 1..=5000).collect();
    t.write_messages(&chat, &filler, false).await;
    let long = poll_cost(5000).await;
    println!("poll with 10 earlier messages: {short:?}\npoll with 5000 earlier messages: {long:?}");
    assert_eq!(short.round_trips, 1, "a poll is one round trip");
    assert_eq!(short.operations, vec!["Query"]);
    assert_eq!(short.read_units, long.read_units, "a poll's cost does not grow with the transcript");
    assert_eq!(short.round_trips, long.round_trips);
}

#[tokio::test]
async fn typing_is_seen_by_the_next_poll_and_lapses() {
    let t = TestApp::new().await;
    let (chat, customer, ann) = accepted_chat(&t).await;
    assert_eq!(
        t.call("POST", &format!("/chats/{chat}/typing"), Some(&ann), Some(json!({"typing": true}))).await.0,
        204
    );
    let (_, poll) = t.call("GET", &format!("/chats/{chat}/messages?after=1"), Some(&customer), None).await;
    assert_eq!(poll["typing"][0]["chatterType"], "User");
    let (_, own) = t.call("GET", &format!("/chats/{chat}/messages?after=1"), Some(&ann), None).await;
    assert_eq!(own["typing"], json!([]), "one's own typing is not echoed");
    assert_eq!(
        t.call("POST", &format!("/chats/{chat}/typing"), Some(&ann), Some(json!({"typing": false}))).await.0,
        204
    );
    let (_, poll) = t.call("GET", &format!("/chats/{chat}/messages?after=1"), Some(&customer), None).await;
    assert_eq!(poll["typing"], json!([]));
    // Never in the transcript.
    assert_eq!(poll["lastIndex"], 1);
    assert_eq!(
        t.call("POST", &format!("/chats/{chat}/typing"), Some(&customer), Some(json!({"typing": "yes"}))).await.0,
        400
    );
}

#[tokio::test]
async fn the_widget_session_from_start_to_end() {
    let t = TestApp::new().await;
    let (status, started) = t
        .call("POST", "/chats", None, Some(json!({"channelId": "sales", "nickname": "Jonny", "email": "jon@example.com", "userData": {"plan": "pro"}})))
        .await;
    assert_eq!(status, 201);
    let chat = started["chat"]["chatId"].as_str().unwrap().to_string();
    let customer = started["token"].as_str().unwrap().to_string();
    let (_, session) = t.call("GET", "/session", Some(&customer), None).await;
    assert_eq!(session["sessionActive"], true);
    assert_eq!(session["chatId"], chat.as_str());
    let ann = t.agent_token("ann");
    assert_eq!(t.call("PATCH", &format!("/chats/{chat}"), Some(&ann), Some(json!({"status": "active"}))).await.0, 200);

    // updateUserData merges; null removes; a non-object is malformed.
    let (status, data) = t
        .call(
            "PATCH",
            &format!("/chats/{chat}/user-data"),
            Some(&customer),
            Some(json!({"orderId": "A1", "plan": null})),
        )
        .await;
    assert_eq!(status, 200, "{data}");
    assert_eq!(data["userData"], json!({"orderId": "A1"}));
    let (status, err) = t.call("PATCH", &format!("/chats/{chat}/user-data"), Some(&customer), Some(json!([1]))).await;
    assert_eq!(
        (status, err["error"]["message"].as_str()),
        (400, Some("malformed data object provided in userData property."))
    );
    let (_, got) = t.call("GET", &format!("/chats/{chat}"), Some(&ann), None).await;
    assert_eq!(got["chat"]["userData"], json!({"orderId": "A1"}));

    // A custom notice is a Notice entry.
    let (status, notice) =
        t.call("POST", &format!("/chats/{chat}/notices"), Some(&customer), Some(json!({"message": "cobrowse"}))).await;
    assert_eq!((status, notice["message"]["type"].as_str()), (201, Some("Notice")));

    // getAgents and getStats.
    let (_, agents) = t.call("GET", &format!("/chats/{chat}/agents"), Some(&customer), None).await;
    assert_eq!(agents["agents"][0]["connected"], true);
    assert_eq!(agents["agents"][0]["supervisor"], false);
    assert!(agents["agents"][0]["connectedTime"].as_i64().unwrap() > 0);
    let (_, stats) = t.call("GET", &format!("/chats/{chat}/stats"), Some(&customer), None).await;
    assert!(
        stats["startTime"].as_i64().unwrap() > 0
            && stats["endTime"].is_null()
            && stats["duration"].as_i64().unwrap() >= 0
    );

    // Files need storage: without a bucket, a clear 503 after auth (tests/integration/files.rs has them).
    let file = json!({"name": "a.png", "size": 3, "type": "image/png"});
    let (status, body) = t.call("POST", &format!("/chats/{chat}/files"), Some(&customer), Some(file)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (503, Some("files_not_configured")), "{body}");
    assert_eq!(t.call("POST", &format!("/chats/{chat}/files"), None, None).await.0, 401);

    // endChat: the customer leaves, the chat closes, a system message says so.
    let (status, _) = t.call("POST", &format!("/chats/{chat}/leave"), Some(&customer), None).await;
    assert_eq!(status, 200);
    let (_, session) = t.call("GET", "/session", Some(&customer), None).await;
    assert_eq!((session["sessionActive"].clone(), session["status"].clone()), (json!(false), json!("closed")));
    let (_, transcript) = t.call("GET", &format!("/chats/{chat}/messages"), Some(&ann), None).await;
    let events: Vec<&str> =
        transcript["messages"].as_array().unwrap().iter().filter_map(|m| m["event"].as_str()).collect();
    assert!(events.ends_with(&["left", "closed"]), "{events:?}");
    let (_, stats) = t.call("GET", &format!("/chats/{chat}/stats"), Some(&ann), None).await;
    assert!(stats["endTime"].as_i64().is_some());
    assert_eq!(t.call("GET", "/session", Some(&ann), None).await.0, 403);
}

/// `transport.maxMessagePageSize` above 100 (the seed's option) is served: pages of the
/// size asked for, up to 1,000, for the transcript and for history.
#[tokio::test]
async fn pages_of_the_size_a_widget_asks_for_are_served() {
    let t = TestApp::new().await;
    let (chat, customer, _) = accepted_chat(&t).await;
    let (_, head) = t.call("GET", &format!("/chats/{chat}/messages"), Some(&customer), None).await;
    let last = head["lastIndex"].as_u64().unwrap();
    let more: Vec<u64> = (last + 1..=last + 300).collect();
    t.write_messages(&chat, &more, false).await;
    let (status, page) = t.call("GET", &format!("/chats/{chat}/transcript?pageSize=250"), Some(&customer), None).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["messages"].as_array().unwrap().len(), 250);
    let cursor = page["nextCursor"].as_str().unwrap().to_string();
    let (_, rest) =
        t.call("GET", &format!("/chats/{chat}/transcript?pageSize=250&cursor={cursor}"), Some(&customer), None).await;
    assert_eq!(rest["messages"].as_array().unwrap().len() as u64, last + 300 - 250);
    let before = last + 301;
    let (status, history) =
        t.call("GET", &format!("/chats/{chat}/messages?before={before}&limit=200"), Some(&customer), None).await;
    assert_eq!((status, history["messages"].as_array().unwrap().len()), (200, 200));
    assert_eq!(t.call("GET", &format!("/chats/{chat}/messages?limit=1001"), Some(&customer), None).await.0, 400);
}

/// A page of messages stays under what Lambda can answer: a thousand asked of a chat of
/// 300 messages of 3,800 four-byte characters (4.5 MB) come in pages that each fit, the
/// poll reading on with `nextCursor` and the history reading back with it, each message
/// once, in order.
#[tokio::test]
async fn message_pages_stay_under_what_lambda_can_answer() {
    let t = TestApp::new().await;
    let (chat, customer, agent) = accepted_chat(&t).await;
    for i in 0..300 {
        let text = format!("{i:03}{}", "😀".repeat(3_797));
        assert_eq!(post(&t, &chat, &customer, json!({"text": text})).await.0, 201);
    }
    let long = |page: &Value| -> Vec<String> {
        page["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["text"].as_str())
            .filter(|t| t.len() > 1000)
            .map(|t| t[..3].to_string())
            .collect()
    };
    let fits = |page: &Value| page.to_string().len().div_ceil(3) * 4 < 6 * 1024 * 1024;
    let (mut forward, mut after, mut pages) = (Vec::new(), 0, 0);
    loop {
        let (status, page) =
            t.call("GET", &format!("/chats/{chat}/messages?after={after}&limit=1000"), Some(&agent), None).await;
        assert_eq!(status, 200);
        assert!(fits(&page), "page {pages}");
        pages += 1;
        forward.extend(long(&page));
        match page["nextCursor"].as_str() {
            Some(next) => after = next.parse().unwrap(),
            None => break,
        }
    }
    let expected: Vec<String> = (0..300).map(|i| format!("{i:03}")).collect();
    assert!(pages >= 2, "{pages}");
    assert_eq!(forward, expected, "the poll: each once, in order");

    let (mut back, mut before) = (Vec::new(), 1_000_000u64);
    loop {
        let path = format!("/chats/{chat}/messages?before={before}&limit=1000");
        let (status, page) = t.call("GET", &path, Some(&agent), None).await;
        assert_eq!(status, 200);
        assert!(fits(&page));
        back.splice(0..0, long(&page));
        match page["nextCursor"].as_str() {
            Some(next) => before = next.parse().unwrap(),
            None => break,
        }
    }
    assert_eq!(back, expected, "the history: each once, in order");
}
