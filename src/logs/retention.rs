//! What log events are kept: a group's retention, and ecsbox's memory limit.
//!
//! Retention: AWS deletes the events of a group older than its retention
//! period (PutRetentionPolicy), "typically within 72 hours" of their
//! expiry; ecsbox's sweeper does within a minute, and at once when ecsbox's
//! clock is moved forward (`POST /_ecsbox/clock/advance`), so that a test
//! sees it without waiting. Their bytes leave the stream's `storedBytes`.
//!
//! Memory limit (ecsbox's own, AWS has none): the events of one (account,
//! region) take at most `LogsRegion::memory_limit` (`--log-memory-limit-mib`,
//! 256 MiB by default); a write that goes past it removes the region's
//! oldest events, by timestamp across all its streams, until the events
//! take at most 90% of it (so that a stream of writes at the limit does
//! not pay for a removal each time). ecsbox logs a warning the first time.

use super::store::{LogStore, LogsRegion};
use crate::clock;
use std::sync::{Arc, Weak};
use std::time::Duration;

const DAY_MS: i64 = 24 * 3_600_000;
/// How often the sweeper looks for expired events on real time.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Removes the events older than their group's retention at `now` (epoch
/// milliseconds); answers how many went.
pub fn expire(state: &mut LogsRegion, now: i64) -> usize {
    let mut removed = 0;
    let mut freed = 0;
    for group in state.groups.values_mut() {
        let Some(days) = group.retention_in_days else {
            continue;
        };
        let oldest_kept = now - i64::from(days) * DAY_MS;
        for stream in group.streams.values_mut() {
            let n = stream.index_at_time(oldest_kept);
            if n > 0 {
                removed += n;
                freed += stream.remove_oldest(n);
            }
        }
    }
    state.memory -= freed;
    removed
}

/// Brings the region's events under its memory limit (to 90% of it) by
/// removing the oldest, if they are over it.
pub fn enforce_limit(state: &mut LogsRegion) {
    if state.memory <= state.memory_limit {
        return;
    }
    if !state.limit_reached {
        state.limit_reached = true;
        tracing::warn!(
            "CloudWatch Logs in {}/{}: the events take over the {} MiB limit (--log-memory-limit-mib); the oldest are removed to make room",
            state.account,
            state.region,
            state.memory_limit >> 20
        );
    }
    let target = state.memory_limit / 10 * 9;
    // The stream holding the oldest event gives up its events up to the
    // next stream's oldest, until the target is met.
    let mut oldest: std::collections::BinaryHeap<std::cmp::Reverse<(i64, String, String)>> = state
        .groups
        .iter()
        .flat_map(|(g, group)| {
            group.streams.iter().filter_map(move |(s, stream)| {
                Some(std::cmp::Reverse((
                    stream.first_event_timestamp()?,
                    g.clone(),
                    s.clone(),
                )))
            })
        })
        .collect();
    while state.memory > target {
        let Some(std::cmp::Reverse((_, g, s))) = oldest.pop() else {
            break;
        };
        let next = oldest.peek().map(|r| r.0 .0);
        let Some(stream) = state
            .groups
            .get_mut(&g)
            .and_then(|group| group.streams.get_mut(&s))
        else {
            continue;
        };
        let mut n = 0;
        let mut freeing = 0;
        for e in &stream.events {
            if state.memory - freeing <= target || next.is_some_and(|t| e.timestamp > t) {
                break;
            }
            freeing += super::store::event_memory(&e.message);
            n += 1;
        }
        // At least one, or a stream tied with the next would never move.
        let freed = stream.remove_oldest(n.max(1));
        state.memory -= freed;
        if let Some(first) = stream.first_event_timestamp() {
            oldest.push(std::cmp::Reverse((first, g, s)));
        }
    }
}

