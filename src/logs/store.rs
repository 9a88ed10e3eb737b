//! CloudWatch Logs state: one `LogsRegion` per (account, region), as AWS
//! keeps them apart.
//!
//! Why a store of its own rather than a field of the ECS `RegionState`: log
//! events arrive all the time from running containers (the awslogs driver)
//! and can be many megabytes; behind the ECS region lock every appended line
//! would wait for, and hold up, ECS API calls and the controllers. Here each
//! region's logs sit behind their own lock in a `RegionStore` of their own.
//!
//! Events of a stream are kept in a `Vec` sorted by (timestamp, sequence):
//! appends are almost always in order (a push), reads of a time range
//! binary-search it instead of scanning every event.
//!
//! What the events take in memory is counted per stream and per region
//! (`memory`): `retention` keeps each region under its limit and removes
//! events past their group's retention.

use crate::clock;
use crate::store::RegionStore;
use crate::tags::TagSet;
use std::collections::BTreeMap;

/// The logs of every (account, region), created empty on first use.
pub type LogStore = RegionStore<LogsRegion>;

impl RegionStore<LogsRegion> {
    pub fn new() -> Self {
        Self::with_memory_limit(DEFAULT_MEMORY_LIMIT)
    }

    /// A store whose every region keeps at most `limit` bytes of events.
    pub fn with_memory_limit(limit: usize) -> Self {
        RegionStore::creating(move |account, region| {
            let mut r = LogsRegion::new(account, region);
            r.memory_limit = limit;
            r
        })
    }
}

/// The events one (account, region) keeps at most, by default: 256 MiB
/// (`--log-memory-limit-mib`).
pub const DEFAULT_MEMORY_LIMIT: usize = 256 << 20;

/// What an event is counted as in memory: its record and its message.
pub fn event_memory(message: &str) -> usize {
    std::mem::size_of::<StoredEvent>() + message.len()
}

impl Default for RegionStore<LogsRegion> {
    fn default() -> Self {
        Self::new()
    }
}

pub struct LogsRegion {
    pub account: String,
    pub region: String,
    /// Log groups by name; the map's order is the ASCII order AWS lists them in.
    pub groups: BTreeMap<String, GroupRecord>,
    /// Numbers streams uniquely within the region, so event ids never collide.
    pub(super) next_stream_id: u64,
    /// What the events of every stream take (`event_memory`), and the most
    /// they may: past it the oldest events go (`retention::enforce_limit`).
    pub memory: usize,
    pub memory_limit: usize,
    /// The limit was reached once (it is logged once).
    pub limit_reached: bool,
    /// A fingerprint of each chunk of events the last saved form held
    /// (`saved`): an unchanged chunk is saved as unchanged, not encoded
    /// again. Only a state directory fills it.
    pub(super) saved_chunks: std::collections::HashMap<String, (u64, u64, u64)>,
}

impl LogsRegion {
    pub fn new(account: &str, region: &str) -> Self {
        LogsRegion {
            account: account.to_string(),
            region: region.to_string(),
            groups: BTreeMap::new(),
            next_stream_id: 1,
            memory: 0,
            memory_limit: DEFAULT_MEMORY_LIMIT,
            limit_reached: false,
            saved_chunks: Default::default(),
        }
    }

    /// `arn:aws:logs:REGION:ACCOUNT:log-group:NAME` (the `logGroupArn` form;
    /// the `arn` member adds `:*`).
    pub fn group_arn(&self, group: &str) -> String {
        format!(
            "arn:aws:logs:{}:{}:log-group:{group}",
            self.region, self.account
        )
    }

    pub fn stream_arn(&self, group: &str, stream: &str) -> String {
        format!("{}:log-stream:{stream}", self.group_arn(group))
    }

    pub fn new_group(&self, name: &str) -> GroupRecord {
        GroupRecord {
            creation_time: clock::now_millis(),
            retention_in_days: None,
            kms_key_id: None,
            log_group_class: "STANDARD".to_string(),
            deletion_protection: false,
            tags: TagSet::new(),
            streams: BTreeMap::new(),
            name: name.to_string(),
        }
    }

    pub fn new_stream(&mut self, name: &str) -> StreamRecord {
        let id = self.next_stream_id;
        self.next_stream_id += 1;
        StreamRecord {
            name: name.to_string(),
            id,
            creation_time: clock::now_millis(),
            last_ingestion_time: None,
            stored_bytes: 0,
            uploads: 0,
            events: Vec::new(),
            memory: 0,
            next_seq: 0,
        }
    }
}

pub struct GroupRecord {
    pub name: String,
    pub creation_time: i64,
    pub retention_in_days: Option<i32>,
    pub kms_key_id: Option<String>,
    pub log_group_class: String,
    pub deletion_protection: bool,
    pub tags: TagSet,
    /// Streams by name, in the order DescribeLogStreams lists them by default.
    pub streams: BTreeMap<String, StreamRecord>,
}

