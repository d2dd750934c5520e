//! `ohos-backup verify`: checks backup folders (as `backupToDir` writes them,
//! `<folder>/<bundle>/<uri>` with `<uri>.rp` beside) completely, without a device: every
//! file manage.json names is there with the size and hash it records, every tar part parses
//! and holds only what a restore accepts, no two entries collide, every `.rp` line agrees
//! with the file it describes, and, for an incremental chain given oldest first, every file
//! of each run's full listing (`manage.json.rp`) is held by that run or an earlier one.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::confined::clean_rel;
use super::manage::{integrity_of, is_sha256_hex, parse_manage, ManageEntry};
use super::report::{parse_report, ReportEntry};
use super::restore::{check_conflicts, destination, for_each_tar_entry, plan_entry, Checked};
use super::EngineError;
use crate::device::{is_valid_bundle_name, is_valid_uri};

/// A bundle's problems are listed up to this many, then counted.
const MAX_LISTED: usize = 50;

/// The result for one bundle folder of one backup folder.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BundleCheck {
    pub bundle: String,
    pub folder: String,
    /// The folder holds a full listing (`manage.json.rp`): an incremental run.
    pub incremental: bool,
    /// Files manage.json names that were checked, and their bytes.
    pub files: u64,
    pub bytes: u64,
    pub problems: Vec<String>,
}

/// One file of a tar part: where it lands, its size and content hash (lowercase hex).
#[derive(Debug, Clone, PartialEq)]
pub struct TarFile {
    pub dest: String,
    pub is_dir: bool,
    pub size: u64,
    pub sha256: String,
}

/// Reads a whole tar part as a restore would (same reader, same entry rules), hashing every
/// file's content. The first refusal is the error.
pub fn inspect_tar(tar: &mut dyn Read, name: &str) -> Result<Vec<TarFile>, EngineError> {
    let mut files = Vec::new();
    for_each_tar_entry(tar, name, &mut |e| {
        let Some((dest, is_dir)) = plan_entry(&e.path, &e.kind).map_err(|m| EngineError::Untar(format!("{name}: {m}")))? else {
            return Ok(());
        };
        let size = e.size;
        let mut data = Checked::new(e.data, !is_dir);
        let copied = io::copy(&mut data, &mut io::sink()).map_err(|err| EngineError::Untar(format!("{name}: {err}")))?;
        if !is_dir && copied != size {
            return Err(EngineError::Untar(format!("{name}: truncated archive: {:?} has {copied} of {size} bytes", e.path)));
        }
        files.push(TarFile { dest, is_dir, size, sha256: data.digest().unwrap_or_default() });
        Ok(())
    })?;
    Ok(files)
}

/// Checks `folders` (oldest first: a chain's full backup, then each incremental run). A
/// folder is a backup folder (bundle folders inside) or a single bundle folder (it holds
/// `manage.json`).
pub fn verify_folders(folders: &[PathBuf]) -> Vec<BundleCheck> {
    let mut chain: HashMap<String, HashMap<String, (u64, String)>> = HashMap::new();
    let mut out = Vec::new();
    for folder in folders {
        let bundles: Vec<(String, PathBuf)> = if folder.join("manage.json").is_file() {
            let name = folder.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            vec![(name, folder.clone())]
        } else {
            let mut v: Vec<(String, PathBuf)> = std::fs::read_dir(folder)
                .map(|rd| {
                    rd.flatten().filter(|e| e.path().is_dir()).map(|e| (e.file_name().to_string_lossy().into_owned(), e.path())).collect()
                })
                .unwrap_or_default();
            v.retain(|(n, _)| is_valid_bundle_name(n));
            v.sort();
            v
        };
        if bundles.is_empty() {
            out.push(BundleCheck {
                bundle: String::new(),
                folder: folder.display().to_string(),
                incremental: false,
                files: 0,
                bytes: 0,
                problems: vec![format!("{} holds no backup (no bundle folder with a manage.json)", folder.display())],
            });
        }
        for (name, dir) in bundles {
            let state = chain.entry(name.clone()).or_default();
            out.push(check_bundle(&name, &dir, state));
        }
    }
    out
}

