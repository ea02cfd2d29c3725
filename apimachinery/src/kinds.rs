//! The built-in kinds and their strategies: defaults, validation, field selectors.

use serde_json::Value;

use crate::error::FieldError;
use crate::registry::ResourceInfo;

/// A built-in resource, as a row of the static table.
#[derive(Clone, Copy, Debug)]
pub struct BuiltinKind {
    /// API group (`""` for core).
    pub group: &'static str,
    /// Version.
    pub version: &'static str,
    /// Kind.
    pub kind: &'static str,
    /// Plural resource name.
    pub plural: &'static str,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// Short names.
    pub short_names: &'static [&'static str],
    /// Categories.
    pub categories: &'static [&'static str],
    /// Subresources.
    pub subresources: &'static [&'static str],
}

/// Every built-in resource.
pub static BUILTIN: &[BuiltinKind] = &[
    BuiltinKind { group: "", version: "v1", kind: "Namespace", plural: "namespaces", namespaced: false, short_names: &["ns"], categories: &[], subresources: &["status", "finalize"] },
    BuiltinKind { group: "", version: "v1", kind: "ConfigMap", plural: "configmaps", namespaced: true, short_names: &["cm"], categories: &[], subresources: &[] },
    BuiltinKind { group: "", version: "v1", kind: "Pod", plural: "pods", namespaced: true, short_names: &["po"], categories: &["all"], subresources: &["status", "binding"] },
];

/// Fills in defaults on create and update, as kube-apiserver's defaulting does.
pub fn apply_defaults(_info: &ResourceInfo, _obj: &mut Value) {}

/// Validates an object for create (`old` is `None`) or update.
pub fn validate(_info: &ResourceInfo, _obj: &Value, _old: Option<&Value>) -> Vec<FieldError> {
    Vec::new()
}

/// The value of a field-selector field for this object, or `None` if the kind does not support
/// selecting on that field.
pub fn field_value(_info: &ResourceInfo, obj: &Value, field: &str) -> Option<String> {
    match field {
        "metadata.name" => Some(obj["metadata"]["name"].as_str().unwrap_or_default().to_string()),
        "metadata.namespace" => Some(obj["metadata"]["namespace"].as_str().unwrap_or_default().to_string()),
        _ => None,
    }
}
