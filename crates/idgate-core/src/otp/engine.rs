//! The OTP engine: issues codes, hands them to the notifier, checks submissions.
//!
//! Guarantees (held by the store's conditional updates, so they hold across processes):
//! a code is approved at most once and every submit after that (its right code included)
//! is refused as `NotPending`; wrong submissions beyond `max_attempts` are never
//! counted and the code is dead after them; a resend inside the cooldown is refused.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::application::Application;
use crate::audit::AuditEvent;
use crate::clock::SharedClock;
use crate::crypto::{CryptoError, Keys, ct_eq};
use crate::limits::{Guard, GuardError, Refusal};
use crate::message::{DeliveryStatus, MessageRecord};
use crate::notifier::{ChannelGate, Delivered, Delivery, DeliveryError, Notifier};
use crate::otp::code::{generate_code, normalise_input};
use crate::otp::policy::{OtpPolicy, ResendCode};
use crate::otp::test_numbers::{self, StoredTestNumber, TestNumber, TestNumberError};
use crate::otp::verification::{Channel, Purpose, Verification, VerificationStatus};
use crate::phone::PhoneNumber;
use crate::store::{Resend, Store, StoreError};
use crate::{UnixTime, new_id};
use zeroize::Zeroizing;

/// The settings key holding the global policy.
pub const POLICY_SETTING: &str = "otp_policy";

#[derive(Debug, thiserror::Error)]
pub enum OtpError {
    #[error("verification not found")]
    NotFound,
    #[error("the verification is {} and can no longer be used", .0.as_str())]
    NotPending(VerificationStatus),
    #[error("no more resends are allowed for this verification (limit {0})")]
    ResendLimit(u32),
    #[error("a new code can be sent in {0} seconds")]
    Cooldown(i64),
    #[error("the {0} channel is not enabled: configure a provider for it first")]
    ChannelDisabled(Channel),
    #[error(transparent)]
    Delivery(#[from] DeliveryError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("the stored OTP policy is invalid: {0}")]
    Policy(String),
    /// Abuse protection said no (rate limit, lockout, pumping guard).
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// A test-number entry the admin API or console cannot save.
    #[error(transparent)]
    TestNumber(#[from] TestNumberError),
    #[error("{0} is set in the config file ([[otp.test_numbers]]); change it there")]
    TestNumberInConfig(String),
    #[error("at most {0} test numbers can be kept; delete one first")]
    TooManyTestNumbers(usize),
}

impl From<GuardError> for OtpError {
    fn from(e: GuardError) -> Self {
        match e {
            GuardError::Refused(r) => OtpError::Refused(r),
            GuardError::Store(s) => OtpError::Store(s),
        }
    }
}

/// A fallback channel's abuse rules refusing is a refusal like any other (the caller
/// answers it with the refusal's status and `Retry-After`); other failures stay
/// delivery errors.
fn delivery_error(e: DeliveryError) -> OtpError {
    match e {
        DeliveryError::FallbackRefused { refusal, .. } => OtpError::Refused(refusal),
        e => OtpError::Delivery(e),
    }
}

/// A request to issue a code.
#[derive(Debug, Clone)]
pub struct Issue<'a> {
    pub application: Option<&'a Application>,
    pub user_id: Option<&'a str>,
    pub user_name: Option<&'a str>,
    pub locale: Option<&'a str>,
    pub purpose: Purpose,
    pub channel: Channel,
    pub fallback: Option<Channel>,
    pub to: &'a PhoneNumber,
}

/// A verification that has just been (re)sent.
#[derive(Debug, Clone)]
pub struct Issued {
    pub verification: Verification,
    pub delivered: Delivered,
}

/// A code ready to go out (from [`OtpEngine::prepare_issue`] or
/// [`OtpEngine::prepare_resend`]), owning what the notifier needs so that it can be
/// delivered in a task of its own. The code is wiped when it is dropped.
pub struct PendingSend {
    pub verification_id: String,
    pub channel: Channel,
    fallback: Option<Channel>,
    to: PhoneNumber,
    code: Zeroizing<String>,
    expiry_minutes: u32,
    application_name: Option<String>,
    user_name: Option<String>,
    locale: Option<String>,
    finish_on_failure: bool,
    /// A test number's code: nothing goes to a provider (see [`crate::otp::test_numbers`]).
    test_number: bool,
    client_id: Option<String>,
}

impl PendingSend {
    /// A delivery failure ends the verification as `failed` (a resend that nobody
    /// waits for: the next page must see that the code never went out).
    pub fn finishing_on_failure(mut self) -> Self {
        self.finish_on_failure = true;
        self
    }
}

impl std::fmt::Debug for PendingSend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingSend")
            .field("verification_id", &self.verification_id)
            .field("channel", &self.channel)
            .field("to", &self.to)
            .finish_non_exhaustive()
    }
}

