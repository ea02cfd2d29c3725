//! The OpenAPI definitions of the built-in kinds, as kube-apiserver publishes them.
//!
//! `openapi_definitions.json` is written by `tools/openapi-gen` (from k8s-openapi's schemas and
//! the tags in k8s-pb's doc comments; never edit it by hand): every definition reachable from the
//! built-in kinds of [`crate::kinds::BUILTIN`], their lists, the meta types and the subresource
//! kinds, in OpenAPI v2 style (`$ref: "#/definitions/NAME"`), with the `x-kubernetes-*`
//! extensions that strategic merge patch, server-side apply and `kubectl explain` read. The
//! tenant API server builds `/openapi/v2` and `/openapi/v3` from it; [`crate::schema::Schema`]
//! navigates it.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde_json::{Map, Value};

static DEFINITIONS: LazyLock<Map<String, Value>> = LazyLock::new(|| {
    let mut doc: Value = serde_json::from_str(include_str!("openapi_definitions.json"))
        .expect("openapi_definitions.json is valid JSON");
    match doc.get_mut("definitions").map(Value::take) {
        Some(Value::Object(definitions)) => definitions,
        _ => Map::new(),
    }
});

/// `(group, version, kind)` → definition name, from `x-kubernetes-group-version-kind`.
static BY_GVK: LazyLock<HashMap<(String, String, String), &'static str>> = LazyLock::new(|| {
    let mut by_gvk = HashMap::new();
    for (name, definition) in builtin_definitions() {
        let Some(gvks) = definition
            .get("x-kubernetes-group-version-kind")
            .and_then(Value::as_array)
        else {
            continue;
        };
        for gvk in gvks {
            let field = |f: &str| gvk.get(f).and_then(Value::as_str).unwrap_or("").to_string();
            by_gvk
                .entry((field("group"), field("version"), field("kind")))
                .or_insert(name.as_str());
        }
    }
    by_gvk
});

/// Every built-in definition by name (`io.k8s.api.apps.v1.Deployment`), OpenAPI v2 style.
pub fn builtin_definitions() -> &'static Map<String, Value> {
    &DEFINITIONS
}

/// The definition name of a built-in kind (`("apps", "v1", "Deployment")` →
/// `io.k8s.api.apps.v1.Deployment`), or `None` for kinds Warren has no schema of.
pub fn definition_for(group: &str, version: &str, kind: &str) -> Option<&'static str> {
    BY_GVK
        .get(&(group.to_string(), version.to_string(), kind.to_string()))
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn property(definition: &str, path: &[&str]) -> &'static Value {
        let mut node = &builtin_definitions()[definition];
        for p in path {
            node = &node["properties"][*p];
        }
        node
    }

    #[test]
    fn kinds_resolve_through_their_group_version_kind() {
        assert_eq!(
            definition_for("apps", "v1", "Deployment"),
            Some("io.k8s.api.apps.v1.Deployment")
        );
        assert_eq!(
            definition_for("apps", "v1", "DeploymentList"),
            Some("io.k8s.api.apps.v1.DeploymentList")
        );
        assert_eq!(
            definition_for("", "v1", "Pod"),
            Some("io.k8s.api.core.v1.Pod")
        );
        assert_eq!(
            definition_for("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
            Some(
                "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition"
            )
        );
        assert_eq!(
            definition_for("autoscaling", "v1", "Scale"),
            Some("io.k8s.api.autoscaling.v1.Scale")
        );
        assert_eq!(definition_for("apps", "v1", "Nope"), None);
        for b in crate::kinds::BUILTIN {
            assert!(
                definition_for(b.group, b.version, b.kind).is_some(),
                "{}/{} {}",
                b.group,
                b.version,
                b.kind
            );
        }
    }

    #[test]
    fn patch_and_list_extensions_are_present() {
        let containers = property("io.k8s.api.core.v1.PodSpec", &["containers"]);
        assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
        assert_eq!(containers["x-kubernetes-patch-strategy"], "merge");
        assert_eq!(containers["x-kubernetes-list-type"], "map");
        assert_eq!(
            containers["items"]["$ref"],
            "#/definitions/io.k8s.api.core.v1.Container"
        );
        let ports = property("io.k8s.api.core.v1.Container", &["ports"]);
        assert_eq!(
            ports["x-kubernetes-list-map-keys"],
            serde_json::json!(["containerPort", "protocol"])
        );
        // Inline-embedded EphemeralContainerCommon's tags land on EphemeralContainer.
        let ephemeral_ports = property("io.k8s.api.core.v1.EphemeralContainer", &["ports"]);
        assert_eq!(
            ephemeral_ports["x-kubernetes-patch-merge-key"],
            "containerPort"
        );
        let strategy = property("io.k8s.api.apps.v1.DeploymentSpec", &["strategy"]);
        assert_eq!(strategy["x-kubernetes-patch-strategy"], "retainKeys");
        assert_eq!(
            strategy["$ref"],
            "#/definitions/io.k8s.api.apps.v1.DeploymentStrategy"
        );
        assert!(strategy["description"].is_string());
        let volumes = property("io.k8s.api.core.v1.PodSpec", &["volumes"]);
        assert_eq!(volumes["x-kubernetes-patch-strategy"], "merge,retainKeys");
        let finalizers = property(
            "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
            &["finalizers"],
        );
        assert_eq!(finalizers["x-kubernetes-patch-strategy"], "merge");
        let node_selector = property("io.k8s.api.core.v1.PodSpec", &["nodeSelector"]);
        assert_eq!(node_selector["x-kubernetes-map-type"], "atomic");
        assert_eq!(
            builtin_definitions()["io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"]["x-kubernetes-map-type"],
            "atomic"
        );
    }

    #[test]
    fn special_types_are_written_as_upstream_swagger() {
        let int_or_string =
            &builtin_definitions()["io.k8s.apimachinery.pkg.util.intstr.IntOrString"];
        assert_eq!(int_or_string["type"], "string");
        assert_eq!(int_or_string["format"], "int-or-string");
        let quantity = &builtin_definitions()["io.k8s.apimachinery.pkg.api.resource.Quantity"];
        assert_eq!(quantity["type"], "string");
        let time = &builtin_definitions()["io.k8s.apimachinery.pkg.apis.meta.v1.Time"];
        assert_eq!(time["format"], "date-time");
        let deployment = &builtin_definitions()["io.k8s.api.apps.v1.Deployment"];
        assert_eq!(
            deployment["x-kubernetes-group-version-kind"],
            serde_json::json!([{"group": "apps", "kind": "Deployment", "version": "v1"}])
        );
        assert!(
            deployment["description"]
                .as_str()
                .is_some_and(|d| !d.is_empty())
        );
    }

    #[test]
    fn every_reference_resolves() {
        fn walk(value: &Value, missing: &mut Vec<String>) {
            match value {
                Value::Object(map) => {
                    if let Some(Value::String(r)) = map.get("$ref") {
                        let name = r.trim_start_matches("#/definitions/");
                        if !builtin_definitions().contains_key(name) {
                            missing.push(r.clone());
                        }
                    }
                    map.values().for_each(|v| walk(v, missing));
                }
                Value::Array(items) => items.iter().for_each(|v| walk(v, missing)),
                _ => {}
            }
        }
        let mut missing = Vec::new();
        for definition in builtin_definitions().values() {
            walk(definition, &mut missing);
        }
        assert!(missing.is_empty(), "{missing:?}");
    }
}
