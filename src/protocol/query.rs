//! The query and ec2 protocols' requests: a form (`Action=...&Version=...`
//! plus the input's members, flattened into dotted keys) read back into the
//! operation's input, guided by the service's shape table.
//!
//! Keys as botocore writes them (`botocore/serialize.py`):
//! - a structure member: its locationName, else its name (ec2: its
//!   queryName, else its locationName capitalized);
//! - a list: query `Name.member.N` (the list's member name if it has one),
//!   `Name.N` when flattened, and an empty list as `Name=`; ec2 always
//!   `Name.N`;
//! - a map: `Name.entry.N.key` and `Name.entry.N.value` (`Name.N.key` when
//!   flattened).
//!
//! The result is the JSON value of the input shape (members under their
//! model names, as the generated serde types expect), so the input is then
//! read by the same serde code as a JSON request.

use super::timestamps;
use super::ApiError;
use crate::model::schema::{Kind, Protocol, ServiceMeta};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::ops::Bound;

/// A decoded form: keys and values, percent-decoding done.
#[derive(Debug, Default, Clone)]
pub struct Form {
    params: BTreeMap<String, String>,
}

impl Form {
    /// Parses an `application/x-www-form-urlencoded` body or query string.
    pub fn parse(raw: &[u8]) -> Form {
        let params = form_urlencoded::parse(raw)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Form { params }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.params.get(key).map(String::as_str)
    }

    /// Whether any key is `prefix` itself or starts with `prefix.`.
    fn has_prefix(&self, prefix: &str) -> bool {
        if self.params.contains_key(prefix) {
            return true;
        }
        let dotted = format!("{prefix}.");
        self.params
            .range::<str, _>((Bound::Included(dotted.as_str()), Bound::Unbounded))
            .next()
            .is_some_and(|(k, _)| k.starts_with(&dotted))
    }

    /// The keys that are not `Action` or `Version` and that `used` does not
    /// hold: parameters the operation does not have.
    fn unknown_keys<'a>(&'a self, used: &[String]) -> Vec<&'a str> {
        self.params
            .keys()
            .filter(|k| *k != "Action" && *k != "Version" && !used.iter().any(|u| u == *k))
            .map(String::as_str)
            .collect()
    }
}

/// Reads the input of shape `input` (an index into `service.shapes`) out of
/// the form. EC2 refuses a parameter its operation does not have
/// (`UnknownParameter`), as EC2 does; query services ignore it.
pub fn decode(form: &Form, service: &'static ServiceMeta, input: u16) -> Result<Value, ApiError> {
    let mut reader = Reader {
        form,
        service,
        used: Vec::new(),
    };
    let value = reader
        .structure(input, "")?
        .unwrap_or_else(|| Value::Object(Map::new()));
    if service.protocol == Protocol::Ec2 {
        if let Some(unknown) = form.unknown_keys(&reader.used).first() {
            return Err(ApiError::protocol(
                "UnknownParameter",
                400,
                format!("The parameter {unknown} is not recognized"),
            ));
        }
    }
    Ok(value)
}

struct Reader<'a> {
    form: &'a Form,
    service: &'static ServiceMeta,
    /// Every key read, for the unknown-parameter check.
    used: Vec<String>,
}

