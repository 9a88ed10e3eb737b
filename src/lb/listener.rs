//! A listener's socket and accept loop, and what each connection gets:
//! HTTP or HTTPS (the ALB proxy), TCP or TLS (the NLB proxy).
//!
//! Not `http_accept`'s loop, which serves ecsbox's own endpoints: a
//! listener also terminates TLS, proxies raw TCP, upgrades connections,
//! and must be closed on its own (DeleteListener) without touching any
//! other; each has its own task and a channel whose closing ends its
//! connections.
//!
//! Binding: the listener's own port on `settings.listen_host` where it can
//! (a port taken, or privileged for a non-root user, fails), else the
//! first free port of `settings.fallback_ports`; with
//! `ports_only_from_range` (ecsbox's image, whose published ports are that
//! range), the own port only when it lies in the range. Closing drops the socket
//! at once (the accept task is aborted), so the port is free again when
//! `close_listener` returns.

use std::net::{SocketAddr, TcpListener as StdListener};
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::data_plane::DataPlane;
use super::routing::Routes;
use super::{http_proxy, tcp_proxy, LbSettings, ListenerError, Protocol, Shared};

/// A listener's runtime: its routes snapshot and its forward cursor.
pub struct ListenerRt {
    pub routes: ArcSwap<Routes>,
    /// Walks the weights of forward actions (see `balance::pick_weighted`).
    pub cursor: AtomicUsize,
}

/// What a connection's handler needs.
pub struct ConnCtx {
    pub shared: Arc<Shared>,
    pub listener: Arc<ListenerRt>,
    pub peer: SocketAddr,
}

/// Binds the listener's port, or the first free fallback port.
pub fn bind(settings: &LbSettings, port: u16) -> Result<StdListener, ListenerError> {
    let try_bind = |p: u16| {
        // std sets SO_REUSEADDR on Unix: a port left in TIME_WAIT by a
        // closed listener binds again at once, a port in use does not.
        let l = StdListener::bind(SocketAddr::new(settings.listen_host, p)).ok()?;
        l.set_nonblocking(true).ok()?;
        Some(l)
    };
    let own_port_allowed =
        !settings.ports_only_from_range || settings.fallback_ports.contains(&port);
    own_port_allowed
        .then(|| try_bind(port))
        .flatten()
        .or_else(|| settings.fallback_ports.clone().find_map(try_bind))
        .ok_or(ListenerError::NoFreePort { port })
}

/// Accepts until aborted; each connection runs in its own task on one of
/// the data plane's threads until it ends or `closed`'s sender is dropped.
pub async fn accept_loop(
    listener: StdListener,
    protocol: Protocol,
    shared: Arc<Shared>,
    rt: Arc<ListenerRt>,
    threads: Arc<DataPlane>,
    closed: watch::Receiver<()>,
) {
    let Ok(listener) = TcpListener::from_std(listener) else {
        return;
    };
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!("load balancer listener: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let ctx = Arc::new(ConnCtx {
            shared: shared.clone(),
            listener: rt.clone(),
            peer,
        });
        // Out of this runtime's reactor, into the data plane thread's.
        let Ok(stream) = stream.into_std() else {
            continue;
        };
        let closed = closed.clone();
        threads.spawn(async move {
            if let Ok(stream) = TcpStream::from_std(stream) {
                connection(stream, protocol, ctx, closed).await;
            }
        });
    }
}

async fn connection(
    stream: TcpStream,
    protocol: Protocol,
    ctx: Arc<ConnCtx>,
    closed: watch::Receiver<()>,
) {
    let tls = || tokio_rustls::TlsAcceptor::from(super::tls::certificates().server.clone());
    match protocol {
        Protocol::Http => http_proxy::serve(stream, ctx, closed).await,
        Protocol::Tcp => tcp_proxy::serve(stream, ctx, closed).await,
        Protocol::Https => {
            if let Ok(s) = tls().accept(stream).await {
                http_proxy::serve(s, ctx, closed).await
            }
        }
        Protocol::Tls => {
            if let Ok(s) = tls().accept(stream).await {
                tcp_proxy::serve(s, ctx, closed).await
            }
        }
    }
}
