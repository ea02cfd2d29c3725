//! The ReplicaSet and ReplicationController controllers (kube's `pkg/controller/replicaset`,
//! which serves both kinds): each keeps `spec.replicas` active pods matching its selector,
//! creating pods from its template in slow-start batches and deleting the surplus in
//! `getPodsToDelete` order; it adopts orphan pods its selector matches and releases owned pods
//! that no longer match; and it reports `replicas`, `fullyLabeledReplicas`, `readyReplicas`,
//! `availableReplicas`, `terminatingReplicas`, `observedGeneration` and the `ReplicaFailure`
//! condition when pods cannot be created or deleted.
//!
//! Reconciles are level-triggered on the informers: a sync reads the owner and the pods of its
//! namespace, acts, and waits until the informers have seen its writes (client-go's
//! "expectations") so that the next sync never acts twice.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::sync::broadcast::error::RecvError;
use tracing::Instrument;
use warren_apimachinery::error::ApiError;
use warren_apimachinery::registry::ResourceInfo;
use warren_apimachinery::selectors::LabelSelector;

use super::events;
use super::pod_state::{self, BURST_REPLICAS};
use super::pod_template::{self, controller_of, controller_ref, uid};
use super::{Client, Hub, Informer, WorkQueue, split_key};
use crate::handlers::DeleteOptions;
use crate::object;

/// One of the two kinds this controller serves.
pub struct ReplicaKind {
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    kind: &'static str,
    /// The controller's service-account name.
    controller: &'static str,
    /// `spec.selector` is a `metav1.LabelSelector` (ReplicaSet) or a label map (RC).
    set_based: bool,
    /// Whether the status has `terminatingReplicas` (ReplicaSet, with
    /// DeploymentReplicaSetTerminatingReplicas, beta and on since 1.35).
    terminating_replicas: bool,
}

/// apps/v1 ReplicaSet.
pub const REPLICA_SET: ReplicaKind = ReplicaKind {
    group: "apps",
    version: "v1",
    plural: "replicasets",
    kind: "ReplicaSet",
    controller: "replicaset-controller",
    set_based: true,
    terminating_replicas: true,
};

/// v1 ReplicationController.
pub const REPLICATION_CONTROLLER: ReplicaKind = ReplicaKind {
    group: "",
    version: "v1",
    plural: "replicationcontrollers",
    kind: "ReplicationController",
    controller: "replication-controller",
    set_based: false,
    terminating_replicas: false,
};

impl ReplicaKind {
    fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Whether an owner reference points at this kind.
    fn is_kind_of(&self, owner_ref: &Value) -> bool {
        let group = owner_ref
            .get("apiVersion")
            .and_then(Value::as_str)
            .map(|av| av.rsplit_once('/').map(|(g, _)| g).unwrap_or(""))
            .unwrap_or("");
        owner_ref.get("kind").and_then(Value::as_str) == Some(self.kind) && group == self.group
    }

    /// The owner's selector; None when it is invalid (nothing to do, as upstream).
    fn selector(&self, owner: &Value) -> Option<LabelSelector> {
        let sel = owner.pointer("/spec/selector").unwrap_or(&Value::Null);
        if self.set_based {
            LabelSelector::from_label_selector_json(sel).ok()
        } else {
            let set = sel.as_object().cloned().unwrap_or_default();
            if set.is_empty() {
                return Some(LabelSelector::nothing());
            }
            Some(LabelSelector::from_set(&set))
        }
    }
}

/// Runs the ReplicaSet and ReplicationController controllers until the hub is cancelled.
pub async fn run(hub: Arc<Hub>) {
    tokio::join!(
        run_kind(hub.clone(), &REPLICA_SET),
        run_kind(hub, &REPLICATION_CONTROLLER)
    );
}

struct Controller {
    kind: &'static ReplicaKind,
    client: Client,
    owners: Arc<Informer>,
    pods: Arc<Informer>,
    owner_info: Arc<ResourceInfo>,
    pod_info: Arc<ResourceInfo>,
}

