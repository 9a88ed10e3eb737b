//! rest-json: the operation is the method and path of the request (the
//! model's `http.method` and `http.requestUri`), and the input's members
//! travel where the model binds them: `{Label}`s of the path, query string
//! keys, headers, or the JSON body (or, for an input with a `payload`
//! member, the body is that member). Answers mirror it: the operation's
//! status (`responseCode`), header members, and a JSON body of the rest.
//!
//! A request is read into the input's JSON value, so the same serde types
//! read it as read a JSON request; an answer is written from the output's
//! JSON value. Timestamps in JSON bodies are epoch seconds, as the types
//! hold them; in headers they are HTTP dates, in query strings ISO 8601.

use super::{timestamps, ApiError};
use crate::model::schema::{Http, Kind, Location, Member, OpWire, ServiceMeta};
use base64::Engine;
use serde_json::{Map, Value};

const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The content type of rest-json answers and errors.
pub const CONTENT_TYPE: &str = "application/json";

/// A rest-json answer: its status, its header members and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The operation among `ops` whose method and URI template the request
/// matches. Where several templates match (`/{Bucket}` and
/// `/{Bucket}?tagging`), the most specific wins: more literal path
/// segments, then more literal query parts, then fewer greedy labels.
pub fn route(
    ops: impl IntoIterator<Item = OpWire>,
    method: &str,
    path: &str,
    query: &str,
) -> Option<OpWire> {
    ops.into_iter()
        .filter_map(|op| {
            let http = op.http?;
            if !http.method.eq_ignore_ascii_case(method) {
                return None;
            }
            let matched = match_uri(http.uri, path, query)?;
            Some((matched.specificity, op))
        })
        .max_by_key(|(specificity, _)| *specificity)
        .map(|(_, op)| op)
}

/// A request path matched against a URI template.
#[derive(Debug, PartialEq, Eq)]
pub struct UriMatch {
    /// Each `{Label}` (without `+`) and its percent-decoded value.
    pub labels: Vec<(String, String)>,
    /// (literal path segments, literal query parts, -greedy labels).
    specificity: (usize, usize, i32),
}

/// Matches `path` (raw, percent-encoded) and `query` against a template such
/// as `/2015-02-01/file-systems/{FileSystemId}`, `/{Bucket}/{Key+}` or
/// `/{Bucket}?tagging`. A label matches one non-empty segment; a greedy
/// label (`+`, last) matches the rest of the path, slashes included.
pub fn match_uri(template: &str, path: &str, query: &str) -> Option<UriMatch> {
    let (template_path, template_query) = template.split_once('?').unwrap_or((template, ""));
    let wanted: Vec<&str> = template_path.trim_start_matches('/').split('/').collect();
    let given: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut labels = Vec::new();
    let (mut literals, mut greedy) = (0, 0);
    for (i, part) in wanted.iter().enumerate() {
        match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(label) if label.ends_with('+') => {
                // Greedy: the rest of the path, which must not be empty.
                let rest = given.get(i..).filter(|r| !r.is_empty())?.join("/");
                if rest.is_empty() || i + 1 != wanted.len() {
                    return None;
                }
                labels.push((
                    label.trim_end_matches('+').to_string(),
                    percent_decode(&rest)?,
                ));
                greedy += 1;
                return query_matches(template_query, query).map(|q| UriMatch {
                    labels,
                    specificity: (literals, q, -greedy),
                });
            }
            Some(label) => {
                let value = given.get(i).filter(|v| !v.is_empty())?;
                labels.push((label.to_string(), percent_decode(value)?));
            }
            None => {
                if given.get(i) != Some(part) {
                    return None;
                }
                literals += 1;
            }
        }
    }
    if given.len() != wanted.len() {
        return None;
    }
    query_matches(template_query, query).map(|q| UriMatch {
        labels,
        specificity: (literals, q, 0),
    })
}

/// Whether every literal query part of the template (`tagging`, `x-id=Get`)
/// is in the request; the count of them.
fn query_matches(template_query: &str, query: &str) -> Option<usize> {
    let given: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let mut count = 0;
    for part in template_query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = part
            .split_once('=')
            .map_or((part, None), |(k, v)| (k, Some(v)));
        if !given
            .iter()
            .any(|(k, v)| k == key && value.is_none_or(|want| want == v))
        {
            return None;
        }
        count += 1;
    }
    Some(count)
}