/// What a submitted code did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckOutcome {
    pub status: VerificationStatus,
    pub attempts_left: u32,
}

#[derive(Clone)]
pub struct OtpEngine {
    store: Arc<dyn Store>,
    keys: Arc<Keys>,
    clock: SharedClock,
    notifier: Arc<dyn Notifier>,
    /// Rate limits, lockout and pumping guards (none: nothing is limited).
    guard: Option<Arc<Guard>>,
    /// Test numbers from the config file (stored ones are read from the settings).
    configured_test_numbers: Arc<Vec<TestNumber>>,
    /// Production mode: only test numbers with `allow_in_production` are in force.
    production: bool,
    /// Per node, per channel: whether the last delivery failed (see
    /// [`OtpEngine::channel_failing`]).
    failing: Arc<Mutex<HashMap<Channel, bool>>>,
}

impl std::fmt::Debug for OtpEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OtpEngine")
    }
}

impl OtpEngine {
    pub fn new(
        store: Arc<dyn Store>,
        keys: Arc<Keys>,
        clock: SharedClock,
        notifier: Arc<dyn Notifier>,
    ) -> Self {
        Self {
            store,
            keys,
            clock,
            notifier,
            guard: None,
            configured_test_numbers: Arc::new(Vec::new()),
            production: false,
            failing: Arc::default(),
        }
    }

    /// The config file's test numbers, and whether the server runs in production mode
    /// (where only entries with `allow_in_production` are in force).
    pub fn with_test_numbers(mut self, configured: Vec<TestNumber>, production: bool) -> Self {
        self.configured_test_numbers = Arc::new(configured);
        self.production = production;
        self
    }

    /// Whether the server runs in production mode (as the engine was told).
    pub fn production(&self) -> bool {
        self.production
    }

    /// Puts every send and check behind `guard` (see `crate::limits`).
    pub fn with_guard(mut self, guard: Arc<Guard>) -> Self {
        self.guard = Some(guard);
        self
    }

    /// The guard as the notifier sees it: the rules of a fallback channel.
    fn gate(&self) -> Option<&dyn ChannelGate> {
        self.guard.as_deref().map(|g| g as &dyn ChannelGate)
    }

    /// The abuse guard, for limits only the caller can apply (client IP, passwords).
    pub fn guard(&self) -> Option<&Arc<Guard>> {
        self.guard.as_ref()
    }

    /// Whether the last delivery this node made on `channel` failed: what a send on it
    /// now would most likely meet (a passwordless sign-in for an unknown username shows
    /// the same failure a real one would).
    pub fn channel_failing(&self, channel: Channel) -> bool {
        self.failing
            .lock()
            .map(|m| m.get(&channel).copied().unwrap_or(false))
            .unwrap_or(false)
    }

    fn record_outcome(&self, channel: Channel, failed: bool) {
        if let Ok(mut m) = self.failing.lock() {
            m.insert(channel, failed);
        }
    }

    /// Whether `channel` has a provider (see [`Notifier::channel_enabled`]).
    pub async fn channel_enabled(&self, channel: Channel) -> bool {
        self.notifier.channel_enabled(channel).await
    }

    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    /// The global policy (defaults until an admin saves one).
    pub async fn global_policy(&self) -> Result<OtpPolicy, OtpError> {
        match self.store.get_setting(POLICY_SETTING).await? {
            None => Ok(OtpPolicy::default()),
            Some(v) => serde_json::from_value(v).map_err(|e| OtpError::Policy(e.to_string())),
        }
    }

