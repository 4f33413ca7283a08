//! Storage for delivery: configured providers (secrets encrypted), the message log with
//! every attempt, and delivery-report updates.

use async_trait::async_trait;

use crate::UnixTime;
use crate::message::{DeliveryStatus, MessageRecord};
use crate::otp::Channel;
use crate::provider_config::{MessageAttempt, ProviderRecord};
use crate::store::StoreResult;

#[async_trait]
pub trait DeliveryStore: Send + Sync {
    // Providers

    /// `Conflict` when the channel already has a provider of that name.
    async fn create_provider(&self, p: &ProviderRecord) -> StoreResult<()>;
    async fn get_provider(&self, id: &str) -> StoreResult<Option<ProviderRecord>>;
    /// A channel's providers (all channels when `None`), in failover order
    /// (position, then name).
    async fn list_providers(&self, channel: Option<Channel>) -> StoreResult<Vec<ProviderRecord>>;
    /// Writes every mutable field (name, position, enabled, settings, secrets, updated_at)
    /// of the provider matched by id. `NotFound` if it is gone, `Conflict` on a name clash.
    async fn update_provider(&self, p: &ProviderRecord) -> StoreResult<()>;
    async fn delete_provider(&self, id: &str) -> StoreResult<bool>;
    /// Sets the failover order of a channel in one transaction: `ids[0]` gets position 0,
    /// and so on. `NotFound` (and nothing changed) if an id is not a provider of `channel`.
    async fn reorder_providers(
        &self,
        channel: Channel,
        ids: &[String],
        now: UnixTime,
    ) -> StoreResult<()>;

    // Message log

    /// Records a message and its attempts in one transaction.
    async fn record_message(
        &self,
        message: &MessageRecord,
        attempts: &[MessageAttempt],
    ) -> StoreResult<()>;
    /// A message's attempts, in order.
    async fn list_message_attempts(&self, message_id: &str) -> StoreResult<Vec<MessageAttempt>>;
    /// The message a provider knows as `provider_message_id` (for delivery reports).
    async fn find_message_by_provider_id(
        &self,
        channel: Channel,
        provider: &str,
        provider_message_id: &str,
    ) -> StoreResult<Option<MessageRecord>>;
    /// Sets a message's delivery status (and an error text for failures). True if the
    /// message exists.
    async fn set_message_status(
        &self,
        id: &str,
        status: DeliveryStatus,
        error: Option<&str>,
        now: UnixTime,
    ) -> StoreResult<bool>;
}
