//! AWS Secrets Manager, the part a task's `secrets` need: CreateSecret,
//! GetSecretValue, PutSecretValue, DescribeSecret and DeleteSecret, with
//! AWS's staging labels (AWSCURRENT moves to a new version, the version it
//! leaves becomes AWSPREVIOUS) and deletion with a recovery window.
//!
//! A secret is named by its name, its full ARN
//! (`arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX`) or its
//! partial ARN (without the `-XXXXXX` suffix), as AWS accepts.
//!
//! `SecretsManager` implements the generated `SecretsManagerApi`; requests
//! reach the handlers decoded and checked against the model (required
//! members, lengths), so the checks here are the ones the model cannot say.

use super::secretsmanager_generated::{self as generated, SecretsManagerApi};
use super::wire;
use super::{RegionSecrets, SecretsStore};
use crate::model::secretsmanager::operations::{ErrorCode, Operation};
use crate::model::secretsmanager::shapes::*;
use crate::protocol::{ApiError, RequestContext};
use crate::tags::TagSet;
use std::collections::BTreeMap;
use std::sync::Arc;

const CURRENT: &str = "AWSCURRENT";
const PREVIOUS: &str = "AWSPREVIOUS";
const SECONDS_PER_DAY: f64 = 86_400.0;

// ---- the service -------------------------------------------------------------

/// Secrets Manager on ecsbox's port (target prefix `secretsmanager`).
pub struct SecretsManager {
    store: Arc<SecretsStore>,
}

crate::aws_service!(
    SecretsManager,
    crate::model::secretsmanager::operations,
    generated::dispatch
);

impl SecretsManager {
    pub fn new(store: Arc<SecretsStore>) -> Self {
        SecretsManager { store }
    }

    /// Runs `f` under the caller's region lock with the time of the call;
    /// secrets whose recovery window has passed are gone first, for every
    /// operation.
    fn with_region<T>(
        &self,
        ctx: &RequestContext,
        f: impl FnOnce(&mut RegionSecrets, f64) -> T,
    ) -> T {
        self.store.with_region(ctx, |r| {
            let now = crate::clock::now_secs();
            r.secrets.purge_expired(now);
            f(r, now)
        })
    }
}

impl SecretsManagerApi for SecretsManager {
    fn create_secret(
        &self,
        ctx: &RequestContext,
        input: CreateSecretRequest,
    ) -> Result<CreateSecretResponse, ApiError> {
        self.with_region(ctx, |r, now| create_secret(r, input, now))
    }

    fn get_secret_value(
        &self,
        ctx: &RequestContext,
        input: GetSecretValueRequest,
    ) -> Result<GetSecretValueResponse, ApiError> {
        let secret_id = input.secret_id.unwrap_or_default();
        self.with_region(ctx, |r, now| {
            read_value(
                r,
                &secret_id,
                input.version_id.as_deref(),
                input.version_stage.as_deref(),
                now,
            )
        })
    }

    fn put_secret_value(
        &self,
        ctx: &RequestContext,
        input: PutSecretValueRequest,
    ) -> Result<PutSecretValueResponse, ApiError> {
        self.with_region(ctx, |r, now| put_secret_value(r, input, now))
    }

    fn describe_secret(
        &self,
        ctx: &RequestContext,
        input: DescribeSecretRequest,
    ) -> Result<DescribeSecretResponse, ApiError> {
        self.with_region(ctx, |r, _| describe_secret(r, input))
    }

    fn delete_secret(
        &self,
        ctx: &RequestContext,
        input: DeleteSecretRequest,
    ) -> Result<DeleteSecretResponse, ApiError> {
        self.with_region(ctx, |r, now| delete_secret(r, input, now))
    }
}

// The shared TagSet reads and writes this service's `Tag` shape.
crate::tag_shape!(Tag);

// ---- errors, worded as Secrets Manager words them ------------------------

pub const NOT_FOUND_MESSAGE: &str = "Secrets Manager can't find the specified secret.";

fn error(code: ErrorCode, message: impl Into<String>) -> ApiError {
    wire::error(code.as_str(), code.status(), message)
}

