//! Server-side apply and field ownership (`metadata.managedFields`), as kube-apiserver's field
//! manager (`k8s.io/apimachinery/pkg/util/managedfields`) over sigs.k8s.io/structured-merge-diff.
//!
//! Sits in the tenant API server's write path, after decoding and before the kind's strategy:
//! - [`apply`] serves `PATCH` with `application/apply-patch+yaml`: it merges the applied
//!   configuration into the live object (or an empty one, for create-on-apply), removes what the
//!   manager applied last time and no longer applies, and refuses changes to fields other
//!   managers own unless forced.
//! - [`record_update`] serves every other write (create, update, merge/JSON/strategic patch):
//!   the fields the request added or changed become the manager's (`operation: Update`).
//!
//! Both are pure: the caller passes the time (`now`, RFC 3339 seconds), the kind's schema
//! ([`crate::schema::Schema`]; `None` reads maps as granular and lists as atomic) and the fields
//! the server resets on this endpoint ([`reset_fields`]), which nobody owns.

mod fieldpath;
mod typed;

#[cfg(test)]
mod tests;

use serde_json::{Map, Value, json};

pub use fieldpath::{FieldSet, Path, PathElement, path_to_string};

use crate::error::ApiError;
use crate::schema::Schema;

/// The manager of a write, and when it happens.
#[derive(Clone, Copy, Debug)]
pub struct Manager<'a> {
    /// The manager name (`fieldManager`, else derived from the User-Agent).
    pub name: &'a str,
    /// The `apiVersion` the request used (`apps/v1`).
    pub api_version: &'a str,
    /// The subresource written (`status`, `scale`), if any.
    pub subresource: Option<&'a str>,
    /// The time of the write, RFC 3339 in seconds (`2026-01-02T03:04:05Z`).
    pub now: &'a str,
}

/// A field another manager owns with a different value than the one applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The other manager's name.
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    /// The other manager's `apiVersion`.
    pub api_version: String,
    /// The other manager's subresource, if any.
    pub subresource: Option<String>,
    /// The field (`.spec.replicas`).
    pub field: String,
}

impl Conflict {
    /// The manager as kube-apiserver prints it: `"m"`, `"m" using apps/v1`,
    /// `"m" with subresource "status" using v1`.
    pub fn describe_manager(&self) -> String {
        let mut s = json!(self.manager).to_string();
        if let Some(sub) = &self.subresource {
            s.push_str(&format!(" with subresource {}", json!(sub)));
        }
        if self.operation == "Update" {
            s.push_str(&format!(" using {}", self.api_version));
        }
        s
    }
}

/// Why an apply failed.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ApplyError {
    /// Fields owned by other managers would change (409 Conflict); `force` takes them.
    #[error("{}", conflict_message(.0))]
    Conflicts(Vec<Conflict>),
    /// The applied configuration carries `metadata.managedFields` (400).
    #[error("metadata.managedFields must be nil")]
    ManagedFieldsInConfig,
    /// The applied configuration's `apiVersion` is not the endpoint's (400).
    #[error(
        "Incorrect version specified in apply patch. Specified patch version: {specified}, expected: {expected}"
    )]
    VersionMismatch {
        /// The configuration's `apiVersion`.
        specified: String,
        /// The endpoint's.
        expected: String,
    },
    /// The applied configuration is not an object (400).
    #[error("error decoding YAML: the applied configuration must be an object")]
    NotAnObject,
}

/// kube-apiserver's message for apply conflicts (`getConflictMessage` in managedfields).
fn conflict_message(conflicts: &[Conflict]) -> String {
    if let [c] = conflicts {
        return format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            c.describe_manager(),
            c.field
        );
    }
    let mut managers: Vec<(String, String)> = Vec::new();
    for c in conflicts {
        let key = (manager_sort_key(c), c.describe_manager());
        if !managers.contains(&key) {
            managers.push(key);
        }
    }
    managers.sort();
    let mut lines = Vec::new();
    for (key, described) in &managers {
        lines.push(format!("conflicts with {described}:"));
        for c in conflicts.iter().filter(|c| manager_sort_key(c) == *key) {
            lines.push(format!("- {}", c.field));
        }
    }
    format!(
        "Apply failed with {} conflicts: {}",
        conflicts.len(),
        lines.join("\n")
    )
}

