//! "Applications": list, create (client id and secret shown once), redirect URIs, the
//! login flow editor (step 1 / step 2 and the enrolment policy), the OTP-policy
//! override, tokens (ID-token signing algorithm and lifetimes), and the integration
//! snippet an RP needs (issuer, discovery URL, client id).

use std::collections::HashMap;

use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use idgate_core::application::{
    Application, ChannelFallback, ClientOidcSettings, FirstFactor, LoginFlow, MissingMobile,
    SecondFactor,
};
use idgate_core::otp::OtpPolicy;
use idgate_core::otp::policy::ResendCode;
use idgate_core::store::Page;

use crate::api::applications::{
    CONSOLE_CLIENT_ID, CreateApplication, LIFETIME_RANGES, TokenLifetimesInput, UpdateApplication,
    create_application, delete_application, new_secret, update_application,
};
use crate::console::session::ConsoleSession;
use crate::console::views::{Cell, Field, Form as FormView, Panel, Table, html};
use crate::console::{checked, field_error, guard, guard_post, page, raw, see_other, val};
use crate::state::AppState;

fn flow_text(f: &LoginFlow) -> String {
    let first = match f.first {
        FirstFactor::Password => "Password",
        FirstFactor::SmsOtp => "SMS OTP",
    };
    let second: Vec<&str> = f
        .second
        .iter()
        .map(|s| match s {
            SecondFactor::SmsOtp => "SMS OTP",
            SecondFactor::WhatsappOtp => "WhatsApp OTP",
        })
        .collect();
    if second.is_empty() {
        first.to_string()
    } else {
        format!("{first} → {}", second.join(" or "))
    }
}

/// The login-flow fields (shared by create and edit).
fn flow_fields(f: &LoginFlow) -> Vec<Field> {
    vec![
        Field::new("first", "Step 1", "select")
            .value(match f.first {
                FirstFactor::Password => "password",
                FirstFactor::SmsOtp => "sms-otp",
            })
            .options(&[
                ("password", "Username & Password"),
                ("sms-otp", "SMS OTP (passwordless)"),
            ]),
        Field::new("second_sms", "Step 2: SMS OTP", "checkbox")
            .checked(f.second.contains(&SecondFactor::SmsOtp)),
        Field::new("second_whatsapp", "Step 2: WhatsApp OTP", "checkbox")
            .checked(f.second.contains(&SecondFactor::WhatsappOtp)),
        Field::new("missing_mobile", "A user without a mobile number", "select")
            .value(match f.missing_mobile {
                MissingMobile::Enrol => "enrol",
                MissingMobile::Refuse => "refuse",
            })
            .options(&[
                ("enrol", "enrols one (verified by a code)"),
                ("refuse", "is refused"),
            ]),
        Field::new(
            "allow_unverified_mobile",
            "Send codes to numbers not yet verified",
            "checkbox",
        )
        .checked(f.allow_unverified_mobile),
        Field::new(
            "channel_fallback",
            "When the step-2 channel cannot deliver a code",
            "select",
        )
        .value(match f.channel_fallback {
            ChannelFallback::Off => "off",
            ChannelFallback::Offer => "offer",
            ChannelFallback::Send => "send",
        })
        .options(&[
            ("off", "say so, offer to try again"),
            ("offer", "also offer the other channel"),
            ("send", "send it on the other channel"),
        ]),
    ]
}

fn flow_from(form: &HashMap<String, String>) -> LoginFlow {
    let mut second = Vec::new();
    if checked(form, "second_sms") {
        second.push(SecondFactor::SmsOtp);
    }
    if checked(form, "second_whatsapp") {
        second.push(SecondFactor::WhatsappOtp);
    }
    LoginFlow {
        first: if val(form, "first") == "sms-otp" {
            FirstFactor::SmsOtp
        } else {
            FirstFactor::Password
        },
        second,
        missing_mobile: if val(form, "missing_mobile") == "refuse" {
            MissingMobile::Refuse
        } else {
            MissingMobile::Enrol
        },
        allow_unverified_mobile: checked(form, "allow_unverified_mobile"),
        channel_fallback: match val(form, "channel_fallback").as_str() {
            "offer" => ChannelFallback::Offer,
            "send" => ChannelFallback::Send,
            _ => ChannelFallback::Off,
        },
    }
}