pub fn not_found() -> ApiError {
    error(ErrorCode::ResourceNotFoundException, NOT_FOUND_MESSAGE)
}

fn marked_for_deletion() -> ApiError {
    error(
        ErrorCode::InvalidRequestException,
        "You can't perform this operation on the secret because it was marked for deletion.",
    )
}

fn invalid_parameter(message: impl Into<String>) -> ApiError {
    error(ErrorCode::InvalidParameterException, message)
}

/// Secrets Manager's answer to a request it refuses before the service sees
/// it (its model declares no such shape, AWS sends it all the same).
fn validation(message: impl Into<String>) -> ApiError {
    wire::error("ValidationException", 400, message)
}

/// The answer of every operation of the model ecsbox does not serve.
pub fn not_supported(op: Operation) -> ApiError {
    error(
        ErrorCode::InvalidRequestException,
        format!(
            "ecsbox does not support the Secrets Manager operation {} yet.",
            op.name()
        ),
    )
}

// ---- state -----------------------------------------------------------------

/// The secrets of one (account, region), by name.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Secrets {
    by_name: BTreeMap<String, Secret>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Secret {
    pub name: String,
    pub arn: String,
    pub description: Option<String>,
    pub kms_key_id: Option<String>,
    pub tags: TagSet,
    pub created: f64,
    pub last_changed: f64,
    /// Midnight (UTC) of the last day the value was read, as AWS reports it.
    pub last_accessed: Option<f64>,
    pub deletion: Option<Deletion>,
    /// Versions in the order they were made.
    pub versions: Vec<SecretVersion>,
}

