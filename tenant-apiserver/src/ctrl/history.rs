//! ControllerRevisions, as kube-controller-manager's `pkg/controller/history` keeps them for
//! StatefulSets and DaemonSets: a revision stores the owner's pod template as a strategic-merge
//! patch (`{"spec":{"template":{..., "$patch":"replace"}}}`), is named `<owner>-<hash>`, carries
//! a revision number, and is owned (controller reference) by its StatefulSet or DaemonSet.
//!
//! The pure parts (canonical encoding, hashing, naming, ordering, equality) are here with the
//! few writes both controllers share: adopting/releasing revisions and creating one with the
//! collision-count probe loop of `history.CreateControllerRevision`.

use std::cmp::Ordering;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use warren_apimachinery::error::ApiError;
use warren_apimachinery::registry::ResourceInfo;
use warren_apimachinery::selectors::LabelSelector;

use super::{Client, Informer};
use crate::object;

/// The label a revision (and a DaemonSet's or StatefulSet's pods) carries with its hash
/// (`apps.ControllerRevisionHashLabelKey`).
pub const CONTROLLER_REVISION_HASH_LABEL: &str = "controller-revision-hash";

/// The longest owner-name prefix of a revision name (`history.ControllerRevisionName`), so that
/// `<prefix>-<hash>` stays a valid name.
const MAX_PREFIX_LEN: usize = 223;

/// Encodes `v` as Go's `json.Marshal` encodes a `map[string]interface{}`: object keys sorted,
/// no spaces, and `<`, `>`, `&`, U+2028 and U+2029 escaped. This is the byte form upstream
/// hashes and compares (`ControllerRevision.Data.Raw`).
pub fn canonical_json(v: &Value) -> Vec<u8> {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                let mut out = Map::new();
                for k in keys {
                    out.insert(k.clone(), sorted(&m[k]));
                }
                Value::Object(out)
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    let text = serde_json::to_string(&sorted(v)).expect("JSON values always serialize");
    // These characters only occur inside strings, where the escape means the same.
    text.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
        .into_bytes()
}

/// FNV-1 32-bit (Go's `hash/fnv.New32`).
fn fnv1_32(parts: &[&[u8]]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for part in parts {
        for b in *part {
            h = h.wrapping_mul(0x0100_0193);
            h ^= u32::from(*b);
        }
    }
    h
}

/// FNV-1a 32-bit (Go's `hash/fnv.New32a`).
fn fnv1a_32(parts: &[&[u8]]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for part in parts {
        for b in *part {
            h ^= u32::from(*b);
            h = h.wrapping_mul(0x0100_0193);
        }
    }
    h
}

/// `rand.SafeEncodeString`: maps each byte onto an alphabet without vowels (and without the
/// look-alikes 0, 1, 3), so hashes never spell words.
pub fn safe_encode_string(s: &str) -> String {
    const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    s.bytes()
        .map(|b| ALPHANUMS[usize::from(b) % ALPHANUMS.len()] as char)
        .collect()
}

/// `history.HashControllerRevision`: FNV-1 over the revision's data (canonical JSON) and, when
/// there were name collisions, the decimal collision count; safe-encoded.
pub fn hash_controller_revision(data: &Value, probe: Option<i32>) -> String {
    let raw = canonical_json(data);
    let probe_text = probe.map(|p| p.to_string()).unwrap_or_default();
    let sum = fnv1_32(&[&raw, probe_text.as_bytes()]);
    safe_encode_string(&sum.to_string())
}

/// `controller.ComputeHash` of a pod template with the collision count (FNV-1a; upstream
/// hashes Go's printed form of the typed template, here its canonical JSON), safe-encoded.
pub fn compute_template_hash(template: &Value, collision_count: Option<i32>) -> String {
    let raw = canonical_json(template);
    let probe = collision_count.map(|c| (c as u32).to_le_bytes());
    let sum = match &probe {
        Some(p) => fnv1a_32(&[&raw, p]),
        None => fnv1a_32(&[&raw]),
    };
    safe_encode_string(&sum.to_string())
}

/// `history.ControllerRevisionName`: `<prefix>-<hash>`, the prefix cut to 223 characters.
pub fn controller_revision_name(prefix: &str, hash: &str) -> String {
    let prefix = if prefix.len() > MAX_PREFIX_LEN {
        let mut end = MAX_PREFIX_LEN;
        while !prefix.is_char_boundary(end) {
            end -= 1;
        }
        &prefix[..end]
    } else {
        prefix
    };
    format!("{prefix}-{hash}")
}

