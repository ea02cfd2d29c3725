//! OpenAPI: `/openapi/v2` (one swagger 2.0 document) and `/openapi/v3` (an index and one
//! document per group-version), as kube-apiserver publishes them.
//!
//! Schemas come from two places: built-in kinds from
//! [`warren_apimachinery::openapi::builtin_definitions`] (generated from k8s-openapi and
//! k8s-pb by `tools/openapi-gen`), custom resources from the `openAPIV3Schema` of their CRD
//! version ([`ResourceInfo::crd`]), named and completed (`apiVersion`, `kind`, `metadata`,
//! `x-kubernetes-group-version-kind`, a `List` kind) as kube-apiserver's CRD builder does. Each
//! v3 document holds the paths of its group-version's resources (with the query parameters
//! kubectl looks for, such as `fieldValidation` on PATCH) and, in `components.schemas`, every
//! schema reachable from its kinds plus the meta types; `$ref`s point to
//! `#/components/schemas/NAME` and a `$ref` with siblings is wrapped in `allOf`, as upstream.
//!
//! The documents depend only on the served resources, so they are built once per distinct
//! resource list and cached (the registry changes when CRDs come and go). The v3 index gives
//! each document's URL with `?hash=` (the upper-case hex SHA-512 of the document, also its
//! ETag); a request with the current hash is answered `Cache-Control: public, immutable`, one
//! with a stale hash is redirected to the current URL.
//!
//! `/openapi/v2` is served as JSON or, as kube-apiserver does, as gnostic protobuf
//! ([`warren_apimachinery::openapi_v2_proto`]) to a client that asks for
//! `application/com.github.proto-openapi.spec.v2@v1.0+protobuf` (or the newer
//! `...spec.v2.v1.0+protobuf`): client-go's `OpenAPISchema()` does, and kubectl needs it for
//! client-side validation (`kubectl apply -f` of a `kind: List`, for one). The Accept header is
//! negotiated as upstream's handler does; the protobuf form is encoded once per document, on
//! first request, and has its own ETag (the hash of its bytes). Both answer `Vary: Accept`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, LazyLock, Mutex, OnceLock};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha512};
use warren_apimachinery::error::ApiError;
use warren_apimachinery::openapi::{builtin_definitions, definition_for};
use warren_apimachinery::openapi_v2_proto;
use warren_apimachinery::registry::ResourceInfo;

use crate::server::{ApiServer, Body};

const META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1";
const INT_OR_STRING: &str = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
const QUANTITY: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";

/// The media type kube-apiserver answers with for `/openapi/v2` in protobuf.
const V2_PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";
/// The older name of the same, which client-go asks for.
const V2_PROTOBUF_DEPRECATED: &str = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";

/// `/openapi/v2`: the swagger 2.0 document, as JSON or gnostic protobuf.
pub fn v2(api: &ApiServer, headers: &HeaderMap) -> Result<Response<Body>, ApiError> {
    let docs = documents(&api.registry.all());
    let format = negotiate_v2(headers)?;
    let (doc, content_type) = match format {
        V2Format::Json => (&docs.v2, "application/json"),
        V2Format::Protobuf => (docs.v2_protobuf(), V2_PROTOBUF),
    };
    let etag = format!("\"{}\"", doc.hash);
    let mut resp = if if_none_match(headers, &etag) {
        not_modified(&etag)
    } else {
        document_response(doc.body.clone(), &etag, "no-cache, private")
    };
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    Ok(resp)
}

/// `/openapi/v3` (the index, `gv` None) and `/openapi/v3/api/v1`, `/openapi/v3/apis/G/V`.
pub fn v3(
    api: &ApiServer,
    gv: Option<&str>,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<Response<Body>, ApiError> {
    let docs = documents(&api.registry.all());
    check_json_acceptable(headers)?;
    let Some(gv) = gv else {
        let mut paths = Map::new();
        for (path, doc) in &docs.v3 {
            paths.insert(
                path.clone(),
                json!({"serverRelativeURL": format!("/openapi/v3/{path}?hash={}", doc.hash)}),
            );
        }
        let body = Bytes::from(serde_json::to_vec(&json!({"paths": paths})).unwrap_or_default());
        let mut resp = bytes_body(StatusCode::OK, body);
        resp.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache, private"),
        );
        return Ok(resp);
    };
    let path = match gv.split_once('/') {
        Some((group, version)) => gv_path(group, version),
        None => gv_path("", gv),
    };
    let doc = docs.v3.get(&path).ok_or_else(ApiError::no_route)?;
    let etag = format!("\"{}\"", doc.hash);
    match query.get("hash") {
        Some(hash) if *hash != doc.hash => {
            let mut resp = bytes_body(StatusCode::MOVED_PERMANENTLY, Bytes::new());
            if let Ok(location) =
                HeaderValue::from_str(&format!("/openapi/v3/{path}?hash={}", doc.hash))
            {
                resp.headers_mut().insert(header::LOCATION, location);
            }
            Ok(resp)
        }
        Some(_) => {
            if if_none_match(headers, &etag) {
                return Ok(not_modified(&etag));
            }
            let mut resp = document_response(doc.body.clone(), &etag, "public, immutable");
            let expires = chrono::Utc::now() + chrono::Duration::days(365);
            if let Ok(v) =
                HeaderValue::from_str(&expires.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
            {
                resp.headers_mut().insert(header::EXPIRES, v);
            }
            Ok(resp)
        }
        None => {
            if if_none_match(headers, &etag) {
                return Ok(not_modified(&etag));
            }
            Ok(document_response(
                doc.body.clone(),
                &etag,
                "no-cache, private",
            ))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers.

/// The representations of `/openapi/v2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum V2Format {
    Json,
    Protobuf,
}

/// The representation of `/openapi/v2` an Accept header asks for, as kube-openapi's handler
/// picks it: clauses sorted by quality (a specific type before a wildcard at equal quality,
/// else in the order given), and the first that JSON or protobuf matches wins (JSON for
/// wildcards; no Accept means JSON). 406 when none matches.
fn negotiate_v2(headers: &HeaderMap) -> Result<V2Format, ApiError> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(V2Format::Json);
    };
    if accept.trim().is_empty() {
        return Ok(V2Format::Json);
    }
    let mut clauses: Vec<(f32, &str, &str)> = accept
        .split(',')
        .filter_map(|clause| {
            let mut parts = clause.split(';');
            let (kind, subtype) = parts.next()?.trim().split_once('/')?;
            let quality = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            Some((quality, kind.trim(), subtype.trim()))
        })
        .filter(|(quality, _, _)| *quality > 0.0)
        .collect();
    // A stable sort keeps the client's order among equals.
    clauses.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then((a.1 == "*").cmp(&(b.1 == "*")))
            .then((a.2 == "*").cmp(&(b.2 == "*")))
    });
    let offered = [
        ("application/json", V2Format::Json),
        (V2_PROTOBUF_DEPRECATED, V2Format::Protobuf),
        (V2_PROTOBUF, V2Format::Protobuf),
    ];
    for (_, kind, subtype) in clauses {
        for (media, format) in offered {
            let (offered_kind, offered_subtype) = media.split_once('/').unwrap_or((media, ""));
            if (kind == "*" || kind.eq_ignore_ascii_case(offered_kind))
                && (subtype == "*" || subtype.eq_ignore_ascii_case(offered_subtype))
            {
                return Ok(format);
            }
        }
    }
    Err(ApiError::not_acceptable(accept))
}

