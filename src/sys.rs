//! The OS details subwire needs beyond mio and socket2, fenced in one place (mio style).
//!
//! Called by [`crate::server::Server::adopt`] when Node hands over an accepted socket, by
//! the reactors to give freed memory back after a fan-out (`reactor/trim.rs`), and by a
//! metrics scrape for the process's file descriptors (`node/metrics.rs`).

use std::io;
use std::os::fd::{FromRawFd, RawFd};

/// Duplicates `fd` (close-on-exec) and returns the copy as a non-blocking `TcpStream`,
/// after checking that it is a connected TCP stream socket. The caller keeps, and later
/// closes, its own `fd`; the connection stays open through the copy.
pub(crate) fn dup_tcp_stream(fd: RawFd) -> io::Result<std::net::TcpStream> {
    if fd < 0 {
        return Err(io::Error::from_raw_os_error(libc::EBADF));
    }
    // SAFETY: fcntl(F_DUPFD_CLOEXEC) only reads `fd`; an invalid one fails with EBADF.
    let copy = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if copy < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `copy` is a descriptor we just created and own; the stream closes it on drop.
    let stream = unsafe { std::net::TcpStream::from_raw_fd(copy) };
    let sock = socket2::SockRef::from(&stream);
    if sock.r#type()? != socket2::Type::STREAM {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a stream socket",
        ));
    }
    stream.peer_addr()?; // a TCP socket with a peer: not a listener, pipe or UDP socket
    stream.set_nonblocking(true)?;
    Ok(stream)
}

/// Asks the C allocator to return its free pages to the OS. glibc keeps pages freed in
/// the middle of its heaps resident and never trims them by itself; `malloc_trim` releases
/// them. Elsewhere (musl, macOS) a no-op: those allocators decide on their own.
pub(crate) fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists under its own locks; it
    // may be called from any thread at any time and touches no memory of ours.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The process's open-file limit (the soft `RLIMIT_NOFILE`); `None` if unlimited or unknown.
pub(crate) fn fd_limit() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `rlimit` into the valid, exclusively borrowed `lim`.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    #[allow(clippy::unnecessary_cast)] // rlim_t is u64 on Linux, not on every target
    (rc == 0 && lim.rlim_cur != libc::RLIM_INFINITY).then_some(lim.rlim_cur as u64)
}

/// How many file descriptors the process has open (Linux; `None` elsewhere). Since Linux
/// 6.2 the size of `/proc/self/fd` is that count (one `stat`, microseconds at 19k open
/// files); older kernels report 0 there, and the directory's entries are counted instead (a
/// directory read: ~25 ms at 19k, docs/METRICS.md).
pub(crate) fn open_fds() -> Option<u64> {
    let size = std::fs::metadata("/proc/self/fd").ok()?.len();
    if size > 0 {
        return Some(size);
    }
    let dir = std::fs::read_dir("/proc/self/fd").ok()?;
    // (the directory's own descriptor, open while it is read, is one of the entries)
    Some(dir.count().saturating_sub(1) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::fd::AsRawFd;

    #[test]
    fn a_duplicate_outlives_the_original() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (original, _) = l.accept().unwrap();
        let copy = dup_tcp_stream(original.as_raw_fd()).unwrap();
        drop(original); // Node closes its handle: the connection must live on
        client.write_all(b"ping").unwrap();
        copy.set_nonblocking(false).unwrap();
        let mut buf = [0u8; 4];
        (&copy).read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ping");
    }

    #[test]
    fn open_fds_are_counted_below_the_limit() {
        let _held: Vec<_> = (0..8)
            .map(|_| std::fs::File::open("/dev/null").unwrap())
            .collect();
        let n = open_fds().unwrap();
        // (other test threads open and close files meanwhile: only bounds are certain)
        assert!(n >= 8 + 3, "the 8 files held and stdio: {n}");
        assert!(fd_limit().is_none_or(|l| l >= n));
    }

    #[test]
    fn refuses_what_is_not_a_connected_tcp_socket() {
        assert!(dup_tcp_stream(-1).is_err());
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        assert!(
            dup_tcp_stream(l.as_raw_fd()).is_err(),
            "a listener has no peer"
        );
        let u = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        assert!(dup_tcp_stream(u.as_raw_fd()).is_err(), "not a stream");
        let f = std::fs::File::open("/dev/null").unwrap();
        assert!(dup_tcp_stream(f.as_raw_fd()).is_err(), "not a socket");
    }
}
