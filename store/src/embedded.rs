//! The embedded backend: one [redb](https://docs.rs/redb) database file per tenant.
//!
//! # On disk
//!
//! [`EmbeddedStore::open`] takes a directory (the tenant API server passes
//! `<data-dir>/store`), creates it if needed and keeps one file in it, [`DATABASE_FILE`]
//! (`warren.redb`). The file holds three tables:
//!
//! - `state`: key → (create revision, mod revision, value): the current state, served to
//!   current reads without touching history;
//! - `log`: revision → event (kind, key, new value, previous value with its revisions): one
//!   record per successful write, used by watches to catch up and by reads at older revisions
//!   to undo later changes; trimmed by [`Store::compact`];
//! - `meta`: the current revision, the compaction revision and the file format version.
//!
//! # Writes
//!
//! One writer thread owns every write transaction. Callers send their operation over a
//! channel; the writer takes whatever is queued (up to [`EmbeddedOptions::max_batch_ops`]
//! operations or [`EmbeddedOptions::max_batch_bytes`] of values), applies the operations in one
//! transaction with consecutive revisions (each checks its own precondition; a failed
//! precondition fails only that operation), commits once with fsync durability
//! ([`redb::Durability::Immediate`]), publishes the events to live watchers and only then
//! answers the callers. A write is acknowledged only once it is on disk; many concurrent
//! writers share one fsync.
//!
//! # Watches
//!
//! A watch subscribes to the live event channel first, then replays the log from its start
//! revision, then follows the live channel, skipping what the replay already delivered. A
//! watcher too slow for the live channel falls back to the log from its last delivered
//! revision, so it never skips an event; only when compaction has removed that part of the log
//! does the stream end with [`StoreError::Compacted`] (the caller then re-lists).

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use async_trait::async_trait;
use futures::StreamExt;
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::{KeyValue, RangeResult, Revision, Store, StoreError, WatchEvent, WatchStream};

/// The name of the database file inside the directory given to [`EmbeddedStore::open`].
pub const DATABASE_FILE: &str = "warren.redb";

/// Current state: key → [`encode_state`] record.
const STATE: TableDefinition<&str, &[u8]> = TableDefinition::new("state");
/// Event log: revision → [`encode_event`] record.
const LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("log");
/// Store-wide numbers.
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

const META_CURRENT: &str = "current_revision";
const META_COMPACTED: &str = "compacted_revision";
const META_FORMAT: &str = "format_version";
/// The layout described in the module documentation.
const FORMAT_VERSION: u64 = 1;

/// The largest value accepted. A log record holds a value and its previous value, and redb
/// refuses records over 3 GiB; the API layer's own limit is far lower.
pub const MAX_VALUE_BYTES: usize = 512 << 20;

/// At most this many events per log read of a catching-up watch.
const REPLAY_CHUNK_EVENTS: usize = 512;
/// At most about this many value bytes per log read of a catching-up watch.
const REPLAY_CHUNK_BYTES: usize = 16 << 20;

/// Tuning of an [`EmbeddedStore`]. The defaults suit one tenant of a multi-tenant process.
#[derive(Clone, Debug)]
pub struct EmbeddedOptions {
    /// redb's page cache, in bytes (default 64 MiB).
    pub cache_bytes: usize,
    /// Most operations committed in one transaction (default 256).
    pub max_batch_ops: usize,
    /// A batch stops taking more operations once its values add up to this many bytes
    /// (default 16 MiB). A single larger operation still goes through alone.
    pub max_batch_bytes: usize,
    /// Committed batches kept for live watchers (default 1024). A watcher further behind falls
    /// back to reading the log.
    pub watch_buffer_batches: usize,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        EmbeddedOptions {
            cache_bytes: 64 << 20,
            max_batch_ops: 256,
            max_batch_bytes: 16 << 20,
            watch_buffer_batches: 1024,
        }
    }
}

/// The events of one committed batch, in revision order.
type EventBatch = Arc<[WatchEvent]>;

/// What the writer, the readers and the watches share.
struct Shared {
    db: Database,
    /// The revision of the last committed write. Stored after the commit, before publishing.
    current: AtomicI64,
    /// The compaction revision.
    compacted: AtomicI64,
    /// Write transactions committed since open.
    commits: AtomicU64,
    /// Operations answered by the writer since open (including failed preconditions).
    operations: AtomicU64,
}

