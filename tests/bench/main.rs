//! `make bench`: every operation through its real handler against DynamoDB Local, with
//! round trips and capacity counted at the SDK, latency beside the floor of the same
//! DynamoDB calls made raw, and the scaling pairs. Prints a table and writes
//! bench/results/latest.json. It measures; it asserts nothing.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use integration_tests::{dynamodb_endpoint, repo_root, sns_endpoint, TestApp};
use serde_json::{json, Value};
use shared::http::Request;
use shared::metrics::Usage;
use shared::routes::{Access, ROUTES};

mod cost;
mod writes;

/// BENCH_QUICK=1: a few iterations on small data, to check that the bench runs (make test).
struct Scale {
    iterations: usize,
    requests: usize,
    active: usize,
    /// The "many" side of the scaling pairs.
    many: usize,
}

fn scale() -> Scale {
    if std::env::var("BENCH_QUICK").is_ok_and(|v| v == "1") {
        Scale { iterations: 2, requests: 30, active: 200, many: 500 }
    } else {
        Scale { iterations: 40, requests: 300, active: 2000, many: 10_000 }
    }
}

fn request(method: &str, path_and_query: &str, token: Option<&str>, body: Option<Value>) -> Request {
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    let mut r = Request::new(method, path);
    r.query = local_server::parse_query(query);
    if let Some(t) = token {
        r.headers.insert("authorization".into(), format!("Bearer {t}"));
    }
    if let Some(b) = body {
        r.body = serde_json::to_vec(&b).unwrap();
    }
    r
}

struct Bench {
    t: TestApp,
    ann: String,
    bob: String,
    /// A busy accepted chat: (id, customer token).
    chat: String,
    customer: String,
    /// A chat that collects the participants and invitations the bench adds.
    crowd: String,
    n: usize,
}

impl Bench {
    async fn accepted_chat(&self, messages: usize) -> (String, String) {
        let (chat, customer) = self.t.start_chat("sales").await;
        assert_eq!(
            self.t.call("PATCH", &format!("/chats/{chat}"), Some(&self.ann), Some(json!({"status": "active"}))).await.0,
            200
        );
        for i in 0..messages {
            self.t
                .call(
                    "POST",
                    &format!("/chats/{chat}/messages"),
                    Some(&customer),
                    Some(json!({"text": format!("message {i} with some ordinary length of text")})),
                )
                .await;
        }
        (chat, customer)
    }

