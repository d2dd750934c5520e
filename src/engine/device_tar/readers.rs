//! A device's readers of `manage.json` and `.rp` reports, as models (reference
//! `BJsonEntityExtManage::GetExtManageInfo`, `BReportEntity::GetReportInfos`; ohos-behaviour.md
//! §3.3, §3.4): what a phone makes of the index and reports written here.

use std::collections::BTreeMap;

use serde_json::Value;

/// One `manage.json` element as `GetExtManageInfo` returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtManageInfo {
    pub hash_name: String,
    /// `information.path`.
    pub file_name: String,
    pub st_size: i64,
    pub st_mode: i64,
    pub st_mtim: (i64, i64),
    pub is_user_tar: bool,
    pub is_big_file: bool,
}

/// jsoncpp's `isInt`, `isInt64`: an integer in range (a float with no fraction counts too,
/// which serde never gives for what this project writes).
fn int_in(v: &Value, min: i64, max: i64) -> Option<i64> {
    v.as_i64().filter(|n| (min..=max).contains(n))
}

/// `GetExtManageInfo`: elements without `information` or with an empty `fileName` are
/// dropped; wrong types fall back to the reader's defaults.
pub fn manage_infos(bytes: &[u8]) -> Vec<ExtManageInfo> {
    let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(bytes) else { return vec![] };
    let mut out = Vec::new();
    for item in &items {
        let Some(info) = item.get("information").filter(|_| item.is_object()) else { continue };
        let path = info.get("path").and_then(Value::as_str).unwrap_or("").to_string();
        let stat = info.get("stat");
        let i64_of = |v: Option<&Value>| v.and_then(|v| int_in(v, i64::MIN, i64::MAX)).unwrap_or(0);
        let time = |k: &str| {
            let t = stat.and_then(|s| s.get(k));
            (i64_of(t.and_then(|t| t.get("tv_sec"))), i64_of(t.and_then(|t| t.get("tv_nsec"))))
        };
        let file_name = item.get("fileName").and_then(Value::as_str).unwrap_or("").to_string();
        let is_user_tar = item.get("isUserTar").and_then(Value::as_bool).unwrap_or(false);
        let mut is_big_file = item.get("isBigFile").and_then(Value::as_bool).unwrap_or(false);
        if item.get("isBigFile").is_none() && !file_name.is_empty() && file_name.rsplit_once('.').map(|(_, e)| e) != Some("tar") {
            is_big_file = true;
        }
        if file_name.is_empty() {
            continue;
        }
        out.push(ExtManageInfo {
            st_size: i64_of(stat.and_then(|s| s.get("st_size"))),
            st_mode: stat.and_then(|s| s.get("st_mode")).and_then(|m| int_in(m, i32::MIN as i64, i32::MAX as i64)).unwrap_or(0o100660),
            st_mtim: time("st_mtim"),
            hash_name: file_name,
            file_name: path,
            is_user_tar,
            is_big_file,
        });
    }
    out
}

/// One report line as `ParseReportInfo` reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportFileInfo {
    /// Kept as text, as the device keeps it.
    pub mode: String,
    pub is_dir: bool,
    pub size: i64,
    pub mtime: i64,
    pub hash: String,
    pub is_incremental: bool,
}

/// `SandboxHelper::Decode`: "%XY" is a byte (`strtol` base 16), everything else itself.
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(&b[(i + 1).min(b.len())..(i + 3).min(b.len())]).unwrap_or("");
            out.push(u8::from_str_radix(hex, 16).unwrap_or(0));
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `stringstream >> off_t`: leading digits (with a sign), else 0.
fn leading_number(s: &str) -> i64 {
    let s = s.trim_start();
    let end = s.char_indices().find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && (c == '-' || c == '+')))).map_or(s.len(), |(i, _)| i);
    s[..end].parse().unwrap_or(0)
}

/// `GetReportInfos`: path (leading '/' stripped, decoded when flagged) → its line. Line 1 is
/// ignored, line 2 names the columns; a line whose field count differs from the header's, or
/// has fewer than 7, is skipped; the first line of a path wins.
pub fn report_infos(bytes: &[u8]) -> BTreeMap<String, ReportFileInfo> {
    let mut out = BTreeMap::new();
    let mut keys = 0usize;
    let mut num = 0;
    for line in String::from_utf8_lossy(bytes).split('\n') {
        if line.is_empty() {
            continue;
        }
        let line = line.strip_suffix('\r').unwrap_or(line);
        let splits: Vec<&str> = if line.is_empty() { vec![] } else { line.split(';').collect() };
        if num < 2 {
            if num == 1 {
                keys = splits.len();
            }
            num += 1;
            continue;
        }
        if splits.len() != keys || splits.len() < 7 {
            continue;
        }
        let encoded = splits.len() > 7 && splits[7] == "1";
        let path = splits[0].strip_prefix('/').unwrap_or(splits[0]);
        let path = if encoded { decode(path) } else { path.to_string() };
        out.entry(path).or_insert(ReportFileInfo {
            mode: splits[1].to_string(),
            is_dir: splits[2] == "1",
            size: leading_number(splits[3]),
            mtime: leading_number(splits[4]),
            hash: splits[5].to_string(),
            is_incremental: splits[6] == "1",
        });
    }
    out
}
