//! Parsing a request's path and query into what it asks for.
//!
//! kube-apiserver's URL scheme: `/api/v1[/namespaces/NS]/RESOURCE[/NAME[/SUBRESOURCE]]` and
//! `/apis/GROUP/VERSION[/namespaces/NS]/RESOURCE[/NAME[/SUBRESOURCE]]`, with the legacy
//! `/watch/` prefix after the version.

use std::collections::HashMap;

/// What a resource path names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourcePath {
    /// API group (`""` for core).
    pub group: String,
    /// Version.
    pub version: String,
    /// Namespace from the path, if any.
    pub namespace: Option<String>,
    /// Plural resource.
    pub resource: String,
    /// Object name, if any.
    pub name: Option<String>,
    /// Subresource, if any.
    pub subresource: Option<String>,
    /// Whether the legacy `/watch/` prefix was used.
    pub legacy_watch: bool,
}

/// The kinds of path the server answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// `/version`
    Version,
    /// `/healthz`, `/livez`, `/readyz` (and their per-check subpaths).
    Health,
    /// `/api`
    CoreGroup,
    /// `/apis`
    Groups,
    /// `/apis/GROUP`
    Group(String),
    /// `/api/v1` or `/apis/GROUP/VERSION`
    GroupVersion(String, String),
    /// `/openapi/v2`
    OpenApiV2,
    /// `/openapi/v3` (None) or `/openapi/v3/api/v1`, `/openapi/v3/apis/G/V` (Some("G/V")).
    OpenApiV3(Option<String>),
    /// `/metrics`
    Metrics,
    /// A resource path.
    Resource(ResourcePath),
    /// Nothing served here.
    NotFound,
}

/// Parses a URL path (without query) into a [`Route`].
pub fn parse_path(path: &str) -> Route {
    let trimmed = path.trim_end_matches('/');
    let segs: Vec<&str> = trimmed.split('/').filter(|s| !s.is_empty()).collect();
    match segs.as_slice() {
        ["version"] => Route::Version,
        ["healthz", ..] | ["livez", ..] | ["readyz", ..] => Route::Health,
        ["metrics"] => Route::Metrics,
        ["openapi", "v2"] => Route::OpenApiV2,
        ["openapi", "v3"] => Route::OpenApiV3(None),
        ["openapi", "v3", "api", "v1"] => Route::OpenApiV3(Some("v1".into())),
        ["openapi", "v3", "apis", g, v] => Route::OpenApiV3(Some(format!("{g}/{v}"))),
        ["api"] => Route::CoreGroup,
        ["apis"] => Route::Groups,
        ["apis", g] => Route::Group(g.to_string()),
        ["api", v] => Route::GroupVersion(String::new(), v.to_string()),
        ["apis", g, v] => Route::GroupVersion(g.to_string(), v.to_string()),
        ["api", v, rest @ ..] => resource_route("", v, rest),
        ["apis", g, v, rest @ ..] => resource_route(g, v, rest),
        _ => Route::NotFound,
    }
}

fn resource_route(group: &str, version: &str, rest: &[&str]) -> Route {
    let (legacy_watch, rest) = match rest {
        ["watch", tail @ ..] => (true, tail),
        _ => (false, rest),
    };
    let mk = |namespace: Option<&str>, resource: &str, name: Option<&str>, sub: Option<&str>| {
        Route::Resource(ResourcePath {
            group: group.to_string(),
            version: version.to_string(),
            namespace: namespace.map(str::to_string),
            resource: resource.to_string(),
            name: name.map(str::to_string),
            subresource: sub.map(str::to_string),
            legacy_watch,
        })
    };
    match rest {
        // The namespaces resource itself.
        ["namespaces"] => mk(None, "namespaces", None, None),
        ["namespaces", ns] => mk(None, "namespaces", Some(ns), None),
        ["namespaces", ns, sub @ ("status" | "finalize")] => {
            mk(None, "namespaces", Some(ns), Some(sub))
        }
        // Resources inside a namespace.
        ["namespaces", ns, res] => mk(Some(ns), res, None, None),
        ["namespaces", ns, res, name] => mk(Some(ns), res, Some(name), None),
        ["namespaces", ns, res, name, sub] => mk(Some(ns), res, Some(name), Some(sub)),
        // Cluster-scoped resources, or namespaced ones across all namespaces.
        [res] => mk(None, res, None, None),
        [res, name] => mk(None, res, Some(name), None),
        [res, name, sub] => mk(None, res, Some(name), Some(sub)),
        _ => Route::NotFound,
    }
}

/// Parses a query string into a map (last value wins), percent-decoding keys and values.
pub fn parse_query(query: Option<&str>) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let Some(q) = query else { return out };
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        out.insert(percent_decode(k), percent_decode(v));
    }
    out
}

/// Decodes `%XX` escapes and `+` (as a space, as Go's url.ParseQuery does).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(parse_path("/version/"), Route::Version);
        assert_eq!(parse_path("/api"), Route::CoreGroup);
        assert_eq!(parse_path("/apis/apps"), Route::Group("apps".into()));
        assert_eq!(
            parse_path("/apis/apps/v1"),
            Route::GroupVersion("apps".into(), "v1".into())
        );
        let Route::Resource(r) = parse_path("/api/v1/namespaces/default/pods/web/status") else {
            panic!()
        };
        assert_eq!(
            (r.namespace.as_deref(), r.resource.as_str()),
            (Some("default"), "pods")
        );
        assert_eq!(
            (r.name.as_deref(), r.subresource.as_deref()),
            (Some("web"), Some("status"))
        );
        let Route::Resource(r) = parse_path("/api/v1/namespaces/kube-system") else {
            panic!()
        };
        assert_eq!(
            (r.namespace, r.resource.as_str(), r.name.as_deref()),
            (None, "namespaces", Some("kube-system"))
        );
        let Route::Resource(r) = parse_path("/api/v1/namespaces/x/finalize") else {
            panic!()
        };
        assert_eq!(r.subresource.as_deref(), Some("finalize"));
        let Route::Resource(r) = parse_path("/apis/apps/v1/watch/namespaces/a/deployments") else {
            panic!()
        };
        assert!(r.legacy_watch);
        assert_eq!(r.resource, "deployments");
        assert_eq!(parse_path("/nope"), Route::NotFound);
    }

    #[test]
    fn query() {
        let q = parse_query(Some("labelSelector=app%3Dweb%2Ctier+in+%28a%29&watch=1&x"));
        assert_eq!(q["labelSelector"], "app=web,tier in (a)");
        assert_eq!(q["watch"], "1");
        assert_eq!(q["x"], "");
        assert_eq!(percent_decode("100%"), "100%");
    }
}
