//! DNS for mail-auth: the system resolver behind small TTL caches, or fixed answers from a records file.
//!
//! mail-auth 0.13 consults a `ResolverCache` before every lookup and only queries DNS on a cache miss.
//! With a records file the caches are filled from the file once and answer misses themselves:
//! TXT misses with NXDOMAIN, MX and PTR misses with an empty answer (which SPF treats exactly like
//! NXDOMAIN). A and AAAA misses cannot be answered that way: mail-auth's SPF `exists` check counts any
//! cached A/AAAA entry, even an empty one, as "the name exists", so an empty answer there would make every
//! `exists:` mechanism match. Those misses fall through to a hickory resolver configured with no name
//! servers and no hosts file, which fails at once ("no connections available") without sending
//! anything: SPF then yields temperror (never pass) for an `a`, `mx` or `exists` mechanism naming a host
//! absent from the file. mail-auth's `test` feature, which answers misses with NXDOMAIN, is for its own
//! tests and is not used.

use super::DnsRecords;
use mail_auth::common::parse::TxtRecordParser;
use mail_auth::common::verify::DomainKey;
use mail_auth::dkim::{Atps, DomainKeyReport};
use mail_auth::dmarc::Dmarc;
use mail_auth::hickory_resolver::config::{ResolveHosts, ResolverConfig, ResolverOpts};
use mail_auth::hickory_resolver::proto::op::ResponseCode;
use mail_auth::mta_sts::{MtaSts, TlsRpt};
use mail_auth::spf::Spf;
use mail_auth::{DnsError, DnssecStatus, Error, MX, MessageAuthenticator, Parameters, RecordSet, ResolverCache, Txt};
use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

/// Entries kept per live cache before it is flushed (a crude bound; lookups are cheap to redo).
const LIVE_CACHE_LIMIT: usize = 4096;

/// A mail-auth resolver cache: fixed answers from a records file, or a live TTL cache.
pub(super) enum Cache<K, V> {
    /// `miss` answers names absent from `map`; `None` lets the lookup reach the resolver.
    Fixed {
        map: HashMap<K, V>,
        miss: Option<V>,
    },
    Live(Mutex<HashMap<K, (V, Instant)>>),
}

impl<K: Hash + Eq, V: Clone> Cache<K, V> {
    fn live() -> Self {
        Cache::Live(Mutex::new(HashMap::new()))
    }
}

impl<K: Hash + Eq, V: Clone> ResolverCache<K, V> for Cache<K, V> {
    fn get<Q>(&self, name: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        match self {
            Cache::Fixed { map, miss } => map.get(name).or(miss.as_ref()).cloned(),
            Cache::Live(map) => {
                let mut map = map.lock().unwrap_or_else(PoisonError::into_inner);
                match map.get(name) {
                    Some((value, until)) if *until > Instant::now() => Some(value.clone()),
                    Some(_) => {
                        map.remove(name);
                        None
                    }
                    None => None,
                }
            }
        }
    }

    fn remove<Q>(&self, name: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        match self {
            Cache::Fixed { .. } => None,
            Cache::Live(map) => map.lock().unwrap_or_else(PoisonError::into_inner).remove(name).map(|(v, _)| v),
        }
    }

    fn insert(&self, key: K, value: V, valid_until: Instant) {
        if let Cache::Live(map) = self {
            let mut map = map.lock().unwrap_or_else(PoisonError::into_inner);
            if map.len() >= LIVE_CACHE_LIMIT {
                map.clear();
            }
            map.insert(key, (value, valid_until));
        }
    }
}

type TxtCache = Cache<Box<str>, Txt>;
type MxCache = Cache<Box<str>, RecordSet<MX>>;
type Ipv4Cache = Cache<Box<str>, RecordSet<Ipv4Addr>>;
type Ipv6Cache = Cache<Box<str>, RecordSet<Ipv6Addr>>;
type PtrCache = Cache<IpAddr, RecordSet<Box<str>>>;

/// The resolver and the five caches every mail-auth call receives.
pub(super) struct Dns {
    pub(super) resolver: MessageAuthenticator,
    txt: TxtCache,
    mx: MxCache,
    ipv4: Ipv4Cache,
    ipv6: Ipv6Cache,
    ptr: PtrCache,
}

impl Dns {
    /// The system resolver (`/etc/resolv.conf`) with live caches.
    pub(super) fn system() -> Result<Self, String> {
        let resolver = MessageAuthenticator::new_system_conf().map_err(|e| format!("system DNS resolver: {e}"))?;
        Ok(Dns {
            resolver,
            txt: Cache::live(),
            mx: Cache::live(),
            ipv4: Cache::live(),
            ipv6: Cache::live(),
            ptr: Cache::live(),
        })
    }

