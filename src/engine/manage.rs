//! `manage.json`, the index of a bundle's backup (ohos-behaviour.md §3.3).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeSpec {
    pub tv_sec: i64,
    pub tv_nsec: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stat {
    pub st_size: u64,
    pub st_mode: u32,
    pub st_atim: TimeSpec,
    pub st_mtim: TimeSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Information {
    /// Absolute sandbox path; for a big file, where it is restored.
    pub path: String,
    pub stat: Stat,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManageEntry {
    pub file_name: String,
    pub information: Information,
    pub is_user_tar: bool,
    pub is_big_file: bool,
    /// Not a device field (docs/differences.md): the exact byte count of the file as sent.
    /// A device's reader ignores unknown keys; a restore here checks it when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Not a device field: the SHA-256 (lowercase hex) of the file as sent; checked when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// The `size` and `sha256` of a finished output, read with `pread` from offset 0 so the
/// fd's own offset (0, for the receiver) is not moved.
pub fn integrity_of(file: &std::fs::File) -> std::io::Result<(u64, String)> {
    integrity_of_prefix(file, u64::MAX)
}

/// The same of the file's first `len` bytes (all of it, when it is shorter).
pub fn integrity_of_prefix(file: &std::fs::File, len: u64) -> std::io::Result<(u64, String)> {
    use sha2::{Digest, Sha256};
    use std::os::unix::fs::FileExt;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; len.min(1 << 20) as usize];
    let mut at = 0u64;
    while at < len {
        let want = (len - at).min(buf.len() as u64) as usize;
        let n = file.read_at(&mut buf[..want], at)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        at += n as u64;
    }
    Ok((at, hex_lower(&h.finalize())))
}

pub fn hex_lower(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether a recorded `sha256` is well formed (64 hex digits).
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Stat {
    pub fn of(e: &super::ScanEntry) -> Stat {
        Stat {
            st_size: e.size,
            st_mode: e.mode,
            st_atim: TimeSpec { tv_sec: e.atime.0, tv_nsec: e.atime.1 },
            st_mtim: TimeSpec { tv_sec: e.mtime.0, tv_nsec: e.mtime.1 },
        }
    }
}

/// Writes `manage.json` as the reference streams it: `[`, one compact object per line (all
/// but the first prefixed by `,`), `]`.
pub fn write_manage(entries: &[ManageEntry], out: &mut impl std::io::Write) -> std::io::Result<()> {
    out.write_all(b"[")?;
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, e)?;
        out.write_all(b"\n")?;
    }
    out.write_all(b"]")?;
    out.flush()
}

/// Reads a `manage.json` from any producer, a device's streamed or styled one included,
/// tolerating what the reference's reader (`GetExtManageInfo`) tolerates: a UTF-8 byte-order
/// mark, mode defaulting to 0100660, and `isBigFile`: missing means big unless the name ends
/// in `.tar`, any other non-boolean means not big. Anything that is not an array of objects
/// with a string `fileName` is an error.
pub fn parse_manage(bytes: &[u8]) -> Result<Vec<ManageEntry>, String> {
    use serde_json::Value;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("manage.json is not JSON: {e}"))?;
    let arr = v.as_array().ok_or("manage.json is not an array")?;
    let int = |v: Option<&Value>| v.and_then(Value::as_i64);
    let time = |v: Option<&Value>| TimeSpec {
        tv_sec: int(v.and_then(|t| t.get("tv_sec"))).unwrap_or(0),
        tv_nsec: int(v.and_then(|t| t.get("tv_nsec"))).unwrap_or(0).clamp(0, 999_999_999),
    };
    arr.iter()
        .enumerate()
        .map(|(i, e)| {
            let file_name = e
                .get("fileName")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("manage.json entry {i} has no string fileName"))?
                .to_string();
            let info = e.get("information");
            let stat = info.and_then(|i| i.get("stat"));
            let is_big_file = match e.get("isBigFile") {
                Some(b) => b.as_bool().unwrap_or(false),
                None => !file_name.ends_with(".tar"),
            };
            Ok(ManageEntry {
                information: Information {
                    path: info.and_then(|i| i.get("path")).and_then(Value::as_str).unwrap_or("").to_string(),
                    stat: Stat {
                        st_size: stat.and_then(|s| s.get("st_size")).and_then(Value::as_u64).unwrap_or(0),
                        st_mode: stat.and_then(|s| s.get("st_mode")).and_then(Value::as_u64).map(|m| m as u32).unwrap_or(0o100660),
                        st_atim: time(stat.and_then(|s| s.get("st_atim"))),
                        st_mtim: time(stat.and_then(|s| s.get("st_mtim"))),
                    },
                },
                is_user_tar: e.get("isUserTar").and_then(Value::as_bool).unwrap_or(false),
                is_big_file,
                size: e.get("size").and_then(Value::as_u64),
                sha256: e.get("sha256").and_then(Value::as_str).map(str::to_string),
                file_name,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_the_stream_layout() {
        let e = ManageEntry {
            file_name: "0123456789abcdef.db".into(),
            information: Information {
                path: "/data/storage/el2/database/x.db".into(),
                stat: Stat {
                    st_size: 3_000_000,
                    st_mode: 0o100600,
                    st_atim: TimeSpec { tv_sec: 1, tv_nsec: 2 },
                    st_mtim: TimeSpec { tv_sec: 3, tv_nsec: 4 },
                },
            },
            is_user_tar: false,
            is_big_file: true,
            size: Some(3_000_000),
            sha256: Some("ab".repeat(32)),
        };
        let mut t = ManageEntry { file_name: "part.0.tar".into(), is_big_file: false, ..e.clone() };
        t.information.path = String::new();
        let mut out = Vec::new();
        write_manage(&[t.clone(), e.clone()], &mut out).unwrap();
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.starts_with("[{\"fileName\":\"part.0.tar\""), "{text}");
        assert!(text.contains("\n,{\"fileName\":\"0123456789abcdef.db\""), "{text}");
        assert_eq!(parse_manage(&out).unwrap(), vec![t, e]);
    }

    #[test]
    fn reads_a_devices_streamed_manage_json() {
        // As `DoAppendFiles` writes it: jsoncpp's compact objects (keys sorted, non-ASCII as
        // \u escapes), "," before all but the first, "\n" after each; here with a BOM and
        // "\r\n" ends as an editor on another system might leave it.
        let text = "\u{feff}[{\"fileName\":\"0123456789abcdef.mp4\",\"information\":{\"path\":\"/data/storage/el2/base/files/caf\\u00e9.mp4\",\
                    \"stat\":{\"st_atim\":{\"tv_nsec\":7,\"tv_sec\":1},\"st_mode\":33152,\"st_mtim\":{\"tv_nsec\":555000001,\"tv_sec\":1700000070},\
                    \"st_size\":2101249}},\"isBigFile\":true,\"isUserTar\":false}\r\n,{\"fileName\":\"part.0.tar\",\"information\":\
                    {\"path\":\"/data/storage/el2/base/.backup/backup/part.0.tar\",\"stat\":{\"st_size\":37888}},\"isBigFile\":false,\"isUserTar\":false}\r\n]";
        let v = parse_manage(text.as_bytes()).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].information.path, "/data/storage/el2/base/files/café.mp4");
        assert_eq!(v[0].information.stat.st_mtim, TimeSpec { tv_sec: 1_700_000_070, tv_nsec: 555_000_001 });
        assert_eq!(v[0].information.stat.st_mode, 0o100600);
        assert!(v[0].is_big_file && !v[1].is_big_file);
        assert_eq!(v[1].information.stat.st_mode, 0o100660, "a missing mode is the reader's default");
    }

    #[test]
    fn tolerates_missing_fields_and_refuses_garbage() {
        let v = parse_manage(br#"[{"fileName":"abc"},{"fileName":"part.1.tar"}]"#).unwrap();
        assert!(v[0].is_big_file && !v[1].is_big_file);
        assert_eq!(v[0].information.stat.st_mode, 0o100660);
        let v = parse_manage(br#"[{"fileName":"abc","isBigFile":1}]"#).unwrap();
        assert!(!v[0].is_big_file, "a non-boolean isBigFile is false, as on a device");
        assert!(parse_manage(b"{}").is_err());
        assert!(parse_manage(b"[{\"name\":1}]").is_err());
        assert!(parse_manage(b"[{\"fileName\":").is_err());
    }
}
