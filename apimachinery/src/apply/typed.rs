//! Schema-aware walks over JSON objects: the field set of an object, the merge of an applied
//! configuration into a live object, the comparison of two objects, and the pruning of fields
//! an applier gave up (structured-merge-diff's `typed` package, over [`Schema`]).
//!
//! How a node is read: a schema with `properties` is a struct (its declared properties are
//! "named fields"), one with `additionalProperties` or a plain `type: object` a granular map,
//! `x-kubernetes-map-type: atomic` and scalars leaves; arrays follow [`Schema::list_type`].
//! Without a schema (or for undeclared fields) objects are granular maps and arrays atomic, as
//! upstream's deduced schema. `metadata` at the root always reads as `ObjectMeta`.

use serde_json::{Map, Value};

use super::fieldpath::{FieldSet, PathElement};
use crate::schema::{ListType, Schema};

/// How a value is walked.
enum Shape<'s> {
    /// An object with declared properties (and maybe `additionalProperties` for the rest).
    Struct(Schema<'s>),
    /// A granular map whose values follow this schema (None: deduced).
    Map(Option<Schema<'s>>),
    /// An associative list (set or map), with the item schema.
    List(ListType, Option<Schema<'s>>),
    /// Replaced and owned as a whole.
    Leaf,
}

fn shape<'s>(schema: Option<Schema<'s>>, v: &Value) -> Shape<'s> {
    let Some(s) = schema else {
        return match v {
            Value::Object(_) => Shape::Map(None),
            _ => Shape::Leaf,
        };
    };
    if s.is_int_or_string() {
        return Shape::Leaf;
    }
    match v {
        Value::Array(_) => match s.type_name() {
            Some("array") => match s.list_type() {
                ListType::Atomic => Shape::Leaf,
                lt => Shape::List(lt, s.items()),
            },
            _ => Shape::Leaf,
        },
        Value::Object(_) => {
            if matches!(
                s.type_name(),
                Some("array" | "string" | "integer" | "number" | "boolean")
            ) || s.is_atomic_map()
            {
                Shape::Leaf
            } else if s.has_properties() {
                Shape::Struct(s)
            } else {
                Shape::Map(s.additional_properties())
            }
        }
        _ => Shape::Leaf,
    }
}

/// The schema of `ObjectMeta`, used for `metadata` at the root of every object.
fn object_meta() -> Option<Schema<'static>> {
    Schema::definition(
        crate::openapi::builtin_definitions(),
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
    )
}

/// The schema of field `key` of a struct or map node, and whether it is a named field.
fn field<'s>(shape: &Shape<'s>, key: &str, at_root: bool) -> (Option<Schema<'s>>, bool) {
    let (schema, named) = match shape {
        Shape::Struct(s) => match s.property(key) {
            Some(p) => (Some(p), true),
            None => (s.additional_properties(), false),
        },
        Shape::Map(e) => (*e, false),
        _ => (None, false),
    };
    if at_root && key == "metadata" && !schema.is_some_and(|s| s.has_properties()) {
        return (object_meta(), named);
    }
    (schema, named)
}

fn is_empty_object(v: &Value) -> bool {
    v.as_object().is_some_and(Map::is_empty)
}

/// The path element of an item of an associative list.
fn item_element(
    item: &Value,
    lt: &ListType,
    items: Option<Schema<'_>>,
    index: usize,
) -> PathElement {
    match lt {
        ListType::Map(keys) if !keys.is_empty() => {
            let Some(obj) = item.as_object() else {
                return PathElement::Index(index);
            };
            let mut fields = Vec::new();
            for k in keys {
                if let Some(v) = obj.get(k) {
                    fields.push((k.clone(), v.clone()));
                } else if let Some(d) = key_default(items, k) {
                    fields.push((k.clone(), d));
                }
            }
            if fields.is_empty() {
                PathElement::Index(index)
            } else {
                PathElement::key(fields)
            }
        }
        _ => match item {
            Value::Object(_) | Value::Array(_) => PathElement::Index(index),
            v => PathElement::value(v),
        },
    }
}

