"""AWS's own words and shapes, through boto3 and the aws CLI: each refusal
whose text AWS is known to send is compared byte for byte, and the comment
above it names where the text was seen (the same sources as
src/domain/messages.rs). Also the shapes AWS answers with: DescribeServices'
MISSING arns, an EFS volume's default rootDirectory, deleted clusters and
capacity providers staying describable."""

import json

import pytest

from examples import container, ec2, fargate
from harness import assert_cli_error, raises_aws

CLUSTER = "words"
NETWORK = {"awsvpcConfiguration": {"subnets": ["subnet-0123abcd"]}}


def message(e) -> str:
    return e.value.response["Error"]["Message"]


@pytest.fixture
def cluster(ecs) -> str:
    ecs.create_cluster(clusterName=CLUSTER)
    return CLUSTER


# ------------------------------------------------------------ launches

def test_run_task_fargate_on_an_ec2_only_definition(ecs, cluster):
    ecs.register_task_definition(**ec2("ec2-only"))
    # sil-org/ecs-deploy#134, oranmoshai/ecsServiceRestart#2: AWS's sentence
    # alone, nothing appended.
    with raises_aws("InvalidParameterException") as e:
        ecs.run_task(cluster=cluster, taskDefinition="ec2-only", launchType="FARGATE",
                     networkConfiguration=NETWORK)
    assert message(e) == "Task definition does not support launch_type FARGATE."


def test_run_task_with_a_launch_type_and_a_strategy(ecs, cluster):
    ecs.register_task_definition(**ec2("both"))
    # pulumi/pulumi-awsx#599, terraform-linters/tflint-ruleset-aws#349.
    with raises_aws("InvalidParameterException") as e:
        ecs.run_task(cluster=cluster, taskDefinition="both", launchType="EC2",
                     capacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}])
    assert message(e) == ("Specifying both a launch type and capacity provider strategy is not supported. "
                          "Remove one and try again.")


def test_describe_tasks_of_an_empty_list(ecs, cluster):
    # sil-org/ecs-deploy#54 (DescribeTasks): "Tasks cannot be empty."
    with raises_aws("InvalidParameterException") as e:
        ecs.describe_tasks(cluster=cluster, tasks=[])
    assert message(e) == "Tasks cannot be empty."


# ------------------------------------------------------------ services

def test_create_service_daemon_with_a_desired_count(ecs, cluster):
    ecs.register_task_definition(**ec2("daemon"))
    # aws/aws-cdk#1197, eagletmt/hako#65, gruntwork-io/cloud-nuke#219: no
    # trailing period.
    with raises_aws("InvalidParameterException") as e:
        ecs.create_service(cluster=cluster, serviceName="d", taskDefinition="daemon",
                           schedulingStrategy="DAEMON", desiredCount=1)
    assert message(e) == ("The daemon scheduling strategy does not support a desired count for services. "
                          "Remove the desired count value and try again")


def test_update_service_daemon_with_a_desired_count(ecs, cluster):
    ecs.register_task_definition(**ec2("daemon"))
    ecs.create_service(cluster=cluster, serviceName="d", taskDefinition="daemon", schedulingStrategy="DAEMON")
    # fabfuel/ecs-deploy#59 (UpdateService), gruntwork-io/cloud-nuke#219.
    with raises_aws("InvalidParameterException") as e:
        ecs.update_service(cluster=cluster, service="d", desiredCount=2)
    assert message(e) == ("The daemon scheduling strategy does not support a desired count for services. "
                          "Remove the desired count value and try again")


def test_create_service_of_an_unknown_task_definition(ecs, cluster):
    # Cloud-CV/EvalAI#2419, remind101/empire#353: a ClientException.
    with raises_aws("ClientException") as e:
        ecs.create_service(cluster=cluster, serviceName="s", taskDefinition="nope:1", desiredCount=0)
    assert message(e) == "TaskDefinition not found."


def test_create_service_awsvpc_without_a_network_configuration(ecs, cluster):
    ecs.register_task_definition(**fargate("vpc"))
    # tryretool/retool-onpremise#84.
    with raises_aws("InvalidParameterException") as e:
        ecs.create_service(cluster=cluster, serviceName="s", taskDefinition="vpc", desiredCount=0,
                           launchType="FARGATE")
    assert message(e) == "Network Configuration must be provided when networkMode 'awsvpc' is specified."


def test_describe_services_missing_arns_have_no_cluster(ecs, cluster):
    asked_arn = "arn:aws:ecs:us-east-1:000000000000:service/words/by-arn"
    out = ecs.describe_services(cluster=cluster, services=["ghost", asked_arn])
    assert out["services"] == []
    # aws-actions/amazon-ecs-deploy-task-definition#312 and #369 print AWS's
    # failure: "arn:aws:ecs:us-east-2:***:service/pawebapp-service is
    # MISSING"; an ARN asked for comes back as given
    # (amazon-archives/aws-sdk-core-ruby#221).
    assert out["failures"] == [
        {"arn": "arn:aws:ecs:us-east-1:000000000000:service/ghost", "reason": "MISSING"},
        {"arn": asked_arn, "reason": "MISSING"},
    ]


# ------------------------------------------------------------ task definitions

def test_register_an_empty_image(ecs):
    # convox/praxis#121.
    with raises_aws("ClientException") as e:
        ecs.register_task_definition(**ec2("noimage", containerDefinitions=[container(image="")]))
    assert message(e) == "Container.image should not be null or empty."


