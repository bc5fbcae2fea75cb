//! The IMAP channel: watches one mailbox, hands every message in it to the pipeline, and files it in the
//! done or rejected folder only once the pipeline has answered.

mod connect;
mod oauth2;
mod settings;

pub use oauth2::{AccessTokens, RefreshingTokens, TokenError};
pub use settings::{ImapCredentials, ImapSettings, ImapTls};

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_imap::extensions::idle::IdleResponse;
use async_imap::types::Fetch;
use futures_util::TryStreamExt;
use tokio_util::sync::CancellationToken;

use self::connect::ImapSession;
use crate::intake::email::authenticate::Arrival;
use crate::intake::email::sink::{Delivery, DeliveryResult, Liveness, MessageSink};

const MIN_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// UIDs per `UID FETCH … RFC822.SIZE`, so a crowded mailbox does not make one huge command line.
const SIZE_BATCH: usize = 500;

/// Why a session ended; the text goes to the liveness report, so it never carries a secret.
#[derive(Debug, thiserror::Error)]
enum WatchError {
    #[error("cannot connect: {0}")]
    Connect(std::io::Error),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("server refused the session: {0}")]
    Refused(String),
    #[error("login failed: {0}")]
    Login(String),
    #[error("{0} timed out")]
    Timeout(&'static str),
    #[error("IMAP: {0}")]
    Imap(#[from] async_imap::error::Error),
}

/// Runs one IMAP command (or a command and the collection of its answer) under the command timeout:
/// async-imap has no read timeout of its own, and a silent server would hang the listener forever.
async fn timed<T>(
    limit: Duration,
    what: &'static str,
    command: impl Future<Output = async_imap::error::Result<T>>,
) -> Result<T, WatchError> {
    tokio::time::timeout(limit, command).await.map_err(|_| WatchError::Timeout(what))?.map_err(WatchError::Imap)
}

/// Watches one mailbox until `shutdown`: connect, log in, process every message waiting in the folder,
/// then IDLE (or poll every `poll_interval` when the server lacks IDLE) and process again on each wake-up.
/// A message is filed only after the sink answered: accepted → done folder; refused or permanent failure
/// → rejected folder; transient failure → left in place and retried. Any error ends the session: it is
/// reported on `liveness` and the listener reconnects after a backoff of 1 s doubling to 60 s (back to
/// 1 s after a successful login). On shutdown it leaves IDLE, logs out and returns.
pub async fn watch(
    settings: ImapSettings,
    sink: Arc<dyn MessageSink>,
    liveness: Liveness,
    shutdown: CancellationToken,
) {
    let watcher = Watcher { settings: &settings, sink: sink.as_ref(), liveness: &liveness, shutdown: &shutdown };
    let mut cursor = Cursor::default();
    let mut backoff = MIN_BACKOFF;
    loop {
        let mut logged_in = false;
        match watcher.session(&mut cursor, &mut logged_in).await {
            Ok(()) => return,
            Err(error) => liveness.error(&error.to_string()),
        }
        if logged_in {
            backoff = MIN_BACKOFF;
        }
        tracing::info!(host = %settings.host, retry_in = ?backoff, "IMAP session ended; reconnecting");
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Where the listener is in the folder; kept across reconnects.
#[derive(Debug, Default)]
struct Cursor {
    uid_validity: Option<u32>,
    /// The highest UID processed under `uid_validity`.
    last_uid: u32,
}

impl Cursor {
    /// UIDs only mean something under one UIDVALIDITY: when it changes, start over (the pipeline dedupes
    /// by Message-ID, so seeing a message twice is harmless).
    fn observe(&mut self, uid_validity: Option<u32>) {
        if self.uid_validity != uid_validity {
            if self.uid_validity.is_some() {
                tracing::warn!(old = ?self.uid_validity, new = ?uid_validity, "UIDVALIDITY changed: rescanning");
            }
            *self = Cursor { uid_validity, last_uid: 0 };
        }
    }
}

/// Which messages a pass looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scan {
    /// Everything in the folder: after connecting, on timers, and while a message waits for a retry.
    All,
    /// Only UIDs above the cursor: after IDLE reported new data.
    New,
}

/// Why the listener stopped waiting.
enum Wake {
    NewData,
    Timer,
    Shutdown,
}

/// The server names of the folders and the extensions the session can use.
struct Mailbox {
    folder: String,
    done: String,
    rejected: String,
    idle: bool,
    move_: bool,
    uidplus: bool,
}

struct Watcher<'a> {
    settings: &'a ImapSettings,
    sink: &'a dyn MessageSink,
    liveness: &'a Liveness,
    shutdown: &'a CancellationToken,
}

impl Watcher<'_> {
    fn limit(&self) -> Duration {
        self.settings.command_timeout
    }

    /// One connection's life. `Ok` only on shutdown; `logged_in` tells the caller to reset the backoff.
    async fn session(&self, cursor: &mut Cursor, logged_in: &mut bool) -> Result<(), WatchError> {
        let mut session = tokio::select! {
            _ = self.shutdown.cancelled() => return Ok(()),
            session = connect::open(self.settings) => session?,
        };
        *logged_in = true;
        self.liveness.ok();
        tracing::info!(host = %self.settings.host, user = %self.settings.username, "IMAP logged in");
        let mailbox = self.prepare(&mut session).await?;
        let selected = timed(self.limit(), "SELECT", session.select(&mailbox.folder)).await?;
        cursor.observe(selected.uid_validity);
        let mut scan = Scan::All;
        loop {
            let retry_pending = self.pass(&mut session, &mailbox, cursor, scan).await?;
            self.liveness.ok();
            if self.shutdown.is_cancelled() {
                break;
            }
            let (next, wake) = if mailbox.idle {
                let wait = if retry_pending {
                    self.settings.idle_renew.min(self.settings.poll_interval)
                } else {
                    self.settings.idle_renew
                };
                self.idle(session, wait).await?
            } else {
                (session, self.sleep(self.settings.poll_interval).await)
            };
            session = next;
            scan = match wake {
                Wake::NewData if !retry_pending => Scan::New,
                Wake::NewData | Wake::Timer => Scan::All,
                Wake::Shutdown => break,
            };
        }
        if let Err(error) = timed(self.limit(), "LOGOUT", session.logout()).await {
            tracing::debug!(%error, "IMAP logout failed");
        }
        Ok(())
    }

    /// Reads the capabilities and the hierarchy delimiter, and creates the done and rejected folders.
    async fn prepare(&self, session: &mut ImapSession) -> Result<Mailbox, WatchError> {
        let caps = timed(self.limit(), "CAPABILITY", session.capabilities()).await?;
        let root = timed(self.limit(), "LIST", async {
            session.list(Some(""), Some("\"\"")).await?.try_collect::<Vec<_>>().await
        })
        .await?;
        let delimiter = root.first().and_then(|name| name.delimiter()).unwrap_or("/").to_owned();
        let server_name = |name: &str| name.replace('/', &delimiter);
        let mailbox = Mailbox {
            folder: server_name(&self.settings.folder),
            done: server_name(&self.settings.done_folder),
            rejected: server_name(&self.settings.rejected_folder),
            idle: caps.has_str("IDLE"),
            move_: caps.has_str("MOVE"),
            uidplus: caps.has_str("UIDPLUS"),
        };
        for folder in [&mailbox.done, &mailbox.rejected] {
            self.ensure_folder(session, folder).await?;
        }
        Ok(mailbox)
    }

    async fn ensure_folder(&self, session: &mut ImapSession, folder: &str) -> Result<(), WatchError> {
        let pattern = quote(folder);
        let found = timed(self.limit(), "LIST", async {
            session.list(Some(""), Some(&pattern)).await?.try_collect::<Vec<_>>().await
        })
        .await?;
        if !found.iter().any(|name| name.name() == folder) {
            timed(self.limit(), "CREATE", session.create(folder)).await?;
            tracing::info!(folder, "IMAP folder created");
        }
        Ok(())
    }

    /// Processes the folder once; returns whether a message was left for a retry.
    async fn pass(
        &self,
        session: &mut ImapSession,
        mailbox: &Mailbox,
        cursor: &mut Cursor,
        scan: Scan,
    ) -> Result<bool, WatchError> {
        let query = match scan {
            Scan::All => "ALL".to_owned(),
            Scan::New => format!("UID {}:*", cursor.last_uid.saturating_add(1)),
        };
        let found = timed(self.limit(), "UID SEARCH", session.uid_search(&query)).await?;
        // `n:*` always matches the highest UID, even when it is below n.
        let mut uids: Vec<u32> = found.into_iter().filter(|&uid| scan == Scan::All || uid > cursor.last_uid).collect();
        uids.sort_unstable();
        let sizes = self.sizes(session, &uids).await?;
        let mut retry_pending = false;
        for uid in uids {
            if self.shutdown.is_cancelled() {
                break;
            }
            // A UID without a size was expunged meanwhile by someone else.
            if let Some(&size) = sizes.get(&uid) {
                retry_pending |= self.message(session, mailbox, uid, size).await?;
            }
            cursor.last_uid = cursor.last_uid.max(uid);
        }
        Ok(retry_pending)
    }

    async fn sizes(&self, session: &mut ImapSession, uids: &[u32]) -> Result<HashMap<u32, u64>, WatchError> {
        let mut sizes = HashMap::with_capacity(uids.len());
        for batch in uids.chunks(SIZE_BATCH) {
            let set = batch.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
            let fetches = timed(self.limit(), "UID FETCH RFC822.SIZE", async {
                session.uid_fetch(&set, "(UID RFC822.SIZE)").await?.try_collect::<Vec<_>>().await
            })
            .await?;
            sizes.extend(fetches.iter().filter_map(|f| Some((f.uid?, u64::from(f.size?)))));
        }
        Ok(sizes)
    }

    /// Hands one message to the sink and files it according to the answer; returns whether it stays for a
    /// retry.
    async fn message(
        &self,
        session: &mut ImapSession,
        mailbox: &Mailbox,
        uid: u32,
        size: u64,
    ) -> Result<bool, WatchError> {
        let max = self.settings.max_message_size;
        if size > max {
            tracing::warn!(uid, size, max, "IMAP message over the size limit: rejected without reading it");
            self.file(session, mailbox, uid, &mailbox.rejected).await?;
            return Ok(false);
        }
        // BODY.PEEK leaves \Seen alone: the message is not "read" before the pipeline has it.
        let fetches = timed(self.limit(), "UID FETCH BODY", async {
            session.uid_fetch(uid.to_string(), "BODY.PEEK[]").await?.try_collect::<Vec<Fetch>>().await
        })
        .await?;
        let Some(raw) = fetches.iter().find(|f| f.uid == Some(uid)).and_then(Fetch::body) else {
            return Ok(false);
        };
        let delivery = Delivery { raw, arrival: Arrival::Relayed, recipient: &self.settings.address, channel: "imap" };
        let destination = match self.sink.deliver(delivery).await {
            DeliveryResult::Done { accepted, summary } => {
                self.liveness.delivered();
                tracing::info!(uid, accepted, %summary, "IMAP message handled");
                if accepted { &mailbox.done } else { &mailbox.rejected }
            }
            DeliveryResult::Permanent(reason) => {
                tracing::warn!(uid, %reason, "IMAP message refused for good");
                &mailbox.rejected
            }
            DeliveryResult::Transient(reason) => {
                tracing::warn!(uid, %reason, "IMAP message left for a retry");
                return Ok(true);
            }
        };
        self.file(session, mailbox, uid, destination).await?;
        Ok(false)
    }

    /// Moves one message: `UID MOVE` when offered, else copy, flag deleted and expunge (only that UID with
    /// UIDPLUS; without it a plain EXPUNGE also removes whatever else was flagged deleted).
    async fn file(&self, session: &mut ImapSession, mailbox: &Mailbox, uid: u32, to: &str) -> Result<(), WatchError> {
        let (set, limit) = (uid.to_string(), self.limit());
        if mailbox.move_ {
            return timed(limit, "UID MOVE", session.uid_mv(&set, to)).await;
        }
        timed(limit, "UID COPY", session.uid_copy(&set, to)).await?;
        timed(limit, "UID STORE", async {
            session.uid_store(&set, "+FLAGS.SILENT (\\Deleted)").await?.try_collect::<Vec<_>>().await
        })
        .await?;
        if mailbox.uidplus {
            timed(limit, "UID EXPUNGE", async { session.uid_expunge(&set).await?.try_collect::<Vec<_>>().await })
                .await?;
        } else {
            timed(limit, "EXPUNGE", async { session.expunge().await?.try_collect::<Vec<_>>().await }).await?;
        }
        Ok(())
    }

    /// IDLEs until the server reports a change, `wait` elapses or shutdown; always leaves IDLE with DONE.
    async fn idle(&self, session: ImapSession, wait: Duration) -> Result<(ImapSession, Wake), WatchError> {
        let mut handle = session.idle();
        timed(self.limit(), "IDLE", handle.init()).await?;
        let wake = {
            let (changes, _stop) = handle.wait_with_timeout(wait);
            tokio::select! {
                response = changes => match response? {
                    IdleResponse::NewData(_) => Wake::NewData,
                    IdleResponse::Timeout => Wake::Timer,
                    // Without a stop request this means the stream ended: the server went away.
                    IdleResponse::ManualInterrupt => return Err(async_imap::error::Error::ConnectionLost.into()),
                },
                // The library's own timer restarts on every "* OK Still here", so it may never fire.
                _ = tokio::time::sleep(wait) => Wake::Timer,
                _ = self.shutdown.cancelled() => Wake::Shutdown,
            }
        };
        let session = timed(self.limit(), "DONE", handle.done()).await?;
        Ok((session, wake))
    }

    async fn sleep(&self, wait: Duration) -> Wake {
        tokio::select! {
            _ = tokio::time::sleep(wait) => Wake::Timer,
            _ = self.shutdown.cancelled() => Wake::Shutdown,
        }
    }
}

/// An IMAP quoted string, for the LIST pattern (async-imap sends that argument as is).
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_uidvalidity_forgets_the_last_uid() {
        let mut cursor = Cursor::default();
        cursor.observe(Some(7));
        cursor.last_uid = 42;
        cursor.observe(Some(7));
        assert_eq!(cursor.last_uid, 42);
        cursor.observe(Some(8));
        assert_eq!((cursor.uid_validity, cursor.last_uid), (Some(8), 0));
    }

    #[test]
    fn list_patterns_are_quoted() {
        assert_eq!(quote("relais.done"), "\"relais.done\"");
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
