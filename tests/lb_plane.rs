//! The load balancers' data plane in-process: small hyper/tokio backends
//! on 127.0.0.1:0 as targets, listeners opened through `LoadBalancing`,
//! plain clients on loopback. No Docker. Never a fixed sleep: every wait
//! polls with a deadline.
//!
//! The draining test moves ecsbox's process-wide clock; nothing else here
//! depends on it (drains are the only clock deadlines in this binary).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ecsbox::lb::*;
use http::{Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

// ---------- backends ----------

struct Backend {
    name: &'static str,
    addr: SocketAddr,
    hits: AtomicUsize,
    checks: AtomicUsize,
    connections: AtomicUsize,
    health: AtomicU16,
    slow_started: Notify,
    release: Notify,
}

type Body = BoxBody<Bytes, hyper::Error>;

fn full(s: impl Into<Bytes>) -> Body {
    Full::new(s.into()).map_err(|n| match n {}).boxed()
}

async fn backend(name: &'static str) -> Arc<Backend> {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let b = Arc::new(Backend {
        name,
        addr: listener.local_addr().unwrap(),
        hits: AtomicUsize::new(0),
        checks: AtomicUsize::new(0),
        connections: AtomicUsize::new(0),
        health: AtomicU16::new(200),
        slow_started: Notify::new(),
        release: Notify::new(),
    });
    let be = b.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            be.connections.fetch_add(1, Ordering::SeqCst);
            let be = be.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| {
                    let be = be.clone();
                    async move { Ok::<_, Infallible>(answer(&be, req).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .with_upgrades()
                    .await;
            });
        }
    });
    b
}

