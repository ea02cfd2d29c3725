//! List and watch filtering (label and field selectors) and Table rendering, over the
//! apimachinery crate's selectors and printers.

use std::collections::HashMap;

use serde_json::Value;
use warren_apimachinery::error::ApiError;
use warren_apimachinery::kinds;
use warren_apimachinery::registry::ResourceInfo;
use warren_apimachinery::selectors::{FieldSelector, LabelSelector};
use warren_apimachinery::table::{self, IncludeObject};

use crate::object;

/// The label and field selectors of a list or watch.
pub struct ListFilter {
    info: ResourceInfo,
    labels: Option<LabelSelector>,
    fields: Option<FieldSelector>,
}

impl ListFilter {
    /// Reads `labelSelector` and `fieldSelector`; unsupported fields are a 400 like kube's.
    pub fn from_query(
        info: &ResourceInfo,
        query: &HashMap<String, String>,
    ) -> Result<ListFilter, ApiError> {
        let labels = match query.get("labelSelector").filter(|s| !s.trim().is_empty()) {
            Some(s) => Some(LabelSelector::parse(s)?),
            None => None,
        };
        let fields = match query.get("fieldSelector").filter(|s| !s.trim().is_empty()) {
            Some(s) => {
                let sel = FieldSelector::parse(s)?;
                let probe = serde_json::json!({"metadata": {}});
                for f in sel.fields() {
                    if kinds::field_value(info, &probe, f).is_none() {
                        return Err(ApiError::bad_request(format!(
                            "field label not supported: {f}"
                        )));
                    }
                }
                Some(sel)
            }
            None => None,
        };
        Ok(ListFilter {
            info: info.clone(),
            labels,
            fields,
        })
    }

    /// Whether the filter selects everything.
    pub fn is_empty(&self) -> bool {
        self.labels.is_none() && self.fields.is_none()
    }

    /// Whether `obj` passes both selectors.
    pub fn matches(&self, obj: &Value) -> Result<bool, ApiError> {
        if let Some(l) = &self.labels
            && !l.matches(&object::labels(obj))
        {
            return Ok(false);
        }
        if let Some(f) = &self.fields {
            let info = &self.info;
            return f.matches(|field| kinds::field_value(info, obj, field));
        }
        Ok(true)
    }
}

/// Renders objects as a `meta.k8s.io/v1 Table`, honouring `includeObject`.
pub fn to_table(
    info: &ResourceInfo,
    objects: &[Value],
    query: &HashMap<String, String>,
    list_meta: Value,
) -> Value {
    let include = match query.get("includeObject").map(String::as_str) {
        Some("None") => IncludeObject::None,
        Some("Object") => IncludeObject::Object,
        _ => IncludeObject::Metadata,
    };
    table::table(info, objects, include, chrono::Utc::now(), list_meta)
}
