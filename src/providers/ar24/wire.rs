//! The AR24 wire format: response envelopes, error slugs, mail records and webhook bodies (providers.md §1).

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Europe::Paris;
use serde_json::{Map, Value};

use crate::domain::LetterState;
use crate::providers::{ProofKind, ProofLink};

/// What AR24 answered, once decrypted if it was encrypted.
#[derive(Debug, Clone, PartialEq)]
pub enum Envelope {
    /// `{"status":"SUCCESS","result":…}`
    Success(Value),
    /// `{"status":"ERROR","slug":"…","message":"…"}` (AR24 answers errors with HTTP 200)
    Error(Ar24Error),
    /// `{"status":"maintenance"}`
    Maintenance,
}

/// Parses a clear JSON body. `decrypt` is called with a base64 string when the body (or the `result`
/// field, as one client does) is not JSON but ciphertext; it returns the clear bytes or None. Accepts every
/// documented variant: clear JSON; a whole-body base64 ciphertext; a JSON envelope whose `result` is a
/// base64 ciphertext string of the JSON result. Anything else is an Err with a short description.
pub fn parse_envelope(body: &[u8], decrypt: &dyn Fn(&str) -> Option<Vec<u8>>) -> Result<Envelope, String> {
    let text = std::str::from_utf8(body).map_err(|_| "AR24 answered a body that is not UTF-8".to_owned())?;
    let text = text.trim_start_matches('\u{feff}').trim();
    if text.is_empty() {
        return Err("AR24 answered an empty body".into());
    }
    // Most clients decrypt the whole body, some servers send it clear (providers.md §1.2): try JSON first.
    // A JSON string is taken as ciphertext too, in case the server JSON-encodes it.
    let cipher = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(envelope)) => return read_envelope(&envelope, decrypt),
        Ok(Value::String(inner)) => inner,
        _ => text.to_owned(),
    };
    let cipher = compact_base64(&cipher).ok_or("AR24 answered neither JSON nor base64 ciphertext")?;
    let clear = decrypt(&cipher).ok_or("AR24's encrypted answer could not be decrypted")?;
    match serde_json::from_slice::<Value>(&clear) {
        Ok(Value::Object(envelope)) => read_envelope(&envelope, decrypt),
        _ => Err("AR24's decrypted answer is not a JSON object".into()),
    }
}

/// Reads `status` (compared without case: the doc writes `SUCCESS` but `maintenance`) and what goes with it.
fn read_envelope(envelope: &Map<String, Value>, decrypt: &dyn Fn(&str) -> Option<Vec<u8>>) -> Result<Envelope, String> {
    let status = envelope.get("status").and_then(Value::as_str).unwrap_or_default().to_ascii_lowercase();
    match status.as_str() {
        "success" => read_result(envelope.get("result"), decrypt).map(Envelope::Success),
        "error" => Ok(Envelope::Error(Ar24Error {
            // A missing slug is read as AR24's own catch-all, so it is retried rather than dropped.
            slug: text_field(envelope, "slug").unwrap_or_else(|| "unknown_error".into()),
            message: raw_text(envelope.get("message")),
        })),
        "maintenance" => Ok(Envelope::Maintenance),
        "" => Err("AR24's answer has no status".into()),
        other => Err(format!("AR24's answer has an unknown status `{other}`")),
    }
}

/// The `result` of a success. One client decrypts `result` alone when it is a string (providers.md §1.2), so a
/// string shaped like AES ciphertext must decrypt to JSON; a short or non-base64 string is kept as it is.
fn read_result(result: Option<&Value>, decrypt: &dyn Fn(&str) -> Option<Vec<u8>>) -> Result<Value, String> {
    let Some(result) = result else { return Ok(Value::Null) };
    let Value::String(text) = result else { return Ok(result.clone()) };
    // One AES block is 16 bytes, 24 base64 characters: anything shorter is not ciphertext.
    let Some(cipher) = compact_base64(text).filter(|c| c.len() >= 24) else { return Ok(result.clone()) };
    let clear = decrypt(&cipher).ok_or("AR24's encrypted result could not be decrypted")?;
    serde_json::from_slice(&clear).map_err(|_| "AR24's decrypted result is not JSON".into())
}

/// The text without whitespace, if what is left is non-empty base64 (standard or URL-safe alphabet).
fn compact_base64(text: &str) -> Option<String> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let body = compact.trim_end_matches('=');
    let valid = !body.is_empty()
        && compact.len() - body.len() <= 2
        && body.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '-' | '_'));
    valid.then_some(compact)
}

/// An AR24 error slug, understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ar24Error {
    pub slug: String,
    /// AR24's own message, as received (may be empty).
    pub message: String,
}

/// How an error should be handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Try again later: nothing was done (maintenance, unknown_error, rate limits, timeouts…).
    Transient,
    /// The request itself is wrong for AR24 and will fail again (bad recipient, no payment method, …).
    Permanent,
    /// The sender must approve again with a one-time code (otp/hash invalid or missing).
    NeedsApproval,
    /// Our credentials or clock are wrong: token_invalid, token_missing, date slugs (an operator must act).
    Configuration,
}

use ErrorClass::{Configuration, NeedsApproval, Permanent, Transient};

