//! A work queue as client-go's: keys are deduplicated while waiting, a key is never handed to
//! two workers at once (added again while in process, it comes back once done), keys can be
//! added after a delay, and failures are retried with exponential back-off.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

#[derive(Default)]
struct Inner {
    queue: VecDeque<String>,
    queued: HashSet<String>,
    processing: HashSet<String>,
    /// Added while processing: queued again when done.
    dirty: HashSet<String>,
    /// Keys due later, by due time (the key's earliest due time wins).
    delayed: BTreeMap<(Instant, u64), String>,
    delayed_at: HashMap<String, (Instant, u64)>,
    failures: HashMap<String, u32>,
    seq: u64,
}

/// The queue of keys (`namespace/name`, or any string) a controller works on.
#[derive(Default)]
pub struct WorkQueue {
    inner: Mutex<Inner>,
    notify: Notify,
}

/// The first retry delay after a failure; doubled per failure up to [`MAX_BACKOFF`].
const BASE_BACKOFF: Duration = Duration::from_millis(50);
/// The longest retry delay.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

impl WorkQueue {
    /// An empty queue.
    pub fn new() -> WorkQueue {
        WorkQueue::default()
    }

    /// Adds a key now (no-op if it is already waiting).
    pub fn add(&self, key: impl Into<String>) {
        let key = key.into();
        let mut inner = self.inner.lock().expect("queue lock");
        if inner.processing.contains(&key) {
            inner.dirty.insert(key);
            return;
        }
        if inner.queued.insert(key.clone()) {
            inner.queue.push_back(key);
            drop(inner);
            self.notify.notify_one();
        }
    }

    /// Adds a key once `after` has passed (an earlier due time for the same key wins).
    pub fn add_after(&self, key: impl Into<String>, after: Duration) {
        if after.is_zero() {
            return self.add(key);
        }
        let key = key.into();
        let due = Instant::now() + after;
        let mut inner = self.inner.lock().expect("queue lock");
        if let Some(existing) = inner.delayed_at.get(&key).copied() {
            if existing.0 <= due {
                return;
            }
            inner.delayed.remove(&existing);
        }
        inner.seq += 1;
        let slot = (due, inner.seq);
        inner.delayed.insert(slot, key.clone());
        inner.delayed_at.insert(key, slot);
        drop(inner);
        self.notify.notify_one();
    }

    /// Adds a key again after its back-off (a reconcile failed).
    pub fn retry(&self, key: &str) {
        let failures = {
            let mut inner = self.inner.lock().expect("queue lock");
            let f = inner.failures.entry(key.to_string()).or_insert(0);
            *f += 1;
            *f
        };
        let delay = BASE_BACKOFF
            .saturating_mul(1u32 << failures.min(16))
            .min(MAX_BACKOFF);
        self.add_after(key.to_string(), delay);
    }

    /// Clears a key's failure count (a reconcile succeeded).
    pub fn forget(&self, key: &str) {
        self.inner.lock().expect("queue lock").failures.remove(key);
    }

    /// The next key to work on; None once `cancel` fires. Call [`WorkQueue::done`] after.
    pub async fn next(&self, cancel: &CancellationToken) -> Option<String> {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let wait = {
                let mut inner = self.inner.lock().expect("queue lock");
                let now = Instant::now();
                while let Some((&slot, _)) = inner.delayed.iter().next() {
                    if slot.0 > now {
                        break;
                    }
                    let key = inner.delayed.remove(&slot).expect("present");
                    inner.delayed_at.remove(&key);
                    if inner.processing.contains(&key) {
                        inner.dirty.insert(key);
                    } else if inner.queued.insert(key.clone()) {
                        inner.queue.push_back(key);
                    }
                }
                if let Some(key) = inner.queue.pop_front() {
                    inner.queued.remove(&key);
                    inner.processing.insert(key.clone());
                    return Some(key);
                }
                inner.delayed.keys().next().map(|slot| slot.0)
            };
            tokio::select! {
                _ = cancel.cancelled() => return None,
                _ = notified => {}
                _ = async {
                    match wait {
                        Some(due) => tokio::time::sleep_until(due).await,
                        None => std::future::pending().await,
                    }
                } => {}
            }
        }
    }

    /// Marks a key as processed; if it was added meanwhile it is queued again.
    pub fn done(&self, key: &str) {
        let mut inner = self.inner.lock().expect("queue lock");
        inner.processing.remove(key);
        if inner.dirty.remove(key) && inner.queued.insert(key.to_string()) {
            inner.queue.push_back(key.to_string());
            drop(inner);
            self.notify.notify_one();
        }
    }

    /// How many keys wait now (not counting delayed ones).
    pub fn len(&self) -> usize {
        self.inner.lock().expect("queue lock").queue.len()
    }

    /// Whether no key waits now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keys_are_deduplicated_and_never_processed_twice_at_once() {
        let q = WorkQueue::new();
        let cancel = CancellationToken::new();
        q.add("a");
        q.add("a");
        q.add("b");
        assert_eq!(q.len(), 2);
        let a = q.next(&cancel).await.unwrap();
        assert_eq!(a, "a");
        // Added while processing: not handed out until done.
        q.add("a");
        assert_eq!(q.next(&cancel).await.unwrap(), "b");
        assert!(q.is_empty());
        q.done("a");
        assert_eq!(q.next(&cancel).await.unwrap(), "a");
        q.done("a");
        q.done("b");
        assert!(q.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn delayed_keys_come_when_due() {
        let q = WorkQueue::new();
        let cancel = CancellationToken::new();
        q.add_after("late", Duration::from_secs(10));
        q.add_after("early", Duration::from_secs(1));
        let start = Instant::now();
        assert_eq!(q.next(&cancel).await.unwrap(), "early");
        assert!(start.elapsed() >= Duration::from_secs(1));
        assert_eq!(q.next(&cancel).await.unwrap(), "late");
        assert!(start.elapsed() >= Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn failures_back_off_and_cancel_ends_the_wait() {
        let q = WorkQueue::new();
        let cancel = CancellationToken::new();
        q.add("k");
        let k = q.next(&cancel).await.unwrap();
        q.retry(&k);
        q.done(&k);
        let start = Instant::now();
        assert_eq!(q.next(&cancel).await.unwrap(), "k");
        assert!(start.elapsed() >= BASE_BACKOFF);
        q.done("k");
        cancel.cancel();
        assert_eq!(q.next(&cancel).await, None);
    }
}
