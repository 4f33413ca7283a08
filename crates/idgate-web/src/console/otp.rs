//! "Connections › SMS OTP › Settings": the OTP policy (expiry, alphanumeric, length,
//! attempts, resends, cooldown) and the message template per channel and locale, with a
//! preview and its SMS segment count. Also the live-validation endpoint console.js calls.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use idgate_core::otp::engine::POLICY_SETTING;
use idgate_core::otp::policy::ResendCode;
use idgate_core::otp::{Channel, OtpPolicy};
use idgate_notify::message_template::{
    self, DEFAULT_LOCALE, MessageContext, MessageTemplate, normalise_locale,
};
use idgate_notify::{ContentType, PayloadTemplate};
use serde_json::{Value, json};

use crate::api::otp_settings::{remove_template, stored_templates, template_key};
use crate::console::session::{self, CSRF_HEADER};
use crate::console::views::{Field, Form as FormView, Panel, html};
use crate::console::{checked, field_error, guard, guard_post, page, raw, see_other, val};
use crate::state::AppState;

fn policy_form(csrf: &str, p: &OtpPolicy) -> FormView {
    FormView {
        id: "policy".into(),
        title: "Settings".into(),
        note: Some("Applies to every application without its own OTP policy.".into()),
        action: "/console/otp/policy".into(),
        csrf: csrf.into(),
        hidden: vec![],
        fields: vec![
            Field::new("expiry_minutes", "OTP expiry time (minutes)", "number")
                .value(p.expiry.div_ceil(60).to_string())
                .hint("1–1440"),
            Field::new(
                "alphanumeric",
                "Use alphanumeric characters (A–Z, 0–9)",
                "checkbox",
            )
            .checked(p.alphanumeric),
            Field::new("length", "OTP length", "number")
                .value(p.length.to_string())
                .hint("4–10"),
            Field::new("max_attempts", "Wrong attempts per code", "number")
                .value(p.max_attempts.to_string())
                .hint("1–20"),
            Field::new("max_resends", "Allowed resend attempts", "number")
                .value(p.max_resends.to_string())
                .hint("0–10"),
            Field::new("resend_cooldown", "Resend cooldown (seconds)", "number")
                .value(p.resend_cooldown.to_string())
                .hint("0–3600"),
            Field::new("resend_code", "A resend sends", "select")
                .value(match p.resend_code {
                    ResendCode::New => "new",
                    ResendCode::Same => "same",
                })
                .options(&[
                    ("new", "a new code (recommended)"),
                    ("same", "the same code"),
                ]),
        ],
        submit: "Save settings".into(),
        danger: false,
    }
}

fn preview_text(text: &str) -> (Option<String>, String) {
    match MessageTemplate::parse(text) {
        Ok(t) => {
            let p = message_template::preview(&t, &MessageContext::sample());
            let enc = match p.segments.encoding {
                message_template::Encoding::Gsm7 => "GSM-7",
                message_template::Encoding::Ucs2 => "UCS-2",
            };
            (
                Some(p.text),
                format!(
                    "{} characters ({enc}), {} SMS segment{}",
                    p.segments.characters,
                    p.segments.segments,
                    if p.segments.segments == 1 { "" } else { "s" }
                ),
            )
        }
        Err(e) => (None, e.to_string()),
    }
}

/// The text shown for a channel in a locale: (text, the locale it is stored under —
/// `None` for the built-in text). A locale without its own text shows what its messages
/// use now: the language's text, then `en`'s, then the built-in one (as sending does).
async fn template_text(
    state: &AppState,
    channel: Channel,
    locale: &str,
) -> (String, Option<String>) {
    let mut candidates = vec![locale.to_string()];
    if let Some((lang, _)) = locale.split_once('-') {
        candidates.push(lang.to_string());
    }
    candidates.push(DEFAULT_LOCALE.to_string());
    candidates.dedup();
    for l in candidates {
        if let Ok(Some(Value::String(s))) =
            state.store.get_setting(&template_key(channel, &l)).await
        {
            return (s, Some(l));
        }
    }
    (
        message_template::default_template(channel)
            .as_str()
            .to_string(),
        None,
    )
}

