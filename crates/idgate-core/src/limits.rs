//! Abuse protection: rate limits on sends, wrong codes and passwords; account lockout;
//! SMS-pumping guards (destination rules, prefix velocity, hourly send budget).
//!
//! Every count lives in the database ([`crate::store::LimitStore`]), so a limit holds
//! whichever node a request reaches. Counter keys name the rule and the subject; a
//! subject that identifies a person (a phone number, an IP address) is a keyed hash,
//! never the value itself. See docs/security.md for the threat model.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::UnixTime;
use crate::audit::AuditEvent;
use crate::clock::SharedClock;
use crate::crypto::Keys;
use crate::notifier::ChannelGate;
use crate::otp::Channel;
use crate::phone::{PhoneNumber, parse_region};
use crate::store::{Store, StoreError, Take};
use crate::user::{User, UserStatus};

/// At most `max` events per `window_secs` (a window starts at the first event and
/// resets when it ends). `max = 0` turns the rule off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    pub max: u32,
    pub window_secs: u64,
}

impl Rate {
    pub const fn new(max: u32, window_secs: u64) -> Self {
        Self { max, window_secs }
    }

    fn on(&self) -> bool {
        self.max > 0
    }

    fn window(&self) -> i64 {
        i64::try_from(self.window_secs).unwrap_or(i64::MAX).max(1)
    }
}

/// The `[limits]` configuration section. The defaults are meant for production.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Master switch for everything in this section (rate limits, lockout, pumping
    /// guards). Only for tests and benchmarks: never turn it off in production.
    pub enabled: bool,
    /// Codes sent (first sends and resends) to one number.
    pub sends_per_number: Rate,
    /// Codes requested from one client IP address (IPv6: per /64).
    pub sends_per_ip: Rate,
    /// Codes sent for one user account.
    pub sends_per_user: Rate,
    /// Codes sent for one application (client id).
    pub sends_per_application: Rate,
    /// Wrong codes submitted from one client IP address.
    pub wrong_codes_per_ip: Rate,
    /// Wrong passwords for one account before password sign-in pauses for it.
    pub password_failures_per_user: Rate,
    /// Wrong passwords from one client IP address before it is paused.
    pub password_failures_per_ip: Rate,
    /// After this many wrong passwords for one account, each further attempt must wait
    /// 2^(n − this) seconds after the previous failure (capped by `password_delay_max_secs`).
    pub password_delay_after: u32,
    /// The same progressive delay, per client IP address.
    pub password_ip_delay_after: u32,
    pub password_delay_max_secs: u64,
    pub lockout: LockoutConfig,
    pub sms: ChannelGuardConfig,
    pub whatsapp: ChannelGuardConfig,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            sends_per_number: Rate::new(5, 600),
            sends_per_ip: Rate::new(20, 600),
            sends_per_user: Rate::new(10, 3600),
            sends_per_application: Rate::new(5000, 3600),
            wrong_codes_per_ip: Rate::new(50, 600),
            password_failures_per_user: Rate::new(20, 900),
            password_failures_per_ip: Rate::new(100, 900),
            password_delay_after: 3,
            password_ip_delay_after: 20,
            password_delay_max_secs: 30,
            lockout: LockoutConfig::default(),
            sms: ChannelGuardConfig::sms(),
            whatsapp: ChannelGuardConfig::whatsapp(),
        }
    }
}

/// Account lockout after failed factor attempts (wrong passwords and wrong codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LockoutConfig {
    /// Failed attempts (across codes and sign-ins) that lock the account; 0 = never.
    pub after_failures: u32,
    /// Failures older than this are forgotten.
    pub failure_window_secs: u64,
    /// The first lock's length; each further lock within `repeat_window_secs` doubles it.
    pub duration_secs: u64,
    pub max_duration_secs: u64,
    /// How long earlier locks count towards doubling.
    pub repeat_window_secs: u64,
}

impl Default for LockoutConfig {
    fn default() -> Self {
        Self {
            after_failures: 10,
            failure_window_secs: 24 * 3600,
            duration_secs: 15 * 60,
            max_duration_secs: 24 * 3600,
            repeat_window_secs: 24 * 3600,
        }
    }
}

/// Pumping guards for one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChannelGuardConfig {
    /// ISO 3166 country codes codes may be sent to; empty = every country. `001` stands
    /// for the non-geographic numbers (see `allow_non_geographic`).
    pub allow_countries: Vec<String>,
    /// Countries codes are never sent to (applies after the allow list); `001` as above.
    pub deny_countries: Vec<String>,
    /// Numbers of the ITU's non-geographic country codes (satellite phones +881 and
    /// +870, international networks +882 and +883, +800, +808, +878, +888, +979):
    /// refused unless this is true (then the country lists apply to them as `001`).
    /// Default: false for SMS (costly, and a known pumping target), true for WhatsApp.
    pub allow_non_geographic: bool,
    /// Only numbers libphonenumber says are (or may be) mobile: refuses fixed-line,
    /// toll-free, VoIP, pager, UAN and other non-mobile ranges. Premium-rate and
    /// shared-cost numbers are refused on every channel.
    pub mobile_only: bool,
    /// How many leading digits of the E.164 number (country code included) make a
    /// prefix for the velocity guard.
    pub prefix_digits: u32,
    /// Distinct numbers in one prefix within `prefix_window_secs` that block the prefix;
    /// 0 = no velocity guard.
    pub prefix_max_numbers: u32,
    pub prefix_window_secs: u64,
    /// How long a tripped prefix stays blocked.
    pub prefix_block_secs: u64,
    /// Codes the channel may send per hour, all destinations together; past it the
    /// breaker opens until the hour is over. 0 = no budget.
    pub hourly_budget: u32,
}

