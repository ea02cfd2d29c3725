//! Admission webhooks: MutatingWebhookConfigurations and ValidatingWebhookConfigurations,
//! called over HTTPS with `admission.k8s.io/v1` AdmissionReviews, as kube-apiserver's
//! `MutatingAdmissionWebhook` and `ValidatingAdmissionWebhook` plugins do.
//!
//! For each write the configurations are read from the store (sorted by name, webhooks in
//! their order), matched against the request (`namespaceSelector`, `objectSelector`, `rules`;
//! `matchPolicy: Equivalent` behaves as `Exact`, as every served kind has one version), and
//! called: mutating webhooks one after the other (their JSON patches applied in turn, with one
//! reinvocation round for `reinvocationPolicy: IfNeeded`), validating webhooks concurrently
//! (the first refusal in webhook order wins). Refusals, call failures and the dry-run refusal
//! carry kube-apiserver's messages and codes.
//!
//! Differences from kube-apiserver, on purpose:
//! - `matchConditions` (CEL) cannot be evaluated here: a webhook that has them is treated as
//!   upstream treats a condition that fails to evaluate — skipped under `failurePolicy:
//!   Ignore`, and the request refused (403) under `Fail`.
//! - A service reference is resolved through the tenant's own Service and Endpoints (the first
//!   ready address behind the Service port), like kube-apiserver with
//!   `--enable-aggregator-routing`; there is no cluster IP to route to.
//! - An empty `caBundle` trusts the system roots read from `$SSL_CERT_FILE` or the usual
//!   Debian/Fedora/Alpine bundle paths (what Go's `crypto/x509` reads on Linux).
//! - Built-in mutating plugins are not re-run in the reinvocation round.
//!
//! Security: a tenant chooses where the server connects (a URL, or Endpoints it writes itself),
//! so the API server can be made to POST to any HTTPS endpoint it can reach (server-side request
//! forgery towards internal HTTPS services). Only `https` is ever dialled, the body is always an
//! AdmissionReview, and the response must parse as one.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::{Map, Value, json};
use warren_apimachinery::error::{ApiError, qualified_resource};
use warren_apimachinery::selectors::LabelSelector;

use super::{Operation, Request};
use crate::handlers::plain_store_error;
use crate::object::decode_stored;
use crate::server::ApiServer;

/// The API group of the webhook configurations.
const ADMISSIONREGISTRATION: &str = "admissionregistration.k8s.io";
/// The default and the bounds of `timeoutSeconds`.
const DEFAULT_TIMEOUT_SECONDS: u64 = 10;
/// The largest webhook response read (kube-apiserver's request body limit).
const MAX_RESPONSE_BYTES: usize = 3 * 1024 * 1024;

/// Which plugin a webhook belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flavor {
    Mutating,
    Validating,
}

impl Flavor {
    fn plural(self) -> &'static str {
        match self {
            Flavor::Mutating => "mutatingwebhookconfigurations",
            Flavor::Validating => "validatingwebhookconfigurations",
        }
    }
}

/// One webhook of one configuration.
#[derive(Clone, Debug)]
struct Hook {
    /// `metadata.name` of the configuration (with its index, the reinvocation identity).
    configuration: String,
    /// The webhook entry as stored.
    spec: Value,
}

impl Hook {
    fn name(&self) -> &str {
        str_at(&self.spec, "name")
    }

    fn ignores_failures(&self) -> bool {
        str_at(&self.spec, "failurePolicy") == "Ignore"
    }

    fn reinvocable(&self) -> bool {
        str_at(&self.spec, "reinvocationPolicy") == "IfNeeded"
    }

    fn timeout(&self) -> Duration {
        let secs = self
            .spec
            .get("timeoutSeconds")
            .and_then(Value::as_u64)
            .filter(|s| *s > 0)
            .unwrap_or(DEFAULT_TIMEOUT_SECONDS);
        Duration::from_secs(secs)
    }
}

fn str_at<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Why a webhook call failed: upstream's `ErrCallingWebhook`, subject to the failure policy.
#[derive(Debug, thiserror::Error)]
#[error("failed calling webhook \"{webhook}\": {reason}")]
struct CallError {
    /// The webhook's name.
    webhook: String,
    /// What went wrong, in Go's wording (`failed to call webhook: Post "...": ...`).
    reason: String,
}

/// The outcome of one call that reached a verdict.
enum Verdict {
    /// Allowed, with an optional JSON patch (already decoded from base64).
    Allowed(Option<Vec<u8>>),
    /// Refused: the error the client sees.
    Denied(ApiError),
}

/// The request attributes rules and selectors look at.
struct Attributes<'a> {
    group: &'a str,
    version: &'a str,
    resource: &'a str,
    subresource: &'a str,
    operation: &'static str,
    /// The namespace as upstream's attributes carry it: a namespaced object's namespace, or a
    /// Namespace's own name outside create.
    namespace: String,
    /// Whether the request is for `namespaces` (core group).
    is_namespace: bool,
}

impl<'a> Attributes<'a> {
    fn of(req: &'a Request<'a>) -> Self {
        let is_namespace = req.info.group.is_empty() && req.info.plural == "namespaces";
        let namespace = match req.namespace {
            Some(ns) => ns.to_string(),
            None if is_namespace && req.operation != Operation::Create => req.name.to_string(),
            None => String::new(),
        };
        Attributes {
            group: &req.info.group,
            version: &req.info.version,
            resource: &req.info.plural,
            subresource: req.subresource.unwrap_or(""),
            operation: req.operation.as_str(),
            namespace,
            is_namespace,
        }
    }
}

