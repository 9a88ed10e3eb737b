//! Application Auto Scaling on the in-process server with the fake
//! runtime: scalable targets (and their errors), target tracking's alarms
//! and proportional capacity, step scaling, cooldowns and scheduled
//! actions, the last two by advancing ecsbox's clock.
//!
//! ecsbox's clock is process-wide, so this binary is its own and its tests
//! take turns (`serial`): one test's advance must not end another's
//! cooldown.
mod common;

use aws_sdk_ecs::types::{
    AwsVpcConfiguration, Compatibility, ContainerDefinition, LaunchType, NetworkConfiguration,
    NetworkMode,
};
use common::{RawResponse, TestServer};
use ecsbox::config::Config;
use ecsbox::runtime::fake::FakeRuntime;
use ecsbox::services::application_autoscaling::alarms::{AlarmSpec, AlarmStore, AlarmTrigger};
use ecsbox::services::application_autoscaling::cloudwatch_link::CloudWatchAlarms;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ACCOUNT: &str = "000000000000";
const REGION: &str = "us-east-1";
const DIMENSION: &str = "ecs:service:DesiredCount";

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Setup {
    server: TestServer,
    ecs: aws_sdk_ecs::Client,
}

/// A server with cluster `c` and service `web` (Fargate, `desired` tasks).
async fn setup(desired: i32) -> Setup {
    let fake = Arc::new(FakeRuntime::new());
    fake.add_image("app:1");
    let server = TestServer::start_on(Config::for_tests(), fake).await;
    let ecs = server.client();
    ecs.create_cluster().cluster_name("c").send().await.unwrap();
    ecs.register_task_definition()
        .family("web")
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image("app:1")
                .build(),
        )
        .send()
        .await
        .unwrap();
    create_service(&ecs, "web", desired).await;
    Setup { server, ecs }
}

