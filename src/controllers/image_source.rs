//! Where a container's image comes from, in this order:
//!
//! 1. ecsbox's own ECR: an image naming one of its repositories, in the AWS
//!    form `ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME[:TAG|@DIGEST]` or as
//!    the repository's `repositoryUri` (`localhost:4510/NAME`), is pulled
//!    from ecsbox's registry with a login token of that account, every time
//!    (the tag may have moved since the last pull), and the container
//!    reports the manifest digest the repository has. A tag or digest the
//!    repository lacks stops the task with the `CannotPullContainerError`
//!    ECS gives for ECR.
//! 2. Otherwise, local first (`runtime::image_ref`): an ECR URI names the
//!    local `NAME:TAG`, and only an image not on the engine is pulled, with
//!    the container's `repositoryCredentials` when it has them.
//!
//! The controllers do not know ECR: `services::ecr` implements
//! `PrivateRegistry` and the server hands it to the task controller.

use crate::runtime::{ContainerRuntime, ImageInfo, RegistryCredentials};

/// What ecsbox's ECR says of an image reference.
#[derive(Debug, PartialEq, Eq)]
pub enum RegistryLookup {
    /// Not a repository of ecsbox's ECR: the local-first path applies.
    NotOurs,
    /// Pull `reference` with `credentials`; the image's manifest digest is
    /// `digest`.
    Found {
        reference: String,
        credentials: RegistryCredentials,
        digest: String,
    },
    /// A repository of ecsbox's ECR without that tag or digest: the task
    /// stops with this reason (after `CannotPullContainerError: `).
    Missing(String),
}

/// ecsbox's ECR, as the task controller sees it.
pub trait PrivateRegistry: Send + Sync {
    /// Looks `image` up for a task of `account` in `region` (an AWS-form URI
    /// names its own account and region). `execution_role` is the task
    /// definition's executionRoleArn, the identity ECS pulls ECR images with
    /// (without one, the container instance's role): the registry records
    /// the pull under it.
    fn locate(
        &self,
        account: &str,
        region: &str,
        image: &str,
        execution_role: Option<&str>,
    ) -> RegistryLookup;
}

/// Gets the image of one container onto the engine; the error is the task's
/// stoppedReason after `CannotPullContainerError: `.
pub async fn obtain(
    runtime: &dyn ContainerRuntime,
    registry: Option<&dyn PrivateRegistry>,
    account: &str,
    region: &str,
    image: &str,
    execution_role: Option<&str>,
    repository_credentials: Option<RegistryCredentials>,
) -> Result<ImageInfo, String> {
    let lookup = registry.map_or(RegistryLookup::NotOurs, |r| {
        r.locate(account, region, image, execution_role)
    });
    match lookup {
        RegistryLookup::Found {
            reference,
            credentials,
            digest,
        } => {
            let mut info = runtime
                .pull_image(&reference, &credentials)
                .await
                .map_err(|e| e.to_string())?;
            // The engine may know the image under another repository's
            // digest first; the task reports the one its repository has.
            info.repo_digest = Some(format!("{}@{digest}", repository_of(&reference)));
            Ok(info)
        }
        RegistryLookup::Missing(reason) => Err(reason),
        RegistryLookup::NotOurs => {
            if let Some(credentials) = repository_credentials {
                if runtime
                    .image(image)
                    .await
                    .map_err(|e| e.to_string())?
                    .is_none()
                {
                    return runtime
                        .pull_image(image, &credentials)
                        .await
                        .map_err(|e| e.to_string());
                }
            }
            runtime.ensure_image(image).await.map_err(|e| e.to_string())
        }
    }
}

/// A reference without its tag or digest: `localhost:4510/web:1` is
/// `localhost:4510/web` (a registry port is not a tag).
fn repository_of(reference: &str) -> &str {
    let name = reference.split('@').next().unwrap_or(reference);
    match name.rsplit_once(':') {
        Some((repository, tag)) if !tag.contains('/') => repository,
        _ => name,
    }
}

/// The registry host (`HOST[:PORT]`) of an image reference, for credentials
/// from `repositoryCredentials`: Docker Hub when the first component is not
/// a host.
pub fn registry_of(image: &str) -> String {
    match image.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => first.to_string(),
        _ => "docker.io".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_of_a_reference_is_its_host_or_docker_hub() {
        assert_eq!(registry_of("localhost:4510/web:1"), "localhost:4510");
        assert_eq!(registry_of("ghcr.io/org/app"), "ghcr.io");
        assert_eq!(registry_of("library/busybox"), "docker.io");
        assert_eq!(registry_of("busybox"), "docker.io");
    }

    #[test]
    fn a_repository_is_a_reference_without_tag_or_digest() {
        assert_eq!(repository_of("localhost:4510/web:1"), "localhost:4510/web");
        assert_eq!(repository_of("localhost:4510/web"), "localhost:4510/web");
        assert_eq!(repository_of("web@sha256:00"), "web");
    }
}
