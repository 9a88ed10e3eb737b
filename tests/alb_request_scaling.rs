//! Target tracking on ALBRequestCountPerTarget, end to end in process with
//! the fake runtime and no Docker: requests through a real listener of
//! ecsbox's load balancer plane to two local HTTP targets become
//! `AWS/ApplicationELB` datapoints (RequestCount, and RequestCountPerTarget:
//! the requests over the healthy targets), and the policy's alarms on them
//! scale the service's desired count out and, on idle minutes, back in.
//!
//! The minutes pass on ecsbox's clock (`clock::advance`), which is
//! process-wide: this binary has one test, so nothing else moves it.
mod common;

use aws_sdk_ecs::types::{
    AwsVpcConfiguration, Compatibility, ContainerDefinition, LaunchType, NetworkConfiguration,
    NetworkMode,
};
use common::{xml_elements, RawResponse, TestServer};
use ecsbox::clock;
use ecsbox::config::Config;
use ecsbox::lb::{Target, TargetKey, TargetState};
use ecsbox::model::cloudwatch::shapes::{Datapoint, Dimension, GetMetricStatisticsInput};
use ecsbox::protocol::RequestContext;
use ecsbox::runtime::fake::FakeRuntime;
use ecsbox::services::cloudwatch::generated::CloudWatchApi;
use serde_json::{json, Value};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ACCOUNT: &str = "000000000000";
const REGION: &str = "us-east-1";
const DIMENSION: &str = "ecs:service:DesiredCount";

