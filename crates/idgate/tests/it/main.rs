//! idgate's integration tests: one binary (each extra test binary is another link on a
//! 2-core machine). Every test runs the real server; with IDGATE_TEST_DATABASE_URL set
//! they run on PostgreSQL instead of SQLite.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cli;
mod config;
mod fake_d7;
mod foundation;
mod harness;
mod leaks;
mod nodes;
mod oidc;
mod process;
mod providers;
mod verify;
