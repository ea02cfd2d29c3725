//! Warren's tenant API server: a Kubernetes-compatible API server with a pluggable store.
//!
//! Every tenant talks to one of these. A request flows: TLS and client-certificate
//! authentication ([`server`]) → routing ([`request`]) → discovery ([`discovery`]), OpenAPI
//! ([`openapi`]) or a resource handler ([`handlers`], [`watch_api`]) → the store
//! (`warren_store`), whose events feed the in-memory fan-out ([`watch`]) that serves every
//! watcher. Built-in controllers ([`controllers`]) keep namespaces alive and clean.
#![forbid(unsafe_code)]

pub mod codec;
pub mod controllers;
pub mod crds;
pub mod discovery;
pub mod filter;
pub mod fuzzing;
pub mod handlers;
pub mod managed;
pub mod object;
pub mod openapi;
pub mod patch;
pub mod pki;
pub mod request;
pub mod server;
pub mod services;
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
use warren_store::embedded::EmbeddedStore;

/// How the server is configured.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where the PKI, the kubeconfig and the embedded store live.
    pub data_dir: PathBuf,
    /// The address to listen on (port 0 picks a free port).
    pub listen: SocketAddr,
    /// Extra SANs for the serving certificate (`--advertise-address`, `--tls-san`).
    pub tls_sans: Vec<String>,
    /// How often history older than one interval is compacted away (None: never).
    pub compaction_interval: Option<std::time::Duration>,
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
    let tls = pki.server_config()?;
    let store_path = config.data_dir.join("store");
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(&store_path)?);
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
    });
    controllers::bootstrap(&api, &pki.ca_pem)
        .await
        .map_err(|e| StartError::Bootstrap(e.message))?;
    crds::reconcile_all(&api)
        .await
        .map_err(|e| StartError::Bootstrap(e.message))?;
    tasks.spawn(crds::run(api.clone(), cancel.clone()));
    tasks.spawn(controllers::run_namespace_controller(
        api.clone(),
        pki.ca_pem.clone(),
        cancel.clone(),
    ));

    if let Some(every) = config.compaction_interval {
        tasks.spawn(run_compaction(api.store.clone(), every, cancel.clone()));
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
