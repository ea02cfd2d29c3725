//! Leader election among the replicas of one tenant's API server, through a
//! `coordination.k8s.io/v1` Lease (`kube-system/warren-tenant-apiserver`), the way client-go's
//! `leaderelection` package does it for kube-controller-manager: the holder renews the lease
//! every [`RETRY`]; another replica takes it over once it has seen no renewal for the lease
//! duration (time as observed locally, so clocks need not agree); a replica that stops cleanly
//! releases it so the next one takes over at once.
//!
//! Leader-only work (the controllers, compaction) runs through [`run_while_leader`], which
//! starts it when this replica becomes leader and cancels it when leadership is lost.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use warren_store::{KeyValue, StoreError};

use crate::object::{self, decode_stored, encode_for_store};
use crate::server::ApiServer;

/// The lease's name (in `kube-system`).
pub const LEASE_NAME: &str = "warren-tenant-apiserver";
/// How long a lease holds without renewal (kube-controller-manager's default).
pub const LEASE_DURATION: Duration = Duration::from_secs(15);
/// How often the holder renews and the others look.
pub const RETRY: Duration = Duration::from_secs(2);

fn lease_key(api: &ApiServer) -> String {
    api.registry
        .lookup("coordination.k8s.io", "v1", "leases")
        .map(|info| info.key(Some("kube-system"), LEASE_NAME))
        .unwrap_or_else(|| format!("/registry/coordination.k8s.io/leases/kube-system/{LEASE_NAME}"))
}

/// Whether this replica leads, as it changes.
#[derive(Clone)]
pub struct Leadership {
    rx: watch::Receiver<bool>,
    identity: Arc<str>,
}

impl Leadership {
    /// A replica that always leads (a store only one process can open).
    pub fn always() -> Leadership {
        let (tx, rx) = watch::channel(true);
        // Keep the sender alive so that receivers never see a closed channel.
        std::mem::forget(tx);
        Leadership {
            rx,
            identity: Arc::from("sole-replica"),
        }
    }

    /// Whether this replica leads now.
    pub fn is_leader(&self) -> bool {
        *self.rx.borrow()
    }

    /// This replica's identity in the lease.
    pub fn identity(&self) -> &str {
        &self.identity
    }
}

/// Starts electing: returns at once; leadership follows in the background until `cancel`,
/// when a held lease is released.
pub fn start(api: Arc<ApiServer>, identity: String, cancel: CancellationToken) -> Leadership {
    let (tx, rx) = watch::channel(false);
    let identity: Arc<str> = Arc::from(identity);
    let id = identity.clone();
    api.tasks.clone().spawn(async move {
        let mut observed: Option<(String, Instant)> = None;
        loop {
            let leading = match try_acquire_or_renew(&api, &id, &mut observed).await {
                Ok(leading) => leading,
                Err(err) => {
                    tracing::warn!(error = %err, "leader election: cannot read or write the lease");
                    // Without a renewal we cannot know we still lead: stop leader-only work
                    // once the lease could have expired for the others.
                    *tx.borrow()
                        && observed
                            .as_ref()
                            .is_some_and(|(_, t)| t.elapsed() < LEASE_DURATION - RETRY)
                }
            };
            if *tx.borrow() != leading {
                tracing::info!(identity = %id, leading, "leadership changed");
                let _ = tx.send(leading);
            }
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep(RETRY) => {}
            }
        }
        if *tx.borrow() {
            let _ = tx.send(false);
            release(&api, &id).await;
        }
    });
    Leadership { rx, identity }
}