/// JSON is acceptable unless the client names only other media types.
fn check_json_acceptable(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let acceptable = accept.split(',').any(|part| {
        let media = part.split(';').next().unwrap_or("").trim();
        media.is_empty()
            || media == "*/*"
            || media == "application/*"
            || media == "application/json"
    });
    if acceptable {
        Ok(())
    } else {
        Err(ApiError::not_acceptable(accept))
    }
}

fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| {
            let tag = tag.trim();
            tag == "*" || tag.trim_start_matches("W/") == etag
        })
}

fn bytes_body(code: StatusCode, body: Bytes) -> Response<Body> {
    let mut resp = Response::new(Full::new(body).boxed_unsync());
    *resp.status_mut() = code;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

fn document_response(body: Bytes, etag: &str, cache_control: &'static str) -> Response<Body> {
    let mut resp = bytes_body(StatusCode::OK, body);
    if let Ok(v) = HeaderValue::from_str(etag) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    resp
}

fn not_modified(etag: &str) -> Response<Body> {
    let mut resp = Response::new(Full::new(Bytes::new()).boxed_unsync());
    *resp.status_mut() = StatusCode::NOT_MODIFIED;
    if let Ok(v) = HeaderValue::from_str(etag) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp
}

// ---------------------------------------------------------------------------------------------
// Documents and their cache.

/// A serialised document and its hash.
struct Serialized {
    body: Bytes,
    hash: String,
}

impl Serialized {
    fn new(doc: &Value) -> Self {
        Self::from_bytes(serde_json::to_vec(doc).unwrap_or_default())
    }

    fn from_bytes(body: Vec<u8>) -> Self {
        let hash = Sha512::digest(&body)
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        Serialized {
            body: Bytes::from(body),
            hash,
        }
    }
}

/// Every document for one set of served resources.
struct Documents {
    v2: Serialized,
    /// `v2` as gnostic protobuf, encoded on first request.
    v2_protobuf: OnceLock<Serialized>,
    /// `api/v1`, `apis/apps/v1`... → document.
    v3: BTreeMap<String, Serialized>,
}

impl Documents {
    /// The v2 document as protobuf (encoded from the JSON once, then kept).
    fn v2_protobuf(&self) -> &Serialized {
        self.v2_protobuf.get_or_init(|| {
            let doc: Value = serde_json::from_slice(&self.v2.body).unwrap_or(Value::Null);
            Serialized::from_bytes(openapi_v2_proto::encode_document(&doc))
        })
    }
}

/// Documents of the last few resource lists (one per test server, or per CRD change).
type CacheEntry = (Vec<Arc<ResourceInfo>>, Arc<Documents>);
static CACHE: LazyLock<Mutex<Vec<CacheEntry>>> = LazyLock::new(|| Mutex::new(Vec::new()));
const CACHE_ENTRIES: usize = 4;

fn documents(resources: &[Arc<ResourceInfo>]) -> Arc<Documents> {
    if let Ok(cache) = CACHE.lock()
        && let Some((_, docs)) = cache.iter().find(|(key, _)| key.as_slice() == resources)
    {
        return docs.clone();
    }
    let docs = Arc::new(build_documents(resources));
    if let Ok(mut cache) = CACHE.lock() {
        if cache.len() >= CACHE_ENTRIES {
            cache.remove(0);
        }
        cache.push((resources.to_vec(), docs.clone()));
    }
    docs
}

fn build_documents(resources: &[Arc<ResourceInfo>]) -> Documents {
    let mut group_versions: BTreeSet<(String, String)> = BTreeSet::new();
    for r in resources {
        group_versions.insert((r.group.clone(), r.version.clone()));
    }
    let v3 = group_versions
        .iter()
        .filter_map(|(g, v)| {
            let doc = v3_document(resources, g, v)?;
            Some((gv_path(g, v), Serialized::new(&doc)))
        })
        .collect();
    Documents {
        v2: Serialized::new(&v2_document(resources)),
        v2_protobuf: OnceLock::new(),
        v3,
    }
}

// ---------------------------------------------------------------------------------------------
// Names and schemas of the served kinds.

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// A custom resource's definition name as kube-apiserver spells it:
/// `stable.example.com`, `v1`, `CronTab` → `com.example.stable.v1.CronTab`.
pub fn custom_resource_definition_name(group: &str, version: &str, kind: &str) -> String {
    let reversed: Vec<&str> = group.split('.').rev().collect();
    format!("{}.{version}.{kind}", reversed.join("."))
}

/// The schema names of a resource's kind and list kind, with the schemas that only exist for
/// this resource (a custom resource's), in OpenAPI v2 style.
struct KindSchemas {
    kind: String,
    list: String,
    own: Vec<(String, Value)>,
}

/// The document a schema is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpenApiVersion {
    V2,
    V3,
}

