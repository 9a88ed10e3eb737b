//! Pagination tokens. They are opaque to clients but carry a position, not
//! an offset, so a page boundary stays put when events or streams are added.
//!
//! - List tokens (DescribeLogGroups, DescribeLogStreams): the sort key of the
//!   last item answered, in the codec every service shares (`store::page_token`).
//! - GetLogEvents: AWS's `f/<56 digits>/s` and `b/<56 digits>/s`, here the
//!   (timestamp, sequence) key of a position between two events of the stream.
//! - FilterLogEvents: the last event answered (timestamp, stream, sequence)
//!   and the direction of reading, in that same codec.
//!
//! A token that does not decode is Logs' own InvalidParameterException; an
//! empty list token decodes to the empty key (a position like any other).

use super::errors::invalid_token;
use crate::protocol::ApiError;
use crate::store::page_token;

pub fn decode_list_token(token: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(token) = token else { return Ok(None) };
    page_token::decode(token)
        .map(Some)
        .ok_or_else(invalid_token)
}

/// Takes up to `limit` items, after the token's key, from items sorted by
/// key in the order they are to be answered (`descending` says which way the
/// keys run). The token of the answer names its last item when more follow.
pub fn list_page<T>(
    items: Vec<(String, T)>,
    after: Option<&str>,
    descending: bool,
    limit: usize,
) -> (Vec<T>, Option<String>) {
    let rest = items.into_iter().filter(|(k, _)| match after {
        Some(after) if descending => k.as_str() < after,
        Some(after) => k.as_str() > after,
        None => true,
    });
    let (page, next) = page_token::take_page(rest, limit, |(k, _)| k.clone());
    (page.into_iter().map(|(_, t)| t).collect(), next)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Forward,
    Backward,
}

/// A GetLogEvents token: a direction and a position key.
pub fn stream_token(direction: Direction, key: (i64, u64)) -> String {
    let d = match direction {
        Direction::Forward => 'f',
        Direction::Backward => 'b',
    };
    // 26 digits of timestamp and 30 of sequence: AWS's 56 digits.
    format!("{d}/{:026}{:030}/s", key.0.max(0), key.1)
}

pub fn decode_stream_token(token: &str) -> Result<(Direction, (i64, u64)), ApiError> {
    let (direction, rest) = match token.split_at_checked(2) {
        Some(("f/", rest)) => (Direction::Forward, rest),
        Some(("b/", rest)) => (Direction::Backward, rest),
        _ => return Err(invalid_token()),
    };
    let digits = rest.strip_suffix("/s").unwrap_or(rest);
    if digits.len() != 56 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid_token());
    }
    let timestamp = digits[..26].parse::<i64>().map_err(|_| invalid_token())?;
    let seq = digits[26..].parse::<u64>().map_err(|_| invalid_token())?;
    Ok((direction, (timestamp, seq)))
}

/// Where a FilterLogEvents page ended: its last event and the direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterPosition {
    pub descending: bool,
    pub timestamp: i64,
    pub stream: String,
    pub seq: u64,
}

pub fn filter_token(p: &FilterPosition) -> String {
    let d = if p.descending { 'd' } else { 'a' };
    page_token::encode(&format!("{d}:{}:{}:{}", p.timestamp, p.seq, p.stream))
}

pub fn decode_filter_token(token: &str) -> Result<FilterPosition, ApiError> {
    let text = page_token::decode(token).ok_or_else(invalid_token)?;
    let mut parts = text.splitn(4, ':');
    let (Some(d), Some(ts), Some(seq), Some(stream)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid_token());
    };
    let descending = match d {
        "a" => false,
        "d" => true,
        _ => return Err(invalid_token()),
    };
    Ok(FilterPosition {
        descending,
        timestamp: ts.parse().map_err(|_| invalid_token())?,
        seq: seq.parse().map_err(|_| invalid_token())?,
        stream: stream.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_tokens_look_like_aws_and_round_trip() {
        let t = stream_token(Direction::Forward, (1_700_000_000_123, 42));
        assert!(
            t.starts_with("f/") && t.ends_with("/s") && t.len() == 2 + 56 + 2,
            "{t}"
        );
        assert_eq!(
            decode_stream_token(&t).unwrap(),
            (Direction::Forward, (1_700_000_000_123, 42))
        );
        let b = stream_token(Direction::Backward, (5, 0));
        assert_eq!(decode_stream_token(&b).unwrap().0, Direction::Backward);
        assert!(decode_stream_token("x/123").is_err());
        assert!(decode_stream_token("f/12").is_err());
    }

    #[test]
    fn list_pages_continue_after_the_last_key() {
        let items = || {
            vec![
                ("a".to_string(), 1),
                ("b".to_string(), 2),
                ("c".to_string(), 3),
            ]
        };
        let (page, next) = list_page(items(), None, false, 2);
        assert_eq!(page, [1, 2]);
        let after = decode_list_token(next.as_deref()).unwrap();
        let (page, next) = list_page(items(), after.as_deref(), false, 2);
        assert_eq!((page, next), (vec![3], None));
        assert!(decode_list_token(Some("zz")).is_err());
    }

    #[test]
    fn filter_tokens_round_trip_stream_names_with_colons_of_their_own() {
        let p = FilterPosition {
            descending: true,
            timestamp: 7,
            stream: "a/b".into(),
            seq: 3,
        };
        assert_eq!(decode_filter_token(&filter_token(&p)).unwrap(), p);
        assert!(decode_filter_token("nothex").is_err());
    }
}
