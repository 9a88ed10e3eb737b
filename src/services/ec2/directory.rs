//! What ECS asks EC2 of an awsvpc task's network (`domain::network`): a
//! subnet's VPC and zone, whether an id is well formed, the default
//! security group. The answers and refusals are EC2's own, the ones
//! DescribeSubnets and DescribeSecurityGroups give.

use super::{group_of, subnet_of, Ec2};
use crate::domain::network::{Ec2Refusal, NetworkDirectory};
use crate::protocol::ApiError;
use crate::state::network::SubnetInfo;

fn refusal(e: ApiError) -> Ec2Refusal {
    Ec2Refusal {
        code: e.code.to_string(),
        message: e.message,
    }
}

/// Whether EC2 refused an id for its form (not for being unknown).
fn is_malformed(e: &ApiError) -> bool {
    e.code.ends_with(".Malformed")
}

impl NetworkDirectory for Ec2 {
    fn subnet(
        &self,
        account: &str,
        region: &str,
        id: &str,
    ) -> Result<Option<SubnetInfo>, Ec2Refusal> {
        let region = self.regions.region(account, region);
        let r = region.lock();
        match subnet_of(&r, id) {
            Ok(s) => Ok(Some(SubnetInfo {
                vpc_id: s.vpc_id.clone().unwrap_or_default(),
                availability_zone: s.availability_zone.clone().unwrap_or_default(),
            })),
            Err(e) if is_malformed(&e) => Err(refusal(e)),
            Err(_) => Ok(None),
        }
    }

    fn check_security_group(
        &self,
        account: &str,
        region: &str,
        id: &str,
    ) -> Result<(), Ec2Refusal> {
        let region = self.regions.region(account, region);
        let r = region.lock();
        match group_of(&r, id) {
            Err(e) if is_malformed(&e) => Err(refusal(e)),
            _ => Ok(()),
        }
    }

    fn default_security_group(
        &self,
        account: &str,
        region: &str,
        vpc_id: Option<&str>,
    ) -> Option<String> {
        let region = self.regions.region(account, region);
        let r = region.lock();
        let vpc_id = match vpc_id {
            Some(id) => id.to_string(),
            None => r.default_vpc()?.vpc_id.clone()?,
        };
        r.groups
            .values()
            .find(|g| {
                g.vpc_id.as_deref() == Some(vpc_id.as_str())
                    && g.group_name.as_deref() == Some("default")
            })
            .and_then(|g| g.group_id.clone())
    }
}

/// What ELBv2 asks EC2 (`services::elbv2`): a VPC's CIDR block, for ip
/// targets, and which VPC a security group belongs to, for a load
/// balancer's groups. Taken under EC2's own region lock only; ELBv2 asks
/// before taking its own.
impl Ec2 {
    /// The IPv4 CIDR block of `vpc_id`, if EC2 knows the VPC.
    pub fn vpc_cidr(&self, account: &str, region: &str, vpc_id: &str) -> Option<String> {
        let region = self.regions.region(account, region);
        let r = region.lock();
        r.vpcs.get(vpc_id).and_then(|v| v.cidr_block.clone())
    }

    /// The id of the default VPC of the account's region.
    pub fn default_vpc_id(&self, account: &str, region: &str) -> Option<String> {
        let region = self.regions.region(account, region);
        let r = region.lock();
        r.default_vpc().and_then(|v| v.vpc_id.clone())
    }

    /// The VPC of the security group `id`: Ok(None) when the id is well
    /// formed but unknown, Err when EC2 refuses it as malformed.
    pub fn security_group_vpc(
        &self,
        account: &str,
        region: &str,
        id: &str,
    ) -> Result<Option<String>, Ec2Refusal> {
        let region = self.regions.region(account, region);
        let r = region.lock();
        match group_of(&r, id) {
            Ok(g) => Ok(g.vpc_id.clone()),
            Err(e) if is_malformed(&e) => Err(refusal(e)),
            Err(_) => Ok(None),
        }
    }
}
