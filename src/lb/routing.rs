//! Which action a request gets: a listener's rules, tried by ascending
//! priority, with AWS's condition semantics, and the default actions when
//! none matches.
//!
//! Pure on purpose: no sockets, no clock, no state, so every matching rule
//! of AWS's documentation is a unit test here, and the proxy only asks
//! `Routes::action_for` once per request. A listener's `Routes` is compiled
//! once per change (CIDRs parsed, rules sorted) and read without a lock.
//!
//! The rules as AWS documents them ("Listener rules for your Application
//! Load Balancer", condition types):
//! - conditions of a rule are ANDed, values within one condition ORed;
//! - path-pattern: `*` and `?` wildcards, case-sensitive, on the path only
//!   (not the query string);
//! - host-header: `*` and `?`, case-insensitive, the Host without its port;
//! - http-header: the header name case-insensitive, its values matched with
//!   wildcards case-insensitively;
//! - query-string: key/value pairs, wildcards, case-insensitive; a pair
//!   without key matches any key with that value;
//! - source-ip: the client's address in one of the CIDR blocks (the
//!   immediate peer, not X-Forwarded-For);
//! - http-request-method: exact, case-sensitive.

use std::net::IpAddr;
use std::time::Duration;

use super::{Action, Condition, ListenerSpec, Protocol};

/// What the rules look at in a request.
#[derive(Debug, Clone, Copy)]
pub struct RequestView<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    /// The Host header (or the URI's authority), port included as sent.
    pub host: Option<&'a str>,
    pub headers: &'a http::HeaderMap,
    pub source: IpAddr,
}

/// A listener's rules as the proxy serves them: an immutable snapshot,
/// replaced whole when the listener changes.
#[derive(Debug)]
pub struct Routes {
    pub protocol: Protocol,
    /// The listener's own port (what X-Forwarded-Port and `#{port}` say).
    pub port: u16,
    /// The load balancer's idle timeout: how long a target may take to answer.
    pub idle_timeout: Duration,
    rules: Vec<CompiledRule>,
    default_actions: Vec<Action>,
}

#[derive(Debug)]
struct CompiledRule {
    conditions: Vec<Compiled>,
    actions: Vec<Action>,
}

#[derive(Debug)]
enum Compiled {
    Path(Vec<String>),
    Host(Vec<String>),
    Header { name: String, values: Vec<String> },
    Query(Vec<(Option<String>, String)>),
    Source(Vec<Cidr>),
    Method(Vec<String>),
}

impl Routes {
    pub fn compile(spec: &ListenerSpec, idle_timeout: Duration) -> Routes {
        let mut rules: Vec<_> = spec.rules.iter().collect();
        rules.sort_by_key(|r| r.priority);
        Routes {
            protocol: spec.protocol,
            port: spec.port,
            idle_timeout,
            rules: rules
                .into_iter()
                .map(|r| CompiledRule {
                    conditions: r.conditions.iter().map(compile_condition).collect(),
                    actions: r.actions.clone(),
                })
                .collect(),
            default_actions: spec.default_actions.clone(),
        }
    }

    /// The action that answers the request: the last of the first matching
    /// rule's actions (AWS: authentication actions come first and the final
    /// action last; the plane has no authentication actions), else the
    /// default one.
    pub fn action_for(&self, req: &RequestView<'_>) -> Option<&Action> {
        self.rules
            .iter()
            .find(|r| r.conditions.iter().all(|c| c.matches(req)))
            .map_or(&self.default_actions, |r| &r.actions)
            .last()
    }

    /// The action a connection of a TCP/TLS listener gets (no rules there).
    pub fn default_action(&self) -> Option<&Action> {
        self.default_actions.last()
    }

    /// Every target group this listener may forward to.
    pub fn forwarded_groups(spec: &ListenerSpec) -> impl Iterator<Item = &str> {
        spec.rules
            .iter()
            .flat_map(|r| r.actions.iter())
            .chain(spec.default_actions.iter())
            .flat_map(|a| match a {
                Action::Forward { groups, .. } => groups.as_slice(),
                _ => &[],
            })
            .map(|g| g.target_group_arn.as_str())
    }
}