/// Whether a `strings` list of a rule holds `value` or `*`.
fn list_allows(rule: &Value, key: &str, value: &str) -> bool {
    rule.get(key)
        .and_then(Value::as_array)
        .is_some_and(|vs| vs.iter().any(|v| v == "*" || v == value))
}

/// Upstream's `rules.Matcher`: scope, operations, apiGroups, apiVersions and resources
/// (`*`, `pods`, `pods/status`, `*/status`, `pods/*`, `*/*`).
fn rule_matches(rule: &Value, attrs: &Attributes<'_>) -> bool {
    let scope = match str_at(rule, "scope") {
        "" | "*" => true,
        "Namespaced" => !attrs.is_namespace && !attrs.namespace.is_empty(),
        "Cluster" => attrs.is_namespace || attrs.namespace.is_empty(),
        _ => false,
    };
    let resource = rule
        .get("resources")
        .and_then(Value::as_array)
        .is_some_and(|rs| {
            rs.iter().filter_map(Value::as_str).any(|r| {
                let (res, sub) = r.split_once('/').unwrap_or((r, ""));
                (res == "*" || res == attrs.resource) && (sub == "*" || sub == attrs.subresource)
            })
        });
    scope
        && list_allows(rule, "operations", attrs.operation)
        && list_allows(rule, "apiGroups", attrs.group)
        && list_allows(rule, "apiVersions", attrs.version)
        && resource
}

/// A webhook's label selector; unset means everything (the defaulted `{}`).
fn selector(hook: &Hook, key: &str) -> Result<LabelSelector, ApiError> {
    match hook.spec.get(key) {
        None | Some(Value::Null) => Ok(LabelSelector::everything()),
        Some(sel) => {
            LabelSelector::from_label_selector_json(sel).map_err(|e| ApiError::internal(e.message))
        }
    }
}

/// The labels of `obj`, if it is an object.
fn labels_of(obj: Option<&Value>) -> Option<Map<String, Value>> {
    let obj = obj.filter(|o| o.is_object())?;
    Some(crate::object::labels(obj))
}

/// Upstream's `namespace.Matcher`: cluster-scoped objects other than namespaces always match;
/// a Namespace being created or updated is matched on its own labels; otherwise the
/// namespace's stored labels (a missing namespace is a 404).
async fn namespace_matches(
    api: &ApiServer,
    hook: &Hook,
    req: &Request<'_>,
    attrs: &Attributes<'_>,
    obj: Option<&Value>,
) -> Result<bool, ApiError> {
    if attrs.namespace.is_empty() && !attrs.is_namespace {
        return Ok(true);
    }
    let sel = selector(hook, "namespaceSelector")?;
    if sel.is_empty() {
        return Ok(true);
    }
    if attrs.is_namespace
        && attrs.subresource.is_empty()
        && matches!(req.operation, Operation::Create | Operation::Update)
    {
        return Ok(sel.matches(&labels_of(obj).unwrap_or_default()));
    }
    let info = api
        .registry
        .lookup("", "v1", "namespaces")
        .ok_or_else(|| ApiError::internal("namespaces are not served"))?;
    let kv = api
        .store
        .get(&info.key(None, &attrs.namespace))
        .await
        .map_err(plain_store_error)?
        .ok_or_else(|| ApiError::not_found("", "namespaces", &attrs.namespace))?;
    let ns = decode_stored(&kv.value, kv.mod_revision);
    Ok(sel.matches(&crate::object::labels(&ns)))
}

/// Upstream's `object.Matcher`: the new or the old object's labels satisfy the selector.
fn object_matches(hook: &Hook, obj: Option<&Value>, old: Option<&Value>) -> Result<bool, ApiError> {
    let sel = selector(hook, "objectSelector")?;
    if sel.is_empty() {
        return Ok(true);
    }
    Ok([obj, old]
        .into_iter()
        .filter_map(labels_of)
        .any(|labels| sel.matches(&labels)))
}

/// Upstream's `ShouldCallHook` plus the match-conditions step: `Ok(true)` to call the hook.
async fn should_call(
    api: &ApiServer,
    hook: &Hook,
    req: &Request<'_>,
    attrs: &Attributes<'_>,
    obj: Option<&Value>,
) -> Result<bool, ApiError> {
    // Selector errors only count for webhooks whose rules match.
    let ns = namespace_matches(api, hook, req, attrs, obj).await;
    if matches!(ns, Ok(false)) {
        return Ok(false);
    }
    let object = object_matches(hook, obj, req.old);
    if matches!(object, Ok(false)) {
        return Ok(false);
    }
    let rules = hook
        .spec
        .get("rules")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    if !rules.iter().any(|r| rule_matches(r, attrs)) {
        return Ok(false);
    }
    ns?;
    object?;
    let conditions = hook
        .spec
        .get("matchConditions")
        .and_then(Value::as_array)
        .is_some_and(|c| !c.is_empty());
    if conditions {
        if hook.ignores_failures() {
            return Ok(false);
        }
        let name = object_name(req, obj);
        tracing::warn!(
            webhook = hook.name(),
            "match conditions cannot be evaluated, failing closed"
        );
        return Err(ApiError::forbidden(format!(
            "{} \"{}\" is forbidden: {}",
            qualified_resource(&req.info.group, &req.info.plural),
            name,
            CallError {
                webhook: hook.name().to_string(),
                reason: "matchConditions cannot be evaluated: CEL expressions are not supported by this server".into(),
            }
        )));
    }
    Ok(true)
}

