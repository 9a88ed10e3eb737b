//! SSM Parameter Store, the part a task's `secrets` need: PutParameter,
//! GetParameter, GetParameters, GetParametersByPath and DeleteParameter.
//!
//! A parameter keeps its versions (at most 100, as AWS: the oldest goes);
//! reads take a name, an ARN (`arn:aws:ssm:REGION:ACCOUNT:parameter/NAME`,
//! one slash between `parameter` and the name whether or not the name starts
//! with one) and an optional `:VERSION` selector. SecureString values are
//! stored as given; without WithDecryption a read answers an opaque stand-in
//! for the ciphertext, never the value.
//!
//! `Ssm` implements the generated `SsmApi`; requests reach the handlers
//! decoded and checked against the model (required members, lengths, the
//! Type and Tier enums, MaxResults), so the checks here are the ones the
//! model cannot say.

use super::ssm_generated::{self as generated, SsmApi};
use super::wire;
use super::{RegionSecrets, SecretsStore};
use crate::model::ssm::operations::{ErrorCode, Operation};
use crate::model::ssm::shapes::{
    DeleteParameterRequest, DeleteParameterResult, GetParameterRequest, GetParameterResult,
    GetParametersByPathRequest, GetParametersByPathResult, GetParametersRequest,
    GetParametersResult, Parameter as ParameterView, PutParameterRequest, PutParameterResult, Tag,
};
use crate::protocol::{ApiError, RequestContext};
use crate::store::page_token;
use crate::tags::TagSet;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Versions AWS keeps per parameter.
const MAX_VERSIONS: usize = 100;
const MAX_LEVELS: usize = 15;
const DATA_TYPES: [&str; 3] = ["text", "aws:ec2:image", "aws:ssm:integration"];
const STANDARD_MAX_VALUE: usize = 4096;
const ADVANCED_MAX_VALUE: usize = 8192;
/// GetParametersByPath's page when the caller names none.
const DEFAULT_PAGE: usize = 10;

// ---- the service -------------------------------------------------------------

/// SSM Parameter Store on ecsbox's port (target prefix `AmazonSSM`).
pub struct Ssm {
    store: Arc<SecretsStore>,
}

crate::aws_service!(Ssm, crate::model::ssm::operations, generated::dispatch);

impl Ssm {
    pub fn new(store: Arc<SecretsStore>) -> Self {
        Ssm { store }
    }
}

impl SsmApi for Ssm {
    fn put_parameter(
        &self,
        ctx: &RequestContext,
        input: PutParameterRequest,
    ) -> Result<PutParameterResult, ApiError> {
        self.store
            .with_region(ctx, |r| put_parameter(r, input, crate::clock::now_secs()))
    }

    fn get_parameter(
        &self,
        ctx: &RequestContext,
        input: GetParameterRequest,
    ) -> Result<GetParameterResult, ApiError> {
        self.store.with_region(ctx, |r| get_parameter(r, input))
    }

    fn get_parameters(
        &self,
        ctx: &RequestContext,
        input: GetParametersRequest,
    ) -> Result<GetParametersResult, ApiError> {
        self.store.with_region(ctx, |r| get_parameters(r, input))
    }

    fn get_parameters_by_path(
        &self,
        ctx: &RequestContext,
        input: GetParametersByPathRequest,
    ) -> Result<GetParametersByPathResult, ApiError> {
        self.store
            .with_region(ctx, |r| get_parameters_by_path(r, input))
    }

    fn delete_parameter(
        &self,
        ctx: &RequestContext,
        input: DeleteParameterRequest,
    ) -> Result<DeleteParameterResult, ApiError> {
        self.store.with_region(ctx, |r| delete_parameter(r, input))
    }
}

// ---- errors ------------------------------------------------------------------

fn error(code: ErrorCode, message: impl Into<String>) -> ApiError {
    wire::error(code.as_str(), code.status(), message)
}

fn validation(message: impl Into<String>) -> ApiError {
    error(ErrorCode::ValidationException, message)
}

fn parameter_not_found(name: &str) -> ApiError {
    error(
        ErrorCode::ParameterNotFound,
        format!("Parameter {name} not found."),
    )
}

/// AWS's answer to a name it cannot store, whatever the reason.
fn invalid_name() -> ApiError {
    validation(
        "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). If formed as a path, it can consist of \
         sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_",
    )
}

