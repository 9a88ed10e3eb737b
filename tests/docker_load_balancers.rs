//! ECS services behind an Application Load Balancer, end to end on the real
//! Docker engine: the load balancer, its target groups and listener made
//! with the ELBv2 API (query protocol, as `aws elbv2` sends it), services
//! that register their tasks as targets, requests from the host through the
//! listener, and the replacements and deployments ECS drives with it.
//!
//! The health checks here use AWS's smallest settings (interval 5 s,
//! thresholds 2) and a deregistration delay of 0 or 1 s, so a test waits
//! seconds, not minutes. Each test starts its own ecsbox server; its
//! `EngineGuard` removes every container and network when the test ends.
mod common;
#[path = "common/docker.rs"]
mod docker_common;

use aws_sdk_ecs::types::{
    ContainerDefinition, DeploymentConfiguration, LaunchType, LoadBalancer, PortMapping, Service,
    Task,
};
use docker_common::*;
use ecsbox::runtime::ContainerRuntime;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A web server whose page names its container (busybox httpd), exiting at
/// once on SIGTERM. `/health` answers 200; `/` the hostname.
fn web(name: &str) -> ContainerDefinition {
    sh(
        name,
        "mkdir -p /www/api && hostname > /www/index.html && hostname > /www/health \
         && hostname > /www/api/index.html \
         && trap 'exit 0' TERM; httpd -f -p 8080 -h /www & wait",
    )
    .port_mappings(PortMapping::builder().container_port(8080).build())
    .stop_timeout(2)
    .build()
}

// ---- the ELBv2 API, as the aws CLI calls it --------------------------------------------

/// Calls an ELBv2 operation; panics unless it answers 200. The XML answer.
async fn elb(s: &DockerServer, action: &str, params: &[(&str, &str)]) -> String {
    let r = elb_raw(s, action, params).await;
    assert_eq!(r.0, 200, "{action} {params:?}: {}", r.1);
    r.1
}

async fn elb_raw(s: &DockerServer, action: &str, params: &[(&str, &str)]) -> (u16, String) {
    query(s, "elasticloadbalancing", "2015-12-01", action, params).await
}

async fn query(
    s: &DockerServer,
    service: &str,
    version: &str,
    action: &str,
    params: &[(&str, &str)],
) -> (u16, String) {
    let r = s.server.query(service, version, action, params).await;
    (r.status, r.body)
}

fn value(xml: &str, tag: &str) -> String {
    common::xml_elements(xml, tag)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no <{tag}> in {xml}"))
}

/// The load balancer, one HTTP target group per name given, and an HTTP
/// listener forwarding to the first. Returns (listener ARN, the groups'
/// ARNs, where the listener listens on this machine).
struct Alb {
    listener: String,
    groups: Vec<String>,
    address: std::net::SocketAddr,
}

async fn alb(s: &DockerServer, groups: &[(&str, &str)], delay: &str) -> Alb {
    // The default VPC's subnets: an ALB wants two zones.
    let subnets = query(
        s,
        "ec2",
        "2016-11-15",
        "DescribeSubnets",
        &[
            ("Filter.1.Name", "default-for-az"),
            ("Filter.1.Value.1", "true"),
        ],
    )
    .await;
    let vpc = value(&subnets.1, "vpcId");
    let ids = common::xml_elements(&subnets.1, "subnetId");
    let lb = elb(
        s,
        "CreateLoadBalancer",
        &[
            ("Name", "web"),
            ("Subnets.member.1", &ids[0]),
            ("Subnets.member.2", &ids[1]),
        ],
    )
    .await;
    let lb_arn = value(&lb, "LoadBalancerArn");
    let mut arns = vec![];
    for (name, target_type) in groups {
        let tg = elb(
            s,
            "CreateTargetGroup",
            &[
                ("Name", name),
                ("Protocol", "HTTP"),
                ("Port", "8080"),
                ("VpcId", &vpc),
                ("TargetType", target_type),
                ("HealthCheckPath", "/health"),
                ("HealthCheckIntervalSeconds", "5"),
                ("HealthCheckTimeoutSeconds", "2"),
                ("HealthyThresholdCount", "2"),
                ("UnhealthyThresholdCount", "2"),
            ],
        )
        .await;
        let arn = value(&tg, "TargetGroupArn");
        elb(
            s,
            "ModifyTargetGroupAttributes",
            &[
                ("TargetGroupArn", &arn),
                (
                    "Attributes.member.1.Key",
                    "deregistration_delay.timeout_seconds",
                ),
                ("Attributes.member.1.Value", delay),
            ],
        )
        .await;
        arns.push(arn);
    }
    let listener = elb(
        s,
        "CreateListener",
        &[
            ("LoadBalancerArn", &lb_arn),
            ("Protocol", "HTTP"),
            ("Port", "80"),
            ("DefaultActions.member.1.Type", "forward"),
            ("DefaultActions.member.1.TargetGroupArn", &arns[0]),
        ],
    )
    .await;
    let listener = value(&listener, "ListenerArn");
    let address = s
        .server
        .app
        .load_balancing
        .listener_address(&listener)
        .expect("the listener listens");
    Alb {
        listener,
        groups: arns,
        address,
    }
}

