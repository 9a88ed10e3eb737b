//! The pipeline every ECS user has, end to end on the real Docker engine:
//! build an image, create an ECR repository, `docker login` with
//! GetAuthorizationToken's password, `docker push` to the repository's URI,
//! run a task from the AWS-form ECR URI (the engine pulls it from ecsbox's
//! registry; the container runs it and reports the pushed digest), push a
//! second tag and deploy it to a service, delete an image and see a new
//! task fail with ECS's reason.
//!
//! The docker CLI runs with a Docker config directory of the test's own
//! (never the user's ~/.docker), and a guard removes every image the test
//! made or pulled, failed or not.
mod common;
#[path = "common/docker.rs"]
mod docker_common;

use aws_sdk_ecs::types::{Compatibility, ContainerDefinition, LaunchType, NetworkMode};
use base64::Engine as _;
use docker_common::*;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const ECR: &str = "AmazonEC2ContainerRegistry_V20150921";
const ACCOUNT: &str = "000000000000";
const EXECUTION_ROLE: &str = "arn:aws:iam::000000000000:role/ecsTaskExecutionRole";

/// The test's docker CLI: its own config directory, and every image it
/// made, tagged or pulled removed on drop.
struct DockerCli {
    config: PathBuf,
    images: std::sync::Mutex<Vec<String>>,
}

