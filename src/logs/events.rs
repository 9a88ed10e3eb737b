//! PutLogEvents and GetLogEvents: writing a batch into one stream, and
//! reading one stream forward or backward with AWS's `f/`/`b/` tokens.

use super::errors::{constraint, group_not_found, invalid_parameter, stream_not_found};
use super::store::{LogsRegion, StreamRecord};
use super::tokens::{decode_stream_token, stream_token, Direction};
use super::validation;
use crate::clock;
use crate::model::logs::shapes::*;
use crate::protocol::ApiError;

/// PutLogEvents' limits, as the model documents them.
const MAX_BATCH_EVENTS: usize = 10_000;
const MAX_BATCH_BYTES: usize = 1_048_576;
/// Counted per event on top of its message's UTF-8 bytes.
pub const EVENT_OVERHEAD: usize = 26;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// How far into the future and the past an event may be.
const MAX_FUTURE_MS: i64 = 2 * HOUR_MS;
const MAX_AGE_MS: i64 = 14 * DAY_MS;
/// How long a span of time one batch's accepted events may cover.
const MAX_SPAN_MS: i64 = DAY_MS;
/// GetLogEvents answers at most this many events, and about 1 MB of them.
const MAX_GET_EVENTS: usize = 10_000;
pub const MAX_PAGE_BYTES: usize = 1_048_576;

pub fn put(
    state: &mut LogsRegion,
    input: PutLogEventsRequest,
) -> Result<PutLogEventsResponse, ApiError> {
    let group_name = input.log_group_name.unwrap_or_default();
    let stream_name = input.log_stream_name.unwrap_or_default();
    let events: Vec<(i64, String)> = input
        .log_events
        .unwrap_or_default()
        .into_iter()
        .map(|e| (e.timestamp.unwrap_or(0), e.message.unwrap_or_default()))
        .collect();
    check_batch(&events)?;
    let group = state
        .groups
        .get_mut(&group_name)
        .ok_or_else(group_not_found)?;
    let retention = group.retention_in_days;
    let stream = group
        .streams
        .get_mut(&stream_name)
        .ok_or_else(stream_not_found)?;
    let now = clock::now_millis();
    let accepted = Accepted::classify(&events, now, retention);
    accepted.check_span(&events)?;
    for (timestamp, message) in events.into_iter().take(accepted.end).skip(accepted.start) {
        state.memory += stream.insert(timestamp, now, message);
    }
    stream.uploads += 1;
    let next_sequence_token = stream.sequence_token();
    super::retention::enforce_limit(state);
    Ok(PutLogEventsResponse {
        next_sequence_token: Some(next_sequence_token),
        rejected_log_events_info: accepted.rejected(),
        rejected_entity_info: None,
    })
}

/// What makes a whole batch fail: its size, and events out of order.
fn check_batch(events: &[(i64, String)]) -> Result<(), ApiError> {
    if events.is_empty() {
        return Err(constraint(
            "[]",
            "logEvents",
            "have length greater than or equal to 1",
        ));
    }
    if events.len() > MAX_BATCH_EVENTS {
        return Err(invalid_parameter(format!(
            "1 validation error detected: Value at 'logEvents' failed to satisfy constraint: Member must have length less than or equal to {MAX_BATCH_EVENTS}"
        )));
    }
    if let Some(i) = events.iter().position(|(_, m)| m.is_empty()) {
        return Err(constraint(
            "",
            &format!("logEvents.{}.message", i + 1),
            "have length greater than or equal to 1",
        ));
    }
    if events.windows(2).any(|w| w[1].0 < w[0].0) {
        return Err(invalid_parameter(
            "Log events in a single PutLogEvents request must be in chronological order.",
        ));
    }
    let bytes: usize = events.iter().map(|(_, m)| m.len() + EVENT_OVERHEAD).sum();
    if bytes > MAX_BATCH_BYTES {
        return Err(invalid_parameter(format!(
            "Upload too large: {bytes} bytes exceeds limit of {MAX_BATCH_BYTES}"
        )));
    }
    Ok(())
}

/// Which events of a (chronological) batch are kept: `start..end`. Before
/// `start` are the ones too old (14 days) or past the group's retention,
/// from `end` on the ones more than 2 hours in the future; AWS drops those
/// and says so in `rejectedLogEventsInfo` while keeping the rest.
struct Accepted {
    len: usize,
    too_old_end: usize,
    expired_end: usize,
    start: usize,
    end: usize,
}

