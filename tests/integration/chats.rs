//! The chat lifecycle, its auth and error rules, and the list filters.

use std::collections::BTreeSet;

use integration_tests::TestApp;
use serde_json::json;

#[tokio::test]
async fn lifecycle_from_request_to_deletion() {
    let t = TestApp::new().await;
    let (status, body) = t
        .call(
            "POST",
            "/chats",
            None,
            Some(json!({"channelId": "sales", "nickname": "Vic", "subject": "prices", "userData": {"plan": "pro"}})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let chat = &body["chat"];
    assert_eq!(chat["status"], "request");
    assert_eq!(chat["requesterType"], "Public");
    assert_eq!(chat["requesterName"], "Vic");
    assert_eq!(chat["targetType"], "User");
    assert_eq!(chat["userData"]["plan"], "pro");
    assert_eq!(chat["customerPresent"], true);
    assert_eq!(chat["contributorsCount"], 0);
    let chat_id = chat["chatId"].as_str().unwrap().to_string();
    let token = body["token"].as_str().unwrap().to_string();
    let path = format!("/chats/{chat_id}");

    // The visitor reads its own chat with its token; nobody reads it without one.
    let (status, body) = t.call("GET", &path, Some(&token), None).await;
    assert_eq!((status, body["chat"]["chatId"].as_str()), (200, Some(chat_id.as_str())));
    assert_eq!(t.call("GET", &path, None, None).await.0, 401);

    // An agent sees it in the queue and accepts it, becoming its owner.
    let agent = t.agent_token("ann");
    let (status, body) = t.call("GET", "/chats?status=request", Some(&agent), None).await;
    assert_eq!(status, 200);
    assert!(body["chats"].as_array().unwrap().iter().any(|c| c["chatId"] == chat_id.as_str()));
    let (status, body) = t.call("PATCH", &path, Some(&agent), Some(json!({"status": "active"}))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["chat"]["status"], "active");
    assert_eq!(body["chat"]["previousStatus"], "request");
    assert_eq!(body["chat"]["contributorsCount"], 1);

    // Another agent, not a participant, can no longer read or manage it.
    let bob = t.agent_token("bob");
    assert_eq!(t.call("GET", &path, Some(&bob), None).await.0, 403);
    assert_eq!(t.call("PATCH", &path, Some(&bob), Some(json!({"status": "closed"}))).await.0, 403);
    // The visitor cannot change the chat's status.
    assert_eq!(t.call("PATCH", &path, Some(&token), Some(json!({"status": "closed"}))).await.0, 403);

    let (status, body) = t.call("PATCH", &path, Some(&agent), Some(json!({"status": "closed"}))).await;
    assert_eq!((status, body["chat"]["status"].as_str()), (200, Some("closed")));
    // closed → active is not a transition.
    let (status, body) = t.call("PATCH", &path, Some(&agent), Some(json!({"status": "active"}))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("conflict")));

    assert!(t.partition_size(&chat_id).await > 2);
    assert_eq!(t.call("DELETE", &path, Some(&bob), None).await.0, 403);
    assert_eq!(t.call("DELETE", &path, Some(&agent), None).await.0, 204);
    assert_eq!(t.call("GET", &path, Some(&agent), None).await.0, 404);
    assert_eq!(t.call("DELETE", &path, Some(&agent), None).await.0, 404);
    // No event publisher here: the cleanup purges it (CLOSED_RETENTION_SECONDS is 0 in tests).
    shared::cleanup::run(&t.app, std::time::Instant::now() + std::time::Duration::from_secs(60)).await.unwrap();
    assert_eq!(t.partition_size(&chat_id).await, 0, "nothing of the chat is left");
}

#[tokio::test]
async fn a_chat_token_covers_only_its_own_chat() {
    let t = TestApp::new().await;
    let (mine, my_token) = t.start_chat("c1").await;
    let (other, _) = t.start_chat("c1").await;
    assert_eq!(t.call("GET", &format!("/chats/{mine}"), Some(&my_token), None).await.0, 200);
    // Same answer whether the other chat exists or not: existence does not leak.
    let (status, body) = t.call("GET", &format!("/chats/{other}"), Some(&my_token), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("forbidden")));
    assert_eq!(t.call("GET", "/chats/00000000-0000-0000-0000-000000000000", Some(&my_token), None).await.0, 403);
    // Customers cannot list chats.
    assert_eq!(t.call("GET", "/chats", Some(&my_token), None).await.0, 403);
    // A tampered token is 401.
    let mut tampered = my_token.clone();
    tampered.insert(tampered.len() / 2, 'x');
    assert_eq!(t.call("GET", &format!("/chats/{mine}"), Some(&tampered), None).await.0, 401);
    // An expired agent token is 401.
    let expired = shared::auth::issue_agent_token(
        &t.app.config.auth,
        "ann",
        "Ann",
        &[],
        chrono::Utc::now().timestamp() - 7200,
        60,
    )
    .unwrap();
    assert_eq!(t.call("GET", "/chats", Some(&expired), None).await.0, 401);
}

