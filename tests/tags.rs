//! TagResource, UntagResource and ListTagsForResource through the real
//! aws-sdk-ecs client, on every taggable resource ecsbox has so far.
mod common;

use aws_sdk_ecs::types::{AutoScalingGroupProvider, ContainerDefinition, Tag};
use common::{code, TestServer};

const CLUSTER_ARN: &str = "arn:aws:ecs:us-east-1:000000000000:cluster/c1";

fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build()
}

/// The tags of a resource as (key, value) pairs, sorted.
async fn tags_of(ecs: &aws_sdk_ecs::Client, arn: &str) -> Vec<(String, String)> {
    let listed = ecs
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .unwrap();
    let mut pairs: Vec<_> = listed
        .tags()
        .iter()
        .map(|t| {
            (
                t.key().unwrap().to_string(),
                t.value().unwrap_or("").to_string(),
            )
        })
        .collect();
    pairs.sort();
    pairs
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn cluster_tags_merge_untag_and_list() {
    let server = TestServer::start().await;
    let ecs = server.client();
    ecs.create_cluster()
        .cluster_name("c1")
        .tags(tag("team", "a"))
        .send()
        .await
        .unwrap();
    ecs.tag_resource()
        .resource_arn(CLUSTER_ARN)
        .tags(tag("team", "b"))
        .tags(tag("env", "dev"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        tags_of(&ecs, CLUSTER_ARN).await,
        pairs(&[("env", "dev"), ("team", "b")])
    );
    // Keys the resource does not have are fine to untag.
    ecs.untag_resource()
        .resource_arn(CLUSTER_ARN)
        .tag_keys("team")
        .tag_keys("absent")
        .send()
        .await
        .unwrap();
    assert_eq!(tags_of(&ecs, CLUSTER_ARN).await, pairs(&[("env", "dev")]));
    // DescribeClusters sees the same tags.
    let d = ecs
        .describe_clusters()
        .clusters("c1")
        .include(aws_sdk_ecs::types::ClusterField::Tags)
        .send()
        .await
        .unwrap();
    assert_eq!(d.clusters()[0].tags()[0].key(), Some("env"));
}

#[tokio::test]
async fn bad_tags_and_too_many_tags_change_nothing() {
    let server = TestServer::start().await;
    let ecs = server.client();
    ecs.create_cluster()
        .cluster_name("c1")
        .send()
        .await
        .unwrap();
    let forty_nine: Vec<Tag> = (0..49).map(|i| tag(&format!("k{i}"), "v")).collect();
    ecs.tag_resource()
        .resource_arn(CLUSTER_ARN)
        .set_tags(Some(forty_nine))
        .send()
        .await
        .unwrap();
    // 49 + 2 new keys would make 51: refused as a whole.
    let err = ecs
        .tag_resource()
        .resource_arn(CLUSTER_ARN)
        .tags(tag("x", "1"))
        .tags(tag("y", "2"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    // Replacing an existing key does not add one.
    ecs.tag_resource()
        .resource_arn(CLUSTER_ARN)
        .tags(tag("k0", "new"))
        .tags(tag("x", "1"))
        .send()
        .await
        .unwrap();
    assert_eq!(tags_of(&ecs, CLUSTER_ARN).await.len(), 50);

    for bad in [
        tag("aws:owner", "me"),
        tag("", "v"),
        tag("k", &"v".repeat(257)),
    ] {
        let err = ecs
            .tag_resource()
            .resource_arn(CLUSTER_ARN)
            .tags(bad)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "InvalidParameterException");
    }
    let tags = tags_of(&ecs, CLUSTER_ARN).await;
    assert_eq!(tags.len(), 50);
    assert!(tags.contains(&("k0".to_string(), "new".to_string())));
}

#[tokio::test]
async fn missing_resources_get_aws_exceptions() {
    let server = TestServer::start().await;
    let ecs = server.client();
    let err = ecs
        .list_tags_for_resource()
        .resource_arn("not-an-arn")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    let err = ecs
        .tag_resource()
        .resource_arn("arn:aws:s3:::bucket")
        .tags(tag("a", "1"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");

    let err = ecs
        .tag_resource()
        .resource_arn(CLUSTER_ARN)
        .tags(tag("a", "1"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ClusterNotFoundException");
    // A deleted cluster: Terraform's provider treats this exact answer as "parent gone".
    ecs.create_cluster()
        .cluster_name("c1")
        .send()
        .await
        .unwrap();
    ecs.delete_cluster().cluster("c1").send().await.unwrap();
    let err = ecs
        .untag_resource()
        .resource_arn(CLUSTER_ARN)
        .tag_keys("a")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    assert!(err
        .as_service_error()
        .unwrap()
        .meta()
        .message()
        .unwrap()
        .contains("The specified cluster is inactive"));

    let err = ecs
        .list_tags_for_resource()
        .resource_arn("arn:aws:ecs:us-east-1:000000000000:capacity-provider/ghost")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ResourceNotFoundException");
    let err = ecs
        .tag_resource()
        .resource_arn("arn:aws:ecs:us-east-1:000000000000:task-definition/ghost:1")
        .tags(tag("a", "1"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ClientException");
}

#[tokio::test]
async fn other_accounts_and_regions_are_not_found() {
    let server = TestServer::start().await;
    let ecs = server.client();
    ecs.create_cluster()
        .cluster_name("c1")
        .send()
        .await
        .unwrap();
    let elsewhere = server.client_as("AKIDTEST", "secret", "eu-west-1");
    let err = elsewhere
        .tag_resource()
        .resource_arn(CLUSTER_ARN)
        .tags(tag("a", "1"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ClusterNotFoundException");
    let other_account = server.client_as("123456789012", "secret", "us-east-1");
    let err = other_account
        .list_tags_for_resource()
        .resource_arn(CLUSTER_ARN)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ClusterNotFoundException");
    assert!(tags_of(&ecs, CLUSTER_ARN).await.is_empty());
}

#[tokio::test]
async fn capacity_provider_tags() {
    let server = TestServer::start().await;
    let ecs = server.client();
    let asg = AutoScalingGroupProvider::builder()
        .auto_scaling_group_arn("asg-1")
        .build()
        .unwrap();
    let cp = ecs
        .create_capacity_provider()
        .name("cp1")
        .auto_scaling_group_provider(asg)
        .tags(tag("a", "1"))
        .send()
        .await
        .unwrap();
    let arn = cp
        .capacity_provider
        .unwrap()
        .capacity_provider_arn()
        .unwrap()
        .to_string();
    ecs.tag_resource()
        .resource_arn(&arn)
        .tags(tag("b", "2"))
        .send()
        .await
        .unwrap();
    assert_eq!(tags_of(&ecs, &arn).await, pairs(&[("a", "1"), ("b", "2")]));
    ecs.untag_resource()
        .resource_arn(&arn)
        .tag_keys("a")
        .send()
        .await
        .unwrap();
    assert_eq!(tags_of(&ecs, &arn).await, pairs(&[("b", "2")]));
    // A deleted provider's tags go with it.
    ecs.delete_capacity_provider()
        .capacity_provider("cp1")
        .send()
        .await
        .unwrap();
    let err = ecs
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ResourceNotFoundException");
}

#[tokio::test]
async fn task_definition_tags_by_arn() {
    let server = TestServer::start().await;
    let ecs = server.client();
    let registered = ecs
        .register_task_definition()
        .family("app")
        .container_definitions(
            ContainerDefinition::builder()
                .name("web")
                .image("busybox")
                .memory(64)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let arn = registered
        .task_definition
        .unwrap()
        .task_definition_arn()
        .unwrap()
        .to_string();
    ecs.tag_resource()
        .resource_arn(&arn)
        .tags(tag("a", "1"))
        .send()
        .await
        .unwrap();
    assert_eq!(tags_of(&ecs, &arn).await, pairs(&[("a", "1")]));
    // Deregistered (INACTIVE) task definitions can still be tagged.
    ecs.deregister_task_definition()
        .task_definition(&arn)
        .send()
        .await
        .unwrap();
    ecs.tag_resource()
        .resource_arn(&arn)
        .tags(tag("b", "2"))
        .send()
        .await
        .unwrap();
    assert_eq!(tags_of(&ecs, &arn).await, pairs(&[("a", "1"), ("b", "2")]));
    let err = ecs
        .list_tags_for_resource()
        .resource_arn(arn.replace(":1", ":2"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ClientException");
}
