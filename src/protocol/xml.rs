//! XML answers and error documents of the query and ec2 protocols, written
//! from the output's JSON value and the service's shape table, the way
//! botocore's parsers read them (`botocore/parsers.py`):
//!
//! - query: `<OpResponse xmlns=NS><OpResult>...</OpResult>
//!   <ResponseMetadata><RequestId>id</RequestId></ResponseMetadata></OpResponse>`;
//!   errors `<ErrorResponse><Error><Type>Sender</Type><Code/><Message/></Error><RequestId/></ErrorResponse>`.
//! - ec2: `<OpResponse xmlns=NS><requestId>id</requestId>...</OpResponse>`;
//!   errors `<Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>`.
//!
//! Members are written under their locationName, lists inside a wrapper
//! with one `<member>` (or the list's member name, EC2's `<item>`) per item
//! unless flattened, maps as `<entry><key/><value/></entry>`, timestamps as
//! ISO 8601, booleans as `true`/`false`.

use super::timestamps;
use super::ApiError;
use crate::model::schema::{Kind, OpWire, Protocol, ServiceMeta};
// Text needs only <, > and & escaped; AWS leaves quotes as they are.
use quick_xml::escape::partial_escape as escape;
use serde_json::Value;
use std::fmt::Write;

const DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

/// The answer to `op`, with `output` its output shape's JSON value (or
/// `None` for an operation without output).
pub fn encode_output(
    service: &'static ServiceMeta,
    op: &OpWire,
    output: Option<&Value>,
    request_id: &str,
) -> String {
    let mut out = String::with_capacity(512);
    out.push_str(DECLARATION);
    let _ = write!(
        out,
        "<{}Response xmlns=\"{}\">",
        op.name, service.xml_namespace
    );
    let members = |out: &mut String| {
        if let (Some(shape), Some(Value::Object(_))) = (op.output, output) {
            write_members(out, service, shape, output.unwrap());
        }
    };
    match service.protocol {
        Protocol::Ec2 => {
            let _ = write!(out, "<requestId>{}</requestId>", escape(request_id));
            members(&mut out);
        }
        _ => {
            match op.result_wrapper {
                Some(wrapper) => {
                    let _ = write!(out, "<{wrapper}>");
                    members(&mut out);
                    let _ = write!(out, "</{wrapper}>");
                }
                None => members(&mut out),
            }
            let _ = write!(
                out,
                "<ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata>",
                escape(request_id)
            );
        }
    }
    let _ = write!(out, "</{}Response>", op.name);
    out
}

/// The error document of `protocol` for `err`.
pub fn encode_error(
    protocol: Protocol,
    xml_namespace: &str,
    err: &ApiError,
    request_id: &str,
) -> String {
    let (code, message, id) = (
        escape(err.code),
        escape(err.message.as_str()),
        escape(request_id),
    );
    match protocol {
        Protocol::Ec2 => format!(
            "{DECLARATION}<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>{id}</RequestID></Response>"
        ),
        _ => {
            let kind = if err.status >= 500 { "Receiver" } else { "Sender" };
            let ns = if xml_namespace.is_empty() { String::new() } else { format!(" xmlns=\"{}\"", escape(xml_namespace)) };
            format!(
                "{DECLARATION}<ErrorResponse{ns}><Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>{id}</RequestId></ErrorResponse>"
            )
        }
    }
}

fn write_members(out: &mut String, service: &'static ServiceMeta, shape: u16, value: &Value) {
    let (Kind::Structure(members), Value::Object(object)) = (&service.shape(shape).kind, value)
    else {
        return;
    };
    for member in members.iter() {
        let Some(v) = object.get(member.name) else {
            continue;
        };
        if v.is_null() {
            continue;
        }
        write_value(
            out,
            service,
            member.shape,
            member.element_name(),
            member.flattened,
            v,
        );
    }
}

fn write_value(
    out: &mut String,
    service: &'static ServiceMeta,
    shape: u16,
    name: &str,
    flattened: bool,
    value: &Value,
) {
    match (&service.shape(shape).kind, value) {
        (Kind::Structure(_), _) => {
            let _ = write!(out, "<{name}>");
            write_members(out, service, shape, value);
            let _ = write!(out, "</{name}>");
        }
        (Kind::List(list), Value::Array(items)) => {
            if flattened || list.flattened {
                let item_name = list.member_name.unwrap_or(name);
                for item in items {
                    write_value(out, service, list.member, item_name, false, item);
                }
            } else {
                let item_name = list.member_name.unwrap_or("member");
                let _ = write!(out, "<{name}>");
                for item in items {
                    write_value(out, service, list.member, item_name, false, item);
                }
                let _ = write!(out, "</{name}>");
            }
        }
        (Kind::Map(map), Value::Object(entries)) => {
            let (key_name, value_name) = (
                map.key_name.unwrap_or("key"),
                map.value_name.unwrap_or("value"),
            );
            if !(flattened || map.flattened) {
                let _ = write!(out, "<{name}>");
            }
            for (k, v) in entries {
                let entry = if flattened || map.flattened {
                    name
                } else {
                    "entry"
                };
                let _ = write!(
                    out,
                    "<{entry}><{key_name}>{}</{key_name}>",
                    escape(k.as_str())
                );
                write_value(out, service, map.value, value_name, false, v);
                let _ = write!(out, "</{entry}>");
            }
            if !(flattened || map.flattened) {
                let _ = write!(out, "</{name}>");
            }
        }
        (Kind::Timestamp, Value::Number(n)) => {
            let _ = write!(
                out,
                "<{name}>{}</{name}>",
                timestamps::format(n.as_f64().unwrap_or(0.0))
            );
        }
        (_, Value::String(s)) => {
            let _ = write!(out, "<{name}>{}</{name}>", escape(s.as_str()));
        }
        (_, Value::Bool(b)) => {
            let _ = write!(out, "<{name}>{b}</{name}>");
        }
        (_, Value::Number(n)) => {
            let _ = write!(out, "<{name}>{n}</{name}>");
        }
        // A value that does not fit its shape is a bug of ecsbox's; leave
        // it out rather than write XML the SDK cannot read.
        _ => tracing::warn!(
            shape = service.shape(shape).name,
            "a value that does not fit its shape was left out of an XML answer"
        ),
    }
}
