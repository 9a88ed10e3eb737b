//! The awslogs log driver, done by ecsbox itself: a container whose
//! logConfiguration says `awslogs` gets its stdout and stderr, line by line
//! with the engine's timestamps, into a CloudWatch Logs stream of ecsbox's
//! own Logs API, named as ECS names it (`PREFIX/CONTAINER/TASK-ID`). Docker
//! itself writes to its default json-file driver meanwhile (see
//! `container_spec`), so `docker logs` keeps working too.

use crate::logs::{self, LogStore};
use crate::model::shapes::ContainerDefinition;
use crate::runtime::ContainerRuntime;
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

/// Where one container's output goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub region: String,
    pub group: String,
    /// `awslogs-stream-prefix`; without one, ECS names the stream after the
    /// Docker container id.
    pub prefix: Option<String>,
    pub create_group: bool,
}

impl Target {
    pub fn stream(&self, container: &str, task_id: &str, docker_id: &str) -> String {
        match &self.prefix {
            Some(prefix) => format!("{prefix}/{container}/{task_id}"),
            None => docker_id.to_string(),
        }
    }
}

/// The awslogs settings of a container, if it uses that driver.
pub fn target(container: &ContainerDefinition, task_region: &str) -> Option<Target> {
    let config = container.log_configuration.as_ref()?;
    if config.log_driver.as_deref() != Some("awslogs") {
        return None;
    }
    let options = config.options.clone().unwrap_or_default();
    Some(Target {
        region: options
            .get("awslogs-region")
            .cloned()
            .unwrap_or_else(|| task_region.to_string()),
        group: options.get("awslogs-group").cloned().unwrap_or_default(),
        prefix: options
            .get("awslogs-stream-prefix")
            .cloned()
            .filter(|p| !p.is_empty()),
        create_group: options
            .get("awslogs-create-group")
            .is_some_and(|v| v == "true"),
    })
}

/// Makes sure the group exists (creating it only with
/// `awslogs-create-group`), as the driver checks before the container
/// starts. The error is ECS's stoppedReason for a missing group.
pub fn prepare_group(store: &LogStore, account: &str, target: &Target) -> Result<(), String> {
    if target.create_group {
        return logs::ensure_group(store, account, &target.region, &target.group).map(|_| ()).map_err(|e| {
            format!("ResourceInitializationError: failed to validate logger args: failed to create Cloudwatch log group: {}", e.message)
        });
    }
    if logs::group_exists(store, account, &target.region, &target.group) {
        Ok(())
    } else {
        Err("ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not exist. : exit status 1".to_string())
    }
}

/// Where `follow` starts copying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum From {
    /// A container just started: every line.
    Start,
    /// A container of a task adopted after a restart: the engine replays
    /// its output from its start, and the lines the stream already holds
    /// (kept in the state directory) are skipped, so the stream goes on
    /// where it stopped.
    WhereTheStreamStopped,
}

/// Copies a container's output into its stream until the container stops
/// (the follow stream ends then, after its last line).
pub fn follow(
    runtime: Arc<dyn ContainerRuntime>,
    store: Arc<LogStore>,
    account: String,
    target: Target,
    stream: String,
    container_id: String,
    from: From,
) {
    let there = match from {
        From::Start => AlreadyThere::default(),
        From::WhereTheStreamStopped => AlreadyThere::of(&store, &account, &target, &stream),
    };
    tokio::spawn(copy_lines(
        runtime,
        store,
        account,
        target,
        stream,
        container_id,
        there,
    ));
}

/// What a stream already holds of a container's output: its events up to
/// the latest timestamp, and those of that millisecond (lines of the same
/// millisecond are told apart by their text).
#[derive(Default)]
struct AlreadyThere {
    last_ms: Option<i64>,
    at_last_ms: Vec<String>,
}

impl AlreadyThere {
    fn of(store: &LogStore, account: &str, target: &Target, stream: &str) -> Self {
        let Some(region) = store.existing(account, &target.region) else {
            return Self::default();
        };
        let r = region.lock();
        let Some(s) = r
            .groups
            .get(&target.group)
            .and_then(|g| g.streams.get(stream))
        else {
            return Self::default();
        };
        let Some(last_ms) = s.last_event_timestamp() else {
            return Self::default();
        };
        let at_last_ms = s.events[s.index_at_time(last_ms)..]
            .iter()
            .map(|e| e.message.clone())
            .collect();
        AlreadyThere {
            last_ms: Some(last_ms),
            at_last_ms,
        }
    }

