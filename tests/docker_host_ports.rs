//! Host ports belong to tasks: the task endpoints answer at 169.254.170.2:80
//! through a netfilter redirect (as the ECS agent serves them), so a task
//! publishing host port 80 starts while another task reads its credentials
//! and metadata there; the redirect's rules are removed on SIGTERM and, after
//! a crash, by the next start with the same instance id. Also: a container
//! killed for memory reports ECS's OutOfMemoryError.
//!
//! These need root and `iptables` (scripts/test.sh installs it). The tests
//! that want 169.254.170.2:80 take turns (`PORT_80`).
#[path = "common/binary.rs"]
mod binary;
mod common;
#[path = "common/docker.rs"]
mod docker_common;

use aws_sdk_ecs::types::PortMapping;
use binary::Ecsbox;
use docker_common::*;
use ecsbox::metadata::ECS_ENDPOINT_ADDRESS;
use std::time::Duration;

static PORT_80: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The nat table's rules carrying an instance's comment.
fn redirect_rules(owner: &str) -> Vec<String> {
    let out = std::process::Command::new("iptables")
        .args(["-t", "nat", "-S"])
        .output()
        .expect("iptables is installed (apt-get install iptables)");
    assert!(
        out.status.success(),
        "iptables -t nat -S: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(&format!("\"ecsbox instance={owner} pid=")))
        .map(String::from)
        .collect()
}

#[tokio::test]
async fn a_task_publishes_host_port_80_while_tasks_reach_the_endpoints_at_169_254_170_2() {
    let _port_80 = PORT_80.lock().await;
    // The default endpoint address: 169.254.170.2:80.
    let s = DockerServer::start_with(&["--container-instances", "1"]).await;
    assert_eq!(
        s.server.app.metadata.address().map(|a| a.to_string()),
        Some(ECS_ENDPOINT_ADDRESS.to_string()),
        "the endpoints serve ECS's address (another process holding 169.254.170.2:80 keeps them off it)"
    );
    assert_eq!(redirect_rules(&s.owner).len(), 2, "PREROUTING and OUTPUT");

    // An ECS tutorial's EC2 task: host port 80.
    s.register_bridge(
        "web80",
        vec![sh(
            "web",
            "mkdir -p /tmp/www && echo port-80-task > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www",
        )
        .memory(32)
        .port_mappings(
            PortMapping::builder()
                .container_port(8080)
                .host_port(80)
                .build(),
        )
        .build()],
    )
    .await;
    let web = s.run_ec2("web80", 1).await.remove(0);
    let t = s.wait_running(&web).await;
    assert_eq!(
        container(&t, "web").network_bindings()[0].host_port(),
        Some(80)
    );
    let body = http_get_eventually("127.0.0.1", 80, "/index.html", Duration::from_secs(10)).await;
    assert!(body.contains("port-80-task"), "{body}");

    // Meanwhile an awsvpc task (another Docker network, where Docker's own
    // rule for host port 80 would catch 169.254.170.2:80 if ecsbox's rule
    // were not first) reads its credentials and its metadata there.
    s.ecs
        .register_task_definition()
        .family("reader")
        .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
        .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .task_role_arn("arn:aws:iam::000000000000:role/reader")
        .container_definitions(
            sh(
                "read",
                "wget -qO- http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI && echo && \
                 wget -qO- $ECS_CONTAINER_METADATA_URI_V4/task && echo",
            )
            .build(),
        )
        .send()
        .await
        .unwrap();
    let reader = s.run_one("reader").await;
    let done = s.wait_status(&reader, "STOPPED").await;
    let read = container(&done, "read");
    let lines = s.log_lines(read.runtime_id().unwrap()).await.join("\n");
    assert_eq!(read.exit_code(), Some(0), "{lines}\n{done:#?}");
    assert!(lines.contains("\"AccessKeyId\""), "{lines}");
    assert!(lines.contains(&reader), "the task's own metadata: {lines}");
    // The port-80 task still serves: nothing took its port.
    let body = http_get_eventually("127.0.0.1", 80, "/index.html", Duration::from_secs(10)).await;
    assert!(body.contains("port-80-task"), "{body}");
    // Now, not when the server's last task is dropped after the test (and
    // after `PORT_80` is released): the next test wants the address.
    s.server.app.metadata.remove_redirect();
    assert_eq!(redirect_rules(&s.owner), Vec::<String>::new());
}

