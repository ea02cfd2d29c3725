//! The garbage collector (kube-controller-manager's `garbagecollector`): an ownerReferences
//! graph over every object, kept from the informer of everything under `/registry/`, and a
//! queue of storage keys whose reconcile does what upstream's `attemptToDeleteItem` and
//! `attemptToOrphanWorker` do:
//!
//! - a dependent whose owners are all gone (no object with the referenced uid where the
//!   reference points) is deleted; one with some owners left loses the dangling references;
//! - an owner deleted in the foreground (`foregroundDeletion` finalizer) has its dependents
//!   deleted (in the foreground when they have dependents of their own) and loses the finalizer
//!   once no dependent with `blockOwnerDeletion` remains;
//! - an owner deleted with the `orphan` finalizer has its reference removed from every
//!   dependent, then loses the finalizer.
//!
//! The deletion options become those finalizers in [`crate::handlers`] (`delete_object`).
//! Namespaced owners are looked up in the dependent's namespace only; a cluster-scoped
//! dependent naming a namespaced kind is never collected and gets an `OwnerRefInvalidNamespace`
//! warning event, as upstream.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::broadcast;
use tracing::Instrument;
use warren_apimachinery::error::ApiError;
use warren_apimachinery::registry::ResourceInfo;

use super::{Client, Hub, Informer, WorkQueue};
use crate::handlers::{DeleteOptions, FINALIZER_FOREGROUND, FINALIZER_ORPHAN};
use crate::object;
use crate::watch::EventType;

/// The controller's name (its service account and event source).
const NAME: &str = "generic-garbage-collector";
/// The event source component upstream's garbage collector reports as.
const EVENT_COMPONENT: &str = "garbage-collector-controller";
/// Workers deleting and patching in parallel.
const WORKERS: usize = 4;

/// One `metadata.ownerReferences` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnerRef {
    /// `apiVersion` of the owner.
    pub api_version: String,
    /// `kind` of the owner.
    pub kind: String,
    /// `name` of the owner.
    pub name: String,
    /// `uid` of the owner.
    pub uid: String,
    /// `blockOwnerDeletion`.
    pub block_owner_deletion: bool,
}

/// The owner references of an object.
pub fn owner_refs(obj: &Value) -> Vec<OwnerRef> {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(|refs| {
            refs.iter()
                .map(|r| OwnerRef {
                    api_version: str_field(r, "apiVersion").to_string(),
                    kind: str_field(r, "kind").to_string(),
                    name: str_field(r, "name").to_string(),
                    uid: str_field(r, "uid").to_string(),
                    block_owner_deletion: r
                        .get("blockOwnerDeletion")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn str_field<'a>(v: &'a Value, field: &str) -> &'a str {
    v.get(field).and_then(Value::as_str).unwrap_or("")
}

fn has_finalizer(obj: &Value, finalizer: &str) -> bool {
    object::finalizers(obj).iter().any(|f| f == finalizer)
}

/// Whether an object is being deleted in the foreground (waits for its dependents).
pub fn is_deleting_dependents(obj: &Value) -> bool {
    object::is_deleting(obj) && has_finalizer(obj, FINALIZER_FOREGROUND)
}

/// Resources the garbage collector ignores (upstream's `DefaultIgnoredResources`).
fn ignored(info: &ResourceInfo) -> bool {
    info.plural == "events" && (info.group.is_empty() || info.group == "events.k8s.io")
}

/// A storage key resolved to its resource, namespace and name.
#[derive(Clone, Debug)]
pub struct Located {
    /// The resource.
    pub info: Arc<ResourceInfo>,
    /// The namespace (namespaced resources).
    pub namespace: Option<String>,
    /// The name.
    pub name: String,
}

/// Resolves a storage key (`/registry/<group>/<plural>/[<ns>/]<name>`) among `infos`, preferring
/// the version named by `api_version` (the stored object's) among the resource's versions.
pub fn locate(infos: &[Arc<ResourceInfo>], key: &str, api_version: &str) -> Option<Located> {
    let mut found: Option<Located> = None;
    for info in infos {
        let Some(rest) = key.strip_prefix(&info.key_prefix()) else {
            continue;
        };
        let (namespace, name) = if info.namespaced {
            match rest.split_once('/') {
                Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => {
                    (Some(ns.to_string()), name.to_string())
                }
                _ => continue,
            }
        } else if rest.is_empty() || rest.contains('/') {
            continue;
        } else {
            (None, rest.to_string())
        };
        let exact = info.api_version() == api_version;
        if found.is_none() || exact {
            found = Some(Located {
                info: info.clone(),
                namespace,
                name,
            });
        }
        if exact {
            break;
        }
    }
    found
}

/// Why an owner reference cannot be looked up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefError {
    /// No served resource has this apiVersion and kind (retried: a CRD may come).
    UnknownKind(String),
    /// A cluster-scoped dependent names a namespaced kind: never resolvable.
    NamespacedOwnerOfClusterScoped,
}

/// The storage key where the owner `r` of a dependent in `dependent_ns` (None: cluster-scoped)
/// must be: namespaced owners only in the dependent's namespace, cluster-scoped ones anywhere.
pub fn owner_key(
    infos: &[Arc<ResourceInfo>],
    dependent_ns: Option<&str>,
    r: &OwnerRef,
) -> Result<String, RefError> {
    let (group, version) = match r.api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", r.api_version.as_str()),
    };
    let info = infos
        .iter()
        .find(|i| i.group == group && i.version == version && i.kind == r.kind)
        .ok_or_else(|| RefError::UnknownKind(format!("{}, Kind={}", r.api_version, r.kind)))?;
    if !info.namespaced {
        return Ok(info.key(None, &r.name));
    }
    match dependent_ns {
        Some(ns) => Ok(info.key(Some(ns), &r.name)),
        None => Err(RefError::NamespacedOwnerOfClusterScoped),
    }
}

/// A dependent's references sorted as upstream's `classifyReferences`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Classified {
    /// The owner exists and is not waiting for its dependents.
    pub solid: Vec<OwnerRef>,
    /// The owner does not exist (or another object with another uid is there).
    pub dangling: Vec<OwnerRef>,
    /// The owner is being deleted in the foreground.
    pub waiting: Vec<OwnerRef>,
}

