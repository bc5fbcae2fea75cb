//! Reading an email as a request for one sender: the receiving address, the sender it names (address,
//! subject tag, body line, or the request it continues), and the request parsed with that sender's default
//! template.

use mail_parser::Message;

use crate::config::SenderSettings;
use crate::intake::email::choose::address::{Given, Receiving, receiving_address};
use crate::intake::email::choose::{self, Choice, Named, NamedBy};
use crate::intake::email::drafts::Draft;
use crate::intake::email::parse::{EmailRequest, Ignored, ParseOptions, Parsed, Problem, parse_request};
use crate::intake::email::sink::Delivery;
use crate::services::Services;

/// An email read as a request.
pub(super) struct Reading<'s> {
    pub request: EmailRequest,
    pub problems: Vec<Problem>,
    pub choice: Choice<'s>,
    /// The address that named the template and the sender.
    pub address: Option<Receiving>,
}

pub(super) fn read<'s>(
    services: &'s Services,
    email: &Delivery<'_>,
    message: Option<&Message<'_>>,
    from: Option<&str>,
    draft: Option<&Draft>,
) -> Result<Reading<'s>, Ignored> {
    let senders = &services.settings.senders;
    let templates = services.templates.all();
    let how = if email.channel == "imap" { Given::Mailbox } else { Given::Envelope };
    let address = receiving_address(message, email.recipient, how, &accepted_domains(services, email.recipient));
    let by_address = choose::read_address(address.as_ref(), senders, |t| templates.iter().any(|x| x.name == t));
    let subject = message.and_then(|m| m.subject()).unwrap_or_default();
    let sender_tags = choose::sender_tags(subject, senders);
    let template_tag = by_address.template_tag.or_else(|| draft.and_then(|d| d.record.template.clone()));
    let named = choose::read_rest(by_address.named, subject, None, senders);
    let earlier = draft.map(|d| d.sources.as_slice()).unwrap_or_default();
    let parse = |default_template: &str| {
        let options = ParseOptions {
            template_tag: template_tag.as_deref(),
            sender_tags: &sender_tags,
            earlier,
            templates: &templates,
            default_template,
        };
        match parse_request(email.raw, &options) {
            Parsed::Ignored(why) => Err(why),
            Parsed::Request(request) => Ok((request, vec![])),
            Parsed::Rejected { request, problems } => Ok((request, problems)),
        }
    };
    let guess = default_template(&choose::choose(from, &named, senders));
    let (mut request, mut problems) = parse(&guess)?;
    let named = match named {
        Named::Nothing => {
            let line = request.sender_line.clone();
            let named = choose::read_rest(Named::Nothing, subject, line.as_deref(), senders);
            match (named, draft.and_then(|d| d.sender.as_ref())) {
                (Named::Nothing, Some(id)) => senders
                    .iter()
                    .find(|s| &s.id == id)
                    .map_or(Named::Nothing, |s| Named::Sender(s, NamedBy::EarlierEmail)),
                (named, _) => named,
            }
        }
        named => named,
    };
    let choice = choose::choose(from, &named, senders);
    let chosen = default_template(&choice);
    if chosen != guess {
        (request, problems) = parse(&chosen)?;
    }
    Ok(Reading { request, problems, choice, address })
}

/// The template of an email that names none: its sender's default (the shipped default when unclear).
fn default_template(choice: &Choice<'_>) -> String {
    match choice {
        Choice::Sender(sender) => sender.default_template.clone(),
        Choice::Unclear { allowed, .. } => allowed.first().map_or_else(shipped_default, |s| s.default_template.clone()),
        Choice::NotAllowed => shipped_default(),
    }
}

fn shipped_default() -> String {
    "relance-facture".to_owned()
}

/// Domains relais receives mail at: the SMTP receiver's, the mailboxes', the senders' intake addresses',
/// and the one this email was given to.
fn accepted_domains(services: &Services, given: &str) -> Vec<String> {
    let settings = &services.settings;
    let domain = |address: &str| address.rsplit_once('@').map(|(_, d)| d.trim_end_matches('>').trim().to_lowercase());
    let mut domains: Vec<String> = settings.intake.smtp.accept_domains.iter().map(|d| d.to_lowercase()).collect();
    domains.extend(settings.intake.imap.iter().filter_map(|m| domain(&m.address).or_else(|| domain(&m.username))));
    domains
        .extend(settings.senders.iter().filter_map(|s| s.intake_address.as_ref()).filter_map(|a| domain(a.as_str())));
    domains.extend(domain(given));
    domains
}

/// The allow-list the From is checked against: the chosen sender's, or those of every sender it may use.
pub(super) fn allow_list(choice: &Choice<'_>) -> Vec<String> {
    match choice {
        Choice::Sender(sender) => sender.allowed_from.clone(),
        Choice::Unclear { allowed, .. } => allowed.iter().flat_map(|s| s.allowed_from.clone()).collect(),
        Choice::NotAllowed => vec![],
    }
}

/// The senders an unclear email may name, as (id, company).
pub(super) fn listed<'a>(allowed: &[&'a SenderSettings]) -> Vec<(&'a str, &'a str)> {
    allowed.iter().map(|s| (s.id.as_str(), s.company.as_str())).collect()
}
