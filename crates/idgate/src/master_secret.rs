//! The master secret: from config, a file, or — in dev mode only — generated once
//! into the data dir. Never silently regenerated: a new secret would make every
//! stored code hash, encrypted credential and signing key unreadable.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use idgate_core::crypto::random_token;
use secrecy::SecretString;

use crate::config::{Config, ConfigError, Mode};

/// File name of the generated dev-mode secret inside the data dir.
pub const DEV_KEY_FILE: &str = "master.key";

pub fn load(config: &Config) -> Result<SecretString, ConfigError> {
    if let Some(s) = &config.secrets.master_secret {
        return Ok(SecretString::from(s.expose().trim().to_string()));
    }
    if let Some(path) = &config.secrets.master_secret_file {
        return read_file(path, "secrets.master_secret_file");
    }
    if config.mode == Mode::Production {
        return Err(ConfigError(
            "production mode needs secrets.master_secret_file (or IDGATE_SECRETS__MASTER_SECRET_FILE)".into(),
        ));
    }
    let path = config.data_dir.join(DEV_KEY_FILE);
    if path.exists() {
        return read_file(&path, "the dev master key");
    }
    let db = config.data_dir.join("idgate.db");
    if config.database.url.is_none() && db.exists() {
        return Err(ConfigError(format!(
            "{} exists but {} is missing: restore master.key from your backup. A new key would make every stored secret in the database unreadable, so idgate will not generate one.",
            db.display(),
            path.display()
        )));
    }
    generate(&path)
}

fn read_file(path: &Path, what: &str) -> Result<SecretString, ConfigError> {
    let content = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("{what} ({}): cannot read it ({e})", path.display())))?;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            file = %path.display(),
            "the master secret file is readable by group or others; chmod 600 it"
        );
    }
    Ok(SecretString::from(content.trim().to_string()))
}

fn generate(path: &Path) -> Result<SecretString, ConfigError> {
    let secret = random_token(32).map_err(|e| ConfigError(e.to_string()))?;
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| {
            ConfigError(format!(
                "cannot create the dev master key {}: {e}",
                path.display()
            ))
        })?;
    f.write_all(secret.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| ConfigError(format!("cannot write {}: {e}", path.display())))?;
    tracing::warn!(
        file = %path.display(),
        "DEV MODE: generated a master secret; back it up with the database — losing it makes stored secrets unreadable"
    );
    Ok(SecretString::from(secret))
}