fn invalid_path() -> ApiError {
    validation(
        "The parameter doesn't meet the parameter name requirements. The parameter name must begin with a forward slash \"/\". \
         It can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). It must use only letters, numbers, or the following \
         symbols: . (period), - (hyphen), _ (underscore). Special characters are not allowed. All sub-paths, if specified, must \
         use the forward slash symbol \"/\". Valid example: /get/parameters2-/by1./path0_.",
    )
}

/// The answer of every operation of the model ecsbox does not serve.
pub fn not_supported(op: Operation) -> ApiError {
    error(
        ErrorCode::UnsupportedOperationException,
        format!(
            "ecsbox does not support the SSM operation {} yet.",
            op.name()
        ),
    )
}

// ---- state -------------------------------------------------------------------

/// The parameters of one (account, region), by name.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Parameters {
    by_name: BTreeMap<String, Parameter>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Parameter {
    pub name: String,
    /// What PutParameter gave; no operation ecsbox serves reads them yet.
    pub tags: TagSet,
    /// Oldest first; never empty.
    pub versions: Vec<ParameterVersion>,
}

// The shared TagSet reads and writes this service's `Tag` shape.
crate::tag_shape!(Tag);

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ParameterVersion {
    pub version: i64,
    pub value: String,
    pub r#type: String,
    pub description: Option<String>,
    pub key_id: Option<String>,
    pub data_type: String,
    pub tier: String,
    pub allowed_pattern: Option<String>,
    pub last_modified: f64,
}

impl Parameter {
    fn latest(&self) -> &ParameterVersion {
        self.versions
            .last()
            .expect("a parameter has at least one version")
    }
}

/// Why a reference found nothing.
enum Missing {
    Parameter,
    /// The parameter exists, the asked version does not: AWS's message.
    Version(String),
}

