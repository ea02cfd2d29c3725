//! Strategic merge patch (`application/strategic-merge-patch+json`), applied the way
//! kube-apiserver applies it to built-in kinds.
//!
//! This follows the apply half of `k8s.io/apimachinery/pkg/util/strategicpatch` with the options
//! the API server uses (parallel deletion lists merged, unmatched nulls ignored):
//! - maps merge recursively; `null` deletes a key; scalars and lists without a patch strategy are
//!   replaced by the patch's value;
//! - lists whose field declares `x-kubernetes-patch-strategy: merge` merge: lists of objects by
//!   `x-kubernetes-patch-merge-key` (containers by `name`, ports by `containerPort`...), lists of
//!   scalars as a set union (finalizers);
//! - the directives `$patch: replace|delete` (in maps and in list items), `$retainKeys`,
//!   `$setElementOrder/<field>` and `$deleteFromPrimitiveList/<field>`;
//! - the order of merged lists: `$setElementOrder` first, then the patch's order, then the live
//!   order, interleaved as upstream does (including its use of Go's stable sort).
//!
//! Patch metadata comes from an OpenAPI [`Schema`] (the built-in definitions of
//! [`crate::openapi`]); without a schema, or for a field the schema does not know, a field has no
//! patch metadata: maps merge and lists are replaced.
//!
//! Errors carry upstream's messages (Go's `%v` rendering of maps included) and map to the Status
//! kube-apiserver returns: malformed directives are 400, lists of lists 422, and everything
//! else — a missing merge key, an unknown `$patch` value — is the 500 without a reason that
//! kube-apiserver sends for errors it does not classify.
//!
//! Warren stores objects as JSON rather than decoding them into Go structs, so directive keys
//! left in values copied from the patch (which upstream's typed decoding drops as unknown fields)
//! are removed here.

use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::schema::Schema;

const DIRECTIVE_MARKER: &str = "$patch";
const RETAIN_KEYS_DIRECTIVE: &str = "$retainKeys";
const SET_ELEMENT_ORDER_PREFIX: &str = "$setElementOrder";
const DELETE_FROM_PRIMITIVE_LIST_PREFIX: &str = "$deleteFromPrimitiveList";
const DELETE_DIRECTIVE: &str = "delete";
const REPLACE_DIRECTIVE: &str = "replace";
const MERGE_DIRECTIVE: &str = "merge";
const RETAIN_KEYS_STRATEGY: &str = "retainKeys";

/// `mergepatch.ErrBadJSONDoc`.
const ERR_BAD_JSON_DOC: &str = "invalid JSON document";
/// `mergepatch.ErrNoListOfLists`.
const ERR_NO_LIST_OF_LISTS: &str = "lists of lists are not supported";
/// `mergepatch.ErrBadPatchFormatForPrimitiveList`.
const ERR_BAD_PRIMITIVE_LIST: &str = "invalid patch format of primitive list";
/// `mergepatch.ErrBadPatchFormatForRetainKeys`.
const ERR_BAD_RETAIN_KEYS: &str = "invalid patch format of retainKeys";
/// `mergepatch.ErrBadPatchFormatForSetElementOrderList`.
const ERR_BAD_SET_ELEMENT_ORDER: &str = "invalid patch format of setElementOrder list";

/// Why a strategic merge patch could not be applied. The message is upstream's; the variant says
/// which Status kube-apiserver answers with.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SmpError {
    /// A malformed patch document or directive (`invalid patch format of retainKeys`...):
    /// 400 BadRequest with this message.
    #[error("{0}")]
    BadRequest(&'static str),
    /// A patch the server understands but cannot process (`lists of lists are not supported`):
    /// 422 Invalid with the generic message, as kube-apiserver words it.
    #[error("{0}")]
    Unprocessable(&'static str),
    /// Any other failure (`map: map[image:x] does not contain declared merge key: name`,
    /// `unknown patch type: foo in map: ...`): kube-apiserver does not classify these, so they
    /// reach the client as 500 with no reason and this message.
    #[error("{0}")]
    Other(String),
}

impl From<SmpError> for ApiError {
    fn from(err: SmpError) -> Self {
        match err {
            SmpError::BadRequest(message) => ApiError::bad_request(message),
            SmpError::Unprocessable(_) => ApiError {
                code: 422,
                reason: "Invalid",
                message: "the server rejected our request due to an error in our request".into(),
                details: Some(Value::Object(Map::new())),
            },
            SmpError::Other(message) => ApiError::new(500, "", message),
        }
    }
}

type SmpResult<T> = Result<T, SmpError>;

/// Applies the strategic merge patch `patch` to `original`, reading patch strategies and merge
/// keys from `schema` (the kind's definition), as kube-apiserver does for built-in kinds.
pub fn strategic_merge_patch(
    original: &Value,
    patch: &Value,
    schema: Option<Schema<'_>>,
) -> Result<Value, SmpError> {
    let Value::Object(patch) = patch else {
        return Err(SmpError::BadRequest(ERR_BAD_JSON_DOC));
    };
    let original = match original {
        Value::Object(m) => m.clone(),
        Value::Null => Map::new(),
        _ => return Err(SmpError::BadRequest(ERR_BAD_JSON_DOC)),
    };
    merge_map(original, patch.clone(), Meta(schema)).map(Value::Object)
}

/// The patch metadata of one position in the object (upstream's `LookupPatchMeta`).
#[derive(Clone, Copy, Debug)]
struct Meta<'a>(Option<Schema<'a>>);

impl<'a> Meta<'a> {
    fn field(&self, key: &str) -> Option<Schema<'a>> {
        let schema = self.0?;
        schema
            .property(key)
            .or_else(|| schema.additional_properties())
    }

    /// The schema of a map-valued field and its patch strategies.
    fn for_struct(&self, key: &str) -> (Meta<'a>, Vec<&'a str>) {
        let field = self.field(key);
        (
            Meta(field),
            field.map(|f| f.patch_strategies()).unwrap_or_default(),
        )
    }

    /// The schema of a list field's items, its patch strategies and its merge key.
    fn for_slice(&self, key: &str) -> (Meta<'a>, Vec<&'a str>, &'a str) {
        let field = self.field(key);
        (
            Meta(field.and_then(|f| f.items())),
            field.map(|f| f.patch_strategies()).unwrap_or_default(),
            field.and_then(|f| f.patch_merge_key()).unwrap_or(""),
        )
    }

    /// What upstream prints for the element type in "cannot merge lists without merge key".
    fn kind_name(&self) -> &'static str {
        match self.0 {
            Some(s) if s.has_properties() => "struct",
            Some(s) if s.additional_properties().is_some() => "map",
            _ => "interface",
        }
    }
}

/// `extractRetainKeysPatchStrategy`: the strategy other than `retainKeys`.
fn patch_strategy(strategies: &[&str]) -> SmpResult<String> {
    match strategies {
        [] => Ok(String::new()),
        [one] if *one == RETAIN_KEYS_STRATEGY => Ok(String::new()),
        [one] => Ok((*one).to_string()),
        [a, b] if *a == RETAIN_KEYS_STRATEGY => Ok((*b).to_string()),
        [a, b] if *b == RETAIN_KEYS_STRATEGY => Ok((*a).to_string()),
        _ => Err(SmpError::Other(format!(
            "unexpected patch strategy: [{}]",
            strategies.join(" ")
        ))),
    }
}

