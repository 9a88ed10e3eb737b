//! Smithy RPC v2 CBOR bodies (`smithy-protocol: rpc-v2-cbor`): the request
//! is a CBOR map of the input's members, the answer one of the output's.
//! Timestamps are tag 1 (epoch seconds), blobs byte strings; everything else
//! maps one to one onto JSON. A request is read into the input's JSON value
//! (so the same serde types read it as read a JSON request); an answer is
//! written from the output's JSON value with the shape table, which says
//! which numbers are timestamps and which strings are blobs.

use super::ApiError;
use crate::model::schema::{Kind, ServiceMeta};
use base64::Engine;
use ciborium::Value as Cbor;
use serde_json::{Map, Value};

const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The request body as the input's JSON value. An empty body is an empty input.
pub fn decode(body: &[u8]) -> Result<Value, ApiError> {
    if body.is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let item: Cbor = ciborium::from_reader(body)
        .map_err(|e| ApiError::serialization(format!("The request body is not valid CBOR: {e}")))?;
    if !item.is_map() {
        return Err(ApiError::serialization(
            "The request body must be a CBOR map.",
        ));
    }
    to_json(item)
}

fn to_json(item: Cbor) -> Result<Value, ApiError> {
    Ok(match item {
        Cbor::Null => Value::Null,
        Cbor::Bool(b) => Value::Bool(b),
        Cbor::Integer(i) => {
            let i = i128::from(i);
            match i64::try_from(i) {
                Ok(n) => Value::from(n),
                Err(_) => Value::from(i as f64),
            }
        }
        Cbor::Float(f) => serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        Cbor::Text(s) => Value::String(s),
        // Blobs travel as base64 in the generated types, as in JSON.
        Cbor::Bytes(b) => Value::String(BASE64.encode(b)),
        Cbor::Array(items) => {
            Value::Array(items.into_iter().map(to_json).collect::<Result<_, _>>()?)
        }
        Cbor::Map(entries) => {
            let mut object = Map::new();
            for (k, v) in entries {
                let Cbor::Text(k) = k else {
                    return Err(ApiError::serialization(
                        "A CBOR map key in the request is not a text string.",
                    ));
                };
                object.insert(k, to_json(v)?);
            }
            Value::Object(object)
        }
        // Tag 1: a timestamp in epoch seconds, which the types hold as such.
        Cbor::Tag(1, inner) => to_json(*inner)?,
        Cbor::Tag(tag, _) => {
            return Err(ApiError::serialization(format!(
                "CBOR tag {tag} is not used by this protocol."
            )))
        }
        _ => {
            return Err(ApiError::serialization(
                "The request body holds a CBOR item this protocol does not use.",
            ))
        }
    })
}

/// The answer: the output's JSON value written as CBOR, with shape `shape`
/// (an index into `service.shapes`) telling timestamps and blobs apart.
pub fn encode(service: &'static ServiceMeta, shape: Option<u16>, output: &Value) -> Vec<u8> {
    let item = to_cbor(service, shape, output);
    let mut out = Vec::with_capacity(256);
    ciborium::into_writer(&item, &mut out).expect("writing CBOR to memory does not fail");
    out
}

fn to_cbor(service: &'static ServiceMeta, shape: Option<u16>, value: &Value) -> Cbor {
    let kind = shape.map(|s| &service.shape(s).kind);
    match (kind, value) {
        (_, Value::Null) => Cbor::Null,
        (Some(Kind::Timestamp), Value::Number(n)) => {
            Cbor::Tag(1, Box::new(Cbor::Float(n.as_f64().unwrap_or(0.0))))
        }
        (Some(Kind::Blob), Value::String(s)) => {
            Cbor::Bytes(BASE64.decode(s).unwrap_or_else(|_| s.as_bytes().to_vec()))
        }
        (Some(Kind::Float | Kind::Double), Value::Number(n)) => {
            Cbor::Float(n.as_f64().unwrap_or(0.0))
        }
        (_, Value::Number(n)) => match n.as_i64() {
            Some(i) => Cbor::Integer(i.into()),
            None => Cbor::Float(n.as_f64().unwrap_or(0.0)),
        },
        (_, Value::Bool(b)) => Cbor::Bool(*b),
        (_, Value::String(s)) => Cbor::Text(s.clone()),
        (Some(Kind::List(list)), Value::Array(items)) => Cbor::Array(
            items
                .iter()
                .map(|i| to_cbor(service, Some(list.member), i))
                .collect(),
        ),
        (_, Value::Array(items)) => {
            Cbor::Array(items.iter().map(|i| to_cbor(service, None, i)).collect())
        }
        (Some(Kind::Structure(members)), Value::Object(object)) => Cbor::Map(
            object
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| {
                    let member = members.iter().find(|m| m.name == k).map(|m| m.shape);
                    (Cbor::Text(k.clone()), to_cbor(service, member, v))
                })
                .collect(),
        ),
        (Some(Kind::Map(map)), Value::Object(object)) => Cbor::Map(
            object
                .iter()
                .map(|(k, v)| (Cbor::Text(k.clone()), to_cbor(service, Some(map.value), v)))
                .collect(),
        ),
        (_, Value::Object(object)) => Cbor::Map(
            object
                .iter()
                .map(|(k, v)| (Cbor::Text(k.clone()), to_cbor(service, None, v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_bytes_read_as_json() {
        let item = Cbor::Map(vec![
            (
                Cbor::Text("When".into()),
                Cbor::Tag(1, Box::new(Cbor::Float(1.5))),
            ),
            (Cbor::Text("Blob".into()), Cbor::Bytes(b"hi".to_vec())),
            (Cbor::Text("N".into()), Cbor::Integer(7.into())),
        ]);
        let mut body = Vec::new();
        ciborium::into_writer(&item, &mut body).unwrap();
        assert_eq!(
            decode(&body).unwrap(),
            serde_json::json!({"When": 1.5, "Blob": "aGk=", "N": 7})
        );
        assert_eq!(decode(b"").unwrap(), serde_json::json!({}));
        assert_eq!(
            decode(b"\x83\x01\x02\x03").unwrap_err().code,
            "SerializationException"
        );
        assert_eq!(
            decode(b"\xff\xff").unwrap_err().code,
            "SerializationException"
        );
    }
}