/// The default of a list-map key left out of an item: the schema's `default`, else `TCP` for
/// the `protocol` of the built-in port lists (kube-openapi declares that default; the
/// definitions Warren serves do not carry it).
fn key_default(items: Option<Schema<'_>>, key: &str) -> Option<Value> {
    let items = items?;
    if let Some(d) = items.property(key).and_then(|p| p.node().get("default")) {
        return Some(d.clone());
    }
    (key == "protocol" && items.defs().is_some()).then(|| Value::String("TCP".into()))
}

/// Items of an associative list by path element, first occurrence wins.
fn index_items<'v>(
    list: &'v [Value],
    lt: &ListType,
    items: Option<Schema<'_>>,
) -> Vec<(PathElement, &'v Value)> {
    let mut out: Vec<(PathElement, &Value)> = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let pe = item_element(item, lt, items, i);
        if !out.iter().any(|(p, _)| *p == pe) {
            out.push((pe, item));
        }
    }
    out
}

/// The set of fields a value sets (structured-merge-diff's `ToFieldSet`): leaves, list items
/// and map entries are members; struct fields only when null, empty, or undeclared.
pub(crate) fn to_field_set(v: &Value, schema: Option<Schema<'_>>) -> FieldSet {
    fields_of(v, schema, true)
}

fn fields_of(v: &Value, schema: Option<Schema<'_>>, at_root: bool) -> FieldSet {
    let mut out = FieldSet::new();
    let sh = shape(schema, v);
    match (&sh, v) {
        (Shape::Struct(_) | Shape::Map(_), Value::Object(obj)) => {
            for (k, cv) in obj {
                let (cs, named) = field(&sh, k, at_root);
                let pe = PathElement::Field(k.clone());
                let leaf = matches!(shape(cs, cv), Shape::Leaf);
                if leaf || cv.is_null() || is_empty_object(cv) || !named {
                    out.insert_member(pe.clone());
                }
                if !leaf {
                    out.set_child(pe, fields_of(cv, cs, false));
                }
            }
        }
        (Shape::List(lt, items), Value::Array(list)) => {
            for (pe, item) in index_items(list, lt, *items) {
                out.insert_member(pe.clone());
                if !matches!(shape(*items, item), Shape::Leaf) {
                    out.set_child(pe, fields_of(item, *items, false));
                }
            }
        }
        _ => {}
    }
    out
}

/// Removes null values from the maps of a configuration about to be stored.
fn without_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        v => v.clone(),
    }
}

/// Merges an applied configuration into a live object: maps and structs field by field,
/// associative lists item by item (live-only items keep their place, applied items come in the
/// applied order), everything else replaced by the applied value. A null removes the field.
pub(crate) fn merge(live: &Value, config: &Value, schema: Option<Schema<'_>>) -> Value {
    merge_at(Some(live), config, schema, true)
}

