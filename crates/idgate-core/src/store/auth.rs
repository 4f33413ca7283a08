//! Storage for signing in: browser sessions, authorization codes, refresh tokens and
//! signing keys.

use async_trait::async_trait;

#[async_trait]
pub trait AuthStore: Send + Sync {}
