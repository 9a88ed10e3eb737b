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
//! Where the texts are read from. The ECS API's handlers in src/api/:
//! services.rs, tasks.rs, clusters.rs, account_settings.rs, task_sets.rs,
//! task_protection.rs, tags.rs, attributes.rs, capacity_providers.rs,
//! container_instances.rs, task_definitions.rs (List, Deregister,
//! Delete) and task_definition_rules.rs (RegisterTaskDefinition's
//! checks); and in src/domain/: launch.rs, validation.rs (tags, resource
//! names, capacity provider strategies) and placement.rs (placement
//! constraints and strategies). capacity.rs has no texts of its own.
//! Entries are grouped by resource or operation under a short section
//! comment.
//!
//! Still outside, each marked where it is: placement's failure reasons
//! (`AGENT`, `RESOURCE:CPU`, ..., and the unsatisfied-constraint reasons,
//! which placement.rs says are AWS's words) and the cluster query
//! parser's reasons that [`ecsbox::placement_expression_invalid`] quotes
//! (src/domain/placement/query.rs); src/api/pagination.rs, whose texts
//! are ecsbox's wording unless a comment beside them cites AWS; and the
//! controllers' stoppedReasons (which follow the ECS agent's texts where
//! its source shows them). src/api/agent.rs sends no message of its own.

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

    // Tagging (TagResource, UntagResource, ListTagsForResource).

    /// A resource ARN that is not an ECS ARN (InvalidParameterException).
    /// Seen in boto/boto3#2774 (an ECR repository ARN given to
    /// ListTagsForResource).
    pub const ARN_INVALID: &str = "The ARN provided is invalid.";

    /// A short (pre-long-format) ARN of a service, task or container
    /// instance (InvalidParameterException). No trailing period. Seen in
    /// boto/boto3#2473, pulumi/pulumi-aws#930,
    /// hashicorp/terraform-provider-aws#35867.
    pub const LONG_ARN_REQUIRED_FOR_TAGGING: &str =
        "Long arn format must be used for tagging operations";

    /// The ARN of a deleted (INACTIVE) cluster (InvalidParameterException):
    /// the message hashicorp/terraform-provider-aws recognises as "parent
    /// gone".
    pub const CLUSTER_INACTIVE: &str =
        "The specified cluster is inactive. Specify an active cluster and try again.";

    // Task sets and the EXTERNAL deployment controller.

    /// CreateService with the EXTERNAL controller and an empty
    /// taskDefinition (InvalidParameterException). Seen in
    /// hashicorp/terraform-provider-aws#27362.
    pub const EXTERNAL_FAMILY_EMPTY: &str = "Family should not be null or empty.";

    /// CreateService with the EXTERNAL controller and a taskDefinition
    /// (InvalidParameterException). Seen in
    /// terraform-aws-modules/terraform-aws-ecs#278, aws/aws-cdk#26335.
    pub const EXTERNAL_TASK_DEFINITION_NOT_BLANK: &str = "TaskDefinition must be blank.";

    /// CreateService with the EXTERNAL controller and a networkConfiguration
    /// (InvalidParameterException). Seen in
    /// terraform-aws-modules/terraform-aws-ecs#278, aws/aws-cdk#26335.
    pub const EXTERNAL_NETWORK_CONFIGURATION_NOT_NULL: &str = "NetworkConfiguration must be null.";

    /// A task set call on a service of another deployment controller
    /// (InvalidParameterException). Seen in
    /// hashicorp/terraform-provider-aws#30347 (from the aws CLI).
    pub const TASK_SETS_NOT_EXTERNAL: &str = "Amazon ECS only supports task set management on services configured to use external deployment controllers.";

    /// CreateTaskSet on a service that has as many task sets as ECS allows
    /// (InvalidParameterException). Seen in
    /// aws-samples/ecs-bg-external-controller#6.
    pub fn task_sets_limit(count: usize) -> String {
        format!(
            "{count} deployments exist on the service. Unable to create new TaskSet since this exceeds the maximum limit."
        )
    }

    // Capacity providers.

    /// CreateCapacityProvider with a name ECS refuses (ClientException), as
    /// CloudFormation and the CDK relay it (the issue it was seen in was
    /// not recorded with it).
    pub const CAPACITY_PROVIDER_NAME_INVALID: &str = "The specified capacity provider name is invalid. Up to 255 characters are allowed, including letters \
(upper and lowercase), numbers, underscores, and hyphens. The name cannot be prefixed with \"aws\", \"ecs\", or \"fargate\". \
Specify a valid name and try again.";

    /// CreateCapacityProvider with an Auto Scaling group another provider
    /// uses (ClientException). AWS's wording, as the comment it came with
    /// says; tests/capacity_providers.rs quotes its first sentence.
    pub const AUTO_SCALING_GROUP_IN_USE: &str = "The specified Auto Scaling group ARN is already being used by another capacity provider. Specify a unique Auto \
Scaling group ARN and try again.";

    // A service's load balancers (CreateService, UpdateService).

    /// A targetGroupArn no listener or rule forwards to. Quoted in
    /// cloudposse/terraform-aws-ecs-web-app#226 and
    /// umotif-public/terraform-aws-ecs-fargate#43.
    pub fn target_group_without_load_balancer(arn: &str) -> String {
        format!(
            "The target group with targetGroupArn {arn} does not have an associated load balancer."
        )
    }

    /// A targetGroupArn ECS cannot find. Quoted in aws/amazon-ecs-cli#21.
    pub const TARGET_GROUP_UNVERIFIABLE: &str = "Unable to assume role and validate the specified targetGroupArn. Please verify that the ECS service role being passed has the proper permissions.";

    // A service's Cloud Map registries (CreateService, UpdateService).

    /// A bridge or host service's registry without containerName and
    /// containerPort. Quoted in
    /// techservicesillinois/terraform-aws-ecs-service#16.
    pub fn registry_needs_container_port(arn: &str) -> String {
        format!(
            "When specifying 'host' or 'bridge' for networkMode, values for 'containerName' and 'containerPort' must be specified from the task definition. Registry: {arn}"
        )
    }

    /// A containerPort given for a registry whose Cloud Map service has no
    /// SRV record. Quoted in umotif-public/terraform-aws-ecs-fargate#25.
    pub const REGISTRY_PORT_NOT_NEEDED: &str = "The values specified for serviceRegistries do not require a value for 'containerPort'. Remove the value and retry.";

    /// Both `port` and containerName/containerPort in one registry. Quoted
    /// in cloudposse/terraform-aws-ecs-web-app#208.
    pub const REGISTRY_PORT_AND_CONTAINER: &str = "Specify a value for either 'port' or the 'containerName' and 'containerPort' combination, but not both. Remove one and retry.";

    /// A target group whose target type does not fit the network mode (ip
    /// for awsvpc; instance for bridge and host). Quoted in
    /// riboseinc/terraform-aws-ecs-gitlab#5 and hashicorp/terraform#24266.
    pub fn target_type_incompatible(arn: &str, target_type: &str, network_mode: &str) -> String {
        format!("The provided target group {arn} has target type {target_type}, which is incompatible with the {network_mode} network mode specified in the task definition.")
    }
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
    pub fn service_registry_unknown(arn: &str) -> String {
        format!("The service registry {arn} does not exist in Cloud Map.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn service_registry_needs_port(arn: &str) -> String {
        format!(
            "The Cloud Map service {arn} has an SRV record: specify 'port' or 'containerName' and 'containerPort' in serviceRegistries."
        )
    }

    /// ecsbox's wording ("If the task definition that your service task
    /// specifies uses the bridge or host network mode, an SRV record is the
    /// only supported record type", ECS developer guide).
    pub fn service_registry_needs_srv(arn: &str, mode: &str) -> String {
        format!(
            "The Cloud Map service {arn} has records other than SRV: tasks in the {mode} network mode can only be registered as SRV records."
        )
    }

    // ---- Service Connect (serviceConnectConfiguration) ----

    /// A part of Service Connect ecsbox does not build: refused by name.
    pub fn service_connect_part_unsupported(part: &str, why: &str) -> String {
        format!("ecsbox does not support {part} in serviceConnectConfiguration: {why}")
    }

    /// ecsbox cannot serve Service Connect's endpoints on this host.
    pub fn service_connect_unavailable(why: &str) -> String {
        format!("ecsbox cannot serve Service Connect here: {why}")
    }

    /// ecsbox's wording, AWS's not confirmed ("Service Connect ... is
    /// supported with the awsvpc and bridge network modes", ECS developer
    /// guide, "Service Connect considerations").
    pub fn service_connect_network_mode(mode: &str) -> String {
        format!("Service Connect does not support the {mode} network mode: use awsvpc or bridge.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub const SERVICE_CONNECT_NO_NAMESPACE: &str = "Service Connect needs a namespace: set serviceConnectConfiguration.namespace, or a default namespace on the cluster (serviceConnectDefaults).";

    /// ecsbox's wording, AWS's not confirmed.
    pub fn service_connect_port_name(port_name: &str) -> String {
        format!(
            "The portName '{port_name}' does not match the name of any portMapping in the task definition's containers."
        )
    }

    /// ecsbox's wording, AWS's not confirmed (the model's rules for
    /// discoveryName and dnsName).
    pub fn service_connect_name_invalid(
        field: &str,
        value: &str,
        limit: usize,
        allowed: &str,
    ) -> String {
        format!(
            "{field} '{value}' is not valid: up to {limit} characters, {allowed}, not starting with a hyphen."
        )
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub const SERVICE_CONNECT_ALIAS_COUNT: &str =
        "A Service Connect service can have at most 1 client alias.";

    /// ecsbox's wording, AWS's not confirmed.
    pub fn service_connect_port_invalid(port: i32) -> String {
        format!("The client alias port {port} is not a port number (1-65535).")
    }

    /// ecsbox's wording, AWS's not confirmed ("Each name and port mapping
    /// must be unique within the namespace", clientAliases in the API
    /// reference).
    pub fn service_connect_alias_taken(dns_name: &str, port: u16, by: &str) -> String {
        format!(
            "The client alias {dns_name}:{port} is already used in this namespace by the service {by}."
        )
    }

    /// ecsbox's wording, AWS's not confirmed ("This must be unique within
    /// the Cloud Map namespace", discoveryName in the API reference).
    pub fn service_connect_discovery_taken(name: &str, by: &str) -> String {
        format!("The discovery name {name} is already used in this namespace by the service {by}.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn service_connect_discovery_repeated(name: &str) -> String {
        format!("The discovery name {name} is given to more than one Service Connect service.")
    }

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

    // Tagging (TagResource, UntagResource, ListTagsForResource).

    /// ecsbox's wording, AWS's not confirmed.
    pub fn resource_type_not_taggable(resource_type: &str) -> String {
        format!(
            "Resources of type '{resource_type}' cannot be tagged. Taggable Amazon ECS resources are capacity providers, tasks, \
             services, task definitions, clusters and container instances."
        )
    }

    /// ecsbox's wording, AWS's not confirmed (ResourceNotFoundException): the
    /// model's own description of the exception; AWS's message for a missing
    /// service, task, container instance or capacity provider has not been
    /// found quoted anywhere public.
    pub const RESOURCE_NOT_FOUND: &str = "The specified resource wasn't found.";

    /// ecsbox's wording, AWS's not confirmed.
    pub fn task_definition_arn_invalid(id: &str) -> String {
        format!("A task definition ARN must end in task-definition/FAMILY:REVISION; got '{id}'.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn resource_tags_too_many(max: usize, count: usize) -> String {
        format!("A resource can have at most {max} tags; adding these would give it {count}.")
    }

    /// ecsbox's wording, AWS's not confirmed (the rule is AWS's: "You cannot
    /// edit or delete tag keys or values with this prefix").
    pub fn reserved_tag_key_removal(key: &str) -> String {
        format!(
            "Tag keys beginning with 'aws:' are reserved for AWS use; '{key}' cannot be removed."
        )
    }

    // Attributes (PutAttributes, DeleteAttributes, ListAttributes).

    /// ecsbox's wording, AWS's not confirmed.
    pub fn attribute_name_invalid(name: &str) -> String {
        format!(
            "Attribute name '{name}' is not valid: use 1 to 128 letters, numbers, hyphens (-), underscores (_), forward \
             slashes (/), back slashes (\\) or periods (.)."
        )
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn attribute_value_invalid(name: &str) -> String {
        format!(
            "The value of attribute '{name}' is not valid: use 1 to 128 letters, numbers, hyphens, underscores, periods, \
             at signs (@), slashes, back slashes, colons or spaces, not starting or ending with a space."
        )
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn attribute_target_id_missing(name: &str) -> String {
        format!("Attribute '{name}' has no targetId: specify the container instance ID or ARN.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn attribute_target_id_not_instance_arn(given: &str) -> String {
        format!("targetId '{given}' is not a container instance ARN.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn attribute_target_type_missing(name: &str) -> String {
        format!(
            "Attribute '{name}' needs targetType 'container-instance' when targetId is not an ARN."
        )
    }

    /// ecsbox's wording, AWS's not confirmed (TargetNotFoundException).
    pub fn attribute_target_not_found(target: &str, cluster: &str) -> String {
        format!("Could not find container instance '{target}' in cluster '{cluster}'.")
    }

    /// ecsbox's wording, AWS's not confirmed (AttributeLimitExceededException).
    pub fn attributes_too_many(max: usize) -> String {
        format!("At most {max} custom attributes can be given in one call or put on one resource.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn delete_attributes_too_many(max: usize) -> String {
        format!("At most {max} attributes can be deleted in one call.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub const LIST_ATTRIBUTES_VALUE_WITHOUT_NAME: &str =
        "attributeValue needs attributeName: specify both to filter by value.";

    // Task protection (UpdateTaskProtection, GetTaskProtection).

    /// ecsbox's wording, AWS's not confirmed.
    pub fn update_protection_count(max: usize, got: usize) -> String {
        format!("tasks must name from 1 to {max} tasks; got {got}.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn protection_expiry_range(max: i32, minutes: i32) -> String {
        format!("expiresInMinutes must be between 1 and {max} minutes; got {minutes}.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn get_protection_count(max: usize, got: usize) -> String {
        format!("tasks must name at most {max} tasks; got {got}.")
    }

    // Task sets and the EXTERNAL deployment controller.

    /// ecsbox's wording, AWS's not confirmed: what CreateService answers for
    /// the CODE_DEPLOY controller, which would need CodeDeploy's own API.
    /// ecsbox's own: a Classic Load Balancer (`loadBalancerName`), an API
    /// (elb 2012-06-01) ecsbox does not serve.
    pub const CLASSIC_LOAD_BALANCER_UNSUPPORTED: &str = "ecsbox does not emulate Classic Load Balancers (loadBalancerName): put an Application or Network Load Balancer in front of the service and give its targetGroupArn.";

    /// ecsbox's own: a deployment strategy other than ROLLING.
    pub fn deployment_strategy_unsupported(strategy: &str) -> String {
        format!("ecsbox does not support the {strategy} deployment strategy yet (deploymentConfiguration.strategy): it runs ROLLING deployments only. Use ROLLING, or leave the strategy out.")
    }

    /// ecsbox's own: CreateTaskSet with loadBalancers.
    pub const TASK_SET_LOAD_BALANCERS_UNSUPPORTED: &str = "ecsbox does not register the tasks of task sets with load balancers yet (loadBalancers on CreateTaskSet). Leave loadBalancers out, or use a service with the ECS deployment controller.";

    pub const CODE_DEPLOY_UNSUPPORTED: &str = "ecsbox does not support the CODE_DEPLOY deployment controller: it is driven by AWS CodeDeploy (CreateApplication, CreateDeploymentGroup, CreateDeployment), an API ecsbox does not serve. Use the ECS controller, or EXTERNAL with the task set APIs (CreateTaskSet, UpdateServicePrimaryTaskSet).";

    /// ecsbox's wording, AWS's not confirmed (TaskSetNotFoundException).
    pub const TASK_SET_NOT_FOUND: &str = "The specified task set does not exist.";

    /// ecsbox's wording, AWS's not confirmed, after AWS's for taskDefinition
    /// and networkConfiguration ([`super::aws::EXTERNAL_TASK_DEFINITION_NOT_BLANK`]):
    /// the other task set level parameters of CreateService.
    pub fn external_task_set_level_given(what: &str) -> String {
        format!(
            "{what} must be null: a service with the EXTERNAL deployment controller takes it from its task sets."
        )
    }

    /// ecsbox's wording, AWS's not confirmed, of AWS's documented rule ("The
    /// Fargate launch type or EXTERNAL deployment controller types don't
    /// support the DAEMON scheduling strategy.").
    pub const EXTERNAL_DAEMON: &str =
        "The EXTERNAL deployment controller does not support the DAEMON scheduling strategy.";

    /// ecsbox's wording, AWS's not confirmed, after AWS's for CODE_DEPLOY
    /// ("Unable to update task definition on services with a CODE_DEPLOY
    /// deployment controller. Use AWS CodeDeploy to trigger a new
    /// deployment.").
    pub fn external_update_refused(what: &str) -> String {
        format!(
            "Unable to update {what} on services with a EXTERNAL deployment controller. Use the task set APIs (CreateTaskSet, UpdateServicePrimaryTaskSet) to deploy a change."
        )
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub const SCALE_UNIT: &str = "The scale unit must be PERCENT.";

    /// ecsbox's wording, AWS's not confirmed.
    pub fn scale_value_range(value: f64) -> String {
        format!("The scale value must be between 0 and 100; got {value}.")
    }

    /// ecsbox's wording, AWS's not confirmed past its first words:
    /// aws/containers-roadmap#1380 quotes AWS's as "CreateTaskSet cannot
    /// have more than 1 l..."; the rest is ecsbox's completion.
    pub const TASK_SET_LOAD_BALANCERS: &str =
        "CreateTaskSet cannot have more than 1 load balancer.";

    /// ecsbox's wording, AWS's not confirmed.
    pub const PRIMARY_TASK_SET_DRAINING: &str =
        "A DRAINING task set cannot become the primary task set.";

    /// ecsbox's wording, AWS's not confirmed.
    pub const DELETE_SCALED_TASK_SET: &str = "The task set cannot be deleted while it is scaled above 0. Scale it to 0 first, or delete it with force.";

    // Capacity providers.

    /// ecsbox's wording, AWS's not confirmed.
    pub fn capacity_provider_not_found(reference: &str) -> String {
        format!(
            "The specified capacity provider '{reference}' does not exist. Specify a valid name or ARN and try again."
        )
    }

    /// ecsbox's wording, AWS's not confirmed; `action` is "updated" or
    /// "deleted".
    pub fn capacity_provider_reserved(name: &str, action: &str) -> String {
        format!("The {name} capacity provider is reserved by Amazon ECS and cannot be {action}.")
    }

    /// ecsbox's wording, AWS's not confirmed (UnsupportedFeatureException).
    pub const MANAGED_INSTANCES_UNSUPPORTED: &str = "ecsbox does not support Amazon ECS Managed Instances capacity providers; use an Auto Scaling group provider.";

    /// ecsbox's wording, AWS's not confirmed.
    pub fn managed_scaling_range(what: &str, lo: i32, hi: i32, value: i32) -> String {
        format!("managedScaling.{what} must be between {lo} and {hi}; got {value}.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn managed_scaling_steps(min: i32, max: i32) -> String {
        format!(
            "managedScaling.minimumScalingStepSize ({min}) cannot be greater than maximumScalingStepSize ({max})."
        )
    }

    /// ecsbox's wording, AWS's not confirmed (the rule is AWS's documented
    /// one for `managedTerminationProtection`).
    pub const TERMINATION_PROTECTION_NEEDS_SCALING: &str = "The managed termination protection setting for the capacity provider is invalid. To enable managed termination \
protection for a capacity provider, managed scaling must also be enabled.";

    /// ecsbox's wording, AWS's not confirmed.
    pub const CAPACITY_PROVIDER_CLUSTER_SCOPE: &str = "The cluster parameter applies only to Managed Instances capacity providers. Associate an Auto Scaling group \
capacity provider with a cluster using PutClusterCapacityProviders.";

    /// ecsbox's wording, AWS's not confirmed.
    pub const AUTO_SCALING_GROUP_PROVIDER_REQUIRED: &str =
        "autoScalingGroupProvider is required: ecsbox supports Auto Scaling group capacity providers.";

    /// ecsbox's wording, AWS's not confirmed.
    pub const AUTO_SCALING_GROUP_ARN_EMPTY: &str =
        "autoScalingGroupProvider.autoScalingGroupArn must not be empty.";

    /// ecsbox's wording, AWS's not confirmed.
    pub const CAPACITY_PROVIDER_EXISTS: &str = "The specified capacity provider already exists. To change the configuration of an existing capacity provider, \
update the capacity provider.";

    /// ecsbox's wording, AWS's not confirmed.
    pub const DESCRIBE_CAPACITY_PROVIDERS_COUNT: &str =
        "At most 100 capacity providers can be described at once.";

    /// ecsbox's wording, AWS's not confirmed (DescribeCapacityProviders).
    pub const NEXT_TOKEN_INVALID: &str = "Invalid nextToken.";

    /// ecsbox's wording, AWS's not confirmed.
    pub const AUTO_SCALING_GROUP_PROVIDER_REQUIRED_FOR_UPDATE: &str =
        "autoScalingGroupProvider is required to update an Auto Scaling group capacity provider.";

    /// ecsbox's wording, AWS's not confirmed: the updateStatusReason of a
    /// DeleteCapacityProvider that fails (DELETE_FAILED) because a cluster
    /// still uses the provider.
    pub fn capacity_provider_delete_associated(cluster: &str) -> String {
        format!(
            "The capacity provider cannot be deleted because it is associated with cluster: {cluster}. Remove the capacity \
             provider from the cluster and try again."
        )
    }

    // Container instances (the agent's registration and the operators'
    // calls) and ecsbox's virtual instances.

    /// ecsbox's wording, AWS's not confirmed.
    pub fn identity_document_invalid(why: &dyn std::fmt::Display) -> String {
        format!("instanceIdentityDocument is not an EC2 instance identity document: {why}")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn resource_port_invalid(resource: &str, port: &str) -> String {
        format!("The {resource} resource lists '{port}', which is not a port number.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub const RESOURCE_NAME_MISSING: &str = "Every resource in totalResources needs a name.";

    /// ecsbox's wording, AWS's not confirmed.
    pub const RESOURCES_NEGATIVE: &str = "The CPU and MEMORY resources cannot be negative.";

    /// ecsbox's wording, AWS's not confirmed.
    pub const REGISTERED_ATTRIBUTE_NAME: &str =
        "Every attribute needs a name of 1 to 128 characters.";

    /// ecsbox's wording, AWS's not confirmed.
    pub fn reregistration_unknown(given: &str, cluster: &str) -> String {
        format!(
            "Container instance {given} is not registered in cluster {cluster}; register it without containerInstanceArn."
        )
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn container_instance_not_found(reference: &str, cluster: &str) -> String {
        format!("The referenced container instance {reference} was not found in cluster {cluster}.")
    }

    /// ecsbox's wording, AWS's not confirmed (the refusal itself is AWS's:
    /// DeregisterContainerInstance without force while tasks run there).
    pub const DEREGISTER_BUSY_INSTANCE: &str = "Found running tasks on the instance.";

    /// ecsbox's wording, AWS's not confirmed.
    pub const DESCRIBE_CONTAINER_INSTANCES_COUNT: &str = "containerInstances cannot be empty, and at most 100 container instances can be described at once.";

    /// ecsbox's wording, AWS's not confirmed (ListContainerInstances'
    /// cluster query language).
    pub fn filter_invalid(filter: &str, why: &dyn std::fmt::Display) -> String {
        format!("The filter '{filter}' is not valid: {why}.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub const CONTAINER_INSTANCES_EMPTY: &str = "containerInstances cannot be empty.";

    /// ecsbox's wording, AWS's not confirmed.
    pub const UPDATE_INSTANCES_STATE_COUNT: &str = "instanceIds can have at most 10 items.";

    /// ecsbox's wording, AWS's not confirmed.
    pub fn container_instance_status_invalid(status: &str) -> String {
        format!("Container instances can only be set to ACTIVE or DRAINING, not {status}.")
    }

    /// ecsbox's own: the cluster tag that sets how many virtual instances
    /// a new cluster gets (no AWS counterpart).
    pub fn virtual_instance_count_tag(tag: &str, max: u32, given: &str) -> String {
        format!(
            "The tag {tag} must be a number of container instances from 0 to {max}; got '{given}'."
        )
    }

    /// ecsbox's own: the cluster tag that names the virtual instances' type
    /// (no AWS counterpart).
    pub fn virtual_instance_type_tag(tag: &str, given: &str, known: &[&str]) -> String {
        format!(
            "The tag {tag} names '{given}'; ecsbox knows {}.",
            known.join(", ")
        )
    }

    // Task definitions (ListTaskDefinitions, DeregisterTaskDefinition,
    // DeleteTaskDefinitions). RegisterTaskDefinition's checks follow.

    /// ecsbox's wording, AWS's not confirmed.
    pub const LIST_TASK_DEFINITIONS_TOKEN_INVALID: &str =
        "Invalid nextToken: it was not returned by a previous ListTaskDefinitions call.";

    /// ecsbox's wording, AWS's not confirmed.
    pub const LIST_TASK_DEFINITIONS_TOKEN_OTHER_FAMILY: &str =
        "Invalid nextToken: it belongs to a listing of another family.";

    /// ecsbox's wording, AWS's not confirmed.
    pub fn task_definition_revision_required(family: &str) -> String {
        format!(
            "A revision must be specified: give '{family}:REVISION' or the full task definition ARN, not the bare family '{family}'."
        )
    }

    /// ecsbox's wording, AWS's not confirmed: the reason of a
    /// DeleteTaskDefinitions failure for a revision that does not exist,
    /// and the start of DeregisterTaskDefinition's message for one.
    pub const NO_SUCH_REVISION: &str = "The specified task definition does not exist.";

    /// ecsbox's wording, AWS's not confirmed.
    pub fn deregister_revision_not_found(reference: &str) -> String {
        format!("{NO_SUCH_REVISION} '{reference}' names no registered revision.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn delete_task_definitions_count(max: usize, got: usize) -> String {
        format!("taskDefinitions must list 1 to {max} task definitions; got {got}.")
    }

    /// ecsbox's wording, AWS's not confirmed: the reason of a
    /// DeleteTaskDefinitions failure for an ACTIVE revision.
    pub const DELETE_ACTIVE_TASK_DEFINITION: &str = "The specified task definition is still in ACTIVE status. Please deregister the target and try again.";

    // RegisterTaskDefinition's checks (src/api/task_definition_rules.rs):
    // names, container resources, ports and network mode, references
    // between containers and volumes, ephemeral storage, launch types.

    /// ecsbox's wording, AWS's not confirmed: what family, container and
    /// volume names may hold, appended to the messages that refuse one.
    pub const TASK_DEFINITION_NAME_RULE: &str =
        "Up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores are allowed.";

    /// ecsbox's wording, AWS's not confirmed.
    pub const FAMILY_BLANK: &str = "Family can not be blank.";

    /// ecsbox's wording, AWS's not confirmed.
    pub fn family_invalid(name: &str) -> String {
        format!("Family contains invalid characters: '{name}'. {TASK_DEFINITION_NAME_RULE}")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub const CONTAINER_LIST_EMPTY: &str = "Container list cannot be empty.";

    /// ecsbox's wording, AWS's not confirmed.
    pub fn too_many_containers(max: usize, got: usize) -> String {
        format!(
            "Too many containers. A task definition can have at most {max} containers; this one has {got}."
        )
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn task_memory_invalid(text: &str) -> String {
        format!("Invalid 'memory' setting for task: '{text}'. Give MiB (e.g. 2048) or GB (e.g. '2 GB').")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub const CONTAINER_NAME_EMPTY: &str = "Container.name should not be null or empty.";

    /// ecsbox's wording, AWS's not confirmed.
    pub fn container_name_invalid(name: &str) -> String {
        format!("Container.name contains invalid characters: '{name}'. {TASK_DEFINITION_NAME_RULE}")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn container_cpu_negative(name: &str, cpu: i32) -> String {
        format!(
            "Invalid 'cpu' setting for container '{name}': {cpu}. It must be 0 or more CPU units."
        )
    }

    /// ecsbox's wording, AWS's not confirmed: `what` is "memory" or
    /// "memoryReservation".
    pub fn container_memory_not_positive(what: &str, name: &str, value: i32) -> String {
        format!("Invalid '{what}' setting for container '{name}': {value}. It must be a positive number of MiB.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn container_memory_missing(name: &str) -> String {
        format!(
            "Invalid setting for container '{name}'. At least one of 'memory' or 'memoryReservation' must be specified (or set 'memory' at the task level)."
        )
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn memory_reservation_above_memory(name: &str, soft: i32, hard: i32) -> String {
        format!(
            "Invalid setting for container '{name}'. 'memoryReservation' ({soft} MiB) must be less than or equal to 'memory' ({hard} MiB)."
        )
    }

    /// ecsbox's wording, AWS's not confirmed: `what` is "cpu", "memory" or
    /// "memoryReservation".
    pub fn container_above_task(what: &str, name: &str, container: i32, task: i32) -> String {
        format!(
            "The '{what}' setting for container '{name}' is greater than for the task ({container} > {task})."
        )
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn container_name_duplicate(name: &str) -> String {
        format!("Container names must be unique within a Task Definition: '{name}' is used twice.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub const NO_ESSENTIAL_CONTAINER: &str = "A task definition must have at least one essential container; every container sets essential=false.";

    /// ecsbox's wording, AWS's not confirmed.
    pub fn containers_cpu_above_task(cpu: i64, task: i32) -> String {
        format!("The sum of the containers' 'cpu' settings ({cpu}) is greater than the task's 'cpu' ({task}).")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn containers_memory_above_task(reserved: i64, task: i32) -> String {
        format!(
            "The memory the containers reserve together ({reserved} MiB) is greater than the task's 'memory' ({task} MiB)."
        )
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn port_mappings_with_network_mode_none(name: &str) -> String {
        format!(
            "Port mappings are not supported when networkMode=none: remove the portMappings of container '{name}' or use another network mode."
        )
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn port_mapping_port_and_range(name: &str) -> String {
        format!(
            "Invalid port mapping for container '{name}': set either 'containerPort' or 'containerPortRange', not both."
        )
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn container_port_range_invalid(name: &str, range: &str) -> String {
        format!(
            "Invalid 'containerPortRange' setting for container '{name}': '{range}'. Use 'FROM-TO', e.g. '8000-8010'."
        )
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn container_port_invalid(name: &str) -> String {
        format!("Invalid 'containerPort' setting for container '{name}'. It must be between 1 and 65535.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn host_port_invalid(name: &str, host: i32) -> String {
        format!("Invalid 'hostPort' setting for container '{name}': {host}.")
    }

    /// ecsbox's wording, AWS's not confirmed: a mapping without a
    /// containerPort maps "a port range".
    pub fn host_port_must_match(
        mode: &str,
        name: &str,
        container_port: Option<i32>,
        host: i32,
    ) -> String {
        let container_port = container_port
            .map(|p| p.to_string())
            .unwrap_or_else(|| "a port range".into());
        format!(
            "When networkMode={mode}, the host ports and container ports in port mappings must match: container '{name}' maps {container_port} to host port {host}. Omit hostPort or set it to the containerPort."
        )
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn hostname_with_awsvpc(name: &str) -> String {
        format!(
            "hostname is not supported on container when networkMode=awsvpc: remove the hostname of container '{name}'."
        )
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn links_need_bridge(mode: &str, name: &str) -> String {
        format!(
            "links are not supported on container when networkMode={mode}: container '{name}' sets links, which need networkMode=bridge."
        )
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn volume_name_invalid(name: &str) -> String {
        format!("Invalid volume name '{name}'. {TASK_DEFINITION_NAME_RULE}")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn volume_name_duplicate(name: &str) -> String {
        format!("Volume names must be unique within a Task Definition: '{name}' is declared twice.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn depends_on_unknown_container(me: &str, target: &str) -> String {
        format!(
            "Container '{me}' depends on container '{target}', which is not another container of this task definition."
        )
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn link_unknown_container(link: &str, me: &str, target: &str) -> String {
        format!(
            "Invalid link '{link}' in container '{me}': '{target}' is not another container of this task definition."
        )
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn volumes_from_unknown_container(me: &str, target: &str) -> String {
        format!(
            "Container '{me}' takes volumes from '{target}', which is not another container of this task definition."
        )
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn mount_point_unknown_volume(me: &str, volume: &str) -> String {
        format!(
            "Container '{me}' mounts volume '{volume}', which is not declared in the task definition's volumes."
        )
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn proxy_unknown_container(target: &str) -> String {
        format!(
            "The proxy configuration names container '{target}', which is not a container of this task definition."
        )
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn ephemeral_storage_size(gib: i32) -> String {
        format!("Invalid 'ephemeralStorage' setting: {gib} GiB. The size must be between 21 and 200 GiB.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub const EXTERNAL_AWSVPC: &str =
        "The EXTERNAL launch type does not support networkMode=awsvpc; use bridge, host or none.";

    /// ecsbox's wording, AWS's not confirmed.
    pub const FARGATE_NETWORK_MODE: &str = "Fargate only supports network mode 'awsvpc'.";

    /// ecsbox's wording, AWS's not confirmed.
    pub const FARGATE_TASK_CPU_REQUIRED: &str =
        "Fargate requires that 'cpu' be defined at the task level.";

    /// ecsbox's wording, AWS's not confirmed.
    pub const FARGATE_TASK_MEMORY_REQUIRED: &str =
        "Fargate requires that 'memory' be defined at the task level.";

    /// ecsbox's wording, AWS's not confirmed.
    pub fn fargate_task_cpu_invalid(cpu: i32) -> String {
        format!(
            "Invalid 'cpu' setting for task: {cpu}. Fargate supports 256, 512, 1024, 2048, 4096, 8192 and 16384 CPU units."
        )
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn fargate_no_configuration(cpu: i32, memory: i32) -> String {
        format!(
            "No Fargate configuration exists for given values: {cpu} CPU, {memory} memory. See the Amazon ECS documentation for the valid values."
        )
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub const FARGATE_PLACEMENT_CONSTRAINTS: &str =
        "Tasks using the Fargate launch type do not support task placement constraints.";

    /// ecsbox's wording, AWS's not confirmed.
    pub fn fargate_host_volume_source_path(name: &str) -> String {
        format!(
            "Fargate does not support host volumes with a sourcePath: volume '{name}'. Leave sourcePath unset for a task-scoped volume."
        )
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn fargate_docker_volume_configuration(name: &str) -> String {
        format!("Fargate does not support dockerVolumeConfiguration: volume '{name}'.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn fargate_privileged(name: &str) -> String {
        format!("Fargate does not support privileged containers: container '{name}' sets privileged=true.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn fargate_devices(name: &str) -> String {
        format!("Fargate does not support linuxParameters.devices: container '{name}'.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn fargate_gpu(name: &str) -> String {
        format!("Fargate does not support GPU resource requirements: container '{name}'.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn fargate_log_driver(name: &str, driver: &str) -> String {
        format!("Fargate only supports the awslogs, splunk and awsfirelens log drivers: container '{name}' uses '{driver}'.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub const FARGATE_AWSLOGS_EXECUTION_ROLE: &str =
        "Fargate requires task definition to have execution role ARN to support log driver awslogs.";

    /// ecsbox's wording, AWS's not confirmed.
    pub const FARGATE_ECR_EXECUTION_ROLE: &str =
        "Fargate requires task definition to have execution role ARN to support ECR images.";

    // Tags of a create or run request (src/domain/validation.rs).

    /// ecsbox's wording, AWS's not confirmed.
    pub fn tags_too_many(max: usize, count: usize) -> String {
        format!("A resource can have at most {max} tags; {count} were given.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn tag_key_length(key: &str) -> String {
        format!("Tag keys must be 1 to 128 characters long; got '{key}'.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn tag_value_too_long(key: &str) -> String {
        format!("The value of tag '{key}' is longer than 256 characters.")
    }

    /// ecsbox's wording, AWS's not confirmed (the rule is AWS's: "You cannot
    /// edit or delete tag keys or values with this prefix").
    pub fn reserved_tag_key(key: &str) -> String {
        format!("Tag keys beginning with 'aws:' are reserved for AWS use; '{key}' cannot be set.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn tag_key_duplicate(key: &str) -> String {
        format!("Tag key '{key}' is given more than once.")
    }

    /// ecsbox's wording, AWS's not confirmed: a tag rule ECS does not have,
    /// with the rule's own description.
    pub fn tag_invalid(description: &str) -> String {
        format!("Invalid tag: {description}.")
    }

    // Names of clusters, capacity providers and families
    // (src/domain/validation.rs).

    /// ecsbox's wording, AWS's not confirmed: `kind` is e.g. "Cluster".
    pub fn resource_name_invalid(kind: &str, name: &str) -> String {
        format!(
            "{kind} name '{name}' is not valid: up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores are allowed."
        )
    }

    // Capacity provider strategies (src/domain/validation.rs); a provider
    // that does not exist is [`capacity_provider_unknown`].

    /// ecsbox's wording, AWS's not confirmed.
    pub const STRATEGY_TOO_MANY_PROVIDERS: &str =
        "A capacity provider strategy can have at most 20 capacity providers.";

    /// ecsbox's wording, AWS's not confirmed.
    pub fn strategy_provider_duplicate(name: &str) -> String {
        format!("Capacity provider '{name}' appears more than once in the strategy.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn strategy_weight_range(name: &str, weight: i32) -> String {
        format!(
            "The weight of capacity provider '{name}' must be between 0 and 1000; got {weight}."
        )
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn strategy_base_range(name: &str, base: i32) -> String {
        format!("The base of capacity provider '{name}' must be between 0 and 100000; got {base}.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub const STRATEGY_ONE_BASE: &str =
        "Only one capacity provider in a strategy can have a base defined.";

    /// ecsbox's wording, AWS's not confirmed.
    pub const STRATEGY_FARGATE_AND_ASG: &str = "A capacity provider strategy cannot mix Fargate capacity providers with Auto Scaling group capacity providers.";

    // Task placement: constraints and strategies of a RunTask
    // (src/domain/placement.rs).

    /// ecsbox's wording, AWS's not confirmed.
    pub fn placement_constraints_too_many(max: usize, total: usize) -> String {
        format!(
            "A task can have at most {max} placement constraints, counting those of its task definition; it has {total}."
        )
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub const DISTINCT_INSTANCE_EXPRESSION: &str =
        "A distinctInstance placement constraint takes no expression; remove it, or use type memberOf.";

    /// ecsbox's wording, AWS's not confirmed: `why` is the query parser's.
    pub fn placement_expression_invalid(expression: &str, why: &str) -> String {
        format!("The placement constraint expression '{expression}' is not valid: {why}.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub const MEMBER_OF_EXPRESSION_MISSING: &str =
        "A memberOf placement constraint needs an expression in the cluster query language.";

    /// ecsbox's wording, AWS's not confirmed.
    pub const PLACEMENT_CONSTRAINT_TYPE: &str =
        "A placement constraint's type must be memberOf or distinctInstance.";

    /// ecsbox's wording, AWS's not confirmed.
    pub fn placement_strategies_too_many(max: usize, got: usize) -> String {
        format!("A task can have at most {max} placement strategies; got {got}.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn spread_field_invalid(field: &str) -> String {
        format!(
            "Invalid field '{field}' for a spread placement strategy: use instanceId, host or attribute:NAME \
             (e.g. attribute:ecs.availability-zone)."
        )
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub fn binpack_field_invalid(field: &str) -> String {
        format!("Invalid field '{field}' for a binpack placement strategy: use cpu or memory.")
    }

    /// ecsbox's wording, AWS's not confirmed.
    pub const PLACEMENT_STRATEGY_TYPE: &str =
        "A placement strategy's type must be random, spread or binpack.";
}
