//! The task metadata (v3, v4) and credentials endpoints over HTTP, for tasks
//! run through the real API on the in-memory fake runtime. The endpoints
//! are served on 127.0.0.1:0 here; `docker_metadata.rs` fetches them from
//! inside real containers.
//!
//! Field names and shapes follow the AWS documentation's examples ("Amazon
//! ECS task metadata v4 examples") and the ECS agent's response types.
mod common;

use aws_sdk_ecs::types::{
    AwsVpcConfiguration, Compatibility, ContainerDefinition, HealthCheck, KeyValuePair, LaunchType,
    LogConfiguration, LogDriver, NetworkConfiguration, NetworkMode, PortMapping, Tag, TaskOverride,
    TransportProtocol,
};
use common::TestServer;
use ecsbox::config::{Config, TaskEndpoints};
use ecsbox::metadata::{ContainerToken, Endpoints};
use ecsbox::runtime::fake::FakeRuntime;
use ecsbox::runtime::timestamp::parse_docker_time;
use ecsbox::runtime::ContainerRuntime;
use ecsbox::state::tasks::TaskRecord;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ACCOUNT: &str = "000000000000";
const REGION: &str = "us-east-1";
const ROLE: &str = "arn:aws:iam::000000000000:role/app-role";

type Ecs = aws_sdk_ecs::Client;

struct Setup {
    server: TestServer,
    fake: Arc<FakeRuntime>,
    ecs: Ecs,
    endpoints: Endpoints,
}

async fn setup_with(config: Config) -> Setup {
    let fake = Arc::new(FakeRuntime::new());
    fake.add_image("app:1");
    let server = TestServer::start_on(config.clone(), fake.clone()).await;
    let ecs = server.client();
    let endpoints = Endpoints::new(&config, server.app.store.clone(), fake.clone());
    endpoints.serve(None);
    Setup {
        server,
        fake,
        ecs,
        endpoints,
    }
}

async fn setup() -> Setup {
    setup_with(Config::for_tests()).await
}

impl Drop for Setup {
    fn drop(&mut self) {
        self.endpoints.shutdown();
    }
}

impl Setup {
    fn record(&self, task_arn: &str) -> TaskRecord {
        let region = self.server.app.store.region(ACCOUNT, REGION);
        let state = region.lock();
        state
            .tasks
            .get(task_arn)
            .expect("the task is in the store")
            .clone()
    }

    /// What the controller does for each container: a token, and the
    /// variables that go into its environment.
    fn register(&self, task_arn: &str, container: &str) -> (ContainerToken, Vec<(String, String)>) {
        let token = self
            .endpoints
            .register_container(ACCOUNT, REGION, task_arn, container);
        let record = self.record(task_arn);
        let def = record
            .definition
            .container_definitions
            .iter()
            .flatten()
            .find(|c| c.name.as_deref() == Some(container))
            .unwrap()
            .clone();
        let env = self.endpoints.container_env(&token, &record, &def);
        (token, env)
    }

    /// GET on the endpoints' listener: (status, content type, body).
    async fn get(&self, path: &str) -> (u16, String, String) {
        http_get(self.endpoints.address().unwrap(), path).await
    }

    async fn get_json(&self, path: &str) -> Value {
        let (status, content_type, body) = self.get(path).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(content_type, "application/json");
        serde_json::from_str(&body).unwrap()
    }
}

async fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type: ")
                .map(str::to_string)
        })
        .unwrap_or_default();
    (status, content_type, body.to_string())
}

fn env<'a>(vars: &'a [(String, String)], name: &str) -> Option<&'a str> {
    vars.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The path part of a URI the endpoints handed out.
