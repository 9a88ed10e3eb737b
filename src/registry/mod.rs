//! ecsbox's container registry: the OCI Distribution API (Docker Registry
//! HTTP API v2) on its own port, serving the images of the ECR repositories
//! (`services::ecr`), so `docker login`, `docker push` and `docker pull` of
//! `localhost:4510/NAME:TAG` work with the stock Docker engine, and the
//! engine pulls tasks' ECR images from here.
//!
//! Requests are authenticated as ECR's registry authenticates them: HTTP
//! Basic with user `AWS` and a GetAuthorizationToken password, which names
//! the account and region whose repositories the caller sees.
//!
//! - `routes`: which endpoint a path names (names may hold slashes).
//! - `auth`: the Basic challenge and the token check.
//! - `blobs`: layers in and out, uploads (monolithic, chunked, resumed,
//!   mounted from another repository).
//! - `manifests`: images by tag or digest; `listing`: tags and catalog.
//! - `body`: streaming bodies, so no blob is ever held in memory whole.
//! - `errors`: the spec's error JSON, in ECR's words where they are known.
//!
//! As in ECR, a push does not create its repository: CreateRepository (the
//! ECR API) does, and the registry only reads and changes what is there.

mod auth;
mod blobs;
mod body;
mod errors;
mod listing;
mod manifests;
mod routes;

use crate::services::ecr::blobs::BlobStore;
use crate::services::ecr::repository::Repository;
use crate::services::ecr::token::TokenHolder;
use crate::services::ecr::Ecr;
use body::ResponseBody;
use errors::RegistryError;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use routes::Route;
use std::sync::Arc;

pub struct Registry {
    ecr: Arc<Ecr>,
    /// Which repository each upload in progress belongs to, so an upload
    /// is continued only where, and by whom, it was started.
    uploads: blobs::Uploads,
    listener: parking_lot::Mutex<Option<std::net::TcpListener>>,
    stop: tokio::sync::watch::Sender<bool>,
    /// Makes what an answer changed durable before it is sent (the state
    /// directory's commit, `--state-dir`); none without one.
    commit: std::sync::OnceLock<CommitHook>,
}

/// The server's commit (see `Registry::commit`).
pub type CommitHook = Arc<
    dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send>>
        + Send
        + Sync,
>;

/// What every handler works with: the store and who is calling.
pub(crate) struct Ctx<'a> {
    pub ecr: &'a Ecr,
    pub holder: TokenHolder,
    pub uploads: &'a blobs::Uploads,
}

impl Ctx<'_> {
    /// Runs `f` on the caller's repository `name`; ECR's NAME_UNKNOWN when
    /// there is none.
    pub fn repo<T>(
        &self,
        name: &str,
        f: impl FnOnce(&mut Repository, &BlobStore) -> T,
    ) -> Result<T, RegistryError> {
        self.ecr
            .with_repository(&self.holder, name, f)
            .ok_or_else(|| RegistryError::name_unknown(name, &self.holder.account))
    }

    pub fn blobs(&self) -> &Arc<BlobStore> {
        self.ecr.blobs()
    }
}

impl Registry {
    /// A registry on a listener already bound (non-blocking), serving `ecr`'s
    /// repositories once `serve` is called.
    pub fn new(listener: std::net::TcpListener, ecr: Arc<Ecr>) -> Registry {
        Registry {
            ecr,
            uploads: blobs::Uploads::default(),
            listener: parking_lot::Mutex::new(Some(listener)),
            stop: tokio::sync::watch::channel(false).0,
            commit: std::sync::OnceLock::new(),
        }
    }

    /// With a state directory: each answer waits for `commit`, so a push
    /// the client saw succeed survives a crash.
    pub fn commit_with(&self, commit: CommitHook) {
        let _ = self.commit.set(commit);
    }

    pub fn ecr(&self) -> &Arc<Ecr> {
        &self.ecr
    }