/// (Id, Port, State) of every target of the group.
async fn targets(s: &DockerServer, group: &str) -> Vec<(String, String, String)> {
    let xml = elb(s, "DescribeTargetHealth", &[("TargetGroupArn", group)]).await;
    xml.split("<member>")
        .skip(1)
        .filter(|m| m.contains("<Target>"))
        .map(|m| (value(m, "Id"), value(m, "Port"), value(m, "State")))
        .collect()
}

async fn wait_healthy(s: &DockerServer, group: &str, n: usize) -> Vec<(String, String, String)> {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let t = targets(s, group).await;
        if t.len() == n && t.iter().all(|(_, _, state)| state == "healthy") {
            return t;
        }
        assert!(
            Instant::now() < deadline,
            "never {n} healthy targets: {t:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

// ---- HTTP through the listener -----------------------------------------------------------

/// One GET on its own connection: (status, body).
async fn get(addr: std::net::SocketAddr, path: &str) -> Result<(u16, String), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream =
        tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(addr))
            .await
            .map_err(|_| "connect timed out".to_string())?
            .map_err(|e| e.to_string())?;
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: web.elb.localhost\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut buf))
        .await
        .map_err(|_| "read timed out".to_string())?
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&buf).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("no HTTP answer: {text:?}"))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.trim().to_string());
    Ok((status, body.unwrap_or_default()))
}

/// The distinct pages `n` requests get (each names the container that served it).
async fn pages(addr: std::net::SocketAddr, path: &str, n: usize) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for _ in 0..n {
        let (status, body) = get(addr, path).await.expect("through the listener");
        assert_eq!(status, 200, "{path}: {body}");
        seen.insert(body);
    }
    seen
}

// ---- ECS -------------------------------------------------------------------------------------

async fn create_service(
    s: &DockerServer,
    name: &str,
    family: &str,
    count: i32,
    group: &str,
    fargate: bool,
) -> Service {
    let mut create = s
        .ecs
        .create_service()
        .cluster(CLUSTER)
        .service_name(name)
        .task_definition(family)
        .desired_count(count)
        .load_balancers(
            LoadBalancer::builder()
                .target_group_arn(group)
                .container_name("web")
                .container_port(8080)
                .build(),
        )
        .deployment_configuration(
            DeploymentConfiguration::builder()
                .minimum_healthy_percent(100)
                .maximum_percent(200)
                .build(),
        );
    create = if fargate {
        create
            .launch_type(LaunchType::Fargate)
            .network_configuration(awsvpc())
    } else {
        create.launch_type(LaunchType::Ec2)
    };
    create.send().await.unwrap().service.unwrap()
}

async fn describe_service(s: &DockerServer, name: &str) -> Service {
    s.ecs
        .describe_services()
        .cluster(CLUSTER)
        .services(name)
        .send()
        .await
        .unwrap()
        .services()[0]
        .clone()
}

async fn service_tasks(s: &DockerServer, name: &str) -> Vec<Task> {
    let arns = s
        .ecs
        .list_tasks()
        .cluster(CLUSTER)
        .service_name(name)
        .send()
        .await
        .unwrap()
        .task_arns()
        .to_vec();
    if arns.is_empty() {
        return vec![];
    }
    s.ecs
        .describe_tasks()
        .cluster(CLUSTER)
        .set_tasks(Some(arns))
        .send()
        .await
        .unwrap()
        .tasks()
        .to_vec()
}

