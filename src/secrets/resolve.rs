//! A container definition's `secrets` and `environmentFiles` as environment
//! variables, the way ECS puts them into the container, and the reason ECS
//! stops the task with when one cannot be read.
//!
//! The task controller calls `container_extra_env` before it creates a
//! container and passes the result as extra environment (which wins over the
//! container's `environment`); on an error it does not create the container
//! and stops the task with the error as `stoppedReason`.
//!
//! Precedence, as ECS documents and its agent merges them:
//! - `environment` wins over `environmentFiles`;
//! - across several environment files the first that sets a variable wins
//!   ("processed from the top down"); within one file the last line does;
//! - `secrets` win over both (the agent merges them into the environment last).
//!
//! `secrets[].valueFrom`:
//! - a Secrets Manager ARN, `arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX`
//!   (or without the suffix), optionally followed by `:json-key:version-stage:version-id`
//!   where an empty part means the default (whole value, AWSCURRENT);
//! - an SSM parameter ARN, `arn:aws:ssm:REGION:ACCOUNT:parameter/NAME`;
//! - a bare parameter name, read in the task's own account and region.
//!
//! ARNs are read from the store of the account and region they name.
//!
//! `environmentFiles`: in AWS their value is an S3 object ARN. ecsbox has no
//! S3 yet, so it takes a LOCAL path instead, `file:///abs/path/app.env` or
//! `/abs/path/app.env`, and reads the file from the host ecsbox runs on (not
//! from inside any container). An `arn:aws:s3:::bucket/key` value stops the
//! task with an error that says so. The file is read as Fargate reads it, as
//! a Docker env-file: `VAR=VALUE` lines, split at the first `=`, the value
//! taken as is (no quote processing, no expansion); `#` lines and blank lines
//! ignored; a line without `=` is skipped (Docker would copy the variable
//! from its own environment; ecsbox does not pass the host's environment on).

use super::wire::parse_arn;
use super::{secretsmanager, ssm, SecretsStore};
use crate::model::shapes::ContainerDefinition;
use std::collections::HashSet;

/// How ECS begins the stoppedReason of a task whose secrets it could not read.
const SECRETS_FAILED: &str = "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: ";
const FROM_ASM: &str = "unable to retrieve secret from asm: ";
const FROM_SSM: &str = "unable to retrieve secrets from ssm: ";
const RETRIED: &str = "service call has been retried 1 time(s): ";
/// How ECS begins the stoppedReason of a task whose environment files it
/// could not fetch.
const FILES_FAILED: &str = "ResourceInitializationError: failed to download env files: ";

/// What the controller adds to a container's environment: the environment
/// files' variables that `environment` does not set, then the secrets.
pub fn container_extra_env(
    store: &SecretsStore,
    account: &str,
    region: &str,
    container: &ContainerDefinition,
) -> Result<Vec<(String, String)>, String> {
    let secrets = resolve_container_secrets(store, account, region, container)?;
    let own: HashSet<&str> = container
        .environment
        .iter()
        .flatten()
        .filter_map(|kv| kv.name.as_deref())
        .collect();
    let mut extra: Vec<(String, String)> = read_environment_files(container)?
        .into_iter()
        .filter(|(name, _)| !own.contains(name.as_str()))
        .collect();
    for (name, value) in secrets {
        set(&mut extra, name, value);
    }
    Ok(extra)
}

/// The container's `secrets` as (name, value) pairs in their order, or the
/// stoppedReason ECS gives when one cannot be read. Parameters are read
/// first, in one batch as the agent does, then Secrets Manager secrets.
pub fn resolve_container_secrets(
    store: &SecretsStore,
    account: &str,
    region: &str,
    container: &ContainerDefinition,
) -> Result<Vec<(String, String)>, String> {
    let entries: Vec<(&str, &str)> = container
        .secrets
        .iter()
        .flatten()
        .filter_map(|s| Some((s.name.as_deref()?, s.value_from.as_deref()?)))
        .collect();
    let mut values = vec![None; entries.len()];
    let mut invalid = Vec::new();
    for (i, (_, value_from)) in entries.iter().enumerate() {
        if let Some((acct, reg, reference)) = ssm_reference(account, region, value_from) {
            match read_parameter(store, acct, reg, reference) {
                Some(v) => values[i] = Some(v),
                None => invalid.push(*value_from),
            }
        }
    }
    if !invalid.is_empty() {
        return Err(format!(
            "{SECRETS_FAILED}{FROM_SSM}{RETRIED}invalid ssm parameters: {}",
            invalid.join(",")
        ));
    }
    for (i, (_, value_from)) in entries.iter().enumerate() {
        if values[i].is_none() {
            values[i] = Some(read_secret(store, value_from)?);
        }
    }
    Ok(entries
        .iter()
        .zip(values)
        .map(|((name, _), value)| (name.to_string(), value.unwrap_or_default()))
        .collect())
}