fn lines(s: &str) -> Vec<String> {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn create_form(csrf: &str) -> FormView {
    let mut fields = vec![
        Field::new("name", "Name", "text"),
        Field::new("redirect_uris", "Redirect URIs (one per line)", "textarea").rows(3),
        Field::new(
            "post_logout_redirect_uris",
            "Post-logout redirect URIs (optional, one per line)",
            "textarea",
        )
        .rows(2),
        Field::new(
            "public",
            "Public client (SPA or mobile app: no secret, PKCE)",
            "checkbox",
        ),
    ];
    fields.extend(flow_fields(&LoginFlow::default()));
    FormView {
        id: "create-app".into(),
        title: "Create an application".into(),
        note: None,
        action: "/console/applications".into(),
        csrf: csrf.into(),
        hidden: vec![],
        fields,
        submit: "Create application".into(),
        danger: false,
    }
}

fn refill(mut f: FormView, form: &HashMap<String, String>) -> FormView {
    for field in &mut f.fields {
        if field.kind == "checkbox" {
            field.checked = checked(form, field.name);
        } else {
            field.value = raw(form, field.name);
        }
    }
    f
}

fn map_field(field: &str) -> String {
    if let Some(f) = field.strip_prefix("otp_policy.") {
        return if f == "expiry" {
            "otp_expiry_minutes".into()
        } else {
            format!("otp_{f}")
        };
    }
    if let Some(f) = field.strip_prefix("token_lifetimes.") {
        return LIFETIME_FIELDS
            .iter()
            .find(|(_, api, _)| *api == f)
            .map_or_else(|| f.to_string(), |(name, _, _)| name.to_string());
    }
    if field.starts_with("redirect_uris") {
        "redirect_uris".into()
    } else if field.starts_with("post_logout_redirect_uris") {
        "post_logout_redirect_uris".into()
    } else if field.starts_with("login_flow") {
        "second_sms".into()
    } else {
        field.to_string()
    }
}

async fn render_list(
    state: &AppState,
    s: &ConsoleSession,
    status: StatusCode,
    notice: Option<(&'static str, String)>,
    form: Option<FormView>,
    extra: Vec<String>,
) -> Response {
    let apps = state
        .store
        .list_applications(&Page {
            limit: 500,
            after: None,
        })
        .await
        .unwrap_or_default();
    let rows = apps
        .iter()
        .map(|a| {
            vec![
                Cell::link(
                    a.name.clone(),
                    format!("/console/applications/{}", a.client_id),
                ),
                Cell::text(a.client_id.clone()),
                Cell::text(if a.is_public() {
                    "public"
                } else {
                    "confidential"
                }),
                Cell::text(flow_text(&a.login_flow)),
            ]
        })
        .collect();
    let mut sections = extra;
    sections.push(html(&Table {
        title: "Applications".into(),
        headers: vec!["Name", "Client id", "Type", "Login flow"],
        rows,
        empty: "No application yet.".into(),
        more: None,
    }));
    sections.push(html(&form.unwrap_or_else(|| create_form(&s.csrf))));
    page(
        state,
        s,
        status,
        "applications",
        "Applications",
        notice,
        sections,
    )
}

pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let s = match guard(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    render_list(&state, &s, StatusCode::OK, None, None, vec![]).await
}

fn snippet(state: &AppState, a: &Application, secret: Option<&str>) -> String {
    let mut items = vec![
        ("Issuer".to_string(), state.settings.issuer.clone()),
        (
            "Discovery URL".to_string(),
            format!("{}/.well-known/openid-configuration", state.settings.issuer),
        ),
        ("Client id".to_string(), a.client_id.clone()),
    ];
    if let Some(sec) = secret {
        items.push((
            "Client secret (shown only now)".to_string(),
            sec.to_string(),
        ));
    }
    html(&Panel {
        title: if secret.is_some() { "Integration — copy the secret now".into() } else { "Integration".into() },
        note: secret.map(|_| "idgate keeps only a hash of the client secret: it cannot be shown again. Regenerate it if it is lost.".to_string()),
        items,
        code: Some(format!(
            "OIDC_ISSUER={}\nOIDC_CLIENT_ID={}\nOIDC_REDIRECT_URI={}\nOIDC_SCOPES=openid profile phone",
            state.settings.issuer,
            a.client_id,
            a.redirect_uris.first().cloned().unwrap_or_default()
        )),
        highlight: secret.is_some(),
        ..Default::default()
    })
}

pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let s = match guard_post(&state, &headers, &form).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body = CreateApplication {
        name: val(&form, "name"),
        redirect_uris: lines(&raw(&form, "redirect_uris")),
        post_logout_redirect_uris: lines(&raw(&form, "post_logout_redirect_uris")),
        public: checked(&form, "public"),
        login_flow: Some(flow_from(&form)),
        otp_policy: None,
        signing_alg: None,
        token_lifetimes: None,
    };
    match create_application(&state, &s.admin(), body).await {
        Ok((app, secret, _)) => {
            let extra = vec![snippet(&state, &app, secret.as_deref())];
            render_list(
                &state,
                &s,
                StatusCode::CREATED,
                Some(("info", format!("Application \"{}\" created.", app.name))),
                None,
                extra,
            )
            .await
        }
        Err(e) => {
            let (field, text) = field_error(&e);
            let f = refill(create_form(&s.csrf), &form).with_error(&map_field(&field), text);
            render_list(
                &state,
                &s,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some((
                    "error",
                    "The application was not created: fix the field marked below.".into(),
                )),
                Some(f),
                vec![],
            )
            .await
        }
    }
}

fn edit_form(csrf: &str, a: &Application) -> FormView {
    let mut fields = vec![
        Field::new("name", "Name", "text").value(a.name.clone()),
        Field::new("redirect_uris", "Redirect URIs (one per line)", "textarea")
            .rows(3)
            .value(a.redirect_uris.join("\n")),
        Field::new(
            "post_logout_redirect_uris",
            "Post-logout redirect URIs (one per line)",
            "textarea",
        )
        .rows(2)
        .value(a.post_logout_redirect_uris.join("\n")),
    ];
    fields.extend(flow_fields(&a.login_flow));
    FormView {
        id: "edit-app".into(),
        title: "Settings and login flow".into(),
        note: None,
        action: format!("/console/applications/{}", a.client_id),
        csrf: csrf.into(),
        hidden: vec![],
        fields,
        submit: "Save application".into(),
        danger: false,
    }
}

/// The OTP-policy override form: a switch, then the global settings page's fields.
fn otp_form(csrf: &str, a: &Application, global: &OtpPolicy) -> FormView {
    let p = a.otp_policy.as_ref().unwrap_or(global);
    FormView {
        id: "otp-policy".into(),
        title: "OTP policy".into(),
        note: Some(
            "By default the global settings (Connections › SMS OTP) apply. Switch on to give this application its own."
                .into(),
        ),
        action: format!("/console/applications/{}/otp-policy", a.client_id),
        csrf: csrf.into(),
        hidden: vec![],
        fields: vec![
            Field::new(
                "otp_override",
                "Use its own OTP policy (instead of the global one)",
                "checkbox",
            )
            .checked(a.otp_policy.is_some()),
            Field::new("otp_expiry_minutes", "OTP expiry time (minutes)", "number")
                .value(p.expiry.div_ceil(60).to_string())
                .hint("1–1440"),
            Field::new(
                "otp_alphanumeric",
                "Use alphanumeric characters (A–Z, 0–9)",
                "checkbox",
            )
            .checked(p.alphanumeric),
            Field::new("otp_length", "OTP length", "number")
                .value(p.length.to_string())
                .hint("4–10"),
            Field::new("otp_max_attempts", "Wrong attempts per code", "number")
                .value(p.max_attempts.to_string())
                .hint("1–20"),
            Field::new("otp_max_resends", "Allowed resend attempts", "number")
                .value(p.max_resends.to_string())
                .hint("0–10"),
            Field::new("otp_resend_cooldown", "Resend cooldown (seconds)", "number")
                .value(p.resend_cooldown.to_string())
                .hint("0–3600"),
            Field::new("otp_resend_code", "A resend sends", "select")
                .value(match p.resend_code {
                    ResendCode::New => "new",
                    ResendCode::Same => "same",
                })
                .options(&[
                    ("new", "a new code (recommended)"),
                    ("same", "the same code"),
                ]),
        ],
        submit: "Save OTP policy".into(),
        danger: false,
    }
}

/// The form's names of the token lifetimes: (form field, API field, label).
const LIFETIME_FIELDS: [(&str, &str, &str); 4] = [
    (
        "access_token_ttl",
        "access_token",
        "Access token lifetime (seconds)",
    ),
    ("id_token_ttl", "id_token", "ID token lifetime (seconds)"),
    (
        "refresh_token_ttl",
        "refresh_token",
        "Refresh token lifetime (seconds, from the sign-in)",
    ),
    (
        "auth_code_ttl",
        "authorization_code",
        "Authorization code lifetime (seconds)",
    ),
];

/// The tokens form: ID-token signing algorithm and lifetime overrides (empty = the
/// server's).
fn tokens_form(state: &AppState, csrf: &str, a: &Application, o: &ClientOidcSettings) -> FormView {
    let server = state.oidc.lifetimes;
    let t = &o.token_lifetimes;
    let mut fields = vec![
        Field::new("signing_alg", "ID token signing algorithm", "select")
            .value(o.signing_alg.clone().unwrap_or_default())
            .options(&[
                ("", "Server default (ES256)"),
                ("ES256", "ES256 (ECDSA P-256)"),
                ("RS256", "RS256 (RSA; for RPs that know nothing else)"),
            ])
            .hint("Access tokens are always ES256."),
    ];
    for (name, api, label) in LIFETIME_FIELDS {
        let (current, default) = match api {
            "access_token" => (t.access_token, server.access_token),
            "id_token" => (t.id_token, server.id_token),
            "refresh_token" => (t.refresh_token, server.refresh_token),
            _ => (t.authorization_code, server.authorization_code),
        };
        let (min, max) = LIFETIME_RANGES
            .iter()
            .find(|(f, _)| *f == api)
            .map(|(_, r)| *r)
            .unwrap_or_default();
        fields.push(
            Field::new(name, label, "number")
                .value(current.map(|v| v.to_string()).unwrap_or_default())
                .hint(format!(
                    "{min}–{max}; empty = the server's ({default} = {})",
                    human_secs(default)
                )),
        );
    }
    FormView {
        id: "tokens".into(),
        title: "Tokens".into(),
        note: Some("Lifetimes apply to tokens issued from now on.".into()),
        action: format!("/console/applications/{}/tokens", a.client_id),
        csrf: csrf.into(),
        hidden: vec![],
        fields,
        submit: "Save tokens".into(),
        danger: false,
    }
}

/// 600 → "10 minutes", 2592000 → "30 days".
fn human_secs(s: i64) -> String {
    let unit = |n: i64, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
    if s % 86_400 == 0 {
        unit(s / 86_400, "day")
    } else if s % 3600 == 0 {
        unit(s / 3600, "hour")
    } else if s % 60 == 0 {
        unit(s / 60, "minute")
    } else {
        unit(s, "second")
    }
}

async fn render_one(
    state: &AppState,
    s: &ConsoleSession,
    a: &Application,
    status: StatusCode,
    notice: Option<(&'static str, String)>,
    replaced: Option<FormView>,
    secret: Option<&str>,
) -> Response {
    let oidc = state
        .store
        .get_client_oidc_settings(&a.client_id)
        .await
        .unwrap_or_default();
    let global = state.otp.global_policy().await.unwrap_or_default();
    let mut forms = vec![
        edit_form(&s.csrf, a),
        otp_form(&s.csrf, a, &global),
        tokens_form(state, &s.csrf, a, &oidc),
    ];
    if let Some(r) = replaced {
        for f in &mut forms {
            if f.id == r.id {
                *f = r;
                break;
            }
        }
    }
    let mut sections = vec![snippet(state, a, secret)];
    sections.extend(forms.iter().map(html));
    if !a.is_public() {
        sections.push(html(&FormView {
            id: "secret".into(),
            title: "Client secret".into(),
            note: Some("A new secret replaces the current one at once.".into()),
            action: format!("/console/applications/{}/secret", a.client_id),
            csrf: s.csrf.clone(),
            submit: "Regenerate secret".into(),
            ..Default::default()
        }));
    }
    if a.client_id != CONSOLE_CLIENT_ID {
        sections.push(html(&FormView {
            id: "delete".into(),
            title: "Delete".into(),
            action: format!("/console/applications/{}/delete", a.client_id),
            csrf: s.csrf.clone(),
            submit: "Delete application".into(),
            danger: true,
            ..Default::default()
        }));
    }
    page(
        state,
        s,
        status,
        "applications",
        &format!("Applications › {}", a.name),
        notice,
        sections,
    )
}

async fn load(state: &AppState, client_id: &str) -> Option<Application> {
    state.store.get_application(client_id).await.ok().flatten()
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
) -> Response {
    let s = match guard(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    match load(&state, &client_id).await {
        Some(a) => render_one(&state, &s, &a, StatusCode::OK, None, None, None).await,
        None => see_other("/console/applications"),
    }
}

/// Applies `body` and re-renders the page: "Saved." or, on a refused value, the form
/// `refused` (built from the stored application) refilled with the input and the error
/// next to its field.
async fn save(
    state: &AppState,
    s: &ConsoleSession,
    before: &Application,
    form: &HashMap<String, String>,
    body: Result<UpdateApplication, (String, String)>,
    refused: impl FnOnce() -> FormView,
) -> Response {
    let outcome = match body {
        Ok(body) => update_application(state, &s.admin(), &before.client_id, body)
            .await
            .map_err(|e| field_error(&e)),
        Err(e) => Err(e),
    };
    match outcome {
        Ok((a, _)) => {
            render_one(
                state,
                s,
                &a,
                StatusCode::OK,
                Some(("info", "Saved.".into())),
                None,
                None,
            )
            .await
        }
        Err((field, text)) => {
            let f = refill(refused(), form).with_error(&map_field(&field), text);
            render_one(
                state,
                s,
                before,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(("error", "Not saved: fix the field marked below.".into())),
                Some(f),
                None,
            )
            .await
        }
    }
}

pub async fn update(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let s = match guard_post(&state, &headers, &form).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(before) = load(&state, &client_id).await else {
        return see_other("/console/applications");
    };
    let body = UpdateApplication {
        name: Some(val(&form, "name")),
        redirect_uris: Some(lines(&raw(&form, "redirect_uris"))),
        post_logout_redirect_uris: Some(lines(&raw(&form, "post_logout_redirect_uris"))),
        login_flow: Some(flow_from(&form)),
        ..Default::default()
    };
    let csrf = s.csrf.clone();
    save(&state, &s, &before, &form, Ok(body), || {
        edit_form(&csrf, &before)
    })
    .await
}

/// A whole number from the form, or the field and what is wrong.
fn whole<T: std::str::FromStr>(
    form: &HashMap<String, String>,
    key: &str,
    label: &str,
) -> Result<T, (String, String)> {
    val(form, key)
        .parse::<T>()
        .map_err(|_| (key.to_string(), format!("{label} must be a whole number")))
}

/// The OTP policy the form asks for (`None` = the global one).
fn otp_from(
    form: &HashMap<String, String>,
    current: Option<&OtpPolicy>,
) -> Result<Option<OtpPolicy>, (String, String)> {
    if !checked(form, "otp_override") {
        return Ok(None);
    }
    let minutes: u32 = whole(form, "otp_expiry_minutes", "OTP expiry time")?;
    if !(1..=1440).contains(&minutes) {
        return Err((
            "otp_expiry_minutes".into(),
            format!("OTP expiry time must be between 1 and 1440 minutes (got {minutes})"),
        ));
    }
    // An expiry set in seconds through the API stays exact while its minutes are unchanged.
    let expiry = match current {
        Some(c) if c.expiry.div_ceil(60) == minutes => c.expiry,
        _ => minutes * 60,
    };
    Ok(Some(OtpPolicy {
        length: whole(form, "otp_length", "OTP length")?,
        alphanumeric: checked(form, "otp_alphanumeric"),
        expiry,
        max_attempts: whole(form, "otp_max_attempts", "Wrong attempts")?,
        max_resends: whole(form, "otp_max_resends", "Allowed resend attempts")?,
        resend_cooldown: whole(form, "otp_resend_cooldown", "Resend cooldown")?,
        resend_code: match val(form, "otp_resend_code").as_str() {
            "same" => ResendCode::Same,
            "new" => ResendCode::New,
            other => {
                return Err((
                    "otp_resend_code".into(),
                    format!(
                        "\"{other}\" is not a choice: a resend sends a new code or the same code"
                    ),
                ));
            }
        },
    }))
}

pub async fn update_otp(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let s = match guard_post(&state, &headers, &form).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(before) = load(&state, &client_id).await else {
        return see_other("/console/applications");
    };
    let body = otp_from(&form, before.otp_policy.as_ref()).map(|p| UpdateApplication {
        otp_policy: Some(p),
        ..Default::default()
    });
    let global = state.otp.global_policy().await.unwrap_or_default();
    let csrf = s.csrf.clone();
    save(&state, &s, &before, &form, body, || {
        otp_form(&csrf, &before, &global)
    })
    .await
}

/// The tokens form's values: the signing algorithm (`""` = the default) and lifetimes
/// (empty = the server's).
fn tokens_from(form: &HashMap<String, String>) -> Result<UpdateApplication, (String, String)> {
    let alg = val(form, "signing_alg");
    let mut lifetimes = TokenLifetimesInput::default();
    for (name, api, label) in LIFETIME_FIELDS {
        let v = val(form, name);
        let parsed = if v.is_empty() {
            None
        } else {
            Some(v.parse::<i64>().map_err(|_| {
                (
                    name.to_string(),
                    format!("{label} must be a whole number of seconds, or empty for the server's"),
                )
            })?)
        };
        let slot = match api {
            "access_token" => &mut lifetimes.access_token,
            "id_token" => &mut lifetimes.id_token,
            "refresh_token" => &mut lifetimes.refresh_token,
            _ => &mut lifetimes.authorization_code,
        };
        *slot = Some(parsed);
    }
    Ok(UpdateApplication {
        signing_alg: Some((!alg.is_empty()).then_some(alg)),
        token_lifetimes: Some(Some(lifetimes)),
        ..Default::default()
    })
}

pub async fn update_tokens(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let s = match guard_post(&state, &headers, &form).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(before) = load(&state, &client_id).await else {
        return see_other("/console/applications");
    };
    let oidc = state
        .store
        .get_client_oidc_settings(&client_id)
        .await
        .unwrap_or_default();
    let csrf = s.csrf.clone();
    let st = state.clone();
    save(&state, &s, &before, &form, tokens_from(&form), || {
        tokens_form(&st, &csrf, &before, &oidc)
    })
    .await
}

pub async fn secret(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let s = match guard_post(&state, &headers, &form).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    match new_secret(&state, &s.admin(), &client_id).await {
        Ok((a, sec)) => {
            render_one(
                &state,
                &s,
                &a,
                StatusCode::OK,
                Some(("info", "A new client secret was generated.".into())),
                None,
                Some(&sec),
            )
            .await
        }
        Err(_) => see_other(&format!("/console/applications/{client_id}")),
    }
}

pub async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let s = match guard_post(&state, &headers, &form).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    match delete_application(&state, &s.admin(), &client_id).await {
        Ok(()) => {
            render_list(
                &state,
                &s,
                StatusCode::OK,
                Some(("info", "Application deleted.".into())),
                None,
                vec![],
            )
            .await
        }
        Err(e) => {
            render_list(
                &state,
                &s,
                StatusCode::CONFLICT,
                Some(("error", e.detail.clone())),
                None,
                vec![],
            )
            .await
        }
    }
}
