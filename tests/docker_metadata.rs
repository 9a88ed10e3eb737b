//! The task metadata and credentials endpoints reached from inside real
//! containers: awsvpc and bridge tasks on the machine's Docker engine,
//! busybox `wget` in the task's own network namespace, and the unmodified
//! botocore container credential provider.
//!
//! The endpoints listen where ECS serves them, 169.254.170.2:80 (ecsbox puts
//! the address on the loopback interface; these tests run as root). When
//! another process holds port 80 there, the endpoints take a free port and
//! hand out AWS_CONTAINER_CREDENTIALS_FULL_URI: the tests accept either, as
//! the SDKs do.
//!
//! Probe containers are made by hand with the environment the task
//! controller injects (`Endpoints::container_env`), inside the task's
//! network namespace (awsvpc) or on the default bridge (bridge tasks).
mod common;
#[path = "common/docker.rs"]
mod docker_common;

use docker_common::*;
use ecsbox::config::Config;
use ecsbox::metadata::{ApiHandler, Endpoints, ECS_ENDPOINT_ADDRESS};
use ecsbox::runtime::{ContainerRuntime, ContainerSpec, Mount, MountSource, NetworkMode};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const GUESS: &str = "0b1d5c0e-3b7a-4c1e-9f0a-6d2e8a4b7c91";
const ROLE: &str = "arn:aws:iam::000000000000:role/app-role";

/// Task endpoints on 169.254.170.2:80 over `d`'s store and engine; requests
/// that are not for them go to `d`'s API, as the server wires it.
fn endpoints(d: &DockerServer) -> Endpoints {
    let mut config = Config::for_tests();
    config.task_endpoint_listen = ECS_ENDPOINT_ADDRESS.parse().unwrap();
    let endpoints = Endpoints::new(&config, d.server.app.store.clone(), d.docker.clone());
    endpoints.serve(Some(forward_to(d.server.addr)));
    let address = endpoints.address().expect("the task endpoints listen");
    if address.to_string() != ECS_ENDPOINT_ADDRESS {
        eprintln!("note: 169.254.170.2:80 is taken; the endpoints listen on {address} (FULL_URI credentials)");
    }
    endpoints
}

/// An API handler that relays the request to the ecsbox server at `addr`.
fn forward_to(addr: SocketAddr) -> ApiHandler {
    Arc::new(move |req, _peer| {
        Box::pin(async move {
            use http_body_util::BodyExt;
            let (parts, body) = req.into_parts();
            let body = body
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let mut raw = format!(
                "{} {} HTTP/1.1\r\n",
                parts.method,
                parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/")
            );
            for (name, value) in &parts.headers {
                if name != http::header::CONNECTION && name != http::header::CONTENT_LENGTH {
                    raw.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap_or("")));
                }
            }
            raw.push_str(&format!(
                "content-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            ));
            let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            stream.write_all(raw.as_bytes()).await.unwrap();
            stream.write_all(&body).await.unwrap();
            let mut answer = Vec::new();
            stream.read_to_end(&mut answer).await.unwrap();
            let split = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
            let head = String::from_utf8_lossy(&answer[..split]).to_string();
            let mut builder = http::Response::builder()
                .status(head.split(' ').nth(1).unwrap().parse::<u16>().unwrap());
            for line in head.lines().skip(1) {
                if let Some((k, v)) = line.split_once(": ") {
                    if !k.eq_ignore_ascii_case("transfer-encoding")
                        && !k.eq_ignore_ascii_case("connection")
                    {
                        builder = builder.header(k, v);
                    }
                }
            }
            let body = bytes::Bytes::copy_from_slice(&answer[split + 4..]);
            builder.body(http_body_util::Full::new(body)).unwrap()
        })
    })
}

/// Runs `script` in a busybox container with `env` and returns its output
/// lines once it exits.
async fn probe(
    d: &DockerServer,
    network: NetworkMode,
    env: Vec<(String, String)>,
    script: &str,
) -> Vec<String> {
    probe_with(
        d,
        network,
        env,
        vec![],
        vec!["sh".into(), "-c".into(), script.into()],
    )
    .await
}

