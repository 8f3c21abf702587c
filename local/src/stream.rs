//! The local stand-in for Lambda's stream trigger: reads DynamoDB Local's stream and
//! hands the records, in the event shape Lambda uses, to the very publisher handler the
//! event-publisher function runs. A batch that fails (SNS unreachable) is kept and retried
//! until it goes through, as Lambda retries it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};
use serde_json::{json, Value};
use shared::App;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn image(map: Option<&HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>>) -> Value {
    map.and_then(|m| serde_json::to_value(serde_dynamo::Item::from(m.clone())).ok()).unwrap_or(Value::Null)
}

/// Records as Lambda's DynamoDB event carries them.
pub fn lambda_event(records: &[Record]) -> Value {
    let records: Vec<Value> = records
        .iter()
        .map(|r| {
            let d = r.dynamodb();
            json!({
                "eventID": r.event_id(),
                "eventName": r.event_name().map(|n| n.as_str()),
                "eventSource": "aws:dynamodb",
                "dynamodb": {
                    "Keys": image(d.and_then(|d| d.keys.as_ref())),
                    "NewImage": image(d.and_then(|d| d.new_image.as_ref())),
                    "OldImage": image(d.and_then(|d| d.old_image.as_ref())),
                    "SequenceNumber": d.and_then(|d| d.sequence_number()),
                    "ApproximateCreationDateTime": d.and_then(|d| d.approximate_creation_date_time()).map(|t| t.secs()),
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
            })
        })
        .collect();
    json!({ "Records": records })
}

#[derive(Default)]
struct Shard {
    iterator: Option<String>,
    pending: Vec<Record>,
    closed: bool,
}

/// Follows the table's stream forever. `from_start` reads what is already in the stream;
/// otherwise only what comes after.
pub async fn run(app: Arc<App>, streams: aws_sdk_dynamodbstreams::Client, from_start: bool) -> Result<(), BoxError> {
    let table = app.db.client.describe_table().table_name(&app.db.table).send().await?;
    let arn = table.table().and_then(|t| t.latest_stream_arn()).ok_or("the table has no stream")?.to_string();
    let mut shards: HashMap<String, Shard> = HashMap::new();
    let mut first = true;
    loop {
        let described = streams.describe_stream().stream_arn(&arn).send().await;
        if let Ok(out) = described {
            for s in out.stream_description().map(|d| d.shards()).unwrap_or_default() {
                let Some(id) = s.shard_id() else { continue };
                if shards.contains_key(id) {
                    continue;
                }
                // Shards seen at start: from now on (unless asked from the start); new ones: whole.
                let kind =
                    if first && !from_start { ShardIteratorType::Latest } else { ShardIteratorType::TrimHorizon };
                let it =
                    streams.get_shard_iterator().stream_arn(&arn).shard_id(id).shard_iterator_type(kind).send().await?;
                shards.insert(
                    id.to_string(),
                    Shard { iterator: it.shard_iterator().map(str::to_string), ..Default::default() },
                );
            }
        }
        first = false;
        let mut idle = true;
        for shard in shards.values_mut().filter(|s| !s.closed) {
            if shard.pending.is_empty() {
                let Some(it) = shard.iterator.take() else {
                    shard.closed = true;
                    continue;
                };
                match streams.get_records().shard_iterator(&it).limit(100).send().await {
                    Ok(out) => {
                        shard.pending = out.records().to_vec();
                        shard.iterator = out.next_shard_iterator().map(str::to_string);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "stream read failed");
                        shard.iterator = Some(it);
                        continue;
                    }
                }
            }
            if shard.pending.is_empty() {
                continue;
            }
            idle = false;
            match shared::publisher::handle(&app, lambda_event(&shard.pending)).await {
                Ok(_) => shard.pending.clear(),
                Err(e) => {
                    tracing::warn!(error = %e, records = shard.pending.len(), "publishing failed; will retry");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
        if idle {
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }
}

/// Creates (or finds) the events topic, with SNS signature version 2 as in template.yaml.
pub async fn ensure_topic(sns: &aws_sdk_sns::Client, name: &str) -> Result<String, BoxError> {
    let out = sns.create_topic().name(name).attributes("SignatureVersion", "2").send().await?;
    Ok(out.topic_arn().ok_or("no topic arn")?.to_string())
}

/// A streams client on the same endpoint and credentials as the app's DynamoDB client.
pub fn streams_client(sdk: &aws_config::SdkConfig, endpoint: &str) -> aws_sdk_dynamodbstreams::Client {
    let config = aws_sdk_dynamodbstreams::config::Builder::from(sdk).endpoint_url(endpoint).build();
    aws_sdk_dynamodbstreams::Client::from_conf(config)
}
