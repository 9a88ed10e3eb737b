//! In-process test server: the real ecsbox server on 127.0.0.1:0, driven by
//! the real `aws-sdk-ecs` client or by raw HTTP for protocol-level cases.
#![allow(dead_code)]

use aws_credential_types::Credentials;
use aws_sdk_ecs::config::{BehaviorVersion, Region};
use ecsbox::config::Config;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub struct TestServer {
    pub addr: SocketAddr,
    pub app: std::sync::Arc<ecsbox::server::App>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(Config::for_tests()).await
    }

    /// A server on the in-memory fake container runtime.
    pub async fn start_with(config: Config) -> Self {
        Self::start_on(
            config,
            std::sync::Arc::new(ecsbox::runtime::fake::FakeRuntime::new()),
        )
        .await
    }

    pub async fn start_on(
        config: Config,
        runtime: std::sync::Arc<dyn ecsbox::runtime::ContainerRuntime>,
    ) -> Self {
        let (addr, app, shutdown) = ecsbox::server::spawn_for_tests(config, runtime).await;
        TestServer {
            addr,
            app,
            _shutdown: shutdown,
        }
    }

    /// Stops the server as SIGTERM would and waits until it has finished:
    /// its state directory, when it has one, is closed.
    pub async fn stop(self) {
        let TestServer { app, _shutdown, .. } = self;
        let _ = _shutdown.send(());
        let Some(persistence) = app.persistence.clone() else {
            return;
        };
        let start = std::time::Instant::now();
        while !persistence.is_closed() {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(60),
                "the server did not close its state directory"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// An ECS client for `region`, signing with access key `akid`.
    pub fn client_as(&self, akid: &str, secret: &str, region: &str) -> aws_sdk_ecs::Client {
        let http = aws_smithy_http_client::Builder::new().build_http();
        let config = aws_sdk_ecs::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(self.endpoint())
            .region(Region::new(region.to_string()))
            .credentials_provider(Credentials::new(akid, secret, None, None, "test"))
            .http_client(http)
            .build();
        aws_sdk_ecs::Client::from_conf(config)
    }

    pub fn client(&self) -> aws_sdk_ecs::Client {
        self.client_as("AKIDTEST", "secret", "us-east-1")
    }

    /// One AWS JSON 1.1 call of any service (`target` is the X-Amz-Target),
    /// signed as lenient SigV4 accepts it (scope and date, any signature).
    pub async fn aws_json(
        &self,
        service: &str,
        target: &str,
        body: serde_json::Value,
    ) -> RawResponse {
        let date = ecsbox::auth::sigv4::format_amz_date(std::time::SystemTime::now());
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential=AKIDTEST/{}/us-east-1/{service}/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature={}",
            &date[..8],
            "0".repeat(64)
        );
        let headers = [
            ("x-amz-target", target),
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-date", date.as_str()),
            ("authorization", auth.as_str()),
        ];
        self.raw("POST", "/", &headers, body.to_string().as_bytes())
            .await
    }

    /// Sends one raw HTTP/1.1 request and returns (status, headers, body).
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> RawResponse {
        let mut stream = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nhost: {}\r\ncontent-length: {}\r\nconnection: close\r\n",
            self.addr,
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        stream.write_all(req.as_bytes()).await.unwrap();
        stream.write_all(body).await.unwrap();
        let mut buf = Vec::new();
        stream.read_to_end(&mut buf).await.unwrap();
        RawResponse::parse(&buf)
    }

    /// A raw ECS JSON 1.1 call with a well-formed (lenient) SigV4 header.
    pub async fn ecs_raw(&self, operation: &str, body: &str) -> RawResponse {
        let target = format!("AmazonEC2ContainerServiceV20141113.{operation}");
        let date = ecsbox::auth::sigv4::format_amz_date(std::time::SystemTime::now());
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential=AKIDTEST/{}/us-east-1/ecs/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature={}",
            &date[..8],
            "0".repeat(64)
        );
        self.raw(
            "POST",
            "/",
            &[
                ("x-amz-target", &target),
                ("content-type", "application/x-amz-json-1.1"),
                ("x-amz-date", &date),
                ("authorization", &auth),
            ],
            body.as_bytes(),
        )
        .await
    }

    /// A raw EC2 call: the form botocore's ec2 serializer POSTs, signed
    /// (lenient) with the same key as `client()`, so it sees the same
    /// account and region.
    pub async fn ec2_raw(&self, form: &str) -> RawResponse {
        self.signed_form("ec2", &format!("Version=2016-11-15&{form}"))
            .await
    }

    /// A form POSTed as botocore's query and ec2 serializers send it,
    /// signed (lenient) for `signing_name` with `client()`'s key.
    async fn signed_form(&self, signing_name: &str, body: &str) -> RawResponse {
        let date = ecsbox::auth::sigv4::format_amz_date(std::time::SystemTime::now());
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential=AKIDTEST/{}/us-east-1/{signing_name}/aws4_request, SignedHeaders=host;x-amz-date, Signature={}",
            &date[..8],
            "0".repeat(64)
        );
        self.raw(
            "POST",
            "/",
            &[
                (
                    "content-type",
                    "application/x-www-form-urlencoded; charset=utf-8",
                ),
                ("x-amz-date", &date),
                ("authorization", &auth),
            ],
            body.as_bytes(),
        )
        .await
    }

    /// A query-protocol call (`Action`, `Version` and `params`, form
    /// encoded), signed as `signed_form` does: ELBv2 is
    /// `query("elasticloadbalancing", "2015-12-01", "DescribeLoadBalancers", &[])`.
    pub async fn query(
        &self,
        signing_name: &str,
        version: &str,
        action: &str,
        params: &[(&str, &str)],
    ) -> RawResponse {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("Action", action)
            .append_pair("Version", version);
        for (k, v) in params {
            form.append_pair(k, v);
        }
        self.signed_form(signing_name, &form.finish()).await
    }
}

