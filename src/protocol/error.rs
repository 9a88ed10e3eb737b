//! One error type for every answer that is not a success. It becomes an HTTP
//! response in exactly one place (`server::error_response`): status from the
//! code, `{"__type": code, "message": ...}` body, `x-amzn-ErrorType` header.

use crate::model::operations::{ErrorCode, Operation};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The exception name AWS sends in `__type` and `x-amzn-ErrorType`.
    pub code: &'static str,
    pub message: String,
    pub status: u16,
}

impl ApiError {
    /// An exception declared by the ECS model.
    pub fn ecs(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code: code.as_str(),
            message: message.into(),
            status: code.status(),
        }
    }

    /// A protocol-level error: not part of any service model, sent by AWS's
    /// front end before a request reaches the service.
    pub fn protocol(code: &'static str, status: u16, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            status,
        }
    }

    pub fn client(message: impl Into<String>) -> Self {
        Self::ecs(ErrorCode::ClientException, message)
    }

    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::ecs(ErrorCode::InvalidParameterException, message)
    }

    pub fn cluster_not_found() -> Self {
        Self::ecs(ErrorCode::ClusterNotFoundException, "Cluster not found.")
    }

    /// The answer of every model operation ecsbox has not built yet: an
    /// exception the SDKs know, naming the operation, never an empty success.
    pub fn not_supported(op: Operation) -> Self {
        Self::ecs(
            ErrorCode::UnsupportedFeatureException,
            format!("ecsbox does not support the {} operation yet.", op.name()),
        )
    }

    /// A query service's answer to an operation ecsbox has not built yet
    /// (`InvalidAction`, the query protocol's code for an action the
    /// service does not offer).
    pub fn query_not_supported(service: &str, op: &str) -> Self {
        Self::protocol(
            "InvalidAction",
            400,
            format!("ecsbox does not support the {op} operation of {service} yet."),
        )
    }

    /// EC2's answer to an operation ecsbox has not built yet: EC2's own
    /// `UnsupportedOperation` ("The specified request includes an
    /// unsupported operation").
    pub fn ec2_not_supported(op: &str) -> Self {
        Self::protocol(
            "UnsupportedOperation",
            400,
            format!("ecsbox does not support the {op} operation of EC2 yet."),
        )
    }

    /// The same refusal in the words of the query and ec2 protocols: their
    /// services name the SigV4 errors without the JSON services'
    /// `Exception` suffix, and some differently (STS's "Common Errors":
    /// InvalidClientTokenId, SignatureDoesNotMatch, MissingAuthenticationToken).
    pub fn in_query_words(self) -> Self {
        let code = match self.code {
            "InvalidSignatureException" => "SignatureDoesNotMatch",
            "UnrecognizedClientException" => "InvalidClientTokenId",
            "MissingAuthenticationTokenException" => "MissingAuthenticationToken",
            "IncompleteSignatureException" => "IncompleteSignature",
            "ExpiredTokenException" => "ExpiredToken",
            other => other,
        };
        ApiError { code, ..self }
    }

    pub fn serialization(message: impl Into<String>) -> Self {
        Self::protocol("SerializationException", 400, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::ecs(ErrorCode::ServerException, message)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}
