//! Resource handlers: get, list, watch, create, update, patch, delete, deletecollection and the
//! `status`, `binding` and `finalize` subresources, with kube-apiserver's metadata semantics.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Response, StatusCode};
use serde_json::{Value, json};
use warren_apimachinery::error::{ApiError, FieldError};
use warren_apimachinery::kinds;
use warren_apimachinery::registry::ResourceInfo;
use warren_store::{KeyValue, StoreError};

use crate::codec::{self, BodyType, Output};
use crate::filter::ListFilter;
use crate::object::{self, decode_stored, encode_for_store};
use crate::pki::UserInfo;
use crate::request::ResourcePath;
use crate::server::{ApiServer, Body, bytes_response, json_response, query_bool};

/// What a handler needs from the request besides its path and body.
pub struct RequestContext {
    /// The authenticated user.
    pub user: UserInfo,
    /// The `Accept` header.
    pub accept: Option<String>,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The query parameters.
    pub query: HashMap<String, String>,
    /// The `User-Agent` header (the default field manager is derived from it).
    pub user_agent: Option<String>,
    /// Warnings for the client, sent as `Warning: 299 - "..."` headers.
    pub warnings: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    /// Annotations for the request's audit event (admission's `AddAnnotation`).
    pub audit_annotations: AuditAnnotations,
}

/// The audit annotations admission plugins add to a request.
pub type AuditAnnotations =
    std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, String>>>;

impl RequestContext {
    /// Adds an annotation to the request's audit event (the first value of a key wins).
    pub fn annotate(&self, key: impl Into<String>, value: impl Into<String>) {
        if let Ok(mut a) = self.audit_annotations.lock() {
            a.entry(key.into()).or_insert_with(|| value.into());
        }
    }

    /// Adds a warning for the client.
    pub fn warn(&self, message: impl Into<String>) {
        if let Ok(mut w) = self.warnings.lock() {
            w.push(message.into());
        }
    }
}

/// How many times a write retries an optimistic-concurrency conflict it caused itself.
const MAX_RETRIES: usize = 16;

/// Maps a store error met while working on one object.
pub fn store_error(err: StoreError, info: &ResourceInfo, name: &str) -> ApiError {
    match err {
        StoreError::AlreadyExists(_) => ApiError::already_exists(&info.group, &info.plural, name),
        StoreError::NotFound(_) => ApiError::not_found(&info.group, &info.plural, name),
        StoreError::Conflict { .. } => ApiError::conflict(&info.group, &info.plural, name),
        other => plain_store_error(other),
    }
}

/// Maps a store error not tied to one object.
pub fn plain_store_error(err: StoreError) -> ApiError {
    match err {
        StoreError::Compacted {
            requested,
            compacted,
        } => ApiError::gone(requested, compacted),
        StoreError::FutureRevision { requested, current } => ApiError::timeout(format!(
            "Too large resource version: {requested}, current: {current}"
        )),
        StoreError::Unavailable(m) => ApiError::unavailable(format!("storage is unavailable: {m}")),
        other => ApiError::internal(other.to_string()),
    }
}

/// Whether `dryRun=All` was asked for (any other value is refused as kube-apiserver does).
fn dry_run(query: &HashMap<String, String>) -> Result<bool, ApiError> {
    match query.get("dryRun").map(String::as_str) {
        None | Some("") => Ok(false),
        Some("All") => Ok(true),
        Some(other) => Err(ApiError::bad_request(format!(
            "Invalid dryRun value: {other}: supported values: \"All\""
        ))),
    }
}

fn parse_rv(s: &str) -> Result<i64, ApiError> {
    s.parse::<i64>()
        .ok()
        .filter(|v| *v >= 0)
        .ok_or_else(|| ApiError::bad_request(format!("invalid resource version: {s}")))
}

/// The generateName suffix alphabet kube uses (no vowels, no confusable characters).
const NAME_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

fn random_suffix() -> String {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    bytes
        .iter()
        .take(5)
        .map(|b| NAME_ALPHABET[*b as usize % NAME_ALPHABET.len()] as char)
        .collect()
}

/// Kinds whose objects carry `metadata.generation`.
/// The DaemonSet strategy's `deprecated.daemonset.template.generation` annotation: the
/// generation at which the pod template last changed (the DaemonSet controller labels its pods
/// with it as `pod-template-generation`).
fn set_daemonset_template_generation(info: &ResourceInfo, obj: &mut Value, old: Option<&Value>) {
    const KEY: &str = "deprecated.daemonset.template.generation";
    if info.group != "apps" || info.kind != "DaemonSet" {
        return;
    }
    let generation = obj
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let value = match old {
        Some(old) if old.pointer("/spec/template") == obj.pointer("/spec/template") => {
            match old
                .pointer("/metadata/annotations")
                .and_then(|a| a.get(KEY))
                .cloned()
            {
                Some(v) => v,
                None => return,
            }
        }
        _ => json!(generation.to_string()),
    };
    if let Some(meta) = object::metadata_mut(obj) {
        let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
        if let Some(a) = annotations.as_object_mut() {
            a.insert(KEY.into(), value);
        }
    }
}

fn tracks_generation(info: &ResourceInfo, obj: &Value) -> bool {
    !matches!(
        info.kind.as_str(),
        "Namespace" | "Node" | "PersistentVolume" | "PersistentVolumeClaim" | "Event" | "Service"
    ) && obj.get("spec").is_some()
}

/// Kinds whose status a create may set (everything else starts with an empty status).
fn keeps_status_on_create(info: &ResourceInfo) -> bool {
    matches!(info.kind.as_str(), "Node" | "Namespace")
}

/// Kinds whose DELETE answers with the object instead of a Status.
fn returns_deleted_object(info: &ResourceInfo) -> bool {
    matches!(info.kind.as_str(), "Pod" | "Namespace")
}

impl ApiServer {
    /// Serves one resource request.
    pub async fn serve_resource(
        self: Arc<Self>,
        method: Method,
        rp: ResourcePath,
        ctx: RequestContext,
        body: Bytes,
    ) -> Result<Response<Body>, ApiError> {
        let info = self
            .registry
            .lookup(&rp.group, &rp.version, &rp.resource)
            .ok_or_else(ApiError::no_route)?;
        if rp.namespace.is_some() && !info.namespaced {
            return Err(ApiError::no_route());
        }
        if let Some(sub) = &rp.subresource
            && !info.has_subresource(sub)
        {
            return Err(ApiError::no_route());
        }
        let ns = rp.namespace.as_deref();
        if info.namespaced && rp.name.is_some() && ns.is_none() {
            return Err(ApiError::no_route());
        }
        let output = codec::negotiate(ctx.accept.as_deref())?;
        if warren_apimachinery::registry::is_review(&info.group) {
            if method != Method::POST || rp.name.is_some() || rp.subresource.is_some() {
                return Err(ApiError::method_not_allowed(method.as_str()));
            }
            let out = crate::authz::review(
                &self,
                &info,
                ns,
                &ctx.user,
                &body,
                ctx.content_type.as_deref(),
            )
            .await?;
            return Ok(self.respond(&info, StatusCode::CREATED, &out, output));
        }
        let is_watch = rp.legacy_watch || query_bool(&ctx.query, "watch");
        if rp.subresource.as_deref() == Some("scale") {
            let name = rp.name.as_deref().ok_or_else(ApiError::no_route)?;
            return self.scale(&info, ns, name, &method, &ctx, &body).await;
        }
        if method == Method::DELETE
            && rp.name.is_none()
            && !info.verbs.iter().any(|v| v == "deletecollection")
        {
            return Err(ApiError::method_not_allowed(method.as_str()));
        }
        match (&method, rp.name.as_deref(), rp.subresource.as_deref()) {
            (&Method::GET, None, None) if is_watch => {
                self.watch(info, ns, None, &ctx, output).await
            }
            (&Method::GET, None, None) => self.list(&info, ns, &ctx, output).await,
            (&Method::GET, Some(name), None) if is_watch => {
                self.watch(info, ns, Some(name), &ctx, output).await
            }
            (&Method::GET, Some(name), None | Some("status")) => {
                self.get(&info, ns, name, &ctx, output).await
            }
            (&Method::POST, None, None) => self.create(&info, ns, &ctx, &body, output).await,
            (&Method::POST, Some(name), Some("token")) => {
                crate::sa_tokens::create_token(&self, &info, ns, name, &ctx, &body, output).await
            }
            (&Method::POST, Some(name), Some("binding")) => {
                self.bind(&info, ns, name, &ctx, &body).await
            }
            (&Method::POST, Some(name), Some("eviction")) => {
                crate::eviction::evict(&self, &info, ns, name, &ctx, &body, output).await
            }
            (&Method::PUT, Some(name), sub) => {
                let obj = self.decode_object(&info, &ctx, &body, "UpdateOptions")?;
                let out = self.update(&info, ns, name, obj, sub, &ctx).await?;
                Ok(self.respond(&info, StatusCode::OK, &out, output))
            }
            (&Method::PATCH, Some(name), sub) => {
                self.patch(&info, ns, name, sub, &ctx, &body, output).await
            }
            (&Method::DELETE, Some(name), None) => {
                self.delete(&info, ns, name, &ctx, &body, output).await
            }
            (&Method::DELETE, None, None) => {
                self.delete_collection(&info, ns, &ctx, &body, output).await
            }
            _ => Err(ApiError::method_not_allowed(method.as_str())),
        }
    }

