//! Service Connect in process, on the fake runtime: CreateService and
//! UpdateService check and complete `serviceConnectConfiguration` as ECS
//! does (defaults, Cloud Map services, the namespace's uniqueness rules,
//! refusals by name), tasks start with the namespace's endpoints in their
//! /etc/hosts, and the endpoint proxy spreads connections over the Cloud
//! Map instances behind it. tests/docker_service_connect.rs runs real
//! containers through it.
mod common;

use common::TestServer;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn ecs(s: &TestServer, op: &str, body: Value) -> Result<Value, (String, String)> {
    let r = s.ecs_raw(op, &body.to_string()).await;
    if r.status == 200 {
        return Ok(r.json());
    }
    let v = r.json();
    Err((
        r.error_type(),
        v["message"].as_str().unwrap_or_default().to_string(),
    ))
}

async fn sd(s: &TestServer, op: &str, body: Value) -> Value {
    let r = s
        .aws_json(
            "servicediscovery",
            &format!("Route53AutoNaming_v20170314.{op}"),
            body,
        )
        .await;
    assert_eq!(r.status, 200, "{op}: {}", r.body);
    if r.body.is_empty() {
        Value::Null
    } else {
        r.json()
    }
}

/// A server with cluster `c`, HTTP namespace `app.local` (its ARN answered)
/// and task definitions `api` (awsvpc, port mapping `http` 80 with
/// appProtocol http) and `tool` (host network).
async fn setup() -> (
    TestServer,
    std::sync::Arc<ecsbox::runtime::fake::FakeRuntime>,
    String,
) {
    let fake = std::sync::Arc::new(ecsbox::runtime::fake::FakeRuntime::new());
    fake.add_image("app:1");
    let s = TestServer::start_on(ecsbox::config::Config::for_tests(), fake.clone()).await;
    ecs(&s, "CreateCluster", json!({"clusterName": "c"}))
        .await
        .unwrap();
    let op = sd(&s, "CreateHttpNamespace", json!({"Name": "app.local"})).await;
    let op = sd(
        &s,
        "GetOperation",
        json!({"OperationId": op["OperationId"]}),
    )
    .await;
    let ns_id = op["Operation"]["Targets"]["NAMESPACE"]
        .as_str()
        .unwrap()
        .to_string();
    let ns = sd(&s, "GetNamespace", json!({"Id": ns_id})).await;
    for (family, mode, on) in [
        ("api", "awsvpc", "FARGATE"),
        ("web", "awsvpc", "FARGATE"),
        ("tool", "host", "EC2"),
    ] {
        ecs(
            &s,
            "RegisterTaskDefinition",
            json!({
                "family": family, "networkMode": mode, "cpu": "256", "memory": "512",
                "requiresCompatibilities": [on],
                "containerDefinitions": [{"name": "app", "image": "app:1",
                    "portMappings": [{"name": "http", "containerPort": 80, "appProtocol": "http"}]}],
            }),
        )
        .await
        .unwrap();
    }
    (
        s,
        fake,
        ns["Namespace"]["Arn"].as_str().unwrap().to_string(),
    )
}

/// CreateService on Fargate (awsvpc), or EC2 for the host mode `tool`.
fn create_body(name: &str, td: &str, desired: i32, sc: Value) -> Value {
    if td == "tool" {
        return json!({
            "cluster": "c", "serviceName": name, "taskDefinition": td, "desiredCount": desired,
            "serviceConnectConfiguration": sc,
        });
    }
    json!({
        "cluster": "c", "serviceName": name, "taskDefinition": td, "desiredCount": desired,
        "launchType": "FARGATE",
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-0123abcd"]}},
        "serviceConnectConfiguration": sc,
    })
}

async fn service_exists(s: &TestServer, name: &str) -> bool {
    let v = ecs(
        s,
        "DescribeServices",
        json!({"cluster": "c", "services": [name]}),
    )
    .await
    .unwrap();
    !v["services"].as_array().unwrap().is_empty()
}

