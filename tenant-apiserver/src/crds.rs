//! The CustomResourceDefinition controllers of kube-apiserver's apiextensions server, in one
//! loop: the naming controller (`NamesAccepted`, `status.acceptedNames`), the establishing
//! controller (`Established`), serving (a CRD's served versions enter the registry, and so
//! discovery, OpenAPI and routing, as soon as its names are accepted) and the finalizer
//! controller (deleting a CRD deletes every object of it, then the CRD).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use warren_apimachinery::crd;
use warren_apimachinery::error::ApiError;
use warren_apimachinery::registry::ResourceInfo;

use crate::handlers::{DeleteOptions, WriteError, plain_store_error};
use crate::leader::Leadership;
use crate::object::{self, decode_stored};
use crate::server::ApiServer;

/// Where CRDs are stored.
pub const CRD_PREFIX: &str = "/registry/apiextensions.k8s.io/customresourcedefinitions/";
/// The finalizer a CRD carries while its objects are being deleted.
pub const CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

/// Whether `info` is the CustomResourceDefinition resource itself.
pub fn is_crd_resource(info: &ResourceInfo) -> bool {
    info.group == "apiextensions.k8s.io" && info.plural == "customresourcedefinitions"
}

fn crd_info(api: &ApiServer) -> ResourceInfo {
    (*api
        .registry
        .lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        .expect("CRDs are built in"))
    .clone()
}

/// Runs the CRD controllers until `cancel`: once at once (so that a restarted server serves
/// its custom resources before it answers requests: call [`reconcile_all`] first), then on
/// every CRD event.
///
/// Every replica serves what the CRDs define; only the leader writes their status and deletes
/// the objects of deleted CRDs.
pub async fn run(api: Arc<ApiServer>, leadership: Leadership, cancel: CancellationToken) {
    let mut events = match api.watch_cache.subscribe_after(api.watch_cache.latest()) {
        Ok(s) => s.live,
        Err(_) => return,
    };
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
            ev = events.recv() => match ev {
                Ok(ev) if ev.key.starts_with(CRD_PREFIX) => {}
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                // The watch cache started over after a gap: follow its new feed.
                Err(broadcast::error::RecvError::Closed) => {
                    match api.watch_cache.subscribe_after(api.watch_cache.latest()) {
                        Ok(s) => events = s.live,
                        Err(_) => return,
                    }
                }
            }
        }
        if let Err(err) = reconcile_all(&api, leadership.is_leader()).await {
            tracing::warn!(error = %err.message, "CRD reconcile failed");
        }
    }
}

/// One pass over every CRD: names, conditions, serving, cleanup (status writes and cleanup
/// only when `leading`).
pub async fn reconcile_all(api: &ApiServer, leading: bool) -> Result<(), ApiError> {
    let all = api
        .store
        .range(CRD_PREFIX, "", 0, None)
        .await
        .map_err(plain_store_error)?;
    let mut crds: Vec<(Value, warren_store::KeyValue)> = all
        .kvs
        .into_iter()
        .map(|kv| (decode_stored(&kv.value, kv.mod_revision), kv))
        .collect();
    // The oldest CRD keeps contested names, as the naming controller decides by creation.
    crds.sort_by(|(a, _), (b, _)| {
        let ka = (
            object::meta_str(a, "creationTimestamp").unwrap_or_default(),
            object::name(a),
        );
        let kb = (
            object::meta_str(b, "creationTimestamp").unwrap_or_default(),
            object::name(b),
        );
        ka.cmp(&kb)
    });
    let builtins: Vec<ResourceInfo> = api
        .registry
        .all()
        .iter()
        .filter(|r| r.crd.is_none())
        .map(|r| (**r).clone())
        .collect();
    let mut accepted: Vec<Value> = Vec::new();
    let mut served: Vec<(String, String)> = Vec::new();
    for (obj, kv) in &crds {
        let group = obj
            .pointer("/spec/group")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let plural = obj
            .pointer("/spec/names/plural")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if object::is_deleting(obj) {
            // Keep serving while the objects go, so that they can be deleted through the API.
            if leading {
                cleanup(api, obj, kv, &group, &plural).await?;
            }
            continue;
        }
        let conflict = crd::names_conflict(obj, &accepted, &builtins);
        let mut new = obj.clone();
        set_status(&mut new, conflict.as_ref());
        if conflict.is_none() {
            accepted.push(obj.clone());
            api.registry
                .set_custom(&group, &plural, crd::resource_infos(obj));
            served.push((group.clone(), plural.clone()));
        }
        if leading && new != *obj {
            let info = crd_info(api);
            let name = object::name(obj).to_string();
            match api
                .write_update(
                    &info,
                    None,
                    &name,
                    kv,
                    obj,
                    new,
                    Some("status"),
                    false,
                    None,
                    None,
                )
                .await
            {
                Ok(_) | Err(WriteError::Conflict) => {}
                Err(WriteError::Api(e)) if e.code == 404 => {}
                Err(WriteError::Api(e)) => return Err(e),
            }
        }
    }
    // Whatever is served but no longer defined (a CRD gone, or renamed) stops being served.
    let mut stale: Vec<(String, String)> = api
        .registry
        .all()
        .iter()
        .filter(|r| r.crd.is_some())
        .map(|r| (r.group.clone(), r.plural.clone()))
        .filter(|gp| !served.contains(gp))
        .filter(|(g, p)| {
            !crds.iter().any(|(o, _)| {
                object::is_deleting(o)
                    && o.pointer("/spec/group").and_then(Value::as_str) == Some(g)
                    && o.pointer("/spec/names/plural").and_then(Value::as_str) == Some(p)
            })
        })
        .collect();
    stale.dedup();
    for (g, p) in stale {
        api.registry.remove_custom(&g, &p);
    }
    Ok(())
}

