//! EventBridge's event patterns: parsed once (PutRule, TestEventPattern),
//! then matched against events as JSON values. Pure: no state, no I/O, and
//! no input makes it panic (serde_json bounds the nesting depth, and every
//! walk here follows the parsed pattern, so recursion is bounded too).
//!
//! The language (EventBridge user guide, "Event patterns" and "Content
//! filtering"):
//! - a pattern is a JSON object; a key names a field of the event; its
//!   value is an object (a pattern of the nested object) or an array of
//!   matchers, any of which may match (OR);
//! - a matcher is a string, number, `true`, `false` or `null` (equality;
//!   numbers compare as numbers), or an object of one filter: `prefix`,
//!   `suffix` (each may hold `{"equals-ignore-case": ..}`),
//!   `equals-ignore-case`, `wildcard`, `anything-but` (a value, a list of
//!   values, or `{"prefix"|"suffix"|"equals-ignore-case"|"wildcard": ..}`),
//!   `numeric` (`[op, n]` or `[op, n, op, n]`, ops `= < <= > >=`),
//!   `exists` (`true` / `false`), `cidr` (IPv4 and IPv6 prefixes);
//! - an event field holding an array matches when any element matches;
//! - `"$or": [pattern, pattern, ...]` at any level: one of them must match.
//!
//! AWS words a broken pattern as "Event pattern is not valid. Reason: ..."
//! and, after the reason, the position the Jackson parser was at
//! (`at [Source: ...; line: 1, column: 21]`); ecsbox gives the reason and
//! leaves the position out.

use serde_json::{Map, Value};

/// A parsed pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    root: Obj,
}