    /// Renders one object (JSON, YAML or a one-row Table).
    pub fn respond(
        &self,
        info: &ResourceInfo,
        code: StatusCode,
        obj: &Value,
        output: Output,
    ) -> Response<Body> {
        match output {
            Output::Table => {
                let table = crate::filter::to_table(
                    info,
                    std::slice::from_ref(obj),
                    &HashMap::new(),
                    json!({
                        "resourceVersion": object::resource_version(obj).unwrap_or_default(),
                    }),
                );
                json_response(code, &table)
            }
            Output::Metadata => json_response(code, &codec::partial_metadata(obj)),
            other => {
                if info.crd.is_some() {
                    let mut obj = obj.clone();
                    crate::crds::present(info, &mut obj);
                    let (ct, bytes) = codec::encode(&obj, other);
                    return bytes_response(code, ct, bytes);
                }
                let (ct, bytes) = codec::encode(obj, other);
                bytes_response(code, ct, bytes)
            }
        }
    }

    /// Decodes a create/update body and checks its apiVersion and kind against the URL.
    fn decode_object(
        &self,
        info: &ResourceInfo,
        ctx: &RequestContext,
        body: &[u8],
        options_kind: &str,
    ) -> Result<Value, ApiError> {
        let ty = codec::body_type(ctx.content_type.as_deref())?;
        if !matches!(ty, BodyType::Json | BodyType::Yaml | BodyType::Protobuf) {
            return Err(ApiError::unsupported_media_type(
                ctx.content_type.as_deref().unwrap_or(""),
            ));
        }
        let mut obj = codec::decode_body(body, ty).map_err(|e| {
            ApiError::bad_request(format!(
                "the object provided is unrecognized (must be of type {}): {}",
                info.kind, e.message
            ))
        })?;
        if !obj.is_object() {
            return Err(ApiError::bad_request(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml",
            ));
        }
        let expected_av = info.api_version();
        let body_av = obj
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let body_kind = obj
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        // Built-in kinds default a missing apiVersion and kind from the URL, as kube-apiserver's
        // typed decoding does; a different one is refused with its words.
        let av_ok = body_av.is_empty() || body_av == expected_av;
        let kind_ok = body_kind.is_empty() || body_kind == info.kind;
        if !av_ok || !kind_ok {
            let shown_kind = if body_kind.is_empty() {
                info.kind.as_str()
            } else {
                body_kind.as_str()
            };
            let shown_av = if body_av.is_empty() {
                expected_av.as_str()
            } else {
                body_av.as_str()
            };
            let why = if !av_ok {
                format!(
                    "the API version in the data ({shown_av}) does not match the expected API version ({expected_av})"
                )
            } else {
                format!(
                    "no kind \"{shown_kind}\" is registered for version \"{shown_av}\" at this endpoint"
                )
            };
            return Err(ApiError::bad_request(format!(
                "{shown_kind} in version \"{shown_av}\" cannot be handled as a {}: {why}",
                info.kind
            )));
        }
        obj["apiVersion"] = json!(expected_av);
        obj["kind"] = json!(info.kind);
        if object::metadata_mut(&mut obj).is_none() {
            return Err(ApiError::bad_request(
                "the object's metadata is not an object",
            ));
        }
        let raw = match ty {
            BodyType::Json => crate::managed::RawBody::Json(body),
            BodyType::Yaml => crate::managed::RawBody::Yaml(body),
            _ => crate::managed::RawBody::None,
        };
        crate::managed::check_fields(info, ctx, options_kind, raw, &mut obj)?;
        Ok(obj)
    }

    /// Checks that the namespace exists and is not terminating (NamespaceLifecycle admission).
    async fn check_namespace_for_create(
        &self,
        info: &ResourceInfo,
        ns: &str,
        name: &str,
    ) -> Result<(), ApiError> {
        let ns_key = format!("/registry/core/namespaces/{ns}");
        let kv = self.store.get(&ns_key).await.map_err(plain_store_error)?;
        let Some(kv) = kv else {
            return Err(ApiError::not_found("", "namespaces", ns));
        };
        let nsobj = decode_stored(&kv.value, kv.mod_revision);
        if object::is_deleting(&nsobj) {
            let mut err = ApiError::forbidden(format!(
                "{} \"{}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                warren_apimachinery::error::qualified_resource(&info.group, &info.plural),
                name
            ));
            err.details = Some(json!({
                "name": name, "group": info.group, "kind": info.plural,
                "causes": [{"reason": "NamespaceTerminating", "message": format!("namespace {ns} is being terminated"), "field": "metadata.namespace"}],
            }));
            return Err(err);
        }
        Ok(())
    }

    async fn get(
        &self,
        info: &ResourceInfo,
        ns: Option<&str>,
        name: &str,
        ctx: &RequestContext,
        output: Output,
    ) -> Result<Response<Body>, ApiError> {
        if let Some(rv) = ctx
            .query
            .get("resourceVersion")
            .filter(|s| !s.is_empty() && *s != "0")
        {
            let rv = parse_rv(rv)?;
            let current = self
                .store
                .current_revision()
                .await
                .map_err(plain_store_error)?;
            if rv > current {
                return Err(plain_store_error(StoreError::FutureRevision {
                    requested: rv,
                    current,
                }));
            }
        }
        let kv = self
            .store
            .get(&info.key(ns, name))
            .await
            .map_err(|e| store_error(e, info, name))?;
        let kv = kv.ok_or_else(|| ApiError::not_found(&info.group, &info.plural, name))?;
        let obj = decode_stored(&kv.value, kv.mod_revision);
        Ok(self.respond(info, StatusCode::OK, &obj, output))
    }

    async fn list(
        &self,
        info: &ResourceInfo,
        ns: Option<&str>,
        ctx: &RequestContext,
        output: Output,
    ) -> Result<Response<Body>, ApiError> {
        let filter = ListFilter::from_query(info, &ctx.query)?;
        let limit: usize = match ctx.query.get("limit").filter(|s| !s.is_empty()) {
            Some(l) => l
                .parse::<i64>()
                .map(|l| l.max(0) as usize)
                .map_err(|_| ApiError::bad_request(format!("invalid limit: {l}")))?,
            None => 0,
        };
        let prefix = info.namespace_prefix(ns);
        let rv_param = ctx
            .query
            .get("resourceVersion")
            .filter(|s| !s.is_empty())
            .cloned();
        let rv_match = ctx
            .query
            .get("resourceVersionMatch")
            .filter(|s| !s.is_empty())
            .cloned();
        let (mut start, mut at_revision) = (prefix.clone(), None);
        if let Some(token) = ctx.query.get("continue").filter(|s| !s.is_empty()) {
            if rv_param.is_some() && rv_param.as_deref() != Some("0") {
                return Err(ApiError::bad_request(
                    "specifying resource version is not allowed when using continue",
                ));
            }
            let (rev, after) = decode_continue(token, &prefix)?;
            start = after;
            at_revision = Some(rev);
        } else {
            match (rv_param.as_deref(), rv_match.as_deref()) {
                (None, None) | (Some("0"), None | Some("NotOlderThan")) => {}
                (None, Some(m)) => {
                    return Err(ApiError::bad_request(format!(
                        "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided (got {m})"
                    )));
                }
                (Some(rv), Some("Exact")) => {
                    let rv = parse_rv(rv)?;
                    if rv == 0 {
                        return Err(ApiError::bad_request(
                            "resourceVersionMatch: Forbidden: resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
                        ));
                    }
                    at_revision = Some(rv);
                }
                (Some(rv), None | Some("NotOlderThan")) => {
                    let rv = parse_rv(rv)?;
                    let current = self
                        .store
                        .current_revision()
                        .await
                        .map_err(plain_store_error)?;
                    if rv > current {
                        return Err(plain_store_error(StoreError::FutureRevision {
                            requested: rv,
                            current,
                        }));
                    }
                }
                (_, Some(other)) => {
                    return Err(ApiError::bad_request(format!(
                        "resourceVersionMatch: Unsupported value: \"{other}\": supported values: \"Exact\", \"NotOlderThan\", \"\""
                    )));
                }
            }
        }
        // Fetch pages from the store until `limit` objects matched or the range ends.
        let mut items: Vec<Value> = Vec::new();
        let mut next_start: Option<String> = None;
        let revision;
        loop {
            let batch = if limit == 0 {
                0
            } else {
                (limit - items.len()).max(64)
            };
            let res = self.store.range(&prefix, &start, batch, at_revision).await.map_err(|e| match e {
                StoreError::Compacted { .. } if ctx.query.contains_key("continue") => ApiError::new(
                    410,
                    "Expired",
                    "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
                ),
                other => plain_store_error(other),
            })?;
            let served_at = res.revision;
            at_revision = Some(served_at);
            let mut cut = false;
            for (idx, kv) in res.kvs.iter().enumerate() {
                let obj = decode_stored(&kv.value, kv.mod_revision);
                if filter.matches(&obj)? {
                    items.push(obj);
                }
                if limit > 0 && items.len() >= limit {
                    // More may follow: resume after this key.
                    if idx + 1 < res.kvs.len() || res.more {
                        next_start = Some(format!("{}\u{0}", kv.key));
                    }
                    cut = true;
                    break;
                }
            }
            if cut || !res.more {
                revision = served_at;
                break;
            }
            start = format!(
                "{}\u{0}",
                res.kvs.last().map(|k| k.key.as_str()).unwrap_or("")
            );
        }
        let mut metadata = json!({"resourceVersion": revision.to_string()});
        if let Some(next) = &next_start {
            metadata["continue"] = json!(encode_continue(revision, next, &prefix));
        }
        match output {
            Output::Table => Ok(json_response(
                StatusCode::OK,
                &crate::filter::to_table(info, &items, &ctx.query, metadata),
            )),
            Output::Metadata => Ok(json_response(
                StatusCode::OK,
                &json!({
                    "kind": "PartialObjectMetadataList",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": metadata,
                    "items": items.iter().map(codec::partial_metadata).collect::<Vec<_>>(),
                }),
            )),
            other => {
                for item in &mut items {
                    if let Some(o) = item.as_object_mut() {
                        o.insert("apiVersion".into(), json!(info.api_version()));
                        o.insert("kind".into(), json!(info.kind));
                    }
                }
                let list = json!({
                    "kind": info.list_kind(),
                    "apiVersion": info.api_version(),
                    "metadata": metadata,
                    "items": items,
                });
                let (ct, bytes) = codec::encode(&list, other);
                Ok(bytes_response(StatusCode::OK, ct, bytes))
            }
        }
    }

