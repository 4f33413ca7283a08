//! The sign-in journey: which step comes next for an application's login flow, given
//! what the user has proven so far. Pure logic; the web layer renders the steps.
//!
//! Steps follow WSO2's model: step 1 is `password` or `sms-otp` (passwordless:
//! identifier first, then the code); step 2 is none, or one of the code factors the
//! application offers (the user may pick; the first is the default).

use serde::{Deserialize, Serialize};

use crate::UnixTime;
use crate::application::{ChannelFallback, FirstFactor, LoginFlow, MissingMobile, SecondFactor};
use crate::otp::Channel;

/// A proven authentication factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Factor {
    Password,
    SmsOtp,
    WhatsappOtp,
}

impl Factor {
    /// The RFC 8176 `amr` value: `pwd`, `sms`; WhatsApp has no registered value, so it
    /// is the generic one-time password `otp`.
    pub fn amr(self) -> &'static str {
        match self {
            Self::Password => "pwd",
            Self::SmsOtp => "sms",
            Self::WhatsappOtp => "otp",
        }
    }

    /// The channel a code factor is sent on.
    pub fn channel(self) -> Option<Channel> {
        match self {
            Self::Password => None,
            Self::SmsOtp => Some(Channel::Sms),
            Self::WhatsappOtp => Some(Channel::Whatsapp),
        }
    }

    pub fn from_channel(channel: Channel) -> Self {
        match channel {
            Channel::Sms => Self::SmsOtp,
            Channel::Whatsapp => Self::WhatsappOtp,
        }
    }
}

impl From<FirstFactor> for Factor {
    fn from(f: FirstFactor) -> Self {
        match f {
            FirstFactor::Password => Self::Password,
            FirstFactor::SmsOtp => Self::SmsOtp,
        }
    }
}

impl From<SecondFactor> for Factor {
    fn from(f: SecondFactor) -> Self {
        match f {
            SecondFactor::SmsOtp => Self::SmsOtp,
            SecondFactor::WhatsappOtp => Self::WhatsappOtp,
        }
    }
}

/// The `amr` claim for a set of proven factors: each factor's value once, in order,
/// plus `mfa` when two or more distinct factors were used (RFC 8176).
pub fn amr(factors: &[Factor]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in factors {
        let v = f.amr().to_string();
        if !out.contains(&v) {
            out.push(v);
        }
    }
    if distinct(factors) >= 2 {
        out.push("mfa".into());
    }
    out
}

/// Completed end-user sign-ins (the session signed in, the application about to get its
/// code), by the factors that counted.
pub const SIGNINS_TOTAL: &str = "idgate_signins_total";

/// Every value of `factors` on [`SIGNINS_TOTAL`]: the proven factors in a fixed order
/// (`password`, `sms`, `whatsapp`) joined by `+`, so there are at most seven series.
const FACTOR_LABELS: [&str; 7] = [
    "password",
    "sms",
    "whatsapp",
    "password+sms",
    "password+whatsapp",
    "sms+whatsapp",
    "password+sms+whatsapp",
];

/// The `factors` label of a sign-in that proved `factors`.
pub fn factors_label(factors: &[Factor]) -> &'static str {
    let has = |f| factors.contains(&f);
    let bits = usize::from(has(Factor::Password))
        | usize::from(has(Factor::SmsOtp)) << 1
        | usize::from(has(Factor::WhatsappOtp)) << 2;
    match bits {
        0b001 => FACTOR_LABELS[0],
        0b010 => FACTOR_LABELS[1],
        0b100 => FACTOR_LABELS[2],
        0b011 => FACTOR_LABELS[3],
        0b101 => FACTOR_LABELS[4],
        0b110 => FACTOR_LABELS[5],
        0b111 => FACTOR_LABELS[6],
        _ => "none",
    }
}

/// Counts a completed sign-in.
pub fn count_signin(factors: &[Factor]) {
    metrics::counter!(SIGNINS_TOTAL, "factors" => factors_label(factors)).increment(1);
}

/// Describes the sign-in counter and creates its series at 0 (see `limits::describe_metrics`).
pub fn describe_metrics() {
    metrics::describe_counter!(
        SIGNINS_TOTAL,
        "Completed end-user sign-ins, by the factors proven (password, sms, whatsapp joined by +)."
    );
    for label in FACTOR_LABELS {
        metrics::counter!(SIGNINS_TOTAL, "factors" => label).increment(0);
    }
}

