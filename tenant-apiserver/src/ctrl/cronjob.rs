//! The CronJob controller (kube-controller-manager's `cronjob-controller`, v2): starts a Job
//! named `<cronjob>-<minutes since the epoch>` at each schedule time (standard cron syntax,
//! `spec.timeZone`), honours `concurrencyPolicy`, `suspend` and `startingDeadlineSeconds`
//! (with more than 100 missed times it starts only the latest and says so), keeps
//! `status.active`, `lastScheduleTime` and `lastSuccessfulTime`, removes finished Jobs beyond the
//! history limits, and wakes up again just after the next schedule time.
//!
//! The decisions are a pure function of the CronJob, its Jobs and the time ([`plan`]), so they
//! are unit-tested with any clock; the controller reads the time from a [`Clock`].

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use warren_apimachinery::error::ApiError;
use warren_apimachinery::registry::ResourceInfo;

use super::cron::{
    Missed, Schedule, Zone, format_rfc3339, most_recent_schedule_time, parse_rfc3339,
};
use super::job::{controller_of, is_job_finished, record_event};
use super::{Client, Hub, Informer, WorkQueue};
use crate::handlers::DeleteOptions;

/// The annotation on a CronJob's Job holding its scheduled time (RFC 3339, in the CronJob's
/// time zone).
pub const SCHEDULED_TIMESTAMP_ANNOTATION: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";
/// How long after a schedule time the controller wakes up (kube's `nextScheduleDelta`).
const NEXT_SCHEDULE_DELTA_MS: i64 = 100;
const COMPONENT: &str = "cronjob-controller";

/// The source of the current time, in Unix seconds.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> i64;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        chrono::Utc::now().timestamp()
    }
}

/// An event to record on the CronJob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// `Normal` or `Warning`.
    pub type_: &'static str,
    /// The reason.
    pub reason: &'static str,
    /// The message.
    pub message: String,
}

fn event(type_: &'static str, reason: &'static str, message: String) -> Event {
    Event {
        type_,
        reason,
        message,
    }
}

/// What one sync of a CronJob does.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// The status to write (if it differs from the current one), before any creation.
    pub status: Value,
    /// Jobs to delete (background propagation), oldest history first, then replaced ones.
    pub delete_jobs: Vec<String>,
    /// A Job to create and the schedule time it is for.
    pub create: Option<(Value, i64)>,
    /// Events to record.
    pub events: Vec<Event>,
    /// When to sync again, in milliseconds from now.
    pub requeue_after_ms: Option<i64>,
}

fn str_at<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

fn uid(v: &Value) -> &str {
    str_at(v, "/metadata/uid")
}

fn active_list(status: &Value) -> Vec<Value> {
    status
        .get("active")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn set_active(status: &mut Value, active: Vec<Value>) {
    if active.is_empty() {
        if let Some(o) = status.as_object_mut() {
            o.remove("active");
        }
    } else {
        status["active"] = Value::Array(active);
    }
}

fn remove_from_active(status: &mut Value, job_uid: &str) {
    let mut active = active_list(status);
    active.retain(|r| r.get("uid").and_then(Value::as_str) != Some(job_uid));
    set_active(status, active);
}

/// The Job's reference in `status.active`.
pub fn job_reference(job: &Value) -> Value {
    json!({
        "kind": "Job",
        "namespace": str_at(job, "/metadata/namespace"),
        "name": str_at(job, "/metadata/name"),
        "uid": uid(job),
        "apiVersion": "batch/v1",
        "resourceVersion": str_at(job, "/metadata/resourceVersion"),
    })
}

/// kube's `getJobName`: `<cronjob>-<scheduled time in minutes since the epoch>`.
pub fn job_name(cronjob_name: &str, scheduled: i64) -> String {
    format!("{cronjob_name}-{}", scheduled.div_euclid(60))
}

/// kube's `getJobFromTemplate2`.
pub fn job_from_template(cj: &Value, scheduled: i64, zone: &Zone) -> Value {
    let tmpl = cj
        .pointer("/spec/jobTemplate")
        .cloned()
        .unwrap_or(json!({}));
    let mut annotations = tmpl
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    annotations.insert(
        SCHEDULED_TIMESTAMP_ANNOTATION.into(),
        json!(zone.rfc3339(scheduled)),
    );
    let mut meta = json!({
        "name": job_name(crate::object::name(cj), scheduled),
        "annotations": annotations,
        "ownerReferences": [{
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "name": crate::object::name(cj),
            "uid": uid(cj),
            "controller": true,
            "blockOwnerDeletion": true,
        }],
    });
    if let Some(labels) = tmpl.pointer("/metadata/labels").filter(|l| l.is_object()) {
        meta["labels"] = labels.clone();
    }
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta,
        "spec": tmpl.get("spec").cloned().unwrap_or(json!({})),
    })
}

