//! The store conformance suite: what every [`Store`] backend must do, as checks that panic on
//! the first deviation.
//!
//! Built for this crate's tests and, with the `conformance` feature, for other backends (the
//! etcd backend runs the same checks against a real etcd). Each check expects a store that
//! nobody else writes to while it runs, so that revisions are consecutive; the store may
//! already hold data (each check writes under its own fresh prefix). [`compaction`] compacts
//! the whole store, so run it on a store whose history nothing else needs.
//!
//! Waiting on watches is bounded by a deadline ([`WATCH_DEADLINE`]), never by sleeps.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};

use crate::{KeyValue, Revision, Store, StoreError, WatchEvent, WatchStream};

/// The longest any check waits for a watch to deliver what it expects.
pub const WATCH_DEADLINE: Duration = Duration::from_secs(60);

/// A prefix no earlier run of `check` on this store has used.
async fn fresh_prefix(store: &dyn Store, check: &str) -> String {
    let revision = store.current_revision().await.expect("current revision");
    format!("/conformance/{check}/{revision}/")
}

async fn current(store: &dyn Store) -> Revision {
    store.current_revision().await.expect("current revision")
}

/// The whole of `prefix` at `revision` (`None`: now), as a map.
async fn snapshot(
    store: &dyn Store,
    prefix: &str,
    revision: Option<Revision>,
) -> BTreeMap<String, KeyValue> {
    let res = store
        .range(prefix, "", 0, revision)
        .await
        .unwrap_or_else(|e| panic!("range {prefix} at {revision:?}: {e}"));
    assert!(!res.more, "an unlimited range reports more");
    if let Some(r) = revision {
        assert_eq!(res.revision, r, "range served at another revision");
    }
    let keys: Vec<&str> = res.kvs.iter().map(|kv| kv.key.as_str()).collect();
    assert!(
        keys.windows(2).all(|w| w[0] < w[1]),
        "range not in key order: {keys:?}"
    );
    res.kvs.into_iter().map(|kv| (kv.key.clone(), kv)).collect()
}

/// Reads `stream` until it has delivered the event at revision `until`, checking that every
/// event is the next revision after `after`. Panics on an error, a gap, an end or the deadline.
async fn collect_until(
    stream: &mut WatchStream,
    after: Revision,
    until: Revision,
) -> Vec<WatchEvent> {
    let mut events = Vec::new();
    let mut expected = after + 1;
    let read = async {
        while expected <= until {
            match stream.next().await {
                Some(Ok(event)) => {
                    assert_eq!(
                        event.revision(),
                        expected,
                        "watch from {after}: expected revision {expected}, got {event:?}"
                    );
                    expected += 1;
                    events.push(event);
                }
                Some(Err(e)) => panic!("watch from {after} failed at revision {expected}: {e}"),
                None => panic!("watch from {after} ended before revision {expected}"),
            }
        }
    };
    tokio::time::timeout(WATCH_DEADLINE, read)
        .await
        .unwrap_or_else(|_| panic!("watch from {after} did not reach revision {until} in time"));
    events
}

/// The event a successful write should produce.
fn created(kv: &KeyValue) -> WatchEvent {
    WatchEvent::Create(kv.clone())
}

fn updated(kv: &KeyValue, prev: &KeyValue) -> WatchEvent {
    WatchEvent::Update {
        kv: kv.clone(),
        prev: prev.clone(),
    }
}

