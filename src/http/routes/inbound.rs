//! `POST /v1/inbound/mime`: raw RFC 5322 bytes from an MTA pipe (`curl --data-binary @-`) or an
//! inbound-parse service, authenticated by the ingress key. A 2xx means relais has it (do not retry);
//! a 5xx means try again later.

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::http::error::ApiError;
use crate::intake::IntakeError;
use crate::intake::email::authenticate::Arrival;
use crate::intake::email::receive::{Outcome, receive};
use crate::intake::email::sink::Delivery;
use crate::services::Services;

pub fn router(_services: &Services) -> Router<Arc<Services>> {
    // The body limit is applied by the handler, after the ingress key is checked.
    Router::new().route("/v1/inbound/mime", post(create).layer(DefaultBodyLimit::disable()))
}

#[derive(Debug, Deserialize)]
struct InboundQuery {
    /// The envelope recipient (its `+tag` may name the template); else `X-Original-To`, else the To header.
    to: Option<String>,
}

fn authorized(services: &Services, headers: &HeaderMap) -> Result<(), ApiError> {
    let key = services.settings.intake.mime.ingress_key.expose();
    if key.is_empty() {
        return Err(ApiError::not_found("raw MIME intake is off: set intake.mime.ingress_key"));
    }
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| ApiError::unauthorized("send the ingress key as `Authorization: Bearer <key>`"))?;
    if bool::from(presented.trim().as_bytes().ct_eq(key.as_bytes())) {
        Ok(())
    } else {
        Err(ApiError::unauthorized("this ingress key is not the configured one"))
    }
}

/// The ingress key is checked from the headers before a byte of the body is read: an unauthenticated
/// request costs no memory.
#[utoipa::path(
    post,
    path = "/v1/inbound/mime",
    tag = "inbound",
    summary = "An email as raw RFC 5322 bytes, from an MTA pipe (ingress key)",
    params(("to" = Option<String>, Query, description = "The envelope recipient")),
    request_body(content = Vec<u8>, content_type = "message/rfc822"),
    responses((status = 202, description = "The message was taken", body = serde_json::Value), (status = 401, description = "No or wrong ingress key", body = crate::http::error::Problem, content_type = "application/problem+json"), (status = 413, description = "Too large", body = crate::http::error::Problem, content_type = "application/problem+json")),
    security(("ingress_key" = []))
)]
async fn create(
    State(services): State<Arc<Services>>,
    Query(query): Query<InboundQuery>,
    request: Request,
) -> Result<Response, ApiError> {
    authorized(&services, request.headers())?;
    let headers = request.headers().clone();
    let limit = services.settings.intake.max_message_size.0 as usize + 64 * 1024;
    // Parsing holds about four times the message: reserved before the body is read.
    let length = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse().ok());
    let _memory = services.intake_memory.reserve(crate::intake::memory_use(length, limit as u64, 4)).await;
    let body = axum::body::to_bytes(request.into_body(), limit).await.map_err(|_| {
        let detail = format!("an email is at most {limit} bytes here (intake.max_message_size)");
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "Email too large", detail)
    })?;
    let to = query
        .to
        .or_else(|| headers.get("x-original-to").and_then(|v| v.to_str().ok()).map(str::to_owned))
        .unwrap_or_default();
    let incoming = Delivery { raw: &body, arrival: Arrival::Relayed, recipient: &to, channel: "mime" };
    let outcome = receive(&services, incoming).await.map_err(|e| match e {
        IntakeError::Io(_) | IntakeError::Store(_) => {
            tracing::error!(error = %e, "an inbound email could not be stored");
            ApiError::unavailable("the email could not be stored; deliver it again later")
        }
        other => ApiError::from(other),
    })?;
    let (status, body) = match outcome {
        Outcome::Accepted(letter) => {
            (StatusCode::ACCEPTED, json!({ "outcome": "accepted", "letter": letter.as_str() }))
        }
        Outcome::Rejected(problems) => (StatusCode::OK, json!({ "outcome": "rejected", "problems": problems })),
        Outcome::Refused(reason) => (StatusCode::OK, json!({ "outcome": "refused", "reason": reason })),
        Outcome::Ignored(why) => (StatusCode::OK, json!({ "outcome": "ignored", "reason": format!("{why:?}") })),
        Outcome::Duplicate => (StatusCode::OK, json!({ "outcome": "duplicate" })),
        Outcome::AwaitingConfirmation => (StatusCode::ACCEPTED, json!({ "outcome": "awaiting_confirmation" })),
    };
    Ok((status, axum::Json(body)).into_response())
}