impl Parameters {
    /// The parameter version a reference names: `NAME`, `NAME:VERSION`, or
    /// the ARN forms of both, within this (account, region).
    fn lookup(
        &self,
        at: (&str, &str),
        reference: &str,
    ) -> Result<(&Parameter, &ParameterVersion), Missing> {
        let (names, selector) = parse_reference(at, reference).ok_or(Missing::Parameter)?;
        let parameter = names
            .iter()
            .find_map(|n| self.by_name.get(n))
            .ok_or(Missing::Parameter)?;
        let Some(selector) = selector else {
            return Ok((parameter, parameter.latest()));
        };
        // Labels are not kept: a non-numeric selector names nothing.
        let wanted: i64 = selector.parse().map_err(|_| Missing::Parameter)?;
        match parameter.versions.iter().find(|v| v.version == wanted) {
            Some(v) => Ok((parameter, v)),
            None => Err(Missing::Version(format!(
                "Systems Manager could not find version {wanted} of {}. Verify the version and try again.",
                parameter.name
            ))),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

/// The candidate names and the selector of a reference. An ARN's
/// `parameter/prod/db` is the name `/prod/db`; `parameter/db` is `/db` or
/// `db` (AWS gives both the same ARN).
fn parse_reference(at: (&str, &str), reference: &str) -> Option<(Vec<String>, Option<String>)> {
    let path = if reference.starts_with("arn:") {
        let arn = wire::parse_arn(reference)?;
        if arn.service != "ssm" || (arn.account, arn.region) != at {
            return None;
        }
        let name = arn.resource.strip_prefix("parameter")?;
        name.starts_with('/').then_some(name)?
    } else {
        reference
    };
    let (name, selector) = match path.split_once(':') {
        Some((_, selector)) if selector.contains(':') => return None,
        Some((name, selector)) => (name, Some(selector.to_string())),
        None => (path, None),
    };
    let mut names = vec![name.to_string()];
    if reference.starts_with("arn:") && name.matches('/').count() == 1 {
        names.push(name[1..].to_string());
    }
    Some((names, selector))
}

// ---- operations ----------------------------------------------------------------

pub fn put_parameter(
    region: &mut RegionSecrets,
    input: PutParameterRequest,
    now: f64,
) -> Result<PutParameterResult, ApiError> {
    let name = input.name.unwrap_or_default();
    let value = input.value.unwrap_or_default();
    validate_name(&name)?;
    if value.is_empty() {
        return Err(validation("1 validation error detected: Value '' at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1."));
    }
    if input.policies.is_some() {
        return Err(validation(
            "ecsbox does not support parameter policies yet.",
        ));
    }
    let overwrite = input.overwrite.unwrap_or(false);
    if overwrite && input.tags.as_ref().is_some_and(|t| !t.is_empty()) {
        return Err(validation(
            "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. \
             To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.",
        ));
    }
    let previous = region
        .parameters
        .by_name
        .get(&name)
        .map(|p| p.latest().clone());
    if previous.is_some() && !overwrite {
        return Err(error(
            ErrorCode::ParameterAlreadyExists,
            "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.",
        ));
    }
    // The model's enum has already refused any other type.
    let r#type = match (input.r#type, &previous) {
        (Some(t), _) => t,
        (None, Some(p)) => p.r#type.clone(),
        (None, None) => {
            return Err(validation(
                "A parameter type is required when you create a parameter.",
            ))
        }
    };
    let data_type = input
        .data_type
        .or_else(|| previous.as_ref().map(|p| p.data_type.clone()))
        .unwrap_or_else(|| "text".into());
    if !DATA_TYPES.contains(&data_type.as_str()) {
        return Err(validation(format!("The following data type is not supported: {data_type} (Data type names are all lowercase.)")));
    }
    let tier = tier(
        input.tier.as_deref(),
        previous.as_ref().map(|p| p.tier.as_str()),
        &value,
    )?;
    let key_id = (r#type == "SecureString").then(|| {
        input
            .key_id
            .clone()
            .unwrap_or_else(|| "alias/aws/ssm".into())
    });
    let version = previous.as_ref().map_or(1, |p| p.version + 1);
    let entry = ParameterVersion {
        version,
        value,
        r#type,
        description: input
            .description
            .or_else(|| previous.as_ref().and_then(|p| p.description.clone())),
        key_id,
        data_type,
        tier: tier.clone(),
        allowed_pattern: input
            .allowed_pattern
            .or_else(|| previous.and_then(|p| p.allowed_pattern)),
        last_modified: now,
    };
    let parameter = region
        .parameters
        .by_name
        .entry(name.clone())
        .or_insert_with(|| Parameter {
            name,
            tags: TagSet::from_shapes(input.tags.as_deref().unwrap_or_default()),
            versions: Vec::new(),
        });
    parameter.versions.push(entry);
    if parameter.versions.len() > MAX_VERSIONS {
        parameter.versions.remove(0);
    }
    Ok(PutParameterResult {
        version: Some(version),
        tier: Some(tier),
    })
}

pub fn get_parameter(
    region: &mut RegionSecrets,
    input: GetParameterRequest,
) -> Result<GetParameterResult, ApiError> {
    let reference = input.name.unwrap_or_default();
    let decrypt = input.with_decryption.unwrap_or(false);
    match view(region, &reference, decrypt) {
        Ok(parameter) => Ok(GetParameterResult {
            parameter: Some(parameter),
        }),
        Err(Missing::Parameter) => Err(parameter_not_found(&reference)),
        Err(Missing::Version(message)) => Err(error(ErrorCode::ParameterVersionNotFound, message)),
    }
}

/// Both lists are always in the answer, empty or not, as AWS sends them.
pub fn get_parameters(
    region: &mut RegionSecrets,
    input: GetParametersRequest,
) -> Result<GetParametersResult, ApiError> {
    let names = input.names.unwrap_or_default();
    let decrypt = input.with_decryption.unwrap_or(false);
    let (mut parameters, mut invalid) = (Vec::new(), Vec::new());
    for (i, reference) in names.iter().enumerate() {
        if names[..i].contains(reference) {
            continue;
        }
        match view(region, reference, decrypt) {
            Ok(p) => parameters.push(p),
            Err(_) => invalid.push(reference.clone()),
        }
    }
    Ok(GetParametersResult {
        parameters: Some(parameters),
        invalid_parameters: Some(invalid),
    })
}

/// What a task's `secrets` entry naming a parameter reads: the decrypted
/// value, or None when the reference names nothing.
pub fn read_value(region: &RegionSecrets, reference: &str) -> Option<String> {
    view(region, reference, true).ok().and_then(|p| p.value)
}

pub fn get_parameters_by_path(
    region: &mut RegionSecrets,
    input: GetParametersByPathRequest,
) -> Result<GetParametersByPathResult, ApiError> {
    let path = input.path.unwrap_or_default();
    if !is_valid_path(&path) {
        return Err(invalid_path());
    }
    if input
        .parameter_filters
        .as_ref()
        .is_some_and(|f| !f.is_empty())
    {
        return Err(error(
            ErrorCode::InvalidFilterKey,
            "ecsbox does not support ParameterFilters in GetParametersByPath yet.",
        ));
    }
    // The model bounds MaxResults to 1..=10.
    let size = input.max_results.map_or(DEFAULT_PAGE, |n| n as usize);
    let after = match input.next_token.as_deref().filter(|t| !t.is_empty()) {
        None => None,
        Some(token) => Some(page_token::decode(token).ok_or_else(|| {
            error(
                ErrorCode::InvalidNextToken,
                "The specified token is not valid.",
            )
        })?),
    };
    let recursive = input.recursive.unwrap_or(false);
    let decrypt = input.with_decryption.unwrap_or(false);
    let prefix = format!("{}/", path.trim_end_matches('/'));
    let matching = region
        .parameters
        .by_name
        .keys()
        .filter(|name| after.as_ref().is_none_or(|a| *name > a))
        .filter(|name| under_path(name, &prefix, recursive))
        .cloned();
    let (page, next_token) = page_token::take_page(matching, size, String::clone);
    let at = (region.account.as_str(), region.region.as_str());
    let parameters = page
        .iter()
        .filter_map(|n| region.parameters.by_name.get(n))
        .map(|p| render(at, p, p.latest(), None, decrypt))
        .collect();
    Ok(GetParametersByPathResult {
        parameters: Some(parameters),
        next_token,
    })
}

pub fn delete_parameter(
    region: &mut RegionSecrets,
    input: DeleteParameterRequest,
) -> Result<DeleteParameterResult, ApiError> {
    let name = input.name.unwrap_or_default();
    match region.parameters.by_name.remove(&name) {
        Some(_) => Ok(DeleteParameterResult {}),
        None => Err(parameter_not_found(&name)),
    }
}

// ---- helpers -------------------------------------------------------------------

fn view(region: &RegionSecrets, reference: &str, decrypt: bool) -> Result<ParameterView, Missing> {
    let at = (region.account.as_str(), region.region.as_str());
    let (parameter, version) = region.parameters.lookup(at, reference)?;
    let selector = reference
        .rsplit_once(':')
        .filter(|(_, s)| s.parse::<i64>().is_ok())
        .map(|(_, s)| format!(":{s}"));
    Ok(render(at, parameter, version, selector, decrypt))
}

fn render(
    at: (&str, &str),
    parameter: &Parameter,
    version: &ParameterVersion,
    selector: Option<String>,
    decrypt: bool,
) -> ParameterView {
    let value = if version.r#type == "SecureString" && !decrypt {
        ciphertext(&version.value)
    } else {
        version.value.clone()
    };
    ParameterView {
        name: Some(parameter.name.clone()),
        r#type: Some(version.r#type.clone()),
        value: Some(value),
        version: Some(version.version),
        selector,
        last_modified_date: Some(version.last_modified),
        arn: Some(parameter_arn(at, &parameter.name)),
        data_type: Some(version.data_type.clone()),
        source_result: None,
    }
}

