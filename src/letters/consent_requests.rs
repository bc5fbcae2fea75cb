//! Asking a recipient for their consent through the sender's Maileva account (`POST /v1/consents/requests`),
//! and following the answer. Accepted: the consent is recorded in the registry with the provider's proof,
//! which releases the letters waiting for it. Refused or expired: the letters waiting for that address go
//! the sender's paper fallback way, or stay waiting with the answer on their timeline.

use std::time::Duration;

use serde_json::json;

use super::consent::{ConsentError, ConsentInput, record_consent_in, store_proof};
use super::transitions::{record_event, transition};
use super::{JobError, fallback};
use crate::config::{ProviderSettings, SenderSettings};
use crate::domain::{ConsentId, ConsentRequestId, EmailAddress, FieldError, FieldErrors, LetterState, SenderId};
use crate::providers::consents::{ConsentAnswer, ConsentAsk, ConsentRequests};
use crate::services::Services;
use crate::store::consent_requests::{self as requests, ConsentRequestRecord, RequestState};
use crate::store::{self, NewJob, Tx, now_ms};

/// Follow a consent request: ask the provider for the recipient's answer, and act on it.
pub const FOLLOW: &str = "consent_request";

/// The longest names Maileva's recipients take (inferred: the spec gives no length; its addresses take 38
/// characters a line, relais allows a little more for a name and a company).
const MAX_NAME: usize = 100;

/// A request to make, checked.
#[derive(Debug, Clone)]
pub struct RequestInput {
    pub email: EmailAddress,
    pub first_name: String,
    pub last_name: String,
    pub company: Option<String>,
    /// Days the recipient has to answer, 1 to 30 (Maileva's default, 7, when not given).
    pub waiting_days: Option<u32>,
}