fn kind_schemas(info: &ResourceInfo, version: OpenApiVersion) -> KindSchemas {
    let list_kind = info.list_kind();
    if info.crd.is_none()
        && let Some(kind) = definition_for(&info.group, &info.version, &info.kind)
    {
        // The create-only reviews have no list kind (and no list path refers to one).
        let list = definition_for(&info.group, &info.version, &list_kind).unwrap_or(kind);
        return KindSchemas {
            kind: kind.to_string(),
            list: list.to_string(),
            own: Vec::new(),
        };
    }
    let kind = custom_resource_definition_name(&info.group, &info.version, &info.kind);
    let list = custom_resource_definition_name(&info.group, &info.version, &list_kind);
    let schema = info
        .crd
        .as_deref()
        .and_then(|v| v.pointer("/schema/openAPIV3Schema"))
        .cloned()
        .unwrap_or_else(|| json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}));
    let schema = match version {
        OpenApiVersion::V2 => crd_schema_to_v2(schema),
        OpenApiVersion::V3 => schema,
    };
    let own = vec![
        (kind.clone(), custom_resource_schema(info, schema)),
        (list.clone(), custom_resource_list_schema(info, &kind)),
    ];
    KindSchemas { kind, list, own }
}

/// A CRD's structural schema as kube-apiserver publishes it in v2 (apiextensions-apiserver's
/// `ToStructuralOpenAPIV2`), since kubectl validates against v2 on the client: no `allOf`,
/// `oneOf`, `anyOf` or `not`; a nullable schema loses its type, items and properties and a
/// preserve-unknown-fields one its items and properties (else kubectl would reject what the
/// server keeps); an array without items loses its type (kubectl cannot parse it); a nullable
/// property is not required, nor is anything when the additional properties are nullable.
fn crd_schema_to_v2(mut schema: Value) -> Value {
    strip_for_v2(&mut schema);
    schema
}

fn strip_for_v2(schema: &mut Value) {
    let Value::Object(map) = schema else {
        return;
    };
    for junctor in ["allOf", "oneOf", "anyOf", "not"] {
        map.remove(junctor);
    }
    let is_nullable = |s: &Value| s.get("nullable").and_then(Value::as_bool) == Some(true);
    if map.remove("nullable").and_then(|v| v.as_bool()) == Some(true) {
        for key in ["type", "items", "properties"] {
            map.remove(key);
        }
    }
    if map
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        == Some(true)
    {
        map.remove("items");
        map.remove("properties");
    }
    if map.get("type").and_then(Value::as_str) == Some("array") && !map.contains_key("items") {
        map.remove("type");
    }
    let nullable_properties: Vec<String> = map
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| {
            p.iter()
                .filter(|(_, s)| is_nullable(s))
                .map(|(name, _)| name.clone())
                .collect()
        })
        .unwrap_or_default();
    if map.get("additionalProperties").is_some_and(is_nullable) {
        map.remove("required");
    } else if let Some(Value::Array(required)) = map.get_mut("required") {
        required.retain(|r| !nullable_properties.iter().any(|n| r == n.as_str()));
        if required.is_empty() {
            map.remove("required");
        }
    }
    // Children after their parent, which read their `nullable` above.
    if let Some(Value::Object(properties)) = map.get_mut("properties") {
        properties.values_mut().for_each(strip_for_v2);
    }
    match map.get_mut("items") {
        Some(Value::Array(items)) => items.iter_mut().for_each(strip_for_v2),
        Some(items) => strip_for_v2(items),
        None => {}
    }
    if let Some(additional @ Value::Object(_)) = map.get_mut("additionalProperties") {
        strip_for_v2(additional);
    }
}

/// A property description of a built-in kind, so that custom resources document their
/// `apiVersion`, `kind` and `metadata` with upstream's words.
fn standard_description(definition: &str, property: &str) -> Value {
    builtin_definitions()
        .get(definition)
        .and_then(|d| d.pointer(&format!("/properties/{property}/description")))
        .cloned()
        .unwrap_or(Value::Null)
}

fn gvk_extension(info: &ResourceInfo, kind: &str) -> Value {
    json!([{"group": info.group, "version": info.version, "kind": kind}])
}

