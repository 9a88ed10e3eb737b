//! The engine's container event stream, made endless: when Docker's
//! `/events` stream ends or fails (daemon restart, broken socket) it is
//! reopened from the time of the last event seen, so a consumer misses
//! nothing the engine still remembers, and is told `Reconnected` so it can
//! re-inspect what it tracks.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime};

use bollard::models::{EventMessage, EventMessageTypeEnum};
use bollard::query_parameters::EventsOptions;
use bollard::Docker;
use futures_util::stream::{self, BoxStream, StreamExt};

use crate::runtime::timestamp::{from_unix_nanos, to_docker_since};
use crate::runtime::types::*;

/// The container actions ecsbox follows (Docker matches `health_status`
/// as a prefix of `health_status: healthy`).
const ACTIONS: [&str; 8] = [
    "create",
    "start",
    "die",
    "kill",
    "stop",
    "oom",
    "health_status",
    "destroy",
];

const MAX_BACKOFF: Duration = Duration::from_secs(5);

type DockerEvents = BoxStream<'static, Result<EventMessage, bollard::errors::Error>>;

struct Cursor {
    docker: Docker,
    filters: HashMap<String, Vec<String>>,
    /// Where the next (re)connection starts: the call time, then the time of
    /// the last event seen. Docker's `since` is inclusive, hence `seen_at_since`.
    since: SystemTime,
    since_nanos: i64,
    seen_at_since: HashSet<(String, String)>,
    inner: Option<DockerEvents>,
    connected_once: bool,
    backoff: Duration,
}

pub fn container_events(
    docker: Docker,
    label_filters: &[LabelFilter],
) -> BoxStream<'static, RuntimeEvent> {
    let filters = HashMap::from([
        ("type".to_string(), vec!["container".to_string()]),
        (
            "label".to_string(),
            label_filters.iter().map(LabelFilter::to_docker).collect(),
        ),
        (
            "event".to_string(),
            ACTIONS.iter().map(|a| a.to_string()).collect(),
        ),
    ]);
    // Starting from "now" (rather than whenever the stream is first polled)
    // means events of containers created right after this call are not lost.
    let cursor = Cursor {
        docker,
        filters,
        since: SystemTime::now(),
        since_nanos: 0,
        seen_at_since: HashSet::new(),
        inner: None,
        connected_once: false,
        backoff: Duration::from_millis(100),
    };
    stream::unfold(cursor, |mut c| async move {
        let event = c.next_event().await;
        Some((event, c))
    })
    .boxed()
}

impl Cursor {
    async fn next_event(&mut self) -> RuntimeEvent {
        loop {
            if self.inner.is_none() {
                let reconnecting = self.connected_once;
                self.open().await;
                if reconnecting {
                    return RuntimeEvent::Reconnected;
                }
            }
            let inner = self.inner.as_mut().expect("opened above");
            match inner.next().await {
                Some(Ok(msg)) => {
                    self.backoff = Duration::from_millis(100);
                    if let Some(event) = self.accept(msg) {
                        return RuntimeEvent::Container(event);
                    }
                }
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "Docker event stream failed; reconnecting");
                    self.inner = None;
                }
                None => {
                    tracing::debug!("Docker event stream ended; reconnecting");
                    self.inner = None;
                }
            }
        }
    }

    /// Opens the engine stream; after a failure, waits (growing backoff)
    /// first so a dead engine is not hammered.
    async fn open(&mut self) {
        if self.connected_once {
            tokio::time::sleep(self.backoff).await;
            self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
        }
        let options = EventsOptions {
            since: Some(to_docker_since(self.since)),
            until: None,
            filters: Some(self.filters.clone()),
        };
        self.inner = Some(self.docker.events(Some(options)).boxed());
        self.connected_once = true;
    }

    /// Converts a Docker message, dropping ones already delivered before a
    /// reconnection, and moves the cursor forward.
    fn accept(&mut self, msg: EventMessage) -> Option<ContainerEvent> {
        let time_nanos = msg
            .time_nano
            .unwrap_or_else(|| msg.time.unwrap_or(0) * 1_000_000_000);
        let key = (
            msg.actor
                .as_ref()
                .and_then(|a| a.id.clone())
                .unwrap_or_default(),
            msg.action.clone().unwrap_or_default(),
        );
        if time_nanos < self.since_nanos
            || (time_nanos == self.since_nanos && !self.seen_at_since.insert(key.clone()))
        {
            return None;
        }
        if time_nanos > self.since_nanos {
            self.since_nanos = time_nanos;
            self.since = from_unix_nanos(time_nanos);
            self.seen_at_since = HashSet::from([key]);
        }
        container_event(msg, time_nanos)
    }
}

fn container_event(msg: EventMessage, time_nanos: i64) -> Option<ContainerEvent> {
    if msg.typ != Some(EventMessageTypeEnum::CONTAINER) {
        return None;
    }
    let actor = msg.actor?;
    let attributes = actor.attributes.unwrap_or_default();
    let kind = event_kind(msg.action.as_deref()?, &attributes)?;
    Some(ContainerEvent {
        container_id: actor.id?,
        container_name: attributes.get("name").cloned().unwrap_or_default(),
        kind,
        time: from_unix_nanos(time_nanos),
        attributes,
    })
}

