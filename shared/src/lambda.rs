//! Runs a handler as a Lambda function behind API Gateway (HTTP API, payload v2).

use std::future::Future;
use std::time::Instant;

use lambda_http::request::RequestContext;
use lambda_http::{Body, RequestExt};

use crate::app::App;
use crate::http::{Request, Response};
use crate::routes;

pub use lambda_http::Error;

pub fn from_lambda(event: &lambda_http::Request) -> Request {
    let body = match event.body() {
        Body::Empty => Vec::new(),
        Body::Text(t) => t.as_bytes().to_vec(),
        Body::Binary(b) => b.clone(),
        _ => Vec::new(),
    };
    let single = |m: lambda_http::aws_lambda_events::query_map::QueryMap| {
        m.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    };
    Request {
        method: event.method().as_str().to_string(),
        path: event.uri().path().to_string(),
        params: single(event.path_parameters()),
        query: single(event.query_string_parameters()),
        headers: event
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_lowercase(), v.to_str().ok()?.to_string())))
            .collect(),
        body,
        source_ip: match event.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone(),
            _ => None,
        },
        api_url: match event.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(ctx)) => {
                ctx.domain_name.as_ref().map(|domain| match ctx.stage.as_deref() {
                    Some(stage) if stage != "$default" => format!("https://{domain}/{stage}"),
                    _ => format!("https://{domain}"),
                })
            }
            _ => None,
        },
        caller: None,
    }
}

fn to_lambda(response: Response) -> Result<lambda_http::Response<Body>, Error> {
    let mut builder = lambda_http::Response::builder().status(response.status);
    for (name, value) in response.headers {
        builder = builder.header(name, value);
    }
    Ok(builder.body(if response.body.is_empty() { Body::Empty } else { Body::Binary(response.body) })?)
}

/// Serves the HTTP routes of one function (`routes::of`, evaluated when the function
/// compiles) for the lifetime of this execution environment, through the table's own
/// dispatch and access rules. `app` was built once, at cold start.
pub async fn serve_http(mut app: App, routes: routes::FunctionRoutes) -> Result<(), Error> {
    load_keys(&mut app, &routes::keys_of(routes.function(), routes.routes())).await?;
    // One App for the process's whole life; leaking it gives handlers a plain &App.
    let app: &'static App = Box::leak(Box::new(app));
    lambda_http::run(lambda_http::service_fn(move |event: lambda_http::Request| async move {
        let started = Instant::now();
        let request_id = event.lambda_context_ref().map(|c| c.request_id.clone()).unwrap_or_default();
        let route = match event.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(ctx)) => ctx.route_key.clone().unwrap_or_default(),
            _ => String::new(),
        };
        let req = from_lambda(&event);
        let chat_id = req.params.get("chatId").cloned();
        let result = routes.dispatch(app, req).await;
        to_lambda(routes::finish(&route, &request_id, chat_id.as_deref(), started, result))
    }))
    .await
}

/// The token keys a function needs, read once: an environment keeps them for its life.
/// (An identity provider's agent keys are read by the first agent token: `AgentKeys`.)
async fn load_keys(app: &mut App, needed: &[crate::secrets::TokenKey]) -> Result<(), Error> {
    let ids = crate::secrets::ids_from_env(needed);
    if !ids.is_empty() {
        // The app's own client: the SDK's configuration is loaded once per cold start.
        crate::secrets::load(&app.secrets, &ids, &mut app.config.auth).await?;
    }
    Ok(())
}

/// Serves `handler` as `function` for events that are not HTTP API requests (a schedule,
/// a stream, a queue, a WebSocket route).
pub async fn serve_event<F, Fut, E>(mut app: App, function: &'static str, handler: F) -> Result<(), Error>
where
    F: Fn(&'static App, serde_json::Value) -> Fut + Copy + Send + 'static,
    Fut: Future<Output = Result<serde_json::Value, E>> + Send,
    E: std::error::Error + Send + Sync + 'static,
{
    // Event functions have no routes (a unit test checks): their keys need no route table.
    load_keys(&mut app, &routes::keys_of(function, &[])).await?;
    let app: &'static App = Box::leak(Box::new(app));
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<serde_json::Value>| async move {
            handler(app, event.payload).await.map_err(Error::from)
        },
    ))
    .await
}