fn merge_map(
    mut original: Map<String, Value>,
    mut patch: Map<String, Value>,
    meta: Meta<'_>,
) -> SmpResult<Map<String, Value>> {
    if let Some(directive) = patch.get(DIRECTIVE_MARKER) {
        return handle_directive_in_merge_map(directive.clone(), patch);
    }
    apply_retain_keys_directive(&mut original, &mut patch)?;
    merge_set_element_order_lists(&mut original, &mut patch, meta)?;

    for (key, patch_value) in patch {
        let (is_delete_list, key) = if key.starts_with(DELETE_FROM_PRIMITIVE_LIST_PREFIX) {
            (
                true,
                extract_key(&key, DELETE_FROM_PRIMITIVE_LIST_PREFIX)?.to_string(),
            )
        } else {
            (false, key)
        };

        if patch_value.is_null() {
            original.remove(&key);
            continue;
        }
        let Some(original_value) = original.get_mut(&key) else {
            if !is_delete_list {
                set_from_patch(&mut original, key, patch_value);
            }
            continue;
        };
        if GoType::of(original_value) != GoType::of(&patch_value) {
            if !is_delete_list {
                set_from_patch(&mut original, key, patch_value);
            }
            continue;
        }
        match (original_value, patch_value) {
            (Value::Object(original_map), Value::Object(patch_map)) => {
                let (sub, strategies) = meta.for_struct(&key);
                let strategy = patch_strategy(&strategies)?;
                let merged = if strategy == REPLACE_DIRECTIVE {
                    strip_directive_keys_map(patch_map)
                } else {
                    merge_map(std::mem::take(original_map), patch_map, sub)?
                };
                *original_map = merged;
            }
            (Value::Array(original_list), Value::Array(patch_list)) => {
                let (sub, strategies, merge_key) = meta.for_slice(&key);
                let strategy = patch_strategy(&strategies)?;
                let merged = if strategy == MERGE_DIRECTIVE || is_delete_list {
                    merge_slice(
                        std::mem::take(original_list),
                        patch_list,
                        sub,
                        merge_key,
                        is_delete_list,
                    )?
                } else {
                    patch_list.into_iter().map(strip_directive_keys).collect()
                };
                *original_list = merged;
            }
            (_, patch_value) => set_from_patch(&mut original, key, patch_value),
        }
    }
    Ok(original)
}

/// Stores a value taken from the patch: nulls inside it dropped, objects carrying `$patch`
/// removed (upstream's `discardNullValuesFromPatch` and `removeDirectives`).
fn set_from_patch(original: &mut Map<String, Value>, key: String, mut value: Value) {
    discard_null_values(&mut value);
    match remove_directives(value) {
        Some(value) => {
            original.insert(key, strip_directive_keys(value));
        }
        None => {
            original.remove(&key);
        }
    }
}

/// `handleDirectiveInMergeMap`: `$patch` in a map.
fn handle_directive_in_merge_map(
    directive: Value,
    mut patch: Map<String, Value>,
) -> SmpResult<Map<String, Value>> {
    match directive.as_str() {
        Some(REPLACE_DIRECTIVE) => {
            patch.remove(DIRECTIVE_MARKER);
            Ok(strip_directive_keys_map(patch))
        }
        Some(DELETE_DIRECTIVE) => Ok(Map::new()),
        _ => Err(err_bad_patch_type(&directive, &patch)),
    }
}

/// `applyRetainKeysDirective`: clears the keys of `original` missing from `$retainKeys`, after
/// checking that every key the patch sets is listed.
fn apply_retain_keys_directive(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
) -> SmpResult<()> {
    let Some(retain) = patch.remove(RETAIN_KEYS_DIRECTIVE) else {
        return Ok(());
    };
    let Value::Array(retain) = retain else {
        return Err(SmpError::BadRequest(ERR_BAD_RETAIN_KEYS));
    };
    let listed = |k: &str| retain.iter().any(|v| v.as_str() == Some(k));
    for (k, v) in patch.iter() {
        if v.is_null()
            || k.starts_with(DELETE_FROM_PRIMITIVE_LIST_PREFIX)
            || k.starts_with(SET_ELEMENT_ORDER_PREFIX)
        {
            continue;
        }
        if !listed(k) {
            return Err(SmpError::BadRequest(ERR_BAD_RETAIN_KEYS));
        }
    }
    original.retain(|k, _| listed(k));
    Ok(())
}

/// `extractKey`: the field name after `prefix/`.
fn extract_key<'k>(key: &'k str, prefix: &str) -> SmpResult<&'k str> {
    match key.split_once('/') {
        Some((head, rest)) if head == prefix => Ok(rest),
        _ if prefix == DELETE_FROM_PRIMITIVE_LIST_PREFIX => {
            Err(SmpError::BadRequest(ERR_BAD_PRIMITIVE_LIST))
        }
        _ => Err(SmpError::BadRequest(ERR_BAD_SET_ELEMENT_ORDER)),
    }
}

/// `mergePatchIntoOriginal`: merges each list that has a `$setElementOrder/<field>` directive
/// together with it and orders the result; those lists leave the patch.
fn merge_set_element_order_lists(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
    meta: Meta<'_>,
) -> SmpResult<()> {
    let keys: Vec<String> = patch
        .keys()
        .filter(|k| k.starts_with(SET_ELEMENT_ORDER_PREFIX))
        .cloned()
        .collect();
    for key in keys {
        let Some(order) = patch.remove(&key) else {
            continue;
        };
        let Value::Array(order) = order else {
            return Err(err_bad_arg_type("[]interface {}", &order));
        };
        let field = extract_key(&key, SET_ELEMENT_ORDER_PREFIX)?.to_string();
        let original_list = match original.get(&field) {
            Some(Value::Array(l)) => Some(l.clone()),
            Some(other) => return Err(err_bad_arg_type("[]interface {}", other)),
            None => None,
        };
        let patch_list = match patch.get(&field) {
            Some(Value::Array(l)) => Some(l.clone()),
            Some(other) => return Err(err_bad_arg_type("[]interface {}", other)),
            None => None,
        };
        let (sub, strategies, merge_key) = meta.for_slice(&field);
        let strategy = patch_strategy(&strategies)?;
        validate_patch_with_set_order_list(
            patch_list.as_deref().unwrap_or(&[]),
            &order,
            merge_key,
        )?;
        let merged = match (&original_list, patch_list) {
            (Some(o), None) => o.clone(),
            (None, Some(p)) => match remove_directives(Value::Array(p)) {
                Some(Value::Array(p)) => p.into_iter().map(strip_directive_keys).collect(),
                _ => continue,
            },
            (Some(o), Some(p)) => {
                if strategy == MERGE_DIRECTIVE {
                    merge_slice(o.clone(), p, sub, merge_key, false)?
                } else {
                    p.into_iter().map(strip_directive_keys).collect()
                }
            }
            (None, None) => continue,
        };
        let (patch_items, server_only) = if merge_key.is_empty() {
            partition_primitives(merged, &order)
        } else {
            partition_maps(merged, &order, merge_key)?
        };
        let original_list = original_list.unwrap_or_default();
        let patch_list = match patch.get(&field) {
            Some(Value::Array(l)) => l.as_slice(),
            _ => &[],
        };
        let kind = slice_element_type(&[&original_list, patch_list])?;
        let both = normalize_element_order(
            patch_items,
            server_only,
            &order,
            &original_list,
            merge_key,
            kind,
        )?;
        original.insert(field.clone(), Value::Array(both));
        patch.remove(&field);
    }
    Ok(())
}

