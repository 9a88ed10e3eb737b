//! Service Connect end to end on the real Docker engine: an `api` service
//! with a client alias `api:8080`, and a client-only `web` service in the
//! same namespace whose task calls `http://api:8080/` (busybox wget, a new
//! connection each time) in a loop. The calls reach both api tasks (through
//! the kernel's fast path, DNAT rules ecsbox keeps), and a rolling
//! deployment of api under them fails none: new tasks join once they
//! accept connections, old ones leave Cloud Map and the rules and drain
//! before their containers stop. The
//! test's `EngineGuard` removes every container and network when it ends.
mod common;
#[path = "common/docker.rs"]
mod docker_common;

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

async fn ecs(s: &DockerServer, op: &str, body: Value) -> Value {
    let r = s.server.ecs_raw(op, &body.to_string()).await;
    assert_eq!(r.status, 200, "{op}: {}", r.body);
    r.json()
}

/// The api tasks Cloud Map lists behind the alias (instance ids).
async fn registered(s: &DockerServer) -> BTreeSet<String> {
    let v = sd(
        s,
        "DiscoverInstances",
        json!({"NamespaceName": "app.local", "ServiceName": "api"}),
    )
    .await;
    v["Instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["InstanceId"].as_str().unwrap().to_string())
        .collect()
}

async fn wait_until<T>(what: &str, limit: Duration, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The `web` task's log: one line per call, `ok HOSTNAME` or `FAIL`.
async fn calls(s: &DockerServer, web_container: &str) -> Vec<String> {
    let lines = s.log_lines(web_container).await;
    let calls: Vec<String> = lines
        .iter()
        .filter(|l| l.starts_with("ok ") || l.starts_with("FAIL"))
        .cloned()
        .collect();
    // Anything else but the address line is the caller going wrong.
    let odd: Vec<&String> = lines
        .iter()
        .filter(|l| !l.starts_with("api is ") && !calls.contains(l))
        .collect();
    assert!(
        odd.is_empty(),
        "the caller says {odd:?} (after {:?}; {:?})",
        calls.last(),
        lines.first()
    );
    calls
}

/// The web task's loop. It reads `api`'s address from /etc/hosts, where
/// Service Connect put it, rather than through wget: the test image's
/// busybox is statically linked against glibc, which cannot load the NSS
/// module that reads /etc/hosts and crashes (any other image resolves the
/// name through /etc/hosts as usual). No `-T`: that busybox crashes on it too.
const CALLER: &str = "trap 'exit 0' TERM; \
    api=$(awk '$2 == \"api\" { print $1; exit }' /etc/hosts); echo \"api is $api\"; \
    while true; do \
      if page=$(wget -qO- http://$api:8080/); then echo \"ok $page\"; else echo FAIL; fi; \
      usleep 20000; \
    done";

const NET: &str = r#"{"awsvpcConfiguration": {"subnets": ["subnet-0e2a7bcd"]}}"#;

/// The api service: `tasks` web servers answering their hostname, the
/// port named `http` (8080) behind the client alias `api:8080`; awsvpc on
/// Fargate, or bridge on a container instance with a dynamic host port.
async fn create_api(s: &DockerServer, bridge: bool, tasks: i32) {
    let mut container = json!({
        "name": "web", "image": BUSYBOX, "stopTimeout": 2, "memory": 64,
        "command": ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && trap 'exit 0' TERM; httpd -f -p 8080 -h /www & wait"],
        "portMappings": [{"name": "http", "containerPort": 8080, "appProtocol": "http"}],
    });
    let mut td = json!({"family": "api", "containerDefinitions": []});
    let mut service = json!({
        "cluster": "c", "serviceName": "api", "taskDefinition": "api", "desiredCount": tasks,
        "serviceConnectConfiguration": {"enabled": true, "namespace": "app.local",
            "services": [{"portName": "http", "discoveryName": "api",
                          "clientAliases": [{"port": 8080, "dnsName": "api"}]}]},
    });
    if bridge {
        container["portMappings"][0]["hostPort"] = json!(0);
        td["networkMode"] = json!("bridge");
        service["launchType"] = json!("EC2");
    } else {
        td["networkMode"] = json!("awsvpc");
        td["cpu"] = json!("256");
        td["memory"] = json!("512");
        td["requiresCompatibilities"] = json!(["FARGATE"]);
        service["launchType"] = json!("FARGATE");
        service["networkConfiguration"] = serde_json::from_str(NET).unwrap();
    }
    td["containerDefinitions"] = json!([container]);
    ecs(s, "RegisterTaskDefinition", td).await;
    ecs(s, "CreateService", service).await;
}

/// Waits until `count` api tasks are registered and the kernel's fast path
/// carries the alias to them (ecsbox's proxy stands behind it); answers
/// their instance ids.
async fn wait_api(s: &DockerServer, count: usize) -> BTreeSet<String> {
    let registered = wait_until(
        "api tasks registered",
        Duration::from_secs(60),
        async || {
            let r = registered(s).await;
            (r.len() == count).then_some(r)
        },
    )
    .await;
    wait_until(
        "the fast path to the api tasks",
        Duration::from_secs(30),
        async || {
            let r = s
                .server
                .raw("GET", "/_ecsbox/service-connect", &[], b"")
                .await;
            let v: Value = r.json();
            (v["endpoints"][0]["fastPath"].as_array().map(Vec::len) == Some(count)).then_some(())
        },
    )
    .await;
    registered
}

/// The client-only web service (awsvpc) whose task calls the alias about
/// fifty times a second, a new connection each time; answers its
/// container's id.
async fn start_caller(s: &DockerServer) -> String {
    let web = json!({
        "family": "web", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
        "requiresCompatibilities": ["FARGATE"],
        "containerDefinitions": [{
            "name": "caller", "image": BUSYBOX, "stopTimeout": 2,
            "command": ["sh", "-c", CALLER],
        }],
    });
    ecs(s, "RegisterTaskDefinition", web).await;
    let net: Value = serde_json::from_str(NET).unwrap();
    ecs(
        s,
        "CreateService",
        json!({
            "cluster": "c", "serviceName": "web", "taskDefinition": "web", "desiredCount": 1,
            "launchType": "FARGATE", "networkConfiguration": net,
            "serviceConnectConfiguration": {"enabled": true, "namespace": "app.local"},
        }),
    )
    .await;
    wait_until(
        "the web task running",
        Duration::from_secs(60),
        async || {
            let arns = s
                .ecs
                .list_tasks()
                .cluster("c")
                .service_name("web")
                .send()
                .await
                .unwrap()
                .task_arns()
                .to_vec();
            let arn = arns.first()?;
            let t = s.describe(arn).await;
            (t.last_status() == Some("RUNNING")).then(|| runtime_id(&t, "caller"))
        },
    )
    .await
}

/// The api hostnames the caller's calls reached, once there are `count`.
async fn hosts_reached(s: &DockerServer, caller: &str, count: usize) -> BTreeSet<String> {
    wait_until(
        "calls reaching the api tasks",
        Duration::from_secs(30),
        async || {
            let c = calls(s, caller).await;
            let hosts: BTreeSet<String> = c
                .iter()
                .filter_map(|l| l.strip_prefix("ok "))
                .map(String::from)
                .collect();
            (hosts.len() >= count).then_some(hosts)
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bridge_service_is_reached_through_its_alias_from_an_awsvpc_client() {
    let s = DockerServer::start_with(&["--container-instances", "1"]).await;
    sd(&s, "CreateHttpNamespace", json!({"Name": "app.local"})).await;
    create_api(&s, true, 2).await;
    wait_api(&s, 2).await;
    let caller = start_caller(&s).await;
    // Both bridge tasks answer, through their published host ports.
    assert_eq!(hosts_reached(&s, &caller, 2).await.len(), 2);
    let c = calls(&s, &caller).await;
    assert!(!c.iter().any(|l| l.starts_with("FAIL")), "{c:?}");
    finish(s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_reaches_the_alias_through_a_rolling_deployment_without_a_failed_call() {
    let s = DockerServer::start().await;
    sd(&s, "CreateHttpNamespace", json!({"Name": "app.local"})).await;
    create_api(&s, false, 2).await;
    let first = wait_api(&s, 2).await;
    let caller = start_caller(&s).await;
    // Both api tasks answer through the alias.
    let before = hosts_reached(&s, &caller, 2).await;

    // A rolling deployment of api under the calls.
    s.ecs
        .update_service()
        .cluster("c")
        .service("api")
        .force_new_deployment(true)
        .send()
        .await
        .unwrap();
    wait_until(
        "the new api tasks in place",
        Duration::from_secs(120),
        async || {
            let svc = s
                .ecs
                .describe_services()
                .cluster("c")
                .services("api")
                .send()
                .await
                .unwrap()
                .services()[0]
                .clone();
            let r = registered(&s).await;
            (svc.deployments().len() == 1
                && svc.deployments()[0].rollout_state().map(|r| r.as_str()) == Some("COMPLETED")
                && r.len() == 2
                && r.is_disjoint(&first))
            .then_some(())
        },
    )
    .await;
    // And the calls reach the new tasks.
    let after = wait_until(
        "calls reaching the new api tasks",
        Duration::from_secs(30),
        async || {
            let c = calls(&s, &caller).await;
            let hosts: BTreeSet<String> = c
                .iter()
                .filter_map(|l| l.strip_prefix("ok "))
                .map(String::from)
                .collect();
            (hosts.difference(&before).count() == 2).then_some(c)
        },
    )
    .await;
    let failed = after.iter().filter(|l| l.starts_with("FAIL")).count();
    assert!(after.len() > 20, "the calls ran: {}", after.len());
    assert_eq!(
        failed,
        0,
        "{failed} of {} calls failed: {after:?}",
        after.len()
    );
    finish(s).await;
}

/// Ends a test: forgets every service and removes every task while the
/// test's runtime still runs, so no scheduler relaunches a task after the
/// `EngineGuard` has cleaned up (the guard stays the net for a failed test).
async fn finish(s: DockerServer) {
    s.server.app.reset().await;
}
