//! Validation of the only names a caller can pass that end up in paths.

/// Letters, digits, `_` and `.`; starts with a letter; 7–128 characters.
pub fn is_valid_bundle_name(name: &str) -> bool {
    let b = name.as_bytes();
    (7..=128).contains(&b.len()) && b[0].is_ascii_alphabetic() && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'.')
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