/// Revisions start after the current one, grow by exactly one per successful write, and are
/// the `mod_revision` (and, for creates, `create_revision`) of what was written; concurrent
/// writes get distinct consecutive revisions.
pub async fn revisions_are_monotonic(store: Arc<dyn Store>) {
    let store_ref = &*store;
    let prefix = fresh_prefix(store_ref, "monotonic").await;
    let r0 = current(store_ref).await;
    let a = store_ref
        .create(&format!("{prefix}a"), b"1".to_vec())
        .await
        .unwrap();
    assert_eq!((a.create_revision, a.mod_revision), (r0 + 1, r0 + 1));
    let b = store_ref
        .create(&format!("{prefix}b"), b"1".to_vec())
        .await
        .unwrap();
    assert_eq!((b.create_revision, b.mod_revision), (r0 + 2, r0 + 2));
    let a2 = store_ref
        .update(&a.key, b"2".to_vec(), a.mod_revision)
        .await
        .unwrap();
    assert_eq!((a2.create_revision, a2.mod_revision), (r0 + 1, r0 + 3));
    let (deleted_at, prev) = store_ref.delete(&b.key, b.mod_revision).await.unwrap();
    assert_eq!(deleted_at, r0 + 4);
    assert_eq!(prev, b);
    assert_eq!(current(store_ref).await, r0 + 4);
    assert_eq!(store_ref.get(&a.key).await.unwrap(), Some(a2.clone()));
    assert_eq!(store_ref.get(&b.key).await.unwrap(), None);
    let res = store_ref.range(&prefix, "", 0, None).await.unwrap();
    assert_eq!(res.kvs, vec![a2]);
    assert_eq!(res.revision, r0 + 4);

    // Concurrent writes: distinct, consecutive.
    let writers = 32;
    let r1 = current(store_ref).await;
    let tasks: Vec<_> = (0..writers)
        .map(|i| {
            let store = store.clone();
            let key = format!("{prefix}concurrent/{i:03}");
            tokio::spawn(async move { store.create(&key, vec![b'x'; 10]).await })
        })
        .collect();
    let mut revisions = Vec::new();
    for task in tasks {
        let kv = task.await.expect("writer task").expect("concurrent create");
        assert_eq!(kv.create_revision, kv.mod_revision);
        revisions.push(kv.mod_revision);
    }
    revisions.sort_unstable();
    let expected: Vec<Revision> = (r1 + 1..=r1 + writers).collect();
    assert_eq!(
        revisions, expected,
        "concurrent writes did not get consecutive revisions"
    );
    assert_eq!(current(store_ref).await, r1 + writers);
}

/// A create of an existing key fails with [`StoreError::AlreadyExists`] and changes nothing;
/// a deleted key can be created again, with a new `create_revision`.
pub async fn create_rejects_existing(store: &dyn Store) {
    let prefix = fresh_prefix(store, "create").await;
    let key = format!("{prefix}k");
    let first = store.create(&key, b"one".to_vec()).await.unwrap();
    let before = current(store).await;
    match store.create(&key, b"two".to_vec()).await {
        Err(StoreError::AlreadyExists(k)) => assert_eq!(k, key),
        other => panic!("second create: expected AlreadyExists, got {other:?}"),
    }
    assert_eq!(
        current(store).await,
        before,
        "a failed create used a revision"
    );
    assert_eq!(store.get(&key).await.unwrap(), Some(first.clone()));
    store.delete(&key, first.mod_revision).await.unwrap();
    let again = store.create(&key, b"three".to_vec()).await.unwrap();
    assert_eq!(again.create_revision, before + 2);
    assert_eq!(again.mod_revision, before + 2);
    assert_eq!(again.value, b"three");
}

/// Updates and deletes succeed only at the expected `mod_revision`: otherwise
/// [`StoreError::Conflict`] carrying what is stored, or [`StoreError::NotFound`]; a failed
/// write changes nothing.
pub async fn conditional_writes(store: &dyn Store) {
    let prefix = fresh_prefix(store, "conditional").await;
    let key = format!("{prefix}k");
    let missing = format!("{prefix}missing");
    let kv = store.create(&key, b"v1".to_vec()).await.unwrap();
    let kv2 = store
        .update(&key, b"v2".to_vec(), kv.mod_revision)
        .await
        .unwrap();
    let before = current(store).await;

    match store.update(&key, b"stale".to_vec(), kv.mod_revision).await {
        Err(StoreError::Conflict {
            key: k,
            expected,
            current,
        }) => {
            assert_eq!(k, key);
            assert_eq!(expected, kv.mod_revision);
            assert_eq!(*current, kv2, "conflict must carry the stored value");
        }
        other => panic!("stale update: expected Conflict, got {other:?}"),
    }
    match store.delete(&key, kv.mod_revision).await {
        Err(StoreError::Conflict { current, .. }) => assert_eq!(*current, kv2),
        other => panic!("stale delete: expected Conflict, got {other:?}"),
    }
    match store.update(&missing, b"x".to_vec(), 1).await {
        Err(StoreError::NotFound(k)) => assert_eq!(k, missing),
        other => panic!("update of a missing key: expected NotFound, got {other:?}"),
    }
    match store.delete(&missing, 1).await {
        Err(StoreError::NotFound(k)) => assert_eq!(k, missing),
        other => panic!("delete of a missing key: expected NotFound, got {other:?}"),
    }
    assert_eq!(current(store).await, before, "failed writes used revisions");
    assert_eq!(store.get(&key).await.unwrap(), Some(kv2.clone()));

    let (revision, prev) = store.delete(&key, kv2.mod_revision).await.unwrap();
    assert_eq!(revision, before + 1);
    assert_eq!(prev, kv2);
    match store
        .update(&key, b"after".to_vec(), kv2.mod_revision)
        .await
    {
        Err(StoreError::NotFound(_)) => {}
        other => panic!("update after delete: expected NotFound, got {other:?}"),
    }
}

