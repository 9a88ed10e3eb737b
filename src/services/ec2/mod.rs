//! EC2's network lookups, as ECS users make them: the VPCs, subnets and
//! security groups an awsvpc task names (Terraform data sources, CDK
//! lookups, `aws ec2 describe-subnets`), the availability zones, the ENIs of
//! awsvpc tasks (with the task's IP, as on AWS), the account attributes, and
//! the setup calls tests make (create/delete VPCs, subnets, security groups;
//! tags). Every account and region starts with a default VPC
//! (172.31.0.0/16), one default subnet per zone and a default security
//! group, with ids that stay the same from run to run.

mod directory;
mod filters;
#[rustfmt::skip]
pub mod generated;
mod network;

use crate::model::ec2::shapes::*;
use crate::protocol::{ApiError, RequestContext};
use crate::services::new_resource_id;
use crate::state::Store;
use crate::store::{page_token, RegionStore};
use crate::tags::TagSet;
use filters::{matches, Filterable};
use generated::Ec2Api;
use network::Cidr;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The zones of every region: `REGIONa`, `b`, `c`.
const ZONES: [char; 3] = ['a', 'b', 'c'];

pub struct Ec2 {
    regions: RegionStore<Ec2Region>,
    /// The ECS state, read for the ENIs of awsvpc tasks.
    ecs: Arc<Store>,
}

// `--state-dir` keeps its regions.
crate::keeps_state_in_regions!(Ec2);

crate::aws_service!(Ec2, crate::model::ec2::operations, generated::dispatch);

/// One account's network in one region.
#[derive(Default)]
struct Ec2Region {
    vpcs: BTreeMap<String, Vpc>,
    subnets: BTreeMap<String, Subnet>,
    groups: BTreeMap<String, SecurityGroup>,
}

crate::persistent_fields!(Ec2Region, "ec2", [vpcs, subnets, groups]);

impl Ec2 {
    pub fn new(ecs: Arc<Store>) -> Self {
        Ec2 {
            regions: RegionStore::creating(Ec2Region::with_defaults),
            ecs,
        }
    }

    pub fn reset(&self) {
        self.regions.reset();
    }

    fn with_region<T>(
        &self,
        ctx: &RequestContext,
        f: impl FnOnce(&mut Ec2Region) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        self.regions.with(&ctx.account, &ctx.region, f)
    }
}

impl Ec2Region {
    fn with_defaults(account: &str, region: &str) -> Ec2Region {
        let mut r = Ec2Region::default();
        let vpc_id = stable_id("vpc", &[account, region, "default-vpc"]);
        r.vpcs.insert(
            vpc_id.clone(),
            new_vpc(&vpc_id, account, "172.31.0.0/16", true, Vec::new()),
        );
        r.add_default_group(&vpc_id, account);
        for (i, zone) in ZONES.iter().enumerate() {
            let az = format!("{region}{zone}");
            let id = stable_id("subnet", &[account, region, &az]);
            let cidr = format!("172.31.{}.0/20", i * 16);
            r.subnets.insert(
                id.clone(),
                new_subnet(&id, &vpc_id, account, region, &az, &cidr, true, Vec::new()),
            );
        }
        r
    }

    fn add_default_group(&mut self, vpc_id: &str, account: &str) {
        let id = stable_id("sg", &[account, vpc_id, "default"]);
        let mut group = new_group(
            &id,
            vpc_id,
            account,
            "default",
            "default VPC security group",
            Vec::new(),
        );
        // The default group lets its members talk to each other.
        group.ip_permissions = Some(vec![IpPermission {
            ip_protocol: Some("-1".into()),
            user_id_group_pairs: Some(vec![UserIdGroupPair {
                group_id: Some(id.clone()),
                user_id: Some(account.into()),
                ..Default::default()
            }]),
            ..Default::default()
        }]);
        self.groups.insert(id, group);
    }

    fn default_vpc(&self) -> Option<&Vpc> {
        self.vpcs.values().find(|v| v.is_default == Some(true))
    }

    fn vpc(&self, id: &str) -> Result<&Vpc, ApiError> {
        self.vpcs.get(id).ok_or_else(|| {
            not_found(
                "InvalidVpcID.NotFound",
                format!("The vpc ID '{id}' does not exist"),
            )
        })
    }

    /// Changes the tags of the VPC, subnet or security group `id` as a
    /// `TagSet` (the resource keeps them in its answer shape).
    fn change_tags(&mut self, id: &str, change: impl FnOnce(&mut TagSet)) -> Result<(), ApiError> {
        let slot = self.tags_mut(id)?;
        let mut tags = TagSet::from_shapes(slot.as_deref().unwrap_or_default());
        change(&mut tags);
        *slot = Some(tags.to_shapes());
        Ok(())
    }

    fn tags_mut(&mut self, id: &str) -> Result<&mut Option<Vec<Tag>>, ApiError> {
        if let Some(v) = self.vpcs.get_mut(id) {
            return Ok(&mut v.tags);
        }
        if let Some(s) = self.subnets.get_mut(id) {
            return Ok(&mut s.tags);
        }
        if let Some(g) = self.groups.get_mut(id) {
            return Ok(&mut g.tags);
        }
        Err(unknown_resource(id))
    }
}