/// The (username, password) of a container's `repositoryCredentials`: the
/// Secrets Manager secret it names holds `{"username": ..., "password": ...}`,
/// as ECS's private registry authentication requires. None without
/// `repositoryCredentials`; the stoppedReason ECS gives when it cannot be read.
pub fn registry_credentials(
    store: &SecretsStore,
    container: &ContainerDefinition,
) -> Result<Option<(String, String)>, String> {
    let Some(parameter) = container
        .repository_credentials
        .as_ref()
        .and_then(|r| r.credentials_parameter.as_deref())
    else {
        return Ok(None);
    };
    let text = read_secret(store, parameter)?;
    let fields: Option<(String, String)> = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| {
            let field = |name: &str| v.get(name)?.as_str().map(str::to_string);
            Some((field("username")?, field("password")?))
        });
    // ecsbox's wording: the agent's for this case could not be confirmed.
    fields.map(Some).ok_or_else(|| {
        format!(
            "{SECRETS_FAILED}{FROM_ASM}the secret {parameter} of repositoryCredentials must be JSON \
             with the string fields \"username\" and \"password\""
        )
    })
}

/// An SSM reference (account, region, what GetParameters is asked): an SSM
/// ARN, or anything that is not an ARN at all. None for other ARNs.
fn ssm_reference<'a>(
    account: &'a str,
    region: &'a str,
    value_from: &'a str,
) -> Option<(&'a str, &'a str, &'a str)> {
    match parse_arn(value_from) {
        Some(arn) if arn.service == "ssm" => Some((arn.account, arn.region, value_from)),
        Some(_) => None,
        None if value_from.starts_with("arn:") => None,
        None => Some((account, region, value_from)),
    }
}

fn read_parameter(
    store: &SecretsStore,
    account: &str,
    region: &str,
    reference: &str,
) -> Option<String> {
    let secrets = store.existing(account, region)?;
    let secrets = secrets.lock();
    ssm::read_value(&secrets, reference)
}

/// One Secrets Manager `valueFrom`, with its JSON key, stage and version.
fn read_secret(store: &SecretsStore, value_from: &str) -> Result<String, String> {
    let source = SecretSource::parse(value_from)?;
    let arn = parse_arn(&source.secret_id).expect("parsed above");
    let answer = match store.existing(arn.account, arn.region) {
        Some(secrets) => secretsmanager::read_value(
            &mut secrets.lock(),
            &source.secret_id,
            source.version_id,
            source.stage,
            crate::clock::now_secs(),
        ),
        None => Err(secretsmanager::not_found()),
    };
    let answer = answer.map_err(|e| {
        format!(
            "{SECRETS_FAILED}{FROM_ASM}{RETRIED}failed to fetch secret {} from secrets manager: operation error Secrets Manager: GetSecretValue, \
             https response error StatusCode: {}, RequestID: {}, {}: {}",
            source.secret_id,
            e.status,
            uuid::Uuid::new_v4(),
            e.code,
            e.message
        )
    })?;
    let text = answer.secret_string.unwrap_or_default();
    if source.json_key.is_empty() {
        return Ok(text);
    }
    json_key(&text, source.json_key).map_err(|e| format!("{SECRETS_FAILED}{FROM_ASM}{RETRIED}{e}"))
}

/// A Secrets Manager `valueFrom`: the secret's ARN alone, or followed by
/// `:json-key:version-stage:version-id` (the agent's format, after
/// CloudFormation's dynamic references).
#[derive(Debug, PartialEq, Eq)]
struct SecretSource<'a> {
    secret_id: String,
    json_key: &'a str,
    stage: Option<&'a str>,
    version_id: Option<&'a str>,
}