/// `get` and `range` at the current revision and at every older one return exactly the state
/// of then (values and revisions), honour the prefix and `start`, and refuse future revisions.
pub async fn reads_at_older_revisions(store: &dyn Store) {
    let base = fresh_prefix(store, "history").await;
    let prefix = format!("{base}items/");
    // A sibling that shares the prefix as a string but not as a directory.
    let sibling = format!("{base}items-other/x");
    let key = |name: &str| format!("{prefix}{name}");
    let r0 = current(store).await;
    let mut model: BTreeMap<String, KeyValue> = BTreeMap::new();
    let mut history: Vec<(Revision, BTreeMap<String, KeyValue>)> = vec![(r0, model.clone())];

    let a1 = store.create(&key("a"), b"a1".to_vec()).await.unwrap();
    model.insert(a1.key.clone(), a1.clone());
    history.push((a1.mod_revision, model.clone()));
    store.create(&sibling, b"s".to_vec()).await.unwrap();
    history.push((current(store).await, model.clone()));
    let b1 = store.create(&key("b"), b"b1".to_vec()).await.unwrap();
    model.insert(b1.key.clone(), b1.clone());
    history.push((b1.mod_revision, model.clone()));
    let a2 = store
        .update(&a1.key, b"a2".to_vec(), a1.mod_revision)
        .await
        .unwrap();
    model.insert(a2.key.clone(), a2.clone());
    history.push((a2.mod_revision, model.clone()));
    let (deleted, _) = store.delete(&b1.key, b1.mod_revision).await.unwrap();
    model.remove(&b1.key);
    history.push((deleted, model.clone()));
    let c1 = store.create(&key("c"), b"c1".to_vec()).await.unwrap();
    model.insert(c1.key.clone(), c1.clone());
    history.push((c1.mod_revision, model.clone()));
    let b2 = store.create(&key("b"), b"b2".to_vec()).await.unwrap();
    model.insert(b2.key.clone(), b2.clone());
    history.push((b2.mod_revision, model.clone()));
    let a3 = store
        .update(&a2.key, b"a3".to_vec(), a2.mod_revision)
        .await
        .unwrap();
    model.insert(a3.key.clone(), a3.clone());
    history.push((a3.mod_revision, model.clone()));

    let now = current(store).await;
    assert_eq!(now, a3.mod_revision);
    assert_eq!(snapshot(store, &prefix, None).await, model);
    let res = store.range(&prefix, "", 0, None).await.unwrap();
    assert_eq!(
        res.revision, now,
        "a current read is served at the current revision"
    );
    for (revision, state) in &history {
        assert_eq!(
            &snapshot(store, &prefix, Some(*revision)).await,
            state,
            "range at revision {revision}"
        );
    }
    assert_eq!(store.get(&key("a")).await.unwrap(), Some(a3.clone()));
    assert_eq!(store.get(&key("nope")).await.unwrap(), None);

    // `start` and `limit` at an older revision: at b1's revision a1 and b1 existed.
    let res = store
        .range(&prefix, &key("b"), 0, Some(b1.mod_revision))
        .await
        .unwrap();
    assert_eq!(res.kvs, vec![b1.clone()]);
    let res = store
        .range(&prefix, "", 1, Some(b1.mod_revision))
        .await
        .unwrap();
    assert_eq!((res.kvs, res.more), (vec![a1.clone()], true));
    let res = store.range(&prefix, &key("b"), 5, None).await.unwrap();
    assert_eq!((res.kvs, res.more), (vec![b2, c1], false));

    match store.range(&prefix, "", 0, Some(now + 1)).await {
        Err(StoreError::FutureRevision { requested, current }) => {
            assert_eq!((requested, current), (now + 1, now));
        }
        other => panic!("range at a future revision: expected FutureRevision, got {other:?}"),
    }
}

