"""Application Auto Scaling on the ecsbox port (AWS JSON 1.1), through boto3
and the aws CLI: scalable targets of ECS services (registration brings the
desired count within min and max, describe, paging, tags, deregister),
target tracking and step scaling policies (the alarms target tracking
creates), scheduled actions (one fires on the server's own scheduler),
scaling activities in AWS's words, and the errors, AWS's where known:
a missing ECS service, an unregistered target, other service namespaces
refused by name."""

import datetime
import time

import pytest

import harness
from harness import assert_cli_error, assert_cli_ok, raises_aws

DIMENSION = "ecs:service:DesiredCount"
NETWORK = {"awsvpcConfiguration": {"subnets": ["subnet-0123abcd"]}}


@pytest.fixture
def scaling(endpoint):
    return harness.aws_client(endpoint, "application-autoscaling")


@pytest.fixture
def web(ecs):
    """Cluster `c`, service `web` with one Fargate task."""
    ecs.create_cluster(clusterName="c")
    ecs.register_task_definition(family="web", requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
                                 cpu="256", memory="512",
                                 containerDefinitions=[{"name": "app", "image": "busybox:latest", "essential": True}])
    ecs.create_service(cluster="c", serviceName="web", taskDefinition="web", desiredCount=1,
                       launchType="FARGATE", networkConfiguration=NETWORK)
    return "service/c/web"


def target(resource_id, **kw):
    return dict(ServiceNamespace="ecs", ResourceId=resource_id, ScalableDimension=DIMENSION, **kw)


def message(info) -> str:
    return info.value.response["Error"]["Message"]


def desired(ecs):
    return ecs.describe_services(cluster="c", services=["web"])["services"][0]["desiredCount"]


# ------------------------------------------------------------ scalable targets

def test_register_brings_the_desired_count_within_bounds_and_records_it(scaling, ecs, web):
    arn = scaling.register_scalable_target(**target(web, MinCapacity=2, MaxCapacity=5))["ScalableTargetARN"]
    assert arn.startswith(f"arn:aws:application-autoscaling:{harness.DEFAULT_REGION}:{harness.DEFAULT_ACCOUNT}:scalable-target/")
    assert desired(ecs) == 2
    described = scaling.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
    assert [(t["ResourceId"], t["MinCapacity"], t["MaxCapacity"]) for t in described] == [(web, 2, 5)]
    assert described[0]["RoleARN"].endswith("/AWSServiceRoleForApplicationAutoScaling_ECSService")
    assert described[0]["CreationTime"].year >= 2024
    activity = scaling.describe_scaling_activities(ServiceNamespace="ecs", ResourceId=web)["ScalingActivities"][0]
    # AWS's words (API reference, DescribeScalingActivities examples).
    assert activity["Description"] == "Setting desired count to 2."
    assert activity["Cause"] == "minimum capacity was set to 2"
    assert activity["StatusCode"] == "Successful"
    assert activity["StatusMessage"] == "Successfully set desired count to 2. Change successfully fulfilled by ecs."


def test_a_missing_service_and_other_namespaces_are_refused(scaling, web):
    with raises_aws("ValidationException") as e:
        scaling.register_scalable_target(**target("service/c/nope", MinCapacity=1, MaxCapacity=2))
    assert message(e) == "ECS service doesn't exist: service/c/nope"
    with raises_aws("ValidationException") as e:
        scaling.register_scalable_target(ServiceNamespace="dynamodb", ResourceId="table/t",
                                         ScalableDimension="dynamodb:table:ReadCapacityUnits",
                                         MinCapacity=1, MaxCapacity=2)
    assert "'dynamodb' is not supported" in message(e)
    with raises_aws("ValidationException"):
        scaling.describe_scaling_policies(ServiceNamespace="lambda")
    with raises_aws("ValidationException") as e:
        scaling.register_scalable_target(**target(web, MinCapacity=3, MaxCapacity=1))
    assert message(e) == "Minimum capacity cannot be greater than maximum capacity"
    # The model's enums, checked before anything else.
    with raises_aws("ValidationException"):
        scaling.register_scalable_target(ServiceNamespace="ecs", ResourceId=web, ScalableDimension="ecs:service:Nope",
                                         MinCapacity=1, MaxCapacity=2)


