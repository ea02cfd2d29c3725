//! `tenant-apiserver`: runs one tenant's Kubernetes-compatible API server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// A Kubernetes-compatible API server for one Warren tenant.
#[derive(Parser, Debug)]
#[command(name = "tenant-apiserver", version)]
struct Args {
    /// Directory for the PKI, the admin kubeconfig and the embedded store.
    #[arg(long, env = "WARREN_DATA_DIR")]
    data_dir: PathBuf,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:6443")]
    listen: SocketAddr,
    /// Address clients reach the server at (added to the serving certificate).
    #[arg(long)]
    advertise_address: Option<String>,
    /// Extra subject alternative names for the serving certificate.
    #[arg(long = "tls-san")]
    tls_san: Vec<String>,
    /// Seconds between compactions of the store's history (0: never compact).
    #[arg(long, default_value_t = 300)]
    compaction_interval: u64,
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() { 64 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WARREN_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let mut sans = args.tls_san.clone();
    if let Some(a) = &args.advertise_address {
        sans.push(a.clone());
    }
    let compaction_interval = (args.compaction_interval > 0)
        .then(|| std::time::Duration::from_secs(args.compaction_interval));
    let config = tenant_apiserver::Config {
        data_dir: args.data_dir,
        listen: args.listen,
        tls_sans: sans,
        compaction_interval,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tenant-apiserver: cannot start the runtime: {e}");
            return ExitCode::from(70);
        }
    };
    runtime.block_on(async move {
        let running = match tenant_apiserver::start(config).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "cannot start");
                return ExitCode::from(64);
            }
        };
        tracing::info!(url = %running.url, kubeconfig = %running.kubeconfig.display(), "ready");
        wait_for_signal().await;
        tracing::info!("shutting down");
        running.shutdown().await;
        ExitCode::SUCCESS
    })
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
