//! `make run`: serves every function on http://127.0.0.1:3000 (PORT overrides) against
//! DynamoDB Local, creating the table from template.yaml if it is missing.

use std::sync::Arc;

/// Development defaults; never used in AWS, where template.yaml sets these.
const DEFAULTS: &[(&str, &str)] = &[
    ("TABLE_NAME", "livechat"),
    ("DYNAMODB_ENDPOINT", "http://127.0.0.1:8000"),
    ("AGENT_TOKEN_SECRET", "local-development-agent-secret-0123456789"),
    ("CHAT_TOKEN_SECRET", "local-development-chat-secret-0123456789"),
    ("CUSTOMER_IDENTITY_SECRET", "local-development-identity-secret-0123456789"),
    ("AWS_REGION", "us-east-1"),
    ("AWS_ACCESS_KEY_ID", "local"),
    ("AWS_SECRET_ACCESS_KEY", "local"),
    // Webhook receivers on this machine (the tests', a developer's): never set in AWS.
    ("WEBHOOK_ALLOW_LOOPBACK", "1"),
];

type Error = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), Error> {
    for (name, value) in DEFAULTS {
        if std::env::var_os(name).is_none() {
            // SAFETY: no other thread exists yet; the runtime starts below.
            unsafe { std::env::set_var(name, value) };
        }
    }
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(run())
}

async fn run() -> Result<(), Error> {
    shared::telemetry::init();
    let mut app = shared::App::from_env().await?;
    let template = local_server::repo_root().join("template.yaml");
    local_server::schema::create_table(app.db.sdk(), app.db.table(), &template).await?;
    // Events: the SNS emulator's topic, fed from the table's stream by the publisher handler.
    let follow_stream = std::env::var("SNS_ENDPOINT").is_ok();
    if follow_stream {
        let topic = local_server::stream::ensure_topic(&app.sns, "livechat-events").await?;
        let queues = local_server::queue::ensure_queues(&app.messaging(), &topic, "livechat-webhooks").await?;
        tracing::info!(topic, queue = queues.url, "events topic and webhook queue");
        app.config.events.topic_arn = Some(topic);
        app.config.events.webhooks.queue_url = Some(queues.url);
        app.config.events.webhooks.dead_letter_url = Some(queues.dead_letter_url);
        // template.yaml's EventsFailureQueue: events SNS refuses for good, with their content.
        let failures = local_server::queue::create(&app.sqs, "livechat-events-failures").await?;
        app.config.events.failure_queue_url = Some(failures);
        // Files: the same emulator's S3 (presigned URLs included).
        let bucket = app.config.files.bucket.clone().unwrap_or_else(|| "livechat-files".into());
        local_server::ensure_bucket(&app.s3, &bucket).await?;
        app.config.files.bucket = Some(bucket);
    }
    let port: u16 = std::env::var("PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(3000);
    if std::env::var("API_URL").is_err() {
        app.config.events.api_url = Some(format!("http://127.0.0.1:{port}"));
    }
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    // The push posts to this server's own `@connections` API, as it would to API Gateway's.
    let sockets = std::env::var("SOCKET_ENDPOINT").unwrap_or_else(|_| format!("http://127.0.0.1:{port}/_ws"));
    app.sockets = shared::app::socket_client(&sdk, Some(sockets)).into();
    // As message-add in AWS: a new message is posted to the sockets at once (push::fast).
    app.config.events.fast_push = true;
    // Agents' keys from this server's own identity provider, fetched over HTTP as from a
    // provider in AWS (at the first agent token: nothing listens yet).
    if std::env::var("AGENT_JWKS_URL").is_err() {
        let url = format!("http://127.0.0.1:{port}/.well-known/jwks.json");
        app.config.auth.agent_keys = Arc::new(shared::agent_keys::AgentKeys::new(Some(url)));
    }
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    tracing::info!("serving on http://127.0.0.1:{port}, sockets on ws://127.0.0.1:{port}/socket");
    let app = Arc::new(app);
    let endpoint = std::env::var("DYNAMODB_ENDPOINT").unwrap_or_default();
    // socket-push's trigger: from the stream's end, since no socket outlives the server.
    let streams = local_server::stream::streams_client(&sdk, &endpoint);
    let push = local_server::stream::Consumer::Push;
    tokio::spawn(local_server::stream::run(app.clone(), streams, local_server::stream::Checkpoint::latest(), push));
    if follow_stream {
        let streams = local_server::stream::streams_client(&sdk, &endpoint);
        let app = app.clone();
        // STREAM_CHECKPOINT (a file) lets a restarted `make run` resume where it stopped.
        let checkpoint = match std::env::var("STREAM_CHECKPOINT") {
            Ok(path) => local_server::stream::Checkpoint::file(path.into()),
            Err(_) => local_server::stream::Checkpoint::in_memory(),
        };
        let publisher = local_server::stream::Consumer::Publisher;
        tokio::spawn(local_server::stream::run(app.clone(), streams, checkpoint, publisher));
        // The webhook-dispatcher's trigger.
        let queue_url = app.config.events.webhooks.queue_url.clone().unwrap_or_default();
        tokio::spawn(local_server::queue::run(app, queue_url));
    }
    // cleanup-cron's schedule, locally: every CLEANUP_INTERVAL_SECONDS (0 turns it off).
    let interval: u64 = std::env::var("CLEANUP_INTERVAL_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    if interval > 0 {
        let app = app.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(interval));
            tick.tick().await;
            loop {
                tick.tick().await;
                if let Err(e) = shared::cleanup::handle(&app, serde_json::Value::Null).await {
                    tracing::warn!(error = %e, "cleanup run failed");
                }
            }
        });
    }
    tokio::select! {
        served = local_server::serve(app, listener) => served?,
        _ = tokio::signal::ctrl_c() => tracing::info!("stopping"),
    }
    Ok(())
}
