//! TODO(helper): being implemented.

use crate::model::operations::Operation;
use crate::model::shapes::*;
use crate::protocol::ApiError;
use crate::state::RegionState;

pub fn register(_state: &mut RegionState, _input: RegisterTaskDefinitionRequest) -> Result<RegisterTaskDefinitionResponse, ApiError> {
    Err(ApiError::not_supported(Operation::RegisterTaskDefinition))
}

pub fn describe(_state: &mut RegionState, _input: DescribeTaskDefinitionRequest) -> Result<DescribeTaskDefinitionResponse, ApiError> {
    Err(ApiError::not_supported(Operation::DescribeTaskDefinition))
}

pub fn list(_state: &mut RegionState, _input: ListTaskDefinitionsRequest) -> Result<ListTaskDefinitionsResponse, ApiError> {
    Err(ApiError::not_supported(Operation::ListTaskDefinitions))
}

pub fn list_families(_state: &mut RegionState, _input: ListTaskDefinitionFamiliesRequest) -> Result<ListTaskDefinitionFamiliesResponse, ApiError> {
    Err(ApiError::not_supported(Operation::ListTaskDefinitionFamilies))
}

pub fn deregister(_state: &mut RegionState, _input: DeregisterTaskDefinitionRequest) -> Result<DeregisterTaskDefinitionResponse, ApiError> {
    Err(ApiError::not_supported(Operation::DeregisterTaskDefinition))
}

pub fn delete(_state: &mut RegionState, _input: DeleteTaskDefinitionsRequest) -> Result<DeleteTaskDefinitionsResponse, ApiError> {
    Err(ApiError::not_supported(Operation::DeleteTaskDefinitions))
}