async fn answer(b: &Backend, mut req: Request<Incoming>) -> Response<Body> {
    let path = req.uri().path().to_string();
    if path == "/health" {
        b.checks.fetch_add(1, Ordering::SeqCst);
        let mut r = Response::new(full("ok"));
        *r.status_mut() = StatusCode::from_u16(b.health.load(Ordering::SeqCst)).unwrap();
        return r;
    }
    b.hits.fetch_add(1, Ordering::SeqCst);
    match path.as_str() {
        "/slow" => {
            let released = b.release.notified();
            b.slow_started.notify_one();
            released.await;
            Response::new(full(format!("{} slow done", b.name)))
        }
        "/hang" => std::future::pending().await,
        "/echo" => Response::new(req.into_body().boxed()),
        "/chunked" => {
            let chunks = ["one,", "two,", "three"]
                .map(|c| Ok::<_, hyper::Error>(Frame::data(Bytes::from(c))));
            Response::new(StreamBody::new(futures_util::stream::iter(chunks)).boxed())
        }
        "/ws" => {
            let up = hyper::upgrade::on(&mut req);
            tokio::spawn(async move {
                let mut io = TokioIo::new(up.await.unwrap());
                let mut buf = [0u8; 64];
                loop {
                    let n = io.read(&mut buf).await.unwrap_or(0);
                    if n == 0 || io.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
            Response::builder()
                .status(101)
                .header("upgrade", "websocket")
                .header("connection", "Upgrade")
                .body(full(""))
                .unwrap()
        }
        _ => {
            let mut r = Response::new(full(b.name));
            for (from, to) in [
                ("x-forwarded-for", "seen-xff"),
                ("x-forwarded-proto", "seen-proto"),
                ("x-forwarded-port", "seen-port"),
                ("x-amzn-trace-id", "seen-trace"),
                ("host", "seen-host"),
            ] {
                if let Some(v) = req.headers().get(from) {
                    r.headers_mut().insert(to, v.clone());
                }
            }
            r
        }
    }
}

// ---------- the plane ----------

const LB: &str = "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/test/1";

fn plane() -> Arc<LoadBalancing> {
    LoadBalancing::new(LbSettings::default())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn health_check(protocol: Protocol) -> HealthCheckSpec {
    HealthCheckSpec {
        enabled: true,
        protocol,
        port: None,
        path: "/health".into(),
        interval: Duration::from_millis(200),
        timeout: Duration::from_millis(150),
        healthy_threshold: 2,
        unhealthy_threshold: 2,
        matcher: vec![(200, 299)],
    }
}

fn group(arn: &str, protocol: Protocol) -> TargetGroupSpec {
    TargetGroupSpec {
        arn: arn.into(),
        name: arn.into(),
        protocol,
        port: Some(80),
        target_type: TargetType::Ip,
        health_check: health_check(if protocol == Protocol::Tcp {
            Protocol::Tcp
        } else {
            Protocol::Http
        }),
        algorithm: Algorithm::RoundRobin,
        deregistration_delay: Duration::from_secs(300),
        slow_start: Duration::ZERO,
        stickiness: None,
    }
}

/// Creates a group and registers targets in it.
fn put_group(lb: &LoadBalancing, spec: TargetGroupSpec, targets: &[SocketAddr]) {
    let arn = spec.arn.clone();
    lb.put_target_group(spec);
    lb.register_targets(&arn, targets.iter().map(|a| target(*a)).collect());
}

fn target(addr: SocketAddr) -> Target {
    Target {
        key: TargetKey {
            id: addr.ip().to_string(),
            port: addr.port(),
        },
        address: addr,
        availability_zone: None,
    }
}

fn forward(arns: &[(&str, u32)]) -> Action {
    Action::Forward {
        groups: arns
            .iter()
            .map(|(a, w)| WeightedGroup {
                target_group_arn: a.to_string(),
                weight: *w,
            })
            .collect(),
        stickiness: None,
    }
}

fn listener(
    arn: &str,
    protocol: Protocol,
    port: u16,
    rules: Vec<Rule>,
    default: Action,
) -> ListenerSpec {
    ListenerSpec {
        listener_arn: arn.into(),
        load_balancer_arn: LB.into(),
        lb_type: if matches!(protocol, Protocol::Tcp | Protocol::Tls) {
            LbType::Network
        } else {
            LbType::Application
        },
        protocol,
        port,
        rules,
        default_actions: vec![default],
    }
}

async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn state_of(lb: &LoadBalancing, tg: &str, addr: SocketAddr) -> Option<TargetHealth> {
    lb.target_health(tg)
        .into_iter()
        .find(|h| h.key.port == addr.port())
}

async fn wait_healthy(lb: &LoadBalancing, tg: &str, backends: &[&Arc<Backend>]) {
    for b in backends {
        wait_until("a healthy target", || {
            state_of(lb, tg, b.addr).is_some_and(|h| h.state == TargetState::Healthy)
        })
        .await;
    }
}

/// A group of healthy backends behind an HTTP listener: (plane, listener address).
async fn alb(tg: &str, backends: &[&Arc<Backend>]) -> (Arc<LoadBalancing>, SocketAddr) {
    let lb = plane();
    let addrs: Vec<SocketAddr> = backends.iter().map(|b| b.addr).collect();
    put_group(&lb, group(tg, Protocol::Http), &addrs);
    let addr = lb
        .open_listener(listener(
            "l-1",
            Protocol::Http,
            0,
            vec![],
            forward(&[(tg, 1)]),
        ))
        .unwrap();
    wait_healthy(&lb, tg, backends).await;
    (lb, addr)
}

// ---------- clients ----------

type Client =
    hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, Body>;

fn client() -> Client {
    hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build_http()
}

struct Answer {
    status: StatusCode,
    headers: http::HeaderMap,
    body: String,
}

async fn send(c: &Client, req: Request<Body>) -> Answer {
    let resp = c.request(req).await.unwrap();
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

async fn get(c: &Client, addr: SocketAddr, path: &str) -> Answer {
    let req = Request::get(format!("http://{addr}{path}"))
        .body(full(""))
        .unwrap();
    send(c, req).await
}

// ---------- tests ----------

#[tokio::test]
async fn forwards_round_robin_over_pooled_keep_alive_connections() {
    let (a, b) = (backend("a").await, backend("b").await);
    let (_lb, addr) = alb("tg-rr", &[&a, &b]).await;
    let c = client();
    let mut names = Vec::new();
    for _ in 0..10 {
        let r = get(&c, addr, "/").await;
        assert_eq!(r.status, 200);
        names.push(r.body);
    }
    assert_eq!(names.iter().filter(|n| *n == "a").count(), 5, "{names:?}");
    assert_eq!(names.iter().filter(|n| *n == "b").count(), 5, "{names:?}");
    // Sequential requests reuse the pooled connection to each target.
    // Health checks open a connection each (and close it): count them out.
    let proxied =
        [&a, &b].map(|x| x.connections.load(Ordering::SeqCst) - x.checks.load(Ordering::SeqCst));
    assert!(
        proxied.iter().all(|n| *n <= 2),
        "10 requests took {proxied:?} connections"
    );
}

#[tokio::test]
async fn streams_chunked_bodies_both_ways() {
    let a = backend("a").await;
    let (_lb, addr) = alb("tg-chunked", &[&a]).await;
    let c = client();
    let chunks =
        ["alpha-", "beta-", "gamma"].map(|s| Ok::<_, hyper::Error>(Frame::data(Bytes::from(s))));
    let req = Request::post(format!("http://{addr}/echo"))
        .body(StreamBody::new(futures_util::stream::iter(chunks)).boxed())
        .unwrap();
    let r = send(&c, req).await;
    assert_eq!(
        (r.status.as_u16(), r.body.as_str()),
        (200, "alpha-beta-gamma")
    );
    let r = get(&c, addr, "/chunked").await;
    assert_eq!(r.body, "one,two,three");
    assert_eq!(r.headers.get("transfer-encoding").unwrap(), "chunked");
}

#[tokio::test]
async fn passes_websocket_upgrades_through() {
    let a = backend("a").await;
    let (_lb, addr) = alb("tg-ws", &[&a]).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(
        b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    )
    .await
    .unwrap();
    let mut buf = vec![0u8; 1024];
    let mut head = String::new();
    while !head.contains("\r\n\r\n") {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed before the 101: {head}");
        head.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("upgrade: websocket"),
        "{head}"
    );
    round_trip(&mut s, b"hello through the lb").await;
}

#[tokio::test]
async fn adds_the_x_forwarded_headers_and_a_trace_id() {
    let a = backend("a").await;
    let lb = plane();
    put_group(&lb, group("tg-xff", Protocol::Http), &[a.addr]);
    let port = free_port();
    let addr = lb
        .open_listener(listener(
            "l-x",
            Protocol::Http,
            port,
            vec![],
            forward(&[("tg-xff", 1)]),
        ))
        .unwrap();
    assert_eq!(addr.port(), port);
    wait_healthy(&lb, "tg-xff", &[&a]).await;
    let req = Request::get(format!("http://{addr}/"))
        .header("x-forwarded-for", "203.0.113.7")
        .header("host", "app.example.com")
        .body(full(""))
        .unwrap();
    let r = send(&client(), req).await;
    assert_eq!(r.headers["seen-xff"], "203.0.113.7, 127.0.0.1");
    assert_eq!(r.headers["seen-proto"], "http");
    assert_eq!(r.headers["seen-port"], port.to_string().as_str());
    assert_eq!(r.headers["seen-host"], "app.example.com");
    let trace = r.headers["seen-trace"].to_str().unwrap();
    let rest = trace.strip_prefix("Root=1-").expect(trace);
    let (time, id) = rest.split_once('-').unwrap();
    assert_eq!((time.len(), id.len()), (8, 24), "{trace}");
}

fn fixed(status: u16, body: &str) -> Action {
    Action::FixedResponse {
        status,
        content_type: Some("text/plain".into()),
        body: Some(body.into()),
    }
}

fn rule(priority: u32, conditions: Vec<Condition>, action: Action) -> Rule {
    Rule {
        priority,
        conditions,
        actions: vec![action],
    }
}

#[tokio::test]
async fn rules_route_by_path_host_header_query_source_and_method() {
    let (a, api) = (backend("a").await, backend("api").await);
    let lb = plane();
    put_group(&lb, group("tg-main", Protocol::Http), &[a.addr]);
    put_group(&lb, group("tg-api", Protocol::Http), &[api.addr]);
    let rules = vec![
        rule(
            5,
            vec![Condition::PathPattern(vec!["/api/*".into()])],
            forward(&[("tg-api", 1)]),
        ),
        rule(
            10,
            vec![Condition::HostHeader(vec!["admin.*".into()])],
            fixed(200, "host"),
        ),
        rule(
            20,
            vec![Condition::HttpHeader {
                name: "X-Canary".into(),
                values: vec!["yes".into()],
            }],
            fixed(200, "header"),
        ),
        rule(
            30,
            vec![Condition::QueryString(vec![(
                Some("v".into()),
                "2*".into(),
            )])],
            fixed(200, "query"),
        ),
        rule(
            40,
            vec![Condition::HttpRequestMethod(vec!["DELETE".into()])],
            fixed(200, "method"),
        ),
        rule(
            50,
            vec![Condition::SourceIp(vec!["10.0.0.0/8".into()])],
            fixed(200, "elsewhere"),
        ),
        rule(
            60,
            vec![
                Condition::SourceIp(vec!["127.0.0.0/8".into()]),
                Condition::PathPattern(vec!["/local".into()]),
            ],
            fixed(200, "loopback"),
        ),
    ];
    let addr = lb
        .open_listener(listener(
            "l-r",
            Protocol::Http,
            0,
            rules,
            forward(&[("tg-main", 1)]),
        ))
        .unwrap();
    wait_healthy(&lb, "tg-main", &[&a]).await;
    wait_healthy(&lb, "tg-api", &[&api]).await;
    let c = client();
    let req = |method: &str, path: &str, headers: &[(&str, &str)]| {
        let mut b = Request::builder()
            .method(method)
            .uri(format!("http://{addr}{path}"));
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(full("")).unwrap()
    };
    assert_eq!(send(&c, req("GET", "/api/users", &[])).await.body, "api");
    assert_eq!(
        send(&c, req("GET", "/API/users", &[])).await.body,
        "a",
        "paths are case-sensitive"
    );
    assert_eq!(
        send(&c, req("GET", "/", &[("host", "Admin.Example.com:8080")]))
            .await
            .body,
        "host"
    );
    assert_eq!(
        send(&c, req("GET", "/", &[("x-canary", "YES")])).await.body,
        "header"
    );
    assert_eq!(send(&c, req("GET", "/?a=1&v=2.1", &[])).await.body, "query");
    assert_eq!(send(&c, req("DELETE", "/", &[])).await.body, "method");
    assert_eq!(send(&c, req("GET", "/local", &[])).await.body, "loopback");
    assert_eq!(send(&c, req("GET", "/", &[])).await.body, "a");
}

#[tokio::test]
async fn weighted_forward_splits_by_weight() {
    let (a, b) = (backend("a").await, backend("b").await);
    let lb = plane();
    for (tg, be) in [("tg-w1", &a), ("tg-w2", &b)] {
        put_group(&lb, group(tg, Protocol::Http), &[be.addr]);
    }
    let addr = lb
        .open_listener(listener(
            "l-w",
            Protocol::Http,
            0,
            vec![],
            forward(&[("tg-w1", 3), ("tg-w2", 1)]),
        ))
        .unwrap();
    wait_healthy(&lb, "tg-w1", &[&a]).await;
    wait_healthy(&lb, "tg-w2", &[&b]).await;
    let c = client();
    let mut names = Vec::new();
    for _ in 0..20 {
        names.push(get(&c, addr, "/").await.body);
    }
    assert_eq!(names.iter().filter(|n| *n == "a").count(), 15, "{names:?}");
}

#[tokio::test]
async fn least_outstanding_requests_avoids_a_busy_target() {
    let (a, b) = (backend("a").await, backend("b").await);
    let lb = plane();
    let mut spec = group("tg-lor", Protocol::Http);
    spec.algorithm = Algorithm::LeastOutstandingRequests;
    put_group(&lb, spec, &[a.addr, b.addr]);
    let addr = lb
        .open_listener(listener(
            "l-lor",
            Protocol::Http,
            0,
            vec![],
            forward(&[("tg-lor", 1)]),
        ))
        .unwrap();
    wait_healthy(&lb, "tg-lor", &[&a, &b]).await;
    let c = client();
    let slow = {
        let c = c.clone();
        tokio::spawn(async move { get(&c, addr, "/slow").await.body })
    };
    // Whichever target got the slow request is busy: all others go to the other.
    let started = tokio::select! {
        _ = a.slow_started.notified() => "a",
        _ = b.slow_started.notified() => "b",
    };
    for _ in 0..6 {
        assert_ne!(get(&c, addr, "/").await.body, started);
    }
    a.release.notify_waiters();
    b.release.notify_waiters();
    assert!(slow.await.unwrap().ends_with("slow done"));
}

#[tokio::test]
async fn stickiness_cookies_keep_a_client_on_its_target_and_group() {
    let (a, b) = (backend("a").await, backend("b").await);
    let lb = plane();
    let mut spec = group("tg-sticky", Protocol::Http);
    spec.stickiness = Some(Duration::from_secs(3600));
    put_group(&lb, spec, &[a.addr, b.addr]);
    let action = Action::Forward {
        groups: vec![WeightedGroup {
            target_group_arn: "tg-sticky".into(),
            weight: 1,
        }],
        stickiness: Some(Duration::from_secs(60)),
    };
    let addr = lb
        .open_listener(listener("l-s", Protocol::Http, 0, vec![], action))
        .unwrap();
    wait_healthy(&lb, "tg-sticky", &[&a, &b]).await;
    let c = client();
    let first = get(&c, addr, "/").await;
    let cookies: Vec<String> = first
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let names: Vec<&str> = cookies
        .iter()
        .map(|c| c.split('=').next().unwrap())
        .collect();
    assert_eq!(
        names,
        ["AWSALB", "AWSALBCORS", "AWSALBTG", "AWSALBTGCORS"],
        "{cookies:?}"
    );
    assert!(cookies[1].contains("SameSite=None; Secure"), "{cookies:?}");
    assert!(
        cookies[0].contains("Expires=") && cookies[0].ends_with("GMT; Path=/"),
        "{cookies:?}"
    );
    let jar: Vec<&str> = cookies
        .iter()
        .map(|c| c.split(';').next().unwrap())
        .collect();
    for _ in 0..6 {
        let req = Request::get(format!("http://{addr}/"))
            .header("cookie", jar.join("; "))
            .body(full(""))
            .unwrap();
        assert_eq!(send(&c, req).await.body, first.body);
    }
}

#[tokio::test]
async fn fixed_responses_and_redirects() {
    let lb = plane();
    let rules = vec![
        rule(
            1,
            vec![Condition::PathPattern(vec!["/old/*".into()])],
            Action::Redirect {
                protocol: "HTTPS".into(),
                host: "#{host}".into(),
                port: "443".into(),
                path: "/new/#{path}".into(),
                query: "#{query}".into(),
                status: 301,
            },
        ),
        rule(
            2,
            vec![Condition::PathPattern(vec!["/temp".into()])],
            Action::Redirect {
                protocol: "#{protocol}".into(),
                host: "example.org".into(),
                port: "#{port}".into(),
                path: "/#{path}".into(),
                query: "#{query}".into(),
                status: 302,
            },
        ),
    ];
    let port = free_port();
    let addr = lb
        .open_listener(listener(
            "l-f",
            Protocol::Http,
            port,
            rules,
            fixed(418, "teapot"),
        ))
        .unwrap();
    let c = client();
    let r = get(&c, addr, "/anything").await;
    assert_eq!((r.status.as_u16(), r.body.as_str()), (418, "teapot"));
    assert_eq!(r.headers["content-type"], "text/plain");
    let req = Request::get(format!("http://{addr}/old/page?x=1"))
        .header("host", "shop.example.com")
        .body(full(""))
        .unwrap();
    let r = send(&c, req).await;
    assert_eq!(r.status, 301);
    assert_eq!(
        r.headers["location"],
        "https://shop.example.com/new/old/page?x=1"
    );
    let r = get(&c, addr, "/temp?q=a").await;
    assert_eq!(r.status, 302);
    assert_eq!(
        r.headers["location"],
        format!("http://example.org:{port}/temp?q=a").as_str()
    );
}

#[tokio::test]
async fn answers_503_with_no_targets_and_502_when_a_target_refuses() {
    let lb = plane();
    lb.put_target_group(group("tg-empty", Protocol::Http));
    let mut refusing = group("tg-refuse", Protocol::Http);
    refusing.health_check.enabled = false; // unavailable targets still get traffic
    lb.put_target_group(refusing);
    let closed = SocketAddr::from(([127, 0, 0, 1], free_port()));
    lb.register_targets("tg-refuse", vec![target(closed)]);
    let rules = vec![rule(
        1,
        vec![Condition::PathPattern(vec!["/refuse".into()])],
        forward(&[("tg-refuse", 1)]),
    )];
    let addr = lb
        .open_listener(listener(
            "l-e",
            Protocol::Http,
            0,
            rules,
            forward(&[("tg-empty", 1)]),
        ))
        .unwrap();
    let h = state_of(&lb, "tg-refuse", closed).unwrap();
    assert_eq!(
        (h.state, h.reason),
        (TargetState::Unavailable, Some("Target.HealthCheckDisabled"))
    );
    let c = client();
    let r = get(&c, addr, "/").await;
    assert_eq!(r.status, 503);
    assert_eq!(r.headers["server"], "awselb/2.0");
    assert!(
        r.body
            .contains("<title>503 Service Temporarily Unavailable</title>"),
        "{}",
        r.body
    );
    let r = get(&c, addr, "/refuse").await;
    assert_eq!(r.status, 502);
    assert!(r.body.contains("502 Bad Gateway"), "{}", r.body);
}

#[tokio::test]
async fn answers_504_when_the_target_outlasts_the_idle_timeout() {
    let a = backend("a").await;
    let (lb, addr) = alb("tg-hang", &[&a]).await;
    lb.set_idle_timeout(LB, Duration::from_millis(300));
    let r = get(&client(), addr, "/hang").await;
    assert_eq!(r.status, 504);
    assert!(r.body.contains("504 Gateway Time-out"), "{}", r.body);
}

#[tokio::test]
async fn health_moves_targets_through_initial_healthy_and_unhealthy() {
    let a = backend("a").await;
    let lb = plane();
    // Failing checks below the threshold keep a new target initial.
    a.health.store(503, Ordering::SeqCst);
    let mut spec = group("tg-h", Protocol::Http);
    spec.health_check.unhealthy_threshold = 1000;
    put_group(&lb, spec.clone(), &[a.addr]);
    let h = state_of(&lb, "tg-h", a.addr).unwrap();
    assert_eq!(
        (h.state, h.reason),
        (TargetState::Unused, Some("Target.NotInUse"))
    );
    assert_eq!(h.health_check_port, a.addr.port().to_string());

    let changes = lb.changes();
    let changed = changes.notified();
    let addr = lb
        .open_listener(listener(
            "l-h",
            Protocol::Http,
            0,
            vec![],
            forward(&[("tg-h", 1)]),
        ))
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), changed)
        .await
        .expect("a change is notified");
    let h = state_of(&lb, "tg-h", a.addr).unwrap();
    assert_eq!(h.state, TargetState::Initial);
    assert!(
        matches!(
            h.reason,
            Some("Elb.RegistrationInProgress" | "Elb.InitialHealthChecking")
        ),
        "{h:?}"
    );
    wait_until("the first check", || {
        state_of(&lb, "tg-h", a.addr).unwrap().reason == Some("Elb.InitialHealthChecking")
    })
    .await;
    // Initial targets get no traffic yet.
    assert_eq!(get(&client(), addr, "/").await.status, 503);
    a.health.store(200, Ordering::SeqCst);
    wait_healthy(&lb, "tg-h", &[&a]).await;
    spec.health_check.unhealthy_threshold = 2;
    lb.put_target_group(spec);
    let h = state_of(&lb, "tg-h", a.addr).unwrap();
    assert_eq!((h.reason, h.description), (None, None));

    a.health.store(500, Ordering::SeqCst);
    wait_until("unhealthy", || {
        state_of(&lb, "tg-h", a.addr).unwrap().state == TargetState::Unhealthy
    })
    .await;
    let h = state_of(&lb, "tg-h", a.addr).unwrap();
    assert_eq!(h.reason, Some("Target.ResponseCodeMismatch"));
    assert_eq!(
        h.description.as_deref(),
        Some("Health checks failed with these codes: [500]")
    );
    // Only unhealthy targets: the load balancer fails open.
    assert_eq!(get(&client(), addr, "/").await.body, "a");

    a.health.store(200, Ordering::SeqCst);
    wait_healthy(&lb, "tg-h", &[&a]).await;
}

#[tokio::test]
async fn unreachable_targets_fail_their_checks() {
    let lb = plane();
    let closed = SocketAddr::from(([127, 0, 0, 1], free_port()));
    put_group(&lb, group("tg-down", Protocol::Http), &[closed]);
    lb.open_listener(listener(
        "l-d",
        Protocol::Http,
        0,
        vec![],
        forward(&[("tg-down", 1)]),
    ))
    .unwrap();
    wait_until("unhealthy", || {
        state_of(&lb, "tg-down", closed).unwrap().state == TargetState::Unhealthy
    })
    .await;
    let h = state_of(&lb, "tg-down", closed).unwrap();
    assert_eq!(
        (h.reason, h.description.as_deref()),
        (
            Some("Target.FailedHealthChecks"),
            Some("Health checks failed")
        )
    );
}

#[tokio::test]
async fn draining_finishes_in_flight_requests_and_avoids_new_ones() {
    let (a, b) = (backend("a").await, backend("b").await);
    let (lb, addr) = alb("tg-drain", &[&a, &b]).await;
    let c = client();

    // 1. A slow request on a target, then the target is deregistered: the
    //    request completes, new requests go elsewhere, and the target
    //    leaves as soon as nothing is in flight (AWS completes early then).
    let slow = {
        let c = c.clone();
        tokio::spawn(async move { get(&c, addr, "/slow").await })
    };
    let busy = tokio::select! {
        _ = a.slow_started.notified() => a.clone(),
        _ = b.slow_started.notified() => b.clone(),
    };
    let other = if busy.name == "a" { &b } else { &a };
    lb.deregister_targets("tg-drain", &[target(busy.addr).key]);
    let h = state_of(&lb, "tg-drain", busy.addr).unwrap();
    assert_eq!(
        (h.state, h.reason, h.description.as_deref()),
        (
            TargetState::Draining,
            Some("Target.DeregistrationInProgress"),
            Some("Target deregistration is in progress")
        )
    );
    for _ in 0..4 {
        assert_eq!(get(&c, addr, "/").await.body, other.name);
    }
    busy.release.notify_waiters();
    let done = slow.await.unwrap();
    assert_eq!(
        (done.status.as_u16(), done.body),
        (200, format!("{} slow done", busy.name))
    );
    wait_until("the drained target to leave", || {
        state_of(&lb, "tg-drain", busy.addr).is_none()
    })
    .await;

    // 2. A request that never ends: the target leaves when ecsbox's clock
    //    passes the deregistration delay.
    let hang = {
        let c = c.clone();
        tokio::spawn(async move { get(&c, addr, "/hang").await })
    };
    wait_until("the hanging request", || {
        other.hits.load(Ordering::SeqCst) >= 5
    })
    .await;
    lb.deregister_targets("tg-drain", &[target(other.addr).key]);
    tokio::task::yield_now().await;
    assert_eq!(
        state_of(&lb, "tg-drain", other.addr).unwrap().state,
        TargetState::Draining
    );
    ecsbox::clock::advance(Duration::from_secs(301));
    wait_until("the delay to pass", || {
        state_of(&lb, "tg-drain", other.addr).is_none()
    })
    .await;
    hang.abort();
    assert_eq!(get(&c, addr, "/").await.status, 503);
}

/// Sends bytes and expects them echoed back.
async fn round_trip(s: &mut TcpStream, msg: &[u8]) {
    s.write_all(msg).await.unwrap();
    let mut got = vec![0u8; msg.len()];
    s.read_exact(&mut got).await.unwrap();
    assert_eq!(got, msg);
}

async fn echo_server() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut s, _) = l.accept().await.unwrap();
            tokio::spawn(async move {
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn tcp_listeners_proxy_bytes_to_a_healthy_target() {
    let echo = echo_server().await;
    let lb = plane();
    put_group(&lb, group("tg-tcp", Protocol::Tcp), &[echo]);
    let addr = lb
        .open_listener(listener(
            "l-tcp",
            Protocol::Tcp,
            0,
            vec![],
            forward(&[("tg-tcp", 1)]),
        ))
        .unwrap();
    wait_until("healthy", || {
        state_of(&lb, "tg-tcp", echo).unwrap().state == TargetState::Healthy
    })
    .await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    round_trip(&mut s, b"ping over nlb").await;
}

#[tokio::test]
async fn https_listeners_terminate_tls_with_the_generated_certificate() {
    let a = backend("a").await;
    let lb = plane();
    put_group(&lb, group("tg-tls", Protocol::Http), &[a.addr]);
    let addr = lb
        .open_listener(listener(
            "l-tls",
            Protocol::Https,
            0,
            vec![],
            forward(&[("tg-tls", 1)]),
        ))
        .unwrap();
    wait_healthy(&lb, "tg-tls", &[&a]).await;

    let mut roots = rustls::RootCertStore::empty();
    let pem = lb.ca_certificate_pem();
    use rustls::pki_types::pem::PemObject;
    let der = rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes()).unwrap();
    roots.add(der).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    for name in ["localhost", "my-lb-123.us-east-1.elb.localhost"] {
        let tcp = TcpStream::connect(addr).await.unwrap();
        let server_name = rustls::pki_types::ServerName::try_from(name.to_string()).unwrap();
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config.clone()))
            .connect(server_name, tcp)
            .await
            .unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .unwrap();
        tokio::spawn(conn);
        let req = Request::get("/")
            .header("host", name)
            .body(Empty::<Bytes>::new())
            .unwrap();
        let resp = sender.send_request(req).await.unwrap();
        assert_eq!(resp.headers()["seen-proto"], "https");
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"a");
    }
}