def test_targets_page_tag_and_deregister(scaling, ecs, web):
    ecs.create_service(cluster="c", serviceName="api", taskDefinition="web", desiredCount=0,
                       launchType="FARGATE", networkConfiguration=NETWORK)
    arn = scaling.register_scalable_target(**target("service/c/api", MinCapacity=0, MaxCapacity=3,
                                                    Tags={"team": "a"}))["ScalableTargetARN"]
    scaling.register_scalable_target(**target(web, MinCapacity=1, MaxCapacity=3))
    pages = list(scaling.get_paginator("describe_scalable_targets").paginate(
        ServiceNamespace="ecs", PaginationConfig={"PageSize": 1}))
    assert [p["ScalableTargets"][0]["ResourceId"] for p in pages] == ["service/c/api", web]
    scaling.tag_resource(ResourceARN=arn, Tags={"env": "dev"})
    scaling.untag_resource(ResourceARN=arn, TagKeys=["team"])
    assert scaling.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"env": "dev"}
    scaling.deregister_scalable_target(**target("service/c/api"))
    with raises_aws("ObjectNotFoundException"):
        scaling.deregister_scalable_target(**target("service/c/api"))
    with raises_aws("ResourceNotFoundException"):
        scaling.list_tags_for_resource(ResourceARN=arn)


# ------------------------------------------------------------ policies

def test_target_tracking_answers_the_two_alarms_aws_creates(scaling, web):
    scaling.register_scalable_target(**target(web, MinCapacity=1, MaxCapacity=4))
    out = scaling.put_scaling_policy(PolicyName="cpu50", PolicyType="TargetTrackingScaling", **target(web),
                                     TargetTrackingScalingPolicyConfiguration={
                                         "TargetValue": 50.0, "ScaleOutCooldown": 60, "ScaleInCooldown": 120,
                                         "PredefinedMetricSpecification": {
                                             "PredefinedMetricType": "ECSServiceAverageCPUUtilization"}})
    assert out["PolicyARN"].endswith(":resource/ecs/service/c/web:policyName/cpu50")
    names = [a["AlarmName"] for a in out["Alarms"]]
    assert names[0].startswith("TargetTracking-service/c/web-AlarmHigh-")
    assert names[1].startswith("TargetTracking-service/c/web-AlarmLow-")
    assert out["Alarms"][0]["AlarmARN"] == f"arn:aws:cloudwatch:{harness.DEFAULT_REGION}:{harness.DEFAULT_ACCOUNT}:alarm:{names[0]}"
    policy = scaling.describe_scaling_policies(ServiceNamespace="ecs", ResourceId=web)["ScalingPolicies"][0]
    assert policy["PolicyType"] == "TargetTrackingScaling"
    assert policy["TargetTrackingScalingPolicyConfiguration"]["ScaleInCooldown"] == 120
    assert [a["AlarmName"] for a in policy["Alarms"]] == names
    scaling.delete_scaling_policy(PolicyName="cpu50", **target(web))
    assert scaling.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"] == []


def test_alb_request_count_per_target_tracks_the_target_group_of_its_resource_label(endpoint, scaling, web):
    scaling.register_scalable_target(**target(web, MinCapacity=1, MaxCapacity=4))

    def alb_policy(**spec):
        return scaling.put_scaling_policy(PolicyName="alb", PolicyType="TargetTrackingScaling", **target(web),
                                          TargetTrackingScalingPolicyConfiguration={
                                              "TargetValue": 100.0, "PredefinedMetricSpecification": {
                                                  "PredefinedMetricType": "ALBRequestCountPerTarget", **spec}})

    for spec in ({}, {"ResourceLabel": "targetgroup/tg/2"}, {"ResourceLabel": "app/lb/1/tg/tg/2"}):
        with raises_aws("ValidationException") as e:
            alb_policy(**spec)
        assert "ResourceLabel" in message(e)
    out = alb_policy(ResourceLabel="app/lb/1/targetgroup/tg/2")
    cloudwatch = harness.aws_client(endpoint, "cloudwatch")
    alarms = cloudwatch.describe_alarms(AlarmNames=[a["AlarmName"] for a in out["Alarms"]])["MetricAlarms"]
    assert len(alarms) == 2
    for alarm in alarms:
        assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == \
            ("AWS/ApplicationELB", "RequestCountPerTarget", "Sum")
        assert alarm["Dimensions"] == [{"Name": "TargetGroup", "Value": "targetgroup/tg/2"}]
    scaling.delete_scaling_policy(PolicyName="alb", **target(web))
    assert scaling.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"] == []


