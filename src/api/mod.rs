//! The ECS API: `Ecs` implements the generated `EcsApi` trait. Each
//! implemented operation is one line here that hands off to the module of
//! its resource group; every operation not listed keeps the trait's default
//! answer, an `UnsupportedFeatureException` that names it.
//!
//! Handlers are thin and synchronous: validate, change state under the
//! region's lock, answer. Anything slow (Docker) happens in controllers.

mod account_settings;
mod agent;
mod attributes;
mod capacity_providers;
mod clusters;
mod container_instances;
#[rustfmt::skip]
pub mod generated;
mod pagination;
mod service_connect;
mod services;
mod tags;
mod task_definition_rules;
mod task_definitions;
mod task_protection;
mod task_sets;
mod tasks;

pub use generated::EcsApi;

use crate::controllers::tasks::{EffectSender, RegionEffect};
use crate::domain::network::{self, NetworkDirectory, NetworkLookup};
use crate::domain::DomainError;
use crate::model::operations::Operation;
use crate::model::shapes::*;
use crate::protocol::{ApiError, RequestContext, Wire};
use crate::state::{RegionState, Store};
use std::sync::Arc;

/// The one place a domain refusal becomes a wire error: same exception,
/// same message.
impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        ApiError::ecs(e.code, e.message)
    }
}

/// Whether ecsbox implements `op` (derived from the `implemented_operations!` list).
pub fn is_implemented(op: Operation) -> bool {
    IMPLEMENTED_METHODS.contains(&op.method_name())
}

/// Runs one ECS call. An operation ecsbox does not implement answers
/// `UnsupportedFeatureException` before its input is looked at, so a caller
/// learns that first rather than being told to fix a request that could
/// never work.
pub fn dispatch(
    ecs: &Ecs,
    ctx: &RequestContext,
    op: Operation,
    wire: &Wire,
) -> Result<Vec<u8>, ApiError> {
    if !is_implemented(op) {
        return Err(ApiError::not_supported(op));
    }
    generated::dispatch(ecs, ctx, op, wire)
}

crate::aws_service!(Ecs, crate::model::operations, dispatch);

pub struct Ecs {
    store: Arc<Store>,
    /// Where the work a call asks for (start a task, stop one) goes: the
    /// task controller.
    effects: EffectSender,
    /// EC2's subnets and security groups, for awsvpc configurations.
    network: Arc<dyn NetworkDirectory>,
}

/// A request and the context it came in (who called, at which address):
/// what the handlers marked `with context` receive.
pub struct WithContext<T> {
    pub input: T,
    pub ctx: RequestContext,
}

/// A request and its awsvpc network as looked up in EC2: what the handlers
/// of the calls that name a network receive.
pub struct WithNetwork<T> {
    pub input: T,
    pub network: NetworkLookup,
}

impl Ecs {
    pub fn new(
        store: Arc<Store>,
        effects: EffectSender,
        network: Arc<dyn NetworkDirectory>,
    ) -> Self {
        Ecs {
            store,
            effects,
            network,
        }
    }

    /// Looks up the network `config` names. Called before `with_region`:
    /// EC2's region lock is taken and released here, never while ECS's is
    /// held.
    fn look_up_network(
        &self,
        ctx: &RequestContext,
        config: Option<&NetworkConfiguration>,
    ) -> NetworkLookup {
        network::look_up(self.network.as_ref(), &ctx.account, &ctx.region, config)
    }

    /// Runs `f` with the caller's region state locked, then hands the
    /// effects it recorded to the controllers once the lock is released. The
    /// lock is a plain mutex: handlers never await while holding it.
    fn with_region<T>(&self, ctx: &RequestContext, f: impl FnOnce(&mut RegionState) -> T) -> T {
        let region = self.store.region(&ctx.account, &ctx.region);
        let (out, effects) = {
            let mut guard = region.lock();
            // Deleted clusters and capacity providers stay describable for
            // a while only; every call sees them gone once that is over.
            guard.forget_expired_inactive(crate::clock::now_secs());
            // So are STOPPED tasks.
            guard.forget_expired_tasks(crate::clock::now_system());
            let out = f(&mut guard);
            (out, std::mem::take(&mut guard.effects))
        };
        for effect in effects {
            let _ = self.effects.send(RegionEffect {
                account: ctx.account.clone(),
                region: ctx.region.clone(),
                effect,
            });
        }
        out
    }
}

