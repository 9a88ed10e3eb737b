//! The registry's errors, in the Distribution API's form: a status and
//! `{"errors":[{"code","message","detail"}]}`, which the Docker engine
//! prints as `<code in lower case>: <message>`.
//!
//! Messages are ECR's own words where they are known (each cited where it
//! is built); the rest are the distribution spec's descriptions of the code.

use super::body::{full, ResponseBody};
use http::{header, HeaderName, HeaderValue, Response, StatusCode};
use serde_json::{json, Value};

#[derive(Debug)]
pub struct RegistryError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub detail: Option<Value>,
    /// Headers the answer carries besides the body (the auth challenge, the
    /// Range of an upload a chunk did not fit).
    pub headers: Vec<(HeaderName, String)>,
}

impl RegistryError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        RegistryError {
            status,
            code,
            message: message.into(),
            detail: None,
            headers: Vec::new(),
        }
    }

    pub fn with_detail(mut self, detail: Value) -> Self {
        self.detail = Some(detail);
        self
    }

    pub fn with_header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// ECR's answer for a repository the caller's registry does not have
    /// (as `docker push` prints it: "name unknown: The repository with name
    /// 'x' does not exist in the registry with id '123456789012'").
    pub fn name_unknown(name: &str, account: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NAME_UNKNOWN",
            format!("The repository with name '{name}' does not exist in the registry with id '{account}'"),
        )
    }

    pub fn name_invalid(name: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "NAME_INVALID",
            "invalid repository name",
        )
        .with_detail(json!({ "name": name }))
    }

    pub fn blob_unknown(digest: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "BLOB_UNKNOWN",
            "blob unknown to registry",
        )
        .with_detail(json!({ "digest": digest }))
    }

    pub fn upload_unknown() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "BLOB_UPLOAD_UNKNOWN",
            "blob upload unknown to registry",
        )
    }

    pub fn digest_invalid(why: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "DIGEST_INVALID", why)
    }

    /// ECR's words for a tag or digest the repository does not have (`docker
    /// pull` prints "manifest unknown: Requested image not found").
    pub fn manifest_unknown() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "MANIFEST_UNKNOWN",
            "Requested image not found",
        )
    }

    pub fn manifest_invalid(why: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "MANIFEST_INVALID", why)
    }

    pub fn tag_invalid(why: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "TAG_INVALID", why)
    }

    /// A path the API does not have, or a method a path does not take.
    pub fn unsupported(status: StatusCode) -> Self {
        Self::new(status, "UNSUPPORTED", "The operation is unsupported.")
    }

    /// Something of ecsbox's own failed (the disk, most likely).
    pub fn internal(why: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "UNKNOWN",
            format!("unknown error: {why}"),
        )
    }

    pub fn into_response(self) -> Response<ResponseBody> {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let Some(detail) = self.detail {
            error["detail"] = detail;
        }
        let body = serde_json::to_vec(&json!({ "errors": [error] })).unwrap_or_default();
        let mut response = Response::new(full(body));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
        response
    }
}