/// Counters of the writer since the store was opened, e.g. for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EmbeddedStats {
    /// Write transactions committed (each one fsync).
    pub commits: u64,
    /// Write operations answered (creates, updates, deletes and compactions, failed or not).
    pub operations: u64,
}

/// The embedded [`Store`]: durable, group-committed, backed by one redb file.
///
/// Dropping it waits for the writer thread to finish the operations already queued, then
/// closes the file (watch streams do not keep it open: they end when the store is dropped).
pub struct EmbeddedStore {
    shared: Arc<Shared>,
    requests: Option<mpsc::Sender<Request>>,
    events: broadcast::Sender<EventBatch>,
    writer: Option<std::thread::JoinHandle<()>>,
    path: PathBuf,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedStore")
            .field("path", &self.path)
            .field(
                "current_revision",
                &self.shared.current.load(Ordering::SeqCst),
            )
            .finish_non_exhaustive()
    }
}

impl EmbeddedStore {
    /// Opens (creating if needed) the store in directory `path`, with default options.
    /// The data lives in `path/`[`DATABASE_FILE`].
    pub fn open(path: &Path) -> Result<EmbeddedStore, StoreError> {
        EmbeddedStore::open_with(path, EmbeddedOptions::default())
    }

    /// Opens (creating if needed) the store in directory `path` with `options`.
    pub fn open_with(path: &Path, options: EmbeddedOptions) -> Result<EmbeddedStore, StoreError> {
        std::fs::create_dir_all(path).map_err(|e| {
            StoreError::Unavailable(format!(
                "cannot create store directory {}: {e}",
                path.display()
            ))
        })?;
        let file = path.join(DATABASE_FILE);
        let db = Database::builder()
            .set_cache_size(options.cache_bytes)
            .create(&file)
            .map_err(|e| {
                StoreError::Unavailable(format!("cannot open store {}: {e}", file.display()))
            })?;
        let (current, compacted) = init_tables(&db).map_err(|e| match e {
            InitError::Backend(e) => {
                StoreError::Internal(format!("cannot initialise store {}: {e}", file.display()))
            }
            InitError::Format(found) => StoreError::Internal(format!(
                "store {} has format version {found}, this build reads {FORMAT_VERSION}",
                file.display()
            )),
        })?;
        let shared = Arc::new(Shared {
            db,
            current: AtomicI64::new(current),
            compacted: AtomicI64::new(compacted),
            commits: AtomicU64::new(0),
            operations: AtomicU64::new(0),
        });
        let (requests, receiver) = mpsc::channel(options.max_batch_ops.max(1) * 4);
        let (events, _) = broadcast::channel(options.watch_buffer_batches.max(1));
        let writer = {
            let shared = shared.clone();
            let events = events.clone();
            let limits = BatchLimits {
                ops: options.max_batch_ops.max(1),
                bytes: options.max_batch_bytes,
            };
            std::thread::Builder::new()
                .name("warren-store-writer".into())
                .spawn(move || run_writer(&shared, receiver, &events, limits))
                .map_err(|e| StoreError::Internal(format!("cannot start store writer: {e}")))?
        };
        tracing::debug!(path = %file.display(), revision = current, compacted, "store opened");
        Ok(EmbeddedStore {
            shared,
            requests: Some(requests),
            events,
            writer: Some(writer),
            path: file,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The writer's counters: `operations / commits` is the mean group-commit batch size.
    pub fn stats(&self) -> EmbeddedStats {
        EmbeddedStats {
            commits: self.shared.commits.load(Ordering::Relaxed),
            operations: self.shared.operations.load(Ordering::Relaxed),
        }
    }

    async fn submit(&self, op: Op) -> Result<Applied, StoreError> {
        if op.value_bytes() > MAX_VALUE_BYTES {
            return Err(StoreError::Internal(format!(
                "value of {} bytes exceeds the store's limit of {MAX_VALUE_BYTES}",
                op.value_bytes()
            )));
        }
        let stopped = || StoreError::Unavailable("the store writer has stopped".into());
        let requests = self.requests.as_ref().ok_or_else(stopped)?;
        let (reply, answer) = oneshot::channel();
        requests
            .send(Request { op, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

impl Drop for EmbeddedStore {
    fn drop(&mut self) {
        // Closing the channel lets the writer drain what is queued and stop.
        self.requests.take();
        if let Some(writer) = self.writer.take()
            && writer.join().is_err()
        {
            tracing::error!("store writer thread panicked");
        }
    }
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn current_revision(&self) -> Result<Revision, StoreError> {
        Ok(self.shared.current.load(Ordering::SeqCst))
    }

    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        let txn = self.shared.db.begin_read().map_err(backend)?;
        let state = txn.open_table(STATE).map_err(backend)?;
        let found = state.get(key).map_err(backend)?;
        found
            .map(|record| decode_state(key, record.value()))
            .transpose()
    }

    async fn range(
        &self,
        prefix: &str,
        start: &str,
        limit: usize,
        revision: Option<Revision>,
    ) -> Result<RangeResult, StoreError> {
        let shared = self.shared.clone();
        let prefix = prefix.to_owned();
        let start = start.to_owned();
        tokio::task::spawn_blocking(move || read_range(&shared, &prefix, &start, limit, revision))
            .await
            .map_err(|e| StoreError::Internal(format!("range read failed: {e}")))?
    }

    async fn create(&self, key: &str, value: Vec<u8>) -> Result<KeyValue, StoreError> {
        match self
            .submit(Op::Create {
                key: key.to_owned(),
                value,
            })
            .await?
        {
            Applied::Put(kv) => Ok(kv),
            other => Err(unexpected(other)),
        }
    }

    async fn update(
        &self,
        key: &str,
        value: Vec<u8>,
        expected: Revision,
    ) -> Result<KeyValue, StoreError> {
        match self
            .submit(Op::Update {
                key: key.to_owned(),
                value,
                expected,
            })
            .await?
        {
            Applied::Put(kv) => Ok(kv),
            other => Err(unexpected(other)),
        }
    }

    async fn delete(
        &self,
        key: &str,
        expected: Revision,
    ) -> Result<(Revision, KeyValue), StoreError> {
        match self
            .submit(Op::Delete {
                key: key.to_owned(),
                expected,
            })
            .await?
        {
            Applied::Deleted(revision, prev) => Ok((revision, prev)),
            other => Err(unexpected(other)),
        }
    }

    async fn watch(&self, after: Revision) -> Result<WatchStream, StoreError> {
        // Subscribe before looking at the revisions: whatever commits from here on reaches
        // this receiver, whatever committed before is in the log.
        let live = self.events.subscribe();
        let compacted = self.shared.compacted.load(Ordering::SeqCst);
        if after < compacted {
            return Err(StoreError::Compacted {
                requested: after,
                compacted,
            });
        }
        let current = self.shared.current.load(Ordering::SeqCst);
        let watch = Watch {
            shared: Arc::downgrade(&self.shared),
            live,
            next: after.saturating_add(1),
            pending: VecDeque::new(),
            // Nothing to replay when the watch starts at (or beyond) the head.
            replaying: after < current,
            done: false,
        };
        Ok(futures::stream::unfold(watch, |mut watch| async move {
            let item = watch.next_event().await?;
            Some((item, watch))
        })
        .boxed())
    }

    async fn compact(&self, revision: Revision) -> Result<(), StoreError> {
        match self.submit(Op::Compact { revision }).await? {
            Applied::Compacted => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    async fn compacted_revision(&self) -> Result<Revision, StoreError> {
        Ok(self.shared.compacted.load(Ordering::SeqCst))
    }
}

/// A redb failure: the store could not do its work (I/O, corruption, a full disk).
fn backend(e: impl Into<redb::Error>) -> StoreError {
    let e: redb::Error = e.into();
    match e {
        redb::Error::Io(_) | redb::Error::DatabaseAlreadyOpen => {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Internal(e.to_string()),
    }
}

fn unexpected(applied: Applied) -> StoreError {
    StoreError::Internal(format!("store writer answered with {applied:?}"))
}

enum InitError {
    Backend(redb::Error),
    Format(u64),
}

impl<E: Into<redb::Error>> From<E> for InitError {
    fn from(e: E) -> Self {
        InitError::Backend(e.into())
    }
}

/// Creates the tables if missing and returns the (current, compacted) revisions.
fn init_tables(db: &Database) -> Result<(Revision, Revision), InitError> {
    let txn = db.begin_write()?;
    let revisions;
    {
        txn.open_table(STATE)?;
        txn.open_table(LOG)?;
        let mut meta = txn.open_table(META)?;
        let format = meta.get(META_FORMAT)?.map(|v| v.value());
        match format {
            None => {
                meta.insert(META_FORMAT, FORMAT_VERSION)?;
            }
            Some(FORMAT_VERSION) => {}
            Some(other) => return Err(InitError::Format(other)),
        }
        let current = meta.get(META_CURRENT)?.map_or(0, |v| v.value());
        let compacted = meta.get(META_COMPACTED)?.map_or(0, |v| v.value());
        revisions = (to_revision(current), to_revision(compacted));
    }
    txn.commit()?;
    Ok(revisions)
}

fn to_revision(stored: u64) -> Revision {
    Revision::try_from(stored).unwrap_or(Revision::MAX)
}

/// Revisions are positive in every table; a negative one asked for maps below all of them.
fn to_stored(revision: Revision) -> u64 {
    u64::try_from(revision).unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// Records

const KIND_CREATE: u8 = 1;
const KIND_UPDATE: u8 = 2;
const KIND_DELETE: u8 = 3;

/// `create_revision u64 LE | mod_revision u64 LE | value`.
fn encode_state(kv: &KeyValue) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + kv.value.len());
    out.extend_from_slice(&to_stored(kv.create_revision).to_le_bytes());
    out.extend_from_slice(&to_stored(kv.mod_revision).to_le_bytes());
    out.extend_from_slice(&kv.value);
    out
}

fn decode_state(key: &str, record: &[u8]) -> Result<KeyValue, StoreError> {
    let mut reader = Reader::new(record);
    let create_revision = reader.revision()?;
    let mod_revision = reader.revision()?;
    Ok(KeyValue {
        key: key.to_owned(),
        value: reader.rest().to_vec(),
        create_revision,
        mod_revision,
    })
}

/// `kind u8 | key_len u32 LE | key | prev_create u64 LE | prev_mod u64 LE | value_len u32 LE |
/// value | prev_value`. A create has no previous value (zeros, empty); a delete has no value.
/// The event's own revision is the log key; a create's create revision is that revision, an
/// update keeps the previous create revision.
fn encode_event(event: &WatchEvent) -> Vec<u8> {
    let (kind, key, value, prev): (u8, &str, &[u8], Option<&KeyValue>) = match event {
        WatchEvent::Create(kv) => (KIND_CREATE, &kv.key, &kv.value, None),
        WatchEvent::Update { kv, prev } => (KIND_UPDATE, &kv.key, &kv.value, Some(prev)),
        WatchEvent::Delete { prev, .. } => (KIND_DELETE, &prev.key, &[], Some(prev)),
    };
    let prev_value: &[u8] = prev.map_or(&[], |p| &p.value);
    let mut out = Vec::with_capacity(29 + key.len() + value.len() + prev_value.len());
    out.push(kind);
    out.extend_from_slice(&len_u32(key.len()).to_le_bytes());
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(
        &prev
            .map_or(0, |p| to_stored(p.create_revision))
            .to_le_bytes(),
    );
    out.extend_from_slice(&prev.map_or(0, |p| to_stored(p.mod_revision)).to_le_bytes());
    out.extend_from_slice(&len_u32(value.len()).to_le_bytes());
    out.extend_from_slice(value);
    out.extend_from_slice(prev_value);
    out
}

fn len_u32(len: usize) -> u32 {
    // Keys and values are far below 4 GiB: redb itself refuses larger values.
    u32::try_from(len).expect("record field below 4 GiB")
}

/// The key of a log record, without decoding the rest.
fn event_key(record: &[u8]) -> Result<&str, StoreError> {
    let mut reader = Reader::new(record);
    reader.byte()?;
    reader.string()
}

fn decode_event(revision: Revision, record: &[u8]) -> Result<WatchEvent, StoreError> {
    let mut reader = Reader::new(record);
    let kind = reader.byte()?;
    let key = reader.string()?.to_owned();
    let prev_create = reader.revision()?;
    let prev_mod = reader.revision()?;
    let value_len = reader.u32()? as usize;
    let value = reader.take(value_len)?.to_vec();
    let prev_value = reader.rest().to_vec();
    let prev = |key: String| KeyValue {
        key,
        value: prev_value,
        create_revision: prev_create,
        mod_revision: prev_mod,
    };
    match kind {
        KIND_CREATE => Ok(WatchEvent::Create(KeyValue {
            key,
            value,
            create_revision: revision,
            mod_revision: revision,
        })),
        KIND_UPDATE => Ok(WatchEvent::Update {
            kv: KeyValue {
                key: key.clone(),
                value,
                create_revision: prev_create,
                mod_revision: revision,
            },
            prev: prev(key),
        }),
        KIND_DELETE => Ok(WatchEvent::Delete {
            revision,
            prev: prev(key),
        }),
        other => Err(corrupt(format!(
            "unknown event kind {other} at revision {revision}"
        ))),
    }
}

/// The key's state just before `event`: what undoing it restores.
fn state_before(event: WatchEvent) -> Option<KeyValue> {
    match event {
        WatchEvent::Create(_) => None,
        WatchEvent::Update { prev, .. } | WatchEvent::Delete { prev, .. } => Some(prev),
    }
}

fn corrupt(what: String) -> StoreError {
    StoreError::Internal(format!("corrupt store record: {what}"))
}

/// Reads the fixed-layout records above.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(record: &'a [u8]) -> Self {
        Reader { rest: record }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], StoreError> {
        if self.rest.len() < n {
            return Err(corrupt(format!(
                "{} bytes left, {n} needed",
                self.rest.len()
            )));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, StoreError> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, StoreError> {
        let bytes = self.take(4)?;
        Ok(u32::from_le_bytes(bytes.try_into().expect("4 bytes")))
    }

    fn revision(&mut self) -> Result<Revision, StoreError> {
        let bytes = self.take(8)?;
        Ok(to_revision(u64::from_le_bytes(
            bytes.try_into().expect("8 bytes"),
        )))
    }

    fn string(&mut self) -> Result<&'a str, StoreError> {
        let len = self.u32()? as usize;
        std::str::from_utf8(self.take(len)?).map_err(|e| corrupt(format!("key is not UTF-8: {e}")))
    }

    fn rest(self) -> &'a [u8] {
        self.rest
    }
}

// ---------------------------------------------------------------------------------------------
// Writer

/// One write, as sent to the writer thread.
#[derive(Debug)]
enum Op {
    Create {
        key: String,
        value: Vec<u8>,
    },
    Update {
        key: String,
        value: Vec<u8>,
        expected: Revision,
    },
    Delete {
        key: String,
        expected: Revision,
    },
    Compact {
        revision: Revision,
    },
}

impl Op {
    fn value_bytes(&self) -> usize {
        match self {
            Op::Create { key, value } | Op::Update { key, value, .. } => key.len() + value.len(),
            Op::Delete { key, .. } => key.len(),
            Op::Compact { .. } => 0,
        }
    }
}

/// A successful write's answer.
#[derive(Debug)]
enum Applied {
    Put(KeyValue),
    Deleted(Revision, KeyValue),
    Compacted,
}

struct Request {
    op: Op,
    reply: oneshot::Sender<Result<Applied, StoreError>>,
}

#[derive(Clone, Copy)]
struct BatchLimits {
    ops: usize,
    bytes: usize,
}

fn run_writer(
    shared: &Shared,
    mut requests: mpsc::Receiver<Request>,
    events: &broadcast::Sender<EventBatch>,
    limits: BatchLimits,
) {
    while let Some(first) = requests.blocking_recv() {
        let mut bytes = first.op.value_bytes();
        let mut batch = vec![first];
        while batch.len() < limits.ops && bytes < limits.bytes {
            match requests.try_recv() {
                Ok(next) => {
                    bytes += next.op.value_bytes();
                    batch.push(next);
                }
                Err(_) => break,
            }
        }
        commit_batch(shared, events, batch);
    }
}

/// What one committed batch changed.
struct BatchOutcome {
    answers: Vec<Result<Applied, StoreError>>,
    events: Vec<WatchEvent>,
    revision: Revision,
    compacted: Revision,
    /// False when nothing changed and the transaction was abandoned.
    committed: bool,
}

fn commit_batch(shared: &Shared, events: &broadcast::Sender<EventBatch>, batch: Vec<Request>) {
    let (ops, replies): (Vec<Op>, Vec<_>) = batch.into_iter().map(|r| (r.op, r.reply)).unzip();
    let current = shared.current.load(Ordering::SeqCst);
    let compacted = shared.compacted.load(Ordering::SeqCst);
    match apply_batch(&shared.db, current, compacted, ops) {
        Ok(outcome) => {
            // Order matters to watches: the revision is visible before the events are sent,
            // and the events are sent before any writer hears back.
            shared.current.store(outcome.revision, Ordering::SeqCst);
            shared.compacted.store(outcome.compacted, Ordering::SeqCst);
            if outcome.committed {
                shared.commits.fetch_add(1, Ordering::Relaxed);
            }
            shared
                .operations
                .fetch_add(replies.len() as u64, Ordering::Relaxed);
            if !outcome.events.is_empty() {
                // No receiver is fine: nobody watches.
                let _ = events.send(outcome.events.into());
            }
            for (reply, answer) in replies.into_iter().zip(outcome.answers) {
                let _ = reply.send(answer);
            }
        }
        Err(e) => {
            tracing::error!(error = %e, operations = replies.len(), "store write transaction failed");
            let unavailable = matches!(e, redb::Error::Io(_));
            for reply in replies {
                let message = format!("write transaction failed: {e}");
                let _ = reply.send(Err(if unavailable {
                    StoreError::Unavailable(message)
                } else {
                    StoreError::Internal(message)
                }));
            }
        }
    }
}

/// Applies `ops` in one transaction starting after revision `current`; commits it durably
/// when anything changed.
fn apply_batch(
    db: &Database,
    current: Revision,
    compacted: Revision,
    ops: Vec<Op>,
) -> Result<BatchOutcome, redb::Error> {
    let mut txn = db.begin_write()?;
    txn.set_durability(Durability::Immediate)?;
    let mut outcome = BatchOutcome {
        answers: Vec::with_capacity(ops.len()),
        events: Vec::new(),
        revision: current,
        compacted,
        committed: false,
    };
    {
        let mut state = txn.open_table(STATE)?;
        let mut log = txn.open_table(LOG)?;
        let mut meta = txn.open_table(META)?;
        let read = |state: &redb::Table<&str, &[u8]>, key: &str| -> Result<_, redb::Error> {
            Ok(state
                .get(key)?
                .map(|record| decode_state(key, record.value())))
        };
        for op in ops {
            let revision = outcome.revision + 1;
            let answer = match op {
                Op::Create { key, value } => match read(&state, &key)? {
                    Some(_) => Err(StoreError::AlreadyExists(key)),
                    None => {
                        let kv = KeyValue {
                            key,
                            value,
                            create_revision: revision,
                            mod_revision: revision,
                        };
                        let event = WatchEvent::Create(kv.clone());
                        state.insert(kv.key.as_str(), encode_state(&kv).as_slice())?;
                        log.insert(to_stored(revision), encode_event(&event).as_slice())?;
                        outcome.events.push(event);
                        outcome.revision = revision;
                        Ok(Applied::Put(kv))
                    }
                },
                Op::Update {
                    key,
                    value,
                    expected,
                } => match read(&state, &key)? {
                    None => Err(StoreError::NotFound(key)),
                    Some(Err(e)) => Err(e),
                    Some(Ok(prev)) if prev.mod_revision != expected => Err(StoreError::Conflict {
                        key,
                        expected,
                        current: Box::new(prev),
                    }),
                    Some(Ok(prev)) => {
                        let kv = KeyValue {
                            key,
                            value,
                            create_revision: prev.create_revision,
                            mod_revision: revision,
                        };
                        state.insert(kv.key.as_str(), encode_state(&kv).as_slice())?;
                        let event = WatchEvent::Update {
                            kv: kv.clone(),
                            prev,
                        };
                        log.insert(to_stored(revision), encode_event(&event).as_slice())?;
                        outcome.events.push(event);
                        outcome.revision = revision;
                        Ok(Applied::Put(kv))
                    }
                },
                Op::Delete { key, expected } => match read(&state, &key)? {
                    None => Err(StoreError::NotFound(key)),
                    Some(Err(e)) => Err(e),
                    Some(Ok(prev)) if prev.mod_revision != expected => Err(StoreError::Conflict {
                        key,
                        expected,
                        current: Box::new(prev),
                    }),
                    Some(Ok(prev)) => {
                        state.remove(key.as_str())?;
                        let event = WatchEvent::Delete {
                            revision,
                            prev: prev.clone(),
                        };
                        log.insert(to_stored(revision), encode_event(&event).as_slice())?;
                        outcome.events.push(event);
                        outcome.revision = revision;
                        Ok(Applied::Deleted(revision, prev))
                    }
                },
                Op::Compact { revision: target } => {
                    if target > outcome.revision {
                        Err(StoreError::FutureRevision {
                            requested: target,
                            current: outcome.revision,
                        })
                    } else {
                        if target > outcome.compacted {
                            log.retain_in(..to_stored(target), |_, _| false)?;
                            outcome.compacted = target;
                        }
                        Ok(Applied::Compacted)
                    }
                }
            };
            outcome.answers.push(answer);
        }
        if outcome.revision != current {
            meta.insert(META_CURRENT, to_stored(outcome.revision))?;
        }
        if outcome.compacted != compacted {
            meta.insert(META_COMPACTED, to_stored(outcome.compacted))?;
        }
    }
    if outcome.revision == current && outcome.compacted == compacted {
        txn.abort()?;
    } else {
        txn.commit()?;
        outcome.committed = true;
    }
    Ok(outcome)
}

// ---------------------------------------------------------------------------------------------
// Reads

/// One range read, in one read transaction (one snapshot).
fn read_range(
    shared: &Shared,
    prefix: &str,
    start: &str,
    limit: usize,
    revision: Option<Revision>,
) -> Result<RangeResult, StoreError> {
    let txn = shared.db.begin_read().map_err(backend)?;
    let meta = txn.open_table(META).map_err(backend)?;
    let current = to_revision(
        meta.get(META_CURRENT)
            .map_err(backend)?
            .map_or(0, |v| v.value()),
    );
    let compacted = to_revision(
        meta.get(META_COMPACTED)
            .map_err(backend)?
            .map_or(0, |v| v.value()),
    );
    let at = match revision {
        None => current,
        Some(r) if r > current => {
            return Err(StoreError::FutureRevision {
                requested: r,
                current,
            });
        }
        Some(r) if r < compacted => {
            return Err(StoreError::Compacted {
                requested: r,
                compacted,
            });
        }
        Some(r) => r,
    };
    let lower = if start > prefix { start } else { prefix };
    let in_range = |key: &str| key.starts_with(prefix) && key >= lower;

    // For an older revision: the state before the first later event of each key in range.
    let mut undone: BTreeMap<String, Option<KeyValue>> = BTreeMap::new();
    if at < current {
        let log = txn.open_table(LOG).map_err(backend)?;
        for entry in log.range(to_stored(at) + 1..).map_err(backend)? {
            let (revision, record) = entry.map_err(backend)?;
            let record = record.value();
            let key = event_key(record)?;
            if in_range(key) && !undone.contains_key(key) {
                let event = decode_event(to_revision(revision.value()), record)?;
                undone.insert(key.to_owned(), state_before(event));
            }
        }
    }

    let state = txn.open_table(STATE).map_err(backend)?;
    let mut current_iter = state.range(lower..).map_err(backend)?;
    let mut next_current = || -> Result<Option<KeyValue>, StoreError> {
        match current_iter.next() {
            Some(entry) => {
                let (key, record) = entry.map_err(backend)?;
                let key = key.value();
                if key.starts_with(prefix) {
                    decode_state(key, record.value()).map(Some)
                } else {
                    Ok(None)
                }
            }
            None => Ok(None),
        }
    };
    let mut undone = undone.into_iter().peekable();
    let mut head = next_current()?;
    let mut kvs = Vec::new();
    while limit == 0 || kvs.len() <= limit {
        let from_current = match (&head, undone.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(kv), Some((key, _))) => {
                if kv.key == *key {
                    // The older state replaces the current one.
                    head = next_current()?;
                    false
                } else {
                    kv.key < *key
                }
            }
        };
        if from_current {
            kvs.extend(head.take());
            head = next_current()?;
        } else if let Some((_, older)) = undone.next() {
            kvs.extend(older);
        }
    }
    let more = limit > 0 && kvs.len() > limit;
    if more {
        kvs.truncate(limit);
    }
    Ok(RangeResult {
        kvs,
        more,
        revision: at,
    })
}

/// Events from revision `from` on, at most a chunk of them, from the log.
fn read_log(shared: &Shared, from: Revision) -> Result<Vec<WatchEvent>, StoreError> {
    let txn = shared.db.begin_read().map_err(backend)?;
    let meta = txn.open_table(META).map_err(backend)?;
    let compacted = to_revision(
        meta.get(META_COMPACTED)
            .map_err(backend)?
            .map_or(0, |v| v.value()),
    );
    if from <= compacted {
        return Err(StoreError::Compacted {
            requested: from - 1,
            compacted,
        });
    }
    let log = txn.open_table(LOG).map_err(backend)?;
    let mut events = Vec::new();
    let mut bytes = 0;
    for (expected, entry) in (from..).zip(log.range(to_stored(from)..).map_err(backend)?) {
        let (revision, record) = entry.map_err(backend)?;
        let revision = to_revision(revision.value());
        if revision != expected {
            return Err(corrupt(format!(
                "event log jumps from revision {} to {revision}",
                expected - 1
            )));
        }
        let record = record.value();
        bytes += record.len();
        events.push(decode_event(revision, record)?);
        if events.len() >= REPLAY_CHUNK_EVENTS || bytes >= REPLAY_CHUNK_BYTES {
            break;
        }
    }
    Ok(events)
}

// ---------------------------------------------------------------------------------------------
// Watches

/// The state of one watch stream.
struct Watch {
    /// Weak: a watch does not keep a dropped store's file open.
    shared: Weak<Shared>,
    live: broadcast::Receiver<EventBatch>,
    /// The revision of the next event to hand out.
    next: Revision,
    /// Events read but not yet handed out, in order, starting at `next`.
    pending: VecDeque<WatchEvent>,
    /// Reading the log (catching up) rather than the live channel.
    replaying: bool,
    /// The stream has ended.
    done: bool,
}

impl Watch {
    async fn next_event(&mut self) -> Option<Result<WatchEvent, StoreError>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                self.next = event.revision() + 1;
                return Some(Ok(event));
            }
            if self.done {
                return None;
            }
            if self.replaying {
                let shared = self.shared.upgrade()?;
                let from = self.next;
                let chunk = tokio::task::spawn_blocking(move || read_log(&shared, from))
                    .await
                    .map_err(|e| StoreError::Internal(format!("watch log read failed: {e}")))
                    .and_then(|chunk| chunk);
                match chunk {
                    // Caught up with the log: everything newer comes through the live channel.
                    Ok(chunk) if chunk.is_empty() => self.replaying = false,
                    Ok(chunk) => self.pending.extend(chunk),
                    Err(e) => {
                        self.done = true;
                        return Some(Err(e));
                    }
                }
                continue;
            }
            match self.live.recv().await {
                Ok(batch) => {
                    for event in batch.iter() {
                        let revision = event.revision();
                        let expected = self.next + self.pending.len() as Revision;
                        if revision < expected {
                            continue; // already handed out from the log
                        }
                        if revision > expected {
                            // Never skip: fetch the missing part from the log.
                            self.pending.clear();
                            self.replaying = true;
                            break;
                        }
                        self.pending.push_back(event.clone());
                    }
                }
                // Too slow for the live channel: catch up from the log again.
                Err(broadcast::error::RecvError::Lagged(_)) => self.replaying = true,
                // The store is gone.
                Err(broadcast::error::RecvError::Closed) => self.done = true,
            }
        }
    }
}

#[cfg(test)]
mod tests;
