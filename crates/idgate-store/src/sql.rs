//! Every statement idgate runs, written once for both backends.
//!
//! Rules that keep one text valid on SQLite and PostgreSQL:
//! - placeholders are `$1, $2, …` (SQLite binds `$N` by number, PostgreSQL natively);
//! - an optional filter is `(CAST($n AS TEXT) IS NULL OR col = $n)`, so the parameter has
//!   a type even when it is NULL;
//! - one statement per string (PostgreSQL prepares one at a time);
//! - times are integers, JSON is text, booleans and blobs are bound as Rust `bool` and
//!   `&[u8]`, which each driver maps to its own column type.
//!
//! The column lists are macros so `concat!` can splice them into `&'static str`s.

macro_rules! user_columns {
    () => {
        "id, username, password_hash, mobile, mobile_verified, display_name, locale, status, \
         locked_until, is_admin, created_at, updated_at"
    };
}

macro_rules! application_columns {
    () => {
        "id, client_id, client_secret_hash, name, redirect_uris, post_logout_redirect_uris, \
         login_flow, otp_policy, created_at, updated_at"
    };
}

macro_rules! admin_token_columns {
    () => {
        "id, name, token_hash, created_at, expires_at, last_used_at, revoked_at"
    };
}

macro_rules! verification_columns {
    () => {
        "id, application_id, user_id, purpose, channel, destination, code_hmac, \
         code_ciphertext, status, attempts, max_attempts, resends, max_resends, \
         resend_cooldown, created_at, updated_at, expires_at, last_sent_at, finished_at"
    };
}

/// What survives a purge: no destination, no code HMAC, no ciphertext.
macro_rules! history_columns {
    () => {
        "id, application_id, user_id, purpose, channel, destination_masked, status, attempts, \
         resends, created_at, finished_at"
    };
}

macro_rules! message_columns {
    () => {
        "id, verification_id, channel, provider, to_masked, body_redacted, status, \
         provider_message_id, error, attempts, latency_ms, created_at, updated_at"
    };
}

macro_rules! audit_columns {
    () => {
        "id, at, actor, action, target, details"
    };
}

pub(crate) const PING: &str = "SELECT 1";

// Users

pub(crate) const INSERT_USER: &str = "INSERT INTO users (id, username, username_key, \
    password_hash, mobile, mobile_verified, display_name, locale, status, locked_until, \
    is_admin, created_at, updated_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";

pub(crate) const GET_USER: &str = concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1");

pub(crate) const FIND_USER_BY_KEY: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users WHERE username_key = $1"
);

/// Keyset page: `$1` is the last username key seen (NULL for the first page).
pub(crate) const LIST_USERS: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users WHERE (CAST($1 AS TEXT) IS NULL OR username_key > $1) \
     ORDER BY username_key LIMIT $2"
);

pub(crate) const UPDATE_USER: &str = "UPDATE users SET username = $2, username_key = $3, \
    password_hash = $4, mobile = $5, mobile_verified = $6, display_name = $7, locale = $8, \
    status = $9, locked_until = $10, is_admin = $11, updated_at = $12 WHERE id = $1";

pub(crate) const DELETE_USER: &str = "DELETE FROM users WHERE id = $1";

// Applications

pub(crate) const INSERT_APPLICATION: &str = concat!(
    "INSERT INTO applications (",
    application_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
);

pub(crate) const GET_APPLICATION: &str = concat!(
    "SELECT ",
    application_columns!(),
    " FROM applications WHERE client_id = $1"
);

pub(crate) const LIST_APPLICATIONS: &str = concat!(
    "SELECT ",
    application_columns!(),
    " FROM applications WHERE (CAST($1 AS TEXT) IS NULL OR client_id > $1) \
     ORDER BY client_id LIMIT $2"
);

pub(crate) const UPDATE_APPLICATION: &str = "UPDATE applications SET client_id = $2, \
    client_secret_hash = $3, name = $4, redirect_uris = $5, post_logout_redirect_uris = $6, \
    login_flow = $7, otp_policy = $8, updated_at = $9 WHERE id = $1";

pub(crate) const DELETE_APPLICATION: &str = "DELETE FROM applications WHERE client_id = $1";

// Admin tokens

pub(crate) const INSERT_ADMIN_TOKEN: &str = concat!(
    "INSERT INTO admin_tokens (",
    admin_token_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7)"
);

pub(crate) const FIND_ADMIN_TOKEN: &str = concat!(
    "SELECT ",
    admin_token_columns!(),
    " FROM admin_tokens WHERE token_hash = $1"
);

pub(crate) const LIST_ADMIN_TOKENS: &str = concat!(
    "SELECT ",
    admin_token_columns!(),
    " FROM admin_tokens ORDER BY created_at, id"
);

pub(crate) const REVOKE_ADMIN_TOKEN: &str = "UPDATE admin_tokens SET revoked_at = $2 \
    WHERE (id = $1 OR name = $1) AND revoked_at IS NULL";

// Settings

pub(crate) const GET_SETTING: &str = "SELECT value FROM settings WHERE key = $1";

pub(crate) const PUT_SETTING: &str = "INSERT INTO settings (key, value, updated_at) \
    VALUES ($1, $2, $3) \
    ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at";

// Verifications

