//! `AuthStore` rows as the database returns them, and their conversion to domain types
//! (JSON columns and enum names are checked here; a failure is `StoreError::Corrupt`).

use idgate_core::UnixTime;
use idgate_core::grant::{AuthCode, Grant};
use idgate_core::login::{Factor, Journey};
use idgate_core::session::{Session, SessionInfo};
use idgate_core::signing_key::{KeyStatus, SigningKeyRecord};
use idgate_core::store::StoreError;

use crate::error::corrupt;
use crate::sqlite_direct::from_direct_row;

fn factors(table: &'static str, text: &str) -> Result<Vec<Factor>, StoreError> {
    serde_json::from_str(text).map_err(|e| corrupt(table, "factors", e))
}

pub(crate) fn factors_json(f: &[Factor]) -> Result<String, StoreError> {
    serde_json::to_string(f).map_err(|e| StoreError::Backend(format!("cannot encode factors: {e}")))
}

pub(crate) fn journey_json(j: Option<&Journey>) -> Result<Option<String>, StoreError> {
    j.map(|j| {
        serde_json::to_string(j)
            .map_err(|e| StoreError::Backend(format!("cannot encode journey: {e}")))
    })
    .transpose()
}

#[derive(sqlx::FromRow)]
pub(crate) struct SessionRow {
    id: String,
    secret_hash: String,
    csrf: String,
    user_id: Option<String>,
    factors: String,
    auth_time: Option<i64>,
    journey: Option<String>,
    created_at: i64,
    updated_at: i64,
    expires_at: i64,
}

impl TryFrom<SessionRow> for Session {
    type Error = StoreError;
    fn try_from(r: SessionRow) -> Result<Self, StoreError> {
        Ok(Session {
            factors: factors("sessions", &r.factors)?,
            journey: r
                .journey
                .as_deref()
                .map(|j| serde_json::from_str(j).map_err(|e| corrupt("sessions", "journey", e)))
                .transpose()?,
            id: r.id,
            secret_hash: r.secret_hash,
            csrf: r.csrf,
            user_id: r.user_id,
            auth_time: r.auth_time,
            created_at: r.created_at,
            updated_at: r.updated_at,
            expires_at: r.expires_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SessionInfoRow {
    id: String,
    user_id: Option<String>,
    factors: String,
    auth_time: Option<i64>,
    created_at: i64,
    expires_at: i64,
}

impl TryFrom<SessionInfoRow> for SessionInfo {
    type Error = StoreError;
    fn try_from(r: SessionInfoRow) -> Result<Self, StoreError> {
        Ok(SessionInfo {
            factors: factors("sessions", &r.factors)?,
            user_id: r.user_id.unwrap_or_default(),
            id: r.id,
            auth_time: r.auth_time,
            created_at: r.created_at,
            expires_at: r.expires_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct GrantRow {
    id: String,
    client_id: String,
    user_id: Option<String>,
    session_id: Option<String>,
    scope: String,
    factors: String,
    auth_time: i64,
    nonce: Option<String>,
    created_at: i64,
    expires_at: i64,
    revoked_at: Option<i64>,
}

impl TryFrom<GrantRow> for Grant {
    type Error = StoreError;
    fn try_from(r: GrantRow) -> Result<Self, StoreError> {
        Ok(Grant {
            factors: factors("grants", &r.factors)?,
            id: r.id,
            client_id: r.client_id,
            user_id: r.user_id,
            session_id: r.session_id,
            scope: r.scope,
            auth_time: r.auth_time,
            nonce: r.nonce,
            created_at: r.created_at,
            expires_at: r.expires_at,
            revoked_at: r.revoked_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AuthCodeRow {
    code_hash: String,
    grant_id: String,
    client_id: String,
    redirect_uri: String,
    code_challenge: Option<String>,
    created_at: i64,
    expires_at: i64,
    used_at: Option<i64>,
}

impl From<AuthCodeRow> for AuthCode {
    fn from(r: AuthCodeRow) -> Self {
        AuthCode {
            code_hash: r.code_hash,
            grant_id: r.grant_id,
            client_id: r.client_id,
            redirect_uri: r.redirect_uri,
            code_challenge: r.code_challenge,
            created_at: r.created_at,
            expires_at: r.expires_at,
            used_at: r.used_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct RefreshRow {
    pub(crate) grant_id: String,
    pub(crate) used_at: Option<UnixTime>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct SigningKeyRow {
    kid: String,
    alg: String,
    private_key_enc: Vec<u8>,
    public_jwk: String,
    status: String,
    created_at: i64,
    retire_until: Option<i64>,
}

impl TryFrom<SigningKeyRow> for SigningKeyRecord {
    type Error = StoreError;
    fn try_from(r: SigningKeyRow) -> Result<Self, StoreError> {
        Ok(SigningKeyRecord {
            status: KeyStatus::parse(&r.status).ok_or_else(|| {
                corrupt(
                    "signing_keys",
                    "status",
                    format!("unknown value {:?}", r.status),
                )
            })?,
            kid: r.kid,
            alg: r.alg,
            private_key_enc: r.private_key_enc,
            public_jwk: r.public_jwk,
            created_at: r.created_at,
            retire_until: r.retire_until,
        })
    }
}

from_direct_row!(SessionRow {
    id,
    secret_hash,
    csrf,
    user_id,
    factors,
    auth_time,
    journey,
    created_at,
    updated_at,
    expires_at,
});

from_direct_row!(GrantRow {
    id,
    client_id,
    user_id,
    session_id,
    scope,
    factors,
    auth_time,
    nonce,
    created_at,
    expires_at,
    revoked_at,
});

from_direct_row!(AuthCodeRow {
    code_hash,
    grant_id,
    client_id,
    redirect_uri,
    code_challenge,
    created_at,
    expires_at,
    used_at,
});