    /// Answers from `records` only; see the module comment for how misses are kept off the network.
    pub(super) fn fixed(records: &DnsRecords) -> Result<Self, String> {
        let config = ResolverConfig::from_parts(None, Vec::new(), Vec::new());
        let mut options = ResolverOpts::default();
        options.use_hosts_file = ResolveHosts::Never;
        let resolver = MessageAuthenticator::new(config, options).map_err(|e| format!("offline DNS resolver: {e}"))?;
        let nxdomain = Txt::Error(Error::Dns(DnsError::RecordNotFound(ResponseCode::NXDomain)));
        let txt = records.txt.iter().map(|(name, texts)| (name.as_str().into(), parse_txt(name, texts))).collect();
        let mx = records.mx.iter().map(|(name, hosts)| (name.as_str().into(), mx_set(hosts))).collect();
        Ok(Dns {
            resolver,
            txt: Cache::Fixed { map: txt, miss: Some(nxdomain) },
            mx: Cache::Fixed { map: mx, miss: Some(record_set(Vec::new())) },
            ipv4: address_cache(&records.a, &records.aaaa),
            ipv6: address_cache(&records.aaaa, &records.a),
            ptr: Cache::Fixed {
                map: records.ptr.iter().map(|(ip, names)| (*ip, names_set(names))).collect(),
                miss: Some(record_set(Vec::new())),
            },
        })
    }

    /// mail-auth parameters wired to this resolver's caches.
    pub(super) fn params<P>(&self, params: P) -> Parameters<'_, P, TxtCache, MxCache, Ipv4Cache, Ipv6Cache, PtrCache> {
        Parameters::new(params)
            .with_txt_cache(&self.txt)
            .with_mx_cache(&self.mx)
            .with_ipv4_cache(&self.ipv4)
            .with_ipv6_cache(&self.ipv6)
            .with_ptr_cache(&self.ptr)
    }
}

/// A/AAAA answers; a name that only has records of the `other` family gets an empty answer (NODATA).
fn address_cache<A: Copy, B>(
    own: &HashMap<String, Vec<A>>,
    other: &HashMap<String, Vec<B>>,
) -> Cache<Box<str>, RecordSet<A>> {
    let mut map: HashMap<Box<str>, RecordSet<A>> =
        own.iter().map(|(name, addrs)| (name.as_str().into(), record_set(addrs.clone()))).collect();
    for name in other.keys().filter(|name| !own.contains_key(*name)) {
        map.insert(name.as_str().into(), record_set(Vec::new()));
    }
    Cache::Fixed { map, miss: None }
}

fn record_set<T>(items: Vec<T>) -> RecordSet<T> {
    RecordSet { rrset: Arc::from(items), dnssec_status: DnssecStatus::Indeterminate }
}

fn mx_set(hosts: &[(u16, String)]) -> RecordSet<MX> {
    let mut prefs: Vec<u16> = hosts.iter().map(|(pref, _)| *pref).collect();
    prefs.sort_unstable();
    prefs.dedup();
    let mx = prefs
        .into_iter()
        .map(|preference| MX {
            preference,
            exchanges: hosts.iter().filter(|(p, _)| *p == preference).map(|(_, h)| h.as_str().into()).collect(),
        })
        .collect();
    record_set(mx)
}

fn names_set(names: &[String]) -> RecordSet<Box<str>> {
    record_set(names.iter().map(|n| n.as_str().into()).collect())
}

/// mail-auth caches TXT answers already parsed, as the record kind the lookup asked for. A fixed cache
/// cannot know the caller's kind, so it is derived from the name, the way the verifiers build their
/// queries (`sel._domainkey.d`, `_dmarc.d`, …); any other name is an SPF policy. SPF `exp=` explanation
/// strings are not served (relais never shows them).
fn parse_txt(name: &str, texts: &[Vec<u8>]) -> Txt {
    let labels: Vec<&str> = name.trim_end_matches('.').split('.').collect();
    let has = |label: &str| labels.contains(&label);
    if has("_domainkey") {
        if labels.first() == Some(&"_report") {
            parse_first::<DomainKeyReport>(texts)
        } else {
            parse_first::<DomainKey>(texts)
        }
    } else if has("_dmarc") {
        parse_first::<Dmarc>(texts)
    } else if has("_atps") {
        parse_first::<Atps>(texts)
    } else if labels.first() == Some(&"_mta-sts") {
        parse_first::<MtaSts>(texts)
    } else if labels.starts_with(&["_smtp", "_tls"]) {
        parse_first::<TlsRpt>(texts)
    } else {
        parse_first::<Spf>(texts)
    }
}

/// As mail-auth does with live answers: the first record that parses wins, else the last error.
fn parse_first<T: TxtRecordParser + Into<Txt>>(texts: &[Vec<u8>]) -> Txt {
    let mut result = Err(Error::Dns(DnsError::InvalidRecordType));
    for text in texts {
        result = T::parse(text);
        if result.is_ok() {
            break;
        }
    }
    result.into()
}
