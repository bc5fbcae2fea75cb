//! From recognized lines to the request's fields: the template choice, the recipient as written, the
//! variables, and what is missing.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::RecipientFields;
use super::lines::{Field, Scan, Target, fold};
use crate::render::{LetterTemplate, VariableSpec};

/// The template an email names, and whether it exists.
pub(super) struct TemplateChoice {
    pub name: String,
    pub known: bool,
}

impl TemplateChoice {
    /// The variables whose keys are looked for: the template's, or every template's when the name is
    /// unknown (so the rejection still shows what was understood).
    pub fn variables<'t>(&self, templates: &'t [Arc<LetterTemplate>]) -> Vec<&'t VariableSpec> {
        let mut specs: Vec<&VariableSpec> = vec![];
        for template in templates.iter().filter(|t| !self.known || t.name == self.name) {
            for spec in &template.variables {
                if !specs.iter().any(|s| s.name == spec.name) {
                    specs.push(spec);
                }
            }
        }
        specs
    }
}

/// The `+tag` of the receiving address, else a `[tag]` in the subject, else the account's default. A
/// subject tag counts when it names a template or looks like a template name (`[relance-amiable]`), so
/// gateway tags such as `[EXT]` or `[SPAM]` are not taken for one.
/// Subject tags in `not_templates` (those naming a sender) are never taken for a template.
pub(super) fn choose_template(
    tag: Option<&str>,
    subject: &str,
    not_templates: &[String],
    templates: &[Arc<LetterTemplate>],
    default_template: &str,
) -> TemplateChoice {
    let known = |name: &str| templates.iter().any(|t| t.name == name);
    let other = |tag: &str| not_templates.iter().any(|n| n.eq_ignore_ascii_case(tag));
    let name = tag
        .map(|t| t.trim().to_lowercase())
        .filter(|t| !t.is_empty())
        .or_else(|| subject_tags(subject).find(|tag| known(tag) || (looks_like_template(tag) && !other(tag))))
        .unwrap_or_else(|| default_template.trim().to_owned());
    TemplateChoice { known: known(&name), name }
}

pub(super) fn plus_tag(to: &str) -> Option<String> {
    let address = match (to.rfind('<'), to.rfind('>')) {
        (Some(open), Some(close)) if open < close => &to[open + 1..close],
        _ => to,
    };
    let local = address.trim().rsplit_once('@').map_or(address, |(local, _)| local);
    let tag = local.split_once('+')?.1.trim().to_lowercase();
    (!tag.is_empty()).then_some(tag)
}

fn subject_tags(subject: &str) -> impl Iterator<Item = String> + '_ {
    subject.split('[').skip(1).filter_map(|s| s.split_once(']')).map(|(tag, _)| tag.trim().to_lowercase())
}

