use clap::Parser;
use ecsbox::config::Config;
use ecsbox::server::App;
use std::io::IsTerminal;
use std::sync::Arc;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() {
    let mut config = Config::parse();
    if in_container() && config.own_container.is_none() {
        // Docker names a container's host after its short id.
        config.own_container = std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty());
    }
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.log_level));
    // Colours only for a person at a terminal, not in `docker logs` or CI logs.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    let listener = match tokio::net::TcpListener::bind(config.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("ecsbox: cannot listen on {}: {e}", config.listen);
            std::process::exit(2);
        }
    };
    let app = match App::start(config) {
        Ok(app) => app,
        Err(e) => {
            eprintln!("ecsbox: {e}");
            std::process::exit(2);
        }
    };
    // Only for the default socket: a DOCKER_HOST of the user's own choosing
    // is not something a `-v` or `--group-add` would fix.
    if in_container() && std::env::var_os("DOCKER_HOST").is_none() {
        tokio::spawn(advise_in_container(app.clone()));
    }
    ecsbox::server::serve(listener, app, shutdown_signal()).await;
}

/// Whether ecsbox runs inside a container (Docker's and Podman's markers).
fn in_container() -> bool {
    ["/.dockerenv", "/run/.containerenv"]
        .iter()
        .any(|marker| std::path::Path::new(marker).exists())
}

/// In a container the runtime's advice about the Docker socket ("add your
/// user to the docker group") does not apply: say what does, once the
/// engine handshake has failed.
async fn advise_in_container(app: Arc<App>) {
    let engine = &app.tasks.ready().await.engine;
    if engine.contains("permission denied") {
        tracing::warn!(
            "ecsbox runs in a container as a user who may not use the mounted Docker socket \
             (the ecsbox image runs as the non-root user 65532): start the container with `--group-add $(stat -c %g /var/run/docker.sock)` \
             (the socket's group on the host), or as root with `--user 0`"
        );
    } else if engine.contains("no such socket") {
        tracing::warn!(
            "no Docker socket in this container: mount the host's with \
             `-v /var/run/docker.sock:/var/run/docker.sock` (compose: `volumes: [\"/var/run/docker.sock:/var/run/docker.sock\"]`)"
        );
    }
}

/// Resolves on SIGINT or SIGTERM: the server stops accepting, lets the
/// requests in flight finish, and exits.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
}
