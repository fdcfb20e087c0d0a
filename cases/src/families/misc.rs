//! Category 10, Misc: the harness's own auto-fragmentation (RFC 6455 §5.4).

use std::collections::BTreeMap;

use wsconform_wire::Opcode;

use crate::build::{case, got_message, rfc};
use crate::model::{Case, Requirement, Step};
use crate::payload::Payload;

pub fn cases() -> Vec<Case> {
    let payload = Payload::repeat(*b"*", 65536);
    let mut c = case(
        "10.1.1",
        "Send text message with payload of length 65536 auto-fragmented with <b>autoFragmentSize = 1300</b>.",
        rfc("RFC 6455 §5.4", Requirement::Must),
    )
    .expect("Receive echo'ed text message (with payload as sent and transmitted frame counts as expected). Clean close with normal code.")
    .step(Step::Message {
        opcode: Opcode::TEXT,
        payload: payload.clone(),
        fragment_size: 1300,
    })
    .kill_after(10_000)
    .ok(vec![got_message(payload, false)]);
    // 65536 = 50 * 1300 + 536: one text frame and 50 continuation frames.
    c.expected_tx_frames = Some(BTreeMap::from([(Opcode::TEXT, 1), (Opcode::CONTINUATION, 50)]));
    vec![c]
}