/// `arn:aws:ssm:REGION:ACCOUNT:parameter/NAME`: one slash whether or not the
/// name begins with one.
pub fn parameter_arn((account, region): (&str, &str), name: &str) -> String {
    let slash = if name.starts_with('/') { "" } else { "/" };
    format!("arn:aws:ssm:{region}:{account}:parameter{slash}{name}")
}

/// What stands in for a SecureString's ciphertext: opaque, stable, and not
/// the value.
fn ciphertext(value: &str) -> String {
    let digest = Sha256::digest(format!("ecsbox-kms:{value}").as_bytes());
    wire::base64(&digest)
}

/// Letters, digits and `.-_` in up to 15 `/`-separated levels; a
/// hierarchical name starts with `/`; no name begins with aws or ssm. (Its
/// length, 1 to 2048, is the model's to check.)
fn validate_name(name: &str) -> Result<(), ApiError> {
    if name.contains('/') && !name.starts_with('/') {
        return Err(validation("Parameter name must be a fully qualified name."));
    }
    let segments: Vec<&str> = name.strip_prefix('/').unwrap_or(name).split('/').collect();
    let allowed = |c: char| c.is_ascii_alphanumeric() || ".-_".contains(c);
    let first = segments[0].to_ascii_lowercase();
    if segments
        .iter()
        .any(|s| s.is_empty() || !s.chars().all(allowed))
        || first.starts_with("aws")
        || first.starts_with("ssm")
    {
        return Err(invalid_name());
    }
    if segments.len() > MAX_LEVELS {
        return Err(error(
            ErrorCode::HierarchyLevelLimitExceededException,
            format!("A hierarchy can have a maximum of {MAX_LEVELS} levels."),
        ));
    }
    Ok(())
}