/// Classifies `refs`; `owner_at` returns the object at an owner's expected place, if any.
pub fn classify(
    refs: &[OwnerRef],
    mut owner_at: impl FnMut(&OwnerRef) -> Result<Option<Arc<Value>>, RefError>,
) -> Result<Classified, RefError> {
    let mut out = Classified::default();
    for r in refs {
        match owner_at(r)? {
            Some(owner) if object::meta_str(&owner, "uid") == Some(r.uid.as_str()) => {
                if is_deleting_dependents(&owner) {
                    out.waiting.push(r.clone());
                } else {
                    out.solid.push(r.clone());
                }
            }
            _ => out.dangling.push(r.clone()),
        }
    }
    Ok(out)
}

/// What to do with a dependent that is not being deleted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Owners remain and no reference needs removing.
    Keep,
    /// Owners remain: remove the references to these uids (dangling or waiting owners).
    RemoveRefs(Vec<String>),
    /// An owner waits for its dependents and this item has dependents of its own: delete it in
    /// the foreground, first making its own references non-blocking if one of its dependents is
    /// itself deleting dependents (a possible cycle).
    DeleteForeground {
        /// Whether to unblock its owner references first.
        unblock_first: bool,
    },
    /// No owner remains: delete it with this propagation policy.
    Delete(&'static str),
}

/// Upstream's decision in `attemptToDeleteItem` for an item that is not being deleted.
pub fn decide(
    item: &Value,
    classified: &Classified,
    has_dependents: bool,
    a_dependent_is_deleting_dependents: bool,
) -> Action {
    if !classified.solid.is_empty() {
        if classified.dangling.is_empty() && classified.waiting.is_empty() {
            return Action::Keep;
        }
        let uids = classified
            .dangling
            .iter()
            .chain(&classified.waiting)
            .map(|r| r.uid.clone())
            .collect();
        return Action::RemoveRefs(uids);
    }
    if !classified.waiting.is_empty() && has_dependents {
        return Action::DeleteForeground {
            unblock_first: a_dependent_is_deleting_dependents,
        };
    }
    if has_finalizer(item, FINALIZER_ORPHAN) {
        Action::Delete("Orphan")
    } else if has_finalizer(item, FINALIZER_FOREGROUND) {
        Action::Delete("Foreground")
    } else {
        Action::Delete("Background")
    }
}

/// What the graph knows of one object.
#[derive(Clone, Debug)]
struct Node {
    uid: String,
    owners: Vec<OwnerRef>,
    deleting: bool,
    finalizers: Vec<String>,
}

impl Node {
    fn of(obj: &Value) -> Node {
        Node {
            uid: object::meta_str(obj, "uid").unwrap_or("").to_string(),
            owners: owner_refs(obj),
            deleting: object::is_deleting(obj),
            finalizers: object::finalizers(obj),
        }
    }

    /// Whether the garbage collector has work on this object itself.
    fn needs_attention(&self) -> bool {
        !self.owners.is_empty()
            || (self.deleting
                && self
                    .finalizers
                    .iter()
                    .any(|f| f == FINALIZER_ORPHAN || f == FINALIZER_FOREGROUND))
    }
}

