//! Whole-bundle tests of the engine: backup → wipe → restore round trips, GNU tar
//! compatibility both ways, and hostile archives that must change nothing.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::Digest;

use super::backup::{run_full, BackupJob};
use super::restore::{clear_work_area, create_handle, run, RestoreJob};
use super::{EngineError, Flow};
use crate::device::WORK_AREA;

/// The committed fuzz corpus, replayed through the fuzz targets' bodies on stable.
#[path = "../../fuzz/replay.rs"]
mod fuzz_replay;

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("engine-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

fn write(sandbox: &Path, rel: &str, bytes: &[u8], mode: u32, mtime: (i64, u32)) {
    let p = sandbox.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(&p, bytes).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
    let t = std::time::UNIX_EPOCH + std::time::Duration::new(mtime.0 as u64, mtime.1);
    fs::File::options().write(true).open(&p).unwrap().set_modified(t).unwrap();
}

/// path → (is_dir, mode, size, mtime s, mtime ns, content hash) for everything under data/,
/// the work area aside. Directory mtimes are included: restore sets them last.
type Tree = BTreeMap<String, (bool, u32, u64, i64, i64, String)>;

fn tree(sandbox: &Path) -> Tree {
    let mut t = Tree::new();
    for e in walkdir::WalkDir::new(sandbox.join("data")).sort_by_file_name() {
        let e = e.unwrap();
        let rel = e.path().strip_prefix(sandbox).unwrap().to_str().unwrap().to_string();
        if rel.starts_with(WORK_AREA) {
            continue;
        }
        let md = e.path().symlink_metadata().unwrap();
        let content = if md.is_file() {
            sha2::Sha256::digest(fs::read(e.path()).unwrap()).iter().map(|b| format!("{b:02x}")).collect()
        } else {
            String::new()
        };
        // Directories above the include roots are not backed up: only their existence counts.
        let above = ["data", "data/storage", "data/storage/el1", "data/storage/el1/base", "data/storage/el2", "data/storage/el2/base"];
        let (mode, s, ns) = if above.contains(&rel.as_str()) { (0, 0, 0) } else { (md.mode(), md.mtime(), md.mtime_nsec()) };
        t.insert(rel, (md.is_dir(), mode, if md.is_dir() { 0 } else { md.size() }, s, ns, content));
    }
    t
}

fn sample(sandbox: &Path) {
    for i in 0..150 {
        let body = format!("note {i} ").repeat(i + 1);
        write(
            sandbox,
            &format!("data/storage/el2/base/files/notes/{}/n{i}.txt", i % 7),
            body.as_bytes(),
            0o640,
            (1_700_000_000 + i as i64, 123_000 * i as u32),
        );
    }
    let big: Vec<u8> = (0..3_500_000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    write(sandbox, "data/storage/el2/database/rdb/big.db", &big, 0o600, (1_690_000_000, 5));
    write(sandbox, "data/storage/el1/base/preferences/prefs.xml", b"<map/>", 0o644, (1_680_000_000, 0));
    let long = format!("data/storage/el2/base/files/{}/deep.txt", "long-directory-name".repeat(8));
    write(sandbox, &long, b"deep", 0o600, (1_600_000_000, 1));
    fs::create_dir_all(sandbox.join("data/storage/el2/base/files/empty")).unwrap();
    fs::set_permissions(sandbox.join("data/storage/el2/base/files/empty"), fs::Permissions::from_mode(0o750)).unwrap();
}

fn job(sandbox: &Path) -> BackupJob {
    BackupJob {
        sandbox: sandbox.to_path_buf(),
        includes: crate::device::config::DEFAULT_INCLUDES.iter().map(|s| s.to_string()).collect(),
        excludes: vec![],
        spool_dir: sandbox.join(WORK_AREA).join("backup"),
        hash_cache: None,
    }
}

/// Runs a backup and stores every output as the client would: uri → bytes, in order.
fn backup_into(sandbox: &Path, out: &Path) -> Vec<String> {
    let mut uris = Vec::new();
    run_full(&job(sandbox), &mut |o| {
        let mut f = o.file;
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).unwrap();
        fs::write(out.join(&o.uri), bytes).unwrap();
        uris.push(o.uri);
        Flow::Continue
    })
    .unwrap();
    clear_work_area(sandbox).unwrap();
    uris
}

fn hand_over(sandbox: &Path, from: &Path, uris: &[String]) {
    for u in uris {
        let (mut data, _rp) = create_handle(sandbox, u).unwrap();
        data.write_all(&fs::read(from.join(u)).unwrap()).unwrap();
    }
}

fn restore(sandbox: &Path) -> Result<super::restore::RestoreSummary, EngineError> {
    let r = run(&RestoreJob { sandbox: sandbox.to_path_buf(), into_restore_dir: false, deletions: None });
    clear_work_area(sandbox).unwrap();
    r
}

#[test]
fn backup_wipe_restore_reproduces_the_tree() {
    let d = temp("roundtrip");
    let (sb, out) = (d.join("app"), d.join("out"));
    fs::create_dir_all(&out).unwrap();
    sample(&sb);
    let before = tree(&sb);
    let uris = backup_into(&sb, &out);
    assert_eq!(uris.last().map(String::as_str), Some("manage.json"));
    assert!(uris.iter().any(|u| u == "part.0.tar"));
    assert!(uris.iter().any(|u| u.ends_with(".db") && u.len() == 19), "{uris:?}");
    fs::remove_dir_all(sb.join("data")).unwrap();
    fs::create_dir_all(&sb).unwrap();
    hand_over(&sb, &out, &uris);
    let s = restore(&sb).map_err(|e| e.to_string()).unwrap();
    assert_eq!(s.files, 153);
    let after = tree(&sb);
    assert_eq!(before.keys().collect::<Vec<_>>(), after.keys().collect::<Vec<_>>());
    for (k, v) in &before {
        assert_eq!(v, &after[k], "{k} differs");
    }
    assert!(!sb.join(WORK_AREA).exists());
    fs::remove_dir_all(d).unwrap();
}

#[test]
fn gnu_tar_lists_our_parts_and_restores_from_its_own_archive() {
    if Command::new("tar").arg("--version").output().is_err() {
        eprintln!("GNU tar is not installed: skipped");
        return;
    }
    let d = temp("gnutar");
    let (sb, out) = (d.join("app"), d.join("out"));
    fs::create_dir_all(&out).unwrap();
    sample(&sb);
    let uris = backup_into(&sb, &out);
    let listed = Command::new("tar").arg("-tf").arg(out.join("part.0.tar")).output().unwrap();
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    let names = String::from_utf8(listed.stdout).unwrap();
    assert!(names.lines().any(|l| l.ends_with("files/notes/3/n3.txt")));
    assert!(names.lines().any(|l| l.ends_with("/deep.txt")), "GNU tar reads the long name");
    assert!(!names.contains("@LongLink") && !names.contains("PaxHeader"));
    assert!(uris.len() >= 3);

    // An archive made by GNU tar (relative names) restores.
    let gnu = d.join("gnu");
    write(&gnu, "data/storage/el2/base/files/from-gnu.txt", b"made by GNU tar", 0o640, (1_650_000_000, 0));
    let status = Command::new("tar").arg("-cf").arg(out.join("part.9.tar")).arg("-C").arg(&gnu).arg("data").status().unwrap();
    assert!(status.success());
    fs::write(out.join("manage.json"), br#"[{"fileName":"part.9.tar","information":{"path":""},"isUserTar":false,"isBigFile":false}]"#)
        .unwrap();
    hand_over(&sb, &out, &["part.9.tar".into(), "manage.json".into()]);
    restore(&sb).map_err(|e| e.to_string()).unwrap();
    let p = sb.join("data/storage/el2/base/files/from-gnu.txt");
    assert_eq!(fs::read(&p).unwrap(), b"made by GNU tar");
    assert_eq!(p.metadata().unwrap().mtime(), 1_650_000_000);
    fs::remove_dir_all(d).unwrap();
}

/// Writes a raw tar entry with the tar crate's header builder (which allows what a hostile
/// archive would contain).
fn hostile_tar(entries: &[(&str, tar::EntryType, &[u8], Option<&str>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, kind, data, link) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(*kind);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        {
            let raw = h.as_old_mut();
            raw.name[..name.len()].copy_from_slice(name.as_bytes());
            if let Some(l) = link {
                raw.linkname[..l.len()].copy_from_slice(l.as_bytes());
            }
        }
        h.set_cksum();
        b.append(&h, *data).unwrap();
    }
    b.into_inner().unwrap()
}

#[test]
fn hostile_archives_change_nothing_and_end_with_untar_errors() {
    let d = temp("hostile");
    let sb = d.join("app");
    let outside = d.join("outside");
    fs::create_dir_all(&outside).unwrap();
    sample(&sb);
    let good = b"/data/storage/el2/base/files/ok.txt";
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "dotdot",
            hostile_tar(&[
                (std::str::from_utf8(good).unwrap(), tar::EntryType::Regular, b"x", None),
                ("/data/storage/../../../outside/evil", tar::EntryType::Regular, b"evil", None),
            ]),
        ),
        ("absolute outside data", hostile_tar(&[("/etc/passwd", tar::EntryType::Regular, b"evil", None)])),
        ("symlink", hostile_tar(&[("/data/storage/el2/base/files/link", tar::EntryType::Symlink, b"", Some("/etc"))])),
        ("hard link", hostile_tar(&[("/data/storage/el2/base/files/hard", tar::EntryType::Link, b"", Some("/etc/passwd"))])),
        ("work area", hostile_tar(&[("/data/storage/el2/base/.backup/restore/manage.json", tar::EntryType::Regular, b"[]", None)])),
        ("truncated", {
            let mut t = hostile_tar(&[("/data/storage/el2/base/files/n.txt", tar::EntryType::Regular, &[7u8; 5000], None)]);
            t.truncate(2048);
            t
        }),
        ("garbage", vec![0x55u8; 4096]),
    ];
    let before = tree(&sb);
    for (what, bytes) in cases {
        let (mut data, _) = create_handle(&sb, "part.0.tar").unwrap();
        data.write_all(&bytes).unwrap();
        let (mut m, _) = create_handle(&sb, "manage.json").unwrap();
        m.write_all(br#"[{"fileName":"part.0.tar","isBigFile":false}]"#).unwrap();
        let r = restore(&sb);
        assert!(matches!(r, Err(EngineError::Untar(_))), "{what}: {r:?}");
        assert_eq!(r.unwrap_err().to_biz().code, crate::error::E_UNTAR, "{what}");
        assert_eq!(tree(&sb), before, "{what}: the app's data changed");
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 0, "{what}");
    }
    // A big file whose recorded destination leaves the sandbox.
    let (mut data, _) = create_handle(&sb, "0123456789abcdef").unwrap();
    data.write_all(b"evil").unwrap();
    let (mut m, _) = create_handle(&sb, "manage.json").unwrap();
    m.write_all(br#"[{"fileName":"0123456789abcdef","information":{"path":"/data/storage/../../../outside/x"},"isBigFile":true}]"#)
        .unwrap();
    assert!(matches!(restore(&sb), Err(EngineError::Untar(_))));
    assert_eq!(tree(&sb), before);
    fs::remove_dir_all(d).unwrap();
}

#[test]
fn a_symlink_planted_in_the_app_data_is_never_followed() {
    let d = temp("planted");
    let (sb, out) = (d.join("app"), d.join("out"));
    fs::create_dir_all(&out).unwrap();
    sample(&sb);
    let uris = backup_into(&sb, &out);
    let outside = d.join("outside");
    fs::create_dir_all(&outside).unwrap();
    let notes = sb.join("data/storage/el2/base/files/notes");
    fs::remove_dir_all(&notes).unwrap();
    std::os::unix::fs::symlink(&outside, &notes).unwrap();
    hand_over(&sb, &out, &uris);
    assert!(matches!(restore(&sb), Err(EngineError::Untar(_))));
    assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
    assert!(notes.symlink_metadata().unwrap().file_type().is_symlink());
    fs::remove_dir_all(d).unwrap();
}

#[test]
fn restore_without_manage_json_is_refused() {
    let d = temp("nomanage");
    let sb = d.join("app");
    sample(&sb);
    let (mut data, _) = create_handle(&sb, "part.0.tar").unwrap();
    data.write_all(&hostile_tar(&[("/data/storage/el2/base/files/x", tar::EntryType::Regular, b"x", None)])).unwrap();
    assert!(matches!(restore(&sb), Err(EngineError::Untar(_))));
    fs::remove_dir_all(d).unwrap();
}

// ---- incremental ----------------------------------------------------------------------------

use super::incremental::{run_incremental, IncrementalJob};
use super::report::parse_report;

struct Delivered {
    uri: String,
    bytes: Vec<u8>,
    report: Vec<u8>,
}

fn incremental(sandbox: &Path, last: i64, baseline: Option<Vec<u8>>) -> Vec<Delivered> {
    let mut got = Vec::new();
    let job = IncrementalJob { backup: job(sandbox), last_incremental_time: last, baseline };
    run_incremental(&job, &mut |o| {
        let mut bytes = Vec::new();
        let mut f = o.file;
        f.read_to_end(&mut bytes).unwrap();
        let mut report = Vec::new();
        o.report.expect("every incremental output has a report").read_to_end(&mut report).unwrap();
        got.push(Delivered { uri: o.uri, bytes, report });
        Flow::Continue
    })
    .unwrap();
    clear_work_area(sandbox).unwrap();
    got
}

fn tar_names(bytes: &[u8]) -> Vec<String> {
    let mut ar = tar::Archive::new(bytes);
    ar.entries().unwrap().map(|e| String::from_utf8(e.unwrap().path_bytes().into_owned()).unwrap()).collect()
}

const F: &str = "data/storage/el2/base/files";

fn chain_sample(sb: &Path) {
    for i in 0..20 {
        write(sb, &format!("{F}/n{i}.txt"), format!("note {i}").as_bytes(), 0o640, (1_700_000_000, 0));
    }
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    write(sb, &format!("{F}/video.mp4"), &big, 0o600, (1_700_000_000, 0));
}

#[test]
fn only_changed_and_new_files_travel_and_unchanged_files_are_not_read() {
    let d = temp("incr");
    let sb = d.join("app");
    chain_sample(&sb);
    let base = incremental(&sb, 0, None);
    let all = &base.last().unwrap().report;
    assert_eq!(base.last().unwrap().uri, "manage.json");
    assert!(base.iter().any(|o| o.uri.ends_with("_part.0.tar") && o.uri.split('_').next().unwrap().parse::<u64>().is_ok()));
    let big = base.iter().find(|o| o.uri.len() == 16).expect("the big file travels as itself, no extension");
    assert_eq!(parse_report(&big.report).unwrap().len(), 1);

    // Change 3 files, add 1, delete 1; and rewrite n9 with same size and mtime: the engine
    // must trust the baseline and never read it.
    for i in [1, 2, 3] {
        write(&sb, &format!("{F}/n{i}.txt"), format!("NOTE {i}!").as_bytes(), 0o640, (1_700_000_200, 0));
    }
    write(&sb, &format!("{F}/new.txt"), b"brand new", 0o600, (1_700_000_200, 0));
    fs::remove_file(sb.join(format!("{F}/n4.txt"))).unwrap();
    write(&sb, &format!("{F}/n9.txt"), b"NOTE 9", 0o640, (1_700_000_000, 0));
    // Touched but identical content: a candidate by mtime, yet the hash says unchanged.
    write(&sb, &format!("{F}/n5.txt"), b"note 5", 0o640, (1_700_000_200, 0));

    let inc = incremental(&sb, 1_700_000_100, Some(all.clone()));
    let tars: Vec<&Delivered> = inc.iter().filter(|o| o.uri.ends_with(".tar")).collect();
    assert_eq!(tars.len(), 1);
    let mut names = tar_names(&tars[0].bytes);
    names.sort();
    assert_eq!(names, [format!("/{F}/n1.txt"), format!("/{F}/n2.txt"), format!("/{F}/n3.txt"), format!("/{F}/new.txt")]);
    let tar_rp: Vec<String> = parse_report(&tars[0].report).unwrap().into_iter().map(|e| e.path).collect();
    assert_eq!(tar_rp.len(), 4);
    assert_eq!(inc.len(), 2, "no big file: it did not change");
    let listing = parse_report(&inc.last().unwrap().report).unwrap();
    assert!(!listing.iter().any(|e| e.path.ends_with("/n4.txt")), "the deleted file left the listing");
    let old9 = parse_report(all).unwrap().into_iter().find(|e| e.path.ends_with("/n9.txt")).unwrap();
    let new9 = listing.iter().find(|e| e.path.ends_with("/n9.txt")).unwrap();
    assert_eq!(new9.hash, old9.hash, "n9 was not read: its baseline hash was kept");

    // Nothing changed since: nothing travels but manage.json.
    let none = incremental(&sb, 1_700_000_300, Some(inc.last().unwrap().report.clone()));
    assert_eq!(none.iter().map(|o| o.uri.as_str()).collect::<Vec<_>>(), ["manage.json"]);
    fs::remove_dir_all(d).unwrap();
}

fn restore_delivered(sb: &Path, outs: &[Delivered], deletions: bool) {
    for o in outs {
        let (mut data, mut rp) = create_handle(sb, &o.uri).unwrap();
        data.write_all(&o.bytes).unwrap();
        rp.write_all(&o.report).unwrap();
    }
    let scope = deletions.then(|| (job(sb).includes, vec![]));
    let r = run(&RestoreJob { sandbox: sb.to_path_buf(), into_restore_dir: false, deletions: scope });
    clear_work_area(sb).unwrap();
    r.map_err(|e| e.to_string()).unwrap();
}

#[test]
fn a_restored_chain_reproduces_the_last_state_and_deletes_on_request() {
    let d = temp("chain");
    let sb = d.join("app");
    chain_sample(&sb);
    let full = incremental(&sb, 0, None);
    write(&sb, &format!("{F}/n1.txt"), b"changed once", 0o600, (1_700_000_200, 0));
    fs::remove_file(sb.join(format!("{F}/n2.txt"))).unwrap();
    let inc1 = incremental(&sb, 1_700_000_100, Some(full.last().unwrap().report.clone()));
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 241) as u8).collect();
    write(&sb, &format!("{F}/video.mp4"), &big, 0o600, (1_700_000_400, 0));
    write(&sb, &format!("{F}/sub/added.txt"), b"added later", 0o644, (1_700_000_400, 0));
    let inc2 = incremental(&sb, 1_700_000_300, Some(inc1.last().unwrap().report.clone()));
    let last = tree(&sb);

    for deletions in [false, true] {
        fs::remove_dir_all(sb.join("data")).unwrap();
        for outs in [&full, &inc1, &inc2] {
            restore_delivered(&sb, outs, deletions);
        }
        let got = tree(&sb);
        let n2 = format!("{F}/n2.txt");
        // Directory mtimes are not part of an incremental listing; everything else is.
        let no_dir_times = |t: &Tree| {
            t.iter().map(|(k, v)| (k.clone(), if v.0 { (v.0, v.1, 0, 0, 0, String::new()) } else { v.clone() })).collect::<Tree>()
        };
        if deletions {
            assert_eq!(no_dir_times(&got), no_dir_times(&last));
        } else {
            // The reference never deletes: n2 comes back from the full backup.
            assert!(got.contains_key(&n2));
            let mut without = got.clone();
            without.remove(&n2);
            let files_only = |t: &Tree| t.iter().filter(|(_, v)| !v.0).map(|(k, v)| (k.clone(), v.clone())).collect::<Vec<_>>();
            assert_eq!(files_only(&without), files_only(&last));
        }
    }
    fs::remove_dir_all(d).unwrap();
}

