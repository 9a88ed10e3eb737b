//! `--state-dir` with the real binary and the real Docker engine: after
//! `kill -9` and after SIGTERM, a restart finds the cluster, the service and
//! its tasks, adopts the containers that still run (same task ARNs, same
//! containers, same IPs, their awslogs streams going on without a repeated
//! line, the service steady without a relaunch), and stops the task whose
//! container died while ecsbox was down, with ECS's reason, so that its
//! service replaces it. Each test's `EngineGuard` removes what its instance
//! made, failed or not.
#[path = "common/binary.rs"]
mod binary;
mod common;
#[path = "common/docker.rs"]
mod docker_common;

use aws_sdk_ecs::types::{
    Compatibility, DesiredStatus, LaunchType, LogConfiguration, LogDriver, NetworkMode, Task,
};
use binary::Ecsbox;
use docker_common::*;
use ecsbox::runtime::{ContainerRuntime, ContainerStatus, LabelFilter, OWNER_LABEL};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

async fn start(owner: &str, state_dir: &str) -> Ecsbox {
    Ecsbox::start(
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
            owner,
            "--state-dir",
            state_dir,
        ],
        DEADLINE,
    )
    .await
}

async fn tasks(ecs: &aws_sdk_ecs::Client, status: DesiredStatus) -> Vec<Task> {
    let arns = ecs
        .list_tasks()
        .cluster(CLUSTER)
        .desired_status(status)
        .send()
        .await
        .unwrap()
        .task_arns()
        .to_vec();
    if arns.is_empty() {
        return vec![];
    }
    let mut tasks = ecs
        .describe_tasks()
        .cluster(CLUSTER)
        .set_tasks(Some(arns))
        .send()
        .await
        .unwrap()
        .tasks()
        .to_vec();
    tasks.sort_by(|a, b| a.task_arn().cmp(&b.task_arn()));
    tasks
}

