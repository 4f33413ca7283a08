-- SQLite only (PostgreSQL's tables have no rowid): the four tables every sign-in writes
-- become WITHOUT ROWID tables, stored in their primary key's b-tree.
--
-- As rowid tables each row lived twice — in the table's rowid b-tree and in the b-tree
-- of the TEXT primary key — so every insert changed a page in both, and every lookup by
-- key searched both. A sign-in inserts into all four and updates two, and each changed
-- page is written to the WAL and later copied back: this removes about a quarter of the
-- pages a sign-in writes. The rows are small (well under a tenth of a page), the case
-- WITHOUT ROWID is made for.
--
-- Also: the index of sessions by user and of grants by session leave out NULLs (sessions
-- before sign-in; grants without a browser session), which no query looks up, so
-- inserting those no longer touches the index.
--
-- Each table is rebuilt (SQLite cannot change this in place): new table, copy, drop,
-- rename, indexes. No other table, view or trigger refers to these.

CREATE TABLE sessions_new (
    id          TEXT PRIMARY KEY NOT NULL,
    secret_hash TEXT NOT NULL,
    csrf        TEXT NOT NULL,
    user_id     TEXT,
    -- JSON array of factors.
    factors     TEXT NOT NULL,
    auth_time   INTEGER,
    -- JSON Journey, or NULL.
    journey     TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO sessions_new (id, secret_hash, csrf, user_id, factors, auth_time, journey,
                          created_at, updated_at, expires_at)
    SELECT id, secret_hash, csrf, user_id, factors, auth_time, journey,
           created_at, updated_at, expires_at
    FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_new RENAME TO sessions;
CREATE UNIQUE INDEX sessions_secret_hash ON sessions (secret_hash);
CREATE INDEX sessions_user ON sessions (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE grants_new (
    id          TEXT PRIMARY KEY NOT NULL,
    client_id   TEXT NOT NULL,
    user_id     TEXT,
    session_id  TEXT,
    scope       TEXT NOT NULL,
    factors     TEXT NOT NULL,
    auth_time   INTEGER NOT NULL,
    nonce       TEXT,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER
) STRICT, WITHOUT ROWID;
INSERT INTO grants_new (id, client_id, user_id, session_id, scope, factors, auth_time, nonce,
                        created_at, expires_at, revoked_at)
    SELECT id, client_id, user_id, session_id, scope, factors, auth_time, nonce,
           created_at, expires_at, revoked_at
    FROM grants;
DROP TABLE grants;
ALTER TABLE grants_new RENAME TO grants;
CREATE INDEX grants_session ON grants (session_id) WHERE session_id IS NOT NULL;
CREATE INDEX grants_expires ON grants (expires_at);

CREATE TABLE auth_codes_new (
    code_hash      TEXT PRIMARY KEY NOT NULL,
    grant_id       TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    code_challenge TEXT,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    used_at        INTEGER,
    -- When the sweeper may delete the row (see 0006_code_tombstones.sql).
    keep_until     INTEGER
) STRICT, WITHOUT ROWID;
INSERT INTO auth_codes_new (code_hash, grant_id, client_id, redirect_uri, code_challenge,
                            created_at, expires_at, used_at, keep_until)
    SELECT code_hash, grant_id, client_id, redirect_uri, code_challenge,
           created_at, expires_at, used_at, keep_until
    FROM auth_codes;
DROP TABLE auth_codes;
ALTER TABLE auth_codes_new RENAME TO auth_codes;
CREATE INDEX auth_codes_sweep ON auth_codes (COALESCE(keep_until, expires_at));

CREATE TABLE refresh_tokens_new (
    token_hash TEXT PRIMARY KEY NOT NULL,
    grant_id   TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT, WITHOUT ROWID;
INSERT INTO refresh_tokens_new (token_hash, grant_id, created_at, expires_at, used_at)
    SELECT token_hash, grant_id, created_at, expires_at, used_at
    FROM refresh_tokens;
DROP TABLE refresh_tokens;
ALTER TABLE refresh_tokens_new RENAME TO refresh_tokens;
CREATE INDEX refresh_tokens_grant ON refresh_tokens (grant_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);
