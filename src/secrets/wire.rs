//! What the two services share: their errors, ARNs and the base64 that
//! stands in for ciphertext. Requests and answers are the generated shapes.

use crate::protocol::ApiError;

/// One of the service's own exceptions, with the code and status its model
/// gives it (`as_str`, `status` of the generated `ErrorCode`).
pub fn error(code: &'static str, status: u16, message: impl Into<String>) -> ApiError {
    ApiError {
        code,
        message: message.into(),
        status,
    }
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
}
