//! The Job controller (kube-controller-manager's `job-controller`): creates a Job's pods up to
//! `parallelism` and never more than the remaining `completions` (NonIndexed or Indexed), counts
//! finished pods through the `batch.kubernetes.io/job-tracking` finalizer and
//! `status.uncountedTerminatedPods` so that no pod is counted twice or lost, fails the Job at
//! `backoffLimit` or `activeDeadlineSeconds`, suspends and resumes it, and finishes it with the
//! interim `FailureTarget`/`SuccessCriteriaMet` condition first and `Failed`/`Complete` once no
//! pod is left terminating, as kube 1.37 does.
//!
//! Not implemented: `podFailurePolicy`, `successPolicy` and `backoffLimitPerIndex` (their Jobs run
//! as if the field were unset).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::sync::broadcast::error::RecvError;
use warren_apimachinery::error::ApiError;
use warren_apimachinery::kinds::JOB_NAME_LABEL;
use warren_apimachinery::registry::ResourceInfo;
use warren_apimachinery::selectors::LabelSelector;
use warren_store::Revision;

use super::cron::{format_rfc3339, parse_rfc3339};
use super::{Client, Hub, Informer, WorkQueue};
use crate::handlers::DeleteOptions;

/// The finalizer that keeps a finished pod until the Job has counted it.
pub const TRACKING_FINALIZER: &str = "batch.kubernetes.io/job-tracking";
/// The annotation (and label) holding an Indexed Job pod's completion index.
pub const COMPLETION_INDEX: &str = "batch.kubernetes.io/job-completion-index";
/// The environment variable an Indexed Job's containers read their index from.
const COMPLETION_INDEX_ENV: &str = "JOB_COMPLETION_INDEX";
/// The name the controller writes events as.
const COMPONENT: &str = "job-controller";
/// The value of `spec.managedBy` that means this controller.
const MANAGED_BY_SELF: &str = "kubernetes.io/job-controller";
/// The first delay before replacing a failed pod; doubled per failure since the last success.
const POD_FAILURE_BACKOFF: i64 = 10;
/// The longest such delay.
const MAX_POD_FAILURE_BACKOFF: i64 = 360;
/// How many pods one sync creates or deletes at most.
const MAX_POD_CREATE_DELETE_PER_SYNC: usize = 500;
/// How many finished pods are put in `uncountedTerminatedPods` at once.
const MAX_UNCOUNTED_PODS: usize = 500;

/// A condition of a Job's status.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobCondition {
    /// `Complete`, `Failed`, `Suspended`, `FailureTarget`, `SuccessCriteriaMet`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True` or `False`.
    pub status: String,
    /// When last probed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_probe_time: Option<String>,
    /// When the status last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
    /// A CamelCase reason.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// A human-readable message.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

fn new_condition(type_: &str, status: &str, reason: &str, message: &str, now: i64) -> JobCondition {
    let t = format_rfc3339(now);
    JobCondition {
        type_: type_.into(),
        status: status.into(),
        last_probe_time: Some(t.clone()),
        last_transition_time: Some(t),
        reason: reason.into(),
        message: message.into(),
    }
}

/// Pods counted as finished but whose finalizer is not removed yet.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Uncounted {
    /// UIDs of succeeded pods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub succeeded: Vec<String>,
    /// UIDs of failed pods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<String>,
}

/// A Job's status, serialized as the API does (zero counters omitted, `ready`/`terminating`
/// always present once written).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobStatus {
    /// The conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<JobCondition>,
    /// When the Job started (or last resumed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// When it completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<String>,
    /// Pods neither finished nor terminating.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub active: i64,
    /// Succeeded pods.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub succeeded: i64,
    /// Failed pods.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failed: i64,
    /// Pods being deleted that have not finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminating: Option<i64>,
    /// Succeeded indexes of an Indexed Job (`1,3-5`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub completed_indexes: String,
    /// Failed indexes (with `backoffLimitPerIndex`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_indexes: Option<String>,
    /// Finished pods not yet in the counters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncounted_terminated_pods: Option<Uncounted>,
    /// Active pods that are Ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready: Option<i64>,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

impl JobStatus {
    fn condition(&self, type_: &str) -> Option<&JobCondition> {
        self.conditions.iter().find(|c| c.type_ == type_)
    }

    fn has_true(&self, type_: &str) -> bool {
        self.condition(type_).is_some_and(|c| c.status == "True")
    }

    /// kube's `ensureJobConditionStatus`: adds or updates a condition; a False one is never
    /// added. Returns whether anything changed.
    fn ensure_condition(
        &mut self,
        type_: &str,
        status: &str,
        reason: &str,
        message: &str,
        now: i64,
    ) -> bool {
        if let Some(c) = self.conditions.iter_mut().find(|c| c.type_ == type_) {
            if c.status != status || c.reason != reason || c.message != message {
                *c = new_condition(type_, status, reason, message, now);
                return true;
            }
            return false;
        }
        if status != "False" {
            self.conditions
                .push(new_condition(type_, status, reason, message, now));
            return true;
        }
        false
    }
}

/// Whether a Job has finished (a True `Complete` or `Failed` condition).
pub fn is_job_finished(job: &Value) -> Option<&'static str> {
    let conds = job.pointer("/status/conditions")?.as_array()?;
    for c in conds {
        let t = c.get("type").and_then(Value::as_str).unwrap_or("");
        if c.get("status").and_then(Value::as_str) == Some("True") {
            if t == "Complete" {
                return Some("Complete");
            }
            if t == "Failed" {
                return Some("Failed");
            }
        }
    }
    None
}

/// The controller reference (`controller: true` owner) of an object.
pub fn controller_of(obj: &Value) -> Option<&Value> {
    obj.pointer("/metadata/ownerReferences")?
        .as_array()?
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
}

fn str_at<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

fn uid(obj: &Value) -> &str {
    str_at(obj, "/metadata/uid")
}

fn phase(pod: &Value) -> &str {
    str_at(pod, "/status/phase")
}

fn has_finalizer(pod: &Value) -> bool {
    crate::object::finalizers(pod)
        .iter()
        .any(|f| f == TRACKING_FINALIZER)
}