fn path_of(uri: &str) -> String {
    let rest = uri.strip_prefix("http://").unwrap();
    rest[rest.find('/').unwrap()..].to_string()
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

fn timestamp(v: &Value) -> SystemTime {
    parse_docker_time(v.as_str().unwrap_or_else(|| panic!("not a time: {v}")))
        .unwrap_or_else(|| panic!("not RFC 3339: {v}"))
}

async fn register_fargate(ecs: &Ecs, family: &str, role: Option<&str>) {
    let app = ContainerDefinition::builder()
        .name("app")
        .image("app:1")
        .cpu(128)
        .memory(256)
        .port_mappings(
            PortMapping::builder()
                .container_port(8080)
                .protocol(TransportProtocol::Tcp)
                .build(),
        )
        .log_configuration(
            LogConfiguration::builder()
                .log_driver(LogDriver::Awslogs)
                .options("awslogs-group", "/ecs/web")
                .options("awslogs-region", REGION)
                .options("awslogs-stream-prefix", "ecs")
                .options("awslogs-create-group", "true")
                .build()
                .unwrap(),
        )
        .health_check(
            HealthCheck::builder()
                .command("CMD-SHELL")
                .command("true")
                .build()
                .unwrap(),
        )
        .build();
    let sidecar = ContainerDefinition::builder()
        .name("sidecar")
        .image("app:1")
        .essential(false)
        .environment(
            KeyValuePair::builder()
                .name("AWS_REGION")
                .value("eu-west-1")
                .build(),
        )
        .build();
    ecs.register_task_definition()
        .family(family)
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .set_task_role_arn(role.map(str::to_string))
        .execution_role_arn("arn:aws:iam::000000000000:role/execution")
        .container_definitions(app)
        .container_definitions(sidecar)
        .send()
        .await
        .unwrap();
}

async fn run_fargate(ecs: &Ecs, family: &str, overrides: Option<TaskOverride>) -> String {
    let network = NetworkConfiguration::builder()
        .awsvpc_configuration(
            AwsVpcConfiguration::builder()
                .subnets("subnet-0123abcd")
                .build()
                .unwrap(),
        )
        .build();
    let out = ecs
        .run_task()
        .cluster("c")
        .task_definition(family)
        .launch_type(LaunchType::Fargate)
        .network_configuration(network)
        .tags(tag("team", "payments"))
        .set_overrides(overrides)
        .send()
        .await
        .unwrap();
    out.tasks()[0].task_arn().unwrap().to_string()
}

async fn wait_running(ecs: &Ecs, cluster: &str, arn: &str) -> aws_sdk_ecs::types::Task {
    for _ in 0..250 {
        let d = ecs
            .describe_tasks()
            .cluster(cluster)
            .tasks(arn)
            .send()
            .await
            .unwrap();
        let t = d.tasks()[0].clone();
        if t.last_status() == Some("RUNNING") {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("task {arn} never ran");
}

async fn fargate_task(s: &Setup, family: &str) -> aws_sdk_ecs::types::Task {
    s.ecs
        .create_cluster()
        .cluster_name("c")
        .send()
        .await
        .unwrap();
    register_fargate(&s.ecs, family, Some(ROLE)).await;
    let arn = run_fargate(&s.ecs, family, None).await;
    wait_running(&s.ecs, "c", &arn).await
}

#[tokio::test]
async fn a_container_reads_its_own_v4_metadata() {
    let s = setup().await;
    let task = fargate_task(&s, "web").await;
    let arn = task.task_arn().unwrap();
    let described = task
        .containers()
        .iter()
        .find(|c| c.name() == Some("app"))
        .unwrap();
    let (_, vars) = s.register(arn, "app");
    let uri = env(&vars, "ECS_CONTAINER_METADATA_URI_V4").unwrap();
    assert_eq!(
        uri,
        format!(
            "{}/v4/{}",
            s.endpoints.base_url().unwrap(),
            path_of(uri).trim_start_matches("/v4/")
        )
    );

    let c = s.get_json(&path_of(uri)).await;
    assert_eq!(c["DockerId"], described.runtime_id().unwrap());
    assert_eq!(c["Name"], "app");
    assert!(
        c["DockerName"]
            .as_str()
            .unwrap()
            .starts_with("ecs-web-1-app-"),
        "{c}"
    );
    assert_eq!(c["Image"], "app:1");
    assert!(c["ImageID"].as_str().unwrap().starts_with("sha256:"), "{c}");
    assert_eq!(c["Labels"]["com.amazonaws.ecs.task-arn"], arn);
    assert_eq!(c["Labels"]["com.amazonaws.ecs.container-name"], "app");
    assert_eq!(
        c["Labels"]["com.amazonaws.ecs.task-definition-family"],
        "web"
    );
    assert_eq!(
        c["Labels"]["com.amazonaws.ecs.task-definition-version"],
        "1"
    );
    assert!(
        c["Labels"]
            .as_object()
            .unwrap()
            .keys()
            .all(|k| !k.starts_with("ecsbox.")),
        "emulator labels leak: {c}"
    );
    assert_eq!(c["DesiredStatus"], "RUNNING");
    assert_eq!(c["KnownStatus"], "RUNNING");
    assert_eq!(c["Limits"], serde_json::json!({"CPU": 128, "Memory": 256}));
    assert!(timestamp(&c["CreatedAt"]) <= timestamp(&c["StartedAt"]));
    assert_eq!(c["Type"], "NORMAL");
    assert_eq!(c["LogDriver"], "awslogs");
    assert_eq!(c["LogOptions"]["awslogs-group"], "/ecs/web");
    assert_eq!(c["LogOptions"]["awslogs-create-group"], "true");
    assert_eq!(c["ContainerARN"], described.container_arn().unwrap());
    assert_eq!(
        c["Ports"],
        serde_json::json!([{"ContainerPort": 8080, "Protocol": "tcp", "HostPort": 8080}])
    );
    assert_eq!(
        c["Health"]["status"], "UNKNOWN",
        "the check has not passed yet: {c}"
    );
    assert!(c.get("ExitCode").is_none() && c.get("FinishedAt").is_none());

    // The ENI: the address the task's network namespace has on the engine.
    let record = s.record(arn);
    let owner = record
        .runtime
        .namespace_holder
        .clone()
        .unwrap_or_else(|| described.runtime_id().unwrap().to_string());
    let owner = s.fake.inspect_container(&owner).await.unwrap();
    let endpoint = owner
        .networks
        .values()
        .next()
        .expect("the namespace is on the awsvpc network")
        .clone();
    let ip = endpoint.ip_address.clone().unwrap();
    let net = &c["Networks"][0];
    assert_eq!(net["NetworkMode"], "awsvpc");
    assert_eq!(net["IPv4Addresses"], serde_json::json!([ip]));
    assert_eq!(net["AttachmentIndex"], 0);
    assert_eq!(net["MACAddress"], endpoint.mac_address.clone().unwrap());
    assert_eq!(
        net["PrivateDNSName"],
        format!("ip-{}.ec2.internal", ip.replace('.', "-"))
    );
    let prefix = endpoint.ip_prefix_len.unwrap();
    let cidr = net["IPv4SubnetCIDRBlock"].as_str().unwrap();
    assert!(cidr.ends_with(&format!(".0/{prefix}")), "{net}");
    assert_eq!(
        net["SubnetGatewayIpv4Address"],
        format!("{}/{prefix}", endpoint.gateway.unwrap())
    );
    assert_eq!(c["Networks"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_one_container_awsvpc_task_has_its_containers_address() {
    let s = setup().await;
    s.ecs
        .create_cluster()
        .cluster_name("c")
        .send()
        .await
        .unwrap();
    s.ecs
        .register_task_definition()
        .family("solo")
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(Compatibility::Fargate)
        .cpu("512")
        .memory("1024")
        .container_definitions(
            ContainerDefinition::builder()
                .name("only")
                .image("app:1")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let arn = run_fargate(&s.ecs, "solo", None).await;
    let task = wait_running(&s.ecs, "c", &arn).await;
    let id = task.containers()[0].runtime_id().unwrap();
    // Without a namespace holder the container itself is on the network.
    let own = s.fake.inspect_container(id).await.unwrap();
    let ip = own
        .networks
        .values()
        .next()
        .and_then(|e| e.ip_address.clone())
        .expect("the container is on the awsvpc network");
    let (_, vars) = s.register(&arn, "only");
    let c = s
        .get_json(&path_of(
            env(&vars, "ECS_CONTAINER_METADATA_URI_V4").unwrap(),
        ))
        .await;
    assert_eq!(c["Networks"][0]["NetworkMode"], "awsvpc");
    assert_eq!(c["Networks"][0]["IPv4Addresses"], serde_json::json!([ip]));
    let t = s
        .get_json(&format!(
            "{}/task",
            path_of(env(&vars, "ECS_CONTAINER_METADATA_URI_V4").unwrap())
        ))
        .await;
    assert_eq!(t["Limits"], serde_json::json!({"CPU": 0.5, "Memory": 1024}));
}

#[tokio::test]
async fn the_task_endpoint_describes_the_whole_task() {
    let s = setup().await;
    let task = fargate_task(&s, "web").await;
    let arn = task.task_arn().unwrap();
    let (_, vars) = s.register(arn, "sidecar");
    let base = path_of(env(&vars, "ECS_CONTAINER_METADATA_URI_V4").unwrap());

    let t = s.get_json(&format!("{base}/task")).await;
    // Fargate names the cluster by its ARN.
    assert_eq!(
        t["Cluster"],
        format!("arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/c")
    );
    assert_eq!(t["TaskARN"], arn);
    assert_eq!(t["Family"], "web");
    assert_eq!(t["Revision"], "1");
    assert_eq!(t["DesiredStatus"], "RUNNING");
    assert_eq!(t["KnownStatus"], "RUNNING");
    assert_eq!(t["Limits"], serde_json::json!({"CPU": 0.25, "Memory": 512}));
    assert!(timestamp(&t["PullStartedAt"]) <= timestamp(&t["PullStoppedAt"]));
    assert_eq!(t["AvailabilityZone"], task.availability_zone().unwrap());
    assert_eq!(t["LaunchType"], "FARGATE");
    assert_eq!(
        t["ClockDrift"]["ClockSynchronizationStatus"],
        "SYNCHRONIZED"
    );
    timestamp(&t["ClockDrift"]["ReferenceTimestamp"]);
    assert_eq!(t["EphemeralStorageMetrics"]["Reserved"], 20 * 1024);
    assert_eq!(t["FaultInjectionEnabled"], false);
    assert!(
        t.get("TaskTags").is_none() && t.get("ServiceName").is_none(),
        "{t}"
    );
    let names: Vec<&str> = t["Containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["app", "sidecar"]);
    for c in t["Containers"].as_array().unwrap() {
        let described = task
            .containers()
            .iter()
            .find(|d| d.name() == c["Name"].as_str())
            .unwrap();
        assert_eq!(c["DockerId"], described.runtime_id().unwrap());
        assert_eq!(c["Networks"][0]["NetworkMode"], "awsvpc");
    }

    let tagged = s.get_json(&format!("{base}/taskWithTags")).await;
    assert_eq!(tagged["TaskTags"], serde_json::json!({"team": "payments"}));
    assert!(
        tagged.get("ContainerInstanceTags").is_none(),
        "Fargate has no instance: {tagged}"
    );
}

/// The pause container's shapes follow the ECS agent: its
/// misc/v3-task-endpoint-validator (an awsvpc task lists two containers,
/// one named `~internal~ecs~pause`), agent/api/task/task.go (Type
/// CNI_PAUSE) and AWS's metadata examples (KnownStatus and DesiredStatus
/// RESOURCES_PROVISIONED, Image amazon/amazon-ecs-pause:0.1.0). A container
/// cpu below 2 is 2 on EC2: the agent's `minimumCPUUnit`
/// (agent/handlers/v2/response.go).
#[tokio::test]
async fn an_ec2_awsvpc_task_lists_its_pause_container() {
    let s = setup().await;
    s.ecs
        .create_cluster()
        .cluster_name("ec2")
        .tags(tag("ecsbox:container-instances", "1"))
        .send()
        .await
        .unwrap();
    let container = |name: &str| {
        ContainerDefinition::builder()
            .name(name)
            .image("app:1")
            .memory(64)
            .build()
    };
    s.ecs
        .register_task_definition()
        .family("vpc")
        .network_mode(NetworkMode::Awsvpc)
        .container_definitions(container("app"))
        .container_definitions(container("sidecar"))
        .send()
        .await
        .unwrap();
    let network = NetworkConfiguration::builder()
        .awsvpc_configuration(
            AwsVpcConfiguration::builder()
                .subnets("subnet-0123abcd")
                .build()
                .unwrap(),
        )
        .build();
    let arn = s
        .ecs
        .run_task()
        .cluster("ec2")
        .task_definition("vpc")
        .launch_type(LaunchType::Ec2)
        .network_configuration(network)
        .send()
        .await
        .unwrap()
        .tasks()[0]
        .task_arn()
        .unwrap()
        .to_string();
    wait_running(&s.ecs, "ec2", &arn).await;
    let (_, vars) = s.register(&arn, "app");
    for key in [
        "ECS_CONTAINER_METADATA_URI_V4",
        "ECS_CONTAINER_METADATA_URI",
    ] {
        let base = path_of(env(&vars, key).unwrap());
        let t = s.get_json(&format!("{base}/task")).await;
        let containers = t["Containers"].as_array().unwrap();
        let names: Vec<&str> = containers
            .iter()
            .map(|c| c["Name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["~internal~ecs~pause", "app", "sidecar"], "{key}");
        let pause = &containers[0];
        assert_eq!(pause["Type"], "CNI_PAUSE");
        assert_eq!(pause["KnownStatus"], "RESOURCES_PROVISIONED");
        assert_eq!(pause["DesiredStatus"], "RESOURCES_PROVISIONED");
        assert_eq!(pause["Image"], "amazon/amazon-ecs-pause:0.1.0");
        assert_eq!(pause["Limits"], serde_json::json!({"CPU": 2, "Memory": 0}));
        assert_eq!(
            pause["Labels"]["com.amazonaws.ecs.container-name"],
            "~internal~ecs~pause"
        );
        assert!(
            !pause["DockerId"].as_str().unwrap().is_empty(),
            "the namespace holder plays the pause container: {pause}"
        );
        assert_eq!(pause["Networks"][0]["NetworkMode"], "awsvpc");
        assert_eq!(
            pause["Networks"][0]["IPv4Addresses"], containers[1]["Networks"][0]["IPv4Addresses"],
            "the pause container holds the task's address"
        );
        for c in &containers[1..] {
            assert_eq!(c["Type"], "NORMAL");
            assert_eq!(c["Limits"], serde_json::json!({"CPU": 2, "Memory": 64}));
        }
    }
}

/// Fargate shows no pause container, and a container's cpu as its
/// definition has it: 0 when unset (the report of real answers;
/// AWS's Fargate examples show the definition's value, "CPU": 10).
#[tokio::test]
async fn a_fargate_task_has_no_pause_container_and_its_cpu_as_defined() {
    let s = setup().await;
    let task = fargate_task(&s, "web").await;
    let (_, vars) = s.register(task.task_arn().unwrap(), "app");
    let base = path_of(env(&vars, "ECS_CONTAINER_METADATA_URI_V4").unwrap());
    let t = s.get_json(&format!("{base}/task")).await;
    let containers = t["Containers"].as_array().unwrap();
    assert!(
        containers.iter().all(|c| c["Type"] == "NORMAL"),
        "no pause container on Fargate: {t}"
    );
    let limits: Vec<&Value> = containers.iter().map(|c| &c["Limits"]).collect();
    assert_eq!(
        limits,
        [
            &serde_json::json!({"CPU": 128, "Memory": 256}),
            &serde_json::json!({"CPU": 0})
        ]
    );
}

#[tokio::test]
async fn version_3_has_the_older_fields_only() {
    let s = setup().await;
    let task = fargate_task(&s, "web").await;
    let (_, vars) = s.register(task.task_arn().unwrap(), "app");
    let v3 = path_of(env(&vars, "ECS_CONTAINER_METADATA_URI").unwrap());
    assert!(v3.starts_with("/v3/"), "{v3}");

    let c = s.get_json(&v3).await;
    assert_eq!(c["Name"], "app");
    assert_eq!(c["KnownStatus"], "RUNNING");
    for v4_only in ["LogDriver", "LogOptions", "ContainerARN"] {
        assert!(c.get(v4_only).is_none(), "{v4_only} in v3: {c}");
    }
    let net = c["Networks"][0].as_object().unwrap();
    let mut keys: Vec<&str> = net.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["IPv4Addresses", "NetworkMode"]);

    let t = s.get_json(&format!("{v3}/task")).await;
    assert_eq!(t["TaskARN"], task.task_arn().unwrap());
    for v4_only in [
        "LaunchType",
        "ClockDrift",
        "EphemeralStorageMetrics",
        "FaultInjectionEnabled",
    ] {
        assert!(t.get(v4_only).is_none(), "{v4_only} in v3: {t}");
    }
    assert_eq!(t["Containers"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn stats_are_dockers_per_container_and_per_task() {
    let s = setup().await;
    let task = fargate_task(&s, "web").await;
    let (_, vars) = s.register(task.task_arn().unwrap(), "app");
    let base = path_of(env(&vars, "ECS_CONTAINER_METADATA_URI_V4").unwrap());
    let app_id = task
        .containers()
        .iter()
        .find(|c| c.name() == Some("app"))
        .unwrap()
        .runtime_id()
        .unwrap();

    let stats = s.get_json(&format!("{base}/stats")).await;
    assert_eq!(stats["id"], app_id);
    timestamp(&stats["read"]);
    assert!(
        stats["cpu_stats"]["cpu_usage"]["total_usage"]
            .as_u64()
            .unwrap()
            > 0,
        "{stats}"
    );
    assert!(stats["memory_stats"]["usage"].as_u64().unwrap() > 0);
    assert!(stats.get("precpu_stats").is_some());

    let per_task = s.get_json(&format!("{base}/task/stats")).await;
    let mut ids: Vec<&str> = per_task
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    ids.sort();
    let mut expected: Vec<&str> = task
        .containers()
        .iter()
        .map(|c| c.runtime_id().unwrap())
        .collect();
    expected.sort();
    assert_eq!(ids, expected);
    assert_eq!(per_task[app_id]["id"], app_id);
    // The same paths answer in version 3.
    let v3 = path_of(env(&vars, "ECS_CONTAINER_METADATA_URI").unwrap());
    assert_eq!(s.get_json(&format!("{v3}/stats")).await["id"], app_id);
}

#[tokio::test]
async fn a_task_role_gets_credentials_the_sdks_accept() {
    let s = setup().await;
    let task = fargate_task(&s, "web").await;
    let arn = task.task_arn().unwrap();
    let (_, app_vars) = s.register(arn, "app");
    let (_, sidecar_vars) = s.register(arn, "sidecar");
    // Not on 169.254.170.2:80 here, so the full URI: SDKs accept it for a loopback host.
    assert!(env(&app_vars, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").is_none());
    let full = env(&app_vars, "AWS_CONTAINER_CREDENTIALS_FULL_URI").unwrap();
    assert!(
        full.starts_with("http://127.0.0.1:") && full.contains("/v2/credentials/"),
        "{full}"
    );
    // One set of credentials per task, shared by its containers.
    assert_eq!(
        env(&sidecar_vars, "AWS_CONTAINER_CREDENTIALS_FULL_URI"),
        Some(full)
    );

    let before = SystemTime::now();
    let creds = s.get_json(&path_of(full)).await;
    assert_eq!(creds["RoleArn"], ROLE);
    // The access key id is the account id, so the container's signed calls
    // land in the task's own account.
    assert_eq!(creds["AccessKeyId"], ACCOUNT);
    assert_eq!(creds["SecretAccessKey"].as_str().unwrap().len(), 40);
    assert!(!creds["Token"].as_str().unwrap().is_empty());
    let expires = timestamp(&creds["Expiration"]);
    let ahead = expires.duration_since(before).unwrap();
    assert!(
        ahead > Duration::from_secs(5 * 3600) && ahead <= Duration::from_secs(6 * 3600 + 5),
        "{ahead:?}"
    );
    // The older query form answers the same credentials.
    let id = full.rsplit('/').next().unwrap();
    assert_eq!(
        s.get_json(&format!("/v1/credentials?id={id}")).await["SecretAccessKey"],
        creds["SecretAccessKey"]
    );
}

#[tokio::test]
async fn the_environment_is_what_ecs_and_the_sdks_need() {
    let s = setup().await;
    s.ecs
        .create_cluster()
        .cluster_name("c")
        .send()
        .await
        .unwrap();
    register_fargate(&s.ecs, "norole", None).await;
    let arn = run_fargate(&s.ecs, "norole", None).await;
    wait_running(&s.ecs, "c", &arn).await;

    let (token, app) = s.register(&arn, "app");
    let base = s.endpoints.base_url().unwrap();
    assert_eq!(
        env(&app, "ECS_CONTAINER_METADATA_URI_V4"),
        Some(format!("{base}/v4/{token}").as_str())
    );
    assert_eq!(
        env(&app, "ECS_CONTAINER_METADATA_URI"),
        Some(format!("{base}/v3/{token}").as_str())
    );
    assert_eq!(env(&app, "AWS_ENDPOINT_URL"), Some(base.as_str()));
    assert_eq!(env(&app, "AWS_REGION"), Some(REGION));
    assert_eq!(env(&app, "AWS_DEFAULT_REGION"), Some(REGION));
    assert_eq!(env(&app, "AWS_EXECUTION_ENV"), Some("AWS_ECS_FARGATE"));
    // No role, no credentials.
    assert!(
        app.iter()
            .all(|(k, _)| !k.starts_with("AWS_CONTAINER_CREDENTIALS")),
        "{app:?}"
    );
    // What the task definition sets itself is left alone.
    let (_, sidecar) = s.register(&arn, "sidecar");
    assert_eq!(env(&sidecar, "AWS_REGION"), None);
    assert_eq!(env(&sidecar, "AWS_DEFAULT_REGION"), Some(REGION));

    // RunTask's taskRoleArn override gives the task a role.
    let other_role = "arn:aws:iam::000000000000:role/override";
    let overridden = run_fargate(
        &s.ecs,
        "norole",
        Some(TaskOverride::builder().task_role_arn(other_role).build()),
    )
    .await;
    wait_running(&s.ecs, "c", &overridden).await;
    let (_, vars) = s.register(&overridden, "app");
    let full = env(&vars, "AWS_CONTAINER_CREDENTIALS_FULL_URI").unwrap();
    assert_eq!(s.get_json(&path_of(full)).await["RoleArn"], other_role);
}

#[tokio::test]
async fn options_turn_the_endpoint_url_and_the_endpoints_off() {
    let mut config = Config::for_tests();
    config.no_task_endpoint_url = true;
    let s = setup_with(config.clone()).await;
    s.ecs
        .create_cluster()
        .cluster_name("c")
        .send()
        .await
        .unwrap();
    register_fargate(&s.ecs, "web", Some(ROLE)).await;
    let arn = run_fargate(&s.ecs, "web", None).await;
    let (_, vars) = s.register(&arn, "app");
    assert!(env(&vars, "ECS_CONTAINER_METADATA_URI_V4").is_some());
    assert_eq!(env(&vars, "AWS_ENDPOINT_URL"), None);

    config.task_endpoints = TaskEndpoints::Off;
    let off = Endpoints::new(&config, s.server.app.store.clone(), s.fake.clone());
    assert_eq!(off.address(), None);
    let token = off.register_container(ACCOUNT, REGION, &arn, "app");
    let record = s.record(&arn);
    let def = record.definition.container_definitions.as_ref().unwrap()[0].clone();
    assert!(off.container_env(&token, &record, &def).is_empty());
}

#[tokio::test]
async fn a_task_sees_only_its_own_data() {
    let s = setup().await;
    let mine = fargate_task(&s, "web").await;
    let arn_mine = mine.task_arn().unwrap();
    let arn_theirs = run_fargate(&s.ecs, "web", None).await;
    wait_running(&s.ecs, "c", &arn_theirs).await;
    let (_, my_vars) = s.register(arn_mine, "app");
    let (_, their_vars) = s.register(&arn_theirs, "app");
    let my_base = path_of(env(&my_vars, "ECS_CONTAINER_METADATA_URI_V4").unwrap());
    let their_base = path_of(env(&their_vars, "ECS_CONTAINER_METADATA_URI_V4").unwrap());
    assert_eq!(
        s.get_json(&format!("{my_base}/task")).await["TaskARN"],
        arn_mine
    );
    assert_eq!(
        s.get_json(&format!("{their_base}/task")).await["TaskARN"],
        arn_theirs.as_str()
    );
    let my_creds = path_of(env(&my_vars, "AWS_CONTAINER_CREDENTIALS_FULL_URI").unwrap());
    let their_creds = path_of(env(&their_vars, "AWS_CONTAINER_CREDENTIALS_FULL_URI").unwrap());
    assert_ne!(my_creds, their_creds);
    assert_ne!(
        s.get_json(&my_creds).await["SecretAccessKey"],
        s.get_json(&their_creds).await["SecretAccessKey"]
    );

    // A token nobody was given is refused, with the agent's words.
    let guess = "0b1d5c0e-3b7a-4c1e-9f0a-6d2e8a4b7c91";
    let (status, content_type, body) = s.get(&format!("/v4/{guess}")).await;
    assert_eq!((status, content_type.as_str()), (404, "application/json"));
    assert_eq!(
        serde_json::from_str::<String>(&body).unwrap(),
        format!("V4 container metadata handler: unable to get container ID from request: unable to get docker ID from v3 endpoint ID: {guess}")
    );
    assert_eq!(s.get(&format!("/v4/{guess}/task")).await.0, 404);
    assert_eq!(s.get(&format!("/v4/{guess}/stats")).await.0, 404);
    assert_eq!(s.get(&format!("/v4/{guess}/task/stats")).await.0, 404);
    assert_eq!(s.get(&format!("/v3/{guess}")).await.0, 400);
    let (status, _, body) = s.get(&format!("/v2/credentials/{guess}")).await;
    assert_eq!(status, 400);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        serde_json::json!({"code": "InvalidIdInRequest", "message": "CredentialsV2Request: Credentials not found"})
    );
    let (status, _, body) = s.get("/v2/credentials").await;
    assert_eq!(status, 400);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["code"],
        "NoIdInRequest"
    );
    let (status, _, body) = s.get(&format!("{my_base}/nonsense")).await;
    assert_eq!((status, body.as_str()), (404, "404 page not found\n"));

    // Once a task is forgotten (its containers removed), its token and
    // credentials stop answering; the other task's still do.
    s.endpoints.forget_task(arn_mine);
    assert_eq!(s.get(&my_base).await.0, 404);
    assert_eq!(s.get(&my_creds).await.0, 400);
    assert_eq!(s.get(&their_base).await.0, 200);
    assert_eq!(s.get(&their_creds).await.0, 200);
}

#[tokio::test]
async fn a_bridge_task_of_a_service_on_an_instance() {
    let s = setup().await;
    s.ecs
        .create_cluster()
        .cluster_name("ec2")
        .tags(tag("ecsbox:container-instances", "1"))
        .send()
        .await
        .unwrap();
    let instance = s
        .ecs
        .list_container_instances()
        .cluster("ec2")
        .send()
        .await
        .unwrap()
        .container_instance_arns()[0]
        .clone();
    // TagResource does not take container instances yet: tag it in the store.
    let rack = ecsbox::model::shapes::Tag {
        key: Some("rack".into()),
        value: Some("r1".into()),
    };
    s.server
        .app
        .store
        .region(ACCOUNT, REGION)
        .lock()
        .tags
        .insert(instance.clone(), ecsbox::tags::TagSet::from_shapes(&[rack]));
    s.ecs
        .register_task_definition()
        .family("api")
        .network_mode(NetworkMode::Bridge)
        .container_definitions(
            ContainerDefinition::builder()
                .name("api")
                .image("app:1")
                .memory(64)
                .port_mappings(
                    PortMapping::builder()
                        .container_port(80)
                        .host_port(0)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    s.ecs
        .create_service()
        .cluster("ec2")
        .service_name("api-svc")
        .task_definition("api")
        .desired_count(1)
        .launch_type(LaunchType::Ec2)
        .send()
        .await
        .unwrap();
    let mut arn = None;
    for _ in 0..250 {
        let listed = s
            .ecs
            .list_tasks()
            .cluster("ec2")
            .service_name("api-svc")
            .send()
            .await
            .unwrap();
        if let Some(a) = listed.task_arns().first() {
            arn = Some(a.clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let arn = arn.expect("the service started a task");
    let task = wait_running(&s.ecs, "ec2", &arn).await;
    let (_, vars) = s.register(&arn, "api");
    assert_eq!(env(&vars, "AWS_EXECUTION_ENV"), Some("AWS_ECS_EC2"));
    let base = path_of(env(&vars, "ECS_CONTAINER_METADATA_URI_V4").unwrap());

    let c = s.get_json(&base).await;
    let binding = &task.containers()[0].network_bindings()[0];
    assert_eq!(
        c["Ports"],
        serde_json::json!([{"ContainerPort": 80, "Protocol": "tcp", "HostPort": binding.host_port().unwrap(), "HostIp": binding.bind_ip().unwrap()}])
    );
    assert!(
        binding.host_port().unwrap() >= 32768,
        "a dynamic port: {binding:?}"
    );
    let net = &c["Networks"][0];
    assert_eq!(net["NetworkMode"], "bridge");
    assert!(
        net["IPv4Addresses"][0]
            .as_str()
            .unwrap()
            .starts_with("172.17."),
        "{net}"
    );
    assert!(
        net.get("MACAddress").is_none(),
        "ENI details are for awsvpc only: {net}"
    );
    assert_eq!(c["Limits"], serde_json::json!({"CPU": 2, "Memory": 64}));
    assert!(c.get("LogDriver").is_none());

    let t = s.get_json(&format!("{base}/taskWithTags")).await;
    assert_eq!(
        t["Cluster"], "ec2",
        "the agent names the cluster as configured: {t}"
    );
    assert_eq!(t["LaunchType"], "EC2");
    assert_eq!(t["ServiceName"], "api-svc");
    assert!(
        t.get("Limits").is_none(),
        "no task-level cpu or memory: {t}"
    );
    assert!(
        t.get("EphemeralStorageMetrics").is_none(),
        "Fargate only: {t}"
    );
    assert_eq!(
        t["ContainerInstanceTags"],
        serde_json::json!({"rack": "r1"})
    );
}

#[tokio::test]
async fn a_stopped_container_reports_its_exit() {
    let s = setup().await;
    let task = fargate_task(&s, "web").await;
    let arn = task.task_arn().unwrap();
    let sidecar = task
        .containers()
        .iter()
        .find(|c| c.name() == Some("sidecar"))
        .unwrap()
        .runtime_id()
        .unwrap()
        .to_string();
    let (_, vars) = s.register(arn, "sidecar");
    s.fake.exit(&sidecar, 3);
    let path = path_of(env(&vars, "ECS_CONTAINER_METADATA_URI_V4").unwrap());
    for _ in 0..250 {
        let c = s.get_json(&path).await;
        if c.get("ExitCode").is_some() {
            assert_eq!(c["ExitCode"], 3);
            assert_eq!(c["KnownStatus"], "STOPPED");
            assert!(timestamp(&c["FinishedAt"]) >= timestamp(&c["StartedAt"]));
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the exit never showed");
}

#[tokio::test]
async fn other_requests_go_to_the_api_and_shutdown_stops_serving() {
    let config = Config::for_tests();
    let store = Arc::new(ecsbox::state::Store::new());
    let endpoints = Endpoints::new(&config, store, Arc::new(FakeRuntime::new()));
    let api: ecsbox::metadata::ApiHandler = Arc::new(|req, _peer| {
        Box::pin(async move {
            let body = format!("api saw {} {}", req.method(), req.uri().path());
            http::Response::new(http_body_util::Full::new(bytes::Bytes::from(body)))
        })
    });
    endpoints.serve(Some(api));
    let addr = endpoints.address().unwrap();
    let (status, _, body) = http_get(addr, "/_ecsbox/health").await;
    assert_eq!(
        (status, body.as_str()),
        (200, "api saw GET /_ecsbox/health")
    );
    // Metadata paths are never handed to the API, known token or not.
    assert_eq!(http_get(addr, "/v4/unknown").await.0, 404);

    endpoints.shutdown();
    let mut refused = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(refused, "still accepting after shutdown");
}
