//! `DeliveryStore`, written once and instantiated per pool type (see `store_impl.rs`).
//! The SQL and rows are in `delivery_sql.rs`.

/// Appends a message's values, in `INSERT_MESSAGE`'s column order.
macro_rules! bind_message {
    ($query:expr, $m:expr) => {
        $query
            .bind(&$m.id)
            .bind($m.verification_id.as_deref())
            .bind($m.channel.as_str())
            .bind(&$m.provider)
            .bind(&$m.to_masked)
            .bind(&$m.body_redacted)
            .bind($m.status.as_str())
            .bind($m.provider_message_id.as_deref())
            .bind($m.error.as_deref())
            .bind(i64::from($m.attempts))
            .bind($m.latency_ms.map(i64::from))
            .bind($m.created_at)
            .bind($m.updated_at)
    };
}

/// Appends a delivery attempt's values, in `INSERT_ATTEMPT`'s column order.
macro_rules! bind_attempt {
    ($query:expr, $a:expr) => {
        $query
            .bind(&$a.message_id)
            .bind(i64::from($a.seq))
            .bind($a.channel.as_str())
            .bind($a.provider_id.as_deref())
            .bind(&$a.provider)
            .bind($a.http_status.map(i64::from))
            .bind($a.provider_message_id.as_deref())
            .bind($a.error.as_deref())
            .bind(i64::from($a.latency_ms))
            .bind($a.at)
    };
}

