//! Offline tests: every DNS answer comes from a `DnsRecords` zone built here.

use super::domain::{aligned, organizational_domain};
use super::*;
use base64::Engine;
use mail_auth::common::crypto::Ed25519Key;
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::DkimSigner;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

const SELECTOR: &str = "relais-test";
const TRUSTED_MX: &str = "mx.relais.example.fr";

/// A throwaway Ed25519 DKIM key for these tests only, and its base64 public key for the `p=` tag.
fn test_key() -> (Vec<u8>, String) {
    let pkcs8 = Ed25519Key::generate_pkcs8().expect("generate test key");
    let key = Ed25519Key::from_pkcs8_der(&pkcs8).expect("load test key");
    (pkcs8, base64::engine::general_purpose::STANDARD.encode(key.public_key()))
}

/// The test zone: cabinet.example.fr has SPF, DMARC p=reject and a DKIM key; etude.example.com has SPF
/// and a DKIM key but no DMARC record; other.example only a DKIM key.
fn zone(public_key: &str) -> String {
    format!(
        "; relais test zone\n\
         cabinet.example.fr. 300 IN TXT \"v=spf1 ip4:192.0.2.10 -all\"\n\
         _dmarc.cabinet.example.fr. 300 IN TXT \"v=DMARC1; p=reject\"\n\
         {SELECTOR}._domainkey.cabinet.example.fr. 300 IN TXT \"v=DKIM1; k=ed25519; \" \"p={public_key}\"\n\
         \n\
         etude.example.com. 300 IN TXT \"v=spf1 ip4:198.51.100.7 -all\"\n\
         {SELECTOR}._domainkey.etude.example.com. 300 IN TXT \"v=DKIM1; k=ed25519; p={public_key}\"\n\
         {SELECTOR}._domainkey.other.example. 300 IN TXT \"v=DKIM1; k=ed25519; p={public_key}\" ; unaligned signer\n\
         mail.cabinet.example.fr. 300 IN A 192.0.2.10\n"
    )
}

fn message(from: &str, body: &str) -> String {
    format!(
        "From: Maitre Dupont <{from}>\r\nTo: lettres@relais.example.fr\r\nSubject: Mise en demeure\r\n\
         Date: Thu, 26 Nov 2026 10:00:00 +0100\r\nMessage-ID: <req-1@cabinet.example.fr>\r\n\r\n{body}\r\n"
    )
}

fn sign(raw: &str, domain: &str, pkcs8: &[u8]) -> String {
    let key = Ed25519Key::from_pkcs8_der(pkcs8).expect("load test key");
    let signature = DkimSigner::from_key(key)
        .domain(domain)
        .selector(SELECTOR)
        .headers(["From", "To", "Subject", "Date", "Message-ID"])
        .sign(raw.as_bytes())
        .expect("sign");
    format!("{}{raw}", signature.to_header())
}

fn authenticator(public_key: &str) -> Authenticator {
    let records = DnsRecords::parse(&zone(public_key)).expect("test zone parses");
    Authenticator::new(Some(records), vec![TRUSTED_MX.to_string()]).expect("offline authenticator")
}

fn allow(entries: &[&str]) -> Vec<String> {
    entries.iter().map(|e| e.to_string()).collect()
}

fn smtp(peer: [u8; 4], mail_from: &str) -> Arrival {
    Arrival::Smtp { peer: IpAddr::from(peer), helo: "mail.cabinet.example.fr".into(), mail_from: mail_from.into() }
}

// ---- DnsRecords::parse ----

#[test]
fn parse_txt_concatenates_strings_and_keeps_records_apart() {
    let records = DnsRecords::parse(
        "Example.FR. 60 IN TXT \"v=spf1 \" \"ip4:192.0.2.1\" \"  -all\"\nexample.fr. IN TXT \"a\\\"b\\059c\"\n",
    )
    .expect("parses");
    let txt = &records.txt["example.fr."];
    assert_eq!(txt, &vec![b"v=spf1 ip4:192.0.2.1  -all".to_vec(), b"a\"b;c".to_vec()]);
}

