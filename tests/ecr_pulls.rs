//! Tasks whose images name ecsbox's ECR, on the in-memory fake runtime: the
//! engine is asked to pull from ecsbox's registry with a login token of the
//! repository's account, the container reports the repository's digest,
//! and a tag the repository lacks stops the task as ECS does. Images that
//! name no repository of ecsbox keep the local-first path, and
//! `repositoryCredentials` authenticate pulls from other registries.
//! (The same against the real engine and registry: tests/ecr_docker.rs.)
mod common;

use aws_sdk_ecs::types::{ContainerDefinition, LaunchType, NetworkMode, RepositoryCredentials};
use common::TestServer;
use ecsbox::config::Config;
use ecsbox::runtime::fake::FakeRuntime;
use ecsbox::services::ecr::repository::{NewManifest, Repository, DOCKER_MANIFEST};
use std::sync::Arc;
use std::time::Duration;

const ACCOUNT: &str = "000000000000";
const REGION: &str = "us-east-1";
const EXECUTION_ROLE: &str = "arn:aws:iam::000000000000:role/ecsTaskExecutionRole";

struct Setup {
    server: TestServer,
    fake: Arc<FakeRuntime>,
    ecs: aws_sdk_ecs::Client,
}

/// Makes repository `name` with one image tagged `tag`, as a push would;
/// returns the image's digest.
fn pushed_image(server: &TestServer, name: &str, tag: &str) -> String {
    let ecr = &server.app.ecr;
    let host = ecr.registry_host().to_string();
    let blobs = ecr.blobs().clone();
    let config = blobs.put(b"{\"architecture\":\"amd64\"}").unwrap();
    let layer = blobs.put(format!("layer of {name}").as_bytes()).unwrap();
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": config, "size": 24},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": layer, "size": 12}],
    }))
    .unwrap();
    ecr.with_region(ACCOUNT, REGION, |r| {
        let repo = r
            .repositories
            .entry(name.to_string())
            .or_insert_with(|| Repository::new(name, REGION, ACCOUNT, &host, 0.0));
        repo.blobs.insert(config.clone());
        repo.blobs.insert(layer.clone());
        let new = NewManifest {
            bytes: &manifest,
            content_type: None,
            digest: None,
            tag: Some(tag),
            strict: false,
        };
        repo.put_manifest(&blobs, new, 1.0).unwrap().digest
    })
}

async fn run(s: &Setup, family: &str, container: ContainerDefinition) -> String {
    s.ecs
        .register_task_definition()
        .family(family)
        .network_mode(NetworkMode::Bridge)
        .execution_role_arn(EXECUTION_ROLE)
        .container_definitions(container)
        .send()
        .await
        .unwrap();
    let out = s
        .ecs
        .run_task()
        .cluster("c")
        .task_definition(family)
        .launch_type(LaunchType::Ec2)
        .send()
        .await
        .unwrap();
    assert!(out.failures().is_empty(), "{:?}", out.failures());
    out.tasks()[0].task_arn().unwrap().to_string()
}

fn container(image: &str) -> ContainerDefinition {
    ContainerDefinition::builder()
        .name("app")
        .image(image)
        .memory(128)
        .essential(true)
        .build()
}

