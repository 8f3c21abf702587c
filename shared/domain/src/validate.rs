//! Limits on everything a client sends. Over a limit is an invalid input that names the field.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::DomainError;

pub const MAX_ID_CHARS: usize = 128;
pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_TEXT_CHARS: usize = 3800;
pub const MAX_USER_DATA_BYTES: usize = 8 * 1024;
pub const MAX_USER_DATA_DEPTH: usize = 5;
pub const USER_DATA_ERROR: &str = "malformed data object provided in userData property.";

/// An identifier (user, chatter, channel, key): 1 to 128 characters, no control characters.
/// What [`id`] accepts, as a JSON Schema pattern (ECMA-262 and Python `re` alike) for the
/// OpenAPI document: not blank, no control characters (its length is `MAX_ID_CHARS`).
pub const ID_PATTERN: &str = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$";
/// What [`name`] accepts, as a JSON Schema pattern: no control characters.
pub const NAME_PATTERN: &str = r"^[^\x00-\x1f\x7f-\x9f]*$";
/// Text that must not be blank, as a JSON Schema pattern (unanchored: somewhere a
/// character that is not white space).
pub const NOT_BLANK_PATTERN: &str = r"\S";

/// A whole number as JSON Schema counts one: `490.0` is the integer 490 (a client generated
/// from the OpenAPI document may send it so), a fraction or a number out of `T`'s range is
/// refused. For `#[serde(deserialize_with = "validate::whole")]`.
pub fn whole<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<i64>,
{
    use serde::de::Error;
    let n = serde_json::Number::deserialize(deserializer)?;
    let value = match n.as_i64() {
        Some(i) => Some(i),
        // Exact: a float with no fraction well inside i64's range.
        None => n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15).map(|f| f as i64),
    };
    value
        .and_then(|i| T::try_from(i).ok())
        .ok_or_else(|| D::Error::custom(format!("{n} is not a whole number in range")))
}

