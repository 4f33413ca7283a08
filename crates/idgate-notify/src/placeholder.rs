//! The `{{name}}` scanner shared by message and payload templates.
//!
//! It matches exactly what WSO2's `\{\{([a-zA-Z0-9\-\.]+?)\}\}` matches, scanning left to
//! right like a regex engine (so `{{{mobile}}}` holds the placeholder `{{mobile}}` between
//! two literal braces). It is hand-written because the grammar is tiny and a regex engine
//! would be the crate's largest dependency.
//!
//! On top of WSO2 it reports *near misses* — `{{ body }}`, `{{user_name}}`, `{{}}` — which
//! WSO2 silently leaves in the text as literal braces: an operator who types them meant a
//! placeholder, and finding out from a user's phone is too late.

use std::ops::Range;

/// One piece of a scanned template, as byte ranges into the scanned text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    Literal(Range<usize>),
    /// `range` covers the whole `{{name}}`; `name` only the name.
    Placeholder {
        range: Range<usize>,
        name: Range<usize>,
    },
}

/// Text that looks like a placeholder but does not match WSO2's syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NearMiss {
    /// The whole `{{…}}` as written.
    pub found: String,
    /// What was between the braces.
    pub inner: String,
}

/// How far after `{{` a closing `}}` still counts as "meant to be a placeholder".
const NEAR_MISS_WINDOW: usize = 64;

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'.'
}

/// Splits `text` into literals and placeholders. Placeholder names are not checked here.
pub(crate) fn scan(text: &str) -> Result<Vec<Piece>, NearMiss> {
    let bytes = text.as_bytes();
    let mut pieces = Vec::new();
    let mut literal_start = 0;
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] != b'{' || bytes[i + 1] != b'{' {
            i += 1;
            continue;
        }
        let name_start = i + 2;
        let mut j = name_start;
        while j < bytes.len() && is_name_byte(bytes[j]) {
            j += 1;
        }
        if j > name_start && bytes.get(j) == Some(&b'}') && bytes.get(j + 1) == Some(&b'}') {
            if literal_start < i {
                pieces.push(Piece::Literal(literal_start..i));
            }
            pieces.push(Piece::Placeholder {
                range: i..j + 2,
                name: name_start..j,
            });
            i = j + 2;
            literal_start = i;
            continue;
        }
        if let Some(miss) = near_miss(text, i) {
            return Err(miss);
        }
        i += 1;
    }
    if literal_start < bytes.len() {
        pieces.push(Piece::Literal(literal_start..bytes.len()));
    }
    Ok(pieces)
}

/// At `start` (a `{{` that is not a placeholder): is there a `}}` close by on the same
/// line, with no other brace in between?
fn near_miss(text: &str, start: usize) -> Option<NearMiss> {
    let bytes = text.as_bytes();
    let inner_start = start + 2;
    let end = bytes.len().min(inner_start + NEAR_MISS_WINDOW);
    let mut k = inner_start;
    while k < end {
        match bytes[k] {
            b'}' => {
                if bytes.get(k + 1) == Some(&b'}') {
                    return Some(NearMiss {
                        found: text.get(start..k + 2)?.to_string(),
                        inner: text.get(inner_start..k)?.to_string(),
                    });
                }
                return None;
            }
            b'{' | b'\n' | b'\r' => return None,
            _ => k += 1,
        }
    }
    None
}

/// Suggests a known placeholder for an unknown or misspelt name: case and `_`/space
/// differences first, then a small table of names people reach for (`code`, `phone`).
pub(crate) fn suggest(
    name: &str,
    known: &[&'static str],
    aliases: &[(&str, &'static str)],
) -> Option<&'static str> {
    let normalised: String = name
        .trim()
        .chars()
        .map(|c| match c {
            '_' | ' ' => '-',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    if let Some(k) = known.iter().find(|k| **k == normalised) {
        return Some(k);
    }
    let squashed: String = normalised.chars().filter(|c| *c != '-').collect();
    if let Some(k) = known.iter().find(|k| k.replace('-', "") == squashed) {
        return Some(k);
    }
    aliases
        .iter()
        .find(|(alias, _)| alias.replace('-', "") == squashed)
        .map(|(_, k)| *k)
}

/// `{{a}}, {{b}}` for error messages.
pub(crate) fn list(known: &[&str]) -> String {
    known
        .iter()
        .map(|k| format!("{{{{{k}}}}}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `; did you mean {{x}}?` or nothing.
pub(crate) fn did_you_mean(suggestion: &Option<&'static str>) -> String {
    match suggestion {
        Some(s) => format!(" (did you mean {{{{{s}}}}}?)"),
        None => String::new(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<&str> {
        scan(text)
            .unwrap()
            .into_iter()
            .filter_map(|p| match p {
                Piece::Placeholder { name, .. } => Some(&text[name]),
                Piece::Literal(_) => None,
            })
            .collect()
    }

    fn rebuild(text: &str) -> String {
        scan(text)
            .unwrap()
            .into_iter()
            .map(|p| match p {
                Piece::Literal(r) | Piece::Placeholder { range: r, .. } => &text[r],
            })
            .collect()
    }

    #[test]
    fn matches_wso2_regex() {
        assert_eq!(names("a {{b}} c {{d-e.f9}}"), vec!["b", "d-e.f9"]);
        assert_eq!(names("{{{mobile}}}"), vec!["mobile"]);
        assert_eq!(names("\\{{body}},"), vec!["body"]);
        assert_eq!(names("{{a}}{{b}}"), vec!["a", "b"]);
        assert_eq!(names("no braces, { single } {"), Vec::<&str>::new());
        assert_eq!(names("{{x"), Vec::<&str>::new());
        assert_eq!(names("ünïcödé {{a}} ✓"), vec!["a"]);
        for t in ["{{{mobile}}}", "x{{a}}y{{b}}", "}}{{", "é{{a}}é"] {
            assert_eq!(rebuild(t), t);
        }
    }

    #[test]
    fn near_misses_are_reported() {
        let m = scan("Code: {{ confirmation-code }}").unwrap_err();
        assert_eq!(m.found, "{{ confirmation-code }}");
        assert_eq!(m.inner, " confirmation-code ");
        assert_eq!(scan("{{user_name}}").unwrap_err().inner, "user_name");
        assert_eq!(scan("{{}}").unwrap_err().inner, "");
        // Not near misses: a brace in between, a line break, far away.
        assert!(scan("{{ {a}} }}").is_ok());
        assert!(scan("{{\n}}").is_ok());
        assert!(scan(&format!("{{{{{}}}}}", "x ".repeat(40))).is_ok());
    }

    #[test]
    fn suggestions() {
        let known = ["confirmation-code", "user-name"];
        let aliases = [("code", "confirmation-code")];
        assert_eq!(suggest(" User_Name ", &known, &aliases), Some("user-name"));
        assert_eq!(suggest("username", &known, &aliases), Some("user-name"));
        assert_eq!(suggest("CODE", &known, &aliases), Some("confirmation-code"));
        assert_eq!(suggest("zzz", &known, &aliases), None);
        assert_eq!(list(&known), "{{confirmation-code}}, {{user-name}}");
    }
}
