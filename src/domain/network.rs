//! How ECS looks up the network an awsvpc task names: it asks EC2 about the
//! subnets and security groups and wraps EC2's refusal of a malformed id in
//! its own `InvalidParameterException`, as AWS does. EC2 lives above ECS
//! (`services::ec2`), so ECS sees it through `NetworkDirectory`, which EC2
//! implements and the server hands to the ECS API.
//!
//! Lock order: the lookup happens before the ECS region lock is taken
//! (`api::Ecs` looks up, then locks), never under it, so ECS's lock and
//! EC2's are never held together by this path. A refusal is kept and
//! reported where ECS checks the network (after the cluster and the task
//! definition), so a caller is told of a missing cluster first, as on AWS.

use super::DomainError;
use crate::model::shapes::NetworkConfiguration;
use crate::state::network::{SubnetInfo, TaskNetwork, TaskSubnet};

/// EC2's refusal of an id, in EC2's words: `InvalidSubnetID.Malformed`
/// and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ec2Refusal {
    pub code: String,
    pub message: String,
}

/// What ECS asks EC2 of a task's network.
pub trait NetworkDirectory: Send + Sync {
    /// The subnet `id`: Ok(None) when the id is well formed but unknown,
    /// Err when EC2 refuses it as malformed.
    fn subnet(
        &self,
        account: &str,
        region: &str,
        id: &str,
    ) -> Result<Option<SubnetInfo>, Ec2Refusal>;

    /// Err when EC2 refuses the security group id as malformed; a
    /// well-formed id passes whether EC2 knows it or not.
    fn check_security_group(&self, account: &str, region: &str, id: &str)
        -> Result<(), Ec2Refusal>;

    /// The default security group of `vpc_id`, or of the default VPC.
    fn default_security_group(
        &self,
        account: &str,
        region: &str,
        vpc_id: Option<&str>,
    ) -> Option<String>;
}

/// The looked-up network of a request: None when it names no awsvpc
/// configuration, or the refusal to report once ECS checks the network.
pub type NetworkLookup = Result<Option<TaskNetwork>, DomainError>;

/// Looks up the subnets and security groups of `config` in EC2. Call it
/// before taking the ECS region lock.
pub fn look_up(
    directory: &dyn NetworkDirectory,
    account: &str,
    region: &str,
    config: Option<&NetworkConfiguration>,
) -> NetworkLookup {
    let Some(awsvpc) = config.and_then(|c| c.awsvpc_configuration.as_ref()) else {
        return Ok(None);
    };
    let subnet_ids = awsvpc.subnets.clone().unwrap_or_default();
    let mut subnets = Vec::with_capacity(subnet_ids.len());
    for id in &subnet_ids {
        let known = directory
            .subnet(account, region, id)
            .map_err(|refusal| wrapped("subnet", &subnet_ids, &refusal))?;
        subnets.push(TaskSubnet {
            id: id.clone(),
            known,
        });
    }
    let given_groups = awsvpc.security_groups.clone().unwrap_or_default();
    for id in &given_groups {
        directory
            .check_security_group(account, region, id)
            .map_err(|refusal| wrapped("security group", &given_groups, &refusal))?;
    }
    let security_groups = if given_groups.is_empty() {
        // None named: the default group of the subnet's VPC, as AWS does.
        let vpc = subnets
            .iter()
            .find_map(|s| s.known.as_ref())
            .map(|k| k.vpc_id.as_str());
        directory
            .default_security_group(account, region, vpc)
            .into_iter()
            .collect()
    } else {
        given_groups
    };
    Ok(Some(TaskNetwork {
        subnets,
        security_groups,
    }))
}

