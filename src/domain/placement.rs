//! Task placement for the EC2 launch type, as pure functions over plain
//! data: which container instance each task of a RunTask goes to, or why
//! none could take it.
//!
//! The order is ECS's (developer guide, "Use strategies to define Amazon ECS
//! task placement"): the instances with the CPU, memory and ports the task
//! needs; of those, the ones that satisfy every placement constraint; then
//! the strategies choose among them, each one breaking the ties of the one
//! before it. Constraints are binding, strategies are best effort. Ties the
//! strategies leave are broken at random, so no strategy at all is ECS's
//! `random` placement for standalone tasks.
//!
//! The messages refusing a request's constraints or strategies are read
//! from the catalogue, `domain::messages::ecsbox` (ecsbox's wording, AWS's
//! not confirmed). The failure reasons an instance is rejected with stay
//! here, beside the checks that give them.

mod pattern;
pub mod query;

use super::messages::ecsbox;
use super::DomainError;
use crate::model::shapes::{
    PlacementConstraint, PlacementStrategy, TaskDefinitionPlacementConstraint,
};
use std::collections::{BTreeMap, BTreeSet};

/// RunTask: "You can specify a maximum of 5 strategy rules for each task."
pub const MAX_STRATEGIES: usize = 5;
/// RunTask: "You can specify up to 10 constraints for each task (including
/// constraints in the task definition and those specified at runtime)."
pub const MAX_CONSTRAINTS: usize = 10;

/// What one task needs of the instance it goes to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Demand {
    /// CPU units and MiB reserved on the instance.
    pub cpu: i64,
    pub memory: i64,
    /// Static host ports (bridge and host network modes).
    pub tcp_ports: Vec<u16>,
    pub udp_ports: Vec<u16>,
    /// Attributes the instance must have (the task definition's requiresAttributes).
    pub attributes: Vec<String>,
}

