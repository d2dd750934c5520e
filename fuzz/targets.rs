//! The fuzz targets' bodies, shared by the cargo-fuzz binaries (fuzz/fuzz_targets/, nightly)
//! and the corpus replay that `cargo test` runs on stable (fuzz/replay.rs). Each takes
//! arbitrary bytes; a panic (or a broken property) is a finding.

use backup::engine::manage::{parse_manage, write_manage};
use backup::engine::report::{parse_report, write_report};
use backup::engine::restore::{check_conflicts, destination};
use backup::engine::verify::inspect_tar;

/// The tar reader and the restore planner: whatever an archive holds, what the planner
/// accepts lands inside the app's data (`data/storage/…`, never the work area), and the
/// conflict check decides without panicking.
pub fn tar_plan(data: &[u8]) {
    let Ok(files) = inspect_tar(&mut &data[..], "part.0.tar") else { return };
    for f in &files {
        assert!(f.dest.starts_with("data/storage/"), "{:?} escapes the app's data", f.dest);
        assert!(!f.dest.split('/').any(|c| c == ".." || c.is_empty() || c == "."), "{:?} is not clean", f.dest);
        assert_eq!(destination(&f.dest).as_deref(), Ok(f.dest.as_str()), "a planned path must pass the check again");
    }
    let _ = check_conflicts(files.iter().map(|f| (f.dest.as_str(), f.is_dir)));
}

/// manage.json: parsing never panics, and what it accepted writes back to the same entries.
pub fn manage_json(data: &[u8]) {
    let Ok(entries) = parse_manage(data) else { return };
    let mut out = Vec::new();
    write_manage(&entries, &mut out).expect("writing to memory");
    assert_eq!(parse_manage(&out).as_ref(), Ok(&entries), "manage.json does not read back what was written");
}

/// `.rp` reports: parsing never panics, and what it accepted writes back to the same lines.
pub fn report_rp(data: &[u8]) {
    let Ok(entries) = parse_report(data) else { return };
    let mut out = Vec::new();
    write_report(&entries, &mut out).expect("writing to memory");
    assert_eq!(parse_report(&out).as_ref(), Ok(&entries), "a report does not read back what was written");
}

/// The remote capability file a restore is given.
pub fn capabilities_json(data: &[u8]) {
    let _ = backup::service::capabilities::parse_remote(data);
}

/// The per-bundle `infos` JSON strings of appendBundles.
pub fn infos_json(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let infos = backup::service::infos::BundleInfos::parse(Some(&text));
    let _ = infos.unicast_details();
    let _ = infos.mapped_target("com.example.app");
}

/// A target's body.
pub type Target = fn(&[u8]);

/// Every target by its name (the corpus folder's name).
pub const TARGETS: [(&str, Target); 5] = [
    ("tar_plan", tar_plan),
    ("manage_json", manage_json),
    ("report_rp", report_rp),
    ("capabilities_json", capabilities_json),
    ("infos_json", infos_json),
];