/// Paging with `limit` and `start` at the first page's revision returns exactly the state of
/// that revision, while other writes (updates, deletes, creates before and after the cursor)
/// happen between the pages.
pub async fn paginated_range_is_consistent(store: &dyn Store) {
    let prefix = fresh_prefix(store, "paging").await;
    let count = 50;
    let page = 10;
    for i in 0..count {
        store
            .create(&format!("{prefix}k{i:03}"), format!("v{i}").into_bytes())
            .await
            .unwrap();
    }
    let expected = snapshot(store, &prefix, None).await;
    assert_eq!(expected.len(), count);

    let first = store.range(&prefix, "", page, None).await.unwrap();
    let at = first.revision;
    assert!(first.more);
    let mut seen: Vec<KeyValue> = first.kvs;
    let mut round = 0;
    loop {
        // Disturb: rewrite a key already read and one not yet read, delete one ahead, create
        // one ahead and one at the end.
        round += 1;
        let behind = seen[seen.len() / 2].key.clone();
        if let Some(cur) = store.get(&behind).await.unwrap() {
            store
                .update(&behind, b"changed".to_vec(), cur.mod_revision)
                .await
                .unwrap();
        }
        let last = seen.last().unwrap().key.clone();
        let ahead: Vec<KeyValue> = store
            .range(&prefix, &format!("{last}\0"), 2, None)
            .await
            .unwrap()
            .kvs;
        if let Some(kv) = ahead.first() {
            store
                .update(&kv.key, b"changed".to_vec(), kv.mod_revision)
                .await
                .unwrap();
        }
        if let Some(kv) = ahead.get(1) {
            store.delete(&kv.key, kv.mod_revision).await.unwrap();
        }
        store
            .create(&format!("{last}-new{round}"), b"new".to_vec())
            .await
            .unwrap();
        store
            .create(&format!("{prefix}z{round:03}"), b"new".to_vec())
            .await
            .unwrap();

        let res = store
            .range(&prefix, &format!("{last}\0"), page, Some(at))
            .await
            .unwrap();
        assert_eq!(res.revision, at, "a page was served at another revision");
        assert!(res.kvs.len() <= page);
        seen.extend(res.kvs);
        if !res.more {
            break;
        }
    }
    let got: BTreeMap<String, KeyValue> =
        seen.iter().map(|kv| (kv.key.clone(), kv.clone())).collect();
    assert_eq!(got.len(), seen.len(), "a key came twice across pages");
    assert_eq!(
        got, expected,
        "pages at revision {at} differ from the state then"
    );
    // Exactly `count / page` pages: the last full page must not claim more.
    assert_eq!(
        round,
        count / page - 1,
        "pages were cut where they should not be"
    );
}