/// The schedule of a CronJob as kube's `formatSchedule` + `cron.ParseStandard` read it.
fn schedule_of(cj: &Value) -> Result<Schedule, String> {
    let schedule = str_at(cj, "/spec/schedule");
    let zone = match cj.pointer("/spec/timeZone").and_then(Value::as_str) {
        Some(tz) if !schedule.contains("TZ") => Zone::load(tz).unwrap_or(Zone::Utc),
        _ => Zone::Utc,
    };
    super::cron::parse_standard(schedule, zone)
}

fn zone_of(cj: &Value) -> Result<Zone, String> {
    match cj.pointer("/spec/timeZone").and_then(Value::as_str) {
        Some(tz) => Zone::load(tz),
        None => Ok(Zone::Utc),
    }
}

/// The time the schedule counts from: the last schedule time, else the creation time.
fn earliest_time(cj: &Value) -> i64 {
    cj.pointer("/status/lastScheduleTime")
        .and_then(Value::as_str)
        .and_then(parse_rfc3339)
        .or_else(|| {
            cj.pointer("/metadata/creationTimestamp")
                .and_then(Value::as_str)
                .and_then(parse_rfc3339)
        })
        .unwrap_or(0)
}

/// kube's `nextScheduleTimeDuration`, in milliseconds.
fn next_schedule_ms(cj: &Value, status: &Value, now: i64, schedule: &Schedule) -> Option<i64> {
    let mut with_status = cj.clone();
    with_status["status"] = status.clone();
    let from = match most_recent_schedule_time(schedule, earliest_time(&with_status), None, now) {
        Err(_) => now,
        Ok((_, Some(recent), _)) => recent,
        Ok((earliest, None, Missed::None)) => earliest,
        Ok((_, None, _)) => now,
    };
    let next = schedule.next(from)?;
    Some((next - now) * 1000 + NEXT_SCHEDULE_DELTA_MS)
}

/// kube's `byJobStartTime`: by `status.startTime` (none last), then by name.
fn by_start_time(a: &Value, b: &Value) -> std::cmp::Ordering {
    let start = |j: &Value| {
        j.pointer("/status/startTime")
            .and_then(Value::as_str)
            .and_then(parse_rfc3339)
    };
    match (start(a), start(b)) {
        (Some(x), Some(y)) if x != y => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        _ => crate::object::name(a).cmp(crate::object::name(b)),
    }
}

