//! `apiextensions/validation.ValidateCustomResourceDefinition` (and `...Update`): names,
//! group, scope, versions, schemas (required and structural), printer columns, subresources,
//! conversion, stored versions. Metadata itself (name syntax, labels...) is the generic
//! ObjectMeta validation the kind's strategy runs; here only the rule that the name is
//! `<plural>.<group>`.

use serde_json::Value;

use super::gofmt::invalid_value;
use crate::error::FieldError;
use crate::validation::{FIELD_IMMUTABLE, is_dns1035_label, is_dns1123_subdomain};

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn enum_check(
    errs: &mut Vec<FieldError>,
    path: &str,
    value: &str,
    allowed: &[&str],
    required: bool,
) {
    if value.is_empty() {
        if required {
            errs.push(FieldError::required(path, ""));
        }
    } else if !allowed.contains(&value) {
        errs.push(FieldError::not_supported(path, value, allowed));
    }
}

/// Go's `%#v` of `[]apiextensions.CustomResourceDefinitionVersion`, shortened to the fields
/// that matter for the messages that print it.
fn versions_value(versions: &[Value]) -> String {
    if versions.is_empty() {
        return "[]apiextensions.CustomResourceDefinitionVersion(nil)".into();
    }
    let inner: Vec<String> = versions
        .iter()
        .map(|v| {
            format!(
                "apiextensions.CustomResourceDefinitionVersion{{Name:{:?}, Served:{}, Storage:{}, ...}}",
                s(v, "name"),
                v.get("served").and_then(Value::as_bool).unwrap_or(false),
                v.get("storage").and_then(Value::as_bool).unwrap_or(false)
            )
        })
        .collect();
    format!(
        "[]apiextensions.CustomResourceDefinitionVersion{{{}}}",
        inner.join(", ")
    )
}