/// One round of client-go's `tryAcquireOrRenew`. `observed` is the lease's last seen
/// (resourceVersion, local time first seen).
async fn try_acquire_or_renew(
    api: &ApiServer,
    identity: &str,
    observed: &mut Option<(String, Instant)>,
) -> Result<bool, StoreError> {
    let now = micro_time();
    let current = api.store.get(&lease_key(api)).await?;
    let Some(kv) = current else {
        let lease = new_lease(identity, &now, 0);
        return match api
            .store
            .create(&lease_key(api), encode_for_store(&lease))
            .await
        {
            Ok(kv) => {
                *observed = Some((kv.mod_revision.to_string(), Instant::now()));
                Ok(true)
            }
            Err(StoreError::AlreadyExists(_)) => Ok(false),
            Err(e) => Err(e),
        };
    };
    let lease = decode_stored(&kv.value, kv.mod_revision);
    let rv = kv.mod_revision.to_string();
    if observed.as_ref().map(|(r, _)| r) != Some(&rv) {
        *observed = Some((rv, Instant::now()));
    }
    let holder = lease
        .pointer("/spec/holderIdentity")
        .and_then(Value::as_str)
        .unwrap_or("");
    let duration = lease
        .pointer("/spec/leaseDurationSeconds")
        .and_then(Value::as_u64)
        .map(Duration::from_secs)
        .unwrap_or(LEASE_DURATION);
    let expired = observed
        .as_ref()
        .is_some_and(|(_, seen)| seen.elapsed() >= duration);
    if holder != identity && !holder.is_empty() && !expired {
        return Ok(false);
    }
    let mut new = lease.clone();
    if holder == identity {
        new["spec"]["renewTime"] = json!(now);
    } else {
        let transitions = lease
            .pointer("/spec/leaseTransitions")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        new["spec"] = new_lease(identity, &now, transitions + 1)["spec"].clone();
    }
    match write(api, &kv, new).await {
        Ok(kv) => {
            *observed = Some((kv.mod_revision.to_string(), Instant::now()));
            Ok(true)
        }
        // Somebody else wrote the lease meanwhile: not ours this round.
        Err(StoreError::Conflict { .. }) | Err(StoreError::NotFound(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

async fn write(api: &ApiServer, kv: &KeyValue, mut new: Value) -> Result<KeyValue, StoreError> {
    if let Some(meta) = object::metadata_mut(&mut new) {
        meta.remove("resourceVersion");
    }
    api.store
        .update(&lease_key(api), encode_for_store(&new), kv.mod_revision)
        .await
}

/// Gives the lease up (client-go's `ReleaseOnCancel`): holder emptied, one-second duration.
async fn release(api: &ApiServer, identity: &str) {
    let Ok(Some(kv)) = api.store.get(&lease_key(api)).await else {
        return;
    };
    let lease = decode_stored(&kv.value, kv.mod_revision);
    if lease
        .pointer("/spec/holderIdentity")
        .and_then(Value::as_str)
        != Some(identity)
    {
        return;
    }
    let mut new = lease.clone();
    new["spec"]["holderIdentity"] = json!("");
    new["spec"]["leaseDurationSeconds"] = json!(1);
    new["spec"]["renewTime"] = json!(micro_time());
    if let Err(err) = write(api, &kv, new).await {
        tracing::debug!(error = %err, "could not release the lease");
    }
}

fn new_lease(identity: &str, now: &str, transitions: i64) -> Value {
    json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {
            "name": LEASE_NAME,
            "namespace": "kube-system",
            "uid": uuid::Uuid::new_v4().to_string(),
            "creationTimestamp": object::now_rfc3339(),
        },
        "spec": {
            "holderIdentity": identity,
            "leaseDurationSeconds": LEASE_DURATION.as_secs(),
            "acquireTime": now,
            "renewTime": now,
            "leaseTransitions": transitions,
        },
    })
}

/// `metav1.MicroTime` as the API writes it.
fn micro_time() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

/// Runs `work` whenever this replica leads: started on becoming leader with a token that is
/// cancelled on losing leadership (or on `cancel`), started again on leading again.
pub async fn run_while_leader<F, Fut>(
    leadership: Leadership,
    cancel: CancellationToken,
    mut work: F,
) where
    F: FnMut(CancellationToken) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut rx = leadership.rx.clone();
    loop {
        // Wait to lead.
        while !*rx.borrow_and_update() {
            tokio::select! {
                _ = cancel.cancelled() => return,
                changed = rx.changed() => if changed.is_err() { return },
            }
        }
        let term = cancel.child_token();
        let run = work(term.clone());
        tokio::pin!(run);
        loop {
            tokio::select! {
                _ = &mut run => break,
                _ = cancel.cancelled() => { term.cancel(); run.as_mut().await; return; }
                changed = rx.changed() => {
                    if changed.is_err() || !*rx.borrow_and_update() {
                        term.cancel();
                        run.as_mut().await;
                        break;
                    }
                }
            }
        }
        if cancel.is_cancelled() {
            return;
        }
        // Work that ended by itself while still leading is not restarted until leadership
        // is lost and gained again.
        while *rx.borrow_and_update() {
            tokio::select! {
                _ = cancel.cancelled() => return,
                changed = rx.changed() => if changed.is_err() { return },
            }
        }
    }
}
