//! ResourceQuota: object counts and compute requests/limits per namespace, charged at admission
//! and recalculated by the quota controller.

use serde_json::Value;
use warren_apimachinery::error::ApiError;

use super::Request;
use crate::server::ApiServer;

/// Refuses a write that would exceed a quota of the namespace, and charges it otherwise.
pub async fn admit(_api: &ApiServer, _req: &Request<'_>, _obj: &Value) -> Result<(), ApiError> {
    Ok(())
}
