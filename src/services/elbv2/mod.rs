//! Elastic Load Balancing v2 (query protocol): the control plane of
//! Application and Network Load Balancers. Clients see AWS's resources
//! here (load balancers, target groups, listeners, rules, attributes,
//! tags); the traffic is `crate::lb`'s, which this service drives: every
//! change to a listener or one of its rules recompiles that listener's
//! `ListenerSpec` (`compile`) and opens, updates or closes it in the
//! plane; a target group's settings become its `TargetGroupSpec`; targets
//! are registered in, and their health read from, the plane.
//!
//! - `load_balancers`: Create/Describe/DeleteLoadBalancer, SetSecurityGroups, SetSubnets.
//! - `target_groups`: Create/Describe/Modify/DeleteTargetGroup.
//! - `listeners`: Create/Describe/Modify/DeleteListener, DescribeSSLPolicies.
//! - `rules`: Create/Describe/Modify/DeleteRule, SetRulePriorities.
//! - `actions`: the actions and conditions listeners and rules share, checked.
//! - `targets`: RegisterTargets, DeregisterTargets, DescribeTargetHealth.
//! - `attributes`: the load balancer and target group attributes.
//! - `tags`: AddTags, RemoveTags, DescribeTags for every kind of resource.
//! - `compile`: resources into the plane's specs.
//!
//! Messages. AWS's own words, where public reports quote real answers
//! (each cited where it is written and in tests/elbv2.rs):
//! "Load balancers '[NAME]' not found", "One or more target groups not
//! found", "Target groups 'ARN' not found", "Target group 'ARN' is
//! currently in use by a listener or a rule", "Instance ID 'X' is not
//! valid", "The Availability Zone is required for IP address 'X' because it
//! is not in the VPC", and the model's own text of InvalidTargetException.
//! Recalled from AWS's answers but not confirmed in a public quote:
//! "One or more load balancers/listeners/rules not found", "A load
//! balancer/target group with the same name 'X' exists, but with different
//! settings", "A listener already exists on this port for this load
//! balancer 'ARN'", "Priority 'N' is currently in use", "At least two
//! subnets in two different Availability Zones must be specified", "A load
//! balancer cannot be attached to multiple subnets in the same Availability
//! Zone", "Load balancer 'ARN' cannot be deleted because deletion protection
//! is enabled", "... attribute key 'K' is not recognized", the name rules'
//! texts, "A certificate must be specified for HTTPS listeners", "The
//! following target groups cannot be associated with more than one load
//! balancer: ARN". Every other text is ecsbox's, marked so where it is
//! written; all refusals of what ecsbox cannot do begin "ecsbox does not
//! support" (`refused`).
//!
//! Locks: a handler looks up what it needs in EC2 and ECS first (each
//! under its own lock), then takes this service's region lock and, under
//! it, calls the plane (whose own lock is never held while calling back
//! here). So the order is ELBv2 region -> plane, and nothing takes them
//! the other way round.

mod actions;
mod attributes;
mod compile;
#[rustfmt::skip]
pub mod generated;
mod listeners;
mod load_balancers;
mod rules;
mod tags;
mod target_groups;
mod targets;

use crate::lb::LoadBalancing;
use crate::model::elbv2::operations::ErrorCode;
use crate::model::elbv2::shapes::*;
use crate::protocol::{ApiError, RequestContext};
use crate::services::ec2::Ec2;
use crate::state::Store;
use crate::store::{page_token, RegionStore};
use crate::tags::TagSet;
use generated::Elbv2Api;
use std::collections::BTreeMap;
use std::sync::Arc;

pub struct Elbv2 {
    regions: RegionStore<Elbv2Region>,
    /// The data plane every listener and target group is served by.
    plane: Arc<LoadBalancing>,
    /// Subnets, security groups and VPCs are EC2's.
    ec2: Arc<Ec2>,
    /// ECS's state: instance targets are its container instances.
    ecs: Arc<Store>,
}

// `--state-dir` keeps its regions.
crate::keeps_state_in_regions!(Elbv2);

crate::aws_service!(Elbv2, crate::model::elbv2::operations, generated::dispatch);

