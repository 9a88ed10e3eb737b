//! The Network Load Balancer's proxy: each client connection is joined
//! byte for byte to a connection to one target, chosen once per connection
//! by the default action's target group (by weight) and that group's
//! algorithm. A TLS listener has already terminated TLS when it gets here;
//! a TLS target group is reached over TLS again. With no target to send to,
//! the client's connection is closed, as an NLB resets it.
//!
//! The connection counts as open on the target until either side closes,
//! which is what a draining target waits for.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::balance::pick_weighted;
use super::listener::ConnCtx;
use super::Action;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

pub async fn serve<I>(mut client: I, ctx: Arc<ConnCtx>, mut closed: watch::Receiver<()>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let routes = ctx.listener.routes.load_full();
    let Some(Action::Forward { groups, .. }) = routes.default_action() else {
        return;
    };
    let Some(wg) = pick_weighted(groups, &ctx.listener.cursor) else {
        return;
    };
    let Some(group) = ctx.shared.groups.load().get(&wg.target_group_arn).cloned() else {
        return;
    };
    let view = group.view.load_full();
    let Some(target) = group.pick(&view, None) else {
        return;
    };
    let _open = target.connection();
    let Ok(Ok(tcp)) =
        tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(target.address)).await
    else {
        return;
    };
    let _ = tcp.set_nodelay(true);
    tokio::select! {
        _ = async {
            if view.tls {
                if let Ok(mut tls) = super::tls::connect(tcp, target.address).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut tls).await;
                }
            } else {
                let mut tcp = tcp;
                let _ = tokio::io::copy_bidirectional(&mut client, &mut tcp).await;
            }
        } => {}
        _ = closed.changed() => {}
    }
}
