//! Answers as HTTP responses: the success of each protocol, and the error
//! contract of each protocol, in one place.

use crate::model::schema::{Protocol, ServiceMeta};
use crate::protocol::{rest_json, xml, ApiError};
use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::Full;

const JSON_11: &str = "application/x-amz-json-1.1";

/// A rest-json success: the operation's status, its header members, the body.
pub(super) fn rest_json_response(
    reply: Option<rest_json::Reply>,
    body: Vec<u8>,
    request_id: &str,
) -> Response<Full<Bytes>> {
    let reply = reply.unwrap_or_else(|| rest_json::Reply {
        status: 200,
        headers: Vec::new(),
        body: Vec::new(),
    });
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    let mut resp = json_response(status, body.into(), request_id, rest_json::CONTENT_TYPE);
    for (name, value) in reply.headers {
        if let (Ok(name), Ok(value)) = (
            header::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            resp.headers_mut().insert(name, value);
        }
    }
    resp
}

pub(super) fn json_response(
    status: StatusCode,
    body: Bytes,
    request_id: &str,
    content_type: &'static str,
) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", v);
    }
    resp
}

/// The error contract of each protocol, in one place.
pub(super) fn error_in(
    protocol: Protocol,
    service: Option<&ServiceMeta>,
    err: &ApiError,
    request_id: &str,
) -> Response<Full<Bytes>> {
    let mut resp = error_body_in(protocol, service, err, request_id);
    // A former query service answering in JSON or CBOR names the query
    // error code too, which is the code its SDKs report (botocore's
    // `_do_query_compatible_error_parse`).
    if service.is_some_and(|s| s.query_compatible)
        && matches!(protocol, Protocol::Json | Protocol::Cbor)
    {
        let kind = if err.status >= 500 {
            "Receiver"
        } else {
            "Sender"
        };
        if let Ok(v) = HeaderValue::from_str(&format!("{};{kind}", err.code)) {
            resp.headers_mut().insert("x-amzn-query-error", v);
        }
    }
    resp
}

fn error_body_in(
    protocol: Protocol,
    service: Option<&ServiceMeta>,
    err: &ApiError,
    request_id: &str,
) -> Response<Full<Bytes>> {
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::BAD_REQUEST);
    match protocol {
        Protocol::Query | Protocol::Ec2 => {
            let body = xml::encode_error(
                protocol,
                service.map(|s| s.xml_namespace).unwrap_or(""),
                err,
                request_id,
            );
            json_response(status, body.into(), request_id, "text/xml")
        }
        Protocol::Cbor => {
            let mut body = Vec::new();
            let doc = std::collections::BTreeMap::from([
                ("__type", err.code),
                ("message", err.message.as_str()),
            ]);
            ciborium::into_writer(&doc, &mut body).expect("a map of strings encodes");
            let mut resp = json_response(status, body.into(), request_id, "application/cbor");
            resp.headers_mut()
                .insert("smithy-protocol", HeaderValue::from_static("rpc-v2-cbor"));
            resp
        }
        // rest-json: the code in `x-amzn-ErrorType` (which botocore's
        // RestJSONParser reads first) and `__type`, the status the model
        // gives the error.
        Protocol::RestJson => {
            let mut resp = error_response(err, request_id);
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(rest_json::CONTENT_TYPE),
            );
            resp
        }
        _ => {
            let mut resp = error_response(err, request_id);
            if let Some(service) = service {
                resp.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(service.json_content_type()),
                );
            }
            resp
        }
    }
}

/// The JSON error contract: status from the error, `__type` and `message` in
/// the body, `x-amzn-ErrorType` header, and the request id.
pub fn error_response(err: &ApiError, request_id: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({ "__type": err.code, "message": err.message }).to_string();
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut resp = json_response(status, body.into(), request_id, JSON_11);
    if let Ok(v) = HeaderValue::from_str(err.code) {
        resp.headers_mut().insert("x-amzn-errortype", v);
    }
    resp
}
