//! Snapshots of a tenant's store: `tenant-apiserver snapshot save|restore`, to move a tenant
//! between the embedded store and etcd (either way) or to keep a backup.
//!
//! A snapshot is every key of the store read at one revision, as JSON lines:
//!
//! ```text
//! {"warrenSnapshot":1,"revision":1234}
//! {"key":"/registry/core/namespaces/default","value":"{\"apiVersion\":\"v1\",...}"}
//! {"key":"...","valueBase64":"..."}                      (a value that is not UTF-8)
//! {"end":true,"keys":57,"sha256":"<hex of every line above, newlines included>"}
//! ```
//!
//! Restore writes every key into an empty store, in key order, and refuses a store that
//! already holds data or a file that is truncated or altered (count and checksum). Objects keep
//! their content; their `resourceVersion`s are the target store's new revisions, so clients
//! re-list after a move, as they do after an etcd restore.

use std::io::{BufRead, Write};

use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use warren_store::{Revision, Store, StoreError};

/// How many keys one range read of a save fetches.
const PAGE: usize = 500;
/// The format version written in the header line.
const FORMAT: i64 = 1;

/// What a save or restore moved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// The number of keys.
    pub keys: usize,
    /// The revision the snapshot was read at (save) or the target's revision after (restore).
    pub revision: Revision,
}

/// Why a snapshot could not be saved or restored.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The file could not be read or written.
    #[error("snapshot file: {0}")]
    Io(#[from] std::io::Error),
    /// The file is not a Warren snapshot, or is damaged.
    #[error("not a valid snapshot: {0}")]
    Format(String),
    /// Restore needs an empty store.
    #[error("the target store is not empty (it holds {0}); restore only into an empty store")]
    NotEmpty(String),
}

/// Writes every key of `store`, read at its current revision, to `out`.
pub async fn save(store: &dyn Store, out: &mut dyn Write) -> Result<Summary, SnapshotError> {
    let revision = store.current_revision().await?;
    let mut hasher = Sha256::new();
    let mut line = |out: &mut dyn Write, v: Value| -> std::io::Result<()> {
        let mut s = v.to_string();
        s.push('\n');
        hasher.update(s.as_bytes());
        out.write_all(s.as_bytes())
    };
    line(out, json!({"warrenSnapshot": FORMAT, "revision": revision}))?;
    let mut keys = 0usize;
    let mut start = String::new();
    loop {
        let page = store.range("", &start, PAGE, Some(revision)).await?;
        for kv in &page.kvs {
            let entry = match std::str::from_utf8(&kv.value) {
                Ok(text) => json!({"key": kv.key, "value": text}),
                Err(_) => json!({
                    "key": kv.key,
                    "valueBase64": base64::engine::general_purpose::STANDARD.encode(&kv.value),
                }),
            };
            line(out, entry)?;
            keys += 1;
        }
        match page.kvs.last() {
            Some(last) if page.more => start = format!("{}\0", last.key),
            _ => break,
        }
    }
    let sha = hex(&hasher.finalize());
    let end = json!({"end": true, "keys": keys, "sha256": sha});
    out.write_all(format!("{end}\n").as_bytes())?;
    out.flush()?;
    Ok(Summary { keys, revision })
}

/// Writes every key of a snapshot read from `input` into `store`, which must be empty. The
/// whole file is checked before the first write.
pub async fn restore(store: &dyn Store, input: &mut dyn BufRead) -> Result<Summary, SnapshotError> {
    let entries = read(input)?;
    let existing = store.range("", "", 1, None).await?;
    if let Some(kv) = existing.kvs.first() {
        return Err(SnapshotError::NotEmpty(kv.key.clone()));
    }
    for (key, value) in &entries {
        store.create(key, value.clone()).await?;
    }
    Ok(Summary {
        keys: entries.len(),
        revision: store.current_revision().await?,
    })
}

