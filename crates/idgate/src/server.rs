//! `idgate serve`: wires the store, the OTP engine, the notifier and the web router,
//! then serves until told to stop, letting in-flight requests finish.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use idgate_core::clock::{SharedClock, SystemClock};
use idgate_core::otp::OtpEngine;
use idgate_notify::dispatcher::Dispatcher;
use idgate_notify::outbox::DevOutbox;
use idgate_notify::retry::RetryPolicy;
use idgate_web::{AppState, AppStateParts, WebSettings};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{Config, Mode};
use crate::runtime::Runtime;

/// How many messages the dev outbox keeps.
const OUTBOX_CAPACITY: usize = 500;

/// Knobs tests turn; production uses the defaults.
#[derive(Default)]
pub struct ServeOptions {
    pub clock: Option<SharedClock>,
}

/// A server that is accepting connections.
pub struct Running {
    pub addr: SocketAddr,
    pub state: AppState,
    stop: watch::Sender<bool>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Stops accepting, lets in-flight requests finish, and waits for the server to end.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        self.task.await.context("server task")?
    }

    /// Waits until the server ends on its own.
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await.context("server task")?
    }

    pub fn stopper(&self) -> watch::Sender<bool> {
        self.stop.clone()
    }
}

pub async fn start(config: Config, options: ServeOptions) -> anyhow::Result<Running> {
    let clock: SharedClock = options.clock.unwrap_or_else(|| Arc::new(SystemClock));
    if config.mode == Mode::Dev {
        tracing::warn!(
            "DEV MODE: generated secrets, dev outbox and relaxed cookies are on. Set mode = \"production\" before real users sign in."
        );
    }
    let Runtime {
        config,
        store,
        keys,
    } = Runtime::open(config).await?;
    let outbox = config
        .dev_outbox_enabled()
        .then(|| Arc::new(DevOutbox::new(OUTBOX_CAPACITY)));
    if config.mode == Mode::Production && outbox.is_some() {
        tracing::warn!("dev_outbox.enabled = true in production: codes are shown at /dev/outbox");
    }
    let d = &config.delivery;
    let dispatcher = Arc::new(
        Dispatcher::new(store.clone(), clock.clone(), outbox.clone())
            .with_keys(keys.clone())
            .with_issuer(&config.server.issuer)
            .with_organization_name(config.branding.organization_name())
            .with_policy(RetryPolicy {
                attempt_timeout: Duration::from_millis(d.attempt_timeout_ms),
                deadline: Duration::from_millis(d.deadline_ms),
                initial_backoff: Duration::from_millis(d.backoff_initial_ms),
                max_backoff: Duration::from_millis(d.backoff_max_ms),
                max_attempts_per_provider: d.max_attempts_per_provider,
            })
            .with_cache_ttl(Duration::from_millis(d.provider_cache_ttl_ms)),
    );
    let otp = OtpEngine::new(
        store.clone(),
        keys.clone(),
        clock.clone(),
        dispatcher.clone(),
    )
    .with_guard(Arc::new(idgate_core::limits::Guard::new(
        store.clone(),
        keys.clone(),
        clock.clone(),
        config.limits.clone(),
    )))
    .with_test_numbers(config.otp.test_numbers(), config.mode == Mode::Production);
    for t in config.otp.test_numbers() {
        tracing::warn!(
            number = %t.number,
            applications = ?t.applications,
            "test number configured: codes to it are never sent and its fixed code signs in"
        );
    }
    if !config.limits.enabled {
        tracing::warn!(
            "limits.enabled = false: rate limits, lockout and SMS-pumping protection are OFF"
        );
    }
    let oidc = Arc::new(
        idgate_web::oidc::OidcState::start(
            store.clone(),
            keys.clone(),
            clock.clone(),
            idgate_web::oidc::OidcSettings {
                argon2: config.password,
                brand: config.branding.brand(),
                ..Default::default()
            },
        )
        .await
        .context("preparing OpenID Connect signing keys")?,
    );
    let state = AppState::new(AppStateParts {
        store: store.clone(),
        keys,
        clock: clock.clone(),
        otp,
        outbox,
        settings: Arc::new(WebSettings {
            issuer: config.server.issuer.trim_end_matches('/').to_string(),
            dev_mode: config.mode == Mode::Dev,
            default_region: config.phone.default_region.clone(),
            body_limit_bytes: config.server.body_limit_bytes,
            request_timeout_secs: config.server.request_timeout_secs,
            security: config.security.web_settings(&config.server.issuer),
            demo: config.demo_enabled(),
        }),
        dispatcher,
        oidc,
    });
    if config.demo_enabled() {
        seed_demo(&state, &config).await?;
    }
    idgate_web::console::register(&state)
        .await
        .context("registering the built-in console application")?;
    let app = idgate_web::router(state.clone());
    // The router installed the metrics recorder; now every metric gets its HELP text
    // and every idgate_* counter exists at 0 before its first event.
    let _ = idgate_web::metrics::handle();
    crate::telemetry::describe();
    // The phone-number metadata and its patterns load lazily on the first parse (about
    // a second in a debug build): pay that before listening, not in the first request.
    let _ = tokio::task::spawn_blocking(|| {
        idgate_core::phone::PhoneNumber::parse("+14155550100", None)
    })
    .await;
    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .with_context(|| format!("binding server.listen = {}", config.server.listen))?;
    let addr = listener.local_addr()?;
    let (stop, mut stopped) = watch::channel(false);

    spawn_sweeper(&config, state.clone(), stop.subscribe());
    spawn_auth_sweeper(&config, state.clone(), stop.subscribe());

    let grace = Duration::from_secs(config.server.shutdown_grace_secs);
    let task = tokio::spawn(async move {
        let mut signal = stopped.clone();
        let serve = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = signal.wait_for(|s| *s).await;
            tracing::info!("shutting down: finishing in-flight requests");
        });
        let serving = tokio::spawn(async move { serve.await });
        // Once asked to stop, give in-flight requests `grace` to finish, then give up.
        tokio::select! {
            r = serving => r.context("server")?.context("serving")?,
            _ = async {
                let _ = stopped.wait_for(|s| *s).await;
                tokio::time::sleep(grace).await;
            } => tracing::warn!("shutdown grace period over; abandoning unfinished requests"),
        }
        Ok(())
    });
    tracing::info!(%addr, issuer = %config.server.issuer, database = store.backend(), "idgate listening");
    Ok(Running {
        addr,
        state,
        stop,
        task,
    })
}