    /// The request to measure for `function`, after whatever setup it needs (not measured).
    async fn prepare(&mut self, function: &str) -> Request {
        self.n += 1;
        let n = self.n;
        let (c, ann, bob, customer) = (self.chat.clone(), self.ann.clone(), self.bob.clone(), self.customer.clone());
        let crowd = self.crowd.clone();
        let t = &self.t;
        match function {
            "chat-add" => request(
                "POST",
                "/chats",
                None,
                Some(json!({"channelId": "sales", "nickname": "Vic", "subject": "Order", "userData": {"plan": "pro"}})),
            ),
            "chat-list" => request("GET", "/chats?status=request&limit=20", Some(&ann), None),
            "chat-update" => {
                let (chat, _) = t.start_chat("sales").await;
                request("PATCH", &format!("/chats/{chat}"), Some(&ann), Some(json!({"status": "active"})))
            }
            "chat-delete" => {
                let (chat, _) = self.accepted_chat(10).await;
                request("DELETE", &format!("/chats/{chat}"), Some(&ann), None)
            }
            "participant-add" => request(
                "POST",
                &format!("/chats/{crowd}/participants"),
                Some(&ann),
                Some(json!({"chatterId": format!("p{n}"), "chatterType": "User", "permissionLevel": "Observer"})),
            ),
            "participant-get" => request("GET", &format!("/chats/{c}/participants/User/ann"), Some(&ann), None),
            "participant-update" => request(
                "PATCH",
                &format!("/chats/{c}/participants/User/ann"),
                Some(&ann),
                Some(json!({"monitoring": 1 + n % 2})),
            ),
            "participant-remove" => {
                let add = json!({"chatterId": format!("r{n}"), "chatterType": "User", "permissionLevel": "Observer"});
                t.call("POST", &format!("/chats/{crowd}/participants"), Some(&ann), Some(add)).await;
                request("DELETE", &format!("/chats/{crowd}/participants/User/r{n}"), Some(&ann), None)
            }
            "invitation-add" => request(
                "POST",
                &format!("/chats/{crowd}/invitations"),
                Some(&ann),
                Some(json!({"inviteUserId": format!("i{n}")})),
            ),
            "invitation-list" => request("GET", "/users/bob/invitations", Some(&bob), None),
            "invitation-remove" => {
                t.call(
                    "POST",
                    &format!("/chats/{crowd}/invitations"),
                    Some(&ann),
                    Some(json!({"inviteUserId": "bob"})),
                )
                .await;
                request("DELETE", &format!("/users/bob/invitations/{crowd}"), Some(&bob), None)
            }
            "chat-decline" => {
                let (_, a2a) = t.call("POST", "/chats", Some(&ann), Some(json!({"channelId": "internal"}))).await;
                let a2a = a2a["chat"]["chatId"].as_str().unwrap().to_string();
                t.call("POST", &format!("/chats/{a2a}/invitations"), Some(&ann), Some(json!({"inviteUserId": "bob"})))
                    .await;
                request("POST", &format!("/chats/{a2a}/decline"), Some(&bob), None)
            }
            "availability-set" => request(
                "PUT",
                "/agents/ann/availability",
                Some(&ann),
                Some(json!({"availability": "online", "channels": ["sales", "support"]})),
            ),
            "availability-get" => request("GET", "/agents/ann/availability", Some(&bob), None),
            "agents-available" => request("GET", "/agents/available?key=ExternalChannels", Some(&bob), None),
            "users-online" => request("GET", "/users/online?userType=User", Some(&bob), None),
            // A known customer's closed chat of two messages, exported or erased.
            "customer-export" | "customer-erase" => {
                let customer = format!("bench-{n}");
                t.closed_customer_chat(&customer, &format!("{customer}@example.com"), "my order").await;
                let admin = t.admin_token("admin");
                if function == "customer-export" {
                    request("GET", &format!("/customers/{customer}/export"), Some(&admin), None)
                } else {
                    request("DELETE", &format!("/customers/{customer}"), Some(&admin), None)
                }
            }
            "customer-availability" => request("GET", "/customers/jdoe/availability", Some(&bob), None),
            "channel-availability" => request("GET", "/channels/sales/availability", None, None),
            "offline-message-add" => request(
                "POST",
                "/channels/sales/offline-messages",
                None,
                Some(json!({"name": "Jo", "email": "jo@example.com", "text": format!("Call me back ({n})")})),
            ),
            "offline-message-list" => request("GET", "/offline-messages?channelId=sales&limit=20", Some(&bob), None),
            "message-add" => request(
                "POST",
                &format!("/chats/{c}/messages"),
                Some(&customer),
                Some(json!({"text": "Is my order on its way?", "clientMessageId": format!("b{n}")})),
            ),
            "message-list" => {
                let (_, s) = t.call("GET", "/session", Some(&customer), None).await;
                request("GET", &format!("/chats/{c}/messages?after={}", s["lastIndex"]), Some(&customer), None)
            }
            "message-get" => request("GET", &format!("/chats/{c}/messages/{c}-2"), Some(&customer), None),
            // The customer's new message, edited or withdrawn: the load and the update.
            "message-update" | "message-delete" => {
                let (_, sent) = t
                    .call("POST", &format!("/chats/{c}/messages"), Some(&customer), Some(json!({"text": "typo"})))
                    .await;
                let id = sent["message"]["messageId"].as_str().unwrap_or_default().to_string();
                let path = format!("/chats/{c}/messages/{id}");
                if function == "message-update" {
                    request("PATCH", &path, Some(&customer), Some(json!({"text": "fixed"})))
                } else {
                    request("DELETE", &path, Some(&customer), None)
                }
            }
            "notice-add" => request(
                "POST",
                &format!("/chats/{c}/notices"),
                Some(&customer),
                Some(json!({"message": "page: /checkout"})),
            ),
            "typing-set" => {
                request("POST", &format!("/chats/{c}/typing"), Some(&customer), Some(json!({"typing": true})))
            }
            // Ann's new message, read by the customer: a mark that moves, so one write each.
            "read-mark" => {
                t.call("POST", &format!("/chats/{c}/messages"), Some(&ann), Some(json!({"text": "read this"}))).await;
                let (_, s) = t.call("GET", "/session", Some(&customer), None).await;
                request("POST", &format!("/chats/{c}/read"), Some(&customer), Some(json!({"index": s["lastIndex"]})))
            }
            "transcript-get" => request("GET", &format!("/chats/{c}/transcript?pageSize=50"), Some(&customer), None),
            "chat-leave" => {
                let (chat, customer) = self.accepted_chat(3).await;
                request("POST", &format!("/chats/{chat}/leave"), Some(&customer), None)
            }
            "user-data-update" => {
                request("PATCH", &format!("/chats/{c}/user-data"), Some(&customer), Some(json!({"step": n})))
            }
            "agents-get" => request("GET", &format!("/chats/{c}/agents"), Some(&customer), None),
            "stats-get" => request("GET", &format!("/chats/{c}/stats"), Some(&customer), None),
            "session-get" => request("GET", "/session", Some(&customer), None),
            "chat-files" => request(
                "POST",
                &format!("/chats/{c}/files"),
                Some(&customer),
                Some(json!({"name": "receipt.pdf", "size": 48213, "type": "application/pdf"})),
            ),
            "flag-set" => request("PUT", &format!("/chats/{c}/flags/Seen"), Some(&ann), Some(json!({"value": "1"}))),
            "flag-get" => {
                request("GET", "/flags?userId=ann&key=NotificationChatUpdateSeen&valueNot=1", Some(&ann), None)
            }
            "flag-delete" => {
                t.call("PUT", &format!("/chats/{c}/flags/Seen"), Some(&ann), Some(json!({"value": "1"}))).await;
                request("DELETE", &format!("/chats/{c}/flags/Seen"), Some(&ann), None)
            }
            "webhook-add" => request(
                "POST",
                "/webhooks",
                Some(&ann),
                Some(
                    json!({"url": format!("https://hooks.example.com/{n}"), "format": "native", "events": ["ChatAdd"]}),
                ),
            ),
            "webhook-delete" => {
                let (_, hook) = t.call("POST", "/webhooks", Some(&ann), Some(json!({"url": format!("https://hooks.example.com/d{n}"), "format": "native", "events": ["ChatAdd"]}))).await;
                request(
                    "DELETE",
                    &format!("/webhooks/{}", hook["webhookId"].as_str().unwrap_or_default()),
                    Some(&ann),
                    None,
                )
            }
            "webhook-deliveries" | "webhook-replay" | "webhook-secret" => {
                let direct = json!({"url": format!("https://hooks.example.com/w{n}"), "format": "rpc",
                    "events": ["CHAT_STARTED"], "mode": "direct"});
                let (_, hook) = t.call("POST", "/webhooks", Some(&ann), Some(direct)).await;
                let id = hook["webhookId"].as_str().unwrap_or_default();
                match function {
                    "webhook-deliveries" => request("GET", &format!("/webhooks/{id}/deliveries"), Some(&ann), None),
                    "webhook-replay" => request(
                        "POST",
                        &format!("/webhooks/{id}/replay"),
                        Some(&ann),
                        Some(json!({"from": t.app.clock.ago(1800), "to": t.app.clock.stamp()})),
                    ),
                    _ => request("POST", &format!("/webhooks/{id}/secret"), Some(&ann), None),
                }
            }
            // Otherwise the table's sample request, on the busy chat, as Ann (or its customer).
            other => {
                let route = ROUTES.iter().find(|r| r.function == other && r.doc.sample.is_some());
                let Some((route, (path, body))) = route.and_then(|r| Some((r, r.doc.sample?))) else {
                    panic!("no bench case and no sample for {other}")
                };
                let token = match route.access {
                    Access::Open => None,
                    Access::ChatToken => Some(customer.as_str()),
                    _ => Some(ann.as_str()),
                };
                let body = body.map(|b| serde_json::from_str(b).unwrap());
                request(route.method, &path.replace("SAMPLE_CHAT_ID", &c), token, body)
            }
        }
    }
}

