//! EventBridge in process, on the fake runtime: the API's lifecycle and
//! errors (raw JSON 1.1 calls with target prefix `AWSEvents`), events
//! delivered to log groups, ECS's own "ECS Task State Change" events, and
//! targets ecsbox does not deliver to counted as failed. The clock is never
//! moved here (tests/events_clock.rs does, in a binary of its own).
mod common;

use aws_sdk_ecs::types::ContainerDefinition;
use common::{RawResponse, TestServer};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn events(s: &TestServer, op: &str, body: Value) -> RawResponse {
    s.aws_json("events", &format!("AWSEvents.{op}"), body).await
}

async fn ok(s: &TestServer, op: &str, body: Value) -> Value {
    let r = events(s, op, body).await;
    assert_eq!(r.status, 200, "{op}: {}", r.body);
    if r.body.is_empty() {
        return Value::Null;
    }
    r.json()
}

async fn fails(s: &TestServer, op: &str, body: Value) -> (String, String) {
    let r = events(s, op, body).await;
    assert_eq!(r.status, 400, "{op}: {}", r.body);
    let v = r.json();
    (
        r.error_type(),
        v["message"].as_str().unwrap_or_default().to_string(),
    )
}

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

/// The messages of a log group, polled until `done` says enough (10 s at most).
async fn wait_for_messages(
    s: &TestServer,
    group: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let v = logs(s, "FilterLogEvents", json!({"logGroupName": group})).await;
        let messages: Vec<Value> = v["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                serde_json::from_str(e["message"].as_str().unwrap()).unwrap_or(e["message"].clone())
            })
            .collect();
        if done(&messages) {
            return messages;
        }
        assert!(Instant::now() < deadline, "{group}: only {messages:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A server whose clusters get one (virtual) container instance, for EC2 tasks.
async fn with_an_instance() -> TestServer {
    let mut config = ecsbox::config::Config::for_tests();
    config.container_instances = 1;
    let fake = std::sync::Arc::new(ecsbox::runtime::fake::FakeRuntime::new());
    fake.add_image("app:1");
    TestServer::start_on(config, fake).await
}

const ACCOUNT: &str = "000000000000";

fn group_arn(group: &str) -> String {
    format!("arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{group}")
}

#[tokio::test]
async fn rules_and_targets_live_and_die_as_in_aws() {
    let s = TestServer::start().await;
    let arn = ok(
        &s,
        "PutRule",
        json!({"Name": "stops", "EventPattern": r#"{"source": ["aws.ecs"]}"#, "Description": "d"}),
    )
    .await["RuleArn"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        arn,
        format!("arn:aws:events:us-east-1:{ACCOUNT}:rule/stops")
    );
    ok(
        &s,
        "PutRule",
        json!({"Name": "nightly", "ScheduleExpression": "cron(0 2 * * ? *)", "State": "DISABLED"}),
    )
    .await;
    ok(
        &s,
        "PutRule",
        json!({"Name": "other", "ScheduleExpression": "rate(5 minutes)"}),
    )
    .await;

    let d = ok(&s, "DescribeRule", json!({"Name": "nightly"})).await;
    assert_eq!(d["State"], "DISABLED");
    assert_eq!(d["ScheduleExpression"], "cron(0 2 * * ? *)");
    assert_eq!(d["EventBusName"], "default");
    assert_eq!(d["CreatedBy"], ACCOUNT);

    let all = ok(&s, "ListRules", json!({})).await;
    let names: Vec<&str> = all["Rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["nightly", "other", "stops"]);
    let first = ok(&s, "ListRules", json!({"Limit": 2})).await;
    assert_eq!(first["Rules"].as_array().unwrap().len(), 2);
    let rest = ok(
        &s,
        "ListRules",
        json!({"Limit": 2, "NextToken": first["NextToken"]}),
    )
    .await;
    assert_eq!(rest["Rules"][0]["Name"], "stops");
    assert!(rest.get("NextToken").is_none());
    let prefixed = ok(&s, "ListRules", json!({"NamePrefix": "ni"})).await;
    assert_eq!(prefixed["Rules"].as_array().unwrap().len(), 1);

    ok(&s, "EnableRule", json!({"Name": "nightly"})).await;
    assert_eq!(
        ok(&s, "DescribeRule", json!({"Name": "nightly"})).await["State"],
        "ENABLED"
    );
    ok(&s, "DisableRule", json!({"Name": "nightly"})).await;

    let put = ok(
        &s,
        "PutTargets",
        json!({"Rule": "stops", "Targets": [
            {"Id": "logs", "Arn": group_arn("/events/stops")},
            {"Id": "queue", "Arn": format!("arn:aws:sqs:us-east-1:{ACCOUNT}:q")},
        ]}),
    )
    .await;
    assert_eq!(put["FailedEntryCount"], 0);
    let targets = ok(&s, "ListTargetsByRule", json!({"Rule": "stops"})).await;
    assert_eq!(targets["Targets"].as_array().unwrap().len(), 2);
    let page = ok(
        &s,
        "ListTargetsByRule",
        json!({"Rule": "stops", "Limit": 1}),
    )
    .await;
    assert_eq!(page["Targets"][0]["Id"], "logs");
    let page = ok(
        &s,
        "ListTargetsByRule",
        json!({"Rule": "stops", "Limit": 1, "NextToken": page["NextToken"]}),
    )
    .await;
    assert_eq!(page["Targets"][0]["Id"], "queue");
    let by_target = ok(
        &s,
        "ListRuleNamesByTarget",
        json!({"TargetArn": group_arn("/events/stops")}),
    )
    .await;
    assert_eq!(by_target["RuleNames"], json!(["stops"]));

    // AWS's wording (getmoto/moto#5056, hashicorp/terraform-provider-aws#18519).
    assert_eq!(
        fails(&s, "DeleteRule", json!({"Name": "stops"})).await,
        (
            "ValidationException".into(),
            "Rule can't be deleted since it has targets.".into()
        )
    );
    ok(
        &s,
        "RemoveTargets",
        json!({"Rule": "stops", "Ids": ["logs", "queue"]}),
    )
    .await;
    ok(&s, "DeleteRule", json!({"Name": "stops"})).await;
    assert_eq!(
        fails(&s, "DescribeRule", json!({"Name": "stops"})).await,
        (
            "ResourceNotFoundException".into(),
            "Rule stops does not exist on EventBus default.".into()
        )
    );
    assert_eq!(
        fails(
            &s,
            "PutTargets",
            json!({"Rule": "stops", "Targets": [{"Id": "a", "Arn": group_arn("/x")}]})
        )
        .await
        .0,
        "ResourceNotFoundException"
    );
    // Deleting what is not there is not an error, as in AWS.
    ok(&s, "DeleteRule", json!({"Name": "stops"})).await;

    // Tags on rules and buses.
    ok(&s, "TagResource", json!({"ResourceARN": format!("arn:aws:events:us-east-1:{ACCOUNT}:rule/other"), "Tags": [{"Key": "team", "Value": "a"}]})).await;
    let tags = ok(
        &s,
        "ListTagsForResource",
        json!({"ResourceARN": format!("arn:aws:events:us-east-1:{ACCOUNT}:rule/other")}),
    )
    .await;
    assert_eq!(tags["Tags"], json!([{"Key": "team", "Value": "a"}]));
    ok(&s, "UntagResource", json!({"ResourceARN": format!("arn:aws:events:us-east-1:{ACCOUNT}:rule/other"), "TagKeys": ["team"]})).await;
    let tags = ok(
        &s,
        "ListTagsForResource",
        json!({"ResourceARN": format!("arn:aws:events:us-east-1:{ACCOUNT}:rule/other")}),
    )
    .await;
    assert_eq!(tags["Tags"], json!([]));
}

#[tokio::test]
async fn buses_and_the_errors_of_rules() {
    let s = TestServer::start().await;
    let buses = ok(&s, "ListEventBuses", json!({})).await;
    assert_eq!(buses["EventBuses"][0]["Name"], "default");
    let created = ok(
        &s,
        "CreateEventBus",
        json!({"Name": "orders", "Tags": [{"Key": "k", "Value": "v"}]}),
    )
    .await;
    assert_eq!(
        created["EventBusArn"],
        format!("arn:aws:events:us-east-1:{ACCOUNT}:event-bus/orders")
    );
    assert_eq!(
        fails(&s, "CreateEventBus", json!({"Name": "orders"}))
            .await
            .0,
        "ResourceAlreadyExistsException"
    );
    let d = ok(&s, "DescribeEventBus", json!({"Name": "orders"})).await;
    assert_eq!(d["Name"], "orders");
    let d = ok(&s, "DescribeEventBus", json!({})).await;
    assert_eq!(d["Name"], "default");
    assert_eq!(
        fails(&s, "DeleteEventBus", json!({"Name": "default"}))
            .await
            .0,
        "ValidationException"
    );
    assert_eq!(
        fails(&s, "DescribeEventBus", json!({"Name": "nope"})).await,
        (
            "ResourceNotFoundException".into(),
            "Event bus nope does not exist.".into()
        )
    );

    // Schedules only on the default bus, as AWS.
    assert_eq!(
        fails(
            &s,
            "PutRule",
            json!({"Name": "r", "EventBusName": "orders", "ScheduleExpression": "rate(1 minute)"})
        )
        .await,
        (
            "ValidationException".into(),
            "ScheduleExpression is supported only on the default event bus.".into()
        )
    );
    let arn = ok(
        &s,
        "PutRule",
        json!({"Name": "r", "EventBusName": "orders", "EventPattern": r#"{"source": ["shop"]}"#}),
    )
    .await;
    assert_eq!(
        arn["RuleArn"],
        format!("arn:aws:events:us-east-1:{ACCOUNT}:rule/orders/r")
    );
    assert_eq!(
        fails(&s, "DescribeRule", json!({"Name": "r"})).await.1,
        "Rule r does not exist on EventBus default."
    );
    ok(&s, "DescribeRule", json!({"Name": "r", "EventBusName": format!("arn:aws:events:us-east-1:{ACCOUNT}:event-bus/orders")})).await;

    let (code, message) = fails(
        &s,
        "PutRule",
        json!({"Name": "bad", "EventPattern": r#"{"source": "aws.ec2"}"#}),
    )
    .await;
    assert_eq!(code, "InvalidEventPatternException");
    assert_eq!(
        message,
        "Event pattern is not valid. Reason: \"source\" must be an object or an array"
    );
    for schedule in ["rate(1 minutes)", "cron(0 12 * * * *)", "every day"] {
        let (code, message) = fails(
            &s,
            "PutRule",
            json!({"Name": "bad", "ScheduleExpression": schedule}),
        )
        .await;
        assert_eq!(code, "ValidationException");
        assert!(
            message.starts_with("Parameter ScheduleExpression is not valid."),
            "{message}"
        );
    }
    assert_eq!(
        fails(&s, "PutRule", json!({"Name": "bad"})).await.0,
        "ValidationException"
    );
    assert_eq!(
        fails(
            &s,
            "PutRule",
            json!({"Name": "bad name!", "ScheduleExpression": "rate(1 day)"})
        )
        .await
        .0,
        "ValidationException"
    );
    ok(
        &s,
        "PutRule",
        json!({"Name": "ecs", "EventPattern": r#"{"source": ["x"]}"#}),
    )
    .await;
    assert_eq!(
        fails(&s, "PutTargets", json!({"Rule": "ecs", "Targets": [{"Id": "t", "Arn": format!("arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/default")}]})).await,
        ("ValidationException".into(), "Parameter(s) EcsParameters must be specified for target: t.".into())
    );
    assert_eq!(
        fails(&s, "PutTargets", json!({"Rule": "ecs", "Targets": [{"Id": "t", "Arn": group_arn("/x"), "Input": "{}", "InputPath": "$.detail"}]})).await.1,
        "Only one of Input, InputPath, or InputTransformer must be provided."
    );
    // A sixth target fails on its own.
    let six: Vec<Value> = (0..6)
        .map(|i| json!({"Id": format!("t{i}"), "Arn": group_arn("/x")}))
        .collect();
    let put = ok(&s, "PutTargets", json!({"Rule": "ecs", "Targets": six})).await;
    assert_eq!(put["FailedEntryCount"], 1);
    assert_eq!(put["FailedEntries"][0]["TargetId"], "t5");

    // Operations ecsbox does not implement say so.
    let (code, message) = fails(&s, "CreateArchive", json!({"ArchiveName": "a", "EventSourceArn": "arn:aws:events:us-east-1:000000000000:event-bus/default"})).await;
    assert_eq!(code, "ValidationException");
    assert!(message.contains("CreateArchive"), "{message}");
}

#[tokio::test]
async fn test_event_pattern_answers_as_aws() {
    let s = TestServer::start().await;
    let event = json!({
        "id": "1", "account": ACCOUNT, "source": "aws.ecs", "time": "2024-01-01T00:00:00Z",
        "region": "us-east-1", "resources": [], "detail-type": "ECS Task State Change",
        "detail": {"lastStatus": "STOPPED", "cpu": 512}
    })
    .to_string();
    let t = |pattern: &str| json!({"EventPattern": pattern, "Event": event});
    assert_eq!(
        ok(
            &s,
            "TestEventPattern",
            t(r#"{"detail": {"lastStatus": ["STOPPED"]}}"#)
        )
        .await["Result"],
        true
    );
    assert_eq!(
        ok(
            &s,
            "TestEventPattern",
            t(r#"{"detail": {"cpu": [{"numeric": [">", 1024]}]}}"#)
        )
        .await["Result"],
        false
    );
    assert_eq!(
        ok(
            &s,
            "TestEventPattern",
            t(r#"{"source": [{"prefix": "aws."}], "detail": {"gone": [{"exists": false}]}}"#)
        )
        .await["Result"],
        true
    );
    assert_eq!(
        fails(&s, "TestEventPattern", t(r#"{"detail": {}}"#))
            .await
            .0,
        "InvalidEventPatternException"
    );
    let (code, message) = fails(
        &s,
        "TestEventPattern",
        json!({"EventPattern": "{\"source\": [\"a\"]}", "Event": "{\"source\": \"a\"}"}),
    )
    .await;
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("ValidationException", "Parameter Event is not valid.")
    );
}

#[tokio::test]
async fn put_events_reaches_log_groups_and_failed_targets_are_counted() {
    let s = TestServer::start().await;
    logs(
        &s,
        "CreateLogGroup",
        json!({"logGroupName": "/events/orders"}),
    )
    .await;
    ok(&s, "PutRule", json!({"Name": "orders", "EventPattern": r#"{"source": ["shop"], "detail": {"total": [{"numeric": [">=", 100]}]}}"#})).await;
    ok(
        &s,
        "PutTargets",
        json!({"Rule": "orders", "Targets": [
            {"Id": "raw", "Arn": group_arn("/events/orders")},
            {"Id": "queue", "Arn": format!("arn:aws:sqs:us-east-1:{ACCOUNT}:q")},
            {"Id": "shaped", "Arn": group_arn("/events/orders"), "InputTransformer": {
                "InputPathsMap": {"total": "$.detail.total", "id": "$.detail.id"},
                "InputTemplate": "{\"order\": \"<id>\", \"total\": <total>, \"rule\": \"<aws.events.rule-name>\"}"
            }},
        ]}),
    )
    .await;
    let put = ok(
        &s,
        "PutEvents",
        json!({"Entries": [
            {"Source": "shop", "DetailType": "Order", "Detail": "{\"id\": \"o-1\", \"total\": 250}"},
            {"Source": "shop", "DetailType": "Order", "Detail": "{\"id\": \"o-2\", \"total\": 5}"},
            {"Source": "shop", "DetailType": "Order"},
            {"Source": "shop", "DetailType": "Order", "Detail": "not json"},
            {"Source": "aws.ecs", "DetailType": "Order", "Detail": "{}"},
            {"Source": "shop", "DetailType": "Order", "Detail": "{}", "EventBusName": "nope"},
        ]}),
    )
    .await;
    assert_eq!(put["FailedEntryCount"], 4);
    let entries = put["Entries"].as_array().unwrap();
    assert!(entries[0]["EventId"].is_string() && entries[1]["EventId"].is_string());
    assert_eq!(entries[2]["ErrorCode"], "InvalidArgument");
    assert_eq!(
        entries[2]["ErrorMessage"],
        "Parameter Detail is not valid. Reason: Detail is a required argument."
    );
    assert_eq!(entries[3]["ErrorCode"], "MalformedDetail");
    assert_eq!(entries[4]["ErrorCode"], "NotAuthorizedForSourceException");
    assert_eq!(entries[5]["ErrorCode"], "ResourceNotFoundException");

    let messages = wait_for_messages(&s, "/events/orders", |m| m.len() >= 2).await;
    let raw = messages
        .iter()
        .find(|m| m.get("detail-type").is_some())
        .unwrap();
    assert_eq!(raw["source"], "shop");
    assert_eq!(raw["detail"]["id"], "o-1");
    assert_eq!(raw["id"], entries[0]["EventId"]);
    let shaped = messages.iter().find(|m| m.get("order").is_some()).unwrap();
    assert_eq!(
        shaped,
        &json!({"order": "o-1", "total": 250, "rule": "orders"})
    );

    // The SQS target is kept, and its invocation counted as failed.
    let r = s.raw("GET", "/_ecsbox/events/invocations", &[], b"").await;
    let v = r.json();
    let failed: Vec<&Value> = v["invocations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i.get("error").is_some())
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["targetId"], "queue");
    assert!(failed[0]["error"].as_str().unwrap().contains("sqs"));
    let rule = &v["rules"].as_array().unwrap()[0];
    assert_eq!(
        rule["metrics"],
        json!({"TriggeredRules": 1, "Invocations": 3, "FailedInvocations": 1})
    );
}

#[tokio::test]
async fn a_stopped_task_is_an_event_a_rule_delivers_to_a_log_group() {
    let s = with_an_instance().await;
    let ecs = s.client();
    ecs.create_cluster().cluster_name("c").send().await.unwrap();
    ecs.register_task_definition()
        .family("job")
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image("app:1")
                .memory(64)
                .build(),
        )
        .send()
        .await
        .unwrap();
    logs(&s, "CreateLogGroup", json!({"logGroupName": "/events/ecs"})).await;
    ok(
        &s,
        "PutRule",
        json!({"Name": "stopped", "EventPattern": r#"{"source": ["aws.ecs"], "detail-type": ["ECS Task State Change"], "detail": {"lastStatus": ["STOPPED"]}}"#}),
    )
    .await;
    ok(
        &s,
        "PutTargets",
        json!({"Rule": "stopped", "Targets": [{"Id": "l", "Arn": group_arn("/events/ecs")}]}),
    )
    .await;
    let task = ecs
        .run_task()
        .cluster("c")
        .task_definition("job")
        .send()
        .await
        .unwrap()
        .tasks
        .unwrap()
        .remove(0);
    let arn = task.task_arn.unwrap();
    ecs.stop_task()
        .cluster("c")
        .task(&arn)
        .reason("done here")
        .send()
        .await
        .unwrap();
    let messages = wait_for_messages(&s, "/events/ecs", |m| !m.is_empty()).await;
    assert_eq!(messages.len(), 1, "only STOPPED matches: {messages:?}");
    let e = &messages[0];
    assert_eq!(e["source"], "aws.ecs");
    assert_eq!(e["detail-type"], "ECS Task State Change");
    assert_eq!(e["resources"], json!([arn]));
    let d = &e["detail"];
    assert_eq!(d["taskArn"], arn.as_str());
    assert_eq!(d["lastStatus"], "STOPPED");
    assert_eq!(d["desiredStatus"], "STOPPED");
    assert_eq!(d["stoppedReason"], "done here");
    assert_eq!(d["stopCode"], "UserInitiated");
    assert!(d["clusterArn"].as_str().unwrap().ends_with(":cluster/c"));
    assert_eq!(d["containers"][0]["name"], "app");
    assert!(d["updatedAt"].as_str().unwrap().ends_with('Z'));
    assert!(d["createdAt"].as_str().unwrap().ends_with('Z'));
    assert!(d["version"].is_number());
}

/// A resource of an event's `registeredResources` or `remainingResources`.
fn resource(detail: &Value, list: &str, name: &str) -> i64 {
    detail[list]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {list}: {detail}"))["integerValue"]
        .as_i64()
        .unwrap()
}

/// "ECS Container Instance State Change", as the ECS developer guide lists
/// its causes: an instance registers (a cluster's virtual instance, and one
/// registered through the API), a task placed on it and stopped changes its
/// remaining resources, it is set DRAINING, and it is deregistered. Each
/// event's detail is the instance as DescribeContainerInstances shows it,
/// with its cluster and `updatedAt`; `version` grows with each event.
#[tokio::test]
async fn container_instance_changes_are_events_on_the_default_bus() {
    let s = with_an_instance().await;
    let ecs = s.client();
    logs(
        &s,
        "CreateLogGroup",
        json!({"logGroupName": "/events/instances"}),
    )
    .await;
    ok(
        &s,
        "PutRule",
        json!({"Name": "instances", "EventPattern": r#"{"source": ["aws.ecs"], "detail-type": ["ECS Container Instance State Change"]}"#}),
    )
    .await;
    ok(
        &s,
        "PutTargets",
        json!({"Rule": "instances", "Targets": [{"Id": "l", "Arn": group_arn("/events/instances")}]}),
    )
    .await;
    let of = |messages: &[Value], arn: &str| -> Vec<Value> {
        let mut mine: Vec<Value> = messages
            .iter()
            .filter(|m| m["detail"]["containerInstanceArn"] == arn)
            .cloned()
            .collect();
        mine.sort_by_key(|m| m["detail"]["version"].as_i64().unwrap());
        mine
    };

    // The cluster's virtual instance registers.
    ecs.create_cluster().cluster_name("c").send().await.unwrap();
    let arn = ecs
        .list_container_instances()
        .cluster("c")
        .send()
        .await
        .unwrap()
        .container_instance_arns()[0]
        .clone();
    let messages = wait_for_messages(&s, "/events/instances", |m| of(m, &arn).len() == 1).await;
    let e = &of(&messages, &arn)[0];
    assert_eq!(e["source"], "aws.ecs");
    assert_eq!(e["account"], ACCOUNT);
    assert_eq!(e["region"], "us-east-1");
    assert_eq!(e["resources"], json!([arn]));
    let d = &e["detail"];
    assert_eq!(d["status"], "ACTIVE");
    assert_eq!(d["agentConnected"], true);
    assert_eq!(
        d["clusterArn"],
        format!("arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/c")
    );
    assert!(d["ec2InstanceId"].as_str().unwrap().starts_with("i-"));
    assert!(d["updatedAt"].as_str().unwrap().ends_with('Z'));
    assert!(d["registeredAt"].as_str().unwrap().ends_with('Z'));
    assert!(d["versionInfo"]["agentVersion"].is_string());
    assert!(d["attributes"].as_array().unwrap().len() > 5);
    let memory = resource(d, "registeredResources", "MEMORY");
    assert_eq!(resource(d, "remainingResources", "MEMORY"), memory);

    // A task placed on it takes 64 MiB; stopped, gives them back.
    ecs.register_task_definition()
        .family("job")
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image("app:1")
                .memory(64)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let task = ecs
        .run_task()
        .cluster("c")
        .task_definition("job")
        .send()
        .await
        .unwrap()
        .tasks
        .unwrap()
        .remove(0)
        .task_arn
        .unwrap();
    let messages = wait_for_messages(&s, "/events/instances", |m| {
        of(m, &arn)
            .iter()
            .any(|e| resource(&e["detail"], "remainingResources", "MEMORY") == memory - 64)
    })
    .await;
    let placed = of(&messages, &arn)
        .into_iter()
        .find(|e| resource(&e["detail"], "remainingResources", "MEMORY") == memory - 64)
        .unwrap();
    ecs.stop_task()
        .cluster("c")
        .task(&task)
        .send()
        .await
        .unwrap();
    let messages = wait_for_messages(&s, "/events/instances", |m| {
        of(m, &arn).last().is_some_and(|e| {
            e["detail"]["version"].as_i64() > placed["detail"]["version"].as_i64()
                && resource(&e["detail"], "remainingResources", "MEMORY") == memory
        })
    })
    .await;

    // DRAINING, and the version the API answers is the last event's.
    let drained = ecs
        .update_container_instances_state()
        .cluster("c")
        .container_instances(&arn)
        .status(aws_sdk_ecs::types::ContainerInstanceStatus::Draining)
        .send()
        .await
        .unwrap();
    let before = of(&messages, &arn).len();
    let messages = wait_for_messages(&s, "/events/instances", |m| {
        of(m, &arn)
            .last()
            .is_some_and(|e| e["detail"]["status"] == "DRAINING")
    })
    .await;
    let mine = of(&messages, &arn);
    assert_eq!(mine.len(), before + 1, "one event per change: {mine:?}");
    let versions: Vec<i64> = mine
        .iter()
        .map(|e| e["detail"]["version"].as_i64().unwrap())
        .collect();
    assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
    let described = ecs
        .describe_container_instances()
        .cluster("c")
        .container_instances(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.container_instances()[0].version(),
        *versions.last().unwrap()
    );
    assert!(drained.container_instances()[0].version() <= *versions.last().unwrap());

    // One registered through the API, then deregistered.
    let registered = ecs
        .register_container_instance()
        .cluster("c")
        .instance_identity_document(r#"{"instanceId": "i-0abc", "instanceType": "t3.small"}"#)
        .send()
        .await
        .unwrap()
        .container_instance
        .unwrap()
        .container_instance_arn
        .unwrap();
    ecs.deregister_container_instance()
        .cluster("c")
        .container_instance(&registered)
        .send()
        .await
        .unwrap();
    let messages = wait_for_messages(&s, "/events/instances", |m| {
        of(m, &registered)
            .last()
            .is_some_and(|e| e["detail"]["status"] == "INACTIVE")
    })
    .await;
    let last = of(&messages, &registered).pop().unwrap();
    assert_eq!(last["detail"]["agentConnected"], false);
    assert_eq!(last["detail"]["ec2InstanceId"], "i-0abc");
}

#[tokio::test]
async fn the_clock_endpoint_refuses_bad_input() {
    // Only refusals here: moving the clock belongs to tests/events_clock.rs.
    let s = TestServer::start().await;
    for body in [
        "",
        "{}",
        "{\"seconds\": 0}",
        "{\"seconds\": -5}",
        "{\"seconds\": \"ten\"}",
        "[1]",
    ] {
        let r = s
            .raw("POST", "/_ecsbox/clock/advance", &[], body.as_bytes())
            .await;
        assert_eq!(r.status, 400, "{body}");
        assert_eq!(r.json()["__type"], "ValidationException");
    }
    let r = s.raw("GET", "/_ecsbox/clock", &[], b"").await;
    assert_eq!(r.status, 200);
    assert!(r.json()["now"].as_f64().unwrap() > 1.7e9);
    assert!(r.json()["offsetSeconds"].is_number());
}
