//! The fake AR24's letters: `POST /mail`, `GET /mail`, `GET /user/mail` and the letter record
//! (providers.md §1.6, §1.7).

use std::collections::BTreeMap;

use chrono::Utc;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::Shared;
use super::model::{FakeMail, FakeUser, Stage, State, paris, random_hex};
use super::users::{OTP_SESSION, Reply, sender, valid_email};
use super::wire::Incoming;

/// Prices are not published (providers.md §1.9); these two are the fake's own choice.
const PRICE_EIDAS: &str = "3.49";
const PRICE_SIMPLE: &str = "2.49";

/// What `POST /mail` does: answer, fail as the test asked, keep the letter and never answer, or lose it
/// and never answer.
pub enum Posted {
    Answer(Reply),
    Fail(String),
    Hang,
}

pub fn post(shared: &Shared, incoming: &Incoming) -> Posted {
    let mut state = shared.state();
    if let Some(slug) = state.fail_next_mail.take() {
        return Posted::Fail(slug);
    }
    if std::mem::take(&mut state.lose_next_mail) {
        return Posted::Hang;
    }
    let mail = match accept(&mut state, incoming) {
        Ok(mail) => mail,
        Err(slug) => return Posted::Answer(Err(slug)),
    };
    let record = letter_json(&state, &mail, shared.origin());
    state.mails.push(mail);
    if std::mem::take(&mut state.timeout_next_mail) {
        return Posted::Hang;
    }
    Posted::Answer(Ok(record))
}

/// The checks of providers.md §1.3/§1.6, in the order a client would meet them; returns the new letter.
fn accept(state: &mut State, incoming: &Incoming) -> Result<FakeMail, &'static str> {
    let user = sender(state, incoming)?.clone();
    check_account(&user)?;
    let to_email = check_recipient(&user, incoming)?;
    let attachments = check_attachments(state, user.id, incoming)?;
    let content = incoming.param("content").map(str::to_string);
    if content.is_none() && attachments.is_empty() {
        return Err("error_no_content_no_attachment");
    }
    if content.as_deref().is_some_and(|c| c.to_ascii_lowercase().contains("<script")) {
        return Err("forbidden_html");
    }
    let eidas = incoming.param("eidas") == Some("1");
    if eidas {
        check_eidas(state, &user, incoming)?;
    }
    Ok(FakeMail {
        id: state.next_id(),
        user_id: user.id,
        fields: incoming.form.clone(),
        status: "waiting".into(),
        eidas,
        webhook: incoming.param("webhook").map(str::to_string),
        ref_dossier: incoming.param("ref_dossier").map(str::to_string),
        ref_client: incoming.param("ref_client").map(str::to_string),
        ref_facturation: incoming.param("ref_facturation").map(str::to_string),
        dest_statut: incoming.param("dest_statut").map(str::to_string),
        to_email,
        content,
        attachments,
        date: paris(Utc::now()),
        price_ht: if eidas { PRICE_EIDAS } else { PRICE_SIMPLE }.into(),
        proof_token: random_hex(16),
        dates: BTreeMap::new(),
    })
}

fn check_account(user: &FakeUser) -> Result<(), &'static str> {
    if !user.confirmed {
        return Err("user_account_not_confirmed");
    }
    if !user.payment_active {
        return Err("user_no_payment");
    }
    Ok(())
}

fn check_recipient(user: &FakeUser, incoming: &Incoming) -> Result<String, &'static str> {
    let to_email = incoming.param("to_email").ok_or("missing_email")?.trim();
    if !valid_email(to_email) {
        return Err("invalid_email");
    }
    if to_email.eq_ignore_ascii_case(&user.email) {
        return Err("same_sender_recipients_emails");
    }
    Ok(to_email.to_string())
}

/// Both `attachment[0..n]` and `attachment[]` are accepted (providers.md §1.6: "the API is not consistent").
fn check_attachments(state: &State, user_id: i64, incoming: &Incoming) -> Result<Vec<i64>, &'static str> {
    // A blank id is no attachment, as a blank field is no field (the fake's choice).
    let named = incoming.form.iter().filter(|(name, _)| is_attachment_field(name));
    let ids = named.map(|(_, v)| v.trim()).filter(|v| !v.is_empty());
    let mut found = Vec::new();
    for id in ids {
        let attachment = id.parse().ok().and_then(|id| state.attachment(id)).ok_or("attachment_not_exists")?;
        // Another sender's file: the fake's reading of `attachment_unavailable`.
        if attachment.user_id != user_id {
            return Err("attachment_unavailable");
        }
        found.push(attachment.id);
    }
    Ok(found)
}

fn is_attachment_field(name: &str) -> bool {
    let Some(index) = name.strip_prefix("attachment[").and_then(|rest| rest.strip_suffix(']')) else {
        return false;
    };
    index.chars().all(|c| c.is_ascii_digit())
}

/// A qualified send needs a verified identity and either a TOTP code or a live `auth_otp_hash` (§1.4, §1.6).
fn check_eidas(state: &State, user: &FakeUser, incoming: &Incoming) -> Result<(), &'static str> {
    if !user.is_identity_verified {
        return Err("authentication_missing");
    }
    if let Some(hash) = incoming.param("auth_otp_hash") {
        let live = state
            .sessions
            .iter()
            .any(|s| s.hash == hash.trim() && s.user_id == user.id && Utc::now() - s.opened <= OTP_SESSION);
        return if live { Ok(()) } else { Err("authentication_otp_hash_invalid") };
    }
    match incoming.param("otp") {
        Some(code) if user.otp.as_deref() == Some(code.trim()) => Ok(()),
        Some(_) => Err("authentication_otp_invalid"),
        None => Err("authentication_missing"),
    }
}