fn custom_resource_schema(info: &ResourceInfo, schema: Value) -> Value {
    let mut schema = match schema {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    let object = "io.k8s.api.core.v1.ConfigMap";
    let mut properties = match schema.remove("properties") {
        Some(Value::Object(p)) => p,
        _ => Map::new(),
    };
    properties.insert(
        "apiVersion".into(),
        json!({"type": "string", "description": standard_description(object, "apiVersion")}),
    );
    properties.insert(
        "kind".into(),
        json!({"type": "string", "description": standard_description(object, "kind")}),
    );
    properties.insert(
        "metadata".into(),
        json!({
            "$ref": format!("#/definitions/{META}.ObjectMeta"),
            "description": standard_description(object, "metadata"),
        }),
    );
    schema.insert("properties".into(), Value::Object(properties));
    schema.insert("type".into(), "object".into());
    schema.insert(
        "x-kubernetes-group-version-kind".into(),
        gvk_extension(info, &info.kind),
    );
    Value::Object(schema)
}

fn custom_resource_list_schema(info: &ResourceInfo, kind_definition: &str) -> Value {
    let list = "io.k8s.api.core.v1.ConfigMapList";
    json!({
        "description": format!("{} is a list of {}", info.list_kind(), info.kind),
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": {"type": "string", "description": standard_description(list, "apiVersion")},
            "kind": {"type": "string", "description": standard_description(list, "kind")},
            "items": {
                "type": "array",
                "description": format!("List of {}. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md", info.plural),
                "items": {"$ref": format!("#/definitions/{kind_definition}")},
            },
            "metadata": {
                "$ref": format!("#/definitions/{META}.ListMeta"),
                "description": standard_description(list, "metadata"),
            },
        },
        "x-kubernetes-group-version-kind": gvk_extension(info, &info.list_kind()),
    })
}

/// Meta schemas every group-version document carries, as upstream's do.
fn meta_schemas() -> Vec<String> {
    [
        "Status",
        "DeleteOptions",
        "Patch",
        "WatchEvent",
        "APIResourceList",
    ]
    .iter()
    .map(|k| format!("{META}.{k}"))
    .collect()
}

/// Subresource kinds a resource's paths mention.
fn subresource_schemas(info: &ResourceInfo) -> Vec<String> {
    let mut out = Vec::new();
    if info.has_subresource("scale") {
        out.push("io.k8s.api.autoscaling.v1.Scale".to_string());
    }
    if info.has_subresource("binding") {
        out.push("io.k8s.api.core.v1.Binding".to_string());
    }
    if info.has_subresource("eviction") {
        out.push("io.k8s.api.policy.v1.Eviction".to_string());
    }
    if info.has_subresource("token") {
        out.push("io.k8s.api.authentication.v1.TokenRequest".to_string());
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Paths.

/// One operation, before it is written in v2 or v3 form.
struct Operation<'a> {
    info: &'a ResourceInfo,
    action: &'static str,
    verb_prefix: &'static str,
    params: &'static [&'static str],
    /// Request body schema name (post, put) or the Patch type (patch).
    request: Option<String>,
    response: String,
}

const LIST_PARAMS: &[&str] = &[
    "allowWatchBookmarks",
    "continue",
    "fieldSelector",
    "labelSelector",
    "limit",
    "pretty",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds",
    "watch",
];
const WRITE_PARAMS: &[&str] = &["dryRun", "fieldManager", "fieldValidation", "pretty"];
const PATCH_PARAMS: &[&str] = &[
    "dryRun",
    "fieldManager",
    "fieldValidation",
    "force",
    "pretty",
];
const DELETE_PARAMS: &[&str] = &[
    "dryRun",
    "gracePeriodSeconds",
    "ignoreStoreReadErrorWithClusterBreakingPotential",
    "orphanDependents",
    "pretty",
    "propagationPolicy",
];
const DELETE_COLLECTION_PARAMS: &[&str] = &[
    "continue",
    "dryRun",
    "fieldSelector",
    "gracePeriodSeconds",
    "ignoreStoreReadErrorWithClusterBreakingPotential",
    "labelSelector",
    "limit",
    "orphanDependents",
    "pretty",
    "propagationPolicy",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds",
];
const PATCH_TYPES: &[&str] = &[
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
];

impl Operation<'_> {
    fn operation_id(&self) -> String {
        let mut group = String::new();
        let first = self.info.group.split('.').next().unwrap_or("");
        let base = if self.info.group.is_empty() {
            "core".to_string()
        } else {
            first.to_string()
        };
        for (i, c) in base.chars().enumerate() {
            group.extend(if i == 0 {
                c.to_uppercase().collect::<Vec<_>>()
            } else {
                vec![c]
            });
        }
        let version: String = {
            let mut v = self.info.version.chars();
            v.next()
                .map(|c| c.to_uppercase().chain(v).collect())
                .unwrap_or_default()
        };
        format!("{}{group}{version}{}", self.verb_prefix, self.kind_suffix())
    }

    fn kind_suffix(&self) -> String {
        let namespaced = if self.info.namespaced {
            "Namespaced"
        } else {
            ""
        };
        match self.action {
            "list" => format!("{namespaced}{}", self.info.kind),
            "deletecollection" => format!("Collection{namespaced}{}", self.info.kind),
            _ => format!("{namespaced}{}", self.info.kind),
        }
    }

    fn gvk(&self) -> Value {
        json!({"group": self.info.group, "version": self.info.version, "kind": self.info.kind})
    }

    fn v2(&self) -> Value {
        let mut params: Vec<Value> = self
            .params
            .iter()
            .map(|n| json!({"name": n, "in": "query", "type": "string", "uniqueItems": true}))
            .collect();
        if let Some(request) = &self.request {
            params.push(json!({"name": "body", "in": "body", "required": true, "schema": {"$ref": format!("#/definitions/{request}")}}));
        }
        let consumes: Vec<&str> = if self.action == "patch" {
            PATCH_TYPES.to_vec()
        } else {
            vec!["*/*"]
        };
        json!({
            "operationId": self.operation_id(),
            "consumes": consumes,
            "produces": ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"],
            "schemes": ["https"],
            "parameters": params,
            "responses": {
                "200": {"description": "OK", "schema": {"$ref": format!("#/definitions/{}", self.response)}},
                "401": {"description": "Unauthorized"},
            },
            "x-kubernetes-action": self.action,
            "x-kubernetes-group-version-kind": self.gvk(),
        })
    }

    fn v3(&self) -> Value {
        let params: Vec<Value> = self
            .params
            .iter()
            .map(|n| json!({"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": true}}))
            .collect();
        let response_schema = json!({"$ref": format!("#/components/schemas/{}", self.response)});
        let mut op = json!({
            "operationId": self.operation_id(),
            "parameters": params,
            "responses": {
                "200": {"description": "OK", "content": {
                    "application/json": {"schema": response_schema},
                    "application/yaml": {"schema": response_schema},
                    "application/vnd.kubernetes.protobuf": {"schema": response_schema},
                }},
                "401": {"description": "Unauthorized"},
            },
            "x-kubernetes-action": self.action,
            "x-kubernetes-group-version-kind": self.gvk(),
        });
        if let Some(request) = &self.request {
            let schema = json!({"$ref": format!("#/components/schemas/{request}")});
            let types: Vec<&str> = if self.action == "patch" {
                PATCH_TYPES.to_vec()
            } else {
                vec!["*/*"]
            };
            let content: Map<String, Value> = types
                .into_iter()
                .map(|t| (t.to_string(), json!({"schema": schema})))
                .collect();
            op["requestBody"] = json!({"required": true, "content": content});
        }
        op
    }
}

