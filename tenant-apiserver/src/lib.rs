//! Warren's tenant API server: a Kubernetes-compatible API server with a pluggable store.
//!
//! Every tenant talks to one of these. A request flows: TLS and client-certificate
//! authentication ([`server`]) → routing ([`request`]) → discovery ([`discovery`]), OpenAPI
//! ([`openapi`]) or a resource handler ([`handlers`], [`watch_api`]) → the store
//! (`warren_store`), whose events feed the in-memory fan-out ([`watch`]) that serves every
//! watcher. Built-in controllers ([`controllers`]) keep namespaces alive and clean.
#![forbid(unsafe_code)]

pub mod admission;
pub mod audit;
pub mod authz;
pub mod cache;
pub mod codec;
pub mod controllers;
pub mod crds;
pub mod ctrl;
pub mod discovery;
pub mod egress;
pub mod eviction;
pub mod filter;
pub mod fuzzing;
pub mod handlers;
pub mod leader;
pub mod managed;
pub mod object;
pub mod openapi;
pub mod patch;
pub mod pki;
pub mod request;
pub mod sa_tokens;
pub mod server;
pub mod services;
pub mod snapshot;
pub mod store_config;
pub mod tokens;
pub mod watch;
pub mod watch_api;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use warren_apimachinery::registry::Registry;
use warren_store::Store;

/// How the server is configured.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where the PKI and the kubeconfig live (and the embedded store, by default).
    pub data_dir: PathBuf,
    /// The store: the embedded one (by default in `data_dir/store`) or etcd.
    pub store: store_config::StoreConfig,
    /// The address to listen on (port 0 picks a free port).
    pub listen: SocketAddr,
    /// Extra SANs for the serving certificate (`--advertise-address`, `--tls-san`).
    pub tls_sans: Vec<String>,
    /// How often history older than one interval is compacted away (None: never).
    pub compaction_interval: Option<std::time::Duration>,
    /// Static bearer tokens (`--token-auth-file`).
    pub static_tokens: tokens::StaticTokens,
    /// The audit log (`--audit-log-path`, `--audit-policy-file`), if any.
    pub audit: Option<Arc<audit::AuditLog>>,
    /// Address ranges admission webhooks may not be dialled at (`--webhook-egress-deny`).
    pub webhook_egress_deny: Vec<egress::Cidr>,
}

/// Errors that stop the server from starting.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data directory cannot be used.
    #[error("data dir {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The PKI could not be made or loaded.
    #[error(transparent)]
    Pki(#[from] pki::PkiError),
    /// The store could not be opened.
    #[error("store: {0}")]
    Store(#[from] warren_store::StoreError),
    /// The listen address could not be bound.
    #[error("listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The service-account signing key is unusable.
    #[error(transparent)]
    SaKey(#[from] sa_tokens::KeyError),
    /// Bootstrap objects could not be written.
    #[error("bootstrap: {0}")]
    Bootstrap(String),
}

/// A running server.
pub struct Running {
    /// The URL clients use.
    pub url: String,
    /// The path of the admin kubeconfig.
    pub kubeconfig: PathBuf,
    /// The shared state.
    pub api: Arc<ApiServer>,
    tasks: TaskTracker,
    cancel: CancellationToken,
}

pub use server::ApiServer;

impl Running {
    /// Stops serving and waits for every task to end.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        self.tasks.close();
        self.api.tasks.close();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(15), async {
            self.tasks.wait().await;
            self.api.tasks.wait().await;
        })
        .await;
    }
}

