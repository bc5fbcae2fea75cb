//! The console's words in French (the default) and English: chosen by the `relais_lang` cookie (the switch
//! in the page footer), else by `Accept-Language`.

use axum::http::HeaderMap;

use crate::domain::LetterState;

pub const LANG_COOKIE: &str = "relais_lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Fr,
    En,
}

impl Lang {
    pub fn of(headers: &HeaderMap) -> Lang {
        match super::session::cookie(headers, LANG_COOKIE) {
            Some("en") => return Lang::En,
            Some("fr") => return Lang::Fr,
            _ => {}
        }
        let accept = headers.get(axum::http::header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let first = accept
            .split(',')
            .map(|t| t.trim().to_ascii_lowercase())
            .find(|t| t.starts_with("en") || t.starts_with("fr"));
        if first.is_some_and(|t| t.starts_with("en")) { Lang::En } else { Lang::Fr }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }

    /// The word for `key`; the key itself when it has none (a test keeps every key used in the table).
    pub fn t(self, key: &str) -> &'static str {
        match WORDS.iter().find(|(k, _, _)| *k == key) {
            Some((_, fr, en)) => match self {
                Lang::Fr => fr,
                Lang::En => en,
            },
            None => "?",
        }
    }

    /// A letter state in words.
    pub fn state(self, state: LetterState) -> &'static str {
        self.t(state.as_str())
    }

    /// A date and time in the person's language (UTC+1/+2 are the senders' zone: Europe/Paris).
    pub fn datetime(self, ms: i64) -> String {
        use chrono::TimeZone;
        let Some(at) = chrono::Utc.timestamp_millis_opt(ms).single() else { return String::new() };
        let at = at.with_timezone(&chrono_tz::Europe::Paris);
        match self {
            Lang::Fr => at.format("%d/%m/%Y %H:%M").to_string(),
            Lang::En => at.format("%Y-%m-%d %H:%M").to_string(),
        }
    }

    /// Euros from cents: "3,49 €" or "€3.49".
    pub fn money(self, cents: i64) -> String {
        let (units, rest) = (cents / 100, (cents % 100).abs());
        match self {
            Lang::Fr => format!("{units},{rest:02} €"),
            Lang::En => format!("€{units}.{rest:02}"),
        }
    }
}

