//! Task scale-in protection through the real aws-sdk-ecs client, on the fake
//! runtime: UpdateTaskProtection / GetTaskProtection, and the service
//! scheduler passing over protected tasks until protection is removed or
//! expires. Expiry is reached by moving ecsbox's clock (`clock::advance`),
//! which is process-wide: this file is its own test binary, and its only
//! other test does not read the clock, so no test sees the clock jump.
mod common;

use aws_sdk_ecs::types::{
    AwsVpcConfiguration, ContainerDefinition, LaunchType, NetworkConfiguration, NetworkMode,
};
use common::{code, TestServer};
use ecsbox::config::Config;
use ecsbox::runtime::fake::FakeRuntime;
use std::sync::Arc;
use std::time::Duration;

fn awsvpc() -> NetworkConfiguration {
    NetworkConfiguration::builder()
        .awsvpc_configuration(
            AwsVpcConfiguration::builder()
                .subnets("subnet-0123abcd")
                .build()
                .unwrap(),
        )
        .build()
}

/// The service's tasks that are meant to run, sorted.
async fn live_tasks(ecs: &aws_sdk_ecs::Client) -> Vec<String> {
    let mut arns = ecs
        .list_tasks()
        .cluster("c")
        .service_name("api")
        .send()
        .await
        .unwrap()
        .task_arns()
        .to_vec();
    arns.sort();
    arns
}

async fn wait_for_tasks(ecs: &aws_sdk_ecs::Client, what: &str, done: impl Fn(&[String]) -> bool) {
    for _ in 0..300 {
        if done(&live_tasks(ecs).await) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("never: {what}; live tasks: {:?}", live_tasks(ecs).await);
}

/// Lets the scheduler run a few passes, then checks the live tasks still
/// are exactly `expected` (a protected task must not be stopped later).
async fn stays(ecs: &aws_sdk_ecs::Client, expected: &[String]) {
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut expected = expected.to_vec();
    expected.sort();
    assert_eq!(live_tasks(ecs).await, expected);
}

async fn set_desired(ecs: &aws_sdk_ecs::Client, n: i32) {
    ecs.update_service()
        .cluster("c")
        .service("api")
        .desired_count(n)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn protected_tasks_survive_scale_in_until_removed_or_expired() {
    let fake = Arc::new(FakeRuntime::new());
    fake.add_image("app:1");
    let server = TestServer::start_on(Config::for_tests(), fake).await;
    let ecs = server.client();
    ecs.create_cluster().cluster_name("c").send().await.unwrap();
    ecs.register_task_definition()
        .family("web")
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
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
        .service_name("api")
        .task_definition("web")
        .desired_count(3)
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc())
        .send()
        .await
        .unwrap();
    wait_for_tasks(&ecs, "three tasks", |t| t.len() == 3).await;
    let tasks = live_tasks(&ecs).await;
    let (a, b, c) = (tasks[0].clone(), tasks[1].clone(), tasks[2].clone());

    // A for the default 120 minutes, B for one minute.
    let before = ecsbox::clock::now_secs();
    let out = ecs
        .update_task_protection()
        .cluster("c")
        .tasks(&a)
        .protection_enabled(true)
        .send()
        .await
        .unwrap();
    let p = &out.protected_tasks()[0];
    assert_eq!(p.task_arn(), Some(a.as_str()));
    assert!(p.protection_enabled());
    let expires = p.expiration_date().unwrap().secs() as f64;
    assert!(
        (expires - (before + 7200.0)).abs() < 5.0,
        "{expires} vs {before}"
    );
    ecs.update_task_protection()
        .cluster("c")
        .tasks(b.rsplit('/').next().unwrap()) // by ID
        .protection_enabled(true)
        .expires_in_minutes(1)
        .send()
        .await
        .unwrap();

    // Out of range: 1 to 2,880 minutes (the API reference).
    for minutes in [0, 2881] {
        let err = ecs
            .update_task_protection()
            .cluster("c")
            .tasks(&a)
            .protection_enabled(true)
            .expires_in_minutes(minutes)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "InvalidParameterException", "{minutes}");
    }
    // Unknown tasks and standalone tasks are failures, not errors.
    let standalone = ecs
        .run_task()
        .cluster("c")
        .task_definition("web")
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc())
        .send()
        .await
        .unwrap()
        .tasks()[0]
        .task_arn()
        .unwrap()
        .to_string();
    let out = ecs
        .update_task_protection()
        .cluster("c")
        .tasks("0123456789abcdef0123456789abcdef")
        .tasks(&standalone)
        .protection_enabled(true)
        .send()
        .await
        .unwrap();
    assert!(out.protected_tasks().is_empty());
    let reasons: Vec<_> = out.failures().iter().map(|f| f.reason().unwrap()).collect();
    assert_eq!(reasons, ["MISSING", "TASK_NOT_VALID"]);
    let err = ecs
        .get_task_protection()
        .cluster("nope")
        .tasks(&a)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ClusterNotFoundException");

    // Scale in to 1: only C may go; A and B stay above the desired count.
    set_desired(&ecs, 1).await;
    wait_for_tasks(&ecs, "C stopped", |t| !t.contains(&c)).await;
    stays(&ecs, &[a.clone(), b.clone()]).await;
    let got = ecs
        .get_task_protection()
        .cluster("c")
        .tasks(&a)
        .tasks(&b)
        .tasks(&c)
        .send()
        .await
        .unwrap();
    let on: Vec<_> = got
        .protected_tasks()
        .iter()
        .map(|p| (p.task_arn().unwrap().to_string(), p.protection_enabled()))
        .collect();
    assert_eq!(
        on,
        [(a.clone(), true), (b.clone(), true), (c.clone(), false)]
    );
    assert!(got.protected_tasks()[2].expiration_date().is_none());

    // B's minute passes (ecsbox's clock, not a real wait): B goes, A stays.
    ecsbox::clock::advance(Duration::from_secs(61));
    set_desired(&ecs, 1).await; // wakes the scheduler now, not in a minute
    wait_for_tasks(&ecs, "B stopped", |t| !t.contains(&b)).await;
    stays(&ecs, std::slice::from_ref(&a)).await;
    let got = ecs
        .get_task_protection()
        .cluster("c")
        .tasks(&b)
        .send()
        .await
        .unwrap();
    assert!(!got.protected_tasks()[0].protection_enabled());

    // Scaled to 0, A stays until its protection is removed.
    set_desired(&ecs, 0).await;
    stays(&ecs, std::slice::from_ref(&a)).await;
    let out = ecs
        .update_task_protection()
        .cluster("c")
        .tasks(&a)
        .protection_enabled(false)
        .send()
        .await
        .unwrap();
    assert!(!out.protected_tasks()[0].protection_enabled());
    assert!(out.protected_tasks()[0].expiration_date().is_none());
    wait_for_tasks(&ecs, "A stopped", |t| t.is_empty()).await;
}

/// DiscoverPollEndpoint answers ecsbox's own address for all three.
#[tokio::test]
async fn discover_poll_endpoint_names_ecsbox() {
    let server = TestServer::start().await;
    let ecs = server.client();
    let out = ecs.discover_poll_endpoint().send().await.unwrap();
    let url = format!("http://{}/", server.addr);
    assert_eq!(out.endpoint(), Some(url.as_str()));
    assert_eq!(out.telemetry_endpoint(), Some(url.as_str()));
    assert_eq!(out.service_connect_endpoint(), Some(url.as_str()));
}
