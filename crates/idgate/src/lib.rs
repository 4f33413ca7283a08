//! The idgate binary's library half: configuration, CLI commands and server wiring,
//! kept in a library so integration tests start the real server in-process.

pub mod cli;
pub mod config;
pub mod logging;
pub mod master_secret;
pub mod runtime;
pub mod server;
pub mod telemetry;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::runtime::Runtime;

/// Runs the command line; returns the process exit code.
pub async fn main_entry() -> i32 {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("idgate: {e}");
            return 2;
        }
    };
    logging::init(&config.log);
    match run(cli.command, config).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("idgate: {e:#}");
            exit_code(&e)
        }
    }
}

/// 2 for a configuration error (the master secret's problems included), found while
/// loading the configuration or later while opening what it names; 1 for anything else.
pub fn exit_code(e: &anyhow::Error) -> i32 {
    if e.chain().any(|c| c.is::<config::ConfigError>()) {
        2
    } else {
        1
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => server::serve_until_signal(config).await,
        Command::Config { command } => cli::config_cmd::run(command, &config),
        Command::Migrate => {
            let rt = Runtime::open(config).await?;
            println!("database migrated ({})", rt.store.backend());
            Ok(())
        }
        Command::User { command } => cli::user::run(command, &Runtime::open(config).await?).await,
        Command::App { command } => cli::app::run(command, &Runtime::open(config).await?).await,
        Command::Admin { command } => cli::admin::run(command, &Runtime::open(config).await?).await,
        Command::Keys { command } => cli::keys::run(command, &Runtime::open(config).await?).await,
        Command::Secrets { command } => {
            cli::secrets::run(command, &Runtime::open(config).await?).await
        }
    }
}
