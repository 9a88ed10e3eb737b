//! Task-role credentials: what `GET /v2/credentials/<id>` answers and the
//! keys in it.
//!
//! The keys are made by ecsbox, not by STS, and they are chosen so that the
//! container's signed calls to ecsbox land in the task's own account:
//! ecsbox takes a 12-digit access key id as the account id, so the access
//! key id is the task's account id. The secret and the session token are
//! random per task. With `--sigv4 strict` only the keys given with
//! `--credentials` are accepted, so the task gets the configured pair of its
//! account (the pair whose key is the account id, or for the default account
//! a pair whose key is not an account id); with none, its calls are refused
//! and ecsbox says so in its log.

use super::registry::TaskCredentials;
use crate::config::{Config, SigV4Mode};
use crate::runtime::timestamp::format_rfc3339_seconds;
use serde_json::{json, Value};
use std::time::{Duration, SystemTime};

/// How long fetched credentials claim to be good for. ECS's are refreshed
/// well before they expire; the SDKs fetch again shortly before `Expiration`.
pub const LIFETIME: Duration = Duration::from_secs(6 * 3600);

/// Which keys tasks get, from ecsbox's authentication settings.
#[derive(Debug, Clone)]
pub struct KeyPolicy {
    strict_pairs: Option<Vec<(String, String)>>,
    default_account: String,
}

impl KeyPolicy {
    pub fn from_config(config: &Config) -> Self {
        let strict_pairs = (config.sigv4 == SigV4Mode::Strict)
            .then(|| config.credential_pairs().unwrap_or_default());
        KeyPolicy {
            strict_pairs,
            default_account: config.default_account.clone(),
        }
    }

    /// The (access key id, secret) a task of `account` gets.
    fn keys_for(&self, account: &str) -> (String, String) {
        let Some(pairs) = &self.strict_pairs else {
            return (account.to_string(), random_secret());
        };
        let own = pairs.iter().find(|(key, _)| key == account);
        let default = pairs
            .iter()
            .find(|(key, _)| account == self.default_account && !is_account_id(key));
        match own.or(default) {
            Some(pair) => pair.clone(),
            None => {
                tracing::warn!(
                    "tasks of account {account} get credentials that --sigv4 strict will refuse: \
                     add --credentials {account}:SECRET to let them call ecsbox"
                );
                (account.to_string(), random_secret())
            }
        }
    }

    pub fn issue(
        &self,
        id: String,
        account: &str,
        task_arn: &str,
        role_arn: &str,
    ) -> TaskCredentials {
        let (access_key_id, secret_access_key) = self.keys_for(account);
        TaskCredentials {
            id,
            task_arn: task_arn.to_string(),
            role_arn: role_arn.to_string(),
            access_key_id,
            secret_access_key,
            session_token: random_token(),
        }
    }
}

fn is_account_id(key: &str) -> bool {
    key.len() == 12 && key.bytes().all(|b| b.is_ascii_digit())
}

/// 40 characters, as an AWS secret access key has.
fn random_secret() -> String {
    let hex = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    hex[..40].to_string()
}

fn random_token() -> String {
    (0..4)
        .map(|_| uuid::Uuid::new_v4().simple().to_string())
        .collect()
}

/// The agent's answer, field for field (`IAMRoleCredentials` in the ECS agent).
pub fn response(creds: &TaskCredentials, now: SystemTime) -> Value {
    json!({
        "RoleArn": creds.role_arn,
        "AccessKeyId": creds.access_key_id,
        "SecretAccessKey": creds.secret_access_key,
        "Token": creds.session_token,
        "Expiration": format_rfc3339_seconds(now + LIFETIME),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn policy(args: &[&str]) -> KeyPolicy {
        KeyPolicy::from_config(&Config::parse_from([&["ecsbox"], args].concat()))
    }

    #[test]
    fn lenient_keys_carry_the_account_and_a_random_secret() {
        let p = policy(&[]);
        let a = p.issue("id".into(), "123456789012", "arn:task", "arn:role");
        let b = p.issue("id".into(), "123456789012", "arn:task", "arn:role");
        assert_eq!(a.access_key_id, "123456789012");
        assert_eq!(a.secret_access_key.len(), 40);
        assert_ne!(a.secret_access_key, b.secret_access_key);
        assert_ne!(a.session_token, b.session_token);
    }

    #[test]
    fn strict_mode_hands_out_the_configured_pair_of_the_account() {
        let p = policy(&[
            "--sigv4",
            "strict",
            "--credentials",
            "AKIDEFAULT:s1,123456789012:s2",
        ]);
        let own = p.issue("id".into(), "123456789012", "t", "r");
        assert_eq!(
            (own.access_key_id.as_str(), own.secret_access_key.as_str()),
            ("123456789012", "s2")
        );
        let default = p.issue("id".into(), "000000000000", "t", "r");
        assert_eq!(
            (
                default.access_key_id.as_str(),
                default.secret_access_key.as_str()
            ),
            ("AKIDEFAULT", "s1")
        );
        let unknown = p.issue("id".into(), "999999999999", "t", "r");
        assert_eq!(unknown.access_key_id, "999999999999");
    }

    #[test]
    fn the_answer_has_the_agents_fields_and_expires_in_six_hours() {
        let creds = policy(&[]).issue(
            "id".into(),
            "123456789012",
            "t",
            "arn:aws:iam::123456789012:role/app",
        );
        let now = crate::runtime::timestamp::parse_docker_time("2024-05-01T12:00:00Z").unwrap();
        let body = response(&creds, now);
        assert_eq!(body["RoleArn"], "arn:aws:iam::123456789012:role/app");
        assert_eq!(body["AccessKeyId"], "123456789012");
        assert_eq!(body["Expiration"], "2024-05-01T18:00:00Z");
        assert!(body["Token"].as_str().unwrap().len() >= 100);
        assert_eq!(body.as_object().unwrap().len(), 5);
    }
}
