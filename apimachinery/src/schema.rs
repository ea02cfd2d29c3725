//! A navigator over OpenAPI schemas, shared by strategic merge patch, server-side apply,
//! field validation and the CRD machinery.
//!
//! Two shapes of schema are walked the same way:
//! - the built-in definitions (OpenAPI v2 style: a map from a definition name such as
//!   `io.k8s.api.core.v1.PodSpec` to a schema whose properties point at other definitions with
//!   `{"$ref": "#/definitions/NAME"}`, or `{"allOf": [{"$ref": ...}]}` in the v3 style);
//! - a CRD's structural schema (`openAPIV3Schema`), where everything is inline.
//!
//! The Kubernetes extensions the merge algorithms read are exposed as methods:
//! `x-kubernetes-patch-strategy`, `x-kubernetes-patch-merge-key`, `x-kubernetes-list-type`,
//! `x-kubernetes-list-map-keys`, `x-kubernetes-map-type`, `x-kubernetes-preserve-unknown-fields`,
//! `x-kubernetes-int-or-string`, `x-kubernetes-embedded-resource`.

use serde_json::{Map, Value};

/// A position in a schema: the node plus the definitions `$ref`s resolve against.
#[derive(Clone, Copy, Debug)]
pub struct Schema<'a> {
    defs: Option<&'a Map<String, Value>>,
    node: &'a Value,
    /// The unresolved node this one was reached through (a property holding `$ref` plus
    /// extensions such as `x-kubernetes-patch-strategy: retainKeys`): its keys win.
    via: Option<&'a Value>,
}

/// How a list merges (`x-kubernetes-list-type`, or the patch strategy when that is absent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListType {
    /// Replaced as a whole.
    Atomic,
    /// A set of scalars.
    Set,
    /// A list of objects keyed by these fields.
    Map(Vec<String>),
}

impl<'a> Schema<'a> {
    /// A schema node resolved against `defs` (pass `None` for an inline CRD schema).
    pub fn new(defs: Option<&'a Map<String, Value>>, node: &'a Value) -> Self {
        Schema {
            defs,
            node,
            via: None,
        }
        .resolve()
    }

    /// The definition `name` (`io.k8s.api.core.v1.Pod`) of `defs`.
    pub fn definition(defs: &'a Map<String, Value>, name: &str) -> Option<Self> {
        defs.get(name).map(|node| Schema::new(Some(defs), node))
    }

