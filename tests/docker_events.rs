//! EventBridge end to end on the machine's real Docker engine: a
//! `rate(1 minute)` rule whose ECS target's container really runs (the
//! clock moved past the minute by `POST /_ecsbox/clock/advance`), and the
//! "ECS Task State Change" of its STOPPED task delivered to a log group.
//! The clock's offset is process-wide: this binary has one test.
mod common;
#[path = "common/docker.rs"]
mod docker_common;

use docker_common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn events(s: &DockerServer, op: &str, body: Value) -> Value {
    let r = s
        .server
        .aws_json("events", &format!("AWSEvents.{op}"), body)
        .await;
    assert_eq!(r.status, 200, "{op}: {}", r.body);
    r.json()
}

#[tokio::test]
async fn a_scheduled_task_really_runs_and_its_stop_reaches_a_log_group() {
    let s = DockerServer::start().await;
    s.register(
        "batch",
        vec![sh("job", "echo scheduled-$MODE").essential(true).build()],
    )
    .await;
    let r = s
        .server
        .aws_json(
            "logs",
            "Logs_20140328.CreateLogGroup",
            json!({"logGroupName": "/events/stops"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    events(
        &s,
        "PutRule",
        json!({"Name": "nightly", "ScheduleExpression": "rate(1 minute)"}),
    )
    .await;
    events(
        &s,
        "PutTargets",
        json!({"Rule": "nightly", "Targets": [{
            "Id": "batch",
            "Arn": "arn:aws:ecs:us-east-1:000000000000:cluster/c",
            "EcsParameters": {
                "TaskDefinitionArn": "arn:aws:ecs:us-east-1:000000000000:task-definition/batch:1",
                "LaunchType": "FARGATE",
                "NetworkConfiguration": {"awsvpcConfiguration": {"Subnets": ["subnet-0e2a7bcd"]}}
            },
            "Input": "{\"containerOverrides\": [{\"name\": \"job\", \"environment\": [{\"name\": \"MODE\", \"value\": \"nightly\"}]}]}"
        }]}),
    )
    .await;
    events(
        &s,
        "PutRule",
        json!({"Name": "stops", "EventPattern": r#"{"source": ["aws.ecs"], "detail-type": ["ECS Task State Change"], "detail": {"lastStatus": ["STOPPED"], "startedBy": ["events-rule/nightly"]}}"#}),
    )
    .await;
    events(
        &s,
        "PutTargets",
        json!({"Rule": "stops", "Targets": [{"Id": "l", "Arn": "arn:aws:logs:us-east-1:000000000000:log-group:/events/stops"}]}),
    )
    .await;

    let r = s
        .server
        .raw("POST", "/_ecsbox/clock/advance", &[], br#"{"seconds": 61}"#)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // The rule's task appears, runs its container and stops.
    let deadline = Instant::now() + DEADLINE;
    let arn = loop {
        let listed = s
            .ecs
            .list_tasks()
            .cluster(CLUSTER)
            .desired_status(aws_sdk_ecs::types::DesiredStatus::Stopped)
            .send()
            .await
            .unwrap();
        let running = s.ecs.list_tasks().cluster(CLUSTER).send().await.unwrap();
        if let Some(arn) = running.task_arns().iter().chain(listed.task_arns()).next() {
            break arn.clone();
        }
        assert!(Instant::now() < deadline, "the schedule ran no task");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let task = s.wait_status(&arn, "STOPPED").await;
    assert_eq!(task.started_by(), Some("events-rule/nightly"));
    assert_eq!(container(&task, "job").exit_code(), Some(0));
    let lines = s.log_lines(&runtime_id(&task, "job")).await;
    assert!(lines.iter().any(|l| l == "scheduled-nightly"), "{lines:?}");

    // Its STOPPED event reached the log group.
    let deadline = Instant::now() + DEADLINE;
    loop {
        let r = s
            .server
            .aws_json(
                "logs",
                "Logs_20140328.FilterLogEvents",
                json!({"logGroupName": "/events/stops"}),
            )
            .await;
        let found: Vec<Value> = r.json()["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| serde_json::from_str(e["message"].as_str().unwrap()).unwrap())
            .collect();
        if let Some(e) = found.first() {
            assert_eq!(e["detail"]["taskArn"], arn.as_str());
            assert_eq!(e["detail"]["stopCode"], "EssentialContainerExited");
            assert_eq!(e["detail"]["containers"][0]["exitCode"], 0);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no STOPPED event in the log group"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
