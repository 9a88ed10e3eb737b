//! The Docker runtime end to end, against the machine's real engine, with
//! the locally built `ecsbox-test/busybox` image (no registry is reachable:
//! `scripts/build-test-images.sh` builds it from Debian's busybox-static).
//!
//! Every test labels what it creates with `ecsbox.owner=<unique id>` and a
//! `Harness` removes all of it on drop, panics included, so nothing leaks:
//! `docker ps -a --filter label=ecsbox.owner` is empty after a run.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use ecsbox::runtime::docker::DockerRuntime;
use ecsbox::runtime::*;
use futures_util::stream::{BoxStream, StreamExt};

const IMAGE: &str = "ecsbox-test/busybox:latest";
const EVENT_WAIT: Duration = Duration::from_secs(30);

static BUILD_IMAGES: Once = Once::new();

/// Builds the test image once per test binary if it is missing.
fn ensure_test_image() {
    BUILD_IMAGES.call_once(|| {
        let present = std::process::Command::new("docker")
            .args(["image", "inspect", IMAGE])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if present {
            return;
        }
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/build-test-images.sh");
        let status = std::process::Command::new("bash")
            .arg(script)
            .status()
            .expect("run build script");
        assert!(status.success(), "{script} failed");
    });
}

/// One test's view of the engine: everything it creates carries its own
/// owner label and is removed when the harness is dropped.
struct Harness {
    rt: Arc<dyn ContainerRuntime>,
    owner: String,
}

impl Harness {
    async fn new() -> Self {
        ensure_test_image();
        let rt = DockerRuntime::connect()
            .await
            .expect("Docker engine reachable");
        let owner = format!("test-{}", uuid::Uuid::new_v4().simple());
        Harness {
            rt: Arc::new(rt),
            owner,
        }
    }

    fn labels(&self) -> HashMap<String, String> {
        HashMap::from([(OWNER_LABEL.to_string(), self.owner.clone())])
    }

    fn filter(&self) -> Vec<LabelFilter> {
        vec![LabelFilter::equals(OWNER_LABEL, &self.owner)]
    }

    /// A busybox container running `sh -c script`.
    fn spec(&self, script: &str) -> ContainerSpec {
        ContainerSpec {
            image: IMAGE.into(),
            labels: self.labels(),
            command: Some(vec!["sh".into(), "-c".into(), script.into()]),
            ..Default::default()
        }
    }

    async fn run(&self, spec: &ContainerSpec) -> String {
        let id = self.rt.create_container(spec).await.expect("create");
        self.rt.start_container(&id).await.expect("start");
        id
    }

    fn events(&self) -> BoxStream<'static, RuntimeEvent> {
        self.rt.events(&self.filter())
    }

    /// Polls inspect until `done` holds (for readiness, not for state
    /// changes, which the tests read from events).
    async fn inspect_until(
        &self,
        id: &str,
        done: impl Fn(&ContainerInfo) -> bool,
    ) -> ContainerInfo {
        let deadline = Instant::now() + EVENT_WAIT;
        loop {
            let info = self.rt.inspect_container(id).await.expect("inspect");
            if done(&info) || Instant::now() > deadline {
                return info;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn log_text(&self, id: &str) -> Vec<String> {
        self.rt
            .logs(id)
            .await
            .expect("logs")
            .into_iter()
            .map(|l| l.message)
            .collect()
    }
}

impl Drop for Harness {
    /// Removes every container and network of this test, on a thread of its
    /// own so it also works while the test's runtime is unwinding.
    fn drop(&mut self) {
        let filter = self.filter();
        let cleanup = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let docker = DockerRuntime::connect().await.expect("engine for cleanup");
                let force = RemoveOptions {
                    force: true,
                    volumes: true,
                };
                for c in docker.list_containers(&filter).await.unwrap_or_default() {
                    let _ = docker.remove_container(&c.id, force).await;
                }
                for n in docker.list_networks(&filter).await.unwrap_or_default() {
                    let _ = docker.remove_network(&n.id).await;
                }
            });
        });
        let _ = cleanup.join();
    }
}

/// The next event of container `id` that `pick` accepts.
async fn wait_event(
    events: &mut BoxStream<'static, RuntimeEvent>,
    id: &str,
    pick: impl Fn(&ContainerEventKind) -> bool,
) -> ContainerEvent {
    let deadline = tokio::time::Instant::now() + EVENT_WAIT;
    loop {
        let next = tokio::time::timeout_at(deadline, events.next()).await;
        match next.expect("event in time").expect("stream never ends") {
            RuntimeEvent::Container(e) if e.container_id == id && pick(&e.kind) => return e,
            _ => continue,
        }
    }
}

