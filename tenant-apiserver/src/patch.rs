//! Patches: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and strategic merge patch, with
//! kube-apiserver's answers when a patch cannot be decoded or applied.
//!
//! Strategic merge patch is [`warren_apimachinery::strategic_merge`], driven by the built-in
//! kind's OpenAPI definition; custom resources refuse it with 415, as kube-apiserver does.
//! Server-side apply (`application/apply-patch+yaml`) is not applied here: see
//! [`apply`]'s `ApplyPatch` branch.

use serde_json::{Map, Value};
use warren_apimachinery::error::ApiError;
use warren_apimachinery::openapi;
use warren_apimachinery::registry::ResourceInfo;
use warren_apimachinery::schema::Schema;
use warren_apimachinery::strategic_merge::strategic_merge_patch;

use crate::codec::BodyType;

/// kube-apiserver's limit on the operations of one JSON patch.
const MAX_JSON_PATCH_OPERATIONS: usize = 10000;

/// The patch types kube-apiserver accepts for built-in kinds, in the order it lists them.
const BUILTIN_PATCH_TYPES: &str = "application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml";
/// The patch types kube-apiserver accepts for custom resources (no strategic merge patch).
const CUSTOM_RESOURCE_PATCH_TYPES: &str =
    "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml";

/// Applies a patch body of type `ty` to `old`.
pub fn apply(
    info: &ResourceInfo,
    old: &Value,
    body: &[u8],
    ty: BodyType,
) -> Result<Value, ApiError> {
    match ty {
        BodyType::JsonPatch => json_patch(old, body),
        BodyType::MergePatch => merge_patch(old, body),
        BodyType::StrategicMergePatch => {
            if info.crd.is_some() {
                return Err(unsupported_patch_type(CUSTOM_RESOURCE_PATCH_TYPES));
            }
            let patch = decode_strategic_patch(body)?;
            let defs = openapi::builtin_definitions();
            let schema = definition_name(info, old).and_then(|name| Schema::definition(defs, name));
            Ok(strategic_merge_patch(old, &patch, schema)?)
        }
        // Server-side apply is served elsewhere (its engine is not wired here yet).
        BodyType::ApplyPatch => Err(ApiError::unsupported_media_type(
            "application/apply-patch+yaml",
        )),
        BodyType::Json | BodyType::Yaml | BodyType::Protobuf => {
            Err(unsupported_patch_type(if info.crd.is_some() {
                CUSTOM_RESOURCE_PATCH_TYPES
            } else {
                BUILTIN_PATCH_TYPES
            }))
        }
    }
}

/// 415 as kube-apiserver words it for a PATCH of a type the resource does not take.
fn unsupported_patch_type(accepted: &str) -> ApiError {
    ApiError::new(
        415,
        "UnsupportedMediaType",
        format!(
            "the body of the request was in an unknown format - accepted media types include: {accepted}"
        ),
    )
}

/// The definition the patch metadata comes from: the object's own `apiVersion`/`kind` (a
/// subresource such as `Scale` is patched as itself), else the resource's kind.
fn definition_name(info: &ResourceInfo, old: &Value) -> Option<&'static str> {
    let api_version = old.get("apiVersion").and_then(Value::as_str);
    let kind = old.get("kind").and_then(Value::as_str);
    if let (Some(api_version), Some(kind)) = (api_version, kind) {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        if let Some(name) = openapi::definition_for(group, version, kind) {
            return Some(name);
        }
    }
    openapi::definition_for(&info.group, &info.version, &info.kind)
}

/// The name Go's `encoding/json` gives a JSON value's type in "cannot unmarshal X into ...".
fn go_json_kind(v: &Value) -> &'static str {
    match v {
        Value::Object(_) => "object",
        Value::Array(_) => "array",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "bool",
        Value::Null => "null",
    }
}

/// Parses a patch body as JSON; a syntax error is 400 `prefix` + the parser's message.
fn parse_json(body: &[u8], prefix: &str) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("{prefix}{e}")))
}

/// The strategic merge patch document: an object (`null` patches nothing).
fn decode_strategic_patch(body: &[u8]) -> Result<Value, ApiError> {
    match parse_json(body, "")? {
        Value::Null => Ok(Value::Object(Map::new())),
        patch @ Value::Object(_) => Ok(patch),
        other => Err(ApiError::bad_request(format!(
            "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            go_json_kind(&other)
        ))),
    }
}

/// JSON merge patch (RFC 7386).
fn merge_patch(old: &Value, body: &[u8]) -> Result<Value, ApiError> {
    let patch = parse_json(body, "error decoding patch: ")?;
    match &patch {
        Value::Object(_) => {}
        // evanphx/json-patch's ErrBadJSONPatch.
        Value::Null => return Err(ApiError::bad_request("Invalid JSON Patch")),
        other => {
            return Err(ApiError::bad_request(format!(
                "error decoding patch: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                go_json_kind(other)
            )));
        }
    }
    let mut doc = old.clone();
    merge_value(&mut doc, &patch);
    Ok(doc)
}

