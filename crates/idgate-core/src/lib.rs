//! idgate's domain: pure logic, no I/O. The world comes in through traits
//! ([`store::Store`], [`clock::Clock`]).

pub mod admin_token;
pub mod application;
pub mod audit;
pub mod clock;
pub mod crypto;
pub mod grant;
pub mod limits;
pub mod login;
pub mod message;
pub mod notifier;
pub mod otp;
pub mod password;
pub mod phone;
pub mod provider_config;
pub mod session;
pub mod signing_key;
pub mod store;
pub mod user;

/// Unix seconds. Every time idgate stores or compares is one of these.
pub type UnixTime = i64;

/// A new random identifier, time-ordered (UUIDv7) so indexes stay compact.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
