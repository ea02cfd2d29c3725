//! Field managers: who owns which fields (`metadata.managedFields`), server-side apply, and
//! the schema each kind's merge and validation rules come from.

use serde_json::Value;
use warren_apimachinery::apply::{self, PathElement};
use warren_apimachinery::crd;
use warren_apimachinery::error::ApiError;
use warren_apimachinery::field_validation::{self, Mode};
use warren_apimachinery::openapi;
use warren_apimachinery::registry::ResourceInfo;
use warren_apimachinery::schema::{ListType, Schema};

use crate::handlers::RequestContext;
use crate::object;

/// The schema of a kind: a custom resource's structural schema, or the built-in definition.
pub fn schema_for(info: &ResourceInfo) -> Option<Schema<'_>> {
    if let Some(schema) = crate::crds::schema_of(info) {
        return Some(Schema::new(None, schema));
    }
    builtin_schema(info)
}

fn builtin_schema(info: &ResourceInfo) -> Option<Schema<'static>> {
    let name = openapi::definition_for(&info.group, &info.version, &info.kind)?;
    Schema::definition(openapi::builtin_definitions(), name)
}

/// The field manager of a request: `fieldManager`, else derived from the User-Agent as
/// kube-apiserver does (the part before the first `/`, at most 128 characters).
pub fn manager(ctx: &RequestContext) -> Result<String, ApiError> {
    if let Some(m) = ctx.query.get("fieldManager").filter(|m| !m.is_empty()) {
        // As ValidateFieldManager: a 400 whose message is the field error.
        if m.chars().count() > 128 {
            return Err(ApiError::bad_request(
                "fieldManager: Too long: may not be more than 128 bytes",
            ));
        }
        if m.chars().any(|c| c.is_control()) {
            return Err(ApiError::bad_request(format!(
                "fieldManager: Invalid value: {m:?}: must only contain printable characters"
            )));
        }
        return Ok(m.clone());
    }
    let ua = ctx.user_agent.as_deref().unwrap_or("");
    let prefix = ua.split('/').next().unwrap_or("");
    Ok(prefix.chars().take(128).collect())
}

/// Records the fields a create, update or patch by `manager` set, as an `Update` entry of
/// `metadata.managedFields`.
pub fn record_update(
    info: &ResourceInfo,
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    subresource: Option<&str>,
) {
    let now = object::now_rfc3339();
    let api_version = info.api_version();
    let m = apply::Manager {
        name: manager,
        api_version: &api_version,
        subresource,
        now: &now,
    };
    let reset = apply::reset_fields(subresource, info.has_status());
    apply::record_update(old, new, &m, schema_for(info), &reset);
}

/// Server-side apply of `config` by `manager` to `live` (None: the object does not exist yet);
/// returns the object to write, with `metadata.managedFields` updated. Conflicts with other
/// managers are a 409 listing the fields, unless `force`.
pub fn apply(
    info: &ResourceInfo,
    live: Option<&Value>,
    config: &Value,
    manager: &str,
    force: bool,
    subresource: Option<&str>,
) -> Result<Value, ApiError> {
    let now = object::now_rfc3339();
    let api_version = info.api_version();
    let m = apply::Manager {
        name: manager,
        api_version: &api_version,
        subresource,
        now: &now,
    };
    let reset = apply::reset_fields(subresource, info.has_status());
    Ok(apply::apply(
        live,
        config,
        &m,
        force,
        schema_for(info),
        &reset,
    )?)
}