/// `GET /mail?id=`. AR24 documents no slug for an unknown id; the fake answers `missing_erm_id` as for a
/// missing one (its own choice).
pub fn get(shared: &Shared, incoming: &Incoming) -> Reply {
    let state = shared.state();
    let id = incoming.param("id").ok_or("missing_erm_id")?;
    let mail = id.trim().parse().ok().and_then(|id| state.mail(id)).ok_or("missing_erm_id")?;
    Ok(letter_json(&state, mail, shared.origin()))
}

/// `GET /user/mail?id_user&max&start&sort`: `result.mails`, newest first unless `sort=ASC` (§1.7).
pub fn list(shared: &Shared, incoming: &Incoming) -> Reply {
    let state = shared.state();
    let user_id = sender(&state, incoming)?.id;
    let number =
        |name: &str, default: usize| incoming.param(name).and_then(|v| v.trim().parse().ok()).unwrap_or(default);
    let (max, start) = (number("max", 10), number("start", 0));
    let mut mails: Vec<&FakeMail> = state.mails.iter().filter(|m| m.user_id == user_id).collect();
    // Ids grow with time, so they order letters by deposit even within one second.
    mails.sort_by_key(|m| std::cmp::Reverse(m.id));
    if incoming.param("sort").is_some_and(|s| s.eq_ignore_ascii_case("ASC")) {
        mails.reverse();
    }
    let page: Vec<Value> =
        mails.into_iter().skip(start).take(max).map(|m| letter_json(&state, m, shared.origin())).collect();
    Ok(json!({ "mails": page }))
}

/// `n` letters of `user` recorded now, to other recipients (another application using the same account).
pub fn add_other_mails(state: &mut State, user: i64, n: usize) {
    for i in 0..n {
        let id = state.next_id();
        state.mails.push(FakeMail {
            id,
            user_id: user,
            fields: Vec::new(),
            status: "waiting".into(),
            eidas: false,
            webhook: None,
            ref_dossier: Some(format!("other-{i}")),
            ref_client: None,
            ref_facturation: None,
            dest_statut: Some("professionnel".into()),
            to_email: format!("autre-{i}@example.fr"),
            content: Some("<p>Autre lettre</p>".into()),
            attachments: Vec::new(),
            date: paris(Utc::now()),
            price_ht: PRICE_SIMPLE.into(),
            proof_token: random_hex(16),
            dates: BTreeMap::new(),
        });
    }
}

/// A proof URL on the fake's own host, carrying the letter's token (providers.md §1.7 URL shapes).
pub fn proof_url(origin: &str, mail: &FakeMail, stage: Stage) -> String {
    format!("{origin}/get/proof/{}-{}?token={}", stage.proof_kind(), mail.id, mail.proof_token)
}

/// The letter record with every field of providers.md §1.7; null where not known yet.
pub fn letter_json(state: &State, mail: &FakeMail, origin: &str) -> Value {
    let user = state.user(mail.user_id);
    let text = |name: &str| mail.field(name).map(str::to_string);
    let (first, last) = (text("to_firstname").unwrap_or_default(), text("to_lastname").unwrap_or_default());
    let mut record = json!({
        "id": mail.id,
        "type": "lre",
        "status": mail.status,
        "date": mail.date,
        "full_hash_sha256": full_hash(state, mail),
        "send_fail": false,
        "is_eidas": mail.eidas,
        "price_ht": mail.price_ht,
        "payment_slug": null,
        "id_sender": mail.user_id,
        "id_creator": mail.user_id,
        "from_name": user.map(|u| format!("{} {}", u.firstname, u.lastname).trim().to_string()),
        "from_email": user.map(|u| u.email.clone()),
        "address1": null, "address2": null, "city": null, "zipcode": null,
        "to_name": format!("{first} {last}").trim(),
        "to_firstname": text("to_firstname"),
        "to_lastname": text("to_lastname"),
        "to_company": text("to_company"),
        "to_email": mail.to_email,
        "dest_statut": mail.dest_statut,
        "ref_dossier": mail.ref_dossier,
        "ref_client": mail.ref_client,
        "ref_facturation": mail.ref_facturation,
        "proof_dp_url": null,
        "pdf_content": null,
        "zip": null,
        "attachments": mail.attachments,
        "attachments_details": attachment_details(state, mail),
        "req_notify_ev": false, "req_notify_ar": false, "req_notify_rf": false, "req_notify_ng": false,
        "update": [],
    });
    for stage in [Stage::Sent, Stage::Delivered, Stage::Refused, Stage::NotClaimed, Stage::Bounced] {
        let reached = mail.reached(stage);
        record[stage.date_field()] = json!(mail.dates.get(stage.date_field()));
        record[format!("proof_{}_url", stage.proof_kind())] = json!(reached.then(|| proof_url(origin, mail, stage)));
    }
    record
}

fn attachment_details(state: &State, mail: &FakeMail) -> Vec<Value> {
    let files = mail.attachments.iter().filter_map(|id| state.attachment(*id));
    files
        .map(|a| {
            json!({
                "id": a.id, "name": a.file_name, "hash_sha1": null, "file_size": a.size,
                "human_file_size": format!("{:.1} KB", a.size as f64 / 1024.0), "download_url": null,
            })
        })
        .collect()
}

/// The fake's own fingerprint of a letter: SHA-256 over the content and the attachments' hashes.
fn full_hash(state: &State, mail: &FakeMail) -> String {
    let mut hasher = Sha256::new();
    hasher.update(mail.content.as_deref().unwrap_or("").as_bytes());
    for attachment in mail.attachments.iter().filter_map(|id| state.attachment(*id)) {
        hasher.update(attachment.sha256.as_bytes());
    }
    hex::encode(hasher.finalize())
}
