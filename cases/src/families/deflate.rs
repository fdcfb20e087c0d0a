//! Categories 12 and 13: permessage-deflate (RFC 7692), Autobahn's cases
//! from its `case/case12_x_x.py`. Each case sends 1000 messages one after
//! another, each after the previous echo, and compares every echo with what
//! was sent (type, length, SHA-1). 12.x varies the payload (five corpora,
//! [`crate::Corpus`]) under the default offer; 13.x varies the offers and
//! accept rules on the JSON corpus. Both over the same 18 message profiles.

use crate::build::{case, rfc};
use crate::model::{
    Case, ClientOffer, Deflate, DeflateAccept, DeflateOffer, Judge, Requirement, ResponseRules, Step,
};
use crate::Corpus;
use wsconform_wire::deflate::WindowBits;

/// Autobahn's `MSG_SIZES`: (payload bytes, message count, case timeout in
/// seconds, auto-fragment size; 0 = unfragmented).
const MSG_SIZES: [(u64, u32, u64, u64); 18] = [
    (16, 1000, 60, 0),
    (64, 1000, 60, 0),
    (256, 1000, 120, 0),
    (1024, 1000, 240, 0),
    (4096, 1000, 480, 0),
    (8192, 1000, 480, 0),
    (16384, 1000, 480, 0),
    (32768, 1000, 480, 0),
    (65536, 1000, 480, 0),
    (131072, 1000, 480, 0),
    (8192, 1000, 480, 256),
    (16384, 1000, 480, 256),
    (32768, 1000, 480, 256),
    (65536, 1000, 480, 256),
    (131072, 1000, 480, 256),
    (131072, 1000, 480, 1024),
    (131072, 1000, 480, 4096),
    (131072, 1000, 480, 32768),
];

fn bits(b: u8) -> Option<WindowBits> {
    WindowBits::new(b)
}

/// An offer as Autobahn's `PerMessageDeflateOffer(requestNoContextTakeover,
/// requestMaxWindowBits)`; 0 bits: not requested.
fn offer(no_context_takeover: bool, max_window_bits: u8) -> DeflateOffer {
    DeflateOffer {
        server_no_context_takeover: no_context_takeover,
        server_max_window_bits: bits(max_window_bits),
        client: ClientOffer::Autobahns,
    }
}

/// An accept rule as Autobahn's `accept1`–`accept6`.
fn accept(no_context_takeover: bool, max_window_bits: u8) -> DeflateAccept {
    DeflateAccept {
        client_no_context_takeover: no_context_takeover,
        client_max_window_bits: bits(max_window_bits),
    }
}

/// (no context takeover, max window bits; 0 = none), Autobahn's notation.
type Request = (bool, u8);

/// Autobahn's `DEFLATE_PARAMS` for 13.1–13.7: (client offers, server
/// accept rules tried in order), as (requestNoContextTakeover,
/// requestMaxWindowBits) pairs, the notation its descriptions use.
fn deflate_params() -> Vec<(Vec<Request>, Vec<Request>)> {
    vec![
        (vec![(false, 0)], vec![(false, 0)]),
        (vec![(true, 0)], vec![(true, 0)]),
        (vec![(false, 9)], vec![(false, 9)]),
        (vec![(false, 15)], vec![(false, 15)]),
        (vec![(true, 9)], vec![(true, 9)]),
        (vec![(true, 15)], vec![(true, 15)]),
        (
            vec![(true, 9), (true, 0), (false, 0)],
            vec![(true, 9), (true, 0), (false, 0)],
        ),
    ]
}

/// Python's `repr` of a list of (bool, int) tuples, as in Autobahn's texts.
fn py_list(pairs: &[(bool, u8)]) -> String {
    let items: Vec<String> = pairs
        .iter()
        .map(|&(b, n)| format!("({}, {n})", if b { "True" } else { "False" }))
        .collect();
    format!("[{}]", items.join(", "))
}

fn deflate_case(
    id: String,
    corpus: Corpus,
    profile: (u64, u32, u64, u64),
    how: &str,
    deflate: Deflate,
) -> Case {
    let (len, count, secs, fragment_size) = profile;
    let mut c = case(
        id,
        format!(
            "Send {count} compressed messages each of payload size {len}, auto-fragment to {fragment_size} octets. {how}"
        ),
        rfc("RFC 7692 §7.2", Requirement::Must),
    )
    .expect(format!(
        "Receive echo'ed messages (with payload as sent). Timeout case after {secs} secs."
    ))
    .close_after(secs * 1000)
    .step(Step::CorpusMessages {
        corpus,
        len,
        count,
        fragment_size,
    })
    .judged_by(Judge::Compressed {
        count,
        binary: corpus.binary(),
        len,
    });
    c.expected.clear();
    c.deflate = Some(deflate);
    c.notes.push(format!(
        "Payload: the generated {} corpus ({} bytes, {}), read as a ring as Autobahn reads its file; see cases/src/corpus.rs.",
        corpus.description(),
        corpus.size(),
        if corpus.binary() { "binary" } else { "text" }
    ));
    c
}

pub fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for (j, corpus) in Corpus::ALL.into_iter().enumerate() {
        for (i, &profile) in MSG_SIZES.iter().enumerate() {
            out.push(deflate_case(
                format!("12.{}.{}", j + 1, i + 1),
                corpus,
                profile,
                "Use default permessage-deflate offer.",
                Deflate {
                    offers: vec![offer(false, 0)],
                    accept: vec![accept(false, 0)],
                    response: ResponseRules::AsAutobahn,
                },
            ));
        }
    }
    for (j, (offers, accepts)) in deflate_params().into_iter().enumerate() {
        let how = format!(
            "Use permessage-deflate client offers (requestNoContextTakeover, requestMaxWindowBits): {}",
            py_list(&offers)
        );
        let deflate = Deflate {
            offers: offers.iter().map(|&(n, b)| offer(n, b)).collect(),
            accept: accepts.iter().map(|&(n, b)| accept(n, b)).collect(),
            response: ResponseRules::AsAutobahn,
        };
        for (i, &profile) in MSG_SIZES.iter().enumerate() {
            out.push(deflate_case(
                format!("13.{}.{}", j + 1, i + 1),
                Corpus::Json,
                profile,
                &how,
                deflate.clone(),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_texts_and_parameters_are_autobahns() {
        let all = cases();
        assert_eq!(all.len(), 216);
        let c = all.iter().find(|c| c.id == "13.7.18").expect("13.7.18");
        assert_eq!(
            c.description,
            "Send 1000 compressed messages each of payload size 131072, auto-fragment to 32768 octets. Use permessage-deflate client offers (requestNoContextTakeover, requestMaxWindowBits): [(True, 9), (True, 0), (False, 0)]"
        );
        assert_eq!(
            c.expectation,
            "Receive echo'ed messages (with payload as sent). Timeout case after 480 secs."
        );
        let d = c.deflate.as_ref().expect("negotiates");
        assert_eq!(d.offers.len(), 3);
        assert_eq!(d.accept[0].client_max_window_bits, WindowBits::new(9));
        let first = all.iter().find(|c| c.id == "12.2.1").expect("12.2.1");
        assert!(matches!(
            first.judge,
            Judge::Compressed {
                count: 1000,
                binary: true,
                len: 16
            }
        ));
        assert_eq!(first.duration(1.0), std::time::Duration::from_secs(60));
    }
}
