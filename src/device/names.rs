//! Validation of the only names a caller can pass that end up in paths.

/// Letters, digits, `_` and `.`; starts with a letter; 7–128 characters.
pub fn is_valid_bundle_name(name: &str) -> bool {
    let b = name.as_bytes();
    (7..=128).contains(&b.len()) && b[0].is_ascii_alphabetic() && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'.')
}

/// What a bundle name must be, for messages (the JS helpers show it as is).
pub const BUNDLE_NAME_RULE: &str = "letters, digits, '_' and '.', starting with a letter, 7-128 characters";
/// What a uri must be, for messages.
pub const URI_RULE: &str = "a plain file name of letters, digits, '_' and '.', at most 255 bytes, not '.' or '..'";

/// Why `name` is not a bundle name, or `None` when it is one.
pub fn bundle_name_problem(name: &str) -> Option<String> {
    (!is_valid_bundle_name(name)).then(|| format!("invalid bundle name {name:?}: {BUNDLE_NAME_RULE}"))
}

/// Why `uri` is not a uri, or `None` when it is one.
pub fn uri_problem(uri: &str) -> Option<String> {
    (!is_valid_uri(uri)).then(|| format!("invalid uri {uri:?}: {URI_RULE}"))
}

/// A restore uri is a plain file name of digits, letters, `_` and `.` (the docs), never `.`
/// or `..`, at most 255 bytes.
pub fn is_valid_uri(uri: &str) -> bool {
    let b = uri.as_bytes();
    !b.is_empty() && b.len() <= 255 && uri != "." && uri != ".." && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_names() {
        assert!(is_valid_bundle_name("com.example.hiworld"));
        assert!(!is_valid_bundle_name("short"));
        assert!(!is_valid_bundle_name("1com.example"));
        assert!(is_valid_bundle_name("com.example.a_b"));
        assert!(!is_valid_bundle_name(&"a".repeat(129)));
        assert!(!is_valid_bundle_name(".."));
        assert!(bundle_name_problem("..").unwrap().contains("7-128"));
        assert_eq!(bundle_name_problem("com.example.hiworld"), None);
    }

    #[test]
    fn uris() {
        assert!(is_valid_uri("part.0.tar"));
        assert!(is_valid_uri("manage.json"));
        assert!(is_valid_uri("1700000000000_part.1.tar"));
        assert!(!is_valid_uri(""));
        assert!(!is_valid_uri(".."));
        assert!(!is_valid_uri("a/b"));
        assert!(!is_valid_uri("../x"));
        assert!(!is_valid_uri("a-b"));
    }
}