#[test]
fn parse_mx_a_aaaa_ptr_comments_and_blank_lines() {
    let text = "; comment line\n\n\
                example.fr. 300 IN MX 10 mx1.example.fr. ; trailing comment\n\
                example.fr. 300 IN MX 20 MX2.example.fr.\n\
                mx1.example.fr. 300 IN A 192.0.2.25\n\
                mx1.example.fr. 300 IN AAAA 2001:db8::25\n\
                25.2.0.192.in-addr.arpa. 300 IN PTR mx1.example.fr.\n\
                5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 300 IN PTR mx1.example.fr.\n";
    let records = DnsRecords::parse(text).expect("parses");
    assert_eq!(records.mx["example.fr."], vec![(10, "mx1.example.fr.".into()), (20, "mx2.example.fr.".into())]);
    assert_eq!(records.a["mx1.example.fr."], vec![Ipv4Addr::new(192, 0, 2, 25)]);
    assert_eq!(records.aaaa["mx1.example.fr."], vec!["2001:db8::25".parse::<Ipv6Addr>().expect("ip")]);
    let v4: IpAddr = Ipv4Addr::new(192, 0, 2, 25).into();
    let v6: IpAddr = "2001:db8::25".parse().expect("ip");
    assert_eq!(records.ptr[&v4], vec!["mx1.example.fr.".to_string()]);
    assert_eq!(records.ptr[&v6], vec!["mx1.example.fr.".to_string()]);
    assert!(!records.is_empty());
    assert!(DnsRecords::parse("; nothing\n\n").expect("parses").is_empty());
}

/// A zone as BIND users and DNS hosting exports write it: `$TTL`, `$ORIGIN`, `@`, relative names, blank
/// owners, BIND TTL units, class before TTL, a DKIM key split over lines in parentheses, SOA and NS.
#[test]
fn parse_reads_master_files_as_people_and_tools_write_them() {
    let text = r#"$TTL 300
$ORIGIN cabinet.example.fr.
@   IN  SOA ns1 hostmaster ( 2026112901 ; serial
        1h 15m 1w 1d )
    IN  NS  ns1
    IN  MX  10 mx1          ; the primary
    IN  TXT "v=spf1 mx -all"
mx1 1h IN A 192.0.2.25
mx1 IN 3600 AAAA 2001:db8::25
_dmarc  TXT "v=DMARC1; p=reject"
sel1._domainkey IN TXT ( "v=DKIM1; k=rsa; "
                         "p=MIGf" )
www IN CNAME @
$ORIGIN other.example.
@ IN TXT "v=spf1 include:cabinet.example.fr. -all"
"#;
    let records = DnsRecords::parse(text).expect("parses");
    assert_eq!(records.mx["cabinet.example.fr."], vec![(10, "mx1.cabinet.example.fr.".into())]);
    assert_eq!(records.txt["cabinet.example.fr."], vec![b"v=spf1 mx -all".to_vec()]);
    assert_eq!(records.a["mx1.cabinet.example.fr."], vec![Ipv4Addr::new(192, 0, 2, 25)]);
    assert_eq!(records.aaaa["mx1.cabinet.example.fr."].len(), 1);
    assert_eq!(records.txt["_dmarc.cabinet.example.fr."], vec![b"v=DMARC1; p=reject".to_vec()]);
    assert_eq!(records.txt["sel1._domainkey.cabinet.example.fr."], vec![b"v=DKIM1; k=rsa; p=MIGf".to_vec()]);
    assert_eq!(
        records.txt["www.cabinet.example.fr."], records.txt["cabinet.example.fr."],
        "a CNAME answers as its target"
    );
    assert!(records.txt.contains_key("other.example."));
}

