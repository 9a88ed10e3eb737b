//! `--state-dir`: a restart finds every resource a client made, in every
//! service, and the tasks that ran (the fake runtime's containers, shared by
//! both servers as one engine would be) are adopted, not relaunched. The
//! real binary, Docker containers and `kill -9` are in docker_restart.rs.
//!
//! Each test compares the answers of the same Describe/List/Get calls
//! before and after the restart, byte for byte where nothing may change.

mod common;

use common::{xml_elements, RawResponse, TestServer};
use ecsbox::config::Config;
use ecsbox::runtime::fake::FakeRuntime;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A state directory removed when the test ends, failed or not.
struct StateDir(PathBuf);

impl StateDir {
    fn new() -> Self {
        StateDir(std::env::temp_dir().join(format!("ecsbox-state-{}", uuid::Uuid::new_v4())))
    }
}

impl Drop for StateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The engine both runs share, with the image the tasks use.
fn engine() -> Arc<FakeRuntime> {
    let runtime = Arc::new(FakeRuntime::new());
    runtime.add_image("busybox");
    runtime
}

/// One instance id for both runs: the second adopts the first's containers.
fn config(dir: &StateDir, instance: &str) -> Config {
    let mut config = Config::for_tests();
    config.instance_id = instance.to_string();
    config.state_dir = Some(dir.0.clone());
    // EC2 tasks: clusters get a virtual container instance.
    config.container_instances = 1;
    config
}

async fn call(s: &TestServer, service: &str, target: &str, body: Value) -> Value {
    let r: RawResponse = s.aws_json(service, target, body).await;
    assert_eq!(r.status, 200, "{target}: {}", r.body);
    if r.body.is_empty() {
        Value::Null
    } else {
        r.json()
    }
}

async fn ecs(s: &TestServer, op: &str, body: Value) -> Value {
    call(
        s,
        "ecs",
        &format!("AmazonEC2ContainerServiceV20141113.{op}"),
        body,
    )
    .await
}

async fn elb(s: &TestServer, action: &str, params: &[(&str, &str)]) -> String {
    let r = s
        .query("elasticloadbalancing", "2015-12-01", action, params)
        .await;
    assert_eq!(r.status, 200, "{action}: {}", r.body);
    r.body
}

/// The reads compared across the restart (service, target, body).
fn reads() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        (
            "ecs",
            "AmazonEC2ContainerServiceV20141113.DescribeClusters",
            json!({"clusters": ["web"], "include": ["TAGS", "SETTINGS"]}),
        ),
        (
            "ecs",
            "AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition",
            json!({"taskDefinition": "app:2", "include": ["TAGS"]}),
        ),
        (
            "ecs",
            "AmazonEC2ContainerServiceV20141113.ListTaskDefinitions",
            json!({}),
        ),
        (
            "ecs",
            "AmazonEC2ContainerServiceV20141113.ListAccountSettings",
            json!({}),
        ),
        ("logs", "Logs_20140328.DescribeLogGroups", json!({})),
        (
            "logs",
            "Logs_20140328.GetLogEvents",
            json!({"logGroupName": "/app", "logStreamName": "s1", "startFromHead": true}),
        ),
        (
            "secretsmanager",
            "secretsmanager.GetSecretValue",
            json!({"SecretId": "db"}),
        ),
        ("ssm", "AmazonSSM.GetParameter", json!({"Name": "/app/url"})),
        (
            "servicediscovery",
            "Route53AutoNaming_v20170314.ListNamespaces",
            json!({}),
        ),
        ("events", "AWSEvents.ListRules", json!({})),
        (
            "ecr",
            "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories",
            json!({}),
        ),
        (
            "application-autoscaling",
            "AnyScaleFrontendService.DescribeScalableTargets",
            json!({"ServiceNamespace": "ecs"}),
        ),
    ]
}

async fn read_all(s: &TestServer) -> Vec<(String, String)> {
    let mut out = vec![];
    for (service, target, body) in reads() {
        let r = s.aws_json(service, target, body).await;
        assert_eq!(r.status, 200, "{target}: {}", r.body);
        out.push((target.to_string(), r.body));
    }
    out
}

async fn running_tasks(s: &TestServer) -> Vec<Value> {
    let arns = ecs(
        s,
        "ListTasks",
        json!({"cluster": "web", "desiredStatus": "RUNNING"}),
    )
    .await;
    let arns = arns["taskArns"].clone();
    if arns.as_array().is_none_or(Vec::is_empty) {
        return vec![];
    }
    let tasks = ecs(s, "DescribeTasks", json!({"cluster": "web", "tasks": arns})).await;
    let mut tasks = tasks["tasks"].as_array().cloned().unwrap_or_default();
    tasks.retain(|t| t["lastStatus"] == "RUNNING");
    tasks.sort_by_key(|t| t["taskArn"].as_str().unwrap_or_default().to_string());
    tasks
}

