//! The testcontainers module as a user's integration test would use it:
//! start the ecsbox image, point the real `aws-sdk-ecs` at it, create a
//! cluster and list it.
//!
//! Needs a Docker engine, the image (`scripts/build-image.sh`) and, for the
//! task, the busybox test image (`scripts/build-test-images.sh`); runs with
//! `cargo test --features testcontainers --test testcontainers_example`
//! (scripts/test.sh does all of it).

mod common;
#[path = "common/docker.rs"]
mod docker_common;

use ecsbox::testcontainers::Ecsbox;

#[tokio::test]
async fn a_test_gets_its_own_ecsbox_and_a_ready_sdk_config() {
    let ecsbox = Ecsbox::default()
        .start()
        .await
        .expect("ecsbox:latest starts (build it with scripts/build-image.sh)");
    let ecs = aws_sdk_ecs::Client::from_conf(ecsbox.sdk_config());

    let created = ecs
        .create_cluster()
        .cluster_name("ci")
        .send()
        .await
        .expect("CreateCluster");
    let arn = created
        .cluster()
        .and_then(|c| c.cluster_arn())
        .expect("a cluster ARN")
        .to_string();
    assert_eq!(arn, "arn:aws:ecs:us-east-1:000000000000:cluster/ci");

    let listed = ecs.list_clusters().send().await.expect("ListClusters");
    assert_eq!(listed.cluster_arns(), [arn]);

    // The health endpoint answers on the same address, for clients that
    // wait on it instead of the startup line.
    let health = raw_get(ecsbox.endpoint(), "/_ecsbox/health").await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.contains(r#""status":"running""#), "{health}");

    ecsbox.stop().await.expect("ecsbox stops on SIGTERM");
}

#[tokio::test]
async fn settings_reach_the_containerised_ecsbox() {
    // Strict SigV4 with one key: the SDK signing with it succeeds, another
    // key is refused, as AWS refuses an unknown access key id.
    let ecsbox = Ecsbox::default()
        .with_setting("ECSBOX_SIGV4", "strict")
        .with_setting("ECSBOX_CREDENTIALS", "AKIDCI:cisecret")
        .start()
        .await
        .expect("ecsbox:latest starts");
    let known =
        aws_sdk_ecs::Client::from_conf(ecsbox.sdk_config_as("AKIDCI", "cisecret", "eu-west-1"));
    known
        .list_clusters()
        .send()
        .await
        .expect("the configured key is accepted");

    let unknown = aws_sdk_ecs::Client::from_conf(ecsbox.sdk_config());
    let err = unknown
        .list_clusters()
        .send()
        .await
        .expect_err("an unknown key is refused");
    let code = err
        .as_service_error()
        .and_then(aws_sdk_ecs::error::ProvideErrorMetadata::code)
        .map(str::to_string);
    assert_eq!(
        code.as_deref(),
        Some("UnrecognizedClientException"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_task_runs_beside_the_container_and_goes_with_it() {
    use aws_sdk_ecs::types::{
        AwsVpcConfiguration, Compatibility, ContainerDefinition, LaunchType, NetworkConfiguration,
        NetworkMode,
    };
    use ecsbox::runtime::{docker::DockerRuntime, ContainerRuntime, LabelFilter, OWNER_LABEL};

    let owner = format!("tc-example-{}", std::process::id());
    let ecsbox = Ecsbox::default()
        .with_setting("ECSBOX_INSTANCE_ID", &owner)
        .start()
        .await
        .expect("ecsbox:latest starts");
    let ecs = ecsbox.client();
    ecs.create_cluster()
        .cluster_name("web")
        .send()
        .await
        .unwrap();
    // fixtures/task-definitions/web.json: busybox httpd on 8080, Fargate.
    let web = ContainerDefinition::builder()
        .name("web")
        .image("ecsbox-test/busybox:latest")
        .essential(true)
        .set_command(Some(vec![
            "sh".into(),
            "-c".into(),
            "echo hello > /index.html && exec httpd -f -p 8080 -h /".into(),
        ]))
        .build();
    ecs.register_task_definition()
        .family("web")
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .container_definitions(web)
        .send()
        .await
        .unwrap();
    let vpc = AwsVpcConfiguration::builder()
        .subnets("subnet-0123abcd")
        .build()
        .unwrap();
    let run = ecs
        .run_task()
        .cluster("web")
        .task_definition("web")
        .launch_type(LaunchType::Fargate)
        .network_configuration(
            NetworkConfiguration::builder()
                .awsvpc_configuration(vpc)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let task_arn = run.tasks()[0].task_arn().unwrap().to_string();

    // The containerised ecsbox runs the task on the host's engine: its ENI
    // address answers from here. RUNNING means the container has started,
    // not that httpd is listening yet (AWS says the same), so the first
    // connections may be refused for a moment.
    let ip = wait_for_running_task_ip(&ecs, &task_arn).await;
    let page = docker_common::http_get_eventually(
        &ip,
        8080,
        "/index.html",
        std::time::Duration::from_secs(10),
    )
    .await;
    assert!(page.ends_with("hello\n"), "{page}");

    // Dropping the handle stops ecsbox with SIGTERM, and it removes what it ran.
    drop(ecsbox);
    let engine = DockerRuntime::connect()
        .await
        .expect("the test's Docker engine");
    let left = engine
        .list_containers(&[LabelFilter::equals(OWNER_LABEL, owner.clone())])
        .await
        .unwrap();
    assert!(
        left.is_empty(),
        "containers of {owner} left behind: {left:?}"
    );
}

/// Polls DescribeTasks until the task is RUNNING; its awsvpc address.
async fn wait_for_running_task_ip(ecs: &aws_sdk_ecs::Client, task_arn: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let described = ecs
            .describe_tasks()
            .cluster("web")
            .tasks(task_arn)
            .send()
            .await
            .unwrap();
        let task = &described.tasks()[0];
        match task.last_status() {
            Some("RUNNING") => {
                let details = task.attachments()[0].details();
                let ip = details
                    .iter()
                    .find(|d| d.name() == Some("privateIPv4Address"))
                    .and_then(|d| d.value());
                return ip.expect("an awsvpc task has an address").to_string();
            }
            Some("STOPPED") => panic!("the task stopped: {:?}", task.stopped_reason()),
            _ => assert!(
                std::time::Instant::now() < deadline,
                "the task is not RUNNING after 60s: {task:?}"
            ),
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// One GET over a plain TCP connection: the response as text.
async fn raw_get(endpoint: &str, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = endpoint.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to ecsbox");
    let request = format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}
