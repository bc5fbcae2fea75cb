//! The `Key: value` lines of the body texts. Keys match case- and accent-insensitively; quoted lines count
//! (their `>` is dropped); the header block of a forwarded message (`From:`, `À :`, `Objet :` …) never
//! counts, since its `To:` is the forwarded mail's addressee, not the letter's recipient.

use super::Language;
use crate::render::VariableSpec;

/// A recipient or request field a line can set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
    FullName,
    FirstName,
    LastName,
    Email,
    Company,
    Address,
    PostalCode,
    City,
    Country,
    Kind,
    Reference,
    /// `Expéditeur :` / `Pour le compte de :` / `Sender:`: the sender (client company) the letter is for.
    Sender,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Target {
    Field(Field),
    /// A template variable, by name.
    Variable(String),
}

/// The language a key is written in; some keys (`Email`, `Type`) are both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    French,
    English,
    Either,
}

/// One recognized line; `more` holds the lines that continue an address.
#[derive(Debug, Clone)]
pub(super) struct Hit {
    pub target: Target,
    pub value: String,
    pub more: Vec<String>,
}

#[derive(Debug, Default)]
pub(super) struct Scan {
    pub hits: Vec<Hit>,
    french: usize,
    english: usize,
}

impl Scan {
    /// English only when most recognized keys are English: French is the default.
    pub fn language(&self) -> Language {
        if self.english > self.french { Language::English } else { Language::French }
    }

    /// The first line for this target: the requester's own lines come before forwarded content.
    pub fn first(&self, target: &Target) -> Option<&Hit> {
        self.hits.iter().find(|h| &h.target == target)
    }
}

/// Recipient and request keys, normalized (see `normalize_key`).
const FIELD_KEYS: [(&str, Field, Lang); 47] = [
    ("destinataire", Field::FullName, Lang::French),
    ("nom", Field::FullName, Lang::French),
    ("nom complet", Field::FullName, Lang::French),
    ("to", Field::FullName, Lang::English),
    ("name", Field::FullName, Lang::English),
    ("full name", Field::FullName, Lang::English),
    ("recipient", Field::FullName, Lang::English),
    ("prenom", Field::FirstName, Lang::French),
    ("first name", Field::FirstName, Lang::English),
    ("nom de famille", Field::LastName, Lang::French),
    ("last name", Field::LastName, Lang::English),
    ("surname", Field::LastName, Lang::English),
    ("email", Field::Email, Lang::Either),
    ("e-mail", Field::Email, Lang::Either),
    ("mail", Field::Email, Lang::Either),
    ("courriel", Field::Email, Lang::French),
    ("adresse e-mail", Field::Email, Lang::French),
    ("adresse email", Field::Email, Lang::French),
    ("adresse mail", Field::Email, Lang::French),
    ("email address", Field::Email, Lang::English),
    ("e-mail address", Field::Email, Lang::English),
    ("societe", Field::Company, Lang::French),
    ("entreprise", Field::Company, Lang::French),
    ("raison sociale", Field::Company, Lang::French),
    ("company", Field::Company, Lang::English),
    ("adresse", Field::Address, Lang::French),
    ("adresse postale", Field::Address, Lang::French),
    ("address", Field::Address, Lang::English),
    ("postal address", Field::Address, Lang::English),
    ("code postal", Field::PostalCode, Lang::French),
    ("cp", Field::PostalCode, Lang::French),
    ("postal code", Field::PostalCode, Lang::English),
    ("zip", Field::PostalCode, Lang::English),
    ("zip code", Field::PostalCode, Lang::English),
    ("ville", Field::City, Lang::French),
    ("city", Field::City, Lang::English),
    ("pays", Field::Country, Lang::French),
    ("country", Field::Country, Lang::English),
    ("type", Field::Kind, Lang::Either),
    ("type de destinataire", Field::Kind, Lang::French),
    ("recipient type", Field::Kind, Lang::English),
    ("reference", Field::Reference, Lang::Either),
    ("ref", Field::Reference, Lang::Either),
    ("your reference", Field::Reference, Lang::English),
    ("expediteur", Field::Sender, Lang::French),
    ("pour le compte de", Field::Sender, Lang::French),
    ("sender", Field::Sender, Lang::English),
];

