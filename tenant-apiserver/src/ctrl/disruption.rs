//! The disruption controller (kube-controller-manager's `pkg/controller/disruption`): keeps
//! each PodDisruptionBudget's status — `currentHealthy`, `desiredHealthy`, `expectedPods`,
//! `disruptionsAllowed`, `disruptedPods`, `observedGeneration` and the `DisruptionAllowed`
//! condition — in line with the pods it selects, which the eviction subresource
//! ([`crate::eviction`]) reads and decrements. It also resets a pod's stale `DisruptionTarget`
//! condition when an approved eviction never deleted it.
//!
//! `desiredHealthy` comes from `minAvailable` or `maxUnavailable`; percentages and
//! `maxUnavailable` are scaled against the replicas of the pods' controllers (ReplicaSet,
//! Deployment, StatefulSet, ReplicationController, or any resource with a `scale` subresource).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use tokio::sync::broadcast::error::RecvError;
use warren_apimachinery::error::ApiError;
use warren_apimachinery::selectors::LabelSelector;

use super::{Change, Client, Hub, Informer, WorkQueue, run_workers, split_key};
use crate::object;

/// How long an eviction approved by the API server may take to show as a deletion before
/// the pod counts as healthy again (`DeletionTimeout`).
pub const DELETION_TIMEOUT: Duration = Duration::from_secs(2 * 60);

/// How long a `DisruptionTarget` condition may stay on a pod that is not being deleted.
pub const STALE_POD_DISRUPTION_TIMEOUT: Duration = Duration::from_secs(2 * 60);

const CONTROLLER: &str = "disruption-controller";

struct Controller {
    client: Client,
    pdbs: Arc<Informer>,
    pods: Arc<Informer>,
    replica_sets: Arc<Informer>,
    deployments: Arc<Informer>,
    stateful_sets: Arc<Informer>,
    replication_controllers: Arc<Informer>,
}

/// Runs the controller until the hub is cancelled.
pub async fn run(hub: Arc<Hub>) {
    if let Err(err) = run_inner(hub).await {
        tracing::warn!(controller = CONTROLLER, error = %err.message, "controller stopped");
    }
}

async fn run_inner(hub: Arc<Hub>) -> Result<(), ApiError> {
    let ctl = Arc::new(Controller {
        client: Client::new(hub.api().clone(), CONTROLLER),
        pdbs: hub.informer("policy", "v1", "poddisruptionbudgets").await?,
        pods: hub.informer("", "v1", "pods").await?,
        replica_sets: hub.informer("apps", "v1", "replicasets").await?,
        deployments: hub.informer("apps", "v1", "deployments").await?,
        stateful_sets: hub.informer("apps", "v1", "statefulsets").await?,
        replication_controllers: hub.informer("", "v1", "replicationcontrollers").await?,
    });
    let mut pdb_rx = ctl.pdbs.subscribe();
    let mut pod_rx = ctl.pods.subscribe();
    let mut rs_rx = ctl.replica_sets.subscribe();
    let mut dep_rx = ctl.deployments.subscribe();
    let mut sts_rx = ctl.stateful_sets.subscribe();
    let mut rc_rx = ctl.replication_controllers.subscribe();
    let queue = Arc::new(WorkQueue::new());
    let stale_queue = Arc::new(WorkQueue::new());
    ctl.enqueue_everything(&queue, &stale_queue);

    let cancel = hub.cancel().clone();
    let workers = {
        let ctl = ctl.clone();
        let queue = queue.clone();
        let cancel = cancel.clone();
        async move {
            run_workers(queue, cancel, CONTROLLER, |key| {
                let ctl = ctl.clone();
                async move { ctl.sync(&key).await }
            })
            .await
        }
    };
    let stale_workers = {
        let ctl = ctl.clone();
        let queue = stale_queue.clone();
        let cancel = cancel.clone();
        async move {
            run_workers(queue, cancel, CONTROLLER, |key| {
                let ctl = ctl.clone();
                async move { ctl.sync_stale_pod_disruption(&key).await }
            })
            .await
        }
    };
    let feed = async {
        loop {
            let (changes, pods_changed) = tokio::select! {
                _ = cancel.cancelled() => return,
                c = pdb_rx.recv() => (c, false),
                c = pod_rx.recv() => (c, true),
                c = rs_rx.recv() => (c, false),
                c = dep_rx.recv() => (c, false),
                c = sts_rx.recv() => (c, false),
                c = rc_rx.recv() => (c, false),
            };
            match changes {
                Ok(change) if pods_changed => ctl.on_pod_change(&change, &queue, &stale_queue),
                Ok(change) => ctl.on_other_change(&change, &queue),
                Err(RecvError::Lagged(_)) => ctl.enqueue_everything(&queue, &stale_queue),
                Err(RecvError::Closed) => return,
            }
        }
    };
    tokio::join!(workers, stale_workers, feed);
    Ok(())
}

