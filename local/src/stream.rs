//! The local stand-in for Lambda's stream triggers: reads DynamoDB Local's stream and
//! hands the records, in the event shape Lambda uses, to the very handler the consuming
//! function runs (event-publisher, socket-push: one reader each, as each has its own
//! event source mapping). What fails (SNS unreachable) is kept and retried from the
//! record the publisher names, as Lambda does with ReportBatchItemFailures; no failed call
//! stops the reader.

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
                "eventVersion": r.event_version(),
                "eventSource": "aws:dynamodb",
                // Lambda's event always has these (aws_lambda_events requires them).
                "awsRegion": r.aws_region().unwrap_or("us-east-1"),
                "dynamodb": {
                    "Keys": image(d.and_then(|d| d.keys.as_ref())),
                    "NewImage": image(d.and_then(|d| d.new_image.as_ref())),
                    "OldImage": image(d.and_then(|d| d.old_image.as_ref())),
                    "SequenceNumber": d.and_then(|d| d.sequence_number()),
                    "SizeBytes": d.and_then(|d| d.size_bytes()).unwrap_or_default(),
                    "ApproximateCreationDateTime": d.and_then(|d| d.approximate_creation_date_time()).map(|t| t.secs()),
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
            })
        })
        .collect();
    json!({ "Records": records })
}

/// The stream mapping's `FilterCriteria`, read from template.yaml: Lambda invokes the
/// publisher only with records one of its patterns matches, and so does this reader.
/// Written by hand: the patterns use a small part of EventBridge's syntax (objects, and
/// arrays of allowed values), and no maintained crate matches them.
#[derive(Debug, Default, Clone)]
pub struct Filter(Vec<Value>);

impl Filter {
    pub fn from_template(template: &str, function: &str) -> Result<Filter, Box<dyn std::error::Error + Send + Sync>> {
        let doc: serde_yaml::Value = serde_yaml::from_str(template)?;
        let filters = doc
            .get("Resources")
            .and_then(|r| r.get(function))
            .and_then(|f| f.get("Properties")?.get("Events")?.get("Stream")?.get("Properties"))
            .and_then(|p| p.get("FilterCriteria")?.get("Filters")?.as_sequence().cloned())
            .unwrap_or_default();
        let patterns = filters
            .iter()
            .filter_map(|f| f.get("Pattern")?.as_str().map(serde_json::from_str::<Value>))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Filter(patterns))
    }

    /// Whether a record (as Lambda's event carries it) passes: no pattern, or one matches.
    pub fn passes(&self, record: &Value) -> bool {
        self.0.is_empty() || self.0.iter().any(|p| matches(p, record))
    }
}

/// What the event source mapping does with a record its function keeps failing, read from
/// template.yaml as Lambda reads it: retry it `MaximumRetryAttempts` times while it is
/// younger than `MaximumRecordAgeInSeconds`, then skip it (the failing record alone with
/// `BisectBatchOnFunctionError`, else the rest of its batch) and send a pointer to it to
/// the on-failure destination. Without these limits a failing record would hold up every
/// later record of its shard, as it did here before they were read.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Retries {
    pub max_attempts: Option<u32>,
    pub max_age_secs: Option<u64>,
    pub bisect: bool,
    pub on_failure: bool,
}

impl Retries {
    pub fn from_template(template: &str, function: &str) -> Result<Retries, Box<dyn std::error::Error + Send + Sync>> {
        let doc: serde_yaml::Value = serde_yaml::from_str(template)?;
        let Some(p) = doc
            .get("Resources")
            .and_then(|r| r.get(function))
            .and_then(|f| f.get("Properties")?.get("Events")?.get("Stream")?.get("Properties"))
        else {
            return Ok(Retries::default());
        };
        // -1 is Lambda's "forever".
        let number = |name: &str| p.get(name).and_then(serde_yaml::Value::as_i64).filter(|n| *n >= 0);
        Ok(Retries {
            max_attempts: number("MaximumRetryAttempts").and_then(|n| u32::try_from(n).ok()),
            max_age_secs: number("MaximumRecordAgeInSeconds").and_then(|n| u64::try_from(n).ok()),
            bisect: p.get("BisectBatchOnFunctionError").and_then(serde_yaml::Value::as_bool).unwrap_or(false),
            on_failure: p.get("DestinationConfig").and_then(|d| d.get("OnFailure")).is_some(),
        })
    }

