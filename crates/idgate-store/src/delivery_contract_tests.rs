//! The `DeliveryStore` contract, run on SQLite and (with `IDGATE_TEST_DATABASE_URL`) on
//! PostgreSQL in a fresh schema — the same pattern as `contract_tests.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::sync::Arc;

use idgate_core::message::{DeliveryStatus, MessageRecord};
use idgate_core::new_id;
use idgate_core::otp::Channel;
use idgate_core::provider_config::{MessageAttempt, ProviderKind, ProviderRecord};
use idgate_core::store::{Store, StoreError};
use serde_json::json;
use sqlx::AssertSqlSafe;

use crate::{PostgresStore, SqliteStore};

const PG_URL_VAR: &str = "IDGATE_TEST_DATABASE_URL";
const NOW: i64 = 1_800_000_000;

async fn on_each_backend<F, Fut>(test: &str, body: F)
where
    F: Fn(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(&dir.path().join("idgate.db"), 4)
        .await
        .unwrap();
    sqlite.migrate().await.unwrap();
    let outcome = tokio::spawn(body(Arc::new(sqlite.clone()))).await;
    sqlite.close().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
    let Ok(url) = std::env::var(PG_URL_VAR) else {
        return;
    };
    let schema = format!("idgate_test_{}", uuid::Uuid::new_v4().simple());
    let pg = PostgresStore::connect(&url, 4, Some(&schema))
        .await
        .unwrap();
    pg.migrate().await.unwrap();
    let outcome = tokio::spawn(body(Arc::new(pg.clone()))).await;
    let drop = format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
    let _ = sqlx::query(AssertSqlSafe(drop)).execute(pg.pool()).await;
    pg.close().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
    eprintln!("contract[postgres] {test} ok");
}

fn provider(channel: Channel, name: &str, position: i64) -> ProviderRecord {
    ProviderRecord {
        id: new_id(),
        channel,
        name: name.into(),
        kind: ProviderKind::D7Sms,
        position,
        enabled: true,
        settings: json!({"originator": "SignOTP", "data_coding": "auto"}),
        secrets_ciphertext: vec![1, 2, 3, 0, 255],
        created_at: NOW,
        updated_at: NOW,
    }
}

fn message(provider: &str, pmid: &str) -> MessageRecord {
    MessageRecord {
        id: new_id(),
        verification_id: Some(new_id()),
        channel: Channel::Sms,
        provider: provider.into(),
        to_masked: "+1415•••••00".into(),
        body_redacted: "Your code is ••••••".into(),
        status: DeliveryStatus::Sent,
        provider_message_id: Some(pmid.into()),
        error: None,
        attempts: 3,
        latency_ms: Some(12),
        created_at: NOW,
        updated_at: NOW,
    }
}