/// A secret scheduled for deletion: readable by DescribeSecret only, until
/// `purge_at`, when it is gone.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Deletion {
    pub deleted_at: f64,
    pub purge_at: f64,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SecretVersion {
    pub id: String,
    pub value: SecretValue,
    pub stages: Vec<String>,
    pub created: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SecretValue {
    String(String),
    /// Base64, as it travels in JSON 1.1; ecsbox never needs the bytes.
    Binary(String),
}

impl Secrets {
    /// The secret a `SecretId` names: name, full ARN or partial ARN, the
    /// ARNs of this store's (account, region) `at` only.
    pub fn find(&self, at: (&str, &str), secret_id: &str) -> Option<&Secret> {
        let name = self.name_of(at, secret_id)?;
        self.by_name.get(&name)
    }

    fn find_mut(&mut self, at: (&str, &str), secret_id: &str) -> Option<&mut Secret> {
        let name = self.name_of(at, secret_id)?;
        self.by_name.get_mut(&name)
    }

    fn name_of(&self, (account, region): (&str, &str), secret_id: &str) -> Option<String> {
        if !secret_id.starts_with("arn:") {
            return Some(secret_id.to_string());
        }
        let arn = wire::parse_arn(secret_id)?;
        if arn.service != "secretsmanager" || arn.region != region || arn.account != account {
            return None;
        }
        let rest = arn.resource.strip_prefix("secret:")?;
        if let Some(secret) = self.by_name.values().find(|s| s.arn == secret_id) {
            return Some(secret.name.clone());
        }
        Some(rest.to_string())
    }

    /// Secrets whose recovery window has passed are deleted for good.
    fn purge_expired(&mut self, now: f64) {
        self.by_name
            .retain(|_, s| !s.deletion.is_some_and(|d| d.purge_at <= now));
    }
}

impl Secret {
    pub fn is_deleted(&self) -> bool {
        self.deletion.is_some()
    }

    /// The version GetSecretValue answers with: by id, by staging label, or
    /// the AWSCURRENT one.
    pub fn version(
        &self,
        version_id: Option<&str>,
        stage: Option<&str>,
    ) -> Result<&SecretVersion, ApiError> {
        if let Some(id) = version_id {
            let version = self.versions.iter().find(|v| v.id == id).ok_or_else(|| {
                error(
                    ErrorCode::ResourceNotFoundException,
                    format!(
                        "Secrets Manager can't find the specified secret value for VersionId: {id}"
                    ),
                )
            })?;
            if let Some(stage) = stage.filter(|s| !version.stages.iter().any(|x| x == s)) {
                return Err(error(
                    ErrorCode::InvalidRequestException,
                    format!("You provided a VersionStage ({stage}) that is not associated to the provided VersionId ({id})."),
                ));
            }
            return Ok(version);
        }
        let stage = stage.unwrap_or(CURRENT);
        self.versions.iter().find(|v| v.stages.iter().any(|s| s == stage)).ok_or_else(|| {
            error(
                ErrorCode::ResourceNotFoundException,
                format!("Secrets Manager can't find the specified secret value for staging label: {stage}"),
            )
        })
    }

    /// Adds a version carrying `stages`, taking those labels from the versions
    /// that had them; the version that loses AWSCURRENT gets AWSPREVIOUS.
    fn add_version(&mut self, id: String, value: SecretValue, stages: Vec<String>, now: f64) {
        if stages.iter().any(|s| s == CURRENT) {
            if let Some(old) = self
                .versions
                .iter()
                .position(|v| v.stages.iter().any(|s| s == CURRENT))
            {
                for v in &mut self.versions {
                    v.stages.retain(|s| s != PREVIOUS);
                }
                self.versions[old].stages.push(PREVIOUS.to_string());
            }
        }
        for v in &mut self.versions {
            v.stages.retain(|s| !stages.contains(s));
        }
        self.versions.push(SecretVersion {
            id,
            value,
            stages,
            created: now,
        });
        self.last_changed = now;
    }

    /// Versions that carry a staging label, as DescribeSecret lists them
    /// (the others are deprecated).
    fn version_ids_to_stages(&self) -> Option<BTreeMap<String, Vec<String>>> {
        let map: BTreeMap<_, _> = self
            .versions
            .iter()
            .filter(|v| !v.stages.is_empty())
            .map(|v| (v.id.clone(), v.stages.clone()))
            .collect();
        (!map.is_empty()).then_some(map)
    }
}

// ---- operations ------------------------------------------------------------

pub fn create_secret(
    region: &mut RegionSecrets,
    input: CreateSecretRequest,
    now: f64,
) -> Result<CreateSecretResponse, ApiError> {
    let name = input.name.unwrap_or_default();
    validate_name(&name)?;
    let value = secret_value(input.secret_string, input.secret_binary)?;
    let token = input.client_request_token;
    if let Some(existing) = region.secrets.by_name.get(&name) {
        if existing.is_deleted() {
            return Err(error(
                ErrorCode::InvalidRequestException,
                "You can't create this secret because a secret with this name is already scheduled for deletion.",
            ));
        }
        // A retry of the same call (the SDKs send the same token) changes nothing.
        if let Some(v) = token
            .as_ref()
            .and_then(|t| existing.versions.iter().find(|v| &v.id == t))
        {
            if Some(&v.value) == value.as_ref() {
                return Ok(CreateSecretResponse {
                    arn: Some(existing.arn.clone()),
                    name: Some(name),
                    version_id: Some(v.id.clone()),
                    ..Default::default()
                });
            }
        }
        return Err(error(
            ErrorCode::ResourceExistsException,
            format!("The operation failed because the secret {name} already exists."),
        ));
    }
    let arn = format!(
        "arn:aws:secretsmanager:{}:{}:secret:{name}-{}",
        region.region,
        region.account,
        arn_suffix()
    );
    let mut secret = Secret {
        name: name.clone(),
        arn: arn.clone(),
        description: input.description,
        kms_key_id: input.kms_key_id,
        tags: TagSet::from_shapes(input.tags.as_deref().unwrap_or_default()),
        created: now,
        last_changed: now,
        last_accessed: None,
        deletion: None,
        versions: Vec::new(),
    };
    let version_id = value.map(|value| {
        let id = token.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        secret.add_version(id.clone(), value, vec![CURRENT.to_string()], now);
        id
    });
    region.secrets.by_name.insert(name.clone(), secret);
    Ok(CreateSecretResponse {
        arn: Some(arn),
        name: Some(name),
        version_id,
        ..Default::default()
    })
}

/// GetSecretValue's answer for one secret, as a task's secrets read it too.
pub fn read_value(
    region: &mut RegionSecrets,
    secret_id: &str,
    version_id: Option<&str>,
    stage: Option<&str>,
    now: f64,
) -> Result<GetSecretValueResponse, ApiError> {
    region.secrets.purge_expired(now);
    let secret = region
        .secrets
        .find_mut((&region.account, &region.region), secret_id)
        .ok_or_else(not_found)?;
    if secret.is_deleted() {
        return Err(marked_for_deletion());
    }
    let version = secret.version(version_id, stage)?.clone();
    secret.last_accessed = Some((now / SECONDS_PER_DAY).floor() * SECONDS_PER_DAY);
    let (secret_string, secret_binary) = match version.value {
        SecretValue::String(s) => (Some(s), None),
        SecretValue::Binary(b) => (None, Some(b)),
    };
    Ok(GetSecretValueResponse {
        arn: Some(secret.arn.clone()),
        name: Some(secret.name.clone()),
        version_id: Some(version.id),
        secret_string,
        secret_binary,
        version_stages: Some(version.stages),
        created_date: Some(version.created),
    })
}

pub fn put_secret_value(
    region: &mut RegionSecrets,
    input: PutSecretValueRequest,
    now: f64,
) -> Result<PutSecretValueResponse, ApiError> {
    let secret_id = input.secret_id.unwrap_or_default();
    let value = secret_value(input.secret_string, input.secret_binary)?.ok_or_else(|| {
        invalid_parameter("You must provide either SecretString or SecretBinary.")
    })?;
    let token = input.client_request_token;
    let stages = input
        .version_stages
        .unwrap_or_else(|| vec![CURRENT.to_string()]);
    let secret = region
        .secrets
        .find_mut((&region.account, &region.region), &secret_id)
        .ok_or_else(not_found)?;
    if secret.is_deleted() {
        return Err(marked_for_deletion());
    }
    if let Some(existing) = token
        .as_ref()
        .and_then(|t| secret.versions.iter().find(|v| &v.id == t))
    {
        // The same token with the same value is a retry; with another value
        // it would rewrite history, which AWS refuses.
        if existing.value != value {
            return Err(error(
                ErrorCode::ResourceExistsException,
                "You can't modify an existing version, you can only create new versions.",
            ));
        }
        return Ok(PutSecretValueResponse {
            arn: Some(secret.arn.clone()),
            name: Some(secret.name.clone()),
            version_id: Some(existing.id.clone()),
            version_stages: Some(existing.stages.clone()),
        });
    }
    let id = token.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    secret.add_version(id.clone(), value, stages.clone(), now);
    Ok(PutSecretValueResponse {
        arn: Some(secret.arn.clone()),
        name: Some(secret.name.clone()),
        version_id: Some(id),
        version_stages: Some(stages),
    })
}

pub fn describe_secret(
    region: &mut RegionSecrets,
    input: DescribeSecretRequest,
) -> Result<DescribeSecretResponse, ApiError> {
    let secret_id = input.secret_id.unwrap_or_default();
    let secret = region
        .secrets
        .find((&region.account, &region.region), &secret_id)
        .ok_or_else(not_found)?;
    Ok(DescribeSecretResponse {
        arn: Some(secret.arn.clone()),
        name: Some(secret.name.clone()),
        description: secret.description.clone(),
        kms_key_id: secret.kms_key_id.clone(),
        last_changed_date: Some(secret.last_changed),
        last_accessed_date: secret.last_accessed,
        deleted_date: secret.deletion.map(|d| d.deleted_at),
        tags: (!secret.tags.is_empty()).then(|| secret.tags.to_shapes()),
        version_ids_to_stages: secret.version_ids_to_stages(),
        created_date: Some(secret.created),
        ..Default::default()
    })
}

pub fn delete_secret(
    region: &mut RegionSecrets,
    input: DeleteSecretRequest,
    now: f64,
) -> Result<DeleteSecretResponse, ApiError> {
    let secret_id = input.secret_id.unwrap_or_default();
    let force = input.force_delete_without_recovery.unwrap_or(false);
    if let Some(days) = input.recovery_window_in_days {
        if !(7..=30).contains(&days) {
            return Err(invalid_parameter(
                "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).",
            ));
        }
        if force {
            return Err(invalid_parameter("You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays."));
        }
    }
    let at = (region.account.as_str(), region.region.as_str());
    let Some(secret) = region.secrets.find_mut(at, &secret_id) else {
        // AWS answers a forced deletion of a secret that does not exist with
        // success, so that deleting is idempotent.
        if force && !secret_id.starts_with("arn:") {
            let arn = format!(
                "arn:aws:secretsmanager:{}:{}:secret:{secret_id}-{}",
                at.1,
                at.0,
                arn_suffix()
            );
            return Ok(DeleteSecretResponse {
                arn: Some(arn),
                name: Some(secret_id),
                deletion_date: Some(now),
            });
        }
        return Err(not_found());
    };
    let (arn, name) = (secret.arn.clone(), secret.name.clone());
    if force {
        region.secrets.by_name.remove(&name);
        return Ok(DeleteSecretResponse {
            arn: Some(arn),
            name: Some(name),
            deletion_date: Some(now),
        });
    }
    if secret.is_deleted() {
        return Err(marked_for_deletion());
    }
    let days = input.recovery_window_in_days.unwrap_or(30) as f64;
    let deletion = Deletion {
        deleted_at: now,
        purge_at: now + days * SECONDS_PER_DAY,
    };
    secret.deletion = Some(deletion);
    Ok(DeleteSecretResponse {
        arn: Some(arn),
        name: Some(name),
        deletion_date: Some(deletion.purge_at),
    })
}

// ---- validation and names --------------------------------------------------
// The model checks lengths (name 1-512, description, SecretString 1-65536,
// ClientRequestToken 32-64, VersionStages 1-20) before a handler runs; what
// follows is what it cannot say.

/// Names: letters, digits and `/_+=.@-`, as AWS allows (the model gives
/// no pattern).
fn validate_name(name: &str) -> Result<(), ApiError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c);
    if !name.chars().all(allowed) {
        return Err(validation(
            "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!",
        ));
    }
    Ok(())
}

