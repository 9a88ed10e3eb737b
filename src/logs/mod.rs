//! CloudWatch Logs on ecsbox's port: `Logs` implements the generated
//! `LogsApi` trait (target prefix `Logs_20140328`, signing name `logs`).
//! Each implemented operation is one line of the `implemented_operations!`
//! list below; every other operation of the model answers an
//! `InvalidOperationException` that names it.
//!
//! Handlers are synchronous and run under the lock of the caller's
//! (account, region) in the `LogStore`, which is separate from the ECS
//! store (see `store.rs` for why). `driver` is the in-process API ecsbox's
//! awslogs log driver writes through.

pub mod driver;
pub mod errors;
mod events;
mod filter;
#[rustfmt::skip]
pub mod generated;
mod groups;
pub mod pattern;
pub mod retention;
mod saved;
pub mod store;
mod streams;
mod tags;
mod tokens;
mod validation;

pub use driver::{append, ensure_group, ensure_stream, group_exists};
pub use generated::LogsApi;
pub use store::LogStore;

use crate::model::logs::operations::Operation;
use crate::model::logs::shapes::*;
use crate::protocol::{ApiError, RequestContext, Wire};
use std::sync::Arc;
use store::LogsRegion;

/// Whether ecsbox implements `op` (derived from the `implemented_operations!` list).
pub fn is_implemented(op: Operation) -> bool {
    IMPLEMENTED_METHODS.contains(&op.method_name())
}

/// Runs one Logs call. An operation ecsbox does not implement is refused
/// before its input is looked at.
pub fn dispatch(
    logs: &Logs,
    ctx: &RequestContext,
    op: Operation,
    wire: &Wire,
) -> Result<Vec<u8>, ApiError> {
    if !is_implemented(op) {
        return Err(errors::not_supported(op));
    }
    generated::dispatch(logs, ctx, op, wire)
}

crate::aws_service!(Logs, crate::model::logs::operations, dispatch);

pub struct Logs {
    store: Arc<LogStore>,
}

impl Logs {
    pub fn new(store: Arc<LogStore>) -> Self {
        Logs { store }
    }

    /// The store, for whoever writes logs in-process (the awslogs driver).
    pub fn store(&self) -> Arc<LogStore> {
        self.store.clone()
    }

    fn with_region<T>(&self, ctx: &RequestContext, f: impl FnOnce(&mut LogsRegion) -> T) -> T {
        let region = self.store.region(&ctx.account, &ctx.region);
        let mut guard = region.lock();
        f(&mut guard)
    }
}

// One line per implemented operation (`crate::services` has the macro).
crate::implemented_operations! {
    impl LogsApi for Logs, in with_region;

    create_log_group => groups::create(CreateLogGroupRequest) -> ();
    delete_log_group => groups::delete(DeleteLogGroupRequest) -> ();
    describe_log_groups => groups::describe(DescribeLogGroupsRequest) -> DescribeLogGroupsResponse;
    put_retention_policy => groups::put_retention(PutRetentionPolicyRequest) -> ();
    delete_retention_policy => groups::delete_retention(DeleteRetentionPolicyRequest) -> ();
    put_log_group_deletion_protection => groups::put_deletion_protection(PutLogGroupDeletionProtectionRequest) -> ();

    create_log_stream => streams::create(CreateLogStreamRequest) -> ();
    delete_log_stream => streams::delete(DeleteLogStreamRequest) -> ();
    describe_log_streams => streams::describe(DescribeLogStreamsRequest) -> DescribeLogStreamsResponse;

    put_log_events => events::put(PutLogEventsRequest) -> PutLogEventsResponse;
    get_log_events => events::get(GetLogEventsRequest) -> GetLogEventsResponse;
    filter_log_events => filter::filter(FilterLogEventsRequest) -> FilterLogEventsResponse;

    tag_resource => tags::tag_resource(TagResourceRequest) -> ();
    untag_resource => tags::untag_resource(UntagResourceRequest) -> ();
    list_tags_for_resource => tags::list_tags_for_resource(ListTagsForResourceRequest) -> ListTagsForResourceResponse;
    tag_log_group => tags::tag_log_group(TagLogGroupRequest) -> ();
    untag_log_group => tags::untag_log_group(UntagLogGroupRequest) -> ();
    list_tags_log_group => tags::list_tags_log_group(ListTagsLogGroupRequest) -> ListTagsLogGroupResponse;
}