impl ChannelGuardConfig {
    fn sms() -> Self {
        Self {
            allow_countries: Vec::new(),
            deny_countries: Vec::new(),
            allow_non_geographic: false,
            mobile_only: true,
            prefix_digits: 7,
            prefix_max_numbers: 20,
            prefix_window_secs: 600,
            prefix_block_secs: 3600,
            hourly_budget: 2000,
        }
    }

    fn whatsapp() -> Self {
        Self {
            mobile_only: false,
            allow_non_geographic: true,
            ..Self::sms()
        }
    }
}

impl Default for ChannelGuardConfig {
    fn default() -> Self {
        Self::sms()
    }
}

impl LimitsConfig {
    /// Checks what serde cannot; the message names the key and the fix.
    pub fn validate(&self) -> Result<(), String> {
        for (name, c) in [("sms", &self.sms), ("whatsapp", &self.whatsapp)] {
            for (list, codes) in [
                ("allow_countries", &c.allow_countries),
                ("deny_countries", &c.deny_countries),
            ] {
                for code in codes {
                    if code.trim() == NON_GEOGRAPHIC_REGION {
                        continue;
                    }
                    parse_region(code).map_err(|_| {
                        format!(
                            "limits.{name}.{list}: \"{code}\" is not an ISO 3166 country code (use two letters, e.g. US, LK, GB, or 001 for non-geographic numbers)"
                        )
                    })?;
                }
            }
            if c.prefix_max_numbers > 0 && !(2..=15).contains(&c.prefix_digits) {
                return Err(format!(
                    "limits.{name}.prefix_digits must be between 2 and 15 (got {})",
                    c.prefix_digits
                ));
            }
        }
        for (name, r) in [
            ("sends_per_number", self.sends_per_number),
            ("sends_per_ip", self.sends_per_ip),
            ("sends_per_user", self.sends_per_user),
            ("sends_per_application", self.sends_per_application),
            ("wrong_codes_per_ip", self.wrong_codes_per_ip),
            (
                "password_failures_per_user",
                self.password_failures_per_user,
            ),
            ("password_failures_per_ip", self.password_failures_per_ip),
        ] {
            if r.on() && r.window_secs == 0 {
                return Err(format!(
                    "limits.{name}.window_secs must be at least 1 (or set max = 0 to turn the rule off)"
                ));
            }
        }
        if self.lockout.after_failures > 0 && self.lockout.duration_secs == 0 {
            return Err("limits.lockout.duration_secs must be at least 1".into());
        }
        Ok(())
    }

    fn channel(&self, channel: Channel) -> &ChannelGuardConfig {
        match channel {
            Channel::Sms => &self.sms,
            Channel::Whatsapp => &self.whatsapp,
        }
    }
}

/// Counter: requests refused by a limit or guard, by `rule` ([`Refusal::label`]).
pub const LIMIT_REFUSALS_TOTAL: &str = "idgate_limit_refusals_total";
/// Counter: destination prefixes blocked by the velocity guard, by `channel`.
pub const PREFIX_BLOCKS_TOTAL: &str = "idgate_prefix_blocks_total";
/// Counter: trips of a channel's hourly send budget breaker (once per node per trip).
pub const SEND_BUDGET_TRIPPED_TOTAL: &str = "idgate_send_budget_tripped_total";
/// Counter: accounts locked after failed attempts.
pub const ACCOUNT_LOCKOUTS_TOTAL: &str = "idgate_account_lockouts_total";

/// Every `rule` label [`LIMIT_REFUSALS_TOTAL`] can carry.
pub fn refusal_labels() -> impl Iterator<Item = &'static str> {
    Rule::ALL.into_iter().map(Rule::as_str).chain([
        "destination",
        "prefix_blocked",
        "send_budget",
        "account_locked",
    ])
}

/// Describes the guard's counters (Prometheus `HELP`) and creates every series at 0, so
/// that `increase()` sees the first event. Call after the metrics recorder is installed;
/// calling again is harmless.
pub fn describe_metrics() {
    metrics::describe_counter!(
        LIMIT_REFUSALS_TOTAL,
        "Requests refused by a rate limit, the password delay, a destination rule, a prefix block, a send budget or an account lock, by rule."
    );
    metrics::describe_counter!(
        PREFIX_BLOCKS_TOTAL,
        "Destination prefixes blocked by the SMS-pumping velocity guard, by channel."
    );
    metrics::describe_counter!(
        SEND_BUDGET_TRIPPED_TOTAL,
        "Trips of a channel's hourly send budget breaker (once per node per trip)."
    );
    metrics::describe_counter!(
        ACCOUNT_LOCKOUTS_TOTAL,
        "Accounts locked after too many failed sign-in attempts."
    );
    for rule in refusal_labels() {
        metrics::counter!(LIMIT_REFUSALS_TOTAL, "rule" => rule).increment(0);
    }
    for channel in Channel::ALL {
        metrics::counter!(PREFIX_BLOCKS_TOTAL, "channel" => channel.as_str()).increment(0);
        metrics::counter!(SEND_BUDGET_TRIPPED_TOTAL, "channel" => channel.as_str()).increment(0);
    }
    metrics::counter!(ACCOUNT_LOCKOUTS_TOTAL).increment(0);
}

