//! PutAttributes, DeleteAttributes and ListAttributes through the real
//! aws-sdk-ecs client. Container instances cannot be registered yet (they
//! come with the tasks issue), so every target is unknown: these tests cover
//! the refusals and listing, not stored attributes.
mod common;

use aws_sdk_ecs::types::{Attribute, TargetType};
use common::{code, TestServer};

fn attribute(name: &str, target: &str) -> Attribute {
    Attribute::builder()
        .name(name)
        .value("v")
        .target_type(TargetType::ContainerInstance)
        .target_id(target)
        .build()
        .unwrap()
}

async fn listed(ecs: &aws_sdk_ecs::Client, cluster: &str) -> usize {
    let out = ecs
        .list_attributes()
        .cluster(cluster)
        .target_type(TargetType::ContainerInstance)
        .send()
        .await
        .unwrap();
    out.attributes().len()
}

#[tokio::test]
async fn list_on_an_empty_cluster() {
    let server = TestServer::start().await;
    let ecs = server.client();
    ecs.create_cluster()
        .cluster_name("c1")
        .send()
        .await
        .unwrap();
    let out = ecs
        .list_attributes()
        .cluster("c1")
        .target_type(TargetType::ContainerInstance)
        .send()
        .await
        .unwrap();
    assert!(out.attributes().is_empty());
    assert!(out.next_token.is_none());
    let filtered = ecs
        .list_attributes()
        .cluster("c1")
        .target_type(TargetType::ContainerInstance)
        .attribute_name("stack")
        .attribute_value("prod")
        .send()
        .await
        .unwrap();
    assert!(filtered.attributes().is_empty());
    // A value filter needs a name filter.
    let err = ecs
        .list_attributes()
        .cluster("c1")
        .target_type(TargetType::ContainerInstance)
        .attribute_value("prod")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    let err = ecs
        .list_attributes()
        .cluster("c1")
        .target_type(TargetType::ContainerInstance)
        .max_results(101)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    // targetType is required by the model.
    let raw = server
        .ecs_raw("ListAttributes", r#"{"cluster": "c1"}"#)
        .await;
    assert_eq!(raw.error_type(), "InvalidParameterException");
}

#[tokio::test]
async fn unknown_clusters_are_not_found() {
    let server = TestServer::start().await;
    let ecs = server.client();
    // No cluster given means "default", which does not exist here.
    let err = ecs
        .put_attributes()
        .attributes(attribute("stack", "abc"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ClusterNotFoundException");
    let err = ecs
        .delete_attributes()
        .cluster("ghost")
        .attributes(attribute("stack", "abc"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ClusterNotFoundException");
    let err = ecs
        .list_attributes()
        .cluster("ghost")
        .target_type(TargetType::ContainerInstance)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ClusterNotFoundException");
}

#[tokio::test]
async fn unknown_targets_are_refused_and_nothing_is_stored() {
    let server = TestServer::start().await;
    let ecs = server.client();
    ecs.create_cluster()
        .cluster_name("c1")
        .send()
        .await
        .unwrap();
    let by_id = attribute("stack", "0123456789abcdef0123456789abcdef");
    let err = ecs
        .put_attributes()
        .cluster("c1")
        .attributes(by_id.clone())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "TargetNotFoundException");
    let by_arn = attribute(
        "stack",
        "arn:aws:ecs:us-east-1:000000000000:container-instance/c1/0123456789abcdef",
    );
    let err = ecs
        .put_attributes()
        .cluster("c1")
        .attributes(by_arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "TargetNotFoundException");
    let err = ecs
        .delete_attributes()
        .cluster("c1")
        .attributes(by_id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "TargetNotFoundException");
    assert_eq!(listed(&ecs, "c1").await, 0);
}

#[tokio::test]
async fn malformed_attributes_are_refused() {
    let server = TestServer::start().await;
    let ecs = server.client();
    ecs.create_cluster()
        .cluster_name("c1")
        .send()
        .await
        .unwrap();
    let bad_name = attribute("has space", "abc");
    let err = ecs
        .put_attributes()
        .cluster("c1")
        .attributes(bad_name)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    let bad_value = Attribute::builder()
        .name("n")
        .value(" leading")
        .target_type(TargetType::ContainerInstance)
        .target_id("abc");
    let err = ecs
        .put_attributes()
        .cluster("c1")
        .attributes(bad_value.build().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    // A short target ID needs targetType; no targetId at all is refused too.
    let no_type = Attribute::builder()
        .name("n")
        .value("v")
        .target_id("abc")
        .build()
        .unwrap();
    let err = ecs
        .put_attributes()
        .cluster("c1")
        .attributes(no_type)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    let no_target = Attribute::builder().name("n").value("v").build().unwrap();
    let err = ecs
        .put_attributes()
        .cluster("c1")
        .attributes(no_target)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    let not_an_instance = attribute("n", "arn:aws:ecs:us-east-1:000000000000:cluster/c1");
    let err = ecs
        .put_attributes()
        .cluster("c1")
        .attributes(not_an_instance)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    // At most 10 attributes per call.
    let eleven: Vec<_> = (0..11)
        .map(|i| attribute(&format!("a{i}"), "abc"))
        .collect();
    let err = ecs
        .put_attributes()
        .cluster("c1")
        .set_attributes(Some(eleven))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "AttributeLimitExceededException");
    assert_eq!(listed(&ecs, "c1").await, 0);
}