/// The request's object name: the one in the path, else the object's (a generated name).
fn object_name<'a>(req: &'a Request<'a>, obj: Option<&'a Value>) -> &'a str {
    if !req.name.is_empty() {
        return req.name;
    }
    obj.map(crate::object::name).unwrap_or("")
}

/// Reads the configurations of one flavor, sorted by name, as a flat list of webhooks.
async fn load_hooks(api: &ApiServer, flavor: Flavor) -> Result<Vec<Hook>, ApiError> {
    let Some(info) = api
        .registry
        .lookup(ADMISSIONREGISTRATION, "v1", flavor.plural())
    else {
        return Ok(Vec::new());
    };
    let res = api
        .store
        .range(&info.key_prefix(), "", 0, None)
        .await
        .map_err(plain_store_error)?;
    let mut configs: Vec<Value> = res
        .kvs
        .iter()
        .map(|kv| decode_stored(&kv.value, kv.mod_revision))
        .collect();
    configs.sort_by(|a, b| crate::object::name(a).cmp(crate::object::name(b)));
    let mut hooks = Vec::new();
    for config in &configs {
        let name = crate::object::name(config);
        for (i, spec) in config
            .get("webhooks")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            hooks.push(Hook {
                configuration: format!("{name}/{i}"),
                spec: spec.clone(),
            });
        }
    }
    Ok(hooks)
}

/// Calls the matching mutating webhooks in order and applies their JSON patches.
pub async fn mutate(api: &ApiServer, req: &Request<'_>, obj: &mut Value) -> Result<(), ApiError> {
    let hooks = load_hooks(api, Flavor::Mutating).await?;
    if hooks.is_empty() {
        return Ok(());
    }
    // Upstream's reinvocation bookkeeping: webhooks with `IfNeeded` that ran before a later
    // webhook changed the object are called once more, after the first round.
    let mut previously_invoked: HashSet<String> = HashSet::new();
    let mut reinvoke: HashSet<String> = HashSet::new();
    for round in 0..2 {
        if round == 1 && reinvoke.is_empty() {
            break;
        }
        for hook in &hooks {
            let attrs = Attributes::of(req);
            if !should_call(api, hook, req, &attrs, Some(&*obj)).await? {
                continue;
            }
            if round == 1 && !reinvoke.contains(&hook.configuration) {
                continue;
            }
            let patch = match call_and_judge(api, hook, req, Flavor::Mutating, Some(&*obj)).await? {
                Some(patch) => patch,
                None => continue,
            };
            let changed = apply_patch(obj, &patch)?;
            if changed {
                reinvoke.extend(previously_invoked.drain());
            }
            if round == 0 && hook.reinvocable() {
                previously_invoked.insert(hook.configuration.clone());
            }
        }
    }
    Ok(())
}

/// Applies a JSON patch; returns whether the object changed. Failures are upstream's 500s.
fn apply_patch(obj: &mut Value, patch: &[u8]) -> Result<bool, ApiError> {
    if patch.is_empty() {
        return Ok(false);
    }
    let patch: json_patch::Patch =
        serde_json::from_slice(patch).map_err(|e| ApiError::internal(e.to_string()))?;
    let before = obj.clone();
    json_patch::patch(obj, &patch).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(*obj != before)
}

/// Calls the matching validating webhooks (concurrently; the first refusal in webhook order
/// is returned, as kube-apiserver returns the first of its refusals).
pub async fn validate(api: &ApiServer, req: &Request<'_>, obj: &Value) -> Result<(), ApiError> {
    validate_object(api, req, Some(obj)).await
}

async fn validate_object(
    api: &ApiServer,
    req: &Request<'_>,
    obj: Option<&Value>,
) -> Result<(), ApiError> {
    let hooks = load_hooks(api, Flavor::Validating).await?;
    let attrs = Attributes::of(req);
    let mut relevant = Vec::new();
    for hook in &hooks {
        if should_call(api, hook, req, &attrs, obj).await? {
            relevant.push(hook);
        }
    }
    let results = futures::future::join_all(
        relevant
            .into_iter()
            .map(|hook| call_and_judge(api, hook, req, Flavor::Validating, obj)),
    )
    .await;
    for result in results {
        result?;
    }
    Ok(())
}

/// Calls the matching webhooks of a delete: the mutating ones (a delete has no object to
/// patch, so their patches are ignored), then the validating ones.
pub async fn validate_delete(api: &ApiServer, req: &Request<'_>) -> Result<(), ApiError> {
    let hooks = load_hooks(api, Flavor::Mutating).await?;
    let attrs = Attributes::of(req);
    for hook in &hooks {
        if should_call(api, hook, req, &attrs, None).await? {
            call_and_judge(api, hook, req, Flavor::Mutating, None).await?;
        }
    }
    validate_object(api, req, None).await
}