/// Every slug listed in providers.md §1.3, with its class and the fix a person should apply.
const SLUGS: &[(&str, ErrorClass, &str)] = &[
    // Generic.
    (
        "unknown_error",
        Transient,
        "AR24 had an internal error and did nothing: try again later, and write to api@ar24.fr if it lasts",
    ),
    ("maintenance", Transient, "AR24 is in maintenance: the request will be tried again later"),
    ("status_invalid", Permanent, "AR24 rejected the status value the gateway sent: report this gateway bug"),
    (
        "token_invalid",
        Configuration,
        "the AR24 API token is wrong or revoked: set the token AR24 issued in the gateway's AR24 settings",
    ),
    (
        "token_missing",
        Configuration,
        "no AR24 API token was sent: set the token AR24 issued in the gateway's AR24 settings",
    ),
    // Date slugs (providers.md §1.2): the date must lie between the call and +10 minutes, Paris time.
    ("empty_date", Configuration, "the request carried no date: report this gateway bug"),
    (
        "invalid_date",
        Configuration,
        "AR24 could not read the request date: check the server clock and time zone data, then report it",
    ),
    ("expired_date", Configuration, "the request date is too old for AR24: set the server clock right (use NTP)"),
    (
        "date_in_future",
        Configuration,
        "the request date is ahead of AR24's clock: set the server clock right (use NTP)",
    ),
    // POST /mail.
    (
        "missing_email",
        Permanent,
        "an email address is missing: give the recipient's email (or the sender's, when creating a sender)",
    ),
    (
        "same_sender_recipients_emails",
        Permanent,
        "the recipient's email is the sender's own: send the letter to another address",
    ),
    ("invalid_recipient", Permanent, "AR24 refused the recipient: check the recipient's name, company and email"),
    ("invalid_email", Permanent, "the recipient's email address is not valid: correct it"),
    ("group_not_exist", Permanent, "the AR24 group does not exist: check the group id in the gateway's AR24 settings"),
    ("user_not_exist", Permanent, "the AR24 sender account does not exist: check the sender's AR24 user id"),
    (
        "user_account_not_confirmed",
        Permanent,
        "the AR24 sender account is not confirmed: the sender must confirm it from AR24's email",
    ),
    (
        "user_eula_not_accepted",
        Permanent,
        "the sender has not accepted AR24's terms: the sender must accept them in the AR24 account",
    ),
    (
        "user_name_empty",
        Permanent,
        "the AR24 sender account has no name: fill in the sender's first and last name at AR24",
    ),
    ("user_no_payment", Permanent, "the AR24 account has no payment method: add one in the AR24 account settings"),
    (
        "user_unavailable",
        Permanent,
        "the sender has not granted API access to this token: ask for access and have the sender approve it",
    ),
    ("attachment_not_exists", Permanent, "the attachment is unknown to AR24: upload it again"),
    (
        "attachment_unavailable",
        Permanent,
        "the attachment cannot be used for this sender: upload it again for this sender",
    ),
    ("attachment_too_big", Permanent, "an attachment is too big for AR24: send smaller files, or fewer per letter"),
    (
        "content_exceeds_limit",
        Permanent,
        "the letter's text is too long for AR24: shorten it or send it as an attachment",
    ),
    ("forbidden_html", Permanent, "the letter's text holds HTML that AR24 forbids: remove the tags"),
    ("error_no_content_no_attachment", Permanent, "the letter has neither text nor attachment: add one"),
    (
        "authentication_otp_hash_invalid",
        NeedsApproval,
        "the sender's one-time approval has expired: the sender must approve again with a fresh code",
    ),
    (
        "authentication_otp_invalid",
        NeedsApproval,
        "the sender's one-time code was wrong or expired: the sender must approve again with a fresh code",
    ),
    (
        "authentication_missing",
        NeedsApproval,
        "an eIDAS letter needs the sender's approval: the sender must approve it with a one-time code",
    ),
    // GET /mail.
    ("missing_erm_id", Permanent, "the letter id was not sent to AR24: report this gateway bug"),
    // User creation.
    ("missing_firstname", Permanent, "the sender's first name is missing: fill it in"),
    ("missing_lastname", Permanent, "the sender's last name is missing: fill it in"),
    ("missing_address", Permanent, "the sender's postal address is missing: fill it in"),
    ("missing_city", Permanent, "the sender's city is missing: fill it in"),
    ("missing_zipcode", Permanent, "the sender's postal code is missing: fill it in"),
    ("missing_country", Permanent, "the sender's country is missing: fill it in"),
    ("email_wrong_format", Permanent, "the sender's email address is not valid: correct it"),
    ("error_country", Permanent, "AR24 does not know the sender's country: give it as a two-letter code such as FR"),
    ("error_gender", Permanent, "the sender's gender is not one AR24 accepts: choose one of AR24's values"),
    ("missing_company_siret", Permanent, "a French professional or public sender needs a SIRET: fill it in"),
    ("missing_company_tva", Permanent, "an EU professional sender needs a VAT number: fill it in"),
    ("error_company_siret", Permanent, "the sender's SIRET is not valid: correct it (14 digits)"),
    (
        "user_not_created",
        Permanent,
        "AR24 did not create the sender: check the sender's details, then write to api@ar24.fr if it lasts",
    ),
    (
        "user_already_exist",
        Permanent,
        "the sender already has an AR24 account: request access to it, and the sender approves the email AR24 sends",
    ),
    // Attachments.
    ("attachment_empty_name", Permanent, "the attachment has no file name: give it one"),
    ("attachment_missing_file", Permanent, "the attachment upload carried no file: report this gateway bug"),
    ("missing_user_id", Permanent, "no AR24 sender id was sent: set the sender's AR24 user id"),
];

impl Ar24Error {
    /// Known slugs by the table above; an unknown slug is Transient when it names a passing trouble
    /// (unknown, maintenance, timeout, rate limit), else Permanent so it is not retried forever.
    pub fn class(&self) -> ErrorClass {
        if let Some((_, class, _)) = self.known() {
            return *class;
        }
        let slug = self.slug.to_ascii_lowercase();
        let passing = ["unknown", "maintenance", "timeout", "rate_limit", "too_many"];
        if passing.iter().any(|word| slug.contains(word)) { Transient } else { Permanent }
    }

