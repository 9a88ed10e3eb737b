//! Application Auto Scaling end to end on the machine's real Docker engine:
//! ECS services whose real tasks are added and removed by
//!
//! - a target tracking policy at 50% `ECSServiceAverageCPUUtilization`: the
//!   task's container burns CPU, the `AWS/ECS` metrics come from its real
//!   Docker stats, the policy's AlarmHigh (3 of 3 minutes) scales out to two
//!   tasks or more; once the containers idle, its AlarmLow (15 of 15
//!   minutes) scales back in to one;
//! - a step scaling policy named by a CloudWatch alarm the user created
//!   (PutMetricAlarm with `AlarmActions` = the policy's ARN);
//! - a scheduled action whose `at(...)` time comes.
//!
//! Nothing waits real minutes: each minute of metrics is published with
//! `POST /_ecsbox/cloudwatch/publish-ecs-metrics` and ended with
//! `POST /_ecsbox/clock/advance`, which evaluates the alarms, ends cooldowns
//! and fires due scheduled actions. The clock's offset is process-wide, so
//! this binary has one test and its three parts run one after another on
//! one server; each part deregisters its scalable target when done, which
//! deletes its policies, alarms and scheduled actions.
mod common;
#[path = "common/docker.rs"]
mod docker_common;

use aws_sdk_ecs::types::{DesiredStatus, LaunchType};
use docker_common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// PID 1 exits at once on SIGTERM.
const IDLE: &str = "trap 'exit 0' TERM; sleep 3600 & wait";
/// Burns CPU until `/idle` exists (the test creates it with `docker exec`;
/// the image is FROM scratch, without /tmp), then idles. `[` is a shell
/// builtin: the loop forks nothing.
const BURN_UNTIL_IDLE: &str =
    "trap 'exit 0' TERM; while [ ! -e /idle ]; do :; done; sleep 3600 & wait";

async fn service(s: &DockerServer, name: &str, script: &str) {
    s.register(name, vec![sh("app", script).stop_timeout(2).build()])
        .await;
    s.ecs
        .create_service()
        .cluster(CLUSTER)
        .service_name(name)
        .task_definition(name)
        .desired_count(1)
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc())
        .send()
        .await
        .unwrap_or_else(|e| panic!("create {name}: {e:?}"));
}

/// One Application Auto Scaling call (AWS JSON 1.1, as the aws CLI sends it).
async fn aas(s: &DockerServer, op: &str, body: Value) -> Value {
    let r = s
        .server
        .aws_json(
            "application-autoscaling",
            &format!("AnyScaleFrontendService.{op}"),
            body,
        )
        .await;
    assert_eq!(r.status, 200, "{op}: {}", r.body);
    r.json()
}

/// One CloudWatch call in the query protocol (older SDKs'); the XML answer.
async fn cloudwatch(s: &DockerServer, action: &str, params: &[(&str, &str)]) -> String {
    let r = s
        .server
        .query("monitoring", "2010-08-01", action, params)
        .await;
    assert_eq!(r.status, 200, "{action} {params:?}: {}", r.body);
    r.body
}

async fn register_target(s: &DockerServer, service: &str, min: i32, max: i32) {
    aas(
        s,
        "RegisterScalableTarget",
        json!({
            "ServiceNamespace": "ecs",
            "ResourceId": format!("service/{CLUSTER}/{service}"),
            "ScalableDimension": "ecs:service:DesiredCount",
            "MinCapacity": min,
            "MaxCapacity": max,
        }),
    )
    .await;
}

async fn deregister_target(s: &DockerServer, service: &str) {
    aas(
        s,
        "DeregisterScalableTarget",
        json!({
            "ServiceNamespace": "ecs",
            "ResourceId": format!("service/{CLUSTER}/{service}"),
            "ScalableDimension": "ecs:service:DesiredCount",
        }),
    )
    .await;
}