fn compile_condition(c: &Condition) -> Compiled {
    let lower = |v: &[String]| v.iter().map(|s| s.to_ascii_lowercase()).collect();
    match c {
        Condition::PathPattern(p) => Compiled::Path(p.clone()),
        Condition::HostHeader(h) => Compiled::Host(lower(h)),
        Condition::HttpHeader { name, values } => Compiled::Header {
            name: name.to_ascii_lowercase(),
            values: lower(values),
        },
        Condition::QueryString(pairs) => Compiled::Query(
            pairs
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_ref().map(|k| k.to_ascii_lowercase()),
                        v.to_ascii_lowercase(),
                    )
                })
                .collect(),
        ),
        // A block that does not parse matches nothing (the API validates them).
        Condition::SourceIp(blocks) => {
            Compiled::Source(blocks.iter().filter_map(|b| Cidr::parse(b)).collect())
        }
        Condition::HttpRequestMethod(m) => Compiled::Method(m.clone()),
    }
}

impl Compiled {
    fn matches(&self, req: &RequestView<'_>) -> bool {
        match self {
            Compiled::Path(patterns) => patterns.iter().any(|p| wildcard(p, req.path, false)),
            Compiled::Host(patterns) => {
                let Some(host) = req.host.map(strip_port) else {
                    return false;
                };
                patterns.iter().any(|p| wildcard(p, host, true))
            }
            Compiled::Header { name, values } => req
                .headers
                .get_all(name.as_str())
                .iter()
                .filter_map(|v| v.to_str().ok())
                .any(|v| values.iter().any(|p| wildcard(p, v, true))),
            Compiled::Query(pairs) => {
                let query: Vec<(String, String)> = req
                    .query
                    .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
                    .unwrap_or_default();
                pairs.iter().any(|(k, v)| {
                    query.iter().any(|(qk, qv)| {
                        k.as_ref().is_none_or(|k| wildcard(k, qk, true)) && wildcard(v, qv, true)
                    })
                })
            }
            Compiled::Source(blocks) => blocks.iter().any(|b| b.contains(req.source)),
            Compiled::Method(methods) => methods.iter().any(|m| m == req.method),
        }
    }
}

/// The Host header without its port (`[::1]:80` keeps its brackets off too).
pub fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