fn key_of(obj: &Value) -> String {
    format!(
        "{}/{}",
        object::meta_str(obj, "namespace").unwrap_or_default(),
        object::name(obj)
    )
}

impl Controller {
    fn enqueue_everything(&self, queue: &WorkQueue, stale_queue: &WorkQueue) {
        for pdb in self.pdbs.list() {
            queue.add(key_of(&pdb));
        }
        for pod in self.pods.list() {
            if let Some(after) = stale_disruption_wait(&pod, Utc::now()) {
                stale_queue.add_after(key_of(&pod), after);
            }
        }
    }

    /// Budgets, and the workloads whose scale they read: enqueue the budgets concerned.
    fn on_other_change(&self, change: &Change, queue: &WorkQueue) {
        if change.key.starts_with(self.pdbs.prefix()) {
            queue.add(key_of(&change.object));
            return;
        }
        // A workload's scale changed: its namespace's budgets may scale differently.
        let ns = object::meta_str(&change.object, "namespace").unwrap_or_default();
        for pdb in self.pdbs.list_namespace(ns) {
            queue.add(key_of(&pdb));
        }
    }

    fn on_pod_change(&self, change: &Change, queue: &WorkQueue, stale_queue: &WorkQueue) {
        for pod in std::iter::once(&change.object).chain(change.prev.as_ref()) {
            // Upstream picks one budget per pod; every matching one is enqueued here.
            for pdb in self.budgets_for_pod(pod) {
                queue.add(key_of(&pdb));
            }
        }
        if let Some(after) = stale_disruption_wait(&change.object, Utc::now()) {
            stale_queue.add_after(key_of(&change.object), after);
        }
    }

    fn budgets_for_pod(&self, pod: &Value) -> Vec<Arc<Value>> {
        let ns = object::meta_str(pod, "namespace").unwrap_or_default();
        self.pdbs
            .list_namespace(ns)
            .into_iter()
            .filter(|pdb| {
                LabelSelector::from_label_selector_json(
                    pdb.pointer("/spec/selector").unwrap_or(&Value::Null),
                )
                .is_ok_and(|s| s.matches_object(pod))
            })
            .collect()
    }

    async fn sync(&self, key: &str) -> Result<Option<Duration>, ApiError> {
        let (ns, name) = split_key(key);
        let Some(pdb) = self.pdbs.get(ns, name) else {
            return Ok(None);
        };
        let span = tracing::debug_span!("sync_pdb", namespace = ns.unwrap_or(""), name);
        let _guard = span.enter();
        let message = match self.try_sync(&pdb).await {
            Ok(again) => return Ok(again),
            // A conflict is retried without the fail-safe.
            Err(SyncError::Api(e)) if e.code == 409 => return Err(e),
            Err(SyncError::Api(e)) => e.message,
            Err(SyncError::Failed(message)) => message,
        };
        tracing::debug!(error = %message, "failed to sync pdb");
        self.fail_safe(&pdb, &message).await.map(|_| None)
    }

    async fn try_sync(&self, pdb: &Value) -> Result<Option<Duration>, SyncError> {
        let ns = object::meta_str(pdb, "namespace").unwrap_or_default();
        let selector = LabelSelector::from_label_selector_json(
            pdb.pointer("/spec/selector").unwrap_or(&Value::Null),
        )
        .map_err(|e| SyncError::Failed(e.message))?;
        let pods: Vec<Arc<Value>> = self
            .pods
            .list_namespace(ns)
            .into_iter()
            .filter(|p| selector.matches_object(p))
            .collect();
        let (expected, desired) = self
            .expected_pod_count(pdb, &pods)
            .await
            .map_err(SyncError::Failed)?;
        let now = Utc::now();
        let (disrupted, recheck) = build_disrupted_pod_map(&pods, pdb, now);
        let current = count_healthy_pods(&pods, &disrupted, now);
        self.update_status(pdb, current, desired, expected, disrupted)
            .await
            .map_err(SyncError::Api)?;
        Ok(recheck)
    }