/// Calls one webhook and turns its answer or failure into upstream's outcome: `Ok(Some(patch))`
/// when allowed (the patch may be empty), `Ok(None)` when a failure is ignored, `Err` for a
/// refusal, a failure under `failurePolicy: Fail`, or a dry run the webhook cannot take.
async fn call_and_judge(
    api: &ApiServer,
    hook: &Hook,
    req: &Request<'_>,
    flavor: Flavor,
    obj: Option<&Value>,
) -> Result<Option<Vec<u8>>, ApiError> {
    if req.dry_run {
        dry_run_allowed(hook)?;
    }
    match call(api, hook, req, flavor, obj).await {
        Ok(Verdict::Allowed(patch)) => Ok(Some(patch.unwrap_or_default())),
        Ok(Verdict::Denied(err)) => {
            tracing::warn!(webhook = hook.name(), message = %err.message, "rejected by webhook");
            Err(err)
        }
        Err(err) if hook.ignores_failures() => {
            tracing::warn!(webhook = hook.name(), error = %err, "failed calling webhook, failing open");
            Ok(None)
        }
        Err(err) => {
            tracing::warn!(webhook = hook.name(), error = %err, "failed calling webhook, failing closed");
            Err(ApiError::internal(err.to_string()))
        }
    }
}

/// Upstream's dry-run check: only `None` and `NoneOnDryRun` webhooks see dry runs.
fn dry_run_allowed(hook: &Hook) -> Result<(), ApiError> {
    match hook.spec.get("sideEffects").and_then(Value::as_str) {
        Some("None" | "NoneOnDryRun") => Ok(()),
        Some(_) => Err(ApiError::bad_request(format!(
            "admission webhook \"{}\" does not support dry run",
            hook.name()
        ))),
        None => Err(ApiError::internal(
            CallError {
                webhook: hook.name().to_string(),
                reason: "Webhook SideEffects is nil".into(),
            }
            .to_string(),
        )),
    }
}

/// Upstream's `webhookerrors.ToStatusErr`: the refusal built from the webhook's `status`.
fn denied(webhook: &str, status: Option<&Value>) -> ApiError {
    let empty = Value::Null;
    let status = status.unwrap_or(&empty);
    let denied_by = format!("admission webhook \"{webhook}\" denied the request");
    let code = status
        .get("code")
        .and_then(Value::as_u64)
        .and_then(|c| u16::try_from(c).ok())
        .filter(|c| *c >= 400)
        .unwrap_or(400);
    let message = str_at(status, "message");
    let reason = str_at(status, "reason");
    let message = if !message.is_empty() {
        format!("{denied_by}: {message}")
    } else if !reason.is_empty() {
        format!("{denied_by}: {reason}")
    } else {
        format!("{denied_by} without explanation")
    };
    let mut err = ApiError::new(code, known_reason(reason), message);
    err.details = status.get("details").filter(|d| d.is_object()).cloned();
    err
}

/// A `metav1.StatusReason` the webhook gave, among the ones Kubernetes defines (others are
/// dropped: the error type holds static reasons only).
fn known_reason(reason: &str) -> &'static str {
    const REASONS: &[&str] = &[
        "Unauthorized",
        "Forbidden",
        "NotFound",
        "AlreadyExists",
        "Conflict",
        "Gone",
        "Invalid",
        "ServerTimeout",
        "StoreReadError",
        "Timeout",
        "TooManyRequests",
        "BadRequest",
        "MethodNotAllowed",
        "NotAcceptable",
        "RequestEntityTooLarge",
        "UnsupportedMediaType",
        "InternalError",
        "Expired",
        "ServiceUnavailable",
    ];
    REASONS
        .iter()
        .find(|r| **r == reason)
        .copied()
        .unwrap_or("")
}

/// Builds the AdmissionReview, posts it, and checks the response.
async fn call(
    api: &ApiServer,
    hook: &Hook,
    req: &Request<'_>,
    flavor: Flavor,
    obj: Option<&Value>,
) -> Result<Verdict, CallError> {
    let fail = |reason: String| CallError {
        webhook: hook.name().to_string(),
        reason,
    };
    let uid = uuid::Uuid::new_v4().to_string();
    let review = admission_review(&uid, req, obj);
    let body = serde_json::to_vec(&review).map_err(|e| fail(e.to_string()))?;
    let timeout = hook.timeout();
    let target = resolve(api, &hook.spec, timeout).await.map_err(&fail)?;
    let response =
        match tokio::time::timeout(timeout, post(&target, body, &api.webhook_egress_deny)).await {
            Ok(Ok(bytes)) => bytes,
            Ok(Err(why)) => {
                return Err(fail(format!(
                    "failed to call webhook: Post \"{}\": {why}",
                    target.display
                )));
            }
            Err(_) => {
                return Err(fail(format!(
                    "failed to call webhook: Post \"{}\": context deadline exceeded",
                    target.display
                )));
            }
        };
    let response: Value = serde_json::from_slice(&response)
        .map_err(|e| fail(format!("failed to call webhook: {e}")))?;
    let verdict = verify_response(&uid, flavor, &response)
        .map_err(|e| fail(format!("received invalid webhook response: {e}")))?;
    for warning in response
        .pointer("/response/warnings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        req.ctx.warn(warning);
    }
    // As upstream: each audit annotation is recorded as `<webhook name>/<key>`.
    if let Some(annotations) = response
        .pointer("/response/auditAnnotations")
        .and_then(Value::as_object)
    {
        for (key, value) in annotations {
            if let Some(value) = value.as_str() {
                req.ctx.annotate(format!("{}/{key}", hook.name()), value);
            }
        }
    }
    Ok(match verdict {
        Ok(patch) => Verdict::Allowed(patch),
        Err(status) => Verdict::Denied(denied(hook.name(), status)),
    })
}