/// One sync of a CronJob (kube's `cleanupFinishedJobs` then `syncCronJob`) as a plan: `jobs` are
/// the Jobs it controls, `now` the time.
pub fn plan(cj: &Value, jobs: &[Arc<Value>], now: i64) -> Plan {
    let mut p = Plan {
        status: cj.get("status").cloned().unwrap_or(json!({})),
        ..Default::default()
    };
    if !p.status.is_object() {
        p.status = json!({});
    }
    // History limits.
    let limit = |f: &str| cj.pointer(&format!("/spec/{f}")).and_then(Value::as_i64);
    for (kind, field) in [
        ("Complete", "successfulJobsHistoryLimit"),
        ("Failed", "failedJobsHistoryLimit"),
    ] {
        let Some(max) = limit(field) else { continue };
        let mut finished: Vec<&Arc<Value>> = jobs
            .iter()
            .filter(|j| is_job_finished(j) == Some(kind))
            .collect();
        let extra = finished.len() as i64 - max;
        if extra <= 0 {
            continue;
        }
        finished.sort_by(|a, b| by_start_time(a, b));
        for j in finished.into_iter().take(extra as usize) {
            let name = crate::object::name(j);
            p.delete_jobs.push(name.to_string());
            remove_from_active(&mut p.status, uid(j));
            p.events.push(event(
                "Normal",
                "SuccessfulDelete",
                format!("Deleted job {name}"),
            ));
        }
    }
    // The active list against the Jobs.
    let in_active = |status: &Value, job_uid: &str| {
        active_list(status)
            .iter()
            .any(|r| r.get("uid").and_then(Value::as_str) == Some(job_uid))
    };
    for j in jobs {
        let found = in_active(&p.status, uid(j));
        let finished = is_job_finished(j);
        if !found && finished.is_none() {
            p.events.push(event(
                "Warning",
                "UnexpectedJob",
                format!(
                    "Saw a job that the controller did not create or forgot: {}",
                    crate::object::name(j)
                ),
            ));
        } else if found && let Some(status) = finished {
            remove_from_active(&mut p.status, uid(j));
            p.events.push(event(
                "Normal",
                "SawCompletedJob",
                format!(
                    "Saw completed job: {}, status: {status}",
                    crate::object::name(j)
                ),
            ));
        } else if finished == Some("Complete")
            && let Some(done) = j.pointer("/status/completionTime").and_then(Value::as_str)
        {
            let last = p
                .status
                .get("lastSuccessfulTime")
                .and_then(Value::as_str)
                .and_then(parse_rfc3339);
            if last.is_none_or(|l| parse_rfc3339(done).is_some_and(|d| d > l)) {
                p.status["lastSuccessfulTime"] = json!(done);
            }
        }
    }
    let uids: Vec<&str> = jobs.iter().map(|j| uid(j)).collect();
    for r in active_list(&p.status) {
        let r_uid = r.get("uid").and_then(Value::as_str).unwrap_or("");
        if !uids.contains(&r_uid) {
            p.events.push(event(
                "Normal",
                "MissingJob",
                format!(
                    "Active job went missing: {}",
                    r.get("name").and_then(Value::as_str).unwrap_or("")
                ),
            ));
            remove_from_active(&mut p.status, r_uid);
        }
    }
    if crate::object::is_deleting(cj) {
        return p;
    }
    let zone = match zone_of(cj) {
        Ok(z) => z,
        Err(e) => {
            p.events.push(event(
                "Warning",
                "UnknownTimeZone",
                format!("invalid timeZone: {:?}: {e}", str_at(cj, "/spec/timeZone")),
            ));
            return p;
        }
    };
    if cj.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true) {
        return p;
    }
    let schedule_str = str_at(cj, "/spec/schedule");
    if schedule_str.contains("TZ") {
        p.events.push(event(
            "Warning",
            "UnsupportedSchedule",
            format!(
                "CRON_TZ or TZ used in schedule {schedule_str:?} is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details"
            ),
        ));
    }
    let schedule = match schedule_of(cj) {
        Ok(s) => s,
        Err(e) => {
            p.events.push(event(
                "Warning",
                "UnparseableSchedule",
                format!("unparseable schedule: {schedule_str:?} : {e}"),
            ));
            return p;
        }
    };
    let deadline = cj
        .pointer("/spec/startingDeadlineSeconds")
        .and_then(Value::as_i64);
    let mut with_status = cj.clone();
    with_status["status"] = p.status.clone();
    let scheduled = match most_recent_schedule_time(
        &schedule,
        earliest_time(&with_status),
        deadline,
        now,
    ) {
        Err(e) => {
            p.events.push(event(
                "Warning",
                "InvalidSchedule",
                format!("invalid schedule: {schedule_str} : {e}"),
            ));
            return p;
        }
        Ok((_, recent, missed)) => {
            if recent.is_some() && missed == Missed::Many {
                p.events.push(event(
                        "Warning",
                        "TooManyMissedTimes",
                        "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew".into(),
                    ));
            }
            recent.filter(|t| *t <= now)
        }
    };
    let requeue = |status: &Value| next_schedule_ms(cj, status, now, &schedule);
    let Some(scheduled) = scheduled else {
        p.requeue_after_ms = requeue(&p.status);
        return p;
    };
    if deadline.is_some_and(|d| scheduled + d < now) {
        p.events.push(event(
            "Warning",
            "MissSchedule",
            format!(
                "Missed scheduled time to start a job: {}",
                chrono::DateTime::from_timestamp(scheduled, 0)
                    .map(|t| t.format("%a, %d %b %Y %H:%M:%S %z").to_string())
                    .unwrap_or_default()
            ),
        ));
        p.requeue_after_ms = requeue(&p.status);
        return p;
    }
    let name = job_name(crate::object::name(cj), scheduled);
    let already = active_list(&p.status)
        .iter()
        .any(|r| r.get("name").and_then(Value::as_str) == Some(name.as_str()))
        || p.status
            .get("lastScheduleTime")
            .and_then(Value::as_str)
            .and_then(parse_rfc3339)
            == Some(scheduled);
    if already {
        p.requeue_after_ms = requeue(&p.status);
        return p;
    }
    let policy = str_at(cj, "/spec/concurrencyPolicy");
    if policy == "Forbid" && !active_list(&p.status).is_empty() {
        p.events.push(event(
            "Normal",
            "JobAlreadyActive",
            "Not starting job because prior execution is running and concurrency policy is Forbid"
                .into(),
        ));
        p.requeue_after_ms = requeue(&p.status);
        return p;
    }
    if policy == "Replace" {
        for r in active_list(&p.status) {
            let n = r.get("name").and_then(Value::as_str).unwrap_or("");
            p.delete_jobs.push(n.to_string());
            p.events.push(event(
                "Normal",
                "SuccessfulDelete",
                format!("Deleted job {n}"),
            ));
            remove_from_active(
                &mut p.status,
                r.get("uid").and_then(Value::as_str).unwrap_or(""),
            );
        }
    }
    p.create = Some((job_from_template(cj, scheduled, &zone), scheduled));
    let mut after = p.status.clone();
    after["lastScheduleTime"] = json!(format_rfc3339(scheduled));
    p.requeue_after_ms = requeue(&after);
    p
}