/// The ownerReferences graph: who references whom, by uid.
#[derive(Default)]
struct Graph {
    /// Per storage key.
    nodes: HashMap<String, Node>,
    /// Object uid → storage key.
    by_uid: HashMap<String, String>,
    /// Owner uid → storage keys of the objects referencing it (whether the owner exists or not).
    dependents: HashMap<String, BTreeSet<String>>,
}

impl Graph {
    /// Records the object at `key` (None: gone); returns what it was before.
    fn set(&mut self, key: &str, node: Option<Node>) -> Option<Node> {
        let old = self.nodes.remove(key);
        if let Some(old) = &old {
            if self.by_uid.get(&old.uid).map(String::as_str) == Some(key) {
                self.by_uid.remove(&old.uid);
            }
            for r in &old.owners {
                if let Some(set) = self.dependents.get_mut(&r.uid) {
                    set.remove(key);
                    if set.is_empty() {
                        self.dependents.remove(&r.uid);
                    }
                }
            }
        }
        if let Some(node) = node {
            for r in &node.owners {
                self.dependents
                    .entry(r.uid.clone())
                    .or_default()
                    .insert(key.to_string());
            }
            self.by_uid.insert(node.uid.clone(), key.to_string());
            self.nodes.insert(key.to_string(), node);
        }
        old
    }