/// `validatePatchWithSetOrderList`: the patch list's items (deletions aside) appear in the
/// `$setElementOrder` list, in the same relative order.
fn validate_patch_with_set_order_list(
    patch_list: &[Value],
    order: &[Value],
    merge_key: &str,
) -> SmpResult<()> {
    if order.is_empty() || patch_list.is_empty() {
        return Ok(());
    }
    let non_delete: Vec<&Value> = if merge_key.is_empty() {
        patch_list.iter().collect()
    } else {
        let mut keep = Vec::new();
        for v in patch_list {
            let Value::Object(m) = v else {
                return Err(err_bad_arg_type("map[string]interface {}", v));
            };
            if m.get(DIRECTIVE_MARKER).and_then(Value::as_str) != Some(DELETE_DIRECTIVE) {
                keep.push(v);
            }
        }
        keep
    };
    let (mut patch_index, mut order_index) = (0, 0);
    while patch_index < non_delete.len() && order_index < order.len() {
        if non_delete[patch_index]
            .as_object()
            .is_some_and(|m| m.contains_key(DIRECTIVE_MARKER))
        {
            patch_index += 1;
            continue;
        }
        if merge_key_value_equal(non_delete[patch_index], &order[order_index], merge_key)? {
            patch_index += 1;
        }
        order_index += 1;
    }
    if patch_index < non_delete.len() && order_index >= order.len() {
        return Err(SmpError::Other(format!(
            "the order in patch list:\n{}\n doesn't match {SET_ELEMENT_ORDER_PREFIX} list:\n{}",
            go_sprint(&Value::Array(patch_list.to_vec())),
            go_sprint(&Value::Array(order.to_vec())),
        )));
    }
    Ok(())
}

fn merge_key_value_equal(left: &Value, right: &Value, merge_key: &str) -> SmpResult<bool> {
    if merge_key.is_empty() {
        return Ok(left == right);
    }
    let Value::Object(l) = left else {
        return Err(err_bad_arg_type("map[string]interface {}", left));
    };
    let Value::Object(r) = right else {
        return Err(err_bad_arg_type("map[string]interface {}", right));
    };
    let Some(lv) = l.get(merge_key) else {
        return Err(err_no_merge_key(l, merge_key));
    };
    let Some(rv) = r.get(merge_key) else {
        return Err(err_no_merge_key(r, merge_key));
    };
    Ok(lv == rv)
}

/// `mergeSlice`: merges two lists of a field whose strategy is `merge` (or a deletion list).
fn merge_slice(
    original: Vec<Value>,
    patch: Vec<Value>,
    meta: Meta<'_>,
    merge_key: &str,
    is_delete_list: bool,
) -> SmpResult<Vec<Value>> {
    if original.is_empty() && patch.is_empty() {
        return Ok(original);
    }
    let kind = slice_element_type(&[&original, &patch])?;
    let (original, patch, merged) = if kind != GoType::Map {
        if is_delete_list {
            return Ok(original
                .into_iter()
                .filter(|v| !patch.contains(v))
                .collect());
        }
        let mut merged: Vec<Value> = Vec::with_capacity(original.len() + patch.len());
        for v in original.iter().chain(patch.iter()) {
            if !merged.contains(v) {
                merged.push(v.clone());
            }
        }
        (original, patch, merged)
    } else {
        if merge_key.is_empty() {
            return Err(SmpError::Other(format!(
                "cannot merge lists without merge key for {}",
                meta.kind_name()
            )));
        }
        let (original, patch) = merge_slice_with_special_elements(original, patch, merge_key)?;
        let merged =
            merge_slice_without_special_elements(original.clone(), &patch, merge_key, meta)?;
        (original, patch, merged)
    };
    let (patch_items, server_only) = if merge_key.is_empty() {
        partition_primitives(merged, &patch)
    } else {
        partition_maps(merged, &patch, merge_key)?
    };
    normalize_element_order(patch_items, server_only, &patch, &original, merge_key, kind)
}

/// `mergeSliceWithSpecialElements`: applies `$patch: delete` items to `original`; a
/// `$patch: replace` item makes the patch's plain items the whole list. Returns the new
/// original and the patch's plain items.
fn merge_slice_with_special_elements(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    merge_key: &str,
) -> SmpResult<(Vec<Value>, Vec<Value>)> {
    let mut plain = Vec::with_capacity(patch.len());
    let mut replace = false;
    for v in patch {
        let Some(directive) = v.get(DIRECTIVE_MARKER) else {
            plain.push(v);
            continue;
        };
        match directive.as_str() {
            Some(DELETE_DIRECTIVE) => {
                let Some(key_value) = v.get(merge_key) else {
                    return Err(err_no_merge_key(v.as_object().expect("map"), merge_key));
                };
                if let Some(i) = original.iter().position(|o| !o.is_object()) {
                    return Err(SmpError::Other(format!("value for key {i} is not a map")));
                }
                original.retain(|o| o.get(merge_key) != Some(key_value));
            }
            Some(REPLACE_DIRECTIVE) => replace = true,
            Some(MERGE_DIRECTIVE) => {
                return Err(SmpError::Other(
                    "merging lists cannot yet be specified in the patch".into(),
                ));
            }
            _ => {
                return Err(err_bad_patch_type(directive, v.as_object().expect("map")));
            }
        }
    }
    if replace {
        return Ok((
            plain.into_iter().map(strip_directive_keys).collect(),
            Vec::new(),
        ));
    }
    Ok((original, plain))
}

/// `mergeSliceWithoutSpecialElements`: merges each patch item into the original item with the
/// same merge key, or appends it.
fn merge_slice_without_special_elements(
    mut original: Vec<Value>,
    patch: &[Value],
    merge_key: &str,
    meta: Meta<'_>,
) -> SmpResult<Vec<Value>> {
    for v in patch {
        let Value::Object(item) = v else {
            return Err(err_bad_arg_type("map[string]interface {}", v));
        };
        let Some(key_value) = item.get(merge_key) else {
            return Err(err_no_merge_key(item, merge_key));
        };
        let mut found = None;
        for (i, o) in original.iter().enumerate() {
            let Value::Object(o) = o else {
                return Err(SmpError::Other(format!("value for key {i} is not a map")));
            };
            if o.get(merge_key) == Some(key_value) {
                found = Some(i);
                break;
            }
        }
        match found {
            Some(i) => {
                let Value::Object(o) = std::mem::take(&mut original[i]) else {
                    unreachable!("checked to be a map above");
                };
                original[i] = Value::Object(merge_map(o, item.clone(), meta)?);
            }
            None => original.push(strip_directive_keys(v.clone())),
        }
    }
    Ok(original)
}

/// `partitionPrimitivesByPresentInList`.
fn partition_primitives(list: Vec<Value>, by: &[Value]) -> (Vec<Value>, Vec<Value>) {
    list.into_iter().partition(|v| by.contains(v))
}

/// `partitionMapsByPresentInList`.
fn partition_maps(
    list: Vec<Value>,
    by: &[Value],
    merge_key: &str,
) -> SmpResult<(Vec<Value>, Vec<Value>)> {
    let (mut inside, mut outside) = (Vec::new(), Vec::new());
    for v in list {
        let Value::Object(m) = &v else {
            return Err(err_bad_arg_type("map[string]interface {}", &v));
        };
        let Some(key_value) = m.get(merge_key) else {
            return Err(err_no_merge_key(m, merge_key));
        };
        let mut found = false;
        for (i, b) in by.iter().enumerate() {
            let Value::Object(b) = b else {
                return Err(SmpError::Other(format!("value for key {i} is not a map")));
            };
            if b.get(merge_key) == Some(key_value) {
                found = true;
                break;
            }
        }
        if found {
            inside.push(v);
        } else {
            outside.push(v);
        }
    }
    Ok((inside, outside))
}

