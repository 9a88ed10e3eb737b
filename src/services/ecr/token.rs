//! GetAuthorizationToken's tokens: what `docker login` sends back to the
//! registry as the password of user `AWS`, as with ECR. A token names the
//! account and region whose repositories it opens and when it expires (12
//! hours after it was made, as ECR's), and carries a MAC under a secret of
//! this ecsbox process, so a token cannot be forged or altered.
//!
//! Form: `ecsbox1.<account>.<region>.<expires epoch seconds>.<hex MAC>`.

use sha2::{Digest, Sha256};

/// How long a token lasts (ECR: 12 hours).
pub const TOKEN_LIFETIME_SECS: i64 = 12 * 3600;

pub struct TokenIssuer {
    secret: [u8; 32],
}

/// Whom a valid token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenHolder {
    pub account: String,
    pub region: String,
}

impl TokenIssuer {
    pub fn new() -> TokenIssuer {
        let mut secret = [0u8; 32];
        secret[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        secret[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        TokenIssuer { secret }
    }

    /// The issuer whose secret is kept in `path` (made there, readable by
    /// its owner only, the first time): tokens stay valid across restarts.
    pub fn kept_in(path: &std::path::Path) -> std::io::Result<TokenIssuer> {
        if let Ok(bytes) = std::fs::read(path) {
            if let Ok(secret) = <[u8; 32]>::try_from(bytes.as_slice()) {
                return Ok(TokenIssuer { secret });
            }
        }
        let made = TokenIssuer::new();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path)?;
        std::io::Write::write_all(&mut file, &made.secret)?;
        file.sync_all()?;
        Ok(made)
    }

    /// A password for `account` in `region`, valid until `expires` (epoch
    /// seconds).
    pub fn issue(&self, account: &str, region: &str, expires: i64) -> String {
        let payload = format!("ecsbox1.{account}.{region}.{expires}");
        format!("{payload}.{}", self.mac(&payload))
    }

    /// Whom `password` speaks for, if it is one of ours and not expired at
    /// `now` (epoch seconds).
    pub fn verify(&self, password: &str, now: i64) -> Option<TokenHolder> {
        let (payload, mac) = password.rsplit_once('.')?;
        if !constant_time_eq(self.mac(payload).as_bytes(), mac.as_bytes()) {
            return None;
        }
        let mut parts = payload.split('.');
        let (Some("ecsbox1"), Some(account), Some(region), Some(expires), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        if expires.parse::<i64>().ok()? <= now {
            return None;
        }
        Some(TokenHolder {
            account: account.to_string(),
            region: region.to_string(),
        })
    }

    /// HMAC-SHA256 of the payload under the secret (RFC 2104, spelled out:
    /// 64-byte blocks, the 32-byte key zero-padded).
    fn mac(&self, payload: &str) -> String {
        let mut ipad = [0x36u8; 64];
        let mut opad = [0x5cu8; 64];
        for (i, b) in self.secret.iter().enumerate() {
            ipad[i] ^= b;
            opad[i] ^= b;
        }
        let inner = Sha256::new()
            .chain_update(ipad)
            .chain_update(payload.as_bytes())
            .finalize();
        hex::encode(
            Sha256::new()
                .chain_update(opad)
                .chain_update(inner)
                .finalize(),
        )
    }
}

impl Default for TokenIssuer {
    fn default() -> Self {
        Self::new()
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_secret_verifies_tokens_of_an_earlier_run() {
        let dir = std::env::temp_dir().join(format!("ecsbox-token-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("registry-token.key");
        let token = TokenIssuer::kept_in(&path)
            .unwrap()
            .issue("1", "r", 2_000_000_000);
        let again = TokenIssuer::kept_in(&path).unwrap();
        assert_eq!(again.verify(&token, 0).unwrap().account, "1");
        // Another process's secret does not.
        assert!(TokenIssuer::new().verify(&token, 0).is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_token_names_its_account_and_region_until_it_expires() {
        let issuer = TokenIssuer::new();
        let token = issuer.issue("123456789012", "eu-west-1", 1_000);
        let holder = issuer.verify(&token, 999).unwrap();
        assert_eq!(holder.account, "123456789012");
        assert_eq!(holder.region, "eu-west-1");
        assert_eq!(issuer.verify(&token, 1_000), None);
    }

    #[test]
    fn an_altered_or_foreign_token_is_refused() {
        let issuer = TokenIssuer::new();
        let token = issuer.issue("123456789012", "eu-west-1", 1_000);
        let altered = token.replace("123456789012", "210987654321");
        assert_eq!(issuer.verify(&altered, 0), None);
        assert_eq!(TokenIssuer::new().verify(&token, 0), None);
        assert_eq!(issuer.verify("garbage", 0), None);
    }
}
