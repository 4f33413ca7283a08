//! The command line: `idgate serve | migrate | config | user | app | admin | keys`.

pub mod admin;
pub mod app;
pub mod config_cmd;
pub mod keys;
pub mod password_input;
pub mod secrets;
pub mod user;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "idgate",
    version,
    about = "idgate: an OpenID Connect identity server with SMS and WhatsApp one-time codes",
    long_about = "idgate signs users in to your applications through OpenID Connect: a password, then a one-time code sent by SMS or WhatsApp through D7 Networks, any HTTP SMS gateway, Twilio or Vonage.\n\nWith no configuration it runs in dev mode on 127.0.0.1:8080 with SQLite under ./idgate-data and a dev outbox at /dev/outbox."
)]
pub struct Cli {
    /// Configuration file (default: ./idgate.toml when it exists). Also IDGATE_CONFIG.
    #[arg(long, global = true, env = "IDGATE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (migrates the database first).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        command: config_cmd::ConfigCommand,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: user::UserCommand,
    },
    /// Manage applications (OIDC clients).
    App {
        #[command(subcommand)]
        command: app::AppCommand,
    },
    /// Manage admin API access.
    Admin {
        #[command(subcommand)]
        command: admin::AdminCommand,
    },
    /// Manage the OpenID Connect signing keys (list, rotate).
    Keys {
        #[command(subcommand)]
        command: keys::KeysCommand,
    },
    /// Master-secret operations (rotate-master).
    Secrets {
        #[command(subcommand)]
        command: secrets::SecretsCommand,
    },
}
