//! Writes the OpenAPI definitions Warren serves for its built-in kinds.
//!
//! `warren_apimachinery::openapi` embeds `apimachinery/src/openapi_definitions.json`, a JSON
//! object `{"definitions": {NAME: schema}}` in OpenAPI v2 style (`$ref: "#/definitions/NAME"`).
//! The tenant API server builds `/openapi/v2` and `/openapi/v3` from it, and strategic merge
//! patch, server-side apply and field validation navigate it. The file is derived, never
//! hand-edited, from two crates on crates.io:
//!
//! * `k8s-openapi` (feature `schemars`): every type's JSON schema, with the upstream
//!   descriptions, types, formats, `required` and `$ref`s named like `io.k8s.api.core.v1.PodSpec`;
//!   its `Resource` trait gives each kind's group, version and kind;
//! * `k8s-pb`: the prost structs keep the doc comments of upstream's `generated.proto`, whose
//!   tags (`+patchMergeKey=`, `+patchStrategy=`, `+listType=`, `+listMapKey=`, `+mapType=`,
//!   `+structType=`) become `x-kubernetes-patch-merge-key`, `x-kubernetes-patch-strategy`,
//!   `x-kubernetes-list-type`, `x-kubernetes-list-map-keys` and `x-kubernetes-map-type`, as
//!   kube-openapi's generator turns the same tags into the same extensions. Proto fields are
//!   matched to JSON properties by lowercasing and dropping underscores (`host_ipc` ↔ `hostIPC`);
//!   a proto field with no JSON twin is Go's inline embedding, whose fields' tags go onto the
//!   embedding message's properties (`EphemeralContainer` ← `EphemeralContainerCommon`).
//!
//! The definitions are those reachable from every kind of
//! `warren_apimachinery::kinds::BUILTIN` and its `List` kind, plus the meta types
//! kube-apiserver documents (`Status`, `DeleteOptions`, `WatchEvent`, `APIResourceList`,
//! `Patch`...) and the subresource kinds `autoscaling/v1 Scale`, `core/v1 Binding`,
//! `policy/v1 Eviction` and `authentication.k8s.io/v1 TokenRequest`. `IntOrString` and `Quantity` are written as upstream's swagger.json
//! has them (`type: string`, with `format: int-or-string` for the former).
//!
//! Regenerate from the workspace root (run `cargo fetch` first so that k8s-pb's sources are in
//! the cargo registry):
//!
//! ```text
//! cargo run -p openapi-gen -- --out apimachinery/src/openapi_definitions.json
//! ```
//!
//! `--k8s-pb DIR` names k8s-pb's `src` directory (default: the newest copy under
//! `$CARGO_HOME/registry/src`). `cargo test -p openapi-gen` checks that the committed file is
//! what the generator writes.
#![forbid(unsafe_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use k8s_openapi::{ListableResource, Resource};
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Map, Value, json};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("openapi-gen: {message}");
            ExitCode::from(64)
        }
    }
}

