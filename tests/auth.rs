//! SigV4 modes end to end: the real SDK, and raw requests signed by
//! aws-sigv4's own signer (so these tests do not trust ecsbox's canonical
//! request code) and then tampered with.
mod common;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings,
};
use aws_sigv4::sign::v4;
use clap::Parser;
use common::{code, RawResponse, TestServer};
use ecsbox::config::Config;
use std::time::{Duration, SystemTime};

const TARGET_PREFIX: &str = "AmazonEC2ContainerServiceV20141113";
/// AWS's message for a signature that does not match.
const MISMATCH: &str = "The request signature we calculated does not match the signature you provided. \
Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

async fn server(args: &[&str]) -> TestServer {
    // The registry on a port of its own too: the default (4510) is one port
    // for every server of the test binary.
    let argv = [
        "ecsbox",
        "--listen",
        "127.0.0.1:0",
        "--registry-listen",
        "127.0.0.1:0",
    ]
    .iter()
    .chain(args);
    TestServer::start_with(Config::parse_from(argv)).await
}

async fn strict_server() -> TestServer {
    server(&[
        "--sigv4",
        "strict",
        "--credentials",
        "AKID:SECRET",
        "--credentials",
        "123456789012:OTHER",
    ])
    .await
}

/// What to sign; `Default` is a correct, current CreateCluster request.
struct Signing<'a> {
    akid: &'a str,
    secret: &'a str,
    region: &'a str,
    service: &'a str,
    time: SystemTime,
    operation: &'a str,
    body: &'a str,
    /// Send and sign `x-amz-content-sha256`, as S3 clients do.
    content_sha256: bool,
    /// Sign the body as `UNSIGNED-PAYLOAD`.
    unsigned_payload: bool,
}

impl Default for Signing<'_> {
    fn default() -> Self {
        Signing {
            akid: "AKID",
            secret: "SECRET",
            region: "us-east-1",
            service: "ecs",
            time: SystemTime::now(),
            operation: "CreateCluster",
            body: r#"{"clusterName":"signed"}"#,
            content_sha256: false,
            unsigned_payload: false,
        }
    }
}

