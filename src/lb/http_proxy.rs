//! The Application Load Balancer's HTTP/1.1 reverse proxy: one hyper server
//! connection per client connection; towards targets, keep-alive
//! connections pooled per target (`upstream`).
//!
//! Per request: read the listener's routes snapshot (no lock), pick the
//! action, and answer it — forward (a target group by weight, a target by
//! the group's algorithm and stickiness), fixed-response or redirect.
//! Bodies stream both ways (hyper passes chunked bodies through frame by
//! frame, nothing is buffered); `Upgrade` requests (websockets) are passed
//! to the target and, on its 101, both connections are upgraded and joined
//! byte for byte.
//!
//! What ALB adds to a forwarded request: X-Forwarded-For (appended),
//! X-Forwarded-Proto, X-Forwarded-Port (the listener's port) and
//! X-Amzn-Trace-Id (`Root=1-<8 hex of epoch seconds>-<24 hex>`, kept when
//! the client sent one). Its own answers carry `Server: awselb/2.0` and,
//! for errors, its small HTML page: 503 when the group has no target to
//! send to, 502 when the target refuses or resets, 504 when it does not
//! answer within the load balancer's idle timeout.

use std::cell::Cell;
use std::convert::Infallible;
use std::io::Write as _;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

use super::balance::{fnv, pick_weighted, Busy};
use super::listener::ConnCtx;
use super::routing::{redirect_location, RequestView, Routes};
use super::upstream::{self, Failure, Lease};
use super::{Action, Protocol, WeightedGroup};

pub type ProxyBody = UnsyncBoxBody<Bytes, hyper::Error>;

/// Serves one client connection until it closes or the listener closes.
pub async fn serve<I>(io: I, ctx: Arc<ConnCtx>, mut closed: watch::Receiver<()>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req| {
        let ctx = ctx.clone();
        async move { Ok::<_, Infallible>(handle(&ctx, req).await) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    tokio::select! {
        _ = conn => {}
        // The listener was closed: its connections go with it.
        _ = closed.changed() => {}
    }
}

async fn handle(ctx: &ConnCtx, req: Request<Incoming>) -> Response<ProxyBody> {
    let routes = ctx.listener.routes.load_full();
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()));
    let view = RequestView {
        method: req.method().as_str(),
        path: req.uri().path(),
        query: req.uri().query(),
        host,
        headers: req.headers(),
        source: ctx.peer.ip(),
    };
    match routes.action_for(&view) {
        Some(Action::Forward { groups, stickiness }) => {
            let stickiness = *stickiness;
            let group = choose_group(groups, stickiness, req.headers(), ctx);
            match group {
                Some(g) => forward(ctx, &routes, req, &g.target_group_arn, stickiness).await,
                None => elb_error(StatusCode::SERVICE_UNAVAILABLE),
            }
        }
        Some(Action::FixedResponse {
            status,
            content_type,
            body,
        }) => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::OK);
            let body = body.clone().unwrap_or_default();
            let mut resp = Response::new(full(Bytes::from(body)));
            *resp.status_mut() = status;
            let ct = content_type
                .as_deref()
                .unwrap_or("text/plain; charset=utf-8");
            if let Ok(v) = HeaderValue::from_str(ct) {
                resp.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            resp.headers_mut().insert(header::SERVER, AWSELB.clone());
            resp
        }
        Some(Action::Redirect {
            protocol,
            host,
            port,
            path,
            query,
            status,
        }) => {
            let location = redirect_location((protocol, host, port, path, query), &routes, &view);
            let mut resp = Response::new(empty());
            *resp.status_mut() = StatusCode::from_u16(*status).unwrap_or(StatusCode::FOUND);
            resp.headers_mut().insert(header::SERVER, AWSELB.clone());
            match HeaderValue::from_str(&location) {
                Ok(v) => {
                    resp.headers_mut().insert(header::LOCATION, v);
                    resp
                }
                Err(_) => elb_error(StatusCode::BAD_REQUEST),
            }
        }
        None => elb_error(StatusCode::SERVICE_UNAVAILABLE),
    }
}

