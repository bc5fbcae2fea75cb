//! The recipient's address as Maileva's six lines (`recipient_creation`, registered_mail v4.9): 1 company,
//! 2 title and name, 3 building, 4 number and street, 5 place or PO box, 6 postcode and town (required,
//! "[CODE_POSTAL] [VILLE]" in France), each at most 38 characters, and a country Maileva posts to.

use super::NewRecipient;
use crate::domain::{FieldError, FieldErrors, Recipient};

/// `ADDRESS_LINE_n_TOO_LONG`: 38 characters per line.
pub const MAX_CHARS: usize = 38;

/// The only `country_code`s registered_mail v4.9 accepts (`INVALID_COUNTRY_CODE` otherwise).
pub const PAPER_COUNTRIES: [&str; 9] = ["FR", "MC", "RE", "YT", "MQ", "GP", "MF", "BL", "GF"];

/// The recipient as Maileva's address lines, with `custom_id`; errors are named relative to the recipient.
///
/// The identity goes on lines 1 (company) and 2 (person); the street lines fill 4, then 3-4, then 3-5, as
/// the spec's descriptions of the lines suggest. With four street lines and no company the person moves to
/// line 1 so that everything fits: an inference, the spec only requires line 1 or 2.
pub fn recipient_lines(recipient: &Recipient, custom_id: &str) -> Result<NewRecipient, FieldErrors> {
    let mut errors = FieldErrors::default();
    let Some(address) = &recipient.address else {
        let message = "a paper registered letter needs the recipient's postal address";
        errors.push(FieldError::new("address", "required", message));
        return Err(errors);
    };
    if !PAPER_COUNTRIES.contains(&address.country.as_str()) {
        let message = format!(
            "Maileva posts registered letters to {} only, not to {}",
            PAPER_COUNTRIES.join(", "),
            address.country
        );
        errors.push(FieldError::new("address.country", "unsupported_country", message));
    }
    let person = match &recipient.first_name {
        Some(first) => format!("{first} {}", recipient.last_name),
        None => recipient.last_name.clone(),
    };
    let company = recipient.company.clone().filter(|c| *c != recipient.last_name);
    let streets = &address.lines;
    let mut lines: [Option<(String, &str)>; 5] = Default::default();
    let slots: &[usize] = match (streets.len(), company.is_some()) {
        (1, _) => &[3],
        (2, _) => &[2, 3],
        (3, _) => &[2, 3, 4],
        (_, false) => &[1, 2, 3, 4],
        (_, true) => {
            let message = "with a company, a paper letter's address has at most 3 street lines (6 lines in all)";
            errors.push(FieldError::new("address.lines", "too_many_lines", message));
            &[2, 3, 4]
        }
    };
    if slots.len() == 4 {
        lines[0] = Some((person, "last_name"));
    } else {
        lines[0] = company.map(|c| (c, "company"));
        lines[1] = Some((person, "last_name"));
    }
    for (slot, street) in slots.iter().zip(streets) {
        lines[*slot] = Some((street.clone(), "address.lines"));
    }
    let town = (format!("{} {}", address.postal_code, address.city.to_uppercase()), "address.city");
    for (text, field) in lines.iter().flatten().chain(std::iter::once(&town)) {
        let count = text.chars().count();
        if count > MAX_CHARS {
            let message = format!("« {text} » has {count} characters: Maileva prints at most {MAX_CHARS} per line");
            errors.push(FieldError::new(*field, "too_long", message));
        }
    }
    let [l1, l2, l3, l4, l5] = lines.map(|line| line.map(|(text, _)| text));
    errors.into_result(|| NewRecipient {
        custom_id: custom_id.to_owned(),
        address_line_1: l1,
        address_line_2: l2,
        address_line_3: l3,
        address_line_4: l4,
        address_line_5: l5,
        address_line_6: town.0.clone(),
        country_code: address.country.clone(),
    })
}
