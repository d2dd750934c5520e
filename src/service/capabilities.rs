//! The capability file: what this device can back up (ohos-behaviour.md §3.5), and the
//! validation of a remote one handed to a restore.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{json, Map, Value};

use crate::device::{Device, InstalledBundle};
use crate::protocol::{BundleTime, BACKUP_VERSION};

/// Old-device versions that may restore even when `allToBackup` is false (reference §1.4).
const SPECIAL_VERSION_NAMES: [&str; 6] = ["0.0.0.0", "99.99.99.999", "99.99.99.998", "99.99.99.997", "99.99.99.996", "99.99.99.995"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// `backup.getLocalCapabilities()`: every installed app, `backupVersion` included.
    Module,
    /// `session.getLocalCapabilities()` (API 18): allowed apps only, sizes 0, no version.
    Session,
}

/// Bytes of regular files in a sandbox, the service's work area excluded.
pub fn space_occupied(sandbox: &Path) -> u64 {
    walk_sizes(sandbox, |_| true)
}

/// Bytes of regular files whose mtime is newer than `since` seconds.
pub fn space_changed_since(sandbox: &Path, since: i64) -> u64 {
    walk_sizes(sandbox, |m| m.mtime > since)
}

struct FileMeta {
    mtime: i64,
}

fn walk_sizes(sandbox: &Path, keep: impl Fn(&FileMeta) -> bool) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let work_area = sandbox.join(crate::device::WORK_AREA);
    walkdir::WalkDir::new(sandbox)
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| e.path() != work_area)
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| e.metadata().ok())
        .filter(|m| keep(&FileMeta { mtime: m.mtime() }))
        .map(|m| m.len())
        .sum()
}

fn bundle_info(b: &InstalledBundle, variant: Variant, incremental_since: Option<i64>) -> Value {
    let allowed = b.extension.is_some() && b.config.allow_to_backup_restore;
    let space = match variant {
        Variant::Module if allowed => space_occupied(&b.sandbox),
        _ => 0,
    };
    let mut o = Map::new();
    o.insert("allToBackup".into(), json!(allowed));
    o.insert("appIndex".into(), json!(b.app_index));
    o.insert("extensionName".into(), json!(b.extension.as_ref().map(|e| e.name.as_str()).unwrap_or("")));
    o.insert("extraInfo".into(), b.config.extra_info.clone().unwrap_or_else(|| json!({"supportScene": []})));
    o.insert("fullBackupOnly".into(), json!(b.config.full_backup_only));
    if let Some(since) = incremental_since {
        let inc = if allowed { space_changed_since(&b.sandbox, since) } else { 0 };
        o.insert("increSpaceOccupied".into(), json!(inc));
    }
    o.insert("name".into(), json!(b.name));
    o.insert("needToInstall".into(), json!(false));
    o.insert("requireCompatibility".into(), json!(b.config.require_compatibility));
    o.insert("restoreDeps".into(), json!(b.config.restore_deps));
    o.insert("spaceOccupied".into(), json!(space));
    o.insert("supportScene".into(), json!(b.config.support_scene));
    o.insert("versionCode".into(), json!(b.version_code));
    o.insert("versionName".into(), json!(b.version_name));
    Value::Object(o)
}

/// The capability JSON of `device`. With `incremental`, every app carries
/// `increSpaceOccupied`: bytes changed since its listed time (0 for unlisted apps means all).
pub fn build(device: &Device, variant: Variant, incremental: Option<&[BundleTime]>) -> Value {
    let times: Option<HashMap<&str, i64>> = incremental.map(|l| l.iter().map(|t| (t.name.as_str(), t.last_incremental_time)).collect());
    let infos: Vec<Value> = device
        .installed_bundles()
        .iter()
        .filter_map(|n| device.bundle(n))
        .filter(|b| variant == Variant::Module || (b.extension.is_some() && b.config.allow_to_backup_restore))
        .map(|b| {
            let since = times.as_ref().map(|t| t.get(b.name.as_str()).copied().unwrap_or(0));
            bundle_info(&b, variant, since)
        })
        .collect();
    let info = device.info();
    let mut top = Map::new();
    if variant == Variant::Module {
        top.insert("backupVersion".into(), json!(BACKUP_VERSION));
    }
    top.insert("bundleInfos".into(), Value::Array(infos));
    top.insert("deviceType".into(), json!(info.device_type));
    top.insert("increAppIndex".into(), json!(true));
    top.insert("systemFullName".into(), json!(info.system_full_name));
    Value::Object(top)
}

