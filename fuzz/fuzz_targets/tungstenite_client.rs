//! tungstenite's `WebSocket` as an echo client (the harness is the server:
//! its frames unmasked, tungstenite's masked), in memory, against generated
//! scripts judged by the RFC oracle (`fuzz/src/tungstenite_echo.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fuzz_support::tungstenite_echo::run(data, wsconform_wire::Role::Client));