    /// Whether a batch that failed `attempts` times, whose oldest record is `age` old, is
    /// given up on.
    pub fn exhausted(&self, attempts: u32, age: Duration) -> bool {
        self.max_attempts.is_some_and(|m| attempts > m) || self.max_age_secs.is_some_and(|m| age.as_secs() > m)
    }
}

/// How often the readers read an idle stream: Lambda reads a shard about four times a
/// second (`LOCAL_STREAM_POLL_MS`, 250 by default; tests and benches may set another).
pub fn poll_interval() -> Duration {
    let ms = std::env::var("LOCAL_STREAM_POLL_MS").ok().and_then(|v| v.parse::<u64>().ok()).unwrap_or(250);
    Duration::from_millis(ms.max(1))
}

fn matches(pattern: &Value, value: &Value) -> bool {
    match pattern {
        Value::Object(fields) => fields.iter().all(|(k, p)| value.get(k).is_some_and(|v| matches(p, v))),
        Value::Array(allowed) => allowed.contains(value),
        other => other == value,
    }
}

#[derive(Default)]
struct Shard {
    iterator: Option<String>,
    /// The last record published; a lost or expired iterator resumes after it.
    last: Option<String>,
    pending: Vec<Record>,
    closed: bool,
    /// How many times the head of `pending` has failed.
    attempts: u32,
}

/// Where the reader resumes: Lambda's event source mapping keeps its position in the
/// stream, so this keeps it too (in a file when `path` is set, across restarts of
/// `make run`). Shards it has no position for are read from their start.
#[derive(Default)]
pub struct Checkpoint {
    path: Option<std::path::PathBuf>,
    positions: HashMap<String, String>,
    /// Start at the stream's end, not its start: a socket is pushed only what happens
    /// while it is open (shards that appear later are read from their start).
    latest: bool,
}

impl Checkpoint {
    pub fn in_memory() -> Self {
        Checkpoint::default()
    }

    /// In memory, from the stream's end.
    pub fn latest() -> Self {
        Checkpoint { latest: true, ..Checkpoint::default() }
    }

    pub fn file(path: std::path::PathBuf) -> Self {
        let positions = std::fs::read(&path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
        Checkpoint { path: Some(path), positions, latest: false }
    }

    fn save(&mut self, shard: &str, sequence: &str) {
        self.positions.insert(shard.to_string(), sequence.to_string());
        let Some(path) = &self.path else { return };
        let tmp = path.with_extension("tmp");
        let written = serde_json::to_vec(&self.positions)
            .map_err(std::io::Error::other)
            .and_then(|bytes| std::fs::write(&tmp, bytes))
            .and_then(|()| std::fs::rename(&tmp, path));
        if let Err(e) = written {
            tracing::warn!(error = %e, "stream checkpoint not saved");
        }
    }
}

/// How long ago a record was written (its approximate creation time, to the second).
fn record_age(record: &Record) -> Duration {
    let created = record.dynamodb().and_then(|d| d.approximate_creation_date_time()).map(|t| t.secs());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    created.and_then(|c| u64::try_from(c).ok()).map_or(Duration::ZERO, |c| Duration::from_secs(now.saturating_sub(c)))
}

/// A pause after a failed call, so a service that is down is not hammered.
const BACKOFF: Duration = Duration::from_millis(500);

/// A function the table's stream triggers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consumer {
    Publisher,
    Push,
}

