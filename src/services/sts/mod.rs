//! AWS STS: who am I (GetCallerIdentity, as Terraform's
//! `aws_caller_identity` and CDK's environment lookups ask) and AssumeRole,
//! whose temporary keys then work against ecsbox like any other key (their
//! account is the role's; strict SigV4 verifies them until they expire).
//! ecsbox has no IAM: any well-formed role ARN can be assumed.

#[rustfmt::skip]
pub mod generated;

use crate::auth::{TemporaryCredential, TemporaryCredentials};
use crate::model::sts::shapes::*;
use crate::protocol::{ApiError, RequestContext};
use generated::StsApi;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

/// AssumeRole's session length when the caller names none (AWS: 3600 s).
const DEFAULT_DURATION: u64 = 3600;

pub struct Sts {
    temporary: Arc<TemporaryCredentials>,
}

crate::aws_service!(Sts, crate::model::sts::operations, generated::dispatch);

impl Sts {
    pub fn new(temporary: Arc<TemporaryCredentials>) -> Self {
        Sts { temporary }
    }
}

impl StsApi for Sts {
    fn get_caller_identity(
        &self,
        ctx: &RequestContext,
        _input: GetCallerIdentityRequest,
    ) -> Result<GetCallerIdentityResponse, ApiError> {
        // Keys from AssumeRole are that role's session; every other key is
        // the account's root user (AWS answers the account id as UserId).
        let assumed = ctx
            .access_key
            .as_deref()
            .and_then(|k| self.temporary.get(k));
        Ok(match assumed {
            Some(t) => GetCallerIdentityResponse {
                user_id: Some(t.user_id),
                account: Some(t.account),
                arn: Some(t.arn),
            },
            None => GetCallerIdentityResponse {
                user_id: Some(ctx.account.clone()),
                account: Some(ctx.account.clone()),
                arn: Some(format!("arn:aws:iam::{}:root", ctx.account)),
            },
        })
    }

    fn assume_role(
        &self,
        _ctx: &RequestContext,
        input: AssumeRoleRequest,
    ) -> Result<AssumeRoleResponse, ApiError> {
        let role_arn = input.role_arn.unwrap_or_default();
        let session = input.role_session_name.unwrap_or_default();
        let (account, role_name) = parse_role_arn(&role_arn).ok_or_else(|| {
            // ecsbox's words (listed in README "Messages ecsbox wrote"): AWS
            // answers a malformed role ARN with a ValidationError too.
            ApiError::protocol("ValidationError", 400, format!("{role_arn} is invalid: a role ARN looks like arn:aws:iam::123456789012:role/NAME"))
        })?;
        let duration = Duration::from_secs(
            input
                .duration_seconds
                .map(|d| d as u64)
                .unwrap_or(DEFAULT_DURATION),
        );
        let expires = crate::clock::now_system() + duration;
        let access_key = format!("ASIA{}", random_upper(16));
        let role_id = format!("AROA{}", random_upper(17));
        let credential = TemporaryCredential {
            secret: random_secret(40),
            session_token: format!("FwoGZXIvYXdzE{}", random_secret(120)),
            account: account.to_string(),
            arn: format!("arn:aws:sts::{account}:assumed-role/{role_name}/{session}"),
            user_id: format!("{role_id}:{session}"),
            expires,
        };
        self.temporary
            .insert(access_key.clone(), credential.clone());
        Ok(AssumeRoleResponse {
            credentials: Some(Credentials {
                access_key_id: Some(access_key),
                secret_access_key: Some(credential.secret),
                session_token: Some(credential.session_token),
                expiration: Some(
                    expires
                        .duration_since(UNIX_EPOCH)
                        .unwrap_or_default()
                        .as_secs_f64()
                        .floor(),
                ),
            }),
            assumed_role_user: Some(AssumedRoleUser {
                assumed_role_id: Some(credential.user_id),
                arn: Some(credential.arn),
            }),
            packed_policy_size: Some(0),
            source_identity: input.source_identity,
            ..Default::default()
        })
    }
}

/// The account and role name (path included) of `arn:aws:iam::ACCOUNT:role/NAME`.
fn parse_role_arn(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:")?;
    let (_partition, rest) = rest.split_once(':')?;
    let rest = rest.strip_prefix("iam::")?;
    let (account, resource) = rest.split_once(':')?;
    let role = resource.strip_prefix("role/")?;
    let name = role.rsplit('/').next()?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) && !name.is_empty())
        .then_some((account, name))
}

fn random_upper(n: usize) -> String {
    random_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", n)
}

fn random_secret(n: usize) -> String {
    random_from(
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        n,
    )
}

fn random_from(alphabet: &[u8], n: usize) -> String {
    let mut out = String::with_capacity(n);
    while out.len() < n {
        for b in uuid::Uuid::new_v4().as_bytes() {
            if out.len() < n {
                out.push(alphabet[*b as usize % alphabet.len()] as char);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns() {
        assert_eq!(
            parse_role_arn("arn:aws:iam::123456789012:role/app"),
            Some(("123456789012", "app"))
        );
        assert_eq!(
            parse_role_arn("arn:aws:iam::123456789012:role/path/to/app"),
            Some(("123456789012", "app"))
        );
        assert_eq!(parse_role_arn("arn:aws:iam::123:role/app"), None);
        assert_eq!(parse_role_arn("arn:aws:iam::123456789012:user/bob"), None);
    }
}