impl<'a> SecretSource<'a> {
    fn parse(value_from: &'a str) -> Result<Self, String> {
        let invalid = || {
            format!(
                "{SECRETS_FAILED}{FROM_ASM}trying to retrieve secret with value {value_from} resulted in error: an invalid ARN format \
                 for the AWS Secrets Manager secret was specified. Specify a valid ARN and try again."
            )
        };
        let arn = parse_arn(value_from)
            .filter(|a| a.service == "secretsmanager")
            .ok_or_else(invalid)?;
        let parts: Vec<&str> = arn.resource.split(':').collect();
        if parts[0] != "secret" {
            return Err(invalid());
        }
        let non_empty = |s: &'a str| (!s.is_empty()).then_some(s);
        match parts.len() {
            2 => Ok(SecretSource {
                secret_id: value_from.to_string(),
                json_key: "",
                stage: None,
                version_id: None,
            }),
            5 => Ok(SecretSource {
                secret_id: value_from
                    .splitn(8, ':')
                    .take(7)
                    .collect::<Vec<_>>()
                    .join(":"),
                json_key: parts[2],
                stage: non_empty(parts[3]),
                version_id: non_empty(parts[4]),
            }),
            _ => Err(invalid()),
        }
    }
}

/// The member `key` of a secret that holds a JSON object, printed as the
/// agent (Go) prints it: strings as they are, other values as `%v` does.
fn json_key(text: &str, key: &str) -> Result<String, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| go_json_error(text, &e))?;
    let object = match &value {
        serde_json::Value::Object(map) => Some(map),
        serde_json::Value::Null => None,
        other => {
            return Err(format!(
                "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                go_json_kind(other)
            ))
        }
    };
    match object.and_then(|o| o.get(key)) {
        Some(v) => Ok(go_format(v)),
        None => Err(format!(
            "retrieved secret from Secrets Manager did not contain json key {key}"
        )),
    }
}

fn go_json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::String(_) => "string",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::Bool(_) => "bool",
        serde_json::Value::Array(_) => "array",
        _ => "object",
    }
}

/// Go's `encoding/json` words for the common ways a secret is not JSON.
fn go_json_error(text: &str, e: &serde_json::Error) -> String {
    match text.trim_start().chars().next() {
        None => "unexpected end of JSON input".to_string(),
        Some(c) if !"{[\"-0123456789tfn".contains(c) => {
            format!("invalid character '{c}' looking for beginning of value")
        }
        Some(_) => format!("invalid JSON in secret: {e}"),
    }
}

/// A JSON value as Go's `fmt.Sprintf("%v", v)` prints what `encoding/json`
/// decoded it into (float64, bool, nil, []interface{}, map[string]interface{}).
fn go_format(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "<nil>".to_string(),
        serde_json::Value::Bool(b) => b.to_string(),
        serde_json::Value::Number(n) => go_float(n.as_f64().unwrap_or(0.0)),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) => format!(
            "[{}]",
            items.iter().map(go_format).collect::<Vec<_>>().join(" ")
        ),
        // serde_json's map is ordered by key, as fmt sorts map keys.
        serde_json::Value::Object(map) => format!(
            "map[{}]",
            map.iter()
                .map(|(k, v)| format!("{k}:{}", go_format(v)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    }
}

/// `%v` of a float64: the shortest digits that round-trip, in exponent form
/// when the exponent is below -4 or at least 6 (`1e+06`, `1.5e-05`).
fn go_float(f: f64) -> String {
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').expect("LowerExp has an exponent");
    let exp: i32 = exp.parse().expect("an integer exponent");
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if !(-4..6).contains(&exp) {
        let rest = if digits.len() > 1 {
            format!(".{}", &digits[1..])
        } else {
            String::new()
        };
        let exp_sign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{}{rest}e{exp_sign}{:02}", &digits[..1], exp.abs());
    }
    if exp < 0 {
        return format!("{sign}0.{}{digits}", "0".repeat((-exp - 1) as usize));
    }
    let int_len = exp as usize + 1;
    if digits.len() <= int_len {
        format!("{sign}{digits}{}", "0".repeat(int_len - digits.len()))
    } else {
        format!("{sign}{}.{}", &digits[..int_len], &digits[int_len..])
    }
}

// ---- environment files -------------------------------------------------------

/// The variables of the container's `environmentFiles`, each read from the
/// host (see the module comment), the first file to set a name winning.
pub fn read_environment_files(
    container: &ContainerDefinition,
) -> Result<Vec<(String, String)>, String> {
    let mut vars: Vec<(String, String)> = Vec::new();
    for file in container.environment_files.iter().flatten() {
        let value = file.value.as_deref().unwrap_or("");
        if let Some(t) = file.r#type.as_deref().filter(|t| *t != "s3") {
            return Err(format!(
                "{FILES_FAILED}{value}: unsupported environment file type {t}; the only type is s3"
            ));
        }
        let path = local_path(value)?;
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{FILES_FAILED}ecsbox could not read {path} on its host: {e}"))?;
        for (name, v) in parse_env_file(&text).map_err(|e| format!("{FILES_FAILED}{path}: {e}"))? {
            if !vars.iter().any(|(n, _)| *n == name) {
                vars.push((name, v));
            }
        }
    }
    Ok(vars)
}