impl Consumer {
    /// Its resource in template.yaml (where its stream filter is).
    fn resource(self) -> &'static str {
        match self {
            Consumer::Publisher => "EventPublisherFunction",
            Consumer::Push => "SocketPushFunction",
        }
    }

    async fn handle(self, app: &App, event: Value) -> Result<Value, BoxError> {
        Ok(match self {
            Consumer::Publisher => shared::publisher::handle(app, event).await?,
            Consumer::Push => shared::push::handle(app, event).await?,
        })
    }
}

/// Follows the table's stream forever for `consumer`, as Lambda's event source mapping
/// does: no error stops it (a failed call is retried after [`BACKOFF`]), and a batch is
/// retried until the consumer takes it, so an event is late while DynamoDB or SNS is down,
/// never lost.
pub async fn run(
    app: Arc<App>,
    streams: aws_sdk_dynamodbstreams::Client,
    mut checkpoint: Checkpoint,
    consumer: Consumer,
) {
    let template = std::fs::read_to_string(crate::repo_root().join("template.yaml")).unwrap_or_default();
    let filter = Filter::from_template(&template, consumer.resource()).unwrap_or_else(|e| {
        tracing::error!(error = %e, "template.yaml's stream filter does not parse; passing every record");
        Filter::default()
    });
    let retries = Retries::from_template(&template, consumer.resource()).unwrap_or_default();
    let idle = poll_interval();
    let arn = loop {
        match app.db.stream_arn().await {
            Ok(Some(arn)) => break arn,
            Ok(None) => tracing::error!(table = app.db.table(), "the table has no stream"),
            Err(e) => tracing::warn!(error = %e, "describe table failed; will retry"),
        }
        tokio::time::sleep(BACKOFF).await;
    };
    let mut shards: HashMap<String, Shard> = HashMap::new();
    let mut discovered: Option<std::time::Instant> = None;
    loop {
        // New shards are rare (DynamoDB rolls them over every few hours): look once a second,
        // not on every read, which for the push is fifty times a second.
        if discovered.is_none_or(|at| at.elapsed() >= Duration::from_secs(1)) {
            discover(&streams, &arn, &mut checkpoint, &mut shards).await;
            discovered = Some(std::time::Instant::now());
        }
        let mut idle_round = true;
        for (id, shard) in shards.iter_mut().filter(|(_, s)| !s.closed) {
            if shard.pending.is_empty() {
                if shard.iterator.is_none() {
                    // Lost after a failed read: resume after the last published record.
                    match iterator(&streams, &arn, id, shard.last.as_deref()).await {
                        Ok(it) => shard.iterator = it,
                        Err(e) => {
                            tracing::warn!(error = %e, shard = id, "shard iterator failed; will retry");
                            continue;
                        }
                    }
                }
                let Some(it) = shard.iterator.take() else { continue };
                match streams.get_records().shard_iterator(&it).limit(100).send().await {
                    Ok(out) => {
                        shard.pending = out.records().to_vec();
                        shard.iterator = out.next_shard_iterator().map(str::to_string);
                        // No next iterator: the shard is closed and read to its end.
                        shard.closed = shard.iterator.is_none() && shard.pending.is_empty();
                    }
                    Err(e) => {
                        tracing::warn!(error = %aws_smithy_types::error::display::DisplayErrorContext(&e), shard = id, "stream read failed; will retry");
                        continue;
                    }
                }
            }
            if shard.pending.is_empty() {
                continue;
            }
            idle_round = false;
            let mut event = lambda_event(&shard.pending);
            if let Some(Value::Array(records)) = event.get_mut("Records") {
                records.retain(|r| filter.passes(r));
            }
            let filtered_out = event["Records"].as_array().is_none_or(Vec::is_empty);
            let published = if filtered_out { Ok(Value::Null) } else { consumer.handle(&app, event).await };
            // As Lambda with ReportBatchItemFailures: done up to the record the publisher
            // names (all of them when it names none), retried from there; an error retries all.
            let done = match &published {
                Ok(answer) => match answer["batchItemFailures"][0]["itemIdentifier"].as_str() {
                    None => shard.pending.len(),
                    Some(failed) => shard
                        .pending
                        .iter()
                        .position(|r| r.dynamodb().and_then(|d| d.sequence_number()) == Some(failed))
                        .unwrap_or(0),
                },
                Err(_) => 0,
            };
            let mut done = done;
            if done > 0 {
                shard.attempts = 0;
            } else if done < shard.pending.len() {
                shard.attempts += 1;
                let age = shard.pending.first().map_or(Duration::ZERO, record_age);
                if retries.exhausted(shard.attempts, age) {
                    // Given up, as Lambda gives up: skipped, and a pointer to the failure queue.
                    let skipped = if retries.bisect { 1 } else { shard.pending.len() };
                    let range = |r: Option<&Record>| {
                        r.and_then(|r| r.dynamodb()?.sequence_number()).unwrap_or_default().to_string()
                    };
                    tracing::error!(
                        shard = id,
                        attempts = shard.attempts,
                        from = range(shard.pending.first()),
                        to = range(shard.pending.get(skipped - 1)),
                        on_failure = retries.on_failure,
                        "records given up after their retries"
                    );
                    done = skipped;
                    shard.attempts = 0;
                }
            }
            let last = done.checked_sub(1).and_then(|i| shard.pending.get(i));
            if let Some(sequence) = last.and_then(|r| r.dynamodb()).and_then(|d| d.sequence_number()) {
                checkpoint.save(id, sequence);
                shard.last = Some(sequence.to_string());
            }
            shard.pending.drain(..done);
            if shard.pending.is_empty() {
                shard.closed = shard.iterator.is_none();
            } else {
                let error = published.err().map(|e| e.to_string()).unwrap_or_else(|| "a record failed".into());
                tracing::warn!(error, records = shard.pending.len(), "publishing stopped; will retry");
                tokio::time::sleep(BACKOFF).await;
            }
        }
        if idle_round {
            tokio::time::sleep(idle).await;
        }
    }
}