fn is_valid_path(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let allowed = |c: char| c.is_ascii_alphanumeric() || ".-_".contains(c);
    rest.is_empty()
        || rest
            .split('/')
            .all(|s| !s.is_empty() && s.chars().all(allowed))
}

/// Whether `name` is below the path whose `prefix` (ending in `/`) is
/// given: directly, or at any depth when `recursive`. Names without a
/// leading slash sit at the root.
fn under_path(name: &str, prefix: &str, recursive: bool) -> bool {
    let full = if name.starts_with('/') {
        name.to_string()
    } else {
        format!("/{name}")
    };
    match full.strip_prefix(prefix) {
        Some(rest) => !rest.is_empty() && (recursive || !rest.contains('/')),
        None => false,
    }
}

/// The tier a version is stored in: Standard unless asked (or needed, for
/// Intelligent-Tiering) otherwise; an Advanced parameter stays Advanced.
fn tier(requested: Option<&str>, previous: Option<&str>, value: &str) -> Result<String, ApiError> {
    let len = value.chars().count();
    let tier = match (requested, previous) {
        (Some("Standard"), Some("Advanced")) => {
            return Err(validation("This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the advanced-parameter tier to the standard-parameter tier. If necessary, you can delete the advanced parameter and recreate it as a standard parameter."));
        }
        (Some(t @ ("Standard" | "Advanced")), _) => t,
        (Some("Intelligent-Tiering") | None, Some("Advanced")) => "Advanced",
        (Some("Intelligent-Tiering"), _) if len > STANDARD_MAX_VALUE => "Advanced",
        (Some("Intelligent-Tiering") | None, _) => "Standard",
        // Never reached from the wire: the model's enum refuses other tiers first.
        (Some(other), _) => {
            return Err(validation(format!("1 validation error detected: Value '{other}' at 'tier' failed to satisfy constraint: Member must satisfy enum value set: [Standard, Advanced, Intelligent-Tiering]")));
        }
    };
    if tier == "Standard" && len > STANDARD_MAX_VALUE {
        return Err(validation("Standard tier parameters support a maximum parameter value of 4096 characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier."));
    }
    if len > ADVANCED_MAX_VALUE {
        return Err(validation(
            "Advanced tier parameters support a maximum parameter value of 8192 characters.",
        ));
    }
    Ok(tier.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region() -> RegionSecrets {
        RegionSecrets::new("123456789012", "eu-west-1")
    }

    /// PutParameter as the wire runs it: the model's checks, then the handler.
    fn put(
        r: &mut RegionSecrets,
        name: &str,
        value: &str,
        t: &str,
    ) -> Result<PutParameterResult, ApiError> {
        use crate::model::validate::Validate;
        let input = PutParameterRequest {
            name: Some(name.into()),
            value: Some(value.into()),
            r#type: Some(t.into()),
            ..Default::default()
        };
        let errors = input.validate();
        if !errors.is_empty() {
            return Err(crate::protocol::validation_error(
                "ValidationException",
                &errors,
            ));
        }
        put_parameter(r, input, 1000.0)
    }

    #[test]
    fn arns_and_selectors_name_parameters() {
        let mut r = region();
        put(&mut r, "/prod/db/password", "p1", "SecureString").unwrap();
        put(&mut r, "plain", "v", "String").unwrap();
        let input = PutParameterRequest {
            name: Some("/prod/db/password".into()),
            value: Some("p2".into()),
            overwrite: Some(true),
            ..Default::default()
        };
        assert_eq!(
            put_parameter(&mut r, input, 1001.0).unwrap().version,
            Some(2)
        );
        assert_eq!(read_value(&r, "/prod/db/password").as_deref(), Some("p2"));
        assert_eq!(read_value(&r, "/prod/db/password:1").as_deref(), Some("p1"));
        assert_eq!(
            read_value(
                &r,
                "arn:aws:ssm:eu-west-1:123456789012:parameter/prod/db/password"
            )
            .as_deref(),
            Some("p2")
        );
        assert_eq!(
            read_value(
                &r,
                "arn:aws:ssm:eu-west-1:123456789012:parameter/prod/db/password:1"
            )
            .as_deref(),
            Some("p1")
        );
        assert_eq!(
            read_value(&r, "arn:aws:ssm:eu-west-1:123456789012:parameter/plain").as_deref(),
            Some("v")
        );
        assert_eq!(
            parameter_arn(("123456789012", "eu-west-1"), "plain"),
            "arn:aws:ssm:eu-west-1:123456789012:parameter/plain"
        );
        // Another region's ARN, an unknown version, a label: nothing.
        assert_eq!(
            read_value(&r, "arn:aws:ssm:us-east-1:123456789012:parameter/plain"),
            None
        );
        assert_eq!(read_value(&r, "/prod/db/password:9"), None);
        assert_eq!(read_value(&r, "/prod/db/password:latest"), None);
    }

    #[test]
    fn a_secure_string_is_not_shown_without_decryption() {
        let mut r = region();
        put(&mut r, "/k", "hunter2", "SecureString").unwrap();
        let get = |r: &mut RegionSecrets, decrypt| {
            get_parameter(
                r,
                GetParameterRequest {
                    name: Some("/k".into()),
                    with_decryption: Some(decrypt),
                },
            )
            .unwrap()
            .parameter
            .unwrap()
            .value
            .unwrap()
        };
        assert_eq!(get(&mut r, true), "hunter2");
        let hidden = get(&mut r, false);
        assert_ne!(hidden, "hunter2");
        assert!(!hidden.contains("hunter2"));
    }

    #[test]
    fn names_are_checked_as_aws_does() {
        let mut r = region();
        for bad in ["aws-thing", "/ssm/x", "a b", "/a//b", "no/leading/slash"] {
            assert_eq!(
                put(&mut r, bad, "v", "String").unwrap_err().code,
                "ValidationException",
                "{bad}"
            );
        }
        let deep = "/a".repeat(16);
        assert_eq!(
            put(&mut r, &deep, "v", "String").unwrap_err().code,
            "HierarchyLevelLimitExceededException"
        );
        assert_eq!(
            put(&mut r, "x", "v", "Number").unwrap_err().code,
            "ValidationException"
        );
        assert!(r.parameters.is_empty(), "bad input stores nothing");
    }

    #[test]
    fn paths_list_one_level_or_all_below() {
        let mut r = region();
        for name in ["/app/a", "/app/b", "/app/sub/c", "/other/d", "top"] {
            put(&mut r, name, "v", "String").unwrap();
        }
        let list = |r: &mut RegionSecrets, path: &str, recursive| {
            let input = GetParametersByPathRequest {
                path: Some(path.into()),
                recursive: Some(recursive),
                ..Default::default()
            };
            get_parameters_by_path(r, input)
                .unwrap()
                .parameters
                .unwrap()
                .into_iter()
                .map(|p| p.name.unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(list(&mut r, "/app", false), ["/app/a", "/app/b"]);
        assert_eq!(
            list(&mut r, "/app/", true),
            ["/app/a", "/app/b", "/app/sub/c"]
        );
        assert_eq!(list(&mut r, "/", false), ["top"]);
    }

    #[test]
    fn the_oldest_of_too_many_versions_goes() {
        let mut r = region();
        put(&mut r, "/v", "0", "String").unwrap();
        for i in 1..=MAX_VERSIONS {
            let input = PutParameterRequest {
                name: Some("/v".into()),
                value: Some(i.to_string()),
                overwrite: Some(true),
                ..Default::default()
            };
            put_parameter(&mut r, input, 1000.0).unwrap();
        }
        assert_eq!(read_value(&r, "/v:1"), None);
        assert_eq!(read_value(&r, "/v:2").as_deref(), Some("1"));
        assert_eq!(read_value(&r, "/v").as_deref(), Some("100"));
    }
}
