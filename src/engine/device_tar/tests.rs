//! Archives both ways between this project and a device: a device's backup folders (from
//! the test-only writer) restore here exactly, and every tar written here reads right with a
//! device's untar rules (the model) and with GNU tar.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use super::corpus::{self, Item, FILES};
use super::untar::{untar, untar_parts};
use super::writer::{self, ManageLine, ManageStyle};
use crate::engine::backup::{run_full, BackupJob};
use crate::engine::restore::{clear_work_area, create_handle, run, RestoreJob};
use crate::engine::tar_write::TarWriter;
use crate::engine::{EngineError, Flow, ScanEntry};

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("device-tar-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

#[derive(Debug, Clone, PartialEq)]
struct Node {
    dir: bool,
    mode: u32,
    mtime: (i64, i64),
    sha: String,
}

/// Everything under `<root>/data`, the service's work area aside: path (with its leading
/// '/') → what it is.
fn snapshot(root: &Path) -> BTreeMap<String, Node> {
    let mut t = BTreeMap::new();
    if !root.join("data").exists() {
        return t;
    }
    for e in walkdir::WalkDir::new(root.join("data")) {
        let e = e.unwrap();
        let rel = format!("/{}", e.path().strip_prefix(root).unwrap().to_str().unwrap());
        if rel.starts_with("/data/storage/el2/base/.backup") {
            continue;
        }
        let md = e.path().symlink_metadata().unwrap();
        let sha = if md.is_file() { hex(&fs::read(e.path()).unwrap()) } else { String::new() };
        t.insert(rel, Node { dir: md.is_dir(), mode: md.mode() & 0o7777, mtime: (md.mtime(), md.mtime_nsec()), sha });
    }
    t
}

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// What a restore of a device's backup must give: every file with its bytes and mode, a
/// tar's files with whole-second mtimes (all a device's tar holds), big files with the exact
/// time `manage.json` records, empty directories with their mode and time. Directories a
/// device gives no entry exist, nothing more.
fn expected_from_device(items: &[Item]) -> BTreeMap<String, Node> {
    let mut t = BTreeMap::new();
    for it in items {
        let path = it.path.trim_end_matches('/').to_string();
        let mut p = path.as_str();
        while let Some((parent, _)) = p.rsplit_once('/') {
            if parent.is_empty() {
                break;
            }
            t.entry(parent.to_string()).or_insert(Node { dir: true, mode: 0, mtime: (0, 0), sha: String::new() });
            p = parent;
        }
        let mtime = if it.is_big() { it.mtime } else { (it.mtime.0, 0) };
        let sha = it.content.as_deref().map(hex).unwrap_or_default();
        // A directory with contents has no entry in a device's tar: it only exists.
        let mode = if it.is_dir() && !it.is_empty_dir(items) { 0 } else { it.mode };
        t.insert(path, Node { dir: it.is_dir(), mode, mtime, sha });
    }
    t
}

/// Compares a restored tree with the expected one; directories with mode 0 in `want` only
/// need to exist.
fn assert_tree(got: &BTreeMap<String, Node>, want: &BTreeMap<String, Node>, what: &str) {
    let got_keys: Vec<&String> = got.keys().collect();
    let want_keys: Vec<&String> = want.keys().collect();
    assert_eq!(got_keys, want_keys, "{what}: the restored names differ");
    for (k, w) in want {
        let g = &got[k];
        if w.dir && w.mode == 0 {
            assert!(g.dir, "{what}: {k} is not a directory");
        } else {
            assert_eq!(g, w, "{what}: {k} differs");
        }
    }
}

fn restore_folder(sandbox: &Path, files: &BTreeMap<String, Vec<u8>>, reports: &BTreeMap<String, Vec<u8>>) -> Result<(), EngineError> {
    fs::create_dir_all(sandbox).unwrap();
    for (uri, bytes) in files {
        let (mut data, mut rp) = create_handle(sandbox, uri).unwrap();
        data.write_all(bytes).unwrap();
        if let Some(r) = reports.get(uri) {
            rp.write_all(r).unwrap();
        }
    }
    let r = run(&RestoreJob { sandbox: sandbox.to_path_buf(), into_restore_dir: false, deletions: None });
    clear_work_area(sandbox).unwrap();
    r.map(|_| ())
}

#[test]
fn a_devices_backup_folders_restore_exactly() {
    let d = temp("from-device");
    let items = corpus::items();
    let want = expected_from_device(&items);
    let styles = [
        (1, ManageStyle::Stream),
        (3, ManageStyle::Stream),
        (2, ManageStyle::Styled { crlf: false }),
        (4, ManageStyle::Styled { crlf: true }),
    ];
    for (parts, style) in styles {
        let what = format!("{parts} parts, manage.json {style:?}");
        let folder = writer::backup(&items, parts, style);
        assert_eq!(folder.keys().filter(|k| k.ends_with(".tar") && k.starts_with("part.")).count(), parts, "{what}");
        let sb = d.join(format!("app-{parts}"));
        restore_folder(&sb, &folder, &BTreeMap::new()).map_err(|e| format!("{what}: {e}")).unwrap();
        assert_tree(&snapshot(&sb), &want, &what);
    }
    fs::remove_dir_all(d).unwrap();
}

#[test]
fn a_devices_incremental_tars_and_reports_restore_exactly() {
    let d = temp("from-device-incr");
    let items = corpus::items();
    let small: Vec<&Item> = items.iter().filter(|i| !i.is_big()).collect();
    for crlf in [false, true] {
        let mut files = BTreeMap::new();
        let mut reports = BTreeMap::new();
        // Two tars, each with the report of what it holds, as an incremental backup sends them.
        let half = small.len() / 2;
        for (n, chunk) in [&small[..half], &small[half..]].into_iter().enumerate() {
            let uri = format!("1700000999123_part.{n}.tar");
            files.insert(uri.clone(), writer::tar(chunk));
            reports.insert(uri, writer::report(chunk, crlf));
        }
        for it in items.iter().filter(|i| i.is_big()) {
            let uri = writer::big_name(&it.path).split('.').next().unwrap().to_string();
            files.insert(uri.clone(), it.content.clone().unwrap());
            reports.insert(uri, writer::report(&[it], crlf));
        }
        // The device's incremental manage.json (jsoncpp's styled writer) lists the same files.
        let lines: Vec<ManageLine> = files
            .iter()
            .map(|(uri, bytes)| match items.iter().find(|i| i.is_big() && writer::big_name(&i.path).starts_with(uri.as_str())) {
                Some(it) => ManageLine::big(uri, it),
                None => ManageLine::part(uri, bytes.len() as u64),
            })
            .collect();
        files.insert("manage.json".into(), writer::manage_json(&lines, ManageStyle::Styled { crlf }).into_bytes());
        let sb = d.join(format!("app-{crlf}"));
        restore_folder(&sb, &files, &reports).map_err(|e| format!("crlf {crlf}: {e}")).unwrap();
        assert_tree(&snapshot(&sb), &expected_from_device(&items), &format!("incremental, crlf {crlf}"));
    }
    fs::remove_dir_all(d).unwrap();
}

#[test]
fn a_hostile_device_format_archive_changes_nothing() {
    let d = temp("device-hostile");
    let sb = d.join("app");
    let items = corpus::items();
    corpus::materialise(&sb, &items);
    let before = snapshot(&sb);
    let ok = Item { path: format!("{FILES}/fine.txt"), mode: 0o644, mtime: (1_700_000_000, 0), content: Some(b"fine".to_vec()) };
    let escape = Item { path: format!("{FILES}/{}/../../../../../../../outside", "x".repeat(120)), ..ok.clone() };
    let link_dir = Item { path: "/data/storage/el2/base/.backup/restore/x/".into(), mode: 0o755, mtime: (1, 0), content: None };
    let huge = Item { path: corpus::path_of_len(5000, "huge"), ..ok.clone() };
    let cases = [
        ("a long name that climbs out", &escape),
        ("a directory in the work area", &link_dir),
        ("a long name longer than any path", &huge),
    ];
    for (what, evil) in cases {
        let mut folder = BTreeMap::new();
        folder.insert("part.0.tar".to_string(), writer::tar(&[&ok, evil]));
        folder.insert("manage.json".to_string(), br#"[{"fileName":"part.0.tar","isBigFile":false}]"#.to_vec());
        let r = restore_folder(&sb, &folder, &BTreeMap::new());
        assert!(matches!(r, Err(EngineError::Untar(_))), "{what}: {r:?}");
        let after = snapshot(&sb);
        // el2/base holds the service's work area: its own mtime moves with every restore.
        let changed: Vec<&String> =
            after.keys().chain(before.keys()).filter(|k| *k != "/data/storage/el2/base" && after.get(*k) != before.get(*k)).collect();
        assert!(changed.is_empty(), "{what}: the app's data changed: {changed:?}");
    }
    assert!(!d.join("outside").exists());
    fs::remove_dir_all(d).unwrap();
}

/// Backs the corpus up with this project's engine: uri → bytes.
fn our_backup(sandbox: &Path) -> BTreeMap<String, Vec<u8>> {
    let job = BackupJob {
        sandbox: sandbox.to_path_buf(),
        includes: crate::device::config::DEFAULT_INCLUDES.iter().map(|s| s.to_string()).collect(),
        excludes: vec![],
        spool_dir: sandbox.join("data/storage/el2/base/.backup/backup"),
        hash_cache: None,
    };
    let mut out = BTreeMap::new();
    run_full(&job, &mut |o| {
        let mut bytes = Vec::new();
        let mut f = o.file;
        f.read_to_end(&mut bytes).unwrap();
        out.insert(o.uri, bytes);
        Flow::Continue
    })
    .unwrap();
    clear_work_area(sandbox).unwrap();
    out
}

#[test]
fn a_device_reads_every_name_size_mode_and_mtime_of_our_tars() {
    let d = temp("to-device");
    let sb = d.join("app");
    let items = corpus::items();
    corpus::materialise(&sb, &items);
    let source = snapshot(&sb);
    let ours = our_backup(&sb);
    let mut files = BTreeMap::new();
    let mut dirs = BTreeMap::new();
    for (uri, bytes) in ours.iter().filter(|(u, _)| u.starts_with("part.")) {
        let r = untar(bytes);
        assert_eq!(r.errors, Vec::<String>::new(), "{uri}");
        files.extend(r.files);
        dirs.extend(r.dirs);
    }
    let small: Vec<&Item> = items.iter().filter(|i| !i.is_big()).collect();
    assert_eq!(files.len(), small.iter().filter(|i| !i.is_dir()).count(), "no file more, none less: {:?}", files.keys());
    for it in &small {
        let rel = it.path.trim_start_matches('/').trim_end_matches('/');
        if it.is_dir() {
            assert_eq!(dirs.get(rel), Some(&it.mode), "{rel}");
            continue;
        }
        let f = files.get(rel).unwrap_or_else(|| panic!("the device does not see {rel}"));
        assert_eq!(&f.data, it.content.as_ref().unwrap(), "{rel}");
        assert_eq!(f.mode, it.mode, "{rel}");
        assert_eq!(f.mtime, Some(it.mtime.0), "{rel}");
    }
    // Every other directory entry is one the source has, with its mode.
    for (rel, mode) in &dirs {
        let node = &source[&format!("/{rel}")];
        assert!(node.dir && node.mode == *mode, "{rel}");
    }
    fs::remove_dir_all(d).unwrap();
}

fn scan_entry(path: &str, size: u64, mtime: (i64, i64)) -> ScanEntry {
    ScanEntry { sandbox_path: path.into(), fs_path: PathBuf::new(), is_dir: false, size, mode: 0o100644, mtime, atime: (0, 0) }
}

#[test]
fn the_model_catches_a_pax_record_between_a_long_name_and_its_entry() {
    // The order this project used to write ('L', 'x', entry) loses the long name on a
    // device; the order it writes now ('x', 'L', entry) keeps it.
    let long = corpus::path_of_len(180, "order");
    let mut w = TarWriter::new(Vec::new());
    w.append_file(&scan_entry(&long, 2, (1_700_000_000, 5)), &mut &b"ok"[..]).unwrap();
    let now = w.finish().unwrap();
    assert_eq!(now[156], b'x', "the pax record comes first");
    let r = untar(&now);
    assert_eq!(r.files.keys().collect::<Vec<_>>(), [long.trim_start_matches('/')]);

    let mut old = Vec::new();
    old.extend_from_slice(&now[1024..2048]); // 'L' and its name
    old.extend_from_slice(&now[..1024]); // 'x' and its record
    old.extend_from_slice(&now[2048..]);
    let r = untar(&old);
    let name = r.files.keys().next().unwrap();
    assert_ne!(name, long.trim_start_matches('/'));
    assert!(name.ends_with("0000644"), "the name runs on into the mode digits: {name}");
}

fn gnu_tar() -> bool {
    match Command::new("tar").arg("--version").output() {
        Ok(o) if String::from_utf8_lossy(&o.stdout).contains("GNU tar") => true,
        _ => {
            eprintln!("GNU tar is not installed: the GNU tar checks cannot run");
            false
        }
    }
}

#[test]
fn gnu_tar_lists_and_extracts_our_tars_exactly() {
    if !gnu_tar() {
        return;
    }
    let d = temp("gnu");
    let sb = d.join("app");
    let items = corpus::items();
    corpus::materialise(&sb, &items);
    let source = snapshot(&sb);
    let ours = our_backup(&sb);
    let out = d.join("extracted");
    fs::create_dir_all(&out).unwrap();
    let mut listed = BTreeMap::new();
    for (uri, bytes) in ours.iter().filter(|(u, _)| u.starts_with("part.")) {
        let tar = d.join(uri);
        fs::write(&tar, bytes).unwrap();
        let l = Command::new("tar")
            .args(["--quoting-style=literal", "--numeric-owner", "-tvf"])
            .arg(&tar)
            .env("LC_ALL", "C.UTF-8")
            .output()
            .unwrap();
        assert!(l.status.success(), "{}", String::from_utf8_lossy(&l.stderr));
        for line in String::from_utf8(l.stdout).unwrap().lines() {
            // "-rw-r----- 0/0  21 2023-11-14 22:13 /data/…": permissions, owner, size, date,
            // time, then the name (which may hold spaces).
            let (fields, name) = leading_fields(line, 5);
            let size: u64 = fields[2].parse().unwrap();
            listed.insert(format!("/{}", name.trim_start_matches('/').trim_end_matches('/')), (fields[0].to_string(), size));
        }
        let x = Command::new("tar").args(["-xpf"]).arg(&tar).arg("-C").arg(&out).output().unwrap();
        assert!(x.status.success(), "{}", String::from_utf8_lossy(&x.stderr));
    }
    for it in items.iter().filter(|i| !i.is_big()) {
        let path = it.path.trim_end_matches('/');
        let (perms, size) = listed.get(path).unwrap_or_else(|| panic!("tar -t does not list {path}"));
        assert_eq!(*size, if it.is_dir() { 0 } else { it.size() }, "{path}");
        assert_eq!(perms.len(), 10, "{perms}");
        assert_eq!(mode_of(perms), it.mode, "{path}: {perms}");
    }
    // Extracted: every name, byte, mode and (nanosecond) mtime of what the tars hold.
    let extracted = snapshot(&out);
    for (path, node) in &extracted {
        if listed.contains_key(path) {
            assert_eq!(node, &source[path], "{path}");
        }
    }
    let in_tars: Vec<&String> = source.keys().filter(|k| listed.contains_key(*k)).collect();
    assert_eq!(in_tars.len(), listed.len(), "every listed name is a source path");
    fs::remove_dir_all(d).unwrap();
}

/// The first `n` whitespace-separated fields of `line`, and the rest after them.
fn leading_fields(line: &str, n: usize) -> (Vec<&str>, &str) {
    let mut fields = Vec::new();
    let mut rest = line;
    for _ in 0..n {
        let t = rest.trim_start();
        let end = t.find(' ').unwrap_or(t.len());
        fields.push(&t[..end]);
        rest = &t[end..];
    }
    (fields, rest.strip_prefix(' ').unwrap_or(rest))
}

/// "-rwxr-x---" → 0o750.
fn mode_of(perms: &str) -> u32 {
    perms[1..].chars().fold(0, |m, c| (m << 1) | u32::from(c != '-'))
}

#[test]
fn our_backup_of_the_corpus_restores_exactly() {
    let d = temp("ours");
    let sb = d.join("app");
    let items = corpus::items();
    corpus::materialise(&sb, &items);
    let source = snapshot(&sb);
    let ours = our_backup(&sb);
    fs::remove_dir_all(sb.join("data")).unwrap();
    restore_folder(&sb, &ours, &BTreeMap::new()).map_err(|e| e.to_string()).unwrap();
    let after = snapshot(&sb);
    // Directories above the include roots are not backed up: they only need to exist.
    let above = ["/data", "/data/storage", "/data/storage/el1", "/data/storage/el1/base", "/data/storage/el2", "/data/storage/el2/base"];
    let strip = |t: &BTreeMap<String, Node>| -> BTreeMap<String, Node> {
        t.iter()
            .map(|(k, v)| (k.clone(), if above.contains(&k.as_str()) { Node { mode: 0, mtime: (0, 0), ..v.clone() } } else { v.clone() }))
            .collect()
    };
    assert_eq!(strip(&after), strip(&source));
    fs::remove_dir_all(d).unwrap();
}

/// The JS end-to-end test (`__test__/archives/device-backup.test.js`) restores a device's
/// backup folder through `restoreFromDir`. Its fixture is this writer's output, kept in the
/// repository (big files aside: the JS test makes them from `big_content`); this test keeps
/// the two the same. `UPDATE_DEVICE_FIXTURE=1 cargo test js_fixture` rewrites it.
#[test]
fn the_js_fixture_is_what_the_device_writer_writes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("__test__/archives/fixtures");
    let bundle = "com.example.devicetar";
    let items = corpus::items();
    let folder = writer::backup(&items, 2, ManageStyle::Stream);
    let want = expected_from_device(&items);
    let big: Vec<serde_json::Value> =
        items.iter().filter(|i| i.is_big()).map(|i| serde_json::json!({ "uri": writer::big_name(&i.path), "length": i.size() })).collect();
    let tree: Vec<serde_json::Value> = want
        .iter()
        .map(|(path, n)| {
            let rel = path.trim_start_matches('/');
            if n.dir && n.mode == 0 {
                serde_json::json!({ "path": rel, "type": "dir" })
            } else {
                let size = items.iter().find(|i| i.path.trim_end_matches('/') == path).map_or(0, Item::size);
                serde_json::json!({
                    "path": rel, "type": if n.dir { "dir" } else { "file" }, "mode": n.mode, "size": size,
                    "mtimeNs": (n.mtime.0 as i128 * 1_000_000_000 + n.mtime.1 as i128).to_string(), "sha256": n.sha,
                })
            }
        })
        .collect();
    let spec = serde_json::to_string_pretty(&serde_json::json!({ "bundle": bundle, "bigFiles": big, "tree": tree })).unwrap() + "\n";
    let mut expected: BTreeMap<PathBuf, Vec<u8>> = folder
        .iter()
        .filter(|(uri, _)| !big.iter().any(|b| b["uri"] == uri.as_str()))
        .map(|(uri, bytes)| (dir.join(bundle).join(uri), bytes.clone()))
        .collect();
    expected.insert(dir.join(format!("{bundle}.json")), spec.into_bytes());
    if std::env::var_os("UPDATE_DEVICE_FIXTURE").is_some() {
        let _ = fs::remove_dir_all(dir.join(bundle));
        fs::create_dir_all(dir.join(bundle)).unwrap();
        for (p, bytes) in &expected {
            fs::write(p, bytes).unwrap();
        }
    }
    for (p, bytes) in &expected {
        let got = fs::read(p).unwrap_or_default();
        assert!(
            &got == bytes,
            "{} is not what the device writer writes now: run UPDATE_DEVICE_FIXTURE=1 cargo test js_fixture",
            p.display()
        );
    }
    let on_disk = fs::read_dir(dir.join(bundle)).unwrap().count();
    assert_eq!(on_disk, expected.len() - 1, "the fixture folder holds only the writer's files");
}

#[test]
fn a_device_reads_our_manage_json_and_reports_right() {
    use super::readers::{manage_infos, report_infos};
    use crate::engine::incremental::{run_incremental, IncrementalJob};
    let d = temp("readers");
    let sb = d.join("app");
    let mut items = corpus::items();
    for name in ["semi;colon.txt", "new\nline.txt", "per%cent.txt"] {
        items.push(Item {
            path: format!("{FILES}/odd/{name}"),
            mode: 0o640,
            mtime: (1_700_000_100, 0),
            content: Some(name.as_bytes().to_vec()),
        });
    }
    corpus::materialise(&sb, &items);
    let source = snapshot(&sb);
    let by_path = |p: &str| items.iter().find(|i| i.path == p);
    let check_manage = |manage: &[u8], uris: &[&String], what: &str| {
        let infos = manage_infos(manage);
        let mut named: Vec<&str> = infos.iter().map(|i| i.hash_name.as_str()).collect();
        named.sort();
        let mut sent: Vec<&str> = uris.iter().map(|u| u.as_str()).filter(|u| *u != "manage.json").collect();
        sent.sort();
        assert_eq!(named, sent, "{what}: manage.json lists every file sent");
        for info in &infos {
            if info.is_big_file {
                let it = by_path(&info.file_name).unwrap_or_else(|| panic!("{what}: {info:?}"));
                assert_eq!((info.st_size, info.st_mode, info.st_mtim), (it.size() as i64, (0o100000 | it.mode) as i64, it.mtime), "{what}");
                assert_eq!(info.is_user_tar, it.path.ends_with(".tar"), "{what}");
            } else {
                assert!(info.hash_name.ends_with(".tar") && !info.is_user_tar, "{what}: {info:?}");
            }
        }
    };

    let ours = our_backup(&sb);
    check_manage(&ours["manage.json"], &ours.keys().collect::<Vec<_>>(), "full backup");

    let job = BackupJob {
        sandbox: sb.clone(),
        includes: crate::device::config::DEFAULT_INCLUDES.iter().map(|s| s.to_string()).collect(),
        excludes: vec![],
        spool_dir: sb.join("data/storage/el2/base/.backup/backup"),
        hash_cache: None,
    };
    let mut sent: BTreeMap<String, (Vec<u8>, Vec<u8>)> = BTreeMap::new();
    run_incremental(&IncrementalJob { backup: job, last_incremental_time: 0, baseline: None }, &mut |o| {
        let (mut bytes, mut report) = (Vec::new(), Vec::new());
        let mut f = o.file;
        f.read_to_end(&mut bytes).unwrap();
        o.report.unwrap().read_to_end(&mut report).unwrap();
        sent.insert(o.uri, (bytes, report));
        Flow::Continue
    })
    .unwrap();
    clear_work_area(&sb).unwrap();
    check_manage(&sent["manage.json"].0, &sent.keys().collect::<Vec<_>>(), "incremental backup");
    let check_line = |path: &str, line: &super::readers::ReportFileInfo, what: &str| {
        let node = &source[&format!("/{path}")];
        assert_eq!(line.is_dir, node.dir, "{what}: {path}");
        assert_eq!(line.mtime, node.mtime.0, "{what}: {path}");
        if !node.dir {
            let it = by_path(&format!("/{path}")).unwrap();
            assert_eq!(line.mode, (0o100000 | it.mode).to_string(), "{what}: {path}");
            assert_eq!(line.size, it.size() as i64, "{what}: {path}");
            assert_eq!(line.hash, node.sha.to_ascii_uppercase(), "{what}: {path}");
        }
    };
    assert!(sent.keys().any(|u| u.contains("_part.")), "{:?}", sent.keys());
    let odd = [format!("{FILES}/odd/semi;colon.txt"), format!("{FILES}/odd/new\nline.txt")];
    for p in &odd {
        let p = p.trim_start_matches('/');
        assert!(sent.values().any(|(_, r)| report_infos(r).contains_key(p)), "a device decodes {p:?}");
    }
    for (uri, (bytes, report)) in &sent {
        let lines = report_infos(report);
        if uri.ends_with(".tar") && uri.contains("_part.") {
            // The report lists exactly what the tar holds, as the device's untar finds it.
            let r = untar(bytes);
            let mut in_tar: Vec<String> = r.files.keys().cloned().chain(r.dirs.keys().cloned()).collect();
            in_tar.sort();
            let listed: Vec<String> = lines.keys().map(|k| k.trim_end_matches('/').to_string()).collect();
            assert_eq!(listed, in_tar, "{uri}");
        } else if uri != "manage.json" {
            assert_eq!(lines.len(), 1, "{uri}: a big file's report is one line");
        } else {
            // all.rp: every file and directory of the backup.
            let files = items.iter().filter(|i| !i.is_dir()).count();
            assert!(lines.values().filter(|l| !l.is_dir).count() == files, "all.rp lists every file");
        }
        for (path, line) in &lines {
            check_line(path.trim_end_matches('/'), line, uri);
        }
    }
    fs::remove_dir_all(d).unwrap();
}

/// What a backup of the files folder holds, as a snapshot (its parents' times move with the
/// work area, so they are left out).
fn files_snapshot(sb: &Path) -> BTreeMap<String, Node> {
    snapshot(sb).into_iter().filter(|(p, _)| p.starts_with(FILES)).collect()
}

/// A backup of the files folder only.
fn files_job(sb: &Path) -> BackupJob {
    BackupJob {
        sandbox: sb.to_path_buf(),
        includes: vec![format!("{}/", FILES.trim_start_matches('/'))],
        excludes: vec![],
        spool_dir: sb.join("data/storage/el2/base/.backup/backup"),
        hash_cache: None,
    }
}

#[test]
fn a_read_only_directory_whose_files_span_two_parts_restores_whole_on_a_device_and_here() {
    use crate::engine::backup::{run_full_sliced, Slices};
    use std::os::unix::fs::PermissionsExt;
    let d = temp("ro-span");
    let sb = d.join("app");
    let files_rel = FILES.trim_start_matches('/');
    let ro = sb.join(files_rel).join("ro");
    fs::create_dir_all(ro.join("inner")).unwrap();
    for i in 0..9 {
        fs::write(ro.join(format!("f{i}")), format!("file {i}")).unwrap();
    }
    fs::write(ro.join("inner/deep"), b"deep").unwrap();
    fs::write(sb.join(files_rel).join("z-after"), b"after").unwrap();
    fs::set_permissions(ro.join("inner"), fs::Permissions::from_mode(0o555)).unwrap();
    fs::set_permissions(&ro, fs::Permissions::from_mode(0o555)).unwrap();
    let source = files_snapshot(&sb);

    let job = files_job(&sb);
    let mut sent = BTreeMap::new();
    run_full_sliced(&job, Slices { bytes: u64::MAX, files: 4 }, &mut |o| {
        let mut bytes = Vec::new();
        let mut f = o.file;
        f.read_to_end(&mut bytes).unwrap();
        sent.insert(o.uri, bytes);
        Flow::Continue
    })
    .unwrap();
    clear_work_area(&sb).unwrap();
    let parts: Vec<&[u8]> = (0..).map_while(|i| sent.get(&format!("part.{i}.tar")).map(Vec::as_slice)).collect();
    assert!(parts.len() >= 3, "the files of ro/ span parts: {} parts", parts.len());

    // A device untars the parts one after the other: every file gets in.
    let device = untar_parts(&parts);
    assert_eq!(device.errors, Vec::<String>::new());
    let rel = |p: &str| format!("{files_rel}/{p}");
    for i in 0..9 {
        assert_eq!(device.files[&rel(&format!("ro/f{i}"))].data, format!("file {i}").into_bytes());
    }
    assert_eq!(device.files[&rel("ro/inner/deep")].data, b"deep");
    assert_eq!(device.files[&rel("z-after")].data, b"after");
    // Each directory has one entry, with its mode.
    assert_eq!(device.dirs.get(&rel("ro")), Some(&0o555));
    assert_eq!(device.dirs.get(&rel("ro/inner")), Some(&0o555));

    // And here everything comes back as it was, modes included.
    fs::set_permissions(ro.join("inner"), fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(&ro, fs::Permissions::from_mode(0o755)).unwrap();
    fs::remove_dir_all(&ro).unwrap();
    fs::remove_file(sb.join(files_rel).join("z-after")).unwrap();
    restore_folder(&sb, &sent, &BTreeMap::new()).unwrap();
    assert_tree(&files_snapshot(&sb), &source, "restored");
    fs::set_permissions(ro.join("inner"), fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(&ro, fs::Permissions::from_mode(0o755)).unwrap();
    fs::remove_dir_all(d).unwrap();
}

#[test]
fn an_incremental_backup_moves_a_read_only_directory_on_with_its_contents_past_a_cut() {
    use crate::engine::incremental::{run_incremental, IncrementalJob};
    use crate::engine::TAR_SLICE_FILES;
    use std::os::unix::fs::PermissionsExt;
    let d = temp("ro-span-incremental");
    let sb = d.join("app");
    let files_rel = FILES.trim_start_matches('/');
    let ro = sb.join(files_rel).join("ro");
    fs::create_dir_all(ro.join("sub")).unwrap();
    // files/, ro/, its files and ro/sub/ fill the first part exactly; ro/sub/x is the second's.
    for i in 0..TAR_SLICE_FILES - 3 {
        fs::write(ro.join(format!("a{i:05}")), b"x").unwrap();
    }
    fs::write(ro.join("sub/x"), b"in sub").unwrap();
    fs::set_permissions(ro.join("sub"), fs::Permissions::from_mode(0o555)).unwrap();
    fs::set_permissions(&ro, fs::Permissions::from_mode(0o555)).unwrap();
    let source = files_snapshot(&sb);
    let backup = files_job(&sb);
    let (mut sent, mut reports) = (BTreeMap::new(), BTreeMap::new());
    run_incremental(&IncrementalJob { backup, last_incremental_time: 0, baseline: None }, &mut |o| {
        let mut bytes = Vec::new();
        let mut f = o.file;
        f.read_to_end(&mut bytes).unwrap();
        if let Some(mut r) = o.report {
            let mut rp = Vec::new();
            r.read_to_end(&mut rp).unwrap();
            reports.insert(o.uri.clone(), rp);
        }
        sent.insert(o.uri, bytes);
        Flow::Continue
    })
    .unwrap();
    clear_work_area(&sb).unwrap();
    let parts: Vec<&str> = sent.keys().filter(|u| u.ends_with(".tar")).map(String::as_str).collect();
    assert_eq!(parts.len(), 2, "{parts:?}");
    let device = untar_parts(&parts.iter().map(|u| sent[*u].as_slice()).collect::<Vec<_>>());
    assert_eq!(device.errors, Vec::<String>::new());
    assert_eq!(device.files.len(), TAR_SLICE_FILES - 2);
    assert_eq!(device.files[&format!("{files_rel}/ro/sub/x")].data, b"in sub");
    // The directories' entries and report lines are in the second part.
    for dir in ["ro/", "ro/sub/"] {
        let dir_line = format!("{FILES}/{dir}");
        let lines_with =
            |uri: &str| String::from_utf8_lossy(&reports[uri]).lines().filter(|l| l.split(';').next() == Some(dir_line.as_str())).count();
        assert_eq!((lines_with(parts[0]), lines_with(parts[1])), (0, 1), "{dir}");
    }

    fs::set_permissions(ro.join("sub"), fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(&ro, fs::Permissions::from_mode(0o755)).unwrap();
    fs::remove_dir_all(&ro).unwrap();
    restore_folder(&sb, &sent, &reports).unwrap();
    assert_tree(&files_snapshot(&sb), &source, "restored");
    fs::set_permissions(ro.join("sub"), fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(&ro, fs::Permissions::from_mode(0o755)).unwrap();
    fs::remove_dir_all(d).unwrap();
}