    fn dependents_of(&self, uid: &str) -> Vec<String> {
        self.dependents
            .get(uid)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn key_of(&self, uid: &str) -> Option<String> {
        self.by_uid.get(uid).cloned()
    }
}

/// The garbage collector's state, shared by the graph builder and the workers.
struct GarbageCollector {
    client: Client,
    informer: Arc<Informer>,
    graph: Mutex<Graph>,
    queue: Arc<WorkQueue>,
    /// (dependent uid, owner uid) pairs already reported as `OwnerRefInvalidNamespace`.
    reported: Mutex<HashSet<(String, String)>>,
}

/// Runs the garbage collector until the hub is cancelled.
pub async fn run(hub: Arc<Hub>) {
    let informer = match hub.informer_for_prefix("/registry/").await {
        Ok(i) => i,
        Err(err) => {
            tracing::warn!(controller = NAME, error = %err.message, "no informer");
            return;
        }
    };
    let gc = Arc::new(GarbageCollector {
        client: Client::new(hub.api().clone(), NAME),
        informer: informer.clone(),
        graph: Mutex::new(Graph::default()),
        queue: Arc::new(WorkQueue::new()),
        reported: Mutex::new(HashSet::new()),
    });
    let cancel = hub.cancel().clone();
    let builder = {
        let gc = gc.clone();
        let cancel = cancel.clone();
        async move {
            let mut changes = gc.informer.subscribe();
            gc.rebuild();
            loop {
                let change = tokio::select! {
                    _ = cancel.cancelled() => return,
                    c = changes.recv() => c,
                };
                match change {
                    Ok(change) => gc.observe(&change.key, change.kind, &change.object),
                    Err(broadcast::error::RecvError::Lagged(_)) => gc.rebuild(),
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        }
    };
    let workers = (0..WORKERS).map(|_| {
        let gc = gc.clone();
        super::run_workers(gc.queue.clone(), cancel.clone(), NAME, move |key| {
            let gc = gc.clone();
            async move { gc.reconcile(&key).await }
        })
    });
    tokio::join!(builder, futures::future::join_all(workers));
}

impl GarbageCollector {
    fn infos(&self) -> Vec<Arc<ResourceInfo>> {
        self.client.api().registry.all()
    }

    /// Rebuilds the graph from the informer's state and looks at every object it concerns.
    fn rebuild(&self) {
        let infos = self.infos();
        let mut fresh = Graph::default();
        for obj in self.informer.list() {
            let Some(key) = storage_key_of(&infos, &obj) else {
                continue;
            };
            fresh.set(&key, Some(Node::of(&obj)));
        }
        let keys: Vec<String> = fresh
            .nodes
            .iter()
            .filter(|(_, n)| n.needs_attention())
            .map(|(k, _)| k.clone())
            .collect();
        *self.graph.lock().expect("gc graph") = fresh;
        for key in keys {
            self.queue.add(key);
        }
    }

    /// Updates the graph with one informer change and queues the objects it may concern
    /// (upstream's `processGraphChanges`).
    fn observe(&self, key: &str, kind: EventType, obj: &Value) {
        let api_version = str_field(obj, "apiVersion");
        let Some(located) = locate(&self.infos(), key, api_version) else {
            return;
        };
        if ignored(&located.info) {
            return;
        }
        let mut enqueue: Vec<String> = Vec::new();
        {
            let mut graph = self.graph.lock().expect("gc graph");
            match kind {
                EventType::Deleted => {
                    let Some(old) = graph.set(key, None) else {
                        return;
                    };
                    // Its dependents may have lost their last owner; owners waiting for their
                    // dependents may be free to go.
                    enqueue.extend(graph.dependents_of(&old.uid));
                    for r in &old.owners {
                        if let Some(owner) = graph.key_of(&r.uid) {
                            enqueue.push(owner);
                        }
                    }
                }
                _ => {
                    let node = Node::of(obj);
                    let old = graph.set(key, Some(node.clone()));
                    let refs_changed = old.as_ref().is_none_or(|o| o.owners != node.owners);
                    let deletion_changed = old.as_ref().is_none_or(|o| {
                        o.deleting != node.deleting || o.finalizers != node.finalizers
                    });
                    if node.needs_attention() && (refs_changed || deletion_changed) {
                        enqueue.push(key.to_string());
                    }
                    if let Some(old) = &old {
                        if old.uid != node.uid {
                            enqueue.extend(graph.dependents_of(&old.uid));
                        }
                        // Owners whose blocking reference went away or stopped blocking.
                        for r in &old.owners {
                            let still_blocking = node
                                .owners
                                .iter()
                                .any(|n| n.uid == r.uid && n.block_owner_deletion);
                            if r.block_owner_deletion
                                && !still_blocking
                                && let Some(owner) = graph.key_of(&r.uid)
                            {
                                enqueue.push(owner);
                            }
                        }
                    }
                    if node.deleting
                        && node.finalizers.iter().any(|f| f == FINALIZER_FOREGROUND)
                        && deletion_changed
                    {
                        enqueue.extend(graph.dependents_of(&node.uid));
                    }
                }
            }
        }
        for k in enqueue {
            self.queue.add(k);
        }
    }

    /// Processes one object (upstream's `attemptToDeleteItem` and `attemptToOrphanWorker`).
    async fn reconcile(&self, key: &str) -> Result<Option<Duration>, ApiError> {
        let Some(obj) = self.informer.get_key(key) else {
            return Ok(None);
        };
        let infos = self.infos();
        let Some(at) = locate(&infos, key, str_field(&obj, "apiVersion")) else {
            return Ok(None);
        };
        if ignored(&at.info) {
            return Ok(None);
        }
        let span = tracing::debug_span!(
            "gc",
            kind = %at.info.kind,
            namespace = at.namespace.as_deref().unwrap_or(""),
            name = %at.name
        );
        self.reconcile_object(&infos, &at, &obj)
            .instrument(span)
            .await
    }

    async fn reconcile_object(
        &self,
        infos: &[Arc<ResourceInfo>],
        at: &Located,
        obj: &Value,
    ) -> Result<Option<Duration>, ApiError> {
        let uid = object::meta_str(obj, "uid").unwrap_or("").to_string();
        if object::is_deleting(obj) {
            if has_finalizer(obj, FINALIZER_ORPHAN) {
                self.orphan_dependents(infos, &uid).await?;
                self.remove_finalizer(at, &uid, FINALIZER_ORPHAN).await?;
            } else if has_finalizer(obj, FINALIZER_FOREGROUND) {
                self.process_deleting_dependents(at, &uid).await?;
            }
            // Any other deletion is a one-way trip: its dependents are looked at once it is gone.
            return Ok(None);
        }
        let refs = owner_refs(obj);
        if refs.is_empty() {
            return Ok(None);
        }
        let classified = classify(&refs, |r| {
            let owner_key = owner_key(infos, at.namespace.as_deref(), r)?;
            Ok(self.informer.get_key(&owner_key))
        });
        let classified = match classified {
            Ok(c) => c,
            Err(RefError::NamespacedOwnerOfClusterScoped) => {
                // Never resolvable: report it and leave the object alone (not retried).
                for r in &refs {
                    self.report_invalid_namespace(obj, at, r).await;
                }
                return Ok(None);
            }
            Err(RefError::UnknownKind(what)) => {
                return Err(ApiError::bad_request(format!(
                    "unable to map owner reference {what} to a served resource"
                )));
            }
        };
        // A dangling reference to an owner that lives in another namespace is invalid.
        for r in &classified.dangling {
            let elsewhere = self.graph.lock().expect("gc graph").key_of(&r.uid);
            if let (Some(owner_key), Some(ns)) = (elsewhere, at.namespace.as_deref())
                && let Some(owner) = locate(infos, &owner_key, "")
                && owner.namespace.as_deref().is_some_and(|o| o != ns)
            {
                self.report_invalid_namespace(obj, at, r).await;
            }
        }
        let (has_dependents, dependent_deleting_dependents) = {
            let deps = self.graph.lock().expect("gc graph").dependents_of(&uid);
            let live: Vec<Arc<Value>> = deps
                .iter()
                .filter_map(|k| self.informer.get_key(k))
                .collect();
            (
                !live.is_empty(),
                live.iter().any(|d| is_deleting_dependents(d)),
            )
        };
        match decide(
            obj,
            &classified,
            has_dependents,
            dependent_deleting_dependents,
        ) {
            Action::Keep => {}
            Action::RemoveRefs(uids) => {
                tracing::debug!(?uids, "removing dangling and waiting owner references");
                self.remove_owner_refs(at, &uid, &uids).await?;
            }
            Action::DeleteForeground { unblock_first } => {
                if unblock_first {
                    self.unblock_owner_refs(at, &uid).await?;
                }
                self.delete_item(at, obj, "Foreground").await?;
            }
            Action::Delete(policy) => {
                tracing::debug!(policy, "deleting an object whose owners are gone");
                self.delete_item(at, obj, policy).await?;
            }
        }
        Ok(None)
    }

    /// An owner deleted in the foreground: its dependents go; once no blocking one remains, so
    /// does its `foregroundDeletion` finalizer.
    async fn process_deleting_dependents(&self, at: &Located, uid: &str) -> Result<(), ApiError> {
        let deps = self.graph.lock().expect("gc graph").dependents_of(uid);
        let mut blocking = false;
        for key in deps {
            let Some(dep) = self.informer.get_key(&key) else {
                continue;
            };
            if owner_refs(&dep)
                .iter()
                .any(|r| r.uid == uid && r.block_owner_deletion)
            {
                blocking = true;
            }
            if !object::is_deleting(&dep) {
                self.queue.add(key);
            }
        }
        if !blocking {
            self.remove_finalizer(at, uid, FINALIZER_FOREGROUND).await?;
        }
        Ok(())
    }

    /// Removes the owner `uid` from the references of all its dependents.
    async fn orphan_dependents(
        &self,
        infos: &[Arc<ResourceInfo>],
        uid: &str,
    ) -> Result<(), ApiError> {
        let deps = self.graph.lock().expect("gc graph").dependents_of(uid);
        for key in deps {
            let Some(dep) = self.informer.get_key(&key) else {
                continue;
            };
            let Some(at) = locate(infos, &key, str_field(&dep, "apiVersion")) else {
                continue;
            };
            let dep_uid = object::meta_str(&dep, "uid").unwrap_or("").to_string();
            self.remove_owner_refs(&at, &dep_uid, &[uid.to_string()])
                .await?;
        }
        Ok(())
    }

    /// Removes the references to `owner_uids` from the object at `at` (if it still has `uid`).
    async fn remove_owner_refs(
        &self,
        at: &Located,
        uid: &str,
        owner_uids: &[String],
    ) -> Result<(), ApiError> {
        let res = self
            .client
            .modify(&at.info, at.namespace.as_deref(), &at.name, false, |obj| {
                if object::meta_str(obj, "uid") != Some(uid) {
                    return false;
                }
                let Some(refs) = obj
                    .pointer_mut("/metadata/ownerReferences")
                    .and_then(Value::as_array_mut)
                else {
                    return false;
                };
                let before = refs.len();
                refs.retain(|r| !owner_uids.iter().any(|u| u == str_field(r, "uid")));
                refs.len() != before
            })
            .await;
        ignore_not_found(res)
    }

    /// Makes every owner reference of the object at `at` non-blocking.
    async fn unblock_owner_refs(&self, at: &Located, uid: &str) -> Result<(), ApiError> {
        let res = self
            .client
            .modify(&at.info, at.namespace.as_deref(), &at.name, false, |obj| {
                if object::meta_str(obj, "uid") != Some(uid) {
                    return false;
                }
                let Some(refs) = obj
                    .pointer_mut("/metadata/ownerReferences")
                    .and_then(Value::as_array_mut)
                else {
                    return false;
                };
                let mut changed = false;
                for r in refs.iter_mut() {
                    if r.get("blockOwnerDeletion").and_then(Value::as_bool) == Some(true) {
                        r["blockOwnerDeletion"] = json!(false);
                        changed = true;
                    }
                }
                changed
            })
            .await;
        ignore_not_found(res)
    }

    /// Removes `finalizer` from the object at `at` (if it still has `uid`); the object goes once
    /// its last finalizer is removed.
    async fn remove_finalizer(
        &self,
        at: &Located,
        uid: &str,
        finalizer: &str,
    ) -> Result<(), ApiError> {
        let res = self
            .client
            .modify(&at.info, at.namespace.as_deref(), &at.name, false, |obj| {
                if object::meta_str(obj, "uid") != Some(uid) {
                    return false;
                }
                let finalizers = object::finalizers(obj);
                if !finalizers.iter().any(|f| f == finalizer) {
                    return false;
                }
                let kept: Vec<String> = finalizers.into_iter().filter(|f| f != finalizer).collect();
                if let Some(meta) = object::metadata_mut(obj) {
                    meta.insert("finalizers".into(), json!(kept));
                }
                true
            })
            .await;
        ignore_not_found(res)
    }

    /// Deletes an item as upstream's `deleteObject`: preconditioned on its uid and the
    /// resourceVersion it was judged at; if only the resourceVersion moved and its owner
    /// references did not change, deleted again on the uid alone.
    async fn delete_item(&self, at: &Located, obj: &Value, policy: &str) -> Result<(), ApiError> {
        let uid = object::meta_str(obj, "uid").unwrap_or("").to_string();
        let mut opts = DeleteOptions {
            propagation: Some(policy.to_string()),
            precondition_uid: Some(uid.clone()),
            precondition_rv: object::resource_version(obj).map(str::to_string),
            ..Default::default()
        };
        let ns = at.namespace.as_deref();
        match self.client.delete(&at.info, ns, &at.name, &opts).await {
            Ok(_) => Ok(()),
            Err(e) if e.code == 404 => Ok(()),
            Err(e) if e.code == 409 => {
                let key = at.info.key(ns, &at.name);
                let Some(kv) = self
                    .client
                    .api()
                    .store
                    .get(&key)
                    .await
                    .map_err(crate::handlers::plain_store_error)?
                else {
                    return Ok(());
                };
                let latest = object::decode_stored(&kv.value, kv.mod_revision);
                if object::meta_str(&latest, "uid") != Some(uid.as_str()) {
                    return Ok(());
                }
                if owner_refs(&latest) != owner_refs(obj) {
                    // Judged on references that changed: look again.
                    return Err(e);
                }
                opts.precondition_rv = None;
                ignore_not_found(self.client.delete(&at.info, ns, &at.name, &opts).await)
            }
            Err(e) => Err(e),
        }
    }

    /// Reports an owner reference that cannot be valid (`OwnerRefInvalidNamespace`), once per
    /// dependent and owner.
    async fn report_invalid_namespace(&self, dep: &Value, at: &Located, r: &OwnerRef) {
        let dep_uid = object::meta_str(dep, "uid").unwrap_or("").to_string();
        if !self
            .reported
            .lock()
            .expect("gc reported")
            .insert((dep_uid.clone(), r.uid.clone()))
        {
            return;
        }
        let dep_ns = at.namespace.clone().unwrap_or_default();
        let message = format!(
            "ownerRef [{}/{}, namespace: {dep_ns}, name: {}, uid: {}] does not exist in namespace {dep_ns:?}",
            r.api_version, r.kind, r.name, r.uid
        );
        tracing::info!(uid = %dep_uid, %message, "invalid owner reference");
        let event = invalid_namespace_event(dep, at, &message);
        let Some(events) = self.client.api().registry.lookup("", "v1", "events") else {
            return;
        };
        let ns = str_field(&event["metadata"], "namespace").to_string();
        if let Err(err) = self.client.create(&events, Some(&ns), event).await {
            tracing::debug!(error = %err.message, "event not recorded");
        }
    }
}

/// A core/v1 Warning event about `dep`, as client-go's recorder makes it.
fn invalid_namespace_event(dep: &Value, at: &Located, message: &str) -> Value {
    let now = chrono::Utc::now();
    let dep_ns = at.namespace.clone().unwrap_or_default();
    let namespace = if dep_ns.is_empty() {
        "default".to_string()
    } else {
        dep_ns.clone()
    };
    let ts = now.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": format!("{}.{:x}", at.name, now.timestamp_nanos_opt().unwrap_or(0)),
            "namespace": namespace,
        },
        "involvedObject": {
            "kind": at.info.kind,
            "apiVersion": str_field(dep, "apiVersion"),
            "namespace": dep_ns,
            "name": at.name,
            "uid": object::meta_str(dep, "uid").unwrap_or(""),
        },
        "reason": "OwnerRefInvalidNamespace",
        "message": message,
        "type": "Warning",
        "source": {"component": EVENT_COMPONENT},
        "firstTimestamp": ts,
        "lastTimestamp": ts,
        "count": 1,
        "reportingComponent": EVENT_COMPONENT,
        "reportingInstance": "",
    })
}

