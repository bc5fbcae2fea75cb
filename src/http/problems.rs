//! The last word on errors: any error response that is not JSON already (axum's own
//! rejections — 405, 413, query strings — and the timeout layer's answer) becomes one, keeping its status and
//! headers, so every route answers every error in one format.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, RETRY_AFTER_SECONDS};

/// The most of a plain error body kept as the problem's detail.
const MAX_DETAIL_BYTES: usize = 2048;

pub async fn problems_only(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    // A JSON answer was meant as it is (a problem, or `/readyz` saying what is down), and so was an HTML page
    // of the console (its own error pages, for people).
    let meant = response.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
        let v = v.as_bytes();
        v.starts_with(b"application/problem+json") || v.starts_with(b"application/json") || v.starts_with(b"text/html")
    });
    if !(status.is_client_error() || status.is_server_error()) || meant {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, MAX_DETAIL_BYTES).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
        Err(_) => String::new(),
    };
    let mut problem = problem_for(status, text).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            problem.headers_mut().insert(name, value.clone());
        }
    }
    if status == StatusCode::SERVICE_UNAVAILABLE && !problem.headers().contains_key(header::RETRY_AFTER) {
        problem.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    }
    let (parts, body) = problem.into_parts();
    Response::from_parts(parts, Body::new(body))
}

fn problem_for(status: StatusCode, text: String) -> ApiError {
    let detail = |default: &str| if text.is_empty() { default.to_owned() } else { text.clone() };
    match status {
        StatusCode::METHOD_NOT_ALLOWED => ApiError::new(
            status,
            "method_not_allowed",
            "Method not allowed",
            "this route does not answer this method; the Allow header lists those it does",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            status,
            "too_large",
            "Request too large",
            format!("{}; large files go in a multipart request", detail("the body is larger than this route accepts")),
        ),
        StatusCode::SERVICE_UNAVAILABLE if text.is_empty() => ApiError::new(
            status,
            "timeout",
            "Request took too long",
            "relais did not finish the request within server.request_timeout; retry with the same Idempotency-Key",
        ),
        StatusCode::BAD_REQUEST => ApiError::malformed(None, detail("the request cannot be read")),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
            status,
            "unsupported_media_type",
            "Unsupported content type",
            detail("unsupported content type"),
        ),
        StatusCode::NOT_FOUND => ApiError::not_found(detail("not found")),
        StatusCode::UNAUTHORIZED => ApiError::unauthorized(detail("authentication required")),
        other => {
            let title = other.canonical_reason().unwrap_or("Error");
            let code = if other.is_server_error() { "internal_error" } else { "bad_request" };
            ApiError::new(other, code, title, detail(title))
        }
    }
}
