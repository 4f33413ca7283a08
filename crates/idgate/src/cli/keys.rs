//! `idgate keys …`: the OpenID Connect signing keys.
//!
//! `rotate` makes a new active key for each algorithm (ES256, RS256). The old keys stop
//! signing at once but stay in the JWKS until every token they signed has expired, so
//! relying parties never meet a token whose key they cannot fetch. Running servers pick
//! the new keys up within half a minute (their key-ring cache).

use anyhow::bail;
use clap::Subcommand;
use idgate_core::signing_key::KeyStatus;
use idgate_oidc::Lifetimes;
use idgate_oidc::keystore;

use crate::cli::user::{audit, now};
use crate::runtime::Runtime;

/// Beyond the longest token lifetime, how long an old key stays published: covers the
/// servers' key-ring cache (a node may sign with the old key for up to 30 s after a
/// rotation), clock skew and relying parties' JWKS caches.
pub const RETIRE_MARGIN_SECS: i64 = 600;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List the published signing keys (active and retired).
    List,
    /// Replace the active signing keys; the old ones stay in the JWKS until their
    /// tokens have expired.
    Rotate {
        /// How long the old public keys stay in the JWKS, in seconds. Default: the
        /// longest token lifetime plus a margin (3600 + 600, or longer when an
        /// application's tokens live longer).
        #[arg(long, value_name = "SECONDS")]
        keep_secs: Option<i64>,
    },
}

/// How long retired keys stay published by default (no application overrides).
pub fn default_keep_secs() -> i64 {
    Lifetimes::default().longest_signed() + RETIRE_MARGIN_SECS
}

/// The longest a signed token lives: the server's ID and access tokens, or any
/// application's longer override.
fn longest_signed(overrides: &idgate_core::application::TokenLifetimes) -> i64 {
    let server = Lifetimes::default().longest_signed();
    [overrides.id_token, overrides.access_token]
        .into_iter()
        .flatten()
        .fold(server, i64::max)
}

pub async fn run(command: KeysCommand, rt: &Runtime) -> anyhow::Result<()> {
    match command {
        KeysCommand::List => {
            let now = now();
            // First start creates the keys; `list` before it shows them too.
            keystore::ensure_keys(rt.store.as_ref(), &rt.keys, now).await?;
            println!("{:<8} {:<8} {:<45} RETIRED UNTIL", "ALG", "STATUS", "KID");
            for k in rt.store.list_signing_keys(now).await? {
                println!(
                    "{:<8} {:<8} {:<45} {}",
                    k.alg,
                    k.status.as_str(),
                    k.kid,
                    match (k.status, k.retire_until) {
                        (KeyStatus::Retired, Some(t)) => t.to_string(),
                        _ => "-".into(),
                    }
                );
            }
        }
        KeysCommand::Rotate { keep_secs } => {
            let min = longest_signed(&rt.store.max_client_token_lifetimes().await?);
            let keep = keep_secs.unwrap_or(min + RETIRE_MARGIN_SECS);
            if keep < min {
                bail!(
                    "--keep-secs {keep} is shorter than the longest token lifetime ({min} s, counting applications' overrides): relying parties could not verify tokens signed just before the rotation"
                );
            }
            let now = now();
            keystore::ensure_keys(rt.store.as_ref(), &rt.keys, now).await?;
            let new = keystore::rotate(rt.store.as_ref(), &rt.keys, now, keep).await?;
            audit(
                rt,
                "signing_keys.rotated",
                "signing_keys",
                serde_json::json!({"new": new, "old_published_for_secs": keep}),
            )
            .await;
            for k in &new {
                println!("new active key: {k}");
            }
            println!(
                "The previous keys no longer sign and stay in the JWKS for {keep} s (until their tokens expire). Running servers switch within 30 s."
            );
        }
    }
    Ok(())
}