fn is_ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                c.get("type").and_then(Value::as_str) == Some("Ready")
                    && c.get("status").and_then(Value::as_str) == Some("True")
            })
        })
}

/// kube's `FilterActivePods`: not finished and not being deleted.
fn is_active(pod: &Value) -> bool {
    !matches!(phase(pod), "Succeeded" | "Failed") && !crate::object::is_deleting(pod)
}

/// kube's `CountTerminatingPods`.
fn is_terminating(pod: &Value) -> bool {
    crate::object::is_deleting(pod) && !matches!(phase(pod), "Succeeded" | "Failed")
}

fn completion_index(pod: &Value) -> Option<i64> {
    pod.pointer("/metadata/annotations")
        .and_then(|a| a.get(COMPLETION_INDEX))
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|i| *i >= 0)
}

fn time_at(v: &Value, ptr: &str) -> Option<i64> {
    v.pointer(ptr)
        .and_then(Value::as_str)
        .and_then(parse_rfc3339)
}

/// kube's `getFinishedTime`: when a pod finished, as best known.
fn finished_time(pod: &Value, now: i64) -> i64 {
    let from_containers = pod
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .filter_map(|c| time_at(c, "/state/terminated/finishedAt"))
                .max()
        });
    from_containers
        .or_else(|| time_at(pod, "/metadata/deletionTimestamp"))
        .or_else(|| time_at(pod, "/metadata/creationTimestamp"))
        .unwrap_or(now)
}

/// Parses `completedIndexes` (`0,2-4`), keeping indexes below `completions`.
pub fn parse_indexes(s: &str, completions: i64) -> BTreeSet<i64> {
    let mut out = BTreeSet::new();
    for part in s.split(',').filter(|p| !p.is_empty()) {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.parse::<i64>(), b.parse::<i64>()),
            None => (part.parse::<i64>(), part.parse::<i64>()),
        };
        if let (Ok(a), Ok(b)) = (a, b) {
            for i in a.max(0)..=b.min(completions - 1) {
                out.insert(i);
            }
        }
    }
    out
}

/// Formats indexes as kube's ordered intervals (`0,2-4`).
pub fn format_indexes(set: &BTreeSet<i64>) -> String {
    let mut parts = Vec::new();
    let mut iter = set.iter().copied().peekable();
    while let Some(first) = iter.next() {
        let mut last = first;
        while iter.peek() == Some(&(last + 1)) {
            last = iter.next().expect("peeked");
        }
        parts.push(if first == last {
            first.to_string()
        } else {
            format!("{first}-{last}")
        });
    }
    parts.join(",")
}

/// kube's `ActivePods` order: the pods to delete first come first (unscheduled, pending, not
/// ready, newest).
fn removal_order(a: &Value, b: &Value) -> std::cmp::Ordering {
    let scheduled = |p: &Value| !str_at(p, "/spec/nodeName").is_empty();
    let phase_rank = |p: &Value| match phase(p) {
        "Pending" | "" => 0,
        "Unknown" => 1,
        "Running" => 2,
        _ => 3,
    };
    let created = |p: &Value| time_at(p, "/metadata/creationTimestamp").unwrap_or(0);
    scheduled(a)
        .cmp(&scheduled(b))
        .then(phase_rank(a).cmp(&phase_rank(b)))
        .then(is_ready(a).cmp(&is_ready(b)))
        .then(created(b).cmp(&created(a)))
}

/// The in-memory failure back-off of one Job (kube's `backoffRecord`).
#[derive(Clone, Debug, Default)]
struct BackoffRecord {
    failures_after_last_success: i64,
    last_failure_time: Option<i64>,
}

impl BackoffRecord {
    fn updated(&self, new_succeeded: &[i64], new_failed: &[i64]) -> BackoffRecord {
        let mut succeeded = new_succeeded.to_vec();
        let mut failed = new_failed.to_vec();
        succeeded.sort_unstable();
        failed.sort_unstable();
        let mut rec = self.clone();
        match succeeded.last() {
            None => {
                if let Some(last) = failed.last() {
                    rec.failures_after_last_success += failed.len() as i64;
                    rec.last_failure_time = Some(*last);
                }
            }
            Some(last_success) => {
                rec.failures_after_last_success = 0;
                rec.last_failure_time = None;
                for f in failed.iter().rev() {
                    if f <= last_success {
                        break;
                    }
                    if rec.last_failure_time.is_none() {
                        rec.last_failure_time = Some(*f);
                    }
                    rec.failures_after_last_success += 1;
                }
            }
        }
        rec
    }

    /// Seconds left before a replacement pod may be created.
    fn remaining(&self, now: i64) -> i64 {
        let Some(last) = self.last_failure_time else {
            return 0;
        };
        if self.failures_after_last_success == 0 {
            return 0;
        }
        let mut backoff = POD_FAILURE_BACKOFF;
        for _ in 1..self.failures_after_last_success {
            backoff *= 2;
            if backoff >= MAX_POD_FAILURE_BACKOFF {
                backoff = MAX_POD_FAILURE_BACKOFF;
                break;
            }
        }
        let elapsed = now - last;
        if backoff < elapsed {
            0
        } else {
            backoff - elapsed
        }
    }
}

/// The Job controller's state.
struct JobController {
    client: Client,
    jobs_info: Arc<ResourceInfo>,
    pods_info: Arc<ResourceInfo>,
    jobs: Arc<Informer>,
    pods: Arc<Informer>,
    backoff: Mutex<HashMap<String, BackoffRecord>>,
}

/// Runs the Job controller until the hub is cancelled.
pub async fn run(hub: Arc<Hub>) {
    let client = Client::new(hub.api().clone(), "job-controller");
    let (Ok(jobs_info), Ok(pods_info)) = (
        client.resource("batch", "v1", "jobs"),
        client.resource("", "v1", "pods"),
    ) else {
        return;
    };
    let (Ok(jobs), Ok(pods)) = (
        hub.informer("batch", "v1", "jobs").await,
        hub.informer("", "v1", "pods").await,
    ) else {
        return;
    };
    let ctrl = Arc::new(JobController {
        client,
        jobs_info,
        pods_info,
        jobs,
        pods,
        backoff: Mutex::new(HashMap::new()),
    });
    let queue = Arc::new(WorkQueue::new());
    let cancel = hub.cancel().clone();
    let feeder = {
        let ctrl = ctrl.clone();
        let queue = queue.clone();
        let cancel = cancel.clone();
        tokio::spawn(async move { ctrl.feed(queue, cancel).await })
    };
    let worker = ctrl.clone();
    super::run_workers(queue, cancel, "job-controller", move |key| {
        let ctrl = worker.clone();
        async move { ctrl.sync(&key).await }
    })
    .await;
    let _ = feeder.await;
}

