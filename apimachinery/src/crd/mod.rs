//! CustomResourceDefinitions (`apiextensions.k8s.io/v1`) without a runtime: what the
//! apiextensions part of kube-apiserver decides, as pure functions over JSON.
//!
//! The tenant API server's CRD handlers call, in request order:
//! - on a CRD write: [`default_crd`], then [`validate_crd`];
//! - in the naming/establishing loop: [`names_conflict`], [`update_status`], then
//!   [`resource_infos`] to serve the accepted versions;
//! - on a custom resource write, with the version's `schema.openAPIV3Schema`: [`prune`], then
//!   [`apply_defaults`], then [`validate_object`] (the order of the apiextensions decoder and
//!   strategy);
//! - for `as=Table`: [`printer_columns`] and [`printer_cells`] (which `table.rs` uses for every
//!   custom resource);
//! - for the `scale` subresource: [`scale_paths`], [`read_path`] and [`write_path`].

mod format;
mod gofmt;
mod jsonpath;
mod printer;
mod structural;
mod validation;

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::registry::{ALL_VERBS, ResourceInfo};

pub use gofmt::{go_value, invalid_value};
pub use jsonpath::{JsonPath, parse_jsonpath};
pub use printer::{Column, column_definitions, printer_cells, printer_columns};
pub use structural::{apply_defaults, prune, validate_object};
pub use validation::validate_crd;

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn strings_at(v: &Value, pointer: &str) -> Vec<String> {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The defaults kube-apiserver gives a v1 CRD (`apiextensions/v1` `SetDefaults_*`):
/// `names.singular` = lower-case kind, `names.listKind` = kind + `List`,
/// `conversion.strategy: None`, a webhook service's `port: 443`, and `status.storedVersions`
/// seeded with the storage version when empty.
pub fn default_crd(crd: &mut Value) {
    let Some(obj) = crd.as_object_mut() else {
        return;
    };
    let spec = obj.entry("spec").or_insert_with(|| json!({}));
    if let Some(spec) = spec.as_object_mut() {
        let names = spec.entry("names").or_insert_with(|| json!({}));
        if let Some(names) = names.as_object_mut() {
            let kind = names
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if names
                .get("singular")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                names.insert("singular".into(), json!(kind.to_lowercase()));
            }
            if names
                .get("listKind")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
                && !kind.is_empty()
            {
                names.insert("listKind".into(), json!(format!("{kind}List")));
            }
        }
        match spec.get_mut("conversion") {
            Some(Value::Object(conversion)) => {
                if !conversion.contains_key("strategy") {
                    conversion.insert("strategy".into(), json!("None"));
                }
                if let Some(Value::Object(service)) = conversion
                    .get_mut("webhook")
                    .and_then(|w| w.get_mut("clientConfig"))
                    .and_then(|c| c.get_mut("service"))
                {
                    service.entry("port").or_insert(json!(443));
                }
            }
            _ => {
                spec.insert("conversion".into(), json!({"strategy": "None"}));
            }
        }
    }
    let storage = storage_version(crd).map(str::to_string);
    let Some(obj) = crd.as_object_mut() else {
        return;
    };
    if let Some(storage) = storage {
        let status = obj.entry("status").or_insert_with(|| json!({}));
        if let Some(status) = status.as_object_mut() {
            let empty = status
                .get("storedVersions")
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty);
            if empty {
                status.insert("storedVersions".into(), json!([storage]));
            }
        }
    }
}

/// The name of the version marked `storage: true`, if any.
pub fn storage_version(crd: &Value) -> Option<&str> {
    crd.pointer("/spec/versions")?
        .as_array()?
        .iter()
        .find(|v| v.get("storage").and_then(Value::as_bool) == Some(true))?
        .get("name")?
        .as_str()
}

