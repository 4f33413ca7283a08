//! `AdminStore`, written once and instantiated per pool type (like `store_impl.rs`).

macro_rules! impl_admin_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl idgate_core::store::AdminStore for $store {
            async fn search_users(
                &self,
                query: Option<&str>,
                page: &idgate_core::store::Page,
            ) -> idgate_core::store::StoreResult<Vec<idgate_core::user::User>> {
                let pattern = query
                    .map(str::trim)
                    .filter(|q| !q.is_empty())
                    .map(idgate_core::store::contains_pattern);
                let rows =
                    sqlx::query_as::<_, $crate::rows::UserRow>($crate::admin_sql::SEARCH_USERS)
                        .bind(pattern)
                        .bind(page.after.as_deref().map(idgate_core::user::username_key))
                        .bind($crate::rows::clamp_limit(page.limit))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(|e| $crate::error::backend("search users", e))?;
                $crate::rows::convert_all(rows)
            }

            async fn list_audit_filtered(
                &self,
                f: &idgate_core::store::AuditFilter,
            ) -> idgate_core::store::StoreResult<Vec<idgate_core::audit::AuditEvent>> {
                let rows = sqlx::query_as::<_, $crate::rows::AuditRow>(
                    $crate::admin_sql::LIST_AUDIT_FILTERED,
                )
                .bind(
                    f.action_prefix
                        .as_deref()
                        .map(idgate_core::store::prefix_pattern),
                )
                .bind(f.actor.as_deref())
                .bind(f.target.as_deref())
                .bind(f.since)
                .bind(f.before.as_deref())
                .bind($crate::rows::clamp_limit(f.limit))
                .fetch_all(&self.pool)
                .await
                .map_err(|e| $crate::error::backend("list audit events", e))?;
                $crate::rows::convert_all(rows)
            }

            async fn admin_counts(
                &self,
                since: idgate_core::UnixTime,
            ) -> idgate_core::store::StoreResult<idgate_core::store::AdminCounts> {
                let count =
                    |sql: &'static str| sqlx::query_scalar::<_, i64>(sql).fetch_one(&self.pool);
                let users = count($crate::admin_sql::COUNT_USERS)
                    .await
                    .map_err(|e| $crate::error::backend("count users", e))?;
                let applications = count($crate::admin_sql::COUNT_APPLICATIONS)
                    .await
                    .map_err(|e| $crate::error::backend("count applications", e))?;
                let sign_ins = sqlx::query_scalar::<_, i64>($crate::admin_sql::COUNT_SIGN_INS)
                    .bind(since)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(|e| $crate::error::backend("count sign-ins", e))?;
                let mut verifications: Vec<(String, i64)> = Vec::new();
                for sql in [
                    $crate::admin_sql::VERIFICATIONS_BY_STATUS,
                    $crate::admin_sql::HISTORY_BY_STATUS,
                ] {
                    let rows = sqlx::query_as::<_, (String, i64)>(sql)
                        .bind(since)
                        .fetch_all(&self.pool)
                        .await
                        .map_err(|e| $crate::error::backend("count verifications", e))?;
                    for (status, n) in rows {
                        match verifications.iter_mut().find(|(s, _)| *s == status) {
                            Some(entry) => entry.1 += n,
                            None => verifications.push((status, n)),
                        }
                    }
                }
                verifications.sort();
                let messages = sqlx::query_as::<_, (String, String, String, i64)>(
                    $crate::admin_sql::MESSAGES_BY_PROVIDER,
                )
                .bind(since)
                .fetch_all(&self.pool)
                .await
                .map_err(|e| $crate::error::backend("count messages", e))?;
                Ok(idgate_core::store::AdminCounts {
                    users,
                    applications,
                    sign_ins,
                    verifications,
                    messages,
                })
            }

            async fn touch_admin_token(
                &self,
                id: &str,
                now: idgate_core::UnixTime,
            ) -> idgate_core::store::StoreResult<()> {
                sqlx::query($crate::admin_sql::TOUCH_ADMIN_TOKEN)
                    .bind(id)
                    .bind(now)
                    .execute(&self.writer)
                    .await
                    .map(|_| ())
                    .map_err(|e| $crate::error::backend("touch admin token", e))
            }

            async fn list_settings(
                &self,
                prefix: &str,
            ) -> idgate_core::store::StoreResult<Vec<(String, serde_json::Value)>> {
                let rows: Vec<(String, String)> = sqlx::query_as($crate::admin_sql::LIST_SETTINGS)
                    .bind(prefix)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| $crate::error::backend("list settings", e))?;
                rows.into_iter()
                    .map(|(k, v)| {
                        serde_json::from_str(&v).map(|v| (k, v)).map_err(|e| {
                            idgate_core::store::StoreError::Corrupt(format!("settings.value: {e}"))
                        })
                    })
                    .collect()
            }

            async fn delete_setting(&self, key: &str) -> idgate_core::store::StoreResult<bool> {
                let gone = sqlx::query($crate::admin_sql::DELETE_SETTING)
                    .bind(key)
                    .execute(&self.writer)
                    .await
                    .map(|d| d.rows_affected() > 0)
                    .map_err(|e| $crate::error::backend("delete setting", e))?;
                self.settings_cache.put(key, None);
                Ok(gone)
            }
        }
    };
}

pub(crate) use impl_admin_store;
