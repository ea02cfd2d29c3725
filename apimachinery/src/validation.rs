//! Name and metadata validation shared by every kind (DNS-1123 names, labels, annotations).
//!
//! A port of `k8s.io/apimachinery/pkg/util/validation` and `pkg/api/validation` without regular
//! expressions: each `is_*` function returns kube's messages word for word (an empty list means
//! valid), and the `validate_*` functions turn them into [`FieldError`]s with kube's field paths.
//! Kind-specific rules live in [`crate::kinds`].

use std::collections::BTreeSet;

use serde_json::Value;

use crate::error::{FieldError, FieldErrorKind};

/// The maximum length of a DNS-1123 or DNS-1035 label, and of a label value and a label key's
/// name part.
pub const DNS1123_LABEL_MAX_LENGTH: usize = 63;
/// The maximum length of a DNS-1123 subdomain.
pub const DNS1123_SUBDOMAIN_MAX_LENGTH: usize = 253;
/// The limit on the total size (keys plus values) of an object's annotations.
pub const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;
/// kube's detail for a changed immutable field.
pub const FIELD_IMMUTABLE: &str = "field is immutable";

const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_LABEL_ERR: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_FMT: &str =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_ERR: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1035_LABEL_FMT: &str = "[a-z]([-a-z0-9]*[a-z0-9])?";
const DNS1035_LABEL_ERR: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";
const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_ERR: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const LABEL_VALUE_ERR: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const CONFIG_KEY_FMT: &str = "[-._a-zA-Z0-9]+";
const CONFIG_KEY_ERR: &str =
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.'";

/// `must be no more than N characters`.
pub fn max_len_error(length: usize) -> String {
    format!("must be no more than {length} characters")
}

/// kube's `RegexError`: the message, the examples and the regular expression it validates with.
pub fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    if examples.is_empty() {
        return format!("{msg} (regex used for validation is '{fmt}')");
    }
    let mut out = format!("{msg} (e.g. ");
    for (i, e) in examples.iter().enumerate() {
        if i > 0 {
            out.push_str(" or ");
        }
        out.push_str(&format!("'{e}', "));
    }
    out.push_str(&format!("regex used for validation is '{fmt}')"));
    out
}

/// `must be between LO and HI, inclusive`.
pub fn inclusive_range_error(lo: i64, hi: i64) -> String {
    format!("must be between {lo} and {hi}, inclusive")
}

fn is_lower_alnum(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// Matches `[a-z0-9]([-a-z0-9]*[a-z0-9])?` (or the DNS-1035 form when `alpha_first`).
fn matches_label(s: &str, alpha_first: bool) -> bool {
    let b = s.as_bytes();
    let (Some(&first), Some(&last)) = (b.first(), b.last()) else {
        return false;
    };
    let first_ok = if alpha_first {
        first.is_ascii_lowercase()
    } else {
        is_lower_alnum(first)
    };
    first_ok && is_lower_alnum(last) && b.iter().all(|&c| is_lower_alnum(c) || c == b'-')
}

fn matches_subdomain(s: &str) -> bool {
    s.split('.').all(|part| matches_label(part, false))
}

fn matches_qualified_name(s: &str) -> bool {
    let b = s.as_bytes();
    let (Some(&first), Some(&last)) = (b.first(), b.last()) else {
        return false;
    };
    first.is_ascii_alphanumeric()
        && last.is_ascii_alphanumeric()
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// `IsDNS1123Label`: a lowercase RFC 1123 label of at most 63 characters.
pub fn is_dns1123_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_LABEL_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_LABEL_MAX_LENGTH));
    }
    if !matches_label(value, false) {
        if matches_subdomain(value) {
            errs.push("must not contain dots".to_string());
        } else {
            errs.push(regex_error(
                DNS1123_LABEL_ERR,
                DNS1123_LABEL_FMT,
                &["my-name", "123-abc"],
            ));
        }
    }
    errs
}

/// `IsDNS1123Subdomain`: a lowercase RFC 1123 subdomain of at most 253 characters.
pub fn is_dns1123_subdomain(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH));
    }
    if !matches_subdomain(value) {
        errs.push(regex_error(
            DNS1123_SUBDOMAIN_ERR,
            DNS1123_SUBDOMAIN_FMT,
            &["example.com"],
        ));
    }
    errs
}

