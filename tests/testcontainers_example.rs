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

/// Cloud Map names resolve inside tasks when ecsbox runs in its image: its
/// DNS server listens on its own container and each task is given ecsbox's
/// address on the task's network (awsvpc and bridge alike), as AWS gives
/// every task the VPC resolver.
#[tokio::test]
async fn cloud_map_names_resolve_inside_tasks_of_the_containerised_ecsbox() {
    use aws_sdk_ecs::types::{
        AwsVpcConfiguration, Compatibility, ContainerDefinition, LaunchType, NetworkConfiguration,
        NetworkMode, ServiceRegistry,
    };
    use serde_json::json;

    let owner = format!("tc-dns-{}", std::process::id());
    let ecsbox = Ecsbox::default()
        .with_setting("ECSBOX_INSTANCE_ID", &owner)
        .with_setting("ECSBOX_CONTAINER_INSTANCES", "1")
        .start()
        .await
        .expect("ecsbox:latest starts");
    let dns = raw_get(ecsbox.endpoint(), "/_ecsbox/dns").await;
    assert!(dns.contains(r#""inOwnContainer":true"#), "{dns}");
    let ecs = ecsbox.client();
    ecs.create_cluster()
        .cluster_name("web")
        .send()
        .await
        .unwrap();

    // Cloud Map: namespace app.local, service api with A records.
    let endpoint = ecsbox.endpoint().to_string();
    let op = cloud_map(
        &endpoint,
        "CreatePrivateDnsNamespace",
        json!({"Name": "app.local", "Vpc": "vpc-0123abcd"}),
    )
    .await;
    let operation = cloud_map(
        &endpoint,
        "GetOperation",
        json!({"OperationId": op["OperationId"]}),
    )
    .await;
    let namespace = operation["Operation"]["Targets"]["NAMESPACE"].clone();
    let service = cloud_map(
        &endpoint,
        "CreateService",
        json!({"Name": "api", "NamespaceId": namespace,
               "DnsConfig": {"DnsRecords": [{"Type": "A", "TTL": 1}]}}),
    )
    .await;
    let registry_arn = service["Service"]["Arn"].as_str().unwrap().to_string();

    let sh = |name: &str, script: &str| {
        ContainerDefinition::builder()
            .name(name)
            .image("ecsbox-test/busybox:latest")
            .essential(true)
            .set_command(Some(vec!["sh".into(), "-c".into(), script.into()]))
            .build()
    };
    ecs.register_task_definition()
        .family("api")
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .container_definitions(sh(
            "api",
            "echo api-page > /index.html && exec httpd -f -p 8080 -h /",
        ))
        .send()
        .await
        .unwrap();
    let network = || {
        NetworkConfiguration::builder()
            .awsvpc_configuration(
                AwsVpcConfiguration::builder()
                    .subnets("subnet-0123abcd")
                    .build()
                    .unwrap(),
            )
            .build()
    };
    ecs.create_service()
        .cluster("web")
        .service_name("api")
        .task_definition("api")
        .desired_count(1)
        .launch_type(LaunchType::Fargate)
        .network_configuration(network())
        .service_registries(
            ServiceRegistry::builder()
                .registry_arn(&registry_arn)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let api_task = loop {
        let listed = ecs
            .list_tasks()
            .cluster("web")
            .service_name("api")
            .send()
            .await
            .unwrap();
        if let Some(arn) = listed.task_arns().first() {
            break arn.clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let api_ip = wait_for_running_task_ip(&ecs, &api_task).await;

    // An awsvpc client fetches the page by name; a bridge client (another
    // network, ecsbox's address there) resolves the name to the same IP.
    // Each polls until the registration is there, then exits 0.
    ecs.register_task_definition()
        .family("awsvpc-client")
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .container_definitions(sh(
            "client",
            "for i in $(seq 1 100); do wget -qO- http://api.app.local:8080/ | grep -q api-page && exit 0; sleep 0.2; done; exit 1",
        ))
        .send()
        .await
        .unwrap();
    ecs.register_task_definition()
        .family("bridge-client")
        .network_mode(NetworkMode::Bridge)
        .requires_compatibilities(Compatibility::Ec2)
        .memory("128")
        .container_definitions(sh(
            "client",
            &format!(
                "for i in $(seq 1 100); do nslookup api.app.local | grep -q '{api_ip}' && exit 0; sleep 0.2; done; nslookup api.app.local; exit 1"
            ),
        ))
        .send()
        .await
        .unwrap();
    let awsvpc_client = ecs
        .run_task()
        .cluster("web")
        .task_definition("awsvpc-client")
        .launch_type(LaunchType::Fargate)
        .network_configuration(network())
        .send()
        .await
        .unwrap();
    let bridge_client = ecs
        .run_task()
        .cluster("web")
        .task_definition("bridge-client")
        .launch_type(LaunchType::Ec2)
        .send()
        .await
        .unwrap();
    for (what, run) in [("awsvpc", awsvpc_client), ("bridge", bridge_client)] {
        let arn = run.tasks()[0].task_arn().unwrap().to_string();
        let exit = wait_for_exit_code(&ecs, &arn).await;
        assert_eq!(
            exit,
            Some(0),
            "the {what} client did not reach api.app.local"
        );
    }
    ecsbox.stop().await.expect("ecsbox stops on SIGTERM");
}

/// One Cloud Map (AWS JSON 1.1) call to the containerised ecsbox, with a
/// SigV4 header of the shape its default (lenient) checking accepts.
async fn cloud_map(endpoint: &str, op: &str, body: serde_json::Value) -> serde_json::Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = endpoint.trim_start_matches("http://");
    let date = ecsbox::auth::sigv4::format_amz_date(std::time::SystemTime::now());
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=AKIDTEST/{}/us-east-1/servicediscovery/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature={}",
        &date[..8],
        "0".repeat(64)
    );
    let body = body.to_string();
    let request = format!(
        "POST / HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-type: application/x-amz-json-1.1\r\n\
         x-amz-target: Route53AutoNaming_v20170314.{op}\r\nx-amz-date: {date}\r\nauthorization: {auth}\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to ecsbox");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{op}: {response}");
    let json = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{op}: {e}: {response}"))
}

/// Polls DescribeTasks until the task is STOPPED; its container's exit code.
async fn wait_for_exit_code(ecs: &aws_sdk_ecs::Client, task_arn: &str) -> Option<i32> {
    let task = wait_for_status(ecs, task_arn, "STOPPED", 90).await;
    task.containers()[0].exit_code()
}

/// Polls DescribeTasks until the task is RUNNING; its awsvpc address.
async fn wait_for_running_task_ip(ecs: &aws_sdk_ecs::Client, task_arn: &str) -> String {
    let task = wait_for_status(ecs, task_arn, "RUNNING", 60).await;
    let details = task.attachments()[0].details();
    let ip = details
        .iter()
        .find(|d| d.name() == Some("privateIPv4Address"))
        .and_then(|d| d.value());
    ip.expect("an awsvpc task has an address").to_string()
}

/// Polls DescribeTasks (cluster `web`) until the task's lastStatus is
/// `status`, for at most `seconds`; a task that stops first fails the test.
async fn wait_for_status(
    ecs: &aws_sdk_ecs::Client,
    task_arn: &str,
    status: &str,
    seconds: u64,
) -> aws_sdk_ecs::types::Task {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    loop {
        let described = ecs
            .describe_tasks()
            .cluster("web")
            .tasks(task_arn)
            .send()
            .await
            .unwrap();
        let task = described.tasks()[0].clone();
        match task.last_status() {
            Some(s) if s == status => return task,
            Some("STOPPED") => panic!("the task stopped: {:?}", task.stopped_reason()),
            _ => assert!(
                std::time::Instant::now() < deadline,
                "the task is not {status} after {seconds}s: {task:?}"
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