async fn run_kind(hub: Arc<Hub>, kind: &'static ReplicaKind) {
    let (owners, pods) = match (
        hub.informer(kind.group, kind.version, kind.plural).await,
        hub.informer("", "v1", "pods").await,
    ) {
        (Ok(o), Ok(p)) => (o, p),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(kind = kind.kind, error = %e.message, "controller cannot start");
            return;
        }
    };
    let client = Client::new(hub.api().clone(), kind.controller);
    let (Ok(owner_info), Ok(pod_info)) = (
        client.resource(kind.group, kind.version, kind.plural),
        client.resource("", "v1", "pods"),
    ) else {
        return;
    };
    let ctrl = Arc::new(Controller {
        kind,
        client,
        owners,
        pods,
        owner_info,
        pod_info,
    });
    let queue = Arc::new(WorkQueue::new());
    let mut owner_rx = ctrl.owners.subscribe();
    let mut pod_rx = ctrl.pods.subscribe();
    ctrl.enqueue_all(&queue);

    let cancel = hub.cancel().clone();
    let events = {
        let ctrl = ctrl.clone();
        let queue = queue.clone();
        let cancel = cancel.clone();
        async move {
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    ev = owner_rx.recv() => match ev {
                        Ok(c) => queue.add(key_of(&c.object)),
                        Err(RecvError::Lagged(_)) => ctrl.enqueue_all(&queue),
                        Err(RecvError::Closed) => return,
                    },
                    ev = pod_rx.recv() => match ev {
                        Ok(c) => {
                            ctrl.enqueue_for_pod(&queue, &c.object);
                            if let Some(prev) = &c.prev {
                                ctrl.enqueue_for_pod(&queue, prev);
                            }
                        }
                        Err(RecvError::Lagged(_)) => ctrl.enqueue_all(&queue),
                        Err(RecvError::Closed) => return,
                    },
                }
            }
        }
    };
    let workers = {
        let ctrl = ctrl.clone();
        super::run_workers(queue.clone(), cancel, kind.controller, move |key| {
            let ctrl = ctrl.clone();
            let span = tracing::debug_span!("reconcile", kind = ctrl.kind.kind, key = %key);
            async move { ctrl.sync(&key).await }.instrument(span)
        })
    };
    tokio::join!(events, workers);
}

fn key_of(obj: &Value) -> String {
    format!("{}/{}", pod_template::namespace(obj), object::name(obj))
}

impl Controller {
    fn enqueue_all(&self, queue: &WorkQueue) {
        for o in self.owners.list() {
            queue.add(key_of(&o));
        }
    }

    /// A pod changed: its controller (if of this kind) or, for an orphan, every owner whose
    /// selector matches it must look again.
    fn enqueue_for_pod(&self, queue: &WorkQueue, pod: &Value) {
        let ns = pod_template::namespace(pod);
        match controller_of(pod) {
            Some(r) => {
                if self.kind.is_kind_of(r)
                    && let Some(name) = r.get("name").and_then(Value::as_str)
                {
                    queue.add(format!("{ns}/{name}"));
                }
            }
            None => {
                for owner in self.owners.list_namespace(ns) {
                    if self
                        .kind
                        .selector(&owner)
                        .is_some_and(|s| !s.is_empty() && s.matches_object(pod))
                    {
                        queue.add(key_of(&owner));
                    }
                }
            }
        }
    }

    /// Waits until both informers reflect every write made so far.
    async fn catch_up(&self) {
        if let Ok(rev) = self.client.api().store.current_revision().await {
            self.pods.wait_for(rev, Duration::from_secs(5)).await;
            self.owners.wait_for(rev, Duration::from_secs(5)).await;
        }
    }

    async fn sync(&self, key: &str) -> Result<Option<Duration>, ApiError> {
        let (Some(ns), name) = split_key(key) else {
            return Ok(None);
        };
        let Some(owner) = self.owners.get(Some(ns), name) else {
            return Ok(None);
        };
        let Some(selector) = self.kind.selector(&owner) else {
            return Ok(None);
        };
        let all_pods = self.pods.list_namespace(ns);
        let active: Vec<Arc<Value>> = all_pods
            .iter()
            .filter(|p| pod_state::is_active(p))
            .cloned()
            .collect();
        let claim = self.claim_pods(&owner, &selector, active).await;
        let (claimed, wrote) = match claim {
            Ok(c) => c,
            Err(e) => {
                self.catch_up().await;
                return Err(e);
            }
        };
        let mut manage_err = None;
        let mut wrote_pods = wrote;
        if !object::is_deleting(&owner) {
            match self.manage_replicas(&owner, &claimed).await {
                Ok(w) => wrote_pods |= w,
                Err(e) => {
                    wrote_pods = true;
                    manage_err = Some(e);
                }
            }
        }
        if wrote_pods {
            self.catch_up().await;
        }
        let owner_uid = uid(&owner);
        let terminating = all_pods
            .iter()
            .filter(|p| {
                pod_state::is_terminating(p)
                    && pod_template::is_controlled_by(p, owner_uid)
                    && selector.matches_object(p)
            })
            .count();
        let now = chrono::Utc::now();
        let min_ready = owner
            .pointer("/spec/minReadySeconds")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let status = calculate_status(
            self.kind,
            &owner,
            &claimed,
            terminating,
            manage_err.as_ref().map(|e| e.message.as_str()),
            now,
        );
        self.write_status(&owner, status).await?;
        if let Some(e) = manage_err {
            return Err(e);
        }
        // Pods Ready but not yet available: look again when they become available.
        let next = claimed
            .iter()
            .filter_map(|p| pod_state::until_available(p, min_ready, now))
            .min()
            .map(|d| d + Duration::from_secs(1));
        Ok(next)
    }