#[test]
fn parts_split_at_6000_entries() {
    let d = temp("split");
    let sb = d.join("app");
    for i in 0..6100 {
        write(&sb, &format!("{F}/d{}/f{i}", i / 1000), b"x", 0o600, (1_700_000_000, 0));
    }
    let out = d.join("out");
    fs::create_dir_all(&out).unwrap();
    let uris = backup_into(&sb, &out);
    assert_eq!(uris, ["part.0.tar", "part.1.tar", "manage.json"]);
    let first = tar_names(&fs::read(out.join("part.0.tar")).unwrap()).len();
    let second = tar_names(&fs::read(out.join("part.1.tar")).unwrap()).len();
    assert_eq!(first, 6000);
    assert_eq!(first + second, 6100 + 7 + 1, "files, their 7 directories and files/ itself");
    fs::remove_dir_all(d).unwrap();
}

// ---- all or nothing (DESIGN.md §5 rule 11) ----------------------------------------------------

/// Writes `files` (uri → bytes) into the restore area as a client would, and restores.
fn restore_given(sb: &Path, files: &[(&str, Vec<u8>)]) -> Result<super::restore::RestoreSummary, EngineError> {
    for (uri, bytes) in files {
        let (mut data, _) = create_handle(sb, uri).unwrap();
        data.write_all(bytes).unwrap();
    }
    restore(sb)
}

