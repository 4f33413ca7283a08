//! SQL for `LimitStore`, run unchanged on SQLite and PostgreSQL (`$n` parameters in
//! order of first appearance; times as unix seconds).

/// One statement takes from a window counter: a new key, or one whose window has ended,
/// starts a window at `$3` ending at `$4`; a live window only grows while it stays at
/// most `$5`. When the `WHERE` refuses, nothing is written and no row comes back.
pub(crate) const TAKE: &str = "INSERT INTO limit_counters \
    (key, count, window_start, resets_at, updated_at) VALUES ($1, $2, $3, $4, $3) \
    ON CONFLICT (key) DO UPDATE SET \
    count = CASE WHEN limit_counters.resets_at <= $3 THEN $2 ELSE limit_counters.count + $2 END, \
    window_start = CASE WHEN limit_counters.resets_at <= $3 THEN $3 ELSE limit_counters.window_start END, \
    resets_at = CASE WHEN limit_counters.resets_at <= $3 THEN $4 ELSE limit_counters.resets_at END, \
    updated_at = $3 \
    WHERE limit_counters.resets_at <= $3 OR limit_counters.count + $2 <= $5 \
    RETURNING count, resets_at, updated_at";

pub(crate) const PEEK: &str = "SELECT count, resets_at, updated_at FROM limit_counters \
    WHERE key = $1 AND resets_at > $2";

pub(crate) const RESET: &str = "DELETE FROM limit_counters WHERE key = $1";

pub(crate) const ADD_MEMBER: &str = "INSERT INTO limit_members (set_key, member, expires_at) \
    VALUES ($1, $2, $3) ON CONFLICT (set_key, member) DO UPDATE SET expires_at = $3";

pub(crate) const COUNT_MEMBERS: &str =
    "SELECT COUNT(*) FROM limit_members WHERE set_key = $1 AND expires_at > $2";

/// A new block, or a renewed expired one, comes back; an existing live block is kept
/// as it is (its end does not move) and nothing comes back.
pub(crate) const BLOCK: &str = "INSERT INTO limit_blocks (key, until, reason, created_at) \
    VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO UPDATE SET \
    until = $2, reason = $3, created_at = $4 WHERE limit_blocks.until <= $4 RETURNING key";

pub(crate) const BLOCKED_UNTIL: &str =
    "SELECT until FROM limit_blocks WHERE key = $1 AND until > $2";

pub(crate) const LIST_BLOCKS: &str = "SELECT key, until, reason, created_at FROM limit_blocks \
    WHERE until > $1 ORDER BY key";

pub(crate) const UNBLOCK: &str = "DELETE FROM limit_blocks WHERE key = $1";

pub(crate) const SWEEP_COUNTERS: &str = "DELETE FROM limit_counters WHERE resets_at <= $1";
pub(crate) const SWEEP_MEMBERS: &str = "DELETE FROM limit_members WHERE expires_at <= $1";
pub(crate) const SWEEP_BLOCKS: &str = "DELETE FROM limit_blocks WHERE until <= $1";
