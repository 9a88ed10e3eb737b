//! The warm namespace pool (`--warm-task-namespaces`), on the in-memory
//! runtime: awsvpc tasks take started namespace holders instead of making
//! their own, the pool refills, and reset leaves none behind. The same on
//! the real engine: tests/docker_tasks.rs (`a_warm_namespace_...`).

mod common;

use aws_sdk_ecs::types::{
    AwsVpcConfiguration, ContainerDefinition, LaunchType, NetworkConfiguration, NetworkMode,
};
use common::{eni_ip, TestServer};
use ecsbox::config::Config;
use ecsbox::runtime::fake::FakeRuntime;
use ecsbox::runtime::{ContainerInfo, ContainerRuntime, ContainerStatus};
use std::sync::Arc;
use std::time::Duration;

struct Setup {
    server: TestServer,
    fake: Arc<FakeRuntime>,
    ecs: aws_sdk_ecs::Client,
}

async fn setup(warm: usize) -> Setup {
    let fake = Arc::new(FakeRuntime::new());
    fake.add_image("app:1");
    let mut config = Config::for_tests();
    config.warm_task_namespaces = warm;
    let server = TestServer::start_on(config, fake.clone()).await;
    let ecs = server.client();
    ecs.create_cluster().cluster_name("c").send().await.unwrap();
    for (family, count) in [("one", 1), ("two", 2)] {
        let mut r = ecs
            .register_task_definition()
            .family(family)
            .network_mode(NetworkMode::Awsvpc)
            .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
            .cpu("256")
            .memory("512");
        for i in 0..count {
            r = r.container_definitions(
                ContainerDefinition::builder()
                    .name(format!("c{i}"))
                    .image("app:1")
                    .essential(i == 0)
                    .build(),
            );
        }
        r.send().await.unwrap();
    }
    Setup { server, fake, ecs }
}