/// The restore failed with 13500008, its message names `word`, and the app is as `before`.
fn refused_unchanged(r: Result<super::restore::RestoreSummary, EngineError>, word: &str, sb: &Path, before: &Tree) {
    let e = r.expect_err("the restore must fail");
    assert_eq!(e.to_biz().code, crate::error::E_UNTAR, "{e}");
    assert!(e.to_string().contains(word), "{word:?} not in: {e}");
    assert_eq!(&tree(sb), before, "the app's data changed: {e}");
}

fn app_with_top(name: &str) -> (PathBuf, PathBuf, Tree) {
    let d = temp(name);
    let sb = d.join("app");
    sample(&sb);
    write(&sb, &format!("{F}/top.txt"), b"the app's own top.txt", 0o644, (1_650_000_000, 7));
    let before = tree(&sb);
    (d, sb, before)
}

const PART_ONLY: &[u8] = br#"[{"fileName":"part.0.tar","isBigFile":false}]"#;

#[test]
fn d1_a_path_that_is_a_file_and_a_parent_is_refused_before_anything_moves() {
    let (d, sb, before) = app_with_top("d1");
    let tar = hostile_tar(&[
        (&format!("/{F}/top.txt"), tar::EntryType::Regular, b"replaced", None),
        (&format!("/{F}/cf/child"), tar::EntryType::Regular, b"child", None),
        (&format!("/{F}/cf"), tar::EntryType::Regular, b"a file", None),
    ]);
    let r = restore_given(&sb, &[("part.0.tar", tar), ("manage.json", PART_ONLY.to_vec())]);
    refused_unchanged(r, "parent directory", &sb, &before);
    // The same the other way round, and a path that is both a file and a directory.
    let tar = hostile_tar(&[
        (&format!("/{F}/x"), tar::EntryType::Regular, b"a file", None),
        (&format!("/{F}/x/"), tar::EntryType::Directory, b"", None),
    ]);
    let r = restore_given(&sb, &[("part.0.tar", tar), ("manage.json", PART_ONLY.to_vec())]);
    refused_unchanged(r, "both a file and a directory", &sb, &before);
    fs::remove_dir_all(d).unwrap();
}