pub(crate) const INSERT_VERIFICATION: &str = concat!(
    "INSERT INTO verifications (",
    verification_columns!(),
    ", destination_masked) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
     $14, $15, $16, $17, $18, $19, $20)"
);

pub(crate) const GET_VERIFICATION: &str = concat!(
    "SELECT ",
    verification_columns!(),
    " FROM verifications WHERE id = $1"
);

/// One conditional statement: of many concurrent callers (tasks or nodes), the row
/// changes for exactly one. The HMAC guard loses against a resend that replaced the code
/// after the caller read it.
pub(crate) const APPROVE_VERIFICATION: &str = "UPDATE verifications \
    SET status = 'approved', finished_at = $3, updated_at = $3 \
    WHERE id = $1 AND code_hmac = $2 AND status = 'pending' AND expires_at > $3 \
    AND attempts < max_attempts";

/// One conditional statement: attempts can never pass `max_attempts`, however many
/// wrong codes arrive at once, and the one that uses up the last attempt ends it.
pub(crate) const RECORD_FAILED_ATTEMPT: &str = "UPDATE verifications \
    SET attempts = attempts + 1, \
        status = CASE WHEN attempts + 1 >= max_attempts THEN 'max_attempts_reached' \
                 ELSE status END, \
        finished_at = CASE WHEN attempts + 1 >= max_attempts THEN $2 ELSE finished_at END, \
        updated_at = $2 \
    WHERE id = $1 AND status = 'pending' AND attempts < max_attempts AND expires_at > $2 \
    RETURNING attempts, status";

/// `$4` says whether the code changes; when false the stored HMAC and ciphertext stay.
pub(crate) const APPLY_RESEND: &str = "UPDATE verifications \
    SET resends = resends + 1, last_sent_at = $2, expires_at = $3, updated_at = $2, \
        code_hmac = CASE WHEN $4 THEN $5 ELSE code_hmac END, \
        code_ciphertext = CASE WHEN $4 THEN $6 ELSE code_ciphertext END \
    WHERE id = $1 AND status = 'pending' AND expires_at > $2 AND resends < max_resends \
    AND last_sent_at + resend_cooldown <= $2";

pub(crate) const SET_VERIFICATION_CHANNEL: &str =
    "UPDATE verifications SET channel = $2, updated_at = $3 WHERE id = $1";

pub(crate) const FINISH_VERIFICATION: &str = "UPDATE verifications \
    SET status = $2, finished_at = $3, updated_at = $3 WHERE id = $1 AND status = 'pending'";

/// Sweep step 1: an expired code ends at its expiry time, not at the sweep's.
pub(crate) const SWEEP_EXPIRE: &str = "UPDATE verifications \
    SET status = 'expired', finished_at = expires_at, updated_at = $1 \
    WHERE status = 'pending' AND expires_at <= $1";

/// Sweep step 2. `ON CONFLICT DO NOTHING` lets two nodes sweep at once.
pub(crate) const SWEEP_COPY_TO_HISTORY: &str = concat!(
    "INSERT INTO verification_history (",
    history_columns!(),
    ") SELECT ",
    history_columns!(),
    " FROM verifications WHERE status <> 'pending' AND finished_at < $1 \
     ON CONFLICT (id) DO NOTHING"
);

/// Sweep step 3: deletes only rows whose history copy exists, so a row finished by a
/// concurrent commit between steps 2 and 3 waits for the next sweep instead of vanishing.
pub(crate) const SWEEP_DELETE: &str = "DELETE FROM verifications \
    WHERE status <> 'pending' AND finished_at < $1 \
    AND EXISTS (SELECT 1 FROM verification_history h WHERE h.id = verifications.id)";

pub(crate) const VERIFICATION_HISTORY: &str = concat!(
    "SELECT ",
    history_columns!(),
    " FROM verification_history ORDER BY finished_at DESC, id DESC LIMIT $1"
);

// Messages

pub(crate) const INSERT_MESSAGE: &str = concat!(
    "INSERT INTO messages (",
    message_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
);

pub(crate) const GET_MESSAGE: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM messages WHERE id = $1"
);

/// Every filter is optional (NULL = any). `$5` is a cursor: only messages older than that
/// message, ordered by (created_at, id) so equal timestamps page without gaps.
pub(crate) const LIST_MESSAGES: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM messages \
     WHERE (CAST($1 AS TEXT) IS NULL OR status = $1) \
     AND (CAST($2 AS TEXT) IS NULL OR channel = $2) \
     AND (CAST($3 AS BIGINT) IS NULL OR created_at >= $3) \
     AND (CAST($4 AS TEXT) IS NULL OR verification_id = $4) \
     AND (CAST($5 AS TEXT) IS NULL OR (created_at, id) < \
          (SELECT b.created_at, b.id FROM messages b WHERE b.id = $5)) \
     ORDER BY created_at DESC, id DESC LIMIT $6"
);

// Audit

pub(crate) const INSERT_AUDIT: &str = concat!(
    "INSERT INTO audit_events (",
    audit_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6)"
);

pub(crate) const LIST_AUDIT: &str = concat!(
    "SELECT ",
    audit_columns!(),
    " FROM audit_events \
     WHERE (CAST($1 AS TEXT) IS NULL OR (at, id) < \
            (SELECT b.at, b.id FROM audit_events b WHERE b.id = $1)) \
     ORDER BY at DESC, id DESC LIMIT $2"
);
