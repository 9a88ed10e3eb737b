//! The generated trait, one thin method per operation: unpack the input,
//! run the module's function under the region's lock, pack the answer.

use super::generated::ServiceDiscoveryApi;
use super::{catalog, instances, namespaces, operations, ServiceDiscovery};
use crate::cloudmap::NamespaceKind;
use crate::model::servicediscovery::shapes::*;
use crate::protocol::{ApiError, RequestContext};
use namespaces::NewNamespace;

impl ServiceDiscovery {
    /// The three UpdateXNamespace operations differ only in their input
    /// shapes: each unpacks its change, then this runs it.
    fn update_namespace(
        &self,
        ctx: &RequestContext,
        id: Option<String>,
        kind: NamespaceKind,
        description: Option<String>,
        soa_ttl: Option<i64>,
    ) -> Result<String, ApiError> {
        let id = id.unwrap_or_default();
        self.in_region(ctx, |r| {
            namespaces::update(r, &id, kind, description, soa_ttl)
        })
    }
}

impl ServiceDiscoveryApi for ServiceDiscovery {
    fn create_http_namespace(
        &self,
        ctx: &RequestContext,
        input: CreateHttpNamespaceRequest,
    ) -> Result<CreateHttpNamespaceResponse, ApiError> {
        let new = NewNamespace {
            name: input.name.unwrap_or_default(),
            kind: NamespaceKind::Http,
            creator_request_id: input.creator_request_id,
            description: input.description,
            vpc: None,
            soa_ttl: None,
            tags: input.tags,
        };
        let id = self.in_region(ctx, |r| namespaces::create(r, new))?;
        Ok(CreateHttpNamespaceResponse {
            operation_id: Some(id),
        })
    }

    fn create_private_dns_namespace(
        &self,
        ctx: &RequestContext,
        input: CreatePrivateDnsNamespaceRequest,
    ) -> Result<CreatePrivateDnsNamespaceResponse, ApiError> {
        let soa = input
            .properties
            .and_then(|p| p.dns_properties)
            .and_then(|d| d.soa);
        let new = NewNamespace {
            name: input.name.unwrap_or_default(),
            kind: NamespaceKind::DnsPrivate,
            creator_request_id: input.creator_request_id,
            description: input.description,
            vpc: input.vpc,
            soa_ttl: soa.and_then(|s| s.ttl),
            tags: input.tags,
        };
        let id = self.in_region(ctx, |r| namespaces::create(r, new))?;
        Ok(CreatePrivateDnsNamespaceResponse {
            operation_id: Some(id),
        })
    }

    fn create_public_dns_namespace(
        &self,
        ctx: &RequestContext,
        input: CreatePublicDnsNamespaceRequest,
    ) -> Result<CreatePublicDnsNamespaceResponse, ApiError> {
        let soa = input
            .properties
            .and_then(|p| p.dns_properties)
            .and_then(|d| d.soa);
        let new = NewNamespace {
            name: input.name.unwrap_or_default(),
            kind: NamespaceKind::DnsPublic,
            creator_request_id: input.creator_request_id,
            description: input.description,
            vpc: None,
            soa_ttl: soa.and_then(|s| s.ttl),
            tags: input.tags,
        };
        let id = self.in_region(ctx, |r| namespaces::create(r, new))?;
        Ok(CreatePublicDnsNamespaceResponse {
            operation_id: Some(id),
        })
    }

    fn get_namespace(
        &self,
        ctx: &RequestContext,
        input: GetNamespaceRequest,
    ) -> Result<GetNamespaceResponse, ApiError> {
        let id = input.id.unwrap_or_default();
        let namespace = self.in_region(ctx, |r| namespaces::get(r, &id))?;
        Ok(GetNamespaceResponse {
            namespace: Some(namespace),
        })
    }

    fn list_namespaces(
        &self,
        ctx: &RequestContext,
        input: ListNamespacesRequest,
    ) -> Result<ListNamespacesResponse, ApiError> {
        self.in_region(ctx, |r| namespaces::list(r, input))
    }

    fn delete_namespace(
        &self,
        ctx: &RequestContext,
        input: DeleteNamespaceRequest,
    ) -> Result<DeleteNamespaceResponse, ApiError> {
        let id = input.id.unwrap_or_default();
        let op = self.in_region(ctx, |r| namespaces::delete(r, &id))?;
        Ok(DeleteNamespaceResponse {
            operation_id: Some(op),
        })
    }

