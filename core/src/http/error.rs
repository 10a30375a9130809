//! `ApiError`: the one error shape of the HTTP surface, rendered from the shared code table.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::error::{ErrorCode, FieldError};

#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub fields: Vec<FieldError>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            fields: Vec::new(),
        }
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// As a GraphQL response body (`{"errors": [...]}`).
    pub fn graphql_body(&self) -> serde_json::Value {
        let mut ext = serde_json::json!({ "code": self.code.as_str() });
        if !self.fields.is_empty() {
            ext["fields"] = serde_json::to_value(&self.fields).unwrap_or_default();
        }
        serde_json::json!({ "errors": [{ "message": self.message, "extensions": ext }] })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "code": self.code.as_str(), "message": self.message, "fields": self.fields });
        (self.status(), Json(body)).into_response()
    }
}
