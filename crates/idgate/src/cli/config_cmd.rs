//! `idgate config check`.

use clap::Subcommand;

use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Load and validate the configuration, then print it (secrets hidden).
    Check,
}

pub fn run(command: ConfigCommand, config: &Config) -> anyhow::Result<()> {
    match command {
        ConfigCommand::Check => {
            let shown = toml::to_string_pretty(&redacted(config))?;
            println!("configuration OK\n\n{shown}");
            Ok(())
        }
    }
}

/// The config as JSON without unset keys; secrets already serialise as `"[set]"`.
fn redacted(config: &Config) -> serde_json::Value {
    let mut v = serde_json::to_value(config).unwrap_or_default();
    strip_nulls(&mut v);
    v
}

/// TOML has no null: drop unset optional keys.
fn strip_nulls(v: &mut serde_json::Value) {
    if let Some(obj) = v.as_object_mut() {
        obj.retain(|_, x| !x.is_null());
        for x in obj.values_mut() {
            strip_nulls(x);
        }
    }
}
