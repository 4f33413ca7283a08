//! The admin side's statements (user search, filtered audit log, overview counts),
//! written once for both backends with the rules in `sql.rs`.

// The column lists match `sql.rs` (macros are scoped to their module).
macro_rules! user_columns {
    () => {
        "id, username, password_hash, mobile, mobile_verified, display_name, locale, status, \
         locked_until, is_admin, created_at, updated_at"
    };
}

macro_rules! audit_columns {
    () => {
        "id, at, actor, action, target, details"
    };
}

/// `$1` is a lower-cased LIKE pattern (NULL = every user), `$2` the last username key
/// seen (NULL for the first page).
pub(crate) const SEARCH_USERS: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users \
     WHERE (CAST($1 AS TEXT) IS NULL OR username_key LIKE $1 ESCAPE '\\' \
            OR LOWER(COALESCE(display_name, '')) LIKE $1 ESCAPE '\\' \
            OR COALESCE(mobile, '') LIKE $1 ESCAPE '\\') \
     AND (CAST($2 AS TEXT) IS NULL OR username_key > $2) \
     ORDER BY username_key LIMIT $3"
);

pub(crate) const LIST_AUDIT_FILTERED: &str = concat!(
    "SELECT ",
    audit_columns!(),
    " FROM audit_events \
     WHERE (CAST($1 AS TEXT) IS NULL OR action LIKE $1 ESCAPE '\\') \
     AND (CAST($2 AS TEXT) IS NULL OR actor = $2) \
     AND (CAST($3 AS TEXT) IS NULL OR target = $3) \
     AND (CAST($4 AS BIGINT) IS NULL OR at >= $4) \
     AND (CAST($5 AS TEXT) IS NULL OR (at, id) < \
          (SELECT b.at, b.id FROM audit_events b WHERE b.id = $5)) \
     ORDER BY at DESC, id DESC LIMIT $6"
);

pub(crate) const COUNT_USERS: &str = "SELECT COUNT(*) FROM users";
pub(crate) const COUNT_APPLICATIONS: &str = "SELECT COUNT(*) FROM applications";
pub(crate) const COUNT_SIGN_INS: &str =
    "SELECT COUNT(*) FROM grants WHERE created_at >= $1 AND user_id IS NOT NULL";
pub(crate) const VERIFICATIONS_BY_STATUS: &str =
    "SELECT status, COUNT(*) FROM verifications WHERE created_at >= $1 GROUP BY status";
pub(crate) const HISTORY_BY_STATUS: &str =
    "SELECT status, COUNT(*) FROM verification_history WHERE created_at >= $1 GROUP BY status";
pub(crate) const MESSAGES_BY_PROVIDER: &str = "SELECT channel, provider, status, COUNT(*) \
    FROM messages WHERE created_at >= $1 GROUP BY channel, provider, status \
    ORDER BY channel, provider, status";

pub(crate) const TOUCH_ADMIN_TOKEN: &str =
    "UPDATE admin_tokens SET last_used_at = $2 WHERE id = $1";

pub(crate) const LIST_SETTINGS: &str = "SELECT key, value FROM settings \
    WHERE substr(key, 1, length(CAST($1 AS TEXT))) = CAST($1 AS TEXT) ORDER BY key";

pub(crate) const DELETE_SETTING: &str = "DELETE FROM settings WHERE key = $1";