async fn wait_until<T>(what: &str, limit: Duration, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn events(svc: &Service) -> Vec<String> {
    svc.events()
        .iter()
        .filter_map(|e| e.message().map(str::to_string))
        .collect()
}

/// Whether the service runs 2 tasks, `gone` not among them, and the group's
/// targets are exactly their IPs, all healthy.
async fn replaced(s: &DockerServer, group: &str, gone: &str) -> bool {
    let running: Vec<Task> = service_tasks(s, "web")
        .await
        .into_iter()
        .filter(|t| t.last_status() == Some("RUNNING") && t.desired_status() == Some("RUNNING"))
        .collect();
    if running.len() != 2 || running.iter().any(|t| t.task_arn() == Some(gone)) {
        return false;
    }
    let ips: BTreeSet<String> = running.iter().map(eni_ip).collect();
    let t = targets(s, group).await;
    let ids: BTreeSet<String> = t.iter().map(|x| x.0.clone()).collect();
    t.len() == 2 && t.iter().all(|x| x.2 == "healthy") && ids == ips
}

/// Ends a test: forgets every service and removes every task while the
/// test's runtime still runs, so no scheduler relaunches a task after the
/// `EngineGuard` has cleaned up (the guard stays the net for a failed test).
async fn finish(s: DockerServer) {
    s.server.app.reset().await;
}

// ---- the tests -----------------------------------------------------------------------------

/// A 3-task awsvpc service answers through the listener, spread over its
/// three tasks; a path rule sends `/api*` to a bridge-mode service on the
/// cluster's container instance (dynamic host port, instance target).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn awsvpc_and_bridge_services_answer_through_the_listener() {
    let s = DockerServer::start_with(&["--container-instances", "1"]).await;
    let lb = alb(&s, &[("web", "ip"), ("api", "instance")], "0").await;
    elb(
        &s,
        "CreateRule",
        &[
            ("ListenerArn", &lb.listener),
            ("Priority", "10"),
            ("Conditions.member.1.Field", "path-pattern"),
            ("Conditions.member.1.Values.member.1", "/api*"),
            ("Actions.member.1.Type", "forward"),
            ("Actions.member.1.TargetGroupArn", &lb.groups[1]),
        ],
    )
    .await;

    s.register("web", vec![web("web")]).await;
    let mut bridge = web("web");
    bridge.port_mappings = Some(vec![PortMapping::builder()
        .container_port(8080)
        .host_port(0)
        .build()]);
    bridge.memory = Some(64);
    s.register_bridge("api", vec![bridge]).await;
    create_service(&s, "web", "web", 3, &lb.groups[0], true).await;
    create_service(&s, "api", "api", 1, &lb.groups[1], false).await;

    // awsvpc: the tasks' own IPs and the container port.
    let web_targets = wait_healthy(&s, &lb.groups[0], 3).await;
    let tasks = service_tasks(&s, "web").await;
    let ips: BTreeSet<String> = tasks.iter().map(eni_ip).collect();
    let ids: BTreeSet<String> = web_targets.iter().map(|t| t.0.clone()).collect();
    assert_eq!(ids, ips);
    assert!(web_targets.iter().all(|t| t.1 == "8080"), "{web_targets:?}");
    // Round robin: 9 requests see all three containers.
    assert_eq!(pages(lb.address, "/", 9).await.len(), 3);

    // bridge: the container instance's EC2 id and the host port Docker chose.
    let api_targets = wait_healthy(&s, &lb.groups[1], 1).await;
    let api_task = &service_tasks(&s, "api").await[0];
    let binding = &api_task.containers()[0].network_bindings()[0];
    assert!(api_targets[0].0.starts_with("i-"), "{api_targets:?}");
    assert_eq!(
        api_targets[0].1,
        binding.host_port().unwrap().to_string(),
        "the target's port is the dynamic host port"
    );
    let api_pages = pages(lb.address, "/api/", 3).await;
    assert_eq!(api_pages.len(), 1);
    assert!(pages(lb.address, "/", 3).await.is_disjoint(&api_pages));

    let svc = describe_service(&s, "web").await;
    assert!(
        events(&svc)
            .iter()
            .any(|e| e.starts_with("(service web) registered 1 targets in (target-group ")),
        "{:?}",
        events(&svc)
    );
    finish(s).await;
}

