//! ecsbox on the machine's real Docker engine, for end-to-end task tests.
//!
//! `DockerServer::start` runs the real server on `DockerRuntime` with its own
//! instance id, so everything it creates carries `ecsbox.owner=<that id>`.
//! An `EngineGuard` removes every container and network of the ids it was
//! given when it is dropped (panics included), so a run leaves nothing
//! behind: `docker ps -a --filter label=ecsbox.owner` is empty afterwards.
//!
//! The image is `ecsbox-test/busybox:latest`, built locally by
//! `scripts/build-test-images.sh` (no registry is reachable here).
#![allow(dead_code)]

use crate::common::TestServer;
use aws_sdk_ecs::types::{
    AwsVpcConfiguration, Compatibility, ContainerDefinition, LaunchType, NetworkConfiguration,
    NetworkMode, Task,
};
use clap::Parser;
use ecsbox::config::Config;
use ecsbox::runtime::docker::DockerRuntime;
use ecsbox::runtime::{
    ContainerInfo, ContainerRuntime, ContainerSpec, LabelFilter, RemoveOptions, OWNER_LABEL,
};
use std::collections::HashMap;
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

pub const BUSYBOX: &str = "ecsbox-test/busybox:latest";
pub const CLUSTER: &str = "c";
/// How long any one state change may take before a test gives up.
pub const DEADLINE: Duration = Duration::from_secs(60);
/// Marks containers a test makes by hand, so its guard removes them too
/// (they deliberately carry no or another instance's owner label).
pub const GUARD_LABEL: &str = "ecsbox-test.guard";

static BUILD_IMAGES: Once = Once::new();

/// Builds the test image once per test binary when it is missing.
pub fn ensure_test_image() {
    BUILD_IMAGES.call_once(|| {
        let present = std::process::Command::new("docker")
            .args(["image", "inspect", BUSYBOX])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if present {
            return;
        }
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/build-test-images.sh");
        let status = std::process::Command::new("bash")
            .arg(script)
            .status()
            .expect("run the image build script");
        assert!(status.success(), "{script} failed");
    });
}

/// A fresh instance id for one ecsbox server (or a foreign owner).
pub fn new_instance_id() -> String {
    format!(
        "dtest-{}-{}",
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// The configuration of a test server with instance id `id` and extra flags.
pub fn config(id: &str, extra: &[&str]) -> Config {
    let mut args = vec![
        "ecsbox",
        "--listen",
        "127.0.0.1:0",
        "--registry-listen",
        "127.0.0.1:0",
        "--instance-id",
        id,
    ];
    // No warm namespace pool unless a test asks for one: its background
    // fills would make the containers a test counts depend on timing.
    if !extra.contains(&"--warm-task-namespaces") {
        args.extend_from_slice(&["--warm-task-namespaces", "0"]);
    }
    args.extend_from_slice(extra);
    Config::parse_from(args)
}

pub async fn engine() -> Arc<DockerRuntime> {
    Arc::new(
        DockerRuntime::connect()
            .await
            .expect("the Docker engine is reachable"),
    )
}

/// Removes, on drop, every container and network owned by `owners` and
/// every container carrying `GUARD_LABEL=<guard id>`.
pub struct EngineGuard {
    pub owners: Vec<String>,
    pub id: String,
}

impl EngineGuard {
    pub fn new(owners: Vec<String>) -> Self {
        EngineGuard {
            owners,
            id: uuid::Uuid::new_v4().simple().to_string(),
        }
    }

    /// Labels for a container made by hand that this guard must remove.
    pub fn labels(&self) -> HashMap<String, String> {
        HashMap::from([(GUARD_LABEL.to_string(), self.id.clone())])
    }
}

impl Drop for EngineGuard {
    /// On a thread of its own, so it also works while the test's runtime is
    /// unwinding from a panic.
    fn drop(&mut self) {
        let owners = self.owners.clone();
        let guard_id = self.id.clone();
        let cleanup = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let docker = DockerRuntime::connect().await.expect("engine for cleanup");
                let mut filters: Vec<Vec<LabelFilter>> = owners
                    .iter()
                    .map(|o| vec![LabelFilter::equals(OWNER_LABEL, o.clone())])
                    .collect();
                filters.push(vec![LabelFilter::equals(GUARD_LABEL, guard_id)]);
                // Twice: a request the server sent just before the test ended
                // may still create a container after the first pass.
                for pass in 0..2 {
                    for f in &filters {
                        remove_all(&docker, f).await;
                    }
                    if pass == 0 {
                        tokio::time::sleep(Duration::from_millis(300)).await;
                    }
                }
            });
        });
        let _ = cleanup.join();
    }
}

