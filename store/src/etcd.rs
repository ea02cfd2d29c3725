//! The etcd backend: [`Store`] on an etcd v3 cluster, for API servers that run as several
//! replicas (HA) or that share one etcd between tenants.
//!
//! # Layout
//!
//! Every key the API layer passes is stored as `{prefix}/data{key}`: with the prefix
//! `/warren/tenant-a`, the key `/registry/core/pods/default/web-0` lives at
//! `/warren/tenant-a/data/registry/core/pods/default/web-0`. Ranges and watches cover exactly
//! `{prefix}/data…`, so a tenant whose prefix is `/warren/tenant-ab` is never seen. (Prefixes
//! must not nest: `/warren/tenant-a/data` as another tenant's prefix would lie inside tenant
//! `/warren/tenant-a`'s keyspace.) Results carry the API layer's key again.
//!
//! # Revisions
//!
//! A revision is etcd's: the response header's revision and each key's `mod_revision` /
//! `create_revision`. etcd's revision is global, so when tenants share an etcd, one tenant's
//! revisions have gaps (the other tenants' writes); a fresh etcd starts at revision 1, not 0.
//! Compaction is global too: compacting from one tenant compacts everyone's history.
//!
//! The compaction revision is not stored anywhere by this backend: writing it under a key
//! would itself use a revision (so the next write would not get `end + 1`, and a compaction
//! at the head would leave the store one revision ahead of it) and would miss compactions made
//! by other replicas or tenants. It is learnt from etcd instead: a read at revision `r` fails
//! exactly when `r` is below the compaction revision, so [`EtcdStore`] finds it by probing
//! reads (starting at the highest compaction revision it already knows, usually one request).
//!
//! # Failures
//!
//! Every request has a deadline ([`EtcdConfig::request_timeout`]); a deadline passed, a
//! refused connection or an etcd without a leader is [`StoreError::Unavailable`]. The client
//! reconnects by itself (tonic's channel) once etcd answers again. A watch whose connection
//! drops or that etcd cancels yields one error and ends; it never skips events silently.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use etcd_client::{
    Certificate, Client, Compare, CompareOp, ConnectOptions, DeleteOptions, EventType, GetOptions,
    Identity, KvClient, PutOptions, TlsOptions, Txn, TxnOp, TxnOpResponse, WatchClient,
    WatchOptions,
};
use futures::StreamExt;

use crate::{KeyValue, RangeResult, Revision, Store, StoreError, WatchEvent, WatchStream};

/// The default deadline of one etcd request.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest message the client sends (a 1.5 MiB object plus its key and framing fits; etcd
/// itself refuses requests above its `--max-request-bytes`).
const MAX_ENCODED_MESSAGE: usize = 16 * 1024 * 1024;

/// The largest message the client accepts: an unpaginated list or a watch catching up may be
/// large (kube-apiserver's etcd client uses the same bound).
const MAX_DECODED_MESSAGE: usize = i32::MAX as usize;

/// How to reach etcd and where this store's keys live.
#[derive(Clone, Debug)]
pub struct EtcdConfig {
    /// `host:port` (or `http://host:port`, `https://host:port`) of each member.
    pub endpoints: Vec<String>,
    /// The root of this store's keys, e.g. `/warren/tenant-a` (a trailing `/` is ignored).
    pub prefix: String,
    /// TLS towards etcd; `None`: plain HTTP/2.
    pub tls: Option<EtcdTls>,
    /// The deadline of each request (connecting included).
    pub request_timeout: Duration,
}