    /// The policy in force for an application: its override, else the global one.
    pub async fn policy_for(&self, app: Option<&Application>) -> Result<OtpPolicy, OtpError> {
        match app.and_then(|a| a.otp_policy.clone()) {
            Some(p) => Ok(p),
            None => self.global_policy().await,
        }
    }

    /// Issues a code and delivers it. If no provider could send it, the verification is
    /// recorded as `failed` and the error says why — never a silent "sent".
    pub async fn issue(&self, req: Issue<'_>) -> Result<Issued, OtpError> {
        let (mut verification, send) = self.prepare_issue(req).await?;
        let delivered = self.deliver(send).await?;
        verification.channel = delivered.channel;
        Ok(Issued {
            verification,
            delivered,
        })
    }

    /// Everything of [`OtpEngine::issue`] but the delivery: the channel and abuse checks,
    /// the code and the stored `pending` verification. The returned [`PendingSend`]
    /// goes out with [`OtpEngine::deliver`] — at once, or in a task of its own when the
    /// caller answers before the provider does (the passwordless sign-in).
    pub async fn prepare_issue(
        &self,
        req: Issue<'_>,
    ) -> Result<(Verification, PendingSend), OtpError> {
        if !self.notifier.channel_enabled(req.channel).await {
            return Err(OtpError::ChannelDisabled(req.channel));
        }
        if let Some(g) = &self.guard {
            g.before_send(
                req.channel,
                req.to,
                req.application.map(|a| a.client_id.as_str()),
                req.user_id,
            )
            .await?;
        }
        let policy = self.policy_for(req.application).await?;
        let client_id = req.application.map(|a| a.client_id.as_str());
        let test = self.test_number_for(req.to, client_id).await?;
        let now = self.clock.now();
        let id = new_id();
        let code = match &test {
            Some(t) => test_numbers::code_of(t).to_string(),
            None => generate_code(policy.length, policy.alphanumeric)?,
        };
        let verification = Verification {
            id: id.clone(),
            application_id: req.application.map(|a| a.client_id.clone()),
            user_id: req.user_id.map(str::to_string),
            purpose: req.purpose,
            channel: req.channel,
            destination: req.to.as_str().to_string(),
            code_hmac: self.keys.code_hmac(&id, &code),
            code_ciphertext: self.ciphertext_if_needed(&policy, &id, &code)?,
            status: VerificationStatus::Pending,
            attempts: 0,
            max_attempts: policy.max_attempts,
            resends: 0,
            max_resends: policy.max_resends,
            resend_cooldown: policy.resend_cooldown,
            created_at: now,
            updated_at: now,
            expires_at: now + i64::from(policy.expiry),
            last_sent_at: now,
            finished_at: None,
        };
        self.store
            .insert_verification(&verification, &req.to.masked())
            .await?;
        let send = PendingSend {
            verification_id: id,
            channel: req.channel,
            fallback: req.fallback,
            to: req.to.clone(),
            code: Zeroizing::new(code),
            expiry_minutes: policy.expiry_minutes(),
            application_name: req.application.map(|a| a.name.clone()),
            user_name: req.user_name.map(str::to_string),
            locale: req.locale.map(str::to_string),
            finish_on_failure: true,
            test_number: test.is_some(),
            client_id: client_id.map(str::to_string),
        };
        Ok((verification, send))
    }