    /// A fix in plain English words for the person reading the error, e.g. user_no_payment →
    /// "the AR24 account has no payment method: add one in the AR24 account settings". Unknown slugs get a
    /// generic fix quoting AR24's message.
    pub fn fix(&self) -> String {
        if let Some((_, _, fix)) = self.known() {
            return (*fix).to_owned();
        }
        match self.message.trim() {
            "" => format!("AR24 refused the request with `{}` and no message: see AR24's API documentation", self.slug),
            message => format!("AR24 refused the request with `{}`: \"{message}\"", self.slug),
        }
    }

    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        self.class() == Transient
    }

    fn known(&self) -> Option<&'static (&'static str, ErrorClass, &'static str)> {
        let slug = self.slug.trim().to_ascii_lowercase();
        SLUGS.iter().find(|(known, _, _)| *known == slug)
    }
}

/// A letter as AR24 returns it from POST /mail, GET /mail?id= and the GET /user/mail list.
/// Lenient: ids and prices may come as numbers or strings, absent/empty/null fields are None, unknown fields ignored.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MailRecord {
    pub id: String,
    pub status: String,
    pub ref_dossier: Option<String>,
    pub ref_client: Option<String>,
    /// As given, e.g. "3.49".
    pub price_ht: Option<String>,
    pub is_eidas: Option<bool>,
    pub to_email: Option<String>,
    /// "Y-m-d H:i:s", Europe/Paris, like every AR24 date.
    pub ts_ev_date: Option<String>,
    pub view_date: Option<String>,
    pub refused_date: Option<String>,
    pub negligence_date: Option<String>,
    pub bounced_date: Option<String>,
    /// Also read from `proof_dp_url` when `proof_ev_url` is absent.
    pub proof_ev_url: Option<String>,
    pub proof_ar_url: Option<String>,
    pub proof_rf_url: Option<String>,
    pub proof_ng_url: Option<String>,
    pub proof_bc_url: Option<String>,
}

impl MailRecord {
    /// From the `result` of an envelope (an object), or an error naming what is missing (`id`).
    pub fn from_result(result: &Value) -> Result<Self, String> {
        let fields = result.as_object().ok_or("the AR24 letter is not a JSON object")?;
        let id = text_field(fields, "id").ok_or("the AR24 letter has no `id`")?;
        let text = |key: &str| text_field(fields, key);
        let date = |key: &str| text_field(fields, key).filter(|d| !is_zero_date(d));
        Ok(Self {
            id,
            status: text("status").unwrap_or_default(),
            ref_dossier: text("ref_dossier"),
            ref_client: text("ref_client"),
            price_ht: text("price_ht"),
            is_eidas: fields.get("is_eidas").and_then(flag),
            to_email: text("to_email"),
            ts_ev_date: date("ts_ev_date"),
            view_date: date("view_date"),
            refused_date: date("refused_date"),
            negligence_date: date("negligence_date"),
            bounced_date: date("bounced_date"),
            // php-ar24-client reads `proof_dp_url` for the deposit proof (providers.md §1.7).
            proof_ev_url: text("proof_ev_url").or_else(|| text("proof_dp_url")),
            proof_ar_url: text("proof_ar_url"),
            proof_rf_url: text("proof_rf_url"),
            proof_ng_url: text("proof_ng_url"),
            proof_bc_url: text("proof_bc_url"),
        })
    }

    /// Our state for this record, deciding from the dates and proof URLs first (they are certain) and the
    /// status word second: bounced_date/proof_bc_url → Bounced; view_date/proof_ar_url → Delivered;
    /// refused_date/proof_rf_url → Refused; negligence_date/proof_ng_url → NotClaimed;
    /// ts_ev_date/proof_ev_url → Deposited; status "waiting" (or "draft"/"pending"/"new") → Submitting;
    /// status words "sent"/"ev"/"dp" → Deposited, "AR"/"ar"/"accepted"/"received" → Delivered,
    /// "refused"/"rf" → Refused, "negligence"/"ng"/"not_claimed" → NotClaimed, "bounced"/"bc" → Bounced;
    /// anything else → None (unknown: the caller flags it, keeping the raw status).
    pub fn state(&self) -> Option<LetterState> {
        // Only `waiting` is a confirmed status word; the dates and proof URLs are certain (providers.md §1.7).
        let evidence = [
            (&self.bounced_date, &self.proof_bc_url, LetterState::Bounced),
            (&self.view_date, &self.proof_ar_url, LetterState::Delivered),
            (&self.refused_date, &self.proof_rf_url, LetterState::Refused),
            (&self.negligence_date, &self.proof_ng_url, LetterState::NotClaimed),
            (&self.ts_ev_date, &self.proof_ev_url, LetterState::Deposited),
        ];
        if let Some((_, _, state)) = evidence.iter().find(|(date, url, _)| date.is_some() || url.is_some()) {
            return Some(*state);
        }
        match self.status.trim().to_ascii_lowercase().as_str() {
            "waiting" | "draft" | "pending" | "new" => Some(LetterState::Submitting),
            "sent" | "ev" | "dp" => Some(LetterState::Deposited),
            "ar" | "accepted" | "received" => Some(LetterState::Delivered),
            "refused" | "rf" => Some(LetterState::Refused),
            "negligence" | "ng" | "not_claimed" => Some(LetterState::NotClaimed),
            "bounced" | "bc" => Some(LetterState::Bounced),
            _ => None,
        }
    }

    /// The proofs this record offers, one per present proof URL, in the order of a letter's life.
    pub fn proofs(&self) -> Vec<ProofLink> {
        [
            (ProofKind::Deposit, &self.proof_ev_url),
            (ProofKind::Receipt, &self.proof_ar_url),
            (ProofKind::Refusal, &self.proof_rf_url),
            (ProofKind::NonClaim, &self.proof_ng_url),
            (ProofKind::Bounce, &self.proof_bc_url),
        ]
        .into_iter()
        .filter_map(|(kind, url)| url.clone().map(|locator| ProofLink { kind, locator }))
        .collect()
    }