#[test]
fn d2_a_big_file_listed_twice_or_a_file_in_the_backup_twice_is_refused() {
    let (d, sb, before) = app_with_top("d2");
    let big = vec![9u8; 3_000_000];
    let entry = format!(
        r#"{{"fileName":"0123456789abcdef","information":{{"path":"/{F}/big.bin","stat":{{"st_size":3000000}}}},"isBigFile":true}}"#
    );
    let manage = format!("[{entry},\n{entry}]");
    let r = restore_given(&sb, &[("0123456789abcdef", big), ("manage.json", manage.into_bytes())]);
    refused_unchanged(r, "twice", &sb, &before);
    let tar = hostile_tar(&[
        (&format!("/{F}/top.txt"), tar::EntryType::Regular, b"one", None),
        (&format!("/{F}/top.txt"), tar::EntryType::Regular, b"two", None),
    ]);
    let r = restore_given(&sb, &[("part.0.tar", tar), ("manage.json", PART_ONLY.to_vec())]);
    refused_unchanged(r, "twice", &sb, &before);
    fs::remove_dir_all(d).unwrap();
}

#[test]
fn d3_a_part_named_100000_times_is_unpacked_once() {
    let d = temp("d3");
    let sb = d.join("app");
    fs::create_dir_all(&sb).unwrap();
    let entries: Vec<(String, Vec<u8>)> = (0..50).map(|i| (format!("/{F}/f{i}"), vec![b'x'; 1000])).collect();
    let list: Vec<(&str, tar::EntryType, &[u8], Option<&str>)> =
        entries.iter().map(|(p, b)| (p.as_str(), tar::EntryType::Regular, b.as_slice(), None)).collect();
    let tar = hostile_tar(&list);
    let one = r#"{"fileName":"part.0.tar","isBigFile":false}"#;
    let manage = format!("[{}]", vec![one; 100_000].join(",\n"));
    let started = std::time::Instant::now();
    let s = restore_given(&sb, &[("part.0.tar", tar), ("manage.json", manage.into_bytes())]).map_err(|e| e.to_string()).unwrap();
    // Once: 50 files, 50,000 bytes staged and moved (the defect staged 5,000,000 files).
    assert_eq!((s.files, s.bytes), (50, 50_000));
    assert!(started.elapsed() < std::time::Duration::from_secs(60), "took {:?}", started.elapsed());
    assert_eq!(fs::read(sb.join(format!("{F}/f7"))).unwrap(), vec![b'x'; 1000]);
    fs::remove_dir_all(d).unwrap();
}