async fn create_service(ecs: &aws_sdk_ecs::Client, name: &str, desired: i32) {
    ecs.create_service()
        .cluster("c")
        .service_name(name)
        .task_definition("web")
        .desired_count(desired)
        .launch_type(LaunchType::Fargate)
        .network_configuration(
            NetworkConfiguration::builder()
                .awsvpc_configuration(
                    AwsVpcConfiguration::builder()
                        .subnets("subnet-0123abcd")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
}

impl Setup {
    async fn call(&self, operation: &str, body: Value) -> RawResponse {
        self.server
            .aws_json(
                "application-autoscaling",
                &format!("AnyScaleFrontendService.{operation}"),
                body,
            )
            .await
    }

    async fn ok(&self, operation: &str, body: Value) -> Value {
        let r = self.call(operation, body).await;
        assert_eq!(r.status, 200, "{operation}: {}", r.body);
        r.json()
    }

    async fn desired(&self, service: &str) -> i32 {
        let out = self
            .ecs
            .describe_services()
            .cluster("c")
            .services(service)
            .send()
            .await
            .unwrap();
        out.services()[0].desired_count()
    }

    async fn register(&self, service: &str, min: i32, max: i32) -> Value {
        self.ok(
            "RegisterScalableTarget",
            json!({"ServiceNamespace": "ecs", "ResourceId": format!("service/c/{service}"),
                   "ScalableDimension": DIMENSION, "MinCapacity": min, "MaxCapacity": max}),
        )
        .await
    }

    async fn activities(&self) -> Vec<Value> {
        let out = self
            .ok(
                "DescribeScalingActivities",
                json!({"ServiceNamespace": "ecs", "ResourceId": "service/c/web"}),
            )
            .await;
        out["ScalingActivities"].as_array().unwrap().clone()
    }

    fn fire(&self, policy_arn: &str, alarm: &str, metric: Option<f64>, threshold: f64) {
        self.server.app.application_autoscaling.alarm_fired(
            ACCOUNT,
            REGION,
            policy_arn,
            &AlarmTrigger {
                alarm_name: alarm.into(),
                state: "ALARM".into(),
                metric_value: metric,
                threshold,
            },
        );
    }

    /// Waits (on real time, with a deadline) for the service's desired count.
    async fn wait_desired(&self, service: &str, want: i32) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = self.desired(service).await;
            if got == want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "desired count stayed {got}, wanted {want}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test]
async fn scalable_targets_register_describe_page_tag_and_deregister() {
    let _turn = SERIAL.lock().await;
    let s = setup(1).await;

    // The service must exist: AWS's words (Terraform retries on them).
    let r = s
        .call(
            "RegisterScalableTarget",
            json!({"ServiceNamespace": "ecs", "ResourceId": "service/c/nope", "ScalableDimension": DIMENSION,
                   "MinCapacity": 1, "MaxCapacity": 2}),
        )
        .await;
    assert_eq!(
        (r.status, r.error_type()),
        (400, "ValidationException".to_string())
    );
    assert_eq!(
        r.json()["message"],
        "ECS service doesn't exist: service/c/nope"
    );

    // Other namespaces are refused by name, never silently accepted.
    let r = s
        .call(
            "RegisterScalableTarget",
            json!({"ServiceNamespace": "dynamodb", "ResourceId": "table/t",
                   "ScalableDimension": "dynamodb:table:ReadCapacityUnits", "MinCapacity": 1, "MaxCapacity": 2}),
        )
        .await;
    assert_eq!(r.error_type(), "ValidationException");
    assert!(r.body.contains("'dynamodb' is not supported"), "{}", r.body);
    let r = s
        .call(
            "DescribeScalableTargets",
            json!({"ServiceNamespace": "lambda"}),
        )
        .await;
    assert_eq!(r.error_type(), "ValidationException");
    let r = s
        .call(
            "RegisterScalableTarget",
            json!({"ServiceNamespace": "ecs", "ResourceId": "service/c/web", "ScalableDimension": DIMENSION,
                   "MinCapacity": 5, "MaxCapacity": 2}),
        )
        .await;
    assert_eq!(
        r.json()["message"],
        "Minimum capacity cannot be greater than maximum capacity"
    );

    // A desired count below the minimum is brought up at registration.
    let arn = s.register("web", 2, 5).await["ScalableTargetARN"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        arn.starts_with("arn:aws:application-autoscaling:us-east-1:000000000000:scalable-target/")
    );
    assert_eq!(s.desired("web").await, 2);
    let activities = s.activities().await;
    assert_eq!(activities[0]["Description"], "Setting desired count to 2.");
    assert_eq!(activities[0]["Cause"], "minimum capacity was set to 2");
    assert_eq!(activities[0]["StatusCode"], "Successful");
    assert_eq!(
        activities[0]["StatusMessage"],
        "Successfully set desired count to 2. Change successfully fulfilled by ecs."
    );

    // Registering again updates what is given.
    create_service(&s.ecs, "api", 1).await;
    s.register("api", 0, 3).await;
    s.ok(
        "RegisterScalableTarget",
        json!({"ServiceNamespace": "ecs", "ResourceId": "service/c/api", "ScalableDimension": DIMENSION,
               "MaxCapacity": 4, "SuspendedState": {"DynamicScalingInSuspended": true}}),
    )
    .await;
    let page = s
        .ok(
            "DescribeScalableTargets",
            json!({"ServiceNamespace": "ecs", "MaxResults": 1}),
        )
        .await;
    let first = &page["ScalableTargets"][0];
    assert_eq!(first["ResourceId"], "service/c/api");
    assert_eq!(
        (first["MinCapacity"].as_i64(), first["MaxCapacity"].as_i64()),
        (Some(0), Some(4))
    );
    assert_eq!(first["SuspendedState"]["DynamicScalingInSuspended"], true);
    assert_eq!(first["SuspendedState"]["ScheduledScalingSuspended"], false);
    let token = page["NextToken"].as_str().unwrap();
    let page = s
        .ok(
            "DescribeScalableTargets",
            json!({"ServiceNamespace": "ecs", "MaxResults": 1, "NextToken": token}),
        )
        .await;
    assert_eq!(page["ScalableTargets"][0]["ResourceId"], "service/c/web");
    assert!(page.get("NextToken").is_none());
    let r = s
        .call(
            "DescribeScalableTargets",
            json!({"ServiceNamespace": "ecs", "NextToken": "zz"}),
        )
        .await;
    assert_eq!(r.error_type(), "InvalidNextTokenException");

    // Tags on the target's ARN.
    s.ok(
        "TagResource",
        json!({"ResourceARN": arn, "Tags": {"team": "a", "env": "dev"}}),
    )
    .await;
    s.ok(
        "UntagResource",
        json!({"ResourceARN": arn, "TagKeys": ["env"]}),
    )
    .await;
    let tags = s
        .ok("ListTagsForResource", json!({"ResourceARN": arn}))
        .await;
    assert_eq!(tags["Tags"], json!({"team": "a"}));
    let r = s
        .call(
            "TagResource",
            json!({"ResourceARN": arn, "Tags": {"aws:x": "y"}}),
        )
        .await;
    assert_eq!(r.error_type(), "ValidationException");

    // Policies and scheduled actions need a registered target: AWS's words.
    let r = s
        .call(
            "PutScalingPolicy",
            json!({"PolicyName": "p", "ServiceNamespace": "ecs", "ResourceId": "service/c/other",
                   "ScalableDimension": DIMENSION, "PolicyType": "TargetTrackingScaling",
                   "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 50.0,
                     "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}}),
        )
        .await;
    assert_eq!(r.error_type(), "ObjectNotFoundException");
    assert_eq!(
        r.json()["message"],
        "No scalable target registered for service namespace: ecs, resource ID: service/c/other, scalable dimension: ecs:service:DesiredCount"
    );

    let deregister = json!({"ServiceNamespace": "ecs", "ResourceId": "service/c/api", "ScalableDimension": DIMENSION});
    s.ok("DeregisterScalableTarget", deregister.clone()).await;
    let r = s.call("DeregisterScalableTarget", deregister).await;
    assert_eq!(r.error_type(), "ObjectNotFoundException");
    let all = s
        .ok(
            "DescribeScalableTargets",
            json!({"ServiceNamespace": "ecs"}),
        )
        .await;
    assert_eq!(all["ScalableTargets"].as_array().unwrap().len(), 1);
}

fn target_tracking(name: &str, metric: &str, target: f64, extra: Value) -> Value {
    let mut config = json!({"TargetValue": target, "PredefinedMetricSpecification": {"PredefinedMetricType": metric}});
    config
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    json!({"PolicyName": name, "ServiceNamespace": "ecs", "ResourceId": "service/c/web",
           "ScalableDimension": DIMENSION, "PolicyType": "TargetTrackingScaling",
           "TargetTrackingScalingPolicyConfiguration": config})
}

#[tokio::test]
async fn target_tracking_creates_its_alarms_and_scales_proportionally_with_cooldowns() {
    let _turn = SERIAL.lock().await;
    let s = setup(2).await;
    s.register("web", 1, 10).await;

    let put = s
        .ok(
            "PutScalingPolicy",
            target_tracking("cpu50", "ECSServiceAverageCPUUtilization", 50.0, json!({})),
        )
        .await;
    let policy_arn = put["PolicyARN"].as_str().unwrap().to_string();
    assert!(
        policy_arn.starts_with("arn:aws:autoscaling:us-east-1:000000000000:scalingPolicy:")
            && policy_arn.ends_with(":resource/ecs/service/c/web:policyName/cpu50"),
        "{policy_arn}"
    );
    let alarms: Vec<String> = put["Alarms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["AlarmName"].as_str().unwrap().to_string())
        .collect();
    assert!(
        alarms[0].starts_with("TargetTracking-service/c/web-AlarmHigh-"),
        "{alarms:?}"
    );
    assert!(
        alarms[1].starts_with("TargetTracking-service/c/web-AlarmLow-"),
        "{alarms:?}"
    );
    assert_eq!(
        put["Alarms"][0]["AlarmARN"],
        format!(
            "arn:aws:cloudwatch:us-east-1:000000000000:alarm:{}",
            alarms[0]
        )
    );
    let specs = alarm_specs(&s.server.app);
    let high = specs.iter().find(|a| a.alarm_name == alarms[0]).unwrap();
    let low = specs.iter().find(|a| a.alarm_name == alarms[1]).unwrap();
    assert_eq!(
        (high.namespace.as_str(), high.metric_name.as_str()),
        ("AWS/ECS", "CPUUtilization")
    );
    assert_eq!(
        high.dimensions,
        [
            ("ClusterName".to_string(), "c".to_string()),
            ("ServiceName".to_string(), "web".to_string())
        ]
    );
    assert_eq!(
        (
            high.period,
            high.evaluation_periods,
            high.datapoints_to_alarm
        ),
        (60, 3, 3)
    );
    assert_eq!(
        (high.threshold, high.comparison_operator.as_str()),
        (50.0, "GreaterThanThreshold")
    );
    assert_eq!((low.evaluation_periods, low.datapoints_to_alarm), (15, 15));
    assert_eq!(
        (low.threshold, low.comparison_operator.as_str()),
        (45.0, "LessThanThreshold")
    );
    assert!(high.alarm_actions[0].starts_with(&format!("{policy_arn}:createdBy/")));
    let described = s
        .ok(
            "DescribeScalingPolicies",
            json!({"ServiceNamespace": "ecs"}),
        )
        .await;
    assert_eq!(described["ScalingPolicies"][0]["Alarms"], put["Alarms"]);

    // 2 tasks at 90% against 50%: ceil(2 × 90 / 50) = 4.
    s.fire(&high.alarm_actions[0], &alarms[0], Some(90.0), 50.0);
    assert_eq!(s.desired("web").await, 4);
    let activity = &s.activities().await[0];
    assert_eq!(activity["Description"], "Setting desired count to 4.");
    assert_eq!(
        activity["Cause"],
        format!(
            "monitor alarm {} in state ALARM triggered policy cpu50",
            alarms[0]
        )
    );
    // In the scale-out cooldown the same breach adds nothing (the 2 tasks
    // added count), a larger one adds the difference: ceil(2 × 150 / 50) = 6.
    s.fire(&policy_arn, &alarms[0], Some(90.0), 50.0);
    assert_eq!(s.desired("web").await, 4);
    s.fire(&policy_arn, &alarms[0], Some(150.0), 50.0);
    assert_eq!(s.desired("web").await, 6);

    // Scale-in by the same formula: ceil(6 × 10 / 50) = 2; then the
    // scale-in cooldown (300 s by default) holds until the clock passes it.
    s.fire(&policy_arn, &alarms[1], Some(10.0), 45.0);
    assert_eq!(s.desired("web").await, 2);
    s.fire(&policy_arn, &alarms[1], Some(10.0), 45.0);
    assert_eq!(s.desired("web").await, 2);
    ecsbox::clock::advance(Duration::from_secs(301));
    s.fire(&policy_arn, &alarms[1], Some(10.0), 45.0);
    assert_eq!(
        s.desired("web").await,
        1,
        "ceil(2 × 10 / 50) = 1, the minimum"
    );

    // Never above the maximum.
    s.fire(&policy_arn, &alarms[0], Some(5000.0), 50.0);
    assert_eq!(s.desired("web").await, 10);

    // DisableScaleIn: AlarmLow does nothing. The policy keeps its ARN and alarms.
    let again = s
        .ok(
            "PutScalingPolicy",
            target_tracking(
                "cpu50",
                "ECSServiceAverageCPUUtilization",
                50.0,
                json!({"DisableScaleIn": true}),
            ),
        )
        .await;
    assert_eq!(again["PolicyARN"], policy_arn.as_str());
    assert_eq!(again["Alarms"], put["Alarms"]);
    ecsbox::clock::advance(Duration::from_secs(301));
    s.fire(&policy_arn, &alarms[1], Some(1.0), 45.0);
    assert_eq!(s.desired("web").await, 10);

    // ALBRequestCountPerTarget names its target group in a ResourceLabel
    // (tests/alb_request_scaling.rs scales on it).
    let r = s
        .call(
            "PutScalingPolicy",
            target_tracking("alb", "ALBRequestCountPerTarget", 100.0, json!({})),
        )
        .await;
    assert_eq!(r.error_type(), "ValidationException");
    assert!(r.body.contains("ResourceLabel is required"), "{}", r.body);

    // Deleting the policy deletes its alarms.
    s.ok(
        "DeleteScalingPolicy",
        json!({"PolicyName": "cpu50", "ServiceNamespace": "ecs", "ResourceId": "service/c/web", "ScalableDimension": DIMENSION}),
    )
    .await;
    assert!(alarm_specs(&s.server.app).is_empty());
    let r = s
        .call(
            "DeleteScalingPolicy",
            json!({"PolicyName": "cpu50", "ServiceNamespace": "ecs", "ResourceId": "service/c/web", "ScalableDimension": DIMENSION}),
        )
        .await;
    assert_eq!(r.error_type(), "ObjectNotFoundException");
}

fn step_policy(name: &str, kind: &str, steps: Value, extra: Value) -> Value {
    let mut config = json!({"AdjustmentType": kind, "StepAdjustments": steps, "Cooldown": 60});
    config
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    json!({"PolicyName": name, "ServiceNamespace": "ecs", "ResourceId": "service/c/web",
           "ScalableDimension": DIMENSION, "PolicyType": "StepScaling", "StepScalingPolicyConfiguration": config})
}

#[tokio::test]
async fn step_scaling_applies_the_step_the_breach_falls_in() {
    let _turn = SERIAL.lock().await;
    let s = setup(2).await;
    s.register("web", 1, 8).await;
    let out = s
        .ok(
            "PutScalingPolicy",
            step_policy(
                "up",
                "ChangeInCapacity",
                json!([{"MetricIntervalLowerBound": 0.0, "MetricIntervalUpperBound": 10.0, "ScalingAdjustment": 1},
                       {"MetricIntervalLowerBound": 10.0, "ScalingAdjustment": 3}]),
                json!({}),
            ),
        )
        .await;
    let up = out["PolicyARN"].as_str().unwrap().to_string();
    assert_eq!(out["Alarms"], json!([]));
    // The user's alarm that names the policy is listed with it, as AWS does.
    let alarm = ecsbox::services::application_autoscaling::alarms::AlarmSpec {
        alarm_name: "cpu-high".into(),
        alarm_description: String::new(),
        namespace: "AWS/ECS".into(),
        metric_name: "CPUUtilization".into(),
        dimensions: Vec::new(),
        statistic: "Average".into(),
        unit: None,
        period: 60,
        evaluation_periods: 1,
        datapoints_to_alarm: 1,
        threshold: 70.0,
        comparison_operator: "GreaterThanThreshold".into(),
        alarm_actions: vec![up.clone()],
        treat_missing_data: "missing".into(),
    };
    CloudWatchAlarms(s.server.app.cloudwatch.clone())
        .put_alarm(ACCOUNT, REGION, &alarm)
        .unwrap();
    let described = s
        .ok(
            "DescribeScalingPolicies",
            json!({"ServiceNamespace": "ecs", "PolicyNames": ["up"]}),
        )
        .await;
    assert_eq!(
        described["ScalingPolicies"][0]["Alarms"],
        json!([{"AlarmName": "cpu-high",
                "AlarmARN": "arn:aws:cloudwatch:us-east-1:000000000000:alarm:cpu-high"}])
    );

    // A user alarm at 70%: 85% is 15 above the threshold, the +3 step.
    s.fire(&up, "cpu-high", Some(85.0), 70.0);
    assert_eq!(s.desired("web").await, 5);
    assert_eq!(
        s.activities().await[0]["Cause"],
        "monitor alarm cpu-high in state ALARM triggered policy up"
    );
    // In the cooldown the +1 step counts from 2 (3 < 5): nothing.
    s.fire(&up, "cpu-high", Some(75.0), 70.0);
    assert_eq!(s.desired("web").await, 5);
    ecsbox::clock::advance(Duration::from_secs(61));
    // After it, +3 again but bounded by MaxCapacity 8.
    s.fire(&up, "cpu-high", Some(95.0), 70.0);
    assert_eq!(s.desired("web").await, 8);

    let out = s
        .ok(
            "PutScalingPolicy",
            step_policy(
                "down",
                "PercentChangeInCapacity",
                json!([{"MetricIntervalUpperBound": 0.0, "ScalingAdjustment": -50}]),
                json!({"MinAdjustmentMagnitude": 1}),
            ),
        )
        .await;
    let down = out["PolicyARN"].as_str().unwrap().to_string();
    // Set by SetAlarmState (no metric value): the step at the threshold.
    s.fire(&down, "cpu-low", None, 20.0);
    assert_eq!(s.desired("web").await, 4);

    let out = s
        .ok(
            "PutScalingPolicy",
            step_policy(
                "exact",
                "ExactCapacity",
                json!([{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 6}]),
                json!({}),
            ),
        )
        .await;
    s.fire(
        out["PolicyARN"].as_str().unwrap(),
        "queue-deep",
        Some(500.0),
        100.0,
    );
    assert_eq!(s.desired("web").await, 6);

    // Only ALARM acts; an ARN that names no policy is dropped.
    s.server.app.application_autoscaling.alarm_fired(
        ACCOUNT,
        REGION,
        &up,
        &AlarmTrigger {
            alarm_name: "cpu-high".into(),
            state: "OK".into(),
            metric_value: Some(99.0),
            threshold: 70.0,
        },
    );
    s.fire("arn:aws:autoscaling:us-east-1:000000000000:scalingPolicy:x:resource/ecs/service/c/web:policyName/none", "a", Some(1.0), 0.0);
    assert_eq!(s.desired("web").await, 6);

    // Suspended scale-out.
    s.ok(
        "RegisterScalableTarget",
        json!({"ServiceNamespace": "ecs", "ResourceId": "service/c/web", "ScalableDimension": DIMENSION,
               "SuspendedState": {"DynamicScalingOutSuspended": true}}),
    )
    .await;
    ecsbox::clock::advance(Duration::from_secs(61));
    s.fire(&up, "cpu-high", Some(95.0), 70.0);
    assert_eq!(s.desired("web").await, 6);

    // Steps that leave a gap are refused.
    let r = s
        .call(
            "PutScalingPolicy",
            step_policy(
                "gap",
                "ChangeInCapacity",
                json!([{"MetricIntervalLowerBound": 0.0, "MetricIntervalUpperBound": 10.0, "ScalingAdjustment": 1},
                       {"MetricIntervalLowerBound": 20.0, "ScalingAdjustment": 3}]),
                json!({}),
            ),
        )
        .await;
    assert_eq!(r.error_type(), "ValidationException");
}

fn utc(secs: i64) -> String {
    ecsbox::civil::format_date_time(secs)
}

#[tokio::test]
async fn scheduled_actions_fire_when_the_clock_reaches_them() {
    let _turn = SERIAL.lock().await;
    let s = setup(1).await;
    s.register("web", 1, 4).await;
    let now = ecsbox::clock::now_secs() as i64;
    let at = utc(now + 3600);
    s.ok(
        "PutScheduledAction",
        json!({"ServiceNamespace": "ecs", "ResourceId": "service/c/web", "ScalableDimension": DIMENSION,
               "ScheduledActionName": "morning", "Schedule": format!("at({at})"),
               "ScalableTargetAction": {"MinCapacity": 3, "MaxCapacity": 6}}),
    )
    .await;
    s.ok(
        "PutScheduledAction",
        json!({"ServiceNamespace": "ecs", "ResourceId": "service/c/web", "ScalableDimension": DIMENSION,
               "ScheduledActionName": "weekdays", "Schedule": "cron(0 9 ? * MON-FRI 2100)", "Timezone": "Europe/Paris",
               "ScalableTargetAction": {"MinCapacity": 2}}),
    )
    .await;
    let listed = s
        .ok(
            "DescribeScheduledActions",
            json!({"ServiceNamespace": "ecs", "MaxResults": 1}),
        )
        .await;
    let first = &listed["ScheduledActions"][0];
    assert_eq!(first["ScheduledActionName"], "morning");
    assert_eq!(first["Schedule"], format!("at({at})"));
    assert!(first["ScheduledActionARN"]
        .as_str()
        .unwrap()
        .ends_with(":resource/ecs/service/c/web:scheduledActionName/morning"));
    assert!(listed["NextToken"].is_string());

    // Not yet.
    ecsbox::clock::advance(Duration::from_secs(1800));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(s.desired("web").await, 1);
    // Past it: min 3, max 6, and the desired count brought up to 3.
    ecsbox::clock::advance(Duration::from_secs(1801));
    s.wait_desired("web", 3).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let activities = loop {
        let activities = s.activities().await;
        if activities.len() >= 2 || Instant::now() > deadline {
            break activities;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(activities[0]["Cause"], "minimum capacity was set to 3");
    assert_eq!(activities[0]["Description"], "Setting desired count to 3.");
    assert_eq!(
        activities[1]["Description"],
        "Setting min capacity to 3 and max capacity to 6"
    );
    assert_eq!(
        activities[1]["Cause"],
        "scheduled action name morning was triggered"
    );
    assert_eq!(
        activities[1]["StatusMessage"],
        "Successfully set min capacity to 3 and max capacity to 6"
    );
    let target = s
        .ok(
            "DescribeScalableTargets",
            json!({"ServiceNamespace": "ecs"}),
        )
        .await;
    assert_eq!(target["ScalableTargets"][0]["MinCapacity"], 3);
    assert_eq!(target["ScalableTargets"][0]["MaxCapacity"], 6);

    // A rate: every hour from now; max 2 brings the count down.
    s.ok(
        "PutScheduledAction",
        json!({"ServiceNamespace": "ecs", "ResourceId": "service/c/web", "ScalableDimension": DIMENSION,
               "ScheduledActionName": "night", "Schedule": "rate(1 hour)",
               "ScalableTargetAction": {"MinCapacity": 1, "MaxCapacity": 2}}),
    )
    .await;
    ecsbox::clock::advance(Duration::from_secs(3601));
    s.wait_desired("web", 2).await;

    // Errors.
    for (schedule, word) in [
        ("cron(0 9 15W * ? *)", "W (nearest weekday)"),
        ("rate(5 weeks)", "rate expression"),
        ("every day", "Invalid schedule expression"),
    ] {
        let r = s
            .call(
                "PutScheduledAction",
                json!({"ServiceNamespace": "ecs", "ResourceId": "service/c/web", "ScalableDimension": DIMENSION,
                       "ScheduledActionName": "bad", "Schedule": schedule}),
            )
            .await;
        assert_eq!(r.error_type(), "ValidationException", "{schedule}");
        assert!(r.body.contains(word), "{schedule}: {}", r.body);
    }
    let r = s
        .call(
            "PutScheduledAction",
            json!({"ServiceNamespace": "ecs", "ResourceId": "service/c/web", "ScalableDimension": DIMENSION,
                   "ScheduledActionName": "bad", "Schedule": "rate(1 day)", "Timezone": "Mars/Olympus"}),
        )
        .await;
    assert_eq!(r.error_type(), "ValidationException");
    let delete = json!({"ServiceNamespace": "ecs", "ResourceId": "service/c/web", "ScalableDimension": DIMENSION,
                        "ScheduledActionName": "night"});
    s.ok("DeleteScheduledAction", delete.clone()).await;
    let r = s.call("DeleteScheduledAction", delete).await;
    assert_eq!(r.error_type(), "ObjectNotFoundException");
}

/// The alarms CloudWatch holds in the test account and region, as the
/// scaling service describes the ones it makes.
fn alarm_specs(app: &ecsbox::server::App) -> Vec<AlarmSpec> {
    let cw = &app.cloudwatch;
    cw.alarm_names_with_prefix(ACCOUNT, REGION, "")
        .into_iter()
        .filter_map(|name| cw.alarm(ACCOUNT, REGION, &name))
        .map(|a| AlarmSpec {
            alarm_name: a.alarm_name.unwrap_or_default(),
            alarm_description: a.alarm_description.unwrap_or_default(),
            namespace: a.namespace.unwrap_or_default(),
            metric_name: a.metric_name.unwrap_or_default(),
            dimensions: a
                .dimensions
                .unwrap_or_default()
                .into_iter()
                .map(|d| (d.name.unwrap_or_default(), d.value.unwrap_or_default()))
                .collect(),
            statistic: a.statistic.unwrap_or_default(),
            unit: a.unit,
            period: a.period.unwrap_or_default(),
            evaluation_periods: a.evaluation_periods.unwrap_or_default(),
            datapoints_to_alarm: a.datapoints_to_alarm.unwrap_or_default(),
            threshold: a.threshold.unwrap_or_default(),
            comparison_operator: a.comparison_operator.unwrap_or_default(),
            alarm_actions: a.alarm_actions.unwrap_or_default(),
            treat_missing_data: a.treat_missing_data.unwrap_or_default(),
        })
        .collect()
}