/// Sets `status.conditions` (NamesAccepted, Established), `status.acceptedNames` and
/// `status.storedVersions`, keeping transition times of conditions that did not change.
fn set_status(crd: &mut Value, conflict: Option<&(String, String)>) {
    let names = crd.pointer("/spec/names").cloned().unwrap_or(json!({}));
    let storage = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .and_then(|vs| {
            vs.iter()
                .find(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        })
        .and_then(|v| v.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if !crd.get("status").is_some_and(Value::is_object) {
        crd["status"] = json!({});
    }
    let status = crd["status"].as_object_mut().expect("object");
    let (names_cond, established) = match conflict {
        None => {
            status.insert("acceptedNames".into(), names.clone());
            (
                ("True", "NoConflicts", "no conflicts found".to_string()),
                (
                    "True",
                    "InitialNamesAccepted",
                    "the initial names have been accepted".to_string(),
                ),
            )
        }
        Some((reason, message)) => {
            if !status.contains_key("acceptedNames") {
                status.insert("acceptedNames".into(), json!({"plural": "", "kind": ""}));
            }
            (
                ("False", reason.as_str(), message.clone()),
                (
                    "False",
                    "NotAccepted",
                    "not all names are accepted".to_string(),
                ),
            )
        }
    };
    let mut stored: Vec<Value> = status
        .get("storedVersions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if !storage.is_empty() && !stored.iter().any(|v| v.as_str() == Some(&storage)) {
        stored.push(json!(storage));
    }
    status.insert("storedVersions".into(), json!(stored));
    let mut conditions: Vec<Value> = status
        .get("conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    set_condition(&mut conditions, "NamesAccepted", names_cond);
    set_condition(&mut conditions, "Established", established);
    status.insert("conditions".into(), json!(conditions));
}

fn set_condition(
    conditions: &mut Vec<Value>,
    ty: &str,
    (status, reason, message): (&str, &str, String),
) {
    let now = object::now_rfc3339();
    match conditions.iter_mut().find(|c| c["type"] == ty) {
        Some(c) => {
            if c["status"] != status {
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

/// Deletes every object of a CRD being deleted; once none is left, stops serving it and
/// removes the cleanup finalizer (the CRD then goes).
async fn cleanup(
    api: &ApiServer,
    obj: &Value,
    kv: &warren_store::KeyValue,
    group: &str,
    plural: &str,
) -> Result<(), ApiError> {
    let info = api
        .registry
        .all()
        .into_iter()
        .find(|r| r.crd.is_some() && r.group == group && r.plural == plural);
    let mut remaining = 0usize;
    if let Some(info) = &info {
        let res = api
            .store
            .range(&info.key_prefix(), "", 0, None)
            .await
            .map_err(plain_store_error)?;
        for kv in res.kvs {
            let item = decode_stored(&kv.value, kv.mod_revision);
            remaining += 1;
            if object::is_deleting(&item) {
                continue;
            }
            let ns = object::meta_str(&item, "namespace").map(str::to_string);
            let name = object::name(&item).to_string();
            match api
                .delete_object(
                    info,
                    ns.as_deref().filter(|_| info.namespaced),
                    &name,
                    &DeleteOptions::default(),
                    None,
                )
                .await
            {
                Ok((_, true)) => remaining -= 1,
                Ok((_, false)) => {}
                Err(e) if e.code == 404 => remaining -= 1,
                Err(e) => return Err(e),
            }
        }
    }
    if remaining > 0 {
        return Ok(());
    }
    api.registry.remove_custom(group, plural);
    let mut new = obj.clone();
    if let Some(fins) = new
        .pointer_mut("/metadata/finalizers")
        .and_then(Value::as_array_mut)
    {
        fins.retain(|f| f.as_str() != Some(CLEANUP_FINALIZER));
    }
    let crd_info = crd_info(api);
    let name = object::name(obj).to_string();
    match api
        .write_update(
            &crd_info, None, &name, kv, obj, new, None, false, None, None,
        )
        .await
    {
        Ok(_) | Err(WriteError::Conflict) => Ok(()),
        Err(WriteError::Api(e)) if e.code == 404 => Ok(()),
        Err(WriteError::Api(e)) => Err(e),
    }
}

/// What a DELETE of a CRD does before the usual deletion: mark it with the cleanup finalizer
/// and the `Terminating` condition, so that its objects go first.
pub fn prepare_delete(crd: &mut Value) {
    if object::is_deleting(crd) {
        return;
    }
    let meta = object::metadata_mut(crd).expect("object");
    let fins = meta.entry("finalizers").or_insert_with(|| json!([]));
    if let Some(arr) = fins.as_array_mut()
        && !arr.iter().any(|f| f.as_str() == Some(CLEANUP_FINALIZER))
    {
        arr.push(json!(CLEANUP_FINALIZER));
    }
    if !crd.get("status").is_some_and(Value::is_object) {
        crd["status"] = json!({});
    }
    let mut conditions: Vec<Value> = crd["status"]
        .get("conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    set_condition(
        &mut conditions,
        "Terminating",
        (
            "True",
            "InstanceDeletionInProgress",
            "CustomResource deletion is in progress".to_string(),
        ),
    );
    crd["status"]["conditions"] = json!(conditions);
}

/// The structural schema of a custom resource version, if it has one.
pub fn schema_of(info: &ResourceInfo) -> Option<&Value> {
    info.crd
        .as_deref()
        .and_then(|v| v.pointer("/schema/openAPIV3Schema"))
}

/// Defaulting and validation of an object on create (`old` is `None`) or update, for every
/// kind: built-in kinds through their strategies; CRDs additionally through the apiextensions
/// rules; custom resources through their structural schema (pruning, then defaulting, then
/// validation, as the apiextensions server's decoder and strategy do).
pub fn default_and_validate(
    info: &ResourceInfo,
    obj: &mut Value,
    old: Option<&Value>,
) -> Vec<warren_apimachinery::error::FieldError> {
    use warren_apimachinery::kinds;
    if is_crd_resource(info) {
        crd::default_crd(obj);
        let mut errors = kinds::validate(info, obj, old);
        errors.extend(crd::validate_crd(obj, old));
        return errors;
    }
    if let Some(schema) = schema_of(info) {
        crd::prune(obj, schema);
        crd::apply_defaults(obj, schema);
        let mut errors = kinds::validate(info, obj, old);
        errors.extend(crd::validate_object(obj, schema));
        return errors;
    }
    kinds::apply_defaults(info, obj);
    kinds::validate(info, obj, old)
}

/// The defaulting half of [`default_and_validate`] (decoding's defaults in kube-apiserver,
/// before admission sees the object).
pub fn apply_defaults(info: &ResourceInfo, obj: &mut Value) {
    use warren_apimachinery::kinds;
    if is_crd_resource(info) {
        crd::default_crd(obj);
    } else if let Some(schema) = schema_of(info) {
        crd::apply_defaults(obj, schema);
    } else {
        kinds::apply_defaults(info, obj);
    }
}

/// Rewrites a stored custom resource to the version it is read at (conversion `None`: only
/// `apiVersion` changes). Built-in objects pass unchanged.
pub fn present(info: &ResourceInfo, obj: &mut Value) {
    if info.crd.is_some()
        && let Some(o) = obj.as_object_mut()
        && o.contains_key("metadata")
    {
        o.insert("apiVersion".into(), json!(info.api_version()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crontab() -> Value {
        json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "crontabs.stable.example.com"},
            "spec": {
                "group": "stable.example.com",
                "scope": "Namespaced",
                "names": {"plural": "crontabs", "singular": "crontab", "kind": "CronTab", "listKind": "CronTabList"},
                "versions": [
                    {"name": "v1beta1", "served": true, "storage": false},
                    {"name": "v1", "served": true, "storage": true},
                ],
            },
        })
    }

    #[test]
    fn accepted_names_establish_the_crd() {
        let mut crd = crontab();
        set_status(&mut crd, None);
        let status = &crd["status"];
        assert_eq!(status["acceptedNames"]["plural"], "crontabs");
        assert_eq!(status["storedVersions"], json!(["v1"]));
        let cond = |t: &str| {
            status["conditions"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["type"] == t)
                .cloned()
                .unwrap()
        };
        assert_eq!(cond("NamesAccepted")["status"], "True");
        assert_eq!(cond("NamesAccepted")["reason"], "NoConflicts");
        assert_eq!(cond("Established")["status"], "True");
        assert_eq!(cond("Established")["reason"], "InitialNamesAccepted");
        // Reconciling again changes nothing (no write storm).
        let before = crd.clone();
        set_status(&mut crd, None);
        assert_eq!(crd, before);
    }

    #[test]
    fn conflicting_names_are_not_established() {
        let mut crd = crontab();
        let conflict = (
            "PluralConflict".to_string(),
            "\"crontabs\" is already in use".to_string(),
        );
        set_status(&mut crd, Some(&conflict));
        let conds = crd["status"]["conditions"].as_array().unwrap();
        let names = conds.iter().find(|c| c["type"] == "NamesAccepted").unwrap();
        assert_eq!(names["status"], "False");
        assert_eq!(names["message"], "\"crontabs\" is already in use");
        let est = conds.iter().find(|c| c["type"] == "Established").unwrap();
        assert_eq!(est["status"], "False");
        assert_eq!(est["reason"], "NotAccepted");
    }

    #[test]
    fn delete_marks_with_the_cleanup_finalizer_once() {
        let mut crd = crontab();
        prepare_delete(&mut crd);
        prepare_delete(&mut crd);
        assert_eq!(crd["metadata"]["finalizers"], json!([CLEANUP_FINALIZER]));
        let conds = crd["status"]["conditions"].as_array().unwrap();
        assert!(
            conds
                .iter()
                .any(|c| c["type"] == "Terminating" && c["status"] == "True")
        );
    }

    #[test]
    fn registry_serves_versions_in_priority_order() {
        let registry = warren_apimachinery::registry::Registry::new();
        let generation = registry.generation();
        registry.set_custom(
            "stable.example.com",
            "crontabs",
            crd::resource_infos(&crontab()),
        );
        assert!(registry.generation() > generation);
        let gvs = registry.group_versions();
        let (_, versions) = gvs.iter().find(|(g, _)| g == "stable.example.com").unwrap();
        assert_eq!(versions, &vec!["v1".to_string(), "v1beta1".to_string()]);
        let info = registry
            .lookup("stable.example.com", "v1beta1", "crontabs")
            .unwrap();
        assert_eq!(info.crd.as_ref().unwrap()["storageVersion"], "v1");
        // Setting the same again is not a change.
        let generation = registry.generation();
        registry.set_custom(
            "stable.example.com",
            "crontabs",
            crd::resource_infos(&crontab()),
        );
        assert_eq!(registry.generation(), generation);
        registry.remove_custom("stable.example.com", "crontabs");
        assert!(
            registry
                .lookup("stable.example.com", "v1", "crontabs")
                .is_none()
        );
    }
}
