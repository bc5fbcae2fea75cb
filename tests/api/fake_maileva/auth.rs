//! The fake Maileva's OAuth2 token endpoint (api-authentication v2.1): the password and refresh_token
//! grants, with the application's credentials as Basic or as form fields, tokens that expire; and the
//! bearer check of every API call.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::json;

use super::{CLIENT_ID, CLIENT_SECRET, PASSWORD, Shared, USERNAME, errors};

const REFRESH_LIFETIME: Duration = Duration::from_secs(1800);

/// `POST …/openid-connect/token`.
pub async fn token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    let (client_id, client_secret) =
        basic(&headers).unwrap_or_else(|| (field("client_id").into(), field("client_secret").into()));
    if client_id != CLIENT_ID || client_secret != CLIENT_SECRET {
        return errors(StatusCode::UNAUTHORIZED, "invalid_client", "unknown application credentials");
    }
    let mut state = shared.state();
    let grant = field("grant_type");
    state.grants.push(grant.to_owned());
    let now = Instant::now();
    let granted = match grant {
        "password" => field("username") == USERNAME && field("password") == PASSWORD,
        "refresh_token" => state.refresh_tokens.get(field("refresh_token")).is_some_and(|until| *until > now),
        _ => return errors(StatusCode::BAD_REQUEST, "unsupported_grant_type", "use password or refresh_token"),
    };
    if !granted {
        return errors(StatusCode::UNAUTHORIZED, "invalid_grant", "invalid user credentials or refresh token");
    }
    let access = format!("at-{}", state.id());
    let refresh = format!("rt-{}", state.id());
    let lifetime = state.token_lifetime;
    state.access_tokens.insert(access.clone(), now + lifetime);
    state.refresh_tokens.insert(refresh.clone(), now + REFRESH_LIFETIME);
    let answer = json!({
        "access_token": access, "expires_in": lifetime.as_secs(), "refresh_token": refresh,
        "refresh_expires_in": REFRESH_LIFETIME.as_secs(), "token_type": "Bearer"
    });
    (StatusCode::OK, axum::Json(answer)).into_response()
}

fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(value).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// The 401 to answer (`error_response`) unless the call's bearer token is valid and not expired.
pub fn denied(shared: &Shared, headers: &HeaderMap) -> Option<Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let valid = shared.state().access_tokens.get(token).is_some_and(|until| *until > Instant::now());
    let body = json!({"code": "UNAUTHORIZED", "message": "missing, unknown or expired access token"});
    (!valid).then(|| (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response())
}
