//! What CloudWatch Logs keeps, over time and in memory, through the API:
//! a group's retention removes its older events once they pass it (AWS:
//! "CloudWatch Logs automatically deletes log events that are older than
//! the retention setting"), here as soon as ecsbox's clock is moved past
//! it; and ecsbox's memory limit per region (`--log-memory-limit-mib`)
//! removes the oldest events when writes go past it. The clock's offset is
//! process-wide, so these tests have a binary of their own.
mod common;

use common::TestServer;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn logs(s: &TestServer, op: &str, body: Value) -> Value {
    let r = s
        .aws_json("logs", &format!("Logs_20140328.{op}"), body)
        .await;
    assert_eq!(r.status, 200, "{op}: {}", r.body);
    if r.body.is_empty() {
        return Value::Null;
    }
    r.json()
}

/// ecsbox's now, in epoch milliseconds.
async fn server_now_ms(s: &TestServer) -> i64 {
    let r = s.raw("GET", "/_ecsbox/clock", &[], b"").await;
    (r.json()["now"].as_f64().unwrap() * 1000.0) as i64
}

async fn messages(s: &TestServer, group: &str, stream: &str) -> Vec<String> {
    let v = logs(
        s,
        "GetLogEvents",
        json!({"logGroupName": group, "logStreamName": stream, "startFromHead": true}),
    )
    .await;
    v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect()
}

/// The group's storedBytes (a stream's is always 0 since 2019, as on AWS).
async fn stored_bytes(s: &TestServer, group: &str) -> i64 {
    let v = logs(s, "DescribeLogGroups", json!({"logGroupNamePrefix": group})).await;
    v["logGroups"][0]["storedBytes"].as_i64().unwrap()
}

async fn group_with_streams(s: &TestServer, group: &str, streams: &[&str]) {
    logs(s, "CreateLogGroup", json!({"logGroupName": group})).await;
    for stream in streams {
        logs(
            s,
            "CreateLogStream",
            json!({"logGroupName": group, "logStreamName": stream}),
        )
        .await;
    }
}

#[tokio::test]
async fn events_past_the_groups_retention_go_once_the_clock_passes_it() {
    let s = TestServer::start().await;
    group_with_streams(&s, "/app", &["s"]).await;
    group_with_streams(&s, "/forever", &["s"]).await;
    let now = server_now_ms(&s).await;
    for group in ["/app", "/forever"] {
        logs(
            &s,
            "PutLogEvents",
            json!({"logGroupName": group, "logStreamName": "s",
                   "logEvents": [{"timestamp": now - 1000, "message": "before"}]}),
        )
        .await;
    }
    logs(
        &s,
        "PutRetentionPolicy",
        json!({"logGroupName": "/app", "retentionInDays": 1}),
    )
    .await;
    // Within the day: kept.
    assert_eq!(messages(&s, "/app", "s").await, ["before"]);

    let r = s
        .raw(
            "POST",
            "/_ecsbox/clock/advance",
            &[],
            json!({"seconds": 2 * 86_400}).to_string().as_bytes(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let later = server_now_ms(&s).await;
    logs(
        &s,
        "PutLogEvents",
        json!({"logGroupName": "/app", "logStreamName": "s",
               "logEvents": [{"timestamp": later, "message": "after"}]}),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let m = messages(&s, "/app", "s").await;
        if m == ["after"] {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the expired event is still there: {m:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(stored_bytes(&s, "/app").await, "after".len() as i64);
    // A group without retention keeps everything.
    assert_eq!(messages(&s, "/forever", "s").await, ["before"]);
}

#[tokio::test]
async fn past_the_memory_limit_the_oldest_events_go_and_the_newest_stay() {
    let mut config = ecsbox::config::Config::for_tests();
    config.log_memory_limit_mib = 1;
    let s = TestServer::start_with(config).await;
    group_with_streams(&s, "/big", &["one", "two"]).await;
    // 3 MiB of 1 KiB events, alternating between the streams, in time order.
    let now = server_now_ms(&s).await;
    let body = "x".repeat(1000);
    let batches = 6;
    let per_batch = 512;
    for b in 0..batches {
        let stream = if b % 2 == 0 { "one" } else { "two" };
        let events: Vec<Value> = (0..per_batch)
            .map(|i| {
                let n = b * per_batch + i;
                json!({"timestamp": now - 3_600_000 + n as i64, "message": format!("{n:06} {body}")})
            })
            .collect();
        logs(
            &s,
            "PutLogEvents",
            json!({"logGroupName": "/big", "logStreamName": stream, "logEvents": events}),
        )
        .await;
    }
    let kept = stored_bytes(&s, "/big").await;
    assert!(
        kept <= 1 << 20,
        "{kept} bytes of messages kept, over the 1 MiB limit"
    );
    assert!(
        kept > 1 << 19,
        "only {kept} bytes kept: far too many removed"
    );
    // The newest event stays, the oldest went.
    let last = batches * per_batch - 1;
    let two = messages(&s, "/big", "two").await;
    assert!(two.last().unwrap().starts_with(&format!("{last:06} ")));
    let one = messages(&s, "/big", "one").await;
    let first_left: usize = one.first().map_or(usize::MAX, |m| m[..6].parse().unwrap());
    assert!(first_left > 0, "the oldest event is still there");
}