#[test]
fn d4_a_big_file_of_another_size_than_manage_json_gives_is_refused() {
    let (d, sb, before) = app_with_top("d4");
    let manage = format!(
        r#"[{{"fileName":"0123456789abcdef","information":{{"path":"/{F}/big.bin","stat":{{"st_size":2109497}}}},"isBigFile":true}}]"#
    );
    for len in [1000usize, 2_109_498] {
        let r = restore_given(&sb, &[("0123456789abcdef", vec![1u8; len]), ("manage.json", manage.clone().into_bytes())]);
        refused_unchanged(r, &format!("is {len} bytes, manage.json (st_size) says 2109497"), &sb, &before);
    }
    fs::remove_dir_all(d).unwrap();
}

#[test]
fn d5_an_incremental_big_file_must_have_the_size_and_hash_of_its_rp_line() {
    let d = temp("d5");
    let sb = d.join("app");
    chain_sample(&sb);
    let full = incremental(&sb, 0, None);
    let before = tree(&sb);
    let big = full.iter().find(|o| o.uri.len() == 16).expect("a big file");
    for (what, bytes, st_size) in [
        ("shorter", vec![7u8; 4096], 4096u64),
        (
            "same size, other bytes",
            {
                let mut b = big.bytes.clone();
                b[1_000_000] ^= 0xff;
                b
            },
            big.bytes.len() as u64,
        ),
    ] {
        // manage.json agrees with the damaged file, so only the .rp line can tell.
        let manage = String::from_utf8(full.last().unwrap().bytes.clone())
            .unwrap()
            .replace(&format!("\"st_size\":{}", big.bytes.len()), &format!("\"st_size\":{st_size}"));
        let mut outs: Vec<(&str, Vec<u8>, Vec<u8>)> = Vec::new();
        for o in &full {
            let data = if o.uri == big.uri {
                bytes.clone()
            } else if o.uri == "manage.json" {
                manage.clone().into_bytes()
            } else {
                o.bytes.clone()
            };
            outs.push((&o.uri, data, o.report.clone()));
        }
        for (uri, data, report) in &outs {
            let (mut f, mut rp) = create_handle(&sb, uri).unwrap();
            f.write_all(data).unwrap();
            rp.write_all(report).unwrap();
        }
        let word = if bytes.len() == 4096 { "its .rp line says 3000000" } else { "SHA-256" };
        refused_unchanged(restore(&sb), word, &sb, &before);
        let _ = what;
    }
    fs::remove_dir_all(d).unwrap();
}

