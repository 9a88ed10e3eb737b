//! Tasks' pulls from ecsbox's ECR (`controllers::image_source` asks): which
//! image references name a repository here, and with which token the engine
//! pulls them from the registry.

use super::repository::Repository;
use super::token::TOKEN_LIFETIME_SECS;
use super::Ecr;
use crate::controllers::image_source::{PrivateRegistry, RegistryLookup};
use crate::runtime::RegistryCredentials;

/// An image reference taken apart: the registry's account and region, the
/// repository name and the tag or digest (`latest` when it names neither).
#[derive(Debug, PartialEq, Eq)]
struct EcrReference<'a> {
    account: &'a str,
    region: &'a str,
    name: &'a str,
    reference: &'a str,
}

/// `NAME[:TAG|@DIGEST]` into the name and the tag or digest.
fn split_reference(path: &str) -> (&str, &str) {
    if let Some((name, digest)) = path.split_once('@') {
        return (name, digest);
    }
    match path.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name, tag),
        _ => (path, "latest"),
    }
}

/// The account and region of an AWS ECR host
/// (`123456789012.dkr.ecr.eu-west-1.amazonaws.com`, FIPS and China too).
fn ecr_host(host: &str) -> Option<(&str, &str)> {
    if !crate::runtime::image_ref::is_ecr_host(host) {
        return None;
    }
    let mut labels = host.split('.');
    let account = labels.next()?;
    let region = labels.nth(2)?;
    Some((account, region))
}

impl Ecr {
    /// Which repository of which account and region `image` names: the AWS
    /// form names its own; the registry's form (`repositoryUri`) is the
    /// task's account and region.
    fn parse_image<'a>(
        &self,
        account: &'a str,
        region: &'a str,
        image: &'a str,
    ) -> Option<EcrReference<'a>> {
        let (host, path) = image.split_once('/')?;
        let (account, region) = if host == self.registry_host() {
            (account, region)
        } else {
            ecr_host(host)?
        };
        let (name, reference) = split_reference(path);
        Some(EcrReference {
            account,
            region,
            name,
            reference,
        })
    }
}

impl PrivateRegistry for Ecr {
    fn locate(
        &self,
        account: &str,
        region: &str,
        image: &str,
        execution_role: Option<&str>,
    ) -> RegistryLookup {
        let Some(parsed) = self.parse_image(account, region, image) else {
            return RegistryLookup::NotOurs;
        };
        // ECS pulls with the task execution role, or without one with the
        // container instance's role.
        let puller = execution_role.unwrap_or("the container instance role");
        let now = crate::clock::now_secs();
        let found = self.with_region(parsed.account, parsed.region, |r| {
            let repo: &mut Repository = r.repositories.get_mut(parsed.name)?;
            let digest = repo.resolve(parsed.reference).map(|i| i.digest.clone());
            if let Some(image) = digest.as_ref().and_then(|d| repo.images.get_mut(d)) {
                image.last_pulled_at = Some(now);
                image.last_pulled_by = Some(puller.to_string());
            }
            Some(digest)
        });
        match found {
            None => RegistryLookup::NotOurs,
            // What the ECS agent reports when Docker cannot find the tag in
            // ECR: "CannotPullContainerError: Error response from daemon:
            // manifest for ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME:TAG not
            // found: manifest unknown: Requested image not found" (as quoted
            // in public issue reports of ECS tasks).
            Some(None) => RegistryLookup::Missing(format!(
                "Error response from daemon: manifest for {image} not found: manifest unknown: Requested image not found"
            )),
            Some(Some(digest)) => {
                tracing::info!(
                    "ECR pull for a task: {}/{}@{digest} as {puller}",
                    parsed.account,
                    parsed.name
                );
                let expires = crate::clock::now_secs() as i64 + TOKEN_LIFETIME_SECS;
                RegistryLookup::Found {
                    reference: format!("{}/{}@{digest}", self.registry_host(), parsed.name),
                    credentials: RegistryCredentials {
                        username: "AWS".into(),
                        password: self.tokens().issue(parsed.account, parsed.region, expires),
                        server: self.registry_host().to_string(),
                    },
                    digest,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_into_name_and_tag_or_digest() {
        assert_eq!(split_reference("web:1"), ("web", "1"));
        assert_eq!(split_reference("team/web"), ("team/web", "latest"));
        assert_eq!(split_reference("web@sha256:00"), ("web", "sha256:00"));
    }

    #[test]
    fn an_aws_ecr_host_names_its_account_and_region() {
        assert_eq!(
            ecr_host("123456789012.dkr.ecr.eu-west-1.amazonaws.com"),
            Some(("123456789012", "eu-west-1"))
        );
        assert_eq!(ecr_host("localhost:4510"), None);
    }
}
