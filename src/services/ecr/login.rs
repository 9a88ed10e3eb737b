//! GetAuthorizationToken and DescribeRegistry.
//!
//! The token is what `aws ecr get-login-password` prints and `docker login`
//! sends to the registry as the password of user `AWS`: base64 of
//! `AWS:<password>`, as ECR's, where the password is one of the registry's
//! signed tokens (`token.rs`) for the caller's account and region.

use super::token::TOKEN_LIFETIME_SECS;
use super::{check_registry, Call};
use crate::model::ecr::shapes::*;
use crate::protocol::ApiError;
use base64::Engine;

pub(super) fn authorization_token(
    c: Call<'_>,
    input: GetAuthorizationTokenRequest,
) -> Result<GetAuthorizationTokenResponse, ApiError> {
    let env = &c.env;
    // Every registry named must be the caller's own: the one registry its
    // token opens, so the answer is always that one entry.
    for id in input.registry_ids.unwrap_or_default() {
        check_registry(env, Some(&id))?;
    }
    let expires = env.now.floor() as i64 + TOKEN_LIFETIME_SECS;
    let password = env.tokens.issue(env.account, env.region, expires);
    let token = base64::engine::general_purpose::STANDARD.encode(format!("AWS:{password}"));
    let data = AuthorizationData {
        authorization_token: Some(token),
        expires_at: Some(expires as f64),
        proxy_endpoint: Some(format!("http://{}", env.registry_host)),
    };
    Ok(GetAuthorizationTokenResponse {
        authorization_data: Some(vec![data]),
    })
}

pub(super) fn describe_registry(
    c: Call<'_>,
    _input: DescribeRegistryRequest,
) -> Result<DescribeRegistryResponse, ApiError> {
    // ecsbox replicates nowhere: the configuration has no rules.
    Ok(DescribeRegistryResponse {
        registry_id: Some(c.env.account.to_string()),
        replication_configuration: Some(ReplicationConfiguration {
            rules: Some(Vec::new()),
        }),
    })
}