/// `IsDNS1035Label`: like a DNS-1123 label, but starting with a letter (Service names).
pub fn is_dns1035_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_LABEL_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_LABEL_MAX_LENGTH));
    }
    if !matches_label(value, true) {
        errs.push(regex_error(
            DNS1035_LABEL_ERR,
            DNS1035_LABEL_FMT,
            &["my-name", "abc-123"],
        ));
    }
    errs
}

/// `IsQualifiedName` (a label key): an optional DNS-1123 subdomain prefix and `/`, then a name
/// part of at most 63 alphanumerics, `-`, `_` or `.`.
pub fn is_qualified_name(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_string());
            } else {
                errs.extend(
                    is_dns1123_subdomain(prefix)
                        .into_iter()
                        .map(|m| format!("prefix part {m}")),
                );
            }
            *name
        }
        _ => {
            errs.push(format!(
                "a valid label key {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(
                    QUALIFIED_NAME_ERR,
                    QUALIFIED_NAME_FMT,
                    &["MyName", "my.name", "123-abc"]
                )
            ));
            return errs;
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else if name.len() > DNS1123_LABEL_MAX_LENGTH {
        errs.push(format!(
            "name part {}",
            max_len_error(DNS1123_LABEL_MAX_LENGTH)
        ));
    }
    if !matches_qualified_name(name) {
        errs.push(format!(
            "name part {}",
            regex_error(
                QUALIFIED_NAME_ERR,
                QUALIFIED_NAME_FMT,
                &["MyName", "my.name", "123-abc"]
            )
        ));
    }
    errs
}

/// `IsValidLabelValue`: empty, or at most 63 alphanumerics, `-`, `_` or `.` starting and ending
/// with an alphanumeric.
pub fn is_valid_label_value(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_LABEL_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_LABEL_MAX_LENGTH));
    }
    if !value.is_empty() && !matches_qualified_name(value) {
        errs.push(regex_error(
            LABEL_VALUE_ERR,
            LABEL_VALUE_FMT,
            &["MyValue", "my_value", "12345"],
        ));
    }
    errs
}

/// `IsConfigMapKey`: the keys of ConfigMap and Secret data.
pub fn is_config_map_key(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH));
    }
    let chars_ok = !value.is_empty()
        && value
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'));
    if !chars_ok {
        errs.push(regex_error(
            CONFIG_KEY_ERR,
            CONFIG_KEY_FMT,
            &["key.name", "KEY_NAME", "key-name"],
        ));
    }
    if value == "." {
        errs.push("must not be '.'".to_string());
    } else if value == ".." {
        errs.push("must not be '..'".to_string());
    } else if value.starts_with("..") {
        errs.push("must not start with '..'".to_string());
    }
    errs
}

/// `IsValidPathSegmentName`: not `.` or `..`, and without `/` or `%` (RBAC object names).
pub fn is_path_segment_name(value: &str) -> Vec<String> {
    for illegal in [".", ".."] {
        if value == illegal {
            return vec![format!("may not be '{illegal}'")];
        }
    }
    is_path_segment_prefix(value)
}

/// `IsValidPathSegmentPrefix`: without `/` or `%`.
pub fn is_path_segment_prefix(value: &str) -> Vec<String> {
    ["/", "%"]
        .iter()
        .filter(|illegal| value.contains(*illegal))
        .map(|illegal| format!("may not contain '{illegal}'"))
        .collect()
}

/// `IsValidPortNum`: 1 to 65535.
pub fn is_valid_port_num(port: i64) -> Vec<String> {
    if (1..=65535).contains(&port) {
        Vec::new()
    } else {
        vec![inclusive_range_error(1, 65535)]
    }
}

/// `IsValidPortName`: an IANA service name (at most 15 characters, `[-a-z0-9]`, at least one
/// letter, no leading, trailing or doubled hyphen).
pub fn is_valid_port_name(port: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if port.len() > 15 {
        errs.push(max_len_error(15));
    }
    if port.is_empty()
        || !port
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
    {
        errs.push(
            "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".to_string(),
        );
    }
    if !port.bytes().any(|c| c.is_ascii_lowercase()) {
        errs.push("must contain at least one letter (a-z)".to_string());
    }
    if port.contains("--") {
        errs.push("must not contain consecutive hyphens".to_string());
    }
    if port.starts_with('-') || port.ends_with('-') {
        errs.push("must not begin or end with a hyphen".to_string());
    }
    errs
}