async fn wait_for(s: &Setup, arn: &str, status: &str) -> aws_sdk_ecs::types::Task {
    for _ in 0..200 {
        let d = s
            .ecs
            .describe_tasks()
            .cluster("c")
            .tasks(arn)
            .send()
            .await
            .unwrap();
        let t = d.tasks()[0].clone();
        if t.last_status() == Some(status) {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("task {arn} never reached {status}");
}

#[tokio::test]
async fn an_ecr_uri_is_pulled_from_ecsboxs_registry_with_a_token_of_its_account() {
    let s = setup_with_instances().await;
    let digest = pushed_image(&s.server, "team/web", "v1");
    let host = s.server.app.ecr.registry_host().to_string();
    let pulled = format!("{host}/team/web@{digest}");
    s.fake.allow_pull(&pulled);
    let uri = format!("{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/team/web:v1");
    let arn = run(&s, "web", container(&uri)).await;
    let t = wait_for(&s, &arn, "RUNNING").await;
    assert_eq!(t.containers()[0].image_digest(), Some(digest.as_str()));
    let pulls = s.fake.authenticated_pulls();
    assert_eq!(pulls.len(), 1, "{pulls:?}");
    let (reference, credentials) = &pulls[0];
    assert_eq!(reference, &pulled);
    assert_eq!(credentials.username, "AWS");
    assert_eq!(credentials.server, host);
    let holder = s
        .server
        .app
        .ecr
        .tokens()
        .verify(&credentials.password, ecsbox::clock::now_secs() as i64)
        .expect("the pull's password is a valid login token");
    assert_eq!(
        (holder.account.as_str(), holder.region.as_str()),
        (ACCOUNT, REGION)
    ); // ECS pulls with the task's execution role; the repository records it
       // with the pull time (DescribeImages' lastRecordedPullTime).
    let (pulled_by, pulled_at) = s.server.app.ecr.with_region(ACCOUNT, REGION, |r| {
        let image = &r.repositories["team/web"].images[&digest];
        (image.last_pulled_by.clone(), image.last_pulled_at)
    });
    assert_eq!(pulled_by.as_deref(), Some(EXECUTION_ROLE));
    assert!(pulled_at.is_some());
}

#[tokio::test]
async fn the_repository_uri_form_reaches_the_same_image() {
    let s = setup_with_instances().await;
    let digest = pushed_image(&s.server, "web", "v1");
    let host = s.server.app.ecr.registry_host().to_string();
    s.fake.allow_pull(&format!("{host}/web@{digest}"));
    let arn = run(&s, "web", container(&format!("{host}/web:v1"))).await;
    let t = wait_for(&s, &arn, "RUNNING").await;
    assert_eq!(t.containers()[0].image_digest(), Some(digest.as_str()));
}

#[tokio::test]
async fn a_tag_the_repository_lacks_stops_the_task_with_ecss_reason() {
    let s = setup_with_instances().await;
    pushed_image(&s.server, "web", "v1");
    let uri = format!("{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/web:v2");
    let arn = run(&s, "web", container(&uri)).await;
    let t = wait_for(&s, &arn, "STOPPED").await;
    assert_eq!(
        t.containers()[0].reason(),
        Some(
            format!(
                "CannotPullContainerError: Error response from daemon: manifest for {uri} not found: \
                 manifest unknown: Requested image not found"
            )
            .as_str()
        )
    );
    assert!(
        s.fake.pulls().is_empty(),
        "nothing is pulled: {:?}",
        s.fake.pulls()
    );
}

#[tokio::test]
async fn an_ecr_uri_of_no_ecsbox_repository_keeps_the_local_image_path() {
    let s = setup_with_instances().await;
    s.fake.add_image("web:v1");
    let uri = format!("{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/web:v1");
    let arn = run(&s, "web", container(&uri)).await;
    wait_for(&s, &arn, "RUNNING").await;
    assert!(s.fake.pulls().is_empty());
}

#[tokio::test]
async fn repository_credentials_authenticate_a_pull_from_another_registry() {
    let s = setup_with_instances().await;
    // The secret, through the Secrets Manager API as a user would make it.
    let created = s
        .server
        .aws_json(
            "secretsmanager",
            "secretsmanager.CreateSecret",
            serde_json::json!({"Name": "ghcr", "SecretString": r#"{"username":"me","password":"pat"}"#}),
        )
        .await
        .json();
    let secret_arn = created["ARN"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_string();
    s.fake.allow_pull("ghcr.io/org/app:1");
    let c = ContainerDefinition::builder()
        .name("app")
        .image("ghcr.io/org/app:1")
        .memory(128)
        .essential(true)
        .repository_credentials(
            RepositoryCredentials::builder()
                .credentials_parameter(&secret_arn)
                .build()
                .unwrap(),
        )
        .build();
    let arn = run(&s, "private", c).await;
    wait_for(&s, &arn, "RUNNING").await;
    let pulls = s.fake.authenticated_pulls();
    assert_eq!(pulls.len(), 1, "{pulls:?}");
    assert_eq!(pulls[0].0, "ghcr.io/org/app:1");
    assert_eq!(
        (
            pulls[0].1.username.as_str(),
            pulls[0].1.password.as_str(),
            pulls[0].1.server.as_str()
        ),
        ("me", "pat", "ghcr.io")
    );
}

/// A server whose clusters get a container instance, so EC2 tasks place.
async fn setup_with_instances() -> Setup {
    let fake = Arc::new(FakeRuntime::new());
    let mut config = Config::for_tests();
    config.container_instances = 1;
    let server = TestServer::start_on(config, fake.clone()).await;
    let ecs = server.client();
    ecs.create_cluster().cluster_name("c").send().await.unwrap();
    Setup { server, fake, ecs }
}
