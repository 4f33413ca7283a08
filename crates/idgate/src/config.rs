//! idgate's one typed configuration: `idgate.toml`, then `IDGATE_*` environment
//! variables (`__` between levels), then `IDGATE_…_FILE` variables whose value is a
//! file to read (for secrets). Unknown keys are errors; every value is validated at
//! start with a message naming the key and the fix.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use idgate_core::password::Argon2Params;
use idgate_core::phone::parse_region;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// Where to look for a config file when none is named.
pub const DEFAULT_CONFIG_FILE: &str = "idgate.toml";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Generated master secret, dev outbox, demo data, relaxed cookies. Loudly logged.
    #[default]
    Dev,
    Production,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `dev` or `production`.
    pub mode: Mode,
    /// Where idgate keeps its SQLite database and (in dev mode) its generated master key.
    pub data_dir: PathBuf,
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub secrets: SecretsConfig,
    pub log: LogConfig,
    pub phone: PhoneConfig,
    pub password: Argon2Params,
    pub dev_outbox: DevOutboxConfig,
    pub verifications: VerificationsConfig,
    pub branding: BrandingConfig,
    pub delivery: DeliveryConfig,
    pub demo: DemoConfig,
    /// Rate limits, lockout and SMS-pumping guards (docs/security.md).
    pub limits: idgate_core::limits::LimitsConfig,
    /// Trusted proxies and HSTS.
    pub security: SecurityConfig,
    /// One-time codes: test numbers.
    pub otp: OtpConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            mode: Mode::Dev,
            data_dir: PathBuf::from("./idgate-data"),
            server: ServerConfig::default(),
            database: DatabaseConfig::default(),
            secrets: SecretsConfig::default(),
            log: LogConfig::default(),
            phone: PhoneConfig::default(),
            password: Argon2Params::default(),
            dev_outbox: DevOutboxConfig::default(),
            verifications: VerificationsConfig::default(),
            branding: BrandingConfig::default(),
            delivery: DeliveryConfig::default(),
            demo: DemoConfig::default(),
            limits: idgate_core::limits::LimitsConfig::default(),
            security: SecurityConfig::default(),
            otp: OtpConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OtpConfig {
    /// Numbers with a fixed code that never reach a provider (`[[otp.test_numbers]]`).
    pub test_numbers: Vec<TestNumberConfig>,
}

/// One `[[otp.test_numbers]]` entry (docs/otp.md, "Test numbers").
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestNumberConfig {
    /// The number, international form (`+14155550100`).
    pub number: String,
    /// The fixed code: 4 to 10 digits.
    pub code: Secret,
    /// Client ids the entry answers for; unset or empty: every application.
    #[serde(default)]
    pub applications: Vec<String>,
    /// Required in production mode.
    #[serde(default)]
    pub allow_in_production: bool,
}

impl OtpConfig {
    /// The entries as the OTP engine holds them (already validated by [`Config::validate`]).
    pub fn test_numbers(&self) -> Vec<idgate_core::otp::test_numbers::TestNumber> {
        use idgate_core::otp::test_numbers::{Source, TestNumber};
        self.test_numbers
            .iter()
            .filter_map(|t| {
                Some(TestNumber {
                    number: idgate_core::phone::PhoneNumber::parse(&t.number, None).ok()?,
                    code: t.code.0.clone(),
                    applications: t.applications.clone(),
                    allow_in_production: t.allow_in_production,
                    source: Source::Config,
                    created_at: None,
                })
            })
            .collect()
    }

