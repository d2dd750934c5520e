//! The incremental report (`.rp`) format, written and read here only (ohos-behaviour.md §3.4):
//!
//! ```text
//! version=1.0&attrNum=8
//! path;mode;dir;size;mtime;hash;usertar;encodeFlag
//! /data/storage/el2/base/files/a.txt;33188;0;12;1700000000;9F86D0…;1;0
//! ```
//!
//! Paths that contain a separator or a control character are percent-encoded (unreserved:
//! letters, digits and `/-_.!~*()'`; uppercase hex) and flagged with encodeFlag 1. SHA-256
//! digests are uppercase hex. The reader is strict: a malformed line is an error naming the
//! line, never a panic and never a silently skipped file.

use std::fmt;
use std::io::{self, Write};

pub const VERSION_LINE: &str = "version=1.0&attrNum=8";
/// The report versions this reader understands (the first line's `version=`).
pub const KNOWN_VERSIONS: [&str; 1] = ["1.0"];
/// The header the extension side writes (column 7 is `usertar`).
pub const HEADER: &str = "path;mode;dir;size;mtime;hash;usertar;encodeFlag";
/// A line longer than this cannot be a valid entry (4096-byte path, fully encoded, plus fields).
pub const MAX_LINE: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportEntry {
    /// Absolute sandbox path, with its leading '/'; directories end in '/'.
    pub path: String,
    /// `st_mode`.
    pub mode: u32,
    pub is_dir: bool,
    pub size: u64,
    /// Seconds.
    pub mtime: i64,
    /// Uppercase hex SHA-256 of the content; empty for directories.
    pub hash: String,
    /// Column 7: `usertar` (1 for files) or, in stat listings, `isIncremental`.
    pub flag: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportError {
    /// 1-based line number.
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "report line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for ReportError {}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"/-_.!~*()'".contains(&b)
}

fn needs_encoding(path: &str) -> bool {
    path.bytes().any(|b| b == b';' || b < 0x20 || b == 0x7f)
}

pub fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len() * 3);
    for b in path.bytes() {
        if is_unreserved(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn decode_path(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or("a '%' escape is cut short")?;
            let hex = std::str::from_utf8(hex).map_err(|_| "a '%' escape is not hex")?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| format!("'%{hex}' is not a hex escape"))?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "the decoded path is not UTF-8".to_string())
}

/// Writes a report: the two header lines, then one line per entry.
pub fn write_report<'a>(entries: impl IntoIterator<Item = &'a ReportEntry>, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "{VERSION_LINE}")?;
    writeln!(out, "{HEADER}")?;
    for e in entries {
        let (path, flag) = if needs_encoding(&e.path) { (encode_path(&e.path), 1) } else { (e.path.clone(), 0) };
        writeln!(out, "{path};{};{};{};{};{};{};{flag}", e.mode, u8::from(e.is_dir), e.size, e.mtime, e.hash, u8::from(e.flag))?;
    }
    Ok(())
}

fn parse_bool(field: &str, name: &str) -> Result<bool, String> {
    match field {
        "0" => Ok(false),
        "1" => Ok(true),
        other => Err(format!("{name} must be 0 or 1, not {other:?}")),
    }
}

