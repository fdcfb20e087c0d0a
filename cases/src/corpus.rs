//! The payload corpora of the permessage-deflate cases (Autobahn 12.x,
//! 13.x), generated in code: deterministic, of the same kinds and sizes as
//! the five files Autobahn ships in `autobahntestsuite/testdata/` (listed in
//! its `case/case12_x_x.py`, `WS_COMPRESSION_TESTDATA`), none of their
//! content. What compresses how is what matters to the cases: text with
//! much repetition, a smooth greyscale picture, prose, markup, and a
//! document that is mostly already-compressed binary.
//!
//! | corpus | Autobahn's file | bytes | sent as |
//! | --- | --- | --- | --- |
//! | [`Corpus::Json`] | `data1.json`, a report index | 194 056 | text |
//! | [`Corpus::Bitmap`] | `lena512.bmp`, 512×512 8-bit greyscale BMP | 263 222 | binary |
//! | [`Corpus::Prose`] | `pg2229.txt`, Goethe's Faust I (German, UTF-8) | 222 218 | binary |
//! | [`Corpus::Html`] | `data1.html`, a report page | 263 647 | text |
//! | [`Corpus::Pdf`] | `10.1.1.105.5439.pdf` | 1 042 328 | binary |
//!
//! The text corpora are ASCII, so a window of `len` bytes is also `len`
//! characters (Autobahn cuts its text files by characters; its HTML file
//! has 27 non-ASCII characters, its JSON none).

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// One of the five corpora.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Corpus {
    Json,
    Bitmap,
    Prose,
    Html,
    Pdf,
}

impl Corpus {
    /// In Autobahn's order of categories 12.1–12.5
    /// (`WS_COMPRESSION_TESTDATA_KEYS`).
    pub const ALL: [Corpus; 5] = [
        Corpus::Json,
        Corpus::Bitmap,
        Corpus::Prose,
        Corpus::Html,
        Corpus::Pdf,
    ];

    /// Its size in bytes: Autobahn's file's.
    pub fn size(self) -> usize {
        match self {
            Corpus::Json => 194_056,
            Corpus::Bitmap => 263_222,
            Corpus::Prose => 222_218,
            Corpus::Html => 263_647,
            Corpus::Pdf => 1_042_328,
        }
    }

    /// Whether its messages are binary (Autobahn's `binary` flag).
    pub fn binary(self) -> bool {
        !matches!(self, Corpus::Json | Corpus::Html)
    }

    /// Autobahn's description of its file.
    pub fn description(self) -> &'static str {
        match self {
            Corpus::Json => "Large JSON data file",
            Corpus::Bitmap => "Lena Picture, Bitmap 512x512 bw",
            Corpus::Prose => "Human readable text, Goethe's Faust I (German)",
            Corpus::Html => "Large HTML file",
            Corpus::Pdf => "A larger PDF",
        }
    }

    /// The whole corpus, generated once per process.
    pub fn bytes(self) -> &'static [u8] {
        static CORPORA: [OnceLock<Vec<u8>>; 5] = [const { OnceLock::new() }; 5];
        let slot = Corpus::ALL.iter().position(|&c| c == self).unwrap_or(0);
        CORPORA[slot].get_or_init(|| {
            let mut out = match self {
                Corpus::Json => json(self.size()),
                Corpus::Bitmap => bitmap(),
                Corpus::Prose => prose(self.size()),
                Corpus::Html => html(self.size()),
                Corpus::Pdf => pdf(self.size()),
            };
            out.truncate(self.size());
            out
        })
    }

    /// Message `index` of a case sending `len`-byte messages: the corpus
    /// read as a ring from where the previous message ended (Autobahn's
    /// `sendOne`: `payloadRXPtr` advances by `len` modulo the size).
    pub fn message(self, index: u64, len: u64) -> Vec<u8> {
        let data = self.bytes();
        let size = data.len() as u64;
        let mut out = Vec::with_capacity(len as usize);
        let mut at = (index.wrapping_mul(len) % size) as usize;
        while (out.len() as u64) < len {
            let take = ((len - out.len() as u64) as usize).min(data.len() - at);
            out.extend_from_slice(&data[at..at + take]);
            at = 0;
        }
        out
    }
}

/// splitmix64: a small deterministic generator (no dependency, the same
/// bytes on every platform).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const VERDICTS: [&str; 5] = ["OK", "OK", "OK", "NON-STRICT", "INFORMATIONAL"];

