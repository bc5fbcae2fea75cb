//! What an API key may do: its scopes (`letters`, `templates`, `admin`), stored as a comma-separated list.

use std::fmt;
use std::str::FromStr;

/// One permission of an API key. `admin` implies every other scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Submit, read and cancel the sender's letters; consents, approvals, inbound email.
    Letters,
    /// Read and edit letter templates.
    Templates,
    /// Manage the sender's API keys; implies `letters` and `templates`.
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Letters, Scope::Templates, Scope::Admin];

    /// The name stored in the database and shown in the API and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Letters => "letters",
            Scope::Templates => "templates",
            Scope::Admin => "admin",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Scope::ALL
            .into_iter()
            .find(|s| s.as_str() == text.trim())
            .ok_or_else(|| format!("`{text}` is not a scope (one of: {})", Scope::ALL.map(Scope::as_str).join(", ")))
    }
}

/// The scopes of one key: a small set, never empty once parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scopes(Vec<Scope>);

impl Scopes {
    /// The set of `scopes`, sorted and without duplicates; `letters` alone when empty.
    pub fn new(scopes: impl IntoIterator<Item = Scope>) -> Self {
        let mut list: Vec<Scope> = scopes.into_iter().collect();
        list.sort();
        list.dedup();
        if list.is_empty() {
            list.push(Scope::Letters);
        }
        Scopes(list)
    }

    /// Whether a key with these scopes may act in `scope` (`admin` grants everything).
    pub fn allows(&self, scope: Scope) -> bool {
        self.0.contains(&scope) || self.0.contains(&Scope::Admin)
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }

    /// The storage form: names joined by commas (`letters,templates`).
    pub fn to_storage(&self) -> String {
        self.0.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")
    }

    /// Reads the storage form; an unknown name is an error (the row is corrupt).
    pub fn from_storage(text: &str) -> Result<Self, String> {
        let scopes = text.split(',').filter(|s| !s.trim().is_empty()).map(str::parse).collect::<Result<Vec<_>, _>>()?;
        if scopes.is_empty() {
            return Err(format!("API key scopes `{text}` are empty"));
        }
        Ok(Scopes::new(scopes))
    }
}

impl Default for Scopes {
    fn default() -> Self {
        Scopes::new([Scope::Letters])
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_storage())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_implies_every_other_scope() {
        let admin = Scopes::new([Scope::Admin]);
        assert!(Scope::ALL.into_iter().all(|s| admin.allows(s)));
        let letters = Scopes::new([Scope::Letters]);
        assert!(letters.allows(Scope::Letters));
        assert!(!letters.allows(Scope::Templates));
        assert!(!letters.allows(Scope::Admin));
    }

    #[test]
    fn scopes_round_trip_through_their_storage_names() {
        let scopes = Scopes::new([Scope::Templates, Scope::Letters, Scope::Templates]);
        assert_eq!(scopes.to_storage(), "letters,templates");
        assert_eq!(Scopes::from_storage("letters,templates").unwrap(), scopes);
        assert!(Scopes::from_storage("letters,root").is_err());
        assert!(Scopes::from_storage("").is_err());
        assert_eq!(Scopes::new([]), Scopes::default());
    }
}