impl JobController {
    fn job_key(&self, obj: &Value) -> String {
        format!(
            "{}/{}",
            crate::object::meta_str(obj, "namespace").unwrap_or(""),
            crate::object::name(obj)
        )
    }

    /// The Job controlling `pod`, if it exists (same name and uid).
    fn job_of_pod(&self, pod: &Value) -> Option<Arc<Value>> {
        let r = controller_of(pod)?;
        if r.get("kind").and_then(Value::as_str) != Some("Job")
            || r.get("apiVersion").and_then(Value::as_str) != Some("batch/v1")
        {
            return None;
        }
        let ns = crate::object::meta_str(pod, "namespace")?;
        let job = self
            .jobs
            .get(Some(ns), r.get("name").and_then(Value::as_str)?)?;
        (uid(&job) == r.get("uid").and_then(Value::as_str).unwrap_or("")).then_some(job)
    }

    fn enqueue_all(&self, queue: &WorkQueue) {
        for j in self.jobs.list() {
            queue.add(self.job_key(&j));
        }
    }

    fn enqueue_pod(&self, queue: &WorkQueue, pod: &Value) {
        if let Some(job) = self.job_of_pod(pod) {
            queue.add(self.job_key(&job));
        } else if controller_of(pod).is_none()
            && crate::object::labels(pod).contains_key(JOB_NAME_LABEL)
        {
            // A possible orphan to adopt: sync the Jobs of its namespace.
            let ns = crate::object::meta_str(pod, "namespace").unwrap_or("");
            for j in self.jobs.list_namespace(ns) {
                queue.add(self.job_key(&j));
            }
        }
        if has_finalizer(pod) && self.job_of_pod(pod).is_none() {
            queue.add(format!("pod:{}", self.job_key(pod)));
        }
    }

