//! The real `ecsbox` binary as a child process, for tests of what only a
//! process shows: signals, exit codes, what is left after it is gone.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running ecsbox; SIGKILLed on drop if the test ends before it exited.
pub struct Ecsbox {
    child: Option<Child>,
    /// The API's address, from the startup line.
    pub address: String,
}

impl Ecsbox {
    /// Starts the binary with `args` and waits (up to `limit`) for its
    /// startup line.
    pub async fn start(args: &[&str], limit: Duration) -> Ecsbox {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ecsbox"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ecsbox");
        let stdout = child.stdout.take().unwrap();
        let read = tokio::task::spawn_blocking(move || {
            let mut lines = BufReader::new(stdout).lines();
            for line in lines.by_ref() {
                let line = line.ok()?;
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let address = rest.split_whitespace().next()?.to_string();
                    // Keep reading, so ecsbox never blocks on a full pipe.
                    std::thread::spawn(move || for _ in lines {});
                    return Some(address);
                }
            }
            None
        });
        let address = match tokio::time::timeout(limit, read).await {
            Ok(Ok(Some(address))) => address,
            other => {
                let _ = child.kill();
                panic!("ecsbox did not announce its address: {other:?}");
            }
        };
        Ecsbox {
            child: Some(child),
            address,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Sends `signal` (e.g. "TERM", "KILL") with kill(1).
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} {}", self.pid());
    }

    /// Waits (up to `limit`) for the process to exit; its exit status.
    pub async fn wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        let waited = tokio::task::spawn_blocking(move || {
            let status = child.wait();
            (child, status)
        });
        match tokio::time::timeout(limit, waited).await {
            Ok(Ok((_, status))) => status.unwrap(),
            _ => panic!("ecsbox did not exit within {limit:?}"),
        }
    }

    /// An ECS client for this instance's API.
    pub fn client(&self) -> aws_sdk_ecs::Client {
        let config = aws_sdk_ecs::Config::builder()
            .behavior_version(aws_sdk_ecs::config::BehaviorVersion::latest())
            .region(aws_sdk_ecs::config::Region::new("us-east-1"))
            .credentials_provider(aws_credential_types::Credentials::new(
                "AKIDTEST", "secret", None, None, "test",
            ))
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .endpoint_url(format!("http://{}", self.address))
            .build();
        aws_sdk_ecs::Client::from_conf(config)
    }
}

impl Ecsbox {
    /// One raw AWS JSON 1.1 call (`target` is the X-Amz-Target), signed as
    /// lenient SigV4 accepts it: (status, body).
    pub async fn aws_json(
        &self,
        service: &str,
        target: &str,
        body: &serde_json::Value,
    ) -> (u16, String) {
        let date = ecsbox::auth::sigv4::format_amz_date(std::time::SystemTime::now());
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential=AKIDTEST/{}/us-east-1/{service}/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature={}",
            &date[..8],
            "0".repeat(64)
        );
        self.raw(
            "POST",
            "/",
            &[
                ("x-amz-target", target),
                ("content-type", "application/x-amz-json-1.1"),
                ("x-amz-date", &date),
                ("authorization", &auth),
            ],
            body.to_string().as_bytes(),
        )
        .await
    }

    /// One raw HTTP/1.1 request: (status, body).
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(&self.address).await.unwrap();
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nhost: {}\r\ncontent-length: {}\r\nconnection: close\r\n",
            self.address,
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
        let text = String::from_utf8_lossy(&buf);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        (status, body.to_string())
    }
}

impl Drop for Ecsbox {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
