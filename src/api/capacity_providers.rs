//! TODO(helper): being implemented.

use crate::model::operations::Operation;
use crate::model::shapes::*;
use crate::protocol::ApiError;
use crate::state::RegionState;

pub fn create(_state: &mut RegionState, _input: CreateCapacityProviderRequest) -> Result<CreateCapacityProviderResponse, ApiError> {
    Err(ApiError::not_supported(Operation::CreateCapacityProvider))
}

pub fn describe(_state: &mut RegionState, _input: DescribeCapacityProvidersRequest) -> Result<DescribeCapacityProvidersResponse, ApiError> {
    Err(ApiError::not_supported(Operation::DescribeCapacityProviders))
}

pub fn update(_state: &mut RegionState, _input: UpdateCapacityProviderRequest) -> Result<UpdateCapacityProviderResponse, ApiError> {
    Err(ApiError::not_supported(Operation::UpdateCapacityProvider))
}

pub fn delete(_state: &mut RegionState, _input: DeleteCapacityProviderRequest) -> Result<DeleteCapacityProviderResponse, ApiError> {
    Err(ApiError::not_supported(Operation::DeleteCapacityProvider))
}

