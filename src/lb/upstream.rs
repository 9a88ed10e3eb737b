//! The HTTP proxy's connections to targets: one pool of idle keep-alive
//! connections per target, and sending a request on one of them.
//!
//! Why not hyper-util's pooled client: it keeps every target's idle
//! connections behind one mutex shared by all listeners, parses an
//! absolute URI per request, and spawns a task per request to put the
//! connection back once it is ready again. Here each target (`TargetRt`)
//! owns its idle connections, so a request takes the target's own lock
//! twice for a few instructions (take, give back) and nothing else; the
//! request keeps its origin-form URI; the only task spawned is one per new
//! connection (hyper's connection driver).
//!
//! The pool is kept per data plane thread (`data_plane`): a connection's
//! driver task runs on the thread that opened it, and a request sent on it
//! from another thread would wake that thread for every response.
//!
//! A connection goes back to the pool when its response's body has gone
//! out to the client (the `Lease` is dropped with the body), never
//! earlier: handed out while a long body still streams, it would hold the
//! next request behind it.
//!
//! A pooled connection the target has closed in the meantime is found out
//! when taken (`is_closed`) or when the request could not be written (hyper
//! hands the request back); the request is then sent on a new connection,
//! which is what hyper-util's client did too.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use tokio::net::TcpStream;

use super::balance::TargetRt;
use super::data_plane;

/// How long connecting to a target may take before the answer is a 504
/// (ALB's connection timeout to targets is 10 s).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long an idle connection stays pooled (below the 60 s keep-alive of
/// common servers, so the target rarely closes one under our feet).
const IDLE_TIMEOUT: Duration = Duration::from_secs(55);

/// At most this many idle connections per target: enough for every
/// connection a busy client set keeps open, bounded for a long-lived plane.
const MAX_IDLE: usize = 256;

type Sender = SendRequest<Incoming>;

/// One thread's idle connections to a target, with when each went idle.
type IdleList = Mutex<Vec<(Sender, Instant)>>;

/// Idle keep-alive connections to one target.
pub struct IdlePool {
    /// One list per data plane thread, and one (the first) for any other
    /// thread. Most recently used last (LIFO: a warm connection is reused
    /// first and the cold ones age out).
    per_thread: Box<[IdleList]>,
}

impl Default for IdlePool {
    fn default() -> Self {
        IdlePool {
            per_thread: (0..=data_plane::thread_count())
                .map(|_| Mutex::default())
                .collect(),
        }
    }
}

impl std::fmt::Debug for IdlePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let idle: usize = self.per_thread.iter().map(|c| c.lock().len()).sum();
        f.debug_struct("IdlePool").field("idle", &idle).finish()
    }
}

impl IdlePool {
    /// This thread's list.
    fn here(&self) -> &IdleList {
        let slot = data_plane::current_index().map_or(0, |i| i + 1);
        &self.per_thread[slot.min(self.per_thread.len() - 1)]
    }

    fn take(&self) -> Option<Sender> {
        let mut conns = self.here().lock();
        while let Some((s, since)) = conns.pop() {
            if !s.is_closed() && since.elapsed() < IDLE_TIMEOUT {
                return Some(s);
            }
            // Dropped: hyper's connection task ends and closes the socket.
        }
        None
    }

    fn give_back(&self, s: Sender) {
        if s.is_closed() {
            return;
        }
        let mut conns = self.here().lock();
        if conns.len() < MAX_IDLE {
            conns.push((s, Instant::now()));
        }
    }
}

/// Why a request did not get a response from the target.
#[derive(Debug)]
pub enum Failure {
    /// Connecting did not finish within the connect timeout (ALB: 504).
    ConnectTimeout,
    /// Refused, reset, closed, or not HTTP (ALB: 502).
    Failed,
}

/// A connection in use by one request; back to its target's pool when
/// dropped (with the response body, once it has gone out).
pub struct Lease {
    target: Arc<TargetRt>,
    sender: Option<Sender>,
}

impl Lease {
    /// The connection serves an upgraded stream now: it never goes back.
    pub fn upgraded(mut self) {
        self.sender = None;
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(s) = self.sender.take() {
            self.target.pool.give_back(s);
        }
    }
}

/// Sends `req` (origin-form URI, Host set) to the target on one of its
/// pooled connections, or a new one.
pub async fn send(
    target: &Arc<TargetRt>,
    tls: bool,
    mut req: Request<Incoming>,
) -> Result<(Response<Incoming>, Lease), Failure> {
    let pool = &target.pool;
    let mut pooled = pool.take();
    loop {
        let (mut sender, reused) = match pooled.take() {
            Some(s) => (s, true),
            None => (connect(target.address, tls).await?, false),
        };
        if sender.ready().await.is_err() {
            if reused {
                pooled = pool.take();
                continue;
            }
            return Err(Failure::Failed);
        }
        match sender.try_send_request(req).await {
            Ok(resp) => {
                let lease = Lease {
                    target: target.clone(),
                    sender: Some(sender),
                };
                return Ok((resp, lease));
            }
            Err(mut e) => match e.take_message() {
                // Not written: the pooled connection had closed; retry.
                Some(back) if reused => {
                    req = back;
                    pooled = pool.take();
                }
                _ => return Err(Failure::Failed),
            },
        }
    }
}

async fn connect(address: SocketAddr, tls: bool) -> Result<Sender, Failure> {
    let tcp = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address)).await {
        Err(_) => return Err(Failure::ConnectTimeout),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::TimedOut => {
            return Err(Failure::ConnectTimeout)
        }
        Ok(Err(_)) => return Err(Failure::Failed),
        Ok(Ok(tcp)) => tcp,
    };
    let _ = tcp.set_nodelay(true);
    if tls {
        let tls = super::tls::connect(tcp, address)
            .await
            .map_err(|_| Failure::Failed)?;
        handshake(tls).await
    } else {
        handshake(tcp).await
    }
}

async fn handshake<I>(io: I) -> Result<Sender, Failure>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|_| Failure::Failed)?;
    // The connection's driver: ends when the sender is dropped (pool
    // eviction, target gone) or the target closes; upgrades keep it for
    // the joined stream.
    tokio::spawn(async move {
        let _ = conn.with_upgrades().await;
    });
    Ok(sender)
}
