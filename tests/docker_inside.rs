//! Inside the task, on the real engine: awslogs output readable through the
//! Logs API, secrets arriving in the environment, an EFS volume shared by
//! two tasks, and a read-only mount refusing writes.
mod common;
#[path = "common/docker.rs"]
mod docker_common;

use aws_sdk_ecs::types::{
    ContainerDefinition, KeyValuePair, LogConfiguration, LogDriver, MountPoint, Secret,
};
use docker_common::*;
use std::time::{Duration, Instant};

/// A raw CloudWatch Logs / Secrets Manager call (lenient SigV4 accepts any key).
async fn call(
    s: &DockerServer,
    target: &str,
    service: &str,
    body: serde_json::Value,
) -> serde_json::Value {
    let date = ecsbox::auth::sigv4::format_amz_date(std::time::SystemTime::now());
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=AKIDTEST/{}/us-east-1/{service}/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature={}",
        &date[..8],
        "0".repeat(64)
    );
    let r = s
        .server
        .raw(
            "POST",
            "/",
            &[
                ("x-amz-target", target),
                ("content-type", "application/x-amz-json-1.1"),
                ("x-amz-date", &date),
                ("authorization", &auth),
            ],
            body.to_string().as_bytes(),
        )
        .await;
    r.json()
}

fn awslogs(group: &str) -> LogConfiguration {
    LogConfiguration::builder()
        .log_driver(LogDriver::Awslogs)
        .options("awslogs-group", group)
        .options("awslogs-region", "us-east-1")
        .options("awslogs-stream-prefix", "ecs")
        .options("awslogs-create-group", "true")
        .build()
        .unwrap()
}

async fn register_with_role(
    s: &DockerServer,
    family: &str,
    containers: Vec<ContainerDefinition>,
    volumes: Vec<aws_sdk_ecs::types::Volume>,
) {
    s.ecs
        .register_task_definition()
        .family(family)
        .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
        .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .execution_role_arn("arn:aws:iam::000000000000:role/ecsTaskExecutionRole")
        .set_container_definitions(Some(containers))
        .set_volumes(Some(volumes))
        .send()
        .await
        .unwrap_or_else(|e| panic!("register {family}: {e:?}"));
}