#[tokio::test]
async fn bad_input_is_a_clear_4xx_and_stores_nothing() {
    let t = TestApp::new().await;
    let agent = t.agent_token("ann");
    let cases = [
        (json!({}), 400, "channelId"),
        (json!({"channelId": 5}), 400, "invalid type"),
        (json!({"channelId": "c", "requesterType": "Robot"}), 400, "unknown variant"),
        (json!({"channelId": "c", "userData": [1, 2]}), 400, "malformed data object provided in userData property."),
        (json!({"channelId": "c", "status": "closed"}), 400, "a new chat"),
        (json!({"channelId": "c", "identityToken": "not-a-token"}), 401, "identity token"),
        (json!({"channelId": "", "nickname": "x"}), 400, "channelId"),
        (json!({"channelId": "c", "nickname": "x".repeat(201)}), 400, "nickname"),
    ];
    for (body, status, needle) in cases {
        let (got, answer) = t.call("POST", "/chats", None, Some(body.clone())).await;
        assert_eq!(got, status, "{body} → {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(needle), "{body} → {message}");
        assert_eq!(answer["error"]["code"], if status == 401 { "unauthorized" } else { "bad_request" });
    }
    // An agent chat needs an agent token.
    assert_eq!(t.call("POST", "/chats", None, Some(json!({"channelId": "c", "requesterType": "User"}))).await.0, 401);

    let mut malformed = shared::http::Request::new("POST", "/chats");
    malformed.body = b"{\"channelId\": ".to_vec();
    let (status, body) = t.send(malformed).await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"].as_str().unwrap().starts_with("malformed JSON"));

    let mut huge = shared::http::Request::new("POST", "/chats");
    huge.body = serde_json::to_vec(&json!({"channelId": "c", "subject": "x".repeat(70_000)})).unwrap();
    assert_eq!(t.send(huge).await.0, 413);

    let (status, body) = t.call("GET", "/chats", Some(&agent), None).await;
    assert_eq!(status, 200);
    assert_eq!(body["chats"], json!([]), "nothing was stored");

    for query in
        ["status=open", "limit=0", "limit=101", "requesterType=Robot", "outdated=yes", "chatterId=x", "cursor=%%%"]
    {
        assert_eq!(t.call("GET", &format!("/chats?{query}"), Some(&agent), None).await.0, 400, "{query}");
    }
    assert_eq!(t.call("PATCH", "/chats/abc", Some(&agent), Some(json!({"status": "paused"}))).await.0, 400);
    assert_eq!(t.call("PATCH", "/chats/abc", Some(&agent), Some(json!({"status": "active"}))).await.0, 404);
    assert_eq!(t.call("PUT", "/chats/abc", Some(&agent), None).await.0, 405);
}

#[tokio::test]
async fn list_filters_are_served_by_key_conditions() {
    let t = TestApp::new().await;
    let agent = t.agent_token("ann");
    let (sales1, _) = t.start_chat("sales").await;
    let (sales2, _) = t.start_chat("sales").await;
    let (support, _) = t.start_chat("support").await;
    let (status, body) = t.call("POST", "/chats", None, Some(json!({"channelId": "support", "requesterType": "Customer", "requesterId": "jdoe", "identityToken": t.identity_token("jdoe"), "firstname": "John", "lastname": "Doe"}))).await;
    assert_eq!(status, 201);
    assert_eq!(body["chat"]["requesterName"], "John Doe");
    let customer_chat = body["chat"]["chatId"].as_str().unwrap().to_string();
    let (status, body) =
        t.call("POST", "/chats", Some(&agent), Some(json!({"channelId": "internal", "status": "active"}))).await;
    assert_eq!(status, 201);
    assert_eq!(body["chat"]["agentToAgent"], true);
    assert_eq!(body["token"], json!(null));
    let agent_chat = body["chat"]["chatId"].as_str().unwrap().to_string();
    assert_eq!(
        t.call("PATCH", &format!("/chats/{sales1}"), Some(&agent), Some(json!({"status": "active"}))).await.0,
        200
    );

    let ids = |body: &serde_json::Value| -> Vec<String> {
        body["chats"].as_array().unwrap().iter().map(|c| c["chatId"].as_str().unwrap().to_string()).collect()
    };
    let list = |q: &'static str| {
        let agent = agent.clone();
        let t = &t;
        async move {
            let (status, body) = t.call("GET", &format!("/chats?{q}"), Some(&agent), None).await;
            assert_eq!(status, 200, "{q}: {body}");
            body
        }
    };
    let mut requests = ids(&list("status=request").await);
    requests.sort();
    let mut want = vec![sales2.clone(), support.clone(), customer_chat.clone()];
    want.sort();
    assert_eq!(requests, want);
    assert_eq!(ids(&list("status=active").await).len(), 2);
    assert_eq!(ids(&list("channelIds=sales").await).len(), 2);
    assert_eq!(ids(&list("channelIds=sales,support&status=request").await).len(), 3);
    assert_eq!(ids(&list("requesterType=Customer").await), vec![customer_chat.clone()]);
    assert_eq!(ids(&list("requesterType=Customer,Public&status=request").await).len(), 3);
    assert_eq!(ids(&list("targetType=User&requesterType=User").await), vec![agent_chat.clone()]);
    assert_eq!(ids(&list("channelIds=support&requesterType=Customer").await), vec![customer_chat.clone()]);
    assert_eq!(ids(&list("chatterId=ann&chatterType=User").await).len(), 2);
    assert_eq!(ids(&list("chatterId=ann&chatterType=User&status=request").await).len(), 0);
    assert_eq!(ids(&list("chatterId=jdoe&chatterType=Customer&chatterActive=1").await), vec![customer_chat.clone()]);
    assert_eq!(ids(&list("").await).len(), 5);
    // Nothing is outdated yet.
    assert_eq!(ids(&list("outdated=1").await).len(), 0);

    // Paging: two at a time through all five, across partitions, each exactly once.
    let mut seen = page_through(&t, &agent, "", 2).await;
    seen.sort();
    let before = seen.len();
    seen.dedup();
    assert_eq!((before, seen.len()), (5, 5));
}