#[test]
fn parse_errors_name_the_line() {
    let cases = [
        ("ok.example. 1 IN A 192.0.2.1\nrelative.example 300 IN A 192.0.2.1\n", "line 2:", "absolute"),
        ("\n\nx.example. 300 IN A 300.0.0.1\n", "line 3:", "IPv4"),
        ("x.example. 300 IN S/RV 0 0 25 mx.example.\n", "line 1:", "not a record type"),
        ("$INCLUDE other.zone\n", "line 1:", "$INCLUDE"),
        ("x.example. 300 IN A 192.0.2.1\n  ) \n", "line 2:", "without a `(`"),
        ("  300 IN A 192.0.2.1\n", "line 1:", "follow another record"),
        ("x.example. 300 IN TXT \"unterminated\n", "line 1:", "unterminated"),
        ("x.example. 300 IN TXT\n", "line 1:", "at least one string"),
        ("x.example. 300 IN MX mx.example.\n", "line 1:", "preference host"),
        ("x.example. 300 IN PTR y.example.\n", "line 1:", "in-addr.arpa"),
        ("\nx.example. 300 IN TXT ( \"a\"\n\"b\"\n", "line 2:", "never closed"),
    ];
    for (text, line, what) in cases {
        let err = DnsRecords::parse(text).expect_err(text);
        assert!(err.starts_with(line) && err.contains(what), "{text:?} gave {err:?}");
    }
}

// ---- DKIM (relayed, no trusted Authentication-Results: relais verifies DKIM itself) ----

#[tokio::test]
async fn aligned_dkim_passes_with_dmarc() {
    let (pkcs8, public) = test_key();
    let raw = sign(&message("avocat@Cabinet.Example.FR", "Merci d'envoyer."), "cabinet.example.fr", &pkcs8);
    let verdict =
        authenticator(&public).verify(raw.as_bytes(), &Arrival::Relayed, &allow(&["@cabinet.example.fr"])).await;
    assert_eq!(verdict.from.as_deref(), Some("avocat@cabinet.example.fr"));
    assert!(verdict.authenticated && verdict.dmarc_pass && verdict.accepted(), "{verdict:?}");
    assert_eq!(verdict.method, Some(Method::Dkim));
    assert!(verdict.reason.contains("dkim=pass d=cabinet.example.fr"), "{}", verdict.reason);
}

#[tokio::test]
async fn aligned_dkim_without_dmarc_record_uses_relaxed_alignment() {
    let (pkcs8, public) = test_key();
    let raw = sign(&message("notaire@etude.example.com", "Bonjour."), "etude.example.com", &pkcs8);
    let verdict =
        authenticator(&public).verify(raw.as_bytes(), &Arrival::Relayed, &allow(&["@etude.example.com"])).await;
    assert!(verdict.accepted(), "{verdict:?}");
    assert_eq!(verdict.method, Some(Method::Dkim));
    assert!(!verdict.dmarc_pass, "no DMARC record, so DMARC did not pass");
    assert!(verdict.reason.contains("aligned with From"), "{}", verdict.reason);
}

#[tokio::test]
async fn body_altered_after_signing_fails() {
    let (pkcs8, public) = test_key();
    let raw = sign(&message("avocat@cabinet.example.fr", "Montant : 100 EUR."), "cabinet.example.fr", &pkcs8);
    let tampered = raw.replace("100 EUR", "900 EUR");
    let verdict =
        authenticator(&public).verify(tampered.as_bytes(), &Arrival::Relayed, &allow(&["@cabinet.example.fr"])).await;
    assert!(!verdict.authenticated && !verdict.dmarc_pass && !verdict.accepted(), "{verdict:?}");
    assert!(verdict.reason.contains("body hash does not match"), "{}", verdict.reason);
}

#[tokio::test]
async fn unaligned_dkim_signature_fails() {
    let (pkcs8, public) = test_key();
    let raw = sign(&message("avocat@cabinet.example.fr", "Bonjour."), "other.example", &pkcs8);
    let verdict =
        authenticator(&public).verify(raw.as_bytes(), &Arrival::Relayed, &allow(&["@cabinet.example.fr"])).await;
    assert!(verdict.reason.contains("dkim=pass d=other.example"), "the signature itself is valid: {}", verdict.reason);
    assert!(!verdict.authenticated && !verdict.dmarc_pass, "{verdict:?}");
}