async fn log_messages(s: &DockerServer, group: &str, stream: &str) -> Vec<String> {
    let out = call(
        s,
        "Logs_20140328.GetLogEvents",
        "logs",
        serde_json::json!({"logGroupName": group, "logStreamName": stream, "startFromHead": true}),
    )
    .await;
    // Until the task has started, the group or stream may not exist yet.
    out["events"]
        .as_array()
        .map(|events| {
            events
                .iter()
                .map(|e| e["message"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Every line, the last ones before the container exits included, in order,
/// and a secret's value in the environment (written to the log to check it).
#[tokio::test]
async fn awslogs_carries_every_line_and_secrets_reach_the_environment() {
    let s = DockerServer::start().await;
    call(
        &s,
        "secretsmanager.CreateSecret",
        "secretsmanager",
        serde_json::json!({"Name": "db", "SecretString": "{\"password\":\"hunter2\"}"}),
    )
    .await;
    let secret_arn = call(
        &s,
        "secretsmanager.DescribeSecret",
        "secretsmanager",
        serde_json::json!({"SecretId": "db"}),
    )
    .await["ARN"]
        .as_str()
        .unwrap()
        .to_string();
    let app = sh(
        "app",
        "for i in 1 2 3 4 5; do echo line $i; done; echo password=$DB_PASSWORD; echo last",
    )
    .log_configuration(awslogs("/ecs/inside"))
    .secrets(
        Secret::builder()
            .name("DB_PASSWORD")
            .value_from(format!("{secret_arn}:password::"))
            .build()
            .unwrap(),
    )
    .build();
    register_with_role(&s, "logger", vec![app], vec![]).await;
    let arn = s.run_one("logger").await;
    let id = arn.rsplit('/').next().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let lines = log_messages(&s, "/ecs/inside", &format!("ecs/app/{id}")).await;
        if lines.iter().any(|l| l == "last") {
            let numbered: Vec<&String> = lines.iter().filter(|l| l.starts_with("line ")).collect();
            assert_eq!(
                numbered,
                vec!["line 1", "line 2", "line 3", "line 4", "line 5"]
            );
            assert!(lines.contains(&"password=hunter2".to_string()), "{lines:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "log lines never arrived: {lines:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A secret that does not exist stops the task with ECS's wording.
#[tokio::test]
async fn a_missing_secret_fails_the_task() {
    let s = DockerServer::start().await;
    let app = sh("app", "sleep 60")
        .secrets(
            Secret::builder()
                .name("X")
                .value_from("arn:aws:secretsmanager:us-east-1:000000000000:secret:nope-AbCdEf")
                .build()
                .unwrap(),
        )
        .build();
    register_with_role(&s, "nosecret", vec![app], vec![]).await;
    let arn = s.run_one("nosecret").await;
    let t = s
        .wait_for(&arn, "STOPPED", |t| t.last_status() == Some("STOPPED"))
        .await;
    assert!(
        t.stopped_reason()
            .unwrap_or("")
            .starts_with("ResourceInitializationError: unable to pull secrets"),
        "{:?}",
        t.stopped_reason()
    );
}

/// Two tasks mount one EFS file system: what one writes the other reads. A
/// read-only mount refuses writes.
#[tokio::test]
async fn two_tasks_share_an_efs_volume_and_read_only_mounts_refuse_writes() {
    let s = DockerServer::start().await;
    let efs = aws_sdk_ecs::types::Volume::builder()
        .name("shared")
        .efs_volume_configuration(
            aws_sdk_ecs::types::EfsVolumeConfiguration::builder()
                .file_system_id("fs-1234")
                .build()
                .unwrap(),
        )
        .build();
    let mount = |ro: bool| {
        MountPoint::builder()
            .source_volume("shared")
            .container_path("/data")
            .read_only(ro)
            .build()
    };
    let writer = sh("app", "echo hello > /data/greeting && sleep 60")
        .mount_points(mount(false))
        .build();
    register_with_role(&s, "writer", vec![writer], vec![efs.clone()]).await;
    let reader = sh(
        "app",
        "cat /data/greeting; touch /data/x; echo touch=$?; sleep 60",
    )
    .mount_points(mount(true))
    .log_configuration(awslogs("/ecs/reader"))
    .environment(KeyValuePair::builder().name("K").value("v").build())
    .build();
    register_with_role(&s, "reader", vec![reader], vec![efs]).await;
    let w = s.run_one("writer").await;
    s.wait_running(&w).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r = s.run_one("reader").await;
    s.wait_running(&r).await;
    let id = r.rsplit('/').next().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let lines = log_messages(&s, "/ecs/reader", &format!("ecs/app/{id}")).await;
        if lines.iter().any(|l| l.starts_with("touch=")) {
            assert!(lines.contains(&"hello".to_string()), "{lines:?}");
            assert!(
                lines.contains(&"touch=1".to_string()),
                "a read-only mount must refuse writes: {lines:?}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "reader output never arrived: {lines:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A RunTask container reads its own task metadata (v4) and its task-role
/// credentials with busybox wget, through the variables ecsbox injects.
#[tokio::test]
async fn a_task_reads_its_own_metadata_and_credentials() {
    let s = DockerServer::start().await;
    let app = sh(
        "app",
        "wget -qO- $ECS_CONTAINER_METADATA_URI_V4/task; echo; \
         wget -qO- ${AWS_CONTAINER_CREDENTIALS_FULL_URI:-http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI}; echo; \
         echo done",
    )
    .log_configuration(awslogs("/ecs/md"))
    .build();
    s.ecs
        .register_task_definition()
        .family("md")
        .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
        .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .task_role_arn("arn:aws:iam::000000000000:role/app")
        .execution_role_arn("arn:aws:iam::000000000000:role/ecsTaskExecutionRole")
        .container_definitions(app)
        .send()
        .await
        .unwrap();
    let arn = s.run_one("md").await;
    let id = arn.rsplit('/').next().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let lines = log_messages(&s, "/ecs/md", &format!("ecs/app/{id}")).await;
        if lines.iter().any(|l| l == "done") {
            let task = lines
                .iter()
                .find(|l| l.contains("\"TaskARN\""))
                .unwrap_or_else(|| panic!("no task metadata: {lines:?}"));
            let task: serde_json::Value = serde_json::from_str(task).unwrap();
            assert_eq!(task["TaskARN"], arn.as_str());
            assert_eq!(task["Family"], "md");
            assert_eq!(task["Containers"][0]["Name"], "app");
            let creds = lines
                .iter()
                .find(|l| l.contains("\"AccessKeyId\""))
                .unwrap_or_else(|| panic!("no credentials: {lines:?}"));
            let creds: serde_json::Value = serde_json::from_str(creds).unwrap();
            assert_eq!(creds["RoleArn"], "arn:aws:iam::000000000000:role/app");
            assert!(creds["SecretAccessKey"]
                .as_str()
                .is_some_and(|s| !s.is_empty()));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the task's output never arrived: {lines:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
