//! The admission chain, in kube-apiserver's order.
//!
//! A write is decoded and defaulted, then **mutated** by the mutating plugins (LimitRanger's
//! defaults, ServiceAccount, DefaultTolerationSeconds) and the mutating webhooks; defaulted again
//! and validated by the kind's strategy; then **validated** by the validating plugins
//! (LimitRanger's bounds, PodSecurity, the validating webhooks and, last, ResourceQuota, which
//! charges the quota). NamespaceLifecycle is the handlers' namespace check before the store.
//!
//! Writes the server makes itself (controllers, finalization) skip admission, as requests from a
//! loopback client with `system:masters` would pass it unchanged.

use serde_json::Value;
use warren_apimachinery::error::ApiError;
use warren_apimachinery::registry::ResourceInfo;

use crate::handlers::RequestContext;
use crate::server::ApiServer;

pub mod limit_ranger;
pub mod pod_security;
pub mod quota;
pub mod service_account;
pub mod tolerations;
pub mod webhooks;

/// The admission operation (`admission.k8s.io/v1` `Operation`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// A create (also a server-side apply that creates).
    Create,
    /// An update or patch.
    Update,
    /// A delete.
    Delete,
}

impl Operation {
    /// The name AdmissionReview and webhook rules use.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "CREATE",
            Operation::Update => "UPDATE",
            Operation::Delete => "DELETE",
        }
    }
}

/// One write, as admission sees it.
pub struct Request<'a> {
    /// The resource written.
    pub info: &'a ResourceInfo,
    /// What is done.
    pub operation: Operation,
    /// The namespace (None for cluster-scoped resources).
    pub namespace: Option<&'a str>,
    /// The object's name (may be empty on create with generateName).
    pub name: &'a str,
    /// The subresource written (`status`...), if any.
    pub subresource: Option<&'a str>,
    /// The object before the write (update and delete).
    pub old: Option<&'a Value>,
    /// Whether this is a dry run (`?dryRun=All`).
    pub dry_run: bool,
    /// The request: user, query, and the warnings sent back to the client.
    pub ctx: &'a RequestContext,
}

impl Request<'_> {
    /// Whether the write is to `group`/`plural` (main resource or any subresource).
    pub fn is(&self, group: &str, plural: &str) -> bool {
        self.info.group == group && self.info.plural == plural
    }

    /// Whether the write is to the main resource (no subresource) of `group`/`plural`.
    pub fn is_main(&self, group: &str, plural: &str) -> bool {
        self.is(group, plural) && self.subresource.is_none()
    }
}

/// The mutating half: may change `obj`. Errors are the refusals the clients see.
pub async fn mutate(api: &ApiServer, req: &Request<'_>, obj: &mut Value) -> Result<(), ApiError> {
    limit_ranger::admit(api, req, obj).await?;
    service_account::admit(api, req, obj).await?;
    tolerations::admit(req, obj);
    webhooks::mutate(api, req, obj).await?;
    Ok(())
}

/// The validating half, after the kind's own validation: may only refuse. ResourceQuota comes
/// last and charges the namespace's quotas when it admits (not on dry runs).
pub async fn validate(api: &ApiServer, req: &Request<'_>, obj: &Value) -> Result<(), ApiError> {
    limit_ranger::validate(api, req, obj).await?;
    service_account::validate(api, req, obj).await?;
    pod_security::validate(api, req, obj).await?;
    webhooks::validate(api, req, obj).await?;
    quota::admit(api, req, obj).await?;
    Ok(())
}

/// Admission of a delete (only webhooks see deletes): `old` is the object being deleted.
pub async fn validate_delete(api: &ApiServer, req: &Request<'_>) -> Result<(), ApiError> {
    webhooks::validate_delete(api, req).await
}