/// The host path an environment file's value names.
fn local_path(value: &str) -> Result<&str, String> {
    if value.starts_with("arn:") {
        return Err(format!(
            "{FILES_FAILED}{value}: ecsbox has no S3 yet; give environmentFiles a local path instead \
             (file:///abs/path/app.env or /abs/path/app.env), which ecsbox reads from its host"
        ));
    }
    let path = match value.strip_prefix("file://") {
        Some(rest) => rest,
        None => value,
    };
    if !path.starts_with('/') {
        return Err(format!(
            "{FILES_FAILED}{value}: an environment file is an S3 object ARN in AWS; ecsbox takes an absolute local path \
             (file:///abs/path/app.env or /abs/path/app.env)"
        ));
    }
    // AWS requires the extension; a definition that works here should work there.
    if !path.ends_with(".env") {
        return Err(format!(
            "{FILES_FAILED}{value}: the file must have a .env file extension"
        ));
    }
    Ok(path)
}

/// A Docker env-file: `VAR=VALUE` lines split at the first `=`, the name's
/// leading white space dropped, the value as is; `#` and blank lines ignored;
/// a later line for a name replacing the earlier value in place.
pub fn parse_env_file(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut vars: Vec<(String, String)> = Vec::new();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for line in text.lines() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((name, value)) = line.split_once('=') else {
            continue;
        };
        if name.is_empty() {
            return Err(format!("no variable name on line '{line}'"));
        }
        if name.chars().any(char::is_whitespace) {
            return Err(format!("variable '{name}' contains whitespaces"));
        }
        set(&mut vars, name.to_string(), value.to_string());
    }
    Ok(vars)
}

