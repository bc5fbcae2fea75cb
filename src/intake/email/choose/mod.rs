//! Which sender an email is for. Among the senders whose `allowed_from` lists the From address, the email
//! names one by, in this order: its receiving address (`lre+dupont@…`, `lre+dupont.mise-en-demeure@…`, or a
//! sender's `intake_address`), a subject tag (`[dupont]`), or a body line (`Expéditeur : Dupont SARL`),
//! by id or company, accents and case ignored. When it names none, the From's only sender is the one; with
//! several, nothing is sent and the requester is told which senders they may name.

pub mod address;

use address::Receiving;

use crate::config::SenderSettings;
use crate::intake::email::authenticate::on_allow_list;

/// How an email named its sender, for the logs and the answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamedBy {
    Address,
    SubjectTag,
    BodyLine,
    /// The request a reply continues named it.
    EarlierEmail,
}

/// What an email says about its sender, before the allow-list is looked at.
#[derive(Debug, Clone)]
pub enum Named<'a> {
    Sender(&'a SenderSettings, NamedBy),
    /// A name that is no sender's, as written.
    Unknown(String, NamedBy),
    Nothing,
}

/// The sender an email is for.
#[derive(Debug, Clone)]
pub enum Choice<'a> {
    Sender(&'a SenderSettings),
    /// The From may use several senders and named none of them, or named one it may not use: nothing is
    /// sent. `allowed` is what it may name.
    Unclear {
        allowed: Vec<&'a SenderSettings>,
        named: Option<String>,
    },
    /// The From may use no sender at all.
    NotAllowed,
}

/// What the receiving address says: the sender it names, and the template its tag names.
#[derive(Debug, Clone)]
pub struct AddressNaming<'a> {
    pub named: Named<'a>,
    pub template_tag: Option<String>,
}

/// Reads the receiving address: a sender's `intake_address` names it (its tag is the template); else a tag
/// `SENDER.TEMPLATE` names both; else a tag is a template when one has that name, a sender when one has
/// that id, and otherwise a template name (an unknown template is a problem the answer reports).
pub fn read_address<'a>(
    address: Option<&Receiving>,
    senders: &'a [SenderSettings],
    is_template: impl Fn(&str) -> bool,
) -> AddressNaming<'a> {
    let Some(address) = address else { return AddressNaming { named: Named::Nothing, template_tag: None } };
    let bare = address.bare();
    let by_intake =
        senders.iter().find(|s| s.intake_address.as_ref().is_some_and(|a| a.as_str().eq_ignore_ascii_case(&bare)));
    if let Some(sender) = by_intake {
        return AddressNaming { named: Named::Sender(sender, NamedBy::Address), template_tag: address.tag.clone() };
    }
    let Some(tag) = &address.tag else { return AddressNaming { named: Named::Nothing, template_tag: None } };
    if let Some((sender, template)) = tag.split_once('.') {
        let named = match by_id(senders, sender) {
            Some(s) => Named::Sender(s, NamedBy::Address),
            None => Named::Unknown(sender.to_owned(), NamedBy::Address),
        };
        return AddressNaming { named, template_tag: Some(template.to_owned()).filter(|t| !t.is_empty()) };
    }
    match by_id(senders, tag) {
        Some(sender) if !is_template(tag) => {
            AddressNaming { named: Named::Sender(sender, NamedBy::Address), template_tag: None }
        }
        _ => AddressNaming { named: Named::Nothing, template_tag: Some(tag.clone()) },
    }
}

/// The subject tags that name a sender (by id or company): never taken for a template.
pub fn sender_tags(subject: &str, senders: &[SenderSettings]) -> Vec<String> {
    subject_tags(subject).filter(|tag| by_name(senders, tag).is_some()).collect()
}