/// `normalizeElementOrder`: sorts the patch items by `patch_order` and the server-only items by
/// `server_order`, then interleaves them.
fn normalize_element_order(
    patch: Vec<Value>,
    server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    merge_key: &str,
    kind: GoType,
) -> SmpResult<Vec<Value>> {
    let patch = normalize_slice_order(patch, patch_order, merge_key, kind)?;
    let server_only = normalize_slice_order(server_only, server_order, merge_key, kind)?;
    Ok(merge_sorted_slice(
        server_only,
        patch,
        server_order,
        merge_key,
        kind,
    ))
}

/// `normalizeSliceOrder`.
fn normalize_slice_order(
    to_sort: Vec<Value>,
    order: &[Value],
    merge_key: &str,
    kind: GoType,
) -> SmpResult<Vec<Value>> {
    let (mut to_sort, to_delete) = if kind == GoType::Map {
        for v in to_sort.iter().chain(order) {
            let Value::Object(m) = v else {
                return Err(err_bad_arg_type("map[string]interface {}", v));
            };
            if !m.contains_key(merge_key) {
                return Err(err_no_merge_key(m, merge_key));
            }
        }
        to_sort.into_iter().partition::<Vec<Value>, _>(|v| {
            v.get(DIRECTIVE_MARKER).and_then(Value::as_str) != Some(DELETE_DIRECTIVE)
        })
    } else {
        (to_sort, Vec::new())
    };
    go_sort::slice_stable(&mut to_sort, |a, b| {
        match (
            index_of(order, a, merge_key, kind),
            index_of(order, b, merge_key, kind),
        ) {
            (Some(ia), Some(ib)) => ia < ib,
            _ => true,
        }
    });
    to_sort.extend(to_delete);
    Ok(to_sort)
}

/// `mergeSortedSlice`: inserts the items of `left` into `right`, keeping both relative orders and
/// placing a `left` item first only when the live order says it comes before.
fn merge_sorted_slice(
    left: Vec<Value>,
    right: Vec<Value>,
    server_order: &[Value],
    merge_key: &str,
    kind: GoType,
) -> Vec<Value> {
    let less = |l: &Value, r: &Value| match (
        index_of(server_order, l, merge_key, kind),
        index_of(server_order, r, merge_key, kind),
    ) {
        (Some(li), Some(ri)) => li < ri,
        _ => false,
    };
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut left = left.into_iter().peekable();
    let mut right = right.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(l), Some(r)) => less(l, r),
        };
        let next = if take_left { left.next() } else { right.next() };
        out.extend(next);
    }
    out
}

/// `index`: the position of `value` in `list`, by merge key for maps.
fn index_of(list: &[Value], value: &Value, merge_key: &str, kind: GoType) -> Option<usize> {
    if kind == GoType::Map {
        fn key_of<'v>(v: &'v Value, merge_key: &str) -> Option<&'v Value> {
            v.as_object().and_then(|m| m.get(merge_key))
        }
        let wanted = key_of(value, merge_key);
        list.iter().position(|v| key_of(v, merge_key) == wanted)
    } else {
        list.iter().position(|v| v == value)
    }
}

/// The Go dynamic type a JSON value decodes to in kube-apiserver (integers keep `int64`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum GoType {
    Map,
    Slice,
    String,
    Int64,
    Float64,
    Bool,
    Nil,
}

impl GoType {
    fn of(v: &Value) -> GoType {
        match v {
            Value::Object(_) => GoType::Map,
            Value::Array(_) => GoType::Slice,
            Value::String(_) => GoType::String,
            Value::Number(n) if n.is_i64() => GoType::Int64,
            Value::Number(_) => GoType::Float64,
            Value::Bool(_) => GoType::Bool,
            Value::Null => GoType::Nil,
        }
    }

    fn name(self) -> &'static str {
        match self {
            GoType::Map => "map[string]interface {}",
            GoType::Slice => "[]interface {}",
            GoType::String => "string",
            GoType::Int64 => "int64",
            GoType::Float64 => "float64",
            GoType::Bool => "bool",
            GoType::Nil => "%!s(<nil>)",
        }
    }
}

/// `sliceElementType`: the one type of all items of the lists.
fn slice_element_type(lists: &[&[Value]]) -> SmpResult<GoType> {
    let mut seen: Option<GoType> = None;
    for v in lists.iter().flat_map(|l| l.iter()) {
        let t = GoType::of(v);
        match seen {
            None if t == GoType::Slice => {
                return Err(SmpError::Unprocessable(ERR_NO_LIST_OF_LISTS));
            }
            None => seen = Some(t),
            Some(prev) if prev != t => {
                let all: Vec<Value> = lists.iter().map(|l| Value::Array(l.to_vec())).collect();
                return Err(SmpError::Other(format!(
                    "list element types are not identical: {}",
                    go_sprint(&Value::Array(all))
                )));
            }
            Some(_) => {}
        }
    }
    seen.ok_or_else(|| SmpError::Other("no elements in any of the given slices".into()))
}

/// `removeDirectives`: drops objects that carry `$patch` (and list items that do); `None` when
/// `value` itself is such an object.
fn remove_directives(value: Value) -> Option<Value> {
    match value {
        Value::Object(m) => {
            if m.contains_key(DIRECTIVE_MARKER) {
                return None;
            }
            Some(Value::Object(
                m.into_iter()
                    .filter_map(|(k, v)| remove_directives(v).map(|v| (k, v)))
                    .collect(),
            ))
        }
        Value::Array(items) => Some(Value::Array(
            items.into_iter().filter_map(remove_directives).collect(),
        )),
        other => Some(other),
    }
}

/// `discardNullValuesFromPatch`: drops `null` members of objects, at any depth.
fn discard_null_values(value: &mut Value) {
    match value {
        Value::Object(m) => {
            m.retain(|_, v| !v.is_null());
            m.values_mut().for_each(discard_null_values);
        }
        Value::Array(items) => items.iter_mut().for_each(discard_null_values),
        _ => {}
    }
}

fn is_directive_key(key: &str) -> bool {
    key == DIRECTIVE_MARKER
        || key == RETAIN_KEYS_DIRECTIVE
        || key.starts_with(SET_ELEMENT_ORDER_PREFIX)
        || key.starts_with(DELETE_FROM_PRIMITIVE_LIST_PREFIX)
}

/// Removes directive keys left in a value copied from the patch: what upstream's decoding into a
/// Go struct does to them (they are unknown fields there).
fn strip_directive_keys(value: Value) -> Value {
    match value {
        Value::Object(m) => Value::Object(strip_directive_keys_map(m)),
        Value::Array(items) => Value::Array(items.into_iter().map(strip_directive_keys).collect()),
        other => other,
    }
}

fn strip_directive_keys_map(m: Map<String, Value>) -> Map<String, Value> {
    m.into_iter()
        .filter(|(k, _)| !is_directive_key(k))
        .map(|(k, v)| (k, strip_directive_keys(v)))
        .collect()
}

/// `mergepatch.ErrNoMergeKey`.
fn err_no_merge_key(m: &Map<String, Value>, key: &str) -> SmpError {
    SmpError::Other(format!(
        "map: {} does not contain declared merge key: {key}",
        go_sprint_map(m)
    ))
}

