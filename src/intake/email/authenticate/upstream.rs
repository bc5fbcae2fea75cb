//! `Authentication-Results` (RFC 8601) written by a trusted upstream MTA: parsing and the decision.

use super::domain::{aligned, domain_of};
use super::{Method, Outcome};

/// One parsed `Authentication-Results` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct AuthResults {
    /// Lowercased authserv-id: who wrote the header.
    pub(super) authserv_id: String,
    pub(super) results: Vec<ResInfo>,
}

/// One `method=result` clause with its `ptype.property=value` pairs (keys and results lowercased).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ResInfo {
    pub(super) method: String,
    pub(super) result: String,
    pub(super) props: Vec<(String, String)>,
}

impl ResInfo {
    fn prop(&self, key: &str) -> Option<&str> {
        self.props.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    fn passed(&self, method: &str) -> bool {
        self.method == method && self.result == "pass"
    }
}

/// The topmost header whose authserv-id is trusted. Headers are prepended on the way, so the topmost one
/// was written by the last hop, i.e. our own MTA; anything the sender wrote lies below it.
pub(super) fn topmost_trusted<'a>(
    headers: impl IntoIterator<Item = &'a str>,
    trusted: &[String],
) -> Option<AuthResults> {
    headers.into_iter().filter_map(parse).find(|ar| trusted.iter().any(|t| t.eq_ignore_ascii_case(&ar.authserv_id)))
}

/// What the trusted header establishes: a pass (`dmarc=pass`, or an SPF/DKIM pass aligned with the From
/// domain), or why not.
pub(super) fn evaluate(ar: &AuthResults, from_domain: &str) -> Result<Outcome, String> {
    let id = &ar.authserv_id;
    let pass = |dmarc_pass: bool, detail: String| Outcome {
        authenticated: true,
        dmarc_pass,
        method: Some(Method::UpstreamResults),
        reason: format!("Authentication-Results from {id}: {detail}"),
    };
    // A dmarc=pass about another From domain (a stale or misplaced header) proves nothing here.
    if ar.results.iter().any(|r| r.passed("dmarc") && r.prop("header.from").is_none_or(|d| domain_of(d) == from_domain))
    {
        return Ok(pass(true, format!("dmarc=pass for {from_domain}")));
    }
    let mut spf = ar.results.iter().filter(|r| r.passed("spf")).filter_map(|r| r.prop("smtp.mailfrom")).map(domain_of);
    if let Some(domain) = spf.find(|d| aligned(d, from_domain)) {
        return Ok(pass(false, format!("spf=pass smtp.mailfrom={domain} aligned with From")));
    }
    let dkim = ar.results.iter().filter(|r| r.passed("dkim"));
    let mut dkim_domains = dkim.flat_map(|r| [r.prop("header.d"), r.prop("header.i")]).flatten().map(domain_of);
    if let Some(domain) = dkim_domains.find(|d| aligned(d, from_domain)) {
        return Ok(pass(false, format!("dkim=pass d={domain} aligned with From")));
    }
    let summary: Vec<String> = ar.results.iter().map(|r| format!("{}={}", r.method, r.result)).collect();
    let summary = if summary.is_empty() { "none".to_string() } else { summary.join(" ") };
    Err(format!("Authentication-Results from {id} show no aligned pass ({summary})"))
}

/// Parses one header value; `None` when it has no authserv-id.
pub(super) fn parse(value: &str) -> Option<AuthResults> {
    let text = strip_comments(value);
    let mut segments = split_outside_quotes(&text, ';').into_iter();
    let head = tokens(&segments.next()?);
    let Some(Token::Word(id) | Token::Quoted(id)) = head.first() else {
        return None;
    };
    let authserv_id = id.to_ascii_lowercase();
    let results = segments.filter_map(|s| resinfo(&tokens(&s))).collect();
    Some(AuthResults { authserv_id, results })
}

/// `method[/version]=result [reason=…] [ptype.property=value …]`; `none` and malformed clauses are skipped.
fn resinfo(tokens: &[Token]) -> Option<ResInfo> {
    let mut pairs = pairs(tokens).into_iter();
    let (method, result) = pairs.next()?;
    let method = method.split('/').next().unwrap_or_default().to_ascii_lowercase();
    let props = pairs.map(|(k, v)| (k.to_ascii_lowercase(), v)).collect();
    Some(ResInfo { method, result: result.to_ascii_lowercase(), props })
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    Equals,
}

/// `key = value` pairs, tolerating whitespace around `=`; stray tokens are ignored.
fn pairs(tokens: &[Token]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        match (&tokens[i], tokens.get(i + 1), tokens.get(i + 2)) {
            (Token::Word(k), Some(Token::Equals), Some(Token::Word(v) | Token::Quoted(v))) => {
                out.push((k.clone(), v.clone()));
                i += 3;
            }
            _ => i += 1,
        }
    }
    out
}

fn tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '=' => {
                chars.next();
                out.push(Token::Equals);
            }
            '"' => {
                chars.next();
                let mut s = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => s.extend(chars.next()),
                        c => s.push(c),
                    }
                }
                out.push(Token::Quoted(s));
            }
            _ => {
                let mut s = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || c == '=' || c == '"' {
                        break;
                    }
                    s.push(c);
                    chars.next();
                }
                out.push(Token::Word(s));
            }
        }
    }
    out
}

/// Removes RFC 5322 comments (nested parentheses) outside quoted strings; unfolds line breaks.
fn strip_comments(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let (mut depth, mut quoted, mut escaped) = (0usize, false, false);
    for c in value.chars() {
        let c = if c == '\r' || c == '\n' { ' ' } else { c };
        if escaped {
            escaped = false;
            if depth == 0 {
                out.push(c);
            }
            continue;
        }
        match c {
            '\\' => {
                escaped = true;
                if depth == 0 {
                    out.push(c);
                }
            }
            '"' if depth == 0 => {
                quoted = !quoted;
                out.push(c);
            }
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => depth -= 1,
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn split_outside_quotes(text: &str, separator: char) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let (mut quoted, mut escaped) = (false, false);
    for c in text.chars() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == separator && !quoted {
            parts.push(std::mem::take(&mut current));
            continue;
        }
        current.push(c);
    }
    parts.push(current);
    parts
}
