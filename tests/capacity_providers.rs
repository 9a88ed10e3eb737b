//! Capacity providers through the real aws-sdk-ecs client.
mod common;

use aws_sdk_ecs::types::{
    AutoScalingGroupProvider, AutoScalingGroupProviderUpdate, CapacityProviderField,
    ManagedDraining, ManagedScaling, ManagedScalingStatus, ManagedTerminationProtection, Tag,
};
use common::{code, TestServer};

const ASG: &str =
    "arn:aws:autoscaling:us-east-1:000000000000:autoScalingGroup:1a2b:autoScalingGroupName/asg-1";

fn asg(arn: &str) -> AutoScalingGroupProvider {
    AutoScalingGroupProvider::builder()
        .auto_scaling_group_arn(arn)
        .build()
        .unwrap()
}

async fn create(
    ecs: &aws_sdk_ecs::Client,
    name: &str,
    asg_arn: &str,
) -> aws_sdk_ecs::types::CapacityProvider {
    ecs.create_capacity_provider()
        .name(name)
        .auto_scaling_group_provider(asg(asg_arn))
        .send()
        .await
        .unwrap()
        .capacity_provider
        .unwrap()
}

/// Names of every provider DescribeCapacityProviders lists with no arguments.
async fn all_names(ecs: &aws_sdk_ecs::Client) -> Vec<String> {
    let d = ecs.describe_capacity_providers().send().await.unwrap();
    d.capacity_providers()
        .iter()
        .map(|c| c.name().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn create_fills_aws_defaults_and_describe_finds_it() {
    let server = TestServer::start().await;
    let ecs = server.client();
    let created = ecs
        .create_capacity_provider()
        .name("cp1")
        .auto_scaling_group_provider(asg(ASG))
        .tags(Tag::builder().key("team").value("a").build())
        .send()
        .await
        .unwrap()
        .capacity_provider
        .unwrap();
    assert_eq!(
        created.capacity_provider_arn(),
        Some("arn:aws:ecs:us-east-1:000000000000:capacity-provider/cp1")
    );
    assert_eq!(created.status().map(|s| s.as_str()), Some("ACTIVE"));
    assert_eq!(
        created.r#type().map(|t| t.as_str()),
        Some("EC2_AUTOSCALING")
    );
    let p = created.auto_scaling_group_provider().unwrap();
    assert_eq!(p.auto_scaling_group_arn(), ASG);
    assert_eq!(
        p.managed_termination_protection(),
        Some(&ManagedTerminationProtection::Disabled)
    );
    assert_eq!(p.managed_draining(), Some(&ManagedDraining::Enabled));
    let s = p.managed_scaling().unwrap();
    assert_eq!(s.status(), Some(&ManagedScalingStatus::Disabled));
    assert_eq!(
        (
            s.target_capacity(),
            s.minimum_scaling_step_size(),
            s.maximum_scaling_step_size(),
            s.instance_warmup_period()
        ),
        (Some(100), Some(1), Some(10000), Some(300))
    );
    assert_eq!(created.tags()[0].key(), Some("team"));

    // By ARN, with TAGS; without TAGS the tags are left out.
    let d = ecs
        .describe_capacity_providers()
        .capacity_providers(created.capacity_provider_arn().unwrap())
        .include(CapacityProviderField::Tags)
        .send()
        .await
        .unwrap();
    assert_eq!(d.capacity_providers()[0].name(), Some("cp1"));
    assert_eq!(d.capacity_providers()[0].tags()[0].value(), Some("a"));
    let d = ecs
        .describe_capacity_providers()
        .capacity_providers("cp1")
        .send()
        .await
        .unwrap();
    assert!(d.capacity_providers()[0].tags.is_none());
}

#[tokio::test]
async fn describe_all_shows_fargate_providers_and_missing_ones_as_failures() {
    let server = TestServer::start().await;
    let ecs = server.client();
    assert_eq!(all_names(&ecs).await, ["FARGATE", "FARGATE_SPOT"]);
    create(&ecs, "cp1", ASG).await;
    assert_eq!(all_names(&ecs).await, ["FARGATE", "FARGATE_SPOT", "cp1"]);

    let d = ecs
        .describe_capacity_providers()
        .capacity_providers("FARGATE")
        .capacity_providers("ghost")
        .send()
        .await
        .unwrap();
    let fargate = &d.capacity_providers()[0];
    assert_eq!(
        fargate.capacity_provider_arn(),
        Some("arn:aws:ecs:us-east-1:000000000000:capacity-provider/FARGATE")
    );
    assert_eq!(fargate.r#type().map(|t| t.as_str()), Some("FARGATE"));
    assert_eq!(
        d.failures()[0].arn(),
        Some("arn:aws:ecs:us-east-1:000000000000:capacity-provider/ghost")
    );
    assert_eq!(d.failures()[0].reason(), Some("MISSING"));

    // Another region's ARN names nothing here.
    let other = "arn:aws:ecs:eu-west-1:000000000000:capacity-provider/cp1";
    let d = ecs
        .describe_capacity_providers()
        .capacity_providers(other)
        .send()
        .await
        .unwrap();
    assert!(d.capacity_providers().is_empty());
    assert_eq!(d.failures()[0].arn(), Some(other));
}

#[tokio::test]
async fn describe_paginates() {
    let server = TestServer::start().await;
    let ecs = server.client();
    for i in 0..3 {
        create(&ecs, &format!("cp{i}"), &format!("{ASG}{i}")).await;
    }
    let mut names = vec![];
    let mut token = None;
    loop {
        let page = ecs
            .describe_capacity_providers()
            .max_results(2)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        assert!(page.capacity_providers().len() <= 2);
        names.extend(
            page.capacity_providers()
                .iter()
                .map(|c| c.name().unwrap().to_string()),
        );
        token = page.next_token.clone();
        if token.is_none() {
            break;
        }
    }
    assert_eq!(names, ["FARGATE", "FARGATE_SPOT", "cp0", "cp1", "cp2"]);
    let err = ecs
        .describe_capacity_providers()
        .max_results(11)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
}

#[tokio::test]
async fn create_refuses_bad_input_and_changes_nothing() {
    let server = TestServer::start().await;
    let ecs = server.client();
    // AWS: "The name can't be prefixed with "aws", "ecs", or "fargate"."
    for bad in ["aws-cp", "ECScp", "fargate2", "has space", ""] {
        let err = ecs
            .create_capacity_provider()
            .name(bad)
            .auto_scaling_group_provider(asg(ASG))
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "ClientException", "{bad}");
    }
    let err = ecs
        .create_capacity_provider()
        .name("noasg")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");

    let scaling = |target: i32| {
        ManagedScaling::builder()
            .status(ManagedScalingStatus::Enabled)
            .target_capacity(target)
            .build()
    };
    for target in [0, 101] {
        let bad = AutoScalingGroupProvider::builder()
            .auto_scaling_group_arn(ASG)
            .managed_scaling(scaling(target))
            .build()
            .unwrap();
        let err = ecs
            .create_capacity_provider()
            .name("cp")
            .auto_scaling_group_provider(bad)
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            code(&err),
            "InvalidParameterException",
            "targetCapacity {target}"
        );
    }
    // Managed termination protection needs managed scaling.
    let protected_only = AutoScalingGroupProvider::builder()
        .auto_scaling_group_arn(ASG)
        .managed_termination_protection(ManagedTerminationProtection::Enabled)
        .build()
        .unwrap();
    let err = ecs
        .create_capacity_provider()
        .name("cp")
        .auto_scaling_group_provider(protected_only)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ClientException");
    let bad_tag = Tag::builder().key("aws:reserved").value("x").build();
    let err = ecs
        .create_capacity_provider()
        .name("cp")
        .auto_scaling_group_provider(asg(ASG))
        .tags(bad_tag)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    let err = ecs
        .create_capacity_provider()
        .name("cp")
        .cluster("ghost")
        .auto_scaling_group_provider(asg(ASG))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ClusterNotFoundException");
    assert_eq!(all_names(&ecs).await, ["FARGATE", "FARGATE_SPOT"]);

    // With managed scaling on, protection is accepted.
    let both = AutoScalingGroupProvider::builder()
        .auto_scaling_group_arn(ASG)
        .managed_scaling(scaling(90))
        .managed_termination_protection(ManagedTerminationProtection::Enabled)
        .build()
        .unwrap();
    let ok = ecs
        .create_capacity_provider()
        .name("cp")
        .auto_scaling_group_provider(both)
        .send()
        .await
        .unwrap();
    assert_eq!(
        ok.capacity_provider
            .unwrap()
            .auto_scaling_group_provider()
            .unwrap()
            .managed_scaling()
            .unwrap()
            .target_capacity(),
        Some(90)
    );
}

#[tokio::test]
async fn duplicate_names_and_shared_groups_are_refused() {
    let server = TestServer::start().await;
    let ecs = server.client();
    create(&ecs, "cp1", ASG).await;
    let err = ecs
        .create_capacity_provider()
        .name("cp1")
        .auto_scaling_group_provider(asg("other-asg"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ClientException");
    // AWS: "The specified Auto Scaling group ARN is already being used by another capacity provider."
    let err = ecs
        .create_capacity_provider()
        .name("cp2")
        .auto_scaling_group_provider(asg(ASG))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ClientException");
    assert!(err
        .as_service_error()
        .unwrap()
        .meta()
        .message()
        .unwrap()
        .contains("already being used"));
    assert_eq!(all_names(&ecs).await, ["FARGATE", "FARGATE_SPOT", "cp1"]);
}

#[tokio::test]
async fn update_merges_and_reports_update_complete() {
    let server = TestServer::start().await;
    let ecs = server.client();
    create(&ecs, "cp1", ASG).await;
    let update = AutoScalingGroupProviderUpdate::builder()
        .managed_scaling(
            ManagedScaling::builder()
                .status(ManagedScalingStatus::Enabled)
                .target_capacity(80)
                .build(),
        )
        .managed_termination_protection(ManagedTerminationProtection::Enabled)
        .managed_draining(ManagedDraining::Disabled)
        .build();
    let updated = ecs
        .update_capacity_provider()
        .name("cp1")
        .auto_scaling_group_provider(update)
        .send()
        .await
        .unwrap();
    let cp = updated.capacity_provider.unwrap();
    assert_eq!(
        cp.update_status().map(|s| s.as_str()),
        Some("UPDATE_COMPLETE")
    );
    let p = cp.auto_scaling_group_provider().unwrap();
    let s = p.managed_scaling().unwrap();
    assert_eq!(
        (s.status(), s.target_capacity(), s.instance_warmup_period()),
        (Some(&ManagedScalingStatus::Enabled), Some(80), Some(300))
    );
    assert_eq!(
        p.managed_termination_protection(),
        Some(&ManagedTerminationProtection::Enabled)
    );
    assert_eq!(p.managed_draining(), Some(&ManagedDraining::Disabled));

    // Turning scaling off while protection is on is refused, and nothing changes.
    let off = AutoScalingGroupProviderUpdate::builder()
        .managed_scaling(
            ManagedScaling::builder()
                .status(ManagedScalingStatus::Disabled)
                .build(),
        )
        .build();
    let err = ecs
        .update_capacity_provider()
        .name("cp1")
        .auto_scaling_group_provider(off)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ClientException");
    let out_of_range = AutoScalingGroupProviderUpdate::builder()
        .managed_scaling(
            ManagedScaling::builder()
                .maximum_scaling_step_size(10001)
                .build(),
        )
        .build();
    let err = ecs
        .update_capacity_provider()
        .name("cp1")
        .auto_scaling_group_provider(out_of_range)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    let d = ecs
        .describe_capacity_providers()
        .capacity_providers("cp1")
        .send()
        .await
        .unwrap();
    let s = d.capacity_providers()[0]
        .auto_scaling_group_provider()
        .unwrap()
        .managed_scaling()
        .unwrap()
        .clone();
    assert_eq!(
        (s.status(), s.maximum_scaling_step_size()),
        (Some(&ManagedScalingStatus::Enabled), Some(10000))
    );

    let noop = AutoScalingGroupProviderUpdate::builder().build();
    let err = ecs
        .update_capacity_provider()
        .name("ghost")
        .auto_scaling_group_provider(noop.clone())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    let err = ecs
        .update_capacity_provider()
        .name("FARGATE")
        .auto_scaling_group_provider(noop)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
}

#[tokio::test]
async fn delete_makes_inactive_and_frees_the_name_and_group() {
    let server = TestServer::start().await;
    let ecs = server.client();
    create(&ecs, "cp1", ASG).await;
    let deleted = ecs
        .delete_capacity_provider()
        .capacity_provider("cp1")
        .send()
        .await
        .unwrap()
        .capacity_provider
        .unwrap();
    assert_eq!(deleted.status().map(|s| s.as_str()), Some("INACTIVE"));
    assert_eq!(
        deleted.update_status().map(|s| s.as_str()),
        Some("DELETE_COMPLETE")
    );
    assert_eq!(all_names(&ecs).await, ["FARGATE", "FARGATE_SPOT"]);
    // Still describable by name, INACTIVE.
    let d = ecs
        .describe_capacity_providers()
        .capacity_providers("cp1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        d.capacity_providers()[0].status().map(|s| s.as_str()),
        Some("INACTIVE")
    );
    let err = ecs
        .delete_capacity_provider()
        .capacity_provider("cp1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    // The Auto Scaling group can serve a new provider.
    create(&ecs, "cp2", ASG).await;

    for reserved in ["FARGATE", "FARGATE_SPOT"] {
        let err = ecs
            .delete_capacity_provider()
            .capacity_provider(reserved)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "InvalidParameterException", "{reserved}");
    }
    assert_eq!(all_names(&ecs).await, ["FARGATE", "FARGATE_SPOT", "cp2"]);
}

/// AWS answers DeleteCapacityProvider for a provider still associated with a
/// cluster with 200, leaving it ACTIVE with updateStatus DELETE_FAILED and a
/// reason naming the cluster (terraform-provider-aws PR #48156 relies on it).
#[tokio::test]
async fn delete_fails_while_a_cluster_uses_the_provider() {
    let server = TestServer::start().await;
    let ecs = server.client();
    create(&ecs, "cp1", ASG).await;
    ecs.create_cluster()
        .cluster_name("c1")
        .capacity_providers("cp1")
        .send()
        .await
        .unwrap();
    let answer = ecs
        .delete_capacity_provider()
        .capacity_provider("cp1")
        .send()
        .await
        .unwrap()
        .capacity_provider
        .unwrap();
    assert_eq!(answer.status().map(|s| s.as_str()), Some("ACTIVE"));
    assert_eq!(
        answer.update_status().map(|s| s.as_str()),
        Some("DELETE_FAILED")
    );
    assert!(answer.update_status_reason().unwrap().contains("c1"));
    assert_eq!(all_names(&ecs).await, ["FARGATE", "FARGATE_SPOT", "cp1"]);

    ecs.put_cluster_capacity_providers()
        .cluster("c1")
        .set_capacity_providers(Some(vec![]))
        .set_default_capacity_provider_strategy(Some(vec![]))
        .send()
        .await
        .unwrap();
    let answer = ecs
        .delete_capacity_provider()
        .capacity_provider("cp1")
        .send()
        .await
        .unwrap()
        .capacity_provider
        .unwrap();
    assert_eq!(answer.status().map(|s| s.as_str()), Some("INACTIVE"));
}

#[tokio::test]
async fn describe_by_cluster_lists_its_providers() {
    let server = TestServer::start().await;
    let ecs = server.client();
    create(&ecs, "cp1", ASG).await;
    create(&ecs, "cp2", "asg-2").await;
    ecs.create_cluster()
        .cluster_name("c1")
        .capacity_providers("cp2")
        .send()
        .await
        .unwrap();
    let d = ecs
        .describe_capacity_providers()
        .cluster("c1")
        .send()
        .await
        .unwrap();
    let names: Vec<_> = d
        .capacity_providers()
        .iter()
        .map(|c| c.name().unwrap())
        .collect();
    assert_eq!(names, ["cp2"]);
    let err = ecs
        .describe_capacity_providers()
        .cluster("ghost")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ClusterNotFoundException");
}
