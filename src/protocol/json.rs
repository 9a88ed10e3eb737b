//! AWS JSON 1.0 and 1.1 bodies: a request is one JSON object whose members
//! are the operation's input shape; an answer is the output shape.

use super::ApiError;
use crate::model::validate::Validate;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Decodes a request body into the operation's input shape and checks what
/// the model requires of it. An empty body stands for `{}`, as AWS treats it.
///
/// A body that is not a JSON object, or a member of the wrong type, is a
/// `SerializationException` (as AWS's front end answers); a missing required
/// member or a value outside an enum is an `InvalidParameterException`.
pub fn decode_input<T: DeserializeOwned + Validate>(body: &[u8]) -> Result<T, ApiError> {
    let input: T = decode(body)?;
    let errors = input.validate();
    if !errors.is_empty() {
        return Err(super::validation_error(
            "InvalidParameterException",
            &errors,
        ));
    }
    Ok(input)
}

/// The body read into `T`, without the model's constraints (the caller
/// checks those with its service's exception).
pub(super) fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body: &[u8] = if body.iter().all(|b| b.is_ascii_whitespace()) {
        b"{}"
    } else {
        body
    };
    // serde would read a JSON array into a struct field by field; AWS wants
    // an object.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::serialization(
            "The request body must be a JSON object.",
        ));
    }
    // Straight into the input shape: no intermediate JSON tree on the hot
    // path. serde's message says what was wrong (syntax, or which member has
    // the wrong type) and where.
    let input: T = serde_json::from_slice(body).map_err(|e| {
        let what = if e.is_syntax() || e.is_eof() {
            "is not valid JSON"
        } else {
            "does not match the operation's input"
        };
        ApiError::serialization(format!("The request body {what}: {e}"))
    })?;
    Ok(input)
}

pub fn encode_output<T: Serialize>(output: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(output)
        .map_err(|e| ApiError::internal(format!("could not encode the answer: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::shapes::{
        CreateClusterRequest, RegisterTaskDefinitionRequest, RunTaskRequest,
    };

    #[test]
    fn empty_body_is_an_empty_object() {
        let input: CreateClusterRequest = decode_input(b"").unwrap();
        assert_eq!(input, CreateClusterRequest::default());
    }

    #[test]
    fn malformed_json_is_a_serialization_exception() {
        let err = decode_input::<CreateClusterRequest>(b"{not json").unwrap_err();
        assert_eq!(err.code, "SerializationException");
        let err = decode_input::<CreateClusterRequest>(b"[1,2]").unwrap_err();
        assert_eq!(err.code, "SerializationException");
        // An array that would fill the struct's fields in order is refused too.
        let err = decode_input::<CreateClusterRequest>(br#"["a"]"#).unwrap_err();
        assert_eq!(err.code, "SerializationException");
    }

    #[test]
    fn wrong_member_type_is_a_serialization_exception() {
        let err = decode_input::<CreateClusterRequest>(br#"{"clusterName": 5}"#).unwrap_err();
        assert_eq!(err.code, "SerializationException");
        assert!(
            err.message.contains("clusterName") || err.message.contains("string"),
            "{}",
            err.message
        );
    }

    #[test]
    fn missing_required_member_is_an_invalid_parameter() {
        let err = decode_input::<RegisterTaskDefinitionRequest>(br#"{"containerDefinitions": []}"#)
            .unwrap_err();
        assert_eq!(err.code, "InvalidParameterException");
        assert!(err.message.contains("'family'"), "{}", err.message);
    }

    #[test]
    fn enum_outside_the_model_is_an_invalid_parameter() {
        let err =
            decode_input::<RunTaskRequest>(br#"{"taskDefinition": "x", "launchType": "MOON"}"#)
                .unwrap_err();
        assert_eq!(err.code, "InvalidParameterException");
        assert!(
            err.message.contains("launchType") && err.message.contains("FARGATE"),
            "{}",
            err.message
        );
    }
}
