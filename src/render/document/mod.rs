//! The letter as a document: a `LetterDocument` is everything a letter shows — the sender's block and logo,
//! the recipient in the envelope window, place and date, object, the body (from the template), signature and
//! legal footer — built from the sender's settings, the recipient and the rendered template. It becomes a
//! PDF/A-2b (`to_pdf`) or plain text (`to_text`).

mod address;
mod image;
pub mod markup;
mod text;
pub mod typography;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Europe::Paris;
use serde::Serialize;

pub use address::{MAX_LINE_CHARS, MAX_LINES, address_lines};
pub use image::{DocumentImage, ImageFormat};
pub use markup::{Block, Inline, escape};

use super::RenderedLetter;
use super::pdf::{InputFile, Layout, PdfError, Typeset, typeset};
use crate::config::SenderSettings;
use crate::domain::{FieldErrors, Recipient};

/// Top left: the sender's logo, company and address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderBlock {
    /// The company first, then its address lines and "code postal ville".
    pub lines: Vec<String>,
    pub logo: Option<DocumentImage>,
}

/// Below the body: who signs, their role, their handwritten signature if the sender has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub name: String,
    pub role: Option<String>,
    pub image: Option<DocumentImage>,
}

/// A letter ready to be laid out. Build it with `LetterDocument::new`; the fields are public so that a
/// preview can show them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LetterDocument {
    pub sender: SenderBlock,
    /// The recipient's block, as printed in the envelope window.
    pub recipient: Vec<String>,
    /// "Paris, le 31 octobre 2026": the sender's city and the letter's date in Paris time.
    pub place_date: String,
    /// The requester's reference for the letter, printed "N/Réf.".
    pub reference: Option<String>,
    /// The object line (plain text).
    pub subject: String,
    pub body: Vec<Block>,
    pub signature: Signature,
    /// The sender's legal mentions: company, legal form and capital, SIRET, RCS, address.
    pub footer: Vec<String>,
    /// The date the PDF says it was made: the letter's creation time.
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// The recipient's block does not fit the envelope window; the fields are relative to the recipient.
    #[error("the recipient's address does not fit the envelope window")]
    Address(FieldErrors),
    #[error("the letter has {pages} pages, more than the {max} allowed (render.max_pages)")]
    TooManyPages { pages: usize, max: usize },
    #[error(transparent)]
    Pdf(#[from] PdfError),
}

impl LetterDocument {
    /// Lays the rendered template out for `sender` and `recipient`. `created_at_ms` (unix ms) is the letter's
    /// creation time: its date is printed, and pinned in the PDF, so a re-render gives the same bytes.
    pub fn new(
        sender: &SenderSettings,
        recipient: &Recipient,
        letter: &RenderedLetter,
        reference: Option<&str>,
        created_at_ms: i64,
    ) -> Result<Self, DocumentError> {
        let created_at = Utc.timestamp_millis_opt(created_at_ms).single().unwrap_or_default();
        let date = created_at.with_timezone(&Paris).date_naive();
        let city = &sender.address.city;
        let mut sender_lines = vec![sender.company.clone()];
        sender_lines.extend(sender.address.lines.iter().cloned());
        sender_lines.push(format!("{} {city}", sender.address.postal_code));
        sender_lines.push(sender.email.to_string());
        let signer = [&sender.signature_name, &sender.name, &sender.company].into_iter().find(|n| !n.trim().is_empty());
        Ok(Self {
            sender: SenderBlock { lines: sender_lines, logo: sender.logo.clone() },
            recipient: address_lines(recipient).map_err(DocumentError::Address)?,
            place_date: format!("{city}, le {}", super::french_date(date, false)),
            reference: reference.map(str::to_owned),
            subject: letter.subject.clone(),
            body: markup::parse(&letter.body),
            signature: Signature {
                name: signer.cloned().unwrap_or_default(),
                role: Some(sender.signature_role.clone()).filter(|r| !r.trim().is_empty()),
                image: sender.signature_image.clone(),
            },
            footer: legal_footer(sender),
            created_at,
        })
    }

    /// What the letter layout (`Layout::Letter`) reads: `/data.json` and the images it names.
    pub fn layout_files(&self) -> Vec<InputFile> {
        let mut files = Vec::new();
        let logo = self.sender.logo.as_ref().map(|image| add_image(&mut files, "logo", image));
        let signature = self.signature.image.as_ref().map(|image| add_image(&mut files, "signature", image));
        let data = LayoutData { letter: self, logo, signature_image: signature };
        files.push(InputFile::new("/data.json", data.to_json()));
        files
    }