/// Checks a request as given by a client: every field at fault is named.
pub fn parse_request(
    email: Option<&str>,
    first_name: Option<&str>,
    last_name: Option<&str>,
    company: Option<&str>,
    waiting_days: Option<i64>,
) -> Result<RequestInput, FieldErrors> {
    let mut errors = FieldErrors::default();
    let email = match email.map(str::trim).filter(|e| !e.is_empty()) {
        Some(e) => errors.take("email", EmailAddress::parse(e)),
        None => {
            errors.push(FieldError::new("email", "required", "give the address of the recipient to ask"));
            None
        }
    };
    let mut name = |field: &str, value: Option<&str>, required: bool| -> Option<String> {
        let value = value.map(str::trim).filter(|v| !v.is_empty());
        match value {
            None if required => {
                errors.push(FieldError::new(
                    field,
                    "required",
                    format!("give the recipient's {}", field.replace('_', " ")),
                ));
                None
            }
            Some(v) if v.chars().count() > MAX_NAME => {
                errors.push(FieldError::new(field, "too_long", format!("at most {MAX_NAME} characters")));
                None
            }
            other => other.map(str::to_owned),
        }
    };
    let first_name = name("first_name", first_name, true);
    let last_name = name("last_name", last_name, true);
    let company = name("company", company, false);
    let waiting_days = match waiting_days {
        Some(days @ 1..=30) => Some(days as u32),
        Some(days) => {
            errors.push(FieldError::new("waiting_days", "out_of_range", format!("1 to 30 days, not {days}")));
            None
        }
        None => None,
    };
    match (email, first_name, last_name) {
        (Some(email), Some(first_name), Some(last_name)) if errors.is_empty() => {
            Ok(RequestInput { email, first_name, last_name, company, waiting_days })
        }
        _ => Err(errors),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The sender cannot ask (no Maileva account, no Maileva sender id): names the field.
    #[error("{}", .0.0.first().map(|e| e.message.as_str()).unwrap_or_default())]
    Invalid(FieldErrors),
    /// The provider refused the request or could not be reached: nobody was asked.
    #[error("{0}")]
    Provider(crate::providers::ProviderError),
    #[error(transparent)]
    Store(#[from] store::StoreError),
}

impl From<sqlx::Error> for RequestError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

/// The sender's Maileva account that can ask (its own provider, or its paper fallback), and the sender's
/// id at Maileva's electronic APIs.
fn account<'a>(
    services: &'a Services,
    sender: &'a SenderSettings,
) -> Result<(&'a str, &'a dyn ConsentRequests, &'a str), RequestError> {
    let names = std::iter::once(sender.provider.as_str()).chain(sender.paper_fallback());
    let found = names.filter_map(|name| Some((name, services.providers.get(name)?.consent_requests()?))).next();
    let Some((name, asker)) = found else {
        let message = format!(
            "sender `{}` has no Maileva account to ask through: its provider or its paper fallback must be one",
            sender.id
        );
        return Err(RequestError::Invalid(FieldError::new("sender", "no_consent_provider", message).into()));
    };
    let Some(maileva_sender) = sender.maileva_sender_id.as_deref() else {
        let message = format!(
            "sender `{}` has no maileva_sender_id in the configuration: the id of its sender at Maileva's \
             electronic APIs, in whose name the recipient is asked",
            sender.id
        );
        return Err(RequestError::Invalid(FieldError::new("sender", "no_maileva_sender_id", message).into()));
    };
    Ok((name, asker, maileva_sender))
}

/// A pending request without Maileva's consent id, older than its calls to Maileva can take: the process
/// that claimed it stopped before recording the answer. (The recipient may have been asked then; Maileva
/// offers no documented lookup by `custom_id` to tell, so a new request asks again rather than never.)
fn abandoned(services: &Services, request: &ConsentRequestRecord, now: i64) -> bool {
    let timeout = match services.settings.providers.get(&request.provider) {
        Some(ProviderSettings::Maileva(m)) => m.timeout,
        _ => Duration::from_secs(60),
    };
    request.provider_ref.is_none() && request.created_at + millis(timeout * 4 + Duration::from_secs(60)) < now
}

/// How often an unanswered request is looked at: the account's `sync_every`.
fn follow_every(services: &Services, provider: &str) -> Duration {
    match services.settings.providers.get(provider) {
        Some(ProviderSettings::Maileva(m)) => m.sync_every,
        _ => Duration::from_secs(3600),
    }
}

/// Asks `input.email` for their consent to letters of `sender`. Returns the request and whether it is new:
/// while one is pending for the same address, that one is answered and nothing is sent.
pub async fn ask_consent(
    services: &Services,
    sender: &SenderId,
    input: RequestInput,
) -> Result<(ConsentRequestRecord, bool), RequestError> {
    let settings = services.settings.sender(sender).ok_or_else(|| {
        RequestError::Invalid(FieldError::new("sender", "unknown", format!("no sender `{sender}`")).into())
    })?;
    let (provider, asker, maileva_sender) = account(services, settings)?;
    let now = now_ms();
    let mut record = ConsentRequestRecord {
        id: ConsentRequestId::generate(),
        sender_id: sender.clone(),
        email: input.email.as_str().to_lowercase(),
        first_name: input.first_name,
        last_name: input.last_name,
        company: input.company,
        waiting_days: input.waiting_days.map(i64::from),
        provider: provider.to_owned(),
        provider_ref: None,
        state: RequestState::Pending,
        state_detail: None,
        consent_id: None,
        created_at: now,
        updated_at: now,
    };
    // The pending row is claimed before Maileva is called: a second request at the same time finds it.
    let mut tx = services.store.begin().await?;
    if !requests::insert_pending(&mut tx, &record).await? {
        let existing = requests::pending(&mut tx, sender, &record.email).await?.ok_or_else(|| {
            RequestError::Store(store::StoreError::Corrupt("a pending consent request vanished".into()))
        })?;
        if !abandoned(services, &existing, now) {
            tx.commit().await?;
            return Ok((existing, false));
        }
        // Claimed by a relais that stopped before Maileva answered: it ends, and this request takes its place.
        let detail = "relais stopped before Maileva answered this request; a later request replaced it";
        requests::settle(&mut tx, &existing.id, RequestState::Failed, Some(detail), None, now).await?;
        if !requests::insert_pending(&mut tx, &record).await? {
            return Err(RequestError::Store(store::StoreError::Corrupt("a consent request is claimed twice".into())));
        }
    }
    tx.commit().await?;
    let ask = ConsentAsk {
        provider_sender: maileva_sender,
        custom_id: record.id.as_str(),
        email: &record.email,
        first_name: &record.first_name,
        last_name: &record.last_name,
        company: record.company.as_deref(),
        waiting_days: input.waiting_days,
    };
    let asked = asker.ask(&ask).await;
    let mut tx = services.store.begin().await?;
    let now = now_ms();
    match asked {
        Ok(consent) | Err((Some(consent), _)) => {
            requests::set_provider_ref(&mut tx, &record.id, &consent, now).await?;
            let job = NewJob {
                kind: FOLLOW,
                letter_id: None,
                payload: json!({ "request": record.id.as_str() }),
                run_at: now + millis(follow_every(services, provider)),
            };
            store::jobs::enqueue(&mut tx, job, now).await?;
            tx.commit().await?;
            record.provider_ref = Some(consent);
            record.updated_at = now;
            Ok((record, true))
        }
        Err((None, e)) => {
            let detail = e.to_string();
            requests::settle(&mut tx, &record.id, RequestState::Failed, Some(&detail), None, now).await?;
            tx.commit().await?;
            Err(RequestError::Provider(e))
        }
    }
}

/// The `consent_request` job: asks the provider for the answer. Still waiting: looked at again after the
/// account's `sync_every`. An answer settles the request once, in the transaction that acts on it.
pub async fn follow_request(services: &Services, payload: &serde_json::Value) -> Result<(), JobError> {
    let id: ConsentRequestId = payload["request"].as_str().unwrap_or_default().parse().map_err(JobError::Permanent)?;
    let Some(request) = services.store.consent_request(&id).await? else { return Ok(()) };
    let Some(consent) = request.provider_ref.clone().filter(|_| request.state == RequestState::Pending) else {
        return Ok(());
    };
    let Some(asker) = services.providers.get(&request.provider).and_then(|p| p.consent_requests()) else {
        return Err(JobError::Permanent(format!("provider `{}` cannot follow consent requests", request.provider)));
    };
    let provider_error = |e: crate::providers::ProviderError| {
        if e.is_transient() { JobError::Transient(e.to_string()) } else { JobError::Permanent(e.to_string()) }
    };
    let answer = asker.answer(&consent).await.map_err(provider_error)?;
    let now = now_ms();
    match answer {
        ConsentAnswer::Waiting => {
            let mut tx = services.store.begin().await?;
            let run_at = now + millis(follow_every(services, &request.provider));
            let job = NewJob { kind: FOLLOW, letter_id: None, payload: payload.clone(), run_at };
            store::jobs::enqueue(&mut tx, job, now).await?;
            tx.commit().await?;
            Ok(())
        }
        ConsentAnswer::Accepted => {
            let proof = asker.download_proof(&consent).await.map_err(provider_error)?;
            if !super::files::looks_like_pdf(&proof) {
                return Err(JobError::Transient("the consent proof from Maileva is not a PDF".into()));
            }
            accepted(services, &request, &proof).await
        }
        ConsentAnswer::Refused => declined(services, &request, RequestState::Refused).await,
        ConsentAnswer::Expired => declined(services, &request, RequestState::Expired).await,
    }
}

/// Records the consent with its proof and releases the waiting letters, settling the request once.
async fn accepted(services: &Services, request: &ConsentRequestRecord, proof: &[u8]) -> Result<(), JobError> {
    let id = ConsentId::generate();
    let stored = store_proof(services, &id, Some(proof)).await?;
    let email = EmailAddress::parse(&request.email).map_err(|e| JobError::Permanent(e.message))?;
    let input = ConsentInput {
        sender: request.sender_id.clone(),
        email,
        given_at: now_ms(),
        source: format!(
            "accepted by the recipient through Maileva (consent request {}, Maileva consent {})",
            request.id,
            request.provider_ref.as_deref().unwrap_or_default()
        ),
        proof: None,
        recorded_by: None,
    };
    let mut tx = services.store.begin().await?;
    if !requests::settle(&mut tx, &request.id, RequestState::Accepted, None, Some(&id), now_ms()).await? {
        drop(tx);
        if let Some(stored) = &stored {
            let _ = tokio::fs::remove_file(&stored.path).await;
        }
        return Ok(());
    }
    record_consent_in(&mut tx, &id, &input, stored.as_ref()).await.map_err(|e| match e {
        ConsentError::Store(e) => JobError::from(e),
        other => JobError::Transient(other.to_string()),
    })?;
    tx.commit().await?;
    services.store.wake_workers();
    Ok(())
}

/// The recipient refused, or let the request expire: the letters waiting for the address leave on paper
/// through the sender's fallback, or keep waiting with the answer on their timeline.
async fn declined(services: &Services, request: &ConsentRequestRecord, state: RequestState) -> Result<(), JobError> {
    let (email, id, provider) = (&request.email, &request.id, &request.provider);
    let detail = match state {
        RequestState::Refused => format!("{email} refused the consent request {id} made through {provider}"),
        _ => format!("{email} let the consent request {id} made through {provider} expire"),
    };
    let mut tx = services.store.begin().await?;
    if !requests::settle(&mut tx, &request.id, state, Some(&detail), None, now_ms()).await? {
        return Ok(());
    }
    let paper = services.settings.sender(&request.sender_id).and_then(SenderSettings::paper_fallback);
    let waiting = store::letters::awaiting_consent(&mut tx, &request.sender_id, &request.email).await?;
    for letter in &waiting {
        divert(&mut tx, letter, paper, &detail).await?;
    }
    tx.commit().await?;
    services.store.wake_workers();
    Ok(())
}

/// One waiting letter after a declined request: on paper when the sender has the fallback.
async fn divert(
    tx: &mut Tx,
    letter: &crate::domain::LetterId,
    paper: Option<&str>,
    detail: &str,
) -> Result<(), JobError> {
    let Some(paper) = paper else {
        record_event(tx, letter, &format!("{detail}: the letter keeps waiting for a consent")).await?;
        return Ok(());
    };
    if transition(tx, letter, LetterState::AwaitingConsent, LetterState::Ready, Some(detail), None).await? {
        fallback::to_paper(tx, letter, paper, detail).await?;
    }
    Ok(())
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX / 2)
}