/// `(path, path parameters, operations by HTTP method)` of one resource.
type PathEntry<'a> = (
    String,
    Vec<&'static str>,
    Vec<(&'static str, Operation<'a>)>,
);

fn resource_paths<'a>(info: &'a ResourceInfo, schemas: &KindSchemas) -> Vec<PathEntry<'a>> {
    let base = format!("/{}", gv_path(&info.group, &info.version));
    let (collection, mut path_params) = if info.namespaced {
        (
            format!("{base}/namespaces/{{namespace}}/{}", info.plural),
            vec!["namespace"],
        )
    } else {
        (format!("{base}/{}", info.plural), vec![])
    };
    let op = |action, prefix, params, request: Option<&str>, response: &str| Operation {
        info,
        action,
        verb_prefix: prefix,
        params,
        request: request.map(str::to_string),
        response: response.to_string(),
    };
    let kind = schemas.kind.as_str();
    let status = format!("{META}.Status");
    let patch = format!("{META}.Patch");
    let mut out = vec![(
        collection.clone(),
        path_params.clone(),
        vec![
            ("get", op("list", "list", LIST_PARAMS, None, &schemas.list)),
            ("post", op("post", "create", WRITE_PARAMS, Some(kind), kind)),
            (
                "delete",
                op(
                    "deletecollection",
                    "delete",
                    DELETE_COLLECTION_PARAMS,
                    Some(&format!("{META}.DeleteOptions")),
                    &status,
                ),
            ),
        ],
    )];
    if warren_apimachinery::registry::is_review(&info.group) {
        // Create-only: one POST on the collection.
        out[0].2.retain(|(method, _)| *method == "post");
        return out;
    }
    path_params.push("name");
    out.push((
        format!("{collection}/{{name}}"),
        path_params.clone(),
        vec![
            (
                "get",
                op("get", "read", &["pretty", "resourceVersion"], None, kind),
            ),
            ("put", op("put", "replace", WRITE_PARAMS, Some(kind), kind)),
            (
                "patch",
                op("patch", "patch", PATCH_PARAMS, Some(&patch), kind),
            ),
            (
                "delete",
                op(
                    "delete",
                    "delete",
                    DELETE_PARAMS,
                    Some(&format!("{META}.DeleteOptions")),
                    &status,
                ),
            ),
        ],
    ));
    for (sub, schema) in [
        ("status", kind.to_string()),
        ("scale", "io.k8s.api.autoscaling.v1.Scale".to_string()),
    ] {
        if !info.has_subresource(sub) {
            continue;
        }
        out.push((
            format!("{collection}/{{name}}/{sub}"),
            path_params.clone(),
            vec![
                ("get", op("get", "read", &["pretty"], None, &schema)),
                (
                    "put",
                    op("put", "replace", WRITE_PARAMS, Some(&schema), &schema),
                ),
                (
                    "patch",
                    op("patch", "patch", PATCH_PARAMS, Some(&patch), &schema),
                ),
            ],
        ));
    }
    out
}

fn path_parameter_v2(name: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "type": "string", "uniqueItems": true})
}

fn path_parameter_v3(name: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "schema": {"type": "string", "uniqueItems": true}})
}

// ---------------------------------------------------------------------------------------------
// v2.

fn v2_document(resources: &[Arc<ResourceInfo>]) -> Value {
    let mut definitions = builtin_definitions().clone();
    let mut paths = Map::new();
    for info in resources {
        let schemas = kind_schemas(info, OpenApiVersion::V2);
        for (path, params, ops) in resource_paths(info, &schemas) {
            let mut item = Map::new();
            for (method, op) in ops {
                item.insert(method.into(), op.v2());
            }
            item.insert(
                "parameters".into(),
                params.iter().map(|p| path_parameter_v2(p)).collect(),
            );
            paths.insert(path, Value::Object(item));
        }
        definitions.extend(schemas.own);
    }
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": "v1.37.0"},
        "paths": paths,
        "definitions": definitions,
        "securityDefinitions": {"BearerToken": {"description": "Bearer Token authentication", "in": "header", "name": "authorization", "type": "apiKey"}},
        "security": [{"BearerToken": []}],
    })
}

// ---------------------------------------------------------------------------------------------
// v3.

