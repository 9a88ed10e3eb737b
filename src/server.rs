//! The HTTP front: accept loop, routing by protocol, the emulator's own
//! endpoints, and the one place an `ApiError` becomes a response.
//!
//! Routing: `POST /` with `X-Amz-Target: <prefix>.<Operation>` is AWS JSON
//! 1.1 and goes to the service that owns the prefix; `/_ecsbox/*` (and the
//! moto/LocalStack aliases) are ecsbox's own.

use crate::api::{self, Ecs};
use crate::auth::{Authenticator, SignedRequest};
use crate::config::Config;
use crate::controllers::services::ServiceScheduler;
use crate::controllers::tasks::{TaskController, TaskSettings};
use crate::runtime::ContainerRuntime;
use crate::logs::{self, LogStore, Logs};
use crate::secrets::{self, SecretsStore, Service as SecretsService};
use crate::model::logs::operations as logs_model;
use crate::model::operations::{Operation, SIGNING_NAME, TARGET_PREFIX};
use crate::protocol::{ApiError, RequestContext};
use crate::state::{RegionSettings, Store};
use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};
use tokio::net::TcpListener;

/// Largest request body read; AWS's own limit for ECS requests is far lower.
const MAX_BODY: usize = 8 * 1024 * 1024;
const JSON_11: &str = "application/x-amz-json-1.1";

pub struct App {
    pub config: Config,
    pub auth: Authenticator,
    pub store: Arc<Store>,
    pub ecs: Ecs,
    /// CloudWatch Logs, with a store of its own (`logs::store` says why).
    pub logs: Logs,
    /// Secrets Manager secrets and SSM parameters (`secrets` says why a
    /// store of their own); tasks read them for their containers' `secrets`.
    pub secrets: Arc<SecretsStore>,
    pub tasks: Arc<TaskController>,
    /// The task metadata and credentials endpoints (and the API again, for
    /// SDKs inside tasks).
    pub metadata: crate::metadata::Endpoints,
}

impl App {
    /// The app on the local Docker engine, connected on first use so that
    /// serving does not wait for it. Without a reachable engine the control
    /// plane still works; tasks fail with the reason.
    pub fn start(config: Config) -> Result<Arc<App>, String> {
        Self::with_runtime(config, Arc::new(crate::runtime::lazy::LazyDocker::new()))
    }

    pub fn with_runtime(config: Config, runtime: Arc<dyn ContainerRuntime>) -> Result<Arc<App>, String> {
        let auth = Authenticator::new(&config)?;
        let store = Arc::new(Store::with_settings(RegionSettings { container_instances: config.container_instances }));
        let (effects_tx, effects_rx) = tokio::sync::mpsc::unbounded_channel();
        let settings = TaskSettings {
            cleanup_delay: std::time::Duration::from_secs(config.task_cleanup_delay),
            warm_namespaces: config.warm_task_namespaces,
            ..TaskSettings::default()
        };
        let secrets = Arc::new(SecretsStore::new());
        let log_store = Arc::new(LogStore::new());
        let metadata = crate::metadata::Endpoints::new(&config, store.clone(), runtime.clone());
        let tasks =
            TaskController::new(store.clone(), runtime, config.instance_id.clone(), settings, secrets.clone(), log_store.clone(), metadata.clone());
        tasks.spawn(effects_rx);
        let scheduler = ServiceScheduler::new(store.clone(), tasks.changes(), effects_tx.clone());
        scheduler.spawn();
        let logs = Logs::new(log_store);
        Ok(Arc::new(App { auth, ecs: Ecs::new(store.clone(), effects_tx), logs, secrets, store, tasks, metadata, config }))
    }

    /// Forgets all state and removes every container and network this
    /// instance owns.
    pub async fn reset(&self) {
        self.store.reset();
        self.logs.store().reset();
        self.secrets.reset();
        self.tasks.forget_tasks();
        self.metadata.forget_all();
        self.tasks.remove_everything().await;
    }
}