/// The served endpoints, as `GET /_ecsbox/service-connect` lists them,
/// once `done` holds (10 s at most).
async fn endpoints_when(s: &TestServer, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = s.raw("GET", "/_ecsbox/service-connect", &[], b"").await;
        let v: Value = r.json();
        assert_eq!(v["available"], true, "{v}");
        let list = v["endpoints"].as_array().unwrap().clone();
        if done(&list) || Instant::now() > deadline {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_service_connect_service_gets_ecs_defaults_and_its_cloud_map_service() {
    let (s, _fake, ns_arn) = setup().await;
    let out = ecs(
        &s,
        "CreateService",
        create_body(
            "api",
            "api",
            0,
            json!({"enabled": true, "namespace": "app.local",
                   "services": [{"portName": "http", "clientAliases": [{"port": 8080}]}]}),
        ),
    )
    .await
    .unwrap();
    let d = &out["service"]["deployments"][0];
    let sc = &d["serviceConnectConfiguration"];
    // The namespace as its ARN; discoveryName defaults to the port name, the
    // alias's dnsName to discoveryName.namespace (API reference,
    // ServiceConnectService and ServiceConnectClientAlias).
    assert_eq!(sc["namespace"], ns_arn.as_str(), "{sc}");
    assert_eq!(sc["services"][0]["discoveryName"], "http");
    assert_eq!(
        sc["services"][0]["clientAliases"][0],
        json!({"port": 8080, "dnsName": "http.app.local"})
    );
    let resources = d["serviceConnectResources"].as_array().unwrap();
    assert_eq!(resources.len(), 1);
    assert_eq!(resources[0]["discoveryName"], "http");
    // ECS created the Cloud Map service it names.
    let arn = resources[0]["discoveryArn"].as_str().unwrap();
    let id = arn.rsplit('/').next().unwrap();
    let got = sd(&s, "GetService", json!({"Id": id})).await;
    assert_eq!(got["Service"]["Name"], "http");
    assert_eq!(got["Service"]["Arn"], arn);

    // ListServicesByNamespace finds it, by the namespace's name or ARN.
    for namespace in ["app.local", ns_arn.as_str()] {
        let v = ecs(
            &s,
            "ListServicesByNamespace",
            json!({"namespace": namespace}),
        )
        .await
        .unwrap();
        let arns = v["serviceArns"].as_array().unwrap();
        assert_eq!(arns.len(), 1, "{v}");
        assert!(arns[0].as_str().unwrap().ends_with("/c/api"));
    }
    let (code, _) = ecs(
        &s,
        "ListServicesByNamespace",
        json!({"namespace": "nope.local"}),
    )
    .await
    .unwrap_err();
    assert_eq!(code, "NamespaceNotFoundException");

    // A client-only service takes the cluster's default namespace.
    ecs(
        &s,
        "UpdateCluster",
        json!({"cluster": "c", "serviceConnectDefaults": {"namespace": "app.local"}}),
    )
    .await
    .unwrap();
    let out = ecs(
        &s,
        "CreateService",
        create_body("web", "web", 0, json!({"enabled": true})),
    )
    .await
    .unwrap();
    let sc = &out["service"]["deployments"][0]["serviceConnectConfiguration"];
    assert_eq!(sc, &json!({"enabled": true, "namespace": ns_arn}));

    // UpdateService without a configuration keeps it in the new deployment;
    // with one, changes it (a new deployment either way).
    let out = ecs(
        &s,
        "UpdateService",
        json!({"cluster": "c", "service": "api", "forceNewDeployment": true}),
    )
    .await
    .unwrap();
    let deployments = out["service"]["deployments"].as_array().unwrap();
    assert_eq!(deployments.len(), 2);
    assert_eq!(
        deployments[0]["serviceConnectConfiguration"],
        deployments[1]["serviceConnectConfiguration"]
    );
    let out = ecs(
        &s,
        "UpdateService",
        json!({"cluster": "c", "service": "api", "serviceConnectConfiguration": {"enabled": false}}),
    )
    .await
    .unwrap();
    assert_eq!(
        out["service"]["deployments"][0]["serviceConnectConfiguration"],
        json!({"enabled": false})
    );
}

#[tokio::test]
async fn bad_service_connect_configurations_are_refused_and_change_nothing() {
    let (s, _fake, _) = setup().await;
    let alias = |port: i32| json!([{"port": port, "dnsName": "api"}]);
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        (
            "api",
            json!({"enabled": true, "namespace": "nope.local"}),
            "NamespaceNotFoundException",
            "nope.local",
        ),
        (
            "api",
            json!({"enabled": true}),
            "InvalidParameterException",
            "serviceConnectDefaults",
        ),
        (
            "api",
            json!({"enabled": true, "namespace": "app.local", "services": [{"portName": "grpc"}]}),
            "InvalidParameterException",
            "'grpc'",
        ),
        (
            "tool",
            json!({"enabled": true, "namespace": "app.local"}),
            "InvalidParameterException",
            "host network mode",
        ),
        (
            "api",
            json!({"enabled": true, "namespace": "app.local",
                   "services": [{"portName": "http", "discoveryName": "Api"}]}),
            "InvalidParameterException",
            "discoveryName 'Api'",
        ),
        (
            "api",
            json!({"enabled": true, "namespace": "app.local",
                   "services": [{"portName": "http", "clientAliases": [{"port": 1}, {"port": 2}]}]}),
            "InvalidParameterException",
            "at most 1 client alias",
        ),
        (
            "api",
            json!({"enabled": true, "namespace": "app.local",
                   "services": [{"portName": "http", "clientAliases": alias(0)}]}),
            "InvalidParameterException",
            "port 0",
        ),
        (
            "api",
            json!({"enabled": true, "namespace": "app.local",
                   "logConfiguration": {"logDriver": "awslogs"}}),
            "UnsupportedFeatureException",
            "logConfiguration",
        ),
        (
            "api",
            json!({"enabled": true, "namespace": "app.local",
                   "services": [{"portName": "http", "tls": {"issuerCertificateAuthority": {"awsPcaAuthorityArn": "arn:aws:acm-pca:us-east-1:000000000000:certificate-authority/x"}}}]}),
            "UnsupportedFeatureException",
            "services.tls",
        ),
        (
            "api",
            json!({"enabled": true, "namespace": "app.local",
                   "services": [{"portName": "http", "ingressPortOverride": 9000}]}),
            "UnsupportedFeatureException",
            "ingressPortOverride",
        ),
        (
            "api",
            json!({"enabled": true, "namespace": "app.local",
                   "services": [{"portName": "http", "timeout": {"perRequestTimeoutSeconds": 5}}]}),
            "UnsupportedFeatureException",
            "perRequestTimeoutSeconds",
        ),
    ];
    for (td, sc, code, words) in cases {
        let (got, message) = ecs(&s, "CreateService", create_body("x", td, 0, sc.clone()))
            .await
            .unwrap_err();
        assert_eq!(got, code, "{sc}: {message}");
        assert!(message.contains(words), "{sc}: {message}");
        assert!(!service_exists(&s, "x").await, "{sc} created the service");
    }
    // Nothing was created in Cloud Map by the refused calls.
    let listed = sd(&s, "ListServices", json!({})).await;
    assert!(
        listed["Services"].as_array().unwrap().is_empty(),
        "{listed}"
    );

    // Aliases and discovery names belong to one service of the namespace.
    let sc = json!({"enabled": true, "namespace": "app.local",
                    "services": [{"portName": "http", "discoveryName": "api", "clientAliases": alias(8080)}]});
    ecs(
        &s,
        "CreateService",
        create_body("api", "api", 0, sc.clone()),
    )
    .await
    .unwrap();
    let (code, message) = ecs(&s, "CreateService", create_body("api2", "api", 0, sc))
        .await
        .unwrap_err();
    assert_eq!(code, "InvalidParameterException");
    assert!(message.contains("service api"), "{message}");
    let sc = json!({"enabled": true, "namespace": "app.local",
                    "services": [{"portName": "http", "discoveryName": "api2", "clientAliases": alias(8080)}]});
    let (_, message) = ecs(&s, "CreateService", create_body("api2", "api", 0, sc))
        .await
        .unwrap_err();
    assert!(message.contains("api:8080"), "{message}");
    assert!(!service_exists(&s, "api2").await);

    // A new task definition without the named port, the configuration
    // kept: refused, the service left on its deployment.
    ecs(
        &s,
        "RegisterTaskDefinition",
        json!({"family": "bare", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
               "requiresCompatibilities": ["FARGATE"],
               "containerDefinitions": [{"name": "app", "image": "app:1"}]}),
    )
    .await
    .unwrap();
    let (code, message) = ecs(
        &s,
        "UpdateService",
        json!({"cluster": "c", "service": "api", "taskDefinition": "bare"}),
    )
    .await
    .unwrap_err();
    assert_eq!(code, "InvalidParameterException");
    assert!(message.contains("'http'"), "{message}");
    let v = ecs(
        &s,
        "DescribeServices",
        json!({"cluster": "c", "services": ["api"]}),
    )
    .await
    .unwrap();
    assert_eq!(v["services"][0]["deployments"].as_array().unwrap().len(), 1);
    assert!(v["services"][0]["taskDefinition"]
        .as_str()
        .unwrap()
        .contains("/api:"));
}

/// A TCP server that answers every connection with `name` and closes.
async fn named_server(name: &'static str) -> SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut c, _)) = l.accept().await {
            let _ = c.write_all(name.as_bytes()).await;
        }
    });
    addr
}