#[tokio::test]
async fn a_taken_port_falls_back_and_close_releases_the_port() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let fallback = free_port();
    let lb = LoadBalancing::new(LbSettings {
        fallback_ports: fallback..=fallback,
        ..LbSettings::default()
    });
    let addr = lb
        .open_listener(listener(
            "l-fb",
            Protocol::Http,
            port,
            vec![],
            fixed(200, "ok"),
        ))
        .unwrap();
    assert_eq!(addr.port(), fallback);
    assert_eq!(lb.listener_address("l-fb"), Some(addr));
    assert_eq!(lb.listeners(), vec![("l-fb".to_string(), port, addr)]);
    assert_eq!(get(&client(), addr, "/").await.body, "ok");
    // No port left at all: the error names the port asked for.
    let err = lb
        .open_listener(listener(
            "l-none",
            Protocol::Http,
            port,
            vec![],
            fixed(200, "ok"),
        ))
        .unwrap_err();
    assert_eq!(err, ListenerError::NoFreePort { port });

    lb.close_listener("l-fb");
    std::net::TcpListener::bind(addr).expect("the port is free once closed");
    assert!(lb.listeners().is_empty());
}

#[tokio::test]
async fn with_ports_only_from_range_a_free_own_port_outside_the_range_is_not_taken() {
    // ecsbox's image: only the range is published, so a listener must not
    // sit on its own port even when that port is free.
    let a = free_port();
    let b = std::iter::repeat_with(free_port).find(|p| *p != a).unwrap();
    let range = a.min(b)..=a.max(b);
    let own = std::iter::repeat_with(free_port)
        .find(|p| !range.contains(p))
        .unwrap();
    let lb = LoadBalancing::new(LbSettings {
        fallback_ports: range.clone(),
        ports_only_from_range: true,
        ..LbSettings::default()
    });
    let addr = lb
        .open_listener(listener(
            "l-own",
            Protocol::Http,
            own,
            vec![],
            fixed(200, "ok"),
        ))
        .unwrap();
    assert_ne!(addr.port(), own);
    assert!(range.contains(&addr.port()), "{addr} in {range:?}");
    assert_eq!(get(&client(), addr, "/").await.body, "ok");
    // A listener whose own (free) port lies in the range keeps it.
    let in_range = if addr.port() == *range.start() {
        *range.end()
    } else {
        *range.start()
    };
    let addr = lb
        .open_listener(listener(
            "l-in",
            Protocol::Http,
            in_range,
            vec![],
            fixed(200, "ok"),
        ))
        .unwrap();
    assert_eq!(addr.port(), in_range);
}

