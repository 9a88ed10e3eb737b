//! Who is calling: SigV4 `Authorization` headers, the three modes of
//! `--sigv4`, and how a request maps to an (account, region).
//!
//! - off: nothing is required; a credential scope, if present, still picks
//!   the region and account.
//! - lenient: a well-formed SigV4 header for this service and a request date
//!   within 15 minutes; any key, the signature is not checked.
//! - strict: the key must be one of `--credentials` and the signature is
//!   verified over the canonical request, body hash included (`sigv4.rs`).

mod header;
pub mod sigv4;
pub mod temporary;

pub use header::{parse_authorization, AuthorizationHeader};
pub use temporary::{TemporaryCredential, TemporaryCredentials};

use crate::config::{Config, SigV4Mode};
use crate::protocol::ApiError;
use http::HeaderMap;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// How far a request's date may be from ours, as AWS allows.
const MAX_CLOCK_SKEW: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub access_key: Option<String>,
    pub account: String,
    pub region: String,
}

pub struct Authenticator {
    mode: SigV4Mode,
    secrets: HashMap<String, String>,
    default_account: String,
    default_region: String,
    /// The keys STS has issued (AssumeRole), shared with the STS service.
    temporary: Arc<TemporaryCredentials>,
}

/// The parts of a request the signature covers.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

fn missing_token() -> ApiError {
    ApiError::protocol(
        "MissingAuthenticationTokenException",
        403,
        "Missing Authentication Token",
    )
}

fn invalid_signature(message: impl Into<String>) -> ApiError {
    ApiError::protocol("InvalidSignatureException", 403, message)
}

impl Authenticator {
    pub fn new(config: &Config) -> Result<Self, String> {
        Ok(Authenticator {
            mode: config.sigv4,
            secrets: config.credential_pairs()?.into_iter().collect(),
            default_account: config.default_account.clone(),
            default_region: config.default_region.clone(),
            temporary: Arc::new(TemporaryCredentials::default()),
        })
    }

    /// The temporary credentials store STS issues into.
    pub fn temporary(&self) -> Arc<TemporaryCredentials> {
        self.temporary.clone()
    }

    pub fn mode(&self) -> SigV4Mode {
        self.mode
    }

    /// A 12-digit access key id is taken as the account id; a key STS issued
    /// belongs to its role's account; any other key to the default account.
    pub fn account_of(&self, access_key: &str) -> String {
        if let Some(temporary) = self.temporary.get(access_key) {
            return temporary.account;
        }
        if access_key.len() == 12 && access_key.bytes().all(|b| b.is_ascii_digit()) {
            access_key.to_string()
        } else {
            self.default_account.clone()
        }
    }

    /// Checks a request meant for `service` (the signing name) and says who sent it.
    pub fn authenticate(
        &self,
        service: &str,
        req: &SignedRequest<'_>,
        now: SystemTime,
    ) -> Result<Caller, ApiError> {
        let header = req
            .headers
            .get(http::header::AUTHORIZATION)
            .map(|v| v.to_str().unwrap_or(""));
        let Some(header) = header else {
            return match self.mode {
                SigV4Mode::Off => Ok(Caller {
                    access_key: None,
                    account: self.default_account.clone(),
                    region: self.default_region.clone(),
                }),
                _ => Err(missing_token()),
            };
        };
        let auth = match parse_authorization(header) {
            Ok(auth) => auth,
            // With auth off, an unreadable header is no reason to refuse.
            Err(_) if self.mode == SigV4Mode::Off => {
                return Ok(Caller {
                    access_key: None,
                    account: self.default_account.clone(),
                    region: self.default_region.clone(),
                })
            }
            Err(e) => return Err(e),
        };
        let caller = Caller {
            account: self.account_of(&auth.access_key),
            region: auth.region.clone(),
            access_key: Some(auth.access_key.clone()),
        };
        if self.mode == SigV4Mode::Off {
            return Ok(caller);
        }
        if auth.service != service {
            return Err(invalid_signature(format!(
                "Credential should be scoped to correct service: '{service}'."
            )));
        }
        let amz_date = request_date(req.headers)?;
        let signed_at = sigv4::parse_amz_date(&amz_date).ok_or_else(|| {
            ApiError::protocol(
                "IncompleteSignatureException",
                400,
                format!("Date must be in ISO-8601 'basic format'. Got '{amz_date}'."),
            )
        })?;
        if !amz_date.starts_with(&auth.date) {
            return Err(invalid_signature(format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{amz_date}'.",
                auth.date,
                &amz_date[..8.min(amz_date.len())]
            )));
        }
        check_clock_skew(&amz_date, signed_at, now)?;
        if self.mode == SigV4Mode::Strict {
            let temporary = self.temporary.get(&auth.access_key);
            if let Some(t) = &temporary {
                // Expiry is on ecsbox's clock, the one AssumeRole set it by.
                if t.expires < crate::clock::now_system() {
                    return Err(ApiError::protocol(
                        "ExpiredTokenException",
                        403,
                        "The security token included in the request is expired",
                    ));
                }
                // Temporary keys are only good with the session token they
                // were issued with, as AWS requires.
                let token = req
                    .headers
                    .get("x-amz-security-token")
                    .and_then(|v| v.to_str().ok());
                if token != Some(t.session_token.as_str()) {
                    return Err(ApiError::protocol(
                        "UnrecognizedClientException",
                        403,
                        "The security token included in the request is invalid.",
                    ));
                }
            }
            let secret = self
                .secrets
                .get(&auth.access_key)
                .or(temporary.as_ref().map(|t| &t.secret));
            let Some(secret) = secret else {
                return Err(ApiError::protocol(
                    "UnrecognizedClientException",
                    403,
                    "The security token included in the request is invalid.",
                ));
            };
            sigv4::verify(secret, &auth, &amz_date, signed_at, req)?;
        }
        Ok(caller)
    }
}

/// A signature is good for 15 minutes either side of our clock; AWS words
/// the two ways of missing differently.
fn check_clock_skew(
    amz_date: &str,
    signed_at: SystemTime,
    now: SystemTime,
) -> Result<(), ApiError> {
    let now_s = sigv4::format_amz_date(now);
    match now.duration_since(signed_at) {
        Ok(age) if age > MAX_CLOCK_SKEW => Err(invalid_signature(format!(
            "Signature expired: {amz_date} is now earlier than {} ({now_s} - 15 min.)",
            sigv4::format_amz_date(now - MAX_CLOCK_SKEW)
        ))),
        Err(ahead) if ahead.duration() > MAX_CLOCK_SKEW => Err(invalid_signature(format!(
            "Signature not yet current: {amz_date} is still later than {} ({now_s} + 15 min.)",
            sigv4::format_amz_date(now + MAX_CLOCK_SKEW)
        ))),
        _ => Ok(()),
    }
}

/// The request time the signature covers: `X-Amz-Date`, else `Date`.
fn request_date(headers: &HeaderMap) -> Result<String, ApiError> {
    headers
        .get("x-amz-date")
        .or_else(|| headers.get(http::header::DATE))
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .ok_or_else(|| {
            ApiError::protocol(
                "IncompleteSignatureException",
                400,
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
            )
        })
}
