//! Close codes 1012–1014 are in IANA's registry (RFC 6455 §11.7) but in no
//! specification, and RFC 6455 has no MUST that a receiver accept them:
//! tungstenite 0.26 fails the connection on 1014 with 1002 and Autobahn
//! 0.10.9 does so on all three (`CLOSE_STATUS_CODES_ALLOWED`). The oracle
//! allows an echo, 1000 or 1002 for them, and still reports 1002 for a
//! defined code. Reproducer: docs/fuzz-findings/tungstenite-client-wrong-close-code-b5963907.bin.

use wsconform_cases::{Payload, Step};
use wsconform_oracle::check::{check, Reaction};
use wsconform_oracle::model::Model;
use wsconform_oracle::FindingClass;
use wsconform_wire::{CloseCode, Role};

fn close(code: u16, reason: &[u8]) -> Step {
    Step::Close {
        code: Some(code),
        reason: Payload::bytes(reason.to_vec()),
    }
}

fn closed_with(code: u16) -> Reaction {
    Reaction {
        close: Some(Some(CloseCode(code))),
        ..Reaction::default()
    }
}

#[test]
fn a_registered_code_may_be_echoed_answered_normally_or_refused() {
    for code in [1012, 1013, 1014] {
        for role in [Role::Client, Role::Server] {
            let model = Model::of(&[close(code, b"Q")], role);
            for answer in [code, 1000, 1002] {
                assert_eq!(
                    check(&model, &closed_with(answer)),
                    None,
                    "{code} answered {answer} ({role:?})"
                );
            }
            let other = check(&model, &closed_with(1011)).expect("1011 is no answer to a close");
            assert_eq!(other.class, FindingClass::WrongCloseCode, "{other}");
        }
    }
}

#[test]
fn a_defined_code_refused_with_1002_is_still_a_finding() {
    let model = Model::of(&[close(1001, b"")], Role::Client);
    let refused = check(&model, &closed_with(1002)).expect("1002 refuses a valid close");
    assert_eq!(refused.class, FindingClass::WrongCloseCode, "{refused}");
}

#[test]
fn an_unsendable_code_must_still_be_refused() {
    for code in [1004, 1015, 2999] {
        let model = Model::of(&[close(code, b"")], Role::Client);
        assert_eq!(
            check(&model, &closed_with(1002)),
            None,
            "{code} refused with 1002"
        );
        let echoed = check(&model, &closed_with(code)).expect("echoing an unsendable code is a finding");
        assert_eq!(echoed.class, FindingClass::WrongCloseCode, "{code}: {echoed}");
    }
}