async fn probe_with(
    d: &DockerServer,
    network: NetworkMode,
    env: Vec<(String, String)>,
    mounts: Vec<Mount>,
    command: Vec<String>,
) -> Vec<String> {
    let spec = ContainerSpec {
        image: BUSYBOX.into(),
        labels: d.guard.labels(),
        env,
        network_mode: network,
        mounts,
        command: Some(command),
        ..Default::default()
    };
    let id = d.docker.create_container(&spec).await.unwrap();
    d.docker.start_container(&id).await.unwrap();
    let deadline = Instant::now() + DEADLINE;
    while !d.inspect(&id).await.status.is_terminal() {
        assert!(
            Instant::now() < deadline,
            "the probe never finished: {:?}",
            d.log_lines(&id).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    d.log_lines(&id).await
}

/// The line printed after `marker`.
fn after<'a>(lines: &'a [String], marker: &str) -> &'a str {
    let at = lines
        .iter()
        .position(|l| l == marker)
        .unwrap_or_else(|| panic!("no {marker} in {lines:#?}"));
    lines
        .get(at + 1)
        .map(String::as_str)
        .unwrap_or_else(|| panic!("nothing after {marker} in {lines:#?}"))
}

fn json_after(lines: &[String], marker: &str) -> Value {
    let line = after(lines, marker);
    serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("{marker}: not JSON ({e}): {line}\n{lines:#?}"))
}

fn env<'a>(vars: &'a [(String, String)], name: &str) -> Option<&'a str> {
    vars.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The variables the controller gives container `name` of task `arn`.
fn container_env(
    d: &DockerServer,
    endpoints: &Endpoints,
    arn: &str,
    name: &str,
) -> Vec<(String, String)> {
    let record = d
        .server
        .app
        .store
        .region("000000000000", "us-east-1")
        .lock()
        .tasks
        .get(arn)
        .unwrap()
        .clone();
    let def = record
        .definition
        .container_definitions
        .iter()
        .flatten()
        .find(|c| c.name.as_deref() == Some(name))
        .unwrap()
        .clone();
    let token = endpoints.register_container("000000000000", "us-east-1", arn, name);
    endpoints.container_env(&token, &record, &def)
}