// One line per implemented operation (`crate::services` has the macro). An
// operation marked `with network` has the awsvpc configuration in its
// input's `network_configuration` looked up in EC2 first, and its handler
// gets a `WithNetwork`.
crate::implemented_operations! {
    impl EcsApi for Ecs, in with_region;

    create_cluster => clusters::create(CreateClusterRequest) -> CreateClusterResponse;
    describe_clusters => clusters::describe(DescribeClustersRequest) -> DescribeClustersResponse;
    list_clusters => clusters::list(ListClustersRequest) -> ListClustersResponse;
    delete_cluster => clusters::delete(DeleteClusterRequest) -> DeleteClusterResponse;
    update_cluster => clusters::update(UpdateClusterRequest) -> UpdateClusterResponse;
    update_cluster_settings => clusters::update_settings(UpdateClusterSettingsRequest) -> UpdateClusterSettingsResponse;
    put_cluster_capacity_providers => clusters::put_capacity_providers(PutClusterCapacityProvidersRequest) -> PutClusterCapacityProvidersResponse;

    create_capacity_provider => capacity_providers::create(CreateCapacityProviderRequest) -> CreateCapacityProviderResponse;
    describe_capacity_providers => capacity_providers::describe(DescribeCapacityProvidersRequest) -> DescribeCapacityProvidersResponse;
    update_capacity_provider => capacity_providers::update(UpdateCapacityProviderRequest) -> UpdateCapacityProviderResponse;
    delete_capacity_provider => capacity_providers::delete(DeleteCapacityProviderRequest) -> DeleteCapacityProviderResponse;

    register_task_definition => task_definitions::register(RegisterTaskDefinitionRequest) -> RegisterTaskDefinitionResponse;
    describe_task_definition => task_definitions::describe(DescribeTaskDefinitionRequest) -> DescribeTaskDefinitionResponse;
    list_task_definitions => task_definitions::list(ListTaskDefinitionsRequest) -> ListTaskDefinitionsResponse;
    list_task_definition_families => task_definitions::list_families(ListTaskDefinitionFamiliesRequest) -> ListTaskDefinitionFamiliesResponse;
    deregister_task_definition => task_definitions::deregister(DeregisterTaskDefinitionRequest) -> DeregisterTaskDefinitionResponse;
    delete_task_definitions => task_definitions::delete(DeleteTaskDefinitionsRequest) -> DeleteTaskDefinitionsResponse;

    tag_resource => tags::tag(TagResourceRequest) -> TagResourceResponse;
    untag_resource => tags::untag(UntagResourceRequest) -> UntagResourceResponse;
    list_tags_for_resource => tags::list(ListTagsForResourceRequest) -> ListTagsForResourceResponse;

    put_account_setting => account_settings::put(PutAccountSettingRequest) -> PutAccountSettingResponse;
    put_account_setting_default => account_settings::put_default(PutAccountSettingDefaultRequest) -> PutAccountSettingDefaultResponse;
    list_account_settings => account_settings::list(ListAccountSettingsRequest) -> ListAccountSettingsResponse;
    delete_account_setting => account_settings::delete(DeleteAccountSettingRequest) -> DeleteAccountSettingResponse;

    run_task => tasks::run(RunTaskRequest) -> RunTaskResponse, with network;
    start_task => tasks::start(StartTaskRequest) -> StartTaskResponse, with network;
    stop_task => tasks::stop(StopTaskRequest) -> StopTaskResponse;
    describe_tasks => tasks::describe(DescribeTasksRequest) -> DescribeTasksResponse;
    list_tasks => tasks::list(ListTasksRequest) -> ListTasksResponse;

    update_task_protection => task_protection::update(UpdateTaskProtectionRequest) -> UpdateTaskProtectionResponse;
    get_task_protection => task_protection::get(GetTaskProtectionRequest) -> GetTaskProtectionResponse;

    discover_poll_endpoint => agent::discover_poll_endpoint(DiscoverPollEndpointRequest) -> DiscoverPollEndpointResponse, with context;

    register_container_instance => container_instances::register(RegisterContainerInstanceRequest) -> RegisterContainerInstanceResponse;
    deregister_container_instance => container_instances::deregister(DeregisterContainerInstanceRequest) -> DeregisterContainerInstanceResponse;
    describe_container_instances => container_instances::describe(DescribeContainerInstancesRequest) -> DescribeContainerInstancesResponse;
    list_container_instances => container_instances::list(ListContainerInstancesRequest) -> ListContainerInstancesResponse;
    update_container_instances_state => container_instances::update_state(UpdateContainerInstancesStateRequest) -> UpdateContainerInstancesStateResponse;

    create_service => services::create(CreateServiceRequest) -> CreateServiceResponse, with network;
    update_service => services::update(UpdateServiceRequest) -> UpdateServiceResponse, with network;
    delete_service => services::delete(DeleteServiceRequest) -> DeleteServiceResponse;
    describe_services => services::describe(DescribeServicesRequest) -> DescribeServicesResponse;
    list_services => services::list(ListServicesRequest) -> ListServicesResponse;
    list_services_by_namespace => services::list_by_namespace(ListServicesByNamespaceRequest) -> ListServicesByNamespaceResponse;
    list_service_deployments => services::list_deployments(ListServiceDeploymentsRequest) -> ListServiceDeploymentsResponse;
    describe_service_deployments => services::describe_deployments(DescribeServiceDeploymentsRequest) -> DescribeServiceDeploymentsResponse;
    describe_service_revisions => services::describe_revisions(DescribeServiceRevisionsRequest) -> DescribeServiceRevisionsResponse;
    stop_service_deployment => services::stop_deployment(StopServiceDeploymentRequest) -> StopServiceDeploymentResponse;

    create_task_set => task_sets::create(CreateTaskSetRequest) -> CreateTaskSetResponse, with network;
    describe_task_sets => task_sets::describe(DescribeTaskSetsRequest) -> DescribeTaskSetsResponse;
    update_task_set => task_sets::update(UpdateTaskSetRequest) -> UpdateTaskSetResponse;
    update_service_primary_task_set => task_sets::update_primary(UpdateServicePrimaryTaskSetRequest) -> UpdateServicePrimaryTaskSetResponse;
    delete_task_set => task_sets::delete(DeleteTaskSetRequest) -> DeleteTaskSetResponse;

    put_attributes => attributes::put(PutAttributesRequest) -> PutAttributesResponse;
    delete_attributes => attributes::delete(DeleteAttributesRequest) -> DeleteAttributesResponse;
    list_attributes => attributes::list(ListAttributesRequest) -> ListAttributesResponse;
}
