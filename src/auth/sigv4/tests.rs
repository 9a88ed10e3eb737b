//! SigV4 against the public AWS test suite (`src/auth/testdata/`, see its
//! README), and the rules the suite does not cover.

use super::*;
use crate::auth::{parse_authorization, SignedRequest};
use http::header::{HeaderName, HeaderValue};
use http::HeaderMap;
use std::path::{Path, PathBuf};

/// Every case copied into testdata; the test fails if one is missing, so the
/// suite cannot shrink unnoticed.
const CASES: &[&str] = &[
    "double-encode-path",
    "get-header-key-duplicate",
    "get-header-value-multiline",
    "get-header-value-order",
    "get-header-value-trim",
    "get-relative-normalized",
    "get-relative-relative-normalized",
    "get-slash-dot-slash-normalized",
    "get-slash-normalized",
    "get-slash-pointless-dot-normalized",
    "get-slashes-normalized",
    "get-space-normalized",
    "get-unreserved",
    "get-utf8",
    "get-vanilla",
    "get-vanilla-empty-query-key",
    "get-vanilla-query",
    "get-vanilla-query-order-encoded",
    "get-vanilla-query-order-key-case",
    "get-vanilla-query-unreserved",
    "get-vanilla-utf8-query",
    "get-vanilla-with-session-token",
    "post-header-key-case",
    "post-header-key-sort",
    "post-header-value-case",
    "post-sts-header-after",
    "post-sts-header-before",
    "post-vanilla",
    "post-vanilla-empty-query-value",
    "post-vanilla-query",
    "post-x-www-form-urlencoded",
    "post-x-www-form-urlencoded-parameters",
];

/// A request as a server receives it, read from `header-signed-request.txt`.
struct ParsedRequest {
    method: String,
    path: String,
    query: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl ParsedRequest {
    fn signed(&self) -> SignedRequest<'_> {
        SignedRequest {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            headers: &self.headers,
            body: &self.body,
        }
    }
}

/// Request line, `Name:value` lines (a line starting with whitespace
/// continues the previous value), a blank line, the body.
fn parse_request(text: &str) -> ParsedRequest {
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = head.lines();
    let request_line = lines.next().expect("request line");
    let (method, rest) = request_line.split_once(' ').expect("method");
    // The target may hold raw spaces (get-space-normalized): the version is the last word.
    let target = rest.strip_suffix(" HTTP/1.1").unwrap_or(rest);
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            let last = fields.last_mut().expect("continuation after a header");
            last.1.push(' ');
            last.1.push_str(line.trim());
        } else if let Some((name, value)) = line.split_once(':') {
            fields.push((name.to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    let mut headers = HeaderMap::new();
    for (name, value) in fields {
        headers.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(&value).unwrap(),
        );
    }
    ParsedRequest {
        method: method.into(),
        path: path.into(),
        query: query.into(),
        headers,
        body: body.as_bytes().to_vec(),
    }
}

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/auth/testdata")
}

fn read(case: &str, file: &str) -> Option<String> {
    std::fs::read_to_string(testdata().join(case).join(file)).ok()
}

