//! The `pods/eviction` subresource (`POST .../pods/NAME/eviction` with a `policy/v1 Eviction`),
//! as kube-apiserver's `EvictionREST`: a pod is deleted only if the PodDisruptionBudget that
//! selects it allows one more disruption. The budget is decremented (and the pod recorded in
//! `status.disruptedPods`) with a compare-and-swap update before the pod is deleted, so two
//! evictions racing for the last allowed disruption cannot both win. Terminal, pending and
//! already deleting pods are deleted without looking at budgets; a not-ready pod is deleted
//! without consuming the budget when the application is healthy enough (or the budget says
//! `unhealthyPodEvictionPolicy: AlwaysAllow`).

use std::collections::HashMap;

use http::{Response, StatusCode};
use serde_json::{Value, json};
use warren_apimachinery::error::{ApiError, FieldError};
use warren_apimachinery::registry::ResourceInfo;
use warren_apimachinery::selectors::LabelSelector;
use warren_store::StoreError;

use crate::codec::{self, Output};
use crate::handlers::{DeleteOptions, RequestContext, plain_store_error, store_error};
use crate::object::{self, decode_stored, encode_for_store};
use crate::pki::UserInfo;
use crate::server::{ApiServer, Body, bytes_response};

/// The most entries `status.disruptedPods` may hold before evictions are refused (evictions
/// approved but not yet seen by the disruption controller).
const MAX_DISRUPTED_POD_SIZE: usize = 2000;

/// How many times a conflicting write is retried (upstream's `EvictionsRetry` steps).
const EVICTION_RETRIES: usize = 20;

/// The message of a refused eviction.
pub const TOO_MANY_REQUESTS_MESSAGE: &str =
    "Cannot evict pod as it would violate the pod's disruption budget.";

/// The message when more than one budget selects the pod.
pub const MULTIPLE_PDB_MESSAGE: &str = "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.";

