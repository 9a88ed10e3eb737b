//! The HTTP front: health, reset, routing of every operation, the error
//! contract and protocol errors, through raw HTTP.
mod common;

use common::TestServer;
use ecsbox::model::operations::Operation;

#[tokio::test]
async fn health_answers_with_version_and_services() {
    let server = TestServer::start().await;
    let r = server.raw("GET", "/_ecsbox/health", &[], b"").await;
    assert_eq!(r.status, 200);
    let j = r.json();
    assert_eq!(j["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(j["services"]["ecs"], "running");
    assert!(r.header("x-amzn-requestid").is_some());
}

#[tokio::test]
async fn reset_clears_all_state_both_paths() {
    let server = TestServer::start().await;
    let ecs = server.client();
    for path in ["/_ecsbox/reset", "/moto-api/reset"] {
        ecs.create_cluster().cluster_name("x").send().await.unwrap();
        assert_eq!(
            ecs.list_clusters()
                .send()
                .await
                .unwrap()
                .cluster_arns()
                .len(),
            1
        );
        let r = server.raw("POST", path, &[], b"").await;
        assert_eq!(r.status, 200, "{path}");
        assert!(
            ecs.list_clusters()
                .send()
                .await
                .unwrap()
                .cluster_arns()
                .is_empty(),
            "{path}"
        );
    }
}

/// Every operation of the model answers: success, or an AWS-shaped error
/// with `__type`, `x-amzn-ErrorType` and a request id. Never a bodiless 500.
#[tokio::test]
async fn every_operation_routes_to_an_aws_shaped_answer() {
    let server = TestServer::start().await;
    for op in Operation::ALL {
        let r = server.ecs_raw(op.name(), "{}").await;
        assert!(r.header("x-amzn-requestid").is_some(), "{}", op.name());
        if r.status == 200 {
            assert!(r.json().is_object(), "{}", op.name());
            continue;
        }
        assert!(
            r.status == 400 || r.status == 403,
            "{} -> {} {}",
            op.name(),
            r.status,
            r.body
        );
        let ty = r.error_type();
        assert!(!ty.is_empty(), "{}: {}", op.name(), r.body);
        assert_eq!(r.header("x-amzn-errortype"), Some(ty.as_str()));
        if !ecsbox::api::is_implemented(op) {
            assert_eq!(ty, "UnsupportedFeatureException", "{}", op.name());
            assert!(r.json()["message"].as_str().unwrap().contains(op.name()));
        } else {
            assert_ne!(
                ty,
                "UnsupportedFeatureException",
                "{} is implemented",
                op.name()
            );
        }
    }
}

#[tokio::test]
async fn protocol_errors() {
    let server = TestServer::start().await;
    let r = server.ecs_raw("CreateCluster", "{not json").await;
    assert_eq!(
        (r.status, r.error_type().as_str()),
        (400, "SerializationException")
    );
    let r = server
        .ecs_raw("CreateCluster", r#"{"clusterName": 42}"#)
        .await;
    assert_eq!(r.error_type(), "SerializationException");
    let r = server.ecs_raw("CreateCluster", r#"["a"]"#).await;
    assert_eq!(r.error_type(), "SerializationException");
    let r = server.ecs_raw("MakeCoffee", "{}").await;
    assert_eq!(r.error_type(), "UnknownOperationException");
    let r = server
        .ecs_raw("RegisterTaskDefinition", r#"{"containerDefinitions": []}"#)
        .await;
    assert_eq!(r.error_type(), "InvalidParameterException");
    assert!(r.json()["message"].as_str().unwrap().contains("family"));
    let r = server
        .raw(
            "POST",
            "/",
            &[
                ("x-amz-target", "SomethingElse_2020.Op"),
                ("content-type", "application/x-amz-json-1.1"),
            ],
            b"{}",
        )
        .await;
    assert_eq!(r.error_type(), "UnknownOperationException");
    // None of the refused calls created anything.
    let r = server.ecs_raw("ListClusters", "{}").await;
    assert_eq!(r.json()["clusterArns"], serde_json::json!([]));
}

#[tokio::test]
async fn unsigned_requests_are_refused_by_default() {
    let server = TestServer::start().await;
    let r = server
        .raw(
            "POST",
            "/",
            &[
                (
                    "x-amz-target",
                    "AmazonEC2ContainerServiceV20141113.ListClusters",
                ),
                ("content-type", "application/x-amz-json-1.1"),
            ],
            b"{}",
        )
        .await;
    assert_eq!(
        (r.status, r.error_type().as_str()),
        (403, "MissingAuthenticationTokenException")
    );
}

#[tokio::test]
async fn garbage_does_not_hurt_other_clients() {
    let server = TestServer::start().await;
    let ecs = server.client();
    ecs.create_cluster()
        .cluster_name("keep")
        .send()
        .await
        .unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    for junk in [
        &b"\x00\xff\xfe garbage\r\n\r\n"[..],
        b"POST / HTTP/1.1\r\ncontent-length: 99999999999\r\n\r\nx",
        b"GET /\r\n",
    ] {
        let mut s = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        let _ = s.write_all(junk).await;
        let mut buf = vec![0u8; 1024];
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), s.read(&mut buf)).await;
    }
    let r = server
        .ecs_raw(
            "CreateCluster",
            &format!("{{\"clusterName\": \"{}\"}}", "x".repeat(300)),
        )
        .await;
    assert_eq!(r.error_type(), "InvalidParameterException");
    let listed = ecs.list_clusters().send().await.unwrap();
    assert_eq!(listed.cluster_arns().len(), 1);
}