/// The `acr` idgate reports: multi-factor or single-factor.
pub const ACR_MFA: &str = "urn:idgate:acr:mfa";
pub const ACR_1FA: &str = "urn:idgate:acr:1fa";

pub fn acr(factors: &[Factor]) -> &'static str {
    if distinct(factors) >= 2 {
        ACR_MFA
    } else {
        ACR_1FA
    }
}

fn distinct(factors: &[Factor]) -> usize {
    let mut seen: Vec<Factor> = Vec::new();
    for f in factors {
        if !seen.contains(f) {
            seen.push(*f);
        }
    }
    seen.len()
}

/// Whether the user's number may receive a login code under this flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MobileState {
    Usable,
    /// No number, or one that is not verified while the flow requires verified numbers.
    Missing,
}

impl MobileState {
    pub fn of(flow: &LoginFlow, has_mobile: bool, verified: bool) -> Self {
        if has_mobile && (verified || flow.allow_unverified_mobile) {
            Self::Usable
        } else {
            Self::Missing
        }
    }
}

/// What the journey needs next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Username and password.
    Password,
    /// Passwordless: the username first.
    Identify,
    /// A code for this factor (sent to the user's number).
    Code(Factor),
    /// Ask for a mobile number, then verify it with a code.
    Enrol(Factor),
    /// No usable number and the flow refuses to enrol one.
    Refuse,
    /// The flow is satisfied.
    Done,
}

/// The step after `factors`, for a user who is `identified` (or not yet) and whose
/// number is in `mobile` state; `chosen` is the user's pick among step-2 options.
pub fn next_step(
    flow: &LoginFlow,
    factors: &[Factor],
    identified: bool,
    mobile: MobileState,
    chosen: Option<Factor>,
) -> Step {
    let first = Factor::from(flow.first);
    if !factors.contains(&first) {
        return match flow.first {
            FirstFactor::Password => Step::Password,
            FirstFactor::SmsOtp if !identified => Step::Identify,
            // Passwordless: the code page is shown even without a usable number, so an
            // unknown user looks like a known one (the caller sends nothing then).
            FirstFactor::SmsOtp => Step::Code(Factor::SmsOtp),
        };
    }
    let options = second_options(flow);
    let accepted = accepted_second(flow);
    if options.is_empty() || accepted.iter().any(|f| factors.contains(f)) {
        return Step::Done;
    }
    let pick = chosen
        .filter(|c| accepted.contains(c))
        .unwrap_or(options[0]);
    match mobile {
        MobileState::Usable => Step::Code(pick),
        MobileState::Missing => match flow.missing_mobile {
            MissingMobile::Enrol => Step::Enrol(pick),
            MissingMobile::Refuse => Step::Refuse,
        },
    }
}

/// The step-2 factors a flow offers, without the step-1 factor (a factor never counts
/// twice).
pub fn second_options(flow: &LoginFlow) -> Vec<Factor> {
    let first = Factor::from(flow.first);
    let mut out = Vec::new();
    for f in &flow.second {
        let f = Factor::from(*f);
        if f != first && !out.contains(&f) {
            out.push(f);
        }
    }
    out
}

/// The step-2 factors whose proof completes step 2: the flow's options, plus the other
/// code factor when the flow lets a code fall back to the other channel (the factor of
/// the channel that really carried the code is the one proven).
pub fn accepted_second(flow: &LoginFlow) -> Vec<Factor> {
    let first = Factor::from(flow.first);
    let mut out = second_options(flow);
    if flow.channel_fallback != ChannelFallback::Off && !out.is_empty() {
        for f in [Factor::SmsOtp, Factor::WhatsappOtp] {
            if f != first && !out.contains(&f) {
                out.push(f);
            }
        }
    }
    out
}

/// The factor a code falls back to when `factor`'s channel cannot deliver, if the flow
/// allows it (`None` for the passwordless first step: only SMS proves it).
pub fn fallback_factor(flow: &LoginFlow, factor: Factor) -> Option<Factor> {
    if flow.channel_fallback == ChannelFallback::Off {
        return None;
    }
    accepted_second(flow)
        .into_iter()
        .find(|f| *f != factor && f.channel().is_some())
        .filter(|_| accepted_second(flow).contains(&factor))
}

