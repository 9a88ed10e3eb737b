//! Log streams: create, delete, describe (by name or by last event time).

use super::errors::{group_not_found, invalid_parameter, stream_exists, stream_not_found};
use super::store::{LogsRegion, StreamRecord};
use super::tokens::{decode_list_token, list_page};
use super::validation;
use crate::model::logs::shapes::*;
use crate::protocol::ApiError;

const MAX_DESCRIBE: usize = 50;

pub fn create(state: &mut LogsRegion, input: CreateLogStreamRequest) -> Result<(), ApiError> {
    let group = input.log_group_name.unwrap_or_default();
    let name = input.log_stream_name.unwrap_or_default();
    if !state.groups.contains_key(&group) {
        return Err(group_not_found());
    }
    let stream = state.new_stream(&name);
    let streams = &mut state.groups.get_mut(&group).expect("checked above").streams;
    if streams.contains_key(&name) {
        return Err(stream_exists());
    }
    streams.insert(name, stream);
    Ok(())
}

pub fn delete(state: &mut LogsRegion, input: DeleteLogStreamRequest) -> Result<(), ApiError> {
    let group = input.log_group_name.unwrap_or_default();
    let name = input.log_stream_name.unwrap_or_default();
    let group = state.groups.get_mut(&group).ok_or_else(group_not_found)?;
    let stream = group.streams.remove(&name).ok_or_else(stream_not_found)?;
    state.memory -= stream.memory;
    Ok(())
}

pub fn describe(
    state: &mut LogsRegion,
    input: DescribeLogStreamsRequest,
) -> Result<DescribeLogStreamsResponse, ApiError> {
    let group_name = validation::group_reference(
        state,
        input.log_group_name.as_deref(),
        input.log_group_identifier.as_deref(),
    )?;
    let limit = validation::limit(input.limit, MAX_DESCRIBE, MAX_DESCRIBE)?;
    let by_time = input.order_by.as_deref() == Some("LastEventTime");
    let prefix = input.log_stream_name_prefix.as_deref();
    if prefix.is_some() && by_time {
        return Err(invalid_parameter(
            "Cannot order by LastEventTime with a logStreamNamePrefix.",
        ));
    }
    let after = decode_list_token(input.next_token.as_deref())?;
    let group = state.groups.get(&group_name).ok_or_else(group_not_found)?;
    let descending = input.descending.unwrap_or(false);
    let mut items: Vec<(String, &StreamRecord)> = group
        .streams
        .values()
        .filter(|s| prefix.is_none_or(|p| s.name.starts_with(p)))
        .map(|s| (sort_key(s, by_time), s))
        .collect();
    if by_time {
        items.sort_by(|a, b| a.0.cmp(&b.0));
    }
    if descending {
        items.reverse();
    }
    let (page, next_token) = list_page(items, after.as_deref(), descending, limit);
    let log_streams = page
        .into_iter()
        .map(|s| describe_stream(state, &group_name, s))
        .collect();
    Ok(DescribeLogStreamsResponse {
        log_streams: Some(log_streams),
        next_token,
    })
}

/// The key a stream sorts by; a stream without events sorts as time 0.
/// Zero-padded, so keys order as their times do.
fn sort_key(stream: &StreamRecord, by_time: bool) -> String {
    if by_time {
        format!(
            "t{:020}/{}",
            stream.last_event_timestamp().unwrap_or(0).max(0),
            stream.name
        )
    } else {
        format!("n{}", stream.name)
    }
}

fn describe_stream(state: &LogsRegion, group: &str, stream: &StreamRecord) -> LogStream {
    LogStream {
        log_stream_name: Some(stream.name.clone()),
        creation_time: Some(stream.creation_time),
        first_event_timestamp: stream.first_event_timestamp(),
        last_event_timestamp: stream.last_event_timestamp(),
        last_ingestion_time: stream.last_ingestion_time,
        upload_sequence_token: Some(stream.sequence_token()),
        arn: Some(state.stream_arn(group, &stream.name)),
        // Deprecated by AWS, which answers 0 for it.
        stored_bytes: Some(0),
    }
}
