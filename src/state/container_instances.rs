//! Container instances as the state keeps them: what was registered (by an
//! agent through RegisterContainerInstance, or by ecsbox for a cluster's
//! virtual instances), plus the facts virtual instances are made of: the
//! instance types they can be and the attributes the ECS agent registers.
//!
//! Remaining resources and task counts are not stored. They are computed
//! from the live tasks placed on an instance whenever they are asked for
//! (`api::container_instances`), so a task frees its share the moment it
//! reaches STOPPED and nothing has to be kept in step.

use crate::model::shapes::{Attribute, VersionInfo};
use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum InstanceStatus {
    Active,
    Draining,
    /// Deregistered: still describable, as in AWS, but no longer in the cluster.
    Inactive,
}

impl InstanceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceStatus::Active => "ACTIVE",
            InstanceStatus::Draining => "DRAINING",
            InstanceStatus::Inactive => "INACTIVE",
        }
    }

    /// ACTIVE or DRAINING: registered in its cluster.
    pub fn is_registered(self) -> bool {
        self != InstanceStatus::Inactive
    }
}

/// The resources an instance registered that placement accounts for.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Capacity {
    /// CPU units (1024 per vCPU) and MiB.
    pub cpu: i64,
    pub memory: i64,
    /// Host ports the instance reserves for itself (the agent's and SSH).
    pub reserved_tcp_ports: BTreeSet<u16>,
    pub reserved_udp_ports: BTreeSet<u16>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ContainerInstanceRecord {
    pub arn: String,
    pub id: String,
    pub cluster: String,
    pub ec2_instance_id: String,
    pub status: InstanceStatus,
    pub capacity: Capacity,
    /// Registered resources placement does not account for (GPU, ...), kept
    /// to be shown as registered.
    pub other_resources: Vec<crate::model::shapes::Resource>,
    /// The instance's own attributes (the agent's standard ones and those it
    /// registered); custom ones from PutAttributes live in `RegionState::attributes`.
    pub attributes: Vec<Attribute>,
    pub version_info: VersionInfo,
    pub registered_at: f64,
    /// Counts changes, as ECS's `version` does.
    pub version: i64,
    pub availability_zone: String,
    /// Created by ecsbox for its cluster (see `--container-instances`),
    /// backed by the local engine, rather than registered by an agent.
    pub is_virtual: bool,
}

/// The ports the ECS agent registers as taken on every instance: SSH, the
/// Docker daemon and the agent's introspection and credentials endpoints.
pub const AGENT_RESERVED_PORTS: [u16; 5] = [22, 2375, 2376, 51678, 51679];

/// The agent version virtual instances report.
pub const AGENT_VERSION: &str = "1.89.2";

/// An EC2 instance type a virtual instance can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceType {
    pub name: &'static str,
    pub vcpus: i64,
    pub memory_gib: i64,
}

pub const DEFAULT_INSTANCE_TYPE: &str = "m5.large";

/// Common types with their real vCPUs and memory.
pub const INSTANCE_TYPES: &[InstanceType] = &[
    InstanceType {
        name: "t2.micro",
        vcpus: 1,
        memory_gib: 1,
    },
    InstanceType {
        name: "t2.small",
        vcpus: 1,
        memory_gib: 2,
    },
    InstanceType {
        name: "t2.medium",
        vcpus: 2,
        memory_gib: 4,
    },
    InstanceType {
        name: "t3.micro",
        vcpus: 2,
        memory_gib: 1,
    },
    InstanceType {
        name: "t3.small",
        vcpus: 2,
        memory_gib: 2,
    },
    InstanceType {
        name: "t3.medium",
        vcpus: 2,
        memory_gib: 4,
    },
    InstanceType {
        name: "t3.large",
        vcpus: 2,
        memory_gib: 8,
    },
    InstanceType {
        name: "m5.large",
        vcpus: 2,
        memory_gib: 8,
    },
    InstanceType {
        name: "m5.xlarge",
        vcpus: 4,
        memory_gib: 16,
    },
    InstanceType {
        name: "m5.2xlarge",
        vcpus: 8,
        memory_gib: 32,
    },
    InstanceType {
        name: "c5.large",
        vcpus: 2,
        memory_gib: 4,
    },
    InstanceType {
        name: "c5.xlarge",
        vcpus: 4,
        memory_gib: 8,
    },
    InstanceType {
        name: "r5.large",
        vcpus: 2,
        memory_gib: 16,
    },
    InstanceType {
        name: "r5.xlarge",
        vcpus: 4,
        memory_gib: 32,
    },
];

impl InstanceType {
    pub fn named(name: &str) -> Option<InstanceType> {
        INSTANCE_TYPES.iter().copied().find(|t| t.name == name)
    }

    /// The CPU and memory the agent registers: every vCPU as 1024 units;
    /// the installed memory less what the operating system keeps (1/16, as
    /// an m5.large's 8 GiB registers 7680 MiB).
    pub fn capacity(&self) -> Capacity {
        Capacity {
            cpu: self.vcpus * 1024,
            memory: self.memory_gib * 1024 * 15 / 16,
            reserved_tcp_ports: AGENT_RESERVED_PORTS.into_iter().collect(),
            reserved_udp_ports: BTreeSet::new(),
        }
    }
}