#[test]
fn recorded_sizes_and_hashes_catch_damage_a_tar_reader_would_miss() {
    let d = temp("recorded");
    let (sb, out) = (d.join("app"), d.join("out"));
    fs::create_dir_all(&out).unwrap();
    sample(&sb);
    let uris = backup_into(&sb, &out);
    let manage: Vec<serde_json::Value> = serde_json::from_slice(&fs::read(out.join("manage.json")).unwrap()).unwrap();
    for m in &manage {
        let name = m["fileName"].as_str().unwrap();
        let bytes = fs::read(out.join(name)).unwrap();
        assert_eq!(m["size"].as_u64(), Some(bytes.len() as u64), "{name}");
        let hex: String = sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(m["sha256"].as_str(), Some(hex.as_str()), "{name}");
    }
    let before = tree(&sb);
    let big = uris.iter().find(|u| u.ends_with(".db")).unwrap().clone();
    // A flipped byte inside a file's content in the tar (the tar still parses), then in the big file.
    for victim in ["part.0.tar".to_string(), big] {
        let mut files: Vec<(&str, Vec<u8>)> = uris.iter().map(|u| (u.as_str(), fs::read(out.join(u)).unwrap())).collect();
        let f = files.iter_mut().find(|(u, _)| *u == victim).unwrap();
        let at = if victim.ends_with(".tar") { 512 + 3 } else { 1_234_567 };
        f.1[at] ^= 0x20;
        refused_unchanged(restore_given(&sb, &files), "SHA-256", &sb, &before);
    }
    fs::remove_dir_all(d).unwrap();
}

