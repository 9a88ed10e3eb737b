//! The canonical request of SigV4, step by step, as the AWS documentation
//! and the public test suite define it for every service but S3: the path
//! is normalized and each segment encoded again (an already-encoded `%3D`
//! becomes `%253D`), the query is decoded, encoded and sorted, and only the
//! headers the client listed in `SignedHeaders` are covered.

use crate::auth::SignedRequest;
use crate::protocol::ApiError;
use http::HeaderMap;
use sha2::{Digest, Sha256};

/// The payload hash a client sends when it chose not to sign the body.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// The six lines of the canonical request, joined by `\n`.
pub fn canonical_request(
    req: &SignedRequest<'_>,
    signed_headers: &[String],
    payload_hash: &str,
) -> String {
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        canonical_uri(req.path),
        canonical_query(req.query),
        canonical_headers(req.headers, signed_headers),
        signed_headers.join(";"),
        payload_hash
    )
}

/// The path with dot segments and empty segments removed, then every byte
/// outside the unreserved set (and `/`) percent-encoded, `%` included.
pub fn canonical_uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 8);
    for byte in normalize_path(path).bytes() {
        if byte == b'/' {
            out.push('/');
        } else {
            push_encoded(&mut out, byte);
        }
    }
    out
}

/// RFC 3986 section 5.2.4 (remove dot segments), plus collapsing of empty
/// segments; a trailing slash stays, as in the test suite's `get-slashes`.
fn normalize_path(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let ends_with_slash = ["/", "/.", "/.."].iter().any(|end| path.ends_with(end));
    let mut normalized = format!("/{}", segments.join("/"));
    if ends_with_slash && !normalized.ends_with('/') {
        normalized.push('/');
    }
    normalized
}

/// `key=value` pairs, each side decoded then encoded, sorted by key then
/// value; a key without `=` gets an empty value. `+` is read as a space,
/// as the form decoding of the Rust SDK's signer does.
pub fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (
                encode_all(&decode_query_part(key)),
                encode_all(&decode_query_part(value)),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// One `name:value\n` line per signed header, in the order the client listed
/// them. Repeated headers join with `,` in the order received; each value is
/// trimmed and its runs of spaces collapsed. A signed header that is absent
/// gets an empty value, so the signature simply fails to match.
pub fn canonical_headers(headers: &HeaderMap, signed_headers: &[String]) -> String {
    let mut out = String::new();
    for name in signed_headers {
        let values: Vec<String> = headers
            .get_all(name.as_str())
            .iter()
            .map(|v| collapse_spaces(&String::from_utf8_lossy(v.as_bytes())))
            .collect();
        out.push_str(name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    out
}

/// The last line of the canonical request. A client may send the body's
/// hash in `x-amz-content-sha256`; it must then be the real one (or say the
/// body is unsigned), otherwise the body was changed after signing.
pub fn payload_hash(headers: &HeaderMap, body: &[u8]) -> Result<String, ApiError> {
    let body_hash = hex::encode(Sha256::digest(body));
    let Some(declared) = headers.get("x-amz-content-sha256") else {
        return Ok(body_hash);
    };
    let declared = declared.to_str().unwrap_or("").trim();
    if declared == UNSIGNED_PAYLOAD || declared.eq_ignore_ascii_case(&body_hash) {
        return Ok(declared.to_string());
    }
    Err(ApiError::protocol(
        "InvalidSignatureException",
        403,
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
    ))
}

/// Trims spaces at both ends and turns every run of spaces into one. Only
/// spaces: other whitespace is kept, as the SDKs' signers keep it.
fn collapse_spaces(value: &str) -> String {
    value
        .split(' ')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Percent-decodes a query key or value; an invalid escape stays as it is.
fn decode_query_part(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex_pair = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex_pair) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (other, _) => {
                out.push(other);
                i += 1;
            }
        }
    }
    out
}

fn encode_all(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &byte in bytes {
        push_encoded(&mut out, byte);
    }
    out
}

/// Appends `byte` as itself if it is unreserved (RFC 3986), else as `%XX`.
fn push_encoded(out: &mut String, byte: u8) {
    if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
        out.push(byte as char);
    } else {
        out.push_str(&format!("%{byte:02X}"));
    }
}