async fn start_binary(owner: &str) -> Ecsbox {
    Ecsbox::start(
        &[
            "--listen",
            "127.0.0.1:0",
            "--registry-listen",
            "127.0.0.1:0",
            "--instance-id",
            owner,
        ],
        DEADLINE,
    )
    .await
}

/// Removes an instance's rules if the test fails halfway.
struct RuleGuard(String);

impl Drop for RuleGuard {
    fn drop(&mut self) {
        for rule in redirect_rules(&self.0) {
            let spec = rule.replacen("-A ", "-D ", 1);
            let _ = std::process::Command::new("sh")
                .args(["-c", &format!("iptables -t nat {spec}")])
                .status();
        }
    }
}

#[tokio::test]
async fn the_redirect_is_removed_on_sigterm_and_reconciled_after_a_crash() {
    let _port_80 = PORT_80.lock().await;
    let owner = new_instance_id();
    let _guard = EngineGuard::new(vec![owner.clone()]);
    let _rules = RuleGuard(owner.clone());

    let first = start_binary(&owner).await;
    assert_eq!(redirect_rules(&owner).len(), 2, "installed at start");
    // A crash: nothing removes the rules.
    first.signal("KILL");
    drop(first);
    assert_eq!(redirect_rules(&owner).len(), 2, "left by the crash");

    // The next start with the same instance id replaces them.
    let mut second = start_binary(&owner).await;
    assert_eq!(redirect_rules(&owner).len(), 2, "reconciled, not doubled");
    second.signal("TERM");
    let status = second.wait(DEADLINE).await;
    assert!(status.success(), "{status}");
    assert_eq!(
        redirect_rules(&owner),
        Vec::<String>::new(),
        "removed at shutdown"
    );
}

/// Several ecsbox instances on one host (the tests' parallel servers, two
/// developers' runs): exactly one holds the redirect of 169.254.170.2:80,
/// however close together they start, and the others serve on ports of
/// their own, which their tasks get as AWS_CONTAINER_CREDENTIALS_FULL_URI.
/// Each instance's task reads its own credentials and metadata.
#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn instances_starting_together_share_169_254_170_2_without_taking_each_others_traffic() {
    let _port_80 = PORT_80.lock().await;
    let starts: Vec<_> = (0..3)
        .map(|_| tokio::spawn(DockerServer::start()))
        .collect();
    let mut servers = vec![];
    for start in starts {
        servers.push(start.await.unwrap());
    }
    let holders: Vec<&DockerServer> = servers
        .iter()
        .filter(|s| !redirect_rules(&s.owner).is_empty())
        .collect();
    assert_eq!(holders.len(), 1, "one instance holds the redirect");
    assert_eq!(redirect_rules(&holders[0].owner).len(), 2);
    let addresses: std::collections::HashSet<String> = servers
        .iter()
        .map(|s| s.server.app.metadata.address().unwrap().to_string())
        .collect();
    assert_eq!(
        addresses.len(),
        3,
        "each serves its own address: {addresses:?}"
    );

    for s in &servers {
        s.ecs
            .register_task_definition()
            .family("who")
            .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
            .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
            .cpu("256")
            .memory("512")
            .task_role_arn(format!("arn:aws:iam::000000000000:role/{}", s.owner))
            .container_definitions(
                sh(
                    "read",
                    "wget -qO- ${AWS_CONTAINER_CREDENTIALS_FULL_URI:-http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI} && echo && \
                     wget -qO- $ECS_CONTAINER_METADATA_URI_V4/task && echo",
                )
                .build(),
            )
            .send()
            .await
            .unwrap();
    }
    let mut tasks = vec![];
    for s in &servers {
        tasks.push(s.run_one("who").await);
    }
    for (s, arn) in servers.iter().zip(&tasks) {
        let done = s.wait_status(arn, "STOPPED").await;
        let read = container(&done, "read");
        let lines = s.log_lines(read.runtime_id().unwrap()).await.join("\n");
        assert_eq!(read.exit_code(), Some(0), "{lines}\n{done:#?}");
        assert!(
            lines.contains(&format!("role/{}", s.owner)),
            "its own role's credentials: {lines}"
        );
        assert!(lines.contains(arn.as_str()), "its own metadata: {lines}");
    }
    for s in &servers {
        s.server.app.metadata.remove_redirect();
    }
}