/// The CronJob controller's state.
struct CronJobController {
    client: Client,
    cronjobs_info: Arc<ResourceInfo>,
    jobs_info: Arc<ResourceInfo>,
    cronjobs: Arc<Informer>,
    jobs: Arc<Informer>,
    clock: Arc<dyn Clock>,
}

/// Runs the CronJob controller on the system clock until the hub is cancelled.
pub async fn run(hub: Arc<Hub>) {
    run_with_clock(hub, Arc::new(SystemClock)).await
}

/// Runs the CronJob controller with `clock`.
pub async fn run_with_clock(hub: Arc<Hub>, clock: Arc<dyn Clock>) {
    let client = Client::new(hub.api().clone(), COMPONENT);
    let (Ok(cronjobs_info), Ok(jobs_info)) = (
        client.resource("batch", "v1", "cronjobs"),
        client.resource("batch", "v1", "jobs"),
    ) else {
        return;
    };
    let (Ok(cronjobs), Ok(jobs)) = (
        hub.informer("batch", "v1", "cronjobs").await,
        hub.informer("batch", "v1", "jobs").await,
    ) else {
        return;
    };
    let ctrl = Arc::new(CronJobController {
        client,
        cronjobs_info,
        jobs_info,
        cronjobs,
        jobs,
        clock,
    });
    let queue = Arc::new(WorkQueue::new());
    let cancel = hub.cancel().clone();
    let feeder = {
        let (ctrl, queue, cancel) = (ctrl.clone(), queue.clone(), cancel.clone());
        tokio::spawn(async move { ctrl.feed(queue, cancel).await })
    };
    let worker = ctrl.clone();
    super::run_workers(queue, cancel, COMPONENT, move |key| {
        let ctrl = worker.clone();
        async move { ctrl.sync(&key).await }
    })
    .await;
    let _ = feeder.await;
}

fn key_of(obj: &Value) -> String {
    format!(
        "{}/{}",
        crate::object::meta_str(obj, "namespace").unwrap_or(""),
        crate::object::name(obj)
    )
}

impl CronJobController {
    fn enqueue_all(&self, queue: &WorkQueue) {
        for cj in self.cronjobs.list() {
            queue.add(key_of(&cj));
        }
    }

    fn enqueue_owner(&self, queue: &WorkQueue, job: &Value) {
        if let Some(r) = controller_of(job)
            && r.get("kind").and_then(Value::as_str) == Some("CronJob")
        {
            let ns = crate::object::meta_str(job, "namespace").unwrap_or("");
            let name = r.get("name").and_then(Value::as_str).unwrap_or("");
            if let Some(cj) = self.cronjobs.get(Some(ns), name)
                && uid(&cj) == r.get("uid").and_then(Value::as_str).unwrap_or("")
            {
                queue.add(key_of(&cj));
            }
        }
    }

