//! The SHA-256 of big files, remembered from one backup to the next, so that a big file that
//! has not changed is not read again only to be hashed for `manage.json` (the file itself
//! still travels as its own fd, unread by the service).
//!
//! A file is unchanged when its device, inode, size, mtime and ctime are those recorded. A
//! caller can set mtime but not ctime, so rewriting a file and putting its mtime back still
//! misses. Timestamps advance in clock ticks, so a write in the same tick as the recorded
//! ctime would not move it: a hash is only remembered for a file whose ctime and mtime were
//! `SETTLED_NS` older than the start of its hashing, and whose identity did not change while
//! it was hashed. The cache is a hint: a missing, unreadable or corrupt file is an empty one,
//! and a restore still checks every hash it records.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// How much older than the hashing a file's times must be for its hash to be remembered.
const SETTLED_NS: i128 = 2_000_000_000;
const VERSION: u32 = 1;

/// What says a file is the one that was hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Identity {
    pub fn of(file: &File) -> io::Result<Identity> {
        let m = file.metadata()?;
        Ok(Identity { dev: m.dev(), ino: m.ino(), size: m.size(), mtime: (m.mtime(), m.mtime_nsec()), ctime: (m.ctime(), m.ctime_nsec()) })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Both times lie `SETTLED_NS` or more before `t`.
    fn settled_before(&self, t: SystemTime) -> bool {
        let ns = |(s, n): (i64, i64)| s as i128 * 1_000_000_000 + n as i128;
        let t = match t.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_nanos() as i128,
            Err(_) => return false,
        };
        ns(self.ctime) <= t - SETTLED_NS && ns(self.mtime) <= t - SETTLED_NS
    }
}

/// A hash computed in this backup, with what is needed to decide whether to remember it.
pub struct Hashed {
    pub sandbox_path: String,
    /// The file before hashing began, and when that was.
    pub before: Identity,
    pub started: SystemTime,
    /// The file once hashed: the hash is of the file `before` only if nothing moved.
    pub after: Identity,
    pub sha256: String,
}

#[derive(Serialize, Deserialize)]
struct Record {
    path: String,
    id: Identity,
    sha256: String,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    version: u32,
    files: Vec<Record>,
}

/// The hashes of one bundle's big files, as its last backup left them.
#[derive(Default)]
pub struct HashCache {
    path: Option<PathBuf>,
    known: HashMap<String, (Identity, String)>,
    /// What the next backup will know: the files this one met, and only those.
    next: Vec<Record>,
}

impl HashCache {
    /// The cache kept at `path` (`None`: no cache, nothing remembered).
    pub fn load(path: Option<&Path>) -> HashCache {
        let stored = path.and_then(|p| std::fs::read(p).ok()).and_then(|b| serde_json::from_slice::<Stored>(&b).ok());
        let known = match stored {
            Some(s) if s.version == VERSION => s.files.into_iter().map(|r| (r.path, (r.id, r.sha256))).collect(),
            _ => HashMap::new(),
        };
        HashCache { path: path.map(Path::to_path_buf), known, next: Vec::new() }
    }

    /// The remembered hash of the file at `sandbox_path`, if it is still the file hashed.
    pub fn lookup(&mut self, sandbox_path: &str, id: &Identity) -> Option<String> {
        let (known, sha256) = self.known.remove(sandbox_path)?;
        if known != *id {
            return None;
        }
        self.next.push(Record { path: sandbox_path.to_string(), id: known, sha256: sha256.clone() });
        Some(sha256)
    }

    /// Keeps a hash computed now for the next backup, when it is safe to (see the header).
    pub fn remember(&mut self, h: Hashed) {
        if h.before == h.after && h.before.settled_before(h.started) {
            self.next.push(Record { path: h.sandbox_path, id: h.before, sha256: h.sha256 });
        }
    }

