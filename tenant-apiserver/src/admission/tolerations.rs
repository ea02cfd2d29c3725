//! DefaultTolerationSeconds: pods tolerate `node.kubernetes.io/not-ready` and
//! `node.kubernetes.io/unreachable` (NoExecute) for 300 s unless they say otherwise.

use serde_json::{Value, json};

use super::{Operation, Request};

/// How long a pod stays bound to a node that is not ready or unreachable (kube-apiserver's
/// `--default-not-ready-toleration-seconds` and `--default-unreachable-toleration-seconds`).
const DEFAULT_TOLERATION_SECONDS: i64 = 300;

const TAINTS: [&str; 2] = [
    "node.kubernetes.io/not-ready",
    "node.kubernetes.io/unreachable",
];

/// Adds the default tolerations to a created (or updated) pod that does not already tolerate
/// the taint: a toleration with that key or no key, and effect NoExecute or none.
pub fn admit(req: &Request<'_>, obj: &mut Value) {
    if !req.is_main("", "pods") || req.operation == Operation::Delete {
        return;
    }
    let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    let existing: Vec<Value> = spec
        .get("tolerations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let tolerates = |taint: &str| {
        existing.iter().any(|t| {
            let key = t.get("key").and_then(Value::as_str).unwrap_or("");
            let effect = t.get("effect").and_then(Value::as_str).unwrap_or("");
            (key == taint || key.is_empty()) && (effect == "NoExecute" || effect.is_empty())
        })
    };
    let missing: Vec<&str> = TAINTS.into_iter().filter(|t| !tolerates(t)).collect();
    if missing.is_empty() {
        return;
    }
    let mut tolerations = existing.clone();
    for key in missing {
        tolerations.push(json!({
            "key": key,
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": DEFAULT_TOLERATION_SECONDS,
        }));
    }
    spec.insert("tolerations".into(), Value::Array(tolerations));
}