/// The validation errors of a CRD on create (`old` = `None`) or update.
pub fn validate_crd(crd: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let empty = Value::Object(Default::default());
    let spec = crd.get("spec").unwrap_or(&empty);
    let names = spec.get("names").unwrap_or(&empty);
    let group = s(spec, "group");
    let plural = s(names, "plural");

    let name = crd
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !name.is_empty() && name != format!("{plural}.{group}") {
        errs.push(FieldError::invalid(
            "metadata.name",
            name,
            "must be spec.names.plural+\".\"+spec.group",
        ));
    }

    // Group.
    if group.is_empty() {
        errs.push(FieldError::required("spec.group", ""));
    } else if let msgs = is_dns1123_subdomain(group)
        && !msgs.is_empty()
    {
        errs.push(FieldError::invalid("spec.group", group, msgs.join(",")));
    } else if group.split('.').count() < 2 {
        errs.push(FieldError::invalid(
            "spec.group",
            group,
            "should be a domain with at least one dot",
        ));
    }

    enum_check(
        &mut errs,
        "spec.scope",
        s(spec, "scope"),
        &["Cluster", "Namespaced"],
        true,
    );

    // Versions.
    let versions: Vec<Value> = spec
        .get("versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut storage = 0;
    let mut seen: Vec<&str> = Vec::new();
    let mut unique = true;
    for (i, v) in versions.iter().enumerate() {
        let path = format!("spec.versions[{i}]");
        let vname = s(v, "name");
        if v.get("storage").and_then(Value::as_bool) == Some(true) {
            storage += 1;
        }
        if seen.contains(&vname) {
            unique = false;
        } else {
            seen.push(vname);
        }
        let msgs = is_dns1035_label(vname);
        if !msgs.is_empty() {
            errs.push(FieldError::invalid(
                format!("{path}.name"),
                vname,
                msgs.join(","),
            ));
        }
        validate_version(&mut errs, v, &path);
    }
    if !unique {
        errs.push(super::validation::invalid_unquoted(
            "spec.versions",
            &versions_value(&versions),
            "must contain unique version names",
        ));
    }
    if storage != 1 {
        errs.push(super::validation::invalid_unquoted(
            "spec.versions",
            &versions_value(&versions),
            "must have exactly one version marked as storage version",
        ));
    }

    // Names.
    validate_names(&mut errs, names);
    for (field, value) in [
        ("plural", plural),
        ("singular", s(names, "singular")),
        ("kind", s(names, "kind")),
        ("listKind", s(names, "listKind")),
    ] {
        if value.is_empty() {
            errs.push(FieldError::required(format!("spec.names.{field}"), ""));
        }
    }

    // Conversion.
    if let Some(conv) = spec.get("conversion") {
        let strategy = s(conv, "strategy");
        enum_check(
            &mut errs,
            "spec.conversion.strategy",
            strategy,
            &["None", "Webhook"],
            true,
        );
        if strategy == "Webhook" && conv.get("webhook").is_none() {
            errs.push(FieldError::required(
                "spec.conversion.webhook",
                "required when strategy is set to Webhook",
            ));
        }
        if strategy == "None" && conv.get("webhook").is_some() {
            errs.push(FieldError::forbidden(
                "spec.conversion.webhook",
                "should not be set when strategy is not set to Webhook",
            ));
        }
    }

    if spec.get("preserveUnknownFields").and_then(Value::as_bool) == Some(true) {
        errs.push(super::validation::invalid_unquoted(
            "spec.preserveUnknownFields",
            "true",
            "must be false in order to use defaults in the schema",
        ));
    }

    // Stored versions.
    if let Some(stored) = crd
        .pointer("/status/storedVersions")
        .and_then(Value::as_array)
    {
        for (i, sv) in stored.iter().enumerate() {
            let sv = sv.as_str().unwrap_or("");
            if !seen.contains(&sv) {
                errs.push(FieldError::invalid(
                    format!("status.storedVersions[{i}]"),
                    sv,
                    "must appear in spec.versions",
                ));
            }
        }
    }

    if let Some(old) = old {
        let old_spec = old.get("spec").unwrap_or(&empty);
        let old_group = s(old_spec, "group");
        if !old_group.is_empty() && old_group != group {
            errs.push(FieldError::invalid("spec.group", group, FIELD_IMMUTABLE));
        }
        let old_scope = s(old_spec, "scope");
        if !old_scope.is_empty() && old_scope != s(spec, "scope") {
            errs.push(FieldError::invalid(
                "spec.scope",
                s(spec, "scope"),
                FIELD_IMMUTABLE,
            ));
        }
    }
    errs
}

fn validate_names(errs: &mut Vec<FieldError>, names: &Value) {
    let p = "spec.names";
    for field in ["plural", "singular"] {
        let v = s(names, field);
        let msgs = is_dns1035_label(v);
        if !v.is_empty() && !msgs.is_empty() {
            errs.push(FieldError::invalid(
                format!("{p}.{field}"),
                v,
                msgs.join(","),
            ));
        }
    }
    for field in ["kind", "listKind"] {
        let v = s(names, field);
        let msgs = is_dns1035_label(&v.to_lowercase());
        if !v.is_empty() && !msgs.is_empty() {
            errs.push(FieldError::invalid(
                format!("{p}.{field}"),
                v,
                format!(
                    "may have mixed case, but should otherwise match: {}",
                    msgs.join(",")
                ),
            ));
        }
    }
    for (field, list) in [("shortNames", "shortNames"), ("categories", "categories")] {
        if let Some(items) = names.get(list).and_then(Value::as_array) {
            for (i, item) in items.iter().enumerate() {
                let v = item.as_str().unwrap_or("");
                let msgs = is_dns1035_label(v);
                if !msgs.is_empty() {
                    errs.push(FieldError::invalid(
                        format!("{p}.{field}[{i}]"),
                        v,
                        msgs.join(","),
                    ));
                }
            }
        }
    }
    let kind = s(names, "kind");
    if !kind.is_empty() && kind == s(names, "listKind") {
        errs.push(FieldError::invalid(
            format!("{p}.listKind"),
            kind,
            "kind and listKind may not be the same",
        ));
    }
}

const COLUMN_TYPES: &[&str] = &["integer", "number", "string", "boolean", "date"];
const COLUMN_FORMATS: &[&str] = &[
    "int32",
    "int64",
    "float",
    "double",
    "byte",
    "date",
    "date-time",
    "password",
];

fn validate_version(errs: &mut Vec<FieldError>, v: &Value, path: &str) {
    match v.pointer("/schema/openAPIV3Schema") {
        None => errs.push(FieldError::required(
            format!("{path}.schema.openAPIV3Schema"),
            "schemas are required",
        )),
        Some(schema) => {
            let sp = format!("{path}.schema.openAPIV3Schema");
            validate_root_schema(errs, schema, &sp);
        }
    }
    if let Some(cols) = v.get("additionalPrinterColumns").and_then(Value::as_array) {
        for (i, c) in cols.iter().enumerate() {
            let cp = format!("{path}.additionalPrinterColumns[{i}]");
            if s(c, "name").is_empty() {
                errs.push(FieldError::required(format!("{cp}.name"), ""));
            }
            enum_check(
                errs,
                &format!("{cp}.type"),
                s(c, "type"),
                COLUMN_TYPES,
                true,
            );
            enum_check(
                errs,
                &format!("{cp}.format"),
                s(c, "format"),
                COLUMN_FORMATS,
                false,
            );
            let jp = s(c, "jsonPath");
            if jp.is_empty() {
                errs.push(FieldError::required(format!("{cp}.jsonPath"), ""));
            } else if !jp.starts_with('.') {
                errs.push(FieldError::invalid(
                    format!("{cp}.jsonPath"),
                    jp,
                    "must be a simple json path starting with .",
                ));
            } else if let Err(e) = super::jsonpath::parse_jsonpath(jp) {
                errs.push(FieldError::invalid(
                    format!("{cp}.jsonPath"),
                    jp,
                    format!("invalid JSONPath: {e}"),
                ));
            }
            if c.get("priority")
                .and_then(Value::as_i64)
                .is_some_and(|p| p < 0)
            {
                errs.push(invalid_value(
                    format!("{cp}.priority"),
                    &c["priority"],
                    "must be greater than or equal to 0",
                ));
            }
        }
    }
    if let Some(scale) = v.pointer("/subresources/scale") {
        let sp = format!("{path}.subresources.scale");
        let spec_path = s(scale, "specReplicasPath");
        if spec_path.is_empty() {
            errs.push(FieldError::required(format!("{sp}.specReplicasPath"), ""));
        } else if !spec_path.starts_with(".spec.") {
            errs.push(FieldError::invalid(
                format!("{sp}.specReplicasPath"),
                spec_path,
                "should be a json path under .spec",
            ));
        }
        let status_path = s(scale, "statusReplicasPath");
        if status_path.is_empty() {
            errs.push(FieldError::required(format!("{sp}.statusReplicasPath"), ""));
        } else if !status_path.starts_with(".status.") {
            errs.push(FieldError::invalid(
                format!("{sp}.statusReplicasPath"),
                status_path,
                "should be a json path under .status",
            ));
        }
        let selector = s(scale, "labelSelectorPath");
        if !selector.is_empty()
            && !selector.starts_with(".spec.")
            && !selector.starts_with(".status.")
        {
            errs.push(FieldError::invalid(
                format!("{sp}.labelSelectorPath"),
                selector,
                "should be a json path under either .spec or .status",
            ));
        }
    }
}

fn validate_root_schema(errs: &mut Vec<FieldError>, schema: &Value, path: &str) {
    match schema.get("type").and_then(Value::as_str) {
        None | Some("") => errs.push(FieldError::required(
            format!("{path}.type"),
            "must not be empty at the root",
        )),
        Some("object") => {}
        Some(other) => errs.push(FieldError::invalid(
            format!("{path}.type"),
            other,
            "must be object at the root",
        )),
    }
    if let Some(meta) = schema.pointer("/properties/metadata") {
        let mp = format!("{path}.properties[metadata]");
        if let Some(t) = meta.get("type").and_then(Value::as_str)
            && t != "object"
        {
            errs.push(FieldError::invalid(
                format!("{mp}.type"),
                t,
                "must be object",
            ));
        }
        let only_names = meta
            .as_object()
            .map(|m| {
                m.keys().all(|k| k == "type" || k == "properties")
                    && meta
                        .get("properties")
                        .and_then(Value::as_object)
                        .is_none_or(|p| p.keys().all(|k| k == "name" || k == "generateName"))
            })
            .unwrap_or(true);
        if !only_names {
            errs.push(FieldError::forbidden(
                mp,
                "must not specify anything other than name and generateName, but metadata is implicitly specified",
            ));
        }
    }
    structural(errs, schema, path, true, false);
}

/// `structuralschema.ValidateStructural` and the v1 schema rules that come with it.
fn structural(errs: &mut Vec<FieldError>, s: &Value, path: &str, root: bool, under_preserve: bool) {
    let Some(m) = s.as_object() else {
        return;
    };
    let ty = m.get("type").and_then(Value::as_str).unwrap_or("");
    let int_or_string = m
        .get("x-kubernetes-int-or-string")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let preserve = m.get("x-kubernetes-preserve-unknown-fields");
    if let Some(p) = preserve
        && p != &Value::Bool(true)
    {
        errs.push(invalid_value(
            format!("{path}.x-kubernetes-preserve-unknown-fields"),
            p,
            "must be true or undefined",
        ));
    }
    let preserves = preserve == Some(&Value::Bool(true));
    if m.contains_key("$ref") {
        errs.push(FieldError::forbidden(
            format!("{path}.$ref"),
            "$ref is not supported",
        ));
    }
    if m.get("uniqueItems").and_then(Value::as_bool) == Some(true) {
        errs.push(FieldError::forbidden(
            format!("{path}.uniqueItems"),
            "uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
        ));
    }
    if m.contains_key("additionalProperties") && m.contains_key("properties") {
        errs.push(FieldError::forbidden(
            format!("{path}.additionalProperties"),
            "additionalProperties and properties are mutual exclusive",
        ));
    }
    if m.get("additionalProperties") == Some(&Value::Bool(false)) {
        errs.push(FieldError::forbidden(
            format!("{path}.additionalProperties"),
            "must not be used",
        ));
    }
    if int_or_string && !ty.is_empty() {
        errs.push(FieldError::invalid(
            format!("{path}.type"),
            ty,
            "must be empty if x-kubernetes-int-or-string is true",
        ));
    }
    if m.get("x-kubernetes-embedded-resource")
        .and_then(Value::as_bool)
        == Some(true)
        && ty != "object"
    {
        errs.push(FieldError::invalid(
            format!("{path}.type"),
            ty,
            "must be object if x-kubernetes-embedded-resource is true",
        ));
    }
    if m.get("x-kubernetes-list-type").and_then(Value::as_str) == Some("map")
        && m.get("x-kubernetes-list-map-keys")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty)
    {
        errs.push(FieldError::required(
            format!("{path}.x-kubernetes-list-map-keys"),
            "must not be empty if x-kubernetes-list-type is map",
        ));
    }
    if let Some(lt) = m.get("x-kubernetes-list-type").and_then(Value::as_str)
        && !["atomic", "set", "map"].contains(&lt)
    {
        errs.push(FieldError::not_supported(
            format!("{path}.x-kubernetes-list-type"),
            lt,
            &["atomic", "set", "map"],
        ));
    }
    let _ = (root, under_preserve);
    if let Some(props) = m.get("properties").and_then(Value::as_object) {
        for (k, sub) in props {
            let sp = format!("{path}.properties[{k}]");
            if type_missing(sub) {
                errs.push(FieldError::required(
                    format!("{sp}.type"),
                    "must not be empty for specified object fields",
                ));
            }
            if root && k == "metadata" {
                continue;
            }
            structural(errs, sub, &sp, false, preserves);
        }
    }
    if let Some(items) = m.get("items") {
        let sp = format!("{path}.items");
        if items.is_object() && type_missing(items) {
            errs.push(FieldError::required(
                format!("{sp}.type"),
                "must not be empty for specified array items",
            ));
        }
        structural(errs, items, &sp, false, preserves);
    } else if ty == "array" {
        errs.push(FieldError::required(
            format!("{path}.items"),
            "must be specified",
        ));
    }
    if let Some(ap) = m.get("additionalProperties").filter(|a| a.is_object()) {
        let sp = format!("{path}.additionalProperties");
        if type_missing(ap) {
            errs.push(FieldError::required(
                format!("{sp}.type"),
                "must not be empty for specified object fields",
            ));
        }
        structural(errs, ap, &sp, false, preserves);
    }
}

/// A node without `type` that is neither int-or-string nor preserving unknown fields.
fn type_missing(s: &Value) -> bool {
    s.get("type")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
        && s.get("x-kubernetes-int-or-string").and_then(Value::as_bool) != Some(true)
        && s.get("x-kubernetes-preserve-unknown-fields")
            .and_then(Value::as_bool)
            != Some(true)
}

pub(crate) fn invalid_unquoted(field: &str, rendered: &str, detail: &str) -> FieldError {
    crate::validation::invalid_unquoted(field, rendered, detail)
}
