//! Writes the schema table Warren uses to decode Kubernetes protobuf request bodies.
//!
//! Warren stores JSON, but kubectl's typed clients send `application/vnd.kubernetes.protobuf`.
//! `warren_apimachinery::protobuf` decodes those bodies with a hand-written wire-format reader
//! driven by the table this tool writes (`apimachinery/src/protobuf_schema.txt`). The table is
//! derived, never hand-edited, from two crates on crates.io:
//!
//! * `k8s-pb`: the prost structs give every message, each field's tag, wire type and
//!   cardinality, and the message type of nested fields;
//! * `k8s-openapi`: its serde deserializers name every field's JSON spelling
//!   (`"clusterIP" => Field::Key_cluster_ip`) and its struct fields tell required (`T`) from
//!   optional (`Option<T>`).
//!
//! Fields are matched between the two by normalising the Rust names (lowercase, no
//! underscores): prost's `pod_i_ps` and k8s-openapi's `pod_ips` are both `podips`. A prost
//! message field with no twin whose message's fields all live in the k8s-openapi struct is Go's
//! `json:",inline"` embedding (`Volume.volumeSource`); it is written with JSON name `-`.
//!
//! Go's `encoding/json` drops zero values of plain (non-pointer) `omitempty` fields but keeps
//! them for pointers. Neither crate records pointer-ness, so the table marks optional strings
//! and bytes "omit when empty" and optional numbers and booleans "keep zero", with the two
//! short hand-kept exception lists below ([`GO_PLAIN_SCALARS`], [`GO_POINTER_STRINGS`]).
//! Lists and maps are left out when empty, except required ones and [`GO_NULL_LISTS`], which
//! Go writes as `null`.
//!
//! Usage (from the workspace root):
//!
//! ```text
//! cargo run -p proto-schema-gen -- [--k8s-pb DIR] [--k8s-openapi DIR] [--out FILE]
//! ```
//!
//! `--k8s-pb` is the crate's `src` directory, `--k8s-openapi` a version directory such as
//! `.../k8s-openapi-0.29.0/src/v1_37`; both default to the newest copies found under
//! `$CARGO_HOME/registry/src` (run `cargo fetch` first). `--out` defaults to
//! `apimachinery/src/protobuf_schema.txt`.
//!
//! Table format, one record a line, fields separated by single spaces:
//!
//! ```text
//! # comment
//! G <apiVersion> <proto package>            group/version served by a package
//! M <full message name>                      starts a message
//! F <tag> <json name|-> <card> <type> [z|k|n]  a field of the last message
//! ```
//!
//! `<card>` is `opt`, `req` (a required scalar or message: Go always emits it), `rep` (repeated)
//! or `map` (map from string; `<type>` is the value type). `<type>` is `string`, `bytes`,
//! `bool`, `int32`, `int64`, `double` or a full message name. The flag `z` drops a present zero
//! value, `k` keeps a present empty string, `n` writes an absent list or map as `null`.
#![forbid(unsafe_code)]

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Optional numeric and boolean fields that are plain values in the Go types (`int32` or
/// `bool` with `omitempty`), so kube-apiserver omits them when zero. `Message.jsonName`,
/// message names as k8s-openapi spells them.
const GO_PLAIN_SCALARS: &[&str] = &[
    "meta.v1.ObjectMeta.generation",
    "core.v1.ContainerPort.hostPort",
    "core.v1.ServicePort.nodePort",
    "core.v1.ServiceSpec.healthCheckNodePort",
    "core.v1.ServiceSpec.publishNotReadyAddresses",
    "core.v1.Probe.initialDelaySeconds",
    "core.v1.Probe.timeoutSeconds",
    "core.v1.Probe.periodSeconds",
    "core.v1.Probe.successThreshold",
    "core.v1.Probe.failureThreshold",
    "core.v1.Container.stdin",
    "core.v1.Container.stdinOnce",
    "core.v1.Container.tty",
    "core.v1.EphemeralContainerCommon.stdin",
    "core.v1.EphemeralContainerCommon.stdinOnce",
    "core.v1.EphemeralContainerCommon.tty",
    "core.v1.PodSpec.hostNetwork",
    "core.v1.PodSpec.hostPID",
    "core.v1.PodSpec.hostIPC",
    "core.v1.VolumeMount.readOnly",
    "core.v1.PersistentVolumeClaimVolumeSource.readOnly",
    "core.v1.AWSElasticBlockStoreVolumeSource.partition",
    "core.v1.AWSElasticBlockStoreVolumeSource.readOnly",
    "core.v1.GCEPersistentDiskVolumeSource.partition",
    "core.v1.GCEPersistentDiskVolumeSource.readOnly",
    "core.v1.NFSVolumeSource.readOnly",
    "core.v1.ISCSIVolumeSource.readOnly",
    "core.v1.ISCSIVolumeSource.chapAuthDiscovery",
    "core.v1.ISCSIVolumeSource.chapAuthSession",
    "core.v1.RBDVolumeSource.readOnly",
    "core.v1.CephFSVolumeSource.readOnly",
    "core.v1.CinderVolumeSource.readOnly",
    "core.v1.FCVolumeSource.readOnly",
    "core.v1.FlexVolumeSource.readOnly",
    "core.v1.AzureFileVolumeSource.readOnly",
    "core.v1.QuobyteVolumeSource.readOnly",
    "core.v1.PortworxVolumeSource.readOnly",
    "core.v1.GlusterfsVolumeSource.readOnly",
    "core.v1.ScaleIOVolumeSource.sslEnabled",
    "core.v1.ScaleIOVolumeSource.readOnly",
    "core.v1.StorageOSVolumeSource.readOnly",
    "core.v1.NodeSpec.unschedulable",
    "core.v1.Event.count",
    "core.v1.ReplicationControllerSpec.minReadySeconds",
    "core.v1.ReplicationControllerStatus.fullyLabeledReplicas",
    "core.v1.ReplicationControllerStatus.readyReplicas",
    "core.v1.ReplicationControllerStatus.availableReplicas",
    "core.v1.ReplicationControllerStatus.observedGeneration",
    "core.v1.PodCondition.observedGeneration",
    "core.v1.PodStatus.observedGeneration",
    "apps.v1.DeploymentSpec.minReadySeconds",
    "apps.v1.DeploymentSpec.paused",
    "apps.v1.DeploymentStatus.observedGeneration",
    "apps.v1.DeploymentStatus.replicas",
    "apps.v1.DeploymentStatus.updatedReplicas",
    "apps.v1.DeploymentStatus.readyReplicas",
    "apps.v1.DeploymentStatus.availableReplicas",
    "apps.v1.DeploymentStatus.unavailableReplicas",
    "apps.v1.ReplicaSetSpec.minReadySeconds",
    "apps.v1.ReplicaSetStatus.fullyLabeledReplicas",
    "apps.v1.ReplicaSetStatus.readyReplicas",
    "apps.v1.ReplicaSetStatus.availableReplicas",
    "apps.v1.ReplicaSetStatus.observedGeneration",
    "apps.v1.StatefulSetSpec.minReadySeconds",
    "apps.v1.StatefulSetStatus.observedGeneration",
    "apps.v1.StatefulSetStatus.readyReplicas",
    "apps.v1.StatefulSetStatus.currentReplicas",
    "apps.v1.StatefulSetStatus.updatedReplicas",
    "apps.v1.DaemonSetSpec.minReadySeconds",
    "apps.v1.DaemonSetStatus.observedGeneration",
    "apps.v1.DaemonSetStatus.updatedNumberScheduled",
    "apps.v1.DaemonSetStatus.numberAvailable",
    "apps.v1.DaemonSetStatus.numberUnavailable",
    "batch.v1.JobStatus.active",
    "batch.v1.JobStatus.succeeded",
    "batch.v1.JobStatus.failed",
    "networking.v1.ServiceBackendPort.number",
    "scheduling.v1.PriorityClass.globalDefault",
    "policy.v1.PodDisruptionBudgetStatus.observedGeneration",
    "autoscaling.v1.ScaleSpec.replicas",
    "autoscaling.v2.HorizontalPodAutoscalerStatus.currentReplicas",
];

/// Optional strings that are pointers in the Go types and where an empty string means
/// something, so kube-apiserver keeps `""`.
const GO_POINTER_STRINGS: &[&str] = &[
    "core.v1.PersistentVolumeClaimSpec.storageClassName",
    "core.v1.PersistentVolumeClaimSpec.volumeAttributesClassName",
    "core.v1.GRPCAction.service",
];

/// Optional lists that are Go slices without `omitempty`, so kube-apiserver writes `null`
/// when they are empty (required lists, per k8s-openapi, get the same treatment).
const GO_NULL_LISTS: &[&str] = &["rbac.v1.Role.rules", "rbac.v1.ClusterRole.rules"];

/// Messages whose fields are decoded by hand in `protobuf.rs`: no k8s-openapi twin is needed.
const SPECIAL_MESSAGES: &[&str] = &[
    "Time",
    "MicroTime",
    "Duration",
    "Quantity",
    "IntOrString",
    "RawExtension",
    "FieldsV1",
    "JSON",
    "JSONSchemaPropsOrArray",
    "JSONSchemaPropsOrBool",
    "JSONSchemaPropsOrStringArray",
    "ExtraValue",
    "Verbs",
];

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("proto-schema-gen: {message}");
            ExitCode::from(64)
        }
    }
}