impl EtcdConfig {
    /// A configuration without TLS and with [`DEFAULT_REQUEST_TIMEOUT`].
    pub fn new(endpoints: Vec<String>, prefix: impl Into<String>) -> Self {
        EtcdConfig {
            endpoints,
            prefix: prefix.into(),
            tls: None,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

/// TLS files for the connection to etcd (as kube-apiserver's `--etcd-cafile`, `--etcd-certfile`
/// and `--etcd-keyfile`).
#[derive(Clone, Debug)]
pub struct EtcdTls {
    /// The CA that signed etcd's serving certificate (PEM).
    pub ca_file: PathBuf,
    /// A client certificate and its key (PEM), when etcd asks for client certificates.
    pub client_cert: Option<(PathBuf, PathBuf)>,
}

/// A [`Store`] on etcd. Cheap to share behind an `Arc`; watches hold their own handle.
pub struct EtcdStore {
    inner: Arc<Inner>,
}

struct Inner {
    kv: KvClient,
    watch: WatchClient,
    /// `{prefix}`: never a key itself; read to learn the current revision.
    root: Vec<u8>,
    /// `{prefix}/data`: every key of this store starts with it.
    data: Vec<u8>,
    /// The first key after every key of this store.
    data_end: Vec<u8>,
    timeout: Duration,
    /// A compaction revision known to have happened (a lower bound of etcd's).
    compacted: AtomicI64,
    /// Endpoints and prefix, for logs and start-up errors (no credentials). Request errors
    /// leave them out: they may reach API clients, who need not know where etcd is.
    description: String,
}

impl EtcdStore {
    /// Connects to etcd and checks that it answers (within the request timeout).
    pub async fn connect(config: EtcdConfig) -> Result<EtcdStore, StoreError> {
        let prefix = config.prefix.trim_end_matches('/');
        if prefix.is_empty() {
            return Err(StoreError::Internal(
                "the etcd store needs a key prefix (e.g. /warren/tenant-a)".into(),
            ));
        }
        if config.endpoints.is_empty() {
            return Err(StoreError::Internal(
                "the etcd store needs at least one endpoint".into(),
            ));
        }
        let scheme = if config.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let mut endpoints = Vec::with_capacity(config.endpoints.len());
        for endpoint in &config.endpoints {
            endpoints.push(endpoint_url(endpoint, scheme)?);
        }
        let description = format!("etcd {} prefix {prefix}", endpoints.join(","));

        let mut options = ConnectOptions::new()
            .with_connect_timeout(config.request_timeout)
            .with_keep_alive(Duration::from_secs(10), config.request_timeout)
            .with_keep_alive_while_idle(true);
        if let Some(tls) = &config.tls {
            options = options.with_tls(tls_options(tls)?);
        }
        let client = Client::connect(&endpoints, Some(options))
            .await
            .map_err(|e| StoreError::Unavailable(format!("{description}: {}", describe(&e))))?;
        let data = format!("{prefix}/data").into_bytes();
        let store = EtcdStore {
            inner: Arc::new(Inner {
                kv: client
                    .kv_client()
                    .max_decoding_message_size(MAX_DECODED_MESSAGE)
                    .max_encoding_message_size(MAX_ENCODED_MESSAGE),
                watch: client
                    .watch_client()
                    .max_decoding_message_size(MAX_DECODED_MESSAGE),
                root: prefix.as_bytes().to_vec(),
                data_end: prefix_end(&data),
                data,
                timeout: config.request_timeout,
                compacted: AtomicI64::new(0),
                description,
            }),
        };
        // A start-up error names the endpoints (it goes to the operator, not to API clients).
        store.inner.current_revision().await.map_err(|e| match e {
            StoreError::Unavailable(m) => {
                StoreError::Unavailable(format!("{}: {m}", store.inner.description))
            }
            other => other,
        })?;
        Ok(store)
    }

    /// The endpoints and the prefix, for logs (never credentials).
    pub fn description(&self) -> &str {
        &self.inner.description
    }
}

impl std::fmt::Debug for EtcdStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("EtcdStore")
            .field(&self.inner.description)
            .finish()
    }
}

/// `host:port` or a URL with the expected scheme, as a URL; refuses credentials in it and a
/// scheme that does not match the TLS setting.
fn endpoint_url(endpoint: &str, scheme: &str) -> Result<String, StoreError> {
    let (given, rest) = match endpoint.split_once("://") {
        Some((s, rest)) => (Some(s), rest),
        None => (None, endpoint),
    };
    let authority = rest.trim_end_matches('/');
    if authority.is_empty() || authority.contains(['/', '@', '?', '#']) {
        // Never echo the endpoint: it might hold a password.
        return Err(StoreError::Internal(
            "an etcd endpoint must be host:port (no user, path or query)".into(),
        ));
    }
    match given {
        Some(s) if s != scheme => Err(StoreError::Internal(format!(
            "etcd endpoint {authority}: scheme {s} does not match the TLS settings (expected {scheme})"
        ))),
        _ => Ok(format!("{scheme}://{authority}")),
    }
}

fn tls_options(tls: &EtcdTls) -> Result<TlsOptions, StoreError> {
    let read = |what: &str, path: &PathBuf| {
        std::fs::read(path)
            .map_err(|e| StoreError::Internal(format!("etcd {what} {}: {e}", path.display())))
    };
    let mut options =
        TlsOptions::new().ca_certificate(Certificate::from_pem(read("CA file", &tls.ca_file)?));
    if let Some((cert, key)) = &tls.client_cert {
        options = options.identity(Identity::from_pem(
            read("certificate file", cert)?,
            read("key file", key)?,
        ));
    }
    Ok(options)
}

/// The first key after every key that starts with `prefix`.
fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    // Only 0xff bytes: to the end of the keyspace.
    vec![0]
}