/// Sets `name`, replacing an earlier value in place.
fn set(vars: &mut Vec<(String, String)>, name: String, value: String) {
    match vars.iter_mut().find(|(n, _)| *n == name) {
        Some(slot) => slot.1 = value,
        None => vars.push((name, value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::secretsmanager::shapes::CreateSecretRequest;
    use crate::model::shapes::{EnvironmentFile, KeyValuePair, Secret};
    use crate::model::ssm::shapes::PutParameterRequest;
    use crate::secrets::secretsmanager::create_secret;
    use crate::secrets::ssm::put_parameter;

    const ACCOUNT: &str = "123456789012";
    const REGION: &str = "eu-west-1";

    fn store_with_secret(name: &str, value: &str) -> (SecretsStore, String) {
        let store = SecretsStore::new();
        let input = CreateSecretRequest {
            name: Some(name.into()),
            secret_string: Some(value.into()),
            ..Default::default()
        };
        let arn = create_secret(
            &mut store.region(ACCOUNT, REGION).lock(),
            input,
            crate::clock::now_secs(),
        )
        .unwrap()
        .arn
        .unwrap();
        (store, arn)
    }

    fn put(store: &SecretsStore, name: &str, value: &str) {
        let input = PutParameterRequest {
            name: Some(name.into()),
            value: Some(value.into()),
            r#type: Some("SecureString".into()),
            ..Default::default()
        };
        put_parameter(&mut store.region(ACCOUNT, REGION).lock(), input, 1.0).unwrap();
    }

    fn container(secrets: &[(&str, &str)]) -> ContainerDefinition {
        let secrets = secrets
            .iter()
            .map(|(n, v)| Secret {
                name: Some(n.to_string()),
                value_from: Some(v.to_string()),
            })
            .collect();
        ContainerDefinition {
            name: Some("app".into()),
            secrets: Some(secrets),
            ..Default::default()
        }
    }

    fn resolve(
        store: &SecretsStore,
        c: &ContainerDefinition,
    ) -> Result<Vec<(String, String)>, String> {
        resolve_container_secrets(store, ACCOUNT, REGION, c)
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn secrets_manager_arns_resolve_whole_or_by_json_key() {
        let (store, arn) = store_with_secret(
            "db",
            r#"{"user":"admin","port":5432,"big":1000000,"ok":true}"#,
        );
        let partial = format!("arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:db");
        let c = container(&[
            ("WHOLE", &arn),
            ("USER", &format!("{arn}:user::")),
            ("PORT", &format!("{partial}:port:AWSCURRENT:")),
            ("BIG", &format!("{arn}:big::")),
            ("OK", &format!("{arn}:ok::")),
        ]);
        let env = resolve(&store, &c).unwrap();
        assert_eq!(
            env[0].1,
            r#"{"user":"admin","port":5432,"big":1000000,"ok":true}"#
        );
        // Numbers come out as the agent's Go prints a float64.
        assert_eq!(
            env[1..],
            pairs(&[
                ("USER", "admin"),
                ("PORT", "5432"),
                ("BIG", "1e+06"),
                ("OK", "true")
            ])
        );
    }

    #[test]
    fn a_missing_secret_stops_the_task_with_the_ecs_wording() {
        let (store, arn) = store_with_secret("db", r#"{"user":"admin"}"#);
        let missing = format!("arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:nope-AbCdEf");
        let err = resolve(&store, &container(&[("X", &missing)])).unwrap_err();
        let expected = format!(
            "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: \
             unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret {missing} \
             from secrets manager: operation error Secrets Manager: GetSecretValue, https response error StatusCode: 400, RequestID: "
        );
        assert!(err.starts_with(&expected), "{err}");
        assert!(
            err.ends_with(
                ", ResourceNotFoundException: Secrets Manager can't find the specified secret."
            ),
            "{err}"
        );

        let err = resolve(&store, &container(&[("X", &format!("{arn}:password::"))])).unwrap_err();
        assert_eq!(
            err,
            "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: \
             unable to retrieve secret from asm: service call has been retried 1 time(s): retrieved secret from Secrets Manager \
             did not contain json key password"
        );
    }

    #[test]
    fn parameters_resolve_by_name_and_arn_and_missing_ones_are_listed() {
        let store = SecretsStore::new();
        put(&store, "/prod/db/password", "hunter2");
        put(&store, "token", "t0k");
        let arn = format!("arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/prod/db/password");
        let c = container(&[("A", "/prod/db/password"), ("B", &arn), ("C", "token")]);
        assert_eq!(
            resolve(&store, &c).unwrap(),
            pairs(&[("A", "hunter2"), ("B", "hunter2"), ("C", "t0k")])
        );
        let c = container(&[
            ("A", "/prod/db/password"),
            ("B", "/missing/one"),
            ("C", "/missing/two"),
        ]);
        assert_eq!(
            resolve(&store, &c).unwrap_err(),
            "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: \
             unable to retrieve secrets from ssm: service call has been retried 1 time(s): invalid ssm parameters: /missing/one,/missing/two"
        );
    }

    #[test]
    fn an_arn_of_another_region_reads_that_regions_store() {
        let store = SecretsStore::new();
        let input = PutParameterRequest {
            name: Some("/x".into()),
            value: Some("far".into()),
            r#type: Some("String".into()),
            ..Default::default()
        };
        put_parameter(&mut store.region(ACCOUNT, "us-west-2").lock(), input, 1.0).unwrap();
        let c = container(&[("X", &format!("arn:aws:ssm:us-west-2:{ACCOUNT}:parameter/x"))]);
        assert_eq!(resolve(&store, &c).unwrap(), pairs(&[("X", "far")]));
        // The same name in the task's own region is another parameter.
        assert!(resolve(&store, &container(&[("X", "/x")])).is_err());
    }

    #[test]
    fn a_malformed_secrets_manager_arn_is_refused_without_a_lookup() {
        let err = resolve(
            &SecretsStore::new(),
            &container(&[(
                "X",
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db:key",
            )]),
        )
        .unwrap_err();
        assert!(
            err.contains("an invalid ARN format for the AWS Secrets Manager secret was specified"),
            "{err}"
        );
    }

    #[test]
    fn go_prints_floats_as_the_agent_does() {
        let cases = [
            (5432.0, "5432"),
            (1e6, "1e+06"),
            (123456.0, "123456"),
            (1234567.0, "1.234567e+06"),
            (0.5, "0.5"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5, "-2.5"),
            (100.0, "100"),
        ];
        for (f, s) in cases {
            assert_eq!(go_float(f), s, "{f}");
        }
        assert_eq!(
            go_format(&serde_json::json!({"b": [1, "x", null], "a": false})),
            "map[a:false b:[1 x <nil>]]"
        );
    }

    #[test]
    fn env_files_parse_as_docker_env_files() {
        let text =
            "\u{feff}# comment\n  A=1\nB=with=equals and \"quotes\"\n\nNOEQUALS\nA=2\nEMPTY=\r\n";
        assert_eq!(
            parse_env_file(text).unwrap(),
            pairs(&[
                ("A", "2"),
                ("B", "with=equals and \"quotes\""),
                ("EMPTY", "")
            ])
        );
        assert!(parse_env_file("BAD NAME=1")
            .unwrap_err()
            .contains("contains whitespaces"));
        assert!(parse_env_file("=1")
            .unwrap_err()
            .contains("no variable name"));
    }

    #[test]
    fn environment_wins_over_files_the_first_file_over_later_ones_and_secrets_over_all() {
        let dir = std::env::temp_dir().join(format!("ecsbox-envfiles-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let first = dir.join("first.env");
        let second = dir.join("second.env");
        std::fs::write(
            &first,
            "FROM_FILE=first\nSHARED=first\nOVERRIDDEN=file\nSECRET=file\n",
        )
        .unwrap();
        std::fs::write(&second, "SHARED=second\nONLY_SECOND=2\n").unwrap();
        let (store, arn) = store_with_secret("s", "from-secret");
        let mut c = container(&[("SECRET", &arn)]);
        c.environment = Some(vec![KeyValuePair {
            name: Some("OVERRIDDEN".into()),
            value: Some("environment".into()),
        }]);
        c.environment_files = Some(vec![
            EnvironmentFile {
                value: Some(format!("file://{}", first.display())),
                r#type: Some("s3".into()),
            },
            EnvironmentFile {
                value: Some(second.display().to_string()),
                r#type: Some("s3".into()),
            },
        ]);
        let extra = container_extra_env(&store, ACCOUNT, REGION, &c).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        // OVERRIDDEN is left to `environment`, which the controller applies first.
        assert_eq!(
            extra,
            pairs(&[
                ("FROM_FILE", "first"),
                ("SHARED", "first"),
                ("SECRET", "from-secret"),
                ("ONLY_SECOND", "2")
            ])
        );
    }

    #[test]
    fn env_file_values_that_ecsbox_cannot_read_say_why() {
        let with = |value: &str| ContainerDefinition {
            environment_files: Some(vec![EnvironmentFile {
                value: Some(value.into()),
                r#type: Some("s3".into()),
            }]),
            ..Default::default()
        };
        let err = read_environment_files(&with("arn:aws:s3:::bucket/app.env")).unwrap_err();
        assert!(err.starts_with("ResourceInitializationError: failed to download env files: arn:aws:s3:::bucket/app.env: ecsbox has no S3 yet"), "{err}");
        assert!(read_environment_files(&with("relative/app.env"))
            .unwrap_err()
            .contains("absolute local path"));
        assert!(read_environment_files(&with("/tmp/app.txt"))
            .unwrap_err()
            .contains(".env file extension"));
        let err = read_environment_files(&with("/nonexistent/ecsbox/app.env")).unwrap_err();
        assert!(
            err.contains("ecsbox could not read /nonexistent/ecsbox/app.env on its host"),
            "{err}"
        );
    }
}