async fn remove_all(docker: &DockerRuntime, filters: &[LabelFilter]) {
    let force = RemoveOptions {
        force: true,
        volumes: true,
    };
    for c in docker.list_containers(filters).await.unwrap_or_default() {
        let _ = docker.remove_container(&c.id, force).await;
    }
    for n in docker.list_networks(filters).await.unwrap_or_default() {
        let _ = docker.remove_network(&n.id).await;
    }
    for v in docker.list_volumes(filters).await.unwrap_or_default() {
        let _ = docker.remove_volume(&v.name).await;
    }
}

/// One ecsbox server on the real engine, with cluster `c` created.
/// Fields drop in order: the server first, the guard last.
pub struct DockerServer {
    pub server: TestServer,
    pub ecs: aws_sdk_ecs::Client,
    pub docker: Arc<DockerRuntime>,
    pub owner: String,
    pub guard: EngineGuard,
}

impl DockerServer {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// A server with extra command-line flags (e.g. `--task-cleanup-delay 0`).
    pub async fn start_with(flags: &[&str]) -> Self {
        let owner = new_instance_id();
        let guard = EngineGuard::new(vec![owner.clone()]);
        Self::start_as(&owner, flags, guard).await
    }

    /// A server with a given instance id, cleaned up by `guard`.
    pub async fn start_as(owner: &str, flags: &[&str], guard: EngineGuard) -> Self {
        let docker = engine().await;
        Self::start_on_runtime(owner, flags, guard, docker).await
    }

    /// A server whose engine is `runtime` (the test still reaches the
    /// engine itself through `docker`).
    pub async fn start_on_runtime(
        owner: &str,
        flags: &[&str],
        guard: EngineGuard,
        runtime: Arc<dyn ecsbox::runtime::ContainerRuntime>,
    ) -> Self {
        ensure_test_image();
        let docker = engine().await;
        let server = TestServer::start_on(config(owner, flags), runtime).await;
        let ecs = server.client();
        ecs.create_cluster()
            .cluster_name(CLUSTER)
            .send()
            .await
            .unwrap();
        DockerServer {
            server,
            ecs,
            docker,
            owner: owner.to_string(),
            guard,
        }
    }

    /// Registers a FARGATE/awsvpc task definition (cpu 256, memory 512).
    pub async fn register(&self, family: &str, containers: Vec<ContainerDefinition>) {
        self.register_sized(family, "256", "512", containers).await
    }

    pub async fn register_sized(
        &self,
        family: &str,
        cpu: &str,
        memory: &str,
        containers: Vec<ContainerDefinition>,
    ) {
        self.ecs
            .register_task_definition()
            .family(family)
            .network_mode(NetworkMode::Awsvpc)
            .requires_compatibilities(Compatibility::Fargate)
            .cpu(cpu)
            .memory(memory)
            .set_container_definitions(Some(containers))
            .send()
            .await
            .unwrap_or_else(|e| panic!("register {family}: {e:?}"));
    }

    /// Runs `count` copies of `family` on FARGATE; their ARNs.
    pub async fn run(&self, family: &str, count: i32) -> Vec<String> {
        let out = self
            .ecs
            .run_task()
            .cluster(CLUSTER)
            .task_definition(family)
            .launch_type(LaunchType::Fargate)
            .network_configuration(awsvpc())
            .count(count)
            .send()
            .await
            .unwrap_or_else(|e| panic!("run {family}: {e:?}"));
        assert!(out.failures().is_empty(), "{:?}", out.failures());
        out.tasks()
            .iter()
            .map(|t| t.task_arn().unwrap().to_string())
            .collect()
    }