/// The problems of one bundle folder, capped for the report.
struct Problems {
    listed: Vec<String>,
    more: usize,
}

impl Problems {
    fn add(&mut self, p: String) {
        if self.listed.len() < MAX_LISTED {
            self.listed.push(p);
        } else {
            self.more += 1;
        }
    }

    fn finish(mut self) -> Vec<String> {
        if self.more > 0 {
            self.listed.push(format!("… and {} more problems", self.more));
        }
        self.listed
    }
}

/// Size and hash (lowercase hex) of a whole file.
fn hash_file(path: &Path) -> io::Result<(u64, String)> {
    integrity_of(&File::open(path)?)
}

fn read_rp(path: &Path, p: &mut Problems) -> Option<Vec<ReportEntry>> {
    let bytes = std::fs::read(path).ok()?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    match parse_report(&bytes) {
        Ok(v) => Some(v),
        Err(e) => {
            p.add(format!("{}: {e}", file_label(path)));
            None
        }
    }
}

fn file_label(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Compares a size and hash with what an index records.
fn agree(p: &mut Problems, what: &str, by: &str, got: (u64, &str), want_size: Option<u64>, want_hash: Option<&str>) {
    if let Some(w) = want_size.filter(|w| *w != got.0) {
        p.add(format!("{what} is {} bytes, {by} says {w}", got.0));
    } else if let Some(w) = want_hash.filter(|w| !w.is_empty() && !w.eq_ignore_ascii_case(got.1)) {
        p.add(format!("{what}: SHA-256 {} differs from the {w} {by} records", got.1));
    }
}

fn check_bundle(bundle: &str, dir: &Path, state: &mut HashMap<String, (u64, String)>) -> BundleCheck {
    let mut p = Problems { listed: Vec::new(), more: 0 };
    let mut check = BundleCheck {
        bundle: bundle.to_string(),
        folder: dir.display().to_string(),
        incremental: dir.join("manage.json.rp").is_file(),
        files: 0,
        bytes: 0,
        problems: Vec::new(),
    };
    let manage = match std::fs::read(dir.join("manage.json")) {
        Err(e) => Err(format!("manage.json: {e}")),
        Ok(b) => parse_manage(&b),
    };
    let manage = match manage {
        Ok(m) => m,
        Err(e) => {
            check.problems = vec![e];
            return check;
        }
    };
    let mut dests: Vec<(String, bool)> = Vec::new();
    let mut seen = HashSet::new();
    for m in &manage {
        if !is_valid_uri(&m.file_name) {
            p.add(format!("manage.json names an invalid file {:?}", m.file_name));
            continue;
        }
        let is_part = m.file_name.ends_with(".tar") && !m.is_user_tar && !m.is_big_file;
        if !seen.insert(m.file_name.clone()) {
            if !is_part {
                p.add(format!("manage.json lists the big file {} twice", m.file_name));
            }
            continue;
        }
        let path = dir.join(&m.file_name);
        if !path.is_file() {
            p.add(format!("{} is missing (manage.json names it)", m.file_name));
            continue;
        }
        if m.sha256.as_deref().is_some_and(|h| !is_sha256_hex(h)) {
            p.add(format!("manage.json: the sha256 of {} is not 64 hex digits", m.file_name));
        }
        check.files += 1;
        let delivered =
            if is_part { check_part(m, &path, &mut p, &mut check.bytes) } else { check_big(m, &path, &mut p, &mut check.bytes) };
        for (dest, is_dir, size, hash) in delivered {
            if !is_dir {
                state.insert(dest.clone(), (size, hash));
            }
            dests.push((dest, is_dir));
        }
    }
    if let Err(e) = check_conflicts(dests.iter().map(|(d, is_dir)| (d.as_str(), *is_dir))) {
        p.add(e);
    }
    if check.incremental {
        check_listing(&dir.join("manage.json.rp"), state, &mut p);
    }
    check.problems = p.finish();
    check
}

type Delivered = Vec<(String, bool, u64, String)>;

/// A tar part: its recorded size and hash, every entry, and its `.rp` lines.
fn check_part(m: &ManageEntry, path: &Path, p: &mut Problems, bytes: &mut u64) -> Delivered {
    let name = m.file_name.as_str();
    let Ok(f) = File::open(path) else {
        p.add(format!("{name} cannot be read"));
        return Vec::new();
    };
    let mut input = Checked::new(f, true);
    let files = match inspect_tar(&mut input, name) {
        Ok(files) => files,
        Err(e) => {
            p.add(e.to_string());
            Vec::new()
        }
    };
    let _ = io::copy(&mut input, &mut io::sink());
    let size = input.bytes;
    *bytes += size;
    let digest = input.digest().unwrap_or_default();
    agree(p, name, "manage.json", (size, &digest), m.size, m.sha256.as_deref());
    let by_dest: HashMap<&str, &TarFile> = files.iter().map(|f| (f.dest.as_str(), f)).collect();
    let rp_path = path.with_file_name(format!("{name}.rp"));
    let Some(lines) = read_rp(&rp_path, p) else {
        return files.iter().map(|f| (f.dest.clone(), f.is_dir, f.size, f.sha256.clone())).collect();
    };
    // With a report, what it lists is what a restore takes from the part.
    let mut delivered = Vec::new();
    for line in &lines {
        let Some(dest) = clean_rel(&line.path) else {
            p.add(format!("{name}.rp lists a path that leaves the sandbox: {:?}", line.path));
            continue;
        };
        match by_dest.get(dest.as_str()) {
            None if line.is_dir => {}
            None => p.add(format!("{name}.rp lists {} but {name} does not hold it", line.path)),
            Some(f) => {
                if !line.is_dir {
                    agree(
                        p,
                        &format!("{name}: {}", line.path),
                        &format!("{name}.rp"),
                        (f.size, &f.sha256),
                        Some(line.size),
                        Some(&line.hash),
                    );
                }
                delivered.push((dest, f.is_dir, f.size, f.sha256.clone()));
            }
        }
    }
    delivered
}

/// A big file: manage.json's st_size and recorded fields, and its one-line `.rp`.
fn check_big(m: &ManageEntry, path: &Path, p: &mut Problems, bytes: &mut u64) -> Delivered {
    let name = m.file_name.as_str();
    let (size, digest) = match hash_file(path) {
        Ok(v) => v,
        Err(e) => {
            p.add(format!("{name}: {e}"));
            return Vec::new();
        }
    };
    *bytes += size;
    agree(p, &format!("big file {name}"), "manage.json (st_size)", (size, &digest), Some(m.information.stat.st_size), None);
    agree(p, &format!("big file {name}"), "manage.json", (size, &digest), m.size, m.sha256.as_deref());
    let mut dest_path = m.information.path.clone();
    if let Some(lines) = read_rp(&path.with_file_name(format!("{name}.rp")), p) {
        if lines.len() == 1 {
            agree(p, &format!("big file {name}"), &format!("{name}.rp"), (size, &digest), Some(lines[0].size), Some(&lines[0].hash));
            dest_path = lines[0].path.clone();
        } else {
            p.add(format!("{name}.rp has {} lines, a big file's report has one", lines.len()));
        }
    }
    match destination(&dest_path) {
        Ok(dest) => vec![(dest, false, size, digest)],
        Err(e) => {
            p.add(format!("big file {name}: {e}"));
            Vec::new()
        }
    }
}

/// Every file of the full listing must be held by this run or an earlier one of the chain,
/// with the listed size and hash.
fn check_listing(path: &Path, state: &HashMap<String, (u64, String)>, p: &mut Problems) {
    let Some(lines) = read_rp(path, p) else { return };
    for line in lines.iter().filter(|l| !l.is_dir) {
        let Some(dest) = clean_rel(&line.path) else {
            p.add(format!("manage.json.rp lists a path that leaves the sandbox: {:?}", line.path));
            continue;
        };
        match state.get(&dest) {
            None => p.add(format!("manage.json.rp lists {} but no backup of the chain up to here holds it", line.path)),
            Some((size, hash)) => agree(
                p,
                &format!("{} (as the chain holds it)", line.path),
                "manage.json.rp",
                (*size, hash),
                Some(line.size),
                Some(&line.hash),
            ),
        }
    }
}
