//! The words of ECS's refusals, in one place.
//!
//! - [`aws`]: AWS's own texts, confirmed in public reports of real answers
//!   (SDK and tool issues, AWS documentation). Each constant names where it
//!   was seen; a test compares ecsbox's answer with it byte for byte and
//!   cites the same source. Keep them verbatim, trailing period or not.
//! - [`ecsbox`]: texts ecsbox wrote itself because AWS's could not be
//!   confirmed. Each is "ecsbox's wording, AWS's not confirmed": whoever
//!   finds AWS's text for one moves it to [`aws`] with its source, changes
//!   its wording there, and points the test at the source.
//!
//! Not every text ecsbox sends lives here yet. The ECS API's own refusals
//! (src/api/services.rs, tasks.rs, clusters.rs, account_settings.rs and
//! src/domain/launch.rs) do; elsewhere a text is ecsbox's wording unless
//! it comes from this module or a comment beside it cites AWS. That holds
//! for the task-definition checks (src/api/task_definition_rules.rs, whose
//! texts add the detail a person needs to fix the definition), the other
//! handlers of src/api/, the domain's placement and validation rules, and
//! the controllers' stoppedReasons (which follow the ECS agent's texts
//! where its source shows them).

/// AWS's texts, verbatim, with where each was seen.
pub mod aws {
    /// CreateService/UpdateService of a DAEMON service with a desiredCount
    /// (InvalidParameterException). No trailing period. Seen in
    /// aws/aws-cdk#1197, eagletmt/hako#65, gruntwork-io/cloud-nuke#219,
    /// fabfuel/ecs-deploy#59 (UpdateService), kayac/ecspresso#17.
    pub const DAEMON_DESIRED_COUNT: &str = "The daemon scheduling strategy does not support a desired count for services. Remove the desired count value and try again";

    /// CreateService naming a task definition that does not exist
    /// (ClientException). Seen in Cloud-CV/EvalAI#2419, remind101/empire#353.
    pub const TASK_DEFINITION_NOT_FOUND: &str = "TaskDefinition not found.";

    /// RunTask/CreateService/UpdateService with a launch type the task
    /// definition's compatibilities lack (InvalidParameterException), e.g.
    /// "Task definition does not support launch_type FARGATE." Seen in
    /// sil-org/ecs-deploy#134 and #129, oranmoshai/ecsServiceRestart#2,
    /// buildkite-plugins/ecs-deploy-buildkite-plugin#34.
    pub fn launch_type_not_supported(launch_type: &str) -> String {
        format!("Task definition does not support launch_type {launch_type}.")
    }

    /// RegisterTaskDefinition of a container with no image (ClientException).
    /// Seen in convox/praxis#121.
    pub const CONTAINER_IMAGE_EMPTY: &str = "Container.image should not be null or empty.";

    /// RegisterTaskDefinition requiring FARGATE with pidMode "host"
    /// (ClientException). Taken from issue 16 of this project, which
    /// quotes it from a real answer (its source is not shared).
    pub const FARGATE_PID_MODE_HOST: &str = "Tasks using the Fargate launch type do not support pidMode 'host'. The supported value for pidMode is 'task'.";

    /// RegisterTaskDefinition requiring FARGATE with an ipcMode
    /// (ClientException). Seen in cn-terraform/terraform-aws-ecs-fargate#2.
    pub const FARGATE_IPC_MODE: &str =
        "Tasks using the Fargate launch type do not support ipcMode.";

    /// RegisterTaskDefinition with an APPMESH proxyConfiguration and a
    /// network mode other than awsvpc (ClientException). No trailing
    /// period. Seen in aws/aws-cdk#4476 (a CloudFormation error that wraps
    /// ECS's message).
    pub const APPMESH_NEEDS_AWSVPC: &str =
        "APPMESH proxy configuration is only supported in networkMode=awsvpc";

    /// PutAccountSetting(Default) of "disabled" for a *LongArnFormat
    /// setting (InvalidParameterException). Taken from issue 16 of this
    /// project, which quotes it from a real answer; AWS retired the
    /// opt-out (the ARN and resource ID format is long for every account).
    pub const LONG_ARN_CANNOT_BE_DISABLED: &str = "You can no longer disable Long Arn settings.";

    /// RegisterTaskDefinition with a task cpu ECS cannot read, or outside
    /// what EC2 tasks may ask for (ClientException). Seen in
    /// oranmoshai/ecsServiceRestart#2 (an empty cpu string).
    pub const TASK_CPU_INVALID: &str = "Invalid 'cpu' setting for task.";

    /// DescribeTasks with an empty list of tasks (InvalidParameterException).
    /// Seen in sil-org/ecs-deploy#54.
    pub const TASKS_EMPTY: &str = "Tasks cannot be empty.";

    /// RunTask/CreateService with both a launchType and a capacity provider
    /// strategy (InvalidParameterException). Seen in pulumi/pulumi-awsx#599,
    /// terraform-linters/tflint-ruleset-aws#349.
    pub const LAUNCH_TYPE_AND_STRATEGY: &str = "Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.";

