//! Placement of EC2 tasks over a cluster's virtual container instances,
//! through the real aws-sdk-ecs client: spread, binpack, random,
//! distinctInstance, memberOf (the request's and the task definition's),
//! and the checks RunTask makes on strategies and constraints.
mod common;

use aws_sdk_ecs::types::{
    ContainerDefinition, PlacementConstraint, PlacementConstraintType, PlacementStrategy,
    PlacementStrategyType, Tag, TaskDefinitionPlacementConstraint,
    TaskDefinitionPlacementConstraintType,
};
use common::{code, TestServer};
use ecsbox::runtime::fake::FakeRuntime;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

type Ecs = aws_sdk_ecs::Client;

/// A server with cluster "c" of `n` virtual m5.large instances (zones a, b, c, a, ...)
/// and a bridge task definition "web" of 128 CPU units and `memory` MiB.
async fn setup(n: u32, memory: i32) -> (TestServer, Ecs) {
    let fake = Arc::new(FakeRuntime::new());
    fake.add_image("app:1");
    let server = TestServer::start_on(ecsbox::config::Config::for_tests(), fake).await;
    let ecs = server.client();
    ecs.create_cluster()
        .cluster_name("c")
        .tags(
            Tag::builder()
                .key("ecsbox:container-instances")
                .value(n.to_string())
                .build(),
        )
        .send()
        .await
        .unwrap();
    register(&ecs, "web", memory, None).await;
    (server, ecs)
}

async fn register(ecs: &Ecs, family: &str, memory: i32, constraint: Option<&str>) {
    let mut td = ecs
        .register_task_definition()
        .family(family)
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image("app:1")
                .cpu(128)
                .memory(memory)
                .build(),
        );
    if let Some(expression) = constraint {
        td = td.placement_constraints(
            TaskDefinitionPlacementConstraint::builder()
                .r#type(TaskDefinitionPlacementConstraintType::MemberOf)
                .expression(expression)
                .build(),
        );
    }
    td.send().await.unwrap();
}

fn strategy(kind: PlacementStrategyType, field: &str) -> PlacementStrategy {
    PlacementStrategy::builder()
        .r#type(kind)
        .field(field)
        .build()
}

fn member_of(expression: &str) -> PlacementConstraint {
    PlacementConstraint::builder()
        .r#type(PlacementConstraintType::MemberOf)
        .expression(expression)
        .build()
}

fn distinct() -> PlacementConstraint {
    PlacementConstraint::builder()
        .r#type(PlacementConstraintType::DistinctInstance)
        .build()
}

/// How many of the tasks went to each zone and to each instance.
fn spread_of(
    tasks: &[aws_sdk_ecs::types::Task],
) -> (BTreeMap<String, usize>, BTreeMap<String, usize>) {
    let (mut zones, mut instances) = (BTreeMap::new(), BTreeMap::new());
    for t in tasks {
        *zones
            .entry(t.availability_zone().unwrap().to_string())
            .or_default() += 1;
        *instances
            .entry(t.container_instance_arn().unwrap().to_string())
            .or_default() += 1;
    }
    (zones, instances)
}

#[tokio::test]
async fn spread_over_zones_puts_a_task_in_each() {
    let (_s, ecs) = setup(3, 64).await;
    let out = ecs
        .run_task()
        .cluster("c")
        .task_definition("web")
        .count(6)
        .placement_strategy(strategy(
            PlacementStrategyType::Spread,
            "attribute:ecs.availability-zone",
        ))
        .send()
        .await
        .unwrap();
    let (zones, _) = spread_of(out.tasks());
    assert_eq!(
        zones.values().copied().collect::<Vec<_>>(),
        vec![2, 2, 2],
        "{zones:?}"
    );
    // DescribeTasks says where they went.
    let arn = out.tasks()[0].task_arn().unwrap();
    let d = ecs
        .describe_tasks()
        .cluster("c")
        .tasks(arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        d.tasks()[0].container_instance_arn(),
        out.tasks()[0].container_instance_arn()
    );
    assert_eq!(
        d.tasks()[0].availability_zone(),
        out.tasks()[0].availability_zone()
    );
}

#[tokio::test]
async fn spread_by_instance_and_random_keep_to_the_instances() {
    let (_s, ecs) = setup(2, 64).await;
    let out = ecs
        .run_task()
        .cluster("c")
        .task_definition("web")
        .count(4)
        .placement_strategy(strategy(PlacementStrategyType::Spread, "instanceId"))
        .send()
        .await
        .unwrap();
    let (_, instances) = spread_of(out.tasks());
    assert_eq!(instances.values().copied().collect::<Vec<_>>(), vec![2, 2]);
    let random = PlacementStrategy::builder()
        .r#type(PlacementStrategyType::Random)
        .build();
    let out = ecs
        .run_task()
        .cluster("c")
        .task_definition("web")
        .count(3)
        .placement_strategy(random)
        .send()
        .await
        .unwrap();
    assert_eq!(out.tasks().len(), 3);
}

