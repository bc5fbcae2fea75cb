//! The fake AR24's memory: senders, OTP sessions, attachments, letters, switches and the request log.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Europe::Paris;

/// `YYYY-MM-DD HH:mm:ss` in Europe/Paris, the only date format AR24 speaks (providers.md §1.2, §1.7).
pub fn paris(at: DateTime<Utc>) -> String {
    at.with_timezone(&Paris).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// A sender account (providers.md §1.4).
#[derive(Debug, Clone)]
pub struct FakeUser {
    pub id: i64,
    pub email: String,
    pub firstname: String,
    pub lastname: String,
    pub company: String,
    pub statut: String,
    pub confirmed: bool,
    pub payment_active: bool,
    pub is_identity_verified: bool,
    /// Whether the user granted this token API access; `user_unavailable` otherwise (providers.md §1.3).
    pub api_access: bool,
    /// The TOTP code `/user/auth_otp` accepts, set by the test.
    pub otp: Option<String>,
}

/// A one-hour session opened by `/user/auth_otp` (providers.md §1.4).
#[derive(Debug, Clone)]
pub struct OtpSession {
    pub hash: String,
    pub user_id: i64,
    pub opened: DateTime<Utc>,
}

/// An uploaded file (providers.md §1.5).
#[derive(Debug, Clone)]
pub struct FakeAttachment {
    pub id: i64,
    pub user_id: i64,
    pub file_name: String,
    pub size: usize,
    pub sha256: String,
}

/// Where a letter is in its life (providers.md §1.7); the test moves it with `FakeAr24::advance`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Sent,
    Delivered,
    Refused,
    NotClaimed,
    Bounced,
}

impl Stage {
    /// The status word, the date field and the proof prefix of each stage (providers.md §1.7: the words are
    /// not official, the date and proof fields are).
    pub fn status(self) -> &'static str {
        match self {
            Stage::Sent => "sent",
            Stage::Delivered => "AR",
            Stage::Refused => "refused",
            Stage::NotClaimed => "negligence",
            Stage::Bounced => "bounced",
        }
    }

    pub fn date_field(self) -> &'static str {
        match self {
            Stage::Sent => "ts_ev_date",
            Stage::Delivered => "view_date",
            Stage::Refused => "refused_date",
            Stage::NotClaimed => "negligence_date",
            Stage::Bounced => "bounced_date",
        }
    }

    pub fn proof_kind(self) -> &'static str {
        match self {
            Stage::Sent => "ev",
            Stage::Delivered => "ar",
            Stage::Refused => "rf",
            Stage::NotClaimed => "ng",
            Stage::Bounced => "bc",
        }
    }

    pub fn from_proof_kind(kind: &str) -> Option<Stage> {
        [Stage::Sent, Stage::Delivered, Stage::Refused, Stage::NotClaimed, Stage::Bounced]
            .into_iter()
            .find(|s| s.proof_kind() == kind)
    }
}

/// An accepted letter: what relais sent, plus what has happened to it since.
#[derive(Debug, Clone)]
pub struct FakeMail {
    pub id: i64,
    pub user_id: i64,
    /// Every form field exactly as received, in order.
    pub fields: Vec<(String, String)>,
    pub status: String,
    pub eidas: bool,
    pub webhook: Option<String>,
    pub ref_dossier: Option<String>,
    pub ref_client: Option<String>,
    pub ref_facturation: Option<String>,
    pub dest_statut: Option<String>,
    pub to_email: String,
    pub content: Option<String>,
    pub attachments: Vec<i64>,
    /// Deposit date, Paris time.
    pub date: String,
    pub price_ht: String,
    /// The per-letter token carried by its proof URLs (providers.md §1.7).
    pub proof_token: String,
    /// Stage dates reached so far, Paris time, keyed by date field (`ts_ev_date`, `view_date`, …).
    pub dates: BTreeMap<String, String>,
}

impl FakeMail {
    /// The first value of a form field as received.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn reached(&self, stage: Stage) -> bool {
        self.dates.contains_key(stage.date_field())
    }
}

/// One request as the fake received it.
#[derive(Debug, Clone)]
pub struct FakeRequest {
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    /// Names of the form or multipart fields, in order, repeated names included (`attachment[]`).
    pub field_names: Vec<String>,
    /// The text fields with their values (file contents are not kept).
    pub form: Vec<(String, String)>,
    /// The `signature` header, if any.
    pub signature: Option<String>,
}

impl FakeRequest {
    pub fn has_field(&self, name: &str) -> bool {
        self.field_names.iter().any(|n| n == name)
    }

    /// A form field's first value, else the query parameter's.
    pub fn value(&self, name: &str) -> Option<&str> {
        let form = self.form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        form.or_else(|| self.query.get(name).map(String::as_str))
    }
}

/// Everything the fake knows; behind one mutex, never held across an await.
#[derive(Debug)]
pub struct State {
    pub users: Vec<FakeUser>,
    pub sessions: Vec<OtpSession>,
    pub attachments: Vec<FakeAttachment>,
    pub mails: Vec<FakeMail>,
    pub requests: Vec<FakeRequest>,
    pub access_requests: Vec<String>,
    pub maintenance: bool,
    pub encrypt: bool,
    pub attachment_limit: usize,
    pub fail_next_mail: Option<String>,
    pub timeout_next_mail: bool,
    /// How long each of the next `POST /mail` takes before AR24 records the letter (then answers).
    pub mail_delays: std::collections::VecDeque<std::time::Duration>,
    pub lose_next_mail: bool,
    next_id: i64,
}

/// AR24's own limit is unknown; 256 MB per sending is the AR24-backed Maileva limit (providers.md §1.5).
pub const DEFAULT_ATTACHMENT_LIMIT: usize = 256 * 1024 * 1024;

impl Default for State {
    fn default() -> Self {
        State {
            users: Vec::new(),
            sessions: Vec::new(),
            attachments: Vec::new(),
            mails: Vec::new(),
            requests: Vec::new(),
            access_requests: Vec::new(),
            maintenance: false,
            encrypt: true,
            attachment_limit: DEFAULT_ATTACHMENT_LIMIT,
            fail_next_mail: None,
            timeout_next_mail: false,
            mail_delays: Default::default(),
            lose_next_mail: false,
            next_id: 1000,
        }
    }
}

impl State {
    /// Ids are unique across users, files and letters (the fake's own choice), so a mix-up never finds a
    /// wrong record by accident.
    pub fn next_id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn user(&self, id: i64) -> Option<&FakeUser> {
        self.users.iter().find(|u| u.id == id)
    }

    pub fn user_mut(&mut self, id: i64) -> Option<&mut FakeUser> {
        self.users.iter_mut().find(|u| u.id == id)
    }

    pub fn user_by_email(&self, email: &str) -> Option<&FakeUser> {
        self.users.iter().find(|u| u.email.eq_ignore_ascii_case(email))
    }

    pub fn mail(&self, id: i64) -> Option<&FakeMail> {
        self.mails.iter().find(|m| m.id == id)
    }

    pub fn mail_mut(&mut self, id: i64) -> Option<&mut FakeMail> {
        self.mails.iter_mut().find(|m| m.id == id)
    }

    pub fn attachment(&self, id: i64) -> Option<&FakeAttachment> {
        self.attachments.iter().find(|a| a.id == id)
    }
}

/// A random lowercase hex string (OTP hashes, proof tokens).
pub fn random_hex(bytes: usize) -> String {
    let raw: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    hex::encode(raw)
}
