#![no_main]

#[path = "../targets.rs"]
#[allow(dead_code)] // each binary runs one of the shared targets
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::manage_json(data));
