//! ecsbox's clock offset (`crate::clock::advance`) as a kept row: a restart
//! of a state directory whose clock was moved forward goes on from there,
//! so that no timestamp after the restart is earlier than one before it
//! and deadlines saved in the state (deployments' bake times, draining,
//! schedules) keep their meaning.

use super::PersistedStore;
use parking_lot::Mutex;
use std::time::Duration;

/// The process's clock offset, as `Persistence` keeps it.
#[derive(Default)]
pub struct ClockOffset {
    /// The offset last handed out to be written.
    written: Mutex<Duration>,
}

const ACCOUNT: &str = "-";
const REGION: &str = "-";

impl PersistedStore for ClockOffset {
    fn service(&self) -> &'static str {
        "clock"
    }

    fn take_touched(&self, all: bool) -> Vec<(String, String, Result<serde_json::Value, String>)> {
        let now = crate::clock::offset();
        let mut written = self.written.lock();
        if !all && *written == now {
            return vec![];
        }
        *written = now;
        let nanos = u64::try_from(now.as_nanos()).unwrap_or(u64::MAX);
        vec![(
            ACCOUNT.into(),
            REGION.into(),
            Ok(serde_json::json!({ "offsetNanos": nanos })),
        )]
    }

    fn restore_region(
        &self,
        _account: &str,
        _region: &str,
        saved: serde_json::Value,
    ) -> Result<(), String> {
        let nanos = saved
            .get("offsetNanos")
            .and_then(serde_json::Value::as_u64)
            .ok_or("offsetNanos is missing")?;
        let saved = Duration::from_nanos(nanos);
        // The offset only grows: move it up to the saved one.
        if let Some(by) = saved.checked_sub(crate::clock::offset()) {
            if !by.is_zero() {
                crate::clock::advance(by);
            }
        }
        *self.written.lock() = crate::clock::offset();
        Ok(())
    }

    fn track_touches(&self) {}

    fn forget_saved(&self) {
        // Written again at the next commit.
        *self.written.lock() = Duration::MAX;
    }
}