fn is_die(kind: &ContainerEventKind) -> bool {
    matches!(kind, ContainerEventKind::Die { .. })
}

#[tokio::test]
async fn engine_api_version_is_negotiated() {
    let h = Harness::new().await;
    let info = h.rt.engine_info().await.unwrap();
    assert!(!info.version.is_empty());
    assert!(info.cpus > 0 && info.memory_bytes > 0, "{info:?}");
    // Talking to it at all proves negotiation: bollard 0.21 defaults to API
    // 1.53, which Docker 20.10 (1.41 at most) refuses.
    h.rt.list_containers(&h.filter()).await.unwrap();
}

#[tokio::test]
async fn exit_code_comes_back_through_inspect_and_die_event() {
    let h = Harness::new().await;
    let mut events = h.events();
    let id = h.run(&h.spec("exit 3")).await;
    let started = wait_event(&mut events, &id, |k| *k == ContainerEventKind::Start).await;
    assert!(started.attributes.contains_key(OWNER_LABEL));
    let died = wait_event(&mut events, &id, is_die).await;
    assert_eq!(died.kind, ContainerEventKind::Die { exit_code: Some(3) });
    let info = h.rt.inspect_container(&id).await.unwrap();
    assert_eq!(info.status, ContainerStatus::Exited);
    assert_eq!(info.exit_code, Some(3));
    assert!(
        info.started_at.is_some() && info.finished_at >= info.started_at,
        "{info:?}"
    );
    assert_eq!(info.labels.get(OWNER_LABEL), Some(&h.owner));
    assert!(info.image_id.starts_with("sha256:"));
}

#[tokio::test]
async fn env_command_working_dir_and_user_reach_the_process() {
    let h = Harness::new().await;
    let mut spec = h.spec("echo \"$X\"; pwd; id -u; echo oops >&2");
    spec.env = vec![("X".into(), "hello from env".into())];
    spec.working_dir = Some("/srv/app".into());
    spec.user = Some("1234:1234".into());
    let mut events = h.events();
    let id = h.run(&spec).await;
    let died = wait_event(&mut events, &id, is_die).await;
    assert_eq!(died.kind, ContainerEventKind::Die { exit_code: Some(0) });
    let logs = h.rt.logs(&id).await.unwrap();
    let stdout: Vec<&str> = logs
        .iter()
        .filter(|l| l.stream == LogStream::Stdout)
        .map(|l| l.message.as_str())
        .collect();
    assert_eq!(stdout, vec!["hello from env", "/srv/app", "1234"]);
    let stderr: Vec<&LogLine> = logs
        .iter()
        .filter(|l| l.stream == LogStream::Stderr)
        .collect();
    assert_eq!(stderr.len(), 1);
    assert_eq!(stderr[0].message, "oops");
    assert!(logs.iter().all(|l| l.timestamp.is_some()));
}

#[tokio::test]
async fn entrypoint_overrides_the_image() {
    let h = Harness::new().await;
    let mut spec = h.spec("");
    spec.entrypoint = Some(vec!["echo".into()]);
    spec.command = Some(vec!["from".into(), "entrypoint".into()]);
    let mut events = h.events();
    let id = h.run(&spec).await;
    wait_event(&mut events, &id, is_die).await;
    assert_eq!(h.log_text(&id).await, vec!["from entrypoint"]);
}

#[tokio::test]
async fn cpu_and_memory_limits_are_set_and_enforced() {
    let h = Harness::new().await;
    // cgroup v1 or v2, whichever the machine has.
    let mut spec = h.spec(
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; ulimit -n",
    );
    spec.memory_bytes = Some(64 << 20);
    spec.memory_reservation_bytes = Some(32 << 20);
    spec.nano_cpus = Some(500_000_000);
    spec.cpu_shares = Some(256);
    spec.ulimits = vec![Ulimit {
        name: "nofile".into(),
        soft: 1000,
        hard: 2000,
    }];
    let mut events = h.events();
    let id = h.run(&spec).await;
    wait_event(&mut events, &id, is_die).await;
    let info = h.rt.inspect_container(&id).await.unwrap();
    assert_eq!(info.memory_bytes, Some(64 << 20));
    assert_eq!(info.memory_reservation_bytes, Some(32 << 20));
    assert_eq!(info.nano_cpus, Some(500_000_000));
    assert_eq!(info.cpu_shares, Some(256));
    assert_eq!(
        h.log_text(&id).await,
        vec![(64u64 << 20).to_string(), "1000".to_string()]
    );
}