    async fn feed(&self, queue: Arc<WorkQueue>, cancel: tokio_util::sync::CancellationToken) {
        let mut job_rx = self.jobs.subscribe();
        let mut pod_rx = self.pods.subscribe();
        self.enqueue_all(&queue);
        for p in self.pods.list() {
            if has_finalizer(&p) {
                self.enqueue_pod(&queue, &p);
            }
        }
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                ev = job_rx.recv() => match ev {
                    Ok(c) => queue.add(self.job_key(&c.object)),
                    Err(RecvError::Lagged(_)) => self.enqueue_all(&queue),
                    Err(RecvError::Closed) => return,
                },
                ev = pod_rx.recv() => match ev {
                    Ok(c) => {
                        self.enqueue_pod(&queue, &c.object);
                        if let Some(prev) = &c.prev
                            && controller_of(prev) != controller_of(&c.object)
                        {
                            self.enqueue_pod(&queue, prev);
                        }
                    }
                    Err(RecvError::Lagged(_)) => self.enqueue_all(&queue),
                    Err(RecvError::Closed) => return,
                },
            }
        }
    }

    async fn sync(&self, key: &str) -> Result<Option<Duration>, ApiError> {
        if let Some(pod_key) = key.strip_prefix("pod:") {
            return self.sync_orphan_pod(pod_key).await.map(|_| None);
        }
        let (ns, name) = super::split_key(key);
        let Some(ns) = ns else { return Ok(None) };
        let Some(job) = self.jobs.get(Some(ns), name) else {
            self.backoff.lock().expect("backoff lock").remove(key);
            return Ok(None);
        };
        let span = tracing::debug_span!("reconcile", controller = "job", namespace = ns, name);
        let _enter = span.enter();
        let now = chrono::Utc::now().timestamp();
        let res = self.sync_job(key, ns, &job, now).await;
        drop(_enter);
        res
    }

    /// Removes the tracking finalizer from a pod whose Job is gone, finished or not a Job.
    async fn sync_orphan_pod(&self, key: &str) -> Result<(), ApiError> {
        let (ns, name) = super::split_key(key);
        let Some(pod) = self.pods.get(ns, name) else {
            return Ok(());
        };
        if let Some(job) = self.job_of_pod(&pod)
            && is_job_finished(&job).is_none()
        {
            return Ok(());
        }
        self.remove_finalizer(ns.unwrap_or(""), name).await
    }

    async fn remove_finalizer(&self, ns: &str, name: &str) -> Result<(), ApiError> {
        let res = self
            .client
            .modify(&self.pods_info, Some(ns), name, false, |p| {
                let Some(fins) = p
                    .pointer_mut("/metadata/finalizers")
                    .and_then(Value::as_array_mut)
                else {
                    return false;
                };
                let before = fins.len();
                fins.retain(|f| f.as_str() != Some(TRACKING_FINALIZER));
                fins.len() != before
            })
            .await;
        match res {
            Ok(obj) => {
                if let Some(rv) =
                    crate::object::resource_version(&obj).and_then(|r| r.parse::<Revision>().ok())
                {
                    self.pods.wait_for(rv, Duration::from_secs(5)).await;
                }
                Ok(())
            }
            Err(e) if e.code == 404 => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The pods the Job owns, after adopting orphans that match its selector and releasing
    /// owned pods that no longer match.
    async fn claim_pods(&self, ns: &str, job: &Value) -> Result<Vec<Arc<Value>>, ApiError> {
        let job_uid = uid(job);
        let selector = job
            .pointer("/spec/selector")
            .map(LabelSelector::from_label_selector_json)
            .transpose()?
            .unwrap_or_else(LabelSelector::nothing);
        let mut owned = Vec::new();
        for pod in self.pods.list_namespace(ns) {
            let matches = selector.matches_object(&pod);
            match controller_of(&pod) {
                Some(r) if r.get("uid").and_then(Value::as_str) == Some(job_uid) => {
                    if matches || crate::object::is_deleting(&pod) {
                        owned.push(pod);
                    } else {
                        // Release: the pod no longer matches the selector.
                        let job_uid = job_uid.to_string();
                        let _ = self
                            .client
                            .modify(
                                &self.pods_info,
                                Some(ns),
                                crate::object::name(&pod),
                                false,
                                |p| {
                                    let Some(refs) = p
                                        .pointer_mut("/metadata/ownerReferences")
                                        .and_then(Value::as_array_mut)
                                    else {
                                        return false;
                                    };
                                    let before = refs.len();
                                    refs.retain(|r| {
                                        r.get("uid").and_then(Value::as_str)
                                            != Some(job_uid.as_str())
                                    });
                                    refs.len() != before
                                },
                            )
                            .await;
                    }
                }
                Some(_) => {}
                None => {
                    if !matches
                        || crate::object::is_deleting(&pod)
                        || crate::object::is_deleting(job)
                    {
                        continue;
                    }
                    let owner = owner_reference(job);
                    let adopted = self
                        .client
                        .modify(
                            &self.pods_info,
                            Some(ns),
                            crate::object::name(&pod),
                            false,
                            |p| {
                                if controller_of(p).is_some() {
                                    return false;
                                }
                                let meta = crate::object::metadata_mut(p).expect("object");
                                let refs =
                                    meta.entry("ownerReferences").or_insert_with(|| json!([]));
                                if let Some(a) = refs.as_array_mut() {
                                    a.push(owner.clone());
                                }
                                let fins = meta.entry("finalizers").or_insert_with(|| json!([]));
                                if let Some(a) = fins.as_array_mut()
                                    && !a.iter().any(|f| f.as_str() == Some(TRACKING_FINALIZER))
                                {
                                    a.push(json!(TRACKING_FINALIZER));
                                }
                                true
                            },
                        )
                        .await;
                    if let Ok(p) = adopted
                        && controller_of(&p)
                            .and_then(|r| r.get("uid"))
                            .and_then(Value::as_str)
                            == Some(job_uid)
                    {
                        owned.push(Arc::new(p));
                    }
                }
            }
        }
        Ok(owned)
    }

    async fn sync_job(
        &self,
        key: &str,
        ns: &str,
        job: &Value,
        now: i64,
    ) -> Result<Option<Duration>, ApiError> {
        let managed_by = str_at(job, "/spec/managedBy");
        if !managed_by.is_empty() && managed_by != MANAGED_BY_SELF {
            return Ok(None);
        }
        let pods = self.claim_pods(ns, job).await?;
        if is_job_finished(job).is_some() {
            self.backoff.lock().expect("backoff lock").remove(key);
            // Pods of a finished Job are counted: let them go.
            for p in pods.iter().filter(|p| has_finalizer(p)) {
                self.remove_finalizer(ns, crate::object::name(p)).await?;
            }
            return Ok(None);
        }
        let mode = job
            .pointer("/spec/completionMode")
            .and_then(Value::as_str)
            .unwrap_or("NonIndexed");
        if mode != "NonIndexed" && mode != "Indexed" {
            record_event(
                &self.client,
                COMPONENT,
                job,
                "Warning",
                "UnknownCompletionMode",
                "Skipped Job sync because completion mode is unknown",
            )
            .await;
            return Ok(None);
        }
        let indexed = mode == "Indexed";
        let spec = job.get("spec").cloned().unwrap_or(Value::Null);
        let parallelism = spec.get("parallelism").and_then(Value::as_i64).unwrap_or(1);
        let completions = spec.get("completions").and_then(Value::as_i64);
        let backoff_limit = spec
            .get("backoffLimit")
            .and_then(Value::as_i64)
            .unwrap_or(6);
        let suspended = spec.get("suspend").and_then(Value::as_bool) == Some(true);
        let deadline = spec.get("activeDeadlineSeconds").and_then(Value::as_i64);
        let only_replace_failed = spec.get("podReplacementPolicy").and_then(Value::as_str)
            == Some("Failed")
            || spec.get("podFailurePolicy").is_some_and(|v| !v.is_null());
        let deleting = crate::object::is_deleting(job);

        let mut status: JobStatus =
            serde_json::from_value(job.get("status").cloned().unwrap_or(json!({})))
                .unwrap_or_default();
        let old_status = status.clone();
        let mut uncounted = status.uncounted_terminated_pods.clone().unwrap_or_default();
        let uncounted_succeeded: HashSet<String> = uncounted.succeeded.iter().cloned().collect();
        let uncounted_failed: HashSet<String> = uncounted.failed.iter().cloned().collect();

        let valid_index = |p: &Value| {
            !indexed || completion_index(p).is_some_and(|i| completions.is_some_and(|c| i < c))
        };
        let is_failed = |p: &Value| {
            phase(p) == "Failed"
                || (!only_replace_failed
                    && crate::object::is_deleting(p)
                    && phase(p) != "Succeeded")
        };
        let mut active: Vec<Arc<Value>> = pods.iter().filter(|p| is_active(p)).cloned().collect();
        let mut terminating = pods.iter().filter(|p| is_terminating(p)).count() as i64;
        let mut ready = active.iter().filter(|p| is_ready(p)).count() as i64;
        let fresh = |p: &Value, set: &HashSet<String>| {
            has_finalizer(p) && !set.contains(uid(p)) && valid_index(p)
        };
        let new_succeeded: Vec<&Arc<Value>> = pods
            .iter()
            .filter(|p| fresh(p, &uncounted_succeeded) && phase(p) == "Succeeded")
            .collect();
        let new_failed: Vec<&Arc<Value>> = pods
            .iter()
            .filter(|p| fresh(p, &uncounted_failed) && is_failed(p))
            .collect();
        let mut succeeded =
            status.succeeded + new_succeeded.len() as i64 + uncounted_succeeded.len() as i64;
        let failed = status.failed + new_failed.len() as i64 + uncounted_failed.len() as i64;

        if status.start_time.is_none() && !suspended {
            status.start_time = Some(format_rfc3339(now));
        }
        let backoff = {
            let map = self.backoff.lock().expect("backoff lock");
            map.get(key).cloned().unwrap_or_default().updated(
                &new_succeeded
                    .iter()
                    .map(|p| finished_time(p, now))
                    .collect::<Vec<_>>(),
                &new_failed
                    .iter()
                    .map(|p| finished_time(p, now))
                    .collect::<Vec<_>>(),
            )
        };
        let mut requeue: Option<i64> = None;

        // The condition the Job is heading for: (type written first, final type).
        let mut finished: Option<JobCondition> = status
            .conditions
            .iter()
            .find(|c| c.type_ == "SuccessCriteriaMet" && c.status == "True")
            .cloned();
        if finished.is_none()
            && let Some(ft) = status
                .conditions
                .iter()
                .find(|c| c.type_ == "FailureTarget" && c.status == "True")
        {
            finished = Some(new_condition(
                "Failed",
                "True",
                &ft.reason,
                &ft.message,
                now,
            ));
        }
        if finished.is_none() {
            let started = status.start_time.as_deref().and_then(parse_rfc3339);
            if failed > backoff_limit || past_backoff_limit_on_failure(&spec, &pods, backoff_limit)
            {
                finished = Some(new_condition(
                    "FailureTarget",
                    "True",
                    "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit",
                    now,
                ));
            } else if let (Some(d), Some(start), false) = (deadline, started, suspended) {
                if now - start >= d {
                    finished = Some(new_condition(
                        "FailureTarget",
                        "True",
                        "DeadlineExceeded",
                        "Job was active longer than specified deadline",
                        now,
                    ));
                } else {
                    requeue = Some(d - (now - start));
                }
            }
        }

        let prev_succeeded_indexes =
            parse_indexes(&status.completed_indexes, completions.unwrap_or(0));
        let mut succeeded_indexes = prev_succeeded_indexes.clone();
        if indexed {
            for p in &pods {
                if phase(p) == "Succeeded" && has_finalizer(p) && valid_index(p) {
                    succeeded_indexes.insert(completion_index(p).expect("valid index"));
                }
            }
            succeeded = succeeded_indexes.len() as i64;
        }

        let mut suspend_changed = false;
        if finished.is_some() {
            let (deleted_ready, deleted) = self.delete_pods(ns, job, &active, false).await;
            if deleted != active.len() as i64 {
                finished = None;
            }
            terminating += deleted;
            ready -= deleted_ready;
            active.clear();
        } else {
            let mut manage_called = false;
            if !deleting {
                manage_called = true;
                let ctx = ManageCtx {
                    ns,
                    job,
                    indexed,
                    parallelism,
                    completions,
                    suspended,
                    only_replace_failed,
                    succeeded,
                    succeeded_indexes: &succeeded_indexes,
                    backoff: &backoff,
                    now,
                };
                let outcome = self
                    .manage(&ctx, &mut active, &mut terminating, &mut ready)
                    .await;
                if let Some(after) = outcome.requeue {
                    requeue = Some(requeue.map_or(after, |r| r.min(after)));
                }
                outcome.error?;
            }
            let complete = match completions {
                None => succeeded > 0 && active.is_empty(),
                Some(c) => succeeded >= c && active.is_empty(),
            };
            if complete {
                finished = Some(new_condition(
                    "SuccessCriteriaMet",
                    "True",
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                    now,
                ));
            } else if manage_called {
                if suspended {
                    if status.ensure_condition(
                        "Suspended",
                        "True",
                        "JobSuspended",
                        "Job suspended",
                        now,
                    ) {
                        suspend_changed = true;
                        record_event(
                            &self.client,
                            COMPONENT,
                            job,
                            "Normal",
                            "Suspended",
                            "Job suspended",
                        )
                        .await;
                    }
                } else if status.ensure_condition(
                    "Suspended",
                    "False",
                    "JobResumed",
                    "Job resumed",
                    now,
                ) {
                    suspend_changed = true;
                    record_event(
                        &self.client,
                        COMPONENT,
                        job,
                        "Normal",
                        "Resumed",
                        "Job resumed",
                    )
                    .await;
                    status.start_time = Some(format_rfc3339(now));
                }
            }
        }
        let _ = suspend_changed;
        status.active = active.len() as i64;
        status.ready = Some(ready.max(0));
        status.terminating = Some(terminating);

        // --- trackJobStatusAndRemoveFinalizers ---
        let mut to_remove: Vec<Arc<Value>> = Vec::new();
        let mut new_indexes = Vec::new();
        let mut with_finalizer: HashSet<String> = pods
            .iter()
            .filter(|p| has_finalizer(p))
            .map(|p| uid(p).to_string())
            .collect();
        clean_uncounted(&mut status, &mut uncounted, &with_finalizer);
        let finishing_failed = finished
            .as_ref()
            .is_some_and(|c| c.type_ != "SuccessCriteriaMet");
        let mut pods_sorted: Vec<&Arc<Value>> = pods.iter().collect();
        if indexed {
            pods_sorted.sort_by_key(|p| completion_index(p).unwrap_or(i64::MAX));
        }
        let mut reached_max = false;
        for pod in pods_sorted {
            if !has_finalizer(pod) {
                continue;
            }
            let failed_now = is_failed(pod);
            let can_remove =
                deleting || finished.is_some() || phase(pod) == "Succeeded" || failed_now;
            if !can_remove {
                continue;
            }
            to_remove.push(pod.clone());
            let pod_uid = uid(pod).to_string();
            if phase(pod) == "Succeeded" && !uncounted.failed.contains(&pod_uid) {
                if indexed {
                    if let Some(ix) = completion_index(pod)
                        && completions.is_some_and(|c| ix < c)
                        && !prev_succeeded_indexes.contains(&ix)
                    {
                        new_indexes.push(ix);
                    }
                } else if !uncounted.succeeded.contains(&pod_uid) {
                    uncounted.succeeded.push(pod_uid);
                }
            } else if (failed_now || finishing_failed)
                && !uncounted.failed.contains(&pod_uid)
                && valid_index(pod)
            {
                uncounted.failed.push(pod_uid);
            }
            if new_indexes.len() + uncounted.succeeded.len() + uncounted.failed.len()
                >= MAX_UNCOUNTED_PODS
            {
                reached_max = true;
                break;
            }
        }
        if indexed {
            let mut all = prev_succeeded_indexes.clone();
            all.extend(new_indexes);
            status.succeeded = all.len() as i64;
            status.completed_indexes = format_indexes(&all);
        }
        let mut final_condition = None;
        if let Some(c) = finished.take() {
            match c.type_.as_str() {
                "FailureTarget" => {
                    status.conditions.push(c.clone());
                    final_condition =
                        Some(new_condition("Failed", "True", &c.reason, &c.message, now));
                }
                "SuccessCriteriaMet" => {
                    if !status.has_true("SuccessCriteriaMet") {
                        status.conditions.push(c.clone());
                    }
                    final_condition = Some(new_condition(
                        "Complete", "True", &c.reason, &c.message, now,
                    ));
                }
                _ => final_condition = Some(c),
            }
        }
        status.uncounted_terminated_pods = Some(uncounted.clone());
        // Flush: record the uncounted pods (and interim conditions) before finalizers go.
        let mut job_now = job.clone();
        if status != old_status {
            job_now = self.write_status(ns, &job_now, &status).await?;
            self.backoff
                .lock()
                .expect("backoff lock")
                .insert(key.to_string(), backoff.clone());
        }
        let mut rm_err = None;
        for p in &to_remove {
            match self.remove_finalizer(ns, crate::object::name(p)).await {
                Ok(()) => {
                    with_finalizer.remove(uid(p));
                }
                Err(e) => rm_err = Some(e),
            }
        }
        let before = status.clone();
        clean_uncounted(&mut status, &mut uncounted, &with_finalizer);
        status.uncounted_terminated_pods = Some(uncounted.clone());
        // enactJobFinished.
        if !reached_max
            && let Some(c) = &final_condition
            && uncounted.succeeded.is_empty()
            && uncounted.failed.is_empty()
            && terminating == 0
        {
            status.ensure_condition(&c.type_, &c.status, &c.reason, &c.message, now);
            if c.type_ == "Complete" {
                status.completion_time = c.last_transition_time.clone();
                if completions.is_some_and(|n| status.succeeded > n) {
                    record_event(
                        &self.client,
                        COMPONENT,
                        job,
                        "Warning",
                        "TooManySucceededPods",
                        "Too many succeeded pods running after completion count reached",
                    )
                    .await;
                }
                record_event(
                    &self.client,
                    COMPONENT,
                    job,
                    "Normal",
                    "Completed",
                    "Job completed",
                )
                .await;
            } else {
                record_event(
                    &self.client,
                    COMPONENT,
                    job,
                    "Warning",
                    &c.reason,
                    &c.message,
                )
                .await;
            }
        }
        if status != before {
            self.write_status(ns, &job_now, &status).await?;
        }
        if let Some(e) = rm_err {
            return Err(e);
        }
        Ok(requeue.map(|s| Duration::from_secs(s.max(0) as u64) + Duration::from_millis(100)))
    }

    async fn write_status(
        &self,
        ns: &str,
        job: &Value,
        status: &JobStatus,
    ) -> Result<Value, ApiError> {
        let mut obj = job.clone();
        obj["status"] = serde_json::to_value(status).expect("status serializes");
        let written = self
            .client
            .update_status(&self.jobs_info, Some(ns), obj)
            .await?;
        if let Some(rv) =
            crate::object::resource_version(&written).and_then(|r| r.parse::<Revision>().ok())
        {
            self.jobs.wait_for(rv, Duration::from_secs(5)).await;
        }
        Ok(written)
    }

    /// Deletes pods (after removing their tracking finalizer when `remove_finalizer`); returns
    /// (ready pods deleted, pods deleted).
    async fn delete_pods(
        &self,
        ns: &str,
        job: &Value,
        pods: &[Arc<Value>],
        remove_finalizer: bool,
    ) -> (i64, i64) {
        let mut deleted = 0;
        let mut deleted_ready = 0;
        for p in pods {
            let name = crate::object::name(p);
            if remove_finalizer && self.remove_finalizer(ns, name).await.is_err() {
                continue;
            }
            match self
                .client
                .delete(&self.pods_info, Some(ns), name, &DeleteOptions::default())
                .await
            {
                Ok(_) => {
                    record_event(
                        &self.client,
                        COMPONENT,
                        job,
                        "Normal",
                        "SuccessfulDelete",
                        &format!("Deleted pod: {name}"),
                    )
                    .await;
                }
                Err(e) if e.code == 404 => {}
                Err(_) => continue,
            }
            deleted += 1;
            if is_ready(p) {
                deleted_ready += 1;
            }
        }
        (deleted_ready, deleted)
    }

    /// kube's `manageJob`: deletes extra pods or creates missing ones.
    async fn manage(
        &self,
        ctx: &ManageCtx<'_>,
        active: &mut Vec<Arc<Value>>,
        terminating: &mut i64,
        ready: &mut i64,
    ) -> ManageOutcome {
        let mut out = ManageOutcome::default();
        if ctx.suspended {
            let (r, d) = self.delete_pods(ctx.ns, ctx.job, active, true).await;
            *terminating += d;
            *ready -= r;
            active.truncate(active.len().saturating_sub(d as usize));
            return out;
        }
        let current = active.len() as i64;
        let want = match ctx.completions {
            None => {
                if ctx.succeeded > 0 {
                    current
                } else {
                    ctx.parallelism
                }
            }
            Some(c) => (c - ctx.succeeded).min(ctx.parallelism).max(0),
        };
        let rm_at_least = (current - want).max(0) as usize;
        let mut to_delete = self.pods_for_removal(ctx, active, rm_at_least);
        to_delete.truncate(MAX_POD_CREATE_DELETE_PER_SYNC);
        if !to_delete.is_empty() {
            let (r, d) = self.delete_pods(ctx.ns, ctx.job, &to_delete, true).await;
            *terminating += d;
            *ready -= r;
            let gone: HashSet<&str> = to_delete.iter().map(|p| uid(p)).collect();
            active.retain(|p| !gone.contains(uid(p)));
            return out;
        }
        let term = if ctx.only_replace_failed {
            *terminating
        } else {
            0
        };
        let mut diff = want - term - current;
        if diff <= 0 {
            return out;
        }
        let remaining = ctx.backoff.remaining(ctx.now);
        if remaining > 0 {
            out.requeue = Some(remaining);
            return out;
        }
        diff = diff.min(MAX_POD_CREATE_DELETE_PER_SYNC as i64);
        let indexes: Vec<Option<i64>> = if ctx.indexed {
            let taken: HashSet<i64> = active.iter().filter_map(|p| completion_index(p)).collect();
            (0..ctx.completions.unwrap_or(0))
                .filter(|i| !ctx.succeeded_indexes.contains(i) && !taken.contains(i))
                .take(diff as usize)
                .map(Some)
                .collect()
        } else {
            (0..diff).map(|_| None).collect()
        };
        // Slow start: batches of 1, 2, 4, ... stop at the first failure.
        let mut batch = 1usize;
        let mut queue = indexes.into_iter();
        'batches: loop {
            let chunk: Vec<Option<i64>> = queue.by_ref().take(batch).collect();
            if chunk.is_empty() {
                break;
            }
            for index in chunk {
                let pod = new_pod(ctx.job, index);
                match self.client.create(&self.pods_info, Some(ctx.ns), pod).await {
                    Ok(created) => {
                        record_event(
                            &self.client,
                            COMPONENT,
                            ctx.job,
                            "Normal",
                            "SuccessfulCreate",
                            &format!("Created pod: {}", crate::object::name(&created)),
                        )
                        .await;
                        if let Some(rv) = crate::object::resource_version(&created)
                            .and_then(|r| r.parse::<Revision>().ok())
                        {
                            self.pods.wait_for(rv, Duration::from_secs(5)).await;
                        }
                        active.push(Arc::new(created));
                    }
                    Err(e) => {
                        record_event(
                            &self.client,
                            COMPONENT,
                            ctx.job,
                            "Warning",
                            "FailedCreate",
                            &format!("Error creating: {}", e.message),
                        )
                        .await;
                        out.error = Err(e);
                        break 'batches;
                    }
                }
            }
            batch *= 2;
        }
        out
    }

    /// kube's `activePodsForRemoval`: for an Indexed Job, pods with a bad or repeated index
    /// first; then the least advanced pods.
    fn pods_for_removal(
        &self,
        ctx: &ManageCtx<'_>,
        active: &[Arc<Value>],
        rm_at_least: usize,
    ) -> Vec<Arc<Value>> {
        let mut rm = Vec::new();
        let mut left: Vec<Arc<Value>> = Vec::new();
        if ctx.indexed {
            let mut by_index: HashMap<i64, Vec<Arc<Value>>> = HashMap::new();
            for p in active {
                match completion_index(p) {
                    Some(i) if ctx.completions.is_some_and(|c| i < c) => {
                        by_index.entry(i).or_default().push(p.clone())
                    }
                    _ => rm.push(p.clone()),
                }
            }
            for (_, mut group) in by_index {
                group.sort_by(|a, b| removal_order(a, b));
                let keep = group.pop().expect("non-empty");
                rm.extend(group);
                left.push(keep);
            }
        } else {
            left = active.to_vec();
        }
        if rm.len() < rm_at_least {
            left.sort_by(|a, b| removal_order(a, b));
            let n = rm_at_least - rm.len();
            rm.extend(left.into_iter().take(n));
        }
        rm
    }
}