/// What an etcd error means for the store.
enum Failure {
    /// "required revision has been compacted".
    Compacted,
    /// "required revision is a future revision".
    Future,
    /// Anything else, already mapped.
    Other(StoreError),
}

/// A readable, credential-free text for an etcd client error, with its causes.
fn describe(e: &etcd_client::Error) -> String {
    let (mut text, mut source) = match e {
        etcd_client::Error::GRpcStatus(status) => (
            status.message().to_string(),
            std::error::Error::source(status),
        ),
        etcd_client::Error::TransportError(t) => (t.to_string(), std::error::Error::source(t)),
        other => (other.to_string(), None),
    };
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    if let etcd_client::Error::GRpcStatus(status) = e {
        text.push_str(&format!(" ({:?})", status.code()));
    }
    text
}

fn classify(e: etcd_client::Error, what: &str) -> Failure {
    if let etcd_client::Error::GRpcStatus(status) = &e {
        let message = status.message();
        if message.contains("required revision has been compacted") {
            return Failure::Compacted;
        }
        if message.contains("required revision is a future revision") {
            return Failure::Future;
        }
        let text = format!("etcd {what}: {}", describe(&e));
        return Failure::Other(if is_transient(i32::from(status.code())) {
            StoreError::Unavailable(text)
        } else {
            StoreError::Internal(text)
        });
    }
    let text = format!("etcd {what}: {}", describe(&e));
    Failure::Other(match e {
        etcd_client::Error::TransportError(_)
        | etcd_client::Error::IoError(_)
        | etcd_client::Error::WatchError(_) => StoreError::Unavailable(text),
        _ => StoreError::Internal(text),
    })
}

/// Whether a gRPC status code means "etcd cannot serve this now" rather than "this request is
/// wrong": CANCELLED (1), UNKNOWN (2, how broken HTTP/2 connections surface),
/// DEADLINE_EXCEEDED (4), RESOURCE_EXHAUSTED (8, "too many requests"), ABORTED (10) and
/// UNAVAILABLE (14, no leader, connection refused). (The numbers are gRPC's; etcd-client does
/// not re-export tonic's `Code`.)
fn is_transient(code: i32) -> bool {
    matches!(code, 1 | 2 | 4 | 8 | 10 | 14)
}

