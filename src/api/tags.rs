//! TODO(helper): being implemented.

use crate::model::operations::Operation;
use crate::model::shapes::*;
use crate::protocol::ApiError;
use crate::state::RegionState;

pub fn tag(_state: &mut RegionState, _input: TagResourceRequest) -> Result<TagResourceResponse, ApiError> {
    Err(ApiError::not_supported(Operation::TagResource))
}

pub fn untag(_state: &mut RegionState, _input: UntagResourceRequest) -> Result<UntagResourceResponse, ApiError> {
    Err(ApiError::not_supported(Operation::UntagResource))
}

pub fn list(_state: &mut RegionState, _input: ListTagsForResourceRequest) -> Result<ListTagsForResourceResponse, ApiError> {
    Err(ApiError::not_supported(Operation::ListTagsForResource))
}