/// A report index like Autobahn's `index.json`: agents, case ids and
/// verdict records, indented by three spaces.
fn json(size: usize) -> Vec<u8> {
    let mut rng = Rng(1);
    let mut s = String::from("{\n");
    let mut agent = 0;
    while s.len() < size {
        agent += 1;
        s.push_str(&format!(
            "   \"Agent{agent}/0.{}.{}\": {{\n",
            agent % 7,
            agent % 3
        ));
        for (n, (a, b, c)) in (1..=9)
            .flat_map(|a| (1..=8).flat_map(move |b| (1..=4).map(move |c| (a, b, c))))
            .enumerate()
        {
            let sep = if n == 0 { "" } else { ",\n" };
            s.push_str(&format!(
                "{sep}      \"{a}.{b}.{c}\": {{\n         \"behavior\": \"{}\",\n         \"behaviorClose\": \"{}\",\n         \"duration\": {},\n         \"remoteCloseCode\": {},\n         \"reportfile\": \"agent{agent}_case_{a}_{b}_{c}.json\"\n      }}",
                rng.pick(&VERDICTS),
                rng.pick(&["OK", "OK", "INFORMATIONAL"]),
                rng.below(40) + 1,
                1000 + rng.below(12),
            ));
        }
        s.push_str("\n   },\n");
    }
    s.into_bytes()
}

/// A 512×512 8-bit greyscale BMP (BITMAPINFOHEADER, a 256-entry grey
/// palette, rows bottom-up): smooth shapes and gradients with a little
/// noise, as a photograph compresses.
fn bitmap() -> Vec<u8> {
    const W: u32 = 512;
    const PALETTE: u32 = 256 * 4;
    const OFFSET: u32 = 14 + 40 + PALETTE;
    let file_size = OFFSET + W * W;
    let mut out = Vec::with_capacity(file_size as usize);
    out.extend_from_slice(b"BM");
    out.extend_from_slice(&file_size.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&OFFSET.to_le_bytes());
    out.extend_from_slice(&40u32.to_le_bytes());
    out.extend_from_slice(&W.to_le_bytes());
    out.extend_from_slice(&W.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&8u16.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&(W * W).to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&256u32.to_le_bytes());
    out.extend_from_slice(&256u32.to_le_bytes());
    for g in 0..=255u8 {
        out.extend_from_slice(&[g, g, g, 0]);
    }
    let mut rng = Rng(2);
    let blobs: Vec<(i64, i64, i64, i64)> = (0..12)
        .map(|_| {
            (
                rng.below(512) as i64,
                rng.below(512) as i64,
                (rng.below(120) + 30) as i64,
                rng.below(160) as i64 - 80,
            )
        })
        .collect();
    for y in 0..W as i64 {
        for x in 0..W as i64 {
            let mut v = 60 + (x + y) / 8;
            for &(cx, cy, r, amp) in &blobs {
                let d2 = (x - cx) * (x - cx) + (y - cy) * (y - cy);
                if d2 < r * r {
                    v += amp * (r * r - d2) / (r * r);
                }
            }
            v += rng.below(9) as i64 - 4;
            out.push(v.clamp(0, 255) as u8);
        }
    }
    out
}

const GERMAN: [&str; 40] = [
    "Faust",
    "Mephistopheles",
    "Gretchen",
    "der",
    "die",
    "das",
    "und",
    "ich",
    "nicht",
    "Geist",
    "Welt",
    "Natur",
    "Himmel",
    "Erde",
    "Herz",
    "Seele",
    "Nacht",
    "schön",
    "Blüte",
    "Träne",
    "Mädchen",
    "Glück",
    "führen",
    "hören",
    "Wärme",
    "über",
    "Gefühl",
    "Zauber",
    "Teufel",
    "ewig",
    "müssen",
    "Liebe",
    "heiß",
    "Straße",
    "Stunde",
    "zurück",
    "Schüler",
    "Wissenschaft",
    "Büchern",
    "Gestalten",
];

/// German verse as UTF-8 (umlauts and ß, as the drama has): speaker
/// names, lines of a few words, stanzas.
fn prose(size: usize) -> Vec<u8> {
    let mut rng = Rng(3);
    let mut s = String::from("\u{feff}Eine Tragödie in Versen, erzeugt für wsconform\n\n");
    while s.len() < size {
        s.push_str(&format!(
            "{}:\n",
            rng.pick(&["FAUST", "MEPHISTOPHELES", "MARGARETE", "WAGNER", "CHOR"])
        ));
        for _ in 0..rng.below(6) + 2 {
            let words = rng.below(6) + 3;
            let mut line: Vec<&str> = (0..words).map(|_| rng.pick(&GERMAN)).collect();
            if rng.below(3) == 0 {
                line.push("—");
            }
            s.push_str(&line.join(" "));
            s.push_str(rng.pick(&[",\n", ".\n", "!\n", ";\n", "?\n"]));
        }
        s.push('\n');
    }
    s.into_bytes()
}

