//! sqlx errors → [`StoreError`], in one place so both backends classify alike.
//!
//! Messages name the operation, never a bound value: parameters can be phone numbers,
//! hashes or code material.

use idgate_core::store::StoreError;

/// Maps a failed read or a failed write that breaks no uniqueness rule.
pub(crate) fn backend(operation: &'static str, err: sqlx::Error) -> StoreError {
    match err {
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_) => StoreError::Corrupt(format!("{operation}: {err}")),
        other => StoreError::Backend(format!("{operation}: {other}")),
    }
}

/// Maps a failed write: a unique violation becomes `Conflict(what())`, where `what`
/// names the thing that already exists (e.g. `user "alice"`).
pub(crate) fn write(
    operation: &'static str,
    err: sqlx::Error,
    what: impl FnOnce() -> String,
) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what()),
        _ => backend(operation, err),
    }
}

/// A row that decoded but holds a value the domain does not accept.
pub(crate) fn corrupt(
    table: &'static str,
    column: &'static str,
    why: impl std::fmt::Display,
) -> StoreError {
    StoreError::Corrupt(format!("{table}.{column}: {why}"))
}
