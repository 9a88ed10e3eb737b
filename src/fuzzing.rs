//! Fuzz targets: every decoder and parser that takes user input, each a
//! plain function of bytes that panics only on a bug. Two runners share
//! them:
//! - `fuzz/` runs each under libFuzzer (`scripts/fuzz.sh TARGET SECONDS`),
//!   coverage-guided, for the long runs;
//! - `tests/fuzz_bounded.rs`, in the test command, replays every kept input
//!   (`fuzz/seeds/TARGET/`, and `fuzz/regressions/TARGET/` where each crash
//!   found is kept) and mutates them for a bounded time.
//!
//! The API targets send whole requests through the same path as the
//! server (`server::answer`: routing, authentication, decoding, the
//! handlers) on one app with the fake container runtime, so what a request
//! creates stays for the next one, as on a real server. An answer with a
//! 5xx status is a bug too: bad input gets a client error.

use crate::cloudmap::{
    CloudMap, DnsRecord, DnsSettings, Health, Instance, Namespace, NamespaceKind, Service,
};
use crate::config::Config;
use crate::runtime::fake::FakeRuntime;
use crate::server::App;
use bytes::Bytes;
use clap::Parser;
use std::sync::{Arc, Mutex, OnceLock};

/// One fuzz target: its name (the folder of its inputs) and its function.
pub struct Target {
    pub name: &'static str,
    pub run: fn(&[u8]),
}

/// `TARGETS`, each named after its function.
macro_rules! targets {
    ($($name:ident),* $(,)?) => {
        /// Every target.
        pub const TARGETS: &[Target] = &[$(Target { name: stringify!($name), run: $name }),*];
    };
}

targets![
    api_json,
    api_query,
    api_cbor,
    api_rest_json,
    content_encoding,
    sigv4,
    placement_expression,
    log_filter_pattern,
    event_pattern,
    schedule_expression,
    ecr_lifecycle_policy,
    image_manifest,
    dns_message,
];

// ---- the API, through the server's own path -------------------------------

/// The app the API targets call, with its runtime. Requests go one at a
/// time (the lock), so an input replays the same way given the same past.
struct Harness {
    runtime: tokio::runtime::Runtime,
    app: Arc<App>,
    calls: Mutex<u64>,
}

/// After this many calls the app's state is reset, so a long run does not
/// only grow.
const RESET_EVERY: u64 = 20_000;

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        // The tests' configuration (loopback on free ports, its own
        // instance id, no DNS server, no warm namespaces), confined further:
        // nothing reaches outside the process but loopback listeners: no
        // task endpoints (they add an address and a netfilter rule),
        // Service Connect refused (its fast path writes netfilter rules),
        // load balancer listeners only in a high range.
        let mut config = Config::for_tests();
        config.sigv4 = crate::config::SigV4Mode::Off;
        config.task_endpoints = crate::config::TaskEndpoints::Off;
        config.own_container = Some("ecsbox-fuzz".into());
        config.lb_ports = 47100..=47109;
        config.lb_ports_only = true;
        config.container_instances = 2;
        let fake = Arc::new(FakeRuntime::new());
        fake.add_image("app:1");
        let app = {
            let _entered = runtime.enter();
            App::with_runtime(config, fake).expect("the fuzz configuration is valid")
        };
        Harness {
            runtime,
            app,
            calls: Mutex::new(0),
        }
    })
}

/// Sends one request; panics when the answer is a server error.
fn call(method: &str, uri: &str, headers: &[(&str, &str)], body: &[u8]) {
    let h = harness();
    let mut calls = h.calls.lock().unwrap_or_else(|e| e.into_inner());
    *calls += 1;
    if calls.is_multiple_of(RESET_EVERY) {
        h.runtime.block_on(h.app.reset());
    }
    let mut request = http::Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let Ok(request) = request.body(()) else {
        return; // Not a request hyper would have parsed.
    };
    let (parts, ()) = request.into_parts();
    let body = Bytes::copy_from_slice(body);
    let _entered = h.runtime.enter();
    let response = crate::server::answer(&h.app, &parts, &body);
    let status = response.status();
    assert!(
        status.as_u16() < 500,
        "{method} {uri} answered {status}: {:?}",
        response.body()
    );
}

/// Splits at the first newline: (the line, the rest).
fn first_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// `X-Amz-Target` line, then the body: an AWS JSON call.
pub fn api_json(data: &[u8]) {
    let (target, body) = first_line(data);
    let target = text(target);
    let h = harness();
    let prefix = target.rsplit_once('.').map(|(p, _)| p).unwrap_or("");
    let version = h
        .app
        .services
        .iter()
        .find(|s| s.meta().target_prefix == prefix)
        .map(|s| s.meta().json_version)
        .unwrap_or("1.1");
    let content_type = format!("application/x-amz-json-{version}");
    call(
        "POST",
        "/",
        &[("x-amz-target", &target), ("content-type", &content_type)],
        body,
    );
}

/// A query or ec2 form (`Action=...&Version=...`).
pub fn api_query(data: &[u8]) {
    call(
        "POST",
        "/",
        &[(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )],
        data,
    );
}