/// The request queue, a channel's chats and a requester type's are spread over shards
/// (docs/data-model.md, "Hot keys"); read, each is one list in the order the chats came,
/// page by page, each chat once.
#[tokio::test]
async fn sharded_lists_read_as_one_list_in_creation_order() {
    use shared::domain::model::{ChatStatus, ChatterType, TargetType};
    let t = TestApp::new().await;
    let agent = t.agent_token("ann");
    let mut created = Vec::new();
    for _ in 0..13 {
        created.push(t.start_chat("queue-order").await.0);
        t.app.clock.advance(std::time::Duration::from_millis(5));
    }
    let spread = |shard: &dyn Fn(&str) -> String| created.iter().map(|c| shard(c)).collect::<BTreeSet<_>>().len();
    assert!(spread(&|c| shared::keys::status_pk(ChatStatus::Request, c)) > 1, "one status shard: nothing to merge");
    assert!(spread(&|c| shared::keys::channel_chats_pk("queue-order", c)) > 1, "one channel shard");
    assert!(spread(&|c| shared::keys::type_pk(ChatterType::Public, TargetType::User, c)) > 1, "one type shard");
    for list in ["status=request", "channelIds=queue-order&status=request", "requesterType=Public&status=request"] {
        let seen: Vec<String> =
            page_through(&t, &agent, list, 4).await.into_iter().filter(|c| created.contains(c)).collect();
        assert_eq!(seen, created, "{list}");
    }
}

/// The chat ids of `GET /chats?<list>`, `limit` a page, following the cursor to the end
/// (at most ten pages).
async fn page_through(t: &TestApp, agent: &str, list: &str, limit: usize) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let q = match &cursor {
            Some(c) => format!("/chats?{list}&limit={limit}&cursor={c}"),
            None => format!("/chats?{list}&limit={limit}"),
        };
        let (status, body) = t.call("GET", &q, Some(agent), None).await;
        assert_eq!(status, 200, "{body}");
        let page = body["chats"].as_array().unwrap();
        assert!(page.len() <= limit);
        seen.extend(page.iter().map(|c| c["chatId"].as_str().unwrap().to_string()));
        cursor = body["nextCursor"].as_str().map(str::to_string);
        if cursor.is_none() {
            break;
        }
    }
    seen
}

#[tokio::test]
async fn outdated_requests_are_those_past_the_decay_time() {
    // Wide margins against real time, so a slow run cannot age the fresh request too.
    let t = TestApp::with(|c| c.request_decay_secs = 10).await;
    let agent = t.agent_token("ann");
    let (old, _) = t.start_chat("sales").await;
    t.app.clock.advance(std::time::Duration::from_secs(12));
    let (fresh, _) = t.start_chat("sales").await;
    for q in
        ["outdated=1", "outdated=1&channelIds=sales", "outdated=1&requesterType=Public", "outdated=1&status=request"]
    {
        let (status, body) = t.call("GET", &format!("/chats?{q}"), Some(&agent), None).await;
        assert_eq!(status, 200);
        let ids: Vec<&str> = body["chats"].as_array().unwrap().iter().map(|c| c["chatId"].as_str().unwrap()).collect();
        assert_eq!(ids, vec![old.as_str()], "{q}");
        assert!(!ids.contains(&fresh.as_str()));
    }
}