impl Ec2Api for Ec2 {
    fn describe_vpcs(
        &self,
        ctx: &RequestContext,
        input: DescribeVpcsRequest,
    ) -> Result<DescribeVpcsResult, ApiError> {
        dry_run(input.dry_run)?;
        self.with_region(ctx, |r| {
            let ids = input.vpc_ids.unwrap_or_default();
            for id in &ids {
                r.vpc(id)?;
            }
            let found = select(
                r.vpcs.values(),
                &ids,
                |v| &v.vpc_id,
                input.filters.as_deref(),
            )?;
            let (vpcs, next_token) = paginate(
                found,
                |v| v.vpc_id.clone().unwrap_or_default(),
                input.max_results,
                input.next_token.as_deref(),
            )?;
            Ok(DescribeVpcsResult {
                vpcs: Some(vpcs),
                next_token,
            })
        })
    }

    fn create_vpc(
        &self,
        ctx: &RequestContext,
        input: CreateVpcRequest,
    ) -> Result<CreateVpcResult, ApiError> {
        dry_run(input.dry_run)?;
        refuse_unsupported(&[
            ("Ipv6CidrBlock", input.ipv6_cidr_block.is_some()),
            ("Ipv6Pool", input.ipv6_pool.is_some()),
            (
                "AmazonProvidedIpv6CidrBlock",
                input.amazon_provided_ipv6_cidr_block == Some(true),
            ),
            ("Ipv4IpamPoolId", input.ipv4_ipam_pool_id.is_some()),
            ("Ipv6IpamPoolId", input.ipv6_ipam_pool_id.is_some()),
            ("Ipv4NetmaskLength", input.ipv4_netmask_length.is_some()),
            ("Ipv6NetmaskLength", input.ipv6_netmask_length.is_some()),
            (
                "Ipv6CidrBlockNetworkBorderGroup",
                input.ipv6_cidr_block_network_border_group.is_some(),
            ),
            (
                "VpcEncryptionControl",
                input.vpc_encryption_control.is_some(),
            ),
            // Dedicated hardware is a placement promise ecsbox cannot keep.
            (
                "InstanceTenancy",
                input
                    .instance_tenancy
                    .as_deref()
                    .is_some_and(|t| t != "default"),
            ),
        ])?;
        let cidr = input
            .cidr_block
            .ok_or_else(|| missing_parameter("CidrBlock"))?;
        let parsed = Cidr::parse(&cidr)
            .filter(|c| (16..=28).contains(&c.prefix))
            .ok_or_else(|| bad_cidr("InvalidVpc.Range", &cidr))?;
        let tags = tags_for(input.tag_specifications.as_deref(), "vpc");
        self.with_region(ctx, |r| {
            let id = new_resource_id("vpc");
            let vpc = new_vpc(&id, &ctx.account, &parsed.to_string(), false, tags);
            r.vpcs.insert(id.clone(), vpc.clone());
            r.add_default_group(&id, &ctx.account);
            Ok(CreateVpcResult { vpc: Some(vpc) })
        })
    }

    fn delete_vpc(&self, ctx: &RequestContext, input: DeleteVpcRequest) -> Result<(), ApiError> {
        dry_run(input.dry_run)?;
        let id = input.vpc_id.unwrap_or_default();
        self.with_region(ctx, |r| {
            r.vpc(&id)?;
            let in_use = r.subnets.values().any(|s| s.vpc_id.as_deref() == Some(&id))
                || r.groups.values().any(|g| {
                    g.vpc_id.as_deref() == Some(&id) && g.group_name.as_deref() != Some("default")
                });
            if in_use {
                return Err(ApiError::protocol(
                    "DependencyViolation",
                    400,
                    format!("The vpc '{id}' has dependencies and cannot be deleted."),
                ));
            }
            r.groups.retain(|_, g| g.vpc_id.as_deref() != Some(&id));
            r.vpcs.remove(&id);
            Ok(())
        })
    }

    fn describe_subnets(
        &self,
        ctx: &RequestContext,
        input: DescribeSubnetsRequest,
    ) -> Result<DescribeSubnetsResult, ApiError> {
        dry_run(input.dry_run)?;
        self.with_region(ctx, |r| {
            let ids = input.subnet_ids.unwrap_or_default();
            for id in &ids {
                subnet_of(r, id)?;
            }
            let found = select(
                r.subnets.values(),
                &ids,
                |s| &s.subnet_id,
                input.filters.as_deref(),
            )?;
            let (subnets, next_token) = paginate(
                found,
                |s| s.subnet_id.clone().unwrap_or_default(),
                input.max_results,
                input.next_token.as_deref(),
            )?;
            Ok(DescribeSubnetsResult {
                subnets: Some(subnets),
                next_token,
            })
        })
    }

