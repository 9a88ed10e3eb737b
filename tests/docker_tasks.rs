//! Tasks end to end on the machine's real Docker engine: RunTask through the
//! real aws-sdk-ecs client, checked against what Docker really did.
//!
//! Each test starts its own ecsbox server with a unique instance id; its
//! `EngineGuard` removes every container and network carrying that id when
//! the test ends, failed or not. The image is the locally built
//! `ecsbox-test/busybox:latest` (`scripts/build-test-images.sh`).
mod common;
#[path = "common/docker.rs"]
mod docker_common;

use aws_sdk_ecs::client::Waiters;
use aws_sdk_ecs::types::{
    ContainerCondition, ContainerDefinition, ContainerDependency, HealthCheck, HealthStatus,
    KeyValuePair, PortMapping, Task, Ulimit, UlimitName,
};
use docker_common::*;
use ecsbox::runtime::{ContainerRuntime, ContainerStatus, LabelFilter, OWNER_LABEL};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const MIB: i64 = 1024 * 1024;

fn stop_code(t: &Task) -> Option<&str> {
    t.stop_code().map(|c| c.as_str())
}

/// True when a `docker inspect` port map publishes nothing on the host.
fn publishes_nothing(ports: &serde_json::Value) -> bool {
    match ports {
        serde_json::Value::Null => true,
        serde_json::Value::Object(map) => map
            .values()
            .all(|b| b.is_null() || b.as_array().is_some_and(|a| a.is_empty())),
        _ => false,
    }
}

/// The awsvpc namespace holder among a task's Docker containers.
async fn holder_of(s: &DockerServer, arn: &str) -> ecsbox::runtime::ContainerSummary {
    let all = s.task_containers(arn).await;
    all.iter()
        .find(|c| c.labels.get("ecsbox.role").map(String::as_str) == Some("namespace-holder"))
        .cloned()
        .unwrap_or_else(|| panic!("no namespace holder among {all:#?}"))
}

/// Polls the container's log until it holds every line of `want`.
async fn wait_for_log(s: &DockerServer, id: &str, want: &[&str]) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let lines = s.log_lines(id).await;
        if want.iter().all(|w| lines.iter().any(|l| l == w)) {
            return lines;
        }
        assert!(
            Instant::now() < deadline,
            "log of {id} never showed {want:?}: {lines:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

// ---- 1, 2: awsvpc networking ---------------------------------------------------

/// In AWS every container of an awsvpc task shares the ENI's network
/// namespace: they reach each other on localhost, and the task is reached on
/// its private IP, never through host ports.
#[tokio::test]
async fn containers_of_an_awsvpc_task_talk_over_localhost_and_the_host_reaches_its_ip() {
    let s = DockerServer::start().await;
    let web = sh(
        "web",
        "mkdir -p /tmp/www && echo hello-from-web > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www",
    )
    .port_mappings(PortMapping::builder().container_port(8080).build())
    .build();
    let client = sh(
        "client",
        "for i in $(seq 1 50); do if wget -q -O - http://localhost:8080/index.html; then exit 0; fi; sleep 0.2; done; exit 1",
    )
    .essential(false)
    .build();
    s.register("web", vec![web, client]).await;
    let arn = s.run_one("web").await;

    // `aws ecs wait tasks-running`, as the SDK has it.
    let running = s
        .ecs
        .wait_until_tasks_running()
        .cluster(CLUSTER)
        .tasks(&arn)
        .wait(DEADLINE)
        .await;
    let running = running
        .expect("tasks-running waiter")
        .into_result()
        .expect("DescribeTasks");
    assert_eq!(running.tasks()[0].last_status(), Some("RUNNING"));

    // The client (not essential) fetched the page over localhost and exited 0;
    // the task keeps running.
    let t = s
        .wait_for(&arn, "client exited", |t| {
            container(t, "client").last_status() == Some("STOPPED")
        })
        .await;
    assert_eq!(t.last_status(), Some("RUNNING"), "{t:#?}");
    assert_eq!(container(&t, "client").exit_code(), Some(0), "{t:#?}");
    let logs = s.log_lines(&runtime_id(&t, "client")).await;
    assert!(
        logs.iter().any(|l| l == "hello-from-web"),
        "client output: {logs:?}"
    );

    // The host reaches the task on its ENI address.
    let ip = eni_ip(&t);
    for c in t.containers() {
        assert_eq!(
            c.network_interfaces()
                .first()
                .and_then(|n| n.private_ipv4_address()),
            Some(ip.as_str()),
            "{c:#?}"
        );
        assert!(
            c.network_bindings().is_empty(),
            "awsvpc containers have no host port bindings: {c:#?}"
        );
    }
    let body = http_get_eventually(&ip, 8080, "/index.html", Duration::from_secs(10)).await;
    assert_eq!(body.trim(), "hello-from-web");

    // Nothing of the task is published on a host port.
    let containers = s.task_containers(&arn).await;
    assert_eq!(
        containers.len(),
        3,
        "web, client and the namespace holder: {containers:#?}"
    );
    for c in containers {
        let j = docker_inspect(&c.id).await;
        assert!(
            publishes_nothing(&j["HostConfig"]["PortBindings"]),
            "{}: {}",
            c.name,
            j["HostConfig"]["PortBindings"]
        );
        assert!(
            publishes_nothing(&j["NetworkSettings"]["Ports"]),
            "{}: {}",
            c.name,
            j["NetworkSettings"]["Ports"]
        );
    }
}

#[tokio::test]
async fn two_copies_of_an_awsvpc_task_listen_on_the_same_port_without_collision() {
    let s = DockerServer::start().await;
    // Each copy serves its own hostname, to tell the two apart.
    let web = sh(
        "web",
        "mkdir -p /tmp/www && hostname > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www",
    )
    .port_mappings(PortMapping::builder().container_port(8080).build())
    .build();
    s.register("twin", vec![web]).await;
    // One after the other, so this test is about ports only (starting
    // several at once is the next test's subject).
    let arns = [s.run_one("twin").await, String::new()];
    let first = s.wait_running(&arns[0]).await;
    let arns = [arns[0].clone(), s.run_one("twin").await];
    let second = s.wait_running(&arns[1]).await;
    let (ip1, ip2) = (eni_ip(&first), eni_ip(&second));
    assert_ne!(ip1, ip2, "each task has its own address");
    let body1 = http_get_eventually(&ip1, 8080, "/index.html", Duration::from_secs(10)).await;
    let body2 = http_get_eventually(&ip2, 8080, "/index.html", Duration::from_secs(10)).await;
    assert_ne!(body1.trim(), body2.trim(), "two different servers answered");
    for arn in &arns {
        let t = s.describe(arn).await;
        assert_eq!(t.last_status(), Some("RUNNING"), "{t:#?}");
        let info = s.inspect(&runtime_id(&t, "web")).await;
        assert_eq!(info.status, ContainerStatus::Running, "{info:#?}");
    }
}

/// RunTask with `count` starts every copy; the first awsvpc tasks of an
/// instance all need its task network at the same moment.
#[tokio::test]
async fn run_task_with_a_count_starts_every_awsvpc_task() {
    let s = DockerServer::start().await;
    s.register("many", vec![sh("main", "exec sleep 300").build()])
        .await;
    let arns = s.run("many", 3).await;
    assert_eq!(arns.len(), 3);
    let mut ips = Vec::new();
    for arn in &arns {
        ips.push(eni_ip(&s.wait_running(arn).await));
    }
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), 3, "one address per task: {ips:?}");
    assert_eq!(
        s.owned_networks().await.len(),
        1,
        "one task network per instance: {:#?}",
        s.owned_networks().await
    );
}

