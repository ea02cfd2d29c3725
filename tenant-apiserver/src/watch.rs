//! The watch cache: one store watch fanned out in memory to every API watcher.
//!
//! A single task follows the store's watch from start-up on, decodes each event once into JSON
//! (with `metadata.resourceVersion` set), keeps the most recent events in a ring buffer and
//! broadcasts them. A watcher subscribes under the buffer's lock, so the events it replays from
//! the buffer and the live events it receives meet without a gap or a duplicate.

use std::collections::VecDeque;
use std::sync::{Arc, RwLock};

use futures::StreamExt;
use serde_json::Value;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use warren_store::{KeyValue, Revision, Store, StoreError, WatchEvent, WatchStream};

use crate::object;

/// How many recent events the cache keeps for watchers that resume from a resourceVersion.
pub const BUFFER_EVENTS: usize = 50_000;
/// How many events a slow watcher may fall behind before it is ended (and re-lists).
const BROADCAST_CAPACITY: usize = 16_384;

/// The type of a watch event, as the API names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    /// `ADDED`
    Added,
    /// `MODIFIED`
    Modified,
    /// `DELETED`
    Deleted,
}

impl EventType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One decoded store event.
#[derive(Debug)]
pub struct CachedEvent {
    /// The store revision.
    pub revision: Revision,
    /// The storage key.
    pub key: String,
    /// What happened.
    pub kind: EventType,
    /// The object after the event (for a delete: its last state, at the delete's revision).
    pub object: Arc<Value>,
    /// The object before the event (updates and deletes).
    pub prev: Option<Arc<Value>>,
}

struct Buffer {
    events: VecDeque<Arc<CachedEvent>>,
    /// Every event with a revision above this is in `events`.
    oldest: Revision,
    /// The revision of the newest event seen (or the start revision).
    latest: Revision,
}

/// The shared watch cache; cheap to clone.
#[derive(Clone)]
pub struct WatchCache {
    buffer: Arc<RwLock<Buffer>>,
    /// Replaced (ending every subscriber) when the cache must start over.
    tx: Arc<RwLock<broadcast::Sender<Arc<CachedEvent>>>>,
}

/// Why a watcher could not start at the revision it asked for.
#[derive(Debug)]
pub struct TooOld {
    /// The oldest revision the cache can resume from.
    pub oldest: Revision,
}

/// A watcher's starting point: the buffered events after its revision, and the live feed.
pub struct Subscription {
    /// Buffered events with a revision above the one asked for, in order.
    pub replay: Vec<Arc<CachedEvent>>,
    /// Live events (may repeat revisions already replayed: skip those at or below the last seen).
    pub live: broadcast::Receiver<Arc<CachedEvent>>,
    /// The cache's newest revision when subscribing.
    pub latest: Revision,
}

fn decode(kv: &KeyValue, revision: Revision) -> Arc<Value> {
    Arc::new(object::decode_stored(&kv.value, revision))
}

/// Decodes one store event into the API's terms (done once per event, shared by all watchers).
pub fn decode_event(ev: &WatchEvent) -> CachedEvent {
    let revision = ev.revision();
    match ev {
        WatchEvent::Create(kv) => CachedEvent {
            revision,
            key: kv.key.clone(),
            kind: EventType::Added,
            object: decode(kv, kv.mod_revision),
            prev: None,
        },
        WatchEvent::Update { kv, prev } => CachedEvent {
            revision,
            key: kv.key.clone(),
            kind: EventType::Modified,
            object: decode(kv, kv.mod_revision),
            prev: Some(decode(prev, prev.mod_revision)),
        },
        WatchEvent::Delete { revision, prev } => CachedEvent {
            revision: *revision,
            key: prev.key.clone(),
            kind: EventType::Deleted,
            object: decode(prev, *revision),
            prev: Some(decode(prev, prev.mod_revision)),
        },
    }
}

/// A store watch from the cache's latest revision; when that history is compacted away
/// (events were missed), a watch from now, with the cache started over so that every watcher
/// ends and its client re-lists (never a silent gap).
async fn resume(store: &dyn Store, cache: &WatchCache) -> Result<WatchStream, StoreError> {
    let from = cache.latest();
    match store.watch(from).await {
        Err(StoreError::Compacted { .. }) => {
            let now = store.current_revision().await?;
            let stream = store.watch(now).await?;
            tracing::warn!(
                from,
                now,
                "store history compacted while the watch was down: watchers end and re-list"
            );
            cache.reset(now);
            Ok(stream)
        }
        other => other,
    }
}