/// The race behind the test above, made tight: instances installing at
/// the same instant (a barrier) still end with one holder, the rest told
/// the address is taken. Without the install lock two would both insert,
/// and the one whose rule came second would get none of its traffic. (An
/// address no task uses, so nothing else is disturbed.)
#[test]
fn installs_at_the_same_instant_leave_one_holder() {
    use ecsbox::metadata::redirect::{Redirect, Refused};
    let _port_80 = PORT_80.blocking_lock();
    let from: std::net::SocketAddrV4 = "169.254.170.99:80".parse().unwrap();
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
    let owners: Vec<String> = (0..4).map(|_| new_instance_id()).collect();
    let _rules: Vec<RuleGuard> = owners.iter().cloned().map(RuleGuard).collect();
    let installs: Vec<_> = owners
        .iter()
        .cloned()
        .map(|owner| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                // A live target: a rule to a closed port is reaped as stale.
                let target = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                let std::net::SocketAddr::V4(to) = target.local_addr().unwrap() else {
                    unreachable!()
                };
                barrier.wait();
                (Redirect::install(&owner, from, to), target)
            })
        })
        .collect();
    let outcomes: Vec<_> = installs.into_iter().map(|t| t.join().unwrap()).collect();
    let held = outcomes.iter().filter(|(r, _)| r.is_ok()).count();
    let taken = outcomes
        .iter()
        .filter(|(r, _)| matches!(r, Err(Refused::Taken(_))))
        .count();
    assert_eq!((held, taken), (1, 3), "{outcomes:?}");
    let installed: usize = owners.iter().map(|o| redirect_rules(o).len()).sum();
    assert_eq!(installed, 2, "one instance's PREROUTING and OUTPUT rules");
    drop(outcomes);
    let left: usize = owners.iter().map(|o| redirect_rules(o).len()).sum();
    assert_eq!(left, 0, "dropping the holder removes its rules");
}

/// A container over its hard memory limit is OOM-killed by the kernel;
/// ECS reports it as "OutOfMemoryError: Container killed due to memory
/// usage" (AWS re:Post, "How do I troubleshoot OutOfMemory errors in
/// Amazon ECS?": the container's reason in the task's details).
#[tokio::test]
async fn a_container_killed_for_memory_reports_out_of_memory_error() {
    // Off 169.254.170.2:80, which the other tests here want.
    let s = DockerServer::start_with(&["--task-endpoint-listen", "127.0.0.1:0"]).await;
    // busybox dd allocates its 256 MiB block and fills it: over 16 MiB.
    s.register(
        "hog",
        vec![sh("hog", "dd if=/dev/zero of=/dev/null bs=256M count=1")
            .memory(16)
            .build()],
    )
    .await;
    let arn = s.run_one("hog").await;
    let t = s.wait_status(&arn, "STOPPED").await;
    let hog = container(&t, "hog");
    assert_eq!(
        hog.reason(),
        Some("OutOfMemoryError: Container killed due to memory usage"),
        "{t:#?}"
    );
    assert_eq!(hog.exit_code(), Some(137), "SIGKILL: {t:#?}");
    assert_eq!(
        t.stop_code().map(|c| c.as_str()),
        Some("EssentialContainerExited")
    );
    assert_eq!(
        t.stopped_reason(),
        Some("Essential container in task exited")
    );
}
