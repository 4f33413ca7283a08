//! Storage for abuse protection: window counters, distinct-member sets and temporary
//! blocks. Every step is one atomic statement, so a limit holds across nodes sharing one
//! PostgreSQL database. Keys are chosen by `crate::limits`; subjects that identify a
//! person (phone numbers, IP addresses) arrive already hashed.

use async_trait::async_trait;

use crate::UnixTime;
use crate::store::StoreResult;

/// A counter's live window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    pub count: i64,
    /// When the window ends (the counter starts again from zero after it).
    pub resets_at: UnixTime,
    /// When the counter last changed.
    pub updated_at: UnixTime,
}

/// What [`LimitStore::take`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Take {
    /// Counted; the counter now holds this.
    Taken(Counter),
    /// Not counted: it would have gone past the maximum. The counter as it stands
    /// (`None` only if it vanished in between, e.g. swept).
    Refused(Option<Counter>),
}

/// A temporary block (a destination prefix, a tripped send budget).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub key: String,
    pub until: UnixTime,
    pub reason: String,
    pub created_at: UnixTime,
}

#[async_trait]
pub trait LimitStore: Send + Sync {
    /// Adds `cost` to the counter `key` if the result stays at most `max`. A counter
    /// with no live window (new, or past `resets_at`) starts one of `window_secs` at
    /// `now`. One statement: two nodes can never both take the last unit.
    async fn take(
        &self,
        key: &str,
        cost: i64,
        max: i64,
        window_secs: i64,
        now: UnixTime,
    ) -> StoreResult<Take>;
    /// The counter's live window, if any.
    async fn peek(&self, key: &str, now: UnixTime) -> StoreResult<Option<Counter>>;
    /// Deletes counters by key; returns how many existed.
    async fn reset_counters(&self, keys: &[String]) -> StoreResult<u64>;
    /// Records `member` in the set `set` until `expires_at` (extending it if already
    /// there); returns how many members of the set are live at `now`.
    async fn add_member(
        &self,
        set: &str,
        member: &str,
        now: UnixTime,
        expires_at: UnixTime,
    ) -> StoreResult<i64>;
    /// Blocks `key` until `until`. True if it was not blocked already (a new block:
    /// the caller audits it once, whichever node got there first).
    async fn block(
        &self,
        key: &str,
        until: UnixTime,
        reason: &str,
        now: UnixTime,
    ) -> StoreResult<bool>;
    /// When the block on `key` ends, if it is blocked at `now`.
    async fn blocked_until(&self, key: &str, now: UnixTime) -> StoreResult<Option<UnixTime>>;
    /// Live blocks, ordered by key.
    async fn list_blocks(&self, now: UnixTime) -> StoreResult<Vec<Block>>;
    /// Lifts a block; false if there was none.
    async fn unblock(&self, key: &str) -> StoreResult<bool>;
    /// Deletes expired counters, members and blocks; returns how many rows went.
    async fn sweep_limits(&self, now: UnixTime) -> StoreResult<u64>;
}
