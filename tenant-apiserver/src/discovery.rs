//! Discovery: `/api`, `/apis`, `/apis/G`, `/api/v1`, `/apis/G/V`, and the aggregated
//! discovery v2 documents (`apidiscovery.k8s.io/v2 APIGroupDiscoveryList`) that kubectl asks for
//! first.

use http::{Response, StatusCode};
use serde_json::{Value, json};
use warren_apimachinery::error::ApiError;
use warren_apimachinery::registry::ResourceInfo;

use crate::codec::media_ranges;
use crate::server::{ApiServer, Body, bytes_response, json_response};

const AGGREGATED_V2: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Whether the Accept header asks for aggregated discovery v2 before anything else it accepts.
fn wants_aggregated(accept: Option<&str>) -> bool {
    let Some(accept) = accept else { return false };
    for r in media_ranges(accept) {
        if r.param("as") == Some("APIGroupDiscoveryList") {
            if r.param("g") == Some("apidiscovery.k8s.io")
                && r.param("v") == Some("v2")
                && r.essence == "application/json"
            {
                return true;
            }
            continue;
        }
        return false;
    }
    false
}

/// The verbs and response kind of a subresource.
fn subresource_shape(info: &ResourceInfo, sub: &str) -> (Value, Vec<&'static str>) {
    let own = json!({"group": info.group, "version": info.version, "kind": info.kind});
    match sub {
        "binding" => (
            json!({"group": "", "version": "v1", "kind": "Binding"}),
            vec!["create"],
        ),
        "scale" => (
            json!({"group": "autoscaling", "version": "v1", "kind": "Scale"}),
            vec!["get", "patch", "update"],
        ),
        "finalize" => (own, vec!["update"]),
        "eviction" => (
            json!({"group": "policy", "version": "v1", "kind": "Eviction"}),
            vec!["create"],
        ),
        "token" => (
            json!({"group": "authentication.k8s.io", "version": "v1", "kind": "TokenRequest"}),
            vec!["create"],
        ),
        _ => (own, vec!["get", "patch", "update"]),
    }
}

fn scope(info: &ResourceInfo) -> &'static str {
    if info.namespaced {
        "Namespaced"
    } else {
        "Cluster"
    }
}

fn aggregated_resource(info: &ResourceInfo) -> Value {
    let mut r = json!({
        "resource": info.plural,
        "responseKind": {"group": "", "version": "", "kind": info.kind},
        "scope": scope(info),
        "singularResource": info.singular,
        "verbs": info.verbs,
    });
    if !info.short_names.is_empty() {
        r["shortNames"] = json!(info.short_names);
    }
    if !info.categories.is_empty() {
        r["categories"] = json!(info.categories);
    }
    if !info.subresources.is_empty() {
        let subs: Vec<Value> = info
            .subresources
            .iter()
            .map(|s| {
                let (kind, verbs) = subresource_shape(info, s);
                json!({"subresource": s, "responseKind": kind, "verbs": verbs})
            })
            .collect();
        r["subresources"] = json!(subs);
    }
    r
}

fn aggregated(api: &ApiServer, core: bool) -> Response<Body> {
    let resources = api.registry.all();
    let mut items = Vec::new();
    for (group, versions) in api.registry.group_versions() {
        if group.is_empty() != core {
            continue;
        }
        let versions: Vec<Value> = versions
            .iter()
            .map(|v| {
                let rs: Vec<Value> = resources
                    .iter()
                    .filter(|r| r.group == group && &r.version == v)
                    .map(|r| aggregated_resource(r))
                    .collect();
                json!({"version": v, "resources": rs, "freshness": "Current"})
            })
            .collect();
        let metadata = if group.is_empty() {
            json!({"creationTimestamp": null})
        } else {
            json!({"name": group, "creationTimestamp": null})
        };
        items.push(json!({"metadata": metadata, "versions": versions}));
    }
    let doc = json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    });
    bytes_response(
        StatusCode::OK,
        AGGREGATED_V2,
        serde_json::to_vec(&doc).unwrap_or_default(),
    )
}

/// `/api`.
pub fn core_group(api: &ApiServer, accept: Option<&str>) -> Response<Body> {
    if wants_aggregated(accept) {
        return aggregated(api, true);
    }
    let host = api.url.trim_start_matches("https://").to_string();
    json_response(
        StatusCode::OK,
        &json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}],
        }),
    )
}

fn group_doc(group: &str, versions: &[String]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    json!({
        "name": group,
        "versions": vs,
        "preferredVersion": vs.first().cloned().unwrap_or(Value::Null),
    })
}

/// `/apis`.
pub fn groups(api: &ApiServer, accept: Option<&str>) -> Response<Body> {
    if wants_aggregated(accept) {
        return aggregated(api, false);
    }
    let groups: Vec<Value> = api
        .registry
        .group_versions()
        .iter()
        .filter(|(g, _)| !g.is_empty())
        .map(|(g, vs)| group_doc(g, vs))
        .collect();
    json_response(
        StatusCode::OK,
        &json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}),
    )
}

/// `/apis/G`.
pub fn group(api: &ApiServer, group: &str) -> Result<Response<Body>, ApiError> {
    let gvs = api.registry.group_versions();
    let (_, versions) = gvs
        .iter()
        .find(|(g, _)| g == group && !g.is_empty())
        .ok_or_else(ApiError::no_route)?;
    let mut doc = group_doc(group, versions);
    doc["kind"] = json!("APIGroup");
    doc["apiVersion"] = json!("v1");
    Ok(json_response(StatusCode::OK, &doc))
}

/// `/api/v1` and `/apis/G/V`.
pub fn group_version(
    api: &ApiServer,
    group: &str,
    version: &str,
) -> Result<Response<Body>, ApiError> {
    let resources: Vec<_> = api
        .registry
        .all()
        .into_iter()
        .filter(|r| r.group == group && r.version == version)
        .collect();
    if resources.is_empty() {
        return Err(ApiError::no_route());
    }
    let mut list = Vec::new();
    for r in &resources {
        let mut entry = json!({
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": r.verbs,
        });
        if !r.short_names.is_empty() {
            entry["shortNames"] = json!(r.short_names);
        }
        if !r.categories.is_empty() {
            entry["categories"] = json!(r.categories);
        }
        list.push(entry);
        for s in &r.subresources {
            let (kind, verbs) = subresource_shape(r, s);
            let mut sub = json!({
                "name": format!("{}/{}", r.plural, s),
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": kind["kind"],
                "verbs": verbs,
            });
            if kind["group"] != json!(r.group) || kind["version"] != json!(r.version) {
                sub["group"] = kind["group"].clone();
                sub["version"] = kind["version"].clone();
            }
            list.push(sub);
        }
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Ok(json_response(
        StatusCode::OK,
        &json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": list}),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregated_accept() {
        assert!(wants_aggregated(Some(
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
        )));
        assert!(!wants_aggregated(Some("application/json")));
        assert!(!wants_aggregated(Some(
            "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
        )));
    }
}