/// Which rule an object's `metadata.name` must follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameRule {
    /// A DNS-1123 subdomain (most kinds).
    Dns1123Subdomain,
    /// A DNS-1123 label (namespaces).
    Dns1123Label,
    /// A DNS-1035 label (services).
    Dns1035Label,
    /// Any string usable as a URL path segment (RBAC kinds).
    PathSegment,
}

impl NameRule {
    /// The problems with `name`; with `prefix`, `name` is a `generateName` to which a random
    /// suffix will be appended, so a trailing `-` is allowed (kube's `maskTrailingDash`).
    pub fn check(self, name: &str, prefix: bool) -> Vec<String> {
        let masked;
        let name = if prefix && self != NameRule::PathSegment && name.len() > 1 {
            match name.strip_suffix('-') {
                Some(stem) => {
                    masked = format!("{stem}a");
                    masked.as_str()
                }
                None => name,
            }
        } else {
            name
        };
        match self {
            NameRule::Dns1123Subdomain => is_dns1123_subdomain(name),
            NameRule::Dns1123Label => is_dns1123_label(name),
            NameRule::Dns1035Label => is_dns1035_label(name),
            NameRule::PathSegment if prefix => is_path_segment_prefix(name),
            NameRule::PathSegment => is_path_segment_name(name),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Field errors that FieldError has no constructor for, rendered as kube renders them.

/// `field: Invalid value: RENDERED: detail` for a value kube prints without quotes (numbers,
/// Go maps and structs); `rendered` is already in kube's notation.
pub fn invalid_unquoted(field: impl Into<String>, rendered: &str, detail: &str) -> FieldError {
    FieldError {
        kind: FieldErrorKind::Invalid,
        field: field.into(),
        value: None,
        detail: format!("{rendered}: {detail}"),
    }
}

/// `field: Duplicate value: "v"`.
pub fn duplicate(field: impl Into<String>, value: impl Into<String>) -> FieldError {
    FieldError {
        kind: FieldErrorKind::Duplicate,
        field: field.into(),
        value: Some(value.into()),
        detail: String::new(),
    }
}

/// `field: Too long: may not be more than N bytes`.
pub fn too_long(field: impl Into<String>, max_bytes: usize) -> FieldError {
    FieldError {
        kind: FieldErrorKind::TooLong,
        field: field.into(),
        value: None,
        detail: format!("may not be more than {max_bytes} bytes"),
    }
}

/// `field: Invalid value: <value>: field is immutable`, the value rendered as kube does for a
/// JSON scalar (strings quoted, numbers and booleans bare, `null` for nothing).
pub fn immutable(field: impl Into<String>, new_value: &Value) -> FieldError {
    match new_value {
        Value::String(s) => FieldError::invalid(field, s.clone(), FIELD_IMMUTABLE),
        Value::Null => invalid_unquoted(field, "null", FIELD_IMMUTABLE),
        other => invalid_unquoted(field, &other.to_string(), FIELD_IMMUTABLE),
    }
}

/// Go's `%#v` of a `map[string]string` held in a JSON object: `map[string]string{"a":"b"}`
/// (keys sorted), `map[string]string(nil)` for a missing map.
pub fn go_string_map(v: Option<&Value>) -> String {
    match v.and_then(Value::as_object) {
        None => "map[string]string(nil)".to_string(),
        Some(m) => {
            let mut entries: Vec<(&String, String)> = m
                .iter()
                .map(|(k, v)| (k, v.as_str().map(str::to_string).unwrap_or(v.to_string())))
                .collect();
            entries.sort();
            let inner: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{k:?}:{v:?}"))
                .collect();
            format!("map[string]string{{{}}}", inner.join(", "))
        }
    }
}

/// Go's `%#v` of a `[]string`: `[]string{"a", "b"}`, `[]string(nil)` for none.
pub fn go_string_slice(items: &[String]) -> String {
    if items.is_empty() {
        return "[]string(nil)".to_string();
    }
    let inner: Vec<String> = items.iter().map(|s| format!("{s:?}")).collect();
    format!("[]string{{{}}}", inner.join(", "))
}

// ---------------------------------------------------------------------------------------------
// Metadata.

/// The string at a JSON object's `key`, or `""`.
fn str_field<'a>(obj: &'a Value, key: &str) -> &'a str {
    obj.get(key).and_then(Value::as_str).unwrap_or("")
}

/// A JSON scalar as the string kube would see after decoding (strings as they are).
fn scalar_text(v: &Value) -> String {
    v.as_str()
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string())
}