fn percent_decode(raw: &str) -> Option<String> {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// The request as the operation's input JSON value (not yet checked against
/// the model's constraints, which `Wire::decode` does).
pub fn decode(
    service: &ServiceMeta,
    op: &OpWire,
    parts: &http::request::Parts,
    body: &[u8],
) -> Result<Value, ApiError> {
    let Some(input) = op.input else {
        return Ok(Value::Object(Map::new()));
    };
    let http = op
        .http
        .ok_or_else(|| ApiError::internal(format!("{} has no REST binding", op.name)))?;
    let Kind::Structure(members) = &service.shape(input).kind else {
        return Err(ApiError::internal(format!(
            "the input of {} is not a structure",
            op.name
        )));
    };
    let mut object = decode_body(service, members, http, body)?;
    let query = parts.uri.query().unwrap_or("");
    let labels = match_uri(http.uri, parts.uri.path(), query)
        .map(|m| m.labels)
        .unwrap_or_default();
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    // The keys bound to a member of their own, which a query map does not take.
    let bound_keys: Vec<&str> = members
        .iter()
        .filter(|m| m.location == Location::Querystring)
        .filter_map(|m| m.xml_name)
        .collect();
    for member in members.iter() {
        let wire_name = member.xml_name.unwrap_or(member.name);
        let shape = service.shape(member.shape);
        let value = match member.location {
            Location::Body | Location::StatusCode => continue,
            Location::Uri => match labels.iter().find(|(label, _)| label == wire_name) {
                Some((_, text)) => Some(scalar(service, member, &shape.kind, text, TimeIn::Query)?),
                None => None,
            },
            Location::Querystring => match &shape.kind {
                Kind::Map(map) => {
                    let mut entries = Map::new();
                    let multi = matches!(service.shape(map.value).kind, Kind::List(_));
                    for (k, v) in pairs
                        .iter()
                        .filter(|(k, _)| !bound_keys.contains(&k.as_str()))
                    {
                        if multi {
                            let list = entries
                                .entry(k.clone())
                                .or_insert_with(|| Value::Array(Vec::new()));
                            if let Value::Array(items) = list {
                                items.push(Value::String(v.clone()));
                            }
                        } else {
                            entries
                                .entry(k.clone())
                                .or_insert_with(|| Value::String(v.clone()));
                        }
                    }
                    (!entries.is_empty()).then_some(Value::Object(entries))
                }
                Kind::List(list) => {
                    let item = &service.shape(list.member).kind;
                    let items = pairs
                        .iter()
                        .filter(|(k, _)| k == wire_name)
                        .map(|(_, v)| scalar(service, member, item, v, TimeIn::Query))
                        .collect::<Result<Vec<_>, _>>()?;
                    (!items.is_empty()).then_some(Value::Array(items))
                }
                kind => match pairs.iter().find(|(k, _)| k == wire_name) {
                    Some((_, text)) => Some(scalar(service, member, kind, text, TimeIn::Query)?),
                    None => None,
                },
            },
            Location::Header => match header(parts, wire_name) {
                Some(text) => Some(match &shape.kind {
                    // A list in a header is comma-separated.
                    Kind::List(list) => {
                        let item = &service.shape(list.member).kind;
                        let items = text
                            .split(',')
                            .map(|v| scalar(service, member, item, v.trim(), TimeIn::Header));
                        Value::Array(items.collect::<Result<_, _>>()?)
                    }
                    kind => scalar(service, member, kind, text, TimeIn::Header)?,
                }),
                None => None,
            },
            Location::Headers => {
                let prefix = wire_name.to_ascii_lowercase();
                let entries: Map<String, Value> = parts
                    .headers
                    .iter()
                    .filter_map(|(name, value)| {
                        let key = name.as_str().strip_prefix(&prefix)?;
                        Some((
                            key.to_string(),
                            Value::String(value.to_str().ok()?.to_string()),
                        ))
                    })
                    .collect();
                (!entries.is_empty()).then_some(Value::Object(entries))
            }
        };
        if let Some(value) = value {
            object.insert(member.name.to_string(), value);
        }
    }
    Ok(Value::Object(object))
}

fn header<'a>(parts: &'a http::request::Parts, name: &str) -> Option<&'a str> {
    parts.headers.get(name).and_then(|v| v.to_str().ok())
}

