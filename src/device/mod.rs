//! The device: a directory holding installed bundles, their profiles and their sandboxes
//! (DESIGN.md §3). Everything here is read fresh on each call: the directory is the source
//! of truth and may be edited by hand or by the JS helper at any time.

pub mod config;
pub mod names;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::Value;

pub use config::BackupConfig;
pub use names::{is_valid_bundle_name, is_valid_uri};

/// Where the service keeps each bundle's work area, relative to the sandbox root.
pub const WORK_AREA: &str = "data/storage/el2/base/.backup";

#[derive(Debug, Clone)]
pub struct Device {
    root: PathBuf,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExtensionInfo {
    pub name: String,
    /// A Node module, relative to the bundle's directory, whose default export extends
    /// `BackupExtensionAbility`.
    pub src_entry: Option<String>,
}

#[derive(Debug, Clone)]
pub struct InstalledBundle {
    pub name: String,
    pub version_code: i64,
    pub version_name: String,
    pub app_index: i64,
    pub extension: Option<ExtensionInfo>,
    pub config: BackupConfig,
    /// `bundles/<name>/`: where `bundle.json` and `srcEntry` live.
    pub bundle_dir: PathBuf,
    /// `apps/<name>/`: the app's sandbox root ("/" as the app sees it).
    pub sandbox: PathBuf,
}

impl InstalledBundle {
    /// The service's per-bundle work area: `.backup/` in the sandbox.
    pub fn work_area(&self) -> PathBuf {
        self.sandbox.join(WORK_AREA)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeviceInfo {
    pub device_type: String,
    pub system_full_name: String,
}

impl Device {
    /// The device named by `BACKUP_DEVICE_ROOT`, read now; else the per-user default under
    /// the XDG data directory, created on demand.
    pub fn from_env() -> io::Result<Device> {
        if let Some(root) = crate::settings::var_os("BACKUP_DEVICE_ROOT").filter(|r| !r.is_empty()) {
            return Ok(Device { root: PathBuf::from(root) });
        }
        let data = match crate::settings::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
            Some(d) => PathBuf::from(d),
            None => {
                let home = std::env::var_os("HOME")
                    .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "neither BACKUP_DEVICE_ROOT nor HOME is set"))?;
                PathBuf::from(home).join(".local/share")
            }
        };
        let root = data.join("backup/device");
        fs::create_dir_all(root.join("bundles"))?;
        fs::create_dir_all(root.join("apps"))?;
        Ok(Device { root })
    }

    pub fn open(root: impl Into<PathBuf>) -> Device {
        Device { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The service's own state: locks, anonymous files, scan listings.
    pub fn service_dir(&self) -> io::Result<PathBuf> {
        let dir = self.root.join("service");
        fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    pub fn info(&self) -> DeviceInfo {
        let v: Value =
            fs::read_to_string(self.root.join("device.json")).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or(Value::Null);
        DeviceInfo {
            device_type: v.get("deviceType").and_then(Value::as_str).unwrap_or("default").to_string(),
            system_full_name: v.get("systemFullName").and_then(Value::as_str).unwrap_or("OpenHarmony-5.0.0.0").to_string(),
        }
    }

    /// Names of the installed bundles, sorted. A missing `bundles/` means none.
    pub fn installed_bundles(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.root.join("bundles"))
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
                    .filter_map(|e| e.file_name().into_string().ok())
                    .filter(|n| is_valid_bundle_name(n) && self.root.join("bundles").join(n).join("bundle.json").is_file())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// The installed bundle `name`, or `None` when it is not installed (or its `bundle.json`
    /// is unreadable: an app the system cannot read is an app it cannot back up).
    pub fn bundle(&self, name: &str) -> Option<InstalledBundle> {
        if !is_valid_bundle_name(name) {
            return None;
        }
        let bundle_dir = self.root.join("bundles").join(name);
        let meta: Value = serde_json::from_str(&fs::read_to_string(bundle_dir.join("bundle.json")).ok()?).ok()?;
        let extension = meta.get("extension").filter(|e| e.is_object()).map(|e| ExtensionInfo {
            name: e.get("name").and_then(Value::as_str).unwrap_or("BackupExtensionAbility").to_string(),
            src_entry: e.get("srcEntry").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string),
        });
        let config =
            fs::read_to_string(bundle_dir.join("backup_config.json")).ok().and_then(|t| BackupConfig::parse(&t).ok()).unwrap_or_default();
        Some(InstalledBundle {
            name: name.to_string(),
            version_code: meta.get("versionCode").and_then(Value::as_i64).unwrap_or(0),
            version_name: meta.get("versionName").and_then(Value::as_str).unwrap_or("").to_string(),
            app_index: meta.get("appIndex").and_then(Value::as_i64).unwrap_or(0),
            extension,
            config,
            sandbox: self.root.join("apps").join(name),
            bundle_dir,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp() -> PathBuf {
        let d = std::env::temp_dir().join(format!("backup-device-test-{}-{}", std::process::id(), rand_suffix()));
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn rand_suffix() -> u128 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    }

    #[test]
    fn reads_bundles_and_profiles() {
        let root = tmp();
        let b = root.join("bundles/com.example.app");
        fs::create_dir_all(&b).unwrap();
        fs::write(
            b.join("bundle.json"),
            r#"{"name":"com.example.app","versionCode":3,"versionName":"1.2","extension":{"name":"BackupExtensionAbility"}}"#,
        )
        .unwrap();
        fs::write(b.join("backup_config.json"), r#"{"allowToBackupRestore":true}"#).unwrap();
        let d = Device::open(&root);
        assert_eq!(d.installed_bundles(), vec!["com.example.app".to_string()]);
        let ib = d.bundle("com.example.app").unwrap();
        assert_eq!(ib.version_code, 3);
        assert!(ib.extension.is_some());
        assert!(ib.config.allow_to_backup_restore);
        assert_eq!(ib.sandbox, root.join("apps/com.example.app"));
        assert!(d.bundle("com.example.missing").is_none());
        assert!(d.bundle("../bundles").is_none());
        assert_eq!(d.info().device_type, "default");
        fs::remove_dir_all(root).unwrap();
    }
}