/// Which rule refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    SendsPerNumber,
    SendsPerIp,
    SendsPerUser,
    SendsPerApplication,
    WrongCodesPerIp,
    PasswordFailuresPerUser,
    PasswordFailuresPerIp,
    PasswordDelay,
}

impl Rule {
    pub const ALL: [Rule; 8] = [
        Rule::SendsPerNumber,
        Rule::SendsPerIp,
        Rule::SendsPerUser,
        Rule::SendsPerApplication,
        Rule::WrongCodesPerIp,
        Rule::PasswordFailuresPerUser,
        Rule::PasswordFailuresPerIp,
        Rule::PasswordDelay,
    ];

    /// The config key (and the metric label): a fixed set, never a subject.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::SendsPerNumber => "sends_per_number",
            Rule::SendsPerIp => "sends_per_ip",
            Rule::SendsPerUser => "sends_per_user",
            Rule::SendsPerApplication => "sends_per_application",
            Rule::WrongCodesPerIp => "wrong_codes_per_ip",
            Rule::PasswordFailuresPerUser => "password_failures_per_user",
            Rule::PasswordFailuresPerIp => "password_failures_per_ip",
            Rule::PasswordDelay => "password_delay",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Rule::SendsPerNumber => "codes sent to this number",
            Rule::SendsPerIp => "codes requested from this address",
            Rule::SendsPerUser => "codes sent for this account",
            Rule::SendsPerApplication => "codes sent for this application",
            Rule::WrongCodesPerIp => "wrong codes from this address",
            Rule::PasswordFailuresPerUser => "failed sign-ins for this account",
            Rule::PasswordFailuresPerIp => "failed sign-ins from this address",
            Rule::PasswordDelay => "failed sign-ins in a row",
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an action was refused. The texts name no number, address or secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("too many {}: try again in {retry_after} seconds", .rule.what())]
    RateLimited { rule: Rule, retry_after: i64 },
    #[error("codes cannot be sent to this number: {0}")]
    Destination(&'static str),
    #[error(
        "codes to this number range are paused for {retry_after} seconds because of unusual traffic"
    )]
    PrefixBlocked { retry_after: i64 },
    #[error(
        "the {channel} channel has used its hourly send budget; sending resumes in {retry_after} seconds"
    )]
    Budget { channel: Channel, retry_after: i64 },
    #[error("the account is locked")]
    Locked { until: Option<UnixTime> },
}

impl Refusal {
    /// Seconds until trying again can succeed (`None`: not by waiting).
    pub fn retry_after(&self) -> Option<i64> {
        match self {
            Refusal::RateLimited { retry_after, .. }
            | Refusal::PrefixBlocked { retry_after }
            | Refusal::Budget { retry_after, .. } => Some((*retry_after).max(1)),
            Refusal::Locked { .. } | Refusal::Destination(_) => None,
        }
    }

