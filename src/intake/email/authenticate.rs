//! Sender authentication for emailed letter requests: the From allow-list plus DMARC-aligned SPF or DKIM.

mod domain;
mod records;
mod resolver;
#[cfg(test)]
mod tests;
mod upstream;

pub use records::DnsRecords;

use domain::{aligned, domain_of};
use mail_auth::dmarc::verify::DmarcParameters;
use mail_auth::spf::verify::SpfParameters;
use mail_auth::{AuthenticatedMessage, DkimOutput, DkimResult, DmarcOutput, DmarcResult, SpfOutput, SpfResult};
use mail_parser::MessageParser;
use resolver::Dns;
use std::net::IpAddr;

/// How the message reached relais.
#[derive(Debug, Clone)]
pub enum Arrival {
    /// relais's own SMTP/LMTP receiver: it saw the client.
    Smtp { peer: IpAddr, helo: String, mail_from: String },
    /// IMAP or raw MIME: an upstream MTA saw the client and (maybe) wrote Authentication-Results.
    Relayed,
}

/// What established (or would have established) the sender's authenticity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Method {
    /// SPF pass, aligned with the From domain by relais's relaxed rule (the domain publishes no DMARC record).
    Spf,
    /// DKIM pass with an aligned `d=`: relais's own check of a relayed message, or an SMTP arrival whose
    /// domain publishes no DMARC record.
    Dkim,
    /// DMARC evaluated by relais on an SMTP arrival (SPF, DKIM and the domain's own policy) passed.
    Dmarc,
    /// The `Authentication-Results` header of a trusted upstream MTA.
    UpstreamResults,
}

/// The decision, with the reason in plain English for logs and for the operator.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Verdict {
    /// The From address, domain lowercased; `None` when the message lacks exactly one usable From address.
    pub from: Option<String>,
    /// The From address is on the sender account's allow-list.
    pub allowed_sender: bool,
    /// DMARC-aligned SPF or DKIM passed (by whichever method).
    pub authenticated: bool,
    /// DMARC itself passed: only then may relais answer a refusal (no backscatter to forged senders).
    pub dmarc_pass: bool,
    /// What established it.
    pub method: Option<Method>,
    /// e.g. "dkim=pass d=cabinet.example.fr aligned with From".
    pub reason: String,
}

impl Verdict {
    /// May this email trigger a letter? Only when the sender is allowed and authenticated.
    pub fn accepted(&self) -> bool {
        self.allowed_sender && self.authenticated
    }
}

/// The authentication half of a verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    authenticated: bool,
    dmarc_pass: bool,
    method: Option<Method>,
    reason: String,
}

impl Outcome {
    fn failed(reason: String) -> Self {
        Outcome { authenticated: false, dmarc_pass: false, method: None, reason }
    }
}

/// Checks senders of emailed requests. Build one at startup and share it: it owns the DNS caches.
pub struct Authenticator {
    dns: Dns,
    /// Lowercased authserv-ids whose Authentication-Results headers are believed.
    trusted: Vec<String>,
    /// This receiver's host name, for SPF's `%{r}` macro.
    hostname: String,
}

impl Authenticator {
    /// `records`: fixed DNS (no network at all) or None for the system resolver; `trusted_authserv_ids`: the
    /// authserv-id of each upstream MTA whose Authentication-Results header is trusted.
    pub fn new(records: Option<DnsRecords>, trusted_authserv_ids: Vec<String>) -> Result<Self, String> {
        let dns = match &records {
            Some(records) => Dns::fixed(records)?,
            None => Dns::system()?,
        };
        let trusted = trusted_authserv_ids
            .into_iter()
            .map(|id| id.trim().to_ascii_lowercase())
            .filter(|id| !id.is_empty())
            .collect();
        Ok(Authenticator { dns, trusted, hostname: "localhost".to_string() })
    }

    /// Sets the receiving host's name (SPF's `%{r}` macro); defaults to `localhost`.
    pub fn with_hostname(mut self, hostname: impl Into<String>) -> Self {
        self.hostname = hostname.into();
        self
    }

