//! Events as client-go's recorder writes them (core/v1 `Event`, best effort): what
//! `kubectl describe` shows under "Events" and `kubectl get events` lists.

use serde_json::{Value, json};

use super::Client;

/// The `Normal` event type.
pub const NORMAL: &str = "Normal";
/// The `Warning` event type.
pub const WARNING: &str = "Warning";

/// Records a core/v1 Event about `obj` from controller `client` (best effort, as client-go's
/// recorder: a failure is logged, not returned).
pub async fn record(
    client: &Client,
    component: &str,
    obj: &Value,
    type_: &str,
    reason: &str,
    message: &str,
) {
    let Ok(info) = client.resource("", "v1", "events") else {
        return;
    };
    let ns = crate::object::meta_str(obj, "namespace").unwrap_or("default");
    let now = chrono::Utc::now();
    let ts = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let event = json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": format!("{}.{:x}", crate::object::name(obj), now.timestamp_nanos_opt().unwrap_or(0)),
            "namespace": ns,
        },
        "involvedObject": {
            "apiVersion": obj.get("apiVersion").cloned().unwrap_or(Value::Null),
            "kind": obj.get("kind").cloned().unwrap_or(Value::Null),
            "name": crate::object::name(obj),
            "namespace": ns,
            "uid": crate::object::meta_str(obj, "uid").unwrap_or(""),
            "resourceVersion": crate::object::resource_version(obj).unwrap_or(""),
        },
        "reason": reason,
        "message": message,
        "type": type_,
        "source": {"component": component},
        "firstTimestamp": ts,
        "lastTimestamp": ts,
        "count": 1,
        "reportingComponent": component,
        "reportingInstance": "",
    });
    if let Err(e) = client.create(&info, Some(ns), event).await {
        tracing::debug!(reason, error = %e.message, "event not recorded");
    }
}