impl Inner {
    /// Runs one request under the deadline.
    async fn call<T>(
        &self,
        what: &str,
        request: impl Future<Output = Result<T, etcd_client::Error>>,
    ) -> Result<T, Failure> {
        match tokio::time::timeout(self.timeout, request).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(classify(e, what)),
            Err(_) => Err(Failure::Other(StoreError::Unavailable(format!(
                "etcd {what}: no answer within {:?}",
                self.timeout
            )))),
        }
    }

    /// The etcd key of a store key.
    fn etcd_key(&self, key: &str) -> Vec<u8> {
        let mut k = self.data.clone();
        k.extend_from_slice(key.as_bytes());
        k
    }

    /// A store key-value from an etcd one (whose key is under `data`).
    fn key_value(&self, kv: &etcd_client::KeyValue) -> Result<KeyValue, StoreError> {
        let key = kv
            .key()
            .strip_prefix(self.data.as_slice())
            .and_then(|k| std::str::from_utf8(k).ok())
            .ok_or_else(|| {
                StoreError::Internal(format!(
                    "etcd returned a key outside this store: {:?}",
                    String::from_utf8_lossy(kv.key())
                ))
            })?;
        Ok(KeyValue {
            key: key.to_string(),
            value: kv.value().to_vec(),
            create_revision: kv.create_revision(),
            mod_revision: kv.mod_revision(),
        })
    }

    async fn current_revision(&self) -> Result<Revision, StoreError> {
        let mut kv = self.kv.clone();
        let options = GetOptions::new().with_count_only();
        let resp = self
            .call(
                "read the revision",
                kv.get(self.root.clone(), Some(options)),
            )
            .await
            .map_err(|f| self.unexpected(f))?;
        header_revision(resp.header())
    }

    /// Whether a read at `revision` (≥ 1) is still possible (not compacted).
    async fn readable_at(&self, revision: Revision) -> Result<bool, StoreError> {
        let mut kv = self.kv.clone();
        let options = GetOptions::new().with_count_only().with_revision(revision);
        match self
            .call("probe a revision", kv.get(self.root.clone(), Some(options)))
            .await
        {
            Ok(_) => Ok(true),
            Err(Failure::Compacted) => Ok(false),
            Err(f) => Err(self.unexpected(f)),
        }
    }

    /// etcd's compaction revision: the lowest revision still readable (0 when nothing below
    /// revision 2 is gone: etcd's first write is revision 2). Usually one probe: the highest
    /// compaction revision known so far is tried first.
    async fn compacted_revision(&self) -> Result<Revision, StoreError> {
        let known = self.compacted.load(Ordering::SeqCst).max(1);
        let compacted = if self.readable_at(known).await? {
            known
        } else {
            // Not readable at `known`, readable at the head: the boundary is in between.
            let (mut unreadable, mut readable) = (known, self.current_revision().await?);
            while readable - unreadable > 1 {
                let mid = unreadable + (readable - unreadable) / 2;
                if self.readable_at(mid).await? {
                    readable = mid;
                } else {
                    unreadable = mid;
                }
            }
            readable
        };
        self.compacted.fetch_max(compacted, Ordering::SeqCst);
        Ok(if compacted <= 1 { 0 } else { compacted })
    }

    /// The error for a read at `requested` that etcd refused.
    async fn revision_error(&self, failure: Failure, requested: Revision) -> StoreError {
        match failure {
            Failure::Compacted => match self.compacted_revision().await {
                Ok(compacted) => StoreError::Compacted {
                    requested,
                    compacted,
                },
                Err(e) => e,
            },
            Failure::Future => match self.current_revision().await {
                Ok(current) => StoreError::FutureRevision { requested, current },
                Err(e) => e,
            },
            Failure::Other(e) => e,
        }
    }

    /// A failure where no revision was asked for.
    fn unexpected(&self, failure: Failure) -> StoreError {
        match failure {
            Failure::Other(e) => e,
            Failure::Compacted | Failure::Future => {
                StoreError::Internal("etcd refused a revision nobody asked for".into())
            }
        }
    }

    /// Runs a transaction whose failure branch reads `key`; returns (succeeded, header
    /// revision, the success branch's responses or the key as read).
    async fn txn(
        &self,
        what: &str,
        txn: Txn,
    ) -> Result<(bool, Revision, Vec<TxnOpResponse>), StoreError> {
        let mut kv = self.kv.clone();
        let resp = self
            .call(what, kv.txn(txn))
            .await
            .map_err(|f| self.unexpected(f))?;
        Ok((
            resp.succeeded(),
            header_revision(resp.header())?,
            resp.op_responses(),
        ))
    }

    /// The key as the failure branch of a conditional write read it: Conflict or NotFound.
    fn write_refused(
        &self,
        key: &str,
        expected: Revision,
        responses: &[TxnOpResponse],
    ) -> StoreError {
        let current = responses.iter().find_map(|r| match r {
            TxnOpResponse::Get(get) => get.kvs().first().map(|kv| self.key_value(kv)),
            _ => None,
        });
        match current {
            Some(Ok(current)) => StoreError::Conflict {
                key: key.to_string(),
                expected,
                current: Box::new(current),
            },
            Some(Err(e)) => e,
            None => StoreError::NotFound(key.to_string()),
        }
    }
}