    /// Decides whether `raw` comes from an allowed, authenticated sender. Authentication is evaluated even
    /// for senders off the allow-list, because `dmarc_pass` decides whether a refusal may be sent back.
    pub async fn verify(&self, raw: &[u8], arrival: &Arrival, allow_list: &[String]) -> Verdict {
        let (from, auth_results) = match read_headers(raw) {
            Ok(headers) => headers,
            Err(reason) => {
                let Outcome { authenticated, dmarc_pass, method, reason } = Outcome::failed(reason);
                return Verdict { from: None, allowed_sender: false, authenticated, dmarc_pass, method, reason };
            }
        };
        let from_domain = domain_of(&from);
        let outcome = match arrival {
            Arrival::Smtp { peer, helo, mail_from } => self.check_smtp(raw, &from_domain, *peer, helo, mail_from).await,
            Arrival::Relayed => self.check_relayed(raw, &from_domain, &auth_results).await,
        };
        let allowed_sender = on_allow_list(&from, allow_list);
        let reason = if allowed_sender {
            outcome.reason
        } else {
            format!("{from} is not on the allow-list; {}", outcome.reason)
        };
        let Outcome { authenticated, dmarc_pass, method, .. } = outcome;
        Verdict { from: Some(from), allowed_sender, authenticated, dmarc_pass, method, reason }
    }

    /// relais received the message itself: SPF for the client, DKIM, then DMARC over both.
    async fn check_smtp(&self, raw: &[u8], from_domain: &str, peer: IpAddr, helo: &str, mail_from: &str) -> Outcome {
        let Some(message) = AuthenticatedMessage::parse(raw) else {
            return Outcome::failed("the message could not be parsed for DKIM/DMARC".to_string());
        };
        let mail_from = mail_from.trim().trim_start_matches('<').trim_end_matches('>');
        let spf_params = SpfParameters::verify(peer, helo, &self.hostname, mail_from);
        let spf = self.dns.resolver.verify_spf(self.dns.params(spf_params)).await;
        let dkim = self.dns.resolver.verify_dkim(self.dns.params(&message)).await;
        // The SPF output's domain is MAIL FROM's, or HELO's for a null sender, as DMARC requires.
        let spf_domain = spf.domain().to_string();
        let dmarc_params = DmarcParameters::new(&message, &dkim, &spf_domain, &spf);
        let dmarc = self.dns.resolver.verify_dmarc(self.dns.params(dmarc_params)).await;
        decide(from_domain, Some(&spf), &dkim, &dmarc, Method::Dmarc)
    }

    /// An upstream MTA received the message: believe its trusted Authentication-Results when they show an
    /// aligned pass, otherwise verify DKIM here (SPF cannot be checked: the client is unknown).
    async fn check_relayed(&self, raw: &[u8], from_domain: &str, auth_results: &[String]) -> Outcome {
        let note = match upstream::topmost_trusted(auth_results.iter().map(String::as_str), &self.trusted) {
            Some(results) => match upstream::evaluate(&results, from_domain) {
                Ok(outcome) => return outcome,
                Err(note) => note,
            },
            None => "no Authentication-Results from a trusted server".to_string(),
        };
        let mut outcome = self.check_dkim(raw, from_domain).await;
        outcome.reason = format!("{note}; own check: {}", outcome.reason);
        outcome
    }

    /// DKIM verified by relais, with DMARC (if the domain publishes a record) judging DKIM alignment only.
    async fn check_dkim(&self, raw: &[u8], from_domain: &str) -> Outcome {
        let Some(message) = AuthenticatedMessage::parse(raw) else {
            return Outcome::failed("the message could not be parsed for DKIM".to_string());
        };
        let dkim = self.dns.resolver.verify_dkim(self.dns.params(&message)).await;
        let no_spf = SpfOutput::new(String::new());
        let dmarc_params = DmarcParameters::new(&message, &dkim, "", &no_spf);
        let dmarc = self.dns.resolver.verify_dmarc(self.dns.params(dmarc_params)).await;
        decide(from_domain, None, &dkim, &dmarc, Method::Dkim)
    }
}