/// `SERVICE/OPERATION` line, then the CBOR body: a Smithy RPC v2 call.
pub fn api_cbor(data: &[u8]) {
    let (route, body) = first_line(data);
    let route = text(route);
    let (service, op) = route.split_once('/').unwrap_or((&route, ""));
    let uri = format!("/service/{service}/operation/{op}");
    if uri.parse::<http::Uri>().is_err() {
        return;
    }
    call(
        "POST",
        &uri,
        &[
            ("smithy-protocol", "rpc-v2-cbor"),
            ("content-type", "application/cbor"),
            ("accept", "application/cbor"),
        ],
        body,
    );
}

/// `METHOD PATH?QUERY` line, then the body: a rest-json call.
pub fn api_rest_json(data: &[u8]) {
    let (line, body) = first_line(data);
    let line = text(line);
    let (method, uri) = line.split_once(' ').unwrap_or(("GET", &line));
    if http::Method::from_bytes(method.as_bytes()).is_err() || uri.parse::<http::Uri>().is_err() {
        return;
    }
    call(method, uri, &[("content-type", "application/json")], body);
}

// ---- the wire --------------------------------------------------------------

/// `Content-Encoding` line, then the body, decoded with a small limit.
pub fn content_encoding(data: &[u8]) {
    let (encoding, body) = first_line(data);
    let mut headers = http::HeaderMap::new();
    if let Ok(v) = http::HeaderValue::from_bytes(encoding) {
        headers.insert(http::header::CONTENT_ENCODING, v);
    }
    const MAX: usize = 64 * 1024;
    if let Ok(decoded) =
        crate::protocol::content_encoding::decode(&headers, Bytes::copy_from_slice(body), MAX)
    {
        assert!(decoded.len() <= MAX.max(body.len()), "over the limit");
    }
}

/// `Authorization` line, `X-Amz-Date` line, then the body: a signed
/// request checked by a strict authenticator (whose key is `AKIDFUZZ`).
pub fn sigv4(data: &[u8]) {
    static AUTH: OnceLock<crate::auth::Authenticator> = OnceLock::new();
    let auth = AUTH.get_or_init(|| {
        let config = Config::parse_from([
            "ecsbox",
            "--sigv4",
            "strict",
            "--credentials",
            "AKIDFUZZ:secret",
        ]);
        crate::auth::Authenticator::new(&config).expect("valid credentials")
    });
    let (authorization, rest) = first_line(data);
    let (date, body) = first_line(rest);
    let _ = crate::auth::parse_authorization(&text(authorization));
    let _ = crate::auth::sigv4::parse_amz_date(&text(date));
    let mut headers = http::HeaderMap::new();
    for (name, value) in [("authorization", authorization), ("x-amz-date", date)] {
        if let Ok(v) = http::HeaderValue::from_bytes(value) {
            headers.insert(name, v);
        }
    }
    headers.insert(
        http::header::HOST,
        http::HeaderValue::from_static("localhost"),
    );
    let request = crate::auth::SignedRequest {
        method: "POST",
        path: "/",
        query: "",
        headers: &headers,
        body,
    };
    let _ = auth.authenticate("ecs", &request, std::time::SystemTime::now());
}

// ---- the expression languages ----------------------------------------------

/// A cluster query language expression, evaluated on a container instance.
pub fn placement_expression(data: &[u8]) {
    use crate::domain::placement::{query, Candidate};
    let Ok(expr) = query::parse(&text(data)) else {
        return;
    };
    let mut c = Candidate {
        arn: "arn:aws:ecs:us-east-1:000000000000:container-instance/c/0".into(),
        ec2_instance_id: "i-0123456789abcdef0".into(),
        agent_connected: true,
        agent_version: "1.80.0".into(),
        registered_at: 1.7e9,
        remaining_cpu: 2048,
        remaining_memory: 7680,
        running_tasks: 1,
        groups: vec!["service:web".into()],
        ..Default::default()
    };
    for (name, value) in [
        ("ecs.instance-type", Some("m5.large")),
        ("ecs.availability-zone", Some("us-east-1a")),
        ("ecs.os-type", Some("linux")),
        ("custom", None),
    ] {
        c.attributes
            .insert(name.to_string(), value.map(str::to_string));
    }
    let _ = expr.matches(&c);
}

/// A CloudWatch Logs filter pattern line, then messages matched line by line.
pub fn log_filter_pattern(data: &[u8]) {
    let (pattern, messages) = first_line(data);
    let Ok(pattern) = crate::logs::pattern::Pattern::parse(&text(pattern)) else {
        return;
    };
    for message in text(messages).lines() {
        let _ = pattern.matches(message);
    }
}

/// An EventBridge event pattern line, then an event (JSON) matched.
pub fn event_pattern(data: &[u8]) {
    use crate::services::events::pattern::Pattern;
    let (pattern, event) = first_line(data);
    let Ok(pattern) = Pattern::parse(&text(pattern)) else {
        return;
    };
    if let Ok(event) = serde_json::from_slice::<serde_json::Value>(event) {
        let _ = pattern.matches(&event);
    }
}