/// Tab-indented with sorted keys, as jsoncpp writes it on the device.
pub fn to_text(v: &Value) -> String {
    use serde::Serialize;
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    v.serialize(&mut ser).expect("serialising a Value cannot fail");
    out.push(b'\n');
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// A bundle as the old device described it.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteBundle {
    pub version_code: i64,
    pub version_name: String,
    pub all_to_backup: bool,
    pub full_backup_only: bool,
    /// Bytes the bundle held on the old device: sizes the restore's framework timer.
    pub space_occupied: u64,
}

impl RemoteBundle {
    /// Whether this bundle may be restored according to the capability file.
    pub fn restorable(&self) -> bool {
        let base = self.version_name.split('-').next().unwrap_or("");
        self.all_to_backup || SPECIAL_VERSION_NAMES.contains(&base)
    }
}

/// Parses a remote capability file. Like the reference, one malformed entry invalidates the
/// whole file; unlike it, the caller learns exactly which entry and why.
pub fn parse_remote(bytes: &[u8]) -> Result<HashMap<(String, i64), RemoteBundle>, String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("capability file is not valid JSON: {e}"))?;
    let infos = v.get("bundleInfos").and_then(Value::as_array).ok_or("capability file has no \"bundleInfos\" array")?;
    let mut out = HashMap::new();
    for (i, b) in infos.iter().enumerate() {
        let bad = |field: &str, ty: &str| format!("bundleInfos[{i}].{field} must be {ty}");
        let name = b.get("name").and_then(Value::as_str).ok_or_else(|| bad("name", "a string"))?;
        let version_code = b.get("versionCode").and_then(Value::as_i64).ok_or_else(|| bad("versionCode", "an integer"))?;
        let version_name = b.get("versionName").and_then(Value::as_str).ok_or_else(|| bad("versionName", "a string"))?;
        let space_occupied = b.get("spaceOccupied").and_then(Value::as_i64).ok_or_else(|| bad("spaceOccupied", "an integer"))?;
        let all_to_backup = b.get("allToBackup").and_then(Value::as_bool).ok_or_else(|| bad("allToBackup", "a boolean"))?;
        b.get("extensionName").and_then(Value::as_str).ok_or_else(|| bad("extensionName", "a string"))?;
        let app_index = match b.get("appIndex") {
            None => 0,
            Some(x) => x.as_i64().ok_or_else(|| bad("appIndex", "an integer"))?,
        };
        out.insert(
            (name.to_string(), app_index),
            RemoteBundle {
                version_code,
                version_name: version_name.to_string(),
                all_to_backup,
                full_backup_only: b.get("fullBackupOnly").and_then(Value::as_bool).unwrap_or(false),
                space_occupied: space_occupied.max(0) as u64,
            },
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_docs_example() {
        let text = r#"{"backupVersion":"16.0","bundleInfos":[{"allToBackup":true,"extensionName":"BackupExtensionAbility",
            "name":"com.example.hiworld","needToInstall":false,"spaceOccupied":0,"versionCode":1000000,"versionName":"1.0.0"}],
            "deviceType":"default","systemFullName":"OpenHarmony-4.0.0.0"}"#;
        let m = parse_remote(text.as_bytes()).unwrap();
        let b = &m[&("com.example.hiworld".to_string(), 0)];
        assert!(b.restorable());
        assert_eq!(b.version_code, 1000000);
    }

    #[test]
    fn one_bad_entry_invalidates_the_file() {
        let text = r#"{"bundleInfos":[{"allToBackup":true,"extensionName":"","name":"com.a.bbbbb","spaceOccupied":0,"versionCode":1,"versionName":"1"},
            {"name":"com.b.ccccc"}]}"#;
        let e = parse_remote(text.as_bytes()).unwrap_err();
        assert!(e.contains("bundleInfos[1]"), "{e}");
        assert!(parse_remote(b"not json").is_err());
        assert!(parse_remote(b"{}").is_err());
    }

    #[test]
    fn special_versions_restore_even_when_forbidden() {
        let b = RemoteBundle {
            version_code: 0,
            version_name: "99.99.99.999-x".into(),
            all_to_backup: false,
            full_backup_only: false,
            space_occupied: 0,
        };
        assert!(b.restorable());
        let b = RemoteBundle { version_name: "1.0.0".into(), ..b };
        assert!(!b.restorable());
    }

    #[test]
    fn text_is_tab_indented_with_sorted_keys() {
        let t = to_text(&json!({"b": 1, "a": [1]}));
        assert!(t.starts_with("{\n\t\"a\""), "{t}");
    }
}