/// Combines the mechanism results. A domain's DMARC record, when there is one, has the last word (it may
/// demand strict alignment); without one, relais applies relaxed alignment itself.
fn decide(
    from_domain: &str,
    spf: Option<&SpfOutput>,
    dkim: &[DkimOutput<'_>],
    dmarc: &DmarcOutput,
    policy_method: Method,
) -> Outcome {
    let mut details: Vec<String> =
        spf.map(|s| format!("spf={} smtp.mailfrom={}", spf_word(s.result()), s.domain())).into_iter().collect();
    details.push(dkim_summary(dkim));
    let details = details.join(", ");
    if dmarc.dmarc_record().is_some() {
        let pass = dmarc.result() == DmarcResult::Pass;
        let reason = format!("dmarc={} for {from_domain} ({details})", dmarc_word(&dmarc.result()));
        return Outcome { authenticated: pass, dmarc_pass: pass, method: pass.then_some(policy_method), reason };
    }
    let mut passed_d =
        dkim.iter().filter(|o| *o.result() == DkimResult::Pass).filter_map(|o| o.signature()).map(|s| &s.d);
    if let Some(d) = passed_d.find(|d| aligned(d, from_domain)) {
        let reason = format!("dkim=pass d={d} aligned with From (no DMARC record for {from_domain})");
        return Outcome { authenticated: true, dmarc_pass: false, method: Some(Method::Dkim), reason };
    }
    if let Some(spf) = spf.filter(|s| s.result() == SpfResult::Pass && aligned(s.domain(), from_domain)) {
        let reason =
            format!("spf=pass smtp.mailfrom={} aligned with From (no DMARC record for {from_domain})", spf.domain());
        return Outcome { authenticated: true, dmarc_pass: false, method: Some(Method::Spf), reason };
    }
    Outcome::failed(format!("no pass aligned with From domain {from_domain} ({details})"))
}

fn spf_word(result: SpfResult) -> String {
    result.to_string().to_ascii_lowercase()
}

/// `dkim=none (no signature)` when the message is unsigned: an empty result list is never a pass.
fn dkim_summary(dkim: &[DkimOutput<'_>]) -> String {
    if dkim.is_empty() {
        return "dkim=none (no DKIM signature)".to_string();
    }
    let each = dkim.iter().map(|o| {
        let (word, error) = match o.result() {
            DkimResult::Pass => ("pass", None),
            DkimResult::None => ("none", None),
            DkimResult::Neutral(e) => ("neutral", Some(e)),
            DkimResult::Fail(e) => ("fail", Some(e)),
            DkimResult::PermError(e) => ("permerror", Some(e)),
            DkimResult::TempError(e) => ("temperror", Some(e)),
        };
        let d = o.signature().map(|s| format!(" d={}", s.d)).unwrap_or_default();
        let error = error.map(|e| format!(" ({e})")).unwrap_or_default();
        format!("dkim={word}{d}{error}")
    });
    each.collect::<Vec<_>>().join(", ")
}

fn dmarc_word(result: &DmarcResult) -> String {
    match result {
        DmarcResult::Pass => "pass".to_string(),
        DmarcResult::None => "none".to_string(),
        DmarcResult::Fail(e) => format!("fail ({e})"),
        DmarcResult::PermError(e) => format!("permerror ({e})"),
        DmarcResult::TempError(e) => format!("temperror ({e})"),
    }
}

/// The single From address (domain lowercased) and the raw Authentication-Results values, top first.
/// Several From headers or addresses are refused: which one a reader sees is then ambiguous.
fn read_headers(raw: &[u8]) -> Result<(String, Vec<String>), String> {
    let message = MessageParser::default().parse_headers(raw).ok_or("the message headers could not be parsed")?;
    let from_headers = message.headers_raw().filter(|(name, _)| name.eq_ignore_ascii_case("From")).count();
    if from_headers != 1 {
        return Err(format!("the message has {from_headers} From headers, exactly one is required"));
    }
    let addresses: Vec<&str> =
        message.from().map(|a| a.iter().filter_map(|a| a.address()).collect()).unwrap_or_default();
    let [address] = addresses.as_slice() else {
        return Err(format!("the From header must hold exactly one address, it holds {}", addresses.len()));
    };
    let Some((local, domain)) = address.rsplit_once('@').filter(|(l, d)| !l.is_empty() && !d.is_empty()) else {
        return Err(format!("the From address `{address}` has no domain"));
    };
    let auth_results = message
        .headers_raw()
        .filter(|(name, _)| name.eq_ignore_ascii_case("Authentication-Results"))
        .map(|(_, value)| value.to_string())
        .collect();
    Ok((format!("{local}@{}", domain.to_lowercase()), auth_results))
}

/// True when `from` matches an allow-list entry: an exact address, or `@domain` (that domain only, not subdomains).
/// Comparison ignores case.
pub fn on_allow_list(from: &str, allow_list: &[String]) -> bool {
    let from = from.trim().to_lowercase();
    let Some((_, from_domain)) = from.rsplit_once('@') else {
        return false;
    };
    allow_list.iter().map(|entry| entry.trim().to_lowercase()).any(|entry| match entry.strip_prefix('@') {
        Some(domain) => !domain.is_empty() && domain == from_domain,
        None => !entry.is_empty() && entry == from,
    })
}
