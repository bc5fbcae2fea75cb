//! Opening an authenticated IMAP session: TCP, then implicit TLS, STARTTLS or plaintext, then LOGIN or
//! AUTHENTICATE XOAUTH2. Every step runs under the command timeout.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use async_imap::imap_proto::{Response, Status};
use async_imap::{Client, Session};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::{AccessTokens, ImapCredentials, ImapSettings, ImapTls, WatchError, timed};
use crate::config::Secret;

/// Any byte stream an IMAP session can run over: plain TCP or TLS.
pub(super) trait Io: AsyncRead + AsyncWrite + Unpin + Send + Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Debug> Io for T {}

pub(super) type ImapSession = Session<Box<dyn Io>>;

/// Connects and logs in; the session is not yet in any mailbox.
pub(super) async fn open(settings: &ImapSettings) -> Result<ImapSession, WatchError> {
    let t = settings.command_timeout;
    let tcp = tokio::time::timeout(t, TcpStream::connect((settings.host.as_str(), settings.port)))
        .await
        .map_err(|_| WatchError::Timeout("connect"))?
        .map_err(WatchError::Connect)?;
    let client = match settings.tls {
        ImapTls::None => greeted(Client::new(Box::new(tcp) as Box<dyn Io>), t).await?,
        ImapTls::Tls => {
            let tls = handshake(tcp, settings, t).await?;
            greeted(Client::new(Box::new(tls) as Box<dyn Io>), t).await?
        }
        ImapTls::Starttls => {
            let mut plain = greeted(Client::new(tcp), t).await?;
            timed(t, "STARTTLS", plain.run_command_and_check_ok("STARTTLS", None)).await?;
            // The server says nothing more in plaintext after its OK, so no buffered bytes are lost here.
            let tls = handshake(plain.into_inner(), settings, t).await?;
            Client::new(Box::new(tls) as Box<dyn Io>)
        }
    };
    login(client, settings).await
}

/// Reads the server greeting, which must come before any command.
async fn greeted<T: Io>(mut client: Client<T>, t: Duration) -> Result<Client<T>, WatchError> {
    let greeting = tokio::time::timeout(t, client.read_response())
        .await
        .map_err(|_| WatchError::Timeout("greeting"))?
        .map_err(|e| WatchError::Imap(e.into()))?
        .ok_or(WatchError::Imap(async_imap::error::Error::ConnectionLost))?;
    match greeting.parsed() {
        Response::Data { status: Status::Ok | Status::PreAuth, .. } => Ok(client),
        Response::Data { outcome, .. } => {
            Err(WatchError::Refused(outcome.information.as_deref().unwrap_or("no greeting").to_owned()))
        }
        _ => Err(WatchError::Refused("unexpected greeting".to_owned())),
    }
}

async fn handshake(
    tcp: TcpStream,
    settings: &ImapSettings,
    t: Duration,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, WatchError> {
    let host = settings.host.as_str();
    let tls_err = |e: &dyn std::fmt::Display| WatchError::Tls(e.to_string());
    let roots = match &settings.tls_ca_file {
        Some(file) => private_roots(file).map_err(WatchError::Tls)?,
        None => rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() },
    };
    // The provider is named explicitly so this works whether or not a process-wide default is installed.
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err(&e))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_owned()).map_err(|e| tls_err(&e))?;
    tokio::time::timeout(t, TlsConnector::from(Arc::new(config)).connect(name, tcp))
        .await
        .map_err(|_| WatchError::Timeout("TLS handshake"))?
        .map_err(|e| tls_err(&e))
}

/// The certificates of `tls_ca_file`, the only roots trusted for this mailbox.
fn private_roots(file: &std::path::Path) -> Result<rustls::RootCertStore, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(file)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("cannot read tls_ca_file {}: {e}", file.display()))?;
    for cert in certs {
        roots.add(cert).map_err(|e| format!("unusable certificate in tls_ca_file {}: {e}", file.display()))?;
    }
    if roots.is_empty() {
        return Err(format!("no certificate in tls_ca_file {}", file.display()));
    }
    Ok(roots)
}

async fn login(client: Client<Box<dyn Io>>, settings: &ImapSettings) -> Result<ImapSession, WatchError> {
    let user = settings.username.as_str();
    let (secret, tokens) = match &settings.credentials {
        ImapCredentials::Password(password) => (password.clone(), None),
        ImapCredentials::OAuth2(tokens) => {
            let token = timed_token(settings.command_timeout, tokens).await?;
            (token, Some(tokens))
        }
    };
    let attempt = async {
        if tokens.is_some() {
            let auth = XOAuth2 { user, token: secret.expose(), sent: false };
            client.authenticate("XOAUTH2", auth).await
        } else {
            client.login(user, secret.expose()).await
        }
    };
    match tokio::time::timeout(settings.command_timeout, attempt).await {
        Err(_) => Err(WatchError::Timeout("login")),
        Ok(Ok(session)) => Ok(session),
        // A validation error would quote the offending input: say what happened without the secret.
        Ok(Err((async_imap::error::Error::Validate(_), _))) => {
            Err(WatchError::Login("credentials contain a line break".to_owned()))
        }
        Ok(Err((e, _))) => {
            if let Some(tokens) = tokens {
                // The token may have been revoked before its announced expiry: the next attempt refreshes.
                tokens.rejected().await;
            }
            Err(WatchError::Login(e.to_string()))
        }
    }
}

/// An access token, under the command timeout (a token endpoint may hang as any server can).
async fn timed_token(limit: Duration, tokens: &AccessTokens) -> Result<Secret, WatchError> {
    match tokio::time::timeout(limit, tokens.current()).await {
        Err(_) => Err(WatchError::Timeout("OAuth2 token refresh")),
        Ok(result) => result.map_err(|e| WatchError::Login(e.to_string())),
    }
}

/// SASL XOAUTH2: the token goes in the first answer; a failure comes back as a challenge carrying an
/// error document, which must be answered empty so the server ends the exchange with NO.
struct XOAuth2<'a> {
    user: &'a str,
    token: &'a str,
    sent: bool,
}

impl async_imap::Authenticator for XOAuth2<'_> {
    type Response = String;

    fn process(&mut self, _challenge: &[u8]) -> String {
        if std::mem::replace(&mut self.sent, true) {
            return String::new();
        }
        format!("user={}\x01auth=Bearer {}\x01\x01", self.user, self.token)
    }
}