/// Moves ecsbox's clock; answers its new time (epoch seconds).
async fn advance(s: &DockerServer, seconds: f64) -> f64 {
    let r = s
        .server
        .raw(
            "POST",
            "/_ecsbox/clock/advance",
            &[],
            json!({"seconds": seconds}).to_string().as_bytes(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["now"].as_f64().unwrap()
}

async fn clock_now(s: &DockerServer) -> f64 {
    let r = s.server.raw("GET", "/_ecsbox/clock", &[], b"").await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["now"].as_f64().unwrap()
}

/// Samples the RUNNING service tasks' Docker stats now, as one datapoint
/// of the current minute.
async fn publish_metrics(s: &DockerServer) {
    let r = s
        .server
        .raw("POST", "/_ecsbox/cloudwatch/publish-ecs-metrics", &[], b"")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

async fn desired(s: &DockerServer, service: &str) -> i32 {
    let out = s
        .ecs
        .describe_services()
        .cluster(CLUSTER)
        .services(service)
        .send()
        .await
        .unwrap();
    out.services()[0].desired_count()
}

/// The service's RUNNING tasks whose containers the engine really runs.
async fn running_tasks(s: &DockerServer, service: &str) -> Vec<String> {
    let listed = s
        .ecs
        .list_tasks()
        .cluster(CLUSTER)
        .service_name(service)
        .desired_status(DesiredStatus::Running)
        .send()
        .await
        .unwrap();
    let mut running = vec![];
    for arn in listed.task_arns() {
        if s.describe(arn).await.last_status() != Some("RUNNING") {
            continue;
        }
        let containers = s.task_containers(arn).await;
        let mut all_up = !containers.is_empty();
        for c in &containers {
            all_up &= docker_inspect(&c.id).await["State"]["Running"] == true;
        }
        if all_up {
            running.push(arn.clone());
        }
    }
    running
}

/// Waits until the service has exactly `n` RUNNING tasks with running
/// containers (and no more starting or stopping); their ARNs.
async fn wait_running_count(s: &DockerServer, service: &str, n: usize) -> Vec<String> {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let running = running_tasks(s, service).await;
        let all = s
            .ecs
            .list_tasks()
            .cluster(CLUSTER)
            .service_name(service)
            .send()
            .await
            .unwrap();
        if running.len() == n && all.task_arns().len() == n {
            return running;
        }
        assert!(
            Instant::now() < deadline,
            "{service}: {} RUNNING task(s) of {} listed, wanted {n}",
            running.len(),
            all.task_arns().len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The activities' descriptions, newest first, as AWS words them.
async fn activities(s: &DockerServer, service: &str) -> Vec<String> {
    let out = aas(
        s,
        "DescribeScalingActivities",
        json!({
            "ServiceNamespace": "ecs",
            "ResourceId": format!("service/{CLUSTER}/{service}"),
            "ScalableDimension": "ecs:service:DesiredCount",
        }),
    )
    .await;
    out["ScalingActivities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["Description"].as_str().unwrap().to_string())
        .collect()
}

/// Creates `/idle` in every container of the tasks: their loops stop.
async fn idle_all(s: &DockerServer, tasks: &[String]) {
    for arn in tasks {
        for c in s.task_containers(arn).await {
            let out = docker_cli(&["exec", &c.id, "touch", "/idle"]).await;
            assert!(
                out.status.success(),
                "docker exec {}: {}",
                c.id,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// Minutes of metrics, each published and then ended by moving the clock a
/// minute (which evaluates the alarms), until `done` says so; panics after
/// `max_minutes`. Answers the minutes it took.
async fn minutes_until(
    s: &DockerServer,
    max_minutes: usize,
    what: &str,
    mut done: impl FnMut(i32) -> bool,
    service: &str,
) -> usize {
    for minute in 1..=max_minutes {
        publish_metrics(s).await;
        // To one second past the next minute, not by 60 s: the real time
        // each round takes would otherwise carry the clock over a whole
        // minute now and then, a minute without a datapoint, and AlarmLow
        // wants fifteen in a row.
        let now = clock_now(s).await;
        advance(s, 61.0 - now.rem_euclid(60.0)).await;
        // The alarm's action runs on CloudWatch's evaluator task, woken
        // by the clock: give it until a short real deadline to act.
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            if done(desired(s, service).await) {
                return minute;
            }
            if Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    panic!(
        "{what}: not after {max_minutes} minutes of metrics; activities: {:?}",
        activities(s, service).await
    );
}

/// Target tracking at 50% CPU: a burning task scales the service out to
/// two tasks or more, and once they idle, back in to one.
async fn target_tracking_follows_real_cpu(s: &DockerServer) {
    service(s, "tt", BURN_UNTIL_IDLE).await;
    let first = wait_running_count(s, "tt", 1).await;
    register_target(s, "tt", 1, 3).await;
    let policy = aas(
        s,
        "PutScalingPolicy",
        json!({
            "PolicyName": "cpu50",
            "ServiceNamespace": "ecs",
            "ResourceId": format!("service/{CLUSTER}/tt"),
            "ScalableDimension": "ecs:service:DesiredCount",
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": {
                "TargetValue": 50.0,
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "ECSServiceAverageCPUUtilization"
                },
                "ScaleOutCooldown": 60,
                "ScaleInCooldown": 60
            }
        }),
    )
    .await;
    assert_eq!(policy["Alarms"].as_array().unwrap().len(), 2, "{policy}");

    // The burning task uses all of its quarter vCPU (about 100% of its
    // reservation): AlarmHigh needs three minutes above 50%.
    let took = minutes_until(s, 6, "scale out", |d| d >= 2, "tt").await;
    assert!(took >= 3, "scaled out after {took} minute(s) of metrics");
    let out_to = desired(s, "tt").await;
    let tasks = wait_running_count(s, "tt", out_to as usize).await;
    assert!(tasks.len() >= 2, "{tasks:?}");
    assert!(tasks.contains(&first[0]), "the first task kept running");
    let said = activities(s, "tt").await;
    assert_eq!(said[0], format!("Setting desired count to {out_to}."));

    // Idle now: AlarmLow needs fifteen minutes below 45% (90% of the target).
    idle_all(s, &tasks).await;
    minutes_until(s, 20, "scale in", |d| d == 1, "tt").await;
    wait_running_count(s, "tt", 1).await;
    deregister_target(s, "tt").await;
}

/// A step scaling policy acts when the user's own alarm naming it goes
/// into ALARM: +1 task.
async fn step_scaling_follows_a_users_alarm(s: &DockerServer) {
    service(s, "step", IDLE).await;
    wait_running_count(s, "step", 1).await;
    register_target(s, "step", 1, 3).await;
    let policy = aas(
        s,
        "PutScalingPolicy",
        json!({
            "PolicyName": "backlog-out",
            "ServiceNamespace": "ecs",
            "ResourceId": format!("service/{CLUSTER}/step"),
            "ScalableDimension": "ecs:service:DesiredCount",
            "PolicyType": "StepScaling",
            "StepScalingPolicyConfiguration": {
                "AdjustmentType": "ChangeInCapacity",
                "StepAdjustments": [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}],
                "Cooldown": 60,
                "MetricAggregationType": "Average"
            }
        }),
    )
    .await;
    let policy_arn = policy["PolicyARN"].as_str().unwrap().to_string();
    cloudwatch(
        s,
        "PutMetricAlarm",
        &[
            ("AlarmName", "backlog-high"),
            ("Namespace", "App"),
            ("MetricName", "Backlog"),
            ("Statistic", "Average"),
            ("Period", "60"),
            ("EvaluationPeriods", "1"),
            ("Threshold", "10"),
            ("ComparisonOperator", "GreaterThanThreshold"),
            ("AlarmActions.member.1", &policy_arn),
        ],
    )
    .await;
    // DescribeScalingPolicies names the user's alarm on the policy.
    let described = aas(
        s,
        "DescribeScalingPolicies",
        json!({"ServiceNamespace": "ecs", "PolicyNames": ["backlog-out"]}),
    )
    .await;
    assert_eq!(
        described["ScalingPolicies"][0]["Alarms"][0]["AlarmName"],
        "backlog-high"
    );

    cloudwatch(
        s,
        "PutMetricData",
        &[
            ("Namespace", "App"),
            ("MetricData.member.1.MetricName", "Backlog"),
            ("MetricData.member.1.Value", "50"),
        ],
    )
    .await;
    assert_eq!(
        desired(s, "step").await,
        1,
        "nothing before the minute ends"
    );
    advance(s, 60.0).await;
    let deadline = Instant::now() + DEADLINE;
    while desired(s, "step").await != 2 {
        assert!(
            Instant::now() < deadline,
            "the alarm did not scale the service; activities: {:?}",
            activities(s, "step").await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wait_running_count(s, "step", 2).await;
    let alarm = cloudwatch(
        s,
        "DescribeAlarms",
        &[("AlarmNames.member.1", "backlog-high")],
    )
    .await;
    assert_eq!(common::xml_elements(&alarm, "StateValue"), ["ALARM"]);
    deregister_target(s, "step").await;
    // The user's alarm is the user's: it outlives the policy.
    cloudwatch(
        s,
        "DeleteAlarms",
        &[("AlarmNames.member.1", "backlog-high")],
    )
    .await;
}

/// A scheduled action raises the minimum capacity at its `at(...)` time
/// (UTC): the service grows to it then, not before.
async fn a_scheduled_action_fires_at_its_time(s: &DockerServer) {
    service(s, "sched", IDLE).await;
    wait_running_count(s, "sched", 1).await;
    register_target(s, "sched", 1, 3).await;
    // Whole seconds, an hour from now on ecsbox's clock.
    let at = clock_now(s).await.ceil() as i64 + 3600;
    aas(
        s,
        "PutScheduledAction",
        json!({
            "ScheduledActionName": "morning",
            "ServiceNamespace": "ecs",
            "ResourceId": format!("service/{CLUSTER}/sched"),
            "ScalableDimension": "ecs:service:DesiredCount",
            "Schedule": format!("at({})", ecsbox::civil::format_date_time(at)),
            "ScalableTargetAction": {"MinCapacity": 2, "MaxCapacity": 3}
        }),
    )
    .await;
    // Ten seconds before its time, nothing has happened.
    let now = advance(s, at as f64 - clock_now(s).await - 10.0).await;
    assert!(now < at as f64, "{now} is past {at}");
    assert_eq!(desired(s, "sched").await, 1);
    advance(s, 11.0).await;
    let deadline = Instant::now() + DEADLINE;
    while desired(s, "sched").await != 2 {
        assert!(
            Instant::now() < deadline,
            "the scheduled action did not fire; activities: {:?}",
            activities(s, "sched").await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wait_running_count(s, "sched", 2).await;
    let target = aas(
        s,
        "DescribeScalableTargets",
        json!({"ServiceNamespace": "ecs", "ResourceIds": ["service/c/sched"]}),
    )
    .await;
    assert_eq!(target["ScalableTargets"][0]["MinCapacity"], 2);
    deregister_target(s, "sched").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_scale_on_cpu_on_alarms_and_on_schedules_with_real_tasks() {
    use futures_util::FutureExt;
    let s = DockerServer::start().await;
    let parts = async {
        step_scaling_follows_a_users_alarm(&s).await;
        a_scheduled_action_fires_at_its_time(&s).await;
        target_tracking_follows_real_cpu(&s).await;
    };
    let outcome = std::panic::AssertUnwindSafe(parts).catch_unwind().await;
    // Reset while the runtime still runs, passed or failed, so no service
    // relaunches a task after the engine guard's cleanup.
    s.server.app.reset().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
    let left = s.owned_containers().await;
    assert!(left.is_empty(), "containers left behind: {left:?}");
}