/// Docker's action string to an event kind; `None` for actions not followed.
pub fn event_kind(
    action: &str,
    attributes: &HashMap<String, String>,
) -> Option<ContainerEventKind> {
    if let Some(status) = action.strip_prefix("health_status:") {
        return HealthStatus::parse(status.trim()).map(ContainerEventKind::Health);
    }
    Some(match action {
        "create" => ContainerEventKind::Create,
        "start" => ContainerEventKind::Start,
        "die" => ContainerEventKind::Die {
            exit_code: attributes.get("exitCode").and_then(|c| c.parse().ok()),
        },
        "kill" => ContainerEventKind::Kill {
            signal: attributes.get("signal").cloned(),
        },
        "stop" => ContainerEventKind::Stop,
        "oom" => ContainerEventKind::Oom,
        "destroy" => ContainerEventKind::Destroy,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn die_carries_the_exit_code() {
        let attrs = HashMap::from([("exitCode".to_string(), "3".to_string())]);
        assert_eq!(
            event_kind("die", &attrs),
            Some(ContainerEventKind::Die { exit_code: Some(3) })
        );
    }

    #[test]
    fn health_status_action_carries_the_status() {
        let none = HashMap::new();
        assert_eq!(
            event_kind("health_status: unhealthy", &none),
            Some(ContainerEventKind::Health(HealthStatus::Unhealthy))
        );
        assert_eq!(
            event_kind("health_status: healthy", &none),
            Some(ContainerEventKind::Health(HealthStatus::Healthy))
        );
    }

    #[test]
    fn exec_events_are_not_followed() {
        assert_eq!(event_kind("exec_start: sh -c true", &HashMap::new()), None);
    }

    /// A fake engine on a unix socket: answers the version handshake, then
    /// serves each `/events` connection one of `sessions` and closes it.
    /// Returns the socket path and the request lines it received.
    fn fake_engine(
        sessions: Vec<String>,
    ) -> (
        std::path::PathBuf,
        std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    ) {
        use std::io::{BufRead, BufReader, Write};
        let dir =
            std::env::temp_dir().join(format!("ecsbox-events-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("docker.sock");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            let mut sessions = sessions.into_iter();
            for conn in listener.incoming() {
                let mut conn = conn.unwrap();
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut request_line = String::new();
                reader.read_line(&mut request_line).unwrap();
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap() == 0 || header == "\r\n" {
                        break;
                    }
                }
                seen.lock().unwrap().push(request_line.clone());
                let body = if request_line.contains("/version") {
                    r#"{"ApiVersion":"1.41","Version":"20.10.24"}"#.to_string()
                } else {
                    match sessions.next() {
                        Some(body) => body,
                        // Out of scripted sessions: hold the stream open.
                        None => {
                            std::thread::sleep(Duration::from_secs(60));
                            String::new()
                        }
                    }
                };
                let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n";
                let _ = conn.write_all(head.as_bytes());
                let _ = conn.write_all(body.as_bytes());
            }
        });
        (path, requests)
    }

    fn docker_event(action: &str, id: &str, secs: i64, attrs: &str) -> String {
        format!(
            r#"{{"Type":"container","Action":"{action}","Actor":{{"ID":"{id}","Attributes":{{{attrs}}}}},"scope":"local","time":{secs},"timeNano":{}}}"#,
            secs * 1_000_000_000
        ) + "\n"
    }

    async fn next_event(events: &mut BoxStream<'static, RuntimeEvent>) -> RuntimeEvent {
        let next = tokio::time::timeout(Duration::from_secs(10), events.next()).await;
        next.expect("event in time").expect("endless stream")
    }

    #[tokio::test]
    async fn stream_reconnects_from_the_last_event_without_repeating_it() {
        let die = docker_event("die", "c1", 100, r#""exitCode":"3","name":"web""#);
        let start = docker_event("start", "c2", 101, r#""name":"db""#);
        // The second session replays `die` (Docker's `since` is inclusive).
        let (path, requests) = fake_engine(vec![die.clone(), format!("{die}{start}")]);
        let host = format!("unix://{}", path.display());
        let runtime = crate::runtime::docker::DockerRuntime::connect_to(&host)
            .await
            .unwrap();
        let mut events = crate::runtime::ContainerRuntime::events(
            &runtime,
            &[LabelFilter::equals("ecsbox.owner", "me")],
        );
        let RuntimeEvent::Container(first) = next_event(&mut events).await else {
            panic!("expected die")
        };
        assert_eq!(
            (first.container_id.as_str(), first.container_name.as_str()),
            ("c1", "web")
        );
        assert_eq!(first.kind, ContainerEventKind::Die { exit_code: Some(3) });
        assert_eq!(next_event(&mut events).await, RuntimeEvent::Reconnected);
        let RuntimeEvent::Container(second) = next_event(&mut events).await else {
            panic!("expected start")
        };
        assert_eq!(
            (second.container_id.as_str(), second.kind),
            ("c2", ContainerEventKind::Start)
        );

        let requests = requests.lock().unwrap().clone();
        let events_requests: Vec<&String> =
            requests.iter().filter(|r| r.contains("/events")).collect();
        assert!(events_requests.len() >= 2, "{requests:?}");
        assert!(
            events_requests[1].contains("since=100.000000000"),
            "{}",
            events_requests[1]
        );
        assert!(
            events_requests[0].contains("ecsbox.owner%3Dme"),
            "{}",
            events_requests[0]
        );
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
}
