//! Opening what every command needs: the data dir, the master secret, the keys and the
//! migrated store.

use std::sync::Arc;

use anyhow::Context;
use idgate_core::crypto::Keys;
use idgate_core::store::Store;

use crate::config::{Config, ConfigError};
use crate::master_secret;

/// The settings key holding a fingerprint of the master secret, checked at every start.
const MASTER_FINGERPRINT: &str = "master_secret_fingerprint";

pub struct Runtime {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub keys: Arc<Keys>,
}

impl Runtime {
    pub async fn open(config: Config) -> anyhow::Result<Self> {
        create_data_dir(&config)?;
        let secret = master_secret::load(&config)?;
        let keys = Arc::new(
            Keys::derive(&secret)
                .map_err(|e| ConfigError(format!("secrets.master_secret: {e}")))?,
        );
        let url = config.database_url();
        let store = idgate_store::open_store(&url, config.database.max_connections)
            .await
            .context("opening the database (database.url)")?;
        idgate_store::migrate(store.as_ref())
            .await
            .context("running database migrations")?;
        check_fingerprint(store.as_ref(), &keys).await?;
        Ok(Self {
            config,
            store,
            keys,
        })
    }
}

fn create_data_dir(config: &Config) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if !config.data_dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&config.data_dir)
            .with_context(|| format!("creating data_dir {}", config.data_dir.display()))?;
    }
    Ok(())
}

/// The stored fingerprint of a master secret (a keyed hash; reveals nothing of it).
pub fn fingerprint(keys: &Keys) -> serde_json::Value {
    serde_json::Value::String(keys.token_hash("idgate-master-fingerprint"))
}

/// Records `keys`' master secret as the database's (`idgate secrets rotate-master`).
pub async fn store_fingerprint(store: &dyn Store, keys: &Keys) -> anyhow::Result<()> {
    store
        .put_setting(MASTER_FINGERPRINT, &fingerprint(keys), 0)
        .await?;
    Ok(())
}

/// Refuses to run with a master secret other than the one the database was set up with.
async fn check_fingerprint(store: &dyn Store, keys: &Keys) -> anyhow::Result<()> {
    let fingerprint = fingerprint(keys);
    match store.get_setting(MASTER_FINGERPRINT).await? {
        Some(stored) if stored == fingerprint => Ok(()),
        Some(_) => Err(ConfigError(
            "the master secret differs from the one this database was set up with: stored secrets and codes would be unreadable. Configure the original secret (secrets.master_secret_file).".into(),
        )
        .into()),
        None => {
            store
                .put_setting(MASTER_FINGERPRINT, &fingerprint, 0)
                .await?;
            Ok(())
        }
    }
}
