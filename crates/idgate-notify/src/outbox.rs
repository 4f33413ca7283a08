//! The dev outbox: a fake phone for development and tests.
//!
//! The `dev-outbox` provider "delivers" here instead of to a gateway, and the console shows
//! the newest messages, codes included — that is its purpose: a developer signs in without
//! an SMS account. It is an in-memory ring buffer **on purpose**: everywhere else idgate
//! keeps codes out of the database, the disk and the logs, and the outbox must not become
//! the one place that stores them. Restarting the process empties it, and it is bounded so
//! a loop that sends forever cannot grow it.
//!
//! It is per node: with several nodes behind a load balancer a message shows up only on the
//! node that sent it, which is acceptable for a development tool.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use idgate_core::UnixTime;
use idgate_core::otp::Channel;
use serde::Serialize;

pub use crate::provider::DevOutboxProvider;

/// Entries kept unless configured otherwise.
pub const DEFAULT_OUTBOX_CAPACITY: usize = 500;

/// One delivered message, as the fake phone shows it.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct OutboxEntry {
    pub id: String,
    pub channel: Channel,
    /// The full E.164 number: it is a developer's fake phone, not a person's.
    pub to: String,
    /// The full text, code included: it is the phone's screen.
    pub text: String,
    /// The provider's configured name.
    pub provider: String,
    pub created_at: UnixTime,
}

impl fmt::Debug for OutboxEntry {
    /// The text is left out even here, so a stray `{:?}` never puts a code in a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboxEntry")
            .field("id", &self.id)
            .field("channel", &self.channel)
            .field("to", &idgate_core::phone::mask_for_logs(&self.to))
            .field(
                "text",
                &format_args!("<{} chars>", self.text.chars().count()),
            )
            .field("provider", &self.provider)
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// A bounded, newest-first list of delivered messages, shared between the provider and the
/// console. Locking is short (a push or a copy of a few entries), so a plain mutex suffices.
#[derive(Debug)]
pub struct DevOutbox {
    entries: Mutex<VecDeque<OutboxEntry>>,
    capacity: usize,
}

/// How the outbox is shared.
pub type SharedOutbox = Arc<DevOutbox>;

impl Default for DevOutbox {
    fn default() -> Self {
        Self::new(DEFAULT_OUTBOX_CAPACITY)
    }
}

impl DevOutbox {
    /// An outbox keeping the newest `capacity` messages (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            entries: Mutex::new(VecDeque::with_capacity(capacity.min(64))),
            capacity,
        }
    }

    /// A new outbox ready to share.
    pub fn shared(capacity: usize) -> SharedOutbox {
        Arc::new(Self::new(capacity))
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// A poisoned lock only means another thread panicked mid-push; the deque is still
    /// consistent, so keep serving it.
    fn lock(&self) -> MutexGuard<'_, VecDeque<OutboxEntry>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds a message, dropping the oldest when full.
    pub fn push(&self, entry: OutboxEntry) {
        let mut entries = self.lock();
        entries.push_front(entry);
        entries.truncate(self.capacity);
    }

    /// The newest `limit` messages, newest first.
    pub fn list(&self, limit: usize) -> Vec<OutboxEntry> {
        self.lock().iter().take(limit).cloned().collect()
    }

    /// The newest message sent to `to` (E.164) on `channel`.
    pub fn latest_for(&self, to: &str, channel: Channel) -> Option<OutboxEntry> {
        self.lock()
            .iter()
            .find(|e| e.to == to && e.channel == channel)
            .cloned()
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Empties the outbox (the console's "clear" button).
    pub fn clear(&self) {
        self.lock().clear();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::thread;

    use super::*;

    fn entry(i: usize, to: &str, channel: Channel) -> OutboxEntry {
        OutboxEntry {
            id: format!("m{i}"),
            channel,
            to: to.into(),
            text: format!("code {i}"),
            provider: "dev".into(),
            created_at: i as i64,
        }
    }

    fn ids(entries: &[OutboxEntry]) -> Vec<&str> {
        entries.iter().map(|e| e.id.as_str()).collect()
    }

    #[test]
    fn newest_first_and_bounded() {
        let o = DevOutbox::new(3);
        assert!(o.is_empty());
        for i in 0..5 {
            o.push(entry(i, "+14155550100", Channel::Sms));
        }
        assert_eq!(o.len(), 3);
        assert_eq!(ids(&o.list(10)), vec!["m4", "m3", "m2"]);
        assert_eq!(ids(&o.list(2)), vec!["m4", "m3"]);
        assert!(o.list(0).is_empty());
        o.clear();
        assert!(o.is_empty());
        assert_eq!(DevOutbox::new(0).capacity(), 1);
        assert_eq!(DevOutbox::default().capacity(), DEFAULT_OUTBOX_CAPACITY);
    }

    #[test]
    fn latest_for_matches_number_and_channel() {
        let o = DevOutbox::default();
        o.push(entry(1, "+14155550100", Channel::Sms));
        o.push(entry(2, "+14155550100", Channel::Whatsapp));
        o.push(entry(3, "+94771234567", Channel::Sms));
        let latest = |to, ch| o.latest_for(to, ch).map(|e| e.id);
        assert_eq!(latest("+14155550100", Channel::Sms).as_deref(), Some("m1"));
        assert_eq!(
            latest("+14155550100", Channel::Whatsapp).as_deref(),
            Some("m2")
        );
        assert_eq!(latest("+94771234567", Channel::Whatsapp), None);
        o.push(entry(4, "+14155550100", Channel::Sms));
        assert_eq!(latest("+14155550100", Channel::Sms).as_deref(), Some("m4"));
    }

    #[test]
    fn shared_across_threads() {
        let o = DevOutbox::shared(1000);
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let o = Arc::clone(&o);
                thread::spawn(move || {
                    for i in 0..100 {
                        o.push(entry(t * 100 + i, "+14155550100", Channel::Sms));
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(o.len(), 400);
    }

    #[test]
    fn debug_hides_the_text_and_number() {
        let shown = format!("{:?}", entry(7, "+14155550100", Channel::Sms));
        assert!(
            !shown.contains("code 7") && !shown.contains("+14155550100"),
            "{shown}"
        );
    }
}