struct Sample {
    latency: Duration,
    usage: Usage,
    /// Write units by AWS's rules, from the stream (writes.rs).
    written: writes::Written,
    status: u16,
}

impl Sample {
    async fn new(latency: Duration, usage: Usage, stream: &mut writes::StreamMeter, status: u16) -> Self {
        let transactional = usage.operations.contains(&"TransactWriteItems");
        let written = writes::units(&stream.records().await, transactional);
        Sample { latency, usage, written, status }
    }
}

fn percentile(mut v: Vec<Duration>, p: f64) -> f64 {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// p50 of raw DynamoDB calls of each kind, against the same DynamoDB Local.
async fn floors(t: &TestApp) -> BTreeMap<&'static str, f64> {
    use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
    let db = &t.app.db;
    let s = |v: &str| AttributeValue::S(v.to_string());
    let pad = "x".repeat(600);
    let item = |pk: &str, sk: &str| {
        std::collections::HashMap::from([
            ("PK".to_string(), s(pk)),
            ("SK".to_string(), s(sk)),
            ("pad".to_string(), s(&pad)),
        ])
    };
    db.sdk().put_item().table_name(db.table()).set_item(Some(item("FLOOR", "A"))).send().await.unwrap();
    let mut out = BTreeMap::new();
    let mut time = Vec::new();
    for _ in 0..200 {
        let t0 = Instant::now();
        db.sdk().get_item().table_name(db.table()).key("PK", s("FLOOR")).key("SK", s("A")).send().await.unwrap();
        time.push(t0.elapsed());
    }
    out.insert("GetItem", percentile(std::mem::take(&mut time), 0.5));
    for _ in 0..200 {
        let t0 = Instant::now();
        db.sdk()
            .query()
            .table_name(db.table())
            .key_condition_expression("PK = :p")
            .expression_attribute_values(":p", s("FLOOR"))
            .send()
            .await
            .unwrap();
        time.push(t0.elapsed());
    }
    out.insert("Query", percentile(std::mem::take(&mut time), 0.5));
    for i in 0..200 {
        let t0 = Instant::now();
        db.sdk()
            .put_item()
            .table_name(db.table())
            .set_item(Some(item("FLOOR", &format!("P{i}"))))
            .send()
            .await
            .unwrap();
        time.push(t0.elapsed());
    }
    out.insert("PutItem", percentile(std::mem::take(&mut time), 0.5));
    for i in 0..200 {
        let puts = ["T1", "T2"].map(|p| {
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(db.table())
                        .set_item(Some(item("FLOOR", &format!("{p}{i}"))))
                        .build()
                        .unwrap(),
                )
                .build()
        });
        let t0 = Instant::now();
        db.sdk().transact_write_items().set_transact_items(Some(puts.to_vec())).send().await.unwrap();
        time.push(t0.elapsed());
    }
    out.insert("TransactWriteItems", percentile(time, 0.5));
    out
}

