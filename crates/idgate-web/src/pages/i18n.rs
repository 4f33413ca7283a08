//! The message catalogue for sign-in pages. English is complete; another locale is one
//! more `Texts` value and a line in [`for_locales`]. The locale comes from the
//! authorization request's `ui_locales`, then the browser's `Accept-Language`.

/// Every text a sign-in page shows. `{n}`-style holes are filled by [`fill`].
#[derive(Debug)]
pub struct Texts {
    pub lang: &'static str,
    pub sign_in_title: &'static str,
    pub sign_in_lead: &'static str,
    pub username: &'static str,
    pub password: &'static str,
    pub sign_in: &'static str,
    pub continue_: &'static str,
    pub identify_lead: &'static str,
    pub code_title: &'static str,
    /// `{channel}` and `{number}`.
    pub code_sent_to: &'static str,
    /// Passwordless: the number is not shown.
    pub code_sent_account: &'static str,
    pub verification_code: &'static str,
    pub verify: &'static str,
    pub resend_code: &'static str,
    /// `{wait}`: one of the `wait_*` texts.
    pub resend_wait: &'static str,
    pub send_by_whatsapp: &'static str,
    pub send_by_sms: &'static str,
    pub channel_sms: &'static str,
    pub channel_whatsapp: &'static str,
    pub enrol_title: &'static str,
    pub enrol_lead: &'static str,
    pub mobile_number: &'static str,
    pub mobile_hint: &'static str,
    pub send_code: &'static str,
    pub wrong_credentials: &'static str,
    /// `{attempts}`.
    pub wrong_code: &'static str,
    pub code_expired: &'static str,
    pub too_many_attempts: &'static str,
    pub code_resent: &'static str,
    pub code_fell_back: &'static str,
    pub resend_limit: &'static str,
    pub send_failed_title: &'static str,
    pub send_failed: &'static str,
    pub send_failed_other_channel: &'static str,
    pub try_again: &'static str,
    pub locked_title: &'static str,
    /// `{until}`.
    pub locked_until: &'static str,
    pub locked_admin: &'static str,
    pub refused_title: &'static str,
    pub refused: &'static str,
    pub expired_title: &'static str,
    pub expired: &'static str,
    pub error_title: &'static str,
    pub server_error: &'static str,
    /// `/authorize` without `client_id`.
    pub link_no_client: &'static str,
    pub unknown_application: &'static str,
    /// `/authorize` without `redirect_uri`.
    pub link_no_redirect: &'static str,
    pub redirect_unregistered: &'static str,
    /// Logout with a `post_logout_redirect_uri` but no client.
    pub logout_no_client: &'static str,
    pub logout_client_mismatch: &'static str,
    pub logout_redirect_unregistered: &'static str,
    // A limit refused (rate limit, pumping guard, budget breaker); `{wait}` is one of
    // the `wait_*` texts.
    pub too_many_title: &'static str,
    /// `{wait}`.
    pub rate_limited: &'static str,
    pub send_paused_title: &'static str,
    /// `{wait}`.
    pub send_paused: &'static str,
    pub destination_title: &'static str,
    pub destination_refused: &'static str,
    pub wait_second: &'static str,
    /// `{n}`.
    pub wait_seconds: &'static str,
    /// `{n}` (two or more: shorter waits are in seconds).
    pub wait_minutes: &'static str,
    pub invalid_number: &'static str,
    pub form_expired: &'static str,
    pub return_to_app: &'static str,
    pub signed_out_title: &'static str,
    pub signed_out: &'static str,
    pub sign_out_title: &'static str,
    pub sign_out_lead: &'static str,
    pub sign_out: &'static str,
    pub field_required: &'static str,
}

