//! Users: who signs in.

use serde::{Deserialize, Serialize};

use crate::UnixTime;
use crate::phone::PhoneNumber;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserStatus {
    Active,
    /// Locked after failed attempts or by an admin; `locked_until` says until when
    /// (`None` = until an admin unlocks).
    Locked,
    Disabled,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Locked => "locked",
            Self::Disabled => "disabled",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "active" => Self::Active,
            "locked" => Self::Locked,
            "disabled" => Self::Disabled,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    /// As the user typed it; uniqueness is case-insensitive (see [`Username::key`]).
    pub username: String,
    pub password_hash: Option<String>,
    pub mobile: Option<PhoneNumber>,
    pub mobile_verified: bool,
    pub display_name: Option<String>,
    pub locale: Option<String>,
    pub status: UserStatus,
    pub locked_until: Option<UnixTime>,
    pub is_admin: bool,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

impl User {
    /// Whether the account may sign in at `now` (a lock with a past `locked_until` has
    /// lapsed).
    pub fn is_locked(&self, now: UnixTime) -> bool {
        match self.status {
            UserStatus::Active => false,
            UserStatus::Disabled => true,
            UserStatus::Locked => self.locked_until.is_none_or(|t| t > now),
        }
    }
}

/// A validated username.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    #[error("username is empty")]
    Empty,
    #[error("username is longer than 64 characters")]
    TooLong,
    #[error(
        "username contains {0:?}: use letters, digits and . _ - @ + only (no spaces or control characters)"
    )]
    BadChar(char),
}

impl Username {
    pub fn parse(input: &str) -> Result<Self, UsernameError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(UsernameError::Empty);
        }
        if s.chars().count() > 64 {
            return Err(UsernameError::TooLong);
        }
        if let Some(c) = s
            .chars()
            .find(|c| !(c.is_alphanumeric() || "._-@+".contains(*c)))
        {
            return Err(UsernameError::BadChar(c));
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The uniqueness key: case-folded, so `Alice` and `alice` are one user.
    pub fn key(&self) -> String {
        username_key(&self.0)
    }
}

pub fn username_key(s: &str) -> String {
    s.trim().to_lowercase()
}

/// What creating a user needs.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: Username,
    pub password_hash: Option<String>,
    pub mobile: Option<PhoneNumber>,
    pub mobile_verified: bool,
    pub display_name: Option<String>,
    pub locale: Option<String>,
    pub is_admin: bool,
}