/// Whether `factors` already satisfy the flow (single sign-on without a new prompt).
pub fn is_satisfied(flow: &LoginFlow, factors: &[Factor]) -> bool {
    next_step(flow, factors, true, MobileState::Usable, None) == Step::Done
}

/// A validated authorization request, parked while the user signs in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PendingRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    /// `query` (default) or `form_post`.
    pub response_mode: Option<String>,
    pub max_age: Option<i64>,
    pub prompt_login: bool,
    pub login_hint: Option<String>,
    pub ui_locales: Option<String>,
    /// Whether multi-factor authentication was asked for through `acr_values`.
    pub require_mfa: bool,
}

/// A code sent during the journey and not yet approved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingCode {
    pub verification_id: String,
    pub factor: Factor,
    /// For display: `••••••2453`.
    pub masked: String,
    /// Enrolment: the number being verified (E.164), saved once the code is approved.
    pub enrol_number: Option<String>,
}

/// A sign-in in progress, kept in the session row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journey {
    pub request: PendingRequest,
    /// The user, once identified (after the password, or the username when passwordless).
    pub user_id: Option<String>,
    /// The username typed for a passwordless sign-in (shown back, also for unknown users).
    pub username: Option<String>,
    /// Passwordless for an unknown user (or one without a usable number): the code page
    /// is shown, nothing is sent, no code is ever accepted.
    pub ghost: bool,
    /// Factors proven in this journey (plus the session's, when stepping up).
    pub factors: Vec<Factor>,
    pub code: Option<PendingCode>,
    /// The user's pick among step-2 options.
    pub chosen: Option<Factor>,
    /// Codes issued in this journey (a new verification after a dead one counts), so
    /// "send a new code" cannot reset the attempt and resend limits forever.
    #[serde(default)]
    pub codes_issued: u32,
    /// Wrong codes entered on a ghost journey (mirrors a real verification's countdown).
    #[serde(default)]
    pub ghost_attempts: u32,
    /// When the ghost's pretend code was "sent", and how often it was "resent": the code
    /// page and "Resend code" show the same cooldown and limit as for a real code.
    #[serde(default)]
    pub ghost_sent_at: Option<UnixTime>,
    #[serde(default)]
    pub ghost_resends: u32,
    /// The factor the user chose when the code went out on the other channel instead
    /// (channel fallback): the code page says so.
    #[serde(default)]
    pub fell_back_from: Option<Factor>,
    /// A ghost's pretend code "failed" to go out: its channel's last real delivery on
    /// this node failed, so a real code would most likely have failed too.
    #[serde(default)]
    pub ghost_undelivered: bool,
    pub started_at: UnixTime,
    /// Set only on a *forward* row: the short-lived record, stored under a session's
    /// previous secret when a code's proof rotated it, that lets a double submit of the
    /// same code continue as the rotated session (see idgate-web's `login::forward`).
    /// Such a row is never a sign-in in progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward: Option<Forward>,
}

/// What a forward row carries: the rotated session's secret, sealed (AES-GCM under the
/// master key, with the previous secret and the code as associated data, base64), and the
/// verification whose code may open it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forward {
    pub verification_id: String,
    pub sealed: String,
}

