//! The `Store` implementation, written once and instantiated per pool type.
//!
//! A `macro_rules!` rather than generics: a generic version over `sqlx::Database` needs a
//! bound for every bound type and every executor, which buries the SQL under where
//! clauses. The macro body is ordinary code that type-checks separately for `SqlitePool`
//! and `PgPool`; the SQL it runs is in `sql.rs`.

/// Implements `idgate_core::store::Store` for `$store`, a struct with a `pool` field of a
/// concrete sqlx pool type; `$backend` is what `Store::backend` returns.
/// Appends a verification's values, `$1…$19` of `INSERT_VERIFICATION` (the masked
/// destination, `$20`, is the caller's).
macro_rules! bind_verification {
    ($query:expr, $v:expr) => {
        $query
            .bind(&$v.id)
            .bind($v.application_id.as_deref())
            .bind($v.user_id.as_deref())
            .bind($v.purpose.as_str())
            .bind($v.channel.as_str())
            .bind(&$v.destination)
            .bind($v.code_hmac.as_slice())
            .bind($v.code_ciphertext.as_deref())
            .bind($v.status.as_str())
            .bind(i64::from($v.attempts))
            .bind(i64::from($v.max_attempts))
            .bind(i64::from($v.resends))
            .bind(i64::from($v.max_resends))
            .bind(i64::from($v.resend_cooldown))
            .bind($v.created_at)
            .bind($v.updated_at)
            .bind($v.expires_at)
            .bind($v.last_sent_at)
            .bind($v.finished_at)
    };
}