/// RFC 7386 as evanphx/json-patch (kube-apiserver's implementation) applies it: besides the
/// RFC's rules, a value the patch sets loses its `null` members at any depth, including inside
/// the objects of a list.
fn merge_value(current: &mut Value, patch: &Value) {
    match (current, patch) {
        (Value::Object(current), Value::Object(patch)) => {
            for (key, value) in patch {
                if value.is_null() {
                    current.remove(key);
                    continue;
                }
                match current.get_mut(key) {
                    None | Some(Value::Null) => {
                        let mut value = value.clone();
                        prune_nulls(&mut value);
                        current.insert(key.clone(), value);
                    }
                    Some(existing) => merge_value(existing, value),
                }
            }
        }
        (current @ Value::Object(_), patch) => *current = patch.clone(),
        (current, patch) => {
            let mut patch = patch.clone();
            prune_nulls(&mut patch);
            *current = patch;
        }
    }
}

/// Drops `null` object members at any depth (`null` list items stay, as upstream keeps them).
fn prune_nulls(value: &mut Value) {
    match value {
        Value::Object(m) => {
            m.retain(|_, v| !v.is_null());
            m.values_mut().for_each(prune_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(prune_nulls),
        _ => {}
    }
}

/// JSON patch (RFC 6902). A body that is not a list of operation objects is 400; a patch that
/// does not apply (a failed `test`, a missing path, an unknown `op`) is 422 with the generic
/// message, as kube-apiserver answers.
fn json_patch(old: &Value, body: &[u8]) -> Result<Value, ApiError> {
    let patch = parse_json(body, "error decoding patch: ")?;
    let Value::Array(ops) = &patch else {
        return Err(ApiError::bad_request(format!(
            "error decoding patch: json: cannot unmarshal {} into Go value of type []handlers.jsonPatchOp",
            go_json_kind(&patch)
        )));
    };
    for op in ops {
        let Value::Object(fields) = op else {
            return Err(ApiError::bad_request(format!(
                "error decoding patch: json: cannot unmarshal {} into Go value of type handlers.jsonPatchOp",
                go_json_kind(op)
            )));
        };
        for field in ["op", "path", "from"] {
            if let Some(v) = fields.get(field)
                && !v.is_string()
                && !v.is_null()
            {
                return Err(ApiError::bad_request(format!(
                    "error decoding patch: json: cannot unmarshal {} into Go struct field jsonPatchOp.{field} of type string",
                    go_json_kind(v)
                )));
            }
        }
    }
    if ops.len() > MAX_JSON_PATCH_OPERATIONS {
        return Err(ApiError::new(
            413,
            "RequestEntityTooLarge",
            format!(
                "Request entity too large: The allowed maximum operations in a JSON patch is {MAX_JSON_PATCH_OPERATIONS}, got {}",
                ops.len()
            ),
        ));
    }
    // Operations kube-apiserver decodes but cannot apply (unknown `op`, missing `path` or
    // `value`) fail at application: 422 like any other failure to apply.
    let patch: json_patch::Patch =
        serde_json::from_value(patch).map_err(|_| patch_does_not_apply())?;
    let mut doc = old.clone();
    json_patch::patch(&mut doc, &patch).map_err(|_| patch_does_not_apply())?;
    Ok(doc)
}

/// 422 as kube-apiserver answers a JSON patch that does not apply (`NewGenericServerResponse`
/// keeps no detail of the cause).
fn patch_does_not_apply() -> ApiError {
    ApiError {
        code: 422,
        reason: "Invalid",
        message: "the server rejected our request due to an error in our request".into(),
        details: Some(Value::Object(Map::new())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resource(plural: &str) -> ResourceInfo {
        warren_apimachinery::registry::builtin_resources()
            .into_iter()
            .find(|r| r.plural == plural)
            .unwrap()
    }

    fn deployment() -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [
                {"name": "app", "image": "app:1", "ports": [{"containerPort": 80}]},
                {"name": "sidecar", "image": "side:1"},
            ]}}},
        })
    }

    fn smp(info: &ResourceInfo, old: &Value, patch: Value) -> Result<Value, ApiError> {
        apply(
            info,
            old,
            patch.to_string().as_bytes(),
            BodyType::StrategicMergePatch,
        )
    }

    #[test]
    fn strategic_patch_of_one_container_keeps_the_others() {
        let new = smp(
            &resource("deployments"),
            &deployment(),
            json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "app:2"}]}}}}),
        )
        .unwrap();
        assert_eq!(
            new["spec"]["template"]["spec"]["containers"],
            json!([
                {"name": "app", "image": "app:2", "ports": [{"containerPort": 80}]},
                {"name": "sidecar", "image": "side:1"},
            ])
        );
    }

    #[test]
    fn set_element_order_reorders_containers() {
        let new = smp(
            &resource("deployments"),
            &deployment(),
            json!({"spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "app"}],
                "containers": [{"name": "app", "image": "app:3"}],
            }}}}),
        )
        .unwrap();
        let containers = &new["spec"]["template"]["spec"]["containers"];
        assert_eq!(containers[0]["name"], "sidecar");
        assert_eq!(containers[1]["name"], "app");
        assert_eq!(containers[1]["image"], "app:3");
        assert_eq!(containers[1]["ports"], json!([{"containerPort": 80}]));
        assert!(
            new["spec"]["template"]["spec"]
                .get("$setElementOrder/containers")
                .is_none()
        );
    }

    #[test]
    fn retain_keys_switches_the_deployment_strategy() {
        let mut old = deployment();
        old["spec"]["strategy"] =
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}});
        let new = smp(
            &resource("deployments"),
            &old,
            json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
        )
        .unwrap();
        assert_eq!(new["spec"]["strategy"], json!({"type": "Recreate"}));
    }

    #[test]
    fn strategic_patch_errors_are_kube_apiserver_statuses() {
        let info = resource("deployments");
        let missing_key = smp(
            &info,
            &deployment(),
            json!({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}}),
        )
        .unwrap_err();
        assert_eq!(missing_key.code, 500);
        assert_eq!(
            missing_key.message,
            "map: map[image:x] does not contain declared merge key: name"
        );
        let bad_directive = smp(
            &info,
            &deployment(),
            json!({"spec": {"template": {"$patch": "nope"}}}),
        )
        .unwrap_err();
        assert_eq!(bad_directive.code, 500);
        assert!(
            bad_directive
                .message
                .starts_with("unknown patch type: nope in map:")
        );
        let not_object =
            apply(&info, &deployment(), b"[1]", BodyType::StrategicMergePatch).unwrap_err();
        assert_eq!((not_object.code, not_object.reason), (400, "BadRequest"));
    }

    #[test]
    fn custom_resources_refuse_strategic_merge_patch() {
        let mut info = resource("deployments");
        info.crd = Some(std::sync::Arc::new(json!({})));
        let err = smp(&info, &deployment(), json!({})).unwrap_err();
        assert_eq!((err.code, err.reason), (415, "UnsupportedMediaType"));
        assert_eq!(
            err.message,
            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
        );
    }

    #[test]
    fn merge_patch() {
        let info = resource("pods");
        let old = json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"containers": [{"name": "a"}, {"name": "b"}]}});
        let new = apply(
            &info,
            &old,
            br#"{"metadata":{"labels":{"a":null,"c":"3"}},"spec":{"containers":[{"name":"c"}]}}"#,
            BodyType::MergePatch,
        )
        .unwrap();
        assert_eq!(new["metadata"]["labels"], json!({"b": "2", "c": "3"}));
        assert_eq!(new["spec"]["containers"], json!([{"name": "c"}]));
        // Nulls inside the values a merge patch sets are dropped, as evanphx/json-patch does.
        let new = apply(
            &info,
            &old,
            br#"{"spec":{"containers":[{"name":"d","image":null}],"nodeSelector":{"a":"1","b":null}}}"#,
            BodyType::MergePatch,
        )
        .unwrap();
        assert_eq!(new["spec"]["containers"], json!([{"name": "d"}]));
        assert_eq!(new["spec"]["nodeSelector"], json!({"a": "1"}));
        let err = apply(&info, &old, b"[]", BodyType::MergePatch).unwrap_err();
        assert_eq!(err.code, 400);
        assert_eq!(
            err.message,
            "error decoding patch: json: cannot unmarshal array into Go value of type map[string]interface {}"
        );
    }

    #[test]
    fn json_patch_operations_and_failures() {
        let info = resource("pods");
        let old = json!({"metadata": {"labels": {"a": "1", "b": "2"}}});
        let new = apply(
            &info,
            &old,
            br#"[{"op":"test","path":"/metadata/labels/b","value":"2"},
                 {"op":"remove","path":"/metadata/labels/b"},
                 {"op":"copy","from":"/metadata/labels/a","path":"/metadata/labels/c"},
                 {"op":"move","from":"/metadata/labels/a","path":"/metadata/labels/d"}]"#,
            BodyType::JsonPatch,
        )
        .unwrap();
        assert_eq!(new["metadata"]["labels"], json!({"c": "1", "d": "1"}));
        for failing in [
            &br#"[{"op":"test","path":"/metadata/labels/a","value":"9"}]"#[..],
            br#"[{"op":"remove","path":"/metadata/nope"}]"#,
            br#"[{"op":"frobnicate","path":"/metadata"}]"#,
        ] {
            let err = apply(&info, &old, failing, BodyType::JsonPatch).unwrap_err();
            assert_eq!((err.code, err.reason), (422, "Invalid"));
            assert_eq!(
                err.message,
                "the server rejected our request due to an error in our request"
            );
        }
        // A failed test leaves nothing applied.
        let err = apply(
            &info,
            &old,
            br#"[{"op":"remove","path":"/metadata/labels/a"},{"op":"test","path":"/metadata/labels/b","value":"9"}]"#,
            BodyType::JsonPatch,
        )
        .unwrap_err();
        assert_eq!(err.code, 422);
        let err = apply(&info, &old, br#"{"op":"add"}"#, BodyType::JsonPatch).unwrap_err();
        assert_eq!(err.code, 400);
        assert!(err.message.starts_with("error decoding patch: "));
    }
}
