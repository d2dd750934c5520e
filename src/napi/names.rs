//! The device's name rules (src/device/names.rs) for `lib/`: the JS helpers and the CLI check
//! bundle names and uris with these before any file-system action, so the rule lives once.

use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::args::as_string;
use crate::device::names;

/// Whether `name` is a bundle name the device accepts (anything but a string is not).
#[napi(js_name = "isValidBundleName", ts_args_type = "name: unknown")]
pub fn is_valid_bundle_name(name: Unknown) -> bool {
    as_string(&name).is_some_and(|n| names::is_valid_bundle_name(&n))
}

/// Whether `uri` is a file name the service can use.
#[napi(js_name = "isValidUri", ts_args_type = "uri: unknown")]
pub fn is_valid_uri(uri: Unknown) -> bool {
    as_string(&uri).is_some_and(|u| names::is_valid_uri(&u))
}

/// Why `name` is not a bundle name (a sentence for an error message), or null.
#[napi(js_name = "bundleNameProblem", ts_args_type = "name: unknown")]
pub fn bundle_name_problem(name: Unknown) -> Option<String> {
    match as_string(&name) {
        Some(n) => names::bundle_name_problem(&n),
        None => Some(format!("a bundle name must be a string: {}", names::BUNDLE_NAME_RULE)),
    }
}

/// Why `uri` is not a uri, or null.
#[napi(js_name = "uriProblem", ts_args_type = "uri: unknown")]
pub fn uri_problem(uri: Unknown) -> Option<String> {
    match as_string(&uri) {
        Some(u) => names::uri_problem(&u),
        None => Some(format!("a uri must be a string: {}", names::URI_RULE)),
    }
}
