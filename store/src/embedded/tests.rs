//! The conformance suite against [`EmbeddedStore`], plus what is particular to it.

use std::sync::Arc;

use futures::StreamExt;

use super::*;
use crate::conformance;

fn open_fresh() -> (tempfile::TempDir, Arc<dyn Store>) {
    open_fresh_with(EmbeddedOptions::default())
}

fn open_fresh_with(options: EmbeddedOptions) -> (tempfile::TempDir, Arc<dyn Store>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open_with(&dir.path().join("store"), options).expect("open store");
    (dir, Arc::new(store))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revisions_are_monotonic() {
    let (_dir, store) = open_fresh();
    assert_eq!(store.current_revision().await.unwrap(), 0);
    conformance::revisions_are_monotonic(store.clone()).await;
    // A fresh store starts at 1.
    assert_eq!(
        store
            .get("/conformance/monotonic/0/a")
            .await
            .unwrap()
            .unwrap()
            .create_revision,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_rejects_existing() {
    let (_dir, store) = open_fresh();
    conformance::create_rejects_existing(&*store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_writes() {
    let (_dir, store) = open_fresh();
    conformance::conditional_writes(&*store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_at_older_revisions() {
    let (_dir, store) = open_fresh();
    conformance::reads_at_older_revisions(&*store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paginated_range_is_consistent() {
    let (_dir, store) = open_fresh();
    conformance::paginated_range_is_consistent(&*store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_winner_among_concurrent_updates() {
    let (_dir, store) = open_fresh();
    conformance::one_winner_among_concurrent_updates(store, 32).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_delivers_every_event() {
    let (_dir, store) = open_fresh();
    conformance::watch_delivers_every_event(&*store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_seam_under_concurrent_writes() {
    let (_dir, store) = open_fresh();
    conformance::watch_seam_under_concurrent_writes(store, 16, 40).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_seam_with_a_tiny_live_buffer() {
    // Two batches of live buffer: watchers lag all the time and must catch up from the log.
    let (_dir, store) = open_fresh_with(EmbeddedOptions {
        watch_buffer_batches: 2,
        ..EmbeddedOptions::default()
    });
    conformance::watch_seam_under_concurrent_writes(store, 8, 30).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_watcher_catches_up_from_the_log() {
    let (_dir, store) = open_fresh_with(EmbeddedOptions {
        watch_buffer_batches: 4,
        ..EmbeddedOptions::default()
    });
    assert!(
        conformance::slow_watcher_never_skips(&*store, 100).await,
        "the embedded store recovers a lagging watcher from its log"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_watcher_fails_once_its_history_is_compacted() {
    let (_dir, store) = open_fresh_with(EmbeddedOptions {
        watch_buffer_batches: 2,
        ..EmbeddedOptions::default()
    });
    let mut stream = store.watch(0).await.unwrap();
    let mut kv = store.create("/k", b"0".to_vec()).await.unwrap();
    for i in 1..20 {
        kv = store
            .update("/k", i.to_string().into_bytes(), kv.mod_revision)
            .await
            .unwrap();
    }
    store.compact(10).await.unwrap();
    match stream.next().await {
        Some(Err(StoreError::Compacted {
            requested,
            compacted,
        })) => assert_eq!((requested, compacted), (0, 10)),
        other => panic!("expected Compacted, got {other:?}"),
    }
    assert!(stream.next().await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction() {
    let (_dir, store) = open_fresh();
    conformance::compaction(&*store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_values() {
    let (_dir, store) = open_fresh();
    conformance::large_values(store, 1536 * 1024).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_keys() {
    let (_dir, store) = open_fresh();
    conformance::many_keys(store, 100_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_persistence() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store");
    conformance::restart_persistence(|| {
        let path = path.clone();
        async move {
            let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(&path).expect("reopen"));
            store
        }
    })
    .await;
    assert!(path.join(DATABASE_FILE).is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_open_of_the_same_store_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _first = EmbeddedStore::open(dir.path()).unwrap();
    match EmbeddedStore::open(dir.path()) {
        Err(StoreError::Unavailable(_)) => {}
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watches_end_when_the_store_is_dropped() {
    let (_dir, store) = open_fresh();
    let mut stream = store.watch(0).await.unwrap();
    store.create("/a", b"1".to_vec()).await.unwrap();
    assert!(matches!(
        stream.next().await,
        Some(Ok(WatchEvent::Create(_)))
    ));
    drop(store);
    assert!(stream.next().await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_from_the_future_waits_for_its_revision() {
    let (_dir, store) = open_fresh();
    let mut stream = store.watch(2).await.unwrap();
    for i in 0..4 {
        store
            .create(&format!("/k{i}"), b"v".to_vec())
            .await
            .unwrap();
    }
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.revision(), 3);
    assert_eq!(first.key(), "/k2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_share_commits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    let writes = 256;
    let barrier = Arc::new(tokio::sync::Barrier::new(writes));
    let tasks: Vec<_> = (0..writes)
        .map(|i| {
            let store = store.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                store.create(&format!("/k{i}"), b"v".to_vec()).await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let stats = store.stats();
    assert_eq!(stats.operations, writes as u64);
    assert!(
        stats.commits < stats.operations,
        "no two of {writes} concurrent writes shared a commit: {stats:?}"
    );
    // A batch of only failed preconditions commits nothing.
    assert!(store.create("/k0", b"v".to_vec()).await.is_err());
    assert_eq!(store.stats().commits, stats.commits);
}

#[test]
fn records_round_trip() {
    let kv = |key: &str, value: &[u8], create, modify| KeyValue {
        key: key.into(),
        value: value.to_vec(),
        create_revision: create,
        mod_revision: modify,
    };
    let state = kv("/a/b", b"{\"x\":1}", 3, 7);
    assert_eq!(decode_state("/a/b", &encode_state(&state)).unwrap(), state);
    let events = [
        WatchEvent::Create(kv("/a", b"v", 5, 5)),
        WatchEvent::Update {
            kv: kv("/a", b"w", 5, 9),
            prev: kv("/a", b"v", 5, 5),
        },
        WatchEvent::Delete {
            revision: 12,
            prev: kv("/a", b"", 5, 9),
        },
    ];
    for event in events {
        let record = encode_event(&event);
        assert_eq!(event_key(&record).unwrap(), "/a");
        assert_eq!(decode_event(event.revision(), &record).unwrap(), event);
    }
    assert!(decode_event(1, &[9, 0]).is_err());
    assert!(decode_state("/a", &[1, 2, 3]).is_err());
}