/// Registers an instance in Cloud Map service `service` as ECS would a task.
async fn register(s: &TestServer, service: &str, id: &str, addr: SocketAddr) {
    sd(
        s,
        "RegisterInstance",
        json!({"ServiceId": service, "InstanceId": id, "Attributes": {
            "AWS_INSTANCE_IPV4": addr.ip().to_string(),
            "AWS_INSTANCE_PORT": addr.port().to_string()}}),
    )
    .await;
}

/// Creates service `name` with the client alias `alias:port` (and a
/// timeout configuration); answers its Cloud Map service's id.
async fn alias_service(s: &TestServer, name: &str, port: u16, timeout: Option<Value>) -> String {
    let mut service = json!({"portName": "http", "discoveryName": name,
                             "clientAliases": [{"port": port, "dnsName": name}]});
    if let Some(t) = timeout {
        service["timeout"] = t;
    }
    let out = ecs(
        s,
        "CreateService",
        create_body(
            name,
            "api",
            0,
            json!({"enabled": true, "namespace": "app.local", "services": [service]}),
        ),
    )
    .await
    .unwrap();
    out["service"]["deployments"][0]["serviceConnectResources"][0]["discoveryArn"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string()
}

/// Removes Service Connect's rules and listeners when a test ends, passed
/// or failed (a test server's App outlives the test).
struct Reset(std::sync::Arc<ecsbox::server::App>);

impl Drop for Reset {
    fn drop(&mut self) {
        self.0.service_connect.reset();
    }
}

fn endpoint<'a>(list: &'a [Value], name: &str) -> Option<&'a Value> {
    list.iter().find(|e| e["dnsName"] == name)
}