#[test]
fn a_failure_while_moving_into_place_undoes_every_change() {
    let d = temp("undo");
    let (sb, out) = (d.join("app"), d.join("out"));
    fs::create_dir_all(&out).unwrap();
    sample(&sb);
    let uris = backup_into(&sb, &out);
    // The app changed since: some files differ, one directory is gone, one file is new.
    write(&sb, "data/storage/el2/base/files/notes/3/n3.txt", b"edited since", 0o600, (1_710_000_000, 0));
    fs::remove_dir_all(sb.join("data/storage/el2/base/files/notes/5")).unwrap();
    write(&sb, &format!("{F}/later.txt"), b"made after the backup", 0o644, (1_710_000_000, 0));
    fs::remove_file(sb.join("data/storage/el2/database/rdb/big.db")).unwrap();
    let before = tree(&sb);
    for fail_after in [0, 1, 40, 152, 153, 160] {
        hand_over(&sb, &out, &uris);
        super::restore::FAIL_AFTER.with(|f| f.set(Some(fail_after)));
        let r = restore(&sb);
        super::restore::FAIL_AFTER.with(|f| f.set(None));
        refused_unchanged(r, "every change was undone", &sb, &before);
    }
    // And the same restore without a fault succeeds.
    hand_over(&sb, &out, &uris);
    assert_eq!(restore(&sb).map_err(|e| e.to_string()).unwrap().files, 153);
    fs::remove_dir_all(d).unwrap();
}

#[test]
fn a_failure_while_applying_deletions_brings_the_deleted_files_back() {
    let d = temp("undo-del");
    let sb = d.join("app");
    chain_sample(&sb);
    let full = incremental(&sb, 0, None);
    write(&sb, &format!("{F}/gone/a.txt"), b"not in the backup", 0o644, (1_710_000_000, 0));
    write(&sb, &format!("{F}/b.txt"), b"not in the backup either", 0o644, (1_710_000_000, 0));
    let before = tree(&sb);
    // A fault at every step in turn, until the restore gets through without one.
    for fail_after in 0.. {
        for o in &full {
            let (mut f, mut rp) = create_handle(&sb, &o.uri).unwrap();
            f.write_all(&o.bytes).unwrap();
            rp.write_all(&o.report).unwrap();
        }
        super::restore::FAIL_AFTER.with(|f| f.set(Some(fail_after)));
        let r = run(&RestoreJob { sandbox: sb.clone(), into_restore_dir: false, deletions: Some((job(&sb).includes, vec![])) });
        let hit = super::restore::FAIL_AFTER.with(|f| f.replace(None)).is_none();
        clear_work_area(&sb).unwrap();
        if !hit {
            let s = r.map_err(|e| e.to_string()).unwrap();
            assert_eq!(s.deleted, 3, "gone/a.txt, gone/ and b.txt");
            assert!(fail_after > 25, "every step was faulted: {fail_after}");
            break;
        }
        refused_unchanged(r, "undone", &sb, &before);
    }
    fs::remove_dir_all(d).unwrap();
}

