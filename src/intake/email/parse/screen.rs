//! Emails that are not requests and must never be answered: bounces, auto-replies, mailing lists.

use mail_parser::{Message, MimeHeaders};

use super::Ignored;

/// Bounces first (a bounce often also looks automatic), then list traffic (newsletters also say
/// `Precedence: bulk`), then auto-replies.
pub(super) fn ignored(message: &Message<'_>) -> Option<Ignored> {
    if is_bounce(message) {
        Some(Ignored::Bounce)
    } else if is_list(message) {
        Some(Ignored::MailingList)
    } else if is_auto_reply(message) {
        Some(Ignored::AutoReply)
    } else {
        None
    }
}

/// The raw value of the first top-level header with this name (any case), trimmed.
fn header<'a>(message: &'a Message<'_>, name: &str) -> Option<&'a str> {
    message.headers_raw().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim())
}

fn is_bounce(message: &Message<'_>) -> bool {
    let report = message.root_part().content_type().is_some_and(|ct| {
        ct.c_type.eq_ignore_ascii_case("multipart")
            && ct.c_subtype.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && ct.attribute("report-type").is_some_and(|t| t.eq_ignore_ascii_case("delivery-status"))
    });
    let daemon = message.from().and_then(|a| a.first()).and_then(|a| a.address()).is_some_and(|address| {
        let local = address.split('@').next().unwrap_or_default().to_ascii_lowercase();
        local == "mailer-daemon" || local == "postmaster"
    });
    // A null reverse-path is what MTAs use for notifications (RFC 5321 §4.5.5).
    let null_sender =
        header(message, "Return-Path").is_some_and(|v| v.trim_matches(|c| c == '<' || c == '>').is_empty());
    report || daemon || null_sender
}

fn is_auto_reply(message: &Message<'_>) -> bool {
    let auto_submitted = header(message, "Auto-Submitted").is_some_and(|v| !v.eq_ignore_ascii_case("no"));
    let flagged = ["X-Autoreply", "X-Autorespond", "X-Autoresponder"].iter().any(|h| header(message, h).is_some());
    let precedence = header(message, "Precedence")
        .is_some_and(|v| ["auto_reply", "bulk", "junk"].iter().any(|p| v.eq_ignore_ascii_case(p)));
    // Multipart reports other than delivery status (read receipts, feedback reports) are machine-written too.
    let report = message.root_part().content_type().is_some_and(|ct| {
        ct.c_type.eq_ignore_ascii_case("multipart")
            && ct.c_subtype.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("report"))
    });
    auto_submitted || flagged || precedence || report || auto_subject(message.subject().unwrap_or_default())
}

fn auto_subject(subject: &str) -> bool {
    const PREFIXES: [&str; 6] =
        ["réponse automatique", "reponse automatique", "automatic reply", "auto:", "out of office", "absence"];
    let subject = subject.trim().to_lowercase();
    PREFIXES.iter().any(|p| subject.starts_with(p))
}

fn is_list(message: &Message<'_>) -> bool {
    header(message, "List-Id").is_some()
        || header(message, "List-Unsubscribe").is_some()
        || header(message, "Precedence").is_some_and(|v| v.eq_ignore_ascii_case("list"))
}