#[tokio::test]
async fn a_target_healthy_beside_a_steady_one_ramps_up_in_slow_start() {
    let (a, b) = (backend("a").await, backend("b").await);
    let lb = plane();
    let mut spec = group("tg-slow", Protocol::Http);
    // The longest AWS allows: the ramp barely starts during the test, even
    // if another test moves ecsbox's clock on by minutes meanwhile.
    spec.slow_start = Duration::from_secs(900);
    // The first target enters no slow start (no steady target beside it).
    put_group(&lb, spec, &[a.addr]);
    let addr = lb
        .open_listener(listener(
            "l-slow",
            Protocol::Http,
            0,
            vec![],
            forward(&[("tg-slow", 1)]),
        ))
        .unwrap();
    wait_healthy(&lb, "tg-slow", &[&a]).await;
    let c = client();
    for _ in 0..4 {
        assert_eq!(get(&c, addr, "/").await.body, "a");
    }
    lb.register_targets("tg-slow", vec![target(b.addr)]);
    wait_healthy(&lb, "tg-slow", &[&b]).await;
    let mut to_b = 0;
    for _ in 0..40 {
        if get(&c, addr, "/").await.body == "b" {
            to_b += 1;
        }
    }
    // Without slow start b would get its full share, 20 of 40.
    assert!(to_b < 16, "the new target got {to_b} of 40 requests");
}

