//! STOPPED tasks are describable for an hour, then forgotten, as on AWS
//! ("Stopped tasks ... appear in the returned results for at least one
//! hour", DescribeTasks and ListTasks in the ECS API reference), so that a
//! day of RunTask or a crash-looping service does not grow ecsbox's state
//! without end. The hour passes on ecsbox's clock
//! (`POST /_ecsbox/clock/advance`), which is process-wide: this binary is
//! its own. On the in-memory fake runtime.
mod common;

use aws_sdk_ecs::types::{
    AwsVpcConfiguration, Compatibility, ContainerDefinition, DesiredStatus, LaunchType,
    NetworkConfiguration, NetworkMode, Tag,
};
use common::TestServer;
use ecsbox::config::Config;
use ecsbox::runtime::fake::FakeRuntime;
use std::sync::Arc;
use std::time::{Duration, Instant};

async fn advance(s: &TestServer, seconds: u64) {
    let r = s
        .raw(
            "POST",
            "/_ecsbox/clock/advance",
            &[],
            format!("{{\"seconds\": {seconds}}}").as_bytes(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

async fn describe(
    ecs: &aws_sdk_ecs::Client,
    arn: &str,
) -> aws_sdk_ecs::operation::describe_tasks::DescribeTasksOutput {
    ecs.describe_tasks()
        .cluster("c")
        .tasks(arn)
        .send()
        .await
        .unwrap()
}

/// Whether ecsbox keeps tags for the task (ECS keeps them by ARN).
fn tagged(s: &TestServer, arn: &str) -> bool {
    let account = arn.split(':').nth(4).unwrap();
    s.app
        .store
        .region(account, "us-east-1")
        .lock()
        .tags
        .contains_key(arn)
}

async fn stopped_listed(ecs: &aws_sdk_ecs::Client) -> Vec<String> {
    ecs.list_tasks()
        .cluster("c")
        .desired_status(DesiredStatus::Stopped)
        .send()
        .await
        .unwrap()
        .task_arns()
        .to_vec()
}

#[tokio::test]
async fn a_stopped_task_is_forgotten_an_hour_after_it_stopped() {
    let fake = Arc::new(FakeRuntime::new());
    fake.add_image("app:1");
    let mut config = Config::for_tests();
    // Its containers go at once, as they would after the cleanup delay.
    config.task_cleanup_delay = 0;
    let s = TestServer::start_on(config, fake.clone()).await;
    let ecs = s.client();
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
    let run = ecs
        .run_task()
        .cluster("c")
        .task_definition("web")
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
        .tags(Tag::builder().key("team").value("a").build())
        .send()
        .await
        .unwrap();
    let arn = run.tasks()[0].task_arn().unwrap().to_string();
    ecs.stop_task()
        .cluster("c")
        .task(&arn)
        .send()
        .await
        .unwrap();
    // STOPPED, and its containers removed.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let t = describe(&ecs, &arn).await.tasks()[0].clone();
        if t.last_status() == Some("STOPPED") && fake.container_ids().is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "not stopped and removed: {t:#?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    assert!(tagged(&s, &arn), "RunTask's tags are kept by task ARN");

    // Within the hour: still there.
    advance(&s, 3590).await;
    assert_eq!(describe(&ecs, &arn).await.tasks().len(), 1);
    assert_eq!(stopped_listed(&ecs).await, std::slice::from_ref(&arn));

    // Past it: gone, as a task that never existed (failure MISSING), and
    // its tags with it.
    advance(&s, 11).await;
    let d = describe(&ecs, &arn).await;
    assert!(d.tasks().is_empty(), "{d:#?}");
    assert_eq!(d.failures()[0].reason(), Some("MISSING"));
    assert!(stopped_listed(&ecs).await.is_empty());
    assert!(!tagged(&s, &arn), "the task's tags stayed");
}
