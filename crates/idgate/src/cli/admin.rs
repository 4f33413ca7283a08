//! `idgate admin token …`.

use anyhow::bail;
use clap::Subcommand;
use idgate_core::admin_token::{ADMIN_TOKEN_PREFIX, AdminToken};
use idgate_core::crypto::random_token;

use crate::cli::user::{audit, now};
use crate::runtime::Runtime;

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Admin API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; prints it once, on its own line.
    Create {
        #[arg(long)]
        name: String,
        /// Expire after this many days (default: never).
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// List tokens (never their values).
    List,
    /// Revoke a token by id or name.
    Revoke { id_or_name: String },
}

pub async fn run(command: AdminCommand, rt: &Runtime) -> anyhow::Result<()> {
    let AdminCommand::Token { command } = command;
    match command {
        TokenCommand::Create {
            name,
            expires_in_days,
        } => {
            let name = name.trim().to_string();
            if name.is_empty() || name.len() > 64 {
                bail!("--name must be 1–64 characters");
            }
            let token = format!("{ADMIN_TOKEN_PREFIX}{}", random_token(32)?);
            let now = now();
            let record = AdminToken {
                id: idgate_core::new_id(),
                name: name.clone(),
                token_hash: rt.keys.token_hash(&token),
                created_at: now,
                expires_at: expires_in_days.map(|d| now + i64::from(d) * 86_400),
                last_used_at: None,
                revoked_at: None,
            };
            rt.store.create_admin_token(&record).await?;
            audit(
                rt,
                "admin_token.created",
                &record.id,
                serde_json::json!({"name": name}),
            )
            .await;
            eprintln!("Admin token \"{name}\" created; it is shown only now:");
            println!("{token}");
        }
        TokenCommand::List => {
            let now = now();
            println!("{:<38} {:<20} {:<8} EXPIRES", "ID", "NAME", "STATE");
            for t in rt.store.list_admin_tokens().await? {
                let state = if t.revoked_at.is_some() {
                    "revoked"
                } else if t.is_usable(now) {
                    "active"
                } else {
                    "expired"
                };
                println!(
                    "{:<38} {:<20} {:<8} {}",
                    t.id,
                    t.name,
                    state,
                    t.expires_at
                        .map(|e| e.to_string())
                        .unwrap_or_else(|| "never".into())
                );
            }
        }
        TokenCommand::Revoke { id_or_name } => {
            if !rt.store.revoke_admin_token(&id_or_name, now()).await? {
                bail!("no active admin token with id or name \"{id_or_name}\"");
            }
            audit(
                rt,
                "admin_token.revoked",
                &id_or_name,
                serde_json::json!({}),
            )
            .await;
            println!("revoked {id_or_name}");
        }
    }
    Ok(())
}