impl Accepted {
    fn classify(events: &[(i64, String)], now: i64, retention_days: Option<i32>) -> Self {
        let too_old_end = events.partition_point(|(ts, _)| *ts < now - MAX_AGE_MS);
        let expired_end = match retention_days {
            Some(days) => events.partition_point(|(ts, _)| *ts < now - days as i64 * DAY_MS),
            None => 0,
        };
        let end = events.partition_point(|(ts, _)| *ts <= now + MAX_FUTURE_MS);
        let start = too_old_end.max(expired_end).min(end);
        Accepted {
            len: events.len(),
            too_old_end,
            expired_end,
            start,
            end,
        }
    }

    /// The accepted events may span 24 hours at most, or nothing is written.
    fn check_span(&self, events: &[(i64, String)]) -> Result<(), ApiError> {
        if self.start < self.end && events[self.end - 1].0 - events[self.start].0 > MAX_SPAN_MS {
            return Err(invalid_parameter(
                "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.",
            ));
        }
        Ok(())
    }

    /// The indexes AWS reports: ends exclusive, the start of the too-new ones inclusive.
    fn rejected(&self) -> Option<RejectedLogEventsInfo> {
        let info = RejectedLogEventsInfo {
            too_old_log_event_end_index: (self.too_old_end > 0).then_some(self.too_old_end as i32),
            expired_log_event_end_index: (self.expired_end > 0).then_some(self.expired_end as i32),
            too_new_log_event_start_index: (self.end < self.len).then_some(self.end as i32),
        };
        (info != RejectedLogEventsInfo::default()).then_some(info)
    }
}

pub fn get(
    state: &mut LogsRegion,
    input: GetLogEventsRequest,
) -> Result<GetLogEventsResponse, ApiError> {
    let group_name = validation::group_reference(
        state,
        input.log_group_name.as_deref(),
        input.log_group_identifier.as_deref(),
    )?;
    let stream_name = input.log_stream_name.unwrap_or_default();
    let limit = validation::limit(input.limit, MAX_GET_EVENTS, MAX_GET_EVENTS)?;
    let token = input
        .next_token
        .as_deref()
        .map(decode_stream_token)
        .transpose()?;
    let group = state.groups.get(&group_name).ok_or_else(group_not_found)?;
    let stream = group
        .streams
        .get(&stream_name)
        .ok_or_else(stream_not_found)?;

    // The time range, as indexes: startTime inclusive, endTime exclusive.
    let lo = input.start_time.map_or(0, |t| stream.index_at_time(t));
    let hi = input
        .end_time
        .map_or(stream.events.len(), |t| stream.index_at_time(t))
        .max(lo);
    // A token says where to continue and which way; without one, the head
    // or the tail of the range.
    let (direction, from) = match token {
        Some((direction, key)) => (direction, stream.index_at_key(key).clamp(lo, hi)),
        None if input.start_from_head.unwrap_or(false) => (Direction::Forward, lo),
        None => (Direction::Backward, hi),
    };
    let (a, b) = match direction {
        Direction::Forward => (from, from + page_len(stream.events[from..hi].iter(), limit)),
        Direction::Backward => (
            from - page_len(stream.events[lo..from].iter().rev(), limit),
            from,
        ),
    };
    let events = stream.events[a..b]
        .iter()
        .map(|e| OutputLogEvent {
            timestamp: Some(e.timestamp),
            message: Some(e.message.clone()),
            ingestion_time: Some(e.ingestion_time),
        })
        .collect();
    Ok(GetLogEventsResponse {
        events: Some(events),
        next_forward_token: Some(next_token(
            stream,
            Direction::Forward,
            b,
            a == b,
            input.next_token.as_deref(),
        )),
        next_backward_token: Some(next_token(
            stream,
            Direction::Backward,
            a,
            a == b,
            input.next_token.as_deref(),
        )),
    })
}

/// How many of `events` (in reading order) fit in one page: `limit` events
/// and about 1 MB, always at least one if there is one.
pub fn page_len<'a>(
    events: impl Iterator<Item = &'a super::store::StoredEvent>,
    limit: usize,
) -> usize {
    let mut bytes = 0;
    let mut n = 0;
    for e in events.take(limit) {
        bytes += e.message.len() + EVENT_OVERHEAD;
        if n > 0 && bytes > MAX_PAGE_BYTES {
            break;
        }
        n += 1;
    }
    n
}

/// The token for reading on from `index`. At the end of the stream in the
/// token's direction AWS hands back the very token it was given, which is
/// how clients know they have read everything.
fn next_token(
    stream: &StreamRecord,
    direction: Direction,
    index: usize,
    empty: bool,
    given: Option<&str>,
) -> String {
    if let Some(given) = given {
        let same_direction = decode_stream_token(given)
            .map(|(d, _)| d == direction)
            .unwrap_or(false);
        if empty && same_direction {
            return given.to_string();
        }
    }
    stream_token(direction, stream.key_at(index))
}