#[tokio::test]
async fn unsigned_message_is_none_not_pass() {
    let (_, public) = test_key();
    let raw = message("avocat@cabinet.example.fr", "Bonjour.");
    let verdict =
        authenticator(&public).verify(raw.as_bytes(), &Arrival::Relayed, &allow(&["@cabinet.example.fr"])).await;
    assert!(!verdict.authenticated && !verdict.dmarc_pass && verdict.method.is_none(), "{verdict:?}");
    assert!(verdict.reason.contains("dkim=none"), "{}", verdict.reason);
}

// ---- SMTP arrival: SPF + DKIM + DMARC ----

#[tokio::test]
async fn spf_pass_from_listed_ip() {
    let (_, public) = test_key();
    let raw = message("avocat@cabinet.example.fr", "Bonjour.");
    let verdict = authenticator(&public)
        .verify(
            raw.as_bytes(),
            &smtp([192, 0, 2, 10], "bounces@cabinet.example.fr"),
            &allow(&["avocat@cabinet.example.fr"]),
        )
        .await;
    assert!(verdict.accepted() && verdict.dmarc_pass, "{verdict:?}");
    assert_eq!(verdict.method, Some(Method::Dmarc));
    assert!(verdict.reason.contains("spf=pass"), "{}", verdict.reason);
}

#[tokio::test]
async fn spf_pass_without_dmarc_record_is_method_spf() {
    let (_, public) = test_key();
    let raw = message("notaire@etude.example.com", "Bonjour.");
    let verdict = authenticator(&public)
        .verify(raw.as_bytes(), &smtp([198, 51, 100, 7], "notaire@etude.example.com"), &allow(&["@etude.example.com"]))
        .await;
    assert!(verdict.accepted() && !verdict.dmarc_pass, "{verdict:?}");
    assert_eq!(verdict.method, Some(Method::Spf));
}

#[tokio::test]
async fn spf_fails_from_unlisted_ip() {
    let (_, public) = test_key();
    let raw = message("avocat@cabinet.example.fr", "Bonjour.");
    let verdict = authenticator(&public)
        .verify(raw.as_bytes(), &smtp([192, 0, 2, 11], "bounces@cabinet.example.fr"), &allow(&["@cabinet.example.fr"]))
        .await;
    assert!(!verdict.authenticated && !verdict.dmarc_pass && !verdict.accepted(), "{verdict:?}");
    assert!(verdict.reason.contains("spf=fail"), "{}", verdict.reason);
}

#[tokio::test]
async fn spoofed_from_is_refused_without_backscatter() {
    let (_, public) = test_key();
    let raw = message("ceo@cabinet.example.fr", "Virement urgent.");
    let arrival = Arrival::Smtp {
        peer: IpAddr::from([203, 0, 113, 66]),
        helo: "evil.example".into(),
        mail_from: "x@evil.example".into(),
    };
    let verdict = authenticator(&public).verify(raw.as_bytes(), &arrival, &allow(&["@cabinet.example.fr"])).await;
    assert!(verdict.allowed_sender, "the forged From is on the list, which is why authentication matters");
    assert!(!verdict.authenticated && !verdict.dmarc_pass && !verdict.accepted(), "{verdict:?}");
}

// ---- Relayed: trusted Authentication-Results ----

const UPSTREAM_PASS: &str = "dkim=pass header.d=cabinet.example.fr; spf=pass smtp.mailfrom=cabinet.example.fr; \
                             dmarc=pass header.from=cabinet.example.fr";

fn with_auth_results(authserv_id: &str, results: &str, raw: &str) -> String {
    format!("Authentication-Results: {authserv_id};\r\n {results}\r\n{raw}")
}