/// Upstream sorts managers by their JSON identifier: name, operation, apiVersion, subresource.
fn manager_sort_key(c: &Conflict) -> String {
    format!(
        "{}\u{0}{}\u{0}{}\u{0}{}",
        c.manager,
        c.operation,
        if c.operation == "Update" {
            c.api_version.as_str()
        } else {
            ""
        },
        c.subresource.as_deref().unwrap_or("")
    )
}

impl From<ApplyError> for ApiError {
    fn from(e: ApplyError) -> Self {
        match &e {
            ApplyError::Conflicts(conflicts) => {
                let causes: Vec<Value> = conflicts
                    .iter()
                    .map(|c| {
                        json!({
                            "reason": "FieldManagerConflict",
                            "message": format!("conflict with {}", c.describe_manager()),
                            "field": c.field,
                        })
                    })
                    .collect();
                ApiError {
                    code: 409,
                    reason: "Conflict",
                    message: e.to_string(),
                    details: Some(json!({ "causes": causes })),
                }
            }
            _ => ApiError::bad_request(e.to_string()),
        }
    }
}

/// The fields the server resets on an endpoint, owned by nobody (upstream's
/// `ResetFieldsStrategy`): `status` on the main resource of a kind with a status subresource,
/// `spec` on the status subresource; nothing otherwise.
pub fn reset_fields(subresource: Option<&str>, has_status_subresource: bool) -> FieldSet {
    let field = |name: &str| vec![PathElement::Field(name.to_string())];
    match subresource {
        None if has_status_subresource => FieldSet::from_paths([field("status")]),
        Some("status") => FieldSet::from_paths([field("spec")]),
        _ => FieldSet::new(),
    }
}

/// The fields never owned by anyone (upstream's `stripMetaManager`).
fn stripped_fields() -> FieldSet {
    let f = |names: &[&str]| -> Path {
        names
            .iter()
            .map(|n| PathElement::Field(n.to_string()))
            .collect()
    };
    FieldSet::from_paths([
        f(&["apiVersion"]),
        f(&["kind"]),
        f(&["metadata"]),
        f(&["metadata", "name"]),
        f(&["metadata", "namespace"]),
        f(&["metadata", "creationTimestamp"]),
        f(&["metadata", "selfLink"]),
        f(&["metadata", "uid"]),
        f(&["metadata", "clusterName"]),
        f(&["metadata", "generation"]),
        f(&["metadata", "managedFields"]),
        f(&["metadata", "resourceVersion"]),
    ])
}

/// One `metadata.managedFields` entry.
#[derive(Clone, Debug)]
struct Entry {
    manager: String,
    operation: &'static str,
    api_version: String,
    time: Option<String>,
    subresource: Option<String>,
    set: FieldSet,
}

impl Entry {
    /// Entries are the same manager when name, operation and subresource agree, and, for
    /// updates, the apiVersion too (upstream's `BuildManagerIdentifier`).
    fn is(
        &self,
        name: &str,
        operation: &str,
        api_version: &str,
        subresource: Option<&str>,
    ) -> bool {
        self.manager == name
            && self.operation == operation
            && self.subresource.as_deref() == subresource
            && (operation == "Apply" || self.api_version == api_version)
    }

    fn conflict(&self, path: &[PathElement]) -> Conflict {
        Conflict {
            manager: self.manager.clone(),
            operation: self.operation.to_string(),
            api_version: self.api_version.clone(),
            subresource: self.subresource.clone(),
            field: path_to_string(path),
        }
    }
}