    fn create_subnet(
        &self,
        ctx: &RequestContext,
        input: CreateSubnetRequest,
    ) -> Result<CreateSubnetResult, ApiError> {
        dry_run(input.dry_run)?;
        refuse_unsupported(&[
            ("Ipv6CidrBlock", input.ipv6_cidr_block.is_some()),
            ("Ipv6Native", input.ipv6_native == Some(true)),
            ("OutpostArn", input.outpost_arn.is_some()),
            ("Ipv4IpamPoolId", input.ipv4_ipam_pool_id.is_some()),
            ("Ipv6IpamPoolId", input.ipv6_ipam_pool_id.is_some()),
            ("Ipv4NetmaskLength", input.ipv4_netmask_length.is_some()),
            ("Ipv6NetmaskLength", input.ipv6_netmask_length.is_some()),
        ])?;
        let vpc_id = input.vpc_id.unwrap_or_default();
        let cidr = input
            .cidr_block
            .ok_or_else(|| missing_parameter("CidrBlock"))?;
        let tags = tags_for(input.tag_specifications.as_deref(), "subnet");
        self.with_region(ctx, |r| {
            let vpc = r.vpc(&vpc_id)?;
            let vpc_cidr = Cidr::parse(vpc.cidr_block.as_deref().unwrap_or(""))
                .expect("a stored VPC has a valid CIDR");
            let parsed = Cidr::parse(&cidr)
                .filter(|c| (16..=28).contains(&c.prefix) && vpc_cidr.contains(c))
                .ok_or_else(|| bad_cidr("InvalidSubnet.Range", &cidr))?;
            let conflict = r
                .subnets
                .values()
                .filter(|s| s.vpc_id.as_deref() == Some(&vpc_id))
                .filter_map(|s| Cidr::parse(s.cidr_block.as_deref().unwrap_or("")))
                .any(|c| c.overlaps(&parsed));
            if conflict {
                return Err(ApiError::protocol(
                    "InvalidSubnet.Conflict",
                    400,
                    format!("The CIDR '{cidr}' conflicts with another subnet"),
                ));
            }
            let az = match (input.availability_zone, input.availability_zone_id) {
                (Some(az), _) => zone_by_name(&ctx.region, &az)?,
                (None, Some(id)) => zone_by_id(&ctx.region, &id)?,
                (None, None) => format!("{}{}", ctx.region, ZONES[0]),
            };
            let id = new_resource_id("subnet");
            let subnet = new_subnet(
                &id,
                &vpc_id,
                &ctx.account,
                &ctx.region,
                &az,
                &parsed.to_string(),
                false,
                tags,
            );
            r.subnets.insert(id, subnet.clone());
            Ok(CreateSubnetResult {
                subnet: Some(subnet),
            })
        })
    }

    fn delete_subnet(
        &self,
        ctx: &RequestContext,
        input: DeleteSubnetRequest,
    ) -> Result<(), ApiError> {
        dry_run(input.dry_run)?;
        let id = input.subnet_id.unwrap_or_default();
        self.with_region(ctx, |r| {
            subnet_of(r, &id)?;
            r.subnets.remove(&id);
            Ok(())
        })
    }

    fn describe_security_groups(
        &self,
        ctx: &RequestContext,
        input: DescribeSecurityGroupsRequest,
    ) -> Result<DescribeSecurityGroupsResult, ApiError> {
        dry_run(input.dry_run)?;
        self.with_region(ctx, |r| {
            let ids = input.group_ids.unwrap_or_default();
            for id in &ids {
                group_of(r, id)?;
            }
            let mut found = select(
                r.groups.values(),
                &ids,
                |g| &g.group_id,
                input.filters.as_deref(),
            )?;
            if let Some(names) = input.group_names.filter(|n| !n.is_empty()) {
                // Names are looked up in the default VPC, as EC2 does.
                let default_vpc = r.default_vpc().and_then(|v| v.vpc_id.clone());
                for name in &names {
                    if !found
                        .iter()
                        .any(|g| g.group_name.as_deref() == Some(name) && g.vpc_id == default_vpc)
                    {
                        return Err(not_found(
                            "InvalidGroup.NotFound",
                            format!(
                                "The security group '{name}' does not exist in default VPC '{}'",
                                default_vpc.clone().unwrap_or_default()
                            ),
                        ));
                    }
                }
                found.retain(|g| {
                    names.iter().any(|n| g.group_name.as_deref() == Some(n))
                        && g.vpc_id == default_vpc
                });
            }
            let (security_groups, next_token) = paginate(
                found,
                |g| g.group_id.clone().unwrap_or_default(),
                input.max_results,
                input.next_token.as_deref(),
            )?;
            Ok(DescribeSecurityGroupsResult {
                security_groups: Some(security_groups),
                next_token,
            })
        })
    }

    fn create_security_group(
        &self,
        ctx: &RequestContext,
        input: CreateSecurityGroupRequest,
    ) -> Result<CreateSecurityGroupResult, ApiError> {
        dry_run(input.dry_run)?;
        let name = input.group_name.unwrap_or_default();
        let description = input.description.unwrap_or_default();
        let tags = tags_for(input.tag_specifications.as_deref(), "security-group");
        self.with_region(ctx, |r| {
            let vpc_id = match input.vpc_id {
                Some(id) => r.vpc(&id)?.vpc_id.clone().unwrap_or_default(),
                None => r
                    .default_vpc()
                    .and_then(|v| v.vpc_id.clone())
                    .ok_or_else(|| {
                        ApiError::protocol("VPCIdNotSpecified", 400, "No default VPC for this user")
                    })?,
            };
            if r.groups.values().any(|g| {
                g.vpc_id.as_deref() == Some(&vpc_id) && g.group_name.as_deref() == Some(&name)
            }) {
                return Err(ApiError::protocol(
                    "InvalidGroup.Duplicate",
                    400,
                    format!("The security group '{name}' already exists for VPC '{vpc_id}'"),
                ));
            }
            let id = new_resource_id("sg");
            let group = new_group(
                &id,
                &vpc_id,
                &ctx.account,
                &name,
                &description,
                tags.clone(),
            );
            let arn = group.security_group_arn.clone();
            r.groups.insert(id.clone(), group);
            Ok(CreateSecurityGroupResult {
                group_id: Some(id),
                tags: (!tags.is_empty()).then_some(tags),
                security_group_arn: arn,
            })
        })
    }