/// The body's part of the input: the JSON object of the unbound members
/// (by their model names), or the payload member.
fn decode_body(
    service: &ServiceMeta,
    members: &[Member],
    http: Http,
    body: &[u8],
) -> Result<Map<String, Value>, ApiError> {
    let empty = body.iter().all(|b| b.is_ascii_whitespace());
    if let Some(payload) = http.input_payload {
        let member = members
            .iter()
            .find(|m| m.name == payload)
            .ok_or_else(|| ApiError::internal(format!("no payload member {payload}")))?;
        let mut object = Map::new();
        if !empty || !matches!(service.shape(member.shape).kind, Kind::Structure(_)) {
            let value = match &service.shape(member.shape).kind {
                Kind::Structure(_) => to_model_names(service, member.shape, parse_object(body)?),
                Kind::Blob => Value::String(BASE64.encode(body)),
                _ => Value::String(
                    String::from_utf8(body.to_vec())
                        .map_err(|_| ApiError::serialization("The request body is not UTF-8."))?,
                ),
            };
            object.insert(member.name.to_string(), value);
        }
        return Ok(object);
    }
    if empty {
        return Ok(Map::new());
    }
    let mut object = Map::new();
    let Value::Object(given) = parse_object(body)? else {
        unreachable!("parse_object answers an object")
    };
    // Only the members the body carries; a bound member in the body is not
    // where the model puts it, and AWS does not read it from there.
    for member in members.iter().filter(|m| m.location == Location::Body) {
        if let Some(value) = given.get(member.xml_name.unwrap_or(member.name)) {
            object.insert(
                member.name.to_string(),
                to_model_names(service, member.shape, value.clone()),
            );
        }
    }
    Ok(object)
}

fn parse_object(body: &[u8]) -> Result<Value, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::serialization(format!("The request body is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::serialization(
            "The request body must be a JSON object.",
        ));
    }
    Ok(value)
}

/// Where a timestamp was written, which says its format.
#[derive(Clone, Copy)]
enum TimeIn {
    Header,
    Query,
}

/// One scalar bound to the path, the query string or a header, as the JSON
/// value the generated types read. A value that is not of the member's type
/// is refused with the service's validation exception (ecsbox's wording).
fn scalar(
    service: &ServiceMeta,
    member: &Member,
    kind: &Kind,
    text: &str,
    time_in: TimeIn,
) -> Result<Value, ApiError> {
    let bad = || {
        ApiError::protocol(
            service.validation_error,
            400,
            format!(
                "Value '{text}' at '{}' is not a valid {}.",
                lower_first(member.name),
                kind_name(kind)
            ),
        )
    };
    let time = |t: &str| match time_in {
        TimeIn::Header => timestamps::parse_http_date(t).or_else(|| timestamps::parse(t)),
        TimeIn::Query => timestamps::parse(t),
    };
    super::scalar_from_text(kind, text, time).ok_or_else(bad)
}

fn kind_name(kind: &Kind) -> &'static str {
    match kind {
        Kind::Integer | Kind::Long => "integer",
        Kind::Float | Kind::Double => "number",
        Kind::Boolean => "boolean",
        Kind::Timestamp => "timestamp",
        _ => "value",
    }
}