/// One account's load balancing resources in one region, each kind by ARN
/// (the order Describe calls page in).
#[derive(Default)]
struct Elbv2Region {
    load_balancers: BTreeMap<String, LoadBalancerRecord>,
    target_groups: BTreeMap<String, TargetGroupRecord>,
    listeners: BTreeMap<String, ListenerRecord>,
    /// The rules listeners have besides their default rule.
    rules: BTreeMap<String, RuleRecord>,
}

crate::persistent_fields!(
    Elbv2Region,
    "elbv2",
    [load_balancers, target_groups, listeners, rules]
);

#[derive(serde::Serialize, serde::Deserialize)]
struct LoadBalancerRecord {
    /// As DescribeLoadBalancers answers it (State `active`).
    description: LoadBalancer,
    /// The request that created it, less its tags: the same request again
    /// answers the same load balancer, as AWS does.
    request: CreateLoadBalancerInput,
    attributes: BTreeMap<String, String>,
    tags: TagSet,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct TargetGroupRecord {
    /// As DescribeTargetGroups answers it, `LoadBalancerArns` left empty
    /// (computed from the listeners and rules that forward to it).
    description: TargetGroup,
    request: CreateTargetGroupInput,
    attributes: BTreeMap<String, String>,
    tags: TagSet,
    /// The targets RegisterTargets put in it (those of ECS services are
    /// the tasks' own records'): what a restart with a state directory
    /// registers again. Their health lives in the data plane only.
    #[serde(default)]
    registered: Vec<crate::lb::Target>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ListenerRecord {
    description: Listener,
    /// The ARN of its default rule (DescribeRules shows it, IsDefault).
    default_rule_arn: String,
    tags: TagSet,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct RuleRecord {
    description: Rule,
    listener_arn: String,
    priority: u32,
    tags: TagSet,
}

impl Elbv2 {
    pub fn new(plane: Arc<LoadBalancing>, ec2: Arc<Ec2>, ecs: Arc<Store>) -> Self {
        Elbv2 {
            regions: RegionStore::creating(|_, _| Elbv2Region::default()),
            plane,
            ec2,
            ecs,
        }
    }

    /// After a restart with a state directory: the data plane gets every
    /// kept target group, with the targets RegisterTargets put in it, and
    /// opens every kept listener again (on the port it had where it is
    /// free). Answers what could not be opened, for the log.
    pub fn rebuild_data_plane(&self) -> Vec<String> {
        let mut problems = vec![];
        for (account, region) in self.regions.keys() {
            let Some(region) = self.regions.existing(&account, &region) else {
                continue;
            };
            let r = region.lock();
            for (arn, tg) in &r.target_groups {
                self.plane.put_target_group(compile::target_group_spec(tg));
                if !tg.registered.is_empty() {
                    self.plane.register_targets(arn, tg.registered.clone());
                }
            }
            for (arn, listener) in &r.listeners {
                if let Err(e) = self
                    .plane
                    .open_listener(compile::listener_spec(&r, listener))
                {
                    problems.push(format!("listener {arn}: {e:?}"));
                }
            }
        }
        problems
    }

    /// Forgets every resource. The plane is reset by its owner (the server).
    pub fn reset(&self) {
        self.regions.reset();
    }

    fn with_region<T>(
        &self,
        ctx: &RequestContext,
        f: impl FnOnce(&mut Elbv2Region) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        self.regions.with(&ctx.account, &ctx.region, f)
    }
}

impl Elbv2Region {
    fn load_balancer(&self, arn: &str) -> Result<&LoadBalancerRecord, ApiError> {
        self.load_balancers
            .get(arn)
            .ok_or_else(load_balancers_not_found)
    }

    fn target_group(&self, arn: &str) -> Result<&TargetGroupRecord, ApiError> {
        self.target_groups
            .get(arn)
            .ok_or_else(target_groups_not_found)
    }

    fn target_group_mut(&mut self, arn: &str) -> Result<&mut TargetGroupRecord, ApiError> {
        self.target_groups
            .get_mut(arn)
            .ok_or_else(target_groups_not_found)
    }

    fn listener(&self, arn: &str) -> Result<&ListenerRecord, ApiError> {
        self.listeners.get(arn).ok_or_else(listeners_not_found)
    }

    /// The listeners of one load balancer.
    fn listeners_of<'a>(&'a self, lb_arn: &'a str) -> impl Iterator<Item = &'a ListenerRecord> {
        self.listeners
            .values()
            .filter(move |l| l.description.load_balancer_arn.as_deref() == Some(lb_arn))
    }

    /// The rules of one listener (its default rule not included).
    fn rules_of<'a>(&'a self, listener_arn: &'a str) -> impl Iterator<Item = &'a RuleRecord> {
        self.rules
            .values()
            .filter(move |r| r.listener_arn == listener_arn)
    }

    /// Every (load balancer ARN, target group ARN) a listener's default
    /// actions or a rule's actions forward to.
    fn forwards(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for l in self.listeners.values() {
            let lb = l.description.load_balancer_arn.clone().unwrap_or_default();
            let mut actions: Vec<&Action> =
                l.description.default_actions.iter().flatten().collect();
            for r in self.rules_of(l.description.listener_arn.as_deref().unwrap_or_default()) {
                actions.extend(r.description.actions.iter().flatten());
            }
            for tg in actions.into_iter().flat_map(actions::target_groups_of) {
                out.push((lb.clone(), tg));
            }
        }
        out
    }

    /// The load balancers that forward to a target group, sorted.
    fn load_balancers_of(&self, tg_arn: &str) -> Vec<String> {
        let mut lbs: Vec<String> = self
            .forwards()
            .into_iter()
            .filter(|(_, tg)| tg == tg_arn)
            .map(|(lb, _)| lb)
            .collect();
        lbs.sort();
        lbs.dedup();
        lbs
    }
}

// ---- errors -------------------------------------------------------------------

fn error(code: ErrorCode, message: impl Into<String>) -> ApiError {
    ApiError::protocol(code.as_str(), code.status(), message)
}

/// ELBv2's `ValidationError` (not an exception of the model: the query
/// protocol's code for a request the service refuses as malformed).
fn validation(message: impl Into<String>) -> ApiError {
    ApiError::protocol("ValidationError", 400, message)
}

/// A setting ecsbox cannot honour (ecsbox's words, listed in the README).
fn refused(what: &str, why: &str) -> ApiError {
    error(
        ErrorCode::InvalidConfigurationRequestException,
        format!("ecsbox does not support {what}: {why}."),
    )
}

/// AWS's words when ARNs name no load balancer (DescribeLoadBalancers and
/// the calls that take one ARN); by name it is `names_not_found`.
fn load_balancers_not_found() -> ApiError {
    error(
        ErrorCode::LoadBalancerNotFoundException,
        "One or more load balancers not found",
    )
}

/// AWS's words (aws-samples/service-screener-v2#212: "One or more target
/// groups not found").
fn target_groups_not_found() -> ApiError {
    error(
        ErrorCode::TargetGroupNotFoundException,
        "One or more target groups not found",
    )
}

fn listeners_not_found() -> ApiError {
    error(
        ErrorCode::ListenerNotFoundException,
        "One or more listeners not found",
    )
}

fn rules_not_found() -> ApiError {
    error(
        ErrorCode::RuleNotFoundException,
        "One or more rules not found",
    )
}

/// AWS's words for names that name nothing, e.g. "Load balancers
/// '[foobar-terraform-elb]' not found" (hashicorp/terraform-provider-aws#10669).
fn names_not_found(code: ErrorCode, kind: &str, names: &[String]) -> ApiError {
    error(code, format!("{kind} '[{}]' not found", names.join(", ")))
}

// ---- names, ids, paging -------------------------------------------------------

/// 16 hex digits, the last part of every ELBv2 ARN.
fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..16].to_string()
}

/// The load balancer a listener or rule ARN belongs to:
/// `...:listener/app/NAME/LBID/LID` (or `listener-rule/...`) is on
/// `...:loadbalancer/app/NAME/LBID`.
fn load_balancer_of_listener(arn: &str) -> Option<String> {
    let (head, resource) = arn.rsplit_once(':')?;
    let rest = resource
        .strip_prefix("listener/")
        .or_else(|| resource.strip_prefix("listener-rule/"))?;
    let mut parts = rest.split('/');
    let (kind, name, id) = (parts.next()?, parts.next()?, parts.next()?);
    Some(format!("{head}:loadbalancer/{kind}/{name}/{id}"))
}

/// `app/NAME/ID` of a load balancer ARN (`...:loadbalancer/app/NAME/ID`),
/// which its listeners' and rules' ARNs repeat.
fn arn_suffix(lb_arn: &str) -> &str {
    lb_arn.split_once(":loadbalancer/").map_or("", |(_, s)| s)
}

/// An ARN in the same account and region as `other` (an ELBv2 ARN).
fn arn_in(other: &str, resource: &str) -> String {
    let head = other.splitn(6, ':').take(5).collect::<Vec<_>>().join(":");
    format!("{head}:{resource}")
}

fn arn(ctx: &RequestContext, resource: &str) -> String {
    format!(
        "arn:aws:elasticloadbalancing:{}:{}:{resource}",
        ctx.region, ctx.account
    )
}

/// A load balancer or target group name: 1-32 alphanumerics and hyphens,
/// not beginning or ending with a hyphen (`kind` is "Load balancer" or
/// "Target group", as AWS's messages begin).
fn check_name(kind: &str, name: &str) -> Result<(), ApiError> {
    if name.chars().count() > 32 {
        return Err(validation(format!(
            "{kind} name '{name}' cannot be longer than '32' characters"
        )));
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') || name.is_empty() {
        return Err(validation(format!("{kind} name '{name}' can only contain characters that are alphanumeric characters or hyphens(-)")));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err(validation(format!(
            "{kind} name '{name}' cannot begin or end with '-'"
        )));
    }
    Ok(())
}

/// How many items a Describe page holds when the caller names no PageSize
/// (AWS: up to 400).
const DEFAULT_PAGE: usize = 400;

/// One page of `items` (in key order) after the `Marker` ecsbox gave, and
/// the marker of the next page.
fn page<'a, T: 'a>(
    items: impl Iterator<Item = (&'a String, T)>,
    marker: Option<&str>,
    page_size: Option<i32>,
) -> Result<(Vec<T>, Option<String>), ApiError> {
    let after = match marker {
        Some(m) => Some(
            page_token::decode(m)
                .ok_or_else(|| validation(format!("The marker '{m}' is not one ecsbox gave")))?,
        ),
        None => None,
    };
    let size = page_size.map_or(DEFAULT_PAGE, |n| n.max(1) as usize);
    let (taken, next) = page_token::take_page(
        items.filter(|(k, _)| after.as_deref().is_none_or(|a| k.as_str() > a)),
        size,
        |(k, _)| k.to_string(),
    );
    Ok((taken.into_iter().map(|(_, v)| v).collect(), next))
}

impl Elbv2Api for Elbv2 {
    fn create_load_balancer(
        &self,
        ctx: &RequestContext,
        input: CreateLoadBalancerInput,
    ) -> Result<CreateLoadBalancerOutput, ApiError> {
        load_balancers::create(self, ctx, input)
    }

    fn describe_load_balancers(
        &self,
        ctx: &RequestContext,
        input: DescribeLoadBalancersInput,
    ) -> Result<DescribeLoadBalancersOutput, ApiError> {
        self.with_region(ctx, |r| load_balancers::describe(r, input))
    }

    fn delete_load_balancer(
        &self,
        ctx: &RequestContext,
        input: DeleteLoadBalancerInput,
    ) -> Result<DeleteLoadBalancerOutput, ApiError> {
        self.with_region(ctx, |r| load_balancers::delete(r, &self.plane, input))
    }

    fn set_security_groups(
        &self,
        ctx: &RequestContext,
        input: SetSecurityGroupsInput,
    ) -> Result<SetSecurityGroupsOutput, ApiError> {
        load_balancers::set_security_groups(self, ctx, input)
    }

    fn set_subnets(
        &self,
        ctx: &RequestContext,
        input: SetSubnetsInput,
    ) -> Result<SetSubnetsOutput, ApiError> {
        load_balancers::set_subnets(self, ctx, input)
    }

    fn describe_load_balancer_attributes(
        &self,
        ctx: &RequestContext,
        input: DescribeLoadBalancerAttributesInput,
    ) -> Result<DescribeLoadBalancerAttributesOutput, ApiError> {
        self.with_region(ctx, |r| attributes::describe_load_balancer(r, input))
    }

    fn modify_load_balancer_attributes(
        &self,
        ctx: &RequestContext,
        input: ModifyLoadBalancerAttributesInput,
    ) -> Result<ModifyLoadBalancerAttributesOutput, ApiError> {
        self.with_region(ctx, |r| attributes::modify_load_balancer(r, input))
    }

    fn create_target_group(
        &self,
        ctx: &RequestContext,
        input: CreateTargetGroupInput,
    ) -> Result<CreateTargetGroupOutput, ApiError> {
        target_groups::create(self, ctx, input)
    }

    fn describe_target_groups(
        &self,
        ctx: &RequestContext,
        input: DescribeTargetGroupsInput,
    ) -> Result<DescribeTargetGroupsOutput, ApiError> {
        self.with_region(ctx, |r| target_groups::describe(r, input))
    }

    fn modify_target_group(
        &self,
        ctx: &RequestContext,
        input: ModifyTargetGroupInput,
    ) -> Result<ModifyTargetGroupOutput, ApiError> {
        self.with_region(ctx, |r| target_groups::modify(r, &self.plane, input))
    }

    fn delete_target_group(
        &self,
        ctx: &RequestContext,
        input: DeleteTargetGroupInput,
    ) -> Result<DeleteTargetGroupOutput, ApiError> {
        self.with_region(ctx, |r| target_groups::delete(r, &self.plane, input))
    }

    fn describe_target_group_attributes(
        &self,
        ctx: &RequestContext,
        input: DescribeTargetGroupAttributesInput,
    ) -> Result<DescribeTargetGroupAttributesOutput, ApiError> {
        self.with_region(ctx, |r| attributes::describe_target_group(r, input))
    }

    fn modify_target_group_attributes(
        &self,
        ctx: &RequestContext,
        input: ModifyTargetGroupAttributesInput,
    ) -> Result<ModifyTargetGroupAttributesOutput, ApiError> {
        self.with_region(ctx, |r| {
            attributes::modify_target_group(r, &self.plane, input)
        })
    }

    fn create_listener(
        &self,
        ctx: &RequestContext,
        input: CreateListenerInput,
    ) -> Result<CreateListenerOutput, ApiError> {
        self.with_region(ctx, |r| listeners::create(r, ctx, &self.plane, input))
    }

    fn describe_listeners(
        &self,
        ctx: &RequestContext,
        input: DescribeListenersInput,
    ) -> Result<DescribeListenersOutput, ApiError> {
        self.with_region(ctx, |r| listeners::describe(r, input))
    }

    fn modify_listener(
        &self,
        ctx: &RequestContext,
        input: ModifyListenerInput,
    ) -> Result<ModifyListenerOutput, ApiError> {
        self.with_region(ctx, |r| listeners::modify(r, &self.plane, input))
    }

    fn delete_listener(
        &self,
        ctx: &RequestContext,
        input: DeleteListenerInput,
    ) -> Result<DeleteListenerOutput, ApiError> {
        self.with_region(ctx, |r| listeners::delete(r, &self.plane, input))
    }

    fn describe_ssl_policies(
        &self,
        _ctx: &RequestContext,
        input: DescribeSSLPoliciesInput,
    ) -> Result<DescribeSSLPoliciesOutput, ApiError> {
        listeners::describe_ssl_policies(input)
    }

    fn create_rule(
        &self,
        ctx: &RequestContext,
        input: CreateRuleInput,
    ) -> Result<CreateRuleOutput, ApiError> {
        self.with_region(ctx, |r| rules::create(r, &self.plane, input))
    }

    fn describe_rules(
        &self,
        ctx: &RequestContext,
        input: DescribeRulesInput,
    ) -> Result<DescribeRulesOutput, ApiError> {
        self.with_region(ctx, |r| rules::describe(r, input))
    }

    fn modify_rule(
        &self,
        ctx: &RequestContext,
        input: ModifyRuleInput,
    ) -> Result<ModifyRuleOutput, ApiError> {
        self.with_region(ctx, |r| rules::modify(r, &self.plane, input))
    }

    fn delete_rule(
        &self,
        ctx: &RequestContext,
        input: DeleteRuleInput,
    ) -> Result<DeleteRuleOutput, ApiError> {
        self.with_region(ctx, |r| rules::delete(r, &self.plane, input))
    }

    fn set_rule_priorities(
        &self,
        ctx: &RequestContext,
        input: SetRulePrioritiesInput,
    ) -> Result<SetRulePrioritiesOutput, ApiError> {
        self.with_region(ctx, |r| rules::set_priorities(r, &self.plane, input))
    }

    fn register_targets(
        &self,
        ctx: &RequestContext,
        input: RegisterTargetsInput,
    ) -> Result<RegisterTargetsOutput, ApiError> {
        targets::register(self, ctx, input)
    }

    fn deregister_targets(
        &self,
        ctx: &RequestContext,
        input: DeregisterTargetsInput,
    ) -> Result<DeregisterTargetsOutput, ApiError> {
        self.with_region(ctx, |r| targets::deregister(r, &self.plane, input))
    }

    fn describe_target_health(
        &self,
        ctx: &RequestContext,
        input: DescribeTargetHealthInput,
    ) -> Result<DescribeTargetHealthOutput, ApiError> {
        self.with_region(ctx, |r| targets::describe_health(r, &self.plane, input))
    }

    fn add_tags(
        &self,
        ctx: &RequestContext,
        input: AddTagsInput,
    ) -> Result<AddTagsOutput, ApiError> {
        self.with_region(ctx, |r| tags::add(r, input))
    }

    fn remove_tags(
        &self,
        ctx: &RequestContext,
        input: RemoveTagsInput,
    ) -> Result<RemoveTagsOutput, ApiError> {
        self.with_region(ctx, |r| tags::remove(r, input))
    }

    fn describe_tags(
        &self,
        ctx: &RequestContext,
        input: DescribeTagsInput,
    ) -> Result<DescribeTagsOutput, ApiError> {
        self.with_region(ctx, |r| tags::describe(r, input))
    }
}

/// Where each listener of every account and region really listens, for
/// `GET /_ecsbox/elbv2/listeners`: DescribeListeners keeps the port the
/// client asked for (so Terraform and CDK see no drift), this tells the
/// local address (another port when that one could not be bound).
pub fn listener_addresses(plane: &LoadBalancing) -> serde_json::Value {
    let mut listeners = plane.listeners();
    listeners.sort();
    serde_json::Value::Array(
        listeners
            .into_iter()
            .map(|(arn, port, addr)| {
                let lb = load_balancer_of_listener(&arn).unwrap_or_default();
                serde_json::json!({
                    "listenerArn": arn,
                    "loadBalancerArn": lb,
                    "port": port,
                    "localAddress": addr.to_string(),
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_aws_rules() {
        assert!(check_name("Load balancer", "my-lb-1").is_ok());
        for bad in ["-a", "a-", "a_b", "", &"x".repeat(33)] {
            let e = check_name("Target group", bad).unwrap_err();
            assert_eq!(e.code, "ValidationError", "{bad}");
            assert!(e.message.starts_with("Target group name"), "{}", e.message);
        }
    }

    #[test]
    fn listener_arns_name_their_load_balancer() {
        let lb = "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/web/0123456789abcdef";
        let listener = "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/web/0123456789abcdef/fedcba9876543210";
        let rule = "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener-rule/app/web/0123456789abcdef/fedcba9876543210/0011223344556677";
        assert_eq!(load_balancer_of_listener(listener).as_deref(), Some(lb));
        assert_eq!(load_balancer_of_listener(rule).as_deref(), Some(lb));
        assert_eq!(load_balancer_of_listener(lb), None);
    }

    #[test]
    fn pages_continue_after_their_marker() {
        let keys: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let (first, next) = page(keys.iter().map(|k| (k, k.clone())), None, Some(2)).unwrap();
        assert_eq!(first, ["a", "b"]);
        let (rest, next) = page(
            keys.iter().map(|k| (k, k.clone())),
            next.as_deref(),
            Some(2),
        )
        .unwrap();
        assert_eq!((rest, next), (vec!["c".to_string()], None));
        assert_eq!(
            page(keys.iter().map(|k| (k, k.clone())), Some("zz"), None)
                .unwrap_err()
                .code,
            "ValidationError"
        );
    }
}
