//! Which backend a database URL names.

use std::path::PathBuf;

use idgate_core::store::StoreError;

/// A database URL, sorted by backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DatabaseUrl {
    /// A file path (relative paths are relative to the working directory).
    Sqlite(PathBuf),
    /// The URL as given, for sqlx to parse.
    Postgres(String),
}

const ACCEPTED: &str = "sqlite://PATH, sqlite:PATH, postgres://… or postgresql://…";

impl DatabaseUrl {
    /// Accepts `sqlite://PATH` (so `sqlite:///var/lib/idgate.db` is absolute),
    /// `sqlite:PATH`, `postgres://…` and `postgresql://…`.
    ///
    /// Errors name the scheme but never echo the URL: it may carry a password.
    pub(crate) fn parse(url: &str) -> Result<Self, StoreError> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_string()));
        }
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.is_empty() {
                return Err(StoreError::Backend(format!(
                    "the SQLite URL has no file path: write it as {ACCEPTED}"
                )));
            }
            if path.contains(":memory:") || path.starts_with("memory") {
                return Err(StoreError::Backend(
                    "in-memory SQLite is not supported: each pooled connection would see its \
                     own empty database; give a file path (sqlite://PATH)"
                        .into(),
                ));
            }
            if path.contains('?') {
                return Err(StoreError::Backend(
                    "SQLite URL options (?…) are not supported: idgate sets the journal, \
                     locking and creation options itself; give only the path (sqlite://PATH)"
                        .into(),
                ));
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        let scheme = url.split_once(':').map_or("", |(s, _)| s);
        Err(StoreError::Backend(if scheme.is_empty() {
            format!("the database URL has no scheme: use {ACCEPTED}")
        } else {
            format!("unsupported database URL scheme {scheme:?}: use {ACCEPTED}")
        }))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn sorts_urls_by_backend() {
        let parse = |u: &str| DatabaseUrl::parse(u).unwrap();
        let sqlite = |p: &str| DatabaseUrl::Sqlite(PathBuf::from(p));
        assert_eq!(parse("sqlite://idgate.db"), sqlite("idgate.db"));
        assert_eq!(parse("sqlite:///var/lib/i.db"), sqlite("/var/lib/i.db"));
        assert_eq!(parse("sqlite:data/i.db"), sqlite("data/i.db"));
        assert_eq!(
            parse("postgres://u:p@h/db"),
            DatabaseUrl::Postgres("postgres://u:p@h/db".into())
        );
        assert!(matches!(
            DatabaseUrl::parse("postgresql://h/db"),
            Ok(DatabaseUrl::Postgres(_))
        ));
    }

    #[test]
    fn refuses_other_schemes_without_echoing_the_url() {
        let err = DatabaseUrl::parse("mysql://root:hunter2@db/idgate")
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"mysql\""), "{err}");
        assert!(
            err.contains("sqlite://PATH") && err.contains("postgres://"),
            "{err}"
        );
        assert!(!err.contains("hunter2"), "{err}");
        assert!(DatabaseUrl::parse("sqlite::memory:").is_err());
        assert!(DatabaseUrl::parse("sqlite://").is_err());
        assert!(DatabaseUrl::parse("sqlite://x.db?mode=rwc").is_err());
        assert!(DatabaseUrl::parse("idgate.db").is_err());
    }
}