    fn delete_security_group(
        &self,
        ctx: &RequestContext,
        input: DeleteSecurityGroupRequest,
    ) -> Result<DeleteSecurityGroupResult, ApiError> {
        dry_run(input.dry_run)?;
        self.with_region(ctx, |r| {
            let id = match (input.group_id, input.group_name) {
                (Some(id), _) => group_of(r, &id)?.group_id.clone().unwrap_or_default(),
                (None, Some(name)) => {
                    let default_vpc = r.default_vpc().and_then(|v| v.vpc_id.clone());
                    r.groups
                        .values()
                        .find(|g| g.group_name.as_deref() == Some(&name) && g.vpc_id == default_vpc)
                        .and_then(|g| g.group_id.clone())
                        .ok_or_else(|| not_found("InvalidGroup.NotFound", format!("The security group '{name}' does not exist in default VPC '{}'", default_vpc.unwrap_or_default())))?
                }
                (None, None) => return Err(missing_parameter("GroupId")),
            };
            if r.groups[&id].group_name.as_deref() == Some("default") {
                return Err(ApiError::protocol("CannotDelete", 400, format!("the specified group: \"{id}\" name: \"default\" cannot be deleted by a user")));
            }
            r.groups.remove(&id);
            Ok(DeleteSecurityGroupResult { r#return: Some(true), group_id: Some(id) })
        })
    }

    fn describe_availability_zones(
        &self,
        ctx: &RequestContext,
        input: DescribeAvailabilityZonesRequest,
    ) -> Result<DescribeAvailabilityZonesResult, ApiError> {
        dry_run(input.dry_run)?;
        let names = input.zone_names.unwrap_or_default();
        let ids = input.zone_ids.unwrap_or_default();
        for name in &names {
            zone_by_name(&ctx.region, name)?;
        }
        for id in &ids {
            zone_by_id(&ctx.region, id)?;
        }
        let mut zones = Vec::new();
        for (i, zone) in ZONES.iter().enumerate() {
            let z = Zone(AvailabilityZone {
                state: Some("available".into()),
                opt_in_status: Some("opt-in-not-required".into()),
                messages: Some(Vec::new()),
                region_name: Some(ctx.region.clone()),
                zone_name: Some(format!("{}{zone}", ctx.region)),
                zone_id: Some(zone_id(&ctx.region, i)),
                group_name: Some(ctx.region.clone()),
                network_border_group: Some(ctx.region.clone()),
                zone_type: Some("availability-zone".into()),
                ..Default::default()
            });
            let wanted = (names.is_empty() || names.contains(z.0.zone_name.as_ref().unwrap()))
                && (ids.is_empty() || ids.contains(z.0.zone_id.as_ref().unwrap()));
            if wanted && matches(&z, input.filters.as_deref().unwrap_or(&[]))? {
                zones.push(z.0);
            }
        }
        Ok(DescribeAvailabilityZonesResult {
            availability_zones: Some(zones),
        })
    }

    fn describe_network_interfaces(
        &self,
        ctx: &RequestContext,
        input: DescribeNetworkInterfacesRequest,
    ) -> Result<DescribeNetworkInterfacesResult, ApiError> {
        dry_run(input.dry_run)?;
        let enis = network::task_enis(&self.ecs, &ctx.account, &ctx.region);
        self.with_region(ctx, |r| {
            let default_vpc = r.default_vpc().cloned();
            let interfaces: Vec<NetworkInterface> = enis
                .into_iter()
                .map(|eni| {
                    let subnet = r.subnets.get(&eni.subnet_id);
                    let vpc_id = subnet
                        .and_then(|s| s.vpc_id.clone())
                        .or_else(|| default_vpc.as_ref().and_then(|v| v.vpc_id.clone()));
                    let zone = subnet
                        .and_then(|s| s.availability_zone.clone())
                        .or_else(|| eni.availability_zone.clone());
                    let groups = eni
                        .security_groups
                        .iter()
                        .map(|id| GroupIdentifier {
                            group_id: Some(id.clone()),
                            group_name: r.groups.get(id).and_then(|g| g.group_name.clone()),
                        })
                        .collect();
                    eni.into_interface(&ctx.account, vpc_id, zone, groups)
                })
                .collect();
            let ids = input.network_interface_ids.unwrap_or_default();
            for id in &ids {
                if !interfaces
                    .iter()
                    .any(|i| i.network_interface_id.as_deref() == Some(id))
                {
                    return Err(not_found(
                        "InvalidNetworkInterfaceID.NotFound",
                        format!("The networkInterface ID '{id}' does not exist"),
                    ));
                }
            }
            let found = select(
                interfaces.iter(),
                &ids,
                |i| &i.network_interface_id,
                input.filters.as_deref(),
            )?;
            let (network_interfaces, next_token) = paginate(
                found,
                |i| i.network_interface_id.clone().unwrap_or_default(),
                input.max_results,
                input.next_token.as_deref(),
            )?;
            Ok(DescribeNetworkInterfacesResult {
                network_interfaces: Some(network_interfaces),
                next_token,
            })
        })
    }

    fn describe_account_attributes(
        &self,
        ctx: &RequestContext,
        input: DescribeAccountAttributesRequest,
    ) -> Result<DescribeAccountAttributesResult, ApiError> {
        dry_run(input.dry_run)?;
        let default_vpc = self.with_region(ctx, |r| {
            Ok(r.default_vpc()
                .and_then(|v| v.vpc_id.clone())
                .unwrap_or_else(|| "none".into()))
        })?;
        let all: [(&str, &[&str]); 6] = [
            ("supported-platforms", &["VPC"]),
            ("default-vpc", &[default_vpc.as_str()]),
            ("max-instances", &["20"]),
            ("vpc-max-security-groups-per-interface", &["5"]),
            ("max-elastic-ips", &["5"]),
            ("vpc-max-elastic-ips", &["5"]),
        ];
        let wanted = input.attribute_names.unwrap_or_default();
        for name in &wanted {
            if !all.iter().any(|(n, _)| n == name) {
                return Err(ApiError::protocol("InvalidParameterValue", 400, format!("Value ({name}) for parameter attributeName is invalid. Unknown attribute name.")));
            }
        }
        let account_attributes = all
            .iter()
            .filter(|(n, _)| wanted.is_empty() || wanted.iter().any(|w| w == n))
            .map(|(n, values)| AccountAttribute {
                attribute_name: Some(n.to_string()),
                attribute_values: Some(
                    values
                        .iter()
                        .map(|v| AccountAttributeValue {
                            attribute_value: Some(v.to_string()),
                        })
                        .collect(),
                ),
            })
            .collect();
        Ok(DescribeAccountAttributesResult {
            account_attributes: Some(account_attributes),
        })
    }

    fn create_tags(&self, ctx: &RequestContext, input: CreateTagsRequest) -> Result<(), ApiError> {
        dry_run(input.dry_run)?;
        // A key given twice: the last value wins, as merging one by one would.
        let new_tags = TagSet::from_shapes(input.tags.as_deref().unwrap_or_default());
        self.with_region(ctx, |r| {
            let resources = input.resources.unwrap_or_default();
            // Every resource must exist before any is tagged.
            for id in &resources {
                r.tags_mut(id)?;
            }
            for id in &resources {
                r.change_tags(id, |tags| tags.merge(new_tags.clone()))?;
            }
            Ok(())
        })
    }

    fn delete_tags(&self, ctx: &RequestContext, input: DeleteTagsRequest) -> Result<(), ApiError> {
        dry_run(input.dry_run)?;
        self.with_region(ctx, |r| {
            let resources = input.resources.unwrap_or_default();
            for id in &resources {
                r.tags_mut(id)?;
            }
            for id in &resources {
                r.change_tags(id, |tags| match &input.tags {
                    // No tags named: every tag goes.
                    None => tags.clear(),
                    // A tag with a value goes only if the value matches.
                    Some(gone) => {
                        for g in gone {
                            tags.remove_matching(
                                g.key.as_deref().unwrap_or_default(),
                                g.value.as_deref(),
                            );
                        }
                    }
                })?;
            }
            Ok(())
        })
    }

    fn describe_tags(
        &self,
        ctx: &RequestContext,
        input: DescribeTagsRequest,
    ) -> Result<DescribeTagsResult, ApiError> {
        dry_run(input.dry_run)?;
        self.with_region(ctx, |r| {
            let mut all = Vec::new();
            let mut add = |id: &Option<String>, kind: &str, tags: &Option<Vec<Tag>>| {
                for t in tags.iter().flatten() {
                    all.push(TagRow(TagDescription {
                        resource_id: id.clone(),
                        resource_type: Some(kind.into()),
                        key: t.key.clone(),
                        value: t.value.clone(),
                    }));
                }
            };
            r.vpcs.values().for_each(|v| add(&v.vpc_id, "vpc", &v.tags));
            r.subnets
                .values()
                .for_each(|s| add(&s.subnet_id, "subnet", &s.tags));
            r.groups
                .values()
                .for_each(|g| add(&g.group_id, "security-group", &g.tags));
            let mut found = Vec::new();
            for row in all {
                if matches(&row, input.filters.as_deref().unwrap_or(&[]))? {
                    found.push(row.0);
                }
            }
            let (tags, next_token) = paginate(
                found,
                |t| {
                    format!(
                        "{}\u{0}{}",
                        t.resource_id.as_deref().unwrap_or(""),
                        t.key.as_deref().unwrap_or("")
                    )
                },
                input.max_results,
                input.next_token.as_deref(),
            )?;
            Ok(DescribeTagsResult {
                tags: Some(tags),
                next_token,
            })
        })
    }
}

// ---- resources and their filters ----

fn new_vpc(id: &str, account: &str, cidr: &str, is_default: bool, tags: Vec<Tag>) -> Vpc {
    Vpc {
        vpc_id: Some(id.into()),
        owner_id: Some(account.into()),
        cidr_block: Some(cidr.into()),
        cidr_block_association_set: Some(vec![VpcCidrBlockAssociation {
            association_id: Some(stable_id("vpc-cidr-assoc", &[id, cidr])),
            cidr_block: Some(cidr.into()),
            cidr_block_state: Some(VpcCidrBlockState {
                state: Some("associated".into()),
                status_message: None,
            }),
        }]),
        state: Some("available".into()),
        instance_tenancy: Some("default".into()),
        is_default: Some(is_default),
        dhcp_options_id: Some(stable_id("dopt", &[account])),
        tags: (!tags.is_empty()).then_some(tags),
        ..Default::default()
    }
}

#[allow(clippy::too_many_arguments)]
fn new_subnet(
    id: &str,
    vpc_id: &str,
    account: &str,
    region: &str,
    az: &str,
    cidr: &str,
    default_for_az: bool,
    tags: Vec<Tag>,
) -> Subnet {
    let zone_index = ZONES.iter().position(|z| az.ends_with(*z)).unwrap_or(0);
    let free = Cidr::parse(cidr)
        .map(|c| c.size().saturating_sub(5))
        .unwrap_or(0);
    Subnet {
        subnet_id: Some(id.into()),
        subnet_arn: Some(format!("arn:aws:ec2:{region}:{account}:subnet/{id}")),
        vpc_id: Some(vpc_id.into()),
        owner_id: Some(account.into()),
        cidr_block: Some(cidr.into()),
        availability_zone: Some(az.into()),
        availability_zone_id: Some(zone_id(region, zone_index)),
        available_ip_address_count: Some(free as i32),
        default_for_az: Some(default_for_az),
        map_public_ip_on_launch: Some(default_for_az),
        state: Some("available".into()),
        assign_ipv6_address_on_creation: Some(false),
        ipv6_cidr_block_association_set: Some(Vec::new()),
        tags: (!tags.is_empty()).then_some(tags),
        ..Default::default()
    }
}

fn new_group(
    id: &str,
    vpc_id: &str,
    account: &str,
    name: &str,
    description: &str,
    tags: Vec<Tag>,
) -> SecurityGroup {
    SecurityGroup {
        group_id: Some(id.into()),
        group_name: Some(name.into()),
        description: Some(description.into()),
        vpc_id: Some(vpc_id.into()),
        owner_id: Some(account.into()),
        security_group_arn: Some(format!("arn:aws:ec2::{account}:security-group/{id}")),
        ip_permissions: Some(Vec::new()),
        // Every new group lets all traffic out, as on AWS.
        ip_permissions_egress: Some(vec![IpPermission {
            ip_protocol: Some("-1".into()),
            ip_ranges: Some(vec![IpRange {
                cidr_ip: Some("0.0.0.0/0".into()),
                description: None,
            }]),
            ..Default::default()
        }]),
        tags: (!tags.is_empty()).then_some(tags),
    }
}

fn flag(b: Option<bool>) -> Vec<String> {
    vec![b.unwrap_or(false).to_string()]
}

fn one(v: &Option<String>) -> Vec<String> {
    v.iter().cloned().collect()
}

impl Filterable for Vpc {
    fn filter_values(&self, name: &str) -> Option<Vec<String>> {
        Some(match name {
            "vpc-id" => one(&self.vpc_id),
            "cidr" | "cidr-block" | "cidrBlock" | "cidr-block-association.cidr-block" => {
                one(&self.cidr_block)
            }
            "is-default" | "isDefault" => flag(self.is_default),
            "state" => one(&self.state),
            "owner-id" => one(&self.owner_id),
            "dhcp-options-id" => one(&self.dhcp_options_id),
            _ => return None,
        })
    }
    fn tags(&self) -> &[Tag] {
        self.tags.as_deref().unwrap_or(&[])
    }
}

impl Filterable for Subnet {
    fn filter_values(&self, name: &str) -> Option<Vec<String>> {
        Some(match name {
            "subnet-id" | "subnetId" => one(&self.subnet_id),
            "subnet-arn" => one(&self.subnet_arn),
            "vpc-id" | "vpcId" => one(&self.vpc_id),
            "availability-zone" | "availabilityZone" => one(&self.availability_zone),
            "availability-zone-id" | "availabilityZoneId" => one(&self.availability_zone_id),
            "cidr" | "cidr-block" | "cidrBlock" => one(&self.cidr_block),
            "default-for-az" | "defaultForAz" => flag(self.default_for_az),
            "map-public-ip-on-launch" => flag(self.map_public_ip_on_launch),
            "state" => one(&self.state),
            "owner-id" => one(&self.owner_id),
            _ => return None,
        })
    }
    fn tags(&self) -> &[Tag] {
        self.tags.as_deref().unwrap_or(&[])
    }
}

impl Filterable for SecurityGroup {
    fn filter_values(&self, name: &str) -> Option<Vec<String>> {
        Some(match name {
            "group-id" => one(&self.group_id),
            "group-name" => one(&self.group_name),
            "description" => one(&self.description),
            "vpc-id" => one(&self.vpc_id),
            "owner-id" => one(&self.owner_id),
            _ => return None,
        })
    }
    fn tags(&self) -> &[Tag] {
        self.tags.as_deref().unwrap_or(&[])
    }
}

impl Filterable for NetworkInterface {
    fn filter_values(&self, name: &str) -> Option<Vec<String>> {
        Some(match name {
            "network-interface-id" => one(&self.network_interface_id),
            "subnet-id" => one(&self.subnet_id),
            "vpc-id" => one(&self.vpc_id),
            "availability-zone" => one(&self.availability_zone),
            "private-ip-address" | "addresses.private-ip-address" => one(&self.private_ip_address),
            "mac-address" => one(&self.mac_address),
            "status" => one(&self.status),
            "description" => one(&self.description),
            "interface-type" => one(&self.interface_type),
            "requester-managed" => flag(self.requester_managed),
            "owner-id" => one(&self.owner_id),
            "group-id" => self
                .groups
                .iter()
                .flatten()
                .filter_map(|g| g.group_id.clone())
                .collect(),
            _ => return None,
        })
    }
    fn tags(&self) -> &[Tag] {
        self.tag_set.as_deref().unwrap_or(&[])
    }
}

struct Zone(AvailabilityZone);

impl Filterable for Zone {
    fn filter_values(&self, name: &str) -> Option<Vec<String>> {
        Some(match name {
            "zone-name" => one(&self.0.zone_name),
            "zone-id" => one(&self.0.zone_id),
            "region-name" => one(&self.0.region_name),
            "state" => one(&self.0.state),
            "zone-type" => one(&self.0.zone_type),
            "group-name" => one(&self.0.group_name),
            "opt-in-status" => one(&self.0.opt_in_status),
            _ => return None,
        })
    }
    fn tags(&self) -> &[Tag] {
        &[]
    }
}

struct TagRow(TagDescription);

impl Filterable for TagRow {
    fn filter_values(&self, name: &str) -> Option<Vec<String>> {
        Some(match name {
            "resource-id" => one(&self.0.resource_id),
            "resource-type" => one(&self.0.resource_type),
            "key" => one(&self.0.key),
            "value" => one(&self.0.value),
            _ => return None,
        })
    }
    fn tags(&self) -> &[Tag] {
        &[]
    }
}

// ---- helpers ----

/// The resources with one of `ids` (all when empty) that pass the filters.
fn select<'a, T: Filterable + Clone + 'a>(
    all: impl Iterator<Item = &'a T>,
    ids: &[String],
    id_of: impl Fn(&T) -> &Option<String>,
    filters: Option<&[Filter]>,
) -> Result<Vec<T>, ApiError> {
    let mut out = Vec::new();
    for item in all {
        let wanted = ids.is_empty() || id_of(item).as_ref().is_some_and(|id| ids.contains(id));
        if wanted && matches(item, filters.unwrap_or(&[]))? {
            out.push(item.clone());
        }
    }
    Ok(out)
}

/// One page of `items` after the one `token` names (EC2's MaxResults: 5 to
/// 1000; none: everything). Items are ordered by `key_of`, which the shared
/// page-token codec names the last one of a page by.
fn paginate<T>(
    mut items: Vec<T>,
    key_of: impl Fn(&T) -> String,
    max: Option<i32>,
    token: Option<&str>,
) -> Result<(Vec<T>, Option<String>), ApiError> {
    let after = match token {
        None => None,
        Some(t) => Some(page_token::decode(t).ok_or_else(|| {
            ApiError::protocol(
                "InvalidParameterValue",
                400,
                format!("The token '{t}' is invalid"),
            )
        })?),
    };
    if let Some(max) = max.filter(|m| !(5..=1000).contains(m)) {
        return Err(ApiError::protocol(
            "InvalidParameterValue",
            400,
            format!("Value ( {max} ) for parameter maxResults is invalid. Parameter must be between 5 and 1000."),
        ));
    }
    items.sort_by_key(|i| key_of(i));
    let rest = items
        .into_iter()
        .filter(|i| after.as_ref().is_none_or(|a| &key_of(i) > a));
    Ok(page_token::take_page(
        rest,
        max.map_or(usize::MAX, |m| m as usize),
        &key_of,
    ))
}

/// EC2's answer to `DryRun=true`: the request would have worked.
fn dry_run(flag: Option<bool>) -> Result<(), ApiError> {
    if flag == Some(true) {
        return Err(ApiError::protocol(
            "DryRunOperation",
            412,
            "Request would have succeeded, but DryRun flag is set.",
        ));
    }
    Ok(())
}

/// Parameters ecsbox cannot honour are refused, naming them.
fn refuse_unsupported(params: &[(&str, bool)]) -> Result<(), ApiError> {
    match params.iter().find(|(_, set)| *set) {
        Some((name, _)) => Err(ApiError::protocol(
            "UnsupportedOperation",
            400,
            format!("ecsbox does not support the parameter {name} yet."),
        )),
        None => Ok(()),
    }
}

fn missing_parameter(name: &str) -> ApiError {
    ApiError::protocol(
        "MissingParameter",
        400,
        format!("The request must contain the parameter {name}"),
    )
}

fn not_found(code: &'static str, message: String) -> ApiError {
    ApiError::protocol(code, 400, message)
}

fn bad_cidr(code: &'static str, cidr: &str) -> ApiError {
    ApiError::protocol(code, 400, format!("The CIDR '{cidr}' is invalid."))
}

fn subnet_of<'a>(r: &'a Ec2Region, id: &str) -> Result<&'a Subnet, ApiError> {
    if !is_id(id, "subnet") {
        return Err(ApiError::protocol(
            "InvalidSubnetID.Malformed",
            400,
            format!("The subnet ID '{id}' is malformed"),
        ));
    }
    r.subnets.get(id).ok_or_else(|| {
        not_found(
            "InvalidSubnetID.NotFound",
            format!("The subnet ID '{id}' does not exist"),
        )
    })
}