fn template_form(
    csrf: &str,
    channel: Channel,
    locale: &str,
    text: &str,
    source: Option<&str>,
) -> FormView {
    let (_, info) = preview_text(text);
    let name = match channel {
        Channel::Sms => "SMS message template",
        Channel::Whatsapp => "WhatsApp message template",
    };
    let placeholders = "Placeholders: {{application-name}}, {{confirmation-code}}, {{otp-expiry-time}}, {{user-name}}, {{organization-name}}, {{current-year}}.";
    let note = match source {
        Some(l) if l == locale => placeholders.to_string(),
        Some(l) => format!(
            "No {locale} text yet: messages to {locale} users use the {l} text below. Save to give {locale} its own. {placeholders}"
        ),
        None => format!(
            "No {locale} text yet: messages use the built-in text below. Save to give {locale} its own. {placeholders}"
        ),
    };
    FormView {
        id: format!("template-{}", channel.as_str()),
        title: if locale == DEFAULT_LOCALE {
            name.to_string()
        } else {
            format!("{name} ({locale})")
        },
        note: Some(note),
        action: format!("/console/otp/template/{}", channel.as_str()),
        csrf: csrf.into(),
        hidden: vec![("locale".into(), locale.into())],
        fields: vec![
            Field::new("text", "Template", "textarea")
                .value(text)
                .rows(4)
                .validate("message")
                .hint(format!("{locale}: {info}")),
        ],
        submit: "Save template".into(),
        danger: false,
    }
}

fn locale_form(csrf: &str) -> FormView {
    FormView {
        id: "add-locale".into(),
        title: String::new(),
        note: None,
        action: "/console/otp/locale".into(),
        csrf: csrf.into(),
        hidden: vec![],
        fields: vec![Field::new("locale", "Add or open a language", "text").hint(
            "A language tag such as si, ta or en-US; users whose locale matches get its texts.",
        )],
        submit: "Open".into(),
        danger: false,
    }
}

/// The add-language form after a refused value: the input kept, the error next to it.
fn locale_form_with(csrf: &str, input: &str, error: String) -> FormView {
    let mut f = locale_form(csrf);
    if let Some(field) = f.fields.first_mut() {
        field.value = input.to_string();
    }
    f.with_error("locale", error)
}

/// What the page shows besides the defaults: a form replaced after an error, and which
/// locale's templates are open.
struct View {
    locale: String,
    policy: Option<FormView>,
    templates: HashMap<&'static str, FormView>,
    locale_form: Option<FormView>,
}

impl View {
    fn new(locale: impl Into<String>) -> Self {
        Self {
            locale: locale.into(),
            policy: None,
            templates: HashMap::new(),
            locale_form: None,
        }
    }
}

