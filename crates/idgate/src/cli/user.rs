//! `idgate user …`.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use idgate_core::audit::AuditEvent;
use idgate_core::password::hash_password;
use idgate_core::phone::PhoneNumber;
use idgate_core::store::Page;
use idgate_core::user::{NewUser, User, UserStatus, Username};

use crate::cli::password_input::read_new_password;
use crate::runtime::Runtime;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. The password is prompted for, or read from standard input.
    Add(AddArgs),
    /// List users.
    List {
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Show one user.
    Show { username: String },
    /// Set (or replace) a user's mobile number.
    SetMobile {
        username: String,
        /// E.164 (+14155550100) or national with phone.default_region set.
        mobile: String,
        /// Mark the number as verified (only if you know it belongs to the user).
        #[arg(long)]
        verified: bool,
    },
    /// Set a user's password (prompted for, or read from standard input).
    SetPassword { username: String },
    /// Lock a user (until unlocked, or for --minutes).
    Lock {
        username: String,
        #[arg(long)]
        minutes: Option<u32>,
    },
    /// Unlock a user (also resets its failed-attempt and password counters; a disabled
    /// user stays disabled).
    Unlock { username: String },
    /// Delete a user.
    Delete { username: String },
}

#[derive(Debug, Args)]
pub struct AddArgs {
    #[arg(long)]
    pub username: String,
    /// E.164 (+14155550100) or national with phone.default_region set.
    #[arg(long)]
    pub mobile: Option<String>,
    /// Mark the number as verified (only if you know it belongs to the user).
    #[arg(long)]
    pub mobile_verified: bool,
    /// Make the user an administrator (console access).
    #[arg(long)]
    pub admin: bool,
    #[arg(long)]
    pub display_name: Option<String>,
    /// A user who signs in without a password (SMS code only).
    #[arg(long)]
    pub no_password: bool,
}

