//! Derived views of one key prefix (e.g. every RBAC object), rebuilt only when the watch cache
//! shows a change under the prefix, instead of being read and decoded on every request.
//!
//! Reads are as fresh as the store: a request first waits (briefly) until the watch cache has
//! seen the store's current revision, so a client that has just written a RoleBinding is
//! authorized by it on its next request.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use warren_apimachinery::error::ApiError;
use warren_store::Revision;

use crate::handlers::plain_store_error;
use crate::object::decode_stored;
use crate::server::ApiServer;

/// How long a read waits for the watch cache to catch up with the store before reading the
/// store itself.
const CATCH_UP: Duration = Duration::from_secs(2);

/// A value derived from every object under one prefix.
pub struct PrefixCache<T> {
    prefix: String,
    state: tokio::sync::Mutex<Option<(Revision, Arc<T>)>>,
}

impl<T> PrefixCache<T> {
    /// A cache of the objects under `prefix` (nothing is read until the first [`Self::get`]).
    pub fn new(prefix: impl Into<String>) -> Self {
        PrefixCache {
            prefix: prefix.into(),
            state: tokio::sync::Mutex::new(None),
        }
    }

    /// The view, rebuilt by `build` from the (key, object) pairs under the prefix when anything
    /// there changed since it was last built.
    pub async fn get(
        &self,
        api: &ApiServer,
        build: impl FnOnce(Vec<(String, Value)>) -> T,
    ) -> Result<Arc<T>, ApiError> {
        let current = api
            .store
            .current_revision()
            .await
            .map_err(plain_store_error)?;
        let caught_up = api.watch_cache.wait_for(current, CATCH_UP).await;
        let mut state = self.state.lock().await;
        if caught_up
            && let Some((revision, value)) = state.as_mut()
            && let Some((false, seen)) = api.watch_cache.changed_since(*revision, &self.prefix)
        {
            *revision = seen;
            return Ok(value.clone());
        }
        let res = api
            .store
            .range(&self.prefix, "", 0, None)
            .await
            .map_err(plain_store_error)?;
        let objects = res
            .kvs
            .iter()
            .map(|kv| (kv.key.clone(), decode_stored(&kv.value, kv.mod_revision)))
            .collect();
        let value = Arc::new(build(objects));
        *state = Some((res.revision, value.clone()));
        Ok(value)
    }
}
