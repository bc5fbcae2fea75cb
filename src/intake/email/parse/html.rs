//! HTML bodies as plain text lines, so `Key: value` lines written in a rich-text editor are found too.
//! mail-parser's own conversion only breaks lines at `<br>` and `</p>`; a `Key: value` per `<div>` (Gmail,
//! Outlook) needs every block element to end a line.

/// Elements that start or end a line of text.
const BLOCKS: [&str; 22] = [
    "p",
    "div",
    "br",
    "tr",
    "li",
    "ul",
    "ol",
    "table",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "hr",
    "pre",
    "section",
    "article",
    "header",
    "footer",
    "dt",
];

/// Elements whose content is not text.
const HIDDEN: [&str; 4] = ["head", "style", "script", "title"];

/// Strips tags, breaks lines at block elements, decodes entities; blank-line runs become one blank line
/// (a blank line is meaningful: it ends a forwarded header block or an address).
pub(super) fn to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    let mut hidden: Option<String> = None;
    while let Some(lt) = rest.find('<') {
        if hidden.is_none() {
            push_text(&mut out, &rest[..lt]);
        }
        rest = &rest[lt..];
        if let Some(comment) = rest.strip_prefix("<!--") {
            rest = comment.find("-->").map_or("", |end| &comment[end + 3..]);
            continue;
        }
        let Some(gt) = rest.find('>') else { break };
        let (closing, name) = tag_name(&rest[1..gt]);
        rest = &rest[gt + 1..];
        match &hidden {
            Some(open) if closing && *open == name => hidden = None,
            Some(_) => {}
            None if !closing && HIDDEN.contains(&name.as_str()) => hidden = Some(name),
            None if name == "br" => line_break(&mut out, true),
            None if BLOCKS.contains(&name.as_str()) => line_break(&mut out, false),
            None if name == "td" || name == "th" => out.push(' '),
            None => {}
        }
    }
    if hidden.is_none() {
        push_text(&mut out, rest);
    }
    tidy(&out)
}

/// `<br>` always breaks the line; a block element only ends the current line, so `<div>A</div><div>B</div>`
/// are two lines, not two lines and a blank one (Gmail writes a blank line as `<div><br></div>`).
fn line_break(out: &mut String, hard: bool) {
    while out.ends_with(' ') {
        out.pop();
    }
    if hard || !(out.is_empty() || out.ends_with('\n')) {
        out.push('\n');
    }
}

/// `/div class="x"` → (true, "div").
fn tag_name(tag: &str) -> (bool, String) {
    let tag = tag.trim_start();
    let (closing, tag) = match tag.strip_prefix('/') {
        Some(t) => (true, t),
        None => (false, tag),
    };
    let name = tag.chars().take_while(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase();
    (closing, name)
}

/// Source line breaks inside text are spaces in HTML.
fn push_text(out: &mut String, text: &str) {
    let text = text.replace(['\r', '\n', '\t'], " ");
    out.push_str(&decode_entities(&text));
}

/// Trims every line, collapses inner space runs, and keeps at most one blank line in a row.
fn tidy(text: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    for line in text.lines() {
        let line = line.split(' ').filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ");
        let blank = line.trim().is_empty();
        if blank && lines.last().is_none_or(|l| l.is_empty()) {
            continue;
        }
        lines.push(if blank { String::new() } else { line.trim().to_owned() });
    }
    lines.join("\n")
}

/// Decodes `&name;`, `&#233;` and `&#xE9;`; anything else is left as written.
pub(super) fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let decoded = rest[1..].find(';').filter(|&end| end <= 10).and_then(|end| Some((entity(&rest[1..=end])?, end)));
        match decoded {
            Some((c, end)) => {
                out.extend(c);
                rest = &rest[end + 2..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The character an entity stands for; `Some(None)` for the soft hyphen, which stands for nothing.
fn entity(name: &str) -> Option<Option<char>> {
    if let Some(code) = name.strip_prefix('#') {
        let value = match code.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => code.parse().ok()?,
        };
        return Some(Some(char::from_u32(value).unwrap_or(char::REPLACEMENT_CHARACTER)));
    }
    if name == "shy" {
        return Some(None);
    }
    NAMED.iter().find(|(n, _)| *n == name).map(|(_, c)| Some(*c))
}

/// The entities mail clients write in French and English text.
const NAMED: [(&str, char); 48] = [
    ("nbsp", '\u{a0}'),
    ("amp", '&'),
    ("lt", '<'),
    ("gt", '>'),
    ("quot", '"'),
    ("apos", '\''),
    ("eacute", 'é'),
    ("egrave", 'è'),
    ("ecirc", 'ê'),
    ("euml", 'ë'),
    ("agrave", 'à'),
    ("aacute", 'á'),
    ("acirc", 'â'),
    ("auml", 'ä'),
    ("ccedil", 'ç'),
    ("icirc", 'î'),
    ("iuml", 'ï'),
    ("ocirc", 'ô'),
    ("ouml", 'ö'),
    ("ugrave", 'ù'),
    ("ucirc", 'û'),
    ("uuml", 'ü'),
    ("yuml", 'ÿ'),
    ("oelig", 'œ'),
    ("aelig", 'æ'),
    ("Eacute", 'É'),
    ("Egrave", 'È'),
    ("Ecirc", 'Ê'),
    ("Agrave", 'À'),
    ("Acirc", 'Â'),
    ("Ccedil", 'Ç'),
    ("Icirc", 'Î'),
    ("Ocirc", 'Ô'),
    ("Ucirc", 'Û'),
    ("OElig", 'Œ'),
    ("euro", '€'),
    ("laquo", '«'),
    ("raquo", '»'),
    ("lsquo", '‘'),
    ("rsquo", '’'),
    ("ldquo", '“'),
    ("rdquo", '”'),
    ("hellip", '…'),
    ("ndash", '–'),
    ("mdash", '—'),
    ("deg", '°'),
    ("copy", '©'),
    ("bull", '•'),
];
