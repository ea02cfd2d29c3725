//! Informers: the objects of one resource (or every object under a store prefix) kept in
//! memory from the watch cache, as client-go's shared informers keep them, with a feed of
//! changes for controllers to enqueue from.
//!
//! An informer lists the store once at a revision R, then applies every watch-cache event above
//! R whose key is under its prefix. If the watch cache starts over (a compacted gap), or the
//! informer falls behind the broadcast, it lists again. The state is always a snapshot of the
//! store at [`Informer::revision`].

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use warren_store::Revision;

use crate::object::decode_stored;
use crate::server::ApiServer;
use crate::watch::{CachedEvent, EventType};

/// How many changes a subscriber may fall behind before it must resync.
const CHANGE_BUFFER: usize = 1024;

/// One change an informer applied.
#[derive(Clone, Debug)]
pub struct Change {
    /// The storage key.
    pub key: String,
    /// Added, modified or deleted.
    pub kind: EventType,
    /// The object after the change (for a delete, its last state).
    pub object: Arc<Value>,
    /// The object before the change (updates and deletes).
    pub prev: Option<Arc<Value>>,
}

#[derive(Default)]
struct State {
    objects: BTreeMap<String, Arc<Value>>,
    revision: Revision,
    synced: bool,
}

/// The cached objects under one store prefix.
pub struct Informer {
    prefix: String,
    state: RwLock<State>,
    changes: broadcast::Sender<Change>,
    progress: tokio::sync::watch::Sender<Revision>,
}

impl Informer {
    /// Starts an informer over `prefix` (e.g. `ResourceInfo::key_prefix()`); it stops with
    /// `cancel`. Returns once the first list is loaded.
    pub async fn start(
        api: Arc<ApiServer>,
        prefix: impl Into<String>,
        cancel: CancellationToken,
    ) -> Arc<Informer> {
        // tokio's broadcast allocates every slot up front, and there is one informer per
        // resource a controller follows: a small ring (a subscriber that falls behind gets
        // `Lagged` and resyncs everything, as a client-go handler re-lists).
        let (changes, _) = broadcast::channel(CHANGE_BUFFER);
        let (progress, _) = tokio::sync::watch::channel(0);
        let informer = Arc::new(Informer {
            prefix: prefix.into(),
            state: RwLock::new(State::default()),
            changes,
            progress,
        });
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let me = informer.clone();
        let tasks = api.tasks.clone();
        tasks.spawn(async move {
            me.run(api, cancel, Some(ready_tx)).await;
        });
        let _ = ready_rx.await;
        informer
    }

    /// The prefix this informer follows.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The store revision the cached state reflects.
    pub fn revision(&self) -> Revision {
        self.state.read().expect("informer lock").revision
    }

    /// Whether the first list has been loaded.
    pub fn has_synced(&self) -> bool {
        self.state.read().expect("informer lock").synced
    }

    /// The feed of changes (subscribe before reading the state to miss nothing).
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    /// Every cached object.
    pub fn list(&self) -> Vec<Arc<Value>> {
        self.state
            .read()
            .expect("informer lock")
            .objects
            .values()
            .cloned()
            .collect()
    }