    /// `(expectedCount, desiredHealthy)` (`getExpectedPodCount`).
    async fn expected_pod_count(
        &self,
        pdb: &Value,
        pods: &[Arc<Value>],
    ) -> Result<(i64, i64), String> {
        let spec = &pdb["spec"];
        if let Some(max_unavailable) = spec.get("maxUnavailable").filter(|v| !v.is_null()) {
            let expected = self.expected_scale(pods).await?;
            let max = scaled_value(max_unavailable, expected)?;
            return Ok((expected, (expected - max).max(0)));
        }
        match spec.get("minAvailable") {
            Some(Value::Number(n)) => Ok((pods.len() as i64, n.as_i64().unwrap_or(0))),
            Some(v @ Value::String(_)) => {
                let expected = self.expected_scale(pods).await?;
                Ok((expected, scaled_value(v, expected)?))
            }
            _ => Ok((0, 0)),
        }
    }

    /// The sum of the replicas of the pods' controllers (`getExpectedScale`); pods without a
    /// controller are left out, a controller that cannot be found is an error.
    async fn expected_scale(&self, pods: &[Arc<Value>]) -> Result<i64, String> {
        let mut scales: BTreeMap<String, i64> = BTreeMap::new();
        for pod in pods {
            let Some(cref) = controller_ref(pod) else {
                continue;
            };
            let uid = cref["uid"].as_str().unwrap_or_default();
            if scales.contains_key(uid) {
                continue;
            }
            let ns = object::meta_str(pod, "namespace").unwrap_or_default();
            match self.find_controller_scale(cref, ns).await? {
                Some((uid, scale)) => {
                    scales.insert(uid, scale);
                }
                None => {
                    return Err(format!(
                        "found no controllers for pod \"{}\"",
                        object::name(pod)
                    ));
                }
            }
        }
        Ok(scales.values().sum())
    }

    /// The controller of a pod and its scale, tried as upstream's finders are: RC,
    /// Deployment (through its ReplicaSet), ReplicaSet, StatefulSet, then any scalable kind.
    async fn find_controller_scale(
        &self,
        cref: &Value,
        ns: &str,
    ) -> Result<Option<(String, i64)>, String> {
        let api_version = cref["apiVersion"].as_str().unwrap_or_default();
        let kind = cref["kind"].as_str().unwrap_or_default();
        let name = cref["name"].as_str().unwrap_or_default();
        let uid = cref["uid"].as_str().unwrap_or_default();
        let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
        let owned = |inf: &Informer| {
            inf.get(Some(ns), name)
                .filter(|o| object::meta_str(o, "uid") == Some(uid))
        };
        let replicas = |o: &Value| {
            o.pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(1)
        };
        match (group, kind) {
            ("", "ReplicationController") => {
                return Ok(
                    owned(&self.replication_controllers).map(|rc| (uid.to_string(), replicas(&rc)))
                );
            }
            ("apps" | "extensions", "ReplicaSet") => {
                let Some(rs) = owned(&self.replica_sets) else {
                    return Ok(None);
                };
                return Ok(match controller_ref(&rs) {
                    Some(dref) if dref["kind"] == "Deployment" => {
                        let dgroup = dref["apiVersion"]
                            .as_str()
                            .and_then(|av| av.rsplit_once('/'))
                            .map_or("", |(g, _)| g);
                        if !matches!(dgroup, "apps" | "extensions") {
                            return Ok(None);
                        }
                        let dname = dref["name"].as_str().unwrap_or_default();
                        let duid = dref["uid"].as_str().unwrap_or_default();
                        self.deployments
                            .get(Some(ns), dname)
                            .filter(|d| object::meta_str(d, "uid") == Some(duid))
                            .map(|d| (duid.to_string(), replicas(&d)))
                    }
                    _ => Some((uid.to_string(), replicas(&rs))),
                });
            }
            ("apps", "StatefulSet") => {
                return Ok(owned(&self.stateful_sets).map(|s| (uid.to_string(), replicas(&s))));
            }
            _ => {}
        }
        self.scale_of_any(group, api_version, kind, ns, name, uid)
            .await
    }

