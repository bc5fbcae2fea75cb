//! The fixed DNS records file: a small subset of the RFC 1035 master-file syntax.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

/// Fixed DNS records (from `intake.dns.records_file`), parsed.
///
/// With a records file relais answers every SPF, DKIM and DMARC lookup from it and never queries the
/// network: a name that is not in the file does not exist.
///
/// Syntax: one record per line, `NAME [TTL] [IN] TYPE DATA`, NAME absolute (ending with a dot); types TXT
/// (one or several quoted strings, concatenated), A, AAAA, MX (`pref host`) and PTR (owner under
/// `in-addr.arpa.` or `ip6.arpa.`); `;` starts a comment; blank lines are ignored. `$ORIGIN`, relative
/// names and multi-line `( … )` records are not supported and are reported as errors.
#[derive(Debug, Clone, Default)]
pub struct DnsRecords {
    /// Lowercased absolute name → one entry per TXT record, its strings concatenated.
    pub(super) txt: HashMap<String, Vec<Vec<u8>>>,
    pub(super) a: HashMap<String, Vec<Ipv4Addr>>,
    pub(super) aaaa: HashMap<String, Vec<Ipv6Addr>>,
    /// Lowercased absolute name → (preference, lowercased absolute exchange).
    pub(super) mx: HashMap<String, Vec<(u16, String)>>,
    /// Address → lowercased absolute names.
    pub(super) ptr: HashMap<IpAddr, Vec<String>>,
}

/// One whitespace-separated field of a line; `quoted` fields keep their bytes verbatim (after escapes).
struct Field {
    bytes: Vec<u8>,
    quoted: bool,
}

impl Field {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

impl DnsRecords {
    /// Parses zone-file text; errors name the line number and what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut records = DnsRecords::default();
        for (index, line) in text.lines().enumerate() {
            let fields = split_fields(line).map_err(|e| format!("line {}: {e}", index + 1))?;
            if fields.is_empty() {
                continue;
            }
            records.add(&fields).map_err(|e| format!("line {}: {e}", index + 1))?;
        }
        Ok(records)
    }

    /// Reads and parses a records file.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// True when the file holds no record at all.
    pub fn is_empty(&self) -> bool {
        self.txt.is_empty() && self.a.is_empty() && self.aaaa.is_empty() && self.mx.is_empty() && self.ptr.is_empty()
    }

    fn add(&mut self, fields: &[Field]) -> Result<(), String> {
        let name = absolute_name(&fields[0])?;
        let mut rest = &fields[1..];
        if rest.first().is_some_and(|f| !f.quoted && f.bytes.iter().all(u8::is_ascii_digit)) {
            rest = &rest[1..]; // TTL: irrelevant for fixed answers
        }
        if rest.first().is_some_and(|f| !f.quoted && f.text().eq_ignore_ascii_case("IN")) {
            rest = &rest[1..];
        }
        let Some((kind, data)) = rest.split_first() else {
            return Err(format!("record for `{name}` has no type"));
        };
        let kind = kind.text().to_ascii_uppercase();
        match kind.as_str() {
            "TXT" => self.add_txt(name, data),
            "A" => {
                let addr =
                    single(data, "A")?.parse().map_err(|_| format!("invalid IPv4 address in A record for `{name}`"))?;
                self.a.entry(name).or_default().push(addr);
                Ok(())
            }
            "AAAA" => {
                let addr = single(data, "AAAA")?
                    .parse()
                    .map_err(|_| format!("invalid IPv6 address in AAAA record for `{name}`"))?;
                self.aaaa.entry(name).or_default().push(addr);
                Ok(())
            }
            "MX" => self.add_mx(name, data),
            "PTR" => self.add_ptr(&name, data),
            "CH" | "HS" | "CS" => Err(format!("class {kind} is not supported, only IN")),
            other => Err(format!("unsupported record type `{other}` (supported: TXT, A, AAAA, MX, PTR)")),
        }
    }

    fn add_txt(&mut self, name: String, data: &[Field]) -> Result<(), String> {
        if data.is_empty() {
            return Err(format!("TXT record for `{name}` needs at least one string"));
        }
        let joined = data.iter().flat_map(|f| f.bytes.iter().copied()).collect();
        self.txt.entry(name).or_default().push(joined);
        Ok(())
    }

    fn add_mx(&mut self, name: String, data: &[Field]) -> Result<(), String> {
        let [pref, host] = data else {
            return Err(format!("MX record for `{name}` needs `preference host`"));
        };
        let pref = pref.text().parse().map_err(|_| format!("invalid MX preference `{}` for `{name}`", pref.text()))?;
        let host = absolute_name(host)?;
        self.mx.entry(name).or_default().push((pref, host));
        Ok(())
    }