// ---- 3: exit codes -----------------------------------------------------------------

#[tokio::test]
async fn an_essential_containers_exit_code_comes_back() {
    let s = DockerServer::start().await;
    s.register("exit7", vec![sh("main", "echo bye; exit 7").build()])
        .await;
    let arn = s.run_one("exit7").await;

    // `aws ecs wait tasks-stopped`, as the SDK has it.
    let stopped = s
        .ecs
        .wait_until_tasks_stopped()
        .cluster(CLUSTER)
        .tasks(&arn)
        .wait(DEADLINE)
        .await;
    let stopped = stopped
        .expect("tasks-stopped waiter")
        .into_result()
        .expect("DescribeTasks");
    let t = &stopped.tasks()[0];
    assert_eq!(t.last_status(), Some("STOPPED"));
    assert_eq!(t.desired_status(), Some("STOPPED"));
    assert_eq!(stop_code(t), Some("EssentialContainerExited"), "{t:#?}");
    assert_eq!(
        t.stopped_reason(),
        Some("Essential container in task exited")
    );
    let main = container(t, "main");
    assert_eq!(main.last_status(), Some("STOPPED"));
    assert_eq!(main.exit_code(), Some(7), "{main:#?}");
    assert!(
        t.stopping_at().is_some() && t.stopped_at().is_some() && t.execution_stopped_at().is_some(),
        "{t:#?}"
    );
    // With the default cleanup delay the container stays for `docker logs`.
    assert_eq!(s.log_lines(&runtime_id(t, "main")).await, vec!["bye"]);
}

// ---- 4: dependsOn --------------------------------------------------------------------

