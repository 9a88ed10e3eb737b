//! What the protocol layer knows of a service and its shapes. The generator
//! writes one `ServiceMeta` per service (`model/<service>/operations.rs`)
//! and, for services spoken in forms and XML, CBOR or rest-json, their shape
//! table (`model/<service>/wire.rs`); the decoders and encoders in `protocol`
//! read them, so no service writes wire code of its own.

/// The protocols botocore's models name (`metadata.protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// AWS JSON 1.0 and 1.1: `X-Amz-Target`, a JSON body.
    Json,
    /// AWS query: a form with `Action` and `Version`, XML answers.
    Query,
    /// EC2's flavour of query: other list and error shapes.
    Ec2,
    /// REST with JSON bodies: the operation is in the method and path.
    RestJson,
    /// Smithy RPC v2 with CBOR bodies.
    Cbor,
}

impl Protocol {
    /// The name botocore's models give it.
    pub fn model_name(self) -> &'static str {
        match self {
            Protocol::Json => "json",
            Protocol::Query => "query",
            Protocol::Ec2 => "ec2",
            Protocol::RestJson => "rest-json",
            Protocol::Cbor => "smithy-rpc-v2-cbor",
        }
    }
}

/// One service as the wire sees it.
#[derive(Debug)]
pub struct ServiceMeta {
    /// ecsbox's id of the service (`/_ecsbox/health` lists these).
    pub name: &'static str,
    /// How messages name the service.
    pub label: &'static str,
    /// The protocol the model prefers (`metadata.protocol`).
    pub protocol: Protocol,
    /// Every protocol the service is spoken in (`metadata.protocols`):
    /// CloudWatch's are CBOR, JSON 1.0 and query.
    pub protocols: &'static [Protocol],
    /// A former query service now spoken in JSON or CBOR too: its errors
    /// carry `x-amzn-query-error` so SDKs see the query error codes.
    pub query_compatible: bool,
    /// "1.0" or "1.1" for JSON services, else empty.
    pub json_version: &'static str,
    /// The `X-Amz-Target` prefix of a JSON service, else empty.
    pub target_prefix: &'static str,
    /// The service a SigV4 credential scope names.
    pub signing_name: &'static str,
    /// The `Version` a query or ec2 form carries.
    pub api_version: &'static str,
    /// The namespace of XML answers.
    pub xml_namespace: &'static str,
    /// The exception a request that breaks the model's constraints gets.
    pub validation_error: &'static str,
    /// The shape table (empty for JSON services, which decode straight
    /// into their types).
    pub shapes: &'static [Shape],
}

impl ServiceMeta {
    pub fn speaks(&self, protocol: Protocol) -> bool {
        self.protocols.contains(&protocol)
    }

    pub fn shape(&self, index: u16) -> &'static Shape {
        &self.shapes[index as usize]
    }

    /// The content type of JSON answers.
    pub fn json_content_type(&self) -> &'static str {
        if self.json_version == "1.0" {
            "application/x-amz-json-1.0"
        } else {
            "application/x-amz-json-1.1"
        }
    }
}

/// An operation's shapes, for the protocols that need the table.
#[derive(Debug, Clone, Copy)]
pub struct OpWire {
    pub name: &'static str,
    pub input: Option<u16>,
    pub output: Option<u16>,
    /// The element a query answer wraps its output in (`AssumeRoleResult`).
    pub result_wrapper: Option<&'static str>,
    /// Where the operation lives in REST (rest-json services only).
    pub http: Option<Http>,
}

/// An operation's REST binding (the model's `http` trait), for routing a
/// rest-json request and writing its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Http {
    /// `GET`, `POST`, `PUT`, `DELETE`, ...
    pub method: &'static str,
    /// The path template: literal segments, `{Label}` (one segment) and
    /// greedy `{Label+}` (the rest of the path), optionally followed by a
    /// literal query part (`/{Bucket}?tagging`) the request must carry.
    pub uri: &'static str,
    /// The status of a successful answer (`responseCode`, default 200).
    pub response_code: u16,
    /// The input member that is the whole request body (the input
    /// structure's `payload`), instead of a JSON object of the unbound members.
    pub input_payload: Option<&'static str>,
    /// The same for the output structure.
    pub output_payload: Option<&'static str>,
}

#[derive(Debug)]
pub struct Shape {
    pub name: &'static str,
    pub kind: Kind,
}

#[derive(Debug)]
pub enum Kind {
    Structure(&'static [Member]),
    List(List),
    Map(Map),
    String,
    Integer,
    Long,
    Float,
    Double,
    Boolean,
    Timestamp,
    Blob,
}

#[derive(Debug)]
pub struct Member {
    /// The member's name in the model, which is also its JSON name and the
    /// serde name of the generated field.
    pub name: &'static str,
    pub shape: u16,
    /// `locationName`: the member's element name in XML (and its form
    /// key); in rest-json its label, query key or header name when bound
    /// (`location`), else its JSON key.
    pub xml_name: Option<&'static str>,
    /// `queryName`: EC2's form key where it differs.
    pub query_name: Option<&'static str>,
    pub flattened: bool,
    pub attribute: bool,
    /// Where a rest-json request or answer carries the member.
    pub location: Location,
}

/// The model's `location` of a member (REST protocols): the body unless
/// bound to a part of the HTTP message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// In the JSON body (or the body itself when it is the payload).
    Body,
    /// A `{Label}` of the path.
    Uri,
    /// A query string key (a map member: every key not bound otherwise).
    Querystring,
    /// One header.
    Header,
    /// Every header starting with the member's `locationName` (a map).
    Headers,
    /// The HTTP status of an answer.
    StatusCode,
}

#[derive(Debug)]
pub struct List {
    pub member: u16,
    /// The element name of one item (`member` when absent; EC2 says `item`).
    pub member_name: Option<&'static str>,
    pub flattened: bool,
}

#[derive(Debug)]
pub struct Map {
    pub key: u16,
    pub value: u16,
    pub key_name: Option<&'static str>,
    pub value_name: Option<&'static str>,
    pub flattened: bool,
}

impl Member {
    /// The member's key in a form: query uses its locationName; EC2 its
    /// queryName, else its locationName capitalized (as botocore sends them).
    pub fn form_name(&self, protocol: Protocol) -> std::borrow::Cow<'static, str> {
        match protocol {
            Protocol::Ec2 => match (self.query_name, self.xml_name) {
                (Some(q), _) => q.into(),
                (None, Some(l)) => capitalize(l).into(),
                (None, None) => self.name.into(),
            },
            _ => self.xml_name.unwrap_or(self.name).into(),
        }
    }

    /// The member's element name in an XML answer.
    pub fn element_name(&self) -> &'static str {
        self.xml_name.unwrap_or(self.name)
    }
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
