//! A starved harness gives the verdict an idle one gives. On a loaded
//! machine (or with many `--jobs`) the harness may get no CPU for a while;
//! when it runs again, the peer's bytes that arrived meanwhile and a
//! protocol timer that fell due meanwhile are ready at once. The peer's
//! bytes count first, as they would have on an idle machine; before this
//! rule `tokio::select!` picked one at random, and a close sent in time lost
//! to a late timer now and then (seen on `ws` in cases 6.4.1-6.4.4:
//! NON-STRICT idle, FAILED / FAILED with the machine loaded).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, SystemTime};

use wsconform::engine::{self, EngineConfig};
use wsconform::record::Outcome;
use wsconform::verdict::{judge, Expectations};
use wsconform_cases::{catalog, Behavior, BehaviorClose};
use wsconform_wire::Role;

/// Case 6.3.1's timer (Autobahn's `killAfter(1)`), scaled to 300 ms; the
/// case's hard deadline scales too (1.8 s).
const SCALE: f64 = 0.3;
/// How long the server under test takes to answer the invalid message with
/// its close: well within the 300 ms the harness waits.
const ANSWER_AFTER: Duration = Duration::from_millis(50);
/// How long the harness gets no CPU, from the moment the server has read
/// the message: past both the server's close and the harness's timer.
const STALL: Duration = Duration::from_millis(600);
/// Bytes of 6.3.1's masked text message: a 2-byte header, a 4-byte mask
/// and 20 bytes of payload, invalid UTF-8.
const MESSAGE: usize = 2 + 4 + 20;

/// One run of 6.3.1 (Autobahn `case6_3_1.py`: one invalid UTF-8 text
/// message, then `killAfter(1)`) against a server that fails the connection
/// with 1007 in time (RFC 6455 §8.1), with the harness's thread blocked
/// while that close arrives and the harness's timer falls due.
fn starved_run() -> (Behavior, BehaviorClose) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
    let addr = listener.local_addr().expect("address");
    let (read_all, stall) = tokio::sync::oneshot::channel::<()>();
    let server = std::thread::spawn(move || {
        let (mut tcp, _) = listener.accept().expect("accepts");
        tcp.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut message = [0u8; MESSAGE];
        tcp.read_exact(&mut message).expect("the message");
        let _ = read_all.send(());
        std::thread::sleep(ANSWER_AFTER);
        // Close 1007 (RFC 6455 §7.4.1), unmasked: a server's frame.
        tcp.write_all(&[0x88, 0x02, 0x03, 0xef])
            .expect("writes its close");
        // The harness's close, then the server drops TCP (§7.1.1).
        let mut rest = [0u8; 64];
        let _ = tcp.read(&mut rest);
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let verdict = runtime.block_on(async {
        let case = catalog()
            .into_iter()
            .find(|c| c.id == "6.3.1")
            .expect("6.3.1 is in the catalog");
        let mut config = EngineConfig::new(Role::Client);
        config.timeout_scale = SCALE;
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("connects");
        // The only thread of this runtime: blocking it starves the harness.
        tokio::spawn(async move {
            if stall.await.is_ok() {
                std::thread::sleep(STALL);
            }
        });
        let mut outcome = Outcome::new(SystemTime::now());
        outcome.handshake_completed = true;
        let outcome = engine::run(&case, tcp, Vec::new(), None, &config, outcome).await;
        judge(&case, &outcome, &Expectations::of(&case), Role::Client)
    });
    server.join().expect("the server thread ends");
    (verdict.behavior, verdict.behavior_close)
}

#[test]
fn bytes_that_arrived_while_the_harness_was_starved_count_before_its_late_timer() {
    // Each run was a coin toss before the rule: 12 runs all OK by chance
    // is 1 in 4096.
    for run in 0..12 {
        assert_eq!(
            starved_run(),
            (Behavior::Ok, BehaviorClose::Ok),
            "run {run}: the close arrived before the timer fell due"
        );
    }
}