struct ManageCtx<'a> {
    ns: &'a str,
    job: &'a Value,
    indexed: bool,
    parallelism: i64,
    completions: Option<i64>,
    suspended: bool,
    only_replace_failed: bool,
    succeeded: i64,
    succeeded_indexes: &'a BTreeSet<i64>,
    backoff: &'a BackoffRecord,
    now: i64,
}

struct ManageOutcome {
    requeue: Option<i64>,
    error: Result<(), ApiError>,
}

impl Default for ManageOutcome {
    fn default() -> Self {
        ManageOutcome {
            requeue: None,
            error: Ok(()),
        }
    }
}

/// kube's `cleanUncountedPodsWithoutFinalizers`: uncounted pods whose finalizer is gone move
/// into the counters.
fn clean_uncounted(status: &mut JobStatus, uncounted: &mut Uncounted, with: &HashSet<String>) {
    let before = uncounted.succeeded.len();
    uncounted.succeeded.retain(|u| with.contains(u));
    status.succeeded += (before - uncounted.succeeded.len()) as i64;
    let before = uncounted.failed.len();
    uncounted.failed.retain(|u| with.contains(u));
    status.failed += (before - uncounted.failed.len()) as i64;
    status.uncounted_terminated_pods = Some(uncounted.clone());
}

