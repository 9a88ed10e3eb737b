//! CloudWatch Logs' region state as `crate::persistence` keeps it on disk:
//! the groups with their settings, tags and streams, and the events, in
//! chunks of `CHUNK` by their order of arrival in the stream. A chunk is a
//! row of its own (see `persistence::rows_of`), so appending a line
//! rewrites only the stream's last chunk, not every event of the region.
//! What the events take in memory is counted again on restore.

use super::store::{GroupRecord, LogsRegion, StoredEvent, StreamRecord};
use crate::persistence::Persistent;
use crate::tags::TagSet;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Events per chunk (by arrival: `seq / CHUNK`).
const CHUNK: u64 = 1024;

#[derive(Serialize, Deserialize)]
struct SavedGroup {
    creation_time: i64,
    retention_in_days: Option<i32>,
    kms_key_id: Option<String>,
    log_group_class: String,
    deletion_protection: bool,
    tags: TagSet,
    streams: BTreeMap<String, SavedStream>,
}

#[derive(Serialize, Deserialize)]
struct SavedStream {
    id: u64,
    creation_time: i64,
    last_ingestion_time: Option<i64>,
    uploads: u64,
    next_seq: u64,
}

/// (timestamp, seq, ingestion time, message).
type SavedEvent = (i64, u64, i64, String);

/// A chunk in the saved form: its events, or unchanged since the last
/// commit (`Persistent::save_changes`).
#[derive(Serialize)]
#[serde(untagged)]
enum SavedChunk {
    Events(Vec<SavedEvent>),
    Unchanged(&'static str),
}

/// What tells a chunk's content apart from its earlier ones: events only
/// come (with a new, higher seq) and go (the oldest, by retention), so
/// (how many, the sum of their seqs, the sum of their lengths) changes
/// whenever the chunk does.
type Fingerprint = (u64, u64, u64);

#[derive(Deserialize)]
struct Saved {
    next_stream_id: u64,
    groups: BTreeMap<String, SavedGroup>,
    /// `group:stream:chunk` -> its events (neither a group nor a stream
    /// name may hold `:`).
    events: BTreeMap<String, Vec<SavedEvent>>,
}

fn chunk_key(group: &str, stream: &str, chunk: u64) -> String {
    format!("{group}:{stream}:{chunk:012}")
}

#[derive(Serialize)]
struct Saving {
    next_stream_id: u64,
    groups: BTreeMap<String, SavedGroup>,
    events: BTreeMap<String, SavedChunk>,
}

impl LogsRegion {
    /// The saved form, and each chunk's fingerprint; a chunk whose
    /// fingerprint `unchanged` holds is saved as unchanged.
    fn saved_form(
        &self,
        unchanged: Option<&HashMap<String, Fingerprint>>,
    ) -> Result<(serde_json::Value, HashMap<String, Fingerprint>), String> {
        let mut groups = BTreeMap::new();
        let mut fingerprints: HashMap<String, Fingerprint> = HashMap::new();
        for (name, g) in &self.groups {
            let mut streams = BTreeMap::new();
            for (stream_name, s) in &g.streams {
                streams.insert(
                    stream_name.clone(),
                    SavedStream {
                        id: s.id,
                        creation_time: s.creation_time,
                        last_ingestion_time: s.last_ingestion_time,
                        uploads: s.uploads,
                        next_seq: s.next_seq,
                    },
                );
                for e in &s.events {
                    let f = fingerprints
                        .entry(chunk_key(name, stream_name, e.seq / CHUNK))
                        .or_default();
                    f.0 += 1;
                    f.1 = f.1.wrapping_add(e.seq);
                    f.2 = f.2.wrapping_add(e.message.len() as u64);
                }
            }
            groups.insert(
                name.clone(),
                SavedGroup {
                    creation_time: g.creation_time,
                    retention_in_days: g.retention_in_days,
                    kms_key_id: g.kms_key_id.clone(),
                    log_group_class: g.log_group_class.clone(),
                    deletion_protection: g.deletion_protection,
                    tags: g.tags.clone(),
                    streams,
                },
            );
        }
        let mut events: BTreeMap<String, SavedChunk> = BTreeMap::new();
        for (name, g) in &self.groups {
            for (stream_name, s) in &g.streams {
                for e in &s.events {
                    let key = chunk_key(name, stream_name, e.seq / CHUNK);
                    if unchanged.and_then(|u| u.get(&key)) == fingerprints.get(&key) {
                        events.insert(key, SavedChunk::Unchanged(crate::persistence::UNCHANGED));
                        continue;
                    }
                    let chunk = events
                        .entry(key)
                        .or_insert_with(|| SavedChunk::Events(vec![]));
                    if let SavedChunk::Events(list) = chunk {
                        list.push((e.timestamp, e.seq, e.ingestion_time, e.message.clone()));
                    }
                }
            }
        }
        for chunk in events.values_mut() {
            if let SavedChunk::Events(list) = chunk {
                // Stable in the saved form whatever order timestamps put them in.
                list.sort_by_key(|e| e.1);
            }
        }
        let saved = serde_json::to_value(Saving {
            next_stream_id: self.next_stream_id,
            groups,
            events,
        })
        .map_err(|e| e.to_string())?;
        Ok((saved, fingerprints))
    }
}

impl Persistent for LogsRegion {
    const SERVICE: &'static str = "logs";

