//! The cases every archive test runs on: names around the 100-byte ustar field and far
//! beyond it, empty directories, non-ASCII names, 0-byte and 512-byte files, whole-second
//! and fractional mtimes, modes from 0444 to 0755, and big files that travel beside the tars.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// One file or directory of a source tree, as a device's scanner would see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Absolute sandbox path; a directory's ends in '/'.
    pub path: String,
    /// Permission bits.
    pub mode: u32,
    /// (seconds, nanoseconds).
    pub mtime: (i64, i64),
    /// `None` for a directory.
    pub content: Option<Vec<u8>>,
}

impl Item {
    pub fn is_dir(&self) -> bool {
        self.content.is_none()
    }

    pub fn size(&self) -> u64 {
        self.content.as_ref().map_or(0, |c| c.len() as u64)
    }

    /// A directory with nothing of `items` inside it.
    pub fn is_empty_dir(&self, items: &[Item]) -> bool {
        self.is_dir() && !items.iter().any(|i| i.path.len() > self.path.len() && i.path.starts_with(&self.path))
    }

    /// Over 2 MiB: sent as itself, not in a tar.
    pub fn is_big(&self) -> bool {
        self.size() > super::super::BIG_FILE_THRESHOLD
    }
}

pub const FILES: &str = "/data/storage/el2/base/files";

/// The bytes of a big file of `len` bytes (the JS test makes the same ones).
pub fn big_content(len: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * 7 + 3) % 251) as u8).collect()
}

/// A path under `files/` of exactly `len` bytes, in components of at most 200 bytes
/// (a file name may not exceed 255).
pub fn path_of_len(len: usize, tag: &str) -> String {
    let mut p = format!("{FILES}/{tag}");
    while p.len() < len {
        let room = len - p.len();
        if room > 201 {
            p.push('/');
            p.push_str(&"d".repeat(200.min(room - 2 - 1)));
        } else if room >= 2 {
            p.push('/');
            p.push_str(&"f".repeat(room - 1));
        } else {
            p.push('x');
        }
    }
    assert_eq!(p.len(), len, "{p}");
    p
}

fn file(path: String, mode: u32, mtime: (i64, i64), content: Vec<u8>) -> Item {
    Item { path, mode, mtime, content: Some(content) }
}

fn dir(path: String, mode: u32, mtime: (i64, i64)) -> Item {
    assert!(path.ends_with('/'));
    Item { path, mode, mtime, content: None }
}

/// Every case. The directories listed are empty, but for two read-only ones with files
/// inside (a device's own tar gives only empty directories an entry).
pub fn items() -> Vec<Item> {
    let t = 1_700_000_000;
    let mut v = Vec::new();
    for (i, len) in [99usize, 100, 101, 255, 4000].into_iter().enumerate() {
        let body = format!("a name of {len} bytes\n").into_bytes();
        v.push(file(path_of_len(len, &format!("long{len}")), 0o640, (t + i as i64, 250_000_000 * (i as i64 % 2)), body));
    }
    v.push(dir(path_of_len(150, "longdir") + "/", 0o700, (t + 10, 0)));
    v.push(dir(format!("{FILES}/empty/"), 0o755, (t + 11, 0)));
    v.push(dir(format!("{FILES}/nested/a/b/empty/"), 0o555, (t + 12, 0)));
    v.push(dir(format!("{FILES}/readonly/"), 0o555, (t + 13, 0)));
    v.push(file(format!("{FILES}/readonly/kept.txt"), 0o444, (t + 14, 0), b"kept".to_vec()));
    v.push(dir(format!("{FILES}/readonly/locked/"), 0o500, (t + 15, 0)));
    v.push(file(format!("{FILES}/readonly/locked/inner.txt"), 0o600, (t + 16, 0), b"inner".to_vec()));
    v.push(file(format!("{FILES}/日本語/naïve café.txt"), 0o644, (t + 20, 123_456_789), "こんにちは".as_bytes().to_vec()));
    v.push(file(format!("{FILES}/emoji-🎉/ü.bin"), 0o600, (t + 21, 0), vec![0xff, 0, 0xfe]));
    v.push(file(format!("{FILES}/zero/empty.txt"), 0o444, (t + 30, 0), vec![]));
    v.push(file(format!("{FILES}/zero/also-empty"), 0o600, (t + 31, 999_999_999), vec![]));
    for (n, mode) in [(511usize, 0o644), (512, 0o444), (513, 0o755), (1024, 0o700)] {
        v.push(file(format!("{FILES}/blocks/f{n}"), mode, (t + 40 + n as i64, 0), (0..n).map(|i| (i % 256) as u8).collect()));
    }
    for (i, mode) in [0o444u32, 0o500, 0o600, 0o640, 0o644, 0o664, 0o700, 0o711, 0o750, 0o755].into_iter().enumerate() {
        v.push(file(
            format!("{FILES}/modes/m{mode:o}"),
            mode,
            (t + 50 + i as i64, 1_000 * i as i64),
            format!("mode {mode:o}").into_bytes(),
        ));
    }
    v.push(file(format!("{FILES}/times/epoch-second"), 0o644, (1, 0), b"one second after the epoch".to_vec()));
    v.push(file("/data/storage/el2/database/rdb/main.db".into(), 0o660, (t + 60, 42), b"SQLite format 3\0".to_vec()));
    v.push(file("/data/storage/el1/base/preferences/p.xml".into(), 0o660, (t + 61, 0), b"<map/>".to_vec()));
    // Big files: one with a fractional mtime, one that is an app's own .tar (never untarred).
    v.push(file(format!("{FILES}/video/clip.mp4"), 0o600, (t + 70, 555_000_001), big_content(2 * 1024 * 1024 + 4097)));
    v.push(file(format!("{FILES}/archives/own.tar"), 0o644, (t + 71, 0), big_content(2 * 1024 * 1024 + 512)));
    v
}

/// Creates the items under `sandbox` with their modes and mtimes (directories' last, so
/// creating their contents does not move them).
pub fn materialise(sandbox: &Path, items: &[Item]) {
    for it in items {
        let p = sandbox.join(it.path.trim_start_matches('/'));
        match &it.content {
            Some(c) => {
                fs::create_dir_all(p.parent().unwrap()).unwrap();
                fs::write(&p, c).unwrap();
            }
            None => fs::create_dir_all(&p).unwrap(),
        }
    }
    for it in items.iter().filter(|i| !i.is_dir()).chain(items.iter().filter(|i| i.is_dir())) {
        let p = sandbox.join(it.path.trim_start_matches('/'));
        set_times(&p, it.mtime);
        fs::set_permissions(&p, fs::Permissions::from_mode(it.mode)).unwrap();
    }
}

fn set_times(p: &Path, (sec, nsec): (i64, i64)) {
    let t = std::time::UNIX_EPOCH + std::time::Duration::new(sec as u64, nsec as u32);
    let times = fs::FileTimes::new().set_accessed(t).set_modified(t);
    fs::File::open(p).unwrap().set_times(times).unwrap();
}
