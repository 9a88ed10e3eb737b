//! The load balancer's listener against HAProxy, side by side in one run:
//! three trivial hyper backends on loopback, HAProxy (Debian's package) and
//! an ecsbox HTTP listener in front of the same three, and wrk at 64
//! keep-alive connections against each and against one backend directly.
//! Prints requests/s, p99 latency and the ratios the issue asks for; never
//! fails on timing. Needs `haproxy` and `wrk` on PATH
//! (`apt-get install -y haproxy wrk`). Loopback only, bounded in time.
//!
//!     cargo run --release --example lb_bench [-- SECONDS]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ecsbox::lb::*;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

async fn backend() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((s, _)) = l.accept().await else {
                continue;
            };
            let _ = s.set_nodelay(true);
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(|_req| async {
                    Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(
                        b"hello from a task\n",
                    ))))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(s), svc)
                    .await;
            });
        }
    });
    addr
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// (requests/s, p99 in ms) from wrk's --latency output.
fn wrk(url: &str, secs: u64) -> (f64, f64) {
    let out = Command::new("wrk")
        .args(["-t2", "-c64", &format!("-d{secs}s"), "--latency", url])
        .output()
        .expect("wrk on PATH");
    let text = String::from_utf8_lossy(&out.stdout);
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0);
    let p99 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .map(|v| to_ms(v.trim()))
        .unwrap_or(f64::NAN);
    (rps, p99)
}

fn to_ms(v: &str) -> f64 {
    let (num, unit) = v.split_at(v.find(|c: char| c.is_alphabetic()).unwrap_or(v.len()));
    let n: f64 = num.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        _ => n,
    }
}

#[tokio::main]
async fn main() {
    let secs: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let backends = [backend().await, backend().await, backend().await];

    let lb = LoadBalancing::new(LbSettings::default());
    let tg = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/bench/1";
    lb.put_target_group(TargetGroupSpec {
        arn: tg.into(),
        name: "bench".into(),
        protocol: Protocol::Http,
        port: Some(80),
        target_type: TargetType::Ip,
        health_check: HealthCheckSpec {
            enabled: true,
            protocol: Protocol::Http,
            port: None,
            path: "/".into(),
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(2),
            healthy_threshold: 2,
            unhealthy_threshold: 2,
            matcher: vec![(200, 299)],
        },
        algorithm: Algorithm::RoundRobin,
        deregistration_delay: Duration::from_secs(30),
        slow_start: Duration::ZERO,
        stickiness: None,
    });
    lb.register_targets(
        tg,
        backends
            .iter()
            .map(|a| Target {
                key: TargetKey {
                    id: a.ip().to_string(),
                    port: a.port(),
                },
                address: *a,
                availability_zone: None,
            })
            .collect(),
    );
    let ecsbox_addr = lb
        .open_listener(ListenerSpec {
            listener_arn: "bench-listener".into(),
            load_balancer_arn: "bench-lb".into(),
            lb_type: LbType::Application,
            protocol: Protocol::Http,
            port: free_port(),
            rules: vec![],
            default_actions: vec![Action::Forward {
                groups: vec![WeightedGroup {
                    target_group_arn: tg.into(),
                    weight: 1,
                }],
                stickiness: None,
            }],
        })
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while lb
        .target_health(tg)
        .iter()
        .any(|h| h.state != TargetState::Healthy)
    {
        assert!(Instant::now() < deadline, "targets never became healthy");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let haproxy_port = free_port();
    let servers: String = backends
        .iter()
        .enumerate()
        .map(|(i, a)| format!("    server t{i} {a}\n"))
        .collect();
    let cfg = format!(
        "global\n    maxconn 4096\ndefaults\n    mode http\n    timeout connect 5s\n    timeout client 60s\n    timeout server 60s\n    option http-keep-alive\n\
         frontend fe\n    bind 127.0.0.1:{haproxy_port}\n    default_backend be\n\
         backend be\n    balance roundrobin\n{servers}"
    );
    let cfg_path = std::env::temp_dir().join(format!("ecsbox-lb-bench-{}.cfg", std::process::id()));
    std::fs::write(&cfg_path, cfg).unwrap();
    let mut haproxy = Command::new("haproxy")
        .args(["-db", "-f"])
        .arg(&cfg_path)
        .stdout(Stdio::null())
        .spawn()
        .expect("haproxy on PATH");
    tokio::time::sleep(Duration::from_millis(500)).await;

    let run = move |name: &str, addr: String| {
        let (rps, p99) = wrk(&format!("http://{addr}/"), secs);
        println!("{name:<10} {rps:>12.0} req/s   p99 {p99:>7.3} ms");
        (rps, p99)
    };
    let (direct, haproxy_r, ecsbox_r) = tokio::task::spawn_blocking(move || {
        let direct = run("direct", backends[0].to_string());
        let haproxy_r = run("haproxy", format!("127.0.0.1:{haproxy_port}"));
        let ecsbox_r = run("ecsbox", ecsbox_addr.to_string());
        (direct, haproxy_r, ecsbox_r)
    })
    .await
    .unwrap();
    let _ = haproxy.kill();
    let _ = haproxy.wait();
    let _ = std::fs::remove_file(&cfg_path);

    println!(
        "ecsbox/haproxy requests/s: {:.2} (target >= 0.80)",
        ecsbox_r.0 / haproxy_r.0
    );
    println!(
        "added p99 over direct: ecsbox {:.3} ms (target <= 1 ms), haproxy {:.3} ms",
        ecsbox_r.1 - direct.1,
        haproxy_r.1 - direct.1
    );
}