    fn validate(&self, mode: Mode) -> Result<(), ConfigError> {
        use idgate_core::otp::test_numbers::{validate_applications, validate_code};
        let mut seen: Vec<String> = Vec::new();
        for (i, t) in self.test_numbers.iter().enumerate() {
            let key = format!("otp.test_numbers[{i}]");
            let n = idgate_core::phone::PhoneNumber::parse(&t.number, None).map_err(|e| {
                ConfigError(format!(
                    "{key}.number: {e}; write it in international form, e.g. \"+14155550100\""
                ))
            })?;
            validate_code(t.code.expose())
                .map_err(|e| ConfigError(format!("{key}.code: {e} (the value is not shown)")))?;
            validate_applications(&t.applications)
                .map_err(|e| ConfigError(format!("{key}.{e}")))?;
            if seen.iter().any(|s| s == n.as_str()) {
                return Err(ConfigError(format!(
                    "{key}.number: {} is listed twice; keep one entry per number",
                    n.masked()
                )));
            }
            if mode == Mode::Production && !t.allow_in_production {
                return Err(ConfigError(format!(
                    "{key} ({}): test numbers sign in with a fixed code, so production mode refuses an entry unless it says allow_in_production = true. Add that line if this number is meant for app-store review, or remove the entry.",
                    n.masked()
                )));
            }
            seen.push(n.as_str().to_string());
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The public base URL: the OIDC issuer and the base of every link idgate sends.
    pub issuer: String,
    /// Largest accepted request body, in bytes.
    pub body_limit_bytes: usize,
    /// Longest a request may take, in seconds (provider sends have their own deadline inside it).
    pub request_timeout_secs: u64,
    /// On SIGTERM/SIGINT, how long in-flight requests may run before the process exits.
    pub shutdown_grace_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            issuer: "http://127.0.0.1:8080".into(),
            body_limit_bytes: 64 * 1024,
            request_timeout_secs: 30,
            shutdown_grace_secs: 30,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` or `postgres://…`. Unset: `sqlite://<data_dir>/idgate.db`.
    pub url: Option<Secret>,
    /// Pool size.
    pub max_connections: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 8,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecretsConfig {
    /// At least 32 bytes; keys for code HMACs and encryption are derived from it.
    /// Prefer `master_secret_file` or `IDGATE_SECRETS__MASTER_SECRET_FILE`.
    pub master_secret: Option<Secret>,
    /// A file holding the master secret.
    pub master_secret_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: LogFormat,
    /// A tracing filter, e.g. `info` or `idgate=debug,sqlx=warn`.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PhoneConfig {
    /// ISO 3166 region for numbers typed without `+country` (e.g. `US`, `LK`). Unset:
    /// numbers must be international.
    pub default_region: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DevOutboxConfig {
    /// The dev outbox (`/dev/outbox`) as the SMS and WhatsApp provider. Unset: on in dev
    /// mode, off in production (where turning it on must be explicit).
    pub enabled: Option<bool>,
}

/// HTTP security: which proxies to believe, and HSTS.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    /// Addresses or CIDR networks of reverse proxies whose `X-Forwarded-For` and
    /// `X-Forwarded-Proto` headers are believed. Empty: the socket peer is the client.
    pub trusted_proxies: Vec<String>,
    /// `Strict-Transport-Security` max-age, sent when the issuer is https or a trusted
    /// proxy says the request came over https; 0 = no HSTS.
    pub hsts_max_age_secs: u64,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            trusted_proxies: Vec::new(),
            hsts_max_age_secs: 31_536_000,
        }
    }
}

impl SecurityConfig {
    /// The web layer's settings (proxies already validated by [`Config::validate`]).
    pub fn web_settings(&self, issuer: &str) -> idgate_web::security_headers::SecuritySettings {
        idgate_web::security_headers::SecuritySettings {
            trusted_proxies: idgate_web::client_ip::TrustedProxies(
                self.trusted_proxies
                    .iter()
                    .filter_map(|p| idgate_web::client_ip::Net::parse(p).ok())
                    .collect(),
            ),
            hsts_max_age_secs: self.hsts_max_age_secs,
            issuer_https: issuer.starts_with("https://"),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DemoConfig {
    /// The demo user, demo application and the demo relying party at `/demo`. Unset: on
    /// in dev mode. Never in production.
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VerificationsConfig {
    /// How long finished verifications stay before being moved to the history table (seconds).
    pub retention_secs: u64,
    /// How often the sweeper runs (seconds).
    pub sweep_interval_secs: u64,
}

impl Default for VerificationsConfig {
    fn default() -> Self {
        Self {
            retention_secs: 7 * 24 * 3600,
            sweep_interval_secs: 60,
        }
    }
}

/// How codes are handed to providers: timeouts, retries, failover (see docs/providers.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// Longest one attempt at one provider may take (a provider's `timeout_ms` overrides it).
    pub attempt_timeout_ms: u64,
    /// Longest all attempts on one channel may take together, retries and failover included.
    pub deadline_ms: u64,
    /// First wait before retrying a provider; doubles per retry, with jitter.
    pub backoff_initial_ms: u64,
    /// Longest wait between two retries.
    pub backoff_max_ms: u64,
    /// Attempts on one provider before failing over to the next.
    pub max_attempts_per_provider: u32,
    /// How long a node reuses a channel's provider list before re-reading the database.
    pub provider_cache_ttl_ms: u64,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            attempt_timeout_ms: 5_000,
            deadline_ms: 10_000,
            backoff_initial_ms: 200,
            backoff_max_ms: 2_000,
            max_attempts_per_provider: 3,
            provider_cache_ttl_ms: 2_000,
        }
    }
}

/// The sign-in pages' look.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BrandingConfig {
    /// Shown in page titles and as the header when there is no logo.
    pub product_name: String,
    /// The `{{organization-name}}` of message texts; unset: `product_name`.
    pub organization_name: Option<String>,
    /// An https (or site-relative) URL of a logo image for the page header.
    pub logo_url: Option<String>,
    /// The accent colour, `#rrggbb` or `#rgb`.
    pub primary_color: String,
}

impl Default for BrandingConfig {
    fn default() -> Self {
        Self {
            product_name: "idgate".into(),
            organization_name: None,
            logo_url: None,
            primary_color: "#2f5bea".into(),
        }
    }
}

impl BrandingConfig {
    /// The value of the `{{organization-name}}` message placeholder.
    pub fn organization_name(&self) -> &str {
        self.organization_name
            .as_deref()
            .unwrap_or(&self.product_name)
            .trim()
    }

