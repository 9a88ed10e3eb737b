//! The opaque `nextToken` of every List/Describe operation that pages
//! through an ordered map (ECS, CloudWatch Logs, SSM).
//!
//! A token names a position, not an offset: it is the key of the last item
//! answered, so the next page is a range query after that key, and a page
//! boundary stays put when items are added or removed meanwhile. The key is
//! hex-encoded so that it is opaque to clients and survives any transport.
//!
//! Which error a token that does not decode gets is each service's own
//! (ECS: InvalidParameterException, Logs: InvalidParameterException with
//! its own words, SSM: InvalidNextToken); so is whether an empty token means
//! "from the start". This module only answers `None` for a bad token.

/// The token for "after the item whose key is `last_key`".
pub fn encode(last_key: &str) -> String {
    hex::encode(last_key.as_bytes())
}

/// The key a token stands for, or None for a token ecsbox did not give.
pub fn decode(token: &str) -> Option<String> {
    hex::decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
}

/// Takes up to `size` items; if more remain, the token for the next page
/// names the last item taken.
pub fn take_page<T>(
    items: impl Iterator<Item = T>,
    size: usize,
    key_of: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    let mut items = items.peekable();
    let page: Vec<T> = items.by_ref().take(size).collect();
    let next = if items.peek().is_some() {
        page.last().map(|last| encode(&key_of(last)))
    } else {
        None
    };
    (page, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_any_key() {
        for key in ["", "a", "arn:aws:ecs:us-east-1:1:service/c/s", "grüße/日本"] {
            assert_eq!(decode(&encode(key)).as_deref(), Some(key));
        }
    }

    #[test]
    fn tokens_ecsbox_did_not_give_are_refused() {
        assert_eq!(decode("zz-not-hex"), None);
        assert_eq!(decode("abc"), None); // odd length
        assert_eq!(decode("ff"), None); // not UTF-8
    }

    #[test]
    fn a_page_names_its_last_item_only_when_more_follow() {
        let (page, next) = take_page(["a", "b", "c"].into_iter(), 2, |s| s.to_string());
        assert_eq!(page, ["a", "b"]);
        assert_eq!(decode(next.as_deref().unwrap()).as_deref(), Some("b"));
        let (page, next) = take_page(["c"].into_iter(), 1, |s| s.to_string());
        assert_eq!((page, next), (vec!["c"], None));
    }
}