/// Adds the stream's shards not seen yet, each positioned after its checkpoint (or at its start).
async fn discover(
    streams: &aws_sdk_dynamodbstreams::Client,
    arn: &str,
    checkpoint: &mut Checkpoint,
    shards: &mut HashMap<String, Shard>,
) {
    // Only the shards found at the start begin at the end of the stream.
    let latest = std::mem::take(&mut checkpoint.latest);
    let mut start: Option<String> = None;
    loop {
        let described =
            streams.describe_stream().stream_arn(arn).set_exclusive_start_shard_id(start.take()).send().await;
        let out = match described {
            Ok(out) => out,
            Err(e) => {
                tracing::warn!(error = %e, "describe stream failed; will retry");
                return;
            }
        };
        let Some(description) = out.stream_description() else { return };
        for id in description.shards().iter().filter_map(|s| s.shard_id()) {
            if shards.contains_key(id) {
                continue;
            }
            let last = checkpoint.positions.get(id).cloned();
            let found = if latest && last.is_none() {
                streams
                    .get_shard_iterator()
                    .stream_arn(arn)
                    .shard_id(id)
                    .shard_iterator_type(ShardIteratorType::Latest)
                    .send()
                    .await
                    .map(|out| out.shard_iterator().map(str::to_string))
                    .map_err(BoxError::from)
            } else {
                iterator(streams, arn, id, last.as_deref()).await
            };
            match found {
                Ok(it) => {
                    shards.insert(id.to_string(), Shard { iterator: it, last, ..Default::default() });
                }
                Err(e) => tracing::warn!(error = %e, shard = id, "shard iterator failed; will retry"),
            }
        }
        match description.last_evaluated_shard_id() {
            Some(next) => start = Some(next.to_string()),
            None => return,
        }
    }
}

