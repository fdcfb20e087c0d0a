//! Speed baseline only: tungstenite's `FrameHeader::parse` over the input,
//! skipping each payload, as `decode_server` does with our decoder. Compare
//! their exec/s (see BENCHMARKS.md); this target checks nothing.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use tungstenite::protocol::frame::FrameHeader;

fuzz_target!(|data: &[u8]| {
    let mut cursor = Cursor::new(data);
    while let Ok(Some((_header, len))) = FrameHeader::parse(&mut cursor) {
        let next = cursor.position().saturating_add(len);
        if next > data.len() as u64 {
            break;
        }
        cursor.set_position(next);
    }
});
