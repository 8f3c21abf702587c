//! sendFilteredMessage's filter: a regular expression the widget sends with a message;
//! where it matches the message's text, customers never see the message.
//!
//! The pattern is a customer's, so it is untrusted: it is compiled and run once, when the
//! message is posted, under tight limits, and only the outcome is stored
//! ([`crate::model::Message::filtered`]). No read, event or push compiles a
//! pattern. The engine is fancy-regex because the seed's widgets send JavaScript regular
//! expressions, lookahead included, which the linear-time engines do not run: its
//! backtracking is bounded by a step limit, and the parts without look-around run on the
//! regex crate's linear-time engine under a small size limit.

use crate::error::DomainError;

/// The longest pattern accepted, in characters.
pub const MAX_FILTER_CHARS: usize = 200;
/// The compiled program's size limit (bytes, per delegated sub-expression): a nest of
/// counted repetitions such as `(?:(?:.?){30}){30}` expands past it and is refused, while
/// `\d{16}` or `\w+@\w+\.\w+` (Unicode classes are large) fit; measured in release, the
/// largest of those runs in about 1.5 ms on 3,800 characters.
const SIZE_LIMIT: usize = 256 * 1024;
/// The lazy DFA's cache.
const DFA_SIZE_LIMIT: usize = 256 * 1024;
/// Backtracking steps of one evaluation (fancy parts only): a few milliseconds at most.
const BACKTRACK_LIMIT: usize = 50_000;
/// Groups nested deeper than this are refused before compiling.
const MAX_NESTING: usize = 8;

fn refused(why: &str) -> DomainError {
    DomainError::invalid(format!("filter {why}"))
}

/// How deep the pattern's groups nest (an escaped or class bracket is not a group).
fn nesting(pattern: &str) -> usize {
    let (mut depth, mut deepest, mut escaped, mut in_class) = (0usize, 0usize, false, false);
    for c in pattern.chars() {
        match (escaped, in_class, c) {
            (true, ..) => escaped = false,
            (false, _, '\\') => escaped = true,
            (false, false, '[') => in_class = true,
            (false, true, ']') => in_class = false,
            (false, false, '(') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (false, false, ')') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Whether `pattern` matches `text`: the filter's outcome for that message. A pattern that
/// is too long, too deep, too large once compiled, does not compile, or takes more than its
/// step budget on this text is refused (the post is a 400): nothing is stored.
pub fn hides(pattern: &str, text: &str) -> Result<bool, DomainError> {
    if pattern.chars().count() > MAX_FILTER_CHARS {
        return Err(refused(&format!("is longer than {MAX_FILTER_CHARS} characters")));
    }
    if nesting(pattern) > MAX_NESTING {
        return Err(refused(&format!("nests groups deeper than {MAX_NESTING}")));
    }
    let regex = fancy_regex::RegexBuilder::new(pattern)
        .backtrack_limit(BACKTRACK_LIMIT)
        .delegate_size_limit(SIZE_LIMIT)
        .delegate_dfa_size_limit(DFA_SIZE_LIMIT)
        .build()
        .map_err(|e| match e {
            fancy_regex::Error::CompileError(_) => {
                refused("is too large once compiled: use a simpler regular expression")
            }
            _ => refused("is not a valid regular expression"),
        })?;
    regex.is_match(text).map_err(|_| refused("takes too long to run on this text: use a simpler regular expression"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn a_filter_matches_with_the_widgets_inline_flags_and_lookahead() {
        assert_eq!(hides("(?i)code", "Code AB12"), Ok(true), "/code/i from the widget");
        assert_eq!(hides("code", "Code AB12"), Ok(false), "case matters without the flag");
        assert_eq!(hides(r"^(?=.*\d)(?=.*[A-Z]).{6,}$", "Passw0rd"), Ok(true), "JavaScript lookahead");
        assert_eq!(hides(r"^(?!.*secret)", "a secret"), Ok(false));
        for ordinary in [r"\d{4} \d{4}", r"\w+@\w+\.\w+", r"\d{16}", r"\b\d{3}\b"] {
            assert!(hides(ordinary, "card 4111 1111").is_ok(), "{ordinary}");
        }
        assert!(hides("(", "x").is_err(), "a pattern that does not compile is refused");
    }

    #[test]
    fn costly_patterns_are_refused_or_cheap() {
        let text = "a".repeat(3800);
        for pattern in [
            "(?:(?:.?){30}){30}b",
            "(?:(?:(?:.?){45}){45}){45}b",
            "(?:a+)+(?=b)",
            "(a*)*\\1b",
            "((((((((((a))))))))))",
            &"x".repeat(201),
        ] {
            let started = Instant::now();
            let outcome = hides(pattern, &text);
            assert!(started.elapsed() < Duration::from_millis(500), "{pattern}: {:?}", started.elapsed());
            assert!(outcome.is_err() || outcome == Ok(false), "{pattern}: {outcome:?}");
        }
        assert!(hides("(?:(?:.?){30}){30}b", &text).is_err(), "the review's pattern is refused");
    }
}