macro_rules! impl_store {
    ($store:ty, $backend:literal) => {
        #[async_trait::async_trait]
        impl idgate_core::store::Store for $store {
            fn backend(&self) -> &'static str {
                $backend
            }

            async fn ping(&self) -> idgate_core::store::StoreResult<()> {
                sqlx::query($crate::sql::PING)
                    .execute(&self.pool)
                    .await
                    .map(|_| ())
                    .map_err(|e| $crate::error::backend("ping", e))
            }

            async fn migrate(&self) -> idgate_core::store::StoreResult<()> {
                // The inherent method: it knows this backend's embedded migrations.
                <$store>::migrate(self).await
            }

            // Users

            async fn create_user(
                &self,
                user: &idgate_core::user::NewUser,
                now: idgate_core::UnixTime,
            ) -> idgate_core::store::StoreResult<idgate_core::user::User> {
                let created = idgate_core::user::User {
                    id: idgate_core::new_id(),
                    username: user.username.as_str().to_string(),
                    password_hash: user.password_hash.clone(),
                    mobile: user.mobile.clone(),
                    mobile_verified: user.mobile_verified,
                    display_name: user.display_name.clone(),
                    locale: user.locale.clone(),
                    status: idgate_core::user::UserStatus::Active,
                    locked_until: None,
                    is_admin: user.is_admin,
                    created_at: now,
                    updated_at: now,
                };
                sqlx::query($crate::sql::INSERT_USER)
                    .bind(&created.id)
                    .bind(&created.username)
                    .bind(user.username.key())
                    .bind(created.password_hash.as_deref())
                    .bind(created.mobile.as_ref().map(|m| m.as_str()))
                    .bind(created.mobile_verified)
                    .bind(created.display_name.as_deref())
                    .bind(created.locale.as_deref())
                    .bind(created.status.as_str())
                    .bind(created.locked_until)
                    .bind(created.is_admin)
                    .bind(created.created_at)
                    .bind(created.updated_at)
                    .execute(&self.writer)
                    .await
                    .map_err(|e| {
                        $crate::error::write("create user", e, || {
                            format!("user {:?}", created.username)
                        })
                    })?;
                Ok(created)
            }

            async fn get_user(
                &self,
                id: &str,
            ) -> idgate_core::store::StoreResult<Option<idgate_core::user::User>> {
                if let Some(direct) = self.direct() {
                    let q = $crate::sqlite_direct::query($crate::sql::GET_USER).bind(id);
                    return direct.read_row("get user", &q, $crate::rows::UserRow::from_direct);
                }
                sqlx::query_as::<_, $crate::rows::UserRow>($crate::sql::GET_USER)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| $crate::error::backend("get user", e))?
                    .map(TryInto::try_into)
                    .transpose()
            }

            async fn find_user_by_username(
                &self,
                username: &str,
            ) -> idgate_core::store::StoreResult<Option<idgate_core::user::User>> {
                let key = idgate_core::user::username_key(username);
                if let Some(direct) = self.direct() {
                    let q = $crate::sqlite_direct::query($crate::sql::FIND_USER_BY_KEY).bind(&key);
                    return direct.read_row("find user", &q, $crate::rows::UserRow::from_direct);
                }
                sqlx::query_as::<_, $crate::rows::UserRow>($crate::sql::FIND_USER_BY_KEY)
                    .bind(&key)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| $crate::error::backend("find user", e))?
                    .map(TryInto::try_into)
                    .transpose()
            }

            async fn list_users(
                &self,
                page: &idgate_core::store::Page,
            ) -> idgate_core::store::StoreResult<Vec<idgate_core::user::User>> {
                let rows = sqlx::query_as::<_, $crate::rows::UserRow>($crate::sql::LIST_USERS)
                    .bind(page.after.as_deref().map(idgate_core::user::username_key))
                    .bind($crate::rows::clamp_limit(page.limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| $crate::error::backend("list users", e))?;
                $crate::rows::convert_all(rows)
            }

            async fn update_user(
                &self,
                user: &idgate_core::user::User,
            ) -> idgate_core::store::StoreResult<()> {
                let done = sqlx::query($crate::sql::UPDATE_USER)
                    .bind(&user.id)
                    .bind(&user.username)
                    .bind(idgate_core::user::username_key(&user.username))
                    .bind(user.password_hash.as_deref())
                    .bind(user.mobile.as_ref().map(|m| m.as_str()))
                    .bind(user.mobile_verified)
                    .bind(user.display_name.as_deref())
                    .bind(user.locale.as_deref())
                    .bind(user.status.as_str())
                    .bind(user.locked_until)
                    .bind(user.is_admin)
                    .bind(user.updated_at)
                    .execute(&self.writer)
                    .await
                    .map_err(|e| {
                        $crate::error::write("update user", e, || {
                            format!("user {:?}", user.username)
                        })
                    })?;
                if done.rows_affected() == 0 {
                    return Err(idgate_core::store::StoreError::NotFound(format!(
                        "user {:?}",
                        user.id
                    )));
                }
                Ok(())
            }

            async fn delete_user(&self, id: &str) -> idgate_core::store::StoreResult<bool> {
                sqlx::query($crate::sql::DELETE_USER)
                    .bind(id)
                    .execute(&self.writer)
                    .await
                    .map(|done| done.rows_affected() > 0)
                    .map_err(|e| $crate::error::backend("delete user", e))
            }

            // Applications

            async fn create_application(
                &self,
                app: &idgate_core::application::Application,
            ) -> idgate_core::store::StoreResult<()> {
                let json = $crate::rows::ApplicationJson::encode(app)?;
                sqlx::query($crate::sql::INSERT_APPLICATION)
                    .bind(&app.id)
                    .bind(&app.client_id)
                    .bind(app.client_secret_hash.as_deref())
                    .bind(&app.name)
                    .bind(&json.redirect_uris)
                    .bind(&json.post_logout_redirect_uris)
                    .bind(&json.login_flow)
                    .bind(json.otp_policy.as_deref())
                    .bind(app.created_at)
                    .bind(app.updated_at)
                    .execute(&self.writer)
                    .await
                    .map_err(|e| {
                        $crate::error::write("create application", e, || {
                            format!("application {:?}", app.client_id)
                        })
                    })?;
                Ok(())
            }

            async fn get_application(
                &self,
                client_id: &str,
            ) -> idgate_core::store::StoreResult<Option<idgate_core::application::Application>>
            {
                if let Some(app) = self.app_cache.get(client_id) {
                    return Ok(Some(app));
                }
                let app: Option<idgate_core::application::Application> =
                    sqlx::query_as::<_, $crate::rows::ApplicationRow>($crate::sql::GET_APPLICATION)
                        .bind(client_id)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(|e| $crate::error::backend("get application", e))?
                        .map(TryInto::try_into)
                        .transpose()?;
                if let Some(app) = &app {
                    self.app_cache.put(client_id, app.clone());
                }
                Ok(app)
            }

            async fn list_applications(
                &self,
                page: &idgate_core::store::Page,
            ) -> idgate_core::store::StoreResult<Vec<idgate_core::application::Application>> {
                let rows = sqlx::query_as::<_, $crate::rows::ApplicationRow>(
                    $crate::sql::LIST_APPLICATIONS,
                )
                .bind(page.after.as_deref())
                .bind($crate::rows::clamp_limit(page.limit))
                .fetch_all(&self.pool)
                .await
                .map_err(|e| $crate::error::backend("list applications", e))?;
                $crate::rows::convert_all(rows)
            }

            async fn update_application(
                &self,
                app: &idgate_core::application::Application,
            ) -> idgate_core::store::StoreResult<()> {
                let json = $crate::rows::ApplicationJson::encode(app)?;
                let done = sqlx::query($crate::sql::UPDATE_APPLICATION)
                    .bind(&app.id)
                    .bind(&app.client_id)
                    .bind(app.client_secret_hash.as_deref())
                    .bind(&app.name)
                    .bind(&json.redirect_uris)
                    .bind(&json.post_logout_redirect_uris)
                    .bind(&json.login_flow)
                    .bind(json.otp_policy.as_deref())
                    .bind(app.updated_at)
                    .execute(&self.writer)
                    .await
                    .map_err(|e| {
                        $crate::error::write("update application", e, || {
                            format!("application {:?}", app.client_id)
                        })
                    })?;
                // After the write: a read racing it cannot re-cache the old row for long.
                self.app_cache.forget(&app.client_id);
                if done.rows_affected() == 0 {
                    return Err(idgate_core::store::StoreError::NotFound(format!(
                        "application {:?}",
                        app.client_id
                    )));
                }
                Ok(())
            }

            async fn delete_application(
                &self,
                client_id: &str,
            ) -> idgate_core::store::StoreResult<bool> {
                let deleted = sqlx::query($crate::sql::DELETE_APPLICATION)
                    .bind(client_id)
                    .execute(&self.writer)
                    .await
                    .map(|done| done.rows_affected() > 0)
                    .map_err(|e| $crate::error::backend("delete application", e));
                self.app_cache.forget(client_id);
                self.client_oidc_cache.forget(client_id);
                deleted
            }

            // Admin tokens

            async fn create_admin_token(
                &self,
                token: &idgate_core::admin_token::AdminToken,
            ) -> idgate_core::store::StoreResult<()> {
                sqlx::query($crate::sql::INSERT_ADMIN_TOKEN)
                    .bind(&token.id)
                    .bind(&token.name)
                    .bind(&token.token_hash)
                    .bind(token.created_at)
                    .bind(token.expires_at)
                    .bind(token.last_used_at)
                    .bind(token.revoked_at)
                    .execute(&self.writer)
                    .await
                    .map_err(|e| {
                        // The hash is a secret's fingerprint: name the token, not the hash.
                        $crate::error::write("create admin token", e, || {
                            format!("admin token {:?} (same id or secret)", token.name)
                        })
                    })?;
                Ok(())
            }

            async fn find_admin_token(
                &self,
                token_hash: &str,
            ) -> idgate_core::store::StoreResult<Option<idgate_core::admin_token::AdminToken>> {
                sqlx::query_as::<_, $crate::rows::AdminTokenRow>($crate::sql::FIND_ADMIN_TOKEN)
                    .bind(token_hash)
                    .fetch_optional(&self.pool)
                    .await
                    .map(|row| row.map(Into::into))
                    .map_err(|e| $crate::error::backend("find admin token", e))
            }

            async fn list_admin_tokens(
                &self,
            ) -> idgate_core::store::StoreResult<Vec<idgate_core::admin_token::AdminToken>> {
                sqlx::query_as::<_, $crate::rows::AdminTokenRow>($crate::sql::LIST_ADMIN_TOKENS)
                    .fetch_all(&self.pool)
                    .await
                    .map(|rows| rows.into_iter().map(Into::into).collect())
                    .map_err(|e| $crate::error::backend("list admin tokens", e))
            }

            async fn revoke_admin_token(
                &self,
                id_or_name: &str,
                now: idgate_core::UnixTime,
            ) -> idgate_core::store::StoreResult<bool> {
                sqlx::query($crate::sql::REVOKE_ADMIN_TOKEN)
                    .bind(id_or_name)
                    .bind(now)
                    .execute(&self.writer)
                    .await
                    .map(|done| done.rows_affected() > 0)
                    .map_err(|e| $crate::error::backend("revoke admin token", e))
            }

            // Settings

            async fn get_setting(
                &self,
                key: &str,
            ) -> idgate_core::store::StoreResult<Option<serde_json::Value>> {
                if let Some(cached) = self.settings_cache.get(key) {
                    return Ok(cached);
                }
                let value = sqlx::query_as::<_, $crate::rows::SettingRow>($crate::sql::GET_SETTING)
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| $crate::error::backend("get setting", e))?
                    .map(TryInto::try_into)
                    .transpose()?;
                self.settings_cache.put(key, value.clone());
                Ok(value)
            }

            async fn put_setting(
                &self,
                key: &str,
                value: &serde_json::Value,
                now: idgate_core::UnixTime,
            ) -> idgate_core::store::StoreResult<()> {
                let text = $crate::rows::to_json("setting", value)?;
                sqlx::query($crate::sql::PUT_SETTING)
                    .bind(key)
                    .bind(text)
                    .bind(now)
                    .execute(&self.writer)
                    .await
                    .map_err(|e| $crate::error::backend("put setting", e))?;
                self.settings_cache.put(key, Some(value.clone()));
                Ok(())
            }

            // Verifications

            async fn insert_verification(
                &self,
                v: &idgate_core::otp::Verification,
                destination_masked: &str,
            ) -> idgate_core::store::StoreResult<()> {
                if let Some(direct) = self.direct() {
                    let q = $crate::store_impl::bind_verification!(
                        $crate::sqlite_direct::query($crate::sql::INSERT_VERIFICATION),
                        v
                    )
                    .bind(destination_masked);
                    direct.write(move |c| q.execute(c)).await.map_err(|e| {
                        $crate::sqlite_direct::write("insert verification", e, || {
                            format!("verification {:?}", v.id)
                        })
                    })?;
                    return Ok(());
                }
                $crate::store_impl::bind_verification!(
                    sqlx::query($crate::sql::INSERT_VERIFICATION),
                    v
                )
                .bind(destination_masked)
                .execute(&self.writer)
                .await
                .map_err(|e| {
                    $crate::error::write("insert verification", e, || {
                        format!("verification {:?}", v.id)
                    })
                })?;
                Ok(())
            }

            async fn get_verification(
                &self,
                id: &str,
            ) -> idgate_core::store::StoreResult<Option<idgate_core::otp::Verification>> {
                if let Some(direct) = self.direct() {
                    let q = $crate::sqlite_direct::query($crate::sql::GET_VERIFICATION).bind(id);
                    return direct.read_row(
                        "get verification",
                        &q,
                        $crate::rows::VerificationRow::from_direct,
                    );
                }
                sqlx::query_as::<_, $crate::rows::VerificationRow>($crate::sql::GET_VERIFICATION)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| $crate::error::backend("get verification", e))?
                    .map(TryInto::try_into)
                    .transpose()
            }

            async fn approve_verification(
                &self,
                id: &str,
                code_hmac: &[u8],
                now: idgate_core::UnixTime,
            ) -> idgate_core::store::StoreResult<bool> {
                if let Some(direct) = self.direct() {
                    let q = $crate::sqlite_direct::query($crate::sql::APPROVE_VERIFICATION)
                        .bind(id)
                        .bind(code_hmac)
                        .bind(now);
                    return direct
                        .write(move |c| q.execute(c))
                        .await
                        .map(|n| n == 1)
                        .map_err(|e| $crate::sqlite_direct::backend("approve verification", e));
                }
                sqlx::query($crate::sql::APPROVE_VERIFICATION)
                    .bind(id)
                    .bind(code_hmac)
                    .bind(now)
                    .execute(&self.writer)
                    .await
                    .map(|done| done.rows_affected() == 1)
                    .map_err(|e| $crate::error::backend("approve verification", e))
            }

            async fn record_failed_attempt(
                &self,
                id: &str,
                now: idgate_core::UnixTime,
            ) -> idgate_core::store::StoreResult<Option<idgate_core::store::FailedAttempt>> {
                sqlx::query_as::<_, $crate::rows::FailedAttemptRow>(
                    $crate::sql::RECORD_FAILED_ATTEMPT,
                )
                .bind(id)
                .bind(now)
                .fetch_optional(&self.writer)
                .await
                .map_err(|e| $crate::error::backend("record failed attempt", e))?
                .map(TryInto::try_into)
                .transpose()
            }

            async fn apply_resend(
                &self,
                id: &str,
                resend: &idgate_core::store::Resend,
                now: idgate_core::UnixTime,
            ) -> idgate_core::store::StoreResult<bool> {
                sqlx::query($crate::sql::APPLY_RESEND)
                    .bind(id)
                    .bind(now)
                    .bind(resend.expires_at)
                    .bind(resend.code_hmac.is_some())
                    .bind(resend.code_hmac.as_deref())
                    .bind(resend.code_ciphertext.as_deref())
                    .execute(&self.writer)
                    .await
                    .map(|done| done.rows_affected() == 1)
                    .map_err(|e| $crate::error::backend("apply resend", e))
            }

            async fn set_verification_channel(
                &self,
                id: &str,
                channel: idgate_core::otp::Channel,
                now: idgate_core::UnixTime,
            ) -> idgate_core::store::StoreResult<bool> {
                sqlx::query($crate::sql::SET_VERIFICATION_CHANNEL)
                    .bind(id)
                    .bind(channel.as_str())
                    .bind(now)
                    .execute(&self.writer)
                    .await
                    .map(|done| done.rows_affected() == 1)
                    .map_err(|e| $crate::error::backend("set verification channel", e))
            }

            async fn finish_verification(
                &self,
                id: &str,
                status: idgate_core::otp::VerificationStatus,
                now: idgate_core::UnixTime,
            ) -> idgate_core::store::StoreResult<bool> {
                // Pending is not an end state; "finishing" into it would change nothing.
                if status == idgate_core::otp::VerificationStatus::Pending {
                    return Ok(false);
                }
                sqlx::query($crate::sql::FINISH_VERIFICATION)
                    .bind(id)
                    .bind(status.as_str())
                    .bind(now)
                    .execute(&self.writer)
                    .await
                    .map(|done| done.rows_affected() == 1)
                    .map_err(|e| $crate::error::backend("finish verification", e))
            }

            async fn sweep_verifications(
                &self,
                now: idgate_core::UnixTime,
                finished_before: idgate_core::UnixTime,
            ) -> idgate_core::store::StoreResult<(u64, u64)> {
                let fail = |e| $crate::error::backend("sweep verifications", e);
                let mut tx = self.writer.begin().await.map_err(fail)?;
                let expired = sqlx::query($crate::sql::SWEEP_EXPIRE)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(fail)?
                    .rows_affected();
                sqlx::query($crate::sql::SWEEP_COPY_TO_HISTORY)
                    .bind(finished_before)
                    .execute(&mut *tx)
                    .await
                    .map_err(fail)?;
                let purged = sqlx::query($crate::sql::SWEEP_DELETE)
                    .bind(finished_before)
                    .execute(&mut *tx)
                    .await
                    .map_err(fail)?
                    .rows_affected();
                tx.commit().await.map_err(fail)?;
                Ok((expired, purged))
            }

            async fn verification_history(
                &self,
                limit: u32,
            ) -> idgate_core::store::StoreResult<Vec<serde_json::Value>> {
                let rows = sqlx::query_as::<_, $crate::rows::HistoryRow>(
                    $crate::sql::VERIFICATION_HISTORY,
                )
                .bind($crate::rows::clamp_limit(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(|e| $crate::error::backend("verification history", e))?;
                $crate::rows::convert_all(rows)
            }

            // Message log

            async fn insert_message(
                &self,
                m: &idgate_core::message::MessageRecord,
            ) -> idgate_core::store::StoreResult<()> {
                sqlx::query($crate::sql::INSERT_MESSAGE)
                    .bind(&m.id)
                    .bind(m.verification_id.as_deref())
                    .bind(m.channel.as_str())
                    .bind(&m.provider)
                    .bind(&m.to_masked)
                    .bind(&m.body_redacted)
                    .bind(m.status.as_str())
                    .bind(m.provider_message_id.as_deref())
                    .bind(m.error.as_deref())
                    .bind(i64::from(m.attempts))
                    .bind(m.latency_ms.map(i64::from))
                    .bind(m.created_at)
                    .bind(m.updated_at)
                    .execute(&self.writer)
                    .await
                    .map_err(|e| {
                        $crate::error::write("insert message", e, || format!("message {:?}", m.id))
                    })?;
                Ok(())
            }

            async fn get_message(
                &self,
                id: &str,
            ) -> idgate_core::store::StoreResult<Option<idgate_core::message::MessageRecord>> {
                sqlx::query_as::<_, $crate::rows::MessageRow>($crate::sql::GET_MESSAGE)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| $crate::error::backend("get message", e))?
                    .map(TryInto::try_into)
                    .transpose()
            }

            async fn list_messages(
                &self,
                filter: &idgate_core::store::MessageFilter,
            ) -> idgate_core::store::StoreResult<Vec<idgate_core::message::MessageRecord>> {
                let rows =
                    sqlx::query_as::<_, $crate::rows::MessageRow>($crate::sql::LIST_MESSAGES)
                        .bind(filter.status.map(|s| s.as_str()))
                        .bind(filter.channel.map(|c| c.as_str()))
                        .bind(filter.since)
                        .bind(filter.verification_id.as_deref())
                        .bind(filter.before.as_deref())
                        .bind($crate::rows::clamp_limit(filter.limit))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(|e| $crate::error::backend("list messages", e))?;
                $crate::rows::convert_all(rows)
            }

            // Audit

            async fn insert_audit(
                &self,
                event: &idgate_core::audit::AuditEvent,
            ) -> idgate_core::store::StoreResult<()> {
                let details = $crate::rows::to_json("audit details", &event.details)?;
                sqlx::query($crate::sql::INSERT_AUDIT)
                    .bind(&event.id)
                    .bind(event.at)
                    .bind(&event.actor)
                    .bind(&event.action)
                    .bind(event.target.as_deref())
                    .bind(details)
                    .execute(&self.writer)
                    .await
                    .map_err(|e| {
                        $crate::error::write("insert audit event", e, || {
                            format!("audit event {:?}", event.id)
                        })
                    })?;
                Ok(())
            }

            async fn list_audit(
                &self,
                limit: u32,
                before: Option<&str>,
            ) -> idgate_core::store::StoreResult<Vec<idgate_core::audit::AuditEvent>> {
                let rows = sqlx::query_as::<_, $crate::rows::AuditRow>($crate::sql::LIST_AUDIT)
                    .bind(before)
                    .bind($crate::rows::clamp_limit(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| $crate::error::backend("list audit events", e))?;
                $crate::rows::convert_all(rows)
            }
        }
    };
}

pub(crate) use {bind_verification, impl_store};