    async fn create(
        &self,
        info: &ResourceInfo,
        ns: Option<&str>,
        ctx: &RequestContext,
        body: &[u8],
        output: Output,
    ) -> Result<Response<Body>, ApiError> {
        let dry = dry_run(&ctx.query)?;
        let obj = self.decode_object(info, ctx, body, "CreateOptions")?;
        let manager = crate::managed::manager(ctx)?;
        let out = self
            .create_object(info, ns, ctx, obj, dry, Some(&manager))
            .await?;
        Ok(self.respond(info, StatusCode::CREATED, &out, output))
    }

    /// Creates a decoded object (apiVersion and kind already checked): system metadata,
    /// defaults, validation, admission, then the store. Returns the object as stored (or as it
    /// would be, for a dry run).
    pub async fn create_object(
        &self,
        info: &ResourceInfo,
        ns: Option<&str>,
        ctx: &RequestContext,
        mut obj: Value,
        dry: bool,
        manager: Option<&str>,
    ) -> Result<Value, ApiError> {
        let meta = object::metadata_mut(&mut obj)
            .ok_or_else(|| ApiError::bad_request("the object's metadata is not an object"))?;
        // Namespace: from the URL; a different one in the body is refused.
        if info.namespaced {
            let url_ns = ns.ok_or_else(ApiError::no_route)?;
            match meta.get("namespace").and_then(Value::as_str) {
                Some(body_ns) if !body_ns.is_empty() && body_ns != url_ns => {
                    return Err(ApiError::bad_request(
                        "the namespace of the provided object does not match the namespace sent on the request",
                    ));
                }
                _ => {
                    meta.insert("namespace".into(), json!(url_ns));
                }
            }
        } else {
            meta.remove("namespace");
        }
        // System fields.
        meta.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
        meta.insert("creationTimestamp".into(), json!(object::now_rfc3339()));
        for f in [
            "resourceVersion",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
        ] {
            meta.remove(f);
        }
        if info.has_status()
            && !keeps_status_on_create(info)
            && let Some(o) = obj.as_object_mut()
        {
            o.remove("status");
        }
        if info.group.is_empty() && info.kind == "Namespace" {
            // As kube-apiserver's namespace strategy: every namespace starts with the
            // `kubernetes` finalizer, which the namespace controller removes once it is empty.
            obj["spec"]["finalizers"] = json!(["kubernetes"]);
            obj["status"] = json!({"phase": "Active"});
        }
        if tracks_generation(info, &obj) {
            object::metadata_mut(&mut obj)
                .expect("object")
                .insert("generation".into(), json!(1));
        }
        set_daemonset_template_generation(info, &mut obj, None);
        object::drop_empty_metadata(&mut obj);
        if let Some(msg) = kinds::decoding_error(info, &obj) {
            return Err(ApiError::bad_request(msg));
        }
        let name = object::name(&obj).to_string();
        // NamespaceLifecycle first: nothing is admitted into a missing or terminating namespace.
        if let Some(ns) = ns.filter(|_| info.namespaced) {
            self.check_namespace_for_create(info, ns, &name).await?;
        }
        crate::crds::apply_defaults(info, &mut obj);
        let admission = crate::admission::Request {
            info,
            operation: crate::admission::Operation::Create,
            namespace: ns.filter(|_| info.namespaced),
            name: &name,
            subresource: None,
            old: None,
            dry_run: dry,
            ctx,
        };
        crate::admission::mutate(self, &admission, &mut obj).await?;
        // A generateName is turned into a name after mutating admission, as kube-apiserver's
        // BeforeCreate does (webhooks see the empty name and the generateName).
        let generate = object::meta_str(&obj, "generateName")
            .unwrap_or("")
            .to_string();
        if name.is_empty()
            && object::name(&obj).is_empty()
            && !generate.is_empty()
            && let Some(meta) = object::metadata_mut(&mut obj)
        {
            meta.insert(
                "name".into(),
                json!(format!("{generate}{}", random_suffix())),
            );
        }
        let name = object::name(&obj).to_string();
        let admission = crate::admission::Request {
            name: &name,
            ..admission
        };
        let errors = crate::crds::default_and_validate(info, &mut obj, None);
        if let Some(manager) = manager {
            crate::managed::record_update(info, None, &mut obj, manager, None);
        }
        if !errors.is_empty() {
            return Err(ApiError::invalid(&info.group, &info.kind, &name, &errors));
        }
        crate::admission::validate(self, &admission, &obj).await?;
        let _alloc_guard;
        if info.group.is_empty() && info.kind == "Service" {
            _alloc_guard = self.service_alloc.lock().await;
            crate::services::allocate(self, &mut obj, None).await?;
        }
        if dry {
            return Ok(obj);
        }
        let key = info.key(ns, &name);
        let kv = self
            .store
            .create(&key, encode_for_store(&obj))
            .await
            .map_err(|e| store_error(e, info, &name))?;
        object::set_resource_version(&mut obj, kv.mod_revision);
        Ok(obj)
    }

    /// Update (PUT) of the main resource or a subresource. `obj` is the full new object.
    pub async fn update(
        &self,
        info: &ResourceInfo,
        ns: Option<&str>,
        name: &str,
        obj: Value,
        sub: Option<&str>,
        ctx: &RequestContext,
    ) -> Result<Value, ApiError> {
        let dry = dry_run(&ctx.query)?;
        let manager = crate::managed::manager(ctx)?;
        let body_name = object::name(&obj).to_string();
        if !body_name.is_empty() && body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        if let Some(ns) = ns {
            match object::meta_str(&obj, "namespace") {
                Some(body_ns) if !body_ns.is_empty() && body_ns != ns => {
                    return Err(ApiError::bad_request(
                        "the namespace of the provided object does not match the namespace sent on the request",
                    ));
                }
                _ => {}
            }
        }
        let precondition = object::resource_version(&obj).map(parse_rv).transpose()?;
        let key = info.key(ns, name);
        for _ in 0..MAX_RETRIES {
            let current = self
                .store
                .get(&key)
                .await
                .map_err(|e| store_error(e, info, name))?;
            let Some(current) = current else {
                return Err(ApiError::not_found(&info.group, &info.plural, name));
            };
            if let Some(rv) = precondition
                && rv != current.mod_revision
            {
                return Err(ApiError::conflict(&info.group, &info.plural, name));
            }
            let old = decode_stored(&current.value, current.mod_revision);
            let new = merge_for_update(info, &old, obj.clone(), sub)?;
            match self
                .write_update(
                    info,
                    ns,
                    name,
                    &current,
                    &old,
                    new,
                    sub,
                    dry,
                    Some(&manager),
                    Some(ctx),
                )
                .await
            {
                Ok(v) => return Ok(v),
                Err(WriteError::Conflict) if precondition.is_none() => continue,
                Err(WriteError::Conflict) => {
                    return Err(ApiError::conflict(&info.group, &info.plural, name));
                }
                Err(WriteError::Api(e)) => return Err(e),
            }
        }
        Err(ApiError::conflict(&info.group, &info.plural, name))
    }

