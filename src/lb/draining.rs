//! Deregistration: a deregistered target drains — it gets no new requests
//! or connections, those in flight finish — for the group's deregistration
//! delay, then leaves the group.
//!
//! AWS ("Deregistration delay"): "If a deregistering target has no
//! in-flight requests and no active connections, Elastic Load Balancing
//! immediately completes the deregistration process, without waiting for
//! the deregistration delay to elapse." So the wait ends at whichever comes
//! first: the target going idle (its last request or proxied connection
//! ends), or the delay. The delay is a deadline on ecsbox's clock, so a
//! test skips it with `clock::advance` instead of waiting minutes.
//! Requests still in flight at the deadline are left to finish.

use std::sync::{Arc, Weak};

use super::balance::TargetRt;
use super::{LoadBalancing, TargetKey};

pub async fn drain(
    plane: Weak<LoadBalancing>,
    group_arn: String,
    key: TargetKey,
    target: Arc<TargetRt>,
    delay: std::time::Duration,
) {
    let deadline = crate::clock::now_system() + delay;
    let expired = crate::clock::sleep_until(deadline);
    tokio::pin!(expired);
    while !target.is_idle() {
        tokio::select! {
            _ = &mut expired => break,
            // A permit is kept by notify_one, so a request ending between
            // the check and this wait is not missed.
            _ = target.idle.notified() => {}
        }
    }
    if let Some(lb) = plane.upgrade() {
        lb.finish_drain(&group_arn, &key, &target);
    }
}