/// An object of the pattern: its fields, and its `$or` groups.
#[derive(Debug, Clone, PartialEq)]
struct Obj {
    fields: Vec<(String, Field)>,
    /// Each group: one of its alternatives must match the same object.
    ors: Vec<Vec<Obj>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Field {
    Nested(Obj),
    Leaf(Vec<Matcher>),
}

#[derive(Debug, Clone, PartialEq)]
enum Matcher {
    Exact(Value),
    Prefix(String, bool),
    Suffix(String, bool),
    EqualsIgnoreCase(String),
    Wildcard(String),
    AnythingBut(Vec<Value>),
    AnythingButText(TextTest, Vec<String>),
    Numeric(Vec<(Cmp, f64)>),
    Exists(bool),
    Cidr(Cidr),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum TextTest {
    Prefix,
    Suffix,
    IgnoreCase,
    Wildcard,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
struct Cidr {
    addr: std::net::IpAddr,
    bits: u8,
}

/// Why a pattern is not valid: the text after "Reason: ".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError(pub String);

impl PatternError {
    /// The whole message InvalidEventPatternException carries.
    pub fn message(&self) -> String {
        format!("Event pattern is not valid. Reason: {}", self.0)
    }
}

fn bad<T>(reason: impl Into<String>) -> Result<T, PatternError> {
    Err(PatternError(reason.into()))
}

/// The most nesting a pattern may have (AWS allows far less data anyway).
const MAX_DEPTH: usize = 64;

impl Pattern {
    /// Parses a pattern's text.
    pub fn parse(text: &str) -> Result<Pattern, PatternError> {
        let value: Value = serde_json::from_str(text).map_err(|e| PatternError(e.to_string()))?;
        Self::from_value(&value)
    }

    pub fn from_value(value: &Value) -> Result<Pattern, PatternError> {
        let Value::Object(map) = value else {
            return bad("Filter is not an object");
        };
        Ok(Pattern {
            root: parse_obj(map, 0)?,
        })
    }

    /// Whether the event (a JSON object) matches.
    pub fn matches(&self, event: &Value) -> bool {
        match_obj(&self.root, Some(event))
    }
}

fn parse_obj(map: &Map<String, Value>, depth: usize) -> Result<Obj, PatternError> {
    if depth > MAX_DEPTH {
        return bad("Pattern is nested too deeply");
    }
    if map.is_empty() {
        return bad("Empty objects are not allowed");
    }
    let mut obj = Obj {
        fields: vec![],
        ors: vec![],
    };
    for (key, value) in map {
        if key == "$or" {
            let Value::Array(alternatives) = value else {
                return bad("\"$or\" must be an array of objects");
            };
            if alternatives.len() < 2 {
                return bad("\"$or\" must have at least 2 alternatives");
            }
            let mut group = vec![];
            for alt in alternatives {
                let Value::Object(m) = alt else {
                    return bad("\"$or\" must be an array of objects");
                };
                group.push(parse_obj(m, depth + 1)?);
            }
            obj.ors.push(group);
            continue;
        }
        let field = match value {
            Value::Object(m) => Field::Nested(parse_obj(m, depth + 1)?),
            Value::Array(items) => {
                if items.is_empty() {
                    return bad("Empty arrays are not allowed");
                }
                let mut matchers = Vec::with_capacity(items.len());
                for item in items {
                    matchers.push(parse_matcher(item)?);
                }
                Field::Leaf(matchers)
            }
            _ => return bad(format!("\"{key}\" must be an object or an array")),
        };
        obj.fields.push((key.clone(), field));
    }
    Ok(obj)
}

fn parse_matcher(item: &Value) -> Result<Matcher, PatternError> {
    let map = match item {
        Value::Object(map) => map,
        Value::Array(_) => {
            return bad("Match value must be String, number, true, false, or null");
        }
        Value::Number(n) if n.as_f64().is_none() => return bad("Number is out of range"),
        other => return Ok(Matcher::Exact(other.clone())),
    };
    if map.len() != 1 {
        return bad("Match expression must have exactly one field");
    }
    let (kind, arg) = map.iter().next().expect("one field");
    match kind.as_str() {
        "prefix" | "suffix" => {
            let (text, ignore_case) = match arg {
                Value::String(s) => (s.clone(), false),
                Value::Object(m) if m.len() == 1 => match m.get("equals-ignore-case") {
                    Some(Value::String(s)) => (s.clone(), true),
                    _ => return bad(format!("{kind} match pattern must be a string")),
                },
                _ => return bad(format!("{kind} match pattern must be a string")),
            };
            Ok(if kind == "prefix" {
                Matcher::Prefix(text, ignore_case)
            } else {
                Matcher::Suffix(text, ignore_case)
            })
        }
        "equals-ignore-case" => match arg {
            Value::String(s) => Ok(Matcher::EqualsIgnoreCase(s.clone())),
            _ => bad("equals-ignore-case match pattern must be a string"),
        },
        "wildcard" => match arg {
            Value::String(s) => {
                check_wildcard(s)?;
                Ok(Matcher::Wildcard(s.clone()))
            }
            _ => bad("wildcard match pattern must be a string"),
        },
        "exists" => match arg {
            Value::Bool(b) => Ok(Matcher::Exists(*b)),
            _ => bad("exists match pattern must be either true or false."),
        },
        "numeric" => parse_numeric(arg),
        "anything-but" => parse_anything_but(arg),
        "cidr" => match arg {
            Value::String(s) => parse_cidr(s).map(Matcher::Cidr),
            _ => bad("prefix match pattern must be a string"),
        },
        other => bad(format!("Unrecognized match type {other}")),
    }
}

fn check_wildcard(s: &str) -> Result<(), PatternError> {
    let mut prev_star = false;
    let mut chars = s.chars();
    let mut pos = 0;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                match chars.next() {
                    Some('*') | Some('\\') => {}
                    _ => return bad(format!("Invalid escape character at pos {pos}")),
                }
                prev_star = false;
                pos += 1;
            }
            '*' if prev_star => {
                return bad(format!("Consecutive wildcard characters at pos {pos}"));
            }
            '*' => prev_star = true,
            _ => prev_star = false,
        }
        pos += 1;
    }
    Ok(())
}

