//! `make bench-cold`: starts each function's release binary under a minimal Lambda Runtime
//! API emulator on loopback, 20 cold starts each, and prints init time (process start to
//! the first `next`), the first invocation's latency and the second's (its connection to
//! DynamoDB open), peak RSS at the end of the first, and binary size, beside the same
//! figures for a hello-world lambda_runtime binary: the floor (and, as a row of its own,
//! `sdk-floor`: the floor plus one DynamoDB read through the SDK). With `COLD_TLS=1` the
//! functions reach DynamoDB Local through a TLS endpoint (tests/support/tls.rs), so the
//! first invocation includes the handshake. It measures; it asserts nothing.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use integration_tests::{dynamodb_endpoint, repo_root, TestApp};
use serde_json::{json, Value};

/// Settings (make bench-cold sets them): COLD_STARTS starts per binary (20), COLD_PROFILE
/// the cargo profile the binaries were built with (release), COLD_FUNCTIONS which ones.
fn setting(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Invocations per start: the first (cold) and one warm.
const INVOCATIONS: usize = 2;

#[derive(Default)]
struct Run {
    event: Value,
    first_next: Option<Instant>,
    /// When each invocation was handed out and answered.
    sent: Vec<Instant>,
    done: Vec<Instant>,
    errored: bool,
}

/// The Runtime API: the first [`INVOCATIONS`] `next`s get the event, later ones wait
/// forever (the process is killed once it has answered).
async fn runtime_api(
    run: Arc<Mutex<Run>>,
    req: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    let now = Instant::now();
    if path.ends_with("/invocation/next") {
        let more = { run.lock().unwrap().sent.len() < INVOCATIONS };
        if !more {
            std::future::pending::<()>().await;
        }
        let body = {
            let mut r = run.lock().unwrap();
            r.first_next.get_or_insert(now);
            r.sent.push(Instant::now());
            r.event.to_string()
        };
        let deadline = (chrono::Utc::now().timestamp_millis() + 30_000).to_string();
        let response = hyper::Response::builder()
            .header("lambda-runtime-aws-request-id", "bench-request")
            .header("lambda-runtime-deadline-ms", deadline)
            .header("lambda-runtime-invoked-function-arn", "arn:aws:lambda:us-east-1:123456789012:function:bench")
            .header("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000")
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        return Ok(response);
    }
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    // An HTTP function's answer is API Gateway's response: a 5xx (DynamoDB not reached, say)
    // is a failed start too.
    let status = serde_json::from_slice::<Value>(&body).ok().and_then(|v| v["statusCode"].as_u64());
    let mut r = run.lock().unwrap();
    if path.ends_with("/error") || status.is_some_and(|s| s >= 500) {
        r.errored = true;
    }
    r.done.push(now);
    Ok(hyper::Response::builder().status(202).body(Full::new(Bytes::new())).unwrap())
}

struct Start {
    init: Duration,
    first: Duration,
    warm: Duration,
    rss_kb: u64,
    ok: bool,
}

fn peak_rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

async fn cold_start(binary: &PathBuf, event: &Value, env: &[(String, String)]) -> Start {
    let run = Arc::new(Mutex::new(Run { event: event.clone(), ..Default::default() }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server_run = run.clone();
    let server = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let run = server_run.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| runtime_api(run.clone(), req));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    let started = Instant::now();
    let mut child = tokio::process::Command::new(binary)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the binary");
    let pid = child.id().unwrap_or(0);
    let deadline = Instant::now() + Duration::from_secs(20);
    let answered = || run.lock().unwrap().done.len();
    // The peak as the first invocation ends, as before a second was timed.
    let mut rss_kb = None;
    loop {
        let done = answered();
        if done >= 1 && rss_kb.is_none() {
            rss_kb = Some(peak_rss_kb(pid));
        }
        if done >= INVOCATIONS || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    let _ = child.kill().await;
    server.abort();
    let r = run.lock().unwrap();
    let init = r.first_next.map_or(Duration::ZERO, |t| t - started);
    let took = |i: usize| match (r.sent.get(i), r.done.get(i)) {
        (Some(s), Some(d)) => *d - *s,
        _ => Duration::ZERO,
    };
    Start {
        init,
        first: took(0),
        warm: took(1),
        rss_kb: rss_kb.unwrap_or(0),
        ok: r.done.len() == INVOCATIONS && !r.errored,
    }
}

fn p50(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

#[tokio::main]
async fn main() {
    let starts_per_binary: usize = setting("COLD_STARTS").and_then(|v| v.parse().ok()).unwrap_or(20);
    let profile = setting("COLD_PROFILE").unwrap_or_else(|| "release".into());
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| repo_root().join("target"), Into::into);
    let release = target.join(if profile == "dev" { "debug" } else { &profile });
    let t = TestApp::new().await;
    let agent = t.agent_token("agent-1");
    let (chat, _) = t.start_chat("sales").await;
    t.call("PATCH", &format!("/chats/{chat}"), Some(&agent), Some(json!({"status": "active"}))).await;
    let config = &t.app.config;
    let tls = setting("COLD_TLS").is_some_and(|v| v == "1");
    let (endpoint, bundle) = if tls {
        (integration_tests::tls::proxy(&dynamodb_endpoint()).await, integration_tests::tls::ca_bundle())
    } else {
        (dynamodb_endpoint(), PathBuf::new())
    };
    // The agents' keys over HTTP on loopback, as an identity provider serves them.
    let jwks = integration_tests::JwksServer::start(local_server::idp::issuer().unwrap().jwks().clone()).await;
    let env: Vec<(String, String)> = [
        ("TABLE_NAME", config.table_name.clone()),
        ("DYNAMODB_ENDPOINT", endpoint),
        ("AWS_CA_BUNDLE", bundle.to_string_lossy().to_string()),
        ("AGENT_JWKS_URL", jwks.url.clone()),
        ("AGENT_TOKEN_SECRET", config.auth.agent_secrets.join(",")),
        ("CHAT_TOKEN_SECRET", config.auth.chat_secrets.join(",")),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "local".into()),
        ("AWS_SECRET_ACCESS_KEY", "local".into()),
        ("AWS_LAMBDA_FUNCTION_NAME", "bench".into()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_LOG_LEVEL", "warn".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();

    let mut functions: Vec<String> = match setting("COLD_FUNCTIONS") {
        Some(list) => list.split_whitespace().map(str::to_string).collect(),
        None => std::fs::read_dir(repo_root().join("functions"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .collect(),
    };
    functions.sort();
    // Each start of a function follows a start of the floor, and each function is compared
    // with the floor's starts taken beside its own: the machine's drift over a run (a
    // third, on this 2-core machine) then cancels out of the ratios.
    let floor = release.join("hello-lambda");
    if !floor.exists() {
        println!("hello-lambda not built (make bench-cold builds it)");
        return;
    }
    let event_of = |name: &str| -> Value {
        let text =
            std::fs::read_to_string(repo_root().join(format!("events/{name}.json"))).unwrap_or_else(|_| "{}".into());
        serde_json::from_str(&text.replace("SAMPLE_CHAT_ID", &chat).replace("SAMPLE_AGENT_TOKEN", &agent)).unwrap()
    };
    let floor_event = event_of("chat-get");
    // The SDK's own share, measured like a function: hello-lambda plus one GetItem through
    // this project's SDK setup (bench/sdk_floor.rs).
    if release.join("sdk-floor").exists() {
        functions.insert(0, "sdk-floor".to_string());
    }
    println!(
        "{:<22} {:>8} {:>8} {:>7} {:>9} {:>8} {:>7} {:>8} {:>7} {:>8} {:>6}",
        "binary", "init ms", "floor", "x init", "first ms", "warm ms", "RSS MB", "floor", "x RSS", "size MB", "ok"
    );
    let mut results = BTreeMap::new();
    for name in functions {
        let binary = release.join(&name);
        let Ok(meta) = std::fs::metadata(&binary) else {
            println!("{name:<22} not built (make bench-cold builds it)");
            continue;
        };
        let event = event_of(&name);
        let (mut starts, mut floors) = (Vec::new(), Vec::new());
        for _ in 0..starts_per_binary {
            floors.push(cold_start(&floor, &floor_event, &env).await);
            starts.push(cold_start(&binary, &event, &env).await);
        }
        let init_ms = |s: &[Start]| p50(s.iter().map(|s| s.init.as_secs_f64() * 1000.0).collect());
        let rss_mb = |s: &[Start]| p50(s.iter().map(|s| s.rss_kb as f64 / 1024.0).collect());
        let (init, floor_init, rss, floor_rss) = (init_ms(&starts), init_ms(&floors), rss_mb(&starts), rss_mb(&floors));
        let first = p50(starts.iter().map(|s| s.first.as_secs_f64() * 1000.0).collect());
        let warm = p50(starts.iter().map(|s| s.warm.as_secs_f64() * 1000.0).collect());
        let size = meta.len() as f64 / 1_048_576.0;
        let ok = starts.iter().filter(|s| s.ok).count();
        let (x_init, x_rss) = (init / floor_init, rss / floor_rss);
        println!(
            "{name:<22} {init:>8.2} {floor_init:>8.2} {x_init:>7.2} {first:>9.2} {warm:>8.2} {rss:>7.1} {floor_rss:>8.1} {x_rss:>7.2} {size:>8.2} {ok:>3}/{starts_per_binary}"
        );
        results.insert(
            name,
            json!({ "initMsP50": init, "floorInitMsP50": floor_init, "initOverFloor": x_init,
                    "firstInvocationMsP50": first, "warmInvocationMsP50": warm, "peakRssMbP50": rss, "floorPeakRssMbP50": floor_rss,
                    "rssOverFloor": x_rss, "binaryMb": size, "okStarts": ok }),
        );
    }
    let floor_size = std::fs::metadata(&floor).map_or(0.0, |m| m.len() as f64 / 1_048_576.0);
    println!("(floor: hello-lambda, {floor_size:.2} MB, started before each start of each function)");
    if results.contains_key("sdk-floor") {
        println!("(sdk-floor: hello-lambda plus one DynamoDB GetItem through the SDK, as the functions build it)");
    }
    if tls {
        println!("(DynamoDB Local behind a TLS endpoint on loopback: the first invocation opens it)");
    }
    let dir = repo_root().join("bench/results");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("cold.json"),
        serde_json::to_string_pretty(
            &json!({ "starts": starts_per_binary, "profile": profile, "tls": tls, "binaries": results }),
        )
        .unwrap(),
    )
    .unwrap();
    println!("\nwritten to bench/results/cold.json");
}
