//! The difference between two versions of a template, as a unified text diff.

use similar::TextDiff;

/// A unified diff (3 lines of context) from `old` to `new`, headed by their labels; empty when they are equal.
pub fn unified_diff(old_label: &str, old: &str, new_label: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    TextDiff::from_lines(old, new).unified_diff().context_radius(3).header(old_label, new_label).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_line_shows_as_removed_and_added() {
        let diff = unified_diff("a", "un\ndeux\ntrois\n", "b", "un\n2\ntrois\n");
        assert!(diff.starts_with("--- a\n+++ b\n@@ -1,3 +1,3 @@\n"), "{diff}");
        assert!(diff.contains("\n-deux\n+2\n"), "{diff}");
    }

    #[test]
    fn equal_versions_have_an_empty_diff() {
        assert_eq!(unified_diff("a", "x\n", "b", "x\n"), "");
    }
}