#[tokio::test]
async fn the_endpoint_spreads_connections_over_the_ready_instances() {
    let (s, _fake, _) = setup().await;
    let _reset = Reset(s.app.clone());
    let discovery = alias_service(&s, "api", 18080, None).await;
    // Instances as ECS registers tasks: two that answer, one that refuses.
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let (one, two) = (named_server("one").await, named_server("two").await);
    register(&s, &discovery, "one", one).await;
    register(&s, &discovery, "two", two).await;
    register(&s, &discovery, "gone", refused).await;
    // The kernel's fast path sends connections to the two that accept
    // one (it cannot retry a refusal): ready once they do.
    let mut ready = vec![one.to_string(), two.to_string()];
    ready.sort();
    let endpoints = endpoints_when(&s, |l| {
        endpoint(l, "api").is_some_and(|e| e["fastPath"] == json!(ready))
    })
    .await;
    let e = endpoint(&endpoints, "api").unwrap();
    assert_eq!(e["fastPath"], json!(ready), "{endpoints:?}");
    let address: SocketAddr = e["address"].as_str().unwrap().parse().unwrap();
    assert!(
        address.ip().to_string().starts_with("169.254.17"),
        "{address}"
    );
    assert_eq!(address.port(), 18080);

    let mut seen = std::collections::BTreeMap::new();
    for _ in 0..30 {
        let mut c = tokio::net::TcpStream::connect(address).await.unwrap();
        let mut answer = String::new();
        tokio::time::timeout(Duration::from_secs(10), c.read_to_string(&mut answer))
            .await
            .unwrap()
            .unwrap();
        *seen.entry(answer).or_insert(0) += 1;
    }
    // Every connection reached a task that answers, each task a share.
    assert_eq!(
        seen.keys().cloned().collect::<Vec<_>>(),
        ["one", "two"],
        "{seen:?}"
    );
    assert!(seen.values().all(|n| *n >= 5), "{seen:?}");

    // A task that leaves Cloud Map leaves the fast path.
    sd(
        &s,
        "DeregisterInstance",
        json!({"ServiceId": discovery, "InstanceId": "one"}),
    )
    .await;
    let only_two = json!([two.to_string()]);
    let endpoints = endpoints_when(&s, |l| {
        endpoint(l, "api").is_some_and(|e| e["fastPath"] == only_two)
    })
    .await;
    assert_eq!(endpoint(&endpoints, "api").unwrap()["fastPath"], only_two);
    for _ in 0..5 {
        let mut c = tokio::net::TcpStream::connect(address).await.unwrap();
        let mut answer = String::new();
        c.read_to_string(&mut answer).await.unwrap();
        assert_eq!(answer, "two");
    }

    // Deleting the service takes the endpoint and its rules away.
    ecs(
        &s,
        "DeleteService",
        json!({"cluster": "c", "service": "api", "force": true}),
    )
    .await
    .unwrap();
    let endpoints = endpoints_when(&s, |l| l.is_empty()).await;
    assert!(endpoints.is_empty(), "{endpoints:?}");
}

