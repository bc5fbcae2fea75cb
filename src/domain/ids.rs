//! Typed, prefixed identifiers (`ltr_…`, `key_…`): a letter id can never be passed where a job id is expected.

use serde::{Deserialize, Serialize};

/// ULIDs strictly increasing within the process, so ids created in the same millisecond still sort in
/// creation order (the list cursor relies on it).
fn next_ulid() -> ulid::Ulid {
    static GENERATOR: std::sync::Mutex<ulid::Generator> = std::sync::Mutex::new(ulid::Generator::new());
    // The generator only fails when 2^80 ids were made in one millisecond; a random one then will do.
    match GENERATOR.lock().ok().and_then(|mut g| g.generate().ok()) {
        Some(id) => id,
        None => ulid::Ulid::new(),
    }
}

macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// A new id, sortable by creation time (ULID, monotonic within this process).
            pub fn generate() -> Self {
                Self(format!("{}_{}", $prefix, next_ulid().to_string().to_ascii_lowercase()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            fn from_str(text: &str) -> Result<Self, String> {
                let body = text
                    .strip_prefix(concat!($prefix, "_"))
                    .ok_or_else(|| format!("`{text}` is not a {} id (they start with {}_)", stringify!($name), $prefix))?;
                if body.len() == 26 && ulid::Ulid::from_string(body).is_ok() {
                    Ok(Self(text.to_ascii_lowercase()))
                } else {
                    Err(format!("`{text}` is not a valid {} id", stringify!($name)))
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(text: String) -> Result<Self, String> {
                text.parse()
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

prefixed_id!(
    /// A letter, as known to API users, provider references and emails.
    LetterId, "ltr"
);
prefixed_id!(
    /// An API key (its id, not its secret).
    ApiKeyId, "key"
);
prefixed_id!(
    /// A recorded consent of a recipient to receive electronic registered letters.
    ConsentId, "cns"
);
prefixed_id!(
    /// A request to a recipient for their consent, made through a provider.
    ConsentRequestId, "cnr"
);
prefixed_id!(
    /// A queued job.
    JobId, "job"
);
prefixed_id!(
    /// An endpoint that receives a sender's signed callbacks.
    EndpointId, "cbe"
);
prefixed_id!(
    /// One callback message (the Standard Webhooks `webhook-id`, the same across retries).
    CallbackMessageId, "msg"
);
prefixed_id!(
    /// One publication of a template version (an entry of its history).
    PublicationId, "tpub"
);
prefixed_id!(
    /// One email telling a requester about their letter.
    NoticeId, "ntc"
);
prefixed_id!(
    /// A person who signs in to the web console.
    UserId, "usr"
);
prefixed_id!(
    /// One delivery of an inbound webhook (`POST /v1/hooks/{source}`).
    HookDeliveryId, "hdl"
);
prefixed_id!(
    /// One CSV import through the API (`POST /v1/imports`).
    ImportId, "imp"
);

/// A sender account, named in the configuration (`[[senders]] id = "default"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SenderId(String);

impl SenderId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SenderId {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let ok = !text.is_empty()
            && text.len() <= 64
            && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if ok { Ok(Self(text)) } else { Err(format!("`{text}` is not a sender id (letters, digits, - and _)")) }
    }
}

impl std::str::FromStr for SenderId {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        Self::try_from(text.to_owned())
    }
}

impl From<SenderId> for String {
    fn from(id: SenderId) -> String {
        id.0
    }
}

impl std::fmt::Display for SenderId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_back_and_keep_their_prefix() {
        let id = LetterId::generate();
        assert!(id.as_str().starts_with("ltr_"));
        assert_eq!(id.as_str().parse::<LetterId>().unwrap(), id);
    }

    #[test]
    fn ids_sort_in_creation_order() {
        let ids: Vec<LetterId> = (0..1000).map(|_| LetterId::generate()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn an_id_of_another_kind_is_refused() {
        let key = ApiKeyId::generate();
        assert!(key.as_str().parse::<LetterId>().is_err());
        assert!("ltr_nonsense".parse::<LetterId>().is_err());
    }
}