    fn save(&self) -> Result<serde_json::Value, String> {
        self.saved_form(None).map(|(saved, _)| saved)
    }

    /// Only the chunks that changed since the last commit are encoded: a
    /// line appended rewrites its stream's last chunk.
    fn save_changes(&mut self) -> Result<serde_json::Value, String> {
        let (saved, fingerprints) = self.saved_form(Some(&self.saved_chunks))?;
        self.saved_chunks = fingerprints;
        Ok(saved)
    }

    fn forget_saved(&mut self) {
        self.saved_chunks.clear();
    }

    fn restore(&mut self, saved: serde_json::Value) -> Result<(), String> {
        let saved: Saved = serde_json::from_value(saved).map_err(|e| e.to_string())?;
        let mut groups = BTreeMap::new();
        for (name, g) in saved.groups {
            let streams = g
                .streams
                .into_iter()
                .map(|(stream_name, s)| {
                    let record = StreamRecord {
                        name: stream_name.clone(),
                        id: s.id,
                        creation_time: s.creation_time,
                        last_ingestion_time: s.last_ingestion_time,
                        stored_bytes: 0,
                        uploads: s.uploads,
                        events: vec![],
                        memory: 0,
                        next_seq: s.next_seq,
                    };
                    (stream_name, record)
                })
                .collect();
            groups.insert(
                name.clone(),
                GroupRecord {
                    name,
                    creation_time: g.creation_time,
                    retention_in_days: g.retention_in_days,
                    kms_key_id: g.kms_key_id,
                    log_group_class: g.log_group_class,
                    deletion_protection: g.deletion_protection,
                    tags: g.tags,
                    streams,
                },
            );
        }
        for (key, chunk) in saved.events {
            let mut parts = key.rsplitn(3, ':');
            let (Some(_chunk), Some(stream), Some(group)) =
                (parts.next(), parts.next(), parts.next())
            else {
                return Err(format!("events {key:?}: not group:stream:chunk"));
            };
            let Some(s) = groups
                .get_mut(group)
                .and_then(|g: &mut GroupRecord| g.streams.get_mut(stream))
            else {
                return Err(format!("events {key:?}: no such stream"));
            };
            for (timestamp, seq, ingestion_time, message) in chunk {
                s.events.push(StoredEvent {
                    timestamp,
                    seq,
                    ingestion_time,
                    message,
                });
            }
        }
        let mut memory = 0;
        for s in groups.values_mut().flat_map(|g| g.streams.values_mut()) {
            s.events.sort_by_key(StoredEvent::key);
            s.memory = s
                .events
                .iter()
                .map(|e| super::store::event_memory(&e.message))
                .sum();
            s.stored_bytes = s.events.iter().map(|e| e.message.len() as i64).sum();
            memory += s.memory;
        }
        self.groups = groups;
        self.next_stream_id = saved.next_stream_id;
        self.memory = memory;
        self.limit_reached = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_streams_and_events_come_back_in_order_with_their_memory() {
        let mut r = LogsRegion::new("1", "us-east-1");
        let mut g = r.new_group("/ecs/app");
        g.retention_in_days = Some(7);
        g.tags.insert("team".into(), "a".into());
        let mut s = r.new_stream("web/app/abc");
        for (ts, m) in [(10, "a"), (30, "c"), (20, "b")] {
            s.insert(ts, 40, m.to_string());
        }
        s.uploads = 3;
        g.streams.insert(s.name.clone(), s);
        r.memory = g.memory();
        r.groups.insert(g.name.clone(), g);

        let saved = r.save().unwrap();
        let saved: serde_json::Value =
            serde_json::from_slice(&serde_json::to_vec(&saved).unwrap()).unwrap();
        assert_eq!(saved["events"].as_object().unwrap().len(), 1, "one chunk");
        let mut back = LogsRegion::new("1", "us-east-1");
        back.restore(saved).unwrap();

        let g = &back.groups["/ecs/app"];
        assert_eq!(g.retention_in_days, Some(7));
        assert_eq!(g.tags, r.groups["/ecs/app"].tags);
        let s = &g.streams["web/app/abc"];
        let messages: Vec<_> = s.events.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(messages, ["a", "b", "c"]);
        assert_eq!(s.uploads, 3);
        assert_eq!(s.stored_bytes, 3);
        assert_eq!(back.memory, r.memory);
        assert_eq!(back.next_stream_id, r.next_stream_id);
        // A commit after another encodes only the chunk that changed.
        let mut r = back;
        let first = r.save_changes().unwrap();
        assert!(first["events"]
            .as_object()
            .unwrap()
            .values()
            .all(|c| c.is_array()));
        assert_eq!(
            r.save_changes().unwrap()["events"],
            serde_json::json!({
                "/ecs/app:web/app/abc:000000000000": crate::persistence::UNCHANGED,
            })
        );
        let mut back = r;
        // The sequence of arrival goes on after the restored events.
        let mut s = back
            .groups
            .remove("/ecs/app")
            .unwrap()
            .streams
            .remove("web/app/abc")
            .unwrap();
        s.insert(5, 50, "d".into());
        assert_eq!(s.events[0].seq, 3);
    }
}