/// ECS's wrapping of an EC2 error, as it answers RunTask and CreateService:
/// `Error retrieving subnet information for [subnet-xyz]: The subnet ID
/// 'subnet-xyz' is malformed (Service: AmazonEC2; Status Code: 400; Error
/// Code: InvalidSubnetID.Malformed; Request ID: ...; Proxy: null)`. The
/// list is the request's ids, printed as Java prints a list.
fn wrapped(what: &str, ids: &[String], refusal: &Ec2Refusal) -> DomainError {
    DomainError::invalid_parameter(format!(
        "Error retrieving {what} information for [{}]: {} (Service: AmazonEC2; Status Code: 400; Error Code: {}; Request ID: {}; Proxy: null)",
        ids.join(", "),
        refusal.message,
        refusal.code,
        uuid::Uuid::new_v4()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::shapes::AwsVpcConfiguration;

    /// Knows one subnet; refuses ids without a dash as EC2 refuses
    /// malformed ones.
    struct OneSubnet;

    impl NetworkDirectory for OneSubnet {
        fn subnet(&self, _: &str, _: &str, id: &str) -> Result<Option<SubnetInfo>, Ec2Refusal> {
            if !id.contains('-') {
                return Err(Ec2Refusal {
                    code: "InvalidSubnetID.Malformed".into(),
                    message: format!("The subnet ID '{id}' is malformed"),
                });
            }
            Ok((id == "subnet-0123abcd").then(|| SubnetInfo {
                vpc_id: "vpc-1111aaaa".into(),
                availability_zone: "us-east-1b".into(),
            }))
        }
        fn check_security_group(&self, _: &str, _: &str, id: &str) -> Result<(), Ec2Refusal> {
            if id.starts_with("sg-") {
                Ok(())
            } else {
                Err(Ec2Refusal {
                    code: "InvalidGroupId.Malformed".into(),
                    message: format!("Invalid id: \"{id}\" (expecting \"sg-...\")"),
                })
            }
        }
        fn default_security_group(&self, _: &str, _: &str, vpc_id: Option<&str>) -> Option<String> {
            Some(format!("sg-default-of-{}", vpc_id.unwrap_or("default-vpc")))
        }
    }

    fn config(subnets: &[&str], groups: &[&str]) -> NetworkConfiguration {
        NetworkConfiguration {
            awsvpc_configuration: Some(AwsVpcConfiguration {
                subnets: Some(subnets.iter().map(|s| s.to_string()).collect()),
                security_groups: (!groups.is_empty())
                    .then(|| groups.iter().map(|s| s.to_string()).collect()),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn no_configuration_no_network() {
        assert_eq!(look_up(&OneSubnet, "1", "us-east-1", None), Ok(None));
    }

    #[test]
    fn known_and_unknown_subnets_are_kept_with_the_vpcs_default_group() {
        let net = look_up(
            &OneSubnet,
            "1",
            "us-east-1",
            Some(&config(&["subnet-ffffffff", "subnet-0123abcd"], &[])),
        )
        .unwrap()
        .unwrap();
        assert_eq!(net.subnets[0].known, None);
        assert_eq!(
            net.subnets[1].known.as_ref().unwrap().availability_zone,
            "us-east-1b"
        );
        assert_eq!(
            net.security_groups,
            vec!["sg-default-of-vpc-1111aaaa".to_string()]
        );
        let unknown_only = look_up(
            &OneSubnet,
            "1",
            "us-east-1",
            Some(&config(&["subnet-ffffffff"], &[])),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            unknown_only.security_groups,
            vec!["sg-default-of-default-vpc".to_string()]
        );
    }

    #[test]
    fn given_groups_are_kept() {
        let net = look_up(
            &OneSubnet,
            "1",
            "us-east-1",
            Some(&config(&["subnet-0123abcd"], &["sg-1", "sg-2"])),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            net.security_groups,
            vec!["sg-1".to_string(), "sg-2".to_string()]
        );
    }

    #[test]
    fn malformed_ids_are_wrapped_as_ecs_wraps_ec2s_errors() {
        let e = look_up(
            &OneSubnet,
            "1",
            "us-east-1",
            Some(&config(&["subnet-0123abcd", "bad"], &[])),
        )
        .unwrap_err();
        assert_eq!(
            e.code,
            crate::model::operations::ErrorCode::InvalidParameterException
        );
        assert!(
            e.message.starts_with("Error retrieving subnet information for [subnet-0123abcd, bad]: The subnet ID 'bad' is malformed (Service: AmazonEC2; Status Code: 400; Error Code: InvalidSubnetID.Malformed; Request ID: "),
            "{}",
            e.message
        );
        assert!(e.message.ends_with("; Proxy: null)"), "{}", e.message);
        let e = look_up(
            &OneSubnet,
            "1",
            "us-east-1",
            Some(&config(&["subnet-0123abcd"], &["web"])),
        )
        .unwrap_err();
        assert!(
            e.message.starts_with("Error retrieving security group information for [web]: Invalid id: \"web\" (expecting \"sg-...\") (Service: AmazonEC2; Status Code: 400; Error Code: InvalidGroupId.Malformed; Request ID: "),
            "{}",
            e.message
        );
    }
}
