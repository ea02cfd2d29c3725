//! The message of the 403 a denied request gets, after upstream's
//! `staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go`
//! (`forbiddenMessage`, `Forbidden`) and `apierrors.NewForbidden`.

use super::{Attributes, go_quote};

/// Upstream `forbiddenMessage`: what the user cannot do, without the resource prefix.
fn denial(attrs: &Attributes) -> String {
    let user = go_quote(&attrs.user.name);
    if !attrs.resource_request {
        return format!(
            "User {user} cannot {} path {}",
            attrs.verb,
            go_quote(&attrs.path)
        );
    }
    let resource = if attrs.subresource.is_empty() {
        attrs.resource.clone()
    } else {
        format!("{}/{}", attrs.resource, attrs.subresource)
    };
    let scope = if attrs.namespace.is_empty() {
        "at the cluster scope".to_string()
    } else {
        format!("in the namespace {}", go_quote(&attrs.namespace))
    };
    format!(
        "User {user} cannot {} resource {} in API group {} {scope}",
        attrs.verb,
        go_quote(&resource),
        go_quote(&attrs.api_group)
    )
}

/// Upstream's sanitizer: keeps the message from reading as HTML.
fn sanitize(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The `message` of the `Forbidden` Status kube-apiserver returns for a denied request, e.g.
/// `configmaps is forbidden: User "alice" cannot list resource "configmaps" in API group ""
/// in the namespace "default"`, `pods "web" is forbidden: ...` for a named object, or
/// `forbidden: User "bob" cannot get path "/foo"` for a non-resource path.
pub fn forbidden_message(attrs: &Attributes) -> String {
    forbidden_message_with_reason(attrs, "")
}

/// [`forbidden_message`] with the authorizers' reason appended as `: reason` when there is
/// one (upstream `responsewriters.Forbidden`).
pub fn forbidden_message_with_reason(attrs: &Attributes, reason: &str) -> String {
    let mut err = sanitize(&denial(attrs));
    if !reason.is_empty() {
        err = format!("{err}: {reason}");
    }
    // apierrors.NewForbidden(GroupResource{group, resource}, name, err)
    if attrs.api_group.is_empty() && attrs.resource.is_empty() {
        return format!("forbidden: {err}");
    }
    let qualified = if attrs.api_group.is_empty() {
        attrs.resource.clone()
    } else {
        format!("{}.{}", attrs.resource, attrs.api_group)
    };
    if attrs.name.is_empty() {
        format!("{qualified} is forbidden: {err}")
    } else {
        format!("{qualified} {} is forbidden: {err}", go_quote(&attrs.name))
    }
}