fn run() -> Result<(), String> {
    let mut pb_dir = None;
    let mut openapi_dir = None;
    let mut out = PathBuf::from("apimachinery/src/protobuf_schema.txt");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--k8s-pb" => pb_dir = Some(PathBuf::from(value()?)),
            "--k8s-openapi" => openapi_dir = Some(PathBuf::from(value()?)),
            "--out" => out = PathBuf::from(value()?),
            "-h" | "--help" => {
                println!("usage: proto-schema-gen [--k8s-pb DIR] [--k8s-openapi DIR] [--out FILE]");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let pb_dir = match pb_dir {
        Some(dir) => dir,
        None => newest_crate_dir("k8s-pb-")?.join("src"),
    };
    let openapi_dir = match openapi_dir {
        Some(dir) => dir,
        None => newest_openapi_version_dir(&newest_crate_dir("k8s-openapi-")?.join("src"))?,
    };

    let pb = parse_k8s_pb(&pb_dir)?;
    let openapi = parse_k8s_openapi(&openapi_dir)?;
    let table = build_table(&pb, &openapi, &pb_dir, &openapi_dir)?;
    std::fs::write(&out, table).map_err(|e| format!("writing {}: {e}", out.display()))?;
    eprintln!(
        "proto-schema-gen: wrote {} messages to {}",
        pb.messages.len(),
        out.display()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Locating the crate sources.

fn registry_src_dirs() -> Result<Vec<PathBuf>, String> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .ok_or("neither CARGO_HOME nor HOME is set")?;
    let src = cargo_home.join("registry").join("src");
    let entries = std::fs::read_dir(&src).map_err(|e| format!("reading {}: {e}", src.display()))?;
    Ok(entries.filter_map(|e| e.ok()).map(|e| e.path()).collect())
}

/// The newest `<prefix><version>` crate directory in the cargo registry.
fn newest_crate_dir(prefix: &str) -> Result<PathBuf, String> {
    let mut found: Vec<(Vec<u64>, PathBuf)> = Vec::new();
    for index in registry_src_dirs()? {
        let Ok(entries) = std::fs::read_dir(&index) else {
            continue;
        };
        for entry in entries.filter_map(|e| e.ok()) {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(key) = name.strip_prefix(prefix).and_then(numeric_version) {
                found.push((key, entry.path()));
            }
        }
    }
    found.sort();
    found
        .pop()
        .map(|(_, path)| path)
        .ok_or_else(|| format!("no {prefix}* crate in the cargo registry; run `cargo fetch`"))
}

fn numeric_version(version: &str) -> Option<Vec<u64>> {
    version
        .split(['.', '_'])
        .map(|part| part.parse().ok())
        .collect()
}

/// The newest `v1_NN` directory of k8s-openapi's sources.
fn newest_openapi_version_dir(src: &Path) -> Result<PathBuf, String> {
    let entries = std::fs::read_dir(src).map_err(|e| format!("reading {}: {e}", src.display()))?;
    let mut found: Vec<(Vec<u64>, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let key = numeric_version(name.strip_prefix('v')?)?;
            Some((key, e.path()))
        })
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, path)| path)
        .ok_or_else(|| format!("no v1_NN directory in {}", src.display()))
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