async fn render(
    state: &AppState,
    s: &session::ConsoleSession,
    status: StatusCode,
    notice: Option<(&'static str, String)>,
    view: View,
) -> Response {
    let View {
        locale,
        policy,
        mut templates,
        locale_form: lf,
    } = view;
    let policy = match policy {
        Some(f) => f,
        None => {
            let p = state.otp.global_policy().await.unwrap_or_default();
            policy_form(&s.csrf, &p)
        }
    };
    let mut sections = vec![html(&policy)];
    // The languages with their own texts (either channel), `en` always first.
    let mut locales = vec![DEFAULT_LOCALE.to_string()];
    for ch in [Channel::Sms, Channel::Whatsapp] {
        for (l, _) in stored_templates(state, ch).await.unwrap_or_default() {
            if !locales.contains(&l) {
                locales.push(l);
            }
        }
    }
    if !locales.contains(&locale) {
        locales.push(locale.clone());
    }
    locales[1..].sort();
    let href = |l: &str| format!("/console/otp?locale={l}");
    sections.push(html(&Panel {
        title: "Message templates: language".into(),
        note: Some(
            "Each channel has a text per language. A user gets the text of their locale, else of its language (si-LK → si), else en, else the built-in text."
                .into(),
        ),
        links: locales.iter().map(|l| (href(l), l.clone())).collect(),
        current: href(&locale),
        ..Default::default()
    }));
    sections.push(html(&lf.unwrap_or_else(|| locale_form(&s.csrf))));
    for ch in [Channel::Sms, Channel::Whatsapp] {
        let (text, source) = template_text(state, ch, &locale).await;
        let f = match templates.remove(ch.as_str()) {
            Some(f) => f,
            None => template_form(&s.csrf, ch, &locale, &text, source.as_deref()),
        };
        sections.push(html(&f));
        let (preview, info) = preview_text(&text);
        sections.push(html(&Panel {
            title: format!(
                "Preview ({} template, {locale}, sample values)",
                ch.as_str()
            ),
            items: vec![("Segments".into(), info)],
            code: preview,
            ..Default::default()
        }));
        if source.as_deref() == Some(locale.as_str()) && locale != DEFAULT_LOCALE {
            sections.push(html(&FormView {
                id: format!("remove-{}", ch.as_str()),
                title: String::new(),
                note: Some(format!(
                    "Remove the {locale} {} text: {locale} users then get the fallback text.",
                    ch.as_str()
                )),
                action: format!("/console/otp/template/{}/delete", ch.as_str()),
                csrf: s.csrf.clone(),
                hidden: vec![("locale".into(), locale.clone())],
                submit: format!("Remove {locale} {} template", ch.as_str()),
                danger: true,
                ..Default::default()
            }));
        }
    }
    page(
        state,
        s,
        status,
        "otp",
        "Connections › SMS OTP › Settings",
        notice,
        sections,
    )
}

/// A locale from a form or the query: normalised (`si_lk` → `si-LK`), or the error text.
fn locale_of(input: &str) -> Result<String, String> {
    let input = input.trim();
    if input.is_empty() {
        return Ok(DEFAULT_LOCALE.into());
    }
    match normalise_locale(input) {
        Ok(l) if input.len() <= 35 => Ok(l),
        _ => Err(format!(
            "\"{input}\" is not a language tag: write a language code, optionally with a region (si, ta, en-US)"
        )),
    }
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let s = match guard(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let asked = q.get("locale").cloned().unwrap_or_default();
    match locale_of(&asked) {
        Ok(locale) => render(&state, &s, StatusCode::OK, None, View::new(locale)).await,
        Err(e) => {
            let mut view = View::new(DEFAULT_LOCALE);
            view.locale_form = Some(locale_form_with(&s.csrf, &asked, e));
            render(
                &state,
                &s,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(("error", "Unknown language: fix it below.".into())),
                view,
            )
            .await
        }
    }
}

/// `POST /console/otp/locale`: opens (or starts) a language's templates.
pub async fn open_locale(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let s = match guard_post(&state, &headers, &form).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let asked = raw(&form, "locale");
    match locale_of(&asked) {
        Ok(l) if !asked.trim().is_empty() => see_other(&format!("/console/otp?locale={l}")),
        other => {
            let e = other
                .err()
                .unwrap_or_else(|| "Write a language tag such as si, ta or en-US".into());
            let mut view = View::new(DEFAULT_LOCALE);
            view.locale_form = Some(locale_form_with(&s.csrf, &asked, e));
            render(
                &state,
                &s,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(("error", "The language was not opened: fix it below.".into())),
                view,
            )
            .await
        }
    }
}

fn number(form: &HashMap<String, String>, key: &str, label: &str) -> Result<u32, (String, String)> {
    val(form, key)
        .parse::<u32>()
        .map_err(|_| (key.to_string(), format!("{label} must be a whole number")))
}

pub async fn save_policy(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let s = match guard_post(&state, &headers, &form).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let parsed = (|| {
        let minutes = number(&form, "expiry_minutes", "OTP expiry time")?;
        if !(1..=1440).contains(&minutes) {
            return Err((
                "expiry_minutes".to_string(),
                format!("OTP expiry time must be between 1 and 1440 minutes (got {minutes})"),
            ));
        }
        let p = OtpPolicy {
            length: number(&form, "length", "OTP length")?,
            alphanumeric: checked(&form, "alphanumeric"),
            expiry: minutes * 60,
            max_attempts: number(&form, "max_attempts", "Wrong attempts")?,
            max_resends: number(&form, "max_resends", "Allowed resend attempts")?,
            resend_cooldown: number(&form, "resend_cooldown", "Resend cooldown")?,
            resend_code: if val(&form, "resend_code") == "same" {
                ResendCode::Same
            } else {
                ResendCode::New
            },
        };
        p.validate()
            .map_err(|e| (e.field.to_string(), e.to_string()))?;
        Ok(p)
    })();
    match parsed {
        Ok(p) => {
            let before = state.otp.global_policy().await.ok();
            let saved = match serde_json::to_value(&p) {
                Ok(v) => state
                    .store
                    .put_setting(POLICY_SETTING, &v, state.now())
                    .await
                    .is_ok(),
                Err(_) => false,
            };
            if !saved {
                return render(
                    &state,
                    &s,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Some((
                        "error",
                        "The settings could not be saved; the server log has the details.".into(),
                    )),
                    View::new(DEFAULT_LOCALE),
                )
                .await;
            }
            crate::audit::audit(
                &state,
                &s.admin(),
                "otp_policy.updated",
                None,
                json!({"before": before, "after": p}),
            )
            .await;
            render(
                &state,
                &s,
                StatusCode::OK,
                Some(("info", "Settings saved.".into())),
                View::new(DEFAULT_LOCALE),
            )
            .await
        }
        Err((field, text)) => {
            let mut f = policy_form(&s.csrf, &OtpPolicy::default());
            for field in &mut f.fields {
                if field.kind == "checkbox" {
                    field.checked = checked(&form, field.name);
                } else {
                    field.value = raw(&form, field.name);
                }
            }
            let field = if field == "expiry" {
                "expiry_minutes".to_string()
            } else {
                field
            };
            let mut view = View::new(DEFAULT_LOCALE);
            view.policy = Some(f.with_error(&field, text));
            render(
                &state,
                &s,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some((
                    "error",
                    "The settings were not saved: fix the field marked below.".into(),
                )),
                view,
            )
            .await
        }
    }
}

pub async fn save_template(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(channel): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let s = match guard_post(&state, &headers, &form).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(ch) = Channel::parse(&channel) else {
        return see_other("/console/otp");
    };
    // Browsers send a textarea's line breaks as CRLF; a message carries plain LF (one
    // character, not two, in the segment count and on the handset).
    let text = raw(&form, "text").replace("\r\n", "\n");
    let locale = locale_of(&raw(&form, "locale"));
    let parsed = match &locale {
        Ok(_) => MessageTemplate::parse(&text).map_err(|e| e.to_string()),
        Err(e) => Err(e.clone()),
    };
    let locale = locale.unwrap_or_else(|_| DEFAULT_LOCALE.to_string());
    if let Err(e) = parsed {
        let (_, source) = template_text(&state, ch, &locale).await;
        let f = template_form(&s.csrf, ch, &locale, &text, source.as_deref()).with_error("text", e);
        let mut view = View::new(locale);
        view.templates.insert(ch.as_str(), f);
        return render(
            &state,
            &s,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(("error", "The template was not saved: fix it below.".into())),
            view,
        )
        .await;
    }
    let key = template_key(ch, &locale);
    let before = state.store.get_setting(&key).await.ok().flatten();
    if state
        .store
        .put_setting(&key, &Value::String(text.clone()), state.now())
        .await
        .is_err()
    {
        return render(
            &state,
            &s,
            StatusCode::INTERNAL_SERVER_ERROR,
            Some(("error", "The template could not be saved.".into())),
            View::new(locale),
        )
        .await;
    }
    crate::audit::audit(
        &state,
        &s.admin(),
        "template.updated",
        Some(key),
        json!({"before": before, "after": text}),
    )
    .await;
    render(
        &state,
        &s,
        StatusCode::OK,
        Some(("info", format!("Template saved ({locale})."))),
        View::new(locale),
    )
    .await
}

/// `POST /console/otp/template/{channel}/delete`: removes a locale's text.
pub async fn delete_template(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(channel): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let s = match guard_post(&state, &headers, &form).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let (Some(ch), Ok(locale)) = (Channel::parse(&channel), locale_of(&raw(&form, "locale")))
    else {
        return see_other("/console/otp");
    };
    match remove_template(&state, &s.admin(), ch, &locale).await {
        Ok(()) => render(
            &state,
            &s,
            StatusCode::OK,
            Some((
                "info",
                format!(
                    "The {locale} {} template was removed; {locale} users get the fallback text.",
                    ch.as_str()
                ),
            )),
            View::new(locale),
        )
        .await,
        Err(e) => {
            let (_, text) = field_error(&e);
            render(
                &state,
                &s,
                e.status,
                Some(("error", text)),
                View::new(locale),
            )
            .await
        }
    }
}

/// `POST /console/validate` (console.js): `kind=payload|message`, `text`, and
/// `content_type` for payloads. Answers `{ok, error?, info?}`.
pub async fn validate(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let given = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    match session::load(&state, &headers).await {
        Ok(Some(s))
            if crate::console::same_origin(&state, &headers) && session::csrf_ok(&s, given) => {}
        _ => {
            return (
                StatusCode::FORBIDDEN,
                Json(json!({"ok": false, "error": "sign in to the console again"})),
            )
                .into_response();
        }
    }
    let text = raw(&form, "text");
    let answer = match val(&form, "kind").as_str() {
        "payload" => {
            let ct = ContentType::parse(&val(&form, "content_type")).unwrap_or(ContentType::Json);
            match PayloadTemplate::parse(&text, ct) {
                Ok(_) => json!({"ok": true}),
                Err(e) => json!({"ok": false, "error": e.to_string()}),
            }
        }
        _ => {
            let (preview, info) = preview_text(&text);
            match preview {
                Some(p) => json!({"ok": true, "info": info, "preview": p}),
                None => json!({"ok": false, "error": info}),
            }
        }
    };
    (StatusCode::OK, Json(answer)).into_response()
}
