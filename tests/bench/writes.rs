//! Write units by AWS's documented rules, counted from what a request changed rather than
//! from DynamoDB Local's report (whose transactional figures follow no documented rule:
//! docs/performance.md). The table's stream gives each written item's old and new image;
//! from them: the item's size (the larger of the two), each index entry added, changed,
//! moved (delete and put) or dropped, and a transaction's items doubled.

use std::collections::HashMap;

use aws_sdk_dynamodbstreams::types::{AttributeValue, Record, ShardIteratorType};
use aws_sdk_dynamodbstreams::Client;

const INDEXES: [&str; 3] = ["GSI1", "GSI2", "GSI3"];

/// Reads the table's stream from where it stood when made.
pub struct StreamMeter {
    client: Client,
    iterators: Vec<String>,
}

/// What one request wrote, in write units.
#[derive(Debug, Default, Clone, Copy)]
pub struct Written {
    /// The items' own units, doubled for a transaction.
    pub table: f64,
    /// Index entries written (AWS documents no doubling for them).
    pub index: f64,
}

impl StreamMeter {
    pub async fn new(client: Client, stream_arn: &str) -> Self {
        let description = client.describe_stream().stream_arn(stream_arn).send().await.unwrap();
        let mut iterators = Vec::new();
        for shard in description.stream_description().map(|d| d.shards()).unwrap_or_default() {
            let it = client
                .get_shard_iterator()
                .stream_arn(stream_arn)
                .shard_id(shard.shard_id().unwrap_or_default())
                .shard_iterator_type(ShardIteratorType::Latest)
                .send()
                .await
                .unwrap();
            iterators.extend(it.shard_iterator().map(str::to_string));
        }
        StreamMeter { client, iterators }
    }

    /// Every record written since the last call.
    pub async fn records(&mut self) -> Vec<Record> {
        let mut records = Vec::new();
        for it in &mut self.iterators {
            loop {
                let out = self.client.get_records().shard_iterator(it.as_str()).send().await.unwrap();
                if let Some(next) = out.next_shard_iterator() {
                    *it = next.to_string();
                }
                if out.records().is_empty() {
                    break;
                }
                records.extend(out.records().iter().cloned());
            }
        }
        records
    }
}

/// The units of `records`, all written by transactions or none.
pub fn units(records: &[Record], transactional: bool) -> Written {
    let mut w = Written::default();
    for r in records {
        let Some(d) = r.dynamodb() else { continue };
        let (old, new) = (d.old_image(), d.new_image());
        let size = |image: Option<&HashMap<String, AttributeValue>>| image.map_or(0, item_size);
        let item = kb_units(size(old).max(size(new)));
        w.table += if transactional { 2.0 * item } else { item };
        for index in INDEXES {
            let key = |image: Option<&HashMap<String, AttributeValue>>| {
                let image = image?;
                Some((image.get(&format!("{index}PK"))?.clone(), image.get(&format!("{index}SK"))?.clone()))
            };
            w.index += match (key(old), key(new)) {
                (None, None) => 0.0,
                (None, Some(_)) => kb_units(size(new)),
                (Some(_), None) => kb_units(size(old)),
                // Projection ALL: any change of the item rewrites its entry.
                (Some(a), Some(b)) if a == b => {
                    if old == new {
                        0.0
                    } else {
                        item
                    }
                }
                (Some(_), Some(_)) => kb_units(size(old)) + kb_units(size(new)),
            };
        }
    }
    w
}

fn kb_units(bytes: usize) -> f64 {
    bytes.div_ceil(1024).max(1) as f64
}

/// An item's size by DynamoDB's rules: names and values, UTF-8 bytes; numbers about one
/// byte per two digits, plus one; 3 bytes per list or map and 1 per element.
fn item_size(item: &HashMap<String, AttributeValue>) -> usize {
    item.iter().map(|(name, value)| name.len() + value_size(value)).sum()
}

fn value_size(v: &AttributeValue) -> usize {
    match v {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => n.len().div_ceil(2) + 1,
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Ss(v) => v.iter().map(String::len).sum(),
        AttributeValue::Ns(v) => v.iter().map(|n| n.len().div_ceil(2) + 1).sum(),
        AttributeValue::Bs(v) => v.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::M(m) => 3 + m.iter().map(|(k, v)| k.len() + value_size(v) + 1).sum::<usize>(),
        AttributeValue::L(l) => 3 + l.iter().map(|v| value_size(v) + 1).sum::<usize>(),
        _ => 1,
    }
}
