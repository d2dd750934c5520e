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
}