    /// Hands a prepared code to the notifier. When it could not be sent and the send
    /// says so (every first send; a resend made with [`PendingSend::finishing_on_failure`]),
    /// the verification is recorded as `failed`, so whoever looks next sees why. When a
    /// fallback channel carried it, the verification's `channel` becomes that channel:
    /// the stored channel is the one the code went out on, and a resend goes there.
    pub async fn deliver(&self, send: PendingSend) -> Result<Delivered, OtpError> {
        if send.test_number {
            return self
                .test_number_sent(
                    &send.verification_id,
                    send.channel,
                    &send.to,
                    send.client_id.as_deref(),
                )
                .await;
        }
        let delivery = Delivery {
            verification_id: &send.verification_id,
            channel: send.channel,
            fallback: send.fallback,
            gate: self.gate(),
            to: &send.to,
            code: &send.code,
            expiry_minutes: send.expiry_minutes,
            application_name: send.application_name.as_deref(),
            user_name: send.user_name.as_deref(),
            locale: send.locale.as_deref(),
        };
        let outcome = self.notifier.deliver(delivery).await;
        self.record_outcome(send.channel, outcome.is_err());
        match outcome {
            Ok(delivered) => {
                if delivered.channel != send.channel {
                    self.store
                        .set_verification_channel(
                            &send.verification_id,
                            delivered.channel,
                            self.clock.now(),
                        )
                        .await?;
                }
                Ok(delivered)
            }
            Err(e) => {
                if send.finish_on_failure {
                    self.store
                        .finish_verification(
                            &send.verification_id,
                            VerificationStatus::Failed,
                            self.clock.now(),
                        )
                        .await?;
                }
                Err(delivery_error(e))
            }
        }
    }

    /// Checks a submitted code. Wrong codes count against the verification; the code is
    /// compared as an HMAC in constant time and approved by one conditional update.
    pub async fn check(&self, id: &str, input: &str) -> Result<CheckOutcome, OtpError> {
        let v = self.load(id).await?;
        self.check_loaded(v, input).await
    }

    /// [`OtpEngine::check`] for the Verify API: a verification another application
    /// started, or one that is not the API's own (a sign-in or enrolment code of the same
    /// application), is `NotFound` (its existence is not revealed). One read serves both
    /// the ownership test and the check.
    pub async fn check_for_application(
        &self,
        id: &str,
        client_id: &str,
        input: &str,
    ) -> Result<CheckOutcome, OtpError> {
        let v = self.get_for_application(id, client_id).await?;
        self.check_loaded(v, input).await
    }

    /// A verification the Verify API of `client_id` may see: started by that application
    /// through the API (`purpose: api`). Sign-in and enrolment codes are the sign-in pages'
    /// alone — an API caller that could check them could lock the user out with wrong
    /// codes, or read and cancel them.
    pub async fn get_for_application(
        &self,
        id: &str,
        client_id: &str,
    ) -> Result<Verification, OtpError> {
        let v = self.load(id).await?;
        if v.application_id.as_deref() != Some(client_id) || v.purpose != Purpose::Api {
            return Err(OtpError::NotFound);
        }
        Ok(v)
    }

    async fn check_loaded(&self, v: Verification, input: &str) -> Result<CheckOutcome, OtpError> {
        let id = v.id.as_str();
        let now = self.clock.now();
        if let Some(done) = self.settle_if_over(&v, now).await? {
            // A finished verification accepts nothing more, its right code included: a
            // code approves once, so a replayed or concurrent submit of an approved code
            // must not read as a second proof of the number.
            return Err(OtpError::NotPending(done.status));
        }
        // A locked account's codes are refused, the right one too.
        if let (Some(g), Some(user)) = (&self.guard, &v.user_id) {
            g.check_locked(user).await?;
        }
        let candidate = self.keys.code_hmac(id, &normalise_input(input));
        if ct_eq(&candidate, &v.code_hmac) {
            if self
                .store
                .approve_verification(id, &v.code_hmac, now)
                .await?
            {
                if let (Some(g), Some(user)) = (&self.guard, &v.user_id) {
                    g.factor_succeeded(user).await?;
                }
                return Ok(CheckOutcome {
                    status: VerificationStatus::Approved,
                    attempts_left: v.attempts_left(),
                });
            }
            // Someone else finished it first (a concurrent submit of the same code, a
            // resend, expiry): this submit proved nothing.
            return Err(self.not_pending(id, now).await);
        }
        let failed = self.store.record_failed_attempt(id, now).await?;
        if let (Some(g), Some(user), Some(_)) = (&self.guard, &v.user_id, &failed)
            && let Some(until) = g.record_factor_failure(user).await?
        {
            return Err(OtpError::Refused(Refusal::Locked { until: Some(until) }));
        }
        match failed {
            Some(f) => Ok(CheckOutcome {
                status: f.status,
                attempts_left: v.max_attempts.saturating_sub(f.attempts),
            }),
            // Finished between our read and our write: not counted, and refused.
            None => Err(self.not_pending(id, now).await),
        }
    }

