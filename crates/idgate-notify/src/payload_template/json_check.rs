//! Save-time JSON validation, reported in the operator's coordinates.
//!
//! serde_json reports where the *rendered* text broke; the operator edits the *template*,
//! where placeholders are shorter or longer than their values. Each rendered piece
//! remembers where it came from, so the position is mapped back: into a literal exactly,
//! into an inserted value as the placeholder's own position.

use serde::de::IgnoredAny;

use super::{PayloadError, Span};

/// The snippet shown around the error is at most this many characters.
const SNIPPET_CHARS: usize = 60;

pub(super) fn check(template: &str, rendered: &str, spans: &[Span]) -> Result<(), PayloadError> {
    let err = match serde_json::from_str::<IgnoredAny>(rendered) {
        Ok(_) => return Ok(()),
        Err(e) => e,
    };
    let rendered_offset = offset_of(rendered, err.line(), err.column());
    let (template_offset, span) = to_template(template, spans, rendered_offset);
    let (line, column) = line_column(template, template_offset);
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    let full = err.to_string();
    let message = full.strip_suffix(&suffix).unwrap_or(&full).to_string();
    Err(PayloadError::InvalidJson {
        line,
        column,
        message,
        snippet: snippet(template, template_offset),
        hint: span.and_then(|s| hint(s, rendered_offset)),
    })
}

/// serde_json's (1-based line, byte column of the last byte read) → byte offset of that byte.
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let line_start = if line <= 1 {
        0
    } else {
        text.match_indices('\n')
            .nth(line - 2)
            .map(|(i, _)| i + 1)
            .unwrap_or(text.len())
    };
    let mut offset = (line_start + column.saturating_sub(1)).min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// A rendered byte offset → template byte offset, and the span it fell in.
fn to_template<'s>(template: &str, spans: &'s [Span], offset: usize) -> (usize, Option<&'s Span>) {
    match spans.iter().find(|s| s.rendered.contains(&offset)) {
        Some(s) if s.placeholder.is_some() => (s.template.start, Some(s)),
        Some(s) => (s.template.start + (offset - s.rendered.start), Some(s)),
        None => (template.len(), None),
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = 1 + before.matches('\n').count();
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = 1 + before
        .get(line_start..)
        .map(|s| s.chars().count())
        .unwrap_or(0);
    (line, column)
}

/// The template's line at `offset`, trimmed, cut to a window around the offset.
fn snippet(text: &str, offset: usize) -> String {
    let start = text
        .get(..offset)
        .and_then(|b| b.rfind('\n'))
        .map(|i| i + 1)
        .unwrap_or(0);
    let end = text
        .get(offset..)
        .and_then(|a| a.find('\n'))
        .map(|i| offset + i)
        .unwrap_or(text.len());
    let line = text.get(start..end).unwrap_or_default();
    let at = line
        .get(..offset.saturating_sub(start))
        .map(|b| b.chars().count())
        .unwrap_or(0);
    let chars: Vec<char> = line.chars().collect();
    if chars.len() <= SNIPPET_CHARS {
        return line.trim().to_string();
    }
    let from = at
        .saturating_sub(SNIPPET_CHARS / 2)
        .min(chars.len() - SNIPPET_CHARS);
    let window: String = chars[from..from + SNIPPET_CHARS].iter().collect();
    let lead = if from > 0 { "…" } else { "" };
    let tail = if from + SNIPPET_CHARS < chars.len() {
        "…"
    } else {
        ""
    };
    format!("{lead}{}{tail}", window.trim())
}

/// The one mistake worth explaining: a placeholder written inside a JSON string. The
/// inserted literal's opening quote then *closes* that string, so the parser stumbles
/// after it, inside the inserted value (an error on the quote itself is something else,
/// such as a missing `:` before the placeholder).
fn hint(span: &Span, rendered_offset: usize) -> Option<String> {
    let p = span.placeholder?;
    (rendered_offset > span.rendered.start).then(|| {
        format!(
            "{{{{{}}}}} stands inside quotes, but a placeholder is replaced by a complete JSON string, quotes included: write it without quotes around it (to put words around the code, change the message text instead)",
            p.name()
        )
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn offsets_and_positions() {
        let text = "ab\ncdé\nf";
        assert_eq!(offset_of(text, 1, 1), 0);
        assert_eq!(offset_of(text, 2, 2), 4);
        assert_eq!(offset_of(text, 3, 1), 8);
        assert_eq!(offset_of(text, 9, 9), text.len());
        // Inside a multi-byte character: back to its start.
        assert_eq!(offset_of(text, 2, 4), 5);
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 5), (2, 3));
        assert_eq!(line_column(text, 8), (3, 1));
        assert_eq!(line_column(text, 9), (3, 2));
    }

    #[test]
    fn long_lines_are_cut_around_the_error() {
        let line = format!("{}X{}", "a".repeat(100), "b".repeat(100));
        let s = snippet(&line, 100);
        assert!(s.starts_with('…') && s.ends_with('…'));
        assert!(s.contains('X'));
        assert_eq!(snippet("  short line  \nnext", 3), "short line");
    }
}