#[tokio::test]
async fn trusted_upstream_results_pass() {
    let (_, public) = test_key();
    let raw = with_auth_results(TRUSTED_MX, UPSTREAM_PASS, &message("avocat@cabinet.example.fr", "Bonjour."));
    let verdict =
        authenticator(&public).verify(raw.as_bytes(), &Arrival::Relayed, &allow(&["@cabinet.example.fr"])).await;
    assert!(verdict.accepted() && verdict.dmarc_pass, "{verdict:?}");
    assert_eq!(verdict.method, Some(Method::UpstreamResults));
    assert!(verdict.reason.contains(TRUSTED_MX), "{}", verdict.reason);
}

#[tokio::test]
async fn untrusted_authserv_id_is_ignored_and_dkim_decides() {
    let (pkcs8, public) = test_key();
    let auth = authenticator(&public);
    let allow_list = allow(&["@cabinet.example.fr"]);
    let forged = with_auth_results("mx.evil.example", UPSTREAM_PASS, &message("avocat@cabinet.example.fr", "Bonjour."));
    let verdict = auth.verify(forged.as_bytes(), &Arrival::Relayed, &allow_list).await;
    assert!(!verdict.authenticated && !verdict.dmarc_pass, "{verdict:?}");
    assert!(verdict.reason.contains("no Authentication-Results from a trusted server"), "{}", verdict.reason);

    let signed = sign(&message("avocat@cabinet.example.fr", "Bonjour."), "cabinet.example.fr", &pkcs8);
    let forged_but_signed = with_auth_results("mx.evil.example", UPSTREAM_PASS, &signed);
    let verdict = auth.verify(forged_but_signed.as_bytes(), &Arrival::Relayed, &allow_list).await;
    assert!(verdict.accepted(), "{verdict:?}");
    assert_eq!(verdict.method, Some(Method::Dkim));
}

#[tokio::test]
async fn only_the_topmost_trusted_header_counts() {
    let (_, public) = test_key();
    // The sender wrote a passing header under the trusted id; the real MTA's header above it says fail.
    let forged = with_auth_results(TRUSTED_MX, UPSTREAM_PASS, &message("avocat@cabinet.example.fr", "Bonjour."));
    let raw = with_auth_results(TRUSTED_MX, "spf=fail smtp.mailfrom=cabinet.example.fr; dmarc=fail", &forged);
    let verdict =
        authenticator(&public).verify(raw.as_bytes(), &Arrival::Relayed, &allow(&["@cabinet.example.fr"])).await;
    assert!(!verdict.authenticated, "{verdict:?}");
    assert!(verdict.reason.contains("spf=fail dmarc=fail"), "{}", verdict.reason);
}

#[tokio::test]
async fn trusted_spf_or_dkim_pass_must_align() {
    let (_, public) = test_key();
    let auth = authenticator(&public);
    let allow_list = allow(&["@cabinet.example.fr"]);
    let body = message("avocat@cabinet.example.fr", "Bonjour.");
    let aligned_spf = with_auth_results(TRUSTED_MX, "spf=pass smtp.mailfrom=bounce@mail.cabinet.example.fr", &body);
    let verdict = auth.verify(aligned_spf.as_bytes(), &Arrival::Relayed, &allow_list).await;
    assert!(verdict.accepted() && !verdict.dmarc_pass, "{verdict:?}");
    assert_eq!(verdict.method, Some(Method::UpstreamResults));

    let aligned_dkim = with_auth_results(TRUSTED_MX, "dkim=pass (good sig) header.i=@cabinet.example.fr", &body);
    assert!(auth.verify(aligned_dkim.as_bytes(), &Arrival::Relayed, &allow_list).await.authenticated);

    let unaligned = with_auth_results(
        TRUSTED_MX,
        "spf=pass smtp.mailfrom=x@mailer.example; dkim=pass header.d=mailer.example",
        &body,
    );
    assert!(!auth.verify(unaligned.as_bytes(), &Arrival::Relayed, &allow_list).await.authenticated);
}