/// Header names of a forwarded message as clients print them (Gmail, Outlook, Apple Mail, Thunderbird).
const FORWARD_HEADERS: [&str; 17] = [
    "from",
    "de",
    "sent",
    "envoye",
    "envoye le",
    "date",
    "to",
    "a",
    "pour",
    "cc",
    "cci",
    "bcc",
    "subject",
    "objet",
    "sujet",
    "reply-to",
    "repondre a",
];

/// Header names that start a forwarded header block even without a separator line before them.
const FORWARD_STARTS: [&str; 5] = ["from", "de", "sent", "envoye", "expediteur"];

/// The separator lines of forwards and quoted originals, normalized without their dashes.
const SEPARATORS: [&str; 7] = [
    "forwarded message",
    "message transfere",
    "original message",
    "message d'origine",
    "begin forwarded message",
    "debut du message reexpedie",
    "message reexpedie",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Body,
    /// After a separator: blank lines may come before the header block.
    AfterSeparator,
    ForwardHeaders,
}

/// All recognized lines of the texts, in order.
pub(super) fn scan(texts: &[String], variables: &[&VariableSpec]) -> Scan {
    let mut scan = Scan::default();
    for text in texts {
        let lines: Vec<String> = text.lines().map(clean_line).collect();
        let mut mode = Mode::Body;
        let mut i = 0;
        while i < lines.len() {
            let line = &lines[i];
            i += 1;
            if is_separator(line) {
                mode = Mode::AfterSeparator;
                continue;
            }
            let pair = key_value(line);
            let key = pair.as_ref().filter(|(k, v)| !names_a_sender(k, v)).map(|(k, _)| k.as_str());
            mode = next_mode(mode, line, key);
            if mode != Mode::Body {
                continue;
            }
            let Some((key, value)) = pair else { continue };
            let Some((target, lang)) = match_key(&key, variables) else { continue };
            let more =
                if target == Target::Field(Field::Address) { continuation(&lines, &mut i, variables) } else { vec![] };
            if value.is_empty() && more.is_empty() {
                continue;
            }
            match lang {
                Lang::French => scan.french += 1,
                Lang::English => scan.english += 1,
                Lang::Either => {}
            }
            scan.hits.push(Hit { target, value, more });
        }
    }
    scan
}

/// `Expéditeur : dupont` names the sender the letter is for; `Expéditeur : Paul <paul@…>` starts the header
/// block of a forwarded message (Thunderbird), which always shows an address.
fn names_a_sender(key: &str, value: &str) -> bool {
    key == "expediteur" && !value.contains('@')
}

/// Where a line leaves the forwarded-header state: a header block lasts while its lines are header lines.
fn next_mode(mode: Mode, line: &str, key: Option<&str>) -> Mode {
    let header = key.is_some_and(|k| FORWARD_HEADERS.contains(&k));
    match mode {
        Mode::AfterSeparator if line.is_empty() => Mode::AfterSeparator,
        // The forwarded mail's `To:` is not the letter's recipient; only a separator makes it a header here.
        Mode::AfterSeparator | Mode::ForwardHeaders if header => Mode::ForwardHeaders,
        _ if key.is_some_and(|k| FORWARD_STARTS.contains(&k)) => Mode::ForwardHeaders,
        _ => Mode::Body,
    }
}

/// The lines after `Adresse:` up to a blank line or another key (at most three: street lines, building).
fn continuation(lines: &[String], i: &mut usize, variables: &[&VariableSpec]) -> Vec<String> {
    let mut more = vec![];
    while let Some(line) = lines.get(*i) {
        let keyed = key_value(line)
            .is_some_and(|(k, _)| match_key(&k, variables).is_some() || FORWARD_HEADERS.contains(&k.as_str()));
        if line.is_empty() || keyed || is_separator(line) || line.starts_with("--") || more.len() == 3 {
            break;
        }
        more.push(line.clone());
        *i += 1;
    }
    more
}