/// Decodes `metadata.managedFields` as upstream's `DecodeManagedFields`.
fn decode_entries(managed: Option<&Value>) -> Result<Vec<Entry>, String> {
    let Some(list) = managed.filter(|v| !v.is_null()) else {
        return Ok(Vec::new());
    };
    let list = list
        .as_array()
        .ok_or("metadata.managedFields must be a list")?;
    let mut out: Vec<Entry> = Vec::new();
    for (i, e) in list.iter().enumerate() {
        let s = |k: &str| e.get(k).and_then(Value::as_str);
        let operation = match s("operation") {
            Some("Apply") => "Apply",
            Some("Update") => "Update",
            _ => return Err("operation must be `Apply` or `Update`".into()),
        };
        let api_version = s("apiVersion").unwrap_or_default();
        if api_version.is_empty() {
            return Err("apiVersion must not be empty".into());
        }
        match s("fieldsType") {
            Some("FieldsV1") => {}
            None | Some("") => {
                return Err(format!("missing fieldsType in managed fields entry {i}"));
            }
            Some(other) => {
                return Err(format!(
                    "invalid fieldsType {other:?} in managed fields entry {i}"
                ));
            }
        }
        let set = match e.get("fieldsV1") {
            Some(v) => FieldSet::from_fields_v1(v)?,
            None => FieldSet::new(),
        };
        let entry = Entry {
            manager: s("manager").unwrap_or_default().to_string(),
            operation,
            api_version: api_version.to_string(),
            time: s("time").map(str::to_string),
            subresource: s("subresource")
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            set,
        };
        out.retain(|o| {
            !o.is(
                &entry.manager,
                entry.operation,
                &entry.api_version,
                entry.subresource.as_deref(),
            )
        });
        out.push(entry);
    }
    Ok(out)
}

/// Encodes entries in upstream's order: Apply before Update, then by time, manager,
/// apiVersion, subresource.
fn encode_entries(mut entries: Vec<Entry>) -> Value {
    entries.retain(|e| !e.set.is_empty());
    entries.sort_by(|a, b| {
        (
            a.operation,
            a.time.as_deref().unwrap_or(""),
            &a.manager,
            &a.api_version,
            &a.subresource,
        )
            .cmp(&(
                b.operation,
                b.time.as_deref().unwrap_or(""),
                &b.manager,
                &b.api_version,
                &b.subresource,
            ))
    });
    Value::Array(
        entries
            .into_iter()
            .map(|e| {
                let mut m = Map::new();
                m.insert("manager".into(), json!(e.manager));
                m.insert("operation".into(), json!(e.operation));
                m.insert("apiVersion".into(), json!(e.api_version));
                if let Some(t) = e.time {
                    m.insert("time".into(), json!(t));
                }
                m.insert("fieldsType".into(), json!("FieldsV1"));
                m.insert("fieldsV1".into(), e.set.to_fields_v1());
                if let Some(s) = e.subresource {
                    m.insert("subresource".into(), json!(s));
                }
                Value::Object(m)
            })
            .collect(),
    )
}

/// Writes the entries into `obj.metadata.managedFields` (removing the key when none is left).
fn store_entries(obj: &mut Value, entries: Vec<Entry>) {
    let encoded = encode_entries(entries);
    let Some(root) = obj.as_object_mut() else {
        return;
    };
    let meta = root
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(meta) = meta.as_object_mut() else {
        return;
    };
    if encoded.as_array().is_some_and(Vec::is_empty) {
        meta.remove("managedFields");
    } else {
        meta.insert("managedFields".into(), encoded);
    }
}

/// At most this many `Update` entries are kept (upstream's `DefaultMaxUpdateManagers`).
pub const MAX_UPDATE_MANAGERS: usize = 10;

/// The manager older `Update` entries are merged into beyond [`MAX_UPDATE_MANAGERS`].
pub const ANCIENT_CHANGES_MANAGER: &str = "ancient-changes";

