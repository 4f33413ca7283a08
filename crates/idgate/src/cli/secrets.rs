//! `idgate secrets rotate-master`: moves the database to a new master secret.
//!
//! What can move does: provider credentials are decrypted with the old key and
//! re-encrypted with the new one; the signing keys are rotated (new keys under the new
//! secret; the old public keys stay in the JWKS until tokens they signed have expired).
//! What is a keyed hash of a secret idgate never keeps cannot be re-keyed, so it stops
//! working: pending one-time codes, browser sessions, authorization codes and refresh
//! tokens, admin tokens, application client secrets, and rate-limit counters.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Subcommand;
use idgate_core::crypto::Keys;
use idgate_notify::secrets::ProviderSecrets;
use secrecy::SecretString;
use zeroize::Zeroizing;

use crate::cli::user::{audit, now};
use crate::runtime::{self, Runtime};

/// How long the old signing keys stay published after the rotation (longer than any
/// ID or access token idgate issues lives).
const KEEP_OLD_SIGNING_KEYS_SECS: i64 = 2 * 24 * 3600;

/// What the rotation invalidates, printed before and after.
pub const INVALIDATES: &str = "\
The rotation cannot re-key what idgate only keeps as a keyed hash, so these stop working:
  - pending one-time codes (users ask for a new code),
  - browser sessions (everyone signs in again) — they are deleted,
  - authorization codes and refresh tokens (applications sign users in again),
  - admin API tokens (create new ones: idgate admin token create --name NAME),
  - application client secrets (issue new ones and give them to each application),
  - rate-limit counters (they start again from zero).
Provider credentials are re-encrypted; signing keys are rotated (the old public keys stay
published for 2 days). Back up the database first, stop every node, run this once, then
configure the new secret on every node (secrets.master_secret_file) and start them:
a node still on the old secret refuses to start.";

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Move the database to a new master secret (re-encrypts provider credentials,
    /// rotates signing keys; see the list of what it invalidates).
    RotateMaster {
        /// File holding the new master secret (at least 32 bytes); `-` reads stdin.
        #[arg(long, value_name = "FILE")]
        new_secret_file: PathBuf,
        /// Confirm: the rotation invalidates sessions, pending codes, admin tokens and
        /// client secrets.
        #[arg(long)]
        yes: bool,
    },
}

pub async fn run(command: SecretsCommand, rt: &Runtime) -> anyhow::Result<()> {
    let SecretsCommand::RotateMaster {
        new_secret_file,
        yes,
    } = command;
    let new = read_secret(&new_secret_file)?;
    let new_keys = Keys::derive(&new).context("the new master secret")?;
    if runtime::fingerprint(&new_keys) == runtime::fingerprint(&rt.keys) {
        bail!("the new master secret is the one in use; nothing to rotate");
    }
    if !yes {
        println!("{INVALIDATES}");
        bail!("nothing changed: run again with --yes to rotate");
    }
    let now = now();

    // Decrypt everything first, so a wrong old secret fails before anything is written.
    let mut providers = Vec::new();
    for p in rt.store.list_providers(None).await? {
        let secrets = ProviderSecrets::open(&rt.keys, &p.id, &p.secrets_ciphertext)
            .with_context(|| format!("decrypting the credentials of provider {}", p.name))?;
        providers.push((p, secrets));
    }
    for (mut p, secrets) in providers.iter().cloned() {
        p.secrets_ciphertext = secrets
            .seal(&new_keys, &p.id)
            .with_context(|| format!("re-encrypting provider {}", p.name))?;
        p.updated_at = now;
        rt.store.update_provider(&p).await?;
    }
    let kids = idgate_oidc::keystore::rotate(
        rt.store.as_ref(),
        &new_keys,
        now,
        KEEP_OLD_SIGNING_KEYS_SECS,
    )
    .await
    .context("rotating the signing keys")?;
    let sessions = rt.store.sweep_sessions(i64::MAX).await?;
    runtime::store_fingerprint(rt.store.as_ref(), &new_keys).await?;
    audit(
        rt,
        "secrets.master_rotated",
        "master_secret",
        serde_json::json!({"providers": providers.len(), "signing_keys": kids, "sessions_deleted": sessions}),
    )
    .await;
    println!(
        "master secret rotated: {} provider credential set(s) re-encrypted, signing keys rotated ({}), {} session(s) deleted",
        providers.len(),
        kids.join(", "),
        sessions
    );
    println!("{INVALIDATES}");
    Ok(())
}

fn read_secret(path: &PathBuf) -> anyhow::Result<SecretString> {
    let mut text = Zeroizing::new(String::new());
    if path.as_os_str() == "-" {
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading the new master secret from stdin")?;
    } else {
        *text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the new master secret from {}", path.display()))?;
    }
    Ok(SecretString::from(text.trim().to_string()))
}