    /// The deposit time in unix milliseconds (ts_ev_date read as Europe/Paris local time).
    pub fn deposited_at(&self) -> Option<i64> {
        self.ts_ev_date.as_deref().and_then(paris_time_ms)
    }

    /// price_ht in euro cents ("3.49" → 349, "3,49" → 349, 3.99 → 399), rounded half up past the cent.
    pub fn price_cents(&self) -> Option<i64> {
        self.price_ht.as_deref().and_then(cents)
    }
}

/// A decimal euro amount in cents, read without floating point so "3.49" is exactly 349.
fn cents(text: &str) -> Option<i64> {
    let text = text.trim().trim_end_matches('€').trim().replace(',', ".");
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.as_str()),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    let digit = |i: usize| fraction.as_bytes().get(i).map_or(0, |b| i64::from(b - b'0'));
    let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let round = i64::from(digit(2) >= 5);
    let value = whole.checked_mul(100)?.checked_add(digit(0) * 10 + digit(1) + round)?;
    Some(if negative { -value } else { value })
}

/// Parses "YYYY-MM-DD HH:mm:ss" as Europe/Paris local time into unix milliseconds. DST folds take the earlier
/// of the two instants; a time inside a DST gap takes the first instant after it (03:00 local, the gap's end).
pub fn paris_time_ms(text: &str) -> Option<i64> {
    let text = text.trim();
    let naive = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())?;
    match Paris.from_local_datetime(&naive) {
        LocalResult::Single(at) => Some(at.timestamp_millis()),
        LocalResult::Ambiguous(first, second) => Some(first.timestamp_millis().min(second.timestamp_millis())),
        LocalResult::None => gap_end(naive),
    }
}

/// The first valid local minute after a time in a DST gap (Paris gaps last one hour and end on the hour).
fn gap_end(naive: NaiveDateTime) -> Option<i64> {
    let minute = naive.with_second(0)?;
    (1..=180).find_map(|step| {
        let later = minute.checked_add_signed(TimeDelta::minutes(step))?;
        Paris.from_local_datetime(&later).earliest().map(|at| at.timestamp_millis())
    })
}

/// Formats a unix-ms instant as AR24's `date` parameter: "YYYY-MM-DD HH:mm:ss" in Europe/Paris (providers.md §1.2).
pub fn paris_date(ms: i64) -> String {
    let at = DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default();
    at.with_timezone(&Paris).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// An AR24 webhook: form-encoded (the default) or JSON. AR24 does not sign it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    pub id_mail: Option<String>,
    pub new_state: Option<String>,
    pub proof_url: Option<String>,
    /// User-status webhooks carry a user id instead of a mail id.
    pub id_user: Option<String>,
}

/// Parses a webhook body by its content type (application/x-www-form-urlencoded, multipart/form-data,
/// application/json, or unknown: try form then JSON). The encoding is unverified (providers.md §1.8), so when the
/// declared one yields nothing the other is tried. A body with neither id_mail nor id_user is an Err.
pub fn parse_webhook(content_type: Option<&str>, body: &[u8]) -> Result<WebhookEvent, String> {
    let media = content_type.unwrap_or_default().split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let multipart = content_type.filter(|_| media == "multipart/form-data").and_then(boundary);
    let json_first = media == "application/json" || media.ends_with("+json");
    let readers: [FieldReader; 2] = if json_first { [json_fields, form_fields] } else { [form_fields, json_fields] };
    let from_multipart = multipart.map(|b| multipart_fields(body, &b));
    from_multipart
        .into_iter()
        .chain(readers.iter().filter_map(|read| read(body)))
        .map(|fields| webhook_event(&fields))
        .find(|event| event.id_mail.is_some() || event.id_user.is_some())
        .ok_or_else(|| "the webhook body carries neither id_mail nor id_user".into())
}

/// Reads a body's fields, if it has this encoding.
type FieldReader = fn(&[u8]) -> Option<Map<String, Value>>;

fn webhook_event(fields: &Map<String, Value>) -> WebhookEvent {
    WebhookEvent {
        id_mail: text_field(fields, "id_mail"),
        new_state: text_field(fields, "new_state"),
        proof_url: text_field(fields, "proof_url"),
        id_user: text_field(fields, "id_user"),
    }
}

/// Form fields, through `url`'s decoder (a dependency the crate already has); `+` is a space.
fn form_fields(body: &[u8]) -> Option<Map<String, Value>> {
    let fields =
        url::form_urlencoded::parse(body).map(|(key, value)| (key.into_owned(), Value::String(value.into_owned())));
    Some(fields.collect())
}

fn json_fields(body: &[u8]) -> Option<Map<String, Value>> {
    match serde_json::from_slice(body).ok()? {
        Value::Object(fields) => Some(fields),
        _ => None,
    }
}

/// The `boundary` parameter of a multipart content type.
fn boundary(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        (key.trim().eq_ignore_ascii_case("boundary")).then(|| value.trim().trim_matches('"').to_owned())
    })
}

/// The text fields of a multipart/form-data body: PHP's curl posts an array of fields this way.
fn multipart_fields(body: &[u8], boundary: &str) -> Map<String, Value> {
    let body = String::from_utf8_lossy(body);
    let delimiter = format!("--{boundary}");
    let mut fields = Map::new();
    for part in body.split(delimiter.as_str()) {
        let Some((headers, value)) = part.split_once("\r\n\r\n").or_else(|| part.split_once("\n\n")) else {
            continue;
        };
        let name = headers.split(';').find_map(|p| p.trim().strip_prefix("name=")).map(|n| n.trim().trim_matches('"'));
        if let Some(name) = name {
            let value = value.strip_suffix("\r\n").or_else(|| value.strip_suffix('\n')).unwrap_or(value);
            fields.insert(name.to_owned(), Value::String(value.to_owned()));
        }
    }
    fields
}

