//! AR24 error slugs: each one's class (transient, permanent, approval, configuration) and its fix.

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
pub(super) const SLUGS: &[(&str, ErrorClass, &str)] = &[
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

    pub(super) fn known(&self) -> Option<&'static (&'static str, ErrorClass, &'static str)> {
        let slug = self.slug.trim().to_ascii_lowercase();
        SLUGS.iter().find(|(known, _, _)| *known == slug)
    }
}