pub async fn run(command: UserCommand, rt: &Runtime) -> anyhow::Result<()> {
    let region = rt.config.phone.default_region.as_deref();
    let now = now();
    match command {
        UserCommand::Add(a) => {
            let username = Username::parse(&a.username).context("--username")?;
            let mobile = a
                .mobile
                .as_deref()
                .map(|m| PhoneNumber::parse(m, region))
                .transpose()
                .context("--mobile")?;
            if a.mobile_verified && mobile.is_none() {
                bail!("--mobile-verified needs --mobile");
            }
            let password_hash = if a.no_password {
                None
            } else {
                let pw = read_new_password()?;
                Some(hash_password(&pw, &rt.config.password)?)
            };
            let user = rt
                .store
                .create_user(
                    &NewUser {
                        username,
                        password_hash,
                        mobile,
                        mobile_verified: a.mobile_verified,
                        display_name: a.display_name,
                        locale: None,
                        is_admin: a.admin,
                    },
                    now,
                )
                .await?;
            audit(
                rt,
                "user.created",
                &user.id,
                serde_json::json!({"username": user.username, "admin": user.is_admin}),
            )
            .await;
            println!("created user {} (id {})", user.username, user.id);
            if let Some(m) = &user.mobile {
                println!(
                    "mobile: {} ({})",
                    m.as_str(),
                    if user.mobile_verified {
                        "verified"
                    } else {
                        "not verified"
                    }
                );
            }
        }
        UserCommand::List { limit } => {
            let users = rt.store.list_users(&Page { limit, after: None }).await?;
            println!(
                "{:<24} {:<10} {:<16} {:<6} ID",
                "USERNAME", "STATUS", "MOBILE", "ADMIN"
            );
            for u in users {
                println!(
                    "{:<24} {:<10} {:<16} {:<6} {}",
                    u.username,
                    u.status.as_str(),
                    u.mobile
                        .as_ref()
                        .map(|m| m.masked())
                        .unwrap_or_else(|| "-".into()),
                    if u.is_admin { "yes" } else { "no" },
                    u.id
                );
            }
        }
        UserCommand::Show { username } => {
            let u = find(rt, &username).await?;
            println!("id:              {}", u.id);
            println!("username:        {}", u.username);
            println!(
                "display name:    {}",
                u.display_name.as_deref().unwrap_or("-")
            );
            println!(
                "mobile:          {}",
                u.mobile.as_ref().map(|m| m.as_str()).unwrap_or("-")
            );
            println!("mobile verified: {}", u.mobile_verified);
            println!("status:          {}", u.status.as_str());
            if let Some(t) = u.locked_until {
                println!("locked until:    {t} (unix)");
            }
            println!("admin:           {}", u.is_admin);
            println!(
                "password:        {}",
                if u.password_hash.is_some() {
                    "set"
                } else {
                    "none"
                }
            );
        }
        UserCommand::SetMobile {
            username,
            mobile,
            verified,
        } => {
            let mut u = find(rt, &username).await?;
            let m = PhoneNumber::parse(&mobile, region).context("mobile")?;
            println!(
                "mobile set to {} ({})",
                m.as_str(),
                if verified { "verified" } else { "not verified" }
            );
            u.mobile = Some(m);
            u.mobile_verified = verified;
            u.updated_at = now;
            rt.store.update_user(&u).await?;
            audit(
                rt,
                "user.mobile_set",
                &u.id,
                serde_json::json!({"verified": verified}),
            )
            .await;
        }
        UserCommand::SetPassword { username } => {
            let mut u = find(rt, &username).await?;
            let pw = read_new_password()?;
            u.password_hash = Some(hash_password(&pw, &rt.config.password)?);
            u.updated_at = now;
            rt.store.update_user(&u).await?;
            audit(rt, "user.password_set", &u.id, serde_json::json!({})).await;
            println!("password updated for {}", u.username);
        }
        UserCommand::Lock { username, minutes } => {
            let mut u = find(rt, &username).await?;
            u.status = UserStatus::Locked;
            u.locked_until = minutes.map(|m| now + i64::from(m) * 60);
            u.updated_at = now;
            rt.store.update_user(&u).await?;
            audit(
                rt,
                "user.locked",
                &u.id,
                serde_json::json!({"minutes": minutes}),
            )
            .await;
            match minutes {
                Some(m) => println!("{} locked for {m} minutes", u.username),
                None => println!("{} locked until unlocked", u.username),
            }
        }
        UserCommand::Unlock { username } => {
            let mut u = find(rt, &username).await?;
            // Also resets the failure, lock-repeat and password counters (limits).
            idgate_core::limits::unlock_user(rt.store.as_ref(), &rt.keys, &mut u, now).await?;
            audit(rt, "user.unlocked", &u.id, serde_json::json!({})).await;
            println!("{} unlocked", u.username);
        }
        UserCommand::Delete { username } => {
            let u = find(rt, &username).await?;
            rt.store.delete_user(&u.id).await?;
            audit(
                rt,
                "user.deleted",
                &u.id,
                serde_json::json!({"username": u.username}),
            )
            .await;
            println!("deleted {}", u.username);
        }
    }
    Ok(())
}

async fn find(rt: &Runtime, username: &str) -> anyhow::Result<User> {
    rt.store
        .find_user_by_username(username)
        .await?
        .with_context(|| format!("no user named \"{username}\" (see `idgate user list`)"))
}

pub fn now() -> i64 {
    use idgate_core::clock::{Clock, SystemClock};
    SystemClock.now()
}

/// Records a CLI change in the audit log (best effort; a failure is reported).
pub async fn audit(rt: &Runtime, action: &str, target: &str, details: serde_json::Value) {
    let event = AuditEvent {
        id: idgate_core::new_id(),
        at: now(),
        actor: "cli".into(),
        action: action.into(),
        target: Some(target.into()),
        details,
    };
    if let Err(e) = rt.store.insert_audit(&event).await {
        eprintln!("warning: could not record the audit event: {e}");
    }
}