/// Opens the store, makes the PKI, binds, writes the kubeconfig and starts serving.
pub async fn start(config: Config) -> Result<Running, StartError> {
    let started = Instant::now();
    std::fs::create_dir_all(&config.data_dir).map_err(|source| StartError::DataDir {
        path: config.data_dir.clone(),
        source,
    })?;
    let pki = pki::Pki::load_or_create(&config.data_dir, &config.tls_sans)?;
    let tls = pki.server_tls()?;
    tracing::info!(store = %config.store, "opening the store");
    let store: Arc<dyn Store> = config.store.open().await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Listen {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Listen {
        addr: config.listen,
        source,
    })?;
    let url = format!("https://{addr}");

    let cancel = CancellationToken::new();
    let tasks = TaskTracker::new();
    let (watch_cache, cache_task) = watch::WatchCache::start(store.clone(), cancel.clone()).await?;
    tasks.spawn(async move {
        let _ = cache_task.await;
    });
    let api = Arc::new(ApiServer {
        store,
        registry: Registry::new(),
        watch_cache,
        url: url.clone(),
        service_alloc: tokio::sync::Mutex::new(()),
        cancel: cancel.clone(),
        tasks: TaskTracker::new(),
        started,
        static_tokens: config.static_tokens.clone(),
        audit: config.audit.clone(),
        webhook_egress_deny: config.webhook_egress_deny.clone(),
        rbac_cache: cache::PrefixCache::new(authz::RBAC_PREFIX),
        sa_keys: sa_tokens::ServiceAccountKeys::from_private_pem(&pki.sa_key_pem)?,
    });
    controllers::bootstrap(&api, &pki.ca_pem)
        .await
        .map_err(|e| StartError::Bootstrap(e.message))?;
    // Leader-only work (controllers' writes, compaction) runs on one replica at a time. An
    // embedded store is opened by one process only, which therefore always leads.
    let leadership = match &config.store {
        store_config::StoreConfig::Embedded(_) => leader::Leadership::always(),
        _ => leader::start(api.clone(), replica_identity(), cancel.clone()),
    };
    crds::reconcile_all(&api, leadership.is_leader())
        .await
        .map_err(|e| StartError::Bootstrap(e.message))?;
    tasks.spawn(crds::run(api.clone(), leadership.clone(), cancel.clone()));
    {
        let api = api.clone();
        let ca_pem = pki.ca_pem.clone();
        tasks.spawn(leader::run_while_leader(
            leadership.clone(),
            cancel.clone(),
            move |term| controllers::run_namespace_controller(api.clone(), ca_pem.clone(), term),
        ));
    }
    {
        let api = api.clone();
        let ca_pem = pki.ca_pem.clone();
        tasks.spawn(leader::run_while_leader(
            leadership.clone(),
            cancel.clone(),
            move |term| sa_tokens::run_token_controller(api.clone(), ca_pem.clone(), term),
        ));
    }
    {
        let api = api.clone();
        tasks.spawn(leader::run_while_leader(
            leadership.clone(),
            cancel.clone(),
            move |term| admission::quota::run_quota_controller(api.clone(), term),
        ));
    }
    {
        let api = api.clone();
        tasks.spawn(leader::run_while_leader(
            leadership.clone(),
            cancel.clone(),
            move |term| ctrl::run_all(api.clone(), term),
        ));
    }
    if let Some(every) = config.compaction_interval {
        let store = api.store.clone();
        tasks.spawn(leader::run_while_leader(
            leadership.clone(),
            cancel.clone(),
            move |term| run_compaction(store.clone(), every, term),
        ));
    }

    let kubeconfig = config.data_dir.join("admin.kubeconfig");
    pki::write_kubeconfig(&kubeconfig, &pki.admin_kubeconfig(&url, "warren"))?;
    tasks.spawn(server::serve(api.clone(), listener, tls, cancel.clone()));
    Ok(Running {
        url,
        kubeconfig,
        api,
        tasks,
        cancel,
    })
}

/// This replica's name in the leader lease: host name and a random suffix, as client-go's
/// leader election identities are.
fn replica_identity() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "tenant-apiserver".into());
    format!("{host}_{}", uuid::Uuid::new_v4())
}

/// Compacts the store every `every`, keeping one interval of history (as kube-apiserver asks
/// etcd to), so watches may resume from any revision of the last interval.
async fn run_compaction(
    store: Arc<dyn Store>,
    every: std::time::Duration,
    cancel: CancellationToken,
) {
    let mut previous: Option<warren_store::Revision> = None;
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Some(rev) = previous {
            if let Err(err) = store.compact(rev).await {
                tracing::warn!(error = %err, revision = rev, "compaction failed");
            } else {
                tracing::debug!(revision = rev, "compacted");
            }
        }
        previous = store.current_revision().await.ok();
    }
}