    /// Sends the code again (a new one unless the policy says `same`), respecting the
    /// cooldown and the resend limit, on the channel that carried the code.
    pub async fn resend(
        &self,
        id: &str,
        application: Option<&Application>,
        user_name: Option<&str>,
        locale: Option<&str>,
    ) -> Result<Issued, OtpError> {
        let send = self
            .prepare_resend(id, application, user_name, locale)
            .await?;
        let delivered = self.deliver(send).await?;
        let verification = self.load(id).await?;
        Ok(Issued {
            verification,
            delivered,
        })
    }

    /// Everything of [`OtpEngine::resend`] but the delivery (see [`OtpEngine::prepare_issue`]).
    /// A resend that cannot be delivered leaves the verification pending unless the
    /// send is made [`PendingSend::finishing_on_failure`].
    pub async fn prepare_resend(
        &self,
        id: &str,
        application: Option<&Application>,
        user_name: Option<&str>,
        locale: Option<&str>,
    ) -> Result<PendingSend, OtpError> {
        let v = self.load(id).await?;
        let now = self.clock.now();
        self.resend_allowed(&v, now)?;
        let policy = self.policy_for(application).await?;
        let to = PhoneNumber::from_stored(&v.destination)
            .map_err(|e| OtpError::Store(StoreError::Corrupt(e.to_string())))?;
        let test = self
            .test_number_for(&to, v.application_id.as_deref())
            .await?;
        let code = match (&test, policy.resend_code, &v.code_ciphertext) {
            (Some(t), _, _) => test_numbers::code_of(t).to_string(),
            (None, ResendCode::Same, Some(ct)) => String::from_utf8(self.keys.decrypt(ct, id)?)
                .map_err(|_| OtpError::Crypto(CryptoError::Decrypt))?,
            _ => generate_code(policy.length, policy.alphanumeric)?,
        };
        if let Some(g) = &self.guard {
            g.before_send(
                v.channel,
                &to,
                application.map(|a| a.client_id.as_str()),
                v.user_id.as_deref(),
            )
            .await?;
        }
        let same = matches!(policy.resend_code, ResendCode::Same) && v.code_ciphertext.is_some();
        let resend = Resend {
            code_hmac: (!same).then(|| self.keys.code_hmac(id, &code)),
            code_ciphertext: if same {
                None
            } else {
                self.ciphertext_if_needed(&policy, id, &code)?
            },
            expires_at: now + i64::from(policy.expiry),
        };
        if !self.store.apply_resend(id, &resend, now).await? {
            // Lost a race with another resend or a finish: say which rule now applies.
            let v = self.load(id).await?;
            self.resend_allowed(&v, now)?;
            return Err(OtpError::Cooldown(v.resend_wait(now).max(1)));
        }
        Ok(PendingSend {
            verification_id: id.to_string(),
            channel: v.channel,
            fallback: None,
            to,
            code: Zeroizing::new(code),
            expiry_minutes: policy.expiry_minutes(),
            application_name: application.map(|a| a.name.clone()),
            user_name: user_name.map(str::to_string),
            locale: locale.map(str::to_string),
            finish_on_failure: false,
            test_number: test.is_some(),
            client_id: v.application_id.clone(),
        })
    }

    /// Cancels a pending verification.
    pub async fn cancel(&self, id: &str) -> Result<VerificationStatus, OtpError> {
        let now = self.clock.now();
        if self
            .store
            .finish_verification(id, VerificationStatus::Canceled, now)
            .await?
        {
            return Ok(VerificationStatus::Canceled);
        }
        let v = self.load(id).await?;
        Err(OtpError::NotPending(v.effective_status(now)))
    }

