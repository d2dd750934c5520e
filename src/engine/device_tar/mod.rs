//! Test-only stand-ins for a real device's archive code, built from what
//! ohos-behaviour.md §3.2–§3.4 (and the reference's `tar_file.cpp`, `untar_file.cpp`) say:
//! - [`writer`] writes a backup folder byte for byte as a device's extension does
//!   (`part.<N>.tar`, big files, the streamed `manage.json`, `.rp` reports);
//! - [`untar`] reads a tar with a device's rules, and [`readers`] `manage.json` and `.rp`
//!   reports, to show that what this project writes restores on a device;
//! - [`corpus`] is the set of cases both directions are tried on.

pub mod corpus;
pub mod readers;
pub mod untar;
pub mod writer;

#[cfg(test)]
mod tests;