pub static EN: Texts = Texts {
    lang: "en",
    sign_in_title: "Sign in",
    sign_in_lead: "to continue to {app}",
    username: "Username",
    password: "Password",
    sign_in: "Sign in",
    continue_: "Continue",
    identify_lead: "Enter your username and we will send a code to the mobile number on your account.",
    code_title: "Enter your code",
    code_sent_to: "We sent a code by {channel} to {number}.",
    code_sent_account: "If the account exists, we sent a code to its mobile number.",
    verification_code: "Verification code",
    verify: "Verify",
    resend_code: "Resend code",
    resend_wait: "You can ask for a new code in {wait}.",
    send_by_whatsapp: "Send by WhatsApp instead",
    send_by_sms: "Send by SMS instead",
    channel_sms: "SMS",
    channel_whatsapp: "WhatsApp",
    enrol_title: "Add your mobile number",
    enrol_lead: "This application needs a code sent to your phone. Enter your mobile number; we will send a code to check it.",
    mobile_number: "Mobile number",
    mobile_hint: "Include the country code, for example +1 415 555 0100.",
    send_code: "Send code",
    wrong_credentials: "The username or password is not right.",
    wrong_code: "That code is not right. You have {attempts} attempts left.",
    code_expired: "This code has expired. Ask for a new one.",
    too_many_attempts: "Too many wrong codes. Ask for a new code.",
    code_resent: "We sent a new code.",
    code_fell_back: "It could not be sent by {from}, so we sent it by {channel}.",
    resend_limit: "No more codes can be sent for this sign-in. Go back to the application and start again.",
    send_failed_title: "We could not send your code",
    send_failed: "The message service did not accept the code. Wait a minute and try again; if it keeps failing, contact your administrator.",
    send_failed_other_channel: "You can also have the code sent another way.",
    try_again: "Try again",
    locked_title: "Account locked",
    locked_until: "This account is locked until {until}. Try again after that time.",
    locked_admin: "This account is locked. Contact your administrator to unlock it.",
    refused_title: "A mobile number is needed",
    refused: "This application needs a code sent to your mobile phone, but your account has no verified mobile number. Contact your administrator to add one.",
    expired_title: "Your sign-in has expired",
    expired: "This sign-in page is no longer valid. Go back to the application and sign in again.",
    error_title: "Sign-in could not continue",
    server_error: "Something went wrong on our side. Please try again in a moment.",
    link_no_client: "The sign-in link is incomplete: it does not say which application is asking (client_id).",
    unknown_application: "The application that sent you here is not known to this sign-in service.",
    link_no_redirect: "The sign-in link is incomplete: it does not say where to return (redirect_uri).",
    redirect_unregistered: "The application asked to return to an address that is not registered for it, so the sign-in was stopped.",
    logout_no_client: "The application did not say who it is (client_id or id_token_hint), so it cannot be sent back.",
    logout_client_mismatch: "This sign-out link names one application (client_id) but carries another application's token (id_token_hint), so nothing was done. Ask the application for a correct sign-out link.",
    logout_redirect_unregistered: "The application asked to return to an address that is not registered for it.",
    too_many_title: "Too many attempts",
    rate_limited: "There were too many attempts. Please wait {wait} and try again.",
    send_paused_title: "We cannot send a code right now",
    send_paused: "We cannot send a code to this number right now. Please wait {wait} and try again, or contact your administrator.",
    destination_title: "We cannot send a code to this number",
    destination_refused: "We cannot send codes to this number. Use a mobile number, or contact your administrator.",
    wait_second: "a second",
    wait_seconds: "{n} seconds",
    wait_minutes: "{n} minutes",
    invalid_number: "That does not look like a mobile number. Include the country code, for example +1 415 555 0100.",
    form_expired: "The page had expired, so nothing was sent. Please try again.",
    return_to_app: "Return to the application",
    signed_out_title: "You are signed out",
    signed_out: "You have been signed out. You can close this window.",
    sign_out_title: "Sign out?",
    sign_out_lead: "Do you want to sign out of all applications using this sign-in?",
    sign_out: "Sign out",
    field_required: "Fill in this field.",
};

/// The catalogue for the first supported language in `ui_locales` (space-separated
/// BCP 47 tags), else in `Accept-Language`, else English.
pub fn for_locales(ui_locales: Option<&str>, accept_language: Option<&str>) -> &'static Texts {
    let tags = ui_locales
        .into_iter()
        .flat_map(|s| s.split_ascii_whitespace())
        .chain(
            accept_language
                .into_iter()
                .flat_map(|s| s.split(','))
                .map(|t| t.split(';').next().unwrap_or_default().trim()),
        );
    for tag in tags {
        let primary = tag.split(['-', '_']).next().unwrap_or_default();
        if primary.eq_ignore_ascii_case("en") {
            return &EN;
        }
    }
    &EN
}

/// Replaces `{name}` holes.
pub fn fill(text: &str, values: &[(&str, &str)]) -> String {
    let mut out = text.to_string();
    for (k, v) in values {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}
