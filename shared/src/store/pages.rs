//! Paging: cursors, and the merge of a list's shards.

use super::*;

#[derive(Clone, Serialize, Deserialize)]
pub(super) struct Cursor {
    /// Which of the planned queries to resume.
    pub(super) q: usize,
    /// Its LastEvaluatedKey (all our keys are strings).
    pub(super) k: HashMap<String, String>,
}

pub(super) fn encode_cursor(q: usize, key: &Item) -> Option<String> {
    let k = key.iter().map(|(n, v)| Some((n.clone(), v.as_s().ok()?.clone()))).collect::<Option<_>>()?;
    let json = serde_json::to_vec(&Cursor { q, k }).ok()?;
    Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json))
}

pub(super) fn decode_cursor(cursor: &str) -> StoreResult<Cursor> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| StoreError::Refused(DomainError::invalid("invalid cursor")))
}

/// Sort key condition of one planned query.
#[derive(Debug, Clone)]
pub enum SortKey {
    Any,
    BeginsWith(String),
    Before(String),
    Between(String, String),
}

/// One Query on an index, part of a list that may span several partitions.
#[derive(Debug, Clone)]
pub struct IndexQuery {
    pub index: &'static str,
    pub pk: String,
    pub sk: SortKey,
}

/// An item of a sharded list, with its index key (the index's keys and the table's).
pub(super) struct Keyed {
    pub(super) key: Item,
    pub(super) item: Item,
}

/// The index key of `item` in `index` (a cursor's position).
pub(super) fn index_key(item: &Item, index: &str) -> Item {
    let names = [format!("{index}PK"), format!("{index}SK"), "PK".to_string(), "SK".to_string()];
    names.into_iter().filter_map(|n| Some((n.clone(), item.get(&n)?.clone()))).collect()
}

pub(super) fn sort_key(key: &Item, index: &str) -> String {
    key.get(&format!("{index}SK")).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default()
}

/// Where `query` starts after `key` (the last item read, maybe in another shard): the
/// same sort key and table key, in `query`'s own partition. Sort keys end with the chat
/// id, so a position is the same in every shard.
pub(super) fn start_in(query: &IndexQuery, key: &Item) -> StoreResult<Item> {
    let mut start = index_key(key, query.index);
    if start.len() != 4 {
        return Err(StoreError::Refused(DomainError::invalid("invalid cursor")));
    }
    start.insert(format!("{}PK", query.index), s(query.pk.clone()));
    Ok(start)
}

/// The shards' pages merged by sort key, up to the first place a shard stopped before its
/// end (past it, that shard may hold items not read yet), and that place, if any.
pub(super) fn merge_shards(pages: Vec<(Vec<Item>, Option<Item>)>, index: &str) -> (Vec<Keyed>, Option<Item>) {
    let horizon = pages
        .iter()
        .filter_map(|(_, last)| last.as_ref())
        .min_by_key(|key| sort_key(key, index))
        .map(|key| index_key(key, index));
    let limit = horizon.as_ref().map(|key| sort_key(key, index));
    let mut merged: Vec<Keyed> = pages
        .into_iter()
        .flat_map(|(items, _)| items)
        .map(|item| Keyed { key: index_key(&item, index), item })
        .filter(|k| limit.as_ref().is_none_or(|l| sort_key(&k.key, index) <= *l))
        .collect();
    merged.sort_by_cached_key(|k| sort_key(&k.key, index));
    (merged, horizon)
}
