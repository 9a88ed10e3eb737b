//! The Docker engine away, at start and while tasks run, on the real
//! engine. The test cannot stop the engine, so ecsbox reaches it through a
//! Unix socket of the test's own (`EngineSocket`), forwarded to the real
//! one: taking the socket away (and cutting its connections) is the engine
//! going away for ecsbox, putting it back is the engine coming back.
//!
//! - No engine at start: the API answers, a task that cannot start says
//!   why in its stoppedReason, and once the engine can be reached tasks run
//!   without restarting ecsbox.
//! - The engine going away while a task runs: the API keeps answering, a
//!   new task stops with the reason; a container that died meanwhile is
//!   found when the engine is back, and its task stops as it would have.
mod common;
#[path = "common/docker.rs"]
mod docker_common;

use docker_common::*;
use ecsbox::runtime::lazy::LazyDocker;
use ecsbox::runtime::ContainerRuntime;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{UnixListener, UnixStream};

/// A Unix socket forwarded to the engine's, that can be taken away.
struct EngineSocket {
    path: PathBuf,
    /// Dropped (or sent) to take the socket and its connections away.
    up: Option<tokio::sync::watch::Sender<()>>,
}

fn engine_socket_path() -> PathBuf {
    let host = std::env::var("DOCKER_HOST").unwrap_or_default();
    PathBuf::from(
        host.strip_prefix("unix://")
            .unwrap_or("/var/run/docker.sock"),
    )
}

impl EngineSocket {
    /// Not listening yet.
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "ecsbox-test-engine-{}-{name}.sock",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&path);
        EngineSocket { path, up: None }
    }

    fn host(&self) -> String {
        format!("unix://{}", self.path.display())
    }

    fn up(&mut self) {
        let listener = UnixListener::bind(&self.path).expect("bind the test's engine socket");
        let (tx, rx) = tokio::sync::watch::channel(());
        self.up = Some(tx);
        tokio::spawn(async move {
            let mut down = rx.clone();
            loop {
                let client = tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok((c, _)) => c,
                        Err(_) => return,
                    },
                    _ = down.changed() => return,
                };
                let mut down = rx.clone();
                tokio::spawn(async move {
                    let Ok(mut engine) = UnixStream::connect(engine_socket_path()).await else {
                        return;
                    };
                    let mut client = client;
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut engine) => {}
                        _ = down.changed() => {}
                    }
                });
            }
        });
    }

    /// Takes the socket away: no new connection, every open one cut.
    fn down(&mut self) {
        if let Some(up) = self.up.take() {
            let _ = up.send(());
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Drop for EngineSocket {
    fn drop(&mut self) {
        self.down();
    }
}

async fn server_through(socket: &EngineSocket) -> DockerServer {
    let owner = new_instance_id();
    let guard = EngineGuard::new(vec![owner.clone()]);
    let runtime: Arc<dyn ContainerRuntime> = Arc::new(LazyDocker::for_host(&socket.host()));
    DockerServer::start_on_runtime(&owner, &[], guard, runtime).await
}

async fn register_sleeper(s: &DockerServer) {
    s.register("sleeper", vec![sh("app", "sleep 600").build()])
        .await;
}

fn says_the_engine_is_unreachable(reason: Option<&str>) -> bool {
    reason.is_some_and(|r| r.contains("cannot reach the Docker engine"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_reached_only_after_start_runs_tasks_without_a_restart() {
    let mut socket = EngineSocket::new("late");
    let s = server_through(&socket).await;
    register_sleeper(&s).await;

    // No engine: the API answers, the task stops and says why.
    let arn = s.run_one("sleeper").await;
    let stopped = s.wait_status(&arn, "STOPPED").await;
    assert!(
        says_the_engine_is_unreachable(stopped.stopped_reason()),
        "{stopped:#?}"
    );
    assert_eq!(
        stopped.stop_code().map(|c| c.as_str()),
        Some("TaskFailedToStart")
    );

    // The engine comes: a task runs (ecsbox tries again every second).
    socket.up();
    let arn = s.run_one("sleeper").await;
    let running = s
        .wait_for(&arn, "RUNNING or STOPPED", |t| {
            matches!(t.last_status(), Some("RUNNING" | "STOPPED"))
        })
        .await;
    if running.last_status() == Some("STOPPED") {
        // Run within a second of the engine's return, before ecsbox tried
        // it again: the next one runs.
        assert!(says_the_engine_is_unreachable(running.stopped_reason()));
        tokio::time::sleep(ecsbox::runtime::lazy::RETRY_EVERY).await;
        let arn = s.run_one("sleeper").await;
        s.wait_status(&arn, "RUNNING").await;
    }
    s.server.app.reset().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_going_away_and_back_is_reconciled() {
    let mut socket = EngineSocket::new("away");
    socket.up();
    let s = server_through(&socket).await;
    register_sleeper(&s).await;
    let first = s.run_one("sleeper").await;
    let task = s.wait_status(&first, "RUNNING").await;
    let container = runtime_id(&task, "app");

    socket.down();
    // The API keeps answering; a task started now says why it cannot run.
    let listed = s.ecs.list_tasks().cluster(CLUSTER).send().await.unwrap();
    assert!(listed.task_arns().contains(&first));
    let second = s.run_one("sleeper").await;
    let stopped = s.wait_status(&second, "STOPPED").await;
    assert!(
        says_the_engine_is_unreachable(stopped.stopped_reason()),
        "{stopped:#?}"
    );

    // The first task's container dies while ecsbox cannot see the engine.
    s.docker
        .kill_container(&container, "KILL")
        .await
        .expect("kill through the real engine");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        s.describe(&first).await.last_status(),
        Some("RUNNING"),
        "ecsbox cannot have seen the death yet"
    );

    // The engine is back: ecsbox looks again and the task stops, as it
    // would have had it seen the container die.
    socket.up();
    let stopped = s.wait_status(&first, "STOPPED").await;
    assert_eq!(
        stopped.stop_code().map(|c| c.as_str()),
        Some("EssentialContainerExited"),
        "{stopped:#?}"
    );
    assert_eq!(stopped.containers()[0].exit_code(), Some(137));
    s.server.app.reset().await;
}
