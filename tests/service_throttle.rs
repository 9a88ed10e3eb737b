//! ECS's service throttle logic on the fake runtime: a service whose tasks
//! cannot start (their image does not exist) is relaunched at once three
//! times, then only after 10, 20, 40, 80 s of ecsbox's clock, saying it "is
//! unable to consistently start tasks successfully" after each failure; a
//! new task definition launches at once; EventBridge hears
//! `SERVICE_TASK_START_IMPAIRED`.
//!
//! Time moves with `clock::advance`, never by sleeping: after each advance
//! the test waits for a scheduler pass that saw the new time
//! (`wait_for_pass_after`), so "not launched yet" is a fact, not a guess.
//! The clock is process-wide, which is why these tests have a file (a test
//! binary) of their own, and why they run one at a time.
mod common;

use aws_sdk_ecs::types::{
    AwsVpcConfiguration, ContainerDefinition, DesiredStatus, LaunchType, NetworkConfiguration,
    NetworkMode, Service,
};
use common::TestServer;
use ecsbox::config::Config;
use ecsbox::runtime::fake::FakeRuntime;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// The service event, in ECS's words (see `controllers::service_throttle`).
const UNABLE: &str = "(service web) is unable to consistently start tasks successfully. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.";

/// One test at a time: each moves the process-wide clock.
static CLOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn register(ecs: &aws_sdk_ecs::Client, image: &str) -> String {
    ecs.register_task_definition()
        .family("web")
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image(image)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .task_definition
        .unwrap()
        .task_definition_arn
        .unwrap()
}

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

async fn describe(ecs: &aws_sdk_ecs::Client) -> Service {
    ecs.describe_services()
        .cluster("c")
        .services("web")
        .send()
        .await
        .unwrap()
        .services()[0]
        .clone()
}

fn unable_events(s: &Service) -> usize {
    s.events()
        .iter()
        .filter(|e| e.message() == Some(UNABLE))
        .count()
}

/// Every task the service launched, stopped or not.
async fn launched(ecs: &aws_sdk_ecs::Client) -> usize {
    let mut n = 0;
    for status in [DesiredStatus::Running, DesiredStatus::Stopped] {
        n += ecs
            .list_tasks()
            .cluster("c")
            .service_name("web")
            .desired_status(status)
            .send()
            .await
            .unwrap()
            .task_arns()
            .len();
    }
    n
}

/// Waits (on real time, bounded) until the service's tasks are all
/// STOPPED, `count` were launched, and the throttle said so `events` times.
async fn wait_failed(ecs: &aws_sdk_ecs::Client, count: usize, events: usize) {
    for _ in 0..500 {
        let s = describe(ecs).await;
        if launched(ecs).await == count
            && s.running_count() == 0
            && s.pending_count() == 0
            && unable_events(&s) == events
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "expected {count} failed launches and {events} throttle events: {} launched, {:#?}",
        launched(ecs).await,
        describe(ecs).await
    );
}

/// The service's STOPPED tasks, described.
async fn stopped_tasks(ecs: &aws_sdk_ecs::Client) -> Vec<aws_sdk_ecs::types::Task> {
    let stopped = ecs
        .list_tasks()
        .cluster("c")
        .desired_status(DesiredStatus::Stopped)
        .send()
        .await
        .unwrap();
    ecs.describe_tasks()
        .cluster("c")
        .set_tasks(Some(stopped.task_arns().to_vec()))
        .send()
        .await
        .unwrap()
        .tasks()
        .to_vec()
}

/// Moves ecsbox's clock and waits for a scheduler pass that saw it.
async fn advance(server: &TestServer, by: Duration) {
    ecsbox::clock::advance(by);
    let now = ecsbox::clock::now_system();
    tokio::time::timeout(
        Duration::from_secs(10),
        server.app.scheduler.wait_for_pass_after(now),
    )
    .await
    .expect("the scheduler passes after the clock moves");
}

async fn crash_looping_service() -> (TestServer, aws_sdk_ecs::Client) {
    let fake = Arc::new(FakeRuntime::new());
    fake.add_image("app:1");
    // Its image does not exist: every task stops with CannotPullContainerError.
    service_of(fake, "missing:1").await
}

/// Cluster `c` with a one-task FARGATE service `web` of `image`.
async fn service_of(fake: Arc<FakeRuntime>, image: &str) -> (TestServer, aws_sdk_ecs::Client) {
    let server = TestServer::start_on(Config::for_tests(), fake).await;
    let ecs = server.client();
    ecs.create_cluster().cluster_name("c").send().await.unwrap();
    register(&ecs, image).await;
    ecs.create_service()
        .cluster("c")
        .service_name("web")
        .task_definition("web")
        .desired_count(1)
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc())
        .send()
        .await
        .unwrap();
    (server, ecs)
}