/// An HTTP target on 127.0.0.1:0 that answers 200 to everything (health
/// checks included).
async fn backend() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(|_req| async {
                    Ok::<_, Infallible>(hyper::Response::new(http_body_util::Full::new(
                        bytes::Bytes::from_static(b"ok"),
                    )))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

/// One GET through the listener; its status line.
async fn get(listener: SocketAddr) -> String {
    let mut stream = tokio::net::TcpStream::connect(listener).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: web.example\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let text = String::from_utf8_lossy(&answer);
    text.lines().next().unwrap_or_default().to_string()
}

async fn elb(server: &TestServer, action: &str, params: &[(&str, &str)]) -> String {
    let r = server
        .query("elasticloadbalancing", "2015-12-01", action, params)
        .await;
    assert_eq!(r.status, 200, "{action}: {}", r.body);
    r.body
}

async fn scaling(server: &TestServer, operation: &str, body: Value) -> RawResponse {
    server
        .aws_json(
            "application-autoscaling",
            &format!("AnyScaleFrontendService.{operation}"),
            body,
        )
        .await
}

async fn desired(ecs: &aws_sdk_ecs::Client) -> i32 {
    let out = ecs
        .describe_services()
        .cluster("c")
        .services("web")
        .send()
        .await
        .unwrap();
    out.services()[0].desired_count()
}

/// Waits (real time, with a deadline) for the service's desired count.
async fn wait_desired(ecs: &aws_sdk_ecs::Client, want: i32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = desired(ecs).await;
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "desired count stayed {got}, wanted {want}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A server with cluster `c` and Fargate service `web` at 2 tasks.
async fn ecs_service() -> (TestServer, aws_sdk_ecs::Client) {
    let fake = Arc::new(FakeRuntime::new());
    fake.add_image("app:1");
    let server = TestServer::start_on(Config::for_tests(), fake).await;
    let ecs = server.client();
    ecs.create_cluster().cluster_name("c").send().await.unwrap();
    ecs.register_task_definition()
        .family("web")
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image("app:1")
                .build(),
        )
        .send()
        .await
        .unwrap();
    ecs.create_service()
        .cluster("c")
        .service_name("web")
        .task_definition("web")
        .desired_count(2)
        .launch_type(LaunchType::Fargate)
        .network_configuration(
            NetworkConfiguration::builder()
                .awsvpc_configuration(
                    AwsVpcConfiguration::builder()
                        .subnets("subnet-0123abcd")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    (server, ecs)
}

/// An ALB `web` forwarding to target group `app` (created through ELBv2),
/// with two local backends registered in the plane, as ECS registers its
/// tasks; answers (LB ARN, TG ARN, the listener's address) once both
/// targets are healthy.
async fn load_balancer(server: &TestServer) -> (String, String, SocketAddr) {
    let subnets = xml_elements(
        &server.ec2_raw("Action=DescribeSubnets").await.body,
        "subnetId",
    );
    let vpc = xml_elements(&server.ec2_raw("Action=DescribeVpcs").await.body, "vpcId").remove(0);
    let lb = elb(
        server,
        "CreateLoadBalancer",
        &[
            ("Name", "web"),
            ("Subnets.member.1", subnets[0].as_str()),
            ("Subnets.member.2", subnets[1].as_str()),
        ],
    )
    .await;
    let lb = xml_elements(&lb, "LoadBalancerArn").remove(0);
    let tg = elb(
        server,
        "CreateTargetGroup",
        &[
            ("Name", "app"),
            ("Protocol", "HTTP"),
            ("Port", "8080"),
            ("VpcId", vpc.as_str()),
            ("TargetType", "ip"),
        ],
    )
    .await;
    let tg = xml_elements(&tg, "TargetGroupArn").remove(0);
    // Registered before the listener opens, so the first round of health
    // checks (at once when a listener starts using the group) probes them.
    let plane = &server.app.load_balancing;
    let mut targets = Vec::new();
    for _ in 0..2 {
        let addr = backend().await;
        targets.push(Target {
            key: TargetKey {
                id: addr.ip().to_string(),
                port: addr.port(),
            },
            address: addr,
            availability_zone: None,
        });
    }
    plane.register_targets(&tg, targets);
    let listener = elb(
        server,
        "CreateListener",
        &[
            ("LoadBalancerArn", lb.as_str()),
            ("Protocol", "HTTP"),
            ("Port", "8096"),
            ("DefaultActions.member.1.Type", "forward"),
            ("DefaultActions.member.1.TargetGroupArn", tg.as_str()),
        ],
    )
    .await;
    let listener = xml_elements(&listener, "ListenerArn").remove(0);
    let address = plane.listener_address(&listener).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !plane
        .target_health(&tg)
        .iter()
        .all(|t| t.state == TargetState::Healthy)
    {
        assert!(Instant::now() < deadline, "{:?}", plane.target_health(&tg));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (lb, tg, address)
}

/// The final portion of an ELB ARN: `app/NAME/ID` or `targetgroup/NAME/ID`.
fn final_portion(arn: &str) -> String {
    let resource = arn.rsplit(':').next().unwrap();
    resource
        .strip_prefix("loadbalancer/")
        .unwrap_or(resource)
        .to_string()
}

/// Sends `n` requests through the listener (all answered by a target) and
/// publishes the metrics as the periodic publisher does.
async fn minute_of_traffic(server: &TestServer, listener: SocketAddr, n: usize) {
    for _ in 0..n {
        assert_eq!(get(listener).await, "HTTP/1.1 200 OK");
    }
    let r = server
        .raw("POST", "/_ecsbox/cloudwatch/publish-ecs-metrics", &[], b"")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // At least the four AWS/ApplicationELB datapoints (the AWS/ECS ones
    // come with them once the tasks run).
    assert!(r.json()["published"].as_u64().unwrap() >= 4, "{}", r.body);
}

fn statistics(server: &TestServer, metric: &str, dims: &[(&str, &str)]) -> Vec<Datapoint> {
    let ctx = RequestContext {
        account: ACCOUNT.into(),
        region: REGION.into(),
        request_id: "test".into(),
        access_key: None,
        host: None,
    };
    let now = clock::now_secs();
    let out = server
        .app
        .cloudwatch
        .get_metric_statistics(
            &ctx,
            GetMetricStatisticsInput {
                namespace: Some("AWS/ApplicationELB".into()),
                metric_name: Some(metric.into()),
                dimensions: Some(
                    dims.iter()
                        .map(|(k, v)| Dimension {
                            name: Some((*k).into()),
                            value: Some((*v).into()),
                        })
                        .collect(),
                ),
                start_time: Some(now - 600.0),
                end_time: Some(now + 60.0),
                period: Some(60),
                statistics: Some(vec!["Sum".into()]),
                ..Default::default()
            },
        )
        .unwrap();
    let mut points = out.datapoints.unwrap_or_default();
    points.sort_by(|a, b| a.timestamp.partial_cmp(&b.timestamp).unwrap());
    points
}

fn policy(label: Option<&str>) -> Value {
    let mut spec = json!({"PredefinedMetricType": "ALBRequestCountPerTarget"});
    if let Some(label) = label {
        spec["ResourceLabel"] = json!(label);
    }
    json!({"PolicyName": "requests", "ServiceNamespace": "ecs", "ResourceId": "service/c/web",
           "ScalableDimension": DIMENSION, "PolicyType": "TargetTrackingScaling",
           "TargetTrackingScalingPolicyConfiguration": {
               "TargetValue": 10.0, "PredefinedMetricSpecification": spec}})
}

#[tokio::test]
async fn requests_through_a_listener_scale_a_service_by_alb_request_count_per_target() {
    let (server, ecs) = ecs_service().await;
    let (lb_arn, tg_arn, listener) = load_balancer(&server).await;
    let (lb, tg) = (final_portion(&lb_arn), final_portion(&tg_arn));
    assert!(lb.starts_with("app/web/") && tg.starts_with("targetgroup/app/"));
    let r = scaling(
        &server,
        "RegisterScalableTarget",
        json!({"ServiceNamespace": "ecs", "ResourceId": "service/c/web",
               "ScalableDimension": DIMENSION, "MinCapacity": 1, "MaxCapacity": 10}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // The policy needs the load balancer and target group it tracks.
    for label in [
        None,
        Some("targetgroup/app/943f017f100becff"),
        Some("app/web/1/tg/app/2"),
    ] {
        let r = scaling(&server, "PutScalingPolicy", policy(label)).await;
        assert_eq!(
            r.error_type(),
            "ValidationException",
            "{label:?}: {}",
            r.body
        );
        assert!(r.body.contains("ResourceLabel"), "{}", r.body);
    }
    let label = format!("{lb}/{tg}");
    let put = scaling(&server, "PutScalingPolicy", policy(Some(&label))).await;
    assert_eq!(put.status, 200, "{}", put.body);
    let put = put.json();
    // Its two alarms track the Sum of RequestCountPerTarget by TargetGroup.
    let alarms: Vec<String> = put["Alarms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["AlarmName"].as_str().unwrap().to_string())
        .collect();
    for name in &alarms {
        let alarm = server.app.cloudwatch.alarm(ACCOUNT, REGION, name).unwrap();
        assert_eq!(alarm.namespace.as_deref(), Some("AWS/ApplicationELB"));
        assert_eq!(alarm.metric_name.as_deref(), Some("RequestCountPerTarget"));
        assert_eq!(alarm.statistic.as_deref(), Some("Sum"));
        assert_eq!(alarm.unit, None);
        let dims = alarm.dimensions.unwrap();
        assert_eq!(dims.len(), 1);
        assert_eq!(
            (dims[0].name.as_deref(), dims[0].value.as_deref()),
            (Some("TargetGroup"), Some(tg.as_str()))
        );
    }
    let high = server
        .app
        .cloudwatch
        .alarm(ACCOUNT, REGION, &alarms[0])
        .unwrap();
    assert_eq!(high.threshold, Some(10.0));
    assert_eq!(high.evaluation_periods, Some(3));

    // Three minutes of 40 requests over 2 healthy targets: 20 per target
    // each minute, twice the target value.
    for minute in 0..3 {
        minute_of_traffic(&server, listener, 40).await;
        if minute < 2 {
            clock::advance(Duration::from_secs(60));
        }
    }
    let per_target = statistics(&server, "RequestCountPerTarget", &[("TargetGroup", &tg)]);
    let sums: Vec<f64> = per_target.iter().map(|d| d.sum.unwrap()).collect();
    assert_eq!(sums, [20.0, 20.0, 20.0], "{per_target:?}");
    let pair = [("LoadBalancer", lb.as_str()), ("TargetGroup", tg.as_str())];
    let sums: Vec<f64> = statistics(&server, "RequestCountPerTarget", &pair)
        .iter()
        .map(|d| d.sum.unwrap())
        .collect();
    assert_eq!(sums, [20.0, 20.0, 20.0]);
    let sums: Vec<f64> = statistics(&server, "RequestCount", &pair)
        .iter()
        .map(|d| d.sum.unwrap())
        .collect();
    assert_eq!(sums, [40.0, 40.0, 40.0]);
    let sums: Vec<f64> = statistics(&server, "RequestCount", &[("LoadBalancer", &lb)])
        .iter()
        .map(|d| d.sum.unwrap())
        .collect();
    assert_eq!(sums, [40.0, 40.0, 40.0]);

    // The third minute completes: AlarmHigh sees 3 of 3 above 10 and the
    // policy scales 2 tasks to ceil(2 × 20 / 10) = 4.
    clock::advance(Duration::from_secs(60));
    server.app.cloudwatch.evaluate_due_alarms();
    wait_desired(&ecs, 4).await;

    // Idle minutes are reported as 0 requests per target (ALB reports the
    // metric always), so after 15 of them AlarmLow scales in, to the
    // minimum: ceil(4 × 0 / 10) = 0, held at 1.
    for _ in 0..15 {
        minute_of_traffic(&server, listener, 0).await;
        clock::advance(Duration::from_secs(60));
        server.app.cloudwatch.evaluate_due_alarms();
    }
    wait_desired(&ecs, 1).await;
    let activities = scaling(
        &server,
        "DescribeScalingActivities",
        json!({"ServiceNamespace": "ecs", "ResourceId": "service/c/web"}),
    )
    .await
    .json();
    let causes: Vec<&str> = activities["ScalingActivities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["Cause"].as_str().unwrap())
        .collect();
    assert!(
        causes[0].contains(&alarms[1]) && causes[1].contains(&alarms[0]),
        "{causes:?}"
    );
}
