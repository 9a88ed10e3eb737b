//! The one HTTP accept loop: the API on 127.0.0.1:4566 and the task
//! metadata and credentials endpoints both serve through it, so accepting,
//! per-connection tasks, HTTP/1 and HTTP/2 and shutdown work the same on
//! every listener ecsbox has.
//!
//! It knows nothing of what it serves: the handler turns a request (and the
//! peer it came from) into a response, whose body may be any `Body` (the
//! API answers in one piece; the registry streams blobs from disk). That keeps it below both `server`
//! and `metadata`, which would otherwise need each other.

use bytes::Bytes;
use http::{Request, Response};
use hyper::body::{Body, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// How long to wait before accepting again after an accept error.
const ACCEPT_RETRY_DELAY: Duration = Duration::from_millis(50);

/// What becomes of the connections still open when the loop stops accepting.
#[derive(Clone, Copy, Debug)]
pub enum OpenConnections {
    /// Each finishes its request in flight and is closed; the loop returns
    /// when all are closed, or after `up_to` at the latest.
    Drain { up_to: Duration },
    /// They are left alone: they end when their peer closes them or the
    /// process exits, and the loop returns at once.
    LeaveOpen,
}

/// How one listener is served.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// Put before every line this loop logs ("task endpoints: "), so the
    /// lines say which listener they are about. Empty for the API.
    pub log_prefix: &'static str,
    pub on_shutdown: OpenConnections,
}

/// Accepts connections on `listener` and serves each in a task of its own
/// with `handler`, until `shutdown` resolves; then stops accepting (the
/// listener is closed, so new connections are refused) and deals with the
/// open ones as `settings.on_shutdown` says.
pub async fn accept_loop<H, F, B>(
    listener: TcpListener,
    handler: H,
    shutdown: impl Future<Output = ()>,
    settings: Settings,
) where
    H: Fn(Request<Incoming>, SocketAddr) -> F + Send + Sync + 'static,
    F: Future<Output = Response<B>> + Send + 'static,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let Settings {
        log_prefix,
        on_shutdown,
    } = settings;
    let handler = Arc::new(handler);
    let builder = Builder::new(TokioExecutor::new());
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: wait, don't spin.
                    tracing::warn!("{log_prefix}accept failed: {e}");
                    tokio::time::sleep(ACCEPT_RETRY_DELAY).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        // Requests and answers are small: send them now rather than wait to
        // fill a packet (Nagle's algorithm would add tens of milliseconds).
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        let service = hyper::service::service_fn(move |req| {
            let answer = handler(req, peer);
            async move { Ok::<_, Infallible>(answer.await) }
        });
        let conn = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        // A watched connection is closed gracefully when `graceful` shuts
        // down, or is dropped: only watch those that are to be drained.
        match on_shutdown {
            OpenConnections::Drain { .. } => {
                spawn_connection(graceful.watch(conn), peer, log_prefix)
            }
            OpenConnections::LeaveOpen => spawn_connection(conn, peer, log_prefix),
        }
    }
    drop(listener);
    if let OpenConnections::Drain { up_to } = on_shutdown {
        tokio::select! {
            _ = graceful.shutdown() => {}
            _ = tokio::time::sleep(up_to) => {
                tracing::warn!("{log_prefix}gave up waiting for open connections")
            }
        }
    }
}

/// Serves one connection to its end in a task of its own.
fn spawn_connection<E: std::fmt::Display>(
    conn: impl Future<Output = Result<(), E>> + Send + 'static,
    peer: SocketAddr,
    log_prefix: &'static str,
) {
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!("{log_prefix}connection from {peer}: {e}");
        }
    });
}