/// The raw body a request carried, for duplicate-field detection.
#[derive(Clone, Copy, Debug)]
pub enum RawBody<'a> {
    /// A JSON document.
    Json(&'a [u8]),
    /// A YAML document.
    Yaml(&'a [u8]),
    /// Nothing to check (protobuf, or no body).
    None,
}

/// kube-apiserver's `fieldValidation` (`Strict`, `Warn` — the default —, `Ignore`): unknown and
/// duplicate fields are refused with a 400, reported as warnings, or silently dropped. Unknown
/// fields of built-in kinds are always dropped (typed decoding cannot keep them); those of
/// custom resources are pruned later by the structural schema.
pub fn check_fields(
    info: &ResourceInfo,
    ctx: &RequestContext,
    options_kind: &str,
    raw: RawBody<'_>,
    obj: &mut Value,
) -> Result<(), ApiError> {
    let mode = field_validation::mode_for(
        ctx.query.get("fieldValidation").map(String::as_str),
        options_kind,
    )?;
    if mode == Mode::Ignore {
        if let Some(schema) = builtin_schema(info).filter(|_| info.crd.is_none()) {
            field_validation::strip_unknown(obj, schema);
        }
        return Ok(());
    }
    let duplicates = match raw {
        RawBody::Json(body) => field_validation::duplicate_fields_json(body),
        RawBody::Yaml(body) => {
            field_validation::duplicate_fields_yaml(&String::from_utf8_lossy(body))
        }
        RawBody::None => Vec::new(),
    };
    let unknown = match crate::crds::schema_of(info) {
        Some(schema) => crd::prune(&mut obj.clone(), schema),
        None => match builtin_schema(info) {
            Some(schema) => {
                let unknown = field_validation::unknown_fields(obj, schema);
                if !unknown.is_empty() && mode != Mode::Strict {
                    field_validation::strip_unknown(obj, schema);
                }
                unknown
            }
            None => Vec::new(),
        },
    };
    let problems = field_validation::problems(&duplicates, &unknown);
    if problems.is_empty() {
        return Ok(());
    }
    if mode == Mode::Strict {
        return Err(field_validation::strict_error(
            &info.kind,
            &info.version,
            &problems,
        ));
    }
    for p in problems {
        ctx.warn(p);
    }
    Ok(())
}

/// Server-side apply of a built-in kind cannot type a configuration with a field its schema
/// does not declare: kube-apiserver answers 500 `failed to create typed patch object (NS/NAME;
/// GROUP/VERSION, Kind=KIND): .spec.foo: field not declared in schema`, whatever the
/// `fieldValidation` (custom resources prune instead).
pub fn check_apply_config(info: &ResourceInfo, config: &Value) -> Result<(), ApiError> {
    if info.crd.is_some() {
        return Ok(());
    }
    let Some(schema) = builtin_schema(info) else {
        return Ok(());
    };
    let mut path = Vec::new();
    let Some(field) = undeclared_field(config, schema, &mut path) else {
        return Ok(());
    };
    let name = config
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let ns = config
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    let gv = if info.group.is_empty() {
        format!("/{}", info.version)
    } else {
        info.api_version()
    };
    Err(ApiError::new(
        500,
        "",
        format!(
            "failed to create typed patch object ({ns}/{name}; {gv}, Kind={}): {field}: field not declared in schema",
            info.kind
        ),
    ))
}

/// The first field of `v` that `s` does not declare, as structured-merge-diff prints paths
/// (`.spec.containers[name="web"].bogus`).
fn undeclared_field(v: &Value, s: Schema<'_>, path: &mut Vec<PathElement>) -> Option<String> {
    match v {
        Value::Object(m) => {
            if s.is_int_or_string() || s.preserves_unknown_fields() {
                return None;
            }
            if let Some(ap) = s.additional_properties() {
                for (k, val) in m {
                    path.push(PathElement::Field(k.clone()));
                    let found = undeclared_field(val, ap, path);
                    path.pop();
                    if found.is_some() {
                        return found;
                    }
                }
                return None;
            }
            if !s.has_properties() {
                return None;
            }
            for (k, val) in m {
                path.push(PathElement::Field(k.clone()));
                let found = match s.property(k) {
                    Some(sub) => undeclared_field(val, sub, path),
                    None => Some(apply::path_to_string(path)),
                };
                path.pop();
                if found.is_some() {
                    return found;
                }
            }
            None
        }
        Value::Array(list) => {
            let items = s.items()?;
            let list_type = s.list_type();
            for (i, x) in list.iter().enumerate() {
                let pe = match &list_type {
                    ListType::Map(keys) if !keys.is_empty() => {
                        let fields: Vec<(String, Value)> = keys
                            .iter()
                            .filter_map(|k| x.get(k).map(|v| (k.clone(), v.clone())))
                            .collect();
                        if fields.is_empty() {
                            PathElement::Index(i)
                        } else {
                            PathElement::key(fields)
                        }
                    }
                    ListType::Set => PathElement::value(x),
                    _ => PathElement::Index(i),
                };
                path.push(pe);
                let found = undeclared_field(x, items, path);
                path.pop();
                if found.is_some() {
                    return found;
                }
            }
            None
        }
        _ => None,
    }
}
