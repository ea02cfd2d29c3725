//! Pod templates as the workload controllers use them (kube's `pkg/controller` helpers): the
//! `pod-template-hash` a Deployment names its ReplicaSets by, template equality ignoring that
//! hash, pods made from a template with a controller owner reference, and reading owner
//! references back. Pure functions, shared by every controller that creates pods.

use serde_json::{Map, Value, json};

/// The label (and ReplicaSet selector key) that ties a Deployment's ReplicaSet and its pods to
/// one pod template (`apps.DefaultDeploymentUniqueLabelKey`).
pub const POD_TEMPLATE_HASH_LABEL: &str = "pod-template-hash";

/// The alphabet of `rand.SafeEncodeString` (no vowels, no confusable characters).
const SAFE_ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// FNV-1a, 32 bits (Go's `hash/fnv.New32a`).
pub fn fnv32a(bytes: &[u8]) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for b in bytes {
        hash ^= u32::from(*b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

/// `rand.SafeEncodeString`: each character mapped into an alphabet that cannot spell words.
pub fn safe_encode_string(s: &str) -> String {
    s.chars()
        .map(|c| SAFE_ALPHANUMS[(c as usize) % SAFE_ALPHANUMS.len()] as char)
        .collect()
}

/// `controller.ComputeHash`: FNV-32a of the template, then of the collision count (as 8 bytes,
/// the first 4 little-endian, as upstream writes it), printed in decimal and safe-encoded.
///
/// Upstream hashes a `spew` dump of the Go struct; this hashes the template's canonical JSON
/// (sorted keys, empty values dropped), so the value differs from kube-controller-manager's
/// while having the same shape and the same properties (stable for a template, changes with
/// it and with the collision count). Like upstream's, it is only a name: the new ReplicaSet is
/// found by template equality, never by hash.
pub fn compute_hash(template: &Value, collision_count: Option<i64>) -> String {
    let mut bytes = canonical_json(&normalized(template)).into_bytes();
    if let Some(count) = collision_count {
        let mut extra = [0u8; 8];
        extra[..4].copy_from_slice(&(count as u32).to_le_bytes());
        bytes.extend_from_slice(&extra);
    }
    safe_encode_string(&fnv32a(&bytes).to_string())
}

/// A value with `null`s, empty maps and empty lists removed at every depth: Go's zero values
/// and `omitempty`, so that two templates equal as Go structs are equal here.
pub fn normalized(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let n = normalized(v);
                let empty = match &n {
                    Value::Null => true,
                    Value::Object(o) => o.is_empty(),
                    Value::Array(a) => a.is_empty(),
                    _ => false,
                };
                if !empty {
                    out.insert(k.clone(), n);
                }
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(normalized).collect()),
        other => other.clone(),
    }
}

/// JSON with object keys sorted at every depth.
fn canonical_json(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical_json(&m[k])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(a) => {
            let parts: Vec<String> = a.iter().map(canonical_json).collect();
            format!("[{}]", parts.join(","))
        }
        other => other.to_string(),
    }
}

/// `EqualIgnoreHash`: whether two pod templates are semantically equal, ignoring the
/// `pod-template-hash` label.
pub fn equal_ignore_hash(a: &Value, b: &Value) -> bool {
    let strip = |t: &Value| {
        let mut t = t.clone();
        if let Some(labels) = t
            .pointer_mut("/metadata/labels")
            .and_then(Value::as_object_mut)
        {
            labels.remove(POD_TEMPLATE_HASH_LABEL);
        }
        normalized(&t)
    };
    strip(a) == strip(b)
}

