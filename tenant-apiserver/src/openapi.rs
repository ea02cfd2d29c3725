//! OpenAPI v3: the root index and one document per group-version.
//!
//! Today the documents describe each resource's paths and operations (with the query
//! parameters kubectl checks for, such as `fieldValidation`) and give every kind an open object
//! schema tagged with `x-kubernetes-group-version-kind`. Full schemas are future work.

use http::{Response, StatusCode};
use serde_json::{Map, Value, json};
use warren_apimachinery::error::ApiError;
use warren_apimachinery::registry::ResourceInfo;

use crate::server::{ApiServer, Body, json_response};

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

fn schema_name(info: &ResourceInfo) -> String {
    let g = if info.group.is_empty() {
        "core".to_string()
    } else {
        info.group.replace(".k8s.io", "")
    };
    format!("io.k8s.api.{g}.{}.{}", info.version, info.kind)
}

fn query_params(names: &[&str]) -> Value {
    Value::Array(
        names.iter().map(|n| json!({"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": true}})).collect(),
    )
}

fn operation(info: &ResourceInfo, action: &str, params: &[&str]) -> Value {
    json!({
        "operationId": format!("{action}{}", info.kind),
        "parameters": query_params(params),
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{}", schema_name(info))}}}}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": info.group, "version": info.version, "kind": info.kind},
    })
}

fn document(api: &ApiServer, group: &str, version: &str) -> Option<Value> {
    let resources: Vec<_> = api
        .registry
        .all()
        .into_iter()
        .filter(|r| r.group == group && r.version == version)
        .collect();
    if resources.is_empty() {
        return None;
    }
    let base = format!("/{}", gv_path(group, version));
    let mut paths = Map::new();
    let mut schemas = Map::new();
    let write_params = ["dryRun", "fieldManager", "fieldValidation", "pretty"];
    for r in &resources {
        let collection = if r.namespaced {
            format!("{base}/namespaces/{{namespace}}/{}", r.plural)
        } else {
            format!("{base}/{}", r.plural)
        };
        paths.insert(
            collection.clone(),
            json!({
                "get": operation(r, "list", &["labelSelector", "fieldSelector", "limit", "continue", "resourceVersion", "resourceVersionMatch", "watch", "allowWatchBookmarks", "sendInitialEvents", "timeoutSeconds"]),
                "post": operation(r, "post", &write_params),
                "delete": operation(r, "deletecollection", &["labelSelector", "fieldSelector", "dryRun", "gracePeriodSeconds", "propagationPolicy"]),
            }),
        );
        paths.insert(
            format!("{collection}/{{name}}"),
            json!({
                "get": operation(r, "get", &["resourceVersion"]),
                "put": operation(r, "put", &write_params),
                "patch": operation(r, "patch", &["dryRun", "fieldManager", "fieldValidation", "force", "pretty"]),
                "delete": operation(r, "delete", &["dryRun", "gracePeriodSeconds", "propagationPolicy"]),
            }),
        );
        schemas.insert(
            schema_name(r),
            json!({
                "type": "object",
                "properties": {
                    "apiVersion": {"type": "string"},
                    "kind": {"type": "string"},
                    "metadata": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                },
                "x-kubernetes-preserve-unknown-fields": true,
                "x-kubernetes-group-version-kind": [{"group": r.group, "version": r.version, "kind": r.kind}],
            }),
        );
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.37.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}

/// `/openapi/v3` (the index) and `/openapi/v3/api/v1`, `/openapi/v3/apis/G/V`.
pub fn v3(api: &ApiServer, gv: Option<&str>) -> Result<Response<Body>, ApiError> {
    match gv {
        None => {
            let mut paths = Map::new();
            for (group, versions) in api.registry.group_versions() {
                for v in versions {
                    let p = gv_path(&group, &v);
                    let hash = document(api, &group, &v)
                        .map(|d| short_hash(&d))
                        .unwrap_or_default();
                    paths.insert(
                        p.clone(),
                        json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={hash}")}),
                    );
                }
            }
            Ok(json_response(StatusCode::OK, &json!({"paths": paths})))
        }
        Some(gv) => {
            let (group, version) = match gv.split_once('/') {
                Some((g, v)) => (g.to_string(), v.to_string()),
                None => (String::new(), gv.to_string()),
            };
            let doc = document(api, &group, &version).ok_or_else(ApiError::no_route)?;
            Ok(json_response(StatusCode::OK, &doc))
        }
    }
}

fn short_hash(doc: &Value) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(serde_json::to_vec(doc).unwrap_or_default());
    digest.iter().take(16).map(|b| format!("{b:02X}")).collect()
}