fn header_revision(header: Option<&etcd_client::ResponseHeader>) -> Result<Revision, StoreError> {
    header
        .map(|h| h.revision())
        .ok_or_else(|| StoreError::Internal("etcd response without a header".into()))
}

#[async_trait]
impl Store for EtcdStore {
    async fn current_revision(&self) -> Result<Revision, StoreError> {
        self.inner.current_revision().await
    }

    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        let inner = &*self.inner;
        let mut kv = inner.kv.clone();
        let resp = inner
            .call("get", kv.get(inner.etcd_key(key), None))
            .await
            .map_err(|f| inner.unexpected(f))?;
        resp.kvs().first().map(|kv| inner.key_value(kv)).transpose()
    }

    async fn range(
        &self,
        prefix: &str,
        start: &str,
        limit: usize,
        revision: Option<Revision>,
    ) -> Result<RangeResult, StoreError> {
        let inner = &*self.inner;
        let from = inner.etcd_key(prefix.max(start));
        let end = prefix_end(&inner.etcd_key(prefix));
        if from >= end {
            // Nothing can match (`start` is past the prefix). etcd reads a single key for an
            // empty range, so read the prefix's own key instead (never written): no keys, and
            // the revision checked as for any read.
            let mut root_end = inner.root.clone();
            root_end.push(0);
            return inner.range_at(&inner.root, &root_end, 1, revision).await;
        }
        inner.range_at(&from, &end, limit, revision).await
    }

    async fn create(&self, key: &str, value: Vec<u8>) -> Result<KeyValue, StoreError> {
        let inner = &*self.inner;
        let etcd_key = inner.etcd_key(key);
        let txn = Txn::new()
            .when([Compare::create_revision(
                etcd_key.clone(),
                CompareOp::Equal,
                0,
            )])
            .and_then([TxnOp::put(etcd_key, value.clone(), None)]);
        let (succeeded, revision, _) = inner.txn("create", txn).await?;
        if !succeeded {
            return Err(StoreError::AlreadyExists(key.to_string()));
        }
        Ok(KeyValue {
            key: key.to_string(),
            value,
            create_revision: revision,
            mod_revision: revision,
        })
    }

    async fn update(
        &self,
        key: &str,
        value: Vec<u8>,
        expected: Revision,
    ) -> Result<KeyValue, StoreError> {
        let inner = &*self.inner;
        let etcd_key = inner.etcd_key(key);
        let txn = Txn::new()
            .when(exists_at(&etcd_key, expected))
            .and_then([TxnOp::put(
                etcd_key.clone(),
                value.clone(),
                Some(PutOptions::new().with_prev_key()),
            )])
            .or_else([TxnOp::get(etcd_key, None)]);
        let (succeeded, revision, responses) = inner.txn("update", txn).await?;
        if !succeeded {
            return Err(inner.write_refused(key, expected, &responses));
        }
        let prev = responses.iter().find_map(|r| match r {
            TxnOpResponse::Put(put) => put.prev_key(),
            _ => None,
        });
        let create_revision = prev.map(|kv| kv.create_revision()).ok_or_else(|| {
            StoreError::Internal(format!("etcd update of {key} returned no previous value"))
        })?;
        Ok(KeyValue {
            key: key.to_string(),
            value,
            create_revision,
            mod_revision: revision,
        })
    }

    async fn delete(
        &self,
        key: &str,
        expected: Revision,
    ) -> Result<(Revision, KeyValue), StoreError> {
        let inner = &*self.inner;
        let etcd_key = inner.etcd_key(key);
        let txn = Txn::new()
            .when(exists_at(&etcd_key, expected))
            .and_then([TxnOp::delete(
                etcd_key.clone(),
                Some(DeleteOptions::new().with_prev_key()),
            )])
            .or_else([TxnOp::get(etcd_key, None)]);
        let (succeeded, revision, responses) = inner.txn("delete", txn).await?;
        if !succeeded {
            return Err(inner.write_refused(key, expected, &responses));
        }
        let prev = responses
            .iter()
            .find_map(|r| match r {
                TxnOpResponse::Delete(delete) => delete.prev_kvs().first().cloned(),
                _ => None,
            })
            .ok_or_else(|| {
                StoreError::Internal(format!("etcd delete of {key} returned no previous value"))
            })?;
        Ok((revision, inner.key_value(&prev)?))
    }

    async fn watch(&self, after: Revision) -> Result<WatchStream, StoreError> {
        let inner = self.inner.clone();
        // etcd would accept a start at the compaction revision itself, whose events may lack
        // their previous values; the store contract refuses anything below it.
        let current = inner.current_revision().await?;
        if after < current && !inner.readable_at(after.max(1)).await? {
            return Err(inner.revision_error(Failure::Compacted, after).await);
        }
        let mut client = inner.watch.clone();
        let options = WatchOptions::new()
            .with_range(inner.data_end.clone())
            .with_start_revision(after + 1)
            .with_prev_key();
        let mut stream = inner
            .call("watch", client.watch(inner.data.clone(), Some(options)))
            .await
            .map_err(|f| inner.unexpected(f))?;
        // Wait until etcd has registered the watch, so that an outage shows here.
        let created = inner
            .call("watch", stream.message())
            .await
            .map_err(|f| inner.unexpected(f))?;
        match created {
            Some(resp) if resp.created() && !resp.canceled() => {}
            Some(resp) if resp.compact_revision() > 0 => {
                return Err(StoreError::Compacted {
                    requested: after,
                    compacted: resp.compact_revision(),
                });
            }
            Some(resp) => {
                return Err(StoreError::Unavailable(format!(
                    "etcd refused the watch: {}",
                    resp.cancel_reason()
                )));
            }
            None => {
                return Err(StoreError::Unavailable(
                    "etcd closed the watch before creating it".into(),
                ));
            }
        }
        Ok(watch_events(inner, stream, after))
    }

    async fn compact(&self, revision: Revision) -> Result<(), StoreError> {
        let inner = &*self.inner;
        let mut kv = inner.kv.clone();
        match inner.call("compact", kv.compact(revision, None)).await {
            Ok(_) => {
                inner.compacted.fetch_max(revision, Ordering::SeqCst);
                Ok(())
            }
            // At or below an earlier compaction: nothing to do (as the embedded store).
            Err(Failure::Compacted) => Ok(()),
            Err(f) => Err(inner.revision_error(f, revision).await),
        }
    }

    async fn compacted_revision(&self) -> Result<Revision, StoreError> {
        self.inner.compacted_revision().await
    }
}

