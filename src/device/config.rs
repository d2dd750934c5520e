//! `backup_config.json`, the app's backup profile, with the reference's defaults
//! (ohos-behaviour.md §3.1, §3.6).

use serde_json::Value;

/// The 13 directories OpenHarmony backs up when a profile has no `includes`.
pub const DEFAULT_INCLUDES: [&str; 13] = [
    "data/storage/el1/database/",
    "data/storage/el1/base/files/",
    "data/storage/el1/base/preferences/",
    "data/storage/el1/base/haps/*/database/",
    "data/storage/el1/base/haps/*/files/",
    "data/storage/el1/base/haps/*/preferences/",
    "data/storage/el2/database/",
    "data/storage/el2/base/files/",
    "data/storage/el2/base/preferences/",
    "data/storage/el2/base/haps/*/database/",
    "data/storage/el2/base/haps/*/files/",
    "data/storage/el2/base/haps/*/preferences/",
    "data/storage/el2/distributedfiles/",
];

#[derive(Debug, Clone, PartialEq)]
pub struct OptionDir {
    pub scene_id: String,
    pub includes: Option<Vec<String>>,
    pub excludes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct BackupConfig {
    /// Only a JSON `true` allows backup and restore.
    pub allow_to_backup_restore: bool,
    /// `None` when absent or not an array: the defaults apply.
    pub includes: Option<Vec<String>>,
    pub excludes: Vec<String>,
    pub full_backup_only: bool,
    pub restore_deps: String,
    pub support_scene: String,
    pub require_compatibility: bool,
    pub extra_info: Option<Value>,
    pub option_dir: Vec<OptionDir>,
}

fn string_array(v: Option<&Value>) -> Option<Vec<String>> {
    v?.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
}

impl BackupConfig {
    /// Parses a profile. Like the reference, unknown or mistyped fields fall back to their
    /// defaults rather than failing: a broken profile means "not allowed", never a crash.
    pub fn parse(text: &str) -> Result<BackupConfig, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| format!("backup_config.json: {e}"))?;
        if !v.is_object() {
            return Err("backup_config.json: not a JSON object".into());
        }
        let option_dir = v
            .get("optionDir")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|o| {
                        let scene_id = match o.get("sceneId")? {
                            Value::String(s) => s.clone(),
                            Value::Number(n) => n.to_string(),
                            _ => return None,
                        };
                        Some(OptionDir {
                            scene_id,
                            includes: string_array(o.get("includes")),
                            excludes: string_array(o.get("excludes")).unwrap_or_default(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(BackupConfig {
            allow_to_backup_restore: v.get("allowToBackupRestore") == Some(&Value::Bool(true)),
            includes: string_array(v.get("includes")),
            excludes: string_array(v.get("excludes")).unwrap_or_default(),
            full_backup_only: v.get("fullBackupOnly") == Some(&Value::Bool(true)),
            restore_deps: v.get("restoreDeps").and_then(Value::as_str).unwrap_or("").to_string(),
            support_scene: v.get("supportScene").and_then(Value::as_str).unwrap_or("").to_string(),
            require_compatibility: v.get("requireCompatibility") == Some(&Value::Bool(true)),
            extra_info: v.get("extraInfo").filter(|e| e.is_object()).cloned(),
            option_dir,
        })
    }

    /// The include and exclude lists for a backup, honouring `backupScene` + `optionDir`.
    /// An empty includes array means `[""]`: nothing is backed up.
    pub fn scan_lists(&self, backup_scene: Option<&str>) -> (Vec<String>, Vec<String>) {
        let (inc, exc) = match backup_scene.and_then(|s| self.option_dir.iter().find(|o| o.scene_id == s)) {
            Some(o) => (o.includes.clone(), o.excludes.clone()),
            None => (self.includes.clone(), self.excludes.clone()),
        };
        let inc = match inc {
            None => DEFAULT_INCLUDES.iter().map(|s| s.to_string()).collect(),
            Some(v) if v.is_empty() => vec![String::new()],
            Some(v) => v,
        };
        (inc, exc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_when_includes_missing() {
        let c = BackupConfig::parse(r#"{"allowToBackupRestore": true}"#).unwrap();
        assert!(c.allow_to_backup_restore);
        let (inc, exc) = c.scan_lists(None);
        assert_eq!(inc.len(), 13);
        assert!(exc.is_empty());
    }

    #[test]
    fn only_json_true_allows() {
        assert!(!BackupConfig::parse(r#"{"allowToBackupRestore": "true"}"#).unwrap().allow_to_backup_restore);
        assert!(!BackupConfig::parse(r#"{}"#).unwrap().allow_to_backup_restore);
    }

    #[test]
    fn empty_includes_back_up_nothing() {
        let c = BackupConfig::parse(r#"{"includes": []}"#).unwrap();
        assert_eq!(c.scan_lists(None).0, vec![String::new()]);
    }

    #[test]
    fn scene_selects_option_dir() {
        let c = BackupConfig::parse(r#"{"includes":["a/"],"optionDir":[{"sceneId":"2","includes":["b/"],"excludes":["b/x"]}]}"#).unwrap();
        assert_eq!(c.scan_lists(Some("2")), (vec!["b/".to_string()], vec!["b/x".to_string()]));
        assert_eq!(c.scan_lists(Some("9")).0, vec!["a/".to_string()]);
        assert_eq!(c.scan_lists(None).0, vec!["a/".to_string()]);
    }

    #[test]
    fn broken_json_is_an_error_not_a_panic() {
        assert!(BackupConfig::parse("{").is_err());
        assert!(BackupConfig::parse("[]").is_err());
    }
}
