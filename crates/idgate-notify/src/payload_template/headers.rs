//! Extra request headers for the custom provider.
//!
//! WSO2 takes one string, `Authorization: Bearer x, Accept: application/json`, splits it on
//! `,` and then on *every* `:`, silently dropping any header whose value holds a colon.
//! idgate reads the same string but splits each entry on its first `:` only, and refuses a
//! malformed entry when it is saved. Errors name the entry by position and header name,
//! never by value: values are usually credentials.

use super::PayloadError;

/// Headers the HTTP client sets itself; letting a template set them breaks the request.
const RESERVED: [&str; 4] = ["host", "content-length", "transfer-encoding", "connection"];

/// How much of an unreadable entry an error shows.
const PREVIEW_CHARS: usize = 8;

/// Parses WSO2's comma-separated header string. Empty entries (a trailing comma) are
/// skipped. A value that contains a comma cannot be written in this form: use
/// [`parse_header_pairs`].
pub fn parse_headers(input: &str) -> Result<Vec<(String, String)>, PayloadError> {
    let mut headers = Vec::new();
    for (i, entry) in input.split(',').enumerate() {
        let entry = entry.trim();
        if entry.is_empty() {
            continue;
        }
        let Some((name, value)) = entry.split_once(':') else {
            return Err(PayloadError::Header {
                entry: i + 1,
                shown: preview(entry),
                reason: "it has no \":\" between name and value (a value that contains a comma \
                         must be entered as a separate name/value pair)"
                    .into(),
            });
        };
        headers.push(validate(i + 1, name, value)?);
    }
    Ok(headers)
}

/// Validates headers given as name/value pairs, the same way as [`parse_headers`].
pub fn parse_header_pairs<I, N, V>(pairs: I) -> Result<Vec<(String, String)>, PayloadError>
where
    I: IntoIterator<Item = (N, V)>,
    N: AsRef<str>,
    V: AsRef<str>,
{
    pairs
        .into_iter()
        .enumerate()
        .map(|(i, (name, value))| validate(i + 1, name.as_ref(), value.as_ref()))
        .collect()
}

fn validate(entry: usize, name: &str, value: &str) -> Result<(String, String), PayloadError> {
    let name = name.trim();
    let value = value.trim();
    let refuse = |shown: String, reason: String| PayloadError::Header {
        entry,
        shown,
        reason,
    };
    if name.is_empty() {
        return Err(refuse("no name".into(), "the header name is empty".into()));
    }
    if let Some(c) = name.chars().find(|c| !is_token_char(*c)) {
        return Err(refuse(
            preview(name),
            format!(
                "{c:?} is not allowed in a header name (letters, digits and !#$%&'*+-.^_`|~ are)"
            ),
        ));
    }
    if RESERVED.iter().any(|r| name.eq_ignore_ascii_case(r)) {
        return Err(refuse(
            name.to_string(),
            format!("{name} is set by idgate's HTTP client and cannot be configured"),
        ));
    }
    if value.contains(['\r', '\n']) {
        return Err(refuse(
            name.to_string(),
            "a header value cannot contain a line break (separate headers with commas)".into(),
        ));
    }
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(refuse(
            name.to_string(),
            "the header value contains a control character".into(),
        ));
    }
    if value.is_empty() {
        return Err(refuse(name.to_string(), "the header has no value".into()));
    }
    Ok((name.to_string(), value.to_string()))
}

/// RFC 7230 `tchar`.
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

fn preview(text: &str) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(PREVIEW_CHARS).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn reads_wso2s_comma_string() {
        assert_eq!(
            parse_headers("Authorization: Bearer x, X-A: b").unwrap(),
            pairs(&[("Authorization", "Bearer x"), ("X-A", "b")])
        );
        assert_eq!(parse_headers("").unwrap(), vec![]);
        assert_eq!(parse_headers(" , ").unwrap(), vec![]);
        assert_eq!(
            parse_headers("X-Api-Key: abc,Accept: application/json,").unwrap(),
            pairs(&[("X-Api-Key", "abc"), ("Accept", "application/json")])
        );
    }

    #[test]
    fn values_with_colons_survive() {
        assert_eq!(
            parse_headers("X-Callback: https://idgate.example/hooks/d7, X-Time: 10:30:00").unwrap(),
            pairs(&[
                ("X-Callback", "https://idgate.example/hooks/d7"),
                ("X-Time", "10:30:00")
            ])
        );
        assert_eq!(
            parse_headers("Authorization: Basic dXNlcjpwYXNz:").unwrap(),
            pairs(&[("Authorization", "Basic dXNlcjpwYXNz:")])
        );
    }

    #[test]
    fn malformed_entries_are_named_without_their_values() {
        let err = parse_headers("Authorization: Bearer abc, BearerSecretToken").unwrap_err();
        assert!(
            matches!(&err, PayloadError::Header { entry: 2, shown, .. } if shown == "BearerSe…")
        );
        assert!(
            err.to_string()
                .starts_with("header entry 2 (BearerSe…) is malformed: it has no \":\"")
        );

        let err = parse_headers(": value").unwrap_err();
        assert!(matches!(err, PayloadError::Header { entry: 1, .. }));
        assert!(err.to_string().contains("name is empty"));

        let err = parse_headers("X-A: 1, Bad Name: secret").unwrap_err();
        assert!(
            matches!(&err, PayloadError::Header { entry: 2, shown, .. } if shown == "Bad Name")
        );
        assert!(!err.to_string().contains("secret"));

        let err = parse_headers("X-A: 1\r\nHost: evil.example").unwrap_err();
        assert!(matches!(&err, PayloadError::Header { entry: 1, shown, .. } if shown == "X-A"));
        assert!(err.to_string().contains("line break"));

        let err = parse_headers("X-A:").unwrap_err();
        assert!(err.to_string().contains("no value"));
        let err = parse_headers("Content-Length: 5").unwrap_err();
        assert!(err.to_string().contains("cannot be configured"));
        assert!(parse_headers("X-A: a\u{0}b").is_err());
        assert!(parse_headers("X-A: a\tb").is_ok());
    }

    #[test]
    fn pairs_are_validated_the_same_way() {
        assert_eq!(
            parse_header_pairs([("Accept", "text/html, application/json")]).unwrap(),
            pairs(&[("Accept", "text/html, application/json")])
        );
        assert_eq!(
            parse_header_pairs(vec![(" X-A ".to_string(), " b ".to_string())]).unwrap(),
            pairs(&[("X-A", "b")])
        );
        let err = parse_header_pairs([("X-A", "1"), ("X-B:", "2")]).unwrap_err();
        assert!(matches!(err, PayloadError::Header { entry: 2, .. }));
        assert!(parse_header_pairs([("X-A", "1\n2")]).is_err());
        assert!(parse_header_pairs([("", "1")]).is_err());
        assert!(parse_header_pairs([("Host", "x")]).is_err());
    }
}
