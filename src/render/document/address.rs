//! The recipient's block in the envelope window, after NF Z10-011: at most 6 lines of at most 38
//! characters, the last one "CODE POSTAL VILLE" in capitals (then the country, abroad). A block that does
//! not fit is refused with the field at fault, never printed cut.

use crate::domain::{FieldError, FieldErrors, PostalAddress, Recipient};

pub const MAX_LINES: usize = 6;
pub const MAX_LINE_CHARS: usize = 38;

/// The lines of the recipient's block, or the fields (relative to the recipient) that make it too long.
pub fn address_lines(recipient: &Recipient) -> Result<Vec<String>, FieldErrors> {
    let mut lines: Vec<(String, &'static str)> = Vec::new();
    let person = match &recipient.first_name {
        Some(first) => format!("{first} {}", recipient.last_name),
        None => recipient.last_name.clone(),
    };
    match &recipient.company {
        Some(company) if *company != recipient.last_name => {
            lines.push((company.clone(), "company"));
            let attention = format!("À l'attention de {person}");
            let fits = attention.chars().count() <= MAX_LINE_CHARS;
            lines.push((if fits { attention } else { person }, "last_name"));
        }
        _ => lines.push((person, "last_name")),
    }
    if let Some(address) = &recipient.address {
        postal_lines(address, &mut lines);
    }
    let mut errors = FieldErrors::default();
    for (line, field) in &lines {
        let count = line.chars().count();
        if count > MAX_LINE_CHARS {
            errors.push(FieldError::new(
                *field,
                "too_long",
                format!(
                    "« {line} » has {count} characters: a line of the address block has at most {MAX_LINE_CHARS} \
                     (NF Z10-011); shorten it"
                ),
            ));
        }
    }
    if lines.len() > MAX_LINES {
        errors.push(FieldError::new(
            "address.lines",
            "too_many_lines",
            format!(
                "the address block would have {} lines (name, company, address, postal code and city): at most \
                 {MAX_LINES} fit in the envelope window (NF Z10-011); remove address lines",
                lines.len()
            ),
        ));
    }
    let mut lines: Vec<String> = lines.into_iter().map(|(line, _)| line).collect();
    if let (None, Some(email)) = (&recipient.address, &recipient.email) {
        // An electronic letter without a postal address: the window names the recipient by email.
        lines.push(email.to_string());
    }
    errors.into_result(|| lines)
}

fn postal_lines(address: &PostalAddress, lines: &mut Vec<(String, &'static str)>) {
    lines.extend(address.lines.iter().map(|l| (l.clone(), "address.lines")));
    let town = format!("{} {}", address.postal_code, address.city.to_uppercase());
    lines.push((town, "address.city"));
    if address.country != "FR" {
        lines.push((country_name(&address.country).to_owned(), "address.country"));
    }
}

/// The country line of an address abroad, in French capitals as La Poste asks; the ISO code otherwise.
fn country_name(code: &str) -> &str {
    match code {
        "BE" => "BELGIQUE",
        "CH" => "SUISSE",
        "LU" => "LUXEMBOURG",
        "MC" => "MONACO",
        "DE" => "ALLEMAGNE",
        "ES" => "ESPAGNE",
        "IT" => "ITALIE",
        "PT" => "PORTUGAL",
        "NL" => "PAYS-BAS",
        "GB" => "ROYAUME-UNI",
        "IE" => "IRLANDE",
        "AT" => "AUTRICHE",
        "PL" => "POLOGNE",
        "CZ" => "TCHÉQUIE",
        "RO" => "ROUMANIE",
        "VN" => "VIETNAM",
        "US" => "ÉTATS-UNIS",
        "CA" => "CANADA",
        other => other,
    }
}