    pub fn brand(&self) -> idgate_web::pages::Brand {
        idgate_web::pages::Brand {
            product_name: self.product_name.clone(),
            logo_url: self.logo_url.clone(),
            primary_color: self.primary_color.clone(),
        }
    }
}

/// A secret config value: read from config, never written back out (it serialises as
/// `"[set]"`, so `idgate config check` and debug output cannot leak it).
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub SecretString);

impl Secret {
    pub fn expose(&self) -> &str {
        use secrecy::ExposeSecret;
        self.0.expose_secret()
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("[set]")
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[set]")
    }
}

/// A configuration problem, written for the operator.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

impl Config {
    /// Loads from `path` (or `idgate.toml` if it exists), the environment, and `*_FILE`
    /// variables; then validates.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_with_env(path, std::env::vars())
    }

    /// [`Config::load`] with an explicit environment (tests).
    pub fn load_with_env(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match path {
            Some(p) => {
                if !p.is_file() {
                    return Err(ConfigError(format!(
                        "config file {} does not exist or is not a file",
                        p.display()
                    )));
                }
                figment = figment.merge(Toml::file(p));
            }
            None if Path::new(DEFAULT_CONFIG_FILE).is_file() => {
                figment = figment.merge(Toml::file(DEFAULT_CONFIG_FILE));
            }
            None => {}
        }
        let (plain, files) = split_env(env)?;
        // `__` separates levels: IDGATE_SERVER__LISTEN is server.listen. File values are
        // merged last so a secret from a file wins over one from a plain variable.
        for (key, raw) in plain {
            let dotted = key.replace("__", ".");
            figment = figment.merge(Serialized::default(&dotted, env_value(&raw)));
        }
        // File contents are secrets: always strings, never reinterpreted as numbers.
        for (key, content) in files {
            let dotted = key.replace("__", ".");
            figment = figment.merge(Serialized::default(&dotted, content));
        }
        let config: Config = figment.extract().map_err(describe_figment_error)?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every value that serde cannot check alone.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let issuer = url::Url::parse(&self.server.issuer).map_err(|e| {
            ConfigError(format!(
                "server.issuer = \"{}\" is not a URL ({e}); set it to the public base URL, e.g. https://id.example.com",
                self.server.issuer
            ))
        })?;
        if !matches!(issuer.scheme(), "http" | "https")
            || issuer.query().is_some()
            || issuer.fragment().is_some()
            || issuer.host_str().is_none()
        {
            return Err(ConfigError(format!(
                "server.issuer = \"{}\" must be an http(s) URL with a host and no query or fragment",
                self.server.issuer
            )));
        }
        if self.mode == Mode::Production && issuer.scheme() != "https" {
            return Err(ConfigError(format!(
                "server.issuer = \"{}\" must use https in production mode (browsers drop Secure cookies on http)",
                self.server.issuer
            )));
        }
        if self.server.body_limit_bytes < 1024 {
            return Err(ConfigError(
                "server.body_limit_bytes must be at least 1024".into(),
            ));
        }
        if self.server.request_timeout_secs == 0 {
            return Err(ConfigError(
                "server.request_timeout_secs must be at least 1".into(),
            ));
        }
        if self.database.max_connections == 0 {
            return Err(ConfigError(
                "database.max_connections must be at least 1".into(),
            ));
        }
        if let Some(url) = &self.database.url {
            let u = url.expose();
            if !(u.starts_with("sqlite:")
                || u.starts_with("postgres://")
                || u.starts_with("postgresql://"))
            {
                return Err(ConfigError(
                    "database.url must start with sqlite:// or postgres:// (the value is not shown: it may hold a password)".into(),
                ));
            }
        }
        if let Some(region) = &self.phone.default_region {
            parse_region(region).map_err(|e| ConfigError(format!("phone.default_region: {e}")))?;
        }
        self.password.validate().map_err(|e| {
            ConfigError(format!(
                "password: {e} (memory_kib ≥ 8×parallelism, iterations ≥ 1, parallelism ≥ 1)"
            ))
        })?;
        if self.secrets.master_secret.is_some() && self.secrets.master_secret_file.is_some() {
            return Err(ConfigError(
                "set only one of secrets.master_secret and secrets.master_secret_file".into(),
            ));
        }
        if let Some(f) = &self.secrets.master_secret_file {
            std::fs::metadata(f).map_err(|e| {
                ConfigError(format!(
                    "secrets.master_secret_file = {}: cannot read it ({e})",
                    f.display()
                ))
            })?;
        }
        if self.mode == Mode::Production
            && self.secrets.master_secret.is_none()
            && self.secrets.master_secret_file.is_none()
        {
            return Err(ConfigError(
                "production mode needs a master secret: set secrets.master_secret_file (or IDGATE_SECRETS__MASTER_SECRET_FILE) to a file holding at least 32 random bytes, e.g. from `openssl rand -hex 32`".into(),
            ));
        }
        let d = &self.delivery;
        if d.attempt_timeout_ms == 0 || d.deadline_ms == 0 || d.max_attempts_per_provider == 0 {
            return Err(ConfigError(
                "delivery.attempt_timeout_ms, delivery.deadline_ms and delivery.max_attempts_per_provider must be at least 1".into(),
            ));
        }
        if d.deadline_ms.saturating_mul(2) >= self.server.request_timeout_secs.saturating_mul(1000)
        {
            return Err(ConfigError(format!(
                "delivery.deadline_ms = {} must be less than half of server.request_timeout_secs ({} s): a send may use it twice (channel fallback) inside one request",
                d.deadline_ms, self.server.request_timeout_secs
            )));
        }
        if !idgate_web::pages::is_hex_colour(&self.branding.primary_color) {
            return Err(ConfigError(format!(
                "branding.primary_color = \"{}\" is not a colour: use #rrggbb, e.g. #2f5bea",
                self.branding.primary_color
            )));
        }
        if self
            .branding
            .organization_name
            .as_deref()
            .is_some_and(|n| n.trim().is_empty())
        {
            return Err(ConfigError(
                "branding.organization_name must not be empty: remove it to use branding.product_name".into(),
            ));
        }
        if self.branding.product_name.trim().is_empty() {
            return Err(ConfigError(
                "branding.product_name must not be empty".into(),
            ));
        }
        if let Some(logo) = &self.branding.logo_url
            && !(logo.starts_with("https://") || logo.starts_with('/'))
        {
            return Err(ConfigError(format!(
                "branding.logo_url = \"{logo}\" must be an https:// URL or a path on this server"
            )));
        }
        if self.verifications.sweep_interval_secs == 0 {
            return Err(ConfigError(
                "verifications.sweep_interval_secs must be at least 1".into(),
            ));
        }
        self.limits.validate().map_err(ConfigError)?;
        if self.mode == Mode::Production && !self.limits.enabled {
            return Err(ConfigError(
                "limits.enabled = false is not allowed in production: it turns off rate limits, lockout and SMS-pumping protection. Raise individual limits instead (docs/security.md).".into(),
            ));
        }
        self.otp.validate(self.mode)?;
        for p in &self.security.trusted_proxies {
            idgate_web::client_ip::Net::parse(p)
                .map_err(|e| ConfigError(format!("security.trusted_proxies: {e}")))?;
        }
        if self.mode == Mode::Production && self.demo.enabled == Some(true) {
            return Err(ConfigError(
                "demo.enabled = true is not allowed in production: the demo seeds a user with a printed password. Remove demo.enabled (or set mode = \"dev\").".into(),
            ));
        }
        Ok(())
    }

    /// Whether the demo (user, application, `/demo` relying party) is on: dev mode only.
    pub fn demo_enabled(&self) -> bool {
        self.mode == Mode::Dev && self.demo.enabled.unwrap_or(true)
    }

    /// Whether the dev outbox is the provider.
    pub fn dev_outbox_enabled(&self) -> bool {
        self.dev_outbox.enabled.unwrap_or(self.mode == Mode::Dev)
    }

    /// The database URL in force (the default SQLite file under the data dir when unset).
    pub fn database_url(&self) -> String {
        match &self.database.url {
            Some(u) => u.expose().to_string(),
            None => format!("sqlite://{}", self.data_dir.join("idgate.db").display()),
        }
    }
}