/// The storage key of an object, from its apiVersion, kind, namespace and name.
fn storage_key_of(infos: &[Arc<ResourceInfo>], obj: &Value) -> Option<String> {
    let api_version = str_field(obj, "apiVersion");
    let kind = str_field(obj, "kind");
    let (group, _) = api_version.split_once('/').unwrap_or(("", api_version));
    let info = infos
        .iter()
        .find(|i| i.group == group && i.kind == kind && !ignored(i))?;
    let name = object::name(obj);
    if name.is_empty() {
        return None;
    }
    Some(info.key(object::meta_str(obj, "namespace"), name))
}

fn ignore_not_found(res: Result<Value, ApiError>) -> Result<(), ApiError> {
    match res {
        Ok(_) => Ok(()),
        Err(e) if e.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warren_apimachinery::registry::builtin_resources;

    fn infos() -> Vec<Arc<ResourceInfo>> {
        builtin_resources().into_iter().map(Arc::new).collect()
    }

    fn cm_ref(name: &str, uid: &str, block: bool) -> OwnerRef {
        OwnerRef {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            name: name.into(),
            uid: uid.into(),
            block_owner_deletion: block,
        }
    }

    fn obj(uid: &str, extra_meta: Value) -> Arc<Value> {
        let mut meta = json!({"name": "x", "uid": uid});
        if let (Some(m), Some(extra)) = (meta.as_object_mut(), extra_meta.as_object()) {
            m.extend(extra.clone());
        }
        Arc::new(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}))
    }

    /// Looks owners up in a map from storage key to object, as the informer does.
    fn lookup_in<'a>(
        infos: &'a [Arc<ResourceInfo>],
        store: &'a HashMap<String, Arc<Value>>,
        dep_ns: Option<&'a str>,
    ) -> impl FnMut(&OwnerRef) -> Result<Option<Arc<Value>>, RefError> + 'a {
        move |r| Ok(store.get(&owner_key(infos, dep_ns, r)?).cloned())
    }

    #[test]
    fn all_owners_gone_means_delete_in_the_background() {
        let infos = infos();
        let store = HashMap::new();
        let refs = vec![cm_ref("a", "u-a", false), cm_ref("b", "u-b", true)];
        let c = classify(&refs, lookup_in(&infos, &store, Some("ns"))).unwrap();
        assert_eq!(c.dangling.len(), 2);
        assert!(c.solid.is_empty() && c.waiting.is_empty());
        let item = obj("dep", json!({}));
        assert_eq!(
            decide(&item, &c, false, false),
            Action::Delete("Background")
        );
        // An item carrying its own GC finalizer is deleted with that policy.
        let orphaning = obj("dep", json!({"finalizers": ["orphan"]}));
        assert_eq!(
            decide(&orphaning, &c, true, false),
            Action::Delete("Orphan")
        );
    }

    #[test]
    fn some_owners_left_means_only_dangling_references_go() {
        let infos = infos();
        let mut store = HashMap::new();
        store.insert(
            "/registry/core/configmaps/ns/a".to_string(),
            obj("u-a", json!({})),
        );
        // Same name, another uid: the referenced owner is gone.
        store.insert(
            "/registry/core/configmaps/ns/b".to_string(),
            obj("u-b2", json!({})),
        );
        let refs = vec![cm_ref("a", "u-a", false), cm_ref("b", "u-b", false)];
        let c = classify(&refs, lookup_in(&infos, &store, Some("ns"))).unwrap();
        assert_eq!(c.solid, vec![cm_ref("a", "u-a", false)]);
        assert_eq!(c.dangling, vec![cm_ref("b", "u-b", false)]);
        let item = obj("dep", json!({}));
        assert_eq!(
            decide(&item, &c, false, false),
            Action::RemoveRefs(vec!["u-b".into()])
        );
        // Nothing dangling: nothing to do.
        let c = classify(&refs[..1], lookup_in(&infos, &store, Some("ns"))).unwrap();
        assert_eq!(decide(&item, &c, false, false), Action::Keep);
    }

    #[test]
    fn owners_deleting_in_the_foreground_are_waited_on() {
        let infos = infos();
        let mut store = HashMap::new();
        store.insert(
            "/registry/core/configmaps/ns/a".to_string(),
            obj(
                "u-a",
                json!({"deletionTimestamp": "2024-01-01T00:00:00Z", "finalizers": ["foregroundDeletion"]}),
            ),
        );
        let refs = vec![cm_ref("a", "u-a", true)];
        let c = classify(&refs, lookup_in(&infos, &store, Some("ns"))).unwrap();
        assert_eq!(c.waiting.len(), 1);
        let item = obj("dep", json!({}));
        // With dependents of its own, the item goes in the foreground too.
        assert_eq!(
            decide(&item, &c, true, false),
            Action::DeleteForeground {
                unblock_first: false
            }
        );
        assert_eq!(
            decide(&item, &c, true, true),
            Action::DeleteForeground {
                unblock_first: true
            }
        );
        // Without, it simply goes.
        assert_eq!(
            decide(&item, &c, false, false),
            Action::Delete("Background")
        );
        // With a solid owner too, only the waiting reference is removed.
        store.insert(
            "/registry/core/configmaps/ns/b".to_string(),
            obj("u-b", json!({})),
        );
        let refs = vec![cm_ref("a", "u-a", true), cm_ref("b", "u-b", false)];
        let c = classify(&refs, lookup_in(&infos, &store, Some("ns"))).unwrap();
        assert_eq!(
            decide(&item, &c, false, false),
            Action::RemoveRefs(vec!["u-a".into()])
        );
    }

    #[test]
    fn namespaced_owners_are_looked_up_in_the_dependents_namespace_only() {
        let infos = infos();
        let mut store = HashMap::new();
        store.insert(
            "/registry/core/configmaps/other/a".to_string(),
            obj("u-a", json!({})),
        );
        let refs = vec![cm_ref("a", "u-a", false)];
        // The owner exists, but in another namespace: dangling for a dependent in `ns`.
        let c = classify(&refs, lookup_in(&infos, &store, Some("ns"))).unwrap();
        assert_eq!(c.dangling.len(), 1);
        let c = classify(&refs, lookup_in(&infos, &store, Some("other"))).unwrap();
        assert_eq!(c.solid.len(), 1);
    }

    #[test]
    fn cluster_scoped_owners_are_found_from_anywhere_and_namespaced_ones_never_from_cluster_scope()
    {
        let infos = infos();
        let node_ref = OwnerRef {
            api_version: "v1".into(),
            kind: "Node".into(),
            name: "n1".into(),
            uid: "u-n".into(),
            block_owner_deletion: false,
        };
        assert_eq!(
            owner_key(&infos, Some("ns"), &node_ref).unwrap(),
            "/registry/core/nodes/n1"
        );
        assert_eq!(
            owner_key(&infos, None, &node_ref).unwrap(),
            "/registry/core/nodes/n1"
        );
        assert_eq!(
            owner_key(&infos, None, &cm_ref("a", "u", false)),
            Err(RefError::NamespacedOwnerOfClusterScoped)
        );
        let unknown = OwnerRef {
            api_version: "example.com/v1".into(),
            kind: "Thing".into(),
            ..cm_ref("a", "u", false)
        };
        assert!(matches!(
            owner_key(&infos, Some("ns"), &unknown),
            Err(RefError::UnknownKind(_))
        ));
        let deploy = OwnerRef {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            ..cm_ref("web", "u", true)
        };
        assert_eq!(
            owner_key(&infos, Some("ns"), &deploy).unwrap(),
            "/registry/apps/deployments/ns/web"
        );
    }

    #[test]
    fn storage_keys_resolve_to_resources() {
        let infos = infos();
        let at = locate(&infos, "/registry/core/configmaps/ns/a", "v1").unwrap();
        assert_eq!(at.info.kind, "ConfigMap");
        assert_eq!(at.namespace.as_deref(), Some("ns"));
        assert_eq!(at.name, "a");
        let at = locate(&infos, "/registry/core/nodes/n1", "v1").unwrap();
        assert_eq!(at.info.kind, "Node");
        assert_eq!(at.namespace, None);
        assert!(locate(&infos, "/registry/core/configmaps/ns", "v1").is_none());
        assert!(locate(&infos, "/registry/nothing/here/x", "v1").is_none());
    }

    #[test]
    fn the_graph_tracks_dependents_by_owner_uid() {
        let mut g = Graph::default();
        let dep = |uid: &str, owners: Vec<OwnerRef>| Node {
            uid: uid.into(),
            owners,
            deleting: false,
            finalizers: vec![],
        };
        g.set("k/owner", Some(dep("u-o", vec![])));
        g.set("k/d1", Some(dep("u-1", vec![cm_ref("owner", "u-o", true)])));
        g.set(
            "k/d2",
            Some(dep("u-2", vec![cm_ref("owner", "u-o", false)])),
        );
        assert_eq!(g.dependents_of("u-o"), vec!["k/d1", "k/d2"]);
        // A reference removed by an update leaves the owner's dependents.
        g.set("k/d2", Some(dep("u-2", vec![])));
        assert_eq!(g.dependents_of("u-o"), vec!["k/d1"]);
        // The owner's deletion keeps the references to it (its dependents look again).
        g.set("k/owner", None);
        assert_eq!(g.key_of("u-o"), None);
        assert_eq!(g.dependents_of("u-o"), vec!["k/d1"]);
        g.set("k/d1", None);
        assert!(g.dependents_of("u-o").is_empty());
    }
}
