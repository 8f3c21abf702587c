//! Load with nothing lost: simulated widgets and agents chat through the local server over
//! HTTP on loopback (start, accept, messages both ways, polls, typing, end), bounded in
//! time; then every acknowledged message must be in its transcript exactly once, with
//! gapless indexes, and every chat consistent. `make soak` runs the full size (60 s, 50
//! widgets, 10 agents); `make test` a short one. Settings: SOAK_SECONDS, SOAK_WIDGETS,
//! SOAK_AGENTS.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use integration_tests::{HttpClient, TestApp};
use serde_json::{json, Value};

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[derive(Default)]
struct Stats {
    latencies: Vec<Duration>,
    statuses: BTreeMap<u16, usize>,
    /// chat id → texts whose POST was acknowledged (201).
    acked: BTreeMap<String, Vec<String>>,
}

/// A client that records every call's latency and status.
struct Measured {
    http: HttpClient,
    stats: Arc<Mutex<Stats>>,
}

impl Measured {
    async fn call(&mut self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
        let started = Instant::now();
        let (status, answer) = self.http.call(method, path, token, body.as_ref()).await;
        if let Ok(mut s) = self.stats.lock() {
            s.latencies.push(started.elapsed());
            *s.statuses.entry(status).or_default() += 1;
        }
        (status, answer)
    }

    fn acked(&self, chat: &str, text: String) {
        if let Ok(mut s) = self.stats.lock() {
            s.acked.entry(chat.to_string()).or_default().push(text);
        }
    }
}

fn last_index(body: &Value, after: u64) -> u64 {
    body["lastIndex"].as_u64().unwrap_or(after)
}

async fn widget(n: u64, port: u16, stats: Arc<Mutex<Stats>>, deadline: Instant) {
    let mut c = Measured { http: HttpClient::new(port), stats };
    let (status, started) =
        c.call("POST", "/chats", None, Some(json!({"channelId": "soak", "nickname": format!("w{n}")}))).await;
    assert_eq!(status, 201, "{started}");
    let chat = started["chat"]["chatId"].as_str().unwrap().to_string();
    let token = started["token"].as_str().unwrap().to_string();
    let (mut after, mut sent) = (0, 0);
    while Instant::now() < deadline {
        let (_, polled) = c.call("GET", &format!("/chats/{chat}/messages?after={after}"), Some(&token), None).await;
        after = last_index(&polled, after);
        if sent % 3 == 0 {
            c.call("POST", &format!("/chats/{chat}/typing"), Some(&token), Some(json!({"typing": true}))).await;
        }
        let text = format!("w{n}-m{sent}");
        let (status, _) = c
            .call(
                "POST",
                &format!("/chats/{chat}/messages"),
                Some(&token),
                Some(json!({"text": text, "clientMessageId": text})),
            )
            .await;
        if status == 201 {
            c.acked(&chat, text);
        }
        sent += 1;
        tokio::time::sleep(Duration::from_millis(150 + (n * 37) % 200)).await;
    }
    c.call("POST", &format!("/chats/{chat}/leave"), Some(&token), None).await;
}