async fn iterator(
    streams: &aws_sdk_dynamodbstreams::Client,
    arn: &str,
    shard: &str,
    after: Option<&str>,
) -> Result<Option<String>, BoxError> {
    let request = streams.get_shard_iterator().stream_arn(arn).shard_id(shard);
    let request = match after {
        Some(sequence) => request.shard_iterator_type(ShardIteratorType::AfterSequenceNumber).sequence_number(sequence),
        None => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
    };
    Ok(request.send().await?.shard_iterator().map(str::to_string))
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

#[cfg(test)]
mod filter_tests {
    use super::*;

    type Case = (&'static str, &'static str, &'static str);

    /// The template's filter of `consumer` passes every `passes` record and no `stopped` one.
    fn check(consumer: Consumer, passes: &[Case], stopped: &[Case]) {
        let template = std::fs::read_to_string(crate::repo_root().join("template.yaml")).unwrap();
        let filter = Filter::from_template(&template, consumer.resource()).unwrap();
        let record = |(name, image, entity): &Case| json!({ "eventName": name, "dynamodb": { *image: { "entityType": { "S": entity } } } });
        for case in passes {
            assert!(filter.passes(&record(case)), "{consumer:?} {case:?}");
        }
        for case in stopped {
            assert!(!filter.passes(&record(case)), "{consumer:?} {case:?}");
        }
    }

    #[test]
    fn the_templates_stream_filter_passes_only_records_that_announce_something() {
        check(
            Consumer::Publisher,
            &[
                ("INSERT", "NewImage", "Chat"),
                ("MODIFY", "NewImage", "Participant"),
                ("INSERT", "NewImage", "Message"),
                ("MODIFY", "NewImage", "Presence"),
                ("MODIFY", "NewImage", "ChannelCount"),
                ("MODIFY", "NewImage", "ReadMark"),
                ("INSERT", "NewImage", "OfflineMessage"),
                ("INSERT", "NewImage", "Erasure"),
                ("REMOVE", "OldImage", "Participant"),
                ("REMOVE", "OldImage", "Presence"),
            ],
            &[
                ("INSERT", "NewImage", "Typing"),
                ("INSERT", "NewImage", "Idempotency"),
                ("MODIFY", "NewImage", "RateWindow"),
                ("INSERT", "NewImage", "Flag"),
                ("INSERT", "NewImage", "ChannelAgent"),
                ("REMOVE", "OldImage", "Message"),
                ("REMOVE", "OldImage", "Typing"),
            ],
        );
    }

    #[test]
    fn the_readers_retry_and_give_up_as_the_templates_mappings_say() {
        let template = std::fs::read_to_string(crate::repo_root().join("template.yaml")).unwrap();
        let publisher = Retries::from_template(&template, Consumer::Publisher.resource()).unwrap();
        assert_eq!(
            publisher,
            Retries { max_attempts: Some(20), max_age_secs: Some(86400), bisect: true, on_failure: true }
        );
        let push = Retries::from_template(&template, Consumer::Push.resource()).unwrap();
        assert_eq!(push, Retries { max_attempts: Some(3), max_age_secs: Some(60), bisect: false, on_failure: false });
        assert!(!push.exhausted(3, Duration::from_secs(1)) && push.exhausted(4, Duration::from_secs(1)));
        assert!(push.exhausted(1, Duration::from_secs(61)), "too old");
        assert_eq!(poll_interval(), Duration::from_millis(250), "Lambda's cadence unless a test sets another");
    }

    #[test]
    fn the_push_is_invoked_for_chats_participants_messages_typing_and_read_marks_only() {
        check(
            Consumer::Push,
            &[
                ("INSERT", "NewImage", "Chat"),
                ("MODIFY", "NewImage", "Participant"),
                ("INSERT", "NewImage", "Message"),
                ("MODIFY", "NewImage", "Typing"),
                ("INSERT", "NewImage", "ReadMark"),
                ("REMOVE", "OldImage", "Participant"),
            ],
            &[
                ("MODIFY", "NewImage", "Presence"),
                ("INSERT", "NewImage", "Connection"),
                ("INSERT", "NewImage", "Idempotency"),
                ("REMOVE", "OldImage", "Message"),
            ],
        );
    }
}
