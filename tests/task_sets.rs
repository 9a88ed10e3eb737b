//! Task sets and the EXTERNAL deployment controller through the real
//! aws-sdk-ecs client, on the in-memory fake runtime: each task set runs its
//! share of the service's desired count (rounded up), is described with its
//! status, stability and counts, scales, becomes primary, drains when
//! deleted; and the errors AWS answers.
mod common;

use aws_sdk_ecs::types::{
    AwsVpcConfiguration, ContainerDefinition, DeploymentController, DeploymentControllerType,
    LaunchType, NetworkConfiguration, NetworkMode, Scale, ScaleUnit, Service, Tag, TaskSet,
    TaskSetField,
};
use common::{code, message, TestServer};
use ecsbox::config::Config;
use ecsbox::runtime::fake::FakeRuntime;
use std::sync::Arc;
use std::time::Duration;

struct Setup {
    _server: TestServer,
    ecs: aws_sdk_ecs::Client,
}

async fn setup() -> Setup {
    let fake = Arc::new(FakeRuntime::new());
    fake.add_image("app:1");
    fake.add_image("app:2");
    let server = TestServer::start_on(Config::for_tests(), fake).await;
    let ecs = server.client();
    ecs.create_cluster().cluster_name("c").send().await.unwrap();
    for image in ["app:1", "app:2"] {
        ecs.register_task_definition()
            .family("web")
            .network_mode(NetworkMode::Awsvpc)
            .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
            .cpu("256")
            .memory("512")
            .container_definitions(
                ContainerDefinition::builder()
                    .name("app")
                    .image(image)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    Setup {
        _server: server,
        ecs,
    }
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

fn external() -> DeploymentController {
    DeploymentController::builder()
        .r#type(DeploymentControllerType::External)
        .build()
        .unwrap()
}

fn percent(value: f64) -> Scale {
    Scale::builder()
        .value(value)
        .unit(ScaleUnit::Percent)
        .build()
}

async fn create_external(ecs: &aws_sdk_ecs::Client, desired: i32) -> Service {
    ecs.create_service()
        .cluster("c")
        .service_name("web")
        .desired_count(desired)
        .deployment_controller(external())
        .send()
        .await
        .unwrap()
        .service
        .unwrap()
}

async fn create_set(ecs: &aws_sdk_ecs::Client, revision: &str, scale: f64) -> TaskSet {
    ecs.create_task_set()
        .cluster("c")
        .service("web")
        .task_definition(revision)
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc())
        .scale(percent(scale))
        .send()
        .await
        .unwrap()
        .task_set
        .unwrap()
}

async fn describe_service(ecs: &aws_sdk_ecs::Client) -> Service {
    ecs.describe_services()
        .cluster("c")
        .services("web")
        .send()
        .await
        .unwrap()
        .services()[0]
        .clone()
}

async fn describe_set(ecs: &aws_sdk_ecs::Client, id: &str) -> Option<TaskSet> {
    ecs.describe_task_sets()
        .cluster("c")
        .service("web")
        .task_sets(id)
        .send()
        .await
        .unwrap()
        .task_sets()
        .first()
        .cloned()
}

async fn wait_for_set(
    ecs: &aws_sdk_ecs::Client,
    id: &str,
    what: &str,
    done: impl Fn(Option<&TaskSet>) -> bool,
) {
    for _ in 0..400 {
        if done(describe_set(ecs, id).await.as_ref()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "task set never reached: {what}: {:#?}",
        describe_set(ecs, id).await
    );
}

fn steady_at(n: i32) -> impl Fn(Option<&TaskSet>) -> bool {
    move |t| {
        t.is_some_and(|t| {
            t.running_count() == n
                && t.pending_count() == 0
                && t.stability_status().map(|s| s.as_str()) == Some("STEADY_STATE")
        })
    }
}

/// The tasks of the service, alive, by their startedBy.
async fn alive_started_by(ecs: &aws_sdk_ecs::Client) -> Vec<String> {
    let arns = ecs
        .list_tasks()
        .cluster("c")
        .service_name("web")
        .send()
        .await
        .unwrap()
        .task_arns()
        .to_vec();
    if arns.is_empty() {
        return vec![];
    }
    let d = ecs
        .describe_tasks()
        .cluster("c")
        .set_tasks(Some(arns))
        .send()
        .await
        .unwrap();
    d.tasks()
        .iter()
        .filter(|t| t.desired_status() == Some("RUNNING"))
        .inspect(|t| assert_eq!(t.group(), Some("service:web")))
        .filter_map(|t| t.started_by().map(String::from))
        .collect()
}

#[tokio::test]
async fn task_sets_run_their_share_scale_become_primary_and_drain() {
    let s = setup().await;
    let svc = create_external(&s.ecs, 4).await;
    assert_eq!(
        svc.deployment_controller().unwrap().r#type(),
        &DeploymentControllerType::External
    );
    assert!(svc.deployments().is_empty(), "{svc:#?}");
    assert!(svc.task_sets().is_empty());
    assert_eq!(svc.task_definition(), None, "no primary task set yet");

    // 50% of 4: 2 tasks.
    let blue = s
        .ecs
        .create_task_set()
        .cluster("c")
        .service("web")
        .task_definition("web:1")
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc())
        .scale(percent(50.0))
        .external_id("blue")
        .tags(Tag::builder().key("colour").value("blue").build())
        .send()
        .await
        .unwrap()
        .task_set
        .unwrap();
    let blue_id = blue.id().unwrap().to_string();
    assert!(blue_id.starts_with("ecs-svc/"), "{blue_id}");
    assert_eq!(
        blue.task_set_arn(),
        Some(format!("arn:aws:ecs:us-east-1:000000000000:task-set/c/web/{blue_id}").as_str())
    );
    // AWS's CreateTaskSet example: a new set is ACTIVE and STABILIZING.
    assert_eq!(blue.status(), Some("ACTIVE"));
    assert_eq!(
        blue.stability_status().map(|s| s.as_str()),
        Some("STABILIZING")
    );
    assert_eq!(blue.computed_desired_count(), 2);
    assert_eq!(blue.external_id(), Some("blue"));
    assert_eq!(blue.launch_type(), Some(&LaunchType::Fargate));
    assert_eq!(blue.platform_version(), Some("LATEST"));
    assert_eq!(blue.scale().unwrap().value(), 50.0);
    assert_eq!(
        blue.started_by(),
        None,
        "unused for EXTERNAL (AWS's TaskSet reference)"
    );
    assert_eq!(blue.tags()[0].value(), Some("blue"));
    wait_for_set(&s.ecs, &blue_id, "blue at 2", steady_at(2)).await;
    // A task set's tasks are the service's, started by the set's id.
    assert_eq!(alive_started_by(&s.ecs).await, vec![blue_id.clone(); 2]);

    // 30% of 4 is 1.2: rounded up to 2 ("The result is always rounded up" —
    // TaskSet.computedDesiredCount, AWS's API reference).
    let green = create_set(&s.ecs, "web:2", 30.0).await;
    let green_id = green.id().unwrap().to_string();
    assert_eq!(green.computed_desired_count(), 2);
    wait_for_set(&s.ecs, &green_id, "green at 2", steady_at(2)).await;

    let primary = s
        .ecs
        .update_service_primary_task_set()
        .cluster("c")
        .service("web")
        .primary_task_set(green.task_set_arn().unwrap())
        .send()
        .await
        .unwrap()
        .task_set
        .unwrap();
    assert_eq!(primary.status(), Some("PRIMARY"));
    let svc = describe_service(&s.ecs).await;
    assert_eq!(svc.task_sets().len(), 2);
    assert!(svc.deployments().is_empty());
    assert_eq!(svc.desired_count(), 4);
    assert_eq!(svc.running_count(), 4);
    // The service shows its primary set's fields (AWS's developer guide).
    assert!(svc
        .task_definition()
        .unwrap()
        .ends_with("task-definition/web:2"));
    assert_eq!(svc.launch_type(), Some(&LaunchType::Fargate));
    let statuses: Vec<_> = svc
        .task_sets()
        .iter()
        .map(|t| (t.id().unwrap().to_string(), t.status().unwrap().to_string()))
        .collect();
    assert!(statuses.contains(&(blue_id.clone(), "ACTIVE".into())));
    assert!(statuses.contains(&(green_id.clone(), "PRIMARY".into())));

    // The service's desired count moves every set's computed count.
    s.ecs
        .update_service()
        .cluster("c")
        .service("web")
        .desired_count(10)
        .send()
        .await
        .unwrap();
    wait_for_set(&s.ecs, &green_id, "green at 3", steady_at(3)).await;
    wait_for_set(&s.ecs, &blue_id, "blue at 5", steady_at(5)).await;

    // Scaled to 0, blue's tasks stop; then it may be deleted without force.
    let scaled = s
        .ecs
        .update_task_set()
        .cluster("c")
        .service("web")
        .task_set(&blue_id)
        .scale(percent(0.0))
        .send()
        .await
        .unwrap()
        .task_set
        .unwrap();
    assert_eq!(scaled.computed_desired_count(), 0);
    wait_for_set(&s.ecs, &blue_id, "blue at 0", steady_at(0)).await;
    let deleted = s
        .ecs
        .delete_task_set()
        .cluster("c")
        .service("web")
        .task_set(&blue_id)
        .send()
        .await
        .unwrap()
        .task_set
        .unwrap();
    assert_eq!(deleted.status(), Some("DRAINING"));
    wait_for_set(&s.ecs, &blue_id, "blue gone", |t| t.is_none()).await;
    let d = s
        .ecs
        .describe_task_sets()
        .cluster("c")
        .service("web")
        .task_sets(&blue_id)
        .send()
        .await
        .unwrap();
    assert_eq!(d.failures()[0].reason(), Some("MISSING"));

    // Green still scaled: deleting it needs force, then its tasks stop.
    let err = s
        .ecs
        .delete_task_set()
        .cluster("c")
        .service("web")
        .task_set(&green_id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    s.ecs
        .delete_task_set()
        .cluster("c")
        .service("web")
        .task_set(green.task_set_arn().unwrap())
        .force(true)
        .send()
        .await
        .unwrap();
    for _ in 0..400 {
        if alive_started_by(&s.ecs).await.is_empty()
            && describe_service(&s.ecs).await.task_sets().is_empty()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(alive_started_by(&s.ecs).await.is_empty());
    let svc = describe_service(&s.ecs).await;
    assert!(svc.task_sets().is_empty());
    assert_eq!(
        svc.task_definition(),
        None,
        "no primary: the task set fields are null"
    );
}

#[tokio::test]
async fn describe_task_sets_lists_all_with_tags_when_asked() {
    let s = setup().await;
    create_external(&s.ecs, 0).await;
    let a = s
        .ecs
        .create_task_set()
        .cluster("c")
        .service("web")
        .task_definition("web:1")
        .network_configuration(awsvpc())
        .launch_type(LaunchType::Fargate)
        .tags(Tag::builder().key("k").value("v").build())
        .client_token("tok")
        .send()
        .await
        .unwrap()
        .task_set
        .unwrap();
    // No scale given: 0%, as in AWS's CreateTaskSet example.
    assert_eq!(a.scale().unwrap().value(), 0.0);
    assert_eq!(a.scale().unwrap().unit(), Some(&ScaleUnit::Percent));
    // clientToken makes the call idempotent.
    let again = s
        .ecs
        .create_task_set()
        .cluster("c")
        .service("web")
        .task_definition("web:1")
        .network_configuration(awsvpc())
        .launch_type(LaunchType::Fargate)
        .client_token("tok")
        .send()
        .await
        .unwrap()
        .task_set
        .unwrap();
    assert_eq!(again.id(), a.id());
    create_set(&s.ecs, "web:2", 0.0).await;
    let all = s
        .ecs
        .describe_task_sets()
        .cluster("c")
        .service("web")
        .send()
        .await
        .unwrap();
    assert_eq!(all.task_sets().len(), 2);
    assert!(all.task_sets().iter().all(|t| t.tags().is_empty()));
    let tagged = s
        .ecs
        .describe_task_sets()
        .cluster("c")
        .service("web")
        .task_sets(a.task_set_arn().unwrap())
        .include(TaskSetField::Tags)
        .send()
        .await
        .unwrap();
    assert_eq!(tagged.task_sets()[0].tags()[0].key(), Some("k"));
    // A task set is a taggable resource (TagResource's doc lists task sets):
    // the tag operations and DescribeTaskSets show the same tags.
    let arn = a.task_set_arn().unwrap();
    s.ecs
        .tag_resource()
        .resource_arn(arn)
        .tags(Tag::builder().key("team").value("a").build())
        .send()
        .await
        .unwrap();
    s.ecs
        .untag_resource()
        .resource_arn(arn)
        .tag_keys("k")
        .send()
        .await
        .unwrap();
    let listed = s
        .ecs
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .unwrap();
    let keys: Vec<_> = listed.tags().iter().filter_map(|t| t.key()).collect();
    assert_eq!(keys, ["team"]);
    let missing = arn.rsplit_once('/').unwrap().0.to_string() + "/1234567890123456789";
    let err = s
        .ecs
        .list_tags_for_resource()
        .resource_arn(missing)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.into_service_error().meta().code(),
        Some("ResourceNotFoundException")
    );
}

#[tokio::test]
async fn task_set_calls_answer_awss_errors() {
    let s = setup().await;
    // An ECS-controller service: AWS's words, quoted in
    // hashicorp/terraform-provider-aws#30347.
    s.ecs
        .create_service()
        .cluster("c")
        .service_name("rolling")
        .task_definition("web")
        .desired_count(0)
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc())
        .send()
        .await
        .unwrap();
    let err = s
        .ecs
        .create_task_set()
        .cluster("c")
        .service("rolling")
        .task_definition("web:1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    assert_eq!(
        message(&err),
        "Amazon ECS only supports task set management on services configured to use external deployment controllers."
    );
    let err = s
        .ecs
        .describe_task_sets()
        .cluster("c")
        .service("rolling")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");

    let err = s
        .ecs
        .create_task_set()
        .cluster("c")
        .service("ghost")
        .task_definition("web:1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ServiceNotFoundException");
    let err = s
        .ecs
        .create_task_set()
        .cluster("nope")
        .service("web")
        .task_definition("web:1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ClusterNotFoundException");

    create_external(&s.ecs, 2).await;
    let err = s
        .ecs
        .update_task_set()
        .cluster("c")
        .service("web")
        .task_set("ecs-svc/1234567890123456789")
        .scale(percent(10.0))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "TaskSetNotFoundException");
    let err = s
        .ecs
        .delete_task_set()
        .cluster("c")
        .service("web")
        .task_set("ecs-svc/1234567890123456789")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "TaskSetNotFoundException");
    let err = s
        .ecs
        .update_service_primary_task_set()
        .cluster("c")
        .service("web")
        .primary_task_set("ecs-svc/1234567890123456789")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "TaskSetNotFoundException");
    // A scale outside 0..100 (AWS's Scale reference: "Accepted values are
    // numbers between 0 and 100.").
    let err = s
        .ecs
        .create_task_set()
        .cluster("c")
        .service("web")
        .task_definition("web:1")
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc())
        .scale(percent(150.0))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    // awsvpc needs its network configuration, as for any launch.
    let err = s
        .ecs
        .create_task_set()
        .cluster("c")
        .service("web")
        .task_definition("web:1")
        .launch_type(LaunchType::Fargate)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");

    // UpdateService on an EXTERNAL service changes only what AWS lets it
    // (AWS's UpdateService reference); a task definition is a task set's.
    let err = s
        .ecs
        .update_service()
        .cluster("c")
        .service("web")
        .task_definition("web:2")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    assert!(
        message(&err).contains("task definition"),
        "{}",
        message(&err)
    );
    s.ecs
        .update_service()
        .cluster("c")
        .service("web")
        .desired_count(3)
        .health_check_grace_period_seconds(5)
        .send()
        .await
        .unwrap();

    // A deleted service takes no new task set.
    s.ecs
        .delete_service()
        .cluster("c")
        .service("web")
        .force(true)
        .send()
        .await
        .unwrap();
    let err = s
        .ecs
        .create_task_set()
        .cluster("c")
        .service("web")
        .task_definition("web:1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ServiceNotActiveException");
}

