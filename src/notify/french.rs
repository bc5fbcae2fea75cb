//! The state details relais writes (in English, for the API and the timeline) as French sentences for the
//! French notices; a detail relais did not write (a provider's own words) is passed on as it is.

/// The French sentence for a detail written by relais, or the detail unchanged.
pub fn detail_in_french(detail: &str) -> String {
    translate(detail).unwrap_or_else(|| detail.to_owned())
}

fn translate(detail: &str) -> Option<String> {
    if detail == "cancelled by the requester" {
        return Some("annulée à la demande du demandeur".into());
    }
    for (english, french) in [("cancelled by ", "annulée par "), ("sent by ", "envoyée par ")] {
        if let Some(who) = detail.strip_prefix(english) {
            return Some(format!("{french}{who}"));
        }
    }
    if let Some(who) =
        detail.strip_prefix("approved by ").and_then(|r| r.strip_suffix(" with the sender's one-time code"))
    {
        return Some(format!("validée par {who} avec le code à usage unique de l'expéditeur"));
    }
    if let Some((consent, rest)) = detail.strip_prefix("consent ").and_then(|r| r.split_once(" recorded by ")) {
        let (who, email) = rest.rsplit_once(" for ")?;
        return Some(format!("consentement {consent} enregistré par {who} pour {email}"));
    }
    if let Some((consent, email)) = detail.strip_prefix("consent ").and_then(|r| r.split_once(" recorded for ")) {
        return Some(format!("consentement {consent} enregistré pour {email}"));
    }
    if let Some(rest) = detail.strip_prefix("the recipient is an individual: ") {
        let email = rest.split_whitespace().next()?;
        let paper = rest
            .split_once("; without it by ")
            .and_then(|(_, r)| r.split_once(", the letter leaves as a paper registered letter through "));
        let then = paper
            .map(|(by, through)| {
                format!(" ; sans consentement au {by}, la lettre part en recommandé papier par {through}")
            })
            .unwrap_or_default();
        return Some(format!(
            "le destinataire est un particulier : {email} doit avoir accepté de recevoir des lettres recommandées \
             électroniques de cet expéditeur (CPCE art. L.100) ; enregistrez son consentement dans la console, page « Consentements »{then}"
        ));
    }
    if let Some(rest) =
        detail.strip_prefix("sent as a paper registered letter with acknowledgement of receipt through ")
    {
        let (through, reason) = rest.split_once(", not electronically: ")?;
        return Some(format!(
            "envoyée en lettre recommandée papier avec accusé de réception par {through}, et non par voie \
             électronique : {}",
            paper_reason(reason)
        ));
    }
    if let Some(rest) = detail.strip_prefix("no consent of ") {
        let (email, waited) = rest.split_once(" was recorded within ")?;
        return Some(format!("aucun consentement de {email} n'a été enregistré dans le délai de {waited}"));
    }
    if let Some(rest) =
        detail.strip_prefix("a qualified letter leaves once the sender approves with their one-time code: ")
    {
        let waiting = rest.rsplit("; ").next()?.split_whitespace().next()?;
        return Some(format!(
            "une lettre qualifiée part dès que l'expéditeur l'approuve avec son code à usage unique : dans la \
             console, page « Validations », saisissez le code et cliquez sur « Valider et envoyer » ; {waiting} \
             lettre(s) de cet expéditeur l'attendent"
        ));
    }
    if let Some(rest) = detail.strip_prefix("the outcome of the send is unknown (") {
        let cause = rest.strip_suffix("); it will not be sent again until reconciled")?;
        return Some(format!(
            "le résultat de l'envoi est inconnu ({cause}) ; la lettre ne sera pas renvoyée tant que le prestataire \
             n'a pas dit ce qu'il a reçu"
        ));
    }
    let prefixes = [
        ("not sent: ", "non envoyée : "),
        ("the letter could not be rendered: ", "la lettre n'a pas pu être mise en page : "),
        (
            "the template version of this letter cannot be loaded: ",
            "la version du modèle de cette lettre est introuvable : ",
        ),
        (
            "the provider reports a status this relais does not know: ",
            "le prestataire indique un statut inconnu de relais : ",
        ),
    ];
    for (english, french) in prefixes {
        if let Some(rest) = detail.strip_prefix(english) {
            return Some(format!("{french}{rest}"));
        }
    }
    match detail {
        "no outcome from the provider 16 days after deposit: check the letter at the provider" => Some(
            "aucun résultat du prestataire 16 jours après le dépôt : vérifiez la lettre chez le prestataire".into(),
        ),
        "the provider has no letter with this reference: handing it over again" => {
            Some("le prestataire n'a aucune lettre sous cette référence : elle lui est confiée de nouveau".into())
        }
        _ => None,
    }
}

