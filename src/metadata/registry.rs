//! Who may ask what: the unguessable tokens that name one container of one
//! task in the metadata URIs, and the credentials id of each task with a
//! role. Plain data behind one lock; the HTTP side only reads it.
//!
//! A token is the whole secret, as the ECS agent's v3 endpoint id is: a
//! container knows its own from its environment and nothing else, so a task
//! sees only its own data. Tokens and credentials ids are random UUIDs
//! (122 random bits), never derived from the task's ARN or id.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::fmt;

/// Names one container of one task in the metadata URIs (`/v4/<token>`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContainerToken(String);

impl ContainerToken {
    fn new() -> Self {
        ContainerToken(uuid::Uuid::new_v4().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ContainerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The container a token stands for; its data is looked up in the store
/// (and the engine) at request time, so answers are always current.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredContainer {
    pub account: String,
    pub region: String,
    pub task_arn: String,
    pub container_name: String,
}

/// The credentials a task's role gets, made once per task: every container
/// of the task shares them, as in ECS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskCredentials {
    pub id: String,
    pub task_arn: String,
    pub role_arn: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
}

#[derive(Default)]
struct Inner {
    containers: HashMap<String, RegisteredContainer>,
    credentials: HashMap<String, TaskCredentials>,
    /// Task ARN -> its tokens and credentials id, to forget them together.
    by_task: HashMap<String, TaskEntries>,
}

#[derive(Default)]
struct TaskEntries {
    tokens: Vec<String>,
    credentials_id: Option<String>,
}

#[derive(Default)]
pub struct Registry {
    inner: Mutex<Inner>,
}

impl Registry {
    pub fn register_container(&self, container: RegisteredContainer) -> ContainerToken {
        let token = ContainerToken::new();
        let mut inner = self.inner.lock();
        let task = inner.by_task.entry(container.task_arn.clone()).or_default();
        task.tokens.push(token.0.clone());
        inner.containers.insert(token.0.clone(), container);
        token
    }

    /// Registers a container under the token it was given before a
    /// restart (its environment holds it): a task adopted again.
    pub fn register_container_as(&self, token: &str, container: RegisteredContainer) {
        let mut inner = self.inner.lock();
        let task = inner.by_task.entry(container.task_arn.clone()).or_default();
        if !task.tokens.iter().any(|t| t == token) {
            task.tokens.push(token.to_string());
        }
        inner.containers.insert(token.to_string(), container);
    }

    /// The id of the task's credentials, if they were made.
    pub fn credentials_id(&self, task_arn: &str) -> Option<String> {
        self.inner
            .lock()
            .by_task
            .get(task_arn)
            .and_then(|t| t.credentials_id.clone())
    }

    pub fn container(&self, token: &str) -> Option<RegisteredContainer> {
        self.inner.lock().containers.get(token).cloned()
    }

    /// The task's credentials, made by `issue` the first time it is asked for.
    pub fn task_credentials(
        &self,
        task_arn: &str,
        issue: impl FnOnce(String) -> TaskCredentials,
    ) -> TaskCredentials {
        let mut inner = self.inner.lock();
        let existing = inner
            .by_task
            .get(task_arn)
            .and_then(|t| t.credentials_id.clone());
        if let Some(found) = existing
            .as_ref()
            .and_then(|id| inner.credentials.get(id).cloned())
        {
            return found;
        }
        // An id set without credentials (`adopt_credentials_id`) is kept: the
        // containers' environment names it.
        let made = issue(existing.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()));
        inner
            .by_task
            .entry(task_arn.to_string())
            .or_default()
            .credentials_id = Some(made.id.clone());
        inner.credentials.insert(made.id.clone(), made.clone());
        made
    }

    /// The id the task's credentials had before a restart: they are made
    /// again under it when first asked for.
    pub fn adopt_credentials_id(&self, task_arn: &str, id: &str) {
        self.inner
            .lock()
            .by_task
            .entry(task_arn.to_string())
            .or_default()
            .credentials_id = Some(id.to_string());
    }