#[tokio::test]
async fn providers_crud_order_and_uniqueness() {
    on_each_backend("providers_crud", |s| async move {
        let a = provider(Channel::Sms, "primary", 1);
        let b = provider(Channel::Sms, "backup", 0);
        let w = provider(Channel::Whatsapp, "primary", 0);
        for p in [&a, &b, &w] {
            s.create_provider(p).await.unwrap();
        }
        // The name is unique per channel, not across channels.
        let clash = provider(Channel::Sms, "primary", 5);
        assert!(matches!(
            s.create_provider(&clash).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(s.get_provider(&a.id).await.unwrap(), Some(a.clone()));
        assert_eq!(s.get_provider("nope").await.unwrap(), None);

        let sms = s.list_providers(Some(Channel::Sms)).await.unwrap();
        assert_eq!(
            sms.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            ["backup", "primary"]
        );
        assert_eq!(s.list_providers(None).await.unwrap().len(), 3);

        s.reorder_providers(Channel::Sms, &[a.id.clone(), b.id.clone()], NOW + 1)
            .await
            .unwrap();
        let sms = s.list_providers(Some(Channel::Sms)).await.unwrap();
        assert_eq!(sms[0].id, a.id);
        assert_eq!(sms[1].position, 1);
        // A provider of another channel cannot be ordered here, and nothing changes.
        assert!(matches!(
            s.reorder_providers(Channel::Sms, &[b.id.clone(), w.id.clone()], NOW + 2)
                .await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(
            s.list_providers(Some(Channel::Sms)).await.unwrap()[0].id,
            a.id
        );

        let mut changed = a.clone();
        changed.name = "renamed".into();
        changed.enabled = false;
        changed.settings = json!({"originator": "Other"});
        changed.secrets_ciphertext = vec![9; 40];
        changed.updated_at = NOW + 5;
        s.update_provider(&changed).await.unwrap();
        let got = s.get_provider(&a.id).await.unwrap().unwrap();
        assert_eq!(got.name, "renamed");
        assert!(!got.enabled);
        assert_eq!(got.settings, json!({"originator": "Other"}));
        assert_eq!(got.secrets_ciphertext, vec![9; 40]);
        assert_eq!(got.created_at, NOW);

        let mut clash = changed.clone();
        clash.name = "backup".into();
        assert!(matches!(
            s.update_provider(&clash).await,
            Err(StoreError::Conflict(_))
        ));
        let mut gone = changed.clone();
        gone.id = new_id();
        assert!(matches!(
            s.update_provider(&gone).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(s.delete_provider(&a.id).await.unwrap());
        assert!(!s.delete_provider(&a.id).await.unwrap());
        assert_eq!(s.list_providers(Some(Channel::Sms)).await.unwrap().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn messages_with_attempts_and_delivery_reports() {
    on_each_backend("message_attempts", |s| async move {
        let m = message("d7", "req-1");
        let attempts: Vec<MessageAttempt> = (1..=3)
            .map(|seq| MessageAttempt {
                message_id: m.id.clone(),
                seq,
                channel: Channel::Sms,
                provider_id: Some("p1".into()),
                provider: "d7".into(),
                http_status: Some(if seq < 3 { 500 } else { 200 }),
                provider_message_id: (seq == 3).then(|| "req-1".to_string()),
                error: (seq < 3).then(|| "HTTP 500".to_string()),
                latency_ms: 10 * seq,
                at: NOW,
            })
            .collect();
        s.record_message(&m, &attempts).await.unwrap();
        assert_eq!(s.get_message(&m.id).await.unwrap(), Some(m.clone()));
        assert_eq!(s.list_message_attempts(&m.id).await.unwrap(), attempts);
        assert!(s.list_message_attempts("nope").await.unwrap().is_empty());

        // A duplicate message id fails as a whole: no attempt rows are left behind.
        let mut again = m.clone();
        again.verification_id = None;
        let extra = MessageAttempt {
            seq: 9,
            ..attempts[0].clone()
        };
        assert!(s.record_message(&again, &[extra]).await.is_err());
        assert_eq!(s.list_message_attempts(&m.id).await.unwrap().len(), 3);

        let found = s
            .find_message_by_provider_id(Channel::Sms, "d7", "req-1")
            .await
            .unwrap();
        assert_eq!(found.map(|f| f.id), Some(m.id.clone()));
        for (ch, p, id) in [
            (Channel::Whatsapp, "d7", "req-1"),
            (Channel::Sms, "other", "req-1"),
            (Channel::Sms, "d7", "req-2"),
        ] {
            assert_eq!(
                s.find_message_by_provider_id(ch, p, id).await.unwrap(),
                None
            );
        }

        assert!(
            s.set_message_status(&m.id, DeliveryStatus::Delivered, None, NOW + 9)
                .await
                .unwrap()
        );
        let got = s.get_message(&m.id).await.unwrap().unwrap();
        assert_eq!(
            (got.status, got.updated_at),
            (DeliveryStatus::Delivered, NOW + 9)
        );
        assert_eq!(got.error, None);
        assert!(
            s.set_message_status(
                &m.id,
                DeliveryStatus::Undelivered,
                Some("not_reachable"),
                NOW
            )
            .await
            .unwrap()
        );
        let got = s.get_message(&m.id).await.unwrap().unwrap();
        assert_eq!(got.error.as_deref(), Some("not_reachable"));
        assert!(
            !s.set_message_status("nope", DeliveryStatus::Delivered, None, NOW)
                .await
                .unwrap()
        );
    })
    .await;
}
