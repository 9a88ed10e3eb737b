//! FilterLogEvents: the events of several streams of one group, interleaved
//! by timestamp, narrowed by a time range and a filter pattern, a page at a
//! time in either direction.
//!
//! Each stream's time range is found by binary search; the streams are then
//! merged with a heap, so a page costs the events it looks at, not the group.

use super::errors::{group_not_found, invalid_parameter};
use super::events::{EVENT_OVERHEAD, MAX_PAGE_BYTES};
use super::pattern::Pattern;
use super::store::{LogsRegion, StoredEvent, StreamRecord};
use super::tokens::{decode_filter_token, filter_token, FilterPosition};
use super::validation;
use crate::model::logs::shapes::*;
use crate::protocol::ApiError;
use std::collections::BinaryHeap;

const MAX_EVENTS: usize = 10_000;

pub fn filter(
    state: &mut LogsRegion,
    input: FilterLogEventsRequest,
) -> Result<FilterLogEventsResponse, ApiError> {
    let group_name = validation::group_reference(
        state,
        input.log_group_name.as_deref(),
        input.log_group_identifier.as_deref(),
    )?;
    let limit = validation::limit(input.limit, MAX_EVENTS, MAX_EVENTS)?;
    let selection = Selection::from_request(&input)?;
    let pattern = Pattern::parse(input.filter_pattern.as_deref().unwrap_or(""))?;
    let position = input
        .next_token
        .as_deref()
        .map(decode_filter_token)
        .transpose()?;
    // A token keeps the direction it was made for; startFromHead only sets
    // the first page's (the model says so).
    let descending = position
        .as_ref()
        .map_or(!input.start_from_head.unwrap_or(true), |p| p.descending);
    let group = state.groups.get(&group_name).ok_or_else(group_not_found)?;
    let streams: Vec<&StreamRecord> = group
        .streams
        .values()
        .filter(|s| selection.includes(&s.name))
        .collect();
    // startTime and endTime are both inclusive here.
    let range = (input.start_time, input.end_time);
    let mut merge = Merge::new(&streams, range, position.as_ref(), descending);
    let mut events = Vec::new();
    let mut bytes = 0;
    let mut last: Option<(&StreamRecord, &StoredEvent)> = None;
    let mut next_token = None;
    while let Some((stream, event)) = merge.next() {
        if !pattern.matches(&event.message) {
            continue;
        }
        let size = event.message.len() + EVENT_OVERHEAD;
        if events.len() == limit || (!events.is_empty() && bytes + size > MAX_PAGE_BYTES) {
            // Another match exists: the next page starts after the last one answered.
            next_token = last.map(|(s, e)| {
                filter_token(&FilterPosition {
                    descending,
                    timestamp: e.timestamp,
                    stream: s.name.clone(),
                    seq: e.seq,
                })
            });
            break;
        }
        bytes += size;
        events.push(filtered(stream, event));
        last = Some((stream, event));
    }
    Ok(FilterLogEventsResponse {
        events: Some(events),
        searched_log_streams: Some(Vec::new()),
        next_token,
    })
}

/// Which streams of the group are searched.
enum Selection {
    All,
    Names(Vec<String>),
    Prefix(String),
}

impl Selection {
    fn from_request(input: &FilterLogEventsRequest) -> Result<Self, ApiError> {
        match (&input.log_stream_names, &input.log_stream_name_prefix) {
            (Some(_), Some(_)) => Err(invalid_parameter(
                "logStreamNames and logStreamNamePrefix are mutually exclusive; specify only one.",
            )),
            (Some(names), None) => {
                if names.is_empty() || names.len() > 100 {
                    let n = names.len();
                    let bound = if n == 0 {
                        "greater than or equal to 1"
                    } else {
                        "less than or equal to 100"
                    };
                    return Err(super::errors::constraint(
                        format!("{n} names"),
                        "logStreamNames",
                        &format!("have length {bound}"),
                    ));
                }
                Ok(Selection::Names(names.clone()))
            }
            (None, Some(prefix)) => Ok(Selection::Prefix(prefix.clone())),
            (None, None) => Ok(Selection::All),
        }
    }

