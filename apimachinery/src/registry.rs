//! The resource registry: which kinds the server serves, where, and how.
//!
//! One [`ResourceInfo`] per served resource (group, version, plural, scope, verbs, short names,
//! categories, subresources). Discovery, routing, storage keys and `kubectl api-resources` all
//! read from here. Built-in kinds come from [`builtin_resources`]; CRDs will add entries at run time.

use std::sync::{Arc, RwLock};

/// One served resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceInfo {
    /// API group (`""` for core).
    pub group: String,
    /// Version (`v1`).
    pub version: String,
    /// Kind (`Deployment`).
    pub kind: String,
    /// Plural resource name (`deployments`).
    pub plural: String,
    /// Singular name (`deployment`).
    pub singular: String,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// Short names (`deploy`).
    pub short_names: Vec<String>,
    /// Categories (`all`).
    pub categories: Vec<String>,
    /// Verbs served on the main resource.
    pub verbs: Vec<String>,
    /// Subresources served (`status`, `binding`, `scale`, `finalize`...).
    pub subresources: Vec<String>,
    /// For a custom resource: the served version's entry of the CRD's `spec.versions`
    /// (`schema.openAPIV3Schema`, `subresources`, `additionalPrinterColumns`...), with the CRD's
    /// `spec.names`, `spec.scope` and `spec.group` copied in under `names`, `scope` and `group`
    /// and the storage version under `storageVersion`. `None` for built-in kinds.
    pub crd: Option<std::sync::Arc<serde_json::Value>>,
}

impl ResourceInfo {
    /// `apps/v1` or `v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `DeploymentList`.
    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    /// Whether the kind has a `status` subresource (and so a spec/status split).
    pub fn has_status(&self) -> bool {
        self.subresources.iter().any(|s| s == "status")
    }

    /// Whether a subresource is served.
    pub fn has_subresource(&self, sub: &str) -> bool {
        self.subresources.iter().any(|s| s == sub)
    }

    /// The storage key prefix of all objects of this resource, ending in `/`:
    /// `/registry/apps/deployments/` (core group: `/registry/core/pods/`).
    pub fn key_prefix(&self) -> String {
        let group = if self.group.is_empty() {
            "core"
        } else {
            &self.group
        };
        format!("/registry/{group}/{}/", self.plural)
    }

    /// The key prefix of the objects in one namespace (or of all, for `None` or a cluster-scoped resource).
    pub fn namespace_prefix(&self, namespace: Option<&str>) -> String {
        match (self.namespaced, namespace) {
            (true, Some(ns)) => format!("{}{ns}/", self.key_prefix()),
            _ => self.key_prefix(),
        }
    }

    /// The storage key of one object.
    pub fn key(&self, namespace: Option<&str>, name: &str) -> String {
        match (self.namespaced, namespace) {
            (true, Some(ns)) => format!("{}{ns}/{name}", self.key_prefix()),
            _ => format!("{}{name}", self.key_prefix()),
        }
    }
}

/// The set of served resources; cheap to clone.
#[derive(Clone, Debug)]
pub struct Registry {
    resources: Arc<RwLock<Vec<Arc<ResourceInfo>>>>,
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl Registry {
    /// A registry with the built-in resources.
    pub fn new() -> Self {
        let resources = builtin_resources().into_iter().map(Arc::new).collect();
        Registry {
            resources: Arc::new(RwLock::new(resources)),
        }
    }

    /// All served resources, in registration order.
    pub fn all(&self) -> Vec<Arc<ResourceInfo>> {
        self.resources.read().expect("registry lock").clone()
    }

    /// The resource served at `group/version/plural`.
    pub fn lookup(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceInfo>> {
        self.resources
            .read()
            .expect("registry lock")
            .iter()
            .find(|r| r.group == group && r.version == version && r.plural == plural)
            .cloned()
    }

    /// The served group/versions, groups in registration order (core first as `""`).
    pub fn group_versions(&self) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for r in self.resources.read().expect("registry lock").iter() {
            match out.iter_mut().find(|(g, _)| *g == r.group) {
                Some((_, versions)) => {
                    if !versions.contains(&r.version) {
                        versions.push(r.version.clone());
                    }
                }
                None => out.push((r.group.clone(), vec![r.version.clone()])),
            }
        }
        out
    }
}

/// The verbs of an ordinary read-write resource.
pub const ALL_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// The built-in resources.
pub fn builtin_resources() -> Vec<ResourceInfo> {
    crate::kinds::BUILTIN
        .iter()
        .map(|b| ResourceInfo {
            group: b.group.to_string(),
            version: b.version.to_string(),
            kind: b.kind.to_string(),
            plural: b.plural.to_string(),
            singular: b.kind.to_lowercase(),
            namespaced: b.namespaced,
            short_names: b.short_names.iter().map(|s| s.to_string()).collect(),
            categories: b.categories.iter().map(|s| s.to_string()).collect(),
            // Namespaces are the one built-in resource without deletecollection.
            verbs: ALL_VERBS
                .iter()
                .filter(|v| !(b.plural == "namespaces" && **v == "deletecollection"))
                .map(|s| s.to_string())
                .collect(),
            subresources: b.subresources.iter().map(|s| s.to_string()).collect(),
            crd: None,
        })
        .collect()
}
