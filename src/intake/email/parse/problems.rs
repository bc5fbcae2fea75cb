//! What is missing from a request, all at once, each naming the line to add or fix in the email's
//! language. Only presence is checked here: email syntax, amounts and dates are the pipeline's.

use std::sync::Arc;

use super::fields::{Found, TemplateChoice};
use super::lines::{fold, is_english};
use super::{Language, Problem};
use crate::render::{LetterTemplate, VariableSpec};

/// The problems in reply order: template, recipient, address, type, then the template's variables.
pub(super) fn problems(
    found: &Found,
    choice: &TemplateChoice,
    templates: &[Arc<LetterTemplate>],
    language: Language,
) -> Vec<Problem> {
    let fr = language == Language::French;
    let mut problems = vec![];
    if !choice.known {
        problems.push(unknown_template(&choice.name, templates, fr));
    }
    let r = &found.recipient;
    if r.first_name.is_none() && r.last_name.is_none() && r.company.is_none() {
        problems.push(if fr {
            missing(
                "Destinataire",
                "Il manque le nom du destinataire : ajoutez une ligne `Destinataire: …` (ou `Société: …`)",
            )
        } else {
            missing("To", "The recipient's name is missing: add a line `To: …` (or `Company: …`)")
        });
    }
    if r.email.is_none() {
        problems.push(if fr {
            missing("Email", "Il manque l'adresse e-mail du destinataire : ajoutez une ligne `Email: …`")
        } else {
            missing("Email", "The recipient's email address is missing: add a line `Email: …`")
        });
    }
    problems.extend(address_problems(found, fr));
    if let Some(kind) = &found.invalid_kind {
        let message = if fr {
            format!("Le type « {kind} » n'est pas reconnu : écrivez `Type: professionnel` ou `Type: particulier`")
        } else {
            format!("The type “{kind}” is not recognized: write `Type: professional` or `Type: individual`")
        };
        problems.push(Problem { field: "Type".to_owned(), code: "invalid_kind".to_owned(), message });
    }
    if let Some(template) = templates.iter().find(|t| choice.known && t.name == choice.name) {
        let absent = template.variables.iter().filter(|v| v.required && !found.variables.contains_key(&v.name));
        problems.extend(absent.map(|spec| missing_variable(spec, fr)));
    }
    problems
}

fn missing(field: &str, message: &str) -> Problem {
    Problem { field: field.to_owned(), code: "missing".to_owned(), message: message.to_owned() }
}

fn unknown_template(name: &str, templates: &[Arc<LetterTemplate>], fr: bool) -> Problem {
    let known = templates.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ");
    let (field, message) = if fr {
        ("Modèle", format!("Le modèle « {name} » n'existe pas : choisissez l'un de ces modèles : {known}"))
    } else {
        ("Template", format!("The template “{name}” does not exist: choose one of these templates: {known}"))
    };
    Problem { field: field.to_owned(), code: "unknown_template".to_owned(), message }
}

/// No address at all is fine (electronic letters need none); a partial one asks for what it lacks.
fn address_problems(found: &Found, fr: bool) -> Vec<Problem> {
    let r = &found.recipient;
    if r.address_lines.is_empty() && r.postal_code.is_none() && r.city.is_none() {
        return vec![];
    }
    let lacking = [
        (r.address_lines.is_empty(), "Adresse", "Address"),
        (r.postal_code.is_none(), "Code postal", "Postal code"),
        (r.city.is_none(), "Ville", "City"),
    ];
    lacking
        .iter()
        .filter(|(absent, _, _)| *absent)
        .map(|(_, french, english)| {
            let (line, message) = if fr {
                (french, format!("L'adresse postale du destinataire est incomplète : ajoutez une ligne `{french}: …`"))
            } else {
                (english, format!("The recipient's postal address is incomplete: add a line `{english}: …`"))
            };
            missing(line, &message)
        })
        .collect()
}

/// French names the variable by its label ("Montant dû"), English by its last English alias ("Amount due").
fn missing_variable(spec: &VariableSpec, fr: bool) -> Problem {
    if fr {
        let label = spec.label.as_str();
        return missing(label, &format!("Il manque {} : ajoutez une ligne `{label}: …`", with_article(label)));
    }
    let line = spec.aliases.iter().rev().find(|a| is_english(a)).map_or(spec.label.as_str(), String::as_str);
    missing(line, &format!("The {} is missing: add a line `{line}: …`", lower_first(line)))
}

/// `Date d'échéance` → `la date d'échéance`, `Montant dû` → `le montant dû`, `Échéance` → `l'échéance`.
fn with_article(label: &str) -> String {
    const FEMININE: [&str; 14] = [
        "date",
        "somme",
        "facture",
        "adresse",
        "reference",
        "penalite",
        "mention",
        "raison",
        "valeur",
        "duree",
        "periode",
        "commande",
        "remise",
        "taxe",
    ];
    let folded = fold(label);
    let first = folded.split(|c: char| !c.is_alphanumeric()).next().unwrap_or_default();
    let lower = lower_first(label);
    if first.starts_with(['a', 'e', 'i', 'o', 'u', 'y', 'h']) {
        format!("l'{lower}")
    } else if FEMININE.contains(&first) || first.ends_with("tion") || first.ends_with("ite") {
        format!("la {lower}")
    } else {
        format!("le {lower}")
    }
}

/// Lowercases the first letter unless the first word is an acronym (`TVA`).
fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(second)) if !second.is_uppercase() => {
            first.to_lowercase().chain(text.chars().skip(1)).collect()
        }
        _ => text.to_owned(),
    }
}
