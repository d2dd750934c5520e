//! `backup`: OpenHarmony's `@ohos.file.backup` for Node.js on Linux.
//!
//! Rooms (DESIGN.md §2): `napi` (the JS surface) → `client` (a session as the caller sees
//! it) ═ `protocol` ═ `service` (sessions, scheduling, timers) → `engine` (scan, pack,
//! unpack) → `device` (bundles and sandboxes). `transport` carries the protocol, in this
//! process or to the device's service process. `error` is the one table of codes.

// The fuzz targets (fuzz/targets.rs) name the crate `backup`; so can its own tests, which
// replay their corpus.
extern crate self as backup;

pub mod client;
pub mod device;
pub mod engine;
pub mod error;
pub mod napi;
pub mod protocol;
pub mod service;
pub mod settings;
pub mod transport;
