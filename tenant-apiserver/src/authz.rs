//! Authorization: every authenticated request is checked against the tenant's RBAC objects
//! (Roles, ClusterRoles and their bindings, with aggregated ClusterRoles resolved), as
//! kube-apiserver's RBAC authorizer does; `system:masters` is always allowed (kube-apiserver's
//! privileged-group authorizer). A request no rule allows gets kube-apiserver's 403.

use std::collections::HashMap;

use http::Method;
use serde_json::{Value, json};
use warren_apimachinery::error::ApiError;
use warren_apimachinery::rbac::{self, Attributes};

use crate::pki::UserInfo;
use crate::request::Route;
use crate::server::ApiServer;

/// The group whose members may do everything.
pub const MASTERS: &str = "system:masters";

/// What a request asks to do, in RBAC's terms (upstream's `RequestInfo`).
pub fn attributes(
    user: &UserInfo,
    method: &Method,
    route: &Route,
    path: &str,
    query: &HashMap<String, String>,
) -> Attributes {
    let who = rbac_user(&user.name, &user.groups);
    let Route::Resource(rp) = route else {
        return Attributes {
            user: who,
            verb: method.as_str().to_ascii_lowercase(),
            path: path.to_string(),
            resource_request: false,
            ..Default::default()
        };
    };
    let watch = rp.legacy_watch || query.get("watch").is_some_and(|w| w == "true" || w == "1");
    let verb = match *method {
        Method::GET | Method::HEAD if watch => "watch",
        Method::GET | Method::HEAD if rp.name.is_some() => "get",
        Method::GET | Method::HEAD => "list",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE if rp.name.is_some() => "delete",
        Method::DELETE => "deletecollection",
        _ => "",
    };
    // Namespaces are their own namespace (upstream's RequestInfo special case).
    let namespace = match (&rp.namespace, rp.resource.as_str(), &rp.name) {
        (Some(ns), _, _) => ns.clone(),
        (None, "namespaces", Some(name)) => name.clone(),
        _ => String::new(),
    };
    Attributes {
        user: who,
        verb: verb.into(),
        namespace,
        api_group: rp.group.clone(),
        resource: rp.resource.clone(),
        subresource: rp.subresource.clone().unwrap_or_default(),
        name: rp.name.clone().unwrap_or_default(),
        path: path.to_string(),
        resource_request: true,
    }
}

/// Allows the request or returns kube-apiserver's 403 for it.
pub async fn authorize(api: &ApiServer, attrs: &Attributes) -> Result<(), ApiError> {
    let (allowed, reason) = decide(api, attrs).await?;
    if allowed {
        return Ok(());
    }
    let message = rbac::forbidden_message_with_reason(attrs, &reason);
    let mut err = ApiError::forbidden(message);
    if attrs.resource_request {
        let mut details = json!({"group": attrs.api_group, "kind": attrs.resource});
        if !attrs.name.is_empty() {
            details["name"] = json!(attrs.name);
        }
        err.details = Some(details);
    }
    Err(err)
}