#[tokio::test]
async fn two_agents_accepting_at_once_exactly_one_wins() {
    let t = TestApp::new().await;
    for round in 0..5 {
        let (chat_id, _) = t.start_chat("sales").await;
        let path = format!("/chats/{chat_id}");
        let body = Some(json!({"status": "active"}));
        let (a, b) = (t.agent_token(&format!("a{round}")), t.agent_token(&format!("b{round}")));
        let (ra, rb) = tokio::join!(
            t.call("PATCH", &path, Some(&a), body.clone()),
            t.call("PATCH", &path, Some(&b), body.clone())
        );
        let mut statuses = [ra.0, rb.0];
        statuses.sort();
        assert_eq!(statuses, [200, 409], "{ra:?} {rb:?}");
        let (status, chat) = t.call("GET", &path, Some(&a), None).await;
        let (status_b, _) = t.call("GET", &path, Some(&b), None).await;
        // Only the winner is a participant (and owner).
        assert_eq!([status, status_b].iter().filter(|s| **s == 200).count(), 1);
        let winner = if status == 200 { chat } else { t.call("GET", &path, Some(&b), None).await.1 };
        assert_eq!(winner["chat"]["contributorsCount"], 1);
    }
}

#[tokio::test]
async fn moving_a_chat_to_another_channel_keeps_the_previous_one() {
    let t = TestApp::with(|c| c.channels = shared::config::parse_channels("1:Sales,2:Support")).await;
    let agent = t.agent_token("ann");
    assert_eq!(t.call("POST", "/chats", None, Some(json!({"channelId": "9"}))).await.0, 400);
    let (chat_id, _) = t.start_chat("1").await;
    let path = format!("/chats/{chat_id}");
    assert_eq!(t.call("PATCH", &path, Some(&agent), Some(json!({"status": "active"}))).await.0, 200);
    let (status, body) = t.call("PATCH", &path, Some(&agent), Some(json!({"channelId": "2"}))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["chat"]["channelId"], "2");
    assert_eq!(body["chat"]["channel"], "Support");
    assert_eq!(body["chat"]["previousChannelId"], "1");
    let (_, listed) = t.call("GET", "/chats?channelIds=2", Some(&agent), None).await;
    assert_eq!(listed["chats"][0]["chatId"], chat_id.as_str());
    let (_, listed) = t.call("GET", "/chats?channelIds=1", Some(&agent), None).await;
    assert_eq!(listed["chats"], json!([]));
    assert_eq!(t.call("PATCH", &path, Some(&agent), Some(json!({"channelId": "7"}))).await.0, 400);
}

/// DynamoDB's item size: each attribute's name plus its value (a number by its digits).
fn item_bytes(item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>) -> usize {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    fn value(v: &A) -> usize {
        match v {
            A::S(s) => s.len(),
            A::N(n) => n.trim_start_matches('-').replace('.', "").len().div_ceil(2) + 1,
            A::Bool(_) | A::Null(_) => 1,
            A::M(m) => 3 + m.iter().map(|(k, v)| k.len() + 1 + value(v)).sum::<usize>(),
            A::L(l) => 3 + l.iter().map(|v| 1 + value(v)).sum::<usize>(),
            A::Ss(s) => s.iter().map(String::len).sum(),
            other => panic!("unexpected attribute {other:?}"),
        }
    }
    item.iter().map(|(k, v)| k.len() + value(v)).sum()
}

/// docs/data-model.md's hot-key ceilings count one write unit per index copy: the chat record
/// and a participant, as an accepted chat holds them, are each under 1 KB.
#[tokio::test]
async fn a_chat_record_and_its_participants_are_each_one_write_unit() {
    let t = TestApp::new().await;
    let (chat, _) = t.start_chat("sales").await;
    let agent = t.agent_token("ann");
    assert_eq!(
        t.call("PATCH", &format!("/chats/{chat}"), Some(&agent), Some(json!({"status": "active"}))).await.0,
        200
    );
    let mut seen = 0;
    for item in &t.partition(&chat).await {
        let kind = item["entityType"].as_s().unwrap().as_str();
        if matches!(kind, "Chat" | "Participant") {
            assert!(item_bytes(item) < 1024, "a {kind} of {} bytes", item_bytes(item));
            seen += 1;
        }
    }
    assert_eq!(seen, 3, "the chat record, its visitor and its agent");
}