/// Merges the oldest `Update` entries into one `ancient-changes` entry per apiVersion until at
/// most [`MAX_UPDATE_MANAGERS`] are left (upstream's `capManagersManager`).
fn cap_update_managers(entries: &mut Vec<Entry>) {
    let mut updaters: Vec<usize> = (0..entries.len())
        .filter(|&i| entries[i].operation == "Update")
        .collect();
    if updaters.len() <= MAX_UPDATE_MANAGERS {
        return;
    }
    updaters.sort_by(|&a, &b| {
        let (a, b) = (&entries[a], &entries[b]);
        (a.time.as_deref().unwrap_or(""), &a.manager)
            .cmp(&(b.time.as_deref().unwrap_or(""), &b.manager))
    });
    let mut remaining = updaters.len();
    let mut first_of_version: Vec<(String, usize)> = Vec::new();
    let mut dropped: Vec<usize> = Vec::new();
    for &i in &updaters {
        if remaining <= MAX_UPDATE_MANAGERS {
            break;
        }
        let version = entries[i].api_version.clone();
        let Some(&(_, first)) = first_of_version.iter().find(|(v, _)| *v == version) else {
            first_of_version.push((version, i));
            continue;
        };
        // The bucket: an existing ancient-changes entry of this version, else the first one.
        let bucket = entries
            .iter()
            .position(|e| e.is(ANCIENT_CHANGES_MANAGER, "Update", &version, None))
            .filter(|b| !dropped.contains(b))
            .unwrap_or(first);
        if bucket == i {
            continue;
        }
        let set = entries[i].set.union(&entries[bucket].set);
        let time = entries[i].time.clone();
        let b = &mut entries[bucket];
        b.manager = ANCIENT_CHANGES_MANAGER.to_string();
        b.subresource = None;
        b.set = set;
        b.time = time;
        dropped.push(i);
        remaining -= 1;
    }
    let mut i = 0;
    entries.retain(|_| {
        let keep = !dropped.contains(&i);
        i += 1;
        keep
    });
}

/// What a create compares against: kube-apiserver compares with the kind's Go zero value, in
/// which value (non-pointer) structs already exist, so they are not "added" (no `.` entry).
/// The definitions do not say which structs are values; these are the ones every workload
/// kind has (`metadata`, `spec`, `status`, pod templates, update strategies). Custom resources
/// (no definitions) start from an empty object, as upstream's unstructured zero value.
fn zero_object(schema: Option<Schema<'_>>) -> Value {
    fn skeleton(s: Schema<'_>, depth: usize) -> Value {
        let mut m = Map::new();
        for name in s.property_names() {
            let Some(p) = s.property(name) else { continue };
            let value_struct = matches!(name, "metadata" | "spec" | "status")
                || (depth > 0
                    && matches!(
                        name,
                        "template" | "jobTemplate" | "strategy" | "updateStrategy"
                    ));
            if value_struct && p.has_properties() && depth < 6 {
                let child = if matches!(name, "metadata" | "status" | "strategy" | "updateStrategy")
                {
                    Value::Object(Map::new())
                } else {
                    skeleton(p, depth + 1)
                };
                m.insert(name.to_string(), child);
            }
        }
        Value::Object(m)
    }
    match schema {
        Some(s) if s.defs().is_some() => skeleton(s, 0),
        _ => json!({}),
    }
}

/// The annotation `kubectl apply` (client-side) keeps the applied configuration in.
pub const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The only manager whose server-side applies upgrade from client-side apply.
const LAST_APPLIED_MANAGER: &str = "kubectl";

fn last_applied(obj: &Value) -> Option<&str> {
    obj.get("metadata")?
        .get("annotations")?
        .get(LAST_APPLIED_ANNOTATION)?
        .as_str()
        .filter(|s| !s.is_empty())
}

/// The fields (rendered paths) the last-applied annotation sets to the live values.
fn allowed_from_last_applied(live: &Value, schema: Option<Schema<'_>>) -> Vec<String> {
    let Some(last) = last_applied(live).and_then(|s| serde_json::from_str::<Value>(s).ok()) else {
        return Vec::new();
    };
    let cmp = typed::compare(&last, live, schema);
    typed::to_field_set(&last, schema)
        .difference(&cmp.modified)
        .difference(&cmp.added)
        .difference(&cmp.removed)
        .paths()
        .iter()
        .map(|p| path_to_string(p))
        .collect()
}

/// JSON with object keys sorted, as Go encodes unstructured objects.
fn sorted_json(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted_json(&m[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted_json).collect()),
        v => v.clone(),
    }
}

