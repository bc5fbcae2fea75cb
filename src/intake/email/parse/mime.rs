//! The MIME tree as what the request needs: body texts in reading order (the message's own, then each
//! attached .eml's) and the attachments a person meant to send.

use std::collections::HashSet;

use mail_parser::{Message, MessagePart, MimeHeaders, PartType};
use sha2::{Digest, Sha256};

use super::{EmailAttachment, html};

/// Images at most this big may be signature decorations.
const DECORATION_MAX_BYTES: usize = 20 * 1024;

pub(super) struct Content {
    pub texts: Vec<String>,
    pub attachments: Vec<EmailAttachment>,
}

/// Reads the message's texts and takes its attachments out of it (their decoded bytes are moved, not copied:
/// a large attachment is held once).
pub(super) fn collect(message: &mut Message<'_>) -> Content {
    let mut content = Content { texts: vec![], attachments: vec![] };
    let mut nested = vec![];
    walk(message, &mut content, &mut nested);
    // The requester's own lines come first, then attached forwards in order ("first occurrence wins").
    let mut queue = std::collections::VecDeque::from(nested);
    while let Some(mut message) = queue.pop_front() {
        let mut more = vec![];
        walk(&mut message, &mut content, &mut more);
        queue.extend(more);
    }
    content
}

/// What an attached part is to the request.
enum Attached {
    /// An attached message, read after this one.
    Nested,
    /// A file a person meant to send, with its name.
    File(String),
    /// A decoration, an unreadable message, a multipart container: nothing.
    Nothing,
}

/// One message's texts and attachments; its attached messages go to `nested` for later.
fn walk<'x>(message: &mut Message<'x>, content: &mut Content, nested: &mut Vec<Message<'x>>) {
    for part in message.text_body.iter().filter_map(|&id| message.parts.get(id as usize)) {
        match &part.body {
            PartType::Text(text) => content.texts.push(text.to_string()),
            PartType::Html(markup) => content.texts.push(html::to_text(markup)),
            _ => {}
        }
    }
    let cids = referenced_cids(message);
    for id in message.attachments.clone() {
        let Some(part) = message.parts.get_mut(id as usize) else { continue };
        let attached = match &part.body {
            PartType::Message(_) => Attached::Nested,
            // A text part is an attachment only when it is a named file (a .txt, a .csv).
            PartType::Text(_) | PartType::Html(_) => {
                part.attachment_name().map_or(Attached::Nothing, |name| Attached::File(name.to_owned()))
            }
            PartType::Binary(bytes) | PartType::InlineBinary(bytes) => {
                if is_decoration(part, bytes.len(), &cids) || is_message(part) {
                    Attached::Nothing
                } else {
                    Attached::File(part.attachment_name().map_or_else(|| fallback_name(part, content), str::to_owned))
                }
            }
            PartType::Multipart(_) => Attached::Nothing,
        };
        if matches!(attached, Attached::Nothing) {
            continue;
        }
        match (attached, std::mem::replace(&mut part.body, PartType::Multipart(Vec::new()))) {
            (Attached::Nested, PartType::Message(inner)) => nested.push(inner),
            (Attached::File(name), PartType::Text(text) | PartType::Html(text)) => {
                content.attachments.push(attachment(part, &name, text.into_owned().into_bytes()));
            }
            (Attached::File(name), PartType::Binary(bytes) | PartType::InlineBinary(bytes)) => {
                content.attachments.push(attachment(part, &name, bytes.into_owned()));
            }
            _ => {}
        }
    }
}

fn attachment(part: &MessagePart<'_>, filename: &str, bytes: Vec<u8>) -> EmailAttachment {
    EmailAttachment {
        filename: filename.trim().to_owned(),
        content_type: content_type(part),
        size: bytes.len(),
        sha256: hex::encode(Sha256::digest(&bytes)),
        bytes: bytes.into(),
    }
}

fn content_type(part: &MessagePart<'_>) -> String {
    match part.content_type() {
        Some(ct) => match &ct.c_subtype {
            Some(sub) => format!("{}/{}", ct.c_type, sub).to_ascii_lowercase(),
            None => ct.c_type.to_ascii_lowercase(),
        },
        None => "application/octet-stream".to_owned(),
    }
}

/// A message/rfc822 part mail-parser could not read: nothing a letter can use.
fn is_message(part: &MessagePart<'_>) -> bool {
    part.content_type().is_some_and(|ct| ct.c_type.eq_ignore_ascii_case("message"))
}

/// An image that decorates the HTML rather than being sent: shown through `cid:`, or small and either
/// inline or named like a signature picture (Outlook's `image001.png`, a `logo`). A large inline image (a
/// phone's photo of an invoice) is an attachment.
fn is_decoration(part: &MessagePart<'_>, size: usize, cids: &HashSet<String>) -> bool {
    if !part.content_type().is_some_and(|ct| ct.c_type.eq_ignore_ascii_case("image")) {
        return false;
    }
    if part.content_id().is_some_and(|id| cids.contains(&normalize_cid(id))) {
        return true;
    }
    let inline =
        matches!(part.body, PartType::InlineBinary(_)) || part.content_disposition().is_some_and(|d| d.is_inline());
    size < DECORATION_MAX_BYTES && (inline || part.attachment_name().is_some_and(signature_name))
}

fn signature_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    let stem = name.rsplit_once('.').map_or(name.as_str(), |(stem, _)| stem);
    let numbered = stem.strip_prefix("image").is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
    numbered || stem.contains("logo") || stem.contains("signature")
}

/// The Content-IDs the HTML bodies show (`src="cid:logo@x"`), lowercased without angle brackets.
fn referenced_cids(message: &Message<'_>) -> HashSet<String> {
    let mut cids = HashSet::new();
    for part in message.html_body.iter().filter_map(|&id| message.parts.get(id as usize)) {
        let PartType::Html(markup) = &part.body else { continue };
        let lower = markup.to_ascii_lowercase();
        for (at, _) in lower.match_indices("cid:") {
            let id: String =
                lower[at + 4..].chars().take_while(|c| !matches!(c, '"' | '\'' | ')' | ' ' | '>')).collect();
            cids.insert(normalize_cid(&id));
        }
    }
    cids
}

fn normalize_cid(id: &str) -> String {
    id.trim().trim_start_matches('<').trim_end_matches('>').to_ascii_lowercase()
}

/// A name for an unnamed attachment, from its type: `piece-jointe-2.pdf`.
fn fallback_name(part: &MessagePart<'_>, content: &Content) -> String {
    let extension = match content_type(part).as_str() {
        "application/pdf" => "pdf",
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/gif" => "gif",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "docx",
        "application/msword" => "doc",
        _ => "bin",
    };
    format!("piece-jointe-{}.{extension}", content.attachments.len() + 1)
}
