//! The fixed DNS records file: an RFC 1035 master file, as people and tools write them.

mod lexer;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

/// Fixed DNS records (from `intake.dns.records_file`), parsed.
///
/// With a records file relais answers every SPF, DKIM and DMARC lookup from it and never queries the
/// network: a name that is not in the file does not exist.
///
/// Syntax (RFC 1035 §5.1): `NAME [TTL] [CLASS] TYPE DATA` (TTL and class in either order, TTLs with BIND
/// units such as `1h`); `$ORIGIN` and `$TTL`; names relative to the origin, `@` for the origin, a blank
/// owner for the previous record's; `( … )` spanning lines; `;` comments. TXT (strings concatenated), A,
/// AAAA, MX and PTR (owner under `in-addr.arpa.` or `ip6.arpa.`) answer lookups; a CNAME answers with
/// its target's records; other types (SOA, NS, SRV, CAA…) are read and ignored. `$INCLUDE` is refused.
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

use lexer::{Entry, Field};

impl DnsRecords {
    /// Parses zone-file text; errors name the line number and what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut records = DnsRecords::default();
        let mut zone = Zone::default();
        for entry in lexer::entries(text)? {
            zone.read(&mut records, &entry).map_err(|e| format!("line {}: {e}", entry.line))?;
        }
        records.follow_cnames(&zone.cnames)?;
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