/// Module path of a source file relative to the crate's root (`api/core/v1/mod.rs` →
/// `["api", "core", "v1"]`; `api/core/v1/service_spec.rs` → the same).
fn module_of(root: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(root).unwrap_or(file);
    let mut parts: Vec<String> = relative
        .iter()
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    parts.pop();
    parts
}

// ---------------------------------------------------------------------------------------------
// k8s-pb: prost structs.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Card {
    Optional,
    Repeated,
    Map,
}

#[derive(Debug)]
struct PbField {
    rust_name: String,
    tag: u32,
    card: Card,
    /// Scalar type name or, for messages, the resolved `(module, struct)`.
    ty: PbType,
}

#[derive(Debug, Clone)]
enum PbType {
    Scalar(&'static str),
    Message(Vec<String>, String),
}

#[derive(Debug)]
struct PbMessage {
    module: Vec<String>,
    name: String,
    fields: Vec<PbField>,
}

#[derive(Debug, Default)]
struct PbCrate {
    messages: Vec<PbMessage>,
    /// apiVersion → module, from the `impl crate::Resource` blocks.
    group_versions: BTreeMap<String, Vec<String>>,
}

fn parse_k8s_pb(root: &Path) -> Result<PbCrate, String> {
    let mut files = Vec::new();
    rust_files(root, &mut files)?;
    files.sort();
    let mut pb = PbCrate::default();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .map_err(|e| format!("reading {}: {e}", file.display()))?;
        let module = module_of(root, &file);
        parse_pb_module(&module, &text, &mut pb).map_err(|e| format!("{}: {e}", file.display()))?;
    }
    if pb.messages.is_empty() {
        return Err(format!("no prost messages under {}", root.display()));
    }
    Ok(pb)
}