/// The i-th availability zone of a region's spread: REGIONa, b, c, a, ...
pub fn availability_zone(region: &str, index: usize) -> String {
    format!("{region}{}", ['a', 'b', 'c'][index % 3])
}

/// An EC2 instance id: `i-` and 17 hex digits.
pub fn new_ec2_instance_id() -> String {
    format!("i-{}", &uuid::Uuid::new_v4().simple().to_string()[..17])
}

/// The attributes the ECS agent (Linux, x86_64, recent version) registers,
/// with the instance type and availability zone ECS adds.
pub fn standard_attributes(instance_type: &str, availability_zone: &str) -> Vec<Attribute> {
    let with_value = |name: &str, value: &str| Attribute {
        name: Some(name.into()),
        value: Some(value.into()),
        ..Default::default()
    };
    let mut attributes = vec![
        with_value("ecs.os-type", "linux"),
        with_value("ecs.os-family", "LINUX"),
        with_value("ecs.cpu-architecture", "x86_64"),
        with_value("ecs.instance-type", instance_type),
        with_value("ecs.availability-zone", availability_zone),
    ];
    let legacy = "com.amazonaws.ecs.capability";
    let mut names: Vec<String> = (17..=44)
        .map(|minor| format!("{legacy}.docker-remote-api.1.{minor}"))
        .collect();
    for driver in [
        "json-file",
        "syslog",
        "journald",
        "gelf",
        "fluentd",
        "awslogs",
        "splunk",
        "awsfirelens",
        "none",
    ] {
        names.push(format!("{legacy}.logging-driver.{driver}"));
    }
    for name in [
        "privileged-container",
        "ecr-auth",
        "task-iam-role",
        "task-iam-role-network-host",
    ] {
        names.push(format!("{legacy}.{name}"));
    }
    names.push(format!(
        "{legacy}.private-registry-authentication.secretsmanager"
    ));
    for name in [
        "execution-role-ecr-pull",
        "execution-role-awslogs",
        "task-eni",
        "task-cpu-mem-limit",
        "increased-task-cpu-limit",
        "container-health-check",
        "container-ordering",
        "container-port-range",
        "docker-plugin.local",
        "full-sync",
        "secrets.asm.environment-variables",
        "secrets.ssm.environment-variables",
        "secrets.asm.bootstrap.log-driver",
        "secrets.ssm.bootstrap.log-driver",
        "pid-ipc-namespace-sharing",
        "efs",
        "efsAuth",
        "env-files.s3",
        "firelens.fluentd",
        "firelens.fluentbit",
        "firelens.options.config.file",
        "firelens.options.config.s3",
        "aws-appmesh",
        "execute-command",
        "service-connect-v1",
    ] {
        names.push(format!("ecs.capability.{name}"));
    }
    attributes.extend(names.into_iter().map(|name| Attribute {
        name: Some(name),
        ..Default::default()
    }));
    attributes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_m5_large_registers_what_the_agent_would() {
        let c = InstanceType::named("m5.large").unwrap().capacity();
        assert_eq!((c.cpu, c.memory), (2048, 7680));
        assert_eq!(
            c.reserved_tcp_ports.iter().copied().collect::<Vec<_>>(),
            vec![22, 2375, 2376, 51678, 51679]
        );
        assert!(InstanceType::named("x9.huge").is_none());
    }

    #[test]
    fn zones_spread_over_a_b_c() {
        let zones: Vec<_> = (0..4).map(|i| availability_zone("eu-west-1", i)).collect();
        assert_eq!(
            zones,
            ["eu-west-1a", "eu-west-1b", "eu-west-1c", "eu-west-1a"]
        );
    }

    #[test]
    fn instance_ids_look_like_ec2s() {
        let id = new_ec2_instance_id();
        assert_eq!(id.len(), 19);
        assert!(
            id.starts_with("i-") && id[2..].chars().all(|c| c.is_ascii_hexdigit()),
            "{id}"
        );
    }

    #[test]
    fn standard_attributes_name_the_type_zone_and_docker_api_up_to_1_44() {
        let a = standard_attributes("t2.micro", "us-east-1b");
        let value = |n: &str| {
            a.iter()
                .find(|x| x.name.as_deref() == Some(n))
                .and_then(|x| x.value.clone())
        };
        assert_eq!(value("ecs.instance-type").as_deref(), Some("t2.micro"));
        assert_eq!(
            value("ecs.availability-zone").as_deref(),
            Some("us-east-1b")
        );
        assert_eq!(value("ecs.os-type").as_deref(), Some("linux"));
        assert!(a
            .iter()
            .any(|x| x.name.as_deref()
                == Some("com.amazonaws.ecs.capability.docker-remote-api.1.44")));
        assert!(!a
            .iter()
            .any(|x| x.name.as_deref()
                == Some("com.amazonaws.ecs.capability.docker-remote-api.1.45")));
    }
}
