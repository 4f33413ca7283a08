//! Storage for delivery: configured providers (secrets encrypted), message updates and
//! delivery reports.

use async_trait::async_trait;

#[async_trait]
pub trait DeliveryStore: Send + Sync {}