/// Splits `IDGATE_*` variables into plain values and `*_FILE` values (already read).
/// Variables that configure tooling rather than the server (`IDGATE_CONFIG`,
/// `IDGATE_TEST_*`, `IDGATE_LOG`) are not config keys.
#[allow(clippy::type_complexity)]
fn split_env(
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(Vec<(String, String)>, Vec<(String, String)>), ConfigError> {
    let mut plain = Vec::new();
    let mut files = Vec::new();
    for (name, value) in env {
        let Some(rest) = name.strip_prefix("IDGATE_") else {
            continue;
        };
        if rest == "CONFIG" || rest.starts_with("TEST_") || rest == "LOG" || rest.is_empty() {
            continue;
        }
        // A `*_FILE` variable names a file; a key that itself ends in `_file` (like
        // secrets.master_secret_file) is a path, not a file to read, so it stays plain.
        if let Some(key) = rest.strip_suffix("_FILE")
            && !is_path_key(rest)
        {
            let content = std::fs::read_to_string(&value).map_err(|e| {
                ConfigError(format!(
                    "{name} = {value}: cannot read the file ({e}); point it at a readable file holding the value"
                ))
            })?;
            files.push((
                key.to_lowercase(),
                content.trim_end_matches(['\n', '\r']).to_string(),
            ));
        } else {
            plain.push((rest.to_lowercase(), value));
        }
    }
    Ok((plain, files))
}

/// Config keys whose name ends in `_file` and whose value is a path.
fn is_path_key(rest: &str) -> bool {
    rest.eq_ignore_ascii_case("SECRETS__MASTER_SECRET_FILE")
}

/// Parses an environment value the way figment's own `Env` provider does (numbers and
/// booleans become typed; everything else stays a string).
fn env_value(raw: &str) -> figment::value::Value {
    raw.parse::<figment::value::Value>()
        .unwrap_or_else(|_| figment::value::Value::from(raw.to_string()))
}

fn describe_figment_error(e: figment::Error) -> ConfigError {
    let mut msgs = Vec::new();
    for err in e {
        let key = err.path.join(".");
        let source = err
            .metadata
            .as_ref()
            .map(|m| format!(" (from {})", m.name))
            .unwrap_or_default();
        let what = err.kind.to_string();
        let fix = if what.contains("unknown field") {
            " — remove it or check its spelling against docs/configuration.md"
        } else {
            " — see docs/configuration.md for the accepted values"
        };
        if key.is_empty() {
            msgs.push(format!("{what}{source}{fix}"));
        } else {
            msgs.push(format!("{key}: {what}{source}{fix}"));
        }
    }
    ConfigError(msgs.join("; "))
}