/// Serves until `shutdown` resolves, then waits for open requests to finish.
pub async fn serve(listener: TcpListener, app: Arc<App>, shutdown: impl Future<Output = ()>) {
    let addr = listener.local_addr().expect("a bound listener has an address");
    // The one startup line; tests and scripts read the address from it. It
    // waits for the engine handshake, which the accept loop below does not.
    // The task endpoints' listener also answers API calls from inside tasks.
    let api_app = app.clone();
    app.metadata.serve(Some(Arc::new(move |req, peer| {
        let app = api_app.clone();
        Box::pin(async move { handle(&app, req, peer).await })
    })));
    let announce = app.clone();
    tokio::spawn(async move {
        let engine = &announce.tasks.ready().await.engine;
        println!(
            "ecsbox {} listening on http://{addr} (sigv4: {:?}, default account {}, engine: {engine}, instance id {}, state: in memory)",
            env!("CARGO_PKG_VERSION"),
            announce.config.sigv4,
            announce.config.default_account,
            announce.config.instance_id,
        );
    });
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: wait, don't spin.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |req| {
            let app = app.clone();
            async move { Ok::<_, std::convert::Infallible>(handle(&app, req, peer).await) }
        });
        let conn = builder.serve_connection(TokioIo::new(stream), service).into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!("connection from {peer}: {e}");
            }
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => tracing::warn!("gave up waiting for open connections"),
    }
    app.metadata.shutdown();
    if app.config.keep_containers {
        tracing::info!("leaving task containers in place (--keep-containers)");
        app.tasks.remove_warm_namespaces().await;
    } else {
        app.tasks.remove_everything().await;
    }
}

/// Binds 127.0.0.1:0 and serves in the background on `runtime`: for tests.
/// Returns the address and a sender that stops the server.
pub async fn spawn_for_tests(
    config: Config,
    runtime: Arc<dyn ContainerRuntime>,
) -> (SocketAddr, Arc<App>, tokio::sync::oneshot::Sender<()>) {
    let listener = TcpListener::bind(config.listen).await.expect("binding a test port");
    let addr = listener.local_addr().unwrap();
    let app = App::with_runtime(config, runtime).expect("valid test configuration");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(listener, app.clone(), async move {
        let _ = rx.await;
    }));
    (addr, app, tx)
}

fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

async fn handle(app: &App, req: Request<Incoming>, _peer: SocketAddr) -> Response<Full<Bytes>> {
    let request_id = new_request_id();
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            let err = ApiError::serialization(format!("The request body could not be read or exceeds {MAX_BODY} bytes."));
            return error_response(&err, &request_id);
        }
    };
    let path = parts.uri.path();
    match (&parts.method, path) {
        (&Method::GET, "/_ecsbox/health") | (&Method::GET, "/_localstack/health") | (&Method::HEAD, "/_ecsbox/health") => {
            let body = serde_json::json!({
                "status": "running",
                "version": env!("CARGO_PKG_VERSION"),
                "services": { "ecs": "running", "logs": "running", "secretsmanager": "running", "ssm": "running" },
            });
            json_response(StatusCode::OK, body.to_string().into(), &request_id, "application/json")
        }
        (&Method::POST, "/_ecsbox/reset") | (&Method::POST, "/moto-api/reset") => {
            app.reset().await;
            tracing::info!("state reset");
            json_response(StatusCode::OK, r#"{"reset":true}"#.into(), &request_id, "application/json")
        }
        (&Method::GET, "/_ecsbox/state") => {
            let regions: Vec<_> = app.store.keys().into_iter().map(|(a, r)| serde_json::json!({"account": a, "region": r})).collect();
            json_response(StatusCode::OK, serde_json::json!({ "stores": regions }).to_string().into(), &request_id, "application/json")
        }
        _ => {
            let started = Instant::now();
            let target = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or("");
            let op_name = target.rsplit_once('.').map(|(_, op)| op).unwrap_or("");
            let mut caller = None;
            let result = aws_json_call(app, &parts, &body, target, &request_id, &mut caller);
            let response = match result {
                Ok(bytes) => json_response(StatusCode::OK, bytes.into(), &request_id, JSON_11),
                Err(e) => error_response(&e, &request_id),
            };
            // A call refused before authentication has no account or region: "-".
            let (account, region) = match &caller {
                Some((account, region)) => (account.as_str(), region.as_str()),
                None => ("-", "-"),
            };
            tracing::debug!(
                operation = op_name,
                account,
                region,
                status = response.status().as_u16(),
                latency_us = started.elapsed().as_micros() as u64,
                "api call"
            );
            response
        }
    }
}