impl DockerCli {
    fn new() -> Self {
        let config = std::env::temp_dir().join(format!("ecsbox-ecr-test-{}", new_instance_id()));
        std::fs::create_dir_all(&config).unwrap();
        DockerCli {
            config,
            images: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Runs `docker args...` (stdin `input`), off the async threads so the
    /// in-process server answers meanwhile; panics with its output on failure.
    async fn run(&self, args: &[&str], input: Option<&str>) -> String {
        let out = self.try_run(args, input).await;
        assert!(
            out.status.success(),
            "docker {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    async fn try_run(&self, args: &[&str], input: Option<&str>) -> std::process::Output {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let input = input.map(str::to_string);
        let config = self.config.clone();
        tokio::task::spawn_blocking(move || {
            use std::io::Write;
            let mut child = std::process::Command::new("docker")
                .args(&args)
                .env("DOCKER_CONFIG", &config)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("run docker");
            let mut stdin = child.stdin.take().unwrap();
            if let Some(input) = input {
                stdin.write_all(input.as_bytes()).unwrap();
            }
            drop(stdin);
            child.wait_with_output().unwrap()
        })
        .await
        .unwrap()
    }

    /// Builds an image over the test image holding `/version` = `version`;
    /// returns its tag.
    async fn build(&self, version: &str) -> String {
        let context = self.config.join(format!("build-{version}"));
        std::fs::create_dir_all(&context).unwrap();
        std::fs::write(context.join("version"), format!("{version}\n")).unwrap();
        std::fs::write(
            context.join("Dockerfile"),
            format!("FROM {BUSYBOX}\nCOPY version /version\n"),
        )
        .unwrap();
        let tag = format!("ecsbox-ecr-test/{}:{version}", new_instance_id());
        self.run(
            &["build", "-q", "-t", &tag, context.to_str().unwrap()],
            None,
        )
        .await;
        self.remember(&tag);
        tag
    }

    fn remember(&self, image: &str) {
        self.images.lock().unwrap().push(image.to_string());
    }
}

impl Drop for DockerCli {
    fn drop(&mut self) {
        for image in self.images.lock().unwrap().iter().rev() {
            let _ = std::process::Command::new("docker")
                .args(["rmi", "-f", image])
                .output();
        }
        let _ = std::fs::remove_dir_all(&self.config);
    }
}

async fn ecr(s: &DockerServer, operation: &str, body: serde_json::Value) -> serde_json::Value {
    let r = s
        .server
        .aws_json("ecr", &format!("{ECR}.{operation}"), body)
        .await;
    let json = r.json();
    assert_eq!(r.status, 200, "{operation}: {json}");
    json
}

/// Logs the CLI in with GetAuthorizationToken's password, as the AWS docs'
/// `aws ecr get-login-password | docker login --username AWS
/// --password-stdin <proxyEndpoint>` does.
async fn login(s: &DockerServer, cli: &DockerCli) {
    let data = ecr(s, "GetAuthorizationToken", serde_json::json!({})).await;
    let data = &data["authorizationData"][0];
    let token = base64::engine::general_purpose::STANDARD
        .decode(data["authorizationToken"].as_str().unwrap())
        .unwrap();
    let token = String::from_utf8(token).unwrap();
    let (user, password) = token.split_once(':').unwrap();
    assert_eq!(user, "AWS");
    let endpoint = data["proxyEndpoint"].as_str().unwrap();
    cli.run(
        &["login", "--username", user, "--password-stdin", endpoint],
        Some(password),
    )
    .await;
}

/// Pushes `image` as `uri:tag`; returns the digest the push reported.
async fn push(cli: &DockerCli, image: &str, uri: &str, tag: &str) -> String {
    let target = format!("{uri}:{tag}");
    cli.run(&["tag", image, &target], None).await;
    cli.remember(&target);
    let out = cli.run(&["push", &target], None).await;
    // "v1: digest: sha256:... size: 738"
    let digest = out
        .split_whitespace()
        .skip_while(|w| *w != "digest:")
        .nth(1)
        .unwrap_or_else(|| panic!("no digest in the push output: {out}"));
    digest.to_string()
}

async fn register(s: &DockerServer, family: &str, image: &str) {
    s.ecs
        .register_task_definition()
        .family(family)
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .execution_role_arn(EXECUTION_ROLE)
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image(image)
                .essential(true)
                .command("sh")
                .command("-c")
                .command("cat /version; exec sleep 3600")
                .build(),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("register {family}: {e:?}"));
}

/// The digests of the service's RUNNING tasks' app containers.
async fn running_digests(s: &DockerServer, service: &str) -> Vec<String> {
    let arns = s
        .ecs
        .list_tasks()
        .cluster(CLUSTER)
        .service_name(service)
        .send()
        .await
        .unwrap();
    if arns.task_arns().is_empty() {
        return Vec::new();
    }
    let tasks = s
        .ecs
        .describe_tasks()
        .cluster(CLUSTER)
        .set_tasks(Some(arns.task_arns().to_vec()))
        .send()
        .await
        .unwrap();
    tasks
        .tasks()
        .iter()
        .filter(|t| t.last_status() == Some("RUNNING"))
        .filter_map(|t| t.containers()[0].image_digest().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn push_with_the_docker_cli_then_run_and_deploy_from_the_ecr_uri() {
    // Declared first, dropped last: the server's guard removes the task
    // containers before the CLI's drop removes the images they ran.
    let cli = DockerCli::new();
    let s = DockerServer::start().await;
    let repo = ecr(
        &s,
        "CreateRepository",
        serde_json::json!({"repositoryName": "team/web"}),
    )
    .await;
    let uri = repo["repository"]["repositoryUri"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(uri.starts_with("localhost:"), "{uri}");
    login(&s, &cli).await;

    // Push v1; the repository describes it with the digest Docker reported.
    let v1_image = cli.build("v1").await;
    let v1 = push(&cli, &v1_image, &uri, "v1").await;
    let described = ecr(
        &s,
        "DescribeImages",
        serde_json::json!({"repositoryName": "team/web"}),
    )
    .await;
    let details = described["imageDetails"].as_array().unwrap();
    assert_eq!(details.len(), 1, "{described}");
    assert_eq!(details[0]["imageDigest"], v1.as_str());
    assert_eq!(details[0]["imageTags"], serde_json::json!(["v1"]));
    assert!(details[0]["imageSizeInBytes"].as_i64().unwrap() > 0);

    // Nothing of v1 left on the engine: the task's image must come from the
    // registry.
    cli.run(&["rmi", &format!("{uri}:v1"), &v1_image], None)
        .await;
    let aws_uri = format!("{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/team/web");
    register(&s, "web", &format!("{aws_uri}:v1")).await;
    let arn = s.run_one("web").await;
    let task = s.wait_running(&arn).await;
    assert_eq!(task.containers()[0].image_digest(), Some(v1.as_str()));
    let id = runtime_id(&task, "app");
    let deadline = Instant::now() + Duration::from_secs(15);
    while !s.log_lines(&id).await.iter().any(|l| l == "v1") {
        assert!(Instant::now() < deadline, "the container never printed v1");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pulled = docker_inspect(&id).await["Image"]
        .as_str()
        .unwrap()
        .to_string();
    cli.remember(&pulled);
    s.ecs
        .stop_task()
        .cluster(CLUSTER)
        .task(&arn)
        .send()
        .await
        .unwrap();

    // A service on v1, then a deployment of the pushed v2.
    let v2_image = cli.build("v2").await;
    let v2 = push(&cli, &v2_image, &uri, "v2").await;
    assert_ne!(v1, v2);
    s.ecs
        .create_service()
        .cluster(CLUSTER)
        .service_name("web")
        .task_definition("web")
        .desired_count(1)
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc())
        .send()
        .await
        .unwrap();
    register(&s, "web", &format!("{aws_uri}:v2")).await;
    s.ecs
        .update_service()
        .cluster(CLUSTER)
        .service("web")
        .task_definition("web")
        .send()
        .await
        .unwrap();
    let deadline = Instant::now() + DEADLINE;
    loop {
        let digests = running_digests(&s, "web").await;
        if digests == vec![v2.clone()] {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the service never ran v2 alone: {digests:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // v2 deleted from the repository: a new task of it fails as ECS says.
    let deleted = ecr(
        &s,
        "BatchDeleteImage",
        serde_json::json!({"repositoryName": "team/web", "imageIds": [{"imageTag": "v2"}]}),
    )
    .await;
    assert_eq!(deleted["failures"], serde_json::json!([]), "{deleted}");
    let arn = s.run_one("web").await;
    let task = s.wait_status(&arn, "STOPPED").await;
    assert_eq!(
        task.containers()[0].reason(),
        Some(
            format!(
                "CannotPullContainerError: Error response from daemon: manifest for {aws_uri}:v2 \
                 not found: manifest unknown: Requested image not found"
            )
            .as_str()
        )
    );
    // The images the engine pulled by digest go with the guard.
    for digest in [&v1, &v2] {
        cli.remember(&format!("{uri}@{digest}"));
    }
}
