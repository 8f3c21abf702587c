//! The second security review's findings (docs/security.md, "Findings of 2026-12-05"): each
//! test failed on the code the review read and passes since.

use std::time::{Duration, Instant};

use integration_tests::TestApp;
use serde_json::json;

async fn accepted_chat(t: &TestApp) -> (String, String, String) {
    let (chat, customer) = t.start_chat("sales").await;
    let ann = t.agent_token("ann");
    assert_eq!(t.call("PATCH", &format!("/chats/{chat}"), Some(&ann), Some(json!({"status": "active"}))).await.0, 200);
    (chat, customer, ann)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// H2: a customer's filter runs once, at post time, under limits. The review's patterns are
/// refused (each took seconds per evaluation, on every read), and a chat of filtered
/// messages reads as fast as one without filters.
#[tokio::test]
async fn a_filter_is_evaluated_once_under_limits_and_reads_do_not_pay_for_it() {
    let t = TestApp::new().await;
    let (chat, customer, ann) = accepted_chat(&t).await;
    let long = "a".repeat(3800);
    for pattern in ["(?:(?:.?){30}){30}b", "(?:(?:(?:.?){45}){45}){45}b"] {
        let started = Instant::now();
        let (status, body) = t
            .call(
                "POST",
                &format!("/chats/{chat}/messages"),
                Some(&customer),
                Some(json!({"text": long, "filter": pattern})),
            )
            .await;
        assert_eq!(status, 400, "{pattern}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().starts_with("filter "), "{body}");
        assert!(started.elapsed() < Duration::from_secs(1), "{pattern}: {:?}", started.elapsed());
    }
    // JavaScript lookahead is run (sendFilteredMessage's patterns are the widget's RegExps).
    let (plain, plain_customer) = t.start_chat("sales").await;
    for i in 0..5 {
        let text = format!("{} code {i}", &long[..3780]);
        let filtered = json!({"text": text, "filter": r"^(?=.*code \d)"});
        assert_eq!(t.call("POST", &format!("/chats/{chat}/messages"), Some(&customer), Some(filtered)).await.0, 201);
        let open = json!({"text": text});
        assert_eq!(t.call("POST", &format!("/chats/{plain}/messages"), Some(&plain_customer), Some(open)).await.0, 201);
    }
    let (_, seen) = t.call("GET", &format!("/chats/{chat}/messages"), Some(&customer), None).await;
    assert!(!seen.to_string().contains("code 1"), "a matched filter hides the message from the customer");
    let (_, seen) = t.call("GET", &format!("/chats/{chat}/messages"), Some(&ann), None).await;
    assert!(seen.to_string().contains("code 1"), "the agent sees it");
    // Reads of the two chats, side by side.
    let (mut filtered, mut unfiltered) = (Vec::new(), Vec::new());
    for _ in 0..15 {
        let started = Instant::now();
        assert_eq!(t.call("GET", &format!("/chats/{chat}/messages"), Some(&customer), None).await.0, 200);
        filtered.push(started.elapsed());
        let started = Instant::now();
        let path = format!("/chats/{plain}/messages");
        assert_eq!(t.call("GET", &path, Some(&plain_customer), None).await.0, 200);
        unfiltered.push(started.elapsed());
    }
    let (filtered, unfiltered) = (median(filtered), median(unfiltered));
    println!("message-list median: {filtered:?} with five filtered messages, {unfiltered:?} without filters");
    assert!(filtered < unfiltered * 3 + Duration::from_millis(20), "{filtered:?} vs {unfiltered:?}");
}

/// M2: a customer cannot set monitoring (each change was an internal line in its name), and
/// every customer write (messages, notices, userData, typing) is in its rate budget.
#[tokio::test]
async fn customer_writes_are_metered_and_monitoring_is_an_agents() {
    let t = TestApp::with(|c| c.customer_messages_per_minute = 3).await;
    let (chat, customer, ann) = accepted_chat(&t).await;
    let (_, me) = t.call("GET", "/session", Some(&customer), None).await;
    let me = format!("/chats/{chat}/participants/Public/{}", me["participantId"].as_str().unwrap());
    let (status, body) = t.call("PATCH", &me, Some(&customer), Some(json!({"monitoring": 1}))).await;
    assert_eq!(status, 403, "{body}");
    let (_, seen) = t.call("GET", &format!("/chats/{chat}/messages"), Some(&ann), None).await;
    assert!(!seen.to_string().contains("monitoring"), "{seen}");

    // Three writes a minute: a message, a notice, userData; the fourth is refused.
    t.fresh_minute();
    let path = |p: &str| format!("/chats/{chat}/{p}");
    assert_eq!(t.call("POST", &path("messages"), Some(&customer), Some(json!({"text": "hi"}))).await.0, 201);
    assert_eq!(t.call("POST", &path("notices"), Some(&customer), Some(json!({"message": "n"}))).await.0, 201);
    assert_eq!(t.call("PATCH", &path("user-data"), Some(&customer), Some(json!({"k": "1"}))).await.0, 200);
    let (status, body) = t.call("PATCH", &path("user-data"), Some(&customer), Some(json!({"k": "2"}))).await;
    assert_eq!(status, 429, "{body}");
    // Typing has a budget of its own: four notices per message of the rate.
    let typing = || json!({"typing": true, "text": "hel"});
    for _ in 0..12 {
        assert_eq!(t.call("POST", &path("typing"), Some(&customer), Some(typing())).await.0, 204);
    }
    assert_eq!(t.call("POST", &path("typing"), Some(&customer), Some(typing())).await.0, 429);
    // Agents are not metered.
    for _ in 0..5 {
        assert_eq!(t.call("PATCH", &path("user-data"), Some(&ann), Some(json!({"a": "b"}))).await.0, 200);
    }
}

/// M2: FirstMessage / LastMessage read a bounded number of pages, however many notes a
/// customer cannot see lie between it and a text.
#[tokio::test]
async fn first_and_last_read_a_bounded_part_of_the_transcript() {
    let t = TestApp::new().await;
    let (chat, customer, _) = accepted_chat(&t).await;
    let (_, state) = t.call("GET", &format!("/chats/{chat}/messages"), Some(&customer), None).await;
    let last = state["lastIndex"].as_u64().unwrap();
    let notes: Vec<u64> = (last + 1..=last + 2000).collect();
    t.write_messages(&chat, &notes, true).await;
    t.meter.take();
    let (status, body) = t.call("GET", &format!("/chats/{chat}/messages?last=1"), Some(&customer), None).await;
    assert_eq!(status, 200, "{body}");
    let used = t.meter.take();
    println!("?last=1 behind 2,000 notes: {} round trips, {} read units", used.round_trips, used.read_units);
    assert!(used.round_trips <= 12, "{used:?}");
}

/// M4: ChatList shows an agent who may not read a chat only the seed's ChatList columns;
/// the customer's details need read access, as `GET /chats/{id}` does.
#[tokio::test]
async fn chat_list_rows_carry_details_only_for_chats_the_caller_reads() {
    let t = TestApp::new().await;
    let start = json!({"channelId": "sales", "nickname": "Vic", "email": "vic@example.com", "subject": "Refund",
        "userData": {"iban": "DE00 1234"}});
    let (status, started) = t.call("POST", "/chats", None, Some(start)).await;
    assert_eq!(status, 201);
    let chat = started["chat"]["chatId"].as_str().unwrap().to_string();
    let stranger = t.agent_token("stranger");
    let private =
        |body: &serde_json::Value| ["vic@example.com", "Refund", "DE00"].iter().any(|s| body.to_string().contains(s));
    // In the queue, any agent reads it (to accept it): the full row.
    let (_, queue) = t.call("GET", "/chats?status=request", Some(&stranger), None).await;
    assert!(private(&queue), "{queue}");
    let ann = t.agent_token("ann");
    assert_eq!(t.call("PATCH", &format!("/chats/{chat}"), Some(&ann), Some(json!({"status": "active"}))).await.0, 200);
    assert_eq!(t.call("GET", &format!("/chats/{chat}"), Some(&stranger), None).await.0, 403);
    for query in ["?status=active", "", "?channelIds=sales", "?requesterType=Public", "?chatterId=ann&chatterType=User"]
    {
        let (status, rows) = t.call("GET", &format!("/chats{query}"), Some(&stranger), None).await;
        assert_eq!(status, 200);
        let row = rows["chats"].as_array().unwrap().iter().find(|c| c["chatId"] == chat.as_str()).cloned();
        let row = row.unwrap_or_else(|| panic!("{query}: {rows}"));
        assert!(!private(&row) && row.get("nickname").is_none(), "{query}: {row}");
        for column in [
            "chatId",
            "createTime",
            "status",
            "channel",
            "channelId",
            "requesterType",
            "requesterId",
            "requesterName",
            "targetType",
        ] {
            assert!(row.get(column).is_some(), "{query}: {column} missing from {row}");
        }
    }
    // Its own chats: the agent reads them, and sees them whole.
    let (_, mine) = t.call("GET", "/chats?chatterId=ann&chatterType=User", Some(&ann), None).await;
    assert!(private(&mine), "{mine}");
}

/// M1: a socket is told of its chat only while its chatter is in it. A removed customer's
/// socket, and one that left, are closed; an agent who left hears nothing more, its
/// monitoring notwithstanding; one token subscribes a few sockets at most.
#[tokio::test]
async fn sockets_do_not_outlive_their_access() {
    use integration_tests::{pushed_texts, Socket};
    let (t, port) = TestApp::with_push().await;
    let (chat, visitor) = t.start_chat("sales").await;
    let ann = t.agent_token("ann");
    assert_eq!(t.call("PATCH", &format!("/chats/{chat}"), Some(&ann), Some(json!({"status": "active"}))).await.0, 200);
    let add = |id: &str| json!({"chatterId": id, "chatterType": "Customer", "chatterName": id, "chatterActive": 1});
    let (_, jdoe) = t.call("POST", &format!("/chats/{chat}/participants"), Some(&ann), Some(add("jdoe"))).await;
    let (_, kim) = t.call("POST", &format!("/chats/{chat}/participants"), Some(&ann), Some(add("kim"))).await;
    let bob = t.agent_token("bob");
    let monitor = json!({"chatterId": "bob", "chatterType": "User", "permissionLevel": "Participant", "chatterActive": 1, "monitoring": 2});
    assert_eq!(t.call("POST", &format!("/chats/{chat}/participants"), Some(&ann), Some(monitor)).await.0, 201);
    let mut jdoe_socket = Socket::subscribed(port, jdoe["token"].as_str().unwrap()).await;
    let mut kim_socket = Socket::subscribed(port, kim["token"].as_str().unwrap()).await;
    let mut visitor_socket = Socket::subscribed(port, &visitor).await;
    let mut bob_socket = Socket::subscribed(port, &bob).await;

    // Removed: its socket is closed.
    assert_eq!(t.call("DELETE", &format!("/chats/{chat}/participants/Customer/jdoe"), Some(&ann), None).await.0, 204);
    assert!(jdoe_socket.closed_by_server(Duration::from_secs(10)).await, "the removed customer's socket stays open");
    // Left: the same.
    let kim_token = kim["token"].as_str().unwrap();
    assert_eq!(t.call("POST", &format!("/chats/{chat}/leave"), Some(kim_token), None).await.0, 200);
    assert!(kim_socket.closed_by_server(Duration::from_secs(10)).await, "the socket of a customer who left stays open");
    // An agent who left, monitoring all activity: nothing more, internal notes least of all.
    assert_eq!(t.call("POST", &format!("/chats/{chat}/leave"), Some(&bob), None).await.0, 200);
    let post = |text: &str, internal: bool| json!({"text": text, "internal": internal});
    assert_eq!(t.call("POST", &format!("/chats/{chat}/messages"), Some(&ann), Some(post("a note", true))).await.0, 201);
    assert_eq!(t.call("POST", &format!("/chats/{chat}/messages"), Some(&ann), Some(post("after", false))).await.0, 201);
    let (own, _) = t.start_chat("sales").await;
    assert_eq!(t.call("PATCH", &format!("/chats/{own}"), Some(&bob), Some(json!({"status": "active"}))).await.0, 200);
    assert_eq!(
        t.call("POST", &format!("/chats/{own}/messages"), Some(&bob), Some(post("witness", false))).await.0,
        201
    );
    let heard = bob_socket.pushes_until(|p| pushed_texts(p).contains(&"witness".to_string())).await;
    assert_eq!(pushed_texts(&heard), ["witness"], "{heard:?}");
    // The visitor who stayed is still told.
    let seen = visitor_socket.pushes_until(|p| pushed_texts(p).contains(&"after".to_string())).await;
    assert!(pushed_texts(&seen).contains(&"after".to_string()));
    assert!(!pushed_texts(&seen).contains(&"a note".to_string()));

    // One token, five sockets at most.
    let mut more = Vec::new();
    for _ in 0..4 {
        more.push(Socket::subscribed(port, &visitor).await);
    }
    let mut sixth = Socket::open(port, &visitor).await.expect("opens");
    let shake = sixth
        .call(json!([{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["websocket"]}]))
        .await;
    let id = shake[0]["clientId"].as_str().unwrap().to_string();
    let sub = sixth.call(json!([{"channel": "/meta/subscribe", "clientId": id, "subscription": "/v2/me/chats"}])).await;
    assert_eq!(sub[0]["successful"], false, "{sub}");
    assert!(sub[0]["error"].as_str().unwrap().starts_with("403:"), "{sub}");
}

/// M3: a customer an agent adds gets a token (the join link), but is not trusted as that
/// customer until it confirms with its own identity token: not online, not available,
/// marked unverified in what it posts; verified after.
#[tokio::test]
async fn a_customer_an_agent_adds_is_unverified_until_its_own_identity_token() {
    let t = TestApp::new().await;
    let eve = t.agent_token("eve");
    let start = json!({"channelId": "sales", "status": "active", "targetType": "Customer"});
    let (status, started) = t.call("POST", "/chats", Some(&eve), Some(start)).await;
    assert_eq!(status, 201, "{started}");
    let chat = started["chat"]["chatId"].as_str().unwrap().to_string();
    let add =
        json!({"chatterId": "cust-42", "chatterType": "Customer", "chatterName": "Real Customer", "chatterActive": 1});
    let (status, added) = t.call("POST", &format!("/chats/{chat}/participants"), Some(&eve), Some(add)).await;
    assert_eq!((status, added["participant"]["unverified"].as_bool()), (201, Some(true)), "{added}");
    let token = added["token"].as_str().unwrap().to_string();
    let online_path = "/users/online?userType=Customer&userId=cust-42";
    assert_eq!(t.call("GET", online_path, Some(&eve), None).await.1["users"], json!([]), "not online as that customer");
    let (_, availability) = t.call("GET", "/customers/cust-42/availability", Some(&eve), None).await;
    assert_eq!(availability["availability"], 0, "{availability}");
    let (status, posted) = t
        .call("POST", &format!("/chats/{chat}/messages"), Some(&token), Some(json!({"text": "refund to IBAN X"})))
        .await;
    assert_eq!((status, posted["message"]["chatterUnverified"].as_bool()), (201, Some(true)), "{posted}");
    // Someone else's identity token proves nothing.
    let me = format!("/chats/{chat}/participants/Customer/cust-42");
    let other = json!({"identityToken": t.identity_token("cust-43")});
    assert_eq!(t.call("PATCH", &me, Some(&token), Some(other)).await.0, 403);
    assert_eq!(t.call("PATCH", &me, Some(&token), Some(json!({"identityToken": "x"}))).await.0, 400);
    // Its own does.
    let own = json!({"identityToken": t.identity_token("cust-42")});
    let (status, verified) = t.call("PATCH", &me, Some(&token), Some(own)).await;
    assert_eq!(status, 200, "{verified}");
    assert!(verified["participant"].get("unverified").is_none(), "{verified}");
    assert_eq!(t.call("GET", online_path, Some(&eve), None).await.1["users"][0]["chatId"], chat.as_str());
    let (_, posted) =
        t.call("POST", &format!("/chats/{chat}/messages"), Some(&token), Some(json!({"text": "me"}))).await;
    assert!(posted["message"].get("chatterUnverified").is_none(), "{posted}");
}

/// M5: webhooks reach the internet only: https, and no loopback, private, link-local or
/// metadata address (by literal, by a name that resolves there, or in another notation);
/// a webhook is signed (`direct`) unless asked otherwise; replays are rate-limited.
#[tokio::test]
async fn webhooks_reach_only_the_internet_signed_and_replays_are_metered() {
    let t = TestApp::with(|c| c.events.webhooks.allow_loopback = false).await;
    let admin = t.admin_token("admin");
    let hook = |url: &str| json!({"url": url, "format": "native", "events": ["ChatAdd"]});
    for url in [
        "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next",
        "https://127.0.0.1/",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.1/",
        "https://[::1]/",
        "https://[fd00:ec2::254]/",
        "https://2130706433/",
        "https://0x7f.1/",
        "https://localhost/",
        "http://93.184.216.34/hook",
        "https://user@93.184.216.34/",
    ] {
        let (status, body) = t.call("POST", "/webhooks", Some(&admin), Some(hook(url))).await;
        assert_eq!(status, 400, "{url}: {body}");
    }
    // A name that does not resolve here (no network) is taken: each delivery checks it.
    let (status, made) = t.call("POST", "/webhooks", Some(&admin), Some(hook("https://hooks.example.com/hook"))).await;
    assert_eq!((status, made["webhook"]["mode"].as_str()), (201, Some("direct")), "signed unless asked: {made}");
    assert!(made["secret"].as_str().unwrap().starts_with("whsec_"));
    // Five replays a minute per webhook.
    t.fresh_minute();
    let id = made["webhookId"].as_str().unwrap();
    let range = json!({"from": t.app.clock.ago(3600), "to": t.app.clock.stamp()});
    for _ in 0..5 {
        let (status, body) = t.call("POST", &format!("/webhooks/{id}/replay"), Some(&admin), Some(range.clone())).await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(t.call("POST", &format!("/webhooks/{id}/replay"), Some(&admin), Some(range)).await.0, 429);
}

/// H3: a long chat's close fits an SNS message (the transcript is cut by size, visibly),
/// and publishing it holds up nobody: a chat of 3,800-emoji messages closes beside an
/// ordinary chat, and both closes arrive, in every vocabulary, each body within 256 KB.
#[tokio::test]
async fn a_long_chats_close_is_published_beside_an_ordinary_one() {
    use integration_tests::{eventually, Proxy, Receiver};
    let proxy = Proxy::start(&integration_tests::sns_endpoint()).await;
    let t = TestApp::with_events(&proxy).await;
    let rx = Receiver::start().await;
    let admin = t.admin_token("admin");
    for (path, format, events) in [
        ("/rpc", "rpc", json!(["VISITOR_LEFT_CHAT", "OPERATOR_STOPED_CHAT"])),
        ("/native", "native", json!(["ChatUpdate"])),
        ("/notification", "notification", json!(["StatusChange"])),
    ] {
        let hook = json!({"url": rx.url(path), "format": format, "events": events, "mode": "sns"});
        assert_eq!(t.call("POST", "/webhooks", Some(&admin), Some(hook)).await.0, 201);
    }
    assert!(crate::events::confirmed(&t, 3).await, "subscriptions confirmed");
    let (long, visitor, _) = accepted_chat(&t).await;
    let emoji = "😀".repeat(3800);
    for _ in 0..8 {
        let (status, body) =
            t.call("POST", &format!("/chats/{long}/messages"), Some(&visitor), Some(json!({"text": emoji}))).await;
        assert_eq!(status, 201, "{body}");
    }
    let (short, _, ann) = accepted_chat(&t).await;
    assert_eq!(t.call("POST", &format!("/chats/{long}/leave"), Some(&visitor), None).await.0, 200);
    assert_eq!(t.call("PATCH", &format!("/chats/{short}"), Some(&ann), Some(json!({"status": "closed"}))).await.0, 200);
    let arrived = |path: &str, chat: &str| rx.bodies(path).iter().any(|b| b.contains(chat));
    assert!(
        eventually(60, || {
            [&long, &short].iter().all(|c| arrived("/rpc", c) && arrived("/native", c) && arrived("/notification", c))
        })
        .await,
        "rpc {}, native {}, notification {} bodies",
        rx.bodies("/rpc").len(),
        rx.bodies("/native").len(),
        rx.bodies("/notification").len()
    );
    for path in ["/rpc", "/native", "/notification"] {
        for body in rx.bodies(path) {
            assert!(body.len() <= 262_144, "{path}: {} bytes", body.len());
        }
    }
    let left = rx.bodies("/rpc").into_iter().find(|b| b.contains("VISITOR_LEFT_CHAT") && b.contains(&long)).unwrap();
    assert!(left.contains("do+not+fit+in+one+event"), "the cut is visible");
}

/// The status line the local server answers a raw request with.
async fn raw_status(port: u16, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 256];
    let n = stream.read(&mut answer).await.unwrap();
    String::from_utf8_lossy(&answer[..n]).lines().next().unwrap_or_default().to_string()
}

/// L5: the local server answers only to its loopback names (a DNS-rebinding page reaches it
/// under another name) and its local tools refuse other sites' pages.
#[tokio::test]
async fn the_local_server_answers_this_machine_only() {
    let (_t, port) = TestApp::with_push().await;
    let ok =
        raw_status(port, &format!("GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n")).await;
    assert!(ok.contains(" 200"), "{ok}");
    let rebound = format!("POST /dev/tokens HTTP/1.1\r\nHost: attacker.example:{port}\r\nContent-Length: 17\r\nConnection: close\r\n\r\n{{\"userId\":\"evil\"}}");
    assert!(raw_status(port, &rebound).await.contains(" 421"));
    let forged = format!(
        "POST /dev/cleanup HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: https://attacker.example\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    assert!(raw_status(port, &forged).await.contains(" 403"));
}

/// L1: with MaskAgentName on, nothing a customer reads names the agent behind a number: not
/// an agent-started chat's requester, not how many agents were numbered, and looking an
/// agent up by its real id finds nothing.
#[tokio::test]
async fn masking_leaves_no_agent_identity_to_customers() {
    let t = TestApp::with(|c| c.mask_agent_names = true).await;
    let ann = t.agent_token("ann");
    let start = json!({"channelId": "sales", "status": "active", "targetType": "Customer"});
    let (_, started) = t.call("POST", "/chats", Some(&ann), Some(start)).await;
    let chat = started["chat"]["chatId"].as_str().unwrap().to_string();
    let add = json!({"chatterId": "jdoe", "chatterType": "Customer", "chatterName": "John", "chatterActive": 1});
    let (_, added) = t.call("POST", &format!("/chats/{chat}/participants"), Some(&ann), Some(add)).await;
    let customer = added["token"].as_str().unwrap();
    let (status, seen) = t.call("GET", &format!("/chats/{chat}"), Some(customer), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        (seen["chat"]["requesterName"].as_str(), seen["chat"]["requesterId"].as_str()),
        (Some("Support Agent 1"), Some("agent-1"))
    );
    assert!(seen["chat"].get("agentNumbers").is_none(), "{seen}");
    assert!(!seen.to_string().contains("\"ann\"") && !seen.to_string().contains("Agent ann"), "{seen}");
    let path = |id: &str| format!("/chats/{chat}/participants/User/{id}");
    assert_eq!(t.call("GET", &path("ann"), Some(customer), None).await.0, 404, "no oracle for real ids");
    let (status, agent) = t.call("GET", &path("agent-1"), Some(customer), None).await;
    assert_eq!((status, agent["participant"]["chatterName"].as_str()), (200, Some("Support Agent 1")));
    let (_, own_view) = t.call("GET", &format!("/chats/{chat}"), Some(&ann), None).await;
    assert_eq!(own_view["chat"]["requesterId"], "ann", "agents see agents as they are");
}

/// L6: a flood of stale requests is worked through over several cleanup runs, each reading
/// a bounded number of chats per shard, never loading the whole backlog at once.
#[tokio::test]
async fn the_cleanup_reads_a_bounded_backlog_per_run() {
    let t = TestApp::with(|c| {
        c.request_decay_secs = 1;
        c.cleanup.request_close_secs = 1;
    })
    .await;
    // More than four shards of 250 hold: at least one shard has more.
    t.seed_chats(1100, shared::domain::model::ChatStatus::Request).await;
    t.app.clock.advance(Duration::from_secs(5));
    let first = shared::cleanup::handle(&t.app, serde_json::Value::Null).await.unwrap();
    println!("first run: {first}");
    assert!(first["closed"].as_u64().unwrap() <= 4 * 250, "{first}");
    assert_eq!(first["incomplete"], true, "{first}");
    let mut closed = first["closed"].as_u64().unwrap();
    for _ in 0..4 {
        let run = shared::cleanup::handle(&t.app, serde_json::Value::Null).await.unwrap();
        closed += run["closed"].as_u64().unwrap();
        if run["incomplete"] == false {
            break;
        }
    }
    assert_eq!(closed, 1100, "every request closed over the runs");
}

/// A page on another origin (a site embedding the widget) calls the local server as it
/// calls API Gateway: its preflight is answered at the edge, and the answer says it may
/// read what it asked for.
#[tokio::test]
async fn a_page_on_another_origin_is_answered_as_the_templates_cors_configuration_allows() {
    let t = std::sync::Arc::new(TestApp::new().await);
    let port = t.serve().await;
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/chats");
    let preflight = client
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", "https://shop.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    let allow = |r: &reqwest::Response, name: &str| {
        r.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
    };
    assert_eq!(allow(&preflight, "access-control-allow-origin"), "*");
    assert!(allow(&preflight, "access-control-allow-headers").contains("content-type"));
    let started = client
        .post(&url)
        .header("origin", "https://shop.example")
        .header("content-type", "application/json")
        .body(json!({"channelId": "sales", "nickname": "Vic"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 201);
    assert_eq!(allow(&started, "access-control-allow-origin"), "*");
}
