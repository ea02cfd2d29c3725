//! A custom resource against its structural schema (`schema.openAPIV3Schema`): pruning,
//! defaulting and validation as the apiextensions server does them
//! (`apiserver/schema/pruning`, `apiserver/schema/defaulting`, `apiserver/validation` over
//! kube-openapi's `validate` package, `apiserver/schema/objectmeta`, `apiserver/schema/listtype`).
//!
//! Paths: validation messages use kube-openapi's names (`spec.replicas`, `spec.list[0].name`);
//! pruned paths are reported without a leading dot (`spec.foo`, `spec.list[0].bar`,
//! `metadata.foo`), the form strict field validation prints.

use serde_json::{Map, Value};

use super::format::check_format;
use super::gofmt::{go_float, invalid_value, with_value};
use crate::error::{FieldError, FieldErrorKind};

fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

fn flag(s: &Value, key: &str) -> bool {
    s.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn props(s: &Value) -> Option<&Map<String, Value>> {
    s.get("properties").and_then(Value::as_object)
}

fn additional(s: &Value) -> Option<&Value> {
    s.get("additionalProperties").filter(|a| a.is_object())
}

fn items(s: &Value) -> Option<&Value> {
    s.get("items").filter(|a| a.is_object())
}

/// The fields of `ObjectMeta` (`metadata` keeps only these).
pub(crate) const OBJECT_META_FIELDS: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

// ---------------------------------------------------------------------------------------------
// Pruning.

/// Drops every field `schema` does not specify (except under
/// `x-kubernetes-preserve-unknown-fields: true`, and `apiVersion`/`kind`/`metadata` at the root
/// and in embedded resources, whose `metadata` keeps only `ObjectMeta` fields) and returns the
/// dropped paths in document order (`spec.foo`, `spec.items[0].bar`, `metadata.foo`).
pub fn prune(obj: &mut Value, schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    prune_node(obj, schema, "", true, &mut out);
    out
}

fn coerce_meta(meta: &mut Value, path: &str, out: &mut Vec<String>) {
    if let Some(m) = meta.as_object_mut() {
        let unknown: Vec<String> = m
            .keys()
            .filter(|k| !OBJECT_META_FIELDS.contains(&k.as_str()))
            .cloned()
            .collect();
        for k in unknown {
            m.shift_remove(&k);
            out.push(child(path, &k));
        }
    }
}

fn prune_node(v: &mut Value, s: &Value, path: &str, resource_root: bool, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            let preserve = flag(s, "x-kubernetes-preserve-unknown-fields");
            let root = resource_root || flag(s, "x-kubernetes-embedded-resource");
            let keys: Vec<String> = m.keys().cloned().collect();
            for k in keys {
                let p = child(path, &k);
                if root && (k == "apiVersion" || k == "kind") {
                    continue;
                }
                if root && k == "metadata" {
                    if let Some(meta) = m.get_mut("metadata") {
                        coerce_meta(meta, &p, out);
                    }
                    continue;
                }
                let sub = props(s).and_then(|p| p.get(&k)).or_else(|| additional(s));
                match sub {
                    Some(sub) => {
                        if let Some(val) = m.get_mut(&k) {
                            prune_node(val, sub, &p, false, out);
                        }
                    }
                    None if preserve => {}
                    None => {
                        m.shift_remove(&k);
                        out.push(p);
                    }
                }
            }
        }
        Value::Array(list) => {
            if let Some(item) = items(s) {
                for (i, x) in list.iter_mut().enumerate() {
                    prune_node(x, item, &index(path, i), false, out);
                }
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Defaulting.

/// Applies `default`s as the apiextensions decoder does: first drops `null`s of non-nullable
/// fields without a default, then, for every object present, sets each missing (or
/// non-nullable `null`) property that has a default, recursing into properties, array items
/// and `additionalProperties` values (defaults included).
pub fn apply_defaults(obj: &mut Value, schema: &Value) {
    prune_nulls(obj, schema);
    default_node(obj, schema);
}

fn is_non_nullable_null(v: &Value, s: &Value) -> bool {
    v.is_null() && !flag(s, "nullable")
}

fn prune_nulls(v: &mut Value, s: &Value) {
    match v {
        Value::Object(m) => {
            let keys: Vec<String> = m.keys().cloned().collect();
            for k in keys {
                let Some(sub) = props(s).and_then(|p| p.get(&k)).or_else(|| additional(s)) else {
                    continue;
                };
                if m[&k].is_null() && !flag(sub, "nullable") && sub.get("default").is_none() {
                    m.shift_remove(&k);
                } else if let Some(val) = m.get_mut(&k) {
                    prune_nulls(val, sub);
                }
            }
        }
        Value::Array(list) => {
            if let Some(item) = items(s) {
                for x in list {
                    prune_nulls(x, item);
                }
            }
        }
        _ => {}
    }
}

fn default_node(v: &mut Value, s: &Value) {
    match v {
        Value::Object(m) => {
            if let Some(p) = props(s) {
                for (k, sub) in p {
                    let Some(default) = sub.get("default") else {
                        continue;
                    };
                    let missing = match m.get(k) {
                        None => true,
                        Some(val) => is_non_nullable_null(val, sub),
                    };
                    if missing {
                        m.insert(k.clone(), default.clone());
                    }
                }
            }
            for (k, val) in m.iter_mut() {
                if let Some(sub) = props(s).and_then(|p| p.get(k)) {
                    default_node(val, sub);
                } else if let Some(sub) = additional(s) {
                    if is_non_nullable_null(val, sub)
                        && let Some(d) = sub.get("default")
                    {
                        *val = d.clone();
                    }
                    default_node(val, sub);
                }
            }
        }
        Value::Array(list) => {
            if let Some(item) = items(s) {
                for x in list {
                    if is_non_nullable_null(x, item)
                        && let Some(d) = item.get("default")
                    {
                        *x = d.clone();
                    }
                    default_node(x, item);
                }
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Validation.

/// Validates a custom resource against its structural schema, with kube-apiserver's paths and
/// messages: first the OpenAPI keywords (type, required, enum, pattern, bounds, lengths, item
/// and property counts, uniqueness, formats), then embedded resources (`apiVersion`, `kind`,
/// `metadata`), then `x-kubernetes-list-type` `set`/`map` uniqueness.
pub fn validate_object(obj: &Value, schema: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut embedded = Vec::new();
    let mut lists = Vec::new();
    let mut cx = Cx {
        errs: &mut errs,
        embedded: &mut embedded,
        lists: &mut lists,
    };
    cx.node(obj, schema, "", true);
    errs.extend(embedded);
    errs.extend(lists);
    errs
}

struct Cx<'e> {
    errs: &'e mut Vec<FieldError>,
    embedded: &'e mut Vec<FieldError>,
    lists: &'e mut Vec<FieldError>,
}

/// kube-openapi's name for a value's type.
fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64()
}

fn limit(s: &Value, key: &str) -> Option<f64> {
    s.get(key).and_then(Value::as_f64)
}

fn limit_text(s: &Value, key: &str) -> String {
    match s.get(key) {
        Some(Value::Number(n)) => {
            // kube-openapi holds these as float64.
            go_float(n.as_f64().unwrap_or(0.0))
        }
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

fn count(s: &Value, key: &str) -> Option<u64> {
    s.get(key).and_then(Value::as_u64)
}

fn type_error(path: &str, want: &str, got: &str) -> FieldError {
    FieldError::invalid(
        path,
        got,
        format!("{path} in body must be of type {want}: \"{got}\""),
    )
}

impl Cx<'_> {
    fn node(&mut self, v: &Value, s: &Value, path: &str, root: bool) {
        let ty = s.get("type").and_then(Value::as_str).unwrap_or("");
        let got = json_type(v);
        if v.is_null() {
            if !flag(s, "nullable") && !ty.is_empty() {
                self.errs.push(type_error(path, ty, "null"));
            }
            return;
        }
        if flag(s, "x-kubernetes-int-or-string") {
            if got != "integer" && got != "string" {
                self.errs.push(type_error(path, "integer,string", got));
                return;
            }
        } else if !ty.is_empty() {
            let ok = ty == got
                || (ty == "number" && got == "integer")
                || (ty == "integer"
                    && got == "number"
                    && v.as_f64().is_some_and(|f| f.fract() == 0.0));
            if !ok {
                self.errs.push(type_error(path, ty, got));
                return;
            }
        }
        match v {
            Value::String(text) => self.string(text, v, s, path),
            Value::Number(_) => self.number(v, s, path),
            _ => {}
        }
        if let Value::Array(list) = v {
            self.array(list, v, s, path);
        }
        self.enumeration(v, s, path);
        if let Value::Object(m) = v {
            self.object(m, v, s, path, root);
        }
    }

    fn string(&mut self, text: &str, v: &Value, s: &Value, path: &str) {
        let len = text.chars().count() as u64;
        if let Some(max) = count(s, "maxLength")
            && len > max
        {
            // field.TooLong: the value is omitted.
            let unit = if max == 1 { "byte" } else { "bytes" };
            self.errs.push(FieldError {
                kind: FieldErrorKind::TooLong,
                field: path.to_string(),
                value: None,
                detail: format!("may not be more than {max} {unit}"),
            });
        }
        if let Some(min) = count(s, "minLength")
            && len < min
        {
            self.errs.push(invalid_value(
                path,
                v,
                &format!("{path} in body should be at least {min} chars long"),
            ));
        }
        if let Some(pattern) = s.get("pattern").and_then(Value::as_str)
            && let Ok(re) = regex::Regex::new(pattern)
            && !re.is_match(text)
        {
            self.errs.push(invalid_value(
                path,
                v,
                &format!("{path} in body should match '{pattern}'"),
            ));
        }
        if let Some(format) = s.get("format").and_then(Value::as_str)
            && !check_format(format, text)
        {
            self.errs.push(invalid_value(
                path,
                v,
                &format!("{path} in body must be of type {format}: {text:?}"),
            ));
        }
    }

    fn number(&mut self, v: &Value, s: &Value, path: &str) {
        let Some(x) = num(v) else { return };
        if let Some(m) = limit(s, "multipleOf")
            && m != 0.0
            && ((x / m) - (x / m).round()).abs() > 1e-9
        {
            self.errs.push(invalid_value(
                path,
                v,
                &format!(
                    "{path} in body should be a multiple of {}",
                    limit_text(s, "multipleOf")
                ),
            ));
        }
        if let Some(max) = limit(s, "maximum") {
            let exclusive = flag(s, "exclusiveMaximum");
            if exclusive && x >= max {
                self.errs.push(invalid_value(
                    path,
                    v,
                    &format!(
                        "{path} in body should be less than {}",
                        limit_text(s, "maximum")
                    ),
                ));
            } else if !exclusive && x > max {
                self.errs.push(invalid_value(
                    path,
                    v,
                    &format!(
                        "{path} in body should be less than or equal to {}",
                        limit_text(s, "maximum")
                    ),
                ));
            }
        }
        if let Some(min) = limit(s, "minimum") {
            let exclusive = flag(s, "exclusiveMinimum");
            if exclusive && x <= min {
                self.errs.push(invalid_value(
                    path,
                    v,
                    &format!(
                        "{path} in body should be greater than {}",
                        limit_text(s, "minimum")
                    ),
                ));
            } else if !exclusive && x < min {
                self.errs.push(invalid_value(
                    path,
                    v,
                    &format!(
                        "{path} in body should be greater than or equal to {}",
                        limit_text(s, "minimum")
                    ),
                ));
            }
        }
    }

    fn array(&mut self, list: &[Value], v: &Value, s: &Value, path: &str) {
        let n = list.len() as u64;
        if let Some(max) = count(s, "maxItems")
            && n > max
        {
            let unit = if max == 1 { "item" } else { "items" };
            self.errs.push(FieldError {
                kind: FieldErrorKind::TooMany,
                field: path.to_string(),
                value: None,
                detail: format!("{n}: must have at most {max} {unit}"),
            });
        }
        if let Some(min) = count(s, "minItems")
            && n < min
        {
            self.errs.push(super::gofmt::invalid_value(
                path,
                &Value::from(n),
                &format!("{path} in body should have at least {min} items"),
            ));
        }
        if flag(s, "uniqueItems") && has_duplicates(list) {
            self.errs.push(invalid_value(
                path,
                v,
                &format!("{path} in body shouldn't contain duplicates"),
            ));
        }
        if let Some(item) = items(s) {
            for (i, x) in list.iter().enumerate() {
                self.node(x, item, &index(path, i), false);
            }
        }
        self.list_type(list, s, path);
    }

    fn enumeration(&mut self, v: &Value, s: &Value, path: &str) {
        let Some(allowed) = s.get("enum").and_then(Value::as_array) else {
            return;
        };
        if allowed.iter().any(|a| json_equal(a, v)) {
            return;
        }
        let values: Vec<String> = allowed
            .iter()
            .map(|a| match a {
                Value::String(s) => format!("\"{s}\""),
                other => format!("\"{other}\""),
            })
            .collect();
        self.errs.push(with_value(
            FieldErrorKind::NotSupported,
            path,
            v,
            &format!("supported values: {}", values.join(", ")),
        ));
    }

    fn object(&mut self, m: &Map<String, Value>, v: &Value, s: &Value, path: &str, root: bool) {
        let _ = v;
        let n = m.len() as u64;
        if let Some(max) = count(s, "maxProperties")
            && n > max
        {
            let unit = if max == 1 { "item" } else { "items" };
            self.errs.push(FieldError {
                kind: FieldErrorKind::TooMany,
                field: path.to_string(),
                value: None,
                detail: format!("{n}: must have at most {max} {unit}"),
            });
        }
        if let Some(min) = count(s, "minProperties")
            && n < min
        {
            self.errs.push(invalid_value(
                path,
                &Value::from(n),
                &format!("{path} in body should have at least {min} properties"),
            ));
        }
        if let Some(required) = s.get("required").and_then(Value::as_array) {
            for r in required.iter().filter_map(Value::as_str) {
                if !m.contains_key(r) {
                    self.errs.push(FieldError::required(child(path, r), ""));
                }
            }
        }
        for (k, val) in m {
            // Root metadata is validated as ObjectMeta by the kind's strategy.
            if root && (k == "metadata" || k == "apiVersion" || k == "kind") {
                if let Some(sub) = props(s).and_then(|p| p.get(k))
                    && k != "metadata"
                {
                    self.node(val, sub, &child(path, k), false);
                }
                continue;
            }
            if let Some(sub) = props(s).and_then(|p| p.get(k)) {
                self.node(val, sub, &child(path, k), false);
            } else if let Some(sub) = additional(s) {
                self.node(val, sub, &child(path, k), false);
            }
        }
        if flag(s, "x-kubernetes-embedded-resource") {
            self.embedded_resource(m, path);
        }
    }

    /// `objectmeta.validateEmbeddedResource`.
    fn embedded_resource(&mut self, m: &Map<String, Value>, path: &str) {
        for f in ["apiVersion", "kind"] {
            if !m.contains_key(f) {
                self.embedded
                    .push(FieldError::required(child(path, f), "must not be empty"));
            }
        }
        for (k, v) in m {
            let p = child(path, k);
            match k.as_str() {
                "apiVersion" => {
                    match v.as_str() {
                        None => self.embedded.push(invalid_value(p, v, "must be a string")),
                        Some("") => self.embedded.push(invalid_value(p, v, "must not be empty")),
                        Some(av) if av.matches('/').count() > 1 => self.embedded.push(
                            invalid_value(p, v, &format!("unexpected GroupVersion string: {av}")),
                        ),
                        Some(_) => {}
                    }
                }
                "kind" => match v.as_str() {
                    None => self.embedded.push(invalid_value(p, v, "must be a string")),
                    Some("") => self.embedded.push(invalid_value(p, v, "must not be empty")),
                    Some(_) => {}
                },
                "metadata" => {
                    let mut meta = v.clone();
                    if let Some(mm) = meta.as_object_mut()
                        && mm
                            .get("name")
                            .and_then(Value::as_str)
                            .is_none_or(str::is_empty)
                    {
                        mm.insert("name".into(), Value::from("fakename"));
                    }
                    if !meta.is_object() {
                        self.embedded.push(invalid_value(p, v, "must be an object"));
                        continue;
                    }
                    for mut e in crate::validation::validate_object_meta(
                        &meta,
                        crate::validation::NameRule::PathSegment,
                    ) {
                        if let Some(rest) = e.field.strip_prefix("metadata") {
                            e.field = format!("{p}{rest}");
                        }
                        self.embedded.push(e);
                    }
                }
                _ => {}
            }
        }
    }

    /// `listtype.ValidateListSetsAndMaps`.
    fn list_type(&mut self, list: &[Value], s: &Value, path: &str) {
        match s.get("x-kubernetes-list-type").and_then(Value::as_str) {
            Some("set") => {
                for (i, x) in list.iter().enumerate() {
                    if list[..i].iter().any(|y| json_equal(x, y)) {
                        self.lists.push(with_value(
                            FieldErrorKind::Duplicate,
                            index(path, i),
                            x,
                            "",
                        ));
                    }
                }
            }
            Some("map") => {
                let keys: Vec<&str> = s
                    .get("x-kubernetes-list-map-keys")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let key_schema = items(s);
                let mut seen: Vec<Value> = Vec::new();
                for (i, x) in list.iter().enumerate() {
                    let Some(m) = x.as_object() else { continue };
                    let mut key = Map::new();
                    let mut complete = true;
                    for k in &keys {
                        match m.get(*k).or_else(|| {
                            key_schema
                                .and_then(|is| props(is))
                                .and_then(|p| p.get(*k))
                                .and_then(|ks| ks.get("default"))
                        }) {
                            Some(val) => {
                                key.insert((*k).to_string(), val.clone());
                            }
                            None => {
                                complete = false;
                                self.lists
                                    .push(FieldError::required(child(&index(path, i), k), ""));
                            }
                        }
                    }
                    if !complete {
                        continue;
                    }
                    let key = Value::Object(key);
                    if seen.iter().any(|y| json_equal(y, &key)) {
                        self.lists.push(with_value(
                            FieldErrorKind::Duplicate,
                            index(path, i),
                            &key,
                            "",
                        ));
                    } else {
                        seen.push(key);
                    }
                }
            }
            _ => {}
        }
    }
}

/// JSON equality with numbers compared by value (`1` equals `1.0`, as Go's decoded values do
/// after kube-openapi's normalisation).
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

fn has_duplicates(list: &[Value]) -> bool {
    list.iter()
        .enumerate()
        .any(|(i, x)| list[..i].iter().any(|y| json_equal(x, y)))
}