    /// The cached objects whose key starts with `prefix + sub` (e.g. one namespace: `"NS/"`).
    pub fn list_under(&self, sub: &str) -> Vec<Arc<Value>> {
        let start = format!("{}{sub}", self.prefix);
        self.state
            .read()
            .expect("informer lock")
            .objects
            .range(start.clone()..)
            .take_while(|(k, _)| k.starts_with(&start))
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// The objects of one namespace (namespaced resources).
    pub fn list_namespace(&self, namespace: &str) -> Vec<Arc<Value>> {
        self.list_under(&format!("{namespace}/"))
    }

    /// One object by its storage key.
    pub fn get_key(&self, key: &str) -> Option<Arc<Value>> {
        self.state
            .read()
            .expect("informer lock")
            .objects
            .get(key)
            .cloned()
    }

    /// One object by namespace (None for cluster-scoped) and name.
    pub fn get(&self, namespace: Option<&str>, name: &str) -> Option<Arc<Value>> {
        let key = match namespace {
            Some(ns) => format!("{}{ns}/{name}", self.prefix),
            None => format!("{}{name}", self.prefix),
        };
        self.get_key(&key)
    }

    /// Waits until the informer reflects `revision` (e.g. of a write the caller just made),
    /// bounded by `deadline`; true if it does.
    pub async fn wait_for(&self, revision: Revision, deadline: Duration) -> bool {
        let mut rx = self.progress.subscribe();
        let wait = rx.wait_for(|r| *r >= revision);
        matches!(tokio::time::timeout(deadline, wait).await, Ok(Ok(_)))
    }

    async fn run(
        self: Arc<Self>,
        api: Arc<ApiServer>,
        cancel: CancellationToken,
        mut ready: Option<tokio::sync::oneshot::Sender<()>>,
    ) {
        'relist: loop {
            if cancel.is_cancelled() {
                return;
            }
            let res = match api.store.range(&self.prefix, "", 0, None).await {
                Ok(res) => res,
                Err(err) => {
                    tracing::warn!(prefix = %self.prefix, error = %err, "informer list failed");
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_millis(500)) => continue 'relist,
                    }
                }
            };
            let mut sub = match api.watch_cache.subscribe_after(res.revision) {
                Ok(sub) => sub,
                Err(_) => {
                    // The cache no longer holds the events after our list: it is newer than
                    // the list, so list again.
                    tokio::task::yield_now().await;
                    continue 'relist;
                }
            };
            let fresh: BTreeMap<String, Arc<Value>> = res
                .kvs
                .iter()
                .map(|kv| {
                    (
                        kv.key.clone(),
                        Arc::new(decode_stored(&kv.value, kv.mod_revision)),
                    )
                })
                .collect();
            self.replace(fresh, res.revision);
            if let Some(tx) = ready.take() {
                let _ = tx.send(());
            }
            let mut last = res.revision;
            for ev in std::mem::take(&mut sub.replay) {
                if ev.revision > last {
                    last = ev.revision;
                    self.apply(&ev);
                }
            }
            loop {
                let ev = tokio::select! {
                    _ = cancel.cancelled() => return,
                    ev = sub.live.recv() => ev,
                };
                match ev {
                    Ok(ev) if ev.revision > last => {
                        last = ev.revision;
                        self.apply(&ev);
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_))
                    | Err(broadcast::error::RecvError::Closed) => continue 'relist,
                }
            }
        }
    }

    /// Replaces the whole state (a list), sending the differences as changes.
    fn replace(&self, fresh: BTreeMap<String, Arc<Value>>, revision: Revision) {
        let mut changes = Vec::new();
        {
            let mut state = self.state.write().expect("informer lock");
            for (key, old) in &state.objects {
                if !fresh.contains_key(key) {
                    changes.push(Change {
                        key: key.clone(),
                        kind: EventType::Deleted,
                        object: old.clone(),
                        prev: Some(old.clone()),
                    });
                }
            }
            for (key, new) in &fresh {
                match state.objects.get(key) {
                    None => changes.push(Change {
                        key: key.clone(),
                        kind: EventType::Added,
                        object: new.clone(),
                        prev: None,
                    }),
                    Some(old) if old != new => changes.push(Change {
                        key: key.clone(),
                        kind: EventType::Modified,
                        object: new.clone(),
                        prev: Some(old.clone()),
                    }),
                    Some(_) => {}
                }
            }
            state.objects = fresh;
            state.revision = revision;
            state.synced = true;
        }
        for c in changes {
            let _ = self.changes.send(c);
        }
        self.progress.send_replace(revision);
    }

    fn apply(&self, ev: &CachedEvent) {
        if ev.key.starts_with(&self.prefix) {
            {
                let mut state = self.state.write().expect("informer lock");
                match ev.kind {
                    EventType::Deleted => {
                        state.objects.remove(&ev.key);
                    }
                    _ => {
                        state.objects.insert(ev.key.clone(), ev.object.clone());
                    }
                }
                state.revision = ev.revision;
            }
            let _ = self.changes.send(Change {
                key: ev.key.clone(),
                kind: ev.kind,
                object: ev.object.clone(),
                prev: ev.prev.clone(),
            });
        } else {
            self.state.write().expect("informer lock").revision = ev.revision;
        }
        self.progress.send_replace(ev.revision);
    }
}