/// A member as AWS's validation messages name it (`maxItems`).
fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|c| c.to_lowercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The answer of a successful call: the operation's status (or the value
/// of a `statusCode` member), header members, and the body.
pub fn encode(service: &ServiceMeta, op: &OpWire, output: Value) -> Result<Reply, ApiError> {
    let http = op
        .http
        .ok_or_else(|| ApiError::internal(format!("{} has no REST binding", op.name)))?;
    let mut reply = Reply {
        status: http.response_code,
        headers: Vec::new(),
        body: Vec::new(),
    };
    let (Some(index), Value::Object(mut object)) = (op.output, output) else {
        return Ok(reply);
    };
    let Kind::Structure(members) = &service.shape(index).kind else {
        return Err(ApiError::internal(format!(
            "the output of {} is not a structure",
            op.name
        )));
    };
    for member in members.iter() {
        let wire_name = member.xml_name.unwrap_or(member.name);
        match member.location {
            Location::Body | Location::Uri | Location::Querystring => {}
            Location::StatusCode => {
                if let Some(status) = object.remove(member.name).and_then(|v| v.as_u64()) {
                    reply.status = status as u16;
                }
            }
            Location::Header => {
                if let Some(value) = object.remove(member.name) {
                    reply.headers.push((
                        wire_name.to_string(),
                        header_text(&service.shape(member.shape).kind, &value),
                    ));
                }
            }
            Location::Headers => {
                if let Some(Value::Object(entries)) = object.remove(member.name) {
                    for (key, value) in entries {
                        reply.headers.push((
                            format!("{wire_name}{key}"),
                            value.as_str().unwrap_or_default().to_string(),
                        ));
                    }
                }
            }
        }
    }
    if let Some(payload) = http.output_payload {
        let member = members
            .iter()
            .find(|m| m.name == payload)
            .ok_or_else(|| ApiError::internal(format!("no payload member {payload}")))?;
        reply.body = match (object.remove(payload), &service.shape(member.shape).kind) {
            (None, _) => Vec::new(),
            (Some(value), Kind::Structure(_)) => {
                json_bytes(&to_wire_names(service, member.shape, value))?
            }
            (Some(Value::String(b64)), Kind::Blob) => BASE64
                .decode(b64)
                .map_err(|e| ApiError::internal(format!("the payload is not base64: {e}")))?,
            (Some(Value::String(text)), _) => text.into_bytes(),
            (Some(other), _) => json_bytes(&other)?,
        };
        return Ok(reply);
    }
    let body = members
        .iter()
        .filter(|m| m.location == Location::Body)
        .fold(Map::new(), |mut body, member| {
            if let Some(value) = object.remove(member.name) {
                body.insert(
                    member.xml_name.unwrap_or(member.name).to_string(),
                    to_wire_names(service, member.shape, value),
                );
            }
            body
        });
    reply.body = json_bytes(&Value::Object(body))?;
    Ok(reply)
}

/// The answer of an operation without output: its status, no body.
pub fn encode_empty(op: &OpWire) -> Reply {
    Reply {
        status: op.http.map_or(200, |h| h.response_code),
        headers: Vec::new(),
        body: Vec::new(),
    }
}

fn json_bytes(value: &Value) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value)
        .map_err(|e| ApiError::internal(format!("could not encode the answer: {e}")))
}

/// A header member's text: timestamps as HTTP dates, lists comma-separated.
fn header_text(kind: &Kind, value: &Value) -> String {
    match (kind, value) {
        (Kind::Timestamp, Value::Number(n)) => {
            timestamps::format_http_date(n.as_f64().unwrap_or_default())
        }
        (Kind::List(_), Value::Array(items)) => items
            .iter()
            .map(|v| header_text(&Kind::String, v))
            .collect::<Vec<_>>()
            .join(", "),
        (_, Value::String(s)) => s.clone(),
        (_, other) => other.to_string(),
    }
}

/// A body value with its members under their model names (the generated
/// types' serde names), where the model gives them another JSON key.
fn to_model_names(service: &ServiceMeta, shape: u16, value: Value) -> Value {
    rename(service, shape, value, |m| {
        (m.xml_name.unwrap_or(m.name), m.name)
    })
}

/// The reverse: model names to JSON keys.
fn to_wire_names(service: &ServiceMeta, shape: u16, value: Value) -> Value {
    rename(service, shape, value, |m| {
        (m.name, m.xml_name.unwrap_or(m.name))
    })
}