impl WatchCache {
    /// Starts following `store` from its current revision; the task stops with `cancel`.
    pub async fn start(
        store: Arc<dyn Store>,
        cancel: CancellationToken,
    ) -> Result<(WatchCache, tokio::task::JoinHandle<()>), StoreError> {
        let start = store.current_revision().await?;
        let (tx, _) = broadcast::channel(BROADCAST_CAPACITY);
        let cache = WatchCache {
            buffer: Arc::new(RwLock::new(Buffer {
                events: VecDeque::new(),
                oldest: start,
                latest: start,
            })),
            tx: Arc::new(RwLock::new(tx)),
        };
        let mut stream = store.watch(start).await?;
        let task_cache = cache.clone();
        let handle = tokio::spawn(async move {
            loop {
                let next = tokio::select! {
                    _ = cancel.cancelled() => return,
                    next = stream.next() => next,
                };
                match next {
                    Some(Ok(ev)) => {
                        task_cache.push(ev);
                        continue;
                    }
                    Some(Err(err)) => {
                        tracing::warn!(error = %err, "store watch ended; resuming");
                    }
                    None => {
                        if cancel.is_cancelled() {
                            return;
                        }
                        tracing::warn!("store watch closed; resuming");
                    }
                }
                // Resume after the last event seen, retrying (the store may be down) until it
                // works or the server stops.
                loop {
                    match resume(store.as_ref(), &task_cache).await {
                        Ok(s) => {
                            stream = s;
                            break;
                        }
                        Err(err) => {
                            tracing::error!(error = %err, "cannot resume store watch; retrying");
                            tokio::select! {
                                _ = cancel.cancelled() => return,
                                _ = tokio::time::sleep(std::time::Duration::from_millis(500)) => {}
                            }
                        }
                    }
                }
            }
        });
        Ok((cache, handle))
    }

    fn push(&self, ev: WatchEvent) {
        let revision = ev.revision();
        let cached = decode_event(&ev);
        let cached = Arc::new(cached);
        let mut buf = self.buffer.write().expect("watch cache lock");
        if revision <= buf.latest {
            return; // already seen (a resumed store watch may repeat)
        }
        buf.latest = revision;
        buf.events.push_back(cached.clone());
        while buf.events.len() > BUFFER_EVENTS {
            if let Some(old) = buf.events.pop_front() {
                buf.oldest = old.revision;
            }
        }
        // Sent under the lock so that subscribers see an exact seam.
        let _ = self.tx.read().expect("watch cache lock").send(cached);
    }

    /// Starts over at `revision` after a gap: drops the buffer and ends every subscriber
    /// (their receivers report `Closed`; subscribe again).
    fn reset(&self, revision: Revision) {
        let mut buf = self.buffer.write().expect("watch cache lock");
        buf.events.clear();
        buf.oldest = revision;
        buf.latest = revision;
        let (tx, _) = broadcast::channel(BROADCAST_CAPACITY);
        *self.tx.write().expect("watch cache lock") = tx;
    }

    /// The newest revision the cache has seen.
    pub fn latest(&self) -> Revision {
        self.buffer.read().expect("watch cache lock").latest
    }

    /// The oldest revision a watcher can resume from without the store's help.
    pub fn oldest(&self) -> Revision {
        self.buffer.read().expect("watch cache lock").oldest
    }

    /// Subscribes to every event with a revision above `after`.
    pub fn subscribe_after(&self, after: Revision) -> Result<Subscription, TooOld> {
        let buf = self.buffer.read().expect("watch cache lock");
        if after < buf.oldest {
            return Err(TooOld { oldest: buf.oldest });
        }
        let live = self.tx.read().expect("watch cache lock").subscribe();
        let replay = buf
            .events
            .iter()
            .filter(|e| e.revision > after)
            .cloned()
            .collect();
        Ok(Subscription {
            replay,
            live,
            latest: buf.latest,
        })
    }

    /// Whether an event above `after` touched a key under `prefix`, as far as the cache has seen
    /// (up to the returned revision); None when events above `after` are no longer buffered.
    pub fn changed_since(&self, after: Revision, prefix: &str) -> Option<(bool, Revision)> {
        let buf = self.buffer.read().expect("watch cache lock");
        if after < buf.oldest {
            return None;
        }
        let changed = buf
            .events
            .iter()
            .rev()
            .take_while(|e| e.revision > after)
            .any(|e| e.key.starts_with(prefix));
        Some((changed, buf.latest.max(after)))
    }

    /// Waits until the cache has seen `revision` (bounded by `deadline`); true if it has.
    pub async fn wait_for(&self, revision: Revision, deadline: std::time::Duration) -> bool {
        let start = tokio::time::Instant::now();
        let mut rx = self.tx.read().expect("watch cache lock").subscribe();
        loop {
            if self.latest() >= revision {
                return true;
            }
            let left = deadline.saturating_sub(start.elapsed());
            if left.is_zero() {
                return false;
            }
            match tokio::time::timeout(left, rx.recv()).await {
                Ok(Ok(ev)) if ev.revision >= revision => return true,
                Ok(Ok(_)) | Ok(Err(broadcast::error::RecvError::Lagged(_))) => continue,
                Ok(Err(broadcast::error::RecvError::Closed)) | Err(_) => {
                    return self.latest() >= revision;
                }
            }
        }
    }
}