/// The list of letters in a GET /user/mail result: `result` may be an array, or an object holding an
/// array under `mails`, `emails` or `list` (accept each); each item parsed with MailRecord::from_result.
/// A null result is an empty list, and an object keyed by id stands for an array (PHP encodes a
/// non-sequential array so).
pub fn mail_list(result: &Value) -> Result<Vec<MailRecord>, String> {
    // The clients disagree on the key (providers.md §1.7 lists the route, not the shape): accept each.
    let items = match result {
        Value::Object(fields) => ["mails", "emails", "list"]
            .iter()
            .find_map(|key| fields.get(*key))
            .ok_or("the AR24 letter list has none of `mails`, `emails`, `list`")?,
        other => other,
    };
    let items: Vec<&Value> = match items {
        Value::Null => Vec::new(),
        Value::Array(items) => items.iter().collect(),
        Value::Object(by_id) => by_id.values().collect(),
        _ => return Err("the AR24 letter list is not an array".into()),
    };
    items
        .into_iter()
        .enumerate()
        .map(|(n, item)| MailRecord::from_result(item).map_err(|e| format!("letter {n} of the list: {e}")))
        .collect()
}

/// A message as received: a string untouched, another JSON value as its JSON text, nothing as "".
fn raw_text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// A text field that may come as a string or a number; empty, null, `false` (PHP) and other shapes are None.
fn text_field(fields: &Map<String, Value>, key: &str) -> Option<String> {
    match fields.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A yes/no that PHP may give as a boolean, 0/1, or their strings.
fn flag(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_i64().map(|n| n != 0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" => Some(true),
            "0" | "false" | "no" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// MySQL's zero date, which PHP backends print for "not yet".
fn is_zero_date(text: &str) -> bool {
    text.starts_with("0000-00-00")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    fn b64_encode(bytes: &[u8]) -> String {
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
            for i in 0..4 {
                let c = if i <= chunk.len() { ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' };
                out.push(c);
            }
        }
        out
    }

    fn b64_decode(text: &str) -> Option<Vec<u8>> {
        let values: Option<Vec<u32>> = text
            .trim_end_matches('=')
            .bytes()
            .map(|c| ALPHABET.iter().position(|a| *a == c).map(|p| p as u32))
            .collect();
        let mut out = Vec::new();
        for chunk in values?.chunks(4) {
            let n = chunk.iter().enumerate().fold(0u32, |n, (i, v)| n | v << (18 - 6 * i));
            out.extend((0..chunk.len().saturating_sub(1)).map(|i| (n >> (16 - 8 * i)) as u8));
        }
        Some(out)
    }

    /// A toy cipher: reversed bytes, base64. The real AES is tested with the crypto module.
    fn encrypt(clear: &str) -> String {
        b64_encode(&clear.bytes().rev().collect::<Vec<_>>())
    }

    fn decrypt(text: &str) -> Option<Vec<u8>> {
        b64_decode(text).map(|bytes| bytes.into_iter().rev().collect())
    }

    fn never(_: &str) -> Option<Vec<u8>> {
        panic!("clear JSON must not be decrypted")
    }

    #[test]
    fn toy_cipher_round_trips() {
        for text in ["", "a", "ab", "abc", "{\"status\":\"SUCCESS\"}"] {
            assert_eq!(decrypt(&encrypt(text)).as_deref(), Some(text.as_bytes()));
        }
    }

    #[test]
    fn clear_envelopes() {
        let success = br#"{"status":"SUCCESS","result":{"id":42}}"#;
        assert_eq!(parse_envelope(success, &never), Ok(Envelope::Success(json!({"id": 42}))));
        let error = br#"{"status":"ERROR","slug":"user_no_payment","message":"No payment method"}"#;
        let expected = Ar24Error { slug: "user_no_payment".into(), message: "No payment method".into() };
        assert_eq!(parse_envelope(error, &never), Ok(Envelope::Error(expected)));
        assert_eq!(parse_envelope(br#"{"status":"maintenance"}"#, &never), Ok(Envelope::Maintenance));
        assert_eq!(parse_envelope(br#"  {"status":"success"}  "#, &never), Ok(Envelope::Success(Value::Null)));
    }

    #[test]
    fn whole_body_ciphertext() {
        let body = encrypt(r#"{"status":"SUCCESS","result":{"id":"7"}}"#);
        assert_eq!(parse_envelope(body.as_bytes(), &decrypt), Ok(Envelope::Success(json!({"id": "7"}))));
        let quoted = format!("\"{body}\"\n");
        assert_eq!(parse_envelope(quoted.as_bytes(), &decrypt), Ok(Envelope::Success(json!({"id": "7"}))));
    }

    #[test]
    fn encrypted_result_field() {
        let result = encrypt(r#"{"id":"7","status":"waiting"}"#);
        let body = format!(r#"{{"status":"SUCCESS","result":"{result}"}}"#);
        let expected = json!({"id": "7", "status": "waiting"});
        assert_eq!(parse_envelope(body.as_bytes(), &decrypt), Ok(Envelope::Success(expected)));
        // A short plain string is not ciphertext and is kept.
        let plain = br#"{"status":"SUCCESS","result":"ok"}"#;
        assert_eq!(parse_envelope(plain, &never), Ok(Envelope::Success(json!("ok"))));
    }

    #[test]
    fn garbage_is_an_error() {
        let refuse = |_: &str| None;
        assert!(parse_envelope(b"<html>502 Bad Gateway</html>", &decrypt).is_err());
        assert!(parse_envelope(b"", &decrypt).is_err());
        assert!(parse_envelope(&[0xff, 0xfe, 0x00], &decrypt).is_err());
        assert!(parse_envelope(b"[1,2]", &decrypt).is_err());
        assert!(parse_envelope(br#"{"status":"weird"}"#, &decrypt).is_err());
        assert!(parse_envelope(br#"{"result":{}}"#, &decrypt).is_err());
        assert!(parse_envelope(b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldY", &refuse).is_err());
        // Decrypts, but not to JSON.
        assert!(parse_envelope(encrypt("not json at all").as_bytes(), &decrypt).is_err());
    }

    /// Every slug of providers.md §1.3, written out again so the table is checked against the reference.
    const DOCUMENTED: &[&str] = &[
        "unknown_error",
        "status_invalid",
        "token_invalid",
        "token_missing",
        "empty_date",
        "invalid_date",
        "expired_date",
        "date_in_future",
        "missing_email",
        "same_sender_recipients_emails",
        "invalid_recipient",
        "invalid_email",
        "group_not_exist",
        "user_not_exist",
        "user_account_not_confirmed",
        "user_eula_not_accepted",
        "user_name_empty",
        "user_no_payment",
        "user_unavailable",
        "attachment_not_exists",
        "attachment_unavailable",
        "attachment_too_big",
        "content_exceeds_limit",
        "forbidden_html",
        "error_no_content_no_attachment",
        "authentication_otp_hash_invalid",
        "authentication_otp_invalid",
        "authentication_missing",
        "missing_erm_id",
        "missing_firstname",
        "missing_lastname",
        "missing_address",
        "missing_city",
        "missing_zipcode",
        "missing_country",
        "email_wrong_format",
        "error_country",
        "error_gender",
        "missing_company_siret",
        "missing_company_tva",
        "error_company_siret",
        "user_not_created",
        "user_already_exist",
        "attachment_empty_name",
        "attachment_missing_file",
        "missing_user_id",
    ];

    fn error(slug: &str) -> Ar24Error {
        Ar24Error { slug: slug.into(), message: "AR24 says so".into() }
    }

    #[test]
    fn every_documented_slug_has_a_specific_fix() {
        for slug in DOCUMENTED {
            let e = error(slug);
            assert!(e.known().is_some(), "{slug} is not in the table");
            let fix = e.fix();
            assert!(!fix.trim().is_empty(), "{slug} has an empty fix");
            assert!(!fix.contains("AR24 says so") && !fix.contains(slug), "{slug} has the generic fix: {fix}");
        }
        let unique: std::collections::HashSet<_> = SLUGS.iter().map(|(slug, _, _)| slug).collect();
        assert_eq!(unique.len(), SLUGS.len(), "a slug appears twice in the table");
    }

    #[test]
    fn slug_classes() {
        let e = error("user_no_payment");
        assert_eq!(e.class(), Permanent);
        assert!(e.fix().contains("payment method"));
        assert!(!e.is_transient());
        assert!(error("maintenance").is_transient());
        assert!(error("unknown_error").is_transient());
        for slug in ["authentication_otp_invalid", "authentication_otp_hash_invalid", "authentication_missing"] {
            assert_eq!(error(slug).class(), NeedsApproval, "{slug}");
        }
        for slug in ["token_invalid", "token_missing", "expired_date", "date_in_future", "invalid_date", "empty_date"] {
            assert_eq!(error(slug).class(), Configuration, "{slug}");
        }
        for slug in ["invalid_email", "user_already_exist", "attachment_too_big", "missing_erm_id"] {
            assert_eq!(error(slug).class(), Permanent, "{slug}");
        }
        assert_eq!(error(" Token_Invalid ").class(), Configuration);
    }

    #[test]
    fn unknown_slugs() {
        assert_eq!(error("gateway_timeout").class(), Transient);
        assert_eq!(error("something_unknown").class(), Transient);
        assert_eq!(error("planned_maintenance").class(), Transient);
        let e = error("brand_new_slug");
        assert_eq!(e.class(), Permanent);
        assert_eq!(e.fix(), "AR24 refused the request with `brand_new_slug`: \"AR24 says so\"");
        let silent = Ar24Error { slug: "brand_new_slug".into(), message: String::new() };
        assert!(silent.fix().contains("brand_new_slug") && silent.fix().contains("no message"));
    }

    #[test]
    fn error_without_slug_is_unknown_error() {
        let body = br#"{"status":"ERROR","message":{"field":"bad"}}"#;
        let Ok(Envelope::Error(e)) = parse_envelope(body, &never) else { panic!("an error envelope") };
        assert_eq!(e.slug, "unknown_error");
        assert_eq!(e.message, r#"{"field":"bad"}"#);
    }

    /// The documented example's shape (providers.md §1.7), with a numeric id and price.
    fn example() -> Value {
        let text = r#"{
            "id": 123, "type": "lre", "status": "waiting", "date": "2026-11-26 17:55:00",
            "full_hash_sha256": "ab12", "send_fail": 0, "is_eidas": "1", "price_ht": 3.99, "payment_slug": "card",
            "id_sender": 9, "id_creator": 9, "from_name": "Alice Martin", "from_email": "alice@example.fr",
            "address1": "1 rue de la Paix", "address2": "", "city": "Paris", "zipcode": "75002",
            "to_name": "Bob Durand", "to_firstname": "Bob", "to_lastname": "Durand", "to_company": null,
            "to_email": "bob@example.fr", "dest_statut": "particulier", "ref_dossier": "D-1", "ref_client": "",
            "ref_facturation": null, "proof_ev_url": "", "ts_ev_date": null, "proof_ar_url": "", "view_date": null,
            "proof_ng_url": "", "negligence_date": null, "proof_rf_url": "", "refused_date": null,
            "proof_bc_url": "", "bounced_date": null, "pdf_content": "", "zip": "", "attachments": [],
            "attachments_details": [], "req_notify_ev": 1, "req_notify_ar": 1, "req_notify_rf": 1,
            "req_notify_ng": 1, "update": []
        }"#;
        serde_json::from_str(text).expect("the example is JSON")
    }

    fn record(changes: Value) -> MailRecord {
        let mut value = example();
        if let (Some(fields), Value::Object(changes)) = (value.as_object_mut(), changes) {
            fields.extend(changes);
        }
        MailRecord::from_result(&value).expect("a valid record")
    }

    fn proof(kind: &str) -> String {
        format!("https://sandbox.ar24.fr/get/proof/{kind}-123?token=abc")
    }

    #[test]
    fn record_from_the_documented_example() {
        let r = record(json!({}));
        assert_eq!(r.id, "123");
        assert_eq!(r.status, "waiting");
        assert_eq!(r.price_ht.as_deref(), Some("3.99"));
        assert_eq!(r.price_cents(), Some(399));
        assert_eq!(r.is_eidas, Some(true));
        assert_eq!(r.to_email.as_deref(), Some("bob@example.fr"));
        assert_eq!(r.ref_dossier.as_deref(), Some("D-1"));
        assert_eq!((&r.ref_client, &r.ts_ev_date, &r.proof_ev_url), (&None, &None, &None));
        assert_eq!(r.state(), Some(LetterState::Submitting));
        assert!(r.proofs().is_empty());
        assert_eq!(r.deposited_at(), None);
    }

    #[test]
    fn record_needs_an_id() {
        let mut value = example();
        value["id"] = json!("");
        assert!(MailRecord::from_result(&value).unwrap_err().contains("`id`"));
        assert!(MailRecord::from_result(&json!([1])).is_err());
    }

    #[test]
    fn state_at_each_stage() {
        let sent = record(json!({"status": "sent", "ts_ev_date": "2026-11-26 18:00:00", "proof_ev_url": proof("ev")}));
        assert_eq!(sent.state(), Some(LetterState::Deposited));
        let ar =
            record(json!({"status": "AR", "ts_ev_date": "2026-11-26 18:00:00", "view_date": "2026-11-27 09:00:00"}));
        assert_eq!(ar.state(), Some(LetterState::Delivered));
        let refused = record(json!({"status": "refused", "refused_date": "2026-11-27 09:00:00"}));
        assert_eq!(refused.state(), Some(LetterState::Refused));
        let negligence = record(json!({"status": "negligence", "proof_ng_url": proof("ng")}));
        assert_eq!(negligence.state(), Some(LetterState::NotClaimed));
        let bounced = record(json!({"status": "bounced", "bounced_date": "2026-11-26 18:05:00"}));
        assert_eq!(bounced.state(), Some(LetterState::Bounced));
        for (word, state) in
            [("ev", LetterState::Deposited), ("ar", LetterState::Delivered), ("rf", LetterState::Refused)]
        {
            assert_eq!(record(json!({ "status": word })).state(), Some(state), "{word}");
        }
    }

    #[test]
    fn dates_beat_the_status_word() {
        let r = record(json!({"status": "waiting", "view_date": "2026-11-27 09:00:00"}));
        assert_eq!(r.state(), Some(LetterState::Delivered));
        let r = record(json!({"status": "AR", "bounced_date": "2026-11-26 18:05:00"}));
        assert_eq!(r.state(), Some(LetterState::Bounced));
        let r = record(json!({"status": "sent", "proof_rf_url": proof("rf")}));
        assert_eq!(r.state(), Some(LetterState::Refused));
        // MySQL's zero date means "not yet".
        let r = record(json!({"status": "sent", "view_date": "0000-00-00 00:00:00"}));
        assert_eq!((r.view_date.clone(), r.state()), (None, Some(LetterState::Deposited)));
    }

    #[test]
    fn unknown_status_without_dates_is_none() {
        assert_eq!(record(json!({"status": "archived"})).state(), None);
        assert_eq!(record(json!({"status": null})).state(), None);
    }

    #[test]
    fn proofs_listing() {
        let r = record(json!({
            "proof_ev_url": proof("ev"), "proof_ar_url": proof("ar"), "proof_rf_url": "",
            "proof_ng_url": proof("ng"), "proof_bc_url": proof("bc")
        }));
        let kinds: Vec<ProofKind> = r.proofs().iter().map(|p| p.kind).collect();
        assert_eq!(kinds, [ProofKind::Deposit, ProofKind::Receipt, ProofKind::NonClaim, ProofKind::Bounce]);
        assert_eq!(r.proofs()[1], ProofLink { kind: ProofKind::Receipt, locator: proof("ar") });
        let mut value = example();
        if let Some(fields) = value.as_object_mut() {
            fields.remove("proof_ev_url");
            fields.insert("proof_dp_url".into(), json!(proof("dp")));
        }
        let dp = MailRecord::from_result(&value).expect("a valid record");
        assert_eq!(dp.proofs(), [ProofLink { kind: ProofKind::Deposit, locator: proof("dp") }]);
        assert_eq!(dp.state(), Some(LetterState::Deposited));
    }

    #[test]
    fn prices() {
        let cents_of = |price: Value| record(json!({ "price_ht": price })).price_cents();
        assert_eq!(cents_of(json!("3.49")), Some(349));
        assert_eq!(cents_of(json!("3,49")), Some(349));
        assert_eq!(cents_of(json!(3.99)), Some(399));
        assert_eq!(cents_of(json!(4)), Some(400));
        assert_eq!(cents_of(json!("3.5")), Some(350));
        assert_eq!(cents_of(json!("3.495")), Some(350));
        assert_eq!(cents_of(json!(" 3.49 € ")), Some(349));
        assert_eq!(cents_of(json!("free")), None);
        assert_eq!(cents_of(json!("")), None);
        assert_eq!(cents_of(json!(".")), None);
    }

    #[test]
    fn deposit_times() {
        let winter = record(json!({"ts_ev_date": "2026-11-26 18:00:00"}));
        let expected = Utc.with_ymd_and_hms(2026, 11, 26, 17, 0, 0).single().map(|t| t.timestamp_millis());
        assert_eq!(winter.deposited_at(), expected);
        // 02:30 does not exist in Paris on 2026-03-29: the clocks jump from 02:00 CET to 03:00 CEST (01:00 UTC).
        let gap = record(json!({"ts_ev_date": "2026-03-29 02:30:00"}));
        let expected = Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).single().map(|t| t.timestamp_millis());
        assert_eq!(gap.deposited_at(), expected);
        // 02:30 happens twice on 2026-10-25: the first (CEST, 00:30 UTC) is taken.
        let fold = Utc.with_ymd_and_hms(2026, 10, 25, 0, 30, 0).single().map(|t| t.timestamp_millis());
        assert_eq!(paris_time_ms("2026-10-25 02:30:00"), fold);
        assert_eq!(paris_time_ms("26/11/2026 18:00"), None);
    }

    #[test]
    fn paris_dates_round_trip() {
        let winter = Utc.with_ymd_and_hms(2026, 1, 15, 11, 4, 5).single().map(|t| t.timestamp_millis());
        let summer = Utc.with_ymd_and_hms(2026, 7, 14, 8, 0, 59).single().map(|t| t.timestamp_millis());
        let (Some(winter), Some(summer)) = (winter, summer) else { panic!("valid instants") };
        assert_eq!(paris_date(winter), "2026-01-15 12:04:05");
        assert_eq!(paris_date(summer), "2026-07-14 10:00:59");
        assert_eq!(paris_time_ms(&paris_date(winter)), Some(winter));
        assert_eq!(paris_time_ms(&paris_date(summer)), Some(summer));
        assert_eq!(paris_date(winter + 999), "2026-01-15 12:04:05");
    }

    const FORM: &str = concat!(
        "id_mail=123&new_state=AR&view_date=2017-11-15+19:15:01",
        "&proof_url=https%3A%2F%2Fsandbox.ar24.fr%2Fget%2Fproof%2Far-123%3Ftoken%3Dabc"
    );

    fn ar_event() -> WebhookEvent {
        WebhookEvent {
            id_mail: Some("123".into()),
            new_state: Some("AR".into()),
            proof_url: Some("https://sandbox.ar24.fr/get/proof/ar-123?token=abc".into()),
            id_user: None,
        }
    }

    #[test]
    fn form_webhook() {
        let content_type = Some("application/x-www-form-urlencoded; charset=UTF-8");
        assert_eq!(parse_webhook(content_type, FORM.as_bytes()), Ok(ar_event()));
        assert_eq!(parse_webhook(None, FORM.as_bytes()), Ok(ar_event()));
    }

    #[test]
    fn json_webhook() {
        let body = concat!(
            r#"{"id_mail":123,"new_state":"AR","view_date":"2017-11-15 19:15:01","#,
            r#""proof_url":"https://sandbox.ar24.fr/get/proof/ar-123?token=abc"}"#
        )
        .as_bytes();
        assert_eq!(parse_webhook(Some("application/json"), body), Ok(ar_event()));
        assert_eq!(parse_webhook(None, body), Ok(ar_event()));
        // A mislabelled body is still read.
        assert_eq!(parse_webhook(Some("application/x-www-form-urlencoded"), body), Ok(ar_event()));
    }

    #[test]
    fn multipart_webhook() {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"id_mail\"\r\n\r\n123\r\n--XyZ\r\n\
                    Content-Disposition: form-data; name=\"new_state\"\r\n\r\nAR\r\n--XyZ\r\n\
                    Content-Disposition: form-data; name=\"proof_url\"\r\n\r\n\
                    https://sandbox.ar24.fr/get/proof/ar-123?token=abc\r\n--XyZ--\r\n";
        assert_eq!(parse_webhook(Some("multipart/form-data; boundary=XyZ"), body.as_bytes()), Ok(ar_event()));
    }

    #[test]
    fn user_webhook() {
        let event = parse_webhook(Some("application/x-www-form-urlencoded"), b"id_user=77&new_state=confirmed");
        let expected = WebhookEvent {
            id_mail: None,
            new_state: Some("confirmed".into()),
            proof_url: None,
            id_user: Some("77".into()),
        };
        assert_eq!(event, Ok(expected.clone()));
        assert_eq!(
            parse_webhook(Some("application/json"), br#"{"id_user":"77","new_state":"confirmed"}"#),
            Ok(expected)
        );
    }

    #[test]
    fn garbage_webhook() {
        assert!(parse_webhook(None, b"hello world").is_err());
        assert!(parse_webhook(Some("application/json"), b"{not json").is_err());
        assert!(parse_webhook(Some("application/x-www-form-urlencoded"), b"new_state=AR").is_err());
        assert!(parse_webhook(None, b"").is_err());
        assert!(parse_webhook(Some("application/json"), br#"{"id_mail":""}"#).is_err());
    }

    #[test]
    fn mail_lists() {
        let items =
            json!([{"id": 1, "status": "waiting"}, {"id": "2", "status": "sent", "ts_ev_date": "2026-01-01 10:00:00"}]);
        let ids = |list: Result<Vec<MailRecord>, String>| list.map(|l| l.into_iter().map(|r| r.id).collect::<Vec<_>>());
        let both = Ok(vec!["1".to_owned(), "2".to_owned()]);
        assert_eq!(ids(mail_list(&items)), both);
        for key in ["mails", "emails", "list"] {
            assert_eq!(ids(mail_list(&json!({ key: items.clone(), "total": 2 }))), both, "{key}");
        }
        let by_id = json!({"mails": {"1": {"id": 1}, "2": {"id": 2}}});
        assert_eq!(ids(mail_list(&by_id)), both);
        assert_eq!(mail_list(&json!([])), Ok(vec![]));
        assert_eq!(mail_list(&Value::Null), Ok(vec![]));
        assert_eq!(mail_list(&items).map(|l| l[1].state()), Ok(Some(LetterState::Deposited)));
        assert!(mail_list(&json!({"users": []})).is_err());
        assert!(mail_list(&json!("nope")).is_err());
        assert!(mail_list(&json!([{"status": "waiting"}])).unwrap_err().contains("`id`"));
    }
}
