//! The `infos[i]` string of `appendBundles` (ohos-behaviour.md §3.6): what the service
//! reads from it for one bundle.

use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct BundleInfos {
    /// The `details` of the unicast entry, for `onBackupEx` / `onRestoreEx`.
    pub details: Vec<Value>,
    /// `clearBackupData`: the string "false" keeps the work area; default true.
    pub clear_backup_data: bool,
    pub backup_scene: Option<String>,
    /// Broadcast `app_mapping_relation`: (source, target) pairs.
    pub mapping: Vec<(String, String)>,
    /// `applyDeletions` (ours, docs/differences.md).
    pub apply_deletions: bool,
    /// `delayTime`: seconds an incremental backup waits before its scan, at most 1800.
    pub delay: Option<std::time::Duration>,
    /// A broadcast entry with `isBroadcastOnly: true`: on restore the bundle is only
    /// announced, not restored (the reference drops it from the session at append time).
    pub broadcast_only: bool,
}

impl Default for BundleInfos {
    fn default() -> Self {
        BundleInfos {
            details: Vec::new(),
            clear_backup_data: true,
            backup_scene: None,
            mapping: Vec::new(),
            apply_deletions: false,
            delay: None,
            broadcast_only: false,
        }
    }
}

/// A JSON `true` or the string "true".
fn truthy(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "true" => Some(true),
        Value::String(s) if s == "false" => Some(false),
        _ => None,
    }
}

/// The reference caps `delayTime` at half an hour.
const MAX_DELAY_SECS: f64 = 1800.0;

impl BundleInfos {
    /// Unknown keys are ignored and a string that is not a JSON object means "no infos", as
    /// on the device. Like the device's cJSON_Parse, only the first JSON value counts and
    /// what follows it is ignored (the docs' own infos string is two objects joined by a comma).
    pub fn parse(info: Option<&str>) -> BundleInfos {
        let mut out = BundleInfos::default();
        let first = |t: &str| serde_json::Deserializer::from_str(t).into_iter::<Value>().next().and_then(Result::ok);
        let Some(v) = info.and_then(first).filter(Value::is_object) else { return out };
        out.clear_backup_data = truthy(v.get("clearBackupData")).unwrap_or(true);
        out.apply_deletions = truthy(v.get("applyDeletions")).unwrap_or(false);
        out.delay = v
            .get("delayTime")
            .and_then(|d| d.as_f64().or_else(|| d.as_str().and_then(|s| s.trim().parse().ok())))
            .filter(|s| s.is_finite() && *s > 0.0)
            .map(|s| std::time::Duration::from_secs_f64(s.min(MAX_DELAY_SECS)));
        out.backup_scene = match v.get("backupScene") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        for item in v.get("infos").and_then(Value::as_array).into_iter().flatten() {
            let details = item.get("details").and_then(Value::as_array).cloned().unwrap_or_default();
            match item.get("type").and_then(Value::as_str) {
                Some("unicast") => out.details.extend(details),
                Some("broadcast") => {
                    out.broadcast_only |= truthy(item.get("isBroadcastOnly")).unwrap_or(false);
                    for d in details.iter().filter(|d| d.get("type").and_then(Value::as_str) == Some("app_mapping_relation")) {
                        for pair in d.get("detail").and_then(Value::as_array).into_iter().flatten() {
                            if let (Some(s), Some(t)) =
                                (pair.get("source").and_then(Value::as_str), pair.get("target").and_then(Value::as_str))
                            {
                                out.mapping.push((s.to_string(), t.to_string()));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// The string the app's `onBackupEx(backupInfo)` / `onRestoreEx(…, restoreInfo)` gets:
    /// the unicast details plus the `userId` entry the reference appends, pretty-printed.
    pub fn unicast_details(&self) -> String {
        let mut d = self.details.clone();
        d.push(json!({"type": "userId", "detail": "100"}));
        serde_json::to_string_pretty(&Value::Array(d)).expect("plain JSON")
    }

    /// The installed bundle a backup of `source` restores into, if mapped.
    pub fn mapped_target(&self, source: &str) -> Option<&str> {
        self.mapping.iter().find(|(s, _)| s == source).map(|(_, t)| t.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_keys() {
        let i = BundleInfos::parse(Some(
            r#"{"infos":[{"type":"unicast","details":[{"type":"k","detail":"v"}]},
                {"type":"broadcast","details":[{"type":"app_mapping_relation","detail":[{"source":"com.old.app","target":"com.new.app"}]}]}],
               "clearBackupData":"false","backupScene":"cloud","applyDeletions":true}"#,
        ));
        assert!(!i.clear_backup_data && i.apply_deletions);
        assert_eq!(BundleInfos::parse(Some(r#"{"delayTime":2}"#)).delay, Some(std::time::Duration::from_secs(2)));
        assert_eq!(BundleInfos::parse(Some(r#"{"delayTime":"1e9"}"#)).delay, Some(std::time::Duration::from_secs(1800)));
        assert_eq!(BundleInfos::parse(Some(r#"{"delayTime":-5}"#)).delay, None);
        assert!(BundleInfos::parse(Some(r#"{"infos":[{"type":"broadcast","isBroadcastOnly":true,"details":[]}]}"#)).broadcast_only);
        assert!(!BundleInfos::parse(Some(r#"{"infos":[{"type":"unicast","isBroadcastOnly":true,"details":[]}]}"#)).broadcast_only);
        assert_eq!(i.backup_scene.as_deref(), Some("cloud"));
        assert_eq!(i.mapped_target("com.old.app"), Some("com.new.app"));
        let d: Value = serde_json::from_str(&i.unicast_details()).unwrap();
        assert_eq!(d, json!([{"type":"k","detail":"v"},{"type":"userId","detail":"100"}]));
        assert_eq!(BundleInfos::parse(Some("not json")), BundleInfos::default());
        let none: Value = serde_json::from_str(&BundleInfos::parse(None).unicast_details()).unwrap();
        assert_eq!(none, json!([{"type":"userId","detail":"100"}]));
    }

    #[test]
    fn only_the_first_json_value_counts_as_on_the_device() {
        // The docs' infos string: two objects joined by a comma.
        let two = r#"{"infos":[{"type":"unicast","details":[{"detail":[{"key1":"value1"}]}]}]},
                     {"infos":[{"type":"unicast","details":[{"detail":[{"key2":"value2"}]}]}]}"#;
        let d: Value = serde_json::from_str(&BundleInfos::parse(Some(two)).unicast_details()).unwrap();
        assert_eq!(d, json!([{"detail":[{"key1":"value1"}]},{"type":"userId","detail":"100"}]));
        // Garbage before the first value still means no infos.
        assert_eq!(BundleInfos::parse(Some(", {}")), BundleInfos::default());
    }
}