/// Keeps the last-applied annotation in step with a server-side apply by `kubectl`
/// (managedfields lastAppliedUpdater): the applied configuration, without the annotation.
fn set_last_applied(obj: &mut Value, config: &Value) {
    let mut applied = config.clone();
    if let Some(a) = applied
        .get_mut("metadata")
        .and_then(|m| m.get_mut("annotations"))
        .and_then(Value::as_object_mut)
    {
        a.remove(LAST_APPLIED_ANNOTATION);
    }
    let encoded = sorted_json(&applied).to_string();
    if let Some(a) = obj
        .get_mut("metadata")
        .and_then(|m| m.get_mut("annotations"))
        .and_then(Value::as_object_mut)
    {
        a.insert(LAST_APPLIED_ANNOTATION.into(), Value::String(encoded));
    }
}

/// Takes `metadata.managedFields` out of an object.
fn take_managed_fields(obj: &mut Value) -> Option<Value> {
    obj.get_mut("metadata")
        .and_then(Value::as_object_mut)
        .and_then(|m| m.remove("managedFields"))
}

/// `managedFields: [{}]` (only empty entries): the documented way to clear them.
fn is_reset_request(managed: Option<&Value>) -> bool {
    managed.and_then(Value::as_array).is_some_and(|l| {
        !l.is_empty() && l.iter().all(|e| e.as_object().is_some_and(Map::is_empty))
    })
}

/// Structured-merge-diff's `update`: the fields that changed between `live` and `new` are
/// taken from (force) or conflict with every other manager; removed fields leave every manager.
fn take_changes(
    live: &Value,
    new: &Value,
    entries: &mut [Entry],
    skip: Option<usize>,
    force: bool,
    schema: Option<Schema<'_>>,
    reset: &FieldSet,
) -> Result<typed::Comparison, ApplyError> {
    let cmp = typed::compare(live, new, schema).filter(reset);
    let changed = cmp.modified.union(&cmp.added);
    let mut conflicts = Vec::new();
    let mut taken: Vec<(usize, FieldSet)> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        if Some(i) == skip {
            continue;
        }
        let c = e.set.intersection(&changed);
        if !c.is_empty() {
            conflicts.extend(c.paths().iter().map(|p| e.conflict(p)));
            taken.push((i, c));
        }
    }
    if !force && !conflicts.is_empty() {
        return Err(ApplyError::Conflicts(conflicts));
    }
    for (i, c) in taken {
        entries[i].set = entries[i].set.difference(&c);
    }
    for (i, e) in entries.iter_mut().enumerate() {
        if Some(i) != skip {
            e.set = e.set.difference(&cmp.removed);
        }
    }
    Ok(cmp)
}