fn parse_numeric(arg: &Value) -> Result<Matcher, PatternError> {
    let Value::Array(items) = arg else {
        return bad("Value of numeric must be an array.");
    };
    if items.is_empty() || !items.len().is_multiple_of(2) || items.len() > 4 {
        return bad("Invalid member in numeric match");
    }
    let mut comparisons = vec![];
    for pair in items.chunks(2) {
        let op = match pair[0].as_str() {
            Some("=") => Cmp::Eq,
            Some("<") => Cmp::Lt,
            Some("<=") => Cmp::Le,
            Some(">") => Cmp::Gt,
            Some(">=") => Cmp::Ge,
            _ => return bad(format!("Unrecognized numeric range operator: {}", pair[0])),
        };
        let Some(n) = pair[1].as_f64() else {
            return bad(format!("Value of {} must be numeric", pair[0]));
        };
        comparisons.push((op, n));
    }
    if comparisons.len() == 2 {
        let (lo, hi) = (comparisons[0], comparisons[1]);
        let bottom = matches!(lo.0, Cmp::Gt | Cmp::Ge);
        let top = matches!(hi.0, Cmp::Lt | Cmp::Le);
        if !bottom || !top {
            return bad("Bad numeric range operator");
        }
        if lo.1 >= hi.1 {
            return bad("Bottom must be less than top");
        }
    }
    Ok(Matcher::Numeric(comparisons))
}

fn parse_anything_but(arg: &Value) -> Result<Matcher, PatternError> {
    match arg {
        Value::Array(items) => {
            if items.is_empty() {
                return bad("Empty arrays are not allowed");
            }
            for item in items {
                if !matches!(item, Value::String(_) | Value::Number(_)) {
                    return bad("Inside anything but list, start|null|boolean is not supported.");
                }
            }
            Ok(Matcher::AnythingBut(items.clone()))
        }
        Value::String(_) | Value::Number(_) => Ok(Matcher::AnythingBut(vec![arg.clone()])),
        Value::Object(m) if m.len() == 1 => {
            let (kind, inner) = m.iter().next().expect("one field");
            let test = match kind.as_str() {
                "prefix" => TextTest::Prefix,
                "suffix" => TextTest::Suffix,
                "equals-ignore-case" => TextTest::IgnoreCase,
                "wildcard" => TextTest::Wildcard,
                other => return bad(format!("Unsupported anything-but pattern: {other}")),
            };
            let texts: Vec<String> = match inner {
                Value::String(s) => vec![s.clone()],
                Value::Array(items)
                    if !items.is_empty()
                        && test != TextTest::Prefix
                        && test != TextTest::Suffix =>
                {
                    let mut v = vec![];
                    for i in items {
                        match i {
                            Value::String(s) => v.push(s.clone()),
                            _ => return bad(format!("{kind} match pattern must be a string")),
                        }
                    }
                    v
                }
                _ => return bad(format!("{kind} match pattern must be a string")),
            };
            if test == TextTest::Wildcard {
                for t in &texts {
                    check_wildcard(t)?;
                }
            }
            Ok(Matcher::AnythingButText(test, texts))
        }
        Value::Object(_) => bad("Match expression must have exactly one field"),
        _ => bad("Inside anything but list, start|null|boolean is not supported."),
    }
}

fn parse_cidr(s: &str) -> Result<Cidr, PatternError> {
    let invalid = || PatternError(format!("Nonstandard IP address: {s}"));
    let (addr, bits) = s.split_once('/').ok_or_else(invalid)?;
    let addr: std::net::IpAddr = addr.parse().map_err(|_| invalid())?;
    let bits: u8 = bits.parse().map_err(|_| invalid())?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if bits > max {
        return Err(invalid());
    }
    Ok(Cidr { addr, bits })
}

// ---- matching ---------------------------------------------------------------