fn group_of<'a>(r: &'a Ec2Region, id: &str) -> Result<&'a SecurityGroup, ApiError> {
    if !is_id(id, "sg") {
        return Err(ApiError::protocol(
            "InvalidGroupId.Malformed",
            400,
            format!("Invalid id: \"{id}\" (expecting \"sg-...\")"),
        ));
    }
    r.groups.get(id).ok_or_else(|| {
        not_found(
            "InvalidGroup.NotFound",
            format!("The security group '{id}' does not exist"),
        )
    })
}

fn unknown_resource(id: &str) -> ApiError {
    match id.split_once('-').map(|(p, _)| p) {
        Some("vpc") => not_found(
            "InvalidVpcID.NotFound",
            format!("The vpc ID '{id}' does not exist"),
        ),
        Some("subnet") => not_found(
            "InvalidSubnetID.NotFound",
            format!("The subnet ID '{id}' does not exist"),
        ),
        Some("sg") => not_found(
            "InvalidGroup.NotFound",
            format!("The security group '{id}' does not exist"),
        ),
        _ => ApiError::protocol("InvalidID", 400, format!("The ID '{id}' is not valid")),
    }
}

/// `PREFIX-` and 8 or 17 hex digits, the two forms EC2 ids take.
pub fn is_id(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|hex| {
            matches!(hex.len(), 8 | 17)
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        })
}

