//! The network an awsvpc task is launched into, as ECS found it in EC2 when
//! it was asked for (RunTask, StartTask, CreateService, UpdateService).
//! Plain data: a service deployment keeps it, so that the scheduler's
//! launches need no EC2 lookup of their own (and never take EC2's lock
//! under ECS's).

/// What EC2 knows of a subnet.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SubnetInfo {
    pub vpc_id: String,
    pub availability_zone: String,
}

/// One subnet of an awsvpc configuration.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TaskSubnet {
    pub id: String,
    /// None for a well-formed id ecsbox's EC2 does not know: users point
    /// scripts with their real AWS subnet ids at ecsbox, and the task runs
    /// on ecsbox's own network all the same.
    pub known: Option<SubnetInfo>,
}

/// The subnets and security groups of an awsvpc task, looked up.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TaskNetwork {
    /// In the order the configuration names them.
    pub subnets: Vec<TaskSubnet>,
    /// The configuration's groups, or the VPC's default group when it names
    /// none (as AWS does).
    pub security_groups: Vec<String>,
}

impl TaskNetwork {
    /// The subnet a task's ENI goes in: on a container instance, one in
    /// the instance's zone when there is one (AWS puts the ENI where the
    /// instance is), else the first.
    pub fn subnet_for(&self, zone: Option<&str>) -> Option<&TaskSubnet> {
        let in_zone = zone.and_then(|z| {
            self.subnets
                .iter()
                .find(|s| s.known.as_ref().is_some_and(|k| k.availability_zone == z))
        });
        in_zone.or_else(|| self.subnets.first())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subnet(id: &str, zone: Option<&str>) -> TaskSubnet {
        TaskSubnet {
            id: id.into(),
            known: zone.map(|z| SubnetInfo {
                vpc_id: "vpc-0123abcd".into(),
                availability_zone: z.into(),
            }),
        }
    }

    #[test]
    fn the_subnet_in_the_instances_zone_is_chosen() {
        let network = TaskNetwork {
            subnets: vec![
                subnet("subnet-aaaaaaaa", None),
                subnet("subnet-bbbbbbbb", Some("us-east-1b")),
            ],
            security_groups: vec![],
        };
        assert_eq!(
            network.subnet_for(Some("us-east-1b")).unwrap().id,
            "subnet-bbbbbbbb"
        );
        assert_eq!(
            network.subnet_for(Some("us-east-1c")).unwrap().id,
            "subnet-aaaaaaaa"
        );
        assert_eq!(network.subnet_for(None).unwrap().id, "subnet-aaaaaaaa");
        assert!(TaskNetwork::default().subnet_for(None).is_none());
    }
}