#[tokio::test]
async fn an_explicit_health_check_port_is_probed_on_the_targets_ip() {
    let (traffic, checked) = (backend("traffic").await, backend("checked").await);
    let lb = plane();
    let mut spec = group("tg-hcport", Protocol::Http);
    spec.health_check.port = Some(checked.addr.port());
    put_group(&lb, spec, &[traffic.addr]);
    lb.open_listener(listener(
        "l-hcport",
        Protocol::Http,
        0,
        vec![],
        forward(&[("tg-hcport", 1)]),
    ))
    .unwrap();
    wait_healthy(&lb, "tg-hcport", &[&traffic]).await;
    assert!(checked.checks.load(Ordering::SeqCst) > 0);
    assert_eq!(traffic.checks.load(Ordering::SeqCst), 0);
    assert_eq!(
        state_of(&lb, "tg-hcport", traffic.addr)
            .unwrap()
            .health_check_port,
        checked.addr.port().to_string()
    );
}

#[tokio::test]
async fn requests_are_counted_per_group_when_a_target_was_chosen() {
    let (a, b) = (backend("a").await, backend("b").await);
    let (lb, addr) = alb("tg-count", &[&a, &b]).await;
    lb.put_target_group(group("tg-none", Protocol::Http));
    let rules = vec![
        rule(
            1,
            vec![Condition::PathPattern(vec!["/none".into()])],
            forward(&[("tg-none", 1)]),
        ),
        rule(
            2,
            vec![Condition::PathPattern(vec!["/fixed".into()])],
            fixed(200, "fixed"),
        ),
    ];
    lb.update_listener(listener(
        "l-1",
        Protocol::Http,
        0,
        rules,
        forward(&[("tg-count", 1)]),
    ));
    let c = client();
    for _ in 0..6 {
        assert_eq!(get(&c, addr, "/").await.status, 200);
    }
    // No target to choose (503) and the listener's own answers: not counted.
    assert_eq!(get(&c, addr, "/none").await.status, 503);
    assert_eq!(get(&c, addr, "/fixed").await.status, 200);
    let mut counts = lb.take_request_counts();
    counts.sort_by(|x, y| x.target_group_arn.cmp(&y.target_group_arn));
    let seen: Vec<(&str, u64, usize)> = counts
        .iter()
        .map(|g| (g.target_group_arn.as_str(), g.requests, g.healthy_targets))
        .collect();
    assert_eq!(seen, [("tg-count", 6, 2), ("tg-none", 0, 0)]);
    assert_eq!(counts[0].load_balancer_arns, [LB]);
    // Taken: the next take starts from zero.
    assert!(lb.take_request_counts().iter().all(|g| g.requests == 0));
}
