//! EventBridge schedules on ecsbox's clock, in process on the fake runtime:
//! a `rate(1 minute)` rule with an ECS target runs its task once the clock
//! is moved past the minute (by `POST /_ecsbox/clock/advance`), without
//! waiting a real minute. The clock's offset is process-wide, so these
//! tests have a binary of their own and run one after another.
mod common;

use aws_sdk_ecs::types::{ContainerDefinition, DesiredStatus};
use common::TestServer;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn events(s: &TestServer, op: &str, body: Value) -> Value {
    let r = s.aws_json("events", &format!("AWSEvents.{op}"), body).await;
    assert_eq!(r.status, 200, "{op}: {}", r.body);
    if r.body.is_empty() {
        return Value::Null;
    }
    r.json()
}

async fn advance(s: &TestServer, seconds: f64) -> Value {
    let r = s
        .raw(
            "POST",
            "/_ecsbox/clock/advance",
            &[],
            json!({"seconds": seconds}).to_string().as_bytes(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

async fn task_arns(ecs: &aws_sdk_ecs::Client) -> Vec<String> {
    let mut all = vec![];
    for status in [DesiredStatus::Running, DesiredStatus::Stopped] {
        let l = ecs
            .list_tasks()
            .cluster("c")
            .desired_status(status)
            .send()
            .await
            .unwrap();
        all.extend(l.task_arns.unwrap_or_default());
    }
    all
}

async fn wait_for_tasks(s: &TestServer, ecs: &aws_sdk_ecs::Client, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let arns = task_arns(ecs).await;
        if arns.len() >= n {
            return arns;
        }
        if Instant::now() >= deadline {
            let r = s.raw("GET", "/_ecsbox/events/invocations", &[], b"").await;
            panic!(
                "{} task(s), wanted {n}; invocations: {}",
                arns.len(),
                r.body
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_rate_rule_runs_its_task_when_the_clock_passes_the_minute() {
    let mut config = ecsbox::config::Config::for_tests();
    config.container_instances = 1;
    let s = TestServer::start_with(config).await;
    let ecs = s.client();
    ecs.create_cluster().cluster_name("c").send().await.unwrap();
    let td = ecs
        .register_task_definition()
        .family("batch")
        .container_definitions(
            ContainerDefinition::builder()
                .name("job")
                .image("job:1")
                .memory(64)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .task_definition
        .unwrap()
        .task_definition_arn
        .unwrap();
    events(
        &s,
        "PutRule",
        json!({"Name": "every-minute", "ScheduleExpression": "rate(1 minute)"}),
    )
    .await;
    let put = events(
        &s,
        "PutTargets",
        json!({"Rule": "every-minute", "Targets": [{
            "Id": "batch",
            "Arn": "arn:aws:ecs:us-east-1:000000000000:cluster/c",
            "EcsParameters": {"TaskDefinitionArn": td, "TaskCount": 1, "LaunchType": "EC2", "Tags": [{"Key": "from", "Value": "schedule"}]},
            "Input": "{\"containerOverrides\": [{\"name\": \"job\", \"environment\": [{\"name\": \"MODE\", \"value\": \"nightly\"}]}]}"
        }]}),
    )
    .await;
    assert_eq!(put["FailedEntryCount"], 0);

    // Nothing before the minute.
    let before = advance(&s, 30.0).await;
    assert!(before["offsetSeconds"].as_f64().unwrap() >= 30.0);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(task_arns(&ecs).await.is_empty());

    // Past it: one task, started by the rule, with the Input's overrides.
    advance(&s, 31.0).await;
    let arns = wait_for_tasks(&s, &ecs, 1).await;
    assert_eq!(arns.len(), 1);
    let task = ecs
        .describe_tasks()
        .cluster("c")
        .tasks(&arns[0])
        .include(aws_sdk_ecs::types::TaskField::Tags)
        .send()
        .await
        .unwrap()
        .tasks
        .unwrap()
        .remove(0);
    assert_eq!(task.started_by.as_deref(), Some("events-rule/every-minute"));
    let env = &task.overrides.unwrap().container_overrides.unwrap()[0];
    assert_eq!(
        env.environment.as_ref().unwrap()[0].value.as_deref(),
        Some("nightly")
    );
    assert_eq!(task.tags.unwrap()[0].key.as_deref(), Some("from"));

    // Another minute, another task; a disabled rule runs nothing.
    advance(&s, 60.0).await;
    wait_for_tasks(&s, &ecs, 2).await;
    events(&s, "DisableRule", json!({"Name": "every-minute"})).await;
    advance(&s, 120.0).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(task_arns(&ecs).await.len(), 2);

    let r = s.raw("GET", "/_ecsbox/events/invocations", &[], b"").await;
    let invocations = r.json()["invocations"].as_array().unwrap().clone();
    assert_eq!(invocations.len(), 2);
    assert!(
        invocations.iter().all(|i| i.get("error").is_none()),
        "{invocations:?}"
    );
}
