//! What is generated from the table of operations (shared/src/routes/table.rs): the OpenAPI
//! document, each HTTP function's package under functions/ and its sample event under
//! events/. `make generate` writes them; this test fails while a committed one differs.

use std::collections::BTreeSet;
use std::path::PathBuf;

use integration_tests::repo_root;
use serde_json::{json, Map, Value};
use shared::routes::{Access, Route, ROUTES};

const CARGO_TOML: &str = r#"[package]
name = "NAME"
edition.workspace = true
version.workspace = true
publish.workspace = true

[[bin]]
name = "NAME"
path = "src/main.rs"
test = false

[dependencies]
shared.workspace = true
tokio.workspace = true
"#;

const MAIN_RS: &str = r#"#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::telemetry::init();
    let app = shared::App::from_env().await?;
    shared::lambda::serve_http(app, const { shared::routes::of("NAME") }).await
}
"#;

/// The routes of each HTTP function, in the table's order.
fn functions() -> Vec<(&'static str, Vec<&'static Route>)> {
    let mut seen = BTreeSet::new();
    ROUTES
        .iter()
        .filter(|r| seen.insert(r.function))
        .map(|first| (first.function, ROUTES.iter().filter(|r| r.function == first.function).collect()))
        .collect()
}

fn main_rs(function: &str, routes: &[&Route]) -> String {
    let mut out = String::new();
    for r in routes {
        out.push_str(&format!("//! `{} {}`: {}\n", r.method, r.path, r.doc.summary));
    }
    out.push_str("//!\n//! Generated from shared/src/routes/table.rs by `make generate`.\n");
    out + &MAIN_RS.replace("NAME", function)
}

/// An API Gateway HTTP API (payload 2.0) event of the function's sample request. The
/// sample test swaps SAMPLE_* for live ids and tokens.
fn sample_event(route: &Route) -> Result<String, String> {
    let (target, body) = route.doc.sample.ok_or(format!("{}: the table gives no sample", route.function))?;
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let want: Vec<&str> = route.path.trim_matches('/').split('/').collect();
    let got: Vec<&str> = path.trim_matches('/').split('/').collect();
    if want.len() != got.len() {
        return Err(format!("{}: the sample path {path} is not {}", route.function, route.path));
    }
    let mut params = Map::new();
    for (w, g) in want.iter().zip(&got) {
        match w.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
            Some(name) => {
                params.insert(name.to_string(), json!(g));
            }
            None if w == g => {}
            None => return Err(format!("{}: the sample path {path} is not {}", route.function, route.path)),
        }
    }
    let route_key = format!("{} {}", route.method, route.path);
    let mut headers = Map::new();
    if body.is_some() {
        headers.insert("content-type".into(), json!("application/json"));
    }
    headers.insert("user-agent".into(), json!("curl/8.0"));
    match route.access {
        Access::Open => {}
        Access::ChatToken => {
            headers.insert("authorization".into(), json!("Bearer SAMPLE_CHAT_TOKEN"));
        }
        _ => {
            headers.insert("authorization".into(), json!("Bearer SAMPLE_AGENT_TOKEN"));
        }
    }
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "sampleapi",
            "domainName": "sampleapi.execute-api.eu-west-1.amazonaws.com",
            "domainPrefix": "sampleapi",
            "http": {
                "method": route.method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "198.51.100.7",
                "userAgent": "curl/8.0",
            },
            "requestId": "sample-request-id",
            "routeKey": route_key,
            "stage": "$default",
            "time": "21/Nov/2026:23:00:00 +0000",
            "timeEpoch": 1795302000000_u64,
        },
        "isBase64Encoded": false,
    });
    let Some(fields) = event.as_object_mut() else { unreachable!() };
    if !query.is_empty() {
        let pairs: Map<String, Value> =
            query.split('&').filter_map(|pair| pair.split_once('=')).map(|(k, v)| (k.to_string(), json!(v))).collect();
        fields.insert("queryStringParameters".into(), Value::Object(pairs));
    }
    if !params.is_empty() {
        fields.insert("pathParameters".into(), Value::Object(params));
    }
    if let Some(body) = body {
        serde_json::from_str::<Value>(body)
            .map_err(|e| format!("{}: the sample body is no JSON: {e}", route.function))?;
        fields.insert("body".into(), json!(body));
    }
    Ok(serde_json::to_string_pretty(&event).unwrap_or_default() + "\n")
}

/// Every generated file, by its path in the repository.
fn generated() -> Result<Vec<(PathBuf, String)>, String> {
    let mut files = vec![(
        PathBuf::from("docs/openapi.json"),
        serde_json::to_string_pretty(&shared::openapi::document()).unwrap_or_default() + "\n",
    )];
    for (function, routes) in functions() {
        let dir = PathBuf::from("functions").join(function);
        files.push((dir.join("Cargo.toml"), CARGO_TOML.replace("NAME", function)));
        files.push((dir.join("src/main.rs"), main_rs(function, &routes)));
        let sampled = routes.iter().find(|r| r.doc.sample.is_some()).ok_or(format!("{function}: no sample"))?;
        files.push((PathBuf::from("events").join(format!("{function}.json")), sample_event(sampled)?));
    }
    Ok(files)
}

#[test]
fn the_generated_files_are_committed() {
    let files = generated().unwrap();
    let update = std::env::var_os("UPDATE_GENERATED").is_some();
    let mut stale = Vec::new();
    for (path, text) in files {
        let full = repo_root().join(&path);
        if update {
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(&full, &text).unwrap();
        }
        if std::fs::read_to_string(&full).unwrap_or_default() != text {
            stale.push(path.display().to_string());
        }
    }
    assert!(stale.is_empty(), "stale (run `make generate`): {stale:?}");
}

#[test]
fn each_function_has_one_sample() {
    for (function, routes) in functions() {
        assert_eq!(routes.iter().filter(|r| r.doc.sample.is_some()).count(), 1, "{function}");
    }
}