fn rename(
    service: &ServiceMeta,
    shape: u16,
    value: Value,
    names: fn(&Member) -> (&'static str, &'static str),
) -> Value {
    match (&service.shape(shape).kind, value) {
        (Kind::Structure(members), Value::Object(mut object)) => {
            let mut out = Map::new();
            for member in *members {
                let (from, to) = names(member);
                if let Some(v) = object.remove(from) {
                    out.insert(to.to_string(), rename(service, member.shape, v, names));
                }
            }
            Value::Object(out)
        }
        (Kind::List(list), Value::Array(items)) => Value::Array(
            items
                .into_iter()
                .map(|v| rename(service, list.member, v, names))
                .collect(),
        ),
        (Kind::Map(map), Value::Object(entries)) => Value::Object(
            entries
                .into_iter()
                .map(|(k, v)| (k, rename(service, map.value, v, names)))
                .collect(),
        ),
        (_, value) => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::efs::operations::{Operation, SERVICE as EFS};
    use crate::model::schema::{List, Map as MapShape, Protocol, Shape};
    use serde_json::json;

    fn efs_ops() -> Vec<OpWire> {
        Operation::ALL.iter().map(|op| op.wire()).collect()
    }

    fn parts(method: &str, uri: &str, headers: &[(&str, &str)]) -> http::request::Parts {
        let mut request = http::Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.body(()).unwrap().into_parts().0
    }

    const fn member(
        name: &'static str,
        shape: u16,
        wire: Option<&'static str>,
        location: Location,
    ) -> Member {
        Member {
            name,
            shape,
            xml_name: wire,
            query_name: None,
            flattened: false,
            attribute: false,
            location,
        }
    }

    /// A service with every binding EFS lacks: a greedy label, header and
    /// headers members, a query map, a payload, a status code member.
    static SHAPES: [Shape; 10] = [
        /* 0 */ Shape {
            name: "String",
            kind: Kind::String,
        },
        /* 1 */ Shape {
            name: "Integer",
            kind: Kind::Integer,
        },
        /* 2 */
        Shape {
            name: "Timestamp",
            kind: Kind::Timestamp,
        },
        /* 3 */
        Shape {
            name: "Strings",
            kind: Kind::List(List {
                member: 0,
                member_name: None,
                flattened: false,
            }),
        },
        /* 4 */
        Shape {
            name: "StringMap",
            kind: Kind::Map(MapShape {
                key: 0,
                value: 0,
                key_name: None,
                value_name: None,
                flattened: false,
            }),
        },
        /* 5 */
        Shape {
            name: "PutInput",
            kind: Kind::Structure(&[
                member("Bucket", 0, Some("Bucket"), Location::Uri),
                member("Key", 0, Some("Key"), Location::Uri),
                member("Tags", 3, Some("tag"), Location::Querystring),
                member("Limit", 1, Some("limit"), Location::Querystring),
                member("Since", 2, Some("since"), Location::Querystring),
                member("Extra", 4, None, Location::Querystring),
                member("Token", 0, Some("x-amz-token"), Location::Header),
                member("Modified", 2, Some("If-Modified-Since"), Location::Header),
                member("Meta", 4, Some("x-amz-meta-"), Location::Headers),
                member("Document", 6, None, Location::Body),
            ]),
        },
        /* 6 */
        Shape {
            name: "Document",
            kind: Kind::Structure(&[member("Name", 0, Some("name"), Location::Body)]),
        },
        /* 7 */
        Shape {
            name: "PutOutput",
            kind: Kind::Structure(&[
                member("Status", 1, None, Location::StatusCode),
                member("ETag", 0, Some("ETag"), Location::Header),
                member("Modified", 2, Some("Last-Modified"), Location::Header),
                member("Items", 3, Some("items"), Location::Body),
                member("Created", 2, None, Location::Body),
            ]),
        },
        /* 8 */
        Shape {
            name: "GetInput",
            kind: Kind::Structure(&[
                member("Bucket", 0, Some("Bucket"), Location::Uri),
                member("Body", 9, None, Location::Body),
            ]),
        },
        /* 9 */ Shape {
            name: "Blob",
            kind: Kind::Blob,
        },
    ];

    static TEST_SERVICE: ServiceMeta = ServiceMeta {
        name: "test",
        label: "Test",
        protocol: Protocol::RestJson,
        protocols: &[Protocol::RestJson],
        query_compatible: false,
        json_version: "",
        target_prefix: "",
        signing_name: "test",
        api_version: "2020-01-01",
        xml_namespace: "",
        validation_error: "ValidationException",
        shapes: &SHAPES,
    };

    const PUT: OpWire = OpWire {
        name: "PutThing",
        input: Some(5),
        output: Some(7),
        result_wrapper: None,
        http: Some(Http {
            method: "PUT",
            uri: "/{Bucket}/{Key+}",
            response_code: 201,
            input_payload: Some("Document"),
            output_payload: None,
        }),
    };

    const TAGGING: OpWire = OpWire {
        name: "PutTagging",
        input: Some(8),
        output: None,
        result_wrapper: None,
        http: Some(Http {
            method: "PUT",
            uri: "/{Bucket}?tagging",
            response_code: 200,
            input_payload: Some("Body"),
            output_payload: None,
        }),
    };

    const BUCKET: OpWire = OpWire {
        name: "PutBucket",
        http: Some(Http {
            uri: "/{Bucket}",
            ..TAGGING.http.unwrap()
        }),
        ..TAGGING
    };

    #[test]
    fn routes_efs_by_method_and_template() {
        let name = |method, path, query| route(efs_ops(), method, path, query).map(|op| op.name);
        assert_eq!(
            name("POST", "/2015-02-01/file-systems", ""),
            Some("CreateFileSystem")
        );
        assert_eq!(
            name("GET", "/2015-02-01/file-systems", "MaxItems=2"),
            Some("DescribeFileSystems")
        );
        assert_eq!(
            name(
                "DELETE",
                "/2015-02-01/file-systems/fs-0123456789abcdef0",
                ""
            ),
            Some("DeleteFileSystem")
        );
        assert_eq!(
            name("GET", "/2015-02-01/resource-tags/fs-1", ""),
            Some("ListTagsForResource")
        );
        // A label matches a non-empty segment only; the method must match.
        assert_eq!(name("DELETE", "/2015-02-01/file-systems/", ""), None);
        assert_eq!(name("PATCH", "/2015-02-01/file-systems", ""), None);
        assert_eq!(
            name("GET", "/2015-02-01/file-systems/fs-1/extra/more", ""),
            None
        );
    }

    #[test]
    fn labels_are_percent_decoded_and_greedy_labels_take_the_rest() {
        let m = match_uri("/{Bucket}/{Key+}", "/my%20bucket/a/b%2Fc/d.txt", "").unwrap();
        assert_eq!(
            m.labels,
            [
                ("Bucket".to_string(), "my bucket".to_string()),
                ("Key".to_string(), "a/b/c/d.txt".to_string())
            ]
        );
        assert!(
            match_uri("/{Bucket}/{Key+}", "/bucket", "").is_none(),
            "a greedy label needs a value"
        );
        assert!(match_uri("/{Bucket}/{Key+}", "/bucket/", "").is_none());
        let m = match_uri(
            "/2015-02-01/file-systems/{FileSystemId}",
            "/2015-02-01/file-systems/fs%2D1",
            "",
        )
        .unwrap();
        assert_eq!(m.labels, [("FileSystemId".to_string(), "fs-1".to_string())]);
    }

    #[test]
    fn a_literal_query_part_must_be_there_and_wins_when_it_is() {
        let ops = [BUCKET, TAGGING];
        assert_eq!(
            route(ops, "PUT", "/b", "tagging").map(|op| op.name),
            Some("PutTagging")
        );
        assert_eq!(
            route(ops, "PUT", "/b", "tagging=&x=1").map(|op| op.name),
            Some("PutTagging")
        );
        assert_eq!(
            route(ops, "PUT", "/b", "").map(|op| op.name),
            Some("PutBucket")
        );
        assert_eq!(
            route([TAGGING], "PUT", "/b", "other").map(|op| op.name),
            None
        );
    }

    #[test]
    fn decodes_labels_query_headers_and_payload() {
        let request = parts(
            "PUT",
            "/bkt/dir/file%20name?tag=a&tag=b&limit=7&since=2026-12-06T07:10:04Z&color=red&tag=c",
            &[
                ("x-amz-token", "tok"),
                ("if-modified-since", "Sun, 06 Dec 2026 07:10:04 GMT"),
                ("x-amz-meta-owner", "me"),
            ],
        );
        let value = decode(&TEST_SERVICE, &PUT, &request, br#"{"name": "doc"}"#).unwrap();
        assert_eq!(
            value,
            json!({
                "Document": {"Name": "doc"},
                "Bucket": "bkt",
                "Key": "dir/file name",
                "Tags": ["a", "b", "c"],
                "Limit": 7,
                "Since": 1_796_541_004.0,
                "Extra": {"color": "red"},
                "Token": "tok",
                "Modified": 1_796_541_004.0,
                "Meta": {"owner": "me"},
            })
        );
    }

    #[test]
    fn a_blob_payload_is_the_raw_body() {
        let value = decode(
            &TEST_SERVICE,
            &TAGGING,
            &parts("PUT", "/b?tagging", &[]),
            b"\x00raw",
        )
        .unwrap();
        assert_eq!(
            value,
            json!({"Bucket": "b", "Body": BASE64.encode(b"\x00raw")})
        );
    }

    #[test]
    fn a_value_of_the_wrong_type_names_the_member() {
        let err = decode(
            &TEST_SERVICE,
            &PUT,
            &parts("PUT", "/b/k?limit=many", &[]),
            b"",
        )
        .unwrap_err();
        assert_eq!((err.code, err.status), ("ValidationException", 400));
        assert!(
            err.message.contains("'limit'") && err.message.contains("many"),
            "{}",
            err.message
        );
        let err = decode(&TEST_SERVICE, &PUT, &parts("PUT", "/b/k", &[]), b"[1]").unwrap_err();
        assert_eq!(err.code, "SerializationException");
    }

    #[test]
    fn efs_body_query_and_labels() {
        let create = Operation::CreateFileSystem.wire();
        let value = decode(
            &EFS,
            &create,
            &parts("POST", "/2015-02-01/file-systems", &[]),
            br#"{"CreationToken": "t", "Bogus": 1}"#,
        )
        .unwrap();
        assert_eq!(value, json!({"CreationToken": "t"}));
        let untag = Operation::UntagResource.wire();
        let value = decode(
            &EFS,
            &untag,
            &parts(
                "DELETE",
                "/2015-02-01/resource-tags/fs-1?tagKeys=a&tagKeys=b",
                &[],
            ),
            b"",
        )
        .unwrap();
        assert_eq!(value, json!({"ResourceId": "fs-1", "TagKeys": ["a", "b"]}));
        let describe = Operation::DescribeFileSystems.wire();
        let value = decode(
            &EFS,
            &describe,
            &parts("GET", "/2015-02-01/file-systems?MaxItems=2&Marker=m", &[]),
            b"",
        )
        .unwrap();
        assert_eq!(value, json!({"MaxItems": 2, "Marker": "m"}));
    }

    #[test]
    fn encodes_status_headers_and_the_unbound_members() {
        let output = json!({"Status": 202, "ETag": "e1", "Modified": 1_796_541_004.5, "Items": ["x"], "Created": 1_796_541_004.5});
        let reply = encode(&TEST_SERVICE, &PUT, output).unwrap();
        assert_eq!(reply.status, 202);
        assert_eq!(
            reply.headers,
            [
                ("ETag".to_string(), "e1".to_string()),
                (
                    "Last-Modified".to_string(),
                    "Sun, 06 Dec 2026 07:10:04 GMT".to_string()
                )
            ]
        );
        // Body timestamps stay epoch seconds; members go under their JSON keys.
        let body: Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(body, json!({"items": ["x"], "Created": 1_796_541_004.5}));
        // Without a status member, the operation's responseCode.
        assert_eq!(encode(&TEST_SERVICE, &PUT, json!({})).unwrap().status, 201);
    }

    #[test]
    fn efs_statuses_come_from_the_model() {
        let create = Operation::CreateFileSystem.wire();
        let reply = encode(
            &EFS,
            &create,
            json!({"FileSystemId": "fs-1", "CreationTime": 1.5}),
        )
        .unwrap();
        assert_eq!(reply.status, 201);
        assert_eq!(
            serde_json::from_slice::<Value>(&reply.body).unwrap(),
            json!({"FileSystemId": "fs-1", "CreationTime": 1.5})
        );
        let delete = encode_empty(&Operation::DeleteFileSystem.wire());
        assert_eq!((delete.status, delete.body.len()), (204, 0));
        assert_eq!(encode_empty(&Operation::TagResource.wire()).status, 200);
    }
}