/// [`whole`] for an optional field (absent or null: None).
pub fn whole_opt<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<i64>,
{
    #[derive(Deserialize)]
    struct Whole<T: TryFrom<i64>>(#[serde(deserialize_with = "whole")] T);
    Option::<Whole<T>>::deserialize(deserializer).map(|w| w.map(|Whole(v)| v))
}

pub fn id(field: &str, value: &str) -> Result<(), DomainError> {
    if value.trim().is_empty() {
        return Err(DomainError::invalid(format!("{field} must not be empty")));
    }
    text(field, value, MAX_ID_CHARS)?;
    if value.chars().any(char::is_control) {
        return Err(DomainError::invalid(format!("{field} must not contain control characters")));
    }
    Ok(())
}

/// A display string: at most `max` characters (counted as characters, not bytes), no
/// control characters.
pub fn name(field: &str, value: &str, max: usize) -> Result<(), DomainError> {
    text(field, value, max)?;
    if value.chars().any(char::is_control) {
        return Err(DomainError::invalid(format!("{field} must not contain control characters")));
    }
    Ok(())
}

/// Free text: at most `max` characters.
pub fn text(field: &str, value: &str, max: usize) -> Result<(), DomainError> {
    if value.chars().count() > max {
        return Err(DomainError::invalid(format!("{field} is longer than {max} characters")));
    }
    Ok(())
}

pub fn optional_name(field: &str, value: &Option<String>, max: usize) -> Result<(), DomainError> {
    value.as_deref().map_or(Ok(()), |v| name(field, v, max))
}

fn depth(value: &Value) -> usize {
    match value {
        Value::Object(m) => 1 + m.values().map(depth).max().unwrap_or(0),
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Whether an object anywhere inside has an empty key: DynamoDB stores objects as maps,
/// whose keys may not be empty at any level.
fn has_empty_key(value: &Value) -> bool {
    match value {
        Value::Object(m) => m.iter().any(|(k, v)| k.is_empty() || has_empty_key(v)),
        Value::Array(a) => a.iter().any(has_empty_key),
        _ => false,
    }
}

/// `userData`: an object, at most 8 KiB as JSON and 5 levels deep, without empty keys.
pub fn user_data(value: Option<Value>) -> Result<Option<Map<String, Value>>, DomainError> {
    let map = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(map)) => map,
        Some(_) => return Err(DomainError::invalid(USER_DATA_ERROR)),
    };
    let size = serde_json::to_vec(&map).map(|v| v.len()).unwrap_or(usize::MAX);
    if size > MAX_USER_DATA_BYTES {
        return Err(DomainError::too_large(format!("userData is larger than {MAX_USER_DATA_BYTES} bytes")));
    }
    if depth(&Value::Object(map.clone())) > MAX_USER_DATA_DEPTH {
        return Err(DomainError::invalid(format!("userData is nested deeper than {MAX_USER_DATA_DEPTH} levels")));
    }
    if map.keys().any(|k| k.is_empty() || k.chars().count() > MAX_ID_CHARS) || map.values().any(has_empty_key) {
        return Err(DomainError::invalid(USER_DATA_ERROR));
    }
    Ok(Some(map))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Kind;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn user_data_must_be_a_small_shallow_object() {
        assert_eq!(user_data(Some(json!([1]))).unwrap_err().message, USER_DATA_ERROR);
        assert_eq!(user_data(Some(json!("x"))).unwrap_err().message, USER_DATA_ERROR);
        assert!(user_data(Some(json!({"a": {"b": 1}}))).unwrap().is_some());
        // Found by `make fuzz`: an empty key inside was a DynamoDB ValidationException (500).
        for empty in [json!({"": 1}), json!({"a": {"": 1}}), json!({"a": [{"b": {"": 1}}]})] {
            assert_eq!(user_data(Some(empty)).unwrap_err().message, USER_DATA_ERROR);
        }
        assert_eq!(
            user_data(Some(json!({"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}))).unwrap_err().kind,
            Kind::Invalid
        );
        assert_eq!(user_data(Some(json!({"a": "x".repeat(9000)}))).unwrap_err().kind, Kind::TooLarge);
    }

    #[test]
    fn a_whole_number_may_be_written_as_a_float_as_json_schema_allows() {
        #[derive(Deserialize, Debug)]
        struct Body {
            #[serde(deserialize_with = "whole")]
            size: u64,
            #[serde(default, deserialize_with = "whole_opt")]
            level: Option<u8>,
        }
        let body = |v: Value| serde_json::from_value::<Body>(v).map(|b| (b.size, b.level));
        assert_eq!(body(json!({"size": 490.0, "level": 2})).unwrap(), (490, Some(2)));
        assert_eq!(body(json!({"size": 7, "level": null})).unwrap(), (7, None));
        assert_eq!(body(json!({"size": 7})).unwrap(), (7, None));
        for bad in [json!({"size": 1.5}), json!({"size": -1}), json!({"size": "1"}), json!({"size": 1, "level": 300})] {
            assert!(body(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn text_counts_characters_not_bytes() {
        assert!(text("text", &"é".repeat(3800), MAX_TEXT_CHARS).is_ok());
        assert!(text("text", &"😀".repeat(3801), MAX_TEXT_CHARS).is_err());
    }

    proptest! {
        #[test]
        fn ids_are_accepted_exactly_when_short_and_printable(s in any::<String>()) {
            let ok = !s.trim().is_empty() && s.chars().count() <= MAX_ID_CHARS && !s.chars().any(char::is_control);
            prop_assert_eq!(id("x", &s).is_ok(), ok);
        }

        /// The OpenAPI document's pattern says what `id` checks.
        #[test]
        fn the_documented_id_pattern_is_what_id_checks(s in any::<String>()) {
            let pattern = fancy_regex::Regex::new(ID_PATTERN).unwrap();
            let documented = pattern.is_match(&s).unwrap() && s.chars().count() <= MAX_ID_CHARS;
            prop_assert_eq!(id("x", &s).is_ok(), documented);
        }
    }
}