    /// Defaults, validates and writes `new` over `current`; deletes the object when the update
    /// removed the last finalizer of an object being deleted. Skips writes that change nothing.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn write_update(
        &self,
        info: &ResourceInfo,
        ns: Option<&str>,
        name: &str,
        current: &KeyValue,
        old: &Value,
        mut new: Value,
        sub: Option<&str>,
        dry: bool,
        manager: Option<&str>,
        ctx: Option<&RequestContext>,
    ) -> Result<Value, WriteError> {
        object::drop_empty_metadata(&mut new);
        if let Some(msg) = kinds::decoding_error(info, &new) {
            return Err(WriteError::Api(ApiError::bad_request(msg)));
        }
        let admission = ctx.map(|ctx| crate::admission::Request {
            info,
            operation: crate::admission::Operation::Update,
            namespace: ns.filter(|_| info.namespaced),
            name,
            subresource: sub,
            old: Some(old),
            dry_run: dry,
            ctx,
        });
        if let Some(admission) = &admission {
            crate::crds::apply_defaults(info, &mut new);
            crate::admission::mutate(self, admission, &mut new)
                .await
                .map_err(WriteError::Api)?;
        }
        let errors = crate::crds::default_and_validate(info, &mut new, Some(old));
        if let Some(manager) = manager {
            crate::managed::record_update(info, Some(old), &mut new, manager, sub);
        }
        if !errors.is_empty() {
            return Err(WriteError::Api(ApiError::invalid(
                &info.group,
                &info.kind,
                name,
                &errors,
            )));
        }
        if let Some(admission) = &admission {
            crate::admission::validate(self, admission, &new)
                .await
                .map_err(WriteError::Api)?;
        }
        if sub.is_none() && tracks_generation(info, &new) {
            let old_gen = old
                .pointer("/metadata/generation")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            let generation = if object::spec_part(&new) != object::spec_part(old) {
                old_gen + 1
            } else {
                old_gen
            };
            object::metadata_mut(&mut new)
                .expect("object")
                .insert("generation".into(), json!(generation));
            set_daemonset_template_generation(info, &mut new, Some(old));
        }
        if info.group.is_empty() && info.kind == "Service" && sub.is_none() {
            let _guard = self.service_alloc.lock().await;
            crate::services::allocate(self, &mut new, Some(old))
                .await
                .map_err(WriteError::Api)?;
        }
        let key = info.key(ns, name);
        // An object being deleted goes once its last finalizer is removed.
        if object::is_deleting(&new)
            && object::finalizers(&new).is_empty()
            && !pending_spec_finalizers(info, &new)
        {
            let graceful_pod = info.kind == "Pod" && info.group.is_empty() && grace_pending(&new);
            if !graceful_pod {
                if dry {
                    return Ok(new);
                }
                return match self.store.delete(&key, current.mod_revision).await {
                    Ok((rev, _)) => {
                        object::set_resource_version(&mut new, rev);
                        Ok(new)
                    }
                    Err(StoreError::Conflict { .. }) => Err(WriteError::Conflict),
                    Err(e) => Err(WriteError::Api(store_error(e, info, name))),
                };
            }
        }
        let mut new_cmp = new.clone();
        object::set_resource_version(&mut new_cmp, current.mod_revision);
        if new_cmp == *old {
            return Ok(old.clone());
        }
        if dry {
            return Ok(new_cmp);
        }
        match self
            .store
            .update(&key, encode_for_store(&new), current.mod_revision)
            .await
        {
            Ok(kv) => {
                object::set_resource_version(&mut new, kv.mod_revision);
                Ok(new)
            }
            Err(StoreError::Conflict { .. }) => Err(WriteError::Conflict),
            Err(StoreError::NotFound(_)) => Err(WriteError::Api(ApiError::not_found(
                &info.group,
                &info.plural,
                name,
            ))),
            Err(e) => Err(WriteError::Api(store_error(e, info, name))),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn patch(
        &self,
        info: &ResourceInfo,
        ns: Option<&str>,
        name: &str,
        sub: Option<&str>,
        ctx: &RequestContext,
        body: &[u8],
        output: Output,
    ) -> Result<Response<Body>, ApiError> {
        let dry = dry_run(&ctx.query)?;
        let manager = crate::managed::manager(ctx)?;
        let ty = codec::body_type(ctx.content_type.as_deref())?;
        if ty == BodyType::ApplyPatch {
            return self
                .apply_patch(info, ns, name, sub, ctx, body, output)
                .await;
        }
        if ctx.query.contains_key("force") {
            return Err(ApiError::invalid(
                "meta.k8s.io",
                "PatchOptions",
                "",
                &[FieldError::forbidden(
                    "force",
                    "may not be specified for non-apply patch",
                )],
            ));
        }
        let key = info.key(ns, name);
        for _ in 0..MAX_RETRIES {
            let current = self
                .store
                .get(&key)
                .await
                .map_err(|e| store_error(e, info, name))?;
            let Some(current) = current else {
                return Err(ApiError::not_found(&info.group, &info.plural, name));
            };
            let old = decode_stored(&current.value, current.mod_revision);
            let mut patched = crate::patch::apply(info, &old, body, ty)?;
            let raw = match ty {
                BodyType::MergePatch | BodyType::StrategicMergePatch => {
                    crate::managed::RawBody::Json(body)
                }
                _ => crate::managed::RawBody::None,
            };
            crate::managed::check_fields(info, ctx, "PatchOptions", raw, &mut patched)?;
            // A resourceVersion inside the patch is a precondition.
            let precondition = object::resource_version(&patched)
                .map(parse_rv)
                .transpose()?;
            if let Some(rv) = precondition
                && rv != current.mod_revision
            {
                return Err(ApiError::conflict(&info.group, &info.plural, name));
            }
            if object::name(&patched) != name {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({}) does not match the name on the URL ({name})",
                    object::name(&patched)
                )));
            }
            let new = merge_for_update(info, &old, patched, sub)?;
            match self
                .write_update(
                    info,
                    ns,
                    name,
                    &current,
                    &old,
                    new,
                    sub,
                    dry,
                    Some(&manager),
                    Some(ctx),
                )
                .await
            {
                Ok(v) => return Ok(self.respond(info, StatusCode::OK, &v, output)),
                // Lost a race: re-read and re-apply (an explicit resourceVersion in the patch is
                // checked again against the fresh object above).
                Err(WriteError::Conflict) => continue,
                Err(WriteError::Api(e)) => return Err(e),
            }
        }
        Err(ApiError::conflict(&info.group, &info.plural, name))
    }

    /// Server-side apply (`application/apply-patch+yaml`): merges the applied configuration
    /// into the live object under the request's field manager; creates the object when it does
    /// not exist.
    #[allow(clippy::too_many_arguments)]
    async fn apply_patch(
        &self,
        info: &ResourceInfo,
        ns: Option<&str>,
        name: &str,
        sub: Option<&str>,
        ctx: &RequestContext,
        body: &[u8],
        output: Output,
    ) -> Result<Response<Body>, ApiError> {
        let dry = dry_run(&ctx.query)?;
        let manager = match ctx.query.get("fieldManager").filter(|m| !m.is_empty()) {
            Some(_) => crate::managed::manager(ctx)?,
            None => {
                return Err(ApiError::invalid(
                    "meta.k8s.io",
                    "PatchOptions",
                    "",
                    &[FieldError::required(
                        "fieldManager",
                        "is required for apply patch",
                    )],
                ));
            }
        };
        let force = match ctx.query.get("force").map(String::as_str) {
            None | Some("") | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "invalid boolean value for force: {other}"
                )));
            }
        };
        let config = codec::decode_body(body, BodyType::Yaml)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {}", e.message)))?;
        if !config.is_object() {
            return Err(ApiError::bad_request(
                "error decoding YAML: the applied configuration is not an object",
            ));
        }
        let expected_av = info.api_version();
        let av = config
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        let kind = config.get("kind").and_then(Value::as_str).unwrap_or("");
        if av.is_empty() || kind.is_empty() {
            return Err(ApiError::bad_request(format!(
                "Object 'Kind' is missing in '{}'",
                String::from_utf8_lossy(body).trim()
            )));
        }
        if av != expected_av || kind != info.kind {
            return Err(ApiError::bad_request(format!(
                "{kind} in version \"{av}\" cannot be handled as a {}: the API version in the data ({av}) does not match the expected API version ({expected_av})",
                info.kind
            )));
        }
        let config_name = config
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        if config_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({config_name}) does not match the name on the URL ({name})"
            )));
        }
        let mut config = config;
        crate::managed::check_apply_config(info, &config)?;
        crate::managed::check_fields(
            info,
            ctx,
            "PatchOptions",
            crate::managed::RawBody::Yaml(body),
            &mut config,
        )?;
        let precondition = object::resource_version(&config)
            .map(parse_rv)
            .transpose()?;
        let key = info.key(ns, name);
        for _ in 0..MAX_RETRIES {
            let current = self
                .store
                .get(&key)
                .await
                .map_err(|e| store_error(e, info, name))?;
            let Some(current) = current else {
                if sub.is_some() || precondition.is_some() {
                    return Err(ApiError::not_found(&info.group, &info.plural, name));
                }
                let obj = crate::managed::apply(info, None, &config, &manager, force, None)?;
                match self.create_object(info, ns, ctx, obj, dry, None).await {
                    Ok(out) => return Ok(self.respond(info, StatusCode::CREATED, &out, output)),
                    // Created meanwhile: apply to it.
                    Err(e) if e.code == 409 && e.reason == "AlreadyExists" => continue,
                    Err(e) => return Err(e),
                }
            };
            if let Some(rv) = precondition
                && rv != current.mod_revision
            {
                return Err(ApiError::conflict(&info.group, &info.plural, name));
            }
            let old = decode_stored(&current.value, current.mod_revision);
            let applied = crate::managed::apply(info, Some(&old), &config, &manager, force, sub)?;
            let new = merge_for_update(info, &old, applied, sub)?;
            match self
                .write_update(
                    info,
                    ns,
                    name,
                    &current,
                    &old,
                    new,
                    sub,
                    dry,
                    None,
                    Some(ctx),
                )
                .await
            {
                Ok(v) => return Ok(self.respond(info, StatusCode::OK, &v, output)),
                Err(WriteError::Conflict) if precondition.is_none() => continue,
                Err(WriteError::Conflict) => {
                    return Err(ApiError::conflict(&info.group, &info.plural, name));
                }
                Err(WriteError::Api(e)) => return Err(e),
            }
        }
        Err(ApiError::conflict(&info.group, &info.plural, name))
    }

    async fn bind(
        &self,
        info: &ResourceInfo,
        ns: Option<&str>,
        name: &str,
        ctx: &RequestContext,
        body: &[u8],
    ) -> Result<Response<Body>, ApiError> {
        let ty = codec::body_type(ctx.content_type.as_deref())?;
        let binding = codec::decode_body(body, ty)?;
        let node = binding
            .pointer("/target/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        if node.is_empty() {
            return Err(ApiError::invalid(
                "",
                "Binding",
                name,
                &[FieldError::required("target.name", "")],
            ));
        }
        let key = info.key(ns, name);
        for _ in 0..MAX_RETRIES {
            let current = self
                .store
                .get(&key)
                .await
                .map_err(|e| store_error(e, info, name))?;
            let Some(current) = current else {
                return Err(ApiError::not_found(&info.group, &info.plural, name));
            };
            let old = decode_stored(&current.value, current.mod_revision);
            if object::is_deleting(&old) {
                return Err(ApiError::conflict_with(
                    "",
                    "pods",
                    name,
                    "pod is being deleted, cannot be assigned to a host",
                ));
            }
            if let Some(existing) = old
                .pointer("/spec/nodeName")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
            {
                return Err(ApiError::conflict_with(
                    "",
                    "pods",
                    name,
                    &format!("pod {name} is already assigned to node \"{existing}\""),
                ));
            }
            let mut new = old.clone();
            new["spec"]["nodeName"] = json!(node);
            let conditions = new["status"]["conditions"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let mut conditions: Vec<Value> = conditions
                .into_iter()
                .filter(|c| c["type"] != "PodScheduled")
                .collect();
            conditions.push(json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": object::now_rfc3339()}));
            new["status"]["conditions"] = json!(conditions);
            match self
                .store
                .update(&key, encode_for_store(&new), current.mod_revision)
                .await
            {
                Ok(_) => {
                    return Ok(json_response(
                        StatusCode::CREATED,
                        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
                    ));
                }
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(store_error(e, info, name)),
            }
        }
        Err(ApiError::conflict(&info.group, &info.plural, name))
    }

    async fn delete(
        &self,
        info: &ResourceInfo,
        ns: Option<&str>,
        name: &str,
        ctx: &RequestContext,
        body: &[u8],
        output: Output,
    ) -> Result<Response<Body>, ApiError> {
        let opts = DeleteOptions::parse(&ctx.query, body)?;
        if info.group.is_empty()
            && info.kind == "Namespace"
            && matches!(name, "default" | "kube-system" | "kube-public")
        {
            return Err(ApiError::forbidden(format!(
                "namespaces \"{name}\" is forbidden: this namespace may not be deleted"
            )));
        }
        let (obj, deleted) = self.delete_object(info, ns, name, &opts, Some(ctx)).await?;
        if deleted && !returns_deleted_object(info) {
            let uid = object::meta_str(&obj, "uid").unwrap_or_default();
            return Ok(json_response(
                StatusCode::OK,
                &json!({
                    "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                    "details": {"name": name, "group": info.group, "kind": info.plural, "uid": uid},
                }),
            ));
        }
        Ok(self.respond(info, StatusCode::OK, &obj, output))
    }

    /// Deletes one object as kube-apiserver does: at once, or only marked (finalizers, graceful
    /// pod deletion, namespaces). Returns the object and whether it is gone.
    pub async fn delete_object(
        &self,
        info: &ResourceInfo,
        ns: Option<&str>,
        name: &str,
        opts: &DeleteOptions,
        ctx: Option<&RequestContext>,
    ) -> Result<(Value, bool), ApiError> {
        let key = info.key(ns, name);
        if let Some(ctx) = ctx
            && opts.propagation.is_none()
            && opts.orphan_dependents.is_none()
            && default_gc_policy(info) == GcPolicy::OrphanDependents
            && info.group == "batch"
            && info.plural == "jobs"
        {
            // kube-apiserver's Job storage warns that batch/v1 orphans pods by default.
            if let Ok(mut w) = ctx.warnings.lock()
                && !w.iter().any(|x| x == JOB_ORPHAN_WARNING)
            {
                w.push(JOB_ORPHAN_WARNING.to_string());
            }
        }
        for _ in 0..MAX_RETRIES {
            let current = self
                .store
                .get(&key)
                .await
                .map_err(|e| store_error(e, info, name))?;
            let Some(current) = current else {
                return Err(ApiError::not_found(&info.group, &info.plural, name));
            };
            let old = decode_stored(&current.value, current.mod_revision);
            if let Some(uid) = &opts.precondition_uid {
                let actual = object::meta_str(&old, "uid").unwrap_or_default();
                if uid != actual {
                    return Err(ApiError::conflict_with(
                        &info.group,
                        &info.plural,
                        name,
                        &format!(
                            "Precondition failed: UID in precondition: {uid}, UID in object meta: {actual}"
                        ),
                    ));
                }
            }
            if let Some(rv) = &opts.precondition_rv {
                let actual = current.mod_revision.to_string();
                if *rv != actual {
                    return Err(ApiError::conflict_with(
                        &info.group,
                        &info.plural,
                        name,
                        &format!(
                            "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {actual}"
                        ),
                    ));
                }
            }
            if let Some(ctx) = ctx {
                let admission = crate::admission::Request {
                    info,
                    operation: crate::admission::Operation::Delete,
                    namespace: ns.filter(|_| info.namespaced),
                    name,
                    subresource: None,
                    old: Some(&old),
                    dry_run: opts.dry_run,
                    ctx,
                };
                crate::admission::validate_delete(self, &admission).await?;
            }
            let mut new = old.clone();
            let mut mark = false;
            if crate::crds::is_crd_resource(info) {
                // Its objects go first (the cleanup finalizer is removed once they are gone).
                crate::crds::prepare_delete(&mut new);
            }
            let is_pod = info.group.is_empty() && info.kind == "Pod";
            // The propagation policy becomes a finalizer the garbage collector acts on
            // (`orphan`, `foregroundDeletion`); a pending graceful deletion keeps its own.
            if !(is_pod && graceful_deletion_pending(&old, opts)) {
                set_gc_finalizers(info, &mut new, opts);
            }
            if !object::finalizers(&new).is_empty() || pending_spec_finalizers(info, &old) {
                mark = true;
            }
            if is_pod {
                let bound = old
                    .pointer("/spec/nodeName")
                    .and_then(Value::as_str)
                    .is_some_and(|n| !n.is_empty());
                let finished = matches!(
                    old.pointer("/status/phase").and_then(Value::as_str),
                    Some("Succeeded" | "Failed")
                );
                let default_grace = old
                    .pointer("/spec/terminationGracePeriodSeconds")
                    .and_then(Value::as_i64)
                    .unwrap_or(30);
                let grace = opts.grace_period.unwrap_or(default_grace).max(0);
                let grace = if !bound || finished { 0 } else { grace };
                let meta = object::metadata_mut(&mut new).expect("object");
                if grace > 0 {
                    let current_grace = meta
                        .get("deletionGracePeriodSeconds")
                        .and_then(Value::as_i64);
                    if current_grace.is_none_or(|g| grace < g) {
                        meta.insert("deletionTimestamp".into(), json!(object::rfc3339_in(grace)));
                        meta.insert("deletionGracePeriodSeconds".into(), json!(grace));
                    }
                    mark = true;
                } else {
                    meta.insert("deletionGracePeriodSeconds".into(), json!(0));
                }
            }
            if mark {
                let meta = object::metadata_mut(&mut new).expect("object");
                if !meta.contains_key("deletionTimestamp") {
                    meta.insert("deletionTimestamp".into(), json!(object::now_rfc3339()));
                    meta.insert("deletionGracePeriodSeconds".into(), json!(0));
                }
                if info.group.is_empty() && info.kind == "Namespace" {
                    new["status"]["phase"] = json!("Terminating");
                }
                if !(!object::finalizers(&new).is_empty()
                    || pending_spec_finalizers(info, &new)
                    || is_pod && grace_pending(&new))
                {
                    // Nothing holds it any more (a pod deleted with grace 0): fall through to delete.
                } else {
                    let mut cmp = new.clone();
                    object::set_resource_version(&mut cmp, current.mod_revision);
                    if cmp == old {
                        return Ok((old, false));
                    }
                    if opts.dry_run {
                        return Ok((cmp, false));
                    }
                    match self
                        .store
                        .update(&key, encode_for_store(&new), current.mod_revision)
                        .await
                    {
                        Ok(kv) => {
                            object::set_resource_version(&mut new, kv.mod_revision);
                            return Ok((new, false));
                        }
                        Err(StoreError::Conflict { .. }) => continue,
                        Err(e) => return Err(store_error(e, info, name)),
                    }
                }
            }
            if opts.dry_run {
                return Ok((old, true));
            }
            match self.store.delete(&key, current.mod_revision).await {
                Ok((rev, _)) => {
                    let mut gone = old;
                    object::set_resource_version(&mut gone, rev);
                    if info.group.is_empty() && info.kind == "Service" {
                        // Cluster IPs and node ports are free again once the object is gone.
                    }
                    return Ok((gone, true));
                }
                Err(StoreError::Conflict { .. }) => continue,
                Err(StoreError::NotFound(_)) => {
                    return Err(ApiError::not_found(&info.group, &info.plural, name));
                }
                Err(e) => return Err(store_error(e, info, name)),
            }
        }
        Err(ApiError::conflict(&info.group, &info.plural, name))
    }

    async fn delete_collection(
        &self,
        info: &ResourceInfo,
        ns: Option<&str>,
        ctx: &RequestContext,
        body: &[u8],
        output: Output,
    ) -> Result<Response<Body>, ApiError> {
        let opts = DeleteOptions::parse(&ctx.query, body)?;
        let filter = ListFilter::from_query(info, &ctx.query)?;
        let res = self
            .store
            .range(&info.namespace_prefix(ns), "", 0, None)
            .await
            .map_err(plain_store_error)?;
        let mut deleted = Vec::new();
        for kv in res.kvs {
            let obj = decode_stored(&kv.value, kv.mod_revision);
            if !filter.matches(&obj)? {
                continue;
            }
            let obj_ns = object::meta_str(&obj, "namespace").map(str::to_string);
            let name = object::name(&obj).to_string();
            match self
                .delete_object(info, obj_ns.as_deref(), &name, &opts, Some(ctx))
                .await
            {
                Ok((o, _)) => deleted.push(o),
                Err(e) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        let list = json!({
            "kind": info.list_kind(),
            "apiVersion": info.api_version(),
            "metadata": {"resourceVersion": res.revision.to_string()},
            "items": deleted,
        });
        let (ct, bytes) = codec::encode(
            &list,
            if output == Output::Table {
                Output::Json
            } else {
                output
            },
        );
        Ok(bytes_response(StatusCode::OK, ct, bytes))
    }
}

impl ApiServer {
    /// The `scale` subresource (autoscaling/v1 Scale) of deployments, replicasets,
    /// statefulsets and replicationcontrollers: GET reads it, PUT and PATCH set the parent's
    /// `spec.replicas`.
    async fn scale(
        &self,
        info: &ResourceInfo,
        ns: Option<&str>,
        name: &str,
        method: &Method,
        ctx: &RequestContext,
        body: &[u8],
    ) -> Result<Response<Body>, ApiError> {
        let dry = dry_run(&ctx.query)?;
        let manager = crate::managed::manager(ctx)?;
        let key = info.key(ns, name);
        for _ in 0..MAX_RETRIES {
            let current = self
                .store
                .get(&key)
                .await
                .map_err(|e| store_error(e, info, name))?;
            let Some(current) = current else {
                return Err(ApiError::not_found(&info.group, &info.plural, name));
            };
            let old = decode_stored(&current.value, current.mod_revision);
            let scale = scale_of(info, &old);
            let requested = match *method {
                Method::GET => return Ok(json_response(StatusCode::OK, &scale)),
                Method::PUT => {
                    let ty = codec::body_type(ctx.content_type.as_deref())?;
                    codec::decode_body(body, ty)?
                }
                Method::PATCH => {
                    let ty = codec::body_type(ctx.content_type.as_deref())?;
                    let ty = if ty == BodyType::StrategicMergePatch {
                        BodyType::MergePatch
                    } else {
                        ty
                    };
                    crate::patch::apply(info, &scale, body, ty)?
                }
                _ => return Err(ApiError::method_not_allowed(method.as_str())),
            };
            if let Some(rv) = object::resource_version(&requested)
                && *method == Method::PUT
                && parse_rv(rv)? != current.mod_revision
            {
                return Err(ApiError::conflict(&info.group, &info.plural, name));
            }
            let replicas = requested
                .pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            if replicas < 0 {
                return Err(ApiError::invalid(
                    "autoscaling",
                    "Scale",
                    name,
                    &[FieldError::invalid(
                        "spec.replicas",
                        replicas.to_string(),
                        "must be greater than or equal to 0",
                    )],
                ));
            }
            let mut new = old.clone();
            set_path(&mut new, &scale_paths(info).0, json!(replicas));
            match self
                .write_update(
                    info,
                    ns,
                    name,
                    &current,
                    &old,
                    new,
                    None,
                    dry,
                    Some(&manager),
                    Some(ctx),
                )
                .await
            {
                Ok(v) => return Ok(json_response(StatusCode::OK, &scale_of(info, &v))),
                Err(WriteError::Conflict) => continue,
                Err(WriteError::Api(e)) => return Err(e),
            }
        }
        Err(ApiError::conflict(&info.group, &info.plural, name))
    }
}

/// Where a scalable kind keeps its replicas: JSON pointers of the desired and observed counts
/// and, for custom resources, of the label selector string (`spec.subresources.scale` of the
/// CRD: `specReplicasPath`, `statusReplicasPath`, `labelSelectorPath`).
fn scale_paths(info: &ResourceInfo) -> (String, String, Option<String>) {
    let to_pointer = |p: &str| {
        p.trim_start_matches('.')
            .split('.')
            .fold(String::new(), |acc, s| format!("{acc}/{s}"))
    };
    match info
        .crd
        .as_deref()
        .and_then(|v| v.pointer("/subresources/scale"))
    {
        Some(scale) => {
            let path = |k: &str| scale.get(k).and_then(Value::as_str).map(to_pointer);
            (
                path("specReplicasPath").unwrap_or_else(|| "/spec/replicas".into()),
                path("statusReplicasPath").unwrap_or_else(|| "/status/replicas".into()),
                path("labelSelectorPath"),
            )
        }
        None => ("/spec/replicas".into(), "/status/replicas".into(), None),
    }
}

/// Sets the value at a JSON pointer, making the objects on the way.
fn set_path(obj: &mut Value, pointer: &str, value: Value) {
    let mut cur = obj;
    let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        if !cur.is_object() {
            *cur = json!({});
        }
        let map = cur.as_object_mut().expect("object");
        if i + 1 == parts.len() {
            map.insert((*part).to_string(), value);
            return;
        }
        cur = map.entry((*part).to_string()).or_insert_with(|| json!({}));
    }
}

/// The autoscaling/v1 Scale view of a scalable object.
fn scale_of(info: &ResourceInfo, obj: &Value) -> Value {
    if info.crd.is_some() {
        let (spec, status, selector) = scale_paths(info);
        let meta = &obj["metadata"];
        return json!({
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {
                "name": meta["name"],
                "namespace": meta["namespace"],
                "uid": meta["uid"],
                "resourceVersion": meta["resourceVersion"],
                "creationTimestamp": meta["creationTimestamp"],
            },
            "spec": {"replicas": obj.pointer(&spec).cloned().unwrap_or(json!(0))},
            "status": {
                "replicas": obj.pointer(&status).cloned().unwrap_or(json!(0)),
                "selector": selector.and_then(|p| obj.pointer(&p).cloned()).unwrap_or(json!("")),
            },
        });
    }
    let selector = obj
        .pointer("/spec/selector")
        .map(|sel| {
            if sel.get("matchLabels").is_some() || sel.get("matchExpressions").is_some() {
                warren_apimachinery::selectors::LabelSelector::from_label_selector_json(sel)
                    .map(|s| s.to_string())
                    .unwrap_or_default()
            } else {
                // ReplicationControllers select with a plain map.
                sel.as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .unwrap_or_default()
            }
        })
        .unwrap_or_default();
    let meta = &obj["metadata"];
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta["uid"],
            "resourceVersion": meta["resourceVersion"],
            "creationTimestamp": meta["creationTimestamp"],
        },
        "spec": {"replicas": obj.pointer("/spec/replicas").cloned().unwrap_or(json!(1))},
        "status": {
            "replicas": obj.pointer("/status/replicas").cloned().unwrap_or(json!(0)),
            "selector": selector,
        },
    })
}