async fn run(s: &Setup, family: &str) -> aws_sdk_ecs::types::Task {
    let out = s
        .ecs
        .run_task()
        .cluster("c")
        .task_definition(family)
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
    let arn = out.tasks()[0].task_arn().unwrap().to_string();
    for _ in 0..250 {
        let d = s
            .ecs
            .describe_tasks()
            .cluster("c")
            .tasks(&arn)
            .send()
            .await
            .unwrap();
        let t = d.tasks()[0].clone();
        if t.last_status() == Some("RUNNING") {
            return t;
        }
        assert_ne!(t.desired_status(), Some("STOPPED"), "{t:#?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("task {arn} never RUNNING");
}

async fn all_containers(s: &Setup) -> Vec<ContainerInfo> {
    let mut out = vec![];
    for id in s.fake.container_ids() {
        out.push(s.fake.inspect_container(&id).await.unwrap());
    }
    out
}

/// The started holders waiting in the pool.
async fn warm(s: &Setup) -> Vec<ContainerInfo> {
    all_containers(s)
        .await
        .into_iter()
        .filter(|c| c.name.starts_with("ecsbox-warm-") && c.status == ContainerStatus::Running)
        .collect()
}

async fn wait_for_warm(s: &Setup, n: usize) -> Vec<ContainerInfo> {
    for _ in 0..250 {
        let w = warm(s).await;
        if w.len() == n {
            return w;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "the pool never held {n} warm holders: {:#?}",
        all_containers(s).await
    );
}

fn ip_of(c: &ContainerInfo) -> String {
    c.networks
        .values()
        .find_map(|ep| ep.ip_address.clone())
        .expect("an address on the awsvpc network")
}

#[tokio::test]
async fn awsvpc_tasks_take_started_holders_and_the_pool_refills() {
    let s = setup(2).await;
    // Nothing before the first awsvpc task.
    assert!(all_containers(&s).await.is_empty());
    let first = run(&s, "one").await;
    let pooled = wait_for_warm(&s, 2).await;
    for holder in &pooled {
        assert_eq!(
            holder.labels.get("ecsbox.owner").map(String::as_str),
            Some(s.server.app.config.instance_id.as_str())
        );
        assert_eq!(
            holder.labels.get("ecsbox.role").map(String::as_str),
            Some("namespace-holder")
        );
    }
    // The first task made no holder: its one container is on the network.
    let first_app = s.fake.spec(first.containers()[0].runtime_id().unwrap());
    assert!(
        matches!(
            first_app.network_mode,
            ecsbox::runtime::NetworkMode::Network { .. }
        ),
        "{first_app:#?}"
    );

    // The next task joins the oldest warm holder, which is renamed as the
    // agent names a task's pause container, and reports its address.
    for family in ["one", "two"] {
        let before: Vec<String> = warm(&s).await.into_iter().map(|c| c.id).collect();
        let t = run(&s, family).await;
        let task_id = t
            .task_arn()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_string();
        let taken = before
            .iter()
            .find(|id| {
                t.containers().iter().all(|c| {
                    s.fake
                        .spec(c.runtime_id().unwrap())
                        .network_mode
                        .to_docker()
                        == format!("container:{id}")
                })
            })
            .unwrap_or_else(|| {
                panic!("{family}: no container joined a warm holder {before:?}: {t:#?}")
            });
        let holder = s.fake.inspect_container(taken).await.unwrap();
        assert_eq!(
            holder.name,
            format!("ecs-{family}-1-internalecspause-{}", &task_id[..12])
        );
        assert_eq!(eni_ip(&t), ip_of(&holder));
        // Back to two waiting, the taken one not among them.
        let after = wait_for_warm(&s, 2).await;
        assert!(after.iter().all(|c| &c.id != taken), "{after:#?}");

        // The task's stop kills its holder, which does not return to the pool.
        s.ecs
            .stop_task()
            .cluster("c")
            .task(t.task_arn().unwrap())
            .send()
            .await
            .unwrap();
        for _ in 0..250 {
            if s.fake
                .inspect_container(taken)
                .await
                .unwrap()
                .status
                .is_terminal()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(s
            .fake
            .inspect_container(taken)
            .await
            .unwrap()
            .status
            .is_terminal());
        assert!(warm(&s).await.iter().all(|c| &c.id != taken));
    }
}

#[tokio::test]
async fn a_warm_holder_removed_outside_ecsbox_is_never_handed_out() {
    let s = setup(1).await;
    run(&s, "one").await;
    let gone = wait_for_warm(&s, 1).await.remove(0);
    s.fake
        .remove_container(
            &gone.id,
            ecsbox::runtime::RemoveOptions {
                force: true,
                volumes: true,
            },
        )
        .await
        .unwrap();
    // The removal's event reaches the controller before the next task asks.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let t = run(&s, "one").await;
    let app = s.fake.spec(t.containers()[0].runtime_id().unwrap());
    assert_ne!(
        app.network_mode.to_docker(),
        format!("container:{}", gone.id)
    );
    // The pool fills again.
    wait_for_warm(&s, 1).await;
}

#[tokio::test]
async fn reset_removes_the_warm_holders() {
    let s = setup(2).await;
    run(&s, "one").await;
    let r = s.server.raw("POST", "/_ecsbox/reset", &[], b"").await;
    assert_eq!(r.status, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let left = all_containers(&s).await;
    assert!(left.is_empty(), "left after reset: {left:#?}");
}

#[tokio::test]
async fn with_no_warm_namespaces_every_task_makes_its_own() {
    let s = setup(0).await;
    run(&s, "one").await;
    let t = run(&s, "two").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(warm(&s).await.is_empty());
    // The two-container task got a holder of its own, with the agent's labels.
    let arn = t.task_arn().unwrap();
    let holder = all_containers(&s)
        .await
        .into_iter()
        .find(|c| c.labels.get("ecsbox.role").map(String::as_str) == Some("namespace-holder"))
        .expect("a holder");
    assert_eq!(
        holder
            .labels
            .get("com.amazonaws.ecs.task-arn")
            .map(String::as_str),
        Some(arn)
    );
}