impl Inner {
    /// One etcd range over `[from, end)`.
    async fn range_at(
        &self,
        from: &[u8],
        end: &[u8],
        limit: usize,
        revision: Option<Revision>,
    ) -> Result<RangeResult, StoreError> {
        let mut options = GetOptions::new()
            .with_range(end.to_vec())
            .with_limit(i64::try_from(limit).unwrap_or(i64::MAX));
        if let Some(r) = revision {
            // etcd reads 0 as "now"; its revision 1 is the empty state before the first write,
            // which is what revision 0 means for the store.
            options = options.with_revision(r.max(1));
        }
        let mut kv = self.kv.clone();
        let resp = match self
            .call("range", kv.get(from.to_vec(), Some(options)))
            .await
        {
            Ok(resp) => resp,
            Err(f) => return Err(self.revision_error(f, revision.unwrap_or(0)).await),
        };
        let kvs = resp
            .kvs()
            .iter()
            .map(|kv| self.key_value(kv))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RangeResult {
            more: resp.more(),
            revision: match revision {
                Some(r) => r,
                None => header_revision(resp.header())?,
            },
            kvs,
        })
    }
}

/// The comparisons of a conditional write: the key exists and was last written at `expected`.
fn exists_at(etcd_key: &[u8], expected: Revision) -> [Compare; 2] {
    [
        Compare::create_revision(etcd_key.to_vec(), CompareOp::Greater, 0),
        Compare::mod_revision(etcd_key.to_vec(), CompareOp::Equal, expected),
    ]
}