/// Why a letter went on paper (the reasons `letters::fallback` writes).
fn paper_reason(reason: &str) -> String {
    if reason == "the recipient has no email address" {
        return "le destinataire n'a pas d'adresse email".into();
    }
    let individual = reason.strip_prefix("the recipient is an individual and ").and_then(|rest| {
        let (email, rest) = rest.split_once(" has not consented to electronic registered letters")?;
        let within = rest.strip_prefix(" within ").map(|w| format!(" dans le délai de {w}")).unwrap_or_default();
        Some(format!(
            "le destinataire est un particulier et {email} n'a pas consenti aux lettres recommandées électroniques{within}"
        ))
    });
    individual.or_else(|| declined(reason)).unwrap_or_else(|| reason.to_owned())
}

/// A consent request the recipient refused or let expire (the reasons `letters::consent_requests` writes).
fn declined(reason: &str) -> Option<String> {
    if let Some((email, rest)) = reason.split_once(" refused the consent request ") {
        let (request, provider) = rest.split_once(" made through ")?;
        return Some(format!("{email} a refusé la demande de consentement {request} faite par {provider}"));
    }
    let (email, rest) = reason.split_once(" let the consent request ")?;
    let (request, provider) = rest.strip_suffix(" expire")?.split_once(" made through ")?;
    Some(format!("{email} n'a pas répondu à temps à la demande de consentement {request} faite par {provider}"))
}

#[cfg(test)]
mod tests {
    use super::detail_in_french;

    #[test]
    fn the_details_relais_writes_read_in_french() {
        assert_eq!(detail_in_french("cancelled by the requester"), "annulée à la demande du demandeur");
        assert_eq!(detail_in_french("cancelled by claire@cabinet.fr"), "annulée par claire@cabinet.fr");
        assert_eq!(detail_in_french("sent by claire@cabinet.fr"), "envoyée par claire@cabinet.fr");
        assert_eq!(
            detail_in_french("approved by claire@cabinet.fr with the sender's one-time code"),
            "validée par claire@cabinet.fr avec le code à usage unique de l'expéditeur"
        );
        assert_eq!(
            detail_in_french("consent cns_1 recorded by claire@cabinet.fr for jean@example.fr"),
            "consentement cns_1 enregistré par claire@cabinet.fr pour jean@example.fr"
        );
        let consent = detail_in_french(
            "the recipient is an individual: jean@example.fr must have consented to receive electronic registered \
             letters from this sender (CPCE art. L.100); record the consent with POST /v1/consents",
        );
        assert!(consent.starts_with("le destinataire est un particulier : jean@example.fr doit"), "{consent}");
        let approval = detail_in_french(
            "a qualified letter leaves once the sender approves with their one-time code: POST \
             /v1/senders/default/approvals (or `relais sender approve`); 3 letter(s) of this sender wait for it",
        );
        assert!(approval.contains("3 lettre(s) de cet expéditeur"), "{approval}");
        assert_eq!(
            detail_in_french("consent cns_1 recorded for jean@example.fr"),
            "consentement cns_1 enregistré pour jean@example.fr"
        );
        let through = "sent as a paper registered letter with acknowledgement of receipt through maileva, not \
                       electronically: ";
        assert_eq!(
            detail_in_french(&format!(
                "{through}jean@example.fr refused the consent request cnr_1 made through maileva"
            )),
            "envoyée en lettre recommandée papier avec accusé de réception par maileva, et non par voie électronique \
             : jean@example.fr a refusé la demande de consentement cnr_1 faite par maileva"
        );
        let expired = detail_in_french(&format!(
            "{through}jean@example.fr let the consent request cnr_1 made through maileva expire"
        ));
        assert!(
            expired.ends_with(
                "jean@example.fr n'a pas répondu à temps à la demande de consentement cnr_1 faite par maileva"
            ),
            "{expired}"
        );
        assert_eq!(detail_in_french("not sent: the address is invalid"), "non envoyée : the address is invalid");
        assert_eq!(detail_in_french("AR24 status: refused"), "AR24 status: refused", "a provider's words pass");
        let paper = detail_in_french(
            "sent as a paper registered letter with acknowledgement of receipt through maileva, not electronically: \
             the recipient is an individual and jean@example.fr has not consented to electronic registered letters \
             within 7days",
        );
        assert!(
            paper.starts_with("envoyée en lettre recommandée papier") && paper.ends_with("dans le délai de 7days"),
            "{paper}"
        );
        let waiting = detail_in_french(
            "the recipient is an individual: jean@example.fr must have consented to receive electronic registered \
             letters from this sender (CPCE art. L.100); record the consent with POST /v1/consents; without it by \
             2026-12-11T10:00:00Z, the letter leaves as a paper registered letter through maileva",
        );
        assert!(
            waiting.ends_with("au 2026-12-11T10:00:00Z, la lettre part en recommandé papier par maileva"),
            "{waiting}"
        );
    }
}
