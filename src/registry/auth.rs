//! Who is calling: ECR's registry takes HTTP Basic with user `AWS` and a
//! GetAuthorizationToken password, and so does this one. Every endpoint,
//! `/v2/` included, needs it: the Docker engine first calls without
//! credentials, reads the challenge, and calls again with them.

use super::errors::RegistryError;
use crate::services::ecr::token::{TokenHolder, TokenIssuer};
use base64::Engine as _;
use http::{header, HeaderMap, StatusCode};

/// The caller's token holder, or the answer that refuses the call.
pub fn authenticate(
    headers: &HeaderMap,
    tokens: &TokenIssuer,
    registry_host: &str,
    now: i64,
) -> Result<TokenHolder, RegistryError> {
    let challenge = || unauthorized(registry_host);
    let password = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(basic_password)
        .ok_or_else(challenge)?;
    if let Some(holder) = tokens.verify(&password, now) {
        return Ok(holder);
    }
    // A token of ours whose only fault is its age (the MAC checks out at
    // any earlier time): ECR's 403 for it, which `docker pull` prints as
    // "denied: Your authorization token has expired. Reauthenticate and
    // try again." (aws/aws-cli#6580, aws-samples/ecs-bg-external-controller#13).
    if tokens.verify(&password, i64::MIN).is_some() {
        return Err(RegistryError::new(
            StatusCode::FORBIDDEN,
            "DENIED",
            "Your authorization token has expired. Reauthenticate and try again.",
        ));
    }
    Err(challenge())
}

/// The password of `Basic base64(AWS:password)`; None for any other form or
/// user (ECR's user is always `AWS`).
fn basic_password(value: &str) -> Option<String> {
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    (user == "AWS").then(|| password.to_string())
}

/// 401 with the Basic challenge, as ECR answers a call without (valid)
/// credentials; ECR's realm is the registry's own URL.
fn unauthorized(registry_host: &str) -> RegistryError {
    RegistryError::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "Not Authorized").with_header(
        header::WWW_AUTHENTICATE,
        format!("Basic realm=\"http://{registry_host}/\",service=\"ecr.amazonaws.com\""),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user_password: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let encoded = base64::engine::general_purpose::STANDARD.encode(user_password);
        headers.insert(
            header::AUTHORIZATION,
            format!("Basic {encoded}").parse().unwrap(),
        );
        headers
    }

    #[test]
    fn only_user_aws_with_a_live_token_gets_in() {
        let tokens = TokenIssuer::new();
        let token = tokens.issue("123456789012", "us-east-1", 1_000);
        let holder = authenticate(&basic(&format!("AWS:{token}")), &tokens, "h", 10).unwrap();
        assert_eq!(holder.account, "123456789012");
        let refused =
            |headers: &HeaderMap, now| authenticate(headers, &tokens, "h", now).unwrap_err();
        assert_eq!(refused(&HeaderMap::new(), 10).status, 401);
        assert_eq!(refused(&basic(&format!("bob:{token}")), 10).status, 401);
        assert_eq!(refused(&basic("AWS:forged"), 10).status, 401);
        let expired = refused(&basic(&format!("AWS:{token}")), 2_000);
        assert_eq!((expired.status.as_u16(), expired.code), (403, "DENIED"));
    }
}