/// The one value a request carries: a string or a binary, never both.
fn secret_value(
    string: Option<String>,
    binary: Option<String>,
) -> Result<Option<SecretValue>, ApiError> {
    match (string, binary) {
        (Some(_), Some(_)) => {
            Err(invalid_parameter("You can't specify both a binary secret value and a string secret value in the same secret."))
        }
        (Some(s), None) => Ok(Some(SecretValue::String(s))),
        (None, Some(b)) if !is_base64(&b) => Err(ApiError::serialization("SecretBinary is not valid base64.")),
        (None, Some(b)) => Ok(Some(SecretValue::Binary(b))),
        (None, None) => Ok(None),
    }
}

fn is_base64(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    s.len().is_multiple_of(4)
        && s.len() - body.len() <= 2
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// The six characters AWS appends to a secret's name in its ARN.
fn arn_suffix() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    uuid::Uuid::new_v4().as_bytes()[..6]
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region() -> RegionSecrets {
        RegionSecrets::new("123456789012", "eu-west-1")
    }

    fn create(r: &mut RegionSecrets, name: &str, value: &str) -> CreateSecretResponse {
        let input = CreateSecretRequest {
            name: Some(name.into()),
            secret_string: Some(value.into()),
            ..Default::default()
        };
        create_secret(r, input, 1000.0).unwrap()
    }

    fn get(r: &mut RegionSecrets, id: &str) -> Result<GetSecretValueResponse, ApiError> {
        read_value(r, id, None, None, 2000.0)
    }

    #[test]
    fn a_secret_is_found_by_name_full_arn_and_partial_arn() {
        let mut r = region();
        let created = create(&mut r, "db/password", "s3cret");
        let created_arn = created.arn.unwrap();
        assert!(created_arn
            .starts_with("arn:aws:secretsmanager:eu-west-1:123456789012:secret:db/password-"));
        assert_eq!(
            created_arn.len(),
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db/password-".len() + 6
        );
        let partial = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db/password";
        for id in ["db/password", created_arn.as_str(), partial] {
            assert_eq!(
                get(&mut r, id).unwrap().secret_string.as_deref(),
                Some("s3cret"),
                "{id}"
            );
        }
        // Another region's or account's ARN does not reach this store.
        let elsewhere = created_arn.replace("eu-west-1", "us-east-1");
        assert_eq!(
            get(&mut r, &elsewhere).unwrap_err().code,
            "ResourceNotFoundException"
        );
    }

    #[test]
    fn putting_a_value_moves_current_and_previous() {
        let mut r = region();
        let first = create(&mut r, "api-key", "one").version_id.unwrap();
        let put = |r: &mut RegionSecrets, v: &str| {
            let input = PutSecretValueRequest {
                secret_id: Some("api-key".into()),
                secret_string: Some(v.into()),
                ..Default::default()
            };
            put_secret_value(r, input, 1500.0)
                .unwrap()
                .version_id
                .unwrap()
        };
        let second = put(&mut r, "two");
        assert_eq!(
            get(&mut r, "api-key").unwrap().secret_string.as_deref(),
            Some("two")
        );
        let previous = read_value(&mut r, "api-key", None, Some(PREVIOUS), 2000.0).unwrap();
        assert_eq!(
            (
                previous.version_id.as_deref(),
                previous.secret_string.as_deref()
            ),
            (Some(first.as_str()), Some("one"))
        );
        let third = put(&mut r, "three");
        let stages = describe_secret(
            &mut r,
            DescribeSecretRequest {
                secret_id: Some("api-key".into()),
            },
        )
        .unwrap()
        .version_ids_to_stages
        .unwrap();
        assert_eq!(stages.get(&third), Some(&vec![CURRENT.to_string()]));
        assert_eq!(stages.get(&second), Some(&vec![PREVIOUS.to_string()]));
        // The first version has no label left: deprecated, not listed.
        assert!(!stages.contains_key(&first), "{stages:?}");
        // ...but still readable by its id.
        assert_eq!(
            read_value(&mut r, "api-key", Some(&first), None, 2000.0)
                .unwrap()
                .secret_string
                .as_deref(),
            Some("one")
        );
    }

    #[test]
    fn a_deleted_secret_is_refused_until_its_window_ends_then_gone() {
        let mut r = region();
        create(&mut r, "old", "x");
        let input = DeleteSecretRequest {
            secret_id: Some("old".into()),
            recovery_window_in_days: Some(7),
            ..Default::default()
        };
        let deleted = delete_secret(&mut r, input, 1000.0).unwrap();
        let deletion_date = deleted.deletion_date.unwrap();
        assert_eq!(deletion_date, 1000.0 + 7.0 * SECONDS_PER_DAY);
        assert_eq!(
            get(&mut r, "old").unwrap_err().code,
            "InvalidRequestException"
        );
        assert!(describe_secret(
            &mut r,
            DescribeSecretRequest {
                secret_id: Some("old".into())
            }
        )
        .unwrap()
        .deleted_date
        .is_some());
        let after_window = deletion_date + 1.0;
        assert_eq!(
            read_value(&mut r, "old", None, None, after_window)
                .unwrap_err()
                .code,
            "ResourceNotFoundException"
        );
    }

    #[test]
    fn the_same_token_with_another_value_is_refused_and_changes_nothing() {
        let mut r = region();
        create(&mut r, "t", "a");
        let token = "0123456789abcdef0123456789abcdef".to_string();
        let put = |r: &mut RegionSecrets, v: &str| {
            let input = PutSecretValueRequest {
                secret_id: Some("t".into()),
                secret_string: Some(v.into()),
                client_request_token: Some(token.clone()),
                ..Default::default()
            };
            put_secret_value(r, input, 1500.0)
        };
        assert_eq!(put(&mut r, "b").unwrap().version_id.as_ref(), Some(&token));
        assert_eq!(
            put(&mut r, "b").unwrap().version_id.as_ref(),
            Some(&token),
            "a retry is accepted"
        );
        assert_eq!(
            put(&mut r, "c").unwrap_err().code,
            "ResourceExistsException"
        );
        assert_eq!(
            get(&mut r, "t").unwrap().secret_string.as_deref(),
            Some("b")
        );
    }
}