    /// The scale of a controller of any kind with a `scale` subresource
    /// (`getScaleController`).
    async fn scale_of_any(
        &self,
        group: &str,
        api_version: &str,
        kind: &str,
        ns: &str,
        name: &str,
        uid: &str,
    ) -> Result<Option<(String, i64)>, String> {
        let version = api_version.rsplit('/').next().unwrap_or(api_version);
        let api = self.client.api();
        let infos = api.registry.all();
        let info = infos
            .iter()
            .find(|i| i.group == group && i.kind == kind && i.version == version)
            .or_else(|| infos.iter().find(|i| i.group == group && i.kind == kind))
            .ok_or_else(|| format!("no matches for kind \"{kind}\" in group \"{group}\""))?;
        if !info.has_subresource("scale") {
            return Err(format!(
                "{} does not implement the scale subresource",
                warren_apimachinery::error::qualified_resource(&info.group, &info.plural)
            ));
        }
        // A controller of another kind is rare enough to be read from the store directly.
        let Some(kv) = api
            .store
            .get(&info.key(Some(ns), name))
            .await
            .map_err(|e| e.to_string())?
        else {
            return Ok(None);
        };
        let obj = object::decode_stored(&kv.value, kv.mod_revision);
        if object::meta_str(&obj, "uid") != Some(uid) {
            return Ok(None);
        }
        let path = info
            .crd
            .as_deref()
            .and_then(|c| c.pointer("/subresources/scale/specReplicasPath"))
            .and_then(Value::as_str)
            .map(|p| {
                p.trim_start_matches('.')
                    .split('.')
                    .fold(String::new(), |acc, s| format!("{acc}/{s}"))
            })
            .unwrap_or_else(|| "/spec/replicas".into());
        Ok(Some((
            uid.to_string(),
            obj.pointer(&path).and_then(Value::as_i64).unwrap_or(0),
        )))
    }

    /// Writes the status if anything changed (`updatePdbStatus`).
    async fn update_status(
        &self,
        pdb: &Value,
        current: i64,
        desired: i64,
        expected: i64,
        disrupted: BTreeMap<String, String>,
    ) -> Result<(), ApiError> {
        let mut allowed = current - desired;
        if expected <= 0 || allowed <= 0 {
            allowed = 0;
        }
        let generation = pdb
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let status = &pdb["status"];
        let num = |f: &str| status.get(f).and_then(Value::as_i64).unwrap_or(0);
        let old_disrupted: BTreeMap<String, String> = status
            .get("disruptedPods")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        if num("currentHealthy") == current
            && num("desiredHealthy") == desired
            && num("expectedPods") == expected
            && num("disruptionsAllowed") == allowed
            && old_disrupted == disrupted
            && num("observedGeneration") == generation
            && conditions_are_up_to_date(pdb)
        {
            return Ok(());
        }
        let mut new = pdb.clone();
        let mut st = Map::new();
        st.insert("currentHealthy".into(), json!(current));
        st.insert("desiredHealthy".into(), json!(desired));
        st.insert("expectedPods".into(), json!(expected));
        st.insert("disruptionsAllowed".into(), json!(allowed));
        if !disrupted.is_empty() {
            st.insert("disruptedPods".into(), json!(disrupted));
        }
        if generation != 0 {
            st.insert("observedGeneration".into(), json!(generation));
        }
        if let Some(c) = status.get("conditions").filter(|c| c.is_array()) {
            st.insert("conditions".into(), c.clone());
        }
        new["status"] = Value::Object(st);
        update_disruption_allowed_condition(&mut new);
        let info = self
            .client
            .resource("policy", "v1", "poddisruptionbudgets")?;
        let ns = object::meta_str(pdb, "namespace").map(str::to_string);
        let written = self.client.update_status(&info, ns.as_deref(), new).await?;
        self.wait_for_own_write(&written).await;
        Ok(())
    }

