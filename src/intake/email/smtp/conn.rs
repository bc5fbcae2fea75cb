//! One client connection: the plain or TLS stream, the input buffer shared by commands and message data
//! (so pipelined input is never lost), reply writing, and the STARTTLS upgrade.

use std::borrow::Cow;
use std::time::Duration;

use smtp_proto::Request;
use smtp_proto::request::receiver::{DataReceiver, DummyDataReceiver, RequestReceiver};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 16 * 1024;
/// Reply texts are cut to this many characters.
const MAX_REPLY_TEXT: usize = 200;

/// Why the conversation cannot go on.
#[derive(Debug, thiserror::Error)]
pub(super) enum Closed {
    #[error("the client closed the connection")]
    Eof,
    #[error("the client was too slow")]
    Timeout,
    #[error("connection error: {0}")]
    Io(#[from] std::io::Error),
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// The message read after `354`, unless it went over the size limit (then it was read and discarded).
pub(super) enum Data {
    Complete(Vec<u8>),
    TooLarge,
}

pub(super) struct Conn {
    /// `None` only if a STARTTLS handshake failed half-way; every later use fails.
    stream: Option<Stream>,
    buf: Vec<u8>,
    /// How much of `buf` the parsers have consumed.
    pos: usize,
    requests: RequestReceiver,
    write_timeout: Duration,
}

impl Conn {
    pub(super) fn new(stream: TcpStream, write_timeout: Duration) -> Self {
        let stream = Some(Stream::Plain(stream));
        Self { stream, buf: Vec::new(), pos: 0, requests: RequestReceiver::default(), write_timeout }
    }

    pub(super) fn is_tls(&self) -> bool {
        matches!(self.stream, Some(Stream::Tls(_)))
    }

    /// The next command, or smtp-proto's reason for not understanding it.
    pub(super) async fn next_request(
        &mut self,
        deadline: Instant,
    ) -> Result<Result<Request<String>, smtp_proto::Error>, Closed> {
        loop {
            if self.pos < self.buf.len() {
                let mut input = self.buf[self.pos..].iter();
                let parsed = self.requests.ingest(&mut input).map(Request::<Cow<'_, str>>::into_owned);
                self.pos = self.buf.len() - input.as_slice().len();
                match parsed {
                    Err(smtp_proto::Error::NeedsMoreData { .. }) => {}
                    parsed => return Ok(parsed),
                }
            }
            self.fill(deadline).await?;
        }
    }

    /// Reads the message up to the final `.` line, dot-unstuffed. Beyond `max` bytes it keeps reading to
    /// the end (so the session stays in step) without storing anything more.
    pub(super) async fn read_data(&mut self, max: u64, deadline: Instant) -> Result<Data, Closed> {
        let mut receiver = DataReceiver::new();
        let mut message = Vec::new();
        loop {
            if self.pos < self.buf.len() {
                let mut input = self.buf[self.pos..].iter();
                let done = receiver.ingest(&mut input, &mut message);
                self.pos = self.buf.len() - input.as_slice().len();
                if message.len() as u64 > max {
                    let discard = DummyDataReceiver::new_data(&receiver);
                    return self.discard_data(discard, done, deadline).await;
                }
                if done {
                    return Ok(Data::Complete(message));
                }
            }
            self.fill(deadline).await?;
        }
    }

    async fn discard_data(
        &mut self,
        mut receiver: DummyDataReceiver,
        mut done: bool,
        deadline: Instant,
    ) -> Result<Data, Closed> {
        while !done {
            self.fill(deadline).await?;
            let mut input = self.buf[self.pos..].iter();
            done = receiver.ingest(&mut input);
            self.pos = self.buf.len() - input.as_slice().len();
        }
        Ok(Data::TooLarge)
    }

    /// Replaces the consumed buffer with fresh bytes from the client.
    async fn fill(&mut self, deadline: Instant) -> Result<(), Closed> {
        self.buf.clear();
        self.pos = 0;
        self.buf.reserve(READ_CHUNK);
        let read = match self.stream.as_mut() {
            Some(Stream::Plain(s)) => tokio::time::timeout_at(deadline, s.read_buf(&mut self.buf)).await,
            Some(Stream::Tls(s)) => tokio::time::timeout_at(deadline, s.read_buf(&mut self.buf)).await,
            None => return Err(Closed::Eof),
        };
        match read {
            Err(_) => Err(Closed::Timeout),
            Ok(Ok(0)) => Err(Closed::Eof),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(Closed::Io(e)),
        }
    }

    /// Writes one single-line reply; `text` is made single-line and short whatever its origin.
    /// `esc` is the enhanced status code (RFC 2034), left out when empty.
    pub(super) async fn reply(&mut self, code: u16, esc: &str, text: &str) -> Result<(), Closed> {
        let esc = if esc.is_empty() { String::new() } else { format!("{esc} ") };
        self.write(format!("{code} {esc}{}\r\n", reply_text(text)).as_bytes()).await
    }

    /// Writes and flushes. Replies go out as soon as they are known, which RFC 2920 allows for a
    /// pipelining server: the client reads them in order either way.
    pub(super) async fn write(&mut self, bytes: &[u8]) -> Result<(), Closed> {
        let write = async {
            match self.stream.as_mut() {
                Some(Stream::Plain(s)) => s.write_all(bytes).await,
                Some(Stream::Tls(s)) => {
                    s.write_all(bytes).await?;
                    s.flush().await
                }
                None => Err(std::io::ErrorKind::NotConnected.into()),
            }
        };
        tokio::time::timeout(self.write_timeout, write).await.map_err(|_| Closed::Timeout)?.map_err(Closed::Io)
    }

    /// Upgrades to TLS after the `220` reply. Anything the client sent after STARTTLS in clear text is
    /// dropped, so no command can be injected into the encrypted session (CVE-2011-0411).
    pub(super) async fn start_tls(&mut self, acceptor: &TlsAcceptor, deadline: Instant) -> Result<(), Closed> {
        self.buf.clear();
        self.pos = 0;
        self.requests = RequestReceiver::default();
        let Some(Stream::Plain(tcp)) = self.stream.take() else {
            return Err(Closed::Io(std::io::ErrorKind::Unsupported.into()));
        };
        let tls = tokio::time::timeout_at(deadline, acceptor.accept(tcp)).await.map_err(|_| Closed::Timeout)??;
        self.stream = Some(Stream::Tls(Box::new(tls)));
        Ok(())
    }

    /// Closes politely (TLS close_notify), without waiting long for a client that does not read.
    pub(super) async fn close(mut self) {
        let shutdown = async {
            match self.stream.as_mut() {
                Some(Stream::Plain(s)) => s.shutdown().await,
                Some(Stream::Tls(s)) => s.shutdown().await,
                None => Ok(()),
            }
        };
        let _ = tokio::time::timeout(self.write_timeout, shutdown).await;
    }
}

/// One short line of printable text: a reason coming from the pipeline must not be able to break the
/// reply framing (CR/LF) or flood the client.
pub(super) fn reply_text(text: &str) -> String {
    let line: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).take(MAX_REPLY_TEXT).collect();
    let line = line.trim();
    if line.is_empty() { "-".to_owned() } else { line.to_owned() }
}