#[tokio::test]
async fn out_of_memory_kill_is_reported() {
    let h = Harness::new().await;
    // `sort` holds its whole input, one 64 MiB line of zeros, in memory.
    let mut spec = h.spec("head -c 67108864 /dev/zero | sort >/dev/null");
    spec.memory_bytes = Some(16 << 20);
    let mut events = h.events();
    let id = h.run(&spec).await;
    wait_event(&mut events, &id, |k| *k == ContainerEventKind::Oom).await;
    wait_event(&mut events, &id, is_die).await;
    assert!(h.rt.inspect_container(&id).await.unwrap().oom_killed);
}

/// A plain HTTP GET over a real TCP connection from the host.
fn http_get(port: u16) -> std::io::Result<String> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
    let mut body = String::new();
    s.read_to_string(&mut body)?;
    Ok(body)
}

const HTTPD: &str =
    "mkdir -p /www && echo \"$GREETING\" > /www/index.html && exec httpd -f -p 8080 -h /www";

#[tokio::test]
async fn dynamic_host_port_is_published_and_reachable() {
    let h = Harness::new().await;
    let mut spec = h.spec(HTTPD);
    spec.env = vec![("GREETING".into(), "hello over a dynamic port".into())];
    spec.port_bindings = vec![PortBinding {
        container_port: 8080,
        protocol: Protocol::Tcp,
        host_port: 0,
        host_ip: Some("127.0.0.1".into()),
    }];
    let id = h.run(&spec).await;
    let info = h.rt.inspect_container(&id).await.unwrap();
    assert_eq!(info.ports.len(), 1, "{:?}", info.ports);
    let port = &info.ports[0];
    assert_eq!(
        (port.container_port, port.protocol, port.host_ip.as_str()),
        (8080, Protocol::Tcp, "127.0.0.1")
    );
    assert!(port.host_port > 0);
    let host_port = port.host_port;
    let deadline = Instant::now() + EVENT_WAIT;
    let body = loop {
        match tokio::task::spawn_blocking(move || http_get(host_port))
            .await
            .unwrap()
        {
            Ok(body) if body.contains("200 OK") => break body,
            other if Instant::now() > deadline => panic!("httpd never answered: {other:?}"),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    assert!(body.contains("hello over a dynamic port"), "{body}");
}

#[tokio::test]
async fn container_sharing_a_network_namespace_reaches_it_on_localhost() {
    let h = Harness::new().await;
    let mut server = h.spec(HTTPD);
    server.env = vec![("GREETING".into(), "hello from next door".into())];
    let server_id = h.run(&server).await;
    // Retry while httpd starts; the static busybox wget dies with 139 when
    // the connection is refused, so judge by output and exit code only.
    let mut client = h.spec(
        "for i in $(seq 1 50); do wget -q -O - http://localhost:8080/ && exit 0; sleep 0.2; done; exit 1",
    );
    client.network_mode = NetworkMode::Container(server_id.clone());
    let mut events = h.events();
    let client_id = h.run(&client).await;
    let died = wait_event(&mut events, &client_id, is_die).await;
    assert_eq!(died.kind, ContainerEventKind::Die { exit_code: Some(0) });
    assert!(h
        .log_text(&client_id)
        .await
        .contains(&"hello from next door".to_string()));
    let info = h.rt.inspect_container(&client_id).await.unwrap();
    assert_eq!(info.network_mode, format!("container:{server_id}"));
    assert!(info.networks.is_empty(), "{:?}", info.networks);
}

#[tokio::test]
async fn failing_health_check_turns_unhealthy_in_inspect_and_events() {
    let h = Harness::new().await;
    let mut spec = h.spec("exec sleep 300");
    spec.health_check = Some(HealthCheck {
        test: vec!["CMD-SHELL".into(), "echo probe failed; exit 1".into()],
        interval: Some(Duration::from_millis(500)),
        timeout: Some(Duration::from_secs(2)),
        retries: Some(1),
        start_period: None,
    });
    let mut events = h.events();
    let id = h.run(&spec).await;
    assert_eq!(
        h.rt.inspect_container(&id).await.unwrap().health,
        HealthStatus::Starting
    );
    let event = wait_event(&mut events, &id, |k| {
        matches!(k, ContainerEventKind::Health(_))
    })
    .await;
    assert_eq!(
        event.kind,
        ContainerEventKind::Health(HealthStatus::Unhealthy)
    );
    let info = h.rt.inspect_container(&id).await.unwrap();
    assert_eq!(info.health, HealthStatus::Unhealthy);
    assert_eq!(
        info.health_output.as_deref().map(str::trim),
        Some("probe failed")
    );
}

#[tokio::test]
async fn docker_kill_from_outside_shows_as_kill_and_die_events() {
    let h = Harness::new().await;
    let mut events = h.events();
    let id = h.run(&h.spec("exec sleep 300")).await;
    let out = std::process::Command::new("docker")
        .args(["kill", &id])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let kill = wait_event(&mut events, &id, |k| {
        matches!(k, ContainerEventKind::Kill { .. })
    })
    .await;
    assert_eq!(
        kill.kind,
        ContainerEventKind::Kill {
            signal: Some("9".into())
        }
    );
    let died = wait_event(&mut events, &id, is_die).await;
    assert_eq!(
        died.kind,
        ContainerEventKind::Die {
            exit_code: Some(137)
        }
    );
}

#[tokio::test]
async fn stop_sends_sigterm_first_and_sigkill_after_the_timeout() {
    let h = Harness::new().await;
    // Handles SIGTERM: stops at once with its own exit code.
    let polite = h.run(&h.spec("trap 'exit 7' TERM; sleep 300 & wait")).await;
    // PID 1 without a handler ignores SIGTERM: only SIGKILL ends it.
    let stubborn = h.run(&h.spec("exec sleep 300")).await;
    h.inspect_until(&polite, |i| i.status == ContainerStatus::Running)
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await; // let the trap be set

    let t = Instant::now();
    h.rt.stop_container(&polite, Duration::from_secs(20))
        .await
        .unwrap();
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "took {:?}",
        t.elapsed()
    );
    assert_eq!(
        h.rt.inspect_container(&polite).await.unwrap().exit_code,
        Some(7)
    );

    let t = Instant::now();
    h.rt.stop_container(&stubborn, Duration::from_secs(1))
        .await
        .unwrap();
    assert!(t.elapsed() >= Duration::from_secs(1));
    assert_eq!(
        h.rt.inspect_container(&stubborn).await.unwrap().exit_code,
        Some(137)
    );
    // Stopping a stopped container is not an error.
    h.rt.stop_container(&stubborn, Duration::from_secs(1))
        .await
        .unwrap();
}

#[tokio::test]
async fn missing_image_fails_fast_and_says_it_is_absent() {
    let h = Harness::new().await;
    let reference = format!("ecsbox-test/absent-{}:1", h.owner);
    let t = Instant::now();
    let err = h.rt.ensure_image(&reference).await.unwrap_err();
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "pull took {:?}",
        t.elapsed()
    );
    assert!(matches!(err, RuntimeError::PullFailed { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&reference) && text.contains("not present on the local engine"),
        "{text}"
    );
    assert_eq!(h.rt.image(&reference).await.unwrap(), None);

    let spec = ContainerSpec {
        image: reference,
        labels: h.labels(),
        ..Default::default()
    };
    let err = h.rt.create_container(&spec).await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

#[tokio::test]
async fn ecr_uri_runs_the_local_image() {
    let h = Harness::new().await;
    let uri = format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/{IMAGE}");
    let image = h.rt.ensure_image(&uri).await.unwrap();
    assert_eq!(image.reference, IMAGE);
    assert!(image.id.starts_with("sha256:"));
    let mut spec = h.spec("exit 0");
    spec.image = uri;
    let mut events = h.events();
    let id = h.run(&spec).await;
    assert_eq!(
        wait_event(&mut events, &id, is_die).await.kind,
        ContainerEventKind::Die { exit_code: Some(0) }
    );
}

#[tokio::test]
async fn lists_by_label_find_only_what_this_test_made() {
    let h = Harness::new().await;
    let other = Harness::new().await;
    let mine_a = h.rt.create_container(&h.spec("true")).await.unwrap();
    let mine_b = h.run(&h.spec("exec sleep 300")).await;
    let theirs = other
        .rt
        .create_container(&other.spec("true"))
        .await
        .unwrap();

    let mut listed: Vec<String> =
        h.rt.list_containers(&h.filter())
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect();
    listed.sort();
    let mut expected = vec![mine_a, mine_b.clone()];
    expected.sort();
    assert_eq!(listed, expected);
    let running =
        h.rt.list_containers(&h.filter())
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.id == mine_b)
            .unwrap();
    assert_eq!(running.status, ContainerStatus::Running);
    assert_eq!(running.image, IMAGE);
    let theirs_listed = other.rt.list_containers(&other.filter()).await.unwrap();
    assert_eq!(theirs_listed.len(), 1);
    assert_eq!(theirs_listed[0].id, theirs);
}

/// Two /24s in 10.250.0.0/16 picked from the owner id, so parallel runs
/// rarely collide. Only addresses inside Docker's own bridge: no traffic.
fn test_subnet(owner: &str) -> (String, String) {
    let n = owner
        .bytes()
        .fold(0u32, |a, b| a.wrapping_mul(31).wrapping_add(u32::from(b)))
        % 250;
    (format!("10.250.{n}.0/24"), format!("10.250.{n}"))
}

#[tokio::test]
async fn labeled_network_with_fixed_ips() {
    let h = Harness::new().await;
    let (subnet, prefix) = test_subnet(&h.owner);
    let name = format!("ecsbox-{}", h.owner);
    let spec = NetworkSpec {
        name: name.clone(),
        labels: h.labels(),
        subnet: Some(subnet.clone()),
        gateway: None,
    };
    let net_id = h.rt.create_network(&spec).await.unwrap();
    let dup = h.rt.create_network(&spec).await.unwrap_err();
    assert!(matches!(dup, RuntimeError::Conflict(_)), "{dup:?}");

    let listed = h.rt.list_networks(&h.filter()).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(
        (listed[0].id.as_str(), listed[0].name.as_str()),
        (net_id.as_str(), name.as_str())
    );
    assert_eq!(listed[0].subnet.as_deref(), Some(subnet.as_str()));

    let mut on_net = h.spec("exec sleep 300");
    let fixed = format!("{prefix}.10");
    on_net.network_mode = NetworkMode::Network {
        name: name.clone(),
        ipv4_address: Some(fixed.clone()),
        aliases: vec![],
    };
    let a = h.run(&on_net).await;
    let ep = h.rt.inspect_container(&a).await.unwrap().networks[&name].clone();
    assert_eq!(ep.ip_address.as_deref(), Some(fixed.as_str()));
    assert_eq!(ep.network_id, net_id);
    assert!(ep.mac_address.is_some());

    let b = h.run(&h.spec("exec sleep 300")).await;
    let second = format!("{prefix}.11");
    h.rt.connect_network(&name, &b, Some(&second))
        .await
        .unwrap();
    let info = h.rt.inspect_container(&b).await.unwrap();
    assert_eq!(
        info.networks[&name].ip_address.as_deref(),
        Some(second.as_str())
    );
    assert!(info.networks.contains_key("bridge"));

    let busy = h.rt.remove_network(&name).await.unwrap_err();
    assert!(busy.to_string().contains("active endpoints"), "{busy}");
}

#[tokio::test]
async fn remove_needs_force_while_running_and_then_destroys() {
    let h = Harness::new().await;
    let mut events = h.events();
    let id = h.run(&h.spec("exec sleep 300")).await;
    let err =
        h.rt.remove_container(
            &id,
            RemoveOptions {
                force: false,
                volumes: false,
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, RuntimeError::Conflict(_)), "{err:?}");
    h.rt.remove_container(
        &id,
        RemoveOptions {
            force: true,
            volumes: true,
        },
    )
    .await
    .unwrap();
    wait_event(&mut events, &id, |k| *k == ContainerEventKind::Destroy).await;
    assert!(h
        .rt
        .inspect_container(&id)
        .await
        .unwrap_err()
        .is_not_found());
}

/// Removes a test image on drop (images carry no owner label).
struct ImageGuard(String);

impl Drop for ImageGuard {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker")
            .args(["rmi", "-f", &self.0])
            .output();
    }
}

#[tokio::test]
async fn imported_root_filesystem_becomes_a_runnable_image() {
    let h = Harness::new().await;
    let reference = format!("ecsbox-test/imported-{}:1", h.owner);
    let _image = ImageGuard(reference.clone());
    // A root filesystem of one file: the static busybox the build script
    // installed.
    let tar = std::process::Command::new("tar")
        .args(["-C", "/bin", "-cf", "-", "busybox"])
        .output()
        .unwrap();
    assert!(tar.status.success(), "{tar:?}");
    let cmd: Vec<String> = ["/busybox", "sh", "-c", "exit 5"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    h.rt.import_image(tar.stdout, &reference, &cmd)
        .await
        .unwrap();
    assert!(h.rt.image(&reference).await.unwrap().is_some());

    // No command in the spec: the imported CMD runs.
    let spec = ContainerSpec {
        image: reference.clone(),
        labels: h.labels(),
        ..Default::default()
    };
    let mut events = h.events();
    let id = h.run(&spec).await;
    assert_eq!(
        wait_event(&mut events, &id, is_die).await.kind,
        ContainerEventKind::Die { exit_code: Some(5) }
    );
}