/// Parses and checks a snapshot: header, entries in strictly increasing key order, and the
/// end line's count and checksum.
pub fn read(input: &mut dyn BufRead) -> Result<Vec<(String, Vec<u8>)>, SnapshotError> {
    let bad = |m: String| SnapshotError::Format(m);
    let mut hasher = Sha256::new();
    let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
    let mut header = false;
    let mut buf = String::new();
    let mut lineno = 0usize;
    loop {
        buf.clear();
        if input.read_line(&mut buf)? == 0 {
            return Err(bad("the file ends before its end line (truncated?)".into()));
        }
        lineno += 1;
        let v: Value = serde_json::from_str(buf.trim_end_matches('\n'))
            .map_err(|e| bad(format!("line {lineno}: {e}")))?;
        if !header {
            if v.get("warrenSnapshot").and_then(Value::as_i64) != Some(FORMAT) {
                return Err(bad(format!(
                    "line 1 is not a Warren snapshot header (format {FORMAT})"
                )));
            }
            header = true;
            hasher.update(buf.as_bytes());
            continue;
        }
        if v.get("end").and_then(Value::as_bool) == Some(true) {
            let keys = v.get("keys").and_then(Value::as_u64);
            if keys != Some(entries.len() as u64) {
                return Err(bad(format!(
                    "the end line counts {keys:?} keys, the file holds {}",
                    entries.len()
                )));
            }
            let sha = hex(&hasher.finalize());
            if v.get("sha256").and_then(Value::as_str) != Some(sha.as_str()) {
                return Err(bad("checksum mismatch (the file was altered)".into()));
            }
            return Ok(entries);
        }
        hasher.update(buf.as_bytes());
        let key = v
            .get("key")
            .and_then(Value::as_str)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| bad(format!("line {lineno}: no key")))?
            .to_string();
        let value = match (v.get("value"), v.get("valueBase64")) {
            (Some(Value::String(s)), None) => s.as_bytes().to_vec(),
            (None, Some(Value::String(b))) => base64::engine::general_purpose::STANDARD
                .decode(b)
                .map_err(|e| bad(format!("line {lineno}: {e}")))?,
            _ => return Err(bad(format!("line {lineno}: no value"))),
        };
        if entries.last().is_some_and(|(last, _)| *last >= key) {
            return Err(bad(format!("line {lineno}: keys out of order")));
        }
        entries.push((key, value));
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use warren_store::embedded::EmbeddedStore;

    use super::*;

    async fn store(dir: &std::path::Path) -> Arc<dyn Store> {
        Arc::new(EmbeddedStore::open(&dir.join("store")).unwrap())
    }

    #[tokio::test]
    async fn save_and_restore_keep_every_key_and_value() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let src = store(a.path()).await;
        // More keys than one page, a non-UTF-8 value, an updated and a deleted key.
        for i in 0..700 {
            src.create(
                &format!("/registry/x/{i:05}"),
                format!("{{\"i\":{i}}}").into_bytes(),
            )
            .await
            .unwrap();
        }
        src.create("/registry/bin", vec![0xff, 0x00, 0xfe])
            .await
            .unwrap();
        let kv = src.get("/registry/x/00001").await.unwrap().unwrap();
        src.update(
            "/registry/x/00001",
            b"{\"i\":\"new\"}".to_vec(),
            kv.mod_revision,
        )
        .await
        .unwrap();
        let kv = src.get("/registry/x/00002").await.unwrap().unwrap();
        src.delete("/registry/x/00002", kv.mod_revision)
            .await
            .unwrap();

        let mut file = Vec::new();
        let saved = save(src.as_ref(), &mut file).await.unwrap();
        assert_eq!(saved.keys, 700);
        assert_eq!(saved.revision, src.current_revision().await.unwrap());

        let dst = store(b.path()).await;
        let restored = restore(dst.as_ref(), &mut file.as_slice()).await.unwrap();
        assert_eq!(restored.keys, 700);
        let all = |s: Arc<dyn Store>| async move {
            s.range("", "", 0, None)
                .await
                .unwrap()
                .kvs
                .into_iter()
                .map(|kv| (kv.key, kv.value))
                .collect::<Vec<_>>()
        };
        assert_eq!(all(src.clone()).await, all(dst.clone()).await);
        assert_eq!(
            dst.get("/registry/x/00001").await.unwrap().unwrap().value,
            b"{\"i\":\"new\"}"
        );
        assert!(dst.get("/registry/x/00002").await.unwrap().is_none());

        // A second restore into the same (now full) store is refused and writes nothing.
        let rev = dst.current_revision().await.unwrap();
        let err = restore(dst.as_ref(), &mut file.as_slice())
            .await
            .unwrap_err();
        assert!(matches!(err, SnapshotError::NotEmpty(_)), "{err}");
        assert_eq!(dst.current_revision().await.unwrap(), rev);
    }

    #[tokio::test]
    async fn damaged_files_are_refused_before_any_write() {
        let a = tempfile::tempdir().unwrap();
        let src = store(a.path()).await;
        for i in 0..10 {
            src.create(&format!("/k/{i}"), b"{}".to_vec())
                .await
                .unwrap();
        }
        let mut file = Vec::new();
        save(src.as_ref(), &mut file).await.unwrap();
        let text = String::from_utf8(file).unwrap();
        let lines: Vec<&str> = text.lines().collect();

        let truncated = lines[..lines.len() - 1].join("\n") + "\n";
        let altered = text.replace("/k/3", "/k/X");
        let dropped = [&lines[..4], &lines[5..]].concat().join("\n") + "\n";
        for (what, bytes) in [
            ("truncated", truncated),
            ("altered", altered),
            ("dropped line", dropped),
            ("not a snapshot", "{\"hello\":1}\n".to_string()),
            ("empty", String::new()),
        ] {
            let b = tempfile::tempdir().unwrap();
            let dst = store(b.path()).await;
            let err = restore(dst.as_ref(), &mut bytes.as_bytes())
                .await
                .expect_err(what);
            assert!(matches!(err, SnapshotError::Format(_)), "{what}: {err}");
            assert_eq!(dst.current_revision().await.unwrap(), 0, "{what}");
        }
    }
}