/// `ValidateLabels`: every key a qualified name, every value a valid label value; errors at
/// `path` (kube names the map, not the key).
pub fn validate_labels(labels: Option<&Value>, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(map) = labels.and_then(Value::as_object) else {
        return errs;
    };
    for (k, v) in map {
        for msg in is_qualified_name(k) {
            errs.push(FieldError::invalid(path, k.clone(), msg));
        }
        let value = scalar_text(v);
        for msg in is_valid_label_value(&value) {
            errs.push(FieldError::invalid(path, value.clone(), msg));
        }
    }
    errs
}

/// `ValidateAnnotations`: keys are qualified names (case-insensitively), and keys plus values
/// total at most 256 KiB.
pub fn validate_annotations(annotations: Option<&Value>, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(map) = annotations.and_then(Value::as_object) else {
        return errs;
    };
    let mut total = 0usize;
    for (k, v) in map {
        for msg in is_qualified_name(&k.to_lowercase()) {
            errs.push(FieldError::invalid(path, k.clone(), msg));
        }
        total += k.len() + scalar_text(v).len();
    }
    if total > TOTAL_ANNOTATION_SIZE_LIMIT {
        errs.push(too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT));
    }
    errs
}

/// The name and generateName rules of `ValidateObjectMeta`: `generateName` must be a valid
/// prefix, and `name` (already generated by the handler) must be present and valid.
pub fn validate_name(meta: &Value, rule: NameRule) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let generate = str_field(meta, "generateName");
    if !generate.is_empty() {
        for msg in rule.check(generate, true) {
            errs.push(FieldError::invalid(
                "metadata.generateName",
                generate.to_string(),
                msg,
            ));
        }
    }
    let name = str_field(meta, "name");
    if name.is_empty() {
        errs.push(FieldError::required(
            "metadata.name",
            "name or generateName is required",
        ));
    } else {
        for msg in rule.check(name, false) {
            errs.push(FieldError::invalid("metadata.name", name.to_string(), msg));
        }
    }
    errs
}

/// The rest of `ValidateObjectMeta` on create, and the parts `ValidateObjectMetaUpdate`
/// repeats: generation, labels, annotations, owner references and finalizers.
pub fn validate_meta_common(meta: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(g) = meta.get("generation").and_then(Value::as_i64)
        && g < 0
    {
        errs.push(invalid_unquoted(
            "metadata.generation",
            &g.to_string(),
            "must be greater than or equal to 0",
        ));
    }
    errs.extend(validate_labels(meta.get("labels"), "metadata.labels"));
    errs.extend(validate_annotations(
        meta.get("annotations"),
        "metadata.annotations",
    ));
    errs.extend(validate_owner_references(meta.get("ownerReferences")));
    errs.extend(validate_finalizers(meta.get("finalizers")));
    errs
}

fn validate_owner_references(refs: Option<&Value>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(refs) = refs.and_then(Value::as_array) else {
        return errs;
    };
    let path = "metadata.ownerReferences";
    let mut controller: Option<String> = None;
    for r in refs {
        let api_version = str_field(r, "apiVersion");
        let version = api_version.rsplit('/').next().unwrap_or("");
        if version.is_empty() {
            errs.push(FieldError::invalid(
                format!("{path}.apiVersion"),
                api_version.to_string(),
                "version must not be empty",
            ));
        }
        for f in ["kind", "name", "uid"] {
            if str_field(r, f).is_empty() {
                errs.push(FieldError::invalid(
                    format!("{path}.{f}"),
                    "",
                    "must not be empty",
                ));
            }
        }
        if r.get("controller").and_then(Value::as_bool) == Some(true) {
            let this = format!("{}/{}", str_field(r, "kind"), str_field(r, "name"));
            match &controller {
                Some(first) => errs.push(invalid_unquoted(
                    path,
                    "[]v1.OwnerReference{...}",
                    &format!(
                        "Only one reference can have Controller set to true. Found \"true\" in references for {first} and {this}"
                    ),
                )),
                None => controller = Some(this),
            }
        }
    }
    errs
}

