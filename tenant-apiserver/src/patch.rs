//! Patches: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and strategic merge patch.
//!
//! Strategic merge patch here merges lists of objects by the merge keys Kubernetes defines for
//! the fields kubectl patches most (containers, ports, env, volumes...), and honours
//! `$patch: delete|replace` and drops the other `$` directives. Server-side apply is not served
//! yet and is refused with 415.

use serde_json::{Map, Value};
use warren_apimachinery::error::ApiError;
use warren_apimachinery::registry::ResourceInfo;

use crate::codec::{self, BodyType};

/// Applies a patch body of type `ty` to `old`.
pub fn apply(
    info: &ResourceInfo,
    old: &Value,
    body: &[u8],
    ty: BodyType,
) -> Result<Value, ApiError> {
    match ty {
        BodyType::JsonPatch => {
            let patch: json_patch::Patch = serde_json::from_slice(body).map_err(|e| {
                ApiError::bad_request(format!(
                    "the server rejected our request due to an error in our request: {e}"
                ))
            })?;
            let mut doc = old.clone();
            json_patch::patch(&mut doc, &patch).map_err(|e| {
                ApiError::new(
                    422,
                    "Invalid",
                    format!("the server rejected our request due to an error in our request: {e}"),
                )
            })?;
            Ok(doc)
        }
        BodyType::MergePatch => {
            let patch = codec::decode_body(body, BodyType::Json)?;
            if !patch.is_object() {
                return Err(ApiError::bad_request("the patch is not a JSON object"));
            }
            let mut doc = old.clone();
            json_patch::merge(&mut doc, &patch);
            Ok(doc)
        }
        BodyType::StrategicMergePatch => {
            if !is_builtin(info) {
                return Err(ApiError::unsupported_media_type(
                    "application/strategic-merge-patch+json",
                ));
            }
            let patch = codec::decode_body(body, BodyType::Json)?;
            if !patch.is_object() {
                return Err(ApiError::bad_request("the patch is not a JSON object"));
            }
            let mut doc = old.clone();
            strategic_merge(&mut doc, &patch, "");
            Ok(doc)
        }
        BodyType::ApplyPatch => Err(ApiError::unsupported_media_type(
            "application/apply-patch+yaml",
        )),
        BodyType::Json | BodyType::Yaml | BodyType::Protobuf => {
            Err(ApiError::unsupported_media_type(match ty {
                BodyType::Yaml => "application/yaml",
                _ => "application/json",
            }))
        }
    }
}

fn is_builtin(info: &ResourceInfo) -> bool {
    warren_apimachinery::kinds::BUILTIN
        .iter()
        .any(|b| b.group == info.group && b.plural == info.plural)
}

/// The merge key of a list field, by field name (the patch strategies Kubernetes declares).
fn merge_key(field: &str) -> Option<&'static str> {
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "hostAliases"
        | "resourceClaims"
        | "readinessGates" => match field {
            "hostAliases" => "ip",
            "readinessGates" => "conditionType",
            _ => "name",
        },
        "ports" => "containerPort",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "conditions" => "type",
        "tolerations" => "key",
        "finalizers" => return None,
        "ownerReferences" => "uid",
        _ => return None,
    })
}