fn parse_pb_module(module: &[String], text: &str, pb: &mut PbCrate) -> Result<(), String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut current: Option<PbMessage> = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim();
        if let Some(rest) = line.strip_prefix("pub struct ") {
            if let Some(message) = current.take() {
                pb.messages.push(message);
            }
            let name = rest.trim_end_matches('{').trim();
            // Unit structs (`pub struct Foo {}`) and non-prost structs carry no fields.
            current = Some(PbMessage {
                module: module.to_vec(),
                name: name.trim_end_matches("{}").trim().to_string(),
                fields: Vec::new(),
            });
        } else if line == "}" {
            if let Some(message) = current.take() {
                pb.messages.push(message);
            }
        } else if let Some(attr) = trimmed
            .strip_prefix("#[prost(")
            .and_then(|rest| rest.strip_suffix(")]"))
        {
            // The declaration may be wrapped over several lines by rustfmt.
            let mut decl = String::new();
            i += 1;
            while i < lines.len() {
                let part = lines[i].trim();
                if !decl.is_empty() && !decl.ends_with(['<', ':']) && !part.starts_with('>') {
                    decl.push(' ');
                }
                decl.push_str(part);
                let depth = decl.matches('<').count() as i64 - decl.matches('>').count() as i64;
                if depth == 0 && decl.ends_with(',') {
                    break;
                }
                i += 1;
            }
            let field = parse_pb_field(module, attr, &decl)?;
            match current.as_mut() {
                Some(message) => message.fields.push(field),
                None => return Err(format!("prost field outside a struct: {decl}")),
            }
        } else if trimmed.starts_with("const API_VERSION: &'static str = ") {
            let api_version = trimmed
                .split('"')
                .nth(1)
                .ok_or_else(|| format!("unreadable API_VERSION: {trimmed}"))?;
            pb.group_versions
                .insert(api_version.to_string(), module.to_vec());
        }
        i += 1;
    }
    if let Some(message) = current.take() {
        pb.messages.push(message);
    }
    // Drop non-prost structs (the crate's marker types) and keep prost messages, even empty.
    pb.messages
        .retain(|m| !(m.module.is_empty() && m.fields.is_empty()));
    Ok(())
}

