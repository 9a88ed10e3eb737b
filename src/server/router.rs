//! Which service and operation a request is for, by how its SDK sent it
//! (see the module map in `server`), and the errors of requests that name no
//! service or operation ecsbox has, in the caller's protocol.

use crate::model::schema::{Protocol, ServiceMeta};
use crate::protocol::{rest_json, ApiError, Form};
use crate::services::AwsService;
use bytes::Bytes;
use http::Method;
use std::sync::Arc;

/// How a request reached us: which protocol, which service (if known) and
/// which operation it names.
pub(super) struct Route<'a> {
    pub protocol: Protocol,
    pub service: Option<&'a Arc<dyn AwsService>>,
    pub op_name: String,
    pub form: Option<Form>,
}

/// Which service and operation a request is for, by how its SDK sent it.
pub(super) fn route<'a>(
    services: &'a [Arc<dyn AwsService>],
    parts: &http::request::Parts,
    body: &Bytes,
) -> Result<Route<'a>, (Protocol, ApiError)> {
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    // AWS JSON: the target names service and operation.
    if let Some(target) = header("x-amz-target") {
        let json_err = |e| (Protocol::Json, e);
        if parts.method != Method::POST || parts.uri.path() != "/" {
            return Err(json_err(ApiError::protocol(
                "UnknownOperationException",
                404,
                format!("No operation at {} {}.", parts.method, parts.uri.path()),
            )));
        }
        let Some((prefix, op_name)) = target.rsplit_once('.') else {
            return Err(json_err(ApiError::protocol(
                "UnknownOperationException",
                400,
                format!("Unknown or missing X-Amz-Target '{target}'."),
            )));
        };
        let service = services
            .iter()
            .find(|s| s.meta().target_prefix == prefix && s.meta().speaks(Protocol::Json))
            .ok_or_else(|| {
                json_err(ApiError::protocol(
                    "UnknownOperationException",
                    400,
                    format!(
                        "Unknown service in X-Amz-Target '{target}': ecsbox does not serve it."
                    ),
                ))
            })?;
        return Ok(Route {
            protocol: Protocol::Json,
            service: Some(service),
            op_name: op_name.to_string(),
            form: None,
        });
    }
    // Smithy RPC v2 CBOR: /service/{Service}/operation/{Operation}.
    if header("smithy-protocol") == Some("rpc-v2-cbor") {
        let mut segments = parts.uri.path().trim_start_matches('/').split('/');
        let (name, op) = match (
            segments.next(),
            segments.next(),
            segments.next(),
            segments.next(),
        ) {
            (Some("service"), Some(s), Some("operation"), Some(o)) => {
                (s.to_string(), o.to_string())
            }
            _ => (String::new(), String::new()),
        };
        let service = services
            .iter()
            .find(|s| s.meta().target_prefix == name && s.meta().speaks(Protocol::Cbor));
        return match service {
            Some(service) if parts.method == Method::POST => Ok(Route { protocol: Protocol::Cbor, service: Some(service), op_name: op, form: None }),
            _ => Err((
                Protocol::Cbor,
                ApiError::protocol("UnknownOperationException", 404, format!("ecsbox does not serve the {name} service over rpc-v2-cbor (operation {op}).")),
            )),
        };
    }
    // A form: query or ec2.
    let is_form =
        header("content-type").is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    let query_has_action = parts
        .uri
        .query()
        .is_some_and(|q| q.split('&').any(|p| p.starts_with("Action=")));
    if is_form || query_has_action {
        let form = if is_form {
            Form::parse(body)
        } else {
            Form::parse(parts.uri.query().unwrap_or("").as_bytes())
        };
        let query_err = |e| (Protocol::Query, e);
        let Some(action) = form.get("Action").map(str::to_string) else {
            return Err(query_err(ApiError::protocol(
                "MissingAction",
                400,
                "The request must contain the parameter Action",
            )));
        };
        let version = form.get("Version").unwrap_or("").to_string();
        // The credential scope names the service; an unsigned request is
        // known by the API version it carries.
        let scope = header("authorization")
            .and_then(|h| crate::auth::parse_authorization(h).ok())
            .map(|a| a.service);
        let is_form_service = |s: &&Arc<dyn AwsService>| {
            s.meta().speaks(Protocol::Query) || s.meta().speaks(Protocol::Ec2)
        };
        let service = match &scope {
            Some(scope) => services
                .iter()
                .filter(is_form_service)
                .find(|s| s.meta().signing_name == scope),
            None => services
                .iter()
                .filter(is_form_service)
                .find(|s| s.meta().api_version == version),
        };
        let Some(service) = service else {
            let named = scope
                .map(|s| format!("the {s} service"))
                .unwrap_or_else(|| format!("the service of API version '{version}'"));
            return Err(query_err(ApiError::protocol(
                "InvalidAction",
                400,
                format!("ecsbox does not serve {named} (action {action})."),
            )));
        };
        let protocol = if service.meta().protocol == Protocol::Ec2 {
            Protocol::Ec2
        } else {
            Protocol::Query
        };
        return Ok(Route {
            protocol,
            service: Some(service),
            op_name: action,
            form: Some(form),
        });
    }
    rest_json_route(services, parts)
}

