//! CloudWatch Logs on ecsbox's port, in process: raw JSON 1.1 calls with
//! target prefix `Logs_20140328`, each signed by aws-sigv4 for the signing
//! name `logs` against a server in strict SigV4 mode.
mod common;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use clap::Parser;
use common::{RawResponse, TestServer};
use ecsbox::config::Config;
use serde_json::{json, Value};
use std::time::{SystemTime, UNIX_EPOCH};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

async fn server() -> TestServer {
    // The registry on a port of its own too: the default (4510) is one port
    // for every server of the test binary.
    let argv = [
        "ecsbox",
        "--listen",
        "127.0.0.1:0",
        "--registry-listen",
        "127.0.0.1:0",
        "--sigv4",
        "strict",
        "--credentials",
        "AKID:SECRET",
        "--credentials",
        "123456789012:OTHER",
    ];
    TestServer::start_with(Config::parse_from(argv)).await
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A Logs caller: one account (by access key) in one region.
struct Client<'a> {
    server: &'a TestServer,
    akid: &'a str,
    secret: &'a str,
    region: &'a str,
    service: &'a str,
}

fn client(server: &TestServer) -> Client<'_> {
    Client {
        server,
        akid: "AKID",
        secret: "SECRET",
        region: "us-east-1",
        service: "logs",
    }
}

impl Client<'_> {
    async fn call(&self, operation: &str, body: Value) -> RawResponse {
        let body = body.to_string();
        let mut headers = vec![
            (
                "content-type".to_string(),
                "application/x-amz-json-1.1".to_string(),
            ),
            (
                "x-amz-target".to_string(),
                format!("Logs_20140328.{operation}"),
            ),
        ];
        let identity = Credentials::new(self.akid, self.secret, None, None, "test").into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(self.region)
            .name(self.service)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let uri = format!("http://{}/", self.server.addr);
        let request = SignableRequest::new(
            "POST",
            uri,
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(body.as_bytes()),
        )
        .unwrap();
        let (instructions, _) = sign(request, &params).unwrap().into_parts();
        headers.extend(
            instructions
                .headers()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.server
            .raw("POST", "/", &headers, body.as_bytes())
            .await
    }

    /// A call that must succeed; its answer (`Null` for an empty body).
    async fn ok(&self, operation: &str, body: Value) -> Value {
        let resp = self.call(operation, body).await;
        assert_eq!(resp.status, 200, "{operation}: {}", resp.body);
        if resp.body.is_empty() {
            Value::Null
        } else {
            resp.json()
        }
    }

    /// A call that must fail: (exception, message).
    async fn err(&self, operation: &str, body: Value) -> (String, String) {
        let resp = self.call(operation, body).await;
        assert_eq!(resp.status, 400, "{operation}: {}", resp.body);
        assert_eq!(
            resp.header("x-amzn-errortype"),
            Some(resp.error_type().as_str())
        );
        (
            resp.error_type(),
            resp.json()["message"].as_str().unwrap_or("").to_string(),
        )
    }

    async fn group(&self, name: &str) {
        self.ok("CreateLogGroup", json!({ "logGroupName": name }))
            .await;
    }

    async fn stream(&self, group: &str, name: &str) {
        self.ok(
            "CreateLogStream",
            json!({ "logGroupName": group, "logStreamName": name }),
        )
        .await;
    }

    async fn put(&self, group: &str, stream: &str, events: &[(i64, &str)]) -> Value {
        let events: Vec<Value> = events
            .iter()
            .map(|(t, m)| json!({ "timestamp": t, "message": m }))
            .collect();
        self.ok(
            "PutLogEvents",
            json!({ "logGroupName": group, "logStreamName": stream, "logEvents": events }),
        )
        .await
    }
}