#[tokio::test]
async fn create_service_with_external_or_code_deploy_answers_as_aws() {
    let s = setup().await;
    // AWS's words: terraform-aws-modules/terraform-aws-ecs#278 ("InvalidParameterException:
    // TaskDefinition must be blank") and aws-cdk#26335 ("NetworkConfiguration must be null.").
    let err = s
        .ecs
        .create_service()
        .cluster("c")
        .service_name("web")
        .task_definition("web")
        .deployment_controller(external())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    assert_eq!(message(&err), "TaskDefinition must be blank.");
    let err = s
        .ecs
        .create_service()
        .cluster("c")
        .service_name("web")
        .network_configuration(awsvpc())
        .deployment_controller(external())
        .send()
        .await
        .unwrap_err();
    assert_eq!(message(&err), "NetworkConfiguration must be null.");
    // The other task set level parameters (ecsbox's wording, naming them).
    let err = s
        .ecs
        .create_service()
        .cluster("c")
        .service_name("web")
        .launch_type(LaunchType::Fargate)
        .deployment_controller(external())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    assert!(message(&err).starts_with("LaunchType"), "{}", message(&err));

    // CODE_DEPLOY needs AWS CodeDeploy, which ecsbox does not serve; the
    // answer says so (ecsbox's wording).
    let err = s
        .ecs
        .create_service()
        .cluster("c")
        .service_name("web")
        .task_definition("web")
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc())
        .deployment_controller(
            DeploymentController::builder()
                .r#type(DeploymentControllerType::CodeDeploy)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "UnsupportedFeatureException");
    assert!(message(&err).contains("CodeDeploy"), "{}", message(&err));
    assert!(
        message(&err).contains("CreateDeployment"),
        "{}",
        message(&err)
    );
}
