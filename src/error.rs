//! Every error code the addon can surface, with its documented message: one table.
//!
//! Codes keep their identity everywhere (DESIGN.md §5.2): a 1350xxxx code that
//! rejects a promise is not folded into 13900042 as the reference does.

use std::fmt;
use std::io;

pub const E_PERMISSION: i32 = 201;
pub const E_NOT_SYSTEM_APP: i32 = 202;
pub const E_PARAM: i32 = 401;
/// 401 again, worded as the tables of getBackupInfo, updateTimer and updateSendRate word it
/// (the others say "Parameter error. Possible causes: …"). Internal only: errors carry 401.
pub const E_PARAM_SHORT: i32 = -401;
pub const E_FORBID: i32 = 13500001;
pub const E_EXT_BOOT_TIMEOUT: i32 = 13500002;
pub const E_TIMEOUT: i32 = 13500003;
pub const E_EXT_DIED: i32 = 13500004;
pub const E_BUNDLE_INFO_EMPTY: i32 = 13500005;
pub const E_TAR: i32 = 13500006;
pub const E_EXT_THROW: i32 = 13500007;
pub const E_UNTAR: i32 = 13500008;
pub const E_EXT_BOOT_FAIL: i32 = 13500009;
pub const E_CANCEL_UNSTARTED: i32 = 13500011;
pub const E_CANCEL_NO_TASK: i32 = 13500012;
pub const E_SESSION_CONFLICT: i32 = 13500013;
pub const E_IPC: i32 = 13600001;
pub const E_PERM: i32 = 13900001;
pub const E_IO: i32 = 13900005;
pub const E_NOMEM: i32 = 13900011;
pub const E_INVAL: i32 = 13900020;
pub const E_NOSPC: i32 = 13900025;
pub const E_UNKNOWN: i32 = 13900042;

/// The code a caller sees (the internal wording variants of 401 are 401).
fn public_code(code: i32) -> i32 {
    if code == E_PARAM_SHORT {
        E_PARAM
    } else {
        code
    }
}

/// The documented message of each code (API docs first, the reference's table where the
/// docs have none).
pub fn message_of(code: i32) -> &'static str {
    match code {
        E_PERMISSION => "Permission verification failed, usually the result returned by VerifyAccessToken.",
        E_NOT_SYSTEM_APP => "Permission verification failed, application which is not a system application uses system API.",
        E_PARAM => "Parameter error. Possible causes: 1. Mandatory parameters are left unspecified. 2. Incorrect parameter types. 3. Parameter verifcation faild.",
        E_PARAM_SHORT => "The input parameter is invalid.",
        E_FORBID => "The application is not added to the backup or restore.",
        E_EXT_BOOT_TIMEOUT => "Failed to start application extension Procedure.",
        E_TIMEOUT => "Backup or restore timed out.",
        E_EXT_DIED => "Application extension death.",
        E_BUNDLE_INFO_EMPTY => "The bundle info for backup/restore is empty.",
        E_TAR => "Tar failed.",
        E_EXT_THROW => "Extension throw exception.",
        E_UNTAR => "Untar failed.",
        E_EXT_BOOT_FAIL => "Failed to boot application extension.",
        E_CANCEL_UNSTARTED => "The task to be cancelled is not started.",
        E_CANCEL_NO_TASK => "The task to be cancelled does not exist.",
        E_SESSION_CONFLICT => "Session Conflict",
        E_IPC => "IPC error.",
        E_PERM => "Operation not permitted.",
        E_IO => "I/O error.",
        E_NOMEM => "Out of memory.",
        E_INVAL => "Invalid argument.",
        E_NOSPC => "No space left on device.",
        _ => "Unknown error.",
    }
}

/// A thread-safe business error: becomes a JS `BusinessError` on the JS thread.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BizError {
    pub code: i32,
    /// The full message: the documented text, then what exactly was wrong.
    pub message: String,
    /// The bundle name, for errors delivered to onFileReady/onBundleBegin/onBundleEnd.
    pub data: Option<String>,
}

impl BizError {
    pub fn new(code: i32) -> Self {
        BizError { code: public_code(code), message: message_of(code).to_string(), data: None }
    }

    /// The documented message followed by a precise reason, so a user sees what to fix.
    pub fn with_detail(code: i32, detail: impl fmt::Display) -> Self {
        BizError { code: public_code(code), message: format!("{} {}", message_of(code), detail), data: None }
    }

    pub fn for_bundle(mut self, bundle: &str) -> Self {
        self.data = Some(bundle.to_string());
        self
    }

    /// The reference's errno mapping for per-file errors (ohos-behaviour.md §5.3).
    pub fn from_errno(errno: i32) -> Self {
        use nix::libc;
        let code = match errno {
            libc::EPERM => E_PERM,
            libc::EIO | libc::EBADF | libc::EACCES | libc::EFBIG => E_IO,
            libc::ENOMEM | libc::EMFILE | libc::ENFILE => E_NOMEM,
            libc::ENOENT | libc::ENOTDIR | libc::EISDIR | libc::ENAMETOOLONG => E_INVAL,
            libc::ENOSPC | libc::EDQUOT => E_NOSPC,
            _ => E_UNKNOWN,
        };
        BizError { code, message: format!("{} system errno: {}", message_of(code), errno), data: None }
    }

    pub fn from_io(e: &io::Error) -> Self {
        if let Some(r) = e.get_ref().and_then(|inner| inner.downcast_ref::<Refused>()) {
            return Self::with_detail(E_UNTAR, &r.0);
        }
        match e.raw_os_error() {
            Some(errno) => Self::from_errno(errno),
            None => Self::with_detail(E_UNKNOWN, e),
        }
    }
}

impl fmt::Display for BizError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (code {})", self.message, self.code)
    }
}

impl std::error::Error for BizError {}

pub type BizResult<T> = Result<T, BizError>;

/// An `io::Error` payload for a hostile sandbox or archive found while doing file-system
/// work (a symlink where a directory must be): it surfaces as 13500008 like every other
/// refusal of hostile input, never as an errno code.
#[derive(Debug)]
pub struct Refused(pub String);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_mapping_follows_the_reference() {
        assert_eq!(BizError::from_errno(nix::libc::ENOENT).code, E_INVAL);
        assert_eq!(BizError::from_errno(nix::libc::ENOSPC).code, E_NOSPC);
        assert_eq!(BizError::from_errno(nix::libc::EACCES).code, E_IO);
        assert_eq!(BizError::from_errno(nix::libc::EPERM).code, E_PERM);
        assert_eq!(BizError::from_errno(9999).code, E_UNKNOWN);
        assert!(BizError::from_errno(nix::libc::ENOENT).message.starts_with("Invalid argument."));
    }

    #[test]
    fn detail_follows_the_documented_message() {
        let e = BizError::with_detail(E_INVAL, "uri must not be empty").for_bundle("com.example.a");
        assert_eq!(e.message, "Invalid argument. uri must not be empty");
        assert_eq!(e.data.as_deref(), Some("com.example.a"));
    }
}