    pub async fn get(&self, id: &str) -> Result<Verification, OtpError> {
        self.load(id).await
    }

    async fn load(&self, id: &str) -> Result<Verification, OtpError> {
        self.store
            .get_verification(id)
            .await?
            .ok_or(OtpError::NotFound)
    }

    fn resend_allowed(&self, v: &Verification, now: UnixTime) -> Result<(), OtpError> {
        let status = v.effective_status(now);
        if status != VerificationStatus::Pending {
            return Err(OtpError::NotPending(status));
        }
        if v.resends >= v.max_resends {
            return Err(OtpError::ResendLimit(v.max_resends));
        }
        let wait = v.resend_wait(now);
        if wait > 0 {
            return Err(OtpError::Cooldown(wait));
        }
        Ok(())
    }

    /// If the verification can no longer accept a code, returns its final outcome
    /// (writing `expired` when the clock has passed its expiry).
    async fn settle_if_over(
        &self,
        v: &Verification,
        now: UnixTime,
    ) -> Result<Option<CheckOutcome>, OtpError> {
        let status = v.effective_status(now);
        if status == VerificationStatus::Pending {
            return Ok(None);
        }
        if status == VerificationStatus::Expired && v.status == VerificationStatus::Pending {
            self.store
                .finish_verification(&v.id, VerificationStatus::Expired, now)
                .await?;
        }
        Ok(Some(CheckOutcome {
            status,
            attempts_left: v.attempts_left(),
        }))
    }

    /// The refusal for a submit that found the verification finished by someone else.
    async fn not_pending(&self, id: &str, now: UnixTime) -> OtpError {
        match self.load(id).await {
            Ok(v) => OtpError::NotPending(v.effective_status(now)),
            Err(e) => e,
        }
    }

    /// The test number in force for a send to `to` for `client_id`: a config entry
    /// first, then one saved through the admin API or console.
    async fn test_number_for(
        &self,
        to: &PhoneNumber,
        client_id: Option<&str>,
    ) -> Result<Option<TestNumber>, OtpError> {
        let answers = |t: &TestNumber| {
            t.number == *to && t.applies_to(client_id) && t.active(self.production)
        };
        if let Some(t) = self.configured_test_numbers.iter().find(|t| answers(t)) {
            return Ok(Some(t.clone()));
        }
        let stored = self.stored_test_numbers().await?;
        match stored.iter().find(|s| s.number == to.as_str()) {
            Some(s) => Ok(Some(s.open(&self.keys)?).filter(answers)),
            None => Ok(None),
        }
    }

    /// A code "sent" to a test number: nothing goes to a provider; the message log gets
    /// a delivered `test-number` message and the audit log `otp.test_number_used`.
    async fn test_number_sent(
        &self,
        verification_id: &str,
        channel: Channel,
        to: &PhoneNumber,
        client_id: Option<&str>,
    ) -> Result<Delivered, OtpError> {
        let now = self.clock.now();
        let message_id = new_id();
        let record = MessageRecord {
            id: message_id.clone(),
            verification_id: Some(verification_id.to_string()),
            channel,
            provider: test_numbers::PROVIDER.to_string(),
            to_masked: to.masked(),
            body_redacted: "(test number: nothing was sent; the code is the entry's fixed code)"
                .to_string(),
            status: DeliveryStatus::Delivered,
            provider_message_id: None,
            error: None,
            attempts: 0,
            latency_ms: Some(0),
            created_at: now,
            updated_at: now,
        };
        self.store.record_message(&record, &[]).await?;
        let event = AuditEvent {
            id: new_id(),
            at: now,
            // The sender is idgate itself (for a sign-in or an application's Verify API
            // call); the application is in the details.
            actor: "system".to_string(),
            action: "otp.test_number_used".to_string(),
            target: Some(verification_id.to_string()),
            details: serde_json::json!({
                "to": to.masked(),
                "channel": channel.as_str(),
                "client_id": client_id,
                "message_id": message_id,
            }),
        };
        tracing::info!(
            target: "audit",
            actor = %event.actor,
            action = %event.action,
            resource = %verification_id,
            to = %to,
            "test number used: nothing sent"
        );
        self.store.insert_audit(&event).await?;
        Ok(Delivered {
            channel,
            message_id,
            provider: test_numbers::PROVIDER.to_string(),
        })
    }