/// An AWS JSON 1.1 call: find the service by target prefix, authenticate,
/// then let the service's dispatcher decode, validate, run and encode.
/// `caller_out` receives the (account, region) once authenticated, for the log.
fn aws_json_call(
    app: &App,
    parts: &http::request::Parts,
    body: &[u8],
    target: &str,
    request_id: &str,
    caller_out: &mut Option<(String, String)>,
) -> Result<Vec<u8>, ApiError> {
    if parts.method != Method::POST || parts.uri.path() != "/" {
        return Err(ApiError::protocol("UnknownOperationException", 404, format!("No operation at {} {}.", parts.method, parts.uri.path())));
    }
    let Some((prefix, op_name)) = target.rsplit_once('.') else {
        return Err(ApiError::protocol("UnknownOperationException", 400, format!("Unknown or missing X-Amz-Target '{target}'.")));
    };
    let (signing_name, op) = match prefix {
        TARGET_PREFIX => (SIGNING_NAME, Operation::from_name(op_name).map(Target::Ecs)),
        logs_model::TARGET_PREFIX => (logs_model::SIGNING_NAME, logs_model::Operation::from_name(op_name).map(Target::Logs)),
        _ => match SecretsService::for_target_prefix(prefix) {
            Some(service) => (service.signing_name(), Some(Target::Secrets(service))),
            None => return Err(ApiError::protocol("UnknownOperationException", 400, format!("Unknown service in X-Amz-Target '{target}'."))),
        },
    };
    let signed = SignedRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &parts.headers,
        body,
    };
    let caller = app.auth.authenticate(signing_name, &signed, SystemTime::now())?;
    *caller_out = Some((caller.account.clone(), caller.region.clone()));
    let Some(op) = op else {
        return Err(ApiError::protocol("UnknownOperationException", 400, format!("Unknown operation {op_name}.")));
    };
    let ctx = RequestContext { account: caller.account, region: caller.region, request_id: request_id.to_string() };
    match op {
        Target::Ecs(op) => api::dispatch(&app.ecs, &ctx, op, body),
        Target::Logs(op) => logs::dispatch(&app.logs, &ctx, op, body),
        // The secrets services check the operation name themselves.
        Target::Secrets(service) => secrets::dispatch(&app.secrets, service, &ctx, op_name, body),
    }
}

/// An operation of the service that owns the target's prefix.
enum Target {
    Ecs(Operation),
    Logs(logs_model::Operation),
    Secrets(SecretsService),
}

fn json_response(status: StatusCode, body: Bytes, request_id: &str, content_type: &'static str) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", v);
    }
    resp
}

/// The error contract: status from the error, `__type` and `message` in the
/// body, `x-amzn-ErrorType` header, and the request id.
pub fn error_response(err: &ApiError, request_id: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({ "__type": err.code, "message": err.message }).to_string();
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut resp = json_response(status, body.into(), request_id, JSON_11);
    if let Ok(v) = HeaderValue::from_str(err.code) {
        resp.headers_mut().insert("x-amzn-errortype", v);
    }
    resp
}