fn match_obj(obj: &Obj, value: Option<&Value>) -> bool {
    // An event field holding an array of objects: any element may match.
    if let Some(Value::Array(items)) = value {
        if items.iter().any(Value::is_object) {
            return items
                .iter()
                .filter(|v| v.is_object())
                .any(|v| match_obj(obj, Some(v)));
        }
    }
    let map = value.and_then(Value::as_object);
    let fields_match = obj.fields.iter().all(|(key, field)| {
        let v = map.and_then(|m| m.get(key));
        match field {
            Field::Nested(o) => match_obj(o, v),
            Field::Leaf(ms) => match_leaf(ms, v),
        }
    });
    fields_match
        && obj
            .ors
            .iter()
            .all(|group| group.iter().any(|alt| match_obj(alt, value)))
}

fn match_leaf(matchers: &[Matcher], value: Option<&Value>) -> bool {
    matchers.iter().any(|m| match (m, value) {
        (Matcher::Exists(want), v) => {
            let present = match v {
                None => false,
                Some(Value::Object(_)) => false,
                Some(Value::Array(items)) => !items.is_empty(),
                Some(_) => true,
            };
            present == *want
        }
        (_, None) => false,
        (m, Some(Value::Array(items))) => items.iter().any(|item| match_one(m, item)),
        (m, Some(v)) => match_one(m, v),
    })
}

fn numbers_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn match_one(m: &Matcher, v: &Value) -> bool {
    let text = v.as_str();
    match m {
        Matcher::Exact(want) => numbers_equal(want, v),
        Matcher::Prefix(p, false) => text.is_some_and(|t| t.starts_with(p.as_str())),
        Matcher::Prefix(p, true) => {
            text.is_some_and(|t| t.to_lowercase().starts_with(&p.to_lowercase()))
        }
        Matcher::Suffix(s, false) => text.is_some_and(|t| t.ends_with(s.as_str())),
        Matcher::Suffix(s, true) => {
            text.is_some_and(|t| t.to_lowercase().ends_with(&s.to_lowercase()))
        }
        Matcher::EqualsIgnoreCase(s) => text.is_some_and(|t| t.to_lowercase() == s.to_lowercase()),
        Matcher::Wildcard(w) => text.is_some_and(|t| wildcard_match(w, t)),
        Matcher::AnythingBut(values) => {
            !v.is_null() && !values.iter().any(|want| numbers_equal(want, v))
        }
        Matcher::AnythingButText(test, texts) => text.is_some_and(|t| {
            !texts.iter().any(|x| match test {
                TextTest::Prefix => t.starts_with(x.as_str()),
                TextTest::Suffix => t.ends_with(x.as_str()),
                TextTest::IgnoreCase => t.to_lowercase() == x.to_lowercase(),
                TextTest::Wildcard => wildcard_match(x, t),
            })
        }),
        Matcher::Numeric(comparisons) => v.as_f64().is_some_and(|n| {
            comparisons.iter().all(|(op, x)| match op {
                Cmp::Eq => n == *x,
                Cmp::Lt => n < *x,
                Cmp::Le => n <= *x,
                Cmp::Gt => n > *x,
                Cmp::Ge => n >= *x,
            })
        }),
        Matcher::Exists(_) => false,
        Matcher::Cidr(c) => text
            .and_then(|t| t.parse::<std::net::IpAddr>().ok())
            .is_some_and(|ip| in_cidr(c, ip)),
    }
}

fn in_cidr(c: &Cidr, ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match (c.addr, ip) {
        (IpAddr::V4(net), IpAddr::V4(ip)) => {
            let mask = if c.bits == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(c.bits))
            };
            u32::from(net) & mask == u32::from(ip) & mask
        }
        (IpAddr::V6(net), IpAddr::V6(ip)) => {
            let mask = if c.bits == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(c.bits))
            };
            u128::from(net) & mask == u128::from(ip) & mask
        }
        _ => false,
    }
}