    /// Registers an EC2 task definition in bridge mode.
    pub async fn register_bridge(&self, family: &str, containers: Vec<ContainerDefinition>) {
        self.ecs
            .register_task_definition()
            .family(family)
            .network_mode(NetworkMode::Bridge)
            .requires_compatibilities(Compatibility::Ec2)
            .set_container_definitions(Some(containers))
            .send()
            .await
            .unwrap_or_else(|e| panic!("register {family}: {e:?}"));
    }

    /// Runs `count` copies of `family` on EC2 (the cluster's container instances).
    pub async fn run_ec2(&self, family: &str, count: i32) -> Vec<String> {
        let out = self
            .ecs
            .run_task()
            .cluster(CLUSTER)
            .task_definition(family)
            .launch_type(LaunchType::Ec2)
            .count(count)
            .send()
            .await
            .unwrap_or_else(|e| panic!("run {family}: {e:?}"));
        assert!(out.failures().is_empty(), "{:?}", out.failures());
        out.tasks()
            .iter()
            .map(|t| t.task_arn().unwrap().to_string())
            .collect()
    }

    pub async fn run_one(&self, family: &str) -> String {
        self.run(family, 1).await.remove(0)
    }

    pub async fn describe(&self, arn: &str) -> Task {
        let out = self
            .ecs
            .describe_tasks()
            .cluster(CLUSTER)
            .tasks(arn)
            .send()
            .await
            .unwrap();
        out.tasks()
            .first()
            .cloned()
            .unwrap_or_else(|| panic!("task {arn} not found: {:?}", out.failures()))
    }

    /// Describes the task until `done` holds; panics with the task after `DEADLINE`.
    pub async fn wait_for(&self, arn: &str, what: &str, done: impl Fn(&Task) -> bool) -> Task {
        self.wait_for_within(arn, what, DEADLINE, done).await
    }