/// A task whose container is killed leaves the target group and is
/// replaced; a task the load balancer finds unhealthy (its health check path
/// starts failing) is stopped with ECS's reason and event, and replaced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_and_unhealthy_tasks_leave_the_target_group_and_are_replaced() {
    let s = DockerServer::start().await;
    let lb = alb(&s, &[("web", "ip")], "0").await;
    s.register("web", vec![web("web")]).await;
    create_service(&s, "web", "web", 2, &lb.groups[0], true).await;
    let before = wait_healthy(&s, &lb.groups[0], 2).await;

    // docker kill: the task stops, its target goes, a new one comes healthy.
    let tasks = service_tasks(&s, "web").await;
    let victim = tasks[0].clone();
    let victim_ip = eni_ip(&victim);
    s.docker
        .kill_container(&runtime_id(&victim, "web"), "SIGKILL")
        .await
        .unwrap();
    // The replacement may get the victim's IP back: tell tasks by ARN.
    let victim_arn = victim.task_arn().unwrap().to_string();
    wait_until(
        "a healthy replacement target",
        Duration::from_secs(90),
        async || replaced(&s, &lb.groups[0], &victim_arn).await.then_some(()),
    )
    .await;
    let stopped = s.describe(&victim_arn).await;
    assert_eq!(stopped.last_status(), Some("STOPPED"));
    assert!(!before.is_empty() && !victim_ip.is_empty());

    // The health check path starts failing in one task: remove its /health.
    let tasks = service_tasks(&s, "web").await;
    let sick = tasks
        .iter()
        .find(|t| t.last_status() == Some("RUNNING"))
        .unwrap()
        .clone();
    let sick_ip = eni_ip(&sick);
    let exec = std::process::Command::new("docker")
        .args(["exec", &runtime_id(&sick, "web"), "rm", "/www/health"])
        .status()
        .unwrap();
    assert!(exec.success(), "docker exec: {exec}");
    let stopped = s
        .wait_for_within(
            sick.task_arn().unwrap(),
            "stopped for failing ELB health checks",
            Duration::from_secs(90),
            |t| t.last_status() == Some("STOPPED"),
        )
        .await;
    assert_eq!(
        stopped.stopped_reason(),
        Some(
            format!(
                "Task failed ELB health checks in (target-group {})",
                lb.groups[0]
            )
            .as_str()
        )
    );
    let svc = describe_service(&s, "web").await;
    let wanted = "service web (port 8080) is unhealthy in target-group web due to (reason Health checks failed with these codes: [404]).";
    assert!(
        events(&svc).iter().any(|e| e == wanted),
        "{:?}",
        events(&svc)
    );
    let sick_arn = sick.task_arn().unwrap().to_string();
    wait_until(
        "a healthy replacement",
        Duration::from_secs(90),
        async || replaced(&s, &lb.groups[0], &sick_arn).await.then_some(()),
    )
    .await;
    assert!(!sick_ip.is_empty());
    finish(s).await;
}

/// A rolling deployment of a 3-task service under continuous requests
/// through the listener: new targets become healthy before old ones are
/// drained, so not one request fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_deployment_behind_the_load_balancer_drops_no_request() {
    let s = DockerServer::start().await;
    let lb = alb(&s, &[("web", "ip")], "1").await;
    s.register("web", vec![web("web")]).await;
    create_service(&s, "web", "web", 3, &lb.groups[0], true).await;
    let old = wait_healthy(&s, &lb.groups[0], 3).await;

    let sent = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let done = Arc::new(tokio::sync::Notify::new());
    let load = {
        let (sent, failed, done, addr) = (sent.clone(), failed.clone(), done.clone(), lb.address);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = done.notified() => break,
                    r = get(addr, "/") => {
                        sent.fetch_add(1, Ordering::Relaxed);
                        match r {
                            Ok((200, _)) => {}
                            other => failed.lock().unwrap().push(format!("{other:?}")),
                        }
                    }
                }
                // A bounded rate: loopback only, about 50 requests a second.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };

    s.ecs
        .update_service()
        .cluster(CLUSTER)
        .service("web")
        .force_new_deployment(true)
        .send()
        .await
        .unwrap();
    let old_ids: BTreeSet<String> = old.iter().map(|t| t.0.clone()).collect();
    wait_until("the new deployment", Duration::from_secs(120), async || {
        let svc = describe_service(&s, "web").await;
        let t = targets(&s, &lb.groups[0]).await;
        (svc.deployments().len() == 1
            && svc.deployments()[0].rollout_state().map(|r| r.as_str()) == Some("COMPLETED")
            && t.len() == 3
            && t.iter()
                .all(|x| x.2 == "healthy" && !old_ids.contains(&x.0)))
        .then_some(())
    })
    .await;
    done.notify_one();
    load.await.unwrap();
    let failed = failed.lock().unwrap().clone();
    let sent = sent.load(Ordering::Relaxed);
    assert!(sent > 50, "the load ran: {sent} requests");
    assert!(
        failed.is_empty(),
        "{} of {sent} requests failed: {failed:?}",
        failed.len()
    );
    let svc = describe_service(&s, "web").await;
    assert!(
        events(&svc)
            .iter()
            .any(|e| e.starts_with("(service web) has begun draining connections on ")),
        "{:?}",
        events(&svc)
    );
    finish(s).await;
}
