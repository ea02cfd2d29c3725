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
    generation: Arc<std::sync::atomic::AtomicU64>,
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
            generation: Arc::new(std::sync::atomic::AtomicU64::new(0)),
        }
    }

    /// A counter bumped by every change of the served set (CRDs coming and going), so that
    /// derived documents (discovery, OpenAPI) can be cached per generation.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Serves exactly `infos` for the custom resource `plural.group` (one per served version),
    /// replacing what was served for it before. Versions are kept in kube-aware priority order
    /// (`v2`, `v1`, `v1beta2`, `v1beta1`, `v1alpha1`, then others alphabetically).
    pub fn set_custom(&self, group: &str, plural: &str, mut infos: Vec<ResourceInfo>) {
        infos.sort_by(|a, b| compare_versions(&a.version, &b.version));
        let mut all = self.resources.write().expect("registry lock");
        let before: Vec<Arc<ResourceInfo>> = all
            .iter()
            .filter(|r| r.crd.is_some() && r.group == group && r.plural == plural)
            .cloned()
            .collect();
        if before.len() == infos.len() && before.iter().zip(&infos).all(|(a, b)| **a == *b) {
            return;
        }
        all.retain(|r| !(r.crd.is_some() && r.group == group && r.plural == plural));
        all.extend(infos.into_iter().map(Arc::new));
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// Stops serving the custom resource `plural.group`.
    pub fn remove_custom(&self, group: &str, plural: &str) {
        self.set_custom(group, plural, Vec::new());
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

/// Orders API versions as Kubernetes does (`k8s.io/apimachinery/pkg/version.CompareKubeAwareVersionStrings`):
/// GA before beta before alpha, higher numbers first, anything not of the `vNbetaM` form last
/// and alphabetically.
pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    fn parse(v: &str) -> Option<(u64, u8, u64)> {
        let rest = v.strip_prefix('v')?;
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let major: u64 = digits.parse().ok()?;
        let tail = &rest[digits.len()..];
        if tail.is_empty() {
            return Some((major, 2, 0));
        }
        let (level, num) = if let Some(n) = tail.strip_prefix("beta") {
            (1, n)
        } else if let Some(n) = tail.strip_prefix("alpha") {
            (0, n)
        } else {
            return None;
        };
        Some((major, level, num.parse().ok()?))
    }
    match (parse(a), parse(b)) {
        (Some((ma, la, na)), Some((mb, lb, nb))) => {
            (lb, mb, nb).cmp(&(la, ma, na)).then_with(|| a.cmp(b))
        }
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.cmp(b),
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

/// Whether a group holds only create-only reviews (`authentication.k8s.io`,
/// `authorization.k8s.io`): answered at once, never stored.
pub fn is_review(group: &str) -> bool {
    group == "authentication.k8s.io" || group == "authorization.k8s.io"
}

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
            // Namespaces are the one built-in resource without deletecollection; the
            // authentication and authorization reviews are create-only.
            verbs: if is_review(b.group) {
                vec!["create".to_string()]
            } else {
                ALL_VERBS
                    .iter()
                    .filter(|v| !(b.plural == "namespaces" && **v == "deletecollection"))
                    .map(|s| s.to_string())
                    .collect()
            },
            subresources: b.subresources.iter().map(|s| s.to_string()).collect(),
            crd: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_like_kubernetes() {
        let mut v = vec![
            "v1alpha1",
            "foo1",
            "v1beta1",
            "v2",
            "v1",
            "v1beta2",
            "v10",
            "v11alpha2",
            "foo10",
        ];
        v.sort_by(|a, b| compare_versions(a, b));
        assert_eq!(
            v,
            vec![
                "v10",
                "v2",
                "v1",
                "v1beta2",
                "v1beta1",
                "v11alpha2",
                "v1alpha1",
                "foo1",
                "foo10"
            ]
        );
    }
}