#[tokio::test]
async fn the_proxy_keeps_the_idle_timeout_and_retries_a_refusal() {
    let (s, _fake, _) = setup().await;
    let _reset = Reset(s.app.clone());
    // An idle timeout asked for: only ecsbox's proxy can keep it, so this
    // endpoint has no fast path.
    let discovery = alias_service(&s, "quiet", 18082, Some(json!({"idleTimeoutSeconds": 1}))).await;
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    register(&s, &discovery, "gone", refused).await;
    register(&s, &discovery, "one", named_server("one").await).await;
    let endpoints = endpoints_when(&s, |l| endpoint(l, "quiet").is_some()).await;
    let e = endpoint(&endpoints, "quiet").unwrap();
    assert_eq!(e["fastPath"], json!([]), "{e}");
    let address: SocketAddr = e["address"].as_str().unwrap().parse().unwrap();
    // The proxy skips the instance that refuses for the next one.
    for _ in 0..4 {
        let mut c = tokio::net::TcpStream::connect(address).await.unwrap();
        let mut answer = String::new();
        tokio::time::timeout(Duration::from_secs(10), c.read_to_string(&mut answer))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(answer, "one");
    }

    // idleTimeoutSeconds 1: a connection that goes quiet is closed.
    let quiet = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let quiet_addr = quiet.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = vec![];
        while let Ok((c, _)) = quiet.accept().await {
            held.push(c);
        }
    });
    for id in ["one", "gone"] {
        sd(
            &s,
            "DeregisterInstance",
            json!({"ServiceId": discovery, "InstanceId": id}),
        )
        .await;
    }
    register(&s, &discovery, "held", quiet_addr).await;
    let mut c = tokio::net::TcpStream::connect(address).await.unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 8];
    let n = tokio::time::timeout(Duration::from_secs(20), c.read(&mut buf))
        .await
        .expect("the idle connection was not closed")
        .unwrap_or(0);
    assert_eq!(n, 0);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );

    // With no instance left the endpoint closes new connections.
    sd(
        &s,
        "DeregisterInstance",
        json!({"ServiceId": discovery, "InstanceId": "held"}),
    )
    .await;
    let mut c = tokio::net::TcpStream::connect(address).await.unwrap();
    let n = tokio::time::timeout(Duration::from_secs(10), c.read(&mut buf))
        .await
        .unwrap()
        .unwrap_or(0);
    assert_eq!(n, 0);
}

