//! Tests that keep the pieces honest: template.yaml, the route table, functions/ and
//! events/ name the same operations, and every sample event works against its handler.

use std::collections::BTreeSet;

use integration_tests::{repo_root, TestApp};
use serde_json::Value;
use shared::routes::ROUTES;

/// template.yaml's functions: (logical id, resource).
fn template_functions() -> Vec<(String, serde_yaml::Value)> {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    doc["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .map(|(id, r)| (id.as_str().unwrap().to_string(), r.clone()))
        .collect()
}

/// (method, path, function) of every HttpApi event in template.yaml.
fn template_routes() -> BTreeSet<(String, String, String)> {
    let mut routes = BTreeSet::new();
    for (_, resource) in template_functions() {
        let binary = resource["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap().to_string();
        if let Some(events) = resource["Properties"]["Events"].as_mapping() {
            for (_, event) in events {
                if event["Type"].as_str() == Some("HttpApi") {
                    let p = &event["Properties"];
                    routes.insert((
                        p["Method"].as_str().unwrap().to_string(),
                        p["Path"].as_str().unwrap().to_string(),
                        binary.clone(),
                    ));
                }
            }
        }
    }
    routes
}

/// `sam build` runs the Makefile's `build-<LogicalId>`, which finds the function by its
/// logical id: `ChatAddFunction` builds `chat-add`.
#[test]
fn each_function_is_built_by_the_makefile_under_its_logical_id() {
    let mut built = BTreeSet::new();
    for (id, resource) in template_functions() {
        assert_eq!(resource["Metadata"]["BuildMethod"].as_str(), Some("makefile"), "{id}");
        let binary = resource["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap();
        assert_eq!(id, crate::generated::logical_id(binary), "the Makefile's build-{id} would not build {binary}");
        built.insert(binary.to_string());
    }
    let packages = function_packages();
    assert_eq!(built, packages);
}

/// Every build of the repository (cargo, `make package`, `sam build`) compiles aws-lc without
/// its CPU-jitter seeding, which cost each cold start's first TLS handshake 30 to 40 ms
/// (docs/performance.md): cargo reads `.cargo/config.toml` whichever command runs it.
#[test]
fn every_build_seeds_aws_lc_from_the_kernel_without_cpu_jitter() {
    let config = std::fs::read_to_string(repo_root().join(".cargo/config.toml")).unwrap();
    let env = config.split("\n[").find(|table| table.trim_start_matches('[').starts_with("env]")).unwrap_or("");
    assert!(env.lines().any(|l| l.replace(' ', "") == "AWS_LC_SYS_NO_JITTER_ENTROPY=\"1\""), "{config}");
}

/// The packages under functions/.
fn function_packages() -> BTreeSet<String> {
    std::fs::read_dir(repo_root().join("functions"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect()
}

fn http_functions() -> BTreeSet<String> {
    ROUTES.iter().map(|r| r.function.to_string()).collect()
}

#[test]
fn template_routes_and_functions_are_the_same_set() {
    let table: BTreeSet<_> =
        ROUTES.iter().map(|r| (r.method.to_string(), r.path.to_string(), r.function.to_string())).collect();
    let missing: BTreeSet<&str> = ROUTES
        .iter()
        .filter(|r| !template_routes().iter().any(|(_, _, f)| f == r.function))
        .map(|r| r.function)
        .collect();
    assert!(missing.is_empty(), "template.yaml has no block for {missing:?}: run `make generate`");
    assert_eq!(template_routes(), table, "template.yaml and shared::routes::ROUTES differ");
    let packages = function_packages();
    let http = http_functions();
    let mut all = http.clone();
    all.extend(shared::routes::EVENT_FUNCTIONS.iter().map(|(f, _)| f.to_string()));
    all.extend(shared::socket::ROUTES.iter().map(|(_, f)| f.to_string()));
    assert_eq!(all, packages, "functions/ holds exactly the routed and the event functions");
    // Each package's main serves, through the route table's dispatch, the function named
    // like its package, and nothing else: one call, with its own name.
    let serve =
        regex_lite::Regex::new(r#"shared::lambda::serve_http\(app, const \{ shared::routes::of\("([a-z-]+)"\) \}\)"#)
            .unwrap();
    for function in &http {
        let main = std::fs::read_to_string(repo_root().join(format!("functions/{function}/src/main.rs"))).unwrap();
        let served: Vec<&str> = serve.captures_iter(&main).map(|c| c.get(1).unwrap().as_str()).collect();
        assert_eq!(served, [function.as_str()], "functions/{function}/src/main.rs serves {served:?}");
        assert!(!main.contains("shared::api::"), "{function}'s main calls a handler past the route table");
    }
    // Event functions are in the template with their event source.
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    for (function, source) in shared::routes::EVENT_FUNCTIONS {
        let found = doc["Resources"].as_mapping().unwrap().values().any(|r| {
            r["Metadata"]["BuildProperties"]["Binary"].as_str() == Some(function)
                && r["Properties"]["Events"]
                    .as_mapping()
                    .is_some_and(|e| e.values().any(|e| e["Type"].as_str() == Some(source)))
        });
        assert!(found, "{function} with a {source} event is not in template.yaml");
    }
    // Each WebSocket route's integration invokes the function shared::socket::ROUTES names.
    let resources = doc["Resources"].as_mapping().unwrap();
    let text_of = |v: &serde_yaml::Value| match v {
        serde_yaml::Value::Tagged(t) => t.value.as_str().unwrap_or_default().to_string(),
        v => v.as_str().unwrap_or_default().to_string(),
    };
    let between =
        |s: &str, a: &str, b: &str| s.split_once(a).and_then(|(_, r)| r.split_once(b)).map(|(x, _)| x.to_string());
    for (key, function) in shared::socket::ROUTES {
        let route = resources
            .values()
            .find(|r| r["Type"] == "AWS::ApiGatewayV2::Route" && r["Properties"]["RouteKey"] == *key)
            .unwrap_or_else(|| panic!("no {key} route"));
        let integration = between(&text_of(&route["Properties"]["Target"]), "${", "}").unwrap();
        let uri = text_of(&resources[integration.as_str()]["Properties"]["IntegrationUri"]);
        let target = between(&uri, "functions/${", ".Arn}").unwrap();
        let binary = resources[target.as_str()]["Metadata"]["BuildProperties"]["Binary"].as_str();
        assert_eq!(binary, Some(*function), "{key}");
        let main = std::fs::read_to_string(repo_root().join(format!("functions/{function}/src/main.rs"))).unwrap();
        assert!(main.contains(&format!("serve_event(app, \"{function}\"")), "{function} serves as itself");
    }
    // Only socket-push, and message-add for its own new message (push::fast), post to sockets.
    let posting: Vec<&str> = resources
        .iter()
        .filter(|(_, r)| {
            serde_yaml::to_string(&r["Properties"]["Policies"]).unwrap().contains("execute-api:ManageConnections")
        })
        .map(|(name, _)| name.as_str().unwrap())
        .collect();
    assert_eq!(posting, ["MessageAddFunction", "SocketPushFunction"]);
    // No dev-only route reaches the template.
    assert!(!template_routes().iter().any(|(_, p, _)| p.starts_with("/dev")));
}

/// Each function may read exactly the token keys its routes need (shared::routes::keys_needed),
/// and no function's configuration holds a key itself.
#[test]
fn each_function_reads_only_the_token_keys_its_routes_need() {
    use shared::secrets::TokenKey;
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    assert!(!text.contains("resolve:secretsmanager"), "a key's value in a function's environment");
    let binary = regex_lite::Regex::new(r"Binary: ([a-z-]+)").unwrap();
    // The agent key only where the deployment accepts shared-key agent tokens (AgentSharedKey).
    let granted = regex_lite::Regex::new(
        r"- (?:!Ref |!If \[SharedAgentKey, !Ref )(Agent|Chat|Identity)KeyReadPolicy(?:, !Ref AWS::NoValue\])?\n",
    )
    .unwrap();
    assert!(!text.contains("- !Ref AgentKeyReadPolicy"), "the agent key is read only when AgentSharedKey allows it");
    let mut seen = 0;
    let resource = regex_lite::Regex::new(r"\n  [A-Za-z0-9]+:\n").unwrap();
    for block in resource.split(&text).filter(|b| b.starts_with("    Type: AWS::Serverless::Function")) {
        let Some(function) = binary.captures(block).map(|c| c[1].to_string()) else { continue };
        let mut has: Vec<&str> = granted.captures_iter(block).map(|c| c.get(1).unwrap().as_str()).collect();
        has.sort();
        let mut needs: Vec<&str> = shared::routes::keys_needed(&function)
            .into_iter()
            .map(|k| match k {
                TokenKey::Agent => "Agent",
                TokenKey::Chat => "Chat",
                TokenKey::Identity => "Identity",
            })
            .collect();
        needs.sort();
        assert_eq!(has, needs, "{function}");
        seen += 1;
    }
    assert_eq!(seen, std::fs::read_dir(repo_root().join("functions")).unwrap().count());
}

#[test]
fn every_function_has_a_sample_event() {
    let events: BTreeSet<String> = std::fs::read_dir(repo_root().join("events"))
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().strip_suffix(".json").map(str::to_string))
        .collect();
    let packages = function_packages();
    assert_eq!(events, packages);
}

#[tokio::test]
async fn the_stream_sample_event_is_turned_into_events() {
    let t = TestApp::new().await;
    let event: Value =
        serde_json::from_str(&std::fs::read_to_string(repo_root().join("events/event-publisher.json")).unwrap())
            .unwrap();
    let out = shared::publisher::handle(&t.app, event.clone()).await.unwrap();
    // ChatAdd (native) and StatusChange (notification), with no topic configured here.
    assert!(out["published"].as_u64().unwrap() >= 1, "{out}");
    assert_eq!(out["batchItemFailures"], serde_json::json!([]));
    // SNS unreachable: the record it stopped at is named, for Lambda to retry from there.
    let mut cut_off = t.same_app();
    cut_off.config.events.topic_arn = Some("arn:aws:sns:us-east-1:000000000000:events".into());
    let out = shared::publisher::handle(&cut_off, event).await.unwrap();
    assert_eq!(out["published"], 0);
    assert_eq!(out["batchItemFailures"], serde_json::json!([{"itemIdentifier": "111"}]));
}

#[tokio::test]
async fn the_scheduled_sample_event_runs_the_cleanup() {
    let t = TestApp::new().await;
    let event: Value =
        serde_json::from_str(&std::fs::read_to_string(repo_root().join("events/cleanup-cron.json")).unwrap()).unwrap();
    let summary = shared::cleanup::handle(&t.app, event).await.unwrap();
    assert_eq!(summary["incomplete"], false);
    assert_eq!(summary["removed"], 0);
}

#[tokio::test]
async fn the_queue_sample_event_is_posted_to_a_direct_webhook() {
    let t = TestApp::new().await;
    let rx = integration_tests::FormReceiver::start(0, 200).await;
    let hook = serde_json::json!({"url": rx.url("/lc"), "format": "rpc", "events": ["CHAT_STARTED"]});
    let (status, created) = t.call("POST", "/webhooks", Some(&t.admin_token("admin")), Some(hook)).await;
    assert_eq!(status, 201, "{created}");
    rx.use_secret(created["secret"].as_str().unwrap());
    let out = shared::dispatcher::handle(&t.app, queue_sample()).await.unwrap();
    assert_eq!(out, serde_json::json!({"batchItemFailures": []}));
    let got = rx.requests();
    assert_eq!(got.len(), 1, "the handler answers once the receiver has");
    assert_eq!(got[0]["fields"]["EVENT"], "CHAT_STARTED");
    assert_eq!(got[0]["verified"], true);
    // With DynamoDB unreachable, the record is reported back to be delivered again.
    let dead = integration_tests::client("http://127.0.0.1:9", &Default::default()).await;
    let cut_off = shared::App::new(t.app.config.clone(), dead, t.app.messaging());
    let out = shared::dispatcher::handle(&cut_off, queue_sample()).await.unwrap();
    assert_eq!(
        out,
        serde_json::json!({"batchItemFailures": [{"itemIdentifier": "059f36b4-87a3-44ab-83d2-661975830a7d"}]})
    );
    assert_eq!(rx.requests().len(), 1, "nothing sent");
}

/// events/webhook-dispatcher.json.
fn queue_sample() -> Value {
    serde_json::from_str(&std::fs::read_to_string(repo_root().join("events/webhook-dispatcher.json")).unwrap()).unwrap()
}

/// Feeds each events/*.json (API Gateway HTTP API, payload v2) through the Lambda adapter
/// to its handler. The sample token and chat id are replaced by live ones.
#[tokio::test]
async fn every_sample_event_is_answered_by_its_handler() {
    let proxy = integration_tests::Proxy::start(&integration_tests::sns_endpoint()).await;
    // Rates on, as deployed (the tests' default is off): their counters are calls too.
    let t = TestApp::with_events_through(&proxy, None, |c| {
        c.customer_messages_per_minute = 1000;
        c.chats_per_minute_per_address = 1000;
    })
    .await;
    // An admin, for the webhook routes; the role changes nothing elsewhere.
    let agent = t.admin_token("agent-1");
    let mut done = BTreeSet::new();
    let mut refused = BTreeSet::new();
    for route in ROUTES.iter().filter(|r| done.insert(r.function)) {
        let path = repo_root().join(format!("events/{}.json", route.function));
        let mut event: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let mut customer_token = String::new();
        let chat_id = match route.function {
            // These act on a pending invitation of agent-1 to an agent-to-agent chat.
            "invitation-remove" | "chat-decline" => {
                let other = t.agent_token("agent-0");
                let (status, body) =
                    t.call("POST", "/chats", Some(&other), Some(serde_json::json!({"channelId": "internal"}))).await;
                assert_eq!(status, 201);
                let chat_id = body["chat"]["chatId"].as_str().unwrap().to_string();
                let invite = serde_json::json!({"inviteUserId": "agent-1"});
                assert_eq!(
                    t.call("POST", &format!("/chats/{chat_id}/invitations"), Some(&other), Some(invite)).await.0,
                    201
                );
                chat_id
            }
            // A known customer's closed chat, to export and erase.
            "customer-export" | "customer-erase" => t.closed_customer_chat("jdoe", "jo@example.com", "hello").await.0,
            // The others act as the owner of a customer's chat.
            _ => {
                let (chat_id, customer) = t.start_chat("sales").await;
                customer_token = customer;
                let accept = Some(serde_json::json!({"status": "active"}));
                assert_eq!(t.call("PATCH", &format!("/chats/{chat_id}"), Some(&agent), accept).await.0, 200);
                // Message 2: the agent's own, to edit and withdraw.
                let hello = Some(serde_json::json!({"text": "hello"}));
                assert_eq!(t.call("POST", &format!("/chats/{chat_id}/messages"), Some(&agent), hello).await.0, 201);
                chat_id
            }
        };
        let mut text = serde_json::to_string(&event).unwrap().replace("SAMPLE_CHAT_ID", &chat_id);
        if text.contains("SAMPLE_WEBHOOK_ID") {
            // A direct webhook (the deliveries, replay and secret routes are direct-only).
            let hook = serde_json::json!({"url": "https://hooks.example.com/x", "format": "native",
                "events": ["ChatAdd"], "mode": "direct"});
            let (status, body) = t.call("POST", "/webhooks", Some(&agent), Some(hook)).await;
            assert_eq!(status, 201, "{body}");
            text = text
                .replace("SAMPLE_WEBHOOK_ID", body["webhookId"].as_str().unwrap())
                .replace("SAMPLE_FROM", &t.app.clock.ago(3600))
                .replace("SAMPLE_TO", &t.app.clock.stamp());
        }
        event = serde_json::from_str(&text).unwrap();
        if event["headers"]["authorization"].is_string() {
            // GET /session is the widget's: it takes the chat token.
            let token = if route.function == "session-get" { &customer_token } else { &agent };
            event["headers"]["authorization"] = Value::String(format!("Bearer {token}"));
        }
        let lambda_request = lambda_http::request::from_str(&event.to_string()).unwrap();
        let request = shared::lambda::from_lambda(&lambda_request);
        assert_eq!(request.method, route.method, "{}", route.function);
        // The URL the client reached: what a writer's own pushes link to (EventsConfig::api_url).
        let domain = event["requestContext"]["domainName"].as_str().unwrap();
        assert_eq!(request.api_url, Some(format!("https://{domain}")), "{}", route.function);
        t.meter.take();
        let response =
            shared::routes::dispatch(&t.app, route.function, request).await.unwrap_or_else(|e| e.into_response());
        // Each DynamoDB action the handler took, its function's role allows in template.yaml
        // (the emulator enforces IAM; DynamoDB Local does not).
        let allowed = dynamodb_grants(route.function);
        for action in t.meter.take().actions {
            if !grants(&allowed, action) {
                refused.insert(format!("{}: dynamodb:{action}", route.function));
            }
        }
        let expected = match (route.method, route.function) {
            (_, "chat-decline" | "typing-set") => 204,
            (_, "chat-leave" | "webhook-replay" | "webhook-secret" | "read-mark" | "customer-erase") => 200,
            ("POST", _) => 201,
            ("DELETE", _) => 204,
            _ => 200,
        };
        assert_eq!(response.status, expected, "{}: {}", route.function, String::from_utf8_lossy(&response.body));
        // The customer's side of the same request takes other paths (its rate counts, its
        // idempotency records): whatever it answers, its calls must be allowed too.
        if !customer_token.is_empty() && event["headers"]["authorization"].is_string() {
            event["headers"]["authorization"] = Value::String(format!("Bearer {customer_token}"));
            if let Some(body) = event["body"].as_str() {
                // A fresh clientMessageId, so the customer's post is no retry of the agent's.
                event["body"] = Value::String(body.replace("\"clientMessageId\":\"", "\"clientMessageId\":\"c-"));
            }
            let lambda_request = lambda_http::request::from_str(&event.to_string()).unwrap();
            t.meter.take();
            let _ =
                shared::routes::dispatch(&t.app, route.function, shared::lambda::from_lambda(&lambda_request)).await;
            for action in t.meter.take().actions {
                if !grants(&allowed, action) {
                    refused.insert(format!("{} (customer): dynamodb:{action}", route.function));
                }
            }
        }
    }
    assert!(refused.is_empty(), "calls template.yaml does not allow: {refused:?}");
}

/// A function's inline IAM statements in template.yaml: each one's actions, and its
/// resources as the template writes them.
fn dynamodb_grants(function: &str) -> Vec<(Vec<String>, String)> {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let resource = doc["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .find(|r| r["Metadata"]["BuildProperties"]["Binary"].as_str() == Some(function))
        .unwrap_or_else(|| panic!("{function} is not in template.yaml"));
    let mut out = Vec::new();
    for policy in resource["Properties"]["Policies"].as_sequence().into_iter().flatten() {
        for statement in policy["Statement"].as_sequence().into_iter().flatten() {
            let actions = match &statement["Action"] {
                serde_yaml::Value::Sequence(list) => {
                    list.iter().filter_map(|a| a.as_str().map(str::to_string)).collect()
                }
                one => one.as_str().map(str::to_string).into_iter().collect(),
            };
            out.push((actions, serde_yaml::to_string(&statement["Resource"]).unwrap()));
        }
    }
    out
}

/// Whether the statements allow a call the meter recorded: `Query index` on the table's
/// indexes (`${Table.Arn}/index/*`), any other on the table itself (`!GetAtt Table.Arn`).
fn grants(statements: &[(Vec<String>, String)], call: &str) -> bool {
    let (action, on_index) = match call.strip_suffix(" index") {
        Some(action) => (action, true),
        None => (call, false),
    };
    statements.iter().any(|(actions, resources)| {
        actions.iter().any(|a| a == &format!("dynamodb:{action}"))
            && if on_index { resources.contains("/index/*") } else { resources.contains("!GetAtt Table.Arn") }
    })
}

#[test]
fn every_template_route_is_in_the_openapi_document() {
    assert_eq!(shared::openapi::undocumented(), Vec::<&str>::new());
    let doc = shared::openapi::document();
    for (method, path, _) in template_routes() {
        let op = &doc["paths"][&path][method.to_lowercase()];
        assert!(op.is_object(), "{method} {path} is not in the OpenAPI document");
        assert!(
            op["security"].is_array() && op["responses"]["400"].is_object(),
            "{method} {path}: auth and errors documented"
        );
    }
}

/// Every `.rs` file under `dir`, its subfolders included.
fn rust_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out
}

/// The modules of `shared/src` and the modules each one uses (`crate::…` paths in its code,
/// not in comments or its tests), resolved to the deepest module that exists.
fn shared_module_graph() -> std::collections::BTreeMap<String, BTreeSet<String>> {
    let root = integration_tests::repo_root().join("shared/src");
    let all = rust_files(&root);
    let name = |path: &std::path::Path| {
        let rel = path.strip_prefix(&root).unwrap().with_extension("");
        let rel = rel.to_string_lossy().replace('/', "::");
        rel.strip_suffix("::mod").map(str::to_string).unwrap_or(rel)
    };
    let modules: BTreeSet<String> = all.iter().map(|p| name(p)).filter(|m| m != "lib").collect();
    let uses = regex_lite::Regex::new(r"crate::([a-z_]+(?:::[a-z_]+)*)").unwrap();
    let mut graph = std::collections::BTreeMap::new();
    for path in &all {
        let module = name(path);
        if module == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let mut deps = BTreeSet::new();
        for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for capture in uses.captures_iter(line) {
                let mut path = capture[1].to_string();
                while !modules.contains(&path) {
                    match path.rsplit_once("::") {
                        Some((parent, _)) => path = parent.to_string(),
                        None => break,
                    }
                }
                if modules.contains(&path) && path != module && !module.starts_with(&format!("{path}::")) {
                    deps.insert(path);
                }
            }
        }
        graph.insert(module, deps);
    }
    graph
}

#[test]
fn no_module_of_shared_imports_one_that_imports_it_back() {
    let graph = shared_module_graph();
    fn reaches(graph: &std::collections::BTreeMap<String, BTreeSet<String>>, from: &str, to: &str) -> bool {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_string()];
        while let Some(m) = todo.pop() {
            if m == to {
                return true;
            }
            if seen.insert(m.clone()) {
                todo.extend(graph.get(&m).into_iter().flatten().cloned());
            }
        }
        false
    }
    let circles: Vec<(String, String)> = graph
        .iter()
        .flat_map(|(m, deps)| deps.iter().filter(|d| reaches(&graph, d, m)).map(move |d| (m.clone(), d.clone())))
        .collect();
    assert!(circles.is_empty(), "modules that reach back to themselves: {circles:?}");
}

/// The domain is a crate that cannot reach the store or the edge (the compiler sees to that);
/// this keeps its dependencies free of the SDK, Lambda, HTTP and an async runtime.
#[test]
fn the_domain_knows_neither_the_sdk_nor_http() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let tree = std::process::Command::new(cargo)
        .args(["tree", "--offline", "-p", "domain", "-e", "normal", "--prefix", "none", "--format", "{p}"])
        .current_dir(integration_tests::repo_root())
        .output()
        .unwrap();
    assert!(tree.status.success(), "cargo tree: {}", String::from_utf8_lossy(&tree.stderr));
    let tree = String::from_utf8(tree.stdout).unwrap();
    assert!(tree.lines().count() > 5, "cargo tree listed the domain's dependencies:\n{tree}");
    let forbidden = ["aws-", "lambda", "hyper", "http ", "reqwest", "tokio", "tower", "rustls"];
    for line in tree.lines() {
        for word in forbidden {
            assert!(!line.starts_with(word), "the domain depends on {line}");
        }
    }
    let root = integration_tests::repo_root().join("shared/domain/src");
    for path in rust_files(&root) {
        let text = std::fs::read_to_string(&path).unwrap();
        for word in ["aws_sdk", "aws_smithy", "lambda_", "http::"] {
            assert!(!text.contains(word), "{} uses {word}", path.display());
        }
    }
}

/// The store alone builds DynamoDB requests, and the route table's access rule is enforced
/// at the edge (routes::admit), never re-implemented by a handler.
#[test]
fn only_the_store_speaks_to_dynamodb_and_only_the_edge_admits_callers() {
    let src = integration_tests::repo_root().join("shared/src");
    let mut files = vec![];
    for dir in [src.clone(), src.join("api"), src.join("store")] {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            if entry.path().extension().is_some_and(|e| e == "rs") {
                files.push(entry.path());
            }
        }
    }
    // The store (shared/src/store/) alone builds requests; app.rs builds the client at cold
    // start; metrics.rs reads its consumed-capacity reports.
    let sdk_allowed = ["metrics.rs", "app.rs"];
    for path in &files {
        let name = path.file_name().unwrap().to_str().unwrap();
        let text = std::fs::read_to_string(path).unwrap();
        let in_store = path.parent().is_some_and(|p| p.ends_with("store"));
        if !in_store && !sdk_allowed.contains(&name) {
            assert!(!text.contains("aws_sdk_dynamodb"), "{} uses the DynamoDB SDK", path.display());
        }
        if path.parent().is_some_and(|p| p.ends_with("api")) {
            for word in ["auth::authenticate", "require_chat(", "require_agent("] {
                assert!(!text.contains(word), "{} admits callers itself ({word})", path.display());
            }
        }
    }
}

/// Callers ask the store in domain terms: no key string or index name is built outside
/// it (shared/src/store/, and keys.rs where every key is spelled; files.rs names objects in
/// the bucket, not the table).
#[test]
fn only_the_store_builds_keys_and_names_indexes() {
    let root = integration_tests::repo_root().join("shared/src");
    let all = rust_files(&root);
    let key_use = regex_lite::Regex::new(r"(^|[^a-z_])keys::").unwrap();
    for path in all {
        let rel = path.strip_prefix(&root).unwrap().to_string_lossy().to_string();
        if rel.starts_with("store/") || rel == "keys.rs" {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for line in text.lines().filter(|l| key_use.is_match(l)) {
            let object_key =
                rel == "files.rs" && (line.contains("file_object_key") || line.contains("chat_files_prefix"));
            assert!(object_key, "{rel} builds a table key or names an index: {line}");
        }
        assert!(!text.contains("SortKey::"), "{rel} builds a key condition itself");
    }
}

/// docs/compatibility.md names every call, command, event and parameter of the four seeds,
/// and only routes that exist and tests that exist; a partial row says why.
#[test]
fn the_compatibility_guide_names_every_seed_item_and_only_real_routes() {
    let doc = std::fs::read_to_string(integration_tests::repo_root().join("docs/compatibility.md")).unwrap();
    // The seeds' items, copied here: CI's clone has the product, not the seeds beside it.
    let otrs = "new ChatAdd ChatUpdate ChatGet ChatList CustomerIDGet ChatPermissionLevelGet ChatDelete \
        ChatCleanup ChatParticipantAdd ChatParticipantUpdate AgentPermissionsUpdate ContributorsCount \
        CustomerPresent ChatParticipantList ChatParticipantNumberGet AgentAvailabilityGet \
        CustomerAvailabilityGet ChatParticipantCheck ChatParticipantRemove ChatMessageAdd ChatMessageGet \
        ChatMessageList ChatInvite ChatInvitesGet ChatDecline ChatChannelUpdate ChatInviteRemove \
        OnlineUserList AvailableUsersGet IsChatAgentToAgent ChatFlagSet ChatFlagDelete ChatFlagGet";
    for call in otrs.split_whitespace() {
        assert!(doc.contains(&format!("| {call}() |")), "OTRS {call}() has no row");
    }
    let widget = "configure startChat endChat sendMessage sendCustomNotice sendTyping sendFilteredMessage \
        addPrefilter updateUserData poll startPoll stopPoll resetPollExceptions restore getTranscript getAgents \
        getStats sendFile downloadFile getSessionData fetchHistory registerTypingPreviewInput \
        registerPreProcessor verifySession started restoreTimeout restoreFailed restored reconnected ready \
        messageReceived error ended disconnected clientTypingStopped clientTypingStarted clientDisconnected \
        clientConnected agentTypingTimeout agentTypingStopped agentTypingStarted agentDisconnected agentConnected";
    let notifications = "/v2/me/chats ChatStateChangeMessage StatusChange ParticipantsUpdated PropertiesUpdated \
        Error AttachedDataChanged DtmfSent CallRecordingStateChange MonitoredUserMutedStateChange \
        MessageLogUpdated NewMessages uri chatUri timestamp timestampSeconds referenceId capabilities";
    let rpc = "EVENT_NEW_LICENCE EVENT_NEW_OPERATOR EVENT_LICENCE_INFO EVENT_NEW_OPERATOR_SUBSCRIPTION \
        EVENT_OPERATOR_TRANSFER EVENT_OPERATOR_STATUS EVENT_BUTTON_STATUS EVENT_CHAT_STARTED \
        EVENT_PRIVATE_CHAT_STATUS EVENT_CLIENT_INVITED EVENT_OPERATOR_STOPED_CHAT EVENT_VISITOR_LEFT_CHAT \
        EVENT LICENCE CLIENT_ID NEW_OPERATOR_ID OPERATOR_ID STATUS INVITING_OP GROUP CHAT PASSWORD NICK \
        LAST_NAME FIRST_NAME PHONE LIC_TYPE WEB_PAGE PROMO_CODE ACCOUNT_TYPE EXPIRATION_DATE LANGUAGE \
        OPERATORS_COUNT_CC OPERATORS_COUNT_COM START_DATE END_DATE PAYMENT_METHOD NET_PRICE VAT RPC_SERVER_IP";
    let words: std::collections::BTreeSet<&str> =
        doc.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '/')).filter(|w| !w.is_empty()).collect();
    for item in widget.split_whitespace().chain(notifications.split_whitespace()).chain(rpc.split_whitespace()) {
        assert!(words.contains(item), "seed item {item} is not named");
    }
    // Every route named exists.
    let route_re = regex_lite::Regex::new(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`?\s]*)").unwrap();
    for found in route_re.captures_iter(&doc) {
        let (method, path) = (&found[1], &found[2]);
        assert!(
            shared::routes::ROUTES.iter().any(|r| r.method == method && r.path == path),
            "{method} {path} is no route"
        );
    }
    // Every test named exists.
    let sources: String = ["tests/integration", "shared/domain/src"]
        .iter()
        .flat_map(|d| rust_files(&integration_tests::repo_root().join(d)))
        .map(|p| std::fs::read_to_string(p).unwrap_or_default())
        .collect();
    let test_re = regex_lite::Regex::new(r"`([a-z][a-z0-9]*(?:_[a-z0-9]+){3,})`").unwrap();
    for found in test_re.captures_iter(&doc) {
        assert!(sources.contains(&format!("fn {}(", &found[1])), "no test named {}", &found[1]);
    }
    // A partial row says how.
    // (The third cell is the status; the fourth, `check`, is the conformance suite's.)
    for row in doc.lines().filter(|l| l.starts_with("| ")) {
        if let Some(status) = row.split(" | ").nth(2) {
            let status = status.trim();
            if status.starts_with("partial") || status.starts_with("not offered") {
                assert!(status.contains(':'), "no reason given: {row}");
            }
        }
    }
}

fn sample(function: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(repo_root().join(format!("events/{function}.json"))).unwrap())
        .unwrap()
}

#[tokio::test]
async fn the_socket_sample_events_open_answer_and_close_a_socket() {
    let t = TestApp::new().await;
    let token = t.agent_token("ann");
    let connect: Value = serde_json::from_str(
        &serde_json::to_string(&sample("socket-connect")).unwrap().replace("SAMPLE_TOKEN", &token),
    )
    .unwrap();
    let answer = shared::socket::connect(&t.app, connect).await.unwrap();
    assert_eq!(answer["statusCode"], 200, "{answer}");
    assert_eq!(shared::socket::connect(&t.app, sample("socket-connect")).await.unwrap()["statusCode"], 401);
    let answer = shared::socket::message(&t.app, sample("socket-message")).await.unwrap();
    let replies: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
    assert_eq!(replies[0]["clientId"], "SAMPLE_CONNECTION_ID");
    assert_eq!(replies[0]["successful"], true);
    assert_eq!(shared::socket::disconnect(&t.app, sample("socket-disconnect")).await.unwrap()["statusCode"], 200);
    // The stream sample: a chat this table does not have pushes nothing, and fails nothing.
    let out = shared::push::handle(&t.app, sample("socket-push")).await.unwrap();
    assert_eq!(out, serde_json::json!({"pushed": 0, "batchItemFailures": []}));
}

/// What the README says `AgentUserPool=true` does: a pool whose public client signs the
/// console in with the code flow, groups for the roles, the outputs the console is opened
/// with, and every function's agent settings pointed at the pool.
#[test]
fn the_template_can_create_the_agents_user_pool_the_readme_describes() {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let resources = &doc["Resources"];
    let conditional = |name: &str, kind: &str| {
        assert_eq!(resources[name]["Type"].as_str(), Some(kind), "{name}");
        assert_eq!(resources[name]["Condition"].as_str(), Some("CreateAgentPool"), "{name}");
    };
    conditional("AgentPool", "AWS::Cognito::UserPool");
    conditional("AgentPoolClient", "AWS::Cognito::UserPoolClient");
    conditional("AgentPoolDomain", "AWS::Cognito::UserPoolDomain");
    let client = &resources["AgentPoolClient"]["Properties"];
    assert_eq!(client["GenerateSecret"].as_bool(), Some(false), "a public client: no secret in a page");
    assert_eq!(client["AllowedOAuthFlows"][0].as_str(), Some("code"));
    assert_eq!(
        resources["AgentPool"]["Properties"]["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"].as_bool(),
        Some(true)
    );
    let groups: BTreeSet<&str> = resources
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| r["Type"].as_str() == Some("AWS::Cognito::UserPoolGroup"))
        .filter_map(|r| r["Properties"]["GroupName"].as_str())
        .collect();
    assert_eq!(groups, BTreeSet::from(["admin", "integrator"]));
    for output in ["AgentSignInUrl", "AgentClientId"] {
        assert_eq!(doc["Outputs"][output]["Condition"].as_str(), Some("CreateAgentPool"), "{output}");
    }
    // The three agent settings: the pool's when it is created, the parameters' otherwise.
    let env = &doc["Globals"]["Function"]["Environment"]["Variables"];
    for (variable, parameter) in [
        ("AGENT_TOKEN_ISSUER", "AgentTokenIssuer"),
        ("AGENT_TOKEN_AUDIENCE", "AgentTokenAudience"),
        ("AGENT_JWKS_URL", "AgentJwksUrl"),
    ] {
        let serde_yaml::Value::Tagged(choice) = &env[variable] else { panic!("{variable} is not an !If") };
        assert_eq!(choice.tag.to_string(), "!If", "{variable}");
        assert_eq!(choice.value[0].as_str(), Some("CreateAgentPool"), "{variable}");
        assert!(format!("{:?}", choice.value[1]).contains("AgentPool"), "{variable}");
        assert!(format!("{:?}", choice.value[2]).contains(parameter), "{variable}");
    }
}

/// Each check that `make lint`'s checkov run skips in template.yaml has a reason there and a
/// row in docs/security.md's table, and each row is a skip the template makes.
#[test]
fn every_scanner_check_the_template_skips_is_explained_in_security_md() {
    let template = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    let skip = regex_lite::Regex::new(r"# checkov:skip=([A-Z0-9_]+):(.*)").unwrap();
    let mut skipped = BTreeSet::new();
    for c in skip.captures_iter(&template) {
        assert!(c[2].trim().len() > 20, "{} is skipped without a reason", &c[1]);
        skipped.insert(c[1].to_string());
    }
    let doc = std::fs::read_to_string(repo_root().join("docs/security.md")).unwrap();
    let row = regex_lite::Regex::new(r"(?m)^\| (CKV_[A-Z0-9_]+) ").unwrap();
    let explained: BTreeSet<String> = row.captures_iter(&doc).map(|c| c[1].to_string()).collect();
    assert!(!skipped.is_empty());
    assert_eq!(skipped, explained);
}

/// The template's condition `name` for these parameter values (the rest at their defaults),
/// evaluated from its Conditions section: !Equals, !Not, !And, !Or, !Condition, !Ref.
fn condition(name: &str, params: &[(&str, &str)]) -> bool {
    use serde_yaml::value::TaggedValue;
    use serde_yaml::Value as Y;
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    let doc: Y = serde_yaml::from_str(&text).unwrap();
    let param = |p: &str| -> String {
        params.iter().find(|(k, _)| *k == p).map(|(_, v)| v.to_string()).unwrap_or_else(|| {
            let d = &doc["Parameters"][p]["Default"];
            d.as_str().map(str::to_string).unwrap_or_else(|| serde_yaml::to_string(d).unwrap().trim().to_string())
        })
    };
    fn value(v: &Y, param: &dyn Fn(&str) -> String) -> String {
        match v {
            Y::Tagged(t) if t.tag == "Ref" => param(t.value.as_str().unwrap()),
            other => other.as_str().map(str::to_string).unwrap_or_else(|| serde_yaml::to_string(other).unwrap()),
        }
    }
    fn eval(v: &Y, doc: &Y, param: &dyn Fn(&str) -> String) -> bool {
        let Y::Tagged(t) = v else { panic!("not a condition: {v:?}") };
        let TaggedValue { tag, value: args } = &**t;
        let list = || args.as_sequence().unwrap().clone();
        match tag.to_string().trim_start_matches('!') {
            "Equals" => value(&list()[0], param) == value(&list()[1], param),
            "Not" => !eval(&list()[0], doc, param),
            "And" => list().iter().all(|c| eval(c, doc, param)),
            "Or" => list().iter().any(|c| eval(c, doc, param)),
            "Condition" => eval(&doc["Conditions"][args.as_str().unwrap()], doc, param),
            other => panic!("unknown condition function {other}"),
        }
    }
    eval(&doc["Conditions"][name], &doc, &param)
}

/// The shared HS256 agent key (M6 of the 2026-12-05 review) is off by default wherever an
/// identity provider is configured: no function reads its secret then.
/// The cleanup's settings reach only the cleanup function: a bad one cannot stop any other
/// function (shared::config reads them on their own, too).
#[test]
fn the_cleanup_settings_are_given_to_the_cleanup_function_alone() {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let globals = &doc["Globals"]["Function"]["Environment"]["Variables"];
    for name in
        ["REQUEST_CLOSE_SECONDS", "CLOSED_RETENTION_SECONDS", "CHAT_RETENTION_SECONDS", "CLEANUP_BUDGET_SECONDS"]
    {
        assert!(globals.get(name).is_none(), "{name} is in Globals");
        for (id, function) in template_functions() {
            let own = function["Properties"]["Environment"]["Variables"].get(name).is_some();
            let cleanup = function["Metadata"]["BuildProperties"]["Binary"] == "cleanup-cron";
            assert!(own == (cleanup && name != "CLEANUP_BUDGET_SECONDS"), "{id}: {name}");
        }
    }
}

#[test]
fn the_shared_agent_key_is_off_by_default_with_an_identity_provider() {
    assert!(condition("SharedAgentKey", &[]), "no provider: the shared key signs agents in");
    assert!(!condition("SharedAgentKey", &[("AgentUserPool", "true")]), "a Cognito pool");
    assert!(!condition("SharedAgentKey", &[("AgentJwksUrl", "https://idp.example/jwks")]), "a JWKS");
    assert!(condition("SharedAgentKey", &[("AgentUserPool", "true"), ("AgentSharedKey", "on")]), "asked for");
    assert!(!condition("SharedAgentKey", &[("AgentSharedKey", "off")]));
}

/// Loopback webhook receivers are a local stack's setting (M5): no deployment allows them.
#[test]
fn no_deployment_lets_webhooks_reach_loopback() {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    assert!(!text.contains("WEBHOOK_ALLOW_LOOPBACK"));
}

/// H4 of the 2026-12-05 review: behind EdgeProtection, CloudFront in front of both APIs with
/// a web ACL that limits each client address (tighter on the open routes, `$connect` among
/// them) and runs AWS's managed rules; per-route limits sized by cost.
#[test]
fn the_edge_limits_each_client_address_and_runs_the_managed_rules() {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let acl = &doc["Resources"]["EdgeAcl"]["Properties"];
    assert_eq!(acl["Scope"], "CLOUDFRONT");
    let rules = acl["Rules"].as_sequence().unwrap();
    let names: Vec<&str> = rules.iter().map(|r| r["Name"].as_str().unwrap()).collect();
    assert_eq!(names, ["open-routes-per-address", "all-routes-per-address", "aws-common", "aws-known-bad-inputs"]);
    let open = serde_yaml::to_string(&rules[0]).unwrap();
    for route in ["/chats", "/channels/", "/live", "AggregateKeyType: IP"] {
        assert!(open.contains(route), "{route} in {open}");
    }
    // Every route that needs no token falls under the open routes' limit.
    for route in ROUTES.iter().filter(|r| r.access == shared::routes::Access::Open) {
        let fixed = route.path.split('{').next().unwrap_or_default();
        assert!(open.contains(&format!("SearchString: {fixed}\n")), "{} {} in {open}", route.method, route.path);
    }
    let edge = &doc["Resources"]["EdgeDistribution"];
    assert_eq!(edge["Condition"], "Edge");
    let origins = serde_yaml::to_string(&edge["Properties"]["DistributionConfig"]["Origins"]).unwrap();
    assert!(origins.contains("HttpApi") && origins.contains("SocketApi"), "{origins}");
    assert!(!condition("Edge", &[]), "off unless asked for");
    let routes = &doc["Resources"]["HttpApi"]["Properties"]["RouteSettings"];
    assert!(routes["POST /chats"]["ThrottlingRateLimit"].as_u64() < Some(100), "chat starts get less than the default");
}

/// docs/security.md's "anyone on the internet" row names exactly the routes that need no
/// token (a new open route is a new row of what an attacker can reach).
#[test]
fn security_md_names_every_route_open_to_anyone() {
    let doc = std::fs::read_to_string(repo_root().join("docs/security.md")).unwrap();
    let row = doc.lines().find(|l| l.starts_with("| anyone on the internet |")).expect("the row");
    let reach = row.split(" | ").nth(1).unwrap_or_default();
    let named: BTreeSet<String> = reach.split('`').skip(1).step_by(2).map(str::to_string).collect();
    let braces = regex_lite::Regex::new(r"\{[^}]*\}").unwrap();
    let open: BTreeSet<String> = ROUTES
        .iter()
        .filter(|r| r.access == shared::routes::Access::Open)
        .map(|r| format!("{} {}", r.method, braces.replace_all(r.path, "{id}")))
        .collect();
    assert_eq!(named, open, "docs/security.md's row against the routes that need no token");
}

/// Every test docs/security.md names exists (a claim names the check that makes it).
#[test]
fn every_test_docs_security_names_exists() {
    let doc = std::fs::read_to_string(repo_root().join("docs/security.md")).unwrap();
    let mut sources = String::new();
    for dir in ["tests/integration", "shared/src", "shared/domain/src", "shared/src/api", "local/src"] {
        for entry in std::fs::read_dir(repo_root().join(dir)).unwrap().flatten() {
            sources.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
        }
    }
    let name = regex_lite::Regex::new(r"`(?:[a-z_]+::)?([a-z][a-z0-9]*(?:_[a-z0-9]+){3,})`").unwrap();
    let mut seen = 0;
    for found in name.captures_iter(&doc) {
        assert!(sources.contains(&format!("fn {}(", &found[1])), "docs/security.md names no test {}", &found[1]);
        seen += 1;
    }
    assert!(seen > 20, "{seen}");
}

/// The README's pictures exist, and each is one the browser tests take and
/// `make test-browser UPDATE_SCREENSHOTS=1` copies (so they can be refreshed, not drawn).
#[test]
fn the_readmes_screenshots_are_the_browser_tests_own() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let script = std::fs::read_to_string(repo_root().join("scripts/browser-test.sh")).unwrap();
    let tests: String = ["tests/browser/conversation.test.mjs", "tests/browser/widget.test.mjs"]
        .iter()
        .map(|p| std::fs::read_to_string(repo_root().join(p)).unwrap())
        .collect();
    let shots: Vec<&str> =
        readme.split("(docs/screenshots/").skip(1).filter_map(|rest| rest.split(".png)").next()).collect();
    assert!(shots.len() >= 5, "{shots:?}");
    for shot in shots {
        assert!(repo_root().join(format!("docs/screenshots/{shot}.png")).is_file(), "{shot}.png is committed");
        assert!(tests.contains(&format!("{{SHOTS}}{shot}.png")), "a browser test takes {shot}.png");
        let copied = script.lines().find(|l| l.contains("docs/screenshots/") && l.starts_with("  cp ")).unwrap_or("");
        assert!(copied.contains(shot), "browser-test.sh copies {shot}.png");
    }
}