/// The target group of a forward action: the one the AWSALBTG cookie names
/// when target group stickiness is on and it still has weight, else by
/// weight.
fn choose_group<'a>(
    groups: &'a [WeightedGroup],
    stickiness: Option<Duration>,
    headers: &HeaderMap,
    ctx: &ConnCtx,
) -> Option<&'a WeightedGroup> {
    if stickiness.is_some() {
        if let Some(v) = cookie(headers, "AWSALBTG") {
            let sticky = groups
                .iter()
                .find(|g| g.weight > 0 && group_cookie(&g.target_group_arn) == v);
            if sticky.is_some() {
                return sticky;
            }
        }
    }
    pick_weighted(groups, &ctx.listener.cursor)
}

fn group_cookie(arn: &str) -> String {
    format!("{:016x}", fnv(&[arn]))
}

async fn forward(
    ctx: &ConnCtx,
    routes: &Routes,
    mut req: Request<Incoming>,
    group_arn: &str,
    group_stickiness: Option<Duration>,
) -> Response<ProxyBody> {
    let Some(group) = ctx.shared.groups.load().get(group_arn).cloned() else {
        return elb_error(StatusCode::SERVICE_UNAVAILABLE);
    };
    let view = group.view.load_full();
    let sticky = view
        .stickiness
        .and_then(|_| cookie(req.headers(), "AWSALB").map(str::to_owned));
    let Some(target) = group.pick(&view, sticky.as_deref()) else {
        return elb_error(StatusCode::SERVICE_UNAVAILABLE);
    };
    // ALB's RequestCount counts "only requests where the load balancer node
    // was able to choose a target": here, whatever the target answers.
    group.count_request();
    let busy = target.request();

    let upgrade = is_upgrade(req.headers());
    let client_upgrade = upgrade.then(|| hyper::upgrade::on(&mut req));
    let (mut parts, body) = req.into_parts();
    strip_hop_by_hop(&mut parts.headers, upgrade);
    add_forwarded(&mut parts.headers, ctx.peer.ip(), routes);
    if !parts.headers.contains_key(header::HOST) {
        // HTTP/1.0 without Host: the request line's authority (absolute
        // form), else the target's address, as an HTTP/1.1 request needs one.
        let host = match parts.uri.authority() {
            Some(a) => HeaderValue::from_str(a.as_str()),
            None => HeaderValue::from_str(&target.address.to_string()),
        };
        if let Ok(h) = host {
            parts.headers.insert(header::HOST, h);
        }
    }
    if parts.uri.scheme().is_some() || parts.uri.authority().is_some() {
        // Targets get origin form (`/path?query`), as from any load balancer.
        let pq = parts
            .uri
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/"));
        parts.uri = http::Uri::from(pq);
    }
    parts.version = http::Version::HTTP_11;
    let out = Request::from_parts(parts, body);

    let sent = tokio::time::timeout(routes.idle_timeout, upstream::send(&target, view.tls, out));
    let (mut resp, lease) = match sent.await {
        Err(_) | Ok(Err(Failure::ConnectTimeout)) => return elb_error(StatusCode::GATEWAY_TIMEOUT),
        Ok(Err(Failure::Failed)) => return elb_error(StatusCode::BAD_GATEWAY),
        Ok(Ok(r)) => r,
    };

    if let Some(stickiness) = view.stickiness {
        set_cookie(resp.headers_mut(), "AWSALB", &target.cookie, stickiness);
    }
    if let Some(stickiness) = group_stickiness {
        set_cookie(
            resp.headers_mut(),
            "AWSALBTG",
            &group_cookie(group_arn),
            stickiness,
        );
    }

    if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
        if let Some(client_upgrade) = client_upgrade {
            lease.upgraded();
            let target_upgrade = hyper::upgrade::on(&mut resp);
            tokio::spawn(join_upgraded(client_upgrade, target_upgrade, busy));
            let (parts, _) = resp.into_parts();
            return Response::from_parts(parts, empty());
        }
    }
    strip_hop_by_hop(resp.headers_mut(), false);
    // The target counts as busy, and its connection as taken, until the
    // whole response body went out.
    let guards: (Busy, Lease) = (busy, lease);
    resp.map(|b| {
        b.map_frame(move |f| {
            let _ = &guards;
            f
        })
        .boxed_unsync()
    })
}

