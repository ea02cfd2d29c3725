//! `tenant-apiserver`: runs one tenant's Kubernetes-compatible API server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use tenant_apiserver::store_config::{EtcdTlsFiles, StoreConfig, StoreUrl};

/// A Kubernetes-compatible API server for one Warren tenant.
#[derive(Parser, Debug)]
#[command(name = "tenant-apiserver", version)]
struct Args {
    /// Directory for the PKI, the admin kubeconfig and (by default) the embedded store.
    #[arg(long, env = "WARREN_DATA_DIR")]
    data_dir: PathBuf,
    /// The store: embedded://PATH or etcd://HOST:PORT[,HOST:PORT...]/PREFIX
    /// [default: embedded://DATA_DIR/store].
    #[arg(long, env = "WARREN_STORE")]
    store: Option<StoreUrl>,
    /// CA certificate that signed etcd's serving certificate (makes the etcd endpoints https).
    #[arg(long)]
    etcd_cafile: Option<PathBuf>,
    /// Client certificate for etcd.
    #[arg(long)]
    etcd_certfile: Option<PathBuf>,
    /// Client key for etcd.
    #[arg(long)]
    etcd_keyfile: Option<PathBuf>,
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
    /// A CSV file of static bearer tokens: `token,user,uid[,"group1,group2"]` per line.
    #[arg(long)]
    token_auth_file: Option<PathBuf>,
    /// Appends one audit event (JSON line) per request to this file (`-`: standard output).
    #[arg(long)]
    audit_log_path: Option<PathBuf>,
    /// An `audit.k8s.io/v1` Policy choosing each request's level (default: all at Metadata).
    #[arg(long)]
    audit_policy_file: Option<PathBuf>,
    /// An address range (CIDR, or one address) admission webhooks may not be called at, e.g.
    /// the super cluster's control plane; repeatable.
    #[arg(long = "webhook-egress-deny")]
    webhook_egress_deny: Vec<tenant_apiserver::egress::Cidr>,
}

/// `tenant-apiserver snapshot save|restore`: moves a tenant's objects between stores.
#[derive(Parser, Debug)]
#[command(name = "tenant-apiserver snapshot")]
struct SnapshotArgs {
    #[command(subcommand)]
    action: SnapshotAction,
}

#[derive(clap::Subcommand, Debug)]
enum SnapshotAction {
    /// Writes every key of the store, read at one revision, to FILE.
    Save(SnapshotTarget),
    /// Writes every key of FILE into the store, which must be empty.
    Restore(SnapshotTarget),
}

#[derive(clap::Args, Debug)]
struct SnapshotTarget {
    /// The store: embedded://PATH (the server's is DATA_DIR/store; stop the server first) or
    /// etcd://HOST:PORT[,HOST:PORT...]/PREFIX.
    #[arg(long)]
    store: StoreUrl,
    /// CA certificate that signed etcd's serving certificate.
    #[arg(long)]
    etcd_cafile: Option<PathBuf>,
    /// Client certificate for etcd.
    #[arg(long)]
    etcd_certfile: Option<PathBuf>,
    /// Client key for etcd.
    #[arg(long)]
    etcd_keyfile: Option<PathBuf>,
    /// The snapshot file.
    file: PathBuf,
}

fn snapshot_main(args: impl Iterator<Item = std::ffi::OsString>) -> ExitCode {
    let args = match SnapshotArgs::try_parse_from(args) {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() { 64 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let (save, target) = match args.action {
        SnapshotAction::Save(t) => (true, t),
        SnapshotAction::Restore(t) => (false, t),
    };
    let tls = EtcdTlsFiles {
        ca_file: target.etcd_cafile,
        cert_file: target.etcd_certfile,
        key_file: target.etcd_keyfile,
    };
    let store = match StoreConfig::new(target.store, tls) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("tenant-apiserver snapshot: {e}");
            return ExitCode::from(64);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tenant-apiserver snapshot: cannot start the runtime: {e}");
            return ExitCode::from(70);
        }
    };
    let file = target.file;
    let result = runtime.block_on(async move {
        let opened = store.open().await?;
        if save {
            let tmp = file.with_extension("partial");
            let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
            let summary = tenant_apiserver::snapshot::save(opened.as_ref(), &mut out).await?;
            out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
            std::fs::rename(&tmp, &file)?;
            Ok::<_, tenant_apiserver::snapshot::SnapshotError>(format!(
                "saved {} keys at revision {} from {store} to {}",
                summary.keys,
                summary.revision,
                file.display()
            ))
        } else {
            let mut input = std::io::BufReader::new(std::fs::File::open(&file)?);
            let summary = tenant_apiserver::snapshot::restore(opened.as_ref(), &mut input).await?;
            Ok(format!(
                "restored {} keys from {} into {store} (now at revision {})",
                summary.keys,
                file.display(),
                summary.revision
            ))
        }
    });
    match result {
        Ok(msg) => {
            println!("{msg}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tenant-apiserver snapshot: {e}");
            ExitCode::from(1)
        }
    }
}

