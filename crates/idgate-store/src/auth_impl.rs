//! `AuthStore`, written once and instantiated per pool type (see `store_impl.rs`). The
//! SQL is in `auth_sql.rs`, the row conversions in `auth_rows.rs`.

/// Appends a grant's values, in `INSERT_GRANT`'s column order, to a query (`$factors`
/// is the grant's factors already as JSON).
macro_rules! bind_grant {
    ($query:expr, $g:expr, $factors:expr) => {
        $query
            .bind(&$g.id)
            .bind(&$g.client_id)
            .bind($g.user_id.as_deref())
            .bind($g.session_id.as_deref())
            .bind(&$g.scope)
            .bind($factors)
            .bind($g.auth_time)
            .bind($g.nonce.as_deref())
            .bind($g.created_at)
            .bind($g.expires_at)
            .bind($g.revoked_at)
    };
}

/// Appends an authorization code's values, in `INSERT_AUTH_CODE`'s column order.
macro_rules! bind_auth_code {
    ($query:expr, $c:expr) => {
        $query
            .bind(&$c.code_hash)
            .bind(&$c.grant_id)
            .bind(&$c.client_id)
            .bind(&$c.redirect_uri)
            .bind($c.code_challenge.as_deref())
            .bind($c.created_at)
            .bind($c.expires_at)
            .bind($c.used_at)
    };
}

/// Appends a new session's values, in `INSERT_SESSION`'s column order (`$factors` and
/// `$journey` already as JSON).
macro_rules! bind_new_session {
    ($query:expr, $s:expr, $factors:expr, $journey:expr) => {
        $query
            .bind(&$s.id)
            .bind(&$s.secret_hash)
            .bind(&$s.csrf)
            .bind($s.user_id.as_deref())
            .bind($factors)
            .bind($s.auth_time)
            .bind($journey)
            .bind($s.created_at)
            .bind($s.updated_at)
            .bind($s.expires_at)
    };
}

/// Appends a session's changeable values, `$1…$8` of `UPDATE_SESSION` and
/// `ROTATE_SESSION`.
macro_rules! bind_session_update {
    ($query:expr, $s:expr, $factors:expr, $journey:expr) => {
        $query
            .bind(&$s.id)
            .bind(&$s.csrf)
            .bind($s.user_id.as_deref())
            .bind($factors)
            .bind($s.auth_time)
            .bind($journey)
            .bind($s.updated_at)
            .bind($s.expires_at)
    };
}

/// Appends a refresh token's values, in `INSERT_REFRESH_TOKEN`'s column order.
macro_rules! bind_refresh_token {
    ($query:expr, $t:expr) => {
        $query
            .bind(&$t.token_hash)
            .bind(&$t.grant_id)
            .bind($t.created_at)
            .bind($t.expires_at)
            .bind($t.used_at)
    };
}

