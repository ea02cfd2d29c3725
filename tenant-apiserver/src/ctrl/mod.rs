//! The machinery of the built-in controllers (kube-controller-manager's loops, run inside the
//! tenant API server): [`informer::Informer`]s over the watch cache, a client-go style
//! [`queue::WorkQueue`], and a [`Client`] whose writes go through the same handlers, admission
//! and validation as a request from kube-controller-manager would, under the controller's own
//! service-account identity.

pub mod cron;
pub mod cronjob;
pub mod daemonset;
pub mod deployment;
pub mod disruption;
pub mod endpoints;
pub mod endpointslice;
pub mod events;
pub mod gc;
pub mod history;
pub mod informer;
pub mod job;
pub mod pod_state;
pub mod pod_template;
pub mod podgc;
pub mod queue;
pub mod replicaset;
pub mod statefulset;
pub mod ttl;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio_util::sync::CancellationToken;
use warren_apimachinery::error::ApiError;
use warren_apimachinery::registry::ResourceInfo;

use crate::handlers::{DeleteOptions, RequestContext};
use crate::pki::UserInfo;
use crate::server::ApiServer;

pub use informer::{Change, Informer};
pub use queue::WorkQueue;

/// Writes as one controller (`system:serviceaccount:kube-system:NAME`, field manager
/// `kube-controller-manager`), through the API server's handlers.
#[derive(Clone)]
pub struct Client {
    api: Arc<ApiServer>,
    user: UserInfo,
    controller: String,
}

impl Client {
    /// A client for the controller `name` (e.g. `replicaset-controller`).
    pub fn new(api: Arc<ApiServer>, name: &str) -> Client {
        Client {
            api,
            user: UserInfo {
                name: format!("system:serviceaccount:kube-system:{name}"),
                groups: vec![
                    "system:serviceaccounts".into(),
                    "system:serviceaccounts:kube-system".into(),
                    "system:authenticated".into(),
                ],
                ..Default::default()
            },
            controller: name.to_string(),
        }
    }

    /// The API server.
    pub fn api(&self) -> &Arc<ApiServer> {
        &self.api
    }

    fn ctx(&self) -> RequestContext {
        RequestContext {
            user: self.user.clone(),
            accept: None,
            content_type: Some("application/json".into()),
            query: HashMap::new(),
            user_agent: Some(format!(
                "kube-controller-manager/v1.37.0 (linux/amd64) kubernetes/warren/{}",
                self.controller
            )),
            warnings: Arc::new(std::sync::Mutex::new(Vec::new())),
            audit_annotations: Default::default(),
        }
    }

    /// The served resource `group`/`version`/`plural`.
    pub fn resource(
        &self,
        group: &str,
        version: &str,
        plural: &str,
    ) -> Result<Arc<ResourceInfo>, ApiError> {
        self.api
            .registry
            .lookup(group, version, plural)
            .ok_or_else(ApiError::no_route)
    }

    /// Creates an object (admission included); returns it as stored.
    pub async fn create(
        &self,
        info: &ResourceInfo,
        namespace: Option<&str>,
        obj: Value,
    ) -> Result<Value, ApiError> {
        let ctx = self.ctx();
        self.api
            .create_object(
                info,
                namespace,
                &ctx,
                obj,
                false,
                Some("kube-controller-manager"),
            )
            .await
    }

    /// Replaces an object (its `metadata.resourceVersion`, if set, is a precondition: a stale
    /// one gets 409 Conflict).
    pub async fn update(
        &self,
        info: &ResourceInfo,
        namespace: Option<&str>,
        obj: Value,
    ) -> Result<Value, ApiError> {
        let name = crate::object::name(&obj).to_string();
        let ctx = self.ctx();
        self.api
            .update(info, namespace, &name, obj, None, &ctx)
            .await
    }

    /// Replaces an object's status (`/status`), with the same precondition as [`Client::update`].
    pub async fn update_status(
        &self,
        info: &ResourceInfo,
        namespace: Option<&str>,
        obj: Value,
    ) -> Result<Value, ApiError> {
        let name = crate::object::name(&obj).to_string();
        let ctx = self.ctx();
        self.api
            .update(info, namespace, &name, obj, Some("status"), &ctx)
            .await
    }

    /// Deletes an object; returns it (as deleted, or as marked when finalizers hold it).
    pub async fn delete(
        &self,
        info: &ResourceInfo,
        namespace: Option<&str>,
        name: &str,
        opts: &DeleteOptions,
    ) -> Result<Value, ApiError> {
        let ctx = self.ctx();
        self.api
            .delete_object(info, namespace, name, opts, Some(&ctx))
            .await
            .map(|(obj, _)| obj)
    }