/// The floor of a request: the raw cost of the same calls, one after another.
fn floor_of(usage: &Usage, floors: &BTreeMap<&'static str, f64>) -> f64 {
    usage
        .operations
        .iter()
        .map(|op| match *op {
            "GetItem" | "BatchGetItem" => floors["GetItem"],
            "Query" => floors["Query"],
            "TransactWriteItems" => floors["TransactWriteItems"],
            _ => floors["PutItem"],
        })
        .sum()
}

async fn poll_units(messages: u64) -> f64 {
    let t = TestApp::new().await;
    let ann = t.agent_token("ann");
    let (chat, customer) = t.start_chat("sales").await;
    t.call("PATCH", &format!("/chats/{chat}"), Some(&ann), Some(json!({"status": "active"}))).await;
    seed_messages(&t, &chat, 2..=messages + 1).await;
    t.meter.take();
    t.call("GET", &format!("/chats/{chat}/messages?after={}", messages + 1), Some(&customer), None).await;
    t.meter.take().aws_units().0
}

async fn seed_messages(t: &TestApp, chat: &str, indexes: std::ops::RangeInclusive<u64>) {
    use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
    let all: Vec<u64> = indexes.collect();
    for chunk in all.chunks(25) {
        let mut pending: Vec<WriteRequest> = chunk
            .iter()
            .map(|i| {
                let m = json!({"messageId": format!("{chat}-{i}"), "chatId": chat, "index": i, "type": "Text", "text": format!("message {i}"),
                    "chatterId": "ann", "chatterType": "User", "chatterName": "Ann", "createTime": t.app.clock.stamp()});
                let m: shared::domain::model::Message = serde_json::from_value(m).unwrap();
                let item = shared::store::message_item(&m).unwrap();
                WriteRequest::builder().put_request(PutRequest::builder().set_item(Some(item)).build().unwrap()).build()
            })
            .collect();
        while !pending.is_empty() {
            let out = t.app.db.sdk().batch_write_item().request_items(t.app.db.table(), pending).send().await.unwrap();
            pending = out.unprocessed_items.and_then(|mut u| u.remove(t.app.db.table())).unwrap_or_default();
        }
    }
}