#[test]
fn authentication_results_parsing() {
    let value = " MX.Relais.Example.FR 1; (comment; with semicolon) dkim/1 = pass (ok) reason=\"a;b\"\r\n\t header.d=Cabinet.example.fr;\r\n spf=pass smtp.mailfrom=u@cabinet.example.fr";
    let parsed = upstream::parse(value).expect("parses");
    assert_eq!(parsed.authserv_id, "mx.relais.example.fr");
    assert_eq!(parsed.results.len(), 2);
    assert_eq!((parsed.results[0].method.as_str(), parsed.results[0].result.as_str()), ("dkim", "pass"));
    assert!(parsed.results[0].props.contains(&("reason".into(), "a;b".into())));
    assert!(parsed.results[0].props.contains(&("header.d".into(), "Cabinet.example.fr".into())));
    assert_eq!(upstream::parse("mx.example; none").expect("parses").results, vec![]);
}

// ---- Allow-list, From handling, alignment ----

#[test]
fn allow_list_matching() {
    let list = allow(&["Avocat@Cabinet.example.fr", "@etude.example.com", " "]);
    assert!(on_allow_list("avocat@cabinet.example.fr", &list), "exact address, case-insensitive");
    assert!(!on_allow_list("secretariat@cabinet.example.fr", &list), "another address of a listed-address domain");
    assert!(on_allow_list("Notaire@ETUDE.example.com", &list), "@domain, case-insensitive");
    assert!(!on_allow_list("x@paris.etude.example.com", &list), "subdomains are not included");
    assert!(!on_allow_list("x@other.example", &list), "another domain");
    assert!(!on_allow_list("x@evil-etude.example.com", &list));
    assert!(!on_allow_list("no-at-sign", &list));
    assert!(!on_allow_list("x@", &allow(&["@"])));
}

#[tokio::test]
async fn several_from_headers_are_refused() {
    let (_, public) = test_key();
    let raw = format!("From: ceo@evil.example\r\n{}", message("avocat@cabinet.example.fr", "Bonjour."));
    let verdict =
        authenticator(&public).verify(raw.as_bytes(), &Arrival::Relayed, &allow(&["@cabinet.example.fr"])).await;
    assert_eq!(verdict.from, None);
    assert!(!verdict.accepted() && verdict.reason.contains("2 From headers"), "{verdict:?}");
}

#[test]
fn organizational_domains_and_alignment() {
    assert_eq!(organizational_domain("a.b.cabinet.example.fr"), "example.fr");
    assert_eq!(organizational_domain("mail.justice.gouv.fr"), "justice.gouv.fr");
    assert_eq!(organizational_domain("www.shop.co.uk"), "shop.co.uk");
    assert_eq!(organizational_domain("example"), "example");
    assert!(aligned("bounce.example.fr", "Example.FR"));
    assert!(!aligned("interieur.gouv.fr", "justice.gouv.fr"));
}

// ---- The fixed resolver never leaves the process ----

#[tokio::test]
async fn names_outside_the_records_file_never_reach_the_network() {
    let records = DnsRecords::parse(
        "spoof.example. 300 IN TXT \"v=spf1 exists:%{i}.allow.spoof.example a:nohost.spoof.example include:missing.example -all\"\n",
    )
    .expect("parses");
    let auth = Authenticator::new(Some(records), Vec::new()).expect("offline authenticator");
    let raw = message("x@spoof.example", "Bonjour.");
    let started = Instant::now();
    let verdict =
        auth.verify(raw.as_bytes(), &smtp([192, 0, 2, 99], "x@spoof.example"), &allow(&["@spoof.example"])).await;
    assert!(!verdict.authenticated, "{verdict:?}");
    assert!(started.elapsed() < Duration::from_secs(2), "answered locally, no DNS timeout");
}

#[test]
fn authenticator_can_be_shared_across_tasks() {
    fn assert_send<T: Send>(_: &T) {}
    fn assert_shared<T: Send + Sync>() {}
    assert_shared::<Authenticator>();
    let auth = Authenticator::new(Some(DnsRecords::default()), Vec::new()).expect("offline authenticator");
    let future = auth.verify(b"", &Arrival::Relayed, &[]);
    assert_send(&future);
}
