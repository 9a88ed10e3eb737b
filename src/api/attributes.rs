//! TODO(helper): being implemented.

use crate::model::operations::Operation;
use crate::model::shapes::*;
use crate::protocol::ApiError;
use crate::state::RegionState;

pub fn put(_state: &mut RegionState, _input: PutAttributesRequest) -> Result<PutAttributesResponse, ApiError> {
    Err(ApiError::not_supported(Operation::PutAttributes))
}

pub fn delete(_state: &mut RegionState, _input: DeleteAttributesRequest) -> Result<DeleteAttributesResponse, ApiError> {
    Err(ApiError::not_supported(Operation::DeleteAttributes))
}

pub fn list(_state: &mut RegionState, _input: ListAttributesRequest) -> Result<ListAttributesResponse, ApiError> {
    Err(ApiError::not_supported(Operation::ListAttributes))
}