fn parse_pb_field(module: &[String], attr: &str, decl: &str) -> Result<PbField, String> {
    let tag = attr
        .split("tag = \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|tag| tag.parse().ok())
        .ok_or_else(|| format!("no tag in #[prost({attr})]"))?;
    let decl = decl
        .strip_prefix("pub ")
        .ok_or_else(|| format!("unexpected field declaration {decl}"))?;
    let (rust_name, ty) = decl
        .split_once(':')
        .ok_or_else(|| format!("unexpected field declaration {decl}"))?;
    let rust_name = rust_name.trim().trim_start_matches("r#").to_string();
    let ty = ty.trim().trim_end_matches(',');

    let (card, ty) = if let Some(map) = attr.strip_prefix("btree_map = \"") {
        let value = map
            .split('"')
            .next()
            .and_then(|kv| kv.split_once(", "))
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .ok_or_else(|| format!("unreadable map attribute {attr}"))?;
        if value.0 != "string" {
            return Err(format!("map with non-string key: {attr}"));
        }
        let ty = match value.1.as_str() {
            "message" => {
                let value_type = ty
                    .trim_end_matches(['>', ','])
                    .rsplit_once(',')
                    .map(|(_, v)| v)
                    .ok_or_else(|| format!("unreadable map type {ty}"))?;
                message_type(module, value_type.trim())?
            }
            scalar => PbType::Scalar(scalar_name(scalar)?),
        };
        (Card::Map, ty)
    } else {
        let kind = attr
            .split([',', ' '])
            .next()
            .ok_or_else(|| format!("empty attribute {attr}"))?;
        let card = if attr.contains("repeated") {
            Card::Repeated
        } else {
            Card::Optional
        };
        let ty = if kind == "message" {
            message_type(module, ty)?
        } else {
            PbType::Scalar(scalar_name(kind)?)
        };
        (card, ty)
    };
    Ok(PbField {
        rust_name,
        tag,
        card,
        ty,
    })
}

fn scalar_name(kind: &str) -> Result<&'static str, String> {
    Ok(match kind {
        "string" => "string",
        "bytes" => "bytes",
        "bool" => "bool",
        "int32" => "int32",
        "int64" => "int64",
        "double" => "double",
        other => return Err(format!("unsupported prost scalar {other}")),
    })
}

/// Resolves a prost field type (`::core::option::Option<super::super::meta::v1::Time>`) to the
/// module and struct it names.
fn message_type(module: &[String], ty: &str) -> Result<PbType, String> {
    let compact: String = ty.chars().filter(|c| !c.is_whitespace()).collect();
    let mut path = compact.as_str();
    for wrapper in [
        "::core::option::Option<",
        "::prost::alloc::vec::Vec<",
        "::prost::alloc::boxed::Box<",
    ] {
        path = path.strip_prefix(wrapper).unwrap_or(path);
    }
    let path = path.trim_end_matches(['>', ',']);
    let mut resolved = module.to_vec();
    let mut segments: Vec<&str> = path.split("::").collect();
    let name = segments
        .pop()
        .filter(|name| !name.is_empty())
        .ok_or_else(|| format!("unreadable message type {ty}"))?;
    for segment in segments {
        match segment {
            "super" => {
                resolved
                    .pop()
                    .ok_or_else(|| format!("type path leaves the crate: {ty}"))?;
            }
            "crate" => resolved.clear(),
            other => resolved.push(other.to_string()),
        }
    }
    Ok(PbType::Message(resolved, name.to_string()))
}