/// Server-side apply of `config` by `manager` to `live` (`None`: create-on-apply). Returns the
/// object to store, with `metadata.managedFields` updated; the caller still runs the kind's
/// strategy (which resets the [`reset_fields`]) and validation on it.
pub fn apply(
    live: Option<&Value>,
    config: &Value,
    manager: &Manager<'_>,
    force: bool,
    schema: Option<Schema<'_>>,
    reset: &FieldSet,
) -> Result<Value, ApplyError> {
    if !config.is_object() {
        return Err(ApplyError::NotAnObject);
    }
    if config
        .get("metadata")
        .and_then(|m| m.get("managedFields"))
        .is_some_and(|v| !v.is_null())
    {
        return Err(ApplyError::ManagedFieldsInConfig);
    }
    if let Some(v) = config.get("apiVersion").and_then(Value::as_str)
        && v != manager.api_version
    {
        return Err(ApplyError::VersionMismatch {
            specified: v.to_string(),
            expected: manager.api_version.to_string(),
        });
    }
    let mut live_obj = live.cloned().unwrap_or_else(|| json!({}));
    // Undecodable managedFields on the live object start over, rather than fail every write.
    let mut entries =
        decode_entries(take_managed_fields(&mut live_obj).as_ref()).unwrap_or_default();
    let mut config = config.clone();
    take_managed_fields(&mut config);

    let mut merged = typed::merge(&live_obj, &config, schema);
    let applied = typed::to_field_set(&config, schema).recursive_difference(reset);
    let me = match entries
        .iter()
        .position(|e| e.is(manager.name, "Apply", "", manager.subresource))
    {
        Some(i) => i,
        None => {
            entries.push(Entry {
                manager: manager.name.to_string(),
                operation: "Apply",
                api_version: manager.api_version.to_string(),
                time: None,
                subresource: manager.subresource.map(str::to_string),
                set: FieldSet::new(),
            });
            entries.len() - 1
        }
    };
    let last = std::mem::replace(&mut entries[me].set, applied);
    entries[me].api_version = manager.api_version.to_string();
    if !last.is_empty() {
        let owned = entries
            .iter()
            .fold(FieldSet::new(), |acc, e| acc.union(&e.set));
        typed::prune(&mut merged, schema, &last, &owned);
    }
    let before = entries.clone();
    match take_changes(
        &live_obj,
        &merged,
        &mut entries,
        Some(me),
        force,
        schema,
        reset,
    ) {
        Ok(_) => {}
        Err(ApplyError::Conflicts(conflicts)) if manager.name == LAST_APPLIED_MANAGER => {
            // Upgrading from client-side apply: conflicts on fields the last-applied
            // annotation still describes exactly are taken (managedfields lastAppliedManager).
            let allowed = allowed_from_last_applied(&live_obj, schema);
            let remaining: Vec<Conflict> = conflicts
                .into_iter()
                .filter(|c| !allowed.contains(&c.field))
                .collect();
            if !remaining.is_empty() {
                return Err(ApplyError::Conflicts(remaining));
            }
            entries = before;
            take_changes(
                &live_obj,
                &merged,
                &mut entries,
                Some(me),
                true,
                schema,
                reset,
            )?;
        }
        Err(e) => return Err(e),
    }
    if manager.name == LAST_APPLIED_MANAGER && last_applied(&live_obj).is_some() {
        set_last_applied(&mut merged, &config);
    }
    entries[me].set = entries[me].set.difference(&stripped_fields());
    if merged != live_obj || entries[me].time.is_none() {
        entries[me].time = Some(manager.now.to_string());
    }
    cap_update_managers(&mut entries);
    store_entries(&mut merged, entries);
    Ok(merged)
}

/// Records a non-apply write by `manager`: fields `new` adds or changes relative to `old`
/// (`None` on create) become the manager's `Update` entry and leave the other managers'; fields
/// it removes leave every manager. `managedFields` sent in `new` replace the stored ones when
/// valid and non-empty (not on subresources); `[{}]` clears them.
pub fn record_update(
    old: Option<&Value>,
    new: &mut Value,
    manager: &Manager<'_>,
    schema: Option<Schema<'_>>,
    reset: &FieldSet,
) {
    let sent = take_managed_fields(new);
    if is_reset_request(sent.as_ref()) {
        return;
    }
    let mut old_obj = old.cloned().unwrap_or_else(|| zero_object(schema));
    let stored = take_managed_fields(&mut old_obj);
    let mut entries = match decode_entries(sent.as_ref()) {
        Ok(e) if !e.is_empty() && manager.subresource.is_none() => e,
        _ => decode_entries(stored.as_ref()).unwrap_or_default(),
    };
    let Ok(cmp) = take_changes(&old_obj, new, &mut entries, None, true, schema, reset) else {
        return;
    };
    let set = cmp
        .added
        .union(&cmp.modified)
        .recursive_difference(reset)
        .difference(&stripped_fields());
    if !set.is_empty() {
        match entries.iter_mut().find(|e| {
            e.is(
                manager.name,
                "Update",
                manager.api_version,
                manager.subresource,
            )
        }) {
            Some(e) => {
                e.set = e.set.union(&set);
                e.time = Some(manager.now.to_string());
            }
            None => entries.push(Entry {
                manager: manager.name.to_string(),
                operation: "Update",
                api_version: manager.api_version.to_string(),
                time: Some(manager.now.to_string()),
                subresource: manager.subresource.map(str::to_string),
                set,
            }),
        }
    }
    cap_update_managers(&mut entries);
    store_entries(new, entries);
}
