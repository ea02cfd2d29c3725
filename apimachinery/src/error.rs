//! API errors and their one translation into `meta/v1 Status`.
//!
//! Every failure a handler can meet becomes an [`ApiError`]; [`ApiError::to_status`] is the only
//! place that shapes the `Status` object kube-apiserver would send, so messages read exactly like
//! kube-apiserver's (`configmaps "x" not found`).

use serde_json::{Value, json};

/// One field problem of an Invalid (422) error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// `FieldValueInvalid`, `FieldValueRequired`, `FieldValueNotSupported`, `FieldValueTooLong`,
    /// `FieldValueForbidden`, `FieldValueDuplicate`, `FieldValueTypeInvalid`.
    pub kind: FieldErrorKind,
    /// The field path, e.g. `metadata.name` or `spec.containers[0].image`.
    pub field: String,
    /// The rendered bad value (`""` quoting as kube-apiserver does), if any.
    pub value: Option<String>,
    /// The detail, e.g. `must be no more than 63 characters`.
    pub detail: String,
}

/// The kinds of field errors (`k8s.io/apimachinery/pkg/util/validation/field`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldErrorKind {
    /// `Invalid value`
    Invalid,
    /// `Required value`
    Required,
    /// `Unsupported value`
    NotSupported,
    /// `Too long`
    TooLong,
    /// `Forbidden`
    Forbidden,
    /// `Duplicate value`
    Duplicate,
    /// `Too many`
    TooMany,
}

impl FieldErrorKind {
    /// The cause type in a Status (`FieldValueInvalid`...).
    pub fn cause_type(self) -> &'static str {
        match self {
            FieldErrorKind::Invalid => "FieldValueInvalid",
            FieldErrorKind::Required => "FieldValueRequired",
            FieldErrorKind::NotSupported => "FieldValueNotSupported",
            FieldErrorKind::TooLong => "FieldValueTooLong",
            FieldErrorKind::Forbidden => "FieldValueForbidden",
            FieldErrorKind::Duplicate => "FieldValueDuplicate",
            FieldErrorKind::TooMany => "FieldValueTooMany",
        }
    }

    /// The words kube-apiserver prints (`Invalid value`...).
    pub fn words(self) -> &'static str {
        match self {
            FieldErrorKind::Invalid => "Invalid value",
            FieldErrorKind::Required => "Required value",
            FieldErrorKind::NotSupported => "Unsupported value",
            FieldErrorKind::TooLong => "Too long",
            FieldErrorKind::Forbidden => "Forbidden",
            FieldErrorKind::Duplicate => "Duplicate value",
            FieldErrorKind::TooMany => "Too many",
        }
    }
}

impl FieldError {
    /// `field: Invalid value: "v": detail`.
    pub fn invalid(
        field: impl Into<String>,
        value: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        FieldError {
            kind: FieldErrorKind::Invalid,
            field: field.into(),
            value: Some(value.into()),
            detail: detail.into(),
        }
    }

    /// `field: Required value`.
    pub fn required(field: impl Into<String>, detail: impl Into<String>) -> Self {
        FieldError {
            kind: FieldErrorKind::Required,
            field: field.into(),
            value: None,
            detail: detail.into(),
        }
    }

    /// `field: Forbidden: detail`.
    pub fn forbidden(field: impl Into<String>, detail: impl Into<String>) -> Self {
        FieldError {
            kind: FieldErrorKind::Forbidden,
            field: field.into(),
            value: None,
            detail: detail.into(),
        }
    }

    /// `field: Unsupported value: "v": supported values: ...`.
    pub fn not_supported(
        field: impl Into<String>,
        value: impl Into<String>,
        supported: &[&str],
    ) -> Self {
        let list: Vec<String> = supported.iter().map(|s| format!("\"{s}\"")).collect();
        FieldError {
            kind: FieldErrorKind::NotSupported,
            field: field.into(),
            value: Some(value.into()),
            detail: format!("supported values: {}", list.join(", ")),
        }
    }

    /// The error as kube-apiserver renders it inside a message.
    pub fn render(&self) -> String {
        let mut s = format!("{}: {}", self.field, self.kind.words());
        if let Some(v) = &self.value {
            s.push_str(&format!(": \"{v}\""));
        }
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }

    /// The message of this cause inside `details.causes` (without the field).
    pub fn cause_message(&self) -> String {
        let mut s = self.kind.words().to_string();
        if let Some(v) = &self.value {
            s.push_str(&format!(": \"{v}\""));
        }
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }
}

/// An error that becomes a `meta/v1 Status` response.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{code} {reason}: {message}")]
pub struct ApiError {
    /// The HTTP status code.
    pub code: u16,
    /// The Status reason (`NotFound`, `AlreadyExists`, `Conflict`, `Invalid`...); empty for none.
    pub reason: &'static str,
    /// The human message.
    pub message: String,
    /// `details`, if any.
    pub details: Option<Value>,
}

