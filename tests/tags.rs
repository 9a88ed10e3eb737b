//! TagResource, UntagResource and ListTagsForResource through the real
//! aws-sdk-ecs client, on every taggable resource: clusters, task
//! definitions, capacity providers, services, tasks, container instances.
mod common;

use aws_sdk_ecs::types::{
    AutoScalingGroupProvider, AwsVpcConfiguration, ContainerDefinition, LaunchType,
    NetworkConfiguration, NetworkMode, PropagateTags, ServiceField, Tag, TaskField,
};
use common::{code, TestServer};
use std::time::Duration;

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

fn message<E, R>(err: &aws_sdk_ecs::error::SdkError<E, R>) -> String
where
    E: aws_sdk_ecs::error::ProvideErrorMetadata,
{
    err.as_service_error()
        .and_then(|e| e.message())
        .unwrap_or("")
        .to_string()
}

/// A cluster `c` with one virtual container instance, a Fargate revision
/// `web:1` tagged `from=td`.
async fn service_setup(ecs: &aws_sdk_ecs::Client) {
    ecs.create_cluster()
        .cluster_name("c")
        .tags(tag("ecsbox:container-instances", "1"))
        .send()
        .await
        .unwrap();
    ecs.register_task_definition()
        .family("web")
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image("app:1")
                .build(),
        )
        .tags(tag("from", "td"))
        .send()
        .await
        .unwrap();
}