    /// Whether a replayed line is one the stream holds (then forgotten, so
    /// that a second line of the same text and millisecond is kept).
    fn holds(&mut self, ms: i64, message: &str) -> bool {
        match self.last_ms {
            Some(last) if ms < last => true,
            Some(last) if ms == last => match self.at_last_ms.iter().position(|m| m == message) {
                Some(i) => {
                    self.at_last_ms.swap_remove(i);
                    true
                }
                None => false,
            },
            _ => false,
        }
    }
}

async fn copy_lines(
    runtime: Arc<dyn ContainerRuntime>,
    store: Arc<LogStore>,
    account: String,
    target: Target,
    stream: String,
    container_id: String,
    mut there: AlreadyThere,
) {
    if let Err(e) = logs::ensure_stream(&store, &account, &target.region, &target.group, &stream) {
        tracing::warn!(group = %target.group, stream = %stream, "awslogs: {}", e.message);
        return;
    }
    let mut lines = runtime.follow_logs(&container_id);
    while let Some(line) = lines.next().await {
        let ms = line
            .timestamp
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        if there.holds(ms, &line.message) {
            continue;
        }
        if let Err(e) = logs::append(
            &store,
            &account,
            &target.region,
            &target.group,
            &stream,
            vec![(ms, line.message)],
        ) {
            // The group was deleted meanwhile: as the driver, stop writing.
            tracing::warn!(group = %target.group, "awslogs: {}", e.message);
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replayed_lines_the_stream_holds_are_skipped_once() {
        let mut there = AlreadyThere {
            last_ms: Some(100),
            at_last_ms: vec!["b".into(), "b".into()],
        };
        assert!(there.holds(50, "a"));
        assert!(there.holds(100, "b"));
        assert!(there.holds(100, "b"));
        // A third "b" of that millisecond is new, as is anything later.
        assert!(!there.holds(100, "b"));
        assert!(!there.holds(100, "c"));
        assert!(!there.holds(101, "a"));
        // An empty stream holds nothing.
        assert!(!AlreadyThere::default().holds(0, "a"));
    }
    use crate::model::shapes::LogConfiguration;
    use std::collections::BTreeMap;

    fn container(options: &[(&str, &str)]) -> ContainerDefinition {
        ContainerDefinition {
            name: Some("web".into()),
            log_configuration: Some(LogConfiguration {
                log_driver: Some("awslogs".into()),
                options: Some(
                    options
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect::<BTreeMap<_, _>>(),
                ),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn streams_are_named_as_ecs_names_them() {
        let t = target(
            &container(&[
                ("awslogs-group", "/ecs/web"),
                ("awslogs-stream-prefix", "ecs"),
            ]),
            "eu-west-1",
        )
        .unwrap();
        assert_eq!(t.region, "eu-west-1");
        assert_eq!(t.stream("web", "abc123", "d0cker"), "ecs/web/abc123");
        let t = target(&container(&[("awslogs-group", "/ecs/web")]), "eu-west-1").unwrap();
        assert_eq!(t.stream("web", "abc123", "d0cker"), "d0cker");
        assert!(target(&ContainerDefinition::default(), "r").is_none());
    }

    #[test]
    fn a_missing_group_fails_unless_it_may_be_created() {
        let store = LogStore::new();
        let t = target(
            &container(&[
                ("awslogs-group", "/ecs/web"),
                ("awslogs-stream-prefix", "ecs"),
            ]),
            "r",
        )
        .unwrap();
        let err = prepare_group(&store, "1", &t).unwrap_err();
        assert!(
            err.contains("The specified log group does not exist"),
            "{err}"
        );
        let t = target(
            &container(&[
                ("awslogs-group", "/ecs/web"),
                ("awslogs-create-group", "true"),
            ]),
            "r",
        )
        .unwrap();
        prepare_group(&store, "1", &t).unwrap();
        assert!(logs::group_exists(&store, "1", "r", "/ecs/web"));
    }
}
