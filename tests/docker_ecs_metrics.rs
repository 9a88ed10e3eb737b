//! The AWS/ECS metrics end to end on the machine's real Docker engine: a
//! one-task service whose container burns CPU shows a CPUUtilization over
//! 50% of its task's reservation for its ClusterName/ServiceName, an idle
//! one shows almost none, with `--metrics-period 2` (a sample every two
//! seconds, from the containers' real `docker stats`).
mod common;
#[path = "common/docker.rs"]
mod docker_common;

use aws_sdk_ecs::types::LaunchType;
use docker_common::*;
use ecsbox::model::cloudwatch::shapes::{Dimension, GetMetricStatisticsInput};
use ecsbox::protocol::RequestContext;
use ecsbox::services::cloudwatch::generated::CloudWatchApi;
use std::time::{Duration, Instant};

/// PID 1 exits at once on SIGTERM.
const IDLE: &str = "trap 'exit 0' TERM; sleep 3600 & wait";
const BURN: &str = "trap 'exit 0' TERM; while :; do :; done";

async fn service(s: &DockerServer, name: &str, script: &str) {
    s.register(name, vec![sh("app", script).build()]).await;
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

/// The newest Maximum and Average of the service's CPUUtilization in the
/// last two minutes, per minute.
fn cpu(s: &DockerServer, service: &str) -> Option<(f64, f64)> {
    let ctx = RequestContext {
        account: "000000000000".into(),
        region: "us-east-1".into(),
        request_id: "test".into(),
        access_key: None,
        host: None,
    };
    let now = ecsbox::clock::now_secs();
    let dim = |k: &str, v: &str| Dimension {
        name: Some(k.into()),
        value: Some(v.into()),
    };
    let out = s
        .server
        .app
        .cloudwatch
        .get_metric_statistics(
            &ctx,
            GetMetricStatisticsInput {
                namespace: Some("AWS/ECS".into()),
                metric_name: Some("CPUUtilization".into()),
                dimensions: Some(vec![
                    dim("ClusterName", CLUSTER),
                    dim("ServiceName", service),
                ]),
                start_time: Some(now - 120.0),
                end_time: Some(now + 60.0),
                period: Some(60),
                statistics: Some(vec!["Maximum".into(), "Average".into()]),
                ..Default::default()
            },
        )
        .unwrap();
    let mut points = out.datapoints.unwrap_or_default();
    points.sort_by(|a, b| a.timestamp.partial_cmp(&b.timestamp).unwrap());
    points
        .last()
        .map(|p| (p.maximum.unwrap(), p.average.unwrap()))
}

#[tokio::test]
async fn a_busy_service_shows_its_cpu_and_an_idle_one_almost_none() {
    let s = DockerServer::start_with(&["--metrics-period", "2"]).await;
    service(&s, "burn", BURN).await;
    service(&s, "idle", IDLE).await;
    let deadline = Instant::now() + Duration::from_secs(90);
    let (busy, idle) = loop {
        // A period after both run, each has had a whole sample.
        match (cpu(&s, "burn"), cpu(&s, "idle")) {
            (Some(busy), Some(idle)) if busy.0 > 50.0 => break (busy, idle),
            other => {
                assert!(
                    Instant::now() < deadline,
                    "no CPUUtilization over 50% for the busy service: {other:?}"
                );
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    };
    // The busy task is capped at its 256 CPU units (a quarter vCPU), so it
    // uses about all of its reservation; the idle one a sliver.
    assert!(busy.0 <= 150.0, "{busy:?}");
    assert!(idle.0 < 10.0, "idle: {idle:?}");
    // The cluster's metric holds both services' tasks.
    let names: Vec<String> = s
        .server
        .app
        .cloudwatch
        .list_metrics(
            &RequestContext {
                account: "000000000000".into(),
                region: "us-east-1".into(),
                request_id: "test".into(),
                access_key: None,
                host: None,
            },
            ecsbox::model::cloudwatch::shapes::ListMetricsInput {
                namespace: Some("AWS/ECS".into()),
                ..Default::default()
            },
        )
        .unwrap()
        .metrics
        .unwrap()
        .into_iter()
        .map(|m| {
            let dims: Vec<String> = m
                .dimensions
                .unwrap_or_default()
                .into_iter()
                .map(|d| format!("{}={}", d.name.unwrap(), d.value.unwrap()))
                .collect();
            format!("{} {}", m.metric_name.unwrap(), dims.join(","))
        })
        .collect();
    for want in [
        "CPUUtilization ClusterName=c",
        "CPUUtilization ClusterName=c,ServiceName=burn",
        "CPUUtilization ClusterName=c,ServiceName=idle",
        "MemoryUtilization ClusterName=c",
        "MemoryUtilization ClusterName=c,ServiceName=burn",
        "MemoryUtilization ClusterName=c,ServiceName=idle",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
}