    /// Lays the letter out on pages.
    pub fn typeset(&self) -> Result<Typeset, PdfError> {
        typeset(Layout::Letter, &self.layout_files(), self.created_at)
    }

    /// The letter as a PDF/A-2b file, byte for byte the same for the same document.
    pub fn to_pdf(&self) -> Result<Vec<u8>, PdfError> {
        self.typeset()?.to_pdf()
    }

    /// The letter as plain text, laid out as on paper (for emails and for a provider's content field).
    pub fn to_text(&self) -> String {
        text::letter_text(self)
    }

    /// Refuses a letter longer than `max_pages`. Most letters are shown to fit without being laid out (an
    /// upper bound of their lines); the others are laid out and counted.
    pub fn check_pages(&self, max_pages: usize) -> Result<(), DocumentError> {
        if pages::upper_bound(&self.body) <= max_pages {
            return Ok(());
        }
        let pages = self.typeset()?.pages();
        if pages > max_pages { Err(DocumentError::TooManyPages { pages, max: max_pages }) } else { Ok(()) }
    }
}

/// Whether a rendered body surely fits in `max_pages`, by an upper bound of its lines and without laying it
/// out; `false` means it has to be laid out to know.
pub fn body_surely_fits(body_markdown: &str, max_pages: usize) -> bool {
    pages::upper_bound(&markup::parse(body_markdown)) <= max_pages
}

mod pages;

/// A body in the letters' Markdown as plain text: paragraphs, lists and tables as `to_text` writes them.
pub fn body_text(markdown: &str) -> String {
    text::blocks_text(&markup::parse(markdown))
}

fn add_image(files: &mut Vec<InputFile>, name: &str, image: &DocumentImage) -> String {
    let path = format!("/{name}.{}", image.format.extension());
    files.push(InputFile::new(path.clone(), image.bytes.to_vec()));
    path
}

/// "Exemple SAS", "SAS au capital de 10 000 €", "SIRET 123 456 789 00012", "RCS Paris B 123 456 789",
/// "1 rue Exemple, 75001 Paris": what is configured, in that order.
fn legal_footer(sender: &SenderSettings) -> Vec<String> {
    let mut footer = vec![sender.company.clone()];
    let form = sender.legal_form.trim();
    let capital = sender.capital.trim();
    match (form.is_empty(), capital.is_empty()) {
        (false, false) => footer.push(format!("{form} au capital de {capital}")),
        (false, true) => footer.push(form.to_owned()),
        (true, false) => footer.push(format!("capital de {capital}")),
        (true, true) => {}
    }
    if !sender.siret.trim().is_empty() {
        footer.push(format!("SIRET {}", sender.siret.trim()));
    }
    if !sender.rcs.trim().is_empty() {
        footer.push(format!("RCS {}", sender.rcs.trim()));
    }
    let mut address = sender.address.lines.join(", ");
    address.push_str(&format!(", {} {}", sender.address.postal_code, sender.address.city));
    footer.push(address);
    footer.into_iter().map(|part| typography::french(&part)).collect()
}

/// What the typst layout reads as `/data.json`.
struct LayoutData<'a> {
    letter: &'a LetterDocument,
    logo: Option<String>,
    signature_image: Option<String>,
}

impl LayoutData<'_> {
    fn to_json(&self) -> Vec<u8> {
        #[derive(Serialize)]
        struct SenderJson<'a> {
            lines: &'a [String],
            logo: Option<&'a str>,
        }
        #[derive(Serialize)]
        struct SignatureJson<'a> {
            name: &'a str,
            role: Option<&'a str>,
            image: Option<&'a str>,
        }
        #[derive(Serialize)]
        struct Data<'a> {
            title: &'a str,
            author: &'a str,
            sender: SenderJson<'a>,
            recipient: &'a [String],
            place_date: &'a str,
            reference: Option<&'a str>,
            subject: &'a str,
            body: &'a [Block],
            signature: SignatureJson<'a>,
            footer: &'a [String],
        }
        let l = self.letter;
        let data = Data {
            title: &l.subject,
            author: l.sender.lines.first().map(String::as_str).unwrap_or_default(),
            sender: SenderJson { lines: &l.sender.lines, logo: self.logo.as_deref() },
            recipient: &l.recipient,
            place_date: &l.place_date,
            reference: l.reference.as_deref(),
            subject: &l.subject,
            body: &l.body,
            signature: SignatureJson {
                name: &l.signature.name,
                role: l.signature.role.as_deref(),
                image: self.signature_image.as_deref(),
            },
            footer: &l.footer,
        };
        serde_json::to_vec(&data).expect("the layout data is plain strings and lists")
    }
}

#[cfg(test)]
mod tests;