fn run() -> Result<(), String> {
    let mut pb_dir = None;
    let mut out = PathBuf::from("apimachinery/src/openapi_definitions.json");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--k8s-pb" => pb_dir = Some(PathBuf::from(value()?)),
            "--out" => out = PathBuf::from(value()?),
            "-h" | "--help" => {
                println!("usage: openapi-gen [--k8s-pb DIR] [--out FILE]");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let pb_dir = match pb_dir {
        Some(dir) => dir,
        None => newest_crate_dir("k8s-pb-")?.join("src"),
    };
    let text = generate(&pb_dir)?;
    std::fs::write(&out, text).map_err(|e| format!("writing {}: {e}", out.display()))?;
    eprintln!("openapi-gen: wrote {}", out.display());
    Ok(())
}

/// The whole output file, as text.
fn generate(pb_dir: &Path) -> Result<String, String> {
    let pb = parse_k8s_pb(pb_dir)?;
    let mut definitions = definitions_from_k8s_openapi(&pb)?;
    add_tags(&mut definitions, &pb);
    let doc = sorted(json!({ "definitions": definitions }));
    let mut text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
    text.push('\n');
    Ok(text)
}

// ---------------------------------------------------------------------------------------------
// k8s-openapi: schemas and kinds.

/// A kind whose definition carries `x-kubernetes-group-version-kind`.
struct KindEntry {
    group: String,
    version: String,
    kind: String,
    definition: String,
    /// For listable kinds, the list kind's name (`DeploymentList`).
    list_kind: Option<String>,
}

fn register<T: JsonSchema + Resource>(generator: &mut SchemaGenerator) -> KindEntry {
    generator.subschema_for::<T>();
    KindEntry {
        group: T::GROUP.to_string(),
        version: T::VERSION.to_string(),
        kind: T::KIND.to_string(),
        definition: T::schema_name().into_owned(),
        list_kind: None,
    }
}

fn register_listable<T: JsonSchema + ListableResource>(
    generator: &mut SchemaGenerator,
) -> KindEntry {
    let mut entry = register::<T>(generator);
    entry.list_kind = Some(T::LIST_KIND.to_string());
    entry
}

/// Every served built-in kind (must cover `BUILTIN`) and the subresource kinds.
fn kinds(generator: &mut SchemaGenerator) -> Vec<KindEntry> {
    use k8s_openapi::api::{
        admissionregistration, apps, authentication, authorization, autoscaling, batch,
        coordination, core, discovery, events, networking, node, policy, rbac, scheduling, storage,
    };
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions;
    macro_rules! listable {
        ($($t:ty),* $(,)?) => { vec![$(register_listable::<$t>(generator)),*] };
    }
    let mut entries = listable![
        core::v1::ConfigMap,
        core::v1::Endpoints,
        core::v1::Event,
        core::v1::LimitRange,
        core::v1::Namespace,
        core::v1::Node,
        core::v1::PersistentVolumeClaim,
        core::v1::PersistentVolume,
        core::v1::Pod,
        core::v1::PodTemplate,
        core::v1::ReplicationController,
        core::v1::ResourceQuota,
        core::v1::Secret,
        core::v1::ServiceAccount,
        core::v1::Service,
        apps::v1::ControllerRevision,
        apps::v1::DaemonSet,
        apps::v1::Deployment,
        apps::v1::ReplicaSet,
        apps::v1::StatefulSet,
        events::v1::Event,
        admissionregistration::v1::MutatingWebhookConfiguration,
        admissionregistration::v1::ValidatingWebhookConfiguration,
        autoscaling::v2::HorizontalPodAutoscaler,
        batch::v1::CronJob,
        batch::v1::Job,
        networking::v1::IngressClass,
        networking::v1::Ingress,
        networking::v1::NetworkPolicy,
        policy::v1::PodDisruptionBudget,
        rbac::v1::ClusterRoleBinding,
        rbac::v1::ClusterRole,
        rbac::v1::RoleBinding,
        rbac::v1::Role,
        storage::v1::StorageClass,
        apiextensions::v1::CustomResourceDefinition,
        scheduling::v1::PriorityClass,
        coordination::v1::Lease,
        node::v1::RuntimeClass,
        discovery::v1::EndpointSlice,
    ];
    // The create-only reviews.
    entries.push(register::<authentication::v1::SelfSubjectReview>(generator));
    entries.push(register::<authentication::v1::TokenReview>(generator));
    entries.push(register::<authorization::v1::LocalSubjectAccessReview>(
        generator,
    ));
    entries.push(register::<authorization::v1::SelfSubjectAccessReview>(
        generator,
    ));
    entries.push(register::<authorization::v1::SelfSubjectRulesReview>(
        generator,
    ));
    entries.push(register::<authorization::v1::SubjectAccessReview>(
        generator,
    ));
    entries.push(register::<autoscaling::v1::Scale>(generator));
    entries.push(register::<core::v1::Binding>(generator));
    entries.push(register::<policy::v1::Eviction>(generator));
    entries.push(register::<authentication::v1::TokenRequest>(generator));
    entries
}

fn definitions_from_k8s_openapi(pb: &PbCrate) -> Result<Map<String, Value>, String> {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
    let mut generator = SchemaSettings::draft07()
        .with(|s| {
            s.definitions_path = "/definitions".into();
            s.meta_schema = None;
        })
        .into_generator();
    let entries = kinds(&mut generator);
    for builtin in warren_apimachinery::kinds::BUILTIN {
        if !entries.iter().any(|e| {
            e.group == builtin.group && e.version == builtin.version && e.kind == builtin.kind
        }) {
            return Err(format!(
                "built-in kind {}/{} {} has no k8s-openapi type in openapi-gen's list",
                builtin.group, builtin.version, builtin.kind
            ));
        }
    }
    generator.subschema_for::<meta::Status>();
    generator.subschema_for::<meta::DeleteOptions>();
    generator.subschema_for::<meta::WatchEvent<()>>();
    generator.subschema_for::<meta::APIResourceList>();
    generator.subschema_for::<meta::APIGroup>();
    generator.subschema_for::<meta::APIGroupList>();
    generator.subschema_for::<meta::APIVersions>();
    generator.subschema_for::<meta::Patch>();
    let mut definitions = generator.take_definitions(false);
    for value in definitions.values_mut() {
        rewrite_refs(value);
    }

    // Kinds and their lists.
    for entry in &entries {
        let definition = definitions
            .get_mut(&entry.definition)
            .and_then(Value::as_object_mut)
            .ok_or_else(|| format!("no definition {}", entry.definition))?;
        definition.insert(
            "x-kubernetes-group-version-kind".into(),
            json!([{"group": entry.group, "version": entry.version, "kind": entry.kind}]),
        );
        if let Some(list_kind) = &entry.list_kind {
            let list = list_definition(entry, list_kind, definition, pb);
            let name = format!(
                "{}{}",
                entry.definition.trim_end_matches(&entry.kind),
                list_kind
            );
            definitions.insert(name, list);
        }
    }

    // Meta kinds that every group-version serves (upstream lists one GVK per group-version;
    // Warren names the core one and one per served group-version).
    let mut group_versions: BTreeSet<(String, String)> = entries
        .iter()
        .map(|e| (e.group.clone(), e.version.clone()))
        .collect();
    group_versions.insert((String::new(), "v1".into()));
    for (name, kind) in [
        (
            "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions",
            "DeleteOptions",
        ),
        (
            "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent",
            "WatchEvent",
        ),
    ] {
        let gvks: Vec<Value> = group_versions
            .iter()
            .map(|(g, v)| json!({"group": g, "version": v, "kind": kind}))
            .collect();
        set_extension(&mut definitions, name, Value::Array(gvks))?;
    }
    for (name, kind) in [
        ("io.k8s.apimachinery.pkg.apis.meta.v1.Status", "Status"),
        ("io.k8s.apimachinery.pkg.apis.meta.v1.APIGroup", "APIGroup"),
        (
            "io.k8s.apimachinery.pkg.apis.meta.v1.APIGroupList",
            "APIGroupList",
        ),
        (
            "io.k8s.apimachinery.pkg.apis.meta.v1.APIVersions",
            "APIVersions",
        ),
    ] {
        set_extension(
            &mut definitions,
            name,
            json!([{"group": "", "version": "v1", "kind": kind}]),
        )?;
    }

    // IntOrString and Quantity as upstream's swagger.json has them.
    for (name, format) in [
        (
            "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
            Some("int-or-string"),
        ),
        ("io.k8s.apimachinery.pkg.api.resource.Quantity", None),
    ] {
        let definition = definitions
            .get_mut(name)
            .and_then(Value::as_object_mut)
            .ok_or_else(|| format!("no definition {name}"))?;
        definition.remove("x-kubernetes-int-or-string");
        definition.insert("type".into(), "string".into());
        if let Some(format) = format {
            definition.insert("format".into(), format.into());
        }
    }
    Ok(definitions)
}

fn set_extension(
    definitions: &mut Map<String, Value>,
    name: &str,
    gvks: Value,
) -> Result<(), String> {
    definitions
        .get_mut(name)
        .and_then(Value::as_object_mut)
        .ok_or_else(|| format!("no definition {name}"))?
        .insert("x-kubernetes-group-version-kind".into(), gvks);
    Ok(())
}

/// `FooList`: items of the kind, list metadata, apiVersion and kind, with descriptions from
/// the list message's doc comments in k8s-pb and the kind's own `apiVersion`/`kind` texts.
fn list_definition(
    entry: &KindEntry,
    list_kind: &str,
    kind_definition: &Map<String, Value>,
    pb: &PbCrate,
) -> Value {
    let message = pb.message_for(&entry.definition.replace(&entry.kind, list_kind));
    let field_doc = |field: &str| {
        message
            .and_then(|m| m.fields.iter().find(|f| f.rust_name == field))
            .map(|f| f.doc.clone())
            .filter(|d| !d.is_empty())
    };
    let property_doc = |property: &str| {
        kind_definition
            .get("properties")
            .and_then(|p| p.get(property))
            .and_then(|p| p.get("description"))
            .cloned()
    };
    let mut properties = Map::new();
    let mut api_version = json!({"type": "string"});
    if let Some(d) = property_doc("apiVersion") {
        api_version["description"] = d;
    }
    properties.insert("apiVersion".into(), api_version);
    let mut kind = json!({"type": "string"});
    if let Some(d) = property_doc("kind") {
        kind["description"] = d;
    }
    properties.insert("kind".into(), kind);
    let mut items = json!({
        "type": "array",
        "items": {"$ref": format!("#/definitions/{}", entry.definition)},
    });
    items["description"] = field_doc("items")
        .unwrap_or_else(|| format!("List of {}.", entry.kind))
        .into();
    properties.insert("items".into(), items);
    let mut metadata =
        json!({"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"});
    metadata["description"] = field_doc("metadata")
        .unwrap_or_else(|| "Standard list metadata.".into())
        .into();
    properties.insert("metadata".into(), metadata);
    let description = message
        .map(|m| m.doc.clone())
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| format!("{list_kind} is a list of {}.", entry.kind));
    json!({
        "description": description,
        "type": "object",
        "required": ["items"],
        "properties": properties,
        "x-kubernetes-group-version-kind": [{"group": entry.group, "version": entry.version, "kind": list_kind}],
    })
}