    fn update_http_namespace(
        &self,
        ctx: &RequestContext,
        input: UpdateHttpNamespaceRequest,
    ) -> Result<UpdateHttpNamespaceResponse, ApiError> {
        let description = input.namespace.and_then(|n| n.description);
        let op = self.update_namespace(ctx, input.id, NamespaceKind::Http, description, None)?;
        Ok(UpdateHttpNamespaceResponse {
            operation_id: Some(op),
        })
    }

    fn update_private_dns_namespace(
        &self,
        ctx: &RequestContext,
        input: UpdatePrivateDnsNamespaceRequest,
    ) -> Result<UpdatePrivateDnsNamespaceResponse, ApiError> {
        let change = input.namespace.unwrap_or_default();
        let ttl = change
            .properties
            .and_then(|p| p.dns_properties)
            .and_then(|d| d.soa)
            .and_then(|s| s.ttl);
        let op = self.update_namespace(
            ctx,
            input.id,
            NamespaceKind::DnsPrivate,
            change.description,
            ttl,
        )?;
        Ok(UpdatePrivateDnsNamespaceResponse {
            operation_id: Some(op),
        })
    }

    fn update_public_dns_namespace(
        &self,
        ctx: &RequestContext,
        input: UpdatePublicDnsNamespaceRequest,
    ) -> Result<UpdatePublicDnsNamespaceResponse, ApiError> {
        let change = input.namespace.unwrap_or_default();
        let ttl = change
            .properties
            .and_then(|p| p.dns_properties)
            .and_then(|d| d.soa)
            .and_then(|s| s.ttl);
        let op = self.update_namespace(
            ctx,
            input.id,
            NamespaceKind::DnsPublic,
            change.description,
            ttl,
        )?;
        Ok(UpdatePublicDnsNamespaceResponse {
            operation_id: Some(op),
        })
    }

    fn create_service(
        &self,
        ctx: &RequestContext,
        input: CreateServiceRequest,
    ) -> Result<CreateServiceResponse, ApiError> {
        let service = self.in_region(ctx, |r| catalog::create(r, input))?;
        Ok(CreateServiceResponse {
            service: Some(service),
        })
    }

    fn get_service(
        &self,
        ctx: &RequestContext,
        input: GetServiceRequest,
    ) -> Result<GetServiceResponse, ApiError> {
        let id = input.id.unwrap_or_default();
        let service = self.in_region(ctx, |r| catalog::get(r, &id))?;
        Ok(GetServiceResponse {
            service: Some(service),
        })
    }

    fn list_services(
        &self,
        ctx: &RequestContext,
        input: ListServicesRequest,
    ) -> Result<ListServicesResponse, ApiError> {
        self.in_region(ctx, |r| catalog::list(r, input))
    }

    fn update_service(
        &self,
        ctx: &RequestContext,
        input: UpdateServiceRequest,
    ) -> Result<UpdateServiceResponse, ApiError> {
        let id = input.id.unwrap_or_default();
        let change = input.service.unwrap_or_default();
        let op = self.in_region(ctx, |r| catalog::update(r, &id, change))?;
        Ok(UpdateServiceResponse {
            operation_id: Some(op),
        })
    }

    fn delete_service(
        &self,
        ctx: &RequestContext,
        input: DeleteServiceRequest,
    ) -> Result<DeleteServiceResponse, ApiError> {
        let id = input.id.unwrap_or_default();
        self.in_region(ctx, |r| catalog::delete(r, &id))?;
        Ok(DeleteServiceResponse {})
    }

    fn get_service_attributes(
        &self,
        ctx: &RequestContext,
        input: GetServiceAttributesRequest,
    ) -> Result<GetServiceAttributesResponse, ApiError> {
        let id = input.service_id.unwrap_or_default();
        let attrs = self.in_region(ctx, |r| catalog::attributes(r, &id))?;
        Ok(GetServiceAttributesResponse {
            service_attributes: Some(attrs),
        })
    }

    fn update_service_attributes(
        &self,
        ctx: &RequestContext,
        input: UpdateServiceAttributesRequest,
    ) -> Result<UpdateServiceAttributesResponse, ApiError> {
        let id = input.service_id.unwrap_or_default();
        let attrs = input.attributes.unwrap_or_default();
        self.in_region(ctx, |r| catalog::update_attributes(r, &id, attrs))?;
        Ok(UpdateServiceAttributesResponse {})
    }

    fn delete_service_attributes(
        &self,
        ctx: &RequestContext,
        input: DeleteServiceAttributesRequest,
    ) -> Result<DeleteServiceAttributesResponse, ApiError> {
        let id = input.service_id.unwrap_or_default();
        let keys = input.attributes.unwrap_or_default();
        self.in_region(ctx, |r| catalog::delete_attributes(r, &id, keys))?;
        Ok(DeleteServiceAttributesResponse {})
    }