    /// Starts accepting in the background (once; later calls do nothing).
    pub fn serve(self: &Arc<Self>) {
        let Some(listener) = self.listener.lock().take() else {
            return;
        };
        let listener = match tokio::net::TcpListener::from_std(listener) {
            Ok(l) => l,
            Err(e) => return tracing::warn!("registry cannot serve: {e}"),
        };
        let me = self.clone();
        let handler = move |req, peer| {
            let me = me.clone();
            async move { me.handle(req, peer).await }
        };
        let mut stop = self.stop.subscribe();
        let stopped = async move { drop(stop.wait_for(|stopped| *stopped).await) };
        // Open connections are left to finish on their own: a push in
        // flight at shutdown fails on its own (its upload file is gone),
        // it does not hold the exit up.
        let settings = crate::http_accept::Settings {
            log_prefix: "registry: ",
            on_shutdown: crate::http_accept::OpenConnections::LeaveOpen,
        };
        tokio::spawn(crate::http_accept::accept_loop(
            listener, handler, stopped, settings,
        ));
    }

    /// Stops accepting.
    pub fn shutdown(&self) {
        self.stop.send_replace(true);
    }

    async fn handle(
        &self,
        req: Request<Incoming>,
        _peer: std::net::SocketAddr,
    ) -> Response<ResponseBody> {
        let (method, path) = (req.method().clone(), req.uri().path().to_string());
        let mut answered = self.answer(req).await;
        if let Some(commit) = self.commit.get() {
            if let Err(e) = commit().await {
                answered = Err(RegistryError::internal(format!(
                    "ecsbox could not write its state directory: {e}"
                )));
            }
        }
        let mut response = match answered {
            Ok(response) => response,
            Err(e) => {
                tracing::debug!("registry: {method} {path}: {} {}", e.code, e.message);
                e.into_response()
            }
        };
        // Every answer says which API it is, errors included (clients check).
        response.headers_mut().insert(
            "docker-distribution-api-version",
            HeaderValue::from_static("registry/2.0"),
        );
        response
    }

    async fn answer(
        &self,
        req: Request<Incoming>,
    ) -> Result<Response<ResponseBody>, RegistryError> {
        if !routes::is_api(req.uri().path()) {
            return Err(RegistryError::unsupported(StatusCode::NOT_FOUND));
        }
        let holder = auth::authenticate(
            req.headers(),
            self.ecr.tokens(),
            self.ecr.registry_host(),
            crate::clock::now_secs() as i64,
        )?;
        let route = routes::parse(req.uri().path())?;
        let ctx = Ctx {
            ecr: &self.ecr,
            holder,
            uploads: &self.uploads,
        };
        let method = req.method().clone();
        let head = method == Method::HEAD;
        match (route, method) {
            (Route::Base, Method::GET | Method::HEAD) => Ok(json_ok(b"{}".to_vec(), head)),
            (Route::Catalog, Method::GET) => listing::catalog(&ctx, req.uri()),
            (Route::Tags { name }, Method::GET) => listing::tags(&ctx, &name, req.uri()),
            (Route::Manifest { name, reference }, Method::GET | Method::HEAD) => {
                manifests::get(&ctx, &name, &reference, head)
            }
            (Route::Manifest { name, reference }, Method::PUT) => {
                manifests::put(&ctx, &name, &reference, req).await
            }
            (Route::Manifest { name, reference }, Method::DELETE) => {
                manifests::delete(&ctx, &name, &reference)
            }
            (Route::Blob { name, digest }, Method::GET | Method::HEAD) => {
                blobs::get(&ctx, &name, &digest, req.headers(), head)
            }
            (Route::Uploads { name }, Method::POST) => blobs::start(&ctx, &name, req).await,
            (Route::Upload { name, id }, Method::GET) => blobs::status(&ctx, &name, &id),
            (Route::Upload { name, id }, Method::PATCH) => {
                blobs::patch(&ctx, &name, &id, req).await
            }
            (Route::Upload { name, id }, Method::PUT) => blobs::finish(&ctx, &name, &id, req).await,
            (Route::Upload { name, id }, Method::DELETE) => blobs::cancel(&ctx, &name, &id),
            // ECR deletes layers itself (with the last image that uses
            // them): a blob DELETE is 405 UNSUPPORTED there, as is every
            // other method a path does not take.
            _ => Err(RegistryError::unsupported(StatusCode::METHOD_NOT_ALLOWED)),
        }
    }
}

/// 200 with a JSON body (or only its length, for HEAD).
fn json_ok(bytes: Vec<u8>, head: bool) -> Response<ResponseBody> {
    let len = bytes.len();
    let body = if head {
        body::empty()
    } else {
        body::full(bytes)
    };
    Response::builder()
        .status(StatusCode::OK)
        .header(
            http::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )
        .header(http::header::CONTENT_LENGTH, len)
        .body(body)
        .expect("static headers are valid")
}
