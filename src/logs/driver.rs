//! What ecsbox's own awslogs log driver uses to write container output into
//! CloudWatch Logs, without going through HTTP. Synchronous; each call takes
//! the region's lock briefly and never holds it across an `.await`.
//!
//! Unlike PutLogEvents these calls have no batch limits and accept events in
//! any order (stdout and stderr of one container interleave): each event is
//! put where its timestamp belongs. Empty messages are skipped, as AWS
//! refuses them.

use super::errors::{group_not_found, stream_not_found};
use super::store::LogStore;
use super::validation;
use crate::clock;
use crate::protocol::ApiError;

/// Creates the group unless it exists (`awslogs-create-group`). Answers
/// whether it was created; an invalid name is an `InvalidParameterException`.
pub fn ensure_group(
    store: &LogStore,
    account: &str,
    region: &str,
    group: &str,
) -> Result<bool, ApiError> {
    validation::new_group_name(group)?;
    let region = store.region(account, region);
    let mut state = region.lock();
    if state.groups.contains_key(group) {
        return Ok(false);
    }
    let record = state.new_group(group);
    state.groups.insert(group.to_string(), record);
    Ok(true)
}

pub fn group_exists(store: &LogStore, account: &str, region: &str, group: &str) -> bool {
    store
        .region(account, region)
        .lock()
        .groups
        .contains_key(group)
}

/// Creates the stream unless it exists; the group must exist
/// (`ResourceNotFoundException` otherwise, as CreateLogStream answers).
pub fn ensure_stream(
    store: &LogStore,
    account: &str,
    region: &str,
    group: &str,
    stream: &str,
) -> Result<(), ApiError> {
    validation::stream_name(stream, "logStreamName")?;
    let region = store.region(account, region);
    let mut state = region.lock();
    if !state.groups.contains_key(group) {
        return Err(group_not_found());
    }
    let record = state.new_stream(stream);
    let streams = &mut state.groups.get_mut(group).expect("checked above").streams;
    streams.entry(stream.to_string()).or_insert(record);
    Ok(())
}

/// Appends `(timestamp in ms, message)` events to an existing stream.
pub fn append(
    store: &LogStore,
    account: &str,
    region: &str,
    group: &str,
    stream: &str,
    events: Vec<(i64, String)>,
) -> Result<(), ApiError> {
    let region = store.region(account, region);
    let mut guard = region.lock();
    let state = &mut *guard;
    let group = state.groups.get_mut(group).ok_or_else(group_not_found)?;
    let stream = group.streams.get_mut(stream).ok_or_else(stream_not_found)?;
    let now = clock::now_millis();
    for (timestamp, message) in events.into_iter().filter(|(_, m)| !m.is_empty()) {
        state.memory += stream.insert(timestamp.max(0), now, message);
    }
    super::retention::enforce_limit(state);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_driver_writes_into_a_group_it_creates() {
        let store = LogStore::new();
        assert!(!group_exists(&store, "1", "r", "/ecs/app"));
        assert_eq!(
            ensure_stream(&store, "1", "r", "/ecs/app", "s")
                .unwrap_err()
                .code,
            "ResourceNotFoundException"
        );
        assert!(ensure_group(&store, "1", "r", "/ecs/app").unwrap());
        assert!(!ensure_group(&store, "1", "r", "/ecs/app").unwrap());
        ensure_stream(&store, "1", "r", "/ecs/app", "ecs/web/abc").unwrap();
        ensure_stream(&store, "1", "r", "/ecs/app", "ecs/web/abc").unwrap();
        append(
            &store,
            "1",
            "r",
            "/ecs/app",
            "ecs/web/abc",
            vec![(20, "b".into()), (10, "a".into()), (30, String::new())],
        )
        .unwrap();
        let region = store.region("1", "r");
        let state = region.lock();
        let events = &state.groups["/ecs/app"].streams["ecs/web/abc"].events;
        let messages: Vec<_> = events.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(messages, ["a", "b"]);
    }
}