/// A report page: a style sheet, then a table row per case with links and
/// verdict classes.
fn html(size: usize) -> Vec<u8> {
    let mut rng = Rng(4);
    let mut s = String::from(
        "<!DOCTYPE html>\n<html>\n   <head>\n      <meta charset=\"utf-8\" />\n      <style lang=\"css\">\nbody {\n   background-color: #F4F4F4;\n   color: #333;\n   font-family: Segoe UI,Tahoma,Arial,Verdana,sans-serif;\n}\n\ntd.case_ok { background-color: #0a0; }\ntd.case_failed { background-color: #900; }\n      </style>\n   </head>\n   <body>\n      <table id=\"agent_case_results\">\n",
    );
    let mut n = 0u32;
    while s.len() < size {
        n += 1;
        let verdict = rng.pick(&VERDICTS);
        s.push_str(&format!(
            "         <tr>\n            <td class=\"case_subcategory\">Case {}.{}.{}</td>\n            <td class=\"case_{}\"><a href=\"agent_case_{}_{}_{}.html\">{verdict}</a></td>\n            <td class=\"close_{}\">{} ms [{}]</td>\n         </tr>\n",
            n / 100 + 1,
            n / 10 % 10 + 1,
            n % 10 + 1,
            verdict.to_lowercase(),
            n / 100 + 1,
            n / 10 % 10 + 1,
            n % 10 + 1,
            rng.pick(&["ok", "ok", "unclean"]),
            rng.below(900),
            1000 + rng.below(12),
        ));
    }
    s.into_bytes()
}

/// A PDF-like document: the `%PDF` header, objects with dictionaries and
/// text content streams, and large `/FlateDecode` streams of random bytes
/// (already compressed data does not compress again), then an xref table.
fn pdf(size: usize) -> Vec<u8> {
    let mut rng = Rng(5);
    let mut out = b"%PDF-1.2\n%\xc7\xec\x8f\xa2\n".to_vec();
    let mut obj = 0;
    while out.len() < size {
        obj += 1;
        if obj % 3 == 0 {
            let text: Vec<String> = (0..rng.below(40) + 10)
                .map(|i| {
                    format!(
                        "BT /F1 10 Tf 72 {} Td ({} {}) Tj ET",
                        700 - i * 12,
                        rng.pick(&GERMAN),
                        rng.below(1000)
                    )
                })
                .collect();
            let body = text.join("\n");
            out.extend_from_slice(
                format!(
                    "{obj} 0 obj\n<</Length {}>>\nstream\n{body}\nendstream\nendobj\n",
                    body.len()
                )
                .as_bytes(),
            );
        } else {
            let len = rng.below(12_000) + 2_000;
            out.extend_from_slice(
                format!("{obj} 0 obj\n<</Length {len}/Filter /FlateDecode>>\nstream\n").as_bytes(),
            );
            out.extend((0..len).map(|_| rng.next() as u8));
            out.extend_from_slice(b"\nendstream\nendobj\n");
        }
    }
    out.extend_from_slice(b"xref\n0 1\n0000000000 65535 f \ntrailer\n<</Size 1>>\n%%EOF\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_kinds_and_determinism() {
        for c in Corpus::ALL {
            assert_eq!(c.bytes().len(), c.size(), "{c:?}");
            if !c.binary() {
                assert!(c.bytes().is_ascii(), "{c:?}: text corpora are ASCII");
            }
        }
        assert!(!Corpus::Prose.bytes().is_ascii(), "German prose has umlauts");
        assert_eq!(&Corpus::Bitmap.bytes()[..2], b"BM");
        assert_eq!(&Corpus::Pdf.bytes()[..5], b"%PDF-");
        assert_eq!(json(1000), json(1000));
    }

    #[test]
    fn messages_walk_the_ring() {
        let c = Corpus::Json;
        let size = c.size() as u64;
        assert_eq!(c.message(0, 16), &c.bytes()[..16]);
        assert_eq!(c.message(1, 16), &c.bytes()[16..32]);
        // 131072 twice crosses the end: the second wraps to the start.
        let m = c.message(1, 131_072);
        assert_eq!(m.len(), 131_072);
        let tail = (size - 131_072) as usize;
        assert_eq!(&m[..tail], &c.bytes()[131_072..]);
        assert_eq!(&m[tail..], &c.bytes()[..131_072 - tail]);
    }
}
