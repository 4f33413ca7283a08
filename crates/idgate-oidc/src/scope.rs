//! Scopes idgate knows and what they release.

/// Scopes the discovery document lists.
pub const SUPPORTED: [&str; 5] = ["openid", "profile", "phone", "email", "offline_access"];

/// Keeps the supported scopes of a request, in order, once each (unknown scopes are
/// dropped rather than refused, as OIDC Core §3.1.2.1 allows).
pub fn normalise(requested: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for s in requested.split_ascii_whitespace() {
        if SUPPORTED.contains(&s) && !out.contains(&s) {
            out.push(s);
        }
    }
    out.join(" ")
}

pub fn has(scope: &str, wanted: &str) -> bool {
    scope.split_ascii_whitespace().any(|s| s == wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises() {
        assert_eq!(normalise("openid  foo profile openid"), "openid profile");
        assert!(has("openid phone", "phone"));
        assert!(!has("openid phone", "email"));
    }
}
