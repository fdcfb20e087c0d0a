//! How the harness's paced writes reach a peer: a [`Pacer`] keeps each
//! sync frame and octet-wise chop apart, for the engine's frames and the
//! opening handshakes ([`write_paced`]) alike, by seeing whether a peer on
//! this machine has read the bytes the harness wrote.
//!
//! A frame a case marks "sync" and an octet-wise chop test how a peer copes
//! with a stream cut at that point, so each must reach the peer as its own
//! read (docs/verdict-rules.md, D7). A pause after each write makes that
//! likely, not certain: a peer that gets no CPU for the whole pause reads two
//! pieces at once, and its verdict changes with the machine's load (3.3,
//! 4.1.5, 4.2.5 on Python `websockets` at `--jobs 32` beside a CPU hog).
//!
//! On Linux the kernel shows both ends of a loopback connection through
//! sock_diag(7), asked for one socket by its addresses: for the harness's
//! end `idiag_wqueue`, the bytes written and not yet acknowledged, and for
//! the peer's end `idiag_rqueue`, the bytes received and not yet read by
//! the peer. When the peer's end holds no unread byte, and either the
//! harness's end has nothing unacknowledged or the bytes were seen waiting
//! before, the peer has read everything written so far. A peer elsewhere,
//! in another network namespace or on another system cannot be seen: the
//! writer then falls back to the pause alone.
//!
//! The lookup is by address, so its cost does not grow with the number of
//! sockets on the machine: `/proc/net/tcp`, which shows the same queues,
//! lists every socket, and after a few thousand short connections (each
//! in TIME_WAIT for a minute) reading it every millisecond was itself the
//! load that made cases late.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{sleep_until, Instant};
use wsconform_cases::Write;

/// How often the kernel is asked while waiting.
const POLL: Duration = Duration::from_millis(1);

/// The two ends of a TCP connection to a peer on the loopback interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    local: SocketAddr,
    peer: SocketAddr,
}

impl Link {
    /// The link of `tcp`, when its peer is on the loopback interface of a
    /// system whose kernel shows it (Linux).
    pub fn of(tcp: &TcpStream) -> Option<Link> {
        let local = canonical(tcp.local_addr().ok()?);
        let peer = canonical(tcp.peer_addr().ok()?);
        (cfg!(target_os = "linux") && peer.ip().is_loopback()).then_some(Link { local, peer })
    }