fn merge_at(
    live: Option<&Value>,
    config: &Value,
    schema: Option<Schema<'_>>,
    at_root: bool,
) -> Value {
    let Some(live) = live.filter(|l| !l.is_null()) else {
        return without_nulls(config);
    };
    let sh = shape(schema, config);
    match (&sh, live, config) {
        (Shape::Struct(_) | Shape::Map(_), Value::Object(l), Value::Object(c)) => {
            let mut out = l.clone();
            for (k, cv) in c {
                if cv.is_null() {
                    out.remove(k);
                    continue;
                }
                let (cs, _) = field(&sh, k, at_root);
                let merged = merge_at(l.get(k), cv, cs, false);
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (Shape::List(lt, items), Value::Array(l), Value::Array(c)) => {
            Value::Array(merge_lists(l, c, lt, *items))
        }
        _ => without_nulls(config),
    }
}

/// The order structured-merge-diff gives a merged associative list.
fn merge_lists(l: &[Value], r: &[Value], lt: &ListType, items: Option<Schema<'_>>) -> Vec<Value> {
    let lhs = index_items(l, lt, items);
    let rhs = index_items(r, lt, items);
    let in_rhs = |pe: &PathElement| rhs.iter().find(|(p, _)| p == pe).map(|(_, v)| *v);
    let in_lhs = |pe: &PathElement| lhs.iter().find(|(p, _)| p == pe).map(|(_, v)| *v);
    let shared: Vec<&PathElement> = rhs
        .iter()
        .map(|(p, _)| p)
        .filter(|p| in_lhs(p).is_some())
        .collect();
    let mut next_shared = 0;
    let mut done: Vec<&PathElement> = Vec::new();
    let mut out = Vec::with_capacity(l.len().max(r.len()));
    let (mut li, mut ri) = (0, 0);
    while li < lhs.len() || ri < rhs.len() {
        if li < lhs.len() && ri < rhs.len() {
            let pe = &lhs[li].0;
            if *pe == rhs[ri].0 {
                out.push(merge_at(Some(lhs[li].1), rhs[ri].1, items, false));
                done.push(pe);
                li += 1;
                ri += 1;
                next_shared += 1;
                continue;
            }
            if in_rhs(pe).is_some() && shared.get(next_shared).is_some_and(|s| *s != pe) {
                li += 1;
                continue;
            }
        }
        if li < lhs.len() {
            let pe = &lhs[li].0;
            if in_rhs(pe).is_none() {
                out.push(lhs[li].1.clone());
                li += 1;
                continue;
            } else if done.contains(&pe) {
                li += 1;
                continue;
            }
        }
        if ri < rhs.len() {
            let pe = &rhs[ri].0;
            done.push(pe);
            out.push(merge_at(in_lhs(pe), rhs[ri].1, items, false));
            ri += 1;
            if shared.get(next_shared).is_some_and(|s| *s == pe) {
                next_shared += 1;
            }
        }
    }
    out
}

/// What changed between two objects: leaves and whole nodes added, leaves modified, leaves and
/// whole nodes removed (structured-merge-diff's `Comparison`).
#[derive(Debug, Default)]
pub(crate) struct Comparison {
    pub added: FieldSet,
    pub modified: FieldSet,
    pub removed: FieldSet,
}

impl Comparison {
    /// Drops the paths under `ignored`.
    pub fn filter(self, ignored: &FieldSet) -> Comparison {
        Comparison {
            added: self.added.recursive_difference(ignored),
            modified: self.modified.recursive_difference(ignored),
            removed: self.removed.recursive_difference(ignored),
        }
    }
}

/// Compares two objects under a schema.
pub(crate) fn compare(old: &Value, new: &Value, schema: Option<Schema<'_>>) -> Comparison {
    let mut c = Comparison::default();
    compare_at(Some(old), Some(new), schema, &mut Vec::new(), &mut c, true);
    c
}

fn compare_at(
    old: Option<&Value>,
    new: Option<&Value>,
    schema: Option<Schema<'_>>,
    path: &mut Vec<PathElement>,
    c: &mut Comparison,
    at_root: bool,
) {
    let old = old.filter(|v| !v.is_null());
    let new = new.filter(|v| !v.is_null());
    let (old_v, new_v) = match (old, new) {
        (None, None) => return,
        (Some(o), None) => (o, o),
        (None, Some(n)) => (n, n),
        (Some(o), Some(n)) => (o, n),
    };
    let sh = shape(schema, new_v);
    let same_kind = matches!(
        (old_v, new_v),
        (Value::Object(_), Value::Object(_)) | (Value::Array(_), Value::Array(_))
    );
    let both_empty = old.is_none_or(is_empty_object) && new.is_none_or(is_empty_object);
    match (&sh, same_kind && !both_empty) {
        (Shape::Struct(_) | Shape::Map(_), true) => {
            let (Some(o), Some(n)) = (old_v.as_object(), new_v.as_object()) else {
                return;
            };
            let o = old.and(Some(o));
            let n = new.and(Some(n));
            let mut keys: Vec<&String> = n.map(|m| m.keys().collect()).unwrap_or_default();
            for k in o.into_iter().flat_map(|m| m.keys()) {
                if !n.is_some_and(|n| n.contains_key(k)) {
                    keys.push(k);
                }
            }
            for k in keys {
                let (cs, _) = field(&sh, k, at_root);
                path.push(PathElement::Field(k.clone()));
                compare_at(
                    o.and_then(|m| m.get(k)),
                    n.and_then(|m| m.get(k)),
                    cs,
                    path,
                    c,
                    false,
                );
                path.pop();
            }
        }
        (Shape::List(lt, items), true) => {
            let empty = Vec::new();
            let o = old.and_then(Value::as_array).unwrap_or(&empty);
            let n = new.and_then(Value::as_array).unwrap_or(&empty);
            let oi = index_items(o, lt, *items);
            let ni = index_items(n, lt, *items);
            let mut pes: Vec<&PathElement> = ni.iter().map(|(p, _)| p).collect();
            for (p, _) in &oi {
                if !ni.iter().any(|(q, _)| q == p) {
                    pes.push(p);
                }
            }
            for pe in pes {
                let ov = oi.iter().find(|(p, _)| p == pe).map(|(_, v)| *v);
                let nv = ni.iter().find(|(p, _)| p == pe).map(|(_, v)| *v);
                path.push(pe.clone());
                compare_at(ov, nv, *items, path, c, false);
                path.pop();
            }
        }
        _ => {
            match (old, new) {
                (None, Some(_)) => c.added.insert(path),
                (Some(_), None) => c.removed.insert(path),
                (Some(o), Some(n)) if o != n => c.modified.insert(path),
                _ => {}
            }
            return;
        }
    }
    match (old, new) {
        (None, Some(_)) => c.added.insert(path),
        (Some(_), None) => c.removed.insert(path),
        _ => {}
    }
}

/// Removes from `merged` what the applier owned in its previous apply (`last`) and nobody
/// (`owned`: every manager's set, the applier's new one included) owns any more. A struct field
/// counts as owned when anything under it is (upstream's `EnsureNamedFieldsAreMembers`).
pub(crate) fn prune(
    merged: &mut Value,
    schema: Option<Schema<'_>>,
    last: &FieldSet,
    owned: &FieldSet,
) {
    prune_at(merged, schema, Some(last), Some(owned), true);
}

fn contains(set: Option<&FieldSet>, pe: &PathElement, named: bool) -> bool {
    set.is_some_and(|s| s.has_member(pe) || (named && s.child(pe).is_some()))
}

fn prune_at(
    v: &mut Value,
    schema: Option<Schema<'_>>,
    last: Option<&FieldSet>,
    owned: Option<&FieldSet>,
    at_root: bool,
) {
    let Some(last) = last else { return };
    let sh = shape(schema, v);
    match (&sh, v) {
        (Shape::Struct(_) | Shape::Map(_), Value::Object(obj)) => {
            let keys: Vec<String> = obj.keys().cloned().collect();
            for k in keys {
                let (cs, named) = field(&sh, &k, at_root);
                let pe = PathElement::Field(k.clone());
                if contains(Some(last), &pe, named) && !contains(owned, &pe, named) {
                    obj.remove(&k);
                } else if let Some(cv) = obj.get_mut(&k) {
                    prune_at(
                        cv,
                        cs,
                        last.child(&pe),
                        owned.and_then(|o| o.child(&pe)),
                        false,
                    );
                }
            }
        }
        (Shape::List(lt, items), Value::Array(list)) => {
            let old = std::mem::take(list);
            for (i, mut item) in old.into_iter().enumerate() {
                let pe = item_element(&item, lt, *items, i);
                if contains(Some(last), &pe, false) && !contains(owned, &pe, false) {
                    continue;
                }
                prune_at(
                    &mut item,
                    *items,
                    last.child(&pe),
                    owned.and_then(|o| o.child(&pe)),
                    false,
                );
                list.push(item);
            }
        }
        _ => {}
    }
}