macro_rules! impl_auth_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl idgate_core::store::AuthStore for $store {
            // Sessions

            async fn insert_session(
                &self,
                s: &idgate_core::session::Session,
            ) -> idgate_core::store::StoreResult<()> {
                let factors = $crate::auth_rows::factors_json(&s.factors)?;
                let journey = $crate::auth_rows::journey_json(s.journey.as_ref())?;
                if let Some(direct) = self.direct() {
                    let q = $crate::auth_impl::bind_new_session!(
                        $crate::sqlite_direct::query($crate::auth_sql::INSERT_SESSION),
                        s,
                        &factors,
                        journey.as_deref()
                    );
                    direct.write(move |c| q.execute(c)).await.map_err(|e| {
                        $crate::sqlite_direct::write("insert session", e, || "session".into())
                    })?;
                    return Ok(());
                }
                $crate::auth_impl::bind_new_session!(
                    sqlx::query($crate::auth_sql::INSERT_SESSION),
                    s,
                    &factors,
                    journey.as_deref()
                )
                .execute(&self.writer)
                .await
                .map_err(|e| $crate::error::write("insert session", e, || "session".into()))?;
                Ok(())
            }

            async fn find_session(
                &self,
                secret_hash: &str,
                now: idgate_core::UnixTime,
            ) -> idgate_core::store::StoreResult<Option<idgate_core::session::Session>> {
                if let Some(direct) = self.direct() {
                    let q = $crate::sqlite_direct::query($crate::auth_sql::FIND_SESSION)
                        .bind(secret_hash)
                        .bind(now);
                    return direct.read_row(
                        "find session",
                        &q,
                        $crate::auth_rows::SessionRow::from_direct,
                    );
                }
                sqlx::query_as::<_, $crate::auth_rows::SessionRow>($crate::auth_sql::FIND_SESSION)
                    .bind(secret_hash)
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| $crate::error::backend("find session", e))?
                    .map(TryInto::try_into)
                    .transpose()
            }

            async fn update_session(
                &self,
                s: &idgate_core::session::Session,
            ) -> idgate_core::store::StoreResult<bool> {
                let factors = $crate::auth_rows::factors_json(&s.factors)?;
                let journey = $crate::auth_rows::journey_json(s.journey.as_ref())?;
                if let Some(direct) = self.direct() {
                    let q = $crate::auth_impl::bind_session_update!(
                        $crate::sqlite_direct::query($crate::auth_sql::UPDATE_SESSION),
                        s,
                        &factors,
                        journey.as_deref()
                    );
                    return direct
                        .write(move |c| q.execute(c))
                        .await
                        .map(|n| n > 0)
                        .map_err(|e| $crate::sqlite_direct::backend("update session", e));
                }
                $crate::auth_impl::bind_session_update!(
                    sqlx::query($crate::auth_sql::UPDATE_SESSION),
                    s,
                    &factors,
                    journey.as_deref()
                )
                .execute(&self.writer)
                .await
                .map(|d| d.rows_affected() > 0)
                .map_err(|e| $crate::error::backend("update session", e))
            }

            async fn rotate_session(
                &self,
                s: &idgate_core::session::Session,
                old_hash: &str,
            ) -> idgate_core::store::StoreResult<bool> {
                let factors = $crate::auth_rows::factors_json(&s.factors)?;
                let journey = $crate::auth_rows::journey_json(s.journey.as_ref())?;
                if let Some(direct) = self.direct() {
                    let q = $crate::auth_impl::bind_session_update!(
                        $crate::sqlite_direct::query($crate::auth_sql::ROTATE_SESSION),
                        s,
                        &factors,
                        journey.as_deref()
                    )
                    .bind(old_hash)
                    .bind(&s.secret_hash);
                    return direct
                        .write(move |c| q.execute(c))
                        .await
                        .map(|n| n > 0)
                        .map_err(|e| $crate::sqlite_direct::backend("rotate session secret", e));
                }
                $crate::auth_impl::bind_session_update!(
                    sqlx::query($crate::auth_sql::ROTATE_SESSION),
                    s,
                    &factors,
                    journey.as_deref()
                )
                .bind(old_hash)
                .bind(&s.secret_hash)
                .execute(&self.writer)
                .await
                .map(|d| d.rows_affected() > 0)
                .map_err(|e| $crate::error::backend("rotate session secret", e))
            }

            async fn delete_session(&self, id: &str) -> idgate_core::store::StoreResult<bool> {
                sqlx::query($crate::auth_sql::DELETE_SESSION)
                    .bind(id)
                    .execute(&self.writer)
                    .await
                    .map(|d| d.rows_affected() > 0)
                    .map_err(|e| $crate::error::backend("delete session", e))
            }

            async fn list_user_sessions(
                &self,
                user_id: &str,
            ) -> idgate_core::store::StoreResult<Vec<idgate_core::session::SessionInfo>> {
                sqlx::query_as::<_, $crate::auth_rows::SessionInfoRow>(
                    $crate::auth_sql::LIST_USER_SESSIONS,
                )
                .bind(user_id)
                .fetch_all(&self.pool)
                .await
                .map_err(|e| $crate::error::backend("list user sessions", e))?
                .into_iter()
                .map(TryInto::try_into)
                .collect()
            }

            async fn delete_user_sessions(
                &self,
                user_id: &str,
            ) -> idgate_core::store::StoreResult<u64> {
                sqlx::query($crate::auth_sql::DELETE_USER_SESSIONS)
                    .bind(user_id)
                    .execute(&self.writer)
                    .await
                    .map(|d| d.rows_affected())
                    .map_err(|e| $crate::error::backend("delete user sessions", e))
            }

            async fn sweep_sessions(
                &self,
                now: idgate_core::UnixTime,
            ) -> idgate_core::store::StoreResult<u64> {
                sqlx::query($crate::auth_sql::SWEEP_SESSIONS)
                    .bind(now)
                    .execute(&self.writer)
                    .await
                    .map(|d| d.rows_affected())
                    .map_err(|e| $crate::error::backend("sweep sessions", e))
            }

            // Grants, codes, refresh tokens

            async fn insert_grant(
                &self,
                g: &idgate_core::grant::Grant,
            ) -> idgate_core::store::StoreResult<()> {
                let factors = $crate::auth_rows::factors_json(&g.factors)?;
                $crate::auth_impl::bind_grant!(
                    sqlx::query($crate::auth_sql::INSERT_GRANT),
                    g,
                    &factors
                )
                .execute(&self.writer)
                .await
                .map_err(|e| $crate::error::write("insert grant", e, || "grant".into()))?;
                Ok(())
            }

            async fn get_grant(
                &self,
                id: &str,
            ) -> idgate_core::store::StoreResult<Option<idgate_core::grant::Grant>> {
                if let Some(direct) = self.direct() {
                    let q = $crate::sqlite_direct::query($crate::auth_sql::GET_GRANT).bind(id);
                    return direct.read_row(
                        "get grant",
                        &q,
                        $crate::auth_rows::GrantRow::from_direct,
                    );
                }
                sqlx::query_as::<_, $crate::auth_rows::GrantRow>($crate::auth_sql::GET_GRANT)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| $crate::error::backend("get grant", e))?
                    .map(TryInto::try_into)
                    .transpose()
            }

            async fn revoke_grant(
                &self,
                id: &str,
                now: idgate_core::UnixTime,
            ) -> idgate_core::store::StoreResult<bool> {
                sqlx::query($crate::auth_sql::REVOKE_GRANT)
                    .bind(id)
                    .bind(now)
                    .execute(&self.writer)
                    .await
                    .map(|d| d.rows_affected() > 0)
                    .map_err(|e| $crate::error::backend("revoke grant", e))
            }

            async fn revoke_session_grants(
                &self,
                session_id: &str,
                now: idgate_core::UnixTime,
            ) -> idgate_core::store::StoreResult<u64> {
                sqlx::query($crate::auth_sql::REVOKE_SESSION_GRANTS)
                    .bind(session_id)
                    .bind(now)
                    .execute(&self.writer)
                    .await
                    .map(|d| d.rows_affected())
                    .map_err(|e| $crate::error::backend("revoke session grants", e))
            }

            async fn insert_auth_code(
                &self,
                c: &idgate_core::grant::AuthCode,
            ) -> idgate_core::store::StoreResult<()> {
                $crate::auth_impl::bind_auth_code!(
                    sqlx::query($crate::auth_sql::INSERT_AUTH_CODE),
                    c
                )
                .execute(&self.writer)
                .await
                .map_err(|e| {
                    $crate::error::write("insert authorization code", e, || {
                        "authorization code".into()
                    })
                })?;
                Ok(())
            }

            async fn insert_grant_with_code(
                &self,
                g: &idgate_core::grant::Grant,
                c: &idgate_core::grant::AuthCode,
            ) -> idgate_core::store::StoreResult<()> {
                let fail = |e| $crate::error::write("insert grant and code", e, || "grant".into());
                let factors = $crate::auth_rows::factors_json(&g.factors)?;
                if let Some(direct) = self.direct() {
                    let grant = $crate::auth_impl::bind_grant!(
                        $crate::sqlite_direct::query($crate::auth_sql::INSERT_GRANT),
                        g,
                        &factors
                    );
                    let code = $crate::auth_impl::bind_auth_code!(
                        $crate::sqlite_direct::query($crate::auth_sql::INSERT_AUTH_CODE),
                        c
                    );
                    return direct
                        .write(move |c| {
                            grant.execute(c)?;
                            code.execute(c)
                        })
                        .await
                        .map(|_| ())
                        .map_err(|e| {
                            $crate::sqlite_direct::write("insert grant and code", e, || {
                                "grant".into()
                            })
                        });
                }
                let mut tx = self.writer.begin().await.map_err(fail)?;
                $crate::auth_impl::bind_grant!(
                    sqlx::query($crate::auth_sql::INSERT_GRANT),
                    g,
                    &factors
                )
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
                $crate::auth_impl::bind_auth_code!(
                    sqlx::query($crate::auth_sql::INSERT_AUTH_CODE),
                    c
                )
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
                tx.commit().await.map_err(fail)
            }

            async fn redeem_auth_code(
                &self,
                code_hash: &str,
                now: idgate_core::UnixTime,
                first_refresh: Option<&str>,
            ) -> idgate_core::store::StoreResult<idgate_core::grant::CodeRedemption> {
                use idgate_core::grant::CodeRedemption;
                if let Some(direct) = self.direct() {
                    // The same steps as below, in one visit to the writer.
                    let redeem = $crate::sqlite_direct::query($crate::auth_sql::REDEEM_AUTH_CODE)
                        .bind(code_hash)
                        .bind(now);
                    let seen = $crate::sqlite_direct::query($crate::auth_sql::GET_AUTH_CODE)
                        .bind(code_hash);
                    let refresh = first_refresh.map(|h| {
                        $crate::sqlite_direct::query($crate::auth_sql::INSERT_FIRST_REFRESH_TOKEN)
                            .bind(h)
                            .bind(now)
                    });
                    return direct
                        .write(move |c| {
                            let decode = $crate::auth_rows::AuthCodeRow::from_direct;
                            if let Some(row) = redeem.fetch_optional(c, decode)? {
                                let code = idgate_core::grant::AuthCode::from(row);
                                if let Some(refresh) = refresh {
                                    refresh.bind(&code.grant_id).execute(c)?;
                                }
                                return Ok(CodeRedemption::Redeemed(code));
                            }
                            match seen
                                .fetch_optional(c, decode)?
                                .map(idgate_core::grant::AuthCode::from)
                            {
                                Some(code) if code.used_at.is_some() => {
                                    $crate::sqlite_direct::query($crate::auth_sql::REVOKE_GRANT)
                                        .bind(&code.grant_id)
                                        .bind(now)
                                        .execute(c)?;
                                    Ok(CodeRedemption::Reused(code))
                                }
                                _ => Ok(CodeRedemption::Invalid),
                            }
                        })
                        .await
                        .map_err(|e| {
                            $crate::sqlite_direct::backend("redeem authorization code", e)
                        });
                }
                let fail = |e| $crate::error::backend("redeem authorization code", e);
                let mut tx = self.writer.begin().await.map_err(fail)?;
                let won = sqlx::query_as::<_, $crate::auth_rows::AuthCodeRow>(
                    $crate::auth_sql::REDEEM_AUTH_CODE,
                )
                .bind(code_hash)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await
                .map_err(fail)?;
                if let Some(row) = won {
                    let code = idgate_core::grant::AuthCode::from(row);
                    if let Some(hash) = first_refresh {
                        sqlx::query($crate::auth_sql::INSERT_FIRST_REFRESH_TOKEN)
                            .bind(hash)
                            .bind(now)
                            .bind(&code.grant_id)
                            .execute(&mut *tx)
                            .await
                            .map_err(fail)?;
                    }
                    tx.commit().await.map_err(fail)?;
                    return Ok(CodeRedemption::Redeemed(code));
                }
                drop(tx);
                let seen = sqlx::query_as::<_, $crate::auth_rows::AuthCodeRow>(
                    $crate::auth_sql::GET_AUTH_CODE,
                )
                .bind(code_hash)
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| $crate::error::backend("get authorization code", e))?
                .map(idgate_core::grant::AuthCode::from);
                match seen {
                    Some(code) if code.used_at.is_some() => {
                        // A replayed code: what it issued can no longer be trusted.
                        sqlx::query($crate::auth_sql::REVOKE_GRANT)
                            .bind(&code.grant_id)
                            .bind(now)
                            .execute(&self.writer)
                            .await
                            .map_err(|e| $crate::error::backend("revoke grant", e))?;
                        Ok(CodeRedemption::Reused(code))
                    }
                    _ => Ok(CodeRedemption::Invalid),
                }
            }

            async fn insert_refresh_token(
                &self,
                t: &idgate_core::grant::RefreshToken,
            ) -> idgate_core::store::StoreResult<()> {
                if let Some(direct) = self.direct() {
                    let q = $crate::auth_impl::bind_refresh_token!(
                        $crate::sqlite_direct::query($crate::auth_sql::INSERT_REFRESH_TOKEN),
                        t
                    );
                    direct.write(move |c| q.execute(c)).await.map_err(|e| {
                        $crate::sqlite_direct::write("insert refresh token", e, || {
                            "refresh token".into()
                        })
                    })?;
                    return Ok(());
                }
                $crate::auth_impl::bind_refresh_token!(
                    sqlx::query($crate::auth_sql::INSERT_REFRESH_TOKEN),
                    t
                )
                .execute(&self.writer)
                .await
                .map_err(|e| {
                    $crate::error::write("insert refresh token", e, || "refresh token".into())
                })?;
                Ok(())
            }

            async fn rotate_refresh_token(
                &self,
                old_hash: &str,
                new: &idgate_core::grant::RefreshToken,
                now: idgate_core::UnixTime,
            ) -> idgate_core::store::StoreResult<idgate_core::grant::RefreshRotation> {
                use idgate_core::grant::RefreshRotation;
                let mut tx = self
                    .writer
                    .begin()
                    .await
                    .map_err(|e| $crate::error::backend("begin refresh rotation", e))?;
                let spent: Option<(String,)> =
                    sqlx::query_as($crate::auth_sql::SPEND_REFRESH_TOKEN)
                        .bind(old_hash)
                        .bind(now)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(|e| $crate::error::backend("spend refresh token", e))?;
                if let Some((grant_id,)) = spent {
                    sqlx::query($crate::auth_sql::INSERT_REFRESH_TOKEN)
                        .bind(&new.token_hash)
                        .bind(&grant_id)
                        .bind(new.created_at)
                        .bind(new.expires_at)
                        .bind(new.used_at)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| $crate::error::backend("insert refresh token", e))?;
                    tx.commit()
                        .await
                        .map_err(|e| $crate::error::backend("commit refresh rotation", e))?;
                    return Ok(RefreshRotation::Rotated(grant_id));
                }
                let seen = sqlx::query_as::<_, $crate::auth_rows::RefreshRow>(
                    $crate::auth_sql::GET_REFRESH_TOKEN,
                )
                .bind(old_hash)
                .fetch_optional(&mut *tx)
                .await
                .map_err(|e| $crate::error::backend("get refresh token", e))?;
                let outcome = match seen {
                    Some(row) if row.used_at.is_some() => {
                        sqlx::query($crate::auth_sql::REVOKE_GRANT)
                            .bind(&row.grant_id)
                            .bind(now)
                            .execute(&mut *tx)
                            .await
                            .map_err(|e| $crate::error::backend("revoke grant", e))?;
                        RefreshRotation::Reused(row.grant_id)
                    }
                    _ => RefreshRotation::Invalid,
                };
                tx.commit()
                    .await
                    .map_err(|e| $crate::error::backend("commit refresh rotation", e))?;
                Ok(outcome)
            }

            async fn refresh_token_grant(
                &self,
                token_hash: &str,
            ) -> idgate_core::store::StoreResult<Option<String>> {
                Ok(sqlx::query_as::<_, $crate::auth_rows::RefreshRow>(
                    $crate::auth_sql::GET_REFRESH_TOKEN,
                )
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| $crate::error::backend("get refresh token", e))?
                .map(|r| r.grant_id))
            }

            async fn sweep_grants(
                &self,
                now: idgate_core::UnixTime,
            ) -> idgate_core::store::StoreResult<u64> {
                let mut total = 0;
                for sql in [
                    $crate::auth_sql::SWEEP_AUTH_CODES,
                    $crate::auth_sql::SWEEP_REFRESH_TOKENS,
                    $crate::auth_sql::SWEEP_GRANTS,
                ] {
                    total += sqlx::query(sql)
                        .bind(now)
                        .execute(&self.writer)
                        .await
                        .map(|d| d.rows_affected())
                        .map_err(|e| $crate::error::backend("sweep grants", e))?;
                }
                Ok(total)
            }

            // Signing keys

            async fn list_signing_keys(
                &self,
                now: idgate_core::UnixTime,
            ) -> idgate_core::store::StoreResult<Vec<idgate_core::signing_key::SigningKeyRecord>>
            {
                sqlx::query_as::<_, $crate::auth_rows::SigningKeyRow>(
                    $crate::auth_sql::LIST_SIGNING_KEYS,
                )
                .bind(now)
                .fetch_all(&self.pool)
                .await
                .map_err(|e| $crate::error::backend("list signing keys", e))?
                .into_iter()
                .map(TryInto::try_into)
                .collect()
            }

            async fn insert_signing_key(
                &self,
                k: &idgate_core::signing_key::SigningKeyRecord,
            ) -> idgate_core::store::StoreResult<()> {
                sqlx::query($crate::auth_sql::INSERT_SIGNING_KEY)
                    .bind(&k.kid)
                    .bind(&k.alg)
                    .bind(&k.private_key_enc)
                    .bind(&k.public_jwk)
                    .bind(k.status.as_str())
                    .bind(k.created_at)
                    .bind(k.retire_until)
                    .execute(&self.writer)
                    .await
                    .map_err(|e| {
                        $crate::error::write("insert signing key", e, || {
                            format!("an active {} signing key", k.alg)
                        })
                    })?;
                Ok(())
            }

            async fn retire_signing_keys(
                &self,
                alg: &str,
                retire_until: idgate_core::UnixTime,
            ) -> idgate_core::store::StoreResult<u64> {
                sqlx::query($crate::auth_sql::RETIRE_SIGNING_KEYS)
                    .bind(alg)
                    .bind(retire_until)
                    .execute(&self.writer)
                    .await
                    .map(|d| d.rows_affected())
                    .map_err(|e| $crate::error::backend("retire signing keys", e))
            }

            async fn rotate_signing_key(
                &self,
                k: &idgate_core::signing_key::SigningKeyRecord,
                retire_until: idgate_core::UnixTime,
            ) -> idgate_core::store::StoreResult<()> {
                let mut tx = self
                    .writer
                    .begin()
                    .await
                    .map_err(|e| $crate::error::backend("begin key rotation", e))?;
                sqlx::query($crate::auth_sql::RETIRE_SIGNING_KEYS)
                    .bind(&k.alg)
                    .bind(retire_until)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| $crate::error::backend("retire signing keys", e))?;
                sqlx::query($crate::auth_sql::INSERT_SIGNING_KEY)
                    .bind(&k.kid)
                    .bind(&k.alg)
                    .bind(&k.private_key_enc)
                    .bind(&k.public_jwk)
                    .bind(k.status.as_str())
                    .bind(k.created_at)
                    .bind(k.retire_until)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| {
                        $crate::error::write("insert signing key", e, || {
                            format!("an active {} signing key", k.alg)
                        })
                    })?;
                tx.commit()
                    .await
                    .map_err(|e| $crate::error::backend("commit key rotation", e))
            }

            async fn get_client_signing_alg(
                &self,
                client_id: &str,
            ) -> idgate_core::store::StoreResult<Option<String>> {
                let row: Option<(Option<String>,)> =
                    sqlx::query_as($crate::auth_sql::GET_CLIENT_SIGNING_ALG)
                        .bind(client_id)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(|e| $crate::error::backend("get client signing alg", e))?;
                Ok(row.and_then(|(alg,)| alg))
            }

            async fn set_client_signing_alg(
                &self,
                client_id: &str,
                alg: Option<&str>,
                now: idgate_core::UnixTime,
            ) -> idgate_core::store::StoreResult<()> {
                let done = sqlx::query($crate::auth_sql::SET_CLIENT_SIGNING_ALG)
                    .bind(client_id)
                    .bind(alg)
                    .bind(now)
                    .execute(&self.writer)
                    .await
                    .map(|_| ())
                    .map_err(|e| $crate::error::backend("set client signing alg", e));
                self.client_oidc_cache.forget(client_id);
                done
            }

            async fn get_client_oidc_settings(
                &self,
                client_id: &str,
            ) -> idgate_core::store::StoreResult<idgate_core::application::ClientOidcSettings> {
                type Row = (
                    Option<String>,
                    Option<i64>,
                    Option<i64>,
                    Option<i64>,
                    Option<i64>,
                );
                if let Some(s) = self.client_oidc_cache.get(client_id) {
                    return Ok(s);
                }
                let row: Option<Row> = sqlx::query_as($crate::auth_sql::GET_CLIENT_OIDC_SETTINGS)
                    .bind(client_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| $crate::error::backend("get client oidc settings", e))?;
                let settings: idgate_core::application::ClientOidcSettings = row
                    .map(
                        |(alg, at, it, rt, ct)| idgate_core::application::ClientOidcSettings {
                            signing_alg: alg,
                            token_lifetimes: idgate_core::application::TokenLifetimes {
                                access_token: at,
                                id_token: it,
                                refresh_token: rt,
                                authorization_code: ct,
                            },
                        },
                    )
                    .unwrap_or_default();
                self.client_oidc_cache.put(client_id, settings.clone());
                Ok(settings)
            }

            async fn set_client_token_lifetimes(
                &self,
                client_id: &str,
                l: &idgate_core::application::TokenLifetimes,
                now: idgate_core::UnixTime,
            ) -> idgate_core::store::StoreResult<()> {
                let done = sqlx::query($crate::auth_sql::SET_CLIENT_TOKEN_LIFETIMES)
                    .bind(client_id)
                    .bind(l.access_token)
                    .bind(l.id_token)
                    .bind(l.refresh_token)
                    .bind(l.authorization_code)
                    .bind(now)
                    .execute(&self.writer)
                    .await
                    .map(|_| ())
                    .map_err(|e| $crate::error::backend("set client token lifetimes", e));
                self.client_oidc_cache.forget(client_id);
                done
            }

            async fn max_client_token_lifetimes(
                &self,
            ) -> idgate_core::store::StoreResult<idgate_core::application::TokenLifetimes> {
                let (at, it, rt, ct): (Option<i64>, Option<i64>, Option<i64>, Option<i64>) =
                    sqlx::query_as($crate::auth_sql::MAX_CLIENT_TOKEN_LIFETIMES)
                        .fetch_one(&self.pool)
                        .await
                        .map_err(|e| $crate::error::backend("max client token lifetimes", e))?;
                Ok(idgate_core::application::TokenLifetimes {
                    access_token: at,
                    id_token: it,
                    refresh_token: rt,
                    authorization_code: ct,
                })
            }
        }
    };
}

pub(crate) use {
    bind_auth_code, bind_grant, bind_new_session, bind_refresh_token, bind_session_update,
    impl_auth_store,
};
