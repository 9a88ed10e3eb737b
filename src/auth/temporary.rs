//! Temporary credentials that ecsbox's STS hands out (AssumeRole). They
//! work like any other key: in strict mode their secret verifies the
//! signature until they expire, and their account is the assumed role's.

use dashmap::DashMap;
use std::time::SystemTime;

#[derive(Debug, Clone)]
pub struct TemporaryCredential {
    pub secret: String,
    pub session_token: String,
    /// The account of the role assumed.
    pub account: String,
    /// `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`, what
    /// GetCallerIdentity answers for these keys.
    pub arn: String,
    /// `AROA...:SESSION`.
    pub user_id: String,
    pub expires: SystemTime,
}

/// The temporary credentials issued, by access key id.
#[derive(Debug, Default)]
pub struct TemporaryCredentials {
    by_key: DashMap<String, TemporaryCredential>,
}

impl TemporaryCredentials {
    pub fn insert(&self, access_key: String, credential: TemporaryCredential) {
        self.by_key.insert(access_key, credential);
    }

    pub fn get(&self, access_key: &str) -> Option<TemporaryCredential> {
        self.by_key.get(access_key).map(|c| c.clone())
    }

    /// Forgets every issued credential (`/_ecsbox/reset`).
    pub fn clear(&self) {
        self.by_key.clear();
    }
}
