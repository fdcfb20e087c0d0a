//! Pins the catalog: counts, ids, and the bytes of sample cases.

use std::collections::BTreeMap;

use crate::model::{Behavior, Judge, Step, Write};
use crate::{catalog, select, Selection};

#[test]
fn counts_per_category_match_autobahn() {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for c in catalog() {
        *counts.entry(c.category().to_string()).or_default() += 1;
    }
    let want: BTreeMap<String, usize> = [
        ("1", 16),
        ("2", 11),
        ("3", 7),
        ("4", 10),
        ("5", 20),
        ("6", 145),
        ("7", 37),
        ("9", 54),
        ("10", 1),
        ("12", 90),
        ("13", 126),
        ("hs", 46),
        ("mask", 9),
        ("pmd", 27),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(counts, want);
    // Autobahn's 517 (301 of categories 1-10, 216 of 12-13), and
    // wsconform's handshake, masking and permessage-deflate cases.
    assert_eq!(catalog().len(), 599);
}

#[test]
fn ids_are_unique_and_sorted() {
    let ids: Vec<String> = catalog().into_iter().map(|c| c.id).collect();
    let mut dedup = ids.clone();
    dedup.dedup();
    assert_eq!(ids, dedup);
    assert_eq!(ids.first().map(String::as_str), Some("1.1.1"));
    let pos = |id: &str| ids.iter().position(|i| i == id).expect("present");
    assert!(pos("6.9.4") < pos("6.10.1"));
    // Readable handshake ids sort after every numeric one.
    assert!(pos("10.1.1") < pos("12.1.1") && pos("12.5.18") < pos("13.1.1"));
    assert_eq!(
        pos("13.7.18") + 1,
        ids.iter().position(|i| i.starts_with("hs.")).expect("hs cases")
    );
}

#[test]
fn utf8_stress_vectors_split_as_autobahn() {
    let all = catalog();
    let stress: Vec<_> = all
        .iter()
        .filter(|c| {
            let sub: u32 = c.id.split('.').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
            c.category() == "6" && sub >= 5
        })
        .collect();
    assert_eq!(stress.len(), 132);
    let valid = stress.iter().filter(|c| c.expected_close.closed_by_me).count();
    assert_eq!((valid, stress.len() - valid), (63, 69));
}

#[test]
fn non_strict_cases_are_autobahns_fourteen() {
    let ids: Vec<String> = catalog()
        .into_iter()
        // 7.1.6 carries Autobahn's NON-STRICT list too, but is always INFORMATIONAL.
        .filter(|c| c.judge != Judge::Informational && c.expected.contains_key(&Behavior::NonStrict))
        .map(|c| c.id)
        .collect();
    assert_eq!(
        ids,
        [
            "3.2", "3.3", "3.4", "4.1.3", "4.1.4", "4.1.5", "4.2.3", "4.2.4", "4.2.5", "5.15", "6.4.1",
            "6.4.2", "6.4.3", "6.4.4"
        ]
    );
}

#[test]
fn informational_cases() {
    let ids: Vec<String> = catalog()
        .into_iter()
        .filter(|c| c.judge == Judge::Informational)
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, ["7.1.6", "7.13.1", "7.13.2"]);
}

#[test]
fn every_case_has_a_timer_so_it_ends() {
    for c in catalog() {
        let timed = c
            .steps
            .iter()
            .any(|s| matches!(s, Step::KillAfter { .. } | Step::CloseAfter { .. }));
        assert!(timed, "{} has no kill or close timer", c.id);
    }
}

#[test]
fn cases_round_trip_through_json() {
    for c in catalog() {
        let json = serde_json::to_string(&c).expect("serializes");
        let back: crate::Case = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, c, "{}", c.id);
    }
}

#[test]
fn chops_and_syncs_as_autobahn() {
    let all = catalog();
    let writes = |id: &str| -> Vec<Write> {
        all.iter()
            .find(|c| c.id == id)
            .expect("exists")
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::Frame { write, .. } => Some(*write),
                _ => None,
            })
            .collect()
    };
    assert_eq!(writes("1.1.8"), [Write::Chop(997)]);
    assert_eq!(writes("2.6"), [Write::Chop(1)]);
    assert_eq!(writes("3.3"), [Write::Sync; 3]);
    assert_eq!(writes("4.2.5"), [Write::Chop(1); 3]);
    assert_eq!(writes("5.20"), [Write::Sync; 7]);
    assert_eq!(writes("9.6.6"), [Write::Chop(2048)]);
}

#[test]
fn selection_errors_are_explicit() {
    let all = catalog();
    let sel = |inc: &[&str], exc: &[&str]| Selection {
        include: inc.iter().map(|s| s.to_string()).collect(),
        exclude: exc.iter().map(|s| s.to_string()).collect(),
    };
    assert_eq!(select(&all, &sel(&["1.*"], &[])).expect("ok").len(), 16);
    assert_eq!(
        select(&all, &sel(&["1*"], &["1.*", "12.*", "13.*"]))
            .expect("ok")
            .len(),
        1
    );
    assert_eq!(select(&all, &sel(&["6.*"], &["6.5.*"])).expect("ok").len(), 140);
    assert!(select(&all, &sel(&["99.1"], &[])).is_err());
    assert_eq!(select(&all, &sel(&["12.*"], &[])).expect("ok").len(), 90);
    assert!(select(&all, &sel(&["14.*"], &[])).is_err());
}

#[test]
fn message_frames_follow_autobahns_cuts() {
    use crate::model::message_frames;
    use crate::payload::Payload;
    use wsconform_wire::Opcode;
    let count =
        |len: u64, size: u64| message_frames(Opcode::TEXT, &Payload::repeat(*b"*", len), size).count();
    // 10.1.1: 65536 bytes in 1300-byte frames.
    assert_eq!(count(65536, 1300), 51);
    // 9.3.2: an exact multiple ends with an empty final frame.
    assert_eq!(count(4 << 20, 256), 16385);
    // 9.3.9: a message no longer than the size is one frame.
    assert_eq!(count(4 << 20, 4 << 20), 1);
    let frames: Vec<_> = message_frames(Opcode::BINARY, &Payload::bytes(*b"abcd"), 2).collect();
    let shape: Vec<(Opcode, bool, Vec<u8>)> = frames
        .iter()
        .map(|f| (f.opcode, f.fin, f.payload.to_vec()))
        .collect();
    assert_eq!(
        shape,
        [
            (Opcode::BINARY, false, b"ab".to_vec()),
            (Opcode::CONTINUATION, false, b"cd".to_vec()),
            (Opcode::CONTINUATION, true, vec![])
        ]
    );
}

/// Opcodes as map keys keep their JSON form: numbers in strings, `"1"`,
/// not the display name, both ways.
#[test]
fn opcode_map_keys_stay_numbers_in_json() {
    use wsconform_wire::Opcode;
    let case = catalog().into_iter().find(|c| c.id == "10.1.1").expect("exists");
    let json = serde_json::to_value(&case).expect("serializes");
    assert_eq!(json["expected_tx_frames"], serde_json::json!({"0": 50, "1": 1}));
    let back: crate::Case = serde_json::from_value(json).expect("deserializes");
    assert_eq!(
        back.expected_tx_frames,
        Some(BTreeMap::from([(Opcode::CONTINUATION, 50), (Opcode::TEXT, 1)]))
    );
}