/// A rest-json request: the operation whose method and URI template match,
/// among the rest-json services the credential scope names (all of them
/// when it names none).
fn rest_json_route<'a>(
    services: &'a [Arc<dyn AwsService>],
    parts: &http::request::Parts,
) -> Result<Route<'a>, (Protocol, ApiError)> {
    let (method, path, query) = (
        parts.method.as_str(),
        parts.uri.path(),
        parts.uri.query().unwrap_or(""),
    );
    let no_operation = || {
        ApiError::protocol(
            "UnknownOperationException",
            404,
            format!("No operation at {method} {path}."),
        )
    };
    let scope = parts
        .headers
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| crate::auth::parse_authorization(h).ok())
        .map(|a| a.service);
    let candidates = services.iter().filter(|s| {
        s.meta().speaks(Protocol::RestJson)
            && scope
                .as_ref()
                .is_none_or(|scope| s.meta().signing_name == scope)
    });
    for service in candidates {
        if let Some(op) = rest_json::route(service.operations(), method, path, query) {
            return Ok(Route {
                protocol: Protocol::RestJson,
                service: Some(service),
                op_name: op.name.to_string(),
                form: None,
            });
        }
    }
    match scope {
        // Signed for a service ecsbox does not serve at all.
        Some(scope) if !services.iter().any(|s| s.meta().signing_name == scope) => Err((
            Protocol::RestJson,
            ApiError::protocol(
                "UnknownOperationException",
                404,
                format!(
                    "ecsbox does not serve the {scope} service (no operation at {method} {path})."
                ),
            ),
        )),
        Some(scope)
            if services
                .iter()
                .any(|s| s.meta().signing_name == scope && s.meta().speaks(Protocol::RestJson)) =>
        {
            Err((Protocol::RestJson, no_operation()))
        }
        _ => Err((Protocol::Json, no_operation())),
    }
}

/// An operation name the service's model lacks, in each protocol's words.
pub(super) fn unknown_operation(protocol: Protocol, meta: &ServiceMeta, op: &str) -> ApiError {
    match protocol {
        // EC2's own text for an action it does not have.
        Protocol::Ec2 => ApiError::protocol(
            "InvalidAction",
            400,
            format!("The action {op} is not valid for this web service."),
        ),
        Protocol::Query => ApiError::protocol(
            "InvalidAction",
            400,
            format!(
                "Could not find operation {op} for version {}",
                meta.api_version
            ),
        ),
        _ => ApiError::protocol(
            "UnknownOperationException",
            400,
            format!("Unknown operation {op}."),
        ),
    }
}