/// The `group` and `kind` names kube-apiserver puts in `details` and messages: the resource
/// (plural) qualified by group, e.g. `deployments.apps` or `configmaps`.
pub fn qualified_resource(group: &str, plural: &str) -> String {
    if group.is_empty() {
        plural.to_string()
    } else {
        format!("{plural}.{group}")
    }
}

impl ApiError {
    /// A plain error with a code and reason.
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    /// 400 BadRequest.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// 404 NotFound for an object: `configmaps "x" not found`.
    pub fn not_found(group: &str, plural: &str, name: &str) -> Self {
        ApiError {
            code: 404,
            reason: "NotFound",
            message: format!(
                "{} \"{}\" not found",
                qualified_resource(group, plural),
                name
            ),
            details: Some(json!({"name": name, "group": group, "kind": plural})),
        }
    }

    /// 404 NotFound for a path that names nothing: `the server could not find the requested resource`.
    pub fn no_route() -> Self {
        ApiError {
            code: 404,
            reason: "NotFound",
            message: "the server could not find the requested resource".into(),
            details: Some(json!({})),
        }
    }

    /// 409 AlreadyExists: `configmaps "x" already exists`.
    pub fn already_exists(group: &str, plural: &str, name: &str) -> Self {
        ApiError {
            code: 409,
            reason: "AlreadyExists",
            message: format!(
                "{} \"{}\" already exists",
                qualified_resource(group, plural),
                name
            ),
            details: Some(json!({"name": name, "group": group, "kind": plural})),
        }
    }

    /// 409 Conflict on a stale resourceVersion.
    pub fn conflict(group: &str, plural: &str, name: &str) -> Self {
        Self::conflict_with(
            group,
            plural,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// 409 Conflict with a given cause.
    pub fn conflict_with(group: &str, plural: &str, name: &str, why: &str) -> Self {
        ApiError {
            code: 409,
            reason: "Conflict",
            message: format!(
                "Operation cannot be fulfilled on {} \"{}\": {}",
                qualified_resource(group, plural),
                name,
                why
            ),
            details: Some(json!({"name": name, "group": group, "kind": plural})),
        }
    }

    /// 422 Invalid: `ConfigMap "x" is invalid: [a, b]` with one cause per field error.
    pub fn invalid(group: &str, kind: &str, name: &str, errors: &[FieldError]) -> Self {
        let rendered: Vec<String> = errors.iter().map(FieldError::render).collect();
        let summary = if rendered.len() == 1 {
            rendered[0].clone()
        } else {
            format!("[{}]", rendered.join(", "))
        };
        let causes: Vec<Value> = errors
            .iter()
            .map(|e| json!({"reason": e.kind.cause_type(), "message": e.cause_message(), "field": e.field}))
            .collect();
        let qualified_kind = if group.is_empty() {
            kind.to_string()
        } else {
            format!("{kind}.{group}")
        };
        ApiError {
            code: 422,
            reason: "Invalid",
            message: format!("{qualified_kind} \"{name}\" is invalid: {summary}"),
            details: Some(json!({"name": name, "group": group, "kind": kind, "causes": causes})),
        }
    }

    /// 405 MethodNotAllowed.
    pub fn method_not_allowed(_method: &str) -> Self {
        ApiError {
            code: 405,
            reason: "MethodNotAllowed",
            message: "the server does not allow this method on the requested resource".into(),
            details: Some(json!({})),
        }
    }

    /// 410 Expired: `too old resource version: 5 (12)`.
    pub fn gone(requested: i64, oldest: i64) -> Self {
        Self::new(
            410,
            "Expired",
            format!("too old resource version: {requested} ({oldest})"),
        )
    }

    /// 415 UnsupportedMediaType.
    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got {content_type})"
            ),
        )
    }

    /// 406 NotAcceptable.
    pub fn not_acceptable(accept: &str) -> Self {
        Self::new(
            406,
            "NotAcceptable",
            format!(
                "only the following media types are accepted: application/json, application/yaml (got {accept})"
            ),
        )
    }

    /// 413 RequestEntityTooLarge.
    pub fn too_large() -> Self {
        Self::new(
            413,
            "RequestEntityTooLarge",
            "Request entity too large: limit is 3145728",
        )
    }

    /// 401 Unauthorized.
    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    /// 403 Forbidden.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "Forbidden", message)
    }

    /// 500 InternalError.
    pub fn internal(message: impl Into<String>) -> Self {
        let message = message.into();
        ApiError {
            code: 500,
            reason: "InternalError",
            message: format!("Internal error occurred: {message}"),
            details: Some(json!({"causes": [{"message": message}]})),
        }
    }

    /// 503 ServiceUnavailable.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(503, "ServiceUnavailable", message)
    }

    /// 504 Timeout.
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(504, "Timeout", message)
    }

    /// The `meta/v1 Status` object for this error.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
        });
        if !self.reason.is_empty() {
            status["reason"] = json!(self.reason);
        }
        if let Some(d) = &self.details {
            status["details"] = d.clone();
        }
        status["code"] = json!(self.code);
        status
    }
}