    /// After a failed sync, at least make sure no eviction is approved (`failSafe`).
    async fn fail_safe(&self, pdb: &Value, message: &str) -> Result<(), ApiError> {
        let mut new = pdb.clone();
        if !new["status"].is_object() {
            new["status"] = json!({});
        }
        new["status"]["disruptionsAllowed"] = json!(0);
        let observed = new
            .pointer("/status/observedGeneration")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        set_status_condition(
            &mut new,
            json!({
                "type": "DisruptionAllowed", "status": "False", "reason": "SyncFailed",
                "message": message, "observedGeneration": observed,
            }),
        );
        if new == *pdb {
            return Ok(());
        }
        let info = self
            .client
            .resource("policy", "v1", "poddisruptionbudgets")?;
        let ns = object::meta_str(pdb, "namespace").map(str::to_string);
        let written = self.client.update_status(&info, ns.as_deref(), new).await?;
        self.wait_for_own_write(&written).await;
        Ok(())
    }

    async fn wait_for_own_write(&self, written: &Value) {
        if let Some(rev) = object::resource_version(written).and_then(|r| r.parse().ok()) {
            self.pdbs.wait_for(rev, Duration::from_secs(5)).await;
        }
    }

    /// Resets a `DisruptionTarget` condition left on a pod that was never deleted
    /// (`syncStalePodDisruption`).
    async fn sync_stale_pod_disruption(&self, key: &str) -> Result<Option<Duration>, ApiError> {
        let (ns, name) = split_key(key);
        let Some(pod) = self.pods.get(ns, name) else {
            return Ok(None);
        };
        match stale_disruption_wait(&pod, Utc::now()) {
            None => return Ok(None),
            Some(wait) if !wait.is_zero() => return Ok(Some(wait)),
            Some(_) => {}
        }
        let info = self.client.resource("", "v1", "pods")?;
        let mut new = (*pod).clone();
        let changed = new
            .pointer_mut("/status/conditions")
            .and_then(Value::as_array_mut)
            .and_then(|cs| cs.iter_mut().find(|c| c["type"] == "DisruptionTarget"))
            .map(|c| {
                c["status"] = json!("False");
                c["lastTransitionTime"] = json!(object::now_rfc3339());
                if let Some(m) = c.as_object_mut() {
                    m.remove("reason");
                    m.remove("message");
                }
            })
            .is_some();
        if changed {
            self.client.update_status(&info, ns, new).await?;
        }
        Ok(None)
    }
}

/// Why a sync failed: a write error (retried) or a computation error (reported on the budget
/// by [`Controller::fail_safe`]).
enum SyncError {
    Api(ApiError),
    Failed(String),
}

/// The controller reference of an object (`ownerReferences[controller=true]`).
fn controller_ref(obj: &Value) -> Option<&Value> {
    obj.pointer("/metadata/ownerReferences")?
        .as_array()?
        .iter()
        .find(|r| r["controller"] == true)
}

/// `intstr.GetScaledValueFromIntOrPercent(v, total, roundUp=true)`.
pub fn scaled_value(v: &Value, total: i64) -> Result<i64, String> {
    match v {
        Value::Number(n) => Ok(n.as_i64().unwrap_or(0)),
        Value::String(s) => {
            let Some(num) = s.strip_suffix('%') else {
                return Err(
                    "invalid value for IntOrString: invalid type: string is not a percentage"
                        .into(),
                );
            };
            let p: i64 = num.parse().map_err(|_| {
                format!(
                    "invalid value for IntOrString: invalid value \"{s}\": strconv.Atoi: parsing \"{num}\": invalid syntax"
                )
            })?;
            Ok((p * total + 99).div_euclid(100))
        }
        _ => Err("invalid value for IntOrString: invalid type: neither int nor percentage".into()),
    }
}