fn v3_document(resources: &[Arc<ResourceInfo>], group: &str, version: &str) -> Option<Value> {
    let served: Vec<&Arc<ResourceInfo>> = resources
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .collect();
    if served.is_empty() {
        return None;
    }
    let mut paths = Map::new();
    let mut own: HashMap<String, Value> = HashMap::new();
    let mut roots: Vec<String> = meta_schemas();
    for info in &served {
        let schemas = kind_schemas(info, OpenApiVersion::V3);
        for (path, params, ops) in resource_paths(info, &schemas) {
            let mut item = Map::new();
            for (method, op) in ops {
                item.insert(method.into(), op.v3());
            }
            item.insert(
                "parameters".into(),
                params.iter().map(|p| path_parameter_v3(p)).collect(),
            );
            paths.insert(path, Value::Object(item));
        }
        roots.push(schemas.kind.clone());
        roots.push(schemas.list.clone());
        roots.extend(subresource_schemas(info));
        own.extend(schemas.own);
    }
    let lookup = |name: &str| own.get(name).or_else(|| builtin_definitions().get(name));
    let mut components = Map::new();
    let mut queue = roots;
    let mut seen = BTreeSet::new();
    while let Some(name) = queue.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let Some(schema) = lookup(&name) else {
            continue;
        };
        collect_refs(schema, &mut queue);
        components.insert(name.clone(), v3_definition(&name, schema));
    }
    let components: BTreeMap<String, Value> = components.into_iter().collect();
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.37.0"},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"BearerToken": {"description": "Bearer Token authentication", "in": "header", "name": "authorization", "type": "apiKey"}},
        },
        "security": [{"BearerToken": []}],
    }))
}