/// The headers of a JSON 1.1 call to `server`, signed by aws-sigv4.
fn signed_headers(server: &TestServer, s: &Signing<'_>) -> Vec<(String, String)> {
    let mut headers = vec![
        (
            "content-type".to_string(),
            "application/x-amz-json-1.1".to_string(),
        ),
        (
            "x-amz-target".to_string(),
            format!("{TARGET_PREFIX}.{}", s.operation),
        ),
    ];
    let identity = Credentials::new(s.akid, s.secret, None, None, "test").into();
    let mut settings = SigningSettings::default();
    if s.content_sha256 || s.unsigned_payload {
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(s.region)
        .name(s.service)
        .time(s.time)
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let body = if s.unsigned_payload {
        SignableBody::UnsignedPayload
    } else {
        SignableBody::Bytes(s.body.as_bytes())
    };
    let uri = format!("http://{}/", server.addr);
    let request = SignableRequest::new(
        "POST",
        uri,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        body,
    )
    .unwrap();
    let (instructions, _signature) = sign(request, &params).unwrap().into_parts();
    headers.extend(
        instructions
            .headers()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    headers
}

async fn send(server: &TestServer, headers: &[(String, String)], body: &str) -> RawResponse {
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    server.raw("POST", "/", &headers, body.as_bytes()).await
}

fn set_header(headers: &mut [(String, String)], name: &str, value: &str) {
    let slot = headers
        .iter_mut()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .unwrap_or_else(|| panic!("no {name} header"));
    slot.1 = value.to_string();
}

fn assert_error(resp: &RawResponse, status: u16, error_type: &str) {
    assert_eq!(
        (resp.status, resp.error_type().as_str()),
        (status, error_type),
        "{}",
        resp.body
    );
    assert_eq!(resp.header("x-amzn-errortype"), Some(error_type));
}

fn cluster_arn(resp: &RawResponse) -> String {
    assert_eq!(resp.status, 200, "{}", resp.body);
    resp.json()["cluster"]["clusterArn"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn strict_accepts_the_sdk_signing_with_a_configured_key() {
    let server = strict_server().await;
    let ecs = server.client_as("AKID", "SECRET", "eu-west-1");
    let created = ecs
        .create_cluster()
        .cluster_name("web")
        .send()
        .await
        .unwrap();
    assert_eq!(
        created.cluster.unwrap().cluster_arn(),
        Some("arn:aws:ecs:eu-west-1:000000000000:cluster/web")
    );
    assert_eq!(
        ecs.list_clusters()
            .send()
            .await
            .unwrap()
            .cluster_arns()
            .len(),
        1
    );

    // A 12-digit key is its own account.
    let other = server.client_as("123456789012", "OTHER", "eu-west-1");
    let created = other
        .create_cluster()
        .cluster_name("web")
        .send()
        .await
        .unwrap();
    assert_eq!(
        created.cluster.unwrap().cluster_arn(),
        Some("arn:aws:ecs:eu-west-1:123456789012:cluster/web")
    );
}

#[tokio::test]
async fn strict_refuses_a_wrong_secret() {
    let server = strict_server().await;
    let err = server
        .client_as("AKID", "not-the-secret", "us-east-1")
        .list_clusters()
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidSignatureException");
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(403));
    assert_eq!(
        err.as_service_error()
            .and_then(|e| aws_sdk_ecs::error::ProvideErrorMetadata::message(e)),
        Some(MISMATCH)
    );
    // The secret of another configured key is just as wrong.
    let err = server
        .client_as("AKID", "OTHER", "us-east-1")
        .list_clusters()
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidSignatureException");
}

#[tokio::test]
async fn strict_refuses_an_unknown_key() {
    let server = strict_server().await;
    let err = server
        .client_as("AKIDUNKNOWN", "SECRET", "us-east-1")
        .list_clusters()
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "UnrecognizedClientException");
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(403));
}

#[tokio::test]
async fn strict_accepts_raw_requests_signed_by_aws_sigv4() {
    let server = strict_server().await;
    let signing = Signing::default();
    let resp = send(&server, &signed_headers(&server, &signing), signing.body).await;
    assert_eq!(
        cluster_arn(&resp),
        "arn:aws:ecs:us-east-1:000000000000:cluster/signed"
    );

    // With the body hash in x-amz-content-sha256, and with UNSIGNED-PAYLOAD.
    for signing in [
        Signing {
            content_sha256: true,
            ..Signing::default()
        },
        Signing {
            unsigned_payload: true,
            ..Signing::default()
        },
    ] {
        let headers = signed_headers(&server, &signing);
        assert!(
            headers.iter().any(|(k, _)| k == "x-amz-content-sha256"),
            "{headers:?}"
        );
        let resp = send(&server, &headers, signing.body).await;
        assert_eq!(resp.status, 200, "{}", resp.body);
    }
}

#[tokio::test]
async fn strict_refuses_a_body_changed_after_signing() {
    let server = strict_server().await;
    let signing = Signing::default();
    let resp = send(
        &server,
        &signed_headers(&server, &signing),
        r#"{"clusterName":"forged"}"#,
    )
    .await;
    assert_error(&resp, 403, "InvalidSignatureException");
    assert_eq!(resp.json()["message"], MISMATCH);

    // Also when the client declared the body's hash in a signed header.
    let signing = Signing {
        content_sha256: true,
        ..Signing::default()
    };
    let resp = send(
        &server,
        &signed_headers(&server, &signing),
        r#"{"clusterName":"forged"}"#,
    )
    .await;
    assert_error(&resp, 403, "InvalidSignatureException");

    // Nothing was created by the refused requests.
    let list = send(
        &server,
        &signed_headers(
            &server,
            &Signing {
                operation: "ListClusters",
                body: "{}",
                ..Signing::default()
            },
        ),
        "{}",
    )
    .await;
    assert_eq!(list.json()["clusterArns"], serde_json::json!([]));
}

#[tokio::test]
async fn strict_refuses_a_signed_header_changed_after_signing() {
    let server = strict_server().await;
    let signing = Signing {
        operation: "ListClusters",
        body: "{}",
        ..Signing::default()
    };
    let mut headers = signed_headers(&server, &signing);
    set_header(
        &mut headers,
        "x-amz-target",
        &format!("{TARGET_PREFIX}.DescribeClusters"),
    );
    let resp = send(&server, &headers, signing.body).await;
    assert_error(&resp, 403, "InvalidSignatureException");
    assert_eq!(resp.json()["message"], MISMATCH);
}

#[tokio::test]
async fn strict_refuses_a_stale_or_future_date_even_when_correctly_signed() {
    let server = strict_server().await;
    let twenty_minutes = Duration::from_secs(20 * 60);
    let stale = Signing {
        time: SystemTime::now() - twenty_minutes,
        ..Signing::default()
    };
    let resp = send(&server, &signed_headers(&server, &stale), stale.body).await;
    assert_error(&resp, 403, "InvalidSignatureException");
    let message = resp.json()["message"].as_str().unwrap().to_string();
    // AWS: "Signature expired: 20130301T000000Z is now earlier than 20130609T094515Z (20130609T100015Z - 15 min.)"
    assert!(message.starts_with("Signature expired: "), "{message}");
    assert!(message.ends_with(" - 15 min.)"), "{message}");

    let future = Signing {
        time: SystemTime::now() + twenty_minutes,
        ..Signing::default()
    };
    let resp = send(&server, &signed_headers(&server, &future), future.body).await;
    assert_error(&resp, 403, "InvalidSignatureException");
    let message = resp.json()["message"].as_str().unwrap().to_string();
    assert!(
        message.starts_with("Signature not yet current: "),
        "{message}"
    );
}

#[tokio::test]
async fn an_unsigned_request_needs_a_token_outside_off() {
    for mode in ["strict", "lenient"] {
        let server = server(&["--sigv4", mode, "--credentials", "AKID:SECRET"]).await;
        let headers = [
            ("content-type", "application/x-amz-json-1.1"),
            (
                "x-amz-target",
                "AmazonEC2ContainerServiceV20141113.ListClusters",
            ),
        ];
        let resp = server.raw("POST", "/", &headers, b"{}").await;
        assert_error(&resp, 403, "MissingAuthenticationTokenException");
        assert_eq!(
            resp.json()["message"],
            "Missing Authentication Token",
            "{mode}"
        );
    }
}

#[tokio::test]
async fn lenient_accepts_any_key_and_secret() {
    let server = server(&["--sigv4", "lenient"]).await;
    let ecs = server.client_as("ANYKEY", "any-secret", "ap-southeast-2");
    let created = ecs.create_cluster().cluster_name("c").send().await.unwrap();
    assert_eq!(
        created.cluster.unwrap().cluster_arn(),
        Some("arn:aws:ecs:ap-southeast-2:000000000000:cluster/c")
    );
}

#[tokio::test]
async fn lenient_refuses_another_services_scope_and_stale_dates() {
    let server = server(&["--sigv4", "lenient"]).await;
    let s3 = Signing {
        service: "s3",
        ..Signing::default()
    };
    let resp = send(&server, &signed_headers(&server, &s3), s3.body).await;
    assert_error(&resp, 403, "InvalidSignatureException");
    assert_eq!(
        resp.json()["message"],
        "Credential should be scoped to correct service: 'ecs'."
    );

    let stale = Signing {
        time: SystemTime::now() - Duration::from_secs(20 * 60),
        ..Signing::default()
    };
    let resp = send(&server, &signed_headers(&server, &stale), stale.body).await;
    assert_error(&resp, 403, "InvalidSignatureException");
    assert!(
        resp.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("Signature expired"),
        "{}",
        resp.body
    );
}

#[tokio::test]
async fn off_accepts_unsigned_requests_and_still_reads_the_scope() {
    let server = server(&["--sigv4", "off"]).await;
    let headers = [
        ("content-type", "application/x-amz-json-1.1"),
        (
            "x-amz-target",
            "AmazonEC2ContainerServiceV20141113.CreateCluster",
        ),
    ];
    let resp = server
        .raw("POST", "/", &headers, br#"{"clusterName":"plain"}"#)
        .await;
    assert_eq!(
        cluster_arn(&resp),
        "arn:aws:ecs:us-east-1:000000000000:cluster/plain"
    );

    // A signature with a wrong secret and another service is not checked,
    // but its scope still names the region and its key the account.
    let scoped = Signing {
        akid: "210987654321",
        secret: "whatever",
        region: "eu-central-1",
        service: "s3",
        ..Signing::default()
    };
    let resp = send(&server, &signed_headers(&server, &scoped), scoped.body).await;
    assert_eq!(
        cluster_arn(&resp),
        "arn:aws:ecs:eu-central-1:210987654321:cluster/signed"
    );
}