fn messages(answer: &Value) -> Vec<String> {
    answer["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect()
}

fn names(answer: &Value, list: &str, member: &str) -> Vec<String> {
    answer[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g[member].as_str().unwrap().to_string())
        .collect()
}

// ---------------------------------------------------------------- log groups

#[tokio::test]
async fn log_groups_are_created_described_and_deleted() {
    let server = server().await;
    let logs = client(&server);
    // CreateLogGroup has no output: AWS answers 200 with an empty body.
    let resp = logs
        .call("CreateLogGroup", json!({ "logGroupName": "/ecs/web" }))
        .await;
    assert_eq!((resp.status, resp.body.as_str()), (200, ""));
    let described = logs.ok("DescribeLogGroups", json!({})).await;
    let group = &described["logGroups"][0];
    assert_eq!(group["logGroupName"], "/ecs/web");
    assert_eq!(
        group["arn"],
        "arn:aws:logs:us-east-1:000000000000:log-group:/ecs/web:*"
    );
    assert_eq!(
        group["logGroupArn"],
        "arn:aws:logs:us-east-1:000000000000:log-group:/ecs/web"
    );
    assert_eq!(group["logGroupClass"], "STANDARD");
    assert!(group["creationTime"].as_i64().unwrap() > now_ms() - 60_000);
    assert!(group.get("retentionInDays").is_none());

    let (code, message) = logs
        .err("CreateLogGroup", json!({ "logGroupName": "/ecs/web" }))
        .await;
    assert_eq!(
        (code.as_str(), message.as_str()),
        (
            "ResourceAlreadyExistsException",
            "The specified log group already exists"
        )
    );

    logs.ok("DeleteLogGroup", json!({ "logGroupName": "/ecs/web" }))
        .await;
    assert_eq!(
        logs.ok("DescribeLogGroups", json!({})).await["logGroups"],
        json!([])
    );
    let (code, message) = logs
        .err("DeleteLogGroup", json!({ "logGroupName": "/ecs/web" }))
        .await;
    assert_eq!(
        (code.as_str(), message.as_str()),
        (
            "ResourceNotFoundException",
            "The specified log group does not exist."
        )
    );
}

#[tokio::test]
async fn log_group_names_follow_the_model() {
    let server = server().await;
    let logs = client(&server);
    let (code, message) = logs
        .err("CreateLogGroup", json!({ "logGroupName": "has space" }))
        .await;
    assert_eq!(code, "InvalidParameterException");
    assert!(
        message.contains("'logGroupName'") && message.contains(r"[\.\-_/#A-Za-z0-9]+"),
        "{message}"
    );
    let (code, _) = logs
        .err("CreateLogGroup", json!({ "logGroupName": "x".repeat(513) }))
        .await;
    assert_eq!(code, "InvalidParameterException");
    let (code, message) = logs.err("CreateLogGroup", json!({})).await;
    assert_eq!(code, "InvalidParameterException");
    assert!(
        message.contains("'logGroupName'") && message.contains("must not be null"),
        "{message}"
    );
    // Nothing was created by the refused calls.
    assert_eq!(
        logs.ok("DescribeLogGroups", json!({})).await["logGroups"],
        json!([])
    );
}

#[tokio::test]
async fn describe_log_groups_filters_by_prefix_or_pattern_and_pages() {
    let server = server().await;
    let logs = client(&server);
    for name in [
        "/ecs/api",
        "/ecs/web",
        "/lambda/DataLogs",
        "aDataLogsB",
        "datalogs",
    ] {
        logs.group(name).await;
    }
    let by_prefix = logs
        .ok(
            "DescribeLogGroups",
            json!({ "logGroupNamePrefix": "/ecs/" }),
        )
        .await;
    assert_eq!(
        names(&by_prefix, "logGroups", "logGroupName"),
        ["/ecs/api", "/ecs/web"]
    );

    // A case-sensitive substring; AWS then answers only name, ARN and creation time.
    let by_pattern = logs
        .ok(
            "DescribeLogGroups",
            json!({ "logGroupNamePattern": "DataLogs" }),
        )
        .await;
    assert_eq!(
        names(&by_pattern, "logGroups", "logGroupName"),
        ["/lambda/DataLogs", "aDataLogsB"]
    );
    assert!(by_pattern["logGroups"][0].get("storedBytes").is_none());

    let (code, _) = logs
        .err(
            "DescribeLogGroups",
            json!({ "logGroupNamePrefix": "/ecs", "logGroupNamePattern": "web" }),
        )
        .await;
    assert_eq!(code, "InvalidParameterException");

    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut req = json!({ "limit": 2 });
        if let Some(t) = &token {
            req["nextToken"] = json!(t);
        }
        let page = logs.ok("DescribeLogGroups", req).await;
        assert!(page["logGroups"].as_array().unwrap().len() <= 2);
        seen.extend(names(&page, "logGroups", "logGroupName"));
        match page["nextToken"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    // ASCII order, every group once.
    assert_eq!(
        seen,
        [
            "/ecs/api",
            "/ecs/web",
            "/lambda/DataLogs",
            "aDataLogsB",
            "datalogs"
        ]
    );
    let (code, _) = logs.err("DescribeLogGroups", json!({ "limit": 51 })).await;
    assert_eq!(code, "InvalidParameterException");
}

#[tokio::test]
async fn retention_takes_only_the_periods_aws_offers() {
    let server = server().await;
    let logs = client(&server);
    logs.group("g").await;
    logs.ok(
        "PutRetentionPolicy",
        json!({ "logGroupName": "g", "retentionInDays": 14 }),
    )
    .await;
    assert_eq!(
        logs.ok("DescribeLogGroups", json!({})).await["logGroups"][0]["retentionInDays"],
        14
    );

    let (code, message) = logs
        .err(
            "PutRetentionPolicy",
            json!({ "logGroupName": "g", "retentionInDays": 2 }),
        )
        .await;
    assert_eq!(code, "InvalidParameterException");
    assert!(
        message.contains("'retentionInDays'") && message.contains("[1, 3, 5, 7, 14,"),
        "{message}"
    );
    // The refused call changed nothing.
    assert_eq!(
        logs.ok("DescribeLogGroups", json!({})).await["logGroups"][0]["retentionInDays"],
        14
    );

    logs.ok("DeleteRetentionPolicy", json!({ "logGroupName": "g" }))
        .await;
    assert!(
        logs.ok("DescribeLogGroups", json!({})).await["logGroups"][0]
            .get("retentionInDays")
            .is_none()
    );
    let (code, _) = logs
        .err(
            "PutRetentionPolicy",
            json!({ "logGroupName": "nope", "retentionInDays": 1 }),
        )
        .await;
    assert_eq!(code, "ResourceNotFoundException");
    let (code, _) = logs
        .err("DeleteRetentionPolicy", json!({ "logGroupName": "nope" }))
        .await;
    assert_eq!(code, "ResourceNotFoundException");
}

#[tokio::test]
async fn deletion_protection_blocks_delete_until_turned_off() {
    let server = server().await;
    let logs = client(&server);
    logs.ok(
        "CreateLogGroup",
        json!({ "logGroupName": "keep", "deletionProtectionEnabled": true }),
    )
    .await;
    let (code, _) = logs
        .err("DeleteLogGroup", json!({ "logGroupName": "keep" }))
        .await;
    assert_eq!(code, "ValidationException");
    logs.ok(
        "PutLogGroupDeletionProtection",
        json!({ "logGroupIdentifier": "keep", "deletionProtectionEnabled": false }),
    )
    .await;
    logs.ok("DeleteLogGroup", json!({ "logGroupName": "keep" }))
        .await;
}

// ---------------------------------------------------------------- tags

#[tokio::test]
async fn tags_by_arn_and_by_name_are_the_same_tags() {
    let server = server().await;
    let logs = client(&server);
    logs.ok(
        "CreateLogGroup",
        json!({ "logGroupName": "t", "tags": { "team": "a" } }),
    )
    .await;
    let arn = "arn:aws:logs:us-east-1:000000000000:log-group:t";
    logs.ok(
        "TagResource",
        json!({ "resourceArn": arn, "tags": { "env": "dev" } }),
    )
    .await;
    let listed = logs
        .ok("ListTagsForResource", json!({ "resourceArn": arn }))
        .await;
    assert_eq!(listed["tags"], json!({ "team": "a", "env": "dev" }));
    // The `arn` member's form ends in `:*`, which the model's pattern for
    // resourceArn (`[\w+=/:,.@-]*`) refuses, as AWS's validation does (the
    // API reference: the ARN of a log group without the trailing `:*`).
    let (code, message) = logs
        .err(
            "ListTagsForResource",
            json!({ "resourceArn": format!("{arn}:*") }),
        )
        .await;
    assert_eq!(code, "InvalidParameterException");
    assert!(
        message.contains("Member must satisfy regular expression pattern: [\\w+=/:,.@-]*"),
        "{message}"
    );

    logs.ok(
        "TagLogGroup",
        json!({ "logGroupName": "t", "tags": { "env": "prod" } }),
    )
    .await;
    logs.ok(
        "UntagResource",
        json!({ "resourceArn": arn, "tagKeys": ["team"] }),
    )
    .await;
    assert_eq!(
        logs.ok("ListTagsLogGroup", json!({ "logGroupName": "t" }))
            .await["tags"],
        json!({ "env": "prod" })
    );
    logs.ok(
        "UntagLogGroup",
        json!({ "logGroupName": "t", "tags": ["env"] }),
    )
    .await;
    assert_eq!(
        logs.ok("ListTagsForResource", json!({ "resourceArn": arn }))
            .await["tags"],
        json!({})
    );

    let (code, _) = logs
        .err(
            "ListTagsForResource",
            json!({ "resourceArn": format!("{arn}-missing") }),
        )
        .await;
    assert_eq!(code, "ResourceNotFoundException");
    // Another region's ARN does not name this group.
    let (code, _) = logs
        .err(
            "ListTagsForResource",
            json!({ "resourceArn": "arn:aws:logs:eu-west-1:000000000000:log-group:t" }),
        )
        .await;
    assert_eq!(code, "ResourceNotFoundException");
    let (code, _) = logs
        .err("ListTagsLogGroup", json!({ "logGroupName": "missing" }))
        .await;
    assert_eq!(code, "ResourceNotFoundException");
}

#[tokio::test]
async fn a_log_group_holds_at_most_fifty_tags() {
    let server = server().await;
    let logs = client(&server);
    logs.group("t").await;
    let fifty: serde_json::Map<String, Value> =
        (0..50).map(|i| (format!("k{i}"), json!("v"))).collect();
    logs.ok("TagLogGroup", json!({ "logGroupName": "t", "tags": fifty }))
        .await;
    let (code, _) = logs
        .err(
            "TagLogGroup",
            json!({ "logGroupName": "t", "tags": { "one-more": "v" } }),
        )
        .await;
    assert_eq!(code, "TooManyTagsException");
    let tags = logs
        .ok("ListTagsLogGroup", json!({ "logGroupName": "t" }))
        .await["tags"]
        .as_object()
        .unwrap()
        .len();
    assert_eq!(tags, 50);
}

// ---------------------------------------------------------------- streams

#[tokio::test]
async fn log_streams_live_in_an_existing_group() {
    let server = server().await;
    let logs = client(&server);
    let (code, message) = logs
        .err(
            "CreateLogStream",
            json!({ "logGroupName": "g", "logStreamName": "s" }),
        )
        .await;
    assert_eq!(
        (code.as_str(), message.as_str()),
        (
            "ResourceNotFoundException",
            "The specified log group does not exist."
        )
    );
    logs.group("g").await;
    logs.stream("g", "s").await;
    let (code, message) = logs
        .err(
            "CreateLogStream",
            json!({ "logGroupName": "g", "logStreamName": "s" }),
        )
        .await;
    assert_eq!(
        (code.as_str(), message.as_str()),
        (
            "ResourceAlreadyExistsException",
            "The specified log stream already exists"
        )
    );
    let (code, _) = logs
        .err(
            "CreateLogStream",
            json!({ "logGroupName": "g", "logStreamName": "a:b" }),
        )
        .await;
    assert_eq!(code, "InvalidParameterException");

    let described = logs
        .ok("DescribeLogStreams", json!({ "logGroupName": "g" }))
        .await;
    let stream = &described["logStreams"][0];
    assert_eq!(stream["logStreamName"], "s");
    assert_eq!(
        stream["arn"],
        "arn:aws:logs:us-east-1:000000000000:log-group:g:log-stream:s"
    );
    // No events yet: no event timestamps.
    assert!(
        stream.get("firstEventTimestamp").is_none() && stream.get("lastEventTimestamp").is_none()
    );
    let (code, _) = logs
        .err("DescribeLogStreams", json!({ "logGroupName": "missing" }))
        .await;
    assert_eq!(code, "ResourceNotFoundException");
}

#[tokio::test]
async fn describe_log_streams_orders_by_name_or_last_event_time() {
    let server = server().await;
    let logs = client(&server);
    logs.group("g").await;
    let now = now_ms();
    for (name, last) in [
        ("web/a", now - 3000),
        ("web/b", now - 1000),
        ("api/c", now - 2000),
    ] {
        logs.stream("g", name).await;
        logs.put("g", name, &[(last, "x")]).await;
    }
    let by_name = logs
        .ok("DescribeLogStreams", json!({ "logGroupName": "g" }))
        .await;
    assert_eq!(
        names(&by_name, "logStreams", "logStreamName"),
        ["api/c", "web/a", "web/b"]
    );
    let prefixed = logs
        .ok(
            "DescribeLogStreams",
            json!({ "logGroupName": "g", "logStreamNamePrefix": "web/", "descending": true }),
        )
        .await;
    assert_eq!(
        names(&prefixed, "logStreams", "logStreamName"),
        ["web/b", "web/a"]
    );
    let latest_first = logs
        .ok(
            "DescribeLogStreams",
            json!({ "logGroupName": "g", "orderBy": "LastEventTime", "descending": true }),
        )
        .await;
    assert_eq!(
        names(&latest_first, "logStreams", "logStreamName"),
        ["web/b", "api/c", "web/a"]
    );
    assert_eq!(
        latest_first["logStreams"][0]["lastEventTimestamp"],
        now - 1000
    );

    // Paging by last event time keeps the order across pages.
    let first = logs
        .ok(
            "DescribeLogStreams",
            json!({ "logGroupName": "g", "orderBy": "LastEventTime", "limit": 2 }),
        )
        .await;
    assert_eq!(
        names(&first, "logStreams", "logStreamName"),
        ["web/a", "api/c"]
    );
    let token = first["nextToken"].as_str().unwrap();
    let second = logs
        .ok(
            "DescribeLogStreams",
            json!({ "logGroupName": "g", "orderBy": "LastEventTime", "limit": 2, "nextToken": token }),
        )
        .await;
    assert_eq!(names(&second, "logStreams", "logStreamName"), ["web/b"]);
    assert!(second.get("nextToken").is_none());

    // AWS refuses a prefix with LastEventTime ordering.
    let (code, _) = logs
        .err(
            "DescribeLogStreams",
            json!({ "logGroupName": "g", "orderBy": "LastEventTime", "logStreamNamePrefix": "web" }),
        )
        .await;
    assert_eq!(code, "InvalidParameterException");
    let (code, _) = logs
        .err(
            "DescribeLogStreams",
            json!({ "logGroupName": "g", "orderBy": "Size" }),
        )
        .await;
    assert_eq!(code, "InvalidParameterException");
}

// ---------------------------------------------------------------- PutLogEvents

#[tokio::test]
async fn put_log_events_needs_the_stream_and_no_sequence_token() {
    let server = server().await;
    let logs = client(&server);
    let event = json!([{ "timestamp": now_ms(), "message": "hi" }]);
    let (code, message) = logs
        .err(
            "PutLogEvents",
            json!({ "logGroupName": "g", "logStreamName": "s", "logEvents": event }),
        )
        .await;
    assert_eq!(
        (code.as_str(), message.as_str()),
        (
            "ResourceNotFoundException",
            "The specified log group does not exist."
        )
    );
    logs.group("g").await;
    let (code, message) = logs
        .err(
            "PutLogEvents",
            json!({ "logGroupName": "g", "logStreamName": "s", "logEvents": event }),
        )
        .await;
    assert_eq!(
        (code.as_str(), message.as_str()),
        (
            "ResourceNotFoundException",
            "The specified log stream does not exist."
        )
    );
    logs.stream("g", "s").await;
    let first = logs.put("g", "s", &[(now_ms(), "one")]).await;
    let token = first["nextSequenceToken"].as_str().unwrap().to_string();
    assert!(first.get("rejectedLogEventsInfo").is_none());
    // AWS ignores sequence tokens now: a stale or made-up one is accepted.
    let second = logs
        .ok(
            "PutLogEvents",
            json!({ "logGroupName": "g", "logStreamName": "s", "sequenceToken": "12345", "logEvents": [{ "timestamp": now_ms(), "message": "two" }] }),
        )
        .await;
    assert_ne!(second["nextSequenceToken"].as_str().unwrap(), token);
    let stream = &logs
        .ok("DescribeLogStreams", json!({ "logGroupName": "g" }))
        .await["logStreams"][0];
    assert_eq!(stream["uploadSequenceToken"], second["nextSequenceToken"]);
    assert!(
        stream["lastIngestionTime"].as_i64().unwrap()
            >= stream["lastEventTimestamp"].as_i64().unwrap() - 1000
    );
}

#[tokio::test]
async fn put_log_events_refuses_batches_aws_refuses_and_keeps_nothing_of_them() {
    let server = server().await;
    let logs = client(&server);
    logs.group("g").await;
    logs.stream("g", "s").await;
    let now = now_ms();
    let put = |events: Value| {
        logs.err(
            "PutLogEvents",
            json!({ "logGroupName": "g", "logStreamName": "s", "logEvents": events }),
        )
    };

    let (code, message) = put(
        json!([{ "timestamp": now, "message": "b" }, { "timestamp": now - 1, "message": "a" }]),
    )
    .await;
    assert_eq!(code, "InvalidParameterException");
    assert_eq!(
        message,
        "Log events in a single PutLogEvents request must be in chronological order."
    );

    let (code, message) =
        put(json!([{ "timestamp": now - 25 * HOUR, "message": "a" }, { "timestamp": now, "message": "b" }])).await;
    assert_eq!(code, "InvalidParameterException");
    assert!(message.contains("24 hours"), "{message}");

    // 1,048,576 bytes counting 26 per event: two events of 524,262 bytes fit exactly, one more byte does not.
    let fits = "x".repeat(524_262);
    logs.put("g", "s", &[(now, fits.as_str()), (now, fits.as_str())])
        .await;
    let too_big = "x".repeat(524_263);
    let (code, message) = put(
        json!([{ "timestamp": now, "message": fits }, { "timestamp": now, "message": too_big }]),
    )
    .await;
    assert_eq!(code, "InvalidParameterException");
    assert!(message.contains("1048576"), "{message}");

    let many: Vec<Value> = (0..10_001)
        .map(|_| json!({ "timestamp": now, "message": "m" }))
        .collect();
    let (code, _) = put(Value::Array(many)).await;
    assert_eq!(code, "InvalidParameterException");
    let (code, _) = put(json!([])).await;
    assert_eq!(code, "InvalidParameterException");
    let (code, _) = put(json!([{ "timestamp": now, "message": "" }])).await;
    assert_eq!(code, "InvalidParameterException");

    // Only the two events of the one accepted batch are in the stream.
    let got = logs
        .ok(
            "GetLogEvents",
            json!({ "logGroupName": "g", "logStreamName": "s" }),
        )
        .await;
    assert_eq!(got["events"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn too_old_too_new_and_expired_events_are_rejected_and_the_rest_kept() {
    let server = server().await;
    let logs = client(&server);
    logs.group("g").await;
    logs.stream("g", "s").await;
    let now = now_ms();
    let answer = logs
        .put(
            "g",
            "s",
            &[
                (now - 15 * DAY, "too old"),
                (now - 60_000, "kept 1"),
                (now, "kept 2"),
                (now + 3 * HOUR, "too new"),
            ],
        )
        .await;
    // End indexes are exclusive, the start of the too-new ones inclusive.
    assert_eq!(
        answer["rejectedLogEventsInfo"],
        json!({ "tooOldLogEventEndIndex": 1, "tooNewLogEventStartIndex": 3 })
    );
    let got = logs
        .ok(
            "GetLogEvents",
            json!({ "logGroupName": "g", "logStreamName": "s", "startFromHead": true }),
        )
        .await;
    assert_eq!(messages(&got), ["kept 1", "kept 2"]);

    // Past the group's retention is "expired".
    logs.ok(
        "PutRetentionPolicy",
        json!({ "logGroupName": "g", "retentionInDays": 1 }),
    )
    .await;
    let answer = logs
        .put("g", "s", &[(now - 2 * DAY, "expired"), (now, "kept 3")])
        .await;
    assert_eq!(
        answer["rejectedLogEventsInfo"],
        json!({ "expiredLogEventEndIndex": 1 })
    );

    // The 24-hour span counts only the accepted events.
    let answer = logs
        .put(
            "g",
            "s",
            &[
                (now - 20 * DAY, "old"),
                (now - HOUR, "kept 4"),
                (now, "kept 5"),
            ],
        )
        .await;
    assert_eq!(answer["rejectedLogEventsInfo"]["tooOldLogEventEndIndex"], 1);
}

// ---------------------------------------------------------------- GetLogEvents

/// A stream with events `e0`..`e{n-1}`, one second apart, ending a minute ago.
async fn stream_of(logs: &Client<'_>, n: usize) -> i64 {
    logs.group("g").await;
    logs.stream("g", "s").await;
    let start = now_ms() - 60_000 - n as i64 * 1000;
    let events: Vec<(i64, String)> = (0..n)
        .map(|i| (start + i as i64 * 1000, format!("e{i}")))
        .collect();
    let refs: Vec<(i64, &str)> = events.iter().map(|(t, m)| (*t, m.as_str())).collect();
    logs.put("g", "s", &refs).await;
    start
}

fn get(extra: Value) -> Value {
    let mut req = json!({ "logGroupName": "g", "logStreamName": "s" });
    req.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    req
}

#[tokio::test]
async fn get_log_events_pages_forward_from_the_head_until_the_token_repeats() {
    let server = server().await;
    let logs = client(&server);
    stream_of(&logs, 5).await;
    let page = logs
        .ok(
            "GetLogEvents",
            get(json!({ "startFromHead": true, "limit": 2 })),
        )
        .await;
    assert_eq!(messages(&page), ["e0", "e1"]);
    let token = page["nextForwardToken"].as_str().unwrap().to_string();
    assert!(
        token.starts_with("f/") && token.ends_with("/s") && token.len() == 60,
        "{token}"
    );
    assert!(page["nextBackwardToken"]
        .as_str()
        .unwrap()
        .starts_with("b/"));

    let mut all = messages(&page);
    let mut token = token;
    loop {
        let page = logs
            .ok(
                "GetLogEvents",
                get(json!({ "startFromHead": true, "limit": 2, "nextToken": token })),
            )
            .await;
        let next = page["nextForwardToken"].as_str().unwrap().to_string();
        if next == token {
            // AWS's end of stream: no events and the same token back.
            assert_eq!(messages(&page), Vec::<String>::new());
            break;
        }
        all.extend(messages(&page));
        token = next;
    }
    assert_eq!(all, ["e0", "e1", "e2", "e3", "e4"]);

    // Events added later are found with the last token.
    logs.put("g", "s", &[(now_ms(), "later")]).await;
    let page = logs
        .ok(
            "GetLogEvents",
            get(json!({ "startFromHead": true, "nextToken": token })),
        )
        .await;
    assert_eq!(messages(&page), ["later"]);
}

#[tokio::test]
async fn get_log_events_without_start_from_head_answers_the_latest_and_pages_backward() {
    let server = server().await;
    let logs = client(&server);
    stream_of(&logs, 5).await;
    // The default is the tail of the stream, still in ascending order.
    let page = logs.ok("GetLogEvents", get(json!({ "limit": 2 }))).await;
    assert_eq!(messages(&page), ["e3", "e4"]);
    let back = page["nextBackwardToken"].as_str().unwrap();
    let page = logs
        .ok(
            "GetLogEvents",
            get(json!({ "limit": 2, "nextToken": back })),
        )
        .await;
    assert_eq!(messages(&page), ["e1", "e2"]);
    let back = page["nextBackwardToken"].as_str().unwrap().to_string();
    let page = logs
        .ok(
            "GetLogEvents",
            get(json!({ "limit": 2, "nextToken": back })),
        )
        .await;
    assert_eq!(messages(&page), ["e0"]);
    let back = page["nextBackwardToken"].as_str().unwrap().to_string();
    let page = logs
        .ok(
            "GetLogEvents",
            get(json!({ "limit": 2, "nextToken": back.clone() })),
        )
        .await;
    assert_eq!(
        (
            messages(&page).len(),
            page["nextBackwardToken"].as_str().unwrap()
        ),
        (0, back.as_str())
    );
    // Without a limit, every event.
    assert_eq!(
        messages(&logs.ok("GetLogEvents", get(json!({}))).await).len(),
        5
    );
}

#[tokio::test]
async fn get_log_events_honours_the_time_range() {
    let server = server().await;
    let logs = client(&server);
    let start = stream_of(&logs, 5).await;
    // startTime inclusive, endTime exclusive.
    let page = logs
        .ok("GetLogEvents", get(json!({ "startTime": start + 1000, "endTime": start + 3000, "startFromHead": true })))
        .await;
    assert_eq!(messages(&page), ["e1", "e2"]);
    let page = logs
        .ok(
            "GetLogEvents",
            get(json!({ "startTime": start + 1000, "endTime": start + 3000 })),
        )
        .await;
    assert_eq!(messages(&page), ["e1", "e2"]);
    let page = logs
        .ok("GetLogEvents", get(json!({ "startTime": start + 3500 })))
        .await;
    assert_eq!(messages(&page), ["e4"]);
}

#[tokio::test]
async fn get_log_events_checks_its_inputs() {
    let server = server().await;
    let logs = client(&server);
    stream_of(&logs, 1).await;
    for (extra, code) in [
        (json!({ "limit": 0 }), "InvalidParameterException"),
        (json!({ "limit": 10_001 }), "InvalidParameterException"),
        (
            json!({ "nextToken": "garbage" }),
            "InvalidParameterException",
        ),
        (
            json!({ "logStreamName": "missing" }),
            "ResourceNotFoundException",
        ),
        (
            json!({ "logGroupName": "missing" }),
            "ResourceNotFoundException",
        ),
    ] {
        assert_eq!(
            logs.err("GetLogEvents", get(extra.clone())).await.0,
            code,
            "{extra}"
        );
    }
    let (_, message) = logs
        .err("GetLogEvents", get(json!({ "logStreamName": "missing" })))
        .await;
    assert_eq!(message, "The specified log stream does not exist.");
    // The group may be named by ARN in logGroupIdentifier, but not both ways at once.
    let by_arn = json!({ "logGroupIdentifier": "arn:aws:logs:us-east-1:000000000000:log-group:g", "logStreamName": "s" });
    assert_eq!(messages(&logs.ok("GetLogEvents", by_arn).await), ["e0"]);
    // With the `:*` of DescribeLogGroups' `arn` member: the model's pattern
    // for logGroupIdentifier (`[\w#+=/:,.@-]*`) refuses it.
    let starred = json!({ "logGroupIdentifier": "arn:aws:logs:us-east-1:000000000000:log-group:g:*", "logStreamName": "s" });
    assert_eq!(
        logs.err("GetLogEvents", starred).await.0,
        "InvalidParameterException"
    );
    let both = get(json!({ "logGroupIdentifier": "g" }));
    assert_eq!(
        logs.err("GetLogEvents", both).await.0,
        "InvalidParameterException"
    );
}

// ---------------------------------------------------------------- FilterLogEvents

/// Three streams whose events interleave in time.
async fn interleaved(logs: &Client<'_>) -> i64 {
    logs.group("g").await;
    let t = now_ms() - 60_000;
    for s in ["app/1", "app/2", "db/1"] {
        logs.stream("g", s).await;
    }
    logs.put(
        "g",
        "app/1",
        &[(t, "[ERROR] app1 timeout"), (t + 3, "[INFO] app1 ok")],
    )
    .await;
    logs.put(
        "g",
        "app/2",
        &[
            (t + 1, "[WARN] app2 slow"),
            (t + 4, "[ERROR] app2 request failed"),
        ],
    )
    .await;
    logs.put(
        "g",
        "db/1",
        &[
            (t + 2, "[INFO] db ready"),
            (t + 5, "[ERROR] db lost connection"),
        ],
    )
    .await;
    t
}

fn filter(extra: Value) -> Value {
    let mut req = json!({ "logGroupName": "g" });
    req.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    req
}

#[tokio::test]
async fn filter_log_events_interleaves_streams_by_time() {
    let server = server().await;
    let logs = client(&server);
    let t = interleaved(&logs).await;
    let all = logs.ok("FilterLogEvents", filter(json!({}))).await;
    assert_eq!(
        messages(&all),
        [
            "[ERROR] app1 timeout",
            "[WARN] app2 slow",
            "[INFO] db ready",
            "[INFO] app1 ok",
            "[ERROR] app2 request failed",
            "[ERROR] db lost connection"
        ]
    );
    let first = &all["events"][0];
    assert_eq!(
        (first["logStreamName"].as_str(), first["timestamp"].as_i64()),
        (Some("app/1"), Some(t))
    );
    assert_eq!(first["eventId"].as_str().unwrap().len(), 56);
    assert!(all.get("nextToken").is_none());

    let named = logs
        .ok(
            "FilterLogEvents",
            filter(json!({ "logStreamNames": ["db/1", "app/2"] })),
        )
        .await;
    assert_eq!(
        names(&named, "events", "logStreamName"),
        ["app/2", "db/1", "app/2", "db/1"]
    );
    let prefixed = logs
        .ok(
            "FilterLogEvents",
            filter(json!({ "logStreamNamePrefix": "app/" })),
        )
        .await;
    assert_eq!(
        names(&prefixed, "events", "logStreamName"),
        ["app/1", "app/2", "app/1", "app/2"]
    );
    let (code, _) = logs
        .err(
            "FilterLogEvents",
            filter(json!({ "logStreamNames": ["db/1"], "logStreamNamePrefix": "app" })),
        )
        .await;
    assert_eq!(code, "InvalidParameterException");

    // Both ends of the time range are inclusive here.
    let ranged = logs
        .ok(
            "FilterLogEvents",
            filter(json!({ "startTime": t + 1, "endTime": t + 3 })),
        )
        .await;
    assert_eq!(
        messages(&ranged),
        ["[WARN] app2 slow", "[INFO] db ready", "[INFO] app1 ok"]
    );
    // Newest first when asked.
    let newest = logs
        .ok(
            "FilterLogEvents",
            filter(json!({ "startFromHead": false, "limit": 2 })),
        )
        .await;
    assert_eq!(
        messages(&newest),
        ["[ERROR] db lost connection", "[ERROR] app2 request failed"]
    );
}

#[tokio::test]
async fn filter_patterns_match_terms_phrases_and_alternatives() {
    let server = server().await;
    let logs = client(&server);
    interleaved(&logs).await;
    let with = |pattern: &str| filter(json!({ "filterPattern": pattern }));
    let errors = logs.ok("FilterLogEvents", with("ERROR")).await;
    assert_eq!(messages(&errors).len(), 3);
    // All terms must appear, in any order.
    assert_eq!(
        messages(&logs.ok("FilterLogEvents", with("failed ERROR")).await),
        ["[ERROR] app2 request failed"]
    );
    // A quoted phrase must appear whole.
    assert_eq!(
        messages(
            &logs
                .ok("FilterLogEvents", with("\"lost connection\""))
                .await
        ),
        ["[ERROR] db lost connection"]
    );
    assert_eq!(
        messages(
            &logs
                .ok("FilterLogEvents", with("\"connection lost\""))
                .await
        ),
        Vec::<String>::new()
    );
    // ?terms: any one of them.
    assert_eq!(
        messages(&logs.ok("FilterLogEvents", with("?WARN ?ready")).await),
        ["[WARN] app2 slow", "[INFO] db ready"]
    );
    // Terms are case-sensitive.
    assert_eq!(
        messages(&logs.ok("FilterLogEvents", with("error")).await),
        Vec::<String>::new()
    );
    let (code, _) = logs
        .err("FilterLogEvents", with("{ $.level = \"error\" }"))
        .await;
    assert_eq!(code, "InvalidParameterException");
}

#[tokio::test]
async fn filter_log_events_pages_through_every_match_once() {
    let server = server().await;
    let logs = client(&server);
    logs.group("g").await;
    let t = now_ms() - 60_000;
    for s in ["a", "b"] {
        logs.stream("g", s).await;
        // Equal timestamps across streams: the order is still total.
        let events: Vec<(i64, String)> = (0..7)
            .map(|i| (t + i / 2, format!("{s}{i} match")))
            .collect();
        let refs: Vec<(i64, &str)> = events.iter().map(|(t, m)| (*t, m.as_str())).collect();
        logs.put("g", s, &refs).await;
        logs.put("g", s, &[(t + 10, "noise")]).await;
    }
    for (start_from_head, expected_first) in [(true, "a0 match"), (false, "b6 match")] {
        let mut seen = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut req = filter(
                json!({ "filterPattern": "match", "limit": 3, "startFromHead": start_from_head }),
            );
            if let Some(tok) = &token {
                req["nextToken"] = json!(tok);
            }
            let page = logs.ok("FilterLogEvents", req).await;
            assert!(messages(&page).len() <= 3);
            seen.extend(messages(&page));
            match page["nextToken"].as_str() {
                Some(tok) => token = Some(tok.to_string()),
                None => break,
            }
        }
        assert_eq!(seen.len(), 14, "{seen:?}");
        assert_eq!(seen[0], expected_first);
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 14, "a page repeated an event: {seen:?}");
    }
}

// ---------------------------------------------------------------- the service

#[tokio::test]
async fn accounts_and_regions_have_their_own_log_groups() {
    let server = server().await;
    let default = client(&server);
    let ireland = Client {
        region: "eu-west-1",
        ..client(&server)
    };
    let other_account = Client {
        akid: "123456789012",
        secret: "OTHER",
        ..client(&server)
    };
    default.group("mine").await;
    assert_eq!(
        ireland.ok("DescribeLogGroups", json!({})).await["logGroups"],
        json!([])
    );
    let theirs = other_account.ok("DescribeLogGroups", json!({})).await;
    assert_eq!(theirs["logGroups"], json!([]));
    other_account.group("mine").await;
    let arn =
        &other_account.ok("DescribeLogGroups", json!({})).await["logGroups"][0]["logGroupArn"];
    assert_eq!(arn, "arn:aws:logs:us-east-1:123456789012:log-group:mine");
}

#[tokio::test]
async fn logs_calls_are_signed_for_logs_and_checked_strictly() {
    let server = server().await;
    let scoped_to_ecs = Client {
        service: "ecs",
        ..client(&server)
    };
    let resp = scoped_to_ecs.call("DescribeLogGroups", json!({})).await;
    assert_eq!(
        (resp.status, resp.error_type().as_str()),
        (403, "InvalidSignatureException"),
        "{}",
        resp.body
    );
    let wrong_secret = Client {
        secret: "WRONG",
        ..client(&server)
    };
    let resp = wrong_secret.call("DescribeLogGroups", json!({})).await;
    assert_eq!(resp.status, 403, "{}", resp.body);
}

#[tokio::test]
async fn operations_not_built_yet_say_so_and_unknown_ones_are_unknown() {
    let server = server().await;
    let logs = client(&server);
    let (code, message) = logs.err("StartQuery", json!({})).await;
    assert_eq!(code, "InvalidOperationException");
    assert!(message.contains("StartQuery"), "{message}");
    let resp = logs.call("NoSuchThing", json!({})).await;
    assert_eq!(
        (resp.status, resp.error_type().as_str()),
        (400, "UnknownOperationException")
    );
    let resp = logs
        .call("DescribeLogGroups", json!({ "limit": "ten" }))
        .await;
    assert_eq!(
        (resp.status, resp.error_type().as_str()),
        (400, "SerializationException")
    );
}

#[tokio::test]
async fn health_lists_logs_and_reset_forgets_log_groups() {
    let server = server().await;
    let logs = client(&server);
    logs.group("g").await;
    let health = server.raw("GET", "/_ecsbox/health", &[], b"").await.json();
    assert_eq!(health["services"]["logs"], "running");
    assert_eq!(
        server.raw("POST", "/_ecsbox/reset", &[], b"").await.status,
        200
    );
    assert_eq!(
        logs.ok("DescribeLogGroups", json!({})).await["logGroups"],
        json!([])
    );
}

#[tokio::test]
async fn what_the_awslogs_driver_appends_is_read_back_through_the_api() {
    let server = server().await;
    let logs = client(&server);
    let store = server.app.logs.store();
    let (account, region) = ("000000000000", "us-east-1");
    assert!(ecsbox::logs::ensure_group(&store, account, region, "/ecs/app").unwrap());
    assert!(ecsbox::logs::group_exists(
        &store, account, region, "/ecs/app"
    ));
    ecsbox::logs::ensure_stream(&store, account, region, "/ecs/app", "ecs/web/0123").unwrap();
    let t = now_ms();
    // stdout and stderr lines may arrive slightly out of order.
    let lines = vec![
        (t + 2, "second".to_string()),
        (t + 1, "first".to_string()),
        (t + 3, "third".to_string()),
    ];
    ecsbox::logs::append(&store, account, region, "/ecs/app", "ecs/web/0123", lines).unwrap();
    let got = logs
        .ok(
            "GetLogEvents",
            json!({ "logGroupName": "/ecs/app", "logStreamName": "ecs/web/0123", "startFromHead": true }),
        )
        .await;
    assert_eq!(messages(&got), ["first", "second", "third"]);
    let missing = ecsbox::logs::append(
        &store,
        account,
        region,
        "/ecs/app",
        "nope",
        vec![(t, "x".into())],
    )
    .unwrap_err();
    assert_eq!(missing.code, "ResourceNotFoundException");
}

#[test]
fn every_logs_model_operation_is_listed() {
    let note = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/codegen/MODEL_VERSION"
    ))
    .unwrap();
    let count: usize = note
        .lines()
        .find_map(|l| l.strip_prefix("Logs operations in this model: "))
        .and_then(|n| n.trim().parse().ok())
        .expect("MODEL_VERSION names the Logs operation count");
    assert_eq!(ecsbox::model::logs::operations::Operation::ALL.len(), count);
}
