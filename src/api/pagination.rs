//! maxResults / nextToken as the List operations use them. A token is the
//! hex of the last key returned: opaque to clients, and a page is a range
//! query on an ordered map rather than a scan from the start.

use crate::protocol::ApiError;

/// The page size: `requested` if within 1..=`max`, else AWS's error.
pub fn page_size(requested: Option<i32>, default: usize, max: usize) -> Result<usize, ApiError> {
    match requested {
        None => Ok(default),
        Some(n) if n >= 1 && n as usize <= max => Ok(n as usize),
        Some(n) => Err(ApiError::invalid_parameter(format!(
            "maxResults must be between 1 and {max}; got {n}."
        ))),
    }
}

pub fn encode_token(last_key: &str) -> String {
    hex::encode(last_key.as_bytes())
}

/// The key a `nextToken` stands for; a token we did not give is refused.
pub fn decode_token(token: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(token) = token.filter(|t| !t.is_empty()) else { return Ok(None) };
    hex::decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .map(Some)
        .ok_or_else(|| ApiError::invalid_parameter("Invalid nextToken: it was not returned by a previous call."))
}

/// Takes up to `size` items; if more remain, the token for the next page is
/// made from the last item taken.
pub fn take_page<T>(
    items: impl Iterator<Item = T>,
    size: usize,
    key_of: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    let mut items = items.peekable();
    let page: Vec<T> = items.by_ref().take(size).collect();
    let next = if items.peek().is_some() { page.last().map(|last| encode_token(&key_of(last))) } else { None };
    (page, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_tokens_round_trip() {
        let (page, next) = take_page(["a", "b", "c"].into_iter(), 2, |s| s.to_string());
        assert_eq!(page, vec!["a", "b"]);
        assert_eq!(decode_token(next.as_deref()).unwrap().as_deref(), Some("b"));
        let (page, next) = take_page(["c"].into_iter(), 2, |s| s.to_string());
        assert_eq!(page, vec!["c"]);
        assert_eq!(next, None);
    }

    #[test]
    fn bad_inputs_are_refused() {
        assert_eq!(page_size(Some(0), 100, 100).unwrap_err().code, "InvalidParameterException");
        assert_eq!(page_size(Some(101), 100, 100).unwrap_err().code, "InvalidParameterException");
        assert_eq!(decode_token(Some("zz-not-hex")).unwrap_err().code, "InvalidParameterException");
        assert_eq!(page_size(None, 100, 100).unwrap(), 100);
    }
}