/// Upstream's `VerifyAdmissionResponse` for v1: `Ok(Ok(patch))` allowed, `Ok(Err(status))`
/// refused, `Err` an invalid response.
fn verify_response<'a>(
    uid: &str,
    flavor: Flavor,
    review: &'a Value,
) -> Result<Result<Option<Vec<u8>>, Option<&'a Value>>, String> {
    let Some(response) = review.get("response").filter(|r| r.is_object()) else {
        return Err("webhook response was absent".into());
    };
    let got_uid = str_at(response, "uid");
    if got_uid != uid {
        return Err(format!("expected response.uid={uid:?}, got {got_uid:?}"));
    }
    let (api_version, kind) = (str_at(review, "apiVersion"), str_at(review, "kind"));
    if (api_version, kind) != ("admission.k8s.io/v1", "AdmissionReview") {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        return Err(format!(
            "expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got {}{version}, Kind={kind}",
            if group.is_empty() {
                String::new()
            } else {
                format!("{group}/")
            }
        ));
    }
    let patch_type = str_at(response, "patchType");
    let patch = match response.get("patch").and_then(Value::as_str) {
        Some(p) if !p.is_empty() => Some(
            base64::engine::general_purpose::STANDARD
                .decode(p)
                .map_err(|e| format!("illegal base64 data in response.patch: {e}"))?,
        ),
        _ => None,
    };
    if patch.is_some() {
        if flavor != Flavor::Mutating {
            return Err("webhook returned response.patch but is not a mutating webhook".into());
        }
        if patch_type != "JSONPatch" {
            return Err(format!(
                "webhook returned invalid response.patchType of {patch_type:?}"
            ));
        }
    } else if !patch_type.is_empty() {
        return Err("webhook returned response.patchType but not response.patch".into());
    }
    let allowed = response
        .get("allowed")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok(if allowed {
        Ok(patch)
    } else {
        Err(response.get("status").filter(|s| s.is_object()))
    })
}

/// The `admission.k8s.io/v1` AdmissionReview for a request.
fn admission_review(uid: &str, req: &Request<'_>, obj: Option<&Value>) -> Value {
    let info = req.info;
    let attrs = Attributes::of(req);
    let kind = json!({"group": info.group, "version": info.version, "kind": info.kind});
    let resource = json!({"group": info.group, "version": info.version, "resource": info.plural});
    let mut request = json!({
        "uid": uid,
        "kind": kind,
        "resource": resource,
    });
    let r = request.as_object_mut().expect("object");
    if let Some(sub) = req.subresource {
        r.insert("subResource".into(), json!(sub));
    }
    r.insert("requestKind".into(), kind);
    r.insert("requestResource".into(), resource);
    if let Some(sub) = req.subresource {
        r.insert("requestSubResource".into(), json!(sub));
    }
    let name = object_name(req, obj);
    if !name.is_empty() {
        r.insert("name".into(), json!(name));
    }
    if !attrs.namespace.is_empty() {
        r.insert("namespace".into(), json!(attrs.namespace));
    }
    r.insert("operation".into(), json!(req.operation.as_str()));
    r.insert("userInfo".into(), user_info(&req.ctx.user));
    r.insert("object".into(), obj.cloned().unwrap_or(Value::Null));
    r.insert("oldObject".into(), req.old.cloned().unwrap_or(Value::Null));
    r.insert("dryRun".into(), json!(req.dry_run));
    r.insert("options".into(), operation_options(req));
    json!({
        "kind": "AdmissionReview",
        "apiVersion": "admission.k8s.io/v1",
        "request": request,
    })
}

/// `authentication.k8s.io/v1` UserInfo, with `system:authenticated` as the authenticator adds.
fn user_info(user: &crate::pki::UserInfo) -> Value {
    let mut groups = user.groups.clone();
    if !groups.iter().any(|g| g == "system:authenticated") {
        groups.push("system:authenticated".into());
    }
    let mut info = json!({"username": user.name});
    if !user.uid.is_empty() {
        info["uid"] = json!(user.uid);
    }
    info["groups"] = json!(groups);
    if !user.extra.is_empty() {
        info["extra"] = json!(user.extra);
    }
    info
}

/// The operation's options (`CreateOptions`, `UpdateOptions`, `PatchOptions` for a patch or
/// apply, `DeleteOptions`) from the query, as the handlers decoded them.
fn operation_options(req: &Request<'_>) -> Value {
    let query = &req.ctx.query;
    let is_patch = req
        .ctx
        .content_type
        .as_deref()
        .is_some_and(|ct| ct.contains("patch"));
    let kind = match req.operation {
        Operation::Delete => "DeleteOptions",
        _ if is_patch => "PatchOptions",
        Operation::Create => "CreateOptions",
        Operation::Update => "UpdateOptions",
    };
    let mut options = json!({"kind": kind, "apiVersion": "meta.k8s.io/v1"});
    if req.dry_run {
        options["dryRun"] = json!(["All"]);
    }
    if req.operation == Operation::Delete {
        if let Some(grace) = query
            .get("gracePeriodSeconds")
            .and_then(|g| g.parse::<i64>().ok())
        {
            options["gracePeriodSeconds"] = json!(grace);
        }
        if let Some(policy) = query.get("propagationPolicy").filter(|p| !p.is_empty()) {
            options["propagationPolicy"] = json!(policy);
        }
    } else {
        if let Some(manager) = query.get("fieldManager").filter(|m| !m.is_empty()) {
            options["fieldManager"] = json!(manager);
        }
        if is_patch && query.get("force").is_some_and(|f| f == "true") {
            options["force"] = json!(true);
        }
    }
    options
}