#[test]
fn a_symlinked_data_dir_and_an_unknown_rp_version_are_refused_with_13500008() {
    let d = temp("hostile-sandbox");
    let sb = d.join("app");
    let outside = d.join("outside");
    fs::create_dir_all(outside.join("storage/el2/base")).unwrap();
    fs::create_dir_all(&sb).unwrap();
    std::os::unix::fs::symlink(&outside, sb.join("data")).unwrap();
    let e = create_handle(&sb, "part.0.tar").unwrap_err();
    assert_eq!(crate::error::BizError::from_io(&e).code, crate::error::E_UNTAR, "{e}");
    let e = run(&RestoreJob { sandbox: sb.clone(), into_restore_dir: false, deletions: None }).unwrap_err();
    assert_eq!(e.to_biz().code, crate::error::E_UNTAR, "{e}");
    assert_eq!(fs::read_dir(outside.join("storage/el2/base")).unwrap().count(), 0, "nothing was written through the link");

    let (d2, sb2, before) = app_with_top("rp-version");
    let tar = hostile_tar(&[(&format!("/{F}/top.txt"), tar::EntryType::Regular, b"new", None)]);
    let (mut data, mut rp) = create_handle(&sb2, "1_part.0.tar").unwrap();
    data.write_all(&tar).unwrap();
    rp.write_all(format!("version=9.9&attrNum=8\n{}\n/{F}/top.txt;33188;0;3;1;;1;0\n", super::report::HEADER).as_bytes()).unwrap();
    let r = restore_given(&sb2, &[("manage.json", br#"[{"fileName":"1_part.0.tar","isBigFile":false}]"#.to_vec())]);
    refused_unchanged(r, "9.9", &sb2, &before);
    fs::remove_dir_all(d).unwrap();
    fs::remove_dir_all(d2).unwrap();
}

#[test]
fn pax_times_before_the_epoch_keep_their_fraction() {
    use super::restore::parse_pax_time;
    let t = |v: &str| parse_pax_time(v).map(|t| (t.tv_sec(), t.tv_nsec()));
    assert_eq!(t("1700000000.5"), Some((1_700_000_000, 500_000_000)));
    assert_eq!(t("-1.25"), Some((-2, 750_000_000)));
    assert_eq!(t("-0.5"), Some((-1, 500_000_000)));
    assert_eq!(t("-7"), Some((-7, 0)));
    assert_eq!(t("--1"), None);
    assert_eq!(t("1.x"), None);
}

/// Staged files are copied in the kernel from their offsets in the part and the data between
/// headers is skipped by seeking: a part cut anywhere (in a later file's content, in the
/// padding after the last one) must still be refused, and every good file before the cut
/// must not make it in.
#[test]
fn a_part_cut_anywhere_is_refused_even_where_content_is_copied_in_the_kernel() {
    let (d, sb, before) = app_with_top("cut");
    let names: Vec<String> = (0..300).map(|i| format!("/{F}/many/f{i}.bin")).collect();
    let bodies: Vec<Vec<u8>> = (0..300).map(|i| vec![(i % 251) as u8; 700 + i * 13]).collect();
    let entries: Vec<(&str, tar::EntryType, &[u8], Option<&str>)> =
        names.iter().zip(&bodies).map(|(n, b)| (n.as_str(), tar::EntryType::Regular, b.as_slice(), None)).collect();
    let whole = hostile_tar(&entries);
    // Where the last file's content ends (its padding and the end blocks follow).
    let last_end = whole.len() - 1024 - (512 - bodies[299].len() % 512) % 512;
    for (what, cut) in [("inside a later file", whole.len() / 2 + 100), ("in the last padding", last_end + 10)] {
        let r = restore_given(&sb, &[("part.0.tar", whole[..cut].to_vec()), ("manage.json", PART_ONLY.to_vec())]);
        let e = r.expect_err(what);
        assert!(e.to_string().contains("truncated archive"), "{what}: {e}");
        refused_unchanged(Err(e), "part.0.tar", &sb, &before);
    }
    // The whole part restores, every file with its content.
    restore_given(&sb, &[("part.0.tar", whole), ("manage.json", PART_ONLY.to_vec())]).unwrap();
    for (n, b) in names.iter().zip(&bodies) {
        assert_eq!(&fs::read(sb.join(&n[1..])).unwrap(), b, "{n}");
    }
    fs::remove_dir_all(d).unwrap();
}

/// Conflicts among tar entries are found while staging; a big file is not staged, so one
/// that lands where a tar entry does is still refused before anything moves.
#[test]
fn a_big_file_landing_on_a_file_of_a_part_is_refused() {
    let (d, sb, before) = app_with_top("bigclash");
    let tar = hostile_tar(&[(&format!("/{F}/big.bin"), tar::EntryType::Regular, b"from the part", None)]);
    let manage = format!(
        r#"[{{"fileName":"part.0.tar","isBigFile":false}},
           {{"fileName":"0123456789abcdef","information":{{"path":"/{F}/big.bin","stat":{{"st_size":5}}}},"isBigFile":true}}]"#
    );
    let r = restore_given(&sb, &[("part.0.tar", tar), ("0123456789abcdef", b"big!!".to_vec()), ("manage.json", manage.into_bytes())]);
    refused_unchanged(r, "twice", &sb, &before);
    fs::remove_dir_all(d).unwrap();
}