/// What the subject and the body line say, when the address said nothing.
pub fn read_rest<'a>(
    from_address: Named<'a>,
    subject: &str,
    body_line: Option<&str>,
    senders: &'a [SenderSettings],
) -> Named<'a> {
    if !matches!(from_address, Named::Nothing) {
        return from_address;
    }
    if let Some(sender) = subject_tags(subject).find_map(|tag| by_name(senders, &tag)) {
        return Named::Sender(sender, NamedBy::SubjectTag);
    }
    match body_line.map(str::trim).filter(|l| !l.is_empty()) {
        Some(line) => match by_name(senders, line) {
            Some(sender) => Named::Sender(sender, NamedBy::BodyLine),
            None => Named::Unknown(line.to_owned(), NamedBy::BodyLine),
        },
        None => Named::Nothing,
    }
}

/// The sender, restricted to those the From address may use.
pub fn choose<'a>(from: Option<&str>, named: &Named<'a>, senders: &'a [SenderSettings]) -> Choice<'a> {
    let allowed: Vec<&SenderSettings> =
        senders.iter().filter(|s| from.is_some_and(|f| on_allow_list(f, &s.allowed_from))).collect();
    if allowed.is_empty() {
        return Choice::NotAllowed;
    }
    match named {
        Named::Sender(sender, _) if allowed.iter().any(|a| a.id == sender.id) => Choice::Sender(sender),
        Named::Sender(sender, _) => Choice::Unclear { allowed, named: Some(sender.id.to_string()) },
        Named::Unknown(name, _) => Choice::Unclear { allowed, named: Some(name.clone()) },
        Named::Nothing if allowed.len() == 1 => Choice::Sender(allowed[0]),
        Named::Nothing => Choice::Unclear { allowed, named: None },
    }
}

/// Addresses that several senders' allow-lists share: legitimate when each email names its sender.
pub fn shared_allow_list_entries(senders: &[SenderSettings]) -> Vec<(String, Vec<String>)> {
    let mut shared: Vec<(String, Vec<String>)> = vec![];
    for sender in senders {
        for entry in sender.allowed_from.iter().map(|e| e.trim().to_lowercase()) {
            match shared.iter_mut().find(|(e, _)| *e == entry) {
                Some((_, ids)) => ids.push(sender.id.to_string()),
                None => shared.push((entry, vec![sender.id.to_string()])),
            }
        }
    }
    shared.retain(|(_, ids)| ids.len() > 1);
    shared
}

/// Says at start which addresses may ask for several senders. That is legitimate (a firm for its clients):
/// each of their emails names its sender, and one that names none sends nothing, so this is no warning.
pub fn report_shared_allow_lists(senders: &[SenderSettings]) {
    for (entry, ids) in shared_allow_list_entries(senders) {
        tracing::info!(
            entry = %entry,
            senders = %ids.join(", "),
            "this address may ask for several senders: each email names one (lre+SENDER@…, a [SENDER] subject tag \
             or an `Expéditeur :` line), or nothing is sent"
        );
    }
}

fn by_id<'a>(senders: &'a [SenderSettings], id: &str) -> Option<&'a SenderSettings> {
    senders.iter().find(|s| s.id.as_str().eq_ignore_ascii_case(id.trim()))
}

/// A sender by id or by company name, accents, case and spacing ignored.
fn by_name<'a>(senders: &'a [SenderSettings], name: &str) -> Option<&'a SenderSettings> {
    let wanted = simplify(name);
    by_id(senders, name).or_else(|| senders.iter().find(|s| !wanted.is_empty() && simplify(&s.company) == wanted))
}

fn simplify(text: &str) -> String {
    crate::intake::email::parse::fold(text).split_whitespace().collect::<Vec<_>>().join(" ")
}

fn subject_tags(subject: &str) -> impl Iterator<Item = String> + '_ {
    subject.split('[').skip(1).filter_map(|s| s.split_once(']')).map(|(tag, _)| tag.trim().to_owned())
}

#[cfg(test)]
mod tests;