/// A schedule expression line (EventBridge's and Application Auto
/// Scaling's), then a time zone line for the latter.
pub fn schedule_expression(data: &[u8]) {
    use crate::services::application_autoscaling::schedule as scaling;
    use crate::services::events::schedule::Schedule;
    let (expression, rest) = first_line(data);
    let (zone, _) = first_line(rest);
    let expression = text(expression);
    let start = 1.7e9;
    if let Ok(schedule) = Schedule::parse(&expression) {
        let mut after = start;
        for _ in 0..3 {
            match schedule.next_after(start, after) {
                Some(next) => {
                    assert!(next > after, "{expression}: {next} is not after {after}");
                    after = next;
                }
                None => break,
            }
        }
    }
    let zone = text(zone);
    if let (Ok(schedule), Ok(tz)) = (
        scaling::parse(&expression),
        scaling::time_zone(Some(zone.as_ref()).filter(|z| !z.is_empty())),
    ) {
        let mut after = start as i64;
        for _ in 0..3 {
            match schedule.next_after(after, start as i64, &tz) {
                Some(next) => {
                    assert!(next > after, "{expression}: {next} is not after {after}");
                    after = next;
                }
                None => break,
            }
        }
    }
}

/// An ECR lifecycle policy, evaluated on a few images.
pub fn ecr_lifecycle_policy(data: &[u8]) {
    use crate::services::ecr::lifecycle_policy::{evaluate, parse, ImageFacts};
    let Ok(policy) = parse(&text(data)) else {
        return;
    };
    let images: Vec<ImageFacts> = (0..6)
        .map(|i| ImageFacts {
            digest: format!("sha256:{i:064x}"),
            tags: match i % 3 {
                0 => vec![],
                1 => vec![format!("v{i}"), "latest".into()],
                _ => vec![format!("prod-{i}")],
            },
            pushed_at: 1.7e9 - f64::from(i) * 86_400.0,
        })
        .collect();
    let expired = evaluate(&policy, &images, 1.7e9 + 86_400.0);
    assert!(expired.len() <= images.len(), "an image expired twice");
}

/// A media type line, then an image manifest as `docker push` sends it.
pub fn image_manifest(data: &[u8]) {
    let (media_type, manifest) = first_line(data);
    let media_type = text(media_type);
    let _ = crate::services::ecr::repository::check_manifest(
        manifest,
        Some(&media_type)
            .filter(|m| !m.is_empty())
            .map(|m| m.as_ref()),
    );
}

/// A DNS message as a task sends it to ecsbox's resolver, which holds one
/// private namespace, `app.local`, with a service `api` (A and SRV).
pub fn dns_message(data: &[u8]) {
    static CLOUD_MAP: OnceLock<Arc<CloudMap>> = OnceLock::new();
    let cloud_map = CLOUD_MAP.get_or_init(|| Arc::new(dns_zone()));
    for udp in [true, false] {
        if let Some(reply) = crate::dns::respond_to(cloud_map.clone(), data, udp) {
            assert!(reply.len() >= 12, "a reply shorter than a DNS header");
            if udp {
                assert!(reply.len() <= 4096, "a UDP reply over the EDNS payload");
            }
        }
    }
}

fn dns_zone() -> CloudMap {
    let cloud_map = CloudMap::new();
    cloud_map.with("000000000000", "us-east-1", |r| {
        r.namespaces.insert(
            "ns-1".into(),
            Namespace {
                id: "ns-1".into(),
                arn: "arn:aws:servicediscovery:us-east-1:000000000000:namespace/ns-1".into(),
                name: "app.local".into(),
                kind: NamespaceKind::DnsPrivate,
                description: None,
                vpc: None,
                soa_ttl: Some(30),
                http_name: "app.local".into(),
                hosted_zone_id: None,
                created: 0.0,
                creator_request_id: None,
            },
        );
        let mut api = Service {
            id: "srv-api".into(),
            arn: String::new(),
            name: "api".into(),
            namespace_id: "ns-1".into(),
            description: None,
            dns: Some(DnsSettings {
                routing_policy: "MULTIVALUE".into(),
                records: ["A", "SRV"]
                    .into_iter()
                    .map(|kind| DnsRecord {
                        kind: kind.into(),
                        ttl: 10,
                    })
                    .collect(),
            }),
            custom_health: false,
            kind: "DNS_HTTP".into(),
            created: 0.0,
            creator_request_id: None,
            attributes: Default::default(),
            instances: Default::default(),
            revision: 1,
        };
        for i in 1..=12 {
            api.instances.insert(
                format!("t{i}"),
                Instance {
                    id: format!("t{i}"),
                    attributes: [
                        ("AWS_INSTANCE_IPV4".to_string(), format!("10.0.0.{i}")),
                        ("AWS_INSTANCE_PORT".to_string(), "8080".to_string()),
                    ]
                    .into_iter()
                    .collect(),
                    creator_request_id: None,
                    health: Health::Healthy,
                    created: 0.0,
                },
            );
        }
        r.services.insert(api.id.clone(), api);
    });
    cloud_map
}