fn strategic_merge(doc: &mut Value, patch: &Value, field: &str) {
    let Some(pmap) = patch.as_object() else {
        *doc = patch.clone();
        return;
    };
    if pmap.get("$patch").and_then(Value::as_str) == Some("replace") {
        let mut p = pmap.clone();
        p.remove("$patch");
        *doc = Value::Object(p);
        return;
    }
    if !doc.is_object() {
        *doc = Value::Object(Map::new());
    }
    let dmap = doc.as_object_mut().expect("object");
    let retain: Option<Vec<String>> = pmap.get("$retainKeys").and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    });
    for (k, v) in pmap {
        if k.starts_with('$') {
            continue;
        }
        if let Some(list_field) = k.strip_prefix("$setElementOrder/") {
            let _ = list_field;
            continue;
        }
        if let Some(list_field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(cur)), Some(del)) = (dmap.get_mut(list_field), v.as_array()) {
                cur.retain(|x| !del.contains(x));
            }
            continue;
        }
        if v.is_null() {
            dmap.remove(k);
            continue;
        }
        if v.get("$patch").and_then(Value::as_str) == Some("delete") {
            dmap.remove(k);
            continue;
        }
        match (dmap.get_mut(k), v) {
            (Some(cur @ Value::Object(_)), Value::Object(_)) => strategic_merge(cur, v, k),
            (Some(Value::Array(cur)), Value::Array(items)) => merge_list(cur, items, k),
            (_, Value::Array(items)) => {
                let cleaned: Vec<Value> = items
                    .iter()
                    .filter(|i| i.get("$patch").and_then(Value::as_str) != Some("delete"))
                    .map(strip_directives)
                    .collect();
                dmap.insert(k.clone(), Value::Array(cleaned));
            }
            _ => {
                dmap.insert(k.clone(), strip_directives(v));
            }
        }
    }
    if let Some(keep) = retain {
        dmap.retain(|k, _| keep.contains(k));
    }
    let _ = field;
}

fn strip_directives(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k.clone(), strip_directives(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_directives).collect()),
        other => other.clone(),
    }
}

fn merge_list(cur: &mut Vec<Value>, items: &[Value], field: &str) {
    let key = merge_key(field);
    let all_objects = items.iter().all(Value::is_object);
    match key {
        Some(key) if all_objects => {
            if items
                .iter()
                .any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace"))
            {
                *cur = items
                    .iter()
                    .filter(|i| i.get("$patch").is_none())
                    .map(strip_directives)
                    .collect();
                return;
            }
            for item in items {
                let id = item.get(key);
                let pos = id.and_then(|id| cur.iter().position(|c| c.get(key) == Some(id)));
                let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
                match (pos, delete) {
                    (Some(p), true) => {
                        cur.remove(p);
                    }
                    (None, true) => {}
                    (Some(p), false) => strategic_merge(&mut cur[p], item, field),
                    (None, false) => cur.push(strip_directives(item)),
                }
            }
        }
        _ => *cur = items.iter().map(strip_directives).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod_info() -> ResourceInfo {
        warren_apimachinery::registry::builtin_resources()
            .into_iter()
            .find(|r| r.plural == "pods")
            .unwrap()
    }

    #[test]
    fn strategic_merges_containers_by_name() {
        let old = json!({"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}});
        let patch = br#"{"spec":{"containers":[{"name":"b","image":"z"}]}}"#;
        let new = apply(&pod_info(), &old, patch, BodyType::StrategicMergePatch).unwrap();
        assert_eq!(new["spec"]["containers"][0]["image"], "x");
        assert_eq!(new["spec"]["containers"][1]["image"], "z");
        let del = br#"{"spec":{"containers":[{"name":"a","$patch":"delete"}]}}"#;
        let new = apply(&pod_info(), &new, del, BodyType::StrategicMergePatch).unwrap();
        assert_eq!(new["spec"]["containers"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn merge_and_json_patch() {
        let old = json!({"metadata": {"labels": {"a": "1", "b": "2"}}});
        let new = apply(
            &pod_info(),
            &old,
            br#"{"metadata":{"labels":{"a":null,"c":"3"}}}"#,
            BodyType::MergePatch,
        )
        .unwrap();
        assert_eq!(new["metadata"]["labels"], json!({"b": "2", "c": "3"}));
        let new = apply(&pod_info(), &new, br#"[{"op":"test","path":"/metadata/labels/b","value":"2"},{"op":"remove","path":"/metadata/labels/b"}]"#, BodyType::JsonPatch).unwrap();
        assert_eq!(new["metadata"]["labels"], json!({"c": "3"}));
        let err = apply(
            &pod_info(),
            &new,
            br#"[{"op":"test","path":"/metadata/labels/c","value":"9"}]"#,
            BodyType::JsonPatch,
        )
        .unwrap_err();
        assert_eq!(err.code, 422);
    }
}