fn looks_like_template(tag: &str) -> bool {
    tag.contains('-') && tag.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// What the lines say, with the first occurrence of each key kept.
pub(super) struct Found {
    pub recipient: RecipientFields,
    pub variables: Map<String, Value>,
    pub reference: Option<String>,
    /// A `Type:` value that is neither professional nor individual, as written.
    pub invalid_kind: Option<String>,
    /// The sender named by an `Expéditeur :` line, as written.
    pub sender: Option<String>,
}

pub(super) fn assemble(scan: &Scan) -> Found {
    let value = |field: Field| scan.first(&Target::Field(field)).map(|h| h.value.clone()).filter(|v| !v.is_empty());
    let mut recipient = RecipientFields {
        email: value(Field::Email).map(|e| clean_email(&e)),
        company: value(Field::Company),
        first_name: value(Field::FirstName),
        last_name: value(Field::LastName),
        postal_code: value(Field::PostalCode),
        city: value(Field::City),
        country: value(Field::Country).map(|c| normalize_country(&c)),
        ..RecipientFields::default()
    };
    if let Some(full) = value(Field::FullName) {
        apply_full_name(&mut recipient, &full);
    }
    if let Some(hit) = scan.first(&Target::Field(Field::Address)) {
        recipient.address_lines =
            std::iter::once(&hit.value).chain(&hit.more).filter(|l| !l.is_empty()).cloned().collect();
        split_postal_line(&mut recipient);
    }
    let kind_text = value(Field::Kind);
    recipient.kind = kind_text.as_deref().and_then(kind);
    let invalid_kind = kind_text.filter(|_| recipient.kind.is_none());
    let mut variables = Map::new();
    for hit in &scan.hits {
        if let Target::Variable(name) = &hit.target {
            variables.entry(name.clone()).or_insert_with(|| Value::String(hit.value.clone()));
        }
    }
    Found { recipient, variables, reference: value(Field::Reference), invalid_kind, sender: value(Field::Sender) }
}

/// `Destinataire: Jean Dupont <jean@dupont.fr>`: the address fills a missing `Email`, a company-looking
/// name fills a missing `Société` (and the company's own name is no person's), a person's name is split on its last space (`DUPONT Jean` when the
/// family name is written first in capitals) unless `Prénom`/`Nom de famille` were given.
fn apply_full_name(recipient: &mut RecipientFields, full: &str) {
    let (name, address) = split_address(full);
    if recipient.email.is_none() {
        recipient.email = address;
    }
    let same_as_company = recipient.company.as_deref().is_some_and(|c| fold(c).trim() == fold(&name));
    if name.is_empty() || same_as_company {
        return;
    }
    if looks_like_company(&name) {
        recipient.company.get_or_insert(name);
        return;
    }
    if recipient.first_name.is_some() || recipient.last_name.is_some() {
        return;
    }
    let words: Vec<&str> = name.split_whitespace().collect();
    let capitals = |w: &str| w.chars().count() > 1 && w.chars().all(|c| !c.is_alphabetic() || c.is_uppercase());
    match words.as_slice() {
        [] => {}
        [only] => recipient.last_name = Some((*only).to_owned()),
        [first, rest @ ..] if capitals(first) && !rest.iter().all(|w| capitals(w)) => {
            recipient.last_name = Some((*first).to_owned());
            recipient.first_name = Some(rest.join(" "));
        }
        [init @ .., last] => {
            recipient.first_name = Some(init.join(" "));
            recipient.last_name = Some((*last).to_owned());
        }
    }
}

/// (`Jean Dupont`, `jean@dupont.fr`) from `Jean Dupont <jean@dupont.fr>`, or from a bare address.
fn split_address(text: &str) -> (String, Option<String>) {
    if let (Some(open), Some(close)) = (text.find('<'), text.rfind('>'))
        && open < close
        && text[open..close].contains('@')
    {
        let name = format!("{} {}", &text[..open], &text[close + 1..]);
        let name = name.trim().trim_matches('"').trim().to_owned();
        return (name, Some(clean_email(&text[open + 1..close])));
    }
    if !text.contains(' ') && text.contains('@') {
        return (String::new(), Some(clean_email(text)));
    }
    (text.trim().to_owned(), None)
}

/// Undoes what clients wrap around an address (`a@b.fr<mailto:a@b.fr>`, `<a@b.fr>`, `mailto:`); the
/// address itself is checked by the pipeline.
fn clean_email(text: &str) -> String {
    let text = text.trim();
    let text = match text.find('<') {
        Some(0) => text.trim_start_matches('<').split('>').next().unwrap_or_default(),
        Some(open) => &text[..open],
        None => text,
    };
    text.trim().trim_start_matches("mailto:").trim().to_owned()
}

/// Legal forms and words that make a name a company's.
fn looks_like_company(name: &str) -> bool {
    const MARKERS: [&str; 26] = [
        "sarl",
        "sas",
        "sasu",
        "sa",
        "eurl",
        "sci",
        "snc",
        "selarl",
        "scop",
        "sca",
        "gie",
        "ei",
        "eirl",
        "ltd",
        "llc",
        "inc",
        "gmbh",
        "bv",
        "plc",
        "cie",
        "societe",
        "association",
        "groupe",
        "cabinet",
        "company",
        "corp",
    ];
    fold(name).split(|c: char| !c.is_alphanumeric()).any(|word| MARKERS.contains(&word)) || name.contains('&')
}

/// `69003 Lyon` as the last address line, when no `Code postal`/`Ville` line was written.
fn split_postal_line(recipient: &mut RecipientFields) {
    if recipient.postal_code.is_some() || recipient.city.is_some() || recipient.address_lines.len() < 2 {
        return;
    }
    let Some(last) = recipient.address_lines.last() else { return };
    let Some((code, city)) = last.split_once(' ') else { return };
    if code.len() == 5 && code.chars().all(|c| c.is_ascii_digit()) && !city.trim().is_empty() {
        recipient.postal_code = Some(code.to_owned());
        recipient.city = Some(city.trim().to_owned());
        recipient.address_lines.pop();
    }
}

fn normalize_country(country: &str) -> String {
    match fold(country.trim()).as_str() {
        "france" | "fr" | "france metropolitaine" => "FR".to_owned(),
        _ => country.trim().to_owned(),
    }
}

/// `professionnel`, `pro`, `entreprise`… → professional; `particulier`, `personne physique`… → individual.
fn kind(text: &str) -> Option<String> {
    const PROFESSIONAL: [&str; 7] =
        ["professionnel", "professional", "pro", "entreprise", "societe", "company", "business"];
    const INDIVIDUAL: [&str; 6] = ["particulier", "personne physique", "individual", "individu", "private", "person"];
    let text = fold(text.trim()).trim_end_matches('.').to_owned();
    if PROFESSIONAL.contains(&text.as_str()) {
        Some("professional".to_owned())
    } else if INDIVIDUAL.contains(&text.as_str()) {
        Some("individual".to_owned())
    } else {
        None
    }
}