/// Every `$ref` becomes `#/definitions/NAME`.
fn rewrite_refs(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get_mut("$ref")
                && let Some((_, name)) = r.rsplit_once('/')
            {
                *r = format!("#/definitions/{name}");
            }
            map.values_mut().for_each(rewrite_refs);
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite_refs),
        _ => {}
    }
}

/// The value with every object's keys in sorted order.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let entries: BTreeMap<String, Value> =
                map.into_iter().map(|(k, v)| (k, sorted(v))).collect();
            Value::Object(entries.into_iter().collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

// ---------------------------------------------------------------------------------------------
// k8s-pb: doc-comment tags.

#[derive(Debug, Default)]
struct PbField {
    rust_name: String,
    /// Last path segment of the field's message type, if it names one.
    type_name: Option<String>,
    doc: String,
    tags: Vec<(String, String)>,
}

#[derive(Debug, Default)]
struct PbMessage {
    doc: String,
    tags: Vec<(String, String)>,
    fields: Vec<PbField>,
}

#[derive(Debug, Default)]
struct PbCrate {
    /// `(module path such as "api/core/v1", message name)` → message.
    messages: BTreeMap<(String, String), PbMessage>,
}

impl PbCrate {
    /// The message of a definition name (`io.k8s.api.core.v1.PodSpec` → `api/core/v1`,
    /// `PodSpec`; `io.k8s.apiextensions-apiserver.pkg...` → `apiextensions_apiserver/pkg/...`).
    fn message_for(&self, definition: &str) -> Option<&PbMessage> {
        let rest = definition.strip_prefix("io.k8s.")?;
        let (module, name) = rest.rsplit_once('.')?;
        let module = module.replace('.', "/").replace('-', "_");
        self.messages.get(&(module, name.to_string()))
    }

    /// A message named `name`, preferably in `module`.
    fn find(&self, module: &str, name: &str) -> Option<&PbMessage> {
        self.messages
            .get(&(module.to_string(), name.to_string()))
            .or_else(|| {
                let mut all = self.messages.iter().filter(|((_, n), _)| n == name);
                match (all.next(), all.next()) {
                    (Some((_, m)), None) => Some(m),
                    _ => None,
                }
            })
    }
}

fn parse_k8s_pb(root: &Path) -> Result<PbCrate, String> {
    let mut files = Vec::new();
    rust_files(root, &mut files)?;
    files.sort();
    let mut pb = PbCrate::default();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .map_err(|e| format!("reading {}: {e}", file.display()))?;
        let relative = file.strip_prefix(root).unwrap_or(&file);
        let mut parts: Vec<String> = relative
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        parts.pop();
        parse_pb_module(&parts.join("/"), &text, &mut pb);
    }
    if pb.messages.is_empty() {
        return Err(format!("no prost messages under {}", root.display()));
    }
    Ok(pb)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
    for entry in entries.filter_map(|e| e.ok()) {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out)?;
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// Doc comment lines → (description as upstream joins it, `+key=value` tags).
fn split_doc(lines: &[String]) -> (String, Vec<(String, String)>) {
    let mut tags = Vec::new();
    let mut paragraphs: Vec<String> = vec![String::new()];
    for line in lines {
        let trimmed = line.trim();
        if let Some(tag) = trimmed.strip_prefix('+') {
            if let Some((key, value)) = tag.split_once('=') {
                tags.push((key.trim().to_string(), value.trim().to_string()));
            }
            continue;
        }
        if trimmed.is_empty() {
            if !paragraphs.last().is_some_and(String::is_empty) {
                paragraphs.push(String::new());
            }
            continue;
        }
        let current = paragraphs.last_mut().expect("one paragraph");
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(trimmed);
    }
    let doc = paragraphs
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n");
    (doc, tags)
}

fn parse_pb_module(module: &str, text: &str, pb: &mut PbCrate) {
    let mut doc: Vec<String> = Vec::new();
    let mut current: Option<(String, PbMessage)> = None;
    let mut pending_field: Option<PbField> = None;
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(comment) = trimmed.strip_prefix("///") {
            doc.push(comment.strip_prefix(' ').unwrap_or(comment).to_string());
            continue;
        }
        if trimmed.starts_with("#[") {
            continue;
        }
        if let Some(field) = pending_field.as_mut() {
            // Continuation of a wrapped field type.
            finish_type(field, trimmed);
            if trimmed.ends_with(',')
                && let Some((_, message)) = current.as_mut()
            {
                message.fields.extend(pending_field.take());
            }
            doc.clear();
            continue;
        }
        if let Some(rest) = line.strip_prefix("pub struct ") {
            if let Some((name, message)) = current.take() {
                pb.messages.insert((module.to_string(), name), message);
            }
            let name = rest
                .trim_end_matches('{')
                .trim()
                .trim_end_matches("{}")
                .trim();
            let (d, tags) = split_doc(&doc);
            let message = PbMessage {
                doc: d,
                tags,
                fields: Vec::new(),
            };
            if rest.trim_end().ends_with("{}") {
                pb.messages
                    .insert((module.to_string(), name.to_string()), message);
            } else {
                current = Some((name.to_string(), message));
            }
        } else if line == "}" {
            if let Some((name, message)) = current.take() {
                pb.messages.insert((module.to_string(), name), message);
            }
        } else if let (Some(decl), Some(_)) = (trimmed.strip_prefix("pub "), current.as_ref())
            && let Some((name, ty)) = decl.split_once(':')
        {
            let (d, tags) = split_doc(&doc);
            let mut field = PbField {
                rust_name: name.trim().trim_start_matches("r#").to_string(),
                type_name: None,
                doc: d,
                tags,
            };
            finish_type(&mut field, ty.trim());
            if ty.trim().ends_with(',') {
                if let Some((_, message)) = current.as_mut() {
                    message.fields.push(field);
                }
            } else {
                pending_field = Some(field);
            }
        }
        doc.clear();
    }
    if let Some((name, message)) = current.take() {
        pb.messages.insert((module.to_string(), name), message);
    }
}