    /// A fixed label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Refusal::RateLimited { rule, .. } => rule.as_str(),
            Refusal::Destination(_) => "destination",
            Refusal::PrefixBlocked { .. } => "prefix_blocked",
            Refusal::Budget { .. } => "send_budget",
            Refusal::Locked { .. } => "account_locked",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn refused(r: Refusal) -> GuardError {
    metrics::counter!(LIMIT_REFUSALS_TOTAL, "rule" => r.label()).increment(1);
    GuardError::Refused(r)
}

/// A keyed hash of a personal subject (number, address, typed username), short enough
/// for a counter key: the limit tables never hold the value itself.
fn hashed_subject(keys: &Keys, s: &str) -> String {
    let mut h = keys.token_hash(&format!("idgate-limit\0{s}"));
    h.truncate(32);
    h
}

/// The password counter of a typed username (known or not, so a delay cannot tell
/// which usernames exist).
fn password_key(keys: &Keys, username: &str) -> String {
    format!(
        "pwd.name:{}",
        hashed_subject(keys, &crate::user::username_key(username))
    )
}

/// The keys an account's lockout and password counters live under (reset on unlock).
pub fn user_counter_keys(keys: &Keys, user: &User) -> Vec<String> {
    vec![
        format!("lock.fail:{}", user.id),
        format!("lock.count:{}", user.id),
        password_key(keys, &user.username),
    ]
}

/// Unlocks an account: status back to active, lock end cleared, and its failure,
/// lock-repeat and password counters reset. For the CLI, the admin API and the console
/// (each writes its own audit event). A disabled account stays disabled.
pub async fn unlock_user(
    store: &dyn Store,
    keys: &Keys,
    user: &mut User,
    now: UnixTime,
) -> Result<(), StoreError> {
    if user.status == UserStatus::Locked {
        user.status = UserStatus::Active;
    }
    user.locked_until = None;
    user.updated_at = now;
    store.update_user(user).await?;
    store.reset_counters(&user_counter_keys(keys, user)).await?;
    Ok(())
}

/// The first `digits` digits of an E.164 number, with its `+`.
pub fn prefix_of(number: &PhoneNumber, digits: u32) -> String {
    let n = usize::try_from(digits).unwrap_or(usize::MAX);
    let mut out = String::from("+");
    out.extend(number.as_str().chars().filter(char::is_ascii_digit).take(n));
    out
}

/// The name the country lists use for non-geographic numbers: libphonenumber's region
/// code for them ("001", the UN M49 code for the world).
pub const NON_GEOGRAPHIC_REGION: &str = "001";

/// The ITU-T E.164 country codes assigned to global services rather than a country
/// (ITU's list of assigned country codes): 800 international freephone, 808 shared-cost,
/// 870 Inmarsat, 878 personal numbering, 881 global mobile satellite systems (Iridium,
/// Globalstar, Thuraya…), 882 and 883 international networks, 888 OCHA, 979
/// international premium rate.
pub const NON_GEOGRAPHIC_CODES: [u16; 9] = [800, 808, 870, 878, 881, 882, 883, 888, 979];

/// Whether `number` belongs to a non-geographic country code.
pub fn is_non_geographic(number: &PhoneNumber) -> bool {
    NON_GEOGRAPHIC_CODES.iter().any(|c| {
        number
            .as_str()
            .strip_prefix('+')
            .is_some_and(|d| d.starts_with(&c.to_string()))
    })
}

/// The region (ISO 3166, or [`NON_GEOGRAPHIC_REGION`]) and libphonenumber type of an
/// E.164 number.
fn classify(number: &PhoneNumber) -> (Option<String>, Option<phonenumber::Type>) {
    match phonenumber::parse(None, number.as_str()) {
        Ok(p) => (
            if is_non_geographic(number) {
                Some(NON_GEOGRAPHIC_REGION.to_string())
            } else {
                p.country().id().map(|id| id.as_ref().to_ascii_uppercase())
            },
            Some(p.number_type(&phonenumber::metadata::DATABASE)),
        ),
        Err(_) => (None, None),
    }
}

/// The key a channel's prefix block and velocity set live under.
fn prefix_key(channel: Channel, prefix: &str) -> String {
    format!("prefix:{}:{prefix}", channel.as_str())
}

/// The guard the OTP engine and the web layer consult. Cheap to clone behind an `Arc`.
pub struct Guard {
    store: Arc<dyn Store>,
    keys: Arc<Keys>,
    clock: SharedClock,
    config: LimitsConfig,
    /// Per node: the hour a channel's tripped budget was last alerted for (one alert
    /// per node per trip, not one per refused send).
    alerted: Mutex<HashMap<Channel, UnixTime>>,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("enabled", &self.config.enabled)
            .finish_non_exhaustive()
    }
}

impl Guard {
    pub fn new(
        store: Arc<dyn Store>,
        keys: Arc<Keys>,
        clock: SharedClock,
        config: LimitsConfig,
    ) -> Self {
        Self {
            store,
            keys,
            clock,
            config,
            alerted: Mutex::new(HashMap::new()),
        }
    }

    pub fn config(&self) -> &LimitsConfig {
        &self.config
    }

    pub fn enabled(&self) -> bool {
        self.config.enabled
    }

    fn subject(&self, s: &str) -> String {
        hashed_subject(&self.keys, s)
    }