/// The queue's read units before and after `others` active chats are added: the same 100
/// requests both times, so the shards hold the same ones.
async fn queue_units(others: usize) -> (f64, f64) {
    let t = TestApp::new().await;
    t.seed_chats(100, shared::domain::model::ChatStatus::Request).await;
    let ann = t.agent_token("ann");
    let read = || async {
        t.meter.take();
        let (status, body) = t.call("GET", "/chats?status=request&limit=100", Some(&ann), None).await;
        assert_eq!((status, body["chats"].as_array().map(Vec::len)), (200, Some(100)));
        t.meter.take().aws_units().0
    };
    let alone = read().await;
    t.seed_chats(others, shared::domain::model::ChatStatus::Active).await;
    (alone, read().await)
}

async fn cleanup_units(others: usize) -> f64 {
    let t = TestApp::new().await;
    t.seed_chats(others, shared::domain::model::ChatStatus::Active).await;
    t.meter.take();
    shared::cleanup::run(&t.app, Instant::now() + Duration::from_secs(60)).await.unwrap();
    t.meter.take().aws_units().0
}

#[tokio::main]
async fn main() {
    let _ = dynamodb_endpoint();
    let mut t = TestApp::new().await;
    let sdk = integration_tests::sdk_config().await;
    t.app.sns = shared::app::sns_client(&sdk, Some(sns_endpoint())).into();
    t.app.config.events.topic_arn = Some(local_server::stream::ensure_topic(&t.app.sns, "bench-events").await.unwrap());
    // chat-files' sample announces an upload: signing it calls nothing, so the bucket need
    // not exist; the bench announces more than a chat's limit.
    t.app.config.files.bucket = Some("bench-files".into());
    t.app.config.files.limits.max_per_chat = u32::MAX;
    // Realistic data: a queue of requests, active chats with transcripts, an agent online.
    let scale = scale();
    t.seed_chats(scale.requests, shared::domain::model::ChatStatus::Request).await;
    t.seed_chats(scale.active, shared::domain::model::ChatStatus::Active).await;
    // Ann is an admin too, for the webhook routes.
    let (ann, bob) = (t.admin_token("ann"), t.agent_token("bob"));
    let mut b = Bench { t, ann, bob, chat: String::new(), customer: String::new(), crowd: String::new(), n: 0 };
    let (chat, customer) = b.accepted_chat(30).await;
    b.chat = chat;
    b.customer = customer;
    b.crowd = b.accepted_chat(0).await.0;
    b.t.call(
        "PUT",
        "/agents/ann/availability",
        Some(&b.ann),
        Some(json!({"availability": "online", "channels": ["sales"]})),
    )
    .await;

    let sdk = integration_tests::sdk_config().await;
    let arn = b.t.app.db.stream_arn().await.unwrap().unwrap();
    let mut stream =
        writes::StreamMeter::new(local_server::stream::streams_client(&sdk, &dynamodb_endpoint()), &arn).await;
    let floors = floors(&b.t).await;
    println!("floors (p50 ms, raw calls to DynamoDB Local): {floors:?}\n");
    println!(
        "{:<22} {:>6} {:>6} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7}",
        "operation", "status", "trips", "RRU", "WRU", "of idx", "p50 ms", "p99 ms", "/floor"
    );
    println!("(WRU by AWS's rules from what each request wrote, its index entries counted once: \"of idx\")");

    let mut results = Vec::new();
    let mut done = std::collections::BTreeSet::new();
    let functions: Vec<&str> = ROUTES.iter().map(|r| r.function).filter(|f| done.insert(*f)).collect();
    for function in functions {
        let mut samples = Vec::new();
        for _ in 0..scale.iterations {
            let req = b.prepare(function).await;
            stream.records().await;
            b.t.meter.take();
            let t0 = Instant::now();
            let response = local_server::call(&b.t.app, req, "bench", t0).await;
            let latency = t0.elapsed();
            samples.push(Sample::new(latency, b.t.meter.take(), &mut stream, response.status).await);
        }
        results.push(report(function, samples, &floors));
    }
    for (name, run) in [("cleanup-cron", 0), ("event-publisher", 1)] {
        let mut samples = Vec::new();
        let event: Value =
            serde_json::from_str(&std::fs::read_to_string(repo_root().join(format!("events/{name}.json"))).unwrap())
                .unwrap();
        for _ in 0..scale.iterations {
            stream.records().await;
            b.t.meter.take();
            let t0 = Instant::now();
            let ok = if run == 0 {
                shared::cleanup::handle(&b.t.app, event.clone()).await.is_ok()
            } else {
                shared::publisher::handle(&b.t.app, event.clone()).await.is_ok()
            };
            let latency = t0.elapsed();
            samples.push(Sample::new(latency, b.t.meter.take(), &mut stream, if ok { 200 } else { 500 }).await);
        }
        results.push(report(name, samples, &floors));
    }

    let cost = cost::price_it(&results, u64::from(shared::config::DEFAULT_HEARTBEAT_SECS));

    println!("\nscaling (read units by AWS's rules):");
    let many = scale.many;
    let poll = (poll_units(10).await, poll_units(many as u64 / 2).await);
    println!("  poll (after=) with 10 / {} earlier messages: {} / {}", many / 2, poll.0, poll.1);
    let queue = queue_units(many).await;
    println!(
        "  GET /chats?status=request (100 requests on {} shards, read at once) with 0 / {many} other chats: {} / {}",
        shared::keys::STATUS_SHARDS,
        queue.0,
        queue.1
    );
    let clean = (cleanup_units(0).await, cleanup_units(many).await);
    println!("  cleanup run with 0 / {many} unrelated chats: {} / {}", clean.0, clean.1);

    let samples = if scale.iterations < 10 { 5 } else { 50 };
    let cadence = local_server::stream::poll_interval().as_millis();
    let ((push, answer_fast), (stream_only, answer_plain)) =
        (push_latency(samples, true).await, push_latency(samples, false).await);
    let polled = poll_latency(samples, Duration::from_secs(2)).await;
    println!(
        "\ndelivery, ms (a message posted to its arrival at the other party; {samples} messages; the stream read every {cadence} ms):"
    );
    println!(
        "  push (socket)         p50 {:>8.2}  p99 {:>8.2}  (the writer's fast path; its answer p50 {:.2} against {:.2} without)",
        percentile(push.clone(), 0.5),
        percentile(push.clone(), 0.99),
        percentile(answer_fast.clone(), 0.5),
        percentile(answer_plain.clone(), 0.5)
    );
    println!(
        "  push, stream only     p50 {:>8.2}  p99 {:>8.2}",
        percentile(stream_only.clone(), 0.5),
        percentile(stream_only.clone(), 0.99)
    );
    println!(
        "  polling every 2 s     p50 {:>8.2}  p99 {:>8.2}",
        percentile(polled.clone(), 0.5),
        percentile(polled.clone(), 0.99)
    );

    let out = json!({
        "iterations": scale.iterations,
        "deliveryMs": {
            "streamPollMs": cadence,
            "push": { "p50": percentile(push.clone(), 0.5), "p99": percentile(push, 0.99) },
            "pushStreamOnly": { "p50": percentile(stream_only.clone(), 0.5), "p99": percentile(stream_only, 0.99) },
            "messageAddAnswerP50": { "fastPath": percentile(answer_fast, 0.5), "without": percentile(answer_plain, 0.5) },
            "poll2s": { "p50": percentile(polled.clone(), 0.5), "p99": percentile(polled, 0.99) },
        },
        "floorsP50Ms": floors,
        "operations": results,
        "scaling": {
            "pollReadUnits": { "earlier10": poll.0, format!("earlier{}", many / 2): poll.1 },
            "requestQueueReadUnits": { "others0": queue.0, format!("others{many}"): queue.1 },
            "cleanupReadUnits": { "unrelated0": clean.0, format!("unrelated{many}"): clean.1 },
        },
    });
    let dir = repo_root().join("bench/results");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("latest.json"), serde_json::to_string_pretty(&out).unwrap()).unwrap();
    std::fs::write(dir.join("cost.json"), serde_json::to_string_pretty(&cost).unwrap()).unwrap();
    println!("\nwritten to bench/results/latest.json and cost.json");
}