// ---------------------------------------------------------------------------------------------
// k8s-openapi: serde structs.

#[derive(Debug, Default)]
struct OpenApiStruct {
    name: String,
    /// Normalised Rust field name → (JSON name, required).
    fields: HashMap<String, (String, bool)>,
    /// Normalised JSON name → normalised Rust field name.
    by_json: HashMap<String, String>,
}

/// `(module, lowercase struct name)` → struct.
type OpenApi = HashMap<(Vec<String>, String), OpenApiStruct>;

fn parse_k8s_openapi(root: &Path) -> Result<OpenApi, String> {
    let mut files = Vec::new();
    rust_files(root, &mut files)?;
    let mut structs = OpenApi::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .map_err(|e| format!("reading {}: {e}", file.display()))?;
        if let Some(parsed) = parse_openapi_file(&text) {
            structs.insert((module_of(root, &file), parsed.name.to_lowercase()), parsed);
        }
    }
    if structs.is_empty() {
        return Err(format!("no k8s-openapi structs under {}", root.display()));
    }
    Ok(structs)
}

fn parse_openapi_file(text: &str) -> Option<OpenApiStruct> {
    let mut parsed = OpenApiStruct::default();
    let mut required: HashMap<String, bool> = HashMap::new();
    let mut in_struct = false;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("pub struct ") {
            if !parsed.name.is_empty() {
                // One struct per file in k8s-openapi; ignore anything unexpected after it.
                in_struct = false;
                continue;
            }
            parsed.name = rest
                .split(|c: char| !c.is_alphanumeric() && c != '_')
                .next()?
                .to_string();
            in_struct = rest.trim_end().ends_with('{');
            continue;
        }
        if in_struct {
            if line == "}" {
                in_struct = false;
            } else if let Some((name, ty)) = line
                .trim()
                .strip_prefix("pub ")
                .and_then(|decl| decl.split_once(':'))
            {
                required.insert(normalise(name), !ty.trim().starts_with("Option<"));
            }
            continue;
        }
        // `"clusterIP" => Field::Key_cluster_ip,`
        let trimmed = line.trim();
        if let Some((json, rust)) = trimmed.split_once("\" => Field::Key_") {
            let Some(json) = json.strip_prefix('"') else {
                continue;
            };
            let rust = normalise(rust.trim_end_matches(','));
            let is_required = required.get(&rust).copied().unwrap_or(false);
            parsed.by_json.insert(normalise(json), rust.clone());
            parsed.fields.insert(rust, (json.to_string(), is_required));
        }
    }
    (!parsed.name.is_empty()).then_some(parsed)
}

