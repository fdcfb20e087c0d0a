//! Whether a peer on this machine has read the bytes the harness wrote.
//!
//! A frame a case marks "sync" and an octet-wise chop test how a peer copes
//! with a stream cut at that point, so each must reach the peer as its own
//! read (docs/verdict-rules.md, D7). A pause after each write makes that
//! likely, not certain: a peer that gets no CPU for the whole pause reads two
//! pieces at once, and its verdict changes with the machine's load (3.3,
//! 4.1.5, 4.2.5 on Python `websockets` at `--jobs 32` beside a CPU hog).
//!
//! On Linux the kernel shows both ends of a loopback connection in
//! `/proc/net/tcp` and `/proc/net/tcp6` (proc(5)): for the harness's end
//! `tx_queue`, the bytes written and not yet acknowledged, and for the
//! peer's end `rx_queue`, the bytes received and not yet read by the peer.
//! When the peer's end holds no unread byte, and either the harness's end
//! has nothing unacknowledged or the bytes were seen waiting before, the
//! peer has read everything written so far. A peer elsewhere, in another
//! network namespace or on another system cannot be seen: the writer then
//! falls back to the pause alone.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::Instant;

/// How often the kernel's tables are looked at while waiting.
const POLL: Duration = Duration::from_millis(1);

/// The two ends of a TCP connection to a peer on the loopback interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    local: SocketAddr,
    peer: SocketAddr,
}

/// What the kernel holds at both ends of a [`Link`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Queues {
    /// Written by the harness, not yet acknowledged by the peer's kernel.
    unacked: u64,
    /// Received by the peer's kernel, not yet read by the peer.
    unread: u64,
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
        loop {
            match self.queues() {
                Lookup::Unseen => return false,
                Lookup::Gone => return true,
                Lookup::Seen(q) if q.unread == 0 && (q.unacked == 0 || seen_waiting) => return true,
                Lookup::Seen(q) => seen_waiting |= q.unread > 0,
            }
            if start.elapsed() >= limit {
                return false;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    fn queues(&self) -> Lookup {
        let mut ours = None;
        let mut theirs = None;
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            let Ok(text) = std::fs::read_to_string(table) else {
                continue;
            };
            for row in text.lines().skip(1).filter_map(Row::parse) {
                if row.local == self.local && row.remote == self.peer {
                    ours = Some(row);
                } else if row.local == self.peer && row.remote == self.local {
                    theirs = Some(row);
                }
            }
            if ours.is_some() && theirs.is_some() {
                break;
            }
        }
        match (ours, theirs) {
            (Some(ours), Some(theirs)) => Lookup::Seen(Queues {
                unacked: ours.tx_queue,
                unread: theirs.rx_queue,
            }),
            (Some(_), None) => Lookup::Gone,
            (None, _) => Lookup::Unseen,
        }
    }
}

enum Lookup {
    Seen(Queues),
    /// The harness's end is shown, the peer's is not: the peer closed it.
    Gone,
    /// The harness's own end is not shown: nothing can be known.
    Unseen,
}

/// One line of `/proc/net/tcp{,6}`: `sl local_address rem_address st
/// tx_queue:rx_queue …`, addresses as the kernel's in-memory words in hex
/// and ports in hex (proc(5)).
#[derive(Debug, PartialEq, Eq)]
struct Row {
    local: SocketAddr,
    remote: SocketAddr,
    tx_queue: u64,
    rx_queue: u64,
}

impl Row {
    fn parse(line: &str) -> Option<Row> {
        let mut fields = line.split_whitespace().skip(1);
        let local = address(fields.next()?)?;
        let remote = address(fields.next()?)?;
        let _state = fields.next()?;
        let (tx, rx) = fields.next()?.split_once(':')?;
        Some(Row {
            local,
            remote,
            tx_queue: u64::from_str_radix(tx, 16).ok()?,
            rx_queue: u64::from_str_radix(rx, 16).ok()?,
        })
    }
}

/// `0100007F:1F90` is 127.0.0.1:8080 on a little-endian machine: each
/// 32-bit word of the address is printed as the machine holds it.
fn address(field: &str) -> Option<SocketAddr> {
    let (ip, port) = field.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let mut bytes = Vec::with_capacity(16);
    for word in ip.as_bytes().chunks(8) {
        let word = u32::from_str_radix(std::str::from_utf8(word).ok()?, 16).ok()?;
        bytes.extend_from_slice(&word.to_ne_bytes());
    }
    let ip = match bytes.len() {
        4 => IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(bytes).ok()?)),
        16 => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?)),
        _ => return None,
    };
    Some(canonical(SocketAddr::new(ip, port)))
}

/// An IPv4 peer of a dual-stack socket shows as `::ffff:a.b.c.d` on one
/// end and as `a.b.c.d` on the other.
fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_parse_as_proc_5_shows_them() {
        let v4 = "   3: 0100007F:1F90 0100007F:C350 01 0000000A:00000002 00:00000000 00000000  1000        0 12345 1 0 20 4 30 10 -1";
        let row = Row::parse(v4).expect("parses");
        if cfg!(target_endian = "little") {
            assert_eq!(row.local, "127.0.0.1:8080".parse().expect("addr"));
            assert_eq!(row.remote, "127.0.0.1:50000".parse().expect("addr"));
        }
        assert_eq!((row.tx_queue, row.rx_queue), (10, 2));
        let v6 = "   0: 00000000000000000000000001000000:1F90 0000000000000000FFFF00000100007F:C350 01 00000000:00000000 00:00000000 00000000  1000        0 1 1 0 20 4 30 10 -1";
        let row = Row::parse(v6).expect("parses");
        if cfg!(target_endian = "little") {
            assert_eq!(row.local, "[::1]:8080".parse().expect("addr"));
            // The mapped address is made plain IPv4.
            assert_eq!(row.remote, "127.0.0.1:50000".parse().expect("addr"));
        }
        assert_eq!(
            Row::parse("  sl  local_address rem_address   st tx_queue rx_queue"),
            None
        );
    }

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
        // A peer that has gone is not waited for.
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