    fn register_instance(
        &self,
        ctx: &RequestContext,
        input: RegisterInstanceRequest,
    ) -> Result<RegisterInstanceResponse, ApiError> {
        let op = self.in_region(ctx, |r| instances::register(r, input))?;
        Ok(RegisterInstanceResponse {
            operation_id: Some(op),
        })
    }

    fn deregister_instance(
        &self,
        ctx: &RequestContext,
        input: DeregisterInstanceRequest,
    ) -> Result<DeregisterInstanceResponse, ApiError> {
        let service = input.service_id.unwrap_or_default();
        let instance = input.instance_id.unwrap_or_default();
        let op = self.in_region(ctx, |r| instances::deregister(r, &service, &instance))?;
        Ok(DeregisterInstanceResponse {
            operation_id: Some(op),
        })
    }

    fn get_instance(
        &self,
        ctx: &RequestContext,
        input: GetInstanceRequest,
    ) -> Result<GetInstanceResponse, ApiError> {
        let service = input.service_id.unwrap_or_default();
        let instance = input.instance_id.unwrap_or_default();
        self.in_region(ctx, |r| instances::get(r, &service, &instance))
    }

    fn list_instances(
        &self,
        ctx: &RequestContext,
        input: ListInstancesRequest,
    ) -> Result<ListInstancesResponse, ApiError> {
        self.in_region(ctx, |r| instances::list(r, input))
    }

    fn discover_instances(
        &self,
        ctx: &RequestContext,
        input: DiscoverInstancesRequest,
    ) -> Result<DiscoverInstancesResponse, ApiError> {
        self.in_region(ctx, |r| instances::discover(r, input))
    }

    fn discover_instances_revision(
        &self,
        ctx: &RequestContext,
        input: DiscoverInstancesRevisionRequest,
    ) -> Result<DiscoverInstancesRevisionResponse, ApiError> {
        self.in_region(ctx, |r| instances::discover_revision(r, input))
    }

    fn get_instances_health_status(
        &self,
        ctx: &RequestContext,
        input: GetInstancesHealthStatusRequest,
    ) -> Result<GetInstancesHealthStatusResponse, ApiError> {
        self.in_region(ctx, |r| instances::health_status(r, input))
    }

    fn update_instance_custom_health_status(
        &self,
        ctx: &RequestContext,
        input: UpdateInstanceCustomHealthStatusRequest,
    ) -> Result<(), ApiError> {
        self.in_region(ctx, |r| instances::update_custom_health(r, input))
    }

    fn get_operation(
        &self,
        ctx: &RequestContext,
        input: GetOperationRequest,
    ) -> Result<GetOperationResponse, ApiError> {
        let id = input.operation_id.unwrap_or_default();
        let op = self.in_region(ctx, |r| operations::get(r, &id))?;
        Ok(GetOperationResponse {
            operation: Some(op),
        })
    }

    fn list_operations(
        &self,
        ctx: &RequestContext,
        input: ListOperationsRequest,
    ) -> Result<ListOperationsResponse, ApiError> {
        self.in_region(ctx, |r| operations::list(r, input))
    }

    fn tag_resource(
        &self,
        ctx: &RequestContext,
        input: TagResourceRequest,
    ) -> Result<TagResourceResponse, ApiError> {
        let arn = input.resource_arn.unwrap_or_default();
        let tags = input.tags.unwrap_or_default();
        self.in_region(ctx, |r| operations::tag(r, &arn, tags))?;
        Ok(TagResourceResponse {})
    }

    fn untag_resource(
        &self,
        ctx: &RequestContext,
        input: UntagResourceRequest,
    ) -> Result<UntagResourceResponse, ApiError> {
        let arn = input.resource_arn.unwrap_or_default();
        let keys = input.tag_keys.unwrap_or_default();
        self.in_region(ctx, |r| operations::untag(r, &arn, &keys))?;
        Ok(UntagResourceResponse {})
    }

    fn list_tags_for_resource(
        &self,
        ctx: &RequestContext,
        input: ListTagsForResourceRequest,
    ) -> Result<ListTagsForResourceResponse, ApiError> {
        let arn = input.resource_arn.unwrap_or_default();
        let tags = self.in_region(ctx, |r| operations::list_tags(r, &arn))?;
        Ok(ListTagsForResourceResponse { tags: Some(tags) })
    }
}
