//! What a task container can ask ecsbox from inside, as it asks the ECS
//! agent: the task metadata endpoint (versions 3 and 4), the task-role
//! credentials endpoint, and, so that the AWS SDKs in a task talk to ecsbox,
//! the ECS API itself on the same listener (`AWS_ENDPOINT_URL`).
//!
//! - How containers reach it: `listener` (169.254.170.2:80, as in ECS).
//! - Who may see what: `registry` (one random token per container, one
//!   credentials id per task; a task knows only its own).
//! - What it answers: `routes`, `responses`, `credentials`.
//!
//! The task controller calls `register_container` before it creates each
//! container, puts `container_env` into the container's environment, and
//! calls `forget_task` when the task's containers are removed. The answers
//! are read from the store and the engine at request time.

mod credentials;
mod listener;
pub mod redirect;
mod registry;
mod responses;
mod routes;

// Defined with the settings, whose default it is, so config needs nothing of metadata.
pub use crate::config::ECS_ENDPOINT_ADDRESS;
pub use registry::ContainerToken;

use crate::config::{Config, TaskEndpoints};
use crate::http_accept;
use crate::model::shapes::ContainerDefinition;
use crate::runtime::ContainerRuntime;
use crate::state::tasks::TaskRecord;
use crate::state::{arn, Store};
use bytes::Bytes;
use credentials::KeyPolicy;
use futures_util::future::BoxFuture;
use http::{header, HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use registry::{RegisteredContainer, Registry};
use responses::{EngineView, TaskView};
use routes::{Route, Version};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::net::{SocketAddr, SocketAddrV4};
use std::sync::Arc;

/// Answers what is not a metadata or credentials request: the server's own
/// handler, so SDKs in tasks reach the ECS API at `AWS_ENDPOINT_URL`.
pub type ApiHandler = Arc<
    dyn Fn(Request<Incoming>, SocketAddr) -> BoxFuture<'static, Response<Full<Bytes>>>
        + Send
        + Sync,
>;

type HttpResponse = Response<Full<Bytes>>;

/// The task endpoints of one ecsbox instance. Cheap to clone.
#[derive(Clone)]
pub struct Endpoints {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<Store>,
    runtime: Arc<dyn ContainerRuntime>,
    registry: Registry,
    keys: KeyPolicy,
    /// Where task containers reach the endpoints; None when they are off or
    /// could not be set up (then tasks get none of the variables).
    address: Option<SocketAddr>,
    /// Bound in `new`, served from `serve`.
    listener: parking_lot::Mutex<Option<std::net::TcpListener>>,
    /// Whether tasks get `AWS_ENDPOINT_URL` pointing here.
    endpoint_url_in_tasks: bool,
    stop: tokio::sync::watch::Sender<bool>,
    /// The netfilter rules that send 169.254.170.2:80 to the listener, when
    /// ecsbox could install them (see `redirect`).
    redirect: parking_lot::Mutex<Option<redirect::Redirect>>,
}

impl Endpoints {
    /// Binds the listener (`--task-endpoint-listen`), making its address
    /// local first if need be. Serving starts with `serve`.
    pub fn new(
        config: &Config,
        store: Arc<Store>,
        runtime: Arc<dyn ContainerRuntime>,
    ) -> Endpoints {
        let (listener, redirect) = match config.task_endpoints {
            TaskEndpoints::Off => (None, None),
            TaskEndpoints::On => {
                let (wanted, redirect) = match redirected(config) {
                    Some(Redirected::Yes(listener, redirect)) => (Ok(listener), Some(redirect)),
                    // Port 80 there is someone else's: a port of our own.
                    Some(Redirected::Taken(_)) => {
                        let own = SocketAddr::new(config.task_endpoint_listen.ip(), 0);
                        (listener::bind(own), None)
                    }
                    Some(Redirected::Unavailable(_)) | None => {
                        (listener::bind(config.task_endpoint_listen), None)
                    }
                };
                let listener = wanted
                    .map_err(|why| {
                        tracing::warn!(
                            "task containers get no metadata or credentials endpoint: {why}"
                        )
                    })
                    .ok();
                (listener, redirect)
            }
        };
        // Where tasks reach the endpoints: the redirected address, else the listener's.
        let address = match &redirect {
            Some(_) => Some(config.task_endpoint_listen),
            None => listener.as_ref().and_then(|l| l.local_addr().ok()),
        };
        if let Some(address) = address {
            match &redirect {
                Some(r) => tracing::info!(
                    "task metadata and credentials endpoints on http://{address} (redirected to {} by a netfilter rule, so host port {} stays free for tasks)",
                    r.target(),
                    address.port()
                ),
                None => {
                    tracing::info!("task metadata and credentials endpoints on http://{address}")
                }
            }
        }
        Endpoints {
            inner: Arc::new(Inner {
                store,
                runtime,
                registry: Registry::default(),
                keys: KeyPolicy::from_config(config),
                address,
                listener: parking_lot::Mutex::new(listener),
                endpoint_url_in_tasks: !config.no_task_endpoint_url,
                stop: tokio::sync::watch::channel(false).0,
                redirect: parking_lot::Mutex::new(redirect),
            }),
        }
    }

    /// Where the endpoints listen, if they do.
    pub fn address(&self) -> Option<SocketAddr> {
        self.inner.address
    }

    /// `http://169.254.170.2` (or with the port when it is not 80).
    pub fn base_url(&self) -> Option<String> {
        self.inner.address.map(|a| match a.port() {
            80 if a.is_ipv4() => format!("http://{}", a.ip()),
            80 => format!("http://[{}]", a.ip()),
            _ => format!("http://{a}"),
        })
    }

    /// A token for one container of a task, to put in its metadata URIs.
    pub fn register_container(
        &self,
        account: &str,
        region: &str,
        task_arn: &str,
        container_name: &str,
    ) -> ContainerToken {
        self.inner.registry.register_container(RegisteredContainer {
            account: account.to_string(),
            region: region.to_string(),
            task_arn: task_arn.to_string(),
            container_name: container_name.to_string(),
        })
    }

    /// The variables ECS puts in a container, for the container `token` was
    /// registered for: the metadata URIs, the credentials URI when the task
    /// has a role, and for the SDKs inside (no instance metadata here) the
    /// region, `AWS_EXECUTION_ENV` and `AWS_ENDPOINT_URL`. A value the
    /// container definition sets itself wins for the last three kinds.
    pub fn container_env(
        &self,
        token: &ContainerToken,
        record: &TaskRecord,
        definition: &ContainerDefinition,
    ) -> Vec<(String, String)> {
        let (Some(base), Some(container)) = (
            self.base_url(),
            self.inner.registry.container(token.as_str()),
        ) else {
            return vec![];
        };
        let mut env = vec![
            (
                "ECS_CONTAINER_METADATA_URI_V4".to_string(),
                format!("{base}/v4/{token}"),
            ),
            (
                "ECS_CONTAINER_METADATA_URI".to_string(),
                format!("{base}/v3/{token}"),
            ),
        ];
        if let Some(role) = task_role_arn(record) {
            let creds = self
                .inner
                .registry
                .task_credentials(&container.task_arn, |id| {
                    self.inner
                        .keys
                        .issue(id, &container.account, &container.task_arn, &role)
                });
            let path = format!("/v2/credentials/{}", creds.id);
            if self.inner.address == ECS_ENDPOINT_ADDRESS.parse().ok() {
                env.push(("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI".into(), path));
            } else {
                env.push((
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI".into(),
                    format!("{base}{path}"),
                ));
            }
        }
        let execution_env = if record.is_fargate() {
            "AWS_ECS_FARGATE"
        } else {
            "AWS_ECS_EC2"
        };
        let mut defaults = vec![
            ("AWS_REGION", container.region.clone()),
            ("AWS_DEFAULT_REGION", container.region.clone()),
            ("AWS_EXECUTION_ENV", execution_env.to_string()),
        ];
        if self.inner.endpoint_url_in_tasks {
            defaults.push(("AWS_ENDPOINT_URL", base));
        }
        let own: Vec<&str> = definition
            .environment
            .iter()
            .flatten()
            .filter_map(|kv| kv.name.as_deref())
            .collect();
        env.extend(
            defaults
                .into_iter()
                .filter(|(name, _)| !own.contains(name))
                .map(|(k, v)| (k.to_string(), v)),
        );
        env
    }

    /// The id of the task's role credentials, once its containers have it.
    pub fn credentials_id(&self, task_arn: &str) -> Option<String> {
        self.inner.registry.credentials_id(task_arn)
    }

    /// A task adopted after a restart (`--state-dir`): its containers'
    /// tokens and its credentials id, which their environment holds,
    /// answer again (the credentials themselves are issued anew).
    pub fn adopt_task(&self, account: &str, region: &str, task_arn: &str, record: &TaskRecord) {
        for (name, token) in &record.runtime.metadata_tokens {
            self.inner.registry.register_container_as(
                token,
                RegisteredContainer {
                    account: account.to_string(),
                    region: region.to_string(),
                    task_arn: task_arn.to_string(),
                    container_name: name.clone(),
                },
            );
        }
        if let (Some(id), Some(role)) = (&record.runtime.credentials_id, task_role_arn(record)) {
            self.inner.registry.adopt_credentials_id(task_arn, id);
            self.inner.registry.task_credentials(task_arn, |id| {
                self.inner.keys.issue(id, account, task_arn, &role)
            });
        }
    }

    /// Forgets a task's tokens and credentials: they answer 404/400 from now on.
    pub fn forget_task(&self, task_arn: &str) {
        self.inner.registry.forget_task(task_arn);
    }

    /// Forgets every task (after a reset).
    pub fn forget_all(&self) {
        self.inner.registry.forget_all();
    }

    /// Serves in the background until `shutdown`; requests that are not for
    /// the task endpoints go to `api` (404 without one). Does nothing when
    /// there is no listener or it is already served.
    pub fn serve(&self, api: Option<ApiHandler>) {
        let Some(listener) = self.inner.listener.lock().take() else {
            return;
        };
        let listener = match tokio::net::TcpListener::from_std(listener) {
            Ok(l) => l,
            Err(e) => return tracing::warn!("task endpoints cannot serve: {e}"),
        };
        let me = self.clone();
        let handler = move |req, peer| {
            let (me, api) = (me.clone(), api.clone());
            async move { me.handle(req, peer, api.as_ref()).await }
        };
        let mut stop = self.inner.stop.subscribe();
        // The guard `wait_for` returns must not live across an await.
        let stopped = async move { drop(stop.wait_for(|stopped| *stopped).await) };
        let settings = http_accept::Settings {
            log_prefix: "task endpoints: ",
            // `shutdown` comes before the task containers are stopped: during
            // their stop timeout they may still use the connections they
            // have open (credentials, API calls).
            on_shutdown: http_accept::OpenConnections::LeaveOpen,
        };
        tokio::spawn(http_accept::accept_loop(
            listener, handler, stopped, settings,
        ));
    }

    /// Stops accepting connections.
    pub fn shutdown(&self) {
        self.inner.stop.send_replace(true);
    }

    /// Removes the netfilter redirect of 169.254.170.2:80, if ecsbox
    /// installed one: at the very end of a shutdown, after the tasks'
    /// containers (which may use the endpoints while they stop).
    pub fn remove_redirect(&self) {
        if let Some(mut r) = self.inner.redirect.lock().take() {
            r.remove();
        }
    }

    async fn handle(
        &self,
        req: Request<Incoming>,
        peer: SocketAddr,
        api: Option<&ApiHandler>,
    ) -> HttpResponse {
        match routes::route(req.method(), req.uri().path(), req.uri().query()) {
            Some(route) => self.answer(route).await,
            None => match api {
                Some(api) => api(req, peer).await,
                None => page_not_found(),
            },
        }
    }

    async fn answer(&self, route: Route) -> HttpResponse {
        match route {
            Route::Container { version, token } => self.container_metadata(version, &token).await,
            Route::Task {
                version,
                token,
                with_tags,
            } => self.task_metadata(version, &token, with_tags).await,
            Route::ContainerStats { version, token } => self.container_stats(version, &token).await,
            Route::TaskStats { version, token } => self.task_stats(version, &token).await,
            Route::Credentials { api_version, id } => {
                self.credentials(api_version, id.as_deref().unwrap_or(""))
            }
            Route::NoSuchPath => page_not_found(),
        }
    }

    async fn container_metadata(&self, version: Version, token: &str) -> HttpResponse {
        let Some((container, view)) = self.lookup(token) else {
            let status = if version == Version::V4 { 404 } else { 400 };
            return lookup_failed(
                status,
                version,
                "container metadata",
                "container ID",
                "docker ID",
                token,
            );
        };
        let engine = self
            .engine_view(&view, Some(&container.container_name))
            .await;
        match responses::container(version, &view, &engine, &container.container_name) {
            Some(body) => json(StatusCode::OK, &body),
            None => internal_error(format!(
                "unable to generate metadata for container '{}'",
                container.container_name
            )),
        }
    }

    async fn task_metadata(&self, version: Version, token: &str, with_tags: bool) -> HttpResponse {
        let Some((_, view)) = self.lookup(token) else {
            let status = if version == Version::V4 { 404 } else { 500 };
            return lookup_failed(
                status,
                version,
                "task metadata",
                "task arn",
                "task Arn",
                token,
            );
        };
        let engine = self.engine_view(&view, None).await;
        json(
            StatusCode::OK,
            &responses::task(
                version,
                &view,
                &engine,
                with_tags,
                crate::clock::now_system(),
            ),
        )
    }

    async fn container_stats(&self, version: Version, token: &str) -> HttpResponse {
        let found = self.lookup(token).and_then(|(c, view)| {
            view.record
                .runtime
                .containers
                .get(&c.container_name)
                .cloned()
        });
        let Some(docker_id) = found else {
            let status = if version == Version::V4 { 404 } else { 400 };
            return lookup_failed(
                status,
                version,
                "container stats",
                "task arn",
                "task Arn",
                token,
            );
        };
        match self.inner.runtime.stats(&docker_id).await {
            Ok(stats) => json(StatusCode::OK, &stats.0),
            Err(e) => internal_error(format!(
                "Unable to get container stats for: {docker_id}: {e}"
            )),
        }
    }

    async fn task_stats(&self, version: Version, token: &str) -> HttpResponse {
        let Some((_, view)) = self.lookup(token) else {
            let status = if version == Version::V4 { 404 } else { 400 };
            return lookup_failed(status, version, "task stats", "task arn", "task Arn", token);
        };
        let ids: Vec<String> = view.record.runtime.containers.values().cloned().collect();
        let samples =
            futures_util::future::join_all(ids.iter().map(|id| self.inner.runtime.stats(id))).await;
        // A container the engine cannot sample is there, as null, as the agent leaves it.
        let by_id: BTreeMap<String, Value> = ids
            .into_iter()
            .zip(samples)
            .map(|(id, s)| (id, s.map(|s| s.0).unwrap_or(Value::Null)))
            .collect();
        json(
            StatusCode::OK,
            &serde_json::to_value(by_id).unwrap_or_default(),
        )
    }

    fn credentials(&self, api_version: u8, id: &str) -> HttpResponse {
        let prefix = format!("CredentialsV{api_version}Request: ");
        if id.is_empty() {
            return credentials_error(
                "NoIdInRequest",
                format!("{prefix}No Credential ID in the request"),
            );
        }
        match self.inner.registry.credentials(id) {
            Some(creds) => json(
                StatusCode::OK,
                &credentials::response(&creds, crate::clock::now_system()),
            ),
            None => credentials_error(
                "InvalidIdInRequest",
                format!("{prefix}Credentials not found"),
            ),
        }
    }

    /// The container a token names and its task as the store has it now.
    fn lookup(&self, token: &str) -> Option<(RegisteredContainer, TaskView)> {
        let container = self.inner.registry.container(token)?;
        let region = self
            .inner
            .store
            .region(&container.account, &container.region);
        let state = region.lock();
        let record = state.tasks.get(&container.task_arn)?.clone();
        let task_tags = state.tags_of(&container.task_arn);
        let instance_tags = record
            .task
            .container_instance_arn
            .as_deref()
            .map(|arn| state.tags_of(arn));
        let cluster_arn = arn::cluster(&container.region, &container.account, &record.cluster);
        drop(state);
        Some((
            container,
            TaskView {
                record,
                cluster_arn,
                task_tags,
                instance_tags,
            },
        ))
    }

    /// Inspects the task's containers (or only `only`) and its namespace holder.
    async fn engine_view(&self, view: &TaskView, only: Option<&str>) -> EngineView {
        let wanted: Vec<(&String, &String)> = view
            .record
            .runtime
            .containers
            .iter()
            .filter(|(name, _)| only.is_none_or(|o| o == name.as_str()))
            .collect();
        let runtime = &self.inner.runtime;
        let infos = futures_util::future::join_all(
            wanted.iter().map(|(_, id)| runtime.inspect_container(id)),
        )
        .await;
        let containers: HashMap<String, _> = wanted
            .into_iter()
            .zip(infos)
            .filter_map(|((name, _), info)| Some((name.clone(), info.ok()?)))
            .collect();
        let holder = match &view.record.runtime.namespace_holder {
            Some(id) => runtime.inspect_container(id).await.ok(),
            None => None,
        };
        EngineView { containers, holder }
    }
}

/// The task's role: RunTask's override, else the task definition's.
fn task_role_arn(record: &TaskRecord) -> Option<String> {
    record
        .task
        .overrides
        .as_ref()
        .and_then(|o| o.task_role_arn.clone())
        .or_else(|| record.definition.task_role_arn.clone())
        .filter(|r| !r.is_empty())
}

fn json(status: StatusCode, body: &Value) -> HttpResponse {
    let mut resp = Response::new(Full::new(Bytes::from(body.to_string())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// The agent's lookup failure: a JSON string saying which id was unknown.
fn lookup_failed(
    status: u16,
    version: Version,
    handler: &str,
    what: &str,
    by: &str,
    token: &str,
) -> HttpResponse {
    let message = format!(
        "{} {handler} handler: unable to get {what} from request: unable to get {by} from v3 endpoint ID: {token}",
        version.label()
    );
    json(
        StatusCode::from_u16(status).unwrap_or(StatusCode::NOT_FOUND),
        &Value::String(message),
    )
}

fn internal_error(message: String) -> HttpResponse {
    json(StatusCode::INTERNAL_SERVER_ERROR, &Value::String(message))
}

fn credentials_error(code: &str, message: String) -> HttpResponse {
    json(
        StatusCode::BAD_REQUEST,
        &serde_json::json!({ "code": code, "message": message }),
    )
}

/// What the agent's router says for a path it has no handler for.
fn page_not_found() -> HttpResponse {
    let mut resp = Response::new(Full::new(Bytes::from_static(b"404 page not found\n")));
    *resp.status_mut() = StatusCode::NOT_FOUND;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// How the endpoints came to serve ECS's address.
enum Redirected {
    /// Listening on another port, with 169.254.170.2:80 redirected to it.
    Yes(std::net::TcpListener, redirect::Redirect),
    /// Another rule or listener already serves 169.254.170.2:80 (an ECS
    /// agent, another ecsbox): these endpoints need a port of their own.
    Taken(String),
    /// ecsbox cannot install the rule here (not root, no `iptables`).
    Unavailable(String),
}

/// The ECS agent's way to serve 169.254.170.2:80 (see `redirect`): listen
/// on another port of that address and redirect port 80 to it, so host port
/// 80 stays free for tasks. Only for ECS's own address (the default), and
/// only where ecsbox can set it up (root, `iptables`, no other rule or
/// listener there). The reason is logged when it cannot; None for any
/// other address.
fn redirected(config: &Config) -> Option<Redirected> {
    let SocketAddr::V4(wanted) = config.task_endpoint_listen else {
        return None;
    };
    if config.task_endpoint_listen != ECS_ENDPOINT_ADDRESS.parse().ok()? {
        return None;
    }
    let outcome = redirect_to_listener(&config.instance_id, wanted);
    match &outcome {
        Redirected::Yes(..) => {}
        Redirected::Taken(why) => tracing::warn!(
            "the task endpoints cannot have {wanted} ({why}); they listen on a port of their own \
             and tasks get AWS_CONTAINER_CREDENTIALS_FULL_URI in place of the RELATIVE_URI ECS sets"
        ),
        Redirected::Unavailable(why) => tracing::info!(
            "no netfilter redirect of {wanted} to the task endpoints ({why}): they listen on the address itself, \
             where a task cannot publish host port {} while they do",
            wanted.port()
        ),
    }
    Some(outcome)
}

fn redirect_to_listener(instance_id: &str, wanted: SocketAddrV4) -> Redirected {
    // First, as it puts the address on the loopback interface if need be:
    // only then does probing its port 80 mean anything.
    let listener = match listener::bind_redirect_target(*wanted.ip()) {
        Ok(l) => l,
        Err(why) => return Redirected::Unavailable(why),
    };
    match listener::port_is_free(wanted) {
        Ok(true) => {}
        Ok(false) => return Redirected::Taken(format!("something listens on {wanted}")),
        Err(why) => return Redirected::Unavailable(why),
    }
    let target = match listener.local_addr() {
        Ok(SocketAddr::V4(a)) => a,
        _ => return Redirected::Unavailable("the listener has no IPv4 address".into()),
    };
    match redirect::Redirect::install(instance_id, wanted, target) {
        Ok(redirect) => Redirected::Yes(listener, redirect),
        Err(redirect::Refused::Taken(why)) => Redirected::Taken(why),
        Err(redirect::Refused::Cannot(why)) => Redirected::Unavailable(why),
    }
}