    async fn stored_test_numbers(&self) -> Result<Vec<StoredTestNumber>, OtpError> {
        match self.store.get_setting(test_numbers::SETTING).await? {
            None => Ok(Vec::new()),
            Some(v) => serde_json::from_value(v).map_err(|e| {
                OtpError::Store(StoreError::Corrupt(format!(
                    "{}: {e}",
                    test_numbers::SETTING
                )))
            }),
        }
    }

    /// Every test number: the config file's, then those saved through the admin API or
    /// console, newest first. Callers show them without their codes.
    pub async fn list_test_numbers(&self) -> Result<Vec<TestNumber>, OtpError> {
        let mut out: Vec<TestNumber> = self.configured_test_numbers.as_ref().clone();
        let mut stored = self.stored_test_numbers().await?;
        stored.sort_by_key(|s| std::cmp::Reverse(s.created_at));
        for s in stored {
            out.push(s.open(&self.keys)?);
        }
        Ok(out)
    }

    /// Saves (creates or replaces) a test number made through the admin API or console.
    /// Refused for a number the config file sets, and in production mode without
    /// `allow_in_production`.
    pub async fn save_test_number(
        &self,
        number: &PhoneNumber,
        code: &str,
        applications: Vec<String>,
        allow_in_production: bool,
    ) -> Result<TestNumber, OtpError> {
        test_numbers::validate_code(code)?;
        test_numbers::validate_applications(&applications)?;
        if self.production && !allow_in_production {
            return Err(TestNumberError::NotAllowedInProduction.into());
        }
        if self
            .configured_test_numbers
            .iter()
            .any(|t| t.number == *number)
        {
            return Err(OtpError::TestNumberInConfig(number.masked()));
        }
        let now = self.clock.now();
        let entry = StoredTestNumber::seal(
            &self.keys,
            number,
            code,
            applications,
            allow_in_production,
            now,
        )?;
        let mut stored = self.stored_test_numbers().await?;
        stored.retain(|s| s.number != number.as_str());
        if stored.len() >= test_numbers::MAX_STORED {
            return Err(OtpError::TooManyTestNumbers(test_numbers::MAX_STORED));
        }
        stored.push(entry.clone());
        self.put_test_numbers(&stored, now).await?;
        Ok(entry.open(&self.keys)?)
    }

    /// Deletes a test number made through the admin API or console; false if there was
    /// none (a config file entry is changed in the file).
    pub async fn delete_test_number(&self, number: &PhoneNumber) -> Result<bool, OtpError> {
        if self
            .configured_test_numbers
            .iter()
            .any(|t| t.number == *number)
        {
            return Err(OtpError::TestNumberInConfig(number.masked()));
        }
        let mut stored = self.stored_test_numbers().await?;
        let before = stored.len();
        stored.retain(|s| s.number != number.as_str());
        if stored.len() == before {
            return Ok(false);
        }
        self.put_test_numbers(&stored, self.clock.now()).await?;
        Ok(true)
    }

    async fn put_test_numbers(
        &self,
        stored: &[StoredTestNumber],
        now: UnixTime,
    ) -> Result<(), OtpError> {
        let value = serde_json::to_value(stored)
            .map_err(|e| OtpError::Store(StoreError::Corrupt(e.to_string())))?;
        self.store
            .put_setting(test_numbers::SETTING, &value, now)
            .await?;
        Ok(())
    }

    fn ciphertext_if_needed(
        &self,
        policy: &OtpPolicy,
        id: &str,
        code: &str,
    ) -> Result<Option<Vec<u8>>, OtpError> {
        match policy.resend_code {
            ResendCode::Same => Ok(Some(self.keys.encrypt(code.as_bytes(), id)?)),
            ResendCode::New => Ok(None),
        }
    }
}
