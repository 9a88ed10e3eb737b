//! The wire: AWS JSON 1.1 decoding and encoding, and the error contract.
//! Nothing in here knows about ECS resources.

mod error;
mod json;

pub use error::ApiError;
pub use json::{decode_input, encode_output};

/// Who is calling and where: every operation's state lives in the store of
/// one (account, region), taken from the request's credential scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    pub account: String,
    pub region: String,
    pub request_id: String,
}