#[tokio::test]
async fn binpack_fills_one_instance_before_the_next() {
    // 7680 MiB per instance: three 3000 MiB tasks need two instances.
    let (_s, ecs) = setup(3, 3000).await;
    let out = ecs
        .run_task()
        .cluster("c")
        .task_definition("web")
        .count(3)
        .placement_strategy(strategy(PlacementStrategyType::Binpack, "memory"))
        .send()
        .await
        .unwrap();
    let (_, instances) = spread_of(out.tasks());
    let mut counts: Vec<usize> = instances.values().copied().collect();
    counts.sort();
    assert_eq!(counts, vec![1, 2], "{instances:?}");
    // The next task goes to the fuller instance, the one with one task (4680 MiB left).
    let next = ecs
        .run_task()
        .cluster("c")
        .task_definition("web")
        .placement_strategy(strategy(PlacementStrategyType::Binpack, "memory"))
        .send()
        .await
        .unwrap();
    let fuller = instances.iter().find(|(_, n)| **n == 1).unwrap().0;
    assert_eq!(
        next.tasks()[0].container_instance_arn(),
        Some(fuller.as_str())
    );
}

#[tokio::test]
async fn distinct_instance_fails_the_tasks_that_would_share() {
    let (_s, ecs) = setup(3, 64).await;
    let out = ecs
        .run_task()
        .cluster("c")
        .task_definition("web")
        .count(4)
        .placement_constraints(distinct())
        .send()
        .await
        .unwrap();
    let (_, instances) = spread_of(out.tasks());
    assert_eq!(instances.len(), 3);
    assert!(instances.values().all(|n| *n == 1));
    // The fourth: every instance refuses it, each named in a failure.
    assert_eq!(out.failures().len(), 3);
    assert!(out
        .failures()
        .iter()
        .all(|f| f.reason() == Some("DistinctInstance placement constraint unsatisfied.")));
    let refused: BTreeSet<&str> = out.failures().iter().map(|f| f.arn().unwrap()).collect();
    assert_eq!(refused.len(), 3);
    // The group's tasks already running count too; another group is free.
    let again = ecs
        .run_task()
        .cluster("c")
        .task_definition("web")
        .placement_constraints(distinct())
        .send()
        .await
        .unwrap();
    assert!(again.tasks().is_empty());
    let other = ecs
        .run_task()
        .cluster("c")
        .task_definition("web")
        .group("batch")
        .placement_constraints(distinct())
        .send()
        .await
        .unwrap();
    assert_eq!(other.tasks().len(), 1);
}

#[tokio::test]
async fn member_of_keeps_tasks_to_the_instances_it_selects() {
    let (_s, ecs) = setup(3, 64).await;
    let out = ecs
        .run_task()
        .cluster("c")
        .task_definition("web")
        .count(3)
        .placement_constraints(member_of("attribute:ecs.availability-zone == us-east-1b"))
        .send()
        .await
        .unwrap();
    let (zones, _) = spread_of(out.tasks());
    assert_eq!(zones.keys().collect::<Vec<_>>(), vec!["us-east-1b"]);
    let none = ecs
        .run_task()
        .cluster("c")
        .task_definition("web")
        .placement_constraints(member_of("attribute:ecs.instance-type == t2.micro"))
        .send()
        .await
        .unwrap();
    assert!(none.tasks().is_empty());
    assert!(none
        .failures()
        .iter()
        .all(|f| f.reason() == Some("MemberOf placement constraint unsatisfied.")));
    // The task definition's own constraint applies as well.
    register(
        &ecs,
        "pinned",
        64,
        Some("attribute:ecs.availability-zone in [us-east-1c]"),
    )
    .await;
    let pinned = ecs
        .run_task()
        .cluster("c")
        .task_definition("pinned")
        .count(2)
        .send()
        .await
        .unwrap();
    assert!(pinned
        .tasks()
        .iter()
        .all(|t| t.availability_zone() == Some("us-east-1c")));
    // task:group affinity: beside the web tasks in zone b.
    let beside = ecs
        .run_task()
        .cluster("c")
        .task_definition("pinned")
        .group("sidecars")
        .placement_constraints(member_of("task:group == family:web"))
        .send()
        .await
        .unwrap();
    assert!(
        beside.tasks().is_empty(),
        "pinned to zone c, where no web task is: {:?}",
        beside.tasks()
    );
}

#[tokio::test]
async fn bad_strategies_and_constraints_are_refused_and_change_nothing() {
    let (_s, ecs) = setup(1, 64).await;
    let malformed = ecs
        .run_task()
        .cluster("c")
        .task_definition("web")
        .placement_constraints(member_of("attribute:ecs.instance-type = t2.micro"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&malformed), "InvalidParameterException");
    let bad_field = ecs
        .run_task()
        .cluster("c")
        .task_definition("web")
        .placement_strategy(strategy(PlacementStrategyType::Binpack, "disk"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&bad_field), "InvalidParameterException");
    let mut six = ecs.run_task().cluster("c").task_definition("web");
    for _ in 0..6 {
        six = six.placement_strategy(strategy(PlacementStrategyType::Spread, "instanceId"));
    }
    assert_eq!(
        code(&six.send().await.unwrap_err()),
        "InvalidParameterException"
    );
    let mut eleven = ecs.run_task().cluster("c").task_definition("web");
    for _ in 0..11 {
        eleven = eleven.placement_constraints(distinct());
    }
    assert_eq!(
        code(&eleven.send().await.unwrap_err()),
        "InvalidParameterException"
    );
    let with_expression = PlacementConstraint::builder()
        .r#type(PlacementConstraintType::DistinctInstance)
        .expression("attribute:x == y")
        .build();
    let err = ecs
        .run_task()
        .cluster("c")
        .task_definition("web")
        .placement_constraints(with_expression)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    assert!(ecs
        .list_tasks()
        .cluster("c")
        .send()
        .await
        .unwrap()
        .task_arns()
        .is_empty());
}
