//! One endpoint's proxy: accepts connections on the endpoint's address
//! and joins each, byte for byte, to a connection to the next healthy
//! instance of the endpoint's Cloud Map service. An instance that refuses
//! (its task just stopped) is skipped for the next one, as Envoy retries a
//! connect failure; with none left the client's connection is closed.

use super::{InFlight, Route};
use crate::cloudmap::{CloudMap, Health};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// How long connecting to a task may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How many instances a connection tries before it gives up.
const ATTEMPTS: usize = 3;
/// Buffer per direction: large enough that a bulk transfer is not
/// chopped into 8 KiB reads (tokio's default).
const BUFFER: usize = 64 * 1024;

/// What the accept loop needs to know of its endpoint.
pub(super) struct Endpoint {
    pub account: String,
    pub region: String,
    pub route: Arc<parking_lot::RwLock<Route>>,
}

pub(super) async fn serve(
    listener: TcpListener,
    endpoint: Endpoint,
    cloud_map: Arc<CloudMap>,
    in_flight: Arc<InFlight>,
    mut stop: tokio::sync::watch::Receiver<()>,
) {
    let endpoint = Arc::new(endpoint);
    let cursor = Arc::new(AtomicUsize::new(0));
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((client, _)) = accepted else { continue };
                let _ = client.set_nodelay(true);
                tokio::spawn(connect(
                    client,
                    endpoint.clone(),
                    cloud_map.clone(),
                    in_flight.clone(),
                    cursor.clone(),
                ));
            }
            _ = stop.changed() => return,
        }
    }
}

/// The instances of `service_id` that are not unhealthy: (instance id,
/// address).
pub(super) fn instance_addresses(
    cloud_map: &CloudMap,
    account: &str,
    region: &str,
    service_id: &str,
) -> Vec<(String, SocketAddr)> {
    cloud_map.with(account, region, |r| {
        r.service(service_id)
            .map(|s| {
                s.instances
                    .values()
                    .filter(|i| i.health != Health::Unhealthy)
                    .filter_map(|i| Some((i.id.clone(), crate::cloudmap::instance_address(i)?)))
                    .collect()
            })
            .unwrap_or_default()
    })
}

/// A connection counted as open on an instance until dropped.
struct Open {
    instance: String,
    address: SocketAddr,
    in_flight: Arc<InFlight>,
}

impl Drop for Open {
    fn drop(&mut self) {
        self.in_flight.closed(&self.instance);
    }
}

/// The next healthy instance of `service_id` in round robin (`turn`: the
/// cursor's value for this connection), skipping those that refused it,
/// counted as open before Cloud Map's lock is let go: a task being drained
/// either is not picked or is seen busy by the drain (which deregisters
/// under the same lock).
fn pick(
    cloud_map: &CloudMap,
    endpoint: &Endpoint,
    service_id: &str,
    turn: usize,
    in_flight: &Arc<InFlight>,
    skip: &[String],
) -> Option<Open> {
    cloud_map.with(&endpoint.account, &endpoint.region, |r| {
        let service = r.service(service_id)?;
        let ready: Vec<(&String, SocketAddr)> = service
            .instances
            .values()
            .filter(|i| i.health != Health::Unhealthy)
            .filter_map(|i| Some((&i.id, crate::cloudmap::instance_address(i)?)))
            .collect();
        let n = ready.len();
        let (id, address) = (0..n)
            .map(|k| ready[(turn + k) % n.max(1)])
            .find(|(id, _)| !skip.contains(id))?;
        in_flight.opened(id);
        Some(Open {
            instance: id.clone(),
            address,
            in_flight: in_flight.clone(),
        })
    })
}

async fn connect(
    client: TcpStream,
    endpoint: Arc<Endpoint>,
    cloud_map: Arc<CloudMap>,
    in_flight: Arc<InFlight>,
    cursor: Arc<AtomicUsize>,
) {
    let route = endpoint.route.read().clone();
    let turn = cursor.fetch_add(1, Ordering::Relaxed);
    let mut refused = Vec::new();
    for _ in 0..ATTEMPTS {
        let Some(open) = pick(
            &cloud_map,
            &endpoint,
            &route.discovery_service_id,
            turn,
            &in_flight,
            &refused,
        ) else {
            return;
        };
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(open.address)).await {
            Ok(Ok(upstream)) => {
                let _ = upstream.set_nodelay(true);
                join(client, upstream, route.idle_timeout).await;
                return;
            }
            _ => refused.push(open.instance.clone()),
        }
    }
}

/// Copies both ways until either side closes or, with an idle timeout,
/// nothing moved for that long.
async fn join(client: TcpStream, upstream: TcpStream, idle: Option<Duration>) {
    let Some(idle) = idle else {
        let (mut a, mut b) = (client, upstream);
        let _ = tokio::io::copy_bidirectional_with_sizes(&mut a, &mut b, BUFFER, BUFFER).await;
        return;
    };
    let start = tokio::time::Instant::now();
    let last = Arc::new(AtomicU64::new(0));
    let mut a = Watched {
        inner: client,
        start,
        last: last.clone(),
    };
    let mut b = Watched {
        inner: upstream,
        start,
        last: last.clone(),
    };
    let copy = tokio::io::copy_bidirectional_with_sizes(&mut a, &mut b, BUFFER, BUFFER);
    let idle_out = async {
        loop {
            let since = Duration::from_millis(last.load(Ordering::Relaxed));
            let deadline = start + since + idle;
            if tokio::time::Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    };
    tokio::select! {
        _ = copy => {}
        _ = idle_out => {}
    }
}

/// A stream that notes when it last read anything.
struct Watched {
    inner: TcpStream,
    start: tokio::time::Instant,
    last: Arc<AtomicU64>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            let ms = self.start.elapsed().as_millis() as u64;
            self.last.store(ms, Ordering::Relaxed);
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
