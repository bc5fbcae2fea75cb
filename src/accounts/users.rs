//! Console users: roles, argon2id password hashes, sign-in with throttling (per account and per address),
//! and server-side sessions whose cookie secret is stored only as its SHA-256.

use std::fmt;
use std::str::FromStr;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

use crate::domain::{EmailAddress, SenderId, UserId};
use crate::letters::files::sha256_hex;
use crate::store::{SessionRecord, Store, StoreError, UserRecord, now_ms};

/// What a console user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Read only.
    Viewer,
    /// Letters and templates of their senders: send, cancel, approve, record consents, edit templates.
    Member,
    /// Everything, every sender, users and API keys.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Member, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
            Role::Viewer => "viewer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == text.trim())
            .ok_or_else(|| format!("`{text}` is not a role (one of: admin, member, viewer)"))
    }
}

/// Failed sign-ins counted over this window (milliseconds).
pub const THROTTLE_WINDOW_MS: i64 = 15 * 60 * 1000;
/// Failed sign-ins of one account within the window before it is refused until the window passes.
pub const MAX_FAILURES_PER_ACCOUNT: i64 = 5;
/// Failed sign-ins from one address within the window.
pub const MAX_FAILURES_PER_ADDRESS: i64 = 20;
/// The shortest password accepted.
pub const MIN_PASSWORD_LENGTH: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("{0}")]
    Invalid(String),
    #[error("a user with the email {0} already exists")]
    Taken(String),
    #[error("no user {0}")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a sign-in was refused.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Wrong email or password (the same answer for both, so accounts cannot be probed).
    #[error("wrong email or password")]
    Wrong,
    /// Too many failures recently, for this account or from this address.
    #[error("too many failed attempts; try again in {minutes} minutes")]
    Throttled { minutes: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn hash_password(password: &str) -> Result<String, UserError> {
    if password.chars().count() < MIN_PASSWORD_LENGTH {
        return Err(UserError::Invalid(format!("the password must have at least {MIN_PASSWORD_LENGTH} characters")));
    }
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let salt = SaltString::encode_b64(&bytes).map_err(|e| UserError::Invalid(format!("salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| UserError::Invalid(format!("the password cannot be hashed: {e}")))
}

fn password_matches(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
}

/// A random secret of 32 bytes, URL-safe base64.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A password to show once: 20 characters from a 32-letter alphabet without look-alikes.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789AB";
    let mut bytes = [0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| ALPHABET[(*b as usize) % 32] as char).collect()
}

fn new_record(email: &str, password: &str, role: Role, senders: Vec<SenderId>) -> Result<UserRecord, UserError> {
    let email = EmailAddress::parse(email).map_err(|e| UserError::Invalid(format!("email: {}", e.message)))?;
    Ok(UserRecord {
        id: UserId::generate(),
        email: email.as_str().to_lowercase(),
        password_hash: hash_password(password)?,
        role,
        senders,
        created_at: now_ms(),
        disabled_at: None,
    })
}

/// Creates a user. The email is the sign-in name (kept lower-case).
pub async fn create_user(
    store: &Store,
    email: &str,
    password: &str,
    role: Role,
    senders: Vec<SenderId>,
) -> Result<UserRecord, UserError> {
    let user = new_record(email, password, role, senders)?;
    if !store.insert_user(&user, false).await? {
        return Err(UserError::Taken(user.email));
    }
    Ok(user)
}

/// The first admin of a new installation, with a generated password, created only while no user exists
/// (instances starting together on one PostgreSQL database make one between them).
pub async fn create_first_admin(store: &Store, email: &str) -> Result<Option<(UserRecord, String)>, UserError> {
    if !store.users().await?.is_empty() {
        return Ok(None);
    }
    let password = generate_password();
    let user = new_record(email, &password, Role::Admin, Vec::new())?;
    Ok(store.insert_user(&user, true).await?.then_some((user, password)))
}

async fn find(store: &Store, email: &str) -> Result<UserRecord, UserError> {
    store.user_by_email(&email.trim().to_lowercase()).await?.ok_or_else(|| UserError::NotFound(email.to_owned()))
}

/// Disables a user: their sessions end at once and they can no longer sign in.
pub async fn disable_user(store: &Store, email: &str) -> Result<UserRecord, UserError> {
    let user = find(store, email).await?;
    store.disable_user(&user.id, now_ms()).await?;
    Ok(user)
}

/// Sets a new password; every session of the user ends.
pub async fn reset_password(store: &Store, email: &str, password: &str) -> Result<UserRecord, UserError> {
    let user = find(store, email).await?;
    store.set_password(&user.id, &hash_password(password)?, now_ms()).await?;
    Ok(user)
}

/// A session just opened: the cookie secret exists only here and in the browser.
pub struct OpenedSession {
    pub secret: String,
    pub user: UserRecord,
}

/// Checks the password of `email` and opens a session lasting `lifetime_ms`. Failures are counted per
/// account and per client address; over the limit, sign-in is refused without checking the password.
pub async fn sign_in(
    store: &Store,
    email: &str,
    password: &str,
    client: &str,
    lifetime_ms: i64,
) -> Result<OpenedSession, SignInError> {
    let email = email.trim().to_lowercase();
    let now = now_ms();
    let since = now - THROTTLE_WINDOW_MS;
    let (account, address) = (format!("account:{email}"), format!("ip:{client}"));
    if store.login_failures(&account, since).await? >= MAX_FAILURES_PER_ACCOUNT
        || store.login_failures(&address, since).await? >= MAX_FAILURES_PER_ADDRESS
    {
        return Err(SignInError::Throttled { minutes: THROTTLE_WINDOW_MS / 60_000 });
    }
    let user = store.user_by_email(&email).await?.filter(|u| u.disabled_at.is_none());
    let Some(user) = user.filter(|u| password_matches(password, &u.password_hash)) else {
        store.record_login_failure(&[account, address], now, since).await?;
        return Err(SignInError::Wrong);
    };
    store.clear_login_failures(&account).await?;
    let secret = random_token();
    store.insert_session(&sha256_hex(secret.as_bytes()), &user.id, &random_token(), now, now + lifetime_ms).await?;
    Ok(OpenedSession { secret, user })
}

/// The live session a cookie secret opens, if any (expired, revoked or disabled ones open nothing).
pub async fn session(store: &Store, secret: &str) -> Result<Option<SessionRecord>, StoreError> {
    if secret.is_empty() || secret.len() > 128 {
        return Ok(None);
    }
    store.live_session(&sha256_hex(secret.as_bytes()), now_ms()).await
}

/// Ends a session (sign-out).
pub async fn sign_out(store: &Store, session: &SessionRecord) -> Result<(), StoreError> {
    store.revoke_session(&session.hash, now_ms()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hashed_with_argon2id_and_checked() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(password_matches("correct horse battery", &hash));
        assert!(!password_matches("wrong horse battery", &hash));
        assert!(!password_matches("anything", "not a hash"));
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(matches!(hash_password("short"), Err(UserError::Invalid(_))));
    }

    #[test]
    fn generated_passwords_are_long_and_differ() {
        let (a, b) = (generate_password(), generate_password());
        assert_eq!(a.len(), 20);
        assert_ne!(a, b);
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!("root".parse::<Role>().is_err());
    }
}
