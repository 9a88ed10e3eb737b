//! ARNs in ECS's long format, and their parsing. ECS resources are named by
//! `arn:aws:ecs:REGION:ACCOUNT:TYPE/...`; clusters and task definitions are
//! also accepted by short name wherever AWS accepts them.

pub fn cluster(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:ecs:{region}:{account}:cluster/{name}")
}

pub fn task_definition(region: &str, account: &str, family: &str, revision: i32) -> String {
    format!("arn:aws:ecs:{region}:{account}:task-definition/{family}:{revision}")
}

pub fn capacity_provider(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:ecs:{region}:{account}:capacity-provider/{name}")
}

pub fn container_instance(region: &str, account: &str, cluster: &str, id: &str) -> String {
    format!("arn:aws:ecs:{region}:{account}:container-instance/{cluster}/{id}")
}

/// A parsed ECS ARN: its region, account, resource type and the rest of the
/// resource path (`cluster/NAME` gives type `cluster`, id `NAME`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn<'a> {
    pub region: &'a str,
    pub account: &'a str,
    pub resource_type: &'a str,
    pub id: &'a str,
}

pub fn parse(arn: &str) -> Option<Arn<'_>> {
    let mut parts = arn.splitn(6, ':');
    let (prefix, partition, service) = (parts.next()?, parts.next()?, parts.next()?);
    let (region, account, resource) = (parts.next()?, parts.next()?, parts.next()?);
    if prefix != "arn" || !partition.starts_with("aws") || service != "ecs" {
        return None;
    }
    let (resource_type, id) = resource.split_once('/')?;
    if id.is_empty() {
        return None;
    }
    Some(Arn {
        region,
        account,
        resource_type,
        id,
    })
}

/// The name a cluster reference means: `NAME` or a cluster ARN; `None` for a
/// reference that is neither. No reference means the `default` cluster.
pub fn cluster_name(reference: Option<&str>) -> Option<&str> {
    match reference {
        None => Some("default"),
        Some(r) if r.starts_with("arn:") => parse(r)
            .filter(|a| a.resource_type == "cluster")
            .map(|a| a.id),
        Some(r) => Some(r),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_long_format_arns() {
        assert_eq!(
            cluster("eu-west-1", "123456789012", "web"),
            "arn:aws:ecs:eu-west-1:123456789012:cluster/web"
        );
        assert_eq!(
            task_definition("us-east-1", "000000000000", "app", 3),
            "arn:aws:ecs:us-east-1:000000000000:task-definition/app:3"
        );
    }

    #[test]
    fn parses_and_rejects() {
        let a = parse("arn:aws:ecs:us-east-1:000000000000:task/c1/abc").unwrap();
        assert_eq!(
            (a.region, a.account, a.resource_type, a.id),
            ("us-east-1", "000000000000", "task", "c1/abc")
        );
        assert!(parse("arn:aws:s3:::bucket").is_none());
        assert!(parse("not-an-arn").is_none());
        assert_eq!(cluster_name(None), Some("default"));
        assert_eq!(cluster_name(Some("arn:aws:ecs:r:1:cluster/x")), Some("x"));
        assert_eq!(cluster_name(Some("arn:aws:ecs:r:1:service/x/y")), None);
    }
}
