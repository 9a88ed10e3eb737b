//! ecsbox's container registry: the OCI Distribution API (Docker Registry
//! HTTP API v2) on its own port, serving the images of the ECR repositories
//! (`services::ecr`), so `docker login`, `docker push` and `docker pull` of
//! `localhost:4510/NAME:TAG` work with the stock Docker engine, and the
//! engine pulls tasks' ECR images from here.
//!
//! Requests are authenticated as ECR's registry authenticates them: HTTP
//! Basic with user `AWS` and a GetAuthorizationToken password, which names
//! the account and region whose repositories the caller sees.

use crate::services::ecr::Ecr;
use std::sync::Arc;

pub struct Registry {
    ecr: Arc<Ecr>,
    listener: parking_lot::Mutex<Option<std::net::TcpListener>>,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Registry {
    /// A registry on a listener already bound (non-blocking), serving `ecr`'s
    /// repositories once `serve` is called.
    pub fn new(listener: std::net::TcpListener, ecr: Arc<Ecr>) -> Registry {
        Registry {
            ecr,
            listener: parking_lot::Mutex::new(Some(listener)),
            stop: tokio::sync::watch::channel(false).0,
        }
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
        _req: http::Request<hyper::body::Incoming>,
        _peer: std::net::SocketAddr,
    ) -> http::Response<http_body_util::Full<bytes::Bytes>> {
        http::Response::builder()
            .status(404)
            .header("content-type", "application/json")
            .body(http_body_util::Full::new(bytes::Bytes::from_static(
                br#"{"errors":[{"code":"UNSUPPORTED","message":"not built yet"}]}"#,
            )))
            .unwrap()
    }
}