    pub fn credentials(&self, id: &str) -> Option<TaskCredentials> {
        self.inner.lock().credentials.get(id).cloned()
    }

    /// Forgets every token and the credentials of a task.
    pub fn forget_task(&self, task_arn: &str) {
        let mut inner = self.inner.lock();
        let Some(entries) = inner.by_task.remove(task_arn) else {
            return;
        };
        for token in entries.tokens {
            inner.containers.remove(&token);
        }
        if let Some(id) = entries.credentials_id {
            inner.credentials.remove(&id);
        }
    }

    pub fn forget_all(&self) {
        *self.inner.lock() = Inner::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(task: &str, name: &str) -> RegisteredContainer {
        RegisteredContainer {
            account: "123456789012".into(),
            region: "us-east-1".into(),
            task_arn: task.into(),
            container_name: name.into(),
        }
    }

    fn creds(task: &str) -> impl FnOnce(String) -> TaskCredentials + '_ {
        move |id| TaskCredentials {
            id,
            task_arn: task.into(),
            role_arn: "arn:aws:iam::123456789012:role/app".into(),
            access_key_id: "123456789012".into(),
            secret_access_key: "s".into(),
            session_token: "t".into(),
        }
    }

    #[test]
    fn tokens_are_unique_and_unguessable() {
        let r = Registry::default();
        let a = r.register_container(container("arn:t/1", "web"));
        let b = r.register_container(container("arn:t/1", "web"));
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 36, "a UUID");
        assert!(!a.as_str().contains("arn"));
        assert_eq!(r.container(a.as_str()).unwrap().container_name, "web");
        assert!(r
            .container("00000000-0000-4000-8000-000000000000")
            .is_none());
    }

    #[test]
    fn an_adopted_task_keeps_its_tokens_and_credentials_id() {
        let r = Registry::default();
        r.register_container_as("tok-1", container("arn:t/1", "web"));
        assert_eq!(r.container("tok-1").unwrap().container_name, "web");
        r.adopt_credentials_id("arn:t/1", "cred-1");
        // Not made yet: the endpoint answers once the task asks.
        assert!(r.credentials("cred-1").is_none());
        let made = r.task_credentials("arn:t/1", creds("arn:t/1"));
        assert_eq!(made.id, "cred-1");
        assert_eq!(r.credentials("cred-1").unwrap().task_arn, "arn:t/1");
        r.forget_task("arn:t/1");
        assert!(r.container("tok-1").is_none());
    }

    #[test]
    fn a_task_gets_one_set_of_credentials() {
        let r = Registry::default();
        let first = r.task_credentials("arn:t/1", creds("arn:t/1"));
        let again = r.task_credentials("arn:t/1", |_| panic!("issued twice"));
        assert_eq!(first, again);
        let other = r.task_credentials("arn:t/2", creds("arn:t/2"));
        assert_ne!(first.id, other.id);
        assert_eq!(r.credentials(&first.id).unwrap().task_arn, "arn:t/1");
    }

    #[test]
    fn forgetting_a_task_forgets_only_its_tokens_and_credentials() {
        let r = Registry::default();
        let mine = r.register_container(container("arn:t/1", "web"));
        let theirs = r.register_container(container("arn:t/2", "web"));
        let my_creds = r.task_credentials("arn:t/1", creds("arn:t/1"));
        let their_creds = r.task_credentials("arn:t/2", creds("arn:t/2"));
        r.forget_task("arn:t/1");
        assert!(r.container(mine.as_str()).is_none());
        assert!(r.credentials(&my_creds.id).is_none());
        assert!(r.container(theirs.as_str()).is_some());
        assert!(r.credentials(&their_creds.id).is_some());
        r.forget_all();
        assert!(r.container(theirs.as_str()).is_none());
    }
}