/// The store events of an etcd watch: every event in order; on cancellation, a lost
/// connection or an event that cannot be mapped, one error and the end.
fn watch_events(
    inner: Arc<Inner>,
    stream: etcd_client::WatchStream,
    after: Revision,
) -> WatchStream {
    struct State {
        inner: Arc<Inner>,
        stream: Option<etcd_client::WatchStream>,
        pending: std::collections::VecDeque<WatchEvent>,
        /// The revision of the last event delivered (or `after`).
        delivered: Revision,
    }
    let state = State {
        inner,
        stream: Some(stream),
        pending: Default::default(),
        delivered: after,
    };
    futures::stream::unfold(state, |mut state| async move {
        loop {
            if let Some(event) = state.pending.pop_front() {
                state.delivered = event.revision();
                return Some((Ok(event), state));
            }
            let stream = state.stream.as_mut()?;
            let failure = match stream.message().await {
                Ok(Some(resp)) if resp.canceled() => {
                    if resp.compact_revision() > 0 {
                        state
                            .inner
                            .compacted
                            .fetch_max(resp.compact_revision(), Ordering::SeqCst);
                        StoreError::Compacted {
                            requested: state.delivered,
                            compacted: resp.compact_revision(),
                        }
                    } else {
                        StoreError::Unavailable(format!(
                            "etcd cancelled the watch: {}",
                            resp.cancel_reason()
                        ))
                    }
                }
                Ok(Some(resp)) => {
                    match resp
                        .events()
                        .iter()
                        .map(|e| watch_event(&state.inner, e))
                        .collect::<Result<Vec<_>, _>>()
                    {
                        Ok(events) => {
                            state.pending.extend(events);
                            continue;
                        }
                        Err(e) => e,
                    }
                }
                Ok(None) => StoreError::Unavailable("etcd closed the watch".into()),
                Err(e) => match classify(e, "watch") {
                    Failure::Other(e) => e,
                    Failure::Compacted | Failure::Future => {
                        StoreError::Unavailable("the etcd watch failed".into())
                    }
                },
            };
            // The error is the last item; dropping the etcd stream cancels the watch.
            state.stream = None;
            return Some((Err(failure), state));
        }
    })
    .boxed()
}

/// One etcd event as a store event.
fn watch_event(inner: &Inner, event: &etcd_client::Event) -> Result<WatchEvent, StoreError> {
    let kv = event
        .kv()
        .ok_or_else(|| StoreError::Internal("etcd watch event without a key".into()))?;
    let prev = || match event.prev_kv() {
        Some(prev) => inner.key_value(prev),
        // etcd leaves it out when the previous value has been compacted away.
        None => Err(StoreError::Compacted {
            requested: kv.mod_revision() - 1,
            compacted: inner.compacted.load(Ordering::SeqCst),
        }),
    };
    Ok(match event.event_type() {
        EventType::Put if kv.create_revision() == kv.mod_revision() => {
            WatchEvent::Create(inner.key_value(kv)?)
        }
        EventType::Put => WatchEvent::Update {
            kv: inner.key_value(kv)?,
            prev: prev()?,
        },
        EventType::Delete => WatchEvent::Delete {
            revision: kv.mod_revision(),
            prev: prev()?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_increments_the_last_byte() {
        assert_eq!(prefix_end(b"/t/data"), b"/t/datb");
        assert_eq!(prefix_end(b"a\xff"), b"b");
        assert_eq!(prefix_end(b"\xff\xff"), vec![0]);
    }

    #[test]
    fn endpoints_are_urls_without_credentials() {
        assert_eq!(
            endpoint_url("127.0.0.1:2379", "http").unwrap(),
            "http://127.0.0.1:2379"
        );
        assert_eq!(
            endpoint_url("https://etcd-0:2379/", "https").unwrap(),
            "https://etcd-0:2379"
        );
        assert!(endpoint_url("http://etcd-0:2379", "https").is_err());
        let err = endpoint_url("http://root:s3cret@etcd-0:2379", "http").unwrap_err();
        assert!(!err.to_string().contains("s3cret"), "{err}");
        assert!(endpoint_url("etcd-0:2379/path", "http").is_err());
        assert!(endpoint_url("", "http").is_err());
    }
}