/// `*` (any run, empty too) and `?` (exactly one character) against
/// `text`; `fold`: ASCII case-insensitive (patterns compiled lower-case).
pub fn wildcard(pattern: &str, text: &str, fold: bool) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let eq = |a: char, b: char| {
        if fold {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    // Iterative matching with one backtrack point: linear in practice.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && eq(p[pi], t[ti]))) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// A CIDR block (v4 or v6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    bits: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Option<Cidr> {
        let (addr, bits) = s.split_once('/')?;
        let net: IpAddr = addr.trim().parse().ok()?;
        let bits: u8 = bits.trim().parse().ok()?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        (bits <= max).then_some(Cidr { net, bits })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4 client seen on a dual-stack socket arrives as ::ffff:a.b.c.d.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => prefix_eq(&n.octets(), &a.octets(), self.bits),
            (IpAddr::V6(n), IpAddr::V6(a)) => prefix_eq(&n.octets(), &a.octets(), self.bits),
            _ => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let (whole, rest) = ((bits / 8) as usize, bits % 8);
    if a[..whole] != b[..whole] {
        return false;
    }
    rest == 0 || {
        let mask = 0xffu8 << (8 - rest);
        a[whole] & mask == b[whole] & mask
    }
}

/// The Location of a redirect action: AWS's `#{protocol}`, `#{host}`,
/// `#{port}`, `#{path}` and `#{query}` placeholders filled from the
/// request; the port left out when it is the protocol's own.
pub fn redirect_location(
    parts: (&str, &str, &str, &str, &str),
    routes: &Routes,
    req: &RequestView<'_>,
) -> String {
    let (protocol, host, port, path, query) = parts;
    let req_protocol = match routes.protocol {
        Protocol::Https | Protocol::Tls => "https",
        Protocol::Http | Protocol::Tcp => "http",
    };
    let req_host = req.host.map(strip_port).unwrap_or("");
    let req_port = routes.port.to_string();
    let fill = |s: &str| {
        s.replace("#{protocol}", req_protocol)
            .replace("#{host}", req_host)
            .replace("#{port}", &req_port)
            .replace("#{path}", req.path.trim_start_matches('/'))
            .replace("#{query}", req.query.unwrap_or(""))
    };
    let protocol = fill(protocol).to_ascii_lowercase();
    let port = fill(port);
    let default_port = matches!(
        (protocol.as_str(), port.as_str()),
        ("http", "80") | ("https", "443")
    );
    let mut path = fill(path);
    if !path.starts_with('/') {
        path.insert(0, '/');
    }
    let query = fill(query);
    let mut location = format!("{protocol}://{}", fill(host));
    if !default_port && !port.is_empty() {
        location.push(':');
        location.push_str(&port);
    }
    location.push_str(&path);
    if !query.is_empty() {
        location.push('?');
        location.push_str(&query);
    }
    location
}

#[cfg(test)]
mod tests {
    use super::super::{LbType, Rule};
    use super::*;

    fn view<'a>(
        headers: &'a http::HeaderMap,
        path: &'a str,
        query: Option<&'a str>,
    ) -> RequestView<'a> {
        RequestView {
            method: "GET",
            path,
            query,
            host: Some("Api.Example.com:8080"),
            headers,
            source: "10.1.2.3".parse().unwrap(),
        }
    }

    fn fixed(status: u16) -> Action {
        Action::FixedResponse {
            status,
            content_type: None,
            body: None,
        }
    }

    fn routes(rules: Vec<(u32, Vec<Condition>)>) -> Routes {
        let spec = ListenerSpec {
            listener_arn: "l".into(),
            load_balancer_arn: "lb".into(),
            lb_type: LbType::Application,
            protocol: Protocol::Http,
            port: 80,
            rules: rules
                .into_iter()
                .map(|(priority, conditions)| Rule {
                    priority,
                    conditions,
                    actions: vec![fixed(priority as u16)],
                })
                .collect(),
            default_actions: vec![fixed(404)],
        };
        Routes::compile(&spec, Duration::from_secs(60))
    }

    fn status(r: &Routes, v: &RequestView<'_>) -> u16 {
        match r.action_for(v) {
            Some(Action::FixedResponse { status, .. }) => *status,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn wildcards_match_as_aws_documents() {
        assert!(wildcard("/api/*", "/api/v1/users", false));
        assert!(wildcard("/api/*", "/api/", false));
        assert!(!wildcard("/api/*", "/api", false));
        assert!(wildcard("/img/?.png", "/img/a.png", false));
        assert!(!wildcard("/img/?.png", "/img/ab.png", false));
        assert!(
            !wildcard("/API/*", "/api/x", false),
            "paths are case-sensitive"
        );
        assert!(wildcard("*.example.com", "api.example.com", true));
        assert!(wildcard("*", "", false));
        assert!(wildcard("a*b*c", "axxbyyc", false));
        assert!(!wildcard("a*b*c", "axxbyy", false));
    }

    #[test]
    fn rules_apply_by_priority_and_fall_back_to_the_default() {
        let h = http::HeaderMap::new();
        let r = routes(vec![
            (20, vec![Condition::PathPattern(vec!["/api/*".into()])]),
            (10, vec![Condition::PathPattern(vec!["/api/admin*".into()])]),
        ]);
        assert_eq!(status(&r, &view(&h, "/api/admin/x", None)), 10);
        assert_eq!(status(&r, &view(&h, "/api/users", None)), 20);
        assert_eq!(status(&r, &view(&h, "/other", None)), 404);
    }

    #[test]
    fn host_header_ignores_case_and_port() {
        let h = http::HeaderMap::new();
        let r = routes(vec![(
            1,
            vec![Condition::HostHeader(vec!["api.EXAMPLE.com".into()])],
        )]);
        assert_eq!(status(&r, &view(&h, "/", None)), 1);
        let r = routes(vec![(1, vec![Condition::HostHeader(vec!["www.*".into()])])]);
        assert_eq!(status(&r, &view(&h, "/", None)), 404);
    }

    #[test]
    fn conditions_are_anded_and_values_ored() {
        let mut h = http::HeaderMap::new();
        h.insert("x-env", "Canary".parse().unwrap());
        let r = routes(vec![(
            1,
            vec![
                Condition::HttpHeader {
                    name: "X-Env".into(),
                    values: vec!["prod".into(), "can*".into()],
                },
                Condition::HttpRequestMethod(vec!["GET".into(), "HEAD".into()]),
            ],
        )]);
        assert_eq!(status(&r, &view(&h, "/", None)), 1);
        let mut v = view(&h, "/", None);
        v.method = "POST";
        assert_eq!(status(&r, &v), 404);
        v.method = "get";
        assert_eq!(status(&r, &v), 404, "methods are case-sensitive");
    }

    #[test]
    fn query_strings_match_pairs_with_wildcards() {
        let h = http::HeaderMap::new();
        let r = routes(vec![(
            1,
            vec![Condition::QueryString(vec![
                (Some("version".into()), "v2*".into()),
                (None, "beta".into()),
            ])],
        )]);
        assert_eq!(status(&r, &view(&h, "/", Some("a=1&Version=V2.1"))), 1);
        assert_eq!(status(&r, &view(&h, "/", Some("channel=beta"))), 1);
        assert_eq!(status(&r, &view(&h, "/", Some("version=v1"))), 404);
        assert_eq!(status(&r, &view(&h, "/", None)), 404);
    }

    #[test]
    fn source_ip_is_a_cidr_match() {
        let h = http::HeaderMap::new();
        let r = routes(vec![(
            1,
            vec![Condition::SourceIp(vec!["10.1.0.0/16".into()])],
        )]);
        assert_eq!(status(&r, &view(&h, "/", None)), 1);
        let r = routes(vec![(
            1,
            vec![Condition::SourceIp(vec![
                "10.2.0.0/16".into(),
                "bad".into(),
            ])],
        )]);
        assert_eq!(status(&r, &view(&h, "/", None)), 404);
        let c = Cidr::parse("127.0.0.1/32").unwrap();
        assert!(c.contains("::ffff:127.0.0.1".parse().unwrap()));
        assert!(Cidr::parse("::1/128")
            .unwrap()
            .contains("::1".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        assert!(Cidr::parse("10.0.0.0/33").is_none());
    }

    #[test]
    fn hosts_lose_their_ports() {
        assert_eq!(strip_port("example.com:8080"), "example.com");
        assert_eq!(strip_port("example.com"), "example.com");
        assert_eq!(strip_port("[::1]:80"), "::1");
    }

    #[test]
    fn redirects_fill_placeholders() {
        let h = http::HeaderMap::new();
        let r = routes(vec![]);
        let v = view(&h, "/a/b", Some("x=1"));
        let keep = ("#{protocol}", "#{host}", "#{port}", "/#{path}", "#{query}");
        assert_eq!(
            redirect_location(keep, &r, &v),
            "http://Api.Example.com/a/b?x=1"
        );
        let https = ("HTTPS", "#{host}", "443", "/new/#{path}", "#{query}&y=2");
        assert_eq!(
            redirect_location(https, &r, &v),
            "https://Api.Example.com/new/a/b?x=1&y=2"
        );
        let other = ("HTTP", "example.org", "8080", "/", "");
        assert_eq!(redirect_location(other, &r, &v), "http://example.org:8080/");
    }
}