def test_register_fargate_with_pid_mode_host(ecs):
    # Issue 16's report of AWS's answer.
    with raises_aws("ClientException") as e:
        ecs.register_task_definition(**fargate("pid", pidMode="host"))
    assert message(e) == ("Tasks using the Fargate launch type do not support pidMode 'host'. "
                          "The supported value for pidMode is 'task'.")


def test_register_fargate_with_ipc_mode(ecs):
    # cn-terraform/terraform-aws-ecs-fargate#2.
    with raises_aws("ClientException") as e:
        ecs.register_task_definition(**fargate("ipc", ipcMode="task"))
    assert message(e) == "Tasks using the Fargate launch type do not support ipcMode."


def test_register_an_unreadable_task_cpu(ecs):
    # oranmoshai/ecsServiceRestart#2 (an empty cpu string).
    with raises_aws("ClientException") as e:
        ecs.register_task_definition(**ec2("cpu", cpu="lots"))
    assert message(e) == "Invalid 'cpu' setting for task."


def test_register_appmesh_outside_awsvpc(ecs):
    proxy = {"type": "APPMESH", "containerName": "app",
             "properties": [{"name": "ProxyIngressPort", "value": "15000"}]}
    # aws/aws-cdk#4476: CloudFormation relays ECS's ClientException, no
    # trailing period.
    with raises_aws("ClientException") as e:
        ecs.register_task_definition(**ec2("mesh", networkMode="bridge", proxyConfiguration=proxy))
    assert message(e) == "APPMESH proxy configuration is only supported in networkMode=awsvpc"
    # In awsvpc it is accepted.
    ecs.register_task_definition(**ec2("mesh", networkMode="awsvpc", proxyConfiguration=proxy))


def test_an_efs_volume_without_root_directory_reads_back_slash(ecs):
    volumes = [
        {"name": "plain", "efsVolumeConfiguration": {"fileSystemId": "fs-12345678"}},
        {"name": "deep", "efsVolumeConfiguration": {"fileSystemId": "fs-12345678", "rootDirectory": "/data"}},
    ]
    ecs.register_task_definition(**ec2("efs", volumes=volumes))
    described = ecs.describe_task_definition(taskDefinition="efs")["taskDefinition"]["volumes"]
    # CircleCI-Public/aws-ecs-orb#105 ("AWS adds it"), and
    # hashicorp/terraform-provider-aws#26793 reads back root_directory "/".
    roots = {v["name"]: v["efsVolumeConfiguration"]["rootDirectory"] for v in described}
    assert roots == {"plain": "/", "deep": "/data"}


def test_cli_register_an_empty_image(aws):
    # convox/praxis#121, through the aws CLI.
    r = aws("ecs", "register-task-definition", "--family", "noimage",
            "--container-definitions", json.dumps([container(image="")]))
    err = assert_cli_error(r, "ClientException")
    assert err.rstrip().endswith(": Container.image should not be null or empty."), err


# ------------------------------------------------------------ account settings

@pytest.mark.parametrize("name", ["serviceLongArnFormat", "taskLongArnFormat", "containerInstanceLongArnFormat"])
def test_long_arn_formats_cannot_be_disabled(ecs, name):
    # Issue 16's report of AWS's answer (AWS retired the short format).
    with raises_aws("InvalidParameterException") as e:
        ecs.put_account_setting(name=name, value="disabled")
    assert message(e) == "You can no longer disable Long Arn settings."
    with raises_aws("InvalidParameterException") as e:
        ecs.put_account_setting_default(name=name, value="disabled")
    assert message(e) == "You can no longer disable Long Arn settings."
    assert ecs.put_account_setting(name=name, value="enabled")["setting"]["value"] == "enabled"


def test_cli_long_arn_formats_cannot_be_disabled(aws):
    r = aws("ecs", "put-account-setting-default", "--name", "taskLongArnFormat", "--value", "disabled")
    err = assert_cli_error(r, "InvalidParameterException")
    assert err.rstrip().endswith(": You can no longer disable Long Arn settings."), err


# ------------------------------------------------------------ deleted clusters and providers

def test_a_deleted_cluster_is_described_inactive_but_not_listed(ecs):
    ecs.create_cluster(clusterName="gone-soon")
    ecs.delete_cluster(cluster="gone-soon")
    # DeleteCluster: "Clusters with an INACTIVE status might remain
    # discoverable in your account for a period of time."
    described = ecs.describe_clusters(clusters=["gone-soon"])
    assert [c["status"] for c in described["clusters"]] == ["INACTIVE"]
    assert described["failures"] == []
    assert not any(a.endswith("/gone-soon") for a in ecs.list_clusters()["clusterArns"])


def test_a_deleted_capacity_provider_is_described_inactive(ecs):
    asg = "arn:aws:autoscaling:us-east-1:000000000000:autoScalingGroup:1:autoScalingGroupName/words"
    ecs.create_capacity_provider(name="words-cp", autoScalingGroupProvider={"autoScalingGroupArn": asg})
    ecs.delete_capacity_provider(capacityProvider="words-cp")
    # "Capacity providers with an INACTIVE status may remain discoverable in
    # your account for a period of time" (Deleting an Amazon ECS capacity
    # provider, Amazon ECS Developer Guide).
    out = ecs.describe_capacity_providers(capacityProviders=["words-cp"])
    assert [cp["status"] for cp in out["capacityProviders"]] == ["INACTIVE"]