fn validate_finalizers(finalizers: Option<&Value>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(list) = finalizers.and_then(Value::as_array) else {
        return errs;
    };
    let names: BTreeSet<String> = list.iter().map(scalar_text).collect();
    for f in list {
        let f = scalar_text(f);
        for msg in is_qualified_name(&f) {
            errs.push(FieldError::invalid("metadata.finalizers", f.clone(), msg));
        }
    }
    if names.contains("orphan") && names.contains("foregroundDeletion") {
        let all: Vec<String> = list.iter().map(scalar_text).collect();
        errs.push(invalid_unquoted(
            "metadata.finalizers",
            &go_string_slice(&all),
            "finalizer orphan and foregroundDeletion cannot be both set",
        ));
    }
    errs
}

/// `ValidateObjectMeta` for create: name rules, then [`validate_meta_common`]. Whether the
/// namespace suits the resource's scope is the handler's business.
pub fn validate_object_meta(meta: &Value, rule: NameRule) -> Vec<FieldError> {
    let mut errs = validate_name(meta, rule);
    errs.extend(validate_meta_common(meta));
    errs
}

/// `ValidateObjectMetaUpdate`: name, namespace, uid and creationTimestamp may not change, and
/// generation may not go down; then [`validate_meta_common`]. A field the update leaves empty
/// is not a change (the server fills it from the stored object, as kube-apiserver does).
pub fn validate_object_meta_update(meta: &Value, old_meta: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let (Some(new_gen), Some(old_gen)) = (
        meta.get("generation").and_then(Value::as_i64),
        old_meta.get("generation").and_then(Value::as_i64),
    ) && new_gen < old_gen
    {
        errs.push(invalid_unquoted(
            "metadata.generation",
            &new_gen.to_string(),
            "must not be decremented",
        ));
    }
    for f in ["name", "namespace", "uid", "creationTimestamp"] {
        let new = str_field(meta, f);
        let old = str_field(old_meta, f);
        if !new.is_empty() && new != old {
            errs.push(FieldError::invalid(
                format!("metadata.{f}"),
                new.to_string(),
                FIELD_IMMUTABLE,
            ));
        }
    }
    if old_meta
        .get("deletionTimestamp")
        .is_some_and(|v| !v.is_null())
    {
        let old: BTreeSet<String> = old_meta
            .get("finalizers")
            .and_then(Value::as_array)
            .map(|l| l.iter().map(scalar_text).collect())
            .unwrap_or_default();
        let added: Vec<String> = meta
            .get("finalizers")
            .and_then(Value::as_array)
            .map(|l| l.iter().map(scalar_text).collect::<BTreeSet<_>>())
            .unwrap_or_default()
            .difference(&old)
            .cloned()
            .collect();
        if !added.is_empty() {
            errs.push(FieldError::forbidden(
                "metadata.finalizers",
                format!(
                    "no new finalizers can be added if the object is being deleted, found new finalizers {}",
                    go_string_slice(&added)
                ),
            ));
        }
    }
    errs.extend(validate_meta_common(meta));
    errs
}

