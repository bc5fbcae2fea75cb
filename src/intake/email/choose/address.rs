//! Which address of an email names its template and its sender. The SMTP receiver's envelope recipient
//! (and raw MIME's `?to=`) is the address; for a mailbox (IMAP) and raw MIME without `?to=`, the
//! `Delivered-To` / `X-Original-To` header when present, else the first `To`/`Cc` address at an accepted
//! domain, else the mailbox's own address. When that address has no `+tag` and a header shows the same
//! address with one (`--to lre@…` for a message written to `lre+mise-en-demeure@…`), the explicit tag wins.

use mail_parser::{HeaderName, HeaderValue, Message};

/// A receiving address split into its parts: `lre+dupont.mise-en-demeure@relais.example.fr`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receiving {
    /// The local part without its `+tag`, lowercased.
    pub base: String,
    /// What follows the first `+`, lowercased; None when there is none or it is empty.
    pub tag: Option<String>,
    pub domain: String,
}

impl Receiving {
    /// Reads `lre+tag@domain`, `<lre+tag@domain>` or `Name <lre+tag@domain>`; None without an `@`.
    pub fn parse(text: &str) -> Option<Self> {
        let address = match (text.rfind('<'), text.rfind('>')) {
            (Some(open), Some(close)) if open < close => &text[open + 1..close],
            _ => text,
        };
        let (local, domain) = address.trim().rsplit_once('@')?;
        let local = local.trim().to_lowercase();
        let (base, tag) = match local.split_once('+') {
            Some((base, tag)) => (base.to_owned(), Some(tag.trim().to_owned()).filter(|t| !t.is_empty())),
            None => (local, None),
        };
        let domain = domain.trim().to_lowercase();
        (!base.is_empty() && !domain.is_empty()).then_some(Self { base, tag, domain })
    }

    /// The address without its tag: what a sender's `intake_address` is compared with.
    pub fn bare(&self) -> String {
        format!("{}@{}", self.base, self.domain)
    }

    fn same_mailbox(&self, other: &Self) -> bool {
        self.base == other.base && self.domain == other.domain
    }
}

/// How the channel knows where the message was delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Given {
    /// The SMTP envelope recipient (or raw MIME's `?to=`): the address.
    Envelope,
    /// A mailbox's own address (IMAP): used only when the headers show none.
    Mailbox,
}

/// The address that names the template and the sender (see the module's rule).
pub fn receiving_address(
    message: Option<&Message<'_>>,
    given: &str,
    how: Given,
    accepted_domains: &[String],
) -> Option<Receiving> {
    let given = Receiving::parse(given);
    let delivered: Vec<Receiving> = message.map(delivered_to).unwrap_or_default();
    let written: Vec<Receiving> = message.map(written_to).unwrap_or_default();
    let accepted = |r: &Receiving| accepted_domains.iter().any(|d| d.eq_ignore_ascii_case(&r.domain));
    let chosen = match (how, &given) {
        (Given::Envelope, Some(envelope)) => Some(envelope.clone()),
        _ => delivered.first().or_else(|| written.iter().find(|r| accepted(r))).or(given.as_ref()).cloned(),
    }?;
    if chosen.tag.is_some() {
        return Some(chosen);
    }
    let tagged = delivered.iter().chain(&written).find(|r| r.tag.is_some() && r.same_mailbox(&chosen));
    Some(tagged.cloned().unwrap_or(chosen))
}

/// `Delivered-To`, else `X-Original-To` (the topmost of each: the last hop's).
fn delivered_to(message: &Message<'_>) -> Vec<Receiving> {
    ["Delivered-To", "X-Original-To"]
        .into_iter()
        .filter_map(|name| message.header_raw(name))
        .filter_map(Receiving::parse)
        .take(1)
        .collect()
}

/// The `To` then `Cc` addresses.
fn written_to(message: &Message<'_>) -> Vec<Receiving> {
    let mut found = vec![];
    for name in [HeaderName::To, HeaderName::Cc] {
        if let Some(HeaderValue::Address(list)) = message.header(name) {
            found.extend(list.iter().filter_map(|a| a.address()).filter_map(Receiving::parse));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use mail_parser::MessageParser;

    use super::*;

    fn chosen(raw: &str, given: &str, how: Given) -> Option<Receiving> {
        let message = MessageParser::default().parse_headers(raw.as_bytes());
        receiving_address(message.as_ref(), given, how, &["relais.example.fr".to_owned()])
    }

    fn tag(r: Option<Receiving>) -> Option<String> {
        r.and_then(|r| r.tag)
    }

    #[test]
    fn the_header_tag_wins_over_a_bare_envelope_of_the_same_address() {
        let raw = "From: a@b.fr\r\nTo: lre+mise-en-demeure@relais.example.fr\r\n\r\nx";
        let r = chosen(raw, "lre@relais.example.fr", Given::Envelope);
        assert_eq!(tag(r), Some("mise-en-demeure".into()));
    }

    #[test]
    fn an_envelope_tag_wins_over_the_header() {
        let raw = "From: a@b.fr\r\nTo: lre+mise-en-demeure@relais.example.fr\r\n\r\nx";
        let r = chosen(raw, "lre+relance-facture@relais.example.fr", Given::Envelope);
        assert_eq!(tag(r), Some("relance-facture".into()));
    }

    #[test]
    fn a_tag_on_another_address_does_not_count() {
        let raw = "From: a@b.fr\r\nTo: other+mise-en-demeure@relais.example.fr\r\n\r\nx";
        assert_eq!(tag(chosen(raw, "lre@relais.example.fr", Given::Envelope)), None);
    }

    #[test]
    fn a_mailbox_reads_delivered_to_before_the_to_header() {
        let raw = "Delivered-To: lre+dupont@relais.example.fr\r\nFrom: a@b.fr\r\nTo: someone@else.fr\r\n\r\nx";
        assert_eq!(tag(chosen(raw, "lre@relais.example.fr", Given::Mailbox)), Some("dupont".into()));
    }

    #[test]
    fn a_mailbox_takes_the_first_to_or_cc_address_at_an_accepted_domain() {
        let raw = "From: a@b.fr\r\nTo: boss@client.fr\r\nCc: Relais <LRE+Durand@Relais.Example.FR>\r\n\r\nx";
        let r = chosen(raw, "lre@relais.example.fr", Given::Mailbox).unwrap();
        assert_eq!(
            (r.base.as_str(), r.tag.as_deref(), r.domain.as_str()),
            ("lre", Some("durand"), "relais.example.fr")
        );
    }

    #[test]
    fn a_mailbox_with_no_useful_header_is_its_own_address() {
        let raw = "From: a@b.fr\r\nTo: boss@client.fr\r\n\r\nx";
        assert_eq!(chosen(raw, "lre@relais.example.fr", Given::Mailbox).unwrap().bare(), "lre@relais.example.fr");
    }
}
