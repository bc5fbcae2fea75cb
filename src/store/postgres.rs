//! PostgreSQL specifics: the migrations, connecting (with `TCP_NODELAY`), and what scale-out needs (jobs
//! claimed with SKIP LOCKED, see jobs.rs).

use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;

pub static MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

/// The pool, each connection's socket with Nagle's algorithm off.
pub async fn connect(url: &str, max_connections: u32) -> Result<AnyPool, sqlx::Error> {
    let port = server_port(url);
    AnyPoolOptions::new()
        .max_connections(max_connections)
        .after_connect(move |_, _| {
            Box::pin(async move {
                no_delay_to(port);
                Ok(())
            })
        })
        .connect(url)
        .await
}

/// The server's TCP port named by the URL (PostgreSQL's 5432 when it names none).
fn server_port(url: &str) -> u16 {
    url::Url::parse(url).ok().and_then(|u| u.port()).unwrap_or(5432)
}

/// sqlx connects over TCP without `TCP_NODELAY`. A message larger than the socket's send buffer (a batch of
/// letters whose attachments the database keeps) then goes in two writes, and the kernel holds the second
/// until the server acknowledges the first, which it delays by 40 ms: every such statement waited that long,
/// with the batch's transaction open. sqlx gives no access to its socket, so every TCP socket of the process
/// connected to the server's port gets the option (already set, or set on another connection to the same
/// server, it changes nothing). A connection over a Unix socket has nothing to set.
#[cfg(target_os = "linux")]
fn no_delay_to(port: u16) {
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else { return };
    for fd in entries.flatten().filter_map(|e| e.file_name().to_str()?.parse::<libc::c_int>().ok()) {
        if peer_port(fd) == Some(port) {
            let on: libc::c_int = 1;
            let size = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
            // SAFETY: `on` outlives the call and `size` is its size; a descriptor closed or reused meanwhile makes
            // the call fail (or set the option on another TCP socket to the same port), which is harmless.
            unsafe { libc::setsockopt(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, (&raw const on).cast(), size) };
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn no_delay_to(_port: u16) {}

/// The remote port of a connected TCP socket.
#[cfg(target_os = "linux")]
fn peer_port(fd: libc::c_int) -> Option<u16> {
    // SAFETY: an all-zero `sockaddr_storage` is valid, and `getpeername` writes at most `length` bytes into it.
    let mut address: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut length = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: as above; a descriptor that is not a connected socket makes the call fail.
    if unsafe { libc::getpeername(fd, (&raw mut address).cast(), &mut length) } != 0 {
        return None;
    }
    let port = match libc::c_int::from(address.ss_family) {
        // SAFETY: the family says which address the storage holds, and both fit in it.
        libc::AF_INET => unsafe { (*(&raw const address).cast::<libc::sockaddr_in>()).sin_port },
        libc::AF_INET6 => unsafe { (*(&raw const address).cast::<libc::sockaddr_in6>()).sin6_port },
        _ => return None,
    };
    Some(u16::from_be(port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_port_is_the_url_s_or_postgresql_s() {
        assert_eq!(server_port("postgres://postgres@127.0.0.1:6543/relais"), 6543);
        assert_eq!(server_port("postgres://postgres@db.internal/relais"), 5432);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_socket_to_the_port_gets_no_delay() {
        use std::os::fd::AsRawFd;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        assert!(!stream.nodelay().unwrap());
        assert_eq!(peer_port(stream.as_raw_fd()), Some(port));
        no_delay_to(port);
        assert!(stream.nodelay().unwrap(), "the connection to the port has TCP_NODELAY");
        let (accepted, _) = listener.accept().unwrap();
        assert_eq!(peer_port(accepted.as_raw_fd()), Some(stream.local_addr().unwrap().port()));
    }
}