    /// Names that match no stream simply contribute no events.
    fn includes(&self, name: &str) -> bool {
        match self {
            Selection::All => true,
            Selection::Names(names) => names.iter().any(|n| n == name),
            Selection::Prefix(prefix) => name.starts_with(prefix.as_str()),
        }
    }
}

fn filtered(stream: &StreamRecord, e: &StoredEvent) -> FilteredLogEvent {
    FilteredLogEvent {
        log_stream_name: Some(stream.name.clone()),
        timestamp: Some(e.timestamp),
        message: Some(e.message.clone()),
        ingestion_time: Some(e.ingestion_time),
        // 56 digits, like AWS's: unique per (timestamp, stream, arrival).
        event_id: Some(format!(
            "{:020}{:016}{:020}",
            e.timestamp.max(0),
            stream.id,
            e.seq
        )),
    }
}

/// The k-way merge of the streams' ranges in (timestamp, stream name,
/// arrival) order, or its reverse.
struct Merge<'a> {
    streams: &'a [&'a StreamRecord],
    /// Per stream, the part still to be read: `lo..hi`.
    ranges: Vec<(usize, usize)>,
    descending: bool,
    /// The next event of each stream that has one, keyed so that the heap's
    /// maximum is the next event to answer.
    heap: BinaryHeap<((i128, i128, i128), usize)>,
}

impl<'a> Merge<'a> {
    fn new(
        streams: &'a [&'a StreamRecord],
        (start, end): (Option<i64>, Option<i64>),
        after: Option<&FilterPosition>,
        descending: bool,
    ) -> Self {
        let ranges = streams
            .iter()
            .map(|s| {
                let lo = start.map_or(0, |t| s.index_at_time(t));
                let hi = end.map_or(s.events.len(), |t| s.index_at_time(t.saturating_add(1)));
                match after {
                    Some(p) => narrow(s, (lo, hi.max(lo)), p, descending),
                    None => (lo, hi.max(lo)),
                }
            })
            .collect();
        let mut merge = Merge {
            streams,
            ranges,
            descending,
            heap: BinaryHeap::new(),
        };
        for i in 0..streams.len() {
            merge.push_head(i);
        }
        merge
    }

    fn push_head(&mut self, i: usize) {
        let (lo, hi) = self.ranges[i];
        if lo >= hi {
            return;
        }
        let e = &self.streams[i].events[if self.descending { hi - 1 } else { lo }];
        let sign: i128 = if self.descending { 1 } else { -1 };
        let key = (
            sign * e.timestamp as i128,
            sign * i as i128,
            sign * e.seq as i128,
        );
        self.heap.push((key, i));
    }

    fn next(&mut self) -> Option<(&'a StreamRecord, &'a StoredEvent)> {
        let (_, i) = self.heap.pop()?;
        let stream = self.streams[i];
        let (lo, hi) = &mut self.ranges[i];
        let index = if self.descending {
            *hi -= 1;
            *hi
        } else {
            *lo += 1;
            *lo - 1
        };
        self.push_head(i);
        Some((stream, &stream.events[index]))
    }
}

/// The part of a stream's range that comes after position `p` in reading order.
fn narrow(
    s: &StreamRecord,
    (lo, hi): (usize, usize),
    p: &FilterPosition,
    descending: bool,
) -> (usize, usize) {
    use std::cmp::Ordering::*;
    let order = s.name.as_str().cmp(p.stream.as_str());
    if descending {
        let bound = match order {
            Less => s.index_at_time(p.timestamp.saturating_add(1)),
            Equal => s.index_at_key((p.timestamp, p.seq)),
            Greater => s.index_at_time(p.timestamp),
        };
        (lo, hi.min(bound).max(lo))
    } else {
        let bound = match order {
            Less => s.index_at_time(p.timestamp.saturating_add(1)),
            Equal => s.index_at_key((p.timestamp, p.seq + 1)),
            Greater => s.index_at_time(p.timestamp),
        };
        (lo.max(bound).min(hi), hi)
    }
}
