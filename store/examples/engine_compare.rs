//! Compares the embedded engines considered for the store (redb, fjall) on the store's own
//! workload, then measures the [`EmbeddedStore`] built on redb through the [`Store`] trait.
//!
//! Every write is "store-shaped": one write of the current-state record, one event-log record
//! and the meta revision, atomically, durable (fsync/fdatasync) before it counts.
//!
//! ```text
//! cargo run --release -p warren-store --example engine_compare [-- <dir on the disk to test>]
//! ```
//!
//! The results are in docs/STORE.md.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use futures::{StreamExt, TryStreamExt};
use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use warren_store::Store;
use warren_store::embedded::EmbeddedStore;

/// Sequential commits of one write each.
const SINGLE_COMMITS: usize = 1_000;
/// Writes for the batched test, which also populate the keys read afterwards.
const BATCHED_WRITES: usize = 20_000;
/// Writes per commit in the batched test.
const BATCH: usize = 64;
/// Random point reads.
const READS: usize = 200_000;
/// Full scans of the populated keys.
const SCANS: usize = 20;
/// The size of a value (a typical small Kubernetes object as JSON).
const VALUE_BYTES: usize = 1024;

fn key(i: usize) -> String {
    format!("/registry/core/configmaps/default/cm-{i:08}")
}

fn value(i: usize) -> Vec<u8> {
    let mut v = format!("{{\"metadata\":{{\"name\":\"cm-{i}\"}},\"data\":{{\"x\":\"").into_bytes();
    v.resize(VALUE_BYTES - 3, b'x');
    v.extend_from_slice(b"\"}}");
    v
}

/// A fixed pseudo-random sequence (xorshift), so both engines read the same keys.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// What each engine must do.
trait Engine {
    fn name(&self) -> &'static str;
    /// Writes `writes` (index, revision) in one durable atomic commit.
    fn commit(&self, writes: &[(usize, u64)]);
    fn get(&self, i: usize) -> Option<usize>;
    /// Reads every state record in key order; returns how many.
    fn scan(&self) -> usize;
}

const STATE: TableDefinition<&str, &[u8]> = TableDefinition::new("state");
const LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("log");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

struct Redb(redb::Database);

impl Engine for Redb {
    fn name(&self) -> &'static str {
        "redb 4"
    }

    fn commit(&self, writes: &[(usize, u64)]) {
        let txn = self.0.begin_write().unwrap(); // Durability::Immediate is the default
        {
            let mut state = txn.open_table(STATE).unwrap();
            let mut log = txn.open_table(LOG).unwrap();
            let mut meta = txn.open_table(META).unwrap();
            for &(i, rev) in writes {
                let (k, v) = (key(i), value(i));
                // Read-before-write, as the store's precondition check does.
                let _ = state.get(k.as_str()).unwrap().map(|g| g.value().len());
                state.insert(k.as_str(), v.as_slice()).unwrap();
                log.insert(rev, v.as_slice()).unwrap();
                meta.insert("current", rev).unwrap();
            }
        }
        txn.commit().unwrap();
    }

    fn get(&self, i: usize) -> Option<usize> {
        let txn = self.0.begin_read().unwrap();
        let state = txn.open_table(STATE).unwrap();
        state.get(key(i).as_str()).unwrap().map(|g| g.value().len())
    }

    fn scan(&self) -> usize {
        let txn = self.0.begin_read().unwrap();
        let state = txn.open_table(STATE).unwrap();
        state
            .range("/registry/"..)
            .unwrap()
            .map(|e| e.unwrap().1.value().len())
            .filter(|&n| n > 0)
            .count()
    }
}

struct Fjall {
    db: fjall::Database,
    state: fjall::Keyspace,
    log: fjall::Keyspace,
    meta: fjall::Keyspace,
}

impl Engine for Fjall {
    fn name(&self) -> &'static str {
        "fjall 3"
    }

    fn commit(&self, writes: &[(usize, u64)]) {
        let mut batch = self
            .db
            .batch()
            .durability(Some(fjall::PersistMode::SyncData));
        for &(i, rev) in writes {
            let (k, v) = (key(i), value(i));
            let _ = self.state.get(&k).unwrap().map(|v| v.len());
            batch.insert(&self.state, k.as_str(), v.as_slice());
            batch.insert(&self.log, rev.to_be_bytes(), v.as_slice());
            batch.insert(&self.meta, "current", rev.to_be_bytes());
        }
        batch.commit().unwrap();
    }

    fn get(&self, i: usize) -> Option<usize> {
        self.state.get(key(i)).unwrap().map(|v| v.len())
    }

    fn scan(&self) -> usize {
        self.state
            .prefix("/registry/")
            .map(|g| g.into_inner().unwrap().1.len())
            .filter(|&n| n > 0)
            .count()
    }
}

/// Bytes allocated on disk (not the apparent size: both engines preallocate).
fn dir_bytes(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    for entry in std::fs::read_dir(path).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        total += if meta.is_dir() {
            dir_bytes(&entry.path())
        } else {
            meta.blocks() * 512
        };
    }
    total
}