/// Joins the client's and the target's upgraded connections (websockets);
/// the request stays in flight on the target until both sides close.
async fn join_upgraded(
    client: hyper::upgrade::OnUpgrade,
    target: hyper::upgrade::OnUpgrade,
    busy: Busy,
) {
    let (Ok(client), Ok(target)) = tokio::join!(client, target) else {
        return;
    };
    let mut client = TokioIo::new(client);
    let mut target = TokioIo::new(target);
    let _ = tokio::io::copy_bidirectional(&mut client, &mut target).await;
    drop(busy);
}

fn is_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(header::UPGRADE)
        && headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| {
                v.split(',')
                    .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
            })
}

/// Headers that belong to one hop (RFC 9110 §7.6.1); an upgrade keeps
/// `Connection: upgrade` and `Upgrade` so the target sees the handshake.
fn strip_hop_by_hop(headers: &mut HeaderMap, upgrade: bool) {
    if let Some(listed) = headers.get(header::CONNECTION).cloned() {
        if let Ok(listed) = listed.to_str() {
            for name in listed.split(',').map(str::trim) {
                let keep = upgrade && name.eq_ignore_ascii_case("upgrade");
                if !keep && !name.is_empty() {
                    headers.remove(name);
                }
            }
        }
    }
    const HOP: [HeaderName; 5] = [
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::PROXY_AUTHENTICATE,
        header::PROXY_AUTHORIZATION,
    ];
    for h in HOP {
        headers.remove(h);
    }
    headers.remove("keep-alive");
    headers.remove("proxy-connection");
    if !upgrade {
        headers.remove(header::CONNECTION);
        headers.remove(header::UPGRADE);
    }
}

fn add_forwarded(headers: &mut HeaderMap, client: IpAddr, routes: &Routes) {
    let client = match client {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(client, IpAddr::V4),
        v4 => v4,
    };
    // Written into a buffer on the stack: this runs for every request.
    let mut buf = [0u8; 256];
    let mut w = &mut buf[..];
    let written = match headers.get("x-forwarded-for") {
        Some(prev) => write!(w, "{}, {client}", prev.to_str().unwrap_or_default()),
        None => write!(w, "{client}"),
    };
    let len = 256 - w.len();
    let xff = match written {
        Ok(()) => HeaderValue::from_bytes(&buf[..len]),
        // A very long chain: the slow way.
        Err(_) => {
            let prev = headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            HeaderValue::from_str(&format!("{prev}, {client}"))
        }
    };
    if let Ok(v) = xff {
        headers.insert("x-forwarded-for", v);
    }
    let proto = match routes.protocol {
        Protocol::Https | Protocol::Tls => "https",
        Protocol::Http | Protocol::Tcp => "http",
    };
    headers.insert("x-forwarded-proto", HeaderValue::from_static(proto));
    headers.insert("x-forwarded-port", HeaderValue::from(routes.port));
    if !headers.contains_key("x-amzn-trace-id") {
        let id = trace_id_bytes();
        if let Ok(v) = HeaderValue::from_bytes(&id) {
            headers.insert("x-amzn-trace-id", v);
        }
    }
}

/// `Root=1-<epoch seconds, 8 hex>-<96 random bits, 24 hex>`, as ALB writes it.
pub fn trace_id() -> String {
    String::from_utf8_lossy(&trace_id_bytes()).into_owned()
}