/// Reads a report. An empty input is an empty report (no baseline).
pub fn parse_report(bytes: &[u8]) -> Result<Vec<ReportEntry>, ReportError> {
    let mut entries = Vec::new();
    let mut columns = 8;
    for (i, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        let line_no = i + 1;
        let err = |reason: String| ReportError { line: line_no, reason };
        if raw.len() > MAX_LINE {
            return Err(err(format!("line is {} bytes long, more than {MAX_LINE}", raw.len())));
        }
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let line = std::str::from_utf8(raw).map_err(|_| err("not UTF-8".into()))?;
        match line_no {
            1 => {
                if line.is_empty() {
                    continue;
                }
                let Some(rest) = line.strip_prefix("version=") else {
                    return Err(err(format!("expected the version line, found {:?}", truncate(line))));
                };
                // A later layout may mean other columns: refused rather than misread.
                let version = rest.split('&').next().unwrap_or("");
                if !KNOWN_VERSIONS.contains(&version) {
                    return Err(err(format!(
                        "report version {:?} is not one this reader knows ({})",
                        truncate(version),
                        KNOWN_VERSIONS.join(", ")
                    )));
                }
                continue;
            }
            2 => {
                // The reader accepts the storage listing's header too (column 7 named
                // isIncremental); only the column count matters.
                if line.is_empty() {
                    continue;
                }
                columns = line.split(';').count();
                if !line.starts_with("path;") || !(columns == 7 || columns == 8) {
                    return Err(err(format!("expected the column header, found {:?}", truncate(line))));
                }
                continue;
            }
            _ => {}
        }
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(';').collect();
        if fields.len() != columns {
            return Err(err(format!("{} columns, the header has {columns}", fields.len())));
        }
        let encoded = match fields.get(7) {
            Some(f) => parse_bool(f, "encodeFlag").map_err(err)?,
            None => false,
        };
        let path = if encoded { decode_path(fields[0]).map_err(err)? } else { fields[0].to_string() };
        if path.is_empty() || path.len() >= super::PATH_MAX {
            return Err(err("path is empty or too long".into()));
        }
        let path = if path.starts_with('/') { path } else { format!("/{path}") };
        let mode = fields[1].parse::<u32>().map_err(|_| err(format!("mode {:?} is not a number", truncate(fields[1]))))?;
        let is_dir = parse_bool(fields[2], "dir").map_err(err)?;
        let size = fields[3].parse::<u64>().map_err(|_| err(format!("size {:?} is not a number", truncate(fields[3]))))?;
        let mtime = fields[4].parse::<i64>().map_err(|_| err(format!("mtime {:?} is not a number", truncate(fields[4]))))?;
        let hash = fields[5];
        if !(hash.is_empty() || (hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()))) {
            return Err(err(format!("hash {:?} is not a SHA-256 in hex", truncate(hash))));
        }
        let flag = parse_bool(fields[6], "column 7").map_err(err)?;
        entries.push(ReportEntry { path, mode, is_dir, size, mtime, hash: hash.to_ascii_uppercase(), flag });
    }
    Ok(entries)
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(40) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry(path: &str) -> ReportEntry {
        ReportEntry { path: path.into(), mode: 0o100644, is_dir: false, size: 12, mtime: 1_700_000_000, hash: "AB".repeat(32), flag: true }
    }

    #[test]
    fn writes_the_reference_layout() {
        let mut out = Vec::new();
        write_report(&[entry("/data/storage/el2/base/files/a.txt")], &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], VERSION_LINE);
        assert_eq!(lines[1], HEADER);
        assert_eq!(lines[2], format!("/data/storage/el2/base/files/a.txt;33188;0;12;1700000000;{};1;0", "AB".repeat(32)));
    }

    #[test]
    fn encodes_paths_that_need_it() {
        let mut out = Vec::new();
        write_report(&[entry("/data/a;b\nc%d")], &mut out).unwrap();
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.contains("/data/a%3Bb%0Ac%25d;"), "{text}");
        assert!(text.trim_end().ends_with(";1"));
        assert_eq!(parse_report(&out).unwrap()[0].path, "/data/a;b\nc%d");
    }

    #[test]
    fn reads_the_storage_header_and_seven_columns_and_crlf() {
        let text = "version=1.0&attrNum=8\r\npath;mode;dir;size;mtime;hash;isIncremental\r\ndata/x;0660;0;1;2;;1\r\n";
        let e = parse_report(text.as_bytes()).unwrap();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].path, "/data/x");
        assert_eq!(e[0].mode, 660);
    }

    #[test]
    fn reads_a_report_as_a_devices_extension_writes_it() {
        // `BFile::WriteFile`: mode in decimal, a directory's size is its st_size, empty hash
        // and usertar 0 for a directory, a path with ';' percent-encoded (flag 1).
        let hash = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08";
        let text = format!(
            "version=1.0&attrNum=8\npath;mode;dir;size;mtime;hash;usertar;encodeFlag\n\
             /data/storage/el2/base/files/a%3Bb.txt;33188;0;4;1700000000;{hash};1;1\n\
             /data/storage/el2/base/files/empty/;16877;1;4096;1700000001;;0;0\n"
        );
        let e = parse_report(text.as_bytes()).unwrap();
        assert_eq!(
            e[0],
            ReportEntry {
                path: "/data/storage/el2/base/files/a;b.txt".into(),
                mode: 33188,
                is_dir: false,
                size: 4,
                mtime: 1_700_000_000,
                hash: hash.into(),
                flag: true
            }
        );
        assert_eq!(
            e[1],
            ReportEntry {
                path: "/data/storage/el2/base/files/empty/".into(),
                mode: 16877,
                is_dir: true,
                size: 4096,
                mtime: 1_700_000_001,
                hash: String::new(),
                flag: false
            }
        );
    }

    #[test]
    fn hostile_input_is_a_clear_error() {
        let head = format!("{VERSION_LINE}\n{HEADER}\n");
        let bad = [
            ("/a;1;0;1;2;;1\n", "columns"),
            ("/a;x;0;1;2;;1;0\n", "mode"),
            ("/a;1;2;1;2;;1;0\n", "dir"),
            ("/a;1;0;-1;2;;1;0\n", "size"),
            ("/a;1;0;1;2;XYZ;1;0\n", "hash"),
            ("%G1;1;0;1;2;;1;1\n", "hex"),
            ("%4;1;0;1;2;;1;1\n", "short"),
            ("%FF;1;0;1;2;;1;1\n", "UTF-8"),
            (";1;0;1;2;;1;0\n", "empty"),
        ];
        for (line, word) in bad {
            let e = parse_report(format!("{head}{line}").as_bytes()).unwrap_err();
            assert_eq!(e.line, 3, "{line}");
            assert!(e.to_string().contains(word), "{line}: {e}");
        }
        let huge = format!("{head}{}\n", "a".repeat(MAX_LINE + 1));
        assert!(parse_report(huge.as_bytes()).unwrap_err().reason.contains("long"));
        assert!(parse_report(b"\xff\xfe").is_err());
        assert!(parse_report(b"garbage\n").is_err());
        let future = parse_report(format!("version=9.9&attrNum=8\n{HEADER}\n").as_bytes()).unwrap_err();
        assert!(future.line == 1 && future.reason.contains("9.9"), "{future}");
        assert_eq!(parse_report(b"").unwrap(), vec![]);
    }

    proptest! {
        #[test]
        fn round_trip(paths in proptest::collection::vec("/[a-zA-Z0-9 ;%\n\r\t_.~é-]{1,60}", 0..20),
                      modes in proptest::collection::vec(any::<u32>(), 20),
                      sizes in proptest::collection::vec(any::<u64>(), 20),
                      mtimes in proptest::collection::vec(any::<i64>(), 20),
                      hashes in proptest::collection::vec("([0-9A-F]{64})?", 20)) {
            let entries: Vec<ReportEntry> = paths.iter().enumerate().map(|(i, p)| ReportEntry {
                path: p.clone(), mode: modes[i], is_dir: i % 3 == 0, size: sizes[i], mtime: mtimes[i],
                hash: hashes[i].clone(), flag: i % 2 == 0,
            }).collect();
            let mut out = Vec::new();
            write_report(&entries, &mut out).unwrap();
            prop_assert_eq!(parse_report(&out).unwrap(), entries);
        }
    }
}
