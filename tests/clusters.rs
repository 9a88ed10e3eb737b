//! Clusters through the real aws-sdk-ecs client.
mod common;

use aws_sdk_ecs::types::{ClusterField, ClusterSetting, ClusterSettingName, Tag};
use common::{code, TestServer};

#[tokio::test]
async fn create_describe_list_delete() {
    let server = TestServer::start().await;
    let ecs = server.client();
    let created = ecs
        .create_cluster()
        .cluster_name("web")
        .tags(Tag::builder().key("team").value("a").build())
        .send()
        .await
        .unwrap();
    let cluster = created.cluster.unwrap();
    assert_eq!(
        cluster.cluster_arn(),
        Some("arn:aws:ecs:us-east-1:000000000000:cluster/web")
    );
    assert_eq!(cluster.status(), Some("ACTIVE"));
    assert_eq!(cluster.running_tasks_count, 0);

    // CreateCluster on an ACTIVE name answers the same cluster.
    let again = ecs
        .create_cluster()
        .cluster_name("web")
        .send()
        .await
        .unwrap();
    assert_eq!(again.cluster.unwrap().cluster_arn(), cluster.cluster_arn());

    let listed = ecs.list_clusters().send().await.unwrap();
    assert_eq!(
        listed.cluster_arns(),
        &["arn:aws:ecs:us-east-1:000000000000:cluster/web".to_string()]
    );

    let described = ecs
        .describe_clusters()
        .clusters("web")
        .clusters("nope")
        .include(ClusterField::Tags)
        .include(ClusterField::Settings)
        .send()
        .await
        .unwrap();
    let c = &described.clusters()[0];
    assert_eq!(c.tags()[0].key(), Some("team"));
    assert_eq!(c.settings()[0].value(), Some("disabled"));
    let f = &described.failures()[0];
    assert_eq!(f.reason(), Some("MISSING"));
    assert_eq!(
        f.arn(),
        Some("arn:aws:ecs:us-east-1:000000000000:cluster/nope")
    );

    let deleted = ecs.delete_cluster().cluster("web").send().await.unwrap();
    assert_eq!(deleted.cluster.unwrap().status(), Some("INACTIVE"));
    assert!(ecs
        .list_clusters()
        .send()
        .await
        .unwrap()
        .cluster_arns()
        .is_empty());
    // A deleted cluster is still describable, INACTIVE.
    let d = ecs
        .describe_clusters()
        .clusters("web")
        .send()
        .await
        .unwrap();
    assert_eq!(d.clusters()[0].status(), Some("INACTIVE"));
    let err = ecs
        .delete_cluster()
        .cluster("web")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ClusterNotFoundException");
}

#[tokio::test]
async fn settings_update_and_capacity_providers() {
    let server = TestServer::start().await;
    let ecs = server.client();
    ecs.create_cluster().cluster_name("c").send().await.unwrap();
    let updated = ecs
        .update_cluster_settings()
        .cluster("c")
        .settings(
            ClusterSetting::builder()
                .name(ClusterSettingName::ContainerInsights)
                .value("enabled")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        updated.cluster.unwrap().settings()[0].value(),
        Some("enabled")
    );

    let bad = ecs
        .update_cluster_settings()
        .cluster("c")
        .settings(
            ClusterSetting::builder()
                .name(ClusterSettingName::ContainerInsights)
                .value("sometimes")
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&bad), "InvalidParameterException");

    let put = ecs
        .put_cluster_capacity_providers()
        .cluster("c")
        .capacity_providers("FARGATE")
        .capacity_providers("FARGATE_SPOT")
        .default_capacity_provider_strategy(
            aws_sdk_ecs::types::CapacityProviderStrategyItem::builder()
                .capacity_provider("FARGATE")
                .weight(1)
                .base(1)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(put.cluster.unwrap().capacity_providers().len(), 2);

    let missing = ecs
        .put_cluster_capacity_providers()
        .cluster("c")
        .capacity_providers("nope")
        .set_default_capacity_provider_strategy(Some(vec![]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&missing), "InvalidParameterException");

    let not_found = ecs
        .update_cluster()
        .cluster("ghost")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&not_found), "ClusterNotFoundException");
}

#[tokio::test]
async fn list_clusters_paginates() {
    let server = TestServer::start().await;
    let ecs = server.client();
    for i in 0..5 {
        ecs.create_cluster()
            .cluster_name(format!("c{i}"))
            .send()
            .await
            .unwrap();
    }
    let mut names = vec![];
    let mut token = None;
    loop {
        let page = ecs
            .list_clusters()
            .max_results(2)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        assert!(page.cluster_arns().len() <= 2);
        names.extend(page.cluster_arns().iter().cloned());
        token = page.next_token.clone();
        if token.is_none() {
            break;
        }
    }
    assert_eq!(names.len(), 5);
    let bad = ecs.list_clusters().max_results(0).send().await.unwrap_err();
    assert_eq!(code(&bad), "InvalidParameterException");
}

#[tokio::test]
async fn bad_cluster_name_changes_nothing() {
    let server = TestServer::start().await;
    let ecs = server.client();
    let err = ecs
        .create_cluster()
        .cluster_name("has spaces")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    assert!(ecs
        .list_clusters()
        .send()
        .await
        .unwrap()
        .cluster_arns()
        .is_empty());
}

#[tokio::test]
async fn accounts_and_regions_are_isolated() {
    let server = TestServer::start().await;
    let a = server.client_as("111122223333", "s", "us-east-1");
    let b = server.client_as("AKIDOTHER", "s", "us-east-1");
    let c = server.client_as("111122223333", "s", "eu-west-1");
    let made = a.create_cluster().cluster_name("x").send().await.unwrap();
    assert_eq!(
        made.cluster.unwrap().cluster_arn(),
        Some("arn:aws:ecs:us-east-1:111122223333:cluster/x")
    );
    assert!(b
        .list_clusters()
        .send()
        .await
        .unwrap()
        .cluster_arns()
        .is_empty());
    assert!(c
        .list_clusters()
        .send()
        .await
        .unwrap()
        .cluster_arns()
        .is_empty());
    let made_b = b.create_cluster().cluster_name("x").send().await.unwrap();
    assert_eq!(
        made_b.cluster.unwrap().cluster_arn(),
        Some("arn:aws:ecs:us-east-1:000000000000:cluster/x")
    );
}