    /// IPv4 as is; IPv6 by its /64 (one subscriber's network).
    fn ip_subject(&self, ip: IpAddr) -> String {
        let s = match ip {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => {
                    let s = v6.segments();
                    format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
                }
            },
        };
        self.subject(&s)
    }

    /// Counts one event against `rate` under `key`; refuses past the maximum.
    async fn take(&self, rule: Rule, rate: Rate, key: &str) -> Result<(), GuardError> {
        if !rate.on() {
            return Ok(());
        }
        let now = self.clock.now();
        match self
            .store
            .take(key, 1, i64::from(rate.max), rate.window(), now)
            .await?
        {
            Take::Taken(_) => Ok(()),
            Take::Refused(c) => Err(refused(Refusal::RateLimited {
                rule,
                retry_after: c.map_or(1, |c| c.resets_at - now).max(1),
            })),
        }
    }

    /// Counts one event with no maximum (failures); returns the count.
    async fn count(&self, rate: Rate, key: &str) -> Result<i64, GuardError> {
        let now = self.clock.now();
        Ok(
            match self
                .store
                .take(key, 1, i64::MAX, rate.window(), now)
                .await?
            {
                Take::Taken(c) => c.count,
                Take::Refused(c) => c.map_or(0, |c| c.count),
            },
        )
    }

    /// Refuses when `key`'s failures reached `rate.max`, or when the progressive delay
    /// after `delay_after` failures has not passed yet.
    async fn check_failures(
        &self,
        rule: Rule,
        rate: Rate,
        delay_after: u32,
        key: &str,
    ) -> Result<(), GuardError> {
        let now = self.clock.now();
        let Some(c) = self.store.peek(key, now).await? else {
            return Ok(());
        };
        if rate.on() && c.count >= i64::from(rate.max) {
            return Err(refused(Refusal::RateLimited {
                rule,
                retry_after: c.resets_at - now,
            }));
        }
        if delay_after > 0 && c.count >= i64::from(delay_after) {
            let steps = u32::try_from(c.count - i64::from(delay_after)).unwrap_or(u32::MAX);
            let max = i64::try_from(self.config.password_delay_max_secs).unwrap_or(i64::MAX);
            let delay = 1i64.checked_shl(steps.min(40)).unwrap_or(max).min(max);
            let wait = c.updated_at + delay - now;
            if wait > 0 {
                return Err(refused(Refusal::RateLimited {
                    rule: Rule::PasswordDelay,
                    retry_after: wait,
                }));
            }
        }
        Ok(())
    }

    // ---- Sends

    /// Everything a send must pass, in order: destination rules, prefix block, per-number,
    /// per-user and per-application limits, prefix velocity, the channel's hourly budget.
    /// The client IP is checked by the web layer ([`Guard::take_ip_send`]), which knows it.
    /// A delivery that falls back to another channel passes that channel's own rules too
    /// ([`Guard::before_fallback`]).
    pub async fn before_send(
        &self,
        channel: Channel,
        to: &PhoneNumber,
        application: Option<&str>,
        user_id: Option<&str>,
    ) -> Result<(), GuardError> {
        if !self.config.enabled {
            return Ok(());
        }
        self.channel_entry(channel, to).await?;
        if let Some(user_id) = user_id {
            self.check_locked(user_id).await?;
        }
        self.take(
            Rule::SendsPerNumber,
            self.config.sends_per_number,
            &format!("send.number:{}", self.subject(to.as_str())),
        )
        .await?;
        if let Some(user_id) = user_id {
            self.take(
                Rule::SendsPerUser,
                self.config.sends_per_user,
                &format!("send.user:{user_id}"),
            )
            .await?;
        }
        if let Some(app) = application {
            self.take(
                Rule::SendsPerApplication,
                self.config.sends_per_application,
                &format!("send.app:{app}"),
            )
            .await?;
        }
        self.channel_capacity(channel, to).await
    }

    /// The send limits of a passwordless sign-in for a username that names no usable
    /// account (a "ghost": nothing is sent). They are counted under the typed username
    /// with the per-number and per-user rates and rules, so the ghost is refused exactly
    /// when a real account's code would be; plus the per-application limit, and a
    /// channel whose hourly budget is spent refuses it too (without spending any).
    pub async fn before_ghost_send(
        &self,
        channel: Channel,
        username: &str,
        application: Option<&str>,
    ) -> Result<(), GuardError> {
        if !self.config.enabled {
            return Ok(());
        }
        let name = self.subject(&format!("ghost\0{}", crate::user::username_key(username)));
        self.take(
            Rule::SendsPerNumber,
            self.config.sends_per_number,
            &format!("send.number:{name}"),
        )
        .await?;
        self.take(
            Rule::SendsPerUser,
            self.config.sends_per_user,
            &format!("send.user:ghost:{name}"),
        )
        .await?;
        if let Some(app) = application {
            self.take(
                Rule::SendsPerApplication,
                self.config.sends_per_application,
                &format!("send.app:{app}"),
            )
            .await?;
        }
        let budget = self.config.channel(channel).hourly_budget;
        if budget > 0 {
            let now = self.clock.now();
            let key = format!("budget:{}", channel.as_str());
            if let Some(c) = self.store.peek(&key, now).await?
                && c.count >= i64::from(budget)
            {
                return Err(refused(Refusal::Budget {
                    channel,
                    retry_after: c.resets_at - now,
                }));
            }
        }
        Ok(())
    }

    /// The rules of `channel` alone, for a code the requested channel could not deliver
    /// and that now goes out on `channel` (channel fallback): its destination rules,
    /// prefix block and velocity guard, and its hourly budget. The per-number, per-user
    /// and per-application limits were counted once for the send by [`Guard::before_send`].
    pub async fn before_fallback(
        &self,
        channel: Channel,
        to: &PhoneNumber,
    ) -> Result<(), GuardError> {
        if !self.config.enabled {
            return Ok(());
        }
        self.channel_entry(channel, to).await?;
        self.channel_capacity(channel, to).await
    }

    /// Whether `channel` may send to `to` at all: destination rules, then a prefix block.
    async fn channel_entry(&self, channel: Channel, to: &PhoneNumber) -> Result<(), GuardError> {
        let c = self.config.channel(channel);
        self.check_destination(c, to)?;
        let now = self.clock.now();
        let block_key = prefix_key(channel, &prefix_of(to, c.prefix_digits));
        if let Some(until) = self.store.blocked_until(&block_key, now).await? {
            return Err(refused(Refusal::PrefixBlocked {
                retry_after: until - now,
            }));
        }
        Ok(())
    }

    /// Counts the send against `channel`'s prefix velocity guard and hourly budget.
    async fn channel_capacity(&self, channel: Channel, to: &PhoneNumber) -> Result<(), GuardError> {
        let c = self.config.channel(channel);
        let now = self.clock.now();
        if c.prefix_max_numbers > 0 {
            let prefix = prefix_of(to, c.prefix_digits);
            let block_key = prefix_key(channel, &prefix);
            let window = i64::try_from(c.prefix_window_secs)
                .unwrap_or(i64::MAX)
                .max(1);
            let seen = self
                .store
                .add_member(
                    &block_key,
                    &self.subject(to.as_str()),
                    now,
                    now.saturating_add(window),
                )
                .await?;
            if seen > i64::from(c.prefix_max_numbers) {
                let secs = i64::try_from(c.prefix_block_secs)
                    .unwrap_or(i64::MAX)
                    .max(1);
                let until = now.saturating_add(secs);
                if self.store.block(&block_key, until, "velocity", now).await? {
                    self.prefix_tripped(channel, &prefix, seen, until, to).await;
                }
                return Err(refused(Refusal::PrefixBlocked { retry_after: secs }));
            }
        }
        if c.hourly_budget > 0 {
            let key = format!("budget:{}", channel.as_str());
            match self
                .store
                .take(&key, 1, i64::from(c.hourly_budget), 3600, now)
                .await?
            {
                Take::Taken(_) => {}
                Take::Refused(counter) => {
                    let resets = counter.map_or(now + 3600, |c| c.resets_at);
                    self.budget_tripped(channel, c.hourly_budget, resets);
                    return Err(refused(Refusal::Budget {
                        channel,
                        retry_after: resets - now,
                    }));
                }
            }
        }
        Ok(())
    }

    fn check_destination(
        &self,
        c: &ChannelGuardConfig,
        to: &PhoneNumber,
    ) -> Result<(), GuardError> {
        let (region, kind) = classify(to);
        let region = region.unwrap_or_default();
        if region == NON_GEOGRAPHIC_REGION && !c.allow_non_geographic {
            return Err(refused(Refusal::Destination(
                "it is a non-geographic number (satellite phone or international network), which this channel does not send to",
            )));
        }
        if !c.allow_countries.is_empty()
            && !c
                .allow_countries
                .iter()
                .any(|a| a.eq_ignore_ascii_case(&region))
        {
            return Err(refused(Refusal::Destination(
                "its country is not on the allow list",
            )));
        }
        if c.deny_countries
            .iter()
            .any(|d| d.eq_ignore_ascii_case(&region))
        {
            return Err(refused(Refusal::Destination("its country is blocked")));
        }
        use phonenumber::Type;
        match kind {
            Some(Type::PremiumRate) => {
                return Err(refused(Refusal::Destination("it is a premium-rate number")));
            }
            Some(Type::SharedCost) => {
                return Err(refused(Refusal::Destination("it is a shared-cost number")));
            }
            _ => {}
        }
        if c.mobile_only {
            match kind {
                // The US and Canada cannot tell mobiles from fixed lines by number.
                Some(Type::Mobile | Type::FixedLineOrMobile) => {}
                Some(Type::TollFree) => {
                    return Err(refused(Refusal::Destination("it is a toll-free number")));
                }
                _ => {
                    return Err(refused(Refusal::Destination("it is not a mobile number")));
                }
            }
        }
        Ok(())
    }

    async fn prefix_tripped(
        &self,
        channel: Channel,
        prefix: &str,
        seen: i64,
        until: UnixTime,
        to: &PhoneNumber,
    ) {
        metrics::counter!(PREFIX_BLOCKS_TOTAL, "channel" => channel.as_str()).increment(1);
        tracing::warn!(
            channel = %channel,
            prefix = %prefix,
            last = %to.masked(),
            distinct_numbers = seen,
            until,
            "SMS-pumping guard: destination prefix blocked"
        );
        let event = AuditEvent {
            id: crate::new_id(),
            at: self.clock.now(),
            actor: "system".into(),
            action: "limits.prefix_blocked".into(),
            target: Some(format!("{}:{prefix}", channel.as_str())),
            details: serde_json::json!({"distinct_numbers": seen, "until": until, "reason": "velocity"}),
        };
        if let Err(e) = self.store.insert_audit(&event).await {
            tracing::error!(error = %e, "recording the prefix block in the audit log failed");
        }
    }

    fn budget_tripped(&self, channel: Channel, budget: u32, resets_at: UnixTime) {
        let first = match self.alerted.lock() {
            Ok(mut m) => m.insert(channel, resets_at) != Some(resets_at),
            Err(_) => true,
        };
        if first {
            metrics::counter!(SEND_BUDGET_TRIPPED_TOTAL, "channel" => channel.as_str())
                .increment(1);
            tracing::error!(
                channel = %channel,
                budget,
                resets_at,
                "ALERT: hourly send budget exhausted; the breaker is open and no more codes go out on this channel until the hour is over (raise limits.{channel}.hourly_budget if this is real traffic)"
            );
        }
    }

    /// Counts a code request from `ip`; refuses past `sends_per_ip`.
    pub async fn take_ip_send(&self, ip: IpAddr) -> Result<(), GuardError> {
        if !self.config.enabled {
            return Ok(());
        }
        let key = format!("send.ip:{}", self.ip_subject(ip));
        self.take(Rule::SendsPerIp, self.config.sends_per_ip, &key)
            .await
    }

    // ---- Wrong codes

    pub async fn check_wrong_codes(&self, ip: IpAddr) -> Result<(), GuardError> {
        if !self.config.enabled {
            return Ok(());
        }
        let key = format!("code.ip:{}", self.ip_subject(ip));
        self.check_failures(
            Rule::WrongCodesPerIp,
            self.config.wrong_codes_per_ip,
            0,
            &key,
        )
        .await
    }

    pub async fn record_wrong_code(&self, ip: IpAddr) -> Result<(), GuardError> {
        if !self.config.enabled || !self.config.wrong_codes_per_ip.on() {
            return Ok(());
        }
        let key = format!("code.ip:{}", self.ip_subject(ip));
        self.count(self.config.wrong_codes_per_ip, &key)
            .await
            .map(|_| ())
    }

    // ---- Passwords

    /// Whether a password attempt for the typed `username` may be checked now.
    pub async fn check_password(
        &self,
        username: &str,
        ip: Option<IpAddr>,
    ) -> Result<(), GuardError> {
        if !self.config.enabled {
            return Ok(());
        }
        if let Some(ip) = ip {
            let key = format!("pwd.ip:{}", self.ip_subject(ip));
            self.check_failures(
                Rule::PasswordFailuresPerIp,
                self.config.password_failures_per_ip,
                self.config.password_ip_delay_after,
                &key,
            )
            .await?;
        }
        self.check_failures(
            Rule::PasswordFailuresPerUser,
            self.config.password_failures_per_user,
            self.config.password_delay_after,
            &password_key(&self.keys, username),
        )
        .await
    }

    /// Counts a wrong password; for a known account it is also a failed factor attempt
    /// (see [`Guard::record_factor_failure`]), whose lock end is returned when it locked.
    pub async fn record_password_failure(
        &self,
        username: &str,
        user_id: Option<&str>,
        ip: Option<IpAddr>,
    ) -> Result<Option<UnixTime>, GuardError> {
        if !self.config.enabled {
            return Ok(None);
        }
        if let Some(ip) = ip {
            let key = format!("pwd.ip:{}", self.ip_subject(ip));
            self.count(self.config.password_failures_per_ip, &key)
                .await?;
        }
        self.count(
            self.config.password_failures_per_user,
            &password_key(&self.keys, username),
        )
        .await?;
        match user_id {
            Some(user_id) => self.record_factor_failure(user_id).await,
            None => Ok(None),
        }
    }

    /// A right password: the username's password counter starts again.
    pub async fn password_succeeded(&self, username: &str) -> Result<(), GuardError> {
        if self.config.enabled {
            self.store
                .reset_counters(&[password_key(&self.keys, username)])
                .await?;
        }
        Ok(())
    }

    // ---- Lockout

    /// Refuses when the account is locked (by failures or by an admin) or disabled.
    pub async fn check_locked(&self, user_id: &str) -> Result<(), GuardError> {
        if !self.config.enabled {
            return Ok(());
        }
        let now = self.clock.now();
        match self.store.get_user(user_id).await? {
            Some(u) if u.is_locked(now) => Err(refused(Refusal::Locked {
                until: if u.status == UserStatus::Locked {
                    u.locked_until
                } else {
                    None
                },
            })),
            _ => Ok(()),
        }
    }

    /// Counts a failed factor attempt (wrong code or password) for an account; at
    /// `lockout.after_failures` the account locks. Returns the lock's end if this
    /// attempt locked it.
    pub async fn record_factor_failure(
        &self,
        user_id: &str,
    ) -> Result<Option<UnixTime>, GuardError> {
        let l = self.config.lockout;
        if !self.config.enabled || l.after_failures == 0 {
            return Ok(None);
        }
        let window = Rate::new(l.after_failures, l.failure_window_secs);
        let failures = self.count(window, &format!("lock.fail:{user_id}")).await?;
        if failures < i64::from(l.after_failures) {
            return Ok(None);
        }
        self.lock(user_id, failures).await
    }

    async fn lock(&self, user_id: &str, failures: i64) -> Result<Option<UnixTime>, GuardError> {
        let l = self.config.lockout;
        let now = self.clock.now();
        let Some(mut user) = self.store.get_user(user_id).await? else {
            return Ok(None);
        };
        // Disabled, or locked by an admin until unlocked: nothing to add.
        if user.status == UserStatus::Disabled
            || (user.status == UserStatus::Locked && user.locked_until.is_none())
        {
            return Ok(None);
        }
        let nth = self
            .count(
                Rate::new(1, l.repeat_window_secs),
                &format!("lock.count:{user_id}"),
            )
            .await?
            .max(1);
        let base = i64::try_from(l.duration_secs).unwrap_or(i64::MAX);
        let max = i64::try_from(l.max_duration_secs)
            .unwrap_or(i64::MAX)
            .max(base);
        let shift = u32::try_from(nth - 1).unwrap_or(u32::MAX).min(30);
        let secs = base.checked_mul(1i64 << shift).unwrap_or(max).min(max);
        let until = now.saturating_add(secs);
        user.status = UserStatus::Locked;
        user.locked_until = Some(until);
        user.updated_at = now;
        self.store.update_user(&user).await?;
        self.store
            .reset_counters(&[format!("lock.fail:{user_id}")])
            .await?;
        metrics::counter!(ACCOUNT_LOCKOUTS_TOTAL).increment(1);
        tracing::warn!(user = %user_id, failures, until, lock_number = nth, "account locked after failed attempts");
        let event = AuditEvent {
            id: crate::new_id(),
            at: now,
            actor: "system".into(),
            action: "user.locked".into(),
            target: Some(user_id.to_string()),
            details: serde_json::json!({
                "reason": "failed_attempts",
                "failures": failures,
                "until": until,
                "lock_number": nth,
            }),
        };
        if let Err(e) = self.store.insert_audit(&event).await {
            tracing::error!(error = %e, "recording the lockout in the audit log failed");
        }
        Ok(Some(until))
    }

    /// A proven factor (a right code): the account's failure count starts again.
    pub async fn factor_succeeded(&self, user_id: &str) -> Result<(), GuardError> {
        if self.config.enabled && self.config.lockout.after_failures > 0 {
            self.store
                .reset_counters(&[format!("lock.fail:{user_id}")])
                .await?;
        }
        Ok(())
    }
}

