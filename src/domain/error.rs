//! What an ECS rule refuses: the exception AWS answers with, and its
//! message. The domain and the controllers return it and know nothing of
//! the wire; the API layer turns it into a `protocol::ApiError` in one
//! place (`impl From<DomainError> for ApiError` in `api`).

use crate::model::operations::ErrorCode;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainError {
    /// The ECS exception AWS answers with.
    pub code: ErrorCode,
    /// AWS's wording where it is known: tests compare it byte for byte.
    pub message: String,
}

impl DomainError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        DomainError {
            code,
            message: message.into(),
        }
    }

    pub fn client(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ClientException, message)
    }

    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidParameterException, message)
    }

    pub fn cluster_not_found() -> Self {
        Self::new(
            ErrorCode::ClusterNotFoundException,
            super::messages::aws::CLUSTER_NOT_FOUND,
        )
    }
}

impl fmt::Display for DomainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for DomainError {}