/// `*` matches any run of characters; `\*` is a literal star, `\\` a
/// backslash. Iterative, with one backtrack point: linear-ish, no recursion.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    // Tokens: Some(c) a literal, None a star.
    let mut tokens: Vec<Option<char>> = vec![];
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => tokens.push(Some(chars.next().unwrap_or('\\'))),
            '*' => tokens.push(None),
            c => tokens.push(Some(c)),
        }
    }
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match tokens.get(p) {
            Some(Some(c)) if *c == text[t] => {
                p += 1;
                t += 1;
            }
            Some(None) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    tokens[p.min(tokens.len())..].iter().all(Option::is_none)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event() -> Value {
        json!({
            "version": "0",
            "id": "1",
            "detail-type": "ECS Task State Change",
            "source": "aws.ecs",
            "account": "000000000000",
            "time": "2024-01-01T00:00:00Z",
            "region": "us-east-1",
            "resources": ["arn:aws:ecs:us-east-1:000000000000:task/c/abc"],
            "detail": {
                "lastStatus": "STOPPED",
                "desiredStatus": "STOPPED",
                "stopCode": "EssentialContainerExited",
                "cpu": 256,
                "ratio": 0.5,
                "group": "family:web",
                "containers": [
                    {"name": "app", "exitCode": 1},
                    {"name": "sidecar", "exitCode": 0}
                ],
                "tags": ["a", "b"],
                "ip": "10.0.1.17",
                "empty": null,
                "flag": true
            }
        })
    }

    fn m(pattern: Value) -> bool {
        Pattern::from_value(&pattern).unwrap().matches(&event())
    }

    fn err(pattern: &str) -> String {
        Pattern::parse(pattern).unwrap_err().message()
    }

    #[test]
    fn exact_values_and_arrays_are_or() {
        assert!(m(json!({"source": ["aws.ecs"]})));
        assert!(m(json!({"source": ["aws.ec2", "aws.ecs"]})));
        assert!(!m(json!({"source": ["aws.ec2"]})));
        assert!(m(
            json!({"source": ["aws.ecs"], "detail-type": ["ECS Task State Change"]})
        ));
        assert!(!m(json!({"source": ["aws.ecs"], "detail-type": ["Other"]})));
    }

    #[test]
    fn nested_fields_and_event_arrays() {
        assert!(m(json!({"detail": {"lastStatus": ["STOPPED"]}})));
        assert!(!m(json!({"detail": {"lastStatus": ["RUNNING"]}})));
        assert!(m(json!({"detail": {"tags": ["b"]}})));
        assert!(m(json!({"detail": {"containers": {"exitCode": [1]}}})));
        assert!(!m(json!({"detail": {"containers": {"exitCode": [2]}}})));
        assert!(m(json!({"resources": [{"prefix": "arn:aws:ecs:"}]})));
        assert!(!m(json!({"detail": {"missing": {"x": ["y"]}}})));
    }

    #[test]
    fn numbers_booleans_and_null() {
        assert!(m(json!({"detail": {"cpu": [256]}})));
        assert!(m(json!({"detail": {"cpu": [2.56e2]}})));
        assert!(!m(json!({"detail": {"cpu": ["256"]}})));
        assert!(m(json!({"detail": {"flag": [true]}})));
        assert!(!m(json!({"detail": {"flag": [false]}})));
        assert!(m(json!({"detail": {"empty": [null]}})));
        assert!(!m(json!({"detail": {"cpu": [null]}})));
    }

    #[test]
    fn prefix_suffix_and_ignoring_case() {
        assert!(m(json!({"detail": {"group": [{"prefix": "family:"}]}})));
        assert!(!m(json!({"detail": {"group": [{"prefix": "service:"}]}})));
        assert!(m(json!({"detail": {"group": [{"suffix": ":web"}]}})));
        assert!(m(
            json!({"detail": {"group": [{"prefix": {"equals-ignore-case": "FAMILY:"}}]}})
        ));
        assert!(m(
            json!({"detail": {"group": [{"suffix": {"equals-ignore-case": ":WEB"}}]}})
        ));
        assert!(m(
            json!({"detail": {"lastStatus": [{"equals-ignore-case": "stopped"}]}})
        ));
        assert!(!m(json!({"detail": {"cpu": [{"prefix": "2"}]}})));
    }

    #[test]
    fn anything_but() {
        assert!(m(
            json!({"detail": {"lastStatus": [{"anything-but": "RUNNING"}]}})
        ));
        assert!(!m(
            json!({"detail": {"lastStatus": [{"anything-but": "STOPPED"}]}})
        ));
        assert!(!m(
            json!({"detail": {"lastStatus": [{"anything-but": ["RUNNING", "STOPPED"]}]}})
        ));
        assert!(m(json!({"detail": {"cpu": [{"anything-but": [512]}]}})));
        assert!(!m(json!({"detail": {"cpu": [{"anything-but": 256}]}})));
        assert!(m(
            json!({"detail": {"group": [{"anything-but": {"prefix": "service:"}}]}})
        ));
        assert!(!m(
            json!({"detail": {"group": [{"anything-but": {"prefix": "family:"}}]}})
        ));
        assert!(!m(
            json!({"detail": {"group": [{"anything-but": {"suffix": "web"}}]}})
        ));
        assert!(!m(
            json!({"detail": {"lastStatus": [{"anything-but": {"equals-ignore-case": ["stopped"]}}]}})
        ));
        assert!(!m(
            json!({"detail": {"group": [{"anything-but": {"wildcard": "family:*"}}]}})
        ));
        // A missing field is not "anything but".
        assert!(!m(json!({"detail": {"nope": [{"anything-but": "x"}]}})));
    }

    #[test]
    fn numeric_comparisons_and_ranges() {
        assert!(m(json!({"detail": {"cpu": [{"numeric": [">", 100]}]}})));
        assert!(m(
            json!({"detail": {"cpu": [{"numeric": [">=", 256, "<", 512]}]}})
        ));
        assert!(!m(
            json!({"detail": {"cpu": [{"numeric": [">", 256, "<=", 512]}]}})
        ));
        assert!(m(json!({"detail": {"cpu": [{"numeric": ["=", 256]}]}})));
        assert!(m(json!({"detail": {"ratio": [{"numeric": ["<", 1]}]}})));
        assert!(!m(json!({"detail": {"group": [{"numeric": [">", 0]}]}})));
        assert!(m(
            json!({"detail": {"containers": {"exitCode": [{"numeric": [">", 0]}]}}})
        ));
    }

    #[test]
    fn exists() {
        assert!(m(json!({"detail": {"stopCode": [{"exists": true}]}})));
        assert!(!m(json!({"detail": {"stopCode": [{"exists": false}]}})));
        assert!(m(json!({"detail": {"nope": [{"exists": false}]}})));
        assert!(!m(json!({"detail": {"nope": [{"exists": true}]}})));
        assert!(m(json!({"nothing": {"here": [{"exists": false}]}})));
    }

    #[test]
    fn wildcards() {
        assert!(m(json!({"detail": {"group": [{"wildcard": "fam*:w*"}]}})));
        assert!(m(json!({"detail": {"group": [{"wildcard": "*web"}]}})));
        assert!(!m(json!({"detail": {"group": [{"wildcard": "*webx"}]}})));
        assert!(wildcard_match("a\\*b", "a*b"));
        assert!(!wildcard_match("a\\*b", "axb"));
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("a*b*c", "aXXbYYbc"));
        assert!(!wildcard_match("a*b*c", "aXXbYY"));
        assert!(wildcard_match("", ""));
        assert!(!wildcard_match("", "a"));
    }

    #[test]
    fn cidr() {
        assert!(m(json!({"detail": {"ip": [{"cidr": "10.0.0.0/16"}]}})));
        assert!(!m(json!({"detail": {"ip": [{"cidr": "10.1.0.0/16"}]}})));
        assert!(m(json!({"detail": {"ip": [{"cidr": "0.0.0.0/0"}]}})));
    }

    #[test]
    fn or_groups() {
        assert!(m(
            json!({"$or": [{"source": ["aws.ec2"]}, {"detail": {"cpu": [256]}}]})
        ));
        assert!(!m(
            json!({"$or": [{"source": ["aws.ec2"]}, {"detail": {"cpu": [1]}}]})
        ));
        assert!(m(
            json!({"detail": {"$or": [{"cpu": [1]}, {"lastStatus": ["STOPPED"]}]}})
        ));
        assert!(!m(
            json!({"source": ["x"], "$or": [{"source": ["aws.ecs"]}, {"account": ["000000000000"]}]})
        ));
    }

    #[test]
    fn invalid_patterns_are_worded_as_aws() {
        assert_eq!(
            err(r#"{"source": "aws.ec2"}"#),
            "Event pattern is not valid. Reason: \"source\" must be an object or an array"
        );
        assert_eq!(
            err(r#"{"source": ["aws.health"], "detail": {}}"#),
            "Event pattern is not valid. Reason: Empty objects are not allowed"
        );
        assert_eq!(
            err(r#"{"a": [{"suffix": ["x"]}]}"#),
            "Event pattern is not valid. Reason: suffix match pattern must be a string"
        );
        assert_eq!(
            err("[1]"),
            "Event pattern is not valid. Reason: Filter is not an object"
        );
        assert!(err("{").starts_with("Event pattern is not valid. Reason: "));
        assert!(err(r#"{"a": [{"nope": 1}]}"#).contains("Unrecognized match type nope"));
        assert!(err(r#"{"a": []}"#).contains("Empty arrays are not allowed"));
        assert!(err(r#"{"a": [{"numeric": [">", "x"]}]}"#).contains("must be numeric"));
        assert!(err(r#"{"a": [{"numeric": ["<", 5, ">", 1]}]}"#).contains("Bad numeric range"));
        assert!(err(r#"{"a": [{"numeric": [">", 5, "<", 1]}]}"#).contains("Bottom must be less"));
        assert!(err(r#"{"a": [{"exists": "yes"}]}"#).contains("exists match pattern"));
        assert!(err(r#"{"a": [{"wildcard": "a**"}]}"#).contains("Consecutive wildcard"));
        assert!(err(r#"{"a": [[1]]}"#).contains("Match value must be"));
        assert!(err(r#"{"$or": [{"a": [1]}]}"#).contains("$or"));
        assert!(err(r#"{"a": [{"cidr": "10.0.0.0/33"}]}"#).contains("Nonstandard IP"));
    }

    #[test]
    fn no_input_panics() {
        // A small deterministic fuzz: every prefix of some patterns, and
        // every byte flipped, must parse or fail, never panic; whatever
        // parses is matched against the event.
        let seeds = [
            r#"{"detail": {"cpu": [{"numeric": [">=", 256, "<", 512]}], "group": [{"wildcard": "f*\\*"}]}}"#,
            r#"{"$or": [{"a": [{"anything-but": {"prefix": "x"}}]}, {"b": [{"exists": false}]}]}"#,
            r#"{"x": [{"cidr": "::1/128"}, {"prefix": {"equals-ignore-case": "A"}}, null, 1e400]}"#,
        ];
        let ev = event();
        for seed in seeds {
            let bytes = seed.as_bytes();
            for cut in 0..bytes.len() {
                if let Ok(s) = std::str::from_utf8(&bytes[..cut]) {
                    if let Ok(p) = Pattern::parse(s) {
                        p.matches(&ev);
                    }
                }
                for flip in [b'*', b'\\', b'[', b'{', b'"', b'1', b'-'] {
                    let mut b = bytes.to_vec();
                    b[cut] = flip;
                    if let Ok(s) = std::str::from_utf8(&b) {
                        if let Ok(p) = Pattern::parse(s) {
                            p.matches(&ev);
                            p.matches(&Value::Null);
                        }
                    }
                }
            }
        }
        let deep = "{\"a\":".repeat(200) + "[1]" + &"}".repeat(200);
        assert!(Pattern::parse(&deep).is_err());
    }
}
