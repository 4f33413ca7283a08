//! `LimitStore`, written once and instantiated per pool type (see `store_impl.rs`). The
//! SQL is in `limits_sql.rs`.

/// A counter row as both backends return it.
#[derive(sqlx::FromRow)]
pub(crate) struct CounterRow {
    pub count: i64,
    pub resets_at: i64,
    pub updated_at: i64,
}

impl From<CounterRow> for idgate_core::store::Counter {
    fn from(r: CounterRow) -> Self {
        Self {
            count: r.count,
            resets_at: r.resets_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct BlockRow {
    pub key: String,
    pub until: i64,
    pub reason: String,
    pub created_at: i64,
}

macro_rules! impl_limit_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl idgate_core::store::LimitStore for $store {
            async fn take(
                &self,
                key: &str,
                cost: i64,
                max: i64,
                window_secs: i64,
                now: idgate_core::UnixTime,
            ) -> idgate_core::store::StoreResult<idgate_core::store::Take> {
                let row =
                    sqlx::query_as::<_, $crate::limits_impl::CounterRow>($crate::limits_sql::TAKE)
                        .bind(key)
                        .bind(cost)
                        .bind(now)
                        .bind(now.saturating_add(window_secs.max(1)))
                        .bind(max)
                        .fetch_optional(&self.writer)
                        .await
                        .map_err(|e| $crate::error::backend("take from a limit counter", e))?;
                match row {
                    Some(r) => Ok(idgate_core::store::Take::Taken(r.into())),
                    None => Ok(idgate_core::store::Take::Refused(
                        idgate_core::store::LimitStore::peek(self, key, now).await?,
                    )),
                }
            }

            async fn peek(
                &self,
                key: &str,
                now: idgate_core::UnixTime,
            ) -> idgate_core::store::StoreResult<Option<idgate_core::store::Counter>> {
                Ok(
                    sqlx::query_as::<_, $crate::limits_impl::CounterRow>($crate::limits_sql::PEEK)
                        .bind(key)
                        .bind(now)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(|e| $crate::error::backend("read a limit counter", e))?
                        .map(Into::into),
                )
            }

            async fn reset_counters(
                &self,
                keys: &[String],
            ) -> idgate_core::store::StoreResult<u64> {
                let mut n = 0;
                for key in keys {
                    n += sqlx::query($crate::limits_sql::RESET)
                        .bind(key)
                        .execute(&self.writer)
                        .await
                        .map_err(|e| $crate::error::backend("reset a limit counter", e))?
                        .rows_affected();
                }
                Ok(n)
            }

            async fn add_member(
                &self,
                set: &str,
                member: &str,
                now: idgate_core::UnixTime,
                expires_at: idgate_core::UnixTime,
            ) -> idgate_core::store::StoreResult<i64> {
                sqlx::query($crate::limits_sql::ADD_MEMBER)
                    .bind(set)
                    .bind(member)
                    .bind(expires_at)
                    .execute(&self.writer)
                    .await
                    .map_err(|e| $crate::error::backend("add a limit set member", e))?;
                sqlx::query_scalar::<_, i64>($crate::limits_sql::COUNT_MEMBERS)
                    .bind(set)
                    .bind(now)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(|e| $crate::error::backend("count limit set members", e))
            }

            async fn block(
                &self,
                key: &str,
                until: idgate_core::UnixTime,
                reason: &str,
                now: idgate_core::UnixTime,
            ) -> idgate_core::store::StoreResult<bool> {
                sqlx::query_scalar::<_, String>($crate::limits_sql::BLOCK)
                    .bind(key)
                    .bind(until)
                    .bind(reason)
                    .bind(now)
                    .fetch_optional(&self.writer)
                    .await
                    .map(|r| r.is_some())
                    .map_err(|e| $crate::error::backend("block", e))
            }

            async fn blocked_until(
                &self,
                key: &str,
                now: idgate_core::UnixTime,
            ) -> idgate_core::store::StoreResult<Option<idgate_core::UnixTime>> {
                sqlx::query_scalar::<_, i64>($crate::limits_sql::BLOCKED_UNTIL)
                    .bind(key)
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| $crate::error::backend("read a block", e))
            }

            async fn list_blocks(
                &self,
                now: idgate_core::UnixTime,
            ) -> idgate_core::store::StoreResult<Vec<idgate_core::store::Block>> {
                Ok(sqlx::query_as::<_, $crate::limits_impl::BlockRow>(
                    $crate::limits_sql::LIST_BLOCKS,
                )
                .bind(now)
                .fetch_all(&self.pool)
                .await
                .map_err(|e| $crate::error::backend("list blocks", e))?
                .into_iter()
                .map(|r| idgate_core::store::Block {
                    key: r.key,
                    until: r.until,
                    reason: r.reason,
                    created_at: r.created_at,
                })
                .collect())
            }

            async fn unblock(&self, key: &str) -> idgate_core::store::StoreResult<bool> {
                sqlx::query($crate::limits_sql::UNBLOCK)
                    .bind(key)
                    .execute(&self.writer)
                    .await
                    .map(|d| d.rows_affected() > 0)
                    .map_err(|e| $crate::error::backend("unblock", e))
            }

            async fn sweep_limits(
                &self,
                now: idgate_core::UnixTime,
            ) -> idgate_core::store::StoreResult<u64> {
                let mut n = 0;
                for sql in [
                    $crate::limits_sql::SWEEP_COUNTERS,
                    $crate::limits_sql::SWEEP_MEMBERS,
                    $crate::limits_sql::SWEEP_BLOCKS,
                ] {
                    n += sqlx::query(sql)
                        .bind(now)
                        .execute(&self.writer)
                        .await
                        .map_err(|e| $crate::error::backend("sweep limits", e))?
                        .rows_affected();
                }
                Ok(n)
            }
        }
    };
}

pub(crate) use impl_limit_store;