/// `mergepatch.ErrBadArgType`.
fn err_bad_arg_type(expected: &str, actual: &Value) -> SmpError {
    SmpError::Other(format!(
        "expected a {expected}, but received a {}",
        GoType::of(actual).name()
    ))
}

/// `mergepatch.ErrBadPatchType`.
fn err_bad_patch_type(directive: &Value, m: &Map<String, Value>) -> SmpError {
    SmpError::Other(format!(
        "unknown patch type: {} in map: {}",
        go_sprint_s(directive),
        go_sprint_map(m)
    ))
}

/// Go's `%v` of a decoded JSON value (`map[a:1 b:[x y]]`, keys sorted).
fn go_sprint(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => go_number(n),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(go_sprint).collect();
            format!("[{}]", parts.join(" "))
        }
        Value::Object(m) => go_sprint_map(m),
    }
}

fn go_sprint_map(m: &Map<String, Value>) -> String {
    let mut entries: Vec<(&String, &Value)> = m.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    let parts: Vec<String> = entries
        .into_iter()
        .map(|(k, v)| format!("{k}:{}", go_sprint(v)))
        .collect();
    format!("map[{}]", parts.join(" "))
}

/// Go's `%s` of a decoded JSON value (non-strings print as `%!s(int64=1)`).
fn go_sprint_s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "%!s(<nil>)".into(),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(go_sprint_s).collect();
            format!("[{}]", parts.join(" "))
        }
        Value::Object(m) => {
            let mut entries: Vec<(&String, &Value)> = m.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let parts: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| format!("{k}:{}", go_sprint_s(v)))
                .collect();
            format!("map[{}]", parts.join(" "))
        }
        other => format!("%!s({}={})", GoType::of(other).name(), go_sprint(other)),
    }
}

/// Go's `%v` of an `int64` or `float64` (`strconv.FormatFloat(f, 'g', -1, 64)` for floats).
fn go_number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    let f = n.as_f64().unwrap_or(f64::NAN);
    let exp = if f == 0.0 {
        0
    } else {
        f.abs().log10().floor() as i32
    };
    if f != 0.0 && !(-4..21).contains(&exp) {
        let s = format!("{f:e}");
        let (mantissa, e) = s.split_once('e').unwrap_or((&s, "0"));
        let e: i32 = e.parse().unwrap_or(0);
        let sign = if e < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", e.abs())
    } else {
        format!("{f}")
    }
}

/// Go's `sort.SliceStable` (insertion sort of blocks of 20, then `symMerge`), reproduced step for
/// step: upstream's comparison is not a strict weak order when items are missing from the order
/// list, so the result depends on the algorithm.
mod go_sort {
    pub fn slice_stable<T>(data: &mut [T], less: impl Fn(&T, &T) -> bool) {
        let n = data.len();
        let less = |d: &[T], i: usize, j: usize| less(&d[i], &d[j]);
        let mut block = 20;
        let (mut a, mut b) = (0, block);
        while b <= n {
            insertion_sort(data, a, b, &less);
            a = b;
            b += block;
        }
        insertion_sort(data, a, n, &less);
        while block < n {
            a = 0;
            b = 2 * block;
            while b <= n {
                sym_merge(data, a, a + block, b, &less);
                a = b;
                b += 2 * block;
            }
            let m = a + block;
            if m < n {
                sym_merge(data, a, m, n, &less);
            }
            block *= 2;
        }
    }

    fn insertion_sort<T>(
        data: &mut [T],
        a: usize,
        b: usize,
        less: &impl Fn(&[T], usize, usize) -> bool,
    ) {
        for i in a + 1..b {
            let mut j = i;
            while j > a && less(data, j, j - 1) {
                data.swap(j, j - 1);
                j -= 1;
            }
        }
    }

    fn sym_merge<T>(
        data: &mut [T],
        a: usize,
        m: usize,
        b: usize,
        less: &impl Fn(&[T], usize, usize) -> bool,
    ) {
        if m - a == 1 {
            let (mut i, mut j) = (m, b);
            while i < j {
                let h = (i + j) / 2;
                if less(data, h, a) {
                    i = h + 1;
                } else {
                    j = h;
                }
            }
            let mut k = a;
            while k + 1 < i {
                data.swap(k, k + 1);
                k += 1;
            }
            return;
        }
        if b - m == 1 {
            let (mut i, mut j) = (a, m);
            while i < j {
                let h = (i + j) / 2;
                if !less(data, m, h) {
                    i = h + 1;
                } else {
                    j = h;
                }
            }
            let mut k = m;
            while k > i {
                data.swap(k, k - 1);
                k -= 1;
            }
            return;
        }
        let mid = (a + b) / 2;
        let n = mid + m;
        let (mut start, mut r) = if m > mid { (n - b, mid) } else { (a, m) };
        let p = n - 1;
        while start < r {
            let c = (start + r) / 2;
            if !less(data, p - c, c) {
                start = c + 1;
            } else {
                r = c;
            }
        }
        let end = n - start;
        if start < m && m < end {
            rotate(data, start, m, end);
        }
        if a < start && start < mid {
            sym_merge(data, a, start, mid, less);
        }
        if mid < end && end < b {
            sym_merge(data, mid, end, b, less);
        }
    }

    fn rotate<T>(data: &mut [T], a: usize, m: usize, b: usize) {
        let mut i = m - a;
        let mut j = b - m;
        while i != j {
            if i > j {
                swap_range(data, m - i, m, j);
                i -= j;
            } else {
                swap_range(data, m - i, m + j - i, i);
                j -= i;
            }
        }
        swap_range(data, m - i, m, i);
    }

    fn swap_range<T>(data: &mut [T], a: usize, b: usize, n: usize) {
        for i in 0..n {
            data.swap(a + i, b + i);
        }
    }
}

#[cfg(test)]
mod tests {
    //! Cases ported from upstream's `k8s.io/apimachinery/pkg/util/strategicpatch/patch_test.go`
    //! (cited by test case description) run against `mergeItem`, a hand-written OpenAPI
    //! definition with the patch tags of upstream's `MergeItem` test struct; the rest run against
    //! the real built-in definitions.
    use super::*;
    use serde_json::json;