/// The extra hosts of the first container created for a task of `service`.
async fn hosts_of_task(
    s: &TestServer,
    fake: &ecsbox::runtime::fake::FakeRuntime,
    service: &str,
) -> Vec<(String, String)> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let v = ecs(
            s,
            "ListTasks",
            json!({"cluster": "c", "serviceName": service}),
        )
        .await
        .unwrap();
        if let Some(arn) = v["taskArns"].as_array().unwrap().first() {
            let arn = arn.as_str().unwrap();
            for id in fake.container_ids() {
                let spec = fake.spec(&id);
                if spec
                    .labels
                    .get("com.amazonaws.ecs.task-arn")
                    .map(String::as_str)
                    == Some(arn)
                {
                    return spec
                        .extra_hosts
                        .iter()
                        .map(|h| (h.hostname.clone(), h.ip.clone()))
                        .collect();
                }
            }
        }
        assert!(Instant::now() < deadline, "no container for {service}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn tasks_start_with_the_endpoints_that_exist_when_they_start() {
    let (s, fake, _) = setup().await;
    // A client started before any endpoint exists knows none (AWS: "Existing
    // tasks can't resolve and connect to the new endpoint", developer
    // guide, "Amazon ECS Service Connect components").
    ecs(
        &s,
        "CreateService",
        create_body(
            "early",
            "web",
            1,
            json!({"enabled": true, "namespace": "app.local"}),
        ),
    )
    .await
    .unwrap();
    assert!(hosts_of_task(&s, &fake, "early").await.is_empty());

    ecs(
        &s,
        "CreateService",
        create_body(
            "api",
            "api",
            0,
            json!({"enabled": true, "namespace": "app.local",
                   "services": [{"portName": "http", "clientAliases": [{"port": 18081, "dnsName": "api"}]}]}),
        ),
    )
    .await
    .unwrap();
    let endpoints = endpoints_when(&s, |l| !l.is_empty()).await;
    let ip = endpoints[0]["address"]
        .as_str()
        .unwrap()
        .split(':')
        .next()
        .unwrap()
        .to_string();

    // A client started after it has it; a service without Service Connect
    // does not.
    ecs(
        &s,
        "CreateService",
        create_body(
            "web",
            "web",
            1,
            json!({"enabled": true, "namespace": "app.local"}),
        ),
    )
    .await
    .unwrap();
    assert_eq!(
        hosts_of_task(&s, &fake, "web").await,
        vec![("api".to_string(), ip)]
    );
    let plain = json!({
        "cluster": "c", "serviceName": "plain", "taskDefinition": "web", "desiredCount": 1,
        "launchType": "FARGATE",
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-0123abcd"]}},
    });
    ecs(&s, "CreateService", plain).await.unwrap();
    assert!(hosts_of_task(&s, &fake, "plain").await.is_empty());
    assert!(hosts_of_task(&s, &fake, "early").await.is_empty());
}