#[tokio::test]
async fn a_service_whose_tasks_cannot_start_is_relaunched_ever_more_slowly() {
    let _clock = CLOCK.lock().await;
    let (server, ecs) = crash_looping_service().await;
    // Three at once, then the throttle holds the fourth and says so.
    wait_failed(&ecs, 3, 1).await;
    assert_eq!(
        stopped_tasks(&ecs).await[0].stop_code().map(|c| c.as_str()),
        Some("TaskFailedToStart")
    );

    // The launch rate: each launch waits out its delay and no more.
    let mut count = 3;
    for delay in [10, 20, 40, 80] {
        advance(&server, Duration::from_secs(delay - 1)).await;
        assert_eq!(
            launched(&ecs).await,
            count,
            "{}s after failure {count}, the scheduler still holds (delay {delay}s)",
            delay - 1
        );
        advance(&server, Duration::from_secs(1)).await;
        assert_eq!(
            launched(&ecs).await,
            count + 1,
            "{delay}s after failure {count}, the scheduler launches again"
        );
        count += 1;
        wait_failed(&ecs, count, count - 2).await;
    }
    // 7 launches over 150 s of failures, where an unthrottled scheduler
    // would have launched for as long as the engine let it.
    assert_eq!(launched(&ecs).await, 7);
    assert_eq!(unable_events(&describe(&ecs).await), 5);
}

#[tokio::test]
async fn a_new_task_definition_ends_the_throttle_at_once() {
    let _clock = CLOCK.lock().await;
    let (_server, ecs) = crash_looping_service().await;
    wait_failed(&ecs, 3, 1).await;
    let good = register(&ecs, "app:1").await;
    ecs.update_service()
        .cluster("c")
        .service("web")
        .task_definition(&good)
        .send()
        .await
        .unwrap();
    // No clock advance: the new revision's task starts without a delay.
    for _ in 0..500 {
        if describe(&ecs).await.running_count() == 1 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the new revision never ran: {:#?}", describe(&ecs).await);
}

/// A command that exits at once ran: its tasks reached RUNNING, so the
/// throttle never holds them back (the developer guide: it applies to tasks
/// "progressing directly from a PENDING to a STOPPED status") — even when
/// the engine reports the exit before the start call has answered.
#[tokio::test]
async fn a_command_that_exits_at_once_is_relaunched_without_delay() {
    let _clock = CLOCK.lock().await;
    let fake = Arc::new(FakeRuntime::new());
    fake.add_image("exits:1");
    fake.exit_at_start("exits:1", 3);
    let (_server, ecs) = service_of(fake, "exits:1").await;
    // No clock advance: past the throttle's three, launches go on.
    for _ in 0..500 {
        if launched(&ecs).await >= 6 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let service = describe(&ecs).await;
    assert!(
        launched(&ecs).await >= 6,
        "the service stopped relaunching: {service:#?}"
    );
    assert_eq!(unable_events(&service), 0, "{service:#?}");
    for task in stopped_tasks(&ecs).await {
        assert!(task.started_at().is_some(), "{task:#?}");
        assert_eq!(
            task.stop_code().map(|c| c.as_str()),
            Some("EssentialContainerExited")
        );
    }
}

async fn aws(s: &TestServer, service: &str, target: &str, body: Value) -> Value {
    let r = s.aws_json(service, target, body).await;
    assert_eq!(r.status, 200, "{target}: {}", r.body);
    if r.body.is_empty() {
        Value::Null
    } else {
        r.json()
    }
}

/// The "ECS Service Action" event of the developer guide's "Amazon ECS
/// service action events": WARN, `SERVICE_TASK_START_IMPAIRED`.
#[tokio::test]
async fn eventbridge_hears_that_the_service_cannot_start_tasks() {
    let _clock = CLOCK.lock().await;
    let fake = Arc::new(FakeRuntime::new());
    let server = TestServer::start_on(Config::for_tests(), fake).await;
    let s = &server;
    aws(
        s,
        "logs",
        "Logs_20140328.CreateLogGroup",
        json!({"logGroupName": "/events/impaired"}),
    )
    .await;
    aws(
        s,
        "events",
        "AWSEvents.PutRule",
        json!({"Name": "impaired", "EventPattern": r#"{"source": ["aws.ecs"], "detail-type": ["ECS Service Action"], "detail": {"eventName": ["SERVICE_TASK_START_IMPAIRED"]}}"#}),
    )
    .await;
    aws(
        s,
        "events",
        "AWSEvents.PutTargets",
        json!({"Rule": "impaired", "Targets": [{"Id": "l", "Arn": "arn:aws:logs:us-east-1:000000000000:log-group:/events/impaired"}]}),
    )
    .await;
    let ecs = server.client();
    ecs.create_cluster().cluster_name("c").send().await.unwrap();
    register(&ecs, "missing:1").await;
    ecs.create_service()
        .cluster("c")
        .service_name("web")
        .task_definition("web")
        .desired_count(1)
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc())
        .send()
        .await
        .unwrap();
    wait_failed(&ecs, 3, 1).await;
    for _ in 0..500 {
        let v = aws(
            s,
            "logs",
            "Logs_20140328.FilterLogEvents",
            json!({"logGroupName": "/events/impaired"}),
        )
        .await;
        if let Some(e) = v["events"].as_array().and_then(|a| a.first()) {
            let e: Value = serde_json::from_str(e["message"].as_str().unwrap()).unwrap();
            assert_eq!(e["source"], "aws.ecs");
            assert_eq!(e["detail-type"], "ECS Service Action");
            assert_eq!(e["detail"]["eventType"], "WARN");
            assert_eq!(e["detail"]["eventName"], "SERVICE_TASK_START_IMPAIRED");
            assert!(e["resources"][0]
                .as_str()
                .unwrap()
                .ends_with(":service/c/web"));
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no SERVICE_TASK_START_IMPAIRED event reached the log group");
}
