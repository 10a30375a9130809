//! `ApiError`: the one error shape of the HTTP surface, rendered from the shared code table.
//! Every layer's error converts into it here, so each handler is `Result<T, ApiError>`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::access::Denied;
use crate::auth::AuthError;
use crate::content::ContentError;
use crate::error::{ErrorCode, FieldError};
use crate::tenancy::TenancyError;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub fields: Vec<FieldError>,
    /// For `RATE_LIMITED`: seconds until the next attempt may succeed.
    pub retry_after: Option<u64>,
}

/// The JSON body of every error answer of the admin API.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, the same as GraphQL's `extensions.code`.
    pub code: ErrorCode,
    /// A sentence for people; for `INTERNAL`, only a generic message.
    pub message: String,
    /// The broken rules, one per field path (`BAD_USER_INPUT`, `CONFLICT`).
    pub fields: Vec<FieldError>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            fields: Vec::new(),
            retry_after: None,
        }
    }

    pub fn with_fields(mut self, fields: Vec<FieldError>) -> Self {
        self.fields = fields;
        self
    }

    /// A `BAD_USER_INPUT` error on one field.
    pub fn invalid(path: &str, rule: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        ApiError::new(
            ErrorCode::BadUserInput,
            format!("{path}: {message} ({rule})"),
        )
        .with_fields(vec![FieldError::new(path, rule, message)])
    }

    pub(crate) fn internal(e: &dyn std::fmt::Debug) -> Self {
        tracing::error!(error = ?e, "internal error");
        ApiError::new(ErrorCode::Internal, "internal error")
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
        let status = self.status();
        let retry_after = self.retry_after;
        let body = ErrorBody {
            code: self.code,
            message: self.message,
            fields: self.fields,
        };
        let mut response = (status, Json(body)).into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<ContentError> for ApiError {
    fn from(e: ContentError) -> Self {
        let code = e.code();
        if code == ErrorCode::Internal {
            return ApiError::internal(&e);
        }
        let message = match &e {
            ContentError::Invalid(fields) => {
                format!("invalid input: {}", crate::error::describe_fields(fields))
            }
            other => other.to_string(),
        };
        ApiError::new(code, message).with_fields(e.fields().to_vec())
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Content(e) => e.into(),
            AuthError::RateLimited { retry_after_secs } => ApiError {
                retry_after: Some(retry_after_secs),
                ..ApiError::new(ErrorCode::RateLimited, e.to_string())
            },
            e if e.code() == ErrorCode::Internal => ApiError::internal(&e),
            e => ApiError::new(e.code(), e.to_string()).with_fields(e.fields().to_vec()),
        }
    }
}

impl From<TenancyError> for ApiError {
    fn from(e: TenancyError) -> Self {
        match e {
            TenancyError::Db(_) => ApiError::internal(&e),
            TenancyError::Invalid(fields) => ApiError::new(
                ErrorCode::BadUserInput,
                format!("invalid input: {}", crate::error::describe_fields(&fields)),
            )
            .with_fields(fields),
            TenancyError::Unknown(slug) => {
                ApiError::new(ErrorCode::NotFound, format!("tenant `{slug}` not found"))
            }
            e => ApiError::new(e.code(), e.to_string()),
        }
    }
}

impl From<Denied> for ApiError {
    fn from(d: Denied) -> Self {
        ApiError::new(d.code, d.message)
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        ApiError::internal(&e)
    }
}