fn depends(on: &str, condition: ContainerCondition) -> ContainerDependency {
    ContainerDependency::builder()
        .container_name(on)
        .condition(condition)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_complete_dependency_starts_only_after_the_dependency_exited() {
    let s = DockerServer::start().await;
    // AWS: a container others wait on with COMPLETE or SUCCESS must not be essential.
    let init = sh("init", "sleep 1; echo init-done")
        .essential(false)
        .build();
    let app = sh("app", "exec sleep 300")
        .depends_on(depends("init", ContainerCondition::Complete))
        .build();
    s.register("order", vec![init, app]).await;
    let arn = s.run_one("order").await;
    let t = s.wait_running(&arn).await;
    let init = s.inspect(&runtime_id(&t, "init")).await;
    let app = s.inspect(&runtime_id(&t, "app")).await;
    assert_eq!(init.status, ContainerStatus::Exited, "{init:#?}");
    assert_eq!(init.exit_code, Some(0));
    let (finished, started) = (
        init.finished_at.expect("init finished"),
        app.started_at.expect("app started"),
    );
    assert!(
        started >= finished,
        "app started at {started:?}, before init finished at {finished:?}"
    );
    let t = s
        .wait_for(&arn, "init reported exited", |t| {
            container(t, "init").exit_code().is_some()
        })
        .await;
    assert_eq!(container(&t, "init").exit_code(), Some(0));
    assert_eq!(container(&t, "app").last_status(), Some("RUNNING"));
}

/// A SUCCESS dependency that exits non-zero can never be satisfied. The ECS
/// agent (since 1.61, aws/amazon-ecs-agent#3218) then stops the waiting
/// container without starting it, with the reason "CannotStartContainerError:
/// dependency graph: failed to resolve container ordering dependency ...";
/// that container being essential, the task stops as any task whose
/// essential container stopped.
#[tokio::test]
async fn a_success_dependency_exiting_non_zero_fails_the_task() {
    let s = DockerServer::start().await;
    let init = sh("init", "exit 1").essential(false).build();
    let app = sh("app", "exec sleep 300")
        .depends_on(depends("init", ContainerCondition::Success))
        .build();
    s.register("doomed", vec![init, app]).await;
    let arn = s.run_one("doomed").await;
    let t = s.wait_status(&arn, "STOPPED").await;
    // The dependent container was never started.
    let app_info = s.inspect(&runtime_id(&t, "app")).await;
    assert_eq!(
        app_info.status,
        ContainerStatus::Created,
        "app must never start: {app_info:#?}"
    );
    assert_eq!(container(&t, "init").exit_code(), Some(1), "{t:#?}");
    let app = container(&t, "app");
    assert_eq!(app.last_status(), Some("STOPPED"));
    let reason = app.reason().unwrap_or("");
    assert!(
        reason.starts_with("CannotStartContainerError: "),
        "app's reason: {reason:?} in {t:#?}"
    );
    assert!(
        reason.contains("dependency"),
        "app's reason names the dependency: {reason:?}"
    );
    // The agent marks such a container exited with 143, as if SIGTERM ended it.
    assert_eq!(app.exit_code(), Some(143), "{app:#?}");
    assert_eq!(stop_code(&t), Some("EssentialContainerExited"), "{t:#?}");
    assert_eq!(
        t.stopped_reason(),
        Some("Essential container in task exited")
    );
}

// ---- 5: health checks --------------------------------------------------------------

fn health(command: &str) -> HealthCheck {
    // ECS's minimum interval is 5 seconds.
    HealthCheck::builder()
        .command("CMD-SHELL")
        .command(command)
        .interval(5)
        .timeout(2)
        .retries(1)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_failing_health_check_makes_the_container_and_the_task_unhealthy() {
    let s = DockerServer::start().await;
    let sick = sh("sick", "exec sleep 300")
        .health_check(health("exit 1"))
        .build();
    let fine = sh("fine", "exec sleep 300")
        .health_check(health("exit 0"))
        .build();
    s.register("health", vec![sick, fine]).await;
    let arn = s.run_one("health").await;
    s.wait_running(&arn).await;
    let t = s
        .wait_for(&arn, "sick UNHEALTHY and fine HEALTHY", |t| {
            container(t, "sick").health_status() == Some(&HealthStatus::Unhealthy)
                && container(t, "fine").health_status() == Some(&HealthStatus::Healthy)
        })
        .await;
    assert_eq!(t.health_status(), Some(&HealthStatus::Unhealthy), "{t:#?}");
    // The Docker health check is the definition's.
    let j = docker_inspect(&runtime_id(&t, "sick")).await;
    let hc = &j["Config"]["Healthcheck"];
    assert_eq!(hc["Test"], serde_json::json!(["CMD-SHELL", "exit 1"]));
    assert_eq!(hc["Interval"], serde_json::json!(5_000_000_000i64));
    assert_eq!(hc["Retries"], serde_json::json!(1));
    // A standalone task is not stopped for being unhealthy (only a service
    // replaces unhealthy tasks).
    assert_eq!(t.last_status(), Some("RUNNING"));
}

// ---- 6: containers killed or removed outside ecsbox ---------------------------------------

#[tokio::test]
async fn docker_kill_or_rm_of_an_essential_container_stops_its_task() {
    let s = DockerServer::start().await;
    s.register(
        "victim",
        vec![
            sh("main", "exec sleep 300").build(),
            sh("side", "exec sleep 300").essential(false).build(),
        ],
    )
    .await;
    let arns = [s.run_one("victim").await, String::new()];
    let killed = s.wait_running(&arns[0]).await;
    let arns = [arns[0].clone(), s.run_one("victim").await];
    let removed = s.wait_running(&arns[1]).await;

    let out = docker_cli(&["kill", &runtime_id(&killed, "main")]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t = s.wait_status(&arns[0], "STOPPED").await;
    assert_eq!(stop_code(&t), Some("EssentialContainerExited"), "{t:#?}");
    assert_eq!(
        t.stopped_reason(),
        Some("Essential container in task exited")
    );
    assert_eq!(
        container(&t, "main").exit_code(),
        Some(137),
        "SIGKILL: {t:#?}"
    );

    let out = docker_cli(&["rm", "-f", &runtime_id(&removed, "main")]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t = s.wait_status(&arns[1], "STOPPED").await;
    assert_eq!(stop_code(&t), Some("EssentialContainerExited"), "{t:#?}");
    assert!(t.stopped_reason().is_some_and(|r| !r.is_empty()), "{t:#?}");
    let main = container(&t, "main");
    assert_eq!(main.last_status(), Some("STOPPED"));
    // Its namespace holder went with it.
    let holder = s.inspect(&holder_of(&s, &arns[1]).await.id).await;
    assert!(holder.status.is_terminal(), "{holder:#?}");
}

// ---- 7: missing images ---------------------------------------------------------------

/// AWS: a task whose image cannot be pulled stops with stopCode
/// TaskFailedToStart and `CannotPullContainerError: ...` as its reason.
#[tokio::test]
async fn a_missing_image_stops_the_task_with_cannot_pull_container_error() {
    let s = DockerServer::start().await;
    let ghost = ContainerDefinition::builder()
        .name("main")
        .image("ecsbox-test/does-not-exist:1")
        .build();
    s.register("ghost", vec![ghost]).await;
    let ecr = ContainerDefinition::builder()
        .name("main")
        .image("123456789012.dkr.ecr.us-east-1.amazonaws.com/does-not-exist:1")
        .build();
    // AWS: Fargate pulls from ECR with the task execution role.
    s.ecs
        .register_task_definition()
        .family("ecr-ghost")
        .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
        .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .execution_role_arn("arn:aws:iam::123456789012:role/ecsTaskExecutionRole")
        .container_definitions(ecr)
        .send()
        .await
        .unwrap();
    for family in ["ghost", "ecr-ghost"] {
        let started = Instant::now();
        let arn = &s.run_one(family).await;
        // Quickly: no registry is reachable, and no long pull timeout is waited out.
        let t = s
            .wait_for_within(arn, "STOPPED", Duration::from_secs(20), |t| {
                t.last_status() == Some("STOPPED")
            })
            .await;
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "took {:?}",
            started.elapsed()
        );
        let reason = t.stopped_reason().unwrap_or("");
        assert!(
            reason.starts_with("CannotPullContainerError: "),
            "{reason:?}"
        );
        assert!(
            reason.contains("does-not-exist:1"),
            "the reason names the image: {reason:?}"
        );
        assert_eq!(stop_code(&t), Some("TaskFailedToStart"), "{t:#?}");
        let main = container(&t, "main");
        assert_eq!(main.last_status(), Some("STOPPED"));
        assert!(
            main.reason()
                .is_some_and(|r| r.starts_with("CannotPullContainerError")),
            "container reason: {main:#?}"
        );
        // Nothing of it keeps running.
        for c in s.task_containers(arn).await {
            assert!(s.inspect(&c.id).await.status.is_terminal(), "{c:#?}");
        }
    }
}

// ---- 8: limits and settings ------------------------------------------------------------------

#[tokio::test]
async fn limits_and_settings_reach_the_containers() {
    let s = DockerServer::start().await;
    let app = sh(
        "app",
        "id -u; id -g; pwd; echo \"FOO=$FOO\"; ulimit -n; ulimit -Hn; exec sleep 300",
    )
    .cpu(128)
    .memory(256)
    .memory_reservation(128)
    .ulimits(
        Ulimit::builder()
            .name(UlimitName::Nofile)
            .soft_limit(1000)
            .hard_limit(2000)
            .build()
            .unwrap(),
    )
    .user("1234:1234")
    .working_directory("/srv/app")
    .environment(KeyValuePair::builder().name("FOO").value("bar baz").build())
    .build();
    let probe = "if touch /probe 2>/dev/null; then echo rootfs=writable; else echo rootfs=readonly; fi; exec sleep 300";
    let ro = sh("ro", probe)
        .readonly_root_filesystem(true)
        .essential(false)
        .build();
    let rw = sh("rw", probe).essential(false).build();
    s.register_sized("limits", "512", "1024", vec![app, ro, rw])
        .await;
    let arn = s.run_one("limits").await;
    let t = s.wait_running(&arn).await;

    let app_id = runtime_id(&t, "app");
    let j = docker_inspect(&app_id).await;
    let host = &j["HostConfig"];
    assert_eq!(
        host["NanoCpus"],
        serde_json::json!(500_000_000),
        "task cpu 512 = half a CPU"
    );
    assert_eq!(host["CpuShares"], serde_json::json!(128));
    assert_eq!(host["Memory"], serde_json::json!(256 * MIB));
    assert_eq!(host["MemoryReservation"], serde_json::json!(128 * MIB));
    assert_eq!(
        host["Ulimits"],
        serde_json::json!([{"Name": "nofile", "Soft": 1000, "Hard": 2000}])
    );
    assert_eq!(host["ReadonlyRootfs"], serde_json::json!(false));
    assert_eq!(j["Config"]["User"], serde_json::json!("1234:1234"));
    assert_eq!(j["Config"]["WorkingDir"], serde_json::json!("/srv/app"));
    let env: Vec<&str> = j["Config"]["Env"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(env.contains(&"FOO=bar baz"), "{env:?}");
    wait_for_log(
        &s,
        &app_id,
        &["1234", "/srv/app", "FOO=bar baz", "1000", "2000"],
    )
    .await;
    let lines = s.log_lines(&app_id).await;
    assert_eq!(
        lines,
        vec!["1234", "1234", "/srv/app", "FOO=bar baz", "1000", "2000"]
    );

    // A container without its own memory is held to the task's.
    let ro_id = runtime_id(&t, "ro");
    let j = docker_inspect(&ro_id).await;
    assert_eq!(j["HostConfig"]["ReadonlyRootfs"], serde_json::json!(true));
    assert_eq!(j["HostConfig"]["Memory"], serde_json::json!(1024 * MIB));
    wait_for_log(&s, &ro_id, &["rootfs=readonly"]).await;
    wait_for_log(&s, &runtime_id(&t, "rw"), &["rootfs=writable"]).await;

    // DescribeTasks reports the container sizes.
    let c = container(&t, "app");
    assert_eq!(
        (c.cpu(), c.memory(), c.memory_reservation()),
        (Some("128"), Some("256"), Some("128"))
    );
}

// ---- 9: labels ---------------------------------------------------------------------

fn revision_of(t: &Task) -> String {
    t.task_definition_arn()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn every_task_container_carries_the_agents_labels_and_the_owner() {
    let s = DockerServer::start().await;
    let a = sh("a", "exec sleep 300")
        .docker_labels("team", "blue")
        // The agent's labels win over the user's.
        .docker_labels("com.amazonaws.ecs.cluster", "spoofed")
        .build();
    let b = sh("b-side", "exec sleep 300").build();
    s.register("labeled", vec![a, b]).await;
    let arn = s.run_one("labeled").await;
    let t = s.wait_running(&arn).await;
    let revision = revision_of(&t);
    for c in t.containers() {
        let name = c.name().unwrap();
        let labels = s.inspect(c.runtime_id().unwrap()).await.labels;
        let want = [
            ("com.amazonaws.ecs.cluster", CLUSTER),
            ("com.amazonaws.ecs.task-arn", arn.as_str()),
            ("com.amazonaws.ecs.container-name", name),
            ("com.amazonaws.ecs.task-definition-family", "labeled"),
            (
                "com.amazonaws.ecs.task-definition-version",
                revision.as_str(),
            ),
            (OWNER_LABEL, s.owner.as_str()),
        ];
        for (k, v) in want {
            assert_eq!(
                labels.get(k).map(String::as_str),
                Some(v),
                "{name}: label {k} in {labels:#?}"
            );
        }
    }
    let a_labels = s.inspect(&runtime_id(&t, "a")).await.labels;
    assert_eq!(a_labels.get("team").map(String::as_str), Some("blue"));
}

/// The agent's pause container is labeled like the task's own containers,
/// with `~internal~ecs~pause` as its container name (as in the task metadata
/// endpoint's output on AWS).
#[tokio::test]
async fn the_namespace_holder_carries_the_agents_pause_labels() {
    let s = DockerServer::start().await;
    s.register(
        "paused",
        vec![
            sh("main", "exec sleep 300").build(),
            sh("side", "exec sleep 300").essential(false).build(),
        ],
    )
    .await;
    let arn = s.run_one("paused").await;
    let t = s.wait_running(&arn).await;
    let holder = holder_of(&s, &arn).await;
    let revision = revision_of(&t);
    let want = [
        ("com.amazonaws.ecs.cluster", CLUSTER),
        ("com.amazonaws.ecs.task-arn", arn.as_str()),
        ("com.amazonaws.ecs.container-name", "~internal~ecs~pause"),
        ("com.amazonaws.ecs.task-definition-family", "paused"),
        (
            "com.amazonaws.ecs.task-definition-version",
            revision.as_str(),
        ),
        (OWNER_LABEL, s.owner.as_str()),
    ];
    for (k, v) in want {
        assert_eq!(
            holder.labels.get(k).map(String::as_str),
            Some(v),
            "label {k} of {holder:#?}"
        );
    }
}

// ---- 10: StopTask: SIGTERM, then SIGKILL after stopTimeout ----------------------------------

#[tokio::test]
async fn stop_task_sends_sigterm_then_sigkill_after_the_stop_timeout() {
    let s = DockerServer::start().await;
    // PID 1 traps TERM and exits with its own code, long before its timeout.
    let graceful = sh(
        "main",
        "trap 'echo got-term; exit 42' TERM; while :; do sleep 0.2; done",
    )
    .stop_timeout(30)
    .build();
    // PID 1 ignores TERM: only the SIGKILL after 2 seconds ends it.
    let stubborn = sh("main", "trap '' TERM; while :; do sleep 0.2; done")
        .stop_timeout(2)
        .build();
    s.register("graceful", vec![graceful]).await;
    s.register("stubborn", vec![stubborn]).await;
    let g = s.run_one("graceful").await;
    s.wait_running(&g).await;
    let k = s.run_one("stubborn").await;
    s.wait_running(&k).await;

    let asked = Instant::now();
    for arn in [&g, &k] {
        let out = s
            .ecs
            .stop_task()
            .cluster(CLUSTER)
            .task(arn)
            .reason("test says stop")
            .send()
            .await
            .unwrap();
        let t = out.task().unwrap();
        assert_eq!(t.desired_status(), Some("STOPPED"));
    }
    let stopped = |arn: String| {
        let s = &s;
        async move {
            let t = s.wait_status(&arn, "STOPPED").await;
            (t, asked.elapsed())
        }
    };
    let ((gt, g_took), (kt, k_took)) = tokio::join!(stopped(g.clone()), stopped(k.clone()));

    assert_eq!(container(&gt, "main").exit_code(), Some(42), "{gt:#?}");
    assert!(
        g_took < Duration::from_secs(2),
        "a container that handles SIGTERM stops at once; took {g_took:?}"
    );
    wait_for_log(&s, &runtime_id(&gt, "main"), &["got-term"]).await;

    assert_eq!(
        container(&kt, "main").exit_code(),
        Some(137),
        "SIGKILL: {kt:#?}"
    );
    assert!(
        k_took >= Duration::from_secs(2),
        "SIGKILL only after stopTimeout; took {k_took:?}"
    );
    assert!(
        k_took < Duration::from_secs(10),
        "SIGKILL soon after stopTimeout; took {k_took:?}"
    );

    for t in [&gt, &kt] {
        assert_eq!(stop_code(t), Some("UserInitiated"), "{t:#?}");
        assert_eq!(t.stopped_reason(), Some("test says stop"));
    }
}

// ---- 11: cleanup ------------------------------------------------------------------------

#[tokio::test]
async fn a_stopped_tasks_containers_are_removed_after_the_cleanup_delay() {
    let s = DockerServer::start_with(&["--task-cleanup-delay", "0"]).await;
    s.register("brief", vec![sh("main", "exit 0").build()])
        .await;
    let arn = s.run_one("brief").await;
    s.wait_status(&arn, "STOPPED").await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let left = s.task_containers(&arn).await;
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "containers never removed: {left:#?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The task itself is still described (AWS keeps stopped tasks for an hour).
    assert_eq!(s.describe(&arn).await.last_status(), Some("STOPPED"));
}

#[tokio::test]
async fn reset_removes_running_tasks_containers_and_networks() {
    let s = DockerServer::start().await;
    s.register(
        "resettable",
        vec![
            sh("main", "exec sleep 300").build(),
            sh("side", "exec sleep 300").essential(false).build(),
        ],
    )
    .await;
    for _ in 0..2 {
        let arn = s.run_one("resettable").await;
        s.wait_running(&arn).await;
    }
    assert_eq!(
        s.owned_containers().await.len(),
        6,
        "two tasks, each two containers and a namespace holder"
    );
    let r = s.server.raw("POST", "/_ecsbox/reset", &[], b"").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        s.owned_containers().await.is_empty(),
        "{:#?}",
        s.owned_containers().await
    );
    assert!(
        s.owned_networks().await.is_empty(),
        "{:#?}",
        s.owned_networks().await
    );
}

/// A reset while a task is still starting must not leave containers the
/// start was about to create (e.g. its namespace holder) behind.
#[tokio::test]
async fn reset_while_a_task_starts_leaves_nothing_behind() {
    let s = DockerServer::start().await;
    s.register("early", vec![sh("main", "exec sleep 300").build()])
        .await;
    s.run_one("early").await;
    let r = s.server.raw("POST", "/_ecsbox/reset", &[], b"").await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Give the interrupted start time to do whatever it still does.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let left = s.owned_containers().await;
    assert!(
        left.is_empty(),
        "containers left behind after reset: {left:#?}"
    );
    let left = s.owned_networks().await;
    assert!(
        left.is_empty(),
        "networks left behind after reset: {left:#?}"
    );
}

/// Runs one task on a server with instance id `owner`, then "crashes" it:
/// its runtime is dropped without the server's shutdown, so nothing is
/// cleaned up. Returns the containers it left.
fn run_and_crash(owner: String) -> Vec<String> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let left = rt.block_on(async move {
            let s = DockerServer::start_as(&owner, &[], EngineGuard::new(vec![])).await;
            s.register(
                "left",
                vec![
                    sh("main", "exec sleep 300").build(),
                    sh("side", "exec sleep 300").essential(false).build(),
                ],
            )
            .await;
            let arn = s.run_one("left").await;
            s.wait_running(&arn).await;
            let left: Vec<String> = s
                .owned_containers()
                .await
                .into_iter()
                .map(|c| c.id)
                .collect();
            let DockerServer { server, guard, .. } = s;
            std::mem::forget(server);
            drop(guard);
            left
        });
        drop(rt);
        left
    })
    .join()
    .expect("the crashed server's thread")
}

#[tokio::test]
async fn a_restart_with_the_same_instance_id_removes_only_its_own_leftovers() {
    let owner = new_instance_id();
    let foreign = new_instance_id();
    let guard = EngineGuard::new(vec![owner.clone(), foreign.clone()]);
    let docker = engine().await;
    let left = {
        let owner = owner.clone();
        tokio::task::spawn_blocking(move || run_and_crash(owner))
            .await
            .unwrap()
    };
    assert_eq!(
        left.len(),
        3,
        "the task's two containers and its namespace holder"
    );
    for id in &left {
        assert_eq!(
            docker.inspect_container(id).await.unwrap().status,
            ContainerStatus::Running
        );
    }
    // Another instance's container, and one ecsbox did not make at all.
    let mut labels = guard.labels();
    labels.insert(OWNER_LABEL.into(), foreign.clone());
    let other = hand_made_container(&docker, labels).await;
    let unlabeled = hand_made_container(&docker, guard.labels()).await;

    let s = DockerServer::start_as(&owner, &[], guard).await;
    // The start-up handshake removes them in the background, soon.
    let deadline = Instant::now() + Duration::from_secs(15);
    for id in &left {
        loop {
            let gone = s.docker.inspect_container(id).await;
            if gone.as_ref().is_err_and(|e| e.is_not_found()) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "leftover {id} still there: {gone:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    loop {
        let networks = s.owned_networks().await;
        if networks.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "leftover networks: {networks:#?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for id in [&other, &unlabeled] {
        assert_eq!(
            s.inspect(id).await.status,
            ContainerStatus::Running,
            "{id} must not be touched"
        );
    }
    let foreign_left = s
        .docker
        .list_containers(&[LabelFilter::equals(OWNER_LABEL, foreign)])
        .await
        .unwrap();
    assert_eq!(foreign_left.len(), 1);
    // And the restarted instance runs tasks again.
    s.register("again", vec![sh("main", "exec sleep 300").build()])
        .await;
    let arn = s.run_one("again").await;
    s.wait_running(&arn).await;
}

/// Two ecsbox instances on one engine (the documented use of distinct
/// `--instance-id`s) must not share Docker objects: each task's network
/// belongs to its own instance, and resetting one instance neither breaks
/// the other's tasks nor leaves anything of its own behind.
#[tokio::test]
async fn two_instances_on_one_engine_keep_their_awsvpc_networks_apart() {
    let a = DockerServer::start().await;
    let b = DockerServer::start().await;
    for s in [&a, &b] {
        s.register(
            "net",
            vec![
                sh("main", "exec sleep 300").build(),
                sh("side", "exec sleep 300").essential(false).build(),
            ],
        )
        .await;
    }
    let arn_a = a.run_one("net").await;
    let arn_b = b.run_one("net").await;
    a.wait_running(&arn_a).await;
    b.wait_running(&arn_b).await;
    for (s, arn) in [(&a, &arn_a), (&b, &arn_b)] {
        let holder = docker_inspect(&holder_of(s, arn).await.id).await;
        let networks = holder["NetworkSettings"]["Networks"]
            .as_object()
            .unwrap()
            .clone();
        assert_eq!(networks.len(), 1, "{networks:#?}");
        for (name, endpoint) in networks {
            let id = endpoint["NetworkID"].as_str().unwrap().to_string();
            let owner = network_owner(&s.docker, &id).await;
            assert_eq!(
                owner.as_deref(),
                Some(s.owner.as_str()),
                "network {name} of {arn} belongs to another instance"
            );
        }
    }
    let r = a.server.raw("POST", "/_ecsbox/reset", &[], b"").await;
    assert_eq!(r.status, 200);
    assert!(a.owned_containers().await.is_empty());
    assert!(
        a.owned_networks().await.is_empty(),
        "A's network outlived its reset: {:#?}",
        a.owned_networks().await
    );
    let t = b.describe(&arn_b).await;
    assert_eq!(t.last_status(), Some("RUNNING"), "{t:#?}");
    assert_eq!(
        b.inspect(&runtime_id(&t, "main")).await.status,
        ContainerStatus::Running
    );
}

async fn network_owner(
    docker: &ecsbox::runtime::docker::DockerRuntime,
    id: &str,
) -> Option<String> {
    let all = docker.list_networks(&[]).await.unwrap();
    let labels: HashMap<String, String> = all
        .into_iter()
        .find(|n| n.id == id)
        .map(|n| n.labels)
        .unwrap_or_default();
    labels.get(OWNER_LABEL).cloned()
}

// ---- bridge mode on virtual container instances ------------------------------------------

/// A TCP port nobody listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The host port a task's container publishes `container_port` on, from
/// DescribeTasks' networkBindings.
fn host_port(t: &Task, name: &str, container_port: i32) -> u16 {
    let c = container(t, name);
    let binding = c
        .network_bindings()
        .iter()
        .find(|b| b.container_port() == Some(container_port))
        .unwrap_or_else(|| panic!("no binding of {container_port}: {c:#?}"));
    binding.host_port().unwrap() as u16
}

fn web_on_8080(host: i32) -> ContainerDefinition {
    sh(
        "web",
        "mkdir -p /tmp/www && hostname > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www",
    )
    .memory(64)
    .port_mappings(
        PortMapping::builder()
            .container_port(8080)
            .host_port(host)
            .build(),
    )
    .build()
}

/// bridge: `hostPort` 0 asks for a dynamic host port, which DescribeTasks
/// reports in networkBindings; two copies get two different ports.
#[tokio::test]
async fn bridge_tasks_get_dynamic_host_ports_reported_in_network_bindings() {
    let s = DockerServer::start_with(&["--container-instances", "1"]).await;
    s.register_bridge("dyn", vec![web_on_8080(0)]).await;
    let arns = s.run_ec2("dyn", 2).await;
    let mut ports = Vec::new();
    for arn in &arns {
        let t = s.wait_running(arn).await;
        let port = host_port(&t, "web", 8080);
        assert_ne!(port, 0, "{t:#?}");
        let body =
            http_get_eventually("127.0.0.1", port, "/index.html", Duration::from_secs(10)).await;
        assert!(!body.trim().is_empty());
        ports.push(port);
    }
    assert_ne!(ports[0], ports[1], "each copy has its own host port");
}

#[tokio::test]
async fn bridge_tasks_publish_a_static_host_port() {
    let s = DockerServer::start_with(&["--container-instances", "1"]).await;
    let port = free_port();
    s.register_bridge("static", vec![web_on_8080(port as i32)])
        .await;
    let arn = s.run_ec2("static", 1).await.remove(0);
    let t = s.wait_running(&arn).await;
    assert_eq!(host_port(&t, "web", 8080), port, "{t:#?}");
    let binding = &container(&t, "web").network_bindings()[0];
    assert_eq!(binding.protocol().map(|p| p.as_str()), Some("tcp"));
    let body = http_get_eventually("127.0.0.1", port, "/index.html", Duration::from_secs(10)).await;
    assert!(!body.trim().is_empty());
}

/// A task of one container needs no namespace holder: the container (always
/// essential) sits on the awsvpc network itself, owns the task's address,
/// and the task ends with it. Nothing is published on host ports.
#[tokio::test]
async fn a_one_container_awsvpc_task_owns_its_address_without_a_holder() {
    let s = DockerServer::start().await;
    s.register("solo", vec![sh("main", "exec httpd -f -p 8080").build()])
        .await;
    let arn = s.run_one("solo").await;
    let task = s.wait_running(&arn).await;
    let containers = s.task_containers(&arn).await;
    assert_eq!(containers.len(), 1, "{containers:#?}");
    assert!(!containers[0].labels.contains_key("ecsbox.role"));
    let ip = task.attachments()[0]
        .details()
        .iter()
        .find(|d| d.name() == Some("privateIPv4Address"))
        .and_then(|d| d.value())
        .expect("an ENI address")
        .to_string();
    let inspected = docker_inspect(&containers[0].id).await;
    let networks = inspected["NetworkSettings"]["Networks"]
        .as_object()
        .unwrap();
    assert!(
        networks.values().any(|n| n["IPAddress"] == ip.as_str()),
        "{networks:#?}"
    );
    assert!(publishes_nothing(&inspected["NetworkSettings"]["Ports"]));
}

/// The warm holders of a server's pool (`ecsbox-warm-*`, owned by it).
async fn warm_holders(s: &DockerServer) -> Vec<ecsbox::runtime::ContainerSummary> {
    s.owned_containers()
        .await
        .into_iter()
        .filter(|c| c.name.trim_start_matches('/').starts_with("ecsbox-warm-"))
        .collect()
}

/// Polls until the pool holds a started holder that is not `except`.
async fn wait_for_warm_holder(
    s: &DockerServer,
    except: Option<&str>,
) -> ecsbox::runtime::ContainerSummary {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let warm = warm_holders(s).await;
        if let Some(h) = warm
            .iter()
            .find(|c| Some(c.id.as_str()) != except && c.status == ContainerStatus::Running)
        {
            return h.clone();
        }
        assert!(
            Instant::now() < deadline,
            "the warm pool never filled: {warm:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// With `--warm-task-namespaces`, ecsbox keeps started namespace holders on
/// the awsvpc network. The next awsvpc task's container joins one (renamed
/// the way the agent names a task's pause container), the task answers on
/// that holder's address, the pool refills, a stopped task's holder is
/// never handed out again, and reset removes the pool with the rest.
#[tokio::test]
async fn a_warm_namespace_holder_becomes_the_next_awsvpc_tasks_namespace() {
    let s = DockerServer::start_with(&["--warm-task-namespaces", "1"]).await;
    s.register(
        "pooled",
        vec![sh("web", "mkdir -p /tmp/www && echo pooled > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www").build()],
    )
    .await;
    // The pool fills when the first awsvpc task has started.
    let first = s.run_one("pooled").await;
    s.wait_running(&first).await;
    let warm = wait_for_warm_holder(&s, None).await;
    let warm_json = docker_inspect(&warm.id).await;
    let warm_ip = warm_json["NetworkSettings"]["Networks"]
        .as_object()
        .and_then(|n| n.values().next())
        .and_then(|n| n["IPAddress"].as_str())
        .expect("the warm holder has an address")
        .to_string();

    let second = s.run_one("pooled").await;
    let task = s.wait_running(&second).await;
    let web = docker_inspect(&runtime_id(&task, "web")).await;
    assert_eq!(
        web["HostConfig"]["NetworkMode"],
        format!("container:{}", warm.id),
        "web joined the warm holder"
    );
    let holder = docker_inspect(&warm.id).await;
    let name = holder["Name"].as_str().unwrap().trim_start_matches('/');
    let task_id = second.rsplit('/').next().unwrap();
    assert_eq!(
        name,
        format!("ecs-pooled-1-internalecspause-{}", &task_id[..12]),
        "renamed as the agent names it"
    );
    assert_eq!(
        eni_ip(&task),
        warm_ip,
        "the task's ENI address is the holder's"
    );
    let body = http_get_eventually(&warm_ip, 8080, "/index.html", Duration::from_secs(10)).await;
    assert_eq!(body.trim(), "pooled");

    // The pool refills with a new holder.
    let refill = wait_for_warm_holder(&s, Some(&warm.id)).await;
    assert_ne!(refill.id, warm.id);

    // A stopped task takes its holder with it; the pool never hands it out.
    s.ecs
        .stop_task()
        .cluster(CLUSTER)
        .task(&second)
        .send()
        .await
        .unwrap();
    s.wait_status(&second, "STOPPED").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while s
        .owned_containers()
        .await
        .iter()
        .any(|c| c.id == warm.id && c.status == ContainerStatus::Running)
    {
        assert!(
            Instant::now() < deadline,
            "the stopped task's holder still runs"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let third = s.run_one("pooled").await;
    let task = s.wait_running(&third).await;
    let web = docker_inspect(&runtime_id(&task, "web")).await;
    assert_eq!(
        web["HostConfig"]["NetworkMode"],
        format!("container:{}", refill.id),
        "the next task took the refill"
    );

    let r = s.server.raw("POST", "/_ecsbox/reset", &[], b"").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let left = s.owned_containers().await;
    assert!(left.is_empty(), "containers left after reset: {left:#?}");
    assert!(
        s.owned_networks().await.is_empty(),
        "{:#?}",
        s.owned_networks().await
    );
}

/// A reset right after an awsvpc task started, while the pool is filling:
/// once reset has answered nothing of the instance is left, and the fill
/// that was under way does not go on making holders afterwards.
#[tokio::test]
async fn reset_while_the_pool_fills_leaves_nothing_behind() {
    let s = DockerServer::start_with(&["--warm-task-namespaces", "2"]).await;
    s.register("filling", vec![sh("main", "exec sleep 300").build()])
        .await;
    let arn = s.run_one("filling").await;
    s.wait_running(&arn).await;
    let r = s.server.raw("POST", "/_ecsbox/reset", &[], b"").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let left = s.owned_containers().await;
    assert!(
        left.is_empty(),
        "containers left behind by reset: {left:#?}"
    );
    // Longer than making a holder takes (about 0.3 s on this engine).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let left = s.owned_containers().await;
    assert!(left.is_empty(), "containers made after reset: {left:#?}");
}

// ---- host and none network modes -------------------------------------------------

/// Registers an EC2 task definition of one container in `mode`.
async fn register_in_mode(
    s: &DockerServer,
    family: &str,
    mode: aws_sdk_ecs::types::NetworkMode,
    container: ContainerDefinition,
) {
    s.ecs
        .register_task_definition()
        .family(family)
        .network_mode(mode)
        .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Ec2)
        .container_definitions(container)
        .send()
        .await
        .unwrap_or_else(|e| panic!("register {family}: {e:?}"));
}

/// host: the containers share the host's network stack, as `docker run
/// --network host` has it; a server in the task answers on the host's
/// loopback at its container port (ECS requires hostPort == containerPort
/// here), and the task has no ENI.
#[tokio::test]
async fn a_host_mode_task_listens_on_the_hosts_own_network() {
    let s = DockerServer::start_with(&["--container-instances", "1"]).await;
    let port = free_port();
    let web = sh(
        "web",
        &format!("mkdir -p /tmp/www && echo on-the-host > /tmp/www/index.html && exec httpd -f -p 127.0.0.1:{port} -h /tmp/www"),
    )
    .memory(64)
    .port_mappings(PortMapping::builder().container_port(port as i32).host_port(port as i32).build())
    .build();
    register_in_mode(&s, "hosted", aws_sdk_ecs::types::NetworkMode::Host, web).await;
    let arn = s.run_ec2("hosted", 1).await.remove(0);
    let t = s.wait_running(&arn).await;
    assert!(t.attachments().is_empty(), "no ENI outside awsvpc: {t:#?}");
    // The agent reports network bindings in bridge (and default) mode only;
    // other modes send `networkBindings: []` (amazon-ecs-agent PR #3505).
    assert!(container(&t, "web").network_bindings().is_empty(), "{t:#?}");
    let j = docker_inspect(&runtime_id(&t, "web")).await;
    assert_eq!(j["HostConfig"]["NetworkMode"], "host");
    let body = http_get_eventually("127.0.0.1", port, "/index.html", Duration::from_secs(10)).await;
    assert_eq!(body.trim(), "on-the-host");
}

/// none: the container has a loopback interface and nothing else, as
/// `docker run --network none` has it.
#[tokio::test]
async fn a_none_mode_task_has_only_loopback() {
    let s = DockerServer::start_with(&["--container-instances", "1"]).await;
    let probe = sh("probe", "ls /sys/class/net; exec sleep 300")
        .memory(32)
        .build();
    register_in_mode(&s, "isolated", aws_sdk_ecs::types::NetworkMode::None, probe).await;
    let arn = s.run_ec2("isolated", 1).await.remove(0);
    let t = s.wait_running(&arn).await;
    assert!(t.attachments().is_empty(), "no ENI outside awsvpc: {t:#?}");
    let id = runtime_id(&t, "probe");
    let j = docker_inspect(&id).await;
    assert_eq!(j["HostConfig"]["NetworkMode"], "none");
    let lines = wait_for_log(&s, &id, &["lo"]).await;
    assert_eq!(
        lines,
        vec!["lo".to_string()],
        "interfaces besides loopback: {lines:?}"
    );
}

/// ecsbox in a container joins its awsvpc network (so its listeners reach
/// awsvpc tasks); removing everything must take it off that network first,
/// or Docker refuses to remove the network ("has active endpoints") and it
/// is left behind, as it was after the image's tests and `compose down`.
#[tokio::test]
async fn the_awsvpc_network_goes_even_with_ecsbox_own_container_on_it() {
    let owner = new_instance_id();
    let guard = EngineGuard::new(vec![owner.clone()]);
    let docker = engine().await;
    // Stands in for ecsbox's own container.
    let me = hand_made_container(&docker, guard.labels()).await;
    let s = DockerServer::start_as(&owner, &["--own-container", &me], guard).await;
    s.register("net", vec![sh("main", "exec sleep 300").build()])
        .await;
    let arn = s.run_one("net").await;
    s.wait_running(&arn).await;
    let mine = [LabelFilter::equals(OWNER_LABEL, owner.clone())];
    let networks = s.docker.list_networks(&mine).await.unwrap();
    assert_eq!(networks.len(), 1, "the awsvpc network: {networks:?}");
    let joined = docker_inspect(&me).await;
    assert!(
        joined["NetworkSettings"]["Networks"]
            .get(&networks[0].name)
            .is_some(),
        "the stand-in joined it: {joined}"
    );
    s.server.app.reset().await;
    assert_eq!(s.docker.list_networks(&mine).await.unwrap(), vec![]);
}