    /// Writes what the next backup will know (write aside, then rename: a crash leaves the
    /// old cache or the new one).
    pub fn save(self) -> io::Result<()> {
        let Some(path) = self.path else { return Ok(()) };
        if self.next.is_empty() && self.known.is_empty() && !path.exists() {
            return Ok(());
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("tmp");
        let mut f = File::create(&tmp)?;
        f.write_all(&serde_json::to_vec(&Stored { version: VERSION, files: self.next })?)?;
        drop(f);
        std::fs::rename(&tmp, &path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn hashed(path: &str, id: Identity, started: SystemTime) -> Hashed {
        Hashed { sandbox_path: path.into(), before: id, started, after: id, sha256: "ab".repeat(32) }
    }

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("hash-cache-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn later() -> SystemTime {
        SystemTime::now() + Duration::from_secs(10)
    }

    #[test]
    fn a_settled_file_is_found_by_the_next_backup_and_a_rewritten_one_is_not() {
        let dir = scratch("settled");
        let cache_path = dir.join("c/bundle.json");
        let file = dir.join("big.bin");
        std::fs::write(&file, vec![1u8; 4096]).unwrap();
        let id = Identity::of(&File::open(&file).unwrap()).unwrap();

        let mut c = HashCache::load(Some(&cache_path));
        assert_eq!(c.lookup("/data/big.bin", &id), None);
        c.remember(hashed("/data/big.bin", id, later()));
        c.save().unwrap();

        let mut c = HashCache::load(Some(&cache_path));
        assert_eq!(c.lookup("/data/big.bin", &id).as_deref(), Some("ab".repeat(32).as_str()));
        c.save().unwrap();

        // Same size, mtime put back: the ctime moved, so the next backup hashes it again.
        let mtime = std::fs::metadata(&file).unwrap().modified().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(&file, vec![2u8; 4096]).unwrap();
        File::options().write(true).open(&file).unwrap().set_modified(mtime).unwrap();
        let rewritten = Identity::of(&File::open(&file).unwrap()).unwrap();
        assert_eq!((rewritten.size, rewritten.mtime), (id.size, id.mtime));
        let mut c = HashCache::load(Some(&cache_path));
        assert_eq!(c.lookup("/data/big.bin", &rewritten), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_file_that_changed_lately_or_while_hashed_is_not_remembered() {
        let dir = scratch("lately");
        let cache_path = dir.join("bundle.json");
        let file = dir.join("big.bin");
        std::fs::write(&file, b"x").unwrap();
        let id = Identity::of(&File::open(&file).unwrap()).unwrap();
        let mut c = HashCache::load(Some(&cache_path));
        c.remember(hashed("/fresh", id, SystemTime::now()));
        let mut moved = hashed("/moved", id, later());
        moved.after.size += 1;
        c.remember(moved);
        c.save().unwrap();
        let mut c = HashCache::load(Some(&cache_path));
        assert_eq!(c.lookup("/fresh", &id), None);
        assert_eq!(c.lookup("/moved", &id), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_corrupt_cache_is_an_empty_one_and_files_not_met_are_forgotten() {
        let dir = scratch("corrupt");
        let cache_path = dir.join("bundle.json");
        std::fs::write(&cache_path, b"{not json").unwrap();
        let file = dir.join("big.bin");
        std::fs::write(&file, b"x").unwrap();
        let id = Identity::of(&File::open(&file).unwrap()).unwrap();
        let mut c = HashCache::load(Some(&cache_path));
        assert_eq!(c.lookup("/a", &id), None);
        c.remember(hashed("/a", id, later()));
        c.remember(hashed("/b", id, later()));
        c.save().unwrap();
        // A backup that meets only /a: /b is gone from the cache after it.
        let mut c = HashCache::load(Some(&cache_path));
        assert!(c.lookup("/a", &id).is_some());
        c.save().unwrap();
        let mut c = HashCache::load(Some(&cache_path));
        assert!(c.lookup("/a", &id).is_some());
        assert_eq!(c.lookup("/b", &id), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