async fn wait_running(s: &TestServer, count: usize) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let tasks = running_tasks(s).await;
        if tasks.len() == count {
            return tasks;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let all = ecs(
                s,
                "ListTasks",
                json!({"cluster": "web", "desiredStatus": "STOPPED"}),
            )
            .await;
            let service = ecs(
                s,
                "DescribeServices",
                json!({"cluster": "web", "services": ["api"]}),
            )
            .await;
            panic!("{count} tasks not running: {tasks:#?}; stopped: {all:#}; {service:#}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What a client made in every kept service.
async fn make_everything(s: &TestServer) -> String {
    ecs(
        s,
        "CreateCluster",
        json!({"clusterName": "web", "tags": [{"key": "team", "value": "a"}]}),
    )
    .await;
    for command in ["one", "two"] {
        ecs(s, "RegisterTaskDefinition", json!({
            "family": "app",
            "containerDefinitions": [{"name": "app", "image": "busybox", "memory": 64, "essential": true, "command": [command]}],
            "tags": [{"key": "rev", "value": command}],
        }))
        .await;
    }
    ecs(
        s,
        "PutAccountSetting",
        json!({"name": "containerInsights", "value": "enabled"}),
    )
    .await;
    ecs(
        s,
        "CreateService",
        json!({
            "cluster": "web", "serviceName": "api", "taskDefinition": "app:2", "desiredCount": 2,
        }),
    )
    .await;
    call(
        s,
        "logs",
        "Logs_20140328.CreateLogGroup",
        json!({"logGroupName": "/app", "tags": {"k": "v"}}),
    )
    .await;
    call(
        s,
        "logs",
        "Logs_20140328.PutRetentionPolicy",
        json!({"logGroupName": "/app", "retentionInDays": 7}),
    )
    .await;
    call(
        s,
        "logs",
        "Logs_20140328.CreateLogStream",
        json!({"logGroupName": "/app", "logStreamName": "s1"}),
    )
    .await;
    let now = ecsbox::clock::now_millis();
    let events: Vec<Value> = (0..3000)
        .map(|i| json!({"timestamp": now - 3000 + i, "message": format!("line {i}")}))
        .collect();
    call(
        s,
        "logs",
        "Logs_20140328.PutLogEvents",
        json!({"logGroupName": "/app", "logStreamName": "s1", "logEvents": events}),
    )
    .await;
    call(
        s,
        "secretsmanager",
        "secretsmanager.CreateSecret",
        json!({"Name": "db", "SecretString": "pw"}),
    )
    .await;
    call(
        s,
        "ssm",
        "AmazonSSM.PutParameter",
        json!({"Name": "/app/url", "Value": "http://x", "Type": "String"}),
    )
    .await;
    call(
        s,
        "servicediscovery",
        "Route53AutoNaming_v20170314.CreateHttpNamespace",
        json!({"Name": "app.local"}),
    )
    .await;
    call(
        s,
        "events",
        "AWSEvents.PutRule",
        json!({"Name": "nightly", "ScheduleExpression": "rate(1 day)"}),
    )
    .await;
    call(
        s,
        "application-autoscaling",
        "AnyScaleFrontendService.RegisterScalableTarget",
        json!({
            "ServiceNamespace": "ecs", "ResourceId": "service/web/api",
            "ScalableDimension": "ecs:service:DesiredCount", "MinCapacity": 1, "MaxCapacity": 4,
        }),
    )
    .await;
    // A target group with a target RegisterTargets put in it.
    let vpcs = s.ec2_raw("Action=DescribeVpcs").await.body;
    let vpc = xml_elements(&vpcs, "vpcId").remove(0);
    let tg = elb(
        s,
        "CreateTargetGroup",
        &[
            ("Name", "api"),
            ("Protocol", "HTTP"),
            ("Port", "80"),
            ("VpcId", &vpc),
            ("TargetType", "ip"),
        ],
    )
    .await;
    let tg_arn = xml_elements(&tg, "TargetGroupArn").remove(0);
    let vpc_cidr = xml_elements(&vpcs, "cidrBlock").remove(0);
    let ip = vpc_cidr.split('.').take(2).collect::<Vec<_>>().join(".") + ".0.10";
    elb(
        s,
        "RegisterTargets",
        &[("TargetGroupArn", &tg_arn), ("Targets.member.1.Id", &ip)],
    )
    .await;
    tg_arn
}

#[tokio::test]
async fn a_restart_finds_every_resource_and_adopts_the_running_tasks() {
    let dir = StateDir::new();
    let instance = format!("test-{}", uuid::Uuid::new_v4().simple());
    let runtime = engine();

    let first = TestServer::start_on(config(&dir, &instance), runtime.clone()).await;
    let tg_arn = make_everything(&first).await;
    let tasks_before = wait_running(&first, 2).await;
    // The clock moved forward stays moved.
    let clock = first
        .raw(
            "POST",
            "/_ecsbox/clock/advance",
            &[],
            br#"{"seconds": 7200}"#,
        )
        .await;
    assert_eq!(clock.status, 200, "{}", clock.body);
    let offset = ecsbox::clock::offset();
    let reads_before = read_all(&first).await;
    let targets_before = elb(
        &first,
        "DescribeTargetHealth",
        &[("TargetGroupArn", &tg_arn)],
    )
    .await;
    let containers = || {
        let mut ids = runtime.container_ids();
        ids.sort();
        ids
    };
    let containers_before = containers();
    first.stop().await;
    // A clean stop with a state directory leaves the tasks' containers.
    assert_eq!(containers(), containers_before);

    let second = TestServer::start_on(config(&dir, &instance), runtime.clone()).await;
    assert!(ecsbox::clock::offset() >= offset);
    for ((target, before), (_, after)) in reads_before.iter().zip(read_all(&second).await) {
        assert_eq!(*before, after, "{target} differs after the restart");
    }
    // The same tasks, still RUNNING on the same containers: adopted, not
    // relaunched (the service has not started any other).
    let tasks_after = wait_running(&second, 2).await;
    let ids = |tasks: &[Value]| -> Vec<(String, String)> {
        tasks
            .iter()
            .map(|t| {
                (
                    t["taskArn"].as_str().unwrap().to_string(),
                    t["containers"][0]["runtimeId"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                )
            })
            .collect()
    };
    assert_eq!(ids(&tasks_after), ids(&tasks_before));
    let service = ecs(
        &second,
        "DescribeServices",
        json!({"cluster": "web", "services": ["api"]}),
    )
    .await;
    let service = &service["services"][0];
    assert_eq!(service["runningCount"], 2, "{service:#}");
    let started = service["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["message"].as_str().unwrap().contains("has started"))
        .count();
    assert_eq!(
        started, 1,
        "one launch of 2 tasks, before the restart: {service:#}"
    );
    // The target RegisterTargets put in the group is there again.
    let targets_after = elb(
        &second,
        "DescribeTargetHealth",
        &[("TargetGroupArn", &tg_arn)],
    )
    .await;
    assert_eq!(
        xml_elements(&targets_after, "Id"),
        xml_elements(&targets_before, "Id")
    );
    // New writes go on from the restored state: revision 3, not 1.
    let td = ecs(
        &second,
        "RegisterTaskDefinition",
        json!({
            "family": "app",
            "containerDefinitions": [{"name": "app", "image": "busybox", "memory": 64}],
        }),
    )
    .await;
    assert_eq!(td["taskDefinition"]["revision"], 3);

    // A reset empties the state directory too: nothing comes back.
    let reset = second.raw("POST", "/_ecsbox/reset", &[], b"").await;
    assert_eq!(reset.status, 200);
    second.stop().await;
    let third = TestServer::start_on(config(&dir, &instance), runtime.clone()).await;
    let clusters = ecs(&third, "ListClusters", json!({})).await;
    assert_eq!(clusters["clusterArns"], json!([]));
    assert!(runtime.container_ids().is_empty());
    third.stop().await;
}

#[tokio::test]
async fn a_task_whose_container_died_while_ecsbox_was_down_is_stopped_and_replaced() {
    let dir = StateDir::new();
    let instance = format!("test-{}", uuid::Uuid::new_v4().simple());
    let runtime = engine();
    let first = TestServer::start_on(config(&dir, &instance), runtime.clone()).await;
    ecs(&first, "CreateCluster", json!({"clusterName": "web"})).await;
    ecs(&first, "RegisterTaskDefinition", json!({
        "family": "app",
        "containerDefinitions": [{"name": "app", "image": "busybox", "memory": 64, "essential": true}],
    }))
    .await;
    ecs(
        &first,
        "CreateService",
        json!({
            "cluster": "web", "serviceName": "api", "taskDefinition": "app", "desiredCount": 2,
        }),
    )
    .await;
    let before = wait_running(&first, 2).await;
    first.stop().await;

    // While ecsbox is down, one task's container exits with 137.
    let dead_arn = before[0]["taskArn"].as_str().unwrap().to_string();
    let dead_container = before[0]["containers"][0]["runtimeId"].as_str().unwrap();
    runtime.exit(dead_container, 137);

    let second = TestServer::start_on(config(&dir, &instance), runtime.clone()).await;
    let start = Instant::now();
    let stopped = loop {
        let t = ecs(
            &second,
            "DescribeTasks",
            json!({"cluster": "web", "tasks": [dead_arn]}),
        )
        .await;
        let t = t["tasks"][0].clone();
        if t["lastStatus"] == "STOPPED" {
            break t;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{t:#}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // ECS's words for a task whose essential container exited.
    assert_eq!(
        stopped["stoppedReason"],
        "Essential container in task exited"
    );
    assert_eq!(stopped["containers"][0]["exitCode"], 137);
    // The other task was adopted; the service replaced the dead one.
    let after = wait_running(&second, 2).await;
    let arns: Vec<_> = after.iter().map(|t| t["taskArn"].clone()).collect();
    assert!(arns.contains(&before[1]["taskArn"]), "{arns:?}");
    assert!(!arns.contains(&before[0]["taskArn"]), "{arns:?}");
    second.stop().await;
}