impl Journey {
    pub fn new(request: PendingRequest, now: UnixTime) -> Self {
        Self {
            request,
            user_id: None,
            username: None,
            ghost: false,
            factors: Vec::new(),
            code: None,
            chosen: None,
            codes_issued: 0,
            ghost_attempts: 0,
            ghost_sent_at: None,
            ghost_resends: 0,
            fell_back_from: None,
            ghost_undelivered: false,
            started_at: now,
            forward: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_labels_ignore_order_and_repeats() {
        use Factor::*;
        assert_eq!(factors_label(&[Password, SmsOtp]), "password+sms");
        assert_eq!(factors_label(&[SmsOtp, Password, SmsOtp]), "password+sms");
        assert_eq!(factors_label(&[WhatsappOtp, Password]), "password+whatsapp");
        assert_eq!(factors_label(&[SmsOtp]), "sms");
        assert_eq!(
            factors_label(&[WhatsappOtp, SmsOtp, Password]),
            "password+sms+whatsapp"
        );
        assert_eq!(factors_label(&[]), "none");
        // Every label a sign-in can produce is one created at start.
        for f in [
            vec![Password],
            vec![SmsOtp],
            vec![WhatsappOtp],
            vec![Password, SmsOtp],
            vec![Password, WhatsappOtp],
            vec![SmsOtp, WhatsappOtp],
            vec![Password, SmsOtp, WhatsappOtp],
        ] {
            assert!(FACTOR_LABELS.contains(&factors_label(&f)), "{f:?}");
        }
    }

    fn flow(first: FirstFactor, second: Vec<SecondFactor>, mm: MissingMobile) -> LoginFlow {
        LoginFlow {
            first,
            second,
            missing_mobile: mm,
            allow_unverified_mobile: false,
            channel_fallback: ChannelFallback::Off,
        }
    }

    #[test]
    fn amr_values() {
        assert_eq!(
            amr(&[Factor::Password, Factor::SmsOtp]),
            ["pwd", "sms", "mfa"]
        );
        assert_eq!(
            amr(&[Factor::Password, Factor::WhatsappOtp]),
            ["pwd", "otp", "mfa"]
        );
        assert_eq!(amr(&[Factor::SmsOtp]), ["sms"]);
        assert_eq!(amr(&[Factor::Password, Factor::Password]), ["pwd"]);
        assert_eq!(acr(&[Factor::SmsOtp]), ACR_1FA);
    }

    #[test]
    fn default_flow_is_password_then_sms() {
        let f = LoginFlow::default();
        assert_eq!(
            next_step(&f, &[], false, MobileState::Usable, None),
            Step::Password
        );
        assert_eq!(
            next_step(&f, &[Factor::Password], true, MobileState::Usable, None),
            Step::Code(Factor::SmsOtp)
        );
        assert_eq!(
            next_step(&f, &[Factor::Password], true, MobileState::Missing, None),
            Step::Enrol(Factor::SmsOtp)
        );
        assert!(is_satisfied(&f, &[Factor::Password, Factor::SmsOtp]));
        assert!(!is_satisfied(&f, &[Factor::Password]));
    }

    #[test]
    fn choice_and_refusal() {
        let f = flow(
            FirstFactor::Password,
            vec![SecondFactor::SmsOtp, SecondFactor::WhatsappOtp],
            MissingMobile::Refuse,
        );
        let done = [Factor::Password];
        assert_eq!(
            next_step(
                &f,
                &done,
                true,
                MobileState::Usable,
                Some(Factor::WhatsappOtp)
            ),
            Step::Code(Factor::WhatsappOtp)
        );
        assert_eq!(
            next_step(&f, &done, true, MobileState::Missing, None),
            Step::Refuse
        );
        assert!(is_satisfied(&f, &[Factor::Password, Factor::WhatsappOtp]));
    }

    #[test]
    fn a_fallback_channel_counts_for_step_two_only_when_the_flow_allows_it() {
        let mut f = flow(
            FirstFactor::Password,
            vec![SecondFactor::WhatsappOtp],
            MissingMobile::Refuse,
        );
        let by_sms = [Factor::Password, Factor::SmsOtp];
        assert!(!is_satisfied(&f, &by_sms));
        assert_eq!(fallback_factor(&f, Factor::WhatsappOtp), None);
        f.channel_fallback = ChannelFallback::Send;
        assert!(is_satisfied(&f, &by_sms));
        assert_eq!(
            fallback_factor(&f, Factor::WhatsappOtp),
            Some(Factor::SmsOtp)
        );
        assert_eq!(
            fallback_factor(&f, Factor::SmsOtp),
            Some(Factor::WhatsappOtp)
        );
        // The passwordless first step is SMS only.
        let mut p = flow(FirstFactor::SmsOtp, vec![], MissingMobile::Refuse);
        p.channel_fallback = ChannelFallback::Send;
        assert_eq!(fallback_factor(&p, Factor::SmsOtp), None);
    }

    #[test]
    fn passwordless() {
        let f = flow(
            FirstFactor::SmsOtp,
            vec![SecondFactor::SmsOtp],
            MissingMobile::Enrol,
        );
        assert_eq!(
            next_step(&f, &[], false, MobileState::Usable, None),
            Step::Identify
        );
        assert_eq!(
            next_step(&f, &[], true, MobileState::Missing, None),
            Step::Code(Factor::SmsOtp)
        );
        // sms-otp as step 2 after sms-otp as step 1 does not count twice.
        assert_eq!(
            next_step(&f, &[Factor::SmsOtp], true, MobileState::Usable, None),
            Step::Done
        );
    }
}
