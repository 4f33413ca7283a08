//! `idgate app …`.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use idgate_core::application::{Application, LoginFlow, validate_redirect_uri};
use idgate_core::crypto::random_token;
use idgate_core::store::Page;

use crate::cli::user::{audit, now};
use crate::runtime::Runtime;

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Register an application; prints its client_id and (once) its client_secret.
    Add(AddArgs),
    /// List applications.
    List,
    /// Show one application.
    Show { client_id: String },
    /// Delete an application.
    Delete { client_id: String },
}

#[derive(Debug, Args)]
pub struct AddArgs {
    #[arg(long)]
    pub name: String,
    /// Where idgate may send users back after sign-in (repeat for several).
    #[arg(long = "redirect-uri", required = true)]
    pub redirect_uris: Vec<String>,
    /// Where idgate may send users after sign-out (repeat for several).
    #[arg(long = "post-logout-redirect-uri")]
    pub post_logout_redirect_uris: Vec<String>,
    /// A public client (SPA, mobile app): no secret, PKCE required.
    #[arg(long)]
    pub public: bool,
    /// The ID-token signing algorithm: ES256 (default) or RS256 for relying parties that
    /// only know RSA.
    #[arg(long, value_name = "ALG", default_value = "ES256", value_parser = ["ES256", "RS256"])]
    pub signing_alg: String,
}

pub async fn run(command: AppCommand, rt: &Runtime) -> anyhow::Result<()> {
    match command {
        AppCommand::Add(a) => {
            let name = a.name.trim().to_string();
            if name.is_empty() {
                bail!("--name must not be empty");
            }
            for uri in a.redirect_uris.iter().chain(&a.post_logout_redirect_uris) {
                validate_redirect_uri(uri)?;
            }
            let client_id = format!("app_{}", random_token(12)?);
            let secret = if a.public {
                None
            } else {
                Some(random_token(32)?)
            };
            let now = now();
            let app = Application {
                id: idgate_core::new_id(),
                client_id: client_id.clone(),
                client_secret_hash: secret.as_ref().map(|s| rt.keys.token_hash(s)),
                name,
                redirect_uris: a.redirect_uris,
                post_logout_redirect_uris: a.post_logout_redirect_uris,
                login_flow: LoginFlow::default(),
                otp_policy: None,
                created_at: now,
                updated_at: now,
            };
            rt.store.create_application(&app).await?;
            if a.signing_alg != "ES256" {
                rt.store
                    .set_client_signing_alg(&client_id, Some(&a.signing_alg), now)
                    .await?;
            }
            audit(
                rt,
                "application.created",
                &client_id,
                serde_json::json!({"name": app.name, "signing_alg": a.signing_alg}),
            )
            .await;
            println!("client_id: {client_id}");
            match secret {
                Some(s) => {
                    println!("client_secret: {s}");
                    eprintln!("The client secret is shown only now; idgate stores only its hash.");
                }
                None => println!("client_secret: (none: public client, PKCE required)"),
            }
        }
        AppCommand::List => {
            let apps = rt
                .store
                .list_applications(&Page {
                    limit: 1000,
                    after: None,
                })
                .await?;
            println!(
                "{:<24} {:<8} {:<28} NAME",
                "CLIENT_ID", "TYPE", "LOGIN FLOW"
            );
            for a in apps {
                println!(
                    "{:<24} {:<8} {:<28} {}",
                    a.client_id,
                    if a.is_public() { "public" } else { "secret" },
                    describe_flow(&a.login_flow),
                    a.name
                );
            }
        }
        AppCommand::Show { client_id } => {
            let a = rt
                .store
                .get_application(&client_id)
                .await?
                .with_context(|| {
                    format!("no application with client_id \"{client_id}\" (see `idgate app list`)")
                })?;
            println!("client_id:      {}", a.client_id);
            println!("name:           {}", a.name);
            println!(
                "type:           {}",
                if a.is_public() {
                    "public (PKCE)"
                } else {
                    "confidential (secret set)"
                }
            );
            println!("redirect URIs:  {}", a.redirect_uris.join(", "));
            if !a.post_logout_redirect_uris.is_empty() {
                println!("logout URIs:    {}", a.post_logout_redirect_uris.join(", "));
            }
            println!("login flow:     {}", describe_flow(&a.login_flow));
            let alg = rt.store.get_client_signing_alg(&a.client_id).await?;
            println!(
                "ID token alg:   {}",
                alg.as_deref().unwrap_or("ES256 (default)")
            );
            println!(
                "OTP policy:     {}",
                a.otp_policy
                    .as_ref()
                    .map(|p| serde_json::to_string(p).unwrap_or_default())
                    .unwrap_or_else(|| "global".into())
            );
        }
        AppCommand::Delete { client_id } => {
            if !rt.store.delete_application(&client_id).await? {
                bail!("no application with client_id \"{client_id}\"");
            }
            audit(rt, "application.deleted", &client_id, serde_json::json!({})).await;
            println!("deleted {client_id}");
        }
    }
    Ok(())
}

fn describe_flow(flow: &LoginFlow) -> String {
    let v = serde_json::to_value(flow).unwrap_or_default();
    let first = v["first"].as_str().unwrap_or("?").to_string();
    let second: Vec<String> = v["second"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if second.is_empty() {
        first
    } else {
        format!("{first} + {}", second.join("|"))
    }
}
