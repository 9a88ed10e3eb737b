//! ECS services registered in Cloud Map, end to end on the real Docker
//! engine: an awsvpc service whose `serviceRegistries` names a Cloud Map
//! service in a private DNS namespace shows its running tasks' IPs in
//! DiscoverInstances (raw JSON 1.1, as a client would call it), follows a
//! scale-up, and scaling to 0 removes them; a bridge-mode service registers
//! SRV records with the host port Docker published. The test's
//! `EngineGuard` removes every container and network when it ends; the
//! server is reset first, while the runtime still runs.
mod common;
#[path = "common/docker.rs"]
mod docker_common;

use aws_sdk_ecs::types::{LaunchType, PortMapping, ServiceRegistry, Task};
use docker_common::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

async fn sd(s: &DockerServer, op: &str, body: Value) -> Value {
    let r = s
        .server
        .aws_json(
            "servicediscovery",
            &format!("Route53AutoNaming_v20170314.{op}"),
            body,
        )
        .await;
    assert_eq!(r.status, 200, "{op}: {}", r.body);
    r.json()
}

/// A Cloud Map service in namespace `app.local` with these records; its ARN.
async fn registry(s: &DockerServer, name: &str, records: Value) -> String {
    let op = sd(
        s,
        "CreatePrivateDnsNamespace",
        json!({"Name": "app.local", "Vpc": "vpc-0123abcd", "CreatorRequestId": "ns"}),
    )
    .await;
    let o = sd(s, "GetOperation", json!({"OperationId": op["OperationId"]})).await;
    let ns = o["Operation"]["Targets"]["NAMESPACE"].clone();
    let svc = sd(
        s,
        "CreateService",
        json!({"Name": name, "NamespaceId": ns, "DnsConfig": {"DnsRecords": records}}),
    )
    .await;
    svc["Service"]["Arn"].as_str().unwrap().to_string()
}

/// (instance id, AWS_INSTANCE_IPV4, AWS_INSTANCE_PORT) of the instances
/// DiscoverInstances answers for `name`.
async fn discovered(s: &DockerServer, name: &str) -> BTreeSet<(String, String, String)> {
    let v = sd(
        s,
        "DiscoverInstances",
        json!({"NamespaceName": "app.local", "ServiceName": name}),
    )
    .await;
    v["Instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let a = &i["Attributes"];
            (
                i["InstanceId"].as_str().unwrap().to_string(),
                a["AWS_INSTANCE_IPV4"].as_str().unwrap_or("").to_string(),
                a["AWS_INSTANCE_PORT"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

async fn running_tasks(s: &DockerServer, service: &str) -> Vec<Task> {
    let arns = s
        .ecs
        .list_tasks()
        .cluster("c")
        .service_name(service)
        .send()
        .await
        .unwrap()
        .task_arns()
        .to_vec();
    if arns.is_empty() {
        return vec![];
    }
    s.ecs
        .describe_tasks()
        .cluster("c")
        .set_tasks(Some(arns))
        .send()
        .await
        .unwrap()
        .tasks()
        .iter()
        .filter(|t| t.last_status() == Some("RUNNING"))
        .cloned()
        .collect()
}

fn task_id(t: &Task) -> String {
    t.task_arn()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string()
}

/// Polls until the registry's instances are exactly what `expected` makes
/// of the service's running tasks, and there are `count` of them.
async fn wait_registered(
    s: &DockerServer,
    service: &str,
    count: usize,
    expected: impl Fn(&Task) -> (String, String, String),
) -> BTreeSet<(String, String, String)> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let tasks = running_tasks(s, service).await;
        let want: BTreeSet<_> = tasks.iter().map(&expected).collect();
        let got = discovered(s, service).await;
        if tasks.len() == count && got == want {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "registry never matched {count} running tasks: registered {got:?}, tasks {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn scale(s: &DockerServer, service: &str, count: i32) {
    s.ecs
        .update_service()
        .cluster("c")
        .service(service)
        .desired_count(count)
        .send()
        .await
        .unwrap();
}

/// A web server that exits at once on SIGTERM.
fn web() -> aws_sdk_ecs::types::builders::ContainerDefinitionBuilder {
    sh(
        "web",
        "mkdir -p /www && hostname > /www/index.html && trap 'exit 0' TERM; httpd -f -p 8080 -h /www & wait",
    )
    .port_mappings(PortMapping::builder().container_port(8080).build())
    .stop_timeout(2)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_awsvpc_service_shows_its_task_ips_in_discover_instances() {
    let s = DockerServer::start().await;
    let arn = registry(&s, "api", json!([{"Type": "A", "TTL": 1}])).await;
    s.register("api", vec![web().build()]).await;
    s.ecs
        .create_service()
        .cluster("c")
        .service_name("api")
        .task_definition("api")
        .desired_count(1)
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc())
        .service_registries(ServiceRegistry::builder().registry_arn(&arn).build())
        .send()
        .await
        .unwrap();
    let as_instance = |t: &Task| (task_id(t), eni_ip(t), String::new());
    wait_registered(&s, "api", 1, as_instance).await;
    // The registered IP answers: it is the task's own.
    let (_, ip, _) = discovered(&s, "api").await.into_iter().next().unwrap();
    http_get_eventually(&ip, 8080, "/", Duration::from_secs(10)).await;

    scale(&s, "api", 3).await;
    let three = wait_registered(&s, "api", 3, as_instance).await;
    assert_eq!(three.len(), 3);

    scale(&s, "api", 0).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !discovered(&s, "api").await.is_empty() {
        assert!(
            Instant::now() < deadline,
            "still registered after scaling to 0"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    finish(s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bridge_service_registers_srv_records_with_its_host_ports() {
    let s = DockerServer::start_with(&["--container-instances", "1"]).await;
    let arn = registry(&s, "api", json!([{"Type": "SRV", "TTL": 1}])).await;
    let mut bridge = web().build();
    bridge.port_mappings = Some(vec![PortMapping::builder()
        .container_port(8080)
        .host_port(0)
        .build()]);
    bridge.memory = Some(64);
    s.register_bridge("api", vec![bridge]).await;
    s.ecs
        .create_service()
        .cluster("c")
        .service_name("api")
        .task_definition("api")
        .desired_count(1)
        .launch_type(LaunchType::Ec2)
        .service_registries(
            ServiceRegistry::builder()
                .registry_arn(&arn)
                .container_name("web")
                .container_port(8080)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let as_srv = |t: &Task| {
        let port = t.containers()[0].network_bindings()[0]
            .host_port()
            .unwrap()
            .to_string();
        (task_id(t), "127.0.0.1".to_string(), port)
    };
    let got = wait_registered(&s, "api", 1, as_srv).await;
    let (_, _, port) = got.into_iter().next().unwrap();
    assert_ne!(
        port, "8080",
        "the dynamic host port, not the container port"
    );
    http_get_eventually(
        "127.0.0.1",
        port.parse().unwrap(),
        "/",
        Duration::from_secs(10),
    )
    .await;
    finish(s).await;
}

/// Ends a test: forgets every service and removes every task while the
/// test's runtime still runs, so no scheduler relaunches a task after the
/// `EngineGuard` has cleaned up (the guard stays the net for a failed test).
async fn finish(s: DockerServer) {
    s.server.app.reset().await;
}