/// Records the message type named by (a piece of) a field's type, if any.
fn finish_type(field: &mut PbField, ty: &str) {
    if ty.is_empty() || ty.contains("String") && !ty.contains("BTreeMap") {
        return;
    }
    let last = ty
        .trim_end_matches([',', '>'])
        .rsplit([':', '<', ' '])
        .next()
        .unwrap_or("");
    if last.chars().next().is_some_and(char::is_uppercase) && last != "String" {
        field.type_name = Some(last.to_string());
    }
}

fn normalise(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Puts the k8s-pb tags onto the definitions as kube-openapi's extensions.
fn add_tags(definitions: &mut Map<String, Value>, pb: &PbCrate) {
    for (name, definition) in definitions.iter_mut() {
        let Some(message) = pb.message_for(name) else {
            continue;
        };
        let Some(definition) = definition.as_object_mut() else {
            continue;
        };
        let module = name
            .strip_prefix("io.k8s.")
            .and_then(|r| r.rsplit_once('.'))
            .map(|(m, _)| m.replace('.', "/").replace('-', "_"))
            .unwrap_or_default();
        apply_tags(definition, &message.tags);
        let Some(properties) = definition
            .get_mut("properties")
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        let mut fields: Vec<&PbField> = Vec::new();
        collect_fields(pb, &module, message, properties, &mut fields, 0);
        for field in fields {
            let key = normalise(&field.rust_name);
            match properties
                .iter_mut()
                .find(|(k, _)| k.to_lowercase() == key)
                .and_then(|(_, v)| v.as_object_mut())
            {
                Some(property) => apply_tags(property, &field.tags),
                None if field.tags.iter().any(|(k, _)| is_schema_tag(k)) => {
                    eprintln!(
                        "openapi-gen: warning: {name}: tagged proto field {} has no JSON property",
                        field.rust_name
                    );
                }
                None => {}
            }
        }
    }
}

/// The fields of a message, with inline-embedded messages' fields in place of the embedding.
fn collect_fields<'a>(
    pb: &'a PbCrate,
    module: &str,
    message: &'a PbMessage,
    properties: &Map<String, Value>,
    out: &mut Vec<&'a PbField>,
    depth: usize,
) {
    for field in &message.fields {
        let key = normalise(&field.rust_name);
        let has_twin = properties.keys().any(|k| k.to_lowercase() == key);
        if has_twin {
            out.push(field);
        } else if depth < 3
            && let Some(embedded) = field.type_name.as_deref().and_then(|t| pb.find(module, t))
        {
            collect_fields(pb, module, embedded, properties, out, depth + 1);
        }
    }
}