/// Why a conditional write failed.
pub(crate) enum WriteError {
    /// The object changed underneath; retry or report 409.
    Conflict,
    /// Anything else.
    Api(ApiError),
}

/// Whether a namespace still has `spec.finalizers`.
fn pending_spec_finalizers(info: &ResourceInfo, obj: &Value) -> bool {
    info.group.is_empty()
        && info.kind == "Namespace"
        && obj
            .pointer("/spec/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
}

/// Whether a pod being deleted still waits for its node (grace period above zero).
fn grace_pending(obj: &Value) -> bool {
    obj.pointer("/metadata/deletionGracePeriodSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(0)
        > 0
}

/// Builds the object to store from the old one and the client's new one, keeping what the
/// client may not change: system metadata always, the status on a main-resource update of a
/// kind with a status subresource, everything but the status on a status update.
pub(crate) fn merge_for_update(
    info: &ResourceInfo,
    old: &Value,
    mut new: Value,
    sub: Option<&str>,
) -> Result<Value, ApiError> {
    if !new.is_object() {
        return Err(ApiError::bad_request("the object is not a JSON object"));
    }
    match sub {
        Some("status") => {
            let mut out = old.clone();
            out["status"] = new.get("status").cloned().unwrap_or(Value::Null);
            // managedFields were updated for the status write: they go with it (as the
            // status strategies of kube-apiserver keep them).
            if let Some(mf) = new.pointer("/metadata/managedFields")
                && let Some(meta) = object::metadata_mut(&mut out)
            {
                meta.insert("managedFields".into(), mf.clone());
            }
            if out["status"].is_null()
                && let Some(o) = out.as_object_mut()
            {
                o.remove("status");
            }
            return Ok(out);
        }
        Some("finalize") => {
            let mut out = old.clone();
            out["spec"]["finalizers"] = new
                .pointer("/spec/finalizers")
                .cloned()
                .unwrap_or(json!([]));
            return Ok(out);
        }
        Some(other) => return Err(ApiError::method_not_allowed(&format!("update of {other}"))),
        None => {}
    }
    new["apiVersion"] = json!(info.api_version());
    new["kind"] = json!(info.kind);
    let old_meta = old.get("metadata").cloned().unwrap_or(json!({}));
    let meta = object::metadata_mut(&mut new)
        .ok_or_else(|| ApiError::bad_request("metadata is not an object"))?;
    for f in [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
        "namespace",
        "name",
    ] {
        match old_meta.get(f) {
            Some(v) => {
                meta.insert(f.into(), v.clone());
            }
            None => {
                meta.remove(f);
            }
        }
    }
    if !meta.contains_key("managedFields")
        && let Some(mf) = old_meta.get("managedFields")
    {
        meta.insert("managedFields".into(), mf.clone());
    }
    if info.has_status() {
        match old.get("status") {
            Some(s) => new["status"] = s.clone(),
            None => {
                if let Some(o) = new.as_object_mut() {
                    o.remove("status");
                }
            }
        }
    }
    if info.group.is_empty() && info.kind == "Namespace" {
        // Namespace spec.finalizers change only through /finalize.
        if let Some(f) = old.pointer("/spec/finalizers") {
            new["spec"]["finalizers"] = f.clone()
        }
    }
    Ok(new)
}

/// The finalizer of an object whose dependents are orphaned before it goes.
pub const FINALIZER_ORPHAN: &str = "orphan";
/// The finalizer of an object whose dependents are deleted before it goes (foreground).
pub const FINALIZER_FOREGROUND: &str = "foregroundDeletion";

const JOB_ORPHAN_WARNING: &str = "child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning";

/// A resource strategy's `DefaultGarbageCollectionPolicy`: what a delete without a policy does
/// to dependents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GcPolicy {
    /// Dependents are deleted (in the background).
    DeleteDependents,
    /// Dependents are orphaned (`v1` ReplicationControllers and `batch/v1` Jobs, for
    /// backwards compatibility).
    OrphanDependents,
    /// The resource takes no garbage-collection finalizers (events).
    Unsupported,
}

/// The default garbage-collection policy of a served resource, as its upstream strategy.
pub fn default_gc_policy(info: &ResourceInfo) -> GcPolicy {
    match (
        info.group.as_str(),
        info.version.as_str(),
        info.plural.as_str(),
    ) {
        ("" | "events.k8s.io", _, "events") => GcPolicy::Unsupported,
        ("", "v1", "replicationcontrollers") | ("batch", "v1", "jobs") => {
            GcPolicy::OrphanDependents
        }
        _ => GcPolicy::DeleteDependents,
    }
}

/// Whether a pod's graceful deletion is already pending and this delete does not shorten it
/// (`rest.BeforeDelete`'s gracefulPending: finalizers are then left alone).
fn graceful_deletion_pending(old: &Value, opts: &DeleteOptions) -> bool {
    let Some(current) = old
        .pointer("/metadata/deletionGracePeriodSeconds")
        .and_then(Value::as_i64)
    else {
        return false;
    };
    object::is_deleting(old) && current > 0 && opts.grace_period.is_none_or(|g| g >= current)
}

/// Sets the `orphan` / `foregroundDeletion` finalizers a delete asks for
/// (`deletionFinalizersForGarbageCollection`): an explicit `orphanDependents` wins, then
/// `propagationPolicy`, then the finalizer already on the object, then the resource's default.
fn set_gc_finalizers(info: &ResourceInfo, obj: &mut Value, opts: &DeleteOptions) {
    let default = default_gc_policy(info);
    if default == GcPolicy::Unsupported {
        return;
    }
    let current = object::finalizers(obj);
    let existing = current
        .iter()
        .find(|f| *f == FINALIZER_ORPHAN || *f == FINALIZER_FOREGROUND)
        .map(String::as_str);
    let (orphan, foreground) = match (opts.orphan_dependents, opts.propagation.as_deref()) {
        (Some(o), _) => (o, false),
        (None, Some("Orphan")) => (true, false),
        (None, Some("Foreground")) => (false, true),
        (None, Some(_)) => (false, false),
        (None, None) => match existing {
            Some(FINALIZER_ORPHAN) => (true, false),
            Some(_) => (false, true),
            None => (default == GcPolicy::OrphanDependents, false),
        },
    };
    let mut wanted: Vec<String> = current
        .iter()
        .filter(|f| *f != FINALIZER_ORPHAN && *f != FINALIZER_FOREGROUND)
        .cloned()
        .collect();
    if orphan {
        wanted.push(FINALIZER_ORPHAN.into());
    }
    if foreground {
        wanted.push(FINALIZER_FOREGROUND.into());
    }
    let as_set = |v: &[String]| v.iter().cloned().collect::<std::collections::BTreeSet<_>>();
    if as_set(&wanted) == as_set(&current) {
        return;
    }
    if let Some(meta) = object::metadata_mut(obj) {
        if wanted.is_empty() {
            meta.remove("finalizers");
        } else {
            meta.insert("finalizers".into(), json!(wanted));
        }
    }
}

/// Delete options from the query and the body (`DeleteOptions`).
#[derive(Clone, Debug, Default)]
pub struct DeleteOptions {
    /// `gracePeriodSeconds`.
    pub grace_period: Option<i64>,
    /// `propagationPolicy`.
    pub propagation: Option<String>,
    /// The legacy `orphanDependents` (refused together with `propagationPolicy`).
    pub orphan_dependents: Option<bool>,
    /// `preconditions.uid`.
    pub precondition_uid: Option<String>,
    /// `preconditions.resourceVersion`.
    pub precondition_rv: Option<String>,
    /// `dryRun=All`.
    pub dry_run: bool,
}

impl DeleteOptions {
    /// Reads options from the query and an optional JSON/YAML body.
    pub fn parse(query: &HashMap<String, String>, body: &[u8]) -> Result<DeleteOptions, ApiError> {
        let mut opts = DeleteOptions {
            dry_run: dry_run(query)?,
            ..Default::default()
        };
        if let Some(g) = query.get("gracePeriodSeconds").filter(|s| !s.is_empty()) {
            opts.grace_period =
                Some(g.parse().map_err(|_| {
                    ApiError::bad_request(format!("invalid gracePeriodSeconds: {g}"))
                })?);
        }
        if let Some(p) = query.get("propagationPolicy").filter(|s| !s.is_empty()) {
            opts.propagation = Some(p.clone());
        }
        if let Some(o) = query.get("orphanDependents").filter(|s| !s.is_empty()) {
            // Go's strconv.ParseBool, as the parameter codec reads it.
            opts.orphan_dependents = Some(match o.as_str() {
                "1" | "t" | "T" | "TRUE" | "true" | "True" => true,
                "0" | "f" | "F" | "FALSE" | "false" | "False" => false,
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "invalid orphanDependents: {o}"
                    )));
                }
            });
        }
        if !body.iter().all(u8::is_ascii_whitespace) {
            let v = if body.starts_with(warren_apimachinery::protobuf::MAGIC) {
                codec::decode_body(body, BodyType::Protobuf)?
            } else {
                codec::decode_body(body, BodyType::Json)
                    .or_else(|_| codec::decode_body(body, BodyType::Yaml))?
            };
            if let Some(g) = v.get("gracePeriodSeconds").and_then(Value::as_i64) {
                opts.grace_period = Some(g);
            }
            if let Some(p) = v.get("propagationPolicy").and_then(Value::as_str) {
                opts.propagation = Some(p.to_string());
            }
            if let Some(o) = v.get("orphanDependents").and_then(Value::as_bool) {
                opts.orphan_dependents = Some(o);
            }
            if let Some(u) = v.pointer("/preconditions/uid").and_then(Value::as_str) {
                opts.precondition_uid = Some(u.to_string());
            }
            if let Some(r) = v
                .pointer("/preconditions/resourceVersion")
                .and_then(Value::as_str)
            {
                opts.precondition_rv = Some(r.to_string());
            }
            if let Some(d) = v.get("dryRun").and_then(Value::as_array)
                && d.iter().any(|x| x == "All")
            {
                opts.dry_run = true;
            }
        }
        // metav1 validation.ValidateDeleteOptions.
        let mut errors = Vec::new();
        if let (Some(p), Some(_)) = (&opts.propagation, opts.orphan_dependents) {
            errors.push(FieldError::invalid(
                "propagationPolicy",
                p.clone(),
                "orphanDependents and deletionPropagation cannot be both set",
            ));
        }
        if let Some(p) = &opts.propagation
            && !matches!(p.as_str(), "Orphan" | "Background" | "Foreground")
        {
            errors.push(FieldError::not_supported(
                "propagationPolicy",
                p.clone(),
                &["Foreground", "Background", "Orphan", "nil"],
            ));
        }
        if !errors.is_empty() {
            return Err(ApiError::invalid(
                "meta.k8s.io",
                "DeleteOptions",
                "",
                &errors,
            ));
        }
        Ok(opts)
    }
}

