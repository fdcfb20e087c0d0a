//! Raw bytes as frames sent by a client, strict RFC 6455 with small caps.
//! (Unlike `decode_server`, which is kept lean for the speed comparison, this
//! target also runs the `Checker` on every item.)
//! The decoder must not panic, must consume all it is given, and must never
//! yield a header, payload or message that a strict endpoint has to refuse.
#![no_main]

use fuzz_support::{run_in_place, strict_small};
use libfuzzer_sys::fuzz_target;
use wsconform_wire::Role;

fuzz_target!(|data: &[u8]| {
    let config = strict_small(Role::Client);
    let mut buf = data.to_vec();
    let _ = run_in_place(&config, &mut buf);
});