/// From the agent's post being acknowledged to its arrival on the customer's socket, on the
/// local stack: the writer's fast path (`fast`), or the stream reader and socket-push only.
async fn push_latency(n: usize, fast: bool) -> (Vec<Duration>, Vec<Duration>) {
    let (mut t, port) = TestApp::with_push().await;
    if let Some(t) = std::sync::Arc::get_mut(&mut t) {
        t.app.config.events.fast_push = fast;
    }
    let (chat, customer) = t.start_chat("sales").await;
    let agent = t.agent_token("ann");
    t.call("PATCH", &format!("/chats/{chat}"), Some(&agent), Some(json!({"status": "active"}))).await;
    let mut socket = integration_tests::Socket::subscribed(port, &customer).await;
    let (mut arrived, mut answered) = (Vec::new(), Vec::new());
    for i in 0..n {
        let text = format!("pushed {i}");
        // From the request: with the fast path the message is on the socket before the
        // writer answers, so the time from its answer would say nothing.
        let sent = Instant::now();
        let (status, _) =
            t.call("POST", &format!("/chats/{chat}/messages"), Some(&agent), Some(json!({ "text": text }))).await;
        assert_eq!(status, 201);
        answered.push(sent.elapsed());
        socket.pushes_until(|p| integration_tests::pushed_texts(p).contains(&text)).await;
        arrived.push(sent.elapsed());
    }
    (arrived, answered)
}