def test_step_scaling_policies_and_an_unregistered_target(scaling, web):
    with raises_aws("ObjectNotFoundException") as e:
        scaling.put_scaling_policy(PolicyName="up", PolicyType="StepScaling", **target(web),
                                   StepScalingPolicyConfiguration={"AdjustmentType": "ChangeInCapacity",
                                                                   "StepAdjustments": [{"MetricIntervalLowerBound": 0,
                                                                                        "ScalingAdjustment": 1}]})
    # AWS's words, as Terraform users quote them.
    assert message(e) == (
        "No scalable target registered for service namespace: ecs, resource ID: service/c/web, "
        "scalable dimension: ecs:service:DesiredCount")
    scaling.register_scalable_target(**target(web, MinCapacity=1, MaxCapacity=4))
    config = {"AdjustmentType": "PercentChangeInCapacity", "MinAdjustmentMagnitude": 1, "Cooldown": 60,
              "MetricAggregationType": "Average",
              "StepAdjustments": [{"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 10, "ScalingAdjustment": 10},
                                  {"MetricIntervalLowerBound": 10, "ScalingAdjustment": 50}]}
    out = scaling.put_scaling_policy(PolicyName="up", PolicyType="StepScaling", **target(web),
                                     StepScalingPolicyConfiguration=config)
    policy = scaling.describe_scaling_policies(ServiceNamespace="ecs", PolicyNames=["up"])["ScalingPolicies"][0]
    assert policy["PolicyARN"] == out["PolicyARN"]
    assert policy["StepScalingPolicyConfiguration"]["StepAdjustments"][1]["ScalingAdjustment"] == 50
    with raises_aws("ValidationException"):
        scaling.put_scaling_policy(PolicyName="gap", PolicyType="StepScaling", **target(web),
                                   StepScalingPolicyConfiguration={
                                       "AdjustmentType": "ChangeInCapacity",
                                       "StepAdjustments": [{"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 5,
                                                            "ScalingAdjustment": 1},
                                                           {"MetricIntervalLowerBound": 10, "ScalingAdjustment": 2}]})
    with raises_aws("ObjectNotFoundException"):
        scaling.delete_scaling_policy(PolicyName="none", **target(web))


# ------------------------------------------------------------ scheduled actions

def test_a_scheduled_action_fires_on_the_servers_clock(endpoint, scaling, ecs, web):
    scaling.register_scalable_target(**target(web, MinCapacity=1, MaxCapacity=4))
    # Two seconds from now on ecsbox's clock, which other tests of the
    # session may have moved ahead of this machine's.
    now = harness.http_request(endpoint, "GET", "/_ecsbox/clock").json()["now"]
    when = datetime.datetime.fromtimestamp(int(now) + 2, datetime.timezone.utc)
    scaling.put_scheduled_action(ScheduledActionName="soon", Schedule=f"at({when:%Y-%m-%dT%H:%M:%S})", **target(web),
                                 ScalableTargetAction={"MinCapacity": 3, "MaxCapacity": 4})
    scaling.put_scheduled_action(ScheduledActionName="weekdays", Schedule="cron(0 9 ? * MON-FRI *)",
                                 Timezone="America/New_York", **target(web),
                                 ScalableTargetAction={"MinCapacity": 1})
    actions = scaling.describe_scheduled_actions(ServiceNamespace="ecs", ResourceId=web)["ScheduledActions"]
    assert [a["ScheduledActionName"] for a in actions] == ["soon", "weekdays"]
    assert actions[1]["Timezone"] == "America/New_York"
    assert actions[0]["ScheduledActionARN"].endswith(":resource/ecs/service/c/web:scheduledActionName/soon")
    deadline = time.monotonic() + 15
    while desired(ecs) != 3:
        assert time.monotonic() < deadline, "the scheduled action did not fire"
        time.sleep(0.1)
    activities = scaling.describe_scaling_activities(ServiceNamespace="ecs", ResourceId=web)["ScalingActivities"]
    causes = [a["Cause"] for a in activities]
    assert causes[:2] == ["minimum capacity was set to 3", "scheduled action name soon was triggered"]
    assert activities[1]["Description"] == "Setting min capacity to 3 and max capacity to 4"
    target_now = scaling.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"][0]
    assert (target_now["MinCapacity"], target_now["MaxCapacity"]) == (3, 4)
    scaling.delete_scheduled_action(ScheduledActionName="soon", **target(web))
    with raises_aws("ObjectNotFoundException"):
        scaling.delete_scheduled_action(ScheduledActionName="soon", **target(web))


@pytest.mark.parametrize("schedule, words", [
    ("cron(0 9 ? * 6#3 *)", "# (nth weekday)"),
    ("cron(0 9 * * * *)", "exactly one of day-of-month and day-of-week"),
    ("rate(1 minutes)", "rate expression"),
    ("at(tomorrow)", "yyyy-mm-ddThh:mm:ss"),
])
def test_schedules_ecsbox_cannot_run_are_refused_by_name(scaling, web, schedule, words):
    scaling.register_scalable_target(**target(web, MinCapacity=1, MaxCapacity=4))
    with raises_aws("ValidationException") as e:
        scaling.put_scheduled_action(ScheduledActionName="bad", Schedule=schedule, **target(web),
                                     ScalableTargetAction={"MinCapacity": 1})
    assert words in message(e)


# ------------------------------------------------------------ the aws CLI

def test_the_cli_registers_puts_and_describes(aws, web):
    assert_cli_ok(aws("application-autoscaling", "register-scalable-target", "--service-namespace", "ecs",
                      "--resource-id", web, "--scalable-dimension", DIMENSION,
                      "--min-capacity", "1", "--max-capacity", "3"))
    out = assert_cli_ok(aws("application-autoscaling", "put-scaling-policy", "--policy-name", "mem70",
                            "--service-namespace", "ecs", "--resource-id", web, "--scalable-dimension", DIMENSION,
                            "--policy-type", "TargetTrackingScaling",
                            "--target-tracking-scaling-policy-configuration",
                            '{"TargetValue": 70.0, "DisableScaleIn": true, "PredefinedMetricSpecification": '
                            '{"PredefinedMetricType": "ECSServiceAverageMemoryUtilization"}}'))
    assert len(out["Alarms"]) == 2
    assert_cli_ok(aws("application-autoscaling", "put-scheduled-action", "--service-namespace", "ecs",
                      "--resource-id", web, "--scalable-dimension", DIMENSION, "--scheduled-action-name", "nightly",
                      "--schedule", "cron(0 22 * * ? *)", "--scalable-target-action", "MinCapacity=1,MaxCapacity=1"))
    out = assert_cli_ok(aws("application-autoscaling", "describe-scheduled-actions", "--service-namespace", "ecs"))
    assert [a["Schedule"] for a in out["ScheduledActions"]] == ["cron(0 22 * * ? *)"]
    out = assert_cli_ok(aws("application-autoscaling", "describe-scaling-policies", "--service-namespace", "ecs"))
    assert out["ScalingPolicies"][0]["TargetTrackingScalingPolicyConfiguration"]["DisableScaleIn"] is True
    err = assert_cli_error(aws("application-autoscaling", "register-scalable-target", "--service-namespace", "ecs",
                               "--resource-id", "service/c/nope", "--scalable-dimension", DIMENSION,
                               "--min-capacity", "1", "--max-capacity", "3"), "ValidationException")
    assert "ECS service doesn't exist: service/c/nope" in err
    assert_cli_error(aws("application-autoscaling", "describe-scalable-targets", "--service-namespace", "kafka"),
                     "ValidationException")
    assert_cli_ok(aws("application-autoscaling", "deregister-scalable-target", "--service-namespace", "ecs",
                      "--resource-id", web, "--scalable-dimension", DIMENSION))
    out = assert_cli_ok(aws("application-autoscaling", "describe-scaling-policies", "--service-namespace", "ecs"))
    assert out["ScalingPolicies"] == []


def test_predictive_forecasts_are_not_served(scaling):
    with raises_aws("ValidationException") as e:
        scaling.get_predictive_scaling_forecast(ServiceNamespace="ecs", ResourceId="service/c/web",
                                                ScalableDimension=DIMENSION, PolicyName="p",
                                                StartTime=datetime.datetime(2030, 1, 1),
                                                EndTime=datetime.datetime(2030, 1, 2))
    assert "GetPredictiveScalingForecast" in message(e)