fn parse_time(s: Option<&str>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn is_pod_ready(pod: &Value) -> bool {
    crate::eviction::is_pod_ready(pod)
}

/// The pods an eviction was approved for that are not deleted yet, dropping entries for pods
/// now being deleted, gone, or overdue; and when to look again (`buildDisruptedPodMap`).
pub fn build_disrupted_pod_map(
    pods: &[Arc<Value>],
    pdb: &Value,
    now: DateTime<Utc>,
) -> (BTreeMap<String, String>, Option<Duration>) {
    let mut result = BTreeMap::new();
    let mut recheck: Option<Duration> = None;
    let Some(disrupted) = pdb
        .pointer("/status/disruptedPods")
        .and_then(Value::as_object)
    else {
        return (result, recheck);
    };
    for pod in pods {
        if object::is_deleting(pod) {
            continue;
        }
        let name = object::name(pod);
        let Some(raw) = disrupted.get(name) else {
            continue;
        };
        let Some(at) = parse_time(raw.as_str()) else {
            continue;
        };
        let expected_deletion =
            at + chrono::Duration::from_std(DELETION_TIMEOUT).unwrap_or_default();
        if expected_deletion < now {
            tracing::debug!(pod = name, "pod was expected to be deleted but it wasn't");
        } else {
            let wait = (expected_deletion - now).to_std().unwrap_or_default();
            recheck = Some(recheck.map_or(wait, |r| r.min(wait)));
            result.insert(
                name.to_string(),
                raw.as_str().unwrap_or_default().to_string(),
            );
        }
    }
    (result, recheck)
}

/// Ready pods not being deleted and not about to be (`countHealthyPods`).
pub fn count_healthy_pods(
    pods: &[Arc<Value>],
    disrupted: &BTreeMap<String, String>,
    now: DateTime<Utc>,
) -> i64 {
    pods.iter()
        .filter(|pod| !object::is_deleting(pod))
        .filter(|pod| {
            !disrupted
                .get(object::name(pod))
                .and_then(|t| parse_time(Some(t)))
                .is_some_and(|at| {
                    at + chrono::Duration::from_std(DELETION_TIMEOUT).unwrap_or_default() > now
                })
        })
        .filter(|pod| is_pod_ready(pod))
        .count() as i64
}

/// `apimeta.SetStatusCondition`: adds or updates the condition of the same type; the
/// transition time changes only with the status.
pub fn set_status_condition(obj: &mut Value, mut cond: Value) {
    if !obj["status"].is_object() {
        obj["status"] = json!({});
    }
    if !obj["status"]["conditions"].is_array() {
        obj["status"]["conditions"] = json!([]);
    }
    let conditions = obj["status"]["conditions"]
        .as_array_mut()
        .expect("conditions is an array");
    match conditions.iter_mut().find(|c| c["type"] == cond["type"]) {
        Some(existing) => {
            if existing["status"] != cond["status"] {
                existing["status"] = cond["status"].clone();
                existing["lastTransitionTime"] = json!(object::now_rfc3339());
            }
            existing["reason"] = cond["reason"].clone();
            existing["message"] = cond["message"].clone();
            existing["observedGeneration"] = cond["observedGeneration"].clone();
        }
        None => {
            cond["lastTransitionTime"] = json!(object::now_rfc3339());
            conditions.push(cond);
        }
    }
}

/// Sets the `DisruptionAllowed` condition from `status.disruptionsAllowed`
/// (`pdbhelper.UpdateDisruptionAllowedCondition`).
pub fn update_disruption_allowed_condition(pdb: &mut Value) {
    let allowed = pdb
        .pointer("/status/disruptionsAllowed")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let observed = pdb
        .pointer("/status/observedGeneration")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let (status, reason) = if allowed > 0 {
        ("True", "SufficientPods")
    } else {
        ("False", "InsufficientPods")
    };
    set_status_condition(
        pdb,
        json!({"type": "DisruptionAllowed", "status": status, "reason": reason, "message": "", "observedGeneration": observed}),
    );
}

/// `pdbhelper.ConditionsAreUpToDate`.
fn conditions_are_up_to_date(pdb: &Value) -> bool {
    let Some(cond) = pdb
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| c["type"] == "DisruptionAllowed"))
    else {
        return false;
    };
    let generation = pdb.pointer("/metadata/generation").and_then(Value::as_i64);
    let observed = pdb
        .pointer("/status/observedGeneration")
        .and_then(Value::as_i64);
    if generation.unwrap_or(0) != observed.unwrap_or(0) {
        return false;
    }
    let allowed = pdb
        .pointer("/status/disruptionsAllowed")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if allowed > 0 {
        cond["status"] == "True" && cond["reason"] == "SufficientPods"
    } else {
        cond["status"] == "False" && cond["reason"] == "InsufficientPods"
    }
}