    /// Changes an object read fresh from the store with `mutate` and writes it back, retrying
    /// on conflicts; `mutate` returning false skips the write. Returns the object as written
    /// (or as read, when skipped); 404 if it is gone.
    pub async fn modify(
        &self,
        info: &ResourceInfo,
        namespace: Option<&str>,
        name: &str,
        status: bool,
        mut mutate: impl FnMut(&mut Value) -> bool,
    ) -> Result<Value, ApiError> {
        let key = info.key(namespace, name);
        for _ in 0..16 {
            let Some(kv) = self
                .api
                .store
                .get(&key)
                .await
                .map_err(crate::handlers::plain_store_error)?
            else {
                return Err(ApiError::not_found(&info.group, &info.plural, name));
            };
            let mut obj = crate::object::decode_stored(&kv.value, kv.mod_revision);
            if !mutate(&mut obj) {
                return Ok(obj);
            }
            let res = if status {
                self.update_status(info, namespace, obj).await
            } else {
                self.update(info, namespace, obj).await
            };
            match res {
                Err(e) if e.code == 409 => continue,
                other => return other,
            }
        }
        Err(ApiError::conflict(&info.group, &info.plural, name))
    }
}

/// The informers the controllers share, started on first use and stopped with the
/// controllers' cancellation (the end of leadership).
pub struct Hub {
    api: Arc<ApiServer>,
    cancel: CancellationToken,
    informers: tokio::sync::Mutex<HashMap<String, Arc<Informer>>>,
}

impl Hub {
    /// A hub for controllers that run until `cancel`.
    pub fn new(api: Arc<ApiServer>, cancel: CancellationToken) -> Arc<Hub> {
        Arc::new(Hub {
            api,
            cancel,
            informers: tokio::sync::Mutex::new(HashMap::new()),
        })
    }

    /// The API server.
    pub fn api(&self) -> &Arc<ApiServer> {
        &self.api
    }

    /// The cancellation every controller loop stops on.
    pub fn cancel(&self) -> &CancellationToken {
        &self.cancel
    }

    /// The informer of `group`/`version`/`plural` (every version of a resource shares the
    /// same storage, so one informer per resource), loaded before this returns.
    pub async fn informer(
        &self,
        group: &str,
        version: &str,
        plural: &str,
    ) -> Result<Arc<Informer>, ApiError> {
        let info = self
            .api
            .registry
            .lookup(group, version, plural)
            .ok_or_else(ApiError::no_route)?;
        self.informer_for_prefix(&info.key_prefix()).await
    }

    /// The informer of every object under a storage prefix (`/registry/` for everything).
    pub async fn informer_for_prefix(&self, prefix: &str) -> Result<Arc<Informer>, ApiError> {
        let mut map = self.informers.lock().await;
        if let Some(i) = map.get(prefix) {
            return Ok(i.clone());
        }
        let i = Informer::start(self.api.clone(), prefix.to_string(), self.cancel.clone()).await;
        map.insert(prefix.to_string(), i.clone());
        Ok(i)
    }
}

/// Starts every built-in workload controller on a shared [`Hub`]; they stop with `cancel`
/// (the end of this replica's leadership).
pub async fn run_all(api: Arc<ApiServer>, cancel: CancellationToken) {
    let hub = Hub::new(api, cancel.clone());
    let tasks = tokio_util::task::TaskTracker::new();
    // One line per controller: tasks.spawn(NAME::run(hub.clone()));
    tasks.spawn(replicaset::run(hub.clone()));
    tasks.spawn(gc::run(hub.clone()));
    tasks.spawn(podgc::run(hub.clone()));
    tasks.spawn(statefulset::run(hub.clone()));
    tasks.spawn(daemonset::run(hub.clone()));
    tasks.spawn(deployment::run(hub.clone()));
    tasks.spawn(disruption::run(hub.clone()));
    tasks.spawn(endpoints::run(hub.clone()));
    tasks.spawn(endpointslice::run(hub.clone()));
    tasks.spawn(job::run(hub.clone()));
    tasks.spawn(cronjob::run(hub.clone()));
    tasks.spawn(ttl::run(hub.clone()));
    let _ = &hub;
    tasks.close();
    cancel.cancelled().await;
    tasks.wait().await;
}

/// Runs `reconcile` on keys from `queue` until `cancel`: a failure is retried with back-off, a
/// success may ask to be run again after a delay (`Some(after)`).
pub async fn run_workers<F, Fut>(
    queue: Arc<WorkQueue>,
    cancel: CancellationToken,
    name: &'static str,
    reconcile: F,
) where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<Option<Duration>, ApiError>>,
{
    while let Some(key) = queue.next(&cancel).await {
        match reconcile(key.clone()).await {
            Ok(again) => {
                queue.forget(&key);
                if let Some(after) = again {
                    queue.add_after(key.clone(), after);
                }
            }
            Err(err) => {
                tracing::debug!(controller = name, %key, error = %err.message, "reconcile failed; retrying");
                queue.retry(&key);
            }
        }
        queue.done(&key);
    }
}

/// The `namespace/name` (or `name`) key of a storage key under `prefix`.
pub fn object_key(prefix: &str, storage_key: &str) -> String {
    storage_key
        .strip_prefix(prefix)
        .unwrap_or(storage_key)
        .to_string()
}

/// Splits a `namespace/name` key (a key without `/` is a cluster-scoped name).
pub fn split_key(key: &str) -> (Option<&str>, &str) {
    match key.split_once('/') {
        Some((ns, name)) => (Some(ns), name),
        None => (None, key),
    }
}