async fn agent(n: u64, port: u16, token: String, stats: Arc<Mutex<Stats>>, deadline: Instant) {
    let mut c = Measured { http: HttpClient::new(port), stats };
    let mut mine: BTreeMap<String, u64> = BTreeMap::new();
    let mut replies = 0;
    while Instant::now() < deadline {
        let (_, queue) = c.call("GET", "/chats?status=request&limit=5", Some(&token), None).await;
        for chat in queue["chats"].as_array().cloned().unwrap_or_default() {
            let id = chat["chatId"].as_str().unwrap_or_default().to_string();
            let (status, _) =
                c.call("PATCH", &format!("/chats/{id}"), Some(&token), Some(json!({"status": "active"}))).await;
            if status == 200 {
                mine.insert(id, 0);
            }
        }
        for (chat, after) in mine.iter_mut() {
            let (status, polled) =
                c.call("GET", &format!("/chats/{chat}/messages?after={after}"), Some(&token), None).await;
            if status != 200 {
                continue;
            }
            let customer_wrote =
                polled["messages"].as_array().is_some_and(|m| m.iter().any(|m| m["chatterType"] == "Public"));
            *after = last_index(&polled, *after);
            if customer_wrote && polled["chatStatus"] == "active" {
                let text = format!("a{n}-r{replies}");
                let (status, _) =
                    c.call("POST", &format!("/chats/{chat}/messages"), Some(&token), Some(json!({"text": text}))).await;
                if status == 201 {
                    c.acked(chat, text);
                }
                replies += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_loses_nothing() {
    let (seconds, widgets, agents) =
        (setting("SOAK_SECONDS", 8), setting("SOAK_WIDGETS", 10), setting("SOAK_AGENTS", 3));
    let t = Arc::new(TestApp::new().await);
    let port = t.serve().await;
    let stats = Arc::new(Mutex::new(Stats::default()));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for n in 0..agents {
        tasks.push(tokio::spawn(agent(n, port, t.agent_token(&format!("agent-{n}")), stats.clone(), deadline)));
    }
    for n in 0..widgets {
        tasks.push(tokio::spawn(widget(n, port, stats.clone(), deadline)));
    }
    for task in tasks {
        task.await.expect("a simulated client panicked");
    }
    let elapsed = started.elapsed();

    let stats = std::mem::take(&mut *stats.lock().unwrap());
    let served: usize = stats.statuses.values().sum();
    let errors: usize = stats.statuses.iter().filter(|(s, _)| **s >= 500 || **s == 0).map(|(_, n)| n).sum();
    let mut sorted = stats.latencies.clone();
    sorted.sort();
    let acked: usize = stats.acked.values().map(Vec::len).sum();
    println!(
        "soak: {seconds} s, {widgets} widgets, {agents} agents: {served} requests in {:.1} s ({:.0}/s), {errors} 5xx, p50 {:.1} ms, p99 {:.1} ms, {acked} messages acknowledged in {} chats; statuses {:?}",
        elapsed.as_secs_f64(),
        served as f64 / elapsed.as_secs_f64(),
        percentile(&sorted, 0.5),
        percentile(&sorted, 0.99),
        stats.acked.len(),
        stats.statuses
    );
    assert_eq!(errors, 0, "no 5xx and no dropped connections");

    // Every acknowledged message is in its transcript exactly once, indexes gapless.
    for (chat, texts) in &stats.acked {
        let state = t.app.db.load_state(chat, true).await.unwrap().expect("the chat exists");
        let (messages, more) = t.app.db.messages(chat, 1, state.last_index, 10_000, false).await.unwrap();
        assert!(!more);
        let indexes: Vec<u64> = messages.iter().map(|m| m.index).collect();
        assert_eq!(indexes, (1..=state.last_index).collect::<Vec<_>>(), "{chat}: gapless, unique, in order");
        for text in texts {
            assert_eq!(messages.iter().filter(|m| &m.text == text).count(), 1, "{chat}: {text} exactly once");
        }
        // Consistent: the requester is there, the chat ended as its customer left.
        assert!(
            state.participant(state.chat.requester_type, &state.chat.requester_id).is_some(),
            "{chat}: requester present"
        );
        assert_eq!(state.chat.status, shared::domain::model::ChatStatus::Closed, "{chat}: ended");
    }
    // No participant without its chat: every agent's participations point at existing chats.
    let mut seen = BTreeSet::new();
    for n in 0..agents {
        let query = shared::store::IndexQuery {
            index: "GSI1",
            pk: shared::keys::chatter_pk(shared::domain::model::ChatterType::User, &format!("agent-{n}")),
            sk: shared::store::SortKey::Any,
        };
        let parts: Vec<shared::domain::model::Participant> = t.app.db.query_all(&query).await.unwrap();
        for p in parts {
            assert!(
                t.app.db.load_state(&p.chat_id, false).await.unwrap().is_some(),
                "participant without chat: {}",
                p.chat_id
            );
            seen.insert(p.chat_id);
        }
    }
    assert!(!seen.is_empty(), "agents accepted chats");
}