/// The texts of every `<name>` element of an XML answer, in order.
pub fn xml_elements(xml: &str, name: &str) -> Vec<String> {
    let (open, close) = (format!("<{name}>"), format!("</{name}>"));
    let mut out = vec![];
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else { break };
        out.push(after[..end].to_string());
        rest = &after[end + close.len()..];
    }
    out
}

/// The message of an SDK error.
pub fn message<E, R>(err: &aws_sdk_ecs::error::SdkError<E, R>) -> String
where
    E: aws_sdk_ecs::error::ProvideErrorMetadata,
{
    err.as_service_error()
        .and_then(|e| e.message())
        .unwrap_or("")
        .to_string()
}

#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The body as sent, for binary answers (CBOR).
    pub bytes: Vec<u8>,
}

impl RawResponse {
    fn parse(buf: &[u8]) -> Self {
        let text = String::from_utf8_lossy(buf);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let mut lines = head.lines();
        let status = lines
            .next()
            .unwrap_or("")
            .split_whitespace()
            .nth(1)
            .unwrap_or("0")
            .parse()
            .unwrap();
        let headers = lines
            .filter_map(|l| {
                l.split_once(':')
                    .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            })
            .collect();
        let body_start = buf
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|i| i + 4)
            .unwrap_or(buf.len());
        RawResponse {
            status,
            headers,
            body: body.to_string(),
            bytes: buf[body_start..].to_vec(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == &name.to_ascii_lowercase())
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn error_type(&self) -> String {
        self.json()["__type"].as_str().unwrap_or("").to_string()
    }
}

/// The error code of an SDK error, e.g. `ClusterNotFoundException`.
pub fn code<E, R>(err: &aws_sdk_ecs::error::SdkError<E, R>) -> String
where
    E: aws_sdk_ecs::error::ProvideErrorMetadata,
{
    err.as_service_error()
        .and_then(|e| e.code())
        .unwrap_or("<not a service error>")
        .to_string()
}

/// The task's private IPv4 address from its ENI attachment.
pub fn eni_ip(task: &aws_sdk_ecs::types::Task) -> String {
    let eni = task
        .attachments()
        .iter()
        .find(|a| a.r#type() == Some("ElasticNetworkInterface"))
        .unwrap_or_else(|| panic!("no ENI attachment: {task:#?}"));
    eni.details()
        .iter()
        .find(|d| d.name() == Some("privateIPv4Address"))
        .and_then(|d| d.value())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| panic!("no privateIPv4Address: {eni:#?}"))
        .to_string()
}
