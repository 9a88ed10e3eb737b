//! What the two services share on the wire: JSON 1.1 bodies, their errors,
//! timestamps and ARNs.

use crate::protocol::ApiError;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// One of the service's own exceptions. Both services answer every client
/// error with HTTP 400.
pub fn error(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError {
        code,
        message: message.into(),
        status: 400,
    }
}

/// The request body as the operation's input. An empty body stands for `{}`;
/// a body that is not that JSON is a `SerializationException`, as AWS's
/// front end answers.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body: &[u8] = if body.iter().all(|b| b.is_ascii_whitespace()) {
        b"{}"
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| {
        let what = if e.is_syntax() || e.is_eof() {
            "is not valid JSON"
        } else {
            "does not match the operation's input"
        };
        ApiError::serialization(format!("The request body {what}: {e}"))
    })
}

pub fn encode<T: Serialize>(output: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(output)
        .map_err(|e| error_internal(format!("could not encode the answer: {e}")))
}

fn error_internal(message: String) -> ApiError {
    ApiError {
        code: "InternalServiceError",
        message,
        status: 500,
    }
}

/// A member the model requires, or AWS's validation message for its absence
/// (`member` as AWS spells it there: the first letter lower case).
pub fn required<'a, T>(value: &'a Option<T>, member: &str) -> Result<&'a T, ApiError> {
    value.as_ref().ok_or_else(|| {
        error(
            "ValidationException",
            format!("1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"),
        )
    })
}

/// The parts of `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`; the
/// resource keeps any further colons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn<'a> {
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

pub fn parse_arn(s: &str) -> Option<Arn<'_>> {
    let mut parts = s.splitn(6, ':');
    if parts.next()? != "arn" {
        return None;
    }
    let _partition = parts.next()?;
    let (service, region, account, resource) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    Some(Arn {
        service,
        region,
        account,
        resource,
    })
}

/// Standard base64 with padding (RFC 4648), for the opaque values that
/// stand in for ciphertext.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (*b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain:?}");
        }
    }

    #[test]
    fn arns_split_into_their_parts_and_keep_colons_in_the_resource() {
        let arn =
            parse_arn("arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf:password::")
                .unwrap();
        assert_eq!(arn.service, "secretsmanager");
        assert_eq!(arn.region, "eu-west-1");
        assert_eq!(arn.account, "123456789012");
        assert_eq!(arn.resource, "secret:db-AbCdEf:password::");
        assert_eq!(parse_arn("not-an-arn"), None);
        assert_eq!(parse_arn("arn:aws:ssm"), None);
    }

    #[test]
    fn a_missing_member_is_named_as_aws_does() {
        let err = required::<String>(&None, "secretId").unwrap_err();
        assert_eq!(err.code, "ValidationException");
        assert!(
            err.message.contains("Value null at 'secretId'"),
            "{}",
            err.message
        );
    }
}