async fn service_tasks(ecs: &aws_sdk_ecs::Client, service: &str) -> Vec<String> {
    for _ in 0..200 {
        let arns = ecs
            .list_tasks()
            .cluster("c")
            .service_name(service)
            .send()
            .await
            .unwrap()
            .task_arns()
            .to_vec();
        if !arns.is_empty() {
            return arns;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the service {service} never started a task");
}

/// The service ARN CreateService answers is taggable, and its tags are the
/// ones DescribeServices shows with `include: TAGS`.
#[tokio::test]
async fn service_tags_are_what_describe_services_shows() {
    let fake = std::sync::Arc::new(ecsbox::runtime::fake::FakeRuntime::new());
    fake.add_image("app:1");
    let server = TestServer::start_on(ecsbox::config::Config::for_tests(), fake).await;
    let ecs = server.client();
    service_setup(&ecs).await;
    let service_arn = ecs
        .create_service()
        .cluster("c")
        .service_name("api")
        .task_definition("web")
        .desired_count(0)
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc())
        .tags(tag("team", "a"))
        .send()
        .await
        .unwrap()
        .service
        .unwrap()
        .service_arn
        .unwrap();
    assert_eq!(
        service_arn,
        "arn:aws:ecs:us-east-1:000000000000:service/c/api"
    );
    assert_eq!(tags_of(&ecs, &service_arn).await, pairs(&[("team", "a")]));
    ecs.tag_resource()
        .resource_arn(&service_arn)
        .tags(tag("env", "dev"))
        .send()
        .await
        .unwrap();
    ecs.untag_resource()
        .resource_arn(&service_arn)
        .tag_keys("team")
        .send()
        .await
        .unwrap();
    let described = ecs
        .describe_services()
        .cluster("c")
        .services("api")
        .include(ServiceField::Tags)
        .send()
        .await
        .unwrap();
    assert_eq!(described.services()[0].tags(), &[tag("env", "dev")]);

    // The short form (no cluster) is refused as AWS refuses it
    // (boto/boto3#2473, pulumi/pulumi-aws#930 quote this answer).
    let err = ecs
        .list_tags_for_resource()
        .resource_arn("arn:aws:ecs:us-east-1:000000000000:service/api")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    assert_eq!(
        message(&err),
        "Long arn format must be used for tagging operations"
    );
    // No such service in an existing cluster; no such cluster.
    let err = ecs
        .tag_resource()
        .resource_arn("arn:aws:ecs:us-east-1:000000000000:service/c/ghost")
        .tags(tag("a", "1"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ResourceNotFoundException");
    let err = ecs
        .list_tags_for_resource()
        .resource_arn("arn:aws:ecs:us-east-1:000000000000:service/nope/api")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ClusterNotFoundException");

    // Deleted with its tags, as AWS deletes a resource's tags with it.
    ecs.delete_service()
        .cluster("c")
        .service("api")
        .send()
        .await
        .unwrap();
    for _ in 0..200 {
        let d = ecs
            .describe_services()
            .cluster("c")
            .services("api")
            .send()
            .await
            .unwrap();
        if d.services()[0].status() == Some("INACTIVE") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let err = ecs
        .list_tags_for_resource()
        .resource_arn(&service_arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ResourceNotFoundException");
}

fn awsvpc() -> NetworkConfiguration {
    NetworkConfiguration::builder()
        .awsvpc_configuration(
            AwsVpcConfiguration::builder()
                .subnets("subnet-0123abcd")
                .build()
                .unwrap(),
        )
        .build()
}

/// A service's task carries the service's tags (propagateTags SERVICE) and
/// ECS's managed tags; ListTagsForResource and DescribeTasks agree.
#[tokio::test]
async fn a_service_task_shows_propagated_and_managed_tags() {
    let fake = std::sync::Arc::new(ecsbox::runtime::fake::FakeRuntime::new());
    fake.add_image("app:1");
    let server = TestServer::start_on(ecsbox::config::Config::for_tests(), fake).await;
    let ecs = server.client();
    service_setup(&ecs).await;
    ecs.create_service()
        .cluster("c")
        .service_name("api")
        .task_definition("web")
        .desired_count(1)
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc())
        .tags(tag("team", "a"))
        .propagate_tags(PropagateTags::Service)
        .enable_ecs_managed_tags(true)
        .send()
        .await
        .unwrap();
    let task_arn = service_tasks(&ecs, "api").await.remove(0);
    let expected = pairs(&[
        ("aws:ecs:clusterName", "c"),
        ("aws:ecs:serviceName", "api"),
        ("team", "a"),
    ]);
    assert_eq!(tags_of(&ecs, &task_arn).await, expected);
    let described = ecs
        .describe_tasks()
        .cluster("c")
        .tasks(&task_arn)
        .include(TaskField::Tags)
        .send()
        .await
        .unwrap();
    let mut shown: Vec<_> = described.tasks()[0]
        .tags()
        .iter()
        .map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string()))
        .collect();
    shown.sort();
    assert_eq!(shown, expected);

    // The task's own tags can change; ECS's own cannot be removed.
    ecs.tag_resource()
        .resource_arn(&task_arn)
        .tags(tag("extra", "1"))
        .send()
        .await
        .unwrap();
    let err = ecs
        .untag_resource()
        .resource_arn(&task_arn)
        .tag_keys("aws:ecs:clusterName")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    assert_eq!(tags_of(&ecs, &task_arn).await.len(), 4);

    // Short task ARNs are refused; an unknown task is not found.
    let id = task_arn.rsplit('/').next().unwrap();
    let err = ecs
        .list_tags_for_resource()
        .resource_arn(format!("arn:aws:ecs:us-east-1:000000000000:task/{id}"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    let err = ecs
        .list_tags_for_resource()
        .resource_arn("arn:aws:ecs:us-east-1:000000000000:task/c/0123456789abcdef0123456789abcdef")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ResourceNotFoundException");
}

/// Container instances by their ARN, as DescribeContainerInstances gives it.
#[tokio::test]
async fn container_instance_tags() {
    let server = TestServer::start().await;
    let ecs = server.client();
    ecs.create_cluster()
        .cluster_name("c")
        .tags(tag("ecsbox:container-instances", "1"))
        .send()
        .await
        .unwrap();
    let arn = ecs
        .list_container_instances()
        .cluster("c")
        .send()
        .await
        .unwrap()
        .container_instance_arns()[0]
        .clone();
    ecs.tag_resource()
        .resource_arn(&arn)
        .tags(tag("rack", "7"))
        .send()
        .await
        .unwrap();
    assert_eq!(tags_of(&ecs, &arn).await, pairs(&[("rack", "7")]));
    let described = ecs
        .describe_container_instances()
        .cluster("c")
        .container_instances(&arn)
        .include(aws_sdk_ecs::types::ContainerInstanceField::Tags)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.container_instances()[0].tags(),
        &[tag("rack", "7")]
    );
    let err = ecs
        .tag_resource()
        .resource_arn("arn:aws:ecs:us-east-1:000000000000:container-instance/c/ghost")
        .tags(tag("a", "1"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ResourceNotFoundException");
}