/// Waits until exactly `count` tasks run and the service says so.
async fn wait_steady(ecs: &aws_sdk_ecs::Client, count: usize) -> Vec<Task> {
    let start = Instant::now();
    loop {
        let running: Vec<Task> = tasks(ecs, DesiredStatus::Running)
            .await
            .into_iter()
            .filter(|t| t.last_status() == Some("RUNNING"))
            .collect();
        let service = ecs
            .describe_services()
            .cluster(CLUSTER)
            .services("ticks")
            .send()
            .await
            .unwrap()
            .services()[0]
            .clone();
        if running.len() == count && service.running_count() == count as i32 {
            return running;
        }
        assert!(start.elapsed() < DEADLINE, "{running:#?} {service:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// (task ARN, container id, IP) of each task.
fn identities(tasks: &[Task]) -> Vec<(String, String, String)> {
    tasks
        .iter()
        .map(|t| {
            (
                t.task_arn().unwrap().to_string(),
                container(t, "app").runtime_id().unwrap().to_string(),
                common::eni_ip(t),
            )
        })
        .collect()
}

/// The messages of a task's awslogs stream.
async fn log_lines(ecsbox: &Ecsbox, task: &Task) -> Vec<String> {
    let id = task.task_arn().unwrap().rsplit('/').next().unwrap();
    let (status, body) = ecsbox
        .aws_json(
            "logs",
            "Logs_20140328.GetLogEvents",
            &serde_json::json!({
                "logGroupName": "/ecs/ticks",
                "logStreamName": format!("ticks/app/{id}"),
                "startFromHead": true,
            }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect()
}

/// Waits until the stream holds more than `than` lines; asserts none twice.
async fn wait_more_lines(ecsbox: &Ecsbox, task: &Task, than: usize) -> Vec<String> {
    let start = Instant::now();
    loop {
        let lines = log_lines(ecsbox, task).await;
        let distinct: BTreeSet<&String> = lines.iter().collect();
        assert_eq!(distinct.len(), lines.len(), "a line came twice: {lines:?}");
        if lines.len() > than {
            return lines;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "no new line after {than}: {lines:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn tasks_survive_kill_9_and_sigterm_and_a_task_dead_meanwhile_is_replaced() {
    ensure_test_image();
    let owner = new_instance_id();
    let _guard = EngineGuard::new(vec![owner.clone()]);
    let dir = std::env::temp_dir().join(format!("ecsbox-{owner}"));
    let state_dir = dir.to_str().unwrap().to_string();
    let _remove_dir = RemoveDir(dir.clone());

    let mut ecsbox = start(&owner, &state_dir).await;
    let ecs = ecsbox.client();
    ecs.create_cluster()
        .cluster_name(CLUSTER)
        .send()
        .await
        .unwrap();
    let logs = LogConfiguration::builder()
        .log_driver(LogDriver::Awslogs)
        .options("awslogs-group", "/ecs/ticks")
        .options("awslogs-region", "us-east-1")
        .options("awslogs-stream-prefix", "ticks")
        .options("awslogs-create-group", "true")
        .build()
        .unwrap();
    ecs.register_task_definition()
        .family("ticks")
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .execution_role_arn("arn:aws:iam::000000000000:role/exec")
        .container_definitions(
            sh(
                "app",
                "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done",
            )
            .essential(true)
            .log_configuration(logs)
            .build(),
        )
        .send()
        .await
        .unwrap();
    ecs.create_service()
        .cluster(CLUSTER)
        .service_name("ticks")
        .task_definition("ticks")
        .desired_count(2)
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc())
        .send()
        .await
        .unwrap();
    let before = wait_steady(&ecs, 2).await;
    let lines_before = wait_more_lines(&ecsbox, &before[0], 3).await.len();

    // kill -9: nothing runs at exit.
    ecsbox.signal("KILL");
    ecsbox.wait(DEADLINE).await;
    // While ecsbox is down, one task's container is killed (exit 137).
    let docker = engine().await;
    let dead = identities(&before)[1].clone();
    docker.kill_container(&dead.1, "SIGKILL").await.unwrap();

    let ecsbox = start(&owner, &state_dir).await;
    let ecs = ecsbox.client();
    // The dead one is STOPPED with ECS's reason ...
    let start_wait = Instant::now();
    let stopped = loop {
        let t = ecs
            .describe_tasks()
            .cluster(CLUSTER)
            .tasks(&dead.0)
            .send()
            .await
            .unwrap()
            .tasks()[0]
            .clone();
        if t.last_status() == Some("STOPPED") {
            break t;
        }
        assert!(start_wait.elapsed() < DEADLINE, "{t:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        stopped.stopped_reason(),
        Some("Essential container in task exited")
    );
    assert_eq!(container(&stopped, "app").exit_code(), Some(137));
    // ... the other is the same task on the same container at the same IP,
    // and the service replaced the dead one (and launched nothing else).
    let after = wait_steady(&ecs, 2).await;
    let survivor = identities(&before)[0].clone();
    assert!(identities(&after).contains(&survivor), "{after:#?}");
    assert!(!identities(&after).iter().any(|t| t.0 == dead.0));
    let all = tasks(&ecs, DesiredStatus::Running).await.len()
        + tasks(&ecs, DesiredStatus::Stopped).await.len();
    assert_eq!(all, 3, "2 before the restart, 1 replacement");
    // Its log stream goes on where it was, no line twice.
    let survivor_task = after
        .iter()
        .find(|t| t.task_arn() == Some(&survivor.0))
        .unwrap();
    let lines = wait_more_lines(&ecsbox, survivor_task, lines_before + 3).await;
    assert_eq!(lines[0], "tick 0");

    // SIGTERM with a state directory: the tasks keep running ...
    let mut ecsbox = ecsbox;
    ecsbox.signal("TERM");
    assert!(ecsbox.wait(DEADLINE).await.success());
    let mine = [LabelFilter::equals(OWNER_LABEL, owner.clone())];
    let containers = docker.list_containers(&mine).await.unwrap();
    let running = containers
        .iter()
        .filter(|c| c.status == ContainerStatus::Running)
        .count();
    assert_eq!(running, 2, "{containers:#?}");
    // ... and the next start adopts them all.
    let ecsbox = start(&owner, &state_dir).await;
    let ecs = ecsbox.client();
    let again = wait_steady(&ecs, 2).await;
    assert_eq!(identities(&again), identities(&after));

    // The reset endpoint removes the containers and empties the state.
    let (status, body) = ecsbox.raw("POST", "/_ecsbox/reset", &[], b"").await;
    assert_eq!(status, 200, "{body}");
    assert!(docker.list_containers(&mine).await.unwrap().is_empty());
    assert!(ecs
        .list_clusters()
        .send()
        .await
        .unwrap()
        .cluster_arns()
        .is_empty());
}

/// Removes the state directory when the test ends, failed or not.
struct RemoveDir(std::path::PathBuf);

impl Drop for RemoveDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