/// (key, French, English).
const WORDS: &[(&str, &str, &str)] = &[
    ("app", "relais — console", "relais — console"),
    ("dashboard", "Tableau de bord", "Dashboard"),
    ("letters", "Lettres", "Letters"),
    ("new_letter", "Nouvelle lettre", "New letter"),
    ("approvals", "Validations", "Approvals"),
    ("consents", "Consentements", "Consents"),
    ("templates", "Modèles", "Templates"),
    ("api_keys", "Clés d'API", "API keys"),
    ("users", "Utilisateurs", "Users"),
    ("senders", "Expéditeurs", "Senders"),
    ("sign_in", "Se connecter", "Sign in"),
    ("sign_out", "Se déconnecter", "Sign out"),
    ("email", "Adresse e-mail", "Email"),
    ("password", "Mot de passe", "Password"),
    ("signed_in_as", "Connecté :", "Signed in:"),
    ("today", "Aujourd'hui", "Today"),
    ("this_month", "Ce mois-ci", "This month"),
    ("needs_person", "À traiter", "Needs a person"),
    ("failed_notices", "Avis e-mail non envoyés", "Notice emails not sent"),
    ("spend_month", "Dépenses du mois par expéditeur", "Spend this month per sender"),
    ("health", "État du service", "Health"),
    ("nothing", "Rien", "Nothing"),
    ("all_good", "Rien à traiter.", "Nothing needs a person."),
    ("database_up", "La base de données répond.", "The database answers."),
    ("database_down", "La base de données ne répond pas.", "The database does not answer."),
    ("channel_up", "fonctionne", "is up"),
    ("channel_down", "ne répond plus", "is down"),
    ("providers_used", "Prestataires configurés :", "Configured providers:"),
    ("jobs_failed", "tâches abandonnées", "jobs given up"),
    ("no_channels", "Aucune boîte de réception e-mail n'est configurée.", "No inbound email channel is configured."),
    ("state", "État", "State"),
    ("sender", "Expéditeur", "Sender"),
    ("template", "Modèle", "Template"),
    ("reference", "Référence", "Reference"),
    ("recipient", "Destinataire", "Recipient"),
    ("search", "Rechercher", "Search"),
    ("search_hint", "référence, nom ou e-mail", "reference, name or email"),
    ("from", "Du", "From"),
    ("to", "Au", "To"),
    ("any", "Tous", "Any"),
    ("created", "Créée", "Created"),
    ("cost", "Coût", "Cost"),
    ("previous", "Précédentes", "Previous"),
    ("next", "Suivantes", "Next"),
    ("no_letters", "Aucune lettre ne correspond.", "No letter matches."),
    ("version", "Version", "Version"),
    ("document", "Lettre", "Letter"),
    ("download", "Télécharger", "Download"),
    ("attachments", "Pièces jointes", "Attachments"),
    ("proofs", "Preuves", "Proofs"),
    ("no_proofs", "Pas encore de preuve.", "No proof yet."),
    ("timeline", "Historique", "Timeline"),
    ("chain_ok", "Chaîne d'événements vérifiée", "Event chain verified"),
    ("chain_broken", "Chaîne d'événements rompue", "Event chain broken"),
    ("notices", "Avis envoyés", "Notices sent"),
    ("no_notices", "Aucun avis.", "No notice."),
    ("cancel", "Annuler la lettre", "Cancel the letter"),
    ("cancel_confirm", "Annuler cette lettre ? Elle ne partira pas.", "Cancel this letter? It will not be sent."),
    ("cancelled_done", "La lettre est annulée.", "The letter is cancelled."),
    ("not_rendered", "La lettre n'est pas encore mise en page.", "The letter is not laid out yet."),
    ("provider", "Prestataire", "Provider"),
    ("detail", "Détail", "Detail"),
    ("at", "Le", "At"),
    ("kind", "Type", "Kind"),
    ("size", "Taille", "Size"),
    ("lang_switch", "English", "Français"),
    ("error", "Erreur", "Error"),
    ("back", "Retour", "Back"),
    ("forbidden", "Votre rôle ne permet pas cette action.", "Your role does not allow this action."),
    ("not_found", "Cette page n'existe pas.", "This page does not exist."),
    (
        "csrf",
        "Le formulaire a expiré ; rechargez la page et recommencez.",
        "The form expired; reload the page and try again.",
    ),
    ("signed_out", "Votre session a expiré ; reconnectez-vous.", "Your session expired; sign in again."),
    (
        "internal",
        "Une erreur est survenue ; elle est consignée dans le journal.",
        "Something went wrong; it is in the log.",
    ),
    ("role", "Rôle", "Role"),
    ("role_admin", "administrateur", "admin"),
    ("role_member", "membre", "member"),
    ("role_viewer", "lecture seule", "viewer"),
    ("title", "Titre", "Title"),
    ("draft", "brouillon", "draft"),
    ("email_templates", "Modèles des e-mails", "Email templates"),
    ("template_text", "Texte du modèle", "Template text"),
    ("line", "ligne", "line"),
    ("save_draft", "Enregistrer le brouillon", "Save draft"),
    ("comment", "Commentaire", "Comment"),
    ("publish_draft", "Publier le brouillon", "Publish the draft"),
    ("preview", "Aperçu", "Preview"),
    ("data_from", "Données de l'aperçu", "Preview data"),
    ("example_data", "Données d'exemple du modèle", "The template's example data"),
    ("data", "Valeurs (JSON)", "Values (JSON)"),
    (
        "no_live_preview",
        "Pas d'aperçu pour les modèles d'e-mail ; les problèmes sont vérifiés.",
        "No preview for email templates; problems are checked.",
    ),
    ("history", "Historique des versions", "Version history"),
    ("by", "Par", "By"),
    ("current", "en service", "current"),
    ("diff", "Différences", "Diff"),
    (
        "diff_draft",
        "Différences entre la version publiée et le brouillon",
        "Diff between the published version and the draft",
    ),
    ("rollback", "Revenir à cette version", "Roll back to this version"),
    ("no_difference", "Aucune différence.", "No difference."),
    ("draft_saved", "Brouillon enregistré.", "Draft saved."),
    ("published", "Version publiée : les nouvelles lettres l'utilisent.", "Version published: new letters use it."),
    (
        "not_publishable",
        "Le brouillon a des problèmes : corrigez-les avant de publier.",
        "The draft has problems: fix them before publishing.",
    ),
    (
        "no_draft",
        "Aucun brouillon à publier : enregistrez d'abord le brouillon.",
        "No draft to publish: save the draft first.",
    ),
    ("rolled_back", "Version précédente remise en service.", "Earlier version made current again."),
    ("no_qualified", "Aucun expéditeur qualifié : rien à valider.", "No qualified sender: nothing to approve."),
    ("none_waiting", "Aucune lettre en attente.", "No letter waiting."),
    (
        "waiting_for_code",
        "lettre(s) attendent le code à usage unique de l'expéditeur.",
        "letter(s) wait for the sender's one-time code.",
    ),
    ("one_time_code", "Code à usage unique (6 chiffres)", "One-time code (6 digits)"),
    ("approve", "Valider et envoyer", "Approve and send"),
    ("consents_of", "Consentements de", "Consents of"),
    ("no_consent", "Aucun consentement enregistré.", "No consent recorded."),
    ("withdrawn", "retiré le", "withdrawn"),
    ("withdraw", "Retirer", "Withdraw"),
    ("withdraw_confirm", "Retirer ce consentement ?", "Withdraw this consent?"),
    ("waiting_letters", "Lettres en attente de ce consentement", "Letters waiting for this consent"),
    ("record_consent", "Enregistrer un consentement", "Record a consent"),
    ("given_at", "Date du consentement", "Given on"),
    ("consent_source", "Comment il a été obtenu", "How it was obtained"),
    ("consent_source_hint", "formulaire signé le 2 novembre", "signed form of 2 November"),
    ("proof_file", "Justificatif (fichier)", "Proof (file)"),
    ("record", "Enregistrer", "Record"),
    (
        "key_shown_once",
        "Voici la nouvelle clé. Copiez-la maintenant : elle ne sera plus jamais affichée.",
        "Here is the new key. Copy it now: it will never be shown again.",
    ),
    ("key", "Clé", "Key"),
    ("scopes", "Droits", "Scopes"),
    ("last_used", "Dernier usage", "Last used"),
    ("revoke", "Révoquer", "Revoke"),
    (
        "revoke_confirm",
        "Révoquer cette clé ? Elle sera refusée immédiatement.",
        "Revoke this key? It is refused at once.",
    ),
    ("revoked", "révoquée le", "revoked"),
    ("new_key", "Nouvelle clé", "New key"),
    ("label", "Libellé", "Label"),
    ("create", "Créer", "Create"),
    ("all_senders", "tous les expéditeurs", "every sender"),
    ("disabled", "désactivé", "disabled"),
    ("disable", "Désactiver", "Disable"),
    (
        "disable_confirm",
        "Désactiver cette personne ? Ses sessions prennent fin.",
        "Disable this person? Their sessions end.",
    ),
    ("new_user", "Nouvel utilisateur", "New user"),
    (
        "senders_from_config",
        "Les expéditeurs viennent du fichier de configuration ([[senders]]).",
        "Senders come from the configuration file ([[senders]]).",
    ),
    ("service", "Service", "Service"),
    ("provider_link", "Compte chez le prestataire", "Provider account"),
    ("linked", "relié", "linked"),
    ("not_linked", "à relier (relais sender link)", "to link (relais sender link)"),
    ("choose", "Choisir", "Choose"),
    ("letter_data", "Contenu de la lettre", "Letter content"),
    ("notify_email", "E-mail pour les avis (facultatif)", "Email for notices (optional)"),
    ("professional", "professionnel", "professional"),
    ("individual", "particulier", "individual"),
    ("first_name", "Prénom", "First name"),
    ("last_name", "Nom", "Last name"),
    ("company", "Société", "Company"),
    ("address_line", "Adresse (une ligne par ligne)", "Address (line by line)"),
    ("postal_code", "Code postal", "Postal code"),
    ("city", "Ville", "City"),
    ("country", "Pays (FR par défaut)", "Country (FR by default)"),
    ("send", "Envoyer la lettre", "Send the letter"),
    ("add_files", "Joindre des fichiers", "Attach files"),
    (
        "files_kept",
        "Ces fichiers sont gardés : inutile de les choisir à nouveau.",
        "These files are kept: no need to choose them again.",
    ),
    ("remove_file", "Retirer", "Remove"),
    (
        "files_expired",
        "Les fichiers choisis plus tôt ne sont plus là (plus d'une heure sans envoi) : choisissez-les de nouveau.",
        "The files chosen earlier are gone (over an hour without sending): choose them again.",
    ),
    (
        "retry",
        "Relancer maintenant (vérifié auprès du prestataire d'abord)",
        "Move on now (checked with the provider first)",
    ),
    ("resend", "Renvoyer", "Send again"),
    ("approve_this", "Valider et envoyer cette lettre", "Approve and send this letter"),
    (
        "approve_hint",
        "Cette lettre attend le code à usage unique que le prestataire a envoyé à l'expéditeur.",
        "This letter waits for the one-time code the provider sent to the sender.",
    ),
    ("approved_done", "Validée : la lettre part chez le prestataire.", "Approved: the letter goes to the provider."),
    ("not_waiting", "Cette lettre n'attendait plus de validation.", "This letter was no longer waiting for approval."),
    // States, by their API names.
    ("received", "reçue", "received"),
    ("ready", "prête", "ready"),
    ("awaiting_consent", "attend le consentement", "awaiting consent"),
    ("awaiting_approval", "attend la validation", "awaiting approval"),
    ("queued", "en file", "queued"),
    ("submitting", "en cours d'envoi", "submitting"),
    ("deposited", "déposée", "deposited"),
    ("delivered", "remise", "delivered"),
    ("refused", "refusée", "refused"),
    ("not_claimed", "non réclamée", "not claimed"),
    ("bounced", "adresse invalide", "bounced"),
    ("failed", "échouée", "failed"),
    ("cancelled", "annulée", "cancelled"),
    ("needs_attention", "à vérifier", "needs attention"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_has_words() {
        for state in LetterState::ALL {
            assert_ne!(Lang::Fr.state(state), "?", "{state:?}");
        }
    }

    #[test]
    fn english_is_chosen_by_accept_language_or_the_cookie() {
        let mut headers = HeaderMap::new();
        assert_eq!(Lang::of(&headers), Lang::Fr);
        headers.insert("accept-language", "en-GB,en;q=0.9,fr;q=0.5".parse().unwrap());
        assert_eq!(Lang::of(&headers), Lang::En);
        headers.insert("cookie", "relais_lang=fr".parse().unwrap());
        assert_eq!(Lang::of(&headers), Lang::Fr);
    }

    #[test]
    fn money_is_written_the_local_way() {
        assert_eq!(Lang::Fr.money(349), "3,49 €");
        assert_eq!(Lang::En.money(1205), "€12.05");
    }
}