    fn add_ptr(&mut self, name: &str, data: &[Field]) -> Result<(), String> {
        let addr = reverse_name_to_ip(name)
            .ok_or_else(|| format!("PTR owner `{name}` is not a full in-addr.arpa. or ip6.arpa. name"))?;
        let [host] = data else {
            return Err(format!("PTR record for `{name}` needs exactly one host name"));
        };
        let host = absolute_name(host)?;
        self.ptr.entry(addr).or_default().push(host);
        Ok(())
    }
}

/// The one data field of an A or AAAA record, as text.
fn single(data: &[Field], kind: &str) -> Result<String, String> {
    match data {
        [field] => Ok(field.text()),
        _ => Err(format!("{kind} record needs exactly one address")),
    }
}

/// A lowercased absolute name; relative names are refused because `$ORIGIN` is not supported.
fn absolute_name(field: &Field) -> Result<String, String> {
    let name = field.text();
    if field.quoted || !name.ends_with('.') || name.len() < 2 || name.contains("..") {
        return Err(format!("`{name}` is not an absolute domain name (it must end with a dot)"));
    }
    Ok(name.to_lowercase())
}

/// Splits one line into fields, honouring quotes, `\"`, `\\`, `\DDD` escapes and `;` comments.
fn split_fields(line: &str) -> Result<Vec<Field>, String> {
    let mut fields = Vec::new();
    let mut chars = line.bytes().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            b';' => break,
            b'(' | b')' => return Err("parentheses (multi-line records) are not supported".into()),
            c if c.is_ascii_whitespace() => {
                chars.next();
            }
            b'"' => {
                chars.next();
                fields.push(Field { bytes: read_quoted(&mut chars)?, quoted: true });
            }
            _ => {
                let mut bytes = Vec::new();
                while let Some(&c) = chars.peek() {
                    if c.is_ascii_whitespace() || matches!(c, b';' | b'"' | b'(' | b')') {
                        break;
                    }
                    bytes.push(c);
                    chars.next();
                }
                fields.push(Field { bytes, quoted: false });
            }
        }
    }
    Ok(fields)
}

fn read_quoted(chars: &mut std::iter::Peekable<std::str::Bytes<'_>>) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    loop {
        match chars.next() {
            None => return Err("unterminated quoted string".into()),
            Some(b'"') => return Ok(bytes),
            Some(b'\\') => bytes.push(read_escape(chars)?),
            Some(c) => bytes.push(c),
        }
    }
}

/// After a backslash: `\DDD` (decimal byte value) or the next character itself.
fn read_escape(chars: &mut std::iter::Peekable<std::str::Bytes<'_>>) -> Result<u8, String> {
    let first = chars.next().ok_or("unterminated escape")?;
    if !first.is_ascii_digit() {
        return Ok(first);
    }
    let mut value = u32::from(first - b'0');
    for _ in 0..2 {
        match chars.next() {
            Some(d) if d.is_ascii_digit() => value = value * 10 + u32::from(d - b'0'),
            _ => return Err("`\\DDD` escape needs three digits".into()),
        }
    }
    u8::try_from(value).map_err(|_| format!("`\\{value}` escape is above 255"))
}

/// `10.2.0.192.in-addr.arpa.` → 192.0.2.10; the 32-nibble `ip6.arpa.` form → the IPv6 address.
fn reverse_name_to_ip(name: &str) -> Option<IpAddr> {
    if let Some(rest) = name.strip_suffix(".in-addr.arpa.") {
        let mut octets = [0u8; 4];
        let labels: Vec<&str> = rest.split('.').collect();
        if labels.len() != 4 {
            return None;
        }
        for (slot, label) in octets.iter_mut().rev().zip(labels) {
            *slot = label.parse().ok()?;
        }
        return Some(IpAddr::V4(Ipv4Addr::from(octets)));
    }
    let rest = name.strip_suffix(".ip6.arpa.")?;
    let nibbles: Vec<&str> = rest.split('.').collect();
    if nibbles.len() != 32 {
        return None;
    }
    let mut value: u128 = 0;
    for nibble in nibbles.iter().rev() {
        let digit = u8::from_str_radix(nibble, 16).ok().filter(|_| nibble.len() == 1)?;
        value = (value << 4) | u128::from(digit);
    }
    Some(IpAddr::V6(Ipv6Addr::from(value)))
}
