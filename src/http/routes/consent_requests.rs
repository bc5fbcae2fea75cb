//! `/v1/consents/requests`: ask a recipient for their consent to electronic registered letters through the
//! sender's Maileva account, and list the requests made to an address. The answer is followed by relais
//! (see `letters::consent_requests`).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::Scope;
use crate::domain::time::rfc3339_secs as rfc3339;
use crate::domain::{EmailAddress, FieldError};
use crate::http::error::ApiError;
use crate::http::extract::{AppJson, Caller};
use crate::letters::consent_requests::{RequestError, ask_consent, parse_request};
use crate::providers::ProviderError;
use crate::services::Services;
use crate::store::ConsentRequestRecord;

pub fn router() -> Router<Arc<Services>> {
    Router::new().route("/v1/consents/requests", post(create).get(list))
}

/// `POST /v1/consents/requests`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConsentRequest {
    /// The API key's own sender, if named.
    sender: Option<String>,
    /// The recipient to ask.
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    /// The recipient's company, if they are asked as part of one.
    company: Option<String>,
    /// Days the recipient has to answer, 1 to 30 (Maileva's default: 7).
    waiting_days: Option<i64>,
}

/// A consent request and where it stands: `pending` (asked, no answer yet), `accepted` (the consent is
/// recorded: `consent_id`), `refused`, `expired`, or `failed` (the provider refused it: nobody was asked).
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentRequestView {
    pub id: String,
    pub sender: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub company: Option<String>,
    pub state: String,
    pub state_detail: Option<String>,
    /// The Maileva account asked through, and its id of the consent.
    pub provider: String,
    pub provider_reference: Option<String>,
    pub consent_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&ConsentRequestRecord> for ConsentRequestView {
    fn from(r: &ConsentRequestRecord) -> Self {
        Self {
            id: r.id.as_str().to_owned(),
            sender: r.sender_id.as_str().to_owned(),
            email: r.email.clone(),
            first_name: r.first_name.clone(),
            last_name: r.last_name.clone(),
            company: r.company.clone(),
            state: r.state.as_str().to_owned(),
            state_detail: r.state_detail.clone(),
            provider: r.provider.clone(),
            provider_reference: r.provider_ref.clone(),
            consent_id: r.consent_id.as_ref().map(|c| c.as_str().to_owned()),
            created_at: rfc3339(r.created_at),
            updated_at: rfc3339(r.updated_at),
        }
    }
}

#[utoipa::path(
    post,
    path = "/v1/consents/requests",
    tag = "consents",
    summary = "Ask an individual, through Maileva, for their consent to electronic registered letters",
    description = "Maileva emails the recipient; relais follows the answer. Accepted: the consent is recorded \
                   with Maileva's proof and the letters waiting for it leave. Refused or expired: they leave on \
                   paper through the sender's fallback, if it has one. While a request to the same address is \
                   pending, asking again answers that one (200) and sends nothing.",
    request_body = NewConsentRequest,
    responses(
        (status = 202, description = "Asked: the answer is followed", body = ConsentRequestView),
        (status = 200, description = "A request to this address is already pending: that one", body = ConsentRequestView),
        (status = 503, description = "Maileva could not be reached: nobody was asked", body = crate::http::error::Problem),
        (status = 502, description = "Maileva refused the request: nobody was asked", body = crate::http::error::Problem),
        crate::http::openapi::KeyErrors, crate::http::openapi::InvalidFields
    ),
    security(("api_key" = []))
)]
async fn create(
    State(services): State<Arc<Services>>,
    caller: Caller,
    AppJson(raw): AppJson<NewConsentRequest>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Letters)?;
    if let Some(named) = raw.sender.as_deref().filter(|s| *s != caller.sender.as_str()) {
        let detail = format!("this API key belongs to sender `{}` and cannot ask for `{named}`", caller.sender);
        return Err(ApiError::forbidden(detail));
    }
    let input = parse_request(
        raw.email.as_deref(),
        raw.first_name.as_deref(),
        raw.last_name.as_deref(),
        raw.company.as_deref(),
        raw.waiting_days,
    )
    .map_err(ApiError::invalid)?;
    let (request, new) = ask_consent(&services, &caller.sender, input).await.map_err(|e| match e {
        RequestError::Invalid(errors) => ApiError::invalid(errors),
        RequestError::Store(e) => ApiError::from(e),
        RequestError::Provider(e) if e.is_transient() => ApiError::unavailable(e.to_string()),
        RequestError::Provider(e) => refused(&e),
    })?;
    let status = if new { StatusCode::ACCEPTED } else { StatusCode::OK };
    Ok((status, axum::Json(ConsentRequestView::from(&request))).into_response())
}

/// Maileva said no: its words (already cleared of secrets) as a 502.
fn refused(e: &ProviderError) -> ApiError {
    ApiError::new(StatusCode::BAD_GATEWAY, "provider_refused", "The provider refused the request", e.to_string())
}

#[derive(Debug, Deserialize)]
struct RequestQuery {
    email: Option<String>,
}

/// The requests made to one address, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentRequestList {
    pub email: String,
    pub data: Vec<ConsentRequestView>,
}

#[utoipa::path(
    get,
    path = "/v1/consents/requests",
    tag = "consents",
    summary = "The consent requests made to an address, newest first",
    params(("email" = String, Query, description = "The recipient's address")),
    responses((status = 200, description = "The requests", body = ConsentRequestList), crate::http::openapi::KeyErrors, crate::http::openapi::InvalidFields),
    security(("api_key" = []))
)]
async fn list(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Query(q): Query<RequestQuery>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Letters)?;
    let email = q.email.as_deref().ok_or_else(|| {
        ApiError::invalid(FieldError::new("email", "required", "give ?email= to list the requests").into())
    })?;
    let email = EmailAddress::parse(email).map_err(|e| ApiError::invalid(e.under("email").into()))?;
    let requests = services.store.consent_requests(&caller.sender, email.as_str()).await?;
    let data = requests.iter().map(ConsentRequestView::from).collect();
    Ok(axum::Json(ConsentRequestList { email: email.as_str().to_owned(), data }).into_response())
}