/// RBAC's escalation prevention: a Role or ClusterRole may only be written with rules the
/// writer holds (or with the `escalate` verb on it), and a binding may only grant a role whose
/// rules the writer holds (or with the `bind` verb on the role), as kube-apiserver's RBAC
/// storage strategies check. Patches of these objects need `escalate`/`bind` outright (the
/// check does not re-derive the patched object).
pub async fn check_escalation(
    api: &ApiServer,
    attrs: &Attributes,
    body: &[u8],
    content_type: Option<&str>,
) -> Result<(), ApiError> {
    if attrs.user.groups.iter().any(|g| g == MASTERS)
        || !attrs.resource_request
        || attrs.api_group != "rbac.authorization.k8s.io"
        || !attrs.subresource.is_empty()
        || !matches!(attrs.verb.as_str(), "create" | "update" | "patch")
    {
        return Ok(());
    }
    let is_role = match attrs.resource.as_str() {
        "roles" | "clusterroles" => true,
        "rolebindings" | "clusterrolebindings" => false,
        _ => return Ok(()),
    };
    let obj = if attrs.verb == "patch" {
        None
    } else {
        let ty = crate::codec::body_type(content_type)?;
        crate::codec::decode_body(body, ty).ok()
    };
    let name = obj
        .as_ref()
        .and_then(|o| o.pointer("/metadata/name"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| attrs.name.clone());
    // The verb that lifts the check, on the role concerned.
    let (role_resource, role_name) = if is_role {
        (attrs.resource.clone(), name.clone())
    } else {
        let kind = obj
            .as_ref()
            .and_then(|o| o.pointer("/roleRef/kind"))
            .and_then(Value::as_str)
            .unwrap_or("ClusterRole");
        let role_name = obj
            .as_ref()
            .and_then(|o| o.pointer("/roleRef/name"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let res = if kind == "Role" {
            "roles"
        } else {
            "clusterroles"
        };
        (res.to_string(), role_name)
    };
    let lifting = Attributes {
        verb: if is_role { "escalate" } else { "bind" }.into(),
        resource: role_resource.clone(),
        name: role_name.clone(),
        subresource: String::new(),
        ..attrs.clone()
    };
    let policy = load_policy(api).await?;
    if policy.authorize(&lifting).allowed {
        return Ok(());
    }
    let refuse = |message: String| {
        let mut err = ApiError::forbidden(format!(
            "{}.{} {:?} is forbidden: {message}",
            attrs.resource, attrs.api_group, name
        ));
        err.details = Some(json!({"name": name, "group": attrs.api_group, "kind": attrs.resource}));
        err
    };
    let Some(obj) = obj else {
        return Err(refuse(format!(
            "user {:?} may not patch {} without the {:?} verb",
            attrs.user.name, attrs.resource, lifting.verb
        )));
    };
    let requested: Vec<rbac::PolicyRule> = if is_role {
        rules_of(&obj)
    } else {
        let target = if role_resource == "roles" {
            policy.roles.iter().find(|r| {
                r.pointer("/metadata/name").and_then(Value::as_str) == Some(role_name.as_str())
                    && r.pointer("/metadata/namespace").and_then(Value::as_str)
                        == Some(attrs.namespace.as_str())
            })
        } else {
            policy.cluster_roles.iter().find(|r| {
                r.pointer("/metadata/name").and_then(Value::as_str) == Some(role_name.as_str())
            })
        };
        match target {
            Some(role) => rules_of(role),
            // A binding to a role that does not exist grants nothing yet; upstream refuses
            // it unless the user may bind, as it cannot check the rules.
            None => {
                return Err(refuse(format!(
                    "user {:?} cannot bind {} {:?}, which does not exist",
                    attrs.user.name, role_resource, role_name
                )));
            }
        }
    };
    let owner = rbac::rules_for(
        &attrs.user,
        &attrs.namespace,
        &policy.roles,
        &policy.cluster_roles,
        &policy.role_bindings,
        &policy.cluster_role_bindings,
    );
    let (covered, missing) = rbac::covers(&owner.rules, &requested);
    if covered {
        return Ok(());
    }
    Err(refuse(rbac::confirm_no_escalation_message(
        &attrs.user,
        &missing,
        &owner.errors,
    )))
}

fn rules_of(obj: &Value) -> Vec<rbac::PolicyRule> {
    obj.get("rules")
        .and_then(Value::as_array)
        .map(|rules| rules.iter().map(rbac::PolicyRule::from_json).collect())
        .unwrap_or_default()
}

/// Where the RBAC objects live in the store.
pub const RBAC_PREFIX: &str = "/registry/rbac.authorization.k8s.io/";

/// Every RBAC object, ClusterRoles with their aggregation resolved.
#[derive(Debug, Default)]
pub struct Policy {
    roles: Vec<Value>,
    cluster_roles: Vec<Value>,
    role_bindings: Vec<Value>,
    cluster_role_bindings: Vec<Value>,
}

impl Policy {
    fn build(objects: Vec<(String, Value)>) -> Policy {
        let mut p = Policy::default();
        for (key, obj) in objects {
            let rest = key.strip_prefix(RBAC_PREFIX).unwrap_or("");
            let list = match rest.split('/').next() {
                Some("roles") => &mut p.roles,
                Some("clusterroles") => &mut p.cluster_roles,
                Some("rolebindings") => &mut p.role_bindings,
                Some("clusterrolebindings") => &mut p.cluster_role_bindings,
                _ => continue,
            };
            list.push(obj);
        }
        rbac::aggregate_cluster_roles(&mut p.cluster_roles);
        p
    }

    fn authorize(&self, attrs: &Attributes) -> rbac::Decision {
        rbac::authorize(
            attrs,
            &self.roles,
            &self.cluster_roles,
            &self.role_bindings,
            &self.cluster_role_bindings,
        )
    }
}

/// The RBAC objects, from the cache (rebuilt when one of them changes).
async fn load_policy(api: &ApiServer) -> Result<std::sync::Arc<Policy>, ApiError> {
    api.rbac_cache.get(api, Policy::build).await
}

fn rbac_user(name: &str, groups: &[String]) -> rbac::UserInfo {
    let mut groups = groups.to_vec();
    if !groups.iter().any(|g| g == "system:authenticated") {
        groups.push("system:authenticated".into());
    }
    rbac::UserInfo {
        name: name.to_string(),
        groups,
        ..Default::default()
    }
}

/// Whether `user` may do what `attrs` describe, and why (for the access reviews).
async fn decide(api: &ApiServer, attrs: &Attributes) -> Result<(bool, String), ApiError> {
    if attrs.user.groups.iter().any(|g| g == MASTERS) {
        return Ok((true, String::new()));
    }
    let d = load_policy(api).await?.authorize(attrs);
    Ok((d.allowed, d.reason))
}

/// The attributes of an access review's `spec` (`resourceAttributes` or
/// `nonResourceAttributes`).
fn review_attributes(
    user: rbac::UserInfo,
    spec: &Value,
    namespace_override: Option<&str>,
) -> Attributes {
    let s = |v: Option<&Value>, k: &str| {
        v.and_then(|o| o.get(k))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    if let Some(ra) = spec.get("resourceAttributes").filter(|v| v.is_object()) {
        let ra = Some(ra);
        Attributes {
            user,
            verb: s(ra, "verb"),
            namespace: namespace_override
                .map(str::to_string)
                .unwrap_or_else(|| s(ra, "namespace")),
            api_group: s(ra, "group"),
            resource: s(ra, "resource"),
            subresource: s(ra, "subresource"),
            name: s(ra, "name"),
            path: String::new(),
            resource_request: true,
        }
    } else {
        let nra = spec.get("nonResourceAttributes");
        Attributes {
            user,
            verb: s(nra, "verb"),
            path: s(nra, "path"),
            resource_request: false,
            ..Default::default()
        }
    }
}

/// `authentication.k8s.io` and `authorization.k8s.io` reviews: answered from the request's
/// user (or the user named in a `SubjectAccessReview`), returned with their `status`, never
/// stored.
pub async fn review(
    api: &ApiServer,
    info: &warren_apimachinery::registry::ResourceInfo,
    ns: Option<&str>,
    user: &UserInfo,
    body: &[u8],
    content_type: Option<&str>,
) -> Result<Value, ApiError> {
    let ty = crate::codec::body_type(content_type)?;
    let mut obj = crate::codec::decode_body(body, ty).map_err(|e| {
        ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): {}",
            info.kind, e.message
        ))
    })?;
    if !obj.is_object() {
        return Err(ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {})",
            info.kind
        )));
    }
    obj["apiVersion"] = json!(info.api_version());
    obj["kind"] = json!(info.kind);
    let me = rbac_user(&user.name, &user.groups);
    let spec = obj.get("spec").cloned().unwrap_or(json!({}));
    let status = match info.kind.as_str() {
        "SelfSubjectReview" => {
            let mut info = json!({"username": me.name});
            if !user.uid.is_empty() {
                info["uid"] = json!(user.uid);
            }
            info["groups"] = json!(me.groups);
            if !user.extra.is_empty() {
                info["extra"] = json!(user.extra);
            }
            json!({"userInfo": info})
        }
        "TokenReview" => crate::sa_tokens::token_review_status(api, &spec).await?,
        "SelfSubjectAccessReview" | "SubjectAccessReview" | "LocalSubjectAccessReview" => {
            let subject = if info.kind == "SelfSubjectAccessReview" {
                me
            } else {
                let groups: Vec<String> = spec
                    .get("groups")
                    .and_then(Value::as_array)
                    .map(|g| {
                        g.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                let name = spec.get("user").and_then(Value::as_str).unwrap_or("");
                if name.is_empty() && groups.is_empty() {
                    return Err(ApiError::invalid(
                        &info.group,
                        &info.kind,
                        "",
                        &[warren_apimachinery::error::FieldError::invalid(
                            "spec.user",
                            "",
                            "at least one of user or group must be specified",
                        )],
                    ));
                }
                rbac::UserInfo {
                    name: name.to_string(),
                    groups,
                    ..Default::default()
                }
            };
            let attrs = review_attributes(subject, &spec, ns);
            let (allowed, reason) = decide(api, &attrs).await?;
            let mut status = json!({"allowed": allowed});
            if !reason.is_empty() {
                status["reason"] = json!(reason);
            }
            status
        }
        "SelfSubjectRulesReview" => {
            let namespace = spec.get("namespace").and_then(Value::as_str).unwrap_or("");
            let policy = load_policy(api).await?;
            let resolved = rbac::rules_for(
                &me,
                namespace,
                &policy.roles,
                &policy.cluster_roles,
                &policy.role_bindings,
                &policy.cluster_role_bindings,
            );
            let mut resource_rules = Vec::new();
            let mut non_resource_rules = Vec::new();
            for rule in &resolved.rules {
                if !rule.non_resource_urls.is_empty() {
                    non_resource_rules.push(json!({
                        "verbs": rule.verbs,
                        "nonResourceURLs": rule.non_resource_urls,
                    }));
                } else {
                    let mut r = json!({
                        "verbs": rule.verbs,
                        "apiGroups": rule.api_groups,
                        "resources": rule.resources,
                    });
                    if !rule.resource_names.is_empty() {
                        r["resourceNames"] = json!(rule.resource_names);
                    }
                    resource_rules.push(r);
                }
            }
            let mut status = json!({
                "resourceRules": resource_rules,
                "nonResourceRules": non_resource_rules,
                "incomplete": !resolved.errors.is_empty(),
            });
            if let Some(e) = resolved.evaluation_error() {
                status["evaluationError"] = json!(e);
            }
            status
        }
        _ => return Err(ApiError::no_route()),
    };
    obj["status"] = status;
    if obj.get("metadata").is_none_or(|m| !m.is_object()) {
        obj["metadata"] = json!({});
    }
    obj["metadata"]["creationTimestamp"] = Value::Null;
    Ok(obj)
}

/// Applies `Impersonate-User`, `Impersonate-Group`, `Impersonate-Uid` and
/// `Impersonate-Extra-*` headers as kube-apiserver's impersonation filter does: each
/// impersonated attribute needs the `impersonate` verb on it (`users`, `groups`,
/// `serviceaccounts`, `authentication.k8s.io` `uids` and `userextras/KEY`), and the request then
/// runs as the impersonated user.
pub async fn impersonate(
    api: &ApiServer,
    user: UserInfo,
    headers: &http::HeaderMap,
) -> Result<UserInfo, ApiError> {
    let values = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_string)
            .collect()
    };
    let target = values("impersonate-user").into_iter().next();
    let groups = values("impersonate-group");
    let uid = values("impersonate-uid").into_iter().next();
    let mut extras: Vec<(String, String)> = Vec::new();
    for (name, value) in headers {
        if let Some(key) = name.as_str().strip_prefix("impersonate-extra-")
            && let Ok(v) = value.to_str()
        {
            extras.push((crate::request::percent_decode(key), v.to_string()));
        }
    }
    let Some(target) = target else {
        if !groups.is_empty() || uid.is_some() || !extras.is_empty() {
            return Err(ApiError::internal(
                "requested impersonation of groups, uid or extra without impersonating a user",
            ));
        }
        return Ok(user);
    };
    let requester = rbac_user(&user.name, &user.groups);
    let check = |resource: &str, group: &str, namespace: &str, name: &str, sub: &str| Attributes {
        user: requester.clone(),
        verb: "impersonate".into(),
        namespace: namespace.into(),
        api_group: group.into(),
        resource: resource.into(),
        subresource: sub.into(),
        name: name.into(),
        path: String::new(),
        resource_request: true,
    };
    let mut wanted = Vec::new();
    let mut new_groups = groups.clone();
    match target
        .strip_prefix("system:serviceaccount:")
        .and_then(|rest| rest.split_once(':'))
    {
        Some((ns, name)) => {
            wanted.push(check("serviceaccounts", "", ns, name, ""));
            if groups.is_empty() {
                new_groups = vec![
                    "system:serviceaccounts".into(),
                    format!("system:serviceaccounts:{ns}"),
                ];
            }
        }
        None => wanted.push(check("users", "", "", &target, "")),
    }
    for g in &groups {
        wanted.push(check("groups", "", "", g, ""));
    }
    if let Some(uid) = &uid {
        wanted.push(check("uids", "authentication.k8s.io", "", uid, ""));
    }
    for (key, value) in &extras {
        wanted.push(check("userextras", "authentication.k8s.io", "", value, key));
    }
    for attrs in &wanted {
        let (allowed, reason) = decide(api, attrs).await?;
        if !allowed {
            let mut err = ApiError::forbidden(rbac::forbidden_message_with_reason(attrs, &reason));
            err.details = Some(json!({"name": attrs.name, "kind": attrs.resource}));
            return Err(err);
        }
    }
    let mut extra = std::collections::BTreeMap::new();
    for (key, value) in extras {
        extra.entry(key).or_insert_with(Vec::new).push(value);
    }
    Ok(UserInfo {
        name: target,
        uid: uid.unwrap_or_default(),
        groups: new_groups,
        extra,
    })
}