/// Serves `POST /api/v1/namespaces/NS/pods/NAME/eviction`.
pub async fn evict(
    api: &ApiServer,
    pods: &ResourceInfo,
    ns: Option<&str>,
    name: &str,
    ctx: &RequestContext,
    body: &[u8],
    output: Output,
) -> Result<Response<Body>, ApiError> {
    let namespace = ns.ok_or_else(ApiError::no_route)?;
    let mut eviction = decode_eviction(ctx, body)?;
    if object::name(&eviction) != name {
        return Err(ApiError::bad_request(
            "name in URL does not match name in Eviction object",
        ));
    }
    if let Some(obj_ns) = object::meta_str(&eviction, "namespace").filter(|s| !s.is_empty())
        && obj_ns != namespace
    {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    if eviction
        .pointer("/deleteOptions/ignoreStoreReadErrorWithClusterBreakingPotential")
        .and_then(Value::as_bool)
        == Some(true)
    {
        return Err(ApiError::invalid(
            "policy",
            "Eviction",
            name,
            &[FieldError::invalid(
                "deleteOptions.ignoreStoreReadErrorWithClusterBreakingPotential",
                "true",
                "can not be set for pod eviction, try after removing the option",
            )],
        ));
    }
    let original = delete_options_of(ctx, &eviction)?;

    let admission = crate::admission::Request {
        info: pods,
        operation: crate::admission::Operation::Create,
        namespace: Some(namespace),
        name,
        subresource: Some("eviction"),
        old: None,
        dry_run: original.dry_run,
        ctx,
    };
    crate::admission::mutate(api, &admission, &mut eviction).await?;
    crate::admission::validate(api, &admission, &eviction).await?;

    // Pods that are terminal, pending or already deleting go without looking at budgets.
    let retry_conflicts = original.precondition_rv.is_none();
    let mut pod;
    let mut attempts = 0;
    loop {
        attempts += 1;
        pod = get_pod(api, pods, namespace, name).await?;
        if !can_ignore_pdb(&pod) {
            break;
        }
        let mut opts = original.clone();
        if should_enforce_resource_version(&pod) && original.precondition_rv.is_none() {
            opts.precondition_rv = object::resource_version(&pod).map(str::to_string);
        }
        match add_condition_and_delete(api, pods, namespace, name, opts).await {
            Ok(()) => return Ok(success(output)),
            Err(e) if e.code == 409 && retry_conflicts && attempts < EVICTION_RETRIES => continue,
            Err(e) => return Err(e),
        }
    }

    let pdbs = matching_budgets(api, namespace, &pod).await?;
    if pdbs.len() > 1 {
        return Err(ApiError::new(500, "", MULTIPLE_PDB_MESSAGE));
    }
    let mut pdb_name = String::new();
    let mut unready_without_budget = false;
    if let Some(pdb) = pdbs.into_iter().next() {
        pdb_name = object::name(&pdb).to_string();
        let status = |f: &str| pdb.pointer(&format!("/status/{f}")).and_then(Value::as_i64);
        let current = status("currentHealthy").unwrap_or(0);
        let desired = status("desiredHealthy").unwrap_or(0);
        let always_allow =
            pdb.pointer("/spec/unhealthyPodEvictionPolicy") == Some(&json!("AlwaysAllow"));
        if !is_pod_ready(&pod) && (always_allow || (current >= desired && desired > 0)) {
            // The unhealthy pod does not count towards the budget: delete it without
            // consuming a disruption, provided it has not become ready meanwhile.
            unready_without_budget = true;
        } else {
            check_and_decrement_with_retries(api, namespace, name, pdb, original.dry_run).await?;
        }
    }

    let mut opts = original.clone();
    if unready_without_budget {
        opts.precondition_rv = object::resource_version(&pod).map(str::to_string);
    }
    match add_condition_and_delete(api, pods, namespace, name, opts).await {
        Ok(()) => Ok(success(output)),
        Err(e) if e.code == 409 && unready_without_budget && original.precondition_rv.is_none() => {
            Err(too_many_requests_still_processing(&pdb_name))
        }
        Err(e) => Err(e),
    }
}

/// Decodes the request body as a `policy/v1` (or `v1beta1`) Eviction.
fn decode_eviction(ctx: &RequestContext, body: &[u8]) -> Result<Value, ApiError> {
    let ty = codec::body_type(ctx.content_type.as_deref())?;
    let eviction = codec::decode_body(body, ty)?;
    if !eviction.is_object() {
        return Err(ApiError::bad_request(
            "the object provided is unrecognized (must be of type Eviction)",
        ));
    }
    let kind = eviction.get("kind").and_then(Value::as_str).unwrap_or("");
    let api_version = eviction
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !(kind.is_empty() || kind == "Eviction")
        || !matches!(api_version, "" | "policy/v1" | "policy/v1beta1")
    {
        return Err(ApiError::bad_request(format!(
            "{kind} in version \"{api_version}\" cannot be handled as a Eviction: no kind \"{kind}\" is registered for version \"{api_version}\" at this endpoint"
        )));
    }
    Ok(eviction)
}

/// The Eviction's `deleteOptions`, with the request's `dryRun` pushed into them
/// (`propagateDryRun`): both set and different is an error.
fn delete_options_of(ctx: &RequestContext, eviction: &Value) -> Result<DeleteOptions, ApiError> {
    let query_dry: Vec<String> = match ctx.query.get("dryRun").map(String::as_str) {
        None | Some("") => Vec::new(),
        Some(v) => vec![v.to_string()],
    };
    let body_dry: Vec<String> = eviction
        .pointer("/deleteOptions/dryRun")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if !query_dry.is_empty() && !body_dry.is_empty() && query_dry != body_dry {
        return Err(ApiError::internal(format!(
            "Non-matching dry-run options in request and content: [{}] and [{}]",
            query_dry.join(" "),
            body_dry.join(" ")
        )));
    }
    let mut query = HashMap::new();
    if let Some(d) = query_dry.first() {
        query.insert("dryRun".to_string(), d.clone());
    }
    let body = match eviction.get("deleteOptions") {
        Some(o @ Value::Object(_)) => serde_json::to_vec(o).unwrap_or_default(),
        _ => Vec::new(),
    };
    DeleteOptions::parse(&query, &body)
}

async fn get_pod(
    api: &ApiServer,
    pods: &ResourceInfo,
    namespace: &str,
    name: &str,
) -> Result<Value, ApiError> {
    let kv = api
        .store
        .get(&pods.key(Some(namespace), name))
        .await
        .map_err(|e| store_error(e, pods, name))?
        .ok_or_else(|| ApiError::not_found("", "pods", name))?;
    Ok(decode_stored(&kv.value, kv.mod_revision))
}

fn phase(pod: &Value) -> &str {
    pod.pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Pods whose deletion disrupts nothing more (`canIgnorePDB`): terminal, pending, or
/// already being deleted.
pub fn can_ignore_pdb(pod: &Value) -> bool {
    matches!(phase(pod), "Succeeded" | "Failed" | "Pending") || object::is_deleting(pod)
}

/// Whether the delete must carry the pod's resourceVersion, so that a pod turning ready
/// meanwhile is not deleted on stale grounds.
fn should_enforce_resource_version(pod: &Value) -> bool {
    !(matches!(phase(pod), "Succeeded" | "Failed") || object::is_deleting(pod))
}

/// Whether the pod's `Ready` condition is `True`.
pub fn is_pod_ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

/// The PodDisruptionBudgets of the pod's namespace whose selector matches it (a null or empty
/// selector matches nothing here; an invalid one is skipped).
async fn matching_budgets(
    api: &ApiServer,
    namespace: &str,
    pod: &Value,
) -> Result<Vec<Value>, ApiError> {
    let info = pdb_info(api)?;
    let res = api
        .store
        .range(&info.namespace_prefix(Some(namespace)), "", 0, None)
        .await
        .map_err(plain_store_error)?;
    Ok(res
        .kvs
        .iter()
        .map(|kv| decode_stored(&kv.value, kv.mod_revision))
        .filter(|pdb| {
            let sel = pdb.pointer("/spec/selector").unwrap_or(&Value::Null);
            match LabelSelector::from_label_selector_json(sel) {
                Ok(s) => !s.is_empty() && !s.matches_nothing() && s.matches_object(pod),
                Err(_) => false,
            }
        })
        .collect())
}

fn pdb_info(api: &ApiServer) -> Result<std::sync::Arc<ResourceInfo>, ApiError> {
    api.registry
        .lookup("policy", "v1", "poddisruptionbudgets")
        .ok_or_else(|| ApiError::internal("poddisruptionbudgets are not served"))
}

/// `checkAndDecrement` under `RetryOnConflict`: a conflict re-reads the budget and tries
/// again; anything else (a refusal) ends the attempt.
async fn check_and_decrement_with_retries(
    api: &ApiServer,
    namespace: &str,
    pod_name: &str,
    mut pdb: Value,
    dry_run: bool,
) -> Result<(), ApiError> {
    let info = pdb_info(api)?;
    let pdb_name = object::name(&pdb).to_string();
    for attempt in 0..EVICTION_RETRIES {
        if attempt > 0 {
            let kv = api
                .store
                .get(&info.key(Some(namespace), &pdb_name))
                .await
                .map_err(|e| store_error(e, &info, &pdb_name))?
                .ok_or_else(|| ApiError::not_found("policy", "poddisruptionbudgets", &pdb_name))?;
            pdb = decode_stored(&kv.value, kv.mod_revision);
        }
        match check_and_decrement(api, &info, namespace, pod_name, pdb.clone(), dry_run).await {
            Err(e) if e.code == 409 => continue,
            other => return other,
        }
    }
    Err(ApiError::timeout(format!(
        "couldn't update PodDisruptionBudget \"{pdb_name}\" due to conflicts"
    )))
}

/// Refuses the eviction if the budget allows no disruption; otherwise decrements
/// `disruptionsAllowed`, records the pod in `disruptedPods` and writes the budget's status
/// (compare-and-swap on its resourceVersion).
async fn check_and_decrement(
    api: &ApiServer,
    info: &ResourceInfo,
    namespace: &str,
    pod_name: &str,
    mut pdb: Value,
    dry_run: bool,
) -> Result<(), ApiError> {
    let name = object::name(&pdb).to_string();
    let status = |pdb: &Value, f: &str| {
        pdb.pointer(&format!("/status/{f}"))
            .and_then(Value::as_i64)
            .unwrap_or(0)
    };
    let generation = pdb
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if status(&pdb, "observedGeneration") < generation {
        return Err(too_many_requests_still_processing(&name));
    }
    let allowed = status(&pdb, "disruptionsAllowed");
    if allowed < 0 {
        return Err(budget_forbidden(
            &name,
            "pdb disruptions allowed is negative",
            "pdb disruptions allowed is negative",
        ));
    }
    let disrupted = pdb
        .pointer("/status/disruptedPods")
        .and_then(Value::as_object)
        .map_or(0, |m| m.len());
    if disrupted > MAX_DISRUPTED_POD_SIZE {
        return Err(budget_forbidden(
            &name,
            "DisruptedPods map too big - too many evictions not confirmed by PDB controller",
            "too many pending evictions not confirmed by PDB controller",
        ));
    }
    if allowed == 0 {
        let current = status(&pdb, "currentHealthy");
        let desired = status(&pdb, "desiredHealthy");
        let condition = pdb
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .and_then(|cs| cs.iter().find(|c| c["type"] == "DisruptionAllowed"))
            .cloned();
        let false_with_message = condition.as_ref().filter(|c| {
            c["status"] == "False" && c["message"].as_str().is_some_and(|m| !m.is_empty())
        });
        let cause = match false_with_message {
            Some(c) if c["reason"] == "SyncFailed" => format!(
                "The disruption budget {name} does not allow evicting pods currently because it failed sync: {}",
                c["message"].as_str().unwrap_or_default()
            ),
            _ if current <= desired => format!(
                "The disruption budget {name} needs {desired} healthy pods and has {current} currently"
            ),
            Some(c) => format!(
                "The disruption budget {name} does not allow evicting pods currently ({}): {}",
                c["reason"].as_str().unwrap_or_default(),
                c["message"].as_str().unwrap_or_default()
            ),
            None => format!("The disruption budget {name} does not allow evicting pods currently"),
        };
        let mut err = ApiError::new(429, "TooManyRequests", TOO_MANY_REQUESTS_MESSAGE);
        err.details = Some(json!({"causes": [{"reason": "DisruptionBudget", "message": cause}]}));
        return Err(err);
    }

    pdb["status"]["disruptionsAllowed"] = json!(allowed - 1);
    if allowed - 1 == 0 {
        crate::ctrl::disruption::update_disruption_allowed_condition(&mut pdb);
    }
    if dry_run {
        return Ok(());
    }
    if !pdb["status"]["disruptedPods"].is_object() {
        pdb["status"]["disruptedPods"] = json!({});
    }
    pdb["status"]["disruptedPods"][pod_name] = json!(object::now_rfc3339());
    let ctx = apiserver_context();
    api.update(info, Some(namespace), &name, pdb, Some("status"), &ctx)
        .await
        .map(|_| ())
}

/// The identity the eviction handler writes budgets with (kube-apiserver's loopback client).
fn apiserver_context() -> RequestContext {
    RequestContext {
        user: UserInfo {
            name: "system:apiserver".into(),
            groups: vec!["system:masters".into(), "system:authenticated".into()],
            ..Default::default()
        },
        accept: None,
        content_type: Some("application/json".into()),
        query: HashMap::new(),
        user_agent: Some("kube-apiserver/v1.37.0 (linux/amd64) kubernetes/warren".into()),
        warnings: std::sync::Arc::new(std::sync::Mutex::new(Vec::new())),
        audit_annotations: Default::default(),
    }
}

/// 429 for a budget the disruption controller has not caught up with yet.
fn too_many_requests_still_processing(pdb_name: &str) -> ApiError {
    let mut err = ApiError::new(429, "TooManyRequests", TOO_MANY_REQUESTS_MESSAGE);
    err.details = Some(json!({
        "causes": [{"reason": "DisruptionBudget", "message": format!("The disruption budget {pdb_name} is still being processed by the server.")}],
        "retryAfterSeconds": 10,
    }));
    err
}

/// 403 on `poddisruptionbudget.policy NAME`, with a DisruptionBudget cause.
fn budget_forbidden(name: &str, why: &str, cause: &str) -> ApiError {
    let mut err = ApiError::forbidden(format!(
        "poddisruptionbudget.policy \"{name}\" is forbidden: {why}"
    ));
    err.details = Some(json!({
        "name": name, "group": "policy", "kind": "poddisruptionbudget",
        "causes": [{"reason": "DisruptionBudget", "message": format!("The disruption budget {name} does not allow evicting pods currently: {cause}")}],
    }));
    err
}

/// Marks the pod with the `DisruptionTarget` condition (unless a dry run), then deletes it
/// with `opts`. A resourceVersion precondition is checked against the pod before the
/// condition is written, and then moved to the version that write made.
async fn add_condition_and_delete(
    api: &ApiServer,
    pods: &ResourceInfo,
    namespace: &str,
    name: &str,
    mut opts: DeleteOptions,
) -> Result<(), ApiError> {
    if !opts.dry_run {
        let key = pods.key(Some(namespace), name);
        let mut written = false;
        for _ in 0..EVICTION_RETRIES {
            let kv = api
                .store
                .get(&key)
                .await
                .map_err(|e| store_error(e, pods, name))?
                .ok_or_else(|| ApiError::not_found("", "pods", name))?;
            let mut pod = decode_stored(&kv.value, kv.mod_revision);
            if let Some(uid) = opts.precondition_uid.as_deref().filter(|u| !u.is_empty()) {
                let actual = object::meta_str(&pod, "uid").unwrap_or_default();
                if uid != actual {
                    return Err(ApiError::conflict_with(
                        "",
                        "Pod",
                        name,
                        &format!(
                            "the UID in the precondition ({uid}) does not match the UID in record ({actual}). The object might have been deleted and then recreated"
                        ),
                    ));
                }
            }
            if let Some(rv) = opts.precondition_rv.as_deref().filter(|r| !r.is_empty()) {
                let actual = kv.mod_revision.to_string();
                if rv != actual {
                    return Err(ApiError::conflict_with(
                        "",
                        "Pod",
                        name,
                        &format!(
                            "the ResourceVersion in the precondition ({rv}) does not match the ResourceVersion in record ({actual}). The object might have been modified"
                        ),
                    ));
                }
            }
            if !set_disruption_target(&mut pod) {
                written = true;
                break;
            }
            match api
                .store
                .update(&key, encode_for_store(&pod), kv.mod_revision)
                .await
            {
                Ok(new) => {
                    if opts.precondition_rv.is_some() {
                        opts.precondition_rv = Some(new.mod_revision.to_string());
                    }
                    written = true;
                    break;
                }
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(store_error(e, pods, name)),
            }
        }
        if !written {
            return Err(ApiError::conflict("", "pods", name));
        }
    }
    api.delete_object(pods, Some(namespace), name, &opts, None)
        .await
        .map(|_| ())
}

/// Sets the pod's `DisruptionTarget` condition to True (`EvictionByEvictionAPI`) as
/// `UpdatePodCondition` does; false if it already says so.
fn set_disruption_target(pod: &mut Value) -> bool {
    let wanted = json!({
        "type": "DisruptionTarget",
        "status": "True",
        "reason": "EvictionByEvictionAPI",
        "message": "Eviction API: evicting",
    });
    if !pod["status"].is_object() {
        pod["status"] = json!({});
    }
    if !pod["status"]["conditions"].is_array() {
        pod["status"]["conditions"] = json!([]);
    }
    let conditions = pod["status"]["conditions"]
        .as_array_mut()
        .expect("conditions is an array");
    let now = object::now_rfc3339();
    match conditions
        .iter_mut()
        .find(|c| c["type"] == "DisruptionTarget")
    {
        Some(c) => {
            if c["status"] == wanted["status"]
                && c["reason"] == wanted["reason"]
                && c["message"] == wanted["message"]
            {
                return false;
            }
            if c["status"] != wanted["status"] {
                c["lastTransitionTime"] = json!(now);
            }
            c["status"] = wanted["status"].clone();
            c["reason"] = wanted["reason"].clone();
            c["message"] = wanted["message"].clone();
            c["lastProbeTime"] = Value::Null;
        }
        None => {
            let mut c = wanted;
            c["lastProbeTime"] = Value::Null;
            c["lastTransitionTime"] = json!(now);
            conditions.push(c);
        }
    }
    true
}

/// The `Success` Status a granted eviction answers with (201, as for any create).
fn success(output: Output) -> Response<Body> {
    let status = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201,
    });
    let output = match output {
        Output::Yaml => Output::Yaml,
        _ => Output::Json,
    };
    let (ct, bytes) = codec::encode(&status, output);
    bytes_response(StatusCode::CREATED, ct, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pods_that_skip_budgets() {
        let pod = |phase: &str, deleting: bool| {
            let mut p = json!({"metadata": {"name": "p"}, "status": {"phase": phase}});
            if deleting {
                p["metadata"]["deletionTimestamp"] = json!("2024-01-01T00:00:00Z");
            }
            p
        };
        assert!(can_ignore_pdb(&pod("Succeeded", false)));
        assert!(can_ignore_pdb(&pod("Failed", false)));
        assert!(can_ignore_pdb(&pod("Pending", false)));
        assert!(can_ignore_pdb(&pod("Running", true)));
        assert!(!can_ignore_pdb(&pod("Running", false)));
        assert!(should_enforce_resource_version(&pod("Pending", false)));
        assert!(!should_enforce_resource_version(&pod("Failed", false)));
        assert!(!should_enforce_resource_version(&pod("Running", true)));
    }

    #[test]
    fn disruption_target_is_set_once() {
        let mut pod = json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}});
        assert!(set_disruption_target(&mut pod));
        let c = &pod["status"]["conditions"][1];
        assert_eq!(c["type"], "DisruptionTarget");
        assert_eq!(c["reason"], "EvictionByEvictionAPI");
        assert_eq!(c["message"], "Eviction API: evicting");
        assert!(!set_disruption_target(&mut pod));
    }
}
