//! Crash-looping services on the real Docker engine:
//! - an EC2 service whose host port is already taken fails to start each
//!   task (CannotStartContainerError) and is relaunched ever more slowly,
//!   as ECS's service throttle logic does (launches counted across advances
//!   of ecsbox's clock: never a sleep);
//! - SIGTERM to the real binary during a crash loop leaves no container,
//!   network or volume of its instance behind.
//!
//! The first test moves the process-wide clock: it is the only in-process
//! server in this binary. Each test's `EngineGuard` removes what its
//! instance made, failed or not.
#[path = "common/binary.rs"]
mod binary;
mod common;
#[path = "common/docker.rs"]
mod docker_common;

use aws_sdk_ecs::types::{DesiredStatus, LaunchType, NetworkMode, PortMapping, Service, Volume};
use binary::Ecsbox;
use docker_common::*;
use ecsbox::runtime::{ContainerRuntime, LabelFilter, OWNER_LABEL};
use std::time::{Duration, Instant};

const UNABLE: &str = "is unable to consistently start tasks successfully.";

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

async fn launched(ecs: &aws_sdk_ecs::Client, service: &str) -> usize {
    let mut n = 0;
    for status in [DesiredStatus::Running, DesiredStatus::Stopped] {
        n += ecs
            .list_tasks()
            .cluster(CLUSTER)
            .service_name(service)
            .desired_status(status)
            .send()
            .await
            .unwrap()
            .task_arns()
            .len();
    }
    n
}

/// Waits until `count` tasks were launched, none is alive, and the service
/// said it is unable to start tasks `events` times.
async fn wait_failed(s: &DockerServer, name: &str, count: usize, events: usize) -> Service {
    let start = Instant::now();
    loop {
        let svc = describe_service(s, name).await;
        let said = svc
            .events()
            .iter()
            .filter(|e| e.message().unwrap_or("").contains(UNABLE))
            .count();
        if launched(&s.ecs, name).await == count
            && svc.running_count() == 0
            && svc.pending_count() == 0
            && said == events
        {
            return svc;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "expected {count} failed launches and {events} throttle events: {svc:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn advance(s: &DockerServer, by: Duration) {
    ecsbox::clock::advance(by);
    let now = ecsbox::clock::now_system();
    tokio::time::timeout(DEADLINE, s.server.app.scheduler.wait_for_pass_after(now))
        .await
        .expect("the scheduler passes after the clock moves");
}

/// The case: a task whose host port is taken cannot start, and its
/// service relaunched it at once, forever (1,317 containers in 4 minutes).
#[tokio::test]
async fn a_service_whose_host_port_is_taken_backs_off() {
    let s = DockerServer::start_with(&["--container-instances", "1"]).await;
    // Held by this test for its whole run: Docker cannot publish it.
    let taken = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    s.register_bridge(
        "taken",
        vec![sh("web", "exec httpd -f -p 8080")
            .memory(32)
            .port_mappings(
                PortMapping::builder()
                    .container_port(8080)
                    .host_port(port as i32)
                    .build(),
            )
            .build()],
    )
    .await;
    s.ecs
        .create_service()
        .cluster(CLUSTER)
        .service_name("taken")
        .task_definition("taken")
        .desired_count(1)
        .launch_type(LaunchType::Ec2)
        .send()
        .await
        .unwrap();
    let svc = wait_failed(&s, "taken", 3, 1).await;
    assert!(svc.events()[0]
        .message()
        .unwrap()
        .starts_with("(service taken) is unable"));
    let stopped = s
        .ecs
        .list_tasks()
        .cluster(CLUSTER)
        .desired_status(DesiredStatus::Stopped)
        .send()
        .await
        .unwrap();
    let task = s.describe(&stopped.task_arns()[0]).await;
    assert_eq!(
        task.stop_code().map(|c| c.as_str()),
        Some("TaskFailedToStart")
    );
    assert!(
        task.stopped_reason()
            .unwrap_or("")
            .starts_with("CannotStartContainerError:"),
        "{task:#?}"
    );

    // 10 s after the third failure the fourth launch, 20 s later the fifth.
    let mut count = 3;
    for delay in [10, 20] {
        advance(&s, Duration::from_secs(delay - 1)).await;
        assert_eq!(launched(&s.ecs, "taken").await, count, "held for {delay}s");
        advance(&s, Duration::from_secs(1)).await;
        assert_eq!(launched(&s.ecs, "taken").await, count + 1);
        count += 1;
        wait_failed(&s, "taken", count, count - 2).await;
    }
    // Each failed task has (at most) its one container on the engine.
    assert!(s.owned_containers().await.len() <= count);
    drop(taken);
}

/// SIGTERM while a service relaunches containers that exit at once (they
/// reach RUNNING, so the throttle does not slow them): the schedulers stop
/// first, then everything the instance owns goes.
#[tokio::test]
async fn sigterm_during_a_crash_loop_leaves_nothing_of_the_instance() {
    ensure_test_image();
    let owner = new_instance_id();
    let _guard = EngineGuard::new(vec![owner.clone()]);
    let mut ecsbox = Ecsbox::start(
        &[
            "--listen",
            "127.0.0.1:0",
            "--registry-listen",
            "127.0.0.1:0",
            "--task-endpoint-listen",
            "127.0.0.1:0",
            "--warm-task-namespaces",
            "0",
            "--instance-id",
            &owner,
        ],
        DEADLINE,
    )
    .await;
    let ecs = ecsbox.client();
    ecs.create_cluster()
        .cluster_name(CLUSTER)
        .send()
        .await
        .unwrap();
    ecs.register_task_definition()
        .family("crash")
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        // A task-scoped Docker volume too, so volumes are counted.
        .volumes(Volume::builder().name("scratch").build())
        .container_definitions(
            sh("app", "exit 3")
                .mount_points(
                    aws_sdk_ecs::types::MountPoint::builder()
                        .source_volume("scratch")
                        .container_path("/scratch")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    ecs.create_service()
        .cluster(CLUSTER)
        .service_name("crash")
        .task_definition("crash")
        .desired_count(8)
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc())
        .send()
        .await
        .unwrap();
    // In the loop: more tasks launched than the desired count.
    let docker = engine().await;
    let mine = [LabelFilter::equals(OWNER_LABEL, owner.clone())];
    let start = Instant::now();
    while launched(&ecs, "crash").await < 20 {
        assert!(start.elapsed() < DEADLINE, "the service never crash-looped");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!docker.list_containers(&mine).await.unwrap().is_empty());

    ecsbox.signal("TERM");
    let status = ecsbox.wait(DEADLINE).await;
    assert!(status.success(), "{status}");

    let containers = docker.list_containers(&mine).await.unwrap();
    let networks = docker.list_networks(&mine).await.unwrap();
    let volumes = docker.list_volumes(&mine).await.unwrap();
    assert!(
        containers.is_empty() && networks.is_empty() && volumes.is_empty(),
        "left behind: {containers:#?} {networks:#?} {volumes:#?}"
    );
}