/// The labels and annotations of an embedded template's metadata (`spec.template.metadata`).
pub fn validate_template_meta(meta: Option<&Value>, path: &str) -> Vec<FieldError> {
    let Some(meta) = meta else {
        return Vec::new();
    };
    let mut errs = validate_labels(meta.get("labels"), &format!("{path}.labels"));
    errs.extend(validate_annotations(
        meta.get("annotations"),
        &format!("{path}.annotations"),
    ));
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

    #[test]
    fn dns1123_labels() {
        for ok in ["a", "abc", "a-b", "0", "1-2-3", &"a".repeat(63)] {
            assert!(is_dns1123_label(ok).is_empty(), "{ok}");
        }
        assert_eq!(
            is_dns1123_label(&"a".repeat(64)),
            vec!["must be no more than 63 characters"]
        );
        assert_eq!(is_dns1123_label("a.b"), vec!["must not contain dots"]);
        assert_eq!(
            is_dns1123_label("A"),
            vec![
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
            ]
        );
        for bad in ["", "-a", "a-", "a_b", "a b"] {
            assert_eq!(is_dns1123_label(bad).len(), 1, "{bad}");
        }
    }

    #[test]
    fn dns1123_subdomains() {
        let long = format!("{}.{}", "a".repeat(63), "b".repeat(63));
        for ok in ["a", "a.b", "example.com", "a-b.c-d", long.as_str()] {
            assert!(is_dns1123_subdomain(ok).is_empty(), "{ok}");
        }
        let exactly_253 = vec!["a".repeat(63); 4].join(".")[..253].to_string();
        assert!(is_dns1123_subdomain(&exactly_253).is_empty());
        let too_long = vec!["a".repeat(50); 5].join(".") + "aaa";
        assert_eq!(too_long.len(), 257);
        let l254 = &too_long[..254];
        assert_eq!(
            is_dns1123_subdomain(l254),
            vec!["must be no more than 253 characters"]
        );
        assert_eq!(is_dns1123_subdomain("Hello"), vec![SUBDOMAIN_MSG]);
        for bad in ["", ".a", "a.", "a..b", "-a.b", "a_b"] {
            assert_eq!(is_dns1123_subdomain(bad), vec![SUBDOMAIN_MSG], "{bad}");
        }
    }

    #[test]
    fn dns1035_labels() {
        assert!(is_dns1035_label("my-svc").is_empty());
        assert_eq!(
            is_dns1035_label("1abc"),
            vec![
                "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
            ]
        );
        assert_eq!(is_dns1035_label(&"a".repeat(64)).len(), 1);
    }

    #[test]
    fn qualified_names() {
        for ok in [
            "app",
            "App.Name_1",
            "example.com/name",
            "kubernetes.io/metadata.name",
            &"a".repeat(63),
        ] {
            assert!(is_qualified_name(ok).is_empty(), "{ok}");
        }
        assert_eq!(
            is_qualified_name(&"a".repeat(64)),
            vec!["name part must be no more than 63 characters"]
        );
        assert_eq!(
            is_qualified_name("/a"),
            vec!["prefix part must be non-empty"]
        );
        assert_eq!(
            is_qualified_name("Example.com/a"),
            vec![format!("prefix part {SUBDOMAIN_MSG}")]
        );
        assert_eq!(
            is_qualified_name("a/"),
            vec![
                "name part must be non-empty",
                "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
            ]
        );
        assert!(is_qualified_name("a/b/c")[0].starts_with("a valid label key must consist"));
        assert_eq!(is_qualified_name("-a").len(), 1);
    }

    #[test]
    fn label_values() {
        for ok in ["", "a", "A-b_c.d", &"x".repeat(63)] {
            assert!(is_valid_label_value(ok).is_empty(), "{ok}");
        }
        assert_eq!(
            is_valid_label_value(&"x".repeat(64)),
            vec!["must be no more than 63 characters"]
        );
        assert_eq!(
            is_valid_label_value("-a"),
            vec![
                "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
            ]
        );
        assert_eq!(is_valid_label_value("a b").len(), 1);
    }

    #[test]
    fn config_keys() {
        for ok in ["a", "key.name", "KEY_NAME", "key-name", ".hidden"] {
            assert!(is_config_map_key(ok).is_empty(), "{ok}");
        }
        assert_eq!(
            is_config_map_key("a b"),
            vec![
                "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
            ]
        );
        assert_eq!(is_config_map_key("."), vec!["must not be '.'"]);
        assert_eq!(is_config_map_key(".."), vec!["must not be '..'"]);
        assert_eq!(is_config_map_key("..a"), vec!["must not start with '..'"]);
        assert_eq!(
            is_config_map_key(""),
            vec![regex_error(
                CONFIG_KEY_ERR,
                CONFIG_KEY_FMT,
                &["key.name", "KEY_NAME", "key-name"]
            )]
        );
    }

    #[test]
    fn path_segments() {
        assert!(is_path_segment_name("system:controller:foo").is_empty());
        assert!(is_path_segment_name("Any Thing").is_empty());
        assert_eq!(is_path_segment_name("."), vec!["may not be '.'"]);
        assert_eq!(is_path_segment_name(".."), vec!["may not be '..'"]);
        assert_eq!(
            is_path_segment_name("a/b%c"),
            vec!["may not contain '/'", "may not contain '%'"]
        );
        assert!(NameRule::PathSegment.check("..", true).is_empty());
    }

    #[test]
    fn ports() {
        assert!(is_valid_port_num(80).is_empty());
        assert_eq!(
            is_valid_port_num(0),
            vec!["must be between 1 and 65535, inclusive"]
        );
        assert_eq!(is_valid_port_num(65536).len(), 1);
        assert!(is_valid_port_name("http").is_empty());
        assert_eq!(
            is_valid_port_name("80"),
            vec!["must contain at least one letter (a-z)"]
        );
        assert_eq!(is_valid_port_name("a--b-").len(), 2);
        assert_eq!(is_valid_port_name("abcdefghijklmnop").len(), 1);
    }

    #[test]
    fn generate_name_prefix_allows_trailing_dash() {
        assert!(NameRule::Dns1123Subdomain.check("web-", true).is_empty());
        assert!(!NameRule::Dns1123Subdomain.check("web-", false).is_empty());
        assert!(!NameRule::Dns1123Subdomain.check("Web-", true).is_empty());
        assert!(!NameRule::Dns1123Label.check("-", true).is_empty());
        let errs = validate_name(
            &json!({"generateName": "Bad-", "name": "Bad-x1z2q"}),
            NameRule::Dns1123Subdomain,
        );
        assert_eq!(errs.len(), 2);
        assert_eq!(errs[0].field, "metadata.generateName");
        assert_eq!(errs[1].field, "metadata.name");
    }

    #[test]
    fn metadata_rules() {
        let errs = validate_object_meta(&json!({}), NameRule::Dns1123Subdomain);
        assert_eq!(
            errs[0].render(),
            "metadata.name: Required value: name or generateName is required"
        );
        let errs = validate_object_meta(
            &json!({"name": "ok", "labels": {"a/b/c": "x", "ok": "-bad"}}),
            NameRule::Dns1123Subdomain,
        );
        assert_eq!(errs.len(), 2);
        assert!(errs.iter().all(|e| e.field == "metadata.labels"));
        let big = "x".repeat(TOTAL_ANNOTATION_SIZE_LIMIT);
        let errs = validate_object_meta(
            &json!({"name": "ok", "annotations": {"Example.COM/Key": "v", "k": big}}),
            NameRule::Dns1123Subdomain,
        );
        assert_eq!(errs.len(), 1);
        assert_eq!(
            errs[0].render(),
            "metadata.annotations: Too long: may not be more than 262144 bytes"
        );
        let errs = validate_object_meta(
            &json!({"name": "ok", "finalizers": ["bad finalizer"], "generation": -1}),
            NameRule::Dns1123Subdomain,
        );
        assert_eq!(
            errs[0].render(),
            "metadata.generation: Invalid value: -1: must be greater than or equal to 0"
        );
        assert_eq!(errs[1].field, "metadata.finalizers");
    }

    #[test]
    fn metadata_update_rules() {
        let old = json!({"name": "a", "namespace": "ns", "uid": "1", "creationTimestamp": "t"});
        assert!(validate_object_meta_update(&old, &old).is_empty());
        assert!(validate_object_meta_update(&json!({"name": "a"}), &old).is_empty());
        let errs =
            validate_object_meta_update(&json!({"name": "b", "namespace": "ns", "uid": "2"}), &old);
        assert_eq!(
            errs.iter().map(FieldError::render).collect::<Vec<_>>(),
            vec![
                "metadata.name: Invalid value: \"b\": field is immutable",
                "metadata.uid: Invalid value: \"2\": field is immutable"
            ]
        );
        let deleting = json!({"name": "a", "deletionTimestamp": "t", "finalizers": ["x"]});
        let errs =
            validate_object_meta_update(&json!({"name": "a", "finalizers": ["x", "y"]}), &deleting);
        assert_eq!(
            errs[0].render(),
            "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{\"y\"}"
        );
    }

    #[test]
    fn go_rendering() {
        assert_eq!(go_string_map(None), "map[string]string(nil)");
        assert_eq!(
            go_string_map(Some(&json!({"b": "2", "a": "1"}))),
            "map[string]string{\"a\":\"1\", \"b\":\"2\"}"
        );
        assert_eq!(
            go_string_slice(&["a".into(), "b".into()]),
            "[]string{\"a\", \"b\"}"
        );
        assert_eq!(
            immutable("spec.x", &json!(3)).render(),
            "spec.x: Invalid value: 3: field is immutable"
        );
        assert_eq!(
            duplicate("spec.containers[1].name", "a").render(),
            "spec.containers[1].name: Duplicate value: \"a\""
        );
    }
}