/// Expires overdue verifications and moves old finished ones to history.
fn spawn_sweeper(config: &Config, state: AppState, mut stop: watch::Receiver<bool>) {
    let every = Duration::from_secs(config.verifications.sweep_interval_secs);
    let retention = config.verifications.retention_secs as i64;
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.wait_for(|s| *s) => break,
            }
            let now = state.now();
            match state.store.sweep_verifications(now, now - retention).await {
                Ok((expired, purged)) if expired + purged > 0 => {
                    tracing::info!(expired, purged, "verification sweep");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "verification sweep failed"),
            }
            // Expired rate-limit counters, prefix-velocity members and blocks.
            if let Err(e) = state.store.sweep_limits(now).await {
                tracing::warn!(error = %e, "limits sweep failed");
            }
        }
    });
}

/// Deletes expired sessions and expired or long-revoked grants (with their codes and
/// refresh tokens), on the verification sweeper's interval.
fn spawn_auth_sweeper(config: &Config, state: AppState, mut stop: watch::Receiver<bool>) {
    let every = Duration::from_secs(config.verifications.sweep_interval_secs);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.wait_for(|s| *s) => break,
            }
            let now = state.now();
            match state.store.sweep_sessions(now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(sessions = n, "session sweep"),
                Err(e) => tracing::warn!(error = %e, "session sweep failed"),
            }
            match state.store.sweep_grants(now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(rows = n, "grant sweep"),
                Err(e) => tracing::warn!(error = %e, "grant sweep failed"),
            }
        }
    });
}

/// Dev mode: the demo application, and on first start the demo user, whose generated
/// password is printed once on stdout (never logged).
async fn seed_demo(state: &AppState, config: &Config) -> anyhow::Result<()> {
    let seeded = idgate_web::demo::seed(state, config.password)
        .await
        .context("seeding the demo (demo.enabled)")?;
    let issuer = &state.settings.issuer;
    if let Some(c) = seeded {
        println!(
            "\n  idgate demo: open {issuer}/demo and sign in as\n\n      username: {}\n      password: {}\n\n  The one-time code goes to the demo user's mobile number; read it at {issuer}/dev/outbox.\n  This password is shown only now (reset: idgate user set-password {}).\n",
            c.username,
            c.password.as_str(),
            c.username,
        );
        tracing::warn!(
            username = c.username,
            "demo user created; its password was printed on stdout"
        );
    }
    tracing::info!(url = %format!("{issuer}/demo"), "demo relying party (dev mode)");
    Ok(())
}

/// Runs until SIGTERM or SIGINT, then shuts down gracefully.
pub async fn serve_until_signal(config: Config) -> anyhow::Result<()> {
    let running = start(config, ServeOptions::default()).await?;
    let stop = running.stopper();
    tokio::spawn(async move {
        wait_for_signal().await;
        let _ = stop.send(true);
    });
    running.wait().await
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let term = async {
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = term => tracing::info!("SIGTERM received"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
    }
}
