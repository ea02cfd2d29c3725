//! Field managers: who owns which fields (`metadata.managedFields`), server-side apply, and
//! the schema each kind's merge and validation rules come from.

use serde_json::Value;
use warren_apimachinery::apply;
use warren_apimachinery::crd;
use warren_apimachinery::error::ApiError;
use warren_apimachinery::field_validation::{self, Mode};
use warren_apimachinery::openapi;
use warren_apimachinery::registry::ResourceInfo;
use warren_apimachinery::schema::Schema;

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