/// One [`ResourceInfo`] per served version of `crd`, each with the version's entry of
/// `spec.versions` (plus `names`, `scope`, `group` and `storageVersion`) in
/// [`ResourceInfo::crd`]. Subresources are `status` and `scale` as the version declares them.
pub fn resource_infos(crd: &Value) -> Vec<ResourceInfo> {
    let spec = crd.get("spec").cloned().unwrap_or(json!({}));
    let names = spec.get("names").cloned().unwrap_or(json!({}));
    let group = str_at(&spec, "/group").to_string();
    let kind = str_at(&names, "/kind").to_string();
    let singular = match str_at(&names, "/singular") {
        "" => kind.to_lowercase(),
        s => s.to_string(),
    };
    let storage = storage_version(crd).unwrap_or("").to_string();
    let versions = spec
        .get("versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    versions
        .into_iter()
        .filter(|v| v.get("served").and_then(Value::as_bool) == Some(true))
        .map(|v| {
            let version = str_at(&v, "/name").to_string();
            let mut subresources = Vec::new();
            for sub in ["status", "scale"] {
                if v.pointer(&format!("/subresources/{sub}")).is_some() {
                    subresources.push(sub.to_string());
                }
            }
            let mut entry = match v {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            entry.insert("names".into(), names.clone());
            entry.insert(
                "scope".into(),
                spec.get("scope").cloned().unwrap_or(json!("Namespaced")),
            );
            entry.insert("group".into(), json!(group));
            entry.insert("storageVersion".into(), json!(storage));
            ResourceInfo {
                group: group.clone(),
                version,
                kind: kind.clone(),
                plural: str_at(&names, "/plural").to_string(),
                singular: singular.clone(),
                namespaced: str_at(&spec, "/scope") != "Cluster",
                short_names: strings_at(&names, "/shortNames"),
                categories: strings_at(&names, "/categories"),
                verbs: ALL_VERBS.iter().map(|s| s.to_string()).collect(),
                subresources,
                crd: Some(Arc::new(Value::Object(entry))),
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Names and conditions (the naming and establishing controllers).

/// The `NamesAccepted=False` reason and message for `crd`, or `None` when its names are free,
/// as the naming controller decides (`equalToAcceptedOrFresh`): a requested name conflicts when
/// another CRD of the same group (`others`: CRDs already accepted, read through their
/// `spec.names`) or a built-in resource of that group uses it, unless it is the name `crd` has
/// already accepted. Checked in upstream order (plural, singular, short names, kind, list kind);
/// the last conflict found gives the reason (`PluralConflict`, `SingularConflict`,
/// `ShortNamesConflict`, `KindConflict`, `ListKindConflict`) and the message
/// (`"crontabs" is already in use`).
pub fn names_conflict(
    crd: &Value,
    others: &[Value],
    builtins: &[ResourceInfo],
) -> Option<(String, String)> {
    let group = str_at(crd, "/spec/group");
    let me = str_at(crd, "/metadata/name");
    let mut resources: Vec<String> = Vec::new();
    let mut kinds: Vec<String> = Vec::new();
    for other in others {
        if str_at(other, "/spec/group") != group || str_at(other, "/metadata/name") == me {
            continue;
        }
        let names = other.pointer("/spec/names").cloned().unwrap_or(json!({}));
        resources.push(str_at(&names, "/plural").to_string());
        resources.push(str_at(&names, "/singular").to_string());
        resources.extend(strings_at(&names, "/shortNames"));
        kinds.push(str_at(&names, "/kind").to_string());
        kinds.push(str_at(&names, "/listKind").to_string());
    }
    for b in builtins.iter().filter(|b| b.group == group) {
        resources.push(b.plural.clone());
        resources.push(b.singular.clone());
        resources.extend(b.short_names.iter().cloned());
        kinds.push(b.kind.clone());
        kinds.push(b.list_kind());
    }
    resources.retain(|r| !r.is_empty());
    kinds.retain(|k| !k.is_empty());
    let accepted = crd
        .pointer("/status/acceptedNames")
        .cloned()
        .unwrap_or(json!({}));
    let fresh = |requested: &str, accepted: &str, used: &[String]| -> Option<String> {
        if requested == accepted || !used.iter().any(|u| u == requested) {
            None
        } else {
            Some(format!("\"{requested}\" is already in use"))
        }
    };
    let mut conflict = None;
    let requested = |f: &str| str_at(crd, &format!("/spec/names/{f}")).to_string();
    let acc = |f: &str| str_at(&accepted, &format!("/{f}")).to_string();
    if let Some(m) = fresh(&requested("plural"), &acc("plural"), &resources) {
        conflict = Some(("PluralConflict".to_string(), m));
    }
    if let Some(m) = fresh(&requested("singular"), &acc("singular"), &resources) {
        conflict = Some(("SingularConflict".to_string(), m));
    }
    let accepted_short = strings_at(&accepted, "/shortNames");
    for short in strings_at(crd, "/spec/names/shortNames") {
        if accepted_short.contains(&short) {
            continue;
        }
        if let Some(m) = fresh(&short, "", &resources) {
            conflict = Some(("ShortNamesConflict".to_string(), m));
        }
    }
    if let Some(m) = fresh(&requested("kind"), &acc("kind"), &kinds) {
        conflict = Some(("KindConflict".to_string(), m));
    }
    if let Some(m) = fresh(&requested("listKind"), &acc("listKind"), &kinds) {
        conflict = Some(("ListKindConflict".to_string(), m));
    }
    conflict
}

/// Sets (or updates) the condition `ty` in a `status.conditions` list; `lastTransitionTime`
/// (`now`, RFC 3339) changes only when the status does, as upstream's `SetCRDCondition`.
pub fn set_condition(
    conditions: &mut Vec<Value>,
    ty: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: &str,
) {
    match conditions
        .iter_mut()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(ty))
    {
        Some(c) => {
            if c.get("status").and_then(Value::as_str) != Some(status) {
                c["lastTransitionTime"] = json!(now);
            }
            c["status"] = json!(status);
            c["reason"] = json!(reason);
            c["message"] = json!(message);
        }
        None => conditions.push(json!({
            "type": ty,
            "status": status,
            "lastTransitionTime": now,
            "reason": reason,
            "message": message,
        })),
    }
}

/// The status the naming and establishing controllers converge to: with no `conflict`,
/// `acceptedNames` = `spec.names`, `NamesAccepted=True` (`NoConflicts`, "no conflicts found")
/// and `Established=True` (`InitialNamesAccepted`, "the initial names have been accepted");
/// with one, `NamesAccepted=False` with its reason and message and, unless already
/// established, `Established=False` (`NotAccepted`, "not all names are accepted").
/// `storedVersions` always includes the storage version.
pub fn update_status(crd: &mut Value, conflict: Option<&(String, String)>, now: &str) {
    let names = crd.pointer("/spec/names").cloned().unwrap_or(json!({}));
    let storage = storage_version(crd).map(str::to_string);
    let Some(obj) = crd.as_object_mut() else {
        return;
    };
    if !obj.get("status").is_some_and(Value::is_object) {
        obj.insert("status".into(), json!({}));
    }
    let status = obj
        .get_mut("status")
        .and_then(Value::as_object_mut)
        .expect("status is an object");
    let mut conditions: Vec<Value> = status
        .get("conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    match conflict {
        None => {
            status.insert("acceptedNames".into(), names);
            set_condition(
                &mut conditions,
                "NamesAccepted",
                "True",
                "NoConflicts",
                "no conflicts found",
                now,
            );
            set_condition(
                &mut conditions,
                "Established",
                "True",
                "InitialNamesAccepted",
                "the initial names have been accepted",
                now,
            );
        }
        Some((reason, message)) => {
            status
                .entry("acceptedNames")
                .or_insert_with(|| json!({"plural": "", "kind": ""}));
            set_condition(
                &mut conditions,
                "NamesAccepted",
                "False",
                reason,
                message,
                now,
            );
            let established = conditions.iter().any(|c| {
                c.get("type").and_then(Value::as_str) == Some("Established")
                    && c.get("status").and_then(Value::as_str) == Some("True")
            });
            if !established {
                set_condition(
                    &mut conditions,
                    "Established",
                    "False",
                    "NotAccepted",
                    "not all names are accepted",
                    now,
                );
            }
        }
    }
    status.insert("conditions".into(), Value::Array(conditions));
    let mut stored: Vec<Value> = status
        .get("storedVersions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if let Some(storage) = storage
        && !stored.iter().any(|v| v.as_str() == Some(&storage))
    {
        stored.push(json!(storage));
    }
    status.insert("storedVersions".into(), Value::Array(stored));
}

// ---------------------------------------------------------------------------------------------
// The scale subresource.

/// The paths of a version's `subresources.scale` (`.spec.replicas` style).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScalePaths {
    /// `specReplicasPath`, e.g. `.spec.replicas`.
    pub spec_replicas: String,
    /// `statusReplicasPath`, e.g. `.status.replicas`.
    pub status_replicas: String,
    /// `labelSelectorPath`, e.g. `.status.labelSelector`, if set.
    pub label_selector: Option<String>,
}

/// The scale paths of a custom resource version, or `None` without a scale subresource.
pub fn scale_paths(info: &ResourceInfo) -> Option<ScalePaths> {
    let scale = info.crd.as_deref()?.pointer("/subresources/scale")?;
    Some(ScalePaths {
        spec_replicas: str_at(scale, "/specReplicasPath").to_string(),
        status_replicas: str_at(scale, "/statusReplicasPath").to_string(),
        label_selector: scale
            .get("labelSelectorPath")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
    })
}

fn path_segments(path: &str) -> Vec<&str> {
    path.trim_start_matches('.')
        .split('.')
        .filter(|s| !s.is_empty())
        .collect()
}

/// The value at a simple `.a.b.c` path, if present.
pub fn read_path<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = obj;
    for seg in path_segments(path) {
        cur = cur.as_object()?.get(seg)?;
    }
    Some(cur)
}

/// Sets the value at a simple `.a.b.c` path, creating (or replacing non-object) parents.
pub fn write_path(obj: &mut Value, path: &str, value: Value) {
    let segs = path_segments(path);
    let Some((last, parents)) = segs.split_last() else {
        *obj = value;
        return;
    };
    let mut cur = obj;
    for seg in parents {
        if !cur.is_object() {
            *cur = json!({});
        }
        cur = cur
            .as_object_mut()
            .expect("object")
            .entry(*seg)
            .or_insert_with(|| json!({}));
    }
    if !cur.is_object() {
        *cur = json!({});
    }
    cur.as_object_mut()
        .expect("object")
        .insert((*last).to_string(), value);
}

#[cfg(test)]
mod tests;