    fn merge_item_defs() -> Map<String, Value> {
        let item = "#/definitions/mergeItem";
        let defs = json!({
            "mergeItem": {"type": "object", "properties": {
                "name": {"type": "string"},
                "value": {"type": "string"},
                "other": {"type": "string"},
                "mergingList": {"type": "array", "items": {"$ref": item},
                    "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "name"},
                "nonMergingList": {"type": "array", "items": {"$ref": item}},
                "mergingIntList": {"type": "array", "items": {"type": "integer"},
                    "x-kubernetes-patch-strategy": "merge"},
                "nonMergingIntList": {"type": "array", "items": {"type": "integer"}},
                "mergeItemPtr": {"$ref": item, "x-kubernetes-patch-strategy": "merge",
                    "x-kubernetes-patch-merge-key": "name"},
                "simpleMap": {"type": "object", "additionalProperties": {"type": "string"}},
                "replacingItem": {"type": "object", "x-kubernetes-patch-strategy": "replace"},
                "retainKeysMap": {"$ref": "#/definitions/retainKeysMergeItem",
                    "x-kubernetes-patch-strategy": "retainKeys"},
                "retainKeysMergingList": {"type": "array", "items": {"$ref": item},
                    "x-kubernetes-patch-strategy": "merge,retainKeys",
                    "x-kubernetes-patch-merge-key": "name"},
            }},
            "retainKeysMergeItem": {"type": "object", "properties": {
                "name": {"type": "string"},
                "value": {"type": "string"},
                "other": {"type": "string"},
                "simpleMap": {"type": "object", "additionalProperties": {"type": "string"}},
                "mergingIntList": {"type": "array", "items": {"type": "integer"},
                    "x-kubernetes-patch-strategy": "merge"},
                "mergingList": {"type": "array", "items": {"$ref": item},
                    "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "name"},
                "nonMergingList": {"type": "array", "items": {"$ref": item}},
            }},
        });
        match defs {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    fn apply_item(original: Value, patch: Value) -> Result<Value, SmpError> {
        let defs = merge_item_defs();
        let schema = Schema::definition(&defs, "mergeItem");
        strategic_merge_patch(&original, &patch, schema)
    }

    #[track_caller]
    fn check(original: Value, patch: Value, expected: Value) {
        assert_eq!(apply_item(original, patch).unwrap(), expected);
    }

    // customStrategicMergePatchTestCaseData: "unique scalars when merging lists"
    #[test]
    fn merging_scalar_lists_are_unioned() {
        check(
            json!({"mergingIntList": [1, 2]}),
            json!({"mergingIntList": [2, 3]}),
            json!({"mergingIntList": [1, 2, 3]}),
        );
    }

    // customStrategicMergePatchTestCaseData: "preserve the order from the patch in a merging
    // int list" (both cases)
    #[test]
    fn merging_scalar_lists_follow_the_patch_order() {
        check(
            json!({"mergingIntList": [1, 2, 3]}),
            json!({"mergingIntList": [3, 1, 2]}),
            json!({"mergingIntList": [3, 1, 2]}),
        );
        check(
            json!({"mergingIntList": [1, 2, 3]}),
            json!({"mergingIntList": [3, 1]}),
            json!({"mergingIntList": [2, 3, 1]}),
        );
    }

    // customStrategicMergePatchTestCaseData: "preserve the order from the patch in a merging
    // list" and "... in a merging list 2"
    #[test]
    fn merging_lists_merge_by_key_in_the_patch_order() {
        check(
            json!({"mergingList": [{"name": 1}, {"name": 2, "value": "b"}, {"name": 3}]}),
            json!({"mergingList": [{"name": 3, "value": "c"}, {"name": 1, "value": "a"}, {"name": 2, "other": "x"}]}),
            json!({"mergingList": [{"name": 3, "value": "c"}, {"name": 1, "value": "a"}, {"name": 2, "value": "b", "other": "x"}]}),
        );
        check(
            json!({"mergingList": [{"name": 1}, {"name": 2, "value": "b"}, {"name": 3}]}),
            json!({"mergingList": [{"name": 3, "value": "c"}, {"name": 1, "value": "a"}]}),
            json!({"mergingList": [{"name": 2, "value": "b"}, {"name": 3, "value": "c"}, {"name": 1, "value": "a"}]}),
        );
    }

    // customStrategicMergePatchTestCaseData: "delete map from nested map", "delete all keys
    // from map", "add key and delete all keys from map"
    #[test]
    fn patch_directives_in_maps() {
        check(
            json!({"simpleMap": {"key1": "1", "key2": "1"}}),
            json!({"simpleMap": {"$patch": "delete"}}),
            json!({"simpleMap": {}}),
        );
        check(
            json!({"name": "1", "value": "1"}),
            json!({"$patch": "replace"}),
            json!({}),
        );
        check(
            json!({"name": "1", "value": "1"}),
            json!({"other": "a", "$patch": "replace"}),
            json!({"other": "a"}),
        );
        // A map-valued field that is absent from the original takes nothing from a `$patch`
        // object (upstream's removeDirectives).
        check(
            json!({"name": "1"}),
            json!({"mergeItemPtr": {"$patch": "delete"}}),
            json!({"name": "1"}),
        );
    }

    // customStrategicMergePatchTestCaseData: "delete all items from merging list", "delete all
    // duplicate entries in a merging list"; createStrategicMergePatchTestCaseData: "delete all
    // maps from merging list"
    #[test]
    fn patch_directives_in_lists() {
        check(
            json!({"mergingList": [{"name": 1}, {"name": 2}]}),
            json!({"mergingList": [{"$patch": "replace"}]}),
            json!({"mergingList": []}),
        );
        check(
            json!({"mergingList": [{"name": 1}, {"name": 1}, {"name": 2, "value": "a"}, {"name": 3}, {"name": 3}]}),
            json!({"mergingList": [{"name": 1, "$patch": "delete"}, {"name": 3, "$patch": "delete"}]}),
            json!({"mergingList": [{"name": 2, "value": "a"}]}),
        );
        check(
            json!({"mergingList": [{"name": 1, "other": "a"}, {"name": 2, "other": "b"}]}),
            json!({"mergingList": [{"name": 1, "$patch": "delete"}, {"name": 2, "$patch": "delete"}]}),
            json!({"mergingList": []}),
        );
        // `$patch: replace` in a list item: the patch's other items become the list.
        check(
            json!({"mergingList": [{"name": 1, "value": "a"}, {"name": 2}]}),
            json!({"mergingList": [{"name": 3, "value": "c"}, {"$patch": "replace"}]}),
            json!({"mergingList": [{"name": 3, "value": "c"}]}),
        );
    }

    // strategicMergePatchRawTestCases: "nested patch merge with empty list" (two-way patch on
    // the original, three-way patch on the current object)
    #[test]
    fn delete_items_of_a_new_or_merged_list() {
        check(
            json!({"name": "hi"}),
            json!({"mergingList": [{"name": "hello"}, {"$patch": "delete", "name": "doesntexist"}]}),
            json!({"name": "hi", "mergingList": [{"name": "hello"}]}),
        );
        check(
            json!({"name": "hi", "mergingList": [{"name": "hello2"}]}),
            json!({
                "$setElementOrder/mergingList": [{"name": "hello"}, {"name": "doesntexist"}],
                "mergingList": [{"name": "hello"}, {"$patch": "delete", "name": "doesntexist"}],
            }),
            json!({"name": "hi", "mergingList": [{"name": "hello"}, {"name": "hello2"}]}),
        );
    }

    // createStrategicMergePatchTestCaseData: "add field and delete field from map", "delete
    // field from nested map", "defined null values should propagate overwrite current fields
    // (with conflict)", "replace list of scalars"
    #[test]
    fn nulls_delete_and_plain_lists_replace() {
        check(
            json!({"name": "1", "other": "a"}),
            json!({"name": null, "value": "1"}),
            json!({"other": "a", "value": "1"}),
        );
        check(
            json!({"simpleMap": {"key1": "1", "key2": "1", "other": "a"}}),
            json!({"simpleMap": {"key2": null}}),
            json!({"simpleMap": {"key1": "1", "other": "a"}}),
        );
        check(
            json!({"name": "a", "other": "a"}),
            json!({"name": "1", "value": "1", "other": null}),
            json!({"name": "1", "value": "1"}),
        );
        check(
            json!({"nonMergingIntList": [1, 2]}),
            json!({"nonMergingIntList": [2, 3]}),
            json!({"nonMergingIntList": [2, 3]}),
        );
        // An unmatched null is dropped rather than stored, at any depth of a new value.
        check(
            json!({}),
            json!({"value": null, "mergeItemPtr": {"name": "x", "value": null}}),
            json!({"mergeItemPtr": {"name": "x"}}),
        );
        // A list without a merge strategy is replaced, even if its items have names.
        check(
            json!({"nonMergingList": [{"name": 1}, {"name": 2}]}),
            json!({"nonMergingList": [{"name": 2, "value": "b"}]}),
            json!({"nonMergingList": [{"name": 2, "value": "b"}]}),
        );
    }

    // replaceRawExtensionPatchTestCases: "replace RawExtension field, rest unchanched"
    #[test]
    fn replace_strategy_replaces_maps() {
        check(
            json!({"name": "my-object", "replacingItem": {"Some": "Generic", "Yaml": "Inside", "Field": "Period"}}),
            json!({"replacingItem": {"Newly": "Modified", "Yaml": "Inside"}}),
            json!({"name": "my-object", "replacingItem": {"Newly": "Modified", "Yaml": "Inside"}}),
        );
    }

    // customStrategicMergePatchRawTestCases: "$setElementOrder contains item that is not
    // present in the list to be merged" (lists of maps and of ints)
    #[test]
    fn set_element_order_orders_the_result() {
        check(
            json!({"mergingList": [{"name": 1}, {"name": 3}]}),
            json!({
                "$setElementOrder/mergingList": [{"name": 3}, {"name": 2}, {"name": 1}],
                "mergingList": [{"name": 3, "value": 3}, {"name": 1, "value": 1}],
            }),
            json!({"mergingList": [{"name": 3, "value": 3}, {"name": 1, "value": 1}]}),
        );
        check(
            json!({"mergingIntList": [1, 3]}),
            json!({"$setElementOrder/mergingIntList": [3, 2, 1]}),
            json!({"mergingIntList": [3, 1]}),
        );
    }

    // strategicMergePatchRawTestCases: "merge lists of maps" (three-way patch on the current
    // object)
    #[test]
    fn set_element_order_places_new_items() {
        check(
            json!({"mergingList": [{"name": 1, "other": "a"}, {"name": 2, "value": 2, "other": "b"}]}),
            json!({
                "$setElementOrder/mergingList": [{"name": 4}, {"name": 1}, {"name": 2}, {"name": 3}],
                "mergingList": [{"name": 4, "value": 4}, {"name": 3, "value": 3}],
            }),
            json!({"mergingList": [
                {"name": 4, "value": 4},
                {"name": 1, "other": "a"},
                {"name": 2, "value": 2, "other": "b"},
                {"name": 3, "value": 3},
            ]}),
        );
    }

    // strategicMergePatchRawTestCases: "delete items in lists of scalars", "add and delete
    // items in lists of scalars" (three-way patches on the current object)
    #[test]
    fn delete_from_primitive_list_with_set_element_order() {
        check(
            json!({"mergingIntList": [1, 2, 3, 4]}),
            json!({"$setElementOrder/mergingIntList": [1, 2], "$deleteFromPrimitiveList/mergingIntList": [3]}),
            json!({"mergingIntList": [1, 2, 4]}),
        );
        check(
            json!({"mergingIntList": [1, 2, 3]}),
            json!({
                "$setElementOrder/mergingIntList": [1, 2, 4],
                "$deleteFromPrimitiveList/mergingIntList": [3],
                "mergingIntList": [4],
            }),
            json!({"mergingIntList": [1, 2, 4]}),
        );
    }

    // customStrategicMergePatchRawTestCases: "$deleteFromPrimitiveList of nonexistent item ...",
    // "... on empty primitive list ...", "... on nonexistent primitive list ...", "... should
    // delete item from a list with merge patch strategy", "... without merge patch strategy"
    #[test]
    fn delete_from_primitive_list() {
        let patch = json!({"$deleteFromPrimitiveList/mergingIntList": [3]});
        check(
            json!({"mergingIntList": [1, 2]}),
            patch.clone(),
            json!({"mergingIntList": [1, 2]}),
        );
        check(
            json!({"mergingIntList": null}),
            patch.clone(),
            json!({"mergingIntList": null}),
        );
        check(json!({"foo": ["bar"]}), patch, json!({"foo": ["bar"]}));
        check(
            json!({"mergingIntList": [1, 2, 3]}),
            json!({"$deleteFromPrimitiveList/mergingIntList": [2]}),
            json!({"mergingIntList": [1, 3]}),
        );
        check(
            json!({"nonMergingIntList": [1, 2, 3]}),
            json!({"$deleteFromPrimitiveList/nonMergingIntList": [2]}),
            json!({"nonMergingIntList": [1, 3]}),
        );
    }

    // customStrategicMergePatchTestCaseData: "retainKeys map can add a field when no
    // retainKeys directive present", "... can delete a field ...", "retainKeys list can change
    // a field when no retainKeys directive present"
    #[test]
    fn retain_keys_fields_merge_without_the_directive() {
        check(
            json!({"retainKeysMap": {"name": "foo"}}),
            json!({"retainKeysMap": {"value": "bar"}}),
            json!({"retainKeysMap": {"name": "foo", "value": "bar"}}),
        );
        check(
            json!({"retainKeysMap": {"name": "foo", "value": "a"}}),
            json!({"retainKeysMap": {"value": null}}),
            json!({"retainKeysMap": {"name": "foo"}}),
        );
        check(
            json!({"retainKeysMergingList": [{"name": "bar"}, {"name": "foo", "value": "a"}]}),
            json!({"retainKeysMergingList": [{"name": "foo", "value": "b"}]}),
            json!({"retainKeysMergingList": [{"name": "bar"}, {"name": "foo", "value": "b"}]}),
        );
    }

    // The `$retainKeys` directive clears the keys it does not list (strategicpatch
    // applyRetainKeysDirective), and rejects a patch setting an unlisted key.
    #[test]
    fn retain_keys_directive() {
        check(
            json!({"retainKeysMap": {"name": "foo", "value": "a", "other": "b"}}),
            json!({"retainKeysMap": {"$retainKeys": ["name", "value"], "value": "c"}}),
            json!({"retainKeysMap": {"name": "foo", "value": "c"}}),
        );
        assert_eq!(
            apply_item(
                json!({"retainKeysMap": {"name": "foo"}}),
                json!({"retainKeysMap": {"$retainKeys": ["name"], "value": "c"}}),
            ),
            Err(SmpError::BadRequest("invalid patch format of retainKeys"))
        );
        assert_eq!(
            apply_item(
                json!({"retainKeysMap": {"name": "foo"}}),
                json!({"retainKeysMap": {"$retainKeys": "name"}}),
            ),
            Err(SmpError::BadRequest("invalid patch format of retainKeys"))
        );
    }

    // customStrategicMergePatchRawTestCases: "should check if order in $setElementOrder and
    // patch list match", "missing merge key should error out"; the other messages are
    // mergepatch's errors.go and patch.go's.
    #[test]
    fn errors_carry_upstream_messages() {
        let err = apply_item(
            json!({"mergingList": [{"name": 1}, {"name": 3}, {"name": 2}]}),
            json!({
                "$setElementOrder/mergingList": [{"name": 1}, {"name": 2}, {"name": 3}],
                "mergingList": [{"name": 3, "value": 3}, {"name": 1, "value": 1}],
            }),
        )
        .unwrap_err();
        assert!(err.to_string().contains("doesn't match"), "{err}");
        assert_eq!(
            apply_item(
                json!({"mergingList": [{"name": 1, "value": "a"}]}),
                json!({"mergingList": [{"value": "b"}]}),
            ),
            Err(SmpError::Other(
                "map: map[value:b] does not contain declared merge key: name".into()
            ))
        );
        assert_eq!(
            apply_item(
                json!({"mergeItemPtr": {"name": "a"}}),
                json!({"mergeItemPtr": {"$patch": "foo", "name": "b", "mergingIntList": [1, 2]}}),
            ),
            Err(SmpError::Other(
                "unknown patch type: foo in map: map[$patch:foo mergingIntList:[1 2] name:b]"
                    .into()
            ))
        );
        assert_eq!(
            apply_item(
                json!({"mergingList": [{"name": 1}]}),
                json!({"mergingList": [{"name": 1, "$patch": true}]}),
            ),
            Err(SmpError::Other(
                "unknown patch type: %!s(bool=true) in map: map[$patch:true name:1]".into()
            ))
        );
        assert_eq!(
            apply_item(
                json!({"mergingList": [{"name": 1}]}),
                json!({"mergingList": [{"$patch": "merge"}]}),
            ),
            Err(SmpError::Other(
                "merging lists cannot yet be specified in the patch".into()
            ))
        );
        assert_eq!(
            apply_item(
                json!({"mergingIntList": [[1]]}),
                json!({"mergingIntList": [[2]]}),
            ),
            Err(SmpError::Unprocessable("lists of lists are not supported"))
        );
        assert_eq!(
            apply_item(
                json!({"mergingIntList": [1]}),
                json!({"mergingIntList": ["a"]}),
            ),
            Err(SmpError::Other(
                "list element types are not identical: [[1] [a]]".into()
            ))
        );
        assert_eq!(
            apply_item(json!({}), json!({"$setElementOrder": [1]})),
            Err(SmpError::BadRequest(
                "invalid patch format of setElementOrder list"
            ))
        );
        assert_eq!(
            apply_item(
                json!({"mergingIntList": [1]}),
                json!({"$deleteFromPrimitiveList": [1]})
            ),
            Err(SmpError::BadRequest(
                "invalid patch format of primitive list"
            ))
        );
        assert_eq!(
            apply_item(json!({}), json!([])),
            Err(SmpError::BadRequest("invalid JSON document"))
        );
    }

    #[test]
    fn errors_become_the_status_kube_apiserver_sends() {
        let status = ApiError::from(SmpError::Other("map: map[] does not contain".into()));
        assert_eq!((status.code, status.reason), (500, ""));
        let status = ApiError::from(SmpError::BadRequest(ERR_BAD_RETAIN_KEYS));
        assert_eq!((status.code, status.reason), (400, "BadRequest"));
        let status = ApiError::from(SmpError::Unprocessable(ERR_NO_LIST_OF_LISTS)).to_status();
        assert_eq!(status["code"], 422);
        assert_eq!(status["reason"], "Invalid");
        assert_eq!(
            status["message"],
            "the server rejected our request due to an error in our request"
        );
    }

    #[test]
    fn without_a_schema_maps_merge_and_lists_replace() {
        let original = json!({"a": {"b": 1, "c": [1, 2]}, "l": [{"name": "x", "v": 1}]});
        let patch = json!({"a": {"d": 2, "c": [3]}, "l": [{"name": "y"}]});
        assert_eq!(
            strategic_merge_patch(&original, &patch, None).unwrap(),
            json!({"a": {"b": 1, "c": [3], "d": 2}, "l": [{"name": "y"}]})
        );
    }

    #[test]
    fn go_formatting_of_values() {
        assert_eq!(
            go_sprint(&json!({"b": [1, 2.5, true, null], "a": {"x": "y"}})),
            "map[a:map[x:y] b:[1 2.5 true <nil>]]"
        );
        assert_eq!(go_sprint(&json!(1e21)), "1e+21");
        assert_eq!(go_sprint(&json!(0.00001)), "1e-05");
    }

    /// Built-in kinds: the real definitions.
    fn pod_spec() -> Schema<'static> {
        Schema::definition(
            crate::openapi::builtin_definitions(),
            "io.k8s.api.core.v1.Pod",
        )
        .expect("Pod definition")
    }

    // Source: `kubectl patch pod --type strategic` against kube-apiserver and the patch
    // strategies of core/v1 types.go (containers by name, ports by containerPort, env by name).
    #[test]
    fn pod_containers_merge_by_name_and_nested_lists_by_their_keys() {
        let original = json!({"spec": {"containers": [
            {"name": "app", "image": "app:1",
             "ports": [{"containerPort": 80, "name": "http"}, {"containerPort": 443}],
             "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
             "args": ["--x", "--y"]},
            {"name": "sidecar", "image": "side:1"},
        ]}});
        let patch = json!({"spec": {"containers": [
            {"name": "app", "image": "app:2",
             "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 443, "$patch": "delete"}],
             "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}],
             "args": ["--z"]},
        ]}});
        let result = strategic_merge_patch(&original, &patch, Some(pod_spec())).unwrap();
        assert_eq!(
            result,
            json!({"spec": {"containers": [
                {"name": "app", "image": "app:2",
                 "ports": [{"containerPort": 80, "name": "http", "protocol": "TCP"}],
                 "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}, {"name": "C", "value": "4"}],
                 "args": ["--z"]},
                {"name": "sidecar", "image": "side:1"},
            ]}})
        );
    }

    // Source: core/v1 and meta/v1 types.go patch tags (finalizers merge as a set, volumes by
    // name) and kubernetes.io "Update API Objects in Place Using kubectl patch" (plain lists
    // are replaced).
    #[test]
    fn pod_finalizers_volumes_and_atomic_lists() {
        let original = json!({
            "metadata": {"finalizers": ["a", "b"], "labels": {"x": "1"}},
            "spec": {
                "volumes": [{"name": "data", "emptyDir": {}}, {"name": "cfg", "configMap": {"name": "c"}}],
                "tolerations": [{"key": "k1"}, {"key": "k2"}],
                "containers": [{"name": "app", "volumeMounts": [{"mountPath": "/a", "name": "data"}]}],
            },
        });
        let patch = json!({
            "metadata": {"finalizers": ["c", "a"], "$deleteFromPrimitiveList/finalizers": ["b"]},
            "spec": {
                "volumes": [{"name": "data", "$retainKeys": ["name", "hostPath"], "hostPath": {"path": "/d"}}],
                "tolerations": [{"key": "k3"}],
                "containers": [{"name": "app", "volumeMounts": [{"mountPath": "/b", "name": "cfg"}]}],
            },
        });
        let result = strategic_merge_patch(&original, &patch, Some(pod_spec())).unwrap();
        assert_eq!(result["metadata"]["finalizers"], json!(["c", "a"]));
        assert_eq!(result["metadata"]["labels"], json!({"x": "1"}));
        assert_eq!(
            result["spec"]["volumes"],
            json!([{"name": "data", "hostPath": {"path": "/d"}}, {"name": "cfg", "configMap": {"name": "c"}}])
        );
        assert_eq!(result["spec"]["tolerations"], json!([{"key": "k3"}]));
        assert_eq!(
            result["spec"]["containers"][0]["volumeMounts"],
            // Without `$setElementOrder`, items the live list does not know come first
            // (upstream's mergeSortedSlice).
            json!([{"mountPath": "/b", "name": "cfg"}, {"mountPath": "/a", "name": "data"}])
        );
    }

    #[test]
    fn go_stable_sort_matches_a_stable_sort_for_a_proper_order() {
        let mut v: Vec<u32> = (0..100).map(|i| (i * 37) % 23).collect();
        let mut expected = v.clone();
        expected.sort();
        go_sort::slice_stable(&mut v, |a, b| a < b);
        assert_eq!(v, expected);
    }
}