fn run(engine: &dyn Engine, dir: &Path) {
    let mut rev = 0u64;
    let started = Instant::now();
    for i in 0..SINGLE_COMMITS {
        rev += 1;
        engine.commit(&[(1_000_000 + i, rev)]);
    }
    let single = SINGLE_COMMITS as f64 / started.elapsed().as_secs_f64();

    let started = Instant::now();
    let mut i = 0;
    while i < BATCHED_WRITES {
        let writes: Vec<(usize, u64)> = (i..(i + BATCH).min(BATCHED_WRITES))
            .map(|i| {
                rev += 1;
                (i, rev)
            })
            .collect();
        engine.commit(&writes);
        i += BATCH;
    }
    let batched = BATCHED_WRITES as f64 / started.elapsed().as_secs_f64();

    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let started = Instant::now();
    let mut found = 0;
    for _ in 0..READS {
        found += usize::from(engine.get(rng.below(BATCHED_WRITES)).is_some());
    }
    assert_eq!(found, READS);
    let reads = READS as f64 / started.elapsed().as_secs_f64();

    let started = Instant::now();
    for _ in 0..SCANS {
        assert_eq!(engine.scan(), BATCHED_WRITES + SINGLE_COMMITS);
    }
    let scanned =
        (SCANS * (BATCHED_WRITES + SINGLE_COMMITS)) as f64 / started.elapsed().as_secs_f64();

    println!(
        "| {} | {single:.0} | {batched:.0} ({:.0} commits/s) | {reads:.0} | {scanned:.0} | {:.1} |",
        engine.name(),
        batched / BATCH as f64,
        dir_bytes(dir) as f64 / (1 << 20) as f64,
    );
}

async fn run_store(dir: &Path) {
    let store = Arc::new(EmbeddedStore::open(dir).unwrap());
    let started = Instant::now();
    for i in 0..SINGLE_COMMITS {
        store.create(&key(1_000_000 + i), value(i)).await.unwrap();
    }
    let sequential = SINGLE_COMMITS as f64 / started.elapsed().as_secs_f64();

    for in_flight in [8, 64, 256] {
        let before = store.stats();
        let started = Instant::now();
        futures::stream::iter(0..BATCHED_WRITES)
            .map(|i| {
                let store = store.clone();
                async move {
                    store
                        .create(&format!("/c{in_flight}{}", key(i)), value(i))
                        .await
                }
            })
            .buffer_unordered(in_flight)
            .try_for_each(|_| async { Ok(()) })
            .await
            .unwrap();
        let rate = BATCHED_WRITES as f64 / started.elapsed().as_secs_f64();
        let after = store.stats();
        println!(
            "| EmbeddedStore, {in_flight} writers in flight | {rate:.0} writes/s | mean batch {:.1} |",
            (after.operations - before.operations) as f64 / (after.commits - before.commits) as f64
        );
    }
    println!("| EmbeddedStore, one writer at a time | {sequential:.0} writes/s | mean batch 1 |");

    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let started = Instant::now();
    for _ in 0..READS {
        let k = format!("/c64{}", key(rng.below(BATCHED_WRITES)));
        assert!(store.get(&k).await.unwrap().is_some());
    }
    let reads = READS as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    let res = store.range("/c64/", "", 500, None).await.unwrap();
    assert_eq!(res.kvs.len(), 500);
    let page = started.elapsed();
    let started = Instant::now();
    let res = store.range("/c64/", "", 0, None).await.unwrap();
    assert_eq!(res.kvs.len(), BATCHED_WRITES);
    let full = started.elapsed();
    println!(
        "| EmbeddedStore get | {reads:.0} reads/s | list 500 keys {:.1} ms, list {BATCHED_WRITES} keys {:.1} ms |",
        page.as_secs_f64() * 1e3,
        full.as_secs_f64() * 1e3
    );
}

fn main() {
    let base: PathBuf = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let scratch = tempfile::tempdir_in(&base).unwrap();
    println!(
        "engine comparison in {} ({SINGLE_COMMITS} single commits, {BATCHED_WRITES} writes in commits of {BATCH}, {READS} point reads, {SCANS} full scans; values {VALUE_BYTES} B)\n",
        scratch.path().display()
    );
    println!(
        "| engine | durable single-write commits/s | batched writes/s | point reads/s | scanned keys/s | disk MiB allocated |"
    );
    println!("|---|---|---|---|---|---|");

    let redb_dir = scratch.path().join("redb");
    std::fs::create_dir_all(&redb_dir).unwrap();
    let redb = redb::Database::builder()
        .set_cache_size(64 << 20)
        .create(redb_dir.join("bench.redb"))
        .unwrap();
    run(&Redb(redb), &redb_dir);

    let fjall_dir = scratch.path().join("fjall");
    let db = fjall::Database::builder(&fjall_dir)
        .cache_size(64 << 20)
        .open()
        .unwrap();
    let ks = |name| {
        db.keyspace(name, fjall::KeyspaceCreateOptions::default)
            .unwrap()
    };
    let engine = Fjall {
        state: ks("state"),
        log: ks("log"),
        meta: ks("meta"),
        db: db.clone(),
    };
    run(&engine, &fjall_dir);
    drop(engine);
    drop(db);

    println!();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run_store(&scratch.path().join("store")));
}