    pub async fn wait_for_within(
        &self,
        arn: &str,
        what: &str,
        limit: Duration,
        done: impl Fn(&Task) -> bool,
    ) -> Task {
        let deadline = Instant::now() + limit;
        loop {
            let task = self.describe(arn).await;
            if done(&task) {
                return task;
            }
            if Instant::now() > deadline {
                panic!("task never became {what} within {limit:?}: {task:#?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn wait_status(&self, arn: &str, status: &str) -> Task {
        self.wait_for(arn, status, |t| t.last_status() == Some(status))
            .await
    }

    /// Waits for RUNNING, failing at once if the task stops instead.
    pub async fn wait_running(&self, arn: &str) -> Task {
        let t = self
            .wait_for(arn, "RUNNING", |t| {
                matches!(t.last_status(), Some("RUNNING" | "STOPPED"))
            })
            .await;
        assert_eq!(
            t.last_status(),
            Some("RUNNING"),
            "the task stopped instead of running: {t:#?}"
        );
        t
    }

    /// The containers (id, labels) this server's instance owns right now.
    pub async fn owned_containers(&self) -> Vec<ecsbox::runtime::ContainerSummary> {
        self.docker
            .list_containers(&[LabelFilter::equals(OWNER_LABEL, self.owner.clone())])
            .await
            .unwrap()
    }

    pub async fn owned_networks(&self) -> Vec<ecsbox::runtime::NetworkInfo> {
        self.docker
            .list_networks(&[LabelFilter::equals(OWNER_LABEL, self.owner.clone())])
            .await
            .unwrap()
    }

    /// Every Docker container of a task, its namespace holder included.
    pub async fn task_containers(&self, arn: &str) -> Vec<ecsbox::runtime::ContainerSummary> {
        let filter = [LabelFilter::equals("com.amazonaws.ecs.task-arn", arn)];
        self.docker.list_containers(&filter).await.unwrap()
    }

    pub async fn inspect(&self, id: &str) -> ContainerInfo {
        self.docker.inspect_container(id).await.unwrap()
    }

    /// Every line a container wrote so far.
    pub async fn log_lines(&self, id: &str) -> Vec<String> {
        self.docker
            .logs(id)
            .await
            .unwrap()
            .into_iter()
            .map(|l| l.message)
            .collect()
    }
}

/// A busybox container made by hand (not through ecsbox), running.
pub async fn hand_made_container(
    docker: &DockerRuntime,
    labels: HashMap<String, String>,
) -> String {
    let spec = ContainerSpec {
        image: BUSYBOX.into(),
        labels,
        command: Some(vec!["sleep".into(), "300".into()]),
        ..Default::default()
    };
    let id = docker.create_container(&spec).await.unwrap();
    docker.start_container(&id).await.unwrap();
    id
}

pub fn awsvpc() -> NetworkConfiguration {
    NetworkConfiguration::builder()
        .awsvpc_configuration(
            AwsVpcConfiguration::builder()
                .subnets("subnet-0e2a7bcd")
                .build()
                .unwrap(),
        )
        .build()
}

/// A busybox container definition running `sh -c script`.
pub fn sh(name: &str, script: &str) -> aws_sdk_ecs::types::builders::ContainerDefinitionBuilder {
    ContainerDefinition::builder()
        .name(name)
        .image(BUSYBOX)
        .command("sh")
        .command("-c")
        .command(script)
}

/// The task's container named `name` (as DescribeTasks shows it).
pub fn container<'a>(task: &'a Task, name: &str) -> &'a aws_sdk_ecs::types::Container {
    task.containers()
        .iter()
        .find(|c| c.name() == Some(name))
        .unwrap_or_else(|| panic!("no container {name}: {task:#?}"))
}

pub fn runtime_id(task: &Task, name: &str) -> String {
    container(task, name)
        .runtime_id()
        .unwrap_or_else(|| panic!("container {name} has no runtimeId: {task:#?}"))
        .to_string()
}

// Shared with the in-process tests; not every Docker test file uses it.
#[allow(unused_imports)]
pub use crate::common::eni_ip;

/// `docker` on the command line (for what `ContainerInfo` does not carry:
/// HostConfig details, `docker kill`, `docker rm -f`). Runs off the async
/// thread so the in-process server keeps serving meanwhile.
pub async fn docker_cli(args: &[&str]) -> std::process::Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new("docker")
            .args(&args)
            .output()
            .expect("run docker")
    })
    .await
    .unwrap()
}

/// `docker inspect` of one container, as JSON.
pub async fn docker_inspect(id: &str) -> serde_json::Value {
    let out = docker_cli(&["inspect", id]).await;
    assert!(
        out.status.success(),
        "docker inspect {id}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    list.remove(0)
}

/// GET `path` from `ip:port` over plain TCP: the body, or why it failed.
pub async fn http_get(ip: &str, port: u16, path: &str) -> Result<String, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let connect = tokio::net::TcpStream::connect((ip, port));
    let mut stream = tokio::time::timeout(Duration::from_secs(2), connect)
        .await
        .map_err(|_| "connect timed out".to_string())?
        .map_err(|e| e.to_string())?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: {ip}\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buf))
        .await
        .map_err(|_| "read timed out".to_string())?
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&buf).to_string();
    // A proxy (docker-proxy for published ports) accepts and then closes
    // the connection while nothing listens behind it yet.
    if !text.starts_with("HTTP/") {
        return Err(format!("no HTTP response: {text:?}"));
    }
    Ok(text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or(text))
}

/// `http_get` until it answers, for up to `limit` (a server in a container
/// needs a moment after its task is RUNNING).
pub async fn http_get_eventually(ip: &str, port: u16, path: &str, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    loop {
        match http_get(ip, port, path).await {
            Ok(body) => return body,
            Err(e) if Instant::now() > deadline => {
                panic!("http://{ip}:{port}{path} never answered: {e}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}
