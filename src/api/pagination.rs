//! maxResults / nextToken as ECS's List operations use them: ECS's limits
//! and ECS's error for a bad token, on the codec every service shares
//! (`store::page_token`: a token names the last key answered, and a page is
//! a range query on an ordered map rather than a scan from the start).

use crate::protocol::ApiError;
use crate::store::page_token;

pub use page_token::{encode as encode_token, take_page};

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

/// The key a `nextToken` stands for; a token we did not give is refused.
pub fn decode_token(token: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    page_token::decode(token).map(Some).ok_or_else(|| {
        ApiError::invalid_parameter("Invalid nextToken: it was not returned by a previous call.")
    })
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
        assert_eq!(
            page_size(Some(0), 100, 100).unwrap_err().code,
            "InvalidParameterException"
        );
        assert_eq!(
            page_size(Some(101), 100, 100).unwrap_err().code,
            "InvalidParameterException"
        );
        assert_eq!(
            decode_token(Some("zz-not-hex")).unwrap_err().code,
            "InvalidParameterException"
        );
        assert_eq!(page_size(None, 100, 100).unwrap(), 100);
    }
}