impl Reader<'_> {
    fn protocol(&self) -> Protocol {
        self.service.protocol
    }

    /// A structure's members under `prefix` (empty at the top), or `None`
    /// when the form holds none of them.
    fn structure(&mut self, shape: u16, prefix: &str) -> Result<Option<Value>, ApiError> {
        let Kind::Structure(members) = &self.service.shape(shape).kind else {
            return Err(ApiError::internal("a query input that is not a structure"));
        };
        let mut object = Map::new();
        for member in members.iter() {
            let name = member.form_name(self.protocol());
            let key = if prefix.is_empty() {
                name.into_owned()
            } else {
                format!("{prefix}.{name}")
            };
            if let Some(value) = self.value(member.shape, &key, member.flattened)? {
                object.insert(member.name.to_string(), value);
            }
        }
        Ok((!object.is_empty()).then_some(Value::Object(object)))
    }

    fn value(&mut self, shape: u16, key: &str, flattened: bool) -> Result<Option<Value>, ApiError> {
        let service = self.service;
        match &service.shape(shape).kind {
            Kind::Structure(_) => self.structure(shape, key),
            Kind::List(list) => {
                let items_prefix = match self.protocol() {
                    Protocol::Ec2 => key.to_string(),
                    _ if flattened || list.flattened => match list.member_name {
                        Some(name) => match key.rsplit_once('.') {
                            Some((parent, _)) => format!("{parent}.{name}"),
                            None => name.to_string(),
                        },
                        None => key.to_string(),
                    },
                    _ => format!("{key}.{}", list.member_name.unwrap_or("member")),
                };
                let mut items = Vec::new();
                for i in 1.. {
                    let item_key = format!("{items_prefix}.{i}");
                    if !self.form.has_prefix(&item_key) {
                        break;
                    }
                    if let Some(item) = self.value(list.member, &item_key, false)? {
                        items.push(item);
                    }
                }
                if items.is_empty() {
                    // `Name=` is how query sends an empty list.
                    if self.form.get(key) == Some("") {
                        self.used.push(key.to_string());
                        return Ok(Some(Value::Array(Vec::new())));
                    }
                    return Ok(None);
                }
                Ok(Some(Value::Array(items)))
            }
            Kind::Map(map) => {
                let entries = if flattened || map.flattened {
                    key.to_string()
                } else {
                    format!("{key}.entry")
                };
                let key_name = map.key_name.unwrap_or("key");
                let value_name = map.value_name.unwrap_or("value");
                let mut object = Map::new();
                for i in 1.. {
                    let entry = format!("{entries}.{i}");
                    if !self.form.has_prefix(&entry) {
                        break;
                    }
                    let k = self.scalar(map.key, &format!("{entry}.{key_name}"))?;
                    let v = self.value(map.value, &format!("{entry}.{value_name}"), false)?;
                    if let (Some(Value::String(k)), Some(v)) = (k, v) {
                        object.insert(k, v);
                    }
                }
                Ok((!object.is_empty()).then_some(Value::Object(object)))
            }
            _ => self.scalar(shape, key),
        }
    }

    fn scalar(&mut self, shape: u16, key: &str) -> Result<Option<Value>, ApiError> {
        let Some(raw) = self.form.get(key) else {
            return Ok(None);
        };
        self.used.push(key.to_string());
        let kind = &self.service.shape(shape).kind;
        // Forms are lenient: numbers may carry spaces, booleans any case.
        let text = match kind {
            Kind::Boolean => raw.to_ascii_lowercase(),
            Kind::Integer | Kind::Long | Kind::Float | Kind::Double => raw.trim().to_string(),
            _ => raw.to_string(),
        };
        let value = super::scalar_from_text(kind, &text, timestamps::parse).ok_or_else(|| {
            let what = match kind {
                Kind::Integer | Kind::Long => "an integer",
                Kind::Float | Kind::Double => "a number",
                Kind::Boolean => "true or false",
                _ => "an ISO 8601 timestamp",
            };
            ApiError::protocol(
                self.service.validation_error,
                400,
                format!(
                    "Value '{raw}' at '{key}' failed to satisfy constraint: Member must be {what}"
                ),
            )
        })?;
        Ok(Some(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ec2::operations::{Operation as Ec2Op, SERVICE as EC2};
    use crate::model::sts::operations::{Operation as StsOp, SERVICE as STS};

    #[test]
    fn sts_members_lists_and_integers() {
        let form = Form::parse(
            b"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr&RoleSessionName=s+1\
              &DurationSeconds=900&Tags.member.1.Key=a&Tags.member.1.Value=b&Tags.member.2.Key=c&Tags.member.2.Value=d",
        );
        let v = decode(&form, &STS, StsOp::AssumeRole.wire().input.unwrap()).unwrap();
        assert_eq!(v["RoleArn"], "arn:aws:iam::1:role/r");
        assert_eq!(v["RoleSessionName"], "s 1");
        assert_eq!(v["DurationSeconds"], 900);
        assert_eq!(
            v["Tags"],
            serde_json::json!([{"Key": "a", "Value": "b"}, {"Key": "c", "Value": "d"}])
        );
    }

    #[test]
    fn ec2_lists_are_numbered_under_their_location_names() {
        let form = Form::parse(b"Action=DescribeSubnets&Version=2016-11-15&SubnetId.1=subnet-1&SubnetId.2=subnet-2&Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-9");
        let v = decode(&form, &EC2, Ec2Op::DescribeSubnets.wire().input.unwrap()).unwrap();
        assert_eq!(v["SubnetIds"], serde_json::json!(["subnet-1", "subnet-2"]));
        assert_eq!(
            v["Filters"],
            serde_json::json!([{"Name": "vpc-id", "Values": ["vpc-9"]}])
        );
    }

    #[test]
    fn ec2_refuses_a_parameter_the_operation_lacks() {
        let form = Form::parse(b"Action=DescribeSubnets&Version=2016-11-15&Bogus=1");
        let err = decode(&form, &EC2, Ec2Op::DescribeSubnets.wire().input.unwrap()).unwrap_err();
        assert_eq!(err.code, "UnknownParameter");
        assert!(err.message.contains("Bogus"), "{}", err.message);
    }

    #[test]
    fn a_malformed_integer_names_the_member() {
        let form = Form::parse(b"RoleArn=x&RoleSessionName=s&DurationSeconds=soon");
        let err = decode(&form, &STS, StsOp::AssumeRole.wire().input.unwrap()).unwrap_err();
        assert_eq!(err.code, "ValidationError");
        assert!(err.message.contains("DurationSeconds"), "{}", err.message);
    }
}