    async fn feed(&self, queue: Arc<WorkQueue>, cancel: tokio_util::sync::CancellationToken) {
        let mut cj_rx = self.cronjobs.subscribe();
        let mut job_rx = self.jobs.subscribe();
        self.enqueue_all(&queue);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                ev = cj_rx.recv() => match ev {
                    Ok(c) => {
                        let changed_schedule = c.prev.as_ref().is_some_and(|prev| {
                            prev.pointer("/spec/schedule") != c.object.pointer("/spec/schedule")
                                || prev.pointer("/spec/timeZone") != c.object.pointer("/spec/timeZone")
                        });
                        // A new schedule takes effect from its next time, not retroactively.
                        match schedule_of(&c.object) {
                            Ok(s) if changed_schedule => {
                                let status = c.object.get("status").cloned().unwrap_or(json!({}));
                                let ms = next_schedule_ms(&c.object, &status, self.clock.now(), &s);
                                queue.add_after(key_of(&c.object), Duration::from_millis(ms.unwrap_or(0).max(0) as u64));
                            }
                            Err(_) if changed_schedule => {}
                            _ => queue.add(key_of(&c.object)),
                        }
                    }
                    Err(RecvError::Lagged(_)) => self.enqueue_all(&queue),
                    Err(RecvError::Closed) => return,
                },
                ev = job_rx.recv() => match ev {
                    Ok(c) => {
                        self.enqueue_owner(&queue, &c.object);
                        if let Some(prev) = &c.prev && controller_of(prev) != controller_of(&c.object) {
                            self.enqueue_owner(&queue, prev);
                        }
                    }
                    Err(RecvError::Lagged(_)) => self.enqueue_all(&queue),
                    Err(RecvError::Closed) => return,
                },
            }
        }
    }

    async fn sync(&self, key: &str) -> Result<Option<Duration>, ApiError> {
        let (ns, name) = super::split_key(key);
        let Some(ns) = ns else { return Ok(None) };
        let Some(cj) = self.cronjobs.get(Some(ns), name) else {
            return Ok(None);
        };
        let span = tracing::debug_span!("reconcile", controller = COMPONENT, namespace = ns, name);
        let _enter = span.enter();
        let jobs: Vec<Arc<Value>> = self
            .jobs
            .list_namespace(ns)
            .into_iter()
            .filter(|j| {
                controller_of(j).is_some_and(|r| {
                    r.get("name").and_then(Value::as_str) == Some(name)
                        && r.get("kind").and_then(Value::as_str) == Some("CronJob")
                })
            })
            .collect();
        let plan = plan(&cj, &jobs, self.clock.now());
        drop(_enter);
        let mut status = plan.status.clone();
        let background = DeleteOptions {
            propagation: Some("Background".into()),
            ..Default::default()
        };
        for name in &plan.delete_jobs {
            match self
                .client
                .delete(&self.jobs_info, Some(ns), name, &background)
                .await
            {
                Ok(_) => {}
                Err(e) if e.code == 404 => {}
                Err(e) => {
                    self.event(
                        &cj,
                        "Warning",
                        "FailedDelete",
                        &format!("Deleted job: {}", e.message),
                    )
                    .await;
                    return Err(e);
                }
            }
        }
        for e in &plan.events {
            self.event(&cj, e.type_, e.reason, &e.message).await;
        }
        let mut requeue = plan.requeue_after_ms;
        if let Some((job, scheduled)) = plan.create {
            let job_name = crate::object::name(&job).to_string();
            match self.client.create(&self.jobs_info, Some(ns), job).await {
                Ok(created) => {
                    self.event(
                        &cj,
                        "Normal",
                        "SuccessfulCreate",
                        &format!("Created job {job_name}"),
                    )
                    .await;
                    let mut active = active_list(&status);
                    active.push(job_reference(&created));
                    set_active(&mut status, active);
                    status["lastScheduleTime"] = json!(format_rfc3339(scheduled));
                }
                Err(e) if e.code == 409 => {
                    let existing = self.jobs.get(Some(ns), &job_name);
                    let ours = existing.as_ref().is_some_and(|j| {
                        controller_of(j)
                            .and_then(|r| r.get("uid"))
                            .and_then(Value::as_str)
                            == Some(uid(&cj))
                    });
                    let listed = existing.as_ref().is_some_and(|j| {
                        active_list(&status)
                            .iter()
                            .any(|r| r.get("uid").and_then(Value::as_str) == Some(uid(j)))
                    });
                    requeue = None;
                    if let (Some(j), true, false) = (existing, ours, listed) {
                        let mut active = active_list(&status);
                        active.push(job_reference(&j));
                        set_active(&mut status, active);
                        status["lastScheduleTime"] = json!(format_rfc3339(scheduled));
                    }
                }
                Err(e) => {
                    self.event(
                        &cj,
                        "Warning",
                        "FailedCreate",
                        &format!("Error creating job: {}", e.message),
                    )
                    .await;
                    self.write_status(ns, &cj, status).await?;
                    return Err(e);
                }
            }
        }
        self.write_status(ns, &cj, status).await?;
        Ok(requeue.map(|ms| Duration::from_millis(ms.max(0) as u64)))
    }

    async fn write_status(&self, ns: &str, cj: &Value, status: Value) -> Result<(), ApiError> {
        let current = cj.get("status").cloned().unwrap_or(json!({}));
        if status == current {
            return Ok(());
        }
        let mut obj = cj.clone();
        obj["status"] = status;
        let written = self
            .client
            .update_status(&self.cronjobs_info, Some(ns), obj)
            .await?;
        if let Some(rv) = crate::object::resource_version(&written).and_then(|r| r.parse().ok()) {
            self.cronjobs.wait_for(rv, Duration::from_secs(5)).await;
        }
        Ok(())
    }

    async fn event(&self, cj: &Value, type_: &str, reason: &str, message: &str) {
        let mut obj = cj.clone();
        obj["apiVersion"] = json!("batch/v1");
        obj["kind"] = json!("CronJob");
        record_event(&self.client, COMPONENT, &obj, type_, reason, message).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> i64 {
        parse_rfc3339(s).unwrap()
    }

    fn cronjob(schedule: &str, extra: Value) -> Value {
        let mut cj = json!({
            "apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": "cj", "namespace": "n", "uid": "cj-uid",
                "creationTimestamp": "2024-01-01T09:55:00Z"},
            "spec": {"schedule": schedule, "concurrencyPolicy": "Allow", "suspend": false,
                "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1,
                "jobTemplate": {"metadata": {"labels": {"app": "x"}},
                    "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i"}],
                        "restartPolicy": "Never"}}}}},
            "status": {},
        });
        merge(&mut cj, extra);
        cj
    }

    fn merge(a: &mut Value, b: Value) {
        match (a, b) {
            (Value::Object(a), Value::Object(b)) => {
                for (k, v) in b {
                    merge(a.entry(k).or_insert(Value::Null), v);
                }
            }
            (a, b) => *a = b,
        }
    }

    fn job(name: &str, uid: &str, finished: Option<&str>, start: &str) -> Arc<Value> {
        let mut j = json!({"metadata": {"name": name, "namespace": "n", "uid": uid,
            "ownerReferences": [{"kind": "CronJob", "name": "cj", "uid": "cj-uid", "controller": true}]},
            "status": {"startTime": start}});
        if let Some(kind) = finished {
            j["status"]["conditions"] = json!([{"type": kind, "status": "True"}]);
            if kind == "Complete" {
                j["status"]["completionTime"] = json!(start);
            }
        }
        Arc::new(j)
    }

    fn active(name: &str, uid: &str) -> Value {
        json!({"kind": "Job", "namespace": "n", "name": name, "uid": uid, "apiVersion": "batch/v1"})
    }

    #[test]
    fn waits_for_the_first_time_then_starts_a_named_job() {
        let cj = cronjob("*/10 * * * *", json!({}));
        // 09:57: the first time (10:00) is ahead; wake just after it.
        let p = plan(&cj, &[], t("2024-01-01T09:57:00Z"));
        assert!(p.create.is_none());
        assert_eq!(p.requeue_after_ms, Some(180_100));
        // 10:00:01: start the 10:00 Job.
        let p = plan(&cj, &[], t("2024-01-01T10:00:01Z"));
        let (job, at) = p.create.expect("a job");
        assert_eq!(at, t("2024-01-01T10:00:00Z"));
        assert_eq!(job["metadata"]["name"], format!("cj-{}", at / 60));
        assert_eq!(
            job["metadata"]["annotations"][SCHEDULED_TIMESTAMP_ANNOTATION],
            "2024-01-01T10:00:00Z"
        );
        assert_eq!(job["metadata"]["labels"]["app"], "x");
        assert_eq!(job["metadata"]["ownerReferences"][0]["uid"], "cj-uid");
        assert_eq!(job["spec"]["template"]["spec"]["restartPolicy"], "Never");
        // The next wake-up is just after 10:10.
        assert_eq!(p.requeue_after_ms, Some(599_000 + 100));
    }

    #[test]
    fn time_zone_moves_the_schedule_and_the_annotation() {
        let cj = cronjob("0 9 * * *", json!({"spec": {"timeZone": "Asia/Tokyo"}}));
        // 09:00 in Tokyo is 00:00 UTC.
        let p = plan(&cj, &[], t("2024-01-02T00:00:05Z"));
        let (job, at) = p.create.expect("a job");
        assert_eq!(at, t("2024-01-02T00:00:00Z"));
        assert_eq!(
            job["metadata"]["annotations"][SCHEDULED_TIMESTAMP_ANNOTATION],
            "2024-01-02T09:00:00+09:00"
        );
        // An unknown zone starts nothing and says why.
        let bad = cronjob("0 9 * * *", json!({"spec": {"timeZone": "Mars/Olympus"}}));
        let p = plan(&bad, &[], t("2024-01-02T00:00:05Z"));
        assert!(p.create.is_none());
        assert_eq!(p.events[0].reason, "UnknownTimeZone");
    }

    #[test]
    fn daylight_saving_time_in_new_york() {
        // 02:30 does not exist on 2024-03-10 in New York: no Job that day.
        let cj = cronjob(
            "30 2 * * *",
            json!({"metadata": {"creationTimestamp": "2024-03-09T12:00:00Z"},
                "spec": {"timeZone": "America/New_York"}}),
        );
        let p = plan(&cj, &[], t("2024-03-10T12:00:00Z"));
        assert!(p.create.is_none());
        // The wake-up is for 02:30 EDT on the 11th (06:30 UTC).
        let due = t("2024-03-11T06:30:00Z") - t("2024-03-10T12:00:00Z");
        assert_eq!(p.requeue_after_ms, Some(due * 1000 + 100));
    }

    #[test]
    fn already_started_time_is_not_started_again() {
        let cj = cronjob(
            "*/10 * * * *",
            json!({"status": {"lastScheduleTime": "2024-01-01T10:00:00Z",
                "active": [active("cj-28401060", "j1")]}}),
        );
        let jobs = [job("cj-28401060", "j1", None, "2024-01-01T10:00:00Z")];
        let p = plan(&cj, &jobs, t("2024-01-01T10:05:00Z"));
        assert!(p.create.is_none());
        assert!(p.events.is_empty());
        assert_eq!(p.requeue_after_ms, Some(300_100));
    }

    #[test]
    fn concurrency_policies() {
        let running = json!({"status": {"lastScheduleTime": "2024-01-01T10:00:00Z",
            "active": [active("cj-28401060", "j1")]}});
        let jobs = [job("cj-28401060", "j1", None, "2024-01-01T10:00:00Z")];
        let now = t("2024-01-01T10:10:01Z");
        // Allow: a second Job runs alongside.
        let p = plan(&cronjob("*/10 * * * *", running.clone()), &jobs, now);
        assert!(p.create.is_some());
        assert!(p.delete_jobs.is_empty());
        // Forbid: skipped while one runs.
        let mut forbid = cronjob("*/10 * * * *", running.clone());
        forbid["spec"]["concurrencyPolicy"] = json!("Forbid");
        let p = plan(&forbid, &jobs, now);
        assert!(p.create.is_none());
        assert_eq!(p.events[0].reason, "JobAlreadyActive");
        // Replace: the running one goes, a new one starts.
        let mut replace = cronjob("*/10 * * * *", running);
        replace["spec"]["concurrencyPolicy"] = json!("Replace");
        let p = plan(&replace, &jobs, now);
        assert_eq!(p.delete_jobs, vec!["cj-28401060".to_string()]);
        assert!(p.create.is_some());
        assert!(p.status.get("active").is_none());
    }

    #[test]
    fn starting_deadline_and_missed_times() {
        // Down since 10:00 with a 10-minute schedule; now 10:35:30.
        let cj = cronjob(
            "*/10 * * * *",
            json!({"status": {"lastScheduleTime": "2024-01-01T10:00:00Z"}}),
        );
        let now = t("2024-01-01T10:35:30Z");
        // No deadline: the latest missed time (10:30) starts.
        let p = plan(&cj, &[], now);
        assert_eq!(p.create.unwrap().1, t("2024-01-01T10:30:00Z"));
        // A 200 s deadline: 10:30 is 330 s late, so nothing is due (the search starts at
        // now - 200 s, as upstream's does); wake up for 10:40.
        let mut strict = cj.clone();
        strict["spec"]["startingDeadlineSeconds"] = json!(200);
        let p = plan(&strict, &[], now);
        assert!(p.create.is_none());
        assert!(p.events.is_empty());
        assert_eq!(p.requeue_after_ms, Some(270_100));
        // A 400 s deadline: 10:30 is still startable.
        let mut loose = cj.clone();
        loose["spec"]["startingDeadlineSeconds"] = json!(400);
        assert!(plan(&loose, &[], now).create.is_some());
        // More than 100 missed: only the latest starts, with a warning.
        let minutely = cronjob(
            "* * * * *",
            json!({"status": {"lastScheduleTime": "2024-01-01T10:00:00Z"}}),
        );
        let p = plan(&minutely, &[], t("2024-01-01T13:00:30Z"));
        assert_eq!(p.create.unwrap().1, t("2024-01-01T13:00:00Z"));
        assert_eq!(p.events[0].reason, "TooManyMissedTimes");
    }

    #[test]
    fn suspended_and_deleting_cronjobs_start_nothing() {
        let cj = cronjob("* * * * *", json!({"spec": {"suspend": true}}));
        let p = plan(&cj, &[], t("2024-01-01T10:00:30Z"));
        assert!(p.create.is_none());
        assert_eq!(p.requeue_after_ms, None);
        let cj = cronjob(
            "* * * * *",
            json!({"metadata": {"deletionTimestamp": "2024-01-01T10:00:00Z"}}),
        );
        assert!(plan(&cj, &[], t("2024-01-01T10:00:30Z")).create.is_none());
    }

    #[test]
    fn finished_jobs_leave_the_active_list_and_history_is_trimmed() {
        let cj = cronjob(
            "0 * * * *",
            json!({"status": {"lastScheduleTime": "2024-01-01T10:00:00Z",
                "active": [active("cj-5", "j5")]}}),
        );
        let jobs = [
            job("cj-1", "j1", Some("Complete"), "2024-01-01T06:00:00Z"),
            job("cj-2", "j2", Some("Complete"), "2024-01-01T07:00:00Z"),
            job("cj-3", "j3", Some("Failed"), "2024-01-01T08:00:00Z"),
            job("cj-4", "j4", Some("Complete"), "2024-01-01T09:00:00Z"),
            job("cj-5", "j5", Some("Complete"), "2024-01-01T10:00:00Z"),
            job("cj-6", "j6", Some("Failed"), "2024-01-01T05:00:00Z"),
        ];
        let p = plan(&cj, &jobs, t("2024-01-01T10:30:00Z"));
        // 4 succeeded, limit 3: the oldest goes; 2 failed, limit 1: the oldest goes.
        assert_eq!(p.delete_jobs, vec!["cj-1".to_string(), "cj-6".to_string()]);
        assert!(p.status.get("active").is_none());
        assert_eq!(p.status["lastSuccessfulTime"], "2024-01-01T09:00:00Z");
        assert!(p.events.iter().any(|e| e.reason == "SawCompletedJob"
            && e.message == "Saw completed job: cj-5, status: Complete"));
        // A Job in the active list that no longer exists is dropped.
        let gone = cronjob(
            "0 * * * *",
            json!({"status": {"active": [active("cj-9", "j9")]}}),
        );
        let p = plan(&gone, &[], t("2024-01-01T09:56:00Z"));
        assert!(p.status.get("active").is_none());
        assert_eq!(p.events[0].message, "Active job went missing: cj-9");
    }
}