macro_rules! impl_delivery_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl idgate_core::store::DeliveryStore for $store {
            async fn create_provider(
                &self,
                p: &idgate_core::provider_config::ProviderRecord,
            ) -> idgate_core::store::StoreResult<()> {
                let settings = $crate::delivery_sql::settings_json(p)?;
                sqlx::query($crate::delivery_sql::INSERT_PROVIDER)
                    .bind(&p.id)
                    .bind(p.channel.as_str())
                    .bind(&p.name)
                    .bind(p.kind.as_str())
                    .bind(p.position)
                    .bind(p.enabled)
                    .bind(settings)
                    .bind(&p.secrets_ciphertext)
                    .bind(p.created_at)
                    .bind(p.updated_at)
                    .execute(&self.writer)
                    .await
                    .map_err(|e| {
                        $crate::error::write("create provider", e, || {
                            format!("{} provider {:?}", p.channel, p.name)
                        })
                    })?;
                Ok(())
            }

            async fn get_provider(
                &self,
                id: &str,
            ) -> idgate_core::store::StoreResult<Option<idgate_core::provider_config::ProviderRecord>>
            {
                sqlx::query_as::<_, $crate::delivery_sql::ProviderRow>(
                    $crate::delivery_sql::GET_PROVIDER,
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| $crate::error::backend("get provider", e))?
                .map(TryInto::try_into)
                .transpose()
            }

            async fn list_providers(
                &self,
                channel: Option<idgate_core::otp::Channel>,
            ) -> idgate_core::store::StoreResult<Vec<idgate_core::provider_config::ProviderRecord>>
            {
                let rows = sqlx::query_as::<_, $crate::delivery_sql::ProviderRow>(
                    $crate::delivery_sql::LIST_PROVIDERS,
                )
                .bind(channel.map(|c| c.as_str()))
                .fetch_all(&self.pool)
                .await
                .map_err(|e| $crate::error::backend("list providers", e))?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn update_provider(
                &self,
                p: &idgate_core::provider_config::ProviderRecord,
            ) -> idgate_core::store::StoreResult<()> {
                let settings = $crate::delivery_sql::settings_json(p)?;
                let done = sqlx::query($crate::delivery_sql::UPDATE_PROVIDER)
                    .bind(&p.id)
                    .bind(&p.name)
                    .bind(p.position)
                    .bind(p.enabled)
                    .bind(settings)
                    .bind(&p.secrets_ciphertext)
                    .bind(p.updated_at)
                    .execute(&self.writer)
                    .await
                    .map_err(|e| {
                        $crate::error::write("update provider", e, || {
                            format!("{} provider {:?}", p.channel, p.name)
                        })
                    })?;
                if done.rows_affected() == 0 {
                    return Err(idgate_core::store::StoreError::NotFound(format!(
                        "provider {:?}",
                        p.id
                    )));
                }
                Ok(())
            }

            async fn delete_provider(&self, id: &str) -> idgate_core::store::StoreResult<bool> {
                let done = sqlx::query($crate::delivery_sql::DELETE_PROVIDER)
                    .bind(id)
                    .execute(&self.writer)
                    .await
                    .map_err(|e| $crate::error::backend("delete provider", e))?;
                Ok(done.rows_affected() > 0)
            }

            async fn reorder_providers(
                &self,
                channel: idgate_core::otp::Channel,
                ids: &[String],
                now: idgate_core::UnixTime,
            ) -> idgate_core::store::StoreResult<()> {
                let fail = |e| $crate::error::backend("reorder providers", e);
                let mut tx = self.writer.begin().await.map_err(fail)?;
                for (position, id) in ids.iter().enumerate() {
                    let done = sqlx::query($crate::delivery_sql::SET_PROVIDER_POSITION)
                        .bind(id)
                        .bind(channel.as_str())
                        .bind(i64::try_from(position).unwrap_or(i64::MAX))
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .map_err(fail)?;
                    if done.rows_affected() == 0 {
                        // Dropping the transaction rolls it back.
                        return Err(idgate_core::store::StoreError::NotFound(format!(
                            "{channel} provider {id:?}"
                        )));
                    }
                }
                tx.commit().await.map_err(fail)
            }

            async fn record_message(
                &self,
                m: &idgate_core::message::MessageRecord,
                attempts: &[idgate_core::provider_config::MessageAttempt],
            ) -> idgate_core::store::StoreResult<()> {
                let fail = |e| $crate::error::backend("record message", e);
                if let Some(direct) = self.direct() {
                    let message = $crate::delivery_impl::bind_message!(
                        $crate::sqlite_direct::query($crate::delivery_sql::INSERT_MESSAGE),
                        m
                    );
                    let attempts: Vec<_> = attempts
                        .iter()
                        .map(|a| {
                            $crate::delivery_impl::bind_attempt!(
                                $crate::sqlite_direct::query($crate::delivery_sql::INSERT_ATTEMPT),
                                a
                            )
                        })
                        .collect();
                    return direct
                        .write(move |c| {
                            message.execute(c)?;
                            attempts.iter().try_for_each(|a| a.execute(c).map(|_| ()))
                        })
                        .await
                        .map_err(|e| {
                            $crate::sqlite_direct::write("record message", e, || {
                                format!("message {:?}", m.id)
                            })
                        });
                }
                let mut tx = self.writer.begin().await.map_err(fail)?;
                $crate::delivery_impl::bind_message!(
                    sqlx::query($crate::delivery_sql::INSERT_MESSAGE),
                    m
                )
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| {
                        $crate::error::write("record message", e, || format!("message {:?}", m.id))
                    })?;
                for a in attempts {
                    $crate::delivery_impl::bind_attempt!(
                        sqlx::query($crate::delivery_sql::INSERT_ATTEMPT),
                        a
                    )
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| {
                            $crate::error::write("record message attempt", e, || {
                                format!("attempt {} of message {:?}", a.seq, a.message_id)
                            })
                        })?;
                }
                tx.commit().await.map_err(fail)
            }

            async fn list_message_attempts(
                &self,
                message_id: &str,
            ) -> idgate_core::store::StoreResult<Vec<idgate_core::provider_config::MessageAttempt>>
            {
                let rows = sqlx::query_as::<_, $crate::delivery_sql::AttemptRow>(
                    $crate::delivery_sql::LIST_ATTEMPTS,
                )
                .bind(message_id)
                .fetch_all(&self.pool)
                .await
                .map_err(|e| $crate::error::backend("list message attempts", e))?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn find_message_by_provider_id(
                &self,
                channel: idgate_core::otp::Channel,
                provider: &str,
                provider_message_id: &str,
            ) -> idgate_core::store::StoreResult<Option<idgate_core::message::MessageRecord>> {
                sqlx::query_as::<_, $crate::rows::MessageRow>(
                    $crate::delivery_sql::FIND_MESSAGE_BY_PROVIDER_ID,
                )
                .bind(channel.as_str())
                .bind(provider)
                .bind(provider_message_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| $crate::error::backend("find message by provider id", e))?
                .map(TryInto::try_into)
                .transpose()
            }

            async fn set_message_status(
                &self,
                id: &str,
                status: idgate_core::message::DeliveryStatus,
                error: Option<&str>,
                now: idgate_core::UnixTime,
            ) -> idgate_core::store::StoreResult<bool> {
                let done = sqlx::query($crate::delivery_sql::SET_MESSAGE_STATUS)
                    .bind(id)
                    .bind($crate::delivery_sql::status_str(status))
                    .bind(error)
                    .bind(now)
                    .execute(&self.writer)
                    .await
                    .map_err(|e| $crate::error::backend("set message status", e))?;
                Ok(done.rows_affected() > 0)
            }
        }
    };
}

pub(crate) use {bind_attempt, bind_message, impl_delivery_store};