/// Sweeps every region's expired events every `SWEEP_EVERY` and whenever
/// ecsbox's clock is moved forward, while the store lives.
pub fn spawn_sweeper(store: &Arc<LogStore>) {
    let store: Weak<LogStore> = Arc::downgrade(store);
    tokio::spawn(async move {
        loop {
            let advanced = clock::advanced().notified();
            tokio::pin!(advanced);
            advanced.as_mut().enable();
            let Some(store) = store.upgrade() else { return };
            let now = clock::now_millis();
            for (account, region) in store.keys() {
                if let Some(region) = store.existing(&account, &region) {
                    expire(&mut region.lock(), now);
                }
            }
            drop(store);
            tokio::select! {
                _ = tokio::time::sleep(SWEEP_EVERY) => {}
                _ = advanced => {}
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::store::event_memory;

    /// (group, stream, its events as (timestamp, message)).
    type Streams<'a> = [(&'a str, &'a str, &'a [(i64, &'a str)])];

    fn region_with(streams: &Streams) -> LogsRegion {
        let mut r = LogsRegion::new("000000000000", "us-east-1");
        for (g, s, events) in streams {
            if !r.groups.contains_key(*g) {
                let group = r.new_group(g);
                r.groups.insert(g.to_string(), group);
            }
            let stream = r.new_stream(s);
            r.groups
                .get_mut(*g)
                .unwrap()
                .streams
                .insert(s.to_string(), stream);
            for (ts, m) in *events {
                let st = r.groups.get_mut(*g).unwrap().streams.get_mut(*s).unwrap();
                let added = st.insert(*ts, 0, m.to_string());
                r.memory += added;
            }
        }
        r
    }

    fn messages(r: &LogsRegion, g: &str, s: &str) -> Vec<String> {
        r.groups[g].streams[s]
            .events
            .iter()
            .map(|e| e.message.clone())
            .collect()
    }

    fn counted(r: &LogsRegion) -> usize {
        r.groups
            .values()
            .flat_map(|g| g.streams.values())
            .flat_map(|s| s.events.iter())
            .map(|e| event_memory(&e.message))
            .sum()
    }

    #[test]
    fn events_past_their_groups_retention_go_and_the_rest_stay() {
        let day = DAY_MS;
        let mut r = region_with(&[
            ("/kept", "s", &[(0, "old"), (5 * day, "new")]),
            (
                "/short",
                "s",
                &[(0, "old"), (2 * day, "mid"), (5 * day, "new")],
            ),
        ]);
        r.groups.get_mut("/short").unwrap().retention_in_days = Some(3);
        // Now is day 6: the 3-day retention keeps day 3 on.
        assert_eq!(expire(&mut r, 6 * day), 2);
        assert_eq!(messages(&r, "/short", "s"), ["new"]);
        assert_eq!(
            messages(&r, "/kept", "s"),
            ["old", "new"],
            "no retention: kept"
        );
        assert_eq!(r.groups["/short"].streams["s"].stored_bytes, 3);
        assert_eq!(r.memory, counted(&r));
    }

    #[test]
    fn over_the_limit_the_oldest_events_of_any_stream_go_first() {
        let mut r = region_with(&[
            ("/a", "one", &[(1, "a1"), (4, "a4"), (7, "a7")]),
            ("/a", "two", &[(2, "b2"), (5, "b5"), (8, "b8")]),
            ("/c", "three", &[(3, "c3"), (6, "c6"), (9, "c9")]),
        ]);
        assert_eq!(r.memory, counted(&r));
        // Room for 5 events: 90% of it keeps 4, the newest.
        r.memory_limit = 5 * event_memory("xx");
        enforce_limit(&mut r);
        assert_eq!(messages(&r, "/a", "one"), ["a7"]);
        assert_eq!(messages(&r, "/a", "two"), ["b8"]);
        assert_eq!(messages(&r, "/c", "three"), ["c6", "c9"]);
        assert_eq!(r.memory, counted(&r));
        assert!(r.memory <= r.memory_limit / 10 * 9);
        assert_eq!(r.groups["/a"].streams["one"].stored_bytes, 2);
        // Under the limit nothing goes.
        enforce_limit(&mut r);
        assert_eq!(r.memory, 4 * event_memory("xx"));
    }
}