/// Lowercase, ASCII letters and digits only: `pod_i_ps`, `pod_ips` and `podIPs` → `podips`.
fn normalise(name: &str) -> String {
    name.trim_start_matches("r#")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Proto-style lowerCamel from a prost snake-case name (`cluster_ip` → `clusterIp`).
fn lower_camel(snake: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = !out.is_empty();
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The table.

fn package(module: &[String]) -> String {
    let mut package = String::from("k8s.io");
    for part in module {
        package.push('.');
        package.push_str(part);
    }
    package
}

/// `k8s.io.api.core.v1` → `core.v1`, `k8s.io.apimachinery.pkg.apis.meta.v1` → `meta.v1`: the
/// short form [`GO_PLAIN_SCALARS`] uses.
fn short_package(module: &[String]) -> String {
    let n = module.len();
    if n >= 2 {
        format!("{}.{}", module[n - 2], module[n - 1])
    } else {
        module.join(".")
    }
}

fn build_table(
    pb: &PbCrate,
    openapi: &OpenApi,
    pb_dir: &Path,
    openapi_dir: &Path,
) -> Result<String, String> {
    let twin = |module: &[String], name: &str| openapi.get(&(module.to_vec(), name.to_lowercase()));
    let by_key: HashMap<(Vec<String>, String), &PbMessage> = pb
        .messages
        .iter()
        .map(|m| ((m.module.clone(), m.name.clone()), m))
        .collect();
    // Message names as Go and the proto files spell them (`HTTPGetAction`, not prost's
    // `HttpGetAction`) when k8s-openapi has the type, else prost's.
    let display_name = |module: &[String], name: &str| -> String {
        let spelled = twin(module, name)
            .map(|s| s.name.clone())
            .or_else(|| {
                SPECIAL_MESSAGES
                    .iter()
                    .find(|special| special.eq_ignore_ascii_case(name))
                    .map(|special| special.to_string())
            })
            .unwrap_or_else(|| name.to_string());
        format!("{}.{spelled}", package(module))
    };

    let mut plain_used: HashMap<String, usize> = GO_PLAIN_SCALARS
        .iter()
        .map(|entry| (entry.to_lowercase(), 0))
        .collect();
    let mut null_used: HashMap<String, usize> = GO_NULL_LISTS
        .iter()
        .map(|entry| (entry.to_lowercase(), 0))
        .collect();
    let mut pointer_used: HashMap<String, usize> = GO_POINTER_STRINGS
        .iter()
        .map(|entry| (entry.to_lowercase(), 0))
        .collect();

    let mut out = String::new();
    let pb_version = pb_dir
        .parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let openapi_version = openapi_dir
        .parent()
        .and_then(|p| p.parent())
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let openapi_api = openapi_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "# Kubernetes protobuf schema for warren_apimachinery::protobuf. Generated by\n\
         # tools/proto-schema-gen from {pb_version} and {openapi_version} ({openapi_api}); do not edit.\n\
         # Regenerate: cargo run -p proto-schema-gen -- --out apimachinery/src/protobuf_schema.txt"
    );
    for (api_version, module) in &pb.group_versions {
        let _ = writeln!(out, "G {api_version} {}", package(module));
    }
    let _ = writeln!(out, "G meta.k8s.io/v1 k8s.io.apimachinery.pkg.apis.meta.v1");

    // Embedded (`json:",inline"`) messages without a k8s-openapi twin of their own take their
    // JSON names from the struct they are flattened into.
    let mut inline_parent: HashMap<(Vec<String>, String), &OpenApiStruct> = HashMap::new();
    for message in &pb.messages {
        let Some(parent) = twin(&message.module, &message.name) else {
            continue;
        };
        collect_inline(parent, message, &by_key, &mut inline_parent);
    }

    let mut messages: Vec<&PbMessage> = pb.messages.iter().collect();
    messages.sort_by(|a, b| (&a.module, &a.name).cmp(&(&b.module, &b.name)));
    let mut unmatched = 0usize;
    for message in messages {
        let _ = writeln!(out, "M {}", display_name(&message.module, &message.name));
        let is_special = SPECIAL_MESSAGES
            .iter()
            .any(|special| special.eq_ignore_ascii_case(&message.name));
        let key = (message.module.clone(), message.name.clone());
        let openapi_struct =
            twin(&message.module, &message.name).or_else(|| inline_parent.get(&key).copied());
        let go_name =
            twin(&message.module, &message.name).map_or(message.name.as_str(), |s| s.name.as_str());
        for field in &message.fields {
            let normalised = normalise(&field.rust_name);
            let matched = openapi_struct.and_then(|s| {
                s.fields.get(&normalised).or_else(|| {
                    s.by_json
                        .get(&normalised)
                        .and_then(|rust| s.fields.get(rust))
                })
            });
            let (json, required) = match (matched, openapi_struct, &field.ty) {
                (Some((json, required)), _, _) => (json.clone(), *required),
                (None, Some(parent), PbType::Message(module, name))
                    if field.card == Card::Optional
                        && is_inline(
                            parent,
                            by_key.get(&(module.clone(), name.clone())),
                            &by_key,
                        ) =>
                {
                    ("-".to_string(), false)
                }
                _ => {
                    if !is_special && openapi_struct.is_some() {
                        unmatched += 1;
                        eprintln!(
                            "note: {}.{}: no k8s-openapi field; using {}",
                            display_name(&message.module, &message.name),
                            field.rust_name,
                            lower_camel(&field.rust_name)
                        );
                    }
                    (lower_camel(&field.rust_name), false)
                }
            };
            let card = match field.card {
                Card::Optional if required => "req",
                Card::Optional => "opt",
                Card::Repeated => "rep",
                Card::Map => "map",
            };
            let ty = match &field.ty {
                PbType::Scalar(scalar) => scalar.to_string(),
                PbType::Message(module, name) => {
                    if !by_key.contains_key(&(module.clone(), name.clone())) {
                        return Err(format!(
                            "{}.{} names unknown message {}::{name}",
                            message.name,
                            field.rust_name,
                            module.join("::")
                        ));
                    }
                    display_name(module, name)
                }
            };
            let key = format!("{}.{go_name}.{json}", short_package(&message.module)).to_lowercase();
            let flag = match (&field.ty, card) {
                (PbType::Scalar("string" | "bytes"), "opt") => {
                    if let Some(count) = pointer_used.get_mut(&key) {
                        *count += 1;
                        " k"
                    } else {
                        " z"
                    }
                }
                (PbType::Scalar(_), "opt") => {
                    if let Some(count) = plain_used.get_mut(&key) {
                        *count += 1;
                        " z"
                    } else {
                        ""
                    }
                }
                (_, "rep" | "map") => {
                    if let Some(count) = null_used.get_mut(&key) {
                        *count += 1;
                        " n"
                    } else if required {
                        " n"
                    } else {
                        ""
                    }
                }
                _ => "",
            };
            let _ = writeln!(out, "F {} {json} {card} {ty}{flag}", field.tag);
        }
    }
    for (entry, count) in plain_used
        .iter()
        .chain(pointer_used.iter())
        .chain(null_used.iter())
    {
        if *count == 0 {
            eprintln!("warning: exception list entry {entry} matched no optional scalar field");
        }
    }
    eprintln!("proto-schema-gen: {unmatched} fields without a k8s-openapi twin");
    Ok(out)
}

/// Whether a prost message field with no k8s-openapi twin is a Go `json:",inline"` embedding:
/// every field of the embedded message is a field of the parent's k8s-openapi struct, or is
/// itself such an embedding (`NamedRuleWithOperations` embeds `RuleWithOperations` embeds
/// `Rule`).
fn is_inline(
    parent: &OpenApiStruct,
    embedded: Option<&&PbMessage>,
    by_key: &HashMap<(Vec<String>, String), &PbMessage>,
) -> bool {
    let Some(embedded) = embedded else {
        return false;
    };
    !embedded.fields.is_empty()
        && embedded.fields.iter().all(|f| {
            let n = normalise(&f.rust_name);
            parent.fields.contains_key(&n)
                || parent.by_json.contains_key(&n)
                || match &f.ty {
                    PbType::Message(module, name) if f.card == Card::Optional => {
                        is_inline(parent, by_key.get(&(module.clone(), name.clone())), by_key)
                    }
                    _ => false,
                }
        })
}

/// Records, for every message `message` embeds inline (recursively), the k8s-openapi struct
/// its fields are flattened into.
fn collect_inline<'a>(
    parent: &'a OpenApiStruct,
    message: &PbMessage,
    by_key: &HashMap<(Vec<String>, String), &PbMessage>,
    inline_parent: &mut HashMap<(Vec<String>, String), &'a OpenApiStruct>,
) {
    for field in &message.fields {
        let n = normalise(&field.rust_name);
        if parent.fields.contains_key(&n) || parent.by_json.contains_key(&n) {
            continue;
        }
        let PbType::Message(module, name) = &field.ty else {
            continue;
        };
        let key = (module.clone(), name.clone());
        let embedded = by_key.get(&key);
        if let Some(embedded) = embedded.filter(|embedded| {
            field.card == Card::Optional && is_inline(parent, Some(embedded), by_key)
        }) {
            inline_parent.insert(key, parent);
            collect_inline(parent, embedded, by_key, inline_parent);
        }
    }
}