    fn add(&mut self, zone: &mut Zone, name: String, fields: &[Field]) -> Result<(), String> {
        let mut rest = fields;
        for _ in 0..2 {
            match rest.first() {
                Some(f) if !f.quoted && is_ttl(&f.text()) => rest = &rest[1..],
                Some(f) if !f.quoted && f.text().eq_ignore_ascii_case("IN") => rest = &rest[1..],
                _ => break,
            }
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
            "MX" => self.add_mx(zone, name, data),
            "PTR" => self.add_ptr(zone, &name, data),
            "CNAME" => {
                let [target] = data else { return Err(format!("CNAME record for `{name}` needs one target")) };
                let target = zone.resolve(target)?;
                zone.cnames.push((name, target));
                Ok(())
            }
            "CH" | "HS" | "CS" => Err(format!("class {kind} is not supported, only IN")),
            // SOA, NS, SRV, CAA…: part of a real zone, irrelevant to sender checks.
            other if other.bytes().all(|b| b.is_ascii_alphanumeric()) => Ok(()),
            other => Err(format!("`{other}` is not a record type")),
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

    fn add_mx(&mut self, zone: &Zone, name: String, data: &[Field]) -> Result<(), String> {
        let [pref, host] = data else {
            return Err(format!("MX record for `{name}` needs `preference host`"));
        };
        let pref = pref.text().parse().map_err(|_| format!("invalid MX preference `{}` for `{name}`", pref.text()))?;
        let host = zone.resolve(host)?;
        self.mx.entry(name).or_default().push((pref, host));
        Ok(())
    }

    fn add_ptr(&mut self, zone: &Zone, name: &str, data: &[Field]) -> Result<(), String> {
        let addr = reverse_name_to_ip(name)
            .ok_or_else(|| format!("PTR owner `{name}` is not a full in-addr.arpa. or ip6.arpa. name"))?;
        let [host] = data else {
            return Err(format!("PTR record for `{name}` needs exactly one host name"));
        };
        let host = zone.resolve(host)?;
        self.ptr.entry(addr).or_default().push(host);
        Ok(())
    }

    /// Gives each CNAME owner its target's records (following chains of up to 8 names).
    fn follow_cnames(&mut self, cnames: &[(String, String)]) -> Result<(), String> {
        for (owner, first) in cnames {
            let mut target = first.clone();
            for _ in 0..8 {
                match cnames.iter().find(|(o, _)| *o == target) {
                    Some((_, next)) => target = next.clone(),
                    None => break,
                }
            }
            if cnames.iter().any(|(o, _)| *o == target) {
                return Err(format!("the CNAME chain from `{owner}` does not end (a loop, or longer than 8)"));
            }
            copy_records(&mut self.txt, &target, owner);
            copy_records(&mut self.a, &target, owner);
            copy_records(&mut self.aaaa, &target, owner);
            copy_records(&mut self.mx, &target, owner);
        }
        Ok(())
    }
}

fn copy_records<T: Clone>(map: &mut HashMap<String, Vec<T>>, from: &str, to: &str) {
    if let Some(found) = map.get(from).cloned() {
        map.entry(to.to_owned()).or_default().extend(found);
    }
}

/// The one data field of an A or AAAA record, as text.
fn single(data: &[Field], kind: &str) -> Result<String, String> {
    match data {
        [field] => Ok(field.text()),
        _ => Err(format!("{kind} record needs exactly one address")),
    }
}

/// A TTL: seconds, or BIND units (`1h30m`, `2d`, `1w`).
fn is_ttl(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.first().is_some_and(u8::is_ascii_digit)
        && bytes.iter().enumerate().all(|(i, b)| {
            b.is_ascii_digit() || (b"smhdwSMHDW".contains(b) && bytes[..i].last().is_some_and(u8::is_ascii_digit))
        })
}

/// What the file has said so far: the origin, the previous owner, the CNAMEs to follow at the end.
#[derive(Default)]
struct Zone {
    origin: Option<String>,
    last_owner: Option<String>,
    cnames: Vec<(String, String)>,
}

impl Zone {
    /// Reads one entry: a directive, or a record added to `records`.
    fn read(&mut self, records: &mut DnsRecords, entry: &Entry) -> Result<(), String> {
        let first = &entry.fields[0];
        if !entry.blank_owner && !first.quoted && first.bytes.starts_with(b"$") {
            return self.directive(&first.text().to_ascii_uppercase(), &entry.fields[1..]);
        }
        let (owner, rest) = if entry.blank_owner {
            let owner = self.last_owner.clone().ok_or("a record without a name must follow another record")?;
            (owner, &entry.fields[..])
        } else {
            (self.resolve(first)?, &entry.fields[1..])
        };
        self.last_owner = Some(owner.clone());
        records.add(self, owner, rest)
    }

    fn directive(&mut self, name: &str, args: &[Field]) -> Result<(), String> {
        match (name, args) {
            ("$ORIGIN", [origin]) => {
                self.origin = Some(self.resolve(origin)?);
                Ok(())
            }
            ("$ORIGIN", _) => Err("$ORIGIN needs one domain name".into()),
            ("$TTL", [ttl]) if is_ttl(&ttl.text()) => Ok(()),
            ("$TTL", _) => Err("$TTL needs one duration, like 300 or 1h".into()),
            ("$INCLUDE", _) => Err("$INCLUDE is not supported: put the records in this file".into()),
            (other, _) => Err(format!("unknown directive `{other}` (known: $ORIGIN, $TTL)")),
        }
    }

    /// A lowercased absolute name: `@` is the origin, a name without a final dot is relative to it.
    fn resolve(&self, field: &Field) -> Result<String, String> {
        let name = field.text();
        if field.quoted || name.is_empty() || name.contains("..") || (name.starts_with('.') && name != ".") {
            return Err(format!("`{name}` is not a domain name"));
        }
        if name.ends_with('.') {
            return Ok(name.to_lowercase());
        }
        let Some(origin) = &self.origin else {
            return Err(format!(
                "`{name}` is not an absolute domain name (end it with a dot), and no $ORIGIN comes before it"
            ));
        };
        match name.as_str() {
            "@" => Ok(origin.clone()),
            _ if origin == "." => Ok(format!("{}.", name.to_lowercase())),
            _ => Ok(format!("{}.{origin}", name.to_lowercase())),
        }
    }
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
