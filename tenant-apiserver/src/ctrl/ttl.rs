//! The TTL-after-finished controller (kube-controller-manager's `ttl-after-finished-controller`):
//! deletes a finished Job `spec.ttlSecondsAfterFinished` seconds after its `Complete` or `Failed`
//! condition, with foreground propagation (so its pods go first) and a uid precondition, after
//! re-reading the Job from the store in case the TTL changed.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::broadcast::error::RecvError;
use warren_apimachinery::error::ApiError;

use super::cron::parse_rfc3339;
use super::{Client, Hub, WorkQueue};
use crate::handlers::DeleteOptions;

/// When a Job expires (Unix seconds): None if it is not finished, has no TTL, or is already
/// being deleted (kube's `processTTL` / `timeLeft`).
pub fn expires_at(job: &Value) -> Option<i64> {
    if crate::object::is_deleting(job) {
        return None;
    }
    let ttl = job
        .pointer("/spec/ttlSecondsAfterFinished")
        .and_then(Value::as_i64)?;
    let finished = job
        .pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| {
            matches!(
                c.get("type").and_then(Value::as_str),
                Some("Complete" | "Failed")
            ) && c.get("status").and_then(Value::as_str) == Some("True")
        })?;
    let at = finished
        .get("lastTransitionTime")
        .and_then(Value::as_str)
        .and_then(parse_rfc3339)?;
    Some(at + ttl)
}

/// Runs the controller until the hub is cancelled.
pub async fn run(hub: Arc<Hub>) {
    let client = Client::new(hub.api().clone(), "ttl-after-finished-controller");
    let Ok(info) = client.resource("batch", "v1", "jobs") else {
        return;
    };
    let Ok(jobs) = hub.informer("batch", "v1", "jobs").await else {
        return;
    };
    let queue = Arc::new(WorkQueue::new());
    let cancel = hub.cancel().clone();
    let feeder = {
        let (jobs, queue, cancel) = (jobs.clone(), queue.clone(), cancel.clone());
        tokio::spawn(async move {
            let key = |j: &Value| {
                format!(
                    "{}/{}",
                    crate::object::meta_str(j, "namespace").unwrap_or(""),
                    crate::object::name(j)
                )
            };
            let mut rx = jobs.subscribe();
            let all = |queue: &WorkQueue| {
                for j in jobs.list() {
                    if expires_at(&j).is_some() {
                        queue.add(key(&j));
                    }
                }
            };
            all(&queue);
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    ev = rx.recv() => match ev {
                        Ok(c) if expires_at(&c.object).is_some() => queue.add(key(&c.object)),
                        Ok(_) => {}
                        Err(RecvError::Lagged(_)) => all(&queue),
                        Err(RecvError::Closed) => return,
                    },
                }
            }
        })
    };
    let api = hub.api().clone();
    super::run_workers(queue, cancel, "ttl-after-finished-controller", move |key| {
        let (client, info, jobs, api) = (client.clone(), info.clone(), jobs.clone(), api.clone());
        async move {
            let (ns, name) = super::split_key(&key);
            let Some(job) = jobs.get(ns, name) else {
                return Ok(None);
            };
            let now = chrono::Utc::now().timestamp();
            match expires_at(&job) {
                None => return Ok(None),
                Some(at) if at > now => return Ok(Some(Duration::from_secs((at - now) as u64))),
                Some(_) => {}
            }
            // The cached Job may be stale: check the TTL on a fresh read.
            let fresh = match api.store.get(&info.key(ns, name)).await {
                Ok(Some(kv)) => crate::object::decode_stored(&kv.value, kv.mod_revision),
                Ok(None) => return Ok(None),
                Err(e) => return Err(crate::handlers::plain_store_error(e)),
            };
            match expires_at(&fresh) {
                None => return Ok(None),
                Some(at) if at > now => return Ok(Some(Duration::from_secs((at - now) as u64))),
                Some(_) => {}
            }
            let opts = DeleteOptions {
                propagation: Some("Foreground".into()),
                precondition_uid: crate::object::meta_str(&fresh, "uid").map(str::to_string),
                ..Default::default()
            };
            match client.delete(&info, ns, name, &opts).await {
                Ok(_) => Ok(None),
                Err(e) if e.code == 404 || e.code == 409 => Ok(None),
                Err(e) => Err::<Option<Duration>, ApiError>(e),
            }
        }
    })
    .await;
    let _ = feeder.await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn expiry_counts_from_the_finished_condition() {
        let job = |ttl: Value, cond: &str, deleting: bool| {
            let mut j = json!({"metadata": {"name": "j"}, "spec": {"ttlSecondsAfterFinished": ttl},
                "status": {"conditions": [
                    {"type": "SuccessCriteriaMet", "status": "True", "lastTransitionTime": "2024-01-01T00:00:00Z"},
                    {"type": cond, "status": "True", "lastTransitionTime": "2024-01-01T00:00:10Z"}]}});
            if deleting {
                j["metadata"]["deletionTimestamp"] = json!("2024-01-01T00:01:00Z");
            }
            j
        };
        let base = parse_rfc3339("2024-01-01T00:00:10Z").unwrap();
        assert_eq!(expires_at(&job(json!(0), "Complete", false)), Some(base));
        assert_eq!(
            expires_at(&job(json!(60), "Failed", false)),
            Some(base + 60)
        );
        assert_eq!(expires_at(&job(json!(60), "Suspended", false)), None);
        assert_eq!(expires_at(&job(Value::Null, "Complete", false)), None);
        assert_eq!(expires_at(&job(json!(0), "Complete", true)), None);
    }
}