/// Asserts the credentials variable is the one ECS sets when the endpoints
/// are on 169.254.170.2:80, the full URI otherwise.
fn check_credentials_variable(endpoints: &Endpoints, vars: &[(String, String)]) {
    if endpoints.address().unwrap().to_string() == ECS_ENDPOINT_ADDRESS {
        let relative =
            env(vars, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").expect("the relative URI ECS sets");
        assert!(relative.starts_with("/v2/credentials/"), "{relative}");
        assert_eq!(env(vars, "AWS_CONTAINER_CREDENTIALS_FULL_URI"), None);
        assert_eq!(
            env(vars, "ECS_CONTAINER_METADATA_URI_V4")
                .map(|u| u.starts_with("http://169.254.170.2/v4/")),
            Some(true)
        );
    } else {
        assert!(env(vars, "AWS_CONTAINER_CREDENTIALS_FULL_URI")
            .unwrap()
            .starts_with("http://169.254.170.2:"));
    }
}

/// Fetches what a task container would, as busybox wget in the container does.
const FETCH_ALL: &str = r#"
CREDS="${AWS_CONTAINER_CREDENTIALS_FULL_URI:-http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI}"
echo --container--; wget -q -O - "$ECS_CONTAINER_METADATA_URI_V4"; echo
echo --task--; wget -q -O - "$ECS_CONTAINER_METADATA_URI_V4/task"; echo
echo --stats--; wget -q -O - "$ECS_CONTAINER_METADATA_URI_V4/stats"; echo
echo --task-stats--; wget -q -O - "$ECS_CONTAINER_METADATA_URI_V4/task/stats"; echo
echo --v3--; wget -q -O - "$ECS_CONTAINER_METADATA_URI"; echo
echo --creds--; wget -q -O - "$CREDS"; echo
"#;

#[tokio::test]
async fn an_awsvpc_task_reads_its_metadata_and_credentials_from_inside() {
    let d = DockerServer::start().await;
    let endpoints = endpoints(&d);
    d.ecs
        .register_task_definition()
        .family("meta")
        .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
        .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .task_role_arn(ROLE)
        .container_definitions(sh("app", "sleep 300").build())
        .container_definitions(sh("sidecar", "sleep 300").essential(false).build())
        .send()
        .await
        .unwrap();
    let arn = d.run_one("meta").await;
    let task = d.wait_running(&arn).await;
    let vars = container_env(&d, &endpoints, &arn, "app");
    check_credentials_variable(&endpoints, &vars);

    // The probe joins the task's network namespace, as the task's own containers do.
    let record = d
        .server
        .app
        .store
        .region("000000000000", "us-east-1")
        .lock()
        .tasks
        .get(&arn)
        .unwrap()
        .clone();
    let owner = record
        .runtime
        .namespace_holder
        .clone()
        .unwrap_or_else(|| runtime_id(&task, "app"));
    let lines = probe(&d, NetworkMode::Container(owner.clone()), vars, FETCH_ALL).await;

    let app_id = runtime_id(&task, "app");
    let c = json_after(&lines, "--container--");
    assert_eq!(c["DockerId"], app_id.as_str());
    assert_eq!(c["Name"], "app");
    assert_eq!(c["Image"], BUSYBOX);
    assert_eq!(c["KnownStatus"], "RUNNING");
    assert_eq!(c["Labels"]["com.amazonaws.ecs.task-arn"], arn.as_str());
    // Docker's own times, in Go's RFC 3339 form.
    let time =
        |v: &Value| ecsbox::runtime::timestamp::parse_docker_time(v.as_str().unwrap()).unwrap();
    assert!(time(&c["CreatedAt"]) <= time(&c["StartedAt"]), "{c}");
    let docker_ip = d
        .inspect(&owner)
        .await
        .networks
        .values()
        .next()
        .unwrap()
        .ip_address
        .clone()
        .unwrap();
    assert_eq!(c["Networks"][0]["NetworkMode"], "awsvpc");
    assert_eq!(c["Networks"][0]["IPv4Addresses"][0], docker_ip.as_str());
    assert_eq!(
        eni_ip(&task),
        docker_ip,
        "the metadata and DescribeTasks agree on the address"
    );

    let t = json_after(&lines, "--task--");
    assert_eq!(t["TaskARN"], arn.as_str());
    assert_eq!(t["Family"], "meta");
    assert_eq!(t["LaunchType"], "FARGATE");
    assert_eq!(t["Limits"]["CPU"], 0.25);
    assert_eq!(t["Containers"].as_array().unwrap().len(), 2);

    // Real Docker stats: a CPU percentage can be computed from them.
    let stats = json_after(&lines, "--stats--");
    assert!(stats["read"].as_str().unwrap().starts_with("20"), "{stats}");
    assert!(
        stats["cpu_stats"]["cpu_usage"]["total_usage"]
            .as_u64()
            .unwrap()
            > 0,
        "{stats}"
    );
    assert!(
        stats["precpu_stats"]["system_cpu_usage"]
            .as_u64()
            .unwrap_or(0)
            > 0,
        "{stats}"
    );
    assert!(
        stats["memory_stats"]["usage"].as_u64().unwrap() > 0,
        "{stats}"
    );
    let per_task = json_after(&lines, "--task-stats--");
    assert!(
        per_task.get(app_id.as_str()).is_some()
            && per_task.get(runtime_id(&task, "sidecar")).is_some(),
        "{per_task}"
    );

    let v3 = json_after(&lines, "--v3--");
    assert_eq!(v3["DockerId"], app_id.as_str());
    assert!(v3.get("ContainerARN").is_none());

    let creds = json_after(&lines, "--creds--");
    assert_eq!(creds["RoleArn"], ROLE);
    assert_eq!(creds["AccessKeyId"], "000000000000");
    assert!(
        !creds["SecretAccessKey"].as_str().unwrap().is_empty()
            && !creds["Token"].as_str().unwrap().is_empty()
    );
    endpoints.shutdown();
}

#[tokio::test]
async fn a_bridge_task_reads_its_metadata_and_another_tasks_is_refused() {
    let d = DockerServer::start_with(&["--container-instances", "1"]).await;
    let endpoints = endpoints(&d);
    d.register_bridge("api", vec![sh("api", "sleep 300").memory(64).build()])
        .await;
    let mut arns = d.run_ec2("api", 2).await;
    let (mine, theirs) = (arns.remove(0), arns.remove(0));
    let task = d.wait_running(&mine).await;
    d.wait_running(&theirs).await;
    let vars = container_env(&d, &endpoints, &mine, "api");
    let their_vars = container_env(&d, &endpoints, &theirs, "api");
    assert_eq!(env(&vars, "AWS_EXECUTION_ENV"), Some("AWS_ECS_EC2"));
    assert!(
        env(&vars, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").is_none(),
        "no task role, no credentials"
    );

    // The probe sits on the default bridge, as a bridge task's container does.
    let their_task_uri = format!(
        "{}/task",
        env(&their_vars, "ECS_CONTAINER_METADATA_URI_V4").unwrap()
    );
    let script = format!(
        r#"echo --container--; wget -q -O - "$ECS_CONTAINER_METADATA_URI_V4"; echo
echo --task--; wget -q -O - "$ECS_CONTAINER_METADATA_URI_V4/task"; echo
echo --guess--; wget -q -O - "${{ECS_CONTAINER_METADATA_URI_V4%/*}}/{GUESS}/task" 2>&1; echo "exit=$?"
echo --guess-creds--; wget -q -O - "${{ECS_CONTAINER_METADATA_URI_V4%/v4/*}}/v2/credentials/{GUESS}" 2>&1; echo "exit=$?"
echo --theirs--; wget -q -O - "{their_task_uri}"; echo"#
    );
    let lines = probe(&d, NetworkMode::Bridge, vars, &script).await;

    let c = json_after(&lines, "--container--");
    let api_id = runtime_id(&task, "api");
    assert_eq!(c["DockerId"], api_id.as_str());
    let bridge_ip = d.inspect(&api_id).await.networks["bridge"]
        .ip_address
        .clone()
        .unwrap();
    assert_eq!(
        c["Networks"][0],
        serde_json::json!({"NetworkMode": "bridge", "IPv4Addresses": [bridge_ip]})
    );
    let t = json_after(&lines, "--task--");
    assert_eq!(t["TaskARN"], mine.as_str());
    assert_eq!(t["Cluster"], CLUSTER);
    assert_eq!(t["LaunchType"], "EC2");

    // A token nobody gave this container gets nothing.
    let guess: Vec<&String> = lines
        .iter()
        .skip_while(|l| *l != "--guess--")
        .take_while(|l| *l != "--guess-creds--")
        .collect();
    assert!(guess.iter().any(|l| l.contains("404")), "{lines:#?}");
    assert!(guess.iter().any(|l| *l == "exit=1"), "{lines:#?}");
    assert!(
        !guess
            .iter()
            .any(|l| l.contains(mine.as_str()) || l.contains(theirs.as_str())),
        "{lines:#?}"
    );
    let creds: Vec<&String> = lines
        .iter()
        .skip_while(|l| *l != "--guess-creds--")
        .take_while(|l| *l != "--theirs--")
        .collect();
    assert!(
        creds.iter().any(|l| l.contains("400")) && creds.iter().any(|l| *l == "exit=1"),
        "{lines:#?}"
    );
    // Only the other task's own token (which only its containers have) shows the other task.
    assert_eq!(json_after(&lines, "--theirs--")["TaskARN"], theirs.as_str());
    endpoints.shutdown();
}

/// The host's Python with botocore, if it has one: (interpreter, its prefixes).
fn host_botocore() -> Option<(String, Vec<String>)> {
    let out = std::process::Command::new("python3")
        .args(["-c", "import sys, botocore; print(sys.executable); print(sys.prefix); print(sys.base_prefix)"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let mut lines = text.lines().map(str::to_string);
    let python = lines.next()?;
    let mut prefixes: Vec<String> = lines.collect();
    prefixes.dedup();
    Some((python, prefixes))
}

/// botocore, unmodified, in a task of account 123456789012: its container
/// credential provider fetches the task role's credentials from
/// 169.254.170.2, and its calls go to AWS_ENDPOINT_URL, i.e. ecsbox, and
/// land in the task's account.
#[tokio::test]
async fn the_sdk_in_a_task_finds_its_credentials_and_reaches_ecsbox() {
    let Some((python, prefixes)) = host_botocore() else {
        eprintln!("skipped: the host has no python3 with botocore to mount into a container");
        return;
    };
    let d = DockerServer::start().await;
    let endpoints = endpoints(&d);
    const ACCOUNT: &str = "123456789012";
    let ecs = d.server.client_as(ACCOUNT, "secret", "us-east-1");
    ecs.create_cluster()
        .cluster_name("team-cluster")
        .send()
        .await
        .unwrap();
    ecs.register_task_definition()
        .family("sdk")
        .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
        .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .task_role_arn(format!("arn:aws:iam::{ACCOUNT}:role/sdk"))
        .container_definitions(sh("app", "sleep 300").build())
        .send()
        .await
        .unwrap();
    let out = ecs
        .run_task()
        .cluster("team-cluster")
        .task_definition("sdk")
        .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
        .network_configuration(awsvpc())
        .send()
        .await
        .unwrap();
    let arn = out.tasks()[0].task_arn().unwrap().to_string();
    let deadline = Instant::now() + DEADLINE;
    let record = loop {
        let found = d
            .server
            .app
            .store
            .region(ACCOUNT, "us-east-1")
            .lock()
            .tasks
            .get(&arn)
            .cloned()
            .unwrap();
        if found.task.last_status.as_deref() == Some("RUNNING") {
            break found;
        }
        assert!(
            Instant::now() < deadline && found.task.last_status.as_deref() != Some("STOPPED"),
            "{:#?}",
            found.task
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let def = record.definition.container_definitions.as_ref().unwrap()[0].clone();
    let token = endpoints.register_container(ACCOUNT, "us-east-1", &arn, "app");
    let vars = endpoints.container_env(&token, &record, &def);
    check_credentials_variable(&endpoints, &vars);
    assert_eq!(
        env(&vars, "AWS_ENDPOINT_URL"),
        endpoints.base_url().as_deref()
    );

    let owner = record
        .runtime
        .namespace_holder
        .clone()
        .unwrap_or_else(|| record.runtime.containers["app"].clone());
    let mut mounts: Vec<Mount> = ["/usr", "/lib", "/lib64"]
        .iter()
        .filter(|p| std::path::Path::new(p).exists())
        .map(|p| Mount {
            source: MountSource::HostPath(p.to_string()),
            container_path: p.to_string(),
            read_only: true,
        })
        .collect();
    for prefix in &prefixes {
        mounts.push(Mount {
            source: MountSource::HostPath(prefix.clone()),
            container_path: prefix.clone(),
            read_only: true,
        });
    }
    let script = "import botocore.session, json\n\
                  s = botocore.session.get_session()\n\
                  creds = s.get_credentials()\n\
                  print('provider=' + creds.method)\n\
                  print('key=' + creds.get_frozen_credentials().access_key)\n\
                  clusters = s.create_client('ecs').list_clusters()['clusterArns']\n\
                  print('clusters=' + json.dumps(clusters))\n";
    let lines = probe_with(
        &d,
        NetworkMode::Container(owner),
        vars,
        mounts,
        vec![python, "-c".into(), script.into()],
    )
    .await;
    assert!(
        lines.contains(&"provider=container-role".to_string()),
        "{lines:#?}"
    );
    assert!(lines.contains(&format!("key={ACCOUNT}")), "{lines:#?}");
    let expected = format!("clusters=[\"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/team-cluster\"]");
    assert!(
        lines.contains(&expected),
        "the SDK's call reached ecsbox in the task's account: {lines:#?}"
    );
    endpoints.shutdown();
}