fn match_key(key: &str, variables: &[&VariableSpec]) -> Option<(Target, Lang)> {
    if let Some((_, field, lang)) = FIELD_KEYS.iter().find(|(k, _, _)| *k == key) {
        return Some((Target::Field(*field), *lang));
    }
    for spec in variables {
        let target = || Target::Variable(spec.name.clone());
        if normalize_key(&spec.name) == key || normalize_key(&spec.name.replace('_', " ")) == key {
            return Some((target(), Lang::Either));
        }
        if normalize_key(&spec.label) == key {
            return Some((target(), Lang::French));
        }
        if let Some(alias) = spec.aliases.iter().find(|a| normalize_key(a) == key) {
            return Some((target(), if is_english(alias) { Lang::English } else { Lang::French }));
        }
    }
    None
}

/// Whether a template alias is English: all its words are English invoice vocabulary ("Due date"), which
/// none of the French ones are ("Date limite", "Montant").
pub(super) fn is_english(alias: &str) -> bool {
    const WORDS: [&str; 13] = [
        "invoice", "number", "amount", "due", "date", "payment", "deadline", "late", "interest", "rate", "days",
        "total", "fee",
    ];
    let alias = normalize_key(alias);
    !alias.is_empty() && alias.split(' ').all(|w| WORDS.contains(&w))
}

/// Drops quote marks (`> > `) and turns the odd spaces of rich-text clients into plain ones.
fn clean_line(line: &str) -> String {
    let line: String = line
        .chars()
        .filter(|c| !matches!(c, '\u{200b}' | '\u{feff}' | '\r'))
        .map(|c| if matches!(c, '\u{a0}' | '\u{202f}' | '\u{2007}' | '\t') { ' ' } else { c })
        .collect();
    let mut rest = line.trim();
    while let Some(unquoted) = rest.strip_prefix('>') {
        rest = unquoted.trim_start();
    }
    rest.trim_end().to_owned()
}

fn is_separator(line: &str) -> bool {
    let folded = fold(line);
    let core = folded.trim_matches(|c: char| matches!(c, '-' | '_' | ' ' | ':' | '='));
    if core.is_empty() {
        // Outlook's plain-text rule before the original's headers.
        return line.chars().filter(|&c| c == '_').count() >= 10;
    }
    SEPARATORS.contains(&core)
}

/// `Key : value` → (normalized key, trimmed value); None for lines that are sentences, times or links.
fn key_value(line: &str) -> Option<(String, String)> {
    let at = line.find([':', '：'])?;
    let raw_key = &line[..at];
    let colon_len = line[at..].chars().next().map_or(1, char::len_utf8);
    if raw_key.chars().count() > 40
        || raw_key.split_whitespace().count() > 6
        || !raw_key.chars().any(char::is_alphabetic)
    {
        return None;
    }
    let key = normalize_key(raw_key);
    if key.is_empty() {
        return None;
    }
    let value = line[at + colon_len..].trim();
    // `Email: …` copied from a rejection reply is a placeholder, not a value.
    let placeholder = value.chars().all(|c| matches!(c, '…' | '.' | '_' | ' '));
    Some((key, if placeholder { String::new() } else { value.to_owned() }))
}

/// Lowercase, accents folded, `(jours)` dropped, bullets and markdown emphasis dropped, spaces collapsed.
pub(super) fn normalize_key(key: &str) -> String {
    let mut plain = String::with_capacity(key.len());
    let mut depth = 0usize;
    for c in fold(key).chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            '*' | '•' | '·' => {}
            '’' | '‘' => plain.push('\''),
            c if depth == 0 => plain.push(c),
            _ => {}
        }
    }
    let plain = plain.trim().trim_start_matches(['-', '_']).trim_end_matches(['.', '_']);
    plain.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Lowercase without diacritics: `Échéance` → `echeance`.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => out.push('a'),
            'ç' => out.push('c'),
            'è' | 'é' | 'ê' | 'ë' => out.push('e'),
            'ì' | 'í' | 'î' | 'ï' => out.push('i'),
            'ñ' => out.push('n'),
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' => out.push('o'),
            'ù' | 'ú' | 'û' | 'ü' => out.push('u'),
            'ý' | 'ÿ' => out.push('y'),
            'œ' => out.push_str("oe"),
            'æ' => out.push_str("ae"),
            // Combining accents (decomposed text from macOS).
            '\u{300}'..='\u{36f}' => {}
            c => out.push(c),
        }
    }
    out
}
