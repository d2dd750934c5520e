//! `verifyBackup(folders)` for `ohos-backup verify` (lib/cli/verify.js): the checking is
//! src/engine/verify.rs; this only carries the folders in and the per-bundle report out.

use napi::bindgen_prelude::*;
use napi_derive::napi;

/// Checks backup folders (oldest first for an incremental chain) and returns one entry per
/// bundle folder: `{ bundle, folder, incremental, files, bytes, problems: string[] }`.
#[napi(
    js_name = "verifyBackup",
    ts_return_type = "Array<{ bundle: string, folder: string, incremental: boolean, files: number, bytes: number, problems: string[] }>"
)]
pub fn verify_backup(folders: Vec<String>) -> Result<serde_json::Value> {
    let folders: Vec<std::path::PathBuf> = folders.into_iter().map(Into::into).collect();
    let checks = crate::engine::verify::verify_folders(&folders);
    serde_json::to_value(checks).map_err(|e| Error::from_reason(e.to_string()))
}
