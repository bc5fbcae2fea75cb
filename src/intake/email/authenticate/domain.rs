//! Domain helpers: the domain of an address and relaxed DMARC alignment.

/// Public suffixes with two labels that relais knows about. Simplification: instead of the full Public
/// Suffix List, the organizational domain is the last two labels of a name, or the last three when the
/// last two form one of these suffixes. A domain under an unlisted multi-label suffix is therefore seen
/// as aligned with its siblings under that suffix; publish a DMARC record (whose tree walk mail-auth
/// performs) where that matters.
const TWO_LABEL_SUFFIXES: &[&str] = &[
    "gouv.fr", "asso.fr", "com.fr", "nom.fr", "tm.fr", "co.uk", "org.uk", "ac.uk", "gov.uk", "me.uk", "ltd.uk",
    "plc.uk", "co.jp", "ne.jp", "or.jp", "com.au", "net.au", "org.au", "co.nz", "com.br", "com.cn", "co.za", "co.in",
    "com.mx", "com.tr", "co.il", "com.sg", "com.hk",
];

/// The lowercased domain of an address (`user@Example.FR` → `example.fr`), or of a bare domain.
pub(super) fn domain_of(address_or_domain: &str) -> String {
    let trimmed = address_or_domain.trim().trim_start_matches('<').trim_end_matches('>');
    let domain = trimmed.rsplit_once('@').map_or(trimmed, |(_, d)| d);
    domain.trim_end_matches('.').to_lowercase()
}

/// The organizational domain of a lowercased domain (see [`TWO_LABEL_SUFFIXES`]).
pub(super) fn organizational_domain(domain: &str) -> &str {
    let labels: Vec<&str> = domain.split('.').collect();
    let keep = match labels.len() {
        0..=2 => return domain,
        n if TWO_LABEL_SUFFIXES.contains(&labels[n - 2..].join(".").as_str()) => 3,
        _ => 2,
    };
    let cut: usize = labels[..labels.len() - keep].iter().map(|l| l.len() + 1).sum();
    &domain[cut..]
}

/// Relaxed DMARC alignment: both names share one organizational domain.
pub(super) fn aligned(domain: &str, from_domain: &str) -> bool {
    let (domain, from_domain) = (domain_of(domain), domain_of(from_domain));
    !domain.is_empty() && organizational_domain(&domain) == organizational_domain(&from_domain)
}
