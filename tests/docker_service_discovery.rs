//! ECS services registered in Cloud Map, end to end on the real Docker
//! engine: an awsvpc service whose `serviceRegistries` names a Cloud Map
//! service in a private DNS namespace shows its running tasks' IPs in
//! DiscoverInstances (raw JSON 1.1, as a client would call it), follows a
//! scale-up, and scaling to 0 removes them; a bridge-mode service registers
//! SRV records with the host port Docker published. Inside tasks, the
//! names resolve through ecsbox's DNS server: a client task reaches the
//! service at `api.app.local`, and the answers (asked from the host too)
//! are the registered tasks at every step of the scaling. The test's
//! `EngineGuard` removes every container and network when it ends; the
//! server is reset first, while the runtime still runs.
mod common;
#[path = "common/docker.rs"]
mod docker_common;

use aws_sdk_ecs::types::{LaunchType, PortMapping, ServiceRegistry, Task};
use docker_common::*;
use hickory_proto::op::{Message, Query};
use hickory_proto::rr::{Name, RData, RecordType};
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

/// Asks ecsbox's DNS server (as a task would, over UDP) from the host.
async fn dns(s: &DockerServer, name: &str, qtype: RecordType) -> Message {
    let server = s
        .server
        .app
        .dns
        .address()
        .expect("ecsbox's DNS server is on");
    let socket = tokio::net::UdpSocket::bind("0.0.0.0:0").await.unwrap();
    socket.connect((server, 53)).await.unwrap();
    let mut q = Message::query();
    q.add_query(Query::query(Name::from_ascii(name).unwrap(), qtype));
    socket.send(&q.to_vec().unwrap()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), socket.recv(&mut buf))
        .await
        .expect("an answer within 5 s")
        .unwrap();
    let answer = Message::from_vec(&buf[..n]).unwrap();
    assert_eq!(answer.metadata.id, q.metadata.id);
    answer
}

/// The addresses of an answer's A records.
fn a_records(m: &Message) -> BTreeSet<String> {
    m.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0.to_string()),
            _ => None,
        })
        .collect()
}

fn ips(registered: &BTreeSet<(String, String, String)>) -> BTreeSet<String> {
    registered.iter().map(|(_, ip, _)| ip.clone()).collect()
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
    let one = wait_registered(&s, "api", 1, as_instance).await;
    // The registered IP answers: it is the task's own.
    let (_, ip, _) = one.iter().next().unwrap().clone();
    let page = http_get_eventually(&ip, 8080, "/", Duration::from_secs(10)).await;

    // A task finds it by name, through Docker's resolver on the awsvpc
    // network and ecsbox's behind it, as through the VPC resolver on AWS.
    s.register(
        "client",
        vec![sh(
            "client",
            "nslookup api.app.local; wget -qO- http://api.app.local:8080/; echo done",
        )
        .build()],
    )
    .await;
    let client = s.run_one("client").await;
    let done = s.wait_status(&client, "STOPPED").await;
    let c = &done.containers()[0];
    let lines = s.log_lines(c.runtime_id().unwrap()).await.join("\n");
    assert_eq!(c.exit_code(), Some(0), "{lines}");
    assert!(lines.contains(&format!("Address: {ip}")), "{lines}");
    let served = page.rsplit("\r\n\r\n").next().unwrap_or(&page).trim();
    assert!(
        !served.is_empty() && lines.contains(served),
        "the page {served:?} through the name: {lines}"
    );
    let answer = dns(&s, "api.app.local", RecordType::A).await;
    assert_eq!(a_records(&answer), ips(&one));
    assert!(
        answer.answers.iter().all(|r| r.ttl == 1),
        "the service's TTL"
    );

    scale(&s, "api", 3).await;
    let three = wait_registered(&s, "api", 3, as_instance).await;
    assert_eq!(three.len(), 3);
    // No lag behind the registry: the next answer has all three.
    assert_eq!(
        a_records(&dns(&s, "api.app.local", RecordType::A).await),
        ips(&three)
    );

    scale(&s, "api", 0).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !discovered(&s, "api").await.is_empty() {
        assert!(
            Instant::now() < deadline,
            "still registered after scaling to 0"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let none = dns(&s, "api.app.local", RecordType::A).await;
    assert!(none.answers.is_empty(), "{none:?}");
    assert_eq!(
        none.metadata.response_code,
        hickory_proto::op::ResponseCode::NoError,
        "the service still exists: no data, not NXDOMAIN"
    );
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
    // The engine's host as containers reach it: the default bridge
    // network's gateway, where the published port answers.
    let gateway = docker_cli(&[
        "run",
        "--rm",
        BUSYBOX,
        "sh",
        "-c",
        "ip route | awk '/default/ {print $3}'",
    ])
    .await;
    let gateway = String::from_utf8_lossy(&gateway.stdout).trim().to_string();
    assert!(gateway.parse::<std::net::Ipv4Addr>().is_ok(), "{gateway:?}");
    let as_srv = |t: &Task| {
        let port = t.containers()[0].network_bindings()[0]
            .host_port()
            .unwrap()
            .to_string();
        (task_id(t), gateway.clone(), port)
    };
    let got = wait_registered(&s, "api", 1, as_srv).await;
    let (_, _, port) = got.into_iter().next().unwrap();
    assert_ne!(
        port, "8080",
        "the dynamic host port, not the container port"
    );
    let page = http_get_eventually(
        &gateway,
        port.parse().unwrap(),
        "/",
        Duration::from_secs(10),
    )
    .await;
    let page = page.trim().to_string();
    assert!(!page.is_empty());
    // DNS: SRV with the host port, its target's A record alongside.
    let srv = dns(&s, "api.app.local", RecordType::SRV).await;
    let records: Vec<String> = srv.answers.iter().map(|r| r.data.to_string()).collect();
    assert_eq!(records.len(), 1, "{srv:?}");
    assert!(
        records[0].starts_with(&format!("1 1 {port} ")),
        "{records:?}"
    );
    assert_eq!(srv.additionals.len(), 1, "{srv:?}");
    assert_eq!(srv.additionals[0].data.to_string(), gateway);
    // From inside a bridge task: the SRV target's name, at the SRV port,
    // reaches the service's task.
    let (id, _, _) = discovered(&s, "api").await.into_iter().next().unwrap();
    let mut client = sh(
        "client",
        &format!("nslookup -type=SRV api.app.local; wget -qO- http://{id}.api.app.local:{port}/; echo done"),
    )
    .build();
    client.memory = Some(32);
    s.register_bridge("client", vec![client]).await;
    let arn = s.run_ec2("client", 1).await.remove(0);
    let done = s.wait_status(&arn, "STOPPED").await;
    let c = &done.containers()[0];
    let lines = s.log_lines(c.runtime_id().unwrap()).await.join("\n");
    assert_eq!(c.exit_code(), Some(0), "{lines}");
    assert!(lines.contains(&port), "the SRV answer: {lines}");
    assert!(
        lines.lines().any(|l| l.trim() == page),
        "the page {page:?} through the SRV target's name: {lines}"
    );
    finish(s).await;
}

/// Ends a test: forgets every service and removes every task while the
/// test's runtime still runs, so no scheduler relaunches a task after the
/// `EngineGuard` has cleaned up (the guard stays the net for a failed test).
async fn finish(s: DockerServer) {
    s.server.app.reset().await;
}