/// The trace id, built on the stack (every forwarded request gets one).
fn trace_id_bytes() -> [u8; 40] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let secs = crate::clock::now_system()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (a, b) = (next_random(), next_random());
    let mut out = *b"Root=1-00000000-000000000000000000000000";
    let mut put = |at: usize, value: u64, digits: usize| {
        for i in 0..digits {
            let nibble = (value >> (4 * (digits - 1 - i))) & 0xf;
            out[at + i] = HEX[nibble as usize];
        }
    };
    put(7, u64::from(secs as u32), 8);
    put(16, a, 16);
    put(32, u64::from(b as u32), 8);
    out
}

/// A per-thread xorshift generator seeded once from the system's
/// randomness: trace ids need to be unique, not secret, and the hot path
/// should not make a system call per request.
fn next_random() -> u64 {
    thread_local! {
        static STATE: Cell<u64> = Cell::new(uuid::Uuid::new_v4().as_u64_pair().0 | 1);
    }
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        x
    })
}

/// A cookie's value from the request's Cookie headers.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// ALB's pair of stickiness cookies: `NAME` and `NAMECORS` (the latter
/// with `SameSite=None; Secure` for cross-origin requests).
fn set_cookie(headers: &mut HeaderMap, name: &str, value: &str, duration: Duration) {
    let expires = http_date(crate::clock::now_system() + duration);
    let plain = format!("{name}={value}; Expires={expires}; Path=/");
    let cors = format!("{name}CORS={value}; Expires={expires}; Path=/; SameSite=None; Secure");
    for c in [plain, cors] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            headers.append(header::SET_COOKIE, v);
        }
    }
}

/// An IMF-fixdate (`Tue, 15 Nov 1994 08:12:31 GMT`).
pub fn http_date(t: std::time::SystemTime) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = crate::civil::civil_from_days(days);
    format!(
        "{}, {d:02} {} {y:04} {:02}:{:02}:{:02} GMT",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(m - 1) as usize],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

static AWSELB: HeaderValue = HeaderValue::from_static("awselb/2.0");

/// An answer of the load balancer itself, shaped like ALB's.
pub fn elb_error(status: StatusCode) -> Response<ProxyBody> {
    let reason: &'static str = match status.as_u16() {
        503 => "Service Temporarily Unavailable",
        504 => "Gateway Time-out",
        other => StatusCode::from_u16(other)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Error"),
    };
    let title = format!("{} {reason}", status.as_u16());
    let body = format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n"
    );
    let mut resp = Response::new(full(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(header::SERVER, AWSELB.clone());
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    resp.extensions_mut()
        .insert(hyper::ext::ReasonPhrase::from_static(reason.as_bytes()));
    resp
}

fn full(b: Bytes) -> ProxyBody {
    Full::new(b).map_err(|never| match never {}).boxed_unsync()
}

fn empty() -> ProxyBody {
    Empty::new().map_err(|never| match never {}).boxed_unsync()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_imf_fixdates() {
        let t = std::time::UNIX_EPOCH + Duration::from_secs(784_887_151);
        assert_eq!(http_date(t), "Tue, 15 Nov 1994 08:12:31 GMT");
    }

    #[test]
    fn trace_ids_look_like_albs() {
        let id = trace_id();
        let parts: Vec<&str> = id.strip_prefix("Root=1-").unwrap().split('-').collect();
        assert_eq!((parts[0].len(), parts[1].len()), (8, 24), "{id}");
        assert_ne!(trace_id(), id);
    }

    #[test]
    fn cookies_are_found_by_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; AWSALB=abc; AWSALBTG=def".parse().unwrap(),
        );
        assert_eq!(cookie(&h, "AWSALB"), Some("abc"));
        assert_eq!(cookie(&h, "AWSALBTG"), Some("def"));
        assert_eq!(cookie(&h, "AWSALBCORS"), None);
    }

    #[test]
    fn errors_look_like_albs() {
        let r = elb_error(StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()[header::SERVER], "awselb/2.0");
        assert_eq!(
            r.extensions()
                .get::<hyper::ext::ReasonPhrase>()
                .unwrap()
                .as_bytes(),
            b"Service Temporarily Unavailable"
        );
    }
}