/// A continue token: base64 of `{"v":"meta.k8s.io/v1","rv":N,"start":"KEY-SUFFIX"}` like kube's.
pub fn encode_continue(revision: i64, next_key: &str, prefix: &str) -> String {
    use base64::Engine;
    let start = next_key.strip_prefix(prefix).unwrap_or(next_key);
    let token = json!({"v": "meta.k8s.io/v1", "rv": revision, "start": start});
    base64::engine::general_purpose::URL_SAFE.encode(serde_json::to_vec(&token).unwrap_or_default())
}

/// Decodes a continue token into (revision, first key to read).
pub fn decode_continue(token: &str, prefix: &str) -> Result<(i64, String), ApiError> {
    use base64::Engine;
    let invalid = |why: &str| ApiError::bad_request(format!("continue key is not valid: {why}"));
    let raw = base64::engine::general_purpose::URL_SAFE
        .decode(token)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token))
        .map_err(|_| invalid("illegal base64 data"))?;
    let v: Value = serde_json::from_slice(&raw).map_err(|_| invalid("not a JSON object"))?;
    if v["v"] != "meta.k8s.io/v1" {
        return Err(invalid("server does not recognize this encoded key"));
    }
    let rv = v["rv"].as_i64().filter(|r| *r > 0).ok_or_else(|| {
        invalid("incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
    })?;
    let start = v["start"]
        .as_str()
        .ok_or_else(|| invalid("missing start"))?;
    if start.contains("..") || start.starts_with('/') {
        return Err(invalid("path traversal attempt detected"));
    }
    Ok((rv, format!("{prefix}{start}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(group: &str, version: &str, plural: &str) -> ResourceInfo {
        warren_apimachinery::registry::builtin_resources()
            .into_iter()
            .find(|r| r.group == group && r.version == version && r.plural == plural)
            .expect("built-in resource")
    }

    fn finalizers_after(info: &ResourceInfo, existing: Value, opts: &DeleteOptions) -> Value {
        let mut obj = json!({"metadata": {"name": "x", "finalizers": existing}});
        object::drop_empty_metadata(&mut obj);
        set_gc_finalizers(info, &mut obj, opts);
        obj.pointer("/metadata/finalizers")
            .cloned()
            .unwrap_or(json!([]))
    }

    #[test]
    fn propagation_policies_become_garbage_collector_finalizers() {
        let cm = info("", "v1", "configmaps");
        let policy = |p: &str| DeleteOptions {
            propagation: Some(p.into()),
            ..Default::default()
        };
        assert_eq!(
            finalizers_after(&cm, json!(["a"]), &policy("Foreground")),
            json!(["a", "foregroundDeletion"])
        );
        assert_eq!(
            finalizers_after(&cm, json!([]), &policy("Orphan")),
            json!(["orphan"])
        );
        // A later policy replaces an earlier one; Background removes both.
        assert_eq!(
            finalizers_after(&cm, json!(["orphan"]), &policy("Foreground")),
            json!(["foregroundDeletion"])
        );
        assert_eq!(
            finalizers_after(&cm, json!(["orphan", "a"]), &policy("Background")),
            json!(["a"])
        );
        // No policy: an existing GC finalizer stays; otherwise the resource's default.
        let none = DeleteOptions::default();
        assert_eq!(
            finalizers_after(&cm, json!(["foregroundDeletion"]), &none),
            json!(["foregroundDeletion"])
        );
        assert_eq!(finalizers_after(&cm, json!([]), &none), json!([]));
        assert_eq!(
            finalizers_after(&info("batch", "v1", "jobs"), json!([]), &none),
            json!(["orphan"])
        );
        assert_eq!(
            finalizers_after(&info("", "v1", "replicationcontrollers"), json!([]), &none),
            json!(["orphan"])
        );
        // The legacy orphanDependents wins; events take no GC finalizers.
        let legacy = DeleteOptions {
            orphan_dependents: Some(false),
            ..Default::default()
        };
        assert_eq!(
            finalizers_after(&info("batch", "v1", "jobs"), json!(["orphan"]), &legacy),
            json!([])
        );
        assert_eq!(
            finalizers_after(&info("", "v1", "events"), json!([]), &policy("Orphan")),
            json!([])
        );
    }

    #[test]
    fn delete_options_parse_from_query_and_body() {
        let q = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let o = DeleteOptions::parse(&q(&[("propagationPolicy", "Foreground")]), b"").unwrap();
        assert_eq!(o.propagation.as_deref(), Some("Foreground"));
        let o = DeleteOptions::parse(
            &q(&[]),
            br#"{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Orphan"}"#,
        )
        .unwrap();
        assert_eq!(o.propagation.as_deref(), Some("Orphan"));
        let o = DeleteOptions::parse(&q(&[("orphanDependents", "true")]), b"").unwrap();
        assert_eq!(o.orphan_dependents, Some(true));
        let err = DeleteOptions::parse(
            &q(&[]),
            br#"{"orphanDependents":false,"propagationPolicy":"Background"}"#,
        )
        .unwrap_err();
        assert_eq!(err.code, 422);
        assert_eq!(
            err.message,
            "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Invalid value: \"Background\": orphanDependents and deletionPropagation cannot be both set"
        );
        let err = DeleteOptions::parse(&q(&[("propagationPolicy", "Sideways")]), b"").unwrap_err();
        assert_eq!(err.code, 422);
    }

    #[test]
    fn continue_round_trip() {
        let t = encode_continue(42, "/registry/core/pods/a/b\u{0}", "/registry/core/pods/");
        let (rv, start) = decode_continue(&t, "/registry/core/pods/").unwrap();
        assert_eq!(rv, 42);
        assert_eq!(start, "/registry/core/pods/a/b\u{0}");
        assert_eq!(decode_continue("!!!", "/p/").unwrap_err().code, 400);
    }
}