    /// Waits until the peer has read every byte written so far, at most
    /// `limit`. False when that could not be seen: the peer's end is not
    /// shown, or it did not read in time (a peer that has stopped reading).
    /// A peer's end that is gone (closed) reads nothing more: true.
    pub async fn until_read(&self, limit: Duration) -> bool {
        let start = Instant::now();
        let mut seen_waiting = false;
        let Some(mut kernel) = Kernel::open() else {
            return false;
        };
        loop {
            match kernel.ends(self) {
                Ends::Unseen => return false,
                Ends::Gone => return true,
                Ends::Seen { unacked, unread } if unread == 0 && (unacked == 0 || seen_waiting) => {
                    return true
                }
                Ends::Seen { unread, .. } => seen_waiting |= unread > 0,
            }
            if start.elapsed() >= limit {
                return false;
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

/// The pause after the peer read an octet-wise chop.
const PACE: Duration = Duration::from_millis(1);
/// The pause after the peer read a frame written on its own ("sync"): long
/// enough for it to have handled the frame, its echo included, before the
/// next one arrives, even with the machine busy (measured:
/// scripts/verdict-stability.sh).
const FRAME_PACE: Duration = Duration::from_millis(10);
/// How long the writer waits for a peer to read a paced piece before it
/// stops waiting for that peer's reads ([`Pacer`]).
const READ_WAIT: Duration = Duration::from_secs(1);
/// Chops of at least this size are a bulk transfer, not a test of how the
/// peer reassembles a cut stream, and are not paced by a timer.
const BULK_CHOP: usize = 64;

/// Keeps apart what must reach the peer as separate reads: frame-wise and
/// octet-wise chops test how a peer copes with a stream cut at every frame
/// or byte, on a busy machine too. Autobahn's pause (a 10 µs `callLater`)
/// is shorter than its own reactor turn, so its "sync" frames often leave
/// together (docs/verdict-rules.md, W2 and D7).
#[derive(Debug)]
pub struct Pacer {
    /// Where the peer's reads are seen; `None` once they cannot be.
    link: Option<Link>,
    /// What is owed before the next write.
    owed: Option<Owed>,
}

/// The wait a paced piece leaves for the next write: `pause` from the
/// peer's read of it, or from `written` when reads cannot be seen.
#[derive(Debug, Clone, Copy)]
struct Owed {
    pause: Duration,
    /// When the piece went out.
    written: Instant,
}

impl Pacer {
    /// A pacer for the connection `link` shows (`None`: the pause alone).
    pub fn new(link: Option<Link>) -> Pacer {
        Pacer { link, owed: None }
    }

    /// Writes `bytes` to `stream` as `write` says: whole, or in chops, each
    /// after what the one before owes ([`Pacer::ready`]); `sent` sees each
    /// piece once it is out. What the last piece owes is left to the next
    /// write on this connection.
    pub async fn write<S: AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
        bytes: &[u8],
        write: Write,
        mut sent: impl FnMut(&[u8]),
    ) -> std::io::Result<()> {
        let chop = match write {
            Write::Chop(n) => n.max(1),
            _ => bytes.len().max(1),
        };
        for piece in bytes.chunks(chop) {
            self.ready().await;
            stream.write_all(piece).await?;
            stream.flush().await?;
            sent(piece);
            self.wrote(write).await;
        }
        Ok(())
    }

    /// After a piece of a `write` went out.
    async fn wrote(&mut self, write: Write) {
        let pause = match write {
            Write::Sync => FRAME_PACE,
            Write::Chop(n) if n < BULK_CHOP => PACE,
            // Bulk transfers in large chops (1.1.8, 9.5.x, 9.6.x): each chop
            // its own segment (TCP_NODELAY), a scheduler turn apart.
            Write::Chop(_) => return tokio::task::yield_now().await,
            Write::Whole => return,
        };
        self.owed = Some(Owed {
            pause,
            written: Instant::now(),
        });
    }

    /// Waits for what is owed before the next write: the peer's read of the
    /// last piece (a lookup costs two system calls), then
    /// the pause; the pause from the write alone where reads cannot be
    /// seen. A peer that does not read within [`READ_WAIT`] is not waited
    /// for again on this connection.
    pub async fn ready(&mut self) {
        let Some(owed) = self.owed.take() else {
            return;
        };
        let mut from = owed.written;
        if let Some(link) = self.link {
            if link.until_read(READ_WAIT).await {
                from = Instant::now();
            } else {
                self.link = None;
            }
        }
        sleep_until(from + owed.pause).await;
    }
}

/// Writes `bytes` to `stream` as `write` says: whole, or in chops paced by
/// a [`Pacer`] as the engine paces a case's frames, the last one included. The opening handshakes
/// use it (`hs.server.one-byte-writes`, `hs.client.one-byte-writes`): a chop
/// that merely yields between writes reaches a busy peer in reads of any
/// size, and a peer that counts its reads (tungstenite refuses a head read
/// in more than 64 small pieces) then passes or fails by load.
pub async fn write_paced<S: AsyncWrite + Unpin>(
    stream: &mut S,
    bytes: &[u8],
    write: Write,
    link: Option<Link>,
) -> std::io::Result<()> {
    let mut pacer = Pacer::new(link);
    pacer.write(stream, bytes, write, |_| {}).await?;
    // The last chop too is its own read: what follows the head (the first
    // frame) must not join it.
    pacer.ready().await;
    Ok(())
}

/// What the kernel shows of a [`Link`]'s two ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ends {
    Seen {
        /// Written by the harness, not yet acknowledged by the peer's kernel.
        unacked: u32,
        /// Received by the peer's kernel, not yet read by the peer.
        unread: u32,
    },
    /// The harness's end is shown, the peer's is not: the peer closed it.
    Gone,
    /// The harness's own end is not shown: nothing can be known.
    Unseen,
}

#[cfg(target_os = "linux")]
use sock_diag::Kernel;

/// Where sock_diag(7) is missing nothing can be seen.
#[cfg(not(target_os = "linux"))]
struct Kernel;

#[cfg(not(target_os = "linux"))]
impl Kernel {
    fn open() -> Option<Kernel> {
        None
    }

    fn ends(&mut self, _link: &Link) -> Ends {
        Ends::Unseen
    }
}

/// One TCP socket looked up through a `NETLINK_SOCK_DIAG` socket: an
/// `inet_diag_req_v2` for exactly one address pair, answered by one
/// `inet_diag_msg` or an error (linux/inet_diag.h, sock_diag(7)).
#[cfg(target_os = "linux")]
mod sock_diag {
    use std::io;
    use std::net::{IpAddr, SocketAddr};
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    use super::{Ends, Link};

    /// `SOCK_DIAG_BY_FAMILY` (linux/sock_diag.h).
    const SOCK_DIAG_BY_FAMILY: u16 = 20;
    /// `INET_DIAG_NOCOOKIE`: any socket with these addresses.
    const NO_COOKIE: u32 = !0;
    /// `TCP_LISTEN` (linux/tcp_states.h): an address lookup that finds no
    /// connection falls back to the listener on that port, which is not it.
    const TCP_LISTEN: u8 = 10;
    /// `struct nlmsghdr`.
    const HEADER: usize = 16;
    /// `struct inet_diag_req_v2`.
    const REQUEST: usize = 56;
    /// Where `idiag_state`, `idiag_rqueue` and `idiag_wqueue` lie in an
    /// `inet_diag_msg` (after the header): family, state, timer, retrans,
    /// a 48-byte `inet_diag_sockid`, expires, rqueue, wqueue, uid, inode.
    const STATE: usize = 1;
    const RQUEUE: usize = 56;
    const WQUEUE: usize = 60;
    const MESSAGE: usize = 72;

    /// A socket's queues as `inet_diag_msg` shows them.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    struct Socket {
        /// Received, not yet read by its owner.
        rqueue: u32,
        /// Written by its owner, not yet acknowledged.
        wqueue: u32,
    }

    /// An open `NETLINK_SOCK_DIAG` socket.
    pub(super) struct Kernel {
        fd: OwnedFd,
        seq: u32,
    }

    impl Kernel {
        pub(super) fn open() -> Option<Kernel> {
            // SAFETY: socket(2) with constant arguments; the descriptor it
            // returns is owned by `OwnedFd` at once and closed on drop.
            #[allow(unsafe_code)]
            let fd = unsafe {
                let fd = libc::socket(
                    libc::AF_NETLINK,
                    libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
                    libc::NETLINK_SOCK_DIAG,
                );
                if fd < 0 {
                    return None;
                }
                OwnedFd::from_raw_fd(fd)
            };
            Some(Kernel { fd, seq: 0 })
        }

        pub(super) fn ends(&mut self, link: &Link) -> Ends {
            match (
                self.socket(link.local, link.peer),
                self.socket(link.peer, link.local),
            ) {
                (Ok(Some(ours)), Ok(Some(theirs))) => Ends::Seen {
                    unacked: ours.wqueue,
                    unread: theirs.rqueue,
                },
                (Ok(Some(_)), Ok(None)) => Ends::Gone,
                _ => Ends::Unseen,
            }
        }

        /// The TCP socket whose own address is `local` and whose peer is
        /// `remote`; `None` when the kernel has no such connection.
        fn socket(&mut self, local: SocketAddr, remote: SocketAddr) -> io::Result<Option<Socket>> {
            self.seq = self.seq.wrapping_add(1);
            let request = request(local, remote, self.seq)?;
            let fd = self.fd.as_raw_fd();
            // SAFETY: `request` is a live buffer of the given length.
            #[allow(unsafe_code)]
            let sent = unsafe { libc::send(fd, request.as_ptr().cast(), request.len(), 0) };
            if sent < 0 {
                return Err(io::Error::last_os_error());
            }
            let mut reply = [0u8; 1024];
            // SAFETY: `reply` is a live, writable buffer of the given length.
            // The kernel answers within send(2), so the reply is waiting.
            #[allow(unsafe_code)]
            let got = unsafe { libc::recv(fd, reply.as_mut_ptr().cast(), reply.len(), libc::MSG_DONTWAIT) };
            let got = usize::try_from(got).map_err(|_| io::Error::last_os_error())?;
            answer(&reply[..got.min(reply.len())], self.seq)
        }
    }

    /// The request for the one socket `local` → `remote`.
    fn request(local: SocketAddr, remote: SocketAddr, seq: u32) -> io::Result<Vec<u8>> {
        let (family, src, dst) = match (local.ip(), remote.ip()) {
            (IpAddr::V4(l), IpAddr::V4(r)) => (libc::AF_INET, l.octets().to_vec(), r.octets().to_vec()),
            (IpAddr::V6(l), IpAddr::V6(r)) => (libc::AF_INET6, l.octets().to_vec(), r.octets().to_vec()),
            _ => return Err(io::ErrorKind::InvalidInput.into()),
        };
        let mut m = Vec::with_capacity(HEADER + REQUEST);
        m.extend_from_slice(&((HEADER + REQUEST) as u32).to_ne_bytes());
        m.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
        m.extend_from_slice(&(libc::NLM_F_REQUEST as u16).to_ne_bytes());
        m.extend_from_slice(&seq.to_ne_bytes());
        m.extend_from_slice(&0u32.to_ne_bytes());
        // inet_diag_req_v2: family, protocol, extensions, pad, states.
        m.extend_from_slice(&[family as u8, libc::IPPROTO_TCP as u8, 0, 0]);
        m.extend_from_slice(&u32::MAX.to_ne_bytes());
        // inet_diag_sockid: ports and addresses in network order.
        m.extend_from_slice(&local.port().to_be_bytes());
        m.extend_from_slice(&remote.port().to_be_bytes());
        for address in [src, dst] {
            let mut field = [0u8; 16];
            field[..address.len()].copy_from_slice(&address);
            m.extend_from_slice(&field);
        }
        m.extend_from_slice(&0u32.to_ne_bytes());
        m.extend_from_slice(&NO_COOKIE.to_ne_bytes());
        m.extend_from_slice(&NO_COOKIE.to_ne_bytes());
        debug_assert_eq!(m.len(), HEADER + REQUEST);
        Ok(m)
    }

    /// Reads the kernel's answer to request `seq`: the socket, `None` for
    /// "no such socket" (ENOENT) or a listener, or the error it reported.
    fn answer(reply: &[u8], seq: u32) -> io::Result<Option<Socket>> {
        let word = |at: usize| -> io::Result<u32> {
            reply
                .get(at..at + 4)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_ne_bytes)
                .ok_or_else(|| io::ErrorKind::UnexpectedEof.into())
        };
        let kind = reply
            .get(4..6)
            .and_then(|b| b.try_into().ok())
            .map(u16::from_ne_bytes)
            .ok_or(io::ErrorKind::UnexpectedEof)?;
        if word(8)? != seq {
            return Err(io::ErrorKind::InvalidData.into());
        }
        match kind {
            k if k == libc::NLMSG_ERROR as u16 => match (word(HEADER)? as i32).wrapping_neg() {
                libc::ENOENT => Ok(None),
                code => Err(io::Error::from_raw_os_error(code)),
            },
            SOCK_DIAG_BY_FAMILY if reply.len() >= HEADER + MESSAGE => {
                if reply[HEADER + STATE] == TCP_LISTEN {
                    return Ok(None);
                }
                Ok(Some(Socket {
                    rqueue: word(HEADER + RQUEUE)?,
                    wqueue: word(HEADER + WQUEUE)?,
                }))
            }
            _ => Err(io::ErrorKind::InvalidData.into()),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// The request is `struct nlmsghdr` + `struct inet_diag_req_v2`
        /// as linux/inet_diag.h lays them out: 72 bytes, ports big-endian.
        #[test]
        fn the_request_names_one_socket() {
            let m = request(
                "127.0.0.1:8080".parse().expect("addr"),
                "127.0.0.1:50000".parse().expect("addr"),
                7,
            )
            .expect("same family");
            assert_eq!(m.len(), 72);
            assert_eq!(&m[0..4], &72u32.to_ne_bytes());
            assert_eq!(&m[8..12], &7u32.to_ne_bytes());
            assert_eq!(m[16], libc::AF_INET as u8);
            assert_eq!(&m[24..28], &[0x1f, 0x90, 0xc3, 0x50]);
            assert_eq!(&m[28..32], &[127, 0, 0, 1]);
            assert_eq!(&m[44..48], &[127, 0, 0, 1]);
            assert!(request(
                "127.0.0.1:1".parse().expect("addr"),
                "[::1]:2".parse().expect("addr"),
                1
            )
            .is_err());
        }

        #[test]
        fn answers_are_read_as_the_kernel_writes_them() {
            let mut error = vec![0u8; 36];
            error[4..6].copy_from_slice(&(libc::NLMSG_ERROR as u16).to_ne_bytes());
            error[8..12].copy_from_slice(&3u32.to_ne_bytes());
            error[16..20].copy_from_slice(&(-libc::ENOENT).to_ne_bytes());
            assert_eq!(answer(&error, 3).expect("no such socket"), None);
            assert!(answer(&error, 4).is_err(), "another request's answer");
            // Whatever error code the kernel writes is read without overflow.
            error[16..20].copy_from_slice(&i32::MIN.to_ne_bytes());
            assert!(answer(&error, 3).is_err());
            let mut found = vec![0u8; HEADER + MESSAGE];
            found[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
            found[8..12].copy_from_slice(&3u32.to_ne_bytes());
            found[HEADER + STATE] = 1;
            found[HEADER + RQUEUE..][..4].copy_from_slice(&5u32.to_ne_bytes());
            found[HEADER + WQUEUE..][..4].copy_from_slice(&9u32.to_ne_bytes());
            assert_eq!(
                answer(&found, 3).expect("found"),
                Some(Socket { rqueue: 5, wqueue: 9 })
            );
            found[HEADER + STATE] = TCP_LISTEN;
            assert_eq!(answer(&found, 3).expect("a listener"), None);
            assert!(answer(&found[..20], 3).is_err(), "cut short");
        }
    }
}

/// An IPv4 peer of a dual-stack socket shows as `::ffff:a.b.c.d` on one
/// end and as `a.b.c.d` on the other.
fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A peer that reads only when told: the link sees its unread bytes,
    /// then sees them read.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn the_link_sees_when_the_peer_reads() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (ours, accepted) = tokio::join!(TcpStream::connect(addr), listener.accept());
        let mut ours = ours.expect("connect");
        let (mut theirs, _) = accepted.expect("accept");
        let link = Link::of(&ours).expect("a loopback peer is seen");
        ours.write_all(b"hello").await.expect("write");
        assert!(
            !link.until_read(Duration::from_millis(50)).await,
            "the peer has not read"
        );
        let mut buf = [0u8; 5];
        theirs.read_exact(&mut buf).await.expect("read");
        assert!(link.until_read(Duration::from_secs(5)).await, "the peer has read");
        // A peer that has gone is not waited for, though its listener,
        // which a lookup by address falls back to, is still open.
        drop(theirs);
        ours.write_all(b"more").await.ok();
        let start = Instant::now();
        link.until_read(Duration::from_secs(5)).await;
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "waited {:?}",
            start.elapsed()
        );
    }
}
