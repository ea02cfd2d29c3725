//! PodSecurity admission: the `pod-security.kubernetes.io/{enforce,warn,audit}` namespace
//! labels select the privileged, baseline or restricted Pod Security Standard.
//!
//! As kube-apiserver's built-in plugin (`k8s.io/pod-security-admission`, default
//! configuration: everything privileged, no exemptions):
//! - **namespaces**: invalid labels are refused on create, and on update when they changed; an
//!   update that tightens `enforce` warns about the existing pods that would be refused;
//! - **pods** (create, and updates that can change the evaluation, including the
//!   `ephemeralcontainers` subresource): `enforce` violations are refused with 403, `warn`
//!   violations become warnings;
//! - **workload resources** with a pod template only get `warn` warnings, never refusals.
//!
//! Every evaluated request's audit event is annotated with `pod-security.kubernetes.io/enforce-policy`
//! and, when the `audit` level is violated, `pod-security.kubernetes.io/audit-violations`.

use serde_json::{Value, json};
use warren_apimachinery::error::ApiError;
use warren_apimachinery::pod_security::{self, Policy};

use super::{Operation, Request};
use crate::handlers::plain_store_error;
use crate::object::decode_stored;
use crate::server::ApiServer;

/// Refuses (enforce) or warns about pods and pod templates that break the namespace's level.
pub async fn validate(api: &ApiServer, req: &Request<'_>, obj: &Value) -> Result<(), ApiError> {
    if req.operation == Operation::Delete {
        return Ok(());
    }
    if req.is("", "namespaces") {
        return validate_namespace(api, req, obj).await;
    }
    if req.is("", "pods") {
        return validate_pod(api, req, obj).await;
    }
    if req.subresource.is_none()
        && let Some(template) = pod_security::pod_template(&req.info.group, &req.info.plural, obj)
    {
        let Some((meta, spec)) = template else {
            return Ok(());
        };
        let Some(policy) = namespace_policy(api, req).await? else {
            return Ok(());
        };
        audit(req, &policy, meta, spec);
        warn(req, &policy, meta, spec);
    }
    Ok(())
}

/// Namespaces: refuse invalid labels; warn about existing pods when enforce tightens.
async fn validate_namespace(
    api: &ApiServer,
    req: &Request<'_>,
    obj: &Value,
) -> Result<(), ApiError> {
    if req.subresource.is_some() {
        return Ok(());
    }
    let (new_policy, new_errors) = Policy::from_labels(labels(obj));
    let invalid = || ApiError::invalid("", "Namespace", req.name, &new_errors);
    match (req.operation, req.old) {
        (Operation::Create, _) => {
            if !new_errors.is_empty() {
                return Err(invalid());
            }
            Ok(())
        }
        (Operation::Update, Some(old)) => {
            let (old_policy, old_errors) = Policy::from_labels(labels(old));
            if !new_errors.is_empty() && new_errors != old_errors {
                return Err(invalid());
            }
            if !pod_security::enforce_tightened(&new_policy, &old_policy) {
                return Ok(());
            }
            let pods_info = api
                .registry
                .lookup("", "v1", "pods")
                .ok_or_else(|| ApiError::internal("pods are not served"))?;
            let listed = api
                .store
                .range(&pods_info.namespace_prefix(Some(req.name)), "", 0, None)
                .await
                .map_err(plain_store_error)?;
            let pods: Vec<Value> = listed
                .kvs
                .iter()
                .map(|kv| decode_stored(&kv.value, kv.mod_revision))
                .collect();
            for warning in pod_security::existing_pods_warnings(req.name, new_policy.enforce, &pods)
            {
                req.ctx.warn(warning);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Pods: enforce and warn, skipping the subresources and updates upstream ignores.
async fn validate_pod(api: &ApiServer, req: &Request<'_>, obj: &Value) -> Result<(), ApiError> {
    if req
        .subresource
        .is_some_and(pod_security::is_ignored_pod_subresource)
    {
        return Ok(());
    }
    let Some(policy) = namespace_policy(api, req).await? else {
        return Ok(());
    };
    if let (Operation::Update, Some(old)) = (req.operation, req.old)
        && !pod_security::is_significant_pod_update(obj, old)
    {
        return Ok(());
    }
    let meta = obj.get("metadata").unwrap_or(&Value::Null);
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    req.ctx.annotate(
        "pod-security.kubernetes.io/enforce-policy",
        policy.enforce.to_string(),
    );
    audit(req, &policy, meta, spec);
    let violations = pod_security::evaluate_pod(policy.enforce, meta, spec);
    if !violations.allowed() {
        let mut err = ApiError::forbidden(format!(
            "pods \"{}\" is forbidden: {}",
            req.name,
            pod_security::violates_message(policy.enforce, &violations)
        ));
        err.details = Some(json!({"name": req.name, "group": "", "kind": "pods"}));
        return Err(err);
    }
    warn(req, &policy, meta, spec);
    Ok(())
}

/// Annotates the audit event with the violations of the namespace's audit level.
fn audit(req: &Request<'_>, policy: &Policy, meta: &Value, spec: &Value) {
    let violations = pod_security::evaluate_pod(policy.audit, meta, spec);
    if !violations.allowed() {
        req.ctx.annotate(
            "pod-security.kubernetes.io/audit-violations",
            pod_security::would_violate_message(policy.audit, &violations),
        );
    }
}

/// Adds the `would violate PodSecurity` warning for the namespace's warn level.
fn warn(req: &Request<'_>, policy: &Policy, meta: &Value, spec: &Value) {
    let violations = pod_security::evaluate_pod(policy.warn, meta, spec);
    if !violations.allowed() {
        req.ctx.warn(pod_security::would_violate_message(
            policy.warn,
            &violations,
        ));
    }
}

/// The policy of the request's namespace, or `None` when there is nothing to evaluate
/// (cluster-scoped request, or every mode privileged with valid labels).
async fn namespace_policy(api: &ApiServer, req: &Request<'_>) -> Result<Option<Policy>, ApiError> {
    let Some(ns) = req.namespace else {
        return Ok(None);
    };
    let namespaces = api
        .registry
        .lookup("", "v1", "namespaces")
        .ok_or_else(|| ApiError::internal("namespaces are not served"))?;
    let kv = api
        .store
        .get(&namespaces.key(None, ns))
        .await
        .map_err(plain_store_error)?
        .ok_or_else(|| ApiError::internal(format!("failed to lookup namespace {ns}")))?;
    let namespace = decode_stored(&kv.value, kv.mod_revision);
    let (policy, errors) = Policy::from_labels(labels(&namespace));
    if errors.is_empty() && policy.is_privileged() {
        return Ok(None);
    }
    Ok(Some(policy))
}

fn labels(obj: &Value) -> Option<&serde_json::Map<String, Value>> {
    obj.pointer("/metadata/labels").and_then(Value::as_object)
}
