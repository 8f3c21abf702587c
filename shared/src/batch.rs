//! AWS's batch calls are limited both in entries and in bytes together (SNS PublishBatch:
//! ten and 256 KB; SQS SendMessageBatch: ten and 1 MiB). Both callers split with this.

/// `items`, in order, in runs of at most `count` whose `size`s add up to at most `bytes`
/// (an item larger than that on its own makes a run of one: the call says why it fails).
pub fn runs<T>(items: &[T], count: usize, bytes: usize, size: impl Fn(&T) -> usize) -> Vec<&[T]> {
    let mut runs = Vec::new();
    let (mut start, mut total) = (0, 0);
    for (i, item) in items.iter().enumerate() {
        let n = size(item);
        if i > start && (i - start == count || total + n > bytes) {
            runs.extend(items.get(start..i));
            (start, total) = (i, 0);
        }
        total += n;
    }
    runs.extend(items.get(start..).filter(|rest| !rest.is_empty()));
    runs
}

/// A message's size as SNS and SQS count it: its body, and each string attribute's name,
/// data type and value.
pub fn message_size<'a>(body: &str, attributes: impl IntoIterator<Item = (&'a str, &'a str)>) -> usize {
    body.len() + attributes.into_iter().map(|(name, value)| name.len() + "String".len() + value.len()).sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::runs;

    #[test]
    fn runs_keep_order_and_both_limits() {
        let sizes = [5, 5, 5, 9, 1, 1, 1, 20, 2];
        let split = runs(&sizes, 3, 10, |n| *n);
        assert_eq!(split, vec![&[5, 5][..], &[5][..], &[9, 1][..], &[1, 1][..], &[20][..], &[2][..]]);
        assert_eq!(runs(&[1; 7], 3, 100, |n| *n).iter().map(|r| r.len()).collect::<Vec<_>>(), [3, 3, 1]);
        assert!(runs(&[] as &[usize], 3, 10, |n| *n).is_empty());
    }
}
