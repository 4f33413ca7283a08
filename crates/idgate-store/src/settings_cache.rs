//! A short-lived, per-process cache of settings (OTP policy, message templates,
//! fallback modes). They are read on every code sent but change rarely, so each read
//! costing a database round trip would dominate the send path.
//!
//! A write through this process updates its cache at once; another node sees the change
//! within [`SETTINGS_TTL`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a setting read from the database is trusted.
pub const SETTINGS_TTL: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub struct SettingsCache {
    entries: Mutex<HashMap<String, (Instant, Option<serde_json::Value>)>>,
}

impl SettingsCache {
    /// The cached value, if it is fresh. `Some(None)` means "known to be unset".
    pub fn get(&self, key: &str) -> Option<Option<serde_json::Value>> {
        let entries = self.entries.lock().ok()?;
        let (at, value) = entries.get(key)?;
        (at.elapsed() < SETTINGS_TTL).then(|| value.clone())
    }

    pub fn put(&self, key: &str, value: Option<serde_json::Value>) {
        if let Ok(mut entries) = self.entries.lock() {
            // Settings are a handful of keys; an unbounded map cannot grow past them.
            entries.insert(key.to_string(), (Instant::now(), value));
        }
    }
}
