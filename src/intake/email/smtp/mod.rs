//! relais's own SMTP (RFC 5321) and LMTP (RFC 2033) receiver: it listens, speaks the protocol with
//! smtp-proto's parser, offers STARTTLS, enforces the size limit and the accepted recipient domains, and
//! hands each message to the intake pipeline, answering the client only with what the pipeline decided.

mod conn;
mod session;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::intake::email::sink::{Liveness, MessageSink};

/// Connections served at once; beyond this a client gets `421` and may retry later, as SMTP clients do.
const MAX_SESSIONS: usize = 100;
/// A failing `accept` (usually out of file descriptors) is retried after this pause instead of spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(200);
/// After shutdown, sessions in the middle of a message get this long to finish before they are dropped.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// `[intake.smtp]` as the receiver uses it.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    /// Bound by `Application::build`, next to the HTTP port.
    pub listen: SocketAddr,
    /// LMTP (RFC 2033) instead of SMTP: LHLO, and one reply per recipient after DATA.
    pub lmtp: bool,
    /// Advertised as `SIZE` and enforced on both the declared `SIZE=` and the bytes actually sent.
    pub max_message_size: u64,
    /// `RCPT TO` is accepted only for these domains (case-insensitive); any other gets `550` with a reason.
    pub accept_domains: Vec<String>,
    /// The name in the greeting and the EHLO/LHLO reply.
    pub hostname: String,
    /// STARTTLS is offered when set.
    pub tls: Option<Arc<ServerConfig>>,
    /// Refuse MAIL (`530`) until the client has done STARTTLS.
    pub require_tls: bool,
    /// How long the client may take to send one command (RFC 5321 suggests 5 minutes).
    pub command_timeout: Duration,
    /// How long the client may take to send the whole message after `354`.
    pub data_timeout: Duration,
}

/// Loads a PEM certificate chain (leaf first) and private key into a rustls server config, with the
/// aws-lc-rs provider and rustls's safe default protocol versions.
pub fn tls_config(cert_pem: &Path, key_pem: &Path) -> Result<Arc<ServerConfig>, String> {
    let certs = CertificateDer::pem_file_iter(cert_pem)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("cannot read certificates from {}: {e}", cert_pem.display()))?;
    if certs.is_empty() {
        return Err(format!("no certificate in {}", cert_pem.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key_pem)
        .map_err(|e| format!("cannot read a private key from {}: {e}", key_pem.display()))?;
    let config = ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("unusable certificate or key ({}): {e}", cert_pem.display()))?;
    Ok(Arc::new(config))
}

/// What every session of one listener shares.
struct Shared {
    settings: SmtpSettings,
    sink: Arc<dyn MessageSink>,
    liveness: Liveness,
    tls: Option<TlsAcceptor>,
}

/// Serves `listener` (bound by the caller, so a taken port stops the start, and port 0 in tests is known
/// before the first client) until `shutdown`. Each accepted connection runs in its own task; a failed accept
/// is reported on `liveness`. On shutdown, idle sessions are told `421` and sessions in the middle of a
/// message may finish.
pub async fn serve(
    listener: TcpListener,
    settings: SmtpSettings,
    sink: Arc<dyn MessageSink>,
    liveness: Liveness,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    liveness.ok();
    tracing::info!(%addr, lmtp = settings.lmtp, "mail receiver listening");

    let tls = settings.tls.clone().map(TlsAcceptor::from);
    let shared = Arc::new(Shared { settings, sink, liveness, tls });
    let mut sessions = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            Some(finished) = sessions.join_next(), if !sessions.is_empty() => {
                if let Err(e) = finished {
                    tracing::error!(error = %e, "mail session task failed");
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    shared.liveness.ok();
                    if sessions.len() >= MAX_SESSIONS {
                        // Best effort and non-blocking: a full server must not wait on a slow client.
                        let _ = stream.try_write(b"421 4.7.0 Too many connections, try again later\r\n");
                        continue;
                    }
                    sessions.spawn(session::run(shared.clone(), stream, peer, shutdown.clone()));
                }
                Err(e) => {
                    shared.liveness.error(&format!("accept failed on {addr}: {e}"));
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            }
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async { while sessions.join_next().await.is_some() {} });
    if drained.await.is_err() {
        sessions.abort_all();
    }
    Ok(())
}