/// Where and how to post one review.
struct Target {
    /// The URL as Go prints it in errors (`https://HOST:PORT/PATH?timeout=10s`).
    display: String,
    /// The address dialled (`host:port`).
    dial: String,
    /// The TLS server name verified.
    server_name: String,
    /// The `Host` header.
    authority: String,
    /// Path and query.
    path_and_query: String,
    /// Trusted roots.
    roots: rustls::RootCertStore,
}

/// Go's `time.Duration` string for whole seconds (`10s`, `1m0s`).
fn go_seconds(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// Resolves `clientConfig` to a [`Target`]: a URL as given, or a service through the tenant's
/// Service and Endpoints.
async fn resolve(api: &ApiServer, spec: &Value, timeout: Duration) -> Result<Target, String> {
    let null = Value::Null;
    let cc = spec.get("clientConfig").unwrap_or(&null);
    let roots = roots(str_at(cc, "caBundle"))?;
    let query = format!("timeout={}", go_seconds(timeout));
    if let Some(url) = cc.get("url").and_then(Value::as_str) {
        let uri: http::Uri = url
            .parse()
            .map_err(|e| format!("could not get REST client: invalid url {url:?}: {e}"))?;
        if uri.scheme_str() != Some("https") {
            return Err(format!(
                "could not get REST client: webhook url {url:?} must use the https scheme"
            ));
        }
        let host = uri.host().unwrap_or("").to_string();
        let port = uri.port_u16().unwrap_or(443);
        let host_bare = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let authority = uri
            .authority()
            .map(|a| a.as_str().to_string())
            .unwrap_or_default();
        let path = match uri.path() {
            "" => "/",
            p => p,
        };
        let dial = if host_bare.contains(':') {
            format!("[{host_bare}]:{port}")
        } else {
            format!("{host_bare}:{port}")
        };
        return Ok(Target {
            display: format!("https://{authority}{path}?{query}"),
            dial,
            server_name: host_bare,
            authority,
            path_and_query: format!("{path}?{query}"),
            roots,
        });
    }
    let svc = cc.get("service").unwrap_or(&null);
    let (namespace, name) = (str_at(svc, "namespace"), str_at(svc, "name"));
    let port = svc
        .get("port")
        .and_then(Value::as_i64)
        .filter(|p| *p > 0)
        .unwrap_or(443);
    let path = match svc.get("path").and_then(Value::as_str) {
        Some(p) if !p.is_empty() => p.to_string(),
        _ => "/".to_string(),
    };
    let server_name = format!("{name}.{namespace}.svc");
    let authority = format!("{server_name}:{port}");
    let display = format!("https://{authority}{path}?{query}");
    let dial = resolve_endpoint(api, namespace, name, port)
        .await
        .map_err(|why| format!("failed to call webhook: Post \"{display}\": {why}"))?;
    Ok(Target {
        display,
        dial,
        server_name,
        authority,
        path_and_query: format!("{path}?{query}"),
        roots,
    })
}

/// Upstream's `proxy.ResolveEndpoint`: the Service port, then the first Endpoints subset with
/// addresses and a port of the same name.
async fn resolve_endpoint(
    api: &ApiServer,
    namespace: &str,
    name: &str,
    port: i64,
) -> Result<String, String> {
    let get = |plural: &'static str| async move {
        let info = api
            .registry
            .lookup("", "v1", plural)
            .ok_or_else(|| format!("{plural} are not served"))?;
        let kv = api
            .store
            .get(&info.key(Some(namespace), name))
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("{plural} \"{name}\" not found"))?;
        Ok::<_, String>(decode_stored(&kv.value, kv.mod_revision))
    };
    let svc = get("services").await?;
    let ty = svc
        .pointer("/spec/type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP");
    if !matches!(ty, "ClusterIP" | "LoadBalancer" | "NodePort") {
        return Err(format!("unsupported service type {ty:?}"));
    }
    let svc_port = svc
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|p| p.get("port").and_then(Value::as_i64) == Some(port))
        .ok_or_else(|| format!("no service port {port} found for service {name:?}"))?;
    let port_name = str_at(svc_port, "name");
    let eps = get("endpoints").await?;
    for subset in eps
        .get("subsets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(ip) = subset
            .get("addresses")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .map(|a| str_at(a, "ip"))
        else {
            continue;
        };
        if let Some(p) = subset
            .get("ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|p| str_at(p, "name") == port_name)
        {
            let p = p.get("port").and_then(Value::as_i64).unwrap_or(0);
            return Ok(if ip.contains(':') {
                format!("[{ip}]:{p}")
            } else {
                format!("{ip}:{p}")
            });
        }
    }
    Err(format!("no endpoints available for service {name:?}"))
}

