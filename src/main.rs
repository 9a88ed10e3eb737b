use clap::Parser;
use ecsbox::config::Config;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() {
    let config = Config::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.log_level));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();

    let listener = match tokio::net::TcpListener::bind(config.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("ecsbox: cannot listen on {}: {e}", config.listen);
            std::process::exit(2);
        }
    };
    let app = match ecsbox::server::App::start(config) {
        Ok(app) => app,
        Err(e) => {
            eprintln!("ecsbox: {e}");
            std::process::exit(2);
        }
    };
    ecsbox::server::serve(listener, app, shutdown_signal()).await;
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
