//! Values rendered as kube-apiserver's `field.Error` prints a decoded JSON value: numbers and
//! booleans bare (`%v`), strings quoted (`%q`), `null` for nothing, and anything else with Go's
//! `%#v` (`map[string]interface {}{"a":1}`, `[]interface {}{"a", "b"}`).

use serde_json::Value;

use crate::error::{FieldError, FieldErrorKind};

/// Go's `%v` of a float64 (`strconv.FormatFloat(f, 'g', -1, 64)`, close enough for values a
/// JSON document holds): `10`, `1.5`, `1e+21`.
pub(crate) fn go_float(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e21 {
        format!("{}", f as i128)
    } else if f.abs() >= 1e21 || (f != 0.0 && f.abs() < 1e-4) {
        let s = format!("{f:e}");
        // Rust writes `1e21` / `1.5e-5`; Go writes `1e+21` / `1.5e-05`.
        match s.split_once('e') {
            Some((m, e)) => {
                let (sign, digits) = match e.strip_prefix('-') {
                    Some(d) => ('-', d),
                    None => ('+', e),
                };
                let digits = if digits.len() < 2 {
                    format!("0{digits}")
                } else {
                    digits.to_string()
                };
                format!("{m}e{sign}{digits}")
            }
            None => s,
        }
    } else {
        format!("{f}")
    }
}

/// A JSON number as Go holds it after decoding (int64 when integral, else float64).
pub(crate) fn go_number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        i.to_string()
    } else if let Some(u) = n.as_u64() {
        u.to_string()
    } else {
        go_float(n.as_f64().unwrap_or(0.0))
    }
}

fn go_sharp(v: &Value) -> String {
    match v {
        Value::Null => "interface {}(nil)".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => go_number(n),
        Value::String(s) => format!("{s:?}"),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(go_sharp).collect();
            format!("[]interface {{}}{{{}}}", inner.join(", "))
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let inner: Vec<String> = keys
                .iter()
                .map(|k| format!("{:?}:{}", k, go_sharp(&m[k.as_str()])))
                .collect();
            format!("map[string]interface {{}}{{{}}}", inner.join(", "))
        }
    }
}

/// How `field.Error` prints a bad value: `20`, `true`, `"x"`, `null`, or Go's `%#v`.
pub fn go_value(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::String(s) => format!("{s:?}"),
        other => go_sharp(other),
    }
}

/// `field: Invalid value: <value>: detail` with the value rendered as [`go_value`].
pub fn invalid_value(field: impl Into<String>, value: &Value, detail: &str) -> FieldError {
    with_value(FieldErrorKind::Invalid, field, value, detail)
}

/// A field error of any kind with a JSON bad value rendered as [`go_value`].
pub(crate) fn with_value(
    kind: FieldErrorKind,
    field: impl Into<String>,
    value: &Value,
    detail: &str,
) -> FieldError {
    match value {
        Value::String(s) => FieldError {
            kind,
            field: field.into(),
            value: Some(s.clone()),
            detail: detail.to_string(),
        },
        other => FieldError {
            kind,
            field: field.into(),
            value: None,
            detail: if detail.is_empty() {
                go_value(other)
            } else {
                format!("{}: {detail}", go_value(other))
            },
        },
    }
}