/// `tenant-apiserver kubeconfig`: a kubeconfig for a user, with a client certificate signed by
/// the tenant CA (CN = user, O = groups), printed on stdout.
#[derive(Parser, Debug)]
#[command(name = "tenant-apiserver kubeconfig")]
struct KubeconfigArgs {
    /// The tenant's data directory (its `pki/` holds the CA).
    #[arg(long, env = "WARREN_DATA_DIR")]
    data_dir: PathBuf,
    /// The server URL the kubeconfig points at.
    #[arg(long)]
    server: String,
    /// The user name (the certificate's CN).
    #[arg(long)]
    user: String,
    /// A group (the certificate's O); repeat for several.
    #[arg(long = "group")]
    groups: Vec<String>,
}

fn kubeconfig_main(args: impl Iterator<Item = std::ffi::OsString>) -> ExitCode {
    let args = match KubeconfigArgs::try_parse_from(args) {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() { 64 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    // The running server's SANs, so that loading the PKI does not re-issue its certificate.
    let sans: Vec<String> = std::fs::read_to_string(args.data_dir.join("pki/server.sans"))
        .unwrap_or_default()
        .trim()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let issued =
        tenant_apiserver::pki::Pki::load_or_create(&args.data_dir, &sans).and_then(|pki| {
            let groups: Vec<&str> = args.groups.iter().map(String::as_str).collect();
            let (cert, key) = pki.issue_client_cert(&args.user, &groups)?;
            Ok(tenant_apiserver::pki::kubeconfig(
                &args.server,
                "warren",
                &args.user,
                &pki.ca_pem,
                &cert,
                &key,
            ))
        });
    match issued {
        Ok(kubeconfig) => {
            print!("{kubeconfig}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tenant-apiserver kubeconfig: {e}");
            ExitCode::from(1)
        }
    }
}

fn main() -> ExitCode {
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == "kubeconfig")
    {
        let mut argv = std::env::args_os();
        let program = argv.next();
        argv.next();
        return kubeconfig_main(program.into_iter().chain(argv));
    }
    let mut argv = std::env::args_os();
    if std::env::args_os().nth(1).is_some_and(|a| a == "snapshot") {
        let program = argv.next();
        argv.next();
        return snapshot_main(program.into_iter().chain(argv));
    }
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
    let store_url = args
        .store
        .unwrap_or_else(|| StoreUrl::Embedded(args.data_dir.join("store")));
    let tls = EtcdTlsFiles {
        ca_file: args.etcd_cafile,
        cert_file: args.etcd_certfile,
        key_file: args.etcd_keyfile,
    };
    let store = match StoreConfig::new(store_url, tls) {
        Ok(store) => store,
        Err(e) => {
            eprintln!("tenant-apiserver: {e}");
            return ExitCode::from(64);
        }
    };
    let static_tokens = match &args.token_auth_file {
        Some(path) => match tenant_apiserver::tokens::StaticTokens::load(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("tenant-apiserver: {e}");
                return ExitCode::from(64);
            }
        },
        None => Default::default(),
    };
    let policy = match &args.audit_policy_file {
        Some(path) => match tenant_apiserver::audit::Policy::load(path) {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!("tenant-apiserver: audit policy: {e}");
                return ExitCode::from(64);
            }
        },
        None => None,
    };
    let audit = match &args.audit_log_path {
        Some(path) => match tenant_apiserver::audit::AuditLog::open(path, policy) {
            Ok(log) => Some(std::sync::Arc::new(log)),
            Err(e) => {
                eprintln!("tenant-apiserver: audit log: {e}");
                return ExitCode::from(64);
            }
        },
        None => None,
    };
    let config = tenant_apiserver::Config {
        data_dir: args.data_dir,
        store,
        listen: args.listen,
        tls_sans: sans,
        compaction_interval,
        static_tokens,
        audit,
        webhook_egress_deny: args.webhook_egress_deny,
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