impl GroupRecord {
    pub fn stored_bytes(&self) -> i64 {
        self.streams.values().map(|s| s.stored_bytes).sum()
    }

    /// What its streams' events take (`event_memory`).
    pub fn memory(&self) -> usize {
        self.streams.values().map(|s| s.memory).sum()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub timestamp: i64,
    /// The order of arrival within the stream: breaks ties between events of
    /// the same timestamp and makes every position in the stream a unique key.
    pub seq: u64,
    pub ingestion_time: i64,
    pub message: String,
}

impl StoredEvent {
    pub fn key(&self) -> (i64, u64) {
        (self.timestamp, self.seq)
    }
}

pub struct StreamRecord {
    pub name: String,
    /// Unique within the region; part of FilterLogEvents' event ids.
    pub id: u64,
    pub creation_time: i64,
    pub last_ingestion_time: Option<i64>,
    pub stored_bytes: i64,
    /// Batches accepted so far; the sequence token counts them.
    pub uploads: u64,
    /// Sorted by (timestamp, seq).
    pub events: Vec<StoredEvent>,
    /// What `events` take (`event_memory`).
    pub memory: usize,
    pub(super) next_seq: u64,
}

impl StreamRecord {
    /// Adds one event where its timestamp puts it, after every event of the
    /// same timestamp already there; answers what it takes in memory.
    pub fn insert(&mut self, timestamp: i64, ingestion_time: i64, message: String) -> usize {
        let seq = self.next_seq;
        self.next_seq += 1;
        let memory = event_memory(&message);
        self.memory += memory;
        self.stored_bytes += message.len() as i64;
        self.last_ingestion_time = Some(ingestion_time);
        let event = StoredEvent {
            timestamp,
            seq,
            ingestion_time,
            message,
        };
        if self
            .events
            .last()
            .is_none_or(|last| last.timestamp <= timestamp)
        {
            self.events.push(event);
        } else {
            let at = self.events.partition_point(|e| e.timestamp <= timestamp);
            self.events.insert(at, event);
        }
        memory
    }

    /// Removes the first (oldest) `n` events; answers what they took in
    /// memory.
    pub fn remove_oldest(&mut self, n: usize) -> usize {
        let mut freed = 0;
        for e in self.events.drain(..n.min(self.events.len())) {
            freed += event_memory(&e.message);
            self.stored_bytes -= e.message.len() as i64;
        }
        self.memory -= freed;
        freed
    }

    /// The index of the first event at or after `timestamp`.
    pub fn index_at_time(&self, timestamp: i64) -> usize {
        self.events.partition_point(|e| e.timestamp < timestamp)
    }

    /// The index of the first event whose key is at or after `key`.
    pub fn index_at_key(&self, key: (i64, u64)) -> usize {
        self.events.partition_point(|e| e.key() < key)
    }

    /// The key of the position before event `index`; past the last event it
    /// is just after the last one, so events appended later come after it.
    pub fn key_at(&self, index: usize) -> (i64, u64) {
        match self.events.get(index) {
            Some(e) => e.key(),
            None => self
                .events
                .last()
                .map(|e| (e.timestamp, e.seq + 1))
                .unwrap_or((0, 0)),
        }
    }

    pub fn first_event_timestamp(&self) -> Option<i64> {
        self.events.first().map(|e| e.timestamp)
    }

    /// The latest timestamp in the stream (not the last one to arrive).
    pub fn last_event_timestamp(&self) -> Option<i64> {
        self.events.last().map(|e| e.timestamp)
    }

    /// The sequence token AWS still answers (and no longer checks): 56 digits.
    pub fn sequence_token(&self) -> String {
        format!(
            "{:056}",
            self.id as u128 * 1_000_000_000_000 + self.uploads as u128
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream() -> StreamRecord {
        LogsRegion::new("000000000000", "us-east-1").new_stream("s")
    }

    #[test]
    fn out_of_order_events_land_in_timestamp_order() {
        let mut s = stream();
        for (ts, m) in [(10, "a"), (30, "c"), (20, "b"), (30, "d"), (5, "z")] {
            s.insert(ts, 0, m.to_string());
        }
        let order: Vec<_> = s.events.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(order, ["z", "a", "b", "c", "d"]);
        assert_eq!(s.first_event_timestamp(), Some(5));
        assert_eq!(s.last_event_timestamp(), Some(30));
    }

    #[test]
    fn time_and_key_positions_are_binary_searched() {
        let mut s = stream();
        for ts in [10, 20, 20, 30] {
            s.insert(ts, 0, "m".into());
        }
        assert_eq!(s.index_at_time(20), 1);
        assert_eq!(s.index_at_time(21), 3);
        assert_eq!(s.index_at_time(99), 4);
        assert_eq!(s.index_at_key(s.key_at(2)), 2);
        // Past the end: a later append is after this position.
        let end = s.key_at(4);
        s.insert(30, 0, "late".into());
        assert_eq!(s.index_at_key(end), 4);
    }
}