    /// An awsvpc task definition launched without a networkConfiguration
    /// (InvalidParameterException). Seen in tryretool/retool-onpremise#84.
    pub const NETWORK_CONFIGURATION_REQUIRED: &str =
        "Network Configuration must be provided when networkMode 'awsvpc' is specified.";

    /// A networkConfiguration for a task definition whose mode is not awsvpc
    /// (InvalidParameterException). Seen in DataDog/test-infra-definitions#57.
    pub const NETWORK_CONFIGURATION_NOT_VALID: &str =
        "Network Configuration is not valid for the given networkMode of this task definition.";

    /// Any call naming a cluster that does not exist
    /// (ClusterNotFoundException). Seen in aws/aws-sdk-java#3093.
    pub const CLUSTER_NOT_FOUND: &str = "Cluster not found.";

    /// DescribeTaskDefinition of a revision that does not exist
    /// (ClientException). Seen in sil-org/ecs-deploy#145,
    /// hashicorp/terraform#12609, terraform-aws-modules/terraform-aws-atlantis#59.
    pub const UNABLE_TO_DESCRIBE_TASK_DEFINITION: &str = "Unable to describe task definition.";

    /// The reason of a DescribeServices failure for a service that does not
    /// exist; its arn is `arn:aws:ecs:REGION:ACCOUNT:service/NAME`, without
    /// the cluster, as aws-actions/amazon-ecs-deploy-task-definition#312 and
    /// #369 print it ("arn:aws:ecs:us-east-2:***:service/pawebapp-service is
    /// MISSING"); an ARN asked for comes back as given
    /// (amazon-archives/aws-sdk-core-ruby#221).
    pub const MISSING: &str = "MISSING";
}

