//! SigV4 signature verification (strict mode): the canonical request
//! (`canonical.rs`), the string to sign, and the signature compared in
//! constant time. The signing key and HMAC come from aws-sigv4, the crate
//! the Rust SDK signs with.

mod canonical;
#[cfg(test)]
mod tests;

pub use canonical::{
    canonical_headers, canonical_query, canonical_request, canonical_uri, payload_hash,
    UNSIGNED_PAYLOAD,
};

use super::{AuthorizationHeader, SignedRequest};
use crate::civil::{civil_from_days, days_from_civil};
use crate::protocol::ApiError;
use aws_sigv4::sign::v4::{calculate_signature, generate_signing_key};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// AWS's answer to a signature that does not match, word for word.
pub const SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the signature you provided. \
Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

/// Parses `YYYYMMDDTHHMMSSZ` (ISO-8601 basic format, UTC).
pub fn parse_amz_date(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, se) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let secs = days_from_civil(y, mo as u32, d as u32) * 86_400 + h * 3600 + mi * 60 + se;
    Some(UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).ok()?))
}

/// Formats a time as `YYYYMMDDTHHMMSSZ`.
pub fn format_amz_date(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}{mo:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `DATE/REGION/SERVICE/aws4_request`.
pub fn credential_scope(date: &str, region: &str, service: &str) -> String {
    format!("{date}/{region}/{service}/aws4_request")
}

/// The string the signature is the HMAC of.
pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    let hashed = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
        canonical_request.as_bytes(),
    ));
    format!("{ALGORITHM}\n{amz_date}\n{scope}\n{hashed}")
}

fn invalid_signature(message: &str) -> ApiError {
    ApiError::protocol("InvalidSignatureException", 403, message)
}

/// Checks `auth.signature` against the one `secret` gives for `req`.
/// The caller has already checked the scope's service and the date's skew.
pub fn verify(
    secret: &str,
    auth: &AuthorizationHeader,
    amz_date: &str,
    signed_at: SystemTime,
    req: &SignedRequest<'_>,
) -> Result<(), ApiError> {
    // Without the host a signature could be replayed against another endpoint.
    if !auth.signed_headers.iter().any(|h| h == "host") {
        return Err(invalid_signature(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }
    let payload_hash = payload_hash(req.headers, req.body)?;
    let canonical = canonical_request(req, &auth.signed_headers, &payload_hash);
    let to_sign = string_to_sign(
        amz_date,
        &credential_scope(&auth.date, &auth.region, &auth.service),
        &canonical,
    );
    let key = generate_signing_key(secret, signed_at, &auth.region, &auth.service);
    let expected = calculate_signature(key, to_sign.as_bytes());
    if constant_time_eq(expected.as_bytes(), auth.signature.as_bytes()) {
        return Ok(());
    }
    // AWS puts these two in the message; they stay in the log here, where a
    // developer debugging a hand-written signer can turn them on.
    tracing::debug!(access_key = %auth.access_key, canonical_request = %canonical, string_to_sign = %to_sign, "SigV4 signature mismatch");
    Err(invalid_signature(SIGNATURE_MISMATCH))
}

/// Compares without stopping at the first difference, so the time taken
/// does not tell how much of a guessed signature was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