fn zone_id(region: &str, index: usize) -> String {
    // us-east-1 -> use1: the region's initials as AWS abbreviates them.
    let mut short = String::new();
    for (i, part) in region.split('-').enumerate() {
        if i == 0 || part.chars().all(|c| c.is_ascii_digit()) {
            short.push_str(part);
        } else {
            short.extend(part.chars().next());
        }
    }
    format!("{short}-az{}", index + 1)
}

fn zone_by_name(region: &str, name: &str) -> Result<String, ApiError> {
    if ZONES.iter().any(|z| format!("{region}{z}") == name) {
        return Ok(name.to_string());
    }
    Err(ApiError::protocol("InvalidParameterValue", 400, format!("Value ({name}) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: {}.", ZONES.iter().map(|z| format!("{region}{z}")).collect::<Vec<_>>().join(", "))))
}

fn zone_by_id(region: &str, id: &str) -> Result<String, ApiError> {
    (0..ZONES.len())
        .find(|i| zone_id(region, *i) == id)
        .map(|i| format!("{region}{}", ZONES[i]))
        .ok_or_else(|| {
            ApiError::protocol(
                "InvalidParameterValue",
                400,
                format!("Value ({id}) for parameter availabilityZoneId is invalid."),
            )
        })
}

/// The tags of `TagSpecifications` for a new resource of `resource_type`,
/// merged as CreateTags merges them.
fn tags_for(specs: Option<&[TagSpecification]>, resource_type: &str) -> Vec<Tag> {
    specs
        .unwrap_or(&[])
        .iter()
        .filter(|s| {
            s.resource_type
                .as_deref()
                .is_none_or(|t| t == resource_type)
        })
        .flat_map(|s| {
            s.tags
                .as_deref()
                .unwrap_or_default()
                .iter()
                .map(crate::tags::pair_of)
        })
        .collect::<TagSet>()
        .to_shapes()
}

