//! idgate's integration tests: one binary (each extra test binary is another link on a
//! 2-core machine). Every test runs the real server; with IDGATE_TEST_DATABASE_URL set
//! they run on PostgreSQL instead of SQLite.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin_api;
mod cli;
mod code_once;
mod config;
mod console;
mod crash;
mod fake_d7;
mod faults;
mod findings;
mod foundation;
mod hardening;
mod harness;
mod leaks;
mod leaks_full;
mod limits;
mod login_enumeration;
mod multinode;
mod nodes;
mod oidc;
mod oidc_demo;
mod oidc_flows;
mod oidc_gateway;
mod oidc_keys;
mod openapi;
mod process;
mod providers;
mod secrets;
mod signin_channels;
mod test_numbers;
mod verify;
mod webhooks;
