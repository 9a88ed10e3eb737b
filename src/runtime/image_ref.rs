//! Image references, "local first": an ECR-style URI
//! `ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME:TAG` names the local image
//! `NAME:TAG`, so a task definition written for AWS runs unchanged against
//! images built on the laptop (`docker build -t NAME:TAG .`).

/// The reference to look for on the local engine.
pub fn local_reference(reference: &str) -> String {
    match split_ecr(reference) {
        Some(repository) => with_default_tag(repository),
        None => reference.to_string(),
    }
}

/// The local names tried in order: the mapped `NAME:TAG` first, then the full
/// URI as given (an image pulled from, or tagged as, the ECR URI).
pub fn lookup_candidates(reference: &str) -> Vec<String> {
    let local = local_reference(reference);
    if local == reference {
        vec![local]
    } else {
        vec![local, reference.to_string()]
    }
}

/// True for a private ECR registry host, e.g.
/// `123456789012.dkr.ecr.eu-west-1.amazonaws.com` (also FIPS and China).
pub fn is_ecr_host(host: &str) -> bool {
    let labels: Vec<&str> = host.split('.').collect();
    let (suffix_ok, head) = match labels.as_slice() {
        [head @ .., "amazonaws", "com"] => (true, head),
        [head @ .., "amazonaws", "com", "cn"] => (true, head),
        _ => (false, &[][..]),
    };
    suffix_ok
        && matches!(head, [account, "dkr", "ecr" | "ecr-fips", region]
            if is_account_id(account) && !region.is_empty())
}

/// The repository part (`NAME[:TAG|@DIGEST]`) of an ECR URI.
fn split_ecr(reference: &str) -> Option<&str> {
    let (host, repository) = reference.split_once('/')?;
    (is_ecr_host(host) && !repository.is_empty()).then_some(repository)
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// `NAME` -> `NAME:latest`; a tag or digest is kept. The tag is what follows
/// the last `:` after the last `/` (so a registry port is not a tag).
pub fn with_default_tag(repository: &str) -> String {
    let last_component = repository.rsplit('/').next().unwrap_or(repository);
    if repository.contains('@') || last_component.contains(':') {
        repository.to_string()
    } else {
        format!("{repository}:latest")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecr_uri_maps_to_local_name_and_tag() {
        assert_eq!(
            local_reference("123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1.2"),
            "web:1.2"
        );
    }

    #[test]
    fn ecr_uri_without_tag_means_latest() {
        assert_eq!(
            local_reference("123456789012.dkr.ecr.us-east-1.amazonaws.com/team/web"),
            "team/web:latest"
        );
    }

    #[test]
    fn ecr_uri_keeps_nested_repository_and_digest() {
        let digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert_eq!(
            local_reference(&format!(
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com/a/b@{digest}"
            )),
            format!("a/b@{digest}")
        );
    }

    #[test]
    fn fips_and_china_endpoints_are_ecr() {
        assert_eq!(
            local_reference("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/web:2"),
            "web:2"
        );
        assert_eq!(
            local_reference("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/web:3"),
            "web:3"
        );
    }

    #[test]
    fn other_references_are_unchanged() {
        for r in [
            "busybox",
            "busybox:1.36",
            "ecsbox-test/busybox:latest",
            "docker.io/library/nginx:1",
            "localhost:5000/web:1",
            "public.ecr.aws/docker/library/busybox:latest",
            // Not a 12-digit account: not an ECR registry.
            "12345.dkr.ecr.us-east-1.amazonaws.com/web:1",
            "123456789012.dkr.ecr.us-east-1.example.com/web:1",
        ] {
            assert_eq!(local_reference(r), r, "{r}");
        }
    }

    #[test]
    fn ecr_lookup_tries_the_local_name_then_the_full_uri() {
        let uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1";
        assert_eq!(
            lookup_candidates(uri),
            vec!["web:1".to_string(), uri.to_string()]
        );
        assert_eq!(lookup_candidates("web:1"), vec!["web:1".to_string()]);
    }

    #[test]
    fn default_tag_is_added_only_when_missing() {
        assert_eq!(with_default_tag("web"), "web:latest");
        assert_eq!(with_default_tag("team/web:9"), "team/web:9");
        assert_eq!(
            with_default_tag("localhost:5000/web"),
            "localhost:5000/web:latest"
        );
        assert_eq!(with_default_tag("web@sha256:abc"), "web@sha256:abc");
    }
}