    /// The raw JSON of this node (after `$ref` resolution).
    pub fn node(&self) -> &'a Value {
        self.node
    }

    /// The definitions map, when walking built-in definitions.
    pub fn defs(&self) -> Option<&'a Map<String, Value>> {
        self.defs
    }

    /// Follows `$ref` and single-element `allOf` until a concrete node.
    fn resolve(self) -> Self {
        let mut cur = self;
        for _ in 0..16 {
            let Some(obj) = cur.node.as_object() else {
                return cur;
            };
            let target = if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
                Some(r)
            } else if let Some([one]) = obj
                .get("allOf")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
            {
                one.get("$ref").and_then(Value::as_str)
            } else {
                None
            };
            let Some(target) = target else { return cur };
            let name = target.rsplit('/').next().unwrap_or(target);
            match cur.defs.and_then(|d| d.get(name)) {
                Some(node) => cur.node = node,
                None => return cur,
            }
        }
        cur
    }

    fn child(&self, node: &'a Value) -> Schema<'a> {
        let via = node
            .as_object()
            .is_some_and(|o| o.contains_key("$ref") || o.contains_key("allOf"))
            .then_some(node);
        Schema {
            defs: self.defs,
            node,
            via,
        }
        .resolve()
    }

    /// A key of this node; keys beside the `$ref`/`allOf` this node was reached through win
    /// (both OpenAPI styles put a property's `description` and extensions there).
    fn get(&self, key: &str) -> Option<&'a Value> {
        if let Some(v) = self.via.and_then(|via| via.get(key))
            && key != "$ref"
            && key != "allOf"
        {
            return Some(v);
        }
        self.node.get(key)
    }

    /// `type`, if any (`object`, `array`, `string`, `integer`, `number`, `boolean`).
    pub fn type_name(&self) -> Option<&'a str> {
        self.get("type").and_then(Value::as_str)
    }

    /// The schema of property `name`, if declared.
    pub fn property(&self, name: &str) -> Option<Schema<'a>> {
        let node = self.get("properties")?.get(name)?;
        Some(self.property_schema(node))
    }

    /// The raw (unresolved) node of property `name`: the extensions of a property sit here, beside
    /// its `$ref`/`allOf`, and [`Schema::property`] already merges them in.
    pub fn property_node(&self, name: &str) -> Option<&'a Value> {
        self.get("properties")?.get(name)
    }

    fn property_schema(&self, node: &'a Value) -> Schema<'a> {
        self.child(node)
    }

    /// Names of the declared properties.
    pub fn property_names(&self) -> Vec<&'a str> {
        self.get("properties")
            .and_then(Value::as_object)
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// Whether the node declares properties at all.
    pub fn has_properties(&self) -> bool {
        self.get("properties")
            .and_then(Value::as_object)
            .is_some_and(|m| !m.is_empty())
    }

    /// The schema of the items of an array.
    pub fn items(&self) -> Option<Schema<'a>> {
        self.get("items").map(|n| self.child(n))
    }

    /// The schema of the values of a map (`additionalProperties` as a schema).
    pub fn additional_properties(&self) -> Option<Schema<'a>> {
        match self.get("additionalProperties") {
            Some(Value::Object(_)) => self.get("additionalProperties").map(|n| self.child(n)),
            _ => None,
        }
    }

    /// An extension's value (`x-kubernetes-...`).
    pub fn extension(&self, name: &str) -> Option<&'a Value> {
        self.get(name)
    }

    /// `x-kubernetes-patch-strategy` split on commas (`merge`, `retainKeys`, `replace`).
    pub fn patch_strategies(&self) -> Vec<&'a str> {
        self.get("x-kubernetes-patch-strategy")
            .and_then(Value::as_str)
            .map(|s| s.split(',').map(str::trim).collect())
            .unwrap_or_default()
    }

    /// `x-kubernetes-patch-merge-key`.
    pub fn patch_merge_key(&self) -> Option<&'a str> {
        self.get("x-kubernetes-patch-merge-key")
            .and_then(Value::as_str)
    }

    /// The list semantics for server-side apply: `x-kubernetes-list-type` (with
    /// `x-kubernetes-list-map-keys`), else an associative list when the patch strategy is
    /// `merge` with a merge key (as kube-openapi's schema conversion does), else atomic.
    pub fn list_type(&self) -> ListType {
        match self.get("x-kubernetes-list-type").and_then(Value::as_str) {
            Some("set") => ListType::Set,
            Some("map") => ListType::Map(
                self.get("x-kubernetes-list-map-keys")
                    .and_then(Value::as_array)
                    .map(|keys| {
                        keys.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
            Some(_) => ListType::Atomic,
            None => match (
                self.patch_strategies().contains(&"merge"),
                self.patch_merge_key(),
            ) {
                (true, Some(key)) => ListType::Map(vec![key.to_string()]),
                _ => ListType::Atomic,
            },
        }
    }

    /// `x-kubernetes-map-type: atomic` (a struct or map replaced as a whole).
    pub fn is_atomic_map(&self) -> bool {
        self.get("x-kubernetes-map-type").and_then(Value::as_str) == Some("atomic")
    }

    /// `x-kubernetes-preserve-unknown-fields: true`.
    pub fn preserves_unknown_fields(&self) -> bool {
        self.get("x-kubernetes-preserve-unknown-fields")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// `x-kubernetes-int-or-string: true` (or the built-in IntOrString format).
    pub fn is_int_or_string(&self) -> bool {
        self.get("x-kubernetes-int-or-string")
            .and_then(Value::as_bool)
            .unwrap_or(false)
            || self.get("format").and_then(Value::as_str) == Some("int-or-string")
    }

    /// `x-kubernetes-embedded-resource: true`.
    pub fn is_embedded_resource(&self) -> bool {
        self.get("x-kubernetes-embedded-resource")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn follows_refs_and_reads_extensions() {
        let defs = json!({
            "io.k8s.api.core.v1.PodSpec": {"type": "object", "properties": {
                "containers": {"type": "array", "items": {"$ref": "#/definitions/io.k8s.api.core.v1.Container"},
                    "x-kubernetes-patch-merge-key": "name", "x-kubernetes-patch-strategy": "merge"},
                "tolerations": {"type": "array", "items": {"type": "object"}, "x-kubernetes-list-type": "atomic"},
            }},
            "io.k8s.api.core.v1.Container": {"type": "object", "properties": {"name": {"type": "string"}}},
        });
        let defs = defs.as_object().unwrap();
        let spec = Schema::definition(defs, "io.k8s.api.core.v1.PodSpec").unwrap();
        let containers = spec.property("containers").unwrap();
        assert_eq!(containers.list_type(), ListType::Map(vec!["name".into()]));
        assert_eq!(containers.patch_strategies(), vec!["merge"]);
        let item = containers.items().unwrap();
        assert_eq!(item.property("name").unwrap().type_name(), Some("string"));
        assert_eq!(
            spec.property("tolerations").unwrap().list_type(),
            ListType::Atomic
        );
        assert!(spec.property("nope").is_none());
        let defs2 = json!({
            "D": {"type": "object", "properties": {"strategy": {"allOf": [{"$ref": "#/components/schemas/S"}], "x-kubernetes-patch-strategy": "retainKeys"}}},
            "S": {"type": "object", "properties": {"type": {"type": "string"}}},
        });
        let d = Schema::definition(defs2.as_object().unwrap(), "D").unwrap();
        let strategy = d.property("strategy").unwrap();
        assert_eq!(strategy.patch_strategies(), vec!["retainKeys"]);
        assert!(strategy.property("type").is_some());
    }
}
