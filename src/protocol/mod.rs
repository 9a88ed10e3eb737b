//! The wire: every protocol the served services speak, decoding requests
//! into the operations' input shapes and encoding answers and errors.
//! Nothing in here knows about ECS resources; services see typed inputs and
//! outputs only (`Wire::decode`, `Wire::encode`).
//!
//! - `json`: AWS JSON 1.0 and 1.1 (ECS, Logs, Secrets Manager, SSM).
//! - `query`: the query and ec2 protocols' forms (STS, EC2).
//! - `xml`: their answers and error documents.
//! - `cbor`: Smithy RPC v2 CBOR bodies (CloudWatch).
//! - `rest_json`: REST with JSON bodies (EFS): members bound to the path,
//!   query string and headers.
//! - `crate::model::schema`: what the generated code tells this layer of each service.

pub mod cbor;
pub mod content_encoding;
mod error;
mod json;
pub mod query;
pub mod rest_json;
pub mod timestamps;
pub mod xml;

pub use error::ApiError;
pub use json::{decode_input, encode_output};
pub use query::Form;

use crate::model::schema::{Kind, OpWire, Protocol, ServiceMeta};
use crate::model::validate::Validate;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::cell::RefCell;

/// Who is calling and where: every operation's state lives in the store of
/// one (account, region), taken from the request's credential scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    pub account: String,
    pub region: String,
    pub request_id: String,
    /// The access key the request was signed with, if any (STS tells the
    /// identity behind an assumed role's key).
    pub access_key: Option<String>,
    /// The `Host` the request was sent to (`localhost:4566`), for answers
    /// that name ecsbox's own address (ECS's DiscoverPollEndpoint).
    pub host: Option<String>,
}

/// One request of one operation as it came over the wire, ready to be
/// decoded into the operation's input and to encode its answer.
pub struct Wire<'a> {
    pub service: &'static ServiceMeta,
    /// The protocol this request came in (one of `service.protocols`).
    pub protocol: Protocol,
    pub op: OpWire,
    /// The body of a JSON or CBOR request.
    pub body: &'a [u8],
    /// The form of a query or ec2 request.
    pub form: Option<&'a Form>,
    /// The request line and headers, which rest-json binds members to.
    pub parts: Option<&'a http::request::Parts>,
    pub request_id: &'a str,
    /// What a rest-json answer carries besides its body (status, header
    /// members), left here by `encode` for the server: the generated
    /// dispatch answers the body's bytes only.
    pub rest_reply: RefCell<Option<rest_json::Reply>>,
}

impl Wire<'_> {
    /// The operation's input, read from the request and checked against the
    /// model's constraints. A request that breaks them gets the service's
    /// validation exception, with every problem in AWS's words.
    pub fn decode<T: DeserializeOwned + Validate>(&self) -> Result<T, ApiError> {
        let from_value = |value| {
            serde_json::from_value(value).map_err(|e| {
                ApiError::protocol(
                    self.service.validation_error,
                    400,
                    format!("The request does not match the operation's input: {e}"),
                )
            })
        };
        let input: T = match (self.protocol, self.form, self.op.input) {
            (Protocol::Query | Protocol::Ec2, Some(form), Some(shape)) => {
                from_value(query::decode(form, self.service, shape)?)?
            }
            (Protocol::Cbor, _, _) => from_value(cbor::decode(self.body)?)?,
            (Protocol::RestJson, _, _) => {
                let parts = self.parts.ok_or_else(|| {
                    ApiError::internal("a rest-json call without its request line")
                })?;
                from_value(rest_json::decode(self.service, &self.op, parts, self.body)?)?
            }
            _ => json::decode(self.body)?,
        };
        let errors = input.validate();
        if errors.is_empty() {
            return Ok(input);
        }
        if self.protocol == Protocol::Ec2 {
            return Err(ec2_validation_error(&errors[0]));
        }
        Err(validation_error(self.service.validation_error, &errors))
    }

    /// The answer to a successful call.
    pub fn encode<T: Serialize>(&self, output: &T) -> Result<Vec<u8>, ApiError> {
        let value = || {
            serde_json::to_value(output)
                .map_err(|e| ApiError::internal(format!("could not encode the answer: {e}")))
        };
        match self.protocol {
            Protocol::Query | Protocol::Ec2 => {
                Ok(
                    xml::encode_output(self.service, &self.op, Some(&value()?), self.request_id)
                        .into_bytes(),
                )
            }
            Protocol::Cbor => Ok(cbor::encode(self.service, self.op.output, &value()?)),
            Protocol::RestJson => {
                Ok(self.keep_rest_reply(rest_json::encode(self.service, &self.op, value()?)?))
            }
            _ => encode_output(output),
        }
    }

    /// The answer of an operation without output: an empty body in JSON
    /// and CBOR, the bare response element in XML.
    pub fn encode_empty(&self) -> Result<Vec<u8>, ApiError> {
        match self.protocol {
            Protocol::Query | Protocol::Ec2 => {
                Ok(xml::encode_output(self.service, &self.op, None, self.request_id).into_bytes())
            }
            Protocol::RestJson => Ok(self.keep_rest_reply(rest_json::encode_empty(&self.op))),
            _ => Ok(Vec::new()),
        }
    }

    /// Keeps a rest-json answer's status and headers for the server; answers its body.
    fn keep_rest_reply(&self, mut reply: rest_json::Reply) -> Vec<u8> {
        let body = std::mem::take(&mut reply.body);
        *self.rest_reply.borrow_mut() = Some(reply);
        body
    }
}

