//! The one mapping from errors to HTTP: `application/problem+json` (RFC 9457) with a stable `code`, a human
//! `detail`, and `errors: [{field, code, message}]`. Internal errors are logged with their cause, never leaked.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::accounts::{Scope, Scopes};
use crate::domain::{FieldError, FieldErrors};
use crate::intake::IntakeError;
use crate::letters::SubmitError;
use crate::letters::transitions::CancelError;
use crate::store::StoreError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub title: &'static str,
    pub detail: String,
    pub errors: Vec<FieldError>,
    /// Seconds after which a retry may succeed: sent as `Retry-After` (503s).
    pub retry_after: Option<u32>,
}

/// What a 503 tells the client to wait before retrying, in seconds.
pub const RETRY_AFTER_SECONDS: u32 = 2;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, title: &'static str, detail: impl Into<String>) -> Self {
        Self { status, code, title, detail: detail.into(), errors: vec![], retry_after: None }
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "Missing or invalid API key", detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Not allowed for this API key", detail)
    }

    /// 403 for a key without the scope a route needs; `errors[0].field` is `scope`.
    pub fn missing_scope(needed: Scope, held: &Scopes) -> Self {
        let detail =
            format!("this API key lacks the `{needed}` scope (it has: {held}); create a key with `--scope {needed}`");
        let mut e = Self::new(StatusCode::FORBIDDEN, "missing_scope", "Not allowed for this API key", detail.clone());
        e.errors.push(FieldError::new("scope", "missing_scope", detail));
        e
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "Not found", detail)
    }

    pub fn invalid(errors: FieldErrors) -> Self {
        let detail = match errors.0.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            many => format!(
                "{} fields are invalid: {}",
                many.len(),
                many.iter().map(|e| e.field.as_str()).collect::<Vec<_>>().join(", ")
            ),
        };
        Self {
            errors: errors.0,
            ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "The request has invalid fields", detail)
        }
    }

    pub fn malformed(field: Option<String>, message: String) -> Self {
        let mut e =
            Self::new(StatusCode::BAD_REQUEST, "malformed_request", "The request body cannot be read", message.clone());
        if let Some(field) = field {
            e.detail = format!("{field}: {message}");
            e.errors.push(FieldError::new(field, "malformed", message));
        }
        e
    }

    /// A failure that is ours, not the client's: logged in full, answered in general terms.
    pub fn internal(cause: &dyn std::error::Error) -> Self {
        let mut chain = cause.to_string();
        let mut source = cause.source();
        while let Some(s) = source {
            chain.push_str(": ");
            chain.push_str(&s.to_string());
            source = s.source();
        }
        tracing::error!(error = %chain, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Internal error",
            "relais could not complete the request; it was logged",
        )
    }

    /// 503 with `Retry-After`: the same request (same Idempotency-Key) may succeed in a moment.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        let e = Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Temporarily unavailable", detail);
        Self { retry_after: Some(RETRY_AFTER_SECONDS), ..e }
    }
}

/// An error, as `application/problem+json` (RFC 9457) with relais's extensions `code` and `errors`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// `/problems/{code}`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// What went wrong, in words.
    pub detail: String,
    /// A stable code to match on (`validation_failed`, `not_found`, `missing_scope`, `unmapped`…).
    pub code: String,
    /// Every field at fault, all at once.
    pub errors: Vec<FieldError>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Problem {
            kind: format!("/problems/{}", self.code),
            title: self.title.to_owned(),
            status: self.status.as_u16(),
            detail: self.detail,
            code: self.code.to_owned(),
            errors: self.errors,
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        if e.is_transient() {
            tracing::warn!(error = %e, "database unavailable");
            return Self::unavailable("the database is busy or unreachable; retry with the same Idempotency-Key");
        }
        Self::internal(&e)
    }
}

impl From<IntakeError> for ApiError {
    fn from(e: IntakeError) -> Self {
        match e {
            IntakeError::Malformed { field, message } => Self::malformed(field, message),
            IntakeError::Invalid(errors) => Self::invalid(errors),
            IntakeError::Forbidden(detail) => Self::forbidden(detail),
            IntakeError::TooLarge { limit } => {
                let mut e = Self::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    "Attachments too large",
                    format!("the attachments of a letter may total {limit} bytes at most"),
                );
                e.errors.push(FieldError::new("attachments", "too_large", e.detail.clone()));
                e
            }
            IntakeError::Io(io) => Self::internal(&io),
            IntakeError::Store(store) => store.into(),
        }
    }
}

impl From<SubmitError> for ApiError {
    fn from(e: SubmitError) -> Self {
        match e {
            SubmitError::IdempotencyConflict(letter) => Self::new(
                StatusCode::CONFLICT,
                "idempotency_conflict",
                "Idempotency-Key reused with a different request",
                format!(
                    "this Idempotency-Key created letter {letter} from a different request; use a new key for a new letter"
                ),
            ),
            SubmitError::Store(s) => s.into(),
            other => Self::internal(&other),
        }
    }
}

impl From<CancelError> for ApiError {
    fn from(e: CancelError) -> Self {
        match e {
            CancelError::NotFound(id) => Self::not_found(format!("no letter {id}")),
            CancelError::TooLate(_) => Self::new(
                StatusCode::CONFLICT,
                "not_cancellable",
                "The letter can no longer be cancelled",
                e.to_string(),
            ),
            CancelError::Transition(t) => Self::internal(&t),
        }
    }
}
