//! The CloudWatch Logs service's own exceptions, with the messages AWS sends.
//! They are `ApiError`s like ECS's, so `server::error_response` turns them
//! into answers the same way; only the codes come from the Logs model.

use crate::model::logs::operations::{ErrorCode, Operation};
use crate::protocol::ApiError;

pub fn logs(code: ErrorCode, message: impl Into<String>) -> ApiError {
    ApiError {
        code: code.as_str(),
        message: message.into(),
        status: code.status(),
    }
}

pub fn invalid_parameter(message: impl Into<String>) -> ApiError {
    logs(ErrorCode::InvalidParameterException, message)
}

/// AWS's wording for a member that breaks a model constraint.
pub fn constraint(value: impl std::fmt::Display, member: &str, constraint: &str) -> ApiError {
    invalid_parameter(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must {constraint}"
    ))
}

pub fn group_not_found() -> ApiError {
    logs(
        ErrorCode::ResourceNotFoundException,
        "The specified log group does not exist.",
    )
}

pub fn stream_not_found() -> ApiError {
    logs(
        ErrorCode::ResourceNotFoundException,
        "The specified log stream does not exist.",
    )
}

pub fn group_exists() -> ApiError {
    logs(
        ErrorCode::ResourceAlreadyExistsException,
        "The specified log group already exists",
    )
}

pub fn stream_exists() -> ApiError {
    logs(
        ErrorCode::ResourceAlreadyExistsException,
        "The specified log stream already exists",
    )
}

pub fn invalid_token() -> ApiError {
    invalid_parameter("The specified nextToken is invalid.")
}

/// The answer of every Logs operation ecsbox has not built yet: an exception
/// of the Logs model, naming the operation, never an empty success.
pub fn not_supported(op: Operation) -> ApiError {
    logs(
        ErrorCode::InvalidOperationException,
        format!("ecsbox does not support the {} operation yet.", op.name()),
    )
}