/// kube's `pastBackoffLimitOnFailure`: with `restartPolicy: OnFailure`, container restarts
/// count as failures.
fn past_backoff_limit_on_failure(spec: &Value, pods: &[Arc<Value>], limit: i64) -> bool {
    if str_at(spec, "/template/spec/restartPolicy") != "OnFailure" {
        return false;
    }
    let mut restarts = 0;
    for p in pods {
        if matches!(phase(p), "Running" | "Pending") {
            for list in ["initContainerStatuses", "containerStatuses"] {
                if let Some(cs) = p
                    .pointer(&format!("/status/{list}"))
                    .and_then(Value::as_array)
                {
                    restarts += cs
                        .iter()
                        .filter_map(|c| c.get("restartCount").and_then(Value::as_i64))
                        .sum::<i64>();
                }
            }
        }
    }
    if limit == 0 {
        restarts > 0
    } else {
        restarts >= limit
    }
}

/// The controller reference a Job puts on its pods.
fn owner_reference(job: &Value) -> Value {
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "name": crate::object::name(job),
        "uid": uid(job),
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

/// kube's `podGenerateNameWithIndex`: `<job>-<index>-`, the job name cut to fit.
fn generate_name(job_name: &str, index: Option<i64>) -> String {
    const MAX_GENERATED: usize = 58;
    let suffix = match index {
        Some(i) => format!("-{i}-"),
        None => "-".to_string(),
    };
    let mut prefix = job_name.to_string();
    if prefix.len() + suffix.len() > MAX_GENERATED {
        prefix.truncate(MAX_GENERATED.saturating_sub(suffix.len()));
    }
    format!("{prefix}{suffix}")
}

/// A new pod for `job` from its template (with the completion index of an Indexed Job).
pub fn new_pod(job: &Value, index: Option<i64>) -> Value {
    let template = job.pointer("/spec/template").cloned().unwrap_or(json!({}));
    let tmeta = template.get("metadata").cloned().unwrap_or(json!({}));
    let mut labels = tmeta
        .get("labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut annotations = tmeta
        .get("annotations")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut finalizers: Vec<Value> = tmeta
        .get("finalizers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if !finalizers
        .iter()
        .any(|f| f.as_str() == Some(TRACKING_FINALIZER))
    {
        finalizers.push(json!(TRACKING_FINALIZER));
    }
    let mut spec = template.get("spec").cloned().unwrap_or(json!({}));
    let job_name = crate::object::name(job);
    if let Some(i) = index {
        annotations.insert(COMPLETION_INDEX.into(), json!(i.to_string()));
        labels.insert(COMPLETION_INDEX.into(), json!(i.to_string()));
        spec["hostname"] = json!(format!("{job_name}-{i}"));
        for list in ["initContainers", "containers"] {
            if let Some(cs) = spec.get_mut(list).and_then(Value::as_array_mut) {
                for c in cs {
                    add_completion_index_env(c);
                }
            }
        }
    }
    let mut meta = Map::new();
    meta.insert("generateName".into(), json!(generate_name(job_name, index)));
    if !labels.is_empty() {
        meta.insert("labels".into(), Value::Object(labels));
    }
    if !annotations.is_empty() {
        meta.insert("annotations".into(), Value::Object(annotations));
    }
    meta.insert("finalizers".into(), Value::Array(finalizers));
    meta.insert("ownerReferences".into(), json!([owner_reference(job)]));
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec})
}

fn add_completion_index_env(container: &mut Value) {
    let Some(c) = container.as_object_mut() else {
        return;
    };
    let env = c.entry("env").or_insert_with(|| json!([]));
    let Some(env) = env.as_array_mut() else {
        return;
    };
    if env
        .iter()
        .any(|e| e.get("name").and_then(Value::as_str) == Some(COMPLETION_INDEX_ENV))
    {
        return;
    }
    env.push(json!({
        "name": COMPLETION_INDEX_ENV,
        "valueFrom": {"fieldRef": {"fieldPath":
            format!("metadata.annotations['{COMPLETION_INDEX}']")}},
    }));
}

/// Records a core/v1 Event about `obj` (see [`crate::ctrl::events::record`]).
pub(crate) async fn record_event(
    client: &Client,
    component: &str,
    obj: &Value,
    type_: &str,
    reason: &str,
    message: &str,
) {
    crate::ctrl::events::record(client, component, obj, type_, reason, message).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_round_trip_as_intervals() {
        let set: BTreeSet<i64> = [0, 1, 2, 4, 6, 7].into_iter().collect();
        assert_eq!(format_indexes(&set), "0-2,4,6-7");
        assert_eq!(parse_indexes("0-2,4,6-7", 10), set);
        // Indexes at or above completions are dropped.
        assert_eq!(format_indexes(&parse_indexes("0-2,4,6-7", 5)), "0-2,4");
        assert_eq!(format_indexes(&BTreeSet::new()), "");
    }

    #[test]
    fn backoff_doubles_per_failure_and_resets_on_success() {
        let rec = BackoffRecord::default().updated(&[], &[100]);
        assert_eq!(rec.remaining(100), 10);
        assert_eq!(rec.remaining(105), 5);
        assert_eq!(rec.remaining(111), 0);
        let rec = rec.updated(&[], &[120, 121]);
        assert_eq!(rec.failures_after_last_success, 3);
        assert_eq!(rec.remaining(121), 40);
        let rec = rec.updated(&[130], &[125, 131]);
        assert_eq!(rec.failures_after_last_success, 1);
        assert_eq!(rec.remaining(131), 10);
        let many = BackoffRecord {
            failures_after_last_success: 30,
            last_failure_time: Some(0),
        };
        assert_eq!(many.remaining(0), MAX_POD_FAILURE_BACKOFF);
    }

    #[test]
    fn indexed_pods_carry_their_index() {
        let job = json!({"metadata": {"name": "work", "namespace": "n", "uid": "u1"},
            "spec": {"template": {"metadata": {"labels": {"a": "b"}},
                "spec": {"containers": [{"name": "c", "image": "i"}], "restartPolicy": "Never"}}}});
        let pod = new_pod(&job, Some(2));
        assert_eq!(pod["metadata"]["generateName"], "work-2-");
        assert_eq!(pod["metadata"]["annotations"][COMPLETION_INDEX], "2");
        assert_eq!(pod["metadata"]["labels"][COMPLETION_INDEX], "2");
        assert_eq!(pod["metadata"]["labels"]["a"], "b");
        assert_eq!(pod["spec"]["hostname"], "work-2");
        assert_eq!(pod["metadata"]["finalizers"], json!([TRACKING_FINALIZER]));
        assert_eq!(pod["metadata"]["ownerReferences"][0]["uid"], "u1");
        assert_eq!(
            pod["spec"]["containers"][0]["env"][0],
            json!({"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {"fieldPath":
                "metadata.annotations['batch.kubernetes.io/job-completion-index']"}}})
        );
        let plain = new_pod(&job, None);
        assert_eq!(plain["metadata"]["generateName"], "work-");
        assert!(plain["spec"].get("hostname").is_none());
        let long = "x".repeat(70);
        assert_eq!(generate_name(&long, Some(12)).len(), 58);
    }

    #[test]
    fn status_serializes_as_the_api_does() {
        let s = JobStatus {
            ready: Some(0),
            terminating: Some(0),
            succeeded: 5,
            uncounted_terminated_pods: Some(Uncounted::default()),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            json!({"succeeded": 5, "terminating": 0, "uncountedTerminatedPods": {}, "ready": 0})
        );
    }
}