/// The same through a widget polling `after=` every `every`: messages are posted at random
/// moments of the polling cycle, and arrive with the next poll that returns them.
async fn poll_latency(n: usize, every: Duration) -> Vec<Duration> {
    let t = std::sync::Arc::new(TestApp::new().await);
    let (chat, customer) = t.start_chat("sales").await;
    let agent = t.agent_token("ann");
    t.call("PATCH", &format!("/chats/{chat}"), Some(&agent), Some(json!({"status": "active"}))).await;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(std::collections::HashMap::<String, Instant>::new()));
    let poller = {
        let (t, seen, chat) = (t.clone(), seen.clone(), chat.clone());
        tokio::spawn(async move {
            let mut after = 0;
            loop {
                let (_, page) =
                    t.call("GET", &format!("/chats/{chat}/messages?after={after}"), Some(&customer), None).await;
                let now = Instant::now();
                for m in page["messages"].as_array().into_iter().flatten() {
                    after = after.max(m["index"].as_u64().unwrap_or(0));
                    seen.lock().unwrap().insert(m["text"].as_str().unwrap_or_default().to_string(), now);
                }
                tokio::time::sleep(every).await;
            }
        })
    };
    let mut out = Vec::new();
    for i in 0..n {
        tokio::time::sleep(every.mul_f64(fastrand::f64())).await;
        let text = format!("polled {i}");
        t.call("POST", &format!("/chats/{chat}/messages"), Some(&agent), Some(json!({ "text": text }))).await;
        let acked = Instant::now();
        loop {
            if let Some(at) = seen.lock().unwrap().get(&text) {
                out.push(at.saturating_duration_since(acked));
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    poller.abort();
    out
}

fn report(name: &str, samples: Vec<Sample>, floors: &BTreeMap<&'static str, f64>) -> Value {
    let n = samples.len() as f64;
    let trips = samples.iter().map(|s| s.usage.round_trips as f64).sum::<f64>() / n;
    let (rru, reported_wru) = samples.iter().fold((0.0, 0.0), |(r, w), s| {
        let (sr, sw) = s.usage.aws_units();
        (r + sr, w + sw)
    });
    let (rru, reported_wru) = (rru / n, reported_wru / n);
    let index = samples.iter().map(|s| s.written.index).sum::<f64>() / n;
    let wru = samples.iter().map(|s| s.written.table).sum::<f64>() / n + index;
    let reported = samples.iter().map(|s| s.usage.read_units + s.usage.write_units).sum::<f64>() / n;
    let floor = samples.iter().map(|s| floor_of(&s.usage, floors)).sum::<f64>() / n;
    let latencies: Vec<Duration> = samples.iter().map(|s| s.latency).collect();
    let (p50, p99) = (percentile(latencies.clone(), 0.5), percentile(latencies, 0.99));
    let ratio = if floor > 0.0 { p50 / floor } else { 0.0 };
    let status = samples.iter().map(|s| s.status).max().unwrap_or(0);
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for op in samples.last().map(|s| s.usage.operations.clone()).unwrap_or_default() {
        *counts.entry(op).or_default() += 1;
    }
    let ops = counts
        .iter()
        .map(|(op, n)| if *n > 1 { format!("{op}x{n}") } else { op.to_string() })
        .collect::<Vec<_>>()
        .join(" + ");
    println!(
        "{name:<22} {status:>6} {trips:>6.2} {rru:>8.2} {wru:>8.2} {index:>8.2} {p50:>8.2} {p99:>8.2} {ratio:>7.2}  {ops}"
    );
    json!({
        "operation": name, "status": status, "roundTrips": trips, "readUnits": rru, "writeUnits": wru, "indexWriteUnits": index, "writeUnitsFromLocalReportDoubled": reported_wru,
        "reportedUnitsByDynamoDBLocal": reported, "p50Ms": p50, "p99Ms": p99, "floorMs": floor, "ratioToFloor": ratio, "calls": ops,
    })
}