/// A scalar member sent as text (a form value, a URI label, a query string
/// or header value) as the JSON value the generated types read: numbers,
/// `true`/`false`, timestamps through `time` (each binding has its own
/// format), anything else as a string. `None` for text that is not of its
/// kind; each protocol words that error its own way.
pub(crate) fn scalar_from_text(
    kind: &Kind,
    text: &str,
    time: impl Fn(&str) -> Option<f64>,
) -> Option<Value> {
    let number = |n: f64| serde_json::Number::from_f64(n).map(Value::Number);
    match kind {
        Kind::Integer | Kind::Long => text.parse::<i64>().ok().map(Value::from),
        Kind::Float | Kind::Double => text.parse::<f64>().ok().and_then(number),
        Kind::Boolean => match text {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        Kind::Timestamp => time(text).and_then(number),
        _ => Some(Value::String(text.to_string())),
    }
}

/// EC2 does not answer in the "N validation errors detected" form: a
/// missing member is `MissingParameter` ("The request must contain the
/// parameter X"), a value it refuses `InvalidParameterValue` ("Value (x) for
/// parameter y is invalid."). `first` is one message of the generated
/// checks, in their fixed wording.
fn ec2_validation_error(first: &str) -> ApiError {
    let quoted = |s: &str| {
        s.split_once('\'')
            .and_then(|(_, rest)| rest.split_once('\''))
            .map(|(q, rest)| (q.to_string(), rest.to_string()))
    };
    if let Some(rest) = first.strip_prefix("Value null at ") {
        let name = quoted(rest).map(|(q, _)| q).unwrap_or_default();
        return ApiError::protocol(
            "MissingParameter",
            400,
            format!("The request must contain the parameter {name}"),
        );
    }
    match quoted(first).and_then(|(value, rest)| quoted(&rest).map(|(path, _)| (value, path))) {
        Some((value, path)) => ApiError::protocol(
            "InvalidParameterValue",
            400,
            format!("Value ({value}) for parameter {path} is invalid."),
        ),
        None => ApiError::protocol("InvalidParameterValue", 400, first.to_string()),
    }
}

/// AWS's message for a request that breaks the model's constraints:
/// "1 validation error detected: Value null at 'roleArn' failed to satisfy
/// constraint: Member must not be null" ("N validation errors detected: A; B").
pub fn validation_error(code: &'static str, errors: &[String]) -> ApiError {
    let n = errors.len();
    let plural = if n == 1 { "error" } else { "errors" };
    ApiError::protocol(
        code,
        400,
        format!("{n} validation {plural} detected: {}", errors.join("; ")),
    )
}
