//! Server-side printing of custom resources: `additionalPrinterColumns`
//! (`apiextensions-apiserver/pkg/registry/customresource/tableconvertor`). The first column is
//! always `Name`; a version without columns gets the default `Age` column
//! (`.metadata.creationTimestamp`, type `date`).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::gofmt::go_number;
use super::jsonpath::{JsonPath, parse_jsonpath};
use crate::registry::ResourceInfo;

const NAME_DESCRIPTION: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const CREATION_TIMESTAMP_DESCRIPTION: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/// One column of a custom resource's table.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    /// Header (`Name`, `Replicas`...).
    pub name: String,
    /// `integer`, `number`, `string`, `boolean` or `date`.
    pub type_: String,
    /// OpenAPI format (`name` for the Name column).
    pub format: String,
    /// Description.
    pub description: String,
    /// 0 shown by default, above only with `-o wide`.
    pub priority: i64,
    /// The parsed `jsonPath`; `None` for the Name column (or an unparsable path, which prints
    /// nothing).
    pub path: Option<JsonPath>,
}

impl Column {
    /// The `TableColumnDefinition` JSON.
    pub fn definition(&self) -> Value {
        json!({
            "name": self.name,
            "type": self.type_,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        })
    }
}

/// The columns of a custom resource version: `Name`, then its `additionalPrinterColumns` (or
/// the default `Age`).
pub fn printer_columns(info: &ResourceInfo) -> Vec<Column> {
    let mut cols = vec![Column {
        name: "Name".into(),
        type_: "string".into(),
        format: "name".into(),
        description: NAME_DESCRIPTION.into(),
        priority: 0,
        path: None,
    }];
    let declared = info
        .crd
        .as_deref()
        .and_then(|v| v.get("additionalPrinterColumns"))
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty());
    match declared {
        Some(list) => {
            for c in list {
                let s = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                cols.push(Column {
                    name: s("name"),
                    type_: s("type"),
                    format: s("format"),
                    description: s("description"),
                    priority: c.get("priority").and_then(Value::as_i64).unwrap_or(0),
                    path: parse_jsonpath(&s("jsonPath")).ok(),
                });
            }
        }
        None => cols.push(Column {
            name: "Age".into(),
            type_: "date".into(),
            format: String::new(),
            description: CREATION_TIMESTAMP_DESCRIPTION.into(),
            priority: 0,
            path: parse_jsonpath(".metadata.creationTimestamp").ok(),
        }),
    }
    cols
}

/// The `columnDefinitions` of a custom resource's table.
pub fn column_definitions(info: &ResourceInfo) -> Vec<Value> {
    printer_columns(info)
        .iter()
        .map(Column::definition)
        .collect()
}

/// Go's `%v` of a decoded JSON value, as the JSONPath printer writes it.
fn go_print(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => go_number(n),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(go_print).collect();
            format!("[{}]", inner.join(" "))
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let inner: Vec<String> = keys
                .iter()
                .map(|k| format!("{k}:{}", go_print(&m[k.as_str()])))
                .collect();
            format!("map[{}]", inner.join(" "))
        }
    }
}

/// `cellForJSONValue`.
fn cell(ty: &str, v: &Value, now: DateTime<Utc>) -> Value {
    match (ty, v) {
        (_, Value::Null) => Value::Null,
        ("integer", Value::Number(n)) => match n.as_i64() {
            Some(i) => json!(i),
            None => json!(n.as_f64().unwrap_or(0.0) as i64),
        },
        ("number", Value::Number(n)) => json!(n.as_f64().unwrap_or(0.0)),
        ("boolean", Value::Bool(b)) => json!(b),
        ("string", other) => json!(go_print(other)),
        ("date", Value::String(s)) => {
            if s.is_empty() || s == "null" {
                return json!("<unknown>");
            }
            match DateTime::parse_from_rfc3339(s) {
                Ok(t) => json!(crate::table::human_duration(
                    now.signed_duration_since(t.with_timezone(&Utc))
                )),
                Err(_) => json!("<invalid>"),
            }
        }
        _ => Value::Null,
    }
}

/// The cells of one object's row: its name, then one per further column (`null` where the
/// path finds nothing or the value does not fit the column's type; only the first value a
/// path finds is printed, as upstream).
pub fn printer_cells(obj: &Value, cols: &[Column], now: DateTime<Utc>) -> Vec<Value> {
    cols.iter()
        .enumerate()
        .map(|(i, c)| {
            if i == 0 && c.path.is_none() {
                return json!(
                    obj.pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                );
            }
            let Some(path) = &c.path else {
                return Value::Null;
            };
            match path.find(obj).first() {
                Some(v) => cell(&c.type_, v, now),
                None => Value::Null,
            }
        })
        .collect()
}
