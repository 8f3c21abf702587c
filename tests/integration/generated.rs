//! What is generated from the table of operations (shared/src/routes/table.rs): the OpenAPI
//! document, each HTTP function's package under functions/, its sample event under events/
//! and, once, the start of its block in template.yaml (its DynamoDB actions are then edited
//! by hand). `make generate` writes them; this test fails while a committed one differs.

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

/// A start for a new function's block in template.yaml: its routes from the table, and the
/// key policies [`shared::routes::keys_needed`] names; the DynamoDB actions are for
/// `every_sample_event_is_answered_by_its_handler` to name, and are the one part to edit.
/// A function's logical id in template.yaml (`chat-get` → `ChatGetFunction`): the
/// Makefile's `build-<LogicalId>` target builds the binary of that name.
pub fn logical_id(function: &str) -> String {
    let camel: String = function.split('-').map(|w| w[..1].to_uppercase() + &w[1..]).collect();
    format!("{camel}Function")
}

pub fn template_block(function: &str) -> String {
    let routes: Vec<_> = ROUTES.iter().filter(|r| r.function == function).collect();
    let mut out = format!("  {}:\n    Type: AWS::Serverless::Function\n", logical_id(function));
    for line in SKIPS {
        out += &format!("    {line}\n");
    }
    out += &format!("    Metadata:\n      BuildMethod: makefile\n      BuildProperties:\n        Binary: {function}\n");
    let first = routes[0];
    out += &format!(
        "    Properties:\n      Description: \"{} {}: {}\"\n      Policies:\n",
        first.method, first.path, first.doc.summary
    );
    for key in shared::routes::keys_needed(function) {
        out += &match key {
            shared::secrets::TokenKey::Agent => {
                "        - !If [SharedAgentKey, !Ref AgentKeyReadPolicy, !Ref AWS::NoValue]\n".to_string()
            }
            other => format!("        - !Ref {other:?}KeyReadPolicy\n"),
        };
    }
    out += "        - Statement:\n            - Effect: Allow\n              Action: [dynamodb:Query]\n              Resource: !GetAtt Table.Arn\n      Events:\n";
    for (i, r) in routes.iter().enumerate() {
        let name = if i == 0 { "Api".to_string() } else { format!("Api{i}") };
        out += &format!("        {name}:\n          Type: HttpApi\n          Properties:\n            ApiId: !Ref HttpApi\n            Method: {}\n            Path: {}\n", r.method, r.path);
    }
    out
}

/// The scanner checks every function's block skips, with their reasons.
const SKIPS: [&str; 3] = [
    "# checkov:skip=CKV_AWS_116:no function is invoked asynchronously with anything to keep (docs/security.md)",
    "# checkov:skip=CKV_AWS_117:the functions reach only AWS endpoints and webhook receivers; a VPC adds NAT cost and guards nothing (docs/security.md)",
    "# checkov:skip=CKV_AWS_173:no secret is in any function's environment, which Lambda encrypts at rest (docs/security.md)",
];

/// Where `make generate` puts a new HTTP function's block: above this line of template.yaml.
const NEW_BLOCKS_GO_ABOVE: &str = "  # make generate writes a new HTTP function's block above this line.\n";

/// template.yaml with a block for each HTTP function it has none for.
fn template_with_new_blocks() -> Result<String, String> {
    let template = std::fs::read_to_string(repo_root().join("template.yaml")).map_err(|e| e.to_string())?;
    let at = template.find(NEW_BLOCKS_GO_ABOVE).ok_or("template.yaml lost its line for new blocks")?;
    let new: String = functions()
        .into_iter()
        .map(|(function, _)| function)
        .filter(|f| !template.contains(&format!("        Binary: {f}\n")))
        .map(|f| template_block(f) + "\n")
        .collect();
    Ok(format!("{}{new}{}", &template[..at], &template[at..]))
}

/// Every generated file, by its path in the repository.
fn generated() -> Result<Vec<(PathBuf, String)>, String> {
    let mut files = vec![
        (PathBuf::from("template.yaml"), template_with_new_blocks()?),
        (
            PathBuf::from("docs/openapi.json"),
            serde_json::to_string_pretty(&shared::openapi::document()).unwrap_or_default() + "\n",
        ),
    ];
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
fn a_new_functions_template_block_starts_as_the_others_do() {
    let template = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    let block = template_block("message-get");
    let head: String = block.lines().take(9).map(|l| format!("{l}\n")).collect();
    assert!(template.contains(&head), "{head}");
    assert!(block.contains("        - !Ref ChatKeyReadPolicy\n"), "{block}");
}

#[test]
fn each_function_has_one_sample() {
    for (function, routes) in functions() {
        assert_eq!(routes.iter().filter(|r| r.doc.sample.is_some()).count(), 1, "{function}");
    }
}