    /// `claimPods` (`PodControllerRefManager.ClaimPods`): the active pods this owner controls
    /// and its selector matches, after adopting matching orphans and releasing owned pods that
    /// no longer match. Returns them and whether anything was written.
    async fn claim_pods(
        &self,
        owner: &Value,
        selector: &LabelSelector,
        pods: Vec<Arc<Value>>,
    ) -> Result<(Vec<Arc<Value>>, bool), ApiError> {
        let owner_uid = uid(owner).to_string();
        let deleting = object::is_deleting(owner);
        let ns = pod_template::namespace(owner).to_string();
        let mut claimed = Vec::new();
        let mut wrote = false;
        for pod in pods {
            let matches = selector.matches_object(&pod);
            match pod_template::controller_uid(&pod) {
                Some(u) if u == owner_uid => {
                    if matches {
                        claimed.push(pod);
                    } else if !deleting {
                        wrote = true;
                        self.release(&ns, object::name(&pod), &owner_uid).await?;
                    }
                }
                Some(_) => {}
                None => {
                    if deleting || !matches || object::is_deleting(&pod) {
                        continue;
                    }
                    wrote = true;
                    let r = controller_ref(owner, &self.kind.api_version(), self.kind.kind);
                    let res = self
                        .client
                        .modify(&self.pod_info, Some(&ns), object::name(&pod), false, |p| {
                            if controller_of(p).is_some() || object::is_deleting(p) {
                                return false;
                            }
                            let Some(meta) = object::metadata_mut(p) else {
                                return false;
                            };
                            let refs = meta.entry("ownerReferences").or_insert_with(|| json!([]));
                            if !refs.is_array() {
                                *refs = json!([]);
                            }
                            refs.as_array_mut().expect("array").push(r.clone());
                            true
                        })
                        .await;
                    match res {
                        Ok(p) if pod_template::is_controlled_by(&p, &owner_uid) => {
                            claimed.push(Arc::new(p))
                        }
                        Ok(_) => {}
                        Err(e) if e.code == 404 => {}
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        Ok((claimed, wrote))
    }

    /// Removes the owner's reference from a pod (ignoring a pod that is gone or invalid).
    async fn release(&self, ns: &str, name: &str, owner_uid: &str) -> Result<(), ApiError> {
        let res = self
            .client
            .modify(&self.pod_info, Some(ns), name, false, |p| {
                let Some(refs) = p
                    .pointer_mut("/metadata/ownerReferences")
                    .and_then(Value::as_array_mut)
                else {
                    return false;
                };
                let before = refs.len();
                refs.retain(|r| r.get("uid").and_then(Value::as_str) != Some(owner_uid));
                let changed = refs.len() != before;
                object::drop_empty_metadata(p);
                changed
            })
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if e.code == 404 || e.code == 422 => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `manageReplicas`: creates or deletes pods towards `spec.replicas`. Returns whether it
    /// wrote anything.
    async fn manage_replicas(
        &self,
        owner: &Value,
        claimed: &[Arc<Value>],
    ) -> Result<bool, ApiError> {
        let want = owner
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1)
            .max(0) as usize;
        let ns = pod_template::namespace(owner).to_string();
        let name = object::name(owner).to_string();
        if claimed.len() < want {
            let count = (want - claimed.len()).min(BURST_REPLICAS);
            let template = owner
                .pointer("/spec/template")
                .cloned()
                .unwrap_or(Value::Null);
            let r = controller_ref(owner, &self.kind.api_version(), self.kind.kind);
            let pod = pod_template::pod_from_template(&template, &name, Some(r));
            if pod
                .pointer("/metadata/labels")
                .and_then(Value::as_object)
                .is_none_or(Map::is_empty)
            {
                return Err(ApiError::bad_request("unable to create pods, no labels"));
            }
            let (_, err) = pod_state::slow_start_batch(count, 1, || {
                let pod = pod.clone();
                let ns = ns.clone();
                async move {
                    match self.client.create(&self.pod_info, Some(&ns), pod).await {
                        Ok(created) => {
                            let message = format!("Created pod: {}", object::name(&created));
                            self.event(owner, events::NORMAL, "SuccessfulCreate", &message)
                                .await;
                            Ok(())
                        }
                        Err(e) if is_namespace_terminating(&e) => Ok(()),
                        Err(e) => {
                            let message = format!("Error creating: {}", e.message);
                            self.event(owner, events::WARNING, "FailedCreate", &message)
                                .await;
                            Err(e)
                        }
                    }
                }
            })
            .await;
            return match err {
                Some(e) => Err(e),
                None => Ok(true),
            };
        }
        if claimed.len() > want {
            let diff = (claimed.len() - want).min(BURST_REPLICAS);
            let related = self.related_pods(owner);
            let doomed = pod_state::pods_to_delete(claimed, &related, diff, chrono::Utc::now());
            let opts = DeleteOptions::default();
            let results = futures::future::join_all(doomed.iter().map(|p| {
                self.client
                    .delete(&self.pod_info, Some(&ns), object::name(p), &opts)
            }))
            .await;
            for (r, p) in results.into_iter().zip(&doomed) {
                match r {
                    Err(e) if e.code != 404 => return Err(e),
                    Err(_) => {}
                    Ok(_) => {
                        let message = format!("Deleted pod: {}", object::name(p));
                        self.event(owner, events::NORMAL, "SuccessfulDelete", &message)
                            .await;
                    }
                }
            }
            return Ok(true);
        }
        Ok(false)
    }

    /// Records an event about the ReplicaSet (or ReplicationController) `owner`.
    async fn event(&self, owner: &Value, type_: &str, reason: &str, message: &str) {
        let component = if self.kind.kind == "ReplicaSet" {
            "replicaset-controller"
        } else {
            "replication-controller"
        };
        events::record(&self.client, component, owner, type_, reason, message).await;
    }

    /// `getIndirectlyRelatedPods`: the pods of every owner of this kind controlled by the same
    /// controller as `owner` (none when it has no controller).
    fn related_pods(&self, owner: &Value) -> Vec<Arc<Value>> {
        let Some(controller) = pod_template::controller_uid(owner) else {
            return Vec::new();
        };
        let ns = pod_template::namespace(owner);
        let siblings: Vec<String> = self
            .owners
            .list_namespace(ns)
            .iter()
            .filter(|o| pod_template::controller_uid(o) == Some(controller))
            .map(|o| uid(o).to_string())
            .collect();
        self.pods
            .list_namespace(ns)
            .into_iter()
            .filter(|p| {
                pod_template::controller_uid(p).is_some_and(|u| siblings.iter().any(|s| s == u))
            })
            .collect()
    }

    /// `updateReplicaSetStatus`: writes the status (with `observedGeneration`) if it changed.
    async fn write_status(&self, owner: &Value, status: Value) -> Result<(), ApiError> {
        let generation = owner
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let mut status = status;
        if generation != 0 {
            status["observedGeneration"] = json!(generation);
        }
        let current = owner.get("status").cloned().unwrap_or_else(|| json!({}));
        if current == status {
            return Ok(());
        }
        let ns = pod_template::namespace(owner).to_string();
        let owner_uid = uid(owner).to_string();
        let res = self
            .client
            .modify(
                &self.owner_info,
                Some(&ns),
                object::name(owner),
                true,
                |o| {
                    if uid(o) != owner_uid {
                        return false;
                    }
                    o["status"] = status.clone();
                    true
                },
            )
            .await;
        match res {
            Ok(o) => {
                if let Some(rv) = object::resource_version(&o).and_then(|r| r.parse().ok()) {
                    self.owners.wait_for(rv, Duration::from_secs(5)).await;
                }
                Ok(())
            }
            Err(e) if e.code == 404 => Ok(()),
            Err(e) => Err(e),
        }
    }
}

fn is_namespace_terminating(e: &ApiError) -> bool {
    e.details
        .as_ref()
        .and_then(|d| d.get("causes"))
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c.get("reason").and_then(Value::as_str) == Some("NamespaceTerminating"))
        })
}

/// `calculateReplicaSetStatus`, in the JSON kube-controller-manager writes (Go `omitempty`:
/// zero counts absent, except `replicas`).
pub fn calculate_status(
    kind: &ReplicaKind,
    owner: &Value,
    claimed: &[Arc<Value>],
    terminating: usize,
    manage_err: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> Value {
    let template_labels = owner
        .pointer("/spec/template/metadata/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let template_selector = LabelSelector::from_set(&template_labels);
    let min_ready = owner
        .pointer("/spec/minReadySeconds")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let mut fully_labeled = 0;
    let mut ready = 0;
    let mut available = 0;
    for p in claimed {
        if template_selector.matches_object(p) {
            fully_labeled += 1;
        }
        if pod_state::is_ready(p) {
            ready += 1;
            if pod_state::is_available(p, min_ready, now) {
                available += 1;
            }
        }
    }
    let mut status = owner
        .get("status")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut conditions: Vec<Value> = status
        .get("conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let has_failure = conditions
        .iter()
        .any(|c| c.get("type").and_then(Value::as_str) == Some("ReplicaFailure"));
    let want = owner
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    match manage_err {
        Some(msg) if !has_failure => {
            let diff = claimed.len() as i64 - want;
            let reason = if diff < 0 {
                "FailedCreate"
            } else if diff > 0 {
                "FailedDelete"
            } else {
                ""
            };
            conditions.push(json!({
                "type": "ReplicaFailure",
                "status": "True",
                "lastTransitionTime": now.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                "reason": reason,
                "message": msg,
            }));
        }
        None if has_failure => {
            conditions.retain(|c| c.get("type").and_then(Value::as_str) != Some("ReplicaFailure"));
        }
        _ => {}
    }
    let mut set = |field: &str, n: i64, omit_zero: bool| {
        if n == 0 && omit_zero {
            status.remove(field);
        } else {
            status.insert(field.into(), json!(n));
        }
    };
    set("replicas", claimed.len() as i64, false);
    set("fullyLabeledReplicas", fully_labeled, true);
    set("readyReplicas", ready, true);
    set("availableReplicas", available, true);
    if kind.terminating_replicas {
        set("terminatingReplicas", terminating as i64, false);
    }
    if conditions.is_empty() {
        status.remove("conditions");
    } else {
        status.insert("conditions".into(), Value::Array(conditions));
    }
    Value::Object(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(ready: bool, labels: Value) -> Arc<Value> {
        let mut p =
            json!({"metadata": {"name": "p", "labels": labels}, "status": {"phase": "Running"}});
        if ready {
            p["status"]["conditions"] = json!([{"type": "Ready", "status": "True",
                "lastTransitionTime": "2030-01-01T11:59:50Z"}]);
        }
        Arc::new(p)
    }

    #[test]
    fn status_counts_labels_readiness_and_availability() {
        let now: chrono::DateTime<chrono::Utc> = "2030-01-01T12:00:00Z".parse().unwrap();
        let rs = json!({"metadata": {"generation": 2}, "spec": {"replicas": 3, "minReadySeconds": 30,
            "template": {"metadata": {"labels": {"app": "a", "tier": "t"}}}}});
        let pods = vec![
            pod(true, json!({"app": "a", "tier": "t"})),
            pod(false, json!({"app": "a"})),
        ];
        let s = calculate_status(&REPLICA_SET, &rs, &pods, 1, None, now);
        assert_eq!(
            s,
            json!({"replicas": 2, "fullyLabeledReplicas": 1, "readyReplicas": 1, "terminatingReplicas": 1})
        );
        let rs0 =
            json!({"spec": {"replicas": 3, "template": {"metadata": {"labels": {"app": "a"}}}}});
        let s = calculate_status(
            &REPLICA_SET,
            &rs0,
            &pods,
            0,
            Some("pods \"x\" is forbidden: exceeded quota"),
            now,
        );
        assert_eq!(s["conditions"][0]["reason"], "FailedCreate");
        assert_eq!(s["conditions"][0]["type"], "ReplicaFailure");
        assert_eq!(s["availableReplicas"], 1);
        // A success clears the failure; RCs have no terminatingReplicas.
        let failed = json!({"spec": rs0["spec"], "status": s});
        let s = calculate_status(&REPLICATION_CONTROLLER, &failed, &pods, 0, None, now);
        assert!(s.get("conditions").is_none());
    }

    #[test]
    fn owner_references_are_matched_by_kind_and_group() {
        let rs_ref = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet"});
        let rc_ref = json!({"apiVersion": "v1", "kind": "ReplicationController"});
        assert!(REPLICA_SET.is_kind_of(&rs_ref) && !REPLICA_SET.is_kind_of(&rc_ref));
        assert!(REPLICATION_CONTROLLER.is_kind_of(&rc_ref));
        let rc = json!({"spec": {"selector": {"app": "x"}}});
        assert!(
            REPLICATION_CONTROLLER
                .selector(&rc)
                .unwrap()
                .matches_object(&json!({"metadata": {"labels": {"app": "x", "b": "c"}}}))
        );
    }
}
