//! The fake AR24's sender routes: `GET/POST /user`, `/user/request_access`, `/user/auth_otp` (providers.md §1.4).

use chrono::{TimeDelta, Utc};
use serde_json::{Value, json};

use super::Shared;
use super::model::{FakeUser, OtpSession, State, paris, random_hex};
use super::wire::Incoming;

pub type Reply = Result<Value, &'static str>;

/// An OTP session lasts one hour (providers.md §1.4).
pub const OTP_SESSION: TimeDelta = TimeDelta::hours(1);

/// The user record as `GET /user` shows it; `is_identity_verified` only appears when verified (§1.4).
pub fn user_json(user: &FakeUser) -> Value {
    let mut record = json!({
        "id": user.id,
        "email": user.email,
        "firstname": user.firstname,
        "lastname": user.lastname,
        "company": user.company,
        "statut": user.statut,
        "confirmed": user.confirmed,
        "cgu": true,
        "payment_active": user.payment_active,
        "is_payment_possible": user.payment_active,
    });
    if user.is_identity_verified {
        record["is_identity_verified"] = json!(true);
    }
    record
}

/// The sender named by `id_user`, if the token may act for it (`user_unavailable` otherwise, §1.3).
pub fn sender<'a>(state: &'a State, incoming: &Incoming) -> Result<&'a FakeUser, &'static str> {
    let id = incoming.param("id_user").ok_or("user_not_exist")?;
    let user = id.trim().parse().ok().and_then(|id| state.user(id)).ok_or("user_not_exist")?;
    if !user.api_access {
        return Err("user_unavailable");
    }
    Ok(user)
}

/// `GET /user?id_user=|email=`. Unknown users answer `user_not_exist` (the fake's choice of slug).
pub fn get(shared: &Shared, incoming: &Incoming) -> Reply {
    let state = shared.state();
    let user = match incoming.param("email") {
        Some(email) if incoming.param("id_user").is_none() => state.user_by_email(email).ok_or("user_not_exist")?,
        _ => sender(&state, incoming)?,
    };
    if !user.api_access {
        return Err("user_unavailable");
    }
    Ok(user_json(user))
}

/// `POST /user`: the required fields of providers.md §1.4, each with its `missing_*` slug.
pub fn create(shared: &Shared, incoming: &Incoming) -> Reply {
    let required = [
        ("firstname", "missing_firstname"),
        ("lastname", "missing_lastname"),
        ("email", "missing_email"),
        ("gender", "error_gender"),
        ("statut", "status_invalid"),
        ("address1", "missing_address"),
        ("city", "missing_city"),
        ("zipcode", "missing_zipcode"),
        ("country", "missing_country"),
    ];
    for (field, slug) in required {
        incoming.param(field).ok_or(slug)?;
    }
    let email = incoming.param("email").unwrap_or_default();
    if !valid_email(email) {
        return Err("email_wrong_format");
    }
    let statut = incoming.param("statut").unwrap_or_default();
    if !["particulier", "professionnel", "administration", "association"].contains(&statut) {
        return Err("status_invalid");
    }
    let pro = ["professionnel", "administration"].contains(&statut);
    if pro && incoming.param("country") == Some("FR") && incoming.param("company_siret").is_none() {
        return Err("missing_company_siret");
    }
    let mut state = shared.state();
    if state.user_by_email(email).is_some() {
        return Err("user_already_exist");
    }
    let id = state.next_id();
    let user = FakeUser {
        id,
        email: email.to_string(),
        firstname: incoming.param("firstname").unwrap_or_default().to_string(),
        lastname: incoming.param("lastname").unwrap_or_default().to_string(),
        company: incoming.param("company").unwrap_or_default().to_string(),
        statut: statut.to_string(),
        // The fake's choice: a sender created through the API is usable at once (no e-mail confirmation).
        confirmed: true,
        payment_active: true,
        is_identity_verified: false,
        api_access: true,
        otp: None,
    };
    let record = user_json(&user);
    state.users.push(user);
    Ok(json!({ "id": id, "user": record }))
}

/// `POST /user/request_access`: AR24 e-mails the owner of an existing account (providers.md §1.4). The
/// fake records the request; the test grants access with `set_user_flag(id, "api_access", true)`.
pub fn request_access(shared: &Shared, incoming: &Incoming) -> Reply {
    let email = incoming.param("email").ok_or("missing_email")?;
    let mut state = shared.state();
    let id = state.user_by_email(email).ok_or("user_not_exist")?.id;
    state.access_requests.push(email.to_string());
    Ok(json!({ "id_user": id, "email": email }))
}

/// `POST /user/auth_otp`: the test's code opens a one-hour session (providers.md §1.4).
pub fn auth_otp(shared: &Shared, incoming: &Incoming) -> Reply {
    let mut state = shared.state();
    let (user_id, code) = sender(&state, incoming).map(|u| (u.id, u.otp.clone()))?;
    let sent = incoming.param("otp").ok_or("authentication_otp_invalid")?;
    if code.as_deref() != Some(sent.trim()) {
        return Err("authentication_otp_invalid");
    }
    let session = OtpSession { hash: random_hex(32), user_id, opened: Utc::now() };
    let reply = json!({ "hash": session.hash, "expiration_date": paris(session.opened + OTP_SESSION) });
    state.sessions.push(session);
    Ok(reply)
}

/// Good enough for a fake: one `@`, something on each side, a dot in the domain, no spaces.
pub fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else { return false };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.contains(char::is_whitespace)
        && !domain.contains('@')
}
