//! idgate's [`Store`] on SQLite (the embedded default) and PostgreSQL (several nodes, one
//! database).
//!
//! Both backends run the same SQL (`sql.rs`) through the same method bodies
//! (`store_impl.rs`); only pool setup and migrations differ. Every method is one statement
//! or one short transaction, so the guarantees the OTP flow depends on (one approval per
//! code, attempts never past the maximum) hold across tasks and across processes.

mod admin_impl;
mod admin_sql;
mod auth_impl;
mod auth_rows;
mod auth_sql;
mod database_url;
mod delivery_impl;
mod delivery_sql;
mod error;
mod limits_impl;
mod limits_sql;
mod postgres;
mod record_cache;
mod rows;
mod settings_cache;
mod sql;
mod sqlite;
mod sqlite_checkpoint;
mod sqlite_direct;
mod sqlite_lanes;
mod store_impl;

#[cfg(test)]
mod auth_contract_tests;
#[cfg(test)]
mod contract_tests;
#[cfg(test)]
mod delivery_contract_tests;
#[cfg(test)]
mod limits_contract_tests;
#[cfg(test)]
mod sqlite_upgrade_tests;

use std::sync::Arc;

use idgate_core::store::{Store, StoreError};

use crate::database_url::DatabaseUrl;
pub use crate::postgres::PostgresStore;
pub use crate::sqlite::SqliteStore;

/// Opens the store a URL names: `sqlite://PATH`, `sqlite:PATH`, `postgres://…` or
/// `postgresql://…`. Does not migrate (see [`migrate`]).
pub async fn open_store(url: &str, max_connections: u32) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match DatabaseUrl::parse(url)? {
        DatabaseUrl::Sqlite(path) => Arc::new(SqliteStore::open(&path, max_connections).await?),
        DatabaseUrl::Postgres(url) => {
            Arc::new(PostgresStore::connect(&url, max_connections, None).await?)
        }
    })
}

/// Brings an opened store's schema up to date (what [`open_store`] returned): each
/// backend applies its own embedded migrations. Safe to run again, and (on PostgreSQL)
/// from several nodes at once.
pub async fn migrate(store: &dyn Store) -> Result<(), StoreError> {
    store.migrate().await
}

/// Migrates the database a URL names without keeping a pool open (for a `migrate`
/// command), creating a SQLite file if missing.
pub async fn migrate_url(url: &str) -> Result<(), StoreError> {
    let store = open_store(url, 1).await?;
    store.migrate().await
}
