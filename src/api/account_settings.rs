//! TODO(helper): being implemented.

use crate::model::operations::Operation;
use crate::model::shapes::*;
use crate::protocol::ApiError;
use crate::state::RegionState;

pub fn put(_state: &mut RegionState, _input: PutAccountSettingRequest) -> Result<PutAccountSettingResponse, ApiError> {
    Err(ApiError::not_supported(Operation::PutAccountSetting))
}

pub fn put_default(_state: &mut RegionState, _input: PutAccountSettingDefaultRequest) -> Result<PutAccountSettingDefaultResponse, ApiError> {
    Err(ApiError::not_supported(Operation::PutAccountSettingDefault))
}

pub fn list(_state: &mut RegionState, _input: ListAccountSettingsRequest) -> Result<ListAccountSettingsResponse, ApiError> {
    Err(ApiError::not_supported(Operation::ListAccountSettings))
}

pub fn delete(_state: &mut RegionState, _input: DeleteAccountSettingRequest) -> Result<DeleteAccountSettingResponse, ApiError> {
    Err(ApiError::not_supported(Operation::DeleteAccountSetting))
}