/// Of `contenders` concurrent updates of one key, all expecting the same revision, exactly one
/// wins; every other gets [`StoreError::Conflict`] with the winner's value.
pub async fn one_winner_among_concurrent_updates(store: Arc<dyn Store>, contenders: usize) {
    let prefix = fresh_prefix(&*store, "race").await;
    let key = format!("{prefix}k");
    let kv = store.create(&key, b"start".to_vec()).await.unwrap();
    let barrier = Arc::new(tokio::sync::Barrier::new(contenders));
    let tasks: Vec<_> = (0..contenders)
        .map(|i| {
            let store = store.clone();
            let barrier = barrier.clone();
            let key = key.clone();
            let expected = kv.mod_revision;
            tokio::spawn(async move {
                barrier.wait().await;
                store
                    .update(&key, format!("c{i}").into_bytes(), expected)
                    .await
            })
        })
        .collect();
    let mut winners = Vec::new();
    let mut losers = Vec::new();
    for task in tasks {
        match task.await.expect("contender task") {
            Ok(kv) => winners.push(kv),
            Err(StoreError::Conflict { current, .. }) => losers.push(*current),
            Err(e) => panic!("contender failed unexpectedly: {e}"),
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    assert_eq!(losers.len(), contenders - 1);
    let winner = &winners[0];
    assert_eq!(winner.mod_revision, kv.mod_revision + 1);
    assert!(
        losers.iter().all(|l| l == winner),
        "a loser saw something else than the winner"
    );
    assert_eq!(store.get(&key).await.unwrap().as_ref(), Some(winner));
}

/// A watch from a revision delivers every later event once, in order, with values and previous
/// values; from the head it delivers only new events; from a middle revision only later ones.
pub async fn watch_delivers_every_event(store: &dyn Store) {
    let prefix = fresh_prefix(store, "watch").await;
    let r0 = current(store).await;
    let mut expected = Vec::new();
    let a = store
        .create(&format!("{prefix}a"), b"a1".to_vec())
        .await
        .unwrap();
    expected.push(created(&a));
    let b = store
        .create(&format!("{prefix}b"), b"b1".to_vec())
        .await
        .unwrap();
    expected.push(created(&b));
    let a2 = store
        .update(&a.key, b"a2".to_vec(), a.mod_revision)
        .await
        .unwrap();
    expected.push(updated(&a2, &a));
    let (revision, prev) = store.delete(&b.key, b.mod_revision).await.unwrap();
    expected.push(WatchEvent::Delete { revision, prev });
    let b2 = store.create(&b.key, b"b2".to_vec()).await.unwrap();
    expected.push(created(&b2));
    let end = current(store).await;

    let mut from_start = store.watch(r0).await.unwrap();
    assert_eq!(collect_until(&mut from_start, r0, end).await, expected);
    let mut from_middle = store.watch(r0 + 2).await.unwrap();
    assert_eq!(
        collect_until(&mut from_middle, r0 + 2, end).await,
        expected[2..]
    );
    let mut from_head = store.watch(end).await.unwrap();

    // Live events reach all three.
    let a3 = store
        .update(&a.key, b"a3".to_vec(), a2.mod_revision)
        .await
        .unwrap();
    let live = vec![updated(&a3, &a2)];
    for stream in [&mut from_start, &mut from_middle, &mut from_head] {
        assert_eq!(collect_until(stream, end, end + 1).await, live);
    }
}

/// While `writers` tasks each create a key and update it `updates` times, watches opened at
/// several moments (some from the start, some a little behind the head, some at the head) and
/// read both concurrently and afterwards deliver exactly the log: no gap or repeat at the seam
/// between catching up and following live events.
pub async fn watch_seam_under_concurrent_writes(
    store: Arc<dyn Store>,
    writers: usize,
    updates: usize,
) {
    let prefix = fresh_prefix(&*store, "seam").await;
    let r0 = current(&*store).await;
    let total = Revision::try_from(writers * (updates + 1)).expect("event count");
    let end = r0 + total;

    let writer_tasks: Vec<_> = (0..writers)
        .map(|w| {
            let store = store.clone();
            let key = format!("{prefix}w{w:03}");
            tokio::spawn(async move {
                let mut kv = store.create(&key, b"0".to_vec()).await.expect("create");
                for u in 1..=updates {
                    kv = store
                        .update(&key, u.to_string().into_bytes(), kv.mod_revision)
                        .await
                        .expect("update");
                }
            })
        })
        .collect();

    // Open watches while the writers run; half are read at once, half only at the end.
    let mut readers = Vec::new();
    let mut idle: Vec<(Revision, WatchStream)> = Vec::new();
    for i in 0..8 {
        let head = current(&*store).await;
        let after = match i % 3 {
            0 => r0,
            1 => (head - 3).max(r0),
            _ => head,
        };
        let stream = store.watch(after).await.expect("watch");
        if i % 2 == 0 {
            readers.push(tokio::spawn(async move {
                let mut stream = stream;
                (after, collect_until(&mut stream, after, end).await)
            }));
        } else {
            idle.push((after, stream));
        }
        tokio::task::yield_now().await;
    }
    for task in writer_tasks {
        task.await.expect("writer task");
    }
    assert_eq!(current(&*store).await, end);

    // The reference: a watch from the start, opened after all writes (pure catch-up).
    let mut reference = store.watch(r0).await.unwrap();
    let reference = collect_until(&mut reference, r0, end).await;
    check_writer_histories(&reference, updates);
    let offset = |after: Revision| usize::try_from(after - r0).expect("offset");
    for task in readers {
        let (after, events) = task.await.expect("reader task");
        assert_eq!(
            events,
            reference[offset(after)..],
            "concurrent watch from {after}"
        );
    }
    for (after, mut stream) in idle {
        let events = collect_until(&mut stream, after, end).await;
        assert_eq!(
            events,
            reference[offset(after)..],
            "late-read watch from {after}"
        );
    }
}

/// Every writer's key goes create → 1 → 2 … → `updates`, each event's previous value being the
/// one before.
fn check_writer_histories(events: &[WatchEvent], updates: usize) {
    let mut last: HashMap<&str, &KeyValue> = HashMap::new();
    for event in events {
        match event {
            WatchEvent::Create(kv) => {
                assert_eq!(kv.value, b"0");
                assert!(
                    last.insert(&kv.key, kv).is_none(),
                    "created twice: {}",
                    kv.key
                );
            }
            WatchEvent::Update { kv, prev } => {
                let before = last.insert(&kv.key, kv).expect("update before create");
                assert_eq!(prev, before, "prev of an update is not the previous value");
                let n: usize = std::str::from_utf8(&kv.value).unwrap().parse().unwrap();
                let m: usize = std::str::from_utf8(&before.value).unwrap().parse().unwrap();
                assert_eq!(n, m + 1);
            }
            WatchEvent::Delete { .. } => panic!("no deletes were made"),
        }
    }
    assert!(
        last.values()
            .all(|kv| kv.value == updates.to_string().as_bytes()),
        "a writer's last update is missing"
    );
}

/// A watch that is not read while `writes` writes happen must later deliver all of them in
/// order, or a contiguous part of them followed by an error after which it ends (the caller
/// re-lists); it must never skip. Returns whether every event was delivered.
pub async fn slow_watcher_never_skips(store: &dyn Store, writes: usize) -> bool {
    let prefix = fresh_prefix(store, "slow").await;
    let r0 = current(store).await;
    let mut stream = store.watch(r0).await.unwrap();
    let key = format!("{prefix}k");
    let mut kv = store.create(&key, b"0".to_vec()).await.unwrap();
    for i in 1..writes {
        kv = store
            .update(&key, i.to_string().into_bytes(), kv.mod_revision)
            .await
            .unwrap();
    }
    let end = current(store).await;
    let mut expected = r0 + 1;
    let read = async {
        while expected <= end {
            match stream.next().await {
                Some(Ok(event)) => {
                    assert_eq!(
                        event.revision(),
                        expected,
                        "a slow watch skipped or repeated"
                    );
                    expected += 1;
                }
                Some(Err(_)) => {
                    assert!(
                        stream.next().await.is_none(),
                        "a watch went on after an error"
                    );
                    return false;
                }
                None => panic!("a slow watch ended silently at revision {expected}"),
            }
        }
        true
    };
    tokio::time::timeout(WATCH_DEADLINE, read)
        .await
        .expect("slow watch did not finish in time")
}

/// After `compact(r)`: the compaction revision is `r`; reads below `r` and watches from below
/// `r` fail with [`StoreError::Compacted`]; reads at `r` and later and watches from `r` work;
/// compacting beyond the current revision fails with [`StoreError::FutureRevision`].
pub async fn compaction(store: &dyn Store) {
    let prefix = fresh_prefix(store, "compaction").await;
    let key = format!("{prefix}k");
    let mut kv = store.create(&key, b"0".to_vec()).await.unwrap();
    let mut versions = vec![kv.clone()];
    for i in 1..10 {
        kv = store
            .update(&key, i.to_string().into_bytes(), kv.mod_revision)
            .await
            .unwrap();
        versions.push(kv.clone());
    }
    let at = versions[5].mod_revision;
    let end = current(store).await;
    store.compact(at).await.unwrap();
    assert_eq!(store.compacted_revision().await.unwrap(), at);

    match store.range(&prefix, "", 0, Some(at - 1)).await {
        Err(StoreError::Compacted {
            requested,
            compacted,
        }) => {
            assert_eq!((requested, compacted), (at - 1, at));
        }
        other => panic!("range below the compaction: expected Compacted, got {other:?}"),
    }
    match store.watch(at - 1).await {
        Err(StoreError::Compacted { compacted, .. }) => assert_eq!(compacted, at),
        Err(e) => panic!("watch below the compaction: expected Compacted, got {e}"),
        Ok(_) => panic!("watch below the compaction: expected Compacted, got a stream"),
    }
    let res = store.range(&prefix, "", 0, Some(at)).await.unwrap();
    assert_eq!(res.kvs, vec![versions[5].clone()]);
    let res = store.range(&prefix, "", 0, Some(at + 2)).await.unwrap();
    assert_eq!(res.kvs, vec![versions[7].clone()]);
    assert_eq!(store.get(&key).await.unwrap(), Some(kv.clone()));

    let mut stream = store.watch(at).await.unwrap();
    let events = collect_until(&mut stream, at, end).await;
    let expected: Vec<WatchEvent> = versions[6..]
        .iter()
        .zip(&versions[5..])
        .map(|(kv, prev)| updated(kv, prev))
        .collect();
    assert_eq!(events, expected);

    match store.compact(end + 1).await {
        Err(StoreError::FutureRevision { requested, .. }) => assert_eq!(requested, end + 1),
        other => panic!("compaction beyond the head: expected FutureRevision, got {other:?}"),
    }
    // Writes go on after compaction.
    let next = store
        .update(&key, b"after".to_vec(), kv.mod_revision)
        .await
        .unwrap();
    assert_eq!(next.mod_revision, end + 1);
}

/// Values of `size` bytes (use 1.5 MiB: the Kubernetes object limit) survive create, update,
/// concurrent writes, get, range and watch intact.
pub async fn large_values(store: Arc<dyn Store>, size: usize) {
    let prefix = fresh_prefix(&*store, "large").await;
    let pattern = |seed: u8| -> Vec<u8> {
        (0..size)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    };
    let r0 = current(&*store).await;
    let key = format!("{prefix}big");
    let first = store.create(&key, pattern(1)).await.unwrap();
    let second = store
        .update(&key, pattern(2), first.mod_revision)
        .await
        .unwrap();
    assert_eq!(store.get(&key).await.unwrap().unwrap().value, pattern(2));

    let tasks: Vec<_> = (0..4u8)
        .map(|i| {
            let store = store.clone();
            let key = format!("{prefix}many/{i}");
            let value = pattern(10 + i);
            tokio::spawn(async move { store.create(&key, value).await })
        })
        .collect();
    for task in tasks {
        task.await.expect("writer task").expect("large create");
    }
    let res = store.range(&prefix, "", 0, None).await.unwrap();
    assert_eq!(res.kvs.len(), 5);
    for kv in &res.kvs {
        assert_eq!(kv.value.len(), size, "{} has the wrong size", kv.key);
    }
    let old = store
        .range(&prefix, "", 0, Some(first.mod_revision))
        .await
        .unwrap();
    assert_eq!(old.kvs, vec![first.clone()]);

    let mut stream = store.watch(r0).await.unwrap();
    let events = collect_until(&mut stream, r0, r0 + 6).await;
    assert_eq!(events[0], created(&first));
    assert_eq!(events[1], updated(&second, &first));
}

/// `count` keys (the normal run uses 100 000): written concurrently, read whole, paged, and read
/// at an older revision after some of them changed.
pub async fn many_keys(store: Arc<dyn Store>, count: usize) {
    let prefix = fresh_prefix(&*store, "many").await;
    let r0 = current(&*store).await;
    let value = |i: usize| format!("{{\"n\":{i},\"pad\":\"{}\"}}", "x".repeat(200)).into_bytes();
    futures::stream::iter(0..count)
        .map(|i| {
            let store = store.clone();
            let key = format!("{prefix}{i:08}");
            async move { store.create(&key, value(i)).await }
        })
        .buffer_unordered(128)
        .try_for_each(|_| async { Ok(()) })
        .await
        .expect("create many keys");
    let written = current(&*store).await;
    assert_eq!(written, r0 + Revision::try_from(count).unwrap());

    let all = store.range(&prefix, "", 0, None).await.unwrap();
    assert_eq!(all.kvs.len(), count);
    assert!(!all.more);
    for (i, kv) in all.kvs.iter().enumerate() {
        assert_eq!(kv.key, format!("{prefix}{i:08}"));
        assert_eq!(kv.value, value(i));
    }
    let exact = store.range(&prefix, "", count, None).await.unwrap();
    assert_eq!((exact.kvs.len(), exact.more), (count, false));
    if count > 1 {
        let short = store.range(&prefix, "", count - 1, None).await.unwrap();
        assert_eq!((short.kvs.len(), short.more), (count - 1, true));
    }

    // Change every tenth key, then page through the state before the changes.
    for kv in all.kvs.iter().step_by(10) {
        store
            .update(&kv.key, b"changed".to_vec(), kv.mod_revision)
            .await
            .unwrap();
    }
    let page = 1000;
    let mut start = String::new();
    let mut seen = 0;
    loop {
        let res = store
            .range(&prefix, &start, page, Some(written))
            .await
            .unwrap();
        assert_eq!(res.revision, written);
        for kv in &res.kvs {
            assert_eq!(kv, &all.kvs[seen], "paged read at {written} differs");
            seen += 1;
        }
        if !res.more {
            break;
        }
        start = format!("{}\0", res.kvs.last().unwrap().key);
    }
    assert_eq!(seen, count);
}

/// Data, revisions, history and the compaction revision survive closing and reopening the
/// store. `open` must return the same store each time; the check drops each instance (its
/// only reference) before opening the next.
pub async fn restart_persistence<F, Fut>(mut open: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Arc<dyn Store>>,
{
    let store = open().await;
    let prefix = fresh_prefix(&*store, "restart").await;
    let a = store
        .create(&format!("{prefix}a"), b"a1".to_vec())
        .await
        .unwrap();
    let b = store
        .create(&format!("{prefix}b"), b"b1".to_vec())
        .await
        .unwrap();
    let a2 = store
        .update(&a.key, b"a2".to_vec(), a.mod_revision)
        .await
        .unwrap();
    store.delete(&b.key, b.mod_revision).await.unwrap();
    let c = store
        .create(&format!("{prefix}c"), vec![7; 100_000])
        .await
        .unwrap();
    store.compact(a.mod_revision).await.unwrap();
    let end = current(&*store).await;
    let state = snapshot(&*store, &prefix, None).await;
    let mut stream = store.watch(a.mod_revision).await.unwrap();
    let history = collect_until(&mut stream, a.mod_revision, end).await;
    drop(stream);
    drop(store);

    let store = open().await;
    assert_eq!(
        current(&*store).await,
        end,
        "the revision did not survive a restart"
    );
    assert_eq!(store.compacted_revision().await.unwrap(), a.mod_revision);
    assert_eq!(snapshot(&*store, &prefix, None).await, state);
    assert_eq!(store.get(&a.key).await.unwrap(), Some(a2.clone()));
    assert_eq!(store.get(&c.key).await.unwrap(), Some(c.clone()));
    let old = snapshot(&*store, &prefix, Some(b.mod_revision)).await;
    assert_eq!(
        old.into_values().collect::<Vec<_>>(),
        vec![a.clone(), b.clone()]
    );
    let mut replay = store.watch(a.mod_revision).await.unwrap();
    assert_eq!(
        collect_until(&mut replay, a.mod_revision, end).await,
        history
    );
    let d = store
        .create(&format!("{prefix}d"), b"d".to_vec())
        .await
        .unwrap();
    assert_eq!(
        d.mod_revision,
        end + 1,
        "revisions restarted after a reopen"
    );
    drop(replay);
    drop(store);

    let store = open().await;
    assert_eq!(store.get(&d.key).await.unwrap(), Some(d));
}