/// Tags that become schema extensions.
fn is_schema_tag(key: &str) -> bool {
    matches!(
        key,
        "patchMergeKey" | "patchStrategy" | "listType" | "listMapKey" | "mapType" | "structType"
    )
}

fn apply_tags(node: &mut Map<String, Value>, tags: &[(String, String)]) {
    let mut map_keys = Vec::new();
    for (key, value) in tags {
        match key.as_str() {
            "patchMergeKey" => {
                node.insert("x-kubernetes-patch-merge-key".into(), value.clone().into());
            }
            "patchStrategy" => {
                node.insert("x-kubernetes-patch-strategy".into(), value.clone().into());
            }
            "listType" => {
                node.insert("x-kubernetes-list-type".into(), value.clone().into());
            }
            "listMapKey" => map_keys.push(Value::String(value.clone())),
            "mapType" | "structType" => {
                node.insert("x-kubernetes-map-type".into(), value.clone().into());
            }
            _ => {}
        }
    }
    if !map_keys.is_empty() {
        node.insert("x-kubernetes-list-map-keys".into(), Value::Array(map_keys));
    }
}

// ---------------------------------------------------------------------------------------------
// Locating k8s-pb's sources.

/// The newest `<prefix><version>` crate directory in the cargo registry.
fn newest_crate_dir(prefix: &str) -> Result<PathBuf, String> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .ok_or("neither CARGO_HOME nor HOME is set")?;
    let src = cargo_home.join("registry").join("src");
    let indexes = std::fs::read_dir(&src).map_err(|e| format!("reading {}: {e}", src.display()))?;
    let mut found: Vec<(Vec<u64>, PathBuf)> = Vec::new();
    for index in indexes.filter_map(|e| e.ok()) {
        let Ok(entries) = std::fs::read_dir(index.path()) else {
            continue;
        };
        for entry in entries.filter_map(|e| e.ok()) {
            let name = entry.file_name().to_string_lossy().into_owned();
            let version = name
                .strip_prefix(prefix)
                .and_then(|v| v.split('.').map(|p| p.parse().ok()).collect());
            if let Some(version) = version {
                found.push((version, entry.path()));
            }
        }
    }
    found.sort();
    found
        .pop()
        .map(|(_, path)| path)
        .ok_or_else(|| format!("no {prefix}* crate in the cargo registry; run `cargo fetch`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed file is exactly what the generator writes today.
    #[test]
    fn committed_definitions_are_up_to_date() {
        let pb_dir = newest_crate_dir("k8s-pb-")
            .expect("k8s-pb sources")
            .join("src");
        let generated = generate(&pb_dir).expect("generate");
        let committed = include_str!("../../../apimachinery/src/openapi_definitions.json");
        assert!(
            generated == committed,
            "apimachinery/src/openapi_definitions.json is stale; run \
             `cargo run -p openapi-gen -- --out apimachinery/src/openapi_definitions.json`"
        );
    }

    #[test]
    fn doc_comments_split_into_text_and_tags() {
        let lines: Vec<String> = [
            "List of ports.",
            "Not specifying a port here",
            "",
            "More.",
            "+optional",
            "+listMapKey=containerPort",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (doc, tags) = split_doc(&lines);
        assert_eq!(doc, "List of ports. Not specifying a port here\n\nMore.");
        assert_eq!(
            tags,
            vec![("listMapKey".to_string(), "containerPort".to_string())]
        );
    }
}
