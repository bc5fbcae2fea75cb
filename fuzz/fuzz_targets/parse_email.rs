//! Fuzzes the email → letter-request parser: any bytes, any receiving address, never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use relais::intake::email::parse::parse_email;
use relais::render::shipped_letter_templates;

fuzz_target!(|data: &[u8]| {
    let templates: Vec<_> = shipped_letter_templates().into_iter().map(std::sync::Arc::new).collect();
    // The first byte picks the receiving address, so the +tag path is explored too.
    let to = match data.first() {
        Some(b) if b % 3 == 0 => "lre+mise-en-demeure@relais.example.fr",
        Some(b) if b % 3 == 1 => "lre+inconnu@relais.example.fr",
        _ => "lre@relais.example.fr",
    };
    let _ = parse_email(data, to, &templates, "relance-facture");
});