/// `metav1.NewControllerRef`: an owner reference with `controller` and `blockOwnerDeletion`.
pub fn controller_ref(owner: &Value, api_version: &str, kind: &str) -> Value {
    json!({
        "apiVersion": api_version,
        "kind": kind,
        "name": owner.pointer("/metadata/name").cloned().unwrap_or(Value::Null),
        "uid": owner.pointer("/metadata/uid").cloned().unwrap_or(Value::Null),
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

/// The owner reference with `controller: true`, if any (`metav1.GetControllerOf`).
pub fn controller_of(obj: &Value) -> Option<&Value> {
    obj.pointer("/metadata/ownerReferences")?
        .as_array()?
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
}

/// The uid of the object's controller, if it has one.
pub fn controller_uid(obj: &Value) -> Option<&str> {
    controller_of(obj)?.get("uid")?.as_str()
}

/// Whether `obj` is controlled by the object with `uid` (`metav1.IsControlledBy`).
pub fn is_controlled_by(obj: &Value, uid: &str) -> bool {
    controller_uid(obj) == Some(uid)
}

/// `metadata.uid` (empty if missing).
pub fn uid(obj: &Value) -> &str {
    obj.pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// `metadata.namespace` (empty if missing).
pub fn namespace(obj: &Value) -> &str {
    obj.pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The `generateName` prefix of the pods of a controller named `owner` (`getPodsPrefix`):
/// `owner-`, or the bare name when `owner-` would not be a valid name prefix.
pub fn pod_name_prefix(owner: &str) -> String {
    let prefix = format!("{owner}-");
    if prefix.len() > 253 {
        owner.to_string()
    } else {
        prefix
    }
}

/// `controller.GetPodFromTemplate`: a pod to create for the controller `owner` from its
/// template: labels, annotations and finalizers of the template, `generateName` from the
/// owner's name, the controller owner reference, and the template's spec.
pub fn pod_from_template(
    template: &Value,
    owner_name: &str,
    controller_ref: Option<Value>,
) -> Value {
    let meta = template.get("metadata");
    let copy = |field: &str| {
        meta.and_then(|m| m.get(field))
            .filter(|v| match v {
                Value::Object(o) => !o.is_empty(),
                Value::Array(a) => !a.is_empty(),
                _ => false,
            })
            .cloned()
    };
    let mut metadata = Map::new();
    metadata.insert("generateName".into(), json!(pod_name_prefix(owner_name)));
    for field in ["labels", "annotations", "finalizers"] {
        if let Some(v) = copy(field) {
            metadata.insert(field.into(), v);
        }
    }
    if let Some(r) = controller_ref {
        metadata.insert("ownerReferences".into(), json!([r]));
    }
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": template.get("spec").cloned().unwrap_or_else(|| json!({})),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv32a_matches_go() {
        // Known FNV-1a 32 values.
        assert_eq!(fnv32a(b""), 0x811c_9dc5);
        assert_eq!(fnv32a(b"a"), 0xe40c_292c);
        assert_eq!(fnv32a(b"foobar"), 0xbf9c_f968);
    }

    #[test]
    fn safe_encoding_uses_upstream_alphabet() {
        // '0' is 48: 48 % 27 = 21 → '4'; '1' → '5'; '9' (57) → 57 % 27 = 3 → 'f'.
        assert_eq!(safe_encode_string("019"), "45f");
        let h = compute_hash(&json!({"spec": {"containers": [{"name": "a"}]}}), None);
        assert!(
            h.len() <= 10 && h.bytes().all(|b| SAFE_ALPHANUMS.contains(&b)),
            "{h}"
        );
    }

    #[test]
    fn hash_is_stable_canonical_and_moves_with_template_and_collisions() {
        let a = json!({"metadata": {"labels": {"app": "web", "tier": "x"}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}});
        let reordered = json!({"spec": {"containers": [{"image": "nginx", "name": "nginx", "env": []}]},
            "metadata": {"labels": {"tier": "x", "app": "web"}, "annotations": {}}});
        assert_eq!(compute_hash(&a, None), compute_hash(&reordered, None));
        let mut b = a.clone();
        b["spec"]["containers"][0]["image"] = json!("nginx:2");
        assert_ne!(compute_hash(&a, None), compute_hash(&b, None));
        assert_ne!(compute_hash(&a, None), compute_hash(&a, Some(1)));
        assert_ne!(compute_hash(&a, Some(1)), compute_hash(&a, Some(2)));
        // A collision count of 0 still changes the bytes hashed (upstream appends it).
        assert_ne!(compute_hash(&a, None), compute_hash(&a, Some(0)));
    }

    #[test]
    fn templates_equal_ignoring_hash_label() {
        let d = json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c"}]}});
        let rs = json!({"metadata": {"labels": {"app": "web", "pod-template-hash": "abc"}},
            "spec": {"containers": [{"name": "c", "ports": []}]}});
        assert!(equal_ignore_hash(&d, &rs));
        let other = json!({"metadata": {"labels": {"app": "web2"}}, "spec": {"containers": [{"name": "c"}]}});
        assert!(!equal_ignore_hash(&d, &other));
    }

    #[test]
    fn pods_from_templates_carry_metadata_and_controller() {
        let owner = json!({"metadata": {"name": "web-abc", "uid": "u1"}});
        let t = json!({"metadata": {"labels": {"app": "web"}, "annotations": {"a": "b"}},
            "spec": {"containers": [{"name": "c", "image": "i"}]}});
        let pod = pod_from_template(
            &t,
            "web-abc",
            Some(controller_ref(&owner, "apps/v1", "ReplicaSet")),
        );
        assert_eq!(pod["metadata"]["generateName"], "web-abc-");
        assert_eq!(pod["metadata"]["labels"]["app"], "web");
        assert_eq!(pod["metadata"]["annotations"]["a"], "b");
        assert_eq!(pod["spec"]["containers"][0]["image"], "i");
        assert_eq!(controller_uid(&pod), Some("u1"));
        assert_eq!(
            pod["metadata"]["ownerReferences"][0]["blockOwnerDeletion"],
            true
        );
        assert!(is_controlled_by(&pod, "u1"));
        assert!(!is_controlled_by(&pod, "u2"));
    }
}