/// The trusted roots: the `caBundle` (base64 of PEM in the stored JSON), or the system roots.
fn roots(ca_bundle: &str) -> Result<rustls::RootCertStore, String> {
    let mut store = rustls::RootCertStore::empty();
    let pem = if ca_bundle.is_empty() {
        system_roots_pem()
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(ca_bundle)
            .map_err(|e| format!("could not get REST client: invalid caBundle: {e}"))?
    };
    let mut reader = std::io::BufReader::new(pem.as_slice());
    for cert in rustls_pemfile::certs(&mut reader).flatten() {
        let _ = store.add(cert);
    }
    if store.is_empty() && !ca_bundle.is_empty() {
        return Err("could not get REST client: unable to load root certificates: unable to parse bytes as PEM block".into());
    }
    Ok(store)
}

/// The system trust bundle, where Go's `crypto/x509` looks for it on Linux.
fn system_roots_pem() -> Vec<u8> {
    let env = std::env::var_os("SSL_CERT_FILE").map(std::path::PathBuf::from);
    let candidates = [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/ca-bundle.pem",
        "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
        "/etc/ssl/cert.pem",
    ];
    env.into_iter()
        .chain(candidates.iter().map(std::path::PathBuf::from))
        .find_map(|p| std::fs::read(p).ok())
        .unwrap_or_default()
}

/// Dials, verifies TLS and posts `body`; returns the response body of a 2xx answer. Errors are
/// worded like Go's net/http and client-go's.
async fn post(
    target: &Target,
    body: Vec<u8>,
    deny: &[crate::egress::Cidr],
) -> Result<Vec<u8>, String> {
    let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host(&target.dial)
        .await
        .map_err(|e| format!("dial tcp {}: {e}", target.dial))?
        .collect();
    // Every address the name resolves to must be allowed (no picking the allowed one of a
    // name that also points inside a denied range).
    if let Some((addr, cidr)) = addrs
        .iter()
        .find_map(|a| crate::egress::denied_by(deny, a.ip()).map(|c| (a, c)))
    {
        return Err(format!(
            "dial tcp {addr}: address is in {cidr}, which --webhook-egress-deny forbids"
        ));
    }
    let tcp = tokio::net::TcpStream::connect(addrs.as_slice())
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::ConnectionRefused => {
                format!("dial tcp {}: connect: connection refused", target.dial)
            }
            _ => format!("dial tcp {}: {e}", target.dial),
        })?;
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(target.roots.clone())
    .with_no_client_auth();
    let server_name = rustls::pki_types::ServerName::try_from(target.server_name.clone())
        .map_err(|e| format!("invalid server name {:?}: {e}", target.server_name))?;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(server_name, tcp)
        .await
        .map_err(|e| tls_error(&e, &target.server_name))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| e.to_string())?;
    let driver = tokio::spawn(conn);
    let request = http::Request::post(&target.path_and_query)
        .header(http::header::HOST, &target.authority)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::ACCEPT, "application/json, */*")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let result = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let bytes = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        if !status.is_success() {
            return Err(http_error(status.as_u16(), &bytes));
        }
        Ok(bytes.to_vec())
    }
    .await;
    driver.abort();
    result
}

/// A TLS failure in Go's words where they are known.
fn tls_error(e: &std::io::Error, server_name: &str) -> String {
    use rustls::CertificateError as C;
    let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) else {
        return e.to_string();
    };
    match tls {
        rustls::Error::InvalidCertificate(C::UnknownIssuer) => {
            "tls: failed to verify certificate: x509: certificate signed by unknown authority"
                .into()
        }
        rustls::Error::InvalidCertificate(
            C::NotValidForName | C::NotValidForNameContext { .. },
        ) => {
            format!(
                "tls: failed to verify certificate: x509: certificate is not valid for {server_name}"
            )
        }
        rustls::Error::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
            "tls: failed to verify certificate: x509: certificate has expired or is not yet valid"
                .into()
        }
        other => format!("remote error: {other}"),
    }
}