/// Texts ecsbox wrote itself: each is ecsbox's wording, AWS's not confirmed.
pub mod ecsbox {
    /// ecsbox's wording, AWS's not confirmed.
    pub fn launch_type_not_supported_yet(launch_type: &str) -> String {
        format!("ecsbox does not support launch type {launch_type} yet.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub const SUBNETS_EMPTY: &str = "subnets can not be empty.";

    /// ecsbox's wording, AWS's not confirmed.
    pub fn container_override_unknown(name: &str) -> String {
        format!("Override for container named {name} is not a container in the TaskDefinition.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub const PROPAGATE_TAGS_SERVICE_STANDALONE: &str =
        "propagateTags SERVICE is only valid for tasks started by a service.";

    /// ecsbox's wording, AWS's not confirmed.
    pub fn run_task_count(count: i32) -> String {
        format!("count must be between 1 and 10; got {count}.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn task_definition_inactive_for_run(arn: &str) -> String {
        format!("TaskDefinition is inactive: {arn} cannot be used to run new tasks.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub const TASK_DEFINITION_INACTIVE: &str = "TaskDefinition is inactive.";

    /// ecsbox's wording, AWS's not confirmed (ServiceNotFoundException).
    pub const SERVICE_NOT_FOUND: &str = "Service not found.";

    /// ecsbox's wording, AWS's not confirmed (ServiceNotActiveException).
    pub const SERVICE_NOT_ACTIVE: &str = "Service was not ACTIVE.";

    /// ecsbox's wording, AWS's not confirmed.
    pub const SERVICE_NOT_IDEMPOTENT: &str = "Creation of service was not idempotent.";

    /// ecsbox's wording, AWS's not confirmed.
    pub const MINIMUM_HEALTHY_PERCENT_RANGE: &str =
        "minimumHealthyPercent must be between 0 and 100.";

    /// ecsbox's wording, AWS's not confirmed.
    pub const DAEMON_MAXIMUM_PERCENT: &str = "The maximumPercent of a DAEMON service must be 100.";

    /// ecsbox's wording, AWS's not confirmed.
    pub const LOAD_BALANCER_TARGET: &str =
        "A load balancer needs a targetGroupArn (or a loadBalancerName for a Classic Load Balancer).";

    /// ecsbox's wording, AWS's not confirmed.
    pub fn target_group_arn_invalid(arn: &str) -> String {
        format!("'{arn}' is not a valid target group ARN.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn load_balancer_container_unknown(name: &str) -> String {
        format!("The container {name} does not exist in the task definition.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn load_balancer_port_unknown(name: &str, port: i32) -> String {
        format!("The container {name} did not have a container port {port} defined.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub const SERVICE_REGISTRY_ARN: &str =
        "A service registry needs the registryArn of a Cloud Map service.";

    /// ecsbox's wording, AWS's not confirmed.
    pub const SERVICE_REGISTRY_CONTAINER: &str =
        "The service registry names a container that is not in the task definition.";

    /// ecsbox's wording, AWS's not confirmed.
    pub const DESIRED_COUNT_NEGATIVE: &str = "desiredCount must be 0 or more.";

    /// ecsbox's wording, AWS's not confirmed.
    pub const DAEMON_ON_FARGATE: &str =
        "The daemon scheduling strategy is not supported with the Fargate launch type.";

    /// ecsbox's wording, AWS's not confirmed.
    pub const GRACE_PERIOD_NEGATIVE: &str = "healthCheckGracePeriodSeconds must be 0 or more.";

    /// ecsbox's wording, AWS's not confirmed.
    pub const DESCRIBE_SERVICES_COUNT: &str = "services must name between 1 and 10 services.";

    /// ecsbox's wording, AWS's not confirmed (NamespaceNotFoundException).
    pub fn namespace_not_found(namespace: &str) -> String {
        format!("The namespace {namespace} was not found.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub const DELETE_SCALED_SERVICE: &str =
        "The service cannot be stopped while it is scaled above 0.";

    /// ecsbox's wording, AWS's not confirmed.
    pub const DESCRIBE_DEPLOYMENTS_COUNT: &str =
        "serviceDeploymentArns must name between 1 and 20 service deployments.";

    /// ecsbox's wording, AWS's not confirmed.
    pub const DESCRIBE_REVISIONS_COUNT: &str =
        "serviceRevisionArns must name between 1 and 20 service revisions.";

    /// ecsbox's wording, AWS's not confirmed (ServiceDeploymentNotFoundException).
    pub const SERVICE_DEPLOYMENT_NOT_FOUND: &str = "The service deployment was not found.";

    /// ecsbox's wording, AWS's not confirmed (ConflictException).
    pub const SERVICE_DEPLOYMENT_NOT_IN_PROGRESS: &str =
        "The service deployment is not in progress and cannot be stopped.";

    /// ecsbox's wording, AWS's not confirmed.
    pub const STOP_REASON_TOO_LONG: &str = "reason must be at most 255 characters.";

    /// ecsbox's wording, AWS's not confirmed.
    pub const TASK_NOT_FOUND: &str = "The referenced task was not found.";

    /// ecsbox's wording, AWS's not confirmed: AWS's text for an empty list
    /// is [`super::aws::TASKS_EMPTY`]; this one is for more than 100.
    pub const DESCRIBE_TASKS_TOO_MANY: &str = "At most 100 tasks can be described at once.";

    /// ecsbox's wording, AWS's not confirmed.
    pub const FAMILY_AND_SERVICE_NAME: &str =
        "family and serviceName cannot be specified together.";

    /// ecsbox's wording, AWS's not confirmed.
    pub fn cluster_setting_value(value: &str) -> String {
        format!(
            "The value '{value}' is not valid for cluster setting containerInsights: use enabled, disabled or enhanced."
        )
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn capacity_provider_unknown(name: &str) -> String {
        format!("The specified capacity provider '{name}' does not exist.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub const DEFAULT_STRATEGY_NOT_ASSOCIATED: &str = "The default capacity provider strategy can only use capacity providers associated with the cluster.";

    /// ecsbox's wording, AWS's not confirmed.
    pub const DESCRIBE_CLUSTERS_COUNT: &str = "At most 100 clusters can be described at once.";

    /// ecsbox's wording, AWS's not confirmed
    /// (ClusterContainsContainerInstancesException).
    pub const CLUSTER_HAS_INSTANCES: &str =
        "The Cluster cannot be deleted while Container Instances are active or draining.";

    /// ecsbox's wording, AWS's not confirmed (ClusterContainsServicesException).
    pub const CLUSTER_HAS_SERVICES: &str =
        "The Cluster cannot be deleted while Services are active.";

    /// ecsbox's wording, AWS's not confirmed (ClusterContainsTasksException).
    pub const CLUSTER_HAS_TASKS: &str = "The Cluster cannot be deleted while Tasks are active.";

    /// ecsbox's wording, AWS's not confirmed (ResourceInUseException).
    pub fn capacity_provider_in_other_cluster(provider: &str, cluster: &str) -> String {
        format!(
            "The capacity provider '{provider}' is already associated with cluster '{cluster}'."
        )
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn account_setting_unknown(name: &str) -> String {
        format!("'{name}' is not an account setting.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn principal_arn_invalid(given: &str, account: &str) -> String {
        format!(
            "principalArn '{given}' is not valid: specify the ARN of an IAM user, an IAM role or the root user of account {account}."
        )
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub const GUARD_DUTY_READ_ONLY: &str =
        "guardDutyActivate is read-only: Amazon GuardDuty manages it for your account.";

    /// ecsbox's wording, AWS's not confirmed.
    pub fn account_setting_value(value: &str, name: &str, allowed: &[&str]) -> String {
        format!(
            "'{value}' is not a valid value for account setting {name}; use one of: {}.",
            allowed.join(", ")
        )
    }

    /// ecsbox's wording, AWS's not confirmed (the rule is AWS's: "You must
    /// use the root user when you set the Fargate wait time").
    pub const FARGATE_WAIT_ROOT_ONLY: &str = "fargateTaskRetirementWaitPeriod can only be set for the root user: omit principalArn or use the root user's ARN.";

    /// ecsbox's wording, AWS's not confirmed.
    pub const LIST_SETTINGS_VALUE_WITHOUT_NAME: &str =
        "A value filter needs a setting name: specify name together with value.";

    /// ecsbox's wording, AWS's not confirmed.
    pub fn account_setting_not_set(name: &str, principal: &str) -> String {
        format!(
            "The account setting {name} is not set for principal {principal}; nothing to delete."
        )
    }
}