// The shared TagSet reads and writes this service's `Tag` shape.
crate::tag_shape!(Tag);

/// An id derived from `parts`, the same in every run: the default VPC of an
/// account and region keeps its id across restarts.
fn stable_id(prefix: &str, parts: &[&str]) -> String {
    // FNV-1a over the parts, then two rounds of splitmix64 so that ids of
    // similar inputs (the zones a, b, c) look unrelated, as AWS's do.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in parts.join("/").bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let (a, b) = (splitmix(h), splitmix(h ^ 0x9e37_79b9_7f4a_7c15));
    format!("{prefix}-{:01x}{:016x}", a & 0xf, b)
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(is_id("subnet-0123abcd", "subnet"));
        assert!(is_id(&new_resource_id("subnet"), "subnet"));
        assert!(is_id(&stable_id("sg", &["a"]), "sg"));
        assert!(!is_id("subnet-local", "subnet"));
        assert!(!is_id("sg-0123abcd", "subnet"));
        assert_eq!(
            stable_id("vpc", &["1", "us-east-1"]),
            stable_id("vpc", &["1", "us-east-1"])
        );
        assert_ne!(
            stable_id("vpc", &["1", "us-east-1"]),
            stable_id("vpc", &["1", "us-west-2"])
        );
    }

    #[test]
    fn zone_ids_abbreviate_the_region() {
        assert_eq!(zone_id("us-east-1", 0), "use1-az1");
        assert_eq!(zone_id("eu-central-1", 2), "euc1-az3");
    }
}