/// client-go's error for a non-2xx answer: the Status's message, else its generic wording.
fn http_error(code: u16, body: &[u8]) -> String {
    if let Ok(status) = serde_json::from_slice::<Value>(body)
        && str_at(&status, "kind") == "Status"
        && !str_at(&status, "message").is_empty()
    {
        return str_at(&status, "message").to_string();
    }
    let text = String::from_utf8_lossy(body).trim().to_string();
    match code {
        400 => "the server rejected our request for an unknown reason".into(),
        401 => "the server has asked for the client to provide credentials".into(),
        403 => "the server does not allow access to the requested resource".into(),
        404 => "the server could not find the requested resource".into(),
        _ if text.is_empty() || text.len() > 1024 => {
            "an error on the server (\"unknown\") has prevented the request from succeeding".into()
        }
        _ => format!("an error on the server ({text:?}) has prevented the request from succeeding"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs<'a>(resource: &'a str, sub: &'a str, op: &'static str, ns: &str) -> Attributes<'a> {
        Attributes {
            group: "",
            version: "v1",
            resource,
            subresource: sub,
            operation: op,
            namespace: ns.to_string(),
            is_namespace: resource == "namespaces",
        }
    }

    #[test]
    fn rules_match_as_upstream() {
        let rule = json!({"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]});
        assert!(rule_matches(&rule, &attrs("pods", "", "CREATE", "d")));
        assert!(!rule_matches(&rule, &attrs("pods", "", "UPDATE", "d")));
        assert!(!rule_matches(
            &rule,
            &attrs("pods", "status", "CREATE", "d")
        ));
        assert!(!rule_matches(
            &rule,
            &attrs("configmaps", "", "CREATE", "d")
        ));
        let all = json!({"operations": ["*"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*/*"]});
        assert!(rule_matches(&all, &attrs("pods", "status", "DELETE", "d")));
        let star = json!({"operations": ["*"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*"]});
        assert!(!rule_matches(
            &star,
            &attrs("pods", "status", "UPDATE", "d")
        ));
        let status = json!({"operations": ["UPDATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods/status"]});
        assert!(rule_matches(
            &status,
            &attrs("pods", "status", "UPDATE", "d")
        ));
        assert!(!rule_matches(&status, &attrs("pods", "", "UPDATE", "d")));
        let namespaced = json!({"operations": ["*"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*"], "scope": "Namespaced"});
        assert!(rule_matches(&namespaced, &attrs("pods", "", "CREATE", "d")));
        assert!(!rule_matches(
            &namespaced,
            &attrs("namespaces", "", "UPDATE", "d")
        ));
        assert!(!rule_matches(
            &namespaced,
            &attrs("nodes", "", "CREATE", "")
        ));
        let cluster = json!({"operations": ["*"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*"], "scope": "Cluster"});
        assert!(rule_matches(
            &cluster,
            &attrs("namespaces", "", "UPDATE", "d")
        ));
        assert!(!rule_matches(&cluster, &attrs("pods", "", "CREATE", "d")));
    }

    #[test]
    fn refusals_read_as_upstream() {
        let err = denied(
            "deny.example.com",
            Some(&json!({"message": "no", "code": 403})),
        );
        assert_eq!(err.code, 403);
        assert_eq!(
            err.message,
            "admission webhook \"deny.example.com\" denied the request: no"
        );
        let err = denied("d.example.com", None);
        assert_eq!(err.code, 400);
        assert_eq!(
            err.message,
            "admission webhook \"d.example.com\" denied the request without explanation"
        );
        let err = denied(
            "d.example.com",
            Some(&json!({"reason": "Forbidden", "code": 200})),
        );
        assert_eq!((err.code, err.reason), (400, "Forbidden"));
        assert_eq!(
            err.message,
            "admission webhook \"d.example.com\" denied the request: Forbidden"
        );
    }

    #[test]
    fn dry_runs_need_side_effect_free_webhooks() {
        let hook = |se: Value| Hook {
            configuration: "c/0".into(),
            spec: json!({"name": "w.example.com", "sideEffects": se}),
        };
        assert!(dry_run_allowed(&hook(json!("None"))).is_ok());
        assert!(dry_run_allowed(&hook(json!("NoneOnDryRun"))).is_ok());
        let err = dry_run_allowed(&hook(json!("Unknown"))).unwrap_err();
        assert_eq!(err.code, 400);
        assert_eq!(
            err.message,
            "admission webhook \"w.example.com\" does not support dry run"
        );
        assert!(dry_run_allowed(&hook(json!("Some"))).is_err());
    }

    #[test]
    fn responses_are_verified() {
        let ok = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "response": {"uid": "u1", "allowed": true}});
        assert!(matches!(
            verify_response("u1", Flavor::Validating, &ok),
            Ok(Ok(None))
        ));
        assert_eq!(
            verify_response("u2", Flavor::Validating, &ok)
                .err()
                .as_deref(),
            Some("expected response.uid=\"u2\", got \"u1\"")
        );
        let patched = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "response": {"uid": "u1", "allowed": true, "patchType": "JSONPatch", "patch": "W10="}});
        assert!(matches!(
            verify_response("u1", Flavor::Mutating, &patched),
            Ok(Ok(Some(_)))
        ));
        assert_eq!(
            verify_response("u1", Flavor::Validating, &patched)
                .err()
                .as_deref(),
            Some("webhook returned response.patch but is not a mutating webhook")
        );
        let wrong = json!({"response": {"uid": "u1", "allowed": true}});
        assert_eq!(
            verify_response("u1", Flavor::Validating, &wrong)
                .err()
                .as_deref(),
            Some(
                "expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got , Kind="
            )
        );
        assert_eq!(
            verify_response("u1", Flavor::Validating, &json!({}))
                .err()
                .as_deref(),
            Some("webhook response was absent")
        );
    }

    #[test]
    fn patches_apply_and_report_changes() {
        let mut obj = json!({"metadata": {"name": "p"}});
        let patch = br#"[{"op":"add","path":"/metadata/labels","value":{"a":"b"}}]"#;
        assert!(apply_patch(&mut obj, patch).unwrap());
        assert_eq!(obj["metadata"]["labels"]["a"], "b");
        assert!(!apply_patch(&mut obj, b"[]").unwrap());
        let bad = br#"[{"op":"remove","path":"/nope"}]"#;
        assert_eq!(apply_patch(&mut obj, bad).unwrap_err().code, 500);
    }

    #[test]
    fn timeouts_print_as_go_durations() {
        assert_eq!(go_seconds(Duration::from_secs(10)), "10s");
        assert_eq!(go_seconds(Duration::from_secs(1)), "1s");
        assert_eq!(go_seconds(Duration::from_secs(30)), "30s");
    }
}