/// A delivery that falls back to another channel asks the guard for that channel's rules.
#[async_trait::async_trait]
impl ChannelGate for Guard {
    async fn admit(&self, channel: Channel, to: &PhoneNumber) -> Result<(), GuardError> {
        self.before_fallback(channel, to).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_label_is_registered() {
        let labels: Vec<&str> = refusal_labels().collect();
        let refusals = [
            Refusal::Destination("x"),
            Refusal::PrefixBlocked { retry_after: 1 },
            Refusal::Budget {
                channel: Channel::Sms,
                retry_after: 1,
            },
            Refusal::Locked { until: None },
        ]
        .into_iter()
        .chain(Rule::ALL.map(|rule| Refusal::RateLimited {
            rule,
            retry_after: 1,
        }));
        let mut n = 0;
        for r in refusals {
            assert!(labels.contains(&r.label()), "{}", r.label());
            n += 1;
        }
        assert_eq!(n, labels.len(), "{labels:?}");
        // A new rule must join `Rule::ALL`: this match stops compiling until it is added.
        let position = |r: Rule| match r {
            Rule::SendsPerNumber => 0,
            Rule::SendsPerIp => 1,
            Rule::SendsPerUser => 2,
            Rule::SendsPerApplication => 3,
            Rule::WrongCodesPerIp => 4,
            Rule::PasswordFailuresPerUser => 5,
            Rule::PasswordFailuresPerIp => 6,
            Rule::PasswordDelay => 7,
        };
        for (i, r) in Rule::ALL.into_iter().enumerate() {
            assert_eq!(position(r), i);
        }
    }

    #[test]
    fn prefixes_and_defaults() {
        let n = PhoneNumber::parse("+14155550142", None).unwrap_or_else(|_| unreachable!());
        assert_eq!(prefix_of(&n, 7), "+1415555");
        assert_eq!(prefix_of(&n, 40), "+14155550142");
        let d = LimitsConfig::default();
        assert_eq!(d.sends_per_number, Rate::new(5, 600));
        assert_eq!(d.sends_per_ip, Rate::new(20, 600));
        assert_eq!(d.lockout.after_failures, 10);
        assert!(d.sms.mobile_only && !d.whatsapp.mobile_only);
        assert!(d.validate().is_ok());
    }

    #[test]
    fn validation_names_the_key() {
        let mut c = LimitsConfig::default();
        c.sms.deny_countries = vec!["XX1".into()];
        assert!(
            c.validate()
                .err()
                .is_some_and(|e| e.contains("limits.sms.deny_countries"))
        );
    }

    #[test]
    fn non_geographic_numbers_are_named_001_and_refused_for_sms_by_default() {
        let parse = |s: &str| PhoneNumber::parse(s, None).unwrap_or_else(|_| unreachable!());
        for n in [
            "+881612345678",
            "+870301234567",
            "+8823421234",
            "+883510012345",
        ] {
            assert!(is_non_geographic(&parse(n)), "{n}");
            assert_eq!(classify(&parse(n)).0.as_deref(), Some("001"), "{n}");
        }
        for n in [
            "+14155550142",
            "+447400123456",
            "+8801712345678",
            "+88612345678",
        ] {
            if let Ok(p) = PhoneNumber::parse(n, None) {
                assert!(!is_non_geographic(&p), "{n}");
            }
        }
        let d = LimitsConfig::default();
        assert!(!d.sms.allow_non_geographic && d.whatsapp.allow_non_geographic);
        let mut c = LimitsConfig::default();
        c.sms.deny_countries = vec!["001".into()];
        c.whatsapp.allow_countries = vec!["US".into(), "001".into()];
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn number_types() {
        let parse = |s: &str| PhoneNumber::parse(s, None).unwrap_or_else(|_| unreachable!());
        // US numbers are FIXED_LINE_OR_MOBILE and must stay allowed.
        assert_eq!(
            classify(&parse("+14155550142")).1,
            Some(phonenumber::Type::FixedLineOrMobile)
        );
        assert_eq!(
            classify(&parse("+18005550199")).1,
            Some(phonenumber::Type::TollFree)
        );
        assert_eq!(
            classify(&parse("+442071838750")),
            (Some("GB".into()), Some(phonenumber::Type::FixedLine))
        );
        assert_eq!(
            classify(&parse("+447400123456")),
            (Some("GB".into()), Some(phonenumber::Type::Mobile))
        );
    }
}
