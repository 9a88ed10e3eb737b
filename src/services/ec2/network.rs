//! IPv4 CIDR blocks (for VPC and subnet ranges) and the ENIs of awsvpc
//! tasks, read from the ECS state.

use crate::model::ec2::shapes::{
    GroupIdentifier, NetworkInterface, NetworkInterfaceAttachment, NetworkInterfacePrivateIpAddress,
};
use crate::state::Store;
use std::fmt;
use std::net::Ipv4Addr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub base: u32,
    pub prefix: u32,
}

impl Cidr {
    /// `a.b.c.d/n`, with the host bits of the address cleared.
    pub fn parse(text: &str) -> Option<Cidr> {
        let (addr, prefix) = text.split_once('/')?;
        let addr: Ipv4Addr = addr.parse().ok()?;
        let prefix: u32 = prefix.parse().ok().filter(|p| *p <= 32)?;
        Some(Cidr {
            base: u32::from(addr) & Self::mask(prefix),
            prefix,
        })
    }

    fn mask(prefix: u32) -> u32 {
        if prefix == 0 {
            0
        } else {
            u32::MAX << (32 - prefix)
        }
    }

    pub fn size(&self) -> u64 {
        1u64 << (32 - self.prefix)
    }

    pub fn contains(&self, other: &Cidr) -> bool {
        other.prefix >= self.prefix && other.base & Self::mask(self.prefix) == self.base
    }

    pub fn overlaps(&self, other: &Cidr) -> bool {
        self.contains(other) || other.contains(self)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.base), self.prefix)
    }
}

/// The ENI of one awsvpc task that has not stopped.
pub struct TaskEni {
    pub id: String,
    pub attachment_id: String,
    pub subnet_id: String,
    pub ip: String,
    pub mac: String,
    pub security_groups: Vec<String>,
    /// The task's zone: an ENI in a subnet EC2 does not know is shown there.
    pub availability_zone: Option<String>,
    pub status: String,
}

/// The ENIs of the account's awsvpc tasks in `region` that are not STOPPED.
pub fn task_enis(store: &Store, account: &str, region: &str) -> Vec<TaskEni> {
    let region_state = store.region(account, region);
    let state = region_state.lock();
    let mut out = Vec::new();
    for record in state.tasks.values() {
        if record.task.last_status.as_deref() == Some("STOPPED") {
            continue;
        }
        for a in record.task.attachments.iter().flatten() {
            if a.r#type.as_deref() != Some("ElasticNetworkInterface") {
                continue;
            }
            let detail = |k: &str| {
                a.details
                    .iter()
                    .flatten()
                    .find(|d| d.name.as_deref() == Some(k))
                    .and_then(|d| d.value.clone())
                    .unwrap_or_default()
            };
            out.push(TaskEni {
                id: detail("networkInterfaceId"),
                attachment_id: a.id.clone().unwrap_or_default(),
                subnet_id: detail("subnetId"),
                ip: detail("privateIPv4Address"),
                mac: detail("macAddress"),
                security_groups: record.security_groups.clone(),
                availability_zone: record.task.availability_zone.clone(),
                status: if a.status.as_deref() == Some("ATTACHED") {
                    "in-use".into()
                } else {
                    "available".into()
                },
            });
        }
    }
    out
}

impl TaskEni {
    pub fn into_interface(
        self,
        account: &str,
        vpc_id: Option<String>,
        az: Option<String>,
        groups: Vec<GroupIdentifier>,
    ) -> NetworkInterface {
        let ip = (!self.ip.is_empty()).then_some(self.ip);
        NetworkInterface {
            network_interface_id: Some(self.id),
            subnet_id: Some(self.subnet_id),
            vpc_id,
            availability_zone: az,
            // What ECS writes on the ENIs it creates for tasks.
            description: Some(format!("arn:aws:ecs:attachment/{}", self.attachment_id)),
            interface_type: Some("interface".into()),
            owner_id: Some(account.into()),
            requester_id: Some("ecs".into()),
            requester_managed: Some(true),
            source_dest_check: Some(true),
            status: Some(self.status),
            mac_address: (!self.mac.is_empty()).then_some(self.mac),
            private_ip_address: ip.clone(),
            private_ip_addresses: Some(vec![NetworkInterfacePrivateIpAddress {
                primary: Some(true),
                private_ip_address: ip,
                ..Default::default()
            }]),
            groups: Some(groups),
            attachment: Some(NetworkInterfaceAttachment {
                attachment_id: Some(format!(
                    "ela-attach-{}",
                    self.attachment_id
                        .chars()
                        .filter(|c| c.is_ascii_hexdigit())
                        .take(17)
                        .collect::<String>()
                )),
                device_index: Some(1),
                status: Some("attached".into()),
                delete_on_termination: Some(false),
                ..Default::default()
            }),
            tag_set: Some(Vec::new()),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Cidr;

    #[test]
    fn cidrs() {
        let vpc = Cidr::parse("172.31.0.0/16").unwrap();
        let a = Cidr::parse("172.31.16.0/20").unwrap();
        assert!(vpc.contains(&a));
        assert!(!a.contains(&vpc));
        assert!(a.overlaps(&Cidr::parse("172.31.16.0/24").unwrap()));
        assert!(!a.overlaps(&Cidr::parse("172.31.32.0/20").unwrap()));
        assert_eq!(
            Cidr::parse("10.0.0.7/24").unwrap().to_string(),
            "10.0.0.0/24"
        );
        assert_eq!(Cidr::parse("10.0.0.0/33"), None);
    }
}
