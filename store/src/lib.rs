//! The store: a narrow key-value interface with etcd semantics.
//!
//! The API layer stores every object as JSON under a key such as
//! `/registry/core/pods/default/web-0`. The store's global revision is the object's
//! `resourceVersion`. Backends implement [`Store`]: [`embedded`] (the default, one process) and
//! [`etcd`] (API-server replicas, or tenants sharing one etcd); the API layer never sees which
//! one runs.
//!
//! The shapes follow what kube-apiserver asks of etcd (and what kine accepts): a create that fails
//! if the key exists, an update and a delete conditional on the key's `mod_revision`, a range
//! read at the current or an older revision, and a watch of every key from a revision on.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod embedded;
pub mod etcd;

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
#[cfg(feature = "conformance")]
pub mod etcd_harness;

use async_trait::async_trait;
use futures::stream::BoxStream;

/// A revision of the whole store. Strictly increasing, starts at 1 for the first write.
pub type Revision = i64;

/// One key with its value as of some revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyValue {
    /// The full key.
    pub key: String,
    /// The stored bytes (JSON for the API layer).
    pub value: Vec<u8>,
    /// The revision at which the key was created (last created, if deleted and re-created).
    pub create_revision: Revision,
    /// The revision of the last write to this key.
    pub mod_revision: Revision,
}

/// A change to one key, as a watch reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WatchEvent {
    /// The key did not exist and now does.
    Create(KeyValue),
    /// The key existed and has a new value.
    Update {
        /// The new value.
        kv: KeyValue,
        /// The value before.
        prev: KeyValue,
    },
    /// The key was deleted at `revision`; `prev` is its last value.
    Delete {
        /// The deletion's revision.
        revision: Revision,
        /// The value before the delete.
        prev: KeyValue,
    },
}

impl WatchEvent {
    /// The revision at which this event happened.
    pub fn revision(&self) -> Revision {
        match self {
            WatchEvent::Create(kv) | WatchEvent::Update { kv, .. } => kv.mod_revision,
            WatchEvent::Delete { revision, .. } => *revision,
        }
    }

    /// The key this event is about.
    pub fn key(&self) -> &str {
        match self {
            WatchEvent::Create(kv) | WatchEvent::Update { kv, .. } => &kv.key,
            WatchEvent::Delete { prev, .. } => &prev.key,
        }
    }
}

/// The result of a range read.
#[derive(Clone, Debug, Default)]
pub struct RangeResult {
    /// The keys found, in key order.
    pub kvs: Vec<KeyValue>,
    /// True when `limit` cut the result short.
    pub more: bool,
    /// The revision the read was served at.
    pub revision: Revision,
}

/// Errors a store can return.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A create found the key already there.
    #[error("key {0} already exists")]
    AlreadyExists(String),
    /// An update or delete found no such key.
    #[error("key {0} not found")]
    NotFound(String),
    /// An update or delete found the key at a different revision; `current` is what is there now.
    #[error("key {key} was modified (expected revision {expected})")]
    Conflict {
        /// The key.
        key: String,
        /// The revision the caller expected.
        expected: Revision,
        /// The value now stored.
        current: Box<KeyValue>,
    },
    /// The revision asked for has been compacted away.
    #[error("revision {requested} has been compacted (oldest kept: {compacted})")]
    Compacted {
        /// The revision asked for.
        requested: Revision,
        /// The compaction revision: history at or below it is gone.
        compacted: Revision,
    },
    /// The revision asked for is in the future.
    #[error("revision {requested} is newer than the current revision {current}")]
    FutureRevision {
        /// The revision asked for.
        requested: Revision,
        /// The current revision.
        current: Revision,
    },
    /// The store cannot be reached or failed; the request may be retried.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Anything else the backend reports.
    #[error("store error: {0}")]
    Internal(String),
}

/// A stream of watch events, in revision order, each exactly once.
pub type WatchStream = BoxStream<'static, Result<WatchEvent, StoreError>>;

/// The narrow store interface the API server needs.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The current revision (the revision of the last acknowledged write; 0 for an empty store).
    async fn current_revision(&self) -> Result<Revision, StoreError>;

    /// The latest value of one key.
    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError>;

    /// Keys that start with `prefix` and are `>= start` (empty: from the first), in key order,
    /// at most `limit` of them (0: no limit), as of `revision` (`None`: current).
    /// Fails with [`StoreError::Compacted`] for a revision below the compaction revision
    /// and [`StoreError::FutureRevision`] for one above the current revision.
    async fn range(
        &self,
        prefix: &str,
        start: &str,
        limit: usize,
        revision: Option<Revision>,
    ) -> Result<RangeResult, StoreError>;

    /// Creates `key`; fails with [`StoreError::AlreadyExists`] if it exists.
    async fn create(&self, key: &str, value: Vec<u8>) -> Result<KeyValue, StoreError>;

    /// Replaces `key` if its `mod_revision` is `expected`.
    async fn update(
        &self,
        key: &str,
        value: Vec<u8>,
        expected: Revision,
    ) -> Result<KeyValue, StoreError>;

    /// Deletes `key` if its `mod_revision` is `expected`; returns the deletion's revision and
    /// the last value.
    async fn delete(
        &self,
        key: &str,
        expected: Revision,
    ) -> Result<(Revision, KeyValue), StoreError>;

    /// Every event with a revision greater than `after`, in order, then live events as they
    /// happen. Fails with [`StoreError::Compacted`] if `after` is below the compaction revision.
    async fn watch(&self, after: Revision) -> Result<WatchStream, StoreError>;

    /// Drops history below `revision`; later reads and watches there fail with
    /// [`StoreError::Compacted`].
    async fn compact(&self, revision: Revision) -> Result<(), StoreError>;

    /// The compaction revision (0 if never compacted).
    async fn compacted_revision(&self) -> Result<Revision, StoreError>;
}