/// The revision data of an owner (`getPatch` of the StatefulSet and DaemonSet controllers):
/// its pod template, marked to replace the whole template when applied.
pub fn template_patch(owner: &Value) -> Value {
    let mut template = owner
        .pointer("/spec/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    if let Some(t) = template.as_object_mut() {
        t.insert("$patch".into(), json!("replace"));
    }
    json!({"spec": {"template": template}})
}

/// The pod template a revision restores (`ApplyRevision` of a template-only patch).
pub fn template_from_revision(revision: &Value) -> Value {
    let mut template = revision
        .pointer("/data/spec/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    if let Some(t) = template.as_object_mut() {
        t.remove("$patch");
    }
    template
}

/// A revision's `revision` number (0 if missing).
pub fn revision_number(revision: &Value) -> i64 {
    revision
        .get("revision")
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

/// `history.SortControllerRevisions`: by revision number, then creation time, then name.
pub fn sort_revisions(revisions: &mut [Arc<Value>]) {
    revisions.sort_by(|a, b| compare_revisions(a, b));
}

fn compare_revisions(a: &Value, b: &Value) -> Ordering {
    revision_number(a)
        .cmp(&revision_number(b))
        .then_with(|| {
            object::meta_str(a, "creationTimestamp")
                .unwrap_or("")
                .cmp(object::meta_str(b, "creationTimestamp").unwrap_or(""))
        })
        .then_with(|| object::name(a).cmp(object::name(b)))
}

/// `history.EqualRevision`: the same data (compared in canonical form).
pub fn equal_revision(a: &Value, b: &Value) -> bool {
    canonical_json(a.get("data").unwrap_or(&Value::Null))
        == canonical_json(b.get("data").unwrap_or(&Value::Null))
}

/// A controller owner reference to `owner` (`metav1.NewControllerRef`).
pub fn controller_ref(owner: &Value, api_version: &str, kind: &str) -> Value {
    json!({
        "apiVersion": api_version,
        "kind": kind,
        "name": object::name(owner),
        "uid": object::meta_str(owner, "uid").unwrap_or(""),
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

/// The owner reference marked `controller: true` (`metav1.GetControllerOf`).
pub fn controller_of(obj: &Value) -> Option<&Value> {
    obj.pointer("/metadata/ownerReferences")?
        .as_array()?
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
}

/// Whether `obj`'s controller is the object with `uid`.
pub fn is_controlled_by(obj: &Value, uid: &str) -> bool {
    controller_of(obj).and_then(|r| r.get("uid")?.as_str()) == Some(uid)
}

/// `history.NewControllerRevision`: a revision of `parent` holding `data`, labelled with the
/// template's labels and its hash, named `<parent>-<hash>`.
pub fn new_controller_revision(
    parent: &Value,
    api_version: &str,
    kind: &str,
    template_labels: &Map<String, Value>,
    data: Value,
    revision: i64,
    collision_count: Option<i32>,
) -> Value {
    let hash = hash_controller_revision(&data, collision_count);
    let mut labels = template_labels.clone();
    labels.insert(CONTROLLER_REVISION_HASH_LABEL.into(), json!(hash));
    let mut meta = json!({
        "name": controller_revision_name(object::name(parent), &hash),
        "labels": labels,
        "ownerReferences": [controller_ref(parent, api_version, kind)],
    });
    if let Some(ns) = object::meta_str(parent, "namespace") {
        meta["namespace"] = json!(ns);
    }
    json!({
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": meta,
        "data": data,
        "revision": revision,
    })
}

/// The revisions of `parent`: those it controls that still match `selector`, after adopting
/// orphans that match (unless `parent` is being deleted) and releasing controlled ones that no
/// longer match (`ClaimControllerRevisions`). Sorted as [`sort_revisions`].
pub async fn claim_revisions(
    client: &Client,
    info: &ResourceInfo,
    revisions: &Informer,
    parent: &Value,
    selector: &LabelSelector,
    api_version: &str,
    kind: &str,
) -> Result<Vec<Arc<Value>>, ApiError> {
    let ns = object::meta_str(parent, "namespace").unwrap_or("");
    let uid = object::meta_str(parent, "uid").unwrap_or("").to_string();
    let mut owned = Vec::new();
    for rev in revisions.list_namespace(ns) {
        let matches = selector.matches_object(&rev);
        match controller_of(&rev) {
            Some(r) if r.get("uid").and_then(Value::as_str) == Some(uid.as_str()) => {
                if matches {
                    owned.push(rev);
                } else {
                    release(client, info, Some(ns), object::name(&rev), &uid).await?;
                }
            }
            Some(_) => {}
            None if matches && !object::is_deleting(parent) && !object::is_deleting(&rev) => {
                let reference = controller_ref(parent, api_version, kind);
                let adopted = client
                    .modify(info, Some(ns), object::name(&rev), false, |obj| {
                        if controller_of(obj).is_some() {
                            return false;
                        }
                        push_owner_ref(obj, reference.clone());
                        true
                    })
                    .await;
                match adopted {
                    Ok(obj) if is_controlled_by(&obj, &uid) => owned.push(Arc::new(obj)),
                    Ok(_) => {}
                    Err(e) if e.code == 404 => {}
                    Err(e) => return Err(e),
                }
            }
            None => {}
        }
    }
    sort_revisions(&mut owned);
    Ok(owned)
}

/// Appends an owner reference to `obj`.
pub fn push_owner_ref(obj: &mut Value, reference: Value) {
    if let Some(meta) = object::metadata_mut(obj) {
        let refs = meta.entry("ownerReferences").or_insert_with(|| json!([]));
        if !refs.is_array() {
            *refs = json!([]);
        }
        refs.as_array_mut().expect("array").push(reference);
    }
}

/// Removes the controller reference with `uid` from object `name` (releasing it); a missing
/// object is already released.
pub async fn release(
    client: &Client,
    info: &ResourceInfo,
    ns: Option<&str>,
    name: &str,
    uid: &str,
) -> Result<(), ApiError> {
    let res = client
        .modify(info, ns, name, false, |obj| {
            let Some(refs) = obj
                .pointer_mut("/metadata/ownerReferences")
                .and_then(Value::as_array_mut)
            else {
                return false;
            };
            let before = refs.len();
            refs.retain(|r| r.get("uid").and_then(Value::as_str) != Some(uid));
            let changed = refs.len() != before;
            if changed {
                object::drop_empty_metadata(obj);
            }
            changed
        })
        .await;
    match res {
        Ok(_) => Ok(()),
        Err(e) if e.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}

/// `history.CreateControllerRevision`: creates `revision` for `parent`, named from its hash
/// with `collision_count` as probe; a name taken by equal data returns that revision, taken by
/// other data bumps `collision_count` and tries again.
pub async fn create_controller_revision(
    client: &Client,
    info: &ResourceInfo,
    parent: &Value,
    revision: &Value,
    collision_count: &mut i32,
) -> Result<Value, ApiError> {
    let ns = object::meta_str(parent, "namespace");
    let data = revision.get("data").cloned().unwrap_or(Value::Null);
    loop {
        let hash = hash_controller_revision(&data, Some(*collision_count));
        let mut clone = revision.clone();
        clone["metadata"]["name"] = json!(controller_revision_name(object::name(parent), &hash));
        let name = object::name(&clone).to_string();
        match client.create(info, ns, clone).await {
            Err(e) if e.reason == "AlreadyExists" => {
                let kv = client
                    .api()
                    .store
                    .get(&info.key(ns, &name))
                    .await
                    .map_err(crate::handlers::plain_store_error)?;
                let Some(kv) = kv else {
                    // Deleted meanwhile: try the same name again.
                    continue;
                };
                let exists = object::decode_stored(&kv.value, kv.mod_revision);
                if equal_revision(&exists, revision) {
                    return Ok(exists);
                }
                *collision_count += 1;
            }
            other => return other,
        }
    }
}

/// The store revision of a written object (its resourceVersion), for waiting until the
/// informers have seen the write.
pub fn written_revision(obj: &Value) -> i64 {
    object::resource_version(obj)
        .and_then(|rv| rv.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_and_escapes_like_go() {
        let v = json!({"b": 1, "a": {"d": "<&>", "c": [true, null]}});
        assert_eq!(
            String::from_utf8(canonical_json(&v)).unwrap(),
            r#"{"a":{"c":[true,null],"d":"\u003c\u0026\u003e"},"b":1}"#
        );
    }

    #[test]
    fn fnv_matches_go_reference_values() {
        // Go: fnv.New32().Write([]byte("a")).Sum32() == 0x050c5d7e, New32a: 0xe40c292c.
        assert_eq!(fnv1_32(&[b"a"]), 0x050c_5d7e);
        assert_eq!(fnv1a_32(&[b"a"]), 0xe40c_292c);
        assert_eq!(fnv1_32(&[b"a", b"b"]), fnv1_32(&[b"ab"]));
    }

    #[test]
    fn safe_encoding_maps_digits_onto_the_consonant_alphabet() {
        // '0' is byte 48: 48 % 27 = 21 -> '4'; '9' is 57 % 27 = 3 -> 'f'.
        assert_eq!(safe_encode_string("09"), "4f");
        assert!(
            safe_encode_string("1234567890")
                .chars()
                .all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c))
        );
    }

    #[test]
    fn revision_hash_depends_on_data_and_probe_only() {
        let a = template_patch(
            &json!({"spec": {"template": {"spec": {"containers": [{"name": "n", "image": "nginx:1"}]}}}}),
        );
        let same_reordered: Value = serde_json::from_str(
            r#"{"spec":{"template":{"$patch":"replace","spec":{"containers":[{"image":"nginx:1","name":"n"}]}}}}"#,
        )
        .unwrap();
        let b = template_patch(
            &json!({"spec": {"template": {"spec": {"containers": [{"name": "n", "image": "nginx:2"}]}}}}),
        );
        assert_eq!(
            hash_controller_revision(&a, Some(0)),
            hash_controller_revision(&same_reordered, Some(0))
        );
        assert_ne!(
            hash_controller_revision(&a, Some(0)),
            hash_controller_revision(&b, Some(0))
        );
        assert_ne!(
            hash_controller_revision(&a, Some(0)),
            hash_controller_revision(&a, Some(1))
        );
        assert_ne!(
            compute_template_hash(&a, None),
            compute_template_hash(&a, Some(1))
        );
    }

    #[test]
    fn names_cut_long_prefixes() {
        assert_eq!(controller_revision_name("web", "abc"), "web-abc");
        let long = "x".repeat(300);
        assert_eq!(controller_revision_name(&long, "h").len(), 225);
    }

    #[test]
    fn revisions_sort_by_number_then_time_then_name() {
        let rev = |name: &str, n: i64, t: &str| {
            Arc::new(json!({"metadata": {"name": name, "creationTimestamp": t}, "revision": n}))
        };
        let mut revs = vec![
            rev("c", 2, "2024-01-01T00:00:00Z"),
            rev("b", 1, "2024-01-02T00:00:00Z"),
            rev("a", 1, "2024-01-02T00:00:00Z"),
            rev("d", 1, "2024-01-01T00:00:00Z"),
        ];
        sort_revisions(&mut revs);
        let names: Vec<&str> = revs.iter().map(|r| object::name(r)).collect();
        assert_eq!(names, ["d", "a", "b", "c"]);
    }

    #[test]
    fn a_new_revision_is_named_labelled_and_owned() {
        let parent = json!({"metadata": {"name": "web", "namespace": "ns", "uid": "u1"},
            "spec": {"template": {"metadata": {"labels": {"app": "web"}}, "spec": {}}}});
        let data = template_patch(&parent);
        let labels = parent
            .pointer("/spec/template/metadata/labels")
            .and_then(Value::as_object)
            .cloned()
            .unwrap();
        let rev = new_controller_revision(
            &parent,
            "apps/v1",
            "StatefulSet",
            &labels,
            data.clone(),
            3,
            Some(0),
        );
        let hash = hash_controller_revision(&data, Some(0));
        assert_eq!(rev["metadata"]["name"], format!("web-{hash}"));
        assert_eq!(rev["metadata"]["labels"]["app"], "web");
        assert_eq!(
            rev["metadata"]["labels"][CONTROLLER_REVISION_HASH_LABEL],
            hash
        );
        assert_eq!(rev["revision"], 3);
        assert!(is_controlled_by(&rev, "u1"));
        assert_eq!(
            template_from_revision(&rev),
            parent["spec"]["template"],
            "the revision restores the template"
        );
    }
}
