//! A short-lived, per-process cache of rows read on every request but changed rarely:
//! applications by client id (every Verify API call and token request authenticates
//! one) and their OIDC settings. On SQLite each read is a round trip to a connection
//! thread, which dominated those requests' cost.
//!
//! A write through this process drops the entry at once; another node sees the change
//! within [`RECORD_TTL`] (so a deleted application, or a replaced client secret, can
//! still authenticate on another node for up to that long).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a row read from the database is trusted.
pub const RECORD_TTL: Duration = Duration::from_secs(1);

/// At most this many entries; past it the cache starts over (it only ever holds rows
/// that exist, so its size is bounded by the number of applications anyway).
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug)]
pub struct RecordCache<V> {
    entries: Mutex<HashMap<String, (Instant, V)>>,
}

impl<V> Default for RecordCache<V> {
    fn default() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<V: Clone> RecordCache<V> {
    /// The cached row, if it is fresh.
    pub fn get(&self, key: &str) -> Option<V> {
        let entries = self.entries.lock().ok()?;
        let (at, value) = entries.get(key)?;
        (at.elapsed() < RECORD_TTL).then(|| value.clone())
    }

    pub fn put(&self, key: &str, value: V) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES && !entries.contains_key(key) {
                entries.clear();
            }
            entries.insert(key.to_string(), (Instant::now(), value));
        }
    }

    /// Forgets `key` (after a write to its row).
    pub fn forget(&self, key: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(key);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn put_get_forget() {
        let c = RecordCache::<u32>::default();
        assert_eq!(c.get("a"), None);
        c.put("a", 1);
        assert_eq!(c.get("a"), Some(1));
        c.forget("a");
        assert_eq!(c.get("a"), None);
    }

    #[test]
    fn bounded() {
        let c = RecordCache::<usize>::default();
        for i in 0..=MAX_ENTRIES {
            c.put(&i.to_string(), i);
        }
        let n = c.entries.lock().unwrap().len();
        assert!(n <= MAX_ENTRIES, "{n} entries");
        assert_eq!(c.get(&MAX_ENTRIES.to_string()), Some(MAX_ENTRIES));
    }
}