fn secret_of(case: &str) -> String {
    let context: serde_json::Value =
        serde_json::from_str(&read(case, "context.json").expect("context.json")).unwrap();
    context["credentials"]["secret_access_key"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Runs one case: each step byte for byte, then `verify` both ways.
fn check_case(case: &str) {
    let req = parse_request(
        &read(case, "header-signed-request.txt")
            .unwrap_or_else(|| panic!("{case}: no header-signed-request.txt")),
    );
    let authorization = req.headers.get("authorization").unwrap().to_str().unwrap();
    let auth = parse_authorization(authorization).unwrap();
    let amz_date = req
        .headers
        .get("x-amz-date")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let signed_at = parse_amz_date(&amz_date).unwrap();
    let signed = req.signed();

    let payload = payload_hash(signed.headers, signed.body).unwrap();
    let canonical = canonical_request(&signed, &auth.signed_headers, &payload);
    if let Some(expected) = read(case, "header-canonical-request.txt") {
        assert_eq!(canonical, expected, "{case}: canonical request");
    }
    let scope = credential_scope(&auth.date, &auth.region, &auth.service);
    if let Some(expected) = read(case, "header-string-to-sign.txt") {
        assert_eq!(
            string_to_sign(&amz_date, &scope, &canonical),
            expected,
            "{case}: string to sign"
        );
    }
    let expected_signature = read(case, "header-signature.txt").expect("header-signature.txt");
    assert_eq!(
        auth.signature,
        expected_signature.trim(),
        "{case}: the Authorization header carries the suite's signature"
    );

    let secret = secret_of(case);
    verify(&secret, &auth, &amz_date, signed_at, &signed)
        .unwrap_or_else(|e| panic!("{case}: rejected: {}", e.message));

    let mut tampered = auth.clone();
    let flipped = if tampered.signature.starts_with('0') {
        "1"
    } else {
        "0"
    };
    tampered.signature.replace_range(0..1, flipped);
    let err = verify(&secret, &tampered, &amz_date, signed_at, &signed).unwrap_err();
    assert_eq!(
        (err.code, err.status, err.message.as_str()),
        ("InvalidSignatureException", 403, SIGNATURE_MISMATCH),
        "{case}"
    );

    let err = verify("not-the-secret", &auth, &amz_date, signed_at, &signed).unwrap_err();
    assert_eq!(
        err.code, "InvalidSignatureException",
        "{case}: wrong secret"
    );
}

#[test]
fn aws_test_suite_vectors() {
    for case in CASES {
        check_case(case);
    }
    let on_disk = std::fs::read_dir(testdata())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().is_dir())
        .count();
    assert_eq!(
        on_disk,
        CASES.len(),
        "every case directory in testdata is listed in CASES"
    );
}

#[test]
fn a_changed_method_path_query_or_header_breaks_the_signature() {
    let case = "post-x-www-form-urlencoded";
    let original = parse_request(&read(case, "header-signed-request.txt").unwrap());
    let auth = parse_authorization(
        original
            .headers
            .get("authorization")
            .unwrap()
            .to_str()
            .unwrap(),
    )
    .unwrap();
    let amz_date = "20150830T123600Z";
    let at = parse_amz_date(amz_date).unwrap();
    let secret = secret_of(case);
    type Change = fn(&mut ParsedRequest);
    let changes: [(&str, Change); 4] = [
        ("method", |r| r.method = "PUT".into()),
        ("path", |r| r.path = "/other".into()),
        ("query", |r| r.query = "a=b".into()),
        ("signed header", |r| {
            r.headers
                .insert("content-type", HeaderValue::from_static("application/json"));
        }),
    ];
    for (what, change) in changes {
        let mut req = parse_request(&read(case, "header-signed-request.txt").unwrap());
        change(&mut req);
        let err = verify(&secret, &auth, amz_date, at, &req.signed()).unwrap_err();
        assert_eq!(err.message, SIGNATURE_MISMATCH, "changed {what}");
    }
    // An unsigned header may change: proxies add them.
    let mut req = parse_request(&read(case, "header-signed-request.txt").unwrap());
    req.headers
        .insert("user-agent", HeaderValue::from_static("curl"));
    verify(&secret, &auth, amz_date, at, &req.signed()).unwrap();
}

#[test]
fn a_body_that_does_not_match_its_declared_hash_is_refused() {
    let case = "post-x-www-form-urlencoded";
    let mut req = parse_request(&read(case, "header-signed-request.txt").unwrap());
    let auth =
        parse_authorization(req.headers.get("authorization").unwrap().to_str().unwrap()).unwrap();
    req.body = b"Param1=value2".to_vec();
    let err = verify(
        &secret_of(case),
        &auth,
        "20150830T123600Z",
        parse_amz_date("20150830T123600Z").unwrap(),
        &req.signed(),
    )
    .unwrap_err();
    assert_eq!(err.code, "InvalidSignatureException");
    assert!(
        err.message.contains("x-amz-content-sha256"),
        "{}",
        err.message
    );
}

#[test]
fn payload_hash_is_the_body_hash_unless_declared_unsigned() {
    let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    assert_eq!(payload_hash(&HeaderMap::new(), b"").unwrap(), empty);
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-amz-content-sha256",
        HeaderValue::from_static(UNSIGNED_PAYLOAD),
    );
    assert_eq!(
        payload_hash(&headers, b"anything").unwrap(),
        UNSIGNED_PAYLOAD
    );
    headers.insert("x-amz-content-sha256", HeaderValue::from_static(empty));
    assert_eq!(payload_hash(&headers, b"").unwrap(), empty);
    assert!(payload_hash(&headers, b"not empty").is_err());
}

#[test]
fn host_must_be_signed() {
    let case = "get-vanilla";
    let req = parse_request(&read(case, "header-signed-request.txt").unwrap());
    let mut auth =
        parse_authorization(req.headers.get("authorization").unwrap().to_str().unwrap()).unwrap();
    auth.signed_headers.retain(|h| h != "host");
    let err = verify(
        &secret_of(case),
        &auth,
        "20150830T123600Z",
        parse_amz_date("20150830T123600Z").unwrap(),
        &req.signed(),
    )
    .unwrap_err();
    assert_eq!(err.code, "InvalidSignatureException");
    assert_eq!(
        err.message,
        "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
    );
}

/// aws-sdk-rust's `double-encode-path` and `double-url-encode` vectors: a
/// path that is already percent-encoded is encoded again (not for S3).
#[test]
fn already_encoded_paths_are_encoded_again() {
    assert_eq!(
        canonical_uri("/test/@connections/JBDvjfGEIAMCERw%3D"),
        "/test/%40connections/JBDvjfGEIAMCERw%253D"
    );
    assert_eq!(
        canonical_uri("/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-west-2%3A892717189312%3Afunction%3Amy-rusty-fun/invocations"),
        "/2015-03-31/functions/arn%253Aaws%253Alambda%253Aus-west-2%253A892717189312%253Afunction%253Amy-rusty-fun/invocations"
    );
}

#[test]
fn paths_are_normalized() {
    for (path, canonical) in [
        ("", "/"),
        ("/", "/"),
        ("/a/b/..", "/a/"),
        ("/../a", "/a"),
        ("/a/./b//c/", "/a/b/c/"),
        ("/a/.", "/a/"),
        ("/example%20space/", "/example%2520space/"),
    ] {
        assert_eq!(canonical_uri(path), canonical, "{path}");
    }
}

#[test]
fn query_strings_are_decoded_encoded_and_sorted() {
    for (query, canonical) in [
        ("", ""),
        ("b=2&a=1", "a=1&b=2"),
        ("a=2&a=1", "a=1&a=2"),
        ("flag&x=", "flag=&x="),
        ("k=a%20b&s=a+b", "k=a%20b&s=a%20b"),
        ("p=%2F%7e", "p=%2F~"),
        ("bad=%zz", "bad=%25zz"),
    ] {
        assert_eq!(canonical_query(query), canonical, "{query}");
    }
}

#[test]
fn the_string_to_sign_has_four_lines() {
    let sts = string_to_sign(
        "20150830T123600Z",
        &credential_scope("20150830", "us-east-1", "ecs"),
        "",
    );
    assert_eq!(
        sts,
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/ecs/aws4_request\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}