/// Names of the definitions a v2-style schema refers to.
fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref")
                && let Some(name) = r.strip_prefix("#/definitions/")
            {
                out.push(name.to_string());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// A v2-style definition in v3 form: IntOrString and Quantity as upstream's `oneOf`s, refs to
/// `#/components/schemas/`, a `$ref` with siblings wrapped in `allOf`.
fn v3_definition(name: &str, schema: &Value) -> Value {
    let description = schema.get("description").cloned();
    let mut out = match name {
        INT_OR_STRING => {
            json!({"format": "int-or-string", "oneOf": [{"type": "integer"}, {"type": "string"}]})
        }
        QUANTITY => json!({"oneOf": [{"type": "string"}, {"type": "number"}]}),
        _ => return to_v3(schema),
    };
    if let Some(d) = description {
        out["description"] = d;
    }
    out
}

fn to_v3(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                let name = r.rsplit('/').next().unwrap_or(r);
                let reference = json!({"$ref": format!("#/components/schemas/{name}")});
                if map.len() == 1 {
                    return reference;
                }
                let mut out: Map<String, Value> = map
                    .iter()
                    .filter(|(k, _)| k.as_str() != "$ref")
                    .map(|(k, v)| (k.clone(), to_v3(v)))
                    .collect();
                out.insert("allOf".into(), json!([reference]));
                return Value::Object(out);
            }
            Value::Object(map.iter().map(|(k, v)| (k.clone(), to_v3(v))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(to_v3).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warren_apimachinery::registry::builtin_resources;

    fn builtins() -> Vec<Arc<ResourceInfo>> {
        builtin_resources().into_iter().map(Arc::new).collect()
    }

    fn crontab() -> ResourceInfo {
        ResourceInfo {
            group: "stable.example.com".into(),
            version: "v1".into(),
            kind: "CronTab".into(),
            plural: "crontabs".into(),
            singular: "crontab".into(),
            namespaced: true,
            short_names: vec!["ct".into()],
            categories: vec![],
            verbs: vec!["get".into(), "list".into(), "patch".into()],
            subresources: vec!["status".into()],
            crd: Some(Arc::new(json!({
                "name": "v1",
                "served": true,
                "storage": true,
                "group": "stable.example.com",
                "scope": "Namespaced",
                "storageVersion": "v1",
                "names": {"kind": "CronTab", "plural": "crontabs", "listKind": "CronTabList"},
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "description": "A cron tab.",
                    "properties": {
                        "spec": {"type": "object", "properties": {
                            "cronSpec": {"type": "string", "description": "When to run."},
                            "replicas": {"type": "integer"},
                        }},
                    },
                }},
            }))),
        }
    }

    fn v3_doc(resources: &[Arc<ResourceInfo>], group: &str, version: &str) -> Value {
        v3_document(resources, group, version).expect("document")
    }

    fn schema<'a>(doc: &'a Value, name: &str) -> &'a Value {
        &doc["components"]["schemas"][name]
    }

    #[test]
    fn apps_document_has_full_schemas_in_v3_form() {
        let doc = v3_doc(&builtins(), "apps", "v1");
        let deployment = schema(&doc, "io.k8s.api.apps.v1.Deployment");
        assert_eq!(
            deployment["x-kubernetes-group-version-kind"],
            json!([{"group": "apps", "kind": "Deployment", "version": "v1"}])
        );
        // A $ref with a description becomes allOf + description.
        let spec = &deployment["properties"]["spec"];
        assert_eq!(
            spec["allOf"],
            json!([{"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec"}])
        );
        assert!(spec["description"].is_string());
        let strategy = &schema(&doc, "io.k8s.api.apps.v1.DeploymentSpec")["properties"]["strategy"];
        assert_eq!(strategy["x-kubernetes-patch-strategy"], "retainKeys");
        let containers = &schema(&doc, "io.k8s.api.core.v1.PodSpec")["properties"]["containers"];
        assert_eq!(
            containers["items"],
            json!({"$ref": "#/components/schemas/io.k8s.api.core.v1.Container"})
        );
        assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
        assert_eq!(
            schema(&doc, INT_OR_STRING)["oneOf"],
            json!([{"type": "integer"}, {"type": "string"}])
        );
        for name in [
            "io.k8s.api.apps.v1.DeploymentList",
            "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
            "io.k8s.apimachinery.pkg.apis.meta.v1.Status",
            "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions",
            "io.k8s.api.autoscaling.v1.Scale",
        ] {
            assert!(schema(&doc, name).is_object(), "{name}");
        }
        // Only what apps/v1 reaches: no RBAC or batch schemas.
        assert!(schema(&doc, "io.k8s.api.rbac.v1.Role").is_null());
        assert!(schema(&doc, "io.k8s.api.batch.v1.Job").is_null());
        // Every ref resolves inside the document.
        let mut refs = Vec::new();
        collect_v3_refs(&doc, &mut refs);
        for r in refs {
            let name = r.trim_start_matches("#/components/schemas/");
            assert!(schema(&doc, name).is_object(), "dangling {r}");
        }
    }

    fn collect_v3_refs(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    out.push(r.clone());
                }
                map.values().for_each(|v| collect_v3_refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| collect_v3_refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn patch_operations_offer_field_validation() {
        let doc = v3_doc(&builtins(), "apps", "v1");
        let path = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"];
        let patch = &path["patch"];
        assert_eq!(
            patch["x-kubernetes-group-version-kind"],
            json!({"group": "apps", "version": "v1", "kind": "Deployment"})
        );
        let names: Vec<&str> = patch["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert!(names.contains(&"fieldValidation"), "{names:?}");
        assert_eq!(patch["operationId"], "patchAppsV1NamespacedDeployment");
        let core = v3_doc(&builtins(), "", "v1");
        assert!(
            core["paths"]["/api/v1/namespaces/{namespace}/pods/{name}/status"]["patch"].is_object()
        );
        assert!(core["paths"]["/api/v1/nodes/{name}"]["get"].is_object());
    }

    #[test]
    fn custom_resource_gets_its_schema_named_like_upstream() {
        let mut resources = builtins();
        resources.push(Arc::new(crontab()));
        let doc = v3_doc(&resources, "stable.example.com", "v1");
        let crontab = schema(&doc, "com.example.stable.v1.CronTab");
        assert_eq!(
            crontab["x-kubernetes-group-version-kind"],
            json!([{"group": "stable.example.com", "kind": "CronTab", "version": "v1"}])
        );
        assert_eq!(crontab["description"], "A cron tab.");
        assert_eq!(
            crontab["properties"]["spec"]["properties"]["cronSpec"]["description"],
            "When to run."
        );
        assert_eq!(
            crontab["properties"]["metadata"]["allOf"],
            json!([{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}])
        );
        assert!(crontab["properties"]["apiVersion"]["description"].is_string());
        assert_eq!(crontab["properties"]["kind"]["type"], "string");
        let list = schema(&doc, "com.example.stable.v1.CronTabList");
        assert_eq!(
            list["properties"]["items"]["items"]["$ref"],
            "#/components/schemas/com.example.stable.v1.CronTab"
        );
        assert!(schema(&doc, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta").is_object());
        assert!(
            doc["paths"]["/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}"]
                ["patch"]["parameters"]
                .to_string()
                .contains("fieldValidation")
        );
        // The CRD's schema is in v2 as well, and the index lists the group-version.
        let v2 = v2_document(&resources);
        assert!(v2["definitions"]["com.example.stable.v1.CronTab"].is_object());
        let docs = build_documents(&resources);
        assert!(docs.v3.contains_key("apis/stable.example.com/v1"));
        assert!(
            !build_documents(&builtins())
                .v3
                .contains_key("apis/stable.example.com/v1")
        );
    }

    #[test]
    fn cache_follows_the_resource_list() {
        let builtin = builtins();
        let first = documents(&builtin);
        assert!(Arc::ptr_eq(&first, &documents(&builtins())));
        let mut with_crd = builtins();
        with_crd.push(Arc::new(crontab()));
        let changed = documents(&with_crd);
        assert!(!Arc::ptr_eq(&first, &changed));
        assert_ne!(
            first.v3["api/v1"].hash.len(),
            0,
            "documents carry their hash"
        );
        // The hash is the document's.
        let doc = &changed.v3["apis/stable.example.com/v1"];
        let expected: String = Sha512::digest(&doc.body)
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        assert_eq!(doc.hash, expected);
    }

    #[test]
    fn v2_document_is_swagger_with_every_builtin_definition() {
        let v2 = v2_document(&builtins());
        assert_eq!(v2["swagger"], "2.0");
        assert!(v2["definitions"]["io.k8s.api.core.v1.Pod"].is_object());
        let get = &v2["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]["get"];
        assert_eq!(
            get["responses"]["200"]["schema"]["$ref"],
            "#/definitions/io.k8s.api.core.v1.Pod"
        );
    }

    #[test]
    fn built_in_kinds_use_upstream_definitions_and_every_ref_resolves() {
        let v2 = v2_document(&builtins());
        let defs = v2["definitions"].as_object().unwrap();
        // Built-in kinds (the create-only reviews too) never get custom-resource names.
        assert!(
            !defs.keys().any(|k| k.starts_with("io.k8s.authentication.")
                || k.starts_with("io.k8s.authorization.")
                || k.starts_with("io.k8s.admissionregistration.")),
            "{:?}",
            defs.keys()
                .filter(|k| !k.starts_with("io.k8s.api"))
                .collect::<Vec<_>>()
        );
        let review = &v2["definitions"]["io.k8s.api.authentication.v1.TokenReview"];
        assert!(review["properties"]["spec"].is_object(), "{review}");
        fn refs(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    if let Some(Value::String(r)) = m.get("$ref") {
                        out.push(r.clone());
                    }
                    m.values().for_each(|v| refs(v, out));
                }
                Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let mut all = Vec::new();
        refs(&v2, &mut all);
        for r in all {
            let name = r.strip_prefix("#/definitions/").unwrap_or(&r);
            assert!(defs.contains_key(name), "dangling $ref {r}");
        }
    }

    #[test]
    fn crd_schemas_in_v2_are_what_kubectl_can_validate_with() {
        let schema = json!({
            "type": "object",
            "required": ["spec"],
            "properties": {"spec": {
                "type": "object",
                "required": ["note", "size"],
                "oneOf": [{"required": ["note"]}],
                "properties": {
                    "size": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]},
                    "note": {"type": "object", "nullable": true, "properties": {"a": {"type": "string"}}},
                    "config": {
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": true,
                        "properties": {"known": {"type": "string"}},
                    },
                    "list": {"type": "array", "x-kubernetes-preserve-unknown-fields": true, "items": {"type": "string"}},
                    "tags": {"type": "array", "items": {"type": "string", "nullable": false}},
                },
            }},
        });
        let v2 = crd_schema_to_v2(schema);
        let spec = &v2["properties"]["spec"];
        assert_eq!(v2["required"], json!(["spec"]));
        assert_eq!(
            spec["required"],
            json!(["size"]),
            "nullable note is not required"
        );
        assert!(spec.get("oneOf").is_none());
        assert_eq!(
            spec["properties"]["size"],
            json!({"x-kubernetes-int-or-string": true})
        );
        assert_eq!(spec["properties"]["note"], json!({}));
        assert_eq!(
            spec["properties"]["config"],
            json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true})
        );
        assert_eq!(
            spec["properties"]["list"],
            json!({"x-kubernetes-preserve-unknown-fields": true})
        );
        assert_eq!(
            spec["properties"]["tags"],
            json!({"type": "array", "items": {"type": "string"}})
        );

        // Only v2 is converted: v3 keeps the CRD's schema.
        let mut info = crontab();
        if let Some(crd) = info.crd.as_mut() {
            let crd = Arc::make_mut(crd);
            crd["schema"]["openAPIV3Schema"]["properties"]["spec"]["nullable"] = json!(true);
        }
        let v2 = &kind_schemas(&info, OpenApiVersion::V2).own[0].1;
        assert!(v2["properties"]["spec"].get("properties").is_none());
        assert!(v2["properties"]["metadata"]["$ref"].is_string());
        let v3 = &kind_schemas(&info, OpenApiVersion::V3).own[0].1;
        assert_eq!(v3["properties"]["spec"]["nullable"], json!(true));
    }

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_str(value).expect("header"),
        );
        headers
    }

    #[test]
    fn v2_accept_negotiation_follows_upstream() {
        let negotiated = |value: &str| negotiate_v2(&accept(value)).map_err(|e| e.code);
        assert_eq!(
            negotiate_v2(&HeaderMap::new()).map_err(|e| e.code),
            Ok(V2Format::Json)
        );
        assert_eq!(negotiated(""), Ok(V2Format::Json));
        assert_eq!(negotiated("*/*"), Ok(V2Format::Json));
        assert_eq!(negotiated("application/*"), Ok(V2Format::Json));
        assert_eq!(negotiated("application/json"), Ok(V2Format::Json));
        // What client-go's OpenAPISchema() sends, and the newer name.
        assert_eq!(negotiated(V2_PROTOBUF_DEPRECATED), Ok(V2Format::Protobuf));
        assert_eq!(negotiated(V2_PROTOBUF), Ok(V2Format::Protobuf));
        // Several types: the first listed wins at equal quality, a higher quality wins, a
        // specific type beats a wildcard, q=0 refuses.
        assert_eq!(
            negotiated(&format!("{V2_PROTOBUF_DEPRECATED}, application/json")),
            Ok(V2Format::Protobuf)
        );
        assert_eq!(
            negotiated(&format!("application/json, {V2_PROTOBUF_DEPRECATED}")),
            Ok(V2Format::Json)
        );
        assert_eq!(
            negotiated(&format!("application/json;q=0.5, {V2_PROTOBUF}")),
            Ok(V2Format::Protobuf)
        );
        assert_eq!(
            negotiated(&format!("*/*, {V2_PROTOBUF_DEPRECATED}")),
            Ok(V2Format::Protobuf)
        );
        assert_eq!(
            negotiated(&format!("application/json;q=0, {V2_PROTOBUF}; q=0.1")),
            Ok(V2Format::Protobuf)
        );
        // Neither JSON nor protobuf: 406.
        assert_eq!(negotiated("application/yaml"), Err(406));
        assert_eq!(
            negotiated("application/vnd.kubernetes.protobuf, text/html"),
            Err(406)
        );
        assert_eq!(negotiated("application/json;q=0"), Err(406));
    }

    #[test]
    fn v2_protobuf_is_encoded_once_and_has_its_own_hash() {
        let mut resources = builtins();
        resources.push(Arc::new(crontab()));
        let docs = build_documents(&resources);
        let first = docs.v2_protobuf();
        assert!(std::ptr::eq(first, docs.v2_protobuf()), "cached");
        assert_ne!(first.hash, docs.v2.hash);
        let expected: String = Sha512::digest(&first.body)
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        assert_eq!(first.hash, expected);
        let decoded = openapi_v2_proto::decode_document(&first.body).expect("decodes");
        let json: Value = serde_json::from_slice(&docs.v2.body).expect("JSON");
        let definitions = decoded
            .definitions
            .expect("definitions")
            .additional_properties;
        assert_eq!(
            definitions.len(),
            json["definitions"].as_object().expect("definitions").len()
        );
        assert!(
            definitions
                .iter()
                .any(|d| d.name == "com.example.stable.v1.CronTab")
        );
        let paths = decoded.paths.expect("paths").path;
        assert_eq!(paths.len(), json["paths"].as_object().expect("paths").len());
    }
}