/// A container instance as placement (and the query language) sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Candidate {
    pub arn: String,
    pub ec2_instance_id: String,
    pub agent_connected: bool,
    pub agent_version: String,
    /// Epoch seconds.
    pub registered_at: f64,
    /// Attribute name -> value (`None` for an attribute without a value).
    pub attributes: BTreeMap<String, Option<String>>,
    pub remaining_cpu: i64,
    pub remaining_memory: i64,
    /// Host ports not free: the instance's reserved ports and its tasks'.
    pub taken_tcp_ports: BTreeSet<u16>,
    pub taken_udp_ports: BTreeSet<u16>,
    pub running_tasks: i64,
    /// The group of each live task on the instance, one entry per task.
    pub groups: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Constraint {
    /// Each task of the group on a different instance.
    DistinctInstance,
    /// Only instances the expression selects.
    MemberOf(query::Expr),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Strategy {
    Random,
    Spread(SpreadField),
    Binpack(BinpackField),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpreadField {
    Instance,
    Attribute(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinpackField {
    Cpu,
    Memory,
}

/// The constraints of a RunTask: the request's and the task definition's.
pub fn constraints(
    requested: &[PlacementConstraint],
    defined: &[TaskDefinitionPlacementConstraint],
) -> Result<Vec<Constraint>, DomainError> {
    let total = requested.len() + defined.len();
    if total > MAX_CONSTRAINTS {
        return Err(DomainError::invalid_parameter(
            ecsbox::placement_constraints_too_many(MAX_CONSTRAINTS, total),
        ));
    }
    let requested = requested
        .iter()
        .map(|c| (c.r#type.as_deref(), c.expression.as_deref()));
    let defined = defined
        .iter()
        .map(|c| (c.r#type.as_deref(), c.expression.as_deref()));
    requested
        .chain(defined)
        .map(|(kind, expression)| constraint(kind, expression))
        .collect()
}

fn constraint(kind: Option<&str>, expression: Option<&str>) -> Result<Constraint, DomainError> {
    let expression = expression.filter(|e| !e.trim().is_empty());
    match (kind, expression) {
        (Some("distinctInstance"), None) => Ok(Constraint::DistinctInstance),
        (Some("distinctInstance"), Some(_)) => Err(DomainError::invalid_parameter(
            ecsbox::DISTINCT_INSTANCE_EXPRESSION,
        )),
        (Some("memberOf"), Some(e)) => query::parse(e).map(Constraint::MemberOf).map_err(|why| {
            DomainError::invalid_parameter(ecsbox::placement_expression_invalid(e, &why))
        }),
        (Some("memberOf"), None) => Err(DomainError::invalid_parameter(
            ecsbox::MEMBER_OF_EXPRESSION_MISSING,
        )),
        _ => Err(DomainError::invalid_parameter(
            ecsbox::PLACEMENT_CONSTRAINT_TYPE,
        )),
    }
}

/// The strategies of a RunTask, in the order they apply.
pub fn strategies(requested: &[PlacementStrategy]) -> Result<Vec<Strategy>, DomainError> {
    if requested.len() > MAX_STRATEGIES {
        return Err(DomainError::invalid_parameter(
            ecsbox::placement_strategies_too_many(MAX_STRATEGIES, requested.len()),
        ));
    }
    requested.iter().map(strategy).collect()
}

fn strategy(s: &PlacementStrategy) -> Result<Strategy, DomainError> {
    let field = s.field.as_deref().unwrap_or("");
    match s.r#type.as_deref() {
        // "For the random placement strategy, this field is not used."
        Some("random") => Ok(Strategy::Random),
        Some("spread") => {
            if field.eq_ignore_ascii_case("instanceId") || field.eq_ignore_ascii_case("host") {
                return Ok(Strategy::Spread(SpreadField::Instance));
            }
            match field
                .strip_prefix("attribute:")
                .filter(|name| !name.is_empty())
            {
                Some(name) => Ok(Strategy::Spread(SpreadField::Attribute(name.to_string()))),
                None => Err(DomainError::invalid_parameter(
                    ecsbox::spread_field_invalid(field),
                )),
            }
        }
        Some("binpack") => match field.to_ascii_lowercase().as_str() {
            "cpu" => Ok(Strategy::Binpack(BinpackField::Cpu)),
            "memory" => Ok(Strategy::Binpack(BinpackField::Memory)),
            _ => Err(DomainError::invalid_parameter(
                ecsbox::binpack_field_invalid(field),
            )),
        },
        _ => Err(DomainError::invalid_parameter(
            ecsbox::PLACEMENT_STRATEGY_TYPE,
        )),
    }
}

/// One placement decision: `count` tasks of `group`, each needing `demand`.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub demand: &'a Demand,
    pub group: &'a str,
    pub count: usize,
    pub constraints: &'a [Constraint],
    pub strategies: &'a [Strategy],
    /// Seeds the random choices (the random strategy and the last ties).
    pub seed: u64,
}

/// Why an instance refused a task, as a RunTask failure reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub instance_arn: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// For each task placed, in order: the index of its instance among the candidates.
    pub placed: Vec<usize>,
    /// How many tasks no instance could take.
    pub unplaced: usize,
    /// For those: why each instance refused (each instance and reason once).
    pub rejections: Vec<Rejection>,
}

/// Places the tasks one after the other; each placed task takes its share
/// of its instance before the next one is placed.
pub fn place(candidates: &mut [Candidate], request: &Request) -> Outcome {
    let mut outcome = Outcome::default();
    for task in 0..request.count {
        let eligible: Vec<usize> = (0..candidates.len())
            .filter(|&i| rejection(&candidates[i], request).is_none())
            .collect();
        match choose(candidates, &eligible, request, task) {
            Some(i) => {
                take(&mut candidates[i], request.demand, request.group);
                outcome.placed.push(i);
            }
            None => {
                outcome.unplaced += 1;
                for c in candidates.iter() {
                    let Some(reason) = rejection(c, request) else {
                        continue;
                    };
                    let r = Rejection {
                        instance_arn: c.arn.clone(),
                        reason: reason.to_string(),
                    };
                    if !outcome.rejections.contains(&r) {
                        outcome.rejections.push(r);
                    }
                }
            }
        }
    }
    outcome
}

/// The reason an instance cannot take a task (AWS's words), or None.
fn rejection(c: &Candidate, request: &Request) -> Option<&'static str> {
    if let Err(reason) = fits(c, request.demand) {
        return Some(reason);
    }
    request
        .constraints
        .iter()
        .find_map(|constraint| match constraint {
            Constraint::DistinctInstance if c.groups.iter().any(|g| g == request.group) => {
                Some("DistinctInstance placement constraint unsatisfied.")
            }
            Constraint::MemberOf(expr) if !expr.matches(c) => {
                Some("MemberOf placement constraint unsatisfied.")
            }
            _ => None,
        })
}

/// Whether the instance has what the task needs, whatever the constraints
/// (StartTask asks only this); the error is the failure reason AWS gives:
/// `AGENT`, `RESOURCE:CPU`, `RESOURCE:MEMORY`, `RESOURCE:PORTS`,
/// `RESOURCE:PORTS_UDP` or `ATTRIBUTE`.
pub fn fits(c: &Candidate, demand: &Demand) -> Result<(), &'static str> {
    if !c.agent_connected {
        return Err("AGENT");
    }
    if demand.cpu > c.remaining_cpu {
        return Err("RESOURCE:CPU");
    }
    if demand.memory > c.remaining_memory {
        return Err("RESOURCE:MEMORY");
    }
    if demand
        .tcp_ports
        .iter()
        .any(|p| c.taken_tcp_ports.contains(p))
    {
        return Err("RESOURCE:PORTS");
    }
    if demand
        .udp_ports
        .iter()
        .any(|p| c.taken_udp_ports.contains(p))
    {
        return Err("RESOURCE:PORTS_UDP");
    }
    if demand
        .attributes
        .iter()
        .any(|a| !c.attributes.contains_key(a))
    {
        return Err("ATTRIBUTE");
    }
    Ok(())
}

/// The task's share of the instance, taken.
pub fn take(c: &mut Candidate, demand: &Demand, group: &str) {
    c.remaining_cpu -= demand.cpu;
    c.remaining_memory -= demand.memory;
    c.taken_tcp_ports.extend(demand.tcp_ports.iter().copied());
    c.taken_udp_ports.extend(demand.udp_ports.iter().copied());
    c.groups.push(group.to_string());
}

/// The best eligible instance: lowest score of the first strategy, its ties
/// broken by the next, and so on; the last ties at random.
fn choose(
    candidates: &[Candidate],
    eligible: &[usize],
    request: &Request,
    task: usize,
) -> Option<usize> {
    eligible.iter().copied().min_by(|&a, &b| {
        request
            .strategies
            .iter()
            .map(|s| {
                score(s, candidates, a, request, task).cmp(&score(s, candidates, b, request, task))
            })
            .find(|o| o.is_ne())
            .unwrap_or_else(|| {
                noise(request.seed, task, &candidates[a].arn).cmp(&noise(
                    request.seed,
                    task,
                    &candidates[b].arn,
                ))
            })
    })
}

/// How little an instance is wanted by one strategy (lower is better).
fn score(
    strategy: &Strategy,
    candidates: &[Candidate],
    i: usize,
    request: &Request,
    task: usize,
) -> i128 {
    let c = &candidates[i];
    let in_group = |c: &Candidate| c.groups.iter().filter(|g| *g == request.group).count() as i128;
    match strategy {
        Strategy::Random => noise(request.seed ^ 0x5bd1_e995, task, &c.arn) as i128,
        Strategy::Binpack(BinpackField::Cpu) => c.remaining_cpu as i128,
        Strategy::Binpack(BinpackField::Memory) => c.remaining_memory as i128,
        // Standalone tasks are spread over the tasks of their group.
        Strategy::Spread(SpreadField::Instance) => in_group(c),
        Strategy::Spread(SpreadField::Attribute(name)) => {
            let value = c.attributes.get(name);
            candidates
                .iter()
                .filter(|o| o.attributes.get(name) == value)
                .map(in_group)
                .sum()
        }
    }
}

/// A pseudo-random number per (seed, task, instance): splitmix64 over FNV-1a.
fn noise(seed: u64, task: usize, arn: &str) -> u64 {
    let fnv = arn.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    });
    let mut z = seed ^ fnv ^ (task as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(n: usize, az: &str, cpu: i64, memory: i64) -> Candidate {
        let mut attributes = BTreeMap::new();
        attributes.insert("ecs.availability-zone".to_string(), Some(az.to_string()));
        attributes.insert(
            "ecs.instance-type".to_string(),
            Some(if n == 0 { "t2.micro" } else { "m5.large" }.to_string()),
        );
        Candidate {
            arn: format!("arn:aws:ecs:us-east-1:000000000000:container-instance/c/{n}"),
            ec2_instance_id: format!("i-{n:017}"),
            agent_connected: true,
            agent_version: "1.82.1".into(),
            attributes,
            remaining_cpu: cpu,
            remaining_memory: memory,
            taken_tcp_ports: [22, 2375, 2376, 51678, 51679].into_iter().collect(),
            ..Default::default()
        }
    }

    fn three_azs() -> Vec<Candidate> {
        vec![
            instance(0, "us-east-1a", 2048, 7680),
            instance(1, "us-east-1b", 2048, 7680),
            instance(2, "us-east-1c", 2048, 7680),
        ]
    }

    fn demand(cpu: i64, memory: i64) -> Demand {
        Demand {
            cpu,
            memory,
            ..Default::default()
        }
    }

    fn request<'a>(
        d: &'a Demand,
        count: usize,
        constraints: &'a [Constraint],
        strategies: &'a [Strategy],
    ) -> Request<'a> {
        Request {
            demand: d,
            group: "family:web",
            count,
            constraints,
            strategies,
            seed: 42,
        }
    }

    fn member_of(e: &str) -> Constraint {
        constraint(Some("memberOf"), Some(e)).unwrap()
    }

    #[test]
    fn a_task_too_big_for_every_instance_fails_with_the_resource_aws_names() {
        let mut c = three_azs();
        let big_memory = demand(128, 8000);
        let out = place(&mut c, &request(&big_memory, 1, &[], &[]));
        assert_eq!((out.placed.len(), out.unplaced), (0, 1));
        assert_eq!(
            out.rejections.len(),
            3,
            "one failure per instance: {:?}",
            out.rejections
        );
        assert!(out.rejections.iter().all(|r| r.reason == "RESOURCE:MEMORY"));
        assert_eq!(out.rejections[0].instance_arn, c[0].arn);

        let big_cpu = demand(4096, 128);
        let out = place(&mut c, &request(&big_cpu, 1, &[], &[]));
        assert_eq!(out.rejections[0].reason, "RESOURCE:CPU");
    }

    #[test]
    fn placed_tasks_use_up_the_instance() {
        let mut c = vec![instance(0, "us-east-1a", 1024, 1000)];
        let d = demand(256, 400);
        let out = place(&mut c, &request(&d, 3, &[], &[]));
        assert_eq!(out.placed, vec![0, 0]);
        assert_eq!(out.unplaced, 1);
        assert_eq!(
            out.rejections,
            vec![Rejection {
                instance_arn: c[0].arn.clone(),
                reason: "RESOURCE:MEMORY".into()
            }]
        );
        assert_eq!((c[0].remaining_cpu, c[0].remaining_memory), (512, 200));
        assert_eq!(c[0].groups.len(), 2);
    }

    #[test]
    fn static_host_ports_are_taken_once_per_instance() {
        let mut c = vec![
            instance(0, "us-east-1a", 2048, 7680),
            instance(1, "us-east-1b", 2048, 7680),
        ];
        let d = Demand {
            cpu: 10,
            memory: 10,
            tcp_ports: vec![8080],
            ..Default::default()
        };
        let out = place(&mut c, &request(&d, 3, &[], &[]));
        assert_eq!(out.placed.len(), 2);
        assert_ne!(out.placed[0], out.placed[1]);
        assert!(out.rejections.iter().all(|r| r.reason == "RESOURCE:PORTS"));
        // The agent's reserved ports are never free.
        let ssh = Demand {
            tcp_ports: vec![22],
            ..Default::default()
        };
        let out = place(&mut c, &request(&ssh, 1, &[], &[]));
        assert_eq!(out.unplaced, 1);
        let udp = Demand {
            udp_ports: vec![8080],
            ..Default::default()
        };
        assert_eq!(
            place(&mut c, &request(&udp, 1, &[], &[])).placed.len(),
            1,
            "UDP ports are their own resource"
        );
    }

    #[test]
    fn required_attributes_and_a_disconnected_agent() {
        let mut c = vec![instance(0, "us-east-1a", 2048, 7680)];
        let d = Demand {
            attributes: vec!["ecs.capability.efs".into()],
            ..Default::default()
        };
        assert_eq!(
            place(&mut c, &request(&d, 1, &[], &[])).rejections[0].reason,
            "ATTRIBUTE"
        );
        c[0].agent_connected = false;
        assert_eq!(fits(&c[0], &demand(0, 0)), Err("AGENT"));
    }

    #[test]
    fn spread_over_availability_zones_puts_one_task_in_each() {
        let spread = [Strategy::Spread(SpreadField::Attribute(
            "ecs.availability-zone".into(),
        ))];
        for seed in 0..20 {
            let mut c = three_azs();
            let d = demand(128, 128);
            let out = place(
                &mut c,
                &Request {
                    seed,
                    ..request(&d, 6, &[], &spread)
                },
            );
            let mut per_instance = [0; 3];
            for i in out.placed {
                per_instance[i] += 1;
            }
            assert_eq!(per_instance, [2, 2, 2], "seed {seed}");
        }
    }

    #[test]
    fn spread_counts_only_the_tasks_of_the_same_group() {
        let mut c = three_azs();
        c[0].groups = vec!["family:other".into(); 5];
        c[1].groups = vec!["family:web".into()];
        c[2].groups = vec!["family:web".into()];
        let d = demand(1, 1);
        let spread = [Strategy::Spread(SpreadField::Instance)];
        assert_eq!(place(&mut c, &request(&d, 1, &[], &spread)).placed, vec![0]);
    }

    #[test]
    fn binpack_fills_the_fullest_instance_first() {
        let mut c = vec![
            instance(0, "us-east-1a", 2048, 4000),
            instance(1, "us-east-1b", 2048, 1000),
            instance(2, "us-east-1c", 2048, 7680),
        ];
        let d = demand(10, 400);
        let binpack = [Strategy::Binpack(BinpackField::Memory)];
        let out = place(&mut c, &request(&d, 4, &[], &binpack));
        // Instance 1 holds two (1000 -> 600 -> 200), then instance 0.
        assert_eq!(out.placed, vec![1, 1, 0, 0]);
        let mut c = vec![
            instance(0, "us-east-1a", 1024, 7680),
            instance(1, "us-east-1b", 2048, 1000),
        ];
        let cpu = [Strategy::Binpack(BinpackField::Cpu)];
        assert_eq!(place(&mut c, &request(&d, 1, &[], &cpu)).placed, vec![0]);
    }

    #[test]
    fn later_strategies_break_the_ties_of_earlier_ones() {
        // Spread over AZs, then binpack memory within the AZ: a and b tie on
        // the spread; the fuller of them wins.
        let mut c = vec![
            instance(0, "us-east-1a", 2048, 7000),
            instance(1, "us-east-1a", 2048, 3000),
            instance(2, "us-east-1b", 2048, 5000),
        ];
        c[2].groups = vec!["family:web".into()];
        let strategies = [
            Strategy::Spread(SpreadField::Attribute("ecs.availability-zone".into())),
            Strategy::Binpack(BinpackField::Memory),
        ];
        let d = demand(1, 1);
        assert_eq!(
            place(&mut c, &request(&d, 1, &[], &strategies)).placed,
            vec![1]
        );
    }

    #[test]
    fn random_depends_on_the_seed_and_only_picks_eligible_instances() {
        let d = demand(1, 1);
        let random = [Strategy::Random];
        let picks: BTreeSet<usize> = (0..40)
            .map(|seed| {
                place(
                    &mut three_azs(),
                    &Request {
                        seed,
                        ..request(&d, 1, &[], &random)
                    },
                )
                .placed[0]
            })
            .collect();
        assert_eq!(picks.len(), 3, "every instance is picked for some seed");
        let same = |seed| {
            place(
                &mut three_azs(),
                &Request {
                    seed,
                    ..request(&d, 1, &[], &random)
                },
            )
            .placed
        };
        assert_eq!(same(7), same(7));
        let mut c = three_azs();
        c[1].remaining_memory = 0;
        c[2].remaining_memory = 0;
        assert_eq!(place(&mut c, &request(&d, 1, &[], &random)).placed, vec![0]);
    }

    #[test]
    fn distinct_instance_counts_the_groups_tasks_already_there() {
        let mut c = three_azs();
        c[0].groups = vec!["family:web".into()];
        let d = demand(1, 1);
        let distinct = [Constraint::DistinctInstance];
        let out = place(&mut c, &request(&d, 3, &distinct, &[]));
        let placed: BTreeSet<usize> = out.placed.iter().copied().collect();
        assert_eq!(placed, [1, 2].into_iter().collect());
        assert_eq!(out.unplaced, 1);
        assert!(out
            .rejections
            .iter()
            .all(|r| r.reason == "DistinctInstance placement constraint unsatisfied."));
        assert_eq!(out.rejections.len(), 3);
    }

    #[test]
    fn member_of_keeps_to_the_instances_it_selects() {
        let mut c = three_azs();
        let d = demand(1, 1);
        let only_b = [member_of("attribute:ecs.availability-zone == us-east-1b")];
        let out = place(&mut c, &request(&d, 2, &only_b, &[]));
        assert_eq!(out.placed, vec![1, 1]);
        let micro = [member_of("attribute:ecs.instance-type == t2.micro")];
        assert_eq!(place(&mut c, &request(&d, 1, &micro, &[])).placed, vec![0]);
        let nowhere = [member_of("attribute:ecs.instance-type in [g2.2xlarge]")];
        let out = place(&mut c, &request(&d, 1, &nowhere, &[]));
        assert_eq!(
            out.rejections[0].reason,
            "MemberOf placement constraint unsatisfied."
        );
        // Resources come before constraints in the reason given.
        let huge = demand(1, 100_000);
        assert_eq!(
            place(&mut c, &request(&huge, 1, &nowhere, &[])).rejections[0].reason,
            "RESOURCE:MEMORY"
        );
    }

    #[test]
    fn constraints_are_checked_as_aws_does() {
        let pc = |t: &str, e: Option<&str>| PlacementConstraint {
            r#type: Some(t.into()),
            expression: e.map(String::from),
        };
        let td = |e: &str| TaskDefinitionPlacementConstraint {
            r#type: Some("memberOf".into()),
            expression: Some(e.into()),
        };
        assert_eq!(
            constraints(
                &[pc("distinctInstance", None)],
                &[td("attribute:stack == prod")]
            )
            .unwrap()
            .len(),
            2,
            "the task definition's constraints apply too"
        );
        assert!(constraints(&[pc("distinctInstance", Some("attribute:x == y"))], &[]).is_err());
        assert!(constraints(&[pc("memberOf", None)], &[]).is_err());
        let err = constraints(&[pc("memberOf", Some("attribute:x = y"))], &[]).unwrap_err();
        assert_eq!(err.code.as_str(), "InvalidParameterException");
        assert!(err.message.contains("attribute:x = y"), "{}", err.message);
        let eleven: Vec<_> = (0..6).map(|_| pc("distinctInstance", None)).collect();
        let five: Vec<_> = (0..5).map(|_| td("attribute:x == y")).collect();
        assert!(constraints(&eleven, &five)
            .unwrap_err()
            .message
            .contains("at most 10"));
    }

    #[test]
    fn strategies_are_checked_as_aws_does() {
        let ps = |t: &str, f: Option<&str>| PlacementStrategy {
            r#type: Some(t.into()),
            field: f.map(String::from),
        };
        assert_eq!(
            strategies(&[
                ps("spread", Some("host")),
                ps("binpack", Some("MEMORY")),
                ps("random", None)
            ])
            .unwrap(),
            vec![
                Strategy::Spread(SpreadField::Instance),
                Strategy::Binpack(BinpackField::Memory),
                Strategy::Random
            ]
        );
        assert_eq!(
            strategies(&[ps("spread", Some("attribute:ecs.availability-zone"))]).unwrap(),
            vec![Strategy::Spread(SpreadField::Attribute(
                "ecs.availability-zone".into()
            ))]
        );
        for bad in [
            ps("binpack", Some("disk")),
            ps("binpack", None),
            ps("spread", None),
            ps("spread", Some("az")),
        ] {
            assert_eq!(
                strategies(std::slice::from_ref(&bad))
                    .unwrap_err()
                    .code
                    .as_str(),
                "InvalidParameterException",
                "{bad:?}"
            );
        }
        let six: Vec<_> = (0..6).map(|_| ps("random", None)).collect();
        assert!(strategies(&six).unwrap_err().message.contains("at most 5"));
    }
}