/// For a pod not being deleted whose `DisruptionTarget` condition is True (and not set by
/// the kubelet), how long until the condition counts as stale.
fn stale_disruption_wait(pod: &Value, now: DateTime<Utc>) -> Option<Duration> {
    if object::is_deleting(pod) {
        return None;
    }
    if matches!(
        pod.pointer("/status/phase").and_then(Value::as_str),
        Some("Succeeded" | "Failed")
    ) {
        return None;
    }
    let cond = pod
        .pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c["type"] == "DisruptionTarget")?;
    if cond["status"] != "True" || cond["reason"] == "TerminationByKubelet" {
        return None;
    }
    let since = parse_time(cond["lastTransitionTime"].as_str()).unwrap_or(now);
    let age = (now - since).to_std().unwrap_or_default();
    Some(STALE_POD_DISRUPTION_TIMEOUT.saturating_sub(age))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, ready: bool) -> Arc<Value> {
        Arc::new(json!({
            "metadata": {"name": name, "namespace": "ns"},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}]},
        }))
    }

    #[test]
    fn percentages_round_up() {
        assert_eq!(scaled_value(&json!(2), 10), Ok(2));
        assert_eq!(scaled_value(&json!("50%"), 3), Ok(2));
        assert_eq!(scaled_value(&json!("10%"), 10), Ok(1));
        assert_eq!(scaled_value(&json!("0%"), 10), Ok(0));
        assert!(
            scaled_value(&json!("5"), 10)
                .unwrap_err()
                .contains("string is not a percentage")
        );
    }

    #[test]
    fn healthy_pods_exclude_deleting_and_recently_disrupted() {
        let now = Utc::now();
        let mut deleting = (*pod("c", true)).clone();
        deleting["metadata"]["deletionTimestamp"] = json!("2024-01-01T00:00:00Z");
        let pods = vec![
            pod("a", true),
            pod("b", true),
            Arc::new(deleting),
            pod("d", false),
        ];
        let recent = now.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let old = (now - chrono::Duration::minutes(5))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let pdb = json!({"status": {"disruptedPods": {"a": recent, "b": old, "gone": recent}}});
        let (map, recheck) = build_disrupted_pod_map(&pods, &pdb, now);
        assert_eq!(map.keys().collect::<Vec<_>>(), vec!["a"]);
        assert!(recheck.is_some_and(|r| r <= DELETION_TIMEOUT));
        assert_eq!(count_healthy_pods(&pods, &map, now), 1);
    }

    #[test]
    fn condition_follows_allowed_and_keeps_transition_time() {
        let mut pdb = json!({"metadata": {"generation": 1}, "status": {"disruptionsAllowed": 1, "observedGeneration": 1}});
        update_disruption_allowed_condition(&mut pdb);
        assert!(conditions_are_up_to_date(&pdb));
        let c = &pdb["status"]["conditions"][0];
        assert_eq!(c["reason"], "SufficientPods");
        assert_eq!(c["status"], "True");
        pdb["status"]["disruptionsAllowed"] = json!(0);
        assert!(!conditions_are_up_to_date(&pdb));
        update_disruption_allowed_condition(&mut pdb);
        assert_eq!(pdb["status"]["conditions"][0]["reason"], "InsufficientPods");
        assert_eq!(pdb["status"]["conditions"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn stale_disruption_target_waits_its_timeout() {
        let now = Utc::now();
        let fresh = json!({"status": {"phase": "Running", "conditions": [{"type": "DisruptionTarget", "status": "True", "reason": "EvictionByEvictionAPI", "lastTransitionTime": now.to_rfc3339()}]}});
        let wait = stale_disruption_wait(&fresh, now).unwrap();
        assert!(wait > Duration::from_secs(100));
        let later = now + chrono::Duration::minutes(3);
        assert_eq!(stale_disruption_wait(&fresh, later), Some(Duration::ZERO));
        let by_kubelet = json!({"status": {"conditions": [{"type": "DisruptionTarget", "status": "True", "reason": "TerminationByKubelet"}]}});
        assert_eq!(stale_disruption_wait(&by_kubelet, now), None);
    }
}
